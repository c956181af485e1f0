// SPDX-License-Identifier: GPL-2.0-only
/*
 * serf's member layer (gossip/serf.h) against serf 0.9.4's rules: Lamport
 * clocks, join and leave intents (relayed once, refuted about ourselves),
 * push/pull state as serf encodes and merges it, our own state beside it,
 * and hostile bytes.
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

#include "gossip/msgpack.h"
#include "gossip/serf.h"

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
	/* events and queries move their own clocks */
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
				 MG_SERF_DONE);
		b.data[0] = MG_SERF_QUERY;
		assert_int_equal(mg_serf_user_msg(s, b.data, b.len),
				 MG_SERF_DONE);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intents),
		cmocka_unit_test(test_own_intents),
		cmocka_unit_test(test_push_pull),
		cmocka_unit_test(test_serf_push_pull),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
