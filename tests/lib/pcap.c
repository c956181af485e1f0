// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/pcap.h"

#define LINKTYPE_NULL		0
#define LINKTYPE_ETHERNET	1
#define LINKTYPE_RAW		101
#define LINKTYPE_LINUX_SLL	113
#define LINKTYPE_IPV4		228
#define LINKTYPE_IPV6		229

/* TCP bookkeeping while reading: the next expected sequence number. */
struct tcp_state {
	struct pcap_tcp_stream s;
	uint32_t next_seq;
	bool have_seq;
	bool closed;
};

struct loader {
	struct pcap_capture *cap;
	struct tcp_state *tcp;
	size_t n_tcp;
};

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static uint16_t be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static bool ep_eq(const struct pcap_endpoint *a, const struct pcap_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, 16);
}

static int add_udp(struct loader *l, double ts, const struct pcap_endpoint *src,
		   const struct pcap_endpoint *dst, const uint8_t *p, size_t n)
{
	struct pcap_capture *cap = l->cap;
	struct pcap_udp *u;

	u = realloc(cap->udp, (cap->n_udp + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	cap->udp = u;
	u = &cap->udp[cap->n_udp];
	memset(u, 0, sizeof(*u));
	u->data = malloc(n ? n : 1);
	if (!u->data)
		return -ENOMEM;
	memcpy(u->data, p, n);
	u->len = n;
	u->ts = ts;
	u->src = *src;
	u->dst = *dst;
	cap->n_udp++;
	return 0;
}

static int add_tcp(struct loader *l, double ts, const struct pcap_endpoint *src,
		   const struct pcap_endpoint *dst, uint8_t flags, uint32_t seq,
		   const uint8_t *p, size_t n)
{
	struct tcp_state *t = NULL;
	uint8_t *d;
	size_t i;

	for (i = l->n_tcp; i-- > 0;) {
		if (ep_eq(&l->tcp[i].s.src, src) && ep_eq(&l->tcp[i].s.dst, dst)) {
			t = &l->tcp[i];
			break;
		}
	}
	/* A SYN on a known 4-tuple starts a new connection. */
	if (!t || (flags & 0x02)) {
		t = realloc(l->tcp, (l->n_tcp + 1) * sizeof(*t));
		if (!t)
			return -ENOMEM;
		l->tcp = t;
		t = &l->tcp[l->n_tcp++];
		memset(t, 0, sizeof(*t));
		t->s.src = *src;
		t->s.dst = *dst;
	}
	if (flags & 0x02) {
		t->next_seq = seq + 1;
		t->have_seq = true;
	}
	if (!n)
		return 0;
	if (!t->have_seq) {	/* capture started mid-connection */
		t->next_seq = seq;
		t->have_seq = true;
	}
	if (seq != t->next_seq) {
		/* retransmission (or a gap, which loopback captures lack) */
		if ((int32_t)(seq - t->next_seq) < 0)
			return 0;
		return -EBADMSG;
	}
	d = realloc(t->s.data, t->s.len + n);
	if (!d)
		return -ENOMEM;
	t->s.data = d;
	if (!t->s.len)
		t->s.ts = ts;
	memcpy(d + t->s.len, p, n);
	t->s.len += n;
	t->next_seq += n;
	return 0;
}

static int parse_ip(struct loader *l, double ts, const uint8_t *p, size_t n)
{
	struct pcap_endpoint src = { 0 }, dst = { 0 };
	size_t hl, tot;
	uint8_t proto;

	if (n < 1)
		return 0;
	if (p[0] >> 4 == 4) {
		if (n < 20 || (hl = (p[0] & 0x0f) * 4) < 20 || hl > n)
			return 0;
		tot = be16(p + 2);
		if (tot < hl || tot > n)
			return 0;
		if (be16(p + 6) & 0x3fff)
			return 0;		/* fragments: not needed here */
		proto = p[9];
		src.family = dst.family = 4;
		memcpy(src.addr, p + 12, 4);
		memcpy(dst.addr, p + 16, 4);
	} else if (p[0] >> 4 == 6) {
		if (n < 40)
			return 0;
		hl = 40;
		tot = 40 + be16(p + 4);
		if (tot > n)
			return 0;
		proto = p[6];		/* extension headers: not needed here */
		src.family = dst.family = 6;
		memcpy(src.addr, p + 8, 16);
		memcpy(dst.addr, p + 24, 16);
	} else {
		return 0;
	}
	p += hl;
	n = tot - hl;
	if (proto == 17) {
		if (n < 8 || be16(p + 4) < 8 || be16(p + 4) > n)
			return 0;
		src.port = be16(p);
		dst.port = be16(p + 2);
		return add_udp(l, ts, &src, &dst, p + 8, be16(p + 4) - 8);
	}
	if (proto == 6) {
		if (n < 20 || (hl = (p[12] >> 4) * 4) < 20 || hl > n)
			return 0;
		src.port = be16(p);
		dst.port = be16(p + 2);
		return add_tcp(l, ts, &src, &dst, p[13], be32(p + 4), p + hl,
			       n - hl);
	}
	return 0;
}

static int parse_frame(struct loader *l, uint32_t linktype, double ts,
		       const uint8_t *p, size_t n)
{
	uint16_t et;

	switch (linktype) {
	case LINKTYPE_ETHERNET:
		if (n < 14)
			return 0;
		et = be16(p + 12);
		p += 14;
		n -= 14;
		if (et == 0x8100 && n >= 4) {
			et = be16(p + 2);
			p += 4;
			n -= 4;
		}
		if (et != 0x0800 && et != 0x86dd)
			return 0;
		break;
	case LINKTYPE_LINUX_SLL:
		if (n < 16)
			return 0;
		p += 16;
		n -= 16;
		break;
	case LINKTYPE_NULL:
		if (n < 4)
			return 0;
		p += 4;
		n -= 4;
		break;
	case LINKTYPE_RAW:
	case LINKTYPE_IPV4:
	case LINKTYPE_IPV6:
		break;
	default:
		return -EBADMSG;
	}
	return parse_ip(l, ts, p, n);
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f;
	long sz;
	int err = 0;

	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		err = -EIO;
		goto out;
	}
	*data = malloc(sz ? sz : 1);
	if (!*data) {
		err = -ENOMEM;
		goto out;
	}
	if (fread(*data, 1, sz, f) != (size_t)sz) {
		free(*data);
		err = -EIO;
		goto out;
	}
	*len = sz;
out:
	fclose(f);
	return err;
}

int pcap_load(const char *path, struct pcap_capture *cap)
{
	struct loader l = { .cap = cap };
	uint32_t magic, linktype, incl;
	double tsdiv = 1e6;
	uint8_t *data = NULL;
	size_t len = 0, off;
	bool swap;
	int err;
	size_t i;

	memset(cap, 0, sizeof(*cap));
	err = read_file(path, &data, &len);
	if (err)
		return err;
	err = -EBADMSG;
	if (len < 24)
		goto out;
	memcpy(&magic, data, 4);
	switch (magic) {
	case 0xa1b2c3d4: swap = false; break;
	case 0xd4c3b2a1: swap = true; break;
	case 0xa1b23c4d: swap = false; tsdiv = 1e9; break;
	case 0x4d3cb2a1: swap = true; tsdiv = 1e9; break;
	default: goto out;
	}
	linktype = rd32(data + 20, swap) & 0x0fffffff;
	for (off = 24; off + 16 <= len; off += 16 + incl) {
		double ts = rd32(data + off, swap) +
			    rd32(data + off + 4, swap) / tsdiv;

		incl = rd32(data + off + 8, swap);
		if (incl > len - off - 16)
			goto out;
		err = parse_frame(&l, linktype, ts, data + off + 16, incl);
		if (err)
			goto out;
		err = -EBADMSG;
	}
	if (off != len)
		goto out;
	/* Keep the directions that carried data, in order of appearance. */
	cap->tcp = calloc(l.n_tcp ? l.n_tcp : 1, sizeof(*cap->tcp));
	if (!cap->tcp) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < l.n_tcp; i++) {
		if (l.tcp[i].s.len)
			cap->tcp[cap->n_tcp++] = l.tcp[i].s;
		else
			free(l.tcp[i].s.data);
	}
	l.n_tcp = 0;
	err = 0;
out:
	for (i = 0; i < l.n_tcp; i++)
		free(l.tcp[i].s.data);
	free(l.tcp);
	free(data);
	if (err)
		pcap_free(cap);
	return err;
}

void pcap_free(struct pcap_capture *cap)
{
	size_t i;

	for (i = 0; i < cap->n_udp; i++)
		free(cap->udp[i].data);
	for (i = 0; i < cap->n_tcp; i++)
		free(cap->tcp[i].data);
	free(cap->udp);
	free(cap->tcp);
	memset(cap, 0, sizeof(*cap));
}

static bool is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

/* Walk up from @start looking for <dir>/tests/testdata/memberlist (the
 * captures live in the repository: a clone tests on its own). */
static bool search_up(const char *start, char *out, size_t size)
{
	char dir[PATH_MAX], *slash;

	if (!realpath(start, dir))
		return false;
	for (;;) {
		if ((size_t)snprintf(out, size, "%s/tests/testdata/memberlist",
				     dir) < size && is_dir(out))
			return true;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return false;
		*slash = 0;
	}
}

const char *mgt_testdata_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	const char *env;
	ssize_t n;

	if (dir[0])
		return dir;
	env = getenv("MG_TESTDATA");
	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
		return dir;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		if (search_up(exe, dir, sizeof(dir)))
			return dir;
	}
	if (search_up(".", dir, sizeof(dir)))
		return dir;
	dir[0] = 0;
	return NULL;
}

const char *mgt_testdata_path(const char *name)
{
	static char path[PATH_MAX + 64];
	const char *dir = mgt_testdata_dir();

	if (!dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

uint8_t *mgt_unhex(const char *s, size_t *len)
{
	uint8_t *out = malloc(strlen(s) + 1);
	size_t n = 0;
	int hi = -1, v;

	if (!out)
		abort();
	for (; *s; s++) {
		if (*s == '\'') {
			while (*++s && *s != '\'')
				out[n++] = *s;
			if (!*s || hi >= 0)
				abort();
			continue;
		}
		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '|')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			abort();
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = hi << 4 | v;
			hi = -1;
		}
	}
	if (hi >= 0)
		abort();
	*len = n;
	return out;
}
