// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cross-cluster policy: the compilation of the rules into the datapath's
 * maps (see policy.h and abi.h).  Rules as text: policy.c.
 *
 * The compilation, per address family:
 *   - every rule's destination, taken within its owner's prefixes, is a
 *     destination class; a class's rules are its own and those of every
 *     class holding it (found by masking to each length in use);
 *   - within a class, what its rules tell apart: the clusters and the
 *     protocols they name, the source prefixes (each one a source class,
 *     found by the datapath's longest match) and the elementary intervals
 *     of their port ranges (each a port class, by bucket of 16 ports, or by port where a
 *     bucket is shared);
 *   - the verdict of every combination of those, by the most specific
 *     matching rule, where one matches (else the class's default).
 * The datapath then does a fixed number of lookups per packet.
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

/* a holds every address of b. */
static bool pfx_holds(const struct mg_prefix *a, const struct mg_prefix *b)
{
	return a->addr.family == b->addr.family && a->len <= b->len &&
	       mg_prefix_contains(a, &b->addr);
}

/* A rule at one of its (clipped) destinations. */
struct item {
	struct mg_prefix dst;
	const struct mg_pol_rule *r;
	uint8_t owner, def;
};

struct cls {
	struct mg_prefix pfx;
	int start, n; /* its own items */
	uint8_t owner, def;
};

/* What a compile writes, before it writes it. */
struct out {
	struct mg_ep6_key *d6;
	struct mg_ep4_key *d4;
	struct mg_pol_dst *d4v, *d6v;
	int nd4, nd6;
	struct mg_pol_src4_key *s4;
	struct mg_pol_src6_key *s6;
	uint32_t *s4v, *s6v;
	int ns4, ns6;
	struct mg_pol_port_key *p;
	uint32_t *pv;
	int np;
	struct mg_pol_key *k;
	struct mg_pol_verdict *kv;
	int nk;
	int cap_d4, cap_d6, cap_s4, cap_s6, cap_p, cap_k;
};

static int grow(void **arr, int *cap, int need, size_t size, void **arr2,
		size_t size2)
{
	int c = *cap ? *cap : 1024;
	void *a, *b;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if (c > MG_POL_MAX_ENTRIES * 2)
		return -E2BIG;
	a = realloc(*arr, (size_t)c * size);
	if (!a)
		return -ENOMEM;
	*arr = a;
	b = realloc(*arr2, (size_t)c * size2);
	if (!b)
		return -ENOMEM;
	*arr2 = b;
	*cap = c;
	return 0;
}

static int cmp_item(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int c = memcmp(a->dst.addr.addr, b->dst.addr.addr, 16);

	return c ? c : (int)a->dst.len - (int)b->dst.len;
}

static int cmp_cls_key(const struct mg_prefix *p, const struct cls *c)
{
	int x = memcmp(p->addr.addr, c->pfx.addr.addr, 16);

	return x ? x : (int)p->len - (int)c->pfx.len;
}

static int find_cls(const struct cls *c, int n, const struct mg_prefix *p)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, x = cmp_cls_key(p, &c[mid]);

		if (!x)
			return mid;
		if (x < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

static void mask_pfx(struct mg_prefix *p, unsigned int len)
{
	uint8_t *b = (uint8_t *)p->addr.addr;

	p->len = (uint8_t)len;
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bit = i * 8;

		if (bit >= len)
			b[i] = 0;
		else if (bit + 8 > len)
			b[i] &= (uint8_t)(0xff << (8 - (len - bit)));
	}
}

/* a decides over b (both match). */
static bool better(const struct item *a, const struct item *b)
{
	const struct mg_pol_rule *x = a->r, *y = b->r;
	int sx, sy;

	if (a->dst.len != b->dst.len)
		return a->dst.len > b->dst.len;
	sx = x->src_kind == MG_POL_SRC_PREFIX  ? 1000 + x->src.len :
	     x->src_kind == MG_POL_SRC_CLUSTER ? 500 :
						 0;
	sy = y->src_kind == MG_POL_SRC_PREFIX  ? 1000 + y->src.len :
	     y->src_kind == MG_POL_SRC_CLUSTER ? 500 :
						 0;
	if (sx != sy)
		return sx > sy;
	if (!x->proto != !y->proto)
		return x->proto;
	if (x->port_hi - x->port_lo != y->port_hi - y->port_lo)
		return x->port_hi - x->port_lo < y->port_hi - y->port_lo;
	if (x->verdict != y->verdict)
		return x->verdict == MG_POL_DENY;
	return x->id < y->id;
}

struct interval {
	uint32_t lo, hi;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One class: its dimensions, their entries and its verdicts, into o. */
static int compile_class(const struct cls *c, uint32_t class,
			 const struct item **rd, int nr, struct out *o,
			 struct mg_pol_dst *dv)
{
	const struct mg_prefix *srcs[1024];
	struct interval iv[1024];
	uint32_t pts[2050];
	int ns = 0, np = 0, npts = 0, err;
	uint8_t cl[256] = { 0 }, clist[257];
	int ncl = 1, nproto = 1;
	uint8_t plist[4] = { 0 };
	long combos;

	memset(dv, 0, sizeof(*dv));
	dv->class = class;
	dv->def = c->def;
	clist[0] = 0;
	for (int i = 0; i < nr; i++) {
		const struct mg_pol_rule *r = rd[i]->r;

		if (r->src_kind == MG_POL_SRC_CLUSTER && !cl[r->src_cluster]) {
			cl[r->src_cluster] = 1;
			clist[ncl++] = r->src_cluster;
			dv->flags |= MG_POL_F_CLUSTER;
			dv->clusters[r->src_cluster >> 3] |=
				(uint8_t)(1 << (r->src_cluster & 7));
		}
		if (r->proto && !(dv->protos & (1 << r->proto))) {
			dv->protos |= (uint8_t)(1 << r->proto);
			plist[nproto++] = r->proto;
			dv->flags |= MG_POL_F_PROTO;
		}
		if (r->src_kind == MG_POL_SRC_PREFIX &&
		    r->src.addr.family == c->pfx.addr.family) {
			int j;

			for (j = 0; j < ns; j++)
				if (mg_prefix_equal(srcs[j], &r->src))
					break;
			if (j == ns) {
				if (ns == 1024)
					return -E2BIG;
				srcs[ns++] = &r->src;
			}
			dv->flags |= MG_POL_F_SRC;
		}
		if (!ALL_PORTS(r)) {
			if (npts + 2 > 2050)
				return -E2BIG;
			pts[npts++] = r->port_lo;
			pts[npts++] = (uint32_t)r->port_hi + 1;
			dv->flags |= MG_POL_F_PORT;
		}
	}
	/* Elementary intervals of the port ranges that some range covers. */
	qsort(pts, (size_t)npts, sizeof(pts[0]), cmp_u32);
	for (int i = 0; i + 1 < npts; i++) {
		struct interval x = { pts[i], pts[i + 1] - 1 };
		bool covered = false;

		if (pts[i] == pts[i + 1])
			continue;
		for (int j = 0; j < nr && !covered; j++) {
			const struct mg_pol_rule *r = rd[j]->r;

			covered = !ALL_PORTS(r) && r->port_lo <= x.lo &&
				  x.hi <= r->port_hi;
		}
		if (!covered)
			continue;
		if (np == 1024)
			return -E2BIG;
		iv[np++] = x;
	}
	combos = (long)ncl * nproto * (ns + 1) * (np + 1);
	if (combos * nr > 50000000L || combos > MG_POL_MAX_ENTRIES)
		return -E2BIG;

	/* Source classes: (class, prefix) -> index + 1. */
	for (int i = 0; i < ns; i++) {
		if (c->pfx.addr.family == MG_AF_INET) {
			err = grow((void **)&o->s4, &o->cap_s4, o->ns4 + 1,
				   sizeof(*o->s4), (void **)&o->s4v,
				   sizeof(*o->s4v));
			if (err)
				return err;
			o->s4[o->ns4] = (struct mg_pol_src4_key){
				.prefixlen = 32u + srcs[i]->len,
				.class = htonl(class),
				.addr = srcs[i]->addr.addr[0],
			};
			o->s4v[o->ns4++] = (uint32_t)i + 1;
		} else {
			err = grow((void **)&o->s6, &o->cap_s6, o->ns6 + 1,
				   sizeof(*o->s6), (void **)&o->s6v,
				   sizeof(*o->s6v));
			if (err)
				return err;
			o->s6[o->ns6].prefixlen = 32u + srcs[i]->len;
			o->s6[o->ns6].class = htonl(class);
			memcpy(o->s6[o->ns6].addr, srcs[i]->addr.addr, 16);
			o->s6v[o->ns6++] = (uint32_t)i + 1;
		}
	}
	/*
	 * Port classes: a bucket (16 ports) one interval holds whole gives
	 * its class; a bucket shared, or partly held, is split into ports.
	 */
	for (int i = 0; i < np; i++) {
		uint32_t lo = iv[i].lo, hi = iv[i].hi;

		for (uint32_t bk = lo >> MG_POL_BUCKET_SHIFT;
		     bk <= hi >> MG_POL_BUCKET_SHIFT; bk++) {
			uint32_t b0 = bk << MG_POL_BUCKET_SHIFT;
			uint32_t b1 = b0 + (1u << MG_POL_BUCKET_SHIFT) - 1;
			bool whole = lo <= b0 && b1 <= hi;
			uint32_t from = lo > b0 ? lo : b0,
				 to = hi < b1 ? hi : b1;
			int need = whole ? 1 : 2 + (int)(to - from);

			err = grow((void **)&o->p, &o->cap_p, o->np + need,
				   sizeof(*o->p), (void **)&o->pv,
				   sizeof(*o->pv));
			if (err)
				return err;
			o->p[o->np] = (struct mg_pol_port_key){
				.class = class,
				.port = (uint16_t)bk,
			};
			o->pv[o->np++] = whole ? (uint32_t)i + 1 : MG_POL_SPLIT;
			for (uint32_t port = from; !whole && port <= to;
			     port++) {
				o->p[o->np] = (struct mg_pol_port_key){
					.class = class,
					.port = (uint16_t)port,
					.exact = 1,
				};
				o->pv[o->np++] = (uint32_t)i + 1;
			}
		}
	}
	/* Every combination a packet can present: its deciding rule. */
	for (int a = 0; a < ncl; a++)
		for (int b = 0; b < nproto; b++)
			for (int s = 0; s <= ns; s++)
				for (int p = 0; p <= np; p++) {
					const struct item *best = NULL;

					for (int i = 0; i < nr; i++) {
						const struct mg_pol_rule *r =
							rd[i]->r;

						if (r->src_kind ==
							    MG_POL_SRC_CLUSTER &&
						    r->src_cluster != clist[a])
							continue;
						if (r->src_kind ==
							    MG_POL_SRC_PREFIX &&
						    (!s ||
						     !pfx_holds(&r->src,
								srcs[s - 1])))
							continue;
						if (r->proto &&
						    r->proto != plist[b])
							continue;
						if (!ALL_PORTS(r) &&
						    (!p ||
						     iv[p - 1].lo <
							     r->port_lo ||
						     iv[p - 1].hi > r->port_hi))
							continue;
						if (!best ||
						    better(rd[i], best))
							best = rd[i];
					}
					if (!best)
						continue;
					err = grow((void **)&o->k, &o->cap_k,
						   o->nk + 1, sizeof(*o->k),
						   (void **)&o->kv,
						   sizeof(*o->kv));
					if (err)
						return err;
					o->k[o->nk] = (struct mg_pol_key){
						.class = class,
						.sclass = (uint16_t)s,
						.pclass = (uint16_t)p,
						.cluster = clist[a],
						.proto = plist[b],
					};
					o->kv[o->nk++] = (struct mg_pol_verdict){
						.verdict = best->r->verdict,
						.rule = (uint32_t)best->owner
								<< 24 |
							best->r->id,
					};
				}
	return 0;
}

/* The items of one family: every rule at each of its destinations. */
static int family_items(const struct mg_pol_set *sets, int n_sets,
			uint8_t family, struct item **out, int *n_out)
{
	struct item *v = NULL;
	int n = 0, cap = 0;

	for (int s = 0; s < n_sets; s++) {
		const struct mg_pol_set *set = &sets[s];

		for (int i = 0; i < set->n; i++) {
			const struct mg_pol_rule *r = &set->rules[i];
			struct mg_prefix cand[64];
			int nc = 0;

			if (r->dst.addr.family && r->dst.addr.family != family)
				continue;
			if (r->src_kind == MG_POL_SRC_PREFIX &&
			    r->src.addr.family != family)
				continue;
			if (!set->n_prefixes) {
				cand[nc] = r->dst;
				if (!r->dst.addr.family) {
					memset(&cand[nc], 0, sizeof(cand[0]));
					cand[nc].addr.family = family;
				}
				nc++;
			}
			for (int j = 0; j < set->n_prefixes && nc < 64; j++) {
				const struct mg_prefix *p = &set->prefixes[j];

				if (p->addr.family != family)
					continue;
				if (!r->dst.addr.family ||
				    pfx_holds(&r->dst, p))
					cand[nc++] = *p;
				else if (pfx_holds(p, &r->dst))
					cand[nc++] = r->dst;
			}
			for (int j = 0; j < nc; j++) {
				if (n == cap) {
					struct item *x;

					cap = cap ? cap * 2 : 256;
					x = realloc(v,
						    (size_t)cap * sizeof(*v));
					if (!x) {
						free(v);
						return -ENOMEM;
					}
					v = x;
				}
				v[n++] = (struct item){ .dst = cand[j],
							.r = r,
							.owner = set->owner,
							.def = set->def_in };
			}
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int compile_family(const struct mg_pol_set *sets, int n_sets,
			  uint8_t family, uint32_t gen, struct out *o,
			  struct mg_pol_stats *st)
{
	const struct item **rd = NULL;
	struct item *items = NULL;
	struct cls *cls = NULL;
	int n_items, ncls = 0, err, cap_rd = 0;
	bool lens[129] = { false };

	err = family_items(sets, n_sets, family, &items, &n_items);
	if (err || !n_items)
		goto out;
	qsort(items, (size_t)n_items, sizeof(*items), cmp_item);
	cls = calloc((size_t)n_items, sizeof(*cls));
	if (!cls) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < n_items; i++) {
		if (ncls &&
		    mg_prefix_equal(&cls[ncls - 1].pfx, &items[i].dst)) {
			cls[ncls - 1].n++;
			continue;
		}
		cls[ncls] = (struct cls){ .pfx = items[i].dst,
					  .start = i,
					  .n = 1,
					  .owner = items[i].owner,
					  .def = items[i].def };
		lens[items[i].dst.len] = true;
		ncls++;
	}
	for (int c = 0; c < ncls; c++) {
		uint32_t class = gen << 31 | (st->classes + 1);
		struct mg_pol_dst dv;
		int nr = 0;

		/* Its rules: those of every class holding it, itself too. */
		for (unsigned int len = 0; len <= cls[c].pfx.len; len++) {
			struct mg_prefix m = cls[c].pfx;
			int a;

			if (!lens[len])
				continue;
			mask_pfx(&m, len);
			a = find_cls(cls, ncls, &m);
			if (a < 0 || cls[a].owner != cls[c].owner)
				continue;
			if (nr + cls[a].n > cap_rd) {
				const struct item **x;

				cap_rd = (nr + cls[a].n) * 2;
				x = realloc(rd, (size_t)cap_rd * sizeof(*rd));
				if (!x) {
					err = -ENOMEM;
					goto out;
				}
				rd = x;
			}
			for (int i = 0; i < cls[a].n; i++)
				rd[nr++] = &items[cls[a].start + i];
		}
		err = compile_class(&cls[c], class, rd, nr, o, &dv);
		if (err)
			goto out;
		err = grow(family == MG_AF_INET ? (void **)&o->d4 :
						  (void **)&o->d6,
			   family == MG_AF_INET ? &o->cap_d4 : &o->cap_d6,
			   (family == MG_AF_INET ? o->nd4 : o->nd6) + 1,
			   family == MG_AF_INET ? sizeof(*o->d4) :
						  sizeof(*o->d6),
			   family == MG_AF_INET ? (void **)&o->d4v :
						  (void **)&o->d6v,
			   sizeof(dv));
		if (err)
			goto out;
		/* Hash keys: the prefix masked to its length. */
		mask_pfx(&cls[c].pfx, cls[c].pfx.len);
		if (family == MG_AF_INET) {
			o->d4[o->nd4] = (struct mg_ep4_key){
				.prefixlen = cls[c].pfx.len,
				.addr = cls[c].pfx.addr.addr[0],
			};
			o->d4v[o->nd4++] = dv;
		} else {
			o->d6[o->nd6].prefixlen = cls[c].pfx.len;
			memcpy(o->d6[o->nd6].addr, cls[c].pfx.addr.addr, 16);
			o->d6v[o->nd6++] = dv;
		}
		st->classes++;
	}
out:
	free(rd);
	free(cls);
	free(items);
	return err;
}

/* The class generation of whatever a key holds (host-order class). */
static uint32_t gen_of(uint32_t class)
{
	return class >> 31;
}

/* Delete every key of map fd for which drop(key) says so. */
static int prune(int fd, size_t key_size, bool (*drop)(const void *, void *),
		 void *arg)
{
	uint8_t *keys = NULL, cur[64], next[64];
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(cur, next, key_size);
		prev = cur;
		if (!drop(cur, arg))
			continue;
		if (n == cap) {
			uint8_t *x;

			cap = cap ? cap * 2 : 1024;
			x = realloc(keys, cap * key_size);
			if (!x) {
				free(keys);
				return -ENOMEM;
			}
			keys = x;
		}
		memcpy(keys + n * key_size, cur, key_size);
		n++;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) &&
		    errno != ENOENT)
			err = -errno;
	free(keys);
	return err;
}

static bool drop_src4(const void *k, void *arg)
{
	return gen_of(ntohl(((const struct mg_pol_src4_key *)k)->class)) ==
	       *(uint32_t *)arg;
}

static bool drop_src6(const void *k, void *arg)
{
	return gen_of(ntohl(((const struct mg_pol_src6_key *)k)->class)) ==
	       *(uint32_t *)arg;
}

static bool drop_port(const void *k, void *arg)
{
	return gen_of(((const struct mg_pol_port_key *)k)->class) ==
	       *(uint32_t *)arg;
}

static bool drop_verdict(const void *k, void *arg)
{
	return gen_of(((const struct mg_pol_key *)k)->class) ==
	       *(uint32_t *)arg;
}

/* Entries of generation g out of the class-keyed maps. */
static int prune_gen(const struct mg_pol_maps *m, uint32_t g)
{
	int err = 0, e;

	e = prune(m->src4, sizeof(struct mg_pol_src4_key), drop_src4, &g);
	err = err ?: e;
	e = prune(m->src6, sizeof(struct mg_pol_src6_key), drop_src6, &g);
	err = err ?: e;
	e = prune(m->port, sizeof(struct mg_pol_port_key), drop_port, &g);
	err = err ?: e;
	e = prune(m->verdict, sizeof(struct mg_pol_key), drop_verdict, &g);
	return err ?: e;
}

struct keep {
	const void *keys;
	int n;
	size_t size;
};

static size_t keep_size;

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, keep_size);
}

/* kp->keys sorted by cmp_key (keep_size = kp->size). */
static bool drop_absent(const void *k, void *arg)
{
	const struct keep *kp = arg;

	keep_size = kp->size;
	return !bsearch(k, kp->keys, (size_t)kp->n, kp->size, cmp_key);
}

static int prune_absent(int fd, void *keys, int n, size_t size)
{
	struct keep kp = { keys, n, size };

	keep_size = size;
	if (n)
		qsort(keys, (size_t)n, size, cmp_key);
	return prune(fd, size, drop_absent, &kp);
}

static int put_all(int fd, const void *keys, const void *vals, int n, size_t ks,
		   size_t vs)
{
	for (int i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const uint8_t *)keys + i * ks,
					(const uint8_t *)vals + i * vs,
					BPF_ANY))
			return errno == ENOSPC || errno == E2BIG ? -E2BIG :
								   -errno;
	return 0;
}

/*
 * The destination prefix lengths of o (and of old, when given: both are
 * in the maps while a compile swaps them), longest first, into cfg.
 */
static void dst_lens(const struct out *o, const struct mg_pol_cfg *old,
		     struct mg_pol_cfg *cfg)
{
	bool l4[33] = { false }, l6[129] = { false };

	for (int i = 0; i < o->nd4; i++)
		l4[o->d4[i].prefixlen % 33] = true;
	for (int i = 0; i < o->nd6; i++)
		l6[o->d6[i].prefixlen % 129] = true;
	for (int i = 0; old && i < old->nlen4 && i < 33; i++)
		l4[old->len4[i] % 33] = true;
	for (int i = 0; old && i < old->nlen6 && i < 129; i++)
		l6[old->len6[i] % 129] = true;
	cfg->nlen4 = 0;
	for (int l = 32; l >= 0; l--)
		if (l4[l])
			cfg->len4[cfg->nlen4++] = (uint8_t)l;
	cfg->nlen6 = 0;
	for (int l = 128; l >= 0; l--)
		if (l6[l])
			cfg->len6[cfg->nlen6++] = (uint8_t)l;
}

/* The generation the destinations point at now (0 when empty). */
static uint32_t current_gen(const struct mg_pol_maps *m)
{
	struct mg_pol_dst v;
	struct mg_ep6_key k6;
	struct mg_ep4_key k4;

	if (!bpf_map_get_next_key(m->dst4, NULL, &k4) &&
	    !bpf_map_lookup_elem(m->dst4, &k4, &v))
		return gen_of(v.class);
	if (!bpf_map_get_next_key(m->dst6, NULL, &k6) &&
	    !bpf_map_lookup_elem(m->dst6, &k6, &v))
		return gen_of(v.class);
	return 0;
}

static void out_free(struct out *o)
{
	free(o->d4);
	free(o->d4v);
	free(o->d6);
	free(o->d6v);
	free(o->s4);
	free(o->s4v);
	free(o->s6);
	free(o->s6v);
	free(o->p);
	free(o->pv);
	free(o->k);
	free(o->kv);
}

int mg_pol_compile(const struct mg_pol_set *sets, int n_sets,
		   uint8_t default_out, const struct mg_pol_maps *m,
		   uint32_t *gen, struct mg_pol_stats *st)
{
	struct mg_pol_cfg cfg = { 0 }, prev;
	struct out o = { 0 };
	uint32_t old, g;
	int err;
	bool any = default_out == MG_POL_DENY;

	memset(st, 0, sizeof(*st));
	old = current_gen(m);
	g = old ^ 1;
	err = compile_family(sets, n_sets, MG_AF_INET, g, &o, st);
	/* The IPv6 classes number on from the IPv4 ones. */
	err = err ?: compile_family(sets, n_sets, MG_AF_INET6, g, &o, st);
	if (!err &&
	    (o.nk > MG_POL_HASH_MAX / 2 || o.np > MG_POL_HASH_MAX / 2 ||
	     o.ns4 > MG_POL_MAX_ENTRIES / 2 || o.ns6 > MG_POL_MAX_ENTRIES / 2 ||
	     o.nd4 > MG_POL_MAX_DST || o.nd6 > MG_POL_MAX_DST))
		err = -E2BIG;
	if (err)
		goto out;

	/* Unreferenced leftovers of generation g (a compile cut short). */
	err = prune_gen(m, g);
	err = err ?: put_all(m->src4, o.s4, o.s4v, o.ns4, sizeof(*o.s4), 4);
	err = err ?: put_all(m->src6, o.s6, o.s6v, o.ns6, sizeof(*o.s6), 4);
	err = err ?: put_all(m->port, o.p, o.pv, o.np, sizeof(*o.p), 4);
	err = err   ?:
		      put_all(m->verdict, o.k, o.kv, o.nk, sizeof(*o.k),
			      sizeof(*o.kv));
	if (err) {
		prune_gen(m, g);
		goto out;
	}
	{
		/* The lengths of both generations while both are there. */
		uint32_t zero = 0;

		if (bpf_map_lookup_elem(m->cfg, &zero, &prev))
			memset(&prev, 0, sizeof(prev));
		cfg = prev;
		dst_lens(&o, &prev, &cfg);
		if (bpf_map_update_elem(m->cfg, &zero, &cfg, BPF_ANY)) {
			err = -errno;
			prune_gen(m, g);
			goto out;
		}
	}
	err = put_all(m->dst4, o.d4, o.d4v, o.nd4, sizeof(*o.d4),
		      sizeof(*o.d4v));
	err = err   ?:
		      put_all(m->dst6, o.d6, o.d6v, o.nd6, sizeof(*o.d6),
			      sizeof(*o.d6v));
	if (err)
		goto out; /* a mix of both: the next compile mends it */

	for (int c = 0; c < MG_MAX_CLUSTERS; c++)
		cfg.def[c] = default_out;
	for (int s = 0; s < n_sets; s++) {
		cfg.def[sets[s].owner] = sets[s].def_in;
		any |= sets[s].n > 0 || sets[s].def_in == MG_POL_DENY;
	}
	cfg.flags = any ? MG_POL_CFG_ON : 0;
	{
		uint32_t zero = 0;

		if (bpf_map_update_elem(m->cfg, &zero, &cfg, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}

	/* The new lengths, before the old keys go (sorted in place). */
	dst_lens(&o, NULL, &cfg);
	err = prune_absent(m->dst4, o.d4, o.nd4, sizeof(*o.d4));
	err = err ?: prune_absent(m->dst6, o.d6, o.nd6, sizeof(*o.d6));
	if (!err) {
		uint32_t zero = 0;

		/* Only this compile's destinations are left: its lengths. */
		if (bpf_map_update_elem(m->cfg, &zero, &cfg, BPF_ANY))
			err = -errno;
	}
	err = err ?: prune_gen(m, old);
	st->src_entries = (uint32_t)(o.ns4 + o.ns6);
	st->port_entries = (uint32_t)o.np;
	st->verdicts = (uint32_t)o.nk;
	st->gen = g;
	if (gen)
		*gen = g;
out:
	out_free(&o);
	return err;
}
