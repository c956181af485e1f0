/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Compile-time limits shared by the datapath and the agent.  Each one sizes a
 * BPF map or a fixed array in a map value, so it is part of the ABI: change it
 * and the maps that depend on it must be recreated (see docs/maps.md).
 */
#ifndef MESHGATE_LIMITS_H
#define MESHGATE_LIMITS_H

#ifndef MG_MAX_ENDPOINTS
#define MG_MAX_ENDPOINTS	131072	/* prefixes in mg_ep4, and in mg_ep6 */
#endif
#ifndef MG_MAX_LOCAL_ENDPOINTS
#define MG_MAX_LOCAL_ENDPOINTS	16384	/* own prefixes in mg_local4/6 */
#endif
#ifndef MG_MAX_PEERS
#define MG_MAX_PEERS		1024	/* peer gateways (tunnel addresses) */
#endif
#ifndef MG_MAX_NEXTHOPS
#define MG_MAX_NEXTHOPS		1024	/* underlay next hops per family */
#endif
#ifndef MG_MAX_TX_IFACES
#define MG_MAX_TX_IFACES	64	/* interfaces in the redirect devmap */
#endif

#ifndef MG_LB_MAX_SERVICES
#define MG_LB_MAX_SERVICES	256	/* global services (Maglev tables) */
#endif
#ifndef MG_LB_MAX_BACKENDS
#define MG_LB_MAX_BACKENDS	4096	/* backend slots over all services */
#endif
#ifndef MG_LB_PIN_ENTRIES
#define MG_LB_PIN_ENTRIES	65536	/* service flows pinned to a peer (LRU) */
#endif
#ifndef MG_LB_CT_ENTRIES
#define MG_LB_CT_ENTRIES	262144	/* tracked service flows (LRU) */
#endif

#ifndef MG_POL_MAX_DST
/*
 * policy destination classes, per family (mg_pold4/6: hashes, charged
 * whole by the kernel: test_limits measured a gateway without services at
 * 15 MiB with this size, 16 with 65536, 18 with 131072; its bound is 16)
 */
#define MG_POL_MAX_DST		32768
#endif
#ifndef MG_POL_MAX_ENTRIES
#define MG_POL_MAX_ENTRIES	4194304	/* compiled sources (each LPM map;
					 * allocated as used) */
#endif
#ifndef MG_POL_HASH_MAX
/*
 * compiled verdicts and ports (mg_polv, mg_polp): hash maps, whose bucket
 * array (16 B a slot) the kernel allocates whole, so it counts against a
 * gateway's BPF memory even unused (4M slots were 128 MiB of the two).
 */
#define MG_POL_HASH_MAX		65536
#endif
#ifndef MG_POL_CT_ENTRIES
#define MG_POL_CT_ENTRIES	16384	/* flows allowed, for replies (LRU) */
#endif

#define MG_MAX_CLUSTERS		256	/* cluster ids are 1..255; 0 is invalid */
#define MG_CLUSTER_GW_MAX	8	/* gateways kept per remote cluster */
#define MG_GW_SLOTS		16	/* flow-hash slots spread over them */

/* Slots of every service's Maglev table: prime (agent/maglev.h). */
#define MG_LB_RING_SIZE		16381

#define MG_VXLAN_PORT_DEFAULT	4789
#define MG_PIN_DIR_DEFAULT	"/sys/fs/bpf/meshgate"

/* Bytes VXLAN adds in front of the inner Ethernet frame. */
#define MG_VXLAN_HDR_LEN	8
#define MG_ENCAP4_LEN		(14 + 20 + 8 + MG_VXLAN_HDR_LEN)	/* 50 */
#define MG_ENCAP6_LEN		(14 + 40 + 8 + MG_VXLAN_HDR_LEN)	/* 70 */

/*
 * The largest packet an ICMP error may be (RFC 1812 4.3.2.3, RFC 4443
 * 2.4 (c)): the error quotes as much of the original as fits.
 */
#define MG_ICMP4_MAX		576
#define MG_ICMP6_MAX		1280

#endif
