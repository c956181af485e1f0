// SPDX-License-Identifier: GPL-2.0-only
/*
 * `meshgate keys` and serf's key queries (list, install, use, remove) across
 * the mesh.
 */
#include "mesh/mesh_int.h"

/* --- the keyring: `meshgate keys` and serf's key queries ------------------- */

/*
 * Change the keyring (verb install, use or remove) and save it.  0, or
 * non-zero with why in @msg.  @serf: memberlist's rules (serf's queries):
 * removing a key that is not there succeeds.
 */
static int keys_change(struct mg_mesh *mesh, const char *verb,
		       const struct mg_key *key, bool serf, char *msg,
		       size_t msg_size)
{
	struct mg_keyring kr = mesh->kr;
	int err;

	if (!strcmp(verb, "install"))
		err = mg_keyring_add(&kr, key, false);
	else if (!strcmp(verb, "use"))
		err = mg_keyring_use(&kr, key);
	else
		err = mg_keyring_remove(&kr, key);
	if (err == -ENOENT && serf && !strcmp(verb, "remove"))
		return 0;
	if (err) {
		/* a serf agent answers with memberlist's words */
		snprintf(msg, msg_size, "%s",
			 err == -ENOENT && serf ? "Requested key is not in the keyring" :
			 err == -EBUSY && serf ? "Removing the primary key is not allowed" :
			 err == -ENOENT ? "no such key installed" :
			 err == -EBUSY ? "that is the primary key; `keys use` another one first" :
			 err == -ENOSPC ? "the keyring is full (8 keys)" :
			 strerror(-err));
		return 1;
	}
	/*
	 * Saved first: a keyring in use that a restart would not find cuts
	 * this gateway off once its peers drop the old key.
	 */
	err = mesh_save_keys(mesh, &kr);
	if (err) {
		snprintf(msg, msg_size, "not changed: saving %.100s: %s",
			 mesh->keys_path, strerror(-err));
		return 1;
	}
	if (mesh->member) {
		err = mg_member_set_keyring(mesh->member, &kr);
		if (err) {
			/* Back to the file of the keyring still in use. */
			mesh_save_keys(mesh, &mesh->kr);
			snprintf(msg, msg_size, "%s", strerror(-err));
			return 1;
		}
	}
	mesh->kr = kr;
	return 0;
}

/* What serf's handleInstallKey etc. answer, as a nodeKeyResponse. */
static int key_query_answer(struct mg_mesh *mesh, const char *verb,
			    const uint8_t *payload, size_t len,
			    struct mg_buf *out)
{
	struct mg_serf_key_result r = { .message = "" };
	char why[160] = "";
	struct mg_key key;

	if (!mesh->kr.n) {
		r.message = strcmp(verb, "list-keys") ?
			"No keyring to modify (encryption not enabled)" :
			"Keyring is empty (encryption not enabled)";
	} else if (!strcmp(verb, "list-keys")) {
		r.result = true;
		r.n_keys = mesh->kr.n;
		r.keys = mesh->kr.keys;
		r.primary = &mesh->kr.keys[mesh->kr.primary];
	} else if (mg_serf_key_request_decode(payload, len, &key)) {
		r.message = "Failed to decode key request";
	} else {
		char v[16];

		snprintf(v, sizeof(v), "%.*s", (int)(strchr(verb, '-') - verb),
			 verb);
		if (keys_change(mesh, v, &key, true, why, sizeof(why)))
			r.message = why;
		else
			r.result = true;
		pr_info("serf's %s query: %s%s", verb,
			r.result ? "done" : "refused: ", r.result ? "" : why);
	}
	return mg_serf_key_result_encode(&r, out);
}

/* A mesh-wide key query of ours, while it runs (and until read). */
#define KEYQ_NODES_MAX	1024	/* responders remembered */
#define KEYQ_KEYS_MAX	32	/* distinct keys counted (list) */
#define KEYQ_MSG_MAX	128

struct keyq_node {
	char name[MG_ML_NAME_MAX + 1];
	char msg[KEYQ_MSG_MAX];
	bool ok;
};

struct keyq {
	char verb[16];			/* install-key, ... */
	uint64_t ltime;
	uint32_t id;
	uint64_t deadline_us;		/* engine clock */
	unsigned int n_nodes;		/* members alive when it went out */
	unsigned int n_resp, n_err;
	unsigned int n_over;		/* responders beyond KEYQ_NODES_MAX */
	struct keyq_node node[KEYQ_NODES_MAX];
	unsigned int n_keys;
	unsigned int n_keys_over;	/* keys beyond KEYQ_KEYS_MAX */
	struct {
		char b64[64];
		unsigned int n, primary;
	} key[KEYQ_KEYS_MAX];
};

static void keyq_key(void *ctx, const uint8_t *b64, uint32_t len,
		     bool primary)
{
	struct keyq *q = ctx;
	unsigned int i;

	if (len >= sizeof(q->key[0].b64))
		return;
	for (i = 0; i < q->n_keys; i++)
		if (strlen(q->key[i].b64) == len &&
		    !memcmp(q->key[i].b64, b64, len))
			break;
	if (i == q->n_keys) {
		if (q->n_keys >= KEYQ_KEYS_MAX) {
			q->n_keys_over++;
			return;
		}
		memcpy(q->key[i].b64, b64, len);
		q->key[i].b64[len] = 0;
		q->n_keys++;
	}
	if (primary)
		q->key[i].primary++;
	else
		q->key[i].n++;
}

/* A response from @from (serf's streamKeyResp); duplicates ignored. */
static void keyq_add(struct keyq *q, const uint8_t *from, uint32_t from_len,
		     const uint8_t *p, size_t n)
{
	struct keyq_node *e;
	unsigned int i;
	bool ok;

	if (!from_len || from_len > MG_ML_NAME_MAX)
		return;
	for (i = 0; i < q->n_resp && i < KEYQ_NODES_MAX; i++)
		if (strlen(q->node[i].name) == from_len &&
		    !memcmp(q->node[i].name, from, from_len))
			return;
	if (q->n_resp >= KEYQ_NODES_MAX) {
		q->n_over++;
		return;
	}
	e = &q->node[q->n_resp++];
	memcpy(e->name, from, from_len);
	e->name[from_len] = 0;
	if (mg_serf_key_result_decode(p, n, &ok, e->msg, sizeof(e->msg),
				      keyq_key, q)) {
		snprintf(e->msg, sizeof(e->msg),
			 "Failed to decode key query response");
		ok = false;
	}
	e->ok = ok;
	q->n_err += !ok;
}

void mesh_serf_response(struct mg_mesh *mesh, const uint8_t *p, size_t n)
{
	struct mg_serf_response r;

	if (!mesh->keyq || mg_serf_response_decode(p, n, &r) ||
	    r.ltime != mesh->keyq->ltime || r.id != mesh->keyq->id ||
	    (r.flags & MG_SERF_QFLAG_ACK) ||
	    mg_member_now(mesh->member) > mesh->keyq->deadline_us)
		return;
	keyq_add(mesh->keyq, r.from, r.from_len, r.payload, r.payload_len);
}

/* serf's messageRelayType: pass the message on to its destination. */
void mesh_serf_forward(struct mg_mesh *mesh, const uint8_t *p, size_t n)
{
	char name[MG_ML_NAME_MAX + 1];
	const uint8_t *dest, *inner;
	uint32_t dest_len;
	size_t inner_len;

	if (mg_serf_relay_decode(p, n, &dest, &dest_len, &inner, &inner_len) ||
	    dest_len > MG_ML_NAME_MAX)
		return;
	snprintf(name, sizeof(name), "%.*s", (int)dest_len, dest);
	mg_member_send_user(mesh->member, name, inner, inner_len);
}

/* serf's relayResponse: up to @want other live members, at random. */
struct relay_pick {
	const char *self;
	unsigned int want, seen, n;
	char name[8][MG_ML_NAME_MAX + 1];
};

static int relay_pick_one(void *ctx, const struct mg_member_info *mi)
{
	struct relay_pick *rp = ctx;
	uint32_t r;

	/* serf: alive, protocol max 5 or more, not us */
	if (mi->self || mi->state != MG_MEMBER_ALIVE || mi->vsn[1] < 5)
		return 0;
	rp->seen++;
	if (rp->n < rp->want) {
		snprintf(rp->name[rp->n++], sizeof(rp->name[0]), "%s",
			 mi->name);
		return 0;
	}
	/* reservoir sampling */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r) &&
	    r % rp->seen < rp->want)
		snprintf(rp->name[r % rp->seen], sizeof(rp->name[0]), "%s",
			 mi->name);
	return 0;
}

static void serf_relay_response(struct mg_mesh *mesh,
				const struct mg_serf_query *q,
				const struct mg_buf *resp)
{
	struct relay_pick rp = { .want = q->relay_factor };
	struct mg_buf b = { 0 };

	if (!q->relay_factor)
		return;
	if (rp.want > 8)
		rp.want = 8;	/* serf's -relay-factor is at most 5 */
	mg_member_foreach(mesh->member, relay_pick_one, &rp);
	/* serf: only when there are relayFactor other members */
	if (rp.seen < q->relay_factor ||
	    mg_serf_relay_encode(q->addr, q->addr_len, q->port, q->source,
				 q->source_len, resp->data, resp->len, &b)) {
		mg_buf_free(&b);
		return;
	}
	for (unsigned int i = 0; i < rp.n; i++)
		mg_member_send_user(mesh->member, rp.name[i], b.data, b.len);
	mg_buf_free(&b);
}

/* Answer @q with @payload, to its SourceNode as serf's Respond does. */
static void serf_respond(struct mg_mesh *mesh, const struct mg_serf_query *q,
			 uint32_t flags, const struct mg_buf *payload)
{
	struct mg_serf_response r = {
		.ltime = q->ltime, .id = q->id, .flags = flags,
		.from = (const uint8_t *)mesh->cfg->gw_name,
		.from_len = strlen(mesh->cfg->gw_name),
		.payload = payload ? payload->data : NULL,
		.payload_len = payload ? payload->len : 0,
	};
	char name[MG_ML_NAME_MAX + 1];
	struct mg_buf b = { 0 };
	int err;

	if (!q->source_len || q->source_len > MG_ML_NAME_MAX)
		return;		/* serf 0.9.4 always names its source */
	snprintf(name, sizeof(name), "%.*s", (int)q->source_len, q->source);
	err = mg_serf_response_encode(&r, &b);
	err = err ?: mg_member_send_user(mesh->member, name, b.data, b.len);
	if (err)
		pr_debug("cannot answer %s's query: %s", name, strerror(-err));
	if (b.len)
		serf_relay_response(mesh, q, &b);
	mg_buf_free(&b);
}

/*
 * serf's handleQuery after its buffer said new: relay it (unless it says
 * NoBroadcast), ack when asked, and answer serf's key queries.  Other
 * queries (user queries, serf's ping and conflict) are relayed only:
 * there is nothing here to run them.  A query whose filters leave us out
 * (or that filters by tag) is relayed but not acked nor answered.
 */
void mesh_serf_query(struct mg_mesh *mesh, const uint8_t *p, size_t n)
{
	struct mg_serf_query q;
	struct mg_buf ans = { 0 };
	const char *verb;

	if (mg_serf_query_decode(p, n, &q))
		return;
	if (!(q.flags & MG_SERF_QFLAG_NO_BCAST))
		mg_member_user_broadcast(mesh->member, p, n);
	if (!mg_serf_query_for(&q, mesh->cfg->gw_name))
		return;
	if (q.flags & MG_SERF_QFLAG_ACK)
		serf_respond(mesh, &q, MG_SERF_QFLAG_ACK, NULL);
	verb = mg_serf_key_query(&q);
	if (!verb)
		return;
	if (!key_query_answer(mesh, verb, q.payload, q.payload_len, &ans))
		serf_respond(mesh, &q, 0, &ans);
	mg_buf_free(&ans);
}

/* serf's DefaultQueryTimeout: GossipInterval (200 ms) x 16 x ceil(log10(N+1)). */
static uint64_t query_timeout_us(unsigned int n)
{
	unsigned int lg = 1;

	for (unsigned int v = 10; v < n + 1 && lg < 9; v *= 10)
		lg++;
	return 200000ull * 16 * lg;
}

/* Send serf's @verb key query to the pool and answer it here too. */
static int keyq_start(struct mg_cli *cli, struct mg_mesh *mesh,
		      const char *verb, const struct mg_key *key)
{
	struct mg_serf_query q = { 0 };
	struct mg_member_info self;
	struct mg_buf req = { 0 }, msg = { 0 }, ans = { 0 };
	char name[32];
	uint32_t id;
	int err;

	if (!mesh->member ||
	    mg_member_find(mesh->member, mesh->cfg->gw_name, &self)) {
		fprintf(cli->err, "meshgate keys mesh: gossip is off\n");
		return 1;
	}
	if (mesh->keyq && mesh->keyq->n_resp < mesh->keyq->n_nodes &&
	    mg_member_now(mesh->member) <= mesh->keyq->deadline_us) {
		fprintf(cli->err, "meshgate keys mesh: another %s query is still running\n",
			mesh->keyq->verb);
		return 1;
	}
	if (!mesh->keyq) {
		mesh->keyq = calloc(1, sizeof(*mesh->keyq));
		if (!mesh->keyq) {
			fprintf(cli->err, "meshgate keys mesh: %s\n",
				strerror(ENOMEM));
			return 1;
		}
	}
	memset(mesh->keyq, 0, sizeof(*mesh->keyq));
	snprintf(name, sizeof(name), MG_SERF_INTERNAL "%s", verb);
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) < 0)
		id = (uint32_t)mg_member_now(mesh->member);
	id &= 0x7fffffff;	/* rand.Int31() */
	q.id = id;
	q.addr = (const uint8_t *)self.addr.addr;
	q.addr_len = self.addr.family == MG_AF_INET6 ? 16 : 4;
	q.port = self.port;
	q.source = (const uint8_t *)mesh->cfg->gw_name;
	q.source_len = strlen(mesh->cfg->gw_name);
	q.timeout_ns = query_timeout_us(mg_member_alive(mesh->member)) * 1000;
	q.name = (const uint8_t *)name;
	q.name_len = strlen(name);
	err = mg_serf_key_request_encode(key, &req);
	q.payload = req.data;
	q.payload_len = req.len;
	q.ltime = mg_serf_query_time(mesh->serf, id);
	err = err ?: mg_serf_query_encode(&q, &msg);
	if (!err && msg.len > MG_SERF_QUERY_SIZE_MAX)
		err = -EMSGSIZE;
	err = err ?: mg_member_user_broadcast(mesh->member, msg.data, msg.len);
	if (err) {
		fprintf(cli->err, "meshgate keys mesh: %s\n", strerror(-err));
		mg_buf_free(&req);
		mg_buf_free(&msg);
		free(mesh->keyq);
		mesh->keyq = NULL;
		return 1;
	}
	snprintf(mesh->keyq->verb, sizeof(mesh->keyq->verb), "%s", verb);
	mesh->keyq->ltime = q.ltime;
	mesh->keyq->id = id;
	mesh->keyq->n_nodes = mg_member_alive(mesh->member);
	mesh->keyq->deadline_us = mg_member_now(mesh->member) +
				  q.timeout_ns / 1000;
	/* serf's Query handles it locally too: our own answer */
	if (!key_query_answer(mesh, verb, req.data, req.len, &ans))
		keyq_add(mesh->keyq, q.source, q.source_len, ans.data,
			 ans.len);
	mg_buf_free(&ans);
	mg_buf_free(&req);
	mg_buf_free(&msg);
	return 0;
}

#define KEYQ_PENDING	75	/* EX_TEMPFAIL: ask again */

/* The tally as serf's `keys` prints it, once every member answered or
 * the timeout passed; KEYQ_PENDING before. */
static int keyq_result(struct mg_cli *cli, struct mg_mesh *mesh)
{
	struct keyq *q = mesh->keyq;
	unsigned int i;
	bool ok;

	if (!q) {
		fprintf(cli->err, "meshgate keys mesh: no query sent\n");
		return 1;
	}
	if (q->n_resp < q->n_nodes &&
	    mg_member_now(mesh->member) <= q->deadline_us)
		return KEYQ_PENDING;
	ok = !q->n_err && q->n_resp >= q->n_nodes;
	out_obj_open(NULL);
	out_str("query", "%s: ", q->verb);
	out_u64("success", "%llu", q->n_resp - q->n_err);
	out_u64("nodes", "/%llu nodes reported success\n", q->n_nodes);
	out_u64("failures", NULL, q->n_err);
	if (q->n_over)
		out_u64("responses_dropped",
			"  (%llu more responses not counted: too many)\n",
			q->n_over);
	out_arr_open("failed");
	for (i = 0; i < q->n_resp; i++)
		if (!q->node[i].ok) {
			out_obj_open(NULL);
			out_str("node", "  %s: ", q->node[i].name);
			out_str("message", "%s\n", q->node[i].msg);
			out_obj_close();
		}
	out_arr_close();
	if (!strcmp(q->verb, "list-keys")) {
		out_arr_open("keys");
		for (i = 0; i < q->n_keys; i++) {
			if (!q->key[i].n)
				continue;
			out_obj_open(NULL);
			out_str("key", "  %s", q->key[i].b64);
			out_u64("nodes", " [%llu", q->key[i].n);
			out_text("/%u]", q->n_resp);
			out_u64("primary", q->key[i].primary ?
				" primary on %llu" : NULL, q->key[i].primary);
			out_text("\n");
			out_obj_close();
		}
		out_arr_close();
	}
	out_obj_close();
	out_finish();
	free(q);
	mesh->keyq = NULL;
	return ok ? 0 : 1;
}

/*
 * `keys mesh VERB [KEY]`: serf's key query to the whole pool (serf and
 * meshgate members alike); `keys mesh wait`: its tally.  The CLI sends the
 * first, then asks the second until it is not KEYQ_PENDING.
 */
static int keys_mesh(struct mg_cli *cli, struct mg_mesh *mesh, int argc,
		     char **argv)
{
	static const char *const verbs[][2] = {
		{ "install", "install-key" }, { "use", "use-key" },
		{ "remove", "remove-key" }, { "list", "list-keys" },
	};
	struct mg_key key;

	if (argc == 3 && !strcmp(argv[2], "wait"))
		return keyq_result(cli, mesh);
	for (unsigned int i = 0; i < 4; i++) {
		if (strcmp(argv[2], verbs[i][0]))
			continue;
		if (i == 3 && argc == 3)
			return keyq_start(cli, mesh, verbs[i][1], NULL);
		if (i < 3 && argc == 4 && !mg_key_parse_b64(argv[3], &key))
			return keyq_start(cli, mesh, verbs[i][1], &key);
		break;
	}
	fprintf(cli->err, "usage: meshgate keys mesh list | install KEY | "
		"use KEY | remove KEY   (verbs in full)\n");
	return 2;
}

int mg_mesh_cmd_keys(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_mesh *mesh = cli->priv;
	struct mg_keyring kr = mesh->kr;
	const char *verb = NULL;
	struct mg_key key;
	char b64[64], why[160];

	if (argc == 1 || (argc == 2 && mg_matches(argv[1], "list"))) {
		out_arr_open("keys");
		for (unsigned int i = 0; i < kr.n; i++) {
			mesh_key_b64(&kr.keys[i], b64, sizeof(b64));
			out_obj_open(NULL);
			out_str("key", "%s", b64);
			out_u64("bits", "  AES-%llu", kr.keys[i].len * 8ull);
			out_bool("primary", NULL, i == kr.primary);
			out_text("%s\n", i == kr.primary ? "  primary" : "");
			out_obj_close();
		}
		if (!kr.n)
			out_text("no keys: gossip is not encrypted\n");
		out_arr_close();
		out_finish();
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "mesh"))
		return keys_mesh(cli, mesh, argc, argv);
	if (argc != 3 || mg_key_parse_b64(argv[2], &key)) {
		fprintf(cli->err, "usage: meshgate keys [list]\n"
			"       meshgate keys install|use|remove KEY   "
			"(KEY: base64 of 16, 24 or 32 bytes)\n"
			"       meshgate keys mesh list | install|use|remove KEY\n");
		return 2;
	}
	if (mg_matches(argv[1], "install"))
		verb = "install";
	else if (mg_matches(argv[1], "use"))
		verb = "use";
	else if (mg_matches(argv[1], "remove"))
		verb = "remove";
	if (!verb) {
		fprintf(cli->err, "meshgate keys: unknown verb '%s' (list, install, use, remove, mesh)\n",
			argv[1]);
		return 2;
	}
	if (keys_change(mesh, verb, &key, false, why, sizeof(why))) {
		fprintf(cli->err, "meshgate keys %s: %s\n", verb, why);
		return 1;
	}
	return 0;
}

struct mg_state *mg_mesh_state(struct mg_mesh *mesh)
{
	return mesh ? mesh->st : NULL;
}
