/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rtnetlink for the agent: next-hop resolution for the datapath's mg_nh4
 * entries, kernel-managed neighbours, interface lookups and change events.
 *
 * Two sockets: a blocking one for request/reply (every request asks for an
 * ACK, so a reply always ends with NLMSG_ERROR and the read loop knows when
 * to stop) and a non-blocking one subscribed to the multicast groups, for
 * the agent's epoll loop.
 *
 * Its insides, shared by the files of agent/netlink/; callers use
 * netlink.h.
 *
 *   netlink/core.c    addresses, request / reply, the sockets opened
 *   netlink/link.c    links; the host's own device and its routes
 *   netlink/route.c   route lookups and dumps
 *   netlink/neigh.c   neighbours, next-hop resolution, managed neighbours
 *   netlink/events.c  the multicast events
 */
#ifndef MG_NL_INT_H
#define MG_NL_INT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <net/if.h> /* before linux/if.h: libc-compat */
#include <netinet/in.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "netlink.h"
#include "lib/log.h"

_Static_assert(MG_NL_IFNAMSIZ == IFNAMSIZ, "MG_NL_IFNAMSIZ");

#define NL_BUF_SIZE 32768
/* Request buffers start zeroed: libmnl leaves attribute padding as is. */
#define NL_REQ_SIZE 512
#define NL_RCV_TIMEOUT 2 /* s; rtnetlink replies synchronously */
#define NL_EV_RCVBUF (4 << 20) /* rides out bursts of events */
#define DISCARD_PORT 9

/* States whose link-layer address may be used (the kernel's NUD_VALID). */
#define NUD_RESOLVED                                                         \
	(NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | \
	 NUD_NOARP)

struct mg_nl {
	struct mnl_socket *req;
	struct mnl_socket *ev;
	unsigned int portid;
	unsigned int seq;
	bool dirty; /* a reply may be left unread on req */
	/* Messages are parsed in place: nlmsghdr and attributes need
	 * NLMSG_ALIGNTO, and an attribute payload may be read as a u64. */
	char buf[NL_BUF_SIZE] __attribute__((aligned(8)));
};

/* A route looked up (route.c). */
struct route {
	unsigned char type; /* RTN_* */
	int family; /* of the destination */
	int oif;
	struct mg_addr gw; /* family 0 when directly connected */
	unsigned int mtu; /* route MTU metric, 0 when none */
};

int nl_sys_family(__u8 mg_family);
size_t nl_addr_len(int family);
bool nl_addr_set(struct mg_addr *addr, int family, const void *data,
		 size_t len);
int nl_talk(struct mg_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
bool nl_link_is_up(unsigned int flags);
int nl_route_get(struct mg_nl *nl, int family, const void *dst,
		 struct route *rt);

#endif
