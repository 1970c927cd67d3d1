// The status view: a stack's topology as the kernel has it now, both directions' XDP programs with
// their pinned maps, and the programs' live counters with rates per second.
//   npm run status -- [STACK] [--watch]     (default: the selected stack; --watch refreshes every second)
import * as path from "path";
import { labelledCounters, readCounters } from "../components/counters";
import { readLink } from "../provider/link";
import { LinkState, parseRoutes } from "../provider/parse";
import { run } from "../provider/runner";
import { OffloadChange, effectiveOffloads, nativeOffloads, readFeatures } from "../provider/offload";

interface StackOutputs {
    namespace: string;
    bridge: string;
    tap: string;
    vethOuter: string;
    vethInner: string;
    hostNetns: string;
    xdpMapIds: Record<string, number>;
    xdpProgramView?: string;
    xdpOffloadChanges?: OffloadChange[];
    xdpIngressMapIds?: Record<string, number>;
    pinDir?: string;
    pinnedMaps?: Record<string, string>;
}

const projectRoot = path.resolve(__dirname, "..", "..");

function describeLink(label: string, link: LinkState | undefined): string {
    if (!link) return `  ${label.padEnd(10)} MISSING (run \`scripts/pulumi refresh\`, then \`scripts/pulumi up\`)`;
    const parts = [link.ifname, link.up ? "up" : "DOWN", `mtu ${link.mtu}`, ...link.addresses];
    if (link.master) parts.push(`port of ${link.master}`);
    if (link.xdp) parts.push(`XDP ${link.xdp.name} (prog ${link.xdp.progId}, ${link.xdp.mode})`);
    return `  ${label.padEnd(10)} ${parts.join("  ")}`;
}

function describeMaps(direction: string, mapIds: Record<string, number>, pinnedMaps: Record<string, string>): string[] {
    const pinByKernelName = new Map(Object.entries(pinnedMaps).map(([name, pin]) => [name.slice(0, 15), pin]));
    return Object.entries(mapIds).map(([name, id]) =>
        `  ${direction.padEnd(8)} map ${name.padEnd(16)} id ${String(id).padEnd(6)} ${pinByKernelName.get(name) ?? "(not pinned)"}`);
}

/** The outer veth's managed offloads as the kernel has them now, what egress-xdp changed, and the program's view. */
async function describeOffloads(host: { resource: string; netns?: string }, outputs: StackOutputs): Promise<string> {
    const changes = outputs.xdpOffloadChanges ?? [];
    const features = await readFeatures(host, outputs.vethOuter).catch(() => ({}));
    const names = [...new Set([...Object.keys(nativeOffloads), ...changes.map((c) => c.feature)])];
    const parts = names.map((name) => {
        const change = changes.find((c) => c.feature === name);
        const why = change ? `set ${change.set ? "on" : "off"} by egress-xdp, found ${change.found ? "on" : "off"}, put back on destroy`
            : "not changed by egress-xdp";
        return `${name} ${effectiveOffloads(features, [name])[name]} (${why})`;
    });
    const view = outputs.xdpProgramView === "wire frames" ? "one wire-size frame per call"
        : outputs.xdpProgramView === "super-packets" ? "one GSO super-packet (up to 64 kB) per call" : "unknown";
    return `  offloads   ${parts.join("; ")}\n  program    sees ${view}`;
}

/** Counter lines: value and rate per second since the previous reading (when there is one). */
function describeCounters(now: [string, number][], before: Map<string, number> | undefined, seconds: number): string[] {
    if (now.length === 0) return ["  (no counters: the programs have no maps this view knows)"];
    return now.map(([label, value]) => {
        const previous = before?.get(label);
        const rate = previous === undefined ? "" : `${((value - previous) / seconds).toFixed(1).padStart(14)} /s`;
        return `  ${label.padEnd(36)} ${String(value).padStart(14)}${rate}`;
    });
}

async function snapshot(outputs: StackOutputs, stack: string | undefined): Promise<{ lines: string[]; counters: [string, number][] }> {
    const host = { resource: "status", netns: outputs.hostNetns || undefined };
    const inner = { resource: "status", netns: outputs.namespace };
    const defaultRoute = async (family: string) =>
        parseRoutes((await run(inner, ["ip", family, "-json", "route", "show", "default"], { allowFailure: true })).stdout || "[]")[0];
    const route = await defaultRoute("-4");
    const route6 = await defaultRoute("-6");
    const ingressMapIds = outputs.xdpIngressMapIds ?? {};
    const counters = labelledCounters(await readCounters(outputs.hostNetns, { ...ingressMapIds, ...outputs.xdpMapIds }));
    return {
        counters,
        lines: [
            `egress-xdp ${stack ?? ""}  host namespace: ${outputs.hostNetns || "(this one)"}`,
            describeLink("bridge", await readLink(host, outputs.bridge)),
            describeLink("tap", await readLink(host, outputs.tap)),
            describeLink("outer veth", await readLink(host, outputs.vethOuter)),
            `  namespace  ${outputs.namespace}`,
            describeLink("inner veth", await readLink(inner, outputs.vethInner)),
            `  route      ${route ? `default via ${route.gateway} dev ${route.dev}` : "MISSING default route"}`,
            ...route6 ? [`  route6     default via ${route6.gateway} dev ${route6.dev}`] : [],
            await describeOffloads(host, outputs),
            `XDP programs: egress on ${outputs.vethOuter}, ingress on ${outputs.vethInner}; pinned maps in ${outputs.pinDir ?? "(none)"}`,
            ...describeMaps("egress", outputs.xdpMapIds, outputs.pinnedMaps ?? {}),
            ...describeMaps("ingress", ingressMapIds, outputs.pinnedMaps ?? {}),
        ],
    };
}

async function main(args: string[]): Promise<void> {
    const watch = args.includes("--watch");
    const stack = args.find((arg) => arg !== "--watch");
    const pulumi = path.join(projectRoot, "scripts", "pulumi");
    const outputArgs = ["stack", "output", "--json", ...(stack ? ["--stack", stack] : [])];
    const outputs = JSON.parse((await run({ resource: "status" }, [pulumi, ...outputArgs], { cwd: projectRoot })).stdout) as StackOutputs;
    if (!outputs.namespace) throw new Error(`stack ${stack ?? "(selected)"} has no egress-xdp outputs; run \`scripts/pulumi up\` first`);
    // Rates need two readings: one now, one a second later; --watch then keeps reading every second.
    let before: { at: number; counters: Map<string, number> } | undefined;
    for (let reading = 0; ; reading++) {
        const at = Date.now();
        const { lines, counters } = await snapshot(outputs, stack);
        if (watch || reading > 0) {
            const seconds = before ? (at - before.at) / 1000 : 1;
            if (watch) process.stdout.write("\x1b[H\x1b[2J");
            console.log([...lines, "XDP counters (live, rates per second):", ...describeCounters(counters, before?.counters, seconds)].join("\n"));
        }
        if (!watch && reading > 0) return;
        before = { at, counters: new Map(counters) };
        await new Promise((resolve) => setTimeout(resolve, 1000));
    }
}

main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`status: ${error.message}`);
    process.exit(1);
});
