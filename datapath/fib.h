/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Next hops.  For the underlay the agent keeps mg_nh4_v2 and mg_nh6 from
 * netlink (route, link and neighbour events), with the path MTU; the kernel
 * FIB is the fallback, so a missing entry costs time, never correctness.
 */
#ifndef MG_DP_FIB_H
#define MG_DP_FIB_H

#include <linux/bpf.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include "config.h"
#include "maps.h"
#include "ctx.h"
#include "hash.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/*
 * Where a packet goes next.  mtu is the L3 MTU towards it (0 = unknown);
 * a FIB lookup that found the packet too big leaves ifindex 0 and the MTU
 * it was checked against, so the caller's size check answers it.
 */
struct mg_nexthop {
	__u32 ifindex;
	__u8 smac[6];
	__u8 dmac[6];
	__u16 mtu;
};

/* Result of a FIB lookup as a reason: 0 on success (and on too big). */
static __always_inline int mg_fib_result(long rc, struct bpf_fib_lookup *p,
					 struct mg_nexthop *nh)
{
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		nh->ifindex = 0;
		nh->mtu = p->mtu_result;
		return 0;
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		nh->ifindex = p->ifindex;	/* where it would go */
		return MG_DROP_NO_NEIGH;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return MG_DROP_NO_ROUTE;
	nh->ifindex = p->ifindex;
	nh->mtu = 0;	/* it fitted: nothing to check */
	__builtin_memcpy(nh->smac, p->smac, 6);
	__builtin_memcpy(nh->dmac, p->dmac, 6);
	return 0;
}

/* a is the (set) IPv6 address own. */
static __always_inline int mg_own6(const __u32 *a, const volatile __u32 *own)
{
	return (own[0] | own[1] | own[2] | own[3]) && a[0] == own[0] &&
	       a[1] == own[1] && a[2] == own[2] && a[3] == own[3];
}

/* tot_len: the L3 length to check against the route's MTU. */
static __always_inline int mg_fib4(mg_ctx_t *ctx, __u32 saddr, __u32 daddr,
				   __u8 tos, __u8 proto, __u16 tot_len,
				   struct mg_nexthop *nh)
{
	struct bpf_fib_lookup p = {};
	long rc;

	p.family = AF_INET;
	p.tos = tos;
	p.l4_protocol = proto;
	p.tot_len = tot_len;
	p.ipv4_src = saddr;
	p.ipv4_dst = daddr;
	p.ifindex = mg_ctx_ifindex(ctx);
	rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	/*
	 * Our own cluster-side address (the host's traffic to remote pods
	 * and VIPs comes from it: tc.bpf.c): the kernel's, like a neighbour
	 * it must resolve.
	 */
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED && cfg_cluster4 &&
	    daddr == cfg_cluster4) {
		nh->ifindex = 0;
		return MG_DROP_NO_NEIGH;
	}
	return mg_fib_result(rc, &p, nh);
}

static __always_inline int mg_fib6(mg_ctx_t *ctx, const __u32 *saddr,
				   const __u32 *daddr, __u8 proto,
				   __u16 tot_len, struct mg_nexthop *nh)
{
	struct bpf_fib_lookup p = {};
	long rc;

	p.family = AF_INET6;
	p.l4_protocol = proto;
	p.tot_len = tot_len;
	__builtin_memcpy(p.ipv6_src, saddr, 16);
	__builtin_memcpy(p.ipv6_dst, daddr, 16);
	p.ifindex = mg_ctx_ifindex(ctx);
	rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED && mg_own6(daddr, cfg_cluster6)) {
		nh->ifindex = 0;
		return MG_DROP_NO_NEIGH;
	}
	return mg_fib_result(rc, &p, nh);
}

/*
 * Local delivery (decap) asks the kernel FIB for every packet, and an IPv6
 * lookup costs twice an IPv4 one (the kernel walks its local table, then
 * main; IPv4 has them merged): about 300 ns against 150 here.  Its answer
 * is kept for MG_FIBC_TTL_NS, keyed by everything the lookup is given,
 * so a route, neighbour or MTU change is seen that much later at most.
 * Only successful answers are kept, with the route's MTU (the kernel
 * returns it in mtu_result), which the caller checks the packet against
 * as it does after a lookup that found it too big; an unresolved
 * neighbour is never kept, so the kernel resolves it on the next packet
 * as before.  A lookup is kept from the second time it is asked within
 * the TTL on (mg_fibc_seen below).  Internal to the datapath: not pinned,
 * empty again with every program the agent loads.
 */
#define MG_FIBC_TTL_NS		(50 * 1000 * 1000ULL)
#define MG_FIBC_ENTRIES		16384

/* The lookup's input: bpf_fib_lookup up to ipv6_dst, tot_len 0. */
struct mg_fibc_key {
	__u8 bytes[__builtin_offsetof(struct bpf_fib_lookup, ipv6_dst) + 16];
};

struct mg_fibc_val {
	__u64 expires;		/* bpf_ktime_get_coarse_ns() */
	struct mg_nexthop nh;	/* mtu: the route's */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, MG_FIBC_ENTRIES);
	__type(key, struct mg_fibc_key);
	__type(value, struct mg_fibc_val);
} mg_fibc SEC(".maps");

/*
 * A lookup is kept only the second time it is asked within the TTL: a
 * one-packet flow (a DNS query, a SYN that goes nowhere) would pay for
 * an insert (and an eviction) it never gets back.  Per CPU, one slot per
 * hash of the key, the hash and when it was asked.
 */
#define MG_FIBC_SEEN		4096

struct mg_fibc_seen {
	__u32 hash;
	__u32 pad;
	__u64 when;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_FIBC_SEEN);
	__type(key, __u32);
	__type(value, struct mg_fibc_seen);
} mg_fibc_seen SEC(".maps");

/* Room for a key and a value, off the stack (which the paths fill up). */
struct mg_fibc_scratch {
	struct mg_fibc_key key;
	struct mg_fibc_val val;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_fibc_scratch);
} mg_fibc_tmp SEC(".maps");

/*
 * bpf_fib_lookup() through mg_fibc.  p is the lookup's input with tot_len
 * 0 (the key), tot_len the packet's L3 length.
 */
static __always_inline int mg_fib_cached(mg_ctx_t *ctx,
					 struct bpf_fib_lookup *p,
					 __u16 tot_len, struct mg_nexthop *nh)
{
	struct mg_fibc_scratch *t;
	struct mg_fibc_val *c;
	__u32 zero = 0;
	__u64 now;
	long rc;

	t = bpf_map_lookup_elem(&mg_fibc_tmp, &zero);
	if (!t)
		return mg_fib_result(bpf_fib_lookup(ctx, p, sizeof(*p), 0), p,
				     nh);
	now = bpf_ktime_get_coarse_ns();
	__builtin_memcpy(&t->key, p, sizeof(t->key));
	c = bpf_map_lookup_elem(&mg_fibc, &t->key);
	if (c && now < c->expires) {
		*nh = c->nh;	/* the caller checks tot_len against its MTU */
		return 0;
	}
	p->tot_len = tot_len;
	rc = bpf_fib_lookup(ctx, p, sizeof(*p), 0);
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED &&
	    (p->family == AF_INET ?
	     cfg_cluster4 && p->ipv4_dst == cfg_cluster4 :
	     mg_own6(p->ipv6_dst, cfg_cluster6)))
		return MG_DROP_NO_NEIGH;	/* as mg_fib4(), mg_fib6() */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return mg_fib_result(rc, p, nh);
	nh->ifindex = p->ifindex;
	nh->mtu = p->mtu_result;
	__builtin_memcpy(nh->smac, p->smac, 6);
	__builtin_memcpy(nh->dmac, p->dmac, 6);
	if (!c) {
		const __u32 *k = (const __u32 *)&t->key;
		struct mg_fibc_seen *seen;
		__u32 h, slot;

		/* family, proto, ifindex, tos: words 0, 2, 3; addresses: 4..11 */
		h = mg_hash3(k[0] ^ k[2] ^ k[3], k[4] ^ k[5] ^ k[6] ^ k[7],
			     k[8] ^ k[9] ^ k[10] ^ k[11]);
		slot = h % MG_FIBC_SEEN;
		seen = bpf_map_lookup_elem(&mg_fibc_seen, &slot);
		if (!seen)
			return 0;
		if (seen->hash != h || now - seen->when >= MG_FIBC_TTL_NS) {
			seen->hash = h;
			seen->when = now;
			return 0;
		}
	}
	t->val.expires = now + MG_FIBC_TTL_NS;
	t->val.nh = *nh;
	bpf_map_update_elem(&mg_fibc, &t->key, &t->val, BPF_ANY);
	return 0;
}

static __always_inline void mg_nh_from_map(struct mg_nexthop *nh,
					   const struct mg_nh_val *v)
{
	nh->ifindex = v->ifindex;
	nh->mtu = v->mtu;
	__builtin_memcpy(nh->smac, v->smac, 6);
	__builtin_memcpy(nh->dmac, v->dmac, 6);
}

/*
 * Underlay next hop towards a peer gateway (IPv4 or IPv6 by gw->family);
 * tot_len is the outer packet's L3 length.
 */
static __always_inline int mg_underlay_nh(mg_ctx_t *ctx,
					  const struct mg_addr *gw,
					  __u16 tot_len, struct mg_nexthop *nh)
{
	struct mg_nh_val *v;

	if (gw->family == MG_AF_INET) {
		if (cfg_nh_table) {
			v = bpf_map_lookup_elem(&mg_nh4_v2, &gw->addr[0]);
			if (v) {
				mg_nh_from_map(nh, v);
				return 0;
			}
		}
		return mg_fib4(ctx, cfg_tunnel4, gw->addr[0], 0, IPPROTO_UDP,
			       tot_len, nh);
	}
	if (cfg_nh_table) {
		v = bpf_map_lookup_elem(&mg_nh6, gw->addr);
		if (v) {
			mg_nh_from_map(nh, v);
			return 0;
		}
	}
	{
		/* Element by element: a cast would fold the initial zeros. */
		__u32 own[4] = { cfg_tunnel6[0], cfg_tunnel6[1],
				 cfg_tunnel6[2], cfg_tunnel6[3] };

		return mg_fib6(ctx, own, gw->addr, IPPROTO_UDP, tot_len, nh);
	}
}

#endif
