import { expect } from "chai";
import { pairedByFamily } from "../../bench/family";
import { icmpEchoFrame, tcpSegmentFrame } from "../../bench/frames";
import { PathLatency, PingSeries, pingArgv } from "../../bench/latency";
import { ticks } from "../../bench/plot";
import { BenchResults, ipv4View, latencyTable, ratioToBaseline, throughputTable } from "../../bench/report";
import { ThroughputResult, iperf3ClientArgv } from "../../bench/throughput";
import {
    histogram, median, pairedDifference, parseIperf3Receiver, parsePingRtts, parsePingTransmitted, parseProgRun, percentile, summarize,
} from "../../bench/stats";

// Trimmed from real output on this machine.
const pingOutput = `PING 198.19.0.1 (198.19.0.1) 56(84) bytes of data.
64 bytes from 198.19.0.1: icmp_seq=1 ttl=63 time=0.123 ms
64 bytes from 198.19.0.1: icmp_seq=2 ttl=63 time=0.012 ms
64 bytes from 198.19.0.1: icmp_seq=4 ttl=63 time=0.009 ms

--- 198.19.0.1 ping statistics ---
4 packets transmitted, 3 received, 25% packet loss, time 3ms
rtt min/avg/max/mdev = 0.009/0.048/0.123/0.053 ms, ipg/ewma 0.014/0.009 ms`;

// ping -6 in an IPv6 lab on this machine; the unreachable line is from a ping to an unrouted address.
const ping6Output = `PING 2001:db8:0:2::1(2001:db8:0:2::1) 56 data bytes
64 bytes from 2001:db8:0:2::1: icmp_seq=1 ttl=64 time=0.116 ms
64 bytes from 2001:db8:0:2::1: icmp_seq=2 ttl=64 time=0.007 ms
From 2001:db8:0:1::2 icmp_seq=3 Destination unreachable: No route
64 bytes from 2001:db8:0:2::1: icmp_seq=4 ttl=64 time=0.020 ms

--- 2001:db8:0:2::1 ping statistics ---
4 packets transmitted, 3 received, +1 errors, 25% packet loss, time 0ms
rtt min/avg/max/mdev = 0.007/0.047/0.116/0.049 ms, ipg/ewma 0.052/0.081 ms`;

/** A latency row with `rtts` as its samples. */
function pathLatency(label: string, family: 4 | 6, rtts: number[], lost = 0): PathLatency {
    const mean = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    return { path: { label, netns: "ns", family }, rtts, lost, roundMeans: [mean], summary: summarize(rtts) };
}

/** The ones' complement sum over a header that carries its checksum: 0xffff when the checksum is right. */
function onesSum(bytes: Buffer): number {
    let sum = 0;
    for (let at = 0; at < bytes.length; at += 2) sum += (bytes[at] << 8) + (bytes[at + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    return sum;
}

describe("benchmark helpers (pure)", function () {
    it("parses per-reply RTTs and the sent count from ping", function () {
        expect(parsePingRtts(pingOutput)).to.deep.equal([0.123, 0.012, 0.009]);
        expect(parsePingTransmitted(pingOutput)).to.equal(4);
        expect(() => parsePingTransmitted("ping: connect: Network is unreachable")).to.throw(/no summary/);
    });

    it("parses ping -6: replies from the IPv6 server only, the sent count from the summary", function () {
        expect(parsePingRtts(ping6Output)).to.deep.equal([0.116, 0.007, 0.02]);
        expect(parsePingTransmitted(ping6Output)).to.equal(4);
    });

    it("asks ping and iperf3 for IPv6 explicitly, and leaves the IPv4 argv as it was", function () {
        expect(pingArgv("198.19.0.1", 0.001, 10)).to.deep.equal(["ping", "-n", "-i", "0.001", "-c", "10", "-W", "1", "198.19.0.1"]);
        expect(pingArgv("2001:db8:0:2::1", 0.001, 10, 6))
            .to.deep.equal(["ping", "-6", "-n", "-i", "0.001", "-c", "10", "-W", "1", "2001:db8:0:2::1"]);
        expect(iperf3ClientArgv("198.19.0.1", 5)).to.deep.equal(["iperf3", "-c", "198.19.0.1", "-t", "5", "-J", "--connect-timeout", "3000"]);
        expect(iperf3ClientArgv("2001:db8:0:2::1", 5, 6).slice(0, 3)).to.deep.equal(["iperf3", "-6", "-c"]);
    });

    it("puts each IPv6 row under its IPv4 twin; IPv6 rows without one come last", function () {
        const rows = [
            { label: "a" }, { label: "b", family: 4 as const }, { label: "c" }, { label: "x", family: 6 as const },
            { label: "c", family: 6 as const }, { label: "a", family: 6 as const },
        ];
        expect(pairedByFamily(rows, (r) => r).map((r) => `${r.label}${r.family ?? 4}`)).to.deep.equal(["a4", "a6", "b4", "c4", "c6", "x6"]);
    });

    it("latency table: a family column, IPv6 twins beside IPv4, added over direct of the same family", function () {
        const series: PingSeries = {
            interval: 0.001, count: 2, rounds: 1, argv: { 4: [], 6: [] }, paths: [
                pathLatency("direct", 4, [0.002, 0.002]), pathLatency("egress", 4, [0.005, 0.005]),
                pathLatency("direct", 6, [0.003, 0.003]), pathLatency("egress", 6, [0.007, 0.007], 1),
            ],
        };
        const rows = latencyTable(series).split("\n").slice(2).map((line) => line.split(" | ").map((cell) => cell.replace(/^\| | \|$/g, "")));
        expect(rows.map((row) => row.slice(0, 4))).to.deep.equal([
            ["direct", "IPv4", "2", "0"], ["direct", "IPv6", "2", "0"], ["egress", "IPv4", "2", "0"], ["egress", "IPv6", "2", "1"],
        ]);
        expect(rows.map((row) => row[8]), "added mean ms").to.deep.equal(["0.0000", "0.0000", "0.0030", "0.0040"]);
    });

    it("throughput table: × baseline over the same family's baseline (its first case), same round", function () {
        const row = (label: string, family: 4 | 6, bps: number[], programView?: ThroughputResult["programView"]): ThroughputResult =>
            ({ label, family, bitsPerSecond: bps, median: median(bps), programView });
        const rows = [
            row("baseline", 4, [10e9, 20e9]), row("egress", 4, [5e9, 10e9], { packets: 2, bytes: 3000 }),
            row("baseline", 6, [8e9, 4e9]), row("egress", 6, [6e9, 3e9], { packets: 4, bytes: 5760 }),
        ];
        const lines = throughputTable(rows).split("\n");
        expect(lines[0]).to.equal("| path | family | Gbit/s (median) | runs | × baseline | program calls (TCP) | bytes per call |");
        expect(lines.slice(2)).to.deep.equal([
            "| baseline | IPv4 | 15.00 | 10.00, 20.00 | 1.00 | — | — |",
            "| baseline | IPv6 | 6.00 | 8.00, 4.00 | 1.00 | — | — |",
            "| egress | IPv4 | 7.50 | 5.00, 10.00 | 0.50 | 2 | 1,500 |",
            "| egress | IPv6 | 4.50 | 6.00, 3.00 | 0.75 | 4 | 1,440 |",
        ]);
    });

    it("keeps the goals and the prose to the IPv4 rows", function () {
        const v6 = { label: "egress", family: 6 as const, bitsPerSecond: [1], median: 1 };
        const v4 = { label: "egress", bitsPerSecond: [2], median: 2 };
        const series = (paths: PathLatency[]): PingSeries => ({ interval: 1, count: 1, rounds: 1, argv: { 4: [] }, paths });
        const results = {
            throughput: [v4, v6], latency: series([pathLatency("d", 6, [1]), pathLatency("d", 4, [2])]),
            spacedLatency: series([pathLatency("d", 6, [1])]),
        } as unknown as BenchResults;
        const view = ipv4View(results);
        expect(view.throughput).to.deep.equal([v4]);
        expect(view.latency.paths.map((p) => p.summary.mean)).to.deep.equal([2]);
        expect(view.spacedLatency.paths).to.deep.equal([]);
    });

    it("reads the receiver's throughput from iperf3 -J and reports iperf3's errors", function () {
        expect(parseIperf3Receiver(JSON.stringify({ end: { sum_received: { bits_per_second: 1.3e10 } } }))).to.equal(1.3e10);
        expect(() => parseIperf3Receiver(JSON.stringify({ error: "unable to connect to server" }))).to.throw(/unable to connect/);
        expect(() => parseIperf3Receiver("{}")).to.throw(/no received throughput/);
    });

    it("reads bpftool prog run's return value and mean duration", function () {
        expect(parseProgRun("Return value: 2, duration (average): 23ns\n")).to.deep.equal({ returnValue: 2, nsPerRun: 23 });
        expect(() => parseProgRun("Error: failed to run program")).to.throw(/no result/);
    });

    it("summarizes samples: nearest-rank percentiles, mean, median", function () {
        const values = Array.from({ length: 100 }, (_, i) => i + 1);
        expect(percentile(values, 0.5)).to.equal(50);
        expect(percentile(values, 0.99)).to.equal(99);
        expect(summarize([3, 1, 2])).to.deep.include({ count: 3, mean: 2, p50: 2, min: 1, max: 3 });
        expect(median([4, 1, 3, 2])).to.equal(2.5);
        expect(median([5, 1, 3])).to.equal(3);
    });

    it("compares two series pair by pair: mean difference and its standard error", function () {
        expect(pairedDifference([3, 5, 7], [1, 3, 5])).to.deep.equal({ mean: 2, standardError: 0 });
        const { mean, standardError } = pairedDifference([2, 4], [1, 1]);
        expect(mean).to.equal(2);
        expect(standardError).to.be.closeTo(1, 1e-12);
        expect(pairedDifference([5], [4])).to.deep.equal({ mean: 1, standardError: 0 });
    });

    it("compares throughput with the baseline of the same round", function () {
        const baseline = { label: "b", bitsPerSecond: [10, 20, 8], median: 10 };
        const row = { label: "x", bitsPerSecond: [9, 20, 10], median: 10 };
        expect(ratioToBaseline(row, baseline)).to.equal(1);
    });

    it("bins values, clamping the outliers into the end bins", function () {
        expect(histogram([-3, 0, 0.4, 1, 1.6, 9], -0.5, 2.5, 3)).to.deep.equal([3, 1, 2]);
    });

    it("picks round axis ticks", function () {
        expect(ticks(36)).to.deep.equal([0, 10, 20, 30]);
        expect(ticks(100, 4)).to.deep.equal([0, 50, 100]);
    });

    it("builds an ICMP echo and a full-size TCP frame with correct IPv4 and L4 checksums", function () {
        const icmp = icmpEchoFrame("10.0.0.2", "198.19.0.1");
        expect(icmp.length).to.equal(98);
        expect(icmp.readUInt16BE(12)).to.equal(0x0800);
        expect(onesSum(icmp.subarray(14, 34))).to.equal(0xffff);
        expect(icmp[23]).to.equal(1);
        expect(onesSum(icmp.subarray(34))).to.equal(0xffff);
        expect([...icmp.subarray(30, 34)]).to.deep.equal([198, 19, 0, 1]);

        const tcp = tcpSegmentFrame("10.0.0.2", "198.19.1.1");
        expect(tcp.length).to.equal(1514);
        expect(tcp[23]).to.equal(6);
        expect(onesSum(tcp.subarray(14, 34))).to.equal(0xffff);
        const segment = tcp.subarray(34);
        const pseudo = Buffer.concat([tcp.subarray(26, 34), Buffer.from([0, 6, segment.length >> 8, segment.length & 0xff])]);
        expect(onesSum(Buffer.concat([pseudo, segment]))).to.equal(0xffff);
    });
});
