/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MG_ADDR_H
#define MG_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <meshgate/abi.h>

/* An IPv4 or IPv6 prefix; addr uses struct mg_addr's layout (network order). */
struct mg_prefix {
	struct mg_addr addr;
	__u8 len;		/* 0..32 or 0..128 */
};

#define MG_ADDRSTRLEN	46	/* INET6_ADDRSTRLEN */
#define MG_PREFIXSTRLEN	(MG_ADDRSTRLEN + 4)
#define MG_ADDRPORTSTRLEN	(MG_ADDRSTRLEN + 8)

/* "192.0.2.1" or "2001:db8::1" -> addr.  Returns 0 or -EINVAL. */
int mg_addr_parse(const char *s, struct mg_addr *addr);
/* "10.1.0.0/16" or "fd00::/64"; host bits must be zero.  0 or -EINVAL. */
int mg_prefix_parse(const char *s, struct mg_prefix *pfx);
/* Writes into buf (MG_ADDRSTRLEN / MG_PREFIXSTRLEN); returns buf. */
const char *mg_addr_str(const struct mg_addr *addr, char *buf, size_t len);
const char *mg_prefix_str(const struct mg_prefix *pfx, char *buf, size_t len);
/* "192.0.2.1:80" or "[2001:db8::1]:80" (MG_ADDRPORTSTRLEN); returns buf. */
const char *mg_addr_port_str(const struct mg_addr *addr, unsigned int port,
			     char *buf, size_t len);

bool mg_addr_equal(const struct mg_addr *a, const struct mg_addr *b);
/* Same family, same length, same network bits. */
bool mg_prefix_equal(const struct mg_prefix *a, const struct mg_prefix *b);
/* True when the two prefixes share any address (same family only). */
bool mg_prefix_overlap(const struct mg_prefix *a, const struct mg_prefix *b);
/* True when addr lies inside pfx. */
bool mg_prefix_contains(const struct mg_prefix *pfx, const struct mg_addr *addr);

#endif
