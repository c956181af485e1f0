// SPDX-License-Identifier: GPL-2.0-only
/*
 * serf's member layer (see serf.h): Lamport clocks, intents, push/pull.
 * Each rule below is serf 0.9.4's (serf.go: handleNodeJoinIntent,
 * handleNodeLeaveIntent, broadcastJoin, Leave; delegate.go: LocalState,
 * MergeRemoteState; lamport.go).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "memberlist/member.h"
#include "lib/msgpack.h"
#include "serf/serf.h"

#define SLOTS_MIN	16		/* a power of two */
#define SLOTS_MAX	(2 * MG_SERF_MEMBERS_MAX)
#define LEFT_MAX	256	/* LeftMembers merged per push/pull */

/* A member's newest intent; name NULL: a free slot. */
struct intent {
	char *name;
	uint64_t ltime;
	bool set;		/* an intent arrived (else only looked up) */
	bool leaving;
};

/* The events or queries of one Lamport time (serf's userEvents/queries). */
struct seen {
	uint64_t ltime;
	unsigned int n;		/* 0: a free slot */
	uint64_t key[MG_SERF_SEEN_PER_TIME];
};

struct mg_serf {
	char self[MG_ML_NAME_MAX + 1];
	struct seen events[MG_SERF_BUFFER];
	struct seen queries[MG_SERF_BUFFER];
	struct mg_serf_stats stats;
	struct mg_serf_clock clock;
	bool leaving;		/* we sent our leave: do not refute */
	uint64_t seed;
	unsigned int n;
	unsigned int n_slot;	/* a power of two, at least 2 * n */
	struct intent *slot;
};

_Static_assert((SLOTS_MAX & (SLOTS_MAX - 1)) == 0, "a power of two");

/* LamportClock.Witness: the next time is past anything seen. */
static void witness(uint64_t *clock, uint64_t v)
{
	if (v >= *clock && v < UINT64_MAX)
		*clock = v + 1;
}

static uint64_t hash(const struct mg_serf *s, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ s->seed;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* The slot holding @name, or the free one it would take; NULL: full. */
static struct intent *find_slot(const struct mg_serf *s, const uint8_t *name,
				size_t len)
{
	uint64_t i = hash(s, name, len);
	unsigned int probes;

	for (probes = 0; probes < s->n_slot; probes++, i++) {
		struct intent *e = &s->slot[i & (s->n_slot - 1)];

		if (!e->name || (strlen(e->name) == len &&
				 !memcmp(e->name, name, len)))
			return e;
	}
	return NULL;
}

/* Put entries (names owned) back into fresh slots. */
static void reinsert(struct mg_serf *s, struct intent *from, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct intent *e;

		if (!from[i].name)
			continue;
		/* never NULL: at most half the slots are taken */
		e = find_slot(s, (const uint8_t *)from[i].name,
			      strlen(from[i].name));
		*e = from[i];
		s->n++;
	}
}

/* Twice the slots, at most SLOTS_MAX (half full with MG_SERF_MEMBERS_MAX). */
static int grow(struct mg_serf *s)
{
	struct intent *old = s->slot;
	unsigned int n_old = s->n_slot;

	if (n_old >= SLOTS_MAX)
		return -ENOSPC;
	s->slot = calloc(2 * n_old, sizeof(*s->slot));
	if (!s->slot) {
		s->slot = old;
		return -ENOMEM;
	}
	s->n_slot = 2 * n_old;
	s->n = 0;
	reinsert(s, old, n_old);
	free(old);
	return 0;
}

/* The entry of @name; with @add, a new one if there is room.  NULL if not. */
static struct intent *lookup(struct mg_serf *s, const uint8_t *name,
			     size_t len, bool add)
{
	struct intent *e;

	if (!len || len > MG_ML_NAME_MAX)
		return NULL;
	e = find_slot(s, name, len);
	if (e && e->name)
		return e;
	if (!add || s->n >= MG_SERF_MEMBERS_MAX)
		return NULL;
	if (2 * (s->n + 1) > s->n_slot) {
		if (grow(s))
			return NULL;
		e = find_slot(s, name, len);
	}
	/* Not strndup: name is len bytes of a message, with no NUL after. */
	e->name = malloc(len + 1);
	if (!e->name)
		return NULL;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	s->n++;
	return e;
}

struct mg_serf *mg_serf_new(const char *self)
{
	struct mg_serf *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->n_slot = SLOTS_MIN;
	s->slot = calloc(s->n_slot, sizeof(*s->slot));
	if (!s->slot) {
		free(s);
		return NULL;
	}
	snprintf(s->self, sizeof(s->self), "%s", self);
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) < 0)
		s->seed = (uintptr_t)s;
	return s;
}

void mg_serf_free(struct mg_serf *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < s->n_slot; i++)
		free(s->slot[i].name);
	free(s->slot);
	free(s);
}

void mg_serf_clock_get(const struct mg_serf *s, struct mg_serf_clock *c)
{
	*c = s->clock;
}

void mg_serf_clock_witness(struct mg_serf *s, const struct mg_serf_clock *c)
{
	/* the saved values are times already used: go past them */
	witness(&s->clock.ltime, c->ltime);
	witness(&s->clock.event, c->event);
	witness(&s->clock.query, c->query);
}

static int intent_encode(uint8_t type, const char *name, uint64_t ltime,
			 struct mg_buf *out)
{
	msgpack_packer pk;
	int err;

	mg_mp_packer_init(&pk, out);
	err = mg_buf_put_u8(out, type);
	err = err ?: msgpack_pack_map(&pk, type == MG_SERF_LEAVE_INTENT ? 3 : 2);
	err = err ?: mg_mp_pack_cstr(&pk, "LTime");
	err = err ?: mg_mp_pack_uint(&pk, ltime);
	err = err ?: mg_mp_pack_cstr(&pk, "Node");
	err = err ?: mg_mp_pack_cstr(&pk, name);
	if (type == MG_SERF_LEAVE_INTENT) {
		err = err ?: mg_mp_pack_cstr(&pk, "Prune");
		err = err ?: mg_mp_pack_bool(&pk, false);
	}
	return err;
}

static void set_self(struct mg_serf *s, uint64_t ltime, bool leaving)
{
	struct intent *e = lookup(s, (const uint8_t *)s->self,
				  strlen(s->self), true);

	if (e) {
		e->set = true;
		e->ltime = ltime;
		e->leaving = leaving;
	}
}

int mg_serf_join_msg(struct mg_serf *s, struct mg_buf *out)
{
	uint64_t t = s->clock.ltime;

	/* broadcastJoin(clock.Time()): witness it, then apply it locally */
	witness(&s->clock.ltime, t);
	s->leaving = false;
	set_self(s, t, false);
	return intent_encode(MG_SERF_JOIN_INTENT, s->self, t, out);
}

int mg_serf_leave_msg(struct mg_serf *s, struct mg_buf *out)
{
	uint64_t t = s->clock.ltime;

	/* Leave(): the clock's time, then Increment() */
	s->clock.ltime++;
	s->leaving = true;
	set_self(s, t, true);
	return intent_encode(MG_SERF_LEAVE_INTENT, s->self, t, out);
}

static bool is_self(const struct mg_serf *s, const uint8_t *name, size_t len)
{
	return strlen(s->self) == len && !memcmp(s->self, name, len);
}

/* Our own status time (0 before our first intent). */
static uint64_t self_ltime(struct mg_serf *s)
{
	struct intent *e = lookup(s, (const uint8_t *)s->self,
				  strlen(s->self), false);

	return e && e->set ? e->ltime : 0;
}

static enum mg_serf_verdict join_intent(struct mg_serf *s, const uint8_t *name,
					size_t len, uint64_t ltime)
{
	struct intent *e;

	witness(&s->clock.ltime, ltime);
	e = lookup(s, name, len, true);
	if (!e || (e->set && ltime <= e->ltime))
		return MG_SERF_DONE;
	e->set = true;
	e->ltime = ltime;
	e->leaving = false;
	return MG_SERF_RELAY;
}

static enum mg_serf_verdict leave_intent(struct mg_serf *s,
					 const uint8_t *name, size_t len,
					 uint64_t ltime)
{
	struct intent *e;

	witness(&s->clock.ltime, ltime);
	e = lookup(s, name, len, true);
	if (!e)
		return MG_SERF_DONE;
	/*
	 * "Refuting an older leave intent" (about us, while we stay).  A tie
	 * too: a force-leave stamped from the same clock value as our last
	 * join would leave serf agents "leaving" at a time no join of ours
	 * at that time can undo.
	 */
	if (is_self(s, name, len) && !s->leaving)
		return e->set && ltime < e->ltime ? MG_SERF_DONE :
						    MG_SERF_REFUTE;
	if (e->set && ltime <= e->ltime)
		return MG_SERF_DONE;
	e->set = true;
	e->ltime = ltime;
	e->leaving = true;
	return MG_SERF_RELAY;
}

/* What serf's messages carry that we read (other keys skipped). */
struct serf_msg {
	uint64_t ltime;
	uint64_t id;			/* a query's ID */
	const uint8_t *node, *name, *payload;
	uint32_t node_len, name_len, payload_len;
};

static const struct mg_mp_field intent_fields[] = {
	MG_MP_FIELD_UINT(struct serf_msg, "LTime", ltime, UINT64_MAX),
	MG_MP_FIELD_STR(struct serf_msg, "Node", node, node_len),
};

static const struct mg_mp_field event_fields[] = {
	MG_MP_FIELD_UINT(struct serf_msg, "LTime", ltime, UINT64_MAX),
	MG_MP_FIELD_STR(struct serf_msg, "Name", name, name_len),
	MG_MP_FIELD_BYTES(struct serf_msg, "Payload", payload, payload_len),
};

static const struct mg_mp_field query_fields[] = {
	MG_MP_FIELD_UINT(struct serf_msg, "LTime", ltime, UINT64_MAX),
	MG_MP_FIELD_UINT(struct serf_msg, "ID", id, UINT32_MAX),
};

/* Read the map of a serf message: LTime and Node. */
static int read_intent(const uint8_t *p, size_t n, uint64_t *ltime,
		       const uint8_t **node, uint32_t *node_len)
{
	struct serf_msg m = { 0 };
	struct mg_mp_rd rd;
	int err;

	mg_mp_rd_init(&rd, p, n);
	err = mg_mp_read_fields(&rd, intent_fields,
				MG_MP_NFIELDS(intent_fields), &m);
	*ltime = m.ltime;
	*node = m.node;
	*node_len = m.node_len;
	return err;
}

/*
 * An event's identity is its Name and Payload (serf compares both), a
 * query's its ID; an event's is kept as a hash of the two.
 */
static int read_event(const struct mg_serf *s, const uint8_t *p, size_t n,
		      bool query, uint64_t *ltime, uint64_t *id)
{
	struct serf_msg m = { 0 };
	struct mg_mp_rd rd;
	int err;

	mg_mp_rd_init(&rd, p, n);
	if (query)
		err = mg_mp_read_fields(&rd, query_fields,
					MG_MP_NFIELDS(query_fields), &m);
	else
		err = mg_mp_read_fields(&rd, event_fields,
					MG_MP_NFIELDS(event_fields), &m);
	*ltime = m.ltime;
	*id = m.id;
	if (!err && !query) {
		uint64_t h = hash(s, m.name ? m.name : (const uint8_t *)"",
				  m.name_len);

		*id = h ^ (hash(s, m.payload ? m.payload : (const uint8_t *)"",
				m.payload_len) * 31);
	}
	return err;
}

/*
 * serf's handleUserEvent / handleQuery: witness the time; too old for the
 * buffer, or already seen at that time: not again.  Else remember it.
 */
static bool seen_new(struct mg_serf *s, struct seen *buf, uint64_t *clock,
		     uint64_t ltime, uint64_t id, uint64_t *old,
		     uint64_t *dup)
{
	struct seen *e;

	witness(clock, ltime);
	if (*clock > MG_SERF_BUFFER && ltime < *clock - MG_SERF_BUFFER) {
		++*old;
		return false;
	}
	e = &buf[ltime % MG_SERF_BUFFER];
	if (!e->n || e->ltime != ltime) {
		e->ltime = ltime;
		e->n = 0;
	}
	for (unsigned int i = 0; i < e->n; i++)
		if (e->key[i] == id) {
			++*dup;
			return false;
		}
	if (e->n >= MG_SERF_SEEN_PER_TIME) {
		s->stats.seen_full++;
		return false;
	}
	e->key[e->n++] = id;
	return true;
}

enum mg_serf_verdict mg_serf_user_msg(struct mg_serf *s, const uint8_t *p,
				      size_t n)
{
	const uint8_t *node;
	uint32_t node_len;
	uint64_t ltime, id;

	if (!n || p[0] > MG_SERF_TYPE_MAX)
		return MG_SERF_NOT_SERF;
	switch (p[0]) {
	case MG_SERF_USER_EVENT:
		if (read_event(s, p + 1, n - 1, false, &ltime, &id))
			return MG_SERF_DONE;
		if (!seen_new(s, s->events, &s->clock.event, ltime, id,
			      &s->stats.events_old, &s->stats.events_seen))
			return MG_SERF_DONE;
		s->stats.events_new++;
		return MG_SERF_RELAY;
	case MG_SERF_QUERY:
		if (read_event(s, p + 1, n - 1, true, &ltime, &id))
			return MG_SERF_DONE;
		if (!seen_new(s, s->queries, &s->clock.query, ltime, id,
			      &s->stats.queries_old, &s->stats.queries_seen))
			return MG_SERF_DONE;
		s->stats.queries_new++;
		return MG_SERF_RELAY;
	case 5:		/* messageQueryResponseType */
		return MG_SERF_RESPONSE;
	case MG_SERF_TYPE_MAX:	/* messageRelayType */
		return MG_SERF_FORWARD;
	}
	if (read_intent(p + 1, n - 1, &ltime, &node, &node_len))
		return MG_SERF_DONE;
	switch (p[0]) {
	case MG_SERF_JOIN_INTENT:
		return join_intent(s, node, node_len, ltime);
	case MG_SERF_LEAVE_INTENT:
		return leave_intent(s, node, node_len, ltime);
	}
	return MG_SERF_DONE;
}

const struct mg_serf_stats *mg_serf_stats(const struct mg_serf *s)
{
	return &s->stats;
}

uint64_t mg_serf_query_time(struct mg_serf *s, uint32_t id)
{
	uint64_t t = s->clock.query, old = 0, dup = 0;

	seen_new(s, s->queries, &s->clock.query, t, id, &old, &dup);
	return t;
}

int mg_serf_push_pull_encode(struct mg_serf *s,
			     bool (*left_fn)(void *ctx, const char *name),
			     void *ctx, const uint8_t *extra, size_t extra_len,
			     struct mg_buf *out)
{
	unsigned int i, n_left = 0, n_status = 0;
	msgpack_packer pk;
	int err;

	for (i = 0; i < s->n_slot; i++) {
		n_status += s->slot[i].name && s->slot[i].set;
		n_left += s->slot[i].name && s->slot[i].set &&
			  s->slot[i].leaving && left_fn &&
			  left_fn(ctx, s->slot[i].name);
	}
	mg_mp_packer_init(&pk, out);
	/* go-msgpack's order: field names sorted */
	err = mg_buf_put_u8(out, MG_SERF_PUSH_PULL);
	err = err ?: msgpack_pack_map(&pk, extra ? 7 : 6);
	err = err ?: mg_mp_pack_cstr(&pk, "EventLTime");
	err = err ?: mg_mp_pack_uint(&pk, s->clock.event);
	err = err ?: mg_mp_pack_cstr(&pk, "Events");
	err = err ?: msgpack_pack_nil(&pk);
	err = err ?: mg_mp_pack_cstr(&pk, "LTime");
	err = err ?: mg_mp_pack_uint(&pk, s->clock.ltime);
	err = err ?: mg_mp_pack_cstr(&pk, "LeftMembers");
	err = err ?: msgpack_pack_array(&pk, n_left);
	for (i = 0; !err && n_left && i < s->n_slot; i++)
		if (s->slot[i].name && s->slot[i].set &&
		    s->slot[i].leaving && left_fn(ctx, s->slot[i].name))
			err = mg_mp_pack_cstr(&pk, s->slot[i].name);
	if (extra) {
		err = err ?: mg_mp_pack_cstr(&pk, MG_SERF_PP_EXTRA);
		err = err ?: mg_mp_pack_raw(&pk, extra, extra_len);
	}
	err = err ?: mg_mp_pack_cstr(&pk, "QueryLTime");
	err = err ?: mg_mp_pack_uint(&pk, s->clock.query);
	err = err ?: mg_mp_pack_cstr(&pk, "StatusLTimes");
	err = err ?: msgpack_pack_map(&pk, n_status);
	for (i = 0; !err && i < s->n_slot; i++)
		if (s->slot[i].name && s->slot[i].set) {
			err = mg_mp_pack_cstr(&pk, s->slot[i].name);
			err = err ?: mg_mp_pack_uint(&pk, s->slot[i].ltime);
		}
	return err ? -ENOMEM : 0;
}

/* StatusLTimes[name] of a remote push/pull, 0 when absent. */
static uint64_t status_of(const uint8_t *map, size_t len, const uint8_t *name,
			  uint32_t name_len)
{
	struct mg_mp_rd rd;
	uint32_t count, klen, i;
	const uint8_t *key;
	uint64_t v;

	mg_mp_rd_init(&rd, map, len);
	if (mg_mp_read_map(&rd, &count))
		return 0;
	for (i = 0; i < count; i++) {
		if (mg_mp_read_str(&rd, &key, &klen) ||
		    mg_mp_read_uint(&rd, UINT64_MAX, &v))
			return 0;
		if (klen == name_len && !memcmp(key, name, klen))
			return v;
	}
	return 0;
}

static bool in_list(const uint8_t *list, size_t len, const uint8_t *name,
		    uint32_t name_len)
{
	struct mg_mp_rd rd;
	uint32_t count, klen, i;
	const uint8_t *s;

	mg_mp_rd_init(&rd, list, len);
	if (mg_mp_read_array(&rd, &count))
		return false;
	for (i = 0; i < count && i < LEFT_MAX; i++) {
		if (mg_mp_read_str(&rd, &s, &klen))
			return false;
		if (klen == name_len && !memcmp(s, name, klen))
			return true;
	}
	return false;
}

/* A push/pull's map; LeftMembers and StatusLTimes kept encoded. */
struct serf_pp {
	uint64_t ltime, event, query;
	const uint8_t *extra, *status, *left;
	uint32_t extra_len;
	size_t status_len, left_len;
};

static const struct mg_mp_field pp_fields[] = {
	MG_MP_FIELD_UINT(struct serf_pp, "LTime", ltime, UINT64_MAX),
	MG_MP_FIELD_UINT(struct serf_pp, "EventLTime", event, UINT64_MAX),
	MG_MP_FIELD_UINT(struct serf_pp, "QueryLTime", query, UINT64_MAX),
	MG_MP_FIELD_BYTES(struct serf_pp, MG_SERF_PP_EXTRA, extra, extra_len),
	MG_MP_FIELD_RAW(struct serf_pp, "StatusLTimes", status, status_len),
	MG_MP_FIELD_RAW(struct serf_pp, "LeftMembers", left, left_len),
};

int mg_serf_push_pull_merge(struct mg_serf *s, const uint8_t *p, size_t n,
			    const uint8_t **extra, size_t *extra_len)
{
	const uint8_t *status, *left, *name;
	size_t status_len, left_len;
	int verdict = MG_SERF_DONE;
	struct serf_pp pp = { 0 };
	uint32_t count, i, klen;
	struct mg_mp_rd rd;
	uint64_t v;

	*extra = NULL;
	*extra_len = 0;
	if (!n || p[0] != MG_SERF_PUSH_PULL)
		return MG_SERF_NOT_SERF;
	/* first the whole map: LeftMembers needs StatusLTimes */
	mg_mp_rd_init(&rd, p + 1, n - 1);
	if (mg_mp_read_fields(&rd, pp_fields, MG_MP_NFIELDS(pp_fields), &pp))
		return -EBADMSG;
	*extra = pp.extra;
	*extra_len = pp.extra_len;
	status = pp.status;
	status_len = pp.status_len;
	left = pp.left;
	left_len = pp.left_len;
	/* no message with these times has been sent yet: witness t - 1 */
	if (pp.ltime)
		witness(&s->clock.ltime, pp.ltime - 1);
	if (pp.event)
		witness(&s->clock.event, pp.event - 1);
	if (pp.query)
		witness(&s->clock.query, pp.query - 1);
	/* left members first, one past their status time */
	if (left) {
		mg_mp_rd_init(&rd, left, left_len);
		mg_mp_read_array(&rd, &count);
		for (i = 0; i < count && i < LEFT_MAX; i++) {
			if (mg_mp_read_str(&rd, &name, &klen))
				break;
			v = status ? status_of(status, status_len, name, klen) : 0;
			if (leave_intent(s, name, klen, v + 1) == MG_SERF_REFUTE)
				verdict = MG_SERF_REFUTE;
		}
	}
	if (status) {
		mg_mp_rd_init(&rd, status, status_len);
		mg_mp_read_map(&rd, &count);
		for (i = 0; i < count; i++) {
			if (mg_mp_read_str(&rd, &name, &klen) ||
			    mg_mp_read_uint(&rd, UINT64_MAX, &v))
				break;
			if (left && in_list(left, left_len, name, klen))
				continue;
			/*
			 * A status time of ours newer than our own is an
			 * intent about us we missed: a join of an earlier
			 * run, or a leave the sender holds us "leaving" by
			 * (a leaving member is not in LeftMembers).  Taken
			 * as a join, it would make us ignore that leave when
			 * it comes: refute it instead.
			 */
			if (is_self(s, name, klen)) {
				if (v > self_ltime(s) && !s->leaving)
					verdict = MG_SERF_REFUTE;
				witness(&s->clock.ltime, v);
				continue;
			}
			join_intent(s, name, klen, v);
		}
	}
	return verdict;
}

unsigned int mg_serf_prune(struct mg_serf *s,
			   bool (*keep)(void *ctx, const char *name), void *ctx)
{
	struct intent *kept = calloc(s->n ? s->n : 1, sizeof(*kept));
	unsigned int i, n = 0, gone = 0;

	if (!kept)
		return 0;
	/* open addressing: take the kept ones out, put them back */
	for (i = 0; i < s->n_slot; i++) {
		struct intent *e = &s->slot[i];

		if (!e->name)
			continue;
		if (is_self(s, (const uint8_t *)e->name, strlen(e->name)) ||
		    keep(ctx, e->name))
			kept[n++] = *e;
		else {
			free(e->name);
			gone++;
		}
		memset(e, 0, sizeof(*e));
	}
	s->n = 0;
	reinsert(s, kept, n);
	free(kept);
	return gone;
}

int mg_serf_member(const struct mg_serf *s, const char *name, uint64_t *ltime,
		   bool *leaving)
{
	struct intent *e = lookup((struct mg_serf *)s, (const uint8_t *)name,
				  strlen(name), false);

	if (!e)
		return -ENOENT;
	*ltime = e->ltime;
	*leaving = e->leaving;
	return 0;
}

/* --- a bare status clock (tests/bench/mgpeer) ------------------------------ */

static void witness_ltime(uint64_t *ltime, const uint8_t *b, size_t n)
{
	const uint8_t *node;
	uint32_t node_len;
	uint64_t v;

	if (!read_intent(b, n, &v, &node, &node_len) && v > *ltime)
		*ltime = v;
}

void mg_serf_witness_user(uint64_t *ltime, const uint8_t *p, size_t n)
{
	if (n > 1 && (p[0] == MG_SERF_LEAVE_INTENT ||
		      p[0] == MG_SERF_JOIN_INTENT))
		witness_ltime(ltime, p + 1, n - 1);
}

void mg_serf_witness_state(uint64_t *ltime, const uint8_t *p, size_t n)
{
	if (n > 1 && p[0] == MG_SERF_PUSH_PULL)
		witness_ltime(ltime, p + 1, n - 1);
}

int mg_serf_leave_intent_encode(const char *name, uint64_t *ltime,
				struct mg_buf *out)
{
	return intent_encode(MG_SERF_LEAVE_INTENT, name, ++*ltime, out);
}

int mg_serf_leave_intent(struct mg_member *m, const char *name,
			 uint64_t *ltime)
{
	struct mg_buf b = { 0 };
	int err;

	err = mg_serf_leave_intent_encode(name, ltime, &b);
	err = err ?: mg_member_user_broadcast(m, b.data, b.len);
	mg_buf_free(&b);
	return err;
}
