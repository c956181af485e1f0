/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * serf's tag encoding of memberlist Meta (serf protocol >= 3): the magic byte
 * 0xff followed by a msgpack map[string]string, e.g. "ff 80" for no tags.
 */
#ifndef MG_GOSSIP_TAGS_H
#define MG_GOSSIP_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "memberlist/messages.h"

#define MG_TAGS_MAGIC	0xff
#define MG_TAGS_MAX	256	/* (512 - 1) / 2: enough for any Meta */

/* A key/value pair for encoding (NUL-terminated strings). */
struct mg_tag {
	const char *key;
	const char *value;
};

/* A decoded pair: views into the Meta bytes, not NUL-terminated. */
struct mg_tag_view {
	const char *key;
	uint32_t key_len;
	const char *value;
	uint32_t value_len;
};

/* Build Meta from @n tags (in the given order).  -EMSGSIZE if > 512 bytes. */
int mg_tags_encode(const struct mg_tag *tags, unsigned int n,
		   struct mg_ml_meta *meta);
/*
 * Parse Meta into at most @max views; returns the number of tags or -errno
 * (-EBADMSG malformed, -ENOSPC more than @max).  Like serf, Meta that does
 * not start with 0xff (or is empty) reads as one tag "role" = the whole Meta.
 */
int mg_tags_decode(const struct mg_ml_meta *meta, struct mg_tag_view *tags,
		   unsigned int max);
/*
 * Copy the value of @key into @buf (NUL-terminated).  Returns its length,
 * -ENOENT when absent, -ENOSPC when it does not fit, or a decode error.
 */
int mg_tags_get(const struct mg_ml_meta *meta, const char *key, char *buf,
		size_t size);

#endif
