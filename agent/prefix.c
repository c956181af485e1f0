// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IPv4 prefix table: compiled from mg_ep4's entries, shortest prefixes
 * painted first so that a longer one overwrites only its own range, and
 * published as a new generation of the datapath's level maps.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "prefix.h"

static int grow(void *pp, size_t *cap, size_t need, size_t max, size_t sz)
{
	size_t ncap = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > max)
		return -E2BIG;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max)
		ncap = max;
	p = realloc(*(void **)pp, ncap * sz);
	if (!p)
		return -ENOMEM;
	*(void **)pp = p;
	*cap = ncap;
	return 0;
}

/* The level-2 chunk of /16 h, made (holding its leaf) if it is not there. */
static int l2_of(struct mg_pfx4 *t, __u32 h, __u32 *idx)
{
	__u32 *s = &t->l1[h >> 8].s[h & 0xff];
	int rc;

	if (*s & MG_PFX_L1_PTR) {
		*idx = *s & ~MG_PFX_L1_PTR;
		return 0;
	}
	rc = grow(&t->l2, &t->cap_l2, t->n_l2 + 1, MG_PFX_L2_MAX,
		  sizeof(*t->l2));
	if (rc)
		return rc;
	*idx = t->n_l2++;
	for (int i = 0; i < 256; i++)
		t->l2[*idx].s[i] = (__u16)*s;
	*s = MG_PFX_L1_PTR | *idx;
	return 0;
}

/* The level-3 chunk of /24 (h, b), made as l2_of(). */
static int l3_of(struct mg_pfx4 *t, __u32 h, __u32 b, __u32 *idx)
{
	__u32 i2;
	__u16 *s;
	int rc = l2_of(t, h, &i2);

	if (rc)
		return rc;
	s = &t->l2[i2].s[b];
	if (*s >= MG_PFX_L2_PTR) {
		*idx = *s - MG_PFX_L2_PTR;
		return 0;
	}
	rc = grow(&t->l3, &t->cap_l3, t->n_l3 + 1, MG_PFX_L3_MAX,
		  sizeof(*t->l3));
	if (rc)
		return rc;
	*idx = t->n_l3++;
	for (int i = 0; i < 256; i++)
		t->l3[*idx].s[i] = *s;
	*s = MG_PFX_L2_PTR + *idx;
	return 0;
}

static int paint(struct mg_pfx4 *t, __u32 a, __u32 len, __u16 leaf)
{
	__u32 idx, n, first;
	int rc;

	if (len <= 16) {
		first = a >> 16;
		n = 1u << (16 - len);
		for (__u32 h = first; h < first + n; h++) {
			__u32 *s = &t->l1[h >> 8].s[h & 0xff];

			/* Chunks under it were made by longer prefixes,
			 * painted later: none yet. */
			*s = leaf;
		}
		return 0;
	}
	if (len <= 24) {
		rc = l2_of(t, a >> 16, &idx);
		if (rc)
			return rc;
		first = (a >> 8) & 0xff;
		n = 1u << (24 - len);
		for (__u32 b = first; b < first + n; b++)
			t->l2[idx].s[b] = leaf;
		return 0;
	}
	rc = l3_of(t, a >> 16, (a >> 8) & 0xff, &idx);
	if (rc)
		return rc;
	first = a & 0xff;
	n = 1u << (32 - len);
	for (__u32 b = first; b < first + n; b++)
		t->l3[idx].s[b] = leaf;
	return 0;
}

int mg_pfx4_build_stride(struct mg_pfx4 *t, const struct mg_ep4_key *k,
			 const struct mg_ep_val *v, size_t stride, size_t n)
{
#define K(i) ((const struct mg_ep4_key *)((const char *)k + (i)*stride))
#define V(i) ((const struct mg_ep_val *)((const char *)v + (i)*stride))
	size_t count[34] = { 0 };
	__u32 *order;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (n > UINT32_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		if (K(i)->prefixlen > 32 || !V(i)->cluster_id)
			return -EINVAL;
		count[K(i)->prefixlen + 1]++;
	}
	/* By length, shortest first, stable: a counting sort. */
	for (int l = 1; l < 34; l++)
		count[l] += count[l - 1];
	order = malloc((n ? n : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[count[K(i)->prefixlen]++] = (__u32)i;
	for (size_t j = 0; j < n && !rc; j++) {
		const struct mg_ep4_key *e = K(order[j]);
		__u32 len = e->prefixlen;
		__u32 a = len ? ntohl(e->addr) & ~0u << (32 - len) : 0;

		rc = paint(t, a, len, mg_pfx_leaf(V(order[j])));
	}
	free(order);
	if (rc)
		mg_pfx4_free(t);
	return rc;
#undef K
#undef V
}

/* Two arrays walked with one stride: keys and values are equal in size. */
_Static_assert(sizeof(struct mg_ep4_key) == sizeof(struct mg_ep_val),
	       "one stride for both arrays");

int mg_pfx4_build(struct mg_pfx4 *t, const struct mg_ep4_key *k,
		  const struct mg_ep_val *v, size_t n)
{
	return mg_pfx4_build_stride(t, k, v, sizeof(*k), n);
}

__u16 mg_pfx4_find(const struct mg_pfx4 *t, __u32 addr)
{
	__u32 h = ntohl(addr), s1 = t->l1[h >> 24].s[(h >> 16) & 0xff];
	__u16 s2;

	if (!(s1 & MG_PFX_L1_PTR))
		return (__u16)s1;
	s2 = t->l2[s1 & ~MG_PFX_L1_PTR].s[(h >> 8) & 0xff];
	if (s2 < MG_PFX_L2_PTR)
		return s2;
	return t->l3[s2 - MG_PFX_L2_PTR].s[h & 0xff];
}

size_t mg_pfx4_bytes(const struct mg_pfx4 *t)
{
	return sizeof(t->l1) + (t->n_l2 + t->n_l3) * sizeof(*t->l2);
}

void mg_pfx4_free(struct mg_pfx4 *t)
{
	free(t->l2);
	free(t->l3);
	memset(t, 0, sizeof(*t));
}

/* An array map of n chunks (at least one) holding chunks[0..n). */
static int level_map(const char *name, const void *chunks, size_t n, size_t sz,
		     __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u32 keys[1024];
	int fd, rc = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), sz,
			    n ? n : 1, &o);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n && !rc; i += 1024) {
		__u32 cnt = n - i < 1024 ? n - i : 1024;

		for (__u32 j = 0; j < cnt; j++)
			keys[j] = i + j;
		if (bpf_map_update_batch(
			    fd, keys, (const char *)chunks + i * sz, &cnt, &bo))
			rc = -errno;
	}
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

static void drop_gen(const struct mg_pfx_maps *m, __u32 g)
{
	bpf_map_delete_elem(m->l1, &g);
	bpf_map_delete_elem(m->l2, &g);
	bpf_map_delete_elem(m->l3, &g);
}

int mg_pfx_write_answers(int fd)
{
	struct mg_ep_val v[MG_PFX_ANSWERS];
	__u32 keys[MG_PFX_ANSWERS], cnt = MG_PFX_ANSWERS;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	memset(v, 0, sizeof(v));
	for (__u32 i = 0; i < MG_PFX_ANSWERS; i++) {
		keys[i] = i;
		v[i].cluster_id = i & 0xff;
		v[i].flags = (i & MG_PFX_LEAF_LOCAL) ? MG_EP_F_LOCAL : 0;
	}
	return bpf_map_update_batch(fd, keys, v, &cnt, &bo) ? -errno : 0;
}

int mg_pfx4_publish(const struct mg_pfx_maps *m, const struct mg_pfx4 *t)
{
	struct mg_pfx_gen gen = { 0 };
	__u32 zero = 0, g;
	int fd[3] = { -1, -1, -1 }, rc;

	if (!m->gen || !m->l1 || !m->l2 || !m->l3 || !m->ans)
		return -ENOENT;
	rc = mg_pfx_write_answers(m->ans);
	if (rc)
		return rc;
	if (bpf_map_lookup_elem(m->gen, &zero, &gen))
		return -errno;
	g = gen.active == 1 ? 1 : 0; /* the inactive generation */
	fd[0] = level_map("mg_pfx4_l1g", t->l1, 256, sizeof(t->l1[0]), 0);
	fd[1] = level_map("mg_pfx4_l2g", t->l2, t->n_l2, sizeof(*t->l2),
			  BPF_F_INNER_MAP);
	fd[2] = level_map("mg_pfx4_l3g", t->l3, t->n_l3, sizeof(*t->l3),
			  BPF_F_INNER_MAP);
	rc = fd[0] < 0 ? fd[0] : fd[1] < 0 ? fd[1] : fd[2] < 0 ? fd[2] : 0;
	if (!rc && (bpf_map_update_elem(m->l1, &g, &fd[0], BPF_ANY) ||
		    bpf_map_update_elem(m->l2, &g, &fd[1], BPF_ANY) ||
		    bpf_map_update_elem(m->l3, &g, &fd[2], BPF_ANY)))
		rc = -errno;
	for (int i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]); /* the outer maps hold them */
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
	drop_gen(m, !g);
	return 0;
}

int mg_pfx4_disable(const struct mg_pfx_maps *m)
{
	struct mg_pfx_gen gen = { 0 };
	__u32 zero = 0;

	if (!m->gen)
		return 0;
	if (bpf_map_update_elem(m->gen, &zero, &gen, BPF_ANY))
		return -errno;
	if (m->l1 && m->l2 && m->l3) {
		drop_gen(m, 0);
		drop_gen(m, 1);
	}
	return 0;
}
