package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func secret(v resource.PropertyValue) resource.PropertyValue { return resource.MakeSecret(v) }

func strs(ss ...string) resource.PropertyValue {
	var vs []resource.PropertyValue
	for _, s := range ss {
		vs = append(vs, str(s))
	}
	return resource.NewArrayProperty(vs)
}

func TestDiffInputs(t *testing.T) {
	base := resource.PropertyMap{
		"create":      str("echo hi"),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"A": str("1")}),
		"triggers":    strs("x"),
	}
	with := func(key resource.PropertyKey, v resource.PropertyValue) resource.PropertyMap {
		m := base.Copy()
		if v.IsNull() {
			delete(m, key)
		} else {
			m[key] = v
		}
		return m
	}
	unknown := resource.MakeComputed(str(""))

	tests := []struct {
		name     string
		olds     resource.PropertyMap
		news     resource.PropertyMap
		ignore   []string
		changes  pulumirpc.DiffResponse_DiffChanges
		replaces []string
		detailed map[string]pulumirpc.PropertyDiff_Kind
	}{
		{name: "no change", olds: base, news: base.Copy(), changes: pulumirpc.DiffResponse_DIFF_NONE},
		{
			name: "create changed updates in place", olds: base, news: with("create", str("echo bye")),
			changes:  pulumirpc.DiffResponse_DIFF_SOME,
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"create": pulumirpc.PropertyDiff_UPDATE},
		},
		{
			name: "delete added", olds: base, news: with("delete", str("rm x")),
			changes:  pulumirpc.DiffResponse_DIFF_SOME,
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"delete": pulumirpc.PropertyDiff_ADD},
		},
		{
			name: "environment removed", olds: base, news: with("environment", resource.PropertyValue{}),
			changes:  pulumirpc.DiffResponse_DIFF_SOME,
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"environment": pulumirpc.PropertyDiff_DELETE},
		},
		{
			name: "triggers changed replaces", olds: base, news: with("triggers", strs("y")),
			changes: pulumirpc.DiffResponse_DIFF_SOME, replaces: []string{"triggers"},
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"triggers": pulumirpc.PropertyDiff_UPDATE_REPLACE},
		},
		{
			name: "triggers added replaces", olds: with("triggers", resource.PropertyValue{}), news: base,
			changes: pulumirpc.DiffResponse_DIFF_SOME, replaces: []string{"triggers"},
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"triggers": pulumirpc.PropertyDiff_ADD_REPLACE},
		},
		{
			name: "unknown value counts as changed", olds: base, news: with("create", unknown),
			changes:  pulumirpc.DiffResponse_DIFF_SOME,
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"create": pulumirpc.PropertyDiff_UPDATE},
		},
		{
			name: "unknown trigger element replaces", olds: base,
			news:    with("triggers", resource.NewArrayProperty([]resource.PropertyValue{unknown})),
			changes: pulumirpc.DiffResponse_DIFF_SOME, replaces: []string{"triggers"},
			detailed: map[string]pulumirpc.PropertyDiff_Kind{"triggers": pulumirpc.PropertyDiff_UPDATE_REPLACE},
		},
		{
			name: "becoming secret is no change", olds: base, news: with("create", secret(str("echo hi"))),
			changes: pulumirpc.DiffResponse_DIFF_NONE,
		},
		{
			name: "explicit default is no change", olds: base,
			news:    with("addPreviousOutputInEnv", resource.NewBoolProperty(true)),
			changes: pulumirpc.DiffResponse_DIFF_NONE,
		},
		{
			name: "ignoreChanges skips", olds: base, news: with("create", str("echo bye")), ignore: []string{"create"},
			changes: pulumirpc.DiffResponse_DIFF_NONE,
		},
		{
			name: "outputs in the old state are not inputs", olds: with("stdout", str("hi")), news: base,
			changes: pulumirpc.DiffResponse_DIFF_NONE,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := diffInputs(tt.olds, tt.news, tt.ignore)
			if resp.Changes != tt.changes {
				t.Errorf("changes = %v, want %v", resp.Changes, tt.changes)
			}
			if !slices.Equal(resp.Replaces, tt.replaces) {
				t.Errorf("replaces = %v, want %v", resp.Replaces, tt.replaces)
			}
			if !resp.HasDetailedDiff {
				t.Error("HasDetailedDiff not set")
			}
			if len(resp.DetailedDiff) != len(tt.detailed) || len(resp.Diffs) != len(tt.detailed) {
				t.Errorf("detailed diff = %v (diffs %v), want %v", resp.DetailedDiff, resp.Diffs, tt.detailed)
			}
			for k, kind := range tt.detailed {
				if d := resp.DetailedDiff[k]; d == nil || d.Kind != kind || !d.InputDiff {
					t.Errorf("detailed diff[%s] = %v, want %v", k, d, kind)
				}
			}
		})
	}
}

func TestCheckInputs(t *testing.T) {
	good := resource.PropertyMap{
		"create":                 str("echo"),
		"environment":            resource.NewObjectProperty(resource.PropertyMap{"A": secret(str("1"))}),
		"interpreter":            strs("/bin/bash", "-c"),
		"triggers":               resource.NewArrayProperty([]resource.PropertyValue{resource.NewNumberProperty(1)}),
		"addPreviousOutputInEnv": resource.NewBoolProperty(false),
		"logging":                str("none"),
		"stdin":                  resource.MakeComputed(str("")),
		"dir":                    resource.NewNullProperty(),
	}
	if f := checkInputs(good); len(f) != 0 {
		t.Fatalf("unexpected failures: %v", f)
	}
	bad := resource.PropertyMap{
		"create":                 resource.NewNumberProperty(1),
		"environment":            resource.NewObjectProperty(resource.PropertyMap{"A": resource.NewBoolProperty(true)}),
		"interpreter":            str("/bin/sh"),
		"triggers":               str("x"),
		"addPreviousOutputInEnv": str("yes"),
		"logging":                str("loud"),
		"assetPaths":             resource.NewArrayProperty([]resource.PropertyValue{resource.NewNumberProperty(1)}),
	}
	var props []string
	for _, f := range checkInputs(bad) {
		props = append(props, f.Property)
	}
	want := []string{"addPreviousOutputInEnv", "assetPaths", "create", "environment", "interpreter", "logging", "triggers"}
	if !slices.Equal(props, want) {
		t.Errorf("failures for %v, want %v", props, want)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	args := parseArgs(resource.PropertyMap{
		"dir":         str(dir),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"GREETING": str("hello")}),
		"stdin":       str("from stdin"),
	})
	stdout, stderr, err := args.run(context.Background(), `echo "$GREETING $(pwd)"; cat; echo warn >&2`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello " + dir + "\nfrom stdin"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if stderr != "warn" {
		t.Errorf("stderr = %q, want %q", stderr, "warn")
	}

	// A custom interpreter gets the command as its last argument.
	args = parseArgs(resource.PropertyMap{"interpreter": strs("/bin/sh", "-c", `echo "$0"`, "arg0")})
	if stdout, _, _ = args.run(context.Background(), "ignored", nil); stdout != "arg0" {
		t.Errorf("interpreter: stdout = %q, want arg0", stdout)
	}
}

func TestRunFailure(t *testing.T) {
	args := parseArgs(resource.PropertyMap{})
	_, _, err := args.run(context.Background(), "echo oops >&2; exit 3", nil)
	if err == nil {
		t.Fatal("expected an error")
	}
	for _, want := range []string{"exit code 3", "echo oops >&2; exit 3", "oops"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// With secret inputs neither the command nor its stderr is echoed.
	args = parseArgs(resource.PropertyMap{"environment": secret(resource.NewObjectProperty(resource.PropertyMap{
		"TOKEN": str("s3cr3t"),
	}))})
	_, _, err = args.run(context.Background(), `echo "$TOKEN" >&2; exit 1`, nil)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "exit code 1") {
		t.Errorf("secret failure: %v", err)
	}
}

// fakeHost is just enough of an engine for plugin.NewProviderFromPath: an address that answers the
// plugin's health checks.
type fakeHost struct {
	plugin.Host
	addr string
}

func (h *fakeHost) ServerAddr() string                                 { return h.addr }
func (h *fakeHost) AttachDebugger(plugin.DebugSpec) bool               { return false }
func (h *fakeHost) Loader(*plugin.Context) (*plugin.GrpcServer, error) { return nil, nil }
func (h *fakeHost) Mapper(*plugin.Context) (*plugin.GrpcServer, error) { return nil, nil }
func (h *fakeHost) Resolver(*plugin.Context) (*plugin.GrpcServer, error) {
	return nil, nil
}

// TestPluginBinary builds the plugin and drives it through the engine's own client code (the same
// launch, Handshake and marshalling that `pulumi up` uses), for one resource's whole life.
func TestPluginBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "pulumi-resource-command")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	engine, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{Init: func(*grpc.Server) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	host := &fakeHost{addr: "127.0.0.1:" + strconv.Itoa(engine.Port)}
	project := t.TempDir()
	ctx := context.Background()
	pctx, err := plugin.NewContextWithHost(ctx, nil, nil, host, project, project, nil)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := plugin.NewProviderFromPath(host, pctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close()

	info, err := prov.GetPluginInfo(ctx)
	if err != nil || info.Version == nil || info.Version.String() != version {
		t.Fatalf("GetPluginInfo = %v, %v", info, err)
	}
	providerType := tokens.Type("pulumi:providers:command")
	if _, err := prov.Configure(ctx, plugin.ConfigureRequest{Type: &providerType, Inputs: resource.PropertyMap{}}); err != nil {
		t.Fatal(err)
	}
	if s, err := prov.GetSchema(ctx, plugin.GetSchemaRequest{}); err != nil || !strings.Contains(string(s.Schema), commandType) {
		t.Fatalf("GetSchema: %v", err)
	}

	urn := resource.NewURN("dev", "egress-xdp", "", commandType, "cmd")
	inputs := resource.PropertyMap{
		"create":      str(`echo "$GREETING from $(pwd)"`),
		"update":      str(`echo "updated after: $PULUMI_COMMAND_STDOUT"`),
		"delete":      str(`echo "$PULUMI_COMMAND_STDOUT" > deleted.txt`),
		"environment": resource.NewObjectProperty(resource.PropertyMap{"GREETING": secret(str("hello"))}),
		"triggers":    strs("1"),
	}

	check, err := prov.Check(ctx, plugin.CheckRequest{URN: urn, News: inputs})
	if err != nil || len(check.Failures) != 0 {
		t.Fatalf("Check = %v, %v", check.Failures, err)
	}
	if !check.Properties.DeepEquals(inputs) {
		t.Fatalf("Check changed the inputs: %v", check.Properties)
	}

	preview, err := prov.Create(ctx, plugin.CreateRequest{URN: urn, Properties: inputs, Preview: true})
	if err != nil || !preview.Properties["stdout"].IsComputed() {
		t.Fatalf("preview Create = %v, %v", preview.Properties, err)
	}

	created, err := prov.Create(ctx, plugin.CreateRequest{URN: urn, Properties: inputs})
	if err != nil {
		t.Fatal(err)
	}
	stdout := created.Properties["stdout"]
	if created.ID == "" || !stdout.IsSecret() || plain(stdout).StringValue() != "hello from "+project {
		t.Fatalf("Create = %q, %v", created.ID, created.Properties)
	}
	if !created.Properties["environment"].ContainsSecrets() {
		t.Error("the secret input lost its secret marker")
	}

	news := inputs.Copy()
	news["create"] = str(`echo "$GREETING again"`)
	diff, err := prov.Diff(ctx, plugin.DiffRequest{
		URN: urn, ID: created.ID, OldInputs: inputs, OldOutputs: created.Properties, NewInputs: news,
	})
	if err != nil || diff.Changes != plugin.DiffSome || len(diff.ReplaceKeys) != 0 {
		t.Fatalf("Diff = %+v, %v", diff, err)
	}
	updated, err := prov.Update(ctx, plugin.UpdateRequest{
		URN: urn, ID: created.ID, OldInputs: inputs, OldOutputs: created.Properties, NewInputs: news,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := plain(updated.Properties["stdout"]).StringValue(); got != "updated after: hello from "+project {
		t.Fatalf("Update stdout = %q", got)
	}

	replaced := news.Copy()
	replaced["triggers"] = strs("2")
	diff, err = prov.Diff(ctx, plugin.DiffRequest{
		URN: urn, ID: created.ID, OldInputs: news, OldOutputs: updated.Properties, NewInputs: replaced,
	})
	if err != nil || !slices.Equal(diff.ReplaceKeys, []resource.PropertyKey{"triggers"}) {
		t.Fatalf("triggers Diff = %+v, %v", diff, err)
	}

	read, err := prov.Read(ctx, plugin.ReadRequest{URN: urn, ID: created.ID, Inputs: news, State: updated.Properties})
	if err != nil || read.ID != created.ID || !read.Outputs.DeepEquals(updated.Properties) {
		t.Fatalf("Read = %+v, %v", read, err)
	}

	_, err = prov.Delete(ctx, plugin.DeleteRequest{
		URN: urn, ID: created.ID, Inputs: news, Outputs: updated.Properties,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(project, "deleted.txt"))
	if err != nil || string(got) != "updated after: hello from "+project+"\n" {
		t.Fatalf("delete wrote %q, %v", got, err)
	}

	failing := resource.PropertyMap{"create": str("echo broken >&2; exit 7")}
	if _, err := prov.Create(ctx, plugin.CreateRequest{URN: urn, Properties: failing}); err == nil ||
		!strings.Contains(err.Error(), "exit code 7") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("failing Create: %v", err)
	}
}
