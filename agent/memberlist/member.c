// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memberlist engine's API: profiles and configuration, the engine
 * made and freed on its transport, join, leave, broadcasts, queries.
 * How it works: member_int.h.
 */
#include "memberlist/member_int.h"

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
		m->cfg.now = ml_clock_us;
	if (m->cfg.seed)
		m->rng = m->cfg.seed;
	else if (getrandom(&m->rng, sizeof(m->rng), 0) != sizeof(m->rng))
		m->rng = ml_clock_us(NULL);
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
		ml_ip_from_addr(&m->cfg.advertise, &m->self_addr);
	else
		ml_ip_from_addr(&m->cfg.bind, &m->self_addr);
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
	ml_alive_node(m, &a, true);
	m->self = ml_find(m, m->cfg.name);
	if (!m->self) {
		err = -ENOMEM;
		goto fail;
	}

	now = mg_member_now(m);
	m->next_probe = now + ms(m->cfg.t.probe_interval);
	m->next_gossip = now + ms(m->cfg.t.gossip_interval);
	if (m->cfg.t.push_pull_interval) /* staggered first round */
		m->next_push_pull =
			now + 1000 +
			ml_rnd_n(m, m->cfg.t.push_pull_interval) * 1000ULL;
	if (loop) {
		m->timer = mg_loop_add_timer(loop, m->cfg.t.gossip_interval, 0,
					     ml_timer_cb, m);
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
		ml_clear_suspicion(m->nodes[i]);
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
			colon = NULL; /* bare IPv6 */
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
		ml_ip_from_addr(&a, &ip);
		m->join_pending++;
		err = ml_push_pull_with(m, &ip, port, true);
		if (err) {
			m->join_pending--;
			pr_warn("gossip: cannot reach seed %s: %s\n", seeds[i],
				strerror(-err));
			continue;
		}
		started++;
	}
	if (!started) {
		ml_finish(m, false);
		return err;
	}
	ml_finish(m, false);
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
	ml_dead_node(m, &d);
	if (!anyone) {
		m->leave_finished = true;
		m->leave_sent = true;
	}
	ml_finish(m, false);
	return 0;
}

int mg_member_update_meta(struct mg_member *m, const struct mg_ml_meta *meta)
{
	struct mg_ml_alive a;

	if (meta)
		m->cfg.meta = *meta;
	else if (m->ops.node_meta)
		m->ops.node_meta(m->arg, &m->cfg.meta);
	ml_self_alive(m, &a);
	a.incarnation = m->self->inc + 1;
	a.meta = m->cfg.meta;
	ml_alive_node(m, &a, true);
	ml_finish(m, false);
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
	struct mg_ml_opts o = ml_tx_opts(m, false);
	struct mg_buf msg = { 0 }, req = { 0 };
	const struct node *nd = ml_find(m, name);
	struct mg_addr to;
	int err;

	if (!nd)
		return -ENOENT;
	if (nd->state == MG_ML_STATE_DEAD || nd->state == MG_ML_STATE_LEFT)
		return -EHOSTDOWN;
	/* A datagram when it fits (sendMsg's budget), else a stream. */
	if (1 + n + COMPOUND_HDR + ml_crypt_overhead(m) <= MG_ML_UDP_SIZE) {
		err = mg_buf_put_u8(&msg, MG_ML_USER);
		if (!err)
			err = mg_buf_put(&msg, p, n);
		if (!err)
			err = ml_send_raw(m, &nd->addr, nd->port, nd, msg.data,
					  msg.len);
		goto out;
	}
	err = ml_addr_from_ip(&nd->addr, &to);
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
		ml_info_of(m, m->nodes[i], &mi);
		ret = fn(ctx, &mi);
		if (ret)
			return ret;
	}
	return 0;
}

int mg_member_find(struct mg_member *m, const char *name,
		   struct mg_member_info *mi)
{
	struct node *n = ml_find(m, name);

	if (!n)
		return -ENOENT;
	ml_info_of(m, n, mi);
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
