// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memberlist/lzw.h"

#define LIT_WIDTH	8
#define CLEAR		(1u << LIT_WIDTH)	/* 256 */
#define EOF_CODE	(CLEAR + 1)		/* 257 */
#define MAX_WIDTH	12
#define MAX_CODE	((1u << MAX_WIDTH) - 1)	/* 4095 */
#define INVALID		0xffffu

/* --- writer ---------------------------------------------------------------- */

#define TABLE_SIZE	(4 << MAX_WIDTH)	/* open addressing, load <= 1/4 */
#define TABLE_MASK	(TABLE_SIZE - 1)
#define EMPTY		0u

struct lzw_w {
	struct mg_buf *out;
	uint32_t bits;
	unsigned int nbits;
	unsigned int width;
	unsigned int hi;
	unsigned int overflow;
	/* (prefix code << 8 | byte) << 12 | code, + 1 so that 0 is EMPTY */
	uint32_t table[TABLE_SIZE];
};

static int w_code(struct lzw_w *w, unsigned int code)
{
	w->bits |= (uint32_t)code << w->nbits;
	w->nbits += w->width;
	while (w->nbits >= 8) {
		if (mg_buf_put_u8(w->out, w->bits & 0xff))
			return -ENOMEM;
		w->bits >>= 8;
		w->nbits -= 8;
	}
	return 0;
}

static void w_reset(struct lzw_w *w)
{
	w->width = LIT_WIDTH + 1;
	w->hi = EOF_CODE;
	w->overflow = 1u << w->width;
	memset(w->table, 0, sizeof(w->table));
}

/* Count one emitted code; at 4095 send a clear and start over (returns 1). */
static int w_inc_hi(struct lzw_w *w)
{
	w->hi++;
	if (w->hi == w->overflow) {
		w->width++;
		w->overflow <<= 1;
	}
	if (w->hi == MAX_CODE) {
		if (w_code(w, CLEAR))
			return -ENOMEM;
		w_reset(w);
		return 1;
	}
	return 0;
}

int mg_lzw_compress(const uint8_t *in, size_t n, struct mg_buf *out)
{
	size_t start = out->len, i;
	struct lzw_w *w;
	unsigned int code;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->out = out;
	w_reset(w);
	err = w_code(w, CLEAR);
	if (err || !n)
		goto finish;
	code = in[0];
	for (i = 1; i < n; i++) {
		uint32_t key = code << 8 | in[i];
		uint32_t h = (key >> 12 ^ key) & TABLE_MASK, t;

		for (t = w->table[h]; t != EMPTY; t = w->table[h]) {
			if ((t - 1) >> 12 == key)
				break;
			h = (h + 1) & TABLE_MASK;
		}
		if (t != EMPTY) {
			code = (t - 1) & MAX_CODE;
			continue;
		}
		err = w_code(w, code);
		if (err)
			goto out;
		code = in[i];
		err = w_inc_hi(w);
		if (err < 0)
			goto out;
		if (err == 1)
			continue;	/* table was reset */
		w->table[h] = (key << 12 | w->hi) + 1;
	}
	err = w_code(w, code);
	if (!err)
		err = w_inc_hi(w);
	if (err < 0)
		goto out;
finish:
	err = err < 0 ? err : w_code(w, EOF_CODE);
	if (!err && w->nbits)
		err = mg_buf_put_u8(out, w->bits & 0xff);
out:
	if (err < 0)
		out->len = start;
	free(w);
	return err < 0 ? err : 0;
}

/* --- reader ---------------------------------------------------------------- */

struct lzw_r {
	uint16_t prefix[1u << MAX_WIDTH];
	uint8_t suffix[1u << MAX_WIDTH];
	uint8_t stack[1u << MAX_WIDTH];
};

int mg_lzw_decompress(const uint8_t *in, size_t n, size_t max_out,
		      struct mg_buf *out)
{
	unsigned int width = LIT_WIDTH + 1, hi = EOF_CODE, overflow = 1u << width;
	unsigned int last = INVALID, nbits = 0, code, c, i;
	size_t start = out->len, pos = 0, produced = 0;
	struct lzw_r *r;
	uint32_t bits = 0;
	int err = -EBADMSG;

	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (;;) {
		while (nbits < width) {
			if (pos == n)
				goto out;	/* no EOF code */
			bits |= (uint32_t)in[pos++] << nbits;
			nbits += 8;
		}
		code = bits & ((1u << width) - 1);
		bits >>= width;
		nbits -= width;

		if (code == CLEAR) {
			width = LIT_WIDTH + 1;
			hi = EOF_CODE;
			overflow = 1u << width;
			last = INVALID;
			continue;
		}
		if (code == EOF_CODE) {
			err = 0;
			break;
		}
		if (code > hi || (code == hi && last == INVALID))
			goto out;	/* invalid code */

		/* Expand backwards into the stack, first byte ends at [i]. */
		i = sizeof(r->stack);
		c = code;
		if (code == hi) {
			/* KwKwK: last's string followed by its first byte */
			c = last;
			while (c >= CLEAR)
				c = r->prefix[c];
			r->stack[--i] = c;
			c = last;
		}
		while (c >= CLEAR) {
			r->stack[--i] = r->suffix[c];
			c = r->prefix[c];
		}
		r->stack[--i] = c;
		if (sizeof(r->stack) - i > max_out - produced) {
			err = -EMSGSIZE;
			goto out;
		}
		if (mg_buf_put(out, r->stack + i, sizeof(r->stack) - i)) {
			err = -ENOMEM;
			goto out;
		}
		produced += sizeof(r->stack) - i;
		if (last != INVALID) {
			r->suffix[hi] = c;
			r->prefix[hi] = last;
		}
		last = code;
		hi++;
		if (hi >= overflow) {
			if (width == MAX_WIDTH) {
				last = INVALID;
				hi--;
			} else {
				width++;
				overflow = 1u << width;
			}
		}
	}
out:
	if (err)
		out->len = start;
	free(r);
	return err;
}
