// SPDX-License-Identifier: GPL-2.0-only
/* The control socket's request decoder, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mg_ctl_request req;

	if (!mg_ctl_request_decode(data, size, &req)) {
		/* A decoded request is a NULL-terminated argv of C strings. */
		if (req.argc < 0 || req.argc > MG_CTL_MAX_ARGS ||
		    req.argv[req.argc])
			abort();
		for (int i = 0; i < req.argc; i++)
			if (strlen(req.argv[i]) > MG_CTL_MAX_ARG)
				abort();
	}
	return 0;
}
