// SPDX-License-Identifier: GPL-2.0-only
/*
 * The membership state machine (memberlist 0.2.2 state.go and net.go,
 * rewritten for one thread): the member table with its alive / suspect /
 * dead rules, the probe cycle with indirect and TCP fallback probes, the
 * gossip and push/pull rounds, and the broadcast queue they share.
 *
 * Nothing here touches a socket or a clock directly: packets and streams
 * leave through m->io, time comes from m->cfg.now, and every deadline is
 * checked in mg_member_tick().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "memberlist/broadcast.h"
#include "memberlist/member.h"
#include "memberlist/suspicion.h"
#include "memberlist/transport.h"
#include "memberlist/wire.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/loop.h"

#define COMPOUND_HDR	2	/* memberlist compoundHeaderOverhead */
#define COMPOUND_PART	2	/* memberlist compoundOverhead */
#define USER_MSG_HDR	1	/* memberlist userMsgOverhead */
#define MAX_PARTS	MG_ML_COMPOUND_MAX

static const uint8_t our_vsn[MG_ML_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };

struct node {
	char name[MG_ML_NAME_MAX + 1];
	struct mg_ml_ip addr;		/* as the member announced it */
	uint16_t port;
	struct mg_ml_meta meta;
	uint32_t inc;
	uint8_t state;			/* enum mg_ml_state */
	uint8_t vsn[MG_ML_VSN_LEN];
	uint64_t state_change;
	int64_t rtt_us;
	bool suspecting;
	bool proven;			/* has answered one of our probes */
	struct mg_suspicion susp;
	struct node *hnext;		/* name index chain */
};

/* An indirect ping we run for someone else. */
struct relay {
	uint32_t seq;			/* ours, towards the target */
	uint32_t req_seq;		/* the requester's */
	struct mg_addr to;
	uint16_t port;
	bool nack;
	uint64_t deadline;
};

enum stream_kind { ST_JOIN, ST_PUSH_PULL, ST_PING };

struct pending {
	uint32_t token;
	enum stream_kind kind;
	uint32_t seq;			/* ST_PING */
};

struct probe {
	bool active;
	bool indirect;			/* past ProbeTimeout */
	bool tcp_ok;
	char target[MG_ML_NAME_MAX + 1];
	uint32_t seq;
	uint64_t start, timeout_at, end_at;
	unsigned int expected_nacks, nacks;
};

/* Messages gathered for one packet. */
struct msgs {
	struct mg_buf buf;
	size_t off[MAX_PARTS], len[MAX_PARTS];
	unsigned int n, max;
};

struct mg_member_bcast {
	struct msgs *out;
	size_t overhead, limit, used;
};

struct mg_member {
	bool healing;		/* merging a push/pull while cut off */
	struct mg_member_cfg cfg;
	struct mg_member_ops ops;
	void *arg;
	struct mg_loop *loop;
	struct mg_loop_src *timer;
	struct mg_mtransport *tp;
	struct mg_member_io io;

	struct node **nodes;		/* probe order */
	unsigned int n, cap;
	struct node **idx;		/* by name: chained, idx_mask + 1 heads */
	unsigned int idx_mask;
	uint64_t full_warned;		/* last logged: table full */
	struct node *self;
	struct mg_ml_ip self_addr;
	uint16_t self_port;
	unsigned int probe_index;
	unsigned int proven_index;	/* the proven members' own turn */
	bool proven_turn;
	uint32_t seq;
	struct mg_awareness aw;
	struct mg_bcast_queue bq;
	struct probe probe;

	struct relay *relays;
	unsigned int n_relays, cap_relays;
	struct pending *pend;
	unsigned int n_pend, cap_pend;
	uint32_t next_token;

	uint64_t next_probe, next_gossip, next_push_pull;
	bool leaving, leave_finished, leave_reported, leave_sent;
	uint64_t leave_deadline;
	unsigned int join_pending, join_ok, join_tried;
	bool join_report;
	uint64_t rejected_warned[2];	/* last logged: undecryptable, plaintext */

	struct mg_member_stats st;
	uint64_t rng;
};

/* --- small helpers -------------------------------------------------------- */

static uint64_t clock_us(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t mg_member_now(const struct mg_member *m)
{
	return m->cfg.now(m->arg);
}

static uint64_t ms(unsigned int v)
{
	return (uint64_t)v * 1000;
}

static uint64_t rnd(struct mg_member *m)
{
	/* xorshift64* */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 0x2545F4914F6CDD1DULL;
}

static unsigned int rnd_n(struct mg_member *m, unsigned int n)
{
	return n ? rnd(m) % n : 0;
}

static bool vsn_present(const uint8_t *v)
{
	static const uint8_t zero[MG_ML_VSN_LEN];

	return memcmp(v, zero, MG_ML_VSN_LEN) != 0;
}

static bool ip_equal(const struct mg_ml_ip *a, const struct mg_ml_ip *b)
{
	/* memberlist compares the bytes as announced */
	return a->len == b->len && !memcmp(a->a, b->a, a->len);
}

static void ip_from_addr(const struct mg_addr *a, struct mg_ml_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (a->family == MG_AF_INET) {
		ip->len = 4;
		memcpy(ip->a, &a->addr[0], 4);
	} else if (a->family == MG_AF_INET6) {
		ip->len = 16;
		memcpy(ip->a, a->addr, 16);
	}
}

static int addr_from_ip(const struct mg_ml_ip *ip, struct mg_addr *a)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(a, 0, sizeof(*a));
	if (ip->len == 4) {
		a->family = MG_AF_INET;
		memcpy(&a->addr[0], ip->a, 4);
	} else if (ip->len == 16 && !memcmp(ip->a, v4mapped, 12)) {
		a->family = MG_AF_INET;
		memcpy(&a->addr[0], ip->a + 12, 4);
	} else if (ip->len == 16) {
		a->family = MG_AF_INET6;
		memcpy(a->addr, ip->a, 16);
	} else {
		return -EINVAL;
	}
	return 0;
}

static const char *ip_str(const struct mg_ml_ip *ip, char *buf, size_t len)
{
	struct mg_addr a;

	if (addr_from_ip(ip, &a))
		return "?";
	return mg_addr_str(&a, buf, len);
}

static struct mg_ml_opts tx_opts(const struct mg_member *m, bool crc)
{
	return (struct mg_ml_opts){
		.kr = m->cfg.keyring.n ? &m->cfg.keyring : NULL,
		.compress = m->cfg.compress,
		.crc = crc,
	};
}

static size_t crypt_overhead(const struct mg_member *m)
{
	return m->cfg.keyring.n ? MG_CRYPT_OVERHEAD : 0;
}

/* --- the name index ---------------------------------------------------------- */

/*
 * Members are found by name on every message; a push/pull carries up to
 * MG_ML_STREAM_MAX_NODES (8192) of them.  A chained hash (FNV-1a) keeps that
 * linear, not quadratic; the table doubles with the members.
 */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static struct node *find(const struct mg_member *m, const char *name)
{
	struct node *n;

	if (!m->idx)
		return NULL;
	for (n = m->idx[name_hash(name) & m->idx_mask]; n; n = n->hnext)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

/* Room in the index for one more member (before it is allocated). */
static int idx_reserve(struct mg_member *m)
{
	unsigned int size = m->idx ? 2 * (m->idx_mask + 1) : 64;
	struct node **idx;

	if (m->idx && m->n + 1 <= m->idx_mask + 1)
		return 0;
	idx = calloc(size, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (unsigned int i = 0; i < m->n; i++) {
		struct node *n = m->nodes[i];
		uint32_t h = name_hash(n->name) & (size - 1);

		n->hnext = idx[h];
		idx[h] = n;
	}
	free(m->idx);
	m->idx = idx;
	m->idx_mask = size - 1;
	return 0;
}

static void idx_insert(struct mg_member *m, struct node *n)
{
	uint32_t h = name_hash(n->name) & m->idx_mask;

	n->hnext = m->idx[h];
	m->idx[h] = n;
}

static void idx_remove(struct mg_member *m, struct node *n)
{
	struct node **pp = &m->idx[name_hash(n->name) & m->idx_mask];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			return;
		}
	}
}

/*
 * Names reach our log and the operator's CLI: one with a control
 * character (a newline forging a log line, an escape sequence) is refused
 * with the message that carries it.
 */
static bool name_ok(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool names_ok(struct mg_member *m, const char *node, const char *from)
{
	if (name_ok(node) && (!from || name_ok(from)))
		return true;
	m->st.bad_names++;
	return false;
}

static void info_of(const struct mg_member *m, const struct node *n,
		    struct mg_member_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->name = n->name;
	addr_from_ip(&n->addr, &mi->addr);
	mi->port = n->port;
	mi->meta = n->meta.data;
	mi->meta_len = n->meta.len;
	mi->state = n->state;
	mi->incarnation = n->inc;
	memcpy(mi->vsn, n->vsn, MG_ML_VSN_LEN);
	mi->rtt_us = n->rtt_us;
	mi->state_change = n->state_change;
	mi->self = n == m->self;
}

static void notify(struct mg_member *m,
		   void (*fn)(void *, const struct mg_member_info *),
		   const struct node *n)
{
	struct mg_member_info mi;

	if (!fn)
		return;
	info_of(m, n, &mi);
	fn(m->arg, &mi);
}

/* --- sending -------------------------------------------------------------- */

static void msgs_add(void *ctx, const uint8_t *p, size_t n)
{
	struct msgs *ms = ctx;

	if (ms->n >= ms->max || mg_buf_put(&ms->buf, p, n))
		return;
	ms->off[ms->n] = ms->buf.len - n;
	ms->len[ms->n] = n;
	ms->n++;
}

int mg_member_bcast_add(struct mg_member_bcast *b, const void *p, size_t n)
{
	static const uint8_t type = MG_ML_USER;
	struct msgs *ms = b->out;

	if (b->used + b->overhead + n > b->limit || ms->n >= ms->max)
		return -ENOSPC;
	if (mg_buf_put(&ms->buf, &type, 1) || mg_buf_put(&ms->buf, p, n))
		return -ENOMEM;
	ms->off[ms->n] = ms->buf.len - n - 1;
	ms->len[ms->n] = n + 1;
	ms->n++;
	b->used += b->overhead + n;
	return 0;
}

/*
 * memberlist getBroadcasts: our own queue first, then the delegate's, told
 * the destination (NULL: not a known member) so that it can keep its own
 * messages to the members that understand them.
 */
static void get_broadcasts(struct mg_member *m, const struct node *to,
			   size_t overhead, size_t limit, struct msgs *out)
{
	unsigned int lim = mg_swim_retransmit_limit(m->cfg.t.retransmit_mult,
						    m->n);
	struct mg_member_bcast b = { .out = out };
	size_t used = 0;
	unsigned int i;

	mg_bcast_get(&m->bq, overhead, limit, lim, msgs_add, out);
	if (!m->ops.get_broadcasts)
		return;
	for (i = 0; i < out->n; i++)
		used += out->len[i] + overhead;
	if (limit <= used || limit - used <= overhead + USER_MSG_HDR)
		return;
	b.overhead = overhead + USER_MSG_HDR;
	b.limit = limit - used;
	m->ops.get_broadcasts(m->arg, to ? to->meta.data : NULL,
			      to ? to->meta.len : 0, b.overhead, b.limit, &b);
}

static int send_bytes(struct mg_member *m, const struct mg_ml_ip *ip,
		      uint16_t port, const uint8_t *p, size_t n)
{
	struct mg_addr to;
	int err;

	if (addr_from_ip(ip, &to))
		return -EINVAL;
	err = m->io.send(m->io.arg, &to, port, p, n);
	if (err) {
		pr_debug("gossip: send to port %u: %s\n", port, strerror(-err));
		return err;
	}
	m->st.pkts_out++;
	m->st.bytes_out += n;
	return 0;
}

/*
 * rawSendMsgPacket: wrap and send.  CRC when @node (the destination as a
 * known member) speaks protocol 5; like memberlist, sendMsg traffic passes
 * no node and goes without.
 */
static int send_raw(struct mg_member *m, const struct mg_ml_ip *ip,
		    uint16_t port, const struct node *node,
		    const uint8_t *msg, size_t len)
{
	struct mg_ml_opts o = tx_opts(m, node && node->vsn[1] >= 5);
	struct mg_buf out = { 0 };
	int err;

	err = mg_ml_packet_wrap(msg, len, &o, &out);
	if (!err)
		err = send_bytes(m, ip, port, out.data, out.len);
	mg_buf_free(&out);
	return err;
}

static int send_parts(struct mg_member *m, const struct mg_ml_ip *ip,
		      uint16_t port, const struct node *node, struct msgs *ms)
{
	struct mg_bytes parts[MAX_PARTS];
	struct mg_buf c = { 0 };
	unsigned int i;
	int err;

	if (ms->n == 1)
		return send_raw(m, ip, port, node, ms->buf.data, ms->len[0]);
	for (i = 0; i < ms->n; i++) {
		parts[i].data = ms->buf.data + ms->off[i];
		parts[i].len = ms->len[i];
	}
	err = mg_ml_compound_build(parts, ms->n, &c);
	if (!err)
		err = send_raw(m, ip, port, node, c.data, c.len);
	mg_buf_free(&c);
	return err;
}

/* sendMsg: one message plus whatever broadcasts fit beside it. */
static int send_msg(struct mg_member *m, const struct mg_ml_ip *ip,
		    uint16_t port, const struct node *to,
		    const struct mg_ml_msg *msg)
{
	struct msgs ms = { .max = MAX_PARTS };
	size_t avail;
	int err;

	err = mg_ml_msg_encode(msg, &ms.buf);
	if (err)
		goto out;
	ms.off[0] = 0;
	ms.len[0] = ms.buf.len;
	ms.n = 1;
	avail = MG_ML_UDP_SIZE - ms.buf.len - COMPOUND_HDR - crypt_overhead(m);
	if (ms.buf.len + COMPOUND_HDR + crypt_overhead(m) < MG_ML_UDP_SIZE)
		get_broadcasts(m, to, COMPOUND_PART, avail, &ms);
	err = send_parts(m, ip, port, NULL, &ms);
out:
	mg_buf_free(&ms.buf);
	return err;
}

static int queue_msg(struct mg_member *m, const char *about,
		     const struct mg_ml_msg *msg, bool notify_done)
{
	struct mg_buf b = { 0 };
	int err;

	err = mg_ml_msg_encode(msg, &b);
	if (!err)
		err = mg_bcast_queue(&m->bq, about, b.data, b.len, notify_done);
	mg_buf_free(&b);
	if (err)
		pr_warn("gossip: cannot queue %s about %s: %s\n",
			mg_ml_type_name(msg->type), about, strerror(-err));
	return err;
}

static void self_alive(const struct mg_member *m, struct mg_ml_alive *a)
{
	memset(a, 0, sizeof(*a));
	a->incarnation = m->self->inc;
	snprintf(a->node, sizeof(a->node), "%s", m->self->name);
	a->addr = m->self_addr;
	a->port = m->self_port;
	a->meta = m->self->meta;
	memcpy(a->vsn, our_vsn, MG_ML_VSN_LEN);
}

/* --- the state machine (state.go) ----------------------------------------- */

static void refute(struct mg_member *m, uint32_t accused)
{
	struct mg_ml_msg msg = { .type = MG_ML_ALIVE };
	uint32_t inc = m->self->inc + 1;

	if (accused >= inc)
		inc = accused + 1;
	m->self->inc = inc;
	mg_awareness_delta(&m->aw, 1);
	m->st.refutes++;
	self_alive(m, &msg.alive);
	queue_msg(m, m->self->name, &msg, false);
	pr_info("gossip: refuting an accusation at incarnation %u with %u\n",
		accused, inc);
}

static void clear_suspicion(struct node *n)
{
	if (n->suspecting)
		mg_suspicion_clear(&n->susp);
	n->suspecting = false;
}

/*
 * The table is bounded (cfg.max_members): a peer announcing members by the
 * thousand is refused before anything is allocated, counted, and logged at
 * most every 10 s.
 */
static bool table_full(struct mg_member *m, const char *name)
{
	uint64_t now;

	if (m->n < m->cfg.max_members)
		return false;
	m->st.members_refused++;
	now = mg_member_now(m);
	if (!m->full_warned || now - m->full_warned >= ms(10000)) {
		m->full_warned = now ? now : 1;
		pr_warn("gossip: member table full (%u members, max_members): refused %s and %llu others so far\n",
			m->n, name,
			(unsigned long long)m->st.members_refused - 1);
	}
	return true;
}

static struct node *add_node(struct mg_member *m, const struct mg_ml_alive *a)
{
	struct node *n, **nodes;
	unsigned int off;

	if (table_full(m, a->node) || idx_reserve(m))
		return NULL;
	if (m->n == m->cap) {
		unsigned int cap = m->cap ? 2 * m->cap : 16;

		nodes = realloc(m->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return NULL;
		m->nodes = nodes;
		m->cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	snprintf(n->name, sizeof(n->name), "%s", a->node);
	n->addr = a->addr;
	n->port = a->port;
	n->meta = a->meta;
	n->state = MG_ML_STATE_DEAD;	/* until the incarnation check */
	n->rtt_us = -1;
	n->state_change = mg_member_now(m);
	/*
	 * No Vsn (a broken or hostile sender): take it for ours rather than
	 * keep zeros, which every push/pull's version check (ours and our
	 * peers', who learn the entry from us) would refuse.
	 */
	memcpy(n->vsn, vsn_present(a->vsn) ? a->vsn : our_vsn, MG_ML_VSN_LEN);
	/* a random slot keeps the failure detection bound low on average */
	off = rnd_n(m, m->n + 1);
	m->nodes[m->n] = m->nodes[off];
	m->nodes[off] = n;
	m->n++;
	idx_insert(m, n);
	return n;
}

static void alive_node(struct mg_member *m, const struct mg_ml_alive *a,
		       bool bootstrap)
{
	struct node *n = find(m, a->node);
	struct mg_ml_meta old_meta;
	bool updates = false, local;
	char b1[MG_ADDRSTRLEN], b2[MG_ADDRSTRLEN];
	uint8_t old_state;

	if (m->leaving && !strcmp(a->node, m->cfg.name))
		return;
	if (!names_ok(m, a->node, NULL))
		return;
	if (vsn_present(a->vsn) &&
	    (!a->vsn[0] || !a->vsn[1] || a->vsn[0] > a->vsn[1])) {
		pr_warn("gossip: ignoring alive for %s: bad protocol versions\n",
			a->node);
		return;
	}
	if (!n) {
		n = add_node(m, a);
		if (!n)
			return;
	} else if (!ip_equal(&n->addr, &a->addr) || n->port != a->port) {
		if (n->state == MG_ML_STATE_LEFT) {
			pr_info("gossip: %s moved from %s:%u to %s:%u\n",
				n->name, ip_str(&n->addr, b1, sizeof(b1)),
				n->port, ip_str(&a->addr, b2, sizeof(b2)),
				a->port);
			updates = true;
		} else {
			m->st.conflicts++;
			pr_warn("gossip: conflicting address for %s: mine %s:%u, theirs %s:%u (%s)\n",
				n->name, ip_str(&n->addr, b1, sizeof(b1)),
				n->port, ip_str(&a->addr, b2, sizeof(b2)),
				a->port, mg_member_state_name(n->state));
			return;
		}
	}
	local = n == m->self;
	/*
	 * memberlist's rule: an alive no newer than what we hold changes
	 * nothing.  But a member that held every other one dead was the
	 * one cut off: the peers' own alive, at the incarnation it saw die,
	 * is the truth on a heal (else they would have to be accused, and
	 * refute, before it believed them: the majority would flap).
	 */
	if (m->healing && !local && n->state == MG_ML_STATE_DEAD &&
	    a->incarnation == n->inc)
		updates = true;
	if (a->incarnation <= n->inc && !local && !updates)
		return;
	if (a->incarnation < n->inc && local)
		return;
	clear_suspicion(n);
	old_state = n->state;
	old_meta = n->meta;
	if (!bootstrap && local) {
		if (a->incarnation == n->inc &&
		    a->meta.len == n->meta.len &&
		    !memcmp(a->meta.data, n->meta.data, a->meta.len) &&
		    !memcmp(a->vsn, our_vsn, MG_ML_VSN_LEN))
			return;
		refute(m, a->incarnation);
		return;
	} else {
		struct mg_ml_msg msg = { .type = MG_ML_ALIVE, .alive = *a };

		queue_msg(m, a->node, &msg, false);
		if (vsn_present(a->vsn))
			memcpy(n->vsn, a->vsn, MG_ML_VSN_LEN);
		n->inc = a->incarnation;
		n->meta = a->meta;
		n->addr = a->addr;
		n->port = a->port;
		if (n->state != MG_ML_STATE_ALIVE) {
			n->state = MG_ML_STATE_ALIVE;
			n->state_change = mg_member_now(m);
		}
	}
	if (old_state == MG_ML_STATE_DEAD || old_state == MG_ML_STATE_LEFT)
		notify(m, m->ops.notify_join, n);
	else if (old_meta.len != n->meta.len ||
		 memcmp(old_meta.data, n->meta.data, n->meta.len))
		notify(m, m->ops.notify_update, n);
}

/*
 * An accusation of us at an incarnation we already refuted: the accuser
 * missed our refutation (every copy of it lost).  memberlist ignores it,
 * and the accuser then declares us dead at the old incarnation, which we
 * ignore too, until a push/pull tens of seconds later.  Say alive again,
 * at the incarnation we have: peers that have it ignore the message.
 */
static void reannounce(struct mg_member *m, const char *from)
{
	struct mg_ml_msg msg = { .type = MG_ML_ALIVE };

	if (m->leaving)
		return;
	self_alive(m, &msg.alive);
	queue_msg(m, m->self->name, &msg, false);
	pr_debug("gossip: %s accused us at an old incarnation: alive again\n",
		 from);
}

static void suspect_node(struct mg_member *m, const struct mg_ml_suspect *s)
{
	struct node *n = find(m, s->node);
	struct mg_ml_msg msg = { .type = MG_ML_SUSPECT, .suspect = *s };
	int err;

	if (!names_ok(m, s->node, s->from))
		return;
	if (n && n == m->self && s->incarnation < n->inc)
		reannounce(m, s->from);
	if (!n || s->incarnation < n->inc)
		return;
	if (n->suspecting) {
		/* an independent confirmation shortens the timer */
		if (mg_suspicion_confirm(&n->susp, s->from))
			queue_msg(m, s->node, &msg, false);
		return;
	}
	if (n->state != MG_ML_STATE_ALIVE)
		return;
	if (n == m->self) {
		refute(m, s->incarnation);
		pr_warn("gossip: refuting a suspicion from %s\n", s->from);
		return;
	}
	queue_msg(m, s->node, &msg, false);
	m->st.suspects++;
	n->inc = s->incarnation;
	n->state = MG_ML_STATE_SUSPECT;
	n->state_change = mg_member_now(m);
	err = mg_suspicion_start(&n->susp, s->from, m->cfg.t.suspicion_mult,
				 m->cfg.t.suspicion_max_mult, m->n,
				 ms(m->cfg.t.probe_interval), n->state_change);
	n->suspecting = !err;
	pr_info("gossip: %s suspect (from %s), dead in %llu ms unless refuted\n",
		n->name, s->from,
		(unsigned long long)(n->susp.deadline - n->state_change) / 1000);
}

static void dead_node(struct mg_member *m, const struct mg_ml_suspect *d)
{
	struct node *n = find(m, d->node);
	struct mg_ml_msg msg = { .type = MG_ML_DEAD, .dead = *d };

	if (!names_ok(m, d->node, d->from))
		return;
	if (n && n == m->self && d->incarnation < n->inc &&
	    strcmp(d->node, d->from))
		reannounce(m, d->from);
	if (!n || d->incarnation < n->inc)
		return;
	clear_suspicion(n);
	if (n->state == MG_ML_STATE_DEAD || n->state == MG_ML_STATE_LEFT)
		return;
	if (n == m->self) {
		if (!m->leaving) {
			refute(m, d->incarnation);
			pr_warn("gossip: refuting a death notice from %s\n",
				d->from);
			return;
		}
		queue_msg(m, d->node, &msg, true);
	} else {
		queue_msg(m, d->node, &msg, false);
	}
	m->st.deaths++;
	n->inc = d->incarnation;
	n->state = strcmp(d->node, d->from) ? MG_ML_STATE_DEAD :
					      MG_ML_STATE_LEFT;
	n->state_change = mg_member_now(m);
	pr_info("gossip: %s %s (from %s)\n", n->name,
		mg_member_state_name(n->state), d->from);
	notify(m, m->ops.notify_leave, n);
}

/* --- streams --------------------------------------------------------------- */

/* Every other member dead to us (two at least): we were the one cut off. */
static bool all_others_dead(const struct mg_member *m)
{
	unsigned int others = 0, dead = 0;

	for (unsigned int i = 0; i < m->n; i++) {
		if (m->nodes[i] == m->self)
			continue;
		others++;
		dead += m->nodes[i]->state == MG_ML_STATE_DEAD;
	}
	return others > 1 && dead == others;
}

static int local_state(struct mg_member *m, bool join, struct mg_buf *out)
{
	struct mg_ml_push_node *nodes;
	struct mg_buf user = { 0 }, payload = { 0 };
	struct mg_ml_opts o = tx_opts(m, false);
	unsigned int i;
	int err = -ENOMEM;

	unsigned int k = 0;
	bool cut_off;

	nodes = calloc(m->n ? m->n : 1, sizeof(*nodes));
	if (!nodes)
		goto out;
	/*
	 * Every other member dead to us: we are the one that was cut off
	 * (a partition healing), and our deaths are stale.  Sent, each would
	 * make the receiver suspect a member it hears from (memberlist's
	 * merge turns a remote death into a suspicion), and the majority
	 * would flap on a heal.  Deaths travel as dead messages anyway.
	 */
	cut_off = all_others_dead(m);
	for (i = 0; i < m->n; i++) {
		const struct node *n = m->nodes[i];

		if (cut_off && n->state == MG_ML_STATE_DEAD)
			continue;
		snprintf(nodes[k].name, sizeof(nodes[k].name), "%s", n->name);
		nodes[k].addr = n->addr;
		nodes[k].port = n->port;
		nodes[k].meta = n->meta;
		nodes[k].incarnation = n->inc;
		nodes[k].state = n->state;
		memcpy(nodes[k].vsn, n->vsn, MG_ML_VSN_LEN);
		k++;
	}
	err = 0;
	if (m->ops.local_state)
		err = m->ops.local_state(m->arg, join, &user);
	if (!err)
		err = mg_ml_push_pull_encode(join, nodes, k, user.data,
					     user.len, &payload);
	if (!err)
		err = mg_ml_stream_wrap(payload.data, payload.len, &o, out);
out:
	free(nodes);
	mg_buf_free(&user);
	mg_buf_free(&payload);
	return err;
}

/* verifyProtocol: every PCur/DCur inside the ranges all alive nodes allow. */
static int verify_protocol(const struct mg_member *m,
			   const struct mg_ml_push_node *r, unsigned int nr)
{
	uint8_t maxpmin = 0, minpmax = 255, maxdmin = 0, mindmax = 255;
	unsigned int i;

#define WIDEN(v) do {					\
		if ((v)[0] > maxpmin) maxpmin = (v)[0];	\
		if ((v)[1] < minpmax) minpmax = (v)[1];	\
		if ((v)[3] > maxdmin) maxdmin = (v)[3];	\
		if ((v)[4] < mindmax) mindmax = (v)[4];	\
	} while (0)
#define CHECK(name, v) do {						\
		if ((v)[2] < maxpmin || (v)[2] > minpmax ||		\
		    (v)[5] < maxdmin || (v)[5] > mindmax) {		\
			pr_warn("gossip: push/pull rejected: %s speaks %u/%u, cluster allows [%u, %u]/[%u, %u]\n", \
				name, (v)[2], (v)[5], maxpmin, minpmax,	\
				maxdmin, mindmax);			\
			return -EPROTONOSUPPORT;			\
		}							\
	} while (0)

	for (i = 0; i < nr; i++)
		if (r[i].state == MG_ML_STATE_ALIVE && vsn_present(r[i].vsn))
			WIDEN(r[i].vsn);
	for (i = 0; i < m->n; i++)
		if (m->nodes[i]->state == MG_ML_STATE_ALIVE)
			WIDEN(m->nodes[i]->vsn);
	for (i = 0; i < nr; i++)
		if (vsn_present(r[i].vsn))	/* absent: taken for ours */
			CHECK(r[i].name, r[i].vsn);
	for (i = 0; i < m->n; i++)
		CHECK(m->nodes[i]->name, m->nodes[i]->vsn);
#undef WIDEN
#undef CHECK
	return 0;
}

static int merge_remote(struct mg_member *m, const struct mg_ml_stream *s)
{
	unsigned int i;
	int err;

	err = verify_protocol(m, s->nodes, s->pp.nodes);
	if (err) {
		m->st.push_pull_rejected++;
		return err;
	}
	m->healing = all_others_dead(m);
	for (i = 0; i < s->pp.nodes; i++) {
		const struct mg_ml_push_node *r = &s->nodes[i];
		struct mg_ml_suspect d = { .incarnation = r->incarnation };
		struct mg_ml_alive a;

		snprintf(d.node, sizeof(d.node), "%s", r->name);
		switch (r->state) {
		case MG_ML_STATE_ALIVE:
			memset(&a, 0, sizeof(a));
			a.incarnation = r->incarnation;
			snprintf(a.node, sizeof(a.node), "%s", r->name);
			a.addr = r->addr;
			a.port = r->port;
			a.meta = r->meta;
			memcpy(a.vsn, r->vsn, MG_ML_VSN_LEN);
			alive_node(m, &a, false);
			break;
		case MG_ML_STATE_LEFT:
			snprintf(d.from, sizeof(d.from), "%s", r->name);
			dead_node(m, &d);
			break;
		default:
			/* anti-entropy suspects, it never kills directly */
			snprintf(d.from, sizeof(d.from), "%s", m->cfg.name);
			suspect_node(m, &d);
			break;
		}
	}
	m->healing = false;
	if (s->user_state.len && m->ops.merge_remote_state)
		m->ops.merge_remote_state(m->arg, s->user_state.data,
					  s->user_state.len, s->pp.join);
	m->st.push_pulls++;
	return 0;
}

/*
 * Rejected gossip is counted, and logged (at most every 10 s): a gateway
 * with the wrong key, or none, is otherwise invisible to the operator.
 */
static void count_rx_error(struct mg_member *m, int err, bool encrypted)
{
	uint64_t now;

	if (err != -EACCES) {
		m->st.decode_errors++;
		return;
	}
	if (encrypted)
		m->st.decrypt_failed++;
	else
		m->st.plaintext_rejected++;
	now = mg_member_now(m);
	if (m->rejected_warned[!encrypted] &&
	    now - m->rejected_warned[!encrypted] < ms(10000))
		return;
	m->rejected_warned[!encrypted] = now ? now : 1;
	pr_warn("gossip: rejected %s (so far: %llu undecryptable, %llu plaintext)\n",
		encrypted ? "gossip encrypted with a key we do not have" :
			    "unencrypted gossip (we have a key)",
		(unsigned long long)m->st.decrypt_failed,
		(unsigned long long)m->st.plaintext_rejected);
}

static struct mg_ml_opts rx_opts(const struct mg_member *m)
{
	return (struct mg_ml_opts){
		.kr = m->cfg.keyring.n ? &m->cfg.keyring : NULL,
	};
}

static void finish(struct mg_member *m, bool from_tick);

int mg_member_stream_in(struct mg_member *m, const uint8_t *p, size_t n,
			struct mg_buf *reply)
{
	struct mg_ml_opts o = rx_opts(m), to = tx_opts(m, false);
	struct mg_ml_stream s;
	struct mg_buf out = { 0 };
	int err;

	err = mg_ml_stream_decode(p, n, &o, &s);
	if (err == -EAGAIN)
		goto out;
	m->st.streams_in++;
	if (err) {
		count_rx_error(m, err, n && p[0] == MG_ML_ENCRYPT);
		m->st.stream_errors++;
		goto out;
	}
	switch (s.type) {
	case MG_ML_PUSH_PULL:
		/* like memberlist: answer with our state, then merge theirs */
		err = local_state(m, s.pp.join, reply);
		if (!err)
			merge_remote(m, &s);
		break;
	case MG_ML_PING:
		if (s.msg.ping.node[0] && strcmp(s.msg.ping.node, m->cfg.name)) {
			err = -EINVAL;
			break;
		}
		m->st.pings_recv++;
		{
			struct mg_ml_msg ack = {
				.type = MG_ML_ACK,
				.ack = { .seq_no = s.msg.ping.seq_no },
			};

			err = mg_ml_msg_encode(&ack, &out);
			if (!err)
				err = mg_ml_stream_wrap(out.data, out.len, &to,
							reply);
			m->st.acks_sent++;
		}
		break;
	case MG_ML_USER:
		if (m->ops.notify_user_msg)
			m->ops.notify_user_msg(m->arg, s.user_data.data,
					       s.user_data.len);
		break;
	default:
		m->st.decode_errors++;
		err = -EPROTO;
		break;
	}
out:
	mg_ml_stream_free(&s);
	mg_buf_free(&out);
	if (err != -EAGAIN)
		finish(m, false);
	return err;
}

void mg_member_stream_refused(struct mg_member *m)
{
	m->st.streams_refused++;
}

static struct pending *pending_find(struct mg_member *m, uint32_t token)
{
	unsigned int i;

	for (i = 0; i < m->n_pend; i++)
		if (m->pend[i].token == token)
			return &m->pend[i];
	return NULL;
}

static void pending_done(struct mg_member *m, struct pending *pd, bool ok)
{
	if (pd->kind == ST_JOIN) {
		m->join_ok += ok;
		if (m->join_pending && !--m->join_pending)
			m->join_report = true;
	}
	*pd = m->pend[--m->n_pend];
}

static int stream_open(struct mg_member *m, const struct mg_ml_ip *ip,
		       uint16_t port, const struct mg_buf *req,
		       uint64_t deadline, enum stream_kind kind, uint32_t seq)
{
	struct pending *pd;
	struct mg_addr to;
	uint32_t token;
	int err;

	if (addr_from_ip(ip, &to))
		return -EINVAL;
	if (m->n_pend == m->cap_pend) {
		unsigned int cap = m->cap_pend ? 2 * m->cap_pend : 8;

		pd = realloc(m->pend, cap * sizeof(*pd));
		if (!pd)
			return -ENOMEM;
		m->pend = pd;
		m->cap_pend = cap;
	}
	token = ++m->next_token ? m->next_token : ++m->next_token;
	pd = &m->pend[m->n_pend++];
	*pd = (struct pending){ .token = token, .kind = kind, .seq = seq };
	err = m->io.stream(m->io.arg, &to, port, req->data, req->len,
			   deadline, token);
	if (err) {
		pd = pending_find(m, token);
		if (pd)
			*pd = m->pend[--m->n_pend];
		m->st.stream_errors++;
		return err;
	}
	m->st.streams_out++;
	return 0;
}

int mg_member_stream_reply(struct mg_member *m, uint32_t token,
			   const uint8_t *p, size_t n)
{
	struct pending *pd = pending_find(m, token);
	struct mg_ml_opts o = rx_opts(m);
	struct mg_ml_stream s;
	bool ok = false;
	int err;

	if (!pd)
		return -ENOENT;
	err = mg_ml_stream_decode(p, n, &o, &s);
	if (err == -EAGAIN) {
		mg_ml_stream_free(&s);
		return err;
	}
	if (err) {
		count_rx_error(m, err, n && p[0] == MG_ML_ENCRYPT);
	} else if (pd->kind == ST_PING) {
		if (s.type == MG_ML_ACK && s.msg.ack.seq_no == pd->seq) {
			ok = true;
			m->st.tcp_ping_ok++;
			if (m->probe.active && m->probe.seq == pd->seq)
				m->probe.tcp_ok = true;
		} else {
			err = -EPROTO;
		}
	} else if (s.type == MG_ML_PUSH_PULL) {
		bool join = pd->kind == ST_JOIN;

		/* the merge may add and remove nodes, not pending entries */
		err = merge_remote(m, &s);
		ok = !err;
		pd = pending_find(m, token);
		if (join && ok)
			pr_info("gossip: joined through a push/pull (%u nodes)\n",
				s.pp.nodes);
	} else {
		if (s.type == MG_ML_ERR)
			pr_warn("gossip: push/pull refused: %s\n",
				s.msg.err.error);
		err = -EPROTO;
	}
	if (err)
		m->st.stream_errors++;
	mg_ml_stream_free(&s);
	if (pd)
		pending_done(m, pd, ok);
	finish(m, false);
	return err;
}

void mg_member_stream_fail(struct mg_member *m, uint32_t token, int err)
{
	struct pending *pd = pending_find(m, token);

	if (!pd)
		return;
	pr_debug("gossip: stream %u failed: %s\n", token, strerror(-err));
	m->st.stream_errors++;
	pending_done(m, pd, false);
	finish(m, false);
}

static int push_pull_with(struct mg_member *m, const struct mg_ml_ip *ip,
			  uint16_t port, bool join)
{
	struct mg_buf req = { 0 };
	int err;

	err = local_state(m, join, &req);
	if (!err)
		err = stream_open(m, ip, port, &req,
				  mg_member_now(m) + ms(m->cfg.t.tcp_timeout),
				  join ? ST_JOIN : ST_PUSH_PULL, 0);
	mg_buf_free(&req);
	return err;
}

/* --- packets --------------------------------------------------------------- */

struct rx_ctx {
	struct mg_member *m;
	const struct mg_addr *from;
	uint16_t port;
};

static void ping_fill(struct mg_member *m, struct mg_ml_ping *p, uint32_t seq,
		      const char *target)
{
	memset(p, 0, sizeof(*p));
	p->seq_no = seq;
	snprintf(p->node, sizeof(p->node), "%s", target);
	p->source_addr = m->self_addr;
	p->source_port = m->self_port;
	snprintf(p->source_node, sizeof(p->source_node), "%s", m->cfg.name);
}

static void reply_to(const struct rx_ctx *c, const struct mg_ml_ip *addr,
		     uint16_t port, struct mg_ml_ip *ip, uint16_t *p)
{
	/* answer where the sender asked, not where the packet came from */
	if (addr->len && port) {
		*ip = *addr;
		*p = port;
	} else {
		ip_from_addr(c->from, ip);
		*p = c->port;
	}
}

static void handle_ping(struct rx_ctx *c, const struct mg_ml_ping *p)
{
	struct mg_member *m = c->m;
	struct mg_ml_msg ack = { .type = MG_ML_ACK, .ack.seq_no = p->seq_no };
	struct mg_ml_ip ip;
	uint16_t port;

	m->st.pings_recv++;
	if (p->node[0] && strcmp(p->node, m->cfg.name)) {
		pr_debug("gossip: ping for %s, not us\n", p->node);
		return;
	}
	reply_to(c, &p->source_addr, p->source_port, &ip, &port);
	if (!send_msg(m, &ip, port,
		      p->source_node[0] ? find(m, p->source_node) : NULL, &ack))
		m->st.acks_sent++;
}

static void handle_indirect(struct rx_ctx *c,
			    const struct mg_ml_indirect_ping *ind)
{
	struct mg_member *m = c->m;
	struct mg_ml_msg ping = { .type = MG_ML_PING };
	struct relay *r;

	m->st.indirect_recv++;
	if (m->n_relays == m->cap_relays) {
		unsigned int cap = m->cap_relays ? 2 * m->cap_relays : 8;

		r = realloc(m->relays, cap * sizeof(*r));
		if (!r)
			return;
		m->relays = r;
		m->cap_relays = cap;
	}
	r = &m->relays[m->n_relays];
	memset(r, 0, sizeof(*r));
	r->seq = ++m->seq;
	r->req_seq = ind->seq_no;
	r->nack = ind->nack;
	r->deadline = mg_member_now(m) + ms(m->cfg.t.probe_timeout);
	{
		struct mg_ml_ip ip;

		reply_to(c, &ind->source_addr, ind->source_port, &ip, &r->port);
		if (addr_from_ip(&ip, &r->to))
			return;
	}
	m->n_relays++;
	ping_fill(m, &ping.ping, r->seq, ind->node);
	send_msg(m, &ind->target, ind->port ? ind->port : m->self_port, NULL,
		 &ping);
	m->st.pings_sent++;
}

static void probe_success(struct mg_member *m);

static void handle_ack(struct rx_ctx *c, const struct mg_ml_ack *a)
{
	struct mg_member *m = c->m;
	unsigned int i;

	m->st.acks_recv++;
	if (m->probe.active && a->seq_no == m->probe.seq) {
		struct node *n = find(m, m->probe.target);

		if (n && !m->probe.indirect)
			n->rtt_us = mg_member_now(m) - m->probe.start;
		if (n)
			n->proven = true;
		probe_success(m);
		return;
	}
	for (i = 0; i < m->n_relays; i++) {
		struct relay r = m->relays[i];
		struct mg_ml_msg ack = {
			.type = MG_ML_ACK,
			.ack.seq_no = r.req_seq,
		};
		struct mg_ml_ip ip;

		if (r.seq != a->seq_no)
			continue;
		m->relays[i] = m->relays[--m->n_relays];
		ip_from_addr(&r.to, &ip);
		if (!send_msg(m, &ip, r.port, NULL, &ack))
			m->st.acks_sent++;
		return;
	}
}

static int on_msg(void *ctx, const struct mg_ml_msg *msg)
{
	struct rx_ctx *c = ctx;
	struct mg_member *m = c->m;

	switch (msg->type) {
	case MG_ML_PING:
		handle_ping(c, &msg->ping);
		break;
	case MG_ML_INDIRECT_PING:
		handle_indirect(c, &msg->ind);
		break;
	case MG_ML_ACK:
		handle_ack(c, &msg->ack);
		break;
	case MG_ML_NACK:
		m->st.nacks_recv++;
		if (m->probe.active && msg->nack.seq_no == m->probe.seq)
			m->probe.nacks++;
		break;
	case MG_ML_SUSPECT:
		suspect_node(m, &msg->suspect);
		break;
	case MG_ML_ALIVE:
		alive_node(m, &msg->alive, false);
		break;
	case MG_ML_DEAD:
		dead_node(m, &msg->dead);
		break;
	case MG_ML_USER:
		if (m->ops.notify_user_msg)
			m->ops.notify_user_msg(m->arg, msg->user.data,
					       msg->user.len);
		break;
	default:
		m->st.decode_errors++;
		break;
	}
	return 0;
}

void mg_member_packet_in(struct mg_member *m, const struct mg_addr *from,
			 uint16_t port, const uint8_t *p, size_t n)
{
	struct mg_ml_opts o = rx_opts(m);
	struct rx_ctx c = { .m = m, .from = from, .port = port };
	struct mg_ml_rx_stats rs = { 0 };
	int err;

	m->st.pkts_in++;
	m->st.bytes_in += n;
	err = mg_ml_packet_decode(p, n, &o, on_msg, &c, &rs);
	if (err == -EACCES && mg_ml_packet_looks_plain(p, n)) {
		/* made sense without a key (inflating nothing: a plaintext
		 * LZW bomb costs us no work) */
		count_rx_error(m, err, false);
	} else if (err == -EACCES && n >= MG_CRYPT_OVERHEAD && p[0] <= 1) {
		/* shaped as encrypted (version 0 or 1, nonce, tag) */
		count_rx_error(m, err, true);
	} else if (err < 0) {
		/* neither: garbage, not a key mismatch */
		m->st.decode_errors++;
	}
	m->st.decode_errors += rs.bad + rs.truncated;
	finish(m, false);
}

/* --- probing (probeNode) ----------------------------------------------------- */

static void probe_done(struct mg_member *m, int delta)
{
	uint64_t now = mg_member_now(m);
	uint64_t next = m->probe.start + ms(m->cfg.t.probe_interval);

	mg_awareness_delta(&m->aw, delta);
	m->probe.active = false;
	m->next_probe = next > now ? next : now;
}

static void probe_success(struct mg_member *m)
{
	pr_debug("gossip: %s acked probe %u\n", m->probe.target, m->probe.seq);
	probe_done(m, -1);
}

/* Shuffle, and forget the dead we stopped gossiping to (resetNodes). */
static void reset_nodes(struct mg_member *m)
{
	uint64_t now = mg_member_now(m);
	unsigned int i, j;

	for (i = 0; i < m->n;) {
		struct node *n = m->nodes[i];

		if (n->state == MG_ML_STATE_DEAD && n != m->self &&
		    now - n->state_change > ms(m->cfg.t.gossip_to_dead)) {
			pr_debug("gossip: reaping %s\n", n->name);
			clear_suspicion(n);
			idx_remove(m, n);
			free(n);
			m->nodes[i] = m->nodes[--m->n];
			continue;
		}
		i++;
	}
	for (i = m->n; i > 1; i--) {
		struct node *t;

		j = rnd_n(m, i);
		t = m->nodes[i - 1];
		m->nodes[i - 1] = m->nodes[j];
		m->nodes[j] = t;
	}
}

static bool probe_worthy(const struct mg_member *m, const struct node *n)
{
	return n != m->self && n->state != MG_ML_STATE_DEAD &&
	       n->state != MG_ML_STATE_LEFT;
}

/*
 * Members announced by anyone (a push/pull of thousands of fakes, which
 * never answer) would stretch the probe cycle, and so the detection of a
 * real member's failure, to thousands of probe intervals.  While the table
 * holds members that never answered a probe, every other probe goes to the
 * next of those that did, so that their failures are seen as fast as in a
 * table of their own.
 */
static struct node *probe_pick_proven(struct mg_member *m)
{
	unsigned int i, unproven = 0, proven = 0;

	for (i = 0; i < m->n; i++) {
		const struct node *n = m->nodes[i];

		if (!probe_worthy(m, n))
			continue;
		if (n->proven)
			proven++;
		else
			unproven++;
	}
	if (!unproven || !proven)
		return NULL;
	for (i = 0; i < m->n; i++) {
		struct node *n = m->nodes[m->proven_index++ % m->n];

		if (probe_worthy(m, n) && n->proven)
			return n;
	}
	return NULL;
}

static struct node *probe_pick(struct mg_member *m)
{
	unsigned int checks = 0;

	m->proven_turn = !m->proven_turn;
	if (m->proven_turn) {
		struct node *n = probe_pick_proven(m);

		if (n)
			return n;
	}

	for (;;) {
		struct node *n;

		if (checks >= m->n)
			return NULL;
		if (m->probe_index >= m->n) {
			reset_nodes(m);
			m->probe_index = 0;
			checks++;
			continue;
		}
		n = m->nodes[m->probe_index++];
		if (n == m->self || n->state == MG_ML_STATE_DEAD ||
		    n->state == MG_ML_STATE_LEFT) {
			checks++;
			continue;
		}
		return n;
	}
}

static void probe_start(struct mg_member *m)
{
	uint64_t now = mg_member_now(m);
	struct node *t = probe_pick(m);
	struct mg_ml_msg ping = { .type = MG_ML_PING };
	struct probe *p = &m->probe;

	if (!t) {
		m->next_probe = now + ms(m->cfg.t.probe_interval);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->active = true;
	snprintf(p->target, sizeof(p->target), "%s", t->name);
	p->seq = ++m->seq;
	p->start = now;
	p->timeout_at = now + ms(m->cfg.t.probe_timeout);
	p->end_at = now + mg_awareness_scale(&m->aw,
					     ms(m->cfg.t.probe_interval));
	ping_fill(m, &ping.ping, p->seq, t->name);
	m->st.pings_sent++;
	pr_debug("gossip: probing %s (%s), interval %llu ms\n", t->name,
		 mg_member_state_name(t->state),
		 (unsigned long long)(p->end_at - now) / 1000);
	if (t->state == MG_ML_STATE_ALIVE) {
		send_msg(m, &t->addr, t->port, t, &ping);
	} else {
		/* buddy system: tell the suspect so it can refute */
		struct mg_ml_msg s = { .type = MG_ML_SUSPECT };
		struct msgs ms = { .max = 2 };

		s.suspect.incarnation = t->inc;
		snprintf(s.suspect.node, sizeof(s.suspect.node), "%s", t->name);
		snprintf(s.suspect.from, sizeof(s.suspect.from), "%s",
			 m->cfg.name);
		mg_ml_msg_encode(&ping, &ms.buf);
		ms.len[0] = ms.buf.len;
		ms.off[1] = ms.buf.len;
		mg_ml_msg_encode(&s, &ms.buf);
		ms.len[1] = ms.buf.len - ms.off[1];
		ms.n = 2;
		send_parts(m, &t->addr, t->port, t, &ms);
		mg_buf_free(&ms.buf);
	}
}

static void probe_indirect(struct mg_member *m)
{
	struct probe *p = &m->probe;
	struct node *t = find(m, p->target), *cand[64];
	struct mg_ml_msg ind = { .type = MG_ML_INDIRECT_PING };
	unsigned int i, nc = 0, k = m->cfg.t.indirect_checks;
	bool only_proven = false;

	p->indirect = true;
	if (!t) {
		probe_done(m, 0);	/* reaped meanwhile */
		return;
	}
	/*
	 * k random alive members other than us and the target; only among
	 * those that answered a probe of ours, if any did: a member announced
	 * by someone but never heard from (a fake) would neither relay nor
	 * nack, and the missing nacks would count against our own health.
	 */
	for (i = 0; i < m->n && !only_proven; i++) {
		struct node *n = m->nodes[i];

		only_proven = n != m->self && n != t && n->proven &&
			      n->state == MG_ML_STATE_ALIVE;
	}
	for (i = 0; i < m->n; i++) {
		struct node *n = m->nodes[i];

		if (n == m->self || n == t || n->state != MG_ML_STATE_ALIVE ||
		    (only_proven && !n->proven))
			continue;
		if (nc < 64) {
			cand[nc++] = n;
		} else {
			unsigned int j = rnd_n(m, i + 1);

			if (j < 64)
				cand[j] = n;
		}
	}
	ind.ind.seq_no = p->seq;
	ind.ind.target = t->addr;
	ind.ind.port = t->port;
	snprintf(ind.ind.node, sizeof(ind.ind.node), "%s", t->name);
	ind.ind.source_addr = m->self_addr;
	ind.ind.source_port = m->self_port;
	snprintf(ind.ind.source_node, sizeof(ind.ind.source_node), "%s",
		 m->cfg.name);
	for (i = 0; i < k && nc; i++) {
		unsigned int j = rnd_n(m, nc);
		struct node *peer = cand[j];

		cand[j] = cand[--nc];
		ind.ind.nack = peer->vsn[1] >= 4;
		p->expected_nacks += ind.ind.nack;
		if (!send_msg(m, &peer->addr, peer->port, peer, &ind))
			m->st.indirect_sent++;
	}
	if (!m->cfg.t.no_tcp_pings && t->vsn[1] >= 3) {
		struct mg_ml_msg ping = { .type = MG_ML_PING };
		struct mg_ml_opts o = tx_opts(m, false);
		struct mg_buf b = { 0 }, req = { 0 };

		ping_fill(m, &ping.ping, p->seq, t->name);
		if (!mg_ml_msg_encode(&ping, &b) &&
		    !mg_ml_stream_wrap(b.data, b.len, &o, &req) &&
		    !stream_open(m, &t->addr, t->port, &req, p->end_at,
				 ST_PING, p->seq))
			m->st.tcp_pings++;
		mg_buf_free(&b);
		mg_buf_free(&req);
	}
}

static void probe_fail(struct mg_member *m)
{
	struct probe *p = &m->probe;
	struct mg_ml_suspect s = { 0 };
	struct node *t;
	int delta;

	if (p->tcp_ok) {
		pr_warn("gossip: %s answered only over TCP; the network may drop UDP\n",
			p->target);
		probe_done(m, -1);
		return;
	}
	if (p->expected_nacks)
		delta = p->nacks < p->expected_nacks ?
			(int)(p->expected_nacks - p->nacks) : 0;
	else
		delta = 1;
	probe_done(m, delta);
	t = find(m, p->target);
	if (!t)
		return;
	pr_info("gossip: probe of %s failed, no acks\n", t->name);
	s.incarnation = t->inc;
	snprintf(s.node, sizeof(s.node), "%s", t->name);
	snprintf(s.from, sizeof(s.from), "%s", m->cfg.name);
	suspect_node(m, &s);
}

/* --- gossip and push/pull ---------------------------------------------------- */

static bool gossip_target(const struct mg_member *m, const struct node *n,
			  uint64_t now)
{
	if (n == m->self)
		return false;
	switch (n->state) {
	case MG_ML_STATE_ALIVE:
	case MG_ML_STATE_SUSPECT:
		return true;
	case MG_ML_STATE_DEAD:
		return now - n->state_change <= ms(m->cfg.t.gossip_to_dead);
	default:
		return false;
	}
}

/* Up to @k distinct random members passing @ok (kRandomNodes). */
static unsigned int random_nodes(struct mg_member *m, unsigned int k,
				 bool (*ok)(const struct mg_member *,
					    const struct node *, uint64_t),
				 struct node **out)
{
	uint64_t now = mg_member_now(m);
	unsigned int i, j, got = 0;

	for (i = 0; i < 3 * m->n && got < k; i++) {
		struct node *n = m->nodes[rnd_n(m, m->n)];

		if (!ok(m, n, now))
			continue;
		for (j = 0; j < got && out[j] != n; j++)
			;
		if (j == got)
			out[got++] = n;
	}
	return got;
}

static void gossip(struct mg_member *m)
{
	struct node *targets[16];
	unsigned int k = m->cfg.t.gossip_nodes, i, nt;
	size_t avail = MG_ML_UDP_SIZE - COMPOUND_HDR - crypt_overhead(m);

	if (k > 16)
		k = 16;
	nt = random_nodes(m, k, gossip_target, targets);
	for (i = 0; i < nt; i++) {
		struct msgs ms = { .max = MAX_PARTS };

		get_broadcasts(m, targets[i], COMPOUND_PART, avail, &ms);
		if (ms.n) {
			send_parts(m, &targets[i]->addr, targets[i]->port,
				   targets[i], &ms);
			m->st.gossip_sent++;
		}
		mg_buf_free(&ms.buf);
		if (!ms.n)
			break;
	}
}

static bool push_pull_target(const struct mg_member *m, const struct node *n,
			     uint64_t now)
{
	return n != m->self && n->state == MG_ML_STATE_ALIVE;
}

static void push_pull(struct mg_member *m)
{
	struct node *n;

	if (random_nodes(m, 1, push_pull_target, &n) == 1)
		push_pull_with(m, &n->addr, n->port, false);
}

/* --- the clock ---------------------------------------------------------------- */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t mg_member_next_deadline(const struct mg_member *m)
{
	uint64_t t = min_u64(m->next_gossip, UINT64_MAX);
	unsigned int i;

	if (m->probe.active)
		t = min_u64(t, m->probe.indirect ? m->probe.end_at :
						   m->probe.timeout_at);
	else
		t = min_u64(t, m->next_probe);
	if (m->cfg.t.push_pull_interval)
		t = min_u64(t, m->next_push_pull);
	for (i = 0; i < m->n_relays; i++)
		t = min_u64(t, m->relays[i].deadline);
	for (i = 0; i < m->n; i++)
		if (m->nodes[i]->suspecting)
			t = min_u64(t, m->nodes[i]->susp.deadline);
	if (m->leaving && !m->leave_finished)
		t = min_u64(t, m->leave_deadline);
	return t;
}

static void expire_relays(struct mg_member *m, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < m->n_relays;) {
		struct relay r = m->relays[i];

		if (now < r.deadline) {
			i++;
			continue;
		}
		m->relays[i] = m->relays[--m->n_relays];
		if (r.nack) {
			struct mg_ml_msg nack = {
				.type = MG_ML_NACK,
				.nack.seq_no = r.req_seq,
			};
			struct mg_ml_ip ip;

			ip_from_addr(&r.to, &ip);
			if (!send_msg(m, &ip, r.port, NULL, &nack))
				m->st.nacks_sent++;
		}
	}
}

static void expire_suspicions(struct mg_member *m, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < m->n; i++) {
		struct node *n = m->nodes[i];
		struct mg_ml_suspect d = { 0 };

		if (!n->suspecting || now < n->susp.deadline)
			continue;
		pr_info("gossip: marking %s failed, suspicion timed out (%u of %u confirmations)\n",
			n->name, n->susp.n, n->susp.k);
		clear_suspicion(n);
		if (n->state != MG_ML_STATE_SUSPECT)
			continue;
		d.incarnation = n->inc;
		snprintf(d.node, sizeof(d.node), "%s", n->name);
		snprintf(d.from, sizeof(d.from), "%s", m->cfg.name);
		dead_node(m, &d);
	}
}

void mg_member_tick(struct mg_member *m)
{
	uint64_t now = mg_member_now(m);
	int guard;

	for (guard = 0; guard < 4; guard++) {
		if (m->probe.active && !m->probe.indirect &&
		    now >= m->probe.timeout_at)
			probe_indirect(m);
		if (m->probe.active && m->probe.indirect &&
		    now >= m->probe.end_at)
			probe_fail(m);
		if (m->probe.active || now < m->next_probe)
			break;
		probe_start(m);
	}
	expire_relays(m, now);
	expire_suspicions(m, now);
	if (now >= m->next_gossip) {
		gossip(m);
		m->next_gossip += ms(m->cfg.t.gossip_interval);
		if (m->next_gossip <= now)
			m->next_gossip = now + ms(m->cfg.t.gossip_interval);
	}
	if (m->cfg.t.push_pull_interval && now >= m->next_push_pull) {
		push_pull(m);
		m->next_push_pull = now + mg_swim_push_pull_scale(
			ms(m->cfg.t.push_pull_interval), m->n);
	}
	if (m->leaving && !m->leave_finished && now >= m->leave_deadline) {
		pr_warn("gossip: leave timed out before the broadcast went out\n");
		m->leave_finished = true;
		m->leave_sent = false;
	}
	finish(m, true);
}

static void timer_cb(struct mg_loop_src *src, uint32_t events, void *arg)
{
	mg_member_tick(arg);
}

/*
 * End of every entry point: re-arm the timer.  The callbacks that may free
 * the engine (join_done, leave_done) run last, and on a loop only from the
 * timer, where no transport frame is on the stack that would touch it.
 */
static void finish(struct mg_member *m, bool from_tick)
{
	void (*join_done)(void *, unsigned int, unsigned int) = NULL;
	void (*leave_done)(void *, bool) = NULL;
	unsigned int ok = m->join_ok, tried = m->join_tried;
	bool sent = m->leave_sent;
	void *arg = m->arg;

	bool due = m->join_report || (m->leave_finished && !m->leave_reported);

	if (m->timer) {
		uint64_t now = mg_member_now(m), t = mg_member_next_deadline(m);
		uint64_t d = t > now ? (t - now + 999) / 1000 : 0;

		if (due && !from_tick)
			d = 0;
		mg_loop_timer_set(m->timer, d > 3600000 ? 3600000 : d, 0);
	}
	if (m->loop && !from_tick)
		return;
	if (m->join_report) {
		m->join_report = false;
		join_done = m->ops.join_done;
	}
	if (m->leave_finished && !m->leave_reported) {
		m->leave_reported = true;
		leave_done = m->ops.leave_done;
	}
	if (join_done)
		join_done(arg, ok, tried);
	if (leave_done)
		leave_done(arg, sent);
}

/* --- API --------------------------------------------------------------------- */

void mg_member_profile_timers(enum mg_member_profile p,
			      struct mg_member_timers *t)
{
	static const struct mg_member_timers lan = {
		.probe_interval = 1000, .probe_timeout = 500,
		.indirect_checks = 3, .suspicion_mult = 4,
		.suspicion_max_mult = 6, .retransmit_mult = 4,
		.gossip_interval = 200, .gossip_nodes = 3,
		.gossip_to_dead = 30000, .push_pull_interval = 30000,
		.tcp_timeout = 10000, .awareness_max = 8,
	}, wan = {
		.probe_interval = 5000, .probe_timeout = 3000,
		.indirect_checks = 3, .suspicion_mult = 6,
		.suspicion_max_mult = 6, .retransmit_mult = 4,
		.gossip_interval = 500, .gossip_nodes = 4,
		.gossip_to_dead = 60000, .push_pull_interval = 60000,
		.tcp_timeout = 30000, .awareness_max = 8,
	}, local = {
		.probe_interval = 1000, .probe_timeout = 200,
		.indirect_checks = 1, .suspicion_mult = 3,
		.suspicion_max_mult = 6, .retransmit_mult = 2,
		.gossip_interval = 100, .gossip_nodes = 3,
		.gossip_to_dead = 15000, .push_pull_interval = 15000,
		.tcp_timeout = 1000, .awareness_max = 8,
	};

	*t = p == MG_MEMBER_WAN ? wan : p == MG_MEMBER_LOCAL ? local : lan;
}

int mg_member_profile_parse(const char *s)
{
	if (!strcmp(s, "lan"))
		return MG_MEMBER_LAN;
	if (!strcmp(s, "wan"))
		return MG_MEMBER_WAN;
	if (!strcmp(s, "local"))
		return MG_MEMBER_LOCAL;
	return -EINVAL;
}

void mg_member_cfg_init(struct mg_member_cfg *cfg, enum mg_member_profile p)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = MG_MEMBER_PORT;
	cfg->compress = true;
	mg_member_profile_timers(p, &cfg->t);
}

static void bcast_finished(void *arg, bool sent)
{
	struct mg_member *m = arg;

	/* the only broadcast queued with notify is our leave */
	if (m->leaving && !m->leave_finished) {
		m->leave_finished = true;
		m->leave_sent = sent;
	}
}

/* What the real transport reads, delivered to the engine. */
static void tp_packet(void *arg, const struct mg_addr *from, uint16_t port,
		      const uint8_t *p, size_t n)
{
	mg_member_packet_in(arg, from, port, p, n);
}

static int tp_stream_in(void *arg, const uint8_t *p, size_t n,
			struct mg_buf *reply)
{
	return mg_member_stream_in(arg, p, n, reply);
}

static int tp_stream_reply(void *arg, uint32_t token, const uint8_t *p,
			   size_t n)
{
	return mg_member_stream_reply(arg, token, p, n);
}

static void tp_stream_fail(void *arg, uint32_t token, int err)
{
	mg_member_stream_fail(arg, token, err);
}

static uint64_t tp_stream_refused(void *arg)
{
	struct mg_member *m = arg;

	mg_member_stream_refused(m);
	return mg_member_stats(m)->streams_refused;
}

static uint64_t tp_now(void *arg)
{
	return mg_member_now(arg);
}

struct mg_member *mg_member_new(struct mg_loop *loop,
				const struct mg_member_cfg *cfg,
				const struct mg_member_ops *ops, void *arg,
				int *errp)
{
	struct mg_ml_alive a = { .incarnation = 1 };
	struct mg_member *m;
	uint64_t now;
	int err = -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m) {
		err = -ENOMEM;
		goto fail;
	}
	m->cfg = *cfg;
	if (ops)
		m->ops = *ops;
	m->arg = arg;
	m->loop = loop;
	if (!m->cfg.name[0] || !m->cfg.t.probe_interval ||
	    !m->cfg.t.gossip_interval || !m->cfg.t.awareness_max)
		goto fail;
	if (!m->cfg.port)
		m->cfg.port = MG_MEMBER_PORT;
	if (!m->cfg.now)
		m->cfg.now = clock_us;
	if (m->cfg.seed)
		m->rng = m->cfg.seed;
	else if (getrandom(&m->rng, sizeof(m->rng), 0) != sizeof(m->rng))
		m->rng = clock_us(NULL);
	m->rng |= 1;
	m->aw.max = m->cfg.t.awareness_max;
	m->bq.finished = bcast_finished;
	m->bq.arg = m;
	if (!m->cfg.max_members)
		m->cfg.max_members = MG_MEMBER_MAX_DEFAULT;
	/* one message per member at most is queued about it, plus ours */
	m->bq.max_depth = m->cfg.max_members + MG_MEMBER_BCAST_EXTRA;

	/* where others reach us */
	if (m->cfg.advertise.family)
		ip_from_addr(&m->cfg.advertise, &m->self_addr);
	else
		ip_from_addr(&m->cfg.bind, &m->self_addr);
	m->self_port = m->cfg.advertise_port ? m->cfg.advertise_port :
					       m->cfg.port;
	if (!m->self_addr.len ||
	    !memcmp(m->self_addr.a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
		    m->self_addr.len)) {
		pr_err("gossip: need an advertise address when binding a wildcard\n");
		goto fail;
	}

	if (m->cfg.io) {
		m->io = *m->cfg.io;
	} else {
		if (!loop)
			goto fail;
		struct mg_mtransport_deliver d = {
			.packet = tp_packet,
			.stream_in = tp_stream_in,
			.stream_reply = tp_stream_reply,
			.stream_fail = tp_stream_fail,
			.stream_refused = tp_stream_refused,
			.now = tp_now,
			.arg = m,
		};

		m->tp = mg_mtransport_new(loop, &m->cfg.bind, m->cfg.port, &d,
					  m->cfg.t.tcp_timeout, &err);
		if (!m->tp)
			goto fail;
		m->io = (struct mg_member_io){
			.send = mg_mtransport_send,
			.stream = mg_mtransport_stream,
			.arg = m->tp,
		};
	}

	/* ourselves: alive at incarnation 1, announced like any node */
	if (ops && ops->node_meta)
		ops->node_meta(arg, &m->cfg.meta);
	snprintf(a.node, sizeof(a.node), "%s", m->cfg.name);
	a.addr = m->self_addr;
	a.port = m->self_port;
	a.meta = m->cfg.meta;
	memcpy(a.vsn, our_vsn, MG_ML_VSN_LEN);
	alive_node(m, &a, true);
	m->self = find(m, m->cfg.name);
	if (!m->self) {
		err = -ENOMEM;
		goto fail;
	}

	now = mg_member_now(m);
	m->next_probe = now + ms(m->cfg.t.probe_interval);
	m->next_gossip = now + ms(m->cfg.t.gossip_interval);
	if (m->cfg.t.push_pull_interval)	/* staggered first round */
		m->next_push_pull = now + 1000 +
			rnd_n(m, m->cfg.t.push_pull_interval) * 1000ULL;
	if (loop) {
		m->timer = mg_loop_add_timer(loop, m->cfg.t.gossip_interval, 0,
					     timer_cb, m);
		if (!m->timer) {
			err = -ENOMEM;
			goto fail;
		}
	}
	return m;
fail:
	mg_member_free(m);
	if (errp)
		*errp = err;
	return NULL;
}

void mg_member_free(struct mg_member *m)
{
	unsigned int i;

	if (!m)
		return;
	if (m->timer)
		mg_loop_del(m->loop, m->timer);
	mg_mtransport_free(m->tp);
	m->bq.finished = NULL;
	mg_bcast_free(&m->bq);
	for (i = 0; i < m->n; i++) {
		clear_suspicion(m->nodes[i]);
		free(m->nodes[i]);
	}
	free(m->nodes);
	free(m->idx);
	free(m->relays);
	free(m->pend);
	free(m);
}

/* "1.2.3.4", "1.2.3.4:7946", "::1", "[::1]:7946" */
static int parse_seed(const char *s, struct mg_addr *a, uint16_t *port)
{
	char host[MG_ADDRSTRLEN + 8];
	const char *colon;
	char *end;
	long p = MG_MEMBER_PORT;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || (size_t)(rb - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, rb - s - 1);
		host[rb - s - 1] = 0;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] && !colon)
			return -EINVAL;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;		/* bare IPv6 */
		snprintf(host, sizeof(host), "%.*s",
			 colon ? (int)(colon - s) : (int)strlen(s), s);
	}
	if (colon) {
		p = strtol(colon + 1, &end, 10);
		if (*end || p <= 0 || p > 65535)
			return -EINVAL;
	}
	*port = p;
	return mg_addr_parse(host, a);
}

int mg_member_join(struct mg_member *m, const char *const *seeds,
		   unsigned int n)
{
	unsigned int i, started = 0;
	int err = -EINVAL;

	m->join_ok = 0;
	m->join_tried = n;
	m->join_pending = 0;
	for (i = 0; i < n; i++) {
		struct mg_addr a;
		struct mg_ml_ip ip;
		uint16_t port;

		err = parse_seed(seeds[i], &a, &port);
		if (err) {
			pr_warn("gossip: bad seed '%s'\n", seeds[i]);
			continue;
		}
		ip_from_addr(&a, &ip);
		m->join_pending++;
		err = push_pull_with(m, &ip, port, true);
		if (err) {
			m->join_pending--;
			pr_warn("gossip: cannot reach seed %s: %s\n", seeds[i],
				strerror(-err));
			continue;
		}
		started++;
	}
	if (!started) {
		finish(m, false);
		return err;
	}
	finish(m, false);
	return started;
}

int mg_member_leave(struct mg_member *m, unsigned int timeout_ms)
{
	struct mg_ml_suspect d = { .incarnation = m->self->inc };
	bool anyone = false;
	unsigned int i;

	if (m->leaving)
		return -EALREADY;
	for (i = 0; i < m->n; i++)
		if (m->nodes[i] != m->self &&
		    m->nodes[i]->state == MG_ML_STATE_ALIVE)
			anyone = true;
	m->leaving = true;
	m->leave_deadline = mg_member_now(m) + ms(timeout_ms);
	snprintf(d.node, sizeof(d.node), "%s", m->cfg.name);
	snprintf(d.from, sizeof(d.from), "%s", m->cfg.name);
	dead_node(m, &d);
	if (!anyone) {
		m->leave_finished = true;
		m->leave_sent = true;
	}
	finish(m, false);
	return 0;
}

int mg_member_update_meta(struct mg_member *m, const struct mg_ml_meta *meta)
{
	struct mg_ml_alive a;

	if (meta)
		m->cfg.meta = *meta;
	else if (m->ops.node_meta)
		m->ops.node_meta(m->arg, &m->cfg.meta);
	self_alive(m, &a);
	a.incarnation = m->self->inc + 1;
	a.meta = m->cfg.meta;
	alive_node(m, &a, true);
	finish(m, false);
	return 0;
}

int mg_member_user_broadcast(struct mg_member *m, const void *p, size_t n)
{
	struct mg_buf b = { 0 };
	int err;

	err = mg_buf_put_u8(&b, MG_ML_USER);
	if (!err)
		err = mg_buf_put(&b, p, n);
	if (!err)
		err = mg_bcast_queue(&m->bq, NULL, b.data, b.len, false);
	mg_buf_free(&b);
	return err;
}

int mg_member_send_user(struct mg_member *m, const char *name, const void *p,
			size_t n)
{
	struct mg_ml_opts o = tx_opts(m, false);
	struct mg_buf msg = { 0 }, req = { 0 };
	const struct node *nd = find(m, name);
	struct mg_addr to;
	int err;

	if (!nd)
		return -ENOENT;
	if (nd->state == MG_ML_STATE_DEAD || nd->state == MG_ML_STATE_LEFT)
		return -EHOSTDOWN;
	/* A datagram when it fits (sendMsg's budget), else a stream. */
	if (1 + n + COMPOUND_HDR + crypt_overhead(m) <= MG_ML_UDP_SIZE) {
		err = mg_buf_put_u8(&msg, MG_ML_USER);
		if (!err)
			err = mg_buf_put(&msg, p, n);
		if (!err)
			err = send_raw(m, &nd->addr, nd->port, nd, msg.data,
				       msg.len);
		goto out;
	}
	err = addr_from_ip(&nd->addr, &to);
	if (!err)
		err = mg_ml_user_stream_encode(p, n, &msg);
	if (!err)
		err = mg_ml_stream_wrap(msg.data, msg.len, &o, &req);
	if (!err)
		err = m->io.stream(m->io.arg, &to, nd->port, req.data, req.len,
				   mg_member_now(m) + ms(m->cfg.t.tcp_timeout),
				   0);
	if (!err)
		m->st.streams_out++;
out:
	mg_buf_free(&msg);
	mg_buf_free(&req);
	return err;
}

int mg_member_set_keyring(struct mg_member *m, const struct mg_keyring *kr)
{
	if (kr)
		m->cfg.keyring = *kr;
	else
		mg_keyring_clear(&m->cfg.keyring);
	return 0;
}

int mg_member_foreach(struct mg_member *m,
		      int (*fn)(void *ctx, const struct mg_member_info *mi),
		      void *ctx)
{
	struct mg_member_info mi;
	unsigned int i;
	int ret;

	for (i = 0; i < m->n; i++) {
		info_of(m, m->nodes[i], &mi);
		ret = fn(ctx, &mi);
		if (ret)
			return ret;
	}
	return 0;
}

int mg_member_find(struct mg_member *m, const char *name,
		   struct mg_member_info *mi)
{
	struct node *n = find(m, name);

	if (!n)
		return -ENOENT;
	info_of(m, n, mi);
	return 0;
}

unsigned int mg_member_alive(const struct mg_member *m)
{
	unsigned int i, k = 0;

	for (i = 0; i < m->n; i++)
		k += m->nodes[i]->state == MG_ML_STATE_ALIVE;
	return k;
}

unsigned int mg_member_count(const struct mg_member *m)
{
	return m->n;
}

const struct mg_member_stats *mg_member_stats(const struct mg_member *m)
{
	return &m->st;
}

int mg_member_health(const struct mg_member *m)
{
	return m->aw.score;
}

uint32_t mg_member_incarnation(const struct mg_member *m)
{
	return m->self->inc;
}

const char *mg_member_state_name(enum mg_member_state s)
{
	switch (s) {
	case MG_MEMBER_ALIVE:
		return "alive";
	case MG_MEMBER_SUSPECT:
		return "suspect";
	case MG_MEMBER_DEAD:
		return "dead";
	case MG_MEMBER_LEFT:
		return "left";
	}
	return "unknown";
}
