/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal pcapng writer (draft-ietf-opsawg-pcapng): one Section Header
 * Block, an Interface Description Block per interface the first time a
 * packet of it is written (Ethernet, with its name), and an Enhanced
 * Packet Block per packet with a comment (what the datapath did with it).
 * Each block is flushed as it is written, so a capture cut short is still
 * readable up to its last packet.
 */
#ifndef MG_LIB_PCAPNG_H
#define MG_LIB_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#define MG_PCAPNG_IFS	64

struct mg_pcapng {
	FILE *f;
	uint32_t snaplen;
	int n_ifs;
	uint32_t ifindex[MG_PCAPNG_IFS];	/* interface id -> ifindex */
};

/* Create path and write the section header; 0 or -errno. */
int mg_pcapng_open(struct mg_pcapng *p, const char *path, uint32_t snaplen);
/*
 * One packet: cap bytes of data, len on the wire, ts_ns since the epoch,
 * seen on ifindex (named ifname), with comment (NULL: none).  0 or -errno.
 */
int mg_pcapng_write(struct mg_pcapng *p, uint64_t ts_ns, uint32_t ifindex,
		    const char *ifname, const void *data, uint32_t cap,
		    uint32_t len, const char *comment);
int mg_pcapng_close(struct mg_pcapng *p);

#endif
