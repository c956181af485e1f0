// SPDX-License-Identifier: GPL-2.0-only
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
 */
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

static void cfg_err(struct cfg_parse *ps, int line, const char *sect,
		    const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void cfg_err(struct cfg_parse *ps, int line, const char *sect,
		    const char *key, const char *fmt, ...)
{
	va_list ap;

	ps->errors++;
	if (!ps->errf)
		return;
	fprintf(ps->errf, "%s:%d: [%s]%s%s: ", ps->cfg->path, line, sect,
		key ? " " : "", key ? key : "");
	va_start(ap, fmt);
	vfprintf(ps->errf, fmt, ap);
	va_end(ap);
	fputc('\n', ps->errf);
}

/* --- values --------------------------------------------------------------- */

static int parse_uint(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (!isdigit((unsigned char)val[0]) || *end || errno ||
	    v < k->min || v > k->max) {
		snprintf(msg, msglen, "\"%.*s\" is not a number from %lu to %lu",
			 CFG_QUOTE_MAX, val, k->min, k->max);
		return -EINVAL;
	}
	if (k->size == sizeof(__u8))
		*(__u8 *)dst = (__u8)v;
	else if (k->size == sizeof(__u16))
		*(__u16 *)dst = (__u16)v;
	else
		*(__u32 *)dst = (__u32)v;
	return 0;
}

static int parse_choice(const struct cfg_key *k, const char *val, void *dst,
			char *msg, size_t msglen)
{
	size_t used = 0;
	int i;

	for (i = 0; k->choices[i]; i++) {
		if (!strcasecmp(val, k->choices[i])) {
			*(int *)dst = i;
			return 0;
		}
	}
	used = (size_t)snprintf(msg, msglen, "\"%.*s\" is not one of",
				CFG_QUOTE_MAX, val);
	for (i = 0; k->choices[i] && used < msglen; i++)
		used += (size_t)snprintf(msg + used, msglen - used, "%s%s",
					 i ? "|" : " ", k->choices[i]);
	return -EINVAL;
}

static int parse_log_level(const struct cfg_key *k, const char *val,
			   void *dst, char *msg, size_t msglen)
{
	int level = mg_log_level_parse(val);

	if (level < 0) {
		snprintf(msg, msglen,
			 "\"%.*s\" is not one of error|warn|info|debug",
			 CFG_QUOTE_MAX, val);
		return -EINVAL;
	}
	*(int *)dst = level;
	return 0;
}

static bool name_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == n;
}

bool mg_config_name_valid(const char *name)
{
	return name_valid(name, MG_CFG_NAME_MAX - 1);
}

static int parse_name(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen)
{
	if (!name_valid(val, k->size - 1)) {
		snprintf(msg, msglen,
			 "\"%.*s\" is not a name: 1 to %zu of A-Z a-z 0-9 . _ -",
			 CFG_QUOTE_MAX, val, k->size - 1);
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

/*
 * yes/no, true/false, on/off, 1/0: what operators write for a switch
 * (systemd and most daemons take all of them).
 */
static int parse_bool(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen)
{
	static const char *const words[] = {
		"no", "yes", "false", "true", "off", "on", "0", "1",
	};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		if (!strcasecmp(val, words[i])) {
			*(int *)dst = (int)(i & 1);
			return 0;
		}
	}
	snprintf(msg, msglen, "\"%.*s\" is not yes|no (or true|false, on|off)",
		 CFG_QUOTE_MAX, val);
	return -EINVAL;
}

/* The kernel's dev_valid_name(): no '/', ':' or blanks, not "." or "..". */
static int parse_ifname(const struct cfg_key *k, const char *val, void *dst,
			char *msg, size_t msglen)
{
	size_t n = strlen(val);
	const char *p;

	if (!n || n > k->size - 1 || !strcmp(val, ".") || !strcmp(val, ".."))
		goto bad;
	for (p = val; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) ||
		    !isprint((unsigned char)*p))
			goto bad;
	strcpy(dst, val);
	return 0;
bad:
	snprintf(msg, msglen,
		 "\"%.*s\" is not an interface name: 1 to %zu characters, no '/', ':' or blanks",
		 CFG_QUOTE_MAX, val, k->size - 1);
	return -EINVAL;
}

static int parse_path(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen)
{
	size_t max = k->max ? k->max : k->size - 1;

	if (val[0] != '/') {
		snprintf(msg, msglen, "\"%.*s\" is not an absolute path",
			 CFG_QUOTE_MAX, val);
		return -EINVAL;
	}
	if (strlen(val) > max) {
		snprintf(msg, msglen, "path longer than %zu characters", max);
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

static int parse_addr(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen)
{
	if (mg_addr_parse(val, dst)) {
		snprintf(msg, msglen, "\"%.*s\" is not an IPv4 or IPv6 address",
			 CFG_QUOTE_MAX, val);
		return -EINVAL;
	}
	return 0;
}

static int parse_cidr(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen)
{
	if (mg_prefix_parse(val, dst)) {
		snprintf(msg, msglen,
			 "\"%.*s\" is not a prefix: ADDRESS/LENGTH with the host bits zero, e.g. 10.1.0.0/16",
			 CFG_QUOTE_MAX, val);
		return -EINVAL;
	}
	return 0;
}

/* "off", "auto" or an MSS in bytes. */
static int parse_mss(const struct cfg_key *k, const char *val, void *dst,
		     char *msg, size_t msglen)
{
	unsigned long v;
	char *end;

	if (!strcasecmp(val, "off")) {
		*(__u16 *)dst = 0;
		return 0;
	}
	if (!strcasecmp(val, "auto")) {
		*(__u16 *)dst = MG_MSS_AUTO;
		return 0;
	}
	errno = 0;
	v = strtoul(val, &end, 10);
	if (!isdigit((unsigned char)val[0]) || *end || errno || v < k->min ||
	    v > k->max) {
		snprintf(msg, msglen,
			 "\"%.*s\" is not off, auto or an MSS from %lu to %lu",
			 CFG_QUOTE_MAX, val, k->min, k->max);
		return -EINVAL;
	}
	*(__u16 *)dst = (__u16)v;
	return 0;
}

/* "ADDR", "ADDR:PORT" or "[IPV6]:PORT": a gossip seed. */
static int parse_seed(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen)
{
	struct mg_cfg_seed *seed = dst;
	char host[MG_ADDRSTRLEN + 2];
	const char *colon = strrchr(val, ':'), *port = NULL;
	unsigned long v;
	char *end;

	memset(seed, 0, sizeof(*seed));
	if (val[0] == '[') {
		const char *close = strchr(val, ']');

		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(close - val - 1),
			 val + 1);
		port = close[1] ? close + 2 : NULL;
	} else if (colon && strchr(val, ':') == colon) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - val), val);
		port = colon + 1;
	} else {
		snprintf(host, sizeof(host), "%s", val);
	}
	if (mg_addr_parse(host, &seed->addr))
		goto bad;
	if (port) {
		errno = 0;
		v = strtoul(port, &end, 10);
		if (!isdigit((unsigned char)port[0]) || *end || errno || !v ||
		    v > 65535)
			goto bad;
		seed->port = (__u16)v;
	}
	return 0;
bad:
	snprintf(msg, msglen,
		 "\"%.*s\" is not a seed: ADDRESS, ADDRESS:PORT or [IPV6]:PORT",
		 CFG_QUOTE_MAX, val);
	return -EINVAL;
}

/*
 * [metrics] listen: "off" (the default), "on" (127.0.0.1:9466), "PORT" (on
 * 127.0.0.1: metrics are for the host's own scraper unless an address says
 * otherwise), "ADDR:PORT" or "[IPV6]:PORT".
 */
static int parse_listen(const struct cfg_key *k, const char *val, void *dst,
			char *msg, size_t msglen)
{
	struct mg_cfg_seed *l = dst;
	unsigned long port = MG_METRICS_PORT_DEFAULT;
	char *end;

	memset(l, 0, sizeof(*l));
	if (!strcmp(val, "off"))
		return 0;
	if (!strcmp(val, "on") ||
	    (val[0] && strspn(val, "0123456789") == strlen(val))) {
		if (val[0] != 'o') {
			errno = 0;
			port = strtoul(val, &end, 10);
			if (*end || errno || !port || port > 65535)
				goto bad;
		}
		mg_addr_parse("127.0.0.1", &l->addr);
		l->port = (__u16)port;
		return 0;
	}
	if (!parse_seed(k, val, dst, msg, msglen) && l->port)
		return 0;
bad:
	memset(l, 0, sizeof(*l));
	snprintf(msg, msglen,
		 "\"%.*s\" is not where to serve metrics: off, on (127.0.0.1:%d), PORT, ADDRESS:PORT or [IPV6]:PORT",
		 CFG_QUOTE_MAX, val, MG_METRICS_PORT_DEFAULT);
	return -EINVAL;
}

/* A base64 AES key of 16, 24 or 32 bytes, as `meshgate keygen` prints. */
static int parse_key(const struct cfg_key *k, const char *val, void *dst,
		     char *msg, size_t msglen)
{
	struct mg_key key;

	if (strlen(val) >= k->size || mg_key_parse_b64(val, &key)) {
		snprintf(msg, msglen,
			 "not a base64 key of 16, 24 or 32 bytes (meshgate keygen makes one)");
		return -EINVAL;
	}
	strcpy(dst, val);
	return 0;
}

int mg_cfg_backend_parse(const char *val, struct mg_cfg_backend *b)
{
	char host[MG_ADDRSTRLEN + 1];
	unsigned long port, weight = 100;
	const char *h = val, *colon = strchr(val, ':');
	char *end;

	memset(b, 0, sizeof(*b));
	/* An IPv6 address in brackets, as in a URL: [ADDR]:PORT. */
	if (*val == '[') {
		h = val + 1;
		colon = strchr(val, ']');
		if (!colon || *++colon != ':')
			return -EINVAL;
	}
	if (!colon || (size_t)(colon - h) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - h - (h != val)),
		 h);
	if (mg_addr_parse(host, &b->addr) ||
	    (b->addr.family == MG_AF_INET6) != (h != val))
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || errno || !port ||
	    port > 65535)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end) {
		const char *w = end;

		weight = strtoul(w, &end, 10);
		if (!isdigit((unsigned char)*w) || *end || errno || !weight ||
		    weight > 65535)
			return -EINVAL;
	}
	b->port = (__u16)port;
	b->weight = (__u16)weight;
	return 0;
}

/* "ADDR:PORT [WEIGHT]": one of this cluster's backends of a service. */
static int parse_backend(const struct cfg_key *k, const char *val, void *dst,
			 char *msg, size_t msglen)
{
	if (mg_cfg_backend_parse(val, dst)) {
		snprintf(msg, msglen,
			 "\"%.*s\" is not a backend: IPV4:PORT or [IPV6]:PORT, then [WEIGHT 1..65535], e.g. 10.1.0.20:8080 100",
			 CFG_QUOTE_MAX, val);
		return -EINVAL;
	}
	return 0;
}

static const char *const pol_verdicts[] = { "allow", "deny", NULL };

/* [policy] rule = ID allow|deny [from ...] [to ...] [proto P] [port N[-M]] */
static int parse_pol_rule(const struct cfg_key *k, const char *val,
			  void *dst, char *msg, size_t msglen)
{
	return mg_pol_rule_parse(val, dst, msg, msglen);
}

static int parse_vip(const struct cfg_key *k, const char *val, void *dst,
		     char *msg, size_t msglen)
{
	struct mg_addr *a = dst;

	if (mg_addr_parse(val, a)) {
		snprintf(msg, msglen, "\"%.*s\" is not an IPv4 or IPv6 address",
			 CFG_QUOTE_MAX, val);
		return -EINVAL;
	}
	return 0;
}

void mg_cfg_service_defaults(struct mg_cfg_service *s)
{
	memset(s, 0, sizeof(*s));
	s->proto = MG_SVC_TCP;
	s->affinity = MG_AFFINITY_ANY;
	s->min_local = 1;
	s->health_interval = 1000;
	s->health_timeout = 500;
	s->rise = 2;
	s->fall = 3;
	s->outlier_consecutive = 5;
	s->outlier_base_ms = 30000;
	s->outlier_max_percent = 50;
}

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

static const struct cfg_key cfg_keys[K_MAX] = {
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

static const struct cfg_key *cfg_key_find(enum cfg_sect sect, const char *name)
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
static const struct cfg_key *cfg_key_nearest(enum cfg_sect sect,
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
static const char *owner_sect(const struct mg_config *cfg, int owner,
			      enum cfg_sect sect, char *buf, size_t len)
{
	if (!owner)
		return sect_names[sect];
	snprintf(buf, len, "peer %s", cfg->peers[owner - 1].name);
	return buf;
}

/* --- the parse ------------------------------------------------------------ */

/* "[service NAME]": a new entry of cfg->services. */
static void cfg_service_section(struct cfg_parse *ps, const char *sect)
{
	struct mg_config *cfg = ps->cfg;
	struct mg_cfg_service *svc;
	const char *name;

	ps->sect = SECT_BAD;
	for (name = sect + 7; isspace((unsigned char)*name); name++)
		;
	if (!name_valid(name, MG_CFG_NAME_MAX - 1)) {
		cfg_err(ps, ps->line, sect, NULL,
			"\"%s\" is not a service name: [service NAME], NAME 1 to %d of A-Z a-z 0-9 . _ -",
			name, MG_CFG_NAME_MAX - 1);
		return;
	}
	for (int i = 0; i < cfg->n_services; i++) {
		if (!strcmp(cfg->services[i].name, name)) {
			cfg_err(ps, ps->line, sect, NULL,
				"service defined twice (first at line %d)",
				cfg->services[i].line);
			return;
		}
	}
	if (cfg->n_services >= MG_CFG_MAX_SERVICES) {
		cfg_err(ps, ps->line, sect, NULL, "more than %d services",
			MG_CFG_MAX_SERVICES);
		return;
	}
	ps->svc = cfg->n_services++;
	svc = &cfg->services[ps->svc];
	mg_cfg_service_defaults(svc);
	strcpy(svc->name, name);
	svc->line = ps->line;
	ps->sect = SECT_SERVICE;
	snprintf(ps->label, sizeof(ps->label), "service %s", name);
}

static void cfg_section(struct cfg_parse *ps, const char *hdr)
{
	struct mg_config *cfg = ps->cfg;
	const char *end = strchr(hdr, ']'), *rest, *name;
	char sect[CFG_SECT_MAX];
	struct mg_cfg_peer *peer;
	size_t n;
	int i;

	ps->sect = SECT_BAD;
	snprintf(ps->label, sizeof(ps->label), "?");
	if (!end) {
		cfg_err(ps, ps->line, ps->label, NULL,
			"section header without ']'");
		return;
	}
	/* Blanks inside the brackets are trimmed, as libinih does for keys. */
	for (name = hdr + 1; isspace((unsigned char)*name); name++)
		;
	for (n = (size_t)(end - name); n && isspace((unsigned char)name[n - 1]);
	     n--)
		;
	snprintf(sect, sizeof(sect), "%.*s", (int)n, name);
	snprintf(ps->label, sizeof(ps->label), "%s", sect);
	for (rest = end + 1; isspace((unsigned char)*rest); rest++)
		;
	if (*rest && *rest != ';' && *rest != '#') {
		cfg_err(ps, ps->line, sect, NULL, "text after ']'");
		return;
	}
	if (n >= sizeof(sect)) {
		cfg_err(ps, ps->line, sect, NULL, "section name too long");
		return;
	}

	for (i = SECT_AGENT; i < SECT_PEER; i++) {
		if (!strcmp(sect, sect_names[i])) {
			ps->sect = (enum cfg_sect)i;
			if (!ps->sect_line[i])
				ps->sect_line[i] = ps->line;
			return;
		}
	}
	if (!strncmp(sect, "service", 7) &&
	    (!sect[7] || isspace((unsigned char)sect[7]))) {
		cfg_service_section(ps, sect);
		return;
	}
	if (strncmp(sect, "peer", 4) ||
	    (sect[4] && !isspace((unsigned char)sect[4]))) {
		cfg_err(ps, ps->line, sect, NULL,
			"unknown section (known: agent, cluster, gateway, gossip, limits, metrics, policy, peer NAME, service NAME)");
		return;
	}

	for (name = sect + 4; isspace((unsigned char)*name); name++)
		;
	if (!name_valid(name, MG_CFG_NAME_MAX - 1)) {
		cfg_err(ps, ps->line, sect, NULL,
			"\"%s\" is not a peer name: [peer NAME], NAME 1 to %d of A-Z a-z 0-9 . _ -",
			name, MG_CFG_NAME_MAX - 1);
		return;
	}
	for (i = 0; i < cfg->n_peers; i++) {
		if (!strcmp(cfg->peers[i].name, name)) {
			cfg_err(ps, ps->line, sect, NULL,
				"peer defined twice (first at line %d)",
				cfg->peers[i].line);
			return;
		}
	}
	if (cfg->n_peers >= MG_CFG_MAX_PEERS) {
		cfg_err(ps, ps->line, sect, NULL, "more than %d peers",
			MG_CFG_MAX_PEERS);
		return;
	}
	ps->peer = cfg->n_peers++;
	peer = &cfg->peers[ps->peer];
	memset(peer, 0, sizeof(*peer));
	strcpy(peer->name, name);
	peer->line = ps->line;
	ps->sect = SECT_PEER;
	snprintf(ps->label, sizeof(ps->label), "peer %s", name);
}

/* A key line libinih did not take is a syntax error. */
static void cfg_check_handled(struct cfg_parse *ps)
{
	if (ps->expect_kv && !ps->handled)
		cfg_err(ps, ps->line, ps->label, NULL,
			"expected \"key = value\"");
	ps->expect_kv = false;
}

/* libinih's ini_reader: hands it one line at a time, as fgets() would. */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *ps = stream;
	const char *p = ps->pos, *eol;
	size_t len;

	cfg_check_handled(ps);
	if (!*p)
		return NULL;
	eol = strchr(p, '\n');
	len = eol ? (size_t)(eol - p) : strlen(p);
	ps->pos = p + len + (eol ? 1 : 0);
	ps->line++;

	if (ps->line == 1 && len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) {
		p += 3;
		len -= 3;
	}
	/*
	 * Leading blanks go here, so that libinih never takes an indented
	 * line for the continuation of the previous value.
	 */
	while (len && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	if (num < 1 || len > (size_t)num - 1) {
		cfg_err(ps, ps->line, ps->label, NULL,
			"line longer than %d characters", num - 1);
		len = 0;
	}
	memcpy(str, p, len);
	str[len] = '\0';

	if (str[0] == '[')
		cfg_section(ps, str);
	else if (str[0] && str[0] != ';' && str[0] != '#')
		ps->expect_kv = true;
	ps->handled = false;
	return str;
}

static int cfg_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	struct cfg_parse *ps = user;
	const struct cfg_key *k;
	int owner = 0, *n = NULL;
	const char *sect = ps->label;
	char msg[256];
	char *base = (char *)ps->cfg;
	void *dst;

	ps->handled = true;
	if (ps->sect == SECT_BAD)
		return 1;
	if (ps->sect == SECT_PEER) {
		owner = ps->peer + 1;
		base = (char *)&ps->cfg->peers[ps->peer];
	}
	if (ps->sect == SECT_SERVICE) {
		owner = SVC_OWNER(ps->svc);
		base = (char *)&ps->cfg->services[ps->svc];
	}
	if (ps->sect == SECT_NONE) {
		cfg_err(ps, ps->line, sect, name, "key outside any section");
		return 1;
	}
	if (!name[0]) {
		cfg_err(ps, ps->line, sect, NULL, "no key before '='");
		return 1;
	}
	k = cfg_key_find(ps->sect, name);
	if (!k) {
		k = cfg_key_nearest(ps->sect, name);
		if (k && k->sect == ps->sect)
			cfg_err(ps, ps->line, sect, name,
				"unknown key (did you mean \"%s\"?)", k->name);
		else if (k)
			cfg_err(ps, ps->line, sect, name,
				"unknown key (did you mean \"%s\" in [%s]?)",
				k->name, sect_names[k->sect]);
		else
			cfg_err(ps, ps->line, sect, name, "unknown key");
		return 1;
	}
	if (ps->key_line[owner][k - cfg_keys] && !k->repeat) {
		cfg_err(ps, ps->line, sect, name, "set twice (first at line %d)",
			ps->key_line[owner][k - cfg_keys]);
		return 1;
	}
	if (!ps->key_line[owner][k - cfg_keys])
		ps->key_line[owner][k - cfg_keys] = ps->line;

	dst = base + k->off;
	if (k->repeat) {
		n = (int *)(base + k->n_off);
		if (*n >= (int)k->max) {
			cfg_err(ps, ps->line, sect, name,
				k->parse == parse_cidr ? "more than %lu CIDRs" :
				k->parse == parse_addr ?
				"more than %lu (one IPv4 and one IPv6)" :
				"more than %lu of these", k->max);
			return 1;
		}
		dst = (char *)dst + (size_t)*n * k->size;
	}
	if (k->parse(k, value, dst, msg, sizeof(msg))) {
		cfg_err(ps, ps->line, sect, name, "%s", msg);
		return 1;
	}
	if (n && k->parse == parse_cidr)
		ps->cidr_line[owner][*n] = ps->line;
	if (n && k->parse == parse_addr)
		ps->tunnel_line[owner][*n] = ps->line;
	if (n)
		(*n)++;
	return 1;
}

/* --- whole-file checks ---------------------------------------------------- */

static void check_required(struct cfg_parse *ps)
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
static void check_policy(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;

	for (int i = 0; i < cfg->n_pol_rules; i++)
		for (int j = 0; j < i; j++)
			if (cfg->pol_rules[i].id == cfg->pol_rules[j].id)
				cfg_err(ps, ps->key_line[0][K_POL_RULE], "policy",
					"rule", "rule id %u used twice",
					cfg->pol_rules[i].id);
}

static void check_services(struct cfg_parse *ps)
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
static void check_clusters(struct cfg_parse *ps)
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
static void check_host_dev(struct cfg_parse *ps)
{
	const struct mg_config *cfg = ps->cfg;

	if (!strcmp(cfg->host_dev, cfg->cluster_if) ||
	    !strcmp(cfg->host_dev, cfg->underlay_if))
		cfg_err(ps, ps->key_line[0][K_HOST_DEVICE], "gateway",
			"host_device", "%s is a gateway interface: the agent "
			"makes this device itself (or \"none\")",
			cfg->host_dev);
}

static void check_tunnels(struct cfg_parse *ps)
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
static void set_tunnels(struct mg_config *cfg)
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
static void check_cidrs(struct cfg_parse *ps)
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
static void check_outside_cidrs(struct cfg_parse *ps)
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

/* --- entry points --------------------------------------------------------- */

void mg_config_defaults(struct mg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "%s", MG_PIN_DIR_DEFAULT);
	cfg->log_level = MG_LOG_INFO;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/meshgate");
	snprintf(cfg->control_socket, sizeof(cfg->control_socket),
		 "/run/meshgate/meshgate.sock");
	if (gethostname(cfg->gw_name, sizeof(cfg->gw_name)))
		snprintf(cfg->gw_name, sizeof(cfg->gw_name), "meshgate");
	cfg->gw_name[sizeof(cfg->gw_name) - 1] = '\0';
	cfg->xdp_mode = MG_XDP_NATIVE;
	cfg->vxlan_port = MG_VXLAN_PORT_DEFAULT;
	cfg->nh_mode = MG_NH_TABLE;
	cfg->fragment = MG_FRAGMENT_DROP;
	cfg->udp6_checksum = 1;
	snprintf(cfg->host_dev, sizeof(cfg->host_dev), "%s",
		 MG_HOST_DEV_DEFAULT);
	cfg->gossip_enabled = 1;
	cfg->gossip_port = MG_GOSSIP_PORT_DEFAULT;
	cfg->profile = MG_PROFILE_LAN;
	cfg->echo_interval = 100;
	cfg->echo_multiplier = 3;
	cfg->hold_time = 60;
	cfg->forget_after = 300;
	cfg->settle_timeout = MG_SETTLE_TIMEOUT_DEFAULT;
}

int mg_config_load_string(struct mg_config *cfg, const char *path,
			  const char *text, FILE *errf)
{
	struct cfg_parse *ps;
	int err = 0;

	mg_config_defaults(cfg);
	snprintf(cfg->path, sizeof(cfg->path), "%s", path ? path : "<string>");

	/* ~13 KiB of line numbers: kept off the stack of small threads. */
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->cfg = cfg;
	ps->errf = errf;
	ps->pos = text;

	if (ini_parse_stream(cfg_reader, ps, cfg_handler, ps) < 0) {
		err = -ENOMEM;
		goto out;
	}
	if (!cfg->underlay_if[0])
		memcpy(cfg->underlay_if, cfg->cluster_if,
		       sizeof(cfg->underlay_if));
	set_tunnels(cfg);
	if (!cfg->gossip_bind.family)
		cfg->gossip_bind = cfg->tunnel;
	if (!cfg->gossip_advertise.family)
		cfg->gossip_advertise = cfg->gossip_bind;
	for (int i = 0; i < cfg->n_seeds; i++)
		if (!cfg->seeds[i].port)
			cfg->seeds[i].port = cfg->gossip_port;

	check_required(ps);
	check_services(ps);
	check_policy(ps);
	check_clusters(ps);
	check_tunnels(ps);
	check_cidrs(ps);
	check_host_dev(ps);
	check_outside_cidrs(ps);
	cfg->cluster_if_line = ps->key_line[0][K_CLUSTER_IF];
	cfg->underlay_if_line = ps->key_line[0][K_UNDERLAY_IF] ?:
				cfg->cluster_if_line;
	if (ps->errors)
		err = -EINVAL;
out:
	free(ps);
	return err;
}

/* Reads all of f into a NUL-terminated buffer; -EFBIG past CFG_FILE_MAX. */
static int read_all(FILE *f, char **textp, size_t *lenp)
{
	size_t len = 0, cap = 4096, n;
	char *text = NULL, *bigger;
	int err = 0;

	for (;;) {
		bigger = realloc(text, cap + 1);
		if (!bigger) {
			err = -ENOMEM;
			goto out;
		}
		text = bigger;
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (len < cap)
			break;
		if (cap > CFG_FILE_MAX) {
			err = -EFBIG;
			goto out;
		}
		cap *= 2;
	}
	if (ferror(f)) {
		err = errno ? -errno : -EIO;
		goto out;
	}
	text[len] = '\0';
	*textp = text;
	*lenp = len;
	return 0;
out:
	free(text);
	return err;
}

int mg_config_load(struct mg_config *cfg, const char *path, FILE *errf)
{
	char *text = NULL;
	size_t len = 0, nul, i;
	int err, line = 1;
	FILE *f;

	mg_config_defaults(cfg);
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		goto cleanup;
	}
	errno = 0;
	err = read_all(f, &text, &len);
	fclose(f);
	if (err)
		goto cleanup;

	nul = strlen(text);
	if (nul < len) {
		for (i = 0; i < nul; i++)
			line += text[i] == '\n';
		if (errf)
			fprintf(errf, "%s:%d: a NUL byte: not a text file\n",
				path, line);
		err = -EINVAL;
		goto cleanup;
	}
	err = mg_config_load_string(cfg, path, text, errf);
cleanup:
	if (err && err != -EINVAL && errf)
		fprintf(errf, "%s:0: cannot read: %s\n", path, strerror(-err));
	free(text);
	return err;
}

/*
 * The checks that need this host: the interfaces exist (in the network
 * namespace we run in).  Separate from mg_config_load(), which judges the
 * text alone (tests, other hosts' files).
 */
int mg_config_check_host(const struct mg_config *cfg, FILE *errf)
{
	const struct {
		const char *key, *name;
		int line;
	} ifs[] = {
		{ "cluster_interface", cfg->cluster_if, cfg->cluster_if_line },
		{ "underlay_interface", cfg->underlay_if,
		  cfg->underlay_if_line },
	};
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ifs); i++) {
		if (i && !strcmp(ifs[i].name, ifs[0].name))
			break;
		if (if_nametoindex(ifs[i].name))
			continue;
		err = -ENODEV;
		if (errf)
			fprintf(errf, "%s:%d: [gateway] %s: no interface \"%s\" on this host (in this network namespace)\n",
				cfg->path, ifs[i].line, ifs[i].key, ifs[i].name);
	}
	return err;
}
