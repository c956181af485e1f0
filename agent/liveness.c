// SPDX-License-Identifier: GPL-2.0-only
/*
 * Data-plane liveness: the prober (see liveness.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <meshgate/echo.h>
#include "liveness.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"

#define VXLAN_FLAG_I	0x08000000

struct target {
	struct mg_addr addr;
	uint32_t seq;
	uint64_t last_rx_ms;	/* 0: never answered */
	int64_t rtt_us;
	enum mg_echo_state state;	/* as last evaluated, before cut-off */
};

struct mg_liveness {
	struct mg_loop *loop;
	const struct mg_config *cfg;
	void (*changed)(void *arg);
	void *arg;
	int fd;
	struct mg_loop_src *rx, *timer;
	struct target *t;
	int n, cap;
	bool cut_off;		/* every peer that answered stopped at once */
	uint64_t detect_ms;
	unsigned int ticks;	/* two a probe interval: see on_tick */
	unsigned long long probes, echoes, ignored;
};

const char *mg_echo_state_name(enum mg_echo_state s)
{
	return s == MG_ECHO_UP ? "up" : s == MG_ECHO_DOWN ? "down" : "unknown";
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct target *find(const struct mg_liveness *lv,
			   const struct mg_addr *a)
{
	for (int i = 0; i < lv->n; i++)
		if (mg_addr_equal(&lv->t[i].addr, a))
			return &lv->t[i];
	return NULL;
}

static void to_sockaddr(const struct mg_addr *a, uint16_t port,
			struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == MG_AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = a->addr[0];
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		*len = sizeof(*s6);
	}
}

/* One probe: VXLAN (our VNI), inner Ethernet, the echo. */
static void probe(struct mg_liveness *lv, struct target *t)
{
	const struct mg_config *cfg = lv->cfg;
	uint8_t buf[MG_ECHO_PAYLOAD_LEN] = { 0 };
	const uint8_t mac[6] = MG_MESH_MAC_INIT(cfg->cluster_id);
	struct mg_echo e = {
		.magic = htonl(MG_ECHO_MAGIC),
		.version = MG_ECHO_VERSION,
		.family = cfg->tunnel.family,
		.seq = htonl(++t->seq),
		.sent_us = now_us(),
	};
	struct sockaddr_storage ss;
	socklen_t sl;
	uint32_t w;

	w = htonl(VXLAN_FLAG_I);
	memcpy(buf, &w, 4);
	w = htonl((uint32_t)cfg->cluster_id << 8);
	memcpy(buf + 4, &w, 4);
	memcpy(buf + 8, mac, 6);
	memcpy(buf + 14, mac, 6);
	buf[20] = MG_ECHO_ETH_P >> 8;
	buf[21] = MG_ECHO_ETH_P & 0xff;
	memcpy(e.origin, cfg->tunnel.addr, sizeof(e.origin));
	memcpy(buf + 22, &e, sizeof(e));
	to_sockaddr(&t->addr, cfg->vxlan_port, &ss, &sl);
	if (sendto(lv->fd, buf, sizeof(buf), MSG_DONTWAIT,
		   (struct sockaddr *)&ss, sl) < 0 && errno != EAGAIN)
		pr_debug("liveness: probe: %s", strerror(errno));
	else
		lv->probes++;
}

/* An echo of ours came back from a: it is the peer's datapath. */
static void on_rx(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_liveness *lv = arg;
	uint8_t buf[256];
	struct sockaddr_storage ss;
	struct mg_echo e;
	struct mg_addr a;
	struct target *t;
	socklen_t sl;
	ssize_t n;

	for (int i = 0; i < 256; i++) {
		sl = sizeof(ss);
		n = recvfrom(lv->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		/* Not an echo of ours: counted, shown by `status`. */
		lv->ignored++;
		if (n < MG_ECHO_PAYLOAD_LEN || buf[20] != MG_ECHO_ETH_P >> 8 ||
		    buf[21] != (MG_ECHO_ETH_P & 0xff))
			continue;
		memcpy(&e, buf + 22, sizeof(e));
		if (e.magic != htonl(MG_ECHO_MAGIC) ||
		    e.version != MG_ECHO_VERSION ||
		    memcmp(e.origin, lv->cfg->tunnel.addr, sizeof(e.origin)))
			continue;
		memset(&a, 0, sizeof(a));
		if (ss.ss_family == AF_INET) {
			a.family = MG_AF_INET;
			a.addr[0] = ((struct sockaddr_in *)&ss)->sin_addr.s_addr;
		} else {
			a.family = MG_AF_INET6;
			memcpy(a.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			       16);
		}
		t = find(lv, &a);
		if (!t)
			continue;
		lv->ignored--;
		lv->echoes++;
		t->last_rx_ms = mg_now_ms();
		t->rtt_us = (int64_t)(now_us() - e.sent_us);
		if (t->state != MG_ECHO_UP) {
			char s[MG_ADDRSTRLEN];

			pr_info("liveness: datapath of %s answers",
				mg_addr_str(&t->addr, s, sizeof(s)));
			t->state = MG_ECHO_UP;
			if (!lv->cut_off && lv->changed)
				lv->changed(lv->arg);
		}
	}
}

/*
 * Every other tick probe every peer; every tick say who stopped answering
 * (ticks at half the interval: a silence is seen at most half an interval
 * after the detect time, not a whole one).
 */
static void on_tick(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_liveness *lv = arg;
	uint64_t now = mg_now_ms();
	int answered = 0, down = 0;
	bool changed = false, cut_off, send = !(lv->ticks++ & 1);

	for (int i = 0; i < lv->n; i++) {
		struct target *t = &lv->t[i];
		enum mg_echo_state s = t->state;

		if (send)
			probe(lv, t);
		if (!t->last_rx_ms)
			continue;
		answered++;
		if (now - t->last_rx_ms > lv->detect_ms)
			s = MG_ECHO_DOWN;
		down += s == MG_ECHO_DOWN;
		if (s != t->state) {
			char a[MG_ADDRSTRLEN];

			pr_info("liveness: datapath of %s silent for %llu ms",
				mg_addr_str(&t->addr, a, sizeof(a)),
				(unsigned long long)(now - t->last_rx_ms));
			t->state = s;
			changed = true;
		}
	}
	cut_off = answered && down == answered;
	if (cut_off != lv->cut_off) {
		if (cut_off)
			pr_warn("liveness: no peer's datapath answers: cut off, keeping them all");
		else
			pr_info("liveness: peers' datapaths answer again");
		lv->cut_off = cut_off;
		changed = true;
	}
	if (changed && lv->changed)
		lv->changed(lv->arg);
}

void mg_liveness_watch(struct mg_liveness *lv, const struct mg_addr *addrs,
		       int n)
{
	struct target *t;
	int k = 0;

	if (!lv)
		return;
	if (n > lv->cap) {
		t = realloc(lv->t, n * sizeof(*t));
		if (!t)
			return;
		lv->t = t;
		lv->cap = n;
	}
	/* Keep those still watched, in place, then add the new ones. */
	for (int i = 0; i < lv->n; i++) {
		bool keep = false;

		for (int j = 0; j < n && !keep; j++)
			keep = mg_addr_equal(&lv->t[i].addr, &addrs[j]);
		if (keep)
			lv->t[k++] = lv->t[i];
	}
	lv->n = k;
	for (int j = 0; j < n; j++) {
		if (addrs[j].family != lv->cfg->tunnel.family ||
		    find(lv, &addrs[j]))
			continue;
		t = &lv->t[lv->n++];
		memset(t, 0, sizeof(*t));
		t->addr = addrs[j];
		t->rtt_us = -1;
	}
}

enum mg_echo_state mg_liveness_state(const struct mg_liveness *lv,
				     const struct mg_addr *addr)
{
	const struct target *t;

	if (!lv || lv->cut_off)
		return MG_ECHO_UNKNOWN;
	t = find(lv, addr);
	return t ? t->state : MG_ECHO_UNKNOWN;
}

bool mg_liveness_cut_off(const struct mg_liveness *lv)
{
	if (!lv || !lv->cut_off)
		return false;
	/*
	 * Not when some peer never answered: its silence says nothing, and
	 * the one that stopped may simply have died.
	 */
	for (int i = 0; i < lv->n; i++)
		if (!lv->t[i].last_rx_ms)
			return false;
	return true;
}

void mg_liveness_print_counters(const struct mg_liveness *lv)
{
	int up = 0;

	if (!lv)
		return;
	for (int i = 0; i < lv->n; i++)
		up += lv->t[i].state == MG_ECHO_UP;
	out_u64("liveness_peers_up", "liveness    %llu of", up);
	out_u64("liveness_peers", " %llu peers' datapaths up", lv->n);
	out_u64("liveness_probes", "; %llu probes out", lv->probes);
	out_u64("liveness_echoes", ", %llu echoes in", lv->echoes);
	out_u64("liveness_ignored", ", %llu ignored (not ours)\n",
		lv->ignored);
	/* Every peer that answered went silent at once: we are the cut one. */
	out_u64("liveness_cut_off", NULL, lv->cut_off);
	if (lv->cut_off)
		out_text("            no peer's datapath answers: cut off on the "
			 "tunnel (peers kept: fail static)\n");
}

int64_t mg_liveness_rtt_us(const struct mg_liveness *lv,
			   const struct mg_addr *addr)
{
	const struct target *t = lv ? find(lv, addr) : NULL;

	return t ? t->rtt_us : -1;
}

int mg_liveness_new(struct mg_loop *loop, const struct mg_config *cfg,
		    void (*changed)(void *arg), void *arg,
		    struct mg_liveness **out)
{
	struct mg_liveness *lv = calloc(1, sizeof(*lv));
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned int tick;
	int one = 1, err;

	if (!lv)
		return -ENOMEM;
	lv->loop = loop;
	lv->cfg = cfg;
	lv->changed = changed;
	lv->arg = arg;
	lv->detect_ms = (uint64_t)cfg->echo_interval * cfg->echo_multiplier;
	lv->fd = socket(cfg->tunnel.family == MG_AF_INET ? AF_INET : AF_INET6,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lv->fd < 0)
		goto fail;
	/* The tunnel address may come up after us. */
	if (cfg->tunnel.family == MG_AF_INET)
		setsockopt(lv->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	else
		setsockopt(lv->fd, IPPROTO_IPV6, IPV6_FREEBIND, &one,
			   sizeof(one));
	to_sockaddr(&cfg->tunnel, 0, &ss, &sl);
	if (bind(lv->fd, (struct sockaddr *)&ss, sl))
		goto fail;
	lv->rx = mg_loop_add_fd(loop, lv->fd, EPOLLIN, on_rx, lv);
	tick = cfg->echo_interval / 2 ? cfg->echo_interval / 2 : 1;
	lv->timer = mg_loop_add_timer(loop, tick, tick, on_tick, lv);
	if (!lv->rx || !lv->timer)
		goto fail;
	pr_info("liveness: probing peer datapaths every %u ms (down after %llu ms)",
		cfg->echo_interval, (unsigned long long)lv->detect_ms);
	*out = lv;
	return 0;
fail:
	err = errno ? -errno : -ENOMEM;
	mg_liveness_free(lv);
	return err;
}

void mg_liveness_free(struct mg_liveness *lv)
{
	if (!lv)
		return;
	mg_loop_del(lv->loop, lv->timer);
	mg_loop_del(lv->loop, lv->rx);
	if (lv->fd >= 0)
		close(lv->fd);
	free(lv->t);
	free(lv);
}
