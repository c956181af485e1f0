// SPDX-License-Identifier: GPL-2.0-only
/* Keyring and memberlist's AES-GCM framing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "memberlist/crypto.h"

static const char SERF_KEY[] = "7KX2lMvSGS7RFJ6FNa91iePoWrP2UYOwm68K/NhQh7Y=\n";

static void make_key(struct mg_key *k, size_t len, uint8_t seed)
{
	size_t i;

	k->len = len;
	for (i = 0; i < len; i++)
		k->b[i] = seed + i * 7;
}

static void test_key_parse(void **state)
{
	struct mg_key k;

	assert_int_equal(mg_key_parse_b64(SERF_KEY, &k), 0);
	assert_int_equal(k.len, 32);
	assert_int_equal(k.b[0], 0xec);
	assert_int_equal(k.b[31], 0xb6);
	assert_int_equal(mg_key_parse_b64("AAECAwQFBgcICQoLDA0ODw==", &k), 0);
	assert_int_equal(k.len, 16);
	assert_int_equal(k.b[15], 15);
	assert_int_equal(mg_key_parse_b64(
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", &k), 0);
	assert_int_equal(k.len, 24);
	/* 15 and 33 bytes, bad characters, empty, not a multiple of 4 */
	assert_int_equal(mg_key_parse_b64("AAECAwQFBgcICQoLDA0O", &k), -EINVAL);
	assert_int_equal(mg_key_parse_b64(
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", &k), -EINVAL);
	assert_int_equal(mg_key_parse_b64("AAECAwQFBgcI*QoLDA0ODw==", &k),
			 -EINVAL);
	assert_int_equal(mg_key_parse_b64("", &k), -EINVAL);
	assert_int_equal(mg_key_parse_b64("AAECAwQFBgcICQoLDA0ODw=", &k),
			 -EINVAL);
}

static void test_keyring(void **state)
{
	struct mg_keyring kr = { 0 };
	struct mg_key a, b, c, bad;
	int i;

	make_key(&a, 16, 1);
	make_key(&b, 24, 2);
	make_key(&c, 32, 3);
	make_key(&bad, 20, 4);
	assert_int_equal(mg_keyring_add(&kr, &bad, false), -EINVAL);
	assert_int_equal(mg_keyring_add(&kr, &a, false), 0);
	assert_int_equal(kr.primary, 0);	/* first key is primary */
	assert_int_equal(mg_keyring_add(&kr, &b, false), 0);
	assert_int_equal(kr.primary, 0);
	assert_int_equal(mg_keyring_add(&kr, &c, true), 0);
	assert_int_equal(kr.primary, 2);
	assert_int_equal(mg_keyring_add(&kr, &c, false), 0);	/* no dup */
	assert_int_equal(kr.n, 3);
	assert_int_equal(mg_keyring_remove(&kr, &c), -EBUSY);
	assert_int_equal(mg_keyring_use(&kr, &b), 0);
	assert_int_equal(mg_keyring_remove(&kr, &a), 0);
	assert_int_equal(kr.n, 2);
	assert_int_equal(kr.primary, 0);	/* b moved down */
	assert_int_equal(kr.keys[kr.primary].len, 24);
	assert_int_equal(mg_keyring_remove(&kr, &a), -ENOENT);
	assert_int_equal(mg_keyring_use(&kr, &a), -ENOENT);
	for (i = 0; kr.n < MG_KEYRING_MAX; i++) {
		make_key(&a, 16, 100 + i);
		assert_int_equal(mg_keyring_add(&kr, &a, false), 0);
	}
	make_key(&a, 16, 200);
	assert_int_equal(mg_keyring_add(&kr, &a, false), -ENOSPC);
	assert_int_equal(mg_keyring_add_b64(&kr, "!!", false), -EINVAL);
	mg_keyring_clear(&kr);
	assert_int_equal(kr.n, 0);
}

static void test_roundtrip_all_sizes(void **state)
{
	static const size_t lens[] = { 16, 24, 32 };
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 1371, 65000 };
	struct mg_keyring kr = { 0 }, other = { 0 };
	struct mg_buf ct = { 0 }, pt = { 0 };
	struct mg_key k;
	uint8_t *msg = malloc(65000);
	size_t i, j;

	for (j = 0; j < 65000; j++)
		msg[j] = j * 31;
	for (i = 0; i < 3; i++) {
		mg_keyring_clear(&kr);
		mg_keyring_clear(&other);
		make_key(&k, lens[i], 9);
		assert_int_equal(mg_keyring_add(&kr, &k, true), 0);
		make_key(&k, lens[i], 10);
		assert_int_equal(mg_keyring_add(&other, &k, true), 0);
		for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			mg_buf_reset(&ct);
			mg_buf_reset(&pt);
			assert_int_equal(mg_crypt_packet_seal(&kr, msg, sizes[j],
							      &ct), 0);
			assert_int_equal(ct.len, sizes[j] + MG_CRYPT_OVERHEAD);
			assert_int_equal(ct.data[0], 1);
			assert_int_equal(mg_crypt_packet_open(&kr, ct.data,
							      ct.len, &pt), 0);
			assert_int_equal(pt.len, sizes[j]);
			assert_memory_equal(pt.data, msg, sizes[j]);
			/* wrong key */
			assert_int_equal(mg_crypt_packet_open(&other, ct.data,
							      ct.len, &pt),
					 -EACCES);
			/* the other ring learns the key: any key decrypts */
			make_key(&k, lens[i], 9);
			assert_int_equal(mg_keyring_add(&other, &k, false), 0);
			mg_buf_reset(&pt);
			assert_int_equal(mg_crypt_packet_open(&other, ct.data,
							      ct.len, &pt), 0);
			assert_int_equal(pt.len, sizes[j]);
			assert_int_equal(mg_keyring_remove(&other, &k), 0);
		}
	}
	mg_buf_free(&ct);
	mg_buf_free(&pt);
	free(msg);
}

static void test_tamper(void **state)
{
	struct mg_keyring kr = { 0 };
	struct mg_buf ct = { 0 }, pt = { 0 };
	struct mg_key k;
	size_t i;

	make_key(&k, 32, 5);
	mg_keyring_add(&kr, &k, true);
	assert_int_equal(mg_crypt_packet_seal(&kr, (const uint8_t *)"hello",
					      5, &ct), 0);
	for (i = 1; i < ct.len; i++) {	/* nonce, ciphertext, tag */
		ct.data[i] ^= 0x40;
		assert_int_equal(mg_crypt_packet_open(&kr, ct.data, ct.len,
						      &pt), -EACCES);
		ct.data[i] ^= 0x40;
	}
	ct.data[0] = 2;		/* unknown version */
	assert_int_equal(mg_crypt_packet_open(&kr, ct.data, ct.len, &pt),
			 -EBADMSG);
	ct.data[0] = 1;
	assert_int_equal(mg_crypt_packet_open(&kr, ct.data, 28, &pt), -EBADMSG);
	assert_int_equal(mg_crypt_packet_open(&kr, ct.data, 0, &pt), -EBADMSG);
	/* v1 with 29 bytes is a valid empty message */
	mg_buf_reset(&ct);
	assert_int_equal(mg_crypt_packet_seal(&kr, NULL, 0, &ct), 0);
	assert_int_equal(mg_crypt_packet_open(&kr, ct.data, 29, &pt), 0);
	assert_int_equal(pt.len, 0);
	/* no keys */
	mg_keyring_clear(&kr);
	assert_int_equal(mg_crypt_packet_seal(&kr, ct.data, 1, &pt), -ENOKEY);
	assert_int_equal(mg_crypt_packet_open(&kr, ct.data, ct.len, &pt),
			 -ENOKEY);
	mg_buf_free(&ct);
	mg_buf_free(&pt);
}

/* Build a legacy vsn-0 blob the way memberlist's encryptPayload(0) does. */
static size_t seal_v0(const struct mg_key *k, const uint8_t *msg, size_t n,
		      uint8_t pad_byte_override, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t buf[128];
	size_t pad = 16 - n % 16, i;
	int len;

	memcpy(buf, msg, n);
	for (i = 0; i < pad; i++)
		buf[n + i] = pad_byte_override ? pad_byte_override : pad;
	out[0] = 0;
	memset(out + 1, 0x33, 12);
	assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->b,
					    out + 1), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out + 13, &len, buf, n + pad), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + 13 + n + pad, &len), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
					     out + 13 + n + pad), 1);
	EVP_CIPHER_CTX_free(ctx);
	return 13 + n + pad + 16;
}

static void test_v0_padding(void **state)
{
	struct mg_keyring kr = { 0 };
	struct mg_buf pt = { 0 };
	struct mg_key k;
	uint8_t blob[256];
	size_t n;

	make_key(&k, 32, 11);
	mg_keyring_add(&kr, &k, true);
	n = seal_v0(&k, (const uint8_t *)"v0 message", 10, 0, blob);
	assert_int_equal(n, 45);
	assert_int_equal(mg_crypt_packet_open(&kr, blob, n, &pt), 0);
	assert_int_equal(pt.len, 10);
	assert_memory_equal(pt.data, "v0 message", 10);
	/* exactly one block of input gets a whole block of padding */
	mg_buf_reset(&pt);
	n = seal_v0(&k, (const uint8_t *)"0123456789abcdef", 16, 0, blob);
	assert_int_equal(n, 61);
	assert_int_equal(mg_crypt_packet_open(&kr, blob, n, &pt), 0);
	assert_int_equal(pt.len, 16);
	/* inconsistent padding, and a v0 blob below 45 bytes */
	mg_buf_reset(&pt);
	n = seal_v0(&k, (const uint8_t *)"v0 message", 10, 17, blob);
	assert_int_equal(mg_crypt_packet_open(&kr, blob, n, &pt), -EBADMSG);
	assert_int_equal(mg_crypt_packet_open(&kr, blob, 44, &pt), -EBADMSG);
	mg_buf_free(&pt);
}

static void test_stream(void **state)
{
	struct mg_keyring kr = { 0 };
	struct mg_buf ct = { 0 }, pt = { 0 };
	struct mg_key k;
	size_t i;

	make_key(&k, 16, 12);
	mg_keyring_add(&kr, &k, true);
	assert_int_equal(mg_crypt_stream_seal(&kr, (const uint8_t *)"stream!",
					      7, &ct), 0);
	assert_int_equal(ct.len, 5 + 7 + 29);
	assert_int_equal(ct.data[0], 10);
	assert_int_equal(ct.data[4], 7 + 29);
	/* trailing bytes are not ours */
	mg_buf_put(&ct, "xx", 2);
	assert_int_equal(mg_crypt_stream_open(&kr, ct.data, ct.len, &pt), 41);
	assert_int_equal(pt.len, 7);
	assert_memory_equal(pt.data, "stream!", 7);
	for (i = 0; i < 41; i++)
		assert_int_equal(mg_crypt_stream_open(&kr, ct.data, i, &pt),
				 i && ct.data[0] != 10 ? -EPROTO : -EAGAIN);
	/* the header is authenticated: a longer length claim fails */
	ct.data[4]++;
	assert_int_equal(mg_crypt_stream_open(&kr, ct.data, ct.len, &pt),
			 -EACCES);
	ct.data[4]--;
	/* the packet form (no AAD) does not open a stream blob */
	assert_int_equal(mg_crypt_packet_open(&kr, ct.data + 5, 36, &pt),
			 -EACCES);
	ct.data[0] = 9;
	assert_int_equal(mg_crypt_stream_open(&kr, ct.data, ct.len, &pt),
			 -EPROTO);
	memcpy(ct.data, "\x0a\x01\x40\x00\x01", 5);	/* 20 MiB + 1 */
	assert_int_equal(mg_crypt_stream_open(&kr, ct.data, ct.len, &pt),
			 -EMSGSIZE);
	mg_buf_free(&ct);
	mg_buf_free(&pt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_keyring),
		cmocka_unit_test(test_roundtrip_all_sizes),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_v0_padding),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
