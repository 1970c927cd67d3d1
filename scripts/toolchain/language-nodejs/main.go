// pulumi-language-nodejs: a small Node.js language host for the Pulumi engine.
//
// The official host (module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not
// served by the Go module proxy these machines reach, so egress-xdp builds this one from the public
// gRPC contract in github.com/pulumi/pulumi/sdk/v3. It supports what `pulumi preview/up/refresh/destroy`
// need for a TypeScript program: reporting required plugins and running the program through
// @pulumi/pulumi's own `cmd/run` entry point, which loads ts-node and talks to the resource monitor.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is stamped at build time with -X main.version=... to match the CLI release it serves.
var version = "3.248.0"

// sdkLauncher is the SDK's program launcher, relative to a node_modules directory.
const sdkLauncher = "@pulumi/pulumi/cmd/run"

func main() {
	// The engine passes flags such as -tracing and, last, its own address.
	var engineAddress string
	for _, arg := range os.Args[1:] {
		if !strings.HasPrefix(arg, "-") {
			engineAddress = arg
		}
	}
	nodePath, err := exec.LookPath("node")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-nodejs: node is not on PATH; install Node.js >= 20.19")
		os.Exit(1)
	}
	host := &languageHost{nodePath: nodePath, engineAddress: engineAddress}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the RPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: RPC server stopped: %v\n", err)
		os.Exit(1)
	}
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	nodePath      string
	engineAddress string
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPlugins lists the resource plugins that installed npm packages declare with
// `"pulumi": {"resource": true}` in their package.json, so the engine can load them.
func (h *languageHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	nodeModules, found := findNodeModules(dir)
	if !found {
		return &pulumirpc.GetRequiredPluginsResponse{}, nil
	}
	plugins, err := pluginsInNodeModules(nodeModules)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// GetRequiredPackages is answered Unimplemented on purpose: the engine then falls back to
// GetRequiredPlugins, which is all this host needs (no parameterized packages).
func (h *languageHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return nil, status.Error(codes.Unimplemented, "use GetRequiredPlugins")
}

// Run starts the program through the SDK's launcher and waits for it. A program that fails
// reports its error in the response, not as an RPC error, as the engine expects.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	programDir := req.GetInfo().GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	entryPoint := req.GetInfo().GetEntryPoint()
	if entryPoint == "" {
		entryPoint = "."
	}
	nodeModules, found := findNodeModules(programDir)
	if !found {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(
			"@pulumi/pulumi is not installed in %s or above it; run `npm ci` in the project first", programDir)}, nil
	}
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return nil, err
	}

	launcher := filepath.Join(nodeModules, sdkLauncher)
	cmd := exec.CommandContext(ctx, h.nodePath, launcherArgs(launcher, entryPoint, req, h.engineAddress)...)
	cmd.Dir = req.GetPwd()
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
	), runtimeOptionsEnv(req.GetInfo().GetOptions().AsMap())...)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			// The SDK already printed the program's error; bail avoids printing it twice.
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with code %d", exitErr.ExitCode()),
				Bail: exitErr.ExitCode() == 32}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start node: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// findNodeModules finds the node_modules that holds @pulumi/pulumi the way Node resolves packages:
// in the program directory or in any directory above it.
func findNodeModules(programDir string) (string, bool) {
	for dir := programDir; ; dir = filepath.Dir(dir) {
		nodeModules := filepath.Join(dir, "node_modules")
		if _, err := os.Stat(filepath.Join(nodeModules, sdkLauncher)); err == nil {
			return nodeModules, true
		}
		if dir == filepath.Dir(dir) {
			return "", false
		}
	}
}

// runtimeOptionsEnv passes the `runtime.options` of Pulumi.yaml to the SDK's launcher, which reads
// them from the environment: typescript (default true), tsconfig and transpileOnly.
func runtimeOptionsEnv(options map[string]any) []string {
	typescript := true
	if value, ok := options["typescript"].(bool); ok {
		typescript = value
	}
	env := []string{fmt.Sprintf("PULUMI_NODEJS_TYPESCRIPT=%t", typescript)}
	if path, ok := options["tsconfig"].(string); ok && path != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+path)
	}
	if transpileOnly, ok := options["transpileOnly"].(bool); ok {
		env = append(env, fmt.Sprintf("PULUMI_NODEJS_TRANSPILE_ONLY=%t", transpileOnly))
	}
	return env
}

// launcherArgs builds the command line that @pulumi/pulumi/cmd/run understands.
func launcherArgs(launcher, entryPoint string, req *pulumirpc.RunRequest, engineAddress string) []string {
	args := []string{launcher}
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engineAddress)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("stack", req.GetStack())
	flag("pwd", req.GetPwd())
	flag("root-directory", req.GetInfo().GetRootDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		flag("parallel", fmt.Sprint(req.GetParallel()))
	}
	args = append(args, entryPoint)
	return append(args, req.GetArgs()...)
}

// packageManifest is the part of a package.json that declares a Pulumi resource plugin.
type packageManifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// pluginsInNodeModules reads the package.json of every top-level and scoped package.
func pluginsInNodeModules(nodeModules string) ([]*pulumirpc.PluginDependency, error) {
	manifests, err := filepath.Glob(filepath.Join(nodeModules, "*", "package.json"))
	if err != nil {
		return nil, err
	}
	scoped, err := filepath.Glob(filepath.Join(nodeModules, "@*", "*", "package.json"))
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, path := range append(manifests, scoped...) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var manifest packageManifest
		if err := json.Unmarshal(data, &manifest); err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if plugin := pluginOf(manifest); plugin != nil {
			plugins = append(plugins, plugin)
		}
	}
	return plugins, nil
}

// pluginOf names the plugin a package declares: its pulumi.name, or the package name without
// the @pulumi/ scope (other scopes keep their name, minus the leading @).
func pluginOf(m packageManifest) *pulumirpc.PluginDependency {
	if !m.Pulumi.Resource {
		return nil
	}
	name := m.Pulumi.Name
	if name == "" {
		name = strings.TrimPrefix(strings.TrimPrefix(m.Name, "@pulumi/"), "@")
	}
	version := m.Pulumi.Version
	if version == "" {
		version = m.Version
	}
	if version != "" && !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	return &pulumirpc.PluginDependency{Name: name, Kind: "resource", Version: version, Server: m.Pulumi.Server}
}
