// SPDX-License-Identifier: GPL-2.0-only
/* What wakes the daemon: the mesh changed, its timers, netlink events, signals. */
#include "agent_int.h"

void agent_on_mesh_changed(void *arg)
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
	mg_policy_changed(a->pol); /* other clusters' policies */
}

void agent_on_view_timer(struct mg_loop_src *src, uint32_t ev, void *arg)
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
void agent_on_route_timer(struct mg_loop_src *src, uint32_t ev, void *arg)
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

void agent_on_nh_timer(struct mg_loop_src *src, uint32_t ev, void *arg)
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
				"not re-attaching",
				ev->ifname, a->cfg->pin_dir);
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
			pr_warn("%s: interface gone; waiting for it",
				ev->ifname);
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

void agent_on_netlink(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct agent *a = arg;
	int rc = mg_nl_process_events(a->nl, on_nl_event, a);

	if (rc < 0)
		pr_warn("netlink events: %s", strerror(-rc));
}

static void on_stop_timer(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	mg_loop_stop(((struct agent *)arg)->loop);
}

/*
 * Peers are told we restart (they keep our tunnels while our datapath
 * answers, liveness.h), then we stop; a second signal stops at once.
 */
void agent_on_signal(struct mg_loop_src *src, uint32_t signo, void *arg)
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
