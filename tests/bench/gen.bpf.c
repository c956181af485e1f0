// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Bench traffic generator, run by bench_e2e through BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES: every run of the program turns one page-pool
 * frame into a UDP packet from pod 10.1.0.11 to a remote pod and redirects it
 * into the generator's veth, whose peer is the gateway's cluster side.
 *
 * Live frames are recycled without their bytes being restored, and the
 * gateway rewrites them in place (TTL, MACs; the pages come back to this
 * pool), so the program writes every header byte it relies on, every time.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "csum.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 tx_ifindex = 0;	/* generator's veth */
const volatile __u8 dmac[ETH_ALEN] = {};	/* gateway's cluster side */
const volatile __u8 smac[ETH_ALEN] = {};
const volatile __u32 saddr = 0;		/* host order */
const volatile __u32 daddr_base = 0;	/* host order; + flow / ports */
const volatile __u32 n_flows = 1024;	/* power of two */
const volatile __u16 dport = 5201;

#define GEN_PORTS	4		/* source ports per destination pod */
#define GEN_SPORT	40000

__u32 seq;	/* one generator thread: no atomics needed */

SEC("xdp")
int gen_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 flow = seq++ & (n_flows - 1);
	__u16 len = end - (void *)ip;

	if ((void *)(udp + 1) > end)
		return XDP_ABORTED;

	/* Byte by byte: a memcpy would fold the initial (zero) .rodata. */
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = dmac[i];
		eth->h_source[i] = smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(len);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = bpf_htonl(saddr);
	ip->daddr = bpf_htonl(daddr_base + flow / GEN_PORTS);
	ip->check = csum_fold(ipv4_hdr_sum(ip));

	udp->source = bpf_htons(GEN_SPORT + flow % GEN_PORTS);
	udp->dest = bpf_htons(dport);
	udp->len = bpf_htons(len - sizeof(*ip));
	udp->check = 0;

	return bpf_redirect(tx_ifindex, 0);
}
