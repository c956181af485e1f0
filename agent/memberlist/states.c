// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state machine (memberlist's state.go): alive, suspect and dead
 * messages applied to the member table, refuted about ourselves.
 */
#include "memberlist/member_int.h"

/* --- the state machine (state.go) ----------------------------------------- */

void ml_refute(struct mg_member *m, uint32_t accused)
{
	struct mg_ml_msg msg = { .type = MG_ML_ALIVE };
	uint32_t inc = m->self->inc + 1;

	if (accused >= inc)
		inc = accused + 1;
	m->self->inc = inc;
	mg_awareness_delta(&m->aw, 1);
	m->st.refutes++;
	ml_self_alive(m, &msg.alive);
	ml_queue_msg(m, m->self->name, &msg, false);
	pr_info("gossip: refuting an accusation at incarnation %u with %u\n",
		accused, inc);
}

void ml_clear_suspicion(struct node *n)
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

	if (table_full(m, a->node) || ml_idx_reserve(m))
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
	n->state = MG_ML_STATE_DEAD; /* until the incarnation check */
	n->rtt_us = -1;
	n->state_change = mg_member_now(m);
	/*
	 * No Vsn (a broken or hostile sender): take it for ours rather than
	 * keep zeros, which every push/pull's version check (ours and our
	 * peers', who learn the entry from us) would refuse.
	 */
	memcpy(n->vsn, vsn_present(a->vsn) ? a->vsn : our_vsn, MG_ML_VSN_LEN);
	/* a random slot keeps the failure detection bound low on average */
	off = ml_rnd_n(m, m->n + 1);
	m->nodes[m->n] = m->nodes[off];
	m->nodes[off] = n;
	m->n++;
	ml_idx_insert(m, n);
	return n;
}

void ml_alive_node(struct mg_member *m, const struct mg_ml_alive *a,
		   bool bootstrap)
{
	struct node *n = ml_find(m, a->node);
	struct mg_ml_meta old_meta;
	bool updates = false, local;
	char b1[MG_ADDRSTRLEN], b2[MG_ADDRSTRLEN];
	uint8_t old_state;

	if (m->leaving && !strcmp(a->node, m->cfg.name))
		return;
	if (!ml_names_ok(m, a->node, NULL))
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
				n->name, ml_ip_str(&n->addr, b1, sizeof(b1)),
				n->port, ml_ip_str(&a->addr, b2, sizeof(b2)),
				a->port);
			updates = true;
		} else {
			m->st.conflicts++;
			pr_warn("gossip: conflicting address for %s: mine %s:%u, theirs %s:%u (%s)\n",
				n->name, ml_ip_str(&n->addr, b1, sizeof(b1)),
				n->port, ml_ip_str(&a->addr, b2, sizeof(b2)),
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
	ml_clear_suspicion(n);
	old_state = n->state;
	old_meta = n->meta;
	if (!bootstrap && local) {
		if (a->incarnation == n->inc && a->meta.len == n->meta.len &&
		    !memcmp(a->meta.data, n->meta.data, a->meta.len) &&
		    !memcmp(a->vsn, our_vsn, MG_ML_VSN_LEN))
			return;
		ml_refute(m, a->incarnation);
		return;
	} else {
		struct mg_ml_msg msg = { .type = MG_ML_ALIVE, .alive = *a };

		ml_queue_msg(m, a->node, &msg, false);
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
		ml_notify(m, m->ops.notify_join, n);
	else if (old_meta.len != n->meta.len ||
		 memcmp(old_meta.data, n->meta.data, n->meta.len))
		ml_notify(m, m->ops.notify_update, n);
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
	ml_self_alive(m, &msg.alive);
	ml_queue_msg(m, m->self->name, &msg, false);
	pr_debug("gossip: %s accused us at an old incarnation: alive again\n",
		 from);
}

void ml_suspect_node(struct mg_member *m, const struct mg_ml_suspect *s)
{
	struct node *n = ml_find(m, s->node);
	struct mg_ml_msg msg = { .type = MG_ML_SUSPECT, .suspect = *s };
	int err;

	if (!ml_names_ok(m, s->node, s->from))
		return;
	if (n && n == m->self && s->incarnation < n->inc)
		reannounce(m, s->from);
	if (!n || s->incarnation < n->inc)
		return;
	if (n->suspecting) {
		/* an independent confirmation shortens the timer */
		if (mg_suspicion_confirm(&n->susp, s->from))
			ml_queue_msg(m, s->node, &msg, false);
		return;
	}
	if (n->state != MG_ML_STATE_ALIVE)
		return;
	if (n == m->self) {
		ml_refute(m, s->incarnation);
		pr_warn("gossip: refuting a suspicion from %s\n", s->from);
		return;
	}
	ml_queue_msg(m, s->node, &msg, false);
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
		(unsigned long long)(n->susp.deadline - n->state_change) /
			1000);
}

void ml_dead_node(struct mg_member *m, const struct mg_ml_suspect *d)
{
	struct node *n = ml_find(m, d->node);
	struct mg_ml_msg msg = { .type = MG_ML_DEAD, .dead = *d };

	if (!ml_names_ok(m, d->node, d->from))
		return;
	if (n && n == m->self && d->incarnation < n->inc &&
	    strcmp(d->node, d->from))
		reannounce(m, d->from);
	if (!n || d->incarnation < n->inc)
		return;
	ml_clear_suspicion(n);
	if (n->state == MG_ML_STATE_DEAD || n->state == MG_ML_STATE_LEFT)
		return;
	if (n == m->self) {
		if (!m->leaving) {
			ml_refute(m, d->incarnation);
			pr_warn("gossip: refuting a death notice from %s\n",
				d->from);
			return;
		}
		ml_queue_msg(m, d->node, &msg, true);
	} else {
		ml_queue_msg(m, d->node, &msg, false);
	}
	m->st.deaths++;
	n->inc = d->incarnation;
	n->state = strcmp(d->node, d->from) ? MG_ML_STATE_DEAD :
					      MG_ML_STATE_LEFT;
	n->state_change = mg_member_now(m);
	pr_info("gossip: %s %s (from %s)\n", n->name,
		mg_member_state_name(n->state), d->from);
	ml_notify(m, m->ops.notify_leave, n);
}
