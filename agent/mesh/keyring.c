// SPDX-License-Identifier: GPL-2.0-only
/*
 * The keyring file in state_dir: keys in base64, the primary first.
 */
#include "mesh/mesh_int.h"

/* --- keyring --------------------------------------------------------------- */

void mesh_key_b64(const struct mg_key *k, char *out, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (int i = 0; i < k->len && o + 5 < len; i += 3) {
		uint32_t v = k->b[i] << 16;
		int rem = k->len - i;

		if (rem > 1)
			v |= k->b[i + 1] << 8;
		if (rem > 2)
			v |= k->b[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = rem > 1 ? tab[(v >> 6) & 63] : '=';
		out[o++] = rem > 2 ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

int mesh_load_key(void *ctx, const char *line, int lineno)
{
	struct mg_mesh *mesh = ctx;

	if (mg_keyring_add_b64(&mesh->kr, line, false)) {
		pr_warn("%s:%d: not a key, skipped", mesh->keys_path, lineno);
		return -EINVAL;
	}
	return 0;
}

/* kr into state_dir/keyring; 0 or -errno. */
int mesh_save_keys(struct mg_mesh *mesh, const struct mg_keyring *kr)
{
	char buf[8][64];
	const char *lines[8];
	int n = 0;

	/* The primary first: that is how the file is read back. */
	mesh_key_b64(&kr->keys[kr->primary], buf[n], sizeof(buf[n]));
	lines[n] = buf[n];
	n++;
	for (unsigned int i = 0; i < kr->n && n < 8; i++) {
		if (i == kr->primary)
			continue;
		mesh_key_b64(&kr->keys[i], buf[n], sizeof(buf[n]));
		lines[n] = buf[n];
		n++;
	}
	return mg_persist_write_lines(mesh->keys_path, lines, kr->n ? n : 0);
}
