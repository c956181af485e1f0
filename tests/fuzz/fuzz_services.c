// SPDX-License-Identifier: GPL-2.0-only
/*
 * The services' learn() from gossip on hostile bytes: the input is one
 * replicated-state message as received (as fuzz_state), merged into a fresh
 * store; the services of a gateway with one configured service (IPv4 and an
 * IPv6 one) then take what the store holds (mg_services_sync(): publish,
 * learn, gather; no maps).  What it learns must stay within the services'
 * bound, be one of the store's VIPs or a configured one, list through the
 * CLI, and a second sync must learn nothing more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cli.h"
#include "config.h"
#include "state/statewire.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"
#include "services.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_now(void *ctx)
{
	return 1000;
}

static struct mg_loop *loop;
static struct mg_config *cfg;
static int devnull = -1, saved_err = -1;

/*
 * Without maps every sync logs its failed writes: stderr goes to /dev/null
 * around the sync (MG_FUZZ_VERBOSE=1 keeps it; a crash's input is saved by
 * libFuzzer either way, and replays under it with the report).
 */
static void quiet(bool on)
{
	if (devnull < 0)
		return;
	fflush(stderr);
	dup2(on ? devnull : saved_err, 2);
}

static void setup(void)
{
	struct mg_cfg_service *v;

	loop = mg_loop_new();
	cfg = calloc(1, sizeof(*cfg));
	if (!loop || !cfg)
		abort();
	mg_config_defaults(cfg);
	cfg->state_dir[0] = '\0';
	cfg->cluster_id = 1;
	cfg->n_services = 1;
	v = &cfg->services[0];
	mg_cfg_service_defaults(v);
	snprintf(v->name, sizeof(v->name), "web");
	v->vip.family = MG_AF_INET;
	v->vip.addr[0] = inet_addr("10.96.0.10");
	v->port = 80;
	mg_log_set_level(getenv("MG_FUZZ_VERBOSE") ? MG_LOG_INFO : MG_LOG_ERR);
	if (!getenv("MG_FUZZ_VERBOSE")) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		saved_err = fcntl(2, F_DUPFD_CLOEXEC, 10);
		if (saved_err < 0 && devnull >= 0) {
			close(devnull);
			devnull = -1;
		}
	}
}

static bool vip_in_store(struct mg_state *st, const struct mg_addr *a)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_entry e;

	while (mg_state_iter_next(st, &it, &e))
		if (e.key.kind == MG_STATE_BACKEND &&
		    mg_addr_equal(&e.key.be.vip, a))
			return true;
	return false;
}

static int list(struct mg_services *s, bool json)
{
	char *argv[] = { "services", NULL };
	struct mg_cli cli = { .priv = s, .json = json };
	FILE *out = fopen("/dev/null", "w");
	int rc;

	cli.err = out;
	out_init(out, json);
	rc = mg_services_cmd(&cli, 1, argv);
	fclose(out);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mg_state_cfg scfg = {
		.name = "gw-fuzz",
		.cluster_id = 1,
		.version_base = 1000,
		.hash_seed = 1,
		.max_entries = 4096,
		.now_ms = fuzz_now,
	};
	struct mg_services_maps none = { -1, -1, -1, -1, -1, -1, -1, -1, -1 };
	struct mg_addr vips[MG_CFG_MAX_SERVICES + 1],
		again[MG_CFG_MAX_SERVICES + 1];
	struct mg_services *s = NULL;
	struct mg_state *st;
	int n, m, i;

	if (!loop)
		setup();
	if (mg_state_new(&scfg, &st))
		abort();
	if (mg_state_recv(st, data, size, 65536, NULL) < 0)
		goto cleanup;
	if (mg_services_new(loop, cfg, NULL, NULL, &s))
		abort();
	quiet(true);
	mg_services_sync(s, st, NULL, &none);
	quiet(false);
	n = mg_services_vips(s, vips, MG_CFG_MAX_SERVICES + 1);
	if (n < 1 || n > MG_CFG_MAX_SERVICES)
		abort();
	if (devnull < 0)
		fprintf(stderr, "fuzz_services: %d VIPs served\n", n);
	for (i = 0; i < n; i++)
		if ((vips[i].family != MG_AF_INET &&
		     vips[i].family != MG_AF_INET6) ||
		    (vips[i].addr[0] != cfg->services[0].vip.addr[0] &&
		     !vip_in_store(st, &vips[i])))
			abort();
	if (list(s, false) || list(s, true))
		abort();
	quiet(true);
	mg_services_sync(s, st, NULL, &none);
	quiet(false);
	m = mg_services_vips(s, again, MG_CFG_MAX_SERVICES + 1);
	if (devnull < 0)
		fprintf(stderr, "fuzz_services: then %d\n", m);
	if (m != n)
		abort();
	for (i = 0; i < n; i++)
		if (!mg_addr_equal(&vips[i], &again[i]))
			abort();
cleanup:
	mg_services_free(s);
	mg_state_free(st);
	return 0;
}
