/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data-plane liveness probe (BFD echo mode, RFC 5880 section 6.4, is
 * the model): what a gateway's agent sends in VXLAN to a peer gateway's
 * tunnel address, and what the peer's XDP program sends straight back
 * (datapath/echo.h).  The UDP payload is
 *
 *   VXLAN header (I flag, VNI = the prober's cluster id)
 *   Ethernet: mesh MACs, EtherType MG_ECHO_ETH_P
 *   struct mg_echo
 *
 * Only the prober reads what it wrote, so the reflector checks the magic
 * and the version and leaves the rest alone.
 */
#ifndef MESHGATE_ECHO_H
#define MESHGATE_ECHO_H

#include "abi.h"

#define MG_ECHO_ETH_P	0x88b5		/* IEEE 802 local experimental 1 */
#define MG_ECHO_MAGIC	0x4d474543	/* "MGEC" */
#define MG_ECHO_VERSION	1

struct mg_echo {
	__u32 magic;		/* network order, MG_ECHO_MAGIC */
	__u8  version;		/* MG_ECHO_VERSION */
	__u8  family;		/* origin's: MG_AF_INET or MG_AF_INET6 */
	__u16 pad;
	__u32 seq;		/* network order, one per probe and peer */
	__u32 pad2;
	__u64 sent_us;		/* the prober's monotonic clock, its order */
	__u32 origin[4];	/* the prober's tunnel address, network order */
};

MG_ASSERT_SIZE(struct mg_echo, 40);

/* The whole UDP payload of a probe: VXLAN, inner Ethernet, the echo. */
#define MG_ECHO_PAYLOAD_LEN	(8 + 14 + 40)

#endif
