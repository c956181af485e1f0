/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one table of packet outcomes.  The datapath counts every packet it
 * sees under exactly one of these; the CLI and the metrics take their names
 * and descriptions from the same table.  Append only: the numbers index the
 * pinned per-CPU counter map.
 *
 * X(ENUM, "name", CLASS, "what it means")
 *
 * CLASS is what an operator alerts on: FORWARD (the packet went on, here
 * or to the kernel), DROP (the packet was refused: bad, spoofed or not
 * ours), ERROR (the gateway could not do its job: a full map, no route,
 * no live gateway).
 */
#ifndef MESHGATE_REASONS_H
#define MESHGATE_REASONS_H

#define MG_REASON_TABLE(X)						\
	X(PASS,		  "pass", FORWARD,		"not for the mesh; passed to the kernel untouched") \
	X(ENCAP,	  "encap", FORWARD,		"encapsulated and sent to a remote gateway") \
	X(DECAP,	  "decap", FORWARD,		"decapsulated and sent to the cluster side") \
	X(DECAP_STACK,	  "decap_stack", FORWARD,	"decapsulated; handed to the kernel to resolve the pod's neighbour") \
	X(TTL_EXCEEDED,	  "ttl_exceeded", FORWARD,	"inner TTL expires here; handed to the kernel, which answers with ICMP") \
	X(DROP_MALFORMED, "malformed", DROP,		"truncated or inconsistent headers") \
	X(DROP_CSUM,	  "bad_checksum", DROP,	"outer IPv4 header checksum is wrong") \
	X(DROP_FRAG,	  "fragment", DROP,		"fragmented tunnel packet") \
	X(DROP_IP_OPTS,	  "ip_options", DROP,		"tunnel packet with IPv4 options or IPv6 extension headers") \
	X(DROP_VXLAN_FLAGS, "vxlan_flags", DROP,	"VXLAN header without the I flag") \
	X(DROP_PEER_UNKNOWN, "peer_unknown", DROP,	"tunnel packet from an address that is not a peer gateway") \
	X(DROP_VNI,	  "vni_mismatch", DROP,	"VNI is not the sending peer's cluster id") \
	X(DROP_INNER_SRC, "inner_src_spoof", DROP,	"inner source is not in the sending peer's cluster") \
	X(DROP_INNER_DST, "inner_dst_foreign", DROP,	"inner destination is not in this cluster") \
	X(DROP_INNER_PROTO, "inner_proto", DROP,	"inner packet is neither IPv4 nor IPv6") \
	X(DROP_SRC_FOREIGN, "src_not_local", DROP,	"packet for a remote cluster from a source outside this cluster") \
	X(DROP_NO_GATEWAY, "no_gateway", ERROR,	"remote cluster has no live gateway") \
	X(DROP_NO_ROUTE,  "no_route", ERROR,		"the underlay or cluster side has no route") \
	X(DROP_NO_NEIGH,  "no_neigh", ERROR,		"underlay next hop not resolved yet") \
	X(DROP_HEADROOM,  "headroom", ERROR,		"could not grow or shrink the packet") \
	X(ICMP_FRAG_NEEDED, "icmp_frag_needed", FORWARD,	"IPv4 with DF too big for the path: answered with ICMP fragmentation needed") \
	X(ICMP6_TOO_BIG,  "icmp6_too_big", FORWARD,	"IPv6 too big for the path: answered with ICMPv6 packet too big") \
	X(FRAG_STACK,	  "frag_stack", FORWARD,		"IPv4 without DF too big for the path: handed to the kernel to fragment") \
	X(DROP_FRAG_NEEDED, "frag_drop", DROP,	"IPv4 without DF (or a later fragment) too big for the path: dropped") \
	X(MSS_CLAMPED,	  "mss_clamped", FORWARD,	"TCP SYN encapsulated with its MSS lowered to fit the tunnel") \
	X(LB_LOCAL,	  "lb_local", FORWARD,		"service packet NATed to a backend of this cluster") \
	X(LB_REPLY,	  "lb_reply", FORWARD,		"a local backend's reply reverse-NATed to the client") \
	X(LB_STACK,	  "lb_stack", FORWARD,		"service packet NATed; handed to the kernel to resolve the next hop") \
	X(DROP_NO_BACKEND, "no_backend", DROP,	"service has no healthy backend") \
	X(DROP_VIP_FRAG,  "vip_fragment", DROP,	"fragmented packet to a service VIP") \
	X(DROP_CT,	  "ct_update", ERROR,		"a service flow could not be tracked (map update failed)") \
	X(DROP_NO_SNAT,	  "no_snat", ERROR,		"no source address or free port to NAT a flow to a local backend") \
	X(DROP_CT_NO_SYN, "ct_no_syn", DROP,		"TCP packet without SYN to a local backend's service, of no live flow: it opens none") \
	X(DROP_OUTER_CSUM, "outer_csum", DROP,	"tunnel packet over IPv6 whose (non-zero) UDP checksum is wrong") \
	X(PASS_OTHER_HOST, "other_host", FORWARD,	"IP frame for another MAC than the interface's (or on one mg_ifs does not describe): passed to the kernel untouched, which routes none") \
	X(DROP_TUNNEL_IF, "tunnel_wrong_if", DROP,	"tunnel packet on an interface that is not an underlay one") \
	X(DROP_NO_ROOM,	  "no_room", ERROR,		"routed into the host device for the mesh, but in no endpoint or service map: no room was left for its prefix (map full: see the agent's log)") \
	X(ECHO,		  "echo", FORWARD,		"a peer gateway's liveness probe, sent back to it") \
	X(DROP_NOT_LEARNED, "not_learned", DROP,	"tunnel packet from a known peer whose inner source is in no prefix learned yet, while the gateway is still starting (before its mesh state is first complete)") \
	X(DROP_POLICY,	  "policy_denied", DROP,	"denied by the destination cluster's policy (a rule or its default; meshgate policy list)") \
	X(NO_BACKEND_RESET, "no_backend_reset", FORWARD,	"new flow to a service with no healthy backend: answered with a TCP RST or ICMP port unreachable (on_no_backend = reset)") \
	X(DROP_RATE_LIMITED, "rate_limited", DROP,	"service packet or new flow over the service's rate_pps or newflow_rate") \
	X(DROP_OVERLOADED, "overloaded", DROP,	"new flow to a service whose every backend holds max_flows_per_backend flows: answered with RST or ICMP unless on_no_backend = drop")

enum mg_reason_class {
	MG_CLASS_FORWARD,
	MG_CLASS_DROP,
	MG_CLASS_ERROR,
};

enum mg_reason {
#define MG_REASON_ENUM(e, name, cls, desc) MG_##e,
	MG_REASON_TABLE(MG_REASON_ENUM)
#undef MG_REASON_ENUM
	MG_REASON_MAX,
};

/* Room for reasons added later without recreating the counter map. */
#define MG_STATS_SLOTS		64

#endif
