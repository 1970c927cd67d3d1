// The status view: a stack's topology as the kernel has it now, and the XDP program's live counters.
//   npm run status -- [STACK]     (default: the selected stack)
import * as path from "path";
import { XdpCounters, readCounters } from "../components/counters";
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
}

const projectRoot = path.resolve(__dirname, "..", "..");

function describeLink(label: string, link: LinkState | undefined): string {
    if (!link) return `  ${label.padEnd(10)} MISSING (run \`scripts/pulumi refresh\`, then \`scripts/pulumi up\`)`;
    const parts = [link.ifname, link.up ? "up" : "DOWN", `mtu ${link.mtu}`, ...link.addresses];
    if (link.master) parts.push(`port of ${link.master}`);
    if (link.xdp) parts.push(`XDP ${link.xdp.name} (prog ${link.xdp.progId}, ${link.xdp.mode})`);
    return `  ${label.padEnd(10)} ${parts.join("  ")}`;
}

function describeCounters(counters: XdpCounters): string[] {
    const lines: string[] = [];
    for (const [protocol, c] of Object.entries(counters.stats ?? {})) {
        lines.push(`  ${protocol.padEnd(10)} ${String(c.packets).padStart(12)} packets ${String(c.bytes).padStart(14)} bytes`);
    }
    if (counters.verdicts) {
        lines.push(`  passed     ${String(counters.verdicts.passed).padStart(12)} packets`);
        lines.push(`  dropped    ${String(counters.verdicts.dropped).padStart(12)} packets`);
    }
    for (const [prefix, drops] of Object.entries(counters.dropsByPrefix ?? {})) {
        lines.push(`    ${prefix.padEnd(18)} ${String(drops).padStart(10)} dropped`);
    }
    return lines.length > 0 ? lines : ["  (no counters: the program has no maps this view knows)"];
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

async function main(stack: string | undefined): Promise<void> {
    const pulumi = path.join(projectRoot, "scripts", "pulumi");
    const args = ["stack", "output", "--json", ...(stack ? ["--stack", stack] : [])];
    const outputs = JSON.parse((await run({ resource: "status" }, [pulumi, ...args], { cwd: projectRoot })).stdout) as StackOutputs;
    if (!outputs.namespace) throw new Error(`stack ${stack ?? "(selected)"} has no egress-xdp outputs; run \`scripts/pulumi up\` first`);
    const host = { resource: "status", netns: outputs.hostNetns || undefined };
    const inner = { resource: "status", netns: outputs.namespace };
    const route = parseRoutes((await run(inner, ["ip", "-json", "route", "show", "default"], { allowFailure: true })).stdout || "[]")[0];
    console.log(`egress-xdp ${stack ?? ""}  host namespace: ${outputs.hostNetns || "(this one)"}`);
    console.log(describeLink("bridge", await readLink(host, outputs.bridge)));
    console.log(describeLink("tap", await readLink(host, outputs.tap)));
    console.log(describeLink("outer veth", await readLink(host, outputs.vethOuter)));
    console.log(`  namespace  ${outputs.namespace}`);
    console.log(describeLink("inner veth", await readLink(inner, outputs.vethInner)));
    console.log(`  route      ${route ? `default via ${route.gateway} dev ${route.dev}` : "MISSING default route"}`);
    console.log(await describeOffloads(host, outputs));
    console.log("XDP counters (live):");
    console.log(describeCounters(await readCounters(outputs.hostNetns, outputs.xdpMapIds)).join("\n"));
}

main(process.argv[2]).catch((error: Error) => {
    console.error(`status: ${error.message}`);
    process.exit(1);
});
