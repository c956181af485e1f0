// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon: load the datapath, program its maps from what the agent knows
 * (static peers for now), keep the underlay next hops current from netlink,
 * re-attach when an interface comes back, and leave forwarding running when
 * it stops.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "cli.h"
#include "ctl.h"
#include "ctgc.h"
#include "dpmaps.h"
#include "hostroute.h"
#include "loader.h"
#include "mesh.h"
#include "policy_rt.h"
#include "metrics.h"
#include "netlink.h"
#include "pins.h"
#include "services.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/notify.h"
#include "lib/out.h"
#include "xdp.skel.h"

#define NH_REFRESH_MS		5000	/* re-resolve next hops at least this often */
#define NH_RETRY_MS		200	/* while one is unresolved */
#define NH_DEBOUNCE_MS		20	/* after a netlink event */
#define VIEW_DEBOUNCE_MS	10	/* after a mesh change */
#define ROUTE_DEBOUNCE_MS	100	/* after a route change */
#define RESTART_TELL_MS		300	/* peers hear "restarting" (gossip) */
#define LEAVE_DRAIN_MS		1000	/* peers move our flows, then we leave */

struct agent {
	/*
	 * Ours (a copy): the mesh and the services read it, and a reload
	 * changes what it applies in place.
	 */
	struct mg_config *cfg;
	int pin_lock;			/* the pin directory, flock(LOCK_SH) */
	struct mg_dp dp;
	struct mg_dpmaps maps;
	int nh4_fd, nh6_fd, tx_fd;
	struct mg_nl *nl;
	struct mg_loop *loop;
	struct mg_loop_src *nh_timer;
	struct mg_ctl *ctl;
	uint64_t started_ms;
	struct mg_loop_src *view_timer, *route_timer;
	bool view_armed;	/* view_timer set and not yet run */
	struct mg_mesh *mesh;
	struct mg_view view;		/* valid until the mesh runs again */
	struct mg_services *svcs;
	struct mg_services_maps svc_maps;
	struct mg_hostroute *host;	/* NULL: host_device = none */
	struct mg_ctgc *ctgc;		/* NULL: flow tables left to the LRU */
	struct mg_loop_src *stop_timer;	/* stopping, or leaving after a drain */
	struct mg_metrics *metrics;	/* NULL: [metrics] listen = off */
	struct mg_policy *pol;		/* this cluster's policy (policy_rt.c) */
};

static int agent_view(struct agent *a)
{
	int err = mg_mesh_view(a->mesh, &a->view);

	if (err)
		pr_err("building the view: %s", strerror(-err));
	return err;
}

/*
 * The host device's MTU: the underlay's less the tunnel's overhead (the
 * larger, IPv6's, when we have an IPv6 tunnel address); 0 when unknown.
 */
static unsigned int agent_host_mtu(struct agent *a)
{
	struct mg_nl_link l;
	unsigned int over = mg_config_tunnel(a->cfg, MG_AF_INET6) ?
			    MG_ENCAP6_LEN : MG_ENCAP4_LEN;
	int idx = mg_nl_ifindex(a->cfg->underlay_if);

	if (idx <= 0 || mg_nl_link_get(a->nl, idx, &l) || l.mtu < 576 + over)
		return 0;
	return l.mtu - over;
}

/* The host's routes into its device: remote prefixes and VIPs. */
static void agent_sync_host(struct agent *a)
{
	struct mg_addr vips[MG_CFG_MAX_SERVICES];
	int n, err;

	if (!a->host)
		return;
	n = mg_services_vips(a->svcs, vips, MG_CFG_MAX_SERVICES);
	err = mg_hostroute_sync(a->host, &a->view, vips, n, a->maps.keep);
	if (err)
		pr_err("programming the host's routes: %s", strerror(-err));
}

/*
 * The start-up hold, told to the datapath once the maps hold what it
 * covers: tunnel packets from a prefix not learned yet count apart.
 */
static void agent_sync_starting(struct agent *a)
{
	struct mg_gw_state v = { .flags = a->maps.keep ? MG_GW_STARTING : 0 };
	__u32 key = 0;

	if (bpf_map_update_elem(bpf_map__fd(a->dp.skel->maps.mg_gwstate),
				&key, &v, BPF_ANY))
		pr_warn("mg_gwstate: %s", strerror(errno));
}

static void agent_sync_view(struct agent *a)
{
	struct mg_sync_stats st = { 0 };
	int err;

	if (agent_view(a))
		return;
	a->maps.keep = !mg_mesh_settled(a->mesh);
	err = mg_dpmaps_sync(&a->maps, &a->view, &st);
	if (err)
		pr_err("programming the maps: %s", strerror(-err));
	if (st.written || st.deleted)
		pr_info("maps: %u entries written, %u removed", st.written,
			st.deleted);
	agent_sync_starting(a);
	err = mg_services_sync(a->svcs, mg_mesh_state(a->mesh), &a->view,
			       &a->svc_maps);
	if (err)
		pr_err("programming the services: %s", strerror(-err));
	agent_sync_host(a);
}

/* Interfaces the datapath may redirect to. */
static int agent_sync_tx(struct agent *a)
{
	__u32 keys[2], n = 0;
	int idx;

	idx = mg_nl_ifindex(a->cfg->cluster_if);
	if (idx > 0)
		keys[n++] = idx;
	idx = mg_nl_ifindex(a->cfg->underlay_if);
	if (idx > 0 && (n == 0 || keys[0] != (__u32)idx))
		keys[n++] = idx;
	return mg_map_reconcile(a->tx_fd, "mg_tx", sizeof(__u32),
				sizeof(__u32), keys, keys, n, NULL);
}

/*
 * Resolve the next hop of every peer tunnel address we send to into
 * mg_nh4_v2 / mg_nh6, with the path MTU.  Returns the number still
 * unresolved (the datapath falls back to the FIB for those, and the
 * kernel is asked to resolve them).
 */
static int agent_sync_nh(struct agent *a)
{
	bool table = a->cfg->nh_mode == MG_NH_TABLE;
	struct mg_nh_val *vals4 = NULL, *vals6 = NULL;
	struct mg_in6 *keys6 = NULL;
	__u32 *keys4 = NULL;
	int n4 = 0, n6 = 0, pending = 0, err, rc;

	keys4 = calloc(MG_MAX_NEXTHOPS, sizeof(*keys4));
	keys6 = calloc(MG_MAX_NEXTHOPS, sizeof(*keys6));
	vals4 = calloc(MG_MAX_NEXTHOPS, sizeof(*vals4));
	vals6 = calloc(MG_MAX_NEXTHOPS, sizeof(*vals6));
	if (!keys4 || !keys6 || !vals4 || !vals6) {
		pending = 1;	/* try again soon */
		goto out;
	}
	/* The view of the last sync may be stale: the mesh moves on. */
	if (agent_view(a))
		goto write;
	for (int i = 0; i < a->view.n_gw; i++) {
		const struct mg_view_gw *g = &a->view.gw[i];
		struct mg_nl_hop hop;

		if (!g->alive || !g->tunnel.family)
			continue;
		/*
		 * In both modes the kernel keeps the next hop's neighbour
		 * resolved: bpf_fib_lookup() does not resolve one either.
		 */
		err = mg_nl_resolve(a->nl, &g->tunnel, &hop);
		if (err == -EAGAIN || !err)
			mg_nl_neigh_manage(a->nl, hop.ifindex, &hop.via);
		if (err == -EAGAIN) {
			pending++;
			continue;
		}
		if (err) {
			pr_debug("next hop of %s: %s", g->name, strerror(-err));
			continue;
		}
		if (!table)
			continue;
		hop.val.mtu = hop.mtu > 0xffff ? 0xffff : hop.mtu;
		if (g->tunnel.family == MG_AF_INET && n4 < MG_MAX_NEXTHOPS) {
			keys4[n4] = g->tunnel.addr[0];
			vals4[n4++] = hop.val;
		} else if (g->tunnel.family == MG_AF_INET6 &&
			   n6 < MG_MAX_NEXTHOPS) {
			memcpy(keys6[n6].addr, g->tunnel.addr, 16);
			vals6[n6++] = hop.val;
		}
	}
write:
	err = mg_map_reconcile(a->nh4_fd, "mg_nh4_v2", sizeof(keys4[0]),
			       sizeof(vals4[0]), keys4, vals4, n4, NULL);
	rc = mg_map_reconcile(a->nh6_fd, "mg_nh6", sizeof(keys6[0]),
			      sizeof(vals6[0]), keys6, vals6, n6, NULL);
	if (err || rc)
		pr_err("programming the next hops: %s",
		       strerror(-(err ? err : rc)));
out:
	free(keys4);
	free(keys6);
	free(vals4);
	free(vals6);
	return pending;
}

/* The mesh changed: resync the maps soon (changes come in bursts). */
static void on_mesh_changed(void *arg)
{
	struct agent *a = arg;

	/*
	 * Armed once, not pushed back by each change: a steady stream of
	 * changes (members, liveness, rumours from 64 peers) must not hold
	 * the view back; the sync reads what is there when it runs.
	 */
	if (a->view_timer && !a->view_armed) {
		mg_loop_timer_set(a->view_timer, VIEW_DEBOUNCE_MS, 0);
		a->view_armed = true;
	}
	mg_policy_changed(a->pol);	/* other clusters' policies */
}

static void on_view_timer(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct agent *a = arg;

	a->view_armed = false;
	agent_sync_view(a);
	mg_loop_timer_set(a->nh_timer, NH_DEBOUNCE_MS, 0);
}

struct routes {
	struct mg_prefix *p;
	int n, cap;
};

static void on_route(const struct mg_prefix *pfx, void *arg)
{
	struct routes *r = arg;

	if (r->n == r->cap) {
		int cap = r->cap ? 2 * r->cap : 256;
		struct mg_prefix *p = realloc(r->p, cap * sizeof(*p));

		if (!p)
			return;
		r->p = p;
		r->cap = cap;
	}
	r->p[r->n++] = *pfx;
}

/* Local endpoints from kernel routes (route_table, route_protocol). */
static void on_route_timer(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct agent *a = arg;
	struct routes r = { 0 };
	int rc;

	/* Off (also by a reload): no endpoint from routes. */
	if (!a->cfg->route_table && !a->cfg->route_protocol) {
		mg_mesh_set_route_endpoints(a->mesh, NULL, 0);
		return;
	}
	rc = mg_nl_routes(a->nl, a->cfg->route_table, a->cfg->route_protocol,
			  on_route, &r);
	if (rc < 0)
		pr_warn("reading the routes of the cluster: %s", strerror(-rc));
	else
		mg_mesh_set_route_endpoints(a->mesh, r.p, r.n);
	free(r.p);
}

static void on_nh_timer(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct agent *a = arg;
	int pending = agent_sync_nh(a);

	mg_loop_timer_set(src, pending ? NH_RETRY_MS : NH_REFRESH_MS, 0);
}

static bool is_our_if(const struct agent *a, const char *name)
{
	return !strcmp(name, a->cfg->cluster_if) ||
	       !strcmp(name, a->cfg->underlay_if);
}

static void on_nl_event(const struct mg_nl_event *ev, void *arg)
{
	struct agent *a = arg;

	switch (ev->type) {
	case MG_NL_EV_LINK_UP:
		/* After `meshgate down` the operator wants the datapath gone. */
		if (is_our_if(a, ev->ifname) && access(a->cfg->pin_dir, F_OK)) {
			pr_warn("%s: up, but %s is gone (meshgate down?): "
				"not re-attaching", ev->ifname, a->cfg->pin_dir);
		} else if (is_our_if(a, ev->ifname)) {
			/* Back (maybe re-created): make sure XDP runs on it. */
			mg_dp_attach(&a->dp, ev->ifname, a->cfg->xdp_mode);
			agent_sync_tx(a);
		}
		/* Its MTU may have changed: the host device's follows. */
		if (!strcmp(ev->ifname, a->cfg->underlay_if))
			mg_hostroute_mtu(a->host, agent_host_mtu(a));
		break;
	case MG_NL_EV_LINK_DEL:
		if (is_our_if(a, ev->ifname)) {
			pr_warn("%s: interface gone; waiting for it", ev->ifname);
			agent_sync_tx(a);
		}
		break;
	case MG_NL_EV_ROUTE_CHANGE:
	case MG_NL_EV_RESYNC:
		if (a->route_timer)
			mg_loop_timer_set(a->route_timer, ROUTE_DEBOUNCE_MS, 0);
		break;
	default:
		break;
	}
	mg_loop_timer_set(a->nh_timer, NH_DEBOUNCE_MS, 0);
}

static void on_netlink(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct agent *a = arg;
	int rc = mg_nl_process_events(a->nl, on_nl_event, a);

	if (rc < 0)
		pr_warn("netlink events: %s", strerror(-rc));
}

static int agent_reload(struct agent *a, FILE *err);

static void on_stop_timer(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	mg_loop_stop(((struct agent *)arg)->loop);
}

/*
 * Peers are told we restart (they keep our tunnels while our datapath
 * answers, liveness.h), then we stop; a second signal stops at once.
 */
static void on_signal(struct mg_loop_src *src, uint32_t signo, void *arg)
{
	struct agent *a = arg;

	if (signo == SIGHUP) {
		pr_info("SIGHUP: reloading %s", a->cfg->path);
		agent_reload(a, NULL);
		return;
	}
	if (!a->stop_timer && !mg_mesh_announce_restart(a->mesh)) {
		pr_info("signal %u: stopping; peers are told we restart (the datapath keeps forwarding)",
			signo);
		a->stop_timer = mg_loop_add_timer(a->loop, RESTART_TELL_MS, 0,
						  on_stop_timer, a);
		if (a->stop_timer)
			return;
	}
	pr_info("signal %u: stopping (the datapath keeps forwarding)", signo);
	mg_loop_stop(a->loop);
}

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
		out_u64("host_routes_refused",
			" (%llu left to other routes)\n", refused);
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
#define MESH_CMD(fn)							\
int mg_agent_serve_##fn(struct mg_cli *cli, int argc, char **argv)	\
{									\
	cli->priv = ((struct agent *)cli->priv)->mesh;			\
	return mg_mesh_cmd_##fn(cli, argc, argv);			\
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
	a->stop_timer = mg_loop_add_timer(a->loop, LEAVE_DRAIN_MS, 0,
					  on_drained, a);
	if (!a->stop_timer) {
		fprintf(cli->err, "meshgate leave: %s\n", strerror(ENOMEM));
		return 1;
	}
	out_text("leaving the mesh: drained, then left; the datapath is detached and the agent stops\n");
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
		fprintf(cli->err, "meshgate %s: gossip is off: static peers cannot be told\n",
			argv[0]);
		return 1;
	}
	out_text(err == -EALREADY ? (on ? "already draining\n" : "not draining\n") :
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
#define SERVED_MAX	16
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

static const struct mg_cmd *served_table(void)
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
static void agent_keyring_notice(const struct mg_config *cfg)
{
	char path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/keyring", cfg->state_dir);
	if (cfg->n_keys && !stat(path, &st) && st.st_size > 0)
		pr_warn("%s (written by `meshgate keys`) outranks the %d "
			"`key =` line%s of %s: gossip uses its keys (remove "
			"the file to go back to the configuration's)", path,
			cfg->n_keys, cfg->n_keys > 1 ? "s" : "", cfg->path);
}

/* Exchanges the [service NAME] sections of two configurations. */
#define SWAP_SERVICES(x, y)						\
	do {								\
		int n_ = (x)->n_services;				\
		(x)->n_services = (y)->n_services;			\
		(y)->n_services = n_;					\
		swap_bytes((x)->services, (y)->services,		\
			   sizeof((x)->services));			\
	} while (0)

static void swap_bytes(void *x, void *y, size_t n)
{
	unsigned char *p = x, *q = y, t;

	for (size_t i = 0; i < n; i++) {
		t = p[i];
		p[i] = q[i];
		q[i] = t;
	}
}

/* Messages of a refused configuration: to the log, and to the caller. */
static void log_lines(char *text, FILE *err)
{
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		pr_err("%s", l);
		if (err)
			fprintf(err, "%s\n", l);
	}
}

/*
 * The key lines of a reload, unless the keyring file outranks them (then
 * they are kept for the next start without it, and that is said).
 */
static void reload_keys(struct agent *a, const struct mg_config *next,
			FILE *err)
{
	char keys[MG_CFG_MAX_KEYS][MG_CFG_KEY_B64_MAX];
	int n_keys = a->cfg->n_keys, rc;

	memcpy(keys, a->cfg->keys, sizeof(keys));
	a->cfg->n_keys = next->n_keys;
	memcpy(a->cfg->keys, next->keys, sizeof(a->cfg->keys));
	rc = mg_mesh_reload_keys(a->mesh);
	if (rc == 1) {
		pr_warn("reload: the keyring in %s/keyring (written by `meshgate keys`) outranks the key lines: the gossip keys are unchanged",
			a->cfg->state_dir);
		if (err)
			fprintf(err, "meshgate reload: the keyring in %s/keyring (written by `meshgate keys`) outranks the key lines: the gossip keys are unchanged\n",
				a->cfg->state_dir);
	} else if (rc < 0) {
		pr_err("reload: keys: %s; the running ones are kept",
		       strerror(-rc));
		if (err)
			fprintf(err, "meshgate reload: keys: %s; the running ones are kept\n",
				strerror(-rc));
		a->cfg->n_keys = n_keys;
		memcpy(a->cfg->keys, keys, sizeof(a->cfg->keys));
	} else {
		pr_info("reload: gossip keys: %d (the first sends)",
			a->cfg->n_keys);
	}
	explicit_bzero(keys, sizeof(keys));
}

/*
 * Re-read the configuration and apply what a running agent can: the log
 * level, static peers (the next view), services (a new services module
 * over the same maps: it re-adopts the tables as a restart does, so
 * established flows keep their backends), the cluster's CIDRs and
 * route_table/route_protocol (our endpoints, gossiped), the gossip keys, forget_after, drain_hook and
 * settle_timeout.  The attachment is not touched;
 * what only a restart applies is named.  A file that fails the check
 * changes nothing.  0, or 1 when refused.
 */
static int agent_reload(struct agent *a, FILE *err)
{
	struct mg_config *next = malloc(sizeof(*next));
	char *msgs = NULL, restart[512];
	size_t len = 0;
	FILE *ef = open_memstream(&msgs, &len);
	unsigned int ch;
	int rc = 0;

	mg_notify_reloading();
	if (!next || !ef) {
		pr_err("reload: %s", strerror(ENOMEM));
		rc = 1;
		goto out;
	}
	if (mg_config_load(next, a->cfg->path, ef) ||
	    mg_config_check_host(next, ef)) {
		fclose(ef);
		ef = NULL;
		log_lines(msgs, err);
		pr_err("reload: %s refused; the running configuration is kept",
		       a->cfg->path);
		if (err)
			fprintf(err, "meshgate reload: %s refused; the running "
				"configuration is kept\n", a->cfg->path);
		rc = 1;
		goto out;
	}
	ch = mg_config_diff(a->cfg, next, restart, sizeof(restart));
	if (ch & MG_CFG_CH_LOG_LEVEL) {
		a->cfg->log_level = next->log_level;
		mg_log_set_level(next->log_level);
	}
	if (ch & MG_CFG_CH_PEERS) {
		a->cfg->n_peers = next->n_peers;
		memcpy(a->cfg->peers, next->peers, sizeof(a->cfg->peers));
	}
	if (ch & MG_CFG_CH_SERVICES) {
		struct mg_services *svcs;
		int n_old = a->cfg->n_services;

		/* next's services stand aside: the old ones come back on failure. */
		SWAP_SERVICES(a->cfg, next);
		rc = mg_services_new(a->loop, a->cfg, on_mesh_changed, a,
				     &svcs);
		if (rc) {
			pr_err("reload: services: %s; the running ones are kept",
			       strerror(-rc));
			if (err)
				fprintf(err, "meshgate reload: services: %s; the running ones are kept\n",
					strerror(-rc));
			SWAP_SERVICES(a->cfg, next);
			ch &= ~MG_CFG_CH_SERVICES;
			rc = 1;
		} else {
			pr_info("reload: services: %d configured (were %d)",
				a->cfg->n_services, n_old);
			mg_services_free(a->svcs);
			a->svcs = svcs;
		}
	}
	/* [policy]: compiled again whole (a new one replaces the old). */
	a->cfg->pol_default_in = next->pol_default_in;
	a->cfg->pol_default_out = next->pol_default_out;
	a->cfg->n_pol_rules = next->n_pol_rules;
	memcpy(a->cfg->pol_rules, next->pol_rules, sizeof(a->cfg->pol_rules));
	if (a->pol && mg_policy_apply(a->pol) && err)
		fprintf(err, "meshgate reload: policy not applied (see the log)\n");
	if (ch & MG_CFG_CH_GOSSIP_TIMES) {
		/* Read where they are used: the next use takes them. */
		a->cfg->forget_after = next->forget_after;
		a->cfg->settle_timeout = next->settle_timeout;
		memcpy(a->cfg->drain_hook, next->drain_hook,
		       sizeof(a->cfg->drain_hook));
	}
	if (ch & MG_CFG_CH_CIDRS) {
		/* Announced by gossip; our maps follow the view (below). */
		a->cfg->n_cidrs = next->n_cidrs;
		memcpy(a->cfg->cidrs, next->cidrs, sizeof(a->cfg->cidrs));
		mg_mesh_reload_local(a->mesh);
	}
	if (ch & MG_CFG_CH_ROUTES) {
		/* Route events always arrive: the timer re-reads the table. */
		a->cfg->route_table = next->route_table;
		a->cfg->route_protocol = next->route_protocol;
		mg_loop_timer_set(a->route_timer, ROUTE_DEBOUNCE_MS, 0);
	}
	if (ch & MG_CFG_CH_KEYS)
		reload_keys(a, next, err);
	if (restart[0]) {
		pr_warn("reload: changed, applied at the next restart: %s",
			restart);
		if (err)
			fprintf(err, "meshgate reload: changed, applied at the next restart: %s\n",
				restart);
	}
	pr_info("reload: done (%s%s%s%s%s%s%s%s)",
		ch & MG_CFG_CH_LOG_LEVEL ? "log level, " : "",
		ch & MG_CFG_CH_PEERS ? "static peers, " : "",
		ch & MG_CFG_CH_SERVICES ? "services, " : "",
		ch & MG_CFG_CH_CIDRS ? "cidrs, " : "",
		ch & MG_CFG_CH_ROUTES ? "route_table/route_protocol, " : "",
		ch & MG_CFG_CH_KEYS ? "keys, " : "",
		ch & MG_CFG_CH_GOSSIP_TIMES ?
			"forget_after/drain_hook/settle_timeout, " : "",
		ch ? "applied" : "nothing to apply");
	if (ch & (MG_CFG_CH_PEERS | MG_CFG_CH_SERVICES | MG_CFG_CH_CIDRS))
		on_mesh_changed(a);
out:
	if (ef)
		fclose(ef);
	free(msgs);
	free(next);
	mg_notify_ready();
	return rc;
}

int mg_agent_run(const struct mg_config *cfg)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct mg_dp_settings s;
	struct agent *a;
	int err;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->pin_lock = -1;
	a->cfg = malloc(sizeof(*a->cfg));
	if (!a->cfg) {
		free(a);
		return -ENOMEM;
	}
	*a->cfg = *cfg;
	cfg = a->cfg;
	mg_log_set_level(cfg->log_level);
	agent_keyring_notice(cfg);
	mg_dp_set_libbpf_logger();

	mg_dp_settings_from_config(&s, cfg);
	err = mg_dp_settings_cluster_addrs(&s, cfg);
	if (err)
		pr_warn("addresses of %s: %s (ICMP errors come from the pods' peers)",
			cfg->cluster_if, strerror(-err));
	err = mg_dp_load(&a->dp, &s, cfg->pin_dir);
	if (err)
		goto out;
	a->pin_lock = mg_pins_lock(cfg->pin_dir);
	a->maps.ep4 = bpf_map__fd(a->dp.skel->maps.mg_ep4);
	a->maps.ep6 = bpf_map__fd(a->dp.skel->maps.mg_ep6);
	a->maps.local4 = bpf_map__fd(a->dp.skel->maps.mg_local4);
	a->maps.local6 = bpf_map__fd(a->dp.skel->maps.mg_local6);
	a->maps.clus = bpf_map__fd(a->dp.skel->maps.mg_clus);
	a->maps.peer4 = bpf_map__fd(a->dp.skel->maps.mg_peer4);
	a->maps.peer6 = bpf_map__fd(a->dp.skel->maps.mg_peer6);
	a->maps.pfx.gen = bpf_map__fd(a->dp.skel->maps.mg_pfx_gen);
	a->maps.pfx.ans = bpf_map__fd(a->dp.skel->maps.mg_pfx_ans);
	a->maps.pfx.l1 = bpf_map__fd(a->dp.skel->maps.mg_pfx4_l1);
	a->maps.pfx.l2 = bpf_map__fd(a->dp.skel->maps.mg_pfx4_l2);
	a->maps.pfx.l3 = bpf_map__fd(a->dp.skel->maps.mg_pfx4_l3);
	a->maps.pfx_table = cfg->limits.prefix_lookup == MG_PFX_LOOKUP_TABLE;
	a->maps.pfx6.maps.gen = bpf_map__fd(a->dp.skel->maps.mg_pfx6_gen);
	a->maps.pfx6.maps.ans = a->maps.pfx.ans;
	a->maps.pfx6.maps.h = bpf_map__fd(a->dp.skel->maps.mg_pfx6);
	a->maps.pfx6.maps.lens = bpf_map__fd(a->dp.skel->maps.mg_pfx6_lens);
	a->maps.pfx6.maps.rgn = bpf_map__fd(a->dp.skel->maps.mg_pfx6_rgn);
	a->maps.pfx6.max = bpf_map__max_entries(a->dp.skel->maps.mg_ep6);
	a->nh4_fd = bpf_map__fd(a->dp.skel->maps.mg_nh4_v2);
	a->nh6_fd = bpf_map__fd(a->dp.skel->maps.mg_nh6);
	a->tx_fd = bpf_map__fd(a->dp.skel->maps.mg_tx);
	a->svc_maps.svc = bpf_map__fd(a->dp.skel->maps.mg_svc);
	a->svc_maps.be = bpf_map__fd(a->dp.skel->maps.mg_lbbe);
	a->svc_maps.ring = bpf_map__fd(a->dp.skel->maps.mg_lbring);
	a->svc_maps.rev = bpf_map__fd(a->dp.skel->maps.mg_lbrev);
	a->svc_maps.svc6 = bpf_map__fd(a->dp.skel->maps.mg_svc6);
	a->svc_maps.be6 = bpf_map__fd(a->dp.skel->maps.mg_lbbe6);
	a->svc_maps.rev6 = bpf_map__fd(a->dp.skel->maps.mg_lbrev6);
	a->svc_maps.outlier = bpf_map__fd(a->dp.skel->maps.mg_outlier);
	a->svc_maps.tc = bpf_map__fd(a->dp.skel->maps.mg_svctc);

	a->nl = mg_nl_open();
	a->loop = mg_loop_new();
	/* Signals wait in the loop from now on: none kills a starting agent. */
	if (!a->nl || !a->loop ||
	    !mg_loop_add_signals(a->loop, sigs, 3, on_signal, a)) {
		err = -errno ? -errno : -ENOMEM;
		pr_err("cannot start: %s", strerror(-err));
		goto out;
	}

	err = mg_mesh_new(a->loop, cfg, &(struct mg_mesh_ops){
				  .changed = on_mesh_changed }, a, &a->mesh);
	if (err)
		goto out;
	err = mg_services_new(a->loop, cfg, on_mesh_changed, a, &a->svcs);
	if (err)
		goto out;
	err = mg_policy_new(a->cfg, &(struct mg_pol_maps){
		.dst4 = bpf_map__fd(a->dp.skel->maps.mg_pold4),
		.dst6 = bpf_map__fd(a->dp.skel->maps.mg_pold6),
		.src4 = bpf_map__fd(a->dp.skel->maps.mg_pols4),
		.src6 = bpf_map__fd(a->dp.skel->maps.mg_pols6),
		.port = bpf_map__fd(a->dp.skel->maps.mg_polp),
		.verdict = bpf_map__fd(a->dp.skel->maps.mg_polv),
		.cfg = bpf_map__fd(a->dp.skel->maps.mg_polcfg) }, &a->pol);
	if (err)
		goto out;
	/* Ours gossiped, the other clusters' learned (docs/policy.md). */
	err = mg_policy_gossip(a->pol, mg_mesh_state(a->mesh), a->loop);
	if (err)
		goto out;
	if (cfg->route_table || cfg->route_protocol)
		on_route_timer(NULL, 0, a);

	/* Maps first, then the program: it must never see a partial state. */
	agent_sync_view(a);
	agent_sync_nh(a);
	err = agent_sync_tx(a);
	if (err)
		pr_warn("programming mg_tx: %s", strerror(-err));

	err = mg_dp_attach(&a->dp, cfg->cluster_if, cfg->xdp_mode);
	if (!err && strcmp(cfg->cluster_if, cfg->underlay_if))
		err = mg_dp_attach(&a->dp, cfg->underlay_if, cfg->xdp_mode);
	if (err)
		goto out;
	if (strcmp(cfg->host_dev, MG_HOST_DEV_NONE)) {
		struct mg_addr src4 = { 0 }, src6 = { 0 };

		if (s.cluster4) {
			src4.family = MG_AF_INET;
			src4.addr[0] = s.cluster4;
		} else {
			pr_warn("%s has no address inside the cluster's CIDRs: "
				"the host's own traffic to the mesh has no "
				"source remote gateways accept", cfg->cluster_if);
		}
		if (s.cluster6[0] | s.cluster6[1] | s.cluster6[2] |
		    s.cluster6[3]) {
			src6.family = MG_AF_INET6;
			memcpy(src6.addr, s.cluster6, sizeof(src6.addr));
		}
		/* Forwarding for the pods does not depend on it. */
		if (mg_hostroute_open(a->nl, &a->dp, cfg->host_dev,
				      agent_host_mtu(a), &src4, &src6,
				      &a->host))
			pr_warn("running without host egress: the host's own "
				"traffic to remote pods and VIPs does not "
				"take the mesh");
		agent_sync_host(a);
	}

	a->view_armed = true;	/* the timer below starts armed */
	if (!mg_loop_add_fd(a->loop, mg_nl_event_fd(a->nl), EPOLLIN,
			    on_netlink, a) ||
	    !(a->nh_timer = mg_loop_add_timer(a->loop, NH_RETRY_MS, 0,
					      on_nh_timer, a)) ||
	    !(a->view_timer = mg_loop_add_timer(a->loop, VIEW_DEBOUNCE_MS, 0,
						on_view_timer, a)) ||
	    !(a->route_timer = mg_loop_add_timer(a->loop, 0, 0,
						 on_route_timer, a))) {
		err = -errno ? -errno : -ENOMEM;
		goto out;
	}
	if (mg_ctgc_new(a->loop, &(struct mg_ctgc_maps){
			bpf_map__fd(a->dp.skel->maps.mg_ct4_v2),
			bpf_map__fd(a->dp.skel->maps.mg_rnat4),
			bpf_map__fd(a->dp.skel->maps.mg_ct6_v2),
			bpf_map__fd(a->dp.skel->maps.mg_rnat6) }, &a->ctgc))
		pr_warn("expired flows stay in the maps until the LRU takes them");
	else
		mg_ctgc_set_beflows(a->ctgc,
				    bpf_map__fd(a->dp.skel->maps.mg_beflows));
	a->started_ms = mg_now_ms();
	a->ctl = mg_ctl_open(a->loop, cfg->control_socket, served_table(), a);
	if (!a->ctl) {
		err = -errno ? -errno : -EINVAL;
		goto out;
	}
	pr_info("gateway %s of cluster %s (id %u) running; maps in %s",
		cfg->gw_name, cfg->cluster_name, cfg->cluster_id, cfg->pin_dir);
	err = mg_metrics_start(a->loop, cfg, a, &a->metrics);
	if (err)
		goto out;
	/* Attached, maps reconciled, control socket open. */
	mg_notify_ready();
	err = mg_notify_watchdog_start(a->loop);
	if (err)
		pr_warn("watchdog: %s", strerror(-err));
	err = mg_loop_run(a->loop);
	mg_notify_stopping();
out:
	mg_metrics_stop(a->metrics);
	mg_ctl_close(a->ctl);
	mg_ctgc_free(a->ctgc);
	mg_hostroute_free(a->host);
	mg_policy_free(a->pol);
	a->pol = NULL;	/* the mesh may still call on_mesh_changed */
	mg_services_free(a->svcs);
	mg_mesh_free(a->mesh);
	mg_loop_free(a->loop);
	mg_nl_close(a->nl);
	mg_dpmaps_free(&a->maps);
	if (a->dp.skel)
		mg_dp_destroy(&a->dp);
	if (a->pin_lock >= 0)
		close(a->pin_lock);
	free(a->cfg);
	free(a);
	return err;
}
