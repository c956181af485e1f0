// SPDX-License-Identifier: GPL-2.0-only
/* The entry points: defaults, a file or a string loaded, the host checked. */
#include "config/cfg_int.h"

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
