// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a reload changes: a running agent applies the log level, static
 * peers, services, the cluster's CIDRs and route_table/route_protocol
 * (our endpoints), the gossip keys
 * and the gossip settings read where they are used (forget_after,
 * drain_hook, settle_timeout); everything else waits for its next start
 * and is named, so that no edit is silently left unapplied.  Map sizes
 * ([limits], and auto's sizes that follow the services) are named with the
 * maps and their sizes, old and new (see limits_diff()).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "maplimits.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define CFG_FIELD(key, f)						\
	{ key, offsetof(struct mg_config, f),				\
	  sizeof(((struct mg_config *)0)->f) }

/* What a reload does not apply: the running value stays until a restart. */
static const struct {
	const char *key;
	size_t off, size;
} restart_fields[] = {
	CFG_FIELD("pin_dir", pin_dir),
	CFG_FIELD("state_dir", state_dir),
	CFG_FIELD("control_socket", control_socket),
	CFG_FIELD("[cluster] name", cluster_name),
	CFG_FIELD("[cluster] id", cluster_id),
	CFG_FIELD("[gateway] name", gw_name),
	CFG_FIELD("tunnel_address", n_tunnels),
	CFG_FIELD("tunnel_address", tunnels),
	CFG_FIELD("cluster_interface", cluster_if),
	CFG_FIELD("underlay_interface", underlay_if),
	CFG_FIELD("xdp_mode", xdp_mode),
	CFG_FIELD("vxlan_port", vxlan_port),
	CFG_FIELD("nexthop", nh_mode),
	CFG_FIELD("fragment", fragment),
	CFG_FIELD("mss_clamp", mss_clamp),
	CFG_FIELD("udp6_checksum", udp6_checksum),
	CFG_FIELD("host_device", host_dev),
	CFG_FIELD("[gossip] enabled", gossip_enabled),
	CFG_FIELD("bind_address", gossip_bind),
	CFG_FIELD("[gossip] port", gossip_port),
	CFG_FIELD("advertise_address", gossip_advertise),
	CFG_FIELD("profile", profile),
	CFG_FIELD("seed", n_seeds),
	CFG_FIELD("seed", seeds),
	/*
	 * Taken at start: the probe timers and the detect time, and the
	 * time memberlist keeps a dead member (above hold_time).
	 */
	CFG_FIELD("echo_interval", echo_interval),
	CFG_FIELD("echo_multiplier", echo_multiplier),
	CFG_FIELD("hold_time", hold_time),
};

/* Sections are equal when only the line they start at moved. */
static bool peers_equal(const struct mg_config *a, const struct mg_config *b)
{
	if (a->n_peers != b->n_peers)
		return false;
	for (int i = 0; i < a->n_peers; i++) {
		struct mg_cfg_peer x = a->peers[i], y = b->peers[i];

		x.line = y.line = 0;
		if (memcmp(&x, &y, sizeof(x)))
			return false;
	}
	return true;
}

static bool services_equal(const struct mg_config *a,
			   const struct mg_config *b)
{
	if (a->n_services != b->n_services)
		return false;
	for (int i = 0; i < a->n_services; i++) {
		struct mg_cfg_service x = a->services[i], y = b->services[i];

		x.line = y.line = 0;
		if (memcmp(&x, &y, sizeof(x)))
			return false;
	}
	return true;
}

/* Appends ", key" to a list, once (a key's fields are side by side). */
static void list_add(char *list, size_t len, const char *key)
{
	size_t n = strlen(list), k = strlen(key);

	if (n >= k && !strcmp(list + n - k, key))
		return;
	snprintf(list + n, len - n, "%s%s", n ? ", " : "", key);
}

/*
 * [limits], and the sizes auto gives (which follow the services): a map's
 * size is its max_entries, fixed when the map is created, and the running
 * program holds the maps.  A reload names each size that changed; the next
 * start (restart or upgrade) creates the maps at the new size and copies
 * the entries over (mg_limits_apply(), mg_limits_migrate()).
 */
static void limits_diff(const struct mg_config *old,
			const struct mg_config *new, char *restart, size_t len)
{
	static const struct {
		const char *key, *maps;
		size_t off, cfg_off;
	} keys[] = {
		{ "endpoints", "mg_ep4/6",
		  offsetof(struct mg_map_limits, endpoints),
		  offsetof(struct mg_cfg_limits, endpoints) },
		{ "local_endpoints", "mg_local4/6",
		  offsetof(struct mg_map_limits, local_endpoints),
		  offsetof(struct mg_cfg_limits, local_endpoints) },
		{ "flows", "mg_ct4/6, mg_rnat4/6",
		  offsetof(struct mg_map_limits, flows),
		  offsetof(struct mg_cfg_limits, flows) },
		{ "pinned_flows", "mg_pin",
		  offsetof(struct mg_map_limits, pinned_flows),
		  offsetof(struct mg_cfg_limits, pinned_flows) },
	};
	struct mg_map_limits a, b;
	char item[128];

	mg_limits_from_config(&a, old);
	mg_limits_from_config(&b, new);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		__u32 x, y, set;

		memcpy(&x, (const char *)&a + keys[i].off, sizeof(x));
		memcpy(&y, (const char *)&b + keys[i].off, sizeof(y));
		memcpy(&set, (const char *)&new->limits + keys[i].cfg_off,
		       sizeof(set));
		if (x == y)
			continue;
		/* auto: the size follows the services configured */
		snprintf(item, sizeof(item), "[limits] %s%s (%s %u -> %u)",
			 keys[i].key, set ? "" : " = auto", keys[i].maps, x,
			 y);
		list_add(restart, len, item);
	}
}

unsigned int mg_config_diff(const struct mg_config *old,
			    const struct mg_config *new, char *restart,
			    size_t len)
{
	struct mg_config *rest = malloc(sizeof(*rest));
	unsigned int ch = 0;

	restart[0] = '\0';
	if (old->log_level != new->log_level)
		ch |= MG_CFG_CH_LOG_LEVEL;
	if (!peers_equal(old, new))
		ch |= MG_CFG_CH_PEERS;
	if (!services_equal(old, new))
		ch |= MG_CFG_CH_SERVICES;
	if (old->n_cidrs != new->n_cidrs ||
	    memcmp(old->cidrs, new->cidrs, sizeof(old->cidrs)))
		ch |= MG_CFG_CH_CIDRS;
	if (old->route_table != new->route_table ||
	    old->route_protocol != new->route_protocol)
		ch |= MG_CFG_CH_ROUTES;
	if (old->n_keys != new->n_keys ||
	    memcmp(old->keys, new->keys, sizeof(old->keys)))
		ch |= MG_CFG_CH_KEYS;
	if (old->forget_after != new->forget_after ||
	    old->settle_timeout != new->settle_timeout ||
	    strcmp(old->drain_hook, new->drain_hook))
		ch |= MG_CFG_CH_GOSSIP_TIMES;
	for (size_t i = 0; i < ARRAY_SIZE(restart_fields); i++)
		if (memcmp((const char *)old + restart_fields[i].off,
			   (const char *)new + restart_fields[i].off,
			   restart_fields[i].size))
			list_add(restart, len, restart_fields[i].key);
	limits_diff(old, new, restart, len);
	/*
	 * Anything else (a key added later and not in either list) is
	 * named too, rather than silently left unapplied.
	 */
	if (!rest) {
		list_add(restart, len, "(not compared: out of memory)");
		return ch;
	}
	*rest = *new;
	memcpy(rest->path, old->path, sizeof(rest->path));
	rest->log_level = old->log_level;
	rest->n_peers = old->n_peers;
	memcpy(rest->peers, old->peers, sizeof(rest->peers));
	rest->n_services = old->n_services;
	memcpy(rest->services, old->services, sizeof(rest->services));
	rest->n_cidrs = old->n_cidrs;
	memcpy(rest->cidrs, old->cidrs, sizeof(rest->cidrs));
	rest->route_table = old->route_table;
	rest->route_protocol = old->route_protocol;
	rest->n_keys = old->n_keys;
	memcpy(rest->keys, old->keys, sizeof(rest->keys));
	rest->forget_after = old->forget_after;
	rest->settle_timeout = old->settle_timeout;
	memcpy(rest->drain_hook, old->drain_hook, sizeof(rest->drain_hook));
	rest->limits = old->limits;	/* limits_diff() names them */
	rest->cluster_if_line = old->cluster_if_line;
	rest->underlay_if_line = old->underlay_if_line;
	for (size_t i = 0; i < ARRAY_SIZE(restart_fields); i++)
		memcpy((char *)rest + restart_fields[i].off,
		       (const char *)old + restart_fields[i].off,
		       restart_fields[i].size);
	if (memcmp(rest, old, sizeof(*rest)))
		list_add(restart, len, "other keys");
	free(rest);
	return ch;
}
