// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv4/IPv6 addresses and prefixes in struct mg_addr's layout (network
 * order, IPv4 in addr[0]), so what the config and the CLI parse can go
 * into the BPF maps without conversion.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "lib/addr.h"

static unsigned int family_bits(__u8 family)
{
	switch (family) {
	case MG_AF_INET:
		return 32;
	case MG_AF_INET6:
		return 128;
	default:
		return 0;
	}
}

static const __u8 *addr_bytes(const struct mg_addr *addr)
{
	return (const __u8 *)addr->addr;
}

/* True when the first bits of a and b (same family) are equal. */
static bool prefix_bits_equal(const struct mg_addr *a, const struct mg_addr *b,
			      unsigned int bits)
{
	const __u8 *pa = addr_bytes(a), *pb = addr_bytes(b);
	unsigned int bytes = bits / 8, rem = bits % 8;
	__u8 mask;

	if (memcmp(pa, pb, bytes))
		return false;
	if (!rem)
		return true;
	mask = (__u8)(0xff << (8 - rem));
	return !((pa[bytes] ^ pb[bytes]) & mask);
}

int mg_addr_parse(const char *s, struct mg_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, addr->addr) != 1)
			return -EINVAL;
		addr->family = MG_AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, &addr->addr[0]) != 1)
			return -EINVAL;
		addr->family = MG_AF_INET;
	}
	return 0;
}

int mg_prefix_parse(const char *s, struct mg_prefix *pfx)
{
	char buf[MG_ADDRSTRLEN];
	const char *slash = strchr(s, '/'), *p;
	unsigned int len = 0, max, bits;
	const __u8 *bytes;

	memset(pfx, 0, sizeof(*pfx));
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (mg_addr_parse(buf, &pfx->addr))
		goto err;

	/* Decimal digits only: no sign, no space, at most three of them. */
	p = slash + 1;
	if (!*p || strlen(p) > 3)
		goto err;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto err;
		len = len * 10 + (unsigned int)(*p - '0');
	}
	max = family_bits(pfx->addr.family);
	if (len > max)
		goto err;

	/* Host bits must be zero: "10.1.0.1/16" is almost always a typo. */
	bytes = addr_bytes(&pfx->addr);
	for (bits = len; bits < max; bits++)
		if (bytes[bits / 8] & (0x80 >> (bits % 8)))
			goto err;
	pfx->len = (__u8)len;
	return 0;
err:
	memset(pfx, 0, sizeof(*pfx));
	return -EINVAL;
}

const char *mg_addr_str(const struct mg_addr *addr, char *buf, size_t len)
{
	int af;

	switch (addr->family) {
	case MG_AF_INET:
		af = AF_INET;
		break;
	case MG_AF_INET6:
		af = AF_INET6;
		break;
	default:
		snprintf(buf, len, "%s", addr->family ? "invalid" : "unset");
		return buf;
	}
	if (!inet_ntop(af, addr->addr, buf, (socklen_t)len) && len)
		buf[0] = '\0';
	return buf;
}

const char *mg_addr_port_str(const struct mg_addr *addr, unsigned int port,
			     char *buf, size_t len)
{
	char a[MG_ADDRSTRLEN];

	mg_addr_str(addr, a, sizeof(a));
	if (addr->family == MG_AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
	return buf;
}

const char *mg_prefix_str(const struct mg_prefix *pfx, char *buf, size_t len)
{
	char a[MG_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", mg_addr_str(&pfx->addr, a, sizeof(a)),
		 pfx->len);
	return buf;
}

bool mg_addr_equal(const struct mg_addr *a, const struct mg_addr *b)
{
	if (a->family != b->family)
		return false;
	return prefix_bits_equal(a, b, family_bits(a->family));
}

bool mg_prefix_equal(const struct mg_prefix *a, const struct mg_prefix *b)
{
	return a->len == b->len && mg_addr_equal(&a->addr, &b->addr);
}

bool mg_prefix_overlap(const struct mg_prefix *a, const struct mg_prefix *b)
{
	unsigned int max = family_bits(a->addr.family);
	unsigned int len = a->len < b->len ? a->len : b->len;

	if (a->addr.family != b->addr.family || !max)
		return false;
	return prefix_bits_equal(&a->addr, &b->addr, len < max ? len : max);
}

bool mg_prefix_contains(const struct mg_prefix *pfx, const struct mg_addr *addr)
{
	unsigned int max = family_bits(addr->family);

	if (pfx->addr.family != addr->family || !max)
		return false;
	return prefix_bits_equal(&pfx->addr, addr,
				 pfx->len < max ? pfx->len : max);
}
