// SPDX-License-Identifier: GPL-2.0-only
/* The parse: section headers, the line-counting reader, the key handler. */
#include "config/cfg_int.h"

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
char *cfg_reader(char *str, int num, void *stream)
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

int cfg_handler(void *user, const char *section, const char *name,
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
