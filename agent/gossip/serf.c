// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include "gossip/member.h"
#include "gossip/msgpack.h"
#include "gossip/serf.h"

/* Witness the top-level "LTime" of a serf message body (a msgpack map). */
static void witness(uint64_t *ltime, const uint8_t *b, size_t n)
{
	struct mg_mp_rd rd;
	uint32_t count, i, klen;
	const uint8_t *key;
	uint64_t v;

	mg_mp_rd_init(&rd, b, n);
	if (mg_mp_read_map(&rd, &count))
		return;
	for (i = 0; i < count; i++) {
		if (mg_mp_read_str(&rd, &key, &klen))
			return;
		if (klen == 5 && !memcmp(key, "LTime", 5)) {
			if (!mg_mp_read_uint(&rd, UINT64_MAX, &v) && v > *ltime)
				*ltime = v;
		} else if (mg_mp_skip(&rd)) {
			return;
		}
	}
}

void mg_serf_witness_user(uint64_t *ltime, const uint8_t *p, size_t n)
{
	if (n > 1 && (p[0] == MG_SERF_LEAVE_INTENT ||
		      p[0] == MG_SERF_JOIN_INTENT))
		witness(ltime, p + 1, n - 1);
}

void mg_serf_witness_state(uint64_t *ltime, const uint8_t *p, size_t n)
{
	if (n > 1 && p[0] == MG_SERF_PUSH_PULL)
		witness(ltime, p + 1, n - 1);
}

int mg_serf_leave_intent_encode(const char *name, uint64_t *ltime,
				struct mg_buf *out)
{
	msgpack_packer pk;
	int err;

	mg_mp_packer_init(&pk, out);
	err = mg_buf_put_u8(out, MG_SERF_LEAVE_INTENT);
	err = err ?: msgpack_pack_map(&pk, 3);
	err = err ?: mg_mp_pack_cstr(&pk, "LTime");
	err = err ?: mg_mp_pack_uint(&pk, ++*ltime);
	err = err ?: mg_mp_pack_cstr(&pk, "Node");
	err = err ?: mg_mp_pack_cstr(&pk, name);
	err = err ?: mg_mp_pack_cstr(&pk, "Prune");
	err = err ?: mg_mp_pack_bool(&pk, false);
	return err;
}

int mg_serf_leave_intent(struct mg_member *m, const char *name,
			 uint64_t *ltime)
{
	struct mg_buf b = { 0 };
	int err;

	err = mg_serf_leave_intent_encode(name, ltime, &b);
	err = err ?: mg_member_user_broadcast(m, b.data, b.len);
	mg_buf_free(&b);
	return err;
}
