// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet and stream framing against the serf captures: every datagram and
 * stream decodes, every layer re-encodes to the captured bytes (messages,
 * compounds, CRCs and Go's LZW output), then the send side and hostile input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>

#include "gossip/lzw.h"
#include "gossip/tags.h"
#include "gossip/wire.h"
#include "lib/pcap.h"

struct tally {
	unsigned int type[256];		/* messages by type */
	unsigned int crc, compress, compound, exact;
};

/* Walk one framing layer by hand and check it re-encodes byte for byte. */
static void walk(const uint8_t *p, size_t n, struct tally *t)
{
	struct mg_buf re = { 0 }, inner = { 0 };
	struct mg_ml_compound *c;
	struct mg_bytes crc_inner;
	struct mg_ml_msg m;
	struct mg_mp_rd rd;
	unsigned int i;

	assert_true(n > 0);
	switch (p[0]) {
	case MG_ML_HAS_CRC:
		assert_int_equal(mg_ml_crc_verify(p, n, &crc_inner), 0);
		walk(crc_inner.data, crc_inner.len, t);
		assert_int_equal(mg_ml_crc_wrap(crc_inner.data, crc_inner.len,
						&re), 0);
		t->crc++;
		break;
	case MG_ML_COMPOUND:
		c = malloc(sizeof(*c));
		assert_int_equal(mg_ml_compound_split(p + 1, n - 1, c), 0);
		assert_int_equal(c->truncated, 0);
		for (i = 0; i < c->n; i++)
			walk(c->parts[i].data, c->parts[i].len, t);
		assert_int_equal(mg_ml_compound_build(c->parts, c->n, &re), 0);
		free(c);
		t->compound++;
		break;
	case MG_ML_COMPRESS:
		mg_mp_rd_init(&rd, p + 1, n - 1);
		assert_int_equal(mg_ml_compress_unwrap(&rd, 1 << 20, &inner), 0);
		assert_int_equal(rd.off, n - 1);
		walk(inner.data, inner.len, t);
		/* our LZW writer produces Go's bytes exactly */
		assert_int_equal(mg_ml_compress_wrap(inner.data, inner.len,
						     &re), 0);
		t->compress++;
		break;
	default:
		assert_int_equal(mg_ml_msg_decode(p, n, &m), 0);
		assert_int_equal(mg_ml_msg_encode(&m, &re), 0);
		t->type[p[0]]++;
		break;
	}
	assert_int_equal(re.len, n);
	assert_memory_equal(re.data, p, n);
	t->exact++;
	mg_buf_free(&re);
	mg_buf_free(&inner);
}

static int count_cb(void *ctx, const struct mg_ml_msg *m)
{
	struct tally *t = ctx;

	t->type[m->type]++;
	return 0;
}

/* Serf's push/pull user state: [2][messagePushPull]; count user events. */
static unsigned int serf_state_events(const struct mg_bytes *us)
{
	msgpack_unpacked u;
	size_t off = 0;
	unsigned int i, j, k, events = 0;
	msgpack_object_map *m;

	assert_true(us->len > 1);
	assert_int_equal(us->data[0], 2);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)us->data + 1,
					     us->len - 1, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, us->len - 1);	/* parses exactly */
	assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
	m = &u.data.via.map;
	for (i = 0; i < m->size; i++) {
		msgpack_object *key = &m->ptr[i].key, *val = &m->ptr[i].val;

		if (key->via.str.size != 6 || memcmp(key->via.str.ptr, "Events", 6))
			continue;
		assert_int_equal(val->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(val->via.array.size, 512);
		for (j = 0; j < val->via.array.size; j++) {
			msgpack_object *ue = &val->via.array.ptr[j];

			if (ue->type == MSGPACK_OBJECT_NIL)
				continue;
			assert_int_equal(ue->type, MSGPACK_OBJECT_MAP);
			for (k = 0; k < ue->via.map.size; k++)
				if (ue->via.map.ptr[k].key.via.str.size == 6 &&
				    ue->via.map.ptr[k].val.type ==
				    MSGPACK_OBJECT_ARRAY)
					events += ue->via.map.ptr[k].val.via.array.size;
		}
	}
	msgpack_unpacked_destroy(&u);
	return events;
}

/* Decode a stream, check it uses all bytes, and re-encode its payload. */
static void check_stream(const struct pcap_tcp_stream *ts,
			 const struct mg_ml_opts *o, struct mg_ml_stream *s)
{
	struct mg_buf pp = { 0 }, wrapped = { 0 };

	assert_int_equal(mg_ml_stream_decode(ts->data, ts->len, o, s), 0);
	assert_int_equal(s->consumed, ts->len);
	assert_int_equal(s->type, MG_ML_PUSH_PULL);
	assert_true(s->compressed);
	assert_int_equal(mg_ml_push_pull_encode(s->pp.join, s->nodes,
						s->pp.nodes,
						s->user_state.data,
						s->user_state.len, &pp), 0);
	assert_int_equal(pp.len, s->inflated.len);
	assert_memory_equal(pp.data, s->inflated.data, pp.len);
	if (!s->encrypted) {
		assert_int_equal(mg_ml_stream_wrap(pp.data, pp.len,
			&(struct mg_ml_opts){ .compress = true }, &wrapped), 0);
		assert_int_equal(wrapped.len, ts->len);
		assert_memory_equal(wrapped.data, ts->data, ts->len);
	}
	mg_buf_free(&pp);
	mg_buf_free(&wrapped);
}

static void load(const char *name, struct pcap_capture *cap)
{
	const char *path = mgt_testdata_path(name);

	if (!path)
		fail_msg("captures not found: set MG_TESTDATA");
	assert_int_equal(pcap_load(path, cap), 0);
}

static void test_capture_plain(void **state)
{
	static const unsigned int want[16] = {
		[0] = 41, [1] = 4, [2] = 32, [3] = 11, [4] = 36, [5] = 16,
		[8] = 40, [11] = 4,
	};
	static const char *const names[4][2] = {
		{ "b" }, { "a" }, { "c" }, { "b", "a" },
	};
	struct tally walked = { 0 }, cb = { 0 };
	struct mg_ml_rx_stats st;
	struct pcap_capture cap;
	struct mg_ml_stream s;
	char zone[8];
	size_t i, j;

	load("serf.pcap", &cap);
	assert_int_equal(cap.n_udp, 147);
	for (i = 0; i < cap.n_udp; i++) {
		int n = mg_ml_packet_decode(cap.udp[i].data, cap.udp[i].len,
					    NULL, count_cb, &cb, &st);

		assert_true(n >= 1);
		assert_int_equal(st.msgs, n);
		assert_int_equal(st.bad + st.truncated, 0);
		assert_false(st.encrypted);
		walk(cap.udp[i].data, cap.udp[i].len, &walked);
	}
	for (i = 0; i < 16; i++) {
		assert_int_equal(cb.type[i], want[i]);
		assert_int_equal(walked.type[i], want[i]);
	}
	assert_int_equal(walked.crc, 69);
	assert_int_equal(walked.compress, 6);
	assert_int_equal(walked.compound, 22);

	/* two joins: request and reply of each */
	assert_int_equal(cap.n_tcp, 4);
	for (i = 0; i < cap.n_tcp; i++) {
		check_stream(&cap.tcp[i], NULL, &s);
		assert_true(s.pp.join);
		assert_int_equal(s.pp.nodes, names[i][1] ? 2 : 1);
		for (j = 0; j < s.pp.nodes; j++) {
			assert_string_equal(s.nodes[j].name, names[i][j]);
			assert_int_equal(s.nodes[j].incarnation, 1);
			assert_int_equal(s.nodes[j].port, 7946);
			assert_memory_equal(s.nodes[j].vsn,
					    "\x01\x05\x02\x02\x05\x05", 6);
		}
		assert_int_equal(s.pp.user_state_len, i == 3 ? 588 : 585);
		assert_int_equal(serf_state_events(&s.user_state), 0);
		if (i == 1) {	/* a's tags in the tagged run */
			assert_int_equal(mg_tags_get(&s.nodes[0].meta, "zone",
						     zone, sizeof(zone)), 2);
			assert_string_equal(zone, "z1");
		}
		mg_ml_stream_free(&s);
	}
	pcap_free(&cap);
}

static void test_capture_encrypted(void **state)
{
	static const unsigned int want[16] = {
		[0] = 42, [1] = 5, [2] = 32, [3] = 12, [4] = 36, [5] = 16,
		[8] = 28, [11] = 5,
	};
	struct tally walked = { 0 }, cb = { 0 };
	struct mg_keyring kr = { 0 }, wrong = { 0 };
	struct mg_ml_opts o = { .kr = &kr };
	struct mg_buf pt = { 0 };
	struct mg_ml_rx_stats st;
	struct pcap_capture cap;
	struct mg_ml_stream s;
	struct mg_key k;
	char key[64] = "";
	FILE *f;
	size_t i;

	f = fopen(mgt_testdata_path("serf-enc.key"), "r");
	assert_non_null(f);
	assert_non_null(fgets(key, sizeof(key), f));
	fclose(f);
	assert_int_equal(mg_keyring_add_b64(&kr, key, true), 0);
	assert_int_equal(kr.keys[0].len, 32);
	/* an older key first: decryption must try them all */
	memset(&k, 0x5a, sizeof(k));
	k.len = 16;
	assert_int_equal(mg_keyring_add(&kr, &k, true), 0);
	assert_int_equal(mg_keyring_add(&wrong, &k, true), 0);

	load("serf-enc.pcap", &cap);
	assert_int_equal(cap.n_udp, 132);
	for (i = 0; i < cap.n_udp; i++) {
		const uint8_t *p = cap.udp[i].data;
		size_t n = cap.udp[i].len;
		int r;

		assert_int_equal(p[0], 1);
		r = mg_ml_packet_decode(p, n, &o, count_cb, &cb, &st);
		assert_true(r >= 1);
		assert_true(st.encrypted);
		assert_int_equal(st.bad + st.truncated, 0);
		mg_buf_reset(&pt);
		assert_int_equal(mg_crypt_packet_open(&kr, p, n, &pt), 0);
		assert_int_equal(pt.len, n - MG_CRYPT_OVERHEAD);
		walk(pt.data, pt.len, &walked);
		/* wrong key; plaintext refused unless allowed */
		assert_int_equal(mg_ml_packet_decode(p, n,
			&(struct mg_ml_opts){ .kr = &wrong }, NULL, NULL, NULL),
			-EACCES);
		assert_int_equal(mg_ml_packet_decode(pt.data, pt.len, &o, NULL,
						     NULL, NULL), -EACCES);
		o.accept_plaintext = true;
		assert_int_equal(mg_ml_packet_decode(pt.data, pt.len, &o, NULL,
						     NULL, &st), r);
		assert_false(st.encrypted);
		o.accept_plaintext = false;
	}
	for (i = 0; i < 16; i++) {
		assert_int_equal(cb.type[i], want[i]);
		assert_int_equal(walked.type[i], want[i]);
	}
	assert_int_equal(walked.crc, 52);
	assert_int_equal(walked.compound, 28);
	assert_int_equal(walked.compress, 7);

	assert_int_equal(cap.n_tcp, 4);
	for (i = 0; i < cap.n_tcp; i++) {
		assert_int_equal(cap.tcp[i].data[0], MG_ML_ENCRYPT);
		check_stream(&cap.tcp[i], &o, &s);
		assert_true(s.encrypted);
		assert_int_equal(s.plain.len, cap.tcp[i].len - 5 - 29);
		assert_int_equal(s.pp.nodes, i == 3 ? 2 : 1);
		mg_ml_stream_free(&s);
		assert_int_equal(mg_ml_stream_decode(cap.tcp[i].data,
			cap.tcp[i].len, &(struct mg_ml_opts){ .kr = &wrong },
			&s), -EACCES);
		mg_ml_stream_free(&s);
		assert_int_equal(mg_ml_stream_decode(cap.tcp[i].data,
			cap.tcp[i].len, NULL, &s), -EACCES);
		mg_ml_stream_free(&s);
	}
	assert_int_equal(cap.tcp[0].len, 5 + 242);	/* the notes' example */
	mg_buf_free(&pt);
	pcap_free(&cap);
}

static void test_capture_big(void **state)
{
	struct pcap_capture cap;
	struct mg_ml_compress c;
	struct mg_buf re = { 0 };
	struct mg_ml_stream s;
	struct mg_mp_rd rd;

	load("serf-big.pcap", &cap);
	assert_int_equal(cap.n_udp, 0);
	assert_int_equal(cap.n_tcp, 2);
	check_stream(&cap.tcp[0], NULL, &s);
	mg_ml_stream_free(&s);

	/* the reply: 34 320 LZW bytes -> 36 297 bytes */
	assert_int_equal(cap.tcp[1].len, 34335);
	mg_mp_rd_init(&rd, cap.tcp[1].data + 1, cap.tcp[1].len - 1);
	assert_int_equal(mg_ml_body_decode(MG_ML_BODY_COMPRESS, &rd, &c), 0);
	assert_int_equal(c.algo, 0);
	assert_int_equal(c.buf.len, 34320);
	assert_int_equal(mg_lzw_decompress(c.buf.data, c.buf.len, 1 << 20,
					   &re), 0);
	assert_int_equal(re.len, 36297);
	/* Go's writer: the same 7 clears at the same places, byte for byte */
	{
		struct mg_buf again = { 0 };

		assert_int_equal(mg_lzw_compress(re.data, re.len, &again), 0);
		assert_int_equal(again.len, c.buf.len);
		assert_memory_equal(again.data, c.buf.data, c.buf.len);
		mg_buf_free(&again);
	}
	mg_buf_free(&re);

	check_stream(&cap.tcp[1], NULL, &s);
	assert_int_equal(s.inflated.len, 36297);
	assert_int_equal(s.pp.nodes, 1);
	assert_string_equal(s.nodes[0].name, "a");
	assert_int_equal(s.pp.user_state_len, 36297 - 96);
	assert_int_equal(serf_state_events(&s.user_state), 150);
	mg_ml_stream_free(&s);
	pcap_free(&cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_plain),
		cmocka_unit_test(test_capture_encrypted),
		cmocka_unit_test(test_capture_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
