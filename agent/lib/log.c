// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's logger: one line per message on stderr, with a level tag, so
 * journald (which adds its own timestamps) and a terminal both read it well.
 * When stderr is the journal (systemd says so in JOURNAL_STREAM), each line
 * starts with its syslog priority, "<3>" to "<7>", which journald takes as
 * the message's priority: `journalctl -p warning` then shows what it should.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "lib/log.h"

static enum mg_log_level cur_level = MG_LOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG of syslog(3). */
static const int level_prio[] = { 3, 4, 6, 7 };
static int journal = -1;	/* -1: not looked at yet */

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected us to. */
bool mg_log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(fileno(stderr), &st))
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void mg_log_reopen(void)
{
	journal = mg_log_stderr_is_journal();
}

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
	if (journal < 0)
		mg_log_reopen();
	if (journal)
		fprintf(stderr, "<%d>%s: %s\n", level_prio[level],
			level_names[level], buf);
	else
		fprintf(stderr, "meshgate: %s: %s\n", level_names[level], buf);
}
