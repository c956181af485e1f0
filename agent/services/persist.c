// SPDX-License-Identifier: GPL-2.0-only
/* The services added by the CLI: saved in state_dir/services, loaded. */
#include "services/svc_int.h"

void svc_cli_line(FILE *f, const struct mg_cfg_service *c)
{
	char a[MG_ADDRSTRLEN];

	fprintf(f, "%s vip %s port %u proto %s affinity %s min_local %u",
		c->name, mg_addr_str(&c->vip, a, sizeof(a)), c->port,
		proto_name(svc_ipproto(c)), affinity_names[c->affinity],
		c->min_local);
	/* The traffic controls when set: older lines stay as they were. */
	if (c->on_no_backend == MG_NB_DROP)
		fprintf(f, " on_no_backend drop");
	if (c->rate_pps)
		fprintf(f, " rate_pps %u rate_burst %u", c->rate_pps,
			c->rate_burst);
	if (c->newflow_rate)
		fprintf(f, " newflow_rate %u newflow_burst %u", c->newflow_rate,
			c->newflow_burst);
	if (c->max_flows_per_backend)
		fprintf(f, " max_flows_per_backend %u",
			c->max_flows_per_backend);
	for (int b = 0; b < c->n_backends; b++) {
		char ap[MG_ADDRPORTSTRLEN];

		fprintf(f, " backend %s:%u",
			mg_addr_port_str(&c->backends[b].addr,
					 c->backends[b].port, ap, sizeof(ap)),
			c->backends[b].weight);
	}
	fputc('\n', f);
}

/*
 * state_dir/services, one line per CLI service (NAME followed by its
 * words), as it would be without skip: saved before the change it records
 * is applied.  0 (also when there is no state_dir) or -errno, logged.
 */
int svc_cli_save(struct mg_services *s, const struct svc *skip)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (!s->path[0])
		return 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		const struct svc *v = &s->svc[i];

		if (v->used && v->source == SRC_CLI && v != skip)
			svc_cli_line(f, &v->c);
	}
	err = fclose(f) ? -ENOMEM : mg_persist_write(s->path, buf, len);
	free(buf);
	if (err)
		pr_err("saving services in %s: %s", s->path, strerror(-err));
	return err;
}

void svc_cli_load(struct mg_services *s)
{
	char line[4096], err[128];
	int lineno = 0;
	FILE *f = fopen(s->path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct mg_cfg_service c;
		char *argv[2 * (MG_CFG_MAX_BACKENDS + 8)], *tok, *save;
		int argc = 0;

		lineno++;
		tok = strtok_r(line, " \t\n", &save);
		if (!tok)
			continue;
		while (argc < (int)(sizeof(argv) / sizeof(argv[0])) &&
		       (argv[argc] = strtok_r(NULL, " \t\n", &save)))
			argc++;
		if (mg_services_parse_args(&c, argc, argv, err, sizeof(err))) {
			pr_warn("%s:%d: %s", s->path, lineno, err);
			continue;
		}
		snprintf(c.name, sizeof(c.name), "%s", tok);
		if (svc_find(s, c.name) || svc_start(s, &c, SRC_CLI))
			pr_warn("%s:%d: service %s not taken", s->path, lineno,
				c.name);
	}
	fclose(f);
}
