/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who owns the pin directory: the agent holds a shared flock(2) on it
 * while it runs; `meshgate down` asks for an exclusive one and so learns
 * that the pins are in use.  A lock dies with its holder: nothing stale
 * is left after a crash, and two agents of an upgrade may overlap.
 */
#ifndef MG_PINS_H
#define MG_PINS_H

#include <stdbool.h>

/* The lock's descriptor (keep it open while running), or -1 (logged). */
int mg_pins_lock(const char *dir);
/* True while an agent holds dir's lock; false when dir does not exist. */
bool mg_pins_busy(const char *dir);

/* The pid of an agent holding dir's lock, or -ESRCH / -errno. */
int mg_pins_holder(const char *dir);

#endif
