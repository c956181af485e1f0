// SPDX-License-Identifier: GPL-2.0-only
/*
 * mg-gen-docs man8|man5|completion [ANNOTATED_CONF]: what the build
 * installs as meshgate(8), meshgate.conf(5) and the bash completion, on
 * stdout (agent/gen_docs.c).
 */
#include <stdio.h>
#include "gen_docs.h"

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 ||
	    mg_gen_docs(argv[1], argc == 3 ? argv[2] : NULL, stdout)) {
		fprintf(stderr, "usage: mg-gen-docs man8|man5|completion "
			"[ANNOTATED_CONF]\n");
		return 2;
	}
	return fflush(stdout) ? 1 : 0;
}
