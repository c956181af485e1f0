// SPDX-License-Identifier: GPL-2.0-only
/*
 * Weighted Maglev table population.
 *
 * Every backend has a permutation of the slots, (offset + j * skip) mod M,
 * with offset and skip drawn from two independent hashes of its id; M is
 * prime so every skip visits every slot.  Backends take turns; on its turn
 * a backend claims the next slot of its permutation that is still empty,
 * until the table is full (paper, §3.4, pseudocode 1).
 *
 * Weights decide whose turn it is.  Katran's MaglevHashV2 gives a backend
 * weight/max_weight turns per round; then removing the heaviest backend
 * changes everyone's rhythm and moves slots between the survivors.  Here
 * the turns are scheduled like weighted fair queueing instead: backend i's
 * k-th turn comes at virtual time k / weight_i, ties go to the lower id.
 * A backend's turn times depend only on its own weight, so removing one
 * backend takes its turns out of the sequence and leaves the order of the
 * others' as it was, and after any number of turns each backend holds its
 * weight's share of them to within one turn.
 *
 * Backends are sorted by id first, so that neither the order of the turns
 * nor the tie-breaks depend on the order the caller listed them in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maglev.h"

/* --- SipHash-2-4 (Aumasson and Bernstein, 2012) ------------------------- */

static inline __u64 rotl64(__u64 x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline __u64 get_le64(const __u8 *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void sipround(__u64 v[4])
{
	v[0] += v[1]; v[1] = rotl64(v[1], 13); v[1] ^= v[0];
	v[0] = rotl64(v[0], 32);
	v[2] += v[3]; v[3] = rotl64(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl64(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl64(v[1], 17); v[1] ^= v[2];
	v[2] = rotl64(v[2], 32);
}

static inline void sip_absorb(__u64 v[4], __u64 m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

/*
 * The key is the one of the reference test vectors (bytes 00..0f): ids need
 * to agree between gateways, not to be secret, and this way the function can
 * be checked against the published vectors.
 */
#define MG_SIP_K0	0x0706050403020100ULL
#define MG_SIP_K1	0x0f0e0d0c0b0a0908ULL

__u64 mg_maglev_backend_id(const void *key, size_t len)
{
	__u64 v[4] = {
		MG_SIP_K0 ^ 0x736f6d6570736575ULL,
		MG_SIP_K1 ^ 0x646f72616e646f6dULL,
		MG_SIP_K0 ^ 0x6c7967656e657261ULL,
		MG_SIP_K1 ^ 0x7465646279746573ULL,
	};
	const __u8 *p = key;
	__u64 last = (__u64)len << 56;
	size_t i, rem = len % 8;

	for (i = 0; i + 8 <= len; i += 8)
		sip_absorb(v, get_le64(p + i));
	while (rem--)
		last |= (__u64)p[i + rem] << (8 * rem);
	sip_absorb(v, last);
	v[2] ^= 0xff;
	sipround(v);
	sipround(v);
	sipround(v);
	sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* --- table population ----------------------------------------------------- */

/*
 * A bijective 64-bit mixer (splitmix64's finalizer).  Seeded with two
 * different constants it turns one id into two independent hashes, even
 * when a caller's ids are small or sequential rather than SipHash outputs.
 */
static __u64 mix64(__u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define MG_MAGLEV_SEED_OFFSET	0x9e3779b97f4a7c15ULL
#define MG_MAGLEV_SEED_SKIP	0xc2b2ae3d27d4eb4fULL

bool mg_maglev_is_prime(unsigned int n)
{
	unsigned int d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; d <= n / d; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

struct mg_maglev_slot {
	__u64 id;
	__u32 idx;	/* index in the caller's array */
	__u32 weight;
	__u32 pos;	/* next slot of the permutation to try */
	__u32 skip;
	__u32 turns;	/* turns taken so far */
};

static int cmp_id(const void *a, const void *b)
{
	const struct mg_maglev_slot *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* True when backend a's next turn comes before backend b's. */
static bool turn_before(const struct mg_maglev_slot *s, __u32 a, __u32 b)
{
	/* (turns_a + 1) / weight_a < (turns_b + 1) / weight_b, exactly */
	__u64 ta = ((__u64)s[a].turns + 1) * s[b].weight;
	__u64 tb = ((__u64)s[b].turns + 1) * s[a].weight;

	return ta != tb ? ta < tb : a < b;
}

/* Move heap[i] down until it comes no later than its children. */
static void sift_down(const struct mg_maglev_slot *s, __u32 *heap, __u32 n,
		      __u32 i)
{
	__u32 c, top = heap[i];

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && turn_before(s, heap[c + 1], heap[c]))
			c++;
		if (!turn_before(s, heap[c], top))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = top;
}

/* pos + skip mod size, without overflow for any 32-bit size */
static inline __u32 step(__u32 pos, __u32 skip, __u32 size)
{
	return pos >= size - skip ? pos - (size - skip) : pos + skip;
}

/* Claim the next empty slot in backend s's permutation. */
static void take_turn(struct mg_maglev_slot *s, __u32 size, __u32 *table)
{
	while (table[s->pos] != MG_MAGLEV_EMPTY)
		s->pos = step(s->pos, s->skip, size);
	table[s->pos] = s->idx;
	s->pos = step(s->pos, s->skip, size);
	s->turns++;
}

int mg_maglev_build(const struct mg_maglev_backend *b, unsigned int n,
		    unsigned int table_size, __u32 *table)
{
	struct mg_maglev_slot *s = NULL;
	__u32 *heap = NULL;
	unsigned int i, m = 0, filled;
	int ret = 0;

	if (!mg_maglev_is_prime(table_size))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (b[i].weight > MG_MAGLEV_WEIGHT_MAX)
			return -EINVAL;
		m += !!b[i].weight;
	}
	if (m > table_size)
		return -E2BIG;

	for (i = 0; i < table_size; i++)
		table[i] = MG_MAGLEV_EMPTY;
	if (!m)
		return 0;

	s = calloc(m, sizeof(*s));
	heap = calloc(m, sizeof(*heap));
	if (!s || !heap) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0, m = 0; i < n; i++) {
		if (!b[i].weight)
			continue;
		s[m].id = b[i].id;
		s[m].idx = i;
		s[m].weight = b[i].weight;
		s[m].pos = mix64(b[i].id ^ MG_MAGLEV_SEED_OFFSET) % table_size;
		s[m].skip = mix64(b[i].id ^ MG_MAGLEV_SEED_SKIP) %
			    (table_size - 1) + 1;
		m++;
	}
	qsort(s, m, sizeof(*s), cmp_id);
	for (i = 1; i < m; i++) {
		if (s[i].id == s[i - 1].id) {
			ret = -EINVAL;
			goto out;
		}
	}

	/* A min-heap of the backends by the time of their next turn. */
	for (i = 0; i < m; i++)
		heap[i] = i;
	for (i = m / 2; i-- > 0;)
		sift_down(s, heap, m, i);

	for (filled = 0; filled < table_size; filled++) {
		take_turn(&s[heap[0]], table_size, table);
		sift_down(s, heap, m, 0);
	}
out:
	free(heap);
	free(s);
	return ret;
}
