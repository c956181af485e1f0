// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's logger: one line per message on stderr, with a level tag, so
 * journald (which adds its own timestamps) and a terminal both read it well.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "lib/log.h"

static enum mg_log_level cur_level = MG_LOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void mg_log_set_level(enum mg_log_level level)
{
	cur_level = level;
}

enum mg_log_level mg_log_get_level(void)
{
	return cur_level;
}

int mg_log_level_parse(const char *name)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcasecmp(name, level_names[i]))
			return (int)i;
	return -1;
}

void mg_log(enum mg_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	size_t n;

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	fprintf(stderr, "meshgate: %s: %s\n", level_names[level], buf);
}
