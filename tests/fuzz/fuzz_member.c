// SPDX-License-Identifier: GPL-2.0-only
/*
 * The membership engine's reactions to what it decodes: alive, suspect,
 * dead, push/pull merges (and their protocol version check), pings and
 * acks, on a fake clock.  The input is a sequence of records
 *
 *	[op][len BE16][len bytes]
 *
 * op & 3: 0 a datagram from 10.0.0.2, 1 an inbound stream, 2 the clock
 * moves by (first byte) x 100 ms and the engine runs what is due.  After
 * each record the table must hold at most its bound, ourselves included,
 * and no name with a control character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memberlist/member.h"
#include "memberlist/wire.h"
#include "lib/addr.h"
#include "lib/log.h"

#define MAX_MEMBERS	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t now_us;

static uint64_t fake_now(void *arg)
{
	return now_us;
}

static int fake_send(void *arg, const struct mg_addr *to, uint16_t port,
		     const uint8_t *p, size_t n)
{
	return 0;
}

static int fake_stream(void *arg, const struct mg_addr *to, uint16_t port,
		       const uint8_t *p, size_t n, uint64_t deadline,
		       uint32_t token)
{
	return 0;
}

static int check_member(void *ctx, const struct mg_member_info *mi)
{
	for (const char *s = mi->name; *s; s++)
		if ((uint8_t)*s < 0x20 || *s == 0x7f)
			abort();
	(*(unsigned int *)ctx)++;
	return 0;
}

static void check(struct mg_member *m)
{
	struct mg_member_info self;
	unsigned int n = 0;

	mg_member_foreach(m, check_member, &n);
	if (n != mg_member_count(m) || n > MAX_MEMBERS)
		abort();
	if (mg_member_find(m, "fz", &self) || !self.self)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mg_member_io io = { fake_send, fake_stream, NULL };
	struct mg_member_cfg cfg;
	struct mg_addr from;
	struct mg_member *m;
	int err;

	mg_log_set_level(MG_LOG_ERR);
	now_us = 1000000;
	mg_member_cfg_init(&cfg, MG_MEMBER_LAN);
	strcpy(cfg.name, "fz");
	mg_addr_parse("10.0.0.1", &cfg.bind);
	mg_addr_parse("10.0.0.2", &from);
	cfg.now = fake_now;
	cfg.io = &io;
	cfg.seed = 1;
	cfg.max_members = MAX_MEMBERS;
	m = mg_member_new(NULL, &cfg, NULL, NULL, &err);
	if (!m)
		abort();
	while (size >= 3) {
		uint8_t op = data[0];
		size_t len = (size_t)data[1] << 8 | data[2];
		struct mg_buf reply = { 0 };

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		switch (op & 3) {
		case 0:
			mg_member_packet_in(m, &from, MG_MEMBER_PORT, data, len);
			break;
		case 1:
			mg_member_stream_in(m, data, len, &reply);
			break;
		default:
			now_us += (len ? data[0] : 1) * 100000ULL;
			mg_member_tick(m);
			break;
		}
		mg_buf_free(&reply);
		check(m);
		data += len;
		size -= len;
	}
	mg_member_free(m);
	return 0;
}
