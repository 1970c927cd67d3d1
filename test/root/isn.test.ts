// Issue 12 end to end: the seed's example, TCP initial sequence number modulation by the
// bpf/xdp_isn_egress.c / xdp_isn_ingress.c pair, through the real engine, with checksum offload off
// on every veth so a wrong checksum drops the packet and deliberate losses so SACK blocks travel back
// through the ingress program; and pinned maps that outlive a program swap.
import { expect } from "chai";
import { createHash, randomBytes } from "crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { packetsSeen } from "../../components/counters";
import { inNetns, run } from "../../provider/runner";
import { projectRoot } from "../../lab/engine";
import { inNs, removeTestTable, useLabStacks } from "../helpers/lab";

/** Starts `argv` in `netns` in the background (wrapped: awaiting the process itself waits for its end). */
async function background(netns: string, argv: string[]) {
    const { execa } = await import("execa");
    const full = inNetns(netns, argv);
    return { process: execa(full[0], full.slice(1), { reject: false }) };
}

/** The sequence number and source port of the first line tcpdump printed for a SYN. */
function synOf(tcpdumpOutput: string): { seq: number; port: number } {
    const match = /\.(\d+) > [0-9.]+: Flags \[S\], seq (\d+)/.exec(tcpdumpOutput);
    if (!match) throw new Error(`no SYN in tcpdump output: ${tcpdumpOutput}`);
    return { port: Number(match[1]), seq: Number(match[2]) };
}

async function tcpCounters(netns: string): Promise<Record<string, number>> {
    const { stdout } = await inNs(netns, ["nstat", "-a", "-z", "-j"]);
    return (JSON.parse(stdout) as { kernel: Record<string, number> }).kernel;
}

describe("TCP ISN modulation pair (engine, root tier)", function () {
    this.timeout(300000);
    const { lab, stack } = useLabStacks();
    const scratch: string[] = [];
    afterEach(() => {
        for (const file of scratch.splice(0)) rmSync(file, { recursive: true, force: true });
    });

    for (const mode of ["native", "generic"]) {
        it(`${mode}: 12 MB reach the upstream intact through deliberate losses, SYNs leave shifted by the recorded offset, SACK blocks come back valid`,
            async function () {
                const s = await stack(`isn${mode[0]}`, {
                    xdpProgram: "bpf/xdp_isn_egress.c", xdpIngressProgram: "bpf/xdp_isn_ingress.c", xdpMode: mode,
                });
                await s.engine.pulumi(["up", "--yes"]);
                const out = await s.outputs();
                expect(out.effectiveXdpMode).to.equal(mode);
                expect(out.xdpIngressMode).to.equal(mode);
                expect(out.pinnedMaps).to.have.property("isn_offsets");
                expect(out.xdpMapIds.isn_offsets, "both programs share one map").to.equal(out.xdpIngressMapIds.isn_offsets);

                // Checksums are then computed in software and checked by every receiver.
                const offload = (state: string) => Promise.all([[lab().host, "veth_1a"], [s.namespace, "veth_1b"],
                    [lab().host, lab().uplink], [lab().upstream, "down0"]].map(([netns, dev]) =>
                    inNs(netns, ["ethtool", "-K", dev, "tx", state, "rx", state])));
                await offload("off");
                const data = path.join(projectRoot, "bpf", "build", `isn-${mode}-${lab().id}.bin`);
                const received = `${data}.received`;
                scratch.push(data, received);
                mkdirSync(path.dirname(data), { recursive: true });
                writeFileSync(data, randomBytes(12 * 1024 * 1024));
                const port = "9100";
                // Every 100th segment to the upstream is lost, so the upstream sends SACK blocks in the shifted
                // sequence space and the sender can only repair the holes if the ingress program shifted them back.
                const loss = ["INPUT", "-p", "tcp", "--dport", port, "-m", "statistic", "--mode", "nth", "--every", "100",
                    "--packet", "50", "-j", "DROP"];
                await inNs(lab().upstream, ["iptables", "-A", ...loss]);
                const synFilter = ["tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "and", "dst", "port", port];
                const server = await background(lab().upstream, ["timeout", "60", "socat", "-u",
                    `TCP-LISTEN:${port},bind=${lab().serverAddress},reuseaddr`, `OPEN:${received},creat,trunc`]);
                const uplinkCapture = await background(lab().host,
                    ["timeout", "60", "tcpdump", "-l", "-n", "-S", "-c", "1", "-i", lab().uplink, ...synFilter]);
                const innerCapture = await background(s.namespace,
                    ["timeout", "60", "tcpdump", "-l", "-n", "-S", "-c", "1", "-i", "veth_1b", ...synFilter]);
                try {
                    await new Promise((resolve) => setTimeout(resolve, 1500)); // tcpdump and socat listening
                    const before = await tcpCounters(s.namespace);
                    await inNs(s.namespace, ["timeout", "60", "socat", "-u", `OPEN:${data}`, `TCP:${lab().serverAddress}:${port}`]);
                    await server.process;
                    const after = await tcpCounters(s.namespace);
                    const hash = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
                    expect(hash(received), "the upstream got the bytes sent").to.equal(hash(data));

                    const inner = synOf(String((await innerCapture.process).stdout));
                    const uplink = synOf(String((await uplinkCapture.process).stdout));
                    const entries = JSON.parse((await run({ resource: "t" },
                        ["bpftool", "-j", "map", "dump", "pinned", out.pinnedMaps.isn_offsets])).stdout) as
                        { key: string[]; value: string[] }[];
                    const bytes = (hex: string[]) => Buffer.from(hex.map((b) => parseInt(b, 16)));
                    const entry = entries.find((e) => bytes(e.key).readUInt16BE(8) === inner.port);
                    expect(entry, `an offset for the flow from port ${inner.port}`).to.not.equal(undefined);
                    const offset = bytes(entry!.value).readUInt32LE(0);
                    expect(offset).to.not.equal(0);
                    expect((inner.seq + offset) % 2 ** 32, "uplink SYN = socket's ISN + recorded offset").to.equal(uplink.seq);

                    const grew = (counter: string) => after[counter] - before[counter];
                    const lost = Number(/ -c (\d+) /.exec((await inNs(lab().upstream, ["iptables", "-S", "INPUT", "1", "-v"])).stdout)?.[1]);
                    expect(grew("TcpOutSegs")).to.be.greaterThan(1000);
                    expect(lost, "segments the upstream's rule dropped").to.be.greaterThan(10);
                    // A block left in the shifted space lies outside the sender's window: the kernel discards it
                    // and counts it. Valid blocks let the sender recover by SACK (retransmissions alone are no
                    // measure: on a loaded veth path reordering and late ACKs cause spurious ones).
                    expect(grew("TcpExtTCPSACKDiscard"), "SACK blocks the sender discarded as invalid").to.equal(0);
                    expect(grew("TcpExtTCPSackRecovery"), "recoveries by SACK").to.be.greaterThan(0);
                    console.log(`      ${mode}: ${lost} segments dropped by the upstream, ${grew("TcpRetransSegs")} retransmitted, ` +
                        `${grew("TcpExtTCPSackRecovery")} SACK recoveries; offset ${offset}`);
                    const counters = await s.counters();
                    expect(counters.isnEgress!.fullChecksum, "segments whose complete checksum was updated").to.be.greaterThan(1000);
                    expect(counters.isnEgress!.newFlows).to.equal(1);

                    // The status view: both programs, the shared pin, counters with rates; --watch refreshes.
                    // --watch runs until killed: `timeout` ends it after `seconds` (the view itself takes seconds on a
                    // loaded host); the single view is bounded too, and SIGKILL follows if SIGTERM is not enough.
                    const status = (args: string[], seconds: number) => run({ resource: "status" }, ["timeout", "-k", "5",
                        String(seconds), "node", path.join(projectRoot, "dist", "scripts", "status.js"), s.engine.stack, ...args],
                    { cwd: projectRoot, env: s.engine.command([]).env, allowFailure: args.includes("--watch") });
                    const view = (await status([], 90)).stdout;
                    expect(view).to.include(`ingress  map isn_offsets      id ${out.xdpIngressMapIds.isn_offsets}`);
                    expect(view).to.include(out.pinnedMaps.isn_offsets);
                    expect(view).to.match(/isn egress rewritten +\d+ +0\.0 \/s/);
                    const watched = (await status(["--watch"], 30)).stdout;
                    expect(watched.split("XDP counters (live").length - 1, "screens in 30 s of --watch").to.be.at.least(2);
                } finally {
                    for (const child of [server, uplinkCapture, innerCapture]) child.process.kill("SIGKILL");
                    await inNs(lab().upstream, ["iptables", "-D", ...loss]);
                    await removeTestTable(lab().upstream, "filter"); // made by the rule above
                    await offload("on");
                }
            });
    }

    it("keeps the stats program's pinned counters across a rebuild and swap; destroy unpins and unmounts", async function () {
        const dir = path.join(projectRoot, "bpf", "build", `pins-${lab().id}`);
        mkdirSync(dir, { recursive: true });
        scratch.push(dir);
        const source = path.join(dir, "stats.c");
        copyFileSync(path.join(projectRoot, "bpf", "xdp_stats.c"), source);
        const s = await stack("pins", { xdpProgram: source });
        const bpffsRoot = String(s.config.bpffsRoot);
        expect(existsSync(bpffsRoot), "no bpffs before up").to.equal(false);
        await s.engine.pulumi(["up", "--yes"]);
        const first = await s.outputs();
        expect(first.pinDir).to.equal(path.join(bpffsRoot, "egress-xdp", "egress-xdp", s.engine.stack, s.engine.stack));
        expect(first.pinnedMaps).to.deep.equal({ stats: path.join(first.pinDir, "tc", "globals", "stats") });
        expect(await s.ping(lab().serverAddress, 20)).to.equal(true);
        const seen = packetsSeen(await s.counters());
        expect(seen).to.be.at.least(20);

        writeFileSync(source, readFileSync(source, "utf8").replace("return XDP_PASS;", "return XDP_PASS; /* edited */"));
        await s.engine.pulumi(["up", "--yes"]);
        const second = await s.outputs();
        expect(second.xdpProgramId, "a new program").to.not.equal(first.xdpProgramId);
        expect(second.xdpMapIds.stats, "the same pinned map").to.equal(first.xdpMapIds.stats);
        expect(packetsSeen(await s.counters()), "counters kept").to.be.at.least(seen);
        const dump = await run({ resource: "t" }, ["bpftool", "map", "dump", "pinned", second.pinnedMaps.stats]);
        expect(dump.stdout).to.match(/packets/);
        await s.engine.pulumi(["preview", "--expect-no-changes"]);

        await s.engine.pulumi(["destroy", "--yes"]);
        expect(existsSync(bpffsRoot), "bpffs unmounted and its mount point removed").to.equal(false);
        const mounts = readFileSync("/proc/self/mounts", "utf8");
        expect(mounts).to.not.include(bpffsRoot);
    });
});
