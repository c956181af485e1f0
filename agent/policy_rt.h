/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * This cluster's policy in the running agent: the configuration's [policy]
 * and the CLI's rules (state_dir/policy), compiled into the maps
 * (policy.h); `meshgate policy`.
 */
#ifndef MG_POLICY_RT_H
#define MG_POLICY_RT_H

#include "policy.h"

#define MG_POL_CLI_MAX 4096 /* rules added by `meshgate policy add` */

struct mg_config;
struct mg_cli;
struct mg_policy;

/* Load state_dir/policy and apply; 0 or -ENOMEM. */
int mg_policy_new(const struct mg_config *cfg, const struct mg_pol_maps *m,
		  struct mg_policy **out);
void mg_policy_free(struct mg_policy *p);
/* Compile again (a reload changed cfg in place); 0 or -errno, logged. */
int mg_policy_apply(struct mg_policy *p);
/*
 * Gossip (docs/policy.md): publish this cluster's set in @st (the mesh's
 * replicated state) now and on every change, and compile the sets other
 * clusters publish there, at most once per MG_POL_LEARN_MS after
 * mg_policy_changed() says the state changed.
 */
#define MG_POL_LEARN_MS 100
struct mg_state;
struct mg_loop;
int mg_policy_gossip(struct mg_policy *p, struct mg_state *st,
		     struct mg_loop *loop);
void mg_policy_changed(struct mg_policy *p);
/* `meshgate policy [list | add RULE... | del ID]` (cli->priv: the policy). */
int mg_policy_cmd(struct mg_cli *cli, int argc, char **argv);

#endif
