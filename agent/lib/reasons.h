/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names, classes and meanings of the datapath's reasons (enum mg_reason),
 * from the one table in include/meshgate/reasons.h.
 */
#ifndef MG_LIB_REASONS_H
#define MG_LIB_REASONS_H

#include <meshgate/reasons.h>

/* "?" for a number outside the table. */
const char *mg_reason_name(unsigned int r);
const char *mg_reason_desc(unsigned int r);
enum mg_reason_class mg_reason_class(unsigned int r);
/* "forward", "drop" or "error". */
const char *mg_reason_class_name(enum mg_reason_class c);
/* The reason called name, or -1. */
int mg_reason_find(const char *name);

#endif
