// SPDX-License-Identifier: GPL-2.0-only
/* The values: one parser per kind, each with its own message; errors reported. */
#include "config/cfg_int.h"

void cfg_err(struct cfg_parse *ps, int line, const char *sect,
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

int parse_uint(const struct cfg_key *k, const char *val, void *dst,
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

int parse_choice(const struct cfg_key *k, const char *val, void *dst,
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

int parse_log_level(const struct cfg_key *k, const char *val,
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

bool mg_config_name_valid(const char *name)
{
	return name_valid(name, MG_CFG_NAME_MAX - 1);
}

int parse_name(const struct cfg_key *k, const char *val, void *dst,
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
int parse_bool(const struct cfg_key *k, const char *val, void *dst,
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
int parse_ifname(const struct cfg_key *k, const char *val, void *dst,
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

int parse_path(const struct cfg_key *k, const char *val, void *dst,
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

int parse_addr(const struct cfg_key *k, const char *val, void *dst,
		      char *msg, size_t msglen)
{
	if (mg_addr_parse(val, dst)) {
		snprintf(msg, msglen, "\"%.*s\" is not an IPv4 or IPv6 address",
			 CFG_QUOTE_MAX, val);
		return -EINVAL;
	}
	return 0;
}

int parse_cidr(const struct cfg_key *k, const char *val, void *dst,
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
int parse_mss(const struct cfg_key *k, const char *val, void *dst,
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
int parse_seed(const struct cfg_key *k, const char *val, void *dst,
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
int parse_listen(const struct cfg_key *k, const char *val, void *dst,
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
int parse_key(const struct cfg_key *k, const char *val, void *dst,
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
int parse_backend(const struct cfg_key *k, const char *val, void *dst,
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

const char *const pol_verdicts[] = { "allow", "deny", NULL };

/* [policy] rule = ID allow|deny [from ...] [to ...] [proto P] [port N[-M]] */
int parse_pol_rule(const struct cfg_key *k, const char *val,
			  void *dst, char *msg, size_t msglen)
{
	return mg_pol_rule_parse(val, dst, msg, msglen);
}

int parse_vip(const struct cfg_key *k, const char *val, void *dst,
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
