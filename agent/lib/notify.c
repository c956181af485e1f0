// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/notify.h"

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
