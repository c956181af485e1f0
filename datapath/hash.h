/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow hash: the final mix of Bob Jenkins' lookup3, on three words. */
#ifndef MG_DP_HASH_H
#define MG_DP_HASH_H

#include <linux/types.h>

#define mg_rol32(x, k) (((x) << (k)) | ((x) >> (32 - (k))))

static __always_inline __u32 mg_hash3(__u32 a, __u32 b, __u32 c)
{
	a += 0xdeadbeef;
	b += 0xdeadbeef;
	c += 0xdeadbeef;
	c ^= b; c -= mg_rol32(b, 14);
	a ^= c; a -= mg_rol32(c, 11);
	b ^= a; b -= mg_rol32(a, 25);
	c ^= b; c -= mg_rol32(b, 16);
	a ^= c; a -= mg_rol32(c, 4);
	b ^= a; b -= mg_rol32(a, 14);
	c ^= b; c -= mg_rol32(b, 24);
	return c;
}

/* An IPv6 address (network order words) folded to one word for mg_hash3. */
static __always_inline __u32 mg_fold6w(const __u32 *a)
{
	return a[0] ^ a[1] ^ a[2] ^ a[3];
}

#endif
