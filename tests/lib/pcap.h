/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tiny pcap reader for tests: classic pcap (either byte order, µs or ns),
 * link types Ethernet, Linux cooked, raw IP and BSD loopback; IPv4/IPv6 with
 * UDP and TCP.  TCP is reassembled per direction (4-tuple) in sequence order,
 * which is enough for loopback captures without loss.
 */
#ifndef MGT_PCAP_H
#define MGT_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcap_endpoint {
	uint8_t family;			/* 4 or 6 */
	uint8_t addr[16];
	uint16_t port;
};

struct pcap_udp {
	double ts;
	struct pcap_endpoint src, dst;
	uint8_t *data;
	size_t len;
};

/* One direction of one TCP connection. */
struct pcap_tcp_stream {
	double ts;			/* first payload byte */
	struct pcap_endpoint src, dst;
	uint8_t *data;
	size_t len;
};

struct pcap_capture {
	struct pcap_udp *udp;
	size_t n_udp;
	struct pcap_tcp_stream *tcp;	/* streams with at least one byte */
	size_t n_tcp;
};

/* Read a whole capture.  Returns 0 or -errno (-EBADMSG: not a pcap we read). */
int pcap_load(const char *path, struct pcap_capture *cap);
void pcap_free(struct pcap_capture *cap);

/*
 * Directory of the memberlist captures: $MG_TESTDATA if set, else
 * <repo>/../shared/testdata/memberlist with <repo> found by walking up from
 * the test binary, then from the working directory.  NULL if not found.
 */
const char *mgt_testdata_dir(void);
/* mgt_testdata_dir()/@name in a static buffer, or NULL. */
const char *mgt_testdata_path(const char *name);

/*
 * Test vectors are written as hex with spaces, and '...' quoted ASCII
 * ("a4 'Node' a1 'a'").  Returns a malloc'd buffer and its length in *len;
 * aborts on a malformed vector (a test bug, not a test failure).
 */
uint8_t *mgt_unhex(const char *s, size_t *len);

#endif
