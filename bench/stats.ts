// Pure helpers of the benchmark: summary statistics and parsers of what ping, iperf3 and bpftool print.

export interface Summary {
    count: number;
    mean: number;
    p50: number;
    p99: number;
    min: number;
    max: number;
}

/** The value below which `fraction` of the sorted samples fall (nearest rank). */
export function percentile(sorted: number[], fraction: number): number {
    if (sorted.length === 0) return NaN;
    const rank = Math.ceil(fraction * sorted.length);
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function summarize(values: number[]): Summary {
    const sorted = [...values].sort((a, b) => a - b);
    const sum = sorted.reduce((total, v) => total + v, 0);
    return {
        count: sorted.length, mean: sorted.length > 0 ? sum / sorted.length : NaN,
        p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN,
    };
}

/** Per-reply round-trip times in ms from ping's normal output (`... icmp_seq=7 ttl=63 time=0.045 ms`). */
export function parsePingRtts(output: string): number[] {
    const rtts: number[] = [];
    for (const match of output.matchAll(/icmp_seq=\d+ ttl=\d+ time=([0-9.]+) ms/g)) rtts.push(Number(match[1]));
    return rtts;
}

/** Packets sent according to ping's summary line. */
export function parsePingTransmitted(output: string): number {
    const match = /(\d+) packets transmitted/.exec(output);
    if (!match) throw new Error(`ping printed no summary: ${output.slice(-300)}`);
    return Number(match[1]);
}

/** Received bits per second of an iperf3 TCP test (`iperf3 -J` client output). */
export function parseIperf3Receiver(json: string): number {
    const parsed = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
    if (parsed.error) throw new Error(`iperf3: ${parsed.error}`);
    const bps = parsed.end?.sum_received?.bits_per_second;
    if (typeof bps !== "number") throw new Error("iperf3 reported no received throughput");
    return bps;
}

/** `bpftool prog run ... repeat N` prints the program's return value and the mean run time. */
export function parseProgRun(output: string): { returnValue: number; nsPerRun: number } {
    const value = /Return value: (\d+)/.exec(output);
    const duration = /duration \(average\): (\d+)ns/.exec(output);
    if (!value || !duration) throw new Error(`bpftool prog run printed no result: ${output.trim()}`);
    return { returnValue: Number(value[1]), nsPerRun: Number(duration[1]) };
}

/** Counts of `values` in `bins` equal bins from `low` to `high`; values outside are clamped into the end bins. */
export function histogram(values: number[], low: number, high: number, bins: number): number[] {
    const counts = new Array<number>(bins).fill(0);
    const width = (high - low) / bins;
    for (const value of values) {
        counts[Math.min(bins - 1, Math.max(0, Math.floor((value - low) / width)))]++;
    }
    return counts;
}

/**
 * The mean of paired differences a[i] - b[i] and its standard error (0 with one pair): how far apart
 * two series measured side by side are, and how much of that the pair-to-pair noise could explain.
 */
export function pairedDifference(a: number[], b: number[]): { mean: number; standardError: number } {
    const diffs = a.map((value, i) => value - b[i]);
    const mean = diffs.reduce((sum, d) => sum + d, 0) / diffs.length;
    if (diffs.length < 2) return { mean, standardError: 0 };
    const variance = diffs.reduce((sum, d) => sum + (d - mean) ** 2, 0) / (diffs.length - 1);
    return { mean, standardError: Math.sqrt(variance / diffs.length) };
}
