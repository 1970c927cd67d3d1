// Program cost: every program in bpf/ under BPF_PROG_TEST_RUN (`bpftool prog run ... repeat N`) with
// realistic frames. Programs and maps are pinned in a bpffs on /sys/fs/bpf of a private mount
// namespace of the run's own (libbpf pins maps declared LIBBPF_PIN_BY_NAME there), so the machine's
// mounts never change; releasing that namespace drops the pins, programs and maps, also on failure.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { clangArgv, hexArgs, lpmKey, parseMapInfo, parseProgInfo } from "../provider/bpf";
import { run } from "../provider/runner";
import { parseIpv4 } from "../provider/validate";
import { icmpEchoFrame, segmentPorts, tcpSegmentFrame } from "./frames";
import { median, parseProgRun } from "./stats";

export interface ProgramCostRow {
    program: string;
    frame: string;
    /** XDP_DROP = 1, XDP_PASS = 2. */
    returnValue: number;
    /** Median over the runs of bpftool's mean ns per program run. */
    nsPerPacket: number;
    runs: number[];
}

export interface ProgramCost {
    repeat: number;
    rows: ProgramCostRow[];
    /** The prefixes loaded into drop-list maps. */
    prefixes: string[];
    argv: string[];
}

const ctx = { resource: "bench program cost" };
const source = "10.0.0.2";
/** Prefixes for programs with a drop_prefixes map: a few, one of them covering `matched`. */
const prefixes = ["198.19.1.0/24", "192.0.2.0/24", "203.0.113.0/24", "100.64.0.0/10"];
const matched = "198.19.1.1";
const unmatched = "198.19.0.1";
const xdpVerdicts: Record<number, string> = { 1: "XDP_DROP", 2: "XDP_PASS" };

export function verdictName(returnValue: number): string {
    return xdpVerdicts[returnValue] ?? String(returnValue);
}

/** The bytes of an isn_offsets key (struct isn_flow in bpf/isn.h): the namespace's address and port first, network order. */
export function isnFlowKey(local: string, remote: string, ports: { local: number; remote: number }): Buffer {
    const key = Buffer.alloc(12);
    key.writeUInt32BE(parseIpv4(local)!, 0);
    key.writeUInt32BE(parseIpv4(remote)!, 4);
    key.writeUInt16BE(ports.local, 8);
    key.writeUInt16BE(ports.remote, 10);
    return key;
}

/** The measured segment's flow, as both ISN programs look it up. */
const isnFlow = isnFlowKey(source, unmatched, { local: segmentPorts.source, remote: segmentPorts.destination });
const reply = { source: segmentPorts.destination, destination: segmentPorts.source };

/**
 * Runs `body` with a private mount namespace that has a bpffs of its own on /sys/fs/bpf; `inside`
 * turns an argv into one that runs there. The namespace is kept by a bind mount of its file on a
 * private mount of `work`; unmounting both releases it.
 */
async function withPrivateBpffs<T>(work: string, body: (inside: (argv: string[]) => string[]) => Promise<T>): Promise<T> {
    const holder = path.join(work, "mntns");
    writeFileSync(holder, "");
    await run(ctx, ["mount", "--bind", work, work]);
    try {
        await run(ctx, ["mount", "--make-private", work]);
        await run(ctx, ["unshare", `--mount=${holder}`, "--propagation", "private", "true"]);
        try {
            const inside = (argv: string[]) => ["nsenter", `--mount=${holder}`, "--", ...argv];
            await run(ctx, inside(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"]));
            return await body(inside);
        } finally {
            await run(ctx, ["umount", holder]);
        }
    } finally {
        await run(ctx, ["umount", work]);
    }
}

export async function measureProgramCost(projectRoot: string, options: { repeat: number; runs: number }): Promise<ProgramCost> {
    const work = mkdtempSync(path.join(tmpdir(), "egress-xdp-bench-progs-"));
    try {
        return await withPrivateBpffs(work, (inside) => measureEach(projectRoot, work, inside, options));
    } finally {
        rmSync(work, { recursive: true, force: true });
    }
}

/** The program's maps by kernel name, from the program pinned at `pin`. */
async function mapIdsOf(inside: (argv: string[]) => string[], pin: string): Promise<Record<string, number>> {
    const prog = parseProgInfo((await run(ctx, inside(["bpftool", "-j", "prog", "show", "pinned", pin]))).stdout);
    const ids: Record<string, number> = {};
    for (const id of prog.mapIds) {
        ids[parseMapInfo((await run(ctx, ["bpftool", "-j", "map", "show", "id", String(id)])).stdout).name] = id;
    }
    return ids;
}

async function measureEach(projectRoot: string, work: string, inside: (argv: string[]) => string[],
    options: { repeat: number; runs: number }): Promise<ProgramCost> {
    const rows: ProgramCostRow[] = [];
    // Ingress programs (bpf/*_ingress.c) get the frames coming back: the same flows, reversed.
    const frames: Record<string, (destination: string, ingress: boolean) => Buffer> = {
        "TCP segment, 1514 B": (d, ingress) => ingress ? tcpSegmentFrame(d, source, reply) : tcpSegmentFrame(source, d),
        "ICMP echo, 98 B": (d, ingress) => ingress ? icmpEchoFrame(d, source) : icmpEchoFrame(source, d),
    };
    const sources = readdirSync(path.join(projectRoot, "bpf")).filter((f) => f.endsWith(".c")).sort();
    for (const file of sources) {
        const name = path.basename(file, ".c");
        const object = path.join(work, `${name}.o`);
        await run(ctx, clangArgv(path.join(projectRoot, "bpf", file), object));
        const pin = path.join("/sys/fs/bpf", name);
        await run(ctx, inside(["bpftool", "prog", "load", object, pin]));
        const mapIds = await mapIdsOf(inside, pin);
        const update = (map: string, key: Buffer, value: Buffer) => run(ctx, ["bpftool", "map", "update", "id",
            String(mapIds[map]), "key", "hex", ...hexArgs(key), "value", "hex", ...hexArgs(value)]);
        const hasDropList = mapIds.drop_prefixes !== undefined;
        if (hasDropList) for (const cidr of prefixes) await update("drop_prefixes", lpmKey(cidr), Buffer.alloc(8));
        // The ISN pair: frames of a flow with an offset (rewritten) and of another (passed as they are).
        const hasIsnFlows = mapIds.isn_offsets !== undefined;
        if (hasIsnFlows) await update("isn_offsets", isnFlow, Buffer.from([0x11, 0x22, 0x33, 0x44]));
        const ingress = name.endsWith("_ingress");
        const destinations: [string, string][] = hasDropList ? [[unmatched, "destination not listed"], [matched, "destination listed"]]
            : hasIsnFlows ? [[unmatched, "flow with an offset"], [matched, "flow without"]] : [[unmatched, ""]];
        for (const [frameName, frame] of Object.entries(frames)) {
            for (const [destination, note] of destinations) {
                const data = path.join(work, "frame.bin");
                writeFileSync(data, frame(destination, ingress));
                const results = [];
                for (let i = 0; i < options.runs; i++) {
                    const { stdout } = await run(ctx, inside(["bpftool", "prog", "run", "pinned", pin, "data_in", data,
                        "repeat", String(options.repeat)]));
                    results.push(parseProgRun(stdout));
                }
                rows.push({
                    program: file, frame: `${frameName}${note ? `, ${note}` : ""}`,
                    returnValue: results[0].returnValue, runs: results.map((r) => r.nsPerRun),
                    nsPerPacket: median(results.map((r) => r.nsPerRun)),
                });
            }
        }
    }
    return {
        repeat: options.repeat, rows, prefixes,
        argv: ["bpftool", "prog", "run", "pinned", "PIN", "data_in", "FRAME", "repeat", String(options.repeat)],
    };
}
