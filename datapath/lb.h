/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Global service load balancing (DESIGN §2 path 3), IPv4 (and IPv6 the
 * same way, further down, in mg_svc6/mg_lbbe6/mg_ct6_v2/mg_rnat6):
 *
 *   VIP:port/proto (mg_svc) -> live flow in mg_ct4_v2 with a live backend?
 *                              keep it (a TCP flow opens with a SYN only)
 *                           -> else Maglev: the service's table (mg_lbring)
 *                              hashed by the 5-tuple -> backend (mg_lbbe)
 *   -> DNAT to the backend (incremental checksums), then
 *      remote backend: path 1, encapsulated to its cluster; the backend
 *                      sees the client; the reply is reverse-NATed on the
 *                      decap path (nat.h, called from tunnel.h);
 *      local backend:  SNAT to our cluster-side address too, routed to it;
 *                      the reply comes back to us and is reverse-NATed here.
 *
 * The agent keeps which backends are in a table (health, affinity,
 * clusters without a live gateway); an established flow keeps its backend
 * across table changes until the agent takes that backend's LIVE flag away
 * or re-uses its slot (gen).
 */
#ifndef MG_DP_LB_H
#define MG_DP_LB_H

#include "ct.h"
#include "nat.h"
#include "ratelimit.h"
#include "rst.h"
#include "tunnel.h"

/* Not service traffic: the caller goes on with the packet. */
#define MG_LB_MISS	(-1)
/* DNATed to a remote backend: the caller encapsulates it to *dst. */
#define MG_LB_EGRESS	(-2)
/* DNATed to a local backend: the caller routes it (mg_lb_forward()). */
#define MG_LB_FORWARD	(-3)

static __always_inline int mg_lb_backend_get(__u32 slot, __u32 gen,
					     struct mg_lb_backend *out)
{
	struct mg_lb_backend *be = bpf_map_lookup_elem(&mg_lbbe, &slot);

	if (!be || !(be->flags & MG_LB_BE_F_LIVE) || be->gen != gen)
		return -1;
	*out = *be;
	return 0;
}

/* Maglev: the service's table at hash -> a backend slot (either family). */
static __always_inline int mg_lb_ring_slot(__u32 svc_id, __u32 hash,
					   __u32 *slot)
{
	__u32 i = hash % MG_LB_RING_SIZE, *s;
	void *ring;

	ring = bpf_map_lookup_elem(&mg_lbring, &svc_id);
	if (!ring)
		return -1;
	s = bpf_map_lookup_elem(ring, &i);
	if (!s)
		return -1;
	*slot = *s;
	return 0;
}

/*
 * Circuit breaking: a backend holding max_flows flows takes no new one;
 * the flow goes to the next entry of the Maglev table that names another
 * backend with room, up to MG_LB_CB_PROBES entries on.
 */
#define MG_LB_CB_PROBES	16

/*
 * Maglev: the service's table at hash -> the slot of a live backend with
 * room (under max flows, 0: no maximum); or -MG_DROP_NO_BACKEND (none
 * live) or -MG_DROP_OVERLOADED (live ones, all full).  An entry whose
 * backend is not LIVE (a table written while its health changes) passes
 * the flow to the next entry, as a full one does: with the fast failure
 * a new flow meeting such a moment would be refused, not retried.  v6: the slots are
 * mg_lbbe6's.  A global function: the verifier checks its probe loop
 * once, not once per path of each caller.
 */
__attribute__((noinline))
int mg_lb_pick_slot(__u32 svc_id, __u32 hash, __u32 max, int v6)
{
	__u32 i = hash % MG_LB_RING_SIZE, *s;
	int rc = -MG_DROP_NO_BACKEND;
	void *ring;

	ring = bpf_map_lookup_elem(&mg_lbring, &svc_id);
	if (!ring)
		return rc;
	for (int p = 0; p < MG_LB_CB_PROBES; p++) {
		__u8 flags;

		s = bpf_map_lookup_elem(ring, &i);
		if (!s)
			return rc;
		if (v6) {
			struct mg_lb_backend6 *b6;

			b6 = bpf_map_lookup_elem(&mg_lbbe6, s);
			if (!b6)
				return rc;
			flags = b6->flags;
		} else {
			struct mg_lb_backend *b4;

			b4 = bpf_map_lookup_elem(&mg_lbbe, s);
			if (!b4)
				return rc;
			flags = b4->flags;
		}
		if (!(flags & MG_LB_BE_F_LIVE)) {
			/* Not live (yet or any more): the next entry's. */
		} else if (!mg_be_full(*s, max)) {
			return *s & 0x7fffffff;
		} else {
			rc = -MG_DROP_OVERLOADED;
		}
		i = i + 1 < MG_LB_RING_SIZE ? i + 1 : 0;
	}
	return rc;
}

/*
 * mg_lb_pick_slot() as a new flow's pick: 0 and *slot, or a reason.  TC
 * (the host's own flows, never broken) looks at the table's entry alone,
 * inline: its program is near the verifier's limit.
 */
static __always_inline int mg_lb_new_slot(__u32 svc_id, __u32 hash,
					  __u32 max, int v6, __u32 *slot)
{
	int rc;

	if (MG_CTX_HOST)
		return mg_lb_ring_slot(svc_id, hash, slot) ?
		       MG_DROP_NO_BACKEND : 0;
	rc = mg_lb_pick_slot(svc_id, hash, max, v6);
	if (rc < 0)
		return rc == -MG_DROP_OVERLOADED ? MG_DROP_OVERLOADED :
						    MG_DROP_NO_BACKEND;
	*slot = rc;
	return 0;
}

/* Maglev: the service's table at hash -> a live backend and its slot. */
static __always_inline int mg_lb_pick(__u32 svc_id, __u32 hash, __u32 max,
				      __u32 *slot, struct mg_lb_backend *out)
{
	struct mg_lb_backend *be;
	int rc;

	rc = mg_lb_new_slot(svc_id, hash, max, 0, slot);
	if (rc)
		return rc;
	be = bpf_map_lookup_elem(&mg_lbbe, slot);
	if (!be || !(be->flags & MG_LB_BE_F_LIVE))
		return MG_DROP_NO_BACKEND;
	*out = *be;
	return 0;
}

/*
 * Route a NATed packet on the cluster side: to a local backend, or a
 * local backend's reply to its client.  The kernel takes what the FIB
 * cannot finish (neighbour unknown, too big: it answers with ICMP).
 */
static __always_inline int mg_lb_forward(mg_ctx_t *ctx,
					 struct ethhdr *eth, struct iphdr *ip,
					 enum mg_reason why, __u64 ids)
{
	struct mg_nexthop nh;
	int rc;

	/* A GSO packet (TC) is cut to the route's MTU after us. */
	rc = mg_fib4(ctx, ip->saddr, ip->daddr, ip->tos, ip->protocol,
		     mg_ctx_is_gso(ctx) ? 0 : bpf_ntohs(ip->tot_len), &nh);
	/*
	 * The host's own packet (TC) has nobody to take it back: the kernel
	 * resolves the neighbour on the way out instead.
	 */
	if (MG_CTX_HOST && rc == MG_DROP_NO_NEIGH && nh.ifindex)
		return mg_exit_ids(ctx, why,
				   mg_ctx_redirect_neigh(nh.ifindex), ids);
	if (rc == MG_DROP_NO_NEIGH || (!rc && !nh.ifindex))
		return mg_exit_ids(ctx, MG_LB_STACK, MG_ACT_PASS, ids);
	if (rc)
		return mg_exit_ids(ctx, rc, MG_ACT_DROP, ids);
	ipv4_decrease_ttl(ip);
	__builtin_memcpy(eth->h_dest, nh.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh.smac, ETH_ALEN);
	/* Local backends and their clients often share one cluster-side link. */
	return mg_exit_ids(ctx, why, mg_ctx_redirect(ctx, nh.ifindex), ids);
}

/* A local backend's reply (or ICMP error) to our SNAT address. */
static __always_inline int mg_lb4_reply(mg_ctx_t *ctx,
					struct ethhdr *eth, struct iphdr *ip)
{
	if (ip->ttl <= 1 ||
	    !mg_nat_reply4_at(ctx, (void *)ip - (void *)(long)ctx->data))
		return MG_LB_MISS;
	return mg_lb_forward(ctx, eth, ip, MG_LB_REPLY, 0);
}

/*
 * The flow's backend: the tracked one while it lives, else a new pick
 * (tracked, with its reverse NAT).  Returns 0 or a reason.
 */
static __always_inline int mg_lb4_backend(const struct mg_ct4_key *k,
					  const struct mg_svc_val *svc,
					  __u32 maxf,
					  __u8 tcp, struct mg_ct4_val *ct,
					  struct mg_lb_backend *be, __u64 now)
{
	struct mg_ct4_val *old;
	__u32 slot;
	int rc;

	old = bpf_map_lookup_elem(&mg_ct4_v2, k);
	if (old && now >= old->expires)
		old = NULL;		/* over: as if it were not there */
	if (old && !mg_lb_backend_get(old->backend, old->gen, be)) {
		mg_outlier_retry(old->backend, old->state, old->flags,
				 k->proto, tcp);
		mg_ct_seen(&old->state, &old->flags, &old->expires, k->proto,
			   tcp, 0, now);
		*ct = *old;
		return 0;
	}
	/* A new flow, or a live one whose backend is gone: it moves. */
	rc = mg_lb_pick(svc->id, mg_ct4_hash(k), maxf,
			&slot, be);
	if (rc)
		return rc;
	if (!old && !mg_ct_picks_up(k->proto, tcp, be->flags))
		return MG_DROP_CT_NO_SYN;
	if (!old && !MG_CTX_HOST && !mg_svc_take(svc->id, 1, now))
		return MG_DROP_RATE_LIMITED;
	ct->backend = slot;
	ct->gen = be->gen;
	ct->snat_addr = 0;
	ct->snat_port = 0;
	ct->state = old ? old->state : MG_CT_OPENING;
	ct->flags = old ? old->flags : 0;
	ct->expires = 0;
	mg_ct_seen(&ct->state, &ct->flags, &ct->expires, k->proto, tcp, 0,
		   now);
	/* A remote backend's reply finds this entry through mg_lbrev. */
	if (be->flags & MG_LB_BE_F_LOCAL) {
		ct->snat_port = mg_ct4_snat_at(k->saddr, k->daddr,
					       (__u32)k->sport << 16 | k->dport,
					       be->addr,
					       (__u32)be->port << 8 | k->proto);
		if (!ct->snat_port)
			return MG_DROP_NO_SNAT;
		ct->snat_addr = cfg_cluster4;
	}
	if (bpf_map_update_elem(&mg_ct4_v2, k, ct, BPF_ANY))
		return MG_DROP_CT;
	if (!MG_CTX_HOST)
		mg_be_flow_add(slot);
	if (!(be->flags & MG_LB_BE_F_LOCAL))
		mg_ct4_forget_siblings(k, be);
	return 0;
}

/*
 * An IPv4 packet whose destination is no remote endpoint: a service
 * packet (a verdict; MG_LB_EGRESS with *dst the backend's cluster; or
 * MG_LB_FORWARD; both with *lb the service and backend for the events,
 * struct mg_inner's lb), a local backend's reply (a verdict), or
 * MG_LB_MISS.
 * c is past the IPv4 header.  On TC the packet pointers are stale after a
 * DNAT (the caller parses again).
 */
static __always_inline int mg_lb4(mg_ctx_t *ctx, struct cursor *c,
				  struct ethhdr *eth, struct iphdr *ip,
				  int proto, struct mg_ep_val *dst, __u32 *lb)
{
	struct mg_svc_key sk = { .vip = ip->daddr };
	struct mg_lb_backend be;
	struct mg_svc_val *svc = NULL;
	__u32 maxf;
	__u64 now;
	struct mg_ct4_val ct;
	struct mg_ct4_key k;
	struct nat_l4 n;
	__u16 *ports = c->pos;
	int rc;

	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) &&
	    !ipv4_is_fragment(ip) && (void *)(ports + 2) <= c->end) {
		sk.port = ports[1];
		sk.proto = proto;
		svc = bpf_map_lookup_elem(&mg_svc, &sk);
	}
	if (!svc) {
		if (cfg_cluster4 && ip->daddr == cfg_cluster4)
			return mg_lb4_reply(ctx, eth, ip);
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			return MG_LB_MISS;
		if (sk.proto)
			return MG_LB_MISS;	/* a port the VIP does not serve */
		/* Fragment or truncated: is it a VIP's at all? */
		sk.port = 0;
		if (!bpf_map_lookup_elem(&mg_svc, &sk))
			return MG_LB_MISS;
		if (ipv4_is_fragment(ip))
			return mg_exit(ctx, MG_DROP_VIP_FRAG, MG_ACT_DROP);
		return mg_exit(ctx, MG_DROP_MALFORMED, MG_ACT_DROP);
	}
	if (nat_l4_parse(c->pos, c->end, proto, &n))
		return mg_exit_ids(ctx, MG_DROP_MALFORMED, MG_ACT_DROP,
				   MG_EV_SVC(svc->id, -1));
	if (ip->ttl <= 1)
		return mg_exit_ids(ctx, MG_TTL_EXCEEDED, MG_ACT_PASS,
				   MG_EV_SVC(svc->id, -1));

	now = mg_ct_now();
	/* The host's own flows (TC) are not limited (ratelimit.h). */
	if (!MG_CTX_HOST && !mg_svc_take(svc->id, 0, now))
		return mg_exit_ids(ctx, MG_DROP_RATE_LIMITED, MG_ACT_DROP,
				   MG_EV_SVC(svc->id, -1));
	maxf = MG_CTX_HOST ? 0 : mg_svc_maxflows(svc->id);
	mg_ct4_key_fill(&k, ip, n.ports, proto);
	rc = mg_lb4_backend(&k, svc, maxf, n.udp ? 0 : mg_tcp_flags(n.ports),
			    &ct, &be, now);
	if (rc == MG_DROP_NO_BACKEND || rc == MG_DROP_OVERLOADED)
		return mg_lb_fail(ctx, svc, rc, ip, n.ports, n.udp, 0);
	if (rc)
		return mg_exit_ids(ctx, rc, MG_ACT_DROP,
				   MG_EV_SVC(svc->id, -1));
	mg_lb_count(ctx, svc->id, ct.backend);

	/* DNAT, and SNAT to a local backend (see mg_ctx_nat_field()). */
	if (MG_CTX_CSUM_HELPERS) {
		void *data = (void *)(long)ctx->data;
		__u32 l3 = (void *)ip - data, l4 = (void *)n.ports - data;
		__u32 co = nat_csum_off(proto, l4);
		__u32 daddr = ip->daddr, saddr = ip->saddr;
		__u16 dport = n.ports[1], sport = n.ports[0];
		int udp = proto == IPPROTO_UDP;

		if (mg_ctx_nat_field(ctx, l3, co, l3 + 16, daddr, be.addr, 4,
				     1, udp) ||
		    mg_ctx_nat_field(ctx, l3, co, l4 + 2, dport, be.port, 2, 0,
				     udp))
			return mg_exit_ids(ctx, MG_DROP_HEADROOM, MG_ACT_DROP,
					   MG_EV_SVC(svc->id, ct.backend));
		if (ct.snat_addr &&
		    (mg_ctx_nat_field(ctx, l3, co, l3 + 12, saddr,
				      ct.snat_addr, 4, 1, udp) ||
		     mg_ctx_nat_field(ctx, l3, co, l4, sport, ct.snat_port, 2,
				      0, udp)))
			return mg_exit_ids(ctx, MG_DROP_HEADROOM, MG_ACT_DROP,
					   MG_EV_SVC(svc->id, ct.backend));
	} else {
		nat4_addr(ip, &ip->daddr, be.addr, &n);
		nat4_port(&n.ports[1], be.port, &n);
		if (ct.snat_addr) {
			nat4_addr(ip, &ip->saddr, ct.snat_addr, &n);
			nat4_port(&n.ports[0], ct.snat_port, &n);
		}
		nat_l4_done(&n);
	}

	*lb = (svc->id + 1) | (ct.backend + 1) << 16;
	if (be.flags & MG_LB_BE_F_LOCAL)
		return MG_LB_FORWARD;
	/* The caller's path 1 takes it: one copy of it for the verifier. */
	dst->cluster_id = be.cluster_id;
	dst->flags = 0;
	return MG_LB_EGRESS;
}

/* --- IPv6 ------------------------------------------------------------------ */

/*
 * mg_lb_forward() for IPv6: to a local backend, or a local backend's reply
 * to its client.
 */
static __always_inline int mg_lb_forward6(mg_ctx_t *ctx, struct ethhdr *eth,
					  struct ipv6hdr *ip,
					  enum mg_reason why, __u64 ids)
{
	struct mg_nexthop nh;
	int rc;

	rc = mg_fib6(ctx, ip->saddr.in6_u.u6_addr32,
		     ip->daddr.in6_u.u6_addr32, ip->nexthdr,
		     mg_ctx_is_gso(ctx) ? 0 :
		     sizeof(*ip) + bpf_ntohs(ip->payload_len), &nh);
	if (MG_CTX_HOST && rc == MG_DROP_NO_NEIGH && nh.ifindex)
		return mg_exit_ids(ctx, why,
				   mg_ctx_redirect_neigh(nh.ifindex), ids);
	if (rc == MG_DROP_NO_NEIGH || (!rc && !nh.ifindex))
		return mg_exit_ids(ctx, MG_LB_STACK, MG_ACT_PASS, ids);
	if (rc)
		return mg_exit_ids(ctx, rc, MG_ACT_DROP, ids);
	ip->hop_limit--;
	__builtin_memcpy(eth->h_dest, nh.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh.smac, ETH_ALEN);
	return mg_exit_ids(ctx, why, mg_ctx_redirect(ctx, nh.ifindex), ids);
}

/* A local backend's reply (or ICMPv6 error) to our SNAT address. */
static __always_inline int mg_lb6_reply(mg_ctx_t *ctx, struct ethhdr *eth,
					struct ipv6hdr *ip)
{
	if (ip->hop_limit <= 1 ||
	    !mg_nat_reply6_at(ctx, (void *)ip - (void *)(long)ctx->data))
		return MG_LB_MISS;
	return mg_lb_forward6(ctx, eth, ip, MG_LB_REPLY, 0);
}

/* mg_lb4_backend() for IPv6: flow s->k -> s->ct, s->be. */
static __always_inline int mg_lb6_backend(struct mg_lb6_scratch *s,
					  const struct mg_svc_val *svc,
					  __u32 maxf,
					  __u8 tcp, __u64 now)
{
	struct mg_lb_backend6 *b;
	struct mg_ct6_val *old;
	__u32 slot, h;
	int rc;

	old = bpf_map_lookup_elem(&mg_ct6_v2, &s->k);
	if (old && now >= old->expires)
		old = NULL;		/* over: as if it were not there */
	if (old) {
		b = bpf_map_lookup_elem(&mg_lbbe6, &old->backend);
		if (b && (b->flags & MG_LB_BE_F_LIVE) && b->gen == old->gen) {
			mg_outlier_retry(old->backend, old->state, old->flags,
					 s->k.proto, tcp);
			mg_ct_seen(&old->state, &old->flags, &old->expires,
				   s->k.proto, tcp, 0, now);
			s->ct = *old;
			s->be = *b;
			return 0;
		}
	}
	/* A new flow, or a live one whose backend is gone: it moves. */
	h = mg_ct6_hash(&s->k);
	rc = mg_lb_new_slot(svc->id, h, maxf, 1, &slot);
	if (rc)
		return rc;
	b = bpf_map_lookup_elem(&mg_lbbe6, &slot);
	if (!b || !(b->flags & MG_LB_BE_F_LIVE))
		return MG_DROP_NO_BACKEND;
	if (!old && !mg_ct_picks_up(s->k.proto, tcp, b->flags))
		return MG_DROP_CT_NO_SYN;
	if (!old && !MG_CTX_HOST && !mg_svc_take(svc->id, 1, now))
		return MG_DROP_RATE_LIMITED;
	s->be = *b;
	__builtin_memset(&s->ct, 0, sizeof(s->ct));
	s->ct.backend = slot;
	s->ct.gen = b->gen;
	s->ct.state = old ? old->state : MG_CT_OPENING;
	s->ct.flags = old ? old->flags : 0;
	mg_ct_seen(&s->ct.state, &s->ct.flags, &s->ct.expires, s->k.proto,
		   tcp, 0, now);
	if ((s->be.flags & MG_LB_BE_F_LOCAL) &&
	    mg_ct6_snat_at(h, mg_snat_base(mg_fold6w(s->k.saddr),
					   mg_fold6w(s->be.addr),
					   s->be.port)))
		return MG_DROP_NO_SNAT;
	if (bpf_map_update_elem(&mg_ct6_v2, &s->k, &s->ct, BPF_ANY))
		return MG_DROP_CT;
	if (!MG_CTX_HOST)
		mg_be_flow_add(slot);
	if (!(s->be.flags & MG_LB_BE_F_LOCAL))
		mg_ct6_forget_siblings(s);
	return 0;
}

/*
 * mg_lb4() for IPv6: info is what parse_ipv6() found, c is past the
 * extension headers.  On TC the packet pointers are stale after a DNAT.
 */
static __always_inline int mg_lb6(mg_ctx_t *ctx, struct cursor *c,
				  struct ethhdr *eth, struct ipv6hdr *ip,
				  const struct ip6_info *info,
				  struct mg_ep_val *dst, __u32 *lb)
{
	__u32 *da = ip->daddr.in6_u.u6_addr32;
	struct mg_lb6_scratch *s = mg_lb6_scratch();
	struct mg_svc_val *svc = NULL;
	__u32 maxf;
	__u8 proto = info->proto;
	__u64 now;
	struct nat_l4 n;
	__u16 *ports = c->pos;
	int rc;

	if (!s)
		return MG_LB_MISS;
	mg_addr6_copy(s->sk.vip, da);
	s->sk.port = 0;
	s->sk.proto = 0;
	s->sk.pad = 0;
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && !info->frag &&
	    (void *)(ports + 2) <= c->end) {
		s->sk.port = ports[1];
		s->sk.proto = proto;
		svc = bpf_map_lookup_elem(&mg_svc6, &s->sk);
	}
	if (!svc) {
		if (mg_cluster6_set() && mg_is_cluster6(da))
			return mg_lb6_reply(ctx, eth, ip);
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			return MG_LB_MISS;
		if (s->sk.proto)
			return MG_LB_MISS;	/* a port the VIP does not serve */
		/* Fragment or truncated: is it a VIP's at all? */
		if (!bpf_map_lookup_elem(&mg_svc6, &s->sk))
			return MG_LB_MISS;
		if (info->frag)
			return mg_exit(ctx, MG_DROP_VIP_FRAG, MG_ACT_DROP);
		return mg_exit(ctx, MG_DROP_MALFORMED, MG_ACT_DROP);
	}
	if (nat_l4_parse(c->pos, c->end, proto, &n))
		return mg_exit_ids(ctx, MG_DROP_MALFORMED, MG_ACT_DROP,
				   MG_EV_SVC(svc->id, -1));
	if (ip->hop_limit <= 1)
		return mg_exit_ids(ctx, MG_TTL_EXCEEDED, MG_ACT_PASS,
				   MG_EV_SVC(svc->id, -1));

	now = mg_ct_now();
	/* The host's own flows (TC) are not limited (ratelimit.h). */
	if (!MG_CTX_HOST && !mg_svc_take(svc->id, 0, now))
		return mg_exit_ids(ctx, MG_DROP_RATE_LIMITED, MG_ACT_DROP,
				   MG_EV_SVC(svc->id, -1));
	maxf = MG_CTX_HOST ? 0 : mg_svc_maxflows(svc->id);
	mg_ct6_key_fill(&s->k, ip, n.ports, proto);
	rc = mg_lb6_backend(s, svc, maxf, n.udp ? 0 : mg_tcp_flags(n.ports), now);
	if (rc == MG_DROP_NO_BACKEND || rc == MG_DROP_OVERLOADED)
		return mg_lb_fail(ctx, svc, rc, ip, n.ports, n.udp, 1);
	if (rc)
		return mg_exit_ids(ctx, rc, MG_ACT_DROP,
				   MG_EV_SVC(svc->id, -1));
	mg_lb_count(ctx, svc->id, s->ct.backend);

	/* DNAT, and SNAT to a local backend (see mg_ctx_nat_field()). */
	if (MG_CTX_CSUM_HELPERS) {
		void *data = (void *)(long)ctx->data;
		__u32 l3 = (void *)ip - data, l4 = (void *)n.ports - data;
		__u32 co = nat_csum_off(proto, l4);
		__u16 dport = n.ports[1], sport = n.ports[0];
		int udp = proto == IPPROTO_UDP;

		if (mg_ctx_nat_addr6(ctx, co, l3 + 24, s->be.addr, udp) ||
		    mg_ctx_nat_field(ctx, l3, co, l4 + 2, dport, s->be.port, 2,
				     0, udp))
			return mg_exit_ids(ctx, MG_DROP_HEADROOM, MG_ACT_DROP,
					   MG_EV_SVC(svc->id, s->ct.backend));
		if (s->ct.snat_port &&
		    (mg_ctx_nat_addr6(ctx, co, l3 + 8, s->ct.snat_addr, udp) ||
		     mg_ctx_nat_field(ctx, l3, co, l4, sport, s->ct.snat_port,
				      2, 0, udp)))
			return mg_exit_ids(ctx, MG_DROP_HEADROOM, MG_ACT_DROP,
					   MG_EV_SVC(svc->id, s->ct.backend));
	} else {
		nat6_addr(da, s->be.addr, &n);
		nat4_port(&n.ports[1], s->be.port, &n);
		if (s->ct.snat_port) {
			nat6_addr(ip->saddr.in6_u.u6_addr32, s->ct.snat_addr,
				  &n);
			nat4_port(&n.ports[0], s->ct.snat_port, &n);
		}
		nat_l4_done(&n);
	}

	*lb = (svc->id + 1) | (s->ct.backend + 1) << 16;
	if (s->be.flags & MG_LB_BE_F_LOCAL)
		return MG_LB_FORWARD;
	dst->cluster_id = s->be.cluster_id;
	dst->flags = 0;
	return MG_LB_EGRESS;
}

#endif
