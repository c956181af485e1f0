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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
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

/* An answer of several frames: 3 MiB of numbered lines on stdout. */
#define BIG_LINES	(3 << 20) / 16

static int big(struct mg_cli *cli, int argc, char **argv)
{
	for (int i = 0; i < BIG_LINES; i++)
		out_text("line %10d\n", i);	/* 16 bytes */
	fprintf(cli->err, "big done\n");
	return 0;
}

static const struct mg_cmd table[] = {
	{ .name = "echo", .run = echo }, { .name = "big", .run = big },
	{ .name = NULL }
};

static void on_term(struct mg_loop_src *src, uint32_t sig, void *arg)
{
	mg_loop_stop(arg);
}

struct server {
	pid_t pid;
	char dir[64];
	char path[80];
};

/* The server of the running test, killed by teardown if the test fails. */
static pid_t server_pid;

static int server_teardown(void **state)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = 0;
	return 0;
}

/* The agent's side in a child process, with the given request deadline. */
static void server_start(struct server *srv, unsigned int request_ms)
{
	int pipefd[2];
	char c;

	snprintf(srv->dir, sizeof(srv->dir), "/tmp/mgtest-ctl-%d", getpid());
	snprintf(srv->path, sizeof(srv->path), "%s/s.sock", srv->dir);
	assert_int_equal(pipe(pipefd), 0);
	srv->pid = fork();
	assert_true(srv->pid >= 0);
	if (srv->pid == 0) {
		int term = SIGTERM;
		struct mg_loop *loop = mg_loop_new();
		struct mg_ctl *ctl;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		mg_loop_add_signals(loop, &term, 1, on_term, loop);
		ctl = mg_ctl_open(loop, srv->path, table, NULL);
		if (!ctl)
			_exit(1);
		if (request_ms)
			mg_ctl_set_request_timeout(ctl, request_ms);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(1);
		mg_loop_run(loop);
		mg_ctl_close(ctl);
		mg_loop_free(loop);
		_exit(0);
	}
	server_pid = srv->pid;
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
}

/* Stop the server; it must have lived through everything until now. */
static void server_stop(struct server *srv)
{
	int status;

	assert_int_equal(waitpid(srv->pid, &status, WNOHANG), 0);
	kill(srv->pid, SIGTERM);
	waitpid(srv->pid, &status, 0);
	server_pid = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rmdir(srv->dir);
}

static int call(const struct server *srv, bool json, char *out, size_t n)
{
	char *args[] = { "ec", "a", "b" };
	FILE *saved = stdout;
	int rc;

	stdout = fmemopen(out, n, "w");
	rc = mg_ctl_call(srv->path, json, 3, args);
	fclose(stdout);
	stdout = saved;
	return rc;
}

static int connect_to(const struct server *srv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, srv->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* A test that fails must not hang. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The frame `meshgate ec a b` sends. */
static const char request[] = "\0\0\0\x0a\x95\x01\xc2\xa2" "ec\xa1" "a\xa1" "b";
#define REQUEST_LEN	(sizeof(request) - 1)

static void test_round_trip(void **state)
{
	struct server srv;
	char buf[256];

	server_start(&srv, 0);
	assert_int_equal(call(&srv, false, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "argc=3 last=b\n");
	assert_int_equal(call(&srv, true, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "{\"argc\":3,\"last\":\"b\"}\n");
	server_stop(&srv);
	/* No agent: a clear failure, not a hang. */
	assert_int_equal(call(&srv, false, buf, sizeof(buf)), 1);
}

/* The request frame, whole, is answered by a raw client too. */
static void test_raw_request(void **state)
{
	struct server srv;
	char buf[256];
	int fd;

	server_start(&srv, 0);
	fd = connect_to(&srv);
	assert_int_equal(send(fd, request, REQUEST_LEN, 0), REQUEST_LEN);
	assert_true(recv(fd, buf, sizeof(buf), MSG_WAITALL) > 4);
	close(fd);
	server_stop(&srv);
}

/*
 * A client that hangs up after any number of bytes of its request, or
 * during the answer, costs the agent nothing: the next client is answered.
 */
static void test_hangup_at_every_byte(void **state)
{
	struct server srv;
	char buf[256];
	int fd;

	server_start(&srv, 0);
	for (size_t k = 0; k <= REQUEST_LEN; k++) {
		fd = connect_to(&srv);
		if (k)
			assert_int_equal(send(fd, request, k, 0), (ssize_t)k);
		close(fd);
		assert_int_equal(call(&srv, false, buf, sizeof(buf)), 3);
		assert_string_equal(buf, "argc=3 last=b\n");
	}
	/* Shut our half after the request: the answer still comes. */
	fd = connect_to(&srv);
	assert_int_equal(send(fd, request, REQUEST_LEN, 0), REQUEST_LEN);
	shutdown(fd, SHUT_WR);
	assert_true(recv(fd, buf, 4, MSG_WAITALL) == 4);
	close(fd);
	server_stop(&srv);
}

/* Hanging up in the middle of a long answer. */
static void test_hangup_during_answer(void **state)
{
	static const char big_req[] = "\0\0\0\x07\x93\x01\xc2\xa3" "big";
	struct server srv;
	char buf[4096];
	int fd;

	server_start(&srv, 0);
	for (int i = 0; i < 4; i++) {
		fd = connect_to(&srv);
		assert_int_equal(send(fd, big_req, sizeof(big_req) - 1, 0),
				 (ssize_t)sizeof(big_req) - 1);
		assert_int_equal(recv(fd, buf, sizeof(buf), MSG_WAITALL),
				 (ssize_t)sizeof(buf));
		close(fd);
		assert_int_equal(call(&srv, false, buf, sizeof(buf)), 3);
	}
	server_stop(&srv);
}

/*
 * A client that stalls in the middle of its request does not hold up
 * others: they are answered while it is still connected (its deadline is
 * a minute here), and it is answered too when it finishes.
 */
static void test_stalled_client(void **state)
{
	struct server srv;
	char buf[256];
	int fd;

	server_start(&srv, 60000);
	fd = connect_to(&srv);
	assert_int_equal(send(fd, request, 6, 0), 6);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(call(&srv, false, buf, sizeof(buf)), 3);
		assert_string_equal(buf, "argc=3 last=b\n");
	}
	/* Still connected: not dropped to make room for the others. */
	assert_int_equal(recv(fd, buf, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(send(fd, request + 6, REQUEST_LEN - 6, 0),
			 (ssize_t)REQUEST_LEN - 6);
	assert_true(recv(fd, buf, 4, MSG_WAITALL) == 4);
	close(fd);
	server_stop(&srv);
}

/* A client that never finishes its request is dropped at its deadline. */
static void test_deadline(void **state)
{
	struct server srv;
	char buf[16];
	int fd;

	server_start(&srv, 50);
	fd = connect_to(&srv);
	assert_int_equal(send(fd, request, 6, 0), 6);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0);	/* EOF */
	close(fd);
	assert_int_equal(call(&srv, false, buf, sizeof(buf)), 3);
	server_stop(&srv);
}

/* An answer larger than a frame arrives whole (`meshgate endpoints` of
 * 50,000 entries). */
static void test_large_answer(void **state)
{
	char *args[] = { "big" }, line[32];
	FILE *saved = stdout, *f = tmpfile();
	struct server srv;
	long i = 0;

	assert_non_null(f);
	server_start(&srv, 0);
	stdout = f;
	assert_int_equal(mg_ctl_call(srv.path, false, 1, args), 0);
	stdout = saved;
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		char want[32];

		snprintf(want, sizeof(want), "line %10ld\n", i++);
		assert_string_equal(line, want);
	}
	assert_int_equal(i, BIG_LINES);
	fclose(f);
	server_stop(&srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test_teardown(test_round_trip, server_teardown),
		cmocka_unit_test_teardown(test_raw_request, server_teardown),
		cmocka_unit_test_teardown(test_hangup_at_every_byte, server_teardown),
		cmocka_unit_test_teardown(test_hangup_during_answer, server_teardown),
		cmocka_unit_test_teardown(test_stalled_client, server_teardown),
		cmocka_unit_test_teardown(test_deadline, server_teardown),
		cmocka_unit_test_teardown(test_large_answer, server_teardown),
	};

	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
