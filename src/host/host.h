/*
 * host.h: the host's mechanics beneath a host world (sim.h, "Host worlds"): an epoll reactor
 * with an eventfd to wake it, and pools of real threads. This module knows nothing of worlds,
 * tasks or nodes: it sits between core and the executor (tools/arrows.sh), which drives it
 * from its loop (src/executor/host_exec.c). Nothing here is deterministic, and nothing here is
 * used by a simulated world.
 */
#ifndef SIM_HOST_H
#define SIM_HOST_H

#include "../core/core.h"

/* ---- the reactor (host_loop.c) --------------------------------------------------------------- */

/* An epoll instance watching sockets edge-triggered, plus an eventfd that other threads and
 * signal handlers write to wake it. Each watched fd has at most one read waiter and one write
 * waiter, opaque nonzero 64-bit values that the reactor hands back when the fd is ready. */
typedef struct sim__reactor sim__reactor;

/* Never NULL: a host that cannot make an epoll instance or an eventfd aborts with a message. */
sim__reactor *sim__reactor_new(void);
void sim__reactor_free(sim__reactor *r);
/* Watches fd (EPOLLIN | EPOLLOUT | EPOLLRDHUP, edge-triggered). Returns 0, or -errno. */
int sim__reactor_add(sim__reactor *r, int fd);
/* Stops watching fd and forgets its waiters (call before closing it). */
void sim__reactor_del(sim__reactor *r, int fd);
/* Sets fd's read (write false) or write waiter; waiter != 0 replaces the previous one. */
void sim__reactor_await(sim__reactor *r, int fd, bool write, uint64_t waiter);
/* The number of read events (readable, the peer's end, an error) reported for fd since it was
 * added, never 0; 0 once the peer's end or an error was reported. A task whose recv came back
 * short and finds the same nonzero epoch when it next reads knows the socket is still empty:
 * it may wait for it without trying (host_loop.c). fd must be watched. */
uint32_t sim__reactor_read_epoch(const sim__reactor *r, int fd);
/* Fds with a waiter now: 0 means no socket can wake the loop. */
uint32_t sim__reactor_waiting(const sim__reactor *r);
/* Waits at most timeout_ns (UINT64_MAX: without a bound) for a ready fd or a kick; hands each
 * ready fd's waiters to wake(ud, waiter) and forgets them. Returns true when it was kicked. An
 * interrupted wait (a signal) returns at once. */
bool sim__reactor_wait(sim__reactor *r, uint64_t timeout_ns, void (*wake)(void *, uint64_t),
                       void *ud);
/* Wakes a wait from any thread or from a signal handler (one write to the eventfd). */
void sim__reactor_kick(sim__reactor *r);
/* The loop is about to wait with a timeout: from now until that wait returns, the first
 * sim__reactor_wake kicks. Call it, then look at what other threads hand over (a hand-over
 * made before this call is seen there), and wait without blocking if there is any. */
void sim__reactor_sleeping(sim__reactor *r);
/* From another thread, after handing something over: kicks only when the loop sleeps (or is
 * about to) and no other thread has kicked it since (sequentially consistent with
 * sim__reactor_sleeping). Not for signal handlers: they kick. */
void sim__reactor_wake(sim__reactor *r);

/* ---- thread pools (host_pool.c) -------------------------------------------------------------- */

/* A fixed set of threads taking jobs from a FIFO queue. A job is (fn, arg): a thread calls
 * fn(arg) and then the pool's done(ud, arg), both on that thread. */
typedef struct sim__tpool sim__tpool;
typedef void (*sim__tpool_fn)(void *arg);

/* Starts `threads` threads (>= 1). Never NULL; aborts if the host cannot make a thread. */
typedef void (*sim__tpool_done_fn)(void *ud, void *arg);
sim__tpool *sim__tpool_new(uint32_t threads, sim__tpool_done_fn done, void *ud);
/* Queues a job. Thread-safe. */
void sim__tpool_submit(sim__tpool *p, sim__tpool_fn fn, void *arg);
/* Lets running jobs finish (their done is called), drops queued ones (drop(arg) for each, on
 * this thread), joins the threads and frees the pool. NULL is allowed. */
void sim__tpool_free(sim__tpool *p, sim__tpool_fn drop);

/* ---- open files (host_files.c) --------------------------------------------------------------- */

/* The open files of a host world: fds by (index, generation), under a reader-writer lock,
 * because the loop's thread and pool threads open, use and close them alike. */
typedef struct sim__hfiles sim__hfiles;

sim__hfiles *sim__hfiles_new(void);
/* Closes every file still open and frees the table. NULL is allowed. */
void sim__hfiles_free(sim__hfiles *t);
/* Enters fd, opened by owner (a node; 0: none); *idx and *gen name it from now on (gen != 0). */
void sim__hfiles_add(sim__hfiles *t, int fd, uint32_t owner, uint32_t *idx, uint32_t *gen);
/* Closes and forgets every file of owner (its node crashed); returns how many. */
uint32_t sim__hfiles_close_owner(sim__hfiles *t, uint32_t owner);
/* The fd of (idx, gen), or -1 when it is not open. */
int sim__hfiles_get(sim__hfiles *t, uint32_t idx, uint32_t gen);
/* Forgets (idx, gen) and returns its fd for the caller to close, or -1 when it is not open. */
int sim__hfiles_remove(sim__hfiles *t, uint32_t idx, uint32_t gen);
/* Runs fn(ud, fd) holding the table's append lock (appends: the end of the file and the
 * write must not interleave with another append); lookups go on meanwhile. */
int sim__hfiles_locked(sim__hfiles *t, int fd, int (*fn)(void *ud, int fd), void *ud);

#endif /* SIM_HOST_H */
