/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Backend health: a rise/fall state machine per backend (pure logic) and a
 * non-blocking TCP connect probe for the agent's event loop.
 *
 * Which backends serve: only those UP.  A backend starts UNKNOWN and gets
 * no traffic until it has risen once (rise successes in a row), so a
 * gateway that just started does not send flows to backends it has never
 * seen answer.  Backends of the gateway's own cluster are probed here;
 * backends learned from a peer's gossip are not probed, they carry the
 * state the owning peer reports (mg_health_set()).
 */
#ifndef MG_HEALTH_H
#define MG_HEALTH_H

#include <stdbool.h>
#include <linux/types.h>
#include <meshgate/abi.h>

enum mg_health_state {
	MG_HEALTH_UNKNOWN,	/* not yet risen or fallen: gets no traffic */
	MG_HEALTH_UP,
	MG_HEALTH_DOWN,
};

struct mg_health_cfg {
	unsigned int interval_ms;	/* between probe starts */
	unsigned int timeout_ms;	/* not connected by then: failed */
	unsigned int rise;		/* successes in a row to go UP */
	unsigned int fall;		/* failures in a row to go DOWN */
};

#define MG_HEALTH_INTERVAL_MS_DEFAULT	1000
#define MG_HEALTH_TIMEOUT_MS_DEFAULT	500
#define MG_HEALTH_RISE_DEFAULT		2
#define MG_HEALTH_FALL_DEFAULT		3

#define MG_HEALTH_CFG_DEFAULT {					\
	.interval_ms = MG_HEALTH_INTERVAL_MS_DEFAULT,		\
	.timeout_ms = MG_HEALTH_TIMEOUT_MS_DEFAULT,		\
	.rise = MG_HEALTH_RISE_DEFAULT,				\
	.fall = MG_HEALTH_FALL_DEFAULT,				\
}

struct mg_health {
	const struct mg_health_cfg *cfg;	/* not owned; outlives this */
	enum mg_health_state state;
	unsigned int successes;		/* in a row, saturating */
	unsigned int failures;		/* in a row, saturating */
	__u64 changed_ms;		/* last state change (or init) */
};

/**
 * mg_health_cfg_check() - validate a health-check configuration
 * @cfg: the configuration
 *
 * Return: 0, or -EINVAL when an interval, rise or fall is 0 or the timeout
 * is 0 or longer than the interval (probes of one backend would overlap).
 */
int mg_health_cfg_check(const struct mg_health_cfg *cfg);

/**
 * mg_health_init() - start a backend's state machine in UNKNOWN
 * @h:      the backend's state
 * @cfg:    its rise and fall counts; must stay valid while @h is used
 * @now_ms: current time (monotonic ms)
 */
void mg_health_init(struct mg_health *h, const struct mg_health_cfg *cfg,
		    __u64 now_ms);

/**
 * mg_health_result() - account one probe's outcome
 * @h:      the backend's state
 * @ok:     whether the probe succeeded
 * @now_ms: current time (monotonic ms)
 *
 * UNKNOWN or DOWN goes UP on the rise-th success in a row; UNKNOWN or UP
 * goes DOWN on the fall-th failure in a row.  Any other outcome only counts.
 *
 * Return: true when the state changed (once per change).
 */
bool mg_health_result(struct mg_health *h, bool ok, __u64 now_ms);

/**
 * mg_health_set() - take the state a peer reports for its own backend
 * @h:      the backend's state
 * @state:  the state the owning gateway gossiped
 * @now_ms: current time (monotonic ms)
 *
 * Clears the counters: they belong to whoever probes the backend.
 *
 * Return: true when the state changed.
 */
bool mg_health_set(struct mg_health *h, enum mg_health_state state,
		   __u64 now_ms);

/* True when the backend may receive traffic: it is UP. */
static inline bool mg_health_serves(const struct mg_health *h)
{
	return h->state == MG_HEALTH_UP;
}

/* "unknown", "up", "down" (for the CLI and logs). */
const char *mg_health_state_name(enum mg_health_state state);

/**
 * mg_health_probe_start() - start a TCP connect to a backend
 * @addr: the backend's address (IPv4 or IPv6)
 * @port: its port, host order
 * @fd:   out: a non-blocking socket, set when the return is 0 or 1
 *
 * The caller waits for EPOLLOUT on *@fd, enforces cfg->timeout_ms, calls
 * mg_health_probe_finish() and closes *@fd.  Closing resets the
 * connection (SO_LINGER 0) instead of leaving TIME_WAIT behind every probe.
 *
 * Return: 0 when the connect is in progress, 1 when it already completed
 * (the probe succeeded), -EAFNOSUPPORT for an unset family, or the -errno
 * of socket() or connect() (e.g. -ECONNREFUSED, -ENETUNREACH): the probe
 * failed and no fd is left open.
 */
int mg_health_probe_start(const struct mg_addr *addr, __u16 port, int *fd);

/**
 * mg_health_probe_finish() - the outcome of a probe whose fd became ready
 * @fd: the socket from mg_health_probe_start(); not closed here
 *
 * Return: 0 when connected, -EINPROGRESS when the connect is still pending
 * (called early: at the timeout the probe failed), or the connect's
 * -errno taken from SO_ERROR (e.g. -ECONNREFUSED, -ETIMEDOUT).
 */
int mg_health_probe_finish(int fd);

#endif
