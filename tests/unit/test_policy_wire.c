// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gossiped form of a cluster's policy (policy.h, docs/policy.md):
 * every kind of rule encodes to at most a replicated value and decodes
 * back to the same rule; the header likewise; the state key of a rule;
 * anything a peer could send that is not a rule's exact encoding (bad
 * verdicts, kinds, protocols, families, lengths, host bits, reversed
 * ports, trailing or missing bytes) is refused, never read past.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "state/state.h"
#include "policy.h"

static const char *const rules[] = {
	"10 allow from cluster 7 to 10.1.0.0/24 proto tcp port 80-90",
	"11 deny from 10.2.7.0/24 to any proto any",
	"12 allow from any to fd00:1::/64 proto icmp",
	"13 deny from fd00:2::/48 to fd00:1:0:5::/64 proto udp port 53",
	"16777215 allow from any to any proto any",
};

static void roundtrip(void **state)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct mg_pol_rule r, d;
		uint8_t buf[MG_POL_WIRE_MAX];
		char err[160], a[MG_POL_TEXT_MAX], b[MG_POL_TEXT_MAX];
		int n;

		if (mg_pol_rule_parse(rules[i], &r, err, sizeof(err)))
			print_error("%s: %s\n", rules[i], err);
		assert_int_equal(
			mg_pol_rule_parse(rules[i], &r, err, sizeof(err)), 0);
		if (r.src_kind == MG_POL_SRC_CLUSTER)
			r.src_cluster = 7; /* resolved by the owner */
		n = mg_pol_rule_encode(&r, buf, sizeof(buf));
		assert_true(n > 0 && n <= MG_STATE_VAL_MAX);
		assert_int_equal(mg_pol_rule_decode(r.id, buf, (size_t)n, &d,
						    err, sizeof(err)),
				 0);
		assert_string_equal(mg_pol_rule_str(&d, a, sizeof(a)),
				    mg_pol_rule_str(&r, b, sizeof(b)));
		assert_int_equal(d.src_cluster, r.src_cluster);
		assert_int_equal(d.verdict, r.verdict);
		/* Too small a buffer: refused, not overrun. */
		assert_int_equal(mg_pol_rule_encode(&r, buf, (size_t)n - 1),
				 -ENOSPC);
		/* Every truncation and one trailing byte: refused. */
		n = mg_pol_rule_encode(&r, buf, sizeof(buf));
		for (int k = 0; k < n; k++)
			assert_int_equal(mg_pol_rule_decode(r.id, buf,
							    (size_t)k, &d, err,
							    sizeof(err)),
					 -EINVAL);
		buf[n] = 0;
		assert_int_equal(mg_pol_rule_decode(r.id, buf, (size_t)n + 1,
						    &d, err, sizeof(err)),
				 -EINVAL);
	}
}

/* Flip each byte of a good encoding every way: decode or refuse, sanely. */
static void malformed(void **state)
{
	struct mg_pol_rule r, d;
	uint8_t buf[MG_POL_WIRE_MAX], bad[MG_POL_WIRE_MAX];
	char err[160];
	int n, refused = 0;

	assert_int_equal(mg_pol_rule_parse(rules[0], &r, err, sizeof(err)), 0);
	r.src_cluster = 7;
	n = mg_pol_rule_encode(&r, buf, sizeof(buf));
	for (int k = 0; k < n; k++)
		for (int v = 0; v < 256; v++) {
			memcpy(bad, buf, (size_t)n);
			bad[k] = (uint8_t)v;
			if (mg_pol_rule_decode(r.id, bad, (size_t)n, &d, err,
					       sizeof(err))) {
				refused++;
				assert_true(strstr(err, "rule 10") != NULL);
				continue;
			}
			/* Taken: it must be a rule that encodes the same. */
			uint8_t again[MG_POL_WIRE_MAX];
			assert_int_equal(mg_pol_rule_encode(&d, again,
							    sizeof(again)),
					 n);
			assert_memory_equal(again, bad, (size_t)n);
			assert_true(d.verdict == MG_POL_ALLOW ||
				    d.verdict == MG_POL_DENY);
			assert_true(d.port_lo <= d.port_hi);
		}
	assert_true(refused > 0);
	/* Specific bad ones. */
	memcpy(bad, buf, (size_t)n);
	bad[1] = 3; /* verdict */
	assert_int_equal(mg_pol_rule_decode(10, bad, (size_t)n, &d, err,
					    sizeof(err)),
			 -EINVAL);
	memcpy(bad, buf, (size_t)n);
	bad[4] = 9; /* protocol */
	assert_int_equal(mg_pol_rule_decode(10, bad, (size_t)n, &d, err,
					    sizeof(err)),
			 -EINVAL);
	memcpy(bad, buf, (size_t)n);
	bad[5] = 0xff; /* port_lo 65360 > port_hi 90 */
	assert_int_equal(mg_pol_rule_decode(10, bad, (size_t)n, &d, err,
					    sizeof(err)),
			 -EINVAL);
	memcpy(bad, buf, (size_t)n);
	bad[3] = 0; /* from cluster 0 */
	assert_int_equal(mg_pol_rule_decode(10, bad, (size_t)n, &d, err,
					    sizeof(err)),
			 -EINVAL);
	memcpy(bad, buf, (size_t)n);
	bad[n - 1] |= 1; /* a host bit of 10.1.0.0/24 */
	assert_int_equal(mg_pol_rule_decode(10, bad, (size_t)n, &d, err,
					    sizeof(err)),
			 -EINVAL);
	/* Id 0 is the header's, past the maximum is no rule. */
	assert_int_equal(mg_pol_rule_decode(0, buf, (size_t)n, &d, err,
					    sizeof(err)),
			 -EINVAL);
}

static void header(void **state)
{
	struct mg_pol_hdr h = { .def_in = MG_POL_DENY, .n = 4096 }, d;
	uint8_t buf[MG_POL_WIRE_MAX];
	int n = mg_pol_hdr_encode(&h, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(mg_pol_hdr_decode(buf, (size_t)n, &d), 0);
	assert_int_equal(d.def_in, MG_POL_DENY);
	assert_int_equal(d.n, 4096);
	assert_int_equal(d.flags, 0);
	h.n = MG_POL_GOSSIP_MAX + 1; /* past the bound: refused */
	n = mg_pol_hdr_encode(&h, buf, sizeof(buf));
	assert_int_equal(mg_pol_hdr_decode(buf, (size_t)n, &d), -EINVAL);
	h.n = 1;
	n = mg_pol_hdr_encode(&h, buf, sizeof(buf));
	buf[2] = 0x80; /* unknown flag */
	assert_int_equal(mg_pol_hdr_decode(buf, (size_t)n, &d), -EINVAL);
	buf[2] = 0;
	buf[1] = 0; /* no default */
	assert_int_equal(mg_pol_hdr_decode(buf, (size_t)n, &d), -EINVAL);
	buf[1] = MG_POL_ALLOW;
	assert_int_equal(mg_pol_hdr_decode(buf, (size_t)n - 1, &d), -EINVAL);
	h.def_in = 0;
	assert_int_equal(mg_pol_hdr_encode(&h, buf, sizeof(buf)), -EINVAL);
}

/* The state key of a rule: 4 bytes, the id; anything else refused. */
static void state_key(void **state)
{
	struct mg_state_key k = { .kind = MG_STATE_POLICY,
				  .pol_id = 0x00abcdef },
			    d;
	uint8_t buf[MG_STATE_KEY_MAX];
	int n = mg_state_key_encode(&k, buf, sizeof(buf));

	assert_int_equal(n, 4);
	assert_int_equal(mg_state_key_decode(MG_STATE_POLICY, buf, 4, &d), 0);
	assert_int_equal(d.pol_id, 0x00abcdef);
	assert_int_equal(mg_state_key_decode(MG_STATE_POLICY, buf, 3, &d),
			 -EINVAL);
	assert_int_equal(mg_state_key_decode(MG_STATE_POLICY, buf, 5, &d),
			 -EINVAL);
	assert_int_equal(mg_state_key_encode(&k, buf, 3), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(malformed),
		cmocka_unit_test(header),
		cmocka_unit_test(state_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
