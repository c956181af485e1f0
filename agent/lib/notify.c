// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/notify.h"

/*
 * sd_notify(3)'s protocol, without libsystemd (whose load, with its own
 * libraries, was a third of every CLI call's start): one datagram to
 * $NOTIFY_SOCKET, a path or an abstract name ("@..."); nothing when unset.
 */
static int sd_notify(int unset_environment, const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *e = getenv("NOTIFY_SOCKET");
	size_t n;
	int fd, rc;

	if (!e || !*e)
		return 0;
	n = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, e, n);
	if (e[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = 1;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   offsetof(struct sockaddr_un, sun_path) + n) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int sd_notifyf(int unset_environment, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int sd_notifyf(int unset_environment, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return sd_notify(unset_environment, buf);
}

/* sd_watchdog_enabled(3): $WATCHDOG_USEC, for us ($WATCHDOG_PID) or all. */
static int sd_watchdog_enabled(int unset_environment, uint64_t *usec)
{
	const char *u = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (!u || !*u)
		return 0;
	errno = 0;
	v = strtoull(u, &end, 10);
	if (errno || *end || !v)
		return -EINVAL;
	if (p && *p && strtol(p, NULL, 10) != (long)getpid())
		return 0;
	*usec = v;
	return 1;
}

void mg_notify_ready(void)
{
	sd_notify(0, "READY=1\nSTATUS=running");
}

void mg_notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL +
		   (unsigned long long)ts.tv_nsec / 1000);
}

void mg_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void mg_notify_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

static void on_watchdog(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

int mg_notify_watchdog_start(struct mg_loop *loop)
{
	uint64_t usec = 0;
	unsigned int ms;
	int rc = sd_watchdog_enabled(0, &usec);

	if (rc <= 0)
		return rc < 0 ? rc : 0;
	ms = (unsigned int)(usec / 2000);
	if (!ms)
		ms = 1;
	if (!mg_loop_add_timer(loop, ms, ms, on_watchdog, NULL))
		return errno ? -errno : -ENOMEM;
	pr_info("watchdog: alive every %u ms (WATCHDOG_USEC=%llu)", ms,
		(unsigned long long)usec);
	return 0;
}
