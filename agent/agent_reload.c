// SPDX-License-Identifier: GPL-2.0-only
/* A reload: the keyring, and what a new configuration changes in place. */
#include "agent_int.h"

void agent_keyring_notice(const struct mg_config *cfg)
{
	char path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/keyring", cfg->state_dir);
	if (cfg->n_keys && !stat(path, &st) && st.st_size > 0)
		pr_warn("%s (written by `meshgate keys`) outranks the %d "
			"`key =` line%s of %s: gossip uses its keys (remove "
			"the file to go back to the configuration's)",
			path, cfg->n_keys, cfg->n_keys > 1 ? "s" : "",
			cfg->path);
}

/* Exchanges the [service NAME] sections of two configurations. */
#define SWAP_SERVICES(x, y)                              \
	do {                                             \
		int n_ = (x)->n_services;                \
		(x)->n_services = (y)->n_services;       \
		(y)->n_services = n_;                    \
		swap_bytes((x)->services, (y)->services, \
			   sizeof((x)->services));       \
	} while (0)

static void swap_bytes(void *x, void *y, size_t n)
{
	unsigned char *p = x, *q = y, t;

	for (size_t i = 0; i < n; i++) {
		t = p[i];
		p[i] = q[i];
		q[i] = t;
	}
}

/* Messages of a refused configuration: to the log, and to the caller. */
static void log_lines(char *text, FILE *err)
{
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		pr_err("%s", l);
		if (err)
			fprintf(err, "%s\n", l);
	}
}

/*
 * The key lines of a reload, unless the keyring file outranks them (then
 * they are kept for the next start without it, and that is said).
 */
static void reload_keys(struct agent *a, const struct mg_config *next,
			FILE *err)
{
	char keys[MG_CFG_MAX_KEYS][MG_CFG_KEY_B64_MAX];
	int n_keys = a->cfg->n_keys, rc;

	memcpy(keys, a->cfg->keys, sizeof(keys));
	a->cfg->n_keys = next->n_keys;
	memcpy(a->cfg->keys, next->keys, sizeof(a->cfg->keys));
	rc = mg_mesh_reload_keys(a->mesh);
	if (rc == 1) {
		pr_warn("reload: the keyring in %s/keyring (written by `meshgate keys`) outranks the key lines: the gossip keys are unchanged",
			a->cfg->state_dir);
		if (err)
			fprintf(err,
				"meshgate reload: the keyring in %s/keyring (written by `meshgate keys`) outranks the key lines: the gossip keys are unchanged\n",
				a->cfg->state_dir);
	} else if (rc < 0) {
		pr_err("reload: keys: %s; the running ones are kept",
		       strerror(-rc));
		if (err)
			fprintf(err,
				"meshgate reload: keys: %s; the running ones are kept\n",
				strerror(-rc));
		a->cfg->n_keys = n_keys;
		memcpy(a->cfg->keys, keys, sizeof(a->cfg->keys));
	} else {
		pr_info("reload: gossip keys: %d (the first sends)",
			a->cfg->n_keys);
	}
	explicit_bzero(keys, sizeof(keys));
}

/*
 * Re-read the configuration and apply what a running agent can: the log
 * level, static peers (the next view), services (a new services module
 * over the same maps: it re-adopts the tables as a restart does, so
 * established flows keep their backends), the cluster's CIDRs and
 * route_table/route_protocol (our endpoints, gossiped), the gossip keys, forget_after, drain_hook and
 * settle_timeout.  The attachment is not touched;
 * what only a restart applies is named.  A file that fails the check
 * changes nothing.  0, or 1 when refused.
 */
int agent_reload(struct agent *a, FILE *err)
{
	struct mg_config *next = malloc(sizeof(*next));
	char *msgs = NULL, restart[512];
	size_t len = 0;
	FILE *ef = open_memstream(&msgs, &len);
	unsigned int ch;
	int rc = 0;

	mg_notify_reloading();
	if (!next || !ef) {
		pr_err("reload: %s", strerror(ENOMEM));
		rc = 1;
		goto out;
	}
	if (mg_config_load(next, a->cfg->path, ef) ||
	    mg_config_check_host(next, ef)) {
		fclose(ef);
		ef = NULL;
		log_lines(msgs, err);
		pr_err("reload: %s refused; the running configuration is kept",
		       a->cfg->path);
		if (err)
			fprintf(err,
				"meshgate reload: %s refused; the running "
				"configuration is kept\n",
				a->cfg->path);
		rc = 1;
		goto out;
	}
	ch = mg_config_diff(a->cfg, next, restart, sizeof(restart));
	if (ch & MG_CFG_CH_LOG_LEVEL) {
		a->cfg->log_level = next->log_level;
		mg_log_set_level(next->log_level);
	}
	if (ch & MG_CFG_CH_PEERS) {
		a->cfg->n_peers = next->n_peers;
		memcpy(a->cfg->peers, next->peers, sizeof(a->cfg->peers));
	}
	if (ch & MG_CFG_CH_SERVICES) {
		struct mg_services *svcs;
		int n_old = a->cfg->n_services;

		/* next's services stand aside: the old ones come back on failure. */
		SWAP_SERVICES(a->cfg, next);
		rc = mg_services_new(a->loop, a->cfg, agent_on_mesh_changed, a,
				     &svcs);
		if (rc) {
			pr_err("reload: services: %s; the running ones are kept",
			       strerror(-rc));
			if (err)
				fprintf(err,
					"meshgate reload: services: %s; the running ones are kept\n",
					strerror(-rc));
			SWAP_SERVICES(a->cfg, next);
			ch &= ~MG_CFG_CH_SERVICES;
			rc = 1;
		} else {
			pr_info("reload: services: %d configured (were %d)",
				a->cfg->n_services, n_old);
			mg_services_free(a->svcs);
			a->svcs = svcs;
		}
	}
	/* [policy]: compiled again whole (a new one replaces the old). */
	a->cfg->pol_default_in = next->pol_default_in;
	a->cfg->pol_default_out = next->pol_default_out;
	a->cfg->n_pol_rules = next->n_pol_rules;
	memcpy(a->cfg->pol_rules, next->pol_rules, sizeof(a->cfg->pol_rules));
	if (a->pol && mg_policy_apply(a->pol) && err)
		fprintf(err,
			"meshgate reload: policy not applied (see the log)\n");
	if (ch & MG_CFG_CH_GOSSIP_TIMES) {
		/* Read where they are used: the next use takes them. */
		a->cfg->forget_after = next->forget_after;
		a->cfg->settle_timeout = next->settle_timeout;
		memcpy(a->cfg->drain_hook, next->drain_hook,
		       sizeof(a->cfg->drain_hook));
	}
	if (ch & MG_CFG_CH_CIDRS) {
		/* Announced by gossip; our maps follow the view (below). */
		a->cfg->n_cidrs = next->n_cidrs;
		memcpy(a->cfg->cidrs, next->cidrs, sizeof(a->cfg->cidrs));
		mg_mesh_reload_local(a->mesh);
	}
	if (ch & MG_CFG_CH_ROUTES) {
		/* Route events always arrive: the timer re-reads the table. */
		a->cfg->route_table = next->route_table;
		a->cfg->route_protocol = next->route_protocol;
		mg_loop_timer_set(a->route_timer, ROUTE_DEBOUNCE_MS, 0);
	}
	if (ch & MG_CFG_CH_KEYS)
		reload_keys(a, next, err);
	if (restart[0]) {
		pr_warn("reload: changed, applied at the next restart: %s",
			restart);
		if (err)
			fprintf(err,
				"meshgate reload: changed, applied at the next restart: %s\n",
				restart);
	}
	pr_info("reload: done (%s%s%s%s%s%s%s%s)",
		ch & MG_CFG_CH_LOG_LEVEL ? "log level, " : "",
		ch & MG_CFG_CH_PEERS ? "static peers, " : "",
		ch & MG_CFG_CH_SERVICES ? "services, " : "",
		ch & MG_CFG_CH_CIDRS ? "cidrs, " : "",
		ch & MG_CFG_CH_ROUTES ? "route_table/route_protocol, " : "",
		ch & MG_CFG_CH_KEYS ? "keys, " : "",
		ch & MG_CFG_CH_GOSSIP_TIMES ?
			"forget_after/drain_hook/settle_timeout, " :
			"",
		ch ? "applied" : "nothing to apply");
	if (ch & (MG_CFG_CH_PEERS | MG_CFG_CH_SERVICES | MG_CFG_CH_CIDRS))
		agent_on_mesh_changed(a);
out:
	if (ef)
		fclose(ef);
	free(msgs);
	free(next);
	mg_notify_ready();
	return rc;
}
