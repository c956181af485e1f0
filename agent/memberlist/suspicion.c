// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memberlist/suspicion.h"

#define LN2	0.69314718055994530942
#define LN10	2.30258509299404568402

double mg_swim_ln(double x)
{
	double z, z2, term, sum = 0;
	int e = 0, i;

	if (x <= 0)
		return -1e300;
	/* x = m * 2^e with m in [1, 2) */
	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	/* ln m = 2 atanh((m - 1) / (m + 1)), |z| <= 1/3: fast series */
	z = (x - 1) / (x + 1);
	z2 = z * z;
	term = z;
	for (i = 1; i < 60; i += 2) {
		sum += term / i;
		term *= z2;
	}
	return 2 * sum + e * LN2;
}

static double log10_(double x)
{
	return mg_swim_ln(x) / LN10;
}

static uint64_t ceil_pos(double x)
{
	uint64_t i = (uint64_t)x;

	return (double)i < x ? i + 1 : i;
}

uint64_t mg_swim_suspicion_min(unsigned int mult, unsigned int n,
			       uint64_t interval)
{
	double scale = log10_(n > 1 ? n : 1);

	if (scale < 1)
		scale = 1;
	/*
	 * Go keeps three decimals of the scale: Duration(scale * 1000); the
	 * epsilon absorbs our logarithm's last-bit error at exact powers of 10
	 */
	return mult * (uint64_t)(scale * 1000 + 1e-6) * interval / 1000;
}

uint64_t mg_swim_suspicion_timeout(unsigned int c, unsigned int k,
				   uint64_t min, uint64_t max)
{
	double frac, raw;
	uint64_t t;

	if (!k)
		return min;
	frac = mg_swim_ln(c + 1.0) / mg_swim_ln(k + 1.0);
	raw = (double)max - frac * ((double)max - (double)min);
	/* floor to whole milliseconds, as Go does */
	t = raw > 0 ? (uint64_t)(raw / 1000) * 1000 : 0;
	return t < min ? min : t;
}

unsigned int mg_swim_retransmit_limit(unsigned int mult, unsigned int n)
{
	return mult * (unsigned int)ceil_pos(log10_(n + 1.0));
}

uint64_t mg_swim_push_pull_scale(uint64_t interval, unsigned int n)
{
	if (n <= 32)
		return interval;
	return interval * (ceil_pos(mg_swim_ln(n) / LN2 - 5.0) + 1);
}

int mg_suspicion_start(struct mg_suspicion *s, const char *from,
		       unsigned int mult, unsigned int max_mult,
		       unsigned int n, uint64_t interval, uint64_t now)
{
	unsigned int k = mult > 2 ? mult - 2 : 0;

	memset(s, 0, sizeof(*s));
	/* n - 2: neither the suspect nor we ourselves can confirm */
	if (n < k + 2)
		k = 0;
	s->from = calloc(k + 1, sizeof(*s->from));
	if (!s->from)
		return -ENOMEM;
	s->k = k;
	s->min = mg_swim_suspicion_min(mult, n, interval);
	s->max = max_mult * s->min;
	s->start = now;
	s->deadline = now + (k ? s->max : s->min);
	snprintf(s->from[0], sizeof(s->from[0]), "%s", from);
	s->n_from = 1;
	return 0;
}

bool mg_suspicion_confirm(struct mg_suspicion *s, const char *from)
{
	unsigned int i;

	if (s->n >= s->k)
		return false;
	for (i = 0; i < s->n_from; i++)
		if (!strcmp(s->from[i], from))
			return false;
	snprintf(s->from[s->n_from], sizeof(s->from[0]), "%s", from);
	s->n_from++;
	s->n++;
	s->deadline = s->start + mg_swim_suspicion_timeout(s->n, s->k,
							   s->min, s->max);
	return true;
}

void mg_suspicion_clear(struct mg_suspicion *s)
{
	free(s->from);
	memset(s, 0, sizeof(*s));
}
