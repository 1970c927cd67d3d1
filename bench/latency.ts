// Latency: per-ping round-trip times from several client namespaces to the same upstream server (its
// IPv4 or, for IPv6 paths, its IPv6 address), measured in interleaved rounds so background load falls
// on every path alike.
import { run } from "../provider/runner";
import { Family, familyName, rowFamily } from "./family";
import { Summary, parsePingRtts, parsePingTransmitted, summarize } from "./stats";

/** Where pings start: a namespace and what it stands for in the tables. */
export interface PingPath {
    label: string;
    netns: string;
    /** 4 (the default) or 6: `ping -6` to the server's IPv6 address. */
    family?: Family;
    /** The label of the path this one copies in a lab of its own (an A/A control of lab-to-lab noise; not plotted). */
    copyOf?: string;
}

export interface PathLatency {
    path: PingPath;
    rtts: number[];
    summary: Summary;
    lost: number;
    /** The mean RTT of each round, for comparing paths round by round. */
    roundMeans: number[];
}

export interface PingSeries {
    /** ping's -i in seconds. */
    interval: number;
    count: number;
    rounds: number;
    paths: PathLatency[];
    /** The exact ping argv per family (without the namespace prefix and with the per-round count). */
    argv: { 4: string[]; 6?: string[] };
}

export function pingArgv(target: string, interval: number, count: number, family: Family = 4): string[] {
    return ["ping", ...(family === 6 ? ["-6"] : []), "-n", "-i", String(interval), "-c", String(count), "-W", "1", target];
}

/**
 * `count` pings per path in `rounds` rounds; each round pings every path once in turn. Observed with
 * iputils: at -i 0.0002 each echo leaves as soon as the previous reply is in (back to back, like -f;
 * 100,000 take a few seconds); at -i 0.001 the echoes are 1 ms apart, as with a slow sender.
 */
export async function measureLatency(paths: PingPath[], targets: { 4: string; 6?: string },
    options: { interval: number; count: number; rounds: number }): Promise<PingSeries> {
    const perRound = Math.ceil(options.count / options.rounds);
    const rtts = new Map<PingPath, number[]>(paths.map((p) => [p, []]));
    const lost = new Map<PingPath, number>(paths.map((p) => [p, 0]));
    const roundMeans = new Map<PingPath, number[]>(paths.map((p) => [p, []]));
    const argv: PingSeries["argv"] = { 4: pingArgv(targets[4], options.interval, perRound) };
    if (paths.some((p) => rowFamily(p) === 6)) {
        if (!targets[6]) throw new Error("IPv6 ping paths need the server's IPv6 address");
        argv[6] = pingArgv(targets[6], options.interval, perRound, 6);
    }
    // Bounded: the expected duration of one round, plus slack.
    const limit = String(Math.ceil(perRound * options.interval * 2 + 20));
    for (let round = 0; round < options.rounds; round++) {
        for (const path of paths) {
            const what = `${path.label} (${familyName(path)})`;
            const result = await run({ resource: `bench ping from ${what}`, netns: path.netns },
                ["timeout", limit, ...argv[rowFamily(path)]!], { allowFailure: true });
            if (result.exitCode !== 0 && result.exitCode !== 1) {
                throw new Error(`ping from ${what} in ${path.netns} failed (exit ${result.exitCode}): ${result.stderr}`);
            }
            const replies = parsePingRtts(result.stdout);
            rtts.get(path)!.push(...replies);
            roundMeans.get(path)!.push(summarize(replies).mean);
            lost.set(path, lost.get(path)! + parsePingTransmitted(result.stdout) - replies.length);
        }
    }
    return {
        interval: options.interval, count: perRound * options.rounds, rounds: options.rounds, argv,
        paths: paths.map((path) => ({
            path, rtts: rtts.get(path)!, summary: summarize(rtts.get(path)!), lost: lost.get(path)!, roundMeans: roundMeans.get(path)!,
        })),
    };
}
