/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memberlist's AES-GCM encryption (security.go, keyring.go).
 *
 * Blob = [vsn][nonce 12][ciphertext][tag 16].  vsn 1 seals the plaintext as
 * is (what we send); vsn 0, still accepted, PKCS#7-pads it to 16 bytes first.
 * Packets carry a blob with no additional data; a stream carries
 * [10][len u32 BE][blob] and the 5 header bytes are the additional data.
 */
#ifndef MG_GOSSIP_CRYPTO_H
#define MG_GOSSIP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define MG_KEYRING_MAX		8
#define MG_KEY_MAX		32
#define MG_CRYPT_NONCE_LEN	12
#define MG_CRYPT_TAG_LEN	16
#define MG_CRYPT_OVERHEAD	(1 + MG_CRYPT_NONCE_LEN + MG_CRYPT_TAG_LEN) /* 29 */
#define MG_CRYPT_V0_OVERHEAD	(MG_CRYPT_OVERHEAD + 16)		/* 45 */
#define MG_STREAM_CRYPT_HDR	5
#define MG_STREAM_MAX_BLOB	(20u << 20)	/* memberlist maxPushStateBytes */

struct mg_key {
	uint8_t len;			/* 16, 24 or 32 */
	uint8_t b[MG_KEY_MAX];
};

/* Keys in install order; keys[primary] encrypts, every key decrypts. */
struct mg_keyring {
	unsigned int n;
	unsigned int primary;
	struct mg_key keys[MG_KEYRING_MAX];
};

/* Base64 (serf keygen) -> key bytes.  -EINVAL unless 16/24/32 bytes. */
int mg_key_parse_b64(const char *s, struct mg_key *key);
/*
 * Install @key (no-op if already there); it becomes primary if @primary or
 * if it is the first key.  -ENOSPC when full, -EINVAL for a bad length.
 */
int mg_keyring_add(struct mg_keyring *kr, const struct mg_key *key,
		   bool primary);
int mg_keyring_add_b64(struct mg_keyring *kr, const char *b64, bool primary);
/* Make an installed key primary; -ENOENT if it is not installed. */
int mg_keyring_use(struct mg_keyring *kr, const struct mg_key *key);
/* Remove a key; -EBUSY for the primary, -ENOENT if not installed. */
int mg_keyring_remove(struct mg_keyring *kr, const struct mg_key *key);
/* Wipe all keys. */
void mg_keyring_clear(struct mg_keyring *kr);

/*
 * Append a vsn-1 blob sealing @pt with the primary key and a random nonce.
 * -ENOKEY on an empty keyring, -EIO on a libcrypto failure.
 */
int mg_crypt_seal(const struct mg_keyring *kr, const uint8_t *pt, size_t n,
		  const uint8_t *aad, size_t aad_len, struct mg_buf *out);
/*
 * Append the plaintext of blob @in, trying every key.  -EBADMSG for an
 * unknown version, a blob shorter than its overhead or bad padding; -EACCES
 * when no key opens it (wrong key or tampered data).
 */
int mg_crypt_open(const struct mg_keyring *kr, const uint8_t *in, size_t n,
		  const uint8_t *aad, size_t aad_len, struct mg_buf *out);

/* Packet form: the datagram is the bare blob. */
int mg_crypt_packet_seal(const struct mg_keyring *kr, const uint8_t *pt,
			 size_t n, struct mg_buf *out);
int mg_crypt_packet_open(const struct mg_keyring *kr, const uint8_t *in,
			 size_t n, struct mg_buf *out);
/* Stream form: [10][len BE32][blob], header as additional data. */
int mg_crypt_stream_seal(const struct mg_keyring *kr, const uint8_t *pt,
			 size_t n, struct mg_buf *out);
/*
 * Open a stream that starts with [10][len].  Returns the number of input
 * bytes consumed (5 + len) and appends the plaintext; -EAGAIN when @n is
 * shorter than that (read more), -EMSGSIZE when len > MG_STREAM_MAX_BLOB,
 * -EPROTO when the first byte is not 10, else as mg_crypt_open().
 */
long mg_crypt_stream_open(const struct mg_keyring *kr, const uint8_t *in,
			  size_t n, struct mg_buf *out);

#endif
