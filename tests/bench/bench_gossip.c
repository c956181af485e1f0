// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_gossip: the measuring half of the gossip benchmark (gossip.sh runs
 * the agents).  Agent k (1..N) has its maps pinned in a directory named by
 * the printf pattern PINS (one %d), its control socket by SOCKS.
 *
 *   bench_gossip converge -n N -P PINS -S SOCKS [-a K] [-c CHANGES] [-t MS]
 *       CHANGES endpoint changes at agent K (default 1) through its control
 *       socket, alternately `endpoints add 10.0.J.0/24` and `del` of the
 *       same prefix; each is timed from the call until every agent's mg_ep4
 *       has it (add) or none has it (del), polling every map each ~1 ms.
 *       Prints "p50_ms p99_ms max_ms mean_ms changes timeouts"; with
 *       BENCH_GOSSIP_TRACE set, each change's time on stderr too.
 *   bench_gossip failover -n N -P PINS -v K -p PID [-t MS]
 *       SIGKILL PID (agent K), then poll every other agent's mg_clus until
 *       cluster K has no live gateway there (or is gone).  Prints "ms".
 *   bench_gossip ready -n N -P PINS [-x K] [-t MS]
 *       until every agent has a live gateway for every other cluster in
 *       mg_clus (agent K excluded, and nobody needs K).  Prints "ms".
 *   bench_gossip has -n N -P PINS [-x K] [-d] [-t MS] PREFIX...
 *       until every agent (but K) has each PREFIX in mg_ep4 (-d: none has
 *       any).  Prints "ms".
 *   bench_gossip churn -S SOCKS [-a K] -r PER_S -D SECONDS
 *       endpoint changes at agent K at a steady rate (10.0.128+J.0/24, add
 *       then del), for the bandwidth figures.  Prints "changes failed"
 *       (calls the agent did not answer in time).
 *
 * Cluster ids are agent numbers.  Exit status 0, or 1 on a timeout or error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <meshgate/abi.h>
#include "ctl.h"

#define MAX_AGENTS	256
#define POLL_NS		1000000L	/* 1 ms */

static int n_agents;
static const char *pins_fmt, *socks_fmt = "";
static int ep4_fd[MAX_AGENTS + 1], clus_fd[MAX_AGENTS + 1];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void nap(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

static int open_map(int k, const char *name)
{
	char path[512], dir[400];
	int fd;

	snprintf(dir, sizeof(dir), pins_fmt, k);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "bench_gossip: %s: %s\n", path, strerror(errno));
	return fd;
}

/* (Re)open the maps of every agent: a restarted agent re-uses its pins. */
static int open_maps(void)
{
	for (int k = 1; k <= n_agents; k++) {
		if (ep4_fd[k] > 0)
			close(ep4_fd[k]);
		if (clus_fd[k] > 0)
			close(clus_fd[k]);
		ep4_fd[k] = open_map(k, "mg_ep4");
		clus_fd[k] = open_map(k, "mg_clus");
		if (ep4_fd[k] < 0 || clus_fd[k] < 0)
			return -1;
	}
	return 0;
}

static int parse_prefix(const char *s, struct mg_ep4_key *key)
{
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	key->prefixlen = atoi(slash + 1);
	return inet_pton(AF_INET, buf, &key->addr) == 1 ? 0 : -1;
}

/*
 * An LPM lookup of the prefix itself: it finds the prefix when present, or
 * a shorter one that contains it, so the prefixes used here are covered by
 * nothing else.
 */
static bool has_ep(int k, const struct mg_ep4_key *key)
{
	struct mg_ep_val v;

	return !bpf_map_lookup_elem(ep4_fd[k], key, &v);
}

/* Live gateways of cluster c in agent k's mg_clus (0 when absent). */
static int live_gw(int k, int c)
{
	struct mg_cluster_val v;
	__u32 key = c;

	if (bpf_map_lookup_elem(clus_fd[k], &key, &v))
		return 0;
	return v.n_gw;
}

static int ctl(int k, const char *verb, const char *prefix)
{
	char path[512];
	char *argv[] = { "endpoints", (char *)verb, (char *)prefix, NULL };

	snprintf(path, sizeof(path), socks_fmt, k);
	return mg_ctl_call(path, false, 3, argv);
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[n]. */
static double pct(const double *v, int n, double p)
{
	int i = (int)(p / 100.0 * n + 0.999999) - 1;

	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static int cmd_converge(int origin, int changes, double timeout)
{
	double *lat = calloc(changes, sizeof(*lat)), sum = 0;
	int done = 0, timeouts = 0;
	unsigned int rnd = getpid();

	if (!lat)
		return 1;
	for (int i = 0; i < changes; i++) {
		bool add = !(i & 1);
		char pfx[32];
		struct mg_ep4_key key;
		double t0, t;
		int k;

		/* 10.0/16: no cluster owns it (cluster K has 10.K/16, K = 1..255) */
		snprintf(pfx, sizeof(pfx), "10.0.%d.0/24", (i / 2) % 128);
		parse_prefix(pfx, &key);
		/* A random gap: changes land anywhere in the gossip rounds. */
		nap(20000000L + (rand_r(&rnd) % 30) * 1000000L);
		t0 = now_ms();
		if (ctl(origin, add ? "add" : "del", pfx)) {
			fprintf(stderr, "bench_gossip: endpoints %s %s failed\n",
				add ? "add" : "del", pfx);
			free(lat);
			return 1;
		}
		/* Agents that have converged stay so: resume at the first laggard. */
		for (k = 1;;) {
			while (k <= n_agents && has_ep(k, &key) == add)
				k++;
			t = now_ms();
			if (k > n_agents || t - t0 > timeout)
				break;
			nap(POLL_NS);
		}
		if (k <= n_agents) {
			fprintf(stderr, "bench_gossip: %s %s: agent %d still %s after %.0f ms\n",
				add ? "add" : "del", pfx, k,
				add ? "lacks it" : "has it", timeout);
			timeouts++;
			continue;
		}
		if (getenv("BENCH_GOSSIP_TRACE"))
			fprintf(stderr, "converge %d %s %.1f ms\n", i,
				add ? "add" : "del", t - t0);
		lat[done++] = t - t0;
		sum += t - t0;
	}
	if (!done) {
		free(lat);
		return 1;
	}
	qsort(lat, done, sizeof(*lat), dbl_cmp);
	printf("%.1f %.1f %.1f %.1f %d %d\n", pct(lat, done, 50),
	       pct(lat, done, 99), lat[done - 1], sum / done, done, timeouts);
	free(lat);
	return timeouts ? 1 : 0;
}

static int cmd_failover(int victim, pid_t pid, double timeout)
{
	double t0, t = 0;
	int k;

	for (k = 1; k <= n_agents; k++)
		if (k != victim && !live_gw(k, victim)) {
			fprintf(stderr, "bench_gossip: agent %d does not see agent %d alive before the kill\n",
				k, victim);
			return 1;
		}
	t0 = now_ms();
	if (kill(pid, SIGKILL)) {
		perror("bench_gossip: kill");
		return 1;
	}
	for (k = 1;;) {
		while (k <= n_agents && (k == victim || !live_gw(k, victim)))
			k++;
		t = now_ms();
		if (k > n_agents || t - t0 > timeout)
			break;
		nap(POLL_NS);
	}
	if (k <= n_agents) {
		fprintf(stderr, "bench_gossip: agent %d still has cluster %d after %.0f ms\n",
			k, victim, timeout);
		return 1;
	}
	printf("%.1f\n", t - t0);
	return 0;
}

static bool all_ready(int excl)
{
	for (int k = 1; k <= n_agents; k++)
		for (int c = 1; c <= n_agents; c++)
			if (k != excl && c != excl && c != k && !live_gw(k, c))
				return false;
	return true;
}

static int cmd_ready(int excl, double timeout)
{
	double t0 = now_ms();

	while (!all_ready(excl)) {
		if (now_ms() - t0 > timeout) {
			fprintf(stderr, "bench_gossip: not every agent sees every other alive after %.0f ms\n",
				timeout);
			return 1;
		}
		nap(20 * POLL_NS);
	}
	printf("%.1f\n", now_ms() - t0);
	return 0;
}

static int cmd_has(int excl, bool absent, double timeout, char **pfx, int n)
{
	struct mg_ep4_key *keys = calloc(n, sizeof(*keys));
	double t0 = now_ms();
	int k = 1, i = 0;

	if (!keys)
		return 1;
	for (int j = 0; j < n; j++)
		if (parse_prefix(pfx[j], &keys[j])) {
			fprintf(stderr, "bench_gossip: not an IPv4 prefix: %s\n",
				pfx[j]);
			free(keys);
			return 1;
		}
	for (;;) {
		while (k <= n_agents &&
		       (k == excl || (i < n && has_ep(k, &keys[i]) != absent) ||
			i == n)) {
			if (k != excl && i < n - 1) {
				i++;
				continue;
			}
			k++;
			i = 0;
		}
		if (k > n_agents)
			break;
		if (now_ms() - t0 > timeout) {
			fprintf(stderr, "bench_gossip: agent %d: %s %s after %.0f ms\n",
				k, pfx[i], absent ? "still there" : "missing",
				timeout);
			free(keys);
			return 1;
		}
		nap(10 * POLL_NS);
	}
	printf("%.1f\n", now_ms() - t0);
	free(keys);
	return 0;
}

static int cmd_churn(int origin, double rate, double seconds)
{
	double t0 = now_ms(), next = t0;
	int i = 0, failed = 0;

	while (now_ms() - t0 < seconds * 1000) {
		char pfx[32];
		double w;

		snprintf(pfx, sizeof(pfx), "10.0.%d.0/24", 128 + (i / 2) % 128);
		/* A busy agent may time out: count it, keep the pace. */
		if (ctl(origin, i & 1 ? "del" : "add", pfx)) {
			failed++;
			if (failed > 100)
				return 1;
		}
		i++;
		next += 1000 / rate;
		w = next - now_ms();
		if (w > 0)
			nap((long)(w * 1e6));
	}
	/* Leave nothing behind. */
	if (i & 1) {
		char pfx[32];

		snprintf(pfx, sizeof(pfx), "10.0.%d.0/24", 128 + ((i - 1) / 2) % 128);
		ctl(origin, "del", pfx);
	}
	printf("%d %d\n", i, failed);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_gossip converge -n N -P PINS -S SOCKS [-a K] [-c CHANGES] [-t MS]\n"
		"       bench_gossip failover -n N -P PINS -v K -p PID [-t MS]\n"
		"       bench_gossip ready -n N -P PINS [-x K] [-t MS]\n"
		"       bench_gossip has -n N -P PINS [-x K] [-d] [-t MS] PREFIX...\n"
		"       bench_gossip churn -S SOCKS [-a K] -r PER_S -D SECONDS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd;
	int origin = 1, changes = 100, victim = 0, excl = 0, opt;
	double timeout = 10000, rate = 10, seconds = 10;
	bool absent = false;
	pid_t pid = 0;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "n:P:S:a:c:t:v:p:x:dr:D:")) != -1) {
		switch (opt) {
		case 'n': n_agents = atoi(optarg); break;
		case 'P': pins_fmt = optarg; break;
		case 'S': socks_fmt = optarg; break;
		case 'a': origin = atoi(optarg); break;
		case 'c': changes = atoi(optarg); break;
		case 't': timeout = atof(optarg); break;
		case 'v': victim = atoi(optarg); break;
		case 'p': pid = atoi(optarg); break;
		case 'x': excl = atoi(optarg); break;
		case 'd': absent = true; break;
		case 'r': rate = atof(optarg); break;
		case 'D': seconds = atof(optarg); break;
		default: usage();
		}
	}
	if (!strcmp(cmd, "churn"))
		return socks_fmt[0] && rate > 0 ? cmd_churn(origin, rate, seconds) : 2;
	if (n_agents < 1 || n_agents > MAX_AGENTS || !pins_fmt)
		usage();
	if (open_maps())
		return 1;
	if (!strcmp(cmd, "converge") && socks_fmt[0] && changes > 0)
		return cmd_converge(origin, changes, timeout);
	if (!strcmp(cmd, "failover") && victim > 0 && pid > 0)
		return cmd_failover(victim, pid, timeout);
	if (!strcmp(cmd, "ready"))
		return cmd_ready(excl, timeout);
	if (!strcmp(cmd, "has") && optind < argc)
		return cmd_has(excl, absent, timeout, argv + optind,
			       argc - optind);
	usage();
	return 2;
}
