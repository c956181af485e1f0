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
 *               (a hash lookup per destination prefix length in use)
 *   mg_pols4/6  (class, source) -> source class, if the class has sources
 *   mg_polp     (class, port bucket[, port]) -> port class, if it has ports
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
#include "stats.h"

/* UDP and ICMP echo replies are let through this long after a request. */
#define MG_POL_CT_NS (180ULL * 1000000000ULL)
/* A UDP or echo flow's note is refreshed at most this often. */
#define MG_POL_CT_REFRESH_NS (10ULL * 1000000000ULL)

#define MG_POL_Q_OPENS 0x01 /* opens a flow: noted when allowed */
#define MG_POL_Q_REPLY 0x02 /* may be a reply: reverse looked up */
#define MG_POL_Q_TCP 0x04
#define MG_POL_Q_FRAG 0x08 /* a fragment: no ports */

/* The flow's key as it went (rev = 0) or as its reply would (rev = 1). */
static __always_inline void mg_pol_ct_key(struct mg_pol_ct_key *k,
					  const struct mg_pol_query *q, int rev)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->family = q->family;
	k->proto = q->proto;
	if (q->pclass == MG_POL_P_ICMP) {
		k->sport = q->sport;
	} else {
		k->sport = rev ? q->dport : q->sport;
		k->dport = rev ? q->sport : q->dport;
	}
	if (rev) {
		__builtin_memcpy(k->saddr, q->daddr, 16);
		__builtin_memcpy(k->daddr, q->saddr, 16);
	} else {
		__builtin_memcpy(k->saddr, q->saddr, 16);
		__builtin_memcpy(k->daddr, q->daddr, 16);
	}
}

/* An allowed packet that opens a flow: its replies will be allowed. */
static __always_inline void mg_pol_note(const struct mg_pol_query *q)
{
	struct mg_pol_ct_val v, *old;
	struct mg_pol_ct_key k;

	if (!(q->flags & MG_POL_Q_OPENS))
		return;
	mg_pol_ct_key(&k, q, 0);
	v.seen_ns = bpf_ktime_get_ns();
	if (!(q->flags & MG_POL_Q_TCP)) {
		old = bpf_map_lookup_elem(&mg_polct, &k);
		if (old && v.seen_ns - old->seen_ns < MG_POL_CT_REFRESH_NS)
			return;
	}
	bpf_map_update_elem(&mg_polct, &k, &v, BPF_ANY);
}

/* Is this packet a reply of a flow allowed here? */
static __always_inline int mg_pol_is_reply(const struct mg_pol_query *q)
{
	struct mg_pol_ct_val *v;
	struct mg_pol_ct_key k;

	if (!(q->flags & MG_POL_Q_REPLY))
		return 0;
	mg_pol_ct_key(&k, q, 1);
	v = bpf_map_lookup_elem(&mg_polct, &k);
	if (!v)
		return 0;
	return (q->flags & MG_POL_Q_TCP) ||
	       bpf_ktime_get_ns() - v->seen_ns < MG_POL_CT_NS;
}

/* The network-order mask of the first bits (0..32) of a word. */
static __always_inline __u32 mg_pol_mask(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl(0xffffffffu << (32 - bits));
}

/*
 * The destination's class: one hash lookup per prefix length in use,
 * longest first (the agent keeps the lengths in mg_polcfg), the first hit
 * the longest rule destination holding it.  NULL: none.
 */
static __always_inline const struct mg_pol_dst *
mg_pol_dst4(const struct mg_pol_cfg *cfg, __u32 addr)
{
	struct mg_ep4_key k;
	const struct mg_pol_dst *d;

	for (int i = 0; i < 33; i++) {
		if (i >= cfg->nlen4)
			break;
		k.prefixlen = cfg->len4[i];
		k.addr = addr & mg_pol_mask(k.prefixlen);
		d = bpf_map_lookup_elem(&mg_pold4, &k);
		if (d)
			return d;
	}
	return NULL;
}

static __always_inline const struct mg_pol_dst *
mg_pol_dst6(const struct mg_pol_cfg *cfg, const __u32 *addr)
{
	struct mg_ep6_key k;
	const struct mg_pol_dst *d;

	for (int i = 0; i < 129; i++) {
		int len;

		if (i >= cfg->nlen6)
			break;
		len = cfg->len6[i];
		k.prefixlen = len;
		k.addr[0] = addr[0] & mg_pol_mask(len);
		k.addr[1] = addr[1] & mg_pol_mask(len - 32);
		k.addr[2] = addr[2] & mg_pol_mask(len - 64);
		k.addr[3] = addr[3] & mg_pol_mask(len - 96);
		d = bpf_map_lookup_elem(&mg_pold6, &k);
		if (d)
			return d;
	}
	return NULL;
}

/* The compiled verdict for a packet whose destination is in class d. */
static __always_inline const struct mg_pol_verdict *
mg_pol_lookup(const struct mg_pol_query *q, const struct mg_pol_dst *d,
	      __u8 src_cluster)
{
	struct mg_pol_key k = {
		.class = d->class,
	};
	__u32 *v;

	if ((d->flags & MG_POL_F_CLUSTER) &&
	    (d->clusters[(src_cluster >> 3) & 31] & (1 << (src_cluster & 7))))
		k.cluster = src_cluster;
	if ((d->flags & MG_POL_F_PROTO) && (d->protos & (1 << q->pclass)))
		k.proto = q->pclass;
	if (d->flags & MG_POL_F_SRC) {
		if (q->family == MG_AF_INET) {
			struct mg_pol_src4_key sk = {
				.prefixlen = 64,
				.class = bpf_htonl(d->class),
				.addr = q->saddr[0],
			};

			v = bpf_map_lookup_elem(&mg_pols4, &sk);
		} else {
			struct mg_pol_src6_key sk = {
				.prefixlen = 160,
				.class = bpf_htonl(d->class),
			};

			__builtin_memcpy(sk.addr, q->saddr, 16);
			v = bpf_map_lookup_elem(&mg_pols6, &sk);
		}
		if (v)
			k.sclass = *v;
	}
	if ((d->flags & MG_POL_F_PORT) && !(q->flags & MG_POL_Q_FRAG) &&
	    (q->pclass == MG_POL_P_TCP || q->pclass == MG_POL_P_UDP)) {
		struct mg_pol_port_key pk = {
			.class = d->class,
			.port = bpf_ntohs(q->dport) >> MG_POL_BUCKET_SHIFT,
		};

		v = bpf_map_lookup_elem(&mg_polp, &pk);
		if (v && *v == MG_POL_SPLIT) {
			pk.port = bpf_ntohs(q->dport);
			pk.exact = 1;
			v = bpf_map_lookup_elem(&mg_polp, &pk);
		}
		if (v)
			k.pclass = *v;
	}
	return bpf_map_lookup_elem(&mg_polv, &k);
}

/*
 * What of the inner packet the policy looks at (IP header at l3, upper
 * layer at l4, offsets from the frame's start), into q; -1 when the
 * addresses are not all there.
 */
static __always_inline int mg_pol_query_fill(mg_ctx_t *ctx,
					     struct mg_pol_query *q, __u32 l3,
					     __u32 l4, __u32 meta)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 o3 = l3, o4 = l4;
	__u8 *b;

	q->family = meta & 0xff;
	q->proto = (meta >> 8) & 0xff;
	q->sport = 0;
	q->dport = 0;
	q->flags = MG_POL_Q_REPLY;
	q->pclass = MG_POL_P_ANY;
	if (l3 > MG_PIN_L3_MAX)
		return -1;
	/* Masks the verifier sees on the registers added to data. */
	asm volatile("%0 &= 0x7f" : "+r"(o3));
	if (q->family == MG_AF_INET) {
		struct iphdr *ip = data + o3;

		if ((void *)(ip + 1) > end)
			return -1;
		__builtin_memset(q->saddr, 0, sizeof(q->saddr));
		__builtin_memset(q->daddr, 0, sizeof(q->daddr));
		q->saddr[0] = ip->saddr;
		q->daddr[0] = ip->daddr;
	} else {
		struct ipv6hdr *ip = data + o3;

		if ((void *)(ip + 1) > end)
			return -1;
		__builtin_memcpy(q->saddr, &ip->saddr, 16);
		__builtin_memcpy(q->daddr, &ip->daddr, 16);
	}
	if (q->proto == IPPROTO_TCP) {
		q->pclass = MG_POL_P_TCP;
		q->flags |= MG_POL_Q_TCP;
	} else if (q->proto == IPPROTO_UDP) {
		q->pclass = MG_POL_P_UDP;
	} else if (q->proto == IPPROTO_ICMP || q->proto == IPPROTO_ICMPV6) {
		q->pclass = MG_POL_P_ICMP;
	}
	if (meta & (1 << 16)) {
		q->flags |= MG_POL_Q_FRAG;
		return 0;
	}
	if (l4 > MG_PIN_L4_MAX)
		return 0;
	asm volatile("%0 &= 0x1ff" : "+r"(o4));
	b = data + o4;
	if ((void *)(b + 14) > end)
		return 0;
	if (q->pclass == MG_POL_P_TCP || q->pclass == MG_POL_P_UDP) {
		q->sport = *(__u16 *)b;
		q->dport = *(__u16 *)(b + 2);
		/* UDP: any datagram; TCP: SYN without ACK opens. */
		if (q->pclass == MG_POL_P_UDP || (b[13] & 0x12) == 0x02)
			q->flags |= MG_POL_Q_OPENS;
	} else if (q->pclass == MG_POL_P_ICMP) {
		/* Echo request (8, 128) opens; echo reply (0, 129) answers. */
		if (b[0] == 8 || b[0] == 128)
			q->flags = MG_POL_Q_OPENS;
		else if (b[0] != 0 && b[0] != 129)
			q->flags = 0;
		q->sport = *(__u16 *)(b + 4);
	}
	return 0;
}

/*
 * The decision on the inner packet at l3 / l4 (meta: family | proto << 8
 * | fragment << 16) from cluster (clusters & 0xff) to cluster
 * (clusters >> 8): 1 denied, 0 allowed.  A global function: the verifier
 * checks it once, on its own, not along every path of both callers.
 */
__attribute__((noinline)) int mg_pol_decide(mg_ctx_t *ctx, __u32 l3, __u32 l4,
					    __u32 meta, __u32 clusters)
{
	const struct mg_pol_verdict *pv;
	const struct mg_pol_cfg *cfg;
	const struct mg_pol_dst *d;
	struct mg_pol_query *q;
	struct mg_ev_state *ev;
	__u32 zero = 0, rule = 0;
	__u8 verdict;

	cfg = bpf_map_lookup_elem(&mg_polcfg, &zero);
	if (!cfg || !(cfg->flags & MG_POL_CFG_ON))
		return 0;
	q = bpf_map_lookup_elem(&mg_pol_tmp, &zero);
	if (!q || mg_pol_query_fill(ctx, q, l3, l4, meta))
		return 0;
	d = q->family == MG_AF_INET ? mg_pol_dst4(cfg, q->daddr[0]) :
				      mg_pol_dst6(cfg, q->daddr);
	if (!d) {
		verdict = cfg->def[(clusters >> 8) & (MG_MAX_CLUSTERS - 1)];
	} else {
		pv = mg_pol_lookup(q, d, clusters & 0xff);
		verdict = pv ? pv->verdict : d->def;
		rule = pv ? pv->rule : d->def_rule;
	}
	if (verdict != MG_POL_DENY) {
		mg_pol_note(q);
		return 0;
	}
	if (mg_pol_is_reply(q))
		return 0;
	/*
	 * The drop's event names the rule (the map holds owner << 24 | id;
	 * the event, the id): left in this CPU's stream state, which the
	 * exit's event reads (events.h).
	 */
	ev = bpf_map_lookup_elem(&mg_evstate, &zero);
	if (ev)
		ev->pol_rule = rule & 0xffffff;
	return 1;
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
	void *data = (void *)(long)ctx->data;

	if (!mg_pol_decide(ctx, in->ip - data, in->l4 - data,
			   in->family | in->proto << 8 |
				   (in->frag ? 1 : 0) << 16,
			   src_cluster | (__u32)dst_cluster << 8))
		return -1;
	return mg_exit(ctx, MG_DROP_POLICY, MG_ACT_DROP);
}

#endif
