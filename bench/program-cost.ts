// Program cost: every program in bpf/ under BPF_PROG_TEST_RUN (`bpftool prog run ... repeat N`) with
// realistic frames. Programs and maps are pinned in a bpffs mounted on a temporary directory for the
// run only (never under /sys/fs/bpf), then unpinned and unmounted, also on failure.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { clangArgv, hexArgs, lpmKey, readBpfObject } from "../provider/bpf";
import { run } from "../provider/runner";
import { icmpEchoFrame, tcpSegmentFrame } from "./frames";
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

export async function measureProgramCost(projectRoot: string, options: { repeat: number; runs: number }): Promise<ProgramCost> {
    const work = mkdtempSync(path.join(tmpdir(), "egress-xdp-bench-progs-"));
    const bpffs = path.join(work, "bpffs");
    const rows: ProgramCostRow[] = [];
    let mounted = false;
    try {
        mkdirSync(bpffs);
        await run(ctx, ["mount", "-t", "bpf", "bpf", bpffs]);
        mounted = true;
        const frames: Record<string, (destination: string) => Buffer> = {
            "TCP segment, 1514 B": (d) => tcpSegmentFrame(source, d),
            "ICMP echo, 98 B": (d) => icmpEchoFrame(source, d),
        };
        const sources = readdirSync(path.join(projectRoot, "bpf")).filter((f) => f.endsWith(".c")).sort();
        for (const file of sources) {
            const name = path.basename(file, ".c");
            const object = path.join(work, `${name}.o`);
            await run(ctx, clangArgv(path.join(projectRoot, "bpf", file), object));
            const pin = path.join(bpffs, name);
            const maps = path.join(bpffs, `${name}-maps`);
            await run(ctx, ["bpftool", "prog", "load", object, pin, "pinmaps", maps]);
            const hasDropList = readBpfObject(readFileSync(object)).maps.includes("drop_prefixes");
            if (hasDropList) {
                for (const cidr of prefixes) {
                    await run(ctx, ["bpftool", "map", "update", "pinned", path.join(maps, "drop_prefixes"),
                        "key", "hex", ...hexArgs(lpmKey(cidr)), "value", "hex", ...hexArgs(Buffer.alloc(8))]);
                }
            }
            const destinations: [string, string][] = hasDropList
                ? [[unmatched, "not listed"], [matched, "listed"]] : [[unmatched, ""]];
            for (const [frameName, frame] of Object.entries(frames)) {
                for (const [destination, note] of destinations) {
                    const data = path.join(work, "frame.bin");
                    writeFileSync(data, frame(destination));
                    const results = [];
                    for (let i = 0; i < options.runs; i++) {
                        const { stdout } = await run(ctx, ["bpftool", "prog", "run", "pinned", pin, "data_in", data,
                            "repeat", String(options.repeat)]);
                        results.push(parseProgRun(stdout));
                    }
                    rows.push({
                        program: file, frame: `${frameName}${note ? `, destination ${note}` : ""}`,
                        returnValue: results[0].returnValue, runs: results.map((r) => r.nsPerRun),
                        nsPerPacket: median(results.map((r) => r.nsPerRun)),
                    });
                }
            }
        }
    } finally {
        // Unmounting drops the pins, and with them the programs and maps.
        if (mounted) await run(ctx, ["umount", bpffs]);
        rmSync(work, { recursive: true, force: true });
    }
    return {
        repeat: options.repeat, rows, prefixes,
        argv: ["bpftool", "prog", "run", "pinned", "PIN", "data_in", "FRAME", "repeat", String(options.repeat)],
    };
}
