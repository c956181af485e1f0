// SPDX-License-Identifier: GPL-2.0-only
/*
 * msgpack dialect and message bodies: byte-exact against the hand-decoded
 * packets of memberlist-wire.md §13, and the decoder's leniency and bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "memberlist/messages.h"
#include "serf/tags.h"
#include "memberlist/wire.h"
#include "lib/msgpack.h"
#include "lib/pcap.h"

static const char PING_B_TO_A[] =
	"00 85 a4 'Node' a1 'a' a5 'SeqNo' 01 aa 'SourceAddr' a4 7f000002 "
	"aa 'SourceNode' a1 'b' aa 'SourcePort' cd 1f0a";
static const char ALIVE_C[] =
	"0c 1f88988b 04 86 a4 'Addr' a4 7f000003 ab 'Incarnation' 01 "
	"a4 'Meta' a2 ff80 a4 'Node' a1 'c' a4 'Port' cd 1f0a "
	"a3 'Vsn' a6 01 05 02 02 05 05";
static const char INDIRECT[] =
	"01 88 a4 'Nack' c3 a4 'Node' a1 'c' a4 'Port' cd1f0a a5 'SeqNo' 07 "
	"aa 'SourceAddr' a4 7f000001 aa 'SourceNode' a1 'a' "
	"aa 'SourcePort' cd1f0a a6 'Target' a4 7f000003";
static const char SUSPECT[] =
	"03 83 a4 'From' a1 'a' ab 'Incarnation' 01 a4 'Node' a1 'c'";
static const char NACK[] = "0b 81 a5 'SeqNo' 07";
static const char DEAD_LEAVE[] =
	"05 83 a4 'From' a1 'b' ab 'Incarnation' 01 a4 'Node' a1 'b'";
static const char PP_HDR[] =
	"83 a4 'Join' c3 a5 'Nodes' 01 ac 'UserStateLen' cd 0249";
static const char PP_NODE[] =
	"87 a4 'Addr' a4 7f000002 ab 'Incarnation' 01 a4 'Meta' a2 ff80 "
	"a4 'Name' a1 'b' a4 'Port' cd 1f0a a5 'State' 00 "
	"a3 'Vsn' a6 010502020505";

/* Decode [type][body] from a vector, check re-encoding is byte-exact. */
static void roundtrip_msg(const char *hex, struct mg_ml_msg *m)
{
	struct mg_buf out = { 0 };
	size_t n;
	uint8_t *p = mgt_unhex(hex, &n);

	assert_int_equal(mg_ml_msg_decode(p, n, m), 0);
	assert_int_equal(mg_ml_msg_encode(m, &out), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, p, n);
	mg_buf_free(&out);
	free(p);
}

static void test_ping_exact(void **state)
{
	struct mg_ml_msg m;
	size_t n;
	uint8_t *p = mgt_unhex(PING_B_TO_A, &n);

	assert_int_equal(n, 59);	/* the capture's UDP length */
	free(p);
	roundtrip_msg(PING_B_TO_A, &m);
	assert_int_equal(m.type, MG_ML_PING);
	assert_string_equal(m.ping.node, "a");
	assert_int_equal(m.ping.seq_no, 1);
	assert_int_equal(m.ping.source_addr.len, 4);
	assert_memory_equal(m.ping.source_addr.a, "\x7f\0\0\x02", 4);
	assert_string_equal(m.ping.source_node, "b");
	assert_int_equal(m.ping.source_port, 7946);
}

static void test_ping_omitempty(void **state)
{
	struct mg_ml_msg m = { .type = MG_ML_PING };
	struct mg_buf out = { 0 };
	size_t n;
	uint8_t *want = mgt_unhex("00 82 a4 'Node' a0 a5 'SeqNo' cd 012c", &n);

	m.ping.seq_no = 300;
	assert_int_equal(mg_ml_msg_encode(&m, &out), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, want, n);
	mg_buf_free(&out);
	free(want);
}

static void test_alive_exact(void **state)
{
	struct mg_buf out = { 0 }, crc = { 0 };
	struct mg_ml_msg m;
	size_t n;
	uint8_t *p = mgt_unhex(ALIVE_C, &n);
	char hex[2 * 64];
	size_t i;

	assert_int_equal(n, 64);
	for (i = 5, hex[0] = 0; i < n; i++)
		sprintf(hex + strlen(hex), "%02x", p[i]);
	roundtrip_msg(hex, &m);
	assert_int_equal(m.type, MG_ML_ALIVE);
	assert_string_equal(m.alive.node, "c");
	assert_int_equal(m.alive.incarnation, 1);
	assert_int_equal(m.alive.addr.len, 4);
	assert_memory_equal(m.alive.addr.a, "\x7f\0\0\x03", 4);
	assert_int_equal(m.alive.port, 7946);
	assert_int_equal(m.alive.meta.len, 2);
	assert_memory_equal(m.alive.meta.data, "\xff\x80", 2);
	assert_memory_equal(m.alive.vsn, "\x01\x05\x02\x02\x05\x05", 6);
	/* and the CRC in front of it is the one serf computed */
	assert_int_equal(mg_ml_msg_encode(&m, &out), 0);
	assert_int_equal(mg_ml_crc_wrap(out.data, out.len, &crc), 0);
	assert_int_equal(crc.len, n);
	assert_memory_equal(crc.data, p, n);
	mg_buf_free(&crc);
	free(p);
	mg_buf_free(&out);
}

static void test_other_exact(void **state)
{
	struct mg_ml_msg m;

	roundtrip_msg(INDIRECT, &m);
	assert_int_equal(m.type, MG_ML_INDIRECT_PING);
	assert_true(m.ind.nack);
	assert_string_equal(m.ind.node, "c");
	assert_int_equal(m.ind.port, 7946);
	assert_int_equal(m.ind.seq_no, 7);
	assert_memory_equal(m.ind.target.a, "\x7f\0\0\x03", 4);
	assert_string_equal(m.ind.source_node, "a");

	roundtrip_msg(SUSPECT, &m);
	assert_int_equal(m.type, MG_ML_SUSPECT);
	assert_string_equal(m.suspect.from, "a");
	assert_string_equal(m.suspect.node, "c");
	assert_int_equal(m.suspect.incarnation, 1);

	roundtrip_msg(NACK, &m);
	assert_int_equal(m.type, MG_ML_NACK);
	assert_int_equal(m.nack.seq_no, 7);

	roundtrip_msg(DEAD_LEAVE, &m);
	assert_int_equal(m.type, MG_ML_DEAD);
	assert_string_equal(m.dead.from, "b");
	assert_string_equal(m.dead.node, "b");
}

static void body_roundtrip(enum mg_ml_body body, const char *hex, void *obj)
{
	struct mg_buf out = { 0 };
	struct mg_mp_rd rd;
	size_t n;
	uint8_t *p = mgt_unhex(hex, &n);

	mg_mp_rd_init(&rd, p, n);
	assert_int_equal(mg_ml_body_decode(body, &rd, obj), 0);
	assert_int_equal(rd.off, n);
	assert_int_equal(mg_ml_body_encode(body, obj, &out), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, p, n);
	mg_buf_free(&out);
	free(p);
}

static void test_push_pull_exact(void **state)
{
	struct mg_ml_push_pull_hdr h;
	struct mg_ml_push_node node;

	body_roundtrip(MG_ML_BODY_PUSH_PULL_HDR, PP_HDR, &h);
	assert_true(h.join);
	assert_int_equal(h.nodes, 1);
	assert_int_equal(h.user_state_len, 585);
	body_roundtrip(MG_ML_BODY_PUSH_NODE, PP_NODE, &node);
	assert_string_equal(node.name, "b");
	assert_int_equal(node.state, MG_ML_STATE_ALIVE);
	assert_int_equal(node.port, 7946);
	assert_memory_equal(node.vsn, "\x01\x05\x02\x02\x05\x05", 6);
}

static void test_ack_nil_vs_empty(void **state)
{
	struct mg_ml_msg m = { .type = MG_ML_ACK };
	struct mg_buf out = { 0 };

	m.ack.seq_no = 2;
	assert_int_equal(mg_ml_msg_encode(&m, &out), 0);
	assert_memory_equal(out.data, "\x02\x82\xa7Payload\xc0\xa5SeqNo\x02",
			    out.len);
	assert_int_equal(out.len, 18);
	assert_int_equal(mg_ml_msg_decode(out.data, out.len, &m), 0);
	assert_null(m.ack.payload.data);

	mg_buf_reset(&out);
	m.ack.payload.data = (const uint8_t *)"";
	m.ack.payload.len = 0;
	assert_int_equal(mg_ml_msg_encode(&m, &out), 0);
	assert_int_equal(out.data[10], 0xa0);
	assert_int_equal(mg_ml_msg_decode(out.data, out.len, &m), 0);
	assert_non_null(m.ack.payload.data);
	assert_int_equal(m.ack.payload.len, 0);
	mg_buf_free(&out);
}

/* Integers use the smallest form, raw never str8/bin. */
static void test_smallest_forms(void **state)
{
	static const struct {
		uint64_t v;
		const char *hex;
	} ints[] = {
		{ 0, "00" }, { 127, "7f" }, { 128, "cc80" }, { 255, "ccff" },
		{ 256, "cd0100" }, { 65535, "cdffff" }, { 65536, "ce00010000" },
		{ 4294967295u, "ceffffffff" },
		{ 4294967296ull, "cf0000000100000000" },
	};
	static const struct {
		size_t len;
		const char *hdr;
	} raws[] = {
		{ 0, "a0" }, { 31, "bf" }, { 32, "da0020" }, { 255, "da00ff" },
		{ 65535, "daffff" }, { 65536, "db00010000" },
	};
	struct mg_buf b = { 0 };
	msgpack_packer pk;
	uint8_t *want, *zero = calloc(1, 65536);
	size_t i, n;

	mg_mp_packer_init(&pk, &b);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		mg_buf_reset(&b);
		assert_int_equal(mg_mp_pack_uint(&pk, ints[i].v), 0);
		want = mgt_unhex(ints[i].hex, &n);
		assert_int_equal(b.len, n);
		assert_memory_equal(b.data, want, n);
		free(want);
	}
	for (i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
		mg_buf_reset(&b);
		assert_int_equal(mg_mp_pack_raw(&pk, zero, raws[i].len), 0);
		want = mgt_unhex(raws[i].hdr, &n);
		assert_int_equal(b.len, n + raws[i].len);
		assert_memory_equal(b.data, want, n);
		free(want);
	}
	free(zero);
	mg_buf_free(&b);
}

static int decode_hex(enum mg_ml_body body, const char *hex, void *obj)
{
	struct mg_mp_rd rd;
	size_t n;
	uint8_t *p = mgt_unhex(hex, &n);
	int err;

	mg_mp_rd_init(&rd, p, n);
	err = mg_ml_body_decode(body, &rd, obj);
	if (!err && rd.off != n)
		err = -E2BIG;
	free(p);
	return err;
}

/* Any key order, unknown keys (nested too), any int width, str8, bin. */
static void test_decoder_lenient(void **state)
{
	struct mg_ml_suspect s;
	struct mg_ml_alive a;
	struct mg_ml_ack ack;
	bool b;
	struct mg_mp_rd rd;

	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"84 a4 'Node' d9 01 'x' a5 'Extra' 82 a1 'k' 93 01 c0 cb 0000000000000000 "
		"a1 'z' c7 02 05 aabb ab 'Incarnation' cf 00000000 0000002a "
		"a4 'From' da 0002 'ab'", &s), 0);
	assert_string_equal(s.node, "x");
	assert_string_equal(s.from, "ab");
	assert_int_equal(s.incarnation, 42);

	/* signed forms with non-negative values; nil strings are "" */
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"83 a4 'Node' c0 ab 'Incarnation' d2 00010000 a4 'From' a0", &s), 0);
	assert_string_equal(s.node, "");
	assert_int_equal(s.incarnation, 65536);

	/* bin for byte fields; absent Vsn reads as zeros */
	assert_int_equal(decode_hex(MG_ML_BODY_ALIVE,
		"83 a4 'Addr' c4 04 0a000001 a4 'Meta' c5 0002 ff80 "
		"a4 'Node' a1 'n'", &a), 0);
	assert_memory_equal(a.addr.a, "\x0a\0\0\x01", 4);
	assert_int_equal(a.meta.len, 2);
	assert_memory_equal(a.vsn, "\0\0\0\0\0\0", 6);

	/* payload as bin16 */
	assert_int_equal(decode_hex(MG_ML_BODY_ACK,
		"82 a5 'SeqNo' 05 a7 'Payload' c5 0003 010203", &ack), 0);
	assert_int_equal(ack.payload.len, 3);
	assert_int_equal(ack.seq_no, 5);

	/* bools: c2/c3 and 0/1 */
	mg_mp_rd_init(&rd, "\x01\xc2\x02", 3);
	assert_int_equal(mg_mp_read_bool(&rd, &b), 0);
	assert_true(b);
	assert_int_equal(mg_mp_read_bool(&rd, &b), 0);
	assert_false(b);
	assert_int_equal(mg_mp_read_bool(&rd, &b), -EINVAL);
}

static void test_decoder_rejects(void **state)
{
	struct mg_ml_suspect s;
	struct mg_ml_alive a;
	struct mg_ml_ping p;
	char hex[2048];
	int i;

	/* bin is not a string */
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"81 a4 'Node' c4 01 'x'", &s), -EBADMSG);
	/* negative and too wide */
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"81 ab 'Incarnation' ff", &s), -EINVAL);
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"81 ab 'Incarnation' d0 80", &s), -EINVAL);
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"81 ab 'Incarnation' cf 0000000100000000", &s), -EINVAL);
	assert_int_equal(decode_hex(MG_ML_BODY_ALIVE,
		"81 a4 'Port' ce 00010000", &a), -EINVAL);
	/* Vsn of 5 bytes, Addr of 5 bytes */
	assert_int_equal(decode_hex(MG_ML_BODY_ALIVE,
		"81 a3 'Vsn' a5 0105020205", &a), -EINVAL);
	assert_int_equal(decode_hex(MG_ML_BODY_ALIVE,
		"81 a4 'Addr' a5 0102030405", &a), -EINVAL);
	/* embedded NUL in a name */
	assert_int_equal(decode_hex(MG_ML_BODY_PING,
		"81 a4 'Node' a3 610062", &p), -EINVAL);
	/* name of 256 bytes (255 is fine) */
	strcpy(hex, "81 a4 'Node' da 00ff ");
	for (i = 0; i < 255; i++)
		strcat(hex, "61");
	assert_int_equal(decode_hex(MG_ML_BODY_PING, hex, &p), 0);
	assert_int_equal(strlen(p.node), 255);
	strcpy(hex, "81 a4 'Node' da 0100 ");
	for (i = 0; i < 256; i++)
		strcat(hex, "61");
	assert_int_equal(decode_hex(MG_ML_BODY_PING, hex, &p), -EINVAL);
	/* Meta of 513 bytes (512 is fine) */
	strcpy(hex, "81 a4 'Meta' da 0201 ");
	for (i = 0; i < 513; i++)
		strcat(hex, "00");
	assert_int_equal(decode_hex(MG_ML_BODY_ALIVE, hex, &a), -EINVAL);
	hex[19] = '0';	/* 0x0201 -> 0x0200 */
	hex[strlen(hex) - 2] = 0;
	assert_int_equal(decode_hex(MG_ML_BODY_ALIVE, hex, &a), 0);
	assert_int_equal(a.meta.len, 512);
	/* truncated everywhere, array instead of map, reserved byte */
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"83 a4 'From' a1", &s), -EAGAIN);
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"df ffffffff a4 'From'", &s), -EAGAIN);
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT, "93 01 02 03", &s),
			 -EBADMSG);
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"82 a1 'x' c1 a4 'Node' a1 'n'", &s), -EBADMSG);
	/* a key that is not a string */
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT, "81 01 02", &s),
			 -EBADMSG);
	/* a hostile container count in an unknown key ends with the input */
	assert_int_equal(decode_hex(MG_ML_BODY_SUSPECT,
		"81 a1 'x' dd ffffffff 01 02", &s), -EAGAIN);
}

static void test_msg_decode_errors(void **state)
{
	struct mg_ml_msg m;

	assert_int_equal(mg_ml_msg_decode((const uint8_t *)"", 0, &m), -EBADMSG);
	assert_int_equal(mg_ml_msg_decode((const uint8_t *)"\x07", 1, &m),
			 -EPROTO);
	assert_int_equal(mg_ml_msg_decode((const uint8_t *)"\x2a", 1, &m),
			 -EPROTO);
	assert_int_equal(mg_ml_msg_decode((const uint8_t *)"\x03\x83", 2, &m),
			 -EBADMSG);
	assert_int_equal(mg_ml_msg_decode((const uint8_t *)"\x08xyz", 4, &m), 0);
	assert_int_equal(m.user.len, 3);
	assert_memory_equal(m.user.data, "xyz", 3);
	assert_string_equal(mg_ml_type_name(MG_ML_HAS_CRC), "has-crc");
	assert_string_equal(mg_ml_type_name(99), "unknown");
}

static void test_tags(void **state)
{
	static const struct mg_tag tags[] = {
		{ "cluster", "east" }, { "cluster_id", "7" },
		{ "tunnel", "192.0.2.10" },
	};
	struct mg_tag_view v[4];
	struct mg_ml_meta meta;
	char val[64];
	size_t n;
	uint8_t *want;

	assert_int_equal(mg_tags_encode(NULL, 0, &meta), 0);
	assert_int_equal(meta.len, 2);
	assert_memory_equal(meta.data, "\xff\x80", 2);

	assert_int_equal(mg_tags_encode(tags, 3, &meta), 0);
	want = mgt_unhex("ff 83 a7 'cluster' a4 'east' aa 'cluster_id' a1 '7' "
			 "a6 'tunnel' aa '192.0.2.10'", &n);
	assert_int_equal(meta.len, n);
	assert_memory_equal(meta.data, want, n);
	free(want);
	assert_int_equal(mg_tags_decode(&meta, v, 4), 3);
	assert_int_equal(v[2].value_len, 10);
	assert_memory_equal(v[2].value, "192.0.2.10", 10);
	assert_int_equal(mg_tags_decode(&meta, v, 2), -ENOSPC);
	assert_int_equal(mg_tags_get(&meta, "cluster_id", val, sizeof(val)), 1);
	assert_string_equal(val, "7");
	assert_int_equal(mg_tags_get(&meta, "zone", val, sizeof(val)), -ENOENT);
	assert_int_equal(mg_tags_get(&meta, "tunnel", val, 5), -ENOSPC);

	/* serf's own example: ff 81 a4 'zone' a2 'z1' */
	want = mgt_unhex("ff 81 a4 'zone' a2 'z1'", &n);
	memcpy(meta.data, want, n);
	meta.len = n;
	free(want);
	assert_int_equal(mg_tags_get(&meta, "zone", val, sizeof(val)), 2);
	assert_string_equal(val, "z1");

	/* no magic: one tag "role" holding the whole Meta (serf's fallback) */
	memcpy(meta.data, "web", 3);
	meta.len = 3;
	assert_int_equal(mg_tags_get(&meta, "role", val, sizeof(val)), 3);
	assert_string_equal(val, "web");
	meta.len = 0;
	assert_int_equal(mg_tags_get(&meta, "role", val, sizeof(val)), 0);

	/* malformed map after the magic */
	memcpy(meta.data, "\xff\x82\xa1k", 4);
	meta.len = 4;
	assert_int_equal(mg_tags_decode(&meta, v, 4), -EBADMSG);
}

/* The field-table reader: every type, skip, last-wins, bounds, required. */
struct ftest {
	uint64_t a;
	uint16_t port;
	bool flag;
	const uint8_t *name, *blob, *raw;
	uint32_t name_len, blob_len;
	size_t raw_len;
};

static const struct mg_mp_field ftest_fields[] = {
	MG_MP_FIELD_UINT(struct ftest, "A", a, UINT64_MAX),
	MG_MP_FIELD_UINT(struct ftest, "Port", port, UINT16_MAX),
	MG_MP_FIELD_BOOL(struct ftest, "Flag", flag),
	MG_MP_FIELD_STR(struct ftest, "Name", name, name_len),
	MG_MP_FIELD_BYTES(struct ftest, "Blob", blob, blob_len),
	MG_MP_FIELD_RAW(struct ftest, "Raw", raw, raw_len),
	{ .name = "Req", .type = MG_MP_F_UINT, .off = offsetof(struct ftest, a),
	  .max = 9, .size = 8, .required = true },
};

static int ftest_read(const char *hex, struct ftest *t)
{
	static uint8_t buf[256];	/* what the pointers read point into */
	size_t n;
	uint8_t *p = mgt_unhex(hex, &n);
	struct mg_mp_rd rd;

	assert_non_null(p);
	assert_true(n <= sizeof(buf));
	memcpy(buf, p, n);
	free(p);
	memset(t, 0, sizeof(*t));
	mg_mp_rd_init(&rd, buf, n);
	return mg_mp_read_fields(&rd, ftest_fields,
				 MG_MP_NFIELDS(ftest_fields), t);
}

static void test_read_fields(void **state)
{
	struct ftest t;

	/* {A: 300, Port: 80, Flag: true, Name: "ab", Blob: nil,
	 *  Raw: [1, 2], X: {1: 2} (skipped), Req: 7} */
	assert_int_equal(ftest_read("88"
				    "a141cd012c"
				    "a4506f727450"
				    "a4466c6167c3"
				    "a44e616d65a26162"
				    "a4426c6f62c0"
				    "a3526177920102"
				    "a15881" "0102"
				    "a352657107", &t), 0);
	/* Req and A share a destination: the last one read wins */
	assert_int_equal(t.a, 7);
	assert_int_equal(t.port, 80);
	assert_true(t.flag);
	assert_int_equal(t.name_len, 2);
	assert_memory_equal(t.name, "ab", 2);
	assert_null(t.blob);
	assert_int_equal(t.raw_len, 3);
	assert_int_equal(t.raw[0], 0x92);
	/* the required field missing */
	assert_int_equal(ftest_read("81a141cd012c", &t), -EBADMSG);
	/* out of its bounds: Port 70000, Req 10 */
	assert_int_equal(ftest_read("82a4506f7274ce00011170a352657107", &t),
			 -EINVAL);
	assert_int_equal(ftest_read("81a35265710a", &t), -EINVAL);
	/* truncated inside a value */
	assert_int_equal(ftest_read("81a3526571", &t), -EAGAIN);
	/* a string where a number belongs */
	assert_int_equal(ftest_read("81a3526571a131", &t), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_exact),
		cmocka_unit_test(test_read_fields),
		cmocka_unit_test(test_ping_omitempty),
		cmocka_unit_test(test_alive_exact),
		cmocka_unit_test(test_other_exact),
		cmocka_unit_test(test_push_pull_exact),
		cmocka_unit_test(test_ack_nil_vs_empty),
		cmocka_unit_test(test_smallest_forms),
		cmocka_unit_test(test_decoder_lenient),
		cmocka_unit_test(test_decoder_rejects),
		cmocka_unit_test(test_msg_decode_errors),
		cmocka_unit_test(test_tags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
