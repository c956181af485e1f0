/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Next hops.  For the underlay the agent keeps mg_nh4 from netlink (route,
 * link and neighbour events); the kernel FIB is the fallback, so a missing
 * entry costs time, never correctness.
 */
#ifndef MG_DP_FIB_H
#define MG_DP_FIB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "config.h"
#include "maps.h"

#ifndef AF_INET
#define AF_INET 2
#endif

struct mg_nexthop {
	__u32 ifindex;
	__u8 smac[6];
	__u8 dmac[6];
};

/* Result of a FIB lookup as a reason: 0 on success. */
static __always_inline int mg_fib_reason(long rc)
{
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		return 0;
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return MG_DROP_NO_NEIGH;
	return MG_DROP_NO_ROUTE;
}

static __always_inline int mg_fib4(struct xdp_md *ctx, __u32 saddr, __u32 daddr,
				   __u8 tos, __u16 tot_len,
				   struct mg_nexthop *nh)
{
	struct bpf_fib_lookup p = {};
	long rc;

	p.family = AF_INET;
	p.tos = tos;
	p.l4_protocol = IPPROTO_UDP;
	p.tot_len = tot_len;
	p.ipv4_src = saddr;
	p.ipv4_dst = daddr;
	p.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return mg_fib_reason(rc);
	nh->ifindex = p.ifindex;
	__builtin_memcpy(nh->smac, p.smac, 6);
	__builtin_memcpy(nh->dmac, p.dmac, 6);
	return 0;
}

/* Underlay next hop towards a peer's IPv4 tunnel address. */
static __always_inline int mg_underlay_nh4(struct xdp_md *ctx, __u32 daddr,
					   __u16 tot_len, struct mg_nexthop *nh)
{
	if (cfg_nh_table) {
		struct mg_nh_val *v = bpf_map_lookup_elem(&mg_nh4, &daddr);

		if (v) {
			nh->ifindex = v->ifindex;
			__builtin_memcpy(nh->smac, v->smac, 6);
			__builtin_memcpy(nh->dmac, v->dmac, 6);
			return 0;
		}
	}
	return mg_fib4(ctx, cfg_tunnel4, daddr, 0, tot_len, nh);
}

/* Send out of nh->ifindex: XDP_TX when it is where the packet came in. */
static __always_inline int mg_xmit(struct xdp_md *ctx, __u32 ifindex)
{
	long rc;

	if (ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	rc = bpf_redirect_map(&mg_tx, ifindex, 0);
	if (rc == XDP_REDIRECT)
		return rc;
	return bpf_redirect(ifindex, 0);
}

#endif
