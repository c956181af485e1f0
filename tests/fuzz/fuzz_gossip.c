// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gossip wire codec on hostile bytes.  The first input byte picks the
 * entry point and options; the rest is a datagram or stream as received.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memberlist/lzw.h"
#include "serf/tags.h"
#include "memberlist/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *ctx, const struct mg_ml_msg *m)
{
	struct mg_tag_view tags[MG_TAGS_MAX];
	struct mg_buf out = { 0 };

	/* what we decoded must encode again */
	if (m->type != MG_ML_USER)
		mg_ml_msg_encode(m, &out);
	if (m->type == MG_ML_ALIVE)
		mg_tags_decode(&m->alive.meta, tags, MG_TAGS_MAX);
	mg_buf_free(&out);
	(*(unsigned int *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mg_key key = { .len = 16 };	/* all zeros */
	struct mg_keyring kr = { 0 };
	struct mg_ml_opts o = { 0 };
	struct mg_ml_stream s;
	struct mg_buf out = { 0 };
	unsigned int count = 0;
	uint8_t mode;

	if (!size)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 0x10) {
		mg_keyring_add(&kr, &key, true);
		o.kr = &kr;
		o.accept_plaintext = mode & 0x20;
	}
	switch (mode & 0x03) {
	case 0:
		mg_ml_packet_decode(data, size, &o, sink, &count, NULL);
		break;
	case 1:
		/* what we decoded must encode again */
		if (!mg_ml_stream_decode(data, size, &o, &s) &&
		    s.type == MG_ML_PUSH_PULL)
			mg_ml_push_pull_encode(s.pp.join, s.nodes, s.pp.nodes,
					       s.user_state.data,
					       s.user_state.len, &out);
		mg_ml_stream_free(&s);
		break;
	case 2:
		mg_lzw_decompress(data, size, 1 << 20, &out);
		break;
	default:
		mg_ml_packet_wrap(data, size, &(struct mg_ml_opts){
			.compress = true, .crc = mode & 4 }, &out);
		mg_ml_packet_decode(out.data, out.len, NULL, sink, &count,
				    NULL);
		break;
	}
	mg_buf_free(&out);
	mg_keyring_clear(&kr);
	return 0;
}
