/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Global services: their insides, shared by the files of agent/services/
 * and cmd_services.c.  Callers outside use services.h.
 *
 *   services/model.c    a service's life: health probes, start, replace
 *   services/args.c     a service's arguments (CLI and state_dir/services)
 *   services/persist.c  state_dir/services saved and loaded
 *   services/outlier.c  outlier ejection (outlier.h), published and applied
 *   services/wire.c     our backends in the replicated state, theirs learned
 *   services/tables.c   the Maglev tables, slots, traffic controls, the sync
 *   cmd_services.c      `meshgate services`
 */
#ifndef MG_SVC_INT_H
#define MG_SVC_INT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <meshgate/abi.h>
#include "cli.h"
#include "state/state.h"
#include "health.h"
#include "maglev.h"
#include "outlier.h"
#include "services.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"
#include "lib/persist.h"

_Static_assert(MG_LB_RING_SIZE == MG_MAGLEV_SIZE_SMALL,
	       "the datapath's table size is the agent's Maglev size");
_Static_assert(MG_CFG_MAX_SERVICES <= MG_LB_MAX_SERVICES,
	       "service ids index mg_lbring");

#define SVC_MAX_BE 256 /* backends of one service, all clusters */
/*
 * After a restart over pinned maps: how long the maps keep the previous
 * run's tables while gossip brings the other clusters' backends back and
 * the probes run (lan failover is under 3 s).
 */
#define SVC_SETTLE_MS 3000
#define SVC_WIRE_V 1
#define SVC_WIRE_HDR 7 /* version, health, weight, affinity, min_local */
#define SVC_NAME_WIRE (MG_STATE_VAL_MAX - SVC_WIRE_HDR)
/* An ejection record (MG_STATE_EJECT): version, until (u64 ms, unix). */
#define SVC_VT_EJECT 17
#define SVC_EJECT_V 1
#define SVC_EJECT_LEN 9

static const char *const affinity_names[] = { [MG_AFFINITY_ANY] = "any",
					      [MG_AFFINITY_LOCAL] = "local",
					      [MG_AFFINITY_REMOTE] = "remote",
					      NULL };

/* One of this cluster's backends: probed here. */
struct lbe {
	struct mg_cfg_backend b;
	struct mg_health h;
	int fd; /* probe in flight, else -1 */
	struct mg_loop_src *src;
	uint64_t deadline_ms;
	struct svc *svc;
};

/* A backend as the last sync saw it, any cluster. */
struct sbe {
	struct mg_addr addr;
	__u16 port, weight;
	__u8 cluster_id;
	bool local;
	enum mg_health_state state;
	bool live; /* UP and its cluster reachable */
	bool in_use; /* in the Maglev table */
	bool ejected; /* by outlier detection, ours or gossiped */
	uint64_t eject_until; /* then until (unix ms) */
	__u32 slot;
	char origin[MG_STATE_NAME_MAX + 1];
};

enum svc_source { SRC_CONFIG, SRC_CLI, SRC_GOSSIP };

struct svc {
	bool used;
	enum svc_source source;
	bool seen; /* gossip-learned: still advertised */
	struct mg_cfg_service c;
	struct mg_health_cfg hc;
	struct lbe local[MG_CFG_MAX_BACKENDS];
	struct mg_loop_src *timer;
	struct mg_services *s;
	struct sbe be[SVC_MAX_BE];
	int n_be;
	__u64 sig; /* of the table last written */
	bool written;
};

/*
 * A backend slot: in mg_lbbe or mg_lbbe6 by its service's family (one
 * numbering for both, as the Maglev tables of both share mg_lbring).
 */
struct slot {
	bool used, seen;
	__u32 gen;
	struct mg_addr vip, addr; /* of one family */
	__u16 vport, port; /* host order */
	__u8 proto, cluster_id;
	bool live, local;
	struct mg_outlier_be ol; /* this gateway's outlier detection */
	uint64_t ol_until_wall; /* its ejection's end (unix ms) */
};

struct mg_services {
	struct mg_loop *loop;
	const struct mg_config *cfg;
	void (*changed)(void *arg);
	void *arg;
	struct svc svc[MG_CFG_MAX_SERVICES];
	struct slot slots[MG_LB_MAX_BACKENDS];
	struct mg_services_maps maps; /* of the last sync */
	/*
	 * Next slot generation: above every one in mg_lbbe when we started,
	 * so that a flow tracked by an earlier run never takes a re-used
	 * slot for its backend (it is re-hashed instead).
	 */
	__u32 gen_next;
	char path[PATH_MAX + 16]; /* state_dir/services */
	uint64_t hold_until_ms; /* restarted: tables untouched until */
	struct mg_loop_src *hold_timer;
	struct mg_loop_src *outlier_timer;
};

static inline __u8 svc_ipproto(const struct mg_cfg_service *c)
{
	return c->proto == MG_SVC_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

static inline const char *proto_name(__u8 p)
{
	return p == IPPROTO_UDP ? "udp" : "tcp";
}

void svc_stop(struct svc *v);
int svc_start(struct mg_services *s, const struct mg_cfg_service *c,
	      enum svc_source source);
int svc_replace(struct mg_services *s, struct svc *v,
		const struct mg_cfg_service *c);
struct svc *svc_find(struct mg_services *s, const char *name);
struct svc *svc_find_vip(struct mg_services *s, const struct mg_addr *vip,
			 __u16 port, __u8 proto);
void svc_cli_line(FILE *f, const struct mg_cfg_service *c);
int svc_cli_save(struct mg_services *s, const struct svc *skip);
void svc_cli_load(struct mg_services *s);
void svc_on_outlier_tick(struct mg_loop_src *src, uint32_t ev, void *arg);
uint64_t svc_eject_until(const struct mg_state_val *val);
void svc_outlier_publish(struct mg_services *s, struct mg_state *st);
void svc_outlier_apply(struct mg_services *s, struct svc *v,
		       struct mg_state *st);
void svc_publish(struct mg_services *s, struct mg_state *st);
void svc_learn(struct mg_services *s, struct mg_state *st);
struct slot *svc_slot_get(struct mg_services *s, const struct svc *v,
			  const struct sbe *b, __u32 *idx);

/* FNV-1a of what a service's table holds (tables.c; tests). */
__u64 svc_table_sig(const struct svc *v);

#endif
