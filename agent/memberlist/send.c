// SPDX-License-Identifier: GPL-2.0-only
/* Sending: broadcasts piggybacked, compound packets, user messages queued. */
#include "memberlist/member_int.h"

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
void ml_get_broadcasts(struct mg_member *m, const struct node *to,
		       size_t overhead, size_t limit, struct msgs *out)
{
	unsigned int lim =
		mg_swim_retransmit_limit(m->cfg.t.retransmit_mult, m->n);
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

	if (ml_addr_from_ip(ip, &to))
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
int ml_send_raw(struct mg_member *m, const struct mg_ml_ip *ip, uint16_t port,
		const struct node *node, const uint8_t *msg, size_t len)
{
	struct mg_ml_opts o = ml_tx_opts(m, node && node->vsn[1] >= 5);
	struct mg_buf out = { 0 };
	int err;

	err = mg_ml_packet_wrap(msg, len, &o, &out);
	if (!err)
		err = send_bytes(m, ip, port, out.data, out.len);
	mg_buf_free(&out);
	return err;
}

int ml_send_parts(struct mg_member *m, const struct mg_ml_ip *ip, uint16_t port,
		  const struct node *node, struct msgs *ms)
{
	struct mg_bytes parts[MAX_PARTS];
	struct mg_buf c = { 0 };
	unsigned int i;
	int err;

	if (ms->n == 1)
		return ml_send_raw(m, ip, port, node, ms->buf.data, ms->len[0]);
	for (i = 0; i < ms->n; i++) {
		parts[i].data = ms->buf.data + ms->off[i];
		parts[i].len = ms->len[i];
	}
	err = mg_ml_compound_build(parts, ms->n, &c);
	if (!err)
		err = ml_send_raw(m, ip, port, node, c.data, c.len);
	mg_buf_free(&c);
	return err;
}

/* sendMsg: one message plus whatever broadcasts fit beside it. */
int ml_send_msg(struct mg_member *m, const struct mg_ml_ip *ip, uint16_t port,
		const struct node *to, const struct mg_ml_msg *msg)
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
	avail = MG_ML_UDP_SIZE - ms.buf.len - COMPOUND_HDR -
		ml_crypt_overhead(m);
	if (ms.buf.len + COMPOUND_HDR + ml_crypt_overhead(m) < MG_ML_UDP_SIZE)
		ml_get_broadcasts(m, to, COMPOUND_PART, avail, &ms);
	err = ml_send_parts(m, ip, port, NULL, &ms);
out:
	mg_buf_free(&ms.buf);
	return err;
}

int ml_queue_msg(struct mg_member *m, const char *about,
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

void ml_self_alive(const struct mg_member *m, struct mg_ml_alive *a)
{
	memset(a, 0, sizeof(*a));
	a->incarnation = m->self->inc;
	snprintf(a->node, sizeof(a->node), "%s", m->self->name);
	a->addr = m->self_addr;
	a->port = m->self_port;
	a->meta = m->self->meta;
	memcpy(a->vsn, our_vsn, MG_ML_VSN_LEN);
}
