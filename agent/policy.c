// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cross-cluster policy: rules as text, their conflicts, and their gossiped
 * form (see policy.h).  Their compilation into the datapath's maps:
 * policy_compile.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <bpf/bpf.h>
#include "lib/log.h"
#include "policy.h"

#define ALL_PORTS(r) ((r)->port_lo == 0 && (r)->port_hi == 65535)

int mg_pol_verdict_parse(const char *s)
{
	if (!strcmp(s, "allow"))
		return MG_POL_ALLOW;
	if (!strcmp(s, "deny"))
		return MG_POL_DENY;
	return 0;
}

static int parse_port(const char *s, uint16_t *lo, uint16_t *hi)
{
	char *end;
	unsigned long a, b;

	a = strtoul(s, &end, 10);
	if (end == s || a > 65535)
		return -EINVAL;
	b = a;
	if (*end == '-') {
		s = end + 1;
		b = strtoul(s, &end, 10);
		if (end == s || b > 65535 || b < a)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                     \
	} while (0)

int mg_pol_rule_parse_argv(int argc, char **argv, struct mg_pol_rule *r,
			   char *err, size_t errlen)
{
	unsigned long id;
	char *end;
	int i;

	memset(r, 0, sizeof(*r));
	r->port_hi = 65535;
	if (argc < 2)
		FAIL("a rule is: ID allow|deny [from any|cluster NAME|PREFIX] [to any|PREFIX] [proto tcp|udp|icmp] [port N[-M]]");
	id = strtoul(argv[0], &end, 10);
	if (end == argv[0] || *end || !id || id > MG_POL_RULE_ID_MAX)
		FAIL("rule id '%s': a number 1..%u", argv[0],
		     MG_POL_RULE_ID_MAX);
	r->id = (uint32_t)id;
	r->verdict = (uint8_t)mg_pol_verdict_parse(argv[1]);
	if (!r->verdict)
		FAIL("'%s': allow or deny", argv[1]);
	for (i = 2; i < argc; i += 2) {
		const char *w = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			FAIL("'%s' wants a value", w);
		if (!strcmp(w, "from")) {
			if (!strcmp(v, "any")) {
				r->src_kind = MG_POL_SRC_ANY;
			} else if (!strcmp(v, "cluster")) {
				if (i + 2 >= argc)
					FAIL("'from cluster' wants a name or id");
				i++;
				v = argv[i + 1];
				if (strlen(v) >= sizeof(r->src_name) || !*v)
					FAIL("cluster '%s': too long", v);
				r->src_kind = MG_POL_SRC_CLUSTER;
				strcpy(r->src_name, v);
			} else if (!mg_prefix_parse(v, &r->src)) {
				r->src_kind = MG_POL_SRC_PREFIX;
			} else {
				FAIL("from '%s': any, cluster NAME or a prefix",
				     v);
			}
		} else if (!strcmp(w, "to")) {
			if (!strcmp(v, "any"))
				memset(&r->dst, 0, sizeof(r->dst));
			else if (mg_prefix_parse(v, &r->dst))
				FAIL("to '%s': any or a prefix", v);
		} else if (!strcmp(w, "proto")) {
			if (!strcmp(v, "tcp"))
				r->proto = MG_POL_P_TCP;
			else if (!strcmp(v, "udp"))
				r->proto = MG_POL_P_UDP;
			else if (!strcmp(v, "icmp"))
				r->proto = MG_POL_P_ICMP;
			else if (!strcmp(v, "any"))
				r->proto = MG_POL_P_ANY;
			else
				FAIL("proto '%s': tcp, udp, icmp or any", v);
		} else if (!strcmp(w, "port")) {
			if (parse_port(v, &r->port_lo, &r->port_hi))
				FAIL("port '%s': N or N-M, 0..65535", v);
		} else {
			FAIL("'%s': from, to, proto or port", w);
		}
	}
	if (!ALL_PORTS(r) && r->proto != MG_POL_P_TCP &&
	    r->proto != MG_POL_P_UDP)
		FAIL("a port range wants proto tcp or udp");
	if (r->src_kind == MG_POL_SRC_PREFIX && r->dst.addr.family &&
	    r->src.addr.family != r->dst.addr.family)
		FAIL("source and destination of different families");
	return 0;
}

int mg_pol_rule_parse(const char *text, struct mg_pol_rule *r, char *err,
		      size_t errlen)
{
	char buf[MG_POL_TEXT_MAX], *argv[16], *save = NULL, *w;
	int argc = 0;

	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "rule longer than %d characters",
			 MG_POL_TEXT_MAX - 1);
		return -EINVAL;
	}
	strcpy(buf, text);
	for (w = strtok_r(buf, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (argc == 16) {
			snprintf(err, errlen, "too many words in a rule");
			return -EINVAL;
		}
		argv[argc++] = w;
	}
	return mg_pol_rule_parse_argv(argc, argv, r, err, errlen);
}

const char *mg_pol_rule_str(const struct mg_pol_rule *r, char *buf, size_t len)
{
	static const char *const proto[] = { "any", "tcp", "udp", "icmp" };
	char src[MG_PREFIXSTRLEN + MG_POL_NAME_MAX], dst[MG_PREFIXSTRLEN];
	char port[24] = "";

	if (r->src_kind == MG_POL_SRC_CLUSTER)
		snprintf(src, sizeof(src), "cluster %s", r->src_name);
	else if (r->src_kind == MG_POL_SRC_PREFIX)
		mg_prefix_str(&r->src, src, sizeof(src));
	else
		strcpy(src, "any");
	if (r->dst.addr.family)
		mg_prefix_str(&r->dst, dst, sizeof(dst));
	else
		strcpy(dst, "any");
	if (!ALL_PORTS(r) && r->port_lo == r->port_hi)
		snprintf(port, sizeof(port), " port %u", r->port_lo);
	else if (!ALL_PORTS(r))
		snprintf(port, sizeof(port), " port %u-%u", r->port_lo,
			 r->port_hi);
	snprintf(buf, len, "%u %s from %s to %s proto %s%s", r->id,
		 r->verdict == MG_POL_DENY ? "deny" : "allow", src, dst,
		 proto[r->proto & 3], port);
	return buf;
}

int mg_pol_resolve(struct mg_pol_set *set, mg_pol_resolve_fn fn, void *arg,
		   char *err, size_t errlen)
{
	for (int i = 0; i < set->n; i++) {
		struct mg_pol_rule *r = &set->rules[i];
		int id;

		if (r->src_kind != MG_POL_SRC_CLUSTER)
			continue;
		id = fn(r->src_name, arg);
		if (id <= 0 || id > 255) {
			snprintf(err, errlen, "rule %u: no cluster '%s'", r->id,
				 r->src_name);
			return -ENOENT;
		}
		r->src_cluster = (uint8_t)id;
	}
	return 0;
}

/* a holds every address of b. */
static bool pfx_holds(const struct mg_prefix *a, const struct mg_prefix *b)
{
	return a->addr.family == b->addr.family && a->len <= b->len &&
	       mg_prefix_contains(a, &b->addr);
}

static bool same_src(const struct mg_pol_rule *a, const struct mg_pol_rule *b)
{
	if (a->src_kind != b->src_kind)
		return false;
	if (a->src_kind == MG_POL_SRC_CLUSTER)
		return !strcmp(a->src_name, b->src_name);
	if (a->src_kind == MG_POL_SRC_PREFIX)
		return mg_prefix_equal(&a->src, &b->src);
	return true;
}

static bool same_dst(const struct mg_pol_rule *a, const struct mg_pol_rule *b)
{
	if (a->dst.addr.family != b->dst.addr.family)
		return false;
	return !a->dst.addr.family || mg_prefix_equal(&a->dst, &b->dst);
}

static int cmp_dst(const void *pa, const void *pb)
{
	const struct mg_pol_rule *a = *(const struct mg_pol_rule *const *)pa;
	const struct mg_pol_rule *b = *(const struct mg_pol_rule *const *)pb;
	int c = (int)a->dst.addr.family - (int)b->dst.addr.family;

	if (c)
		return c;
	c = memcmp(a->dst.addr.addr, b->dst.addr.addr, 16);
	if (c)
		return c;
	c = (int)a->dst.len - (int)b->dst.len;
	if (c)
		return c;
	return a->id < b->id ? -1 : a->id > b->id;
}

int mg_pol_conflicts(const struct mg_pol_set *set, FILE *f)
{
	const struct mg_pol_rule **v;
	int i, j, n = 0, start;

	if (!set->n)
		return 0;
	v = calloc((size_t)set->n, sizeof(*v));
	if (!v)
		return 0;
	for (i = 0; i < set->n; i++)
		v[i] = &set->rules[i];
	qsort(v, (size_t)set->n, sizeof(*v), cmp_dst);
	/* Pairs only among the rules of one destination: n log n overall. */
	for (start = 0; start < set->n; start = i) {
		for (i = start + 1; i < set->n && same_dst(v[i], v[start]); i++)
			;
		for (int a = start; a < i; a++) {
			for (j = a + 1; j < i; j++) {
				const struct mg_pol_rule *x = v[a], *y = v[j];
				bool overlap;

				if (!same_src(x, y) || x->proto != y->proto)
					continue;
				overlap = x->port_lo <= y->port_hi &&
					  y->port_lo <= x->port_hi;
				if (!overlap)
					continue;
				if (x->port_lo == y->port_lo &&
				    x->port_hi == y->port_hi) {
					if (x->verdict == y->verdict)
						fprintf(f,
							"rule %u shadows rule %u: the same match and verdict\n",
							x->id, y->id);
					else
						fprintf(f,
							"rules %u and %u conflict: the same match, deny wins\n",
							x->id, y->id);
					n++;
				} else if (x->verdict != y->verdict) {
					fprintf(f,
						"rules %u and %u conflict on ports %u-%u: the narrower range wins\n",
						x->id, y->id,
						x->port_lo > y->port_lo ?
							x->port_lo :
							y->port_lo,
						x->port_hi < y->port_hi ?
							x->port_hi :
							y->port_hi);
					n++;
				}
			}
		}
	}
	/* A destination outside the owner's prefixes matches nothing. */
	for (i = 0; set->n_prefixes && i < set->n; i++) {
		const struct mg_pol_rule *r = &set->rules[i];
		bool in = !r->dst.addr.family;

		for (j = 0; !in && j < set->n_prefixes; j++)
			in = pfx_holds(&set->prefixes[j], &r->dst) ||
			     pfx_holds(&r->dst, &set->prefixes[j]);
		if (!in) {
			fprintf(f,
				"rule %u matches nothing: its destination is outside the cluster's prefixes\n",
				r->id);
			n++;
		}
	}
	free(v);
	return n;
}

/* --- the gossiped form ---------------------------------------------------- */

#define POL_WIRE_FORMAT 1

static int put_pfx(uint8_t *buf, const struct mg_prefix *p)
{
	int n = p->addr.family == MG_AF_INET  ? 4 :
		p->addr.family == MG_AF_INET6 ? 16 :
						0;

	if (p->addr.family && !n)
		return -EINVAL;
	buf[0] = n == 4 ? 4 : n == 16 ? 6 : 0;
	buf[1] = n ? p->len : 0;
	memcpy(buf + 2, p->addr.addr, (size_t)n);
	return 2 + n;
}

static int get_pfx(const uint8_t *buf, size_t len, struct mg_prefix *p)
{
	int n;

	memset(p, 0, sizeof(*p));
	if (len < 2)
		return -EINVAL;
	n = buf[0] == 4 ? 4 : buf[0] == 6 ? 16 : buf[0] ? -1 : 0;
	if (n < 0 || len < (size_t)2 + n || buf[1] > n * 8 || (!n && buf[1]))
		return -EINVAL;
	if (n) {
		p->addr.family = n == 4 ? MG_AF_INET : MG_AF_INET6;
		p->len = buf[1];
		memcpy(p->addr.addr, buf + 2, (size_t)n);
	}
	return 2 + n;
}

int mg_pol_rule_encode(const struct mg_pol_rule *r, uint8_t *buf, size_t size)
{
	uint8_t b[9 + 2 * 18];
	int off = 9, n;

	if (!r->id || r->id > MG_POL_RULE_ID_MAX ||
	    (r->verdict != MG_POL_ALLOW && r->verdict != MG_POL_DENY) ||
	    r->src_kind > MG_POL_SRC_PREFIX || r->proto > MG_POL_P_ICMP ||
	    (r->src_kind == MG_POL_SRC_CLUSTER && !r->src_cluster))
		return -EINVAL;
	b[0] = POL_WIRE_FORMAT;
	b[1] = r->verdict;
	b[2] = r->src_kind;
	b[3] = r->src_kind == MG_POL_SRC_CLUSTER ? r->src_cluster : 0;
	b[4] = r->proto;
	b[5] = r->port_lo >> 8;
	b[6] = r->port_lo & 0xff;
	b[7] = r->port_hi >> 8;
	b[8] = r->port_hi & 0xff;
	if (r->src_kind == MG_POL_SRC_PREFIX) {
		if (!r->src.addr.family)
			return -EINVAL;
		n = put_pfx(b + off, &r->src);
	} else {
		n = put_pfx(b + off, &(struct mg_prefix){ 0 });
	}
	if (n < 0)
		return n;
	off += n;
	n = put_pfx(b + off, &r->dst);
	if (n < 0)
		return n;
	off += n;
	if ((size_t)off > size)
		return -ENOSPC;
	memcpy(buf, b, (size_t)off);
	return off;
}

int mg_pol_rule_decode(uint32_t id, const uint8_t *buf, size_t len,
		       struct mg_pol_rule *r, char *err, size_t errlen)
{
	char text[MG_POL_TEXT_MAX], again[MG_POL_TEXT_MAX], perr[160];
	uint8_t back[MG_POL_WIRE_MAX];
	struct mg_pol_rule p;
	size_t off = 9;
	int n;

	memset(r, 0, sizeof(*r));
	if (len < off || buf[0] != POL_WIRE_FORMAT) {
		snprintf(err, errlen,
			 "rule %u: not a rule (format %u, %zu bytes)", id,
			 len ? buf[0] : 0, len);
		return -EINVAL;
	}
	r->id = id;
	r->verdict = buf[1];
	r->src_kind = buf[2];
	r->src_cluster = buf[3];
	r->proto = buf[4];
	r->port_lo = (uint16_t)(buf[5] << 8 | buf[6]);
	r->port_hi = (uint16_t)(buf[7] << 8 | buf[8]);
	n = get_pfx(buf + off, len - off, &r->src);
	if (n < 0)
		goto bad;
	off += (size_t)n;
	n = get_pfx(buf + off, len - off, &r->dst);
	if (n < 0)
		goto bad;
	off += (size_t)n;
	if (r->src_kind == MG_POL_SRC_CLUSTER)
		snprintf(r->src_name, sizeof(r->src_name), "%u",
			 r->src_cluster);
	/* Only what encodes back to the same bytes... */
	n = mg_pol_rule_encode(r, back, sizeof(back));
	if (n < 0 || (size_t)n != len || off != len || memcmp(back, buf, len))
		goto bad;
	/* ... and what the text form parses back to (ranges, host bits). */
	mg_pol_rule_str(r, text, sizeof(text));
	if (mg_pol_rule_parse(text, &p, perr, sizeof(perr))) {
		snprintf(err, errlen, "rule %u: %s", id, perr);
		return -EINVAL;
	}
	p.src_cluster = r->src_cluster;
	if (strcmp(mg_pol_rule_str(&p, again, sizeof(again)), text) ||
	    p.verdict != r->verdict || p.src_kind != r->src_kind ||
	    p.proto != r->proto || p.port_lo != r->port_lo ||
	    p.port_hi != r->port_hi)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "rule %u: malformed (%zu bytes)", id, len);
	memset(r, 0, sizeof(*r));
	return -EINVAL;
}

int mg_pol_hdr_encode(const struct mg_pol_hdr *h, uint8_t *buf, size_t size)
{
	if (h->def_in != MG_POL_ALLOW && h->def_in != MG_POL_DENY)
		return -EINVAL;
	if (size < 7)
		return -ENOSPC;
	buf[0] = POL_WIRE_FORMAT;
	buf[1] = h->def_in;
	buf[2] = h->flags;
	buf[3] = h->n >> 24;
	buf[4] = h->n >> 16 & 0xff;
	buf[5] = h->n >> 8 & 0xff;
	buf[6] = h->n & 0xff;
	return 7;
}

int mg_pol_hdr_decode(const uint8_t *buf, size_t len, struct mg_pol_hdr *h)
{
	if (len != 7 || buf[0] != POL_WIRE_FORMAT ||
	    (buf[1] != MG_POL_ALLOW && buf[1] != MG_POL_DENY) ||
	    (buf[2] & ~MG_POL_SET_INCOMPLETE))
		return -EINVAL;
	h->def_in = buf[1];
	h->flags = buf[2];
	h->n = (uint32_t)buf[3] << 24 | buf[4] << 16 | buf[5] << 8 | buf[6];
	if (h->n > MG_POL_GOSSIP_MAX)
		return -EINVAL;
	return 0;
}
