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

struct mg_loop;
struct mg_member;
struct mg_member_io;
struct mg_mtransport;

/* Bind UDP and TCP on @bind:@port (family 0: 0.0.0.0).  NULL, *err set. */
struct mg_mtransport *mg_mtransport_new(struct mg_loop *loop,
					const struct mg_addr *bind,
					uint16_t port, struct mg_member *m,
					unsigned int tcp_timeout_ms, int *err);
/* The engine's outputs, bound to this transport. */
void mg_mtransport_io(struct mg_mtransport *t, struct mg_member_io *io);
void mg_mtransport_free(struct mg_mtransport *t);

#endif
