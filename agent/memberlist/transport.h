/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Real sockets for the membership engine: one UDP socket and one TCP
 * listener on the member port, and non-blocking TCP streams (connect, write,
 * read) driven by the loop, each with its own deadline.
 */
#ifndef MG_GOSSIP_TRANSPORT_H
#define MG_GOSSIP_TRANSPORT_H

#include <stdint.h>

#include <meshgate/abi.h>

#include "lib/buf.h"

/* Inbound TCP streams at once (memberlist: pushPullMaxConcurrency). */
#define MG_MTRANSPORT_INBOUND_MAX 32

struct mg_loop;
struct mg_mtransport;

/*
 * Where the transport delivers what it reads: the layer above (the
 * membership engine) registers these; the transport knows nothing else of
 * it.  All are called with @arg.
 */
struct mg_mtransport_deliver {
	/* One datagram read from the UDP socket. */
	void (*packet)(void *arg, const struct mg_addr *from, uint16_t port,
		       const uint8_t *p, size_t n);
	/*
	 * Bytes of an inbound stream read so far.  -EAGAIN: read more.  0:
	 * done; @reply (if any bytes) is written back before closing.
	 */
	int (*stream_in)(void *arg, const uint8_t *p, size_t n,
			 struct mg_buf *reply);
	/* Reply bytes of an outbound stream so far; -EAGAIN: read more. */
	int (*stream_reply)(void *arg, uint32_t token, const uint8_t *p,
			    size_t n);
	/* An outbound stream that wanted a reply failed. */
	void (*stream_fail)(void *arg, uint32_t token, int err);
	/* An inbound stream was refused: count it, return the count so far. */
	uint64_t (*stream_refused)(void *arg);
	/* The clock stream deadlines are given in (microseconds). */
	uint64_t (*now)(void *arg);
	void *arg;
};

/*
 * Bind UDP and TCP on @bind:@port (family 0: 0.0.0.0), delivering through
 * @d (copied).  NULL, *err set.
 */
struct mg_mtransport *mg_mtransport_new(struct mg_loop *loop,
					const struct mg_addr *bind,
					uint16_t port,
					const struct mg_mtransport_deliver *d,
					unsigned int tcp_timeout_ms, int *err);
/*
 * Send one datagram; open a stream, write @p, and (if @token) read the
 * reply into d->stream_reply until it stops asking for more, d->stream_fail
 * on any failure or once @deadline (d->now's clock) passes.  @arg is the
 * transport: these match the engine's struct mg_member_io.
 */
int mg_mtransport_send(void *arg, const struct mg_addr *to, uint16_t port,
		       const uint8_t *p, size_t n);
int mg_mtransport_stream(void *arg, const struct mg_addr *to, uint16_t port,
			 const uint8_t *p, size_t n, uint64_t deadline,
			 uint32_t token);
void mg_mtransport_free(struct mg_mtransport *t);

#endif
