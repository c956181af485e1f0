// SPDX-License-Identifier: GPL-2.0-only
/*
 * serf's tags in a member's Meta (agent/serf/tags.c) on hostile bytes:
 * the input is the Meta (at most MG_ML_META_MAX bytes).  What decodes must
 * encode again into Meta that decodes to the same pairs, each view lies
 * inside the Meta, and mg_tags_get() finds each key's (first) value or says
 * why not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serf/tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const struct mg_ml_meta *m, const char *p, uint32_t n)
{
	const char *b = (const char *)m->data;

	if (!n) /* nil reads as "" (a literal, not in Meta) */
		return p != NULL;
	return n <= m->len && p >= b && p + n <= b + m->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mg_tag_view v[MG_TAGS_MAX], w[MG_TAGS_MAX];
	static struct mg_tag t[MG_TAGS_MAX];
	static char keys[MG_TAGS_MAX][MG_ML_META_MAX + 1];
	static char vals[MG_TAGS_MAX][MG_ML_META_MAX + 1];
	static struct mg_ml_meta meta, again;
	char buf[MG_ML_META_MAX + 1];
	int n, m, i, r;
	bool nul = false;

	if (size > MG_ML_META_MAX)
		size = MG_ML_META_MAX;
	memset(&meta, 0, sizeof(meta));
	meta.len = size;
	memcpy(meta.data, data, size);
	n = mg_tags_decode(&meta, v, MG_TAGS_MAX);
	if (n < 0) {
		if (n != -EBADMSG && n != -ENOSPC)
			abort();
		return 0;
	}
	if (n > MG_TAGS_MAX)
		abort();
	for (i = 0; i < n; i++) {
		/* Meta without the magic reads as "role" = all of it. */
		if ((meta.len && meta.data[0] == MG_TAGS_MAGIC &&
		     !inside(&meta, v[i].key, v[i].key_len)) ||
		    !inside(&meta, v[i].value, v[i].value_len))
			abort();
		memcpy(keys[i], v[i].key, v[i].key_len);
		keys[i][v[i].key_len] = '\0';
		memcpy(vals[i], v[i].value, v[i].value_len);
		vals[i][v[i].value_len] = '\0';
		nul |= strlen(keys[i]) != v[i].key_len ||
		       strlen(vals[i]) != v[i].value_len;
		t[i].key = keys[i];
		t[i].value = vals[i];
	}
	/* The first pair: mg_tags_get finds a value of its key. */
	if (n && !nul && meta.len && meta.data[0] == MG_TAGS_MAGIC) {
		r = mg_tags_get(&meta, keys[0], buf, sizeof(buf));
		if (r < 0 || (size_t)r != strlen(buf) || r > MG_ML_META_MAX)
			abort();
	}
	/* Re-encoded (pairs without NUL only), it decodes to the same. */
	if (nul || !meta.len || meta.data[0] != MG_TAGS_MAGIC)
		return 0;
	memset(&again, 0, sizeof(again));
	r = mg_tags_encode(t, n, &again);
	if (r == -EMSGSIZE)
		return 0; /* a longer encoding of the same map */
	if (r)
		abort();
	m = mg_tags_decode(&again, w, MG_TAGS_MAX);
	if (m != n)
		abort();
	for (i = 0; i < n; i++)
		if (w[i].key_len != v[i].key_len ||
		    w[i].value_len != v[i].value_len ||
		    memcmp(w[i].key, keys[i], w[i].key_len) ||
		    memcmp(w[i].value, vals[i], w[i].value_len))
			abort();
	return 0;
}
