/*
 * bench_fault.c: what a fault point costs. One line per figure, "name value unit", each the
 * median of 5 runs.
 *
 *   fault_hit_off      a SIM_FAULT hit of a declared point whose probability is 0: sim_fault,
 *                      libfiu's fiu_fail, the callback, the hit counter
 *   fault_hit_armed    the same with probability 10^-9 (the decision's hash is computed, and
 *                      the hit does not fire)
 *   fiu_fail_bare      libfiu alone: fiu_fail of a point enabled by exact name with an external
 *                      callback that returns 0, the floor any libfiu-based point pays
 *   pingpong_point     a round trip over an mpsc pair (as in sim-bench) with a SIM_FAULT hit
 *                      on each trip: the cost of a point in context
 *
 * Built twice by make bench: as is, and with -DSIM_NO_FAULT_POINTS, where SIM_FAULT is 0 and
 * the figures measure the code without points (suffix _nopoints).
 *
 * A host-boundary file: it reads the host clock to time the runs. It calls libfiu directly
 * only for the bare figure.
 */
#define FIU_ENABLE 1
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define RUNS 5

static const char *suffix = "";

static sim_world *bench_world(void)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}};
    sim_world *w = NULL;
    must(sim_world_new(&d, &w), "world");
    return w;
}

static const sim_fault_point points[] = {
    {"sut/bench/off", "never fires"},
    {"sut/bench/armed", "fires once in 10^9 hits"},
};

/* ---- hits --------------------------------------------------------------------------------- */

static double bench_hits(uint64_t n, const char *point, sim_ratio p)
{
    sim_world *w = bench_world();
    must(sim_fault_set(w, point, p), "set");
    volatile uint64_t fired = 0;
    uint64_t t0 = host_now_ns();
    for (uint64_t i = 0; i < n; i++) fired += (uint64_t)SIM_FAULT(w, point);
    uint64_t t1 = host_now_ns();
    (void)fired;
    sim_world_free(w);
    return (double)(t1 - t0) / (double)n;
}

static int never(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name;
    (void)failnum;
    (void)failinfo;
    (void)flags;
    return 0;
}

static double bench_fiu_bare(uint64_t n)
{
    volatile uint64_t fired = 0;
    uint64_t t0 = host_now_ns();
    for (uint64_t i = 0; i < n; i++) fired += (uint64_t)fiu_fail("bench/bare");
    uint64_t t1 = host_now_ns();
    (void)fired;
    return (double)(t1 - t0) / (double)n;
}

/* ---- a point in context ------------------------------------------------------------------- */

typedef struct bouncer {
    sim_co co;
    uint64_t left;
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
            if (SIM_FAULT(w, "sut/bench/off")) b->ball += 2;
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

static double bench_pingpong(uint64_t n)
{
    sim_world *w = bench_world();
    bouncer a = {.left = n, .initiator = true};
    bouncer b = {0};
    sim_chan_desc d = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint64_t), .capacity = 1};
    must(sim_chan_new(w, &d, &a.out, &b.in), "mpsc a->b");
    must(sim_chan_new(w, &d, &b.out, &a.in), "mpsc b->a");
    sim_task_desc da = {.name = "a", .poll = bouncer_poll, .state = &a, .state_size = sizeof a,
                        .moves = SIM_MOVES(&a.out, &a.in)};
    sim_task_desc db = {.name = "b", .poll = bouncer_poll, .state = &b, .state_size = sizeof b,
                        .moves = SIM_MOVES(&b.out, &b.in)};
    uint64_t t0 = host_now_ns();
    must(sim_spawn(w, &da, NULL), "spawn a");
    must(sim_spawn(w, &db, NULL), "spawn b");
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    sim_world_free(w);
    return (double)(t1 - t0) / (double)n;
}

/* ---- driver ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    const char *s = getenv("SIM_BENCH_SUFFIX");
    if (s != NULL) suffix = s;
    if (n == 0) {
        fprintf(stderr, "usage: sim-bench-fault [N]\n");
        return 2;
    }
    must(sim_fault_declare(points, 2), "declare");
    if (fiu_enable_external("bench/bare", 1, NULL, 0, never) != 0) {
        fprintf(stderr, "bench: cannot enable a libfiu point\n");
        return 1;
    }
    enum { OFF, ARMED, BARE, PINGPONG, NFIG };
    static const char *const names[NFIG] = {"fault_hit_off", "fault_hit_armed", "fiu_fail_bare",
                                            "pingpong_point"};
    static const char *const units[NFIG] = {"ns/hit", "ns/hit", "ns/hit", "ns/round-trip"};
    double v[NFIG][RUNS];
    for (int r = 0; r < RUNS; r++) {
        v[OFF][r] = bench_hits(n, "sut/bench/off", (sim_ratio){0, 1});
        v[ARMED][r] = bench_hits(n, "sut/bench/armed", (sim_ratio){1, 1000000000});
        v[BARE][r] = bench_fiu_bare(n);
        v[PINGPONG][r] = bench_pingpong(n / 10);
    }
    for (int i = 0; i < NFIG; i++) {
        printf("%s%s %.1f %s\n", names[i], suffix, median(v[i], RUNS), units[i]);
    }
    return 0;
}
