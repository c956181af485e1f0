// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/bpfmaps.h"

unsigned long long mg_bpfmap_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

long long mg_bpfmap_entries(int fd, const struct bpf_map_info *info)
{
	void *key, *next;
	long long n = 0;

	switch (info->type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return info->max_entries;
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
	case BPF_MAP_TYPE_DEVMAP_HASH:
		break;
	default:
		return -1;
	}
	key = calloc(2, info->key_size ? info->key_size : 1);
	if (!key)
		return -1;
	next = (char *)key + info->key_size;
	/* A map being written may add keys behind the walk: bounded. */
	if (!bpf_map_get_next_key(fd, NULL, next)) {
		do {
			n++;
			memcpy(key, next, info->key_size);
		} while (n <= info->max_entries &&
			 !bpf_map_get_next_key(fd, key, next));
	}
	free(key);
	return n;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int keep_maps(const struct dirent *d)
{
	return !strncmp(d->d_name, "mg_", 3);
}

int mg_bpfmap_each(const char *dir,
		   int (*fn)(const struct mg_bpfmap *m, int fd, void *arg),
		   void *arg)
{
	struct mg_bpfmap *m;
	struct dirent **ents;
	int n, rc = 0;

	n = scandir(dir, &ents, keep_maps, by_name);
	if (n < 0)
		return -errno;
	m = malloc(sizeof(*m));
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 256];
		__u32 len = sizeof(m->info);
		int fd;

		if (!m || rc)
			goto next;
		memset(m, 0, sizeof(*m));
		snprintf(m->name, sizeof(m->name), "%s", ents[i]->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			rc = fn(m, -1, arg);
			goto next;
		}
		if (bpf_obj_get_info_by_fd(fd, &m->info, &len)) {
			close(fd);	/* a pinned link or program: not a map */
			goto next;
		}
		m->entries = mg_bpfmap_entries(fd, &m->info);
		m->memlock = mg_bpfmap_memlock(fd);
		rc = fn(m, fd, arg);
		close(fd);
next:
		free(ents[i]);
	}
	free(ents);
	if (!m)
		return -ENOMEM;
	free(m);
	return rc;
}
