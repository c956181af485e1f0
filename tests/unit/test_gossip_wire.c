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

#include "memberlist/lzw.h"
#include "serf/tags.h"
#include "memberlist/wire.h"
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

static void make_alive(struct mg_ml_msg *m, unsigned int i)
{
	memset(m, 0, sizeof(*m));
	m->type = MG_ML_ALIVE;
	snprintf(m->alive.node, sizeof(m->alive.node), "gateway-%04u", i);
	m->alive.incarnation = i + 1;
	m->alive.addr.len = 4;
	memcpy(m->alive.addr.a, "\x0a\x00\x00\x01", 4);
	m->alive.port = 7946;
	memcpy(m->alive.meta.data, "\xff\x80", 2);
	m->alive.meta.len = 2;
	memcpy(m->alive.vsn, "\x01\x05\x02\x02\x05\x05", 6);
}

struct collect {
	unsigned int n;
	unsigned int next;	/* expected incarnation - 1 */
	int fail_at;
};

static int collect_cb(void *ctx, const struct mg_ml_msg *m)
{
	struct collect *c = ctx;
	char name[32];

	if (c->fail_at >= 0 && c->n == (unsigned int)c->fail_at)
		return -ECANCELED;
	assert_int_equal(m->type, MG_ML_ALIVE);
	snprintf(name, sizeof(name), "gateway-%04u", c->next);
	assert_string_equal(m->alive.node, name);
	assert_int_equal(m->alive.incarnation, c->next + 1);
	c->n++;
	c->next++;
	return 0;
}

/* 600 alives in as few datagrams as the budget allows, in every mode. */
static void test_packet_build(void **state)
{
	struct mg_keyring kr = { 0 };
	struct mg_bytes msgs[600];
	struct mg_buf enc[600], out = { 0 };
	struct mg_ml_rx_stats st;
	struct mg_ml_msg m;
	struct mg_key k;
	unsigned int i, mode;

	memset(&k, 7, sizeof(k));
	k.len = 32;
	mg_keyring_add(&kr, &k, true);
	memset(enc, 0, sizeof(enc));
	for (i = 0; i < 600; i++) {
		make_alive(&m, i);
		assert_int_equal(mg_ml_msg_encode(&m, &enc[i]), 0);
		msgs[i].data = enc[i].data;
		msgs[i].len = enc[i].len;
	}
	for (mode = 0; mode < 8; mode++) {
		struct mg_ml_opts o = {
			.compress = mode & 1,
			.crc = mode & 2,
			.kr = mode & 4 ? &kr : NULL,
		};
		struct collect c = { .fail_at = -1 };
		unsigned int used = 0, packets = 0;
		int r;

		while (used < 600) {
			mg_buf_reset(&out);
			r = mg_ml_packet_build(msgs + used, 600 - used, &o, &out);
			assert_true(r >= 1 && r <= 255);
			/* compression never makes a datagram bigger */
			assert_true(out.len <= MG_ML_UDP_SIZE);
			if (o.kr)
				assert_int_equal(out.data[0], 1);
			else if (o.crc)
				assert_int_equal(out.data[0], MG_ML_HAS_CRC);
			assert_int_equal(mg_ml_packet_decode(out.data, out.len,
				&o, collect_cb, &c, &st), r);
			assert_int_equal(st.compound, r > 1);
			assert_int_equal(st.crc, o.crc);
			used += r;
			packets++;
		}
		assert_int_equal(c.n, 600);
		/* ~66 bytes each: about 20 per datagram, fewer encrypted */
		assert_true(packets >= 28 && packets <= 40);
	}
	/* an oversized first message still goes out, alone */
	{
		uint8_t big[3000] = { MG_ML_USER };
		struct mg_bytes two[2] = { { big, sizeof(big) }, msgs[0] };

		mg_buf_reset(&out);
		assert_int_equal(mg_ml_packet_build(two, 2, NULL, &out), 1);
		assert_int_equal(out.len, sizeof(big));
		assert_int_equal(mg_ml_packet_build(two, 0, NULL, &out), 0);
	}
	/* a callback error aborts and is returned */
	{
		struct collect c = { .fail_at = 3 };

		mg_buf_reset(&out);
		assert_int_equal(mg_ml_packet_build(msgs, 10, NULL, &out), 10);
		assert_int_equal(mg_ml_packet_decode(out.data, out.len, NULL,
			collect_cb, &c, NULL), -ECANCELED);
		assert_int_equal(c.n, 3);
	}
	for (i = 0; i < 600; i++)
		mg_buf_free(&enc[i]);
	mg_buf_free(&out);
}

/* Compress only when smaller: a tiny ping stays plain, repetition shrinks. */
static void test_packet_compress_if_smaller(void **state)
{
	struct mg_ml_opts o = { .compress = true };
	struct mg_buf out = { 0 };
	struct mg_ml_rx_stats st;
	uint8_t user[1000];

	assert_int_equal(mg_ml_packet_wrap((const uint8_t *)"\x0b\x81\xa5SeqNo\x07",
					   9, &o, &out), 0);
	assert_int_equal(out.len, 9);
	assert_int_equal(out.data[0], MG_ML_NACK);
	memset(user, 'u', sizeof(user));
	user[0] = MG_ML_USER;
	mg_buf_reset(&out);
	assert_int_equal(mg_ml_packet_wrap(user, sizeof(user), &o, &out), 0);
	assert_int_equal(out.data[0], MG_ML_COMPRESS);
	assert_true(out.len < 200);
	assert_int_equal(mg_ml_packet_decode(out.data, out.len, NULL, NULL,
					     NULL, &st), 1);
	assert_true(st.compressed);
	mg_buf_free(&out);
}

static void expect_stream_prefixes(const struct mg_buf *w,
				   const struct mg_ml_opts *o)
{
	struct mg_ml_stream s;
	size_t i;

	for (i = 0; i < w->len; i++) {
		assert_int_equal(mg_ml_stream_decode(w->data, i, o, &s), -EAGAIN);
		mg_ml_stream_free(&s);
	}
}

static void test_stream_roundtrip(void **state)
{
	struct mg_ml_push_node nodes[3];
	struct mg_keyring kr = { 0 };
	struct mg_buf p = { 0 }, w = { 0 };
	struct mg_ml_stream s;
	struct mg_ml_msg m;
	struct mg_key k;
	uint8_t us[700];
	unsigned int i, mode;

	memset(&k, 9, sizeof(k));
	k.len = 24;
	mg_keyring_add(&kr, &k, true);
	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < 3; i++) {
		snprintf(nodes[i].name, sizeof(nodes[i].name), "n%u", i);
		nodes[i].addr.len = 16;
		nodes[i].addr.a[15] = i;
		nodes[i].port = 7946 + i;
		nodes[i].incarnation = 100 + i;
		nodes[i].state = i;
		memcpy(nodes[i].vsn, "\x01\x05\x02\x02\x05\x04", 6);
	}
	for (i = 0; i < sizeof(us); i++)
		us[i] = i;
	assert_int_equal(mg_ml_push_pull_encode(false, nodes, 3, us, sizeof(us),
						&p), 0);
	for (mode = 0; mode < 4; mode++) {
		struct mg_ml_opts o = {
			.compress = mode & 1,
			.kr = mode & 2 ? &kr : NULL,
		};

		mg_buf_reset(&w);
		assert_int_equal(mg_ml_stream_wrap(p.data, p.len, &o, &w), 0);
		mg_buf_put(&w, "trailing", 8);	/* the reply's bytes, say */
		assert_int_equal(mg_ml_stream_decode(w.data, w.len, &o, &s), 0);
		assert_int_equal(s.consumed, w.len - 8);
		assert_int_equal(s.type, MG_ML_PUSH_PULL);
		assert_int_equal(s.encrypted, !!o.kr);
		assert_int_equal(s.compressed, o.compress);
		assert_false(s.pp.join);
		assert_int_equal(s.pp.nodes, 3);
		assert_string_equal(s.nodes[2].name, "n2");
		assert_int_equal(s.nodes[2].state, MG_ML_STATE_DEAD);
		assert_int_equal(s.nodes[2].addr.len, 16);
		assert_int_equal(s.nodes[1].port, 7947);
		assert_int_equal(s.user_state.len, sizeof(us));
		assert_memory_equal(s.user_state.data, us, sizeof(us));
		mg_ml_stream_free(&s);
		w.len -= 8;
		expect_stream_prefixes(&w, &o);
		/* plaintext refused by a keyring, ciphertext without one */
		assert_int_equal(mg_ml_stream_decode(w.data, w.len,
			o.kr ? NULL : &(struct mg_ml_opts){ .kr = &kr }, &s),
			-EACCES);
		mg_ml_stream_free(&s);
	}
	/* plaintext accepted when allowed */
	assert_int_equal(mg_ml_stream_decode(p.data, p.len,
		&(struct mg_ml_opts){ .kr = &kr, .accept_plaintext = true },
		&s), 0);
	mg_ml_stream_free(&s);

	/* user message, TCP ping and err */
	mg_buf_reset(&p);
	assert_int_equal(mg_ml_user_stream_encode((const uint8_t *)"hi!", 3,
						  &p), 0);
	assert_int_equal(mg_ml_stream_decode(p.data, p.len, NULL, &s), 0);
	assert_int_equal(s.type, MG_ML_USER);
	assert_int_equal(s.user_data.len, 3);
	assert_memory_equal(s.user_data.data, "hi!", 3);
	mg_ml_stream_free(&s);
	expect_stream_prefixes(&p, NULL);

	memset(&m, 0, sizeof(m));
	m.type = MG_ML_ERR;
	strcpy(m.err.error, "Encryption is configured but remote state is not encrypted");
	mg_buf_reset(&p);
	assert_int_equal(mg_ml_msg_encode(&m, &p), 0);
	mg_buf_reset(&w);
	assert_int_equal(mg_ml_stream_wrap(p.data, p.len,
		&(struct mg_ml_opts){ .compress = true }, &w), 0);
	assert_int_equal(mg_ml_stream_decode(w.data, w.len, NULL, &s), 0);
	assert_int_equal(s.type, MG_ML_ERR);
	assert_string_equal(s.msg.err.error, m.err.error);
	mg_ml_stream_free(&s);

	m.type = MG_ML_PING;
	memset(&m.ping, 0, sizeof(m.ping));
	m.ping.seq_no = 99;
	strcpy(m.ping.node, "n1");
	mg_buf_reset(&p);
	assert_int_equal(mg_ml_msg_encode(&m, &p), 0);
	assert_int_equal(mg_ml_stream_decode(p.data, p.len, NULL, &s), 0);
	assert_int_equal(s.type, MG_ML_PING);
	assert_int_equal(s.msg.ping.seq_no, 99);
	mg_ml_stream_free(&s);

	/* types a stream does not carry */
	assert_int_equal(mg_ml_stream_decode((const uint8_t *)"\x04\x80", 2,
					     NULL, &s), -EPROTO);
	mg_ml_stream_free(&s);
	mg_buf_free(&p);
	mg_buf_free(&w);
}

static int decode(const char *hex, struct mg_ml_rx_stats *st)
{
	size_t n;
	uint8_t *p = mgt_unhex(hex, &n);
	int r = mg_ml_packet_decode(p, n, NULL, NULL, NULL, st);

	free(p);
	return r;
}

static void test_hostile_packets(void **state)
{
	/* its length from sizeof, not counted by hand (that over-read) */
	static const char million[] =
		"\x06\x83\xa4Join\xc2\xa5Nodes\xce\x00\x0f\x42\x40"
		"\xacUserStateLen\x00";
	struct mg_buf a = { 0 }, b = { 0 };
	struct mg_ml_rx_stats st;
	struct mg_ml_stream s;
	uint8_t *zero;
	int i;

	/* compound: 3 parts announced, the last cut short */
	assert_int_equal(decode("07 03 0009 0009 0009 "
				"0b 81 a5 'SeqNo' 01 0b 81 a5 'SeqNo' 02 0b 81",
				&st), 2);
	assert_int_equal(st.truncated, 1);
	/* length table itself cut short; no count at all */
	assert_int_equal(decode("07 03 0009 00", &st), -EBADMSG);
	assert_int_equal(decode("07", &st), -EBADMSG);
	/* a bad part is skipped, the good one kept */
	assert_int_equal(decode("07 02 0002 0009 03 93 0b 81 a5 'SeqNo' 01",
				&st), 1);
	assert_int_equal(st.bad, 1);
	/* zero-length part, empty compound */
	assert_int_equal(decode("07 01 0000", &st), 0);
	assert_int_equal(st.bad, 1);
	assert_int_equal(decode("07 00", &st), 0);
	/* bad CRC, short CRC */
	assert_int_equal(decode("0c 00000000 0b 81 a5 'SeqNo' 01", &st),
			 -EBADMSG);
	assert_int_equal(decode("0c 0000", &st), -EBADMSG);
	/* types that have no business in a datagram */
	assert_int_equal(decode("06 80", &st), -EPROTO);
	assert_int_equal(decode("0a 00000000", &st), -EPROTO);
	assert_int_equal(decode("0d 81 a5 'Error' a0", &st), -EPROTO);
	assert_int_equal(decode("f0", &st), -EPROTO);
	assert_int_equal(decode("", &st), -EBADMSG);
	/* compress: unknown algorithm, no Buf, LZW garbage */
	assert_int_equal(decode("09 82 a4 'Algo' 01 a3 'Buf' a0", &st),
			 -EPROTONOSUPPORT);
	assert_int_equal(decode("09 81 a4 'Algo' 00", &st), -EBADMSG);
	assert_int_equal(decode("09 82 a4 'Algo' 00 a3 'Buf' a2 ffff", &st),
			 -EBADMSG);
	/* a label is skipped; a cut label is not */
	assert_int_equal(decode("f4 03 'abc' 0b 81 a5 'SeqNo' 01", &st), 1);
	assert_int_equal(decode("f4 09 'abc'", &st), -EBADMSG);

	/* nesting: compress inside compress, 12 levels deep */
	mg_buf_put(&a, "\x0b\x81\xa5SeqNo\x01", 9);
	for (i = 0; i < 12; i++) {
		mg_buf_reset(&b);
		assert_int_equal(mg_ml_compress_wrap(a.data, a.len, &b), 0);
		mg_buf_reset(&a);
		mg_buf_put(&a, b.data, b.len);
		if (i == MG_ML_MAX_DEPTH - 1)
			assert_int_equal(mg_ml_packet_decode(a.data, a.len,
				NULL, NULL, NULL, NULL), 1);
	}
	assert_int_equal(mg_ml_packet_decode(a.data, a.len, NULL, NULL, NULL,
					     NULL), -ELOOP);
	/* compounds inside compounds: the deep part fails, counted bad */
	mg_buf_reset(&a);
	mg_buf_put(&a, "\x0b\x81\xa5SeqNo\x01", 9);
	for (i = 0; i < 12; i++) {
		struct mg_bytes part = { a.data, a.len };

		mg_buf_reset(&b);
		assert_int_equal(mg_ml_compound_build(&part, 1, &b), 0);
		mg_buf_reset(&a);
		mg_buf_put(&a, b.data, b.len);
	}
	assert_int_equal(mg_ml_packet_decode(a.data, a.len, NULL, NULL, NULL,
					     &st), 0);
	assert_int_equal(st.bad, 1);

	/* an LZW bomb: 16 MiB of one byte in a few KB */
	zero = calloc(1, 16 << 20);
	zero[0] = MG_ML_USER;
	mg_buf_reset(&a);
	assert_int_equal(mg_ml_compress_wrap(zero, 16 << 20, &a), 0);
	assert_true(a.len < 65536);
	assert_int_equal(mg_ml_packet_decode(a.data, a.len, NULL, NULL, NULL,
					     NULL), -EMSGSIZE);
	free(zero);

	/* streams: lengths past the end inside a compressed payload */
	mg_buf_reset(&b);
	mg_buf_put(&b, "\x08\x81\xaaUserMsgLen\xcd\x01\x00short", 19);
	mg_buf_reset(&a);
	assert_int_equal(mg_ml_compress_wrap(b.data, b.len, &a), 0);
	assert_int_equal(mg_ml_stream_decode(a.data, a.len, NULL, &s), -EBADMSG);
	mg_ml_stream_free(&s);
	/* ...while plaintext just needs more bytes */
	assert_int_equal(mg_ml_stream_decode(b.data, b.len, NULL, &s), -EAGAIN);
	mg_ml_stream_free(&s);
	/* a push/pull header claiming a million nodes */
	mg_buf_reset(&b);
	mg_buf_put(&b, million, sizeof(million) - 1);
	assert_int_equal(mg_ml_stream_decode(b.data, b.len, NULL, &s), -EINVAL);
	mg_ml_stream_free(&s);
	/* compress inside compress is not a stream */
	mg_buf_reset(&b);
	assert_int_equal(mg_ml_compress_wrap(a.data, a.len, &b), 0);
	assert_int_equal(mg_ml_stream_decode(b.data, b.len, NULL, &s), -EPROTO);
	mg_ml_stream_free(&s);
	mg_buf_free(&a);
	mg_buf_free(&b);
}

/* Mutated capture datagrams and streams: no crash, no leak (valgrind). */
static void test_mutations(void **state)
{
	struct mg_ml_opts o = { 0 };
	struct pcap_capture cap;
	struct mg_ml_stream s;
	uint8_t buf[70000];
	size_t i, n, j;
	int round;

	load("serf.pcap", &cap);
	srand(1234);
	for (round = 0; round < 30000; round++) {
		bool tcp = round % 8 == 0;
		const uint8_t *src = tcp ? cap.tcp[round / 8 % cap.n_tcp].data
					 : cap.udp[round % cap.n_udp].data;
		size_t len = tcp ? cap.tcp[round / 8 % cap.n_tcp].len
				 : cap.udp[round % cap.n_udp].len;

		memcpy(buf, src, len);
		n = len;
		for (j = 0, i = rand() % 4 + 1; j < i; j++)
			buf[rand() % n] ^= 1u << (rand() % 8);
		if (rand() % 3 == 0)
			n = rand() % n;
		if (tcp) {
			mg_ml_stream_decode(buf, n, &o, &s);
			mg_ml_stream_free(&s);
		} else {
			mg_ml_packet_decode(buf, n, &o, NULL, NULL, NULL);
		}
	}
	pcap_free(&cap);
}

/* How much a stream reader waits for before decoding again. */
static void test_stream_need(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		size_t need;
	} rows[] = {
		{ "", 0, 1 },
		{ "\x0a", 1, 5 },			/* encrypted: header */
		{ "\x0a\x00\x00\x01\x00", 5, 5 + 256 },	/* ...then its length */
		{ "\x0a\x01\x40\x00\x00zz", 7, 5 + (20 << 20) },
		{ "\x06\x83", 2, 0 },			/* plaintext: unknown */
		{ "\xf4", 1, 2 },			/* label: its length */
		{ "\xf4\x02", 2, 5 },
		{ "\xf4\x02" "ab\x0a\x00\x00\x00\x10", 9, 9 + 16 },
		{ "\xf4\x02" "ab\x06", 5, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(mg_ml_stream_need((const uint8_t *)rows[i].bytes,
						   rows[i].n), rows[i].need);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_plain),
		cmocka_unit_test(test_capture_encrypted),
		cmocka_unit_test(test_capture_big),
		cmocka_unit_test(test_packet_build),
		cmocka_unit_test(test_packet_compress_if_smaller),
		cmocka_unit_test(test_stream_roundtrip),
		cmocka_unit_test(test_hostile_packets),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_stream_need),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
