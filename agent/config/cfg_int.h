/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's configuration file: INI, read with libinih.
 *
 * libinih splits lines into section, key and value, trims blanks and strips
 * ';' comments.  What it does not give is the line number (Debian builds it
 * without INI_HANDLER_LINENO) or a section it has not truncated (50 bytes),
 * so every line reaches it through cfg_reader(), which counts lines and
 * takes the section headers itself.  libinih calls the handler for a line
 * before it asks the reader for the next one, so the reader's count is the
 * handler's line.
 *
 * Every problem becomes one line "PATH:LINE: [section] key: message" and
 * parsing goes on, so one run shows them all.  The checks that need the
 * whole file (required keys, cluster ids, overlapping CIDRs, tunnel
 * addresses) run after the last line.
 *
 * Its insides, shared by the files of agent/config/; callers use config.h.
 *
 *   config/values.c  the value parsers, one per kind of value
 *   config/keys.c    the key table (a new key: a K_ row here, a row there)
 *   config/parse.c   sections, the line reader, the handler
 *   config/checks.c  the whole-file checks
 *   config/load.c    defaults, load, the host checks
 */
#ifndef MG_CFG_INT_H
#define MG_CFG_INT_H

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>
#include <ini.h>
#include "config.h"
#include "memberlist/crypto.h"
#include "maplimits.h"
#include "lib/log.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define CFG_FILE_MAX	(1 << 20)	/* a real config is a few KiB */
#define CFG_QUOTE_MAX	64		/* longest value quoted in a message */
#define CFG_SECT_MAX	(MG_CFG_NAME_MAX + 8)
#define SVC_OWNER(i)	(MG_CFG_MAX_PEERS + 1 + (i))

enum cfg_sect {
	SECT_NONE,	/* before the first header */
	SECT_AGENT,
	SECT_CLUSTER,
	SECT_GATEWAY,
	SECT_GOSSIP,
	SECT_LIMITS,
	SECT_METRICS,
	SECT_POLICY,	/* the last simple section: see cfg_section() */
	SECT_PEER,
	SECT_SERVICE,
	SECT_BAD,	/* reported at its header; its keys are skipped */
	SECT_MAX,
};

static const char *const sect_names[SECT_MAX] = {
	[SECT_AGENT] = "agent", [SECT_CLUSTER] = "cluster",
	[SECT_GATEWAY] = "gateway", [SECT_GOSSIP] = "gossip",
	[SECT_PEER] = "peer", [SECT_SERVICE] = "service",
	[SECT_LIMITS] = "limits", [SECT_METRICS] = "metrics",
	[SECT_POLICY] = "policy",
};

enum cfg_key_id {
	K_PIN_DIR, K_LOG_LEVEL, K_STATE_DIR, K_CONTROL_SOCKET,
	K_CLUSTER_NAME, K_CLUSTER_ID, K_CLUSTER_CIDR, K_ROUTE_TABLE,
	K_ROUTE_PROTOCOL,
	K_GW_NAME, K_GW_TUNNEL, K_CLUSTER_IF, K_UNDERLAY_IF, K_XDP_MODE,
	K_VXLAN_PORT, K_NEXTHOP, K_FRAGMENT, K_MSS_CLAMP, K_UDP6_CSUM,
	K_HOST_DEVICE,
	K_GOSSIP, K_GOSSIP_BIND, K_GOSSIP_PORT, K_GOSSIP_ADVERTISE, K_PROFILE,
	K_SEED, K_KEY, K_SETTLE_TIMEOUT,
	K_ECHO_INTERVAL, K_ECHO_MULT, K_HOLD_TIME, K_FORGET_AFTER, K_DRAIN_HOOK,
	K_PEER_CLUSTER, K_PEER_CLUSTER_ID, K_PEER_TUNNEL, K_PEER_CIDR,
	K_SVC_VIP, K_SVC_PORT, K_SVC_PROTO, K_SVC_AFFINITY, K_SVC_MIN_LOCAL,
	K_SVC_BACKEND, K_SVC_INTERVAL, K_SVC_TIMEOUT, K_SVC_RISE, K_SVC_FALL,
	K_SVC_OUTLIER_CONSEC, K_SVC_OUTLIER_BASE, K_SVC_OUTLIER_PCT,
	K_SVC_ON_NO_BACKEND, K_SVC_RATE_PPS, K_SVC_RATE_BURST,
	K_SVC_NEWFLOW_RATE, K_SVC_NEWFLOW_BURST, K_SVC_MAX_FLOWS,
	K_LIM_EP, K_LIM_LOCAL, K_LIM_FLOWS, K_LIM_PINS, K_LIM_PFX,
	K_METRICS_LISTEN,
	K_POL_DEFAULT_IN, K_POL_DEFAULT_OUT, K_POL_RULE,
	K_MAX,
};

struct cfg_key;
typedef int (*cfg_parse_fn)(const struct cfg_key *k, const char *val,
			    void *dst, char *msg, size_t msglen);

/* One key: where it lives, how it is parsed, what it allows. */
struct cfg_key {
	const char *name;
	enum cfg_sect sect;
	cfg_parse_fn parse;
	size_t off;		/* in struct mg_config, or mg_cfg_peer */
	size_t size;		/* of the field; of one element if repeat */
	size_t n_off;		/* repeat: the element count beside it */
	unsigned long min, max;	/* numbers: range; strings: max length */
	const char *const *choices;	/* indexed by the enum's value */
	bool required;
	bool repeat;
};

/* Everything the reader and the handler share during one parse. */
struct cfg_parse {
	struct mg_config *cfg;
	FILE *errf;
	int errors;

	const char *pos;	/* next unread byte of the text */
	int line;		/* of the line last handed to libinih */
	bool expect_kv;		/* that line must reach the handler */
	bool handled;		/* ... and did */

	enum cfg_sect sect;
	char label[CFG_SECT_MAX];	/* of sect, as messages show it */
	int peer;		/* index in cfg->peers when sect == SECT_PEER */
	int svc;		/* index in cfg->services when SECT_SERVICE */
	int sect_line[SECT_MAX];	/* first header of each section */

	/*
	 * Owner 0 is this gateway, owner i + 1 is cfg->peers[i], owner
	 * SVC_OWNER(i) is cfg->services[i].
	 */
	int key_line[MG_CFG_MAX_PEERS + 1 + MG_CFG_MAX_SERVICES][K_MAX];
	int cidr_line[MG_CFG_MAX_PEERS + 1][MG_CFG_MAX_CIDRS];
	int tunnel_line[MG_CFG_MAX_PEERS + 1][MG_CFG_MAX_TUNNELS];
};

_Static_assert(sizeof(enum mg_xdp_mode) == sizeof(int) &&
	       sizeof(enum mg_nh_mode) == sizeof(int) &&
	       sizeof(enum mg_frag_mode) == sizeof(int),
	       "choice keys are stored as int");

static inline bool name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == n;
}

void cfg_err(struct cfg_parse *ps, int line, const char *sect,
		    const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int parse_uint(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen);
int parse_choice(const struct cfg_key *k, const char *val, void *dst,
			char *msg, size_t msglen);
int parse_log_level(const struct cfg_key *k, const char *val,
			   void *dst, char *msg, size_t msglen);
int parse_name(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen);
int parse_bool(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen);
int parse_ifname(const struct cfg_key *k, const char *val, void *dst,
			char *msg, size_t msglen);
int parse_path(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen);
int parse_addr(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen);
int parse_cidr(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen);
int parse_mss(const struct cfg_key *k, const char *val, void *dst,
		     char *msg, size_t msglen);
int parse_seed(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen);
int parse_listen(const struct cfg_key *k, const char *val, void *dst,
			char *msg, size_t msglen);
int parse_key(const struct cfg_key *k, const char *val, void *dst,
		     char *msg, size_t msglen);
int parse_backend(const struct cfg_key *k, const char *val, void *dst,
			 char *msg, size_t msglen);
extern const char *const pol_verdicts[];
int parse_pol_rule(const struct cfg_key *k, const char *val,
			  void *dst, char *msg, size_t msglen);
int parse_vip(const struct cfg_key *k, const char *val, void *dst,
		     char *msg, size_t msglen);
extern const struct cfg_key cfg_keys[K_MAX];
const struct cfg_key *cfg_key_find(enum cfg_sect sect, const char *name);
const struct cfg_key *cfg_key_nearest(enum cfg_sect sect,
					     const char *name);
const char *owner_sect(const struct mg_config *cfg, int owner,
			      enum cfg_sect sect, char *buf, size_t len);
char *cfg_reader(char *str, int num, void *stream);
int cfg_handler(void *user, const char *section, const char *name,
		       const char *value);
void check_required(struct cfg_parse *ps);
void check_policy(struct cfg_parse *ps);
void check_services(struct cfg_parse *ps);
void check_clusters(struct cfg_parse *ps);
void check_host_dev(struct cfg_parse *ps);
void check_tunnels(struct cfg_parse *ps);
void set_tunnels(struct mg_config *cfg);
void check_cidrs(struct cfg_parse *ps);
void check_outside_cidrs(struct cfg_parse *ps);

#endif
