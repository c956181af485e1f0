// SPDX-License-Identifier: GPL-2.0-only
/*
 * The keys: one table row per key (where it lives, its parser, its range),
 * looked up by name (and the nearest one suggested), listed for the docs.
 */
#include "config/cfg_int.h"

/* --- the keys ------------------------------------------------------------- */

/* [limits]: "auto" (0) or a number of entries in the key's range. */
static int parse_limit(const struct cfg_key *k, const char *val, void *dst,
		       char *msg, size_t msglen)
{
	if (!strcasecmp(val, "auto")) {
		*(__u32 *)dst = MG_LIMIT_AUTO;
		return 0;
	}
	if (!parse_uint(k, val, dst, msg, msglen))
		return 0;
	snprintf(msg, msglen, "\"%.*s\" is not auto or a number of entries "
		 "from %lu to %lu", CFG_QUOTE_MAX, val, k->min, k->max);
	return -EINVAL;
}

static const char *const pfx_lookups[] = {
	[MG_PFX_LOOKUP_TABLE] = "table", [MG_PFX_LOOKUP_TRIE] = "trie", NULL
};
static const char *const xdp_modes[] = {
	[MG_XDP_NATIVE] = "native", [MG_XDP_GENERIC] = "generic", NULL
};
static const char *const nh_modes[] = {
	[MG_NH_TABLE] = "table", [MG_NH_FIB] = "fib", NULL
};
static const char *const profiles[] = {
	[MG_PROFILE_LAN] = "lan", [MG_PROFILE_WAN] = "wan",
	[MG_PROFILE_LOCAL] = "local", NULL
};
static const char *const svc_protos[] = {
	[MG_SVC_TCP] = "tcp", [MG_SVC_UDP] = "udp", NULL
};
static const char *const affinities[] = {
	[MG_AFFINITY_ANY] = "any", [MG_AFFINITY_LOCAL] = "local",
	[MG_AFFINITY_REMOTE] = "remote", NULL
};
static const char *const on_no_backends[] = {
	[MG_NB_RESET] = "reset", [MG_NB_DROP] = "drop", NULL
};
static const char *const frag_modes[] = {
	[MG_FRAGMENT_DROP] = "drop", [MG_FRAGMENT_STACK] = "stack", NULL
};

#define FIELD_SIZE(type, f)	sizeof(((type *)0)->f)
#define KEY(s, n, fn, type, f, ...)					\
	{ .name = (n), .sect = (s), .parse = (fn),			\
	  .off = offsetof(type, f), .size = FIELD_SIZE(type, f),	\
	  __VA_ARGS__ }
#define CFG(s, n, fn, f, ...)	KEY(s, n, fn, struct mg_config, f, __VA_ARGS__)
#define PEER(n, fn, f, ...) \
	KEY(SECT_PEER, n, fn, struct mg_cfg_peer, f, __VA_ARGS__)
#define SVC(n, fn, f, ...) \
	KEY(SECT_SERVICE, n, fn, struct mg_cfg_service, f, __VA_ARGS__)
#define TUNNELS(s, type)						\
	{ .name = "tunnel_address", .sect = (s), .parse = parse_addr,	\
	  .off = offsetof(type, tunnels), .size = sizeof(struct mg_addr), \
	  .n_off = offsetof(type, n_tunnels), .repeat = true,		\
	  .required = true, .max = MG_CFG_MAX_TUNNELS }
#define CIDRS(s, type)							\
	{ .name = "cidr", .sect = (s), .parse = parse_cidr,		\
	  .off = offsetof(type, cidrs), .size = sizeof(struct mg_prefix),	\
	  .n_off = offsetof(type, n_cidrs), .repeat = true, .required = true, \
	  .max = MG_CFG_MAX_CIDRS }

const struct cfg_key cfg_keys[K_MAX] = {
	[K_PIN_DIR] = CFG(SECT_AGENT, "pin_dir", parse_path, pin_dir),
	[K_LOG_LEVEL] = CFG(SECT_AGENT, "log_level", parse_log_level,
			    log_level),
	[K_STATE_DIR] = CFG(SECT_AGENT, "state_dir", parse_path, state_dir),
	[K_CONTROL_SOCKET] = CFG(SECT_AGENT, "control_socket", parse_path,
				 control_socket,
				 .max = FIELD_SIZE(struct sockaddr_un,
						   sun_path) - 1),

	[K_CLUSTER_NAME] = CFG(SECT_CLUSTER, "name", parse_name, cluster_name,
			       .required = true),
	[K_CLUSTER_ID] = CFG(SECT_CLUSTER, "id", parse_uint, cluster_id,
			     .min = 1, .max = 255, .required = true),
	[K_CLUSTER_CIDR] = CIDRS(SECT_CLUSTER, struct mg_config),
	[K_ROUTE_TABLE] = CFG(SECT_CLUSTER, "route_table", parse_uint,
			      route_table, .min = 0, .max = 0xffffffffUL),
	[K_ROUTE_PROTOCOL] = CFG(SECT_CLUSTER, "route_protocol", parse_uint,
				 route_protocol, .min = 0, .max = 255),

	[K_GW_NAME] = CFG(SECT_GATEWAY, "name", parse_name, gw_name),
	[K_GW_TUNNEL] = TUNNELS(SECT_GATEWAY, struct mg_config),
	[K_CLUSTER_IF] = CFG(SECT_GATEWAY, "cluster_interface", parse_ifname,
			     cluster_if, .required = true),
	[K_UNDERLAY_IF] = CFG(SECT_GATEWAY, "underlay_interface",
			      parse_ifname, underlay_if),
	[K_XDP_MODE] = CFG(SECT_GATEWAY, "xdp_mode", parse_choice, xdp_mode,
			   .choices = xdp_modes),
	[K_VXLAN_PORT] = CFG(SECT_GATEWAY, "vxlan_port", parse_uint,
			     vxlan_port, .min = 1, .max = 65535),
	[K_NEXTHOP] = CFG(SECT_GATEWAY, "nexthop", parse_choice, nh_mode,
			  .choices = nh_modes),
	[K_FRAGMENT] = CFG(SECT_GATEWAY, "fragment", parse_choice, fragment,
			   .choices = frag_modes),
	[K_MSS_CLAMP] = CFG(SECT_GATEWAY, "mss_clamp", parse_mss, mss_clamp,
			    .min = 256, .max = 65495),
	[K_UDP6_CSUM] = CFG(SECT_GATEWAY, "udp6_checksum", parse_bool,
			    udp6_checksum),
	[K_HOST_DEVICE] = CFG(SECT_GATEWAY, "host_device", parse_ifname,
			      host_dev),

	[K_GOSSIP] = CFG(SECT_GOSSIP, "enabled", parse_bool, gossip_enabled),
	[K_GOSSIP_BIND] = CFG(SECT_GOSSIP, "bind_address", parse_addr,
			      gossip_bind),
	[K_GOSSIP_PORT] = CFG(SECT_GOSSIP, "port", parse_uint, gossip_port,
			      .min = 1, .max = 65535),
	[K_GOSSIP_ADVERTISE] = CFG(SECT_GOSSIP, "advertise_address",
				   parse_addr, gossip_advertise),
	[K_PROFILE] = CFG(SECT_GOSSIP, "profile", parse_choice, profile,
			  .choices = profiles),
	[K_SEED] = { .name = "seed", .sect = SECT_GOSSIP, .parse = parse_seed,
		     .off = offsetof(struct mg_config, seeds),
		     .size = sizeof(struct mg_cfg_seed),
		     .n_off = offsetof(struct mg_config, n_seeds),
		     .repeat = true, .max = MG_CFG_MAX_SEEDS },
	[K_KEY] = { .name = "key", .sect = SECT_GOSSIP, .parse = parse_key,
		    .off = offsetof(struct mg_config, keys),
		    .size = MG_CFG_KEY_B64_MAX,
		    .n_off = offsetof(struct mg_config, n_keys),
		    .repeat = true, .max = MG_CFG_MAX_KEYS },
	[K_ECHO_INTERVAL] = CFG(SECT_GOSSIP, "echo_interval", parse_uint,
				echo_interval, .min = 0, .max = 60000),
	[K_ECHO_MULT] = CFG(SECT_GOSSIP, "echo_multiplier", parse_uint,
			    echo_multiplier, .min = 2, .max = 100),
	[K_HOLD_TIME] = CFG(SECT_GOSSIP, "hold_time", parse_uint, hold_time,
			    .min = 0, .max = 86400),
	[K_FORGET_AFTER] = CFG(SECT_GOSSIP, "forget_after", parse_uint,
			       forget_after, .min = 1, .max = 30 * 86400),
	[K_DRAIN_HOOK] = CFG(SECT_GOSSIP, "drain_hook", parse_path,
			     drain_hook),
	[K_SETTLE_TIMEOUT] = CFG(SECT_GOSSIP, "settle_timeout", parse_uint,
				 settle_timeout, .min = 1, .max = 3600),

	[K_PEER_CLUSTER] = PEER("cluster", parse_name, cluster,
				.required = true),
	[K_PEER_CLUSTER_ID] = PEER("cluster_id", parse_uint, cluster_id,
				   .min = 1, .max = 255, .required = true),
	[K_PEER_TUNNEL] = TUNNELS(SECT_PEER, struct mg_cfg_peer),
	[K_PEER_CIDR] = CIDRS(SECT_PEER, struct mg_cfg_peer),
	[K_SVC_VIP] = SVC("vip", parse_vip, vip, .required = true),
	[K_SVC_PORT] = SVC("port", parse_uint, port, .min = 1, .max = 65535,
			   .required = true),
	[K_SVC_PROTO] = SVC("proto", parse_choice, proto,
			    .choices = svc_protos),
	[K_SVC_AFFINITY] = SVC("affinity", parse_choice, affinity,
			       .choices = affinities),
	[K_SVC_MIN_LOCAL] = SVC("min_local", parse_uint, min_local, .min = 0,
				.max = MG_CFG_MAX_BACKENDS),
	[K_SVC_BACKEND] = { .name = "backend", .sect = SECT_SERVICE,
			    .parse = parse_backend,
			    .off = offsetof(struct mg_cfg_service, backends),
			    .size = sizeof(struct mg_cfg_backend),
			    .n_off = offsetof(struct mg_cfg_service, n_backends),
			    .repeat = true, .max = MG_CFG_MAX_BACKENDS },
	[K_SVC_INTERVAL] = SVC("health_interval", parse_uint, health_interval,
			       .min = 10, .max = 3600000),
	[K_SVC_TIMEOUT] = SVC("health_timeout", parse_uint, health_timeout,
			      .min = 1, .max = 3600000),
	[K_SVC_RISE] = SVC("rise", parse_uint, rise, .min = 1, .max = 100),
	[K_SVC_FALL] = SVC("fall", parse_uint, fall, .min = 1, .max = 100),
	[K_SVC_OUTLIER_CONSEC] = SVC("outlier_consecutive", parse_uint,
				     outlier_consecutive, .min = 0,
				     .max = 1000000),
	[K_SVC_OUTLIER_BASE] = SVC("outlier_base_ms", parse_uint,
				   outlier_base_ms, .min = 100,
				   .max = 3600000),
	[K_SVC_OUTLIER_PCT] = SVC("outlier_max_percent", parse_uint,
				  outlier_max_percent, .min = 0, .max = 100),
	[K_SVC_ON_NO_BACKEND] = SVC("on_no_backend", parse_choice,
				    on_no_backend, .choices = on_no_backends),
	[K_SVC_RATE_PPS] = SVC("rate_pps", parse_uint, rate_pps, .min = 0,
			       .max = MG_CFG_RATE_MAX),
	[K_SVC_RATE_BURST] = SVC("rate_burst", parse_uint, rate_burst,
				 .min = 0, .max = MG_CFG_RATE_MAX),
	[K_SVC_NEWFLOW_RATE] = SVC("newflow_rate", parse_uint, newflow_rate,
				   .min = 0, .max = MG_CFG_RATE_MAX),
	[K_SVC_NEWFLOW_BURST] = SVC("newflow_burst", parse_uint, newflow_burst,
				    .min = 0, .max = MG_CFG_RATE_MAX),
	[K_SVC_MAX_FLOWS] = SVC("max_flows_per_backend", parse_uint,
				max_flows_per_backend, .min = 0,
				.max = 100000000),

	[K_LIM_EP] = CFG(SECT_LIMITS, "endpoints", parse_limit,
			 limits.endpoints, .min = MG_LIMIT_EP_MIN,
			 .max = MG_LIMIT_EP_MAX),
	[K_LIM_LOCAL] = CFG(SECT_LIMITS, "local_endpoints", parse_limit,
			    limits.local_endpoints, .min = MG_LIMIT_LOCAL_MIN,
			    .max = MG_LIMIT_LOCAL_MAX),
	[K_LIM_FLOWS] = CFG(SECT_LIMITS, "flows", parse_limit, limits.flows,
			    .min = MG_LIMIT_FLOWS_MIN,
			    .max = MG_LIMIT_FLOWS_MAX),
	[K_LIM_PINS] = CFG(SECT_LIMITS, "pinned_flows", parse_limit,
			   limits.pinned_flows, .min = MG_LIMIT_PINS_MIN,
			   .max = MG_LIMIT_PINS_MAX),
	[K_LIM_PFX] = CFG(SECT_LIMITS, "prefix_lookup", parse_choice,
			  limits.prefix_lookup, .choices = pfx_lookups),

	[K_METRICS_LISTEN] = CFG(SECT_METRICS, "listen", parse_listen,
				 metrics_listen),

	[K_POL_DEFAULT_IN] = CFG(SECT_POLICY, "default_in", parse_choice,
				 pol_default_in, .choices = pol_verdicts),
	[K_POL_DEFAULT_OUT] = CFG(SECT_POLICY, "default_out", parse_choice,
				  pol_default_out, .choices = pol_verdicts),
	[K_POL_RULE] = { .name = "rule", .sect = SECT_POLICY,
			 .parse = parse_pol_rule,
			 .off = offsetof(struct mg_config, pol_rules),
			 .size = sizeof(struct mg_pol_rule),
			 .n_off = offsetof(struct mg_config, n_pol_rules),
			 .repeat = true, .max = MG_CFG_MAX_POL_RULES },
};

static const char *const log_levels_doc[] = {
	"error", "warn", "info", "debug", NULL
};

/* For generated documentation (mg-gen-docs): every key in table order. */
bool mg_config_key_at(unsigned int i, struct mg_config_key_info *ki)
{
	const struct cfg_key *k;

	if (i >= K_MAX)
		return false;
	k = &cfg_keys[i];
	memset(ki, 0, sizeof(*ki));
	ki->section = sect_names[k->sect];
	ki->name = k->name;
	ki->choices = k->choices;
	ki->required = k->required;
	ki->repeat = k->repeat;
	if (k->parse == parse_uint || k->parse == parse_mss ||
	    k->parse == parse_limit) {
		ki->min = k->min;
		ki->max = k->max;
	}
	ki->named = k->sect == SECT_PEER || k->sect == SECT_SERVICE;
	ki->kind = k->choices ? "choice" :
		   k->parse == parse_uint ? "number" :
		   k->parse == parse_limit ? "auto|number" :
		   k->parse == parse_bool ? "boolean" :
		   k->parse == parse_name ? "name" :
		   k->parse == parse_ifname ? "interface" :
		   k->parse == parse_path ? "path" :
		   k->parse == parse_addr || k->parse == parse_vip ?
			"address" :
		   k->parse == parse_cidr ? "cidr" :
		   k->parse == parse_seed ? "address[:port]" :
		   k->parse == parse_listen ? "off|on|port|address:port" :
		   k->parse == parse_backend ? "address:port [weight]" :
		   k->parse == parse_key ? "key" :
		   k->parse == parse_mss ? "off|auto|number" :
		   k->parse == parse_log_level ? "choice" : "value";
	if (k->parse == parse_log_level)
		ki->choices = log_levels_doc;
	return true;
}

const struct cfg_key *cfg_key_find(enum cfg_sect sect, const char *name)
{
	const struct cfg_key *k;

	for (k = cfg_keys; k < cfg_keys + K_MAX; k++)
		if (k->sect == sect && !strcmp(k->name, name))
			return k;
	return NULL;
}

/* Levenshtein distance, for "did you mean"; keys are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[CFG_QUOTE_MAX + 1];

	if (la > CFG_QUOTE_MAX || lb > CFG_QUOTE_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], up;

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = diag + (a[i - 1] != b[j - 1]);

			up = row[j];
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/*
 * The known key nearest to an unknown one: of its own section first, then
 * of any; NULL when none is close (a third of the name, at least 2).
 */
const struct cfg_key *cfg_key_nearest(enum cfg_sect sect,
					     const char *name)
{
	const struct cfg_key *best = NULL;
	size_t best_d = SIZE_MAX, max = strlen(name) / 3;

	if (max < 2)
		max = 2;
	for (int pass = 0; pass < 2 && !best; pass++) {
		for (const struct cfg_key *k = cfg_keys; k < cfg_keys + K_MAX;
		     k++) {
			size_t d;

			if (!pass && k->sect != sect)
				continue;
			d = edit_distance(name, k->name);
			if (d <= max && d < best_d) {
				best = k;
				best_d = d;
			}
		}
	}
	return best;
}

/* "[peer west-gw1]" for owner 2, "[cluster]" or "[gateway]" for owner 0. */
const char *owner_sect(const struct mg_config *cfg, int owner,
			      enum cfg_sect sect, char *buf, size_t len)
{
	if (!owner)
		return sect_names[sect];
	snprintf(buf, len, "peer %s", cfg->peers[owner - 1].name);
	return buf;
}
