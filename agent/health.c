// SPDX-License-Identifier: GPL-2.0-only
/*
 * Backend health checks: the rise/fall state machine and the TCP connect
 * probe.  The agent owns the timers and the event loop; nothing here
 * blocks or keeps global state.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "health.h"

int mg_health_cfg_check(const struct mg_health_cfg *cfg)
{
	if (!cfg->interval_ms || !cfg->rise || !cfg->fall)
		return -EINVAL;
	if (!cfg->timeout_ms || cfg->timeout_ms > cfg->interval_ms)
		return -EINVAL;
	return 0;
}

void mg_health_init(struct mg_health *h, const struct mg_health_cfg *cfg,
		    __u64 now_ms)
{
	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	h->state = MG_HEALTH_UNKNOWN;
	h->changed_ms = now_ms;
}

static bool change(struct mg_health *h, enum mg_health_state state,
		   __u64 now_ms)
{
	if (h->state == state)
		return false;
	h->state = state;
	h->changed_ms = now_ms;
	return true;
}

bool mg_health_result(struct mg_health *h, bool ok, __u64 now_ms)
{
	if (ok) {
		h->failures = 0;
		if (h->successes < UINT_MAX)
			h->successes++;
		if (h->successes >= h->cfg->rise)
			return change(h, MG_HEALTH_UP, now_ms);
	} else {
		h->successes = 0;
		if (h->failures < UINT_MAX)
			h->failures++;
		if (h->failures >= h->cfg->fall)
			return change(h, MG_HEALTH_DOWN, now_ms);
	}
	return false;
}

bool mg_health_set(struct mg_health *h, enum mg_health_state state,
		   __u64 now_ms)
{
	h->successes = 0;
	h->failures = 0;
	if (state != MG_HEALTH_UP && state != MG_HEALTH_DOWN)
		state = MG_HEALTH_UNKNOWN;
	return change(h, state, now_ms);
}

const char *mg_health_state_name(enum mg_health_state state)
{
	switch (state) {
	case MG_HEALTH_UP:
		return "up";
	case MG_HEALTH_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

int mg_health_probe_start(const struct mg_addr *addr, __u16 port, int *fd)
{
	const struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int s, ret;

	memset(&ss, 0, sizeof(ss));
	switch (addr->family) {
	case MG_AF_INET:
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = addr->addr[0];
		len = sizeof(*sin);
		break;
	case MG_AF_INET6:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->addr, sizeof(sin6->sin6_addr));
		len = sizeof(*sin6);
		break;
	default:
		return -EAFNOSUPPORT;
	}

	s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (setsockopt(s, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst)) < 0) {
		ret = -errno;
		goto err;
	}
	if (!connect(s, (struct sockaddr *)&ss, len)) {
		*fd = s;
		return 1;
	}
	if (errno == EINPROGRESS) {
		*fd = s;
		return 0;
	}
	ret = -errno;
err:
	close(s);
	return ret;
}

int mg_health_probe_finish(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0, n;

	if (fd < 0)
		return -EBADF;	/* poll() would ignore it */
	/* A connect in progress is neither writable nor in error. */
	n = poll(&p, 1, 0);
	if (n < 0)
		return -errno;
	if (!n)
		return -EINPROGRESS;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}
