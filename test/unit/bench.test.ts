import { expect } from "chai";
import { icmpEchoFrame, tcpSegmentFrame } from "../../bench/frames";
import { ticks } from "../../bench/plot";
import { ratioToBaseline } from "../../bench/report";
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
