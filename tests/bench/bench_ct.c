// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_ct: what one new service flow's insert costs, an LRU hash (as
 * mg_ct4_v2) against a plain hash whose old entries the agent would
 * expire (issue 15 item 3).  tests/bench/ctins.bpf.c has the programs.
 *
 *   bench_ct [-n CALLS] [-r REPEAT] [--rounds N] [--json FILE]
 *
 * Each call runs one program REPEAT times (it inserts REPEAT new keys; the
 * packet is not touched, so repeat > 1 times what it says); the kernel's
 * mean per run is kept.  The four programs take turns in a new random
 * order every call.  Between calls the half-full maps lose their oldest
 * keys (one batch delete, not timed), as the agent's expiry would remove
 * them, so they stay half full; ct_lru_full is filled once and then
 * evicts on every insert.  Per round, the median of each minus the
 * baseline's; over the rounds the median and the spread.
 *
 *   lru_insert_ns       LRU hash, half full
 *   lru_insert_full_ns  LRU hash, full: the insert evicts
 *   hash_insert_ns      plain hash, half full
 *   lru_pcpu_insert_full_ns  Katran's: an LRU hash with a list per CPU,
 *                       full (the process stays on one CPU, whose share
 *                       of the entries it fills)
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <meshgate/abi.h>
#include "ctins.skel.h"

#define NPROG 5
#define NFIG 4
#define MAX_ROUNDS 20
#define HALF (MG_LB_CT_ENTRIES / 2)

enum { P_NONE, P_LRU, P_LRU_FULL, P_HASH, P_LRU_PCPU };
static const char *const names[NPROG] = { "ct_none", "ct_lru", "ct_lru_full",
					  "ct_hash", "ct_lru_pcpu_full" };

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_u32(__u32 *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static double median_dbl(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* The key ctins.bpf.c makes of seq. */
static void ct_key(__u32 seq, struct mg_ct4_key *k)
{
	memset(k, 0, sizeof(*k));
	k->saddr = seq;
	k->daddr = 0x0a60000a;
	k->sport = (__u16)(seq >> 16);
	k->dport = 80;
	k->proto = 6;
}

static int run(int prog, __u32 repeat, __u32 *ns)
{
	unsigned char frame[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = sizeof(frame), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	if (o.retval != XDP_PASS)
		return -EPROTO;
	*ns = o.duration;
	return 0;
}

/* Delete the keys from *next up to seq - HALF: the map stays half full. */
static int expire(int map, __u32 *next, __u32 seq, struct mg_ct4_key *buf,
		  __u32 cap)
{
	while (seq - *next > HALF) {
		__u32 n = seq - HALF - *next;

		if (n > cap)
			n = cap;
		for (__u32 i = 0; i < n; i++)
			ct_key(*next + i, &buf[i]);
		if (bpf_map_delete_batch(map, buf, &n, NULL) && errno != ENOENT)
			return -errno;
		*next += n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "calls", required_argument, NULL, 'n' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *json = NULL;
	long calls = 2000;
	__u32 repeat = 64, *ns[NPROG] = { 0 }, del_lru = 0, del_hash = 0;
	int rounds = 3, opt, rc = 1, err = 0, fd[NPROG];
	double fig[NFIG][MAX_ROUNDS], med[NPROG];
	struct mg_ct4_key *buf = NULL;
	struct ctins_bpf *skel;
	unsigned int seed = 1;

	while ((opt = getopt_long(argc, argv, "j:n:r:R:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = optarg;
			break;
		case 'n':
			calls = strtol(optarg, NULL, 10);
			break;
		case 'r':
			repeat = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			rounds = atoi(optarg);
			break;
		case 'h':
			printf("usage: bench_ct [-n CALLS] [-r REPEAT] "
			       "[--rounds N] [--json FILE]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (calls < 1 || calls > 1000000 || repeat < 1 || repeat > 65536 ||
	    rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr,
			"bench_ct: want -n 1..1000000, -r 1..65536, "
			"--rounds 1..%d\n",
			MAX_ROUNDS);
		return 2;
	}

	/* One CPU throughout: the per-CPU LRU fills and evicts that CPU's. */
	{
		cpu_set_t set;
		int cpu = sched_getcpu();

		CPU_ZERO(&set);
		CPU_SET(cpu < 0 ? 0 : cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("bench_ct: sched_setaffinity");
			return 1;
		}
	}
	skel = ctins_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "bench_ct: loading: %s\n", strerror(errno));
		return 1;
	}
	fd[P_NONE] = bpf_program__fd(skel->progs.ct_none);
	fd[P_LRU] = bpf_program__fd(skel->progs.ct_lru);
	fd[P_LRU_FULL] = bpf_program__fd(skel->progs.ct_lru_full);
	fd[P_HASH] = bpf_program__fd(skel->progs.ct_hash);
	fd[P_LRU_PCPU] = bpf_program__fd(skel->progs.ct_lru_pcpu_full);
	buf = calloc(repeat > 4096 ? repeat : 4096, sizeof(*buf));
	for (int p = 0; p < NPROG; p++)
		ns[p] = calloc(calls, sizeof(*ns[p]));
	if (!buf || !ns[0] || !ns[1] || !ns[2] || !ns[3] || !ns[4]) {
		fprintf(stderr, "bench_ct: out of memory\n");
		goto out;
	}

	/* Fill: half, half, and twice over for the one that stays full. */
	err = run(fd[P_LRU], HALF, &(__u32){ 0 })	   ?:
		      run(fd[P_HASH], HALF, &(__u32){ 0 }) ?:
		      run(fd[P_LRU_FULL], 2 * MG_LB_CT_ENTRIES, &(__u32){ 0 }) ?:
		      run(fd[P_LRU_PCPU], 2 * MG_LB_CT_ENTRIES, &(__u32){ 0 });
	if (err) {
		fprintf(stderr, "bench_ct: filling: %s\n", strerror(-err));
		goto out;
	}

	for (int r = 0; r < rounds; r++) {
		for (long i = 0; i < calls; i++) {
			int order[NPROG] = { 0, 1, 2, 3, 4 };

			for (int k = NPROG - 1; k > 0; k--) {
				int j = rand_r(&seed) % (k + 1), t = order[k];

				order[k] = order[j];
				order[j] = t;
			}
			for (int k = 0; k < NPROG && !err; k++)
				err = run(fd[order[k]], repeat,
					  &ns[order[k]][i]);
			if (!err)
				err = expire(bpf_map__fd(skel->maps.ct_lru_m),
					     &del_lru, skel->bss->seq_lru, buf,
					     4096) ?:
				      expire(bpf_map__fd(skel->maps.ct_hash_m),
					     &del_hash, skel->bss->seq_hash,
					     buf, 4096);
			if (err) {
				fprintf(stderr, "bench_ct: %s\n",
					strerror(-err));
				goto out;
			}
		}
		for (int p = 0; p < NPROG; p++)
			med[p] = median_u32(ns[p], calls);
		fig[0][r] = med[P_LRU] - med[P_NONE];
		fig[1][r] = med[P_LRU_FULL] - med[P_NONE];
		fig[2][r] = med[P_HASH] - med[P_NONE];
		fig[3][r] = med[P_LRU_PCPU] - med[P_NONE];
		printf("round %d:", r + 1);
		for (int p = 0; p < NPROG; p++)
			printf(" %s %.1f", names[p], med[p]);
		printf(" ns\n");
	}
	if (skel->bss->fail_hash || skel->bss->fail_lru) {
		fprintf(stderr,
			"bench_ct: inserts failed (hash %llu, lru "
			"%llu): the maps were not kept half full\n",
			(unsigned long long)skel->bss->fail_hash,
			(unsigned long long)skel->bss->fail_lru);
		goto out;
	}

	{
		static const char *const fn[NFIG] = {
			"lru_insert_ns", "lru_insert_full_ns", "hash_insert_ns",
			"lru_pcpu_insert_full_ns"
		};
		double v[NFIG], lo[NFIG], hi[NFIG];
		FILE *f = NULL;

		for (int k = 0; k < NFIG; k++) {
			v[k] = median_dbl(fig[k], rounds);
			lo[k] = fig[k][0];
			hi[k] = fig[k][rounds - 1];
			printf("%-20s %7.1f ns (rounds %.1f..%.1f)\n", fn[k],
			       v[k], lo[k], hi[k]);
		}
		printf("(over ct_none, median of %ld calls of %u inserts, %d "
		       "rounds, %d entries)\n",
		       calls, repeat, rounds, MG_LB_CT_ENTRIES);
		if (json) {
			f = strcmp(json, "-") ? fopen(json, "w") : stdout;
			if (!f) {
				perror(json);
				goto out;
			}
			fprintf(f, "{");
			for (int k = 0; k < NFIG; k++)
				fprintf(f,
					"%s\"%s\": %.1f, \"%s_min\": %.1f, "
					"\"%s_max\": %.1f",
					k ? ", " : "", fn[k], v[k], fn[k],
					lo[k], fn[k], hi[k]);
			fprintf(f, "}\n");
			if (f != stdout && fclose(f)) {
				perror(json);
				goto out;
			}
		}
	}
	rc = 0;
out:
	for (int p = 0; p < NPROG; p++)
		free(ns[p]);
	free(buf);
	ctins_bpf__destroy(skel);
	return rc;
}
