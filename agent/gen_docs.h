/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The manual pages meshgate(8) and meshgate.conf(5) and the bash
 * completion, generated from the tables the program itself runs on: the
 * command table (mg_commands[], commands.c) and the configuration keys
 * (cfg_keys[], config/keys.c, through mg_config_key_at()).  The build makes
 * them with build/mg-gen-docs, so they cannot drift from the binary.
 */
#ifndef MG_GEN_DOCS_H
#define MG_GEN_DOCS_H

#include <stdio.h>

/*
 * what: "man8", "man5" or "completion"; conf: the annotated default
 * configuration, whose comments describe the keys in man5 (NULL: none).
 * 0, or -EINVAL for another what.
 */
int mg_gen_docs(const char *what, const char *conf, FILE *f);

#endif
