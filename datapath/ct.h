/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking of service flows (DESIGN §2 path 3).  mg_ct4_v2 is
 * keyed by the client's packet to the VIP (which backend it was given);
 * a remote backend's reply finds that entry again through mg_lbrev (the
 * service the backend serves), so a new flow costs one insert.  A local
 * backend's reply comes to our SNAT address and port, which only mg_rnat4
 * (keyed by the reply) can turn back into the client's.  The datapath
 * alone writes both LRU maps.
 *
 * A flow lives as long as its packets say (abi.h, MG_CT_*): a TCP flow to
 * a local backend is created by the client's SYN only (to a remote one,
 * which takes no SNAT port, by any packet: mg_ct_picks_up()), is
 * established once the backend answered and the client went on, closes
 * on a FIN or RST either way, and expires after its state's timeout
 * without packets.  An expired entry is no flow: its next packet must
 * open a new one, and the SNAT port it held (the mg_rnat4 entry naming
 * it) is free for the next flow that wants it.
 * Nothing but the flows' own packets and the clock frees a port, so a
 * full pool empties again by itself; agent/ctgc.c removes expired entries
 * from the maps for tidiness only.
 */
#ifndef MG_DP_CT_H
#define MG_DP_CT_H

#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "config.h"
#include "hash.h"
#include "maps.h"
#include "outlier.h"

/* Local backends' flows are SNATed to ports above the kernel's ephemeral
 * range (net.ipv4.ip_local_port_range ends at 60999 by default), so they
 * never meet the gateway's own connections (health probes) to a backend. */
#define MG_LB_SNAT_PORT_MIN	61000
#define MG_LB_SNAT_PORTS	4536	/* up to 65535 */
/*
 * Each backend has a pool of its own (the reply's tuple holds the
 * backend), and one client may take at most half of it: a flow's ports
 * are tried in a window of MG_LB_SNAT_SHARE ports placed by the client's
 * and the backend's addresses, so a busy or hostile client leaves the
 * other half to everyone else, and different clients' windows overlap
 * at random.
 */
#define MG_LB_SNAT_SHARE	(MG_LB_SNAT_PORTS / 2)
#define MG_LB_SNAT_TRIES	32

#define MG_NSEC_PER_SEC		1000000000ULL

/* TCP flags, as they lie in byte 13 of the header. */
#define MG_TCP_FIN		0x01
#define MG_TCP_SYN		0x02
#define MG_TCP_RST		0x04
#define MG_TCP_ACK		0x10

/* The TCP flags of a packet whose TCP header nat_l4_parse() checked. */
static __always_inline __u8 mg_tcp_flags(const void *tcp)
{
	return ((const __u8 *)tcp)[13];
}

static __always_inline __u64 mg_ct_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* How long a flow in state st lives past a packet. */
static __always_inline __u64 mg_ct_timeout(__u8 proto, __u8 st, __u8 fl)
{
	__u32 s = MG_CT_TCP_OPENING_S;

	if (proto != IPPROTO_TCP)
		s = fl & MG_CT_F_REPLIED ? MG_CT_UDP_REPLIED_S : MG_CT_UDP_S;
	else if (st == MG_CT_ESTABLISHED)
		s = MG_CT_TCP_ESTABLISHED_S;
	else if (st == MG_CT_CLOSING)
		s = MG_CT_TCP_CLOSING_S;
	return s * MG_NSEC_PER_SEC;
}

/*
 * Does this packet open a flow?  UDP always; TCP only with a SYN (and no
 * ACK or RST): anything else is of a flow we do not know (or no longer).
 */
static __always_inline int mg_ct_opens(__u8 proto, __u8 tcp)
{
	return proto != IPPROTO_TCP ||
	       (tcp & (MG_TCP_SYN | MG_TCP_ACK | MG_TCP_RST)) == MG_TCP_SYN;
}

/*
 * May a packet of no live flow open one to this backend?  What may open a
 * flow (mg_ct_opens()), and any TCP packet to a remote backend: no SNAT
 * port is at stake there, the backend sees the client itself, and Maglev
 * gives the backend a lost entry had (the client cluster's other gateway
 * taking its flows over after a failover, an idle flow past its 6 hours),
 * so the flow goes on where a local backend could only answer with a RST.
 * Such a flow starts as opening: a stray packet's entry lasts 30 s.
 */
static __always_inline int mg_ct_picks_up(__u8 proto, __u8 tcp, __u8 be_flags)
{
	return mg_ct_opens(proto, tcp) || !(be_flags & MG_LB_BE_F_LOCAL);
}

/*
 * A packet of a live flow, from its client (reply 0) or its backend
 * (reply 1), tcp its TCP flags: the state it moves the flow to and the
 * flow's new expiry.  The entry is every CPU's: the expiry is written at
 * most once a second unless the state changes.
 */
static __always_inline void mg_ct_seen(__u8 *state, __u8 *flags,
				       __u64 *expires, __u8 proto, __u8 tcp,
				       int reply, __u64 now)
{
	__u8 st = *state, fl = *flags;
	__u64 exp;

	if (reply)
		fl |= MG_CT_F_REPLIED;
	if (proto == IPPROTO_TCP) {
		if (tcp & (MG_TCP_FIN | MG_TCP_RST)) {
			st = MG_CT_CLOSING;
		} else if (!reply && mg_ct_opens(proto, tcp)) {
			/* The client opens again on the same port. */
			if (st == MG_CT_CLOSING) {
				st = MG_CT_OPENING;
				fl = 0;
			}
		} else if (!reply && st == MG_CT_OPENING &&
			   (fl & MG_CT_F_REPLIED) && (tcp & MG_TCP_ACK)) {
			st = MG_CT_ESTABLISHED;
		}
	}
	exp = now + mg_ct_timeout(proto, st, fl);
	if (st != *state || fl != *flags) {
		*state = st;
		*flags = fl;
		*expires = exp;
	} else if (exp > *expires + MG_NSEC_PER_SEC) {
		*expires = exp;
	}
}

/*
 * The window of SNAT ports a client may take of a backend's pool, and
 * the i-th port a flow (hash h) tries in it.
 */
static __always_inline __u32 mg_snat_base(__u32 client, __u32 be_addr,
					  __u16 be_port)
{
	return mg_hash3(client, be_addr, be_port) % MG_LB_SNAT_PORTS;
}

static __always_inline __u16 mg_snat_port(__u32 base, __u32 h, int i)
{
	/*
	 * Each try hashed anew: tries a fixed stride apart pile up behind
	 * each other as linear probing does, and fail at half full.
	 */
	return bpf_htons(MG_LB_SNAT_PORT_MIN +
			 (base + mg_hash3(h, i, base) % MG_LB_SNAT_SHARE) %
			 MG_LB_SNAT_PORTS);
}

static __always_inline void mg_ct4_key_fill(struct mg_ct4_key *k,
					    const struct iphdr *ip,
					    const __u16 *ports, __u8 proto)
{
	k->saddr = ip->saddr;
	k->daddr = ip->daddr;
	k->sport = ports[0];
	k->dport = ports[1];
	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/* The flow hash Maglev indexes with: the whole 5-tuple. */
static __always_inline __u32 mg_ct4_hash(const struct mg_ct4_key *k)
{
	return mg_hash3(k->saddr, k->daddr ^ k->proto,
			(__u32)k->sport << 16 | k->dport);
}

/*
 * The live flow that holds SNAT port `port` through its reply entry o, or
 * NULL: then the port is free (the flow expired, was evicted, or opened
 * again with another port).  fk: room for the flow's key (the caller's,
 * so that the stack of the paths calling this does not grow).
 */
static __always_inline struct mg_ct4_val *
mg_rnat4_flow(struct mg_ct4_key *fk, const struct mg_rnat4_val *o,
	      __u8 proto, __u16 port, __u64 now)
{
	struct mg_ct4_val *ct;

	fk->saddr = o->client;
	fk->daddr = o->vip;
	fk->sport = o->cport;
	fk->dport = o->vport;
	fk->proto = proto;
	fk->pad[0] = fk->pad[1] = fk->pad[2] = 0;
	ct = bpf_map_lookup_elem(&mg_ct4_v2, fk);
	if (!ct || now >= ct->expires || ct->snat_port != port ||
	    ct->snat_addr != cfg_cluster4)
		return NULL;
	return ct;
}

/*
 * What a reply (key as it arrives: backend -> client, or -> us after SNAT)
 * is to become: the VIP's and the client's.  tcp: its TCP flags (0 for
 * UDP), which move the flow on; or -1 for an ICMP error about the flow,
 * which leaves it as it is.  0, or -1 when it belongs to no live tracked
 * service flow.
 */
static __always_inline int mg_rnat4_find(const struct mg_ct4_key *r,
					 struct mg_rnat4_val *out, int tcp)
{
	struct mg_lbrev_key bk = {
		.addr = r->saddr, .port = r->sport, .proto = r->proto,
	};
	__u64 now = mg_ct_now();
	struct mg_lb_backend *be;
	struct mg_rnat4_val *v;
	struct mg_lbrev_val *rev;
	struct mg_ct4_val *ct;
	struct mg_ct4_key fk;

	if (cfg_cluster4 && r->daddr == cfg_cluster4) {
		v = bpf_map_lookup_elem(&mg_rnat4, r);
		ct = v ? mg_rnat4_flow(&fk, v, r->proto, r->dport, now) : NULL;
		if (ct) {
			mg_outlier_reply(ct->backend, ct->state, ct->flags,
					 r->proto, tcp);
			if (tcp >= 0)
				mg_ct_seen(&ct->state, &ct->flags,
					   &ct->expires, r->proto, tcp, 1,
					   now);
			*out = *v;
			return 0;
		}
		/* Else perhaps the host's own flow (tc.bpf.c), not SNATed. */
	}
	rev = bpf_map_lookup_elem(&mg_lbrev, &bk);
	if (!rev)
		return -1;
	fk.saddr = r->daddr;
	fk.sport = r->dport;
	fk.proto = r->proto;
	fk.pad[0] = fk.pad[1] = fk.pad[2] = 0;
	for (int i = 0; i < MG_LB_REV_SVCS; i++) {
		if (!rev->svc[i].vip)
			break;
		fk.daddr = rev->svc[i].vip;
		fk.dport = rev->svc[i].vport;
		ct = bpf_map_lookup_elem(&mg_ct4_v2, &fk);
		if (!ct || now >= ct->expires)
			continue;
		be = bpf_map_lookup_elem(&mg_lbbe, &ct->backend);
		/* The flow's backend, even if it is no longer LIVE. */
		if (!be || be->gen != ct->gen || be->addr != r->saddr ||
		    be->port != r->sport)
			continue;
		mg_outlier_reply(ct->backend, ct->state, ct->flags, r->proto,
				 tcp);
		if (tcp >= 0)
			mg_ct_seen(&ct->state, &ct->flags, &ct->expires,
				   r->proto, tcp, 1, now);
		out->vip = fk.daddr;
		out->vport = fk.dport;
		out->client = r->daddr;
		out->cport = r->dport;
		out->pad = 0;
		return 0;
	}
	return -1;
}

/*
 * A new flow from a client port to a remote backend: an older flow of the
 * same client port to another service of that backend is over (the port is
 * this flow's now), yet its entry would take this flow's replies, since
 * mg_rnat4_find() tries the backend's services in order.  Forget it.
 */
static __always_inline void mg_ct4_forget_siblings(const struct mg_ct4_key *k,
						   const struct mg_lb_backend *be)
{
	struct mg_lbrev_key bk = {
		.addr = be->addr, .port = be->port, .proto = k->proto,
	};
	struct mg_lbrev_val *rev;
	struct mg_ct4_key fk = *k;

	rev = bpf_map_lookup_elem(&mg_lbrev, &bk);
	if (!rev)
		return;
	for (int i = 0; i < MG_LB_REV_SVCS; i++) {
		if (!rev->svc[i].vip)
			break;
		if (rev->svc[i].vip == k->daddr && rev->svc[i].vport == k->dport)
			continue;
		fk.daddr = rev->svc[i].vip;
		fk.dport = rev->svc[i].vport;
		bpf_map_delete_elem(&mg_ct4_v2, &fk);
	}
}

/*
 * A flow to a local backend gets our cluster-side address as its source,
 * so the backend's reply comes back to us: claim a free port for it (the
 * reply tuple must be unique), the one the flow already holds, or one
 * whose flow is over.  Two CPUs taking over the same expired port at
 * once could both believe they hold it; the window is a few instructions
 * of two new flows hashing to one port, and the loser's flow fails as a
 * lost SYN would.
 *
 * A global function, so that the verifier checks its tries once rather
 * than on every path that opens a flow, with scalars only and its keys in
 * mg_snat4_tmp (its stack adds to its caller's): the flow saddr:sport -> daddr:dport (ports: source
 * << 16 | destination, network order each) to backend be_addr, be_pp (its
 * port, network order, << 8 | the protocol).  Returns the port claimed
 * (network order), or 0.
 */
__attribute__((noinline))
int mg_ct4_snat_at(__u32 saddr, __u32 daddr, __u32 ports, __u32 be_addr,
		   __u32 be_pp)
{
	struct mg_snat4_scratch *s;
	struct mg_rnat4_val *o;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&mg_snat4_tmp, &zero);
	if (!s || !cfg_cluster4)
		return 0;
	s->rk.saddr = be_addr;
	s->rk.daddr = cfg_cluster4;
	s->rk.sport = be_pp >> 8;
	s->rk.proto = be_pp & 0xff;
	s->rk.pad[0] = s->rk.pad[1] = s->rk.pad[2] = 0;
	s->rv.vip = daddr;
	s->rv.client = saddr;
	s->rv.vport = ports & 0xffff;
	s->rv.cport = ports >> 16;
	s->rv.pad = 0;
	s->h = mg_hash3(saddr, daddr ^ s->rk.proto, ports);
	s->base = mg_snat_base(saddr, be_addr, s->rk.sport);
	s->now = mg_ct_now();
	/* Not unrolled, and all in s: kept in registers, they would spill. */
#pragma clang loop unroll(disable)
	for (int i = 0; i < MG_LB_SNAT_TRIES; i++) {
		asm volatile("" ::: "memory");
		s->rk.dport = mg_snat_port(s->base, s->h, i);
		if (!bpf_map_update_elem(&mg_rnat4, &s->rk, &s->rv,
					 BPF_NOEXIST))
			return s->rk.dport;
		o = bpf_map_lookup_elem(&mg_rnat4, &s->rk);
		if (!o)
			continue;
		if (o->client == s->rv.client && o->cport == s->rv.cport &&
		    o->vip == s->rv.vip && o->vport == s->rv.vport)
			return s->rk.dport;
		if (mg_rnat4_flow(&s->fk, o, s->rk.proto, s->rk.dport, s->now))
			continue;
		/* Its flow is over: the port is this flow's now. */
		if (!bpf_map_update_elem(&mg_rnat4, &s->rk, &s->rv, BPF_ANY))
			return s->rk.dport;
	}
	return 0;
}

/*
 * IPv6: the same, in mg_ct6_v2 / mg_rnat6 / mg_lbrev6 / mg_lbbe6, with the
 * cluster side's IPv6 address (cfg_cluster6) as the SNAT source.
 */

static __always_inline int mg_addr6_eq(const __u32 *a, const __u32 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]));
}

static __always_inline int mg_addr6_zero(const __u32 *a)
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

static __always_inline void mg_addr6_copy(__u32 *to, const __u32 *from)
{
	to[0] = from[0];
	to[1] = from[1];
	to[2] = from[2];
	to[3] = from[3];
}

static __always_inline int mg_cluster6_set(void)
{
	return cfg_cluster6[0] | cfg_cluster6[1] | cfg_cluster6[2] |
	       cfg_cluster6[3];
}

/* Element by element: cfg_cluster6 is volatile. */
static __always_inline int mg_is_cluster6(const __u32 *a)
{
	return a[0] == cfg_cluster6[0] && a[1] == cfg_cluster6[1] &&
	       a[2] == cfg_cluster6[2] && a[3] == cfg_cluster6[3];
}

static __always_inline struct mg_lb6_scratch *mg_lb6_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mg_lb6_tmp, &zero);
}

static __always_inline void mg_ct6_key_fill(struct mg_ct6_key *k,
					    const struct ipv6hdr *ip,
					    const __u16 *ports, __u8 proto)
{
	mg_addr6_copy(k->saddr, ip->saddr.in6_u.u6_addr32);
	mg_addr6_copy(k->daddr, ip->daddr.in6_u.u6_addr32);
	k->sport = ports[0];
	k->dport = ports[1];
	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

static __always_inline __u32 mg_ct6_hash(const struct mg_ct6_key *k)
{
	return mg_hash3(mg_fold6w(k->saddr), mg_fold6w(k->daddr) ^ k->proto,
			(__u32)k->sport << 16 | k->dport);
}

/* mg_rnat4_flow() for IPv6, in s->ok. */
static __always_inline struct mg_ct6_val *
mg_rnat6_flow(struct mg_lb6_scratch *s, const struct mg_rnat6_val *o,
	      __u8 proto, __u16 port)
{
	struct mg_ct6_key *fk = &s->ok;
	struct mg_ct6_val *ct;

	mg_addr6_copy(fk->saddr, o->client);
	mg_addr6_copy(fk->daddr, o->vip);
	fk->sport = o->cport;
	fk->dport = o->vport;
	fk->proto = proto;
	fk->pad[0] = fk->pad[1] = fk->pad[2] = 0;
	ct = bpf_map_lookup_elem(&mg_ct6_v2, fk);
	if (!ct || mg_ct_now() >= ct->expires || ct->snat_port != port ||
	    !mg_is_cluster6(ct->snat_addr))
		return NULL;
	return ct;
}

/* mg_rnat4_find() for IPv6: the reply s->k -> s->rv. */
static __always_inline int mg_rnat6_find(struct mg_lb6_scratch *s, int tcp)
{
	const struct mg_ct6_key *r = &s->k;
	struct mg_ct6_key *fk = &s->fk;
	struct mg_lb_backend6 *be;
	struct mg_rnat6_val *v;
	struct mg_lbrev6_val *rev;
	struct mg_ct6_val *ct;

	/*
	 * Read the key from s again rather than keep the words the caller
	 * just wrote in registers: spilled, they take stack that the call
	 * chain of the decap path does not have.
	 */
	asm volatile("" ::: "memory");
	if (mg_cluster6_set() && mg_is_cluster6(r->daddr)) {
		v = bpf_map_lookup_elem(&mg_rnat6, r);
		ct = v ? mg_rnat6_flow(s, v, r->proto, r->dport) : NULL;
		if (ct) {
			mg_outlier_reply(ct->backend, ct->state, ct->flags,
					 r->proto, tcp);
			if (tcp >= 0)
				mg_ct_seen(&ct->state, &ct->flags,
					   &ct->expires, r->proto, tcp, 1,
					   mg_ct_now());
			s->rv = *v;
			return 0;
		}
		/* Else perhaps the host's own flow (tc.bpf.c), not SNATed. */
	}
	mg_addr6_copy(s->bk.addr, r->saddr);
	s->bk.port = r->sport;
	s->bk.proto = r->proto;
	s->bk.pad = 0;
	rev = bpf_map_lookup_elem(&mg_lbrev6, &s->bk);
	if (!rev)
		return -1;
	mg_addr6_copy(fk->saddr, r->daddr);
	fk->sport = r->dport;
	fk->proto = r->proto;
	fk->pad[0] = fk->pad[1] = fk->pad[2] = 0;
	for (int i = 0; i < MG_LB_REV_SVCS; i++) {
		if (mg_addr6_zero(rev->svc[i].vip))
			break;
		mg_addr6_copy(fk->daddr, rev->svc[i].vip);
		fk->dport = rev->svc[i].vport;
		ct = bpf_map_lookup_elem(&mg_ct6_v2, fk);
		if (!ct || mg_ct_now() >= ct->expires)
			continue;
		be = bpf_map_lookup_elem(&mg_lbbe6, &ct->backend);
		/* The flow's backend, even if it is no longer LIVE. */
		if (!be || be->gen != ct->gen ||
		    !mg_addr6_eq(be->addr, r->saddr) || be->port != r->sport)
			continue;
		mg_outlier_reply(ct->backend, ct->state, ct->flags, r->proto,
				 tcp);
		if (tcp >= 0)
			mg_ct_seen(&ct->state, &ct->flags, &ct->expires,
				   r->proto, tcp, 1, mg_ct_now());
		mg_addr6_copy(s->rv.vip, fk->daddr);
		mg_addr6_copy(s->rv.client, r->daddr);
		s->rv.vport = fk->dport;
		s->rv.cport = r->dport;
		return 0;
	}
	return -1;
}

/* mg_ct4_forget_siblings() for IPv6: flow s->k, new backend s->be. */
static __always_inline void mg_ct6_forget_siblings(struct mg_lb6_scratch *s)
{
	const struct mg_ct6_key *k = &s->k;
	struct mg_lbrev6_val *rev;

	mg_addr6_copy(s->bk.addr, s->be.addr);
	s->bk.port = s->be.port;
	s->bk.proto = k->proto;
	s->bk.pad = 0;
	rev = bpf_map_lookup_elem(&mg_lbrev6, &s->bk);
	if (!rev)
		return;
	s->fk = *k;
	for (int i = 0; i < MG_LB_REV_SVCS; i++) {
		if (mg_addr6_zero(rev->svc[i].vip))
			break;
		if (mg_addr6_eq(rev->svc[i].vip, k->daddr) &&
		    rev->svc[i].vport == k->dport)
			continue;
		mg_addr6_copy(s->fk.daddr, rev->svc[i].vip);
		s->fk.dport = rev->svc[i].vport;
		bpf_map_delete_elem(&mg_ct6_v2, &s->fk);
	}
}

/*
 * mg_ct4_snat() for IPv6: claim a port of cfg_cluster6 for flow s->k to
 * the local backend s->be.  Returns 0 with s->ct.snat_* set, or -1.
 */
static __always_inline int mg_ct6_snat(struct mg_lb6_scratch *s, __u32 h,
				       __u32 base)
{
	const struct mg_ct6_key *k = &s->k;
	struct mg_ct6_key *rk = &s->fk;
	struct mg_rnat6_val *o;

	if (!mg_cluster6_set())
		return -1;
	/* The words copied are read again below: kept, they spill. */
	asm volatile("" ::: "memory");
	mg_addr6_copy(s->rv.vip, k->daddr);
	mg_addr6_copy(s->rv.client, k->saddr);
	s->rv.vport = k->dport;
	s->rv.cport = k->sport;
	mg_addr6_copy(rk->saddr, s->be.addr);
	rk->daddr[0] = cfg_cluster6[0];
	rk->daddr[1] = cfg_cluster6[1];
	rk->daddr[2] = cfg_cluster6[2];
	rk->daddr[3] = cfg_cluster6[3];
	rk->sport = s->be.port;
	rk->proto = k->proto;
	rk->pad[0] = rk->pad[1] = rk->pad[2] = 0;
#pragma clang loop unroll(disable)
	for (int i = 0; i < MG_LB_SNAT_TRIES; i++) {
		/* Words read from s again each time: kept, they spill. */
		asm volatile("" ::: "memory");
		rk->dport = mg_snat_port(base, h, i);
		if (!bpf_map_update_elem(&mg_rnat6, rk, &s->rv, BPF_NOEXIST))
			goto claimed;
		o = bpf_map_lookup_elem(&mg_rnat6, rk);
		if (!o)
			continue;
		if (mg_addr6_eq(o->client, k->saddr) &&
		    o->cport == k->sport && mg_addr6_eq(o->vip, k->daddr) &&
		    o->vport == k->dport)
			goto claimed;
		if (mg_rnat6_flow(s, o, k->proto, rk->dport))
			continue;
		/* Its flow is over: the port is this flow's now. */
		if (!bpf_map_update_elem(&mg_rnat6, rk, &s->rv, BPF_ANY))
			goto claimed;
	}
	return -1;
claimed:
	mg_addr6_copy(s->ct.snat_addr, rk->daddr);
	s->ct.snat_port = rk->dport;
	return 0;
}

/*
 * mg_ct6_snat() on the scratch area, checked once (as mg_ct4_snat_at()):
 * h is the flow's hash, base its client's window (mg_snat_base()), which
 * the caller has at hand.
 */
__attribute__((noinline))
int mg_ct6_snat_at(__u32 h, __u32 base)
{
	struct mg_lb6_scratch *s = mg_lb6_scratch();

	return s ? mg_ct6_snat(s, h, base) : -1;
}

#endif
