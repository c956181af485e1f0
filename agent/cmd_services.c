// SPDX-License-Identifier: GPL-2.0-only
/* `meshgate services`: list, add, set, del, and the VIPs. */
#include "services/svc_int.h"

/* --- the CLI ----------------------------------------------------------------- */

static int svc_list(struct mg_cli *cli, struct mg_services *s)
{
	static const char *const src[] = { "config", "cli", "gossip" };
	char a[MG_ADDRSTRLEN];

	out_arr_open("services");
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		const struct svc *v = &s->svc[i];
		int in_use = 0;

		if (!v->used)
			continue;
		for (int b = 0; b < v->n_be; b++)
			in_use += v->be[b].in_use;
		out_obj_open(NULL);
		out_str("name", "%s", v->c.name);
		out_str("vip", "  %s", mg_addr_str(&v->c.vip, a, sizeof(a)));
		out_u64("port", ":%llu", v->c.port);
		out_str("proto", "/%s", proto_name(svc_ipproto(&v->c)));
		out_str("affinity", "  affinity %s",
			affinity_names[v->c.affinity]);
		out_u64("min_local", " min_local %llu", v->c.min_local);
		out_str("source", "  (%s)", src[v->source]);
		out_u64("in_use", "  %llu", in_use);
		out_u64("backends", "/%llu backends in use\n", v->n_be);
		out_arr_open("backend");
		for (int b = 0; b < v->n_be; b++) {
			const struct sbe *e = &v->be[b];
			char ap[MG_ADDRPORTSTRLEN];

			mg_addr_port_str(&e->addr, e->port, ap, sizeof(ap));
			out_obj_open(NULL);
			out_str("address", "    %-22s", ap);
			out_u64("cluster_id", " cluster %-3llu", e->cluster_id);
			out_str("origin", " %-16s", e->origin);
			out_str("health", " %-7s",
				mg_health_state_name(e->state));
			out_str("outlier", " %-7s",
				e->ejected ? "ejected" : "ok");
			if (e->ejected) {
				time_t t = (time_t)(e->eject_until / 1000);
				char ts[32];

				strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ",
					 gmtime(&t));
				out_str("ejected_until", " until %s", ts);
			}
			out_u64("weight", " weight %-5llu", e->weight);
			out_bool("live", " %s", e->live);
			out_bool("in_use", " %s\n", e->in_use);
			out_obj_close();
		}
		out_arr_close();
		out_obj_close();
	}
	out_arr_close();
	out_finish();
	return 0;
}

/*
 * `services set NAME WORDS...`: the words over the service's current
 * definition (a later word wins); backends given replace them all.
 */
static int set_args(const struct mg_cfg_service *cur, int argc, char **argv,
		    struct mg_cfg_service *c, char *err, size_t errlen)
{
	char *line = NULL, *words[2 * (MG_CFG_MAX_BACKENDS + 8) + 64];
	char *tok, *save;
	size_t len = 0;
	bool backends = false;
	int n = 0, rc;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return -ENOMEM;
	svc_cli_line(f, cur);
	fclose(f);
	for (int i = 0; i < argc; i += 2)
		if (!strcmp(argv[i], "backend"))
			backends = true;
	/* The first word is the name. */
	strtok_r(line, " \n", &save);
	while ((tok = strtok_r(NULL, " \n", &save)) &&
	       n < (int)(sizeof(words) / sizeof(words[0])) - 1) {
		if (backends && !strcmp(tok, "backend")) {
			strtok_r(NULL, " \n", &save);
			continue;
		}
		words[n++] = tok;
	}
	if (n + argc > (int)(sizeof(words) / sizeof(words[0]))) {
		snprintf(err, errlen, "too many words");
		free(line);
		return -EINVAL;
	}
	for (int i = 0; i < argc; i++)
		words[n++] = argv[i];
	rc = mg_services_parse_args(c, n, words, err, errlen);
	free(line);
	if (!rc)
		snprintf(c->name, sizeof(c->name), "%s", cur->name);
	return rc;
}

/*
 * Saved first, applied after: a restart finds what we answer.  0 or an
 * exit code, with the message in cli->err.
 */
static int svc_set(struct mg_cli *cli, struct mg_services *s, int argc,
		   char **argv)
{
	struct svc *v = svc_find(s, argv[2]), *other;
	struct mg_cfg_service c, old;
	char err[160];
	int rc;

	if (!v || v->source != SRC_CLI) {
		fprintf(cli->err,
			"meshgate services set: %s is not a service added with 'services add'\n",
			argv[2]);
		return 1;
	}
	rc = set_args(&v->c, argc - 3, argv + 3, &c, err, sizeof(err));
	if (rc) {
		fprintf(cli->err, "meshgate services set: %s\n",
			rc == -EINVAL ? err : strerror(-rc));
		return 2;
	}
	other = svc_find_vip(s, &c.vip, c.port, svc_ipproto(&c));
	if (other && other != v) {
		fprintf(cli->err,
			"meshgate services set: that VIP:port/proto has a service (%s)\n",
			other->c.name);
		return 1;
	}
	old = v->c;
	v->c = c;
	rc = svc_cli_save(s, NULL);
	v->c = old;
	if (rc) {
		fprintf(cli->err,
			"meshgate services set: not changed: saving %s: %s\n",
			s->path, strerror(-rc));
		return 1;
	}
	rc = svc_replace(s, v, &c);
	if (rc) {
		/* Saved but not applied: save what runs again. */
		svc_cli_save(s, NULL);
		fprintf(cli->err, "meshgate services set: not changed: %s\n",
			strerror(-rc));
		return 1;
	}
	pr_info("service %s: changed by services set", c.name);
	return 0;
}

int mg_services_cmd(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_services *s = cli->priv;
	struct svc *v, *learned = NULL;
	struct mg_cfg_service c;
	char err[160];
	int rc;

	if (argc < 2 || mg_matches(argv[1], "list"))
		return svc_list(cli, s);
	if (argc >= 3 && mg_matches(argv[1], "add")) {
		if (mg_services_parse_args(&c, argc - 3, argv + 3, err,
					   sizeof(err))) {
			fprintf(cli->err, "meshgate services add: %s\n", err);
			return 2;
		}
		snprintf(c.name, sizeof(c.name), "%s", argv[2]);
		/*
		 * A service learned from another cluster is this one too:
		 * adding it here (by its name or its VIP) adds this
		 * cluster's backends to it, under the definition given.
		 */
		learned = svc_find_vip(s, &c.vip, c.port, svc_ipproto(&c));
		v = svc_find(s, argv[2]);
		if (v && v != learned) {
			fprintf(cli->err,
				v->source == SRC_GOSSIP ?
					"meshgate services add: %s is learned from another cluster with another VIP:port/proto\n" :
					"meshgate services add: %s exists (del it first)\n",
				argv[2]);
			return 1;
		}
		if (learned && learned->source != SRC_GOSSIP) {
			fprintf(cli->err,
				"meshgate services add: that VIP:port/proto has a service (%s)\n",
				learned->c.name);
			return 1;
		}
		if (learned)
			svc_stop(learned);
		rc = svc_start(s, &c, SRC_CLI);
		if (rc) {
			fprintf(cli->err, "meshgate services add: %s\n",
				strerror(-rc));
			goto undone;
		}
		/* Applied only once saved: a restart finds what we answer. */
		rc = svc_cli_save(s, NULL);
		if (rc) {
			svc_stop(svc_find(s, c.name));
			fprintf(cli->err,
				"meshgate services add: not added: saving %s: %s\n",
				s->path, strerror(-rc));
			goto undone;
		}
		if (learned)
			pr_info("service %s: this cluster's backends added to the one learned from gossip",
				c.name);
	} else if (argc >= 3 && mg_matches(argv[1], "set")) {
		rc = svc_set(cli, s, argc, argv);
		if (rc)
			return rc;
	} else if (argc == 3 && (mg_matches(argv[1], "del") ||
				 mg_matches(argv[1], "delete"))) {
		v = svc_find(s, argv[2]);
		if (!v || v->source != SRC_CLI) {
			fprintf(cli->err,
				"meshgate services del: %s is not a service added with 'services add'\n",
				argv[2]);
			return 1;
		}
		rc = svc_cli_save(s, v);
		if (rc) {
			fprintf(cli->err,
				"meshgate services del: not deleted: saving %s: %s\n",
				s->path, strerror(-rc));
			return 1;
		}
		svc_stop(v);
	} else {
		fprintf(cli->err,
			"usage: meshgate services [list]\n"
			"       meshgate services add NAME vip ADDR port N [proto tcp|udp]\n"
			"                [affinity any|local|remote] [min_local N] [backend ADDR:PORT[:WEIGHT]]...\n"
			"       meshgate services set NAME [vip ADDR] [port N] [proto tcp|udp]\n"
			"                [affinity any|local|remote] [min_local N] [backend ADDR:PORT[:WEIGHT]]...\n"
			"       meshgate services del NAME\n");
		return 2;
	}
	if (s->changed)
		s->changed(s->arg);
	out_text("ok\n");
	out_finish();
	return 0;
undone:
	/* The learned service comes back from gossip at the next sync. */
	if (learned && s->changed)
		s->changed(s->arg);
	return 1;
}

int mg_services_vips(const struct mg_services *s, struct mg_addr *out, int max)
{
	int n = 0;

	for (int i = 0; i < MG_CFG_MAX_SERVICES && n < max; i++) {
		const struct svc *v = &s->svc[i];
		int j;

		if (!v->used)
			continue;
		for (j = 0; j < n; j++)
			if (mg_addr_equal(&out[j], &v->c.vip))
				break;
		if (j == n)
			out[n++] = v->c.vip;
	}
	return n;
}
