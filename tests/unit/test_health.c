// SPDX-License-Identifier: GPL-2.0-only
/*
 * Health checks: rise/fall sequences and the TCP connect probe against
 * real loopback sockets (IPv4, and IPv6 where the host has ::1).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "health.h"
#include "lib/addr.h"

#define U MG_HEALTH_UNKNOWN
#define UP MG_HEALTH_UP
#define DN MG_HEALTH_DOWN

/*
 * One sequence: probe outcomes as a string ('+' success, '-' failure) and
 * the state expected after each.  A change must be reported exactly when
 * the state differs from the one before, i.e. once per change.
 */
struct seq {
	const char *name;
	unsigned int rise, fall;
	const char *results;
	enum mg_health_state want[24];
};

static const struct seq seqs[] = {
	{ "rise from unknown", 2, 3, "+++",
	  { U, UP, UP } },
	{ "fall from unknown", 2, 3, "----",
	  { U, U, DN, DN } },
	{ "up, then fall", 2, 3, "++--+---+",
	  { U, UP, UP, UP, UP, UP, UP, DN, DN } },
	{ "down, then rise", 2, 3, "---+-++-",
	  { U, U, DN, DN, DN, DN, UP, UP } },
	{ "flapping never rises", 2, 3, "+-+-+-+-+-+-",
	  { U, U, U, U, U, U, U, U, U, U, U, U } },
	{ "flapping while up", 2, 3, "++-+-+--+--+",
	  { U, UP, UP, UP, UP, UP, UP, UP, UP, UP, UP, UP } },
	{ "flapping while down", 2, 3, "---+-+-+--+-",
	  { U, U, DN, DN, DN, DN, DN, DN, DN, DN, DN, DN } },
	{ "rise 1 fall 1 follows each probe", 1, 1, "+-+--++",
	  { UP, DN, UP, DN, DN, UP, UP } },
	{ "rise 5 fall 2", 5, 2, "++++-+++++--",
	  { U, U, U, U, U, U, U, U, U, UP, UP, DN } },
};

static void test_sequences(void **state)
{
	unsigned int i, j;

	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		const struct seq *s = &seqs[i];
		struct mg_health_cfg cfg = MG_HEALTH_CFG_DEFAULT;
		enum mg_health_state prev = U;
		struct mg_health h;
		__u64 now = 1000, changed = now;

		cfg.rise = s->rise;
		cfg.fall = s->fall;
		mg_health_init(&h, &cfg, now);
		assert_int_equal(h.state, U);
		assert_false(mg_health_serves(&h));
		for (j = 0; s->results[j]; j++) {
			bool ch;

			now += cfg.interval_ms;
			ch = mg_health_result(&h, s->results[j] == '+', now);
			if (h.state != s->want[j] || ch != (h.state != prev))
				fail_msg("%s: probe %u: state %s, changed %d",
					 s->name, j,
					 mg_health_state_name(h.state), ch);
			if (ch)
				changed = now;
			assert_int_equal(h.changed_ms, changed);
			assert_int_equal(mg_health_serves(&h), h.state == UP);
			prev = h.state;
		}
	}
}

static void test_counters(void **state)
{
	struct mg_health_cfg cfg = MG_HEALTH_CFG_DEFAULT;
	struct mg_health h;

	mg_health_init(&h, &cfg, 0);
	assert_false(mg_health_result(&h, true, 1));
	assert_int_equal(h.successes, 1);
	assert_true(mg_health_result(&h, true, 2));
	assert_false(mg_health_result(&h, true, 3));
	assert_int_equal(h.successes, 3);
	assert_int_equal(h.failures, 0);
	assert_false(mg_health_result(&h, false, 4));
	assert_int_equal(h.successes, 0);
	assert_int_equal(h.failures, 1);

	h.failures = ~0u;	/* saturates instead of wrapping to 0 */
	assert_true(mg_health_result(&h, false, 5));
	assert_int_equal(h.failures, ~0u);
	assert_int_equal(h.state, DN);
}

/* A backend learned from a peer's gossip carries the peer's state. */
static void test_set_from_peer(void **state)
{
	struct mg_health_cfg cfg = MG_HEALTH_CFG_DEFAULT;
	struct mg_health h;

	mg_health_init(&h, &cfg, 0);
	assert_true(mg_health_set(&h, UP, 10));
	assert_true(mg_health_serves(&h));
	assert_int_equal(h.changed_ms, 10);
	assert_false(mg_health_set(&h, UP, 20));
	assert_int_equal(h.changed_ms, 10);

	mg_health_result(&h, false, 30);
	assert_true(mg_health_set(&h, DN, 40));
	assert_int_equal(h.failures, 0);
	assert_false(mg_health_serves(&h));
	assert_true(mg_health_set(&h, U, 50));
	assert_true(mg_health_set(&h, UP, 60));
	assert_true(mg_health_set(&h, (enum mg_health_state)7, 70));
	assert_int_equal(h.state, U);
}

static void test_cfg(void **state)
{
	struct mg_health_cfg def = MG_HEALTH_CFG_DEFAULT, c;

	assert_int_equal(def.interval_ms, 1000);
	assert_int_equal(def.timeout_ms, 500);
	assert_int_equal(def.rise, 2);
	assert_int_equal(def.fall, 3);
	assert_int_equal(mg_health_cfg_check(&def), 0);

	c = def, c.rise = 0;
	assert_int_equal(mg_health_cfg_check(&c), -EINVAL);
	c = def, c.fall = 0;
	assert_int_equal(mg_health_cfg_check(&c), -EINVAL);
	c = def, c.interval_ms = 0;
	assert_int_equal(mg_health_cfg_check(&c), -EINVAL);
	c = def, c.timeout_ms = 0;
	assert_int_equal(mg_health_cfg_check(&c), -EINVAL);
	c = def, c.timeout_ms = 1001;
	assert_int_equal(mg_health_cfg_check(&c), -EINVAL);
	c = def, c.timeout_ms = 1000;
	assert_int_equal(mg_health_cfg_check(&c), 0);
	assert_string_equal(mg_health_state_name(U), "unknown");
	assert_string_equal(mg_health_state_name(UP), "up");
	assert_string_equal(mg_health_state_name(DN), "down");
}

/* --- probes ------------------------------------------------------------ */

/*
 * A TCP socket bound to an ephemeral port of the loopback address s,
 * listening or not (then connects to the port are refused).  Returns the
 * fd, or -errno when the address is not available.
 */
static int loopback_socket(const char *s, bool listening, __u16 *port,
			   struct mg_addr *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, ret;

	assert_int_equal(mg_addr_parse(s, addr), 0);
	memset(&ss, 0, sizeof(ss));
	if (addr->family == MG_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = addr->addr[0];
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr->addr, 16);
		len = sizeof(*sin6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    (listening && listen(fd, 8)) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* What the agent does: start, wait for EPOLLOUT (here poll), finish. */
static int probe(const struct mg_addr *addr, __u16 port)
{
	struct pollfd p = { .events = POLLOUT };
	int ret;

	ret = mg_health_probe_start(addr, port, &p.fd);
	if (ret < 0)
		return ret;
	if (ret == 0) {
		assert_int_equal(poll(&p, 1, 2000), 1);
		ret = mg_health_probe_finish(p.fd);
	} else {
		ret = 0;
	}
	close(p.fd);
	return ret;
}

static void check_probes(const char *loopback, int lfd, __u16 port,
			 const struct mg_addr *addr)
{
	struct mg_health_cfg cfg = MG_HEALTH_CFG_DEFAULT;
	struct mg_health h;
	__u16 closed;
	struct mg_addr a2;
	int cfd, afd;

	/* up: a listener; rise=2 probes make it UP */
	mg_health_init(&h, &cfg, 0);
	assert_int_equal(probe(addr, port), 0);
	assert_false(mg_health_result(&h, true, 1));
	assert_int_equal(probe(addr, port), 0);
	assert_true(mg_health_result(&h, true, 2));
	/* the listener saw the connections */
	assert_int_equal(poll(&(struct pollfd){ .fd = lfd, .events = POLLIN },
			      1, 2000), 1);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	close(afd);

	/* refused: a bound port nobody listens on */
	cfd = loopback_socket(loopback, false, &closed, &a2);
	assert_true(cfd >= 0);
	assert_int_equal(probe(addr, closed), -ECONNREFUSED);
	assert_false(mg_health_result(&h, false, 3));
	assert_int_equal(probe(addr, closed), -ECONNREFUSED);
	assert_false(mg_health_result(&h, false, 4));
	assert_int_equal(probe(addr, closed), -ECONNREFUSED);
	assert_true(mg_health_result(&h, false, 5));
	assert_int_equal(h.state, DN);
	close(cfd);
}

static void test_probe_ipv4(void **state)
{
	struct mg_addr addr;
	__u16 port;
	int lfd;

	lfd = loopback_socket("127.0.0.1", true, &port, &addr);
	assert_true(lfd >= 0);
	check_probes("127.0.0.1", lfd, port, &addr);
	close(lfd);
}

static void test_probe_ipv6(void **state)
{
	struct mg_addr addr;
	__u16 port;
	int lfd;

	lfd = loopback_socket("::1", true, &port, &addr);
	if (lfd < 0) {
		printf("  SKIPPED: no IPv6 loopback here (::1: %s); the IPv6 "
		       "probe was not tested\n", strerror(-lfd));
		skip();
	}
	check_probes("::1", lfd, port, &addr);
	close(lfd);
}

static void test_probe_errors(void **state)
{
	struct mg_addr addr = { 0 };
	int fd = -1;

	assert_int_equal(mg_health_probe_start(&addr, 80, &fd), -EAFNOSUPPORT);
	assert_int_equal(fd, -1);
	assert_int_equal(mg_health_probe_finish(-1), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_set_from_peer),
		cmocka_unit_test(test_cfg),
		cmocka_unit_test(test_probe_ipv4),
		cmocka_unit_test(test_probe_ipv6),
		cmocka_unit_test(test_probe_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
