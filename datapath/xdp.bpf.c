// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * meshgate XDP entry: attached to the cluster side and the underlay side
 * (one program for both; a one-arm gateway has a single NIC).
 *
 *   Ethernet -> not IPv4: pass (ARP, IPv6 until dual-stack, ...)
 *   IPv4 to our tunnel address, UDP, VXLAN port -> ingress (tunnel.h)
 *   IPv4 whose destination is a remote endpoint  -> egress (tunnel.h)
 *   anything else                                 -> pass
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tunnel.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int mg_xdp(struct xdp_md *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct mg_ep_val *dst;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct udphdr *udp;
	int proto;

	proto = parse_eth(&c, &eth);
	if (proto < 0)
		return mg_exit(ctx, -proto, XDP_DROP);
	if (proto != bpf_htons(ETH_P_IP))
		return mg_exit(ctx, MG_PASS, XDP_PASS);
	proto = parse_ipv4(&c, &ip);
	if (proto < 0)
		return mg_exit(ctx, -proto, XDP_DROP);

	if (ip->daddr == cfg_tunnel4 && proto == IPPROTO_UDP &&
	    !ipv4_is_later_fragment(ip)) {
		udp = c.pos;
		if ((void *)(udp + 1) > c.end)
			return mg_exit(ctx, MG_DROP_MALFORMED, XDP_DROP);
		if (udp->dest == cfg_vxlan_port) {
			if (ipv4_is_fragment(ip))
				return mg_exit(ctx, MG_DROP_FRAG, XDP_DROP);
			return mg_ingress4(ctx, &c, ip);
		}
		return mg_exit(ctx, MG_PASS, XDP_PASS);
	}

	dst = mg_ep4_lookup(ip->daddr);
	if (!dst || (dst->flags & MG_EP_F_LOCAL))
		return mg_exit(ctx, MG_PASS, XDP_PASS);
	return mg_egress4(ctx, eth, ip, c.pos, dst);
}
