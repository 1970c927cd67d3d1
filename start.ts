// A program's head start on Pulumi's dynamic-provider plugin: `import { dynamicProviderRequested }
// from "egress-xdp/start"` as its first import, and `await dynamicProviderRequested()` before it
// loads @pulumi/pulumi's index and egress-xdp. The plugin then starts while those load (about 0.6 s)
// instead of after them (provider/plugin-start.ts): measured 0.15 s less for a preview and for an up
// here (docs/BENCHMARKS.md). EgressXdp asks for the plugin anyway, later.
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
