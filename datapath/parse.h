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

static __always_inline int ipv4_is_later_fragment(const struct iphdr *ip)
{
	return ip->frag_off & bpf_htons(IP_OFFSET);
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
static __always_inline __u32 l4_ports(const struct iphdr *ip, void *l4,
				      void *end)
{
	__u32 *ports = l4;

	if (ipv4_is_fragment(ip))
		return 0;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP &&
	    ip->protocol != IPPROTO_SCTP)
		return 0;
	if ((void *)(ports + 1) > end)
		return 0;
	return *ports;
}

#endif
