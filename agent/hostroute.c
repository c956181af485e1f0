// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host egress: the host device, its TC program, and the routes into it
 * (see hostroute.h).  The routes wanted are recomputed from the view on
 * every sync, sorted, and merged against the sorted routes installed, so
 * a sync costs what changed (plus the sort).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/libbpf.h>
#include "hostroute.h"
#include "lib/log.h"
#include "tc.skel.h"

struct mg_hostroute {
	struct mg_nl *nl;
	char dev[IF_NAMESIZE];
	unsigned int mtu;
	int ifindex;
	struct mg_addr src4, src6;
	struct mg_prefix *have;		/* installed, sorted */
	size_t n_have, cap;		/* cap: while an earlier run's are read */
	unsigned int refused;		/* prefixes someone else routes */
	bool refused_logged;
};

static int pfx_cmp(const void *pa, const void *pb)
{
	const struct mg_prefix *a = pa, *b = pb;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->addr.addr, b->addr.addr, sizeof(a->addr.addr));
}

static void on_old_route(const struct mg_prefix *pfx, void *arg)
{
	struct mg_hostroute *h = arg;
	struct mg_prefix *p;

	if (h->n_have == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 256;

		p = realloc(h->have, cap * sizeof(*p));
		if (!p)
			return;	/* forgotten: the next run finds it again */
		h->have = p;
		h->cap = cap;
	}
	h->have[h->n_have++] = *pfx;
}

/* The TC program pinned as <pin_dir>/tc_<dev>: `meshgate down` finds dev. */
static void pin_prog(struct mg_dp *dp, const char *dev)
{
	char path[PATH_MAX];
	int n;

	if (!dp->pin_dir[0])
		return;
	n = snprintf(path, sizeof(path), "%s/tc_%s", dp->pin_dir, dev);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	unlink(path);
	if (bpf_program__pin(dp->tc->progs.mg_tc_egress, path))
		pr_warn("cannot pin %s: %s", path, strerror(errno));
}

int mg_hostroute_open(struct mg_nl *nl, struct mg_dp *dp, const char *dev,
		      unsigned int mtu, const struct mg_addr *src4,
		      const struct mg_addr *src6, struct mg_hostroute **out)
{
	struct mg_hostroute *h;
	int err, idx;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->nl = nl;
	if (src4)
		h->src4 = *src4;
	if (src6)
		h->src6 = *src6;
	idx = mg_nl_host_dev(nl, dev, mtu);
	if (idx < 0) {
		pr_err("host device %s: %s", dev, strerror(-idx));
		free(h);
		return idx;
	}
	h->ifindex = idx;
	snprintf(h->dev, sizeof(h->dev), "%s", dev);
	h->mtu = mtu;
	err = mg_dp_attach_tc(dp, idx);
	if (err) {
		free(h);
		return err;
	}
	pin_prog(dp, dev);
	err = mg_nl_routes(nl, 0, MG_NL_RTPROT, on_old_route, h);
	if (err < 0)
		pr_warn("routes of an earlier run: %s", strerror(-err));
	if (h->n_have)	/* qsort(NULL, 0) is undefined */
		qsort(h->have, h->n_have, sizeof(*h->have), pfx_cmp);
	pr_info("%s: host egress attached (MTU %u), %zu routes from an "
		"earlier run", dev, mtu, h->n_have);
	*out = h;
	return 0;
}

void mg_hostroute_free(struct mg_hostroute *h)
{
	if (!h)
		return;
	free(h->have);
	free(h);
}

static int route_set(struct mg_hostroute *h, bool add,
		     const struct mg_prefix *p)
{
	const struct mg_addr *src = p->addr.family == MG_AF_INET ? &h->src4 :
								   &h->src6;
	char buf[MG_PREFIXSTRLEN];
	int err;

	err = mg_nl_route(h->nl, add, p, h->ifindex, src->family ? src : NULL);
	if (add && err == -EEXIST) {
		h->refused++;
		if (!h->refused_logged)
			pr_warn("host route to %s: another route is there, "
				"left to it (the host's own traffic there "
				"does not take the mesh)",
				mg_prefix_str(p, buf, sizeof(buf)));
		h->refused_logged = true;
	} else if (err && !(err == -ESRCH && !add)) {
		pr_warn("host route to %s: %s %s",
			mg_prefix_str(p, buf, sizeof(buf)),
			add ? "cannot add:" : "cannot delete:", strerror(-err));
	}
	return err == -ESRCH && !add ? 0 : err;
}

static int want_build(const struct mg_view *v, const struct mg_addr *vips,
		      int n_vips, struct mg_prefix **out, size_t *n_out)
{
	struct mg_prefix *w;
	size_t n = n_vips, k = 0;

	for (int i = 0; i < v->n_gw; i++)
		n += v->gw[i].n_prefixes;
	w = malloc((n ? n : 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (int i = 0; i < v->n_gw; i++)
		for (int j = 0; j < v->gw[i].n_prefixes; j++)
			w[k++] = v->gw[i].prefixes[j];
	for (int i = 0; i < n_vips; i++) {
		memset(&w[k], 0, sizeof(w[k]));
		w[k].addr = vips[i];
		w[k++].len = vips[i].family == MG_AF_INET ? 32 : 128;
	}
	if (k)
		qsort(w, k, sizeof(*w), pfx_cmp);
	/* Gateways of one cluster advertise the same prefixes: once each. */
	n = 0;
	for (size_t i = 0; i < k; i++)
		if (!n || pfx_cmp(&w[n - 1], &w[i]))
			w[n++] = w[i];
	*out = w;
	*n_out = n;
	return 0;
}

int mg_hostroute_sync(struct mg_hostroute *h, const struct mg_view *v,
		      const struct mg_addr *vips, int n_vips, bool keep)
{
	struct mg_prefix *want, *now;
	size_t n_want, i = 0, j = 0, n_now = 0;
	int err, c;

	err = want_build(v, vips, n_vips, &want, &n_want);
	if (err)
		return err;
	now = malloc((n_want + h->n_have + 1) * sizeof(*now));
	if (!now) {
		free(want);
		return -ENOMEM;
	}
	h->refused = 0;
	while (i < n_want || j < h->n_have) {
		c = i == n_want ? 1 : j == h->n_have ? -1 :
		    pfx_cmp(&want[i], &h->have[j]);
		if (c < 0) {			/* new */
			if (!route_set(h, true, &want[i]))
				now[n_now++] = want[i];
			i++;
		} else if (c > 0) {		/* gone */
			if (keep || route_set(h, false, &h->have[j]))
				now[n_now++] = h->have[j];
			j++;
		} else {
			now[n_now++] = want[i];
			i++, j++;
		}
	}
	/* The merge kept the order, except for routes kept while gone. */
	if (n_now)
		qsort(now, n_now, sizeof(*now), pfx_cmp);
	free(want);
	free(h->have);
	h->have = now;
	h->n_have = n_now;
	return 0;
}

int mg_hostroute_mtu(struct mg_hostroute *h, unsigned int mtu)
{
	int idx;

	if (!h || !mtu || mtu == h->mtu)
		return 0;
	idx = mg_nl_host_dev(h->nl, h->dev, mtu);
	if (idx < 0) {
		pr_warn("%s: cannot set MTU %u: %s", h->dev, mtu,
			strerror(-idx));
		return idx;
	}
	pr_info("%s: MTU %u (the underlay's changed)", h->dev, mtu);
	h->mtu = mtu;
	return 0;
}

void mg_hostroute_counts(const struct mg_hostroute *h, unsigned int *routes,
			 unsigned int *refused)
{
	*routes = h ? h->n_have : 0;
	*refused = h ? h->refused : 0;
}

int mg_hostroute_remove(const char *pin_dir)
{
	struct dirent *de;
	struct mg_nl *nl;
	int idx, err = 0;
	DIR *d;

	d = opendir(pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	nl = mg_nl_open();
	if (!nl) {
		closedir(d);
		return -errno ? -errno : -ENOMEM;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "tc_", 3))
			continue;
		idx = mg_nl_ifindex(de->d_name + 3);
		if (idx > 0 && (idx = mg_nl_link_del(nl, idx)) && !err)
			err = idx;
	}
	mg_nl_close(nl);
	closedir(d);
	return err;
}
