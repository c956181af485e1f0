/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors built by the datapath (DESIGN §2, path 5): a packet too big
 * for the tunnel (or for the cluster side after decapsulation) becomes, in
 * place, an ICMP "fragmentation needed" (RFC 792, RFC 1191) or an ICMPv6
 * "packet too big" (RFC 4443) back to its sender, quoting as much of it as
 * fits in 576 / 1280 bytes (RFC 1812 4.3.2.3, RFC 4443 2.4 (c)), rounded
 * down to whole 32-bit words.
 *
 * The headers in front of the quoted packet (keep bytes: its Ethernet
 * header, or the whole tunnel and inner Ethernet) are kept as they were;
 * the caller turns them around.  keep must be a constant.
 *
 * The same builders answer a datagram to a service no backend can take
 * with a port unreachable (rst.h), from the VIP.
 *
 * The error's source is the cluster side's address (cfg_cluster4/6) when
 * the agent set one (it does when that address is inside one of this
 * cluster's prefixes, so other gateways' anti-spoofing accepts it), else
 * the address the quoted packet was for.
 */
#ifndef MG_DP_ICMP_H
#define MG_DP_ICMP_H

#include <linux/bpf.h>
#include "icmp4.h"
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <meshgate/abi.h>
#include "config.h"
#include "csum.h"
#include "ctx.h"

#define MG_ICMP_TTL	64
#define MG_ICMP_KEEP_MAX	(MG_ENCAP6_LEN + ETH_HLEN)

/* Trim to keep + quote bytes, then grow the head by hlen; 0 or -reason. */
static __always_inline int mg_icmp_resize(mg_ctx_t *ctx, __u32 keep,
					  __u32 quote, int hlen)
{
	if (mg_ctx_trim_grow(ctx, keep + quote, hlen))
		return -MG_DROP_HEADROOM;
	return 0;
}

/*
 * The packet at keep, in place, into the ICMP error type/code (rest: the
 * header's last four bytes, network order) back to its sender, from
 * address from (network order; 0: the cluster side's address, else where
 * the packet was going).  0 or -reason.
 */
static __always_inline int mg_icmp4_error(mg_ctx_t *ctx, const __u32 keep,
					  __u8 type, __u8 code, __be32 rest,
					  __be32 from)
{
	__u8 hdr[MG_ICMP_KEEP_MAX];
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + keep;
	struct icmphdr *icmp;
	__u32 saddr, daddr, quote;
	int sum, rc;

	if ((void *)(ip + 1) > data_end)
		return -MG_DROP_MALFORMED;
	__builtin_memcpy(hdr, data, keep);
	daddr = ip->saddr;
	/*
	 * To this host itself (TC), from where the packet was going: the
	 * kernel drops what comes in from one of its own addresses.
	 */
	saddr = from ?: (MG_CTX_HOST ? 0 : cfg_cluster4) ?: ip->daddr;
	quote = bpf_ntohs(ip->tot_len);
	if (quote > MG_ICMP4_MAX - sizeof(*ip) - sizeof(*icmp))
		quote = MG_ICMP4_MAX - sizeof(*ip) - sizeof(*icmp);
	quote &= ~3U;

	rc = mg_icmp_resize(ctx, keep, quote, sizeof(*ip) + sizeof(*icmp));
	if (rc)
		return rc;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = data + keep;
	icmp = (void *)(ip + 1);
	if ((void *)(icmp + 1) > data_end)
		return -MG_DROP_HEADROOM;
	__builtin_memcpy(data, hdr, keep);

	icmp->type = type;
	icmp->code = code;
	icmp->checksum = 0;
	icmp->un.gateway = rest;
	sum = mg_csum_pkt(ctx, keep + sizeof(*ip), 0);
	if (sum < 0)
		return -MG_DROP_HEADROOM;
	icmp->checksum = ~sum;

	/* Internetwork control, as the kernel sends its own errors. */
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0xc0;
	ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(*icmp) + quote);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = MG_ICMP_TTL;
	ip->protocol = IPPROTO_ICMP;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum_fold(ipv4_hdr_sum(ip));
	return 0;
}

static __always_inline int mg_icmp4_too_big(mg_ctx_t *ctx,
					    const __u32 keep, __u16 mtu)
{
	return mg_icmp4_error(ctx, keep, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
			      bpf_htonl(mtu), 0);
}

/* mg_icmp4_error() for IPv6; from NULL: the default source. */
static __always_inline int mg_icmp6_error(mg_ctx_t *ctx, const __u32 keep,
					  __u8 type, __u8 code, __be32 rest,
					  const __u32 *from)
{
	__u8 hdr[MG_ICMP_KEEP_MAX];
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip = data + keep;
	struct icmp6hdr *icmp;
	__u32 saddr[4], daddr[4], quote;
	int sum, rc;

	if ((void *)(ip + 1) > data_end)
		return -MG_DROP_MALFORMED;
	__builtin_memcpy(hdr, data, keep);
	__builtin_memcpy(daddr, &ip->saddr, 16);
	if (from) {
		saddr[0] = from[0];
		saddr[1] = from[1];
		saddr[2] = from[2];
		saddr[3] = from[3];
	} else if (!MG_CTX_HOST && (cfg_cluster6[0] | cfg_cluster6[1] |
			   cfg_cluster6[2] | cfg_cluster6[3])) {
		saddr[0] = cfg_cluster6[0];
		saddr[1] = cfg_cluster6[1];
		saddr[2] = cfg_cluster6[2];
		saddr[3] = cfg_cluster6[3];
	} else {
		__builtin_memcpy(saddr, &ip->daddr, 16);
	}
	quote = sizeof(*ip) + bpf_ntohs(ip->payload_len);
	if (quote > MG_ICMP6_MAX - sizeof(*ip) - sizeof(*icmp))
		quote = MG_ICMP6_MAX - sizeof(*ip) - sizeof(*icmp);
	quote &= ~3U;

	rc = mg_icmp_resize(ctx, keep, quote, sizeof(*ip) + sizeof(*icmp));
	if (rc)
		return rc;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = data + keep;
	icmp = (void *)(ip + 1);
	if ((void *)(icmp + 1) > data_end)
		return -MG_DROP_HEADROOM;
	__builtin_memcpy(data, hdr, keep);

	*(__be32 *)ip = bpf_htonl(6 << 28);
	ip->payload_len = bpf_htons(sizeof(*icmp) + quote);
	ip->nexthdr = IPPROTO_ICMPV6;
	ip->hop_limit = MG_ICMP_TTL;
	__builtin_memcpy(&ip->saddr, saddr, 16);
	__builtin_memcpy(&ip->daddr, daddr, 16);

	icmp->icmp6_type = type;
	icmp->icmp6_code = code;
	icmp->icmp6_cksum = 0;
	icmp->icmp6_dataun.un_data32[0] = rest;
	sum = (__u16)~csum_fold64(ipv6_pseudo_sum(saddr, daddr,
						  sizeof(*icmp) + quote,
						  IPPROTO_ICMPV6));
	sum = mg_csum_pkt(ctx, keep + sizeof(*ip), sum);
	if (sum < 0)
		return -MG_DROP_HEADROOM;
	icmp->icmp6_cksum = ~sum;
	return 0;
}

static __always_inline int mg_icmp6_too_big(mg_ctx_t *ctx,
					    const __u32 keep, __u32 mtu)
{
	return mg_icmp6_error(ctx, keep, ICMPV6_PKT_TOOBIG, 0, bpf_htonl(mtu),
			      NULL);
}

/* Back out of the interface it came in on, to the MAC it came from. */
static __always_inline int mg_icmp_l2_reverse(mg_ctx_t *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	__u8 mac[ETH_ALEN];

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return -MG_DROP_MALFORMED;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	return 0;
}

#endif
