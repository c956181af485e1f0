// SPDX-License-Identifier: GPL-2.0-only
/*
 * The checks that need the whole file: required keys, policy, services,
 * cluster ids, tunnel addresses and families, overlapping CIDRs.
 */
#include "config/cfg_int.h"

/* --- whole-file checks ---------------------------------------------------- */

void check_required(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;
	const struct cfg_key *k;
	char sect[CFG_SECT_MAX];
	int owner, line;

	for (k = cfg_keys; k < cfg_keys + K_MAX; k++) {
		if (!k->required)
			continue;
		for (int i = 0; k->sect == SECT_SERVICE &&
				i < cfg->n_services; i++) {
			if (ps->key_line[SVC_OWNER(i)][k - cfg_keys])
				continue;
			snprintf(sect, sizeof(sect), "service %s",
				 cfg->services[i].name);
			cfg_err(ps, cfg->services[i].line, sect, k->name,
				"required key is missing");
		}
		if (k->sect == SECT_SERVICE)
			continue;
		for (owner = 0; owner <= cfg->n_peers; owner++) {
			if ((k->sect == SECT_PEER) != !!owner ||
			    ps->key_line[owner][k - cfg_keys])
				continue;
			line = owner ? cfg->peers[owner - 1].line :
				       ps->sect_line[k->sect];
			cfg_err(ps, line,
				owner_sect(cfg, owner, k->sect, sect,
					   sizeof(sect)),
				k->name, k->repeat ?
				"required: at least one is needed" :
				"required key is missing");
		}
	}
}

/*
 * Health timeout within the interval; backends of the VIP's family; one
 * service per VIP:port/proto.
 */
/* [policy]: every rule id once. */
void check_policy(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;

	for (int i = 0; i < cfg->n_pol_rules; i++)
		for (int j = 0; j < i; j++)
			if (cfg->pol_rules[i].id == cfg->pol_rules[j].id)
				cfg_err(ps, ps->key_line[0][K_POL_RULE], "policy",
					"rule", "rule id %u used twice",
					cfg->pol_rules[i].id);
}

void check_services(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;
	char sect[CFG_SECT_MAX];

	for (int i = 0; i < cfg->n_services; i++) {
		const struct mg_cfg_service *s = &cfg->services[i];
		int o = SVC_OWNER(i);

		snprintf(sect, sizeof(sect), "service %s", s->name);
		if (s->health_timeout > s->health_interval)
			cfg_err(ps, ps->key_line[o][K_SVC_TIMEOUT] ?:
				ps->key_line[o][K_SVC_INTERVAL] ?: s->line,
				sect, "health_timeout",
				"%u ms is longer than health_interval (%u ms)",
				s->health_timeout, s->health_interval);
		for (int b = 0; s->vip.family && b < s->n_backends; b++) {
			char a[MG_ADDRSTRLEN];

			if (s->backends[b].addr.family == s->vip.family)
				continue;
			cfg_err(ps, ps->key_line[o][K_SVC_BACKEND] ?: s->line,
				sect, "backend",
				"backend %s is %s but the VIP is %s: one family per service",
				mg_addr_str(&s->backends[b].addr, a, sizeof(a)),
				s->backends[b].addr.family == MG_AF_INET ?
				"IPv4" : "IPv6",
				s->vip.family == MG_AF_INET ? "IPv4" : "IPv6");
			break;
		}
		for (int j = 0; j < i; j++) {
			const struct mg_cfg_service *t = &cfg->services[j];

			if (s->vip.family && mg_addr_equal(&s->vip, &t->vip) &&
			    s->port == t->port && s->proto == t->proto) {
				cfg_err(ps, ps->key_line[o][K_SVC_PORT] ?: s->line,
					sect, "port",
					"the same VIP, port and proto as [service %s] (line %d)",
					t->name, t->line);
				break;
			}
		}
	}
}

/* Cluster names and ids: one id per name, one name per id, not our own. */
void check_clusters(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;
	const struct mg_cfg_peer *p, *q;
	char sect[CFG_SECT_MAX];
	int i, j, o;

	for (i = 0; i < cfg->n_peers; i++) {
		p = &cfg->peers[i];
		o = i + 1;
		owner_sect(cfg, o, SECT_PEER, sect, sizeof(sect));
		if (!strcmp(p->name, cfg->gw_name))
			cfg_err(ps, p->line, sect, NULL,
				"a peer cannot have this gateway's own name");
		if (p->cluster_id && p->cluster_id == cfg->cluster_id) {
			cfg_err(ps, ps->key_line[o][K_PEER_CLUSTER_ID], sect,
				"cluster_id",
				"%u is this gateway's own cluster id; static peers are gateways of other clusters",
				p->cluster_id);
			continue;
		}
		if (p->cluster[0] && !strcmp(p->cluster, cfg->cluster_name)) {
			cfg_err(ps, ps->key_line[o][K_PEER_CLUSTER], sect,
				"cluster",
				"\"%s\" is this gateway's own cluster; static peers are gateways of other clusters",
				p->cluster);
			continue;
		}
		if (!p->cluster[0] || !p->cluster_id)
			continue;
		for (j = 0; j < i; j++) {
			q = &cfg->peers[j];
			if (!q->cluster[0] || !q->cluster_id)
				continue;
			if (!strcmp(p->cluster, q->cluster) &&
			    p->cluster_id != q->cluster_id) {
				cfg_err(ps, ps->key_line[o][K_PEER_CLUSTER_ID],
					sect, "cluster_id",
					"cluster \"%s\" has id %u in [peer %s] (line %d)",
					p->cluster, q->cluster_id, q->name,
					ps->key_line[j + 1][K_PEER_CLUSTER_ID]);
				break;
			}
			if (strcmp(p->cluster, q->cluster) &&
			    p->cluster_id == q->cluster_id) {
				cfg_err(ps, ps->key_line[o][K_PEER_CLUSTER_ID],
					sect, "cluster_id",
					"%u is already the id of cluster \"%s\" in [peer %s] (line %d)",
					p->cluster_id, q->cluster, q->name,
					ps->key_line[j + 1][K_PEER_CLUSTER_ID]);
				break;
			}
		}
	}
}

const struct mg_addr *mg_config_tunnel(const struct mg_config *cfg,
				       __u8 family)
{
	for (int i = 0; i < cfg->n_tunnels; i++)
		if (cfg->tunnels[i].family == family)
			return &cfg->tunnels[i];
	return NULL;
}

/* At most one address of each family in a list; reports the second. */
static void check_tunnel_families(struct cfg_parse *ps, int owner,
				  const struct mg_addr *t, int n)
{
	char sect[CFG_SECT_MAX], a[MG_ADDRSTRLEN];

	if (n == 2 && t[0].family == t[1].family)
		cfg_err(ps, ps->tunnel_line[owner][1],
			owner_sect(ps->cfg, owner, SECT_GATEWAY, sect,
				   sizeof(sect)),
			"tunnel_address",
			"%s is a second IPv%u address (line %d has one): at most one IPv4 and one IPv6",
			mg_addr_str(&t[1], a, sizeof(a)), t[1].family,
			ps->tunnel_line[owner][0]);
}

/*
 * A peer's address to send to: of a family this gateway has a tunnel
 * address in, IPv4 first (no UDP checksum to compute).
 */
static const struct mg_addr *peer_send_addr(const struct mg_config *cfg,
					    const struct mg_cfg_peer *p)
{
	static const __u8 pref[] = { MG_AF_INET, MG_AF_INET6 };

	for (size_t f = 0; f < ARRAY_SIZE(pref); f++) {
		if (!mg_config_tunnel(cfg, pref[f]))
			continue;
		for (int i = 0; i < p->n_tunnels; i++)
			if (p->tunnels[i].family == pref[f])
				return &p->tunnels[i];
	}
	return NULL;
}

/*
 * Tunnel addresses: one per family on each gateway, unique across the
 * mesh, and every peer reachable from one of ours (same family).
 */
/* The host device is one of the agent's own, never a gateway NIC. */
void check_host_dev(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;

	if (!strcmp(cfg->host_dev, cfg->cluster_if) ||
	    !strcmp(cfg->host_dev, cfg->underlay_if))
		cfg_err(ps, ps->key_line[0][K_HOST_DEVICE], "gateway",
			"host_device", "%s is a gateway interface: the agent "
			"makes this device itself (or \"none\")",
			cfg->host_dev);
}

void check_tunnels(struct cfg_parse *ps)
{
	struct mg_config *cfg = ps->cfg;
	struct mg_cfg_peer *p;
	char sect[CFG_SECT_MAX], a[MG_ADDRSTRLEN];
	int i, j, t, u, line;

	check_tunnel_families(ps, 0, cfg->tunnels, cfg->n_tunnels);
	for (i = 0; i < cfg->n_peers; i++) {
		p = &cfg->peers[i];
		check_tunnel_families(ps, i + 1, p->tunnels, p->n_tunnels);
		owner_sect(cfg, i + 1, SECT_PEER, sect, sizeof(sect));
		for (t = 0; t < p->n_tunnels; t++) {
			const struct mg_addr *pt = &p->tunnels[t];

			line = ps->tunnel_line[i + 1][t];
			mg_addr_str(pt, a, sizeof(a));
			for (u = 0; u < cfg->n_tunnels; u++)
				if (mg_addr_equal(&cfg->tunnels[u], pt))
					break;
			if (u < cfg->n_tunnels) {
				cfg_err(ps, line, sect, "tunnel_address",
					"%s is this gateway's own tunnel address",
					a);
				continue;
			}
			for (j = 0; j < i; j++) {
				for (u = 0; u < cfg->peers[j].n_tunnels; u++)
					if (mg_addr_equal(&cfg->peers[j].tunnels[u],
							  pt))
						break;
				if (u < cfg->peers[j].n_tunnels) {
					cfg_err(ps, line, sect, "tunnel_address",
						"%s is already the address of [peer %s] (line %d)",
						a, cfg->peers[j].name,
						ps->tunnel_line[j + 1][u]);
					break;
				}
			}
		}
		if (!p->n_tunnels || !cfg->n_tunnels)
			continue;
		if (!peer_send_addr(cfg, p)) {
			mg_addr_str(&p->tunnels[0], a, sizeof(a));
			cfg_err(ps, ps->tunnel_line[i + 1][0], sect,
				"tunnel_address",
				"%s is IPv%u but this gateway has no IPv%u tunnel_address (line %d) to reach it from",
				a, p->tunnels[0].family, p->tunnels[0].family,
				ps->tunnel_line[0][0]);
		}
	}
}

/* After the checks: the addresses the rest of the agent uses. */
void set_tunnels(struct mg_config *cfg)
{
	const struct mg_addr *a;

	if (cfg->n_tunnels)
		cfg->tunnel = cfg->tunnels[0];
	for (int i = 0; i < cfg->n_peers; i++) {
		struct mg_cfg_peer *p = &cfg->peers[i];

		a = peer_send_addr(cfg, p);
		if (!a && p->n_tunnels)
			a = &p->tunnels[0];
		if (a)
			p->tunnel = *a;
	}
}

struct cfg_owner {
	const char *cluster;
	const struct mg_prefix *cidrs;
	int n_cidrs;
};

static void cfg_owner(const struct mg_config *cfg, int owner,
		      struct cfg_owner *ow)
{
	if (!owner) {
		ow->cluster = cfg->cluster_name;
		ow->cidrs = cfg->cidrs;
		ow->n_cidrs = cfg->n_cidrs;
	} else {
		ow->cluster = cfg->peers[owner - 1].cluster;
		ow->cidrs = cfg->peers[owner - 1].cidrs;
		ow->n_cidrs = cfg->peers[owner - 1].n_cidrs;
	}
}

/*
 * No CIDR may overlap another of a different cluster, nor another in the
 * same list.  Gateways of one cluster list that cluster's CIDRs alike.
 */
void check_cidrs(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;
	char buf[CFG_SECT_MAX], osect[CFG_SECT_MAX];
	char a[MG_PREFIXSTRLEN], b[MG_PREFIXSTRLEN];
	struct cfg_owner ow, other;
	const char *sect;
	int o, x, p, y;

	for (o = 0; o <= cfg->n_peers; o++) {
		cfg_owner(cfg, o, &ow);
		sect = owner_sect(cfg, o, SECT_CLUSTER, buf, sizeof(buf));
		for (x = 0; x < ow.n_cidrs; x++) {
			for (p = 0; p <= o; p++) {
				cfg_owner(cfg, p, &other);
				if (p != o && ow.cluster[0] &&
				    !strcmp(ow.cluster, other.cluster))
					continue;
				for (y = 0; y < (p == o ? x : other.n_cidrs);
				     y++)
					if (mg_prefix_overlap(&ow.cidrs[x],
							      &other.cidrs[y]))
						break;
				if (y < (p == o ? x : other.n_cidrs))
					break;
			}
			if (p > o)
				continue;
			mg_prefix_str(&ow.cidrs[x], a, sizeof(a));
			mg_prefix_str(&other.cidrs[y], b, sizeof(b));
			if (p == o)
				cfg_err(ps, ps->cidr_line[o][x], sect, "cidr",
					"%s overlaps %s (line %d)", a, b,
					ps->cidr_line[p][y]);
			else
				cfg_err(ps, ps->cidr_line[o][x], sect, "cidr",
					"%s overlaps %s of cluster \"%s\" in [%s] (line %d)",
					a, b, other.cluster,
					owner_sect(cfg, p, SECT_CLUSTER, osect,
						   sizeof(osect)),
					ps->cidr_line[p][y]);
		}
	}
}

/*
 * The CIDR (of any cluster) an address falls in: -1 when none, else the
 * owner, with *idx its index.
 */
static int cidr_holding(const struct mg_config *cfg, const struct mg_addr *a,
			int *idx)
{
	struct cfg_owner ow;

	for (int o = 0; o <= cfg->n_peers; o++) {
		cfg_owner(cfg, o, &ow);
		for (int x = 0; x < ow.n_cidrs; x++) {
			if (mg_prefix_contains(&ow.cidrs[x], a)) {
				*idx = x;
				return o;
			}
		}
	}
	return -1;
}

/* One error for an address inside a pod CIDR, naming both. */
static void addr_in_cidr(struct cfg_parse *ps, int line, const char *sect,
			 const char *key, const struct mg_addr *a,
			 const char *why)
{
	const struct mg_config *cfg = ps->cfg;
	char as[MG_ADDRSTRLEN], ps_[MG_PREFIXSTRLEN], osect[CFG_SECT_MAX];
	struct cfg_owner ow;
	int x, o = cidr_holding(cfg, a, &x);

	if (o < 0)
		return;
	cfg_owner(cfg, o, &ow);
	cfg_err(ps, line, sect, key,
		"%s is inside %s, a pod CIDR of cluster \"%s\" ([%s] line %d): %s",
		mg_addr_str(a, as, sizeof(as)),
		mg_prefix_str(&ow.cidrs[x], ps_, sizeof(ps_)), ow.cluster,
		owner_sect(cfg, o, SECT_CLUSTER, osect, sizeof(osect)),
		ps->cidr_line[o][x], why);
}

/*
 * Tunnel addresses live on the underlay and VIPs beside the pods: one
 * inside a pod CIDR would be routed as a pod (into a tunnel, or to the
 * cluster side) instead of reaching the gateway or the service.
 */
void check_outside_cidrs(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;
	char sect[CFG_SECT_MAX];

	for (int o = 0; o <= cfg->n_peers; o++) {
		const struct mg_addr *t = o ? cfg->peers[o - 1].tunnels :
					      cfg->tunnels;
		int n = o ? cfg->peers[o - 1].n_tunnels : cfg->n_tunnels;
		const char *label = owner_sect(cfg, o, SECT_GATEWAY, sect,
					       sizeof(sect));

		for (int i = 0; i < n; i++)
			addr_in_cidr(ps, ps->tunnel_line[o][i], label,
				     "tunnel_address", &t[i],
				     "tunnel addresses are underlay addresses, outside every pod CIDR");
	}
	for (int i = 0; i < cfg->n_services; i++) {
		snprintf(sect, sizeof(sect), "service %s",
			 cfg->services[i].name);
		addr_in_cidr(ps, ps->key_line[SVC_OWNER(i)][K_SVC_VIP], sect,
			     "vip", &cfg->services[i].vip,
			     "a VIP must be outside every pod CIDR");
	}
}
