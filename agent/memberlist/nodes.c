// SPDX-License-Identifier: GPL-2.0-only
/* Small helpers; the member table's name index; member info for the callbacks. */
#include "memberlist/member_int.h"

/* --- small helpers -------------------------------------------------------- */

uint64_t ml_clock_us(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t mg_member_now(const struct mg_member *m)
{
	return m->cfg.now(m->arg);
}

static uint64_t rnd(struct mg_member *m)
{
	/* xorshift64* */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 0x2545F4914F6CDD1DULL;
}

unsigned int ml_rnd_n(struct mg_member *m, unsigned int n)
{
	return n ? rnd(m) % n : 0;
}

void ml_ip_from_addr(const struct mg_addr *a, struct mg_ml_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (a->family == MG_AF_INET) {
		ip->len = 4;
		memcpy(ip->a, &a->addr[0], 4);
	} else if (a->family == MG_AF_INET6) {
		ip->len = 16;
		memcpy(ip->a, a->addr, 16);
	}
}

int ml_addr_from_ip(const struct mg_ml_ip *ip, struct mg_addr *a)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(a, 0, sizeof(*a));
	if (ip->len == 4) {
		a->family = MG_AF_INET;
		memcpy(&a->addr[0], ip->a, 4);
	} else if (ip->len == 16 && !memcmp(ip->a, v4mapped, 12)) {
		a->family = MG_AF_INET;
		memcpy(&a->addr[0], ip->a + 12, 4);
	} else if (ip->len == 16) {
		a->family = MG_AF_INET6;
		memcpy(a->addr, ip->a, 16);
	} else {
		return -EINVAL;
	}
	return 0;
}

const char *ml_ip_str(const struct mg_ml_ip *ip, char *buf, size_t len)
{
	struct mg_addr a;

	if (ml_addr_from_ip(ip, &a))
		return "?";
	return mg_addr_str(&a, buf, len);
}

struct mg_ml_opts ml_tx_opts(const struct mg_member *m, bool crc)
{
	return (struct mg_ml_opts){
		.kr = m->cfg.keyring.n ? &m->cfg.keyring : NULL,
		.compress = m->cfg.compress,
		.crc = crc,
	};
}

size_t ml_crypt_overhead(const struct mg_member *m)
{
	return m->cfg.keyring.n ? MG_CRYPT_OVERHEAD : 0;
}

/* --- the name index ---------------------------------------------------------- */

/*
 * Members are found by name on every message; a push/pull carries up to
 * MG_ML_STREAM_MAX_NODES (8192) of them.  A chained hash (FNV-1a) keeps that
 * linear, not quadratic; the table doubles with the members.
 */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

struct node *ml_find(const struct mg_member *m, const char *name)
{
	struct node *n;

	if (!m->idx)
		return NULL;
	for (n = m->idx[name_hash(name) & m->idx_mask]; n; n = n->hnext)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

/* Room in the index for one more member (before it is allocated). */
int ml_idx_reserve(struct mg_member *m)
{
	unsigned int size = m->idx ? 2 * (m->idx_mask + 1) : 64;
	struct node **idx;

	if (m->idx && m->n + 1 <= m->idx_mask + 1)
		return 0;
	idx = calloc(size, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (unsigned int i = 0; i < m->n; i++) {
		struct node *n = m->nodes[i];
		uint32_t h = name_hash(n->name) & (size - 1);

		n->hnext = idx[h];
		idx[h] = n;
	}
	free(m->idx);
	m->idx = idx;
	m->idx_mask = size - 1;
	return 0;
}

void ml_idx_insert(struct mg_member *m, struct node *n)
{
	uint32_t h = name_hash(n->name) & m->idx_mask;

	n->hnext = m->idx[h];
	m->idx[h] = n;
}

void ml_idx_remove(struct mg_member *m, struct node *n)
{
	struct node **pp = &m->idx[name_hash(n->name) & m->idx_mask];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			return;
		}
	}
}

/*
 * Names reach our log and the operator's CLI: one with a control
 * character (a newline forging a log line, an escape sequence) is refused
 * with the message that carries it.
 */
static bool name_ok(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

bool ml_names_ok(struct mg_member *m, const char *node, const char *from)
{
	if (name_ok(node) && (!from || name_ok(from)))
		return true;
	m->st.bad_names++;
	return false;
}

void ml_info_of(const struct mg_member *m, const struct node *n,
		struct mg_member_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->name = n->name;
	ml_addr_from_ip(&n->addr, &mi->addr);
	mi->port = n->port;
	mi->meta = n->meta.data;
	mi->meta_len = n->meta.len;
	mi->state = n->state;
	mi->incarnation = n->inc;
	memcpy(mi->vsn, n->vsn, MG_ML_VSN_LEN);
	mi->rtt_us = n->rtt_us;
	mi->state_change = n->state_change;
	mi->self = n == m->self;
}

void ml_notify(struct mg_member *m,
	       void (*fn)(void *, const struct mg_member_info *),
	       const struct node *n)
{
	struct mg_member_info mi;

	if (!fn)
		return;
	ml_info_of(m, n, &mi);
	fn(m->arg, &mi);
}
