// SPDX-License-Identifier: GPL-2.0
// Egress statistics: counts packets and bytes per protocol on the interface that receives the
// namespace's outgoing traffic, and passes every packet on. Kept to one map lookup per packet.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * Map keys; provider/bpf.ts (statsProtocols) reads them in this order. The IPv6 protocols come last so
 * the older keys keep their numbers; SLOT_IPV6_OTHER counts IPv6 that is none of them (including
 * packets whose first next header is an extension header).
 */
enum stats_slot {
	SLOT_TCP, SLOT_UDP, SLOT_ICMP, SLOT_IPV4_OTHER, SLOT_IPV6_OTHER, SLOT_OTHER,
	SLOT_TCP6, SLOT_UDP6, SLOT_ICMP6, SLOT_COUNT
};

struct counter {
	__u64 packets;
	__u64 bytes;
};

/* Per-CPU, so the hot path needs no atomic instructions; readers sum the CPUs. Pinned by name. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOT_COUNT);
	__type(key, __u32);
	__type(value, struct counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME); /* counters outlive a program swap */
} stats SEC(".maps");

static __always_inline __u32 slot6_of(struct ipv6hdr *ip6, void *data_end)
{
	if ((void *)(ip6 + 1) > data_end)
		return SLOT_IPV6_OTHER;
	switch (ip6->nexthdr) {
	case IPPROTO_TCP:
		return SLOT_TCP6;
	case IPPROTO_UDP:
		return SLOT_UDP6;
	case IPPROTO_ICMPV6:
		return SLOT_ICMP6;
	default:
		return SLOT_IPV6_OTHER;
	}
}

static __always_inline __u32 slot_of(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(eth + 1) > data_end)
		return SLOT_OTHER;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return slot6_of((void *)(eth + 1), data_end);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return SLOT_OTHER;
	if ((void *)(ip + 1) > data_end)
		return SLOT_IPV4_OTHER;
	switch (ip->protocol) {
	case IPPROTO_TCP:
		return SLOT_TCP;
	case IPPROTO_UDP:
		return SLOT_UDP;
	case IPPROTO_ICMP:
		return SLOT_ICMP;
	default:
		return SLOT_IPV4_OTHER;
	}
}

SEC("xdp")
int xdp_stats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 slot = slot_of(data, data_end);
	struct counter *counter = bpf_map_lookup_elem(&stats, &slot);

	if (counter) {
		counter->packets++;
		counter->bytes += data_end - data;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
