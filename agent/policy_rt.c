// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's side of the cross-cluster policy: this cluster's rules
 * ([policy] in the configuration, and `meshgate policy add` ones kept in
 * state_dir/policy), compiled into the datapath's maps at start, on a
 * reload and on each change; `meshgate policy list|add|del`.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "config.h"
#include "lib/log.h"
#include "lib/out.h"
#include "lib/persist.h"
#include "policy_rt.h"

struct mg_policy {
	const struct mg_config *cfg; /* the agent's, updated in place */
	struct mg_pol_maps maps;
	char path[PATH_MAX + 16]; /* state_dir/policy; "" none */
	int n_cli;
	struct mg_pol_rule cli[MG_POL_CLI_MAX];
	uint32_t gen;
	struct mg_pol_stats st;
	int last_err;
};

/* A cluster's id from its name (ours, a static peer's) or its number. */
static int resolve(const char *name, void *arg)
{
	const struct mg_config *cfg = arg;
	char *end;
	unsigned long id = strtoul(name, &end, 10);

	if (end != name && !*end)
		return id >= 1 && id <= 255 ? (int)id : 0;
	if (!strcmp(name, cfg->cluster_name))
		return cfg->cluster_id;
	for (int i = 0; i < cfg->n_peers; i++)
		if (!strcmp(name, cfg->peers[i].cluster))
			return cfg->peers[i].cluster_id;
	return 0;
}

static bool id_taken(const struct mg_policy *p, uint32_t id)
{
	for (int i = 0; i < p->cfg->n_pol_rules; i++)
		if (p->cfg->pol_rules[i].id == id)
			return true;
	for (int i = 0; i < p->n_cli; i++)
		if (p->cli[i].id == id)
			return true;
	return false;
}

/* This cluster's set: the configuration's rules, then the CLI's. */
static int own_set(struct mg_policy *p, struct mg_pol_set *set,
		   bool for_compile)
{
	const struct mg_config *cfg = p->cfg;
	char err[160];
	int n = 0;

	set->rules = calloc((size_t)(cfg->n_pol_rules + p->n_cli) + 1,
			    sizeof(*set->rules));
	if (!set->rules)
		return -ENOMEM;
	for (int i = 0; i < cfg->n_pol_rules + p->n_cli; i++) {
		const struct mg_pol_rule *r =
			i < cfg->n_pol_rules ? &cfg->pol_rules[i] :
					       &p->cli[i - cfg->n_pol_rules];
		struct mg_pol_set one = { .rules = &set->rules[n], .n = 1 };

		set->rules[n] = *r;
		if (mg_pol_resolve(&one, resolve, (void *)cfg, err,
				   sizeof(err))) {
			/* Left out until the cluster is known. */
			if (for_compile)
				pr_warn("policy: %s: left out", err);
			if (for_compile)
				continue;
		}
		n++;
	}
	set->n = n;
	set->owner = cfg->cluster_id;
	set->def_in = (uint8_t)(cfg->pol_default_in + 1);
	set->prefixes = cfg->cidrs;
	set->n_prefixes = cfg->n_cidrs;
	return 0;
}

int mg_policy_apply(struct mg_policy *p)
{
	struct mg_pol_set set;
	int err;

	err = own_set(p, &set, true);
	if (err)
		return err;
	err = mg_pol_compile(&set, 1, (uint8_t)(p->cfg->pol_default_out + 1),
			     &p->maps, &p->gen, &p->st);
	free(set.rules);
	p->last_err = err;
	if (err)
		pr_err("policy: not applied: %s (the maps keep the last one)",
		       err == -E2BIG ? "it compiles past the maps' bounds" :
				       strerror(-err));
	else
		pr_info("policy: %d rules: %u destination classes, %u verdicts",
			p->cfg->n_pol_rules + p->n_cli, p->st.classes,
			p->st.verdicts);
	return err;
}

/* state_dir/policy: the CLI's rules, one a line; 0 or -errno (logged). */
static int save(struct mg_policy *p)
{
	char *buf = NULL, line[MG_POL_TEXT_MAX];
	size_t len = 0;
	FILE *f;
	int err;

	if (!p->path[0])
		return 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (int i = 0; i < p->n_cli; i++)
		fprintf(f, "%s\n",
			mg_pol_rule_str(&p->cli[i], line, sizeof(line)));
	err = fclose(f) ? -ENOMEM : mg_persist_write(p->path, buf, len);
	free(buf);
	if (err)
		pr_err("saving the policy in %s: %s", p->path, strerror(-err));
	return err;
}

static void load(struct mg_policy *p)
{
	char line[MG_POL_TEXT_MAX + 2], err[160];
	FILE *f = fopen(p->path, "r");
	int lineno = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct mg_pol_rule r;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		if (mg_pol_rule_parse(line, &r, err, sizeof(err))) {
			pr_warn("%s:%d: %s", p->path, lineno, err);
			continue;
		}
		if (p->n_cli == MG_POL_CLI_MAX || id_taken(p, r.id)) {
			pr_warn("%s:%d: rule %u left out (%s)", p->path, lineno,
				r.id,
				p->n_cli == MG_POL_CLI_MAX ? "too many rules" :
							     "its id is taken");
			continue;
		}
		p->cli[p->n_cli++] = r;
	}
	fclose(f);
}

int mg_policy_new(const struct mg_config *cfg, const struct mg_pol_maps *m,
		  struct mg_policy **out)
{
	struct mg_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->maps = *m;
	if (cfg->state_dir[0])
		snprintf(p->path, sizeof(p->path), "%s/policy", cfg->state_dir);
	load(p);
	/* A policy that does not compile leaves the last one: logged. */
	mg_policy_apply(p);
	*out = p;
	return 0;
}

void mg_policy_free(struct mg_policy *p)
{
	free(p);
}

static int list(struct mg_cli *cli, struct mg_policy *p)
{
	static const char *const v[] = { "allow", "deny" };
	const struct mg_config *cfg = p->cfg;
	char line[MG_POL_TEXT_MAX], *rep = NULL;
	struct mg_pol_set set;
	size_t replen = 0;
	FILE *f;
	int n;

	if (own_set(p, &set, false))
		return 1;
	out_obj_open(NULL);
	out_u64("cluster_id", "policy of cluster %llu", cfg->cluster_id);
	out_str("default_in", ": default_in %s", v[cfg->pol_default_in & 1]);
	out_str("default_out", ", default_out %s", v[cfg->pol_default_out & 1]);
	out_str("state", ", %s\n", p->last_err ? "NOT APPLIED" : "applied");
	out_arr_open("rules");
	for (int i = 0; i < cfg->n_pol_rules + p->n_cli; i++) {
		const struct mg_pol_rule *r =
			i < cfg->n_pol_rules ? &cfg->pol_rules[i] :
					       &p->cli[i - cfg->n_pol_rules];

		out_obj_open(NULL);
		out_str("rule", "  %s", mg_pol_rule_str(r, line, sizeof(line)));
		out_str("source", "  (%s)\n",
			i < cfg->n_pol_rules ? "config" : "cli");
		out_obj_close();
	}
	out_arr_close();
	f = open_memstream(&rep, &replen);
	n = f ? mg_pol_conflicts(&set, f) : 0;
	if (f)
		fclose(f);
	out_arr_open("problems");
	for (char *s = rep, *e; n && s && *s; s = e + 1) {
		e = strchr(s, '\n');
		if (!e)
			break;
		*e = '\0';
		out_str(NULL, "  ! %s\n", s);
	}
	out_arr_close();
	out_u64("classes", "compiled: %llu destination classes", p->st.classes);
	out_u64("verdicts", ", %llu verdicts\n", p->st.verdicts);
	out_obj_close();
	out_finish();
	free(rep);
	free(set.rules);
	return 0;
}

int mg_policy_cmd(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_policy *p = cli->priv;
	struct mg_pol_rule r;
	char err[160];
	int i;

	if (argc < 2 || mg_matches(argv[1], "list"))
		return list(cli, p);
	if (argc >= 4 && mg_matches(argv[1], "add")) {
		if (mg_pol_rule_parse_argv(argc - 2, argv + 2, &r, err,
					   sizeof(err))) {
			fprintf(cli->err, "meshgate policy add: %s\n", err);
			return 2;
		}
		if (id_taken(p, r.id)) {
			fprintf(cli->err,
				"meshgate policy add: rule %u exists (del it first)\n",
				r.id);
			return 1;
		}
		if (r.src_kind == MG_POL_SRC_CLUSTER &&
		    !resolve(r.src_name, (void *)p->cfg)) {
			fprintf(cli->err,
				"meshgate policy add: no cluster '%s' (a name this gateway knows, or an id 1..255)\n",
				r.src_name);
			return 1;
		}
		if (p->n_cli == MG_POL_CLI_MAX) {
			fprintf(cli->err,
				"meshgate policy add: more than %d rules\n",
				MG_POL_CLI_MAX);
			return 1;
		}
		p->cli[p->n_cli++] = r;
		/* Saved before applied: a restart finds what we answer. */
		if (save(p)) {
			p->n_cli--;
			fprintf(cli->err,
				"meshgate policy add: not added: saving %s failed\n",
				p->path);
			return 1;
		}
	} else if (argc == 3 && mg_matches(argv[1], "del")) {
		unsigned long id = strtoul(argv[2], NULL, 10);

		for (i = 0; i < p->n_cli && p->cli[i].id != id; i++)
			;
		if (i == p->n_cli) {
			fprintf(cli->err,
				id_taken(p, (uint32_t)id) ?
					"meshgate policy del: rule %s is the configuration's: edit [policy] and reload\n" :
					"meshgate policy del: no rule %s\n",
				argv[2]);
			return 1;
		}
		r = p->cli[i];
		memmove(&p->cli[i], &p->cli[i + 1],
			(size_t)(p->n_cli - i - 1) * sizeof(p->cli[0]));
		p->n_cli--;
		if (save(p)) {
			memmove(&p->cli[i + 1], &p->cli[i],
				(size_t)(p->n_cli - i) * sizeof(p->cli[0]));
			p->cli[i] = r;
			p->n_cli++;
			fprintf(cli->err,
				"meshgate policy del: not removed: saving %s failed\n",
				p->path);
			return 1;
		}
	} else {
		fprintf(cli->err,
			"usage: meshgate policy [list | add ID allow|deny [from any|cluster NAME|PREFIX] [to any|PREFIX] [proto tcp|udp|icmp|any] [port N[-M]] | del ID]\n");
		return 2;
	}
	if (mg_policy_apply(p)) {
		fprintf(cli->err,
			"meshgate policy: saved, but not applied: %s\n",
			p->last_err == -E2BIG ? "past the maps' bounds" :
						strerror(-p->last_err));
		return 1;
	}
	out_finish();
	return 0;
}
