/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The gateway host's own traffic to remote pods and service VIPs (DESIGN
 * §2.6): a device without ARP (host_device, mg0 by default: a dummy, or
 * one end of a veth pair where the kernel has no dummy) with the TC egress
 * program on it, and a route into it for every remote endpoint prefix and
 * every VIP, from the cluster-side address (a local endpoint, so replies
 * come back through the tunnel and peers' anti-spoofing accepts it).  A
 * device without ARP resolves no neighbours: the route alone brings a packet to
 * the program, which encapsulates or load-balances it like XDP does.
 */
#ifndef MG_HOSTROUTE_H
#define MG_HOSTROUTE_H

#include <stdbool.h>
#include "dpmaps.h"
#include "loader.h"
#include "netlink.h"

struct mg_hostroute;

/*
 * Create (or take over) device dev, attach TC egress there, and learn the
 * routes an earlier run left (protocol MG_NL_RTPROT).  mtu: the device's
 * (what fits the tunnel, so the host sizes its packets, and fragments
 * for it, before they are encapsulated; 0: as it is).  src4/src6: the
 * routes' source per family (family 0: the kernel's choice).
 */
int mg_hostroute_open(struct mg_nl *nl, struct mg_dp *dp, const char *dev,
		      unsigned int mtu, const struct mg_addr *src4,
		      const struct mg_addr *src6, struct mg_hostroute **out);
void mg_hostroute_free(struct mg_hostroute *h);

/*
 * Routes exactly for the remote prefixes of v and the n_vips VIPs (keep:
 * add, remove nothing, as at startup).  A prefix someone else already
 * routes is left to them, counted and logged once.  0 or -errno.
 */
int mg_hostroute_sync(struct mg_hostroute *h, const struct mg_view *v,
		      const struct mg_addr *vips, int n_vips, bool keep);

/* A new MTU for the device (the underlay's changed); 0 or -errno. */
int mg_hostroute_mtu(struct mg_hostroute *h, unsigned int mtu);

/* Routes installed, and prefixes left to someone else's route. */
void mg_hostroute_counts(const struct mg_hostroute *h, unsigned int *routes,
			 unsigned int *refused);

/* `meshgate down`: delete the host device the agent pinned its program for. */
int mg_hostroute_remove(const char *pin_dir);

#endif
