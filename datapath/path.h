/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a frame is and which path takes it, for every hook (xdp.bpf.c on
 * the gateway's devices, tc.bpf.c for what the host itself sends):
 *
 *   Ethernet -> neither IPv4 nor IPv6: pass (ARP, VLAN, ...)
 *   (XDP) broadcast, multicast -> pass; another host's MAC -> pass
 *     (other_host): the kernel routes neither (mg_ifs)
 *   IPv4/IPv6 VXLAN on an interface that is not an underlay one -> drop
 *   IPv4/IPv6 to our tunnel address, UDP, VXLAN port -> ingress (tunnel.h)
 *   IPv6 neighbour discovery, multicast            -> pass
 *   IPv4/IPv6 whose destination is a remote endpoint -> egress (tunnel.h),
 *     or an ICMP error when it does not fit the tunnel (icmp.h)
 *   IPv4/IPv6 to a service VIP:port, or a local backend's reply -> lb.h
 *     (IPv6 services: XDP only)
 *   anything else                                   -> pass (TC: the
 *     host device has nothing else routed to it: a unicast packet no
 *     map knows is for a prefix the maps had no room for, no_room)
 */
#ifndef MG_DP_PATH_H
#define MG_DP_PATH_H

#include "echo.h"
#include "lb.h"
#include "tunnel.h"

/*
 * After a DNAT through the kernel's checksum helpers (MG_CTX_CSUM_HELPERS,
 * TC) every packet pointer is stale: the cursor starts over, past the Ethernet header again.
 */
static __always_inline int mg_reparse_eth(mg_ctx_t *ctx, struct cursor *c,
					  struct ethhdr **eth)
{
	c->pos = (void *)(long)ctx->data;
	c->end = (void *)(long)ctx->data_end;
	return parse_eth(c, eth) < 0 ? -1 : 0;
}

static __always_inline int mg_from_ipv4(mg_ctx_t *ctx, struct cursor *c,
					struct ethhdr *eth, __u8 roles)
{
	struct mg_ep_val *dst, backend;
	struct mg_inner in;
	struct udphdr *udp;
	struct iphdr *ip;
	__u32 lb = 0;
	int proto, rc, nat = 0;

	proto = parse_ipv4(c, &ip);
	if (proto < 0)
		return mg_exit(ctx, -proto, MG_ACT_DROP);

	/* Tunnel packets only come in from the wire (not on TC egress). */
	if (!MG_CTX_HOST && ip->daddr == cfg_tunnel4 && proto == IPPROTO_UDP &&
	    !ipv4_is_later_fragment(ip)) {
		udp = c->pos;
		if ((void *)(udp + 1) > c->end)
			return mg_exit(ctx, MG_DROP_MALFORMED, MG_ACT_DROP);
		if (udp->dest == cfg_vxlan_port) {
			if (!(roles & MG_IF_UNDERLAY))
				return mg_exit(ctx, MG_DROP_TUNNEL_IF,
					       MG_ACT_DROP);
			if (ipv4_is_fragment(ip))
				return mg_exit(ctx, MG_DROP_FRAG, MG_ACT_DROP);
			rc = mg_outer_trim(ctx, ETH_HLEN +
					   bpf_ntohs(ip->tot_len));
			if (rc < 0)
				return mg_exit(ctx, MG_DROP_HEADROOM,
					       MG_ACT_DROP);
			if (rc && (mg_reparse_eth(ctx, c, &eth) ||
				   parse_ipv4(c, &ip) < 0))
				return mg_exit(ctx, MG_DROP_MALFORMED,
					       MG_ACT_DROP);
			if (mg_is_echo(c))
				return mg_echo4(ctx, c, ip);
			return mg_ingress4(ctx, c, ip);
		}
		return mg_exit(ctx, MG_PASS, MG_ACT_PASS);
	}

	dst = mg_ep4_lookup(ip->daddr);
	if (!dst || (dst->flags & MG_EP_F_LOCAL)) {
		rc = mg_lb4(ctx, c, eth, ip, proto, &backend, &lb);
		if (rc == MG_LB_MISS && MG_CTX_HOST && !dst &&
		    !ipv4_is_group(ip->daddr))
			return mg_exit_no_room(ctx);
		if (rc == MG_LB_MISS)
			return mg_exit(ctx, MG_PASS, MG_ACT_PASS);
		if (rc != MG_LB_EGRESS && rc != MG_LB_FORWARD)
			return rc;
		if (MG_CTX_CSUM_HELPERS) {
			if (mg_reparse_eth(ctx, c, &eth))
				return mg_exit(ctx, MG_DROP_MALFORMED, MG_ACT_DROP);
			proto = parse_ipv4(c, &ip);
			if (proto < 0)
				return mg_exit(ctx, -proto, MG_ACT_DROP);
		}
		if (rc == MG_LB_FORWARD)
			return mg_lb_forward(ctx, eth, ip, MG_LB_LOCAL,
					     MG_EV_IDS(cfg_cluster_id, lb,
						       lb >> 16));
		dst = &backend;
		nat = 1;
	}
	mg_inner4(&in, c, ip, proto);
	in.nat = nat;
	in.lb = lb;
	return mg_egress(ctx, eth, &in, dst);
}

static __always_inline int mg_is_nd(struct cursor *c, int proto,
				    const struct ip6_info *info)
{
	__u8 *type = c->pos;

	if (proto != IPPROTO_ICMPV6 || info->frag)
		return 0;
	if ((void *)(type + 1) > c->end)
		return 0;
	/* Router/neighbour solicitation/advertisement, redirect. */
	return *type >= 133 && *type <= 137;
}

static __always_inline int mg_from_ipv6(mg_ctx_t *ctx, struct cursor *c,
					struct ethhdr *eth, __u8 roles)
{
	struct mg_ep_val *dst, backend;
	struct ip6_info info;
	struct mg_inner in;
	struct ipv6hdr *ip;
	struct udphdr *udp;
	__u32 *da, lb = 0;
	int proto, rc, nat = 0;

	proto = parse_ipv6(c, &ip, &info);
	if (proto < 0)
		return mg_exit(ctx, -proto, MG_ACT_DROP);
	da = ip->daddr.in6_u.u6_addr32;

	if (!MG_CTX_HOST && mg_tunnel6_set() && da[0] == cfg_tunnel6[0] &&
	    da[1] == cfg_tunnel6[1] && da[2] == cfg_tunnel6[2] &&
	    da[3] == cfg_tunnel6[3]) {
		if (proto != IPPROTO_UDP || info.frag == IP6_FRAG_LATER)
			return mg_exit(ctx, MG_PASS, MG_ACT_PASS);
		udp = c->pos;
		if ((void *)(udp + 1) > c->end)
			return mg_exit(ctx, MG_DROP_MALFORMED, MG_ACT_DROP);
		if (udp->dest != cfg_vxlan_port)
			return mg_exit(ctx, MG_PASS, MG_ACT_PASS);
		if (!(roles & MG_IF_UNDERLAY))
			return mg_exit(ctx, MG_DROP_TUNNEL_IF, MG_ACT_DROP);
		if (info.frag)
			return mg_exit(ctx, MG_DROP_FRAG, MG_ACT_DROP);
		if (info.n_ext)
			return mg_exit(ctx, MG_DROP_IP_OPTS, MG_ACT_DROP);
		rc = mg_outer_trim(ctx, ETH_HLEN + sizeof(*ip) +
				   bpf_ntohs(ip->payload_len));
		if (rc < 0)
			return mg_exit(ctx, MG_DROP_HEADROOM, MG_ACT_DROP);
		if (rc && (mg_reparse_eth(ctx, c, &eth) ||
			   parse_ipv6(c, &ip, &info) < 0))
			return mg_exit(ctx, MG_DROP_MALFORMED, MG_ACT_DROP);
		if (mg_is_echo(c))
			return mg_echo6(ctx, c, ip);
		return mg_ingress6(ctx, c, ip);
	}

	/* Multicast and neighbour discovery are the kernel's, always. */
	if (ip->daddr.in6_u.u6_addr8[0] == 0xff || mg_is_nd(c, proto, &info))
		return mg_exit(ctx, MG_PASS, MG_ACT_PASS);
	dst = mg_ep6_lookup(&ip->daddr);
	if (!dst || (dst->flags & MG_EP_F_LOCAL)) {
		rc = mg_lb6(ctx, c, eth, ip, &info, &backend, &lb);
		if (rc == MG_LB_MISS && MG_CTX_HOST && !dst)
			return mg_exit_no_room(ctx);
		if (rc == MG_LB_MISS)
			return mg_exit(ctx, MG_PASS, MG_ACT_PASS);
		if (rc != MG_LB_EGRESS && rc != MG_LB_FORWARD)
			return rc;
		if (MG_CTX_CSUM_HELPERS) {
			if (mg_reparse_eth(ctx, c, &eth))
				return mg_exit(ctx, MG_DROP_MALFORMED, MG_ACT_DROP);
			proto = parse_ipv6(c, &ip, &info);
			if (proto < 0)
				return mg_exit(ctx, -proto, MG_ACT_DROP);
		}
		if (rc == MG_LB_FORWARD)
			return mg_lb_forward6(ctx, eth, ip, MG_LB_LOCAL,
					      MG_EV_IDS(cfg_cluster_id, lb,
							lb >> 16));
		dst = &backend;
		nat = 1;
	}
	mg_inner6(&in, c, ip, &info);
	in.nat = nat;
	in.lb = lb;
	return mg_egress(ctx, eth, &in, dst);
}

/*
 * XDP: the roles (MG_IF_*) of the interface a unicast frame came in on,
 * when the frame is for its MAC (mg_ifs); 0 when it is another host's,
 * which the kernel would not route either (PACKET_OTHERHOST), or the
 * interface is not described.
 */
static __always_inline __u8 mg_if_roles(mg_ctx_t *ctx,
					const struct ethhdr *eth)
{
	__u32 ifindex = mg_ctx_ifindex(ctx);
	const struct mg_if_val *v;
	const __u16 *a, *b;

	v = bpf_map_lookup_elem(&mg_ifs, &ifindex);
	if (!v)
		return 0;
	a = (const __u16 *)eth->h_dest;
	b = (const __u16 *)v->mac;
	if ((b[0] | b[1] | b[2]) &&
	    ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2])))
		return 0;
	return v->roles;
}

/* The frame from its first byte. */
static __always_inline int mg_path(mg_ctx_t *ctx)
{
	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	struct ethhdr *eth;
	__u8 roles = MG_IF_CLUSTER;	/* TC: the host's own packets */
	int proto;

	proto = parse_eth(&c, &eth);
	if (proto < 0)
		return mg_exit(ctx, -proto, MG_ACT_DROP);
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return mg_exit(ctx, MG_PASS, MG_ACT_PASS);
	if (!MG_CTX_HOST) {
		/* Broadcast and multicast are the kernel's, never routed. */
		if (eth->h_dest[0] & 1)
			return mg_exit(ctx, MG_PASS, MG_ACT_PASS);
		roles = mg_if_roles(ctx, eth);
		if (!roles)
			return mg_exit(ctx, MG_PASS_OTHER_HOST, MG_ACT_PASS);
	}
	if (proto == bpf_htons(ETH_P_IP))
		return mg_from_ipv4(ctx, &c, eth, roles);
	return mg_from_ipv6(ctx, &c, eth, roles);
}

#endif
