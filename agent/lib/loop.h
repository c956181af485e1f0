/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's single-threaded event loop: epoll over file descriptors,
 * timers as timerfds, signals as a signalfd.  Callbacks run to completion.
 */
#ifndef MG_LOOP_H
#define MG_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct mg_loop;
struct mg_loop_src;

typedef void (*mg_loop_cb)(struct mg_loop_src *src, uint32_t events, void *arg);

struct mg_loop *mg_loop_new(void);
void mg_loop_free(struct mg_loop *loop);

/* Watch fd for events (EPOLLIN ...); the loop does not own fd. */
struct mg_loop_src *mg_loop_add_fd(struct mg_loop *loop, int fd,
				   uint32_t events, mg_loop_cb cb, void *arg);
/* A timer first firing after first_ms, then every period_ms (0: once). */
struct mg_loop_src *mg_loop_add_timer(struct mg_loop *loop,
				      unsigned int first_ms,
				      unsigned int period_ms,
				      mg_loop_cb cb, void *arg);
/* Re-arm a timer. */
int mg_loop_timer_set(struct mg_loop_src *src, unsigned int first_ms,
		      unsigned int period_ms);
/* Block the given signals and deliver them through the loop; cb gets the
 * signal number as events. */
struct mg_loop_src *mg_loop_add_signals(struct mg_loop *loop,
					const int *signals, int n,
					mg_loop_cb cb, void *arg);
void mg_loop_del(struct mg_loop *loop, struct mg_loop_src *src);

/*
 * An fd watched with priority (the control socket): it is served before
 * every other callback of a round, not after up to a round of them, so a
 * flood on the other sources (gossip) delays it by one callback at most.
 * Its source is deleted with mg_loop_del() as any other.
 */
struct mg_loop_src *mg_loop_add_fd_prio(struct mg_loop *loop, int fd,
					uint32_t events, mg_loop_cb cb,
					void *arg);
/*
 * Serve what is ready among the priority sources now; for a callback that
 * runs long (a burst of datagrams) to call between two pieces of work.
 */
void mg_loop_run_prio(struct mg_loop *loop);

/* Run until mg_loop_stop(); returns 0 or -errno. */
int mg_loop_run(struct mg_loop *loop);
void mg_loop_stop(struct mg_loop *loop);

/* Monotonic milliseconds. */
uint64_t mg_now_ms(void);

#endif
