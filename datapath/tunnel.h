/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The two tunnel paths (DESIGN §2, paths 1 and 2): a local pod's packet for a
 * remote endpoint goes out in VXLAN to one of that cluster's live gateways;
 * a VXLAN packet from a peer gateway comes in only when the peer, its VNI
 * and the inner source all agree, and goes on to the cluster side.
 * Both return a verdict through mg_exit().
 */
#ifndef MG_DP_TUNNEL_H
#define MG_DP_TUNNEL_H

#include "parse.h"
#include "encap.h"
#include "fib.h"
#include "hash.h"
#include "stats.h"

static __always_inline struct mg_ep_val *mg_ep4_lookup(__u32 addr)
{
	struct mg_ep4_key key = { .prefixlen = 32, .addr = addr };

	return bpf_map_lookup_elem(&mg_ep4, &key);
}

static __always_inline void mg_mesh_mac(__u8 *mac, __u8 cluster_id)
{
	mac[0] = 0x02; mac[1] = 0x6d; mac[2] = 0x67;
	mac[3] = 0x00; mac[4] = 0x00; mac[5] = cluster_id;
}

/* Path 1.  ip/l4 point into the packet; dst already matched a remote prefix. */
static __always_inline int mg_egress4(struct xdp_md *ctx, struct ethhdr *eth,
				      struct iphdr *ip, void *l4,
				      const struct mg_ep_val *dst)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct mg_cluster_val *cl;
	struct mg_ep_val *src;
	struct mg_nexthop nh;
	struct mg_addr *gw;
	__u32 cid = dst->cluster_id, hash, len, daddr;
	__u8 tos;
	int rc;

	src = mg_ep4_lookup(ip->saddr);
	if (!src || !(src->flags & MG_EP_F_LOCAL))
		return mg_exit(ctx, MG_DROP_SRC_FOREIGN, XDP_DROP);
	if (ip->ttl <= 1)
		return mg_exit(ctx, MG_TTL_EXCEEDED, XDP_PASS);

	cl = bpf_map_lookup_elem(&mg_clus, &cid);
	if (!cl || !cl->n_gw)
		return mg_exit(ctx, MG_DROP_NO_GATEWAY, XDP_DROP);
	hash = mg_hash3(ip->saddr, ip->daddr,
			l4_ports(ip, l4, data_end) ^ ip->protocol);
	gw = &cl->gw[cl->slot[hash % MG_GW_SLOTS] % MG_CLUSTER_GW_MAX];
	if (gw->family != MG_AF_INET)
		return mg_exit(ctx, MG_DROP_NO_GATEWAY, XDP_DROP);
	daddr = gw->addr[0];

	len = (void *)(long)ctx->data_end - (void *)(long)ctx->data;
	rc = mg_underlay_nh4(ctx, daddr, len + MG_ENCAP4_LEN - sizeof(*eth), &nh);
	if (rc)
		return mg_exit(ctx, rc, XDP_DROP);

	tos = ip->tos;
	ipv4_decrease_ttl(ip);
	mg_mesh_mac(eth->h_source, cfg_cluster_id);
	mg_mesh_mac(eth->h_dest, cid);

	rc = mg_encap4(ctx, daddr, &nh, hash, tos, len);
	if (rc < 0)
		return mg_exit(ctx, -rc, XDP_DROP);
	return mg_exit(ctx, MG_ENCAP, mg_xmit(ctx, nh.ifindex));
}

/*
 * Path 2.  outer points at the outer IPv4 header of a UDP packet to our
 * tunnel address and VXLAN port; c is positioned after it.
 */
static __always_inline int mg_ingress4(struct xdp_md *ctx, struct cursor *c,
				       struct iphdr *outer)
{
	struct vxlanhdr *vx;
	struct mg_peer_val *peer;
	struct mg_ep_val *ep;
	struct ethhdr *ieth, *eth;
	struct udphdr *udp;
	struct iphdr *ip;
	struct mg_nexthop nh;
	__u8 omac[2 * ETH_ALEN];
	__u32 saddr = outer->saddr;
	int proto, rc;

	if (outer->ihl != 5)
		return mg_exit(ctx, MG_DROP_IP_OPTS, XDP_DROP);
	if (csum_fold(ipv4_hdr_sum(outer)) != 0)
		return mg_exit(ctx, MG_DROP_CSUM, XDP_DROP);
	rc = parse_udp(c, (void *)outer + bpf_ntohs(outer->tot_len), &udp);
	if (rc < 0)
		return mg_exit(ctx, -rc, XDP_DROP);
	vx = c->pos;
	if ((void *)(vx + 1) > c->end)
		return mg_exit(ctx, MG_DROP_MALFORMED, XDP_DROP);
	c->pos = vx + 1;
	if (!(vx->flags & bpf_htonl(MG_VXLAN_FLAG_I)))
		return mg_exit(ctx, MG_DROP_VXLAN_FLAGS, XDP_DROP);

	peer = bpf_map_lookup_elem(&mg_peer4, &saddr);
	if (!peer)
		return mg_exit(ctx, MG_DROP_PEER_UNKNOWN, XDP_DROP);
	if (vx->vni != bpf_htonl((__u32)peer->cluster_id << 8))
		return mg_exit(ctx, MG_DROP_VNI, XDP_DROP);

	proto = parse_eth(c, &ieth);
	if (proto < 0)
		return mg_exit(ctx, -proto, XDP_DROP);
	if (proto != bpf_htons(ETH_P_IP))
		return mg_exit(ctx, MG_DROP_INNER_PROTO, XDP_DROP);
	proto = parse_ipv4(c, &ip);
	if (proto < 0)
		return mg_exit(ctx, -proto, XDP_DROP);

	ep = mg_ep4_lookup(ip->saddr);
	if (!ep || ep->cluster_id != peer->cluster_id)
		return mg_exit(ctx, MG_DROP_INNER_SRC, XDP_DROP);
	ep = mg_ep4_lookup(ip->daddr);
	if (!ep || !(ep->flags & MG_EP_F_LOCAL))
		return mg_exit(ctx, MG_DROP_INNER_DST, XDP_DROP);

	/* Keep our own MAC (outer destination) for the kernel fallback. */
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > c->end)
		return mg_exit(ctx, MG_DROP_MALFORMED, XDP_DROP);
	__builtin_memcpy(omac, eth->h_dest, sizeof(omac));

	if (ip->ttl <= 1) {
		rc = MG_TTL_EXCEEDED;
		goto to_stack;
	}
	rc = mg_fib4(ctx, ip->saddr, ip->daddr, ip->tos,
		     bpf_ntohs(ip->tot_len), &nh);
	if (rc == MG_DROP_NO_NEIGH) {
		rc = MG_DECAP_STACK;
		goto to_stack;
	}
	if (rc)
		return mg_exit(ctx, rc, XDP_DROP);

	ipv4_decrease_ttl(ip);
	rc = mg_decap4(ctx);
	if (rc < 0)
		return mg_exit(ctx, -rc, XDP_DROP);
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return mg_exit(ctx, MG_DROP_MALFORMED, XDP_DROP);
	__builtin_memcpy(eth->h_dest, nh.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh.smac, ETH_ALEN);
	return mg_exit(ctx, MG_DECAP, mg_xmit(ctx, nh.ifindex));

to_stack:
	/* The kernel routes it (and resolves the pod, or answers with ICMP). */
	if (mg_decap4(ctx) < 0)
		return mg_exit(ctx, MG_DROP_HEADROOM, XDP_DROP);
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return mg_exit(ctx, MG_DROP_MALFORMED, XDP_DROP);
	__builtin_memcpy(eth, omac, sizeof(omac));
	return mg_exit(ctx, rc, XDP_PASS);
}

#endif
