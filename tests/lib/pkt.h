/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small packet builder for datapath tests: headers are pushed outermost
 * first, each push is recorded as a layer (type, offset, length) so that
 * lengths and checksums can be filled in afterwards, fields can be edited
 * by layer, and two packets can be compared field by field with names
 * ("ipv4[1].ttl") rather than as raw offsets.
 */
#ifndef MG_TEST_PKT_H
#define MG_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PKT_MAX		2048
#define PKT_LAYERS	16

enum pkt_layer_type {
	PKT_ETH,
	PKT_ARP,
	PKT_IP4,
	PKT_IP6,
	PKT_UDP,
	PKT_TCP,
	PKT_ICMP,
	PKT_VXLAN,
	PKT_ICMP6,	/* checksum over the IPv6 pseudo-header */
	PKT_DATA,	/* last: raw bytes, never fixed up */
};

struct pkt_layer {
	enum pkt_layer_type type;
	uint16_t off;
	uint16_t len;		/* header length as built (IPv4: options in) */
	bool no_csum;		/* UDP: checksum left 0 (outer VXLAN UDP) */
};

struct pkt {
	size_t len;
	int n;
	struct pkt_layer l[PKT_LAYERS];
	uint8_t data[PKT_MAX];
};

/* Host to network order, usable in static initializers. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PKT_BE32(x)	((uint32_t)__builtin_bswap32(x))
#else
#define PKT_BE32(x)	((uint32_t)(x))
#endif

/* An IPv4 address in network order from its dotted quad. */
#define IP4(a, b, c, d) \
	PKT_BE32(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

struct pkt_ip4 {
	uint32_t saddr, daddr;	/* network order */
	uint8_t proto;
	uint8_t ttl;
	uint8_t tos;
	uint16_t id;		/* host order */
	uint16_t frag_off;	/* host order: flags and offset; 0x4000 DF */
	const uint8_t *opts;	/* IPv4 options, opt_len a multiple of 4 */
	size_t opt_len;
};

/*
 * An address of either family, network order, so that one test helper
 * builds the IPv4 and the IPv6 form of a packet: MGT_A4(10, 1, 0, 5),
 * MGT_A6(0xfd, 0, 0, 1, [15] = 5).
 */
struct mgt_addr {
	uint8_t fam;		/* 4 or 6 */
	union {
		uint32_t v4;
		uint8_t v6[16];
	};
};

#define MGT_A4(a, b, c, d)						\
	((struct mgt_addr){ .fam = 4, .v4 = IP4(a, b, c, d) })
#define MGT_A6(...)	((struct mgt_addr){ .fam = 6, .v6 = { __VA_ARGS__ } })

/* ETH_P_IP or ETH_P_IPV6; the IP header's length as pkt_ip() builds it. */
uint16_t pkt_ethertype(const struct mgt_addr *a);
size_t pkt_ip_hlen(const struct mgt_addr *a);

void pkt_init(struct pkt *p);
void pkt_eth(struct pkt *p, const uint8_t dst[6], const uint8_t src[6],
	     uint16_t type);
void pkt_ip4(struct pkt *p, const struct pkt_ip4 *h);
void pkt_ip6(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
	     uint8_t next, uint8_t hop_limit);
/* IPv6 with a traffic class and flow label (host order, 20 bits). */
void pkt_ip6x(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
	      uint8_t next, uint8_t hop_limit, uint8_t tclass,
	      uint32_t flow);
/*
 * An IP header of src's family, src to dst: IPv4 (no options, id 0, no
 * flags) or IPv6; ttl is the hop limit.  pkt_ipx() sets IPv4's id and
 * frag_off (host order; 0x4000 DF), which IPv6 has not.
 */
void pkt_ip(struct pkt *p, const struct mgt_addr *src,
	    const struct mgt_addr *dst, uint8_t proto, uint8_t ttl);
void pkt_ipx(struct pkt *p, const struct mgt_addr *src,
	     const struct mgt_addr *dst, uint8_t proto, uint8_t ttl,
	     uint16_t id, uint16_t frag_off);
/* Ethernet, then an IP header of src's family. */
void pkt_eth_ip(struct pkt *p, const uint8_t dmac[6], const uint8_t smac[6],
		const struct mgt_addr *src, const struct mgt_addr *dst,
		uint8_t proto, uint8_t ttl);
/*
 * An IPv6 extension header of len bytes (a multiple of 8; 8 for a
 * fragment header) with its next header; the length field is set for
 * hop-by-hop, routing and destination options (len / 8 - 1).  Recorded as
 * raw data.
 */
void pkt_ip6_ext(struct pkt *p, uint8_t next, size_t len);
/* A fragment header: offset in 8-byte units, more fragments flag. */
void pkt_ip6_frag(struct pkt *p, uint8_t next, uint16_t offset, bool more,
		  uint32_t id);
void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport, bool csum);
void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags);
void pkt_icmp_echo(struct pkt *p, uint16_t id, uint16_t seq);
/* ICMP (IPv4) or ICMPv6 header: type, code and the 32-bit rest. */
void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest);
void pkt_icmp6(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest);
/* n raw bytes, copied (a quoted packet, say): never fixed up. */
void pkt_raw(struct pkt *p, const void *bytes, size_t n);
void pkt_vxlan(struct pkt *p, uint32_t flags, uint32_t vni);
/* ARP request/reply for IPv4 over Ethernet; addresses network order. */
void pkt_arp(struct pkt *p, uint16_t op, const uint8_t sha[6], uint32_t spa,
	     const uint8_t tha[6], uint32_t tpa);
/* n bytes of a pattern that depends on seed. */
void pkt_data(struct pkt *p, size_t n, uint8_t seed);

/*
 * Lengths: every IPv4 tot_len, IPv6 payload length and UDP length is set to
 * reach the end of the packet (all layers nest to the end).
 * Checksums: every IPv4 header, and TCP/UDP/ICMPv6 over their segment with
 * the pseudo-header of the nearest IP layer before them (ICMP without).  Layers cut short by a
 * truncation are left alone.
 */
void pkt_fix_lengths(struct pkt *p);
void pkt_fix_csums(struct pkt *p);
void pkt_finish(struct pkt *p);		/* both */

/* The nth layer (0 = outermost) of a type, or NULL. */
const struct pkt_layer *pkt_find(const struct pkt *p, enum pkt_layer_type t,
				 int nth);
/* Its offset; aborts when the packet has no such layer (a broken test). */
size_t pkt_off(const struct pkt *p, enum pkt_layer_type t, int nth);

/* Cut the packet at off (layers past it are dropped, a cut one shortened). */
void pkt_truncate(struct pkt *p, size_t off);
/* Append src (bytes from src_off on) to p, keeping its layer map. */
void pkt_append(struct pkt *p, const struct pkt *src, size_t src_off);

/* Set a field of the nth layer of a type (0 = outermost), big-endian. */
struct pkt_edit {
	enum pkt_layer_type type;
	int8_t nth;
	uint8_t off;		/* in the layer */
	uint8_t width;		/* 1, 2 or 4; 0 ends a list of edits */
	uint32_t val;		/* host order */
};

void pkt_apply(struct pkt *p, const struct pkt_edit *e);

/* Big-endian field access at a byte offset. */
void pkt_put8(struct pkt *p, size_t off, uint8_t v);
void pkt_put16(struct pkt *p, size_t off, uint16_t v);
void pkt_put32(struct pkt *p, size_t off, uint32_t v);
uint8_t pkt_get8(const struct pkt *p, size_t off);
uint16_t pkt_get16(const struct pkt *p, size_t off);
uint32_t pkt_get32(const struct pkt *p, size_t off);

/* RFC 1071 checksum of buf, starting from a partial sum. */
uint16_t pkt_csum(const void *buf, size_t len, uint32_t sum);
/* True when the IPv4 header at off has a valid checksum. */
bool pkt_ip4_csum_ok(const struct pkt *p, size_t off);

/*
 * Every checksum in p, checked against a plain one's complement sum of
 * its bytes (written apart from the builder's and the datapath's code):
 * each IPv4 header, and the TCP, UDP, ICMP or ICMPv6 checksum of each IP
 * packet, the inner packet of VXLAN (UDP to vxlan_port) included; an ICMP
 * error's quote is not looked into.  A zero UDP checksum is "none": right
 * over IPv4, and over IPv6 only with zero_udp6.  Fragments' L4 checksums
 * are not checked (they cover the datagram).  Returns how many are wrong
 * or cannot be checked (a length past the packet), the first described
 * in why.
 */
int pkt_verify_csums(const struct pkt *p, uint16_t vxlan_port, bool zero_udp6,
		     char *why, size_t why_len);

/*
 * Compare got against want field by field, naming each difference after
 * want's layers ("ipv4[1].ttl: got 0x3f want 0x3e").  Writes the
 * differences (at most a screenful) to f and returns how many there were;
 * 0 means byte-identical.
 */
int pkt_diff(const struct pkt *got, const struct pkt *want, FILE *f);

/* Hex dump for failure messages. */
void pkt_dump(const struct pkt *p, FILE *f);

#endif
