/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The reflector of data-plane liveness (include/meshgate/echo.h): a peer
 * gateway's probe, VXLAN to our tunnel address whose inner frame is of
 * EtherType MG_ECHO_ETH_P, goes straight back to it -- outer MACs,
 * addresses and UDP ports swapped -- with no agent involved, so the peer
 * learns that this datapath forwards, whatever our agent is doing.
 *
 * The reply goes to the prober's own UDP port, not the VXLAN port: its
 * XDP passes it up to the agent's socket and never reflects it again.
 * Swapping leaves the IPv4 header and UDP checksums right as they are.
 * A probe is checked as tunnel traffic is (path 2): options, checksum,
 * VXLAN flags, a known peer (peer_unknown), its VNI.
 */
#ifndef MG_DP_ECHO_H
#define MG_DP_ECHO_H

#include <meshgate/echo.h>
#include "tunnel.h"

/* c at the outer UDP header of a packet to our VXLAN port: a probe? */
static __always_inline int mg_is_echo(const struct cursor *c)
{
	struct ethhdr *ieth = c->pos + sizeof(struct udphdr) +
			      sizeof(struct vxlanhdr);

	if ((void *)(ieth + 1) > c->end)
		return 0;
	return ieth->h_proto == bpf_htons(MG_ECHO_ETH_P);
}

/* From the VXLAN header on: the peer's VNI, then the echo itself. */
static __always_inline int mg_echo_check(struct cursor *c,
					 const struct vxlanhdr *vx,
					 const struct mg_peer_val *peer)
{
	struct mg_echo *e;
	struct ethhdr *ieth;

	if (vx->vni != bpf_htonl((__u32)peer->cluster_id << 8))
		return MG_DROP_VNI;
	if (parse_eth(c, &ieth) < 0)
		return MG_DROP_MALFORMED;
	e = c->pos;
	if ((void *)(e + 1) > c->end || e->magic != bpf_htonl(MG_ECHO_MAGIC) ||
	    e->version != MG_ECHO_VERSION)
		return MG_DROP_MALFORMED;
	return 0;
}

/* Back where it came from: outer MACs and UDP ports swapped. */
static __always_inline int mg_echo_send(mg_ctx_t *ctx, struct udphdr *udp)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	__u8 mac[ETH_ALEN];
	__u16 port;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return mg_exit(ctx, MG_DROP_MALFORMED, MG_ACT_DROP);
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	/* Redirected, not XDP_TX: see mg_ctx_redirect() (ctx.h). */
	return mg_exit(ctx, MG_ECHO, mg_ctx_redirect(ctx, mg_ctx_ifindex(ctx)));
}

/* A probe over IPv4: ip is the outer header, c at its UDP header. */
static __always_inline int mg_echo4(mg_ctx_t *ctx, struct cursor *c,
				    struct iphdr *ip)
{
	struct udphdr *udp = c->pos;
	struct mg_peer_val *peer;
	struct vxlanhdr *vx;
	__u32 saddr = ip->saddr;
	int rc;

	if (ip->ihl != 5)
		return mg_exit(ctx, MG_DROP_IP_OPTS, MG_ACT_DROP);
	if (csum_fold(ipv4_hdr_sum(ip)) != 0)
		return mg_exit(ctx, MG_DROP_CSUM, MG_ACT_DROP);
	rc = mg_vxlan_parse(c, (void *)ip + bpf_ntohs(ip->tot_len), &vx);
	if (rc)
		return mg_exit(ctx, rc, MG_ACT_DROP);
	peer = bpf_map_lookup_elem(&mg_peer4, &saddr);
	if (!peer)
		return mg_exit(ctx, MG_DROP_PEER_UNKNOWN, MG_ACT_DROP);
	rc = mg_echo_check(c, vx, peer);
	if (rc)
		return mg_exit(ctx, rc, MG_ACT_DROP);
	ip->saddr = ip->daddr;
	ip->daddr = saddr;
	return mg_echo_send(ctx, udp);
}

/* The same over IPv6 (no extension headers: the caller saw to it). */
static __always_inline int mg_echo6(mg_ctx_t *ctx, struct cursor *c,
				    struct ipv6hdr *ip)
{
	struct udphdr *udp = c->pos;
	struct mg_peer_val *peer;
	struct vxlanhdr *vx;
	struct mg_in6 saddr;
	int rc;

	__builtin_memcpy(&saddr, &ip->saddr, sizeof(saddr));
	rc = mg_vxlan_parse(c, (void *)(ip + 1) + bpf_ntohs(ip->payload_len),
			    &vx);
	if (rc)
		return mg_exit(ctx, rc, MG_ACT_DROP);
	peer = bpf_map_lookup_elem(&mg_peer6, &saddr);
	if (!peer)
		return mg_exit(ctx, MG_DROP_PEER_UNKNOWN, MG_ACT_DROP);
	rc = mg_echo_check(c, vx, peer);
	if (rc)
		return mg_exit(ctx, rc, MG_ACT_DROP);
	__builtin_memcpy(&ip->saddr, &ip->daddr, sizeof(saddr));
	__builtin_memcpy(&ip->daddr, &saddr, sizeof(saddr));
	return mg_echo_send(ctx, udp);
}

#endif
