// SPDX-License-Identifier: GPL-2.0-only
/*
 * The membership engine against memberlist 0.2.2's rules: the Lifeguard
 * arithmetic against the reference's §12 table, the state machine fed
 * decoded messages on a fake clock, and several engines talking through a
 * fake network (join, probe, failure -> dead, leave -> left, wrong keys).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "lib/loop.h"

#include "memberlist/broadcast.h"
#include "memberlist/member.h"
#include "memberlist/suspicion.h"
#include "serf/tags.h"
#include "memberlist/transport.h"
#include "memberlist/wire.h"
#include "lib/addr.h"
#include "lib/log.h"

#define SEC	1000000ULL
#define MSEC	1000ULL

/* --- arithmetic -------------------------------------------------------------- */

static void test_ln(void **state)
{
	assert_true(mg_swim_ln(1.0) == 0.0);
	assert_true(mg_swim_ln(2.718281828459045) > 0.9999999999);
	assert_true(mg_swim_ln(2.718281828459045) < 1.0000000001);
	assert_true(mg_swim_ln(1000.0) / mg_swim_ln(10.0) > 2.9999999999);
	assert_true(mg_swim_ln(0.5) < -0.6931471 && mg_swim_ln(0.5) > -0.6931472);
}

/* §12: n, min, max, timeouts after 0 / 1 / 2 confirmations (ms). */
static const struct {
	unsigned int n;
	uint64_t min, max, t0, t1, t2;
	unsigned int retransmit;
	uint64_t push_pull;
} table[] = {
	{ 3, 4000, 0, 4000, 4000, 4000, 4, 30000 },
	{ 4, 4000, 24000, 24000, 11381, 4000, 4, 30000 },
	{ 5, 4000, 24000, 24000, 11381, 4000, 4, 30000 },
	{ 10, 4000, 24000, 24000, 11381, 4000, 8, 30000 },
	{ 100, 8000, 48000, 48000, 22762, 8000, 12, 90000 },
	{ 1000, 12000, 72000, 72000, 34144, 12000, 16, 180000 },
};

static void test_suspicion_table(void **state)
{
	unsigned int i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct mg_suspicion s;
		uint64_t start = 1000 * SEC;

		assert_int_equal(mg_swim_suspicion_min(4, table[i].n, SEC),
				 table[i].min * MSEC);
		assert_int_equal(mg_swim_retransmit_limit(4, table[i].n),
				 table[i].retransmit);
		assert_int_equal(mg_swim_push_pull_scale(30 * SEC, table[i].n),
				 table[i].push_pull * MSEC);

		assert_int_equal(mg_suspicion_start(&s, "a", 4, 6, table[i].n,
						    SEC, start), 0);
		assert_int_equal(s.k, table[i].max ? 2 : 0);
		assert_int_equal(s.deadline - start, table[i].t0 * MSEC);
		/* the accuser itself does not confirm */
		assert_false(mg_suspicion_confirm(&s, "a"));
		if (s.k) {
			assert_true(mg_suspicion_confirm(&s, "b"));
			assert_false(mg_suspicion_confirm(&s, "b"));
			assert_int_equal(s.deadline - start, table[i].t1 * MSEC);
			assert_true(mg_suspicion_confirm(&s, "c"));
			assert_int_equal(s.deadline - start, table[i].t2 * MSEC);
			/* k reached: more accusers change nothing */
			assert_false(mg_suspicion_confirm(&s, "d"));
		} else {
			assert_false(mg_suspicion_confirm(&s, "b"));
		}
		mg_suspicion_clear(&s);
	}
	/* retransmit tiers and push/pull steps around their thresholds */
	assert_int_equal(mg_swim_retransmit_limit(4, 9), 4);
	assert_int_equal(mg_swim_retransmit_limit(4, 99), 8);
	assert_int_equal(mg_swim_retransmit_limit(4, 9999), 16);
	assert_int_equal(mg_swim_push_pull_scale(30 * SEC, 32), 30 * SEC);
	assert_int_equal(mg_swim_push_pull_scale(30 * SEC, 33), 60 * SEC);
	assert_int_equal(mg_swim_push_pull_scale(30 * SEC, 64), 60 * SEC);
	assert_int_equal(mg_swim_push_pull_scale(30 * SEC, 65), 90 * SEC);
	/* WAN: SuspicionMult 6, interval 5 s, k = 4 */
	assert_int_equal(mg_swim_suspicion_min(6, 10, 5 * SEC), 30 * SEC);
	/* n = 50: scale log10(50) = 1.698 (three decimals kept, as Go) */
	assert_int_equal(mg_swim_suspicion_min(4, 50, SEC), 6792 * MSEC);
}

static void test_awareness(void **state)
{
	struct mg_awareness a = { .max = 8 };

	mg_awareness_delta(&a, -1);
	assert_int_equal(a.score, 0);
	assert_int_equal(mg_awareness_scale(&a, SEC), SEC);
	mg_awareness_delta(&a, 3);
	assert_int_equal(mg_awareness_scale(&a, SEC), 4 * SEC);
	mg_awareness_delta(&a, 100);
	assert_int_equal(a.score, 7);
	assert_int_equal(mg_awareness_scale(&a, SEC), 8 * SEC);
	mg_awareness_delta(&a, -2);
	assert_int_equal(a.score, 5);
}

/* --- broadcast queue ------------------------------------------------------------- */

struct got {
	unsigned int n;
	char msg[16][32];
};

static void got_fn(void *ctx, const uint8_t *p, size_t n)
{
	struct got *g = ctx;

	snprintf(g->msg[g->n++], 32, "%.*s", (int)n, (const char *)p);
}

static unsigned int finished_sent, finished_dropped;

static void on_finished(void *arg, bool sent)
{
	if (sent)
		finished_sent++;
	else
		finished_dropped++;
}

static void test_bcast_queue(void **state)
{
	struct mg_bcast_queue q = { .finished = on_finished };
	struct got g;
	int i;

	assert_int_equal(mg_bcast_queue(&q, "a", (const uint8_t *)"a1", 2,
					 true), 0);
	assert_int_equal(mg_bcast_queue(&q, "b", (const uint8_t *)"b-long", 6,
					 false), 0);
	/* a new message about a replaces the old one (notified: not sent) */
	assert_int_equal(mg_bcast_queue(&q, "a", (const uint8_t *)"a2", 2,
					 true), 0);
	assert_int_equal(finished_dropped, 1);
	assert_int_equal(q.n, 2);

	/* both fit: the larger first; limit counts overhead per message */
	memset(&g, 0, sizeof(g));
	assert_int_equal(mg_bcast_get(&q, 2, 100, 3, got_fn, &g), 2);
	assert_string_equal(g.msg[0], "b-long");
	assert_string_equal(g.msg[1], "a2");
	/* only 7 bytes: b-long (2 + 6) no longer fits, a2 does */
	memset(&g, 0, sizeof(g));
	assert_int_equal(mg_bcast_get(&q, 2, 7, 3, got_fn, &g), 1);
	assert_string_equal(g.msg[0], "a2");
	/* fewest transmissions first: b (1) before a (2) */
	memset(&g, 0, sizeof(g));
	assert_int_equal(mg_bcast_get(&q, 2, 9, 3, got_fn, &g), 1);
	assert_string_equal(g.msg[0], "b-long");
	/* each reaches the limit of 3 and is retired */
	for (i = 0; i < 3; i++) {
		memset(&g, 0, sizeof(g));
		mg_bcast_get(&q, 2, 100, 3, got_fn, &g);
	}
	assert_int_equal(q.n, 0);
	assert_int_equal(finished_sent, 1);

	/* bounded: past max_depth the oldest goes (notified: not sent) */
	q.max_depth = 3;
	finished_dropped = 0;
	for (i = 0; i < 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(mg_bcast_queue(&q, name, (const uint8_t *)name,
						 2, true), 0);
	}
	assert_int_equal(q.n, 3);
	assert_int_equal(finished_dropped, 2);
	memset(&g, 0, sizeof(g));
	assert_int_equal(mg_bcast_get(&q, 2, 100, 3, got_fn, &g), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(g.msg[i][1] >= '2', 1);	/* n2..n4 */
	mg_bcast_free(&q);
}

/* --- a fake network and clock ------------------------------------------------------ */

#define MAX_EP	8
#define MAX_Q	4096

struct ep;

struct pkt {
	struct ep *from;
	struct mg_addr to;
	uint16_t port;
	uint8_t *data;
	size_t len;
};

struct strm {
	struct ep *from;
	struct mg_addr to;
	uint16_t port;
	uint8_t *data;
	size_t len;
	uint32_t token;
};

struct ep {
	struct mg_member *m;
	struct mg_member_io io;
	struct mg_addr addr;
	uint16_t port;
	bool down;
	char name[16];
	unsigned int joins, leaves, updates, join_done_ok, leave_done;
	char last_leave_state[16];
};

static struct net {
	uint64_t now;
	struct ep eps[MAX_EP];
	unsigned int n;
	struct pkt pkts[MAX_Q];
	unsigned int npkts;
	struct strm strms[64];
	unsigned int nstrms;
	/* datagrams to addresses nobody owns (single-engine tests) */
	struct pkt lost[256];
	unsigned int nlost;
} net;

static uint64_t net_now(void *arg)
{
	return net.now;
}

static int ep_send(void *arg, const struct mg_addr *to, uint16_t port,
		   const uint8_t *p, size_t n)
{
	struct pkt *k = &net.pkts[net.npkts];

	assert_true(net.npkts < MAX_Q);
	k->from = arg;
	k->to = *to;
	k->port = port;
	k->data = malloc(n);
	memcpy(k->data, p, n);
	k->len = n;
	net.npkts++;
	return 0;
}

static int ep_stream(void *arg, const struct mg_addr *to, uint16_t port,
		     const uint8_t *p, size_t n, uint64_t deadline,
		     uint32_t token)
{
	struct strm *s = &net.strms[net.nstrms];

	assert_true(net.nstrms < 64);
	s->from = arg;
	s->to = *to;
	s->port = port;
	s->data = malloc(n);
	memcpy(s->data, p, n);
	s->len = n;
	s->token = token;
	net.nstrms++;
	return 0;
}

static struct ep *ep_at(const struct mg_addr *a, uint16_t port)
{
	unsigned int i;

	for (i = 0; i < net.n; i++)
		if (mg_addr_equal(&net.eps[i].addr, a) &&
		    net.eps[i].port == port)
			return &net.eps[i];
	return NULL;
}

static void on_join(void *arg, const struct mg_member_info *mi)
{
	((struct ep *)arg)->joins++;
}

static void on_leave(void *arg, const struct mg_member_info *mi)
{
	struct ep *e = arg;

	e->leaves++;
	snprintf(e->last_leave_state, sizeof(e->last_leave_state), "%s",
		 mg_member_state_name(mi->state));
}

static void on_update(void *arg, const struct mg_member_info *mi)
{
	((struct ep *)arg)->updates++;
}

static void on_join_done(void *arg, unsigned int ok, unsigned int tried)
{
	((struct ep *)arg)->join_done_ok = ok;
}

static void on_leave_done(void *arg, bool sent)
{
	((struct ep *)arg)->leave_done = sent ? 1 : 2;
}

static const struct mg_member_ops ops = {
	.notify_join = on_join,
	.notify_leave = on_leave,
	.notify_update = on_update,
	.join_done = on_join_done,
	.leave_done = on_leave_done,
};

/* cfg.max_members of the next ep_new() (0: the default). */
static unsigned int ep_max_members;

static struct ep *ep_new(const char *name, const char *ip,
			 enum mg_member_profile prof,
			 const struct mg_keyring *kr)
{
	struct ep *e = &net.eps[net.n++];
	struct mg_member_cfg cfg;
	struct mg_tag tag = { "cluster", name };
	int err = 0;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	assert_int_equal(mg_addr_parse(ip, &e->addr), 0);
	e->port = MG_MEMBER_PORT;
	e->io = (struct mg_member_io){ ep_send, ep_stream, e };
	mg_member_cfg_init(&cfg, prof);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.bind = e->addr;
	cfg.now = net_now;
	cfg.io = &e->io;
	cfg.seed = 0x1234 + net.n;
	cfg.max_members = ep_max_members;
	if (kr)
		cfg.keyring = *kr;
	assert_int_equal(mg_tags_encode(&tag, 1, &cfg.meta), 0);
	e->m = mg_member_new(NULL, &cfg, &ops, e, &err);
	assert_non_null(e->m);
	return e;
}

static void net_reset(void)
{
	memset(&net, 0, sizeof(net));
	net.now = 1000 * SEC;
}

static void net_free(void)
{
	unsigned int i;

	for (i = 0; i < net.npkts; i++)
		free(net.pkts[i].data);
	for (i = 0; i < net.nstrms; i++)
		free(net.strms[i].data);
	for (i = 0; i < net.nlost; i++)
		free(net.lost[i].data);
	for (i = 0; i < net.n; i++)
		mg_member_free(net.eps[i].m);
	memset(&net, 0, sizeof(net));
}

/* Deliver everything queued; returns how much was delivered. */
static unsigned int net_deliver(void)
{
	unsigned int done = 0;

	while (net.npkts || net.nstrms) {
		struct pkt k;
		struct strm s;
		struct ep *to;

		if (net.npkts) {
			k = net.pkts[0];
			memmove(net.pkts, net.pkts + 1,
				--net.npkts * sizeof(net.pkts[0]));
			to = ep_at(&k.to, k.port);
			if (to && !to->down && !k.from->down)
				mg_member_packet_in(to->m, &k.from->addr,
						    k.from->port, k.data, k.len);
			if (!to && net.nlost < 256) {
				net.lost[net.nlost++] = k;
				k.data = NULL;
			}
			free(k.data);
			done++;
			continue;
		}
		s = net.strms[0];
		memmove(net.strms, net.strms + 1,
			--net.nstrms * sizeof(net.strms[0]));
		to = ep_at(&s.to, s.port);
		if (s.from->down) {
			/* the process is gone with its socket */
		} else if (!to || to->down) {
			if (s.token)
				mg_member_stream_fail(s.from->m, s.token,
						      -ECONNREFUSED);
		} else {
			struct mg_buf reply = { 0 };
			int err = mg_member_stream_in(to->m, s.data, s.len,
						      &reply);

			if (s.token && !err && reply.len)
				mg_member_stream_reply(s.from->m, s.token,
						       reply.data, reply.len);
			else if (s.token)
				mg_member_stream_fail(s.from->m, s.token,
						      -ECONNRESET);
			mg_buf_free(&reply);
		}
		free(s.data);
		done++;
	}
	return done;
}

/* Run the clock to @until, delivering as we go (zero latency). */
static void net_run(uint64_t until)
{
	for (;;) {
		uint64_t next = UINT64_MAX;
		unsigned int i;

		net_deliver();
		for (i = 0; i < net.n; i++) {
			uint64_t t;

			if (net.eps[i].down)
				continue;
			t = mg_member_next_deadline(net.eps[i].m);
			if (t < next)
				next = t;
		}
		if (next > until) {
			net.now = until;
			return;
		}
		if (next > net.now)
			net.now = next;
		for (i = 0; i < net.n; i++)
			if (!net.eps[i].down &&
			    mg_member_next_deadline(net.eps[i].m) <= net.now)
				mg_member_tick(net.eps[i].m);
	}
}

/* The state of @name as @e sees it; -1 when unknown. */
static int state_of(struct ep *e, const char *name)
{
	struct mg_member_info mi;

	if (mg_member_find(e->m, name, &mi))
		return -1;
	return mi.state;
}

/* Run until @e sees @name in @st; returns the time it took, or 0. */
static uint64_t run_until_state(struct ep *e, const char *name,
				enum mg_member_state st, uint64_t max)
{
	uint64_t start = net.now;

	while (net.now - start < max) {
		net_run(net.now + 50 * MSEC);
		if (state_of(e, name) == (int)st)
			return net.now - start;
	}
	return 0;
}

/* --- one engine fed messages ------------------------------------------------------------ */

static struct mg_addr peer_addr;

static void inject(struct ep *e, const struct mg_ml_msg *msg)
{
	struct mg_buf b = { 0 };

	assert_int_equal(mg_ml_msg_encode(msg, &b), 0);
	mg_member_packet_in(e->m, &peer_addr, MG_MEMBER_PORT, b.data, b.len);
	mg_buf_free(&b);
}

static void alive(struct ep *e, const char *name, const char *ip,
		  uint32_t inc, const char *meta)
{
	struct mg_ml_msg m = { .type = MG_ML_ALIVE };
	struct mg_addr a;
	static const uint8_t vsn[] = { 1, 5, 2, 2, 5, 5 };

	snprintf(m.alive.node, sizeof(m.alive.node), "%s", name);
	mg_addr_parse(ip, &a);
	m.alive.addr.len = 4;
	memcpy(m.alive.addr.a, &a.addr[0], 4);
	m.alive.port = MG_MEMBER_PORT;
	m.alive.incarnation = inc;
	m.alive.meta.len = strlen(meta);
	memcpy(m.alive.meta.data, meta, m.alive.meta.len);
	memcpy(m.alive.vsn, vsn, 6);
	inject(e, &m);
}

static void accuse(struct ep *e, uint8_t type, const char *node,
		   uint32_t inc, const char *from)
{
	struct mg_ml_msg m = { .type = type };

	snprintf(m.suspect.node, sizeof(m.suspect.node), "%s", node);
	snprintf(m.suspect.from, sizeof(m.suspect.from), "%s", from);
	m.suspect.incarnation = inc;
	inject(e, &m);
}

static uint32_t inc_of(struct ep *e, const char *name)
{
	struct mg_member_info mi;

	assert_int_equal(mg_member_find(e->m, name, &mi), 0);
	return mi.incarnation;
}

/* Collect the messages of every datagram sent to nobody (decoded). */
struct seen {
	unsigned int type[16];
	uint32_t last_ack_seq, last_nack_seq, last_ping_seq;
	char last_ping_node[MG_ML_NAME_MAX + 1];
	uint32_t last_alive_inc;
	char last_alive_node[MG_ML_NAME_MAX + 1];
	const char *watch;		/* count alives about this node */
	unsigned int alive_watched;
	uint32_t watched_inc;
	struct mg_addr to;
	uint16_t port;
};

static int seen_fn(void *ctx, const struct mg_ml_msg *m)
{
	struct seen *s = ctx;

	if (m->type < 16)
		s->type[m->type]++;
	if (m->type == MG_ML_ACK)
		s->last_ack_seq = m->ack.seq_no;
	if (m->type == MG_ML_NACK)
		s->last_nack_seq = m->nack.seq_no;
	if (m->type == MG_ML_PING) {
		s->last_ping_seq = m->ping.seq_no;
		snprintf(s->last_ping_node, sizeof(s->last_ping_node), "%s", m->ping.node);
	}
	if (m->type == MG_ML_ALIVE) {
		s->last_alive_inc = m->alive.incarnation;
		if (s->watch && !strcmp(s->watch, m->alive.node)) {
			s->alive_watched++;
			s->watched_inc = m->alive.incarnation;
		}
		snprintf(s->last_alive_node, sizeof(s->last_alive_node), "%s", m->alive.node);
	}
	return 0;
}

static void lost_take(struct seen *s)
{
	const char *watch = s->watch;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->watch = watch;
	net_deliver();
	for (i = 0; i < net.nlost; i++) {
		mg_ml_packet_decode(net.lost[i].data, net.lost[i].len, NULL,
				    seen_fn, s, NULL);
		s->to = net.lost[i].to;
		s->port = net.lost[i].port;
		free(net.lost[i].data);
	}
	net.nlost = 0;
}

static void test_alive_rules(void **state)
{
	struct ep *a;
	struct seen s = { 0 };

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	assert_int_equal(a->joins, 1);		/* ourselves */
	assert_int_equal(mg_member_incarnation(a->m), 1);

	/* incarnation 0 leaves a dead placeholder, as memberlist does */
	alive(a, "z", "127.0.0.26", 0, "");
	assert_int_equal(state_of(a, "z"), MG_MEMBER_DEAD);
	assert_int_equal(a->joins, 1);

	alive(a, "b", "127.0.0.2", 1, "m1");
	assert_int_equal(state_of(a, "b"), MG_MEMBER_ALIVE);
	assert_int_equal(a->joins, 2);
	/* the same or older incarnation: ignored, even with new meta */
	alive(a, "b", "127.0.0.2", 1, "m2");
	assert_int_equal(a->updates, 0);
	/* newer with new meta: an update */
	alive(a, "b", "127.0.0.2", 3, "m2");
	assert_int_equal(a->updates, 1);
	assert_int_equal(inc_of(a, "b"), 3);
	alive(a, "b", "127.0.0.2", 2, "m3");
	assert_int_equal(inc_of(a, "b"), 3);

	/* same name from another address: a conflict, nothing changes */
	alive(a, "b", "127.0.0.99", 9, "m2");
	assert_int_equal(mg_member_stats(a->m)->conflicts, 1);
	assert_int_equal(inc_of(a, "b"), 3);

	/* stale suspicion and death notices are ignored */
	accuse(a, MG_ML_SUSPECT, "b", 2, "c");
	assert_int_equal(state_of(a, "b"), MG_MEMBER_ALIVE);
	accuse(a, MG_ML_DEAD, "b", 2, "c");
	assert_int_equal(state_of(a, "b"), MG_MEMBER_ALIVE);
	/* unknown nodes too */
	accuse(a, MG_ML_DEAD, "nobody", 9, "c");
	assert_int_equal(state_of(a, "nobody"), -1);

	/* dead with From == Node is a leave */
	accuse(a, MG_ML_DEAD, "b", 3, "b");
	assert_int_equal(state_of(a, "b"), MG_MEMBER_LEFT);
	assert_string_equal(a->last_leave_state, "left");
	/* a left node may come back elsewhere */
	alive(a, "b", "127.0.0.99", 4, "m2");
	assert_int_equal(state_of(a, "b"), MG_MEMBER_ALIVE);
	assert_int_equal(a->joins, 3);

	/* a dead one may not (DeadNodeReclaimTime 0) */
	accuse(a, MG_ML_DEAD, "b", 4, "c");
	assert_int_equal(state_of(a, "b"), MG_MEMBER_DEAD);
	assert_string_equal(a->last_leave_state, "dead");
	alive(a, "b", "127.0.0.2", 5, "m2");
	assert_int_equal(mg_member_stats(a->m)->conflicts, 2);
	alive(a, "b", "127.0.0.99", 5, "m2");
	assert_int_equal(state_of(a, "b"), MG_MEMBER_ALIVE);

	/* pings: wrong name gets no ack; the ack goes to SourceAddr:Port */
	lost_take(&s);
	{
		struct mg_ml_msg p = { .type = MG_ML_PING };

		p.ping.seq_no = 77;
		snprintf(p.ping.node, sizeof(p.ping.node), "other");
		inject(a, &p);
		lost_take(&s);
		assert_int_equal(s.type[MG_ML_ACK], 0);
		snprintf(p.ping.node, sizeof(p.ping.node), "a");
		p.ping.source_addr.len = 4;
		memcpy(p.ping.source_addr.a, "\x7f\x00\x00\x2a", 4);
		p.ping.source_port = 1234;
		inject(a, &p);
		lost_take(&s);
		assert_int_equal(s.type[MG_ML_ACK], 1);
		assert_int_equal(s.last_ack_seq, 77);
		assert_int_equal(s.port, 1234);
		assert_int_equal(ntohl(s.to.addr[0]), 0x7f00002a);
	}
	net_free();
}

static void test_refute(void **state)
{
	struct seen s = { .watch = "a" };
	struct ep *a;
	int health;

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	alive(a, "b", "127.0.0.2", 1, "");
	lost_take(&s);

	/* suspected at 5: we come back at 6, louder, and less healthy */
	health = mg_member_health(a->m);
	accuse(a, MG_ML_SUSPECT, "a", 5, "b");
	assert_int_equal(mg_member_incarnation(a->m), 6);
	assert_int_equal(state_of(a, "a"), MG_MEMBER_ALIVE);
	assert_int_equal(mg_member_health(a->m), health + 1);
	assert_int_equal(mg_member_stats(a->m)->refutes, 1);
	/* the refutation rides the next gossip round at once */
	net_run(net.now + 250 * MSEC);
	lost_take(&s);
	assert_true(s.alive_watched >= 1);
	assert_int_equal(s.watched_inc, 6);

	/*
	 * An old accusation costs no incarnation, but its sender missed
	 * our refutation: we say alive again, at the incarnation we have.
	 * (First let the refutation run out of retransmissions.)
	 */
	net_run(net.now + 5000 * MSEC);
	lost_take(&s);
	net_run(net.now + 1000 * MSEC);
	lost_take(&s);
	assert_int_equal(s.alive_watched, 0);
	accuse(a, MG_ML_SUSPECT, "a", 2, "b");
	assert_int_equal(mg_member_incarnation(a->m), 6);
	net_run(net.now + 250 * MSEC);
	lost_take(&s);
	assert_true(s.alive_watched >= 1);
	assert_int_equal(s.watched_inc, 6);
	assert_int_equal(mg_member_stats(a->m)->refutes, 1);
	/* a death notice is refuted too (we are not leaving) */
	accuse(a, MG_ML_DEAD, "a", 6, "b");
	assert_int_equal(mg_member_incarnation(a->m), 7);
	assert_int_equal(state_of(a, "a"), MG_MEMBER_ALIVE);
	/* an alive about us at our incarnation with other meta: refute */
	alive(a, "a", "127.0.0.1", 7, "stale");
	assert_int_equal(mg_member_incarnation(a->m), 8);
	/* ... and a far newer one: beat it */
	alive(a, "a", "127.0.0.1", 40, "stale");
	assert_int_equal(mg_member_incarnation(a->m), 41);
	assert_int_equal(mg_member_stats(a->m)->refutes, 4);
	net_free();
}

/*
 * Suspect "x" in a cluster of n, with some confirmations, and check it is
 * still suspect 10 ms before @expect_ms and dead at it.  The engine ticks
 * only at those two instants, so its own probes confirm nothing.
 */
static void suspicion_check(unsigned int n, unsigned int confirmations,
			    uint64_t expect_ms)
{
	static const char *const from[] = { "n1", "n2", "n3" };
	uint64_t start;
	unsigned int i;
	struct ep *a;

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	for (i = 1; i < n - 1; i++) {
		char name[16], ip[32];

		snprintf(name, sizeof(name), "n%u", i);
		snprintf(ip, sizeof(ip), "10.0.%u.%u", i / 250, i % 250 + 1);
		alive(a, name, ip, 1, "");
	}
	alive(a, "x", "127.0.0.50", 1, "");
	assert_int_equal(mg_member_count(a->m), n);
	start = net.now;
	accuse(a, MG_ML_SUSPECT, "x", 1, from[0]);
	assert_int_equal(state_of(a, "x"), MG_MEMBER_SUSPECT);
	for (i = 1; i <= confirmations; i++)
		accuse(a, MG_ML_SUSPECT, "x", 1, from[i]);
	net.now = start + (expect_ms - 10) * MSEC;
	mg_member_tick(a->m);
	assert_int_equal(state_of(a, "x"), MG_MEMBER_SUSPECT);
	net.now = start + expect_ms * MSEC;
	mg_member_tick(a->m);
	assert_int_equal(state_of(a, "x"), MG_MEMBER_DEAD);
	net_free();
}

static void test_suspicion_timeouts(void **state)
{
	/* §12: n = 3: 4 s; n = 5: 24 / 11.4 / 4 s; n = 100: 48 / 22.8 / 8 s */
	suspicion_check(3, 0, 4000);
	suspicion_check(5, 0, 24000);
	suspicion_check(5, 1, 11381);
	suspicion_check(5, 2, 4000);
	suspicion_check(100, 0, 48000);
	suspicion_check(100, 1, 22762);
	suspicion_check(100, 2, 8000);
}

static void test_retransmit_limit(void **state)
{
	struct seen s = { .watch = "d" };
	struct ep *a;

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	alive(a, "b", "127.0.0.2", 1, "");
	alive(a, "c", "127.0.0.3", 1, "");
	lost_take(&s);
	/* n = 4 after d: RetransmitMult 4 x ceil(log10 5) = 4 sends, spread
	 * over gossip rounds and piggybacked pings, then never again */
	alive(a, "d", "127.0.0.4", 1, "");
	net_run(net.now + 10 * SEC);
	lost_take(&s);
	assert_int_equal(s.alive_watched, 4);
	net_free();
}

/* --- several engines -------------------------------------------------------------------- */

static void join(struct ep *e, const char *seed)
{
	const char *seeds[] = { seed };

	assert_int_equal(mg_member_join(e->m, seeds, 1), 1);
	net_deliver();
	assert_int_equal(e->join_done_ok, 1);
}

static void test_cluster_join_fail_leave(void **state)
{
	struct ep *a, *b, *c;
	uint64_t t;

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	b = ep_new("b", "127.0.0.2", MG_MEMBER_LAN, NULL);
	c = ep_new("c", "127.0.0.3", MG_MEMBER_LAN, NULL);
	join(b, "127.0.0.1");
	join(c, "127.0.0.2:7946");
	/* c learned a through b's push/pull; a learns c by gossip */
	assert_int_equal(mg_member_alive(c->m), 3);
	net_run(net.now + 2 * SEC);
	assert_int_equal(mg_member_alive(a->m), 3);
	assert_int_equal(mg_member_alive(b->m), 3);

	/* probes get acked; RTTs measured; nobody suspected */
	net_run(net.now + 10 * SEC);
	assert_int_equal(mg_member_alive(a->m), 3);
	assert_true(mg_member_stats(a->m)->acks_recv > 3);
	assert_int_equal(mg_member_stats(a->m)->suspects, 0);
	assert_int_equal(mg_member_health(a->m), 0);

	/* c dies: a and b probe it (no acks, nacks from the other), then
	 * suspect: n = 3 -> 4 s, never earlier than that */
	c->down = true;
	t = run_until_state(a, "c", MG_MEMBER_DEAD, 20 * SEC);
	assert_true(t >= 4 * SEC);
	assert_true(t <= 10 * SEC);
	net_run(net.now + 2 * SEC);
	assert_int_equal(state_of(b, "c"), MG_MEMBER_DEAD);
	assert_true(mg_member_stats(a->m)->indirect_sent +
		    mg_member_stats(b->m)->indirect_sent > 0);
	assert_true(mg_member_stats(a->m)->nacks_recv +
		    mg_member_stats(b->m)->nacks_recv > 0);
	/* b's nack comes ProbeTimeout after our indirect ping, i.e. right at
	 * the end of a 1 s interval (memberlist's capture shows the same
	 * race): at most one point of health lost, none at 2 s intervals */
	assert_true(mg_member_health(a->m) <= 1);

	/* b leaves: a records left, not dead, and b's leave completes */
	assert_int_equal(mg_member_leave(b->m, 5000), 0);
	t = run_until_state(a, "b", MG_MEMBER_LEFT, 5 * SEC);
	assert_true(t > 0 && t <= SEC);
	net_run(net.now + 2 * SEC);
	assert_int_equal(b->leave_done, 1);
	assert_string_equal(a->last_leave_state, "left");

	/* dead members are gossiped to for 30 s, then reaped */
	net_run(net.now + 40 * SEC);
	assert_int_equal(state_of(a, "c"), -1);
	/* left ones stay (0.2.2 reaps only dead) */
	assert_int_equal(state_of(a, "b"), MG_MEMBER_LEFT);
	net_free();
}

static void test_refute_in_cluster(void **state)
{
	struct ep *a, *b;

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	b = ep_new("b", "127.0.0.2", MG_MEMBER_LAN, NULL);
	join(b, "127.0.0.1");
	net_run(net.now + SEC);
	/* b is cut off briefly: a suspects it, b refutes when back */
	b->down = true;
	assert_true(run_until_state(a, "b", MG_MEMBER_SUSPECT, 10 * SEC) > 0);
	b->down = false;
	net_run(net.now + 3 * SEC);
	assert_int_equal(state_of(a, "b"), MG_MEMBER_ALIVE);
	assert_true(mg_member_incarnation(b->m) >= 2);
	assert_int_equal(inc_of(a, "b"), mg_member_incarnation(b->m));
	assert_int_equal(mg_member_stats(b->m)->refutes, 1);
	net_free();
}

static void test_awareness_backoff(void **state)
{
	uint64_t probes[8], last;
	unsigned int np = 0;
	struct ep *a, *b;

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	b = ep_new("b", "127.0.0.2", MG_MEMBER_LAN, NULL);
	join(b, "127.0.0.1");
	net_run(net.now + 3 * SEC);
	assert_int_equal(mg_member_health(a->m), 0);
	/*
	 * Alone with a dead peer and no helper: each failed probe costs 1,
	 * and the probe interval is (score + 1) s, until the suspicion (4 s)
	 * makes b dead and probing stops.  Spacing 1 s, then 2 s plus the
	 * tick memberlist's round robin spends on skipping itself in a
	 * two-member list.
	 */
	b->down = true;
	last = mg_member_stats(a->m)->pings_sent;
	while (np < 8 && state_of(a, "b") != MG_MEMBER_DEAD) {
		net_run(net.now + 10 * MSEC);
		if (mg_member_stats(a->m)->pings_sent != last) {
			last = mg_member_stats(a->m)->pings_sent;
			probes[np++] = net.now;
		}
	}
	assert_true(np >= 3);
	assert_int_equal(probes[1] - probes[0], 1 * SEC);
	assert_int_equal(probes[2] - probes[1], 3 * SEC);
	net_run(net.now + 5 * SEC);
	assert_int_equal(mg_member_health(a->m), 3);
	assert_int_equal(state_of(a, "b"), MG_MEMBER_DEAD);
	net_free();
}

static void test_keys(void **state)
{
	struct mg_keyring k1 = { 0 }, k2 = { 0 };
	struct ep *a, *b, *c, *d;
	const char *seeds[] = { "127.0.0.1" };

	assert_int_equal(mg_keyring_add_b64(&k1,
		"7KX2lMvSGS7RFJ6FNa91iePoWrP2UYOwm68K/NhQh7Y=", true), 0);
	assert_int_equal(mg_keyring_add_b64(&k2,
		"AAECAwQFBgcICQoLDA0ODw==", true), 0);
	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, &k1);
	b = ep_new("b", "127.0.0.2", MG_MEMBER_LAN, &k1);
	c = ep_new("c", "127.0.0.3", MG_MEMBER_LAN, &k2);
	d = ep_new("d", "127.0.0.4", MG_MEMBER_LAN, NULL);
	join(b, "127.0.0.1");
	net_run(net.now + 2 * SEC);
	assert_int_equal(mg_member_alive(a->m), 2);
	/* wrong key and no key: the join fails, a counts what it refused */
	assert_int_equal(mg_member_join(c->m, seeds, 1), 1);
	assert_int_equal(mg_member_join(d->m, seeds, 1), 1);
	net_deliver();
	assert_int_equal(c->join_done_ok, 0);
	assert_int_equal(d->join_done_ok, 0);
	assert_int_equal(mg_member_stats(a->m)->decrypt_failed, 1);
	assert_int_equal(mg_member_stats(a->m)->plaintext_rejected, 1);
	net_run(net.now + 2 * SEC);
	assert_int_equal(mg_member_alive(a->m), 2);

	/* rotation: install k2 beside k1, switch everyone, c gets in */
	assert_int_equal(mg_keyring_add(&k1, &k2.keys[0], true), 0);
	mg_member_set_keyring(a->m, &k1);
	mg_member_set_keyring(b->m, &k1);
	join(c, "127.0.0.1");
	net_run(net.now + 3 * SEC);
	assert_int_equal(mg_member_alive(a->m), 3);
	assert_int_equal(mg_member_alive(b->m), 3);
	net_free();
	mg_keyring_clear(&k1);
	mg_keyring_clear(&k2);
}

/* --- bounds against hostile or broken peers ---------------------------------- */

/* A push/pull from 127.0.0.99 announcing @n alive members m0..m<n-1>. */
static int push_members(struct ep *e, unsigned int n, const uint8_t *vsn)
{
	struct mg_ml_push_node *nodes = calloc(n, sizeof(*nodes));
	struct mg_buf pp = { 0 }, reply = { 0 };
	int err;

	assert_non_null(nodes);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(nodes[i].name, sizeof(nodes[i].name), "m%u", i);
		nodes[i].addr.len = 4;
		nodes[i].addr.a[0] = 10;
		nodes[i].addr.a[1] = i >> 16;
		nodes[i].addr.a[2] = i >> 8;
		nodes[i].addr.a[3] = i;
		nodes[i].port = MG_MEMBER_PORT;
		nodes[i].incarnation = 1;
		nodes[i].state = MG_ML_STATE_ALIVE;
		if (vsn)
			memcpy(nodes[i].vsn, vsn, MG_ML_VSN_LEN);
	}
	assert_int_equal(mg_ml_push_pull_encode(false, nodes, n, NULL, 0,
						&pp), 0);
	err = mg_member_stream_in(e->m, pp.data, pp.len, &reply);
	free(nodes);
	mg_buf_free(&pp);
	mg_buf_free(&reply);
	return err;
}

static const uint8_t std_vsn[MG_ML_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };

/*
 * The member table is bounded before allocation: a push/pull of 8,192 fake
 * members (the most one may carry) fills it to max_members and the rest
 * are counted; one of 65,536 is refused at its header.
 */
static void test_member_bound(void **state)
{
	unsigned int found = 0;
	char name[16];
	struct ep *a;

	net_reset();
	ep_max_members = 100;
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	ep_max_members = 0;
	assert_int_equal(push_members(a, MG_ML_STREAM_MAX_NODES, std_vsn), 0);
	assert_int_equal(mg_member_count(a->m), 100);
	assert_int_equal(mg_member_stats(a->m)->members_refused,
			 MG_ML_STREAM_MAX_NODES - 99);
	/* those that got in are found by name (index), the rest are not */
	assert_true(state_of(a, "a") == MG_MEMBER_ALIVE);
	for (unsigned int i = 0; i < MG_ML_STREAM_MAX_NODES; i++) {
		snprintf(name, sizeof(name), "m%u", i);
		found += state_of(a, name) == MG_MEMBER_ALIVE;
	}
	assert_int_equal(found, 99);
	assert_int_equal(push_members(a, 65536, std_vsn), -EINVAL);
	assert_int_equal(mg_member_count(a->m), 100);
	net_free();
}

/* The name index through its growth: every member found, in its state. */
static void test_member_index(void **state)
{
	struct ep *a;
	char name[16];

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	assert_int_equal(push_members(a, 3000, std_vsn), 0);
	assert_int_equal(mg_member_count(a->m), 3001);
	for (unsigned int i = 0; i < 3000; i += 2) {
		snprintf(name, sizeof(name), "m%u", i);
		accuse(a, MG_ML_DEAD, name, 1, "x");
	}
	for (unsigned int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "m%u", i);
		assert_int_equal(state_of(a, name), i % 2 ? MG_MEMBER_ALIVE :
							    MG_MEMBER_DEAD);
	}
	assert_int_equal(state_of(a, "m3000"), -1);
	net_free();
}

/*
 * One alive message without Vsn must not poison the table: push/pulls
 * with us (both ways) keep working.
 */
static void test_alive_without_vsn(void **state)
{
	struct mg_ml_msg msg = { .type = MG_ML_ALIVE };
	struct mg_member_info mi;
	struct ep *a;

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	snprintf(msg.alive.node, sizeof(msg.alive.node), "novsn");
	msg.alive.addr.len = 4;
	memcpy(msg.alive.addr.a, "\x7f\0\0\x05", 4);
	msg.alive.port = MG_MEMBER_PORT;
	msg.alive.incarnation = 1;
	inject(a, &msg);
	assert_int_equal(mg_member_find(a->m, "novsn", &mi), 0);
	assert_memory_equal(mi.vsn, std_vsn, MG_ML_VSN_LEN);
	/* a peer's push/pull is accepted, one without Vsn entries too */
	assert_int_equal(push_members(a, 3, std_vsn), 0);
	assert_int_equal(push_members(a, 3, NULL), 0);
	assert_int_equal(mg_member_stats(a->m)->push_pull_rejected, 0);
	assert_int_equal(mg_member_stats(a->m)->push_pulls, 2);
	net_free();
}

/* Names with control characters would forge log lines: refused. */
static void test_bad_names(void **state)
{
	struct ep *a;

	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, NULL);
	alive(a, "b", "127.0.0.2", 1, "");
	alive(a, "evil\nmeshgate: info: forged", "127.0.0.3", 1, "");
	alive(a, "esc\x1b[2J", "127.0.0.4", 1, "");
	assert_int_equal(state_of(a, "evil\nmeshgate: info: forged"), -1);
	assert_int_equal(state_of(a, "esc\x1b[2J"), -1);
	accuse(a, MG_ML_SUSPECT, "b", 1, "x\ny");
	accuse(a, MG_ML_DEAD, "b", 1, "x\ry");
	assert_int_equal(state_of(a, "b"), MG_MEMBER_ALIVE);
	assert_int_equal(mg_member_stats(a->m)->bad_names, 4);
	net_free();
}

/*
 * With a key set, plaintext is refused before any decompression: an LZW
 * bomb (2 MiB of zeros, past the packet's inflate limit) is counted as
 * plaintext, which tells that it was not inflated to be classified.
 */
static void test_plaintext_bomb_with_key(void **state)
{
	struct mg_keyring k = { 0 };
	struct mg_buf bomb = { 0 };
	uint8_t *zeros = calloc(1, 2 << 20);
	struct ep *a;

	assert_non_null(zeros);
	zeros[0] = MG_ML_USER;
	assert_int_equal(mg_keyring_add_b64(&k,
		"7KX2lMvSGS7RFJ6FNa91iePoWrP2UYOwm68K/NhQh7Y=", true), 0);
	net_reset();
	a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, &k);
	assert_int_equal(mg_ml_compress_wrap(zeros, 2 << 20, &bomb), 0);
	mg_member_packet_in(a->m, &peer_addr, MG_MEMBER_PORT, bomb.data,
			    bomb.len);
	assert_int_equal(mg_member_stats(a->m)->plaintext_rejected, 1);
	assert_int_equal(mg_member_stats(a->m)->decrypt_failed, 0);
	mg_buf_free(&bomb);
	free(zeros);
	net_free();
	mg_keyring_clear(&k);
}

/*
 * With a key: garbage (a first byte no encryption version has) is counted
 * as malformed, a datagram shaped as encrypted with another key as a key
 * mismatch: a flood of junk must not look like a key problem.
 */
static void test_garbage_is_not_a_key_mismatch(void **state)
{
	static const struct { uint8_t first; size_t len; bool key; } rows[] = {
		{ 0x7a, 200, false },	/* no version: malformed */
		{ 0xff, 1400, false },
		{ 0x01, 20, false },	/* too short for nonce and tag */
		{ 0x01, 200, true },	/* version 1, nonce, tag: wrong key */
		{ 0x00, 200, true },
	};
	struct mg_keyring k = { 0 };
	uint8_t pkt[1400];
	struct ep *a;

	assert_int_equal(mg_keyring_add_b64(&k,
		"7KX2lMvSGS7RFJ6FNa91iePoWrP2UYOwm68K/NhQh7Y=", true), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct mg_member_stats *st;

		net_reset();
		a = ep_new("a", "127.0.0.1", MG_MEMBER_LAN, &k);
		for (size_t j = 0; j < sizeof(pkt); j++)
			pkt[j] = (uint8_t)(j * 131 + 7);
		pkt[0] = rows[i].first;
		mg_member_packet_in(a->m, &peer_addr, MG_MEMBER_PORT, pkt,
				    rows[i].len);
		st = mg_member_stats(a->m);
		print_message("row %zu\n", i);
		assert_int_equal(st->decrypt_failed, rows[i].key ? 1 : 0);
		assert_int_equal(st->plaintext_rejected, 0);
		assert_true(rows[i].key || st->decode_errors > 0);
		net_free();
	}
	mg_keyring_clear(&k);
}

/* --- the transport's bounds, on real sockets on loopback -------------------- */

struct tp_test {
	struct mg_loop *loop;
	struct mg_member *m;
	int fds[48];
	unsigned int nfds;
	size_t sent[48], to_send;
	uint8_t *junk;
	unsigned int ticks;
	uint64_t want_refused;
};

static void tp_tick(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct tp_test *t = arg;

	/* feed every connection what it takes, as a peer would */
	for (unsigned int i = 0; t->to_send && i < t->nfds; i++) {
		while (t->fds[i] >= 0 && t->sent[i] < t->to_send) {
			ssize_t w = send(t->fds[i], t->junk + t->sent[i],
					 t->to_send - t->sent[i],
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w <= 0)
				break;
			t->sent[i] += w;
		}
	}
	/* bounded: 2000 ticks of 5 ms */
	if (mg_member_stats(t->m)->streams_refused >= t->want_refused ||
	    ++t->ticks >= 2000)
		mg_loop_stop(t->loop);
}

static void tp_start(struct tp_test *t, const struct mg_keyring *kr,
		     uint16_t *port)
{
	struct mg_member_cfg cfg;
	int err = 0;

	memset(t, 0, sizeof(*t));
	t->loop = mg_loop_new();
	assert_non_null(t->loop);
	mg_member_cfg_init(&cfg, MG_MEMBER_LAN);
	snprintf(cfg.name, sizeof(cfg.name), "tp");
	assert_int_equal(mg_addr_parse("127.0.0.1", &cfg.bind), 0);
	/* a port of our own: tests of other checkouts may run beside */
	for (unsigned int i = 0; i < 50 && !t->m; i++) {
		cfg.port = 20000 + (getpid() * 7 + i * 131) % 30000;
		if (kr)
			cfg.keyring = *kr;
		t->m = mg_member_new(t->loop, &cfg, NULL, NULL, &err);
	}
	assert_non_null(t->m);
	*port = cfg.port;
}

static void tp_connect(struct tp_test *t, uint16_t port, unsigned int n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (unsigned int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		assert_true(fd >= 0);
		connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		t->fds[t->nfds++] = fd;
	}
}

static void tp_run(struct tp_test *t, uint64_t want_refused)
{
	struct mg_loop_src *tick;

	t->want_refused = want_refused;
	tick = mg_loop_add_timer(t->loop, 5, 5, tp_tick, t);
	assert_non_null(tick);
	mg_loop_run(t->loop);
	mg_loop_del(t->loop, tick);
}

static void tp_stop(struct tp_test *t)
{
	for (unsigned int i = 0; i < t->nfds; i++)
		close(t->fds[i]);
	mg_member_free(t->m);
	mg_loop_free(t->loop);
	free(t->junk);
}

/* Inbound streams are bounded in number: the ones past it are refused. */
static void test_transport_streams_bound(void **state)
{
	struct tp_test t;
	uint16_t port;

	tp_start(&t, NULL, &port);
	tp_connect(&t, port, MG_MTRANSPORT_INBOUND_MAX + 8);
	tp_run(&t, 8);
	assert_int_equal(mg_member_stats(t.m)->streams_refused, 8);
	tp_stop(&t);
}

/*
 * What inbound streams hold before they are complete (and authenticated)
 * is bounded in all: two encrypted streams that announce 20 MiB each and
 * send 14 MiB do not both fit; one is refused.
 */
static void test_transport_buffer_budget(void **state)
{
	struct mg_keyring k = { 0 };
	struct tp_test t;
	uint16_t port;

	assert_int_equal(mg_keyring_add_b64(&k,
		"7KX2lMvSGS7RFJ6FNa91iePoWrP2UYOwm68K/NhQh7Y=", true), 0);
	tp_start(&t, &k, &port);
	t.to_send = 14 << 20;
	t.junk = calloc(1, t.to_send);
	assert_non_null(t.junk);
	t.junk[0] = MG_ML_ENCRYPT;
	mg_put_be32(t.junk + 1, 20 << 20);	/* its length */
	tp_connect(&t, port, 2);
	tp_run(&t, 1);
	assert_int_equal(mg_member_stats(t.m)->streams_refused, 1);
	tp_stop(&t);
	mg_keyring_clear(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ln),
		cmocka_unit_test(test_suspicion_table),
		cmocka_unit_test(test_awareness),
		cmocka_unit_test(test_bcast_queue),
		cmocka_unit_test(test_alive_rules),
		cmocka_unit_test(test_refute),
		cmocka_unit_test(test_suspicion_timeouts),
		cmocka_unit_test(test_retransmit_limit),
		cmocka_unit_test(test_cluster_join_fail_leave),
		cmocka_unit_test(test_refute_in_cluster),
		cmocka_unit_test(test_awareness_backoff),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_member_bound),
		cmocka_unit_test(test_member_index),
		cmocka_unit_test(test_alive_without_vsn),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_plaintext_bomb_with_key),
		cmocka_unit_test(test_garbage_is_not_a_key_mismatch),
		cmocka_unit_test(test_transport_streams_bound),
		cmocka_unit_test(test_transport_buffer_budget),
	};

	mg_log_set_level(getenv("MG_TEST_DEBUG") ? MG_LOG_DEBUG : MG_LOG_ERR);
	peer_addr.family = MG_AF_INET;
	peer_addr.addr[0] = htonl(0x7f000009);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
