// Rewrites a stack's state so every egress-xdp resource names its provider the way this version does
// (package and major version, provider/dynamic.ts), for stacks made before egress-xdp was a package:
// their state loads the provider by the absolute path of the checkout that made it.
// Needed when that checkout moved or is gone (refresh and destroy cannot load the old path); while it
// is still in place, the next `up` migrates the state by itself. Runs `scripts/pulumi stack export`,
// rewrites `__provider`, and `stack import`s the result; nothing on the host changes.
//   node dist/scripts/migrate-state.js STACK     (in the program's directory, e.g. the checkout)
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { providerModuleText } from "../provider/dynamic";
import { run } from "../provider/runner";

const typePrefix = "pulumi-nodejs:dynamic/egressxdp:";

interface StateResource {
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

/** The state with every egress-xdp resource's `__provider` rewritten; `changed` counts the resources. */
export function migratedState(state: { deployment: { resources?: StateResource[] } }): { state: unknown; changed: number } {
    let changed = 0;
    for (const resource of state.deployment.resources ?? []) {
        if (!resource.type.startsWith(typePrefix)) continue;
        const text = providerModuleText(resource.type.slice(typePrefix.length));
        let rewritten = false;
        for (const props of [resource.inputs, resource.outputs]) {
            if (props && "__provider" in props && props.__provider !== text) {
                props.__provider = text;
                rewritten = true;
            }
        }
        if (rewritten) changed += 1;
    }
    return { state, changed };
}

async function main(stack: string | undefined): Promise<void> {
    if (!stack) throw new Error("usage: node dist/scripts/migrate-state.js STACK (in the program's directory)");
    const pulumi = path.join(__dirname, "..", "..", "scripts", "pulumi");
    const ctx = { resource: `migrate-state ${stack}` };
    const exported = await run(ctx, [pulumi, "stack", "export", "--stack", stack, "--non-interactive"], { cwd: process.cwd() });
    const { state, changed } = migratedState(JSON.parse(exported.stdout));
    if (changed === 0) {
        console.log(`stack ${stack}: every egress-xdp resource already names its provider by package; nothing to do`);
        return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), "egress-xdp-migrate-"));
    try {
        const file = path.join(dir, "state.json");
        writeFileSync(file, JSON.stringify(state));
        await run(ctx, [pulumi, "stack", "import", "--stack", stack, "--file", file, "--non-interactive"], { cwd: process.cwd() });
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
    console.log(`stack ${stack}: ${changed} egress-xdp resources now name their provider by package ` +
        "(refresh, up and destroy work from any directory with egress-xdp installed)");
}

if (require.main === module) {
    main(process.argv[2]).catch((error: Error) => {
        console.error(error.message);
        process.exit(1);
    });
}
