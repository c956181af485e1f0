/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* VXLAN (RFC 7348) over IPv4: push and pop the 50 outer bytes. */
#ifndef MG_DP_ENCAP_H
#define MG_DP_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
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

/*
 * Push outer Ethernet/IPv4/UDP/VXLAN in front of the frame.  inner_len is
 * the inner Ethernet frame's length.  All packet pointers are stale after.
 */
static __always_inline int mg_encap4(struct xdp_md *ctx, __u32 daddr,
				     const struct mg_nexthop *nh, __u32 hash,
				     __u8 tos, __u32 inner_len)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	struct udphdr *udp;
	struct vxlanhdr *vx;
	void *data_end;

	if (bpf_xdp_adjust_head(ctx, -MG_ENCAP4_LEN))
		return -MG_DROP_HEADROOM;
	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = (void *)(eth + 1);
	udp = (void *)(ip + 1);
	vx = (void *)(udp + 1);
	if ((void *)(vx + 1) > data_end)
		return -MG_DROP_HEADROOM;

	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = tos;
	ip->tot_len = bpf_htons(inner_len + MG_ENCAP4_LEN - sizeof(*eth));
	ip->id = 0;
	ip->frag_off = bpf_htons(0x4000);	/* DF: path MTU is ours to handle */
	ip->ttl = MG_OUTER_TTL;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = cfg_tunnel4;
	ip->daddr = daddr;
	ip->check = csum_fold(ipv4_hdr_sum(ip));

	udp->source = bpf_htons(MG_VXLAN_SPORT_MIN + (hash & 0x3fff));
	udp->dest = cfg_vxlan_port;
	udp->len = bpf_htons(inner_len + sizeof(*udp) + sizeof(*vx));
	udp->check = 0;	/* allowed for IPv4 (RFC 7348 section 5) */

	vx->flags = bpf_htonl(MG_VXLAN_FLAG_I);
	vx->vni = bpf_htonl((__u32)cfg_cluster_id << 8);
	return 0;
}

/* Pop the outer headers; pointers are stale after. */
static __always_inline int mg_decap4(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, MG_ENCAP4_LEN))
		return -MG_DROP_HEADROOM;
	return 0;
}

#endif
