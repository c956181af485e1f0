/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header cursor.  Every step checks the header against data_end before it is
 * read and returns the next protocol (>= 0) or a negative enum mg_reason.
 */
#ifndef MG_DP_PARSE_H
#define MG_DP_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <meshgate/reasons.h>

struct cursor {
	void *pos;
	void *end;
};

#define IP_MF		0x2000
#define IP_OFFSET	0x1fff

/* Ethernet: returns the EtherType in network order. */
static __always_inline int parse_eth(struct cursor *c, struct ethhdr **eth)
{
	struct ethhdr *h = c->pos;

	if ((void *)(h + 1) > c->end)
		return -MG_DROP_MALFORMED;
	c->pos = h + 1;
	*eth = h;
	return h->h_proto;
}

/*
 * IPv4: version, header length and total length checked against the packet;
 * returns the L4 protocol.  Trailing bytes past tot_len (Ethernet padding)
 * are allowed.
 */
static __always_inline int parse_ipv4(struct cursor *c, struct iphdr **iph)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > c->end)
		return -MG_DROP_MALFORMED;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip))
		return -MG_DROP_MALFORMED;
	if (c->pos + hlen > c->end)
		return -MG_DROP_MALFORMED;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen || c->pos + tot > c->end)
		return -MG_DROP_MALFORMED;
	c->pos += hlen;
	*iph = ip;
	return ip->protocol;
}

static __always_inline int ipv4_is_fragment(const struct iphdr *ip)
{
	return ip->frag_off & bpf_htons(IP_MF | IP_OFFSET);
}

/* Multicast (224/4) or the limited broadcast: never routed to a peer. */
static __always_inline int ipv4_is_group(__u32 daddr)
{
	return (daddr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000) ||
	       daddr == 0xffffffff;
}

static __always_inline int ipv4_is_later_fragment(const struct iphdr *ip)
{
	return ip->frag_off & bpf_htons(IP_OFFSET);
}

#define MG_IP6_EXT_MAX	6	/* extension headers walked; more is hostile */
#define MG_IP6_HDRS_MAX	4096	/* bytes of headers before the upper layer */
#define IP6_MF		0x0001
#define IP6_OFFSET	0xfff8

/* What the extension header walk found (parse_ipv6). */
struct ip6_info {
	__u8 proto;	/* upper-layer protocol (IPPROTO_NONE when none) */
	__u8 n_ext;	/* extension headers before it */
	__u8 frag;	/* 0, IP6_FRAG_FIRST or IP6_FRAG_LATER */
	__u8 pad;
};

#define IP6_FRAG_FIRST	1	/* offset 0, more fragments: L4 header here */
#define IP6_FRAG_LATER	2	/* offset > 0: no L4 header */

/*
 * IPv6: the fixed header (version, payload length against the packet),
 * then the extension header chain up to the upper-layer header, where the
 * cursor is left.  Hop-by-hop only first, every header inside the payload,
 * at most MG_IP6_EXT_MAX of them: anything else is malformed.  A later
 * fragment stops the walk (what follows is data, not a header).
 * Returns the upper-layer protocol, as info->proto.
 */
static __always_inline int parse_ipv6(struct cursor *c, struct ipv6hdr **iph,
				      struct ip6_info *info)
{
	struct ipv6hdr *ip = c->pos;
	__u32 off = sizeof(*ip), end;
	__u8 next;

	if ((void *)(ip + 1) > c->end)
		return -MG_DROP_MALFORMED;
	if (ip->version != 6)
		return -MG_DROP_MALFORMED;
	end = sizeof(*ip) + bpf_ntohs(ip->payload_len);
	if ((void *)ip + end > c->end)
		return -MG_DROP_MALFORMED;
	*iph = ip;
	next = ip->nexthdr;
	info->n_ext = 0;
	info->frag = 0;

	for (int i = 0; i <= MG_IP6_EXT_MAX; i++) {
		__u8 *h = (void *)ip + off;
		__u32 len;

		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
		    next != IPPROTO_DSTOPTS && next != IPPROTO_FRAGMENT &&
		    next != IPPROTO_AH)
			break;
		if (i == MG_IP6_EXT_MAX)
			return -MG_DROP_MALFORMED;
		if (next == IPPROTO_HOPOPTS && i)
			return -MG_DROP_MALFORMED;
		if ((void *)(h + 8) > c->end)
			return -MG_DROP_MALFORMED;
		if (next == IPPROTO_FRAGMENT)
			len = 8;
		else if (next == IPPROTO_AH)
			len = ((__u32)h[1] + 2) * 4;
		else
			len = ((__u32)h[1] + 1) * 8;
		if (off + len > end || off + len > MG_IP6_HDRS_MAX)
			return -MG_DROP_MALFORMED;
		info->n_ext++;
		off += len;
		if (next == IPPROTO_FRAGMENT) {
			__u16 fo = bpf_ntohs(*(__u16 *)(h + 2));

			next = h[0];
			if (fo & IP6_OFFSET) {
				info->frag = IP6_FRAG_LATER;
				break;
			}
			if (fo & IP6_MF)
				info->frag = IP6_FRAG_FIRST;
			continue;
		}
		next = h[0];
	}
	c->pos = (void *)ip + off;
	info->proto = next;
	return next;
}

/*
 * UDP: the length must be exactly what the IP header says is left; bytes
 * past a shorter UDP length are not the datagram's and must not be taken
 * (as an inner frame, say).
 */
static __always_inline int parse_udp(struct cursor *c, void *l4_end,
				     struct udphdr **udph)
{
	struct udphdr *udp = c->pos;
	__u32 len;

	if ((void *)(udp + 1) > c->end)
		return -MG_DROP_MALFORMED;
	len = bpf_ntohs(udp->len);
	if (len < sizeof(*udp) || c->pos + len != l4_end)
		return -MG_DROP_MALFORMED;
	c->pos = udp + 1;
	*udph = udp;
	return 0;
}

/*
 * The first four bytes of the L4 header (ports for TCP, UDP and SCTP) as one
 * word for the flow hash; 0 for other protocols and for every fragment, the
 * first included, so all fragments of a datagram hash alike (as the
 * kernel's flow dissector does) and take the same tunnel.
 */
static __always_inline __u32 l4_ports(__u8 proto, int frag, void *l4,
				      void *end)
{
	__u32 *ports = l4;

	if (frag)
		return 0;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP &&
	    proto != IPPROTO_SCTP)
		return 0;
	if ((void *)(ports + 1) > end)
		return 0;
	return *ports;
}

#endif
