/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The global services' datapath tests (tests/datapath/test_lb.c for IPv4,
 * test_lb6.c for IPv6) over one fixture: the mesh, the maps, the packets
 * and the rows they share are written once here for either family, and
 * each test keeps its addresses and the rows of its own family.
 *
 * The mesh: we are cluster 1, the client POD and a local backend L1 in
 * it, the cluster-side address GW the SNAT source for L1; cluster 2 has
 * one gateway, PEER2 (over an IPv4 underlay) and the backends R1, R2, R3.
 * Each service's Maglev table is filled with one backend, so which
 * backend a new flow gets is known.  The rows run in order against one
 * datapath, because connection tracking carries from row to row.
 */
#ifndef MG_TEST_LBTEST_H
#define MG_TEST_LBTEST_H

#include "lib/dptest.h"
#include "lib/netns.h"

#define LBT_OWN_CID	1
#define LBT_TUN		IP4(192, 0, 2, 1)
#define LBT_PEER2	IP4(192, 0, 2, 2)
#define LBT_VXLAN_PORT	4789
#define LBT_LT_PORT	40201	/* the client port of the flow followed */
#define LBT_NSEC	1000000000ULL

enum { SVC_TCP, SVC_UDP, SVC_EMPTY, SVC_NO_RING, SVC_TCP2 };
enum { BE_R1, BE_L1, BE_R2, BE_R3, LBT_N_BE };

/* One family's addresses. */
struct lbt_net {
	struct mgt_addr gw;		/* cluster side: the SNAT source */
	struct mgt_addr pod;		/* the client, neighbour known */
	struct mgt_addr pod2;		/* a second client */
	struct mgt_addr fake;		/* holds every port of L1 */
	struct mgt_addr vip, other_vip;
	struct mgt_addr local_net, remote_net;	/* clusters 1 and 2 */
	uint8_t plen;
	struct mgt_addr be[LBT_N_BE];
	const char *l1_neigh;		/* `ip neigh` for L1 on mgc0 */
};

struct lbt_env {
	const struct lbt_net *n;
	struct mgt_topo topo;
	struct mgt_dp dp;
	uint16_t snat_port;	/* what the local flow got, host order */
	/* Set by a row's in(): the packet is sent as built, lengths that
	 * lie on purpose and all (no pkt_finish()). */
	bool in_raw;
};

extern struct lbt_env lbt;
extern const uint8_t lbt_l1_mac[6], lbt_nh_smac[6], lbt_nh_dmac2[6],
	lbt_gw_mac[6];

/* --- maps --- */
void lbt_backend_set(uint32_t slot, uint8_t flags, uint32_t gen);
void lbt_service(uint16_t port, uint8_t proto, uint32_t id);
/* The same with its MG_SVC_F_* flags. */
void lbt_service_f(uint16_t port, uint8_t proto, uint32_t id, uint32_t flags);
/* Backend be's reverse entry: services vip0:vport0 then vip1:vport1. */
void lbt_lbrev(int be, const struct mgt_addr *vip0, uint16_t vport0,
	       const struct mgt_addr *vip1, uint16_t vport1);

/* The flow of client:sport to VIP:80 in mg_ct4_v2 / mg_ct6_v2. */
struct lbt_ct {
	uint32_t backend, gen;
	uint16_t snat_port;	/* network order */
	uint8_t state, flags;
	uint64_t expires;
};

int lbt_ct_get(const struct mgt_addr *client, uint16_t sport,
	       struct lbt_ct *v);
/* The flow is in state st, and lives for about secs from now. */
void lbt_ct_expect(uint8_t st, uint8_t flags, uint64_t secs);
/* Make the flow old: its expiry in the past, not waited for. */
void lbt_ct_expire(const struct mgt_addr *client, uint16_t sport);
uint64_t lbt_mono_ns(void);

/* --- packets --- */
/* One frame: TCP (ACK|PSH, or SYN when sport is odd) or UDP. */
void lbt_frame(struct pkt *p, const uint8_t *dmac, const uint8_t *smac,
	       const struct mgt_addr *src, const struct mgt_addr *dst,
	       uint8_t proto, uint16_t sport, uint16_t dport, uint8_t ttl);
void lbt_pod_to(struct pkt *p, uint8_t proto, uint16_t sport,
		uint16_t dport);
void lbt_pod_tcp(struct pkt *p, uint16_t sport, uint8_t flags);
/* Outer headers from PEER2, as its gateway encapsulates (inner: fam). */
void lbt_from_peer2(struct pkt *p);
/*
 * What we send to cluster 2: the outer headers (source port as out has
 * it) and the inner Ethernet header, flagged for reply pinning; then
 * with lbt_to_peer2() the inner packet (TTL 63) to backend be.
 */
void lbt_encap_to_peer2(struct pkt *w, const struct pkt *out);
void lbt_to_peer2(struct pkt *w, const struct pkt *out, uint16_t sport,
		  uint8_t proto, int be);

/* --- the rows --- */
struct lbt_row {
	const char *name;
	void (*before)(void);
	void (*in)(struct pkt *p);
	/* NULL: the packet leaves as it came */
	void (*want)(struct pkt *w, const struct pkt *out);
	int ifindex;		/* 0: loopback; 1: cluster side */
	int verdict;
	enum mg_reason reason;
	void (*after)(void);	/* checks of the maps after the packet */
};

#define TX	XDP_TX
#define REDIR	XDP_REDIRECT
#define DROP	XDP_DROP
#define PASS	XDP_PASS

/*
 * The rows both families have (lbt_ prefix left out of their names: they
 * are the rows' words).
 */
void in_syn(struct pkt *p);
void want_syn_r1(struct pkt *w, const struct pkt *o);
void ring_r2(void);
void in_ack(struct pkt *p);
void r1_gone(void);
void want_ack_r2(struct pkt *w, const struct pkt *o);
void ring_l1(void);
/* L1 live again and the service's table on it. */
void lt_ring_l1(void);
void in_syn_local(struct pkt *p);
void want_local(struct pkt *w, const struct pkt *o);
void in_udp(struct pkt *p);
void want_udp(struct pkt *w, const struct pkt *o);
void in_udp_reply(struct pkt *p);
void want_udp_reply(struct pkt *w, const struct pkt *o);
void in_empty(struct pkt *p);
void in_no_ring(struct pkt *p);
void in_tcp_short(struct pkt *p);
void in_ports_short(struct pkt *p);
void in_other_port(struct pkt *p);
void in_to_gw(struct pkt *p);
void in_lt_ack0(struct pkt *p);
void in_lt_fin0(struct pkt *p);
void in_lt_rst0(struct pkt *p);
void lt_nothing(void);
void in_lt_syn(struct pkt *p);
void in_lt_ack(struct pkt *p);
void want_lt_local(struct pkt *w, const struct pkt *o);
void lt_opening(void);
void lt_answered(void);
void lt_established(void);
void lt_closing(void);
void lt_old(void);
void lt_reopened(void);
void in_lt_remote(struct pkt *p);
void lt_picked_up(void);

/*
 * Runs of rows both tables have, each where it runs in its table: the
 * functions they name are lbtest.c's or, where the packets differ by
 * family (in_reply_r1, want_reply_vip, lt_ring_remote, ...), each test's
 * own.
 */

/* A new TCP flow to a remote backend, kept; its reply, one of no flow. */
#define LBT_ROWS_NEW_FLOW	\
	{ "tcp_new_flow_remote", NULL, in_syn, want_syn_r1, 0, TX, MG_ENCAP, NULL },	\
	{ "tcp_established_keeps_backend", ring_r2, in_ack, want_syn_r1, 0,	\
	  TX, MG_ENCAP, NULL },	\
	{ "tcp_reply_reverse_nat", NULL, in_reply_r1, want_reply_vip, 0,	\
	  REDIR, MG_DECAP, NULL },	\
	{ "reply_of_no_flow_untouched", NULL, in_reply_r2, want_reply_r2, 0,	\
	  REDIR, MG_DECAP, NULL }

/* A local backend: DNAT and SNAT, and its reply. */
#define LBT_ROWS_LOCAL	\
	{ "affinity_local_dnat_snat", ring_l1, in_syn_local, want_local, 0,	\
	  REDIR, MG_LB_LOCAL, NULL },	\
	{ "local_reply_reverse_nat", NULL, in_reply_local, want_reply_local, 1,	\
	  REDIR, MG_LB_REPLY, NULL }

/* A UDP flow and its reply. */
#define LBT_ROWS_UDP	\
	{ "udp_new_flow", NULL, in_udp, want_udp, 0, TX, MG_ENCAP, NULL },	\
	{ "udp_reply_reverse_nat", NULL, in_udp_reply, want_udp_reply, 0,	\
	  REDIR, MG_DECAP, NULL }

/* No healthy backend; headers cut short. */
#define LBT_ROWS_NO_BACKEND	\
	{ "no_backend_empty_table", NULL, in_empty, NULL, 0, DROP,	\
	  MG_DROP_NO_BACKEND, NULL },	\
	{ "no_backend_no_table", NULL, in_no_ring, NULL, 0, DROP,	\
	  MG_DROP_NO_BACKEND, NULL },	\
	{ "vip_tcp_header_cut", NULL, in_tcp_short, NULL, 0, DROP,	\
	  MG_DROP_MALFORMED, NULL },	\
	{ "vip_ports_cut", NULL, in_ports_short, NULL, 0, DROP,	\
	  MG_DROP_MALFORMED, NULL }

/* Fragments to a VIP. */
#define LBT_ROWS_FRAGMENTS	\
	{ "vip_first_fragment", NULL, in_fragment, NULL, 0, DROP,	\
	  MG_DROP_VIP_FRAG, NULL },	\
	{ "vip_later_fragment", NULL, in_later_fragment, NULL, 0, DROP,	\
	  MG_DROP_VIP_FRAG, NULL }

/* Not service traffic: passed untouched. */
#define LBT_ROWS_NOT_SERVICE	\
	{ "vip_other_port_passes", NULL, in_other_port, NULL, 0, PASS,	\
	  MG_PASS, NULL },	\
	{ "to_gateway_no_flow_passes", NULL, in_to_gw, NULL, 0, PASS,	\
	  MG_PASS, NULL },	\
	{ "vip_ping_passes", NULL, in_ping_vip, NULL, 0, PASS, MG_PASS, NULL }

/* Flow lifetimes: what opens no flow. */
#define LBT_ROWS_LT_NO_FLOW	\
	{ "lt_ack_opens_no_flow", lt_ring_l1, in_lt_ack0, NULL, 0, DROP,	\
	  MG_DROP_CT_NO_SYN, lt_nothing },	\
	{ "lt_fin_opens_no_flow", NULL, in_lt_fin0, NULL, 0, DROP,	\
	  MG_DROP_CT_NO_SYN, lt_nothing },	\
	{ "lt_rst_opens_no_flow", NULL, in_lt_rst0, NULL, 0, DROP,	\
	  MG_DROP_CT_NO_SYN, lt_nothing }

/* Flow lifetimes: a flow opened, answered, established. */
#define LBT_ROWS_LT_OPEN	\
	{ "lt_syn_opens_a_flow_30s", NULL, in_lt_syn, want_lt_local, 0, REDIR,	\
	  MG_LB_LOCAL, lt_opening },	\
	{ "lt_backend_answers", NULL, in_lt_synack, want_lt_synack, 1, REDIR,	\
	  MG_LB_REPLY, lt_answered },	\
	{ "lt_client_acks_established_6h", NULL, in_lt_ack, want_lt_local, 0,	\
	  REDIR, MG_LB_LOCAL, lt_established }

/* Flow lifetimes: a flow opened again, one picked up. */
#define LBT_ROWS_LT_AGAIN	\
	{ "lt_syn_reopens_on_its_old_port", NULL, in_lt_syn, want_lt_local, 0,	\
	  REDIR, MG_LB_LOCAL, lt_reopened },	\
	{ "lt_remote_ack_picked_up", lt_ring_remote, in_lt_remote,	\
	  want_lt_remote, 0, TX, MG_ENCAP, lt_picked_up }

/* The SNAT port pool, cmocka tests of their own. */
void lbt_snat_exhausted_then_recovers(void **state);
void lbt_snat_client_share(void **state);

/*
 * The network namespace, then the rows in order and the extra tests, on
 * a datapath loaded for net n (the ICMPv6 errors' source is gw when it
 * is IPv6).  Returns main()'s exit status.
 */
int lbt_main(const char *group, const struct lbt_net *n,
	     const struct lbt_row *rows, size_t n_rows,
	     const struct CMUnitTest *extra, size_t n_extra);

#endif
