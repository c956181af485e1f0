// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "memberlist/crypto.h"
#include "memberlist/messages.h"

static bool key_len_ok(size_t len)
{
	return len == 16 || len == 24 || len == 32;
}

int mg_key_parse_b64(const char *s, struct mg_key *key)
{
	unsigned char tmp[64];
	size_t len = strlen(s), pad = 0;
	int n;

	/* A key file usually ends with a newline. */
	while (len && isspace((unsigned char)s[len - 1]))
		len--;

	/* 32 bytes are 44 characters; anything longer cannot be a key. */
	if (!len || len % 4 || len > 4 * ((MG_KEY_MAX + 2) / 3))
		return -EINVAL;
	n = EVP_DecodeBlock(tmp, (const unsigned char *)s, len);
	if (n < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts '=' padding as zero bytes. */
	if (s[len - 1] == '=')
		pad++;
	if (s[len - 2] == '=')
		pad++;
	n -= pad;
	if (!key_len_ok(n)) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return -EINVAL;
	}
	key->len = n;
	memcpy(key->b, tmp, n);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

static int key_find(const struct mg_keyring *kr, const struct mg_key *key)
{
	unsigned int i;

	for (i = 0; i < kr->n; i++)
		if (kr->keys[i].len == key->len &&
		    !CRYPTO_memcmp(kr->keys[i].b, key->b, key->len))
			return i;
	return -ENOENT;
}

int mg_keyring_add(struct mg_keyring *kr, const struct mg_key *key,
		   bool primary)
{
	int i;

	if (!key_len_ok(key->len))
		return -EINVAL;
	i = key_find(kr, key);
	if (i < 0) {
		if (kr->n >= MG_KEYRING_MAX)
			return -ENOSPC;
		i = kr->n++;
		kr->keys[i] = *key;
	}
	if (primary || kr->n == 1)
		kr->primary = i;
	return 0;
}

int mg_keyring_add_b64(struct mg_keyring *kr, const char *b64, bool primary)
{
	struct mg_key key;
	int err;

	err = mg_key_parse_b64(b64, &key);
	if (!err)
		err = mg_keyring_add(kr, &key, primary);
	OPENSSL_cleanse(&key, sizeof(key));
	return err;
}

int mg_keyring_use(struct mg_keyring *kr, const struct mg_key *key)
{
	int i = key_find(kr, key);

	if (i < 0)
		return i;
	kr->primary = i;
	return 0;
}

int mg_keyring_remove(struct mg_keyring *kr, const struct mg_key *key)
{
	int i = key_find(kr, key);

	if (i < 0)
		return i;
	if ((unsigned int)i == kr->primary)
		return -EBUSY;
	memmove(&kr->keys[i], &kr->keys[i + 1],
		(kr->n - i - 1) * sizeof(kr->keys[0]));
	kr->n--;
	OPENSSL_cleanse(&kr->keys[kr->n], sizeof(kr->keys[0]));
	if (kr->primary > (unsigned int)i)
		kr->primary--;
	return 0;
}

void mg_keyring_clear(struct mg_keyring *kr)
{
	OPENSSL_cleanse(kr, sizeof(*kr));
}

static const EVP_CIPHER *gcm_cipher(size_t key_len)
{
	switch (key_len) {
	case 16: return EVP_aes_128_gcm();
	case 24: return EVP_aes_192_gcm();
	case 32: return EVP_aes_256_gcm();
	}
	return NULL;
}

/*
 * One AES-GCM operation.  @enc: @in is plaintext, @out gets ciphertext and
 * the tag is written to @tag.  Else @in is ciphertext and @tag is checked.
 * Returns 0, -EACCES (authentication failed) or -EIO.
 */
static int gcm(const struct mg_key *key, bool enc, const uint8_t *nonce,
	       const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t n,
	       uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	int len, err = -EIO;

	if (n > INT_MAX || aad_len > INT_MAX)
		return -EMSGSIZE;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_CipherInit_ex(ctx, gcm_cipher(key->len), NULL, NULL, NULL,
			      enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
				MG_CRYPT_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key->b, nonce, enc) != 1)
		goto out;
	if (aad_len && EVP_CipherUpdate(ctx, NULL, &len, aad, aad_len) != 1)
		goto out;
	if (n && EVP_CipherUpdate(ctx, out, &len, in, n) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
				       MG_CRYPT_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &len) != 1) {
		err = enc ? -EIO : -EACCES;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
				      MG_CRYPT_TAG_LEN, tag) != 1)
		goto out;
	err = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

int mg_crypt_seal(const struct mg_keyring *kr, const uint8_t *pt, size_t n,
		  const uint8_t *aad, size_t aad_len, struct mg_buf *out)
{
	size_t start = out->len;
	uint8_t *blob;
	int err;

	if (!kr || !kr->n)
		return -ENOKEY;
	/* +16: GCM Final may write nothing, but leave it room anyway */
	err = mg_buf_reserve(out, n + MG_CRYPT_OVERHEAD + 16);
	if (err)
		return err;
	blob = out->data + start;
	blob[0] = 1;
	if (RAND_bytes(blob + 1, MG_CRYPT_NONCE_LEN) != 1)
		return -EIO;
	err = gcm(&kr->keys[kr->primary], true, blob + 1, aad, aad_len, pt, n,
		  blob + 1 + MG_CRYPT_NONCE_LEN,
		  blob + 1 + MG_CRYPT_NONCE_LEN + n);
	if (err)
		return err;
	out->len = start + n + MG_CRYPT_OVERHEAD;
	return 0;
}

int mg_crypt_open(const struct mg_keyring *kr, const uint8_t *in, size_t n,
		  const uint8_t *aad, size_t aad_len, struct mg_buf *out)
{
	size_t start = out->len, ct_len;
	unsigned int i;
	uint8_t *pt, pad;
	int err = -EACCES;

	if (!kr || !kr->n)
		return -ENOKEY;
	if (!n || in[0] > 1)
		return -EBADMSG;
	if (n < (in[0] ? MG_CRYPT_OVERHEAD : MG_CRYPT_V0_OVERHEAD))
		return -EBADMSG;
	ct_len = n - MG_CRYPT_OVERHEAD;
	if (mg_buf_reserve(out, ct_len + 16))
		return -ENOMEM;
	pt = out->data + start;
	for (i = 0; i < kr->n; i++) {
		err = gcm(&kr->keys[i], false, in + 1, aad, aad_len,
			  in + 1 + MG_CRYPT_NONCE_LEN, ct_len, pt,
			  (uint8_t *)in + n - MG_CRYPT_TAG_LEN);
		if (err != -EACCES)
			break;
	}
	if (err)
		return err;
	if (in[0] == 0) {
		/* PKCS#7: 1..16 bytes, each holding the pad length */
		pad = pt[ct_len - 1];
		if (!pad || pad > 16 || pad > ct_len)
			return -EBADMSG;
		for (i = 0; i < pad; i++)
			if (pt[ct_len - 1 - i] != pad)
				return -EBADMSG;
		ct_len -= pad;
	}
	out->len = start + ct_len;
	return 0;
}

int mg_crypt_packet_seal(const struct mg_keyring *kr, const uint8_t *pt,
			 size_t n, struct mg_buf *out)
{
	return mg_crypt_seal(kr, pt, n, NULL, 0, out);
}

int mg_crypt_packet_open(const struct mg_keyring *kr, const uint8_t *in,
			 size_t n, struct mg_buf *out)
{
	return mg_crypt_open(kr, in, n, NULL, 0, out);
}

int mg_crypt_stream_seal(const struct mg_keyring *kr, const uint8_t *pt,
			 size_t n, struct mg_buf *out)
{
	size_t start = out->len;
	uint8_t hdr[MG_STREAM_CRYPT_HDR];
	int err;

	if (n + MG_CRYPT_OVERHEAD > MG_STREAM_MAX_BLOB)
		return -EMSGSIZE;
	hdr[0] = MG_ML_ENCRYPT;
	mg_put_be32(hdr + 1, n + MG_CRYPT_OVERHEAD);
	err = mg_buf_put(out, hdr, sizeof(hdr));
	if (!err)
		err = mg_crypt_seal(kr, pt, n, hdr, sizeof(hdr), out);
	if (err)
		out->len = start;
	return err;
}

long mg_crypt_stream_open(const struct mg_keyring *kr, const uint8_t *in,
			  size_t n, struct mg_buf *out)
{
	uint32_t len;
	int err;

	if (n < MG_STREAM_CRYPT_HDR)
		return n && in[0] != MG_ML_ENCRYPT ? -EPROTO : -EAGAIN;
	if (in[0] != MG_ML_ENCRYPT)
		return -EPROTO;
	len = mg_get_be32(in + 1);
	if (len > MG_STREAM_MAX_BLOB)
		return -EMSGSIZE;
	if (n - MG_STREAM_CRYPT_HDR < len)
		return -EAGAIN;
	err = mg_crypt_open(kr, in + MG_STREAM_CRYPT_HDR, len, in,
			    MG_STREAM_CRYPT_HDR, out);
	return err ? err : (long)(MG_STREAM_CRYPT_HDR + len);
}
