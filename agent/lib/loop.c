// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include "lib/loop.h"
#include "lib/log.h"

enum src_kind { SRC_FD, SRC_TIMER, SRC_SIGNAL };

struct mg_loop_src {
	enum src_kind kind;
	int fd;
	mg_loop_cb cb;
	void *arg;
	struct mg_loop_src *next;
	bool dead;
	bool prio;		/* in loop->pepfd, not loop->epfd */
};

/*
 * The priority sources are in an epoll set of their own (pepfd), itself
 * watched by the main set: when one is ready, the main set reports pepfd;
 * between two callbacks of a round, pepfd is polled without waiting.
 */
struct mg_loop {
	int epfd;
	int pepfd;		/* -1 until the first priority source */
	unsigned int nprio;	/* live priority sources */
	bool in_prio;		/* dispatching them: no nesting */
	bool stop;
	struct mg_loop_src *srcs;
};

#define PRIO_TAG	((void *)1)	/* epfd's event for pepfd */

uint64_t mg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct mg_loop *mg_loop_new(void)
{
	struct mg_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->pepfd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

static void src_free(struct mg_loop_src *s)
{
	if (s->kind != SRC_FD)
		close(s->fd);
	free(s);
}

void mg_loop_free(struct mg_loop *loop)
{
	struct mg_loop_src *s, *n;

	if (!loop)
		return;
	for (s = loop->srcs; s; s = n) {
		n = s->next;
		src_free(s);
	}
	if (loop->pepfd >= 0)
		close(loop->pepfd);
	close(loop->epfd);
	free(loop);
}

static struct mg_loop_src *add_to(struct mg_loop *loop, int epfd,
				  enum src_kind kind, int fd, uint32_t events,
				  mg_loop_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events };
	struct mg_loop_src *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = kind;
	s->fd = fd;
	s->cb = cb;
	s->arg = arg;
	s->prio = epfd != loop->epfd;
	ev.data.ptr = s;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(s);
		return NULL;
	}
	s->next = loop->srcs;
	loop->srcs = s;
	if (s->prio)
		loop->nprio++;
	return s;
}

static struct mg_loop_src *add(struct mg_loop *loop, enum src_kind kind,
			       int fd, uint32_t events, mg_loop_cb cb,
			       void *arg)
{
	return add_to(loop, loop->epfd, kind, fd, events, cb, arg);
}

struct mg_loop_src *mg_loop_add_fd_prio(struct mg_loop *loop, int fd,
					uint32_t events, mg_loop_cb cb,
					void *arg)
{
	if (loop->pepfd < 0) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = PRIO_TAG };
		int pfd = epoll_create1(EPOLL_CLOEXEC);

		if (pfd < 0)
			return NULL;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, pfd, &ev)) {
			close(pfd);
			return NULL;
		}
		loop->pepfd = pfd;
	}
	return add_to(loop, loop->pepfd, SRC_FD, fd, events, cb, arg);
}

struct mg_loop_src *mg_loop_add_fd(struct mg_loop *loop, int fd,
				   uint32_t events, mg_loop_cb cb, void *arg)
{
	return add(loop, SRC_FD, fd, events, cb, arg);
}

int mg_loop_timer_set(struct mg_loop_src *src, unsigned int first_ms,
		      unsigned int period_ms)
{
	struct itimerspec its = {
		.it_value = { first_ms / 1000, (first_ms % 1000) * 1000000L },
		.it_interval = { period_ms / 1000, (period_ms % 1000) * 1000000L },
	};

	if (!first_ms)
		its.it_value.tv_nsec = 1;	/* zero would disarm */
	return timerfd_settime(src->fd, 0, &its, NULL) ? -errno : 0;
}

struct mg_loop_src *mg_loop_add_timer(struct mg_loop *loop,
				      unsigned int first_ms,
				      unsigned int period_ms,
				      mg_loop_cb cb, void *arg)
{
	struct mg_loop_src *s;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return NULL;
	s = add(loop, SRC_TIMER, fd, EPOLLIN, cb, arg);
	if (!s) {
		close(fd);
		return NULL;
	}
	mg_loop_timer_set(s, first_ms, period_ms);
	return s;
}

struct mg_loop_src *mg_loop_add_signals(struct mg_loop *loop,
					const int *signals, int n,
					mg_loop_cb cb, void *arg)
{
	struct mg_loop_src *s;
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return NULL;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	s = add(loop, SRC_SIGNAL, fd, EPOLLIN, cb, arg);
	if (!s)
		close(fd);
	return s;
}

void mg_loop_del(struct mg_loop *loop, struct mg_loop_src *src)
{
	if (!src || src->dead)
		return;
	epoll_ctl(src->prio ? loop->pepfd : loop->epfd, EPOLL_CTL_DEL,
		  src->fd, NULL);
	if (src->prio)
		loop->nprio--;
	src->dead = true;	/* freed after the current dispatch round */
}

static void reap(struct mg_loop *loop)
{
	struct mg_loop_src **pp = &loop->srcs, *s;

	while ((s = *pp)) {
		if (s->dead) {
			*pp = s->next;
			src_free(s);
		} else {
			pp = &s->next;
		}
	}
}

void mg_loop_stop(struct mg_loop *loop)
{
	loop->stop = true;
}

static void dispatch(struct mg_loop_src *s, uint32_t arg);

void mg_loop_run_prio(struct mg_loop *loop)
{
	struct epoll_event evs[16];
	int n;

	if (!loop->nprio || loop->in_prio)
		return;
	n = epoll_wait(loop->pepfd, evs, 16, 0);
	loop->in_prio = true;
	for (int i = 0; i < n && !loop->stop; i++) {
		struct mg_loop_src *s = evs[i].data.ptr;

		if (!s->dead)
			dispatch(s, evs[i].events);
	}
	loop->in_prio = false;
}

int mg_loop_run(struct mg_loop *loop)
{
	struct epoll_event evs[32];

	loop->stop = false;
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* The priority sources first, then again before each other. */
		mg_loop_run_prio(loop);
		for (int i = 0; i < n && !loop->stop; i++) {
			struct mg_loop_src *s = evs[i].data.ptr;

			if (s == PRIO_TAG || s->dead)
				continue;
			if (i)
				mg_loop_run_prio(loop);
			if (!s->dead && !loop->stop)
				dispatch(s, evs[i].events);
		}
		reap(loop);
	}
	return 0;
}

static void dispatch(struct mg_loop_src *s, uint32_t arg)
{
	if (s->kind == SRC_TIMER) {
		uint64_t ticks;

		if (read(s->fd, &ticks, sizeof(ticks)) < 0)
			return;
	} else if (s->kind == SRC_SIGNAL) {
		struct signalfd_siginfo si;

		if (read(s->fd, &si, sizeof(si)) != sizeof(si))
			return;
		arg = si.ssi_signo;
	}
	s->cb(s, arg, s->arg);
}
