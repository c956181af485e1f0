// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a scrape's time goes: mg_metrics_render() over a gateway's pins,
 * ROUNDS times each way, side by side:
 *   known   mg_ep4/mg_ep6 entries given, as the agent hands them over (the
 *           count it wrote); every other map counted (hash maps by batch)
 *   walked  nothing given: the LPM tries' keys walked, as before
 * Prints a flat JSON object of medians in ms (tests/bench/metrics.sh runs
 * it beside the agent it set up); the _cpu_ figures are this thread's CPU
 * time (user and system), which a loaded machine inflates less than the
 * wall time.
 *
 * usage: bench_metrics PIN_DIR [ROUNDS [TEXT]]   (TEXT: the last known
 *        render is written there, to compare with a scrape)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "metrics.h"

#define ROUNDS_MAX 101

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a,
			   y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static double median_ms(unsigned long long *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_ull);
	return v[n / 2] / 1e6;
}

/* The entries of map name in an exposition, or -1. */
static long long entries_in(const char *text, const char *name)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "meshgate_map_entries{map=\"%s\"} ", name);
	p = strstr(text, pat);
	return p ? atoll(p + strlen(pat)) : -1;
}

static unsigned long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int rounds(const char *pins, const struct mg_metrics_known *known,
		  int n_known, int n, unsigned long long (*t)[ROUNDS_MAX],
		  char **last)
{
	for (int i = 0; i < n; i++) {
		struct mg_metrics_times tm;
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		unsigned long long c0 = cpu_ns();

		if (!f)
			return -1;
		if (mg_metrics_render(f, pins, NULL, known, n_known, &tm)) {
			fclose(f);
			free(text);
			return -1;
		}
		t[5][i] = cpu_ns() - c0;
		fclose(f);
		t[0][i] = tm.total;
		t[1][i] = tm.maps;
		t[2][i] = tm.flows;
		t[3][i] = tm.lbstats;
		t[4][i] = tm.reasons;
		if (last && i == n - 1)
			*last = text;
		else
			free(text);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned long long tk[6][ROUNDS_MAX], tw[6][ROUNDS_MAX];
	struct mg_metrics_known known[2] = { { "mg_ep4", -1 },
					     { "mg_ep6", -1 } };
	int n = argc > 2 ? atoi(argv[2]) : 11;
	char *text = NULL;

	if (argc < 2 || n < 1 || n > ROUNDS_MAX) {
		fprintf(stderr, "usage: bench_metrics PIN_DIR [ROUNDS 1..%d]\n",
			ROUNDS_MAX);
		return 2;
	}
	/* Walked first: its count is what the agent would have written. */
	if (rounds(argv[1], NULL, 0, n, tw, &text)) {
		fprintf(stderr, "bench_metrics: cannot render %s\n", argv[1]);
		return 1;
	}
	known[0].entries = entries_in(text, "mg_ep4");
	known[1].entries = entries_in(text, "mg_ep6");
	free(text);
	if (rounds(argv[1], known, 2, n, tk, argc > 3 ? &text : NULL))
		return 1;
	if (argc > 3) {
		FILE *f = fopen(argv[3], "w");

		if (!f || fputs(text, f) < 0 || fclose(f)) {
			perror(argv[3]);
			return 1;
		}
		free(text);
	}
	printf("{\"metrics_render_ms\": %.2f, \"metrics_render_walked_ms\": %.2f, "
	       "\"metrics_render_cpu_ms\": %.2f, \"metrics_render_walked_cpu_ms\": %.2f, "
	       "\"metrics_render_maps_ms\": %.2f, \"metrics_render_maps_walked_ms\": %.2f, "
	       "\"metrics_render_flows_ms\": %.2f, \"metrics_render_lbstats_ms\": %.2f, "
	       "\"metrics_render_reasons_ms\": %.2f, \"metrics_render_ep4_entries\": %lld}\n",
	       median_ms(tk[0], n), median_ms(tw[0], n), median_ms(tk[5], n),
	       median_ms(tw[5], n), median_ms(tk[1], n), median_ms(tw[1], n),
	       median_ms(tk[2], n), median_ms(tk[3], n), median_ms(tk[4], n),
	       known[0].entries);
	return 0;
}
