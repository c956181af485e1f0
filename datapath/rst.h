/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fast failure (issue 13): a new flow to a service that no backend can
 * take (none healthy: no_backend; every one full: overloaded) is answered
 * at once instead of left to the client's timeout.  TCP gets a RST built
 * as RFC 793 (3.4, "Reset Generation") has a closed port answer: when
 * the segment carries an ACK, the RST takes its sequence number from that
 * ACK; else the RST has sequence 0 and acknowledges everything the
 * segment occupied (its payload, plus one for SYN and one for FIN).  A
 * RST is never answered.  UDP gets an ICMP (ICMPv6) port unreachable from
 * the VIP, quoting the datagram (icmp.h).
 *
 * The answer is built in place over the client's packet (cut to its
 * Ethernet, IP and a bare TCP header), its addresses, ports and MACs
 * swapped, and sent back out of the interface it came in on.  The
 * answers share one per-CPU token bucket (MG_RLB_REPLY): past it, or with
 * on_no_backend = drop, the packet is dropped under its reason.  The
 * host's own packets (TC) are dropped so too.
 */
#ifndef MG_DP_RST_H
#define MG_DP_RST_H

#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "csum.h"
#include "ct.h"
#include "icmp.h"
#include "ratelimit.h"

#define MG_RST_TTL	64

/* What the RST says, from the client's segment: 0, or 1 for no answer. */
struct mg_rst {
	__be32 seq, ack;
	__u8 flags;
};

static __always_inline int mg_rst_of(const struct tcphdr *th, __u32 l4len,
				     struct mg_rst *r)
{
	__u8 fl = ((const __u8 *)th)[13];
	__u32 hl = th->doff * 4, seg;

	if ((fl & MG_TCP_RST) || hl < sizeof(*th) || l4len < hl)
		return 1;
	seg = l4len - hl + !!(fl & MG_TCP_SYN) + !!(fl & MG_TCP_FIN);
	if (fl & MG_TCP_ACK) {
		r->seq = th->ack_seq;
		r->ack = 0;
		r->flags = MG_TCP_RST;
	} else {
		r->seq = 0;
		r->ack = bpf_htonl(bpf_ntohl(th->seq) + seg);
		r->flags = MG_TCP_RST | MG_TCP_ACK;
	}
	return 0;
}

/* The bare TCP header of the RST, from sport to dport; sum: pseudo-header. */
static __always_inline void mg_rst_tcp(struct tcphdr *th, __be16 sport,
				       __be16 dport, const struct mg_rst *r,
				       __u64 sum)
{
	const __u16 *w = (const __u16 *)th;

	th->source = sport;
	th->dest = dport;
	th->seq = r->seq;
	th->ack_seq = r->ack;
	((__u8 *)th)[12] = 5 << 4;	/* doff 5, no options */
	((__u8 *)th)[13] = r->flags;
	th->window = 0;
	th->check = 0;
	th->urg_ptr = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	th->check = csum_fold64(sum);
}

/*
 * The IPv4 packet (at ETH_HLEN, its TCP header th) into a RST back to its
 * sender: 0, or nonzero when there is no answer to make.
 */
static __always_inline int mg_rst4(mg_ctx_t *ctx, struct iphdr *ip,
				   struct tcphdr *th)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 saddr, daddr, l4len;
	__be16 sport, dport;
	struct mg_rst r;
	__u64 sum;

	if ((void *)ip != data + ETH_HLEN || (void *)(th + 1) > end)
		return 1;
	l4len = bpf_ntohs(ip->tot_len);
	if (l4len < ip->ihl * 4)
		return 1;
	if (mg_rst_of(th, l4len - ip->ihl * 4, &r))
		return 1;
	saddr = ip->daddr;
	daddr = ip->saddr;
	sport = th->dest;
	dport = th->source;

	if (mg_ctx_trim(ctx, ETH_HLEN + sizeof(*ip) + sizeof(*th)))
		return 1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip = data + ETH_HLEN;
	th = (void *)(ip + 1);
	if ((void *)(th + 1) > end)
		return 1;
	if (mg_icmp_l2_reverse(ctx))
		return 1;
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*th));
	ip->id = 0;
	ip->frag_off = bpf_htons(0x4000);	/* DF */
	ip->ttl = MG_RST_TTL;
	ip->protocol = IPPROTO_TCP;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum_fold(ipv4_hdr_sum(ip));
	sum = (__u64)saddr + daddr + bpf_htons(IPPROTO_TCP) +
	      bpf_htons(sizeof(*th));
	mg_rst_tcp(th, sport, dport, &r, sum);
	return 0;
}

/* mg_rst4() for IPv6 (extension headers dropped from the answer). */
static __always_inline int mg_rst6(mg_ctx_t *ctx, struct ipv6hdr *ip,
				   struct tcphdr *th)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 saddr[4], daddr[4], l4len, ext;
	__be16 sport, dport;
	struct mg_rst r;

	if ((void *)ip != data + ETH_HLEN || (void *)(th + 1) > end)
		return 1;
	ext = (void *)th - (void *)(ip + 1);
	l4len = bpf_ntohs(ip->payload_len);
	if (l4len < ext)
		return 1;
	if (mg_rst_of(th, l4len - ext, &r))
		return 1;
	__builtin_memcpy(saddr, &ip->daddr, 16);
	__builtin_memcpy(daddr, &ip->saddr, 16);
	sport = th->dest;
	dport = th->source;

	if (mg_ctx_trim(ctx, ETH_HLEN + sizeof(*ip) + sizeof(*th)))
		return 1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip = data + ETH_HLEN;
	th = (void *)(ip + 1);
	if ((void *)(th + 1) > end)
		return 1;
	if (mg_icmp_l2_reverse(ctx))
		return 1;
	*(__be32 *)ip = bpf_htonl(6 << 28);
	ip->payload_len = bpf_htons(sizeof(*th));
	ip->nexthdr = IPPROTO_TCP;
	ip->hop_limit = MG_RST_TTL;
	__builtin_memcpy(&ip->saddr, saddr, 16);
	__builtin_memcpy(&ip->daddr, daddr, 16);
	mg_rst_tcp(th, sport, dport, &r,
		   ipv6_pseudo_sum(saddr, daddr, sizeof(*th), IPPROTO_TCP));
	return 0;
}

/*
 * The answer itself (RST, or ICMP port unreachable) to the IPv4 packet at
 * ETH_HLEN, its TCP or UDP header at l4off: 0, or nonzero when there is
 * none to make.  A global function: the verifier checks it once, on its
 * own, not along every path of every caller (inline, the program's
 * MSS-clamping build passed the verifier's 1M-instruction limit).
 */
#define MG_LB_ANSWER(name, iph, body)					\
	__attribute__((noinline)) int name(mg_ctx_t *ctx, __u32 l4off)	\
	{								\
		void *data = (void *)(long)ctx->data;			\
		void *end = (void *)(long)ctx->data_end;		\
		iph *ip = data + ETH_HLEN;				\
		void *l4;						\
									\
		if (l4off > 512)					\
			return 1;					\
		l4 = data + l4off;					\
		if (l4 + sizeof(struct tcphdr) > end ||			\
		    (void *)(ip + 1) > end)				\
			return 1;					\
		body;							\
	}

MG_LB_ANSWER(mg_lb_rst4, struct iphdr, return mg_rst4(ctx, ip, l4))
MG_LB_ANSWER(mg_lb_rst6, struct ipv6hdr, return mg_rst6(ctx, ip, l4))
MG_LB_ANSWER(mg_lb_unreach4, struct iphdr,
	     return mg_icmp4_error(ctx, ETH_HLEN, ICMP_DEST_UNREACH,
				   ICMP_PORT_UNREACH, 0, ip->daddr) ?:
		    mg_icmp_l2_reverse(ctx))

/*
 * A new flow of svc no backend can take (why: MG_DROP_NO_BACKEND or
 * MG_DROP_OVERLOADED): answered, or dropped under why.  ip is at
 * ETH_HLEN (else dropped), l4 its TCP or UDP header; v6 says which.
 * Returns the verdict.
 */
static __always_inline int mg_lb_fail(mg_ctx_t *ctx,
				      const struct mg_svc_val *svc, int why,
				      void *ip, void *l4, int udp, int v6)
{
	enum mg_reason ok = why == MG_DROP_NO_BACKEND ? MG_NO_BACKEND_RESET :
							  why;
	int rc, act;
	__u32 l4off;

	/*
	 * The host's own packets (TC) are not answered: its connect() has
	 * the kernel's own errors, and the RST would have to come in on the
	 * host device.
	 */
	if (MG_CTX_HOST || (svc->flags & MG_SVC_F_NB_DROP) ||
	    ip != (void *)(long)ctx->data + ETH_HLEN ||
	    !mg_rl_take(MG_RLB_REPLY, MG_RLB_REPLY_RATE, MG_RLB_REPLY_BURST,
			mg_ct_now()))
		return mg_exit_ids(ctx, why, MG_ACT_DROP,
				   MG_EV_SVC(svc->id, -1));
	l4off = (long)l4 - (long)ctx->data;
	if (!udp)
		rc = v6 ? mg_lb_rst6(ctx, l4off) : mg_lb_rst4(ctx, l4off);
	else
		/* inline: as a function its stack and the program's pass 512 */
		rc = v6 ? mg_icmp6_error(ctx, ETH_HLEN, ICMPV6_DEST_UNREACH,
					 ICMPV6_PORT_UNREACH, 0,
					 ((struct ipv6hdr *)ip)
						 ->daddr.in6_u.u6_addr32) ?:
				  mg_icmp_l2_reverse(ctx) :
			  mg_lb_unreach4(ctx, l4off);
	if (rc)
		return mg_exit_ids(ctx, why, MG_ACT_DROP,
				   MG_EV_SVC(svc->id, -1));
	/*
	 * A verdict, and the verifier must see it is never one of mg_lb4()'s
	 * own codes (MG_LB_FORWARD...): the packet pointers are gone.
	 */
	act = MG_ACT_TX(ctx);
	if (act < 0)
		act = MG_ACT_DROP;
	return mg_exit_ids(ctx, ok, act, MG_EV_SVC(svc->id, -1));
}

#endif
