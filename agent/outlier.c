// SPDX-License-Identifier: GPL-2.0-only
/*
 * Outlier detection: the ejection state machine and the counters' reader.
 * See outlier.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "outlier.h"

static uint64_t eject_ms(const struct mg_outlier_cfg *c, unsigned int n)
{
	uint64_t max = c->base_ms > MG_OUTLIER_MAX_MS ? c->base_ms :
							MG_OUTLIER_MAX_MS;
	uint64_t t = c->base_ms;

	/* base_ms << (n - 1), saturating at max. */
	for (unsigned int i = 1; i < n && t < max; i++)
		t *= 2;
	return t < max ? t : max;
}

enum mg_outlier_event mg_outlier_update(struct mg_outlier_be *b,
					const struct mg_outlier_cfg *c,
					uint64_t ok, uint64_t fail,
					uint64_t now_ms, bool may_eject)
{
	uint64_t d_ok, d_fail;

	if (!b->primed || ok < b->ok || fail < b->fail) {
		d_ok = b->primed ? ok : 0;
		d_fail = b->primed ? fail : 0;
		b->primed = true;
	} else {
		d_ok = ok - b->ok;
		d_fail = fail - b->fail;
	}
	b->ok = ok;
	b->fail = fail;

	if (b->until_ms) {
		if (now_ms < b->until_ms)
			return MG_OUTLIER_NONE; /* what its old flows met */
		b->until_ms = 0;
		b->consec = 0;
		b->decay_ms = now_ms + c->base_ms;
		/* This reading's counts came while it was out. */
		return MG_OUTLIER_RETURNED;
	}
	if (b->ejections && now_ms >= b->decay_ms) {
		b->ejections--;
		b->decay_ms = now_ms + c->base_ms;
	}
	if (d_ok)
		b->consec = 0;
	else if (d_fail)
		b->consec = b->consec + d_fail < b->consec ?
				    ~0u :
				    b->consec + (unsigned int)d_fail;
	if (!c->consecutive || b->consec < c->consecutive || !may_eject)
		return MG_OUTLIER_NONE;
	if (b->ejections < 64)
		b->ejections++;
	b->until_ms = now_ms + eject_ms(c, b->ejections);
	b->consec = 0;
	return MG_OUTLIER_EJECTED;
}

unsigned int mg_outlier_max_ejected(unsigned int n, unsigned int max_percent)
{
	return (unsigned int)((uint64_t)n * max_percent / 100);
}

int mg_outlier_read(int fd, uint32_t slot, uint64_t *ok, uint64_t *fail)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_outlier_ctr *v;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*ok = *fail = 0;
	if (bpf_map_lookup_elem(fd, &slot, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int i = 0; i < ncpu; i++) {
		*ok += v[i].ok;
		*fail += v[i].fail;
	}
	free(v);
	return 0;
}
