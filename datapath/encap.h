/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VXLAN (RFC 7348) over IPv4 or IPv6: push and pop the 50 or 70 outer
 * bytes.  The outer family is the chosen gateway's.
 */
#ifndef MG_DP_ENCAP_H
#define MG_DP_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <meshgate/abi.h>
#include "config.h"
#include "csum.h"
#include "fib.h"

struct vxlanhdr {
	__be32 flags;		/* MG_VXLAN_FLAG_I and reserved bits */
	__be32 vni;		/* VNI << 8, low byte reserved */
};

#define MG_VXLAN_FLAG_I		0x08000000
#define MG_OUTER_TTL		64
#define MG_VXLAN_SPORT_MIN	49152	/* RFC 7348 recommends the dynamic range */

static __always_inline __u16 mg_vxlan_sport(__u32 hash)
{
	return bpf_htons(MG_VXLAN_SPORT_MIN + (hash & 0x3fff));
}

static __always_inline void mg_vxlan_fill(struct vxlanhdr *vx)
{
	vx->flags = bpf_htonl(MG_VXLAN_FLAG_I);
	vx->vni = bpf_htonl((__u32)cfg_cluster_id << 8);
}

static __always_inline void mg_outer4_fill(struct iphdr *ip, __u32 saddr,
					   __u32 daddr, __u8 tos,
					   __u32 tot_len)
{
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = tos;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = bpf_htons(0x4000);	/* DF: path MTU is ours to handle */
	ip->ttl = MG_OUTER_TTL;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum_fold(ipv4_hdr_sum(ip));
}

/* Flow label from the flow hash (RFC 6438), so the underlay spreads too. */
static __always_inline void mg_outer6_fill(struct ipv6hdr *ip,
					   const __u32 *saddr,
					   const __u32 *daddr, __u8 tclass,
					   __u32 hash, __u32 payload_len)
{
	*(__be32 *)ip = bpf_htonl(6 << 28 | (__u32)tclass << 20 |
				  (hash & 0xfffff));
	ip->payload_len = bpf_htons(payload_len);
	ip->nexthdr = IPPROTO_UDP;
	ip->hop_limit = MG_OUTER_TTL;
	__builtin_memcpy(&ip->saddr, saddr, 16);
	__builtin_memcpy(&ip->daddr, daddr, 16);
}

/*
 * The UDP checksum of VXLAN over IPv6 (RFC 6935 and 6936 allow zero only
 * where the receiver accepts it: a Linux vxlan device needs
 * udp6zerocsumrx).  Covers the whole inner frame: isum is its sum when
 * the caller knows it (mg_inner_lco()), else -1 and it is summed here.
 * udp and the VXLAN header behind it are filled in.
 */
static __always_inline int mg_udp6_csum(mg_ctx_t *ctx, struct ipv6hdr *ip,
					struct udphdr *udp, int isum)
{
	__u64 sum64;
	int sum;

	udp->check = 0;
	/*
	 * A GSO packet of the host's own (TC) is cut into segments after us,
	 * and the kernel sums no outer checksum for them (adjust_room marks
	 * them UDP tunnel without checksum): zero, as RFC 6935 allows a
	 * tunnel.  Any other is summed, the inner checksum a device is yet
	 * to fill in included: what it will sum to is known (isum, derived).
	 */
	if (!cfg_udp6_csum || mg_ctx_is_gso(ctx))
		return 0;
	/*
	 * Summed byte by byte only where no inner checksum is left to a
	 * device: not on TC, whose packets may still carry a partial one.
	 */
	if (isum < 0 && MG_CTX_CSUM_HELPERS)
		return 0;
	sum64 = ipv6_pseudo_sum((__u32 *)&ip->saddr, (__u32 *)&ip->daddr,
				bpf_ntohs(udp->len), IPPROTO_UDP);
	if (isum >= 0) {
		const __u32 *w = (const __u32 *)udp;	/* UDP and VXLAN */

		sum64 += (__u64)w[0] + w[1] + w[2] + w[3] + (__u32)isum;
		udp->check = csum_fold64(sum64) ?: 0xffff;
		return 0;
	}
	sum = mg_csum_pkt(ctx, (void *)udp - (void *)(long)ctx->data,
			  (__u16)~csum_fold64(sum64));
	if (sum < 0)
		return -MG_DROP_HEADROOM;
	udp->check = (__u16)~sum ?: 0xffff;
	return 0;
}

/*
 * A VXLAN datagram over IPv6: is its UDP checksum right (or zero, which
 * the kernel's vxlan device takes only with udp6zerocsumrx and we take
 * always: a peer may be configured udp6_checksum = no)?  Summed over the
 * whole datagram, from udp to the frame's end (the caller trimmed the
 * frame to the datagram), as the kernel does when the device has not.
 */
static __always_inline int mg_udp6_csum_ok(mg_ctx_t *ctx,
					   const struct ipv6hdr *ip,
					   const struct udphdr *udp)
{
	__u64 ps;
	int sum;

	if (!udp->check)
		return 1;
	ps = ipv6_pseudo_sum((const __u32 *)&ip->saddr,
			     (const __u32 *)&ip->daddr, bpf_ntohs(udp->len),
			     IPPROTO_UDP);
	sum = mg_csum_pkt(ctx, (void *)udp - (void *)(long)ctx->data,
			  (__u16)~csum_fold64(ps));
	return sum == 0xffff;
}

/* The outer Ethernet header, towards the underlay next hop. */
static __always_inline void mg_outer_eth(struct ethhdr *eth,
					 const struct mg_nexthop *nh,
					 __u16 proto)
{
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	eth->h_proto = bpf_htons(proto);
}

/* The outer UDP header (all but its checksum) and the VXLAN header. */
static __always_inline void mg_outer_udp(struct udphdr *udp,
					 struct vxlanhdr *vx, __u32 hash,
					 __u32 udp_len)
{
	udp->source = mg_vxlan_sport(hash);
	udp->dest = cfg_vxlan_port;
	udp->len = bpf_htons(udp_len);
	mg_vxlan_fill(vx);
}

/*
 * Push outer Ethernet/IP/UDP/VXLAN in front of the frame, to gw (IPv4 or
 * IPv6).  inner_len is the inner Ethernet frame's length, isum its one's
 * complement sum or -1 (for the UDP checksum over IPv6: mg_udp6_csum()).
 * All packet pointers are stale after.
 */
static __always_inline int mg_encap(mg_ctx_t *ctx,
				    const struct mg_addr *gw,
				    const struct mg_nexthop *nh, __u32 hash,
				    __u8 tos, __u32 inner_len, int isum)
{
	__u32 olen = gw->family == MG_AF_INET ? MG_ENCAP4_LEN : MG_ENCAP6_LEN;
	__u32 udp_len = inner_len + sizeof(struct udphdr) +
			sizeof(struct vxlanhdr);
	struct ethhdr *eth;
	struct udphdr *udp;
	struct vxlanhdr *vx;
	void *data_end;

	if (mg_ctx_push(ctx, olen, gw->family != MG_AF_INET))
		return -MG_DROP_HEADROOM;
	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;

	if (gw->family == MG_AF_INET) {
		struct iphdr *ip = (void *)(eth + 1);

		udp = (void *)(ip + 1);
		vx = (void *)(udp + 1);
		if ((void *)(vx + 1) > data_end)
			return -MG_DROP_HEADROOM;
		mg_outer_eth(eth, nh, ETH_P_IP);
		mg_outer4_fill(ip, cfg_tunnel4, gw->addr[0], tos,
			       udp_len + sizeof(*ip));
		mg_outer_udp(udp, vx, hash, udp_len);
		udp->check = 0;	/* allowed for IPv4 (RFC 7348 section 5) */
		return 0;
	} else {
		struct ipv6hdr *ip = (void *)(eth + 1);

		udp = (void *)(ip + 1);
		vx = (void *)(udp + 1);
		if ((void *)(vx + 1) > data_end)
			return -MG_DROP_HEADROOM;
		mg_outer_eth(eth, nh, ETH_P_IPV6);
		__u32 own[4] = { cfg_tunnel6[0], cfg_tunnel6[1],
				 cfg_tunnel6[2], cfg_tunnel6[3] };

		mg_outer6_fill(ip, own, gw->addr, tos, hash, udp_len);
		mg_outer_udp(udp, vx, hash, udp_len);
		return mg_udp6_csum(ctx, ip, udp, isum);
	}
}

/*
 * Turn a tunnel packet from a peer around: the outer headers (family by
 * olen) go back to where they came from, with our VNI and a fresh length
 * and checksum, and the inner MACs swap.  For an ICMP error built in place
 * of the inner packet (icmp.h).
 */
static __always_inline int mg_encap_reverse(mg_ctx_t *ctx,
					    const __u32 olen)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, *ieth = data + olen;
	__u32 udp_len = data_end - data - olen + sizeof(struct udphdr) +
			sizeof(struct vxlanhdr);
	struct udphdr *udp = data + olen - sizeof(struct udphdr) -
			     sizeof(struct vxlanhdr);
	struct vxlanhdr *vx = (void *)(udp + 1);
	__u8 mac[ETH_ALEN];

	if ((void *)(ieth + 1) > data_end)
		return -MG_DROP_MALFORMED;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	__builtin_memcpy(mac, ieth->h_dest, ETH_ALEN);
	__builtin_memcpy(ieth->h_dest, ieth->h_source, ETH_ALEN);
	__builtin_memcpy(ieth->h_source, mac, ETH_ALEN);
	udp->dest = cfg_vxlan_port;
	udp->len = bpf_htons(udp_len);
	udp->check = 0;
	mg_vxlan_fill(vx);
	if (olen == MG_ENCAP4_LEN) {
		struct iphdr *ip = (void *)(eth + 1);

		mg_outer4_fill(ip, ip->daddr, ip->saddr, 0,
			       udp_len + sizeof(*ip));
		return 0;
	} else {
		struct ipv6hdr *ip = (void *)(eth + 1);
		__u32 peer[4];

		__builtin_memcpy(peer, &ip->saddr, 16);
		mg_outer6_fill(ip, (__u32 *)&ip->daddr, peer, 0,
			       bpf_ntohs(udp->source), udp_len);
		return mg_udp6_csum(ctx, ip, udp, -1);
	}
}

/* Pop olen outer bytes; pointers are stale after. */
static __always_inline int mg_decap(mg_ctx_t *ctx, __u32 olen)
{
	if (mg_ctx_pop(ctx, olen))
		return -MG_DROP_HEADROOM;
	return 0;
}

#endif
