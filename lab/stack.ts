// An egress-xdp stack (the root program) in a lab host: the real engine on a throwaway backend, the
// stack config pointing at the lab host and its uplink; for the tests and the benchmarks.
import { readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { XdpCounters, readCounters } from "../components/counters";
import { run } from "../provider/runner";
import { Engine, newEngine, projectRoot } from "./engine";
import { Lab } from "./host";
import type { OffloadChange } from "../provider/offload";

/** Stack config keys of project egress-xdp (see Pulumi.yaml); dropPrefixes is a list. */
export type StackConfig = Record<string, string | string[]>;

export interface StackOutputs {
    namespace: string;
    bridge: string;
    tap: string;
    vethOuter: string;
    vethInner: string;
    outerAddress: string;
    innerAddress: string;
    outerAddress6: string;
    innerAddress6: string;
    hostNetns: string;
    xdpProgramId: number;
    xdpProgramTag: string;
    effectiveXdpMode: string;
    xdpMapIds: Record<string, number>;
    xdpProgramView?: string;
    xdpOffloads?: Record<string, string>;
    xdpOffloadChanges?: OffloadChange[];
    xdpIngressProgramId: number;
    xdpIngressMode: string;
    xdpIngressMapIds: Record<string, number>;
    pinDir: string;
    pinnedMaps: Record<string, string>;
    execPrefix: string[];
}

export interface LabStack {
    engine: Engine;
    /** The inner namespace this stack's traffic is sent from (as of the last `edit`). */
    namespace: string;
    config: StackConfig;
    /** Replaces the stack's config by `config` (keys left out are unset), for the next preview or up. */
    edit(config: StackConfig): void;
    outputs(): Promise<StackOutputs>;
    /** Pings from inside the stack's namespace (3 echoes unless `count`); true when every reply came back. */
    ping(target: string, count?: number): Promise<boolean>;
    /** How many of `count` echoes (default 3) from inside the stack's namespace were answered. */
    replies(target: string, count?: number): Promise<number>;
    counters(): Promise<XdpCounters>;
    /** Destroys the stack (ignoring failures) and removes its backend. */
    dispose(): Promise<void>;
}

/** The config a lab stack starts from: the lab's host netns and uplink, a namespace named for the lab. */
export function labStackConfig(lab: Lab, name: string, overrides: StackConfig = {}): StackConfig {
    // A bpffs of the stack's own (mounted by up, unmounted by destroy), never the machine's /sys/fs/bpf.
    const bpffsRoot = path.join(tmpdir(), `egress-xdp-bpffs-${name}-${lab.id}`);
    return { hostNetns: lab.host, sendDev: lab.uplink, namespace: lab.netnsName(`i${name}`), bpffsRoot, ...overrides };
}

/** Writes a stack config with `pulumi config set-all` (lists by --path, e.g. dropPrefixes[0]). */
export async function setStackConfig(engine: Engine, config: StackConfig): Promise<void> {
    const pairs = Object.entries(config).flatMap(([key, value]) => Array.isArray(value)
        ? value.map((item, i) => `egress-xdp:${key}[${i}]=${item}`)
        : [`egress-xdp:${key}=${value}`]);
    if (pairs.length === 0) return;
    await engine.pulumi(["config", "set-all", "--path", ...pairs.flatMap((pair) => ["--plaintext", pair])]);
}

/**
 * Replaces the whole stack config by `config` (keys left out are unset), writing the stack's config
 * file directly: faster than `pulumi config`, and any string, however malformed, arrives as written.
 */
export function replaceStackConfig(engine: Engine, config: StackConfig): void {
    const file = path.join(engine.command([]).cwd, `Pulumi.${engine.stack}.yaml`);
    const salt = readFileSync(file, "utf8").split("\n").filter((line) => line.startsWith("encryptionsalt:"));
    // JSON strings and lists are YAML flow scalars and sequences, so every value is quoted safely.
    const entries = Object.entries(config).map(([key, value]) => `  egress-xdp:${key}: ${JSON.stringify(value)}`);
    writeFileSync(file, [...salt, ...(entries.length > 0 ? ["config:", ...entries] : []), ""].join("\n"));
}

/**
 * How many of `count` echoes from `netns` to `target` were answered (ping's exit status says only
 * whether one was).
 */
export async function pingReplies(netns: string, target: string, count: number): Promise<number> {
    const { stdout } = await run({ resource: `ping from ${netns}`, netns },
        ["ping", "-n", "-q", "-c", String(count), "-i", "0.01", "-W", "1", target], { allowFailure: true });
    const received = /(\d+) received/.exec(stdout);
    if (!received) throw new Error(`ping from ${netns} to ${target} printed no statistics:\n${stdout}`);
    return Number(received[1]);
}

export async function newLabStack(lab: Lab, name: string, overrides: StackConfig = {}): Promise<LabStack> {
    const engine = await newEngine(projectRoot, `${name}-${lab.id}`);
    const config = labStackConfig(lab, name, overrides);
    await setStackConfig(engine, config);
    const outputs = async () => JSON.parse((await engine.pulumi(["stack", "output", "--json"])).stdout) as StackOutputs;
    const replies = async (target: string, count = 3) => pingReplies(stack.namespace, target, count);
    const stack: LabStack = {
        engine, namespace: String(config.namespace), config, outputs, replies,
        edit: (next) => {
            replaceStackConfig(engine, next);
            stack.config = next;
            stack.namespace = String(next.namespace);
        },
        ping: async (target, count = 3) => await replies(target, count) === count,
        counters: async () => {
            const out = await outputs();
            return readCounters(out.hostNetns, out.xdpMapIds);
        },
        dispose: async () => {
            await engine.pulumi(["destroy", "--yes"], { allowFailure: true });
            engine.dispose();
        },
    };
    return stack;
}
