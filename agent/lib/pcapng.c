// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include "pcapng.h"

#define BT_SHB		0x0a0d0d0a
#define BT_IDB		0x00000001
#define BT_EPB		0x00000006
#define OPT_END		0
#define OPT_COMMENT	1
#define OPT_IF_NAME	2
#define OPT_IF_TSRESOL	9
#define LINKTYPE_ETHERNET 1

static uint32_t pad4(uint32_t n)
{
	return (n + 3) & ~3u;
}

static uint32_t opt_size(const char *s)
{
	return s ? 4 + pad4(strlen(s)) : 0;
}

static int put(struct mg_pcapng *p, const void *b, size_t n)
{
	return fwrite(b, 1, n, p->f) == n ? 0 : -EIO;
}

static int put32(struct mg_pcapng *p, uint32_t v)
{
	return put(p, &v, 4);
}

static int put_opt(struct mg_pcapng *p, uint16_t code, const void *v,
		   uint16_t n)
{
	static const uint8_t zero[4];
	uint16_t h[2] = { code, n };
	int err = put(p, h, 4);

	if (!err)
		err = put(p, v, n);
	if (!err)
		err = put(p, zero, pad4(n) - n);
	return err;
}

int mg_pcapng_open(struct mg_pcapng *p, const char *path, uint32_t snaplen)
{
	/* Host byte order: the byte-order magic tells readers which. */
	struct {
		uint32_t type, len, magic;
		uint16_t major, minor;
		int64_t section_len;
		uint32_t len2;
	} __attribute__((packed)) shb = { BT_SHB, 28, 0x1a2b3c4d, 1, 0, -1, 28 };

	memset(p, 0, sizeof(*p));
	p->snaplen = snaplen;
	p->f = fopen(path, "we");
	if (!p->f)
		return -errno;
	_Static_assert(sizeof(shb) == 28, "section header block");
	if (put(p, &shb, sizeof(shb)) || fflush(p->f)) {
		fclose(p->f);
		p->f = NULL;
		return -EIO;
	}
	return 0;
}

/* The interface id of ifindex, its description written the first time. */
static int if_id(struct mg_pcapng *p, uint32_t ifindex, const char *name)
{
	const uint8_t tsresol = 9;	/* nanoseconds */
	uint32_t len;
	uint16_t h[2] = { LINKTYPE_ETHERNET, 0 };
	int err;

	for (int i = 0; i < p->n_ifs; i++)
		if (p->ifindex[i] == ifindex)
			return i;
	if (p->n_ifs == MG_PCAPNG_IFS)
		return -ENOSPC;
	len = 20 + opt_size(name) + 4 + 4 + 4;
	err = put32(p, BT_IDB) ?: put32(p, len) ?: put(p, h, 4) ?:
	      put32(p, p->snaplen);
	if (!err && name)
		err = put_opt(p, OPT_IF_NAME, name, strlen(name));
	if (!err)
		err = put_opt(p, OPT_IF_TSRESOL, &tsresol, 1) ?:
		      put_opt(p, OPT_END, NULL, 0) ?: put32(p, len);
	if (err)
		return err;
	p->ifindex[p->n_ifs] = ifindex;
	return p->n_ifs++;
}

int mg_pcapng_write(struct mg_pcapng *p, uint64_t ts_ns, uint32_t ifindex,
		    const char *ifname, const void *data, uint32_t cap,
		    uint32_t len, const char *comment)
{
	static const uint8_t zero[4];
	int id = if_id(p, ifindex, ifname);
	uint32_t blen;
	int err;

	if (id < 0)
		return id;
	blen = 32 + pad4(cap) + opt_size(comment) + 4;
	err = put32(p, BT_EPB) ?: put32(p, blen) ?: put32(p, id) ?:
	      put32(p, ts_ns >> 32) ?: put32(p, (uint32_t)ts_ns) ?:
	      put32(p, cap) ?: put32(p, len) ?: put(p, data, cap) ?:
	      put(p, zero, pad4(cap) - cap);
	if (!err && comment)
		err = put_opt(p, OPT_COMMENT, comment, strlen(comment));
	if (!err)
		err = put_opt(p, OPT_END, NULL, 0) ?: put32(p, blen);
	if (!err && fflush(p->f))
		err = -errno;
	return err;
}

int mg_pcapng_close(struct mg_pcapng *p)
{
	int err = 0;

	if (p->f && fclose(p->f))
		err = -errno;
	p->f = NULL;
	return err;
}
