/*
 * libevent_bench.c: bench/bench_exec.c's workloads on libevent 2.1 (one event_base, default
 * backend and flags, no threading support, so no locks). Same output format as sim-bench:
 * one line per figure, "name value unit", the median of 5 runs (BENCH_RUNS) of N = 1e6
 * (argv[1]), runs interleaved across workloads; argv[2] picks one workload.
 *
 *   spawn          N event_new(base, -1, 0, cb, self) user events, each made active with
 *                  event_active() before the loop; each callback counts and event_free()s its
 *                  event. Timed: creating + activating + running them (sim: spawn + run).
 *   pingpong       two "tasks" (peer_common.h state machines) woken by event_active() on
 *                  their own user event; the request goes over a bounded(1) channel and
 *                  carries a malloc'd oneshot cell, which B fills and A frees. libevent has no
 *                  channels: chan1/oneshot in peer_common.h are the minimal single-threaded
 *                  equivalents. Every wake-up is handled in the same event_base_loop pass
 *                  (libevent keeps draining its active queue), so no syscall per round trip.
 *   pingpong-mpsc  the same over two long-lived bounded(1) channels, no allocation per trip.
 *   timers         N malloc'd timers (struct event embedded in the allocation, event_assign
 *                  + event_add with a relative struct timeval, microsecond granularity),
 *                  deadlines uniform in [0, 1 s) from peer_common.h's fixed-seed generator.
 *                  They are armed from inside one callback so they share the loop's cached
 *                  time as their base (outside the loop every event_add reads the clock
 *                  anew, which would skew deadlines by the arming time). Each firing is
 *                  checked to come in deadline order at microsecond granularity (ties in any
 *                  order: libevent's min-heap does not keep arming order, only sim does).
 *                  This runs on the REAL clock (libevent has no virtual time), so a run takes
 *                  >= 1 s of wall time, mostly asleep in epoll_wait: the figure compared with
 *                  sim is process CPU time (getrusage user+sys) per timer, ns-cpu/timer; wall
 *                  time per run is printed too. Note libevent 2.1 reads CLOCK_MONOTONIC_COARSE
 *                  by default, so firings are late by up to a clock tick; that costs no CPU.
 *                  Unlike sim (which checks the firing time equals the deadline exactly) this
 *                  peer does not check lateness or earliness: libevent exposes no cached
 *                  monotonic time to compare with.
 */
#define _GNU_SOURCE /* clock_gettime, pthread types in uv.h under -std=c11 */
#include <event2/event.h>
#include <event2/event_struct.h>

#include "peer_common.h"

static struct event_base *new_base(void)
{
    struct event_base *b = event_base_new();
    if (b == NULL) peer_die("event_base_new failed");
    return b;
}

static void loop(struct event_base *b)
{
    if (event_base_loop(b, 0) < 0) peer_die("event_base_loop failed");
}

/* ---- spawn -------------------------------------------------------------------------------- */

static uint64_t spawn_count;

static void spawn_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    spawn_count++;
    event_free(arg);
}

static double bench_spawn(uint64_t n)
{
    struct event_base *b = new_base();
    spawn_count = 0;
    uint64_t t0 = peer_wall_ns(), c0 = peer_cpu_ns();
    for (uint64_t i = 0; i < n; i++) {
        struct event *ev = event_new(b, -1, 0, spawn_cb, event_self_cbarg());
        if (ev == NULL) peer_die("event_new failed");
        event_active(ev, EV_READ, 0);
    }
    loop(b);
    uint64_t t1 = peer_wall_ns();
    peer_last_cpu_ns = (double)(peer_cpu_ns() - c0) / (double)n;
    if (spawn_count != n) peer_die("spawn: not every event ran");
    event_base_free(b);
    return (double)(t1 - t0) / (double)n;
}

/* ---- tasks on user events ----------------------------------------------------------------- */

static void task_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ptask_poll(arg);
}

static void task_wake(ptask *t)
{
    event_active(t->peer, EV_READ, 0);
}

static void task_init(ptask *t, struct event_base *b, void (*run)(ptask *))
{
    t->run = run;
    t->wake = task_wake;
    t->peer = event_new(b, -1, 0, task_cb, t);
    if (t->peer == NULL) peer_die("event_new failed");
}

static double bench_pingpong(uint64_t n)
{
    struct event_base *b = new_base();
    chan1 requests = {0};
    ping a = {.left = n, .requests = &requests};
    pong p = {.requests = &requests};
    uint64_t t0 = peer_wall_ns(), c0 = peer_cpu_ns();
    task_init(&a.t, b, ping_run);
    task_init(&p.t, b, pong_run);
    ptask_wake(&a.t);
    ptask_wake(&p.t);
    loop(b);
    uint64_t t1 = peer_wall_ns();
    peer_last_cpu_ns = (double)(peer_cpu_ns() - c0) / (double)n;
    if (!a.t.done || !p.t.done || p.served != n) peer_die("pingpong did not finish");
    event_free(a.t.peer);
    event_free(p.t.peer);
    event_base_free(b);
    return (double)(t1 - t0) / (double)n;
}

static double bench_pingpong_mpsc(uint64_t n)
{
    struct event_base *b = new_base();
    chan1 ab = {0}, ba = {0};
    bouncer x = {.initiator = true, .left = n, .out = &ab, .in = &ba};
    bouncer y = {.out = &ba, .in = &ab};
    uint64_t t0 = peer_wall_ns(), c0 = peer_cpu_ns();
    task_init(&x.t, b, bouncer_run);
    task_init(&y.t, b, bouncer_run);
    ptask_wake(&x.t);
    ptask_wake(&y.t);
    loop(b);
    uint64_t t1 = peer_wall_ns();
    peer_last_cpu_ns = (double)(peer_cpu_ns() - c0) / (double)n;
    if (!x.t.done || !y.t.done || x.ball != n) peer_die("pingpong-mpsc did not finish");
    event_free(x.t.peer);
    event_free(y.t.peer);
    event_base_free(b);
    return (double)(t1 - t0) / (double)n;
}

/* ---- timers ------------------------------------------------------------------------------- */

typedef struct ltimer {
    struct event ev;
    uint64_t key; /* the checked deadline, in microseconds */
    peer_order *check;
} ltimer;

typedef struct timers_run {
    struct event_base *base;
    uint64_t n;
    bool sabotage;
    peer_order check;
} timers_run;

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ltimer *t = arg;
    peer_order_note(t->check, t->key);
    free(t); /* safe: a fired one-shot timer is no longer in the base, and libevent does not
                touch it after the callback returns */
}

static void arm_one(void *ctx, uint64_t index, uint64_t check_ns, uint64_t armed_ns)
{
    (void)index;
    timers_run *r = ctx;
    ltimer *t = peer_malloc(sizeof *t);
    t->key = check_ns / 1000;
    t->check = &r->check;
    if (event_assign(&t->ev, r->base, -1, 0, timer_cb, t) != 0) peer_die("event_assign failed");
    struct timeval tv = {.tv_sec = (time_t)(armed_ns / PEER_NS_PER_S),
                         .tv_usec = (suseconds_t)(armed_ns % PEER_NS_PER_S / 1000)};
    if (event_add(&t->ev, &tv) != 0) peer_die("event_add failed");
}

static void arm_all_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    timers_run *r = arg;
    peer_draw_deadlines(r->n, r->sabotage, arm_one, r);
}

static double timers_wall_ms;

static double bench_timers(uint64_t n)
{
    timers_run r = {.base = new_base(), .n = n, .sabotage = peer_sabotage()};
    struct event *arm = event_new(r.base, -1, 0, arm_all_cb, &r);
    if (arm == NULL) peer_die("event_new failed");
    uint64_t c0 = peer_cpu_ns(), t0 = peer_wall_ns();
    event_active(arm, EV_READ, 0);
    loop(r.base);
    uint64_t c1 = peer_cpu_ns(), t1 = peer_wall_ns();
    peer_last_cpu_ns = (double)(c1 - c0) / (double)n;
    peer_order_verdict(&r.check, n);
    event_free(arm);
    event_base_free(r.base);
    timers_wall_ms = (double)(t1 - t0) / 1e6;
    return (double)(c1 - c0) / (double)n;
}

/* ---- driver ------------------------------------------------------------------------------- */

static const char *const workloads[] = {"spawn", "pingpong", "pingpong-mpsc", "timers"};
#define NWORK 4

static double run_one(int which, uint64_t n)
{
    switch (which) {
    case 0:
        return bench_spawn(n);
    case 1:
        return bench_pingpong(n);
    case 2:
        return bench_pingpong_mpsc(n);
    default:
        return bench_timers(n);
    }
}

int main(int argc, char **argv)
{
    uint64_t n;
    int only = peer_args(argc, argv, workloads, NWORK, &n);
    static peer_results res;
    peer_drive(only, NWORK, n, run_one, &timers_wall_ms, &res);
    return 0;
}
