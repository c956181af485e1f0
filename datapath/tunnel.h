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
#include "fib.h"
#include "hash.h"
#include "icmp.h"
#include "mss.h"
#include "nat.h"
#include "prefix.h"
#include "stats.h"

#define IP_DF		0x4000
/* Where reply pinning looks for headers: past any tunnel and options. */
#define MG_PIN_L3_MAX	(MG_ENCAP6_LEN + ETH_HLEN)
#define MG_PIN_L4_MAX	(MG_PIN_L3_MAX + 40 + 8 * 40)
_Static_assert(MG_PIN_L3_MAX <= 0x7f && MG_PIN_L4_MAX <= 0x1ff, "pin masks");

/*
 * The IPv4 endpoint entry of addr as a scalar: 0 none, else MG_EP_FOUND |
 * flags << 8 | cluster id.  A global function: the table and the trie
 * answer from two maps, and two kinds of pointer on every path after the
 * lookup made the verifier walk each path twice (with policy, traffic
 * controls and the table merged, past its 1M-instruction limit).
 */
#define MG_EP_FOUND	0x10000

__attribute__((noinline)) int mg_ep4_find(__u32 addr)
{
	struct mg_ep4_key key = { .prefixlen = 32, .addr = addr };
	struct mg_ep_val *ep;

	if (!mg_pfx4_find(addr, &ep))
		ep = bpf_map_lookup_elem(&mg_ep4, &key);
	return ep ? MG_EP_FOUND | ep->flags << 8 | ep->cluster_id : 0;
}

/* Per-CPU room for the one entry mg_ep4_lookup() hands out at a time. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_ep_val);
} mg_ep_tmp SEC(".maps");

/*
 * mg_ep4_find() as an entry (cluster_id and flags; no version), valid
 * until the next call: callers hold one at a time.
 */
static __always_inline struct mg_ep_val *mg_ep4_lookup(__u32 addr)
{
	int r = mg_ep4_find(addr);
	struct mg_ep_val *ep;
	__u32 zero = 0;

	if (!(r & MG_EP_FOUND))
		return NULL;
	ep = bpf_map_lookup_elem(&mg_ep_tmp, &zero);
	if (ep) {
		ep->cluster_id = r & 0xff;
		ep->flags = (r >> 8) & 0xff;
	}
	return ep;
}

static __always_inline struct mg_ep_val *mg_ep6_lookup(const void *addr)
{
	struct mg_ep6_key key = { .prefixlen = 128 };

	__builtin_memcpy(key.addr, addr, 16);
	return bpf_map_lookup_elem(&mg_ep6, &key);
}

/*
 * Is addr inside this cluster's own prefixes?  mg_local4 / mg_local6 hold
 * only those (a few entries, a shallow trie, where mg_ep4 / mg_ep6 hold
 * every cluster's); an address they miss is looked up in the whole table,
 * so the answer never depends on the agent having filled them.
 */
static __always_inline int mg_is_local4(__u32 addr)
{
	struct mg_ep4_key key = { .prefixlen = 32, .addr = addr };

	if (bpf_map_lookup_elem(&mg_local4, &key))
		return 1;
	return !!(mg_ep4_find(addr) & (MG_EP_F_LOCAL << 8));
}

static __always_inline int mg_is_local6(const void *addr)
{
	struct mg_ep6_key key = { .prefixlen = 128 };
	struct mg_ep_val *ep;

	__builtin_memcpy(key.addr, addr, 16);
	if (bpf_map_lookup_elem(&mg_local6, &key))
		return 1;
	ep = bpf_map_lookup_elem(&mg_ep6, &key);
	return ep && (ep->flags & MG_EP_F_LOCAL);
}

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

/* An inner IP packet as both paths see it, whatever its family. */
struct mg_inner {
	void *ip;		/* struct iphdr or struct ipv6hdr */
	void *l4;		/* upper-layer header; may lie past the end */
	__u32 l3_len;		/* the IP packet's length */
	__u8 family;		/* MG_AF_INET or MG_AF_INET6 */
	__u8 proto;		/* upper-layer protocol */
	__u8 frag;		/* a fragment, the first included */
	__u8 df;		/* IPv4 DF (IPv6: always 1, never fragmented en route) */
	__u8 nat;		/* DNATed to a service backend (lb.h) */
	__u8 pad[3];
	__u32 lb;		/* then its service | backend << 16 (slot + 1) */
};

/* The ids of an event about it (events.h), cid its cluster. */
#define MG_IN_IDS(cid, in)	MG_EV_IDS(cid, (in)->lb, (in)->lb >> 16)
/* ... about a tunnel packet from peer. */
#define MG_PEER_IDS(peer)	MG_EV_IDS((peer)->cluster_id, 0, 0)

/* The policy check of both paths takes the inner packet as above. */
#include "policy.h"

static __always_inline int mg_inner4(struct mg_inner *in, struct cursor *c,
				     struct iphdr *ip, int proto)
{
	in->ip = ip;
	in->l4 = c->pos;
	in->l3_len = bpf_ntohs(ip->tot_len);
	in->family = MG_AF_INET;
	in->proto = proto;
	in->frag = ipv4_is_fragment(ip) != 0;
	in->df = (ip->frag_off & bpf_htons(IP_DF)) != 0;
	in->nat = 0;
	in->lb = 0;
	return 0;
}

static __always_inline int mg_inner6(struct mg_inner *in, struct cursor *c,
				     struct ipv6hdr *ip,
				     const struct ip6_info *info)
{
	in->ip = ip;
	in->l4 = c->pos;
	in->l3_len = sizeof(*ip) + bpf_ntohs(ip->payload_len);
	in->family = MG_AF_INET6;
	in->proto = info->proto;
	in->frag = info->frag != 0;
	in->df = 1;
	in->nat = 0;
	in->lb = 0;
	return 0;
}

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
 * The MSS a SYN into this tunnel may carry: cfg_mss_clamp, or with
 * MG_MSS_AUTO what fits the next hop's MTU (the FIB does not say it when
 * the packet fitted: ask the device).  overhead: what the tunnel adds to
 * the inner L3 packet.  0 = leave it.
 */
static __always_inline __u16 mg_mss_for(mg_ctx_t *ctx, __u32 family,
					__u32 mtu, __u32 ifindex,
					__u32 overhead)
{
	__u32 l3hdr = family == MG_AF_INET ? 20 : 40;

	if (cfg_mss_clamp != MG_MSS_AUTO)
		return cfg_mss_clamp - (family == MG_AF_INET ? 0 : 20);
	if (!mtu && bpf_check_mtu(ctx, ifindex, &mtu, 0, 0) < 0)
		return 0;
	if (mtu < overhead + l3hdr + 20 + 8)
		return 0;
	return mtu - overhead - l3hdr - 20;
}

/*
 * Clamp the SYN whose TCP header is at l4off to what fits: 1 clamped, 0
 * left.  fam_olen: the inner family << 16 | the tunnel's overhead.  A
 * global function: the verifier checks it once, and its answer is one
 * unknown scalar to the caller, not two paths through the rest of encap
 * (with MSS clamping on, the program passed the verifier's limit).
 */
__attribute__((noinline)) int mg_mss_step(mg_ctx_t *ctx, __u32 l4off,
					  __u32 mtu, __u32 ifindex,
					  __u32 fam_olen)
{
	__u16 mss = mg_mss_for(ctx, fam_olen >> 16, mtu, ifindex,
			       fam_olen & 0xffff);

	return mss && mg_mss_clamp(ctx, l4off, mss) ? 1 : 0;
}

/*
 * Reply pinning (mg_pin, abi.h).  Global functions: the verifier checks
 * each once, instead of once per path of the programs' big callers.
 *
 * The key of the IPv4/IPv6 TCP/UDP packet whose IP header is at l3 and
 * ports at l4, as it travels or (reverse) as its replies will, built in
 * the per-CPU scratch; NULL when it is not all there.
 */
static __always_inline struct mg_pin_key *mg_pin_key_at(mg_ctx_t *ctx,
							__u32 l3, __u32 l4,
							__u8 family, __u8 proto,
							int reverse)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct mg_pin_key *k;
	__u64 o3 = l3, o4 = l4;
	__u32 zero = 0;
	__u16 *p;

	if (l3 > MG_PIN_L3_MAX || l4 > MG_PIN_L4_MAX)
		return NULL;
	/*
	 * Masks the compiler cannot drop, so the verifier sees the bounds on
	 * the very registers that are added to data.
	 */
	asm volatile("%0 &= 0x7f" : "+r"(o3));
	asm volatile("%0 &= 0x1ff" : "+r"(o4));
	p = data + o4;
	if ((void *)(p + 2) > end)
		return NULL;
	k = bpf_map_lookup_elem(&mg_pin_tmp, &zero);
	if (!k)
		return NULL;
	__builtin_memset(k, 0, sizeof(*k));
	if (family == MG_AF_INET) {
		struct iphdr *ip = data + o3;

		if ((void *)(ip + 1) > end)
			return NULL;
		k->saddr[0] = reverse ? ip->daddr : ip->saddr;
		k->daddr[0] = reverse ? ip->saddr : ip->daddr;
	} else {
		struct ipv6hdr *ip = data + o3;

		if ((void *)(ip + 1) > end)
			return NULL;
		__builtin_memcpy(k->saddr, reverse ? &ip->daddr : &ip->saddr, 16);
		__builtin_memcpy(k->daddr, reverse ? &ip->saddr : &ip->daddr, 16);
	}
	k->sport = reverse ? p[1] : p[0];
	k->dport = reverse ? p[0] : p[1];
	k->proto = proto;
	k->family = family;
	return k;
}

static __always_inline int mg_addr_same(const struct mg_addr *a,
					const struct mg_addr *b)
{
	return a->family == b->family && a->addr[0] == b->addr[0] &&
	       a->addr[1] == b->addr[1] && a->addr[2] == b->addr[2] &&
	       a->addr[3] == b->addr[3];
}

/* meta: family | proto << 8 | (outer family or cluster id) << 16. */
#define MG_PIN_META(fam, proto, x)	((fam) | (proto) << 8 | (__u32)(x) << 16)

/*
 * Path 2 got a flagged frame (a service flow a peer balanced to one of our
 * backends): its replies go back to that peer, the outer source (IPv4 or
 * IPv6 by meta's third byte) at ETH_HLEN.
 */
__attribute__((noinline))
int mg_pin_note(mg_ctx_t *ctx, __u32 l3, __u32 l4, __u32 meta)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct mg_pin_val v = { 0 }, *old;
	struct mg_pin_key *k;

	if ((meta >> 16) == MG_AF_INET) {
		struct iphdr *o = data + ETH_HLEN;

		if ((void *)(o + 1) > end)
			return 0;
		v.gw.family = MG_AF_INET;
		v.gw.addr[0] = o->saddr;
	} else {
		struct ipv6hdr *o = data + ETH_HLEN;

		if ((void *)(o + 1) > end)
			return 0;
		v.gw.family = MG_AF_INET6;
		__builtin_memcpy(v.gw.addr, &o->saddr, 16);
	}
	k = mg_pin_key_at(ctx, l3, l4, meta & 0xff, (meta >> 8) & 0xff, 1);
	if (!k)
		return 0;
	old = bpf_map_lookup_elem(&mg_pin, k);
	if (old && mg_addr_same(&old->gw, &v.gw))
		return 0;	/* the usual case: written once per flow */
	bpf_map_update_elem(&mg_pin, k, &v, BPF_ANY);
	return 1;
}

/*
 * Path 1 to a cluster (meta's third byte) with several live gateways: the
 * index in its gw[] of the one a service flow's reply is pinned to, while
 * that one is live; -1 for the flow hash's choice.
 */
__attribute__((noinline))
int mg_pin_find(mg_ctx_t *ctx, __u32 l3, __u32 l4, __u32 meta)
{
	struct mg_cluster_val *cl;
	struct mg_pin_key *k;
	struct mg_pin_val *v;
	__u32 cid = meta >> 16;

	k = mg_pin_key_at(ctx, l3, l4, meta & 0xff, (meta >> 8) & 0xff, 0);
	if (!k)
		return -1;
	v = bpf_map_lookup_elem(&mg_pin, k);
	if (!v)
		return -1;
	cl = bpf_map_lookup_elem(&mg_clus, &cid);
	if (!cl)
		return -1;
	for (int i = 0; i < MG_CLUSTER_GW_MAX; i++)
		if (i < cl->n_gw && mg_addr_same(&cl->gw[i], &v->gw))
			return i;
	return -1;
}

/* TCP or UDP with its ports: what a pin is keyed by. */
static __always_inline int mg_pin_able(const struct mg_inner *in)
{
	return (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP) &&
	       !in->frag;
}

/*
 * The one's complement sum (folded, not complemented) of the frame at
 * ctx's start, taken from its inner TCP, UDP, ICMP or ICMPv6 checksum
 * instead of its every byte, as the kernel's local checksum offload does
 * (Documentation/networking/checksum-offloads.rst): a segment with a
 * right checksum sums to the complement of its pseudo-header's sum (ICMP
 * has none: to zero), so the frame sums to its Ethernet and IP headers
 * plus that.  -1 where this does not hold or cannot be known: fragments
 * (the checksum covers the datagram), IPv4 options, IPv6 extension
 * headers, bytes past the IP packet, UDP without a checksum, any other
 * protocol.  A wrong inner checksum makes the outer one wrong too: the
 * packet is dropped at the tunnel's far end instead of by the pod.
 */
static __always_inline int mg_inner_lco(mg_ctx_t *ctx,
					const struct mg_inner *in)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const __u32 *w = data;
	__u64 sum = 0, ps;
	__u32 l4len;
	__u8 *l4;
	int i;

	if (in->frag || data_end - data != ETH_HLEN + in->l3_len)
		return -1;
	if (in->family == MG_AF_INET) {
		struct iphdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > data_end || ip->ihl != 5)
			return -1;
		l4 = (void *)(ip + 1);
		l4len = in->l3_len - sizeof(*ip);
		/* Ethernet and IP: 34 bytes. */
#pragma unroll
		for (i = 0; i < 8; i++)
			sum += w[i];
		sum += *(__u16 *)&w[8];
		ps = (__u64)ip->saddr + ip->daddr +
		     bpf_htonl((__u32)in->proto) + bpf_htonl(l4len);
		/* (64-bit from its first term on: no carry is lost) */
	} else {
		struct ipv6hdr *ip = data + ETH_HLEN;

		if ((void *)(ip + 1) > data_end || ip->nexthdr != in->proto)
			return -1;
		l4 = (void *)(ip + 1);
		l4len = in->l3_len - sizeof(*ip);
		/*
		 * Ethernet and the IP header's first 8 bytes (22): its
		 * addresses are in the pseudo-header too, and cancel out.
		 */
#pragma unroll
		for (i = 0; i < 5; i++)
			sum += w[i];
		sum += *(__u16 *)&w[5];
		/*
		 * In 64 bits: their 32-bit sum overflows whenever the low
		 * byte of l4len plus proto reaches 256 (byte swapped, both
		 * sit in the top byte), and the lost carry made the outer
		 * checksum 0x0100 off for a third of all lengths.
		 */
		ps = (__u64)bpf_htonl((__u32)in->proto) + bpf_htonl(l4len);
	}
	switch (in->proto) {
	case IPPROTO_TCP:
		if ((void *)(l4 + 20) > data_end)
			return -1;
		break;
	case IPPROTO_UDP:
		if ((void *)(l4 + 8) > data_end || !*(__u16 *)(l4 + 6))
			return -1;
		break;
	case IPPROTO_ICMP:
		if (in->family != MG_AF_INET || (void *)(l4 + 4) > data_end)
			return -1;
		return (__u16)~csum_fold64(sum);
	case IPPROTO_ICMPV6:
		if (in->family != MG_AF_INET6 || (void *)(l4 + 4) > data_end)
			return -1;
		break;
	default:
		return -1;
	}
	sum += csum_fold64(ps);		/* minus the pseudo-header */
	return (__u16)~csum_fold64(sum);
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
	if (!MG_CTX_TC && cfg_mss_clamp && in->proto == IPPROTO_TCP &&
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
