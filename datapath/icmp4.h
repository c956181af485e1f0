/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ICMPv4 header and the types the datapath answers or translates.
 *
 * <linux/icmp.h> pulls in <linux/if.h>, which includes glibc's
 * <sys/socket.h> outside the kernel: a BPF object would then need the
 * 32-bit glibc headers (gnu/stubs-32.h) to build.  The BPF objects include
 * kernel UAPI and libbpf headers only (tests/build checks it), so the few
 * definitions used here are spelled out, with the UAPI's names and values.
 */
#ifndef MG_DP_ICMP4_H
#define MG_DP_ICMP4_H

#include <linux/types.h>

#ifndef ICMP_DEST_UNREACH
#define ICMP_DEST_UNREACH	3
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAMETERPROB	12
#define ICMP_FRAG_NEEDED	4	/* code of ICMP_DEST_UNREACH */
#endif
#ifndef ICMP_PORT_UNREACH
#define ICMP_PORT_UNREACH	3	/* code of ICMP_DEST_UNREACH */
#endif

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
		__u8 reserved[4];
	} un;
};

#endif /* MG_DP_ICMP4_H */
