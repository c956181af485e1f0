// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mesh's files in state_dir: read line by line, the CLI's endpoints saved.
 */
#include "mesh/mesh_int.h"

/* --- files in state_dir ------------------------------------------------ */

/* Calls fn on every non-empty, non-comment line; returns lines or -errno. */
int mesh_read_lines(const char *path,
		    int (*fn)(void *ctx, const char *line, int lineno),
		    void *ctx)
{
	char line[512];
	int n = 0, lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");

		line[len] = '\0';
		lineno++;
		if (!line[0] || line[0] == '#')
			continue;
		if (!fn(ctx, line, lineno))
			n++;
	}
	fclose(f);
	return n;
}

int mesh_load_cli_ep(void *ctx, const char *line, int lineno)
{
	struct mg_mesh *mesh = ctx;
	struct mg_prefix p;

	if (mg_prefix_parse(line, &p) || mesh->n_cli_eps >= MAX_CLI_EPS) {
		pr_warn("%s:%d: not a prefix, skipped: %s", mesh->eps_path,
			lineno, line);
		return -EINVAL;
	}
	mesh->cli_eps[mesh->n_cli_eps++] = p;
	return 0;
}

/* eps (n of them) into state_dir/endpoints; 0 or -errno, logged. */
int mesh_save_cli_eps(struct mg_mesh *mesh, const struct mg_prefix *eps, int n)
{
	char (*buf)[MG_PREFIXSTRLEN] = calloc(n + 1, sizeof(*buf));
	const char **lines = calloc(n + 1, sizeof(*lines));
	int err = -ENOMEM;

	if (buf && lines) {
		for (int i = 0; i < n; i++)
			lines[i] = mg_prefix_str(&eps[i], buf[i],
						 sizeof(buf[i]));
		err = mg_persist_write_lines(mesh->eps_path, lines, n);
	}
	free(buf);
	free(lines);
	if (err)
		pr_err("saving %s: %s", mesh->eps_path, strerror(-err));
	return err;
}
