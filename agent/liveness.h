/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Data-plane liveness, apart from the agent's (gossip): every echo_interval
 * this gateway sends each peer gateway a probe in VXLAN
 * (include/meshgate/echo.h) from a UDP socket on its tunnel address; the
 * peer's XDP program sends it straight back (datapath/echo.h), to this
 * socket's port, so its datapath answers whatever its agent is doing.  A
 * peer that answered once and then stops answering for echo_multiplier
 * intervals (the detect time) is down.  BFD's echo mode (RFC 5880 section
 * 6.4) is the model.
 *
 * A peer that never answered (the kernel's VXLAN device, an older
 * meshgate) has no say here: gossip alone decides for it, as before.
 * When every peer that answered stops at once, it is us who are cut off:
 * nobody is down (the mesh's fail static).
 */
#ifndef MG_LIVENESS_H
#define MG_LIVENESS_H

#include <stdint.h>
#include "config.h"

struct mg_loop;
struct mg_liveness;

enum mg_echo_state {
	MG_ECHO_UNKNOWN,	/* not probed, never answered, or we are cut off */
	MG_ECHO_UP,		/* answered within the detect time */
	MG_ECHO_DOWN,		/* answered before, not for the detect time */
};

/*
 * Probe from cfg's tunnel address every cfg->echo_interval ms; changed()
 * runs when a peer's state (or our being cut off) changes.  0 or -errno.
 */
int mg_liveness_new(struct mg_loop *loop, const struct mg_config *cfg,
		    void (*changed)(void *arg), void *arg,
		    struct mg_liveness **out);
void mg_liveness_free(struct mg_liveness *lv);

/*
 * The peers to probe, by tunnel address, replacing the last set: those
 * still in it keep what is known of them.
 */
void mg_liveness_watch(struct mg_liveness *lv, const struct mg_addr *addrs,
		       int n);

enum mg_echo_state mg_liveness_state(const struct mg_liveness *lv,
				     const struct mg_addr *addr);

/*
 * Every peer we probe answered once and all have stopped: we are likely
 * the one cut off (each peer's state then reads MG_ECHO_UNKNOWN).
 */
bool mg_liveness_cut_off(const struct mg_liveness *lv);

/* The last echo's round trip in microseconds; -1 when none. */
int64_t mg_liveness_rtt_us(const struct mg_liveness *lv,
			   const struct mg_addr *addr);

const char *mg_echo_state_name(enum mg_echo_state s);

/* For `meshgate status`: peers up, probes out, echoes in and ignored. */
void mg_liveness_print_counters(const struct mg_liveness *lv);

#endif
