// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event loop's priority sources (the control socket's): served before
 * the other callbacks of a round, and again between two of them, so that a
 * flood on the others delays them by one callback at most.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <cmocka.h>
#include "lib/loop.h"

#define N_BUSY 20

static struct mg_loop *loop;
static int busy[N_BUSY][2], prio[2];
static char order[64];
static int n_order, stop_at = N_BUSY + 2;

static void drain(int fd)
{
	char b[64];

	(void)!read(fd, b, sizeof(b));
}

/* A busy source: drains its pipe; the 5th one wakes the priority pipe. */
static void on_busy(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	int i = (int)(intptr_t)arg;

	drain(busy[i][0]);
	order[n_order++] = 'b';
	if (n_order == 6)
		(void)!write(prio[1], "p", 1);
	if (n_order >= stop_at)
		mg_loop_stop(loop);
}

static void on_prio(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	drain(prio[0]);
	order[n_order++] = 'P';
	if (n_order >= stop_at)
		mg_loop_stop(loop);
}

static void test_prio_first_and_between(void **state)
{
	struct mg_loop_src *ps;

	loop = mg_loop_new();
	assert_non_null(loop);
	assert_int_equal(pipe(prio), 0);
	for (int i = 0; i < N_BUSY; i++) {
		assert_int_equal(pipe(busy[i]), 0);
		assert_non_null(mg_loop_add_fd(loop, busy[i][0], EPOLLIN,
					       on_busy, (void *)(intptr_t)i));
		assert_int_equal(write(busy[i][1], "b", 1), 1);
	}
	/* Added last, ready last: served first all the same. */
	ps = mg_loop_add_fd_prio(loop, prio[0], EPOLLIN, on_prio, NULL);
	assert_non_null(ps);
	assert_int_equal(write(prio[1], "p", 1), 1);
	assert_int_equal(mg_loop_run(loop), 0);
	order[n_order] = '\0';
	/*
	 * P first; 5 busy ones, the 5th waking the priority pipe, which
	 * served before the 6th (without priority it would wait for
	 * the round's 15 other callbacks).
	 */
	assert_string_equal(order, "PbbbbbPbbbbbbbbbbbbbbb");
	/* Deleted, it is no longer served: the busy ones alone run. */
	mg_loop_del(loop, ps);
	n_order = 0;
	assert_int_equal(write(prio[1], "p", 1), 1);
	for (int i = 0; i < N_BUSY; i++)
		assert_int_equal(write(busy[i][1], "b", 1), 1);
	stop_at = N_BUSY;
	assert_int_equal(mg_loop_run(loop), 0);
	order[n_order] = '\0';
	assert_null(strchr(order, 'P'));
	for (int i = 0; i < N_BUSY; i++)
		close(busy[i][0]);
	for (int i = 0; i < N_BUSY; i++)
		close(busy[i][1]);
	mg_loop_free(loop);
	close(prio[0]);
	close(prio[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prio_first_and_between),
	};

	alarm(20); /* a loop that never stops fails, bounded */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
