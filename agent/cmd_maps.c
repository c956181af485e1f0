// SPDX-License-Identifier: GPL-2.0-only
/*
 * `meshgate bpf maps`: every map pinned in the pin directory with its
 * type, entries in use, limit and the memory the kernel charges for it
 * (its fdinfo's memlock, as bpftool shows bytes_memlock).  The sizes come
 * from the configuration's [limits] (agent/maplimits.h); the reading is
 * lib/bpfmaps.c's, which the metrics and `doctor` share.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "lib/bpfmaps.h"
#include "lib/out.h"

struct maps_walk {
	const struct mg_cli *cli;
	unsigned long long total;
	int rc;
};

static int print_map(const struct mg_bpfmap *m, int fd, void *arg)
{
	struct maps_walk *w = arg;
	char pct[24] = "-";

	if (fd < 0) {
		fprintf(stderr, "meshgate: cannot open %s/%s: %s\n",
			w->cli->pin_dir, m->name, strerror(errno));
		w->rc = 1;
		return 0;
	}
	w->total += m->memlock;
	if (m->entries >= 0 && m->info.max_entries)
		snprintf(pct, sizeof(pct), "%lld%%",
			 m->entries * 100 / m->info.max_entries);
	out_obj_open(NULL);
	out_str("map", "%-12s", m->name);
	out_str("type", " %-16s",
		libbpf_bpf_map_type_str(m->info.type) ?: "?");
	if (m->entries >= 0)
		out_s64("entries", " %10lld", m->entries);
	else
		out_text(" %10s", "-");
	out_u64("max_entries", " %10llu", m->info.max_entries);
	out_text(" %6s", pct);
	out_u64("bytes_memlock", " %12llu\n", m->memlock);
	out_obj_close();
	return 0;
}

int cmd_bpf_maps(struct mg_cli *cli)
{
	struct maps_walk w = { .cli = cli };
	int err;

	out_arr_open("maps");
	out_text("%-12s %-16s %10s %10s %6s %12s\n", "map", "type", "entries",
		 "limit", "use", "memory");
	err = mg_bpfmap_each(cli->pin_dir, print_map, &w);
	if (err < 0) {
		fprintf(stderr, "meshgate: cannot read %s: %s%s\n", cli->pin_dir,
			strerror(-err), err == -ENOENT ?
			" (is the agent set up? try -p DIR or -c FILE)" : "");
		return 1;
	}
	out_arr_close();
	out_text("%-12s %-16s %10s %10s %6s %12llu (%.1f MiB)\n", "total", "",
		 "", "", "", w.total, w.total / 1048576.0);
	out_finish();
	return w.rc;
}
