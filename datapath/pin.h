/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reply pinning: a service flow's replies go back through the gateway
 * that balanced it (mg_pin, abi.h).
 */
#ifndef MG_DP_PIN_H
#define MG_DP_PIN_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "ctx.h"
#include "encap.h"
#include "inner.h"
#include "maps.h"

/* Where reply pinning looks for headers: past any tunnel and options. */
#define MG_PIN_L3_MAX (MG_ENCAP6_LEN + ETH_HLEN)
#define MG_PIN_L4_MAX (MG_PIN_L3_MAX + 40 + 8 * 40)
_Static_assert(MG_PIN_L3_MAX <= 0x7f && MG_PIN_L4_MAX <= 0x1ff, "pin masks");

/*
 * Reply pinning (mg_pin, abi.h).  Global functions: the verifier checks
 * each once, instead of once per path of the programs' big callers.
 *
 * The key of the IPv4/IPv6 TCP/UDP packet whose IP header is at l3 and
 * ports at l4, as it travels or (reverse) as its replies will, built in
 * the per-CPU scratch; NULL when it is not all there.
 */
static __always_inline struct mg_pin_key *mg_pin_key_at(mg_ctx_t *ctx, __u32 l3,
							__u32 l4, __u8 family,
							__u8 proto, int reverse)
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
		__builtin_memcpy(k->saddr, reverse ? &ip->daddr : &ip->saddr,
				 16);
		__builtin_memcpy(k->daddr, reverse ? &ip->saddr : &ip->daddr,
				 16);
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
#define MG_PIN_META(fam, proto, x) ((fam) | (proto) << 8 | (__u32)(x) << 16)

/*
 * Path 2 got a flagged frame (a service flow a peer balanced to one of our
 * backends): its replies go back to that peer, the outer source (IPv4 or
 * IPv6 by meta's third byte) at ETH_HLEN.
 */
__attribute__((noinline)) int mg_pin_note(mg_ctx_t *ctx, __u32 l3, __u32 l4,
					  __u32 meta)
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
		return 0; /* the usual case: written once per flow */
	bpf_map_update_elem(&mg_pin, k, &v, BPF_ANY);
	return 1;
}

/*
 * Path 1 to a cluster (meta's third byte) with several live gateways: the
 * index in its gw[] of the one a service flow's reply is pinned to, while
 * that one is live; -1 for the flow hash's choice.
 */
__attribute__((noinline)) int mg_pin_find(mg_ctx_t *ctx, __u32 l3, __u32 l4,
					  __u32 meta)
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

#endif
