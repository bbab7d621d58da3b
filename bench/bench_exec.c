/*
 * bench_exec.c: executor benchmarks. One line per figure, "name value unit", each the median
 * of 5 runs (BENCH_RUNS=R in the environment: R runs, 1..99) of N = 1e6 operations, with the
 * trace hash on (it is always on). bench/peers/run.sh runs it with BENCH_RUNS=1, one workload
 * per invocation, round-robin with the peers.
 *
 *   spawn       spawn N trivial tasks from outside the loop, run until all completed
 *   pingpong    N round trips: A sends a request carrying a fresh oneshot over an mpsc,
 *               B answers on the oneshot, A awaits the answer (the request/response pattern)
 *   pingpong-mpsc  N round trips over two long-lived mpsc channels (no allocation per trip)
 *   timers      N tasks each sleeping until a random deadline in [0, 1 s); every wake-up is
 *               checked to come in exact (deadline, arming order) order
 *
 * Each figure comes twice: wall time per operation, and NAME_cpu, process CPU time (getrusage,
 * user + system) per operation. libuv's and libevent's timer peers run on the real clock and
 * give CPU time, so bench-peers compares sim's CPU time with theirs; and on a loaded shared
 * machine wall time also counts the time the process waited for a core, which CPU time does
 * not (bench-peers holds the absolute targets to the CPU figures).
 *
 * The same workloads run on libuv, libevent and tokio in bench/peers/ (make bench-peers).
 * This file is a host-boundary file: it reads the host clock to time the runs, which the
 * simulation itself never sees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* Process CPU ns per operation over the timed span of the last run. */
static double last_cpu_ns;

#define RUNS_DEFAULT 5
#define RUNS_MAX 99

static sim_world *bench_world(sim_sched_kind kind)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = kind}};
    sim_world *w = NULL;
    if (sim_world_new(&d, &w) != SIM_OK) {
        fprintf(stderr, "bench: cannot create a world\n");
        exit(1);
    }
    return w;
}

/* ---- spawn -------------------------------------------------------------------------------- */

/* A task that finishes at its first poll; its state is the coroutine header every task's
 * state begins with, zero-filled by the spawn. */
static int trivial_poll(void *state, sim_world *w)
{
    (void)state;
    (void)w;
    return SIM_OK;
}

static double bench_spawn(uint64_t n, sim_sched_kind kind)
{
    sim_world *w = bench_world(kind);
    sim_task_desc d = {.name = "t", .poll = trivial_poll, .state_size = sizeof(sim_co)};
    uint64_t t0 = host_now_ns(), c0 = host_cpu_ns();
    for (uint64_t i = 0; i < n; i++) must(sim_spawn(w, &d, NULL), "spawn");
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    last_cpu_ns = (double)(host_cpu_ns() - c0) / (double)n;
    sim_stats st;
    sim_world_stats(w, &st);
    if (st.spawns != n || st.steps != n) {
        fprintf(stderr, "bench: spawn ran %llu of %llu\n", (unsigned long long)st.steps,
                (unsigned long long)n);
        exit(1);
    }
    sim_world_free(w);
    return (double)(t1 - t0) / (double)n;
}

/* ---- ping-pong ---------------------------------------------------------------------------- */

typedef struct ping {
    sim_co co;
    uint64_t left;
    sim_tx requests;   /* a request is the reply's sender, which the channel moves to pong */
    sim_tx reply_tx;
    sim_rx reply_rx;
    uint64_t answer;
} ping;

static const sim_chan_desc answer_desc = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(uint64_t)};

static int ping_poll(void *state, sim_world *w)
{
    ping *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    while (p->left > 0) {
        must(sim_chan_new(w, &answer_desc, &p->reply_tx, &p->reply_rx), "oneshot");
        must(sim_try_send(w, &p->requests, &p->reply_tx), "send request");
        SIM_AWAIT(rc, sim_recv(&p->reply_rx, &p->answer));
        must(rc, "recv answer");
        sim_rx_drop(w, &p->reply_rx);
        p->left--;
    }
    sim_tx_drop(w, &p->requests);
    SIM_END(SIM_OK);
}

typedef struct pong {
    sim_co co;
    sim_rx requests;
    sim_tx reply;
    uint64_t served;
} pong;

static int pong_poll(void *state, sim_world *w)
{
    pong *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    for (;;) {
        SIM_AWAIT(rc, sim_recv(&p->requests, &p->reply));
        if (rc == SIM_ECLOSED) break;
        must(rc, "recv request");
        p->served++;
        must(sim_try_send(w, &p->reply, &p->served), "send answer");
        sim_tx_drop(w, &p->reply);
    }
    sim_rx_drop(w, &p->requests);
    SIM_END(SIM_OK);
}

static double bench_pingpong(uint64_t n)
{
    sim_world *w = bench_world(SIM_SCHED_FIFO);
    ping a = {.left = n};
    pong b = {0};
    sim_chan_desc req = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(sim_tx), .capacity = 1,
                         .handle_at = {0}, .handle_count = 1};
    must(sim_chan_new(w, &req, &a.requests, &b.requests), "mpsc");
    sim_task_desc da = {.name = "ping", .poll = ping_poll, .state = &a, .state_size = sizeof a,
                        .moves = SIM_MOVES(&a.requests)};
    sim_task_desc db = {.name = "pong", .poll = pong_poll, .state = &b, .state_size = sizeof b,
                        .moves = SIM_MOVES(&b.requests)};
    uint64_t t0 = host_now_ns(), c0 = host_cpu_ns();
    must(sim_spawn(w, &da, NULL), "spawn ping");
    must(sim_spawn(w, &db, NULL), "spawn pong");
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    last_cpu_ns = (double)(host_cpu_ns() - c0) / (double)n;
    sim_world_free(w);
    return (double)(t1 - t0) / (double)n;
}

/* ---- ping-pong over an mpsc pair ---------------------------------------------------------- */

typedef struct bouncer {
    sim_co co;
    uint64_t left;     /* the initiator's remaining round trips; 0 for the echoer */
    bool initiator;
    sim_tx out;
    sim_rx in;
    uint64_t ball;
} bouncer;

static int bouncer_poll(void *state, sim_world *w)
{
    bouncer *b = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &b->co);
    if (b->initiator) {
        for (; b->left > 0; b->left--) {
            must(sim_try_send(w, &b->out, &b->ball), "send ball");
            SIM_AWAIT(rc, sim_recv(&b->in, &b->ball));
            must(rc, "recv ball");
            b->ball++;
        }
        sim_tx_drop(w, &b->out);
    } else {
        for (;;) {
            SIM_AWAIT(rc, sim_recv(&b->in, &b->ball));
            if (rc == SIM_ECLOSED) break;
            must(sim_try_send(w, &b->out, &b->ball), "echo ball");
        }
        sim_tx_drop(w, &b->out);
    }
    sim_rx_drop(w, &b->in);
    SIM_END(SIM_OK);
}

static double bench_pingpong_mpsc(uint64_t n)
{
    sim_world *w = bench_world(SIM_SCHED_FIFO);
    bouncer a = {.left = n, .initiator = true};
    bouncer b = {0};
    sim_chan_desc d = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint64_t), .capacity = 1};
    must(sim_chan_new(w, &d, &a.out, &b.in), "mpsc a->b");
    must(sim_chan_new(w, &d, &b.out, &a.in), "mpsc b->a");
    sim_task_desc da = {.name = "a", .poll = bouncer_poll, .state = &a, .state_size = sizeof a,
                        .moves = SIM_MOVES(&a.out, &a.in)};
    sim_task_desc db = {.name = "b", .poll = bouncer_poll, .state = &b, .state_size = sizeof b,
                        .moves = SIM_MOVES(&b.out, &b.in)};
    uint64_t t0 = host_now_ns(), c0 = host_cpu_ns();
    must(sim_spawn(w, &da, NULL), "spawn a");
    must(sim_spawn(w, &db, NULL), "spawn b");
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    last_cpu_ns = (double)(host_cpu_ns() - c0) / (double)n;
    sim_world_free(w);
    return (double)(t1 - t0) / (double)n;
}

/* ---- timers ------------------------------------------------------------------------------- */

typedef struct order_check {
    uint64_t last_deadline;
    uint64_t last_index;
    uint64_t fired;
    uint64_t errors;
} order_check;

typedef struct sleeper {
    sim_co co;
    uint64_t deadline;
    uint64_t index;
    order_check *check;
} sleeper;

static void check_order(sim_world *w, const sleeper *s)
{
    order_check *c = s->check;
    bool in_order = c->fired == 0 || s->deadline > c->last_deadline ||
                    (s->deadline == c->last_deadline && s->index > c->last_index);
    if (!in_order || sim_now(w) != s->deadline) c->errors++;
    c->last_deadline = s->deadline;
    c->last_index = s->index;
    c->fired++;
}

static int sleeper_poll(void *state, sim_world *w)
{
    sleeper *s = state;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_sleep_until(s->deadline));
    check_order(w, s);
    SIM_END(SIM_OK);
}

static double bench_timers(uint64_t n)
{
    sim_world *w = bench_world(SIM_SCHED_FIFO);
    sim_rng rng;
    sim_rng_init(&rng, 7, "bench/timers", 0);
    order_check check = {0};
    sleeper s = {.check = &check};
    sim_task_desc d = {.name = "sleeper", .poll = sleeper_poll, .state = &s,
                       .state_size = sizeof s};
    uint64_t t0 = host_now_ns(), c0 = host_cpu_ns();
    for (uint64_t i = 0; i < n; i++) {
        s.deadline = sim_rng_below(&rng, SIM_S);
        s.index = i;
        must(sim_spawn(w, &d, NULL), "spawn sleeper");
    }
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    last_cpu_ns = (double)(host_cpu_ns() - c0) / (double)n;
    if (check.fired != n || check.errors != 0) {
        fprintf(stderr, "bench: timers fired %llu of %llu, %llu out of order\n",
                (unsigned long long)check.fired, (unsigned long long)n,
                (unsigned long long)check.errors);
        exit(1);
    }
    sim_world_free(w);
    return (double)(t1 - t0) / (double)n;
}

/* ---- driver ------------------------------------------------------------------------------- */

static const char *const workloads[] = {"spawn", "spawn-random", "pingpong", "pingpong-mpsc",
                                         "timers"};
#define NWORK (sizeof workloads / sizeof workloads[0])

static double run_one(size_t which, uint64_t n)
{
    switch (which) {
    case 0:
        return bench_spawn(n, SIM_SCHED_FIFO);
    case 1:
        return bench_spawn(n, SIM_SCHED_RANDOM);
    case 2:
        return bench_pingpong(n);
    case 3:
        return bench_pingpong_mpsc(n);
    default:
        return bench_timers(n);
    }
}

static const char *const figures[] = {
    "spawn_complete_fifo %.1f ns/task\n",      "spawn_complete_random %.1f ns/task\n",
    "pingpong_oneshot_mpsc %.1f ns/round-trip\n", "pingpong_mpsc_pair %.1f ns/round-trip\n",
    "timer_fire_in_order %.1f ns/timer\n",
};

static const char *const cpu_figures[] = {
    "spawn_complete_fifo_cpu %.1f ns-cpu/task\n",
    "spawn_complete_random_cpu %.1f ns-cpu/task\n",
    "pingpong_oneshot_mpsc_cpu %.1f ns-cpu/round-trip\n",
    "pingpong_mpsc_pair_cpu %.1f ns-cpu/round-trip\n",
    "timer_fire_in_order_cpu %.1f ns-cpu/timer\n",
};

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    if (argc > 1) n = strtoull(argv[1], NULL, 10);
    const char *only = argc > 2 ? argv[2] : NULL;
    bool known = only == NULL;
    for (size_t i = 0; i < NWORK && !known; i++) known = strcmp(only, workloads[i]) == 0;
    if (n == 0 || !known) {
        fprintf(stderr, "usage: sim-bench [N [WORKLOAD]]\n  workloads:");
        for (size_t i = 0; i < NWORK; i++) fprintf(stderr, " %s", workloads[i]);
        fprintf(stderr, "\n");
        return 2;
    }
    int runs = bench_runs(RUNS_DEFAULT, RUNS_MAX);
    double v[NWORK][RUNS_MAX], cpu[NWORK][RUNS_MAX];
    /* Runs are interleaved across workloads so that a noisy moment hits all of them alike. */
    for (int r = 0; r < runs; r++) {
        for (size_t i = 0; i < NWORK; i++) {
            if (only != NULL && strcmp(only, workloads[i]) != 0) continue;
            v[i][r] = run_one(i, n);
            cpu[i][r] = last_cpu_ns;
        }
    }
    for (size_t i = 0; i < NWORK; i++) {
        if (only != NULL && strcmp(only, workloads[i]) != 0) continue;
        printf(figures[i], median(v[i], runs));
        printf(cpu_figures[i], median(cpu[i], runs));
    }
    return 0;
}
