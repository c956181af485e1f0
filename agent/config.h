/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MG_CONFIG_H
#define MG_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <net/if.h>
#include <stdio.h>
#include <meshgate/settings.h>
#include "lib/addr.h"
#include "policy.h"

#define MG_DEFAULT_CONFIG	"/etc/meshgate/meshgate.conf"
#define MG_CFG_NAME_MAX		64	/* cluster, gateway and peer names */
#define MG_CFG_MAX_CIDRS	32	/* per cluster */
#define MG_CFG_MAX_PEERS	64	/* static [peer NAME] sections */
#define MG_CFG_MAX_SEEDS	16	/* [gossip] seed lines */
#define MG_CFG_MAX_KEYS		8	/* [gossip] key lines */
#define MG_CFG_KEY_B64_MAX	64	/* base64 of a 32-byte key is 44 */
#define MG_CFG_MAX_TUNNELS	2	/* tunnel addresses: one per family */
#define MG_GOSSIP_PORT_DEFAULT	7946
#define MG_SETTLE_TIMEOUT_DEFAULT	30	/* seconds, [gossip] settle_timeout */
#define MG_METRICS_PORT_DEFAULT	9466	/* [metrics] listen = on */

#define MG_CFG_MAX_SERVICES	128	/* [service NAME] sections */
#define MG_CFG_MAX_BACKENDS	32	/* this cluster's backends per service */
#define MG_CFG_MAX_POL_RULES	256	/* [policy] rule lines */

enum mg_affinity { MG_AFFINITY_ANY, MG_AFFINITY_LOCAL, MG_AFFINITY_REMOTE };
enum mg_svc_proto { MG_SVC_TCP, MG_SVC_UDP };

/* "backend = ADDR:PORT [WEIGHT]" ([ADDR] when IPv6): one of this cluster's backends. */
struct mg_cfg_backend {
	struct mg_addr addr;			/* the VIP's family */
	__u16 port;				/* host order */
	__u16 weight;				/* 1..65535, default 100 */
};

/* [service NAME]: a global service and this cluster's backends of it. */
struct mg_cfg_service {
	char name[MG_CFG_NAME_MAX];
	struct mg_addr vip;			/* required, IPv4 or IPv6 */
	__u16 port;				/* required, host order */
	int proto;				/* enum mg_svc_proto, default tcp */
	int affinity;				/* enum mg_affinity, default any */
	__u16 min_local;			/* healthy local backends below
						 * which remote ones join in
						 * (affinity local); default 1 */
	__u32 health_interval;			/* ms, default 1000 */
	__u32 health_timeout;			/* ms, default 500 */
	__u8 rise, fall;			/* default 2 and 3 */
	/* Outlier ejection (agent/outlier.h): consecutive 0 = off. */
	__u32 outlier_consecutive;		/* default 5 */
	__u32 outlier_base_ms;			/* default 30000 */
	__u32 outlier_max_percent;		/* default 50 */
	/* Traffic controls (issue 13), 0 = none; datapath/ratelimit.h. */
	int on_no_backend;			/* enum mg_on_no_backend */
	__u32 rate_pps, rate_burst;		/* packets/s to the service */
	__u32 newflow_rate, newflow_burst;	/* new flows/s */
	__u32 max_flows_per_backend;
	int n_backends;
	struct mg_cfg_backend backends[MG_CFG_MAX_BACKENDS];
	int line;				/* where the section starts */
};

/* A new flow no backend can take: answered (RST / ICMP) or dropped. */
enum mg_on_no_backend { MG_NB_RESET, MG_NB_DROP };

#define MG_CFG_RATE_MAX		100000000	/* rate_pps, newflow_rate */

/* Defaults of a service (everything but name, vip and port). */
void mg_cfg_service_defaults(struct mg_cfg_service *s);
/* "IPV4:PORT [WEIGHT]" or "[IPV6]:PORT [WEIGHT]" into b; 0 or -EINVAL. */
int mg_cfg_backend_parse(const char *val, struct mg_cfg_backend *b);

#define MG_HOST_DEV_DEFAULT	"mg0"
#define MG_HOST_DEV_NONE	"none"

enum mg_xdp_mode { MG_XDP_NATIVE, MG_XDP_GENERIC };
enum mg_nh_mode { MG_NH_TABLE, MG_NH_FIB };
enum mg_gossip_profile { MG_PROFILE_LAN, MG_PROFILE_WAN, MG_PROFILE_LOCAL };
enum mg_frag_mode { MG_FRAGMENT_DROP, MG_FRAGMENT_STACK };

struct mg_cfg_seed {
	struct mg_addr addr;
	__u16 port;				/* host order; 0 = gossip port */
};

struct mg_cfg_peer {
	char name[MG_CFG_NAME_MAX];		/* from "[peer NAME]" */
	char cluster[MG_CFG_NAME_MAX];
	__u8 cluster_id;
	struct mg_addr tunnel;			/* the one this gateway sends to */
	int n_tunnels;				/* "tunnel_address" repeats, */
	struct mg_addr tunnels[MG_CFG_MAX_TUNNELS];	/* one per family */
	int n_cidrs;
	struct mg_prefix cidrs[MG_CFG_MAX_CIDRS];
	int line;				/* where the section starts */
};

/* [limits] prefix_lookup: how the datapath finds an endpoint (both families). */
enum mg_prefix_lookup {
	MG_PFX_LOOKUP_TABLE,	/* the compiled table (agent/prefix.h) */
	MG_PFX_LOOKUP_TRIE,	/* the mg_ep4 LPM trie alone */
};

struct mg_config {
	char path[PATH_MAX];

	/* [agent] */
	char pin_dir[PATH_MAX];			/* default MG_PIN_DIR_DEFAULT */
	int log_level;				/* enum mg_log_level, default info */
	char state_dir[PATH_MAX];		/* default /var/lib/meshgate */
	char control_socket[PATH_MAX];		/* default /run/meshgate/meshgate.sock */

	/* [cluster] */
	char cluster_name[MG_CFG_NAME_MAX];	/* required */
	__u8 cluster_id;			/* required, 1..255 */
	int n_cidrs;
	struct mg_prefix cidrs[MG_CFG_MAX_CIDRS];	/* "cidr" repeats */
	__u32 route_table;			/* routes in it are local endpoints; 0 = off */
	__u8 route_protocol;			/* routes of this protocol too; 0 = off */

	/* [gateway] */
	char gw_name[MG_CFG_NAME_MAX];		/* default: the host name */
	struct mg_addr tunnel;			/* the first of tunnels[] */
	int n_tunnels;				/* required: "tunnel_address" */
	struct mg_addr tunnels[MG_CFG_MAX_TUNNELS];	/* one per family */
	char cluster_if[IF_NAMESIZE];		/* required */
	char underlay_if[IF_NAMESIZE];		/* default: cluster_if */
	enum mg_xdp_mode xdp_mode;		/* default native */
	__u16 vxlan_port;			/* host order, default 4789 */
	enum mg_nh_mode nh_mode;		/* default table */
	enum mg_frag_mode fragment;		/* default drop */
	__u16 mss_clamp;			/* 0 off (default), MG_MSS_AUTO, or an MSS */
	int udp6_checksum;			/* default 1 */
	/*
	 * The device the host's own traffic to remote pods and VIPs is
	 * routed into (TC egress); "none": no such routes.  Default mg0.
	 */
	char host_dev[IF_NAMESIZE];

	/* [gossip] */
	int gossip_enabled;			/* default 1 */
	struct mg_addr gossip_bind;		/* default: tunnel address */
	__u16 gossip_port;			/* default 7946 */
	struct mg_addr gossip_advertise;	/* default: gossip_bind */
	enum mg_gossip_profile profile;		/* default lan */
	int n_seeds;
	struct mg_cfg_seed seeds[MG_CFG_MAX_SEEDS];
	int n_keys;				/* first is primary */
	char keys[MG_CFG_MAX_KEYS][MG_CFG_KEY_B64_MAX];
	/* data-plane liveness, drain and forget (liveness.h) */
	__u32 echo_interval;			/* ms per peer, 0 off; default 100 */
	__u32 echo_multiplier;			/* silent probes to down; default 3 */
	__u32 hold_time;			/* s a dead gateway whose datapath
						 * answers keeps its tunnels; 60 */
	__u32 forget_after;			/* s until a left or dead gateway's
						 * state goes; default 300 */
	char drain_hook[PATH_MAX];		/* run as HOOK drain|undrain; "" none */
	/*
	 * Seconds after start within which every live gateway's state should
	 * have arrived; past it the mesh settles without the ones still
	 * silent (and says which).  Default MG_SETTLE_TIMEOUT_DEFAULT.
	 */
	__u32 settle_timeout;

	/* [peer NAME], static peers (gateways that do not gossip) */
	int n_peers;
	struct mg_cfg_peer peers[MG_CFG_MAX_PEERS];

	/* [service NAME], global services */
	int n_services;
	struct mg_cfg_service services[MG_CFG_MAX_SERVICES];

	/* [limits]: map sizes, 0 = auto (agent/maplimits.h) */
	struct mg_cfg_limits {
		__u32 endpoints;		/* mg_ep4, mg_ep6 */
		__u32 local_endpoints;		/* mg_local4, mg_local6 */
		__u32 flows;			/* mg_ct4/6, mg_rnat4/6 */
		__u32 pinned_flows;		/* mg_pin */
		int prefix_lookup;		/* enum mg_prefix_lookup */
	} limits;

	/* [metrics] listen: where /metrics is served; port 0 = off (default) */
	struct mg_cfg_seed metrics_listen;

	/*
	 * [policy]: the policy of the traffic into this cluster (policy.h);
	 * defaults 0 = allow, 1 = deny (MG_POL_* is that + 1).
	 */
	int pol_default_in;
	int pol_default_out;
	int n_pol_rules;
	struct mg_pol_rule pol_rules[MG_CFG_MAX_POL_RULES];
	/* Where the keys mg_config_check_host() judges were set. */
	int cluster_if_line, underlay_if_line;
};

/*
 * Fill cfg with defaults, then parse the INI file at path over them and
 * check the whole (required keys, ranges, CIDR overlaps, duplicate names and
 * cluster ids).  Every problem is written to errf as one line
 * "PATH:LINE: [section] key: what is wrong" (LINE 0 for whole-file checks).
 * Returns 0, or -EINVAL after reporting every problem found, or -errno when
 * the file cannot be read.
 */
int mg_config_load(struct mg_config *cfg, const char *path, FILE *errf);

/* The same on a string already in memory (path is only used in messages). */
int mg_config_load_string(struct mg_config *cfg, const char *path,
			  const char *text, FILE *errf);

void mg_config_defaults(struct mg_config *cfg);

/*
 * What only this host can tell: the interfaces exist (in the current
 * network namespace).  Problems are reported as mg_config_load() does;
 * returns 0 or -ENODEV.
 */
int mg_config_check_host(const struct mg_config *cfg, FILE *errf);

/*
 * A name as [peer NAME], [service NAME] and the name keys take it: 1 to
 * MG_CFG_NAME_MAX - 1 of A-Z a-z 0-9 . _ -.  For names typed on the
 * command line, so that none is truncated or taken differently.
 */
bool mg_config_name_valid(const char *name);

/* What a reload applies (mg_config_diff()). */
#define MG_CFG_CH_LOG_LEVEL	(1u << 0)	/* [agent] log_level */
#define MG_CFG_CH_PEERS		(1u << 1)	/* [peer NAME] sections */
#define MG_CFG_CH_SERVICES	(1u << 2)	/* [service NAME] sections */
#define MG_CFG_CH_CIDRS		(1u << 3)	/* [cluster] cidr */
#define MG_CFG_CH_KEYS		(1u << 4)	/* [gossip] key */
/* [gossip] forget_after, drain_hook, settle_timeout: read where used */
#define MG_CFG_CH_GOSSIP_TIMES	(1u << 5)
#define MG_CFG_CH_ROUTES	(1u << 6)	/* route_table, route_protocol */

/*
 * What differs from old to new: the MG_CFG_CH_* a running agent applies,
 * and in restart (", "-separated keys) what it only takes at its next
 * start.  Sections that merely moved in the file are equal.
 */
unsigned int mg_config_diff(const struct mg_config *old,
			    const struct mg_config *new, char *restart,
			    size_t len);

/*
 * The configuration keys, for documentation generated from the table the
 * parser uses (build/mg-gen-docs man5|completion): key i in table order, false
 * past the last.  min/max are set for numbers only (both 0 otherwise).
 */
struct mg_config_key_info {
	const char *section;		/* "gateway", "peer", ... */
	const char *name;
	const char *kind;		/* "number", "address", "choice", ... */
	const char *const *choices;	/* NULL-ended, or NULL */
	unsigned long min, max;
	bool required, repeat;
	bool named;			/* [section NAME] */
};
bool mg_config_key_at(unsigned int i, struct mg_config_key_info *ki);

/* This gateway's tunnel address of a family (MG_AF_*), or NULL. */
const struct mg_addr *mg_config_tunnel(const struct mg_config *cfg,
				       __u8 family);

#endif
