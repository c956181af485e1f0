/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Growable byte buffer used by every gossip encoder.  A zeroed struct is an
 * empty buffer; mg_buf_free() releases it.
 */
#ifndef MG_LIB_BUF_H
#define MG_LIB_BUF_H

#include <stddef.h>
#include <stdint.h>

struct mg_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* A read-only view of bytes owned by someone else; data == NULL means nil. */
struct mg_bytes {
	const uint8_t *data;
	size_t len;
};

/* Make room for @extra more bytes.  Returns 0 or -ENOMEM. */
int mg_buf_reserve(struct mg_buf *b, size_t extra);
/* Append @n bytes.  Returns 0 or -ENOMEM. */
int mg_buf_put(struct mg_buf *b, const void *p, size_t n);
int mg_buf_put_u8(struct mg_buf *b, uint8_t v);
int mg_buf_put_be16(struct mg_buf *b, uint16_t v);
int mg_buf_put_be32(struct mg_buf *b, uint32_t v);
/* Forget the contents, keep the allocation. */
static inline void mg_buf_reset(struct mg_buf *b)
{
	b->len = 0;
}
void mg_buf_free(struct mg_buf *b);

static inline uint16_t mg_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t mg_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void mg_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

#endif
