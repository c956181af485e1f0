/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The two tunnel paths (DESIGN §2, paths 1, 2 and 5): a local pod's packet
 * for a remote endpoint goes out in VXLAN to one of that cluster's live
 * gateways; a VXLAN packet from a peer gateway comes in only when the peer,
 * its VNI and the inner source all agree, and goes on to the cluster side.
 * Inner packets and the underlay are IPv4 or IPv6, in any mix; a packet
 * too big for where it goes next is answered with an ICMP error (icmp.h).
 * Every path returns a verdict through mg_exit().
 */
#ifndef MG_DP_TUNNEL_H
#define MG_DP_TUNNEL_H

#include "parse.h"
#include "encap.h"
#include "endpoint.h"
#include "fib.h"
#include "hash.h"
#include "icmp.h"
#include "inner.h"
#include "mss.h"
#include "nat.h"
#include "pin.h"
#include "prefix.h"
#include "stats.h"

static __always_inline int mg_tunnel6_set(void)
{
	return cfg_tunnel6[0] | cfg_tunnel6[1] | cfg_tunnel6[2] |
	       cfg_tunnel6[3];
}

static __always_inline void mg_mesh_mac(__u8 *mac, __u8 cluster_id)
{
	mac[0] = 0x02; mac[1] = 0x6d; mac[2] = 0x67;
	mac[3] = 0x00; mac[4] = 0x00; mac[5] = cluster_id;
}

/* The policy check of both paths takes the inner packet (inner.h). */
#include "policy.h"

static __always_inline __u32 mg_fold6(const struct in6_addr *a)
{
	return a->in6_u.u6_addr32[0] ^ a->in6_u.u6_addr32[1] ^
	       a->in6_u.u6_addr32[2] ^ a->in6_u.u6_addr32[3];
}

static __always_inline __u8 mg_tclass(const struct ipv6hdr *ip)
{
	return ip->priority << 4 | ip->flow_lbl[0] >> 4;
}

/*
 * An IPv4 packet without DF too big for where it goes: to the kernel
 * (which fragments it on its own path) or dropped, as configured.
 */
#define MG_TOO_BIG_NODF(ctx, ids)					\
	(cfg_frag_stack ?						\
	 mg_exit_ids(ctx, MG_FRAG_STACK, MG_ACT_PASS, ids) :		\
	 mg_exit_ids(ctx, MG_DROP_FRAG_NEEDED, MG_ACT_DROP, ids))

/*
 * Path 1.  in describes the pod's packet; dst already matched a remote
 * prefix.
 */
static __always_inline int mg_egress(mg_ctx_t *ctx, struct ethhdr *eth,
				     const struct mg_inner *in,
				     const struct mg_ep_val *dst)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip4 = in->ip;
	struct ipv6hdr *ip6 = in->ip;
	struct mg_cluster_val *cl;
	int local;
	struct mg_nexthop nh;
	struct mg_addr *gw;
	__u32 cid = dst->cluster_id, hash, len, olen, ports;
	enum mg_reason why;
	__u8 tos, ttl;
	int rc;

	ports = l4_ports(in->proto, in->frag, in->l4, data_end) ^ in->proto;
	if (in->family == MG_AF_INET) {
		local = mg_is_local4(ip4->saddr);
		ttl = ip4->ttl;
		tos = ip4->tos;
		hash = mg_hash3(ip4->saddr, ip4->daddr, ports);
	} else {
		local = mg_is_local6(&ip6->saddr);
		ttl = ip6->hop_limit;
		tos = mg_tclass(ip6);
		hash = mg_hash3(mg_fold6(&ip6->saddr), mg_fold6(&ip6->daddr),
				ports);
	}
	if (!local)
		return mg_exit_ids(ctx, MG_DROP_SRC_FOREIGN, MG_ACT_DROP,
				   MG_IN_IDS(cid, in));
	if (ttl <= 1)
		return mg_exit_ids(ctx, MG_TTL_EXCEEDED, MG_ACT_PASS,
				   MG_IN_IDS(cid, in));
	rc = mg_policy_check(ctx, in, cfg_cluster_id, cid);
	if (rc >= 0)
		return rc;

	cl = bpf_map_lookup_elem(&mg_clus, &cid);
	if (!cl || !cl->n_gw)
		return mg_exit_ids(ctx, MG_DROP_NO_GATEWAY, MG_ACT_DROP,
				   MG_IN_IDS(cid, in));
	gw = &cl->gw[cl->slot[hash % MG_GW_SLOTS] % MG_CLUSTER_GW_MAX];
	if (cl->n_gw > 1 && mg_pin_able(in)) {
		void *data = (void *)(long)ctx->data;
		int i = mg_pin_find(ctx, in->ip - data, in->l4 - data,
				    MG_PIN_META(in->family, in->proto, cid));

		if (i >= 0)
			gw = &cl->gw[i & (MG_CLUSTER_GW_MAX - 1)];
	}
	if (gw->family == MG_AF_INET && cfg_tunnel4)
		olen = MG_ENCAP4_LEN;
	else if (gw->family == MG_AF_INET6 && mg_tunnel6_set())
		olen = MG_ENCAP6_LEN;
	else
		return mg_exit_ids(ctx, MG_DROP_NO_GATEWAY, MG_ACT_DROP,
				   MG_IN_IDS(cid, in));

	len = mg_ctx_len(ctx);
	rc = mg_underlay_nh(ctx, gw, len + olen - ETH_HLEN, &nh);
	if (rc)
		return mg_exit_ids(ctx, rc, MG_ACT_DROP, MG_IN_IDS(cid, in));

	/*
	 * Path 5: too big once encapsulated.  A GSO packet (TC) is cut into
	 * segments the size its sender's route allowed, each shrunk by the
	 * tunnel overhead as the outer headers go on (mg_ctx_push).
	 */
	if (nh.mtu && len + olen - ETH_HLEN > nh.mtu && !mg_ctx_is_gso(ctx)) {
		__u32 mtu = nh.mtu - olen;	/* inner L3 + olen = outer L3 */

		if (in->family == MG_AF_INET) {
			if (!in->df)
				return MG_TOO_BIG_NODF(ctx, MG_IN_IDS(cid, in));
			why = MG_ICMP_FRAG_NEEDED;
			rc = mg_icmp4_too_big(ctx, ETH_HLEN, mtu);
		} else {
			why = MG_ICMP6_TOO_BIG;
			rc = mg_icmp6_too_big(ctx, ETH_HLEN, mtu);
		}
		rc = rc ?: mg_icmp_l2_reverse(ctx);
		if (rc)
			return mg_exit_ids(ctx, -rc, MG_ACT_DROP,
					   MG_IN_IDS(cid, in));
		/* It quotes the packet as DNATed: make it quote the VIP. */
		if (in->nat && in->family == MG_AF_INET)
			mg_nat_reply4_at(ctx, ETH_HLEN);
		else if (in->nat)
			mg_nat_reply6_at(ctx, ETH_HLEN);
		return mg_exit_ids(ctx, why, MG_ACT_TX(ctx),
				   MG_IN_IDS(cid, in));
	}

	why = MG_ENCAP;
	/*
	 * Not on TC: the host's own SYNs carry an MSS from its own route,
	 * and their checksum is left to the device (a partial one).
	 */
	if (!MG_CTX_HOST && cfg_mss_clamp && in->proto == IPPROTO_TCP &&
	    !in->frag) {
		__u32 c = mg_mss_step(ctx, in->l4 - (void *)(long)ctx->data,
				      nh.mtu, nh.ifindex,
				      (__u32)in->family << 16 | olen) & 1;

		/* arithmetic, not a branch: one path on */
		why = MG_ENCAP + c * (MG_MSS_CLAMPED - MG_ENCAP);
	}

	if (in->family == MG_AF_INET)
		ipv4_decrease_ttl(ip4);
	else
		ip6->hop_limit--;
	mg_mesh_mac(eth->h_source, cfg_cluster_id);
	mg_mesh_mac(eth->h_dest, cid);
	/* Its replies must come back through us, who track it (mg_pin). */
	if (in->nat)
		eth->h_source[4] = MG_MESH_MAC_F_PIN;

	rc = mg_encap(ctx, gw, &nh, hash, tos, len,
		      gw->family == MG_AF_INET6 && cfg_udp6_csum ?
		      mg_inner_lco(ctx, in) : -1);
	if (rc < 0)
		return mg_exit_ids(ctx, -rc, MG_ACT_DROP, MG_IN_IDS(cid, in));
	return mg_exit_ids(ctx, why, mg_ctx_xmit(ctx, nh.ifindex),
			   MG_IN_IDS(cid, in));
}

/* The cluster side's next hop for the inner packet (fib.h, cached). */
static __always_inline int mg_deliver_nh(mg_ctx_t *ctx,
					 const struct mg_inner *in,
					 struct mg_nexthop *nh)
{
	struct bpf_fib_lookup p = {};
	struct iphdr *ip4 = in->ip;
	struct ipv6hdr *ip6 = in->ip;
	__u32 ifindex = mg_ctx_ifindex(ctx);

	/* Read here, not through a pointer clang would keep for later. */
	barrier_var(ifindex);
	p.ifindex = ifindex;
	if (in->family == MG_AF_INET) {
		p.family = AF_INET;
		p.tos = ip4->tos;
		p.l4_protocol = ip4->protocol;
		p.ipv4_src = ip4->saddr;
		p.ipv4_dst = ip4->daddr;
	} else {
		p.family = AF_INET6;
		p.l4_protocol = in->proto;
		__builtin_memcpy(p.ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(p.ipv6_dst, &ip6->daddr, 16);
	}
	return mg_fib_cached(ctx, &p, in->l3_len, nh);
}

/*
 * Path 2, after the anti-spoofing checks: the inner packet goes to the
 * cluster side (or to the kernel, or back as an ICMP error through the
 * tunnel it came from).  olen: the outer headers' length, a constant.
 */
static __always_inline int mg_deliver(mg_ctx_t *ctx,
				      const struct mg_inner *in,
				      const __u32 olen, __u64 ids)
{
	struct iphdr *ip4 = in->ip;
	struct ipv6hdr *ip6 = in->ip;
	struct ethhdr *eth;
	struct mg_nexthop nh;
	__u8 omac[2 * ETH_ALEN];
	enum mg_reason why;
	int rc;

	/* Keep our own MAC (outer destination) for the kernel fallback. */
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return mg_exit_ids(ctx, MG_DROP_MALFORMED, MG_ACT_DROP, ids);
	__builtin_memcpy(omac, eth->h_dest, sizeof(omac));

	if (in->family == MG_AF_INET ? ip4->ttl <= 1 : ip6->hop_limit <= 1) {
		rc = MG_TTL_EXCEEDED;
		goto to_stack;
	}
	rc = mg_deliver_nh(ctx, in, &nh);
	if (rc == MG_DROP_NO_NEIGH) {
		rc = MG_DECAP_STACK;
		goto to_stack;
	}
	if (rc)
		return mg_exit_ids(ctx, rc, MG_ACT_DROP, ids);

	/* Path 5 on this side: too big for the cluster side. */
	if (nh.mtu && in->l3_len > nh.mtu) {
		if (in->family == MG_AF_INET) {
			if (!in->df) {
				if (!cfg_frag_stack)
					return mg_exit_ids(
						ctx, MG_DROP_FRAG_NEEDED,
						MG_ACT_DROP, ids);
				rc = MG_FRAG_STACK;
				goto to_stack;
			}
			why = MG_ICMP_FRAG_NEEDED;
			rc = mg_icmp4_too_big(ctx, olen + ETH_HLEN, nh.mtu);
		} else {
			why = MG_ICMP6_TOO_BIG;
			rc = mg_icmp6_too_big(ctx, olen + ETH_HLEN, nh.mtu);
		}
		rc = rc ?: mg_encap_reverse(ctx, olen);
		if (rc)
			return mg_exit_ids(ctx, -rc, MG_ACT_DROP, ids);
		return mg_exit_ids(ctx, why, MG_ACT_TX(ctx), ids);
	}

	if (in->family == MG_AF_INET)
		ipv4_decrease_ttl(ip4);
	else
		ip6->hop_limit--;
	rc = mg_decap(ctx, olen);
	if (rc < 0)
		return mg_exit_ids(ctx, -rc, MG_ACT_DROP, ids);
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return mg_exit_ids(ctx, MG_DROP_MALFORMED, MG_ACT_DROP, ids);
	__builtin_memcpy(eth->h_dest, nh.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh.smac, ETH_ALEN);
	return mg_exit_ids(ctx, MG_DECAP, mg_ctx_xmit(ctx, nh.ifindex), ids);

to_stack:
	/* The kernel routes it (and resolves the pod, or answers with ICMP). */
	if (mg_decap(ctx, olen) < 0)
		return mg_exit_ids(ctx, MG_DROP_HEADROOM, MG_ACT_DROP, ids);
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return mg_exit_ids(ctx, MG_DROP_MALFORMED, MG_ACT_DROP, ids);
	__builtin_memcpy(eth, omac, sizeof(omac));
	return mg_exit_ids(ctx, rc, MG_ACT_PASS, ids);
}

/*
 * A known peer's packet whose inner source is in no prefix at all: while
 * the agent has not heard the whole mesh yet (the start-up hold), that is
 * a prefix not learned yet, counted apart (not_learned) so that the
 * security counter inner_src_spoof does not fire on every cold start.
 */
static __always_inline enum mg_reason mg_unknown_src_reason(void)
{
	__u32 key = 0;
	const struct mg_gw_state *gw = bpf_map_lookup_elem(&mg_gwstate, &key);

	return gw && (gw->flags & MG_GW_STARTING) ? MG_DROP_NOT_LEARNED :
						     MG_DROP_INNER_SRC;
}

/*
 * Path 2 from the VXLAN header on: c is past it, peer is the outer
 * source's entry.  The VNI and the inner addresses must agree with it.
 */
static __always_inline int mg_ingress(mg_ctx_t *ctx, struct cursor *c,
				      const struct vxlanhdr *vx,
				      const struct mg_peer_val *peer,
				      const __u32 olen)
{
	struct mg_ep_val *ep;
	struct mg_inner in;
	struct ethhdr *ieth;
	int proto, local;

	if (vx->vni != bpf_htonl((__u32)peer->cluster_id << 8))
		return mg_exit_ids(ctx, MG_DROP_VNI, MG_ACT_DROP,
				   MG_PEER_IDS(peer));

	proto = parse_eth(c, &ieth);
	if (proto < 0)
		return mg_exit_ids(ctx, -proto, MG_ACT_DROP, MG_PEER_IDS(peer));
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip;

		proto = parse_ipv4(c, &ip);
		if (proto < 0)
			return mg_exit_ids(ctx, -proto, MG_ACT_DROP,
					   MG_PEER_IDS(peer));
		mg_inner4(&in, c, ip, proto);
		ep = mg_ep4_lookup(ip->saddr);
		if (!ep)
			return mg_exit_ids(ctx, mg_unknown_src_reason(),
					   MG_ACT_DROP, MG_PEER_IDS(peer));
		if (ep->cluster_id != peer->cluster_id)
			return mg_exit_ids(ctx, MG_DROP_INNER_SRC, MG_ACT_DROP,
					   MG_PEER_IDS(peer));
		local = mg_is_local4(ip->daddr);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ip6_info info;
		struct ipv6hdr *ip;

		proto = parse_ipv6(c, &ip, &info);
		if (proto < 0)
			return mg_exit_ids(ctx, -proto, MG_ACT_DROP,
					   MG_PEER_IDS(peer));
		mg_inner6(&in, c, ip, &info);
		ep = mg_ep6_lookup(&ip->saddr);
		if (!ep)
			return mg_exit_ids(ctx, mg_unknown_src_reason(),
					   MG_ACT_DROP, MG_PEER_IDS(peer));
		if (ep->cluster_id != peer->cluster_id)
			return mg_exit_ids(ctx, MG_DROP_INNER_SRC, MG_ACT_DROP,
					   MG_PEER_IDS(peer));
		local = mg_is_local6(&ip->daddr);
	} else {
		return mg_exit_ids(ctx, MG_DROP_INNER_PROTO, MG_ACT_DROP,
				   MG_PEER_IDS(peer));
	}
	if (!local)
		return mg_exit_ids(ctx, MG_DROP_INNER_DST, MG_ACT_DROP,
				   MG_PEER_IDS(peer));
	proto = mg_policy_check(ctx, &in, peer->cluster_id, cfg_cluster_id);
	if (proto >= 0)
		return proto;
	if ((ieth->h_source[4] & MG_MESH_MAC_F_PIN) && mg_pin_able(&in))
		mg_pin_note(ctx, in.ip - (void *)(long)ctx->data,
			    in.l4 - (void *)(long)ctx->data,
			    MG_PIN_META(in.family, in.proto,
					olen == MG_ENCAP4_LEN ? MG_AF_INET :
								MG_AF_INET6));
	/* A remote backend's reply to a service client: from the VIP again. */
	if (in.family == MG_AF_INET)
		mg_nat_reply4_at(ctx, in.ip - (void *)(long)ctx->data);
	else
		mg_nat_reply6_at(ctx, in.ip - (void *)(long)ctx->data);
	return mg_deliver(ctx, &in, olen, MG_PEER_IDS(peer));
}

/*
 * A tunnel packet's frame ends where its outer IP length says (end bytes
 * from the frame's start): bytes past it are no part of the datagram and
 * must not become part of the inner packet, which is parsed to the
 * frame's end.  They are cut off, as the kernel trims a packet to its IP
 * length.  0: nothing to cut; 1: cut, every packet pointer is stale;
 * -1: could not be cut.
 */
static __always_inline int mg_outer_trim(mg_ctx_t *ctx, __u32 end)
{
	if (mg_ctx_len(ctx) <= end)
		return 0;
	return mg_ctx_trim(ctx, end) ? -1 : 1;
}

/* UDP (its length must fill the outer payload) and the VXLAN header. */
static __always_inline int mg_vxlan_parse(struct cursor *c, void *l4_end,
					  struct vxlanhdr **vxh)
{
	struct vxlanhdr *vx;
	struct udphdr *udp;
	int rc;

	rc = parse_udp(c, l4_end, &udp);
	if (rc < 0)
		return -rc;
	vx = c->pos;
	if ((void *)(vx + 1) > c->end)
		return MG_DROP_MALFORMED;
	c->pos = vx + 1;
	if (!(vx->flags & bpf_htonl(MG_VXLAN_FLAG_I)))
		return MG_DROP_VXLAN_FLAGS;
	*vxh = vx;
	return 0;
}

/*
 * Path 2 over IPv4: outer points at the outer header of a UDP packet to our
 * tunnel address and VXLAN port; c is positioned after it.
 */
static __always_inline int mg_ingress4(mg_ctx_t *ctx, struct cursor *c,
				       struct iphdr *outer)
{
	struct mg_peer_val *peer;
	struct vxlanhdr *vx;
	__u32 saddr = outer->saddr;
	int rc;

	if (outer->ihl != 5)
		return mg_exit(ctx, MG_DROP_IP_OPTS, MG_ACT_DROP);
	if (csum_fold(ipv4_hdr_sum(outer)) != 0)
		return mg_exit(ctx, MG_DROP_CSUM, MG_ACT_DROP);
	rc = mg_vxlan_parse(c, (void *)outer + bpf_ntohs(outer->tot_len), &vx);
	if (rc)
		return mg_exit(ctx, rc, MG_ACT_DROP);
	peer = bpf_map_lookup_elem(&mg_peer4, &saddr);
	if (!peer)
		return mg_exit(ctx, MG_DROP_PEER_UNKNOWN, MG_ACT_DROP);
	return mg_ingress(ctx, c, vx, peer, MG_ENCAP4_LEN);
}

/*
 * Path 2 over IPv6, the same, and a non-zero UDP checksum must be right,
 * as the kernel's vxlan device has it (a zero one is taken).  Checked
 * once the sender is known to be a peer: a stranger's packet costs no sum.
 */
static __always_inline int mg_ingress6(mg_ctx_t *ctx, struct cursor *c,
				       struct ipv6hdr *outer)
{
	struct mg_peer_val *peer;
	struct vxlanhdr *vx;
	struct mg_in6 saddr;
	int rc;

	__builtin_memcpy(&saddr, &outer->saddr, sizeof(saddr));
	rc = mg_vxlan_parse(c, (void *)(outer + 1) +
			       bpf_ntohs(outer->payload_len), &vx);
	if (rc)
		return mg_exit(ctx, rc, MG_ACT_DROP);
	peer = bpf_map_lookup_elem(&mg_peer6, &saddr);
	if (!peer)
		return mg_exit(ctx, MG_DROP_PEER_UNKNOWN, MG_ACT_DROP);
	if (!mg_udp6_csum_ok(ctx, outer, (void *)(outer + 1)))
		return mg_exit(ctx, MG_DROP_OUTER_CSUM, MG_ACT_DROP);
	return mg_ingress(ctx, c, vx, peer, MG_ENCAP6_LEN);
}

#endif
