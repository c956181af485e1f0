/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The msgpack dialect of go-msgpack 0.5 (zero-value MsgpackHandle) as used by
 * memberlist 0.2.2 and serf: old-spec "raw" for both strings and byte slices,
 * smallest integer forms, structs as maps keyed by field name.
 *
 * Writing goes through msgpack-c's packer into a struct mg_buf.  Reading is a
 * zero-allocation cursor: msgpack-c's unpacker allocates from the element
 * counts a header claims before it has seen the elements, so a five-byte
 * hostile array header would cost gigabytes.  The cursor never allocates and
 * distinguishes "truncated" (-EAGAIN: a stream reader may wait for more bytes)
 * from "malformed" (-EBADMSG) and "out of our bounds" (-EINVAL).
 */
#ifndef MG_LIB_MSGPACK_H
#define MG_LIB_MSGPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "lib/buf.h"

/* --- writing --------------------------------------------------------------- */

/* Point @pk at @b; every write appends to @b. */
void mg_mp_packer_init(msgpack_packer *pk, struct mg_buf *b);
/* Old-spec raw (fixraw / raw16 / raw32): used for strings and bytes alike. */
int mg_mp_pack_raw(msgpack_packer *pk, const void *p, size_t n);
int mg_mp_pack_cstr(msgpack_packer *pk, const char *s);
/* Bytes, or nil (0xc0) when @p is NULL. */
int mg_mp_pack_bytes(msgpack_packer *pk, const void *p, size_t n);
/* Smallest unsigned form. */
int mg_mp_pack_uint(msgpack_packer *pk, uint64_t v);
int mg_mp_pack_bool(msgpack_packer *pk, bool v);

/* --- reading --------------------------------------------------------------- */

struct mg_mp_rd {
	const uint8_t *p;
	size_t n;
	size_t off;
};

static inline void mg_mp_rd_init(struct mg_mp_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->n = n;
	r->off = 0;
}

static inline size_t mg_mp_rd_left(const struct mg_mp_rd *r)
{
	return r->n - r->off;
}

/* Map header (fixmap, map16, map32).  Nil reads as an empty map. */
int mg_mp_read_map(struct mg_mp_rd *r, uint32_t *count);
/* Array header (fixarray, array16, array32). */
int mg_mp_read_array(struct mg_mp_rd *r, uint32_t *count);
/*
 * A Go string: fixraw, str8, raw16, raw32; nil reads as "".  bin is refused
 * (go-msgpack refuses it for a string field).  @s points into the input.
 */
int mg_mp_read_str(struct mg_mp_rd *r, const uint8_t **s, uint32_t *len);
/* A Go []byte: like a string, plus bin8/16/32; *s = NULL for nil. */
int mg_mp_read_bytes(struct mg_mp_rd *r, const uint8_t **s, uint32_t *len);
/* Any integer form whose value is in [0, @max]. -EINVAL when out of range. */
int mg_mp_read_uint(struct mg_mp_rd *r, uint64_t max, uint64_t *v);
/* true/false, or the integers 0 and 1. */
int mg_mp_read_bool(struct mg_mp_rd *r, bool *v);
/* Skip one complete value of any type, nested or not, without recursion. */
int mg_mp_skip(struct mg_mp_rd *r);

#endif
