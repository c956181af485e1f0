// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "dpmaps.h"
#include "lib/log.h"

void mg_view_from_config(struct mg_view *v, struct mg_view_gw *gw_buf,
			 const struct mg_config *cfg)
{
	memset(v, 0, sizeof(*v));
	v->cluster_id = cfg->cluster_id;
	v->n_local = cfg->n_cidrs;
	v->local = cfg->cidrs;
	for (int i = 0; i < cfg->n_peers; i++) {
		const struct mg_cfg_peer *p = &cfg->peers[i];
		struct mg_view_gw *g = &gw_buf[i];

		memset(g, 0, sizeof(*g));
		snprintf(g->name, sizeof(g->name), "%s", p->name);
		g->cluster_id = p->cluster_id;
		g->alive = true;
		g->tunnel = p->tunnel;
		g->n_prefixes = p->n_cidrs;
		g->prefixes = p->cidrs;
	}
	v->n_gw = cfg->n_peers;
	v->gw = gw_buf;
}

static int key_cmp_size;

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, key_cmp_size);
}

int mg_map_reconcile(int fd, const char *name, size_t key_size,
		     size_t val_size, const void *keys, const void *vals,
		     size_t n, struct mg_sync_stats *st)
{
	char *sorted = NULL, *stale = NULL, *cur = NULL, *next = NULL;
	char *old = NULL;
	size_t n_stale = 0, cap_stale = 64;
	int err = 0, rc;
	void *prev;

	old = malloc(val_size);
	cur = malloc(key_size);
	next = malloc(key_size);
	stale = malloc(cap_stale * key_size);
	sorted = malloc((n ? n : 1) * key_size);
	if (!old || !cur || !next || !stale || !sorted) {
		err = -ENOMEM;
		goto out;
	}

	for (size_t i = 0; i < n; i++) {
		const void *k = (const char *)keys + i * key_size;
		const void *val = (const char *)vals + i * val_size;

		/* Unchanged entries are not rewritten. */
		if (!bpf_map_lookup_elem(fd, k, old) &&
		    !memcmp(old, val, val_size))
			continue;
		if (bpf_map_update_elem(fd, k, val, BPF_ANY)) {
			rc = -errno;
			if (st)
				st->failed++;
			if (!err) {
				err = rc;
				pr_err("map %s: update failed: %s%s", name,
				       strerror(-rc),
				       rc == -E2BIG || rc == -ENOSPC ?
				       " (map full: raise its limit in include/meshgate/limits.h)" : "");
			}
			continue;
		}
		if (st)
			st->written++;
	}

	/* Collect the keys that are not wanted, then delete them. */
	memcpy(sorted, keys, n * key_size);
	key_cmp_size = key_size;
	qsort(sorted, n, key_size, key_cmp);
	prev = NULL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (!bsearch(next, sorted, n, key_size, key_cmp)) {
			if (n_stale == cap_stale) {
				char *s = realloc(stale, 2 * cap_stale * key_size);

				if (!s) {
					err = -ENOMEM;
					goto out;
				}
				stale = s;
				cap_stale *= 2;
			}
			memcpy(stale + n_stale++ * key_size, next, key_size);
		}
		memcpy(cur, next, key_size);
		prev = cur;
	}
	for (size_t i = 0; i < n_stale; i++) {
		if (bpf_map_delete_elem(fd, stale + i * key_size) &&
		    errno != ENOENT) {
			if (st)
				st->failed++;
			if (!err)
				err = -errno;
			continue;
		}
		if (st)
			st->deleted++;
	}
out:
	free(sorted);
	free(stale);
	free(next);
	free(cur);
	free(old);
	return err;
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

static void ep4_key(struct mg_ep4_key *k, const struct mg_prefix *p)
{
	k->prefixlen = p->len;
	k->addr = p->addr.addr[0];
}

struct ep4_pair {
	struct mg_ep4_key k;
	struct mg_ep_val v;
	size_t order;
};

static int ep4_pair_cmp(const void *a, const void *b)
{
	const struct ep4_pair *x = a, *y = b;
	int c = memcmp(&x->k, &y->k, sizeof(x->k));

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Siblings of one cluster advertise the same prefixes, and the first writer
 * (local before remote) wins a prefix claimed twice.  Sorts in place and
 * returns the count left.
 */
static size_t dedup_ep4(struct mg_ep4_key *k, struct mg_ep_val *v, size_t n)
{
	struct ep4_pair *pairs = calloc(n ? n : 1, sizeof(*pairs));
	size_t out = 0;

	if (!pairs)
		return n;
	for (size_t i = 0; i < n; i++)
		pairs[i] = (struct ep4_pair){ k[i], v[i], i };
	qsort(pairs, n, sizeof(*pairs), ep4_pair_cmp);
	for (size_t i = 0; i < n; i++) {
		if (out && !memcmp(&pairs[i].k, &k[out - 1], sizeof(*k)))
			continue;
		k[out] = pairs[i].k;
		v[out] = pairs[i].v;
		out++;
	}
	free(pairs);
	return out;
}

int mg_dpmaps_sync(const struct mg_dpmaps *m, const struct mg_view *v,
		   struct mg_sync_stats *st)
{
	size_t n_ep = v->n_local, n_cl = 0, n_peer = 0;
	struct mg_ep4_key *ep_k = NULL;
	struct mg_ep_val *ep_v = NULL;
	struct mg_cluster_val *cl_v = NULL;
	struct mg_peer_val *peer_v = NULL;
	__u32 *cl_k = NULL, *peer_k = NULL;
	bool seen[MG_MAX_CLUSTERS] = { false };
	int err, rc;

	for (int g = 0; g < v->n_gw; g++)
		n_ep += v->gw[g].n_prefixes;
	ep_k = calloc(n_ep + 1, sizeof(*ep_k));
	ep_v = calloc(n_ep + 1, sizeof(*ep_v));
	cl_k = calloc(MG_MAX_CLUSTERS, sizeof(*cl_k));
	cl_v = calloc(MG_MAX_CLUSTERS, sizeof(*cl_v));
	peer_k = calloc(v->n_gw + 1, sizeof(*peer_k));
	peer_v = calloc(v->n_gw + 1, sizeof(*peer_v));
	if (!ep_k || !ep_v || !cl_k || !cl_v || !peer_k || !peer_v) {
		err = -ENOMEM;
		goto out;
	}

	n_ep = 0;
	for (int l = 0; l < v->n_local; l++) {
		if (v->local[l].addr.family != MG_AF_INET)
			continue;
		ep4_key(&ep_k[n_ep], &v->local[l]);
		ep_v[n_ep].cluster_id = v->cluster_id;
		ep_v[n_ep].flags = MG_EP_F_LOCAL;
		n_ep++;
	}
	for (int g = 0; g < v->n_gw; g++) {
		const struct mg_view_gw *gw = &v->gw[g];

		/*
		 * A dead gateway's prefixes stay while a sibling of its
		 * cluster lives; mg_clus decides where they go.
		 */
		for (int p = 0; p < gw->n_prefixes; p++) {
			if (gw->prefixes[p].addr.family != MG_AF_INET)
				continue;
			ep4_key(&ep_k[n_ep], &gw->prefixes[p]);
			ep_v[n_ep].cluster_id = gw->cluster_id;
			ep_v[n_ep].version = gw->version;
			n_ep++;
		}
		if (gw->alive && gw->tunnel.family == MG_AF_INET) {
			peer_k[n_peer] = gw->tunnel.addr[0];
			peer_v[n_peer].cluster_id = gw->cluster_id;
			n_peer++;
		}
		if (!seen[gw->cluster_id]) {
			seen[gw->cluster_id] = true;
			cl_k[n_cl] = gw->cluster_id;
			mg_cluster_build(v, gw->cluster_id, &cl_v[n_cl]);
			n_cl++;
		}
	}

	n_ep = dedup_ep4(ep_k, ep_v, n_ep);

	/* Clusters first: a new prefix must find its gateways in place. */
	err = mg_map_reconcile(m->clus, "mg_clus", sizeof(*cl_k), sizeof(*cl_v),
			       cl_k, cl_v, n_cl, st);
	rc = mg_map_reconcile(m->peer4, "mg_peer4", sizeof(*peer_k),
			      sizeof(*peer_v), peer_k, peer_v, n_peer, st);
	err = err ? err : rc;
	rc = mg_map_reconcile(m->ep4, "mg_ep4", sizeof(*ep_k), sizeof(*ep_v),
			      ep_k, ep_v, n_ep, st);
	err = err ? err : rc;
out:
	free(ep_k);
	free(ep_v);
	free(cl_k);
	free(cl_v);
	free(peer_k);
	free(peer_v);
	return err;
}
