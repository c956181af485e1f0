/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksums (RFC 1071): full for a fresh IPv4 header, incremental
 * for edits (RFC 1624), and over a stretch of packet for the ICMP errors
 * and the UDP checksum of VXLAN over IPv6.  Sums are of the raw bytes as
 * they lie in memory, which the one's complement sum does not mind.
 */
#ifndef MG_DP_CSUM_H
#define MG_DP_CSUM_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "inner.h"

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Sum of the ten 16-bit words of an option-less IPv4 header. */
static __always_inline __u32 ipv4_hdr_sum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	return sum;
}

/* TTL minus one with the checksum fixed up in place (RFC 1624). */
static __always_inline void ipv4_decrease_ttl(struct iphdr *ip)
{
	__u32 check = ip->check;

	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xffff));
	ip->ttl--;
}

/* Fold a 64-bit running sum to 16 bits and complement it. */
static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return csum_fold((__u32)sum);
}

/* A 16-bit field changed from old to new: fix the checksum in place. */
static __always_inline void csum_replace2(__u16 *check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~old;
	sum += new;
	*check = csum_fold(sum);
}

/* The IPv6 pseudo-header (RFC 8200 8.1), not folded. */
static __always_inline __u64 ipv6_pseudo_sum(const __u32 *saddr,
					     const __u32 *daddr, __u32 len,
					     __u8 proto)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 4; i++)
		sum += (__u64)saddr[i] + daddr[i];
	return sum + bpf_htonl(len) + bpf_htonl(proto);
}

#define MG_CSUM_CHUNK	256	/* bytes per bpf_csum_diff() call */
#define MG_CSUM_MAX	9216	/* longest stretch summed: a jumbo frame */
#define MG_CSUM_OFF_MAX	256	/* where in the packet it may start */

/*
 * The 16-bit one's complement sum (not complemented) of seed and the
 * packet's bytes from off to its end; -1 when off is past MG_CSUM_OFF_MAX
 * or the stretch is longer than MG_CSUM_MAX.  Whole chunks go through
 * bpf_csum_diff(), the rest word by word, and a last odd byte counts as
 * the high byte of a word (network order), as RFC 1071 pads it.
 *
 * A global function: the verifier checks it once, with off unknown,
 * instead of once per caller with every packet length it could meet.
 */
__attribute__((noinline))
int mg_csum_pkt(mg_ctx_t *ctx, __u32 off, __u32 seed)
{
	void *p = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 sum = seed;

	if (off > MG_CSUM_OFF_MAX)
		return -1;
	p += off;
#pragma clang loop unroll(disable)
	for (int i = 0; i < MG_CSUM_MAX / MG_CSUM_CHUNK; i++) {
		if (p + MG_CSUM_CHUNK > end)
			break;
		sum += (__u32)bpf_csum_diff(NULL, 0, p, MG_CSUM_CHUNK, 0);
		p += MG_CSUM_CHUNK;
	}
	if (p + MG_CSUM_CHUNK <= end)
		return -1;
#pragma clang loop unroll(disable)
	for (int i = 0; i < MG_CSUM_CHUNK / 4; i++) {
		if (p + 4 > end)
			break;
		sum += *(__u32 *)p;
		p += 4;
	}
	if (p + 2 <= end) {
		sum += *(__u16 *)p;
		p += 2;
	}
	if (p + 1 <= end)
		sum += bpf_htons((__u16)*(__u8 *)p << 8);
	return (__u16)~csum_fold64(sum);
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

#endif
