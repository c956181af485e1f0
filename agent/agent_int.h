/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon: load the datapath, program its maps from what the agent knows
 * (static peers for now), keep the underlay next hops current from netlink,
 * re-attach when an interface comes back, and leave forwarding running when
 * it stops.
 *
 * Its insides, shared by its files; callers use agent.h.
 *
 *   agent.c         mg_agent_run(): started, the loop, stopped
 *   agent_sync.c    the view, the host, tx ports and next hops into the maps
 *   agent_events.c  the mesh, timers, netlink events and signals
 *   agent_serve.c   the commands the control socket serves
 *   agent_reload.c  a reload: the keyring, what a new configuration changes
 */
#ifndef MG_AGENT_INT_H
#define MG_AGENT_INT_H

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

#define NH_REFRESH_MS 5000 /* re-resolve next hops at least this often */
#define NH_RETRY_MS 200 /* while one is unresolved */
#define NH_DEBOUNCE_MS 20 /* after a netlink event */
#define VIEW_DEBOUNCE_MS 10 /* after a mesh change */
#define ROUTE_DEBOUNCE_MS 100 /* after a route change */
#define RESTART_TELL_MS 300 /* peers hear "restarting" (gossip) */
#define LEAVE_DRAIN_MS 1000 /* peers move our flows, then we leave */

struct agent {
	/*
	 * Ours (a copy): the mesh and the services read it, and a reload
	 * changes what it applies in place.
	 */
	struct mg_config *cfg;
	int pin_lock; /* the pin directory, flock(LOCK_SH) */
	struct mg_dp dp;
	struct mg_dpmaps maps;
	int nh4_fd, nh6_fd, tx_fd;
	struct mg_nl *nl;
	struct mg_loop *loop;
	struct mg_loop_src *nh_timer;
	struct mg_ctl *ctl;
	uint64_t started_ms;
	struct mg_loop_src *view_timer, *route_timer;
	bool view_armed; /* view_timer set and not yet run */
	struct mg_mesh *mesh;
	struct mg_view view; /* valid until the mesh runs again */
	struct mg_services *svcs;
	struct mg_services_maps svc_maps;
	struct mg_hostroute *host; /* NULL: host_device = none */
	struct mg_ctgc *ctgc; /* NULL: flow tables left to the LRU */
	struct mg_loop_src *stop_timer; /* stopping, or leaving after a drain */
	struct mg_metrics *metrics; /* NULL: [metrics] listen = off */
	struct mg_policy *pol; /* this cluster's policy (policy_rt.c) */
};

int agent_view(struct agent *a);
unsigned int agent_host_mtu(struct agent *a);
void agent_sync_host(struct agent *a);
void agent_sync_view(struct agent *a);
int agent_sync_tx(struct agent *a);
int agent_sync_nh(struct agent *a);
void agent_on_mesh_changed(void *arg);
void agent_on_view_timer(struct mg_loop_src *src, uint32_t ev, void *arg);
void agent_on_route_timer(struct mg_loop_src *src, uint32_t ev, void *arg);
void agent_on_nh_timer(struct mg_loop_src *src, uint32_t ev, void *arg);
void agent_on_netlink(struct mg_loop_src *src, uint32_t ev, void *arg);
void agent_on_signal(struct mg_loop_src *src, uint32_t signo, void *arg);
const struct mg_cmd *agent_served_table(void);
void agent_keyring_notice(const struct mg_config *cfg);
int agent_reload(struct agent *a, FILE *err);

#endif
