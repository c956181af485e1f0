// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's part of the Prometheus exposition (peers by state, gateways
 * per cluster, gossip traffic and rejects, backend health), read from the
 * JSON of its control-socket listings; metrics_expo.c has the datapath's.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "metrics_int.h"

/* --- the agent's part, from its listings' JSON ------------------------------ */

/*
 * The listings are flat enough to be read as a sequence of "key": value
 * pairs (arrays and objects only group them): fn gets each scalar, its
 * string form unquoted.
 */
void mg_metrics_json_pairs(const char *s,
			   void (*fn)(const char *key, const char *val,
				      void *arg),
			   void *arg)
{
	char key[256] = "", val[256];

	while (s && *s) {
		char *dst = val;
		size_t room = sizeof(val) - 1;

		if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1])
					s++;
				if (room) {
					*dst++ = *s;
					room--;
				}
			}
			*dst = '\0';
			if (*s)
				s++;
			while (isspace((unsigned char)*s))
				s++;
			if (*s == ':') {
				snprintf(key, sizeof(key), "%s", val);
				s++;
				continue;
			}
			fn(key, val, arg);
			continue;
		}
		if (isalnum((unsigned char)*s) || *s == '-') {
			while ((isalnum((unsigned char)*s) || *s == '-' ||
				*s == '.') && room) {
				*dst++ = *s++;
				room--;
			}
			*dst = '\0';
			fn(key, val, arg);
			continue;
		}
		s++;	/* { } [ ] , and blanks */
	}
}

#define STATES_MAX	16

struct tally {
	char name[STATES_MAX][64];
	unsigned long long n[STATES_MAX];
	int count;
};

static void tally_add(struct tally *t, const char *name, unsigned long long n)
{
	for (int i = 0; i < t->count; i++) {
		if (!strcmp(t->name[i], name)) {
			t->n[i] += n;
			return;
		}
	}
	if (t->count < STATES_MAX) {
		snprintf(t->name[t->count], sizeof(t->name[0]), "%s", name);
		t->n[t->count++] = n;
	}
}

struct status_walk {
	FILE *f;
};

/* `status` counters, as `meshgate status` shows them. */
static const struct {
	const char *key, *name, *type, *help;
} status_metrics[] = {
	{ "uptime_s", "meshgate_agent_uptime_seconds", "gauge",
	  "Seconds since the agent started." },
	{ "peers", "meshgate_gateways", "gauge",
	  "Remote gateways the agent knows (gossiped and static)." },
	{ "peers_alive", "meshgate_gateways_alive", "gauge",
	  "Remote gateways alive (or suspect)." },
	{ "state_messages", "meshgate_gossip_state_messages_total", "counter",
	  "Endpoint-state messages received." },
	{ "state_rejected", "meshgate_gossip_state_rejected_total", "counter",
	  "Endpoint-state messages rejected (not the sender's to write, malformed)." },
	{ "gossip_packets_in", "meshgate_gossip_packets_received_total",
	  "counter", "Gossip (memberlist) packets received." },
	{ "gossip_packets_out", "meshgate_gossip_packets_sent_total", "counter",
	  "Gossip (memberlist) packets sent." },
	{ "gossip_decrypt_failed", "meshgate_gossip_rejected_wrong_key_total",
	  "counter", "Gossip packets rejected: no key of the keyring opens them." },
	{ "gossip_plaintext_rejected",
	  "meshgate_gossip_rejected_plaintext_total", "counter",
	  "Gossip packets rejected: not encrypted while a key is configured." },
	{ "gossip_decode_errors", "meshgate_gossip_rejected_malformed_total",
	  "counter", "Gossip packets rejected: malformed." },
	{ "host_routes", "meshgate_host_routes", "gauge",
	  "Routes of the host device (the host's own traffic to the mesh)." },
};

static void status_pair(const char *key, const char *val, void *arg)
{
	struct status_walk *w = arg;

	for (size_t i = 0; i < sizeof(status_metrics) / sizeof(status_metrics[0]);
	     i++) {
		if (strcmp(key, status_metrics[i].key) ||
		    !isdigit((unsigned char)val[0]))
			continue;
		head(w->f, status_metrics[i].name, status_metrics[i].type,
		     status_metrics[i].help);
		fprintf(w->f, "%s %s\n", status_metrics[i].name, val);
	}
}

/* One member of `peers` at a time: flushed at the next one and the end. */
struct peers_walk {
	char cluster[64], state[32];
	bool open, gateway;
	struct tally by_state, by_cluster, alive_by_cluster;
};

static void peer_flush(struct peers_walk *w)
{
	if (!w->open)
		return;
	tally_add(&w->by_state, w->state, 1);
	if (w->gateway && strcmp(w->cluster, "-")) {
		tally_add(&w->by_cluster, w->cluster, 1);
		tally_add(&w->alive_by_cluster, w->cluster,
			  !strcmp(w->state, "alive") ||
			  !strcmp(w->state, "suspect") ||
			  !strcmp(w->state, "static"));
	}
	w->open = false;
	w->gateway = false;
	w->cluster[0] = w->state[0] = '\0';
}

static void peers_pair(const char *key, const char *val, void *arg)
{
	struct peers_walk *w = arg;

	if (!strcmp(key, "name")) {
		peer_flush(w);
		w->open = true;
	} else if (!strcmp(key, "cluster")) {
		snprintf(w->cluster, sizeof(w->cluster), "%s", val);
	} else if (!strcmp(key, "state")) {
		snprintf(w->state, sizeof(w->state), "%s", val);
	} else if (!strcmp(key, "meshgate")) {
		w->gateway = !strcmp(val, "true");
	}
}

struct svc_walk {
	FILE *f;
	char service[64], backend[64];
	bool headed;
};

static void svc_pair(const char *key, const char *val, void *arg)
{
	struct svc_walk *w = arg;

	if (!strcmp(key, "name")) {
		snprintf(w->service, sizeof(w->service), "%s", val);
	} else if (!strcmp(key, "address")) {
		snprintf(w->backend, sizeof(w->backend), "%s", val);
	} else if (!strcmp(key, "health")) {
		if (!w->headed)
			head(w->f, "meshgate_backend_up", "gauge",
			     "1 when the service backend passes its health check (up), 0 when down or not known yet.");
		w->headed = true;
		fprintf(w->f, "meshgate_backend_up{service=\"");
		label(w->f, w->service);
		fprintf(w->f, "\",backend=\"");
		label(w->f, w->backend);
		fprintf(w->f, "\"} %d\n", !strcmp(val, "up"));
	}
}

static void tally_print(FILE *f, const struct tally *t, const char *name,
			const char *lbl)
{
	for (int i = 0; i < t->count; i++) {
		fprintf(f, "%s{%s=\"", name, lbl);
		label(f, t->name[i]);
		fprintf(f, "\"} %llu\n", t->n[i]);
	}
}

void mg_metrics_agent_part(FILE *f, const char *status, const char *peers,
			   const char *services)
{
	struct status_walk sw = { .f = f };
	struct svc_walk vw = { .f = f };
	struct peers_walk *pw;

	mg_metrics_json_pairs(status, status_pair, &sw);
	pw = calloc(1, sizeof(*pw));
	if (pw && peers) {
		mg_metrics_json_pairs(peers, peers_pair, pw);
		peer_flush(pw);
		head(f, "meshgate_peers", "gauge",
		     "Members of the mesh (gateways and other agents) by state.");
		tally_print(f, &pw->by_state, "meshgate_peers", "state");
		head(f, "meshgate_cluster_gateways", "gauge",
		     "Gateways of each remote cluster.");
		tally_print(f, &pw->by_cluster, "meshgate_cluster_gateways",
			    "cluster");
		head(f, "meshgate_cluster_gateways_alive", "gauge",
		     "Gateways of each remote cluster that are alive, suspect or static (configured, taken as alive).");
		tally_print(f, &pw->alive_by_cluster,
			    "meshgate_cluster_gateways_alive", "cluster");
	}
	free(pw);
	mg_metrics_json_pairs(services, svc_pair, &vw);
}
