// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Bench sink: XDP on the veth that stands for the remote gateway.  It drops
 * every frame and counts what it was, so a figure only counts packets that
 * really went through the gateway the way the case says:
 *
 *   SINK_VXLAN  VXLAN to the expected outer destination, port and VNI,
 *               carrying the generator's packet (inner src and dst checked)
 *   SINK_RAW    the generator's packet itself, not encapsulated (the bare
 *               redirect case)
 *   SINK_OTHER  anything else (ND, stray traffic, malformed encapsulation)
 *
 * sink_tc is the same sink at TC ingress, for runs that want every case to
 * reach the sink as an skb (see e2e.sh, E2E_SINK).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

enum { SINK_VXLAN, SINK_RAW, SINK_OTHER, SINK_MAX };

const volatile __u32 outer_daddr = 0;	/* network order */
const volatile __u16 vxlan_port = 0;	/* network order */
const volatile __u32 vni = 0;		/* host order */
const volatile __u32 inner_saddr = 0;	/* network order */
const volatile __u32 inner_net = 0;	/* network order, with inner_mask */
const volatile __u32 inner_mask = 0;

struct sink_vxlanhdr {
	__be32 flags;
	__be32 vni;
};

/* Frames per outcome above.  bench_e2e reads and sums it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SINK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sink_cnt SEC(".maps");

static __always_inline int gen_packet(struct cursor *c)
{
	struct ethhdr *eth;
	struct iphdr *ip;

	if (parse_eth(c, &eth) != bpf_htons(ETH_P_IP) ||
	    parse_ipv4(c, &ip) != IPPROTO_UDP)
		return 0;
	return ip->saddr == inner_saddr &&
	       (ip->daddr & inner_mask) == inner_net;
}

static __always_inline int classify(struct cursor *c)
{
	struct cursor inner;
	struct sink_vxlanhdr *vx;
	struct ethhdr *eth;
	struct udphdr *udp;
	struct iphdr *ip;

	inner = *c;
	if (gen_packet(&inner))
		return SINK_RAW;
	if (parse_eth(c, &eth) != bpf_htons(ETH_P_IP) ||
	    parse_ipv4(c, &ip) != IPPROTO_UDP || ip->daddr != outer_daddr ||
	    parse_udp(c, (void *)ip + bpf_ntohs(ip->tot_len), &udp) < 0 ||
	    udp->dest != vxlan_port)
		return SINK_OTHER;
	vx = c->pos;
	if ((void *)(vx + 1) > c->end || vx->flags != bpf_htonl(0x08000000) ||
	    vx->vni != bpf_htonl(vni << 8))
		return SINK_OTHER;
	c->pos = vx + 1;
	return gen_packet(c) ? SINK_VXLAN : SINK_OTHER;
}

static __always_inline void count(void *data, void *end)
{
	struct cursor c = { .pos = data, .end = end };
	__u32 key = classify(&c);
	__u64 *n = bpf_map_lookup_elem(&sink_cnt, &key);

	if (n)
		*n += 1;
}

SEC("xdp")
int sink_xdp(struct xdp_md *ctx)
{
	count((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_DROP;
}

SEC("tc")
int sink_tc(struct __sk_buff *skb)
{
	count((void *)(long)skb->data, (void *)(long)skb->data_end);
	return 2;	/* TC_ACT_SHOT */
}
