// pulumi-resource-command: a small stand-in for the Pulumi "command" provider, version 1.2.1.
//
// The official plugin (module github.com/pulumi/pulumi-command/provider) is not served by the Go module
// proxy these machines reach, and its release downloads are unreachable, so egress-xdp builds this one
// from the public gRPC contract in github.com/pulumi/pulumi/sdk/v3. It implements only the resource
// `command:local:Command` that @pulumi/command 1.2.1 registers for `new command.local.Command(...)`.
// Resource semantics live in command.go; this file holds the plugin boilerplate and the RPC handlers.
package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// version must equal the @pulumi/command npm package version: the engine loads the plugin by it.
const version = "1.2.1"

//go:embed schema.json
var schema string

func main() {
	// The engine runs us as `pulumi-resource-command [--logtostderr] [-v=N] [--tracing URL] ENGINE_ADDRESS`.
	// We need only the engine address, which comes last.
	var engineAddress string
	for _, arg := range os.Args[1:] {
		if !strings.HasPrefix(arg, "-") {
			engineAddress = arg
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Exit on our own if the engine goes away, so an aborted `pulumi up` leaves no stray plugin.
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			fmt.Fprintf(os.Stderr, "pulumi-resource-command: engine health check: %v\n", err)
			os.Exit(1)
		}
	}
	stop := make(chan bool)
	go func() { <-ctx.Done(); close(stop) }()

	prov := newProvider()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, prov)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: could not start the RPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: RPC server stopped: %v\n", err)
		os.Exit(1)
	}
}

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	// canceled is closed by the Cancel RPC; running commands are killed when it is.
	canceled context.Context
	cancel   context.CancelFunc
}

func newProvider() *commandProvider {
	ctx, cancel := context.WithCancel(context.Background())
	return &commandProvider{canceled: ctx, cancel: cancel}
}

// --- Plugin and protocol RPCs -------------------------------------------------------------------

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// Handshake is the engine's first call. Its answer replaces Configure's protocol flags, so it must
// claim secrets support here too, or the engine would strip secrets before sending us properties.
func (p *commandProvider) Handshake(
	context.Context, *pulumirpc.ProviderHandshakeRequest,
) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

// Attach is used only when the engine attaches to an already running plugin (PULUMI_DEBUG_PROVIDERS).
func (p *commandProvider) Attach(context.Context, *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// The provider has no configuration of its own: accept whatever the program passes.
func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig reports no change, so a provider version bump never replaces every Command.
func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *commandProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *commandProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schema}, nil
}

func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancel()
	return &emptypb.Empty{}, nil
}

// --- Resource RPCs ------------------------------------------------------------------------------

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	// Hand back the news untouched (no defaults filled in) so diffs compare what the program wrote.
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: checkInputs(news)}, nil
}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	// Compare against the old inputs; the old state holds the same keys (plus outputs) for engines
	// that do not send them.
	oldStruct := req.GetOldInputs()
	if oldStruct == nil {
		oldStruct = req.GetOlds()
	}
	olds, err := unmarshal(oldStruct)
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	return diffInputs(olds, news, req.GetIgnoreChanges()), nil
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	var outs resource.PropertyMap
	if req.GetPreview() {
		outs = withOutputs(inputs, unknownString(), unknownString())
	} else {
		ctx, done := p.runContext(ctx, req.GetTimeout())
		defer done()
		args := parseArgs(inputs)
		stdout, stderr, err := args.run(ctx, args.Create, nil)
		if err != nil {
			return nil, err
		}
		outs = withOutputs(inputs, args.output(stdout), args.output(stderr))
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	// The id only has to be unique; nothing looks a Command up by it.
	return &pulumirpc.CreateResponse{Id: newID(), Properties: props}, nil
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var outs resource.PropertyMap
	if req.GetPreview() {
		outs = withOutputs(news, unknownString(), unknownString())
	} else {
		ctx, done := p.runContext(ctx, req.GetTimeout())
		defer done()
		args := parseArgs(news)
		// `update` falls back to `create`, as documented for local.Command.
		script := args.Update
		if script == "" {
			script = args.Create
		}
		if script == "" {
			// Nothing to run: the outputs still describe the last command that did run.
			outs = withOutputs(news, olds["stdout"], olds["stderr"])
		} else {
			stdout, stderr, err := args.run(ctx, script, args.previousOutputEnv(olds))
			if err != nil {
				return nil, err
			}
			outs = withOutputs(news, args.output(stdout), args.output(stderr))
		}
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	// The state holds every input plus stdout/stderr, which `delete` may read from the environment.
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	args := parseArgs(state)
	if args.Delete != "" {
		ctx, done := p.runContext(ctx, req.GetTimeout())
		defer done()
		if _, _, err := args.run(ctx, args.Delete, args.previousOutputEnv(state)); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Read (refresh, import) has no live object to look at: a command's result is whatever it printed,
// so the recorded state is returned as is.
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// --- Helpers ------------------------------------------------------------------------------------

// runContext bounds a command by the request, the resource's customTimeouts (seconds, 0 = none) and
// the Cancel RPC.
func (p *commandProvider) runContext(ctx context.Context, timeout float64) (context.Context, context.CancelFunc) {
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeout*float64(time.Second)))
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(p.canceled, cancel)
	return ctx, func() { stop(); cancel() }
}

func checkType(typ, urn string) error {
	if typ == "" && urn != "" {
		typ = string(resource.URN(urn).Type())
	}
	if typ != commandType {
		return fmt.Errorf("pulumi-resource-command %s implements only %s, not %q", version, commandType, typ)
	}
	return nil
}

// Keep secrets, unknowns and resource references exactly as the engine sent them, so they survive
// the round trip into our outputs.
var marshalOptions = plugin.MarshalOptions{
	KeepUnknowns:  true,
	KeepSecrets:   true,
	KeepResources: true,
}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, marshalOptions)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshalOptions)
}

func unknownString() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux.
	return hex.EncodeToString(b)
}
