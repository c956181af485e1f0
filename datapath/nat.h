/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address and port rewriting with incremental checksums (RFC 1624): the
 * IPv4 header checksum, the TCP/UDP checksum (its pseudo-header holds the
 * addresses), and for ICMP errors the quoted header and the ICMP checksum.
 * IPv6 has no header checksum: only the TCP/UDP (and ICMPv6) checksums,
 * whose pseudo-header holds the addresses, follow.  Also the reverse NAT
 * of service replies (mg_rnat4, mg_rnat6), which the tunnel's decap path
 * and the local backends' replies share.
 */
#ifndef MG_DP_NAT_H
#define MG_DP_NAT_H

#include "icmp4.h"
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "csum.h"
#include "ct.h"
#include "parse.h"
#include "ctx.h"

/* A 32-bit field (as it lies in memory) changed from old to new. */
static __always_inline void csum_replace4(__u16 *check, __u32 old, __u32 new)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~(old & 0xffff);
	sum += (__u16)~(old >> 16);
	sum += new & 0xffff;
	sum += new >> 16;
	*check = csum_fold(sum);
}

/* The L4 header of a TCP or UDP packet, as NAT touches it. */
struct nat_l4 {
	__u16 *ports;		/* [0] source, [1] destination */
	__u16 *check;		/* NULL: UDP without a checksum */
	__u8 udp;
};

static __always_inline int nat_l4_parse(void *l4, void *end, __u8 proto,
					struct nat_l4 *n)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *t = l4;

		if ((void *)(t + 1) > end)
			return -1;
		n->check = &t->check;
		n->udp = 0;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *u = l4;

		if ((void *)(u + 1) > end)
			return -1;
		n->check = u->check ? &u->check : NULL;
		n->udp = 1;
	} else {
		return -1;
	}
	n->ports = l4;
	return 0;
}

static __always_inline void nat4_addr(struct iphdr *ip, __u32 *field,
				      __u32 addr, struct nat_l4 *n)
{
	if (n->check)
		csum_replace4(n->check, *field, addr);
	csum_replace4(&ip->check, *field, addr);
	*field = addr;
}

static __always_inline void nat4_port(__u16 *field, __u16 port,
				      struct nat_l4 *n)
{
	if (n->check)
		csum_replace2(n->check, *field, port);
	*field = port;
}

/* Where the TCP or UDP header at offset l4 keeps its checksum. */
static __always_inline __u32 nat_csum_off(__u8 proto, __u32 l4)
{
	return l4 + (proto == IPPROTO_TCP ?
		     __builtin_offsetof(struct tcphdr, check) :
		     __builtin_offsetof(struct udphdr, check));
}


/* UDP sends a computed zero as all ones (RFC 768); zero means "none". */
static __always_inline void nat_l4_done(struct nat_l4 *n)
{
	if (n->udp && n->check && !*n->check)
		*n->check = 0xffff;
}

/*
 * An ICMP error quoting a service flow we NATed: the quoted packet is the
 * one we sent (client or us -> backend); make it the one the client sent
 * (client -> VIP), and the error's own addresses follow.  icmp is the
 * ICMP header.  Returns 1 when translated, else 0.
 */
static __always_inline int mg_nat_reply4_icmp(struct iphdr *ip, void *l4,
					 void *end)
{
	struct icmphdr *ic = l4;
	struct mg_rnat4_val rv, *v = &rv;
	struct mg_ct4_key k;
	struct nat_l4 none = { .check = NULL };
	struct iphdr *q;
	__u16 *qp, qcheck;
	int snat;

	if ((void *)(ic + 1) > end)
		return 0;
	if (ic->type != ICMP_DEST_UNREACH && ic->type != ICMP_TIME_EXCEEDED &&
	    ic->type != ICMP_PARAMETERPROB)
		return 0;
	q = (void *)(ic + 1);
	if ((void *)(q + 1) > end || q->ihl != 5)
		return 0;
	qp = (void *)(q + 1);
	if ((void *)(qp + 2) > end)
		return 0;
	if (q->protocol != IPPROTO_TCP && q->protocol != IPPROTO_UDP)
		return 0;
	k.saddr = q->daddr;
	k.daddr = q->saddr;
	k.sport = qp[1];
	k.dport = qp[0];
	k.proto = q->protocol;
	k.pad[0] = k.pad[1] = k.pad[2] = 0;
	if (mg_rnat4_find(&k, &rv, mg_outlier_icmp4(ic->type, ic->code)))
		return 0;

	/* The error's own header: from the backend, or to us after SNAT. */
	if (ip->saddr == q->daddr)
		nat4_addr(ip, &ip->saddr, v->vip, &none);
	/*
	 * SNATed: another address, or (the host's own flows, whose client
	 * is our SNAT address) only another port.
	 */
	snat = v->client != q->saddr || v->cport != qp[0];
	if (ip->daddr == q->saddr && v->client != q->saddr)
		nat4_addr(ip, &ip->daddr, v->client, &none);

	/* The quoted header, its checksum, and the ICMP checksum over both. */
	qcheck = q->check;
	csum_replace4(&q->check, q->daddr, v->vip);
	csum_replace4(&ic->checksum, q->daddr, v->vip);
	q->daddr = v->vip;
	csum_replace2(&ic->checksum, qp[1], v->vport);
	qp[1] = v->vport;
	if (snat) {
		csum_replace4(&q->check, q->saddr, v->client);
		csum_replace4(&ic->checksum, q->saddr, v->client);
		q->saddr = v->client;
		csum_replace2(&ic->checksum, qp[0], v->cport);
		qp[0] = v->cport;
	}
	csum_replace2(&ic->checksum, qcheck, q->check);

	/* The quoted TCP/UDP checksum too, when the quote holds it. */
	{
		__u16 *l4c = q->protocol == IPPROTO_TCP ? qp + 8 : qp + 3;
		__u16 old;

		if ((void *)(l4c + 1) > end || !*l4c)
			return 1;
		old = *l4c;
		csum_replace4(l4c, k.saddr, v->vip);
		csum_replace2(l4c, k.sport, v->vport);
		if (snat) {
			csum_replace4(l4c, k.daddr, v->client);
			csum_replace2(l4c, k.dport, v->cport);
		}
		csum_replace2(&ic->checksum, old, *l4c);
	}
	return 1;
}

/*
 * mg_nat_reply4() - reverse NAT: a packet from a backend of a service flow (its reply, or
 * an ICMP error about the flow) gets the VIP as its source and the client
 * as its destination again.  l4 may lie past end.  Returns 1 when the
 * packet was translated, 0 when it is not a service reply.
 */
static __always_inline int mg_nat_reply4(struct iphdr *ip, void *l4, void *end,
				    __u8 proto)
{
	struct mg_rnat4_val rv, *v = &rv;
	struct mg_ct4_key k;
	struct nat_l4 n;

	if (ipv4_is_fragment(ip))
		return 0;
	if (proto == IPPROTO_ICMP)
		return mg_nat_reply4_icmp(ip, l4, end);
	if (nat_l4_parse(l4, end, proto, &n))
		return 0;
	mg_ct4_key_fill(&k, ip, n.ports, proto);
	if (mg_rnat4_find(&k, &rv, n.udp ? 0 : mg_tcp_flags(n.ports)))
		return 0;
	nat4_addr(ip, &ip->saddr, v->vip, &n);
	nat4_port(&n.ports[0], v->vport, &n);
	/* SNATed (for the host's own flows: the port alone). */
	if (v->client != ip->daddr || v->cport != n.ports[1]) {
		nat4_addr(ip, &ip->daddr, v->client, &n);
		nat4_port(&n.ports[1], v->cport, &n);
	}
	nat_l4_done(&n);
	return 1;
}

/*
 * mg_nat_reply4() on the IPv4 packet at l3_off of the frame: a global
 * function, so the verifier checks it once rather than on every path
 * of the paths that call it (the decap paths of both underlay families).
 */
__attribute__((noinline))
int mg_nat_reply4_at(mg_ctx_t *ctx, __u32 l3_off)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip;

	if (l3_off > 128)
		return 0;
	ip = data + l3_off;
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return 0;
	return mg_nat_reply4(ip, (void *)ip + ip->ihl * 4, end, ip->protocol);
}

/* --- IPv6 ------------------------------------------------------------------ */

/*
 * What a checksum covering a 16-byte field gains when the field goes from
 * old to new (RFC 1624, not folded): one sum serves every checksum that
 * covers it.  The helper keeps the words out of registers (the ICMPv6
 * path would spill them beyond the stack the program has left).
 */
static __always_inline __u64 csum_diff16(const __u32 *old, const __u32 *new)
{
	return (__u32)bpf_csum_diff((__be32 *)old, 16, (__be32 *)new, 16, 0);
}

static __always_inline __u64 csum_diff2(__u16 old, __u16 new)
{
	return (__u16)~old + (__u32)new;
}

static __always_inline void csum_add_diff(__u16 *check, __u64 diff)
{
	*check = csum_fold64((__u16)~*check + diff);
}

/* An IPv6 address of a TCP/UDP packet: only the L4 checksum follows. */
static __always_inline void nat6_addr(__u32 *field, const __u32 *addr,
				      struct nat_l4 *n)
{
	if (n->check)
		csum_add_diff(n->check, csum_diff16(field, addr));
	mg_addr6_copy(field, addr);
}

/*
 * An ICMPv6 error quoting a service flow we NATed: as
 * mg_nat_reply4_icmp(); the ICMPv6 checksum also covers the error's own
 * addresses (its pseudo-header).  Returns 1 when translated, else 0.
 */
static __always_inline int mg_nat_reply6_icmp(struct ipv6hdr *ip, void *l4,
					      void *end,
					      struct mg_lb6_scratch *s)
{
	struct icmp6hdr *ic = l4;
	__u32 *sa = ip->saddr.in6_u.u6_addr32, *da = ip->daddr.in6_u.u6_addr32;
	struct mg_rnat6_val *rv = &s->rv;
	__u32 *qs, *qd;
	__u64 d;
	__u16 old;
	struct ipv6hdr *q;
	__u16 *qp, *l4c;
	int snat;

	if ((void *)(ic + 1) > end)
		return 0;
	if (ic->icmp6_type < ICMPV6_DEST_UNREACH ||
	    ic->icmp6_type > ICMPV6_PARAMPROB)
		return 0;
	q = (void *)(ic + 1);
	if ((void *)(q + 1) > end)
		return 0;
	if (q->nexthdr != IPPROTO_TCP && q->nexthdr != IPPROTO_UDP)
		return 0;
	qp = (void *)(q + 1);
	if ((void *)(qp + 2) > end)
		return 0;
	qs = q->saddr.in6_u.u6_addr32;
	qd = q->daddr.in6_u.u6_addr32;
	mg_addr6_copy(s->k.saddr, qd);
	mg_addr6_copy(s->k.daddr, qs);
	s->k.sport = qp[1];
	s->k.dport = qp[0];
	s->k.proto = q->nexthdr;
	s->k.pad[0] = s->k.pad[1] = s->k.pad[2] = 0;
	if (mg_rnat6_find(s, mg_outlier_icmp6(ic->icmp6_type)))
		return 0;

	/* The error's own header: from the backend, or to us after SNAT. */
	if (mg_addr6_eq(sa, qd)) {
		csum_add_diff(&ic->icmp6_cksum, csum_diff16(sa, rv->vip));
		mg_addr6_copy(sa, rv->vip);
	}
	if (mg_addr6_eq(da, qs) && !mg_addr6_eq(rv->client, qs)) {
		csum_add_diff(&ic->icmp6_cksum, csum_diff16(da, rv->client));
		mg_addr6_copy(da, rv->client);
	}

	/*
	 * The quoted packet: its addresses and ports change, by the same
	 * amount for the ICMPv6 checksum (they are its payload) and for the
	 * quoted TCP/UDP checksum (pseudo-header and header).
	 */
	/* SNATed: another address, or (the host's own flows) another port. */
	snat = !mg_addr6_eq(rv->client, qs) || rv->cport != qp[0];
	d = csum_diff16(qd, rv->vip) + csum_diff2(qp[1], rv->vport);
	if (snat)
		d += csum_diff16(qs, rv->client) + csum_diff2(qp[0], rv->cport);
	l4c = q->nexthdr == IPPROTO_TCP ? qp + 8 : qp + 3;
	if ((void *)(l4c + 1) <= end && *l4c) {
		old = *l4c;
		csum_add_diff(l4c, d);
		d += csum_diff2(old, *l4c);
	}
	csum_add_diff(&ic->icmp6_cksum, d);
	mg_addr6_copy(qd, rv->vip);
	qp[1] = rv->vport;
	if (snat) {
		mg_addr6_copy(qs, rv->client);
		qp[0] = rv->cport;
	}
	return 1;
}

/*
 * mg_nat_reply6() - mg_nat_reply4() for IPv6: l4 is the upper-layer
 * header (after any extension headers), proto its protocol.
 */
static __always_inline int mg_nat_reply6(struct ipv6hdr *ip, void *l4,
					 void *end, __u8 proto,
					 struct mg_lb6_scratch *s)
{
	__u32 *sa = ip->saddr.in6_u.u6_addr32, *da = ip->daddr.in6_u.u6_addr32;
	struct nat_l4 n;

	if (proto == IPPROTO_ICMPV6)
		return mg_nat_reply6_icmp(ip, l4, end, s);
	if (nat_l4_parse(l4, end, proto, &n))
		return 0;
	mg_ct6_key_fill(&s->k, ip, n.ports, proto);
	if (mg_rnat6_find(s, n.udp ? 0 : mg_tcp_flags(n.ports)))
		return 0;
	nat6_addr(sa, s->rv.vip, &n);
	nat4_port(&n.ports[0], s->rv.vport, &n);
	/* SNATed (for the host's own flows: the port alone). */
	if (!mg_addr6_eq(s->rv.client, da) || s->rv.cport != n.ports[1]) {
		nat6_addr(da, s->rv.client, &n);
		nat4_port(&n.ports[1], s->rv.cport, &n);
	}
	nat_l4_done(&n);
	return 1;
}

/*
 * mg_nat_reply6() on the IPv6 packet at l3_off of the frame (a global
 * function, as mg_nat_reply4_at()).  Only a reply without extension
 * headers (a fragment has one) is translated: replies carry none, and the
 * stack this function may use is nearly all taken by its callers.
 */
__attribute__((noinline))
int mg_nat_reply6_at(mg_ctx_t *ctx, __u32 l3_off)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct mg_lb6_scratch *s;
	struct ipv6hdr *ip;

	if (l3_off > 128)
		return 0;
	ip = data + l3_off;
	if ((void *)(ip + 1) > end || ip->version != 6)
		return 0;
	s = mg_lb6_scratch();
	if (!s)
		return 0;
	return mg_nat_reply6(ip, ip + 1, end, ip->nexthdr, s);
}

#endif
