// Scale: N EgressXdp instances in one stack (bench/fixtures/scale), fresh `up` and `destroy` timed for
// each N, inside one lab host.
import { tmpdir } from "os";
import * as path from "path";
import { Lab } from "../lab/host";
import { Engine, newEngine, projectRoot } from "../lab/engine";
import { onBpffs } from "../provider/bpf-pin-dir";
import { Timings, timedDestroy, timedUp } from "./control-plane";

export const scaleFixture = path.join(projectRoot, "bench", "fixtures", "scale");

export interface ScaleRow {
    instances: number;
    up: number;
    destroy: number;
}

export interface ScaleStack {
    engine: Engine;
    /** The one bpffs root all its instances pin into. */
    bpffsRoot: string;
    dispose(): Promise<void>;
}

/**
 * A scale stack in `lab` (`env` is added to every pulumi command); dispose() removes its backend,
 * config file and built objects.
 */
export async function newScaleStack(lab: Lab, name = "scale", env: Record<string, string> = {}):
    Promise<ScaleStack> {
    const engine = await newEngine(scaleFixture, `${name}-${lab.id}`, env);
    const settings = {
        labId: lab.id, hostNetns: lab.host, sendDev: lab.uplink, xdpProgram: path.join(projectRoot, "bpf", "xdp_stats.c"),
        // Not mounted before the first up, like /sys/fs/bpf on a fresh host.
        bpffsRoot: path.join(tmpdir(), `egress-xdp-bpffs-${name}-${lab.id}`),
    };
    await engine.pulumi(["config", "set-all", ...Object.entries(settings).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`])]);
    return {
        engine,
        bpffsRoot: settings.bpffsRoot,
        dispose: async () => {
            await engine.pulumi(["destroy", "--yes"], { allowFailure: true });
            engine.dispose();
        },
    };
}

export async function measureScale({ engine, bpffsRoot: root }: ScaleStack, counts: number[]): Promise<ScaleRow[]> {
    const rows: ScaleRow[] = [];
    for (const count of counts) {
        await engine.pulumi(["config", "set", "count", String(count)]);
        const timings: Timings = {};
        await timedUp(engine, timings);
        const outputs = JSON.parse((await engine.pulumi(["stack", "output", "--json"])).stdout) as { xdpModes: string[] };
        if (outputs.xdpModes.length !== count) throw new Error(`scale stack made ${outputs.xdpModes.length} of ${count} instances`);
        if (!onBpffs(root)) throw new Error(`scale stack of ${count}: ${root} is not a bpffs after up`);
        await timedDestroy(engine, timings);
        // The last instance out unmounts the shared root (the first one in mounted it).
        if (onBpffs(root)) throw new Error(`scale stack of ${count}: ${root} is still a bpffs after destroy`);
        rows.push({ instances: count, up: timings.up[0], destroy: timings.destroy[0] });
    }
    return rows;
}
