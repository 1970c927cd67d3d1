// A program's head start: `import { dynamicProviderRequested } from "egress-xdp/start"` as its first
// import, and `await dynamicProviderRequested()` before it loads @pulumi/pulumi's index and egress-xdp.
// Two things happen: the modules only closure serialization needs load at their first use, not with
// @pulumi/pulumi (provider/defer-closure-modules.ts, about 0.7 s of CPU per program run), and Pulumi's
// dynamic-provider plugin starts while the rest loads instead of after it (provider/plugin-start.ts;
// EgressXdp asks for the plugin anyway, later). Measured in docs/BENCHMARKS.md, section 4.
import "./provider/defer-closure-modules";
import { requestDynamicProvider } from "./provider/plugin-start";

requestDynamicProvider();

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Resolves once the request has left: the SDK sends it after a few asynchronous steps, which loading
 * modules (synchronous) would hold up until the loading is done.
 */
export async function dynamicProviderRequested(): Promise<void> {
    await turn();
    await turn();
}
