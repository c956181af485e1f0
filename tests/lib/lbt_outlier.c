// SPDX-License-Identifier: GPL-2.0-only
/*
 * Outlier detection's datapath rows for either family (lbt_outlier.h):
 * mg_outlier[slot] summed over CPUs before and after each packet.
 */
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/lbtest.h"
#include "lib/lbt_outlier.h"

#define N (lbt.n)

#define TCP_RST_ACK 0x14
#define TCP_SYN_ACK 0x12
#define TCP_ACK 0x10

static struct mg_outlier_ctr outlier(uint32_t slot)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_outlier_ctr v[ncpu], sum = { 0 };

	assert_int_equal(bpf_map_lookup_elem(mgt_dp_map(&lbt.dp, "mg_outlier"),
					     &slot, v),
			 0);
	for (int c = 0; c < ncpu; c++) {
		sum.ok += v[c].ok;
		sum.fail += v[c].fail;
	}
	return sum;
}

/* The client's SYN from sport to the VIP's TCP service. */
static int client_syn(uint16_t sport)
{
	struct pkt in, out;

	pkt_init(&in);
	lbt_pod_tcp(&in, sport, 0x02);
	pkt_finish(&in);
	return mgt_dp_run(&lbt.dp, &in, &out, 0, MGT_COUNTS_ANY);
}

/* R1's answer to the client's sport, through cluster 2's tunnel. */
static int remote_answers(uint16_t sport, uint8_t flags)
{
	struct pkt in, out;

	pkt_init(&in);
	lbt_from_peer2(&in);
	pkt_ip(&in, &N->be[BE_R1], &N->pod, IPPROTO_TCP, 63);
	pkt_tcp(&in, 8080, sport, flags);
	pkt_data(&in, 8, 1);
	pkt_finish(&in);
	return mgt_dp_run(&lbt.dp, &in, &out, lbt.topo.underlay_if,
			  MGT_COUNTS_ANY);
}

/* L1's answer to our SNAT port of the client's sport. */
static int local_answers(uint16_t sport, uint8_t flags)
{
	struct lbt_ct v;
	struct pkt in, out;

	assert_int_equal(lbt_ct_get(&N->pod, sport, &v), 0);
	pkt_init(&in);
	lbt_frame(&in, mgt_cluster_mac, lbt_l1_mac, &N->be[BE_L1], &N->gw,
		  IPPROTO_TCP, 8080, ntohs(v.snat_port), 64);
	pkt_put8(&in, pkt_off(&in, PKT_TCP, 0) + 13, flags);
	pkt_finish(&in);
	return mgt_dp_run(&lbt.dp, &in, &out, lbt.topo.cluster_if,
			  MGT_COUNTS_ANY);
}

static void expect(uint32_t slot, const struct mg_outlier_ctr *base,
		   uint64_t ok, uint64_t fail)
{
	struct mg_outlier_ctr now = outlier(slot);

	assert_int_equal(now.ok - base->ok, ok);
	assert_int_equal(now.fail - base->fail, fail);
}

void lbt_outlier_counts(void **state)
{
	struct mg_outlier_ctr r1, l1, r2;

	/* A remote backend: its replies come through the tunnel. */
	lbt_backend_set(BE_R1, MG_LB_BE_F_LIVE, 1);
	mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1);
	r1 = outlier(BE_R1);
	r2 = outlier(BE_R2);
	assert_int_equal(client_syn(40601), XDP_TX);
	assert_int_equal(remote_answers(40601, TCP_RST_ACK), XDP_REDIRECT);
	expect(BE_R1, &r1, 0, 1);
	/* The flow is closing now: another RST is no new flow's. */
	remote_answers(40601, TCP_RST_ACK);
	expect(BE_R1, &r1, 0, 1);

	assert_int_equal(client_syn(40603), XDP_TX);
	assert_int_equal(remote_answers(40603, TCP_SYN_ACK), XDP_REDIRECT);
	expect(BE_R1, &r1, 1, 1);
	/* Answered already: the rest of the flow counts nothing. */
	remote_answers(40603, TCP_ACK);
	remote_answers(40603, TCP_RST_ACK);
	expect(BE_R1, &r1, 1, 1);
	/* Nobody else's slot moved. */
	expect(BE_R2, &r2, 0, 0);

	/* The client's SYN again, unanswered (timed out): a failure. */
	assert_int_equal(client_syn(40611), XDP_TX);
	expect(BE_R1, &r1, 1, 1);
	assert_int_equal(client_syn(40611), XDP_TX);
	expect(BE_R1, &r1, 1, 2);
	/* Once answered, the client's packets count nothing. */
	assert_int_equal(remote_answers(40611, TCP_SYN_ACK), XDP_REDIRECT);
	expect(BE_R1, &r1, 2, 2);
	client_syn(40611);
	expect(BE_R1, &r1, 2, 2);
	r1 = outlier(BE_R1);
	/* A reply of no tracked flow counts nothing. */
	remote_answers(40605, TCP_RST_ACK);
	expect(BE_R1, &r1, 0, 0);

	/* A local backend: its replies come to our SNAT address. */
	lt_ring_l1();
	l1 = outlier(BE_L1);
	assert_int_equal(client_syn(40607), XDP_REDIRECT);
	assert_int_equal(local_answers(40607, TCP_RST_ACK), XDP_REDIRECT);
	expect(BE_L1, &l1, 0, 1);
	assert_int_equal(client_syn(40609), XDP_REDIRECT);
	assert_int_equal(local_answers(40609, TCP_SYN_ACK), XDP_REDIRECT);
	expect(BE_L1, &l1, 1, 1);
	local_answers(40609, TCP_RST_ACK);
	expect(BE_L1, &l1, 1, 1);
	expect(BE_R1, &r1, 0, 0);
}
