/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cross-cluster policy (docs/policy.md): rules, their text form, the
 * conflicts among them, and their compilation into the datapath's lookup
 * maps (abi.h, datapath/policy.h).
 *
 * Each cluster owns the policy of the traffic into it.  Among the rules
 * of a packet's destination cluster that match it, the most specific
 * decides: the longest destination prefix, then the source (a prefix,
 * longest first, over a cluster over any), then a protocol over any,
 * then the narrowest port range; deny over allow; the lowest id.  No
 * rule matches: the cluster's default.
 */
#ifndef MG_POLICY_H
#define MG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/addr.h"

#define MG_POL_RULE_ID_MAX 0xffffff /* ids are 1..this */
#define MG_POL_MAX_RULES 200000 /* per cluster */
#define MG_POL_TEXT_MAX 256 /* a rule's text form */
#define MG_POL_NAME_MAX 64

enum mg_pol_src_kind {
	MG_POL_SRC_ANY,
	MG_POL_SRC_CLUSTER,
	MG_POL_SRC_PREFIX,
};

struct mg_pol_rule {
	uint32_t id; /* 1..MG_POL_RULE_ID_MAX */
	uint8_t verdict; /* MG_POL_ALLOW or MG_POL_DENY */
	uint8_t src_kind; /* enum mg_pol_src_kind */
	uint8_t src_cluster; /* resolved id (MG_POL_SRC_CLUSTER) */
	uint8_t proto; /* MG_POL_P_* */
	char src_name[MG_POL_NAME_MAX]; /* the cluster as written */
	struct mg_prefix src; /* MG_POL_SRC_PREFIX */
	struct mg_prefix dst; /* family 0: any destination */
	uint16_t port_lo, port_hi; /* host order; 0-65535: any */
};

/* One cluster's policy: its rules and default for traffic into it. */
struct mg_pol_set {
	uint8_t owner; /* cluster id */
	uint8_t def_in; /* MG_POL_ALLOW or MG_POL_DENY */
	int n;
	struct mg_pol_rule *rules;
	/*
	 * The owner's prefixes: a rule's destination is taken within them
	 * ("to any": all of them; outside them a rule matches nothing).
	 * None given: destinations as written, "any" as /0.
	 */
	int n_prefixes;
	const struct mg_prefix *prefixes;
};

/*
 * "ID allow|deny [from any|cluster NAME|PREFIX] [to any|PREFIX]
 * [proto tcp|udp|icmp] [port N[-M]]" (words as in argv).  0, or -EINVAL
 * with what is wrong in err.  The cluster is resolved later.
 */
int mg_pol_rule_parse_argv(int argc, char **argv, struct mg_pol_rule *r,
			   char *err, size_t errlen);
/* The same from one line of text. */
int mg_pol_rule_parse(const char *text, struct mg_pol_rule *r, char *err,
		      size_t errlen);
/* The canonical text form (parses back to the same rule). */
const char *mg_pol_rule_str(const struct mg_pol_rule *r, char *buf, size_t len);
/* "allow"/"deny" -> MG_POL_*; 0 when neither. */
int mg_pol_verdict_parse(const char *s);

/* Cluster name or id -> id (1..255), or 0 when unknown. */
typedef int (*mg_pol_resolve_fn)(const char *name, void *arg);
/* Resolve every rule's source cluster; -ENOENT naming the first unknown. */
int mg_pol_resolve(struct mg_pol_set *set, mg_pol_resolve_fn fn, void *arg,
		   char *err, size_t errlen);

/*
 * What is wrong among a set's rules, one line each to f ("rule 3 and
 * rule 7 conflict: ..."): the same match twice (a duplicate, or a
 * conflict deny wins), overlapping port ranges with different verdicts
 * at the same destination, source and protocol (the narrower wins on
 * the overlap).  Returns the number of lines.
 */
int mg_pol_conflicts(const struct mg_pol_set *set, FILE *f);

/* The datapath's policy maps (descriptors), as the agent holds them. */
struct mg_pol_maps {
	int dst4, dst6, src4, src6, port, verdict, cfg;
};

/* What a compile made, for the log and the bench. */
struct mg_pol_stats {
	uint32_t classes, src_entries, port_entries, verdicts;
	uint32_t gen; /* generation written (0 or 1) */
};

/*
 * Compile the sets (each cluster's policy, ours among them) into the
 * maps: new classes written first, then the destinations switched to
 * them, then the old ones removed, so a packet sees the old policy or
 * the new one.  default_out: the verdict into a cluster that published
 * no policy.  gen: the generation in the maps now (0 or 1), updated.
 * Returns 0, or -E2BIG when it would pass the maps' bounds (the maps are
 * then left as they were), or -errno of a map write.
 */
int mg_pol_compile(const struct mg_pol_set *sets, int n_sets,
		   uint8_t default_out, const struct mg_pol_maps *m,
		   uint32_t *gen, struct mg_pol_stats *st);

/*
 * The gossiped form (docs/gossip.md, MG_STATE_POLICY entries): each
 * gateway publishes its cluster's set as one entry per rule, keyed by the
 * rule's id, and a header under id 0 (the default and the number of
 * rules), so a peer takes a set only when it holds all of it.  Values fit
 * a replicated value (64 bytes); the type tags are the value's type.
 */
#define MG_POL_VT_RULE 32
#define MG_POL_VT_SET 33
#define MG_POL_WIRE_MAX 64
#define MG_POL_GOSSIP_MAX 4096 /* rules a cluster publishes, at most */
#define MG_POL_SET_INCOMPLETE 1 /* header flag: more rules than published */

struct mg_pol_hdr {
	uint8_t def_in; /* MG_POL_ALLOW or MG_POL_DENY */
	uint8_t flags; /* MG_POL_SET_* */
	uint32_t n; /* rules published */
};

/* Bytes written (<= size), or -EINVAL (a bad rule) / -ENOSPC. */
int mg_pol_rule_encode(const struct mg_pol_rule *r, uint8_t *buf, size_t size);
/*
 * A peer's rule @id from its bytes: 0, or -EINVAL with what is wrong in
 * err (anything that would not encode back to the same bytes, or that
 * the text form would not parse back to).  src_name is the cluster's id.
 */
int mg_pol_rule_decode(uint32_t id, const uint8_t *buf, size_t len,
		       struct mg_pol_rule *r, char *err, size_t errlen);
int mg_pol_hdr_encode(const struct mg_pol_hdr *h, uint8_t *buf, size_t size);
int mg_pol_hdr_decode(const uint8_t *buf, size_t len, struct mg_pol_hdr *h);

#endif
