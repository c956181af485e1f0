// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gossip and push/pull rounds; the clock: the next deadline, relays
 * and suspicions expired, mg_member_tick(), a leave finished.
 */
#include "memberlist/member_int.h"

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
		struct node *n = m->nodes[ml_rnd_n(m, m->n)];

		if (!ok(m, n, now))
			continue;
		for (j = 0; j < got && out[j] != n; j++)
			;
		if (j == got)
			out[got++] = n;
	}
	return got;
}

void ml_gossip(struct mg_member *m)
{
	struct node *targets[16];
	unsigned int k = m->cfg.t.gossip_nodes, i, nt;
	size_t avail = MG_ML_UDP_SIZE - COMPOUND_HDR - ml_crypt_overhead(m);

	if (k > 16)
		k = 16;
	nt = random_nodes(m, k, gossip_target, targets);
	for (i = 0; i < nt; i++) {
		struct msgs ms = { .max = MAX_PARTS };

		ml_get_broadcasts(m, targets[i], COMPOUND_PART, avail, &ms);
		if (ms.n) {
			ml_send_parts(m, &targets[i]->addr, targets[i]->port,
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
		ml_push_pull_with(m, &n->addr, n->port, false);
}

/* --- the clock ---------------------------------------------------------------- */

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

			ml_ip_from_addr(&r.to, &ip);
			if (!ml_send_msg(m, &ip, r.port, NULL, &nack))
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
		ml_clear_suspicion(n);
		if (n->state != MG_ML_STATE_SUSPECT)
			continue;
		d.incarnation = n->inc;
		snprintf(d.node, sizeof(d.node), "%s", n->name);
		snprintf(d.from, sizeof(d.from), "%s", m->cfg.name);
		ml_dead_node(m, &d);
	}
}

void mg_member_tick(struct mg_member *m)
{
	uint64_t now = mg_member_now(m);
	int guard;

	for (guard = 0; guard < 4; guard++) {
		if (m->probe.active && !m->probe.indirect &&
		    now >= m->probe.timeout_at)
			ml_probe_indirect(m);
		if (m->probe.active && m->probe.indirect &&
		    now >= m->probe.end_at)
			ml_probe_fail(m);
		if (m->probe.active || now < m->next_probe)
			break;
		ml_probe_start(m);
	}
	expire_relays(m, now);
	expire_suspicions(m, now);
	if (now >= m->next_gossip) {
		ml_gossip(m);
		m->next_gossip += ms(m->cfg.t.gossip_interval);
		if (m->next_gossip <= now)
			m->next_gossip = now + ms(m->cfg.t.gossip_interval);
	}
	if (m->cfg.t.push_pull_interval && now >= m->next_push_pull) {
		push_pull(m);
		m->next_push_pull =
			now + mg_swim_push_pull_scale(
				      ms(m->cfg.t.push_pull_interval), m->n);
	}
	if (m->leaving && !m->leave_finished && now >= m->leave_deadline) {
		pr_warn("gossip: leave timed out before the broadcast went out\n");
		m->leave_finished = true;
		m->leave_sent = false;
	}
	ml_finish(m, true);
}

void ml_timer_cb(struct mg_loop_src *src, uint32_t events, void *arg)
{
	mg_member_tick(arg);
}

/*
 * End of every entry point: re-arm the timer.  The callbacks that may free
 * the engine (join_done, leave_done) run last, and on a loop only from the
 * timer, where no transport frame is on the stack that would touch it.
 */
void ml_finish(struct mg_member *m, bool from_tick)
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
