// SPDX-License-Identifier: GPL-2.0-only
/*
 * The maps made to agree with what the agent knows: the view, the host's
 * device and routes, the tx ports, the underlay next hops.
 */
#include "agent_int.h"

int agent_view(struct agent *a)
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
unsigned int agent_host_mtu(struct agent *a)
{
	struct mg_nl_link l;
	unsigned int over = mg_config_tunnel(a->cfg, MG_AF_INET6) ?
				    MG_ENCAP6_LEN :
				    MG_ENCAP4_LEN;
	int idx = mg_nl_ifindex(a->cfg->underlay_if);

	if (idx <= 0 || mg_nl_link_get(a->nl, idx, &l) || l.mtu < 576 + over)
		return 0;
	return l.mtu - over;
}

/* The host's routes into its device: remote prefixes and VIPs. */
void agent_sync_host(struct agent *a)
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

	if (bpf_map_update_elem(bpf_map__fd(a->dp.skel->maps.mg_gwstate), &key,
				&v, BPF_ANY))
		pr_warn("mg_gwstate: %s", strerror(errno));
}

void agent_sync_view(struct agent *a)
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
int agent_sync_tx(struct agent *a)
{
	__u32 keys[2], n = 0;
	int idx;

	idx = mg_nl_ifindex(a->cfg->cluster_if);
	if (idx > 0)
		keys[n++] = idx;
	idx = mg_nl_ifindex(a->cfg->underlay_if);
	if (idx > 0 && (n == 0 || keys[0] != (__u32)idx))
		keys[n++] = idx;
	return mg_map_reconcile(a->tx_fd, "mg_tx", sizeof(__u32), sizeof(__u32),
				keys, keys, n, NULL);
}

/*
 * Resolve the next hop of every peer tunnel address we send to into
 * mg_nh4_v2 / mg_nh6, with the path MTU.  Returns the number still
 * unresolved (the datapath falls back to the FIB for those, and the
 * kernel is asked to resolve them).
 */
int agent_sync_nh(struct agent *a)
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
		pending = 1; /* try again soon */
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
