// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's side of the cross-cluster policy: this cluster's rules
 * ([policy] in the configuration, and `meshgate policy add` ones kept in
 * state_dir/policy), compiled into the datapath's maps at start, on a
 * reload and on each change; `meshgate policy list|add|del`.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "config.h"
#include "state/state.h"
#include "lib/loop.h"
#include "lib/log.h"
#include "lib/out.h"
#include "lib/persist.h"
#include "policy_rt.h"

struct mg_policy {
	const struct mg_config *cfg; /* the agent's, updated in place */
	struct mg_pol_maps maps;
	char path[PATH_MAX + 16]; /* state_dir/policy; "" none */
	int n_cli;
	struct mg_pol_rule cli[MG_POL_CLI_MAX];
	uint32_t gen;
	struct mg_pol_stats st;
	int last_err;

	/* gossip: our set published, the other clusters' learned */
	struct mg_state *store; /* NULL: not gossiped */
	struct mg_loop *loop;
	struct mg_loop_src *learn_timer;
	bool learn_pending;
	int n_learned;
	struct learned *learned; /* by owner */
	uint64_t learned_hash;
	unsigned long long bad_rules; /* peers' rules refused */
	unsigned long long incomplete; /* peers' sets not whole (yet) */
	unsigned long long pub_refused; /* our rules past MG_POL_GOSSIP_MAX */
	unsigned long long learned_dropped; /* compiles without them (E2BIG) */
	uint8_t logged[32]; /* clusters whose bad rule was logged (bitmap) */
};

/* A cluster's set as learned from one of its gateways. */
struct learned {
	struct mg_pol_set set;
	char origin[MG_STATE_NAME_MAX + 1];
	struct mg_prefix *pfx;
	int cap_pfx;
};

static int pfx_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct mg_prefix));
}

static void learned_free(struct learned *l, int n)
{
	for (int i = 0; i < n; i++) {
		free(l[i].set.rules);
		free(l[i].pfx);
	}
	free(l);
}

/* A cluster's id from its name (ours, a static peer's) or its number. */
static int resolve(const char *name, void *arg)
{
	const struct mg_config *cfg = arg;
	char *end;
	unsigned long id = strtoul(name, &end, 10);

	if (end != name && !*end)
		return id >= 1 && id <= 255 ? (int)id : 0;
	if (!strcmp(name, cfg->cluster_name))
		return cfg->cluster_id;
	for (int i = 0; i < cfg->n_peers; i++)
		if (!strcmp(name, cfg->peers[i].cluster))
			return cfg->peers[i].cluster_id;
	return 0;
}

static bool id_taken(const struct mg_policy *p, uint32_t id)
{
	for (int i = 0; i < p->cfg->n_pol_rules; i++)
		if (p->cfg->pol_rules[i].id == id)
			return true;
	for (int i = 0; i < p->n_cli; i++)
		if (p->cli[i].id == id)
			return true;
	return false;
}

/* This cluster's set: the configuration's rules, then the CLI's. */
static int own_set(struct mg_policy *p, struct mg_pol_set *set,
		   bool for_compile)
{
	const struct mg_config *cfg = p->cfg;
	char err[160];
	int n = 0;

	set->rules = calloc((size_t)(cfg->n_pol_rules + p->n_cli) + 1,
			    sizeof(*set->rules));
	if (!set->rules)
		return -ENOMEM;
	for (int i = 0; i < cfg->n_pol_rules + p->n_cli; i++) {
		const struct mg_pol_rule *r =
			i < cfg->n_pol_rules ? &cfg->pol_rules[i] :
					       &p->cli[i - cfg->n_pol_rules];
		struct mg_pol_set one = { .rules = &set->rules[n], .n = 1 };

		set->rules[n] = *r;
		if (mg_pol_resolve(&one, resolve, (void *)cfg, err,
				   sizeof(err))) {
			/* Left out until the cluster is known. */
			if (for_compile)
				pr_warn("policy: %s: left out", err);
			if (for_compile)
				continue;
		}
		n++;
	}
	set->n = n;
	set->owner = cfg->cluster_id;
	set->def_in = (uint8_t)(cfg->pol_default_in + 1);
	set->prefixes = cfg->cidrs;
	set->n_prefixes = cfg->n_cidrs;
	return 0;
}

/*
 * Our set into the replicated state: a header (id 0) and a rule per id;
 * ours no longer in the set deleted.  Past MG_POL_GOSSIP_MAX rules the
 * header says the set is incomplete and no rule goes (a sender then
 * leaves the whole decision to our decapsulation): counted, logged.
 */
static void publish(struct mg_policy *p, const struct mg_pol_set *set)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_pol_hdr h = { .def_in = set->def_in, .n = (uint32_t)set->n };
	struct mg_state_key key = { .kind = MG_STATE_POLICY };
	struct mg_state_val val = { .type = MG_POL_VT_SET };
	struct mg_state_entry e;
	uint32_t *stale = NULL;
	int n_stale = 0, cap = 0, n;

	if (!p->store)
		return;
	if (set->n > MG_POL_GOSSIP_MAX) {
		if (!p->pub_refused)
			pr_warn("policy: %d rules, more than the %d gossiped: peers leave it to our decapsulation",
				set->n, MG_POL_GOSSIP_MAX);
		p->pub_refused++;
		h.flags = MG_POL_SET_INCOMPLETE;
		h.n = 0;
	}
	/* Rules first, then the header that says they are all there. */
	for (int i = 0; i < (int)h.n; i++) {
		struct mg_state_val rv = { .type = MG_POL_VT_RULE };

		n = mg_pol_rule_encode(&set->rules[i], rv.data,
				       sizeof(rv.data));
		key.pol_id = set->rules[i].id;
		if (n < 0 || (rv.len = (uint8_t)n,
			      mg_state_set_local(p->store, &key, &rv)))
			pr_warn("policy: rule %u not gossiped", key.pol_id);
	}
	while (mg_state_iter_next(p->store, &it, &e)) {
		bool keep = false;

		if (e.origin || e.key.kind != MG_STATE_POLICY || !e.key.pol_id)
			continue;
		for (int i = 0; !keep && i < (int)h.n; i++)
			keep = set->rules[i].id == e.key.pol_id;
		if (keep)
			continue;
		if (n_stale == cap) {
			uint32_t *b = realloc(stale, (cap ? 2 * cap : 16) *
							     sizeof(*b));

			if (!b)
				break;
			stale = b;
			cap = cap ? 2 * cap : 16;
		}
		stale[n_stale++] = e.key.pol_id;
	}
	for (int i = 0; i < n_stale; i++) {
		key.pol_id = stale[i];
		mg_state_del_local(p->store, &key);
	}
	free(stale);
	key.pol_id = 0;
	n = mg_pol_hdr_encode(&h, val.data, sizeof(val.data));
	if (n < 0 ||
	    (val.len = (uint8_t)n, mg_state_set_local(p->store, &key, &val)))
		pr_warn("policy: our set not gossiped");
}

int mg_policy_apply(struct mg_policy *p)
{
	struct mg_pol_set set;
	int err;

	err = own_set(p, &set, true);
	if (err)
		return err;
	{
		struct mg_pol_set *all =
			calloc((size_t)p->n_learned + 1, sizeof(*all));

		if (!all) {
			free(set.rules);
			return -ENOMEM;
		}
		all[0] = set;
		for (int i = 0; i < p->n_learned; i++)
			all[i + 1] = p->learned[i].set;
		err = mg_pol_compile(all, p->n_learned + 1,
				     (uint8_t)(p->cfg->pol_default_out + 1),
				     &p->maps, &p->gen, &p->st);
		/*
		 * Other clusters' sets must not keep ours out: past the
		 * maps' bounds with them, ours alone (their receivers
		 * still enforce theirs).
		 */
		if (err == -E2BIG && p->n_learned) {
			pr_warn("policy: with %d learned sets it compiles past the maps' bounds: ours alone",
				p->n_learned);
			p->learned_dropped++;
			err = mg_pol_compile(
				all, 1, (uint8_t)(p->cfg->pol_default_out + 1),
				&p->maps, &p->gen, &p->st);
		}
		free(all);
	}
	publish(p, &set);
	free(set.rules);
	p->last_err = err;
	if (err)
		pr_err("policy: not applied: %s (the maps keep the last one)",
		       err == -E2BIG ? "it compiles past the maps' bounds" :
				       strerror(-err));
	else
		pr_info("policy: %d rules: %u destination classes, %u verdicts",
			p->cfg->n_pol_rules + p->n_cli, p->st.classes,
			p->st.verdicts);
	return err;
}

/* state_dir/policy: the CLI's rules, one a line; 0 or -errno (logged). */
static int save(struct mg_policy *p)
{
	char *buf = NULL, line[MG_POL_TEXT_MAX];
	size_t len = 0;
	FILE *f;
	int err;

	if (!p->path[0])
		return 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (int i = 0; i < p->n_cli; i++)
		fprintf(f, "%s\n",
			mg_pol_rule_str(&p->cli[i], line, sizeof(line)));
	err = fclose(f) ? -ENOMEM : mg_persist_write(p->path, buf, len);
	free(buf);
	if (err)
		pr_err("saving the policy in %s: %s", p->path, strerror(-err));
	return err;
}

static void load(struct mg_policy *p)
{
	char line[MG_POL_TEXT_MAX + 2], err[160];
	FILE *f = fopen(p->path, "r");
	int lineno = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct mg_pol_rule r;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		if (mg_pol_rule_parse(line, &r, err, sizeof(err))) {
			pr_warn("%s:%d: %s", p->path, lineno, err);
			continue;
		}
		if (p->n_cli == MG_POL_CLI_MAX || id_taken(p, r.id)) {
			pr_warn("%s:%d: rule %u left out (%s)", p->path, lineno,
				r.id,
				p->n_cli == MG_POL_CLI_MAX ? "too many rules" :
							     "its id is taken");
			continue;
		}
		p->cli[p->n_cli++] = r;
	}
	fclose(f);
}

int mg_policy_new(const struct mg_config *cfg, const struct mg_pol_maps *m,
		  struct mg_policy **out)
{
	struct mg_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->maps = *m;
	if (cfg->state_dir[0])
		snprintf(p->path, sizeof(p->path), "%s/policy", cfg->state_dir);
	load(p);
	/* A policy that does not compile leaves the last one: logged. */
	mg_policy_apply(p);
	*out = p;
	return 0;
}

void mg_policy_free(struct mg_policy *p)
{
	if (!p)
		return;
	if (p->learn_timer)
		mg_loop_del(p->loop, p->learn_timer);
	learned_free(p->learned, p->n_learned);
	free(p);
}

/* --- learning the other clusters' sets ------------------------------------ */

struct origin_acc {
	struct mg_pol_hdr h;
	bool has_hdr, bad;
	uint8_t cluster;
	uint64_t max_version;
	int n, cap;
	struct mg_pol_rule *rules;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct mg_pol_rule *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void log_bad(struct mg_policy *p, uint8_t cluster, const char *origin,
		    const char *what)
{
	p->bad_rules++;
	if (p->logged[cluster / 8] & (1u << (cluster % 8)))
		return;
	p->logged[cluster / 8] |= (uint8_t)(1u << (cluster % 8));
	pr_warn("policy: from %s (cluster %u): %s: ignored (logged once per cluster)",
		origin, cluster, what);
}

/* Does @x overlap one of our own prefixes? (never theirs to rule) */
static bool ours(const struct mg_policy *p, const struct mg_prefix *x)
{
	for (int i = 0; i < p->cfg->n_cidrs; i++)
		if (mg_prefix_overlap(&p->cfg->cidrs[i], x))
			return true;
	return false;
}

/*
 * Every other cluster's whole set, from the gateway of it that published
 * last, with the prefixes its gateways publish (less any of ours) to clip
 * it to.  Our own cluster's sets are never taken from a peer.
 */
static void learn(struct mg_policy *p)
{
	unsigned int slots = mg_state_origin_slots(p->store);
	struct origin_acc *o = calloc(slots ? slots : 1, sizeof(*o));
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct learned *l = NULL;
	struct mg_state_entry e;
	int best[256], n_l = 0;
	bool partial[256] = { false };
	uint64_t hash = 0xcbf29ce484222325ull;
	char err[200];

	if (!o)
		return;
	for (unsigned int i = 1; i < slots; i++) {
		struct mg_state_origin_info info;

		if (!mg_state_origin_get(p->store, i, &info)) {
			o[i].cluster = info.cluster_id;
			o[i].max_version = info.max_version;
		}
	}
	while (mg_state_iter_next(p->store, &it, &e)) {
		struct origin_acc *a;
		struct mg_state_origin_info info;

		if (!e.origin || e.origin >= slots)
			continue;
		a = &o[e.origin];
		if (e.key.kind != MG_STATE_POLICY || a->bad ||
		    a->cluster == p->cfg->cluster_id || !a->cluster)
			continue;
		mg_state_origin_get(p->store, e.origin, &info);
		if (!e.key.pol_id) {
			if (e.val.type != MG_POL_VT_SET ||
			    mg_pol_hdr_decode(e.val.data, e.val.len, &a->h)) {
				log_bad(p, a->cluster, info.name,
					"a malformed policy header");
				a->bad = true;
			}
			a->has_hdr = !a->bad;
			continue;
		}
		if (a->n == MG_POL_GOSSIP_MAX) {
			log_bad(p, a->cluster, info.name,
				"more rules than a set may have");
			a->bad = true;
			continue;
		}
		if (a->n == a->cap) {
			int cap = a->cap ? 2 * a->cap : 16;
			struct mg_pol_rule *r =
				realloc(a->rules, (size_t)cap * sizeof(*r));

			if (!r) {
				a->bad = true;
				continue;
			}
			a->rules = r;
			a->cap = cap;
		}
		if (e.val.type != MG_POL_VT_RULE ||
		    e.key.pol_id > MG_POL_RULE_ID_MAX ||
		    mg_pol_rule_decode(e.key.pol_id, e.val.data, e.val.len,
				       &a->rules[a->n], err, sizeof(err))) {
			if (e.val.type != MG_POL_VT_RULE ||
			    e.key.pol_id > MG_POL_RULE_ID_MAX)
				snprintf(err, sizeof(err),
					 "rule %u: not a rule", e.key.pol_id);
			log_bad(p, a->cluster, info.name, err);
			continue; /* the set is then short: not taken */
		}
		a->n++;
	}
	for (int c = 0; c < 256; c++)
		best[c] = -1;
	for (unsigned int i = 1; i < slots; i++) {
		struct origin_acc *a = &o[i];

		if (!a->cluster || a->cluster == p->cfg->cluster_id ||
		    (!a->has_hdr && !a->n))
			continue;
		if (a->bad || !a->has_hdr ||
		    (a->h.flags & MG_POL_SET_INCOMPLETE) ||
		    a->h.n != (uint32_t)a->n) {
			/* In flight (or bad): the last whole set stays. */
			partial[a->cluster] =
				a->bad || !a->has_hdr ||
				!(a->h.flags & MG_POL_SET_INCOMPLETE);
			p->incomplete++;
			continue;
		}
		if (best[a->cluster] < 0 ||
		    o[best[a->cluster]].max_version < a->max_version)
			best[a->cluster] = (int)i;
	}
	for (int c = 0; c < 256; c++)
		n_l += best[c] >= 0 || partial[c];
	l = calloc((size_t)n_l + 1, sizeof(*l));
	if (!l)
		goto out;
	n_l = 0;
	for (int c = 0; c < 256; c++) {
		struct origin_acc *a;
		struct mg_state_origin_info info;
		const struct learned *prev = NULL;

		if (best[c] < 0 && partial[c]) {
			/* Not whole now: the last whole one, if any. */
			for (int k = 0; !prev && k < p->n_learned; k++)
				if (p->learned[k].set.owner == c)
					prev = &p->learned[k];
			if (!prev)
				continue;
			l[n_l].set = prev->set;
			l[n_l].set.rules = calloc((size_t)prev->set.n + 1,
						  sizeof(*prev->set.rules));
			if (!l[n_l].set.rules)
				continue;
			if (prev->set.n)
				memcpy(l[n_l].set.rules, prev->set.rules,
				       (size_t)prev->set.n *
					       sizeof(*prev->set.rules));
			l[n_l].set.n_prefixes = 0;
			l[n_l].set.prefixes = NULL;
			memcpy(l[n_l].origin, prev->origin,
			       sizeof(l[n_l].origin));
		} else if (best[c] < 0) {
			continue;
		} else {
			a = &o[best[c]];
			mg_state_origin_get(p->store, (unsigned int)best[c],
					    &info);
			snprintf(l[n_l].origin, sizeof(l[n_l].origin), "%s",
				 info.name);
			if (a->n) /* no rules: a->rules may be NULL */
				qsort(a->rules, (size_t)a->n, sizeof(*a->rules),
				      rule_cmp);
			l[n_l].set.owner = (uint8_t)c;
			l[n_l].set.def_in = a->h.def_in;
			l[n_l].set.n = a->n;
			l[n_l].set.rules = a->rules;
			a->rules = NULL;
		}
		hash = fnv(hash, &c, sizeof(c));
		hash = fnv(hash, &l[n_l].set.def_in, 1);
		for (int k = 0; k < l[n_l].set.n; k++) {
			uint8_t b[MG_POL_WIRE_MAX];
			int bn = mg_pol_rule_encode(&l[n_l].set.rules[k], b,
						    sizeof(b));

			hash = fnv(hash, &l[n_l].set.rules[k].id, 4);
			if (bn > 0)
				hash = fnv(hash, b, (size_t)bn);
		}
		n_l++;
	}
	/* Their prefixes: what the gateways of each cluster publish. */
	it = (struct mg_state_iter)MG_STATE_ITER_INIT;
	while (mg_state_iter_next(p->store, &it, &e)) {
		struct learned *x = NULL;

		if (!e.origin || e.origin >= slots ||
		    e.key.kind != MG_STATE_ENDPOINT || ours(p, &e.key.ep))
			continue;
		for (int k = 0; !x && k < n_l; k++)
			if (l[k].set.owner == o[e.origin].cluster)
				x = &l[k];
		if (!x)
			continue;
		if (x->set.n_prefixes == x->cap_pfx) {
			int cap = x->cap_pfx ? 2 * x->cap_pfx : 16;
			struct mg_prefix *b =
				realloc(x->pfx, (size_t)cap * sizeof(*b));

			if (!b)
				continue;
			x->pfx = b;
			x->cap_pfx = cap;
		}
		x->pfx[x->set.n_prefixes++] = e.key.ep;
	}
	for (int k = 0; k < n_l; k++) {
		struct learned *x = &l[k];
		int u = 0;

		/* Sorted, each once (a cluster's gateways publish the same). */
		if (x->set.n_prefixes)
			qsort(x->pfx, (size_t)x->set.n_prefixes,
			      sizeof(*x->pfx), pfx_cmp);
		for (int j = 0; j < x->set.n_prefixes; j++)
			if (!u || pfx_cmp(&x->pfx[u - 1], &x->pfx[j]))
				x->pfx[u++] = x->pfx[j];
		x->set.n_prefixes = u;
		x->set.prefixes = x->pfx;
		hash = fnv(hash, &x->set.owner, 1);
		hash = fnv(hash, x->pfx, (size_t)u * sizeof(*x->pfx));
	}
	if (hash == p->learned_hash && n_l == p->n_learned) {
		learned_free(l, n_l);
		goto out;
	}
	learned_free(p->learned, p->n_learned);
	p->learned = l;
	p->n_learned = n_l;
	p->learned_hash = hash;
	pr_info("policy: %d other clusters' policies learned", n_l);
	mg_policy_apply(p);
out:
	for (unsigned int i = 0; i < slots; i++)
		free(o[i].rules);
	free(o);
}

static void on_learn(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_policy *p = arg;

	p->learn_pending = false;
	learn(p);
}

void mg_policy_changed(struct mg_policy *p)
{
	if (!p || !p->learn_timer || p->learn_pending)
		return;
	p->learn_pending = true;
	mg_loop_timer_set(p->learn_timer, MG_POL_LEARN_MS, 0);
}

int mg_policy_gossip(struct mg_policy *p, struct mg_state *st,
		     struct mg_loop *loop)
{
	p->store = st;
	p->loop = loop;
	p->learn_timer =
		mg_loop_add_timer(loop, MG_POL_LEARN_MS, 0, on_learn, p);
	if (!p->learn_timer)
		return -ENOMEM;
	p->learn_pending = true;
	mg_policy_apply(p); /* publishes ours */
	return 0;
}

static int list(struct mg_cli *cli, struct mg_policy *p)
{
	static const char *const v[] = { "allow", "deny" };
	const struct mg_config *cfg = p->cfg;
	char line[MG_POL_TEXT_MAX], *rep = NULL;
	struct mg_pol_set set;
	size_t replen = 0;
	FILE *f;
	int n;

	if (own_set(p, &set, false))
		return 1;
	out_obj_open(NULL);
	out_u64("cluster_id", "policy of cluster %llu", cfg->cluster_id);
	out_str("default_in", ": default_in %s", v[cfg->pol_default_in & 1]);
	out_str("default_out", ", default_out %s", v[cfg->pol_default_out & 1]);
	out_str("state", ", %s\n", p->last_err ? "NOT APPLIED" : "applied");
	out_arr_open("rules");
	for (int i = 0; i < cfg->n_pol_rules + p->n_cli; i++) {
		const struct mg_pol_rule *r =
			i < cfg->n_pol_rules ? &cfg->pol_rules[i] :
					       &p->cli[i - cfg->n_pol_rules];

		out_obj_open(NULL);
		out_str("rule", "  %s", mg_pol_rule_str(r, line, sizeof(line)));
		out_str("source", "  (%s)\n",
			i < cfg->n_pol_rules ? "config" : "cli");
		out_obj_close();
	}
	out_arr_close();
	f = open_memstream(&rep, &replen);
	n = f ? mg_pol_conflicts(&set, f) : 0;
	if (f)
		fclose(f);
	out_arr_open("problems");
	for (char *s = rep, *e; n && s && *s; s = e + 1) {
		e = strchr(s, '\n');
		if (!e)
			break;
		*e = '\0';
		out_str(NULL, "  ! %s\n", s);
	}
	out_arr_close();
	out_arr_open("learned");
	for (int k = 0; k < p->n_learned; k++) {
		const struct learned *x = &p->learned[k];

		out_obj_open(NULL);
		out_u64("cluster_id", "policy of cluster %llu", x->set.owner);
		out_str("origin", " (learned from %s)", x->origin);
		out_str("default_in", ": default_in %s\n",
			v[x->set.def_in == MG_POL_DENY]);
		out_arr_open("rules");
		for (int i = 0; i < x->set.n; i++)
			out_str(NULL, "  %s  (gossip)\n",
				mg_pol_rule_str(&x->set.rules[i], line,
						sizeof(line)));
		out_arr_close();
		out_obj_close();
	}
	out_arr_close();
	out_u64("peer_rules_refused", "gossip: %llu peer rules refused",
		p->bad_rules);
	out_u64("peer_sets_incomplete", ", %llu incomplete sets seen",
		p->incomplete);
	out_u64("own_sets_unpublished", ", %llu of ours too large",
		p->pub_refused);
	out_u64("learned_left_out", ", %llu compiles without them\n",
		p->learned_dropped);
	out_u64("classes", "compiled: %llu destination classes", p->st.classes);
	out_u64("verdicts", ", %llu verdicts\n", p->st.verdicts);
	out_obj_close();
	out_finish();
	free(rep);
	free(set.rules);
	return 0;
}

int mg_policy_cmd(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_policy *p = cli->priv;
	struct mg_pol_rule r;
	char err[160];
	int i;

	if (argc < 2 || mg_matches(argv[1], "list"))
		return list(cli, p);
	if (argc >= 4 && mg_matches(argv[1], "add")) {
		if (mg_pol_rule_parse_argv(argc - 2, argv + 2, &r, err,
					   sizeof(err))) {
			fprintf(cli->err, "meshgate policy add: %s\n", err);
			return 2;
		}
		if (id_taken(p, r.id)) {
			fprintf(cli->err,
				"meshgate policy add: rule %u exists (del it first)\n",
				r.id);
			return 1;
		}
		if (r.src_kind == MG_POL_SRC_CLUSTER &&
		    !resolve(r.src_name, (void *)p->cfg)) {
			fprintf(cli->err,
				"meshgate policy add: no cluster '%s' (a name this gateway knows, or an id 1..255)\n",
				r.src_name);
			return 1;
		}
		if (p->n_cli == MG_POL_CLI_MAX) {
			fprintf(cli->err,
				"meshgate policy add: more than %d rules\n",
				MG_POL_CLI_MAX);
			return 1;
		}
		p->cli[p->n_cli++] = r;
		/* Saved before applied: a restart finds what we answer. */
		if (save(p)) {
			p->n_cli--;
			fprintf(cli->err,
				"meshgate policy add: not added: saving %s failed\n",
				p->path);
			return 1;
		}
	} else if (argc == 3 && mg_matches(argv[1], "del")) {
		unsigned long id = strtoul(argv[2], NULL, 10);

		for (i = 0; i < p->n_cli && p->cli[i].id != id; i++)
			;
		if (i == p->n_cli) {
			fprintf(cli->err,
				id_taken(p, (uint32_t)id) ?
					"meshgate policy del: rule %s is the configuration's: edit [policy] and reload\n" :
					"meshgate policy del: no rule %s\n",
				argv[2]);
			return 1;
		}
		r = p->cli[i];
		memmove(&p->cli[i], &p->cli[i + 1],
			(size_t)(p->n_cli - i - 1) * sizeof(p->cli[0]));
		p->n_cli--;
		if (save(p)) {
			memmove(&p->cli[i + 1], &p->cli[i],
				(size_t)(p->n_cli - i) * sizeof(p->cli[0]));
			p->cli[i] = r;
			p->n_cli++;
			fprintf(cli->err,
				"meshgate policy del: not removed: saving %s failed\n",
				p->path);
			return 1;
		}
	} else {
		fprintf(cli->err,
			"usage: meshgate policy [list | add ID allow|deny [from any|cluster NAME|PREFIX] [to any|PREFIX] [proto tcp|udp|icmp|any] [port N[-M]] | del ID]\n");
		return 2;
	}
	if (mg_policy_apply(p)) {
		fprintf(cli->err,
			"meshgate policy: saved, but not applied: %s\n",
			p->last_err == -E2BIG ? "past the maps' bounds" :
						strerror(-p->last_err));
		return 1;
	}
	out_finish();
	return 0;
}
