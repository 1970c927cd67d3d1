// Starting Pulumi's dynamic-provider plugin early. The engine starts it at the first registration of
// a dynamic resource, and its start (a second Node.js process loading @pulumi/pulumi, about 0.5 s)
// then follows the program's own work: loading its modules (@pulumi/pulumi's index alone takes
// about 0.6 s) and the component's checks. An invoke makes the engine start the provider of the
// invoke's package at once; the plugin answers every invoke with "unknown function", an answer
// nobody needs. EgressXdp asks first thing, so the plugin starts while it checks its args; a program
// can ask before it loads its modules (egress-xdp/start). Only the SDK's invoke module is loaded here,
// most of which Pulumi's program launcher has loaded already.
import { invoke } from "@pulumi/pulumi/runtime/invoke";

let requested = false;

/** Has the engine start the dynamic-provider plugin now (once per program run); call only in a program. */
export function requestDynamicProvider(): void {
    if (requested) return;
    requested = true;
    invoke("pulumi-nodejs:dynamic:start", {}).catch(() => undefined);
}
