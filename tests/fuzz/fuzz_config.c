// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the configuration parser: the input is the text of
 * a config file.  Besides memory errors it checks what a successful load
 * promises the agent: required keys set, values in range, counts within
 * their arrays, strings terminated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

static void check_prefixes(const struct mg_prefix *p, int n)
{
	int i;

	if (n < 1 || n > MG_CFG_MAX_CIDRS)
		abort();
	for (i = 0; i < n; i++)
		if ((p[i].addr.family != MG_AF_INET || p[i].len > 32) &&
		    (p[i].addr.family != MG_AF_INET6 || p[i].len > 128))
			abort();
}

static void check_loaded(const struct mg_config *cfg)
{
	const struct mg_cfg_peer *p;
	int i;

	if (!cfg->cluster_id || !cfg->cluster_name[0] ||
	    !cfg->tunnel.family || !cfg->cluster_if[0] ||
	    !cfg->underlay_if[0] || !cfg->vxlan_port ||
	    strnlen(cfg->gw_name, sizeof(cfg->gw_name)) == sizeof(cfg->gw_name) ||
	    cfg->n_peers < 0 || cfg->n_peers > MG_CFG_MAX_PEERS)
		abort();
	check_prefixes(cfg->cidrs, cfg->n_cidrs);
	for (i = 0; i < cfg->n_peers; i++) {
		p = &cfg->peers[i];
		if (!p->name[0] || !p->cluster[0] || !p->cluster_id ||
		    p->cluster_id == cfg->cluster_id ||
		    p->tunnel.family != cfg->tunnel.family ||
		    mg_addr_equal(&p->tunnel, &cfg->tunnel))
			abort();
		check_prefixes(p->cidrs, p->n_cidrs);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mg_config *cfg;
	static FILE *devnull;
	char *text;

	if (!cfg) {
		cfg = malloc(sizeof(*cfg));
		devnull = fopen("/dev/null", "w");
		if (!cfg || !devnull)
			abort();
	}
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (!mg_config_load_string(cfg, "fuzz.conf", text, devnull))
		check_loaded(cfg);
	free(text);
	return 0;
}
