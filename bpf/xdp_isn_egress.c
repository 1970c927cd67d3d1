// SPDX-License-Identifier: GPL-2.0
// TCP initial sequence number modulation, egress half (the seed's example, after OpenBSD pf's
// "modulate state"): a SYN leaving the namespace gets a random offset for its flow, kept in the
// pinned isn_offsets map, and every segment of the flow leaves with its sequence number shifted by
// it. The socket never learns: xdp_isn_ingress.c shifts the replies' acknowledgements back.
// Attach to the outer veth end, which receives the namespace's egress.
#include "isn.h"

ISN_COUNTERS(isn_egress_counters);

SEC("xdp")
int xdp_isn_egress(struct xdp_md *ctx)
{
	struct isn_packet pkt;
	struct isn_flow flow;
	__u32 *offset;
	int full;

	if (isn_flow_of(ctx, &isn_egress_counters, 1, &pkt, &flow) < 0)
		return XDP_PASS;
	if (pkt.tcp->syn && !pkt.tcp->ack) {
		/* A retransmitted SYN keeps the flow's offset (NOEXIST), or its SYN-ACK would not match. */
		__u32 fresh = bpf_get_prandom_u32() | 1;

		if (bpf_map_update_elem(&isn_offsets, &flow, &fresh, BPF_NOEXIST) == 0)
			isn_count(&isn_egress_counters, ISN_FLOWS);
	}
	offset = bpf_map_lookup_elem(&isn_offsets, &flow);
	if (!offset)
		return XDP_PASS;
	full = !isn_csum_partial(&pkt);
	isn_shift(&pkt, &pkt.tcp->seq, 0, *offset, full);
	isn_count_rewrite(&isn_egress_counters, full);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
