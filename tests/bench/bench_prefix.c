// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_prefix [--json FILE] [--sizes N,N...] [--sizes6 N,N...]: the
 * compiled IPv4 prefix
 * table (datapath/prefix.h) against the kernel's LPM trie on the same
 * prefixes (90% /24, 5% /16, 5% /26 at random), in one process, side by
 * side, 3 rounds, medians:
 *
 *   warm: 1,024 lookups per BPF_PROG_TEST_RUN over 65,536 destinations
 *         inside the prefixes (caches warm as on a busy gateway);
 *   hot:  1,024 lookups of one destination per run;
 *   cold: one lookup per run (repeat 1), over the destinations.
 *
 * Each figure is ns per lookup minus the same loop without a lookup.
 * The table's answers are checked against the trie's first (exit 1 if
 * any differs).  Figures: prefix_lookup_ns_<size>, lpm_trie_ns_<size>
 * (warm), *_hot_ns_<size>, *_cold_ns_<size>, prefix_lookup_mib_<size>
 * (the table's maps), prefix_lookup_vs_trie (warm, the worse size).
 *
 * --sizes6: the same for the IPv6 table (datapath/prefix6.h: a hash
 * lookup per length present) against the mg_ep6 trie, pod CIDRs under
 * fd00::/16 (90% /64, 5% /48, 5% /80): prefix6_lookup_ns_<size>,
 * lpm6_trie_ns_<size>, ..., prefix6_lookup_mib_<size> (the hash map's
 * memlock as the kernel reports it, or computed from its layout),
 * prefix6_lookup_vs_trie.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>
#include "prefix.h"
#include "prefix6.h"
#include "pfxlook.skel.h"

#define NDST 65536
#define ROUNDS 3
#define COLD 2000

static __u64 rng = 0x853c49e6748fea9bull;

static __u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (__u32)(rng >> 16);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return v[n / 2];
}

/* JSON objects written so far (a comma before each but the first). */
static int nfig;

/* The program measured: pfx_look (IPv4) or pfx_look6. */
static struct bpf_program *prog;

/* ns per run of the program, repeat runs. */
static double run(struct pfxlook_bpf *s, __u32 mode, __u32 nlook, __u32 spread,
		  int repeat)
{
	char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt,
		    .data_size_in = sizeof(pkt), .repeat = repeat);

	s->bss->mode = mode;
	s->data->nlook = nlook;
	s->data->spread = spread;
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o)) {
		perror("test_run");
		exit(1);
	}
	return o.duration;
}

struct fig {
	double warm[3], hot[3], cold[3]; /* by mode 0..2 */
};

static void measure(struct pfxlook_bpf *s, struct fig *f)
{
	double w[3][ROUNDS], h[3][ROUNDS], c[3][ROUNDS];
	static double one[3][COLD];

	for (int r = 0; r < ROUNDS; r++) {
		for (int m = 0; m < 3; m++) {
			int mode = (m + r) % 3; /* shuffled by round */

			s->bss->pos = 0;
			w[mode][r] = run(s, mode, 1024, 1, 64) / 1024;
			h[mode][r] = run(s, mode, 1024, 0, 64) / 1024;
		}
		for (int i = 0; i < COLD; i++)
			for (int m = 0; m < 3; m++) {
				s->bss->pos = (i * 7919) % NDST;
				one[m][i] = run(s, m, 1, 1, 1);
			}
		for (int m = 0; m < 3; m++)
			c[m][r] = median(one[m], COLD);
	}
	for (int m = 0; m < 3; m++) {
		f->warm[m] = median(w[m], ROUNDS);
		f->hot[m] = median(h[m], ROUNDS);
		f->cold[m] = median(c[m], ROUNDS);
	}
}

static int bench_size(size_t n, FILE *json, double *ratio)
{
	struct mg_ep4_key *k = calloc(n, sizeof(*k));
	struct mg_ep_val *v = calloc(n, sizeof(*v));
	struct pfxlook_bpf *s = pfxlook_bpf__open();
	struct mg_pfx_maps pm;
	struct mg_pfx4 t;
	struct fig f;
	char tag[32];
	int fd, rc;
	double mib;

	if (!k || !v || !s)
		return -ENOMEM;
	bpf_map__set_max_entries(s->maps.mg_ep4, n);
	prog = s->progs.pfx_look;
	rc = pfxlook_bpf__load(s);
	if (rc)
		return rc;
	fd = bpf_map__fd(s->maps.mg_ep4);
	for (size_t i = 0; i < n; i++) {
		__u32 x = rnd() % 20, len = x == 0 ? 16 : x == 1 ? 26 : 24;

		k[i].prefixlen = len;
		k[i].addr = htonl(rnd() & ~0u << (32 - len));
		v[i].cluster_id = 1 + rnd() % 255;
		if (bpf_map_update_elem(fd, &k[i], &v[i], BPF_ANY)) {
			perror("mg_ep4");
			return -errno;
		}
	}
	rc = mg_pfx4_build(&t, k, v, n);
	if (rc)
		return rc;
	pm = (struct mg_pfx_maps){
		.gen = bpf_map__fd(s->maps.mg_pfx_gen),
		.ans = bpf_map__fd(s->maps.mg_pfx_ans),
		.l1 = bpf_map__fd(s->maps.mg_pfx4_l1),
		.l2 = bpf_map__fd(s->maps.mg_pfx4_l2),
		.l3 = bpf_map__fd(s->maps.mg_pfx4_l3),
	};
	rc = mg_pfx4_publish(&pm, &t);
	if (rc)
		return rc;
	mib = (double)mg_pfx4_bytes(&t) / (1 << 20);
	/* Destinations inside the prefixes; the table answers as the trie. */
	for (__u32 i = 0; i < NDST; i++) {
		const struct mg_ep4_key *p = &k[rnd() % n];
		__u32 d = htonl(ntohl(p->addr) |
				(rnd() & ~(~0u << (32 - p->prefixlen))));
		struct mg_ep4_key q = { 32, d };
		struct mg_ep_val tv;

		if (bpf_map_lookup_elem(fd, &q, &tv) ||
		    mg_pfx4_find(&t, d) != mg_pfx_leaf(&tv)) {
			fprintf(stderr, "%08x: table %#x, trie %#x\n", ntohl(d),
				mg_pfx4_find(&t, d), mg_pfx_leaf(&tv));
			return -EIO;
		}
		bpf_map_update_elem(bpf_map__fd(s->maps.pfx_dst), &i, &d,
				    BPF_ANY);
	}
	mg_pfx4_free(&t);
	free(k);
	free(v);
	measure(s, &f);
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(tag, sizeof(tag), "%zum", n / 1000000);
	else
		snprintf(tag, sizeof(tag), "%zuk", n / 1000);
	printf("%8s prefixes: table %.1f MiB\n", tag, mib);
	printf("  %-6s table %7.1f ns  trie %7.1f ns  (loop %.1f)\n", "warm",
	       f.warm[1] - f.warm[0], f.warm[2] - f.warm[0], f.warm[0]);
	printf("  %-6s table %7.1f ns  trie %7.1f ns  (loop %.1f)\n", "hot",
	       f.hot[1] - f.hot[0], f.hot[2] - f.hot[0], f.hot[0]);
	printf("  %-6s table %7.1f ns  trie %7.1f ns  (run %.1f)\n", "cold",
	       f.cold[1] - f.cold[0], f.cold[2] - f.cold[0], f.cold[0]);
	if (json)
		fprintf(json,
			"%s\"prefix_lookup_ns_%s\": %.1f, \"lpm_trie_ns_%s\": %.1f, "
			"\"prefix_lookup_hot_ns_%s\": %.1f, \"lpm_trie_hot_ns_%s\": %.1f, "
			"\"prefix_lookup_cold_ns_%s\": %.1f, \"lpm_trie_cold_ns_%s\": %.1f, "
			"\"prefix_lookup_mib_%s\": %.1f",
			nfig++ ? ", " : "", tag, f.warm[1] - f.warm[0], tag,
			f.warm[2] - f.warm[0], tag, f.hot[1] - f.hot[0], tag,
			f.hot[2] - f.hot[0], tag, f.cold[1] - f.cold[0], tag,
			f.cold[2] - f.cold[0], tag, mib);
	{
		double r = (f.warm[1] - f.warm[0]) / (f.warm[2] - f.warm[0]);

		if (r > *ratio)
			*ratio = r;
	}
	pfxlook_bpf__destroy(s);
	return 0;
}

/* Bits past len of a (network order) cleared. */
static void mask6(__u32 a[4], __u32 len)
{
	for (int w = 0; w < 4; w++) {
		int b = (int)len - 32 * w;

		a[w] &= b <= 0 ? 0 : b >= 32 ? ~0u : htonl(~0u << (32 - b));
	}
}

/*
 * What a map takes in the kernel (its fdinfo's memlock, exact since Linux
 * 6.6), in bytes; 0 when not reported.
 */
static size_t map_memlock(int fd)
{
	char path[64], line[128];
	size_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %zu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * The IPv6 table (prefix6.h) against the mg_ep6 trie: pod CIDRs under
 * fd00::/16, 90% /64, 5% /48, 5% /80 at random.
 */
static int bench_size6(size_t n, FILE *json, double *ratio)
{
	struct mg_ep6_key *k = calloc(n, sizeof(*k));
	struct mg_ep_val *v = calloc(n, sizeof(*v));
	struct pfxlook_bpf *s = pfxlook_bpf__open();
	struct mg_pfx6_maps pm;
	struct mg_pfx6 t;
	struct fig f;
	char tag[32];
	int fd, rc, inner;
	__u32 g = 0, id = 0;
	size_t bytes;
	double mib;

	if (!k || !v || !s)
		return -ENOMEM;
	bpf_map__set_max_entries(s->maps.mg_ep6, n);
	prog = s->progs.pfx_look6;
	rc = pfxlook_bpf__load(s);
	if (rc)
		return rc;
	fd = bpf_map__fd(s->maps.mg_ep6);
	for (size_t i = 0; i < n; i++) {
		__u32 x = rnd() % 20, len = x == 0 ? 48 : x == 1 ? 80 : 64;

		k[i].prefixlen = len;
		for (int w = 0; w < 4; w++)
			k[i].addr[w] = rnd() ^ rnd() << 16;
		k[i].addr[0] =
			htonl(0xfd000000 | (ntohl(k[i].addr[0]) & 0xffff));
		mask6(k[i].addr, len);
		v[i].cluster_id = 1 + rnd() % 255;
		if (bpf_map_update_elem(fd, &k[i], &v[i], BPF_ANY)) {
			perror("mg_ep6");
			return -errno;
		}
	}
	rc = mg_pfx6_build(&t, k, v, n, n);
	if (rc)
		return rc;
	pm = (struct mg_pfx6_maps){
		.gen = bpf_map__fd(s->maps.mg_pfx6_gen),
		.ans = bpf_map__fd(s->maps.mg_pfx_ans),
		.h = bpf_map__fd(s->maps.mg_pfx6),
		.lens = bpf_map__fd(s->maps.mg_pfx6_lens),
		.rgn = bpf_map__fd(s->maps.mg_pfx6_rgn),
	};
	rc = mg_pfx6_publish(&pm, &t);
	if (rc)
		return rc;
	/* The kernel's own figure for the hash map, where it gives one. */
	bytes = mg_pfx6_bytes(&t);
	if (!bpf_map_lookup_elem(pm.h, &g, &id) || /* generation 0 or 1 */
	    (g = 1, !bpf_map_lookup_elem(pm.h, &g, &id))) {
		inner = bpf_map_get_fd_by_id(id);
		if (inner >= 0) {
			size_t ml = map_memlock(inner);

			if (ml)
				bytes = ml + sizeof(struct mg_pfx6_lens) +
					t.n_rgn * sizeof(*t.rgn);
			close(inner);
		}
	}
	mib = (double)bytes / (1 << 20);
	/* Destinations inside the prefixes; the table answers as the trie. */
	for (__u32 i = 0; i < NDST; i++) {
		const struct mg_ep6_key *p = &k[rnd() % n];
		struct mg_ep6_key q = { .prefixlen = 128 };
		struct mg_ep_val tv;
		__u32 h[4];

		__u32 m[4] = { ~0u, ~0u, ~0u, ~0u };

		mask6(m, p->prefixlen);
		for (int w = 0; w < 4; w++) {
			h[w] = rnd() ^ rnd() << 16;
			q.addr[w] = p->addr[w] | (h[w] & ~m[w]);
		}
		if (bpf_map_lookup_elem(fd, &q, &tv) ||
		    mg_pfx6_find(&t, q.addr) != mg_pfx_leaf(&tv)) {
			fprintf(stderr, "IPv6 destination %u: table %#x\n", i,
				mg_pfx6_find(&t, q.addr));
			return -EIO;
		}
		bpf_map_update_elem(bpf_map__fd(s->maps.pfx_dst6), &i, q.addr,
				    BPF_ANY);
	}
	mg_pfx6_free(&t);
	free(k);
	free(v);
	measure(s, &f);
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(tag, sizeof(tag), "%zum", n / 1000000);
	else
		snprintf(tag, sizeof(tag), "%zuk", n / 1000);
	printf("%8s IPv6 prefixes: table %.1f MiB\n", tag, mib);
	printf("  %-6s table %7.1f ns  trie %7.1f ns  (loop %.1f)\n", "warm",
	       f.warm[1] - f.warm[0], f.warm[2] - f.warm[0], f.warm[0]);
	printf("  %-6s table %7.1f ns  trie %7.1f ns  (loop %.1f)\n", "hot",
	       f.hot[1] - f.hot[0], f.hot[2] - f.hot[0], f.hot[0]);
	printf("  %-6s table %7.1f ns  trie %7.1f ns  (run %.1f)\n", "cold",
	       f.cold[1] - f.cold[0], f.cold[2] - f.cold[0], f.cold[0]);
	if (json)
		fprintf(json,
			"%s\"prefix6_lookup_ns_%s\": %.1f, \"lpm6_trie_ns_%s\": %.1f, "
			"\"prefix6_lookup_hot_ns_%s\": %.1f, \"lpm6_trie_hot_ns_%s\": %.1f, "
			"\"prefix6_lookup_cold_ns_%s\": %.1f, \"lpm6_trie_cold_ns_%s\": %.1f, "
			"\"prefix6_lookup_mib_%s\": %.1f",
			nfig++ ? ", " : "", tag, f.warm[1] - f.warm[0], tag,
			f.warm[2] - f.warm[0], tag, f.hot[1] - f.hot[0], tag,
			f.hot[2] - f.hot[0], tag, f.cold[1] - f.cold[0], tag,
			f.cold[2] - f.cold[0], tag, mib);
	{
		double r = (f.warm[1] - f.warm[0]) / (f.warm[2] - f.warm[0]);

		if (r > *ratio)
			*ratio = r;
	}
	pfxlook_bpf__destroy(s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "sizes", required_argument, NULL, 's' },
		{ "sizes6", required_argument, NULL, '6' },
		{ 0 },
	};
	const char *json = NULL, *sizes = "10000,1000000",
		   *sizes6 = "10000,1000000";
	FILE *f = NULL;
	double ratio = 0, ratio6 = 0;
	char *dup, *dup2, *tok, *save;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = optarg;
		else if (c == 's')
			sizes = optarg;
		else if (c == '6')
			sizes6 = optarg;
		else {
			fprintf(stderr, "usage: bench_prefix [--json FILE] "
					"[--sizes N,N...] [--sizes6 N,N...]\n");
			return 2;
		}
	}
	if (json) {
		f = strcmp(json, "-") ? fopen(json, "w") : stdout;
		if (!f) {
			perror(json);
			return 1;
		}
		fputc('{', f);
	}
	dup = strdup(sizes);
	for (tok = strtok_r(dup, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		rc = bench_size(strtoul(tok, NULL, 10), f, &ratio);
		if (rc)
			fprintf(stderr, "bench_prefix %s: %s\n", tok,
				strerror(-rc));
	}
	dup2 = strdup(sizes6);
	for (tok = strtok_r(dup2, ",", &save); tok && !rc && *sizes6;
	     tok = strtok_r(NULL, ",", &save)) {
		rc = bench_size6(strtoul(tok, NULL, 10), f, &ratio6);
		if (rc)
			fprintf(stderr, "bench_prefix IPv6 %s: %s\n", tok,
				strerror(-rc));
	}
	free(dup);
	free(dup2);
	printf("prefix_lookup_vs_trie (warm, worse size): %.3f\n", ratio);
	printf("prefix6_lookup_vs_trie (warm, worse size): %.3f\n", ratio6);
	if (f) {
		fprintf(f, "%s\"prefix_lookup_vs_trie\": %.3f",
			nfig ? ", " : "", ratio);
		fprintf(f, ", \"prefix6_lookup_vs_trie\": %.3f}\n", ratio6);
		if (f != stdout)
			fclose(f);
	}
	return rc ? 1 : 0;
}
