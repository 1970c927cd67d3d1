// SPDX-License-Identifier: GPL-2.0
// Egress drop-list: drops IPv4 and IPv6 packets whose destination falls in a listed prefix (one LPM
// trie per family), counting drops per prefix and passed/dropped packets in total. Everything else passes.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* LPM trie key: prefix length in host order, then the address in network order. */
struct ipv4_lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct ipv6_lpm_key {
	__u32 prefixlen;
	struct in6_addr addr;
};

/* The value is the prefix's drop counter; user space fills keys with a zero value. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct ipv4_lpm_key);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} drop_prefixes SEC(".maps");

/* The IPv6 prefixes, the same way (provider/bpf.ts lpmKey writes both key layouts). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct ipv6_lpm_key);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} drop_prefixes6 SEC(".maps");

/* Map keys; provider/bpf.ts (verdictSlots) reads them in this order. */
enum verdict_slot { VERDICT_PASSED, VERDICT_DROPPED, VERDICT_COUNT };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VERDICT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

static __always_inline __u64 *matching_prefix(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct ipv4_lpm_key key = { .prefixlen = 32 };
	struct ipv6_lpm_key key6 = { .prefixlen = 128 };

	if ((void *)(eth + 1) > data_end)
		return NULL;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if ((void *)(ip6 + 1) > data_end)
			return NULL;
		key6.addr = ip6->daddr;
		return bpf_map_lookup_elem(&drop_prefixes6, &key6);
	}
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	key.addr = ip->daddr;
	return bpf_map_lookup_elem(&drop_prefixes, &key);
}

SEC("xdp")
int xdp_droplist(struct xdp_md *ctx)
{
	__u64 *prefix_drops = matching_prefix((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	__u32 slot = prefix_drops ? VERDICT_DROPPED : VERDICT_PASSED;
	__u64 *total = bpf_map_lookup_elem(&verdicts, &slot);

	if (total)
		*total += 1;
	if (!prefix_drops)
		return XDP_PASS;
	/* Shared by all CPUs, hence atomic. */
	__sync_fetch_and_add(prefix_drops, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
