// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon started, run and stopped: mg_agent_run().  How it is put
 * together: agent_int.h.
 */
#include "agent_int.h"

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
	    !mg_loop_add_signals(a->loop, sigs, 3, agent_on_signal, a)) {
		err = -errno ? -errno : -ENOMEM;
		pr_err("cannot start: %s", strerror(-err));
		goto out;
	}

	err = mg_mesh_new(
		a->loop, cfg,
		&(struct mg_mesh_ops){ .changed = agent_on_mesh_changed }, a,
		&a->mesh);
	if (err)
		goto out;
	err = mg_services_new(a->loop, cfg, agent_on_mesh_changed, a, &a->svcs);
	if (err)
		goto out;
	err = mg_policy_new(
		a->cfg,
		&(struct mg_pol_maps){
			.dst4 = bpf_map__fd(a->dp.skel->maps.mg_pold4),
			.dst6 = bpf_map__fd(a->dp.skel->maps.mg_pold6),
			.src4 = bpf_map__fd(a->dp.skel->maps.mg_pols4),
			.src6 = bpf_map__fd(a->dp.skel->maps.mg_pols6),
			.port = bpf_map__fd(a->dp.skel->maps.mg_polp),
			.verdict = bpf_map__fd(a->dp.skel->maps.mg_polv),
			.cfg = bpf_map__fd(a->dp.skel->maps.mg_polcfg) },
		&a->pol);
	if (err)
		goto out;
	/* Ours gossiped, the other clusters' learned (docs/policy.md). */
	err = mg_policy_gossip(a->pol, mg_mesh_state(a->mesh), a->loop);
	if (err)
		goto out;
	if (cfg->route_table || cfg->route_protocol)
		agent_on_route_timer(NULL, 0, a);

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
				"source remote gateways accept",
				cfg->cluster_if);
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

	a->view_armed = true; /* the timer below starts armed */
	if (!mg_loop_add_fd(a->loop, mg_nl_event_fd(a->nl), EPOLLIN,
			    agent_on_netlink, a) ||
	    !(a->nh_timer = mg_loop_add_timer(a->loop, NH_RETRY_MS, 0,
					      agent_on_nh_timer, a)) ||
	    !(a->view_timer = mg_loop_add_timer(a->loop, VIEW_DEBOUNCE_MS, 0,
						agent_on_view_timer, a)) ||
	    !(a->route_timer = mg_loop_add_timer(a->loop, 0, 0,
						 agent_on_route_timer, a))) {
		err = -errno ? -errno : -ENOMEM;
		goto out;
	}
	if (mg_ctgc_new(a->loop,
			&(struct mg_ctgc_maps){
				bpf_map__fd(a->dp.skel->maps.mg_ct4_v2),
				bpf_map__fd(a->dp.skel->maps.mg_rnat4),
				bpf_map__fd(a->dp.skel->maps.mg_ct6_v2),
				bpf_map__fd(a->dp.skel->maps.mg_rnat6) },
			&a->ctgc))
		pr_warn("expired flows stay in the maps until the LRU takes them");
	else
		mg_ctgc_set_beflows(a->ctgc,
				    bpf_map__fd(a->dp.skel->maps.mg_beflows));
	a->started_ms = mg_now_ms();
	a->ctl = mg_ctl_open(a->loop, cfg->control_socket, agent_served_table(),
			     a);
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
	a->pol = NULL; /* the mesh may still call on_mesh_changed */
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
