// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "lib/msgpack.h"
#include "serf/tags.h"

int mg_tags_encode(const struct mg_tag *tags, unsigned int n,
		   struct mg_ml_meta *meta)
{
	struct mg_buf b = { 0 };
	msgpack_packer pk;
	unsigned int i;
	int err;

	err = mg_buf_put_u8(&b, MG_TAGS_MAGIC);
	mg_mp_packer_init(&pk, &b);
	if (!err && msgpack_pack_map(&pk, n))
		err = -ENOMEM;
	for (i = 0; !err && i < n; i++) {
		err = mg_mp_pack_cstr(&pk, tags[i].key);
		if (!err)
			err = mg_mp_pack_cstr(&pk, tags[i].value);
	}
	if (!err && b.len > MG_ML_META_MAX)
		err = -EMSGSIZE;
	if (!err) {
		memcpy(meta->data, b.data, b.len);
		meta->len = b.len;
	}
	mg_buf_free(&b);
	return err;
}

int mg_tags_decode(const struct mg_ml_meta *meta, struct mg_tag_view *tags,
		   unsigned int max)
{
	struct mg_mp_rd rd;
	const uint8_t *k, *v;
	uint32_t n, i, kl, vl;
	int err;

	if (meta->len > MG_ML_META_MAX)
		return -EINVAL;
	if (!meta->len || meta->data[0] != MG_TAGS_MAGIC) {
		if (!max)
			return -ENOSPC;
		tags[0].key = "role";
		tags[0].key_len = 4;
		tags[0].value = (const char *)meta->data;
		tags[0].value_len = meta->len;
		return 1;
	}
	mg_mp_rd_init(&rd, meta->data + 1, meta->len - 1);
	err = mg_mp_read_map(&rd, &n);
	if (err)
		return -EBADMSG;
	if (n > max)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		err = mg_mp_read_str(&rd, &k, &kl);
		if (!err)
			err = mg_mp_read_str(&rd, &v, &vl);
		if (err)
			return -EBADMSG;
		tags[i].key = (const char *)k;
		tags[i].key_len = kl;
		tags[i].value = (const char *)v;
		tags[i].value_len = vl;
	}
	return n;
}

int mg_tags_get(const struct mg_ml_meta *meta, const char *key, char *buf,
		size_t size)
{
	struct mg_tag_view tags[MG_TAGS_MAX];
	size_t klen = strlen(key);
	int n, i;

	n = mg_tags_decode(meta, tags, MG_TAGS_MAX);
	if (n < 0)
		return n;
	/* Go decodes a map into a map: the last duplicate wins. */
	for (i = n - 1; i >= 0; i--) {
		if (tags[i].key_len != klen || memcmp(tags[i].key, key, klen))
			continue;
		if (tags[i].value_len >= size)
			return -ENOSPC;
		memcpy(buf, tags[i].value, tags[i].value_len);
		buf[tags[i].value_len] = 0;
		return tags[i].value_len;
	}
	return -ENOENT;
}
