/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address and port rewriting with incremental checksums (RFC 1624): the
 * IPv4 header checksum, the TCP/UDP checksum (its pseudo-header holds the
 * addresses), and for ICMP errors the quoted header and the ICMP checksum.
 * Also the reverse NAT of service replies (mg_rnat4), which the tunnel's
 * decap path and the local backends' replies share.
 */
#ifndef MG_DP_NAT_H
#define MG_DP_NAT_H

#include <linux/icmp.h>
#include <linux/in.h>
#include <linux/ip.h>
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

#if MG_CTX_TC
/*
 * One address or port of an IPv4 TCP/UDP packet rewritten through the
 * kernel's checksum helpers: the host's own packets on TC carry a checksum
 * the device completes (CHECKSUM_PARTIAL), which only they know how to
 * update.  csum_off: the L4 checksum's offset.  Packet pointers are stale
 * after.
 */
static __always_inline int nat4_tc_field(mg_ctx_t *ctx, __u32 l3_off,
					 __u32 csum_off, __u32 off, __u32 from,
					 __u32 to, __u32 size, int addr, int udp)
{
	__u64 f = size | (udp ? BPF_F_MARK_MANGLED_0 : 0);

	if (addr) {
		if (bpf_l3_csum_replace(ctx, l3_off +
					__builtin_offsetof(struct iphdr, check),
					from, to, size))
			return -1;
		f |= BPF_F_PSEUDO_HDR;
	}
	if (bpf_l4_csum_replace(ctx, csum_off, from, to, f))
		return -1;
	return bpf_skb_store_bytes(ctx, off, &to, size, 0) ? -1 : 0;
}
#endif

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
	if (mg_rnat4_find(&k, &rv))
		return 0;

	/* The error's own header: from the backend, or to us after SNAT. */
	if (ip->saddr == q->daddr)
		nat4_addr(ip, &ip->saddr, v->vip, &none);
	if (ip->daddr == q->saddr && v->client != q->saddr)
		nat4_addr(ip, &ip->daddr, v->client, &none);

	/* The quoted header, its checksum, and the ICMP checksum over both. */
	qcheck = q->check;
	csum_replace4(&q->check, q->daddr, v->vip);
	csum_replace4(&ic->checksum, q->daddr, v->vip);
	q->daddr = v->vip;
	csum_replace2(&ic->checksum, qp[1], v->vport);
	qp[1] = v->vport;
	if (v->client != q->saddr) {
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
		if (v->client != k.daddr) {
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
	if (mg_rnat4_find(&k, &rv))
		return 0;
	nat4_addr(ip, &ip->saddr, v->vip, &n);
	nat4_port(&n.ports[0], v->vport, &n);
	if (v->client != ip->daddr) {
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

#endif
