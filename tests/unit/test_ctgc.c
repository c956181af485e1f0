// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sweep of the flow tables (agent/ctgc.c) on real LRU maps shaped as
 * the datapath's, at a time the test chooses: what is over goes, what
 * lives (or only just expired) stays, a reply entry goes with its flow,
 * and slices walk a map larger than one of them to its end and start over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <meshgate/abi.h>
#include "ctgc.h"

#define NOW	(1000ULL * 1000000000ULL)	/* the test's clock */
#define SEC	1000000000ULL
#define GW	htonl(0x0a010001)
#define VIP	htonl(0x0a60000a)
#define BE	htonl(0x0a01000b)

static struct {
	struct mg_ctgc_maps m;
	struct mg_ctgc *gc;
} t;

static int lru(size_t ksz, size_t vsz)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "t", ksz, vsz, 65536,
				NULL);

	assert_true(fd >= 0);
	return fd;
}

static int setup(void **state)
{
	t.m.ct4 = lru(sizeof(struct mg_ct4_key), sizeof(struct mg_ct4_val));
	t.m.rnat4 = lru(sizeof(struct mg_ct4_key), sizeof(struct mg_rnat4_val));
	t.m.ct6 = lru(sizeof(struct mg_ct6_key), sizeof(struct mg_ct6_val));
	t.m.rnat6 = lru(sizeof(struct mg_ct6_key), sizeof(struct mg_rnat6_val));
	return mg_ctgc_open(&t.m, &t.gc);
}

static int teardown(void **state)
{
	mg_ctgc_free(t.gc);
	close(t.m.ct4);
	close(t.m.rnat4);
	close(t.m.ct6);
	close(t.m.rnat6);
	return 0;
}

/* Client 10.1.0.<c>:<port> to the VIP, SNATed to GW:snat (0: none). */
static struct mg_ct4_key flow4(uint8_t c, uint16_t port)
{
	return (struct mg_ct4_key){ .saddr = htonl(0x0a010000 | c),
				    .daddr = VIP, .sport = htons(port),
				    .dport = htons(80),
				    .proto = IPPROTO_TCP };
}

static void put_flow4(uint8_t c, uint16_t port, uint16_t snat,
		      uint64_t expires)
{
	struct mg_ct4_key k = flow4(c, port);
	struct mg_ct4_val v = { .snat_addr = snat ? GW : 0,
				.snat_port = htons(snat),
				.state = MG_CT_ESTABLISHED,
				.expires = expires };

	assert_int_equal(bpf_map_update_elem(t.m.ct4, &k, &v, BPF_ANY), 0);
}

static struct mg_ct4_key reply4(uint16_t snat)
{
	return (struct mg_ct4_key){ .saddr = BE, .daddr = GW,
				    .sport = htons(8080), .dport = htons(snat),
				    .proto = IPPROTO_TCP };
}

/* The reply entry of SNAT port snat, naming client c's flow. */
static void put_reply4(uint16_t snat, uint8_t c, uint16_t port)
{
	struct mg_ct4_key k = reply4(snat);
	struct mg_rnat4_val v = { .vip = VIP, .client = htonl(0x0a010000 | c),
				  .vport = htons(80), .cport = htons(port) };

	assert_int_equal(bpf_map_update_elem(t.m.rnat4, &k, &v, BPF_ANY), 0);
}

static bool has_flow4(uint8_t c, uint16_t port)
{
	struct mg_ct4_key k = flow4(c, port);
	struct mg_ct4_val v;

	return !bpf_map_lookup_elem(t.m.ct4, &k, &v);
}

static bool has_reply4(uint16_t snat)
{
	struct mg_ct4_key k = reply4(snat);
	struct mg_rnat4_val v;

	return !bpf_map_lookup_elem(t.m.rnat4, &k, &v);
}

static int count(int fd, size_t ksz)
{
	char k[64], n[64];
	void *prev = NULL;
	int c = 0;

	while (!bpf_map_get_next_key(fd, prev, n)) {
		memcpy(k, n, ksz);
		prev = k;
		c++;
	}
	return c;
}

static void t_flows(void **state)
{
	put_flow4(1, 1000, 0, NOW + 100 * SEC);			/* lives */
	put_flow4(1, 1001, 0, NOW - 1 * SEC);			/* just over */
	put_flow4(1, 1002, 0, NOW - MG_CTGC_GRACE_NS - SEC);	/* long over */
	put_flow4(1, 1003, 0, 1);				/* long over */
	assert_int_equal(mg_ctgc_step(t.gc, NOW, MG_CTGC_BATCH), 2);
	assert_true(has_flow4(1, 1000));
	assert_true(has_flow4(1, 1001));
	assert_false(has_flow4(1, 1002));
	assert_false(has_flow4(1, 1003));
	/* Later, the one just over is long over too. */
	assert_int_equal(mg_ctgc_step(t.gc, NOW + MG_CTGC_GRACE_NS,
				      MG_CTGC_BATCH), 1);
	assert_false(has_flow4(1, 1001));
	assert_true(has_flow4(1, 1000));
}

static void t_replies(void **state)
{
	put_flow4(2, 2000, 61000, NOW + 100 * SEC);
	put_reply4(61000, 2, 2000);		/* its flow's port: stays */
	put_reply4(61001, 2, 2001);		/* no such flow: goes */
	put_flow4(2, 2002, 61003, NOW + 100 * SEC);
	put_reply4(61002, 2, 2002);		/* its flow holds another */
	put_flow4(2, 2004, 61004, 1);
	put_reply4(61004, 2, 2004);		/* its flow is over */
	mg_ctgc_step(t.gc, NOW, MG_CTGC_BATCH);
	assert_true(has_reply4(61000));
	assert_false(has_reply4(61001));
	assert_false(has_reply4(61002));
	assert_false(has_reply4(61004));
}

static void t_replies6(void **state)
{
	struct mg_ct6_key fk = { .saddr = { 1 }, .daddr = { 2 },
				 .sport = htons(3000), .dport = htons(80),
				 .proto = IPPROTO_TCP };
	struct mg_ct6_val fv = { .snat_addr = { 9 }, .snat_port = htons(61000),
				 .expires = NOW + 100 * SEC };
	struct mg_ct6_key rk = { .saddr = { 5 }, .daddr = { 9 },
				 .sport = htons(8080), .dport = htons(61000),
				 .proto = IPPROTO_TCP };
	struct mg_rnat6_val rv = { .vip = { 2 }, .client = { 1 },
				   .vport = htons(80), .cport = htons(3000) };

	assert_int_equal(bpf_map_update_elem(t.m.ct6, &fk, &fv, 0), 0);
	assert_int_equal(bpf_map_update_elem(t.m.rnat6, &rk, &rv, 0), 0);
	mg_ctgc_step(t.gc, NOW, MG_CTGC_BATCH);
	assert_int_equal(count(t.m.ct6, sizeof(fk)), 1);
	assert_int_equal(count(t.m.rnat6, sizeof(rk)), 1);

	/* The flow over: first it goes, then (the next slice) its reply. */
	fv.expires = 1;
	assert_int_equal(bpf_map_update_elem(t.m.ct6, &fk, &fv, 0), 0);
	mg_ctgc_step(t.gc, NOW, MG_CTGC_BATCH);
	mg_ctgc_step(t.gc, NOW, MG_CTGC_BATCH);
	assert_int_equal(count(t.m.ct6, sizeof(fk)), 0);
	assert_int_equal(count(t.m.rnat6, sizeof(rk)), 0);
}

/* 10,000 flows over, slices of 4096: all gone after a few ticks. */
static void t_slices(void **state)
{
	int ticks = 0;

	for (int i = 0; i < 10000; i++)
		put_flow4(3, 10000 + i, 0, 1);
	/* Three flows of the tests before live on. */
	while (count(t.m.ct4, sizeof(struct mg_ct4_key)) > 3 && ticks < 10) {
		mg_ctgc_step(t.gc, NOW + MG_CTGC_GRACE_NS, MG_CTGC_BATCH);
		ticks++;
	}
	assert_int_equal(count(t.m.ct4, sizeof(struct mg_ct4_key)), 3);
	assert_true(has_flow4(1, 1000));
	assert_true(ticks >= 3 && ticks <= 5);
}

/* A flow of client c:port to backend slot be, in state st. */
static void put_be_flow4(uint8_t c, uint16_t port, __u32 be, __u8 st,
			 uint64_t expires)
{
	struct mg_ct4_key k = flow4(c, port);
	struct mg_ct4_val v = { .backend = be, .gen = 1, .state = st,
				.expires = expires };

	assert_int_equal(bpf_map_update_elem(t.m.ct4, &k, &v, BPF_ANY), 0);
}

static __u32 beflows(int fd, __u32 be)
{
	__u32 n = 0;

	assert_int_equal(bpf_map_lookup_elem(fd, &be, &n), 0);
	return n;
}

/*
 * Circuit breaking's counts: whatever the datapath added (a stale 99),
 * a whole pass writes the live, not closing, flows of each backend.
 */
static void t_beflows(void **state)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "beflows", 4, 4,
				MG_LB_MAX_BACKENDS, NULL);
	__u32 be = 3, stale = 99;

	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &be, &stale, BPF_ANY), 0);
	put_be_flow4(200, 1, 3, MG_CT_ESTABLISHED, NOW + 60 * SEC);
	put_be_flow4(200, 2, 3, MG_CT_OPENING, NOW + 60 * SEC);
	put_be_flow4(200, 3, 3, MG_CT_ESTABLISHED, NOW + 60 * SEC);
	put_be_flow4(200, 4, 3, MG_CT_CLOSING, NOW + 5 * SEC);
	put_be_flow4(200, 5, 3, MG_CT_ESTABLISHED, NOW - SEC);
	put_be_flow4(200, 6, 5, MG_CT_ESTABLISHED, NOW + 60 * SEC);
	put_be_flow4(200, 7, 5, MG_CT_OPENING, NOW + 60 * SEC);
	mg_ctgc_set_beflows(t.gc, fd);
	/* The first step may end a pass begun before: two passes whole. */
	for (int i = 0; i < 3; i++)
		assert_true(mg_ctgc_step(t.gc, NOW, MG_CTGC_BATCH) >= 0);
	assert_int_equal(beflows(fd, 3), 3);
	assert_int_equal(beflows(fd, 5), 2);
	mg_ctgc_set_beflows(t.gc, -1);
	for (uint16_t p = 1; p <= 7; p++) {
		struct mg_ct4_key k = flow4(200, p);

		bpf_map_delete_elem(t.m.ct4, &k);
	}
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_beflows),
		cmocka_unit_test(t_flows),
		cmocka_unit_test(t_replies),
		cmocka_unit_test(t_replies6),
		cmocka_unit_test(t_slices),
	};

	return cmocka_run_group_tests_name("ctgc", tests, setup, teardown);
}
