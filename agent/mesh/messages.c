// SPDX-License-Identifier: GPL-2.0-only
/*
 * Our state messages: the envelope, sending to one member, receiving.
 */
#include "mesh/mesh_int.h"

/* --- messages ------------------------------------------------------------ */

int mesh_envelope(const struct mg_mesh *mesh, struct mg_buf *out)
{
	size_t n = strlen(mesh->cfg->gw_name);

	if (n > MG_STATE_NAME_MAX)
		return -ENAMETOOLONG;
	if (mg_buf_put_u8(out, ENV_MAGIC) || mg_buf_put_u8(out, ENV_FORMAT) ||
	    mg_buf_put_u8(out, (uint8_t)n) ||
	    mg_buf_put(out, mesh->cfg->gw_name, n))
		return -ENOMEM;
	return 0;
}

/* Send the state message in body to member name (UDP or TCP by size). */
void mesh_send_to(struct mg_mesh *mesh, const char *name,
		  const struct mg_buf *body)
{
	struct mg_buf msg = { 0 };

	if (!mesh_envelope(mesh, &msg) &&
	    !mg_buf_put(&msg, body->data, body->len)) {
		int err = mg_member_send_user(mesh->member, name, msg.data,
					      msg.len);

		if (err)
			pr_debug("state to %s: %s", name, strerror(-err));
	}
	mg_buf_free(&msg);
}

void mesh_handle_msg(struct mg_mesh *mesh, const uint8_t *p, size_t n)
{
	char sender[MG_STATE_NAME_MAX + 1];
	struct mg_buf reply = { 0 };
	size_t nl;
	int kind;

	if (n < 3 || p[0] != ENV_MAGIC || p[1] != ENV_FORMAT)
		return;		/* serf's, or a later format of ours */
	nl = p[2];
	if (!nl || nl > MG_STATE_NAME_MAX || 3 + nl > n) {
		mesh->state_rejected++;
		return;
	}
	memcpy(sender, p + 3, nl);
	sender[nl] = '\0';
	/*
	 * A batch changes up to thousands of entries, each with a callback:
	 * tell the agent once, not once per entry (a timer re-arm each).
	 */
	mesh->in_recv = true;
	mesh->recv_changed = false;
	kind = mg_state_recv(mesh->st, p + 3 + nl, n - 3 - nl, STREAM_BUDGET,
			     &reply);
	mesh->in_recv = false;
	if (mesh->recv_changed)
		mesh_changed(mesh);
	mesh->state_in++;
	if (kind < 0) {
		mesh->state_rejected++;
		pr_debug("state message from %s refused: %s", sender,
			 strerror(-kind));
	}
	else if (reply.len && strcmp(sender, mesh->cfg->gw_name))
		mesh_send_to(mesh, sender, &reply);
	mg_buf_free(&reply);
}

/*
 * How many times each gateway passes a state rumour on: memberlist's
 * retransmit_mult x ceil(log10(n + 1)), plus one more round of mult.  With
 * memberlist's own count, 1.7 % of changes at 64 gateways miss somebody
 * by gossip alone (tests/sim/gossip_model.py), who then waits for
 * anti-entropy (every 2 s in lan): the 1 s tail of the convergence
 * figures.  One more round brings that to 0.1 % for 50 % more bytes per
 * change.
 */
unsigned int mesh_retransmit_limit(const struct mg_mesh *mesh)
{
	unsigned int n = mg_member_count(mesh->member), lim = 0;

	for (unsigned int v = n + 1; v > 1; v = (v + 9) / 10)
		lim++;
	return mesh->retransmit_mult * ((lim ? lim : 1) + 1);
}
