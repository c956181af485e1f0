// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <meshgate/abi.h>
#include "config.h"
#include "lib/log.h"
#include "maplimits.h"

void mg_limits_from_config(struct mg_map_limits *l,
			   const struct mg_config *cfg)
{
	const struct mg_cfg_limits *c = &cfg->limits;
	bool svc = cfg->n_services > 0;

	l->endpoints = c->endpoints ? c->endpoints : MG_MAX_ENDPOINTS;
	l->local_endpoints = c->local_endpoints ? c->local_endpoints :
						  MG_MAX_LOCAL_ENDPOINTS;
	l->flows = c->flows ? c->flows :
		   svc ? MG_LB_CT_ENTRIES : MG_LIMIT_FLOWS_NOSVC;
	l->pinned_flows = c->pinned_flows ? c->pinned_flows :
			  svc ? MG_LB_PIN_ENTRIES : MG_LIMIT_PINS_NOSVC;
}

/* The maps [limits] sizes, and which figure sizes each. */
static const struct {
	const char *name;
	size_t off;
	const char *key;
} sized[] = {
	{ "mg_ep4", offsetof(struct mg_map_limits, endpoints), "endpoints" },
	{ "mg_ep6", offsetof(struct mg_map_limits, endpoints), "endpoints" },
	{ "mg_local4", offsetof(struct mg_map_limits, local_endpoints),
	  "local_endpoints" },
	{ "mg_local6", offsetof(struct mg_map_limits, local_endpoints),
	  "local_endpoints" },
	{ "mg_ct4_v2", offsetof(struct mg_map_limits, flows), "flows" },
	{ "mg_rnat4", offsetof(struct mg_map_limits, flows), "flows" },
	{ "mg_ct6_v2", offsetof(struct mg_map_limits, flows), "flows" },
	{ "mg_rnat6", offsetof(struct mg_map_limits, flows), "flows" },
	{ "mg_pin", offsetof(struct mg_map_limits, pinned_flows),
	  "pinned_flows" },
};

/* max_entries of the map pinned as pin_dir/name; 0 when none is. */
static __u32 pinned_size(const char *pin_dir, const char *name)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (!pin_dir ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", pin_dir, name) >=
		    sizeof(path))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

/*
 * Maps being resized by this start: the old one, unpinned but held open
 * here (and by the program still attached), until its entries are in the
 * new one (mg_limits_migrate) or it is pinned back (mg_limits_abort).
 */
static struct {
	int fd;
	char path[PATH_MAX];
	const char *name;
} old_maps[sizeof(sized) / sizeof(sized[0])];
static int n_old;

int mg_limits_apply(struct bpf_object *obj, const struct mg_map_limits *l,
		    const char *pin_dir)
{
	n_old = 0;
	for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		__u32 want = *(const __u32 *)((const char *)l + sized[i].off);
		struct bpf_map *map;
		__u32 have;
		int err;

		map = bpf_object__find_map_by_name(obj, sized[i].name);
		if (!map) {
			/* a renamed map must be renamed here too */
			pr_err("[limits] %s: the datapath has no map %s",
			       sized[i].key, sized[i].name);
			return -ENOENT;
		}
		have = pinned_size(pin_dir, sized[i].name);
		if (have && have != want) {
			/*
			 * A new map of the new size takes the pin; the old
			 * one's entries are copied into it before the new
			 * program is swapped in (what the old program adds
			 * in between, a few new flows, is not).
			 */
			int k = n_old;

			snprintf(old_maps[k].path, sizeof(old_maps[k].path),
				 "%s/%s", pin_dir, sized[i].name);
			old_maps[k].fd = bpf_obj_get(old_maps[k].path);
			if (old_maps[k].fd < 0 || unlink(old_maps[k].path)) {
				err = -errno;
				if (old_maps[k].fd >= 0)
					close(old_maps[k].fd);
				pr_err("%s: cannot set the old map aside to "
				       "resize it: %s", sized[i].name,
				       strerror(-err));
				mg_limits_abort();
				return err;
			}
			old_maps[k].name = sized[i].name;
			n_old++;
			pr_warn("%s: resized from %u to %u entries ([limits] %s); "
				"its entries are copied into the new map",
				sized[i].name, have, want, sized[i].key);
		}
		err = bpf_map__set_max_entries(map, want);
		if (err) {
			pr_err("%s: cannot size to %u entries: %s",
			       sized[i].name, want, strerror(-err));
			mg_limits_abort();
			return err;
		}
	}
	return 0;
}

/* Every entry of old into new (a smaller LRU map keeps what fits). */
static long copy_entries(int old, int new, size_t ksz, size_t vsz)
{
	void *key = calloc(2, ksz), *next, *val = calloc(1, vsz);
	long n = 0, failed = 0;
	int rc;

	if (!key || !val) {
		free(key);
		free(val);
		return -ENOMEM;
	}
	next = (char *)key + ksz;
	for (rc = bpf_map_get_next_key(old, NULL, next); !rc;
	     rc = bpf_map_get_next_key(old, key, next)) {
		memcpy(key, next, ksz);
		if (bpf_map_lookup_elem(old, key, val))
			continue;	/* gone meanwhile */
		if (bpf_map_update_elem(new, key, val, BPF_ANY))
			failed++;
		else
			n++;
	}
	free(key);
	free(val);
	return failed ? -(long)failed : n;
}

void mg_limits_migrate(struct bpf_object *obj)
{
	for (int i = 0; i < n_old; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(
			obj, old_maps[i].name);
		long n = map ? copy_entries(old_maps[i].fd, bpf_map__fd(map),
					    bpf_map__key_size(map),
					    bpf_map__value_size(map)) : 0;

		if (n < 0)
			pr_warn("%s: %ld entries did not fit the resized map",
				old_maps[i].name, -n);
		else
			pr_info("%s: %ld entries copied into the resized map",
				old_maps[i].name, n);
		close(old_maps[i].fd);
	}
	n_old = 0;
}

void mg_limits_abort(void)
{
	for (int i = 0; i < n_old; i++) {
		if (bpf_obj_pin(old_maps[i].fd, old_maps[i].path))
			pr_err("%s: cannot pin the old map back: %s",
			       old_maps[i].path, strerror(errno));
		close(old_maps[i].fd);
	}
	n_old = 0;
}

uint64_t mg_limits_estimate(const struct mg_map_limits *l, unsigned int ncpu)
{
	/*
	 * Per element: key and value rounded to 8 bytes, plus the kernel's
	 * htab_elem (~48 bytes with the LRU node) or LPM node (~40 bytes);
	 * LRU maps also keep per-CPU free lists, counted once more.
	 */
	const uint64_t htab = 48, lpm = 40;
	uint64_t b = 0;

	(void)ncpu;
	b += 2ull * l->endpoints * (lpm + 24 + sizeof(struct mg_ep_val));
	b += 2ull * l->local_endpoints * (lpm + 24 + sizeof(struct mg_ep_val));
	b += (uint64_t)l->flows *
	     (2 * htab + sizeof(struct mg_ct4_key) + sizeof(struct mg_ct4_val) +
	      sizeof(struct mg_ct4_key) + sizeof(struct mg_rnat4_val));
	b += (uint64_t)l->flows *
	     (2 * htab + sizeof(struct mg_ct6_key) + sizeof(struct mg_ct6_val) +
	      sizeof(struct mg_ct6_key) + sizeof(struct mg_rnat6_val));
	b += (uint64_t)l->pinned_flows *
	     (htab + sizeof(struct mg_pin_key) + sizeof(struct mg_pin_val));
	return b;
}

int mg_limits_check(const struct mg_config *cfg, uint64_t mem_bytes,
		    FILE *errf)
{
	unsigned long long total_kib = mem_bytes >> 10;
	struct mg_map_limits l;
	char line[128];
	uint64_t need;
	FILE *f;

	mg_limits_from_config(&l, cfg);
	need = mg_limits_estimate(&l, 0);
	f = total_kib ? NULL : fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &total_kib) == 1)
			break;
	if (f)
		fclose(f);
	if (!total_kib || need <= total_kib * 1024 / 2)
		return 0;
	fprintf(errf, "%s: warning: [limits] size maps that may take %llu MiB "
		"when full, more than half of this machine's %llu MiB\n",
		cfg->path, (unsigned long long)(need >> 20), total_kib >> 10);
	return 1;
}
