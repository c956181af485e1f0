// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_prefix [--json FILE] [--sizes N,N...]: the compiled IPv4 prefix
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
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "prefix.h"
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
	if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.pfx_look), &o)) {
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
			*ratio > 0 ? ", " : "", tag, f.warm[1] - f.warm[0], tag,
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
		{ 0 },
	};
	const char *json = NULL, *sizes = "10000,1000000";
	FILE *f = NULL;
	double ratio = 0;
	char *dup, *tok, *save;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = optarg;
		else if (c == 's')
			sizes = optarg;
		else {
			fprintf(stderr, "usage: bench_prefix [--json FILE] "
					"[--sizes N,N...]\n");
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
	free(dup);
	printf("prefix_lookup_vs_trie (warm, worse size): %.3f\n", ratio);
	if (f) {
		fprintf(f, ", \"prefix_lookup_vs_trie\": %.3f}\n", ratio);
		if (f != stdout)
			fclose(f);
	}
	return rc ? 1 : 0;
}
