// SPDX-License-Identifier: GPL-2.0-only
/*
 * The service manager's side of sd_notify(3), played by the test: an
 * AF_UNIX datagram socket named in NOTIFY_SOCKET receives what the agent
 * says (ready, reloading with MONOTONIC_USEC, stopping, the watchdog from
 * the event loop), and nothing at all without NOTIFY_SOCKET.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include "lib/loop.h"
#include "lib/notify.h"

static int sock = -1;
static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(path, sizeof(path), "/tmp/mgt-notify-%d.sock", getpid());
	unlink(path);
	strcpy(sa.sun_path, path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	setenv("NOTIFY_SOCKET", path, 1);
	return 0;
}

static int teardown(void **state)
{
	close(sock);
	unlink(path);
	return 0;
}

/* The next datagram, or "" when none is waiting. */
static const char *next_msg(void)
{
	static char buf[512];
	ssize_t n = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static unsigned long long mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void test_states(void **state)
{
	unsigned long long before, sent, after;
	const char *m;

	mg_notify_ready();
	assert_string_equal(next_msg(), "READY=1\nSTATUS=running");

	before = mono_usec();
	mg_notify_reloading();
	after = mono_usec();
	m = next_msg();
	assert_int_equal(sscanf(m, "RELOADING=1\nMONOTONIC_USEC=%llu", &sent),
			 1);
	assert_true(sent >= before && sent <= after);

	mg_notify_status("%d peers", 3);
	assert_string_equal(next_msg(), "STATUS=3 peers");
	mg_notify_stopping();
	assert_string_equal(next_msg(), "STOPPING=1");
	assert_string_equal(next_msg(), "");
}

static void on_msg(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	mg_loop_stop(arg);
}

/* WATCHDOG=1 comes from a loop timer, only when WATCHDOG_USEC asks. */
static void test_watchdog(void **state)
{
	struct mg_loop *loop = mg_loop_new();

	assert_non_null(loop);
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(mg_notify_watchdog_start(loop), 0);
	assert_string_equal(next_msg(), "");	/* no timer either */

	setenv("WATCHDOG_USEC", "20000", 1);
	assert_int_equal(mg_notify_watchdog_start(loop), 0);
	assert_non_null(mg_loop_add_fd(loop, sock, EPOLLIN, on_msg, loop));
	/* Not a deadline to meet: only so that a silent agent fails, not hangs. */
	assert_non_null(mg_loop_add_timer(loop, 10000, 0, on_msg, loop));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(mg_loop_run(loop), 0);
		assert_string_equal(next_msg(), "WATCHDOG=1");
	}
	unsetenv("WATCHDOG_USEC");
	mg_loop_free(loop);
}

static void test_no_socket(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	mg_notify_ready();
	mg_notify_stopping();
	assert_string_equal(next_msg(), "");
	setenv("NOTIFY_SOCKET", path, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_no_socket),
	};

	return cmocka_run_group_tests_name("notify", tests, setup, teardown);
}
