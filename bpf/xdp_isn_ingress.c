// SPDX-License-Identifier: GPL-2.0
// TCP initial sequence number modulation, ingress half: replies entering the namespace carry
// acknowledgement numbers (and SACK blocks) in the sequence space xdp_isn_egress.c made up; this
// program subtracts the flow's offset from them again, so the socket sees its own numbers.
// Attach to the inner veth end, which receives the traffic entering the namespace.
#include "isn.h"

ISN_COUNTERS(isn_ingress_counters);

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_SACK 5
#define TCP_MAX_OPTIONS 40 /* bytes; each pass of the option loop consumes at least one */
#define SACK_MAX_BLOCKS 4

/* Shifts the edges of every SACK block back by `shift`. Options are walked byte by byte, bounded. */
static __always_inline void unshift_sack(const struct isn_packet *pkt, void *data_end, __u32 shift, int full)
{
	__u8 *options = (__u8 *)(pkt->tcp + 1);
	__u32 end = pkt->tcp->doff * 4 - sizeof(struct tcphdr);
	__u32 at = 0;

	for (int pass = 0; pass < TCP_MAX_OPTIONS; pass++) {
		__u8 *option;
		__u8 kind, len;

		if (at >= end)
			return;
		at &= 0x3f; /* tells the verifier what `at < end <= 40` already says */
		option = options + at;
		if ((void *)(option + 1) > data_end)
			return;
		kind = option[0];
		if (kind == TCPOPT_EOL)
			return;
		if (kind == TCPOPT_NOP) {
			at++;
			continue;
		}
		if ((void *)(option + 2) > data_end)
			return;
		len = option[1];
		if (len < 2 || at + len > end)
			return;
		if (kind == TCPOPT_SACK) {
			/* The edges start 2 bytes into the option, 20 + at + 2 bytes into the header. */
			int odd = at & 1;

			for (int block = 0; block < SACK_MAX_BLOCKS; block++) {
				__u8 *edges = option + 2 + block * 8;

				if (2 + block * 8 + 8 > len || (void *)(edges + 8) > data_end)
					break;
				isn_shift(pkt, edges, odd, -shift, full);
				isn_shift(pkt, edges + 4, odd, -shift, full);
			}
		}
		at += len;
	}
}

SEC("xdp")
int xdp_isn_ingress(struct xdp_md *ctx)
{
	struct isn_packet pkt;
	struct isn_flow flow;
	__u32 *offset;
	int full;

	if (isn_flow_of(ctx, &isn_ingress_counters, 0, &pkt, &flow) < 0 || !pkt.tcp->ack)
		return XDP_PASS;
	offset = bpf_map_lookup_elem(&isn_offsets, &flow);
	if (!offset)
		return XDP_PASS;
	full = !isn_csum_partial(&pkt);
	isn_shift(&pkt, &pkt.tcp->ack_seq, 0, -*offset, full);
	unshift_sack(&pkt, (void *)(long)ctx->data_end, *offset, full);
	isn_count_rewrite(&isn_ingress_counters, full);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
