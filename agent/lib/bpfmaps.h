/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a pinned map holds and costs, read with syscalls only (so the
 * metrics thread may call them too): `meshgate bpf maps`, the metrics'
 * occupancy and `meshgate doctor`'s "maps near full" share them.
 */
#ifndef MG_BPFMAPS_H
#define MG_BPFMAPS_H

#include <bpf/bpf.h>

/* One pinned map of the pin directory. */
struct mg_bpfmap {
	char name[256];			/* its pin's name, mg_... */
	struct bpf_map_info info;
	long long entries;		/* in use; -1: kind not countable */
	unsigned long long memlock;	/* bytes the kernel charges; 0 unknown */
};

/* The kernel's charge for the map behind fd, in bytes; 0 unknown. */
unsigned long long mg_bpfmap_memlock(int fd);
/*
 * Entries in use: keys walked for hash and trie maps (bounded by the
 * limit); arrays hold all of theirs.  -1 when the kind cannot be counted.
 */
long long mg_bpfmap_entries(int fd, const struct bpf_map_info *info);
/*
 * Every map pinned as dir/mg_* in name order (pinned links and programs
 * are skipped): fn is called for each; its non-zero return stops the walk
 * and is returned.  -errno when dir cannot be read; a pin that cannot be
 * opened is reported through fn with fd -1 and errno set.
 */
int mg_bpfmap_each(const char *dir,
		   int (*fn)(const struct mg_bpfmap *m, int fd, void *arg),
		   void *arg);

#endif
