// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IPv6 prefix table: mg_ep6's entries keyed by (length, masked
 * address), one per prefix, and the lengths present, longest first; the
 * datapath asks the hash map once per length until one holds the address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "prefix.h"
#include "prefix6.h"
#include "lib/log.h"

#define MG_STR_(x) #x
#define MG_STR(x) MG_STR_(x)

/* The network-order mask of the first len bits of an IPv6 address. */
static void mask6(__u32 len, __u32 m[4])
{
	for (int w = 0; w < 4; w++) {
		int b = (int)len - 32 * w;

		m[w] = b <= 0 ? 0 : b >= 32 ? ~0u : htonl(~0u << (32 - b));
	}
}

struct pair {
	struct mg_pfx6_key k;
	__u32 leaf;
	size_t order;
};

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct mg_pfx6_key));
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = key_cmp(&x->k, &y->k);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Bits [c, c + k) of a (network order) as a number, k <= 32, c + k <= 128. */
static __u32 bits_at(const __u32 a[4], __u32 c, __u32 k)
{
	__u32 w = c / 32, sh = c % 32;
	__u64 win = (__u64)ntohl(a[w]) << 32 | (w < 3 ? ntohl(a[w + 1]) : 0);

	return k ? (__u32)((win << sh) >> (64 - k)) : 0;
}

/* The region bits: enough for about one prefix each, at most 2 MiB. */
static __u32 region_bits(size_t n, __u32 c)
{
	__u32 k = 8;

	while (k < MG_PFX6_RGN_BITS && ((size_t)1 << k) < 2 * n)
		k++;
	return k < 128 - c ? k : 128 - c;
}

/*
 * The regions: for each prefix, the bit of its length in every region it
 * overlaps (a prefix longer than c + k one, a shorter one 2^(c + k - len)
 * of them).  Prefixes are unique, so the painting of one length takes at
 * most 2^k steps.
 */
static int paint_regions(struct mg_pfx6 *t)
{
	__u32 c = t->lens.c, k = t->lens.k, li[129];
	size_t slots = (size_t)1 << k;

	t->n_rgn = slots > 256 ? slots / 256 : 1;
	t->rgn = calloc(t->n_rgn, sizeof(*t->rgn));
	if (!t->rgn)
		return -ENOMEM;
	for (__u32 i = 0; i < t->lens.n; i++)
		li[t->lens.l[i].len] = i;
	for (size_t i = 0; i < t->n; i++) {
		__u32 len = t->k[i].len, first, span;

		if (len >= c + k) {
			first = bits_at(t->k[i].addr, c, k);
			span = 1;
		} else {
			first = bits_at(t->k[i].addr, c, len - c)
				<< (c + k - len);
			span = 1u << (c + k - len);
		}
		for (__u32 r = first; r < first + span; r++)
			t->rgn[r >> 8].s[r & 0xff] |= 1u << li[len];
	}
	return 0;
}

/* The bits every prefix shares: c, and base / bmask. */
static void shared_bits(struct mg_pfx6 *t)
{
	__u32 c = t->n ? 128 : 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->k[i].len < c)
			c = t->k[i].len;
		for (__u32 w = 0; w < 4 && 32 * w < c; w++) {
			__u32 x = ntohl(t->k[i].addr[w]) ^
				  ntohl(t->k[0].addr[w]);

			if (x) {
				if (32 * w + __builtin_clz(x) < c)
					c = 32 * w + __builtin_clz(x);
				break;
			}
		}
	}
	t->lens.c = c;
	mask6(c, t->lens.bmask);
	for (int w = 0; w < 4; w++)
		t->lens.base[w] = t->n ? t->k[0].addr[w] & t->lens.bmask[w] : 0;
}

int mg_pfx6_build(struct mg_pfx6 *t, const struct mg_ep6_key *k,
		  const struct mg_ep_val *v, size_t n, size_t max)
{
	bool present[129] = { false };
	struct pair *p;
	size_t out = 0;
	int nl = 0;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++)
		if (k[i].prefixlen > 128 || !v[i].cluster_id)
			return -EINVAL;
	p = malloc((n ? n : 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		__u32 m[4];

		mask6(k[i].prefixlen, m);
		memset(&p[i], 0, sizeof(p[i]));
		p[i].k.len = k[i].prefixlen;
		for (int w = 0; w < 4; w++)
			p[i].k.addr[w] = k[i].addr[w] & m[w];
		p[i].leaf = mg_pfx_leaf(&v[i]);
		p[i].order = i;
	}
	qsort(p, n, sizeof(*p), pair_cmp);
	/* Equal keys: the later (the last of the run) wins. */
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && !key_cmp(&p[i].k, &p[i + 1].k))
			continue;
		p[out++] = p[i];
	}
	if (out > max) {
		free(p);
		return -E2BIG;
	}
	for (size_t i = 0; i < out; i++)
		present[p[i].k.len] = true;
	for (int l = 128; l >= 0; l--) {
		if (!present[l])
			continue;
		if (nl == MG_PFX6_LENS) {
			free(p);
			return -E2BIG;
		}
		t->lens.l[nl].len = l;
		mask6(l, t->lens.l[nl].mask);
		nl++;
	}
	t->lens.n = nl;
	t->k = malloc((out ? out : 1) * sizeof(*t->k));
	t->leaf = malloc((out ? out : 1) * sizeof(*t->leaf));
	if (!t->k || !t->leaf) {
		free(p);
		mg_pfx6_free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < out; i++) {
		t->k[i] = p[i].k;
		t->leaf[i] = p[i].leaf;
	}
	t->n = out;
	free(p);
	shared_bits(t);
	t->lens.k = region_bits(t->n, t->lens.c);
	if (paint_regions(t)) {
		mg_pfx6_free(t);
		return -ENOMEM;
	}
	return 0;
}

__u16 mg_pfx6_find(const struct mg_pfx6 *t, const __u32 addr[4])
{
	__u32 bm = 0xffff;

	for (int w = 0; w < 4; w++)
		if ((addr[w] & t->lens.bmask[w]) != t->lens.base[w])
			return 0;
	if (t->lens.k) {
		__u32 r = bits_at(addr, t->lens.c, t->lens.k);

		bm = t->rgn[r >> 8].s[r & 0xff];
	}
	for (__u32 i = 0; i < t->lens.n; i++) {
		const struct mg_pfx6_len *l = &t->lens.l[i];
		struct mg_pfx6_key q = { .len = l->len };
		const struct mg_pfx6_key *hit;

		if (!(bm & 1u << i))
			continue;
		for (int w = 0; w < 4; w++)
			q.addr[w] = addr[w] & l->mask[w];
		hit = bsearch(&q, t->k, t->n, sizeof(*t->k), key_cmp);
		if (hit)
			return (__u16)t->leaf[hit - t->k];
	}
	return 0;
}

size_t mg_pfx6_bytes(const struct mg_pfx6 *t)
{
	size_t n = t->n ? t->n : 1, buckets = 1;
	size_t elem = 48 + ((sizeof(struct mg_pfx6_key) + 7) & ~7ul) + 8;

	while (buckets < n)
		buckets *= 2;
	return n * elem + buckets * 16 + sizeof(struct mg_pfx6_lens) +
	       t->n_rgn * sizeof(*t->rgn);
}

void mg_pfx6_free(struct mg_pfx6 *t)
{
	free(t->k);
	free(t->leaf);
	free(t->rgn);
	memset(t, 0, sizeof(*t));
}

/* A hash map of t's prefixes, made aside; its fd or -errno. */
static int hash_map(const struct mg_pfx6 *t)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int fd, rc = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "mg_pfx6_h",
			    sizeof(struct mg_pfx6_key), sizeof(__u32),
			    t->n ? t->n : 1, NULL);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < t->n && !rc; i += 4096) {
		__u32 cnt = t->n - i < 4096 ? t->n - i : 4096;

		if (bpf_map_update_batch(fd, t->k + i, t->leaf + i, &cnt, &bo))
			rc = -errno;
	}
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The regions' array of chunks, made aside; its fd or -errno. */
static int region_map(const struct mg_pfx6 *t)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u32 keys[1024];
	int fd, rc = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mg_pfx6_rgn", sizeof(__u32),
			    sizeof(*t->rgn), t->n_rgn, &o);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < t->n_rgn && !rc; i += 1024) {
		__u32 cnt = t->n_rgn - i < 1024 ? t->n_rgn - i : 1024;

		for (__u32 j = 0; j < cnt; j++)
			keys[j] = i + j;
		if (bpf_map_update_batch(fd, keys, t->rgn + i, &cnt, &bo))
			rc = -errno;
	}
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

static void drop_gen(const struct mg_pfx6_maps *m, __u32 g)
{
	bpf_map_delete_elem(m->h, &g);
	bpf_map_delete_elem(m->rgn, &g);
}

int mg_pfx6_publish(const struct mg_pfx6_maps *m, const struct mg_pfx6 *t)
{
	struct mg_pfx_gen gen = { 0 };
	__u32 zero = 0, g, other;
	int fd, fr, rc;

	if (!m->gen || !m->ans || !m->h || !m->lens || !m->rgn || !t->rgn)
		return -ENOENT;
	rc = mg_pfx_write_answers(m->ans);
	if (rc)
		return rc;
	if (bpf_map_lookup_elem(m->gen, &zero, &gen))
		return -errno;
	g = gen.active == 1 ? 1 : 0; /* the inactive generation */
	other = !g;
	/* Nobody reads generation g: its lengths first, then its maps. */
	if (bpf_map_update_elem(m->lens, &g, &t->lens, BPF_ANY))
		return -errno;
	fd = hash_map(t);
	if (fd < 0)
		return fd;
	fr = region_map(t);
	if (fr < 0) {
		close(fd);
		return fr;
	}
	rc = bpf_map_update_elem(m->h, &g, &fd, BPF_ANY) ||
			     bpf_map_update_elem(m->rgn, &g, &fr, BPF_ANY) ?
		     -errno :
		     0;
	close(fd); /* the outer maps hold them */
	close(fr);
	if (rc) {
		drop_gen(m, g);
		return rc;
	}
	gen.active = 1 + g;
	if (bpf_map_update_elem(m->gen, &zero, &gen, BPF_ANY)) {
		rc = -errno;
		drop_gen(m, g);
		return rc;
	}
	drop_gen(m, other);
	return 0;
}

int mg_pfx6_disable(const struct mg_pfx6_maps *m)
{
	struct mg_pfx_gen gen = { 0 };
	__u32 zero = 0;

	if (!m->gen)
		return 0;
	if (bpf_map_update_elem(m->gen, &zero, &gen, BPF_ANY))
		return -errno;
	if (m->h && m->rgn)
		for (__u32 g = 0; g < MG_PFX_GENS; g++)
			drop_gen(m, g);
	return 0;
}

/* FNV-1a over what the table answers: the prefixes and their leaves. */
static unsigned long long set_hash(const struct mg_ep6_key *k,
				   const struct mg_ep_val *v, size_t n)
{
	unsigned long long h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		__u32 w[6] = {
			k[i].prefixlen, k[i].addr[0], k[i].addr[1],
			k[i].addr[2],	k[i].addr[3], mg_pfx_leaf(&v[i])
		};
		const unsigned char *b = (const unsigned char *)w;

		for (size_t j = 0; j < sizeof(w); j++)
			h = (h ^ b[j]) * 0x100000001b3ull;
	}
	return h ^ n;
}

void mg_pfx6_sync(struct mg_pfx6_state *s, bool on, const struct mg_ep6_key *k,
		  const struct mg_ep_val *v, size_t n, unsigned int *failed)
{
	unsigned long long h;
	struct mg_pfx6 t;
	int rc;

	if (!s->maps.gen)
		return;
	if (!on) {
		if (s->state != MG_PFX6_OFF) {
			if (mg_pfx6_disable(&s->maps))
				(*failed)++;
			else
				s->state = MG_PFX6_OFF;
			s->bytes = 0;
		}
		return;
	}
	h = set_hash(k, v, n);
	if (s->state == MG_PFX6_ON && h == s->hash)
		return;
	rc = mg_pfx6_build(&t, k, v, n, s->max ? s->max : (size_t)-1);
	if (!rc) {
		rc = mg_pfx6_publish(&s->maps, &t);
		if (!rc)
			s->bytes = mg_pfx6_bytes(&t);
		mg_pfx6_free(&t);
	}
	if (rc) {
		(*failed)++;
		if (s->state != MG_PFX6_FAILED || s->hash != h)
			pr_warn("IPv6 prefix table of %zu prefixes: %s%s; the "
				"datapath uses the mg_ep6 trie",
				n, strerror(-rc),
				rc == -E2BIG ?
					" (more prefixes than mg_ep6 "
					"holds, or more lengths than " MG_STR(
						MG_PFX6_LENS) ")" :
					"");
		mg_pfx6_disable(&s->maps);
		s->state = MG_PFX6_FAILED;
		s->hash = h;
		s->bytes = 0;
		return;
	}
	s->state = MG_PFX6_ON;
	s->hash = h;
}
