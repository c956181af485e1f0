// SPDX-License-Identifier: GPL-2.0-only
/* A service's arguments: from the CLI and state_dir/services. */
#include "services/svc_int.h"

/* --- arguments (CLI and state_dir/services) -------------------------------- */

static int parse_u(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*s || *end || errno || *out < min || *out > max ? -EINVAL : 0;
}

/*
 * The traffic controls' words (issue 13), as in [service]: 0 and *bad
 * nonzero when val is not valid for k; -ENOENT when k is none of them.
 */
static int svc_tc_arg(struct mg_cfg_service *c, const char *k, const char *val,
		      unsigned long *bad)
{
	static const struct {
		const char *name;
		size_t off;
		unsigned long max;
	} words[] = {
		{ "rate_pps", offsetof(struct mg_cfg_service, rate_pps),
		  MG_CFG_RATE_MAX },
		{ "rate_burst", offsetof(struct mg_cfg_service, rate_burst),
		  MG_CFG_RATE_MAX },
		{ "newflow_rate", offsetof(struct mg_cfg_service, newflow_rate),
		  MG_CFG_RATE_MAX },
		{ "newflow_burst",
		  offsetof(struct mg_cfg_service, newflow_burst),
		  MG_CFG_RATE_MAX },
		{ "max_flows_per_backend",
		  offsetof(struct mg_cfg_service, max_flows_per_backend),
		  100000000 },
	};
	unsigned long u;

	*bad = 0;
	if (!strcmp(k, "on_no_backend")) {
		if (!strcasecmp(val, "reset"))
			c->on_no_backend = MG_NB_RESET;
		else if (!strcasecmp(val, "drop"))
			c->on_no_backend = MG_NB_DROP;
		else
			*bad = 1;
		return 0;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(k, words[i].name))
			continue;
		if (parse_u(val, 0, words[i].max, &u))
			*bad = 1;
		else
			*(__u32 *)((char *)c + words[i].off) = (__u32)u;
		return 0;
	}
	return -ENOENT;
}

int mg_services_parse_args(struct mg_cfg_service *c, int argc, char **argv,
			   char *err, size_t errlen)
{
	bool vip = false, port = false;
	unsigned long u;

	mg_cfg_service_defaults(c);
	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i],
			   *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			snprintf(err, errlen, "\"%s\" needs a value", k);
			return -EINVAL;
		}
		if (!strcmp(k, "vip")) {
			if (mg_addr_parse(val, &c->vip))
				goto bad;
			vip = true;
		} else if (!strcmp(k, "port")) {
			if (parse_u(val, 1, 65535, &u))
				goto bad;
			c->port = (__u16)u;
			port = true;
		} else if (!strcmp(k, "proto")) {
			if (!strcasecmp(val, "tcp"))
				c->proto = MG_SVC_TCP;
			else if (!strcasecmp(val, "udp"))
				c->proto = MG_SVC_UDP;
			else
				goto bad;
		} else if (!strcmp(k, "affinity")) {
			int a;

			for (a = 0; affinity_names[a]; a++)
				if (!strcasecmp(val, affinity_names[a]))
					break;
			if (!affinity_names[a])
				goto bad;
			c->affinity = a;
		} else if (!strcmp(k, "min_local")) {
			if (parse_u(val, 0, MG_CFG_MAX_BACKENDS, &u))
				goto bad;
			c->min_local = (__u16)u;
		} else if (!svc_tc_arg(c, k, val, &u)) {
			if (u)
				goto bad;
		} else if (!strcmp(k, "backend")) {
			char b[128];
			char *colon;

			/*
			 * ADDR:PORT[:WEIGHT] on the command line ([ADDR] when
			 * IPv6); the configuration's "ADDR:PORT WEIGHT".
			 */
			snprintf(b, sizeof(b), "%s", val);
			colon = b[0] == '[' ? strstr(b, "]:") : b;
			colon = colon ? strchr(colon, ':') : NULL;
			if (colon && strchr(colon + 1, ':'))
				*strchr(colon + 1, ':') = ' ';
			if (c->n_backends >= MG_CFG_MAX_BACKENDS ||
			    mg_cfg_backend_parse(b,
						 &c->backends[c->n_backends]))
				goto bad;
			c->n_backends++;
		} else {
			snprintf(err, errlen, "unknown word \"%s\"", k);
			return -EINVAL;
		}
		continue;
bad:
		snprintf(err, errlen, "%s: \"%s\" is not valid", k, val);
		return -EINVAL;
	}
	if (!vip || !port) {
		snprintf(err, errlen, "vip ADDR and port N are required");
		return -EINVAL;
	}
	for (int b = 0; b < c->n_backends; b++) {
		char a[MG_ADDRSTRLEN];

		if (c->backends[b].addr.family == c->vip.family)
			continue;
		snprintf(
			err, errlen,
			"backend %s is %s but the VIP is %s: one family per service",
			mg_addr_str(&c->backends[b].addr, a, sizeof(a)),
			c->backends[b].addr.family == MG_AF_INET ? "IPv4" :
								   "IPv6",
			c->vip.family == MG_AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	return 0;
}
