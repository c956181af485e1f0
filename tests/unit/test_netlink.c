// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent/netlink/ against a real kernel.  Runs as root.
 *
 * Every test starts in a fresh network namespace (unshare) holding one end
 * of a veth pair, mg0; the other end, mg1, lives in the namespace of a child
 * process that does nothing but hold it (the "peer").  Both namespaces die
 * with their processes: nothing is named, nothing is left behind, and the
 * host's namespaces are never touched (main() leaves them before anything
 * else).  Topology is built with ip(8) so the module is checked against an
 * independent client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include "netlink.h"

#define WAIT_MS		3000

static const __u8 mac_mg0[6] = { 0x02, 0x6d, 0x67, 0x00, 0x00, 0x01 };
static const __u8 mac_mg1[6] = { 0x02, 0x6d, 0x67, 0x00, 0x00, 0x02 };
static const __u8 mac_aa[6] = { 0x02, 0x6d, 0x67, 0x00, 0x00, 0xaa };
static const __u8 mac_bb[6] = { 0x02, 0x6d, 0x67, 0x00, 0x00, 0xbb };

struct topo {
	pid_t peer;		/* holds the peer namespace until ctl */
	int ctl;
	int peer_ns;		/* fd of the peer's namespace */
	int self_ns;		/* fd of ours, to come back */
	struct mg_nl *nl;
	int ifindex;		/* mg0 */
	struct mg_nl_event ev[512];
	int n_ev;
};

/* --- helpers -------------------------------------------------------------- */

static void sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
	free(cmd);
}

/* Runs a command in the peer's namespace. */
static void peer_sh(struct topo *t, const char *cmd)
{
	assert_int_equal(setns(t->peer_ns, CLONE_NEWNET), 0);
	sh("%s", cmd);
	assert_int_equal(setns(t->self_ns, CLONE_NEWNET), 0);
}

/* Does `ip neigh show` for @addr on mg0 mention @word? */
static bool neigh_shows(const char *addr, const char *word)
{
	char cmd[128], line[256];
	bool found = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ip neigh show %s dev mg0", addr);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, word))
			found = true;
	pclose(f);
	return found;
}

static __u32 ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static struct mg_addr addr4(const char *s)
{
	struct mg_addr a = { .family = MG_AF_INET, .addr = { ip4(s) } };

	return a;
}

static struct mg_addr addr6(const char *s)
{
	struct mg_addr a = { .family = MG_AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, s, a.addr), 1);
	return a;
}

static void assert_addr(const struct mg_addr *got, const struct mg_addr *want)
{
	assert_int_equal(got->family, want->family);
	assert_memory_equal(got->addr, want->addr, sizeof(got->addr));
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void collect(const struct mg_nl_event *ev, void *arg)
{
	struct topo *t = arg;

	if (t->n_ev < (int)(sizeof(t->ev) / sizeof(t->ev[0])))
		t->ev[t->n_ev++] = *ev;
}

static void events_reset(struct topo *t)
{
	assert_true(mg_nl_process_events(t->nl, collect, t) >= 0);
	t->n_ev = 0;
}

static bool ev_match(const struct mg_nl_event *ev,
		     enum mg_nl_event_type type, int ifindex,
		     const struct mg_addr *addr)
{
	if (ev->type != type || (ifindex && ev->ifindex != ifindex))
		return false;
	if (addr && (ev->addr.family != addr->family ||
		     memcmp(ev->addr.addr, addr->addr, sizeof(addr->addr))))
		return false;
	return true;
}

/*
 * Polls the event fd (bounded) until an event of @type for @ifindex (0:
 * any) and @addr (NULL: any) has been reported.
 */
static const struct mg_nl_event *wait_event(struct topo *t,
					    enum mg_nl_event_type type,
					    int ifindex,
					    const struct mg_addr *addr)
{
	struct pollfd pfd = { .fd = mg_nl_event_fd(t->nl), .events = POLLIN };
	long deadline = now_ms() + WAIT_MS;
	int i = 0, n;

	for (;;) {
		for (; i < t->n_ev; i++)
			if (ev_match(&t->ev[i], type, ifindex, addr))
				return &t->ev[i];
		n = deadline - now_ms();
		if (n <= 0 || poll(&pfd, 1, n) <= 0)
			break;
		assert_true(mg_nl_process_events(t->nl, collect, t) >= 0);
	}
	fail_msg("no %s event for ifindex %d", mg_nl_event_name(type),
		 ifindex);
	return NULL;
}

/* --- topology ------------------------------------------------------------- */

static pid_t peer_spawn(int *ctl)
{
	int down[2], up[2];
	char c = 0;
	pid_t pid;

	if (pipe2(down, O_CLOEXEC) || pipe2(up, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		/* cat holds the namespace until ctl closes (and is no fork
		 * of this heap, which would only distract valgrind). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) == 0 && write(up[1], "r", 1) == 1 &&
		    dup2(down[0], STDIN_FILENO) == STDIN_FILENO)
			execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(down[0]);
	close(up[1]);
	if (pid > 0 && read(up[0], &c, 1) != 1) {
		close(down[1]);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(up[0]);
	if (pid < 0)
		close(down[1]);
	else
		*ctl = down[1];
	return pid;
}

static int topo_setup(void **state)
{
	struct topo *t = calloc(1, sizeof(*t));
	char path[64];

	assert_non_null(t);
	t->ctl = t->peer_ns = t->self_ns = -1;
	*state = t;

	/* A fresh namespace per test: the last one dies with its peer. */
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	t->self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(t->self_ns >= 0);
	t->peer = peer_spawn(&t->ctl);
	assert_true(t->peer > 0);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)t->peer);
	t->peer_ns = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(t->peer_ns >= 0);

	sh("ip link set lo up && "
	   "ip link add mg0 address 02:6d:67:00:00:01 type veth "
	   "peer name mg1 address 02:6d:67:00:00:02 && "
	   "ip link set mg1 netns %d && "
	   "ip addr add 10.99.0.1/24 dev mg0 && "
	   "ip -6 addr add fd00:99::1/64 dev mg0 nodad && "
	   "ip link set mg0 up", (int)t->peer);
	peer_sh(t, "ip link set lo up && "
		   "ip addr add 10.99.0.2/24 dev mg1 && "
		   "ip -6 addr add fd00:99::2/64 dev mg1 nodad && "
		   "ip link set mg1 up");

	t->nl = mg_nl_open();
	assert_non_null(t->nl);
	t->ifindex = mg_nl_ifindex("mg0");
	assert_true(t->ifindex > 0);
	return 0;
}

static int topo_teardown(void **state)
{
	struct topo *t = *state;

	if (!t)
		return 0;
	mg_nl_close(t->nl);
	if (t->ctl >= 0)
		close(t->ctl);	/* peer exits; its namespace goes too */
	if (t->peer > 0)
		waitpid(t->peer, NULL, 0);
	if (t->peer_ns >= 0)
		close(t->peer_ns);
	if (t->self_ns >= 0)
		close(t->self_ns);
	free(t);
	return 0;
}

/* --- links ---------------------------------------------------------------- */

static void test_link(void **state)
{
	struct topo *t = *state;
	struct mg_nl_link link;

	assert_int_equal(mg_nl_ifindex("mg-nonexist"), -ENODEV);
	assert_int_equal(mg_nl_ifindex(""), -EINVAL);
	assert_int_equal(mg_nl_ifindex("a-name-that-is-too-long"), -EINVAL);

	assert_int_equal(mg_nl_link_get(t->nl, t->ifindex, &link), 0);
	assert_int_equal(link.ifindex, t->ifindex);
	assert_string_equal(link.name, "mg0");
	assert_true(link.mac_ok);
	assert_memory_equal(link.mac, mac_mg0, 6);
	assert_true(link.up);
	assert_int_equal(link.mtu, 1500);

	/* Carrier follows the peer's end. */
	peer_sh(t, "ip link set mg1 down");
	assert_int_equal(mg_nl_link_get(t->nl, t->ifindex, &link), 0);
	assert_false(link.up);

	assert_int_equal(mg_nl_link_get(t->nl, 99999, &link), -ENODEV);
}

/* --- resolution ----------------------------------------------------------- */

static void test_resolve_direct(void **state)
{
	struct topo *t = *state;
	struct mg_addr want = addr4("10.99.0.2");
	struct mg_nl_hop hop;
	struct mg_nh_val nh;

	/* Permanent, with an address the peer does not have: no ARP. */
	sh("ip neigh add 10.99.0.2 lladdr 02:6d:67:00:00:aa dev mg0 "
	   "nud permanent");

	memset(&nh, 0xff, sizeof(nh));
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("10.99.0.2"), &nh), 0);
	assert_int_equal(nh.ifindex, t->ifindex);
	assert_memory_equal(nh.smac, mac_mg0, 6);
	assert_memory_equal(nh.dmac, mac_aa, 6);

	assert_int_equal(mg_nl_resolve(t->nl, &want, &hop), 0);
	assert_int_equal(hop.ifindex, t->ifindex);
	assert_addr(&hop.via, &want);
	assert_int_equal(hop.mtu, 1500);
	assert_memory_equal(&hop.val, &nh, sizeof(nh));
}

static void test_resolve_gateway(void **state)
{
	struct topo *t = *state;
	struct mg_addr dst = addr4("192.0.2.7"), gw = addr4("10.99.0.2");
	struct mg_nl_hop hop;
	struct mg_nh_val nh;

	sh("ip neigh add 10.99.0.2 lladdr 02:6d:67:00:00:aa dev mg0 "
	   "nud permanent && "
	   "ip neigh add 10.99.0.3 lladdr 02:6d:67:00:00:bb dev mg0 "
	   "nud permanent && "
	   "ip route add 192.0.2.0/24 via 10.99.0.2 mtu 1400 && "
	   "ip route add 192.0.2.128/25 via 10.99.0.3");

	assert_int_equal(mg_nl_resolve(t->nl, &dst, &hop), 0);
	assert_int_equal(hop.ifindex, t->ifindex);
	assert_addr(&hop.via, &gw);
	assert_int_equal(hop.mtu, 1400);
	assert_int_equal(hop.val.ifindex, t->ifindex);
	assert_memory_equal(hop.val.smac, mac_mg0, 6);
	assert_memory_equal(hop.val.dmac, mac_aa, 6);

	/* The longest prefix wins, as for the kernel's own traffic. */
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("192.0.2.200"), &nh), 0);
	assert_int_equal(nh.ifindex, t->ifindex);
	assert_memory_equal(nh.smac, mac_mg0, 6);
	assert_memory_equal(nh.dmac, mac_bb, 6);
}

static void test_resolve6(void **state)
{
	struct topo *t = *state;
	struct mg_addr dst = addr6("2001:db8:98::7"), ll = addr6("fe80::bb");
	struct mg_nl_hop hop;
	struct mg_nh_val nh;
	__u8 a[16];

	sh("ip -6 neigh add fd00:99::2 lladdr 02:6d:67:00:00:aa dev mg0 "
	   "nud permanent && "
	   "ip -6 neigh add fe80::bb lladdr 02:6d:67:00:00:bb dev mg0 "
	   "nud permanent && "
	   "ip -6 route add 2001:db8:99::/64 via fd00:99::2 && "
	   "ip -6 route add 2001:db8:98::/64 via fe80::bb dev mg0");

	/* Directly connected. */
	assert_int_equal(inet_pton(AF_INET6, "fd00:99::2", a), 1);
	assert_int_equal(mg_nl_resolve6(t->nl, a, &nh), 0);
	assert_int_equal(nh.ifindex, t->ifindex);
	assert_memory_equal(nh.smac, mac_mg0, 6);
	assert_memory_equal(nh.dmac, mac_aa, 6);

	/* Global gateway. */
	memset(&nh, 0, sizeof(nh));
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:99::7", a), 1);
	assert_int_equal(mg_nl_resolve6(t->nl, a, &nh), 0);
	assert_memory_equal(nh.dmac, mac_aa, 6);

	/* Link-local gateway, the usual case for an IPv6 underlay. */
	assert_int_equal(mg_nl_resolve(t->nl, &dst, &hop), 0);
	assert_addr(&hop.via, &ll);
	assert_int_equal(hop.val.ifindex, t->ifindex);
	assert_memory_equal(hop.val.dmac, mac_bb, 6);
}

static void test_no_route(void **state)
{
	struct topo *t = *state;
	struct mg_addr dst = addr6("2001:db8:dead::1");
	struct mg_nl_hop hop;
	struct mg_nh_val nh;

	/* Nothing but connected routes exist. */
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("198.51.100.1"), &nh),
			 -EHOSTUNREACH);
	assert_int_equal(mg_nl_resolve(t->nl, &dst, &hop), -EHOSTUNREACH);

	sh("ip route add unreachable 198.51.100.0/24 && "
	   "ip route add blackhole 198.51.101.0/24 && "
	   "ip route add prohibit 198.51.102.0/24");
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("198.51.100.1"), &nh),
			 -EHOSTUNREACH);
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("198.51.101.1"), &nh),
			 -EHOSTUNREACH);
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("198.51.102.1"), &nh),
			 -EHOSTUNREACH);

	/* Our own address is no next hop. */
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("10.99.0.1"), &nh),
			 -EHOSTUNREACH);
}

/* Polls (bounded) until @dst resolves; returns the last result. */
static int resolve_wait(struct topo *t, const char *dst, struct mg_nh_val *nh)
{
	long deadline = now_ms() + WAIT_MS;
	int err;

	while ((err = mg_nl_resolve4(t->nl, ip4(dst), nh)) == -EAGAIN &&
	       now_ms() < deadline)
		usleep(20 * 1000);
	return err;
}

static void test_unresolved_then_managed(void **state)
{
	struct topo *t = *state;
	struct mg_addr dst = addr4("10.99.0.2");
	struct mg_nl_hop hop;
	struct mg_nh_val nh;

	/* No neighbour entry yet: -EAGAIN, and what to resolve. */
	assert_int_equal(mg_nl_resolve(t->nl, &dst, &hop), -EAGAIN);
	assert_int_equal(hop.ifindex, t->ifindex);
	assert_addr(&hop.via, &dst);

	assert_int_equal(mg_nl_neigh_manage4(t->nl, hop.ifindex,
					     hop.via.addr[0]), 0);
	assert_true(neigh_shows("10.99.0.2", "managed"));
	assert_int_equal(resolve_wait(t, "10.99.0.2", &nh), 0);
	assert_int_equal(nh.ifindex, t->ifindex);
	assert_memory_equal(nh.smac, mac_mg0, 6);
	assert_memory_equal(nh.dmac, mac_mg1, 6);

	/* Idempotent, and the entry stays resolved. */
	assert_int_equal(mg_nl_neigh_manage4(t->nl, t->ifindex,
					     ip4("10.99.0.2")), 0);
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("10.99.0.2"), &nh), 0);
	assert_memory_equal(nh.dmac, mac_mg1, 6);

	/* Nobody answers for .9: managed, but still unresolved. */
	assert_int_equal(mg_nl_neigh_manage4(t->nl, t->ifindex,
					     ip4("10.99.0.9")), 0);
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("10.99.0.9"), &nh),
			 -EAGAIN);
}

static void test_manage_existing(void **state)
{
	struct topo *t = *state;
	struct mg_nh_val nh;

	/* Learnt by the kernel itself: valid but unmanaged. */
	sh("ping -q -c 1 -W 2 10.99.0.2 >/dev/null");
	assert_false(neigh_shows("10.99.0.2", "managed"));
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("10.99.0.2"), &nh), 0);

	/*
	 * Becoming managed keeps the address while the kernel re-confirms
	 * it.  The peer stops answering ARP, so an entry restarted from
	 * scratch would be seen unresolved here.
	 */
	peer_sh(t, "ip link set mg1 arp off");
	assert_int_equal(mg_nl_neigh_manage4(t->nl, t->ifindex,
					     ip4("10.99.0.2")), 0);
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("10.99.0.2"), &nh), 0);
	assert_memory_equal(nh.dmac, mac_mg1, 6);
	assert_true(neigh_shows("10.99.0.2", "managed"));

	/* An administrator's permanent entry is left as it is. */
	sh("ip neigh add 10.99.0.3 lladdr 02:6d:67:00:00:bb dev mg0 "
	   "nud permanent");
	assert_int_equal(mg_nl_neigh_manage4(t->nl, t->ifindex,
					     ip4("10.99.0.3")), 0);
	assert_true(neigh_shows("10.99.0.3", "PERMANENT"));
	assert_false(neigh_shows("10.99.0.3", "managed"));
	assert_int_equal(mg_nl_resolve4(t->nl, ip4("10.99.0.3"), &nh), 0);
	assert_memory_equal(nh.dmac, mac_bb, 6);
}

/* --- events --------------------------------------------------------------- */

static void test_events_link(void **state)
{
	struct topo *t = *state;
	const struct mg_nl_event *ev;
	int idx;

	events_reset(t);
	sh("ip link set mg0 down");
	ev = wait_event(t, MG_NL_EV_LINK_DOWN, t->ifindex, NULL);
	assert_string_equal(ev->ifname, "mg0");

	sh("ip link set mg0 up");
	ev = wait_event(t, MG_NL_EV_LINK_UP, t->ifindex, NULL);
	assert_string_equal(ev->ifname, "mg0");

	/* Losing carrier is down too. */
	events_reset(t);
	peer_sh(t, "ip link set mg1 down");
	wait_event(t, MG_NL_EV_LINK_DOWN, t->ifindex, NULL);

	sh("ip link add mg2 type veth peer name mg3");
	idx = mg_nl_ifindex("mg2");
	assert_true(idx > 0);
	events_reset(t);
	sh("ip link del mg2");
	ev = wait_event(t, MG_NL_EV_LINK_DEL, idx, NULL);
	assert_string_equal(ev->ifname, "mg2");
}

static void test_events_neigh_route(void **state)
{
	struct topo *t = *state;
	struct mg_addr nb = addr4("10.99.0.5"), net = addr4("192.0.2.0");
	const struct mg_nl_event *ev;

	events_reset(t);
	sh("ip neigh add 10.99.0.5 lladdr 02:6d:67:00:00:aa dev mg0 "
	   "nud permanent");
	ev = wait_event(t, MG_NL_EV_NEIGH_CHANGE, t->ifindex, &nb);
	assert_int_equal(ev->family, AF_INET);
	assert_int_equal(ev->prefixlen, 32);

	events_reset(t);
	sh("ip neigh del 10.99.0.5 dev mg0");
	wait_event(t, MG_NL_EV_NEIGH_CHANGE, t->ifindex, &nb);

	events_reset(t);
	sh("ip route add 192.0.2.0/24 via 10.99.0.2");
	ev = wait_event(t, MG_NL_EV_ROUTE_CHANGE, t->ifindex, &net);
	assert_int_equal(ev->family, AF_INET);
	assert_int_equal(ev->prefixlen, 24);

	events_reset(t);
	sh("ip route del 192.0.2.0/24");
	wait_event(t, MG_NL_EV_ROUTE_CHANGE, t->ifindex, &net);
}

static void test_events_resync(void **state)
{
	struct topo *t = *state;
	int small = 1;

	/* Shrink the queue to the minimum, then flood it. */
	events_reset(t);
	assert_int_equal(setsockopt(mg_nl_event_fd(t->nl), SOL_SOCKET,
				    SO_RCVBUF, &small, sizeof(small)), 0);
	sh("for i in $(seq 10 250); do "
	   "echo neigh add 10.99.0.$i lladdr 02:6d:67:00:00:aa dev mg0 "
	   "nud permanent; done | ip -batch -");
	wait_event(t, MG_NL_EV_RESYNC, 0, NULL);
}

struct routes_seen {
	char s[8][MG_PREFIXSTRLEN];
	int n;
};

static void route_seen(const struct mg_prefix *pfx, void *arg)
{
	struct routes_seen *r = arg;

	if (r->n < 8)
		mg_prefix_str(pfx, r->s[r->n++], MG_PREFIXSTRLEN);
}

static bool seen(const struct routes_seen *r, const char *want)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->s[i], want))
			return true;
	return false;
}

/* Routes a CNI or BGP daemon installs become endpoints: table and protocol. */
static void test_routes(void **state)
{
	struct topo *t = *state;
	struct routes_seen r = { 0 };

	sh("ip route add 10.50.0.0/16 via 10.99.0.2 table 100 && "
	   "ip route add 10.51.0.0/24 dev mg0 table 100 && "
	   "ip route add default via 10.99.0.2 table 100 && "
	   "ip route add blackhole 10.52.0.0/16 table 100 && "
	   "ip route add 10.60.0.0/16 via 10.99.0.2 proto 186 && "
	   "ip -6 route add fd00:60::/64 via fd00:99::2 proto 186 && "
	   "ip route add 10.70.0.0/16 via 10.99.0.2");

	assert_int_equal(mg_nl_routes(t->nl, 100, 0, route_seen, &r), 2);
	assert_true(seen(&r, "10.50.0.0/16"));
	assert_true(seen(&r, "10.51.0.0/24"));

	memset(&r, 0, sizeof(r));
	assert_int_equal(mg_nl_routes(t->nl, 0, 186, route_seen, &r), 2);
	assert_true(seen(&r, "10.60.0.0/16"));
	assert_true(seen(&r, "fd00:60::/64"));

	memset(&r, 0, sizeof(r));
	assert_int_equal(mg_nl_routes(t->nl, 100, 186, route_seen, &r), 4);
	assert_false(seen(&r, "10.70.0.0/16"));
	assert_int_equal(mg_nl_routes(t->nl, 0, 0, route_seen, &r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, topo_setup, topo_teardown)
		T(test_link),
		T(test_resolve_direct),
		T(test_resolve_gateway),
		T(test_resolve6),
		T(test_no_route),
		T(test_unresolved_then_managed),
		T(test_manage_existing),
		T(test_events_link),
		T(test_events_neigh_route),
		T(test_events_resync),
		T(test_routes),
#undef T
	};

	/* Leave the host's namespace before anything can touch it. */
	if (unshare(CLONE_NEWNET)) {
		perror("test_netlink: unshare(CLONE_NEWNET) (needs root)");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
