// SPDX-License-Identifier: GPL-2.0-only
/*
 * `meshgate peers` and `meshgate endpoints`, through the control socket.
 */
#include "mesh/mesh_int.h"

/* --- commands (through the control socket) --------------------------------- */

static const char *row_state(const struct mg_mesh *mesh, const struct row *r);

/* `peers forget NAME`: a left or dead gateway and its entries, now. */
static int peers_forget(struct mg_cli *cli, struct mg_mesh *mesh,
			const char *name)
{
	struct mg_view view;
	int err = mg_mesh_view(mesh, &view);

	if (err) {
		fprintf(cli->err, "meshgate peers forget: %s\n", strerror(-err));
		return 1;
	}
	for (int i = 0; i < mesh->pol.n_rows; i++) {
		const struct row *r = &mesh->pol.rows[i];

		if (strcmp(r->name, name))
			continue;
		if (r->state != GW_DEAD && r->state != GW_LEFT) {
			fprintf(cli->err, "meshgate peers forget: %s is %s: only a left or dead gateway can be forgotten\n",
				name, row_state(mesh, r));
			return 1;
		}
		mesh_forget(mesh, name, "peers forget");
		out_text("forgot %s\n", name);
		out_finish();
		return 0;
	}
	fprintf(cli->err, "meshgate peers forget: no gateway %s (see meshgate peers)\n",
		name);
	return 1;
}

/*
 * A member's state as `serf members` shows it: memberlist's, and serf's
 * intents on top: alive but with a newer leave intent is "leaving", dead
 * after one is "left" (serf's force-leave of a failed member, too).
 * Then ours: draining (alive, withdrawn on request) and restarting (dead
 * to gossip after it told us it restarts).
 */
static const char *row_state(const struct mg_mesh *mesh, const struct row *r)
{
	uint64_t t;
	bool leaving;

	if (r->conflict)
		return "conflict";
	if (r->state != GW_STATIC && mesh->serf &&
	    !mg_serf_member(mesh->serf, r->name, &t, &leaving) && leaving) {
		if (r->state == GW_ALIVE || r->state == GW_SUSPECT)
			return "leaving";
		if (r->state == GW_DEAD)
			return "left";
	}
	if (r->draining && (r->state == GW_ALIVE || r->state == GW_SUSPECT))
		return "draining";
	if (r->restarting && r->state == GW_DEAD)
		return "restarting";
	return gw_state_names[r->state];
}

int mg_mesh_cmd_peers(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_mesh *mesh = cli->priv;
	struct mg_view view;
	char tun[MG_ADDRSTRLEN], rtt[32];
	int err;

	/* Destructive: the verb in full only. */
	if (argc == 3 && !strcmp(argv[1], "forget"))
		return peers_forget(cli, mesh, argv[2]);
	if (argc > 2 || (argc == 2 && !mg_matches(argv[1], "list"))) {
		fprintf(cli->err, "usage: meshgate peers [list]\n"
			"       meshgate peers forget NAME\n");
		return 2;
	}
	err = mg_mesh_view(mesh, &view);
	if (err) {
		fprintf(cli->err, "meshgate peers: %s\n", strerror(-err));
		return 1;
	}
	out_arr_open("peers");
	out_text("%-20s %-14s %-4s %-16s %-9s %5s %9s %6s\n", "name",
		 "cluster", "id", "tunnel", "state", "inc", "rtt", "eps");
	for (int i = 0; i < mesh->pol.n_rows; i++) {
		const struct row *r = &mesh->pol.rows[i];
		const char *state = row_state(mesh, r);

		if (r->rtt_us >= 0)
			snprintf(rtt, sizeof(rtt), "%.3fms", r->rtt_us / 1000.0);
		else
			snprintf(rtt, sizeof(rtt), "-");
		out_obj_open(NULL);
		out_str("name", "%-20s", r->name);
		out_str("cluster", " %-14s", r->gateway ? r->cluster : "-");
		out_u64("cluster_id", " %-4llu", r->cluster_id);
		out_str("tunnel_address", " %-16s",
			mg_addr_str(&r->tunnel, tun, sizeof(tun)));
		out_str("state", " %-9s", state);
		out_u64("incarnation", " %5llu", r->incarnation);
		if (out_is_json()) {
			if (r->rtt_us >= 0)
				out_u64("rtt_us", NULL, r->rtt_us);
		} else {
			out_text(" %9s", rtt);
		}
		out_u64("endpoints", " %6llu", r->n_prefixes);
		if (r->gateway && r->state != GW_STATIC) {
			int64_t us = mg_liveness_rtt_us(mesh->lv, &r->tunnel);

			out_str("datapath", NULL, mg_echo_state_name(r->echo));
			if (us >= 0)
				out_u64("datapath_rtt_us", NULL, us);
		}
		out_bool("meshgate", NULL, r->gateway);
		out_bool("sibling", NULL, r->sibling);
		if (r->conflict)
			out_str("conflict", "  refused: %s", r->conflict);
		else if (!r->gateway)
			out_text("  (not a meshgate gateway)");
		else if (r->sibling)
			out_text("  (our own cluster)");
		out_text("\n");
		out_obj_close();
	}
	out_arr_close();
	out_finish();
	return 0;
}

static const char *local_source(const struct mg_mesh *mesh,
				const struct mg_prefix *p)
{
	if (mesh_prefix_in(mesh->cfg->cidrs, mesh->cfg->n_cidrs, p))
		return "config";
	if (mesh_prefix_in(mesh->cli_eps, mesh->n_cli_eps, p))
		return "cli";
	if (bsearch(p, mesh->route_eps, mesh->n_route_eps, sizeof(*p),
		    mesh_prefix_cmp))
		return "route";
	return "?";
}

static int eps_list(struct mg_cli *cli, struct mg_mesh *mesh)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_origin_info oi;
	struct mg_state_entry e;
	char buf[MG_PREFIXSTRLEN];

	out_arr_open("endpoints");
	out_text("%-22s %-14s %-4s %-20s %-8s %s\n", "prefix", "cluster", "id",
		 "origin", "source", "version");
	while (mg_state_iter_next(mesh->st, &it, &e)) {
		if (e.key.kind != MG_STATE_ENDPOINT ||
		    mg_state_origin_get(mesh->st, e.origin, &oi))
			continue;
		out_obj_open(NULL);
		out_str("prefix", "%-22s", mg_prefix_str(&e.key.ep, buf,
							  sizeof(buf)));
		out_str("cluster", " %-14s", oi.cluster_name);
		out_u64("cluster_id", " %-4llu", oi.cluster_id);
		out_str("origin", " %-20s", oi.name);
		out_str("source", " %-8s", oi.self ?
			local_source(mesh, &e.key.ep) : "gossip");
		out_u64("version", " %llu\n", e.version);
		out_obj_close();
	}
	for (int i = 0; i < mesh->cfg->n_peers; i++) {
		const struct mg_cfg_peer *p = &mesh->cfg->peers[i];

		for (int c = 0; c < p->n_cidrs; c++) {
			out_obj_open(NULL);
			out_str("prefix", "%-22s",
				mg_prefix_str(&p->cidrs[c], buf, sizeof(buf)));
			out_str("cluster", " %-14s", p->cluster);
			out_u64("cluster_id", " %-4llu", p->cluster_id);
			out_str("origin", " %-20s", p->name);
			out_str("source", " %-8s", "static");
			out_u64("version", " %llu\n", 0);
			out_obj_close();
		}
	}
	out_arr_close();
	out_finish();
	return 0;
}

/* A new endpoint of ours must not overlap another cluster's. */
static const char *ep_conflict(struct mg_mesh *mesh, const struct mg_prefix *p,
			       char *buf, size_t len)
{
	struct mg_view view;
	char a[MG_PREFIXSTRLEN];

	if (mg_mesh_view(mesh, &view))
		return NULL;
	for (int g = 0; g < view.n_gw; g++)
		for (int i = 0; i < view.gw[g].n_prefixes; i++)
			if (mg_prefix_overlap(p, &view.gw[g].prefixes[i])) {
				snprintf(buf, len, "overlaps %s of cluster %u (gateway %s)",
					 mg_prefix_str(&view.gw[g].prefixes[i],
						       a, sizeof(a)),
					 view.gw[g].cluster_id, view.gw[g].name);
				return buf;
			}
	return NULL;
}

int mg_mesh_cmd_endpoints(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_mesh *mesh = cli->priv;
	struct mg_prefix p, *eps;
	char why[160];
	int i, n, err;

	if (argc == 1 || (argc == 2 && mg_matches(argv[1], "list")))
		return eps_list(cli, mesh);
	if (argc != 3 || (!mg_matches(argv[1], "add") &&
			  !mg_matches(argv[1], "del") &&
			  !mg_matches(argv[1], "delete"))) {
		fprintf(cli->err, "usage: meshgate endpoints [list]\n"
			"       meshgate endpoints add|del PREFIX\n");
		return 2;
	}
	if (mg_prefix_parse(argv[2], &p)) {
		fprintf(cli->err, "meshgate endpoints: \"%s\" is not a prefix "
			"(ADDRESS/LENGTH, host bits zero, e.g. 10.1.7.0/24)\n",
			argv[2]);
		return 2;
	}
	for (i = 0; i < mesh->n_cli_eps; i++)
		if (mg_prefix_equal(&mesh->cli_eps[i], &p))
			break;
	if (mg_matches(argv[1], "add")) {
		if (i < mesh->n_cli_eps) {
			fprintf(cli->err, "meshgate endpoints: %s is already there\n",
				argv[2]);
			return 1;
		}
		if (ep_conflict(mesh, &p, why, sizeof(why))) {
			fprintf(cli->err, "meshgate endpoints: %s %s\n", argv[2],
				why);
			return 1;
		}
		if (mesh->n_cli_eps >= MAX_CLI_EPS) {
			fprintf(cli->err, "meshgate endpoints: at most %d can be added\n",
				MAX_CLI_EPS);
			return 1;
		}
	} else if (i == mesh->n_cli_eps) {
		fprintf(cli->err, "meshgate endpoints: %s was not added "
			"with the CLI (endpoints from the config or "
			"from routes change there)\n", argv[2]);
		return 1;
	}
	/* The new set is saved first, and applied only once it is. */
	eps = calloc(mesh->n_cli_eps + 1, sizeof(*eps));
	if (!eps) {
		fprintf(cli->err, "meshgate endpoints: %s\n", strerror(ENOMEM));
		return 1;
	}
	memcpy(eps, mesh->cli_eps, mesh->n_cli_eps * sizeof(*eps));
	n = mesh->n_cli_eps;
	if (mg_matches(argv[1], "add"))
		eps[n++] = p;
	else
		eps[i] = eps[--n];
	err = mesh_save_cli_eps(mesh, eps, n);
	if (err) {
		fprintf(cli->err, "meshgate endpoints: not changed: saving %s: %s\n",
			mesh->eps_path, strerror(-err));
		free(eps);
		return 1;
	}
	memcpy(mesh->cli_eps, eps, n * sizeof(*eps));
	mesh->n_cli_eps = n;
	free(eps);
	mesh_sync_local(mesh);
	return 0;
}
