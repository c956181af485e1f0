// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration parser: every error path by the exact
 * "PATH:LINE: [section] key:" it reports, the good path field by field, and
 * every file shipped in firmware-config/.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "config.h"
#include "lib/log.h"

static struct mg_config *cfg;

/* Loads text as "t.conf"; returns what it wrote to errf (free it). */
static char *load(const char *text, int *rc)
{
	char *out = NULL;
	size_t len = 0;
	FILE *errf = open_memstream(&out, &len);

	assert_non_null(errf);
	*rc = mg_config_load_string(cfg, "t.conf", text, errf);
	fclose(errf);
	return out;
}

/*
 * The errors must be exactly these lines, in this order, each starting with
 * the given prefix and going on with a message.
 */
static void expect_errors(const char *text, const char *const *want)
{
	char *out, *line, *save = NULL;
	int rc, i = 0;

	out = load(text, &rc);
	if (rc != -EINVAL)
		fail_msg("rc %d, errors:\n%s", rc, out);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		if (!want[i])
			fail_msg("unexpected error: %s", line);
		if (strncmp(line, want[i], strlen(want[i])) ||
		    strlen(line) < strlen(want[i]) + 2)
			fail_msg("expected \"%s...\", got \"%s\"", want[i], line);
		print_message("    %s\n", line);
	}
	if (want[i])
		fail_msg("missing error \"%s...\"", want[i]);
	free(out);
}

static void expect_ok(const char *text)
{
	char *out;
	int rc;

	out = load(text, &rc);
	if (rc)
		fail_msg("rc %d, errors:\n%s", rc, out);
	assert_string_equal(out, "");
	free(out);
}

struct err_case {
	const char *text;
	const char *want[8];
};

static void run_err_case(void **state)
{
	const struct err_case *c = *state;

	expect_errors(c->text, c->want);
}

/* Building blocks; BASE is a valid config of lines 1 to 7. */
#define CL(name, id, cidr) \
	"[cluster]\nname = " name "\nid = " id "\ncidr = " cidr "\n"
#define GW(tun, cif) \
	"[gateway]\ntunnel_address = " tun "\ncluster_interface = " cif "\n"
#define BASE	CL("east", "1", "10.1.0.0/16") GW("192.168.100.1", "eth0")
/* Five lines: header, cluster, cluster_id, tunnel_address, cidr. */
#define PEER(n, c, id, tun, cidr)					\
	"[peer " n "]\ncluster = " c "\ncluster_id = " id		\
	"\ntunnel_address = " tun "\ncidr = " cidr "\n"
#define PEER_W	PEER("west-gw1", "west", "2", "192.168.100.2", "10.2.0.0/16")
#define X16	"xxxxxxxxxxxxxxxx"
#define X64	X16 X16 X16 X16

#define ERR(nm, txt, ...)						\
	{ .name = nm, .test_func = run_err_case,			\
	  .initial_state = &(struct err_case){ txt, { __VA_ARGS__ } } }
/* A bad "key = value" line; the expected prefix is "[section] key: ". */
#define AGENT(k, v)	ERR("agent " k " = " v, BASE "[agent]\n" k " = " v "\n", \
			    "t.conf:9: [agent] " k ": ")
#define GWKEY(k, v)	ERR("gateway " k " = " v,				\
			    BASE "[gateway]\n" k " = " v "\n",		\
			    "t.conf:9: [gateway] " k ": ")
#define GOSSIP(k, v)	ERR("gossip " k " = " v,				\
			    BASE "[gossip]\n" k " = " v "\n",		\
			    "t.conf:9: [gossip] " k ": ")
#define CLBAD(what, name, id, cidr, line, key)				\
	ERR("cluster " what, CL(name, id, cidr) GW("192.168.100.1", "eth0"), \
	    "t.conf:" #line ": [cluster] " key ": ")
#define PEERBAD(what, c, id, tun, cidr, line, key)			\
	ERR("peer " what, BASE PEER("west-gw1", c, id, tun, cidr),	\
	    "t.conf:" #line ": [peer west-gw1] " key ": ")

/* --- [service NAME] --------------------------------------------------------- */
/* Three lines: header, vip, port (lines 8 to 10 after BASE). */
#define SVCSECT(n)	"[service " n "]\nvip = 10.96.0.10\nport = 80\n"
#define SVCBAD(k, v)	ERR("service " k " = " v,			\
			    BASE SVCSECT("web") k " = " v "\n",		\
			    "t.conf:11: [service web] " k ": ")
#define SERVICE_CASES							\
	SVCBAD("vip", "10.96.0.300"),					\
	SVCBAD("port", "0"),						\
	SVCBAD("proto", "sctp"),					\
	SVCBAD("affinity", "near"),					\
	SVCBAD("min_local", "33"),					\
	SVCBAD("backend", "10.1.0.20"),					\
	SVCBAD("backend", "10.1.0.20:0"),				\
	SVCBAD("backend", "10.1.0.20:80 0"),				\
	SVCBAD("backend", "fd00::20:80"),				\
	SVCBAD("backend", "[fd00::20:80"),				\
	SVCBAD("backend", "[fd00::20]80"),				\
	SVCBAD("backend", "[10.1.0.20]:80"),				\
	SVCBAD("backend", "[fd00::20]:0"),				\
	ERR("IPv6 backend of an IPv4 VIP",				\
	    BASE SVCSECT("web") "backend = [fd00::20]:80\n",		\
	    "t.conf:11: [service web] backend: backend fd00::20 is IPv6 but the VIP is IPv4: one family per"), \
	ERR("IPv4 backend of an IPv6 VIP",				\
	    BASE "[service web6]\nvip = fd00:96::10\nport = 80\n"	\
	    "backend = [fd00::20]:80\nbackend = 10.1.0.20:80\n",	\
	    "t.conf:11: [service web6] backend: backend 10.1.0.20 is IPv4 but the VIP is IPv6: one family per"), \
	SVCBAD("health_interval", "5"),					\
	SVCBAD("rise", "0"),						\
	SVCBAD("fall", "101"),						\
	SVCBAD("bogus", "1"),						\
	ERR("service without a name", BASE "[service]\n",		\
	    "t.conf:8: [service]: "),					\
	ERR("service defined twice", BASE SVCSECT("web") SVCSECT("web"), \
	    "t.conf:11: [service web]: "),				\
	ERR("service without vip", BASE "[service web]\nport = 80\n",	\
	    "t.conf:8: [service web] vip: "),				\
	ERR("service without port", BASE "[service web]\nvip = 10.96.0.1\n", \
	    "t.conf:8: [service web] port: "),				\
	ERR("service timeout past interval",				\
	    BASE SVCSECT("web") "health_interval = 100\nhealth_timeout = 200\n", \
	    "t.conf:12: [service web] health_timeout: "),		\
	ERR("two services on one VIP:port/proto",			\
	    BASE SVCSECT("web") SVCSECT("www"),				\
	    "t.conf:13: [service www] port: ")

/* --- deployment mistakes (issue 10 item 8) ------------------------------- */
#define MISTAKE_CASES							\
	ERR("unknown key: the nearest of its section",			\
	    BASE "[gossip]\nseeds = 192.168.100.2\n",			\
	    "t.conf:9: [gossip] seeds: unknown key (did you mean \"seed\""), \
	ERR("unknown key: a typo",					\
	    BASE "[gateway]\nunderlay_interfce = eth1\n",		\
	    "t.conf:9: [gateway] underlay_interfce: unknown key (did you mean \"underlay_interface\""), \
	ERR("unknown key: the nearest of another section",		\
	    BASE "[gateway]\nprofile = wan\n",			\
	    "t.conf:9: [gateway] profile: unknown key (did you mean \"profile\" in [gossip]"), \
	ERR("unknown key: nothing near, no guess",			\
	    BASE "[agent]\nfrobnicate = yes\n",			\
	    "t.conf:9: [agent] frobnicate: unknown k"),			\
	ERR("VIP inside our pod CIDR",					\
	    BASE "[service web]\nvip = 10.1.2.3\nport = 80\n",	\
	    "t.conf:9: [service web] vip: 10.1.2.3 is inside 10.1.0.0/16, a pod CIDR of cluster \"east\" ([cluster] line 4): a"), \
	ERR("VIP inside a peer's pod CIDR",				\
	    BASE PEER_W "[service web]\nvip = 10.2.0.80\nport = 80\n", \
	    "t.conf:14: [service web] vip: 10.2.0.80 is inside 10.2.0.0/16, a pod CIDR of cluster \"west\" ([peer west-gw1] line 12): a"), \
	ERR("IPv6 VIP inside a pod CIDR",				\
	    BASE "[cluster]\ncidr = fd00:1::/56\n"			\
	    "[service web6]\nvip = fd00:1::10\nport = 80\n",		\
	    "t.conf:11: [service web6] vip: fd00:1::10 is inside fd00:1::/56"), \
	ERR("our tunnel address inside our pod CIDR",			\
	    CL("east", "1", "10.1.0.0/16") GW("10.1.0.1", "eth0"),	\
	    "t.conf:6: [gateway] tunnel_address: 10.1.0.1 is inside 10.1.0.0/16, a pod CIDR of cluster \"east\" ([cluster] line 4): t"), \
	ERR("a peer's tunnel address inside a pod CIDR",		\
	    BASE PEER("west-gw1", "west", "2", "10.2.255.1", "10.2.0.0/16"), \
	    "t.conf:11: [peer west-gw1] tunnel_address: 10.2.255.1 is inside 10.2.0.0/16, a pod CIDR of cluster \"west\" ([peer west-gw1] line 12): t"), \
	GWKEY("udp6_checksum", "enabled"),				\
	GOSSIP("enabled", "2")

/* --- sections and syntax ------------------------------------------------- */
#define SYNTAX_CASES							\
	ERR("unknown section", BASE "[foo]\nx = 1\n", "t.conf:8: [foo]: "), \
	ERR("unknown section like peer", BASE "[peers x]\n",		\
	    "t.conf:8: [peers x]: "),					\
	ERR("unknown key in agent", BASE "[agent]\nbogus = 1\n",	\
	    "t.conf:9: [agent] bogus: "),				\
	ERR("unknown key in cluster", BASE "[cluster]\ncidrs = 10.3.0.0/16\n", \
	    "t.conf:9: [cluster] cidrs: "),				\
	ERR("unknown key in gateway", BASE "[gateway]\nmtu = 1500\n",	\
	    "t.conf:9: [gateway] mtu: "),				\
	ERR("unknown key in peer", BASE PEER_W "vni = 2\n",		\
	    "t.conf:13: [peer west-gw1] vni: "),			\
	ERR("cluster key in gateway", BASE "[gateway]\nid = 1\n",	\
	    "t.conf:9: [gateway] id: "),				\
	ERR("key outside any section", "x = 1\n" BASE, "t.conf:1: [] x: "), \
	ERR("key without value", BASE "[agent]\nlog_level\n",		\
	    "t.conf:9: [agent]: "),					\
	ERR("value without key", BASE "[agent]\n= info\n",		\
	    "t.conf:9: [agent]: "),					\
	ERR("key without value at the end", BASE "[agent]\nlog_level",	\
	    "t.conf:9: [agent]: "),					\
	ERR("header without ]", BASE "[agent\nlog_level = info\n",	\
	    "t.conf:8: [?]: "),						\
	ERR("text after header", BASE "[agent] x\nlog_level = info\n",	\
	    "t.conf:8: [agent]: "),					\
	ERR("header name too long", BASE "[" X64 X16 "]\n",		\
	    "t.conf:8: [" X64),					\
	ERR("all errors in one run",					\
	    "[agent]\nlog_level = loud\n" BASE "[agent]\nbogus = 1\n"	\
	    "[cluster]\nid = 7\n[x]\n",					\
	    "t.conf:2: [agent] log_level: ", "t.conf:11: [agent] bogus: ", \
	    "t.conf:13: [cluster] id: ", "t.conf:14: [x]: ")

/* --- values, every key --------------------------------------------------- */
#define VALUE_CASES							\
	AGENT("pin_dir", "sys/fs/bpf/meshgate"),			\
	AGENT("pin_dir", ""),						\
	AGENT("log_level", "loud"),					\
	AGENT("log_level", "3"),					\
	AGENT("state_dir", "var/lib/meshgate"),				\
	AGENT("control_socket", "meshgate.sock"),			\
	AGENT("control_socket", "/run/" X64 X64),			\
	CLBAD("name bad character", "e@st", "1", "10.1.0.0/16", 2, "name"), \
	CLBAD("name with space", "east west", "1", "10.1.0.0/16", 2, "name"), \
	CLBAD("name empty", "", "1", "10.1.0.0/16", 2, "name"),		\
	CLBAD("name 64 characters", X64, "1", "10.1.0.0/16", 2, "name"), \
	CLBAD("id 0", "east", "0", "10.1.0.0/16", 3, "id"),		\
	CLBAD("id 256", "east", "256", "10.1.0.0/16", 3, "id"),		\
	CLBAD("id negative", "east", "-1", "10.1.0.0/16", 3, "id"),	\
	CLBAD("id with sign", "east", "+1", "10.1.0.0/16", 3, "id"),	\
	CLBAD("id trailing junk", "east", "1x", "10.1.0.0/16", 3, "id"), \
	CLBAD("id hex", "east", "0x10", "10.1.0.0/16", 3, "id"),	\
	CLBAD("id fraction", "east", "1.0", "10.1.0.0/16", 3, "id"),	\
	CLBAD("id empty", "east", "", "10.1.0.0/16", 3, "id"),		\
	CLBAD("id overflow", "east", "99999999999999999999999", "10.1.0.0/16", \
	      3, "id"),							\
	CLBAD("cidr host bits", "east", "1", "10.1.0.1/16", 4, "cidr"), \
	CLBAD("cidr no length", "east", "1", "10.1.0.0", 4, "cidr"),	\
	CLBAD("cidr length 33", "east", "1", "10.1.0.0/33", 4, "cidr"),	\
	CLBAD("cidr v6 host bits", "east", "1", "fd00::1/64", 4, "cidr"), \
	CLBAD("cidr junk", "east", "1", "banana", 4, "cidr"),		\
	ERR("tunnel_address short", CL("east", "1", "10.1.0.0/16")	\
	    GW("192.168.100", "eth0"),					\
	    "t.conf:6: [gateway] tunnel_address: "),			\
	ERR("tunnel_address with length", CL("east", "1", "10.1.0.0/16") \
	    GW("192.168.100.1/24", "eth0"),				\
	    "t.conf:6: [gateway] tunnel_address: "),			\
	ERR("cluster_interface 16 characters", CL("east", "1", "10.1.0.0/16") \
	    GW("192.168.100.1", X16), "t.conf:7: [gateway] cluster_interface: "), \
	ERR("cluster_interface slash", CL("east", "1", "10.1.0.0/16")	\
	    GW("192.168.100.1", "a/b"),					\
	    "t.conf:7: [gateway] cluster_interface: "),			\
	ERR("cluster_interface colon", CL("east", "1", "10.1.0.0/16")	\
	    GW("192.168.100.1", "eth0:1"),				\
	    "t.conf:7: [gateway] cluster_interface: "),			\
	ERR("cluster_interface dot", CL("east", "1", "10.1.0.0/16")	\
	    GW("192.168.100.1", "."),					\
	    "t.conf:7: [gateway] cluster_interface: "),			\
	ERR("cluster_interface blank", CL("east", "1", "10.1.0.0/16")	\
	    GW("192.168.100.1", "eth 0"),				\
	    "t.conf:7: [gateway] cluster_interface: "),			\
	GWKEY("underlay_interface", X16),				\
	GWKEY("underlay_interface", ""),				\
	GWKEY("fragment", "split"),					\
	GWKEY("mss_clamp", "on"),					\
	GWKEY("mss_clamp", "100"),					\
	GWKEY("mss_clamp", "65496"),					\
	GWKEY("mss_clamp", "1400x"),					\
	GWKEY("udp6_checksum", "maybe"),				\
	GWKEY("host_device", X16),					\
	GWKEY("host_device", "mg/0"),					\
	ERR("host_device a gateway interface",				\
	    CL("east", "1", "10.1.0.0/16") GW("192.168.100.1", "eth0")	\
	    "host_device = eth0\n",					\
	    "t.conf:8: [gateway] host_device: eth0 is a gateway interface"), \
	GWKEY("name", "gw 1"),						\
	GWKEY("name", X64),						\
	GWKEY("xdp_mode", "offload"),					\
	GWKEY("xdp_mode", ""),						\
	GWKEY("vxlan_port", "0"),					\
	GWKEY("vxlan_port", "65536"),					\
	GWKEY("vxlan_port", "-4789"),					\
	GWKEY("vxlan_port", "47 89"),					\
	GWKEY("nexthop", "kernel"),					\
	GOSSIP("enabled", "maybe"),					\
	GOSSIP("bind_address", "192.168.100"),				\
	GOSSIP("port", "0"),						\
	GOSSIP("advertise_address", "host"),				\
	GOSSIP("profile", "datacenter"),				\
	GOSSIP("seed", "192.168.100.2:"),				\
	GOSSIP("seed", "192.168.100.2:99999"),				\
	GOSSIP("seed", "[fd00::1]x"),					\
	GOSSIP("seed", "gw2:7946"),					\
	GOSSIP("key", "not-base64!"),					\
	GOSSIP("key", "AAAAAAAAAAAAAAAAAAAA"),			\
	GOSSIP("key", "AAAAAAAAAAAAAAAA"),		\
	GOSSIP("echo_interval", "60001"),				\
	GOSSIP("echo_multiplier", "1"),					\
	GOSSIP("hold_time", "-1"),					\
	GOSSIP("forget_after", "0"),					\
	GOSSIP("drain_hook", "hook.sh drain"),				\
	ERR("cluster route_protocol", BASE "[cluster]\nroute_protocol = 256\n", \
	    "t.conf:9: [cluster] route_protocol: "),			\
	PEERBAD("cluster bad", "w!", "2", "192.168.100.2", "10.2.0.0/16", \
		9, "cluster"),						\
	PEERBAD("cluster_id 0", "west", "0", "192.168.100.2", "10.2.0.0/16", \
		10, "cluster_id"),					\
	PEERBAD("cluster_id 300", "west", "300", "192.168.100.2",	\
		"10.2.0.0/16", 10, "cluster_id"),			\
	PEERBAD("tunnel_address bad", "west", "2", "192.168.100.2.1",	\
		"10.2.0.0/16", 11, "tunnel_address"),			\
	PEERBAD("cidr host bits", "west", "2", "192.168.100.2",		\
		"10.2.0.1/16", 12, "cidr")

/* --- required keys, duplicates, names ----------------------------------- */
#define REQUIRED_CASES							\
	ERR("empty file", "",						\
	    "t.conf:0: [cluster] name: ", "t.conf:0: [cluster] id: ",	\
	    "t.conf:0: [cluster] cidr: ", "t.conf:0: [gateway] tunnel_address: ", \
	    "t.conf:0: [gateway] cluster_interface: "),			\
	ERR("cluster without id and cidr",				\
	    "[cluster]\nname = east\n" GW("192.168.100.1", "eth0"),	\
	    "t.conf:1: [cluster] id: ", "t.conf:1: [cluster] cidr: "),	\
	ERR("gateway without tunnel_address",				\
	    CL("east", "1", "10.1.0.0/16") "[gateway]\ncluster_interface = eth0\n", \
	    "t.conf:5: [gateway] tunnel_address: "),			\
	ERR("peer without keys", BASE "[peer west-gw1]\n",		\
	    "t.conf:8: [peer west-gw1] cluster: ",			\
	    "t.conf:8: [peer west-gw1] cluster_id: ",			\
	    "t.conf:8: [peer west-gw1] tunnel_address: ",		\
	    "t.conf:8: [peer west-gw1] cidr: "),			\
	ERR("peer without cidr", BASE "[peer west-gw1]\ncluster = west\n" \
	    "cluster_id = 2\ntunnel_address = 192.168.100.2\n",		\
	    "t.conf:8: [peer west-gw1] cidr: "),			\
	ERR("key twice", BASE "[agent]\nlog_level = info\nlog_level = debug\n", \
	    "t.conf:10: [agent] log_level: "),				\
	ERR("key twice across sections", BASE "[cluster]\nid = 2\n",	\
	    "t.conf:9: [cluster] id: "),				\
	ERR("bad key twice", BASE "[gateway]\nvxlan_port = x\nvxlan_port = 1\n", \
	    "t.conf:9: [gateway] vxlan_port: ",				\
	    "t.conf:10: [gateway] vxlan_port: "),			\
	ERR("peer key twice", BASE PEER_W "cluster_id = 2\n",		\
	    "t.conf:13: [peer west-gw1] cluster_id: "),			\
	ERR("peer twice", BASE PEER_W "[peer west-gw1]\ncluster = west\n", \
	    "t.conf:13: [peer west-gw1]: "),				\
	ERR("peer without name", BASE "[peer]\ncluster = west\n",	\
	    "t.conf:8: [peer]: "),					\
	ERR("peer name with space", BASE "[peer a b]\n",		\
	    "t.conf:8: [peer a b]: "),					\
	ERR("peer name 64 characters", BASE "[peer " X64 "]\n",	\
	    "t.conf:8: [peer " X64 "]: "),				\
	ERR("peer with own gateway name",				\
	    BASE "[gateway]\nname = gw1\n"				\
	    PEER("gw1", "west", "2", "192.168.100.2", "10.2.0.0/16"),	\
	    "t.conf:10: [peer gw1]: ")

/* --- whole-file checks --------------------------------------------------- */
#define MESH_CASES							\
	ERR("peer with own cluster id",					\
	    BASE PEER("west-gw1", "west", "1", "192.168.100.2", "10.2.0.0/16"), \
	    "t.conf:10: [peer west-gw1] cluster_id: "),			\
	ERR("peer of own cluster",					\
	    BASE PEER("east-gw2", "east", "2", "192.168.100.2", "10.2.0.0/16"), \
	    "t.conf:9: [peer east-gw2] cluster: "),			\
	ERR("one cluster two ids", BASE PEER_W				\
	    PEER("west-gw2", "west", "3", "192.168.100.3", "10.2.0.0/16"), \
	    "t.conf:15: [peer west-gw2] cluster_id: "),			\
	ERR("two clusters one id", BASE PEER_W				\
	    PEER("north-gw1", "north", "2", "192.168.100.3", "10.3.0.0/16"), \
	    "t.conf:15: [peer north-gw1] cluster_id: "),		\
	ERR("cidr overlaps own",					\
	    BASE PEER("west-gw1", "west", "2", "192.168.100.2", "10.1.128.0/17"), \
	    "t.conf:12: [peer west-gw1] cidr: "),			\
	ERR("cidr overlaps other peer", BASE PEER_W			\
	    PEER("north-gw1", "north", "3", "192.168.100.3", "10.2.7.0/24"), \
	    "t.conf:17: [peer north-gw1] cidr: "),			\
	ERR("cidr overlaps in own list", BASE "[cluster]\ncidr = 10.1.0.0/16\n", \
	    "t.conf:9: [cluster] cidr: "),				\
	ERR("cidr nested in own list", BASE "[cluster]\ncidr = 10.0.0.0/8\n", \
	    "t.conf:9: [cluster] cidr: "),				\
	ERR("cidr overlaps in peer list", BASE PEER_W "cidr = 10.2.3.0/24\n", \
	    "t.conf:13: [peer west-gw1] cidr: "),			\
	ERR("cidr v6 overlap",						\
	    BASE "[cluster]\ncidr = fd00:1::/56\n"			\
	    PEER("west-gw1", "west", "2", "192.168.100.2", "fd00::/8"),	\
	    "t.conf:14: [peer west-gw1] cidr: "),			\
	ERR("tunnel_address is own",					\
	    BASE PEER("west-gw1", "west", "2", "192.168.100.1", "10.2.0.0/16"), \
	    "t.conf:11: [peer west-gw1] tunnel_address: "),		\
	ERR("tunnel_address twice", BASE PEER_W				\
	    PEER("north-gw1", "north", "3", "192.168.100.2", "10.3.0.0/16"), \
	    "t.conf:16: [peer north-gw1] tunnel_address: "),		\
	ERR("tunnel_address family we have none of",			\
	    BASE PEER("west-gw1", "west", "2", "fd00::2", "10.2.0.0/16"), \
	    "t.conf:11: [peer west-gw1] tunnel_address: "),		\
	ERR("tunnel_address two of a family",				\
	    BASE "[gateway]\ntunnel_address = 192.168.100.9\n",	\
	    "t.conf:9: [gateway] tunnel_address: "),			\
	ERR("tunnel_address three",					\
	    BASE "[gateway]\ntunnel_address = fd00::1\n"		\
	    "tunnel_address = fd00::9\n",				\
	    "t.conf:10: [gateway] tunnel_address: "),			\
	ERR("peer tunnel_address two of a family", BASE PEER_W		\
	    "tunnel_address = 192.168.100.7\n",			\
	    "t.conf:13: [peer west-gw1] tunnel_address: "),		\
	ERR("peer tunnel_address is our other one",			\
	    BASE "[gateway]\ntunnel_address = fd00::1\n"		\
	    PEER("west-gw1", "west", "2", "fd00::1", "10.2.0.0/16"),	\
	    "t.conf:13: [peer west-gw1] tunnel_address: "),		\
	ERR("peer tunnel_address another peer's v6", BASE		\
	    "[gateway]\ntunnel_address = fd00::1\n" PEER_W		\
	    "tunnel_address = fd00::2\n"				\
	    PEER("north-gw1", "north", "3", "fd00::2", "10.3.0.0/16"),	\
	    "t.conf:19: [peer north-gw1] tunnel_address: ")

/* --- the good path ------------------------------------------------------- */

static const char full_text[] =
	"\xef\xbb\xbf# a comment\r\n"
	"; another\n"
	"[agent]\n"
	"pin_dir = /sys/fs/bpf/mg2\n"
	"log_level = DEBUG\n"
	"state_dir = /var/lib/mg2\n"
	"control_socket = /run/mg2.sock\n"
	"\n"
	"[ cluster ]\n"
	"name = east.prod_1-a\n"
	"id = 255\n"
	"cidr = 10.1.0.0/16\n"
	"\tcidr = 10.9.0.0/24\t; indented, not a continuation\n"
	"  cidr = fd00:1::/56\r\n"
	"[gateway]\n"
	"name = east-gw1\n"
	"tunnel_address = 192.168.100.1 ; inline comment\n"
	"cluster_interface = eth0\n"
	"underlay_interface = enp1s0f0np0\n"
	"xdp_mode = generic\n"
	"vxlan_port = 65535\n"
	"nexthop = fib\n"
	PEER("west-gw1", "west", "2", "192.168.100.2", "10.2.0.0/16")
	"cidr = fd00:2::/56\n"
	"[peer   west-gw2  ]\n"
	"cluster = west\n"
	"cluster_id = 2\n"
	"tunnel_address = 192.168.100.3\n"
	"cidr = 10.2.0.0/16\n"
	"cidr = fd00:2::/56\n"
	PEER("north-gw1", "north", "3", "192.168.100.4", "10.3.0.0/17")
	"cidr = 10.3.128.0/17\n";

static void assert_prefix(const struct mg_prefix *p, const char *want)
{
	char buf[MG_PREFIXSTRLEN];

	assert_string_equal(mg_prefix_str(p, buf, sizeof(buf)), want);
}

static void assert_addr(const struct mg_addr *a, const char *want)
{
	char buf[MG_ADDRSTRLEN];

	assert_string_equal(mg_addr_str(a, buf, sizeof(buf)), want);
}

static void test_good_service(void **state)
{
	expect_ok(BASE SVCSECT("web")
		  "proto = udp\naffinity = local\nmin_local = 2\n"
		  "backend = 10.1.0.20:8080\nbackend = 10.1.0.21:8081 7\n"
		  "health_interval = 300\nhealth_timeout = 100\n"
		  "rise = 4\nfall = 5\n"
		  SVCSECT("tcp-web"));
	assert_int_equal(cfg->n_services, 2);
	assert_string_equal(cfg->services[0].name, "web");
	assert_addr(&cfg->services[0].vip, "10.96.0.10");
	assert_int_equal(cfg->services[0].port, 80);
	assert_int_equal(cfg->services[0].proto, MG_SVC_UDP);
	assert_int_equal(cfg->services[0].affinity, MG_AFFINITY_LOCAL);
	assert_int_equal(cfg->services[0].min_local, 2);
	assert_int_equal(cfg->services[0].n_backends, 2);
	assert_addr(&cfg->services[0].backends[1].addr, "10.1.0.21");
	assert_int_equal(cfg->services[0].backends[1].port, 8081);
	assert_int_equal(cfg->services[0].backends[1].weight, 7);
	assert_int_equal(cfg->services[0].backends[0].weight, 100);
	assert_int_equal(cfg->services[0].health_interval, 300);
	assert_int_equal(cfg->services[0].health_timeout, 100);
	assert_int_equal(cfg->services[0].rise, 4);
	assert_int_equal(cfg->services[0].fall, 5);
	/* The defaults. */
	assert_int_equal(cfg->services[1].proto, MG_SVC_TCP);
	assert_int_equal(cfg->services[1].affinity, MG_AFFINITY_ANY);
	assert_int_equal(cfg->services[1].min_local, 1);
	assert_int_equal(cfg->services[1].health_interval, 1000);
	assert_int_equal(cfg->services[1].health_timeout, 500);
	assert_int_equal(cfg->services[1].rise, 2);
	assert_int_equal(cfg->services[1].fall, 3);
	assert_int_equal(cfg->services[1].n_backends, 0);
}

/* IPv6 VIPs with [ADDR]:PORT backends, beside an IPv4 one on the same port. */
static void test_good_service6(void **state)
{
	expect_ok(BASE SVCSECT("web")
		  "[service web6]\nvip = fd00:96::10\nport = 80\n"
		  "backend = [fd00:1::20]:8080\n"
		  "backend = [fd00:1::21]:8081 7\n"
		  "[service other6]\nvip = fd00:96::11\nport = 80\n");
	assert_int_equal(cfg->n_services, 3);
	assert_string_equal(cfg->services[1].name, "web6");
	assert_int_equal(cfg->services[1].vip.family, MG_AF_INET6);
	assert_addr(&cfg->services[1].vip, "fd00:96::10");
	assert_int_equal(cfg->services[1].port, 80);
	assert_int_equal(cfg->services[1].n_backends, 2);
	assert_int_equal(cfg->services[1].backends[0].addr.family,
			 MG_AF_INET6);
	assert_addr(&cfg->services[1].backends[0].addr, "fd00:1::20");
	assert_int_equal(cfg->services[1].backends[0].port, 8080);
	assert_int_equal(cfg->services[1].backends[0].weight, 100);
	assert_addr(&cfg->services[1].backends[1].addr, "fd00:1::21");
	assert_int_equal(cfg->services[1].backends[1].port, 8081);
	assert_int_equal(cfg->services[1].backends[1].weight, 7);
	assert_addr(&cfg->services[2].vip, "fd00:96::11");
}

static void test_good_full(void **state)
{
	const struct mg_cfg_peer *p;

	expect_ok(full_text);
	assert_string_equal(cfg->path, "t.conf");
	assert_string_equal(cfg->pin_dir, "/sys/fs/bpf/mg2");
	assert_int_equal(cfg->log_level, MG_LOG_DEBUG);
	assert_string_equal(cfg->state_dir, "/var/lib/mg2");
	assert_string_equal(cfg->control_socket, "/run/mg2.sock");

	assert_string_equal(cfg->cluster_name, "east.prod_1-a");
	assert_int_equal(cfg->cluster_id, 255);
	assert_int_equal(cfg->n_cidrs, 3);
	assert_prefix(&cfg->cidrs[0], "10.1.0.0/16");
	assert_prefix(&cfg->cidrs[1], "10.9.0.0/24");
	assert_prefix(&cfg->cidrs[2], "fd00:1::/56");

	assert_string_equal(cfg->gw_name, "east-gw1");
	assert_addr(&cfg->tunnel, "192.168.100.1");
	assert_int_equal(cfg->tunnel.addr[0], htonl(0xc0a86401));
	assert_string_equal(cfg->cluster_if, "eth0");
	assert_string_equal(cfg->underlay_if, "enp1s0f0np0");
	assert_int_equal(cfg->xdp_mode, MG_XDP_GENERIC);
	assert_int_equal(cfg->vxlan_port, 65535);
	assert_int_equal(cfg->nh_mode, MG_NH_FIB);

	assert_int_equal(cfg->n_peers, 3);
	p = &cfg->peers[0];
	assert_string_equal(p->name, "west-gw1");
	assert_string_equal(p->cluster, "west");
	assert_int_equal(p->cluster_id, 2);
	assert_addr(&p->tunnel, "192.168.100.2");
	assert_int_equal(p->n_cidrs, 2);
	assert_prefix(&p->cidrs[0], "10.2.0.0/16");
	assert_prefix(&p->cidrs[1], "fd00:2::/56");
	assert_int_equal(p->line, 23);

	p = &cfg->peers[1];
	assert_string_equal(p->name, "west-gw2");
	assert_int_equal(p->cluster_id, 2);
	assert_addr(&p->tunnel, "192.168.100.3");
	assert_int_equal(p->n_cidrs, 2);
	assert_int_equal(p->line, 29);

	p = &cfg->peers[2];
	assert_string_equal(p->name, "north-gw1");
	assert_string_equal(p->cluster, "north");
	assert_int_equal(p->cluster_id, 3);
	assert_addr(&p->tunnel, "192.168.100.4");
	assert_int_equal(p->n_cidrs, 2);
	assert_prefix(&p->cidrs[1], "10.3.128.0/17");
	assert_int_equal(p->line, 35);
}

static void test_good_gossip(void **state)
{
	expect_ok(BASE "[cluster]\nroute_table = 100\nroute_protocol = 186\n"
		  "[gossip]\nport = 7947\nprofile = wan\n"
		  "seed = 192.168.100.2\nseed = 192.168.100.3:7000\n"
		  "seed = [fd00::9]:7001\n"
		  "key = cg8StVXbQJ0gPvMd9o7yrg==\n"
		  "key = HvY8ubRZMgafUOWvrOadwOckVa1wN3QWAo46FVKbVN8=\n");
	assert_int_equal(cfg->route_table, 100);
	assert_int_equal(cfg->route_protocol, 186);
	assert_true(cfg->gossip_enabled);
	assert_int_equal(cfg->gossip_port, 7947);
	assert_int_equal(cfg->profile, MG_PROFILE_WAN);
	assert_addr(&cfg->gossip_bind, "192.168.100.1");
	assert_addr(&cfg->gossip_advertise, "192.168.100.1");
	assert_int_equal(cfg->n_seeds, 3);
	assert_addr(&cfg->seeds[0].addr, "192.168.100.2");
	assert_int_equal(cfg->seeds[0].port, 7947);	/* the gossip port */
	assert_int_equal(cfg->seeds[1].port, 7000);
	assert_addr(&cfg->seeds[2].addr, "fd00::9");
	assert_int_equal(cfg->seeds[2].port, 7001);
	assert_int_equal(cfg->n_keys, 2);
	assert_string_equal(cfg->keys[0], "cg8StVXbQJ0gPvMd9o7yrg==");

	/* Liveness, drain and forget: defaults, then set. */
	assert_int_equal(cfg->echo_interval, 100);
	assert_int_equal(cfg->echo_multiplier, 3);
	assert_int_equal(cfg->hold_time, 60);
	assert_int_equal(cfg->forget_after, 300);
	assert_string_equal(cfg->drain_hook, "");
	expect_ok(BASE "[gossip]\necho_interval = 0\necho_multiplier = 5\n"
		  "hold_time = 10\nforget_after = 30\n"
		  "drain_hook = /usr/local/bin/vrrp-prio --lower\n");
	assert_int_equal(cfg->echo_interval, 0);
	assert_int_equal(cfg->echo_multiplier, 5);
	assert_int_equal(cfg->hold_time, 10);
	assert_int_equal(cfg->forget_after, 30);
	assert_string_equal(cfg->drain_hook, "/usr/local/bin/vrrp-prio --lower");

	expect_ok(BASE "[gossip]\nenabled = no\nbind_address = 10.0.0.1\n");
	assert_false(cfg->gossip_enabled);
	assert_int_equal(cfg->gossip_port, 7946);
	assert_addr(&cfg->gossip_advertise, "10.0.0.1");
}

/* Switches take what operators write: yes/no, true/false, on/off, 1/0. */
static void test_good_booleans(void **state)
{
	static const struct {
		const char *word;
		int want;
	} rows[] = {
		{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
		{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
		{ "YES", 1 }, { "Off", 0 }, { "True", 1 },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(text, sizeof(text),
			 BASE "udp6_checksum = %s\n[gossip]\nenabled = %s\n",
			 rows[i].word, rows[i].word);
		expect_ok(text);
		assert_int_equal(cfg->udp6_checksum, rows[i].want);
		assert_int_equal(cfg->gossip_enabled, rows[i].want);
	}
}

/* The interfaces must exist here: found by --check-config, not at attach. */
static void test_check_host(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *errf;

	expect_ok(CL("east", "1", "10.1.0.0/16") GW("192.168.100.1", "lo"));
	assert_int_equal(mg_config_check_host(cfg, stderr), 0);

	expect_ok(CL("east", "1", "10.1.0.0/16")
		  GW("192.168.100.1", "mgt-nosuch0")
		  "underlay_interface = mgt-nosuch1\n");
	errf = open_memstream(&out, &len);
	assert_int_equal(mg_config_check_host(cfg, errf), -ENODEV);
	fclose(errf);
	assert_string_equal(out,
		"t.conf:7: [gateway] cluster_interface: no interface \"mgt-nosuch0\" on this host (in this network namespace)\n"
		"t.conf:8: [gateway] underlay_interface: no interface \"mgt-nosuch1\" on this host (in this network namespace)\n");
	free(out);

	/* The underlay defaults to the cluster side: named once. */
	expect_ok(CL("east", "1", "10.1.0.0/16")
		  GW("192.168.100.1", "mgt-nosuch0"));
	out = NULL;
	errf = open_memstream(&out, &len);
	assert_int_equal(mg_config_check_host(cfg, errf), -ENODEV);
	fclose(errf);
	assert_string_equal(out,
		"t.conf:7: [gateway] cluster_interface: no interface \"mgt-nosuch0\" on this host (in this network namespace)\n");
	free(out);
}

static void test_names_for_the_cli(void **state)
{
	assert_true(mg_config_name_valid("web-1.prod_a"));
	assert_true(mg_config_name_valid(X16 X16 X16 "xxxxxxxxxxxxxxx"));
	assert_false(mg_config_name_valid(X64));	/* would be cut */
	assert_false(mg_config_name_valid(""));
	assert_false(mg_config_name_valid("a b"));
	assert_false(mg_config_name_valid("a/b"));
}

/* What a reload applies, and what it leaves for the next start. */
static void test_reload_diff(void **state)
{
	static const struct {
		const char *what, *text;
		unsigned int ch;
		const char *restart;
	} rows[] = {
		{ "the same file", BASE PEER_W SVCSECT("web"), 0, "" },
		{ "a comment and blank lines move the sections",
		  "# moved\n\n" BASE PEER_W SVCSECT("web"), 0, "" },
		{ "log level", BASE "[agent]\nlog_level = debug\n" PEER_W
		  SVCSECT("web"), MG_CFG_CH_LOG_LEVEL, "" },
		{ "a backend", BASE PEER_W SVCSECT("web")
		  "backend = 10.96.1.1:80 5\n", MG_CFG_CH_SERVICES, "" },
		/* auto limits follow the services: the new sizes are named */
		{ "no service", BASE PEER_W, MG_CFG_CH_SERVICES,
		  "[limits] flows = auto (mg_ct4/6, mg_rnat4/6 262144 -> 16384), "
		  "[limits] pinned_flows = auto (mg_pin 65536 -> 4096)" },
		{ "[limits] set", BASE PEER_W SVCSECT("web")
		  "[limits]\nflows = 65536\nendpoints = 262144\n", 0,
		  "[limits] endpoints (mg_ep4/6 131072 -> 262144), "
		  "[limits] flows (mg_ct4/6, mg_rnat4/6 262144 -> 65536)" },
		{ "[limits] set to what auto gives", BASE PEER_W SVCSECT("web")
		  "[limits]\nflows = 262144\n", 0, "" },
		{ "a peer's CIDR", BASE PEER_W "cidr = 10.5.0.0/16\n"
		  SVCSECT("web"), MG_CFG_CH_PEERS, "" },
		{ "no peer", BASE SVCSECT("web"), MG_CFG_CH_PEERS, "" },
		{ "a CIDR of ours",
		  CL("east", "1", "10.1.0.0/16") "cidr = 10.9.0.0/16\n"
		  GW("192.168.100.1", "eth0") PEER_W SVCSECT("web"),
		  MG_CFG_CH_CIDRS, "" },
		{ "endpoints from routes",
		  CL("east", "1", "10.1.0.0/16") "route_table = 100\n"
		  "route_protocol = 186\n"
		  GW("192.168.100.1", "eth0") PEER_W SVCSECT("web"),
		  MG_CFG_CH_ROUTES, "" },
		{ "a gossip key",
		  BASE "[gossip]\nkey = cg8StVXbQJ0gPvMd9o7yrg==\n"
		  PEER_W SVCSECT("web"), MG_CFG_CH_KEYS, "" },
		{ "forget_after, drain_hook, settle_timeout",
		  BASE "[gossip]\nforget_after = 60\ndrain_hook = /bin/true\n"
		  "settle_timeout = 5\n" PEER_W SVCSECT("web"),
		  MG_CFG_CH_GOSSIP_TIMES, "" },
		{ "restart-only keys",
		  CL("east", "1", "10.1.0.0/16")
		  GW("192.168.100.1", "eth1") "vxlan_port = 4790\n"
		  "[gossip]\nport = 7947\necho_interval = 50\nhold_time = 9\n"
		  PEER_W SVCSECT("web"), 0,
		  "cluster_interface, underlay_interface, vxlan_port, "
		  "[gossip] port, echo_interval, hold_time" },
	};
	struct mg_config *old = calloc(1, sizeof(*old));
	char restart[256];

	assert_non_null(old);
	assert_int_equal(mg_config_load_string(old, "t.conf",
					       BASE PEER_W SVCSECT("web"),
					       stderr), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned int ch;

		expect_ok(rows[i].text);
		ch = mg_config_diff(old, cfg, restart, sizeof(restart));
		if (ch != rows[i].ch || strcmp(restart, rows[i].restart))
			fail_msg("%s: changes %#x restart \"%s\", want %#x \"%s\"",
				 rows[i].what, ch, restart, rows[i].ch,
				 rows[i].restart);
	}
	free(old);
}

static void test_good_defaults(void **state)
{
	char host[MG_CFG_NAME_MAX] = "";

	expect_ok(BASE);
	assert_string_equal(cfg->pin_dir, MG_PIN_DIR_DEFAULT);
	assert_int_equal(cfg->log_level, MG_LOG_INFO);
	assert_string_equal(cfg->state_dir, "/var/lib/meshgate");
	assert_string_equal(cfg->control_socket, "/run/meshgate/meshgate.sock");
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(cfg->gw_name, host);
	/* One arm: the underlay is the cluster interface. */
	assert_string_equal(cfg->underlay_if, "eth0");
	assert_int_equal(cfg->xdp_mode, MG_XDP_NATIVE);
	assert_int_equal(cfg->vxlan_port, MG_VXLAN_PORT_DEFAULT);
	assert_int_equal(cfg->nh_mode, MG_NH_TABLE);
	assert_int_equal(cfg->fragment, MG_FRAGMENT_DROP);
	assert_int_equal(cfg->mss_clamp, 0);
	assert_int_equal(cfg->udp6_checksum, 1);
	assert_string_equal(cfg->host_dev, "mg0");
	assert_int_equal(cfg->n_peers, 0);
	assert_int_equal(cfg->n_cidrs, 1);
}

static void test_good_ipv6_tunnels(void **state)
{
	expect_ok(CL("east", "1", "10.1.0.0/16") GW("fd00:100::1", "eth0")
		  PEER("west-gw1", "west", "2", "fd00:100::2", "10.2.0.0/16"));
	assert_addr(&cfg->tunnel, "fd00:100::1");
	assert_addr(&cfg->peers[0].tunnel, "fd00:100::2");
}

/*
 * Dual stack: one tunnel address per family on each gateway; a peer is
 * sent to over IPv4 when both have it, else over IPv6.
 */
static void test_good_dual_stack(void **state)
{
	expect_ok(CL("east", "1", "10.1.0.0/16") "cidr = fd00:1::/64\n"
		  GW("192.168.100.1", "eth0") "tunnel_address = fd00:100::1\n"
		  "fragment = stack\nmss_clamp = auto\nudp6_checksum = no\n"
		  "host_device = none\n"
		  PEER("v4-gw", "west", "2", "192.168.100.2", "10.2.0.0/16")
		  PEER("v6-gw", "north", "3", "fd00:100::3", "fd00:3::/64")
		  PEER("both-gw", "south", "4", "fd00:100::4", "10.4.0.0/16")
		  "tunnel_address = 192.168.100.4\n");
	assert_int_equal(cfg->n_tunnels, 2);
	assert_addr(&cfg->tunnel, "192.168.100.1");
	assert_addr(&cfg->tunnels[1], "fd00:100::1");
	assert_addr(mg_config_tunnel(cfg, MG_AF_INET6), "fd00:100::1");
	assert_addr(&cfg->peers[0].tunnel, "192.168.100.2");
	assert_addr(&cfg->peers[1].tunnel, "fd00:100::3");
	assert_int_equal(cfg->peers[2].n_tunnels, 2);
	assert_addr(&cfg->peers[2].tunnel, "192.168.100.4");
	assert_int_equal(cfg->fragment, MG_FRAGMENT_STACK);
	assert_int_equal(cfg->mss_clamp, MG_MSS_AUTO);
	assert_int_equal(cfg->udp6_checksum, 0);
	assert_string_equal(cfg->host_dev, "none");
}

/* An IPv6-only gateway sends to a dual-stack peer over IPv6. */
static void test_good_v6_only_to_dual(void **state)
{
	expect_ok(CL("east", "1", "fd00:1::/64") GW("fd00:100::1", "eth0")
		  "mss_clamp = 1360\n"
		  PEER("both-gw", "south", "4", "192.168.100.4", "fd00:4::/64")
		  "tunnel_address = fd00:100::4\n");
	assert_null(mg_config_tunnel(cfg, MG_AF_INET));
	assert_addr(&cfg->peers[0].tunnel, "fd00:100::4");
	assert_int_equal(cfg->mss_clamp, 1360);
	assert_int_equal(cfg->fragment, MG_FRAGMENT_DROP);
	assert_int_equal(cfg->udp6_checksum, 1);
}

/* Gateways of one cluster list its CIDRs alike; overlapping is fine. */
static void test_good_siblings(void **state)
{
	expect_ok(BASE PEER_W
		  PEER("west-gw2", "west", "2", "192.168.100.3", "10.2.0.0/16")
		  PEER("west-gw3", "west", "2", "192.168.100.4", "10.2.0.0/17"));
	assert_int_equal(cfg->n_peers, 3);
}

/* --- limits, built at run time ------------------------------------------- */

static char *text_printf(char *text, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static char *text_printf(char *text, const char *fmt, ...)
{
	char *more, *both;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&more, fmt, ap) >= 0);
	va_end(ap);
	assert_true(asprintf(&both, "%s%s", text ? text : "", more) >= 0);
	free(text);
	free(more);
	return both;
}

static void test_max_cidrs(void **state)
{
	const char *want[] = { "t.conf:36: [cluster] cidr: ",
			       "t.conf:37: [cluster] cidr: ", NULL };
	char *text = text_printf(NULL, "[cluster]\nname = east\nid = 1\n");
	int i;

	/* Lines 4 to 37: 34 CIDRs, the last two over the limit. */
	for (i = 0; i < MG_CFG_MAX_CIDRS + 2; i++)
		text = text_printf(text, "cidr = 10.1.%d.0/24\n", i);
	text = text_printf(text, GW("192.168.100.1", "eth0"));
	expect_errors(text, want);
	assert_int_equal(cfg->n_cidrs, MG_CFG_MAX_CIDRS);
	free(text);
}

static void test_max_peers(void **state)
{
	char line[32];
	const char *want[] = { line, NULL };
	char *text = text_printf(NULL, BASE);
	int i;

	/* Siblings of one cluster: five lines each, from line 8. */
	for (i = 0; i <= MG_CFG_MAX_PEERS; i++)
		text = text_printf(text, "[peer p%d]\ncluster = west\n"
				   "cluster_id = 2\ntunnel_address = 10.0.%d.%d\n"
				   "cidr = 10.2.0.0/16\n", i, i / 256, i % 256);
	snprintf(line, sizeof(line), "t.conf:%d: [peer p%d]: ",
		 8 + 5 * MG_CFG_MAX_PEERS, MG_CFG_MAX_PEERS);
	expect_errors(text, want);
	assert_int_equal(cfg->n_peers, MG_CFG_MAX_PEERS);
	free(text);
}

static void test_long_line(void **state)
{
	const char *want[] = { "t.conf:9: [agent]: ", NULL };
	char *text = text_printf(NULL, BASE "[agent]\npin_dir = /%0300d\n", 0);

	expect_errors(text, want);
	free(text);
}

/* --- files --------------------------------------------------------------- */

static void test_file_missing(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *errf = open_memstream(&out, &len);
	int rc;

	rc = mg_config_load(cfg, "/nonexistent/meshgate.conf", errf);
	fclose(errf);
	assert_int_equal(rc, -ENOENT);
	assert_string_equal(out, "/nonexistent/meshgate.conf:0: cannot read: "
			    "No such file or directory\n");
	free(out);
}

static void test_file_directory(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *errf = open_memstream(&out, &len);
	int rc;

	rc = mg_config_load(cfg, "/", errf);
	fclose(errf);
	assert_int_equal(rc, -EISDIR);
	assert_true(!strncmp(out, "/:0: cannot read: ", 18));
	free(out);
}

/* Writes len bytes to a temporary file, loads it, returns the errors. */
static char *load_file(const char *data, size_t len, int *rc, char *path)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *errf;
	int fd;

	strcpy(path, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	errf = open_memstream(&out, &outlen);
	*rc = mg_config_load(cfg, path, errf);
	fclose(errf);
	unlink(path);
	return out;
}

static void test_file_good(void **state)
{
	static const char text[] = BASE;
	char path[64], *out;
	int rc;

	out = load_file(text, sizeof(text) - 1, &rc, path);
	assert_string_equal(out, "");
	assert_int_equal(rc, 0);
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->cluster_name, "east");
	free(out);
}

static void test_file_errors_name_path(void **state)
{
	static const char text[] = BASE "[gateway]\nxdp_mode = fast\n";
	char path[64], want[128], *out;
	int rc;

	out = load_file(text, sizeof(text) - 1, &rc, path);
	assert_int_equal(rc, -EINVAL);
	snprintf(want, sizeof(want), "%s:9: [gateway] xdp_mode: ", path);
	assert_true(!strncmp(out, want, strlen(want)));
	free(out);
}

static void test_file_nul(void **state)
{
	static const char text[] = "[cluster]\nname = east\0\nid = 1\n";
	char path[64], want[128], *out;
	int rc;

	out = load_file(text, sizeof(text) - 1, &rc, path);
	assert_int_equal(rc, -EINVAL);
	snprintf(want, sizeof(want), "%s:2: ", path);
	assert_true(!strncmp(out, want, strlen(want)));
	free(out);
}

static void test_no_errf(void **state)
{
	assert_int_equal(mg_config_load_string(cfg, NULL, "[x]\n", NULL),
			 -EINVAL);
	assert_string_equal(cfg->path, "<string>");
	assert_int_equal(mg_config_load(cfg, "/nonexistent", NULL), -ENOENT);
}

/* --- firmware-config/ -------------------------------------------------- */

static char srcdir[PATH_MAX];

/* The repo root: $MG_SRCDIR, else the cwd, else three up from the binary. */
static void find_srcdir(void)
{
	const char *env = getenv("MG_SRCDIR");
	char exe[PATH_MAX], probe[PATH_MAX + 64];
	ssize_t n;
	int i;

	if (env) {
		snprintf(srcdir, sizeof(srcdir), "%s", env);
		return;
	}
	if (!access("firmware-config/meshgate.conf", R_OK)) {
		snprintf(srcdir, sizeof(srcdir), ".");
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	for (i = 0; i < 4; i++)		/* build/tests/unit/test_config */
		*strrchr(exe, '/') = '\0';
	snprintf(srcdir, sizeof(srcdir), "%s", exe);
	snprintf(probe, sizeof(probe), "%s/firmware-config/meshgate.conf",
		 srcdir);
	if (access(probe, R_OK))
		fail_msg("cannot find firmware-config/: set MG_SRCDIR");
}

static void load_clean(const char *path)
{
	char *out = NULL;
	size_t len = 0;
	FILE *errf = open_memstream(&out, &len);
	int rc;

	rc = mg_config_load(cfg, path, errf);
	fclose(errf);
	if (rc)
		fail_msg("%s: rc %d:\n%s", path, rc, out);
	assert_string_equal(out, "");
	free(out);
	print_message("    %s: OK\n", path);
}

static void test_default_conf(void **state)
{
	struct mg_config *def = calloc(1, sizeof(*def));
	char path[PATH_MAX + 64];

	assert_non_null(def);
	find_srcdir();
	snprintf(path, sizeof(path), "%s/firmware-config/meshgate.conf",
		 srcdir);
	load_clean(path);

	/* Every key it leaves at a default value shows that value. */
	mg_config_defaults(def);
	assert_string_equal(cfg->pin_dir, def->pin_dir);
	assert_int_equal(cfg->log_level, def->log_level);
	assert_string_equal(cfg->state_dir, def->state_dir);
	assert_string_equal(cfg->control_socket, def->control_socket);
	assert_int_equal(cfg->xdp_mode, def->xdp_mode);
	assert_int_equal(cfg->vxlan_port, def->vxlan_port);
	assert_int_equal(cfg->nh_mode, def->nh_mode);
	free(def);
}

static int n_examples;

static int example_cb(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	size_t n = strlen(path);

	if (type == FTW_F && n > 5 && !strcmp(path + n - 5, ".conf")) {
		load_clean(path);
		n_examples++;
	}
	return 0;
}

static void test_examples(void **state)
{
	char path[PATH_MAX + 64];

	find_srcdir();
	snprintf(path, sizeof(path), "%s/firmware-config/examples", srcdir);
	n_examples = 0;
	assert_int_equal(nftw(path, example_cb, 8, FTW_PHYS), 0);
	/* one-arm, two-arm and four gateways of three clusters */
	assert_true(n_examples >= 6);
}

/*
 * In the three-cluster example every gateway's view of every other gateway
 * (its [peer]) matches that gateway's own [cluster] and [gateway].
 */
#define N_GW	4

static void test_three_clusters_agree(void **state)
{
	static const char *const names[N_GW] = {
		"east-gw1", "east-gw2", "west-gw1", "north-gw1",
	};
	struct mg_config *gw = calloc(N_GW, sizeof(*gw));
	const struct mg_cfg_peer *p;
	const struct mg_config *o;
	char path[PATH_MAX + 64];
	int i, j, k, c, n_other;

	assert_non_null(gw);
	find_srcdir();
	for (i = 0; i < N_GW; i++) {
		snprintf(path, sizeof(path),
			 "%s/firmware-config/examples/three-clusters/%s.conf",
			 srcdir, names[i]);
		assert_int_equal(mg_config_load(&gw[i], path, stderr), 0);
		assert_string_equal(gw[i].gw_name, names[i]);
	}
	for (i = 0; i < N_GW; i++) {
		n_other = 0;
		for (j = 0; j < N_GW; j++)
			n_other += !!strcmp(gw[i].cluster_name,
					    gw[j].cluster_name);
		assert_int_equal(gw[i].n_peers, n_other);
		for (k = 0; k < gw[i].n_peers; k++) {
			p = &gw[i].peers[k];
			for (j = 0; j < N_GW; j++)
				if (!strcmp(gw[j].gw_name, p->name))
					break;
			if (j == N_GW)
				fail_msg("%s: peer %s has no file", names[i],
					 p->name);
			o = &gw[j];
			assert_string_equal(p->cluster, o->cluster_name);
			assert_int_equal(p->cluster_id, o->cluster_id);
			assert_true(mg_addr_equal(&p->tunnel, &o->tunnel));
			assert_int_equal(p->n_cidrs, o->n_cidrs);
			for (c = 0; c < p->n_cidrs; c++)
				assert_true(mg_prefix_equal(&p->cidrs[c],
							    &o->cidrs[c]));
		}
	}
	free(gw);
}

static int group_setup(void **state)
{
	cfg = calloc(1, sizeof(*cfg));
	return cfg ? 0 : -1;
}

static int group_teardown(void **state)
{
	free(cfg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SYNTAX_CASES,
		VALUE_CASES,
		REQUIRED_CASES,
		MESH_CASES,
		SERVICE_CASES,
		MISTAKE_CASES,
		cmocka_unit_test(test_good_booleans),
		cmocka_unit_test(test_check_host),
		cmocka_unit_test(test_names_for_the_cli),
		cmocka_unit_test(test_reload_diff),
		cmocka_unit_test(test_good_service),
		cmocka_unit_test(test_good_full),
		cmocka_unit_test(test_good_defaults),
		cmocka_unit_test(test_good_gossip),
		cmocka_unit_test(test_good_ipv6_tunnels),
		cmocka_unit_test(test_good_service6),
		cmocka_unit_test(test_good_dual_stack),
		cmocka_unit_test(test_good_v6_only_to_dual),
		cmocka_unit_test(test_good_siblings),
		cmocka_unit_test(test_max_cidrs),
		cmocka_unit_test(test_max_peers),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_directory),
		cmocka_unit_test(test_file_good),
		cmocka_unit_test(test_file_errors_name_path),
		cmocka_unit_test(test_file_nul),
		cmocka_unit_test(test_no_errf),
		cmocka_unit_test(test_default_conf),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_three_clusters_agree),
	};

	return cmocka_run_group_tests_name("config", tests, group_setup,
					   group_teardown);
}
