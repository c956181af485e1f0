/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MG_LOG_H
#define MG_LOG_H

#include <stdbool.h>

enum mg_log_level { MG_LOG_ERR, MG_LOG_WARN, MG_LOG_INFO, MG_LOG_DEBUG };

/* Messages at or below this level are written (to stderr, one line each). */
void mg_log_set_level(enum mg_log_level level);
enum mg_log_level mg_log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int mg_log_level_parse(const char *name);

/*
 * Whether stderr is the journal (JOURNAL_STREAM names it): then lines carry
 * "<N>" syslog priorities.  mg_log() looks once; mg_log_reopen() looks
 * again (after stderr was redirected).
 */
bool mg_log_stderr_is_journal(void);
void mg_log_reopen(void);

void mg_log(enum mg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...)	mg_log(MG_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	mg_log(MG_LOG_WARN, __VA_ARGS__)
#define pr_info(...)	mg_log(MG_LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	mg_log(MG_LOG_DEBUG, __VA_ARGS__)

#endif
