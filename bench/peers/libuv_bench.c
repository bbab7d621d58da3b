/*
 * libuv_bench.c: bench/bench_exec.c's workloads on libuv (one uv_loop_t). Same output format
 * as sim-bench: one line per figure, "name value unit", the median of 5 runs (BENCH_RUNS) of
 * N = 1e6 (argv[1]), runs interleaved across workloads; argv[2] picks one workload.
 *
 *   spawn          libuv has no tasks; its cheapest self-contained "runnable unit" is a timer
 *                  with timeout 0. N malloc'd uv_timer_t are started before uv_run; each
 *                  callback counts and uv_close()s its handle, whose close callback frees it.
 *                  Timed: init + start + running them, the close callbacks included (sim:
 *                  spawn + run). The timer heap makes each start and each firing O(log N)
 *                  with a cache miss per level at N = 1e6, where sim's FIFO run queue is
 *                  O(1). So this program also times the same with uv_idle_t handles
 *                  (spawn_complete_idle: started before uv_run, each callback counts, stops
 *                  and closes its handle): all run in one pass over libuv's idle queue,
 *                  which at this N turns out several times cheaper than 0-timeout timers.
 *   pingpong       two "tasks" (peer_common.h state machines); the request goes over a
 *                  bounded(1) channel and carries a malloc'd oneshot cell, which B fills and A
 *                  frees. libuv has no channels: chan1/oneshot in peer_common.h are the
 *                  minimal single-threaded equivalents. A task is made runnable by starting
 *                  its own uv_timer_t with timeout 0: the cheapest correct wake-up measured
 *                  here, because libuv 1.44 runs a 0-timeout timer started from a timer
 *                  callback in the same uv__run_timers pass, with no trip through the loop
 *                  (an implementation detail, and one that starves I/O while the chain lasts:
 *                  strace shows no syscall per round trip).
 *                  The alternatives cost a loop iteration per wake-up, and every iteration
 *                  polls for I/O (epoll_wait; the loop always watches its signal pipe):
 *                  LIBUV_WAKE=idle (uv_idle_start/stop) selects that one for comparison;
 *                  uv_async_send would add an eventfd write and read per wake-up on top.
 *   pingpong-mpsc  the same over two long-lived bounded(1) channels, no allocation per trip.
 *   timers         N malloc'd uv_timer_t, deadlines uniform in [0, 1 s) from peer_common.h's
 *                  fixed-seed generator; libuv timeouts are whole milliseconds, so each is
 *                  armed at floor(d / 1e6) ms. All are started from the same cached loop time
 *                  (uv_update_time once before arming). Each firing is checked to come in
 *                  deadline order at millisecond granularity (ties in any order, though libuv
 *                  in fact keeps arming order among equal timeouts) and not before its
 *                  deadline by the loop's own clock (uv_now). This runs on the REAL clock
 *                  (libuv has no virtual time), so a run takes >= 1 s of wall time, mostly
 *                  asleep in epoll_wait: the figure compared with sim is process CPU time
 *                  (getrusage user+sys) per timer, ns-cpu/timer; wall time per run is printed
 *                  too.
 */
#define _GNU_SOURCE /* clock_gettime, pthread types in uv.h under -std=c11 */
#include <uv.h>

#include "peer_common.h"

static uv_loop_t *new_loop(void)
{
    uv_loop_t *l = peer_malloc(sizeof *l);
    if (uv_loop_init(l) != 0) peer_die("uv_loop_init failed");
    return l;
}

static void free_loop(uv_loop_t *l)
{
    uv_run(l, UV_RUN_DEFAULT); /* finish pending close callbacks */
    if (uv_loop_close(l) != 0) peer_die("uv_loop_close: handles left open");
    free(l);
}

static void run(uv_loop_t *l)
{
    uv_run(l, UV_RUN_DEFAULT);
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

/* ---- spawn -------------------------------------------------------------------------------- */

static uint64_t spawn_count;

static void spawn_cb(uv_timer_t *h)
{
    spawn_count++;
    uv_close((uv_handle_t *)h, free_handle);
}

static void spawn_idle_cb(uv_idle_t *h)
{
    spawn_count++;
    uv_idle_stop(h);
    uv_close((uv_handle_t *)h, free_handle);
}

static double bench_spawn(uint64_t n, bool idle)
{
    uv_loop_t *l = new_loop();
    spawn_count = 0;
    uint64_t t0 = peer_wall_ns(), c0 = peer_cpu_ns();
    for (uint64_t i = 0; i < n; i++) {
        if (idle) {
            uv_idle_t *h = peer_malloc(sizeof *h);
            uv_idle_init(l, h);
            uv_idle_start(h, spawn_idle_cb);
        } else {
            uv_timer_t *h = peer_malloc(sizeof *h);
            uv_timer_init(l, h);
            uv_timer_start(h, spawn_cb, 0, 0);
        }
    }
    run(l);
    uint64_t t1 = peer_wall_ns();
    peer_last_cpu_ns = (double)(peer_cpu_ns() - c0) / (double)n;
    if (spawn_count != n) peer_die("spawn: not every timer ran");
    free_loop(l);
    return (double)(t1 - t0) / (double)n;
}

/* ---- tasks woken by a 0-timeout timer (default) or an idle handle ------------------------- */

static bool wake_by_idle;

typedef union task_handle {
    uv_timer_t timer;
    uv_idle_t idle;
} task_handle;

static void timer_task_cb(uv_timer_t *h)
{
    ptask_poll(h->data);
}

static void idle_task_cb(uv_idle_t *h)
{
    uv_idle_stop(h);
    ptask_poll(h->data);
}

static void task_wake(ptask *t)
{
    task_handle *h = t->peer;
    if (wake_by_idle)
        uv_idle_start(&h->idle, idle_task_cb);
    else
        uv_timer_start(&h->timer, timer_task_cb, 0, 0);
}

static void task_init(ptask *t, uv_loop_t *l, void (*run_fn)(ptask *))
{
    task_handle *h = peer_malloc(sizeof *h);
    if (wake_by_idle) {
        uv_idle_init(l, &h->idle);
        h->idle.data = t;
    } else {
        uv_timer_init(l, &h->timer);
        h->timer.data = t;
    }
    t->run = run_fn;
    t->wake = task_wake;
    t->peer = h;
}

static void task_close(ptask *t)
{
    uv_close(t->peer, free_handle);
}

static double bench_pingpong(uint64_t n)
{
    uv_loop_t *l = new_loop();
    chan1 requests = {0};
    ping a = {.left = n, .requests = &requests};
    pong p = {.requests = &requests};
    uint64_t t0 = peer_wall_ns(), c0 = peer_cpu_ns();
    task_init(&a.t, l, ping_run);
    task_init(&p.t, l, pong_run);
    ptask_wake(&a.t);
    ptask_wake(&p.t);
    run(l);
    uint64_t t1 = peer_wall_ns();
    peer_last_cpu_ns = (double)(peer_cpu_ns() - c0) / (double)n;
    if (!a.t.done || !p.t.done || p.served != n) peer_die("pingpong did not finish");
    task_close(&a.t);
    task_close(&p.t);
    free_loop(l);
    return (double)(t1 - t0) / (double)n;
}

static double bench_pingpong_mpsc(uint64_t n)
{
    uv_loop_t *l = new_loop();
    chan1 ab = {0}, ba = {0};
    bouncer x = {.initiator = true, .left = n, .out = &ab, .in = &ba};
    bouncer y = {.out = &ba, .in = &ab};
    uint64_t t0 = peer_wall_ns(), c0 = peer_cpu_ns();
    task_init(&x.t, l, bouncer_run);
    task_init(&y.t, l, bouncer_run);
    ptask_wake(&x.t);
    ptask_wake(&y.t);
    run(l);
    uint64_t t1 = peer_wall_ns();
    peer_last_cpu_ns = (double)(peer_cpu_ns() - c0) / (double)n;
    if (!x.t.done || !y.t.done || x.ball != n) peer_die("pingpong-mpsc did not finish");
    task_close(&x.t);
    task_close(&y.t);
    free_loop(l);
    return (double)(t1 - t0) / (double)n;
}

/* ---- timers ------------------------------------------------------------------------------- */

typedef struct utimer {
    uv_timer_t h;
    uint64_t key;  /* the checked deadline, in milliseconds */
    uint64_t base; /* uv_now() when armed */
    peer_order *check;
} utimer;

typedef struct timers_run {
    uv_loop_t *loop;
    uint64_t base;
    peer_order check;
} timers_run;

static void timer_cb(uv_timer_t *h)
{
    utimer *t = (utimer *)h;
    peer_order_note(t->check, t->key);
    if (uv_now(h->loop) < t->base + t->key) t->check->early++;
    uv_close((uv_handle_t *)h, free_handle);
}

static void arm_one(void *ctx, uint64_t index, uint64_t check_ns, uint64_t armed_ns)
{
    (void)index;
    timers_run *r = ctx;
    utimer *t = peer_malloc(sizeof *t);
    t->key = check_ns / 1000000;
    t->base = r->base;
    t->check = &r->check;
    uv_timer_init(r->loop, &t->h);
    uv_timer_start(&t->h, timer_cb, armed_ns / 1000000, 0);
}

static double timers_wall_ms;

static double bench_timers(uint64_t n)
{
    timers_run r = {.loop = new_loop()};
    bool sabotage = peer_sabotage();
    uint64_t c0 = peer_cpu_ns(), t0 = peer_wall_ns();
    uv_update_time(r.loop);
    r.base = uv_now(r.loop);
    peer_draw_deadlines(n, sabotage, arm_one, &r);
    run(r.loop);
    uint64_t c1 = peer_cpu_ns(), t1 = peer_wall_ns();
    peer_last_cpu_ns = (double)(c1 - c0) / (double)n;
    peer_order_verdict(&r.check, n);
    free_loop(r.loop);
    timers_wall_ms = (double)(t1 - t0) / 1e6;
    return (double)(c1 - c0) / (double)n;
}

/* ---- driver ------------------------------------------------------------------------------- */

static const char *const workloads[] = {"spawn", "pingpong", "pingpong-mpsc", "timers",
                                         "spawn-idle"};
#define NWORK 5

static double run_one(int which, uint64_t n)
{
    switch (which) {
    case 0:
        return bench_spawn(n, false);
    case 1:
        return bench_pingpong(n);
    case 2:
        return bench_pingpong_mpsc(n);
    case 3:
        return bench_timers(n);
    default:
        return bench_spawn(n, true);
    }
}

int main(int argc, char **argv)
{
    uint64_t n;
    int only = peer_args(argc, argv, workloads, NWORK, &n);
    const char *wake = getenv("LIBUV_WAKE");
    wake_by_idle = wake != NULL && strcmp(wake, "idle") == 0;
    static peer_results res;
    peer_drive(only, NWORK, n, run_one, &timers_wall_ms, &res);
    if (only < 0 || only == 4) {
        printf("spawn_complete_idle %.1f ns/task\n", peer_median(res.v[4], res.runs));
        printf("spawn_complete_idle_cpu %.1f ns-cpu/task\n", peer_median(res.cpu[4], res.runs));
    }
    return 0;
}
