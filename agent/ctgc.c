// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sweep of the service flow tables (ctgc.h).  Each map is read in
 * slices with BPF_MAP_LOOKUP_BATCH (one call a slice; the batch token is
 * a bucket index, which deletions do not upset), and what is over is
 * removed with lookup-and-delete: should the datapath have brought the
 * entry back to life in between (the client opening the same flow again,
 * a new flow taking the SNAT port), the value taken out says so and goes
 * back in, unless the datapath already wrote a new one.
 *
 * The same pass keeps circuit breaking honest (mg_beflows): the datapath
 * adds one to a backend for each new flow and never takes one away; the
 * sweep counts the flows each backend holds (live, not closing) over a
 * whole pass of each flow table and writes the counts when every table's
 * pass is over, so a count is true to within one pass (plus the flows
 * opened meanwhile, which it may miss until the next pass).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <meshgate/abi.h>
#include "ctgc.h"
#include "lib/log.h"
#include "lib/loop.h"

struct mg_ctgc;

struct sweep {
	const char *name;
	int fd;
	size_t ksz, vsz;
	/* Whether the entry k, v is over at now. */
	bool (*over)(const struct mg_ctgc *gc, const void *k, const void *v,
		     uint64_t now);
	__u32 token;		/* where the next slice starts */
	bool more;		/* token is valid (a slice ended mid-map) */
	bool failed;		/* the kernel refused: not swept any more */
};

enum { SW_CT4, SW_RNAT4, SW_CT6, SW_RNAT6, SW_N };

struct mg_ctgc {
	struct mg_ctgc_maps maps;
	struct sweep sw[SW_N];
	int beflows;		/* mg_beflows, -1: no counts kept */
	bool counted[SW_N];	/* that flow table's pass is in flows[] */
	__u32 flows[MG_LB_MAX_BACKENDS];
	/* What mg_beflows holds, read in one batch per pass. */
	__u32 be_keys[MG_LB_MAX_BACKENDS], be_old[MG_LB_MAX_BACKENDS];
	struct mg_loop *loop;
	struct mg_loop_src *timer;
	void *keys, *vals;	/* one slice, the largest key and value */
};

static bool expired(uint64_t expires, uint64_t now)
{
	return expires + MG_CTGC_GRACE_NS <= now;
}

static bool ct4_over(const struct mg_ctgc *gc, const void *k, const void *v,
		     uint64_t now)
{
	const struct mg_ct4_val *ct = v;

	return expired(ct->expires, now);
}

static bool ct6_over(const struct mg_ctgc *gc, const void *k, const void *v,
		     uint64_t now)
{
	const struct mg_ct6_val *ct = v;

	return expired(ct->expires, now);
}

/* A reply entry is over when its flow is, or holds another port now. */
static bool rnat4_over(const struct mg_ctgc *gc, const void *k, const void *v,
		       uint64_t now)
{
	const struct mg_ct4_key *rk = k;
	const struct mg_rnat4_val *rv = v;
	struct mg_ct4_key fk = {
		.saddr = rv->client, .daddr = rv->vip,
		.sport = rv->cport, .dport = rv->vport, .proto = rk->proto,
	};
	struct mg_ct4_val ct;

	if (bpf_map_lookup_elem(gc->maps.ct4, &fk, &ct))
		return true;
	return expired(ct.expires, now) || ct.snat_port != rk->dport ||
	       ct.snat_addr != rk->daddr;
}

static bool rnat6_over(const struct mg_ctgc *gc, const void *k, const void *v,
		       uint64_t now)
{
	const struct mg_ct6_key *rk = k;
	const struct mg_rnat6_val *rv = v;
	struct mg_ct6_key fk = {
		.sport = rv->cport, .dport = rv->vport, .proto = rk->proto,
	};
	struct mg_ct6_val ct;

	memcpy(fk.saddr, rv->client, sizeof(fk.saddr));
	memcpy(fk.daddr, rv->vip, sizeof(fk.daddr));
	if (bpf_map_lookup_elem(gc->maps.ct6, &fk, &ct))
		return true;
	return expired(ct.expires, now) || ct.snat_port != rk->dport ||
	       memcmp(ct.snat_addr, rk->daddr, sizeof(ct.snat_addr));
}

/* Remove k unless it came back to life; 1 when removed. */
static int sweep_remove(const struct mg_ctgc *gc, const struct sweep *sw,
			const void *k, uint64_t now)
{
	union {
		struct mg_ct4_val ct4;
		struct mg_ct6_val ct6;
		struct mg_rnat4_val rnat4;
		struct mg_rnat6_val rnat6;
	} v;

	if (bpf_map_lookup_and_delete_elem(sw->fd, k, &v))
		return 0;	/* gone already, or the LRU took it */
	if (sw->over(gc, k, &v, now))
		return 1;
	/* Alive again: put it back, unless the datapath wrote it anew. */
	bpf_map_update_elem(sw->fd, k, &v, BPF_NOEXIST);
	return 0;
}

/* A flow that stays: counted for its backend, while its pass runs. */
static void flow_count(struct mg_ctgc *gc, int i, const void *v,
		       uint64_t now)
{
	__u32 be;
	__u8 st;
	__u64 expires;

	if (gc->beflows < 0 || gc->counted[i])
		return;
	if (i == SW_CT4) {
		const struct mg_ct4_val *ct = v;

		be = ct->backend, st = ct->state, expires = ct->expires;
	} else if (i == SW_CT6) {
		const struct mg_ct6_val *ct = v;

		be = ct->backend, st = ct->state, expires = ct->expires;
	} else {
		return;
	}
	if (be < MG_LB_MAX_BACKENDS && st != MG_CT_CLOSING && expires > now)
		gc->flows[be]++;
}

/* Every flow table's pass over: the counts to mg_beflows, then anew. */
static void flows_write(struct mg_ctgc *gc)
{
	for (int i = 0; i < SW_N; i++)
		if ((i == SW_CT4 || i == SW_CT6) && gc->sw[i].fd >= 0 &&
		    !gc->sw[i].failed && !gc->counted[i])
			return;
	/*
	 * The array in one call (a lookup per slot was 4,096 system calls a
	 * pass, most of an idle agent's CPU); where that fails, slot by
	 * slot.
	 */
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 count = MG_LB_MAX_BACKENDS, next = 0;
	bool batch;
	int err;

	err = bpf_map_lookup_batch(gc->beflows, NULL, &next, gc->be_keys,
				   gc->be_old, &count, &o);
	batch = (!err || err == -ENOENT) && count == MG_LB_MAX_BACKENDS;
	if (batch)
		for (__u32 i = 0; i < count; i++)
			if (gc->be_keys[i] != i)
				batch = false;
	for (__u32 b = 0; b < MG_LB_MAX_BACKENDS; b++) {
		__u32 old;

		if (batch ? gc->be_old[b] == gc->flows[b] :
			    !bpf_map_lookup_elem(gc->beflows, &b, &old) &&
				    old == gc->flows[b])
			continue;
		if (bpf_map_update_elem(gc->beflows, &b, &gc->flows[b],
					BPF_ANY)) {
			pr_warn("writing backend flow counts (mg_beflows): %s",
				strerror(errno));
			break;
		}
	}
	memset(gc->flows, 0, sizeof(gc->flows));
	memset(gc->counted, 0, sizeof(gc->counted));
}

void mg_ctgc_set_beflows(struct mg_ctgc *gc, int fd)
{
	gc->beflows = fd;
}

static int sweep_slice(struct mg_ctgc *gc, struct sweep *sw, uint64_t now,
		       unsigned int budget)
{
	int idx = (int)(sw - gc->sw);
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 count = budget, next = 0;
	int err, removed = 0;

	if (sw->fd < 0 || sw->failed)
		return 0;
	err = bpf_map_lookup_batch(sw->fd, sw->more ? &sw->token : NULL,
				   &next, gc->keys, gc->vals, &count, &o);
	if (err && err != -ENOENT) {
		pr_warn("sweeping %s: %s; expired flows stay until the LRU "
			"takes them", sw->name, strerror(-err));
		sw->failed = true;
		return err;
	}
	for (__u32 i = 0; i < count; i++) {
		const void *k = (const char *)gc->keys + i * sw->ksz;
		const void *v = (const char *)gc->vals + i * sw->vsz;

		if (sw->over(gc, k, v, now))
			removed += sweep_remove(gc, sw, k, now);
		else
			flow_count(gc, idx, v, now);
	}
	/* -ENOENT: the map's end; the next slice starts over. */
	sw->more = !err;
	sw->token = next;
	if (!sw->more && gc->beflows >= 0 && (idx == SW_CT4 || idx == SW_CT6))
		gc->counted[idx] = true;
	return removed;
}

int mg_ctgc_step(struct mg_ctgc *gc, uint64_t now_ns, unsigned int budget)
{
	int removed = 0, n;

	if (budget > MG_CTGC_BATCH)
		budget = MG_CTGC_BATCH;
	for (int i = 0; i < SW_N; i++) {
		n = sweep_slice(gc, &gc->sw[i], now_ns, budget);
		if (n > 0)
			removed += n;
	}
	if (gc->beflows >= 0)
		flows_write(gc);
	return removed;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void on_tick(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_ctgc *gc = arg;
	int n = mg_ctgc_step(gc, mono_ns(), MG_CTGC_BATCH);

	if (n > 0)
		pr_debug("flow tables: %d expired entries removed", n);
}

int mg_ctgc_open(const struct mg_ctgc_maps *maps, struct mg_ctgc **out)
{
	struct mg_ctgc *gc = calloc(1, sizeof(*gc));
	const struct sweep sw[SW_N] = {
		[SW_CT4] = { "mg_ct4_v2", maps->ct4, sizeof(struct mg_ct4_key),
			     sizeof(struct mg_ct4_val), ct4_over },
		[SW_RNAT4] = { "mg_rnat4", maps->rnat4,
			       sizeof(struct mg_ct4_key),
			       sizeof(struct mg_rnat4_val), rnat4_over },
		[SW_CT6] = { "mg_ct6_v2", maps->ct6, sizeof(struct mg_ct6_key),
			     sizeof(struct mg_ct6_val), ct6_over },
		[SW_RNAT6] = { "mg_rnat6", maps->rnat6,
			       sizeof(struct mg_ct6_key),
			       sizeof(struct mg_rnat6_val), rnat6_over },
	};

	if (!gc)
		return -ENOMEM;
	gc->maps = *maps;
	gc->beflows = -1;
	memcpy(gc->sw, sw, sizeof(sw));
	/* A reply entry is judged by its flow: no flow map, no sweep. */
	if (maps->ct4 < 0)
		gc->sw[SW_RNAT4].fd = -1;
	if (maps->ct6 < 0)
		gc->sw[SW_RNAT6].fd = -1;
	gc->keys = calloc(MG_CTGC_BATCH, sizeof(struct mg_ct6_key));
	gc->vals = calloc(MG_CTGC_BATCH, sizeof(struct mg_ct6_val));
	if (!gc->keys || !gc->vals) {
		mg_ctgc_free(gc);
		return -ENOMEM;
	}
	*out = gc;
	return 0;
}

int mg_ctgc_new(struct mg_loop *loop, const struct mg_ctgc_maps *maps,
		struct mg_ctgc **out)
{
	struct mg_ctgc *gc;
	int err = mg_ctgc_open(maps, &gc);

	if (err)
		return err;
	gc->loop = loop;
	gc->timer = mg_loop_add_timer(loop, MG_CTGC_PERIOD_MS,
				      MG_CTGC_PERIOD_MS, on_tick, gc);
	if (!gc->timer) {
		err = -errno ? -errno : -ENOMEM;
		mg_ctgc_free(gc);
		return err;
	}
	*out = gc;
	return 0;
}

void mg_ctgc_free(struct mg_ctgc *gc)
{
	if (!gc)
		return;
	if (gc->timer)
		mg_loop_del(gc->loop, gc->timer);
	free(gc->keys);
	free(gc->vals);
	free(gc);
}
