// SPDX-License-Identifier: GPL-2.0-only
/*
 * Data-plane liveness (liveness.h) against reflectors on loopback: UDP
 * sockets on the VXLAN port of 127.0.0.R that send each probe back as a
 * peer's XDP program does (to the prober's address and port, from theirs).
 * The event loop runs for a window at a time; every check is on states,
 * with windows many times the detect time, never on durations.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <meshgate/echo.h>
#include "config.h"
#include "liveness.h"
#include "lib/loop.h"

#define PORT		47890		/* the "VXLAN port" of the test */
#define INTERVAL	25		/* ms */
#define MULT		8		/* detect time 200 ms: a loaded
					 * machine's stalls stay under it */
#define WINDOW		1000		/* ms: 5 detect times */

/* A reflector at 127.0.0.R; on: sends probes back, off: swallows them. */
struct reflector {
	int fd;
	bool on;
	bool spoil;		/* sends back a wrong origin */
	unsigned int seen;
};

static struct {
	struct mg_loop *loop;
	struct mg_config cfg;
	struct mg_liveness *lv;
	struct reflector r[3];		/* 127.0.0.2, .3 (never on), .4 */
	unsigned int changes;
} t;

static struct mg_addr lo(int r)
{
	struct mg_addr a = { .family = MG_AF_INET };

	a.addr[0] = htonl(0x7f000000 | r);
	return a;
}

static void on_probe(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct reflector *r = arg;
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	uint8_t buf[256];
	ssize_t n;

	while ((n = recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl)) > 0) {
		r->seen++;
		if (!r->on)
			continue;
		if (r->spoil)
			buf[22 + offsetof(struct mg_echo, origin)] ^= 1;
		sendto(r->fd, buf, n, 0, (struct sockaddr *)&from, fl);
		fl = sizeof(from);
	}
}

static void on_change(void *arg)
{
	t.changes++;
}

static void on_window(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	mg_loop_stop(t.loop);
}

static void run(unsigned int ms)
{
	struct mg_loop_src *w = mg_loop_add_timer(t.loop, ms, 0, on_window,
						  NULL);

	assert_non_null(w);
	assert_int_equal(mg_loop_run(t.loop), 0);
	mg_loop_del(t.loop, w);
}

static enum mg_echo_state state_of(int r)
{
	struct mg_addr a = lo(r);

	return mg_liveness_state(t.lv, &a);
}

static int setup(void **state)
{
	static const int addrs[] = { 2, 3, 4 };

	memset(&t, 0, sizeof(t));
	t.loop = mg_loop_new();
	if (!t.loop)
		return -1;
	for (int i = 0; i < 3; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons(PORT) };

		sa.sin_addr.s_addr = htonl(0x7f000000 | addrs[i]);
		t.r[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (t.r[i].fd < 0 ||
		    bind(t.r[i].fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    !mg_loop_add_fd(t.loop, t.r[i].fd, EPOLLIN, on_probe,
				    &t.r[i]))
			return -1;
		t.r[i].on = addrs[i] != 3;
	}
	mg_config_defaults(&t.cfg);
	t.cfg.tunnel = lo(1);
	t.cfg.cluster_id = 7;
	t.cfg.vxlan_port = PORT;
	t.cfg.echo_interval = INTERVAL;
	t.cfg.echo_multiplier = MULT;
	return mg_liveness_new(t.loop, &t.cfg, on_change, NULL, &t.lv) ? -1 : 0;
}

static int teardown(void **state)
{
	mg_liveness_free(t.lv);
	for (int i = 0; i < 3; i++)
		close(t.r[i].fd);
	mg_loop_free(t.loop);
	return 0;
}

static void watch(int n, const int *rs)
{
	struct mg_addr a[4];

	for (int i = 0; i < n; i++)
		a[i] = lo(rs[i]);
	mg_liveness_watch(t.lv, a, n);
}

/* Probes go out; who answers is up, who never did has no say. */
static void test_up_and_unknown(void **state)
{
	watch(3, (int[]){ 2, 3, 4 });
	assert_int_equal(state_of(2), MG_ECHO_UNKNOWN);
	run(WINDOW);
	assert_true(t.r[0].seen >= 2 && t.r[1].seen >= 2);
	assert_int_equal(state_of(2), MG_ECHO_UP);
	assert_int_equal(state_of(4), MG_ECHO_UP);
	assert_int_equal(state_of(3), MG_ECHO_UNKNOWN);
	assert_true(mg_liveness_rtt_us(t.lv, &(struct mg_addr){ 0 }) == -1);
	{
		struct mg_addr a = lo(2);

		assert_true(mg_liveness_rtt_us(t.lv, &a) >= 0);
	}
	assert_true(t.changes >= 2);
}

/* One stops answering: down; the other stays up. */
static void test_down(void **state)
{
	unsigned int before = t.changes;

	t.r[0].on = false;
	run(WINDOW);
	assert_int_equal(state_of(2), MG_ECHO_DOWN);
	assert_int_equal(state_of(4), MG_ECHO_UP);
	assert_true(t.changes > before);
	/* It answers again: up. */
	t.r[0].on = true;
	run(WINDOW);
	assert_int_equal(state_of(2), MG_ECHO_UP);
}

/* Answers that are not ours (another origin) count for nothing. */
static void test_not_ours(void **state)
{
	t.r[0].spoil = true;
	run(WINDOW);
	assert_int_equal(state_of(2), MG_ECHO_DOWN);
	t.r[0].spoil = false;
	run(WINDOW);
	assert_int_equal(state_of(2), MG_ECHO_UP);
}

/* Every peer that answered goes silent at once: we are cut off. */
static void test_cut_off(void **state)
{
	t.r[0].on = t.r[2].on = false;
	run(WINDOW);
	assert_int_equal(state_of(2), MG_ECHO_UNKNOWN);
	assert_int_equal(state_of(4), MG_ECHO_UNKNOWN);
	/* Peer 3 never answered: the mesh may not hold deaths on it. */
	assert_false(mg_liveness_cut_off(t.lv));
	watch(2, (int[]){ 2, 4 });
	assert_true(mg_liveness_cut_off(t.lv));
	t.r[0].on = t.r[2].on = true;
	run(WINDOW);
	assert_int_equal(state_of(2), MG_ECHO_UP);
	assert_int_equal(state_of(4), MG_ECHO_UP);
	assert_false(mg_liveness_cut_off(t.lv));
}

/* A new watch list keeps what is known of the peers still in it. */
static void test_watch_keeps(void **state)
{
	watch(2, (int[]){ 4, 5 });
	assert_int_equal(state_of(4), MG_ECHO_UP);
	assert_int_equal(state_of(5), MG_ECHO_UNKNOWN);
	assert_int_equal(state_of(2), MG_ECHO_UNKNOWN);	/* not watched */
	t.r[0].seen = 0;
	run(WINDOW);
	assert_int_equal(t.r[0].seen, 0);		/* not probed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_and_unknown),
		cmocka_unit_test(test_down),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_cut_off),
		cmocka_unit_test(test_watch_keeps),
	};

	return cmocka_run_group_tests_name("liveness", tests, setup, teardown);
}
