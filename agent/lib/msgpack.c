// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "lib/msgpack.h"

static int mp_write(void *data, const char *p, size_t n)
{
	return mg_buf_put(data, p, n) ? -1 : 0;
}

void mg_mp_packer_init(msgpack_packer *pk, struct mg_buf *b)
{
	msgpack_packer_init(pk, b, mp_write);
}

int mg_mp_pack_raw(msgpack_packer *pk, const void *p, size_t n)
{
	if (n > UINT32_MAX)
		return -EINVAL;
	if (msgpack_pack_v4raw(pk, n) || msgpack_pack_v4raw_body(pk, p, n))
		return -ENOMEM;
	return 0;
}

int mg_mp_pack_cstr(msgpack_packer *pk, const char *s)
{
	return mg_mp_pack_raw(pk, s, strlen(s));
}

int mg_mp_pack_bytes(msgpack_packer *pk, const void *p, size_t n)
{
	if (!p)
		return msgpack_pack_nil(pk) ? -ENOMEM : 0;
	return mg_mp_pack_raw(pk, p, n);
}

int mg_mp_pack_uint(msgpack_packer *pk, uint64_t v)
{
	return msgpack_pack_uint64(pk, v) ? -ENOMEM : 0;
}

int mg_mp_pack_bool(msgpack_packer *pk, bool v)
{
	return (v ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) ? -ENOMEM : 0;
}

/* --- reading ------------------------------------------------------------- */

static int rd_need(const struct mg_mp_rd *r, size_t n)
{
	return mg_mp_rd_left(r) < n ? -EAGAIN : 0;
}

static uint64_t rd_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* Read a big-endian length of @w bytes that follows the tag byte. */
static int rd_len(struct mg_mp_rd *r, int w, uint32_t *len)
{
	if (rd_need(r, 1 + w))
		return -EAGAIN;
	*len = (uint32_t)rd_be(r->p + r->off + 1, w);
	r->off += 1 + w;
	return 0;
}

static int rd_container(struct mg_mp_rd *r, uint32_t *count, uint8_t fix,
			uint8_t t16, uint8_t t32)
{
	uint8_t t;

	if (rd_need(r, 1))
		return -EAGAIN;
	t = r->p[r->off];
	if ((t & 0xf0) == fix) {
		*count = t & 0x0f;
		r->off++;
		return 0;
	}
	if (t == t16)
		return rd_len(r, 2, count);
	if (t == t32)
		return rd_len(r, 4, count);
	return -EBADMSG;
}

int mg_mp_read_map(struct mg_mp_rd *r, uint32_t *count)
{
	if (!rd_need(r, 1) && r->p[r->off] == 0xc0) {
		r->off++;
		*count = 0;
		return 0;
	}
	return rd_container(r, count, 0x80, 0xde, 0xdf);
}

int mg_mp_read_array(struct mg_mp_rd *r, uint32_t *count)
{
	return rd_container(r, count, 0x90, 0xdc, 0xdd);
}

static int rd_raw(struct mg_mp_rd *r, bool allow_bin, const uint8_t **s,
		  uint32_t *len)
{
	size_t save = r->off;
	uint32_t n = 0;
	int err = 0;
	uint8_t t;

	if (rd_need(r, 1))
		return -EAGAIN;
	t = r->p[r->off];
	if ((t & 0xe0) == 0xa0) {
		n = t & 0x1f;
		r->off++;
	} else if (t == 0xc0) {
		r->off++;
		*s = NULL;
		*len = 0;
		return 0;
	} else if (t == 0xd9 || (allow_bin && t == 0xc4)) {
		err = rd_len(r, 1, &n);
	} else if (t == 0xda || (allow_bin && t == 0xc5)) {
		err = rd_len(r, 2, &n);
	} else if (t == 0xdb || (allow_bin && t == 0xc6)) {
		err = rd_len(r, 4, &n);
	} else {
		return -EBADMSG;
	}
	if (err)
		return err;
	if (mg_mp_rd_left(r) < n) {
		r->off = save;
		return -EAGAIN;
	}
	*s = r->p + r->off;
	*len = n;
	r->off += n;
	return 0;
}

int mg_mp_read_str(struct mg_mp_rd *r, const uint8_t **s, uint32_t *len)
{
	int err = rd_raw(r, false, s, len);

	if (!err && !*s)
		*s = (const uint8_t *)"";
	return err;
}

int mg_mp_read_bytes(struct mg_mp_rd *r, const uint8_t **s, uint32_t *len)
{
	return rd_raw(r, true, s, len);
}

int mg_mp_read_uint(struct mg_mp_rd *r, uint64_t max, uint64_t *v)
{
	static const uint8_t width[8] = { 1, 2, 4, 8, 1, 2, 4, 8 };
	uint64_t x;
	uint8_t t;
	int w;

	if (rd_need(r, 1))
		return -EAGAIN;
	t = r->p[r->off];
	if (t <= 0x7f) {
		x = t;
		r->off++;
	} else if (t >= 0xe0) {
		return -EINVAL;		/* negative fixint */
	} else if (t >= 0xcc && t <= 0xd3) {
		w = width[t - 0xcc];
		if (rd_need(r, 1 + w))
			return -EAGAIN;
		x = rd_be(r->p + r->off + 1, w);
		if (t >= 0xd0 && (x >> (8 * w - 1)))
			return -EINVAL;	/* negative signed form */
		r->off += 1 + w;
	} else {
		return -EBADMSG;
	}
	if (x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

int mg_mp_read_bool(struct mg_mp_rd *r, bool *v)
{
	uint64_t x;
	int err;

	if (rd_need(r, 1))
		return -EAGAIN;
	switch (r->p[r->off]) {
	case 0xc2:
	case 0xc3:
		*v = r->p[r->off++] == 0xc3;
		return 0;
	}
	err = mg_mp_read_uint(r, 1, &x);
	if (!err)
		*v = x;
	return err;
}

/*
 * Length of the value's header and payload, and how many nested values follow
 * it (containers).  Returns 0, -EAGAIN or -EBADMSG.
 */
static int value_head(const struct mg_mp_rd *r, size_t *skip, uint64_t *nested)
{
	const uint8_t *p = r->p + r->off;
	size_t left = mg_mp_rd_left(r);
	uint8_t t;
	int w = 0;

	if (!left)
		return -EAGAIN;
	t = p[0];
	*nested = 0;
	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
		*skip = 1;
		return 0;
	}
	if ((t & 0xe0) == 0xa0) {
		*skip = 1 + (t & 0x1f);
		return 0;
	}
	if ((t & 0xf0) == 0x80) {
		*skip = 1;
		*nested = 2ull * (t & 0x0f);
		return 0;
	}
	if ((t & 0xf0) == 0x90) {
		*skip = 1;
		*nested = t & 0x0f;
		return 0;
	}
	switch (t) {
	case 0xcc: case 0xd0: *skip = 2; return 0;
	case 0xcd: case 0xd1: *skip = 3; return 0;
	case 0xce: case 0xd2: case 0xca: *skip = 5; return 0;
	case 0xcf: case 0xd3: case 0xcb: *skip = 9; return 0;
	case 0xd4: *skip = 3; return 0;		/* fixext 1..16 */
	case 0xd5: *skip = 4; return 0;
	case 0xd6: *skip = 6; return 0;
	case 0xd7: *skip = 10; return 0;
	case 0xd8: *skip = 18; return 0;
	case 0xc4: case 0xd9: case 0xc7: w = 1; break;
	case 0xc5: case 0xda: case 0xc8: case 0xdc: case 0xde: w = 2; break;
	case 0xc6: case 0xdb: case 0xc9: case 0xdd: case 0xdf: w = 4; break;
	default:
		return -EBADMSG;	/* 0xc1 */
	}
	if (left < (size_t)1 + w)
		return -EAGAIN;
	{
		uint64_t n = rd_be(p + 1, w);

		*skip = 1 + w;
		if (t == 0xdc || t == 0xdd)
			*nested = n;
		else if (t == 0xde || t == 0xdf)
			*nested = 2 * n;
		else
			*skip += n + (t >= 0xc7 && t <= 0xc9);	/* ext type byte */
	}
	return 0;
}

int mg_mp_skip(struct mg_mp_rd *r)
{
	size_t save = r->off, skip;
	uint64_t pending = 1, nested;
	int err;

	/* Every value costs at least one byte, so this ends with the input. */
	while (pending) {
		err = value_head(r, &skip, &nested);
		if (!err && mg_mp_rd_left(r) < skip)
			err = -EAGAIN;
		if (err) {
			r->off = save;
			return err;
		}
		r->off += skip;
		pending += nested - 1;
	}
	return 0;
}

static int read_field(struct mg_mp_rd *r, const struct mg_mp_field *f,
		      uint8_t *dst)
{
	const uint8_t *s = NULL;
	size_t at = r->off, raw;
	uint32_t len = 0;
	uint64_t v;
	int err;

	switch (f->type) {
	case MG_MP_F_UINT:
		err = mg_mp_read_uint(r, f->max, &v);
		if (err)
			return err;
		switch (f->size) {
		case 1:
			*(uint8_t *)(dst + f->off) = v;
			break;
		case 2:
			*(uint16_t *)(dst + f->off) = v;
			break;
		case 4:
			*(uint32_t *)(dst + f->off) = v;
			break;
		default:
			memcpy(dst + f->off, &v, sizeof(v));
		}
		return 0;
	case MG_MP_F_BOOL:
		return mg_mp_read_bool(r, (bool *)(dst + f->off));
	case MG_MP_F_STR:
	case MG_MP_F_BYTES:
		err = f->type == MG_MP_F_STR ? mg_mp_read_str(r, &s, &len) :
					       mg_mp_read_bytes(r, &s, &len);
		if (err)
			return err;
		memcpy(dst + f->off, &s, sizeof(s));
		memcpy(dst + f->len, &len, sizeof(len));
		return 0;
	case MG_MP_F_RAW:
		err = mg_mp_skip(r);
		if (err)
			return err;
		s = r->p + at;
		raw = r->off - at;
		memcpy(dst + f->off, &s, sizeof(s));
		memcpy(dst + f->len, &raw, sizeof(raw));
		return 0;
	}
	return -EINVAL;
}

int mg_mp_read_fields(struct mg_mp_rd *r, const struct mg_mp_field *f,
		      unsigned int n, void *dst)
{
	uint64_t seen = 0;
	uint32_t count, i, klen;
	const uint8_t *key;
	unsigned int j;
	int err;

	if (n > 64)
		return -EINVAL;
	err = mg_mp_read_map(r, &count);
	for (i = 0; !err && i < count; i++) {
		err = mg_mp_read_str(r, &key, &klen);
		if (err)
			break;
		for (j = 0; j < n; j++)
			if (strlen(f[j].name) == klen &&
			    !memcmp(f[j].name, key, klen))
				break;
		if (j == n) {
			err = mg_mp_skip(r);
			continue;
		}
		err = read_field(r, &f[j], dst);
		seen |= 1ull << j;
	}
	for (j = 0; !err && j < n; j++)
		if (f[j].required && !(seen & (1ull << j)))
			err = -EBADMSG;
	return err;
}
