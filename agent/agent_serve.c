// SPDX-License-Identifier: GPL-2.0-only
/* The commands the agent serves on its control socket (commands.c's table). */
#include "agent_int.h"

void mg_agent_known_entries(void *agent, long long *ep4, long long *ep6)
{
	const struct agent *a = agent;

	*ep4 = a && a->maps.ep4c.valid ? (long long)a->maps.ep4c.n : -1;
	*ep6 = a && a->maps.ep6c.valid ? (long long)a->maps.ep6c.n : -1;
}

int mg_agent_serve_status(struct mg_cli *cli, int argc, char **argv)
{
	struct agent *a = cli->priv;
	const struct mg_config *cfg = a->cfg;
	char buf[MG_ADDRSTRLEN];
	int live = 0;

	if (argc > 1) {
		fprintf(cli->err, "usage: meshgate status\n");
		return 2;
	}
	if (agent_view(a))
		return 1;
	for (int i = 0; i < a->view.n_gw; i++)
		live += a->view.gw[i].alive;
	out_obj_open(NULL);
	out_str("gateway", "gateway     %s\n", cfg->gw_name);
	out_str("cluster", "cluster     %s", cfg->cluster_name);
	out_u64("cluster_id", " (id %llu)\n", cfg->cluster_id);
	out_str("tunnel_address", "tunnel      %s",
		mg_addr_str(&cfg->tunnel, buf, sizeof(buf)));
	out_u64("vxlan_port", " udp/%llu\n", cfg->vxlan_port);
	out_str("cluster_interface", "interfaces  %s (cluster)",
		cfg->cluster_if);
	out_str("underlay_interface", ", %s (underlay)", cfg->underlay_if);
	out_str("xdp_mode", ", XDP %s\n",
		cfg->xdp_mode == MG_XDP_GENERIC ? "generic" : "native");
	out_str("nexthop", "next hops   %s\n",
		cfg->nh_mode == MG_NH_TABLE ? "table" : "fib");
	out_str("pin_dir", "maps        %s\n", cfg->pin_dir);
	if (a->host) {
		unsigned int routes, refused;

		mg_hostroute_counts(a->host, &routes, &refused);
		out_str("host_device", "host        %s", cfg->host_dev);
		out_u64("host_routes", ", %llu routes", routes);
		out_u64("host_routes_refused", " (%llu left to other routes)\n",
			refused);
	}
	out_str("mode", "mode        %s\n",
		mg_mesh_draining(a->mesh) ? "draining" : "in service");
	out_u64("peers", "peers       %llu", a->view.n_gw);
	out_u64("peers_alive", " (%llu alive)\n", live);
	mg_mesh_print_counters(a->mesh);
	out_u64("uptime_s", "uptime      %llus\n",
		(mg_now_ms() - a->started_ms) / 1000);
	out_obj_close();
	out_finish();
	return 0;
}

/* Commands the mesh answers: hand them the mesh. */
#define MESH_CMD(fn)                                                       \
	int mg_agent_serve_##fn(struct mg_cli *cli, int argc, char **argv) \
	{                                                                  \
		cli->priv = ((struct agent *)cli->priv)->mesh;             \
		return mg_mesh_cmd_##fn(cli, argc, argv);                  \
	}
MESH_CMD(peers)
MESH_CMD(endpoints)
MESH_CMD(keys)

int mg_agent_serve_policy(struct mg_cli *cli, int argc, char **argv)
{
	cli->priv = ((struct agent *)cli->priv)->pol;
	return mg_policy_cmd(cli, argc, argv);
}

int mg_agent_serve_services(struct mg_cli *cli, int argc, char **argv)
{
	cli->priv = ((struct agent *)cli->priv)->svcs;
	return mg_services_cmd(cli, argc, argv);
}

/*
 * Out of the mesh, peers drop whatever we would still send them
 * (peer_unknown): the datapath goes, as with `meshgate down`.
 */
static void on_left(void *arg)
{
	struct agent *a = arg;
	int err;

	mg_hostroute_remove(a->cfg->pin_dir);
	err = mg_dp_teardown(a->cfg->pin_dir);
	if (err)
		pr_err("detaching the datapath: %s", strerror(-err));
	else
		pr_info("datapath detached (meshgate agent attaches it again)");
	mg_loop_stop(a->loop);
}

static void on_drained(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct agent *a = arg;

	if (mg_mesh_leave(a->mesh, on_left, a))
		on_left(a);
}

int mg_agent_serve_leave(struct mg_cli *cli, int argc, char **argv)
{
	struct agent *a = cli->priv;
	int err;

	/* An argument it does not take (a CLI of old sent "--help"). */
	if (argc > 1) {
		fprintf(cli->err, "usage: meshgate leave\n");
		return 2;
	}
	if (a->stop_timer) {
		fprintf(cli->err, "meshgate leave: already stopping\n");
		return 1;
	}
	/* Drained first: peers move our flows to our siblings. */
	err = mg_mesh_drain(a->mesh, true);
	if (err == -ENOTCONN) {
		pr_info("leaving on request (no gossip): the agent stops");
		mg_loop_stop(a->loop);
		out_text("the agent stops (no gossip: nobody to tell)\n");
		out_finish();
		return 0;
	}
	pr_info("leaving the mesh on request: drained, then left, then the datapath detached");
	a->stop_timer =
		mg_loop_add_timer(a->loop, LEAVE_DRAIN_MS, 0, on_drained, a);
	if (!a->stop_timer) {
		fprintf(cli->err, "meshgate leave: %s\n", strerror(ENOMEM));
		return 1;
	}
	out_text(
		"leaving the mesh: drained, then left; the datapath is detached and the agent stops\n");
	out_finish();
	return 0;
}

/* `drain` / `undrain`: withdrawn from the peers' slot tables, or back. */
int mg_agent_serve_drain(struct mg_cli *cli, int argc, char **argv)
{
	struct agent *a = cli->priv;
	bool on = !strcmp(argv[0], "drain");
	int err;

	if (argc > 1) {
		fprintf(cli->err, "usage: meshgate %s\n", argv[0]);
		return 2;
	}
	err = mg_mesh_drain(a->mesh, on);
	if (err == -ENOTCONN) {
		fprintf(cli->err,
			"meshgate %s: gossip is off: static peers cannot be told\n",
			argv[0]);
		return 1;
	}
	out_text(
		err == -EALREADY ?
			(on ? "already draining\n" : "not draining\n") :
		on ? "draining: peers withdraw this gateway; its datapath keeps forwarding\n" :
		     "undrained: peers use this gateway again\n");
	out_finish();
	return 0;
}

int mg_agent_serve_reload(struct mg_cli *cli, int argc, char **argv)
{
	struct agent *a = cli->priv;

	if (argc > 1) {
		fprintf(cli->err, "usage: meshgate reload\n");
		return 2;
	}
	pr_info("reloading %s on request", a->cfg->path);
	if (agent_reload(a, cli->err))
		return 1;
	out_text("configuration %s reloaded\n", a->cfg->path);
	out_finish();
	return 0;
}

/*
 * The control socket serves the MG_CMD_AGENT rows of mg_commands: the
 * same names, flags and argument checks as the CLI's, so a prefix of a
 * full-only command or verb is refused here too.
 */
#define SERVED_MAX 16
static struct mg_cmd served[SERVED_MAX + 1];

static int agent_serve(struct mg_cli *cli, int argc, char **argv)
{
	const struct mg_cmd *c = mg_cmd_find(served, argv[0], "object");
	int rc;

	if (!c)
		return 2;
	rc = mg_cmd_check_args(c, argc, argv, cli->err);
	return rc ? rc : c->serve(cli, argc, argv);
}

const struct mg_cmd *agent_served_table(void)
{
	int n = 0;

	for (const struct mg_cmd *c = mg_commands; c->name; c++) {
		if (!(c->flags & MG_CMD_AGENT) || !c->serve || n == SERVED_MAX)
			continue;
		served[n] = *c;
		served[n++].run = agent_serve;
	}
	served[n].name = NULL;
	return served;
}

/* `meshgate keys` wrote a keyring: the agent uses it, not `key =` lines. */
