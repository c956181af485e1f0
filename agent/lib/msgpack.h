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

/* --- reading a struct: a map matched against a table of fields ------------ */

enum mg_mp_ftype {
	MG_MP_F_UINT, /* mg_mp_read_uint(max) into an unsigned of @size */
	MG_MP_F_BOOL, /* mg_mp_read_bool into a bool */
	MG_MP_F_STR, /* const uint8_t * at @off, uint32_t length at @len */
	MG_MP_F_BYTES, /* the same, for a []byte (nil: NULL) */
	MG_MP_F_RAW, /* any value kept encoded: pointer, size_t length */
};

/*
 * One field of a msgpack map: its key, how to read its value and where to
 * put it (offsets into the destination struct).  A key no field names is
 * skipped; a key seen twice keeps its last value (go-msgpack's way).
 */
struct mg_mp_field {
	const char *name;
	enum mg_mp_ftype type;
	size_t off;
	size_t len; /* STR, BYTES, RAW: offset of the length */
	uint64_t max; /* UINT: largest value accepted */
	uint8_t size; /* UINT: width of the destination */
	bool required; /* missing: -EBADMSG */
};

#define MG_MP_FIELD_UINT(st, key, member, maximum)             \
	{                                                      \
		.name = (key), .type = MG_MP_F_UINT,           \
		.off = offsetof(st, member), .max = (maximum), \
		.size = sizeof(((st *)0)->member)              \
	}
#define MG_MP_FIELD_BOOL(st, key, member)            \
	{                                            \
		.name = (key), .type = MG_MP_F_BOOL, \
		.off = offsetof(st, member)          \
	}
#define MG_MP_FIELD_STR(st, key, member, length)                         \
	{                                                                \
		.name = (key), .type = MG_MP_F_STR,                      \
		.off = offsetof(st, member), .len = offsetof(st, length) \
	}
#define MG_MP_FIELD_BYTES(st, key, member, length)                       \
	{                                                                \
		.name = (key), .type = MG_MP_F_BYTES,                    \
		.off = offsetof(st, member), .len = offsetof(st, length) \
	}
#define MG_MP_FIELD_RAW(st, key, member, length)                         \
	{                                                                \
		.name = (key), .type = MG_MP_F_RAW,                      \
		.off = offsetof(st, member), .len = offsetof(st, length) \
	}

/*
 * Read a map (nil: empty) at @r into @dst by the @n fields of @f.  Fields
 * not in the map are left as they were.  0, -EAGAIN (truncated), -EBADMSG
 * (malformed, a required field missing), -EINVAL (a value out of bounds).
 */
int mg_mp_read_fields(struct mg_mp_rd *r, const struct mg_mp_field *f,
		      unsigned int n, void *dst);
/* The number of fields of a table declared as an array. */
#define MG_MP_NFIELDS(f) (sizeof(f) / sizeof((f)[0]))

#endif
