/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Keys and values of the pinned BPF maps: the ABI between the datapath and
 * the agent (and the CLI, which reads the maps without the agent).
 *
 * Rules: fixed-width types only, explicit padding, byte order in the comment
 * of every multi-byte field, and a size assert per struct so the BPF build
 * and the host build fail alike when a layout drifts.  A map whose layout
 * changes gets a new name (version suffix).
 */
#ifndef MESHGATE_ABI_H
#define MESHGATE_ABI_H

#include <linux/types.h>
#include "limits.h"
#include "reasons.h"

/* mg_ep4: LPM trie, endpoint prefix -> owning cluster. */
struct mg_ep4_key {
	__u32 prefixlen;	/* host order, 0..32 (LPM trie convention) */
	__u32 addr;		/* network order */
};

/* mg_ep6: LPM trie, IPv6 endpoint prefix -> owning cluster (same value). */
struct mg_ep6_key {
	__u32 prefixlen;	/* host order, 0..128 (LPM trie convention) */
	__u32 addr[4];		/* network order */
};

/* An IPv6 address as a map key (mg_peer6, mg_nh6). */
struct mg_in6 {
	__u32 addr[4];		/* network order */
};

#define MG_EP_F_LOCAL	0x01	/* owned by this gateway's own cluster */

struct mg_ep_val {
	__u8  cluster_id;	/* 1..255 */
	__u8  flags;		/* MG_EP_F_* */
	__u16 pad;
	__u32 version;		/* host order; origin's version, for the CLI */
};

/* mg_clus: hash, cluster id -> its live gateways and the flow slots. */
#define MG_AF_INET	4
#define MG_AF_INET6	6

struct mg_addr {
	__u8  family;		/* MG_AF_INET or MG_AF_INET6, 0 = unset */
	__u8  pad[3];
	__u32 addr[4];		/* network order; IPv4 in addr[0] */
};

struct mg_cluster_val {
	__u8  n_gw;		/* live gateways in gw[]; 0 = unreachable */
	__u8  pad[3];
	__u8  slot[MG_GW_SLOTS];	/* flow hash % MG_GW_SLOTS -> index in gw[] */
	struct mg_addr gw[MG_CLUSTER_GW_MAX];
};

/* mg_peer4 / mg_peer6: hash, peer tunnel address -> what it may send us. */
struct mg_peer_val {
	__u8  cluster_id;
	__u8  pad[3];
};

/*
 * mg_nh4_v2 / mg_nh6: hash, underlay destination -> resolved next hop
 * (agent-kept).  Version 2 added the path MTU (mg_nh4 had none).
 */
struct mg_nh_val {
	__u32 ifindex;		/* host order, egress interface */
	__u8  smac[6];
	__u8  dmac[6];
	__u16 mtu;		/* host order; route MTU, else the link's; 0 = unknown */
	__u16 pad;
};

/* mg_stats: per-CPU array indexed by enum mg_reason. */
struct mg_stat {
	__u64 packets;
	__u64 bytes;
};

/*
 * mg_lbstats: per-CPU array of struct mg_stat, the client packets each
 * service and each backend slot took (DNATed towards it): a service at its
 * id, a backend slot at MG_LBSTATS_BACKEND(slot).
 */
#define MG_LBSTATS_BACKEND(slot)	(MG_LB_MAX_SERVICES + (slot))
#define MG_LBSTATS_ENTRIES		(MG_LB_MAX_SERVICES + MG_LB_MAX_BACKENDS)

/*
 * Global services (DESIGN §2 path 3), IPv4.  The agent writes mg_svc,
 * mg_lbbe and one Maglev table per service (an inner array of mg_lbring,
 * replaced whole, so a packet sees the old table or the new one); the
 * datapath writes the connection tracking (mg_ct4_v2, mg_rnat4).
 */

/* mg_svc: hash, VIP:port/proto -> service.  port 0, proto 0: "a VIP". */
struct mg_svc_key {
	__u32 vip;		/* network order */
	__u16 port;		/* network order */
	__u8  proto;		/* IPPROTO_TCP or IPPROTO_UDP; 0 with port 0 */
	__u8  pad;
};

struct mg_svc_val {
	__u32 id;		/* host order; key of its table in mg_lbring */
	__u32 flags;		/* MG_SVC_F_* */
};

/*
 * on_no_backend = drop: a new flow no backend can take is dropped
 * (no_backend, overloaded) instead of answered with a TCP RST or an ICMP
 * port unreachable (datapath/rst.h).
 */
#define MG_SVC_F_NB_DROP	0x01

/*
 * mg_svctc: array, service id -> its traffic controls (datapath/ratelimit.h),
 * all host order, 0 = no limit.  The rates are each CPU's share: the agent
 * divides the service's rate and burst by the CPUs (rounding up), as each
 * CPU keeps buckets of its own (mg_rlb).
 */
struct mg_svc_tc {
	__u32 pps;		/* packets/s to the service, per CPU */
	__u32 pps_burst;	/* its bucket's size, packets */
	__u32 nf;		/* new flows/s, per CPU */
	__u32 nf_burst;		/* its bucket's size, new flows */
	__u32 max_flows;	/* per backend, the whole gateway (mg_beflows) */
	__u32 pad;
};

/*
 * mg_rlb: per-CPU array of token buckets, MG_RLB_PPS(id), MG_RLB_NF(id)
 * and MG_RLB_REPLY (the fast failures' answers).  tokens are in units of
 * 1/MG_RLB_UNIT token; last is the CLOCK_MONOTONIC ns of the last refill,
 * 0: never used (starts full).  A last in the future refills nothing:
 * a test freezes a bucket by writing it so.
 */
struct mg_rlb {
	__u64 tokens;
	__u64 last;
};

#define MG_RLB_UNIT		1000000000ULL	/* a token, in ns of rate 1/s */
#define MG_RLB_PPS(id)		(2 * (id))
#define MG_RLB_NF(id)		(2 * (id) + 1)
#define MG_RLB_REPLY		(2 * MG_LB_MAX_SERVICES)
#define MG_RLB_ENTRIES		(2 * MG_LB_MAX_SERVICES + 1)
/* The fast failures' answers per second and burst, per CPU. */
#define MG_RLB_REPLY_RATE	1000
#define MG_RLB_REPLY_BURST	100

/*
 * mg_beflows: array, backend slot -> its tracked flows (__u32, host
 * order): the datapath adds one for each new flow; the agent's sweep
 * (agent/ctgc.c) writes the true count of live, not closing, flows after
 * each whole pass over the flow table.
 */

/* mg_lbbe: array, backend slot -> backend. */
#define MG_LB_BE_F_LIVE		0x01	/* may take flows, old and new */
#define MG_LB_BE_F_LOCAL	0x02	/* in this gateway's own cluster */

struct mg_lb_backend {
	__u32 addr;		/* network order */
	__u16 port;		/* network order */
	__u8  cluster_id;	/* owning cluster */
	__u8  flags;		/* MG_LB_BE_F_* */
	__u32 gen;		/* host order; changes when the slot is re-used */
};

/*
 * mg_lbrev: hash, backend -> the service it serves, for its replies:
 * with the client's tracked flow (mg_ct4_v2) to that VIP naming this very
 * backend, a reply is the flow's.  Remote backends' replies need no
 * per-flow state of their own.
 */
struct mg_lbrev_key {
	__u32 addr;		/* network order */
	__u16 port;		/* network order */
	__u8  proto;
	__u8  pad;
};

#define MG_LB_REV_SVCS	4	/* services one backend address:port serves */

struct mg_lbrev_val {
	struct {
		__u32 vip;	/* network order; 0 = unused (and the rest) */
		__u16 vport;	/* network order */
		__u16 pad;
	} svc[MG_LB_REV_SVCS];
};

/* mg_ct4_v2 and mg_rnat4: LRU hash keyed by a flow as it is seen. */
struct mg_ct4_key {
	__u32 saddr;		/* network order */
	__u32 daddr;		/* network order */
	__u16 sport;		/* network order */
	__u16 dport;		/* network order */
	__u8  proto;
	__u8  pad[3];
};

/*
 * A tracked flow's lifetime (datapath/ct.h): TCP from the client's SYN
 * (MG_CT_OPENING) to established (the backend answered, the client went
 * on) to closing (a FIN or RST either way); UDP from its first datagram.
 * Every packet either way pushes expires on by its state's timeout; past
 * it the flow is gone (its SNAT port free), whether or not the LRU or the
 * agent's sweep (agent/ctgc.c) has removed the entry yet.
 */
#define MG_CT_OPENING		1	/* TCP: SYN seen; UDP: any datagram */
#define MG_CT_ESTABLISHED	2	/* TCP: answered, then the client's ACK */
#define MG_CT_CLOSING		3	/* TCP: a FIN or RST seen */

#define MG_CT_F_REPLIED		0x01	/* the backend has answered */

/* Seconds a flow lives past its last packet, by state. */
#define MG_CT_TCP_OPENING_S	30	/* unanswered or half-open */
#define MG_CT_TCP_ESTABLISHED_S	21600	/* 6 h: above TCP keepalive's 2 h */
#define MG_CT_TCP_CLOSING_S	10
#define MG_CT_UDP_S		30	/* no answer yet */
#define MG_CT_UDP_REPLIED_S	120

/* mg_ct4_v2: client -> VIP flow, the backend it was given.  v2: lifetime. */
struct mg_ct4_val {
	__u32 backend;		/* host order, slot in mg_lbbe */
	__u32 gen;		/* the slot's gen when chosen */
	__u32 snat_addr;	/* network order; 0: no SNAT (remote backend) */
	__u16 snat_port;	/* network order */
	__u8  state;		/* MG_CT_* */
	__u8  flags;		/* MG_CT_F_* */
	__u64 expires;		/* host order; CLOCK_MONOTONIC ns */
};

/* mg_rnat4: a local backend's reply (backend -> us after SNAT) -> the VIP. */
struct mg_rnat4_val {
	__u32 vip;		/* network order, the reply's source */
	__u32 client;		/* network order, the reply's destination */
	__u16 vport;		/* network order */
	__u16 cport;		/* network order */
	__u32 pad;
};

/*
 * Global services, IPv6: a service's VIP and its backends are of one
 * family.  The same layouts with 16-byte addresses; a service id (and its
 * Maglev table in mg_lbring) and the backend slot numbers are shared with
 * IPv4: a slot is in mg_lbbe or in mg_lbbe6, by its service's family.
 */

/* mg_svc6: hash, VIP:port/proto -> service (mg_svc_val).  port 0, proto 0: "a VIP". */
struct mg_svc6_key {
	__u32 vip[4];		/* network order */
	__u16 port;		/* network order */
	__u8  proto;		/* IPPROTO_TCP or IPPROTO_UDP; 0 with port 0 */
	__u8  pad;
};

/* mg_lbbe6: array, backend slot -> IPv6 backend (MG_LB_BE_F_* flags). */
struct mg_lb_backend6 {
	__u32 addr[4];		/* network order */
	__u16 port;		/* network order */
	__u8  cluster_id;	/* owning cluster */
	__u8  flags;		/* MG_LB_BE_F_* */
	__u32 gen;		/* host order; changes when the slot is re-used */
};

/* mg_lbrev6: hash, IPv6 backend -> the services it serves (as mg_lbrev). */
struct mg_lbrev6_key {
	__u32 addr[4];		/* network order */
	__u16 port;		/* network order */
	__u8  proto;
	__u8  pad;
};

struct mg_lbrev6_val {
	struct {
		__u32 vip[4];	/* network order; all zero = unused (and the rest) */
		__u16 vport;	/* network order */
		__u16 pad;
	} svc[MG_LB_REV_SVCS];
};

/* mg_ct6_v2 and mg_rnat6: LRU hash keyed by an IPv6 flow as it is seen. */
struct mg_ct6_key {
	__u32 saddr[4];		/* network order */
	__u32 daddr[4];		/* network order */
	__u16 sport;		/* network order */
	__u16 dport;		/* network order */
	__u8  proto;
	__u8  pad[3];
};

/* mg_ct6_v2: client -> VIP flow, the backend it was given (as mg_ct4_v2). */
struct mg_ct6_val {
	__u32 backend;		/* host order, slot in mg_lbbe6 */
	__u32 gen;		/* the slot's gen when chosen */
	__u32 snat_addr[4];	/* network order; all zero: no SNAT (remote backend) */
	__u16 snat_port;	/* network order */
	__u8  state;		/* MG_CT_* */
	__u8  flags;		/* MG_CT_F_* */
	__u32 pad;
	__u64 expires;		/* host order; CLOCK_MONOTONIC ns */
};

/* mg_rnat6: a local backend's reply (backend -> us after SNAT) -> the VIP. */
struct mg_rnat6_val {
	__u32 vip[4];		/* network order, the reply's source */
	__u32 client[4];	/* network order, the reply's destination */
	__u16 vport;		/* network order */
	__u16 cport;		/* network order */
};

#define MG_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), #type " changed size: ABI break")

MG_ASSERT_SIZE(struct mg_ep4_key, 8);
MG_ASSERT_SIZE(struct mg_ep6_key, 20);
MG_ASSERT_SIZE(struct mg_in6, 16);
MG_ASSERT_SIZE(struct mg_ep_val, 8);
MG_ASSERT_SIZE(struct mg_addr, 20);
MG_ASSERT_SIZE(struct mg_cluster_val, 4 + MG_GW_SLOTS + 20 * MG_CLUSTER_GW_MAX);
MG_ASSERT_SIZE(struct mg_peer_val, 4);
MG_ASSERT_SIZE(struct mg_nh_val, 20);
MG_ASSERT_SIZE(struct mg_stat, 16);
MG_ASSERT_SIZE(struct mg_svc_key, 8);
MG_ASSERT_SIZE(struct mg_svc_val, 8);
MG_ASSERT_SIZE(struct mg_svc_tc, 24);
MG_ASSERT_SIZE(struct mg_rlb, 16);
MG_ASSERT_SIZE(struct mg_lb_backend, 12);
MG_ASSERT_SIZE(struct mg_ct4_key, 16);
MG_ASSERT_SIZE(struct mg_ct4_val, 24);
MG_ASSERT_SIZE(struct mg_rnat4_val, 16);
MG_ASSERT_SIZE(struct mg_lbrev_key, 8);
MG_ASSERT_SIZE(struct mg_lbrev_val, 8 * MG_LB_REV_SVCS);
MG_ASSERT_SIZE(struct mg_svc6_key, 20);
MG_ASSERT_SIZE(struct mg_lb_backend6, 24);
MG_ASSERT_SIZE(struct mg_lbrev6_key, 20);
MG_ASSERT_SIZE(struct mg_lbrev6_val, 20 * MG_LB_REV_SVCS);
MG_ASSERT_SIZE(struct mg_ct6_key, 40);
MG_ASSERT_SIZE(struct mg_ct6_val, 40);
MG_ASSERT_SIZE(struct mg_rnat6_val, 36);
_Static_assert(MG_REASON_MAX <= MG_STATS_SLOTS, "reason table outgrew mg_stats");

/*
 * mg_pin: LRU hash.  A client cluster with several gateways: the one that
 * balanced a service flow to a backend of ours holds its tracking, so the
 * backend's replies must go back through it, not through whichever the
 * flow hash picks.  It flags such packets in their inner source MAC
 * (MG_MESH_MAC_F_PIN); on decap we note the reply direction -> that
 * gateway, and path 1 sends the replies there while it is alive.
 */
struct mg_pin_key {
	__u32 saddr[4];		/* the reply's source (the backend); IPv4 in [0] */
	__u32 daddr[4];		/* its destination (the client) */
	__u16 sport;		/* network order */
	__u16 dport;
	__u8  proto;
	__u8  family;		/* MG_AF_INET or MG_AF_INET6 */
	__u8  pad[2];
};

struct mg_pin_val {
	struct mg_addr gw;	/* the gateway's tunnel address */
};

MG_ASSERT_SIZE(struct mg_pin_key, 40);
MG_ASSERT_SIZE(struct mg_pin_val, 20);

/*
 * mg_ifs: hash, ifindex -> the interface XDP runs on, as the agent
 * describes it when it attaches.  Only unicast frames to its MAC are
 * routed (paths 1, 2 and 4), as the kernel routes only PACKET_HOST; a
 * frame for another MAC, or on an interface without an entry, passes
 * to the kernel untouched (other_host).  Tunnel packets are taken only
 * on an underlay interface (a one-arm gateway's single NIC is both).
 */
#define MG_IF_CLUSTER	0x01	/* the cluster side (the pods') */
#define MG_IF_UNDERLAY	0x02	/* the underlay: tunnel ingress */

struct mg_if_val {
	__u8  mac[6];		/* its own; all zero: it has none (lo) */
	__u8  roles;		/* MG_IF_* */
	__u8  pad;
};

MG_ASSERT_SIZE(struct mg_if_val, 8);

/* The inner Ethernet addresses meshgate puts in VXLAN frames: 02:6d:67:00:00:<cluster id>. */
#define MG_MESH_MAC_INIT(cid) { 0x02, 0x6d, 0x67, 0x00, 0x00, (cid) }
/* Byte 4 of the source: the frame is a DNATed service flow's (mg_pin). */
#define MG_MESH_MAC_F_PIN	0x01

/*
 * The event stream (datapath/events.h, `meshgate monitor`).  mg_evcfg is
 * an array of one struct mg_ev_cfg: which reasons emit an event, the
 * sampling and the per-CPU rate limit.  The monitors write it (each one
 * in its listener slot, with its own ring in the same slot of mg_evrings;
 * mask is the OR of the live slots; a slot whose process is gone is
 * cleared by the next monitor that starts or stops); the datapath only
 * reads it.
 */
#define MG_EV_LISTENERS		16
#define MG_EV_SNAP		128	/* bytes of the frame an event carries */
#define MG_EV_RING_BYTES	(256 * 1024)	/* a monitor's ring: ~1600 events */

struct mg_ev_listener {
	__u32 pid;		/* host order; 0 = free */
	__u32 pad;
	__u64 mask;		/* 1 << enum mg_reason it wants */
};

struct mg_ev_cfg {
	__u64 mask;		/* 1 << enum mg_reason: emit; 0: nothing (one load) */
	__u32 sample;		/* 1 in N per reason and CPU; 0, 1: every one */
	__u32 rate;		/* events per second per CPU; 0: no limit */
	__u32 burst;		/* the bucket's size (0: rate) */
	__u32 pad;
	struct mg_ev_listener listener[MG_EV_LISTENERS];
};

/* mg_evstate: per-CPU array of one, the datapath's own. */
struct mg_ev_state {
	__u64 tokens;		/* the token bucket */
	__u64 last_ns;		/* when it was last refilled (bpf_ktime_get_ns) */
	__u64 lost;		/* the ring had no room */
	__u64 limited;		/* over the rate limit */
	__u32 seen[MG_STATS_SLOTS];	/* per reason, for the sampling */
	__u32 pol_rule;		/* the rule of the last policy_denied */
	__u32 pad;
};

#define MG_EV_DROP	1	/* the verdict dropped the packet */
#define MG_EV_TRACE	2	/* any other verdict */

#define MG_EV_HOOK_XDP	0
#define MG_EV_HOOK_TC	1

/* One record of mg_events (BPF ring buffer). */
struct mg_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;		/* XDP: where it came in; TC: where it goes out */
	__u32 len;		/* the frame's length at the verdict */
	__u16 cap_len;		/* bytes of it in data[] */
	__u16 cpu;
	__u8  reason;		/* enum mg_reason */
	__u8  type;		/* MG_EV_DROP or MG_EV_TRACE */
	__u8  hook;		/* MG_EV_HOOK_* */
	__u8  cluster;		/* cluster id involved, 0 none */
	__u16 service;		/* service slot + 1, 0 none */
	__u16 backend;		/* backend slot + 1, 0 none */
	__u32 rule;		/* policy_denied: the rule's id, 0 none */
	__u8  data[MG_EV_SNAP];	/* the frame as it was at the verdict */
};

MG_ASSERT_SIZE(struct mg_ev_listener, 16);
MG_ASSERT_SIZE(struct mg_ev_cfg, 24 + 16 * MG_EV_LISTENERS);
MG_ASSERT_SIZE(struct mg_ev_state, 40 + 4 * MG_STATS_SLOTS);
MG_ASSERT_SIZE(struct mg_event, 32 + MG_EV_SNAP);
_Static_assert(__builtin_offsetof(struct mg_event, data) == 32,
	       "struct mg_event: data[] moved");

/*
 * mg_gwstate: array of one, what the agent tells the datapath of its own
 * state.  MG_GW_STARTING: the start-up hold (the mesh's state not yet
 * complete): a known peer's packet from an unknown inner source counts
 * as not_learned, not inner_src_spoof.
 */
#define MG_GW_STARTING	0x01

struct mg_gw_state {
	__u32 flags;		/* host order, MG_GW_* */
	__u32 pad;
};

MG_ASSERT_SIZE(struct mg_gw_state, 8);

/*
 * Cross-cluster policy (datapath/policy.h, agent/policy.c).  The agent
 * compiles the rules of every cluster (each owns the traffic into its
 * prefixes) into lookup maps; a packet costs the same few lookups
 * however many rules there are:
 *
 *   mg_pold4/6  hash, (prefix length, masked destination) -> its class
 *               (the longest rule destination holding it: one lookup per
 *               length in use, longest first, mg_polcfg's len4/len6) and
 *               what the class's rules look at
 *   mg_pols4/6  LPM, (class, source) -> source class (longest rule source
 *               prefix of that class), only when the class has such rules
 *   mg_polp     hash, (class, port bucket, then port) -> port class
 *               (elementary interval of that class's port ranges), only
 *               when it has
 *   mg_polv     hash, (class, source class, port class, cluster, proto)
 *               -> the verdict and the rule that gave it
 *   mg_polcfg   array of one: on or off, each cluster's default
 *   mg_polct    LRU, flows allowed here, so their replies are too
 */
#define MG_POL_ALLOW		1
#define MG_POL_DENY		2

#define MG_POL_F_CLUSTER	0x01	/* the class's rules name clusters */
#define MG_POL_F_SRC		0x02	/* ... source prefixes (mg_pols*) */
#define MG_POL_F_PORT		0x04	/* ... port ranges (mg_polp) */
#define MG_POL_F_PROTO		0x08	/* ... protocols */

/* Protocol classes (mg_polv's proto): what a rule can name. */
#define MG_POL_P_ANY		0
#define MG_POL_P_TCP		1
#define MG_POL_P_UDP		2
#define MG_POL_P_ICMP		3	/* ICMP or ICMPv6 */
#define MG_POL_ANY		0	/* any source/port class, cluster */

struct mg_pol_dst {
	__u32 class;		/* host order, 1.. */
	__u32 def_rule;		/* host order; rule of def, 0 = the default */
	__u8  flags;		/* MG_POL_F_* */
	__u8  def;		/* MG_POL_*: the class's verdict with no rule */
	__u8  protos;		/* bit (1 << MG_POL_P_*) of protocols named */
	__u8  pad;
	__u8  clusters[32];	/* bitmap of cluster ids named by its rules */
};

struct mg_pol_src4_key {
	__u32 prefixlen;	/* host order, 32 + source prefix length */
	__u32 class;		/* network order (matched whole) */
	__u32 addr;		/* network order */
};

struct mg_pol_src6_key {
	__u32 prefixlen;	/* host order, 32 + source prefix length */
	__u32 class;		/* network order */
	__u32 addr[4];		/* network order */
};

/*
 * mg_polp: hash.  A port's bucket (port >> MG_POL_BUCKET_SHIFT, exact = 0:
 * 16 ports) gives its port
 * class when one interval holds the whole bucket, or MG_POL_SPLIT: then
 * the port itself (exact = 1) does, or nothing (class 0).
 */
#define MG_POL_SPLIT		0x80000000u
#define MG_POL_BUCKET_SHIFT	4

struct mg_pol_port_key {
	__u32 class;		/* host order */
	__u16 port;		/* host order: the bucket, or the port */
	__u16 exact;		/* 0: bucket, 1: port */
};

struct mg_pol_key {
	__u32 class;		/* host order, mg_pol_dst.class */
	__u16 sclass;		/* host order, 0 = none of the class's sources */
	__u16 pclass;		/* host order, 0 = none of its port ranges */
	__u8  cluster;		/* source cluster id, 0 = not one it names */
	__u8  proto;		/* MG_POL_P_* */
	__u16 pad;
};

struct mg_pol_verdict {
	__u8  verdict;		/* MG_POL_ALLOW or MG_POL_DENY */
	__u8  pad[3];
	__u32 rule;		/* host order, the rule's id; 0 = a default */
};

#define MG_POL_CFG_ON		0x01	/* any policy: look packets up */

struct mg_pol_cfg {
	__u32 flags;		/* host order, MG_POL_CFG_* */
	__u32 pad;
	__u8  def[MG_MAX_CLUSTERS];	/* cluster id -> MG_POL_*, 0 = allow */
	/*
	 * The destination prefix lengths in mg_pold4 / mg_pold6 (hashes
	 * keyed by the masked prefix), longest first: a destination's class
	 * is the first hit.
	 */
	__u8  nlen4, nlen6;
	__u8  pad2[6];
	__u8  len4[40];
	__u8  len6[136];
};

/* mg_polct: a flow allowed through, in the direction it was allowed. */
struct mg_pol_ct_key {
	__u8  family;		/* MG_AF_INET or MG_AF_INET6 */
	__u8  proto;		/* IPPROTO_* */
	__u16 pad;
	__u16 sport;		/* network order; ICMP echo: the id */
	__u16 dport;		/* network order */
	__u32 saddr[4];		/* network order; IPv4 in [0] */
	__u32 daddr[4];
};

struct mg_pol_ct_val {
	__u64 seen_ns;		/* bpf_ktime_get_ns() when allowed */
};

MG_ASSERT_SIZE(struct mg_pol_dst, 44);
MG_ASSERT_SIZE(struct mg_pol_src4_key, 12);
MG_ASSERT_SIZE(struct mg_pol_src6_key, 24);
MG_ASSERT_SIZE(struct mg_pol_port_key, 8);
MG_ASSERT_SIZE(struct mg_pol_key, 12);
MG_ASSERT_SIZE(struct mg_pol_verdict, 8);
MG_ASSERT_SIZE(struct mg_pol_cfg, 8 + MG_MAX_CLUSTERS + 184);
MG_ASSERT_SIZE(struct mg_pol_ct_key, 40);
MG_ASSERT_SIZE(struct mg_pol_ct_val, 8);

/*
 * The compiled IPv4 prefix table (datapath/prefix.h, agent/prefix.c): the
 * prefixes of mg_ep4 as a DIR-16-8-8 table the datapath walks in at most
 * three array lookups, in place of the trie.  A slot's answer (a "leaf")
 * is 16 bits: the cluster id and MG_EP_F_LOCAL; 0 is no prefix.
 *
 * level 1 (mg_pfx4_l1): 256 chunks of 256 32-bit slots, one per /16
 *   (chunk addr >> 24, slot (addr >> 16) & 0xff); a slot with
 *   MG_PFX_L1_PTR set holds the index of a level-2 chunk, else a leaf.
 * level 2 (mg_pfx4_l2): a chunk of 256 16-bit slots per /16 holding a
 *   prefix longer than /16, one slot per /24; a slot >= MG_PFX_L2_PTR
 *   holds MG_PFX_L2_PTR + the index of a level-3 chunk, else a leaf.
 * level 3 (mg_pfx4_l3): a chunk of 256 16-bit leaves per /24 holding a
 *   prefix longer than /24.
 *
 * Two generations: the agent fills the inactive one aside (new maps in
 * its slot of the three outer maps) and then writes mg_pfx_gen once.
 */
#define MG_PFX_LEAF_LOCAL	0x100	/* leaf: MG_EP_F_LOCAL */
#define MG_PFX_L1_PTR		0x80000000u
#define MG_PFX_L2_PTR		0x200
#define MG_PFX_L2_MAX		65536	/* level-2 chunks: one per /16 */
#define MG_PFX_L3_MAX		(65536 - MG_PFX_L2_PTR)	/* level-3 chunks */
#define MG_PFX_GENS		2
#define MG_PFX_ANSWERS		512	/* mg_pfx_ans: one per leaf value */

struct mg_pfx_chunk32 {
	__u32 s[256];		/* host order */
};

struct mg_pfx_chunk16 {
	__u16 s[256];		/* host order */
};

/*
 * mg_pfx_gen: array of one.  active: 0, no table (the datapath looks up
 * mg_ep4); 1 + g, generation g of the three outer maps.
 */
struct mg_pfx_gen {
	__u32 active;		/* host order */
	__u32 pad;
};

MG_ASSERT_SIZE(struct mg_pfx_chunk32, 1024);
MG_ASSERT_SIZE(struct mg_pfx_chunk16, 512);
MG_ASSERT_SIZE(struct mg_pfx_gen, 8);

/*
 * The compiled IPv6 prefix table (datapath/prefix6.h, agent/prefix6.c):
 * one hash lookup per prefix length present, longest first, where the
 * mg_ep6 trie walks up to 128 nodes.  Leaves as the IPv4 table's
 * (mg_pfx_leaf(), answered through mg_pfx_ans).
 *
 * mg_pfx6 (array of maps, MG_PFX_GENS): generation g's hash map, key
 *   struct mg_pfx6_key {length, address masked to it}, value a __u32 leaf.
 * mg_pfx6_lens (array, MG_PFX_GENS): generation g's lengths present,
 *   longest first, each with its mask; at most MG_PFX6_LENS of them (a
 *   set with more is left to the trie); and the bits every prefix shares
 *   (the first c: an address without them is in no prefix).
 * mg_pfx6_rgn (array of maps, MG_PFX_GENS): generation g's regions: the
 *   k bits of an address after the c shared ones (k <= MG_PFX6_RGN_BITS)
 *   index a 16-bit slot (chunks of 256, struct mg_pfx_chunk16) whose bit
 *   i says a prefix of the i-th length overlaps that region: a lookup
 *   asks the hash map only for those lengths.  k 0: no regions, every
 *   length is asked.
 * mg_pfx6_gen (array of one, struct mg_pfx_gen): active 0, no table (the
 *   datapath looks up mg_ep6); 1 + g, generation g.
 *
 * The agent fills the inactive generation aside (its lengths, then a new
 * hash map in its slot of mg_pfx6) and then writes mg_pfx6_gen once.
 */
#define MG_PFX6_LENS		16	/* the slot's bits */
#define MG_PFX6_RGN_BITS	20	/* 2 MiB of regions at most */

struct mg_pfx6_key {
	__u32 len;		/* host order, 0..128 */
	__u32 addr[4];		/* network order, bits past len zero */
};

struct mg_pfx6_len {
	__u32 len;		/* host order */
	__u32 mask[4];		/* network order */
};

struct mg_pfx6_lens {
	__u32 n;		/* host order, <= MG_PFX6_LENS */
	__u32 c;		/* host order: bits every prefix shares */
	__u32 k;		/* host order: region bits after them, 0: none */
	__u32 pad;
	__u32 base[4];		/* network order: those c bits, */
	__u32 bmask[4];		/* and their mask */
	struct mg_pfx6_len l[MG_PFX6_LENS];	/* longest first */
};

MG_ASSERT_SIZE(struct mg_pfx6_key, 20);
MG_ASSERT_SIZE(struct mg_pfx6_len, 20);
MG_ASSERT_SIZE(struct mg_pfx6_lens, 48 + 20 * MG_PFX6_LENS);

/*
 * mg_outlier: per-CPU array, backend slot -> what its new flows met
 * (datapath/outlier.h): the first answer to a flow still opening (TCP:
 * the client's SYN seen, no answer yet; UDP: no datagram back yet) is a
 * success, unless it is a RST or an ICMP destination unreachable (not
 * "fragmentation needed"), which is a failure, as is the client's SYN
 * again to a flow still unanswered (it timed out).  The agent (agent/outlier.c)
 * reads the totals and ejects a backend that fails too often in a row.
 */
struct mg_outlier_ctr {
	__u64 ok;		/* new flows answered */
	__u64 fail;		/* refused (RST, ICMP unreachable) or timed out */
};

MG_ASSERT_SIZE(struct mg_outlier_ctr, 16);

#endif
