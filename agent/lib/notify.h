/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Telling the service manager how the agent is (sd_notify(3)): ready once
 * the datapath is attached and the maps reconciled, alive from the event
 * loop, reloading, stopping.  Without NOTIFY_SOCKET every call is a no-op,
 * so the agent runs the same under systemd, in a shell and in the tests.
 */
#ifndef MG_NOTIFY_H
#define MG_NOTIFY_H

#include <stdint.h>

struct mg_loop;

void mg_notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload expects. */
void mg_notify_reloading(void);
void mg_notify_stopping(void);
/* STATUS=... shown by `systemctl status`. */
void mg_notify_status(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/*
 * When the manager asked for a watchdog (WATCHDOG_USEC), a loop timer
 * sends WATCHDOG=1 at half its period: a stuck loop stops the pings.
 * 0, or -errno when the timer cannot be made.
 */
int mg_notify_watchdog_start(struct mg_loop *loop);

#endif
