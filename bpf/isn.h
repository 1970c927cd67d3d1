// SPDX-License-Identifier: GPL-2.0
// Shared by xdp_isn_egress.c and xdp_isn_ingress.c: the flow table that ties a TCP flow to its
// initial-sequence-number offset, the packet parser, and the checksum arithmetic.
//
// The egress program runs on the outer veth end (it receives the namespace's outgoing packets before
// NAT), the ingress program on the inner end (it receives replies after NAT is undone), so both see
// the flow by the namespace's own addresses: egress as (inner -> remote), ingress reversed.
#ifndef EGRESS_XDP_ISN_H
#define EGRESS_XDP_ISN_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* A flow as the namespace sees it: its own address and port first, all in network order. */
struct isn_flow {
	__u32 local_addr;
	__u32 remote_addr;
	__u16 local_port;
	__u16 remote_port;
};

/* Pinned by name, so the two programs (loaded separately) open one map, and a swap keeps it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct isn_flow);
	__type(value, __u32); /* the offset added to the flow's sequence numbers, host order */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} isn_offsets SEC(".maps");

/* Counter slots of each program's isn_*_counters map; provider/bpf.ts (isnCounterSlots) reads them in this order. */
enum isn_slot {
	ISN_TCP,           /* TCP segments seen */
	ISN_FLOWS,         /* egress: SYNs that got a new offset */
	ISN_REWRITTEN,     /* segments whose numbers were shifted */
	ISN_CSUM_FULL,     /* ... whose checksum was complete, so it was updated */
	ISN_CSUM_PARTIAL,  /* ... whose checksum the kernel fills in later (CHECKSUM_PARTIAL), left alone */
	ISN_SLOT_COUNT,
};

#define ISN_COUNTERS(name)                            \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, ISN_SLOT_COUNT);  \
		__type(key, __u32);                   \
		__type(value, __u64);                 \
	} name SEC(".maps")

static __always_inline void isn_count(void *counters, __u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(counters, &slot);

	if (value)
		*value += 1;
}

struct isn_packet {
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u32 tcp_len; /* header and payload, from the IP total length */
};

/* Parses Ethernet / IPv4 / TCP with the whole TCP header (options too) inside the packet. */
static __always_inline int isn_parse(struct xdp_md *ctx, struct isn_packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp;
	__u32 ihl, tot_len;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_TCP)
		return -1;
	/* Not a first fragment: no TCP header here. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return -1;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return -1;
	tcp = (void *)ip + ihl;
	if ((void *)(tcp + 1) > data_end || (void *)tcp + tcp->doff * 4 > data_end || tcp->doff < 5)
		return -1;
	tot_len = bpf_ntohs(ip->tot_len);
	/* A GSO packet above 64 KiB (BIG TCP) has tot_len 0; leave it alone rather than guess. */
	if (tot_len < ihl + tcp->doff * 4)
		return -1;
	pkt->ip = ip;
	pkt->tcp = tcp;
	pkt->tcp_len = tot_len - ihl;
	return 0;
}

/*
 * Parses the packet; for TCP counts it and fills in its flow as the namespace sees it (`egress`: the
 * namespace sends it, its source is local; otherwise it enters the namespace). -1 for anything else.
 */
static __always_inline int isn_flow_of(struct xdp_md *ctx, void *counters, int egress, struct isn_packet *pkt,
				       struct isn_flow *flow)
{
	if (isn_parse(ctx, pkt) < 0)
		return -1;
	isn_count(counters, ISN_TCP);
	flow->local_addr = egress ? pkt->ip->saddr : pkt->ip->daddr;
	flow->remote_addr = egress ? pkt->ip->daddr : pkt->ip->saddr;
	flow->local_port = egress ? pkt->tcp->source : pkt->tcp->dest;
	flow->remote_port = egress ? pkt->tcp->dest : pkt->tcp->source;
	return 0;
}

/* Counts a rewritten segment and how its checksum was handled. */
static __always_inline void isn_count_rewrite(void *counters, int full_csum)
{
	isn_count(counters, ISN_REWRITTEN);
	isn_count(counters, full_csum ? ISN_CSUM_FULL : ISN_CSUM_PARTIAL);
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/*
 * Whether the TCP checksum is still to be filled in by whoever sends the packet on (the skb is
 * CHECKSUM_PARTIAL: the sender's stack left checksumming to the veth's "hardware", and veth passes
 * that on through bridge, NAT and the next veth). Then the field holds the folded pseudo-header sum,
 * not complemented, and the final checksum will be computed over the bytes as we leave them: we must
 * not touch it. XDP sees no skb, so the field itself tells: a complete checksum equals that sum only
 * by chance (about 1 in 65536 segments, which then fails its checksum at the receiver and is resent).
 */
static __always_inline int isn_csum_partial(const struct isn_packet *pkt)
{
	__u32 sum = (pkt->ip->saddr & 0xffff) + (pkt->ip->saddr >> 16) + (pkt->ip->daddr & 0xffff) +
		    (pkt->ip->daddr >> 16) + bpf_htons(IPPROTO_TCP) + bpf_htons(pkt->tcp_len);

	return csum_fold(sum) == pkt->tcp->check;
}

/*
 * RFC 1624 incremental update of a complete checksum for a 32-bit field changed from `from` to `to`
 * (both as stored, network order). `odd` says the field starts at an odd offset in the TCP header:
 * its bytes then fall into the other halves of the 16-bit words, which swaps the delta's bytes.
 */
static __always_inline void csum_replace4(__u16 *check, __u32 from, __u32 to, int odd)
{
	__u32 delta = csum_fold((~from & 0xffff) + (~from >> 16) + (to & 0xffff) + (to >> 16));

	if (odd)
		delta = ((delta & 0xff) << 8) | (delta >> 8);
	*check = ~csum_fold((__u16)~*check + delta);
}

/*
 * Replaces a 32-bit number `at` in the TCP header by number + shift and, when the checksum is complete,
 * updates it; `odd`: `at` lies an odd number of bytes into the header.
 */
static __always_inline void isn_shift(const struct isn_packet *pkt, void *at, int odd, __u32 shift, int full_csum)
{
	__u32 old, new;

	__builtin_memcpy(&old, at, sizeof(old));
	new = bpf_htonl(bpf_ntohl(old) + shift);
	__builtin_memcpy(at, &new, sizeof(new));
	if (full_csum)
		csum_replace4(&pkt->tcp->check, old, new, odd);
}

#endif
