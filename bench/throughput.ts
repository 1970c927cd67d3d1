// Throughput: one iperf3 TCP stream from a client namespace to an iperf3 server in the upstream, per
// case, in interleaved rounds; the median of the rounds is reported.
import { run } from "../provider/runner";
import { Family, rowFamily } from "./family";
import { median, parseIperf3Receiver } from "./stats";

/** What the XDP program saw of the TCP traffic: calls and bytes (from xdp_stats's counters). */
export interface ProgramView {
    packets: number;
    bytes: number;
}

export interface ThroughputCase {
    label: string;
    clientNetns: string;
    server: string;
    /** 4 (the default) or 6: iperf3 -6 to the server's IPv6 address. */
    family?: Family;
    /** Brings the path into this case's state before each run (e.g. attaches a program). */
    before?: () => Promise<void>;
    after?: () => Promise<void>;
    /** The program's TCP counters, read before and after the runs. */
    tcpCounters?: () => Promise<ProgramView>;
}

export interface ThroughputResult {
    label: string;
    family?: Family;
    bitsPerSecond: number[];
    median: number;
    /** TCP packets and bytes the program was called with during this case's runs. */
    programView?: ProgramView;
}

export function iperf3ClientArgv(server: string, seconds: number, family: Family = 4): string[] {
    return ["iperf3", ...(family === 6 ? ["-6"] : []), "-c", server, "-t", String(seconds), "-J", "--connect-timeout", "3000"];
}

export async function measureThroughput(cases: ThroughputCase[], options: { seconds: number; rounds: number }):
    Promise<ThroughputResult[]> {
    const samples = new Map<ThroughputCase, number[]>(cases.map((c) => [c, []]));
    const views = new Map<ThroughputCase, ProgramView>();
    for (let round = 0; round < options.rounds; round++) {
        for (const c of cases) {
            await c.before?.();
            const start = await c.tcpCounters?.();
            const result = await run({ resource: `bench iperf3 ${c.label}`, netns: c.clientNetns },
                ["timeout", String(options.seconds + 20), ...iperf3ClientArgv(c.server, options.seconds, rowFamily(c))]);
            samples.get(c)!.push(parseIperf3Receiver(result.stdout));
            const end = await c.tcpCounters?.();
            if (start && end) {
                const sum = views.get(c) ?? { packets: 0, bytes: 0 };
                views.set(c, { packets: sum.packets + end.packets - start.packets, bytes: sum.bytes + end.bytes - start.bytes });
            }
            await c.after?.();
        }
    }
    return cases.map((c) => ({
        label: c.label, family: c.family, bitsPerSecond: samples.get(c)!, median: median(samples.get(c)!), programView: views.get(c),
    }));
}
