// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

int mg_buf_reserve(struct mg_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int mg_buf_put(struct mg_buf *b, const void *p, size_t n)
{
	int err;

	if (!n)
		return 0;
	err = mg_buf_reserve(b, n);
	if (err)
		return err;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int mg_buf_put_u8(struct mg_buf *b, uint8_t v)
{
	return mg_buf_put(b, &v, 1);
}

int mg_buf_put_be16(struct mg_buf *b, uint16_t v)
{
	uint8_t p[2] = { v >> 8, v & 0xff };

	return mg_buf_put(b, p, 2);
}

int mg_buf_put_be32(struct mg_buf *b, uint32_t v)
{
	uint8_t p[4];

	mg_put_be32(p, v);
	return mg_buf_put(b, p, 4);
}

void mg_buf_free(struct mg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
