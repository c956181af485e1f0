// SPDX-License-Identifier: GPL-2.0-only
/*
 * mgpeer: one membership engine on the event loop, for interop tests with
 * serf and for the gossip benchmark.
 *
 *   mgpeer -n NAME -b ADDR[:PORT] [-a ADVERTISE] [-j SEED]... [-k KEY]...
 *          [-t KEY=VALUE]... [-p lan|wan|local] [-P] [-v]
 *
 * Prints one line per membership change ("join NAME ADDR:PORT",
 * "leave NAME dead|left", "update NAME", "joined OK/TRIED"); SIGUSR1 prints
 * the member table and counters as one JSON line; SIGTERM leaves gracefully
 * and exits; SIGINT exits at once (as if killed).
 *
 * A graceful leave speaks serf's part too: serf shows a member "left" only
 * if its leave intent (serf message 0, Lamport-timed) arrived before the
 * memberlist dead message, else "failed".  serf handles user messages
 * last-in first-out, so the intent goes out a second before the death.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/member.h"
#include "gossip/serf.h"
#include "gossip/msgpack.h"
#include "gossip/tags.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/loop.h"

#define MAX_SEEDS	16


struct peer {
	struct mg_loop *loop;
	struct mg_member *m;
	struct mg_loop_src *leave_timer;
	const char *name;
	uint64_t ltime;			/* serf's Lamport clock, witnessed */
};

static void on_user(void *arg, const uint8_t *b, size_t n)
{
	struct peer *p = arg;

	mg_serf_witness_user(&p->ltime, b, n);
}

static void on_merge(void *arg, const uint8_t *b, size_t n, bool join)
{
	struct peer *p = arg;

	mg_serf_witness_state(&p->ltime, b, n);
}

static void leave_now(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct peer *p = arg;

	mg_loop_del(p->loop, p->leave_timer);
	p->leave_timer = NULL;
	if (mg_member_leave(p->m, 5000) == -EALREADY)
		mg_loop_stop(p->loop);
}

static void line(const char *what, const struct mg_member_info *mi)
{
	char buf[MG_ADDRSTRLEN];

	printf("%s %s %s:%u %s\n", what, mi->name,
	       mg_addr_str(&mi->addr, buf, sizeof(buf)), mi->port,
	       mg_member_state_name(mi->state));
	fflush(stdout);
}

static void on_join(void *arg, const struct mg_member_info *mi)
{
	line("join", mi);
}

static void on_leave(void *arg, const struct mg_member_info *mi)
{
	line("leave", mi);
}

static void on_update(void *arg, const struct mg_member_info *mi)
{
	line("update", mi);
}

static void on_join_done(void *arg, unsigned int ok, unsigned int tried)
{
	printf("joined %u/%u\n", ok, tried);
	fflush(stdout);
}

static void on_leave_done(void *arg, bool sent)
{
	struct peer *p = arg;

	printf("left %s\n", sent ? "ok" : "timeout");
	fflush(stdout);
	mg_loop_stop(p->loop);
}

static void json_str(const char *s, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int print_member(void *ctx, const struct mg_member_info *mi)
{
	struct mg_tag_view tags[MG_TAGS_MAX];
	struct mg_ml_meta meta = { .len = mi->meta_len };
	bool *first = ctx;
	char buf[MG_ADDRSTRLEN];
	int n, i;

	memcpy(meta.data, mi->meta, mi->meta_len);
	printf("%s{\"name\":", *first ? "" : ",");
	*first = false;
	json_str(mi->name, strlen(mi->name));
	printf(",\"addr\":\"%s\",\"port\":%u,\"state\":\"%s\",\"incarnation\":%u,\"rtt_us\":%lld,\"self\":%s,\"tags\":{",
	       mg_addr_str(&mi->addr, buf, sizeof(buf)), mi->port,
	       mg_member_state_name(mi->state), mi->incarnation,
	       (long long)mi->rtt_us, mi->self ? "true" : "false");
	n = mg_tags_decode(&meta, tags, MG_TAGS_MAX);
	for (i = 0; i < n; i++) {
		printf("%s", i ? "," : "");
		json_str(tags[i].key, tags[i].key_len);
		putchar(':');
		json_str(tags[i].value, tags[i].value_len);
	}
	printf("}}");
	return 0;
}

static void dump(struct peer *p)
{
	const struct mg_member_stats *s = mg_member_stats(p->m);
	bool first = true;

	printf("{\"members\":[");
	mg_member_foreach(p->m, print_member, &first);
	printf("],\"health\":%d,\"incarnation\":%u,\"stats\":{", mg_member_health(p->m),
	       mg_member_incarnation(p->m));
#define F(x) printf("\"" #x "\":%llu,", (unsigned long long)s->x)
	F(pkts_in); F(bytes_in); F(pkts_out); F(bytes_out);
	F(streams_in); F(streams_out); F(stream_errors);
	F(decrypt_failed); F(plaintext_rejected); F(decode_errors);
	F(pings_sent); F(pings_recv); F(acks_sent); F(acks_recv);
	F(nacks_sent); F(nacks_recv); F(indirect_sent); F(indirect_recv);
	F(tcp_pings); F(tcp_ping_ok); F(suspects); F(deaths); F(refutes);
	F(push_pull_rejected); F(conflicts); F(gossip_sent);
#undef F
	printf("\"push_pulls\":%llu}}\n", (unsigned long long)s->push_pulls);
	fflush(stdout);
}

static void on_signal(struct mg_loop_src *src, uint32_t sig, void *arg)
{
	struct peer *p = arg;

	switch (sig) {
	case SIGUSR1:
		dump(p);
		break;
	case SIGTERM:
		if (p->leave_timer)
			break;
		if (mg_serf_leave_intent(p->m, p->name, &p->ltime))
			fprintf(stderr, "mgpeer: cannot queue the leave intent\n");
		p->leave_timer = mg_loop_add_timer(p->loop,
						   MG_SERF_INTENT_LEAD_MS, 0,
						   leave_now, p);
		if (!p->leave_timer)
			mg_loop_stop(p->loop);
		break;
	default:
		mg_loop_stop(p->loop);
		break;
	}
}

static int parse_hostport(const char *s, struct mg_addr *a, uint16_t *port)
{
	char host[MG_ADDRSTRLEN + 8];
	const char *c = strrchr(s, ':');

	if (c && !strchr(s, ']') && strchr(s, ':') != c)
		c = NULL;			/* bare IPv6 */
	snprintf(host, sizeof(host), "%.*s", c ? (int)(c - s) : (int)strlen(s),
		 s[0] == '[' ? s + 1 : s);
	if (host[0] && host[strlen(host) - 1] == ']')
		host[strlen(host) - 1] = 0;
	if (c)
		*port = atoi(c + 1);
	return mg_addr_parse(host, a);
}

static void usage(void)
{
	fprintf(stderr, "usage: mgpeer -n NAME -b ADDR[:PORT] [-a ADDR[:PORT]] [-j SEED]... [-k KEY]... [-t K=V]... [-p lan|wan|local] [-P (no compression)] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGUSR1, SIGTERM, SIGINT };
	struct mg_member_ops ops = {
		.notify_join = on_join,
		.notify_leave = on_leave,
		.notify_update = on_update,
		.notify_user_msg = on_user,
		.merge_remote_state = on_merge,
		.join_done = on_join_done,
		.leave_done = on_leave_done,
	};
	const char *seeds[MAX_SEEDS];
	struct mg_tag tags[32];
	unsigned int nseeds = 0, ntags = 0;
	struct mg_member_cfg cfg;
	struct peer p = { 0 };
	int c, err = 0, prof;

	mg_member_cfg_init(&cfg, MG_MEMBER_LAN);
	mg_log_set_level(MG_LOG_WARN);
	while ((c = getopt(argc, argv, "n:b:a:j:k:t:p:Pv")) != -1) {
		switch (c) {
		case 'n':
			snprintf(cfg.name, sizeof(cfg.name), "%s", optarg);
			break;
		case 'b':
			if (parse_hostport(optarg, &cfg.bind, &cfg.port))
				usage();
			break;
		case 'a':
			if (parse_hostport(optarg, &cfg.advertise,
					   &cfg.advertise_port))
				usage();
			break;
		case 'j':
			if (nseeds < MAX_SEEDS)
				seeds[nseeds++] = optarg;
			break;
		case 'k':
			if (mg_keyring_add_b64(&cfg.keyring, optarg, false)) {
				fprintf(stderr, "mgpeer: bad key\n");
				return 2;
			}
			break;
		case 't': {
			char *eq = strchr(optarg, '=');

			if (!eq || ntags >= 32)
				usage();
			*eq = 0;
			tags[ntags].key = optarg;
			tags[ntags++].value = eq + 1;
			break;
		}
		case 'p':
			prof = mg_member_profile_parse(optarg);
			if (prof < 0)
				usage();
			mg_member_profile_timers(prof, &cfg.t);
			break;
		case 'P':
			cfg.compress = false;
			break;
		case 'v':
			mg_log_set_level(MG_LOG_DEBUG);
			break;
		default:
			usage();
		}
	}
	if (!cfg.name[0] || !cfg.bind.family)
		usage();
	if (mg_tags_encode(tags, ntags, &cfg.meta)) {
		fprintf(stderr, "mgpeer: tags do not fit in 512 bytes\n");
		return 2;
	}
	p.name = cfg.name;
	p.loop = mg_loop_new();
	if (!p.loop)
		return 1;
	if (!mg_loop_add_signals(p.loop, sigs, 3, on_signal, &p)) {
		err = -errno;
		goto out;
	}
	p.m = mg_member_new(p.loop, &cfg, &ops, &p, &err);
	if (!p.m)
		goto out;
	printf("ready %s\n", cfg.name);
	fflush(stdout);
	if (nseeds) {
		err = mg_member_join(p.m, seeds, nseeds);
		if (err < 0)
			fprintf(stderr, "mgpeer: join: %s\n", strerror(-err));
	}
	err = mg_loop_run(p.loop);
out:
	if (err < 0)
		fprintf(stderr, "mgpeer: %s\n", strerror(-err));
	mg_member_free(p.m);
	mg_loop_free(p.loop);
	mg_keyring_clear(&cfg.keyring);
	return err < 0 ? 1 : 0;
}
