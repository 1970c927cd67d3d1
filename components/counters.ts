// Live counters of the programs in bpf/, read from their maps by id (the stack's xdpMapIds and
// xdpIngressMapIds outputs).
import {
    IsnSlot, MapEntry, StatsProtocol, isnCounters, kernelObjectName, prefixDrops, statsCounters, verdictCounters,
} from "../provider/bpf";
import { dumpMap } from "../provider/xdp-attachment";

export interface XdpCounters {
    /** xdp_stats.c: packets and bytes per protocol. */
    stats?: Record<StatsProtocol, { packets: number; bytes: number }>;
    /** xdp_droplist.c: packets passed and dropped. */
    verdicts?: { passed: number; dropped: number };
    /** xdp_droplist.c: drops per destination prefix (IPv4 and IPv6). */
    dropsByPrefix?: Record<string, number>;
    /** xdp_isn_egress.c and xdp_isn_ingress.c: segments seen, flows, rewritten, by checksum kind. */
    isnEgress?: Record<IsnSlot, number>;
    isnIngress?: Record<IsnSlot, number>;
}

/** Reads whichever of our programs' maps the attachment has; maps it does not know are ignored. */
export async function readCounters(hostNetns: string | undefined, mapIds: Record<string, number>): Promise<XdpCounters> {
    const ctx = { resource: "XDP counters", netns: hostNetns || undefined };
    const dump = (name: string): Promise<MapEntry[]> | undefined => {
        const id = mapIds[kernelObjectName(name)];
        return id === undefined ? undefined : dumpMap(ctx, id);
    };
    const [stats, verdicts, drops, drops6, isnEgress, isnIngress] = await Promise.all([dump("stats"), dump("verdicts"),
        dump("drop_prefixes"), dump("drop_prefixes6"), dump("isn_egress_counters"), dump("isn_ingress_counters")]);
    return {
        stats: stats && statsCounters(stats),
        verdicts: verdicts && verdictCounters(verdicts),
        dropsByPrefix: (drops || drops6) && prefixDrops([...drops ?? [], ...drops6 ?? []]),
        isnEgress: isnEgress && isnCounters(isnEgress),
        isnIngress: isnIngress && isnCounters(isnIngress),
    };
}

/** Packets the program has seen in all: every protocol of xdp_stats, or passed + dropped of the drop-list. */
export function packetsSeen(counters: XdpCounters): number {
    if (counters.stats) return Object.values(counters.stats).reduce((sum, c) => sum + c.packets, 0);
    return counters.verdicts ? counters.verdicts.passed + counters.verdicts.dropped : 0;
}

/** Every counter by a label, e.g. "stats tcp packets", "drops 198.19.1.0/24", "isn egress rewritten". */
export function labelledCounters(counters: XdpCounters): [string, number][] {
    const rows: [string, number][] = [];
    for (const [protocol, c] of Object.entries(counters.stats ?? {})) {
        rows.push([`stats ${protocol} packets`, c.packets], [`stats ${protocol} bytes`, c.bytes]);
    }
    if (counters.verdicts) rows.push(["verdicts passed", counters.verdicts.passed], ["verdicts dropped", counters.verdicts.dropped]);
    for (const [prefix, drops] of Object.entries(counters.dropsByPrefix ?? {})) rows.push([`drops ${prefix}`, drops]);
    for (const [direction, isn] of [["egress", counters.isnEgress], ["ingress", counters.isnIngress]] as const) {
        for (const [slot, value] of Object.entries(isn ?? {})) rows.push([`isn ${direction} ${slot}`, value]);
    }
    return rows;
}
