package main

// The resource command:local:Command, following the documented semantics of pulumi-command 1.x:
//
//   - create runs on Create; update (or, when unset, create again) on Update; delete, if set, on Delete.
//   - A change to triggers replaces the resource (create of the new one, then delete of the old one);
//     a change to any other input updates it in place.
//   - Outputs are all inputs plus stdout and stderr, each without its trailing newline.
//   - update and delete see the previous stdout/stderr as PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR
//     unless addPreviousOutputInEnv is false.
//
// Not implemented, but accepted so programs written for the official provider still check:
//   - logging: the official provider streams output to the engine log; this one only records it.
//   - assetPaths/archivePaths: the assets and archive outputs are never produced.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const commandType = "command:local:Command"

var defaultInterpreter = []string{"/bin/sh", "-c"}

// inputKind is the expected shape of an input property, for Check.
type inputKind int

const (
	kindString inputKind = iota
	kindBool
	kindStrings   // array of strings
	kindStringMap // object of strings
	kindArray     // array of anything
	kindLogging   // one of the Logging enum values
)

var inputKinds = map[resource.PropertyKey]inputKind{
	"create":                 kindString,
	"update":                 kindString,
	"delete":                 kindString,
	"dir":                    kindString,
	"stdin":                  kindString,
	"environment":            kindStringMap,
	"interpreter":            kindStrings,
	"triggers":               kindArray,
	"addPreviousOutputInEnv": kindBool,
	"logging":                kindLogging,
	"assetPaths":             kindStrings,
	"archivePaths":           kindStrings,
}

var loggingValues = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

// outputKeys are never inputs; Diff skips them when it has to fall back to comparing old state.
var outputKeys = map[resource.PropertyKey]bool{"stdout": true, "stderr": true, "assets": true, "archive": true}

// checkInputs reports inputs of the wrong type. Unknown values (preview) and nulls pass; properties
// we do not know are ignored, as the SDK sends only the ones it declares.
func checkInputs(news resource.PropertyMap) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	for _, key := range news.StableKeys() {
		kind, known := inputKinds[key]
		if !known {
			continue
		}
		if reason := checkValue(news[key], kind); reason != "" {
			failures = append(failures, &pulumirpc.CheckFailure{Property: string(key), Reason: reason})
		}
	}
	return failures
}

func checkValue(v resource.PropertyValue, kind inputKind) string {
	v = plain(v)
	if v.IsNull() || v.IsComputed() || v.IsOutput() {
		return ""
	}
	isString := func(e resource.PropertyValue) bool { return e.IsString() || e.IsComputed() || e.IsOutput() }
	switch kind {
	case kindString:
		if !v.IsString() {
			return "must be a string, not " + v.TypeString()
		}
	case kindLogging:
		if !v.IsString() || !slices.Contains(loggingValues, v.StringValue()) {
			return "must be one of " + strings.Join(loggingValues, ", ")
		}
	case kindBool:
		if !v.IsBool() {
			return "must be a boolean, not " + v.TypeString()
		}
	case kindArray:
		if !v.IsArray() {
			return "must be an array, not " + v.TypeString()
		}
	case kindStrings:
		if !v.IsArray() {
			return "must be an array of strings, not " + v.TypeString()
		}
		for i, e := range v.ArrayValue() {
			if !isString(e) {
				return fmt.Sprintf("element %d must be a string, not %s", i, e.TypeString())
			}
		}
	case kindStringMap:
		if !v.IsObject() {
			return "must be a map of strings, not " + v.TypeString()
		}
		for k, e := range v.ObjectValue() {
			if !isString(e) && !e.IsNull() {
				return fmt.Sprintf("value of %q must be a string, not %s", k, e.TypeString())
			}
		}
	}
	return ""
}

// diffInputs compares old and new inputs. Unknown new values count as changed, secret-ness alone
// does not, and ignoreChanges (top-level names) are skipped.
func diffInputs(olds, news resource.PropertyMap, ignoreChanges []string) *pulumirpc.DiffResponse {
	olds, news = withDefaults(olds), withDefaults(news)
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, string(k))
	}
	sort.Strings(sorted)

	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	for _, name := range sorted {
		key := resource.PropertyKey(name)
		if outputKeys[key] || resource.IsInternalPropertyKey(key) || slices.Contains(ignoreChanges, name) {
			continue
		}
		o, n := olds[key], news[key]
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case o.IsNull() && n.IsNull():
			continue
		case o.IsNull():
			kind = pulumirpc.PropertyDiff_ADD
		case n.IsNull():
			kind = pulumirpc.PropertyDiff_DELETE
		case n.ContainsUnknowns() || !plain(o).DeepEquals(plain(n)):
			kind = pulumirpc.PropertyDiff_UPDATE
		default:
			continue
		}
		if key == "triggers" {
			kind = replaceKind[kind]
			resp.Replaces = append(resp.Replaces, name)
		}
		resp.Diffs = append(resp.Diffs, name)
		resp.DetailedDiff[name] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp
}

var replaceKind = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
	pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
	pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
	pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
}

// withDefaults fills addPreviousOutputInEnv's default (true), so writing it out explicitly does not
// count as a change and re-run the command.
func withDefaults(m resource.PropertyMap) resource.PropertyMap {
	if v := m["addPreviousOutputInEnv"]; !v.IsNull() {
		return m
	}
	m = m.Copy()
	m["addPreviousOutputInEnv"] = resource.NewBoolProperty(true)
	return m
}

// plain strips secret markers, at any depth.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsArray():
		elems := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			elems[i] = plain(e)
		}
		return resource.NewArrayProperty(elems)
	case v.IsObject():
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			obj[k] = plain(e)
		}
		return resource.NewObjectProperty(obj)
	}
	return v
}

// commandArgs are the inputs a run needs, with secrets unwrapped. Check has validated the types.
type commandArgs struct {
	Create, Update, Delete string
	Dir, Stdin             string
	Environment            map[string]string
	Interpreter            []string
	AddPreviousOutputInEnv bool

	// secret is set when an input the commands see is secret: their output may echo it.
	secret bool
}

func parseArgs(m resource.PropertyMap) commandArgs {
	str := func(key resource.PropertyKey) string {
		if v := plain(m[key]); v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	a := commandArgs{
		Create:                 str("create"),
		Update:                 str("update"),
		Delete:                 str("delete"),
		Dir:                    str("dir"),
		Stdin:                  str("stdin"),
		Environment:            map[string]string{},
		AddPreviousOutputInEnv: true,
	}
	if v := plain(m["environment"]); v.IsObject() {
		for k, e := range v.ObjectValue() {
			if e.IsString() {
				a.Environment[string(k)] = e.StringValue()
			}
		}
	}
	if v := plain(m["interpreter"]); v.IsArray() {
		for _, e := range v.ArrayValue() {
			if e.IsString() {
				a.Interpreter = append(a.Interpreter, e.StringValue())
			}
		}
	}
	if v := plain(m["addPreviousOutputInEnv"]); v.IsBool() {
		a.AddPreviousOutputInEnv = v.BoolValue()
	}
	for _, key := range []resource.PropertyKey{"create", "update", "delete", "dir", "stdin", "environment", "interpreter"} {
		a.secret = a.secret || m[key].ContainsSecrets()
	}
	return a
}

// output wraps a captured stream as an output value, secret when the inputs were.
func (a commandArgs) output(s string) resource.PropertyValue {
	v := resource.NewStringProperty(s)
	if a.secret {
		v = resource.MakeSecret(v)
	}
	return v
}

// previousOutputEnv passes the last recorded stdout/stderr on to update and delete.
func (a commandArgs) previousOutputEnv(state resource.PropertyMap) []string {
	if !a.AddPreviousOutputInEnv {
		return nil
	}
	str := func(key resource.PropertyKey) string {
		if v := plain(state[key]); v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	return []string{"PULUMI_COMMAND_STDOUT=" + str("stdout"), "PULUMI_COMMAND_STDERR=" + str("stderr")}
}

// run executes script with the interpreter (script as last argument) in Dir, with the plugin's
// environment (the engine's, so PATH etc. match the user's shell) plus extraEnv and Environment.
// An empty script runs nothing.
func (a commandArgs) run(ctx context.Context, script string, extraEnv []string) (stdout, stderr string, err error) {
	if script == "" {
		return "", "", nil
	}
	interp := a.Interpreter
	if len(interp) == 0 {
		interp = defaultInterpreter
	}
	cmd := exec.CommandContext(ctx, interp[0], append(slices.Clone(interp[1:]), script)...)
	cmd.Dir = a.Dir // "" = the plugin's cwd, which the engine sets to the project directory.
	cmd.Env = append(os.Environ(), extraEnv...)
	names := make([]string, 0, len(a.Environment))
	for k := range a.Environment {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		cmd.Env = append(cmd.Env, k+"="+a.Environment[k]) // later entries win, so these override.
	}
	if a.Stdin != "" {
		cmd.Stdin = strings.NewReader(a.Stdin)
	}
	var outBuf, errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	// After a cancel or timeout kills the interpreter, do not wait forever for background children
	// that still hold its stdout/stderr open.
	cmd.WaitDelay = 10 * time.Second

	runErr := cmd.Run()
	stdout = strings.TrimSuffix(outBuf.String(), "\n")
	stderr = strings.TrimSuffix(errBuf.String(), "\n")
	if runErr != nil {
		return "", "", a.failure(ctx, script, stderr, runErr)
	}
	return stdout, stderr, nil
}

// failure builds the error the engine shows for a failed command: command, exit code and stderr,
// unless the inputs were secret.
func (a commandArgs) failure(ctx context.Context, script, stderr string, err error) error {
	reason := err.Error()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
		reason = fmt.Sprintf("exit code %d", exitErr.ExitCode())
	}
	if ctx.Err() != nil {
		reason += " (" + ctx.Err().Error() + ")"
	}
	if a.secret {
		return fmt.Errorf("local command failed with %s; command and stderr withheld because its inputs are secret", reason)
	}
	msg := fmt.Sprintf("local command failed with %s: %s", reason, script)
	if stderr != "" {
		msg += "\nstderr:\n" + stderr
	}
	return errors.New(msg)
}

// withOutputs is the resource state: the inputs as given (secrets kept) plus stdout and stderr.
func withOutputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	outs := inputs.Copy()
	outs["stdout"] = orEmpty(stdout)
	outs["stderr"] = orEmpty(stderr)
	return outs
}

func orEmpty(v resource.PropertyValue) resource.PropertyValue {
	if v.IsNull() {
		return resource.NewStringProperty("")
	}
	return v
}
