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
 *   mgpeer -F pushpull:N[:M]|bomb:N|trickle:N [-d SECONDS] -j TARGET[:PORT]
 *
 * floods TARGET as a hostile peer would (tests/e2e/test_gossip_flood.sh):
 * N push/pulls of M (default 65,536) fake members each; N TCP streams and N datagrams
 * each an LZW bomb (32 MiB of zeros, about 50 KB compressed); N
 * connections trickling a large push/pull a few bytes at a time for
 * SECONDS (default 10).  Prints what it sent and exits.
 *
 * A graceful leave speaks serf's part too: serf shows a member "left" only
 * if its leave intent (serf message 0, Lamport-timed) arrived before the
 * memberlist dead message, else "failed".  serf handles user messages
 * last-in first-out, so the intent goes out a second before the death.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "memberlist/member.h"
#include "serf/serf.h"
#include "lib/msgpack.h"
#include "serf/tags.h"
#include "memberlist/wire.h"
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

static void usage(void);

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

/* --- flood mode --------------------------------------------------------------- */

#define FLOOD_MEMBERS	65536
#define BOMB_BYTES	(32u << 20)

/* A plaintext push/pull announcing @n fake members, all alive. */
static int fake_push_pull(unsigned int n, struct mg_buf *out)
{
	static const uint8_t vsn[MG_ML_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };
	struct mg_ml_push_node *nodes = calloc(n, sizeof(*nodes));
	int err;

	if (!nodes)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		snprintf(nodes[i].name, sizeof(nodes[i].name), "fake-%u", i);
		nodes[i].addr.len = 4;
		nodes[i].addr.a[0] = 10;
		nodes[i].addr.a[1] = 254;
		nodes[i].addr.a[2] = i >> 8;
		nodes[i].addr.a[3] = i;
		nodes[i].port = MG_MEMBER_PORT;
		nodes[i].incarnation = 1;
		nodes[i].state = MG_ML_STATE_ALIVE;
		memcpy(nodes[i].vsn, vsn, MG_ML_VSN_LEN);
	}
	err = mg_ml_push_pull_encode(false, nodes, n, NULL, 0, out);
	free(nodes);
	return err;
}

/* [compress][LZW of a user message of BOMB_BYTES zeros] */
static int lzw_bomb(struct mg_buf *out)
{
	uint8_t *zeros = calloc(1, BOMB_BYTES);
	int err;

	if (!zeros)
		return -ENOMEM;
	zeros[0] = MG_ML_USER;
	err = mg_ml_compress_wrap(zeros, BOMB_BYTES, out);
	free(zeros);
	return err;
}

static int flood_socket(const struct mg_addr *to, uint16_t port, int type)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd;

	if (to->family == MG_AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, to->addr, 16);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, &to->addr[0], 4);
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, type, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Send it all, then read (and drop) the answer until the peer closes. */
static int flood_stream(const struct mg_addr *to, uint16_t port,
			const struct mg_buf *b)
{
	struct timeval tv = { .tv_sec = 30 };
	int fd = flood_socket(to, port, SOCK_STREAM);
	size_t off = 0;
	char sink[65536];

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (off < b->len) {
		ssize_t w = send(fd, b->data + off, b->len - off, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += w;
	}
	while (recv(fd, sink, sizeof(sink), 0) > 0)
		;
	close(fd);
	return 0;
}

static int flood(const char *what, const char *target, unsigned int secs)
{
	struct mg_buf b = { 0 };
	uint16_t port = MG_MEMBER_PORT;
	struct mg_addr to;
	unsigned int n = 1;
	const char *colon = strchr(what, ':');
	int err = 0;

	if (!target || parse_hostport(target, &to, &port))
		usage();
	if (colon)
		n = atoi(colon + 1);
	if (!strncmp(what, "pushpull", 8)) {
		const char *m = colon ? strchr(colon + 1, ':') : NULL;
		unsigned int members = m ? atoi(m + 1) : FLOOD_MEMBERS;

		err = fake_push_pull(members, &b);
		for (unsigned int i = 0; !err && i < n; i++)
			err = flood_stream(&to, port, &b);
		printf("pushpull %u x %u members, %zu bytes each\n", n,
		       members, b.len);
	} else if (!strncmp(what, "bomb", 4)) {
		int fd;

		err = lzw_bomb(&b);
		for (unsigned int i = 0; !err && i < n; i++)
			err = flood_stream(&to, port, &b);
		fd = err ? -1 : flood_socket(&to, port, SOCK_DGRAM);
		for (unsigned int i = 0; fd >= 0 && i < n; i++)
			if (b.len <= 65000)
				send(fd, b.data, b.len, 0);
		if (fd >= 0)
			close(fd);
		printf("bomb %u streams and datagrams of %zu bytes (%u MiB inflated)\n",
		       n, b.len, BOMB_BYTES >> 20);
	} else if (!strncmp(what, "trickle", 7)) {
		int *fds = calloc(n, sizeof(*fds));
		size_t off = 0, step = 16;
		time_t end = time(NULL) + secs;

		err = fds ? fake_push_pull(FLOOD_MEMBERS, &b) : -ENOMEM;
		for (unsigned int i = 0; !err && i < n; i++)
			fds[i] = flood_socket(&to, port, SOCK_STREAM);
		/* every connection a few bytes further every 10 ms */
		while (!err && time(NULL) < end && off + step < b.len) {
			for (unsigned int i = 0; i < n; i++)
				if (fds[i] >= 0 &&
				    send(fds[i], b.data + off, step,
					 MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
					close(fds[i]);
					fds[i] = -1;
				}
			off += step;
			poll(NULL, 0, 10);
		}
		for (unsigned int i = 0; fds && i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		free(fds);
		printf("trickle %u connections, %zu bytes each\n", n, off);
	} else {
		usage();
	}
	mg_buf_free(&b);
	if (err)
		fprintf(stderr, "mgpeer: flood %s: %s\n", what, strerror(-err));
	return err ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: mgpeer -n NAME -b ADDR[:PORT] [-a ADDR[:PORT]] [-j SEED]... [-k KEY]... [-t K=V]... [-p lan|wan|local] [-P (no compression)] [-v]\n"
		"       mgpeer -F pushpull:N|bomb:N|trickle:N [-d SECONDS] -j TARGET[:PORT]\n");
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
	const char *flood_what = NULL;
	unsigned int flood_secs = 10;

	mg_member_cfg_init(&cfg, MG_MEMBER_LAN);
	mg_log_set_level(MG_LOG_WARN);
	while ((c = getopt(argc, argv, "n:b:a:j:k:t:p:PvF:d:")) != -1) {
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
		case 'F':
			flood_what = optarg;
			break;
		case 'd':
			flood_secs = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (flood_what)
		return flood(flood_what, nseeds ? seeds[0] : NULL, flood_secs);
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
