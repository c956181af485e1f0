// SPDX-License-Identifier: GPL-2.0-only
/*
 * Incremental TCP stream framing, as the transport reads a stream: the
 * bytes arrive in pieces, and after each the reader asks how much the
 * stream needs in all (mg_ml_stream_need) and tries to decode it.  The
 * first byte picks a key (bit 0x10; plaintext accepted too with 0x20) and
 * the rest the size of the pieces (low nibble + 1, times 7).
 *
 * Invariants: a stream whose header says how long it is never decodes from
 * fewer bytes; nothing decoded claims more bytes than it was given; once
 * decoded or refused, more bytes change nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "memberlist/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mg_key key = { .len = 16 };	/* all zeros */
	struct mg_keyring kr = { 0 };
	struct mg_ml_opts o = { 0 };
	struct mg_ml_stream s;
	size_t step, n = 0;
	uint8_t mode;
	int err = -EAGAIN, first = -EAGAIN;

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
	step = ((mode & 0x0f) + 1) * 7;
	while (n < size) {
		size_t need;

		n = n + step < size ? n + step : size;
		need = mg_ml_stream_need(data, n);
		err = mg_ml_stream_decode(data, n, &o, &s);
		if (!err && need && n < need)
			abort();
		if (!err && s.consumed > n)
			abort();
		mg_ml_stream_free(&s);
		if (err != -EAGAIN) {
			first = err;
			break;
		}
	}
	/* the whole input says the same once a prefix has decided */
	if (first != -EAGAIN && n < size) {
		err = mg_ml_stream_decode(data, size, &o, &s);
		mg_ml_stream_free(&s);
		if ((err == 0) != (first == 0) && first != -EMSGSIZE)
			abort();
	}
	mg_keyring_clear(&kr);
	return 0;
}
