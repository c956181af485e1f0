/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The membership engine: a full member of a memberlist 0.2.2 cluster (SWIM
 * with the Lifeguard extensions), the peer a stock serf agent expects.
 *
 * It runs on the agent's single-threaded loop and never blocks: the engine
 * itself is a state machine driven by four inputs (a datagram, an inbound
 * stream's bytes, an outbound stream's reply, the clock) and emitting
 * through two outputs (send a datagram, open a stream).  transport.c ties
 * those to real UDP and TCP sockets; tests tie them to each other.
 */
#ifndef MG_GOSSIP_MEMBER_H
#define MG_GOSSIP_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <meshgate/abi.h>

#include "lib/buf.h"
#include "memberlist/crypto.h"
#include "memberlist/messages.h"

#define MG_MEMBER_PORT		7946
/* Members the table holds at most (self and unreaped dead included). */
#define MG_MEMBER_MAX_DEFAULT	4096
/* Queued broadcasts beyond one per member (user messages, our own). */
#define MG_MEMBER_BCAST_EXTRA	1024

struct mg_loop;
struct mg_member;

enum mg_member_profile {
	MG_MEMBER_LAN,			/* DefaultLANConfig (serf's default) */
	MG_MEMBER_WAN,			/* DefaultWANConfig */
	MG_MEMBER_LOCAL,		/* DefaultLocalConfig */
};

/* memberlist's timers and fan-outs; all times in milliseconds. */
struct mg_member_timers {
	unsigned int probe_interval;
	unsigned int probe_timeout;
	unsigned int indirect_checks;
	unsigned int suspicion_mult;
	unsigned int suspicion_max_mult;
	unsigned int retransmit_mult;
	unsigned int gossip_interval;
	unsigned int gossip_nodes;
	unsigned int gossip_to_dead;
	unsigned int push_pull_interval;	/* 0 = no anti-entropy */
	unsigned int tcp_timeout;
	unsigned int awareness_max;
	bool no_tcp_pings;			/* DisableTcpPings */
};

/* The outputs of the engine, for a transport other than real sockets. */
struct mg_member_io {
	/* Send one datagram. */
	int (*send)(void *arg, const struct mg_addr *to, uint16_t port,
		    const uint8_t *p, size_t n);
	/*
	 * Connect, write @p, then (if @token) read the reply, feeding all
	 * bytes read so far to mg_member_stream_reply() until it returns
	 * other than -EAGAIN; on any failure (or @deadline, in the engine's
	 * clock, passing) call mg_member_stream_fail().  Token 0: write only.
	 */
	int (*stream)(void *arg, const struct mg_addr *to, uint16_t port,
		      const uint8_t *p, size_t n, uint64_t deadline,
		      uint32_t token);
	void *arg;
};

struct mg_member_cfg {
	char name[MG_ML_NAME_MAX + 1];
	struct mg_addr bind;		/* family 0: 0.0.0.0 */
	uint16_t port;			/* 0: MG_MEMBER_PORT */
	struct mg_addr advertise;	/* family 0: the bind address */
	uint16_t advertise_port;	/* 0: the bind port */
	struct mg_ml_meta meta;		/* unless ops->node_meta */
	struct mg_member_timers t;
	struct mg_keyring keyring;	/* n = 0: plaintext */
	bool compress;			/* LZW on send (serf: yes) */
	/* Clock in microseconds, monotonic; NULL = CLOCK_MONOTONIC. */
	uint64_t (*now)(void *arg);
	/* NULL: real UDP and TCP sockets on the loop. */
	const struct mg_member_io *io;
	uint64_t seed;			/* 0: random */
	unsigned int max_members;	/* 0: MG_MEMBER_MAX_DEFAULT */
};

enum mg_member_state {
	MG_MEMBER_ALIVE		= MG_ML_STATE_ALIVE,
	MG_MEMBER_SUSPECT	= MG_ML_STATE_SUSPECT,
	MG_MEMBER_DEAD		= MG_ML_STATE_DEAD,
	MG_MEMBER_LEFT		= MG_ML_STATE_LEFT,
};

/* A member as the table holds it; views valid until the engine runs again. */
struct mg_member_info {
	const char *name;
	struct mg_addr addr;
	uint16_t port;
	const uint8_t *meta;
	size_t meta_len;
	enum mg_member_state state;
	uint32_t incarnation;
	uint8_t vsn[MG_ML_VSN_LEN];
	int64_t rtt_us;			/* last ping -> ack; -1 unknown */
	uint64_t state_change;		/* engine clock, microseconds */
	bool self;
};

/* Extra user messages a delegate piggybacks (see mg_member_bcast_add). */
struct mg_member_bcast;

struct mg_member_ops {
	void (*notify_join)(void *arg, const struct mg_member_info *mi);
	void (*notify_leave)(void *arg, const struct mg_member_info *mi);
	void (*notify_update)(void *arg, const struct mg_member_info *mi);
	/* Fill our own Meta (<= 512 bytes); overrides cfg->meta. */
	void (*node_meta)(void *arg, struct mg_ml_meta *meta);
	/* Append the push/pull user state (may append nothing). */
	int (*local_state)(void *arg, bool join, struct mg_buf *out);
	void (*merge_remote_state)(void *arg, const uint8_t *p, size_t n,
				   bool join);
	/* A user message (type 8) arrived; @p excludes the type byte. */
	void (*notify_user_msg)(void *arg, const uint8_t *p, size_t n);
	/*
	 * Offer user messages to piggyback on a packet to the member whose
	 * Meta is @to_meta (NULL: not a known member): call
	 * mg_member_bcast_add() for each; every one costs @overhead plus its
	 * length out of @limit.
	 */
	void (*get_broadcasts)(void *arg, const uint8_t *to_meta,
			       size_t to_meta_len, size_t overhead,
			       size_t limit, struct mg_member_bcast *out);
	/* mg_member_join() finished: @ok of @tried seeds answered. */
	void (*join_done)(void *arg, unsigned int ok, unsigned int tried);
	/* mg_member_leave() finished: @sent false on timeout. */
	void (*leave_done)(void *arg, bool sent);
};

struct mg_member_stats {
	uint64_t pkts_in, bytes_in, pkts_out, bytes_out;
	uint64_t streams_in, streams_out, stream_errors;
	uint64_t streams_refused;	/* too many, or past the buffer budget */
	uint64_t decrypt_failed;	/* encrypted with a key we lack */
	uint64_t plaintext_rejected;	/* plaintext while a key is set */
	uint64_t decode_errors;
	uint64_t pings_sent, pings_recv, acks_sent, acks_recv;
	uint64_t nacks_sent, nacks_recv, indirect_sent, indirect_recv;
	uint64_t tcp_pings, tcp_ping_ok;
	uint64_t suspects;		/* members we marked suspect */
	uint64_t deaths;		/* members marked dead or left */
	uint64_t refutes;
	uint64_t push_pulls;		/* completed, either side */
	uint64_t push_pull_rejected;	/* protocol version check failed */
	uint64_t conflicts;		/* same name, other address */
	uint64_t members_refused;	/* table full (max_members) */
	uint64_t bad_names;		/* control characters in a name */
	uint64_t gossip_sent;
};

/* Fill @cfg with a profile's timers, port 7946, compression on. */
void mg_member_cfg_init(struct mg_member_cfg *cfg, enum mg_member_profile p);
void mg_member_profile_timers(enum mg_member_profile p,
			      struct mg_member_timers *t);
/* "lan" / "wan" / "local" -> profile; -EINVAL when unknown. */
int mg_member_profile_parse(const char *s);

/*
 * Start a member (alive, incarnation 1).  With @loop it arms its own timers
 * and, unless cfg->io, binds UDP and TCP on cfg->bind:port.  Without @loop
 * the caller drives mg_member_tick().  NULL and *err set on failure.
 */
struct mg_member *mg_member_new(struct mg_loop *loop,
				const struct mg_member_cfg *cfg,
				const struct mg_member_ops *ops, void *arg,
				int *err);
void mg_member_free(struct mg_member *m);

/*
 * Push/pull (Join=true) with each seed ("host", "host:port", "[v6]:port");
 * completion through ops->join_done.  Returns how many exchanges started,
 * or -errno when none could.
 */
int mg_member_join(struct mg_member *m, const char *const *seeds,
		   unsigned int n);
/*
 * Broadcast our own death (From = self) and report through ops->leave_done
 * once it has been sent its retransmit limit, or after @timeout_ms.
 */
int mg_member_leave(struct mg_member *m, unsigned int timeout_ms);
/* Refresh our Meta (cfg or ops->node_meta) and gossip it (inc + 1). */
int mg_member_update_meta(struct mg_member *m, const struct mg_ml_meta *meta);
/*
 * A user message (type 8) to one member: a datagram when it fits, else a
 * TCP stream (write only).  -ENOENT unknown, -EHOSTDOWN dead or left.
 */
int mg_member_send_user(struct mg_member *m, const char *name, const void *p,
			size_t n);
/* Replace the keyring (rotation: install, use, remove on all members). */
int mg_member_set_keyring(struct mg_member *m, const struct mg_keyring *kr);
/*
 * Gossip a user message (type 8; @p without the type byte) with the same
 * retransmit limit as membership broadcasts, e.g. serf's leave intent.
 */
int mg_member_user_broadcast(struct mg_member *m, const void *p, size_t n);
/* Append a delegate broadcast; -ENOSPC when over the offered limit. */
int mg_member_bcast_add(struct mg_member_bcast *b, const void *p, size_t n);

/* Members (self included); @fn returning non-zero stops. */
int mg_member_foreach(struct mg_member *m,
		      int (*fn)(void *ctx, const struct mg_member_info *mi),
		      void *ctx);
int mg_member_find(struct mg_member *m, const char *name,
		   struct mg_member_info *mi);
/* Members alive (self included). */
unsigned int mg_member_alive(const struct mg_member *m);
/* Table size, the n of the formulas (self and unreaped dead included). */
unsigned int mg_member_count(const struct mg_member *m);
const struct mg_member_stats *mg_member_stats(const struct mg_member *m);
int mg_member_health(const struct mg_member *m);	/* awareness score */
uint32_t mg_member_incarnation(const struct mg_member *m);
const char *mg_member_state_name(enum mg_member_state s);

/* --- inputs (transport.c, tests) ------------------------------------------ */

void mg_member_packet_in(struct mg_member *m, const struct mg_addr *from,
			 uint16_t port, const uint8_t *p, size_t n);
/*
 * Bytes of an inbound stream read so far.  -EAGAIN: read more.  0: done;
 * write @reply if not empty, then close.  Other -errno: close.
 */
int mg_member_stream_in(struct mg_member *m, const uint8_t *p, size_t n,
			struct mg_buf *reply);
/* Reply bytes of an outbound stream so far; -EAGAIN: read more. */
int mg_member_stream_reply(struct mg_member *m, uint32_t token,
			   const uint8_t *p, size_t n);
void mg_member_stream_fail(struct mg_member *m, uint32_t token, int err);
/* The transport refused an inbound stream (count it). */
void mg_member_stream_refused(struct mg_member *m);
/* Run whatever is due; the next deadline (engine clock, microseconds). */
void mg_member_tick(struct mg_member *m);
uint64_t mg_member_next_deadline(const struct mg_member *m);
/* The engine's clock. */
uint64_t mg_member_now(const struct mg_member *m);

#endif
