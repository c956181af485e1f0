// SPDX-License-Identifier: GPL-2.0-only
/*
 * Our own endpoints: [cluster] cidr, the CLI's, kernel routes, merged and
 * gossiped.
 */
#include "mesh/mesh_int.h"

/* --- local endpoints ------------------------------------------------------ */

bool mesh_prefix_in(const struct mg_prefix *set, int n,
		    const struct mg_prefix *p)
{
	for (int i = 0; i < n; i++)
		if (mg_prefix_equal(&set[i], p))
			return true;
	return false;
}

int mesh_prefix_cmp(const void *a, const void *b)
{
	const struct mg_prefix *x = a, *y = b;
	int c = (int)x->addr.family - (int)y->addr.family;

	if (c)
		return c;
	c = memcmp(x->addr.addr, y->addr.addr, sizeof(x->addr.addr));
	return c ? c : (int)x->len - (int)y->len;
}

/*
 * The union of config, CLI and route endpoints becomes our origin's state.
 * Sorted, so that a hundred thousand routes cost n log n, not n squared.
 */
void mesh_sync_local(struct mg_mesh *mesh)
{
	const struct mg_config *cfg = mesh->cfg;
	int cap = cfg->n_cidrs + mesh->n_cli_eps + mesh->n_route_eps, n = 0;
	struct mg_prefix *u = calloc(cap ? cap : 1, sizeof(*u));
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_entry e;
	struct mg_state_val val = { 0 };
	const struct mg_prefix *src[3] = { cfg->cidrs, mesh->cli_eps,
					   mesh->route_eps };
	int cnt[3] = { cfg->n_cidrs, mesh->n_cli_eps, mesh->n_route_eps };
	struct mg_prefix *stale = NULL;
	int n_stale = 0, cap_stale = 0, k = 0;

	if (!u)
		return;
	for (int sidx = 0; sidx < 3; sidx++)
		for (int i = 0; i < cnt[sidx]; i++) {
			u[n] = src[sidx][i];
			/* Zero what prefix_cmp compares beyond the family. */
			if (u[n].addr.family == MG_AF_INET)
				memset(&u[n].addr.addr[1], 0, 12);
			n++;
		}
	qsort(u, n, sizeof(*u), mesh_prefix_cmp);
	for (int i = 0; i < n; i++)
		if (!k || mesh_prefix_cmp(&u[k - 1], &u[i]))
			u[k++] = u[i];
	n = k;
	for (int i = 0; i < n; i++) {
		struct mg_state_key key = { .kind = MG_STATE_ENDPOINT,
					    .ep = u[i] };
		int err = mg_state_set_local(mesh->st, &key, &val);

		if (err)
			pr_warn("endpoint %d of our own: %s", i, strerror(-err));
	}
	while (mg_state_iter_next(mesh->st, &it, &e)) {
		if (e.origin != 0 || e.key.kind != MG_STATE_ENDPOINT ||
		    bsearch(&e.key.ep, u, n, sizeof(*u), mesh_prefix_cmp))
			continue;
		if (n_stale == cap_stale) {
			struct mg_prefix *b;

			cap_stale = cap_stale ? 2 * cap_stale : 16;
			b = realloc(stale, cap_stale * sizeof(*b));
			if (!b)
				break;
			stale = b;
		}
		stale[n_stale++] = e.key.ep;
	}
	for (int i = 0; i < n_stale; i++) {
		struct mg_state_key key = { .kind = MG_STATE_ENDPOINT,
					    .ep = stale[i] };

		mg_state_del_local(mesh->st, &key);
	}
	free(stale);
	free(mesh->local);
	mesh->local = u;
	mesh->n_local = n;
	mesh_changed(mesh);
}

void mg_mesh_set_route_endpoints(struct mg_mesh *mesh,
				 const struct mg_prefix *p, int n)
{
	struct mg_prefix *copy = NULL;

	if (n) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return;
		for (int i = 0; i < n; i++) {
			copy[i] = p[i];
			if (copy[i].addr.family == MG_AF_INET)
				memset(&copy[i].addr.addr[1], 0, 12);
		}
		/* Sorted: compared as a whole, searched by `endpoints list`. */
		qsort(copy, n, sizeof(*copy), mesh_prefix_cmp);
	}
	if (n == mesh->n_route_eps &&
	    (!n || !memcmp(copy, mesh->route_eps, n * sizeof(*copy)))) {
		free(copy);
		return;
	}
	free(mesh->route_eps);
	mesh->route_eps = copy;
	mesh->n_route_eps = n;
	pr_info("%d endpoints from kernel routes", n);
	mesh_sync_local(mesh);
}

void mg_mesh_reload_local(struct mg_mesh *mesh)
{
	mesh_sync_local(mesh);
}

static int count_key(void *ctx, const char *line, int lineno)
{
	return mg_keyring_add_b64(ctx, line, false) ? -EINVAL : 0;
}

int mg_mesh_reload_keys(struct mg_mesh *mesh)
{
	const struct mg_config *cfg = mesh->cfg;
	struct mg_keyring kr;
	int err;

	mg_keyring_clear(&kr);
	/* As at start: the keyring file, once written by `keys`, outranks. */
	if (mesh_read_lines(mesh->keys_path, count_key, &kr) > 0) {
		err = 1;
		goto out;
	}
	mg_keyring_clear(&kr);
	for (int i = 0; i < cfg->n_keys; i++) {
		err = mg_keyring_add_b64(&kr, cfg->keys[i], i == 0);
		if (err)
			goto out;
	}
	err = mesh->member ? mg_member_set_keyring(mesh->member, &kr) : 0;
	if (!err)
		mesh->kr = kr;
out:
	mg_keyring_clear(&kr);
	return err;
}
