// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mesh's life cycle: the membership engine started, the mesh made and
 * freed.
 */
#include "mesh/mesh_int.h"

/* --- life cycle ---------------------------------------------------------- */

static const struct mg_member_ops member_ops = {
	.notify_join = mesh_on_member,
	.notify_leave = mesh_on_member,
	.notify_update = mesh_on_member,
	.node_meta = mesh_node_meta,
	.local_state = mesh_local_state,
	.merge_remote_state = mesh_merge_remote,
	.notify_user_msg = mesh_user_msg,
	.get_broadcasts = mesh_get_broadcasts,
	.join_done = mesh_join_done,
	.leave_done = mesh_leave_done,
};

static const unsigned int ae_ms[] = {
	[MG_PROFILE_LAN] = 2000, [MG_PROFILE_WAN] = 10000,
	[MG_PROFILE_LOCAL] = 1000,
};

static int start_member(struct mg_mesh *mesh)
{
	const struct mg_config *cfg = mesh->cfg;
	struct mg_member_cfg *mc = calloc(1, sizeof(*mc));
	static const enum mg_member_profile prof[] = {
		[MG_PROFILE_LAN] = MG_MEMBER_LAN,
		[MG_PROFILE_WAN] = MG_MEMBER_WAN,
		[MG_PROFILE_LOCAL] = MG_MEMBER_LOCAL,
	};
	char seeds[MG_CFG_MAX_SEEDS][MG_ADDRSTRLEN + 10];
	const char *sp[MG_CFG_MAX_SEEDS + REJOIN_MAX];
	int err = 0, n = 0;

	if (!mc)
		return -ENOMEM;
	mg_member_cfg_init(mc, prof[cfg->profile]);
	if (cfg->profile == MG_PROFILE_LAN) {
		/*
		 * memberlist's LAN timers act on a death in 5 s or more; a
		 * gateway mesh must fail over in under 3 s (DESIGN §7).  A
		 * probe every 0.3 s, and a suspicion that needs one other
		 * accuser to end at its minimum, 3 x probe interval x
		 * max(1, log10(members)): 0.9 s up to ten gateways, 1.6 s at
		 * 64.  Measured by tests/bench/gossip.sh (loopback), death to
		 * withdrawal everywhere: 1.5 s at 16 gateways, 2.2 s (max
		 * 2.4 s) at 64; 0.5 s probes gave 3.0 s and 3.9 s.  Indirect
		 * probes, the TCP fallback and refutation keep 10% loss from
		 * killing anyone (tests/e2e/test_gossip_faults.sh).  Costs
		 * about a third more idle gossip bytes than 0.5 s probes.
		 */
		mc->t.probe_interval = 300;
		mc->t.probe_timeout = 200;
		mc->t.suspicion_mult = 3;
		mc->t.suspicion_max_mult = 4;
		/*
		 * Gossip every 50 ms: a change reaches every gateway in
		 * log(N) rounds, each a gossip interval (tests/sim
		 * model: p99 ~250 ms at 64 and ~290 ms at 255 gateways,
		 * against ~470 and ~570 at 100 ms).  An idle gateway
		 * sends nothing more (a tick without broadcasts sends
		 * nothing); a change costs the same retransmissions,
		 * only sooner.
		 */
		mc->t.gossip_interval = 50;
		mc->t.tcp_timeout = 2000;
	}
	/* A dead gateway held (gw_up) must not be reaped meanwhile. */
	if (mc->t.gossip_to_dead < cfg->hold_time * 1000 + 5000)
		mc->t.gossip_to_dead = cfg->hold_time * 1000 + 5000;
	snprintf(mc->name, sizeof(mc->name), "%s", cfg->gw_name);
	mc->bind = cfg->gossip_bind;
	mc->port = cfg->gossip_port;
	mc->advertise = cfg->gossip_advertise;
	mc->keyring = mesh->kr;
	mesh->retransmit_mult = mc->t.retransmit_mult;
	mesh->member = mg_member_new(mesh->loop, mc, &member_ops, mesh, &err);
	free(mc);
	if (!mesh->member) {
		pr_err("gossip on port %u: %s", cfg->gossip_port,
		       strerror(-err));
		return err ? err : -EINVAL;
	}
	for (int i = 0; i < cfg->n_seeds; i++) {
		char a[MG_ADDRSTRLEN];
		const struct mg_cfg_seed *s = &cfg->seeds[i];

		mg_addr_str(&s->addr, a, sizeof(a));
		if (s->addr.family == MG_AF_INET6)
			snprintf(seeds[n], sizeof(seeds[n]), "[%s]:%u", a, s->port);
		else
			snprintf(seeds[n], sizeof(seeds[n]), "%s:%u", a, s->port);
		/* Joining ourselves is pointless. */
		if (mg_addr_equal(&s->addr, &cfg->gossip_advertise) &&
		    s->port == cfg->gossip_port)
			continue;
		sp[n] = seeds[n];
		n++;
	}
	/* The gateways the last run saw alive (state_dir/members). */
	for (int i = 0; i < mesh->n_known; i++) {
		bool dup = false;

		for (int j = 0; j < n; j++)
			dup |= !strcmp(sp[j], mesh->known[i]);
		if (!dup)
			sp[n++] = mesh->known[i];
	}
	/* Until we hear from the gateways we expect, nothing is withdrawn. */
	mesh->expect_peers = n > 0;
	if (n && mg_member_join(mesh->member, sp, n) < 0)
		pr_warn("no seed could be tried yet; gossip will retry through push/pull");
	return 0;
}

static void on_liveness(void *arg)
{
	mesh_changed(arg);
}

static void on_hold_end(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	mesh_changed(arg);
}

int mg_mesh_new(struct mg_loop *loop, const struct mg_config *cfg,
		const struct mg_mesh_ops *ops, void *arg,
		struct mg_mesh **out)
{
	struct mg_state_cfg sc = { 0 };
	struct mg_mesh *mesh;
	int err;

	mesh = calloc(1, sizeof(*mesh));
	if (!mesh)
		return -ENOMEM;
	mesh->loop = loop;
	mesh->cfg = cfg;
	if (ops)
		mesh->ops = *ops;
	mesh->arg = arg;
	snprintf(mesh->eps_path, sizeof(mesh->eps_path), "%s/endpoints",
		 cfg->state_dir);
	snprintf(mesh->keys_path, sizeof(mesh->keys_path), "%s/keyring",
		 cfg->state_dir);
	snprintf(mesh->members_path, sizeof(mesh->members_path), "%s/members",
		 cfg->state_dir);
	mesh_read_lines(mesh->members_path, mesh_load_member, mesh);
	snprintf(mesh->drain_path, sizeof(mesh->drain_path), "%s/draining",
		 cfg->state_dir);
	if (!access(mesh->drain_path, F_OK)) {
		mesh->mode = "draining";
		pr_warn("draining (since before the restart; `meshgate undrain` ends it)");
	}
	snprintf(mesh->serf_path, sizeof(mesh->serf_path), "%s/serf_clock",
		 cfg->state_dir);
	mesh->serf = mg_serf_new(cfg->gw_name);
	if (!mesh->serf) {
		err = -ENOMEM;
		goto fail;
	}
	mesh_read_lines(mesh->serf_path, mesh_load_serf_clock, mesh);

	mesh_read_lines(mesh->eps_path, mesh_load_cli_ep, mesh);
	/* The keyring file, once written by `keys`, outranks the config. */
	if (mesh_read_lines(mesh->keys_path, mesh_load_key, mesh) <= 0) {
		mg_keyring_clear(&mesh->kr);
		for (int i = 0; i < cfg->n_keys; i++)
			mg_keyring_add_b64(&mesh->kr, cfg->keys[i], i == 0);
	}

	sc.name = cfg->gw_name;
	sc.cluster_id = cfg->cluster_id;
	sc.cluster_name = cfg->cluster_name;
	sc.on_change = mesh_on_state_change;
	sc.ctx = mesh;
	err = mg_state_new(&sc, &mesh->st);
	if (err)
		goto fail;
	mesh_sync_local(mesh);

	if (cfg->gossip_enabled) {
		mesh->started_ms = mg_now_ms();
		err = start_member(mesh);
		if (err)
			goto fail;
		/* our status time, newer than the last run's leave */
		mesh_send_join_intent(mesh);
		mesh->settle_timer =
			mg_loop_add_timer(loop, cfg->settle_timeout * 1000, 0,
					  mesh_on_settle_timeout, mesh);
		mesh->ae_ms = ae_ms[cfg->profile];
		mesh->ae_timer = mg_loop_add_timer(
			loop, mesh->ae_ms, mesh->ae_ms, mesh_on_ae, mesh);
		mesh->gc_timer =
			mg_loop_add_timer(loop, GC_MS, GC_MS, mesh_on_gc, mesh);
		mesh->rejoin_timer = mg_loop_add_timer(loop,
						       REJOIN_AE * mesh->ae_ms,
						       REJOIN_AE * mesh->ae_ms,
						       mesh_on_rejoin, mesh);
		if (!mesh->ae_timer || !mesh->gc_timer || !mesh->rejoin_timer ||
		    !mesh->settle_timer) {
			err = -ENOMEM;
			goto fail;
		}
		mesh->hold_timer = mg_loop_add_timer(loop, 0, 0, on_hold_end,
						     mesh);
		mesh->release_timer = mg_loop_add_timer(
			loop, 0, 0, mesh_on_view_release, mesh);
		err = cfg->echo_interval ?
		      mg_liveness_new(loop, cfg, on_liveness, mesh, &mesh->lv) :
		      0;
		if (err)
			pr_warn("running without data-plane liveness: %s",
				strerror(-err));
		pr_info("gossip on port %u (%s profile, %s)", cfg->gossip_port,
			cfg->profile == MG_PROFILE_WAN ? "wan" :
			cfg->profile == MG_PROFILE_LOCAL ? "local" : "lan",
			mesh->kr.n ? "encrypted" : "not encrypted");
	}
	*out = mesh;
	return 0;
fail:
	mg_mesh_free(mesh);
	return err;
}

void mg_mesh_free(struct mg_mesh *mesh)
{
	if (!mesh)
		return;
	mg_loop_del(mesh->loop, mesh->ae_timer);
	mg_loop_del(mesh->loop, mesh->gc_timer);
	mg_loop_del(mesh->loop, mesh->rejoin_timer);
	mg_loop_del(mesh->loop, mesh->leave_timer);
	mg_loop_del(mesh->loop, mesh->hold_timer);
	mg_loop_del(mesh->loop, mesh->release_timer);
	mg_liveness_free(mesh->lv);
	mg_loop_del(mesh->loop, mesh->settle_timer);
	mg_member_free(mesh->member);
	mg_serf_free(mesh->serf);
	free(mesh->keyq);
	mg_state_free(mesh->st);
	free(mesh->route_eps);
	free(mesh->local);
	mesh_policy_free(&mesh->pol);
	free(mesh->members);
	free(mesh->pfx);
	free(mesh);
}
