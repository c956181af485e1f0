// SPDX-License-Identifier: GPL-2.0-only
/*
 * serf's member layer (serf/serf.h) against serf 0.9.4's rules: Lamport
 * clocks, join and leave intents (relayed once, refuted about ourselves),
 * push/pull state as serf encodes and merges it, our own state beside it,
 * user events and queries relayed once by serf's Lamport buffers, serf's
 * query, response and key query messages, and hostile bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/msgpack.h"
#include "serf/serf.h"
#include "serf/serfquery.h"

/* An intent as serf sends it: type byte, then {LTime, Node[, Prune]}. */
static void intent(struct mg_buf *b, uint8_t type, const char *node,
		   uint64_t ltime)
{
	msgpack_packer pk;

	mg_buf_reset(b);
	mg_mp_packer_init(&pk, b);
	assert_int_equal(mg_buf_put_u8(b, type), 0);
	msgpack_pack_map(&pk, type == MG_SERF_LEAVE_INTENT ? 3 : 2);
	mg_mp_pack_cstr(&pk, "LTime");
	mg_mp_pack_uint(&pk, ltime);
	mg_mp_pack_cstr(&pk, "Node");
	mg_mp_pack_cstr(&pk, node);
	if (type == MG_SERF_LEAVE_INTENT) {
		mg_mp_pack_cstr(&pk, "Prune");
		mg_mp_pack_bool(&pk, false);
	}
}

static void test_intents(void **state)
{
	static const struct {
		uint8_t type;
		const char *node;
		uint64_t ltime;
		enum mg_serf_verdict want;
		bool leaving;		/* the member's status after it */
		uint64_t status;	/* ... and its status time */
	} rows[] = {
		/* an unknown member's first intent is new: relayed */
		{ MG_SERF_JOIN_INTENT, "s1", 5, MG_SERF_RELAY, false, 5 },
		/* the same again, or older: not */
		{ MG_SERF_JOIN_INTENT, "s1", 5, MG_SERF_DONE, false, 5 },
		{ MG_SERF_LEAVE_INTENT, "s1", 4, MG_SERF_DONE, false, 5 },
		/* a newer leave: leaving */
		{ MG_SERF_LEAVE_INTENT, "s1", 9, MG_SERF_RELAY, true, 9 },
		{ MG_SERF_LEAVE_INTENT, "s1", 9, MG_SERF_DONE, true, 9 },
		/* back: a join newer than the leave */
		{ MG_SERF_JOIN_INTENT, "s1", 10, MG_SERF_RELAY, false, 10 },
		/* a first intent at time 0 is new once, then not (no loop) */
		{ MG_SERF_JOIN_INTENT, "s2", 0, MG_SERF_RELAY, false, 0 },
		{ MG_SERF_JOIN_INTENT, "s2", 0, MG_SERF_DONE, false, 0 },
		/* a leave about us while we are alive: refuted, not applied */
		{ MG_SERF_LEAVE_INTENT, "gw", 50, MG_SERF_REFUTE, false, 1 },
		/* a join about us newer than ours is taken */
		{ MG_SERF_JOIN_INTENT, "gw", 60, MG_SERF_RELAY, false, 60 },
		/* a leave at the same time as our join: refuted (a tie) */
		{ MG_SERF_LEAVE_INTENT, "gw", 60, MG_SERF_REFUTE, false, 60 },
		/* an older one is old news */
		{ MG_SERF_LEAVE_INTENT, "gw", 59, MG_SERF_DONE, false, 60 },
	};
	struct mg_serf *s = mg_serf_new("gw");
	struct mg_serf_clock c;
	struct mg_buf b = { 0 };
	uint64_t t;
	bool leaving;
	size_t i;

	assert_non_null(s);
	/* our own join at the clock's time: 1 after a witnessed 0 */
	c = (struct mg_serf_clock){ 0, 0, 0 };
	mg_serf_clock_witness(s, &c);
	assert_int_equal(mg_serf_join_msg(s, &b), 0);
	assert_int_equal(mg_serf_member(s, "gw", &t, &leaving), 0);
	assert_int_equal(t, 1);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		intent(&b, rows[i].type, rows[i].node, rows[i].ltime);
		assert_int_equal(mg_serf_user_msg(s, b.data, b.len),
				 rows[i].want);
		assert_int_equal(mg_serf_member(s, rows[i].node, &t, &leaving),
				 0);
		assert_int_equal(leaving, rows[i].leaving);
		assert_int_equal(t, rows[i].status);
	}
	/* every intent moved the clock past its time */
	mg_serf_clock_get(s, &c);
	assert_int_equal(c.ltime, 61);
	mg_buf_free(&b);
	mg_serf_free(s);
}

/* Our join and leave intents: serf's bytes, serf's clock rules. */
static void test_own_intents(void **state)
{
	static const uint8_t join7[] = {
		MG_SERF_JOIN_INTENT, 0x82, 0xa5, 'L', 'T', 'i', 'm', 'e', 7,
		0xa4, 'N', 'o', 'd', 'e', 0xa2, 'g', 'w',
	};
	static const uint8_t leave8[] = {
		MG_SERF_LEAVE_INTENT, 0x83, 0xa5, 'L', 'T', 'i', 'm', 'e', 8,
		0xa4, 'N', 'o', 'd', 'e', 0xa2, 'g', 'w',
		0xa5, 'P', 'r', 'u', 'n', 'e', 0xc2,
	};
	struct mg_serf_clock c = { 6, 3, 4 };	/* saved by the last run */
	struct mg_serf *s = mg_serf_new("gw");
	struct mg_buf b = { 0 };

	mg_serf_clock_witness(s, &c);
	mg_serf_clock_get(s, &c);
	assert_int_equal(c.ltime, 7);
	assert_int_equal(c.event, 4);
	assert_int_equal(c.query, 5);
	/* broadcastJoin(clock.Time()), then the clock witnesses it */
	assert_int_equal(mg_serf_join_msg(s, &b), 0);
	assert_int_equal(b.len, sizeof(join7));
	assert_memory_equal(b.data, join7, sizeof(join7));
	/* Leave(): the clock's time, then Increment() */
	mg_buf_reset(&b);
	assert_int_equal(mg_serf_leave_msg(s, &b), 0);
	assert_int_equal(b.len, sizeof(leave8));
	assert_memory_equal(b.data, leave8, sizeof(leave8));
	mg_serf_clock_get(s, &c);
	assert_int_equal(c.ltime, 9);
	/* leaving, a leave intent about us is no longer refuted */
	intent(&b, MG_SERF_LEAVE_INTENT, "gw", 12);
	assert_int_equal(mg_serf_user_msg(s, b.data, b.len), MG_SERF_RELAY);
	/* a restart from the saved clock joins after that leave */
	mg_serf_free(s);
	s = mg_serf_new("gw");
	mg_serf_clock_witness(s, &c);
	mg_buf_reset(&b);
	assert_int_equal(mg_serf_join_msg(s, &b), 0);
	assert_true(b.data[8] > 8);
	/* events and queries move their own clocks (and, new, are relayed) */
	{
		msgpack_packer pk;

		mg_buf_reset(&b);
		mg_mp_packer_init(&pk, &b);
		mg_buf_put_u8(&b, MG_SERF_USER_EVENT);
		msgpack_pack_map(&pk, 2);
		mg_mp_pack_cstr(&pk, "LTime");
		mg_mp_pack_uint(&pk, 40);
		mg_mp_pack_cstr(&pk, "Name");
		mg_mp_pack_cstr(&pk, "deploy");
		assert_int_equal(mg_serf_user_msg(s, b.data, b.len),
				 MG_SERF_RELAY);
		b.data[0] = MG_SERF_QUERY;
		assert_int_equal(mg_serf_user_msg(s, b.data, b.len),
				 MG_SERF_RELAY);
		mg_serf_clock_get(s, &c);
		assert_int_equal(c.event, 41);
		assert_int_equal(c.query, 41);
	}
	mg_buf_free(&b);
	mg_serf_free(s);
}

static bool left_s3(void *ctx, const char *name)
{
	return !strcmp(name, "s3");
}

static bool left_any(void *ctx, const char *name)
{
	return true;
}

/* Find @key in the top map of a push/pull; its value's offset or -1. */
static long pp_find(const struct mg_buf *b, const char *key)
{
	struct mg_mp_rd rd;
	uint32_t n, i, kl;
	const uint8_t *k;

	mg_mp_rd_init(&rd, b->data + 1, b->len - 1);
	assert_int_equal(mg_mp_read_map(&rd, &n), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(mg_mp_read_str(&rd, &k, &kl), 0);
		if (kl == strlen(key) && !memcmp(k, key, kl))
			return (long)rd.off;
		assert_int_equal(mg_mp_skip(&rd), 0);
	}
	return -1;
}

static void test_push_pull(void **state)
{
	static const uint8_t ours[] = { 0x47, 1, 2, 'g', 'w', 0x4d, 1, 3 };
	struct mg_serf *a = mg_serf_new("gw-a"), *b = mg_serf_new("gw-b");
	struct mg_serf_clock c = { 20, 7, 9 };
	struct mg_buf m = { 0 }, i = { 0 };
	const uint8_t *extra;
	size_t extra_len;
	uint64_t t;
	bool leaving;

	mg_serf_clock_witness(a, &c);
	assert_int_equal(mg_serf_join_msg(a, &m), 0);		/* gw-a at 21 */
	intent(&i, MG_SERF_JOIN_INTENT, "s1", 3);
	mg_serf_user_msg(a, i.data, i.len);
	intent(&i, MG_SERF_JOIN_INTENT, "s3", 4);
	mg_serf_user_msg(a, i.data, i.len);
	intent(&i, MG_SERF_LEAVE_INTENT, "s3", 5);
	mg_serf_user_msg(a, i.data, i.len);
	mg_buf_reset(&m);
	assert_int_equal(mg_serf_push_pull_encode(a, left_s3, NULL, ours,
						  sizeof(ours), &m), 0);
	/* serf's message, every field of messagePushPull there */
	assert_int_equal(m.data[0], MG_SERF_PUSH_PULL);
	assert_true(pp_find(&m, "LTime") > 0);
	assert_true(pp_find(&m, "StatusLTimes") > 0);
	assert_true(pp_find(&m, "LeftMembers") > 0);
	assert_true(pp_find(&m, "EventLTime") > 0);
	assert_true(pp_find(&m, "Events") > 0);
	assert_true(pp_find(&m, "QueryLTime") > 0);
	assert_true(pp_find(&m, MG_SERF_PP_EXTRA) > 0);

	/* merged as serf merges it */
	assert_int_equal(mg_serf_push_pull_merge(b, m.data, m.len, &extra,
						 &extra_len), MG_SERF_DONE);
	assert_int_equal(extra_len, sizeof(ours));
	assert_memory_equal(extra, ours, sizeof(ours));
	mg_serf_clock_get(b, &c);
	/* a's clocks are 22, 8, 10: b witnessed each - 1 */
	assert_int_equal(c.ltime, 22);
	assert_int_equal(c.event, 8);
	assert_int_equal(c.query, 10);
	assert_int_equal(mg_serf_member(b, "gw-a", &t, &leaving), 0);
	assert_int_equal(t, 21);
	assert_false(leaving);
	assert_int_equal(mg_serf_member(b, "s1", &t, &leaving), 0);
	assert_int_equal(t, 3);
	/* a left member: a leave one past its status time */
	assert_int_equal(mg_serf_member(b, "s3", &t, &leaving), 0);
	assert_int_equal(t, 6);
	assert_true(leaving);

	/*
	 * a holds a leave about b at 30: as "leaving" (a status time newer
	 * than b's own) or as left (LeftMembers): b refutes either way
	 */
	intent(&i, MG_SERF_LEAVE_INTENT, "gw-b", 30);
	mg_serf_user_msg(a, i.data, i.len);
	mg_buf_reset(&m);
	assert_int_equal(mg_serf_push_pull_encode(a, NULL, NULL, NULL, 0, &m),
			 0);
	assert_int_equal(pp_find(&m, MG_SERF_PP_EXTRA), -1);
	assert_int_equal(mg_serf_push_pull_merge(b, m.data, m.len, &extra,
						 &extra_len), MG_SERF_REFUTE);
	assert_null(extra);
	/* refuted, b's join is newer: the same state is old news */
	mg_buf_reset(&i);
	assert_int_equal(mg_serf_join_msg(b, &i), 0);
	assert_int_equal(mg_serf_push_pull_merge(b, m.data, m.len, &extra,
						 &extra_len), MG_SERF_DONE);
	mg_buf_reset(&m);
	intent(&i, MG_SERF_LEAVE_INTENT, "gw-b", 90);
	mg_serf_user_msg(a, i.data, i.len);
	assert_int_equal(mg_serf_push_pull_encode(a, left_any, NULL, NULL, 0,
						  &m), 0);
	assert_int_equal(mg_serf_push_pull_merge(b, m.data, m.len, &extra,
						 &extra_len), MG_SERF_REFUTE);
	mg_buf_free(&m);
	mg_buf_free(&i);
	mg_serf_free(a);
	mg_serf_free(b);
}

/* A push/pull as serf 0.9.4 sends it (keys sorted, 512 Events). */
static void test_serf_push_pull(void **state)
{
	struct mg_serf *s = mg_serf_new("gw");
	struct mg_buf m = { 0 };
	const uint8_t *extra;
	size_t extra_len;
	msgpack_packer pk;
	uint64_t t;
	bool leaving;

	mg_mp_packer_init(&pk, &m);
	mg_buf_put_u8(&m, MG_SERF_PUSH_PULL);
	msgpack_pack_map(&pk, 6);
	mg_mp_pack_cstr(&pk, "EventLTime");
	mg_mp_pack_uint(&pk, 3);
	mg_mp_pack_cstr(&pk, "Events");
	msgpack_pack_array(&pk, 512);
	for (int i = 0; i < 512; i++)
		msgpack_pack_nil(&pk);
	mg_mp_pack_cstr(&pk, "LTime");
	mg_mp_pack_uint(&pk, 12);
	mg_mp_pack_cstr(&pk, "LeftMembers");
	msgpack_pack_array(&pk, 1);
	mg_mp_pack_cstr(&pk, "gw");
	mg_mp_pack_cstr(&pk, "QueryLTime");
	mg_mp_pack_uint(&pk, 1);
	mg_mp_pack_cstr(&pk, "StatusLTimes");
	msgpack_pack_map(&pk, 2);
	mg_mp_pack_cstr(&pk, "s1");
	mg_mp_pack_uint(&pk, 2);
	mg_mp_pack_cstr(&pk, "gw");
	mg_mp_pack_uint(&pk, 10);
	/* it lists us as left (our last run's leave): refute */
	assert_int_equal(mg_serf_push_pull_merge(s, m.data, m.len, &extra,
						 &extra_len), MG_SERF_REFUTE);
	assert_null(extra);
	assert_int_equal(mg_serf_member(s, "s1", &t, &leaving), 0);
	assert_int_equal(t, 2);
	/* the join that refutes it is newer than the leave (11) */
	mg_buf_reset(&m);
	assert_int_equal(mg_serf_join_msg(s, &m), 0);
	assert_int_equal(mg_serf_member(s, "gw", &t, &leaving), 0);
	assert_true(t > 11);
	assert_false(leaving);
	mg_buf_free(&m);
	mg_serf_free(s);
}

static bool keep_odd(void *ctx, const char *name)
{
	return (name[1] - '0') % 2;
}

/* Forgetting non-members keeps the rest findable, with their times. */
static void test_prune(void **state)
{
	struct mg_serf *s = mg_serf_new("gw");
	struct mg_buf b = { 0 };
	uint64_t t;
	bool leaving;
	char name[4];
	int i;

	assert_int_equal(mg_serf_join_msg(s, &b), 0);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		intent(&b, i == 3 ? MG_SERF_LEAVE_INTENT : MG_SERF_JOIN_INTENT,
		       name, 10 + i);
		assert_int_equal(mg_serf_user_msg(s, b.data, b.len),
				 MG_SERF_RELAY);
	}
	assert_int_equal(mg_serf_prune(s, keep_odd, NULL), 5);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		if (i % 2) {
			assert_int_equal(mg_serf_member(s, name, &t, &leaving),
					 0);
			assert_int_equal(t, 10 + i);
			assert_int_equal(leaving, i == 3);
		} else {
			assert_int_equal(mg_serf_member(s, name, &t, &leaving),
					 -ENOENT);
		}
	}
	/* ourselves stay; a forgotten name's intent is new again */
	assert_int_equal(mg_serf_member(s, "gw", &t, &leaving), 0);
	intent(&b, MG_SERF_JOIN_INTENT, "m2", 12);
	assert_int_equal(mg_serf_user_msg(s, b.data, b.len), MG_SERF_RELAY);
	intent(&b, MG_SERF_JOIN_INTENT, "m3", 13);
	assert_int_equal(mg_serf_user_msg(s, b.data, b.len), MG_SERF_DONE);
	mg_buf_free(&b);
	mg_serf_free(s);
}

static void test_hostile(void **state)
{
	struct mg_serf *s = mg_serf_new("gw");
	struct mg_buf m = { 0 }, pp = { 0 };
	const uint8_t *extra;
	size_t extra_len, i;

	/* not serf's: our own envelope (0x47), empty */
	assert_int_equal(mg_serf_user_msg(s, (const uint8_t *)"G\1", 2),
			 MG_SERF_NOT_SERF);
	assert_int_equal(mg_serf_user_msg(s, NULL, 0), MG_SERF_NOT_SERF);
	assert_int_equal(mg_serf_push_pull_merge(s, (const uint8_t *)"G", 1,
						 &extra, &extra_len),
			 MG_SERF_NOT_SERF);
	/* every truncation of an intent and of a push/pull */
	intent(&m, MG_SERF_JOIN_INTENT, "s1", 9);
	for (i = 1; i < m.len; i++)
		assert_int_equal(mg_serf_user_msg(s, m.data, i), MG_SERF_DONE);
	assert_int_equal(mg_serf_member(s, "s1", &(uint64_t){ 0 },
					&(bool){ 0 }), -ENOENT);
	assert_int_equal(mg_serf_push_pull_encode(s, NULL, NULL,
						  (const uint8_t *)"xy", 2,
						  &pp), 0);
	for (i = 2; i < pp.len; i++)
		assert_int_equal(mg_serf_push_pull_merge(s, pp.data, i, &extra,
							 &extra_len),
				 -EBADMSG);
	/* a name longer than memberlist allows is not remembered */
	{
		char big[300];

		memset(big, 'n', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		intent(&m, MG_SERF_JOIN_INTENT, big, 3);
		assert_int_equal(mg_serf_user_msg(s, m.data, m.len),
				 MG_SERF_DONE);
	}
	/* the table is bounded */
	for (i = 0; i < MG_SERF_MEMBERS_MAX + 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "m%zu", i);
		intent(&m, MG_SERF_JOIN_INTENT, name, 1);
		assert_int_equal(mg_serf_user_msg(s, m.data, m.len),
				 i < MG_SERF_MEMBERS_MAX ? MG_SERF_RELAY :
							   MG_SERF_DONE);
	}
	mg_buf_free(&m);
	mg_buf_free(&pp);
	mg_serf_free(s);
}


/* A user event as serf sends it: {LTime, Name, Payload, CC}. */
static void user_event(struct mg_buf *b, uint64_t ltime, const char *name,
		       const char *payload)
{
	msgpack_packer pk;

	mg_buf_reset(b);
	mg_mp_packer_init(&pk, b);
	assert_int_equal(mg_buf_put_u8(b, MG_SERF_USER_EVENT), 0);
	msgpack_pack_map(&pk, 4);
	mg_mp_pack_cstr(&pk, "LTime");
	mg_mp_pack_uint(&pk, ltime);
	mg_mp_pack_cstr(&pk, "Name");
	mg_mp_pack_cstr(&pk, name);
	mg_mp_pack_cstr(&pk, "Payload");
	mg_mp_pack_cstr(&pk, payload);
	mg_mp_pack_cstr(&pk, "CC");
	mg_mp_pack_bool(&pk, true);
}

static void query_msg(struct mg_buf *b, uint64_t ltime, uint32_t id,
		      const char *name, uint32_t flags)
{
	static const uint8_t addr[4] = { 192, 168, 200, 201 };
	struct mg_serf_query q = {
		.ltime = ltime, .id = id, .addr = addr, .addr_len = 4,
		.port = 7946, .source = (const uint8_t *)"s1", .source_len = 2,
		.flags = flags, .timeout_ns = 3200000000ll,
		.name = (const uint8_t *)name, .name_len = strlen(name),
		.payload = (const uint8_t *)"", .payload_len = 0,
	};

	mg_buf_reset(b);
	assert_int_equal(mg_serf_query_encode(&q, b), 0);
}

static void test_events_queries(void **state)
{
	static const struct {
		bool query;
		uint64_t ltime;
		const char *name;	/* event: its name; query: its name */
		const char *payload;	/* event only */
		uint32_t id;		/* query only */
		enum mg_serf_verdict want;
	} rows[] = {
		/* new: relayed once */
		{ false, 10, "deploy", "v1", 0, MG_SERF_RELAY },
		{ false, 10, "deploy", "v1", 0, MG_SERF_DONE },
		/* same time, another payload or name: another event */
		{ false, 10, "deploy", "v2", 0, MG_SERF_RELAY },
		{ false, 10, "restart", "v1", 0, MG_SERF_RELAY },
		/* the same event at another time: new */
		{ false, 11, "deploy", "v1", 0, MG_SERF_RELAY },
		/* queries: by ID within a time */
		{ true, 7, "_serf_list-keys", NULL, 42, MG_SERF_RELAY },
		{ true, 7, "_serf_list-keys", NULL, 42, MG_SERF_DONE },
		{ true, 7, "_serf_list-keys", NULL, 43, MG_SERF_RELAY },
		/* far ahead: the clock moves ... */
		{ false, 2000, "late", "x", 0, MG_SERF_RELAY },
		{ true, 2000, "q", NULL, 1, MG_SERF_RELAY },
		/* ... and what is older than the buffer (512) is ignored */
		{ false, 1400, "deploy", "v9", 0, MG_SERF_DONE },
		{ true, 1000, "q", NULL, 2, MG_SERF_DONE },
		/* within the buffer: still new */
		{ false, 1600, "deploy", "v9", 0, MG_SERF_RELAY },
		/* the buffer slot of 1600 reused by 2112 (1600 + 512) */
		{ false, 2112, "deploy", "v9", 0, MG_SERF_RELAY },
	};
	struct mg_serf *s = mg_serf_new("gw1");
	const struct mg_serf_stats *st;
	struct mg_serf_clock c;
	struct mg_buf m = { 0 };
	unsigned int i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].query)
			query_msg(&m, rows[i].ltime, rows[i].id, rows[i].name,
				  0);
		else
			user_event(&m, rows[i].ltime, rows[i].name,
				   rows[i].payload);
		if (mg_serf_user_msg(s, m.data, m.len) != rows[i].want)
			fail_msg("row %u: %s at %llu", i, rows[i].name,
				 (unsigned long long)rows[i].ltime);
	}
	/* serf's Witness: the next times are past what was seen */
	mg_serf_clock_get(s, &c);
	assert_int_equal(c.event, 2113);
	assert_int_equal(c.query, 2001);
	st = mg_serf_stats(s);
	assert_int_equal(st->events_old, 1);
	assert_int_equal(st->queries_old, 1);
	assert_int_equal(st->events_seen, 1);
	assert_int_equal(st->queries_seen, 1);

	/* at most MG_SERF_SEEN_PER_TIME per time: the next is counted */
	for (i = 0; i <= MG_SERF_SEEN_PER_TIME; i++) {
		char name[16];

		snprintf(name, sizeof(name), "e%u", i);
		user_event(&m, 2100, name, "");
		assert_int_equal(mg_serf_user_msg(s, m.data, m.len),
				 i < MG_SERF_SEEN_PER_TIME ? MG_SERF_RELAY :
							     MG_SERF_DONE);
	}
	assert_int_equal(mg_serf_stats(s)->seen_full, 1);

	/* our own query: at the clock's time, then not relayed back */
	{
		uint64_t t = mg_serf_query_time(s, 77);

		assert_int_equal(t, 2001);
		query_msg(&m, t, 77, "_serf_install-key", 0);
		assert_int_equal(mg_serf_user_msg(s, m.data, m.len),
				 MG_SERF_DONE);
		mg_serf_clock_get(s, &c);
		assert_int_equal(c.query, 2002);
	}
	/* a relayed message is to be forwarded */
	{
		uint8_t relay[] = { MG_SERF_TYPE_MAX, 0x80, 0x05 };

		assert_int_equal(mg_serf_user_msg(s, relay, sizeof(relay)),
				 MG_SERF_FORWARD);
	}
	/* a response is the caller's */
	{
		struct mg_serf_response r = { .ltime = 5, .id = 9,
					      .from = (const uint8_t *)"s1",
					      .from_len = 2 };

		mg_buf_reset(&m);
		assert_int_equal(mg_serf_response_encode(&r, &m), 0);
		assert_int_equal(mg_serf_user_msg(s, m.data, m.len),
				 MG_SERF_RESPONSE);
	}
	mg_buf_free(&m);
	mg_serf_free(s);
}

static void keys_cb(void *ctx, const uint8_t *b64, uint32_t len,
		    bool primary)
{
	char *out = ctx;

	strncat(out, primary ? "P:" : "K:", 3);
	strncat(out, (const char *)b64, len);
	strcat(out, ";");
}

static void test_query_codecs(void **state)
{
	/* serf's field order (messageQuery), Filters an array, an extra key */
	static const struct {
		const char *name;
		const char *verb;	/* mg_serf_key_query */
	} names[] = {
		{ "_serf_install-key", "install-key" },
		{ "_serf_use-key", "use-key" },
		{ "_serf_remove-key", "remove-key" },
		{ "_serf_list-keys", "list-keys" },
		{ "_serf_ping", NULL },
		{ "_serf_conflict", NULL },
		{ "deploy", NULL },
		{ "_serf_install-keys", NULL },
		{ "_serf_", NULL },
	};
	struct mg_key key = { .len = 16 }, k2 = { .len = 32 }, got;
	struct mg_serf_query q;
	struct mg_serf_response r;
	struct mg_buf m = { 0 }, p = { 0 };
	msgpack_packer pk;
	char msg[64], keys[512];
	unsigned int i;
	bool ok;

	(void)state;
	for (i = 0; i < 16; i++)
		key.b[i] = i;
	for (i = 0; i < 32; i++)
		k2.b[i] = 0xff - i;

	/* a query as serf encodes it */
	mg_mp_packer_init(&pk, &m);
	mg_buf_put_u8(&m, MG_SERF_QUERY);
	msgpack_pack_map(&pk, 12);
	mg_mp_pack_cstr(&pk, "LTime");
	mg_mp_pack_uint(&pk, 300);
	mg_mp_pack_cstr(&pk, "ID");
	mg_mp_pack_uint(&pk, 0x7fffffff);
	mg_mp_pack_cstr(&pk, "Addr");
	mg_mp_pack_raw(&pk, "\xc0\xa8\xc8\xc9", 4);
	mg_mp_pack_cstr(&pk, "Port");
	mg_mp_pack_uint(&pk, 7946);
	mg_mp_pack_cstr(&pk, "SourceNode");
	mg_mp_pack_cstr(&pk, "s1");
	mg_mp_pack_cstr(&pk, "Filters");
	msgpack_pack_array(&pk, 1);
	mg_mp_pack_raw(&pk, "\x00\x91\xa2gw", 5);
	mg_mp_pack_cstr(&pk, "Flags");
	mg_mp_pack_uint(&pk, MG_SERF_QFLAG_ACK);
	mg_mp_pack_cstr(&pk, "RelayFactor");
	mg_mp_pack_uint(&pk, 2);
	mg_mp_pack_cstr(&pk, "Timeout");
	mg_mp_pack_uint(&pk, 3200000000ull);
	mg_mp_pack_cstr(&pk, "Name");
	mg_mp_pack_cstr(&pk, "_serf_install-key");
	mg_mp_pack_cstr(&pk, "Payload");
	assert_int_equal(mg_serf_key_request_encode(&key, &p), 0);
	mg_mp_pack_raw(&pk, p.data, p.len);
	mg_mp_pack_cstr(&pk, "Future");		/* a later serf's field */
	msgpack_pack_map(&pk, 0);
	assert_int_equal(mg_serf_query_decode(m.data, m.len, &q), 0);
	assert_int_equal(q.ltime, 300);
	assert_int_equal(q.id, 0x7fffffff);
	assert_int_equal(q.addr_len, 4);
	assert_memory_equal(q.addr, "\xc0\xa8\xc8\xc9", 4);
	assert_int_equal(q.port, 7946);
	assert_int_equal(q.source_len, 2);
	assert_int_equal(q.n_filters, 1);
	assert_int_equal(q.flags, MG_SERF_QFLAG_ACK);
	assert_int_equal(q.relay_factor, 2);
	assert_true(q.timeout_ns == 3200000000ll);
	assert_string_equal(mg_serf_key_query(&q), "install-key");
	assert_int_equal(mg_serf_key_request_decode(q.payload, q.payload_len,
						    &got), 0);
	assert_int_equal(got.len, 16);
	assert_memory_equal(got.b, key.b, 16);
	/* the node filter names "gw", not "gw1" */
	assert_true(mg_serf_query_for(&q, "gw"));
	assert_false(mg_serf_query_for(&q, "gw1"));
	/* every truncation of it is refused */
	for (i = 0; i < m.len; i++)
		assert_int_equal(mg_serf_query_decode(m.data, i, &q), -EBADMSG);

	/* our encoding reads back */
	mg_serf_query_decode(m.data, m.len, &q);
	q.n_filters = 0;
	assert_true(mg_serf_query_for(&q, "gw1"));
	mg_buf_reset(&p);
	assert_int_equal(mg_serf_query_encode(&q, &p), 0);
	{
		struct mg_serf_query q2;

		assert_int_equal(mg_serf_query_decode(p.data, p.len, &q2), 0);
		assert_int_equal(q2.ltime, 300);
		assert_int_equal(q2.id, 0x7fffffff);
		assert_int_equal(q2.n_filters, 0);
		assert_int_equal(q2.payload_len, q.payload_len);
	}
	/* a query without a 4- or 16-byte address cannot be answered */
	{
		uint8_t bad[] = { 0x04, 0x81, 0xa4, 'A', 'd', 'd', 'r',
				  0xa1, 'x' };

		assert_int_equal(mg_serf_query_decode(bad, sizeof(bad), &q),
				 -EBADMSG);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		q.name = (const uint8_t *)names[i].name;
		q.name_len = strlen(names[i].name);
		if (names[i].verb)
			assert_string_equal(mg_serf_key_query(&q),
					    names[i].verb);
		else
			assert_null(mg_serf_key_query(&q));
	}
	/* key requests: a key of 16/24/32 bytes, nothing else */
	mg_buf_reset(&p);
	assert_int_equal(mg_serf_key_request_encode(NULL, &p), 0);
	assert_int_equal(mg_serf_key_request_decode(p.data, p.len, &got),
			 -EINVAL);
	assert_int_equal(mg_serf_key_request_decode((const uint8_t *)"\x08",
						    1, &got), -EBADMSG);

	/* nodeKeyResponse: list-keys' */
	{
		struct mg_key ring[2] = { key, k2 };
		struct mg_serf_key_result kr = {
			.result = true, .n_keys = 2, .keys = ring,
			.primary = &ring[1],
		};

		mg_buf_reset(&p);
		assert_int_equal(mg_serf_key_result_encode(&kr, &p), 0);
		assert_int_equal(p.data[0], MG_SERF_KEY_RESPONSE);
		keys[0] = 0;
		assert_int_equal(mg_serf_key_result_decode(p.data, p.len, &ok,
							   msg, sizeof(msg),
							   keys_cb, keys), 0);
		assert_true(ok);
		assert_string_equal(msg, "");
		assert_string_equal(keys,
			"K:AAECAwQFBgcICQoLDA0ODw==;"
			"K://79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=;"
			"P://79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=;");
	}
	/* ... and a refusal, with serf's message */
	{
		struct mg_serf_key_result kr = {
			.message = "Requested key is not in the keyring",
		};

		mg_buf_reset(&p);
		assert_int_equal(mg_serf_key_result_encode(&kr, &p), 0);
		keys[0] = 0;
		assert_int_equal(mg_serf_key_result_decode(p.data, p.len, &ok,
							   msg, sizeof(msg),
							   keys_cb, keys), 0);
		assert_false(ok);
		assert_string_equal(msg, "Requested key is not in the keyring");
		assert_string_equal(keys, "");
		for (i = 0; i < p.len; i++)
			assert_int_equal(mg_serf_key_result_decode(p.data, i,
					&ok, msg, sizeof(msg), NULL, NULL),
					 -EBADMSG);
	}
	/* the response around it */
	{
		struct mg_serf_response in = {
			.ltime = 301, .id = 5, .from = (const uint8_t *)"gw1",
			.from_len = 3, .payload = p.data,
			.payload_len = p.len,
		};

		mg_buf_reset(&m);
		assert_int_equal(mg_serf_response_encode(&in, &m), 0);
		assert_int_equal(mg_serf_response_decode(m.data, m.len, &r),
				 0);
		assert_int_equal(r.ltime, 301);
		assert_int_equal(r.id, 5);
		assert_int_equal(r.from_len, 3);
		assert_memory_equal(r.from, "gw1", 3);
		assert_int_equal(r.flags, 0);
		assert_int_equal(r.payload_len, p.len);
		assert_memory_equal(r.payload, p.data, p.len);
		for (i = 0; i < m.len; i++)
			assert_int_equal(mg_serf_response_decode(m.data, i,
								 &r),
					 -EBADMSG);
	}
	/* a relayed response: the header, then the message as it was */
	{
		const uint8_t *dest, *inner;
		uint32_t dest_len;
		size_t inner_len;
		struct mg_buf w = { 0 };

		assert_int_equal(mg_serf_relay_encode((const uint8_t *)"\xc0\xa8\xc8\xc9",
						      4, 7946,
						      (const uint8_t *)"s1", 2,
						      m.data, m.len, &w), 0);
		assert_int_equal(w.data[0], MG_SERF_RELAY_MSG);
		assert_int_equal(mg_serf_relay_decode(w.data, w.len, &dest,
						      &dest_len, &inner,
						      &inner_len), 0);
		assert_int_equal(dest_len, 2);
		assert_memory_equal(dest, "s1", 2);
		assert_int_equal(inner_len, m.len);
		assert_memory_equal(inner, m.data, m.len);
		/* without the message after the header: refused */
		assert_int_equal(mg_serf_relay_decode(w.data, w.len - m.len,
						      &dest, &dest_len, &inner,
						      &inner_len), -EBADMSG);
		for (i = 0; i < w.len - m.len; i++)
			assert_int_equal(mg_serf_relay_decode(w.data, i, &dest,
							      &dest_len,
							      &inner,
							      &inner_len),
					 -EBADMSG);
		mg_buf_free(&w);
	}
	mg_buf_free(&m);
	mg_buf_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intents),
		cmocka_unit_test(test_own_intents),
		cmocka_unit_test(test_push_pull),
		cmocka_unit_test(test_serf_push_pull),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_events_queries),
		cmocka_unit_test(test_query_codecs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
