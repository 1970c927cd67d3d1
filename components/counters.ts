// Live counters of the programs in bpf/, read from their maps by id (the stack's xdpMapIds output).
import { MapEntry, StatsProtocol, prefixDrops, statsCounters, verdictCounters } from "../provider/bpf";
import { dumpMap } from "../provider/xdp-attachment";

export interface XdpCounters {
    /** xdp_stats.c: packets and bytes per protocol. */
    stats?: Record<StatsProtocol, { packets: number; bytes: number }>;
    /** xdp_droplist.c: packets passed and dropped. */
    verdicts?: { passed: number; dropped: number };
    /** xdp_droplist.c: drops per destination prefix (IPv4 and IPv6). */
    dropsByPrefix?: Record<string, number>;
}

/** Reads whichever of our programs' maps the attachment has; maps it does not know are ignored. */
export async function readCounters(hostNetns: string | undefined, mapIds: Record<string, number>): Promise<XdpCounters> {
    const ctx = { resource: "XDP counters", netns: hostNetns || undefined };
    const dump = (name: string): Promise<MapEntry[]> | undefined =>
        mapIds[name] === undefined ? undefined : dumpMap(ctx, mapIds[name]);
    const [stats, verdicts, drops, drops6] = await Promise.all(
        [dump("stats"), dump("verdicts"), dump("drop_prefixes"), dump("drop_prefixes6")]);
    return {
        stats: stats && statsCounters(stats),
        verdicts: verdicts && verdictCounters(verdicts),
        dropsByPrefix: (drops || drops6) && prefixDrops([...drops ?? [], ...drops6 ?? []]),
    };
}

/** Packets the program has seen in all: every protocol of xdp_stats, or passed + dropped of the drop-list. */
export function packetsSeen(counters: XdpCounters): number {
    if (counters.stats) return Object.values(counters.stats).reduce((sum, c) => sum + c.packets, 0);
    return counters.verdicts ? counters.verdicts.passed + counters.verdicts.dropped : 0;
}
