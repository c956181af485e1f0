// SPDX-License-Identifier: GPL-2.0-only
/* Control socket: request decoding and a round trip through a real socket. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "ctl.h"
#include "lib/loop.h"
#include "lib/out.h"

static struct mg_ctl_request req;

static int decode(const char *bytes, size_t n)
{
	return mg_ctl_request_decode((const uint8_t *)bytes, n, &req);
}

static void test_decode(void **state)
{
	assert_int_equal(decode("\x94\x01\xc3\xa5peers\xa4list", 14), 0);
	assert_true(req.json);
	assert_int_equal(req.argc, 2);
	assert_string_equal(req.argv[0], "peers");
	assert_string_equal(req.argv[1], "list");
	assert_null(req.argv[2]);

	assert_int_equal(decode("\x93\x02\xc3\xa5peers", 9), -EINVAL);	/* version */
	assert_int_equal(decode("\x92\x01\xc3", 3), -EINVAL);		/* no word */
	assert_int_equal(decode("\x93\x01\xc3\xa5pe", 6), -EBADMSG);	/* truncated */
	assert_int_equal(decode("\x93\x01\xc3\x05", 4), -EBADMSG);	/* not a string */
	assert_int_equal(decode("\x93\x01\xc3\xa2\x61\x00", 6), -EINVAL);	/* NUL */
	assert_int_equal(decode("\x93\x01\xc3\xa1x\xc0", 6), -EBADMSG);	/* trailing */
	assert_int_equal(decode("\xdd\xff\xff\xff\xff\x01", 6), -EINVAL);	/* count */
}

static int echo(struct mg_cli *cli, int argc, char **argv)
{
	out_obj_open(NULL);
	out_u64("argc", "argc=%llu", argc);
	out_str("last", " last=%s\n", argv[argc - 1]);
	out_obj_close();
	out_finish();
	fprintf(cli->err, "to stderr\n");
	return 3;
}

static void on_term(struct mg_loop_src *src, uint32_t sig, void *arg)
{
	mg_loop_stop(arg);
}

static void test_round_trip(void **state)
{
	static const struct mg_cmd table[] = {
		{ .name = "echo", .run = echo }, { .name = NULL }
	};
	char path[64], *args[] = { "ec", "a", "b" }, buf[256];
	int pipefd[2], status, rc;
	FILE *saved = stdout;
	pid_t pid;

	snprintf(path, sizeof(path), "/tmp/mgtest-ctl-%d/s.sock", getpid());
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int term = SIGTERM;
		struct mg_loop *loop = mg_loop_new();

		mg_loop_add_signals(loop, &term, 1, on_term, loop);
		if (!mg_ctl_open(loop, path, table, NULL))
			_exit(1);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(1);
		mg_loop_run(loop);
		unlink(path);
		_exit(0);
	}
	assert_int_equal(read(pipefd[0], buf, 1), 1);

	/* The answer is printed on our stdout: catch it. */
	stdout = fmemopen(buf, sizeof(buf), "w");
	rc = mg_ctl_call(path, false, 3, args);
	fclose(stdout);
	stdout = saved;
	assert_int_equal(rc, 3);
	assert_string_equal(buf, "argc=3 last=b\n");

	stdout = fmemopen(buf, sizeof(buf), "w");
	rc = mg_ctl_call(path, true, 3, args);
	fclose(stdout);
	stdout = saved;
	assert_string_equal(buf, "{\"argc\":3,\"last\":\"b\"}\n");

	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(buf, sizeof(buf), "/tmp/mgtest-ctl-%d", getpid());
	rmdir(buf);
	/* No agent: a clear failure, not a hang. */
	assert_int_equal(mg_ctl_call(path, false, 3, args), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
