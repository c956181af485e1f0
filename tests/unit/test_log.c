// SPDX-License-Identifier: GPL-2.0-only
/*
 * The logger: "meshgate: LEVEL: text" on a terminal or a file, "<N>LEVEL:
 * text" when stderr is the journal (JOURNAL_STREAM names its device and
 * inode), N the syslog priority journald files the line under.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "lib/log.h"

/* Logs one line of each level with stderr on a fresh file; returns it. */
static char *log_all(bool journal)
{
	char path[64], stream[64], *buf = calloc(1, 4096);
	FILE *saved = stderr, *f;
	struct stat st;

	snprintf(path, sizeof(path), "/tmp/mgt-log-%d", getpid());
	f = fopen(path, "w+");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	snprintf(stream, sizeof(stream), "%llu:%llu",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	if (journal)
		setenv("JOURNAL_STREAM", stream, 1);
	else
		setenv("JOURNAL_STREAM", "1:1", 1);	/* some other stream */
	stderr = f;
	mg_log_reopen();
	mg_log_set_level(MG_LOG_DEBUG);
	pr_err("e %d", 1);
	pr_warn("w");
	pr_info("i\n");
	pr_debug("d");
	mg_log_set_level(MG_LOG_WARN);
	pr_info("not shown");
	stderr = saved;
	rewind(f);
	assert_true(fread(buf, 1, 4095, f) > 0);
	fclose(f);
	unlink(path);
	unsetenv("JOURNAL_STREAM");
	mg_log_reopen();
	return buf;
}

static void test_journal(void **state)
{
	char *out = log_all(true);

	assert_string_equal(out, "<3>error: e 1\n<4>warn: w\n<6>info: i\n"
				 "<7>debug: d\n");
	free(out);
}

static void test_plain(void **state)
{
	char *out = log_all(false);

	assert_string_equal(out, "meshgate: error: e 1\nmeshgate: warn: w\n"
				 "meshgate: info: i\nmeshgate: debug: d\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_plain),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
