/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memberlist 0.2.2 message bodies: typed structs and their msgpack encoding.
 *
 * Encoders write the exact bytes go-msgpack writes (keys sorted bytewise,
 * omitempty for ping / indirectPingReq, raw strings, smallest integers, nil
 * for an absent byte slice).  Decoders take keys in any order, skip unknown
 * ones, accept any integer width, str8 and (for byte fields) bin, and reject
 * what a bounded C struct cannot hold: names over MG_ML_NAME_MAX bytes, Meta
 * over MG_ML_META_MAX, a Vsn that is neither absent nor 6 bytes, addresses
 * that are not 0, 4 or 16 bytes, integers out of their Go type's range.
 *
 * Strings are copied into NUL-terminated arrays (an embedded NUL is refused).
 * struct mg_bytes fields (ack Payload, compress Buf, user payloads) point into
 * the decoded input and live as long as it does.
 */
#ifndef MG_GOSSIP_MESSAGES_H
#define MG_GOSSIP_MESSAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/msgpack.h"

#define MG_ML_NAME_MAX		255	/* node names, accuser names */
#define MG_ML_META_MAX		512	/* memberlist MetaMaxSize */
#define MG_ML_VSN_LEN		6	/* PMin PMax PCur DMin DMax DCur */
#define MG_ML_ERR_MAX		1023	/* errResp text */

/* First byte of a message: memberlist's messageType. */
enum mg_ml_type {
	MG_ML_PING		= 0,
	MG_ML_INDIRECT_PING	= 1,
	MG_ML_ACK		= 2,
	MG_ML_SUSPECT		= 3,
	MG_ML_ALIVE		= 4,
	MG_ML_DEAD		= 5,
	MG_ML_PUSH_PULL		= 6,
	MG_ML_COMPOUND		= 7,
	MG_ML_USER		= 8,
	MG_ML_COMPRESS		= 9,
	MG_ML_ENCRYPT		= 10,
	MG_ML_NACK		= 11,
	MG_ML_HAS_CRC		= 12,
	MG_ML_ERR		= 13,
	MG_ML_TYPE_MAX		= 13,
};

/* Node state in push/pull entries. */
enum mg_ml_state {
	MG_ML_STATE_ALIVE	= 0,
	MG_ML_STATE_SUSPECT	= 1,
	MG_ML_STATE_DEAD	= 2,
	MG_ML_STATE_LEFT	= 3,
};

/* An IP address as memberlist carries it: 4 or 16 raw bytes, 0 = absent. */
struct mg_ml_ip {
	uint8_t len;
	uint8_t a[16];
};

/* Node metadata (serf tags); len 0 is sent as nil. */
struct mg_ml_meta {
	uint16_t len;
	uint8_t data[MG_ML_META_MAX];
};

struct mg_ml_ping {
	uint32_t seq_no;
	char node[MG_ML_NAME_MAX + 1];		/* target; "" = anyone */
	/* omitempty: where to send the ack (else the packet's source) */
	struct mg_ml_ip source_addr;
	uint16_t source_port;
	char source_node[MG_ML_NAME_MAX + 1];
};

struct mg_ml_indirect_ping {
	uint32_t seq_no;
	struct mg_ml_ip target;
	uint16_t port;
	char node[MG_ML_NAME_MAX + 1];
	bool nack;
	struct mg_ml_ip source_addr;		/* omitempty */
	uint16_t source_port;			/* omitempty */
	char source_node[MG_ML_NAME_MAX + 1];	/* omitempty */
};

struct mg_ml_ack {
	uint32_t seq_no;
	struct mg_bytes payload;		/* data NULL = nil */
};

struct mg_ml_nack {
	uint32_t seq_no;
};

struct mg_ml_err {
	char error[MG_ML_ERR_MAX + 1];
};

/* suspect (3) and dead (5) share this layout. */
struct mg_ml_suspect {
	uint32_t incarnation;
	char node[MG_ML_NAME_MAX + 1];
	char from[MG_ML_NAME_MAX + 1];
};

struct mg_ml_alive {
	uint32_t incarnation;
	char node[MG_ML_NAME_MAX + 1];
	struct mg_ml_ip addr;
	uint16_t port;
	struct mg_ml_meta meta;
	uint8_t vsn[MG_ML_VSN_LEN];		/* all zero = absent */
};

struct mg_ml_push_pull_hdr {
	uint32_t nodes;
	uint32_t user_state_len;
	bool join;
};

struct mg_ml_push_node {
	char name[MG_ML_NAME_MAX + 1];
	struct mg_ml_ip addr;
	uint16_t port;
	struct mg_ml_meta meta;
	uint32_t incarnation;
	uint8_t state;				/* enum mg_ml_state */
	uint8_t vsn[MG_ML_VSN_LEN];
};

struct mg_ml_user_hdr {
	uint32_t user_msg_len;
};

struct mg_ml_compress {
	uint8_t algo;				/* 0 = LZW, the only one */
	struct mg_bytes buf;
};

/* Every msgpack body this codec knows. */
enum mg_ml_body {
	MG_ML_BODY_PING,
	MG_ML_BODY_INDIRECT_PING,
	MG_ML_BODY_ACK,
	MG_ML_BODY_NACK,
	MG_ML_BODY_ERR,
	MG_ML_BODY_SUSPECT,
	MG_ML_BODY_ALIVE,
	MG_ML_BODY_DEAD,
	MG_ML_BODY_PUSH_PULL_HDR,
	MG_ML_BODY_PUSH_NODE,
	MG_ML_BODY_USER_HDR,
	MG_ML_BODY_COMPRESS,
	MG_ML_BODY_COUNT,
};

/* Encode @obj (the struct matching @body) as one msgpack map, appended. */
int mg_ml_body_encode(enum mg_ml_body body, const void *obj, struct mg_buf *out);
/*
 * Decode one msgpack map at the cursor into @obj (zeroed first).  Returns 0,
 * -EAGAIN (truncated), -EBADMSG (not msgpack / wrong types) or -EINVAL
 * (a value out of bounds).
 */
int mg_ml_body_decode(enum mg_ml_body body, struct mg_mp_rd *rd, void *obj);

/* One message as carried in a packet: its type and decoded body. */
struct mg_ml_msg {
	uint8_t type;			/* enum mg_ml_type */
	union {
		struct mg_ml_ping ping;
		struct mg_ml_indirect_ping ind;
		struct mg_ml_ack ack;
		struct mg_ml_nack nack;
		struct mg_ml_suspect suspect;
		struct mg_ml_alive alive;
		struct mg_ml_suspect dead;
		struct mg_ml_err err;
		struct mg_bytes user;	/* type 8: raw bytes after the type */
	};
};

/* The body kind of a simple message type, or -EPROTO. */
int mg_ml_type_body(uint8_t type);
/* Name of a type for logs ("ping", ...; "unknown"). */
const char *mg_ml_type_name(uint8_t type);
/*
 * Append [type][body] for ping, indirect ping, ack, nack, suspect, alive,
 * dead, err, or [8][raw] for user.  -EPROTO for other types.
 */
int mg_ml_msg_encode(const struct mg_ml_msg *m, struct mg_buf *out);
/*
 * Decode one simple message [type][body] from @p.  Trailing bytes after the
 * body are ignored (as memberlist does).  -EPROTO for a type that is not a
 * simple message (compound, compress, crc, push/pull, encrypt, unknown);
 * otherwise the errors of mg_ml_body_decode, with truncation as -EBADMSG.
 */
int mg_ml_msg_decode(const uint8_t *p, size_t n, struct mg_ml_msg *m);

#endif
