// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "dpmaps.h"
#include "lib/log.h"

static size_t rec_ksz;

static int rec_cmp(const void *a, const void *b)
{
	return memcmp(a, b, rec_ksz);
}

/*
 * The limit behind each map the agent fills, so that a full map says what
 * to raise: a [limits] key of the configuration (agent/maplimits.h), or
 * one of include/meshgate/limits.h for the maps sized at compile time.
 */
static const struct {
	const char *map, *knob;
} map_knobs[] = {
	{ "mg_ep",	"[limits] endpoints in the configuration" },
	{ "mg_local",	"[limits] local_endpoints in the configuration" },
	{ "mg_peer",	"MG_MAX_PEERS in include/meshgate/limits.h" },
	{ "mg_nh",	"MG_MAX_NEXTHOPS in include/meshgate/limits.h" },
	{ "mg_tx",	"MG_MAX_TX_IFACES in include/meshgate/limits.h" },
	{ "mg_svc",	"MG_LB_MAX_SERVICES in include/meshgate/limits.h" },
	{ "mg_lbrev",	"MG_LB_MAX_BACKENDS in include/meshgate/limits.h" },
};

static const char *map_knob(const char *name)
{
	for (size_t i = 0; i < sizeof(map_knobs) / sizeof(map_knobs[0]); i++)
		if (!strncmp(name, map_knobs[i].map, strlen(map_knobs[i].map)))
			return map_knobs[i].knob;
	return "its limit";
}

static __u32 map_max_entries(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

void mg_map_full_hint(int fd, const char *name, size_t wanted, char *buf,
		      size_t len)
{
	snprintf(buf, len,
		 "map %s is full (max_entries %u, %zu wanted): raise %s",
		 name, map_max_entries(fd), wanted, map_knob(name));
}

/*
 * One write, counted; the first failure of a pass is logged (a full map
 * with what to raise) and returned through *err.
 */
static void map_write(int fd, const char *name, const void *k, const void *v,
		      size_t wanted, struct mg_sync_stats *st, int *err)
{
	char hint[192];
	int rc;

	if (!bpf_map_update_elem(fd, k, v, BPF_ANY)) {
		if (st)
			st->written++;
		return;
	}
	rc = -errno;
	if (st)
		st->failed++;
	if (*err)
		return;
	*err = rc;
	if (rc == -E2BIG || rc == -ENOSPC) {
		mg_map_full_hint(fd, name, wanted, hint, sizeof(hint));
		pr_err("%s", hint);
	} else {
		pr_err("map %s: update failed: %s", name, strerror(-rc));
	}
}

static void map_delete(int fd, const void *k, struct mg_sync_stats *st,
		       int *err)
{
	if (bpf_map_delete_elem(fd, k) && errno != ENOENT) {
		if (st)
			st->failed++;
		if (!*err)
			*err = -errno;
		return;
	}
	if (st)
		st->deleted++;
}

/*
 * What fd holds, exactly: n records of key then value, sorted by key.
 * bpf_map_get_next_key() walks the keys that exist, and a lookup of a key
 * that exists returns its own value even on an LPM trie (it is the longest
 * prefix of itself); a lookup of a wanted key would not do, as on a trie it
 * answers with the covering prefix's value when the key itself is absent.
 */
static int map_dump(int fd, size_t key_size, size_t val_size, char **out,
		    size_t *n_out)
{
	size_t rsz = key_size + val_size, n = 0, cap = 64;
	char *recs = malloc(cap * rsz), *cur = malloc(key_size);
	void *prev = NULL;

	if (!recs || !cur)
		goto nomem;
	for (;;) {
		char *r;

		if (n == cap) {
			r = realloc(recs, 2 * cap * rsz);
			if (!r)
				goto nomem;
			recs = r;
			cap *= 2;
		}
		r = recs + n * rsz;
		if (bpf_map_get_next_key(fd, prev, r))
			break;
		memcpy(cur, r, key_size);
		prev = cur;
		/* Deleted since the walk found it: not there. */
		if (bpf_map_lookup_elem(fd, r, r + key_size))
			continue;
		n++;
	}
	free(cur);
	rec_ksz = key_size;
	qsort(recs, n, rsz, rec_cmp);
	*out = recs;
	*n_out = n;
	return 0;
nomem:
	free(recs);
	free(cur);
	return -ENOMEM;
}

/* n records of key then value, sorted by key; NULL when out of memory. */
static char *records(size_t key_size, size_t val_size, const void *keys,
		     const void *vals, size_t n)
{
	size_t rsz = key_size + val_size;
	char *recs = malloc(n ? n * rsz : 1);

	if (!recs)
		return NULL;
	for (size_t k = 0; k < n; k++) {
		memcpy(recs + k * rsz, (const char *)keys + k * key_size,
		       key_size);
		memcpy(recs + k * rsz + key_size,
		       (const char *)vals + k * val_size, val_size);
	}
	rec_ksz = key_size;
	qsort(recs, n, rsz, rec_cmp);
	return recs;
}

/*
 * Records read in order: plain (rsz bytes apart) or packed as the map
 * cache keeps them (see pack()).
 */
#define PACK_RSZ_MAX	64

struct rec_cur {
	const char *plain;		/* NULL: packed */
	const unsigned char *p0, *p, *end;
	size_t rsz, i, n;
	unsigned char cur[PACK_RSZ_MAX];
};

/* Decode the next packed record over cur; false at the end (or corrupt). */
static bool unpack_next(struct rec_cur *c)
{
	size_t mask = (c->rsz + 7) / 8;
	const unsigned char *m = c->p;

	if (c->i >= c->n || (size_t)(c->end - c->p) < mask)
		return false;
	c->p += mask;
	for (size_t b = 0; b < c->rsz; b++) {
		if (!(m[b / 8] >> (b % 8) & 1))
			continue;
		if (c->p == c->end)
			return false;
		c->cur[b] = *c->p++;
	}
	return true;
}

static void cur_rewind(struct rec_cur *c)
{
	c->i = 0;
	if (c->plain)
		return;
	c->p = c->p0;
	memset(c->cur, 0, sizeof(c->cur));
	if (!unpack_next(c))
		c->n = 0;
}

static void cur_plain(struct rec_cur *c, const char *recs, size_t n,
		      size_t rsz)
{
	*c = (struct rec_cur){ .plain = recs, .rsz = rsz, .n = n };
}

static void cur_packed(struct rec_cur *c, const void *packed, size_t bytes,
		       size_t n, size_t rsz)
{
	*c = (struct rec_cur){ .p0 = packed, .end = (const unsigned char *)
				packed + bytes, .rsz = rsz, .n = n };
	cur_rewind(c);
}

/* The current record, NULL past the last. */
static const char *cur_get(const struct rec_cur *c)
{
	if (c->i >= c->n)
		return NULL;
	return c->plain ? c->plain + c->i * c->rsz : (const char *)c->cur;
}

static void cur_next(struct rec_cur *c)
{
	if (++c->i < c->n && !c->plain && !unpack_next(c))
		c->n = c->i;	/* cannot happen: pack() wrote it */
}

/*
 * n sorted records packed: each one as a bitmap of the bytes that differ
 * from the record before it (the first from zeros), then those bytes.
 * Neighbours in key order share most of their bytes (a prefix's next one
 * differs in an address byte or two), so a million mg_ep4 records take
 * about 4 MB instead of 16.  Sized first, then written.  NULL: no memory.
 */
static unsigned char *pack(const char *recs, size_t n, size_t rsz,
			   size_t *bytes)
{
	size_t mask = (rsz + 7) / 8, len = 0;
	const char *prev;
	unsigned char *out, *q;
	static const char zero[PACK_RSZ_MAX];

	for (size_t i = 0; i < n; i++) {
		prev = i ? recs + (i - 1) * rsz : zero;
		len += mask;
		for (size_t b = 0; b < rsz; b++)
			len += recs[i * rsz + b] != prev[b];
	}
	out = malloc(len ? len : 1);
	if (!out)
		return NULL;
	q = out;
	for (size_t i = 0; i < n; i++) {
		unsigned char *m = q;

		prev = i ? recs + (i - 1) * rsz : zero;
		memset(m, 0, mask);
		q += mask;
		for (size_t b = 0; b < rsz; b++) {
			if (recs[i * rsz + b] == prev[b])
				continue;
			m[b / 8] |= 1u << (b % 8);
			*q++ = (unsigned char)recs[i * rsz + b];
		}
	}
	*bytes = len;
	return out;
}

/*
 * Bring a map holding the sorted records old to the n_new sorted
 * records want: every new or changed entry is written first, and only then
 * (when del) is every other key deleted, so that a flow never finds a gap;
 * a write that found the map full is tried again after the deletes.
 */
static int apply_diff(int fd, const char *name, size_t key_size,
		      size_t val_size, struct rec_cur *old,
		      const char *want, size_t n_new, bool del,
		      struct mg_sync_stats *st)
{
	size_t rsz = key_size + val_size, n_retry = 0;
	size_t *retry = NULL;
	int err = 0;

	for (int pass = 0; pass < (del ? 2 : 1); pass++) {
		size_t j = 0;

		cur_rewind(old);
		while (cur_get(old) || j < n_new) {
			const char *o = cur_get(old);
			const char *w = j < n_new ? want + j * rsz : NULL;
			int cmp = !o ? 1 : !w ? -1 : memcmp(o, w, key_size);

			if (cmp < 0) {
				if (pass == 1)
					map_delete(fd, o, st, &err);
				cur_next(old);
				continue;
			}
			if (pass == 0 && (cmp > 0 ||
			    memcmp(o + key_size, w + key_size, val_size))) {
				if (!del) {
					map_write(fd, name, w, w + key_size,
						  n_new, st, &err);
				} else if (!bpf_map_update_elem(fd, w,
								w + key_size,
								BPF_ANY)) {
					if (st)
						st->written++;
				} else if ((errno == E2BIG || errno == ENOSPC) &&
					   (retry || (retry = calloc(n_new,
							sizeof(*retry))))) {
					retry[n_retry++] = j;
				} else {
					map_write(fd, name, w, w + key_size,
						  n_new, st, &err);
				}
			}
			if (cmp == 0)
				cur_next(old);
			j++;
		}
	}
	for (size_t r = 0; r < n_retry; r++) {
		const char *w = want + retry[r] * rsz;

		map_write(fd, name, w, w + key_size, n_new, st, &err);
	}
	free(retry);
	return err;
}

/* reconcile() on n records already sorted by key (want is not freed). */
static int reconcile_recs(int fd, const char *name, size_t key_size,
			  size_t val_size, const char *want, size_t n,
			  struct mg_sync_stats *st, bool del)
{
	struct rec_cur old;
	char *have = NULL;
	size_t n_have = 0;
	int err;

	err = map_dump(fd, key_size, val_size, &have, &n_have);
	cur_plain(&old, have, n_have, key_size + val_size);
	if (!err)
		err = apply_diff(fd, name, key_size, val_size, &old, want, n,
				 del, st);
	free(have);
	return err;
}

static int reconcile(int fd, const char *name, size_t key_size,
		     size_t val_size, const void *keys, const void *vals,
		     size_t n, struct mg_sync_stats *st, bool del)
{
	char *want = records(key_size, val_size, keys, vals, n);
	int err;

	if (!want)
		return -ENOMEM;
	err = reconcile_recs(fd, name, key_size, val_size, want, n, st, del);
	free(want);
	return err;
}

int mg_map_reconcile(int fd, const char *name, size_t key_size,
		     size_t val_size, const void *keys, const void *vals,
		     size_t n, struct mg_sync_stats *st)
{
	return reconcile(fd, name, key_size, val_size, keys, vals, n, st, true);
}

int mg_cluster_build(const struct mg_view *v, __u8 cluster_id,
		     struct mg_cluster_val *out)
{
	int n = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < v->n_gw && n < MG_CLUSTER_GW_MAX; i++) {
		const struct mg_view_gw *g = &v->gw[i];

		if (g->cluster_id != cluster_id || !g->alive)
			continue;
		out->gw[n++] = g->tunnel;
	}
	out->n_gw = n;
	for (int s = 0; s < MG_GW_SLOTS && n; s++)
		out->slot[s] = s % n;
	return n;
}

/* An endpoint prefix as the key of mg_ep4 or mg_ep6 (by its family). */
static void ep_key(void *k, const struct mg_prefix *p)
{
	if (p->addr.family == MG_AF_INET) {
		struct mg_ep4_key *k4 = k;

		k4->prefixlen = p->len;
		k4->addr = p->addr.addr[0];
	} else {
		struct mg_ep6_key *k6 = k;

		k6->prefixlen = p->len;
		memcpy(k6->addr, p->addr.addr, sizeof(k6->addr));
	}
}

/*
 * The endpoint entries of one family as the map takes them: records of
 * key then value (struct mg_ep4_key or mg_ep6_key, struct mg_ep_val),
 * sorted by key, one per prefix.  Siblings of one cluster advertise the
 * same prefixes, and the first writer (local before remote) wins a prefix
 * claimed twice: each record is built with its position behind it, sorted
 * on (key, position), and the duplicates and positions squeezed out in
 * place.  One array of n records of ksz + 12 bytes, then shrunk to
 * ksz + 8 a record: a million prefixes take 20 MB at the peak, not the
 * 100 MB of copies the sync made before.  NULL when out of memory.
 */
static size_t ep_rec_ksz;

static int ep_rec_cmp(const void *a, const void *b)
{
	int c = memcmp(a, b, ep_rec_ksz);
	__u32 x, y;

	if (c)
		return c;
	memcpy(&x, (const char *)a + ep_rec_ksz + sizeof(struct mg_ep_val),
	       sizeof(x));
	memcpy(&y, (const char *)b + ep_rec_ksz + sizeof(struct mg_ep_val),
	       sizeof(y));
	return x < y ? -1 : x > y;
}

static char *ep_records(const struct mg_view *v, __u8 family, size_t *n_out)
{
	size_t ksz = family == MG_AF_INET ? sizeof(struct mg_ep4_key) :
					    sizeof(struct mg_ep6_key);
	size_t vsz = sizeof(struct mg_ep_val), osz = ksz + vsz + sizeof(__u32);
	size_t n = 0, out = 0, total = 0;
	char *recs, *shrunk;

	for (int l = 0; l < v->n_local; l++)
		total += v->local[l].addr.family == family;
	for (int g = 0; g < v->n_gw; g++)
		for (int p = 0; p < v->gw[g].n_prefixes; p++)
			total += v->gw[g].prefixes[p].addr.family == family;
	recs = malloc(total ? total * osz : 1);
	if (!recs)
		return NULL;
	for (int l = 0; l < v->n_local; l++) {
		struct mg_ep_val val = { .cluster_id = v->cluster_id,
					 .flags = MG_EP_F_LOCAL };
		char *r = recs + n * osz;
		__u32 order = n;

		if (v->local[l].addr.family != family)
			continue;
		memset(r, 0, ksz);
		ep_key(r, &v->local[l]);
		memcpy(r + ksz, &val, vsz);
		memcpy(r + ksz + vsz, &order, sizeof(order));
		n++;
	}
	for (int g = 0; g < v->n_gw; g++) {
		const struct mg_view_gw *gw = &v->gw[g];

		/*
		 * A dead gateway's prefixes stay while a sibling of its
		 * cluster lives; mg_clus decides where they go.
		 */
		for (int p = 0; p < gw->n_prefixes; p++) {
			struct mg_ep_val val = { .cluster_id = gw->cluster_id,
						 .version = gw->version };
			char *r = recs + n * osz;
			__u32 order = n;

			if (gw->prefixes[p].addr.family != family)
				continue;
			memset(r, 0, ksz);
			ep_key(r, &gw->prefixes[p]);
			memcpy(r + ksz, &val, vsz);
			memcpy(r + ksz + vsz, &order, sizeof(order));
			n++;
		}
	}
	ep_rec_ksz = ksz;
	/* Often sorted already (the store keeps an origin's arrival order). */
	for (size_t i = 1; i < n; i++)
		if (ep_rec_cmp(recs + (i - 1) * osz, recs + i * osz) > 0) {
			qsort(recs, n, osz, ep_rec_cmp);
			break;
		}
	for (size_t i = 0; i < n; i++) {
		const char *r = recs + i * osz;

		if (out && !memcmp(recs + (out - 1) * (ksz + vsz), r, ksz))
			continue;
		memmove(recs + out * (ksz + vsz), r, ksz + vsz);
		out++;
	}
	shrunk = realloc(recs, out ? out * (ksz + vsz) : 1);
	*n_out = out;
	return shrunk ? shrunk : recs;
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The cached sync of n records sorted by key: the cache then keeps them,
 * packed (pack()).
 */
static int sync_cached_recs(int fd, const char *name, struct mg_map_cache *c,
			    size_t key_size, size_t val_size, const char *recs,
			    size_t n, struct mg_sync_stats *st)
{
	size_t rsz = key_size + val_size, bytes = 0;
	unsigned long long now = now_ms();
	struct rec_cur old;
	unsigned char *packed;
	int err;

	if (rsz > PACK_RSZ_MAX) {
		c->valid = false;
		return reconcile_recs(fd, name, key_size, val_size, recs, n,
				      st, true);
	}
	if (!c->valid || now - c->full_ms > MG_MAP_FULL_MS) {
		/* Against what the map holds: repairs any drift. */
		free(c->recs);	/* not needed: one copy fewer at the peak */
		c->recs = NULL;
		err = reconcile_recs(fd, name, key_size, val_size, recs, n, st,
				     true);
		c->full_ms = now;
	} else {
		/* Against what was last written: only the difference. */
		cur_packed(&old, c->recs, c->bytes, c->n, rsz);
		err = apply_diff(fd, name, key_size, val_size, &old, recs, n,
				 true, st);
	}
	free(c->recs);
	packed = pack(recs, n, rsz, &bytes);
	c->recs = packed;
	c->bytes = bytes;
	c->n = n;
	/* After a failure the next sync repairs with a full reconcile. */
	c->valid = !err && packed;
	return err;
}

int mg_map_sync_cached(int fd, const char *name, struct mg_map_cache *c,
		       size_t key_size, size_t val_size, const void *keys,
		       const void *vals, size_t n, struct mg_sync_stats *st)
{
	char *recs = records(key_size, val_size, keys, vals, n);
	int err;

	if (!recs)
		return -ENOMEM;
	err = sync_cached_recs(fd, name, c, key_size, val_size, recs, n, st);
	free(recs);
	return err;
}

void mg_dpmaps_free(struct mg_dpmaps *m)
{
	free(m->ep4c.recs);
	free(m->ep6c.recs);
	m->ep4c = (struct mg_map_cache){ 0 };
	m->ep6c = (struct mg_map_cache){ 0 };
}

/* Bit i (0: the first) of a network-order address. */
static int addr_bit(const struct mg_addr *a, unsigned int i)
{
	const __u8 *b = (const __u8 *)a->addr;

	return b[i / 8] >> (7 - i % 8) & 1;
}

/* Do a and b agree in their first n bits? */
static bool addr_prefix_eq(const struct mg_addr *a, const struct mg_addr *b,
			   unsigned int n)
{
	const __u8 *x = (const __u8 *)a->addr, *y = (const __u8 *)b->addr;
	unsigned int full = n / 8, rest = n % 8;

	if (memcmp(x, y, full))
		return false;
	return !rest || !((x[full] ^ y[full]) & (0xff << (8 - rest)));
}

static int pfx_addr_cmp(const void *a, const void *b)
{
	const struct mg_prefix *x = a, *y = b;
	int c = memcmp(x->addr.addr, y->addr.addr, sizeof(x->addr.addr));

	return c ? c : x->len - y->len;
}

static int pfx_family_cmp(const void *a, const void *b)
{
	const struct mg_prefix *x = a, *y = b;

	return x->addr.family - y->addr.family;
}

size_t mg_prefix_aggregate(struct mg_prefix *p, size_t n)
{
	size_t top = 0;

	qsort(p, n, sizeof(*p), pfx_addr_cmp);
	for (size_t i = 0; i < n; i++) {
		/* Sorted: only the last one kept can cover the next. */
		if (top && p[top - 1].len <= p[i].len &&
		    addr_prefix_eq(&p[top - 1].addr, &p[i].addr,
				   p[top - 1].len))
			continue;
		p[top++] = p[i];
		/* The two halves of one prefix are that prefix. */
		while (top >= 2) {
			struct mg_prefix *lo = &p[top - 2], *hi = &p[top - 1];
			unsigned int l = hi->len;

			if (!l || lo->len != l ||
			    !addr_prefix_eq(&lo->addr, &hi->addr, l - 1) ||
			    addr_bit(&lo->addr, l - 1) ||
			    !addr_bit(&hi->addr, l - 1))
				break;
			lo->len--;
			top--;
		}
	}
	return top;
}

/*
 * mg_local4 / mg_local6: the addresses of the view's local prefixes,
 * nothing else.  The datapath asks them one question (is this address
 * ours?) and every entry has the same value, so they hold the fewest
 * prefixes covering exactly those addresses: a pod route inside the
 * cluster's CIDR costs no entry, and 100,000 adjacent routes a handful.
 */
static int sync_local(struct mg_dpmaps *m, const struct mg_view *v,
		      struct mg_sync_stats *st)
{
	struct mg_prefix *agg = NULL;
	struct mg_view lv = { .cluster_id = v->cluster_id };
	char *r4 = NULL, *r6 = NULL;
	size_t n4, n6;
	int err = -ENOMEM, rc;

	if (m->local4 <= 0 || m->local6 <= 0)
		return 0;
	agg = calloc(v->n_local + 1, sizeof(*agg));
	if (!agg)
		goto out;
	lv.local = agg;
	if (v->n_local)
		memcpy(agg, v->local, v->n_local * sizeof(*agg));
	/* Each family on its own: IPv4 first, then IPv6. */
	for (int i = 0; i < v->n_local; i++)
		if (agg[i].addr.family == MG_AF_INET)
			lv.n_local++;
	qsort(agg, v->n_local, sizeof(*agg), pfx_family_cmp);
	n4 = mg_prefix_aggregate(agg, lv.n_local);
	n6 = mg_prefix_aggregate(agg + lv.n_local, v->n_local - lv.n_local);
	memmove(agg + n4, agg + lv.n_local, n6 * sizeof(*agg));
	lv.n_local = (int)(n4 + n6);
	r4 = ep_records(&lv, MG_AF_INET, &n4);
	r6 = ep_records(&lv, MG_AF_INET6, &n6);
	if (!r4 || !r6)
		goto out;
	err = reconcile_recs(m->local4, "mg_local4", sizeof(struct mg_ep4_key),
			     sizeof(struct mg_ep_val), r4, n4, st, !m->keep);
	rc = reconcile_recs(m->local6, "mg_local6", sizeof(struct mg_ep6_key),
			    sizeof(struct mg_ep_val), r6, n6, st, !m->keep);
	err = err ? err : rc;
out:
	free(agg);
	free(r4);
	free(r6);
	return err;
}

/* An mg_ep4 record as ep_records() makes it. */
struct ep4_rec {
	struct mg_ep4_key k;
	struct mg_ep_val v;
};

_Static_assert(sizeof(struct ep4_rec) ==
	       sizeof(struct mg_ep4_key) + sizeof(struct mg_ep_val),
	       "records are key then value, unpadded");

/* FNV-1a over what the table answers: the prefixes and their leaves. */
static unsigned long long pfx_set_hash(const struct ep4_rec *r, size_t n)
{
	unsigned long long h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		__u32 w[3] = { r[i].k.prefixlen, r[i].k.addr,
			       mg_pfx_leaf(&r[i].v) };
		const unsigned char *b = (const unsigned char *)w;

		for (size_t j = 0; j < sizeof(w); j++)
			h = (h ^ b[j]) * 0x100000001b3ull;
	}
	return h ^ n;
}

/*
 * The table from the prefixes just written to mg_ep4 (the trie is always
 * complete first: a reader the table fails asks it).  A table that
 * cannot be made leaves the datapath on the trie, said once.
 */
/*
 * The IPv6 table (prefix6.c) from the packed records: its compiler takes
 * keys and values apart, so they are split here, only when it is on.
 */
static void sync_pfx6(struct mg_dpmaps *m, bool on, const char *recs, size_t n,
		      struct mg_sync_stats *st)
{
	const size_t ksz = sizeof(struct mg_ep6_key), vsz = sizeof(struct mg_ep_val);
	struct mg_ep6_key *k = NULL;
	struct mg_ep_val *v = NULL;
	unsigned int failed = 0;

	if (on && n) {
		k = malloc(n * ksz);
		v = malloc(n * vsz);
		if (!k || !v) {
			free(k);
			free(v);
			if (st)
				st->failed++;
			return;
		}
		for (size_t i = 0; i < n; i++) {
			memcpy(&k[i], recs + i * (ksz + vsz), ksz);
			memcpy(&v[i], recs + i * (ksz + vsz) + ksz, vsz);
		}
	}
	mg_pfx6_sync(&m->pfx6, on, k, v, on ? n : 0, &failed);
	if (st)
		st->failed += failed;
	free(k);
	free(v);
}

static void sync_pfx_table(struct mg_dpmaps *m, const struct ep4_rec *r,
			   size_t n, struct mg_sync_stats *st)
{
	unsigned long long h;
	struct mg_pfx4 t;
	int rc;

	if (!m->pfx.gen)
		return;
	/*
	 * While m->keep the trie holds more than the view (nothing is
	 * deleted): the datapath asks the trie until the mesh settles.
	 */
	if (!m->pfx_table || m->keep) {
		if (m->pfx_state != MG_PFX_OFF) {
			if (mg_pfx4_disable(&m->pfx))
				st->failed++;
			else
				m->pfx_state = MG_PFX_OFF;
			m->pfx_bytes = 0;
		}
		return;
	}
	h = pfx_set_hash(r, n);
	if (m->pfx_state == MG_PFX_ON && h == m->pfx_hash)
		return;
	rc = mg_pfx4_build_stride(&t, &r->k, &r->v, sizeof(*r), n);
	if (!rc) {
		rc = mg_pfx4_publish(&m->pfx, &t);
		if (!rc)
			m->pfx_bytes = mg_pfx4_bytes(&t);
		mg_pfx4_free(&t);
	}
	if (rc) {
		st->failed++;
		if (m->pfx_state != MG_PFX_FAILED || m->pfx_hash != h)
			pr_warn("prefix table of %zu prefixes: %s; the datapath "
				"uses the mg_ep4 trie", n, strerror(-rc));
		mg_pfx4_disable(&m->pfx);
		m->pfx_state = MG_PFX_FAILED;
		m->pfx_hash = h;
		m->pfx_bytes = 0;
		return;
	}
	m->pfx_state = MG_PFX_ON;
	m->pfx_hash = h;
}

static unsigned long long fnv(unsigned long long h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static unsigned long long pfx_hash(unsigned long long h,
				   const struct mg_prefix *p)
{
	h = fnv(h, &p->addr.family, 1);
	h = fnv(h, &p->len, 1);
	return fnv(h, p->addr.addr, p->addr.family == MG_AF_INET ? 4 : 16);
}

/* What ep_records() builds both families from, and the table's switch. */
static unsigned long long ep_input_hash(const struct mg_dpmaps *m,
					const struct mg_view *v)
{
	unsigned long long h = 0xcbf29ce484222325ull;

	h = fnv(h, &v->cluster_id, 1);
	h = fnv(h, &m->pfx_table, sizeof(m->pfx_table));
	h = fnv(h, &v->n_local, sizeof(v->n_local));
	for (int l = 0; l < v->n_local; l++)
		h = pfx_hash(h, &v->local[l]);
	h = fnv(h, &v->n_gw, sizeof(v->n_gw));
	for (int g = 0; g < v->n_gw; g++) {
		const struct mg_view_gw *gw = &v->gw[g];

		h = fnv(h, &gw->cluster_id, 1);
		h = fnv(h, &gw->version, sizeof(gw->version));
		h = fnv(h, &gw->n_prefixes, sizeof(gw->n_prefixes));
		for (int p = 0; p < gw->n_prefixes; p++)
			h = pfx_hash(h, &gw->prefixes[p]);
	}
	return h;
}

/* mg_ep4 and mg_ep6 hold what @h was built from, and no repair is due. */
static bool ep_unchanged(const struct mg_dpmaps *m, unsigned long long h)
{
	unsigned long long now = now_ms();

	return m->ep_hash_ok && m->ep_hash == h && m->ep4c.valid &&
	       m->ep6c.valid && now - m->ep4c.full_ms <= MG_MAP_FULL_MS &&
	       now - m->ep6c.full_ms <= MG_MAP_FULL_MS &&
	       (!m->pfx_table || m->pfx_state == MG_PFX_ON);
}

int mg_dpmaps_sync(struct mg_dpmaps *m, const struct mg_view *v,
		   struct mg_sync_stats *st)
{
	unsigned long long ep_h = 0;
	size_t n_ep4 = 0, n_ep6 = 0, n_cl = 0, n_p4 = 0, n_p6 = 0;
	const size_t k4 = sizeof(struct mg_ep4_key);
	const size_t k6 = sizeof(struct mg_ep6_key);
	const size_t ev = sizeof(struct mg_ep_val);
	char *ep4 = NULL, *ep6 = NULL;
	struct mg_cluster_val *cl_v = NULL;
	struct mg_peer_val *p4_v = NULL, *p6_v = NULL;
	struct mg_in6 *p6_k = NULL;
	__u32 *cl_k = NULL, *p4_k = NULL;
	bool seen[MG_MAX_CLUSTERS] = { false };
	int err, rc;

	cl_k = calloc(MG_MAX_CLUSTERS, sizeof(*cl_k));
	cl_v = calloc(MG_MAX_CLUSTERS, sizeof(*cl_v));
	p4_k = calloc(2 * v->n_gw + 1, sizeof(*p4_k));
	p4_v = calloc(2 * v->n_gw + 1, sizeof(*p4_v));
	p6_k = calloc(2 * v->n_gw + 1, sizeof(*p6_k));
	p6_v = calloc(2 * v->n_gw + 1, sizeof(*p6_v));
	if (!cl_k || !cl_v || !p4_k || !p4_v || !p6_k || !p6_v) {
		err = -ENOMEM;
		goto out;
	}

	for (int g = 0; g < v->n_gw; g++) {
		const struct mg_view_gw *gw = &v->gw[g];
		const struct mg_addr *t[2] = { &gw->tunnel, &gw->tunnel_alt };

		for (int i = 0; i < 2 && (gw->alive || gw->accept); i++) {
			if (t[i]->family == MG_AF_INET) {
				p4_k[n_p4] = t[i]->addr[0];
				p4_v[n_p4++].cluster_id = gw->cluster_id;
			} else if (t[i]->family == MG_AF_INET6) {
				memcpy(p6_k[n_p6].addr, t[i]->addr, 16);
				p6_v[n_p6++].cluster_id = gw->cluster_id;
			}
		}
		if (!seen[gw->cluster_id]) {
			seen[gw->cluster_id] = true;
			cl_k[n_cl] = gw->cluster_id;
			mg_cluster_build(v, gw->cluster_id, &cl_v[n_cl]);
			n_cl++;
		}
	}

	/*
	 * Clusters first: a new prefix must find its gateways in place.
	 * While m->keep, entries are written but none is deleted.
	 */
	err = reconcile(m->clus, "mg_clus", sizeof(*cl_k), sizeof(*cl_v),
			cl_k, cl_v, n_cl, st, !m->keep);
	rc = reconcile(m->peer4, "mg_peer4", sizeof(*p4_k), sizeof(*p4_v),
		       p4_k, p4_v, n_p4, st, !m->keep);
	err = err ? err : rc;
	rc = reconcile(m->peer6, "mg_peer6", sizeof(*p6_k), sizeof(*p6_v),
		       p6_k, p6_v, n_p6, st, !m->keep);
	err = err ? err : rc;
	/*
	 * Our own prefixes alone too, where the datapath checks a pod's
	 * source (and a tunnel packet's destination) first.
	 */
	rc = sync_local(m, v, st);
	err = err ? err : rc;
	if (!m->keep) {
		ep_h = ep_input_hash(m, v);
		if (ep_unchanged(m, ep_h))
			goto out;
	}
	m->ep_hash_ok = false;
	/* One family at a time: only one family's records at the peak. */
	ep4 = ep_records(v, MG_AF_INET, &n_ep4);
	if (!ep4) {
		err = -ENOMEM;
		goto out;
	}
	if (m->keep) {
		rc = reconcile_recs(m->ep4, "mg_ep4", k4, ev, ep4, n_ep4, st,
				    false);
		err = err ? err : rc;
		sync_pfx_table(m, (const struct ep4_rec *)ep4, n_ep4, st);
		free(ep4);
		ep4 = NULL;
		ep6 = ep_records(v, MG_AF_INET6, &n_ep6);
		rc = ep6 ? reconcile_recs(m->ep6, "mg_ep6", k6, ev, ep6, n_ep6,
					  st, false) : -ENOMEM;
		/* The cache no longer says what the map holds. */
		m->ep4c.valid = m->ep6c.valid = false;
		err = err ? err : rc;
		sync_pfx6(m, false, ep6, n_ep6, st);
		goto out;
	}
	rc = sync_cached_recs(m->ep4, "mg_ep4", &m->ep4c, k4, ev, ep4, n_ep4,
			      st);
	err = err ? err : rc;
	sync_pfx_table(m, (const struct ep4_rec *)ep4, n_ep4, st);
	free(ep4);
	ep4 = NULL;
	ep6 = ep_records(v, MG_AF_INET6, &n_ep6);
	if (!ep6) {
		err = err ? err : -ENOMEM;
		goto out;
	}
	rc = sync_cached_recs(m->ep6, "mg_ep6", &m->ep6c, k6, ev, ep6, n_ep6,
			      st);
	m->ep_hash = ep_h;
	m->ep_hash_ok = !rc && m->ep4c.valid;
	err = err ? err : rc;
	sync_pfx6(m, m->pfx_table, ep6, n_ep6, st);
out:
	free(ep4);
	free(ep6);
	free(cl_k);
	free(cl_v);
	free(p4_k);
	free(p4_v);
	free(p6_k);
	free(p6_v);
	return err;
}
