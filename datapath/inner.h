/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The inner packet as the tunnel paths (tunnel.h), the policy (policy.h)
 * and reply pinning (pin.h) see it, IPv4 or IPv6.
 */
#ifndef MG_DP_INNER_H
#define MG_DP_INNER_H

#include <linux/bpf.h>
#include <meshgate/abi.h>
#include "parse.h"

#define IP_DF 0x4000

/* An inner IP packet as both paths see it, whatever its family. */
struct mg_inner {
	void *ip; /* struct iphdr or struct ipv6hdr */
	void *l4; /* upper-layer header; may lie past the end */
	__u32 l3_len; /* the IP packet's length */
	__u8 family; /* MG_AF_INET or MG_AF_INET6 */
	__u8 proto; /* upper-layer protocol */
	__u8 frag; /* a fragment, the first included */
	__u8 df; /* IPv4 DF (IPv6: always 1, never fragmented en route) */
	__u8 nat; /* DNATed to a service backend (lb.h) */
	__u8 pad[3];
	__u32 lb; /* then its service | backend << 16 (slot + 1) */
};

/* The ids of an event about it (events.h), cid its cluster. */
#define MG_IN_IDS(cid, in) MG_EV_IDS(cid, (in)->lb, (in)->lb >> 16)
/* ... about a tunnel packet from peer. */
#define MG_PEER_IDS(peer) MG_EV_IDS((peer)->cluster_id, 0, 0)

static __always_inline int mg_inner4(struct mg_inner *in, struct cursor *c,
				     struct iphdr *ip, int proto)
{
	in->ip = ip;
	in->l4 = c->pos;
	in->l3_len = bpf_ntohs(ip->tot_len);
	in->family = MG_AF_INET;
	in->proto = proto;
	in->frag = ipv4_is_fragment(ip) != 0;
	in->df = (ip->frag_off & bpf_htons(IP_DF)) != 0;
	in->nat = 0;
	in->lb = 0;
	return 0;
}

static __always_inline int mg_inner6(struct mg_inner *in, struct cursor *c,
				     struct ipv6hdr *ip,
				     const struct ip6_info *info)
{
	in->ip = ip;
	in->l4 = c->pos;
	in->l3_len = sizeof(*ip) + bpf_ntohs(ip->payload_len);
	in->family = MG_AF_INET6;
	in->proto = info->proto;
	in->frag = info->frag != 0;
	in->df = 1;
	in->nat = 0;
	in->lb = 0;
	return 0;
}

#endif
