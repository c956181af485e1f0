// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include "reasons.h"

static const char *const names[MG_REASON_MAX] = {
#define X(e, name, cls, desc) [MG_##e] = name,
	MG_REASON_TABLE(X)
#undef X
};

static const char *const descs[MG_REASON_MAX] = {
#define X(e, name, cls, desc) [MG_##e] = desc,
	MG_REASON_TABLE(X)
#undef X
};

static const unsigned char classes[MG_REASON_MAX] = {
#define X(e, name, cls, desc) [MG_##e] = MG_CLASS_##cls,
	MG_REASON_TABLE(X)
#undef X
};

const char *mg_reason_name(unsigned int r)
{
	return r < MG_REASON_MAX ? names[r] : "?";
}

const char *mg_reason_desc(unsigned int r)
{
	return r < MG_REASON_MAX ? descs[r] : "?";
}

enum mg_reason_class mg_reason_class(unsigned int r)
{
	/* An unknown number (a newer datapath) is not a forward. */
	return r < MG_REASON_MAX ? classes[r] : MG_CLASS_ERROR;
}

const char *mg_reason_class_name(enum mg_reason_class c)
{
	switch (c) {
	case MG_CLASS_FORWARD:
		return "forward";
	case MG_CLASS_DROP:
		return "drop";
	case MG_CLASS_ERROR:
		return "error";
	}
	return "?";
}

int mg_reason_find(const char *name)
{
	for (int r = 0; r < MG_REASON_MAX; r++)
		if (!strcmp(names[r], name))
			return r;
	return -1;
}
