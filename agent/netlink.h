/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's view of the kernel's links, routes and neighbours (rtnetlink,
 * libmnl).  It turns an underlay destination into the values the datapath
 * needs to send there without a per-packet bpf_fib_lookup (struct mg_nh_val)
 * and tells the agent when something those values depend on changed.  It
 * never touches BPF maps: the agent writes what it gets from here.
 *
 * Only what Linux 6.1 offers is used.
 */
#ifndef MG_NETLINK_H
#define MG_NETLINK_H

#include <stdbool.h>
#include <meshgate/abi.h>
#include "lib/addr.h"

/* IFNAMSIZ, without pulling in net/if.h or linux/if.h (they clash). */
#define MG_NL_IFNAMSIZ	16

struct mg_nl;

/**
 * mg_nl_open() - open the request socket and the event socket
 *
 * The event socket is non-blocking and subscribed to link, neighbour and
 * IPv4/IPv6 route changes of the caller's network namespace.
 *
 * Return: the handle, or NULL with errno set.
 */
struct mg_nl *mg_nl_open(void);

/** mg_nl_close() - close both sockets and free @nl (NULL is fine). */
void mg_nl_close(struct mg_nl *nl);

/** mg_nl_event_fd() - the descriptor to poll for events (EPOLLIN). */
int mg_nl_event_fd(const struct mg_nl *nl);

/**
 * struct mg_nl_hop - how a destination is reached
 * @val:	what the datapath needs: egress ifindex, its MAC, the next
 *		hop's MAC.  Valid only when mg_nl_resolve() returned 0.
 * @ifindex:	egress interface (also set on -EAGAIN)
 * @via:	the neighbour to resolve: the route's gateway, or the
 *		destination itself on a directly connected route (also set
 *		on -EAGAIN).  An IPv4 route may have an IPv6 gateway
 *		(RTA_VIA).
 * @mtu:	egress interface MTU (also set on -EAGAIN)
 */
struct mg_nl_hop {
	struct mg_nh_val val;
	int ifindex;
	struct mg_addr via;
	unsigned int mtu;
};

/**
 * mg_nl_resolve() - resolve the next hop towards @dst
 * @nl:		handle
 * @dst:	underlay destination (IPv4 or IPv6)
 * @hop:	filled in (see struct mg_nl_hop for what is valid when)
 *
 * Asks the kernel for the route to @dst (RTM_GETROUTE, so policy routing,
 * multipath and nexthop objects are honoured as for locally sent traffic),
 * the egress interface's MAC and the next hop's neighbour entry.  A
 * neighbour counts as resolved in REACHABLE, STALE, DELAY, PROBE, PERMANENT
 * or NOARP with a link-layer address.
 *
 * XDP-forwarded packets never confirm a neighbour, so an entry the kernel
 * learnt by itself goes STALE and is never re-checked: call
 * mg_nl_neigh_manage() on every next hop in use, resolved or not.
 *
 * Return: 0; -EHOSTUNREACH when there is no usable unicast route (none,
 * unreachable, blackhole, prohibit, or @dst is local); -EAGAIN when the
 * next hop's neighbour is not resolved (yet) (@hop->ifindex and @hop->via
 * tell which one); -EOPNOTSUPP when the egress interface is not Ethernet;
 * -EAFNOSUPPORT for a bad family; another -errno on netlink failure.
 */
int mg_nl_resolve(struct mg_nl *nl, const struct mg_addr *dst,
		  struct mg_nl_hop *hop);

/**
 * mg_nl_resolve4() - mg_nl_resolve() for an IPv4 destination
 * @nl:		handle
 * @dst_be:	destination, network order
 * @out:	filled on success
 *
 * Return: as mg_nl_resolve().
 */
int mg_nl_resolve4(struct mg_nl *nl, __u32 dst_be, struct mg_nh_val *out);

/**
 * mg_nl_resolve6() - mg_nl_resolve() for an IPv6 destination
 * @nl:		handle
 * @dst:	destination, 16 bytes, network order
 * @out:	filled on success
 *
 * Return: as mg_nl_resolve().
 */
int mg_nl_resolve6(struct mg_nl *nl, const __u8 dst[16],
		   struct mg_nh_val *out);

/**
 * mg_nl_neigh_manage() - have the kernel resolve @via and keep it resolved
 * @nl:		handle
 * @ifindex:	interface @via is reached on
 * @via:	next hop (IPv4 or IPv6)
 *
 * Makes the neighbour entry kernel-managed (NTF_EXT_MANAGED, Linux >= 5.16):
 * the kernel resolves it now and keeps re-probing it so it stays REACHABLE
 * although the datapath's traffic never confirms it.  An entry that is
 * PERMANENT or NOARP, or already managed, is left alone.  A valid entry
 * keeps its address and state while it becomes managed, so a resolved next
 * hop does not become unresolved on the way.
 *
 * On a kernel without managed neighbours (the request fails with EINVAL or
 * EOPNOTSUPP, or the entry does not come back managed) it falls back to one
 * empty UDP datagram to @via's discard port (9) from an unbound connected
 * socket: sending it makes the kernel start address resolution (ARP / ND)
 * for @via.  That resolution is not maintained: call this again whenever
 * mg_nl_resolve() returns -EAGAIN or a NEIGH_CHANGE event arrives.
 *
 * Idempotent.
 *
 * Return: 0 (resolution requested or not needed), or -errno.
 */
int mg_nl_neigh_manage(struct mg_nl *nl, int ifindex,
		       const struct mg_addr *via);

/** mg_nl_neigh_manage4() - mg_nl_neigh_manage() for an IPv4 next hop. */
int mg_nl_neigh_manage4(struct mg_nl *nl, int ifindex, __u32 nexthop_be);

typedef void (*mg_nl_route_cb)(const struct mg_prefix *pfx, void *arg);

/**
 * mg_nl_routes() - the unicast routes of a table or a protocol
 * @nl:		handle
 * @table:	routes in this table (0: no table filter)
 * @protocol:	routes with this rtm_protocol, in any table (0: none)
 * @cb:		called with each route's destination prefix
 * @arg:	passed to @cb
 *
 * What a CNI or a BGP daemon installs for the cluster's pods becomes the
 * gateway's local endpoints this way.  Default routes (length 0) and
 * non-unicast routes are never reported: they would claim everything.
 *
 * Return: the number of prefixes reported, or -errno.
 */
int mg_nl_routes(struct mg_nl *nl, __u32 table, __u8 protocol,
		 mg_nl_route_cb cb, void *arg);

/**
 * mg_nl_ifindex() - index of the interface called @name
 *
 * Return: the index (> 0), -EINVAL for a bad name, -ENODEV when none.
 */
int mg_nl_ifindex(const char *name);

/**
 * struct mg_nl_link - what the agent needs to know about an interface
 * @ifindex:	index
 * @name:	name
 * @mac:	hardware address (Ethernet); valid when @mac_ok
 * @mac_ok:	the interface has a 6-byte hardware address
 * @up:		administratively up (IFF_UP) with carrier (IFF_LOWER_UP)
 * @flags:	IFF_* as the kernel reports them
 * @mtu:	MTU
 */
struct mg_nl_link {
	int ifindex;
	char name[MG_NL_IFNAMSIZ];
	__u8 mac[6];
	bool mac_ok;
	bool up;
	unsigned int flags;
	unsigned int mtu;
};

/**
 * mg_nl_link_get() - look an interface up by index
 * @nl:		handle
 * @ifindex:	interface
 * @link:	filled on success
 *
 * Return: 0, -ENODEV when there is no such interface, or -errno.
 */
int mg_nl_link_get(struct mg_nl *nl, int ifindex, struct mg_nl_link *link);

enum mg_nl_event_type {
	MG_NL_EV_LINK_UP,	/* link is IFF_UP with carrier (may repeat) */
	MG_NL_EV_LINK_DOWN,	/* link exists but is down or lost carrier */
	MG_NL_EV_LINK_DEL,	/* link is gone */
	MG_NL_EV_NEIGH_CHANGE,	/* IPv4/IPv6 neighbour changed */
	MG_NL_EV_ROUTE_CHANGE,	/* IPv4/IPv6 route added or removed */
	MG_NL_EV_RESYNC,	/* events were lost: re-resolve everything */
};

/**
 * struct mg_nl_event - one change, as reported to mg_nl_event_cb
 * @type:	what happened
 * @ifindex:	link, neighbour's interface, route's output interface
 *		(0 when unknown, e.g. a multipath route, and for RESYNC)
 * @family:	AF_INET or AF_INET6 for NEIGH/ROUTE, AF_UNSPEC otherwise
 * @addr:	neighbour address or route destination (family 0 when none)
 * @prefixlen:	route destination length; 32/128 for a neighbour
 * @ifname:	link name for LINK_* events, else empty
 */
struct mg_nl_event {
	enum mg_nl_event_type type;
	int ifindex;
	int family;
	struct mg_addr addr;
	__u8 prefixlen;
	char ifname[MG_NL_IFNAMSIZ];
};

typedef void (*mg_nl_event_cb)(const struct mg_nl_event *ev, void *arg);

/**
 * mg_nl_process_events() - drain the event socket
 * @nl:		handle
 * @cb:		called once per event, in the kernel's order
 * @arg:	passed to @cb
 *
 * Reads until the socket is empty.  When the kernel dropped notifications
 * (ENOBUFS) one MG_NL_EV_RESYNC is reported where the loss was seen and
 * draining goes on; the agent should then re-resolve every next hop it
 * holds, best once this call has returned.  Cached route clones, bridge FDB
 * entries and other families are not reported.  LINK_UP and LINK_DOWN
 * report the state in each RTM_NEWLINK, so they may repeat.
 *
 * Return: the number of events reported, or -errno.
 */
int mg_nl_process_events(struct mg_nl *nl, mg_nl_event_cb cb, void *arg);

/** mg_nl_event_name() - "link-up", "neigh-change", ... for logs. */
const char *mg_nl_event_name(enum mg_nl_event_type type);

/*
 * The host's own traffic to remote prefixes and VIPs (tc.bpf.c): routes of
 * protocol MG_NL_RTPROT in the main table, into a dummy device.
 */
#define MG_NL_RTPROT	109

/*
 * Create device name unless it exists, and set it up without ARP and with
 * mtu (0: as it is), so that a route into it resolves no neighbour: a
 * dummy, or where the kernel has none one end of a veth pair (the other,
 * <name>p, takes what is sent and drops it).  Returns its ifindex or
 * -errno.
 */
int mg_nl_host_dev(struct mg_nl *nl, const char *name, unsigned int mtu);
int mg_nl_link_del(struct mg_nl *nl, int ifindex);

/*
 * Add (never replacing a route already there: -EEXIST) or delete the route
 * to pfx out of ifindex, from src when it is of pfx's family.  0 or -errno.
 */
int mg_nl_route(struct mg_nl *nl, bool add, const struct mg_prefix *pfx,
		int ifindex, const struct mg_addr *src);

#endif
