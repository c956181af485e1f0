/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One print path for text and JSON (after iproute2's json_print): a listing
 * calls these once per field; in text mode the format is used, in JSON mode
 * the key.  Keys may be NULL inside arrays.
 */
#ifndef MG_OUT_H
#define MG_OUT_H

#include <stdbool.h>
#include <stdio.h>

void out_init(FILE *f, bool json);
bool out_is_json(void);
void out_obj_open(const char *key);
void out_obj_close(void);
void out_arr_open(const char *key);
void out_arr_close(void);
/* A string or number field; fmt is for text mode (one %s / %llu / %lld). */
void out_str(const char *key, const char *fmt, const char *val);
void out_u64(const char *key, const char *fmt, unsigned long long val);
void out_s64(const char *key, const char *fmt, long long val);
void out_bool(const char *key, const char *fmt, bool val);
/* Text only: headers, separators, newlines. */
void out_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Close the document (JSON: a final newline). */
void out_finish(void);

#endif
