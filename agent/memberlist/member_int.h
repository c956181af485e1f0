/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The membership state machine (memberlist 0.2.2 state.go and net.go,
 * rewritten for one thread): the member table with its alive / suspect /
 * dead rules, the probe cycle with indirect and TCP fallback probes, the
 * gossip and push/pull rounds, and the broadcast queue they share.
 *
 * Nothing here touches a socket or a clock directly: packets and streams
 * leave through m->io, time comes from m->cfg.now, and every deadline is
 * checked in mg_member_tick().
 *
 * Its insides, shared by the engine's files; callers outside use member.h.
 *
 *   memberlist/nodes.c   small helpers, the member table's name index
 *   memberlist/send.c    packets out: broadcasts piggybacked, compounds
 *   memberlist/states.c  the alive / suspect / dead rules (state.go)
 *   memberlist/stream.c  streams: join and push/pull, the merge
 *   memberlist/packet.c  packets in: ping, indirect ping, ack, nack
 *   memberlist/probe.c   the probe cycle (probeNode)
 *   memberlist/tick.c    the gossip and push/pull rounds, the clock
 *   memberlist/member.c  the API: made, freed, join, leave, queries
 */
#ifndef MG_MEMBER_INT_H
#define MG_MEMBER_INT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "memberlist/broadcast.h"
#include "memberlist/member.h"
#include "memberlist/suspicion.h"
#include "memberlist/transport.h"
#include "memberlist/wire.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/loop.h"

#define COMPOUND_HDR 2 /* memberlist compoundHeaderOverhead */
#define COMPOUND_PART 2 /* memberlist compoundOverhead */
#define USER_MSG_HDR 1 /* memberlist userMsgOverhead */
#define MAX_PARTS MG_ML_COMPOUND_MAX

static const uint8_t our_vsn[MG_ML_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };

struct node {
	char name[MG_ML_NAME_MAX + 1];
	struct mg_ml_ip addr; /* as the member announced it */
	uint16_t port;
	struct mg_ml_meta meta;
	uint32_t inc;
	uint8_t state; /* enum mg_ml_state */
	uint8_t vsn[MG_ML_VSN_LEN];
	uint64_t state_change;
	int64_t rtt_us;
	bool suspecting;
	bool proven; /* has answered one of our probes */
	struct mg_suspicion susp;
	struct node *hnext; /* name index chain */
};

/* An indirect ping we run for someone else. */
struct relay {
	uint32_t seq; /* ours, towards the target */
	uint32_t req_seq; /* the requester's */
	struct mg_addr to;
	uint16_t port;
	bool nack;
	uint64_t deadline;
};

enum stream_kind { ST_JOIN, ST_PUSH_PULL, ST_PING };

struct pending {
	uint32_t token;
	enum stream_kind kind;
	uint32_t seq; /* ST_PING */
};

struct probe {
	bool active;
	bool indirect; /* past ProbeTimeout */
	bool tcp_ok;
	char target[MG_ML_NAME_MAX + 1];
	uint32_t seq;
	uint64_t start, timeout_at, end_at;
	unsigned int expected_nacks, nacks;
};

/* Messages gathered for one packet. */
struct msgs {
	struct mg_buf buf;
	size_t off[MAX_PARTS], len[MAX_PARTS];
	unsigned int n, max;
};

struct mg_member_bcast {
	struct msgs *out;
	size_t overhead, limit, used;
};

struct mg_member {
	bool healing; /* merging a push/pull while cut off */
	struct mg_member_cfg cfg;
	struct mg_member_ops ops;
	void *arg;
	struct mg_loop *loop;
	struct mg_loop_src *timer;
	struct mg_mtransport *tp;
	struct mg_member_io io;

	struct node **nodes; /* probe order */
	unsigned int n, cap;
	struct node **idx; /* by name: chained, idx_mask + 1 heads */
	unsigned int idx_mask;
	uint64_t full_warned; /* last logged: table full */
	struct node *self;
	struct mg_ml_ip self_addr;
	uint16_t self_port;
	unsigned int probe_index;
	unsigned int proven_index; /* the proven members' own turn */
	bool proven_turn;
	uint32_t seq;
	struct mg_awareness aw;
	struct mg_bcast_queue bq;
	struct probe probe;

	struct relay *relays;
	unsigned int n_relays, cap_relays;
	struct pending *pend;
	unsigned int n_pend, cap_pend;
	uint32_t next_token;

	uint64_t next_probe, next_gossip, next_push_pull;
	bool leaving, leave_finished, leave_reported, leave_sent;
	uint64_t leave_deadline;
	unsigned int join_pending, join_ok, join_tried;
	bool join_report;
	uint64_t rejected_warned[2]; /* last logged: undecryptable, plaintext */

	struct mg_member_stats st;
	uint64_t rng;
};

static inline uint64_t ms(unsigned int v)
{
	return (uint64_t)v * 1000;
}

static inline bool ip_equal(const struct mg_ml_ip *a, const struct mg_ml_ip *b)
{
	/* memberlist compares the bytes as announced */
	return a->len == b->len && !memcmp(a->a, b->a, a->len);
}

static inline bool vsn_present(const uint8_t *v)
{
	static const uint8_t zero[MG_ML_VSN_LEN];

	return memcmp(v, zero, MG_ML_VSN_LEN) != 0;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t ml_clock_us(void *arg);
unsigned int ml_rnd_n(struct mg_member *m, unsigned int n);
void ml_ip_from_addr(const struct mg_addr *a, struct mg_ml_ip *ip);
int ml_addr_from_ip(const struct mg_ml_ip *ip, struct mg_addr *a);
const char *ml_ip_str(const struct mg_ml_ip *ip, char *buf, size_t len);
struct mg_ml_opts ml_tx_opts(const struct mg_member *m, bool crc);
size_t ml_crypt_overhead(const struct mg_member *m);
struct node *ml_find(const struct mg_member *m, const char *name);
int ml_idx_reserve(struct mg_member *m);
void ml_idx_insert(struct mg_member *m, struct node *n);
void ml_idx_remove(struct mg_member *m, struct node *n);
bool ml_names_ok(struct mg_member *m, const char *node, const char *from);
void ml_info_of(const struct mg_member *m, const struct node *n,
		struct mg_member_info *mi);
void ml_notify(struct mg_member *m,
	       void (*fn)(void *, const struct mg_member_info *),
	       const struct node *n);
void ml_get_broadcasts(struct mg_member *m, const struct node *to,
		       size_t overhead, size_t limit, struct msgs *out);
int ml_send_raw(struct mg_member *m, const struct mg_ml_ip *ip, uint16_t port,
		const struct node *node, const uint8_t *msg, size_t len);
int ml_send_parts(struct mg_member *m, const struct mg_ml_ip *ip, uint16_t port,
		  const struct node *node, struct msgs *ms);
int ml_send_msg(struct mg_member *m, const struct mg_ml_ip *ip, uint16_t port,
		const struct node *to, const struct mg_ml_msg *msg);
int ml_queue_msg(struct mg_member *m, const char *about,
		 const struct mg_ml_msg *msg, bool notify_done);
void ml_self_alive(const struct mg_member *m, struct mg_ml_alive *a);
void ml_refute(struct mg_member *m, uint32_t accused);
void ml_clear_suspicion(struct node *n);
void ml_alive_node(struct mg_member *m, const struct mg_ml_alive *a,
		   bool bootstrap);
void ml_suspect_node(struct mg_member *m, const struct mg_ml_suspect *s);
void ml_dead_node(struct mg_member *m, const struct mg_ml_suspect *d);
void ml_count_rx_error(struct mg_member *m, int err, bool encrypted);
struct mg_ml_opts ml_rx_opts(const struct mg_member *m);
int ml_stream_open(struct mg_member *m, const struct mg_ml_ip *ip,
		   uint16_t port, const struct mg_buf *req, uint64_t deadline,
		   enum stream_kind kind, uint32_t seq);
int ml_push_pull_with(struct mg_member *m, const struct mg_ml_ip *ip,
		      uint16_t port, bool join);
void ml_ping_fill(struct mg_member *m, struct mg_ml_ping *p, uint32_t seq,
		  const char *target);
void ml_probe_success(struct mg_member *m);
void ml_probe_start(struct mg_member *m);
void ml_probe_indirect(struct mg_member *m);
void ml_probe_fail(struct mg_member *m);
void ml_gossip(struct mg_member *m);
void ml_timer_cb(struct mg_loop_src *src, uint32_t events, void *arg);
void ml_finish(struct mg_member *m, bool from_tick);

#endif
