/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * serf's queries on the wire (serf 0.9.4, serf/messages.go, query.go,
 * internal_query.go, keymanager.go): the query (message 4), its response
 * (message 5, sent to the querier as a memberlist user message), and the
 * bodies of serf's internal key queries (_serf_install-key, _serf_use-key,
 * _serf_remove-key, _serf_list-keys): a request (message 7, {Key}) in the
 * query's payload, a nodeKeyResponse (message 8) in the response's.
 *
 * Decoded views point into the message; nothing is allocated.
 */
#ifndef MG_GOSSIP_SERFQUERY_H
#define MG_GOSSIP_SERFQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "memberlist/crypto.h"

#define MG_SERF_QUERY_RESPONSE	5
#define MG_SERF_KEY_REQUEST	7
#define MG_SERF_KEY_RESPONSE	8
#define MG_SERF_RELAY_MSG	9	/* messageRelayType */
#define MG_SERF_QFLAG_ACK	1u	/* queryFlagAck */
#define MG_SERF_QFLAG_NO_BCAST	2u	/* queryFlagNoBroadcast */
#define MG_SERF_INTERNAL	"_serf_"
/* serf's QueryResponseSizeLimit / QuerySizeLimit (1 KiB each). */
#define MG_SERF_QUERY_SIZE_MAX	1024

struct mg_serf_query {
	uint64_t ltime;
	uint32_t id;
	const uint8_t *addr;	/* 4 or 16 bytes, the querier's */
	uint32_t addr_len;
	uint16_t port;
	const uint8_t *source;	/* SourceNode */
	uint32_t source_len;
	uint32_t n_filters;
	const uint8_t *filters;	/* the Filters array (msgpack), n_filters */
	size_t filters_len;
	uint32_t flags;
	uint8_t relay_factor;
	int64_t timeout_ns;
	const uint8_t *name;
	uint32_t name_len;
	const uint8_t *payload;
	uint32_t payload_len;
};

struct mg_serf_response {
	uint64_t ltime;
	uint32_t id;
	const uint8_t *from;
	uint32_t from_len;
	uint32_t flags;
	const uint8_t *payload;
	uint32_t payload_len;
};

/* serf's nodeKeyResponse. */
struct mg_serf_key_result {
	bool result;
	const char *message;		/* NUL-terminated; "" when none */
	unsigned int n_keys;
	const struct mg_key *keys;	/* listed (list-keys only) */
	const struct mg_key *primary;	/* NULL: none */
};

/* Message 4 with its type byte.  0, or -EBADMSG. */
int mg_serf_query_decode(const uint8_t *p, size_t n, struct mg_serf_query *q);
/* Message 4 with its type byte (Filters nil). */
int mg_serf_query_encode(const struct mg_serf_query *q, struct mg_buf *out);
/* Message 5 with its type byte.  0, or -EBADMSG. */
int mg_serf_response_decode(const uint8_t *p, size_t n,
			    struct mg_serf_response *r);
int mg_serf_response_encode(const struct mg_serf_response *r,
			    struct mg_buf *out);

/*
 * serf's relayed message (message 9: relayHeader{DestAddr, DestName}, then
 * the message to forward, type byte first), as a member asked to relay a
 * query response gets it.  The views point into @p.  0, or -EBADMSG.
 */
int mg_serf_relay_decode(const uint8_t *p, size_t n, const uint8_t **dest,
			 uint32_t *dest_len, const uint8_t **inner,
			 size_t *inner_len);
/* Wrap @inner for a relay towards @dest at @addr:@port. */
int mg_serf_relay_encode(const uint8_t *addr, uint32_t addr_len,
			 uint16_t port, const uint8_t *dest, uint32_t dest_len,
			 const uint8_t *inner, size_t inner_len,
			 struct mg_buf *out);

/*
 * serf's shouldProcessQuery: whether @self is in every node filter.  A tag
 * filter (a Go regular expression on a tag) is taken as not matching: we
 * neither ack nor answer such a query, only relay it.
 */
bool mg_serf_query_for(const struct mg_serf_query *q, const char *self);
/* "install-key" etc. of "_serf_install-key"; NULL: not a key query. */
const char *mg_serf_key_query(const struct mg_serf_query *q);
/* A key request (message 7 + {Key}) for a query payload; @key NULL: none. */
int mg_serf_key_request_encode(const struct mg_key *key, struct mg_buf *out);
/* The key of a query payload.  0, or -EBADMSG / -EINVAL (not a key). */
int mg_serf_key_request_decode(const uint8_t *p, size_t n, struct mg_key *key);
/* A nodeKeyResponse (message 8 first), keys in serf's base64. */
int mg_serf_key_result_encode(const struct mg_serf_key_result *kr,
			      struct mg_buf *out);
/*
 * Read a nodeKeyResponse: Result, Message (copied, truncated, into @msg),
 * and each key through @key_fn (may be NULL): those of Keys with primary
 * false, then PrimaryKey (when not empty) with primary true.  0, or
 * -EBADMSG.
 */
int mg_serf_key_result_decode(const uint8_t *p, size_t n, bool *result,
			      char *msg, size_t msg_size,
			      void (*key_fn)(void *ctx, const uint8_t *b64,
					     uint32_t len, bool primary),
			      void *ctx);

#endif
