// SPDX-License-Identifier: GPL-2.0-only
/* Packet builder and field-by-field comparison for datapath tests. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "lib/pkt.h"

static void *push(struct pkt *p, enum pkt_layer_type type, size_t len)
{
	struct pkt_layer *l;
	void *h;

	if (p->len + len > PKT_MAX || p->n == PKT_LAYERS) {
		fprintf(stderr, "pkt: packet too large for the builder\n");
		abort();
	}
	l = &p->l[p->n++];
	l->type = type;
	l->off = p->len;
	l->len = len;
	l->no_csum = false;
	h = p->data + p->len;
	memset(h, 0, len);
	p->len += len;
	return h;
}

void pkt_init(struct pkt *p)
{
	p->len = 0;
	p->n = 0;
}

void pkt_put8(struct pkt *p, size_t off, uint8_t v)
{
	p->data[off] = v;
}

void pkt_put16(struct pkt *p, size_t off, uint16_t v)
{
	p->data[off] = v >> 8;
	p->data[off + 1] = v;
}

void pkt_put32(struct pkt *p, size_t off, uint32_t v)
{
	pkt_put16(p, off, v >> 16);
	pkt_put16(p, off + 2, v);
}

uint8_t pkt_get8(const struct pkt *p, size_t off)
{
	return p->data[off];
}

uint16_t pkt_get16(const struct pkt *p, size_t off)
{
	return p->data[off] << 8 | p->data[off + 1];
}

uint32_t pkt_get32(const struct pkt *p, size_t off)
{
	return (uint32_t)pkt_get16(p, off) << 16 | pkt_get16(p, off + 2);
}

void pkt_apply(struct pkt *p, const struct pkt_edit *e)
{
	size_t off = pkt_off(p, e->type, e->nth) + e->off;

	if (off + e->width > p->len) {
		fprintf(stderr, "pkt: edit past the end of the packet\n");
		abort();
	}
	switch (e->width) {
	case 1:
		pkt_put8(p, off, e->val);
		break;
	case 2:
		pkt_put16(p, off, e->val);
		break;
	case 4:
		pkt_put32(p, off, e->val);
		break;
	}
}

void pkt_eth(struct pkt *p, const uint8_t dst[6], const uint8_t src[6],
	     uint16_t type)
{
	uint8_t *h = push(p, PKT_ETH, 14);

	memcpy(h, dst, 6);
	memcpy(h + 6, src, 6);
	pkt_put16(p, h + 12 - p->data, type);
}

void pkt_ip4(struct pkt *p, const struct pkt_ip4 *ip)
{
	size_t hlen = 20 + ip->opt_len;
	uint8_t *h = push(p, PKT_IP4, hlen);
	size_t o = h - p->data;

	h[0] = 0x40 | (hlen / 4);
	h[1] = ip->tos;
	pkt_put16(p, o + 4, ip->id);
	pkt_put16(p, o + 6, ip->frag_off);
	h[8] = ip->ttl;
	h[9] = ip->proto;
	memcpy(h + 12, &ip->saddr, 4);
	memcpy(h + 16, &ip->daddr, 4);
	if (ip->opt_len)
		memcpy(h + 20, ip->opts, ip->opt_len);
}

uint16_t pkt_ethertype(const struct mgt_addr *a)
{
	return a->fam == 4 ? 0x0800 : 0x86dd;
}

size_t pkt_ip_hlen(const struct mgt_addr *a)
{
	return a->fam == 4 ? 20 : 40;
}

void pkt_ipx(struct pkt *p, const struct mgt_addr *src,
	     const struct mgt_addr *dst, uint8_t proto, uint8_t ttl,
	     uint16_t id, uint16_t frag_off)
{
	if (src->fam == 4)
		pkt_ip4(p, &(struct pkt_ip4){ .saddr = src->v4,
					      .daddr = dst->v4,
					      .proto = proto, .ttl = ttl,
					      .id = id,
					      .frag_off = frag_off });
	else
		pkt_ip6(p, src->v6, dst->v6, proto, ttl);
}

void pkt_ip(struct pkt *p, const struct mgt_addr *src,
	    const struct mgt_addr *dst, uint8_t proto, uint8_t ttl)
{
	pkt_ipx(p, src, dst, proto, ttl, 0, 0);
}

void pkt_eth_ip(struct pkt *p, const uint8_t dmac[6], const uint8_t smac[6],
		const struct mgt_addr *src, const struct mgt_addr *dst,
		uint8_t proto, uint8_t ttl)
{
	pkt_eth(p, dmac, smac, pkt_ethertype(src));
	pkt_ip(p, src, dst, proto, ttl);
}

void pkt_ip6(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
	     uint8_t next, uint8_t hop_limit)
{
	uint8_t *h = push(p, PKT_IP6, 40);

	h[0] = 0x60;
	h[6] = next;
	h[7] = hop_limit;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
}

void pkt_ip6x(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
	      uint8_t next, uint8_t hop_limit, uint8_t tclass, uint32_t flow)
{
	size_t o = p->len;

	pkt_ip6(p, src, dst, next, hop_limit);
	pkt_put32(p, o, 6u << 28 | (uint32_t)tclass << 20 | (flow & 0xfffff));
}

void pkt_ip6_ext(struct pkt *p, uint8_t next, size_t len)
{
	uint8_t *h = push(p, PKT_DATA, len);

	h[0] = next;
	h[1] = len / 8 - 1;
	for (size_t i = 2; i < len; i++)
		h[i] = i == 2 ? 1 : 0;	/* a PadN option over the rest */
	if (len > 2)
		h[3] = len - 4;
}

void pkt_ip6_frag(struct pkt *p, uint8_t next, uint16_t offset, bool more,
		  uint32_t id)
{
	size_t o = p->len;

	push(p, PKT_DATA, 8);
	pkt_put8(p, o, next);
	pkt_put16(p, o + 2, offset << 3 | more);
	pkt_put32(p, o + 4, id);
}

void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport, bool csum)
{
	size_t o = p->len;

	push(p, PKT_UDP, 8);
	p->l[p->n - 1].no_csum = !csum;
	pkt_put16(p, o, sport);
	pkt_put16(p, o + 2, dport);
}

void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	size_t o = p->len;

	push(p, PKT_TCP, 20);
	pkt_put16(p, o, sport);
	pkt_put16(p, o + 2, dport);
	pkt_put32(p, o + 4, 0x01020304);
	pkt_put8(p, o + 12, 5 << 4);
	pkt_put8(p, o + 13, flags);
	pkt_put16(p, o + 14, 65535);
}

void pkt_icmp_echo(struct pkt *p, uint16_t id, uint16_t seq)
{
	size_t o = p->len;

	push(p, PKT_ICMP, 8);
	pkt_put8(p, o, 8);
	pkt_put16(p, o + 4, id);
	pkt_put16(p, o + 6, seq);
}

static void icmp_hdr(struct pkt *p, enum pkt_layer_type t, uint8_t type,
		     uint8_t code, uint32_t rest)
{
	size_t o = p->len;

	push(p, t, 8);
	pkt_put8(p, o, type);
	pkt_put8(p, o + 1, code);
	pkt_put32(p, o + 4, rest);
}

void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
	icmp_hdr(p, PKT_ICMP, type, code, rest);
}

void pkt_icmp6(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest)
{
	icmp_hdr(p, PKT_ICMP6, type, code, rest);
}

void pkt_raw(struct pkt *p, const void *bytes, size_t n)
{
	memcpy(push(p, PKT_DATA, n), bytes, n);
}

void pkt_vxlan(struct pkt *p, uint32_t flags, uint32_t vni)
{
	size_t o = p->len;

	push(p, PKT_VXLAN, 8);
	pkt_put32(p, o, flags);
	pkt_put32(p, o + 4, vni << 8);
}

void pkt_arp(struct pkt *p, uint16_t op, const uint8_t sha[6], uint32_t spa,
	     const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *h = push(p, PKT_ARP, 28);
	size_t o = h - p->data;

	pkt_put16(p, o, 1);		/* Ethernet */
	pkt_put16(p, o + 2, 0x0800);
	h[4] = 6;
	h[5] = 4;
	pkt_put16(p, o + 6, op);
	memcpy(h + 8, sha, 6);
	memcpy(h + 14, &spa, 4);
	memcpy(h + 18, tha, 6);
	memcpy(h + 24, &tpa, 4);
}

void pkt_data(struct pkt *p, size_t n, uint8_t seed)
{
	uint8_t *h = push(p, PKT_DATA, n);

	for (size_t i = 0; i < n; i++)
		h[i] = seed + i * 7;
}

const struct pkt_layer *pkt_find(const struct pkt *p, enum pkt_layer_type t,
				 int nth)
{
	for (int i = 0; i < p->n; i++)
		if (p->l[i].type == t && nth-- == 0)
			return &p->l[i];
	return NULL;
}

size_t pkt_off(const struct pkt *p, enum pkt_layer_type t, int nth)
{
	const struct pkt_layer *l = pkt_find(p, t, nth);

	if (!l) {
		fprintf(stderr, "pkt: no layer %d #%d in the packet\n", t, nth);
		abort();
	}
	return l->off;
}

void pkt_truncate(struct pkt *p, size_t off)
{
	int i;

	for (i = 0; i < p->n && p->l[i].off < off; i++)
		if (p->l[i].off + p->l[i].len > off)
			p->l[i].len = off - p->l[i].off;
	p->n = i;
	if (off < p->len)
		p->len = off;
}

void pkt_append(struct pkt *p, const struct pkt *src, size_t src_off)
{
	size_t n = src->len - src_off;

	if (p->len + n > PKT_MAX) {
		fprintf(stderr, "pkt: packet too large for the builder\n");
		abort();
	}
	for (int i = 0; i < src->n && p->n < PKT_LAYERS; i++) {
		if (src->l[i].off < src_off)
			continue;
		p->l[p->n] = src->l[i];
		p->l[p->n++].off = src->l[i].off - src_off + p->len;
	}
	memcpy(p->data + p->len, src->data + src_off, n);
	p->len += n;
}

/* A layer whose whole header is in the packet. */
static bool complete(const struct pkt *p, const struct pkt_layer *l,
		     size_t min)
{
	return l->len >= min && l->off + l->len <= p->len;
}

void pkt_fix_lengths(struct pkt *p)
{
	for (int i = 0; i < p->n; i++) {
		const struct pkt_layer *l = &p->l[i];

		switch (l->type) {
		case PKT_IP4:
			if (complete(p, l, 20))
				pkt_put16(p, l->off + 2, p->len - l->off);
			break;
		case PKT_IP6:
			if (complete(p, l, 40))
				pkt_put16(p, l->off + 4, p->len - l->off - 40);
			break;
		case PKT_UDP:
			if (complete(p, l, 8))
				pkt_put16(p, l->off + 4, p->len - l->off);
			break;
		default:
			break;
		}
	}
}

uint16_t pkt_csum(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

bool pkt_ip4_csum_ok(const struct pkt *p, size_t off)
{
	size_t hlen = (p->data[off] & 0xf) * 4;

	return off + hlen <= p->len && pkt_csum(p->data + off, hlen, 0) == 0;
}

/* Pseudo-header sum of the IP layer before layer i, or -1 when none. */
static long pseudo_sum(const struct pkt *p, int i, uint8_t proto, size_t len)
{
	const struct pkt_layer *ip = NULL;
	uint32_t sum = proto + len;

	while (--i >= 0 && !ip)
		if (p->l[i].type == PKT_IP4 || p->l[i].type == PKT_IP6)
			ip = &p->l[i];
	if (!ip)
		return -1;
	if (ip->type == PKT_IP4) {
		for (int k = 12; k < 20; k += 2)
			sum += pkt_get16(p, ip->off + k);
	} else {
		for (int k = 8; k < 40; k += 2)
			sum += pkt_get16(p, ip->off + k);
	}
	return sum;
}

static void fix_l4(struct pkt *p, int i, uint8_t proto, size_t csum_at)
{
	const struct pkt_layer *l = &p->l[i];
	size_t len = p->len - l->off;
	long sum = pseudo_sum(p, i, proto, len);
	uint16_t c;

	if (sum < 0)
		return;
	pkt_put16(p, l->off + csum_at, 0);
	c = pkt_csum(p->data + l->off, len, sum);
	/* UDP sends a computed 0 as 0xffff; 0 means "no checksum". */
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	pkt_put16(p, l->off + csum_at, c);
}

void pkt_fix_csums(struct pkt *p)
{
	/* Innermost first: an outer checksum may cover an inner one. */
	for (int i = p->n - 1; i >= 0; i--) {
		const struct pkt_layer *l = &p->l[i];

		switch (l->type) {
		case PKT_IP4:
			if (!complete(p, l, 20))
				break;
			pkt_put16(p, l->off + 10, 0);
			pkt_put16(p, l->off + 10,
				  pkt_csum(p->data + l->off, l->len, 0));
			break;
		case PKT_UDP:
			if (complete(p, l, 8))
				pkt_put16(p, l->off + 6, 0);
			if (complete(p, l, 8) && !l->no_csum)
				fix_l4(p, i, IPPROTO_UDP, 6);
			break;
		case PKT_TCP:
			if (complete(p, l, 20))
				fix_l4(p, i, IPPROTO_TCP, 16);
			break;
		case PKT_ICMP6:
			if (complete(p, l, 8))
				fix_l4(p, i, IPPROTO_ICMPV6, 2);
			break;
		case PKT_ICMP:
			if (complete(p, l, 8)) {
				pkt_put16(p, l->off + 2, 0);
				pkt_put16(p, l->off + 2,
					  pkt_csum(p->data + l->off,
						   p->len - l->off, 0));
			}
			break;
		default:
			break;
		}
	}
}

void pkt_finish(struct pkt *p)
{
	pkt_fix_lengths(p);
	pkt_fix_csums(p);
}

/* --- independent checksum verification ------------------------------------ */

/* The one's complement sum of len bytes, big-endian words, folded. */
static uint32_t ones_sum(uint32_t sum, const uint8_t *b, size_t len)
{
	uint64_t s = sum;

	for (size_t i = 0; i < len; i++)
		s += i % 2 ? b[i] : (uint32_t)b[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

struct vctx {
	const struct pkt *p;
	uint16_t vxlan_port;
	bool zero_udp6;
	int bad;
	char *why;
	size_t why_len;
};

static void vbad(struct vctx *v, const char *fmt, size_t off, unsigned int x)
{
	if (!v->bad++ && v->why_len)
		snprintf(v->why, v->why_len, fmt, off, x);
}

static void verify_eth(struct vctx *v, size_t off, int depth);

/*
 * The L4 segment at off, len bytes, of an IP packet whose pseudo-header
 * sums to ps (-1: IPv4 ICMP, none).
 */
static void verify_l4(struct vctx *v, uint8_t proto, size_t off, size_t len,
		      long ps, bool v6, int depth)
{
	const uint8_t *b = v->p->data + off;
	uint32_t sum;

	switch (proto) {
	case IPPROTO_UDP:
		if (len < 8) {
			vbad(v, "udp at %zu: %u bytes", off, len);
			return;
		}
		if (!(b[6] | b[7])) {
			if (v6 && !v->zero_udp6)
				vbad(v, "udp at %zu over ipv6: zero checksum%.0u",
				     off, 0);
		} else if ((sum = ones_sum(ps, b, len)) != 0xffff) {
			vbad(v, "udp at %zu: sum 0x%04x, want 0xffff", off, sum);
		}
		if ((b[2] << 8 | b[3]) == v->vxlan_port && len >= 16 + 14)
			verify_eth(v, off + 16, depth + 1);
		return;
	case IPPROTO_TCP:
		if (len < 20) {
			vbad(v, "tcp at %zu: %u bytes", off, len);
			return;
		}
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (len < 4) {
			vbad(v, "icmp at %zu: %u bytes", off, len);
			return;
		}
		if (proto == IPPROTO_ICMP)
			ps = 0;
		break;
	default:
		return;
	}
	sum = ones_sum(ps, b, len);
	if (sum != 0xffff)
		vbad(v, "l4 checksum at %zu: sum 0x%04x, want 0xffff", off, sum);
}

static void verify_ip(struct vctx *v, size_t off, int depth)
{
	const struct pkt *p = v->p;
	const uint8_t *b = p->data + off;
	uint32_t ps = 0, sum;
	size_t hlen, tot;
	uint8_t proto;

	if (off + 1 > p->len) {
		vbad(v, "ip at %zu: past the end%.0u", off, 0);
		return;
	}
	if (b[0] >> 4 == 4) {
		hlen = (b[0] & 0xf) * 4;
		if (hlen < 20 || off + hlen > p->len) {
			vbad(v, "ipv4 at %zu: header of %u bytes", off, hlen);
			return;
		}
		sum = ones_sum(0, b, hlen);
		if (sum != 0xffff)
			vbad(v, "ipv4 header at %zu: sum 0x%04x, want 0xffff",
			     off, sum);
		tot = b[2] << 8 | b[3];
		if (tot < hlen || off + tot > p->len) {
			vbad(v, "ipv4 at %zu: tot_len %u", off, tot);
			return;
		}
		if ((b[6] & 0x3f) | b[7])	/* MF or an offset */
			return;
		proto = b[9];
		ps = ones_sum(0, b + 12, 8) + proto + (tot - hlen);
		verify_l4(v, proto, off + hlen, tot - hlen, ps, false, depth);
	} else if (b[0] >> 4 == 6) {
		if (off + 40 > p->len) {
			vbad(v, "ipv6 at %zu: %u bytes", off, p->len - off);
			return;
		}
		tot = b[4] << 8 | b[5];
		if (off + 40 + tot > p->len) {
			vbad(v, "ipv6 at %zu: payload %u", off, tot);
			return;
		}
		proto = b[6];
		ps = ones_sum(0, b + 8, 32) + proto + tot;
		verify_l4(v, proto, off + 40, tot, ps, true, depth);
	} else {
		vbad(v, "ip at %zu: version %u", off, b[0] >> 4);
	}
}

static void verify_eth(struct vctx *v, size_t off, int depth)
{
	uint16_t type;

	if (depth > 2 || off + 14 > v->p->len)
		return;
	type = pkt_get16(v->p, off + 12);
	if (type == 0x0800 || type == 0x86dd)
		verify_ip(v, off + 14, depth);
}

int pkt_verify_csums(const struct pkt *p, uint16_t vxlan_port, bool zero_udp6,
		     char *why, size_t why_len)
{
	struct vctx v = { .p = p, .vxlan_port = vxlan_port,
			  .zero_udp6 = zero_udp6, .why = why,
			  .why_len = why_len };

	if (why_len)
		why[0] = '\0';
	verify_eth(&v, 0, 0);
	return v.bad;
}

/* --- comparison ---------------------------------------------------------- */

struct field {
	const char *name;
	uint8_t off, len;
};

static const struct field eth_fields[] = {
	{ "dst", 0, 6 }, { "src", 6, 6 }, { "type", 12, 2 }, { 0 },
};
static const struct field arp_fields[] = {
	{ "htype", 0, 2 }, { "ptype", 2, 2 }, { "hlen", 4, 1 },
	{ "plen", 5, 1 }, { "op", 6, 2 }, { "sha", 8, 6 }, { "spa", 14, 4 },
	{ "tha", 18, 6 }, { "tpa", 24, 4 }, { 0 },
};
static const struct field ip4_fields[] = {
	{ "version_ihl", 0, 1 }, { "tos", 1, 1 }, { "tot_len", 2, 2 },
	{ "id", 4, 2 }, { "frag_off", 6, 2 }, { "ttl", 8, 1 },
	{ "protocol", 9, 1 }, { "check", 10, 2 }, { "saddr", 12, 4 },
	{ "daddr", 16, 4 }, { "options", 20, 40 }, { 0 },
};
static const struct field ip6_fields[] = {
	{ "vtc_flow", 0, 4 }, { "payload_len", 4, 2 }, { "nexthdr", 6, 1 },
	{ "hop_limit", 7, 1 }, { "saddr", 8, 16 }, { "daddr", 24, 16 }, { 0 },
};
static const struct field udp_fields[] = {
	{ "source", 0, 2 }, { "dest", 2, 2 }, { "len", 4, 2 },
	{ "check", 6, 2 }, { 0 },
};
static const struct field tcp_fields[] = {
	{ "source", 0, 2 }, { "dest", 2, 2 }, { "seq", 4, 4 },
	{ "ack_seq", 8, 4 }, { "doff", 12, 1 }, { "flags", 13, 1 },
	{ "window", 14, 2 }, { "check", 16, 2 }, { "urg_ptr", 18, 2 }, { 0 },
};
static const struct field icmp_fields[] = {
	{ "type", 0, 1 }, { "code", 1, 1 }, { "check", 2, 2 },
	{ "id", 4, 2 }, { "seq", 6, 2 }, { 0 },
};
static const struct field vxlan_fields[] = {
	{ "flags", 0, 4 }, { "vni", 4, 4 }, { 0 },
};

static const struct {
	const char *name;
	const struct field *fields;
} layer_info[] = {
	[PKT_ETH] = { "eth", eth_fields },
	[PKT_ARP] = { "arp", arp_fields },
	[PKT_IP4] = { "ipv4", ip4_fields },
	[PKT_IP6] = { "ipv6", ip6_fields },
	[PKT_UDP] = { "udp", udp_fields },
	[PKT_TCP] = { "tcp", tcp_fields },
	[PKT_ICMP] = { "icmp", icmp_fields },
	[PKT_VXLAN] = { "vxlan", vxlan_fields },
	[PKT_ICMP6] = { "icmp6", icmp_fields },
	[PKT_DATA] = { "data", NULL },
};

static void print_bytes(FILE *f, const struct pkt *p, size_t off, size_t len)
{
	if (off >= p->len) {
		fprintf(f, "(absent)");
		return;
	}
	if (off + len > p->len)
		len = p->len - off;
	fprintf(f, "0x");
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p->data[off + i]);
}

static bool differ(const struct pkt *a, const struct pkt *b, size_t off,
		   size_t len)
{
	for (size_t i = off; i < off + len; i++) {
		bool ina = i < a->len, inb = i < b->len;

		if (ina != inb || (ina && a->data[i] != b->data[i]))
			return true;
	}
	return false;
}

/* Bytes from..to that no layer of want describes. */
static int diff_gap(const struct pkt *got, const struct pkt *want,
		    size_t from, size_t to, int diffs, FILE *f)
{
	if (to <= from || !differ(got, want, from, to - from))
		return 0;
	if (diffs < 24)
		fprintf(f, "  bytes %zu..%zu differ\n", from, to - 1);
	return 1;
}

static int diff_layer(const struct pkt *got, const struct pkt *want,
		      const struct pkt_layer *l, int nth, int diffs, FILE *f)
{
	const struct field *fl = layer_info[l->type].fields;
	const char *name = layer_info[l->type].name;
	int n = 0;

	if (!fl) {
		if (!differ(got, want, l->off, l->len))
			return 0;
		if (diffs < 24)
			fprintf(f, "  %s[%d] (%u bytes at %u) differs\n",
				name, nth, l->len, l->off);
		return 1;
	}
	for (; fl->name && fl->off < l->len; fl++) {
		size_t len = fl->len;

		if (fl->off + len > l->len)
			len = l->len - fl->off;
		if (!differ(got, want, l->off + fl->off, len))
			continue;
		if (diffs + n++ < 24) {
			fprintf(f, "  %s[%d].%s: got ", name, nth, fl->name);
			print_bytes(f, got, l->off + fl->off, len);
			fprintf(f, " want ");
			print_bytes(f, want, l->off + fl->off, len);
			fprintf(f, "\n");
		}
	}
	return n;
}

int pkt_diff(const struct pkt *got, const struct pkt *want, FILE *f)
{
	size_t end = got->len > want->len ? got->len : want->len;
	int nth[PKT_DATA + 1] = { 0 };
	size_t covered = 0;
	int diffs = 0;

	if (got->len != want->len) {
		fprintf(f, "  length: got %zu want %zu\n", got->len, want->len);
		diffs++;
	}
	for (int i = 0; i < want->n; i++) {
		const struct pkt_layer *l = &want->l[i];

		diffs += diff_gap(got, want, covered, l->off, diffs, f);
		diffs += diff_layer(got, want, l, nth[l->type]++, diffs, f);
		if (l->off + l->len > covered)
			covered = l->off + l->len;
	}
	diffs += diff_gap(got, want, covered, end, diffs, f);
	return diffs;
}

void pkt_dump(const struct pkt *p, FILE *f)
{
	for (size_t i = 0; i < p->len; i++)
		fprintf(f, "%s%02x%s", i % 16 ? "" : "  ", p->data[i],
			i % 16 == 15 || i + 1 == p->len ? "\n" :
			i % 2 ? " " : "");
}
