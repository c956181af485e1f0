// SPDX-License-Identifier: GPL-2.0-only
/* `meshgate keygen`: a fresh gossip key, base64, as `serf keygen` prints. */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "cli.h"
#include "lib/out.h"

int cmd_keygen(struct mg_cli *cli, int argc, char **argv)
{
	unsigned char key[32], b64[64];
	int bytes = 32;

	if (argc == 2 && (!strcmp(argv[1], "16") || !strcmp(argv[1], "24") ||
			  !strcmp(argv[1], "32"))) {
		bytes = argv[1][0] == '1' ? 16 : argv[1][0] == '2' ? 24 : 32;
	} else if (argc != 1) {
		fprintf(cli->err, "usage: meshgate keygen [16|24|32]  (key bytes; default 32, AES-256)\n");
		return 2;
	}
	if (RAND_bytes(key, bytes) != 1) {
		fprintf(cli->err, "meshgate keygen: no random bytes from OpenSSL\n");
		return 1;
	}
	EVP_EncodeBlock(b64, key, bytes);
	memset(key, 0, sizeof(key));
	out_obj_open(NULL);
	out_str("key", "%s\n", (const char *)b64);
	out_obj_close();
	out_finish();
	return 0;
}
