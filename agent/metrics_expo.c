// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Prometheus exposition (text format 0.0.4): the datapath's counters,
 * map occupancy, flows and per-service counters read from the pinned maps,
 * and the agent's part read from its listings.  Names follow the
 * Prometheus conventions: meshgate_ prefix, counters end in _total, base
 * units (bytes, seconds).  Only syscalls and the arguments: the metrics
 * thread calls it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "metrics.h"
#include "metrics_int.h"
#include "meshgate/abi.h"
#include "meshgate/reasons.h"
#include "lib/bpfmaps.h"
#include "lib/reasons.h"

#define FLOWS_WALK_MAX	65536	/* flow entries counted per scrape, at most */
#define FLOW_LABELS_MAX	256	/* services or backends, each, per scrape */
#define MEMLOCK_CACHE	128	/* maps whose memlock is remembered */
#define MEMLOCK_TTL_NS	10000000000ull	/* ... for 10 s */

/* --- reasons --------------------------------------------------------------- */

static const char *const reason_names[] = {
#define X(e, name, class, desc) [MG_##e] = name,
	MG_REASON_TABLE(X)
#undef X
};

/* The class column of the reasons table: what an operator alerts on. */
const char *mg_metrics_reason_class(unsigned int reason)
{
	if (reason >= MG_REASON_MAX)
		return "error";
	return mg_reason_class_name(mg_reason_class(reason));
}

static void build_info(FILE *f)
{
	head(f, "meshgate_build_info", "gauge",
	     "Version and commit of the running meshgate (always 1).");
	fprintf(f, "meshgate_build_info{version=\"");
	label(f, MG_VERSION);
	fprintf(f, "\",commit=\"");
	label(f, MG_COMMIT);
	fprintf(f, "\"} 1\n");
}

static int reasons(FILE *f, const char *pin_dir)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	unsigned long long pk[MG_REASON_MAX], by[MG_REASON_MAX];
	char path[PATH_MAX + 16];
	struct mg_stat *per;

	if (ncpu <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/mg_stats", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	per = calloc(ncpu, sizeof(*per));
	if (!per) {
		close(fd);
		return -ENOMEM;
	}
	for (__u32 r = 0; r < MG_REASON_MAX && !err; r++) {
		pk[r] = by[r] = 0;
		if (bpf_map_lookup_elem(fd, &r, per)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++) {
			pk[r] += per[c].packets;
			by[r] += per[c].bytes;
		}
	}
	free(per);
	close(fd);
	if (err)
		return err;
	head(f, "meshgate_packets_total", "counter",
	     "Packets the datapath handled, by outcome (reason) and its class (forward, drop, error).");
	for (int r = 0; r < MG_REASON_MAX; r++)
		fprintf(f, "meshgate_packets_total{reason=\"%s\",class=\"%s\"} %llu\n",
			reason_names[r], mg_metrics_reason_class(r), pk[r]);
	head(f, "meshgate_bytes_total", "counter",
	     "Bytes of the packets the datapath handled, by outcome (reason) and its class.");
	for (int r = 0; r < MG_REASON_MAX; r++)
		fprintf(f, "meshgate_bytes_total{reason=\"%s\",class=\"%s\"} %llu\n",
			reason_names[r], mg_metrics_reason_class(r), by[r]);
	return 0;
}

/* --- map occupancy ------------------------------------------------------------ */

#define COUNT_BATCH	4096	/* entries per bpf_map_lookup_batch() */

static const struct mg_metrics_known *known_of(const struct mg_metrics_known *k,
					       int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (k[i].entries >= 0 && !strcmp(k[i].map, name))
			return &k[i];
	return NULL;
}

/*
 * A hash map's entries by bpf_map_lookup_batch(): one syscall per
 * COUNT_BATCH entries where get_next_key takes one per entry.  -1 when the
 * map (or the kernel) has no batch operations: the caller walks its keys.
 */
static long long count_batch(int fd, const struct bpf_map_info *info)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t vsz = info->value_size;
	__u64 in_b = 0, out_b = 0;
	void *keys, *vals;
	long long n = 0;
	bool first = true;
	int err;

	switch (info->type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		if (ncpu <= 0)
			return -1;
		vsz = ((vsz + 7) & ~(size_t)7) * ncpu;
		break;
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
		break;
	default:
		return -1;
	}
	/* The batch cursor of a hash map is a bucket number (a __u32). */
	keys = calloc(COUNT_BATCH, info->key_size ? info->key_size : 1);
	vals = calloc(COUNT_BATCH, vsz ? vsz : 1);
	if (!keys || !vals) {
		n = -1;
		goto out;
	}
	/* Bounded: a map being written may grow behind the cursor. */
	for (;;) {
		__u32 count = COUNT_BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_b, &out_b,
					   keys, vals, &count, NULL);
		if (err && errno != ENOENT) {
			n = -1;		/* EINVAL, ENOTSUPP: no batch ops here */
			break;
		}
		n += count;
		if (err || n > info->max_entries)
			break;
		in_b = out_b;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return n;
}

/*
 * A map's memlock from its fdinfo costs four syscalls (open, stat, read,
 * close) per map and scrape; on 6.1 it is fixed when the map is made (its
 * footprint), on later kernels it follows the map's use.  Remembered per
 * map id for MEMLOCK_TTL_NS: a scrape costs one syscall per map less than
 * five.  Under a lock: the bench and tests may render from several threads.
 */
static struct {
	__u32 id;
	unsigned long long memlock, at;
} memlock_cache[MEMLOCK_CACHE];
static pthread_mutex_t memlock_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned long long mono_ns(void);

static unsigned long long memlock_of(int fd, __u32 id)
{
	unsigned long long now = mono_ns(), v;
	int slot = id % MEMLOCK_CACHE;

	pthread_mutex_lock(&memlock_lock);
	if (memlock_cache[slot].id == id &&
	    now - memlock_cache[slot].at < MEMLOCK_TTL_NS) {
		v = memlock_cache[slot].memlock;
		pthread_mutex_unlock(&memlock_lock);
		return v;
	}
	pthread_mutex_unlock(&memlock_lock);
	v = mg_bpfmap_memlock(fd);
	pthread_mutex_lock(&memlock_lock);
	memlock_cache[slot].id = id;
	memlock_cache[slot].memlock = v;
	memlock_cache[slot].at = now;
	pthread_mutex_unlock(&memlock_lock);
	return v;
}

struct map_row {
	char name[256];
	struct bpf_map_info info;
	long long entries;
	unsigned long long memlock;
};

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int keep_maps(const struct dirent *d)
{
	return !strncmp(d->d_name, "mg_", 3);
}

/*
 * Every pinned map once: its limit and memory from its info, its entries
 * from what the agent knows, else counted (batches on a hash map, a key
 * walk on an LPM trie: the cost of a scrape).
 */
static void maps(FILE *f, const char *pin_dir,
		 const struct mg_metrics_known *known, int n_known)
{
	struct dirent **ents;
	struct map_row *rows;
	int n, nr = 0;

	n = scandir(pin_dir, &ents, keep_maps, by_name);
	if (n < 0)
		return;
	rows = calloc(n ? n : 1, sizeof(*rows));
	for (int i = 0; i < n; i++) {
		struct map_row *r = rows ? &rows[nr] : NULL;
		const struct mg_metrics_known *k;
		__u32 len = sizeof(r->info);
		char path[PATH_MAX + 256];
		int fd;

		if (!r)
			goto next;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, ents[i]->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			goto next;
		if (bpf_obj_get_info_by_fd(fd, &r->info, &len)) {
			close(fd);	/* a pinned link or program */
			goto next;
		}
		snprintf(r->name, sizeof(r->name), "%s", ents[i]->d_name);
		k = known_of(known, n_known, r->name);
		if (k)
			r->entries = k->entries;
		else if ((r->entries = count_batch(fd, &r->info)) < 0)
			r->entries = mg_bpfmap_entries(fd, &r->info);
		r->memlock = memlock_of(fd, r->info.id);
		close(fd);
		nr++;
next:
		free(ents[i]);
	}
	free(ents);
	if (!rows)
		return;
	head(f, "meshgate_map_entries", "gauge",
	     "Entries in use in a pinned BPF map (arrays: all of them).");
	for (int i = 0; i < nr; i++)
		if (rows[i].entries >= 0)
			fprintf(f, "meshgate_map_entries{map=\"%s\"} %lld\n",
				rows[i].name, rows[i].entries);
	head(f, "meshgate_map_max_entries", "gauge",
	     "The limit of a pinned BPF map (max_entries).");
	for (int i = 0; i < nr; i++)
		fprintf(f, "meshgate_map_max_entries{map=\"%s\"} %u\n",
			rows[i].name, rows[i].info.max_entries);
	head(f, "meshgate_map_memory_bytes", "gauge",
	     "Memory the kernel charges for a pinned BPF map (memlock).");
	for (int i = 0; i < nr; i++)
		fprintf(f, "meshgate_map_memory_bytes{map=\"%s\"} %llu\n",
			rows[i].name, rows[i].memlock);
	free(rows);
}

/* --- flows ------------------------------------------------------------------ */

/* A service (its VIP:port/proto) or a backend (its slot), per family. */
struct flow_count {
	__u8 family;			/* AF_INET, AF_INET6 */
	__u8 proto;
	__u16 port;			/* network order */
	__u32 addr[4];			/* services: the VIP */
	__u32 slot;			/* backends */
	unsigned long long n;
};

struct flow_table {
	struct flow_count c[FLOW_LABELS_MAX];
	int n;
};

static void flow_add(struct flow_table *t, const struct flow_count *k)
{
	for (int i = 0; i < t->n; i++) {
		struct flow_count *c = &t->c[i];

		if (c->family == k->family && c->proto == k->proto &&
		    c->port == k->port && c->slot == k->slot &&
		    !memcmp(c->addr, k->addr, sizeof(c->addr))) {
			c->n++;
			return;
		}
	}
	if (t->n < FLOW_LABELS_MAX) {
		t->c[t->n] = *k;
		t->c[t->n++].n = 1;
	}
}

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

/*
 * Live flows of one family's table (entries not yet expired) into svc and
 * be.  The walk is bounded: *walked counts the entries seen over both
 * families; false when the bound cut it short.
 */
static bool flows_walk(const char *pin_dir, bool v6, unsigned long long now,
		       struct flow_table *svc, struct flow_table *be,
		       long *walked)
{
	union { struct mg_ct4_key k4; struct mg_ct6_key k6; } key, next;
	union { struct mg_ct4_val v4; struct mg_ct6_val v6; } val;
	int fd = open_pin(pin_dir, v6 ? "mg_ct6_v2" : "mg_ct4_v2");
	bool more, whole = true;

	if (fd < 0)
		return true;
	more = !bpf_map_get_next_key(fd, NULL, &next);
	while (more) {
		struct flow_count c = { .family = v6 ? AF_INET6 : AF_INET };
		__u64 expires;

		if (++*walked > FLOWS_WALK_MAX) {
			whole = false;
			break;
		}
		key = next;
		more = !bpf_map_get_next_key(fd, &key, &next);
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		expires = v6 ? val.v6.expires : val.v4.expires;
		if (expires < now)
			continue;
		if (v6) {
			memcpy(c.addr, key.k6.daddr, 16);
			c.port = key.k6.dport;
			c.proto = key.k6.proto;
		} else {
			c.addr[0] = key.k4.daddr;
			c.port = key.k4.dport;
			c.proto = key.k4.proto;
		}
		flow_add(svc, &c);
		memset(&c, 0, sizeof(c));
		c.family = v6 ? AF_INET6 : AF_INET;
		c.slot = v6 ? val.v6.backend : val.v4.backend;
		flow_add(be, &c);
	}
	close(fd);
	return whole;
}

/* A backend slot's address:port, from mg_lbbe or mg_lbbe6. */
static void backend_name(int fd4, int fd6, const struct flow_count *c,
			 char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (c->family == AF_INET6) {
		struct mg_lb_backend6 b;

		if (fd6 >= 0 && !bpf_map_lookup_elem(fd6, &c->slot, &b)) {
			inet_ntop(AF_INET6, b.addr, a, sizeof(a));
			port = ntohs(b.port);
		}
		snprintf(buf, len, "[%s]:%u", a, port);
		return;
	}
	{
		struct mg_lb_backend b;

		if (fd4 >= 0 && !bpf_map_lookup_elem(fd4, &c->slot, &b)) {
			inet_ntop(AF_INET, &b.addr, a, sizeof(a));
			port = ntohs(b.port);
		}
		snprintf(buf, len, "%s:%u", a, port);
	}
}

/* Live service flows (mg_ct4_v2, mg_ct6_v2) by service and by backend. */
static void flows(FILE *f, const char *pin_dir)
{
	struct flow_table *svc, *be;
	struct timespec ts;
	unsigned long long now;
	long walked = 0;
	bool whole;
	int fd4, fd6;

	svc = calloc(1, sizeof(*svc));
	be = calloc(1, sizeof(*be));
	if (!svc || !be)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	whole = flows_walk(pin_dir, false, now, svc, be, &walked);
	whole = flows_walk(pin_dir, true, now, svc, be, &walked) && whole;
	head(f, "meshgate_service_flows", "gauge",
	     "Live flows tracked to a service, by VIP:port/proto.");
	for (int i = 0; i < svc->n; i++) {
		const struct flow_count *c = &svc->c[i];
		char a[INET6_ADDRSTRLEN];

		inet_ntop(c->family, c->addr, a, sizeof(a));
		fprintf(f, "meshgate_service_flows{service=\"%s%s%s:%u/%s\"} %llu\n",
			c->family == AF_INET6 ? "[" : "", a,
			c->family == AF_INET6 ? "]" : "", ntohs(c->port),
			c->proto == IPPROTO_UDP ? "udp" : "tcp", c->n);
	}
	head(f, "meshgate_backend_flows", "gauge",
	     "Live flows tracked to a service backend, by address:port.");
	fd4 = open_pin(pin_dir, "mg_lbbe");
	fd6 = open_pin(pin_dir, "mg_lbbe6");
	for (int i = 0; i < be->n; i++) {
		char name[INET6_ADDRSTRLEN + 16];

		backend_name(fd4, fd6, &be->c[i], name, sizeof(name));
		fprintf(f, "meshgate_backend_flows{slot=\"%u\",backend=\"%s\"} %llu\n",
			be->c[i].slot, name, be->c[i].n);
	}
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	head(f, "meshgate_flows_partial", "gauge",
	     "1 when the flow tables were larger than one scrape counts.");
	fprintf(f, "meshgate_flows_partial %d\n", !whole);
out:
	free(svc);
	free(be);
}

/* --- per service and backend counters (mg_lbstats) ------------------------ */


/*
 * Entries [from, MG_LBSTATS_ENTRIES) of mg_lbstats summed over CPUs into
 * sum, by bpf_map_lookup_batch() (a per-CPU array has it since 5.6): one
 * syscall per batch where a lookup per entry costs 4352 of them.  Returns
 * the first entry not read (MG_LBSTATS_ENTRIES when all were).
 */
static __u32 lbstats_batch(int fd, int ncpu, struct mg_stat *sum)
{
	enum { BATCH = 512 };
	__u32 keys[BATCH], in_b = 0, out_b = 0, done = 0;
	struct mg_stat *per = calloc((size_t)BATCH * ncpu, sizeof(*per));
	bool first = true;

	_Static_assert(sizeof(struct mg_stat) % 8 == 0,
		       "per-CPU values are 8-byte aligned");
	if (!per)
		return 0;
	while (done < MG_LBSTATS_ENTRIES) {
		__u32 count = BATCH;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in_b, &out_b,
					       keys, per, &count, NULL);

		if (err && errno != ENOENT)
			break;
		for (__u32 i = 0; i < count; i++) {
			if (keys[i] >= MG_LBSTATS_ENTRIES)
				continue;
			for (int c = 0; c < ncpu; c++) {
				sum[keys[i]].packets += per[i * ncpu + c].packets;
				sum[keys[i]].bytes += per[i * ncpu + c].bytes;
			}
		}
		done += count;
		if (err || !count)
			break;
		in_b = out_b;
		first = false;
	}
	free(per);
	return done;
}

/* Every entry of mg_lbstats summed over CPUs; NULL when it is not there. */
static struct mg_stat *lbstats_read(const char *pin_dir)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	struct mg_stat *sum = NULL, *per = NULL;
	__u32 from;

	fd = open_pin(pin_dir, "mg_lbstats");
	if (fd < 0 || ncpu <= 0)
		goto out;
	sum = calloc(MG_LBSTATS_ENTRIES, sizeof(*sum));
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!sum || !per)
		goto fail;
	from = lbstats_batch(fd, ncpu, sum);
	if (from < MG_LBSTATS_ENTRIES) {
		/* No batch operations: one lookup per entry, from scratch. */
		memset(sum, 0, MG_LBSTATS_ENTRIES * sizeof(*sum));
		from = 0;
	}
	for (__u32 k = from; k < MG_LBSTATS_ENTRIES; k++) {
		if (bpf_map_lookup_elem(fd, &k, per))
			goto fail;
		for (int c = 0; c < ncpu; c++) {
			sum[k].packets += per[c].packets;
			sum[k].bytes += per[c].bytes;
		}
	}
	goto out;
fail:
	free(sum);
	sum = NULL;
out:
	free(per);
	if (fd >= 0)
		close(fd);
	return sum;
}

/* A service id's name, "VIP:port/proto", from mg_svc and mg_svc6. */
struct svc_names {
	char name[MG_LB_MAX_SERVICES][INET6_ADDRSTRLEN + 16];
};

/*
 * Up to max entries of a hash map, by bpf_map_lookup_batch() (one syscall
 * where a key walk takes two per entry): how many, or -1 when the map has
 * no batch operations (the caller walks its keys).
 */
static int batch_read(int fd, void *keys, size_t ksz, void *vals, size_t vsz,
		      __u32 max)
{
	__u32 in_b = 0, out_b = 0, n = 0;
	bool first = true;

	while (n < max) {
		__u32 count = max - n;
		int err = bpf_map_lookup_batch(fd, first ? NULL : &in_b, &out_b,
					       (char *)keys + n * ksz,
					       (char *)vals + n * vsz, &count,
					       NULL);

		if (err && errno != ENOENT)
			return first ? -1 : (int)n;
		n += count;
		if (err)
			break;
		in_b = out_b;
		first = false;
	}
	return n;
}

/* A map's keys and values by a key walk, when it has no batch operations. */
static int walk_read(int fd, void *keys, size_t ksz, void *vals, size_t vsz,
		     __u32 max)
{
	char cur[64], next[64];
	bool more = !bpf_map_get_next_key(fd, NULL, next);
	__u32 n = 0;

	if (ksz > sizeof(cur))
		return 0;
	for (__u32 steps = 0; more && n < max && steps < 4 * max; steps++) {
		memcpy(cur, next, ksz);
		more = !bpf_map_get_next_key(fd, cur, next);
		if (bpf_map_lookup_elem(fd, cur, (char *)vals + n * vsz))
			continue;
		memcpy((char *)keys + n * ksz, cur, ksz);
		n++;
	}
	return n;
}

#define SVC_KEYS_MAX	(4 * MG_LB_MAX_SERVICES)

static void svc_names_read(const char *pin_dir, struct svc_names *sn)
{
	size_t ksz[2] = { sizeof(struct mg_svc_key),
			  sizeof(struct mg_svc6_key) };
	struct mg_svc_val *vals = calloc(SVC_KEYS_MAX, sizeof(*vals));
	void *keys = calloc(SVC_KEYS_MAX, sizeof(struct mg_svc6_key));

	for (int v6 = 0; v6 < 2 && keys && vals; v6++) {
		int fd = open_pin(pin_dir, v6 ? "mg_svc6" : "mg_svc");
		int n;

		if (fd < 0)
			continue;
		n = batch_read(fd, keys, ksz[v6], vals, sizeof(*vals),
			       SVC_KEYS_MAX);
		if (n < 0)
			n = walk_read(fd, keys, ksz[v6], vals, sizeof(*vals),
				      SVC_KEYS_MAX);
		close(fd);
		for (int i = 0; i < n; i++) {
			const void *k = (const char *)keys + i * ksz[v6];
			const struct mg_svc_key *k4 = k;
			const struct mg_svc6_key *k6 = k;
			char a[INET6_ADDRSTRLEN];
			__u16 port = v6 ? k6->port : k4->port;
			__u8 proto = v6 ? k6->proto : k4->proto;

			if (vals[i].id >= MG_LB_MAX_SERVICES || !port)
				continue;	/* port 0: "a VIP", no service */
			inet_ntop(v6 ? AF_INET6 : AF_INET,
				  v6 ? (const void *)k6->vip :
				       (const void *)&k4->vip,
				  a, sizeof(a));
			snprintf(sn->name[vals[i].id], sizeof(sn->name[0]),
				 "%s%s%s:%u/%s", v6 ? "[" : "", a, v6 ? "]" : "",
				 ntohs(port), proto == IPPROTO_UDP ? "udp" : "tcp");
		}
	}
	free(keys);
	free(vals);
}

static void lbstats(FILE *f, const char *pin_dir)
{
	struct mg_stat *st = lbstats_read(pin_dir);
	struct svc_names *sn;
	int fd4, fd6;

	if (!st)
		return;
	sn = calloc(1, sizeof(*sn));
	if (!sn) {
		free(st);
		return;
	}
	svc_names_read(pin_dir, sn);
	for (int b = 0; b < 2; b++) {
		head(f, b ? "meshgate_service_bytes_total" :
			    "meshgate_service_packets_total", "counter",
		     b ? "Bytes of client packets sent to a service's backends." :
			 "Client packets sent to a service's backends (DNATed).");
		for (int i = 0; i < MG_LB_MAX_SERVICES; i++)
			if (sn->name[i][0])
				fprintf(f, "%s{service=\"%s\"} %llu\n",
					b ? "meshgate_service_bytes_total" :
					    "meshgate_service_packets_total",
					sn->name[i], b ? (unsigned long long)st[i].bytes :
					(unsigned long long)st[i].packets);
	}
	fd4 = open_pin(pin_dir, "mg_lbbe");
	fd6 = open_pin(pin_dir, "mg_lbbe6");
	for (int b = 0; b < 2; b++) {
		head(f, b ? "meshgate_backend_bytes_total" :
			    "meshgate_backend_packets_total", "counter",
		     b ? "Bytes of client packets sent to a backend slot." :
			 "Client packets sent to a backend slot (a slot re-used for another backend goes on counting).");
		for (__u32 i = 0; i < MG_LB_MAX_BACKENDS; i++) {
			const struct mg_stat *s = &st[MG_LBSTATS_BACKEND(i)];
			struct mg_lb_backend b4 = { 0 };
			struct flow_count c = { .family = AF_INET, .slot = i };
			char name[INET6_ADDRSTRLEN + 16];

			if (!s->packets)
				continue;
			if (fd4 < 0 || bpf_map_lookup_elem(fd4, &i, &b4) ||
			    !b4.addr)
				c.family = AF_INET6;
			backend_name(fd4, fd6, &c, name, sizeof(name));
			fprintf(f, "%s{slot=\"%u\",backend=\"%s\"} %llu\n",
				b ? "meshgate_backend_bytes_total" :
				    "meshgate_backend_packets_total", i, name,
				b ? (unsigned long long)s->bytes :
				    (unsigned long long)s->packets);
		}
	}
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	free(sn);
	free(st);
}

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int mg_metrics_render(FILE *f, const char *pin_dir, const char *snapshot,
		      const struct mg_metrics_known *known, int n_known,
		      struct mg_metrics_times *times)
{
	struct mg_metrics_times t = { 0 };
	unsigned long long t0 = mono_ns(), t1;
	int err;

	build_info(f);
	err = reasons(f, pin_dir);
	t1 = mono_ns();
	t.reasons = t1 - t0;
	maps(f, pin_dir, known, n_known);
	t.maps = mono_ns() - t1;
	t1 += t.maps;
	flows(f, pin_dir);
	t.flows = mono_ns() - t1;
	t1 += t.flows;
	lbstats(f, pin_dir);
	t.lbstats = mono_ns() - t1;
	if (snapshot)
		fputs(snapshot, f);
	t.total = mono_ns() - t0;
	if (times)
		*times = t;
	return err;
}
