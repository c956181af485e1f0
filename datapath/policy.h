/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Cross-cluster policy: one call on each side of the tunnel.  Path 1
 * (encapsulation) asks with our own cluster as the source and the
 * destination's cluster, before the packet takes the tunnel; path 2
 * (decapsulation) asks again with the cluster the VNI named, never
 * trusting the sender to have asked.
 *
 * A packet costs a fixed number of lookups, however many rules (the
 * agent compiled them, agent/policy.c; the maps in abi.h):
 *
 *   mg_polcfg   off: nothing more (one array load)
 *   mg_pold4/6  destination -> class, or the cluster's default on a miss
 *   mg_pols4/6  (class, source) -> source class, if the class has sources
 *   mg_polp     (class, port) -> port class, if the class has ports
 *   mg_polv     (class, source class, port class, cluster, proto) -> verdict
 *
 * Replies of allowed flows: a packet that opens a flow (TCP SYN without
 * ACK, a UDP datagram, an ICMP echo request) and is allowed is noted in
 * mg_polct as it went; a packet that would be denied is let through when
 * its reverse is noted there (TCP while the entry lasts in the LRU, UDP
 * and ICMP echo for MG_POL_CT_NS after the last allowed packet).
 */
#ifndef MG_DP_POLICY_H
#define MG_DP_POLICY_H

#include "maps.h"
#include "parse.h"
#include "stats.h"

/* UDP and ICMP echo replies are let through this long after a request. */
#define MG_POL_CT_NS		(180ULL * 1000000000ULL)
/* A UDP or echo flow's note is refreshed at most this often. */
#define MG_POL_CT_REFRESH_NS	(10ULL * 1000000000ULL)

struct mg_pol_pkt {
	__u16 sport, dport;	/* network order; ICMP echo: id, 0 */
	__u8 pclass;		/* MG_POL_P_* */
	__u8 opens;		/* opens a flow: note it when allowed */
	__u8 reply;		/* may be a reply: look its reverse up */
	__u8 tcp;
};

static __always_inline void mg_pol_l4(const struct mg_inner *in, void *end,
				      struct mg_pol_pkt *p)
{
	__u8 *b = in->l4;

	p->sport = 0;
	p->dport = 0;
	p->opens = 0;
	p->reply = 1;
	p->tcp = 0;
	p->pclass = MG_POL_P_ANY;
	if (in->proto == IPPROTO_TCP) {
		p->pclass = MG_POL_P_TCP;
		p->tcp = 1;
	} else if (in->proto == IPPROTO_UDP) {
		p->pclass = MG_POL_P_UDP;
	} else if (in->proto == IPPROTO_ICMP || in->proto == IPPROTO_ICMPV6) {
		p->pclass = MG_POL_P_ICMP;
	}
	if (in->frag || (void *)(b + 14) > end)
		return;
	if (p->pclass == MG_POL_P_TCP || p->pclass == MG_POL_P_UDP) {
		p->sport = *(__u16 *)b;
		p->dport = *(__u16 *)(b + 2);
		/* TCP flags: SYN without ACK opens. */
		p->opens = !p->tcp || (b[13] & 0x12) == 0x02;
	} else if (p->pclass == MG_POL_P_ICMP) {
		/* Echo request (8, 128) opens; echo reply (0, 129) answers. */
		if (b[0] == 8 || b[0] == 128)
			p->opens = 1;
		else if (b[0] != 0 && b[0] != 129)
			p->reply = 0;
		if (p->opens || p->reply)
			p->sport = *(__u16 *)(b + 4);
	}
}

/* The flow's key as it went (rev = 0) or as its reply would (rev = 1). */
static __always_inline void mg_pol_ct_key(struct mg_pol_ct_key *k,
					  const struct mg_inner *in,
					  const struct mg_pol_pkt *p, int rev)
{
	struct iphdr *ip4 = in->ip;
	struct ipv6hdr *ip6 = in->ip;

	__builtin_memset(k, 0, sizeof(*k));
	k->family = in->family;
	k->proto = in->proto;
	if (p->pclass == MG_POL_P_ICMP) {
		k->sport = p->sport;
	} else {
		k->sport = rev ? p->dport : p->sport;
		k->dport = rev ? p->sport : p->dport;
	}
	if (in->family == MG_AF_INET) {
		k->saddr[0] = rev ? ip4->daddr : ip4->saddr;
		k->daddr[0] = rev ? ip4->saddr : ip4->daddr;
	} else if (rev) {
		__builtin_memcpy(k->saddr, &ip6->daddr, 16);
		__builtin_memcpy(k->daddr, &ip6->saddr, 16);
	} else {
		__builtin_memcpy(k->saddr, &ip6->saddr, 16);
		__builtin_memcpy(k->daddr, &ip6->daddr, 16);
	}
}

/* An allowed packet that opens a flow: its replies will be allowed. */
static __always_inline void mg_pol_note(const struct mg_inner *in,
					const struct mg_pol_pkt *p)
{
	struct mg_pol_ct_val v, *old;
	struct mg_pol_ct_key k;

	if (!p->opens)
		return;
	mg_pol_ct_key(&k, in, p, 0);
	v.seen_ns = bpf_ktime_get_ns();
	if (!p->tcp) {
		old = bpf_map_lookup_elem(&mg_polct, &k);
		if (old && v.seen_ns - old->seen_ns < MG_POL_CT_REFRESH_NS)
			return;
	}
	bpf_map_update_elem(&mg_polct, &k, &v, BPF_ANY);
}

/* Is this packet a reply of a flow allowed here? */
static __always_inline int mg_pol_is_reply(const struct mg_inner *in,
					   const struct mg_pol_pkt *p)
{
	struct mg_pol_ct_val *v;
	struct mg_pol_ct_key k;

	if (!p->reply)
		return 0;
	mg_pol_ct_key(&k, in, p, 1);
	v = bpf_map_lookup_elem(&mg_polct, &k);
	if (!v)
		return 0;
	return p->tcp || bpf_ktime_get_ns() - v->seen_ns < MG_POL_CT_NS;
}

/* The compiled verdict for a packet whose destination is in class d. */
static __always_inline const struct mg_pol_verdict *
mg_pol_lookup(const struct mg_inner *in, const struct mg_pol_dst *d,
	      const struct mg_pol_pkt *p, __u8 src_cluster)
{
	struct mg_pol_key k = {
		.class = d->class,
	};
	__u32 *v;

	if ((d->flags & MG_POL_F_CLUSTER) &&
	    (d->clusters[src_cluster >> 3] & (1 << (src_cluster & 7))))
		k.cluster = src_cluster;
	if ((d->flags & MG_POL_F_PROTO) && (d->protos & (1 << p->pclass)))
		k.proto = p->pclass;
	if (d->flags & MG_POL_F_SRC) {
		if (in->family == MG_AF_INET) {
			struct mg_pol_src4_key sk = {
				.prefixlen = 64,
				.class = bpf_htonl(d->class),
				.addr = ((struct iphdr *)in->ip)->saddr,
			};

			v = bpf_map_lookup_elem(&mg_pols4, &sk);
		} else {
			struct mg_pol_src6_key sk = {
				.prefixlen = 160,
				.class = bpf_htonl(d->class),
			};

			__builtin_memcpy(sk.addr,
					 &((struct ipv6hdr *)in->ip)->saddr, 16);
			v = bpf_map_lookup_elem(&mg_pols6, &sk);
		}
		if (v)
			k.sclass = *v;
	}
	if ((d->flags & MG_POL_F_PORT) &&
	    (p->pclass == MG_POL_P_TCP || p->pclass == MG_POL_P_UDP) &&
	    !in->frag) {
		struct mg_pol_port_key pk = {
			.prefixlen = 48,
			.class = bpf_htonl(d->class),
			.port = p->dport,
		};

		v = bpf_map_lookup_elem(&mg_polp, &pk);
		if (v)
			k.pclass = *v;
	}
	return bpf_map_lookup_elem(&mg_polv, &k);
}

/*
 * The policy of the packet's destination cluster (dst_cluster) for a
 * packet from src_cluster.  -1: allowed, go on; else the packet was
 * dropped under policy_denied and this is the verdict to return.
 */
static __always_inline int mg_policy_check(mg_ctx_t *ctx,
					   const struct mg_inner *in,
					   __u8 src_cluster, __u8 dst_cluster)
{
	const struct mg_pol_verdict *pv;
	const struct mg_pol_cfg *cfg;
	const struct mg_pol_dst *d;
	struct mg_pol_pkt p;
	__u32 zero = 0;
	__u8 verdict;

	cfg = bpf_map_lookup_elem(&mg_polcfg, &zero);
	if (!cfg || !(cfg->flags & MG_POL_CFG_ON))
		return -1;
	mg_pol_l4(in, (void *)(long)ctx->data_end, &p);
	if (in->family == MG_AF_INET) {
		struct mg_ep4_key k = {
			.prefixlen = 32,
			.addr = ((struct iphdr *)in->ip)->daddr,
		};

		d = bpf_map_lookup_elem(&mg_pold4, &k);
	} else {
		struct mg_ep6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, &((struct ipv6hdr *)in->ip)->daddr,
				 16);
		d = bpf_map_lookup_elem(&mg_pold6, &k);
	}
	if (!d) {
		verdict = cfg->def[dst_cluster];
	} else {
		pv = mg_pol_lookup(in, d, &p, src_cluster);
		verdict = pv ? pv->verdict : d->def;
	}
	if (verdict != MG_POL_DENY) {
		mg_pol_note(in, &p);
		return -1;
	}
	if (mg_pol_is_reply(in, &p))
		return -1;
	return mg_exit(ctx, MG_DROP_POLICY, MG_ACT_DROP);
}

#endif
