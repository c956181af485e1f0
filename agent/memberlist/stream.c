// SPDX-License-Identifier: GPL-2.0-only
/*
 * Streams: join and push/pull (our local state out, the remote one
 * verified and merged), TCP fallback pings, the pending replies.
 */
#include "memberlist/member_int.h"

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
	struct mg_ml_opts o = ml_tx_opts(m, false);
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

#define WIDEN(v)                          \
	do {                              \
		if ((v)[0] > maxpmin)     \
			maxpmin = (v)[0]; \
		if ((v)[1] < minpmax)     \
			minpmax = (v)[1]; \
		if ((v)[3] > maxdmin)     \
			maxdmin = (v)[3]; \
		if ((v)[4] < mindmax)     \
			mindmax = (v)[4]; \
	} while (0)
#define CHECK(name, v)                                                                                             \
	do {                                                                                                       \
		if ((v)[2] < maxpmin || (v)[2] > minpmax ||                                                        \
		    (v)[5] < maxdmin || (v)[5] > mindmax) {                                                        \
			pr_warn("gossip: push/pull rejected: %s speaks %u/%u, cluster allows [%u, %u]/[%u, %u]\n", \
				name, (v)[2], (v)[5], maxpmin, minpmax,                                            \
				maxdmin, mindmax);                                                                 \
			return -EPROTONOSUPPORT;                                                                   \
		}                                                                                                  \
	} while (0)

	for (i = 0; i < nr; i++)
		if (r[i].state == MG_ML_STATE_ALIVE && vsn_present(r[i].vsn))
			WIDEN(r[i].vsn);
	for (i = 0; i < m->n; i++)
		if (m->nodes[i]->state == MG_ML_STATE_ALIVE)
			WIDEN(m->nodes[i]->vsn);
	for (i = 0; i < nr; i++)
		if (vsn_present(r[i].vsn)) /* absent: taken for ours */
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
			ml_alive_node(m, &a, false);
			break;
		case MG_ML_STATE_LEFT:
			snprintf(d.from, sizeof(d.from), "%s", r->name);
			ml_dead_node(m, &d);
			break;
		default:
			/* anti-entropy suspects, it never kills directly */
			snprintf(d.from, sizeof(d.from), "%s", m->cfg.name);
			ml_suspect_node(m, &d);
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
void ml_count_rx_error(struct mg_member *m, int err, bool encrypted)
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

struct mg_ml_opts ml_rx_opts(const struct mg_member *m)
{
	return (struct mg_ml_opts){
		.kr = m->cfg.keyring.n ? &m->cfg.keyring : NULL,
	};
}

int mg_member_stream_in(struct mg_member *m, const uint8_t *p, size_t n,
			struct mg_buf *reply)
{
	struct mg_ml_opts o = ml_rx_opts(m), to = ml_tx_opts(m, false);
	struct mg_ml_stream s;
	struct mg_buf out = { 0 };
	int err;

	err = mg_ml_stream_decode(p, n, &o, &s);
	if (err == -EAGAIN)
		goto out;
	m->st.streams_in++;
	if (err) {
		ml_count_rx_error(m, err, n && p[0] == MG_ML_ENCRYPT);
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
		if (s.msg.ping.node[0] &&
		    strcmp(s.msg.ping.node, m->cfg.name)) {
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
		ml_finish(m, false);
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

int ml_stream_open(struct mg_member *m, const struct mg_ml_ip *ip,
		   uint16_t port, const struct mg_buf *req, uint64_t deadline,
		   enum stream_kind kind, uint32_t seq)
{
	struct pending *pd;
	struct mg_addr to;
	uint32_t token;
	int err;

	if (ml_addr_from_ip(ip, &to))
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
	err = m->io.stream(m->io.arg, &to, port, req->data, req->len, deadline,
			   token);
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
	struct mg_ml_opts o = ml_rx_opts(m);
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
		ml_count_rx_error(m, err, n && p[0] == MG_ML_ENCRYPT);
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
	ml_finish(m, false);
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
	ml_finish(m, false);
}

int ml_push_pull_with(struct mg_member *m, const struct mg_ml_ip *ip,
		      uint16_t port, bool join)
{
	struct mg_buf req = { 0 };
	int err;

	err = local_state(m, join, &req);
	if (!err)
		err = ml_stream_open(m, ip, port, &req,
				     mg_member_now(m) +
					     ms(m->cfg.t.tcp_timeout),
				     join ? ST_JOIN : ST_PUSH_PULL, 0);
	mg_buf_free(&req);
	return err;
}
