// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <string.h>
#include "lib/out.h"

#define OUT_DEPTH 16

static FILE *out_f;
static bool out_json;
static int depth;
static bool need_comma[OUT_DEPTH];

void out_init(FILE *f, bool json)
{
	out_f = f;
	out_json = json;
	depth = 0;
	memset(need_comma, 0, sizeof(need_comma));
}

bool out_is_json(void)
{
	return out_json;
}

static void json_string(const char *s)
{
	fputc('"', out_f);
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			fprintf(out_f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out_f, "\\u%04x", ch);
		else
			fputc(ch, out_f);
	}
	fputc('"', out_f);
}

static void json_key(const char *key)
{
	if (need_comma[depth])
		fputc(',', out_f);
	need_comma[depth] = true;
	if (key && depth > 0) {
		json_string(key);
		fputc(':', out_f);
	}
}

static void open_container(const char *key, char ch)
{
	if (!out_json)
		return;
	json_key(key);
	fputc(ch, out_f);
	if (depth < OUT_DEPTH - 1)
		depth++;
	need_comma[depth] = false;
}

static void close_container(char ch)
{
	if (!out_json)
		return;
	fputc(ch, out_f);
	if (depth > 0)
		depth--;
}

void out_obj_open(const char *key)  { open_container(key, '{'); }
void out_obj_close(void)            { close_container('}'); }
void out_arr_open(const char *key)  { open_container(key, '['); }
void out_arr_close(void)            { close_container(']'); }

void out_str(const char *key, const char *fmt, const char *val)
{
	if (out_json) {
		json_key(key);
		json_string(val ? val : "");
	} else if (fmt) {
		fprintf(out_f, fmt, val ? val : "");
	}
}

void out_u64(const char *key, const char *fmt, unsigned long long val)
{
	if (out_json) {
		json_key(key);
		fprintf(out_f, "%llu", val);
	} else if (fmt) {
		fprintf(out_f, fmt, val);
	}
}

void out_s64(const char *key, const char *fmt, long long val)
{
	if (out_json) {
		json_key(key);
		fprintf(out_f, "%lld", val);
	} else if (fmt) {
		fprintf(out_f, fmt, val);
	}
}

void out_bool(const char *key, const char *fmt, bool val)
{
	if (out_json) {
		json_key(key);
		fputs(val ? "true" : "false", out_f);
	} else if (fmt) {
		fprintf(out_f, fmt, val ? "yes" : "no");
	}
}

void out_text(const char *fmt, ...)
{
	va_list ap;

	if (out_json)
		return;
	va_start(ap, fmt);
	vfprintf(out_f, fmt, ap);
	va_end(ap);
}

void out_finish(void)
{
	if (out_json)
		fputc('\n', out_f);
	fflush(out_f);
}
