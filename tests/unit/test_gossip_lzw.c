// SPDX-License-Identifier: GPL-2.0-only
/*
 * LZW (Go compress/lzw, LSB, literal width 8): round trips across the width
 * changes and the 4095 reset, hand-packed code streams with and without the
 * leading clear, and hostile streams.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "memberlist/lzw.h"

/* Pack codes LSB first, widths given per code (a test-side writer). */
static size_t pack_codes(const unsigned int *codes, const unsigned int *widths,
			 size_t n, uint8_t *out)
{
	uint32_t bits = 0;
	unsigned int nbits = 0;
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		bits |= codes[i] << nbits;
		nbits += widths[i];
		while (nbits >= 8) {
			out[len++] = bits & 0xff;
			bits >>= 8;
			nbits -= 8;
		}
	}
	if (nbits)
		out[len++] = bits;
	return len;
}

static void fill(uint8_t *p, size_t n, int kind, unsigned int seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < n; i++) {
		switch (kind) {
		case 0: p[i] = rand(); break;			/* incompressible */
		case 1: p[i] = "ab"[rand() % 2]; break;		/* 2 symbols */
		case 2: p[i] = 'x'; break;			/* one run */
		default: p[i] = (i / 7) % 251; break;		/* structured */
		}
	}
}

static void roundtrip(const uint8_t *in, size_t n)
{
	struct mg_buf c = { 0 }, d = { 0 };

	assert_int_equal(mg_lzw_compress(in, n, &c), 0);
	/* a leading clear code: first byte 0x00, low bit of 2nd set */
	assert_true(c.len >= 2);
	assert_int_equal(c.data[0], 0x00);
	assert_int_equal(c.data[1] & 1, 1);
	assert_int_equal(mg_lzw_decompress(c.data, c.len, n, &d), 0);
	assert_int_equal(d.len, n);
	if (n)
		assert_memory_equal(d.data, in, n);
	/* one byte less room than needed is refused */
	if (n) {
		mg_buf_reset(&d);
		assert_int_equal(mg_lzw_decompress(c.data, c.len, n - 1, &d),
				 -EMSGSIZE);
		assert_int_equal(d.len, 0);
	}
	mg_buf_free(&c);
	mg_buf_free(&d);
}

static void test_roundtrip_sizes(void **state)
{
	/* around 9->10 bits (hi 512), 11, 12 bits and the reset at 4095 */
	static const size_t sizes[] = {
		0, 1, 2, 3, 4, 100, 253, 254, 255, 256, 257, 258, 509, 510,
		511, 512, 513, 1021, 1022, 1023, 1024, 2045, 2046, 2047, 2048,
		3835, 3836, 3837, 3838, 3839, 3840, 4093, 4094, 4095, 4096,
		4097, 7674, 7675, 7676, 8191, 8192, 8193, 65536, 300001,
	};
	size_t max = 300001, i;
	int kind;
	uint8_t *buf = malloc(max);

	for (kind = 0; kind < 4; kind++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			fill(buf, sizes[i], kind, sizes[i] * 4 + kind);
			roundtrip(buf, sizes[i]);
		}
	}
	for (i = 0; i < 200; i++) {
		size_t n = rand() % 20000;

		fill(buf, n, i % 4, i);
		roundtrip(buf, n);
	}
	free(buf);
}

/* Random bytes: about one code per byte, so 40 KB crosses ~10 resets. */
static void test_resets_happen(void **state)
{
	struct mg_buf c = { 0 }, d = { 0 };
	size_t n = 40000;
	uint8_t *buf = malloc(n);

	fill(buf, n, 0, 42);
	assert_int_equal(mg_lzw_compress(buf, n, &c), 0);
	/* mostly 12-bit codes for ~1 byte each: output well above 9/8 */
	assert_true(c.len > n * 5 / 4);
	assert_int_equal(mg_lzw_decompress(c.data, c.len, n, &d), 0);
	assert_int_equal(d.len, n);
	assert_memory_equal(d.data, buf, n);
	mg_buf_free(&c);
	mg_buf_free(&d);
	free(buf);
}

static void test_exact_writer(void **state)
{
	/* "ABAB": clear, 'A', 'B', 258("AB"), EOF, all 9 bits wide */
	static const unsigned int codes[] = { 256, 'A', 'B', 258, 257 };
	static const unsigned int w9[] = { 9, 9, 9, 9, 9 };
	struct mg_buf c = { 0 };
	uint8_t want[16];
	size_t n = pack_codes(codes, w9, 5, want);

	assert_int_equal(mg_lzw_compress((const uint8_t *)"ABAB", 4, &c), 0);
	assert_int_equal(c.len, n);
	assert_memory_equal(c.data, want, n);
	mg_buf_reset(&c);
	/* the empty input is clear + EOF */
	assert_int_equal(mg_lzw_compress(NULL, 0, &c), 0);
	assert_int_equal(c.len, pack_codes(codes, w9, 1, want) + 1);
	assert_int_equal(c.data[0], 0x00);
	assert_int_equal(c.data[1], 0x03);	/* 256 | 257 << 9 */
	assert_int_equal(c.data[2], 0x02);
	mg_buf_free(&c);
}

static void expect(const unsigned int *codes, size_t n, const char *out, int err)
{
	unsigned int widths[64];
	uint8_t in[128];
	struct mg_buf d = { 0 };
	size_t i, len;

	for (i = 0; i < n; i++)
		widths[i] = 9;
	len = pack_codes(codes, widths, n, in);
	assert_int_equal(mg_lzw_decompress(in, len, 1 << 20, &d), err);
	if (!err) {
		assert_int_equal(d.len, strlen(out));
		assert_memory_equal(d.data, out, d.len);
	} else {
		assert_int_equal(d.len, 0);
	}
	mg_buf_free(&d);
}

static void test_reader_forms(void **state)
{
	/* older Go writers: no leading clear */
	static const unsigned int plain[] = { 'A', 'B', 258, 257 };
	/* KwKwK: 258 is being defined while used -> "AAA" */
	static const unsigned int kwk[] = { 256, 'A', 258, 257 };
	/* a clear in the middle restarts the dictionary */
	static const unsigned int mid[] = { 'x', 'y', 256, 'A', 'B', 258, 257 };
	/* bytes after EOF are ignored */
	static const unsigned int tail[] = { 'q', 257, 'z', 'z' };
	/* errors: code beyond hi, KwKwK with no previous code, no EOF */
	static const unsigned int beyond[] = { 'A', 300, 257 };
	static const unsigned int kwk0[] = { 256, 258, 257 };
	static const unsigned int noeof[] = { 256, 'A', 'B' };

	expect(plain, 4, "ABAB", 0);
	expect(kwk, 4, "AAA", 0);
	expect(mid, 7, "xyABAB", 0);
	expect(tail, 4, "q", 0);
	expect(beyond, 3, NULL, -EBADMSG);
	expect(kwk0, 3, NULL, -EBADMSG);
	expect(noeof, 3, NULL, -EBADMSG);
	expect(NULL, 0, NULL, -EBADMSG);
}

/* A long run inflates quadratically: the bound must stop it. */
static void test_bomb(void **state)
{
	size_t n = 1 << 22;
	uint8_t *buf = malloc(n);
	struct mg_buf c = { 0 }, d = { 0 };

	memset(buf, 0, n);
	assert_int_equal(mg_lzw_compress(buf, n, &c), 0);
	assert_true(c.len < n / 100);
	assert_int_equal(mg_lzw_decompress(c.data, c.len, 1 << 20, &d),
			 -EMSGSIZE);
	assert_int_equal(mg_lzw_decompress(c.data, c.len, n, &d), 0);
	assert_int_equal(d.len, n);
	assert_memory_equal(d.data, buf, n);
	mg_buf_free(&c);
	mg_buf_free(&d);
	free(buf);
}

/* Random garbage must fail or succeed cleanly (valgrind watches). */
static void test_garbage(void **state)
{
	uint8_t in[512];
	struct mg_buf d = { 0 };
	int i, ok = 0;
	size_t j, n;

	srand(7);
	for (i = 0; i < 20000; i++) {
		n = rand() % sizeof(in);
		for (j = 0; j < n; j++)
			in[j] = rand();
		mg_buf_reset(&d);
		if (!mg_lzw_decompress(in, n, 1 << 16, &d))
			ok++;
	}
	mg_buf_free(&d);
	assert_true(ok < 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_resets_happen),
		cmocka_unit_test(test_exact_writer),
		cmocka_unit_test(test_reader_forms),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
