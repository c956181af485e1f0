// SPDX-License-Identifier: GPL-2.0-only
/*
 * `meshgate bpf maps`: every map pinned in the pin directory with its
 * type, entries in use, limit and the memory the kernel charges for it
 * (its fdinfo's memlock, as bpftool shows bytes_memlock).  The sizes come
 * from the configuration's [limits] (agent/maplimits.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "lib/out.h"

/* The kernel's charge for the map behind fd, in bytes; 0 unknown. */
static unsigned long long memlock_of(int fd)
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

/*
 * Entries in use: keys walked for hash and trie maps; arrays hold all of
 * theirs.  The walk is bounded by the limit (a map being written may add
 * keys behind it).  Returns -1 when the kind cannot be counted.
 */
static long long entries_of(int fd, const struct bpf_map_info *info)
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

int cmd_bpf_maps(struct mg_cli *cli)
{
	unsigned long long total = 0;
	struct dirent **ents;
	int n, rc = 0;

	n = scandir(cli->pin_dir, &ents, keep_maps, by_name);
	if (n < 0) {
		fprintf(stderr, "meshgate: cannot read %s: %s%s\n", cli->pin_dir,
			strerror(errno), errno == ENOENT ?
			" (is the agent set up? try -p DIR or -c FILE)" : "");
		return 1;
	}
	out_arr_open("maps");
	out_text("%-12s %-16s %10s %10s %6s %12s\n", "map", "type", "entries",
		 "limit", "use", "memory");
	for (int i = 0; i < n; i++) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		unsigned long long mem;
		char pct[16] = "-";
		long long used;
		int fd;

		fd = mg_cli_open_map(cli, ents[i]->d_name);
		if (fd < 0) {
			rc = 1;
			continue;
		}
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);	/* a pinned link or program: not a map */
			continue;
		}
		used = entries_of(fd, &info);
		mem = memlock_of(fd);
		total += mem;
		if (used >= 0 && info.max_entries)
			snprintf(pct, sizeof(pct), "%lld%%",
				 used * 100 / info.max_entries);
		out_obj_open(NULL);
		out_str("map", "%-12s", ents[i]->d_name);
		out_str("type", " %-16s",
			libbpf_bpf_map_type_str(info.type) ?: "?");
		if (used >= 0)
			out_s64("entries", " %10lld", used);
		else
			out_text(" %10s", "-");
		out_u64("max_entries", " %10llu", info.max_entries);
		out_text(" %6s", pct);
		out_u64("bytes_memlock", " %12llu\n", mem);
		out_obj_close();
		close(fd);
	}
	out_arr_close();
	out_text("%-12s %-16s %10s %10s %6s %12llu (%.1f MiB)\n", "total", "",
		 "", "", "", total, total / 1048576.0);
	out_finish();
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}
