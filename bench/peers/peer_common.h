/*
 * peer_common.h: what the C peers of bench/bench_exec.c (libuv_bench.c, libevent_bench.c)
 * share, so that both run exactly the same task logic and differ only in how a "task" is
 * made runnable by their event loop.
 *
 *   - host clocks: wall time (CLOCK_MONOTONIC) and process CPU time (getrusage user+sys)
 *   - the driver: N from argv[1], an optional workload name in argv[2], 5 runs (BENCH_RUNS=R
 *     in the environment: R, 1..99; run.sh uses 1) interleaved across workloads as sim-bench
 *     does, the median of each figure
 *   - the deadline generator for the timers workload: splitmix64 seeded with 7 and
 *     Lemire's multiply-shift for "below". It is NOT sim's generator (sim_rng), so the
 *     deadlines are a different uniform sample in [0, 1 s) than sim's; tokio's peer uses the
 *     same splitmix64, so all three peers arm identical deadlines.
 *   - the ordering check: every firing's deadline, at the peer's own granularity, must be >=
 *     the previous one. Ties (equal at that granularity) may fire in any order: only sim
 *     promises arming order among equal deadlines. PEER_BENCH_SABOTAGE=1 in the environment
 *     swaps the deadlines armed for each pair of timers (2k, 2k+1) behind the checker's back,
 *     which must make the check count errors (run.sh tests that on every run).
 *   - "tasks": libuv and libevent have no tasks, futures or channels. A ptask is a hand-written
 *     state machine (run) plus a peer-specific way to make the loop call it soon (wake), with
 *     a "queued" flag so a task woken twice runs once, like a waker.
 *   - chan1: a bounded(1), single-consumer channel of uint64_t built on ptask wakes: send
 *     into a full slot parks the sender, recv from an empty one parks the receiver, each side
 *     wakes the other's parked task, close wakes the receiver, which then sees "closed".
 *     This is the minimum a real bounded channel must do; it has no locks or atomics
 *     (tokio's channels do, since they are Send + Sync; sim's are single-threaded like these).
 *   - oneshot: a malloc'd single-value cell with a parked receiver, freed by the receiver.
 */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define PEER_RUNS_DEFAULT 5
#define PEER_RUNS_MAX 99
#define PEER_NS_PER_S 1000000000ull

static inline uint64_t peer_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * PEER_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Process CPU time, user + system, as getrusage reports it. */
static inline uint64_t peer_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * PEER_NS_PER_S +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* Process CPU ns per operation over the timed span of the last run (every bench function
 * sets it), printed as NAME_cpu next to each figure, as sim-bench does. */
static double peer_last_cpu_ns;

static inline void peer_die(const char *what)
{
    fprintf(stderr, "peer bench: %s\n", what);
    exit(1);
}

static inline void *peer_malloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) peer_die("out of memory");
    return p;
}

/*
 * Called after every run, outside the timed part: hands the heap the run freed back to the
 * OS, so that each run starts from a trimmed heap whatever ran before it. Without it, glibc
 * keeps whatever heap a previous workload left fragmented, and a run that reuses those pages
 * skips ~100k page faults: libevent's spawn measured 40 ns/task after the timers workload
 * and 105-135 ns/task on its own. sim's allocator frees its 64 KiB chunks with its world and
 * pays those faults on every run, so trimming keeps the comparison like for like.
 */
static inline void peer_settle(void)
{
    malloc_trim(0);
}

/* ---- deadline generator (identical in tokio/src/main.rs) --------------------------------- */

typedef struct peer_rng {
    uint64_t s;
} peer_rng;

static inline uint64_t peer_rng_next(peer_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t peer_rng_below(peer_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)peer_rng_next(r) * n) >> 64);
}

static inline bool peer_sabotage(void)
{
    const char *s = getenv("PEER_BENCH_SABOTAGE");
    return s != NULL && strcmp(s, "1") == 0;
}

/*
 * Draws N deadlines in [0, 1 s) and calls arm(ctx, index, check_ns, armed_ns) for each. Without
 * sabotage armed == check; with it, pairs are armed with each other's deadline.
 */
typedef void (*peer_arm_fn)(void *ctx, uint64_t index, uint64_t check_ns, uint64_t armed_ns);

static inline void peer_draw_deadlines(uint64_t n, bool sabotage, peer_arm_fn arm, void *ctx)
{
    peer_rng rng = {7};
    for (uint64_t i = 0; i < n;) {
        uint64_t d0 = peer_rng_below(&rng, PEER_NS_PER_S);
        if (sabotage && i + 1 < n) {
            uint64_t d1 = peer_rng_below(&rng, PEER_NS_PER_S);
            arm(ctx, i, d0, d1);
            arm(ctx, i + 1, d1, d0);
            i += 2;
        } else {
            arm(ctx, i, d0, d0);
            i++;
        }
    }
}

/* ---- ordering check ----------------------------------------------------------------------- */

typedef struct peer_order {
    uint64_t last_key;
    uint64_t fired;
    uint64_t out_of_order; /* a firing whose key is below the previous firing's */
    uint64_t early;        /* a firing before its deadline, where the peer lets us tell */
} peer_order;

static inline void peer_order_note(peer_order *c, uint64_t key)
{
    if (c->fired > 0 && key < c->last_key) c->out_of_order++;
    c->last_key = key;
    c->fired++;
}

static inline void peer_order_verdict(const peer_order *c, uint64_t n)
{
    if (c->fired == n && c->out_of_order == 0 && c->early == 0) return;
    fprintf(stderr, "peer bench: timers fired %llu of %llu, %llu out of order, %llu early\n",
            (unsigned long long)c->fired, (unsigned long long)n,
            (unsigned long long)c->out_of_order, (unsigned long long)c->early);
    exit(1);
}

/* ---- tasks and channels ------------------------------------------------------------------- */

typedef struct ptask ptask;
struct ptask {
    void (*run)(ptask *);  /* resume the task's state machine */
    void (*wake)(ptask *); /* peer-specific: make the loop call run() soon */
    void *peer;            /* peer-specific handle */
    bool queued;           /* woken and not yet run */
    bool done;
};

static inline void ptask_wake(ptask *t)
{
    if (t->queued || t->done) return;
    t->queued = true;
    t->wake(t);
}

/* The peer's loop callback for a woken task. */
static inline void ptask_poll(ptask *t)
{
    t->queued = false;
    t->run(t);
}

enum { CH_PENDING = 0, CH_OK = 1, CH_CLOSED = -1 };

typedef struct chan1 {
    uint64_t slot;
    bool full;
    bool closed;
    ptask *recv_waiter;
    ptask *send_waiter;
} chan1;

static inline int chan1_send(chan1 *c, ptask *self, uint64_t v)
{
    if (c->full) {
        c->send_waiter = self;
        return CH_PENDING;
    }
    c->slot = v;
    c->full = true;
    if (c->recv_waiter) {
        ptask *w = c->recv_waiter;
        c->recv_waiter = NULL;
        ptask_wake(w);
    }
    return CH_OK;
}

static inline int chan1_recv(chan1 *c, ptask *self, uint64_t *out)
{
    if (!c->full) {
        if (c->closed) return CH_CLOSED;
        c->recv_waiter = self;
        return CH_PENDING;
    }
    *out = c->slot;
    c->full = false;
    if (c->send_waiter) {
        ptask *w = c->send_waiter;
        c->send_waiter = NULL;
        ptask_wake(w);
    }
    return CH_OK;
}

static inline void chan1_close(chan1 *c)
{
    c->closed = true;
    if (c->recv_waiter) {
        ptask *w = c->recv_waiter;
        c->recv_waiter = NULL;
        ptask_wake(w);
    }
}

typedef struct oneshot {
    uint64_t value;
    bool full;
    ptask *waiter;
} oneshot;

static inline oneshot *oneshot_new(void)
{
    oneshot *o = peer_malloc(sizeof *o);
    o->full = false;
    o->waiter = NULL;
    return o;
}

/* The sender must not touch the oneshot after this: the receiver frees it. */
static inline void oneshot_send(oneshot *o, uint64_t v)
{
    o->value = v;
    o->full = true;
    if (o->waiter) ptask_wake(o->waiter);
}

static inline int oneshot_recv(oneshot *o, ptask *self, uint64_t *out)
{
    if (!o->full) {
        o->waiter = self;
        return CH_PENDING;
    }
    *out = o->value;
    return CH_OK;
}

/* ---- ping-pong with a fresh oneshot per request (sim's "pingpong") ------------------------ */

typedef struct ping {
    ptask t;
    int state;
    uint64_t left;
    chan1 *requests;
    oneshot *reply;
    uint64_t answer;
} ping;

static inline void ping_run(ptask *t)
{
    ping *p = (ping *)t;
    for (;;) {
        switch (p->state) {
        case 0:
            if (p->left == 0) {
                chan1_close(p->requests);
                t->done = true;
                return;
            }
            p->reply = oneshot_new();
            p->state = 1;
            /* fall through */
        case 1:
            if (chan1_send(p->requests, t, (uint64_t)(uintptr_t)p->reply) == CH_PENDING) return;
            p->state = 2;
            /* fall through */
        default:
            if (oneshot_recv(p->reply, t, &p->answer) == CH_PENDING) return;
            free(p->reply);
            p->left--;
            p->state = 0;
        }
    }
}

typedef struct pong {
    ptask t;
    chan1 *requests;
    uint64_t served;
} pong;

static inline void pong_run(ptask *t)
{
    pong *p = (pong *)t;
    for (;;) {
        uint64_t msg;
        int rc = chan1_recv(p->requests, t, &msg);
        if (rc == CH_PENDING) return;
        if (rc == CH_CLOSED) {
            t->done = true;
            return;
        }
        p->served++;
        oneshot_send((oneshot *)(uintptr_t)msg, p->served);
    }
}

/* ---- ping-pong over two long-lived channels (sim's "pingpong-mpsc") ----------------------- */

typedef struct bouncer {
    ptask t;
    int state;
    bool initiator;
    uint64_t left;
    chan1 *out;
    chan1 *in;
    uint64_t ball;
} bouncer;

static inline void bouncer_run(ptask *t)
{
    bouncer *b = (bouncer *)t;
    for (;;) {
        if (b->initiator) {
            if (b->state == 0) {
                if (b->left == 0) {
                    chan1_close(b->out);
                    t->done = true;
                    return;
                }
                if (chan1_send(b->out, t, b->ball) == CH_PENDING) return;
                b->state = 1;
            }
            if (chan1_recv(b->in, t, &b->ball) == CH_PENDING) return;
            b->ball++;
            b->left--;
            b->state = 0;
        } else {
            if (b->state == 0) {
                int rc = chan1_recv(b->in, t, &b->ball);
                if (rc == CH_PENDING) return;
                if (rc == CH_CLOSED) {
                    chan1_close(b->out);
                    t->done = true;
                    return;
                }
                b->state = 1;
            }
            if (chan1_send(b->out, t, b->ball) == CH_PENDING) return;
            b->state = 0;
        }
    }
}

/* ---- driver ------------------------------------------------------------------------------- */

static int peer_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs per figure: BENCH_RUNS from the environment, else PEER_RUNS_DEFAULT. */
static inline int peer_runs(void)
{
    const char *s = getenv("BENCH_RUNS");
    if (s == NULL || *s == '\0') return PEER_RUNS_DEFAULT;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > PEER_RUNS_MAX) {
        fprintf(stderr, "peer bench: BENCH_RUNS=%s: expected 1..%d\n", s, PEER_RUNS_MAX);
        exit(2);
    }
    return (int)v;
}

static inline double peer_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, peer_cmp_double);
    return v[n / 2];
}

/* Parses "[N [WORKLOAD]]" like sim-bench; returns the workload index or -1 for all. */
static inline int peer_args(int argc, char **argv, const char *const *names, int nnames,
                            uint64_t *n)
{
    *n = 1000000;
    if (argc > 1) *n = strtoull(argv[1], NULL, 10);
    int only = -1;
    if (argc > 2) {
        for (int i = 0; i < nnames; i++)
            if (strcmp(argv[2], names[i]) == 0) only = i;
    }
    if (*n == 0 || (argc > 2 && only < 0)) {
        fprintf(stderr, "usage: %s [N [WORKLOAD]]\n  workloads:", argv[0]);
        for (int i = 0; i < nnames; i++) fprintf(stderr, " %s", names[i]);
        fprintf(stderr, "\n");
        exit(2);
    }
    return only;
}

/* The driver both C peers share: runs the four common workloads (and any extra ones after
 * them) interleaved, five times, and prints the common figures. run_one(i, n) runs workload i
 * and returns ns per operation; *timers_wall_ms is read after the timers workload (3). */
#define PEER_MAX_WORK 8

typedef struct peer_results {
    int runs; /* filled by peer_drive */
    double v[PEER_MAX_WORK][PEER_RUNS_MAX];
    double cpu[PEER_MAX_WORK][PEER_RUNS_MAX]; /* process CPU ns per operation */
    double wall[PEER_RUNS_MAX];
} peer_results;

static inline void peer_drive(int only, int nwork, uint64_t n, double (*run_one)(int, uint64_t),
                              const double *timers_wall_ms, peer_results *res)
{
    int runs = res->runs = peer_runs();
    for (int r = 0; r < runs; r++) {
        for (int i = 0; i < nwork; i++) {
            if (only >= 0 && only != i) continue;
            res->v[i][r] = run_one(i, n);
            res->cpu[i][r] = peer_last_cpu_ns;
            if (i == 3) res->wall[r] = *timers_wall_ms;
            peer_settle();
        }
    }
    if (only < 0 || only == 0) {
        printf("spawn_complete_fifo %.1f ns/task\n", peer_median(res->v[0], runs));
        printf("spawn_complete_fifo_cpu %.1f ns-cpu/task\n", peer_median(res->cpu[0], runs));
    }
    if (only < 0 || only == 1) {
        printf("pingpong_oneshot_mpsc %.1f ns/round-trip\n", peer_median(res->v[1], runs));
        printf("pingpong_oneshot_mpsc_cpu %.1f ns-cpu/round-trip\n",
               peer_median(res->cpu[1], runs));
    }
    if (only < 0 || only == 2) {
        printf("pingpong_mpsc_pair %.1f ns/round-trip\n", peer_median(res->v[2], runs));
        printf("pingpong_mpsc_pair_cpu %.1f ns-cpu/round-trip\n", peer_median(res->cpu[2], runs));
    }
    if (only < 0 || only == 3) {
        printf("timer_fire_in_order %.1f ns-cpu/timer\n", peer_median(res->v[3], runs));
        printf("timer_fire_in_order_cpu %.1f ns-cpu/timer\n", peer_median(res->cpu[3], runs));
        printf("timer_wall_per_run %.1f ms\n", peer_median(res->wall, runs));
        printf("timer_out_of_order 0 firings\n"); /* any other count exits non-zero */
    }
}

#endif
