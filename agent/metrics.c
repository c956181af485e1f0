// SPDX-License-Identifier: GPL-2.0-only
/*
 * The metrics server: libmicrohttpd's own thread answers /metrics with
 * mg_metrics_render() (metrics_expo.c) over the pinned maps and the text
 * snapshot of the agent's state that the event loop renders once a second
 * and hands over under a mutex.  That thread touches no agent structure.
 * The snapshot also carries how many entries the agent last wrote to
 * mg_ep4 and mg_ep6 (exact while its write cache is valid): counting 100k
 * keys of an LPM trie (no batch operations) is most of a scrape otherwise.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include "agent.h"
#include "cli.h"
#include "metrics.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"

#define SNAPSHOT_MS	1000	/* how often the agent's part is renewed */

struct mg_metrics {
	struct MHD_Daemon *httpd;
	struct mg_loop *loop;
	struct mg_loop_src *timer;
	void *agent;
	char pin_dir[PATH_MAX];
	pthread_mutex_t lock;
	char *snapshot;			/* under lock */
	long long known_ep[2];		/* under lock: mg_ep4, mg_ep6 */
};

/* --- the event loop's snapshot ---------------------------------------------- */

/* One listing of the agent's, as its control socket would answer -j. */
static char *listing(struct mg_metrics *m, mg_cmd_fn fn, const char *obj)
{
	char *argv[] = { (char *)obj, NULL };
	struct mg_cli cli = { .json = true, .priv = m->agent };
	char *buf = NULL, *ebuf = NULL;
	size_t len = 0, elen = 0;
	FILE *of, *ef;
	int rc;

	of = open_memstream(&buf, &len);
	ef = open_memstream(&ebuf, &elen);
	if (!of || !ef) {
		if (of)
			fclose(of);
		if (ef)
			fclose(ef);
		free(buf);
		free(ebuf);
		return NULL;
	}
	cli.err = ef;
	out_init(of, true);
	rc = fn(&cli, 1, argv);
	fclose(of);
	fclose(ef);
	free(ebuf);
	if (rc) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void on_snapshot(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_metrics *m = arg;
	char *st, *pe, *sv, *text = NULL, *old;
	size_t len = 0;
	FILE *f;

	st = listing(m, mg_agent_serve_status, "status");
	pe = listing(m, mg_agent_serve_peers, "peers");
	sv = listing(m, mg_agent_serve_services, "services");
	f = open_memstream(&text, &len);
	if (f) {
		mg_metrics_agent_part(f, st, pe, sv);
		fclose(f);
	}
	free(st);
	free(pe);
	free(sv);
	pthread_mutex_lock(&m->lock);
	old = m->snapshot;
	m->snapshot = text;
	mg_agent_known_entries(m->agent, &m->known_ep[0], &m->known_ep[1]);
	pthread_mutex_unlock(&m->lock);
	free(old);
}

/* --- HTTP -------------------------------------------------------------------- */

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	static const char not_found[] = "see /metrics\n";
	struct mg_metrics *m = cls;
	struct mg_metrics_known known[2] = { { "mg_ep4", -1 }, { "mg_ep6", -1 } };
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL, *snap;
	size_t len = 0;
	int status = MHD_HTTP_OK;
	FILE *f;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return MHD_NO;
	if (strcmp(url, "/metrics")) {
		resp = MHD_create_response_from_buffer(sizeof(not_found) - 1,
						       (void *)not_found,
						       MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	pthread_mutex_lock(&m->lock);
	snap = m->snapshot ? strdup(m->snapshot) : NULL;
	known[0].entries = m->known_ep[0];
	known[1].entries = m->known_ep[1];
	pthread_mutex_unlock(&m->lock);
	f = open_memstream(&text, &len);
	if (!f) {
		free(snap);
		return MHD_NO;
	}
	if (mg_metrics_render(f, m->pin_dir, snap, known, 2, NULL))
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	fclose(f);
	free(snap);
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
				"text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int mg_metrics_start(struct mg_loop *loop, const struct mg_config *cfg,
		     void *agent, struct mg_metrics **out)
{
	const struct mg_cfg_seed *l = &cfg->metrics_listen;
	struct sockaddr_storage ss = { 0 };
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
	struct mg_metrics *m;
	char where[MG_ADDRPORTSTRLEN];

	*out = NULL;
	if (!l->port)
		return 0;
	if (l->addr.family == MG_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(l->port);
		memcpy(&s6->sin6_addr, l->addr.addr, 16);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(l->port);
		memcpy(&s4->sin_addr, l->addr.addr, 4);
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->agent = agent;
	m->loop = loop;
	m->known_ep[0] = m->known_ep[1] = -1;
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", cfg->pin_dir);
	pthread_mutex_init(&m->lock, NULL);
	mg_addr_port_str(&l->addr, l->port, where, sizeof(where));
	/* The first snapshot before the first scrape can come. */
	on_snapshot(NULL, 0, m);
	m->timer = mg_loop_add_timer(loop, SNAPSHOT_MS, SNAPSHOT_MS,
				     on_snapshot, m);
	m->httpd = MHD_start_daemon(flags, l->port, NULL, NULL, answer, m,
				    MHD_OPTION_SOCK_ADDR, &ss,
				    MHD_OPTION_CONNECTION_LIMIT, 16u,
				    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				    MHD_OPTION_END);
	if (!m->timer || !m->httpd) {
		int err = errno ? -errno : -EINVAL;

		pr_err("metrics: cannot serve on %s: %s", where,
		       strerror(-err));
		mg_metrics_stop(m);
		return err;
	}
	pr_info("metrics on http://%s/metrics", where);
	*out = m;
	return 0;
}

void mg_metrics_stop(struct mg_metrics *m)
{
	if (!m)
		return;
	if (m->httpd)
		MHD_stop_daemon(m->httpd);
	if (m->timer)
		mg_loop_del(m->loop, m->timer);
	pthread_mutex_destroy(&m->lock);
	free(m->snapshot);
	free(m);
}
