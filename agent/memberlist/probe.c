// SPDX-License-Identifier: GPL-2.0-only
/* The probe cycle (memberlist's probeNode): direct, indirect, TCP fallback. */
#include "memberlist/member_int.h"

/* --- probing (probeNode) ----------------------------------------------------- */

static void probe_done(struct mg_member *m, int delta)
{
	uint64_t now = mg_member_now(m);
	uint64_t next = m->probe.start + ms(m->cfg.t.probe_interval);

	mg_awareness_delta(&m->aw, delta);
	m->probe.active = false;
	m->next_probe = next > now ? next : now;
}

void ml_probe_success(struct mg_member *m)
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
			ml_clear_suspicion(n);
			ml_idx_remove(m, n);
			free(n);
			m->nodes[i] = m->nodes[--m->n];
			continue;
		}
		i++;
	}
	for (i = m->n; i > 1; i--) {
		struct node *t;

		j = ml_rnd_n(m, i);
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

void ml_probe_start(struct mg_member *m)
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
	p->end_at =
		now + mg_awareness_scale(&m->aw, ms(m->cfg.t.probe_interval));
	ml_ping_fill(m, &ping.ping, p->seq, t->name);
	m->st.pings_sent++;
	pr_debug("gossip: probing %s (%s), interval %llu ms\n", t->name,
		 mg_member_state_name(t->state),
		 (unsigned long long)(p->end_at - now) / 1000);
	if (t->state == MG_ML_STATE_ALIVE) {
		ml_send_msg(m, &t->addr, t->port, t, &ping);
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
		ml_send_parts(m, &t->addr, t->port, t, &ms);
		mg_buf_free(&ms.buf);
	}
}

void ml_probe_indirect(struct mg_member *m)
{
	struct probe *p = &m->probe;
	struct node *t = ml_find(m, p->target), *cand[64];
	struct mg_ml_msg ind = { .type = MG_ML_INDIRECT_PING };
	unsigned int i, nc = 0, k = m->cfg.t.indirect_checks;
	bool only_proven = false;

	p->indirect = true;
	if (!t) {
		probe_done(m, 0); /* reaped meanwhile */
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
			unsigned int j = ml_rnd_n(m, i + 1);

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
		unsigned int j = ml_rnd_n(m, nc);
		struct node *peer = cand[j];

		cand[j] = cand[--nc];
		ind.ind.nack = peer->vsn[1] >= 4;
		p->expected_nacks += ind.ind.nack;
		if (!ml_send_msg(m, &peer->addr, peer->port, peer, &ind))
			m->st.indirect_sent++;
	}
	if (!m->cfg.t.no_tcp_pings && t->vsn[1] >= 3) {
		struct mg_ml_msg ping = { .type = MG_ML_PING };
		struct mg_ml_opts o = ml_tx_opts(m, false);
		struct mg_buf b = { 0 }, req = { 0 };

		ml_ping_fill(m, &ping.ping, p->seq, t->name);
		if (!mg_ml_msg_encode(&ping, &b) &&
		    !mg_ml_stream_wrap(b.data, b.len, &o, &req) &&
		    !ml_stream_open(m, &t->addr, t->port, &req, p->end_at,
				    ST_PING, p->seq))
			m->st.tcp_pings++;
		mg_buf_free(&b);
		mg_buf_free(&req);
	}
}

void ml_probe_fail(struct mg_member *m)
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
				(int)(p->expected_nacks - p->nacks) :
				0;
	else
		delta = 1;
	probe_done(m, delta);
	t = ml_find(m, p->target);
	if (!t)
		return;
	pr_info("gossip: probe of %s failed, no acks\n", t->name);
	s.incarnation = t->inc;
	snprintf(s.node, sizeof(s.node), "%s", t->name);
	snprintf(s.from, sizeof(s.from), "%s", m->cfg.name);
	ml_suspect_node(m, &s);
}
