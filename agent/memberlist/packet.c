// SPDX-License-Identifier: GPL-2.0-only
/* Packets in: ping, indirect ping, ack and nack, and the dispatch. */
#include "memberlist/member_int.h"

/* --- packets --------------------------------------------------------------- */

struct rx_ctx {
	struct mg_member *m;
	const struct mg_addr *from;
	uint16_t port;
};

void ml_ping_fill(struct mg_member *m, struct mg_ml_ping *p, uint32_t seq,
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
		ml_ip_from_addr(c->from, ip);
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
	if (!ml_send_msg(m, &ip, port,
			 p->source_node[0] ? ml_find(m, p->source_node) : NULL,
			 &ack))
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
		if (ml_addr_from_ip(&ip, &r->to))
			return;
	}
	m->n_relays++;
	ml_ping_fill(m, &ping.ping, r->seq, ind->node);
	ml_send_msg(m, &ind->target, ind->port ? ind->port : m->self_port, NULL,
		    &ping);
	m->st.pings_sent++;
}

static void handle_ack(struct rx_ctx *c, const struct mg_ml_ack *a)
{
	struct mg_member *m = c->m;
	unsigned int i;

	m->st.acks_recv++;
	if (m->probe.active && a->seq_no == m->probe.seq) {
		struct node *n = ml_find(m, m->probe.target);

		if (n && !m->probe.indirect)
			n->rtt_us = mg_member_now(m) - m->probe.start;
		if (n)
			n->proven = true;
		ml_probe_success(m);
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
		ml_ip_from_addr(&r.to, &ip);
		if (!ml_send_msg(m, &ip, r.port, NULL, &ack))
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
		ml_suspect_node(m, &msg->suspect);
		break;
	case MG_ML_ALIVE:
		ml_alive_node(m, &msg->alive, false);
		break;
	case MG_ML_DEAD:
		ml_dead_node(m, &msg->dead);
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
	struct mg_ml_opts o = ml_rx_opts(m);
	struct rx_ctx c = { .m = m, .from = from, .port = port };
	struct mg_ml_rx_stats rs = { 0 };
	int err;

	m->st.pkts_in++;
	m->st.bytes_in += n;
	err = mg_ml_packet_decode(p, n, &o, on_msg, &c, &rs);
	if (err == -EACCES && mg_ml_packet_looks_plain(p, n)) {
		/* made sense without a key (inflating nothing: a plaintext
		 * LZW bomb costs us no work) */
		ml_count_rx_error(m, err, false);
	} else if (err == -EACCES && n >= MG_CRYPT_OVERHEAD && p[0] <= 1) {
		/* shaped as encrypted (version 0 or 1, nonce, tag) */
		ml_count_rx_error(m, err, true);
	} else if (err < 0) {
		/* neither: garbage, not a key mismatch */
		m->st.decode_errors++;
	}
	m->st.decode_errors += rs.bad + rs.truncated;
	ml_finish(m, false);
}
