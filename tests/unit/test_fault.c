/*
 * test_fault.c: fault injection through sim.h: the per-hit decision (a pure function of seed,
 * point and hit number), countdowns and sweeps, declaring and setting points, fault plans in
 * scenario files ([faults]: rates, swarm, scripted `at` lines, the max_down budget, the quiet
 * phase and its liveness check), node clocks, and the errors of all of these.
 *
 * Scenario runs use `toy`, a system declared here: setup adds nodes n1..nN (each booted by a
 * per-test boot function) and calls a per-test setup that spawns world-level tasks; check
 * copies what the test wants to see (fault records with their strings, node states, stats)
 * into static storage, because the world dies before sim_scenario_run returns. Callbacks never
 * assert: they record, and the test asserts afterwards. Every world is freed before its test
 * returns. Tasks own what they arm: their timers and the channel ends moved to them at spawn
 * (sim_task_desc.moves) go with them, so no task here needs a drop function to release
 * anything; the one drop function left (life1's) only counts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../scenariotest.h"

#define NEVER UINT64_MAX
#define MAX_NODES 4
#define MAX_RECS 4096

/* ---- fault records, copied out of a world ---------------------------------------------------- */

typedef struct frec {
    uint64_t step;
    uint64_t vtime_ns;
    uint64_t hit;
    uint32_t node;
    sim_fault_action action;
    char point[32];
    char detail[64];
    bool has_detail;
} frec;

typedef struct flist {
    frec v[MAX_RECS];
    uint32_t n;       /* records kept */
    uint32_t total;   /* sim_world_fault_count: more than n means the copy is incomplete */
} flist;

static void flist_copy(flist *out, const sim_world *w)
{
    out->total = sim_world_fault_count(w);
    out->n = 0;
    for (uint32_t i = 0; i < out->total && i < MAX_RECS; i++) {
        const sim_fault_rec *r = sim_world_fault(w, i);
        if (r == NULL) break;
        frec *f = &out->v[out->n++];
        memset(f, 0, sizeof *f);
        f->step = r->step;
        f->vtime_ns = r->vtime_ns;
        f->hit = r->hit;
        f->node = r->node.v;
        f->action = r->action;
        snprintf(f->point, sizeof f->point, "%s", r->point ? r->point : "(null)");
        f->has_detail = r->detail != NULL;
        snprintf(f->detail, sizeof f->detail, "%s", r->detail ? r->detail : "");
    }
}

static bool frec_equal(const frec *a, const frec *b)
{
    return a->step == b->step && a->vtime_ns == b->vtime_ns && a->hit == b->hit &&
           a->node == b->node && a->action == b->action && strcmp(a->point, b->point) == 0 &&
           a->has_detail == b->has_detail && strcmp(a->detail, b->detail) == 0;
}

/* The index of the first record where the lists differ, or -1 when they are equal. */
static int64_t flist_diff(const flist *a, const flist *b)
{
    uint32_t n = a->n < b->n ? a->n : b->n;
    for (uint32_t i = 0; i < n; i++) {
        if (!frec_equal(&a->v[i], &b->v[i])) return i;
    }
    return a->n == b->n ? -1 : (int64_t)n;
}

static uint32_t flist_count(const flist *l, sim_fault_action action, const char *point)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        n += l->v[i].action == action && (point == NULL || strcmp(l->v[i].point, point) == 0);
    }
    return n;
}

static flist recs_a, recs_b, recs_c;

/* ---- the toy system -------------------------------------------------------------------------- */

typedef struct toy toy;

struct toy {
    uint32_t nnodes;                     /* n1..nN */
    sim_boot_cb boot;                    /* every node's boot (ud = the toy); NULL = none */
    int (*setup)(toy *t, sim_world *w);  /* after the nodes are added; NULL = none */
    flist *out;                          /* check copies the fault records here; may be NULL */
    /* filled by setup and check */
    sim_node_id ids[MAX_NODES];
    uint32_t setups;
    uint32_t checks;
    uint32_t by_action[16];              /* records per action in the last checked run */
    uint32_t boots_end[MAX_NODES];
    sim_node_state state_end[MAX_NODES];
    uint64_t now_end;
    sim_stats stats_end;
};

static toy T;

static const char *const node_names[MAX_NODES] = {"n1", "n2", "n3", "n4"};

static const sim_fault_point toy_faults[] = {
    {"sut/toy/flaky", "a flaky call fails"},
    {"sut/toy/always", "fires whenever the plan lets it (tests give it probability 1)"},
};

static int toy_setup(void *ud, sim_world *w, const sim_scenario *sc, void **run_state,
                     char *err, size_t err_size)
{
    toy *t = ud;
    (void)sc;
    *run_state = t;
    t->setups++;
    memset(t->by_action, 0, sizeof t->by_action);
    for (uint32_t i = 0; i < t->nnodes && i < MAX_NODES; i++) {
        sim_node_desc d = {.name = node_names[i], .boot = t->boot, .boot_ud = t};
        int rc = sim_node_add(w, &d, &t->ids[i]);
        if (rc != SIM_OK) {
            snprintf(err, err_size, "adding %s: %s", node_names[i], sim_result_name(rc));
            return rc;
        }
    }
    int rc = t->setup ? t->setup(t, w) : SIM_OK;
    if (rc != SIM_OK) snprintf(err, err_size, "toy setup: %s", sim_result_name(rc));
    return rc;
}

static int toy_check(void *ud, void *run_state, sim_world *w, char *msg, size_t msg_size)
{
    toy *t = ud;
    (void)run_state;
    (void)msg;
    (void)msg_size;
    t->checks++;
    memset(t->by_action, 0, sizeof t->by_action);
    for (uint32_t i = 0; i < sim_world_fault_count(w); i++) {
        const sim_fault_rec *r = sim_world_fault(w, i);
        if (r != NULL && (uint32_t)r->action < 16) t->by_action[r->action]++;
    }
    if (t->out != NULL) flist_copy(t->out, w);
    for (uint32_t i = 0; i < t->nnodes && i < MAX_NODES; i++) {
        t->boots_end[i] = sim_node_boots(w, t->ids[i]);
        t->state_end[i] = sim_node_status(w, t->ids[i]);
    }
    t->now_end = sim_now(w);
    sim_world_stats(w, &t->stats_end);
    return SIM_OK;
}

static uint32_t toy_nodes(void *ud, const sim_scenario *sc, const char **names, uint32_t max)
{
    const toy *t = ud;
    (void)sc;
    for (uint32_t i = 0; i < t->nnodes && i < max && i < MAX_NODES; i++) names[i] = node_names[i];
    return t->nnodes;
}

static const sim_system toy_system = {
    .name = "toy",
    .summary = "nodes n1..nN and tasks each test chooses",
    .setup = toy_setup,
    .check = toy_check,
    .ud = &T,
    .faults = toy_faults,
    .fault_count = sizeof toy_faults / sizeof toy_faults[0],
    .nodes = toy_nodes,
};

static const sim_system *const toy_only[] = {&toy_system};

TestSuite(fault, .fini = release_held);

/* Parses text as "t.ini" against the toy system; asserts success. */
static sim_scenario *parse_toy(const char *text)
{
    return parse_held("t.ini", text, toy_only, 1);
}

static void assert_pass(const sim_run_result *r, uint64_t seed)
{
    cr_assert(eq(str, (char *)r->result, "pass"), "seed %llu: %s: %s (plan: %s)",
              (unsigned long long)seed, r->result, r->detail, r->plan);
}

/* ---- tasks ----------------------------------------------------------------------------------- */

/* Sleeps until an absolute time and stores the time it woke. */
typedef struct waker {
    sim_co co;
    uint64_t until_ns;
    uint64_t *woke_at;   /* may be NULL */
} waker;

static int waker_poll(void *state, sim_world *w)
{
    waker *k = state;
    SIM_BEGIN(w, &k->co);
    SIM_TRY(sim_sleep_until(k->until_ns));
    if (k->woke_at != NULL) *k->woke_at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Spawns a waker; node 0 inside boot = the booting node, outside = world level. */
static int spawn_waker(sim_world *w, const char *name, sim_node_id node, uint64_t until_ns,
                       uint64_t *woke_at, bool daemon)
{
    if (woke_at != NULL) *woke_at = NEVER;
    waker k = {.until_ns = until_ns, .woke_at = woke_at};
    sim_task_desc d = {.name = name, .node = node, .poll = waker_poll, .state = &k,
                       .state_size = sizeof k, .daemon = daemon};
    return sim_spawn(w, &d, NULL);
}

/* What a hitter saw. */
typedef struct hit_log {
    uint64_t late_ns;      /* hits at or after this time also count as late */
    uint32_t hits;
    uint32_t fires;
    uint32_t late_hits;
    uint32_t late_fires;
    uint32_t fired[16];    /* the task's own hit numbers of its first 16 fires */
} hit_log;

/* Hits a point `count` times (0 = forever): the first after first_ns, then every period_ns. */
typedef struct hitter {
    sim_co co;
    const char *point;
    uint64_t first_ns;
    uint64_t period_ns;
    uint32_t count;
    uint32_t i;
    hit_log *log;          /* may be NULL */
} hitter;

/* Hits the point once and logs it. */
static void hit_once(sim_world *w, hitter *h)
{
    int fired = sim_fault(w, h->point);
    if (h->log == NULL) return;
    hit_log *l = h->log;
    bool late = sim_now(w) >= l->late_ns;
    if (fired && l->fires < 16) l->fired[l->fires] = h->i;
    l->hits++;
    l->fires += (uint32_t)fired;
    l->late_hits += late;
    l->late_fires += late && fired;
}

static int hitter_poll(void *state, sim_world *w)
{
    hitter *h = state;
    SIM_BEGIN(w, &h->co);
    for (h->i = 0; h->count == 0 || h->i < h->count; h->i++) {
        SIM_TRY(sim_sleep(w, h->i == 0 ? h->first_ns : h->period_ns));
        hit_once(w, h);
    }
    SIM_END(SIM_OK);
}

static int spawn_hitter(sim_world *w, sim_node_id node, const char *point, uint64_t first_ns,
                        uint64_t period_ns, uint32_t count, hit_log *log, bool daemon)
{
    hitter h = {.point = point, .first_ns = first_ns, .period_ns = period_ns, .count = count,
                .log = log};
    sim_task_desc d = {.name = "hitter", .node = node, .poll = hitter_poll, .state = &h,
                       .state_size = sizeof h, .daemon = daemon};
    return sim_spawn(w, &d, NULL);
}

/* ---- 1. same seed, same faults --------------------------------------------------------------- */

static int boot_flaky_worker(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)node;
    return spawn_hitter(w, (sim_node_id){0}, "sut/toy/flaky", 10 * SIM_MS, 10 * SIM_MS, 0, NULL,
                        true);
}

static int setup_twenty_seconds(toy *t, sim_world *w)
{
    (void)t;
    return spawn_waker(w, "workload", (sim_node_id){0}, 20 * SIM_S, NULL, false);
}

static const char same_seed_ini[] = "[scenario]\n"
                                    "name = same-seed\n"
                                    "system = toy\n"
                                    "[faults]\n"
                                    "crash = 1/3s\n"
                                    "pause = 1/4s\n"
                                    "restart_after = 100ms..1s\n"
                                    "sut/toy/flaky = 0.1\n";

/* Goal: a seed determines its faults: two runs of one seed inject the same faults (same
 * steps, times, points, hit numbers, nodes, actions) and end with the same trace hash, while
 * another seed injects different ones.
 * Method: toy with 3 nodes, each running a daemon that hits sut/toy/flaky every 10 ms, and a
 * 20 s world-level workload; [faults] crash = 1/3s, pause = 1/4s, restart_after = 100ms..1s,
 * flaky = 0.1. Seed 7 twice, seed 8 once; the lists must hold several crashes, restarts,
 * pauses and fires so that the comparison means something. */
Test(fault, same_seed_same_faults)
{
    T = (toy){.nnodes = 3, .boot = boot_flaky_worker, .setup = setup_twenty_seconds};
    sim_scenario *sc = parse_toy(same_seed_ini);
    T.out = &recs_a;
    sim_run_result r1 = run_seed(sc, 7);
    T.out = &recs_b;
    sim_run_result r2 = run_seed(sc, 7);
    T.out = &recs_c;
    sim_run_result r3 = run_seed(sc, 8);
    scenario_done(sc);
    assert_pass(&r1, 7);
    assert_pass(&r2, 7);
    assert_pass(&r3, 8);
    cr_assert(eq(u32, T.checks, 3));
    cr_assert(le(u32, recs_a.total, MAX_RECS));
    cr_assert(eq(u32, r1.faults, recs_a.total));
    cr_assert(ge(u32, flist_count(&recs_a, SIM_FAULT_CRASH, "node/crash"), 5));
    cr_assert(ge(u32, flist_count(&recs_a, SIM_FAULT_RESTART, "node/restart"), 3));
    cr_assert(ge(u32, flist_count(&recs_a, SIM_FAULT_PAUSE, "node/pause"), 3));
    cr_assert(ge(u32, flist_count(&recs_a, SIM_FAULT_FIRE, "sut/toy/flaky"), 50));
    cr_assert(ge(u32, flist_count(&recs_c, SIM_FAULT_CRASH, "node/crash"), 5));
    int64_t d = flist_diff(&recs_a, &recs_b);
    cr_assert(eq(i64, d, -1), "seed 7 twice: records differ at %lld (%u vs %u records)",
              (long long)d, recs_a.n, recs_b.n);
    cr_assert(eq(u64, r1.hash, r2.hash));
    cr_assert(eq(u64, r1.steps, r2.steps));
    cr_assert(eq(u32, r1.faults, r2.faults));
    cr_assert(eq(str, r1.plan, r2.plan));
    cr_assert(ne(i64, flist_diff(&recs_a, &recs_c), -1), "seeds 7 and 8 injected the same");
    cr_assert(ne(u64, r1.hash, r3.hash));
}

/* ---- 2. one point's hits do not move another's decisions ------------------------------------- */

static const sim_fault_point ab_points[] = {
    {"sut/toy/a", "point a"},
    {"sut/toy/b", "point b"},
};

/* Hits sut/toy/a n times in a world of `seed` (probability 1/20), with 1..3 hits of
 * sut/toy/b (probability 1/2) before each when interleave is set; fired[i] = hit i fired.
 * Returns how many fired. Also checks the hit counters and a's fault records. */
static uint32_t hit_a(uint64_t seed, bool interleave, uint8_t *fired, uint32_t n)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    cr_assert(eq(int, sim_fault_declare(ab_points, 2), SIM_OK));
    cr_assert(eq(int, sim_fault_set(w, "sut/toy/a", (sim_ratio){1, 20}), SIM_OK));
    cr_assert(eq(int, sim_fault_set(w, "sut/toy/b", (sim_ratio){1, 2}), SIM_OK));
    sim_rng mix;
    sim_rng_init(&mix, 1234, "test/interleave", 0);
    uint64_t b_hits = 0;
    uint32_t fires = 0, b_fires = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t k = interleave ? 1 + sim_rng_below(&mix, 3) : 0;
        for (uint64_t j = 0; j < k; j++) b_fires += (uint32_t)sim_fault(w, "sut/toy/b");
        b_hits += k;
        int rc = sim_fault(w, "sut/toy/a");
        cr_assert(rc == 0 || rc == 1);
        fired[i] = (uint8_t)rc;
        fires += (uint32_t)rc;
    }
    cr_assert(eq(u64, sim_fault_hits(w, "sut/toy/a"), n));
    cr_assert(eq(u64, sim_fault_hits(w, "sut/toy/b"), b_hits));
    /* Every fire is a record (action fire, node 0 outside tasks) naming a hit that fired. */
    uint32_t a_recs = 0, b_recs = 0;
    for (uint32_t i = 0; i < sim_world_fault_count(w); i++) {
        const sim_fault_rec *r = sim_world_fault(w, i);
        cr_assert(eq(int, (int)r->action, (int)SIM_FAULT_FIRE));
        cr_assert(eq(u32, r->node.v, 0));
        if (strcmp(r->point, "sut/toy/a") == 0) {
            cr_assert(lt(u64, r->hit, n));
            cr_assert(eq(u8, fired[r->hit], 1), "record of a's hit %llu, which did not fire",
                      (unsigned long long)r->hit);
            a_recs++;
        } else {
            cr_assert(eq(str, (char *)r->point, "sut/toy/b"));
            b_recs++;
        }
    }
    cr_assert(eq(u32, a_recs, fires));
    cr_assert(eq(u32, b_recs, b_fires));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
    return fires;
}

/* Goal: whether a hit fires depends only on the seed, the point and the hit number: hits of
 * another point in between do not move a point's decisions, another seed does, and the
 * probability is what was set.
 * Method: 2000 hits of sut/toy/a at 1/20, alone and with 1..3 hits of sut/toy/b (at 1/2)
 * before each, seed 5; the fire sequences must be identical (and hold fires). Seed 6 gives
 * another sequence. 20000 hits at 1/20 fire 800..1200 times (expected 1000, sd 31). */
Test(fault, other_points_do_not_move_decisions)
{
    enum { N = 2000, BIG = 20000 };
    static uint8_t alone[N], mixed[N], other[N], big[BIG];
    uint32_t f_alone = hit_a(5, false, alone, N);
    uint32_t f_mixed = hit_a(5, true, mixed, N);
    uint32_t f_other = hit_a(6, false, other, N);
    cr_assert(ge(u32, f_alone, 50), "only %u of %d hits fired at 1/20", f_alone, N);
    cr_assert(le(u32, f_alone, 150), "%u of %d hits fired at 1/20", f_alone, N);
    cr_assert(eq(u32, f_mixed, f_alone));
    cr_assert(eq(int, memcmp(alone, mixed, N), 0), "hits of b moved a's decisions");
    cr_assert(ge(u32, f_other, 50));
    cr_assert(ne(int, memcmp(alone, other, N), 0), "seeds 5 and 6 fire the same hits of a");
    uint32_t f_big = hit_a(3, false, big, BIG);
    cr_assert(ge(u32, f_big, 800), "%u of %d hits fired at 1/20", f_big, BIG);
    cr_assert(le(u32, f_big, 1200), "%u of %d hits fired at 1/20", f_big, BIG);
}

/* ---- 3. countdowns and sweeps ---------------------------------------------------------------- */

static const sim_fault_point countdown_point[] = {
    {"sut/toy/countdown", "a countdown target"},
};

/* Goal: sim_fault_fail_at makes exactly the given hit (0-based) fire when the point's
 * probability is 0; sim_fault_hits counts every hit, fired or not; UINT64_MAX clears it.
 * Method: fail_at 5, hit 10 times outside any task; then clear it and hit 10 more. */
Test(fault, fail_at_fires_exactly_that_hit)
{
    cr_assert(eq(int, sim_fault_declare(countdown_point, 1), SIM_OK));
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    cr_assert(eq(u64, sim_fault_hits(w, "sut/toy/countdown"), 0));
    cr_assert(eq(int, sim_fault_fail_at(w, "sut/toy/countdown", 5), SIM_OK));
    int got[10];
    for (int i = 0; i < 10; i++) {
        got[i] = sim_fault(w, "sut/toy/countdown");
        cr_assert(eq(u64, sim_fault_hits(w, "sut/toy/countdown"), (uint64_t)i + 1));
    }
    for (int i = 0; i < 10; i++) cr_assert(eq(int, got[i], i == 5 ? 1 : 0), "hit %d", i);
    cr_assert(eq(u32, sim_world_fault_count(w), 1));
    const sim_fault_rec *r = sim_world_fault(w, 0);
    cr_assert(eq(str, (char *)r->point, "sut/toy/countdown"));
    cr_assert(eq(u64, r->hit, 5));
    cr_assert(eq(int, (int)r->action, (int)SIM_FAULT_FIRE));
    cr_assert(eq(ptr, (void *)sim_world_fault(w, 1), NULL));
    /* Cleared: nothing fires, not even hit 15 (which a stale countdown of 5 + 10 might). */
    cr_assert(eq(int, sim_fault_fail_at(w, "sut/toy/countdown", 12), SIM_OK));
    cr_assert(eq(int, sim_fault_fail_at(w, "sut/toy/countdown", UINT64_MAX), SIM_OK));
    for (int i = 10; i < 20; i++) cr_assert(eq(int, sim_fault(w, "sut/toy/countdown"), 0));
    cr_assert(eq(u64, sim_fault_hits(w, "sut/toy/countdown"), 20));
    cr_assert(eq(u32, sim_world_fault_count(w), 1));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* One sweep over a task that hits the countdown point exactly 7 times: logs[k] is what run k
 * saw, ks[k] the hit it armed. Returns the runs made. */
static uint32_t sweep_seven(uint32_t max_runs, sim_sweep *sw, hit_log *logs, uint64_t *ks)
{
    cr_assert(eq(int, sim_fault_declare(countdown_point, 1), SIM_OK));
    sim_sweep_init(sw, "sut/toy/countdown", max_runs);
    uint32_t runs = 0;
    while (sim_sweep_next(sw)) {
        cr_assert(lt(u32, runs, 16), "the sweep does not end");
        sim_world *w = test_world(100 + runs, SIM_SCHED_RANDOM);
        hit_log *log = &logs[runs];
        *log = (hit_log){.late_ns = NEVER};
        cr_assert(eq(int, spawn_hitter(w, (sim_node_id){0}, "sut/toy/countdown", SIM_MS,
                                       SIM_MS, 7, log, false),
                     SIM_OK));
        cr_assert(eq(int, sim_sweep_arm(sw, w), SIM_OK));
        ks[runs] = sw->k;
        test_run_ok(w);
        sim_sweep_end(sw, w);
        cr_assert(eq(u64, sim_fault_hits(w, "sut/toy/countdown"), 7));
        sim_world_free(w);
        runs++;
    }
    return runs;
}

/* Goal: a countdown sweep fails hit k in run k, for k = 0, 1, ..., and stops, complete, after
 * the first run that does not reach hit k; with max_runs it stops there, not complete.
 * Method: a task hits the point exactly 7 times; the sweep must make 8 runs, run k (k < 7)
 * firing exactly the task's hit k and run 7 firing nothing. Again with max_runs = 3. */
Test(fault, countdown_sweep)
{
    sim_sweep sw;
    hit_log logs[16];
    uint64_t ks[16];
    uint32_t runs = sweep_seven(1000, &sw, logs, ks);
    cr_assert(eq(u32, runs, 8));
    cr_assert(eq(u32, sw.runs, 8));
    cr_assert(sw.complete);
    for (uint32_t k = 0; k < 8; k++) {
        cr_assert(eq(u64, ks[k], k));
        cr_assert(eq(u32, logs[k].hits, 7));
        if (k < 7) {
            cr_assert(eq(u32, logs[k].fires, 1), "run %u fired %u hits", k, logs[k].fires);
            cr_assert(eq(u32, logs[k].fired[0], k));
        } else {
            cr_assert(eq(u32, logs[k].fires, 0));
        }
    }
    runs = sweep_seven(3, &sw, logs, ks);
    cr_assert(eq(u32, runs, 3));
    cr_assert(eq(u32, sw.runs, 3));
    cr_assert(not(sw.complete));
    for (uint32_t k = 0; k < 3; k++) {
        cr_assert(eq(u32, logs[k].fires, 1));
        cr_assert(eq(u32, logs[k].fired[0], k));
    }
}

/* ---- 4. errors of the point API -------------------------------------------------------------- */

/* Goal: bad calls of the point API are refused: sim_fault_set with p > q, q = 0 or an
 * undeclared point, sim_fault_fail_at on an undeclared point, and sim_fault_declare with a
 * malformed name all return SIM_EINVAL; declaring a point again is fine; hitting an
 * undeclared point returns 0 and records a misuse violation naming it.
 * Method: the calls on one world; names: no sut/ prefix, upper case, a space, '!', UTF-8, 61
 * characters (60 is the limit and is accepted), nothing after sut/. */
Test(fault, bad_calls)
{
    static const sim_fault_point good[] = {{"sut/toy/good-1.x_y/z", "fine"}};
    cr_assert(eq(int, sim_fault_declare(good, 1), SIM_OK));
    cr_assert(eq(int, sim_fault_declare(good, 1), SIM_OK)); /* again: a no-op */
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    cr_assert(eq(int, sim_fault_set(w, "sut/toy/good-1.x_y/z", (sim_ratio){1, 1}), SIM_OK));
    cr_assert(eq(int, sim_fault(w, "sut/toy/good-1.x_y/z"), 1));
    cr_assert(eq(int, sim_fault_set(w, "sut/toy/good-1.x_y/z", (sim_ratio){3, 2}), SIM_EINVAL));
    cr_assert(eq(int, sim_fault_set(w, "sut/toy/good-1.x_y/z", (sim_ratio){0, 0}), SIM_EINVAL));
    cr_assert(eq(int, sim_fault_set(w, "sut/toy/good-1.x_y/z", (sim_ratio){1, 0}), SIM_EINVAL));
    /* The refused sets left the probability at 1. */
    cr_assert(eq(int, sim_fault(w, "sut/toy/good-1.x_y/z"), 1));
    cr_assert(eq(int, sim_fault_set(w, "sut/toy/never-declared", (sim_ratio){1, 2}),
                 SIM_EINVAL));
    cr_assert(eq(int, sim_fault_fail_at(w, "sut/toy/never-declared", 0), SIM_EINVAL));

    char sixty[64], sixty_one[64];
    snprintf(sixty, sizeof sixty, "sut/toy/%052d", 0);
    snprintf(sixty_one, sizeof sixty_one, "sut/toy/%053d", 0);
    cr_assert(eq(sz, strlen(sixty), 60));
    cr_assert(eq(sz, strlen(sixty_one), 61));
    const char *bad_names[] = {"toy/x",        "node/x",      "sut/Toy/x", "sut/toy/X",
                               "sut/toy/a b",  "sut/toy/a!",  sixty_one,   "sut/",
                               "SUT/toy/x",    "sut/toy/\xc3\xa9", "sut/toy", "sut//x",
                               "sut/toy/",     "sut/toy//x"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        sim_fault_point p = {bad_names[i], "bad"};
        cr_assert(eq(int, sim_fault_declare(&p, 1), SIM_EINVAL), "name '%s' was accepted",
                  bad_names[i]);
    }
    sim_fault_point p60 = {sixty, "sixty characters"};
    cr_assert(eq(int, sim_fault_declare(&p60, 1), SIM_OK));
    cr_assert(eq(int, sim_fault_set(w, sixty, (sim_ratio){1, 1}), SIM_OK));

    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(int, sim_fault(w, "sut/toy/typo-point"), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 1));
    const sim_violation *v = sim_world_violation(w, 0);
    cr_assert(eq(int, (int)v->kind, (int)SIM_VIOLATION_MISUSE));
    cr_assert(ne(ptr, strstr(v->message, "sut/toy/typo-point"), NULL), "message: %s",
              v->message);
    cr_assert(eq(u64, sim_fault_hits(w, "sut/toy/typo-point"), 0));
    sim_world_free(w);
}

/* ---- 5. swarm -------------------------------------------------------------------------------- */

static int setup_swarm(toy *t, sim_world *w)
{
    (void)t;
    return spawn_hitter(w, (sim_node_id){0}, "sut/toy/flaky", 10 * SIM_MS, 10 * SIM_MS, 20, NULL,
                        false);
}

/* "17.2s", "2.5m", "3h" -> seconds; -1 when malformed. */
static double span_seconds(const char *s)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s) return -1;
    if (strcmp(end, "s") == 0) return v;
    if (strcmp(end, "m") == 0) return v * 60;
    if (strcmp(end, "h") == 0) return v * 3600;
    if (strcmp(end, "ms") == 0) return v / 1000;
    return -1;
}

/* "0.306" -> 0.306; -1 when malformed. */
static double probability(const char *s)
{
    char *end = NULL;
    double v = strtod(s, &end);
    return end == s || *end != '\0' ? -1 : v;
}

enum { K_CRASH, K_PAUSE, K_FLAKY, K_SKEW, K_KINDS };

/* Goal: in swarm mode each seed switches each fault kind on or off with probability 1/2,
 * independently, and draws every rate inside its range; the printed plan is what the run did.
 * Method: 1000 seeds of a toy run of 200 ms with crash = 0..1/10s, pause = 0.01..0.05,
 * sut/toy/flaky = 0..0.5 (hit 20 times), clock_skew = 10ms. Parse each plan ("swarm:
 * crash=1/17.2s pause=off ..."): each kind on in 400..600 seeds, each pair of kinds both on in
 * 170..330; crash intervals >= 10 s (printed to a tenth), pause in [0.01, 0.05], flaky in
 * [0, 0.5]; a kind that is off injected nothing (no crash, pause, fire or clock record). */
Test(fault, swarm_switches_kinds_and_draws_in_range, .timeout = 60)
{
    T = (toy){.nnodes = 3, .setup = setup_swarm};
    sim_scenario *sc = parse_toy("[scenario]\n"
                                 "name = swarm\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "swarm = true\n"
                                 "crash = 0..1/10s\n"
                                 "pause = 0.01..0.05\n"
                                 "sut/toy/flaky = 0..0.5\n"
                                 "clock_skew = 10ms\n");
    static const char *const keys[K_KINDS] = {"crash", "pause", "sut/toy/flaky", "clock_skew"};
    uint32_t on[K_KINDS] = {0}, both[K_KINDS][K_KINDS];
    memset(both, 0, sizeof both);
    uint32_t seeds_with_fires = 0;
    for (uint64_t seed = 1; seed <= 1000; seed++) {
        sim_run_result r = run_seed(sc, seed);
        assert_pass(&r, seed);
        cr_assert(eq(int, strncmp(r.plan, "swarm: ", 7), 0), "seed %llu plan: %s",
                  (unsigned long long)seed, r.plan);
        bool is_on[K_KINDS] = {false}, seen[K_KINDS] = {false};
        char plan[sizeof r.plan];
        snprintf(plan, sizeof plan, "%.504s", r.plan + 7); /* r.plan past "swarm: " */
        char *save = NULL;
        for (char *tok = strtok_r(plan, " ", &save); tok != NULL;
             tok = strtok_r(NULL, " ", &save)) {
            char *eqs = strchr(tok, '=');
            cr_assert(ne(ptr, eqs, NULL), "seed %llu plan: %s", (unsigned long long)seed, r.plan);
            *eqs = '\0';
            const char *val = eqs + 1;
            int k = -1;
            for (int i = 0; i < K_KINDS; i++) {
                if (strcmp(tok, keys[i]) == 0) k = i;
            }
            cr_assert(ge(int, k, 0), "seed %llu: unexpected key '%s' in plan %s",
                      (unsigned long long)seed, tok, r.plan);
            cr_assert(not(seen[k]), "seed %llu: %s twice", (unsigned long long)seed, tok);
            seen[k] = true;
            if (strcmp(val, "off") == 0) continue;
            is_on[k] = true;
            if (k == K_CRASH) {
                cr_assert(eq(int, strncmp(val, "1/", 2), 0), "crash=%s", val);
                double s = span_seconds(val + 2);
                cr_assert(ge(dbl, s, 9.95), "seed %llu: crash=%s, below 1/10s",
                          (unsigned long long)seed, val);
            } else if (k == K_PAUSE) {
                double p = probability(val);
                cr_assert(ge(dbl, p, 0.01 - 1e-9), "seed %llu: pause=%s",
                          (unsigned long long)seed, val);
                cr_assert(le(dbl, p, 0.05 + 1e-9), "seed %llu: pause=%s",
                          (unsigned long long)seed, val);
            } else if (k == K_FLAKY) {
                double p = probability(val);
                cr_assert(ge(dbl, p, 0.0), "seed %llu: flaky=%s", (unsigned long long)seed, val);
                cr_assert(le(dbl, p, 0.5 + 1e-9), "seed %llu: flaky=%s",
                          (unsigned long long)seed, val);
            } else {
                cr_assert(eq(str, (char *)val, "10ms"));
            }
        }
        for (int k = 0; k < K_KINDS; k++) {
            cr_assert(seen[k], "seed %llu: %s missing from plan %s", (unsigned long long)seed,
                      keys[k], r.plan);
            on[k] += is_on[k];
            for (int j = 0; j < K_KINDS; j++) both[k][j] += is_on[k] && is_on[j];
        }
        /* What is off injected nothing. */
        if (!is_on[K_CRASH]) cr_assert(eq(u32, T.by_action[SIM_FAULT_CRASH], 0));
        if (!is_on[K_PAUSE]) cr_assert(eq(u32, T.by_action[SIM_FAULT_PAUSE], 0));
        if (!is_on[K_FLAKY]) cr_assert(eq(u32, T.by_action[SIM_FAULT_FIRE], 0));
        cr_assert(eq(u32, T.by_action[SIM_FAULT_CLOCK], is_on[K_SKEW] ? 3 : 0),
                  "seed %llu: plan %s", (unsigned long long)seed, r.plan);
        seeds_with_fires += T.by_action[SIM_FAULT_FIRE] > 0;
    }
    scenario_done(sc);
    cr_assert(eq(u32, T.checks, 1000));
    for (int k = 0; k < K_KINDS; k++) {
        cr_assert(ge(u32, on[k], 400), "%s on in %u of 1000 seeds", keys[k], on[k]);
        cr_assert(le(u32, on[k], 600), "%s on in %u of 1000 seeds", keys[k], on[k]);
        for (int j = k + 1; j < K_KINDS; j++) {
            cr_assert(ge(u32, both[k][j], 170), "%s and %s both on in %u seeds", keys[k],
                      keys[j], both[k][j]);
            cr_assert(le(u32, both[k][j], 330), "%s and %s both on in %u seeds", keys[k],
                      keys[j], both[k][j]);
        }
    }
    cr_assert(ge(u32, seeds_with_fires, 200), "flaky fired in only %u seeds", seeds_with_fires);
}

/* ---- 6. a scripted crash of a node with timers and channels ---------------------------------- */

typedef struct crash_obs {
    uint32_t boots;          /* n1's boot calls */
    uint32_t n1_drops;       /* drops of n1's first-life tasks */
    uint32_t n1_crash_drops; /* ... while n1 was down: by its crash */
    uint32_t n1_done;        /* first-life tasks that completed (must stay 0) */
    int r2_rc;               /* n2's receive from n1 */
    uint64_t r2_at;
    int s2_rc;               /* n2's send to n1 */
    uint64_t s2_at;
    uint64_t reborn_at;      /* the second life's task woke */
} crash_obs;

static crash_obs CO;

enum { LIFE_SLEEP, LIFE_RECV, LIFE_HOLD };

/* A first-life task of n1: sleeps 10 s (holding a sender when it has one) or awaits a
 * message. Its channel end was moved to it at spawn, so it goes with the task. */
typedef struct life1 {
    sim_co co;
    int kind;
    sim_tx tx;
    sim_rx rx;
    uint32_t msg;
} life1;

static int life1_poll(void *state, sim_world *w)
{
    life1 *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    if (l->kind == LIFE_RECV) {
        SIM_AWAIT(rc, sim_recv(&l->rx, &l->msg));
    } else {
        SIM_AWAIT(rc, sim_sleep(w, 10 * SIM_S));
    }
    CO.n1_done++;
    SIM_END(rc);
}

/* Counts the task's end: the drop function runs once however it ends, after its timer and
 * channel end were released. A crash drops it while its node is down (the drop mode of old,
 * which drop functions no longer get, as they have nothing left to release by mode). */
static void life1_drop(void *state, sim_world *w)
{
    (void)state;
    CO.n1_drops++;
    CO.n1_crash_drops += sim_node_status(w, sim_node_current(w)) == SIM_NODE_DOWN;
}

/* n2's side: receives once from n1, or sends once to n1 at 1.5 s. */
typedef struct peer {
    sim_co co;
    bool sender;
    sim_tx tx;
    sim_rx rx;
    uint32_t msg;
} peer;

static int peer_poll(void *state, sim_world *w)
{
    peer *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    if (p->sender) {
        SIM_TRY(sim_sleep_until(1500 * SIM_MS));
        p->msg = 42;
        SIM_AWAIT(rc, sim_send(&p->tx, &p->msg));
        CO.s2_rc = rc;
        CO.s2_at = sim_now(w);
    } else {
        SIM_AWAIT(rc, sim_recv(&p->rx, &p->msg));
        CO.r2_rc = rc;
        CO.r2_at = sim_now(w);
    }
    SIM_END(SIM_OK);
}

static int boot_n1_counted(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    if (strcmp(sim_node_name(w, node), "n1") != 0) return SIM_OK;
    CO.boots++;
    if (CO.boots == 1) return SIM_OK; /* setup gives the first life its tasks */
    return spawn_waker(w, "reborn", (sim_node_id){0}, sim_now(w) + 100 * SIM_MS, &CO.reborn_at,
                       false);
}

/* moves: the handles in state that go to the task (SIM_MOVES), or NULL. */
static int spawn_task(sim_world *w, const char *name, sim_node_id node, sim_poll_cb poll,
                      sim_drop_cb drop, const void *state, size_t size,
                      const void *const *moves)
{
    sim_task_desc d = {.name = name, .node = node, .poll = poll, .drop = drop, .state = state,
                       .state_size = size, .moves = moves};
    return sim_spawn(w, &d, NULL);
}

static int setup_crash_channels(toy *t, sim_world *w)
{
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t), .capacity = 4};
    life1 sleeper = {.kind = LIFE_SLEEP}, recv = {.kind = LIFE_RECV}, hold = {.kind = LIFE_HOLD};
    peer r2 = {.sender = false}, s2 = {.sender = true};
    int rc = sim_chan_new(w, &cd, &s2.tx, &recv.rx);      /* n2 -> n1 */
    if (rc == SIM_OK) rc = sim_chan_new(w, &cd, &hold.tx, &r2.rx); /* n1 -> n2 */
    if (rc != SIM_OK) return rc;
    /* The channel ends were made at world level: each is moved to the task that uses it, so
     * that it goes with that task (else the world would own it, and n1's crash would close
     * nothing). */
    sim_node_id n1 = t->ids[0], n2 = t->ids[1];
    rc = spawn_task(w, "n1-sleep", n1, life1_poll, life1_drop, &sleeper, sizeof sleeper, NULL);
    if (rc == SIM_OK) {
        rc = spawn_task(w, "n1-recv", n1, life1_poll, life1_drop, &recv, sizeof recv,
                        SIM_MOVES(&recv.rx));
    }
    if (rc == SIM_OK) {
        rc = spawn_task(w, "n1-hold", n1, life1_poll, life1_drop, &hold, sizeof hold,
                        SIM_MOVES(&hold.tx));
    }
    if (rc == SIM_OK) {
        rc = spawn_task(w, "n2-recv", n2, peer_poll, NULL, &r2, sizeof r2, SIM_MOVES(&r2.rx));
    }
    if (rc == SIM_OK) {
        rc = spawn_task(w, "n2-send", n2, peer_poll, NULL, &s2, sizeof s2, SIM_MOVES(&s2.tx));
    }
    /* The fault driver is a daemon: a world-level task keeps the run going past the restart. */
    if (rc == SIM_OK) rc = spawn_waker(w, "workload", (sim_node_id){0}, 2500 * SIM_MS, NULL, false);
    return rc;
}

/* Goal: a scripted crash drops the node's tasks in crash mode with their timers and channel
 * ends: a peer receiving from the node sees SIM_ECLOSED at the crash, a peer sending to it
 * later gets SIM_ECLOSED; the scripted restart boots the node again; the run passes with
 * nothing left behind (no timer, no channel, no violation; no leak under make check); each
 * scripted line is a record.
 * Method: at = 1s crash n1, at = 2s restart n1. n1's first life: a 10 s sleeper, a task
 * awaiting a channel from n2, a task holding the sender of a channel to n2 (all spawned by
 * setup onto n1, each channel end moved to its task); n2: the receiver of that channel and a
 * sender that sends at 1.5 s. n1's second boot spawns a 100 ms sleeper; a world-level task
 * runs until 2.5 s. The first-life tasks count their ends in a drop function, and whether n1
 * was down then. */
Test(fault, scripted_crash_closes_channels_and_restart_boots_again)
{
    CO = (crash_obs){.r2_rc = SIM_PENDING, .s2_rc = SIM_PENDING};
    T = (toy){.nnodes = 2, .boot = boot_n1_counted, .setup = setup_crash_channels,
              .out = &recs_a};
    sim_scenario *sc = parse_toy("[scenario]\n"
                                 "name = crash\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "at = 1s crash n1\n"
                                 "at = 2s restart n1\n");
    sim_run_result r = run_seed(sc, 3);
    scenario_done(sc);
    assert_pass(&r, 3);
    cr_assert(eq(u32, T.checks, 1));
    cr_assert(eq(u32, CO.boots, 2));
    cr_assert(eq(u32, T.boots_end[0], 2));
    cr_assert(eq(u32, T.boots_end[1], 1));
    cr_assert(eq(int, (int)T.state_end[0], (int)SIM_NODE_UP));
    cr_assert(eq(u32, CO.n1_drops, 3));
    cr_assert(eq(u32, CO.n1_crash_drops, 3));
    cr_assert(eq(u32, CO.n1_done, 0));
    cr_assert(eq(int, CO.r2_rc, SIM_ECLOSED));
    cr_assert(eq(u64, CO.r2_at, SIM_S));
    cr_assert(eq(int, CO.s2_rc, SIM_ECLOSED));
    cr_assert(eq(u64, CO.s2_at, 1500 * SIM_MS));
    cr_assert(eq(u64, CO.reborn_at, 2100 * SIM_MS));
    cr_assert(eq(u64, r.vtime_ns, 2500 * SIM_MS));
    cr_assert(eq(u32, T.stats_end.timers_armed, 0));
    cr_assert(eq(u32, T.stats_end.objects_live, 0));
    cr_assert(eq(u32, T.stats_end.violations, 0));
    cr_assert(eq(u32, recs_a.total, 2));
    cr_assert(eq(u32, r.faults, 2));
    frec *c = &recs_a.v[0], *s = &recs_a.v[1];
    cr_assert(eq(str, c->point, "script"));
    cr_assert(eq(int, (int)c->action, (int)SIM_FAULT_CRASH));
    cr_assert(eq(u32, c->node, 1));
    cr_assert(eq(u64, c->vtime_ns, SIM_S));
    cr_assert(eq(u64, c->hit, 0));
    cr_assert(eq(str, c->detail, "at 1s crash n1"));
    cr_assert(eq(str, s->point, "script"));
    cr_assert(eq(int, (int)s->action, (int)SIM_FAULT_RESTART));
    cr_assert(eq(u32, s->node, 1));
    cr_assert(eq(u64, s->vtime_ns, 2 * SIM_S));
    cr_assert(eq(u64, s->hit, 1));
    cr_assert(eq(str, s->detail, "at 2s restart n1"));
    cr_assert(lt(u64, c->step, s->step));
}

/* ---- 7. a scripted pause --------------------------------------------------------------------- */

static uint64_t woke_n1, woke_n2;

static int setup_wake_at_2s(toy *t, sim_world *w)
{
    int rc = spawn_waker(w, "n1-waker", t->ids[0], 2 * SIM_S, &woke_n1, false);
    if (rc == SIM_OK) rc = spawn_waker(w, "n2-waker", t->ids[1], 2 * SIM_S, &woke_n2, false);
    return rc;
}

/* Goal: a scripted pause freezes the node while the clock goes on: a timer that expires
 * during the pause fires late, at the resume; other nodes are unaffected.
 * Method: at = 1s pause n1, at = 3s resume n1; a task on n1 and one on n2 sleep until 2 s:
 * n1's wakes at 3 s, n2's at 2 s. The two script lines are records. */
Test(fault, scripted_pause_delays_timers_to_resume)
{
    T = (toy){.nnodes = 2, .setup = setup_wake_at_2s, .out = &recs_a};
    sim_scenario *sc = parse_toy("[scenario]\n"
                                 "name = pause\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "at = 1s pause n1\n"
                                 "at = 3s resume n1\n");
    sim_run_result r = run_seed(sc, 4);
    scenario_done(sc);
    assert_pass(&r, 4);
    cr_assert(eq(u64, woke_n1, 3 * SIM_S));
    cr_assert(eq(u64, woke_n2, 2 * SIM_S));
    cr_assert(eq(int, (int)T.state_end[0], (int)SIM_NODE_UP));
    cr_assert(eq(u32, recs_a.total, 2));
    cr_assert(eq(str, recs_a.v[0].point, "script"));
    cr_assert(eq(int, (int)recs_a.v[0].action, (int)SIM_FAULT_PAUSE));
    cr_assert(eq(u64, recs_a.v[0].vtime_ns, SIM_S));
    cr_assert(eq(u32, recs_a.v[0].node, 1));
    cr_assert(eq(str, recs_a.v[0].detail, "at 1s pause n1"));
    cr_assert(eq(int, (int)recs_a.v[1].action, (int)SIM_FAULT_RESUME));
    cr_assert(eq(u64, recs_a.v[1].vtime_ns, 3 * SIM_S));
    cr_assert(eq(str, recs_a.v[1].detail, "at 3s resume n1"));
}

/* ---- 8. the max_down budget ------------------------------------------------------------------ */

typedef struct budget_obs {
    uint32_t max_out;        /* most nodes down or paused at once */
    uint64_t samples;
    uint64_t samples_out;    /* samples with at least one node out */
} budget_obs;

static budget_obs BO;

typedef struct sampler {
    sim_co co;
    sim_interval every;
} sampler;

/* How many nodes are down or paused now, into BO. */
static void sample_nodes(const sim_world *w)
{
    uint32_t out = 0;
    for (uint32_t i = 1; i <= sim_node_count(w); i++) {
        out += sim_node_status(w, (sim_node_id){i}) != SIM_NODE_UP;
    }
    BO.samples++;
    BO.samples_out += out > 0;
    if (out > BO.max_out) BO.max_out = out;
}

static int sampler_poll(void *state, sim_world *w)
{
    sampler *s = state;
    SIM_BEGIN(w, &s->co);
    sim_interval_init(w, &s->every, SIM_MS);
    for (;;) {
        SIM_TRY(sim_tick(&s->every));
        sample_nodes(w);
    }
    SIM_END(SIM_OK);
}

static int setup_budget(toy *t, sim_world *w)
{
    (void)t;
    sampler s = {0};
    sim_task_desc d = {.name = "sampler", .poll = sampler_poll, .state = &s,
                       .state_size = sizeof s, .daemon = true};
    int rc = sim_spawn(w, &d, NULL);
    if (rc == SIM_OK) rc = spawn_waker(w, "workload", (sim_node_id){0}, 5 * SIM_S, NULL, false);
    return rc;
}

/* Goal: with max_down = 1 the plan never has more than one node down or paused at once, even
 * at rates that would otherwise take several out together.
 * Method: 4 nodes, tick 10ms, crash = pause = 1/20ms (one chance in two per tick each),
 * restart_after and pause_for 10ms..50ms, 5 s; a world-level daemon samples every 1 ms how
 * many nodes are not up. With max_down = 1 the most is 1 and some samples see one out; the
 * same scenario with max_down = all sees 2 or more (so the sampler can see a breach). */
Test(fault, max_down_budget_holds)
{
    T = (toy){.nnodes = 4, .setup = setup_budget, .out = &recs_a};
    sim_scenario *sc = parse_toy("[scenario]\n"
                                 "name = budget\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "tick = 10ms\n"
                                 "crash = 1/20ms\n"
                                 "pause = 1/20ms\n"
                                 "restart_after = 10ms..50ms\n"
                                 "pause_for = 10ms..50ms\n"
                                 "max_down = 1\n");
    BO = (budget_obs){0};
    sim_run_result r = run_seed(sc, 9);
    assert_pass(&r, 9);
    budget_obs limited = BO;
    uint32_t crashes = flist_count(&recs_a, SIM_FAULT_CRASH, "node/crash");
    uint32_t pauses = flist_count(&recs_a, SIM_FAULT_PAUSE, "node/pause");
    char err[512] = "";
    cr_assert(eq(int, sim_scenario_set(sc, "faults", "max_down", "all", err, sizeof err), SIM_OK),
              "%s", err);
    BO = (budget_obs){0};
    sim_run_result r2 = run_seed(sc, 9);
    scenario_done(sc);
    assert_pass(&r2, 9);
    cr_assert(ge(u64, limited.samples, 4900));
    cr_assert(le(u32, limited.max_out, 1), "%u nodes out at once with max_down = 1",
              limited.max_out);
    cr_assert(lt(u64, 100, limited.samples_out), "a node was out in %llu of %llu samples",
              (unsigned long long)limited.samples_out, (unsigned long long)limited.samples);
    cr_assert(ge(u32, crashes, 10));
    cr_assert(ge(u32, pauses, 3));
    cr_assert(ge(u32, BO.max_out, 2), "without a budget at most %u nodes were out at once",
              BO.max_out);
}

/* ---- 9. the liveness phase ------------------------------------------------------------------- */

typedef struct client_obs {
    uint64_t done_at;
    uint32_t checks;
} client_obs;

static client_obs CL;

/* Every 100 ms, checks a condition; finishes after `need` checks in a row found it true.
 * first_life: n1 is up and has booted once; otherwise: every node is up. */
typedef struct client {
    sim_co co;
    sim_interval every;
    uint32_t run;
    uint32_t need;
    bool first_life;
} client;

static bool client_ok(const client *c, const sim_world *w)
{
    if (c->first_life) {
        sim_node_id n1 = sim_node_find(w, "n1");
        return sim_node_status(w, n1) == SIM_NODE_UP && sim_node_boots(w, n1) == 1;
    }
    for (uint32_t i = 1; i <= sim_node_count(w); i++) {
        if (sim_node_status(w, (sim_node_id){i}) != SIM_NODE_UP) return false;
    }
    return true;
}

static int client_poll(void *state, sim_world *w)
{
    client *c = state;
    SIM_BEGIN(w, &c->co);
    sim_interval_init(w, &c->every, 100 * SIM_MS);
    while (c->run < c->need) {
        SIM_TRY(sim_tick(&c->every));
        CL.checks++;
        c->run = client_ok(c, w) ? c->run + 1 : 0;
    }
    CL.done_at = sim_now(w);
    SIM_END(SIM_OK);
}

static int spawn_client(sim_world *w, uint32_t need, bool first_life)
{
    CL = (client_obs){.done_at = NEVER};
    client c = {.need = need, .first_life = first_life};
    return spawn_task(w, "client", (sim_node_id){0}, client_poll, NULL, &c, sizeof c, NULL);
}

static int setup_all_up_client(toy *t, sim_world *w)
{
    (void)t;
    return spawn_client(w, 10, false);
}

static int setup_first_life_client(toy *t, sim_world *w)
{
    (void)t;
    return spawn_client(w, 20, true);
}


/* ---- 8b. the nodes each kind of fault may hit ----------------------------------------------- */

typedef struct reach_obs {
    uint64_t samples;
    uint64_t cut_n1;        /* samples where a link between n1 and n2 or n3 was cut */
    uint64_t cut_n2_n3;     /* samples where n2 and n3 could not reach each other */
} reach_obs;

static reach_obs RO;

static int reach_poll(void *state, sim_world *w)
{
    sampler *s = state;
    SIM_BEGIN(w, &s->co);
    sim_interval_init(w, &s->every, SIM_MS);
    for (;;) {
        SIM_TRY(sim_tick(&s->every));
        sim_node_id n1 = {1}, n2 = {2}, n3 = {3};
        RO.samples++;
        RO.cut_n1 += !sim_net_reachable(w, n1, n2) || !sim_net_reachable(w, n2, n1) ||
                     !sim_net_reachable(w, n1, n3) || !sim_net_reachable(w, n3, n1);
        RO.cut_n2_n3 += !sim_net_reachable(w, n2, n3) || !sim_net_reachable(w, n3, n2);
    }
    SIM_END(SIM_OK);
}

static int setup_reach(toy *t, sim_world *w)
{
    (void)t;
    sampler s = {0};
    sim_task_desc d = {.name = "reach", .poll = reach_poll, .state = &s, .state_size = sizeof s,
                       .daemon = true};
    int rc = sim_spawn(w, &d, NULL);
    if (rc == SIM_OK) rc = spawn_waker(w, "workload", (sim_node_id){0}, 5 * SIM_S, NULL, false);
    return rc;
}

/* Per node (1..4): how many records of the action the last run made. */
static void per_node(const flist *l, sim_fault_action action, uint32_t counts[MAX_NODES + 1])
{
    memset(counts, 0, (MAX_NODES + 1) * sizeof *counts);
    for (uint32_t i = 0; i < l->n; i++) {
        if (l->v[i].action == action && l->v[i].node <= MAX_NODES) counts[l->v[i].node]++;
    }
}

static const char targets_ini[] = "[scenario]\n"
                                  "name = targets\n"
                                  "system = toy\n"
                                  "[faults]\n"
                                  "tick = 10ms\n"
                                  "crash = 1/100ms\n"
                                  "pause = 1/100ms\n"
                                  "clog = 1/100ms\n"
                                  "partition = 1/200ms\n"
                                  "restart_after = 10ms..50ms\n"
                                  "pause_for = 10ms..50ms\n"
                                  "clog_for = 10ms..50ms\n"
                                  "partition_for = 10ms..50ms\n"
                                  "group.front = n1 n2\n"
                                  "crash_nodes = front\n"
                                  "pause_nodes = n3\n"
                                  "clog_nodes = n[4]\n"
                                  "partition_nodes = n2 n3 n4\n";

/* Goal: crash_nodes, pause_nodes, clog_nodes and partition_nodes keep each kind of random
 * fault to the nodes they name (by name, glob or group), and a partition cuts only links
 * between the nodes partition_nodes names; with the defaults (all) every node is hit.
 * Method: 4 nodes, tick 10ms, every kind often, 5 s, seeds 1..3: crash_nodes = front
 * (group.front = n1 n2), pause_nodes = n3, clog_nodes = n[4], partition_nodes = n2 n3 n4. The
 * fault records say who was hit; a daemon samples each 1 ms whether n1 reaches n2 and n3
 * (never cut) and whether n2 and n3 reach each other (cut by some partitions). Then the same
 * seeds with every *_nodes key set back to all: each kind hits nodes outside those lists. */
Test(fault, targets_limit_each_kind, .timeout = 60)
{
    T = (toy){.nnodes = 4, .setup = setup_reach, .out = &recs_a};
    sim_scenario *sc = parse_toy(targets_ini);
    uint32_t crash[MAX_NODES + 1], pause[MAX_NODES + 1], clog[MAX_NODES + 1];
    uint32_t crashes = 0, pauses = 0, clogs = 0, parts = 0;
    RO = (reach_obs){0};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        sim_run_result r = run_seed(sc, seed);
        assert_pass(&r, seed);
        per_node(&recs_a, SIM_FAULT_CRASH, crash);
        per_node(&recs_a, SIM_FAULT_PAUSE, pause);
        per_node(&recs_a, SIM_FAULT_CLOG, clog);
        cr_assert(eq(u32, crash[3] + crash[4], 0), "seed %llu crashed n3 or n4",
                  (unsigned long long)seed);
        cr_assert(eq(u32, pause[1] + pause[2] + pause[4], 0), "seed %llu paused a node not n3",
                  (unsigned long long)seed);
        cr_assert(eq(u32, clog[1] + clog[2] + clog[3], 0), "seed %llu clogged a node not n4",
                  (unsigned long long)seed);
        crashes += crash[1] + crash[2];
        pauses += pause[3];
        clogs += clog[4];
        parts += flist_count(&recs_a, SIM_FAULT_PARTITION, "net/partition");
        for (uint32_t i = 0; i < recs_a.n; i++) {
            const frec *f = &recs_a.v[i];
            if (f->action != SIM_FAULT_PARTITION || !f->has_detail) continue;
            cr_assert(eq(ptr, strstr(f->detail, "n1"), NULL), "a partition cut n1: %s",
                      f->detail);
        }
    }
    cr_assert(ge(u32, crashes, 20), "%u crashes", crashes);
    cr_assert(ge(u32, pauses, 10), "%u pauses", pauses);
    cr_assert(ge(u32, clogs, 10), "%u clogs", clogs);
    cr_assert(ge(u32, parts, 10), "%u partitions", parts);
    cr_assert(ge(u64, RO.samples, 14000));
    cr_assert(eq(u64, RO.cut_n1, 0), "n1's links were cut in %llu samples",
              (unsigned long long)RO.cut_n1);
    cr_assert(lt(u64, 100, RO.cut_n2_n3), "n2-n3 cut in %llu samples (the sampler sees cuts)",
              (unsigned long long)RO.cut_n2_n3);

    /* The defaults: every node is fair game again. */
    char err[512] = "";
    static const char *const keys[] = {"crash_nodes", "pause_nodes", "clog_nodes",
                                       "partition_nodes"};
    for (size_t k = 0; k < 4; k++) {
        cr_assert(eq(int, sim_scenario_set(sc, "faults", keys[k], "all", err, sizeof err),
                     SIM_OK), "%s", err);
    }
    uint32_t others = 0;
    RO = (reach_obs){0};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        sim_run_result r = run_seed(sc, seed);
        assert_pass(&r, seed);
        per_node(&recs_a, SIM_FAULT_CRASH, crash);
        per_node(&recs_a, SIM_FAULT_PAUSE, pause);
        per_node(&recs_a, SIM_FAULT_CLOG, clog);
        others += crash[3] + crash[4] + pause[1] + pause[2] + clog[1] + clog[2];
    }
    scenario_done(sc);
    cr_assert(ge(u32, others, 10), "with all, only %u faults hit nodes outside the lists", others);
    cr_assert(lt(u64, 0, RO.cut_n1), "with all, no partition or clog ever cut n1");
}


/* Goal: the quiet phase restarts what the plan crashed, so a system that converges only when
 * every node is up finishes after quiet_after and passes.
 * Method: 3 nodes, crash = 1/500ms, restart = 0 (a crashed node stays down until the quiet
 * phase), quiet_after = 5s, converge_within = 5s; a world-level client finishes after 10
 * checks in a row (100 ms apart) found every node up. It must pass, finishing after 5 s, and
 * every restart must be the quiet phase's. */
Test(fault, liveness_phase_lets_system_converge)
{
    T = (toy){.nnodes = 3, .setup = setup_all_up_client, .out = &recs_a};
    sim_scenario *sc = parse_toy("[scenario]\n"
                                 "name = converge\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "crash = 1/500ms\n"
                                 "restart = 0\n"
                                 "quiet_after = 5s\n"
                                 "converge_within = 5s\n");
    sim_run_result r = run_seed(sc, 11);
    scenario_done(sc);
    assert_pass(&r, 11);
    cr_assert(lt(u64, 5 * SIM_S, r.vtime_ns), "finished at %llu ns",
              (unsigned long long)r.vtime_ns);
    cr_assert(le(u64, r.vtime_ns, 10 * SIM_S));
    cr_assert(lt(u64, 5 * SIM_S, CL.done_at));
    uint32_t crashes = flist_count(&recs_a, SIM_FAULT_CRASH, "node/crash");
    cr_assert(ge(u32, crashes, 1));
    cr_assert(eq(u32, flist_count(&recs_a, SIM_FAULT_RESTART, "node/restart"), 0));
    uint32_t quiet_restarts = flist_count(&recs_a, SIM_FAULT_RESTART, "quiet");
    cr_assert(ge(u32, quiet_restarts, 1));
    for (uint32_t i = 0; i < recs_a.n; i++) {
        const frec *f = &recs_a.v[i];
        if (f->action == SIM_FAULT_RESTART) cr_assert(eq(u64, f->vtime_ns, 5 * SIM_S));
        if (f->action == SIM_FAULT_CRASH) cr_assert(lt(u64, f->vtime_ns, 5 * SIM_S));
    }
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(eq(int, (int)T.state_end[i], (int)SIM_NODE_UP), "n%u", i + 1);
    }
}

/* Goal: a system that cannot converge after the faults stop fails as liveness, at
 * quiet_after + converge_within, with a detail naming the bound it missed.
 * Method: a client that needs 20 checks in a row (2 s) of n1 up and in its first life;
 * at = 1s crash n1, quiet_after = 3s, converge_within = 2s: n1 restarts at 3 s, in its second
 * life, so the client never finishes. Without the crash the same system passes at 2 s. */
Test(fault, liveness_phase_reports_no_convergence)
{
    T = (toy){.nnodes = 2, .setup = setup_first_life_client};
    sim_scenario *sc = parse_toy("[scenario]\n"
                                 "name = stuck\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "at = 1s crash n1\n"
                                 "quiet_after = 3s\n"
                                 "converge_within = 2s\n");
    sim_run_result r = run_seed(sc, 12);
    scenario_done(sc);
    cr_assert(eq(str, (char *)r.result, "liveness"), "%s: %s", r.result, r.detail);
    cr_assert(r.failed);
    cr_assert(eq(int, r.rc, SIM_ETIMELIMIT));
    cr_assert(ne(ptr, strstr(r.detail, "did not converge within converge_within = 2s"), NULL),
              "detail: %s", r.detail);
    cr_assert(ge(u64, r.vtime_ns, 5 * SIM_S));
    cr_assert(lt(u64, r.vtime_ns, 6 * SIM_S));
    cr_assert(eq(u64, CL.done_at, NEVER));
    cr_assert(ge(u32, CL.checks, 45));
    /* The control: no crash, the client finishes after 2 s of first life. */
    sim_scenario *ok = parse_toy("[scenario]\n"
                                 "name = fine\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "quiet_after = 3s\n"
                                 "converge_within = 2s\n");
    sim_run_result r2 = run_seed(ok, 12);
    scenario_done(ok);
    assert_pass(&r2, 12);
    cr_assert(eq(u64, CL.done_at, 2 * SIM_S));
}

/* ---- 10. the quiet phase --------------------------------------------------------------------- */

static hit_log QL;

static int setup_quiet(toy *t, sim_world *w)
{
    (void)t;
    QL = (hit_log){.late_ns = 2 * SIM_S};
    /* Hits at 5 ms, 15 ms, ..., 2995 ms: never at the quiet time itself. */
    return spawn_hitter(w, (sim_node_id){0}, "sut/toy/always", 5 * SIM_MS, 10 * SIM_MS, 300,
                        &QL, false);
}

/* Goal: after quiet_after nothing fires: no crash, pause, script or code point record
 * follows, only the quiet phase's own records (quiet, then heal / resume / restart, point
 * "quiet"), and a code point at probability 1 returns 0; every node ends up.
 * Method: 3 nodes, crash = pause = 1/1s, restart_after and pause_for 100ms..500ms,
 * sut/toy/always = 1, a partition at 1.5 s, a scripted pause of n1 and crash of n2 and n3 at
 * 1.995 s (so that the quiet phase has every node to resume or restart: a node the plan took
 * out already is the plan's to bring back), quiet_after = 2s; a world-level task hits the
 * point every 10 ms until 3 s. */
Test(fault, quiet_phase_stops_every_fault)
{
    T = (toy){.nnodes = 3, .setup = setup_quiet, .out = &recs_a};
    sim_scenario *sc = parse_toy("[scenario]\n"
                                 "name = quiet\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "crash = 1/1s\n"
                                 "pause = 1/1s\n"
                                 "restart_after = 100ms..500ms\n"
                                 "pause_for = 100ms..500ms\n"
                                 "sut/toy/always = 1\n"
                                 "at = 1500ms partition n1 | n2 n3\n"
                                 "at = 1995ms pause n1\n"
                                 "at = 1995ms crash n2 n3\n"
                                 "quiet_after = 2s\n"
                                 "converge_within = 2s\n");
    sim_run_result r = run_seed(sc, 13);
    scenario_done(sc);
    assert_pass(&r, 13);
    cr_assert(eq(u32, QL.hits, 300));
    cr_assert(eq(u32, QL.late_hits, 100));
    cr_assert(eq(u32, QL.fires, 200), "%u of the 200 hits before quiet_after fired", QL.fires);
    cr_assert(eq(u32, QL.late_fires, 0));
    cr_assert(eq(u32, recs_a.total, recs_a.n));
    uint32_t quiet = 0, heals = 0, before = 0;
    for (uint32_t i = 0; i < recs_a.n; i++) {
        frec *f = &recs_a.v[i];
        if (f->vtime_ns < 2 * SIM_S) {
            cr_assert(eq(u32, quiet, 0), "record %u (%s %s) after the quiet record", i,
                      f->point, sim_fault_action_name(f->action));
            before++;
            continue;
        }
        cr_assert(eq(str, f->point, "quiet"), "record %u at %llu ns: %s %s", i,
                  (unsigned long long)f->vtime_ns, f->point, sim_fault_action_name(f->action));
        cr_assert(eq(u64, f->vtime_ns, 2 * SIM_S));
        bool own = f->action == SIM_FAULT_QUIET || f->action == SIM_FAULT_RESTART ||
                   f->action == SIM_FAULT_RESUME || f->action == SIM_FAULT_HEAL;
        cr_assert(own, "record %u: quiet %s", i, sim_fault_action_name(f->action));
        if (f->action == SIM_FAULT_QUIET) {
            cr_assert(eq(u32, quiet, 0), "the quiet record comes first");
            quiet++;
        } else {
            cr_assert(eq(u32, quiet, 1), "quiet %s before the quiet record",
                      sim_fault_action_name(f->action));
        }
        heals += f->action == SIM_FAULT_HEAL;
    }
    cr_assert(eq(u32, quiet, 1));
    cr_assert(eq(u32, heals, 1));
    uint32_t restarts = flist_count(&recs_a, SIM_FAULT_RESTART, "quiet");
    uint32_t resumes = flist_count(&recs_a, SIM_FAULT_RESUME, "quiet");
    cr_assert(ge(u32, restarts, 2));
    cr_assert(eq(u32, restarts + resumes, 3), "%u restarts, %u resumes", restarts, resumes);
    cr_assert(ge(u32, before, 200));
    cr_assert(eq(u32, flist_count(&recs_a, SIM_FAULT_PARTITION, "script"), 1));
    cr_assert(ge(u32, flist_count(&recs_a, SIM_FAULT_CRASH, "node/crash"), 1));
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(eq(int, (int)T.state_end[i], (int)SIM_NODE_UP), "n%u", i + 1);
    }
}

/* ---- 10b. the end of the run ---------------------------------------------------------------- */

static int setup_one_second(toy *t, sim_world *w)
{
    (void)t;
    return spawn_waker(w, "workload", (sim_node_id){0}, SIM_S, NULL, false);
}

/* Runs the toy over 3 nodes with a workload that ends at 1 s, under FIFO scheduling and the
 * given [faults] lines; the fault records land in recs_a. */
static sim_run_result run_until_one_second(const char *faults)
{
    T = (toy){.nnodes = 3, .setup = setup_one_second, .out = &recs_a};
    char text[512];
    snprintf(text, sizeof text,
             "[scenario]\nname = end\nsystem = toy\nstrategy = fifo\n[faults]\n%s", faults);
    sim_scenario *sc = parse_toy(text);
    sim_run_result r = run_seed(sc, 14);
    scenario_done(sc);
    return r;
}

/* Goal: faults strike only while the run has work: a fault due in the very instant the last
 * non-daemon task finished, which the driver reaches after it, does not happen, so a system's
 * check never judges a state damaged after its run ended (regression for gossip-faults seed
 * 1227: a node crashed in the instant the watcher saw every node know every rumor, and the
 * check, run after the end, found it down). Method: FIFO scheduling, so that the workload's
 * timer (armed before the driver's) is polled first at 1 s. (1) A crash per tick (1/100ms,
 * probability 1) with max_down = 1 and restarts 50 ms later: crashes at 100, 200, ... 900 ms
 * and none at 1 s, every node up at the end. (2) Scripted lines at 1 s: nothing happens. (3)
 * The control: the same crash at 999 ms happens, and n1 ends down. */
Test(fault, no_fault_after_the_work_is_done)
{
    sim_run_result r = run_until_one_second("crash = 1/100ms\nmax_down = 1\n"
                                            "restart_after = 50ms..50ms\n");
    assert_pass(&r, 14);
    cr_assert(eq(u64, T.now_end, SIM_S));
    cr_assert(eq(u32, flist_count(&recs_a, SIM_FAULT_CRASH, "node/crash"), 9));
    for (uint32_t i = 0; i < recs_a.n; i++) {
        cr_assert(lt(u64, recs_a.v[i].vtime_ns, SIM_S), "record %u: %s %s at the end", i,
                  recs_a.v[i].point, sim_fault_action_name(recs_a.v[i].action));
    }
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(eq(int, (int)T.state_end[i], (int)SIM_NODE_UP), "n%u", i + 1);
    }
    r = run_until_one_second("at = 1s crash n1\nat = 1s partition n1 | n2 n3\n");
    assert_pass(&r, 14);
    cr_assert(eq(u32, recs_a.n, 0), "%u record(s), the first %s", recs_a.n, recs_a.v[0].point);
    cr_assert(eq(int, (int)T.state_end[0], (int)SIM_NODE_UP));
    r = run_until_one_second("at = 999ms crash n1\n");
    assert_pass(&r, 14);
    cr_assert(eq(u32, flist_count(&recs_a, SIM_FAULT_CRASH, "script"), 1));
    cr_assert(eq(int, (int)T.state_end[0], (int)SIM_NODE_DOWN));
}

/* ---- 11. node clocks ------------------------------------------------------------------------- */

typedef struct clock_probe {
    sim_co co;
    uint64_t *seen;
} clock_probe;

static int clock_probe_poll(void *state, sim_world *w)
{
    clock_probe *c = state;
    SIM_BEGIN(w, &c->co);
    *c->seen = sim_node_now(w);
    SIM_END(SIM_OK);
}

/* Goal: a node's clock is now + offset + now * drift / 10^6, never below 0, kept across a
 * restart; sim_node_now reads the running task's node (true time at world level and outside
 * tasks); a drift of a million ppm either way is SIM_EINVAL and an unknown node SIM_ENODE,
 * both leaving the clocks as they were.
 * Method: nodes a, b, c, d; a world-level task keeps the clock moving to 10 s; clocks are set
 * and read at 1 s and 3 s. */
Test(fault, node_clock_arithmetic)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sim_node_id a = test_node(w, "a", NULL, NULL);
    sim_node_id b = test_node(w, "b", NULL, NULL);
    sim_node_id c = test_node(w, "c", NULL, NULL);
    sim_node_id d = test_node(w, "d", NULL, NULL);
    cr_assert(eq(int, spawn_waker(w, "keep", (sim_node_id){0}, 10 * SIM_S, NULL, false), SIM_OK));
    cr_assert(eq(u64, sim_node_clock(w, a), 0));
    cr_assert(eq(int, sim_world_run_until(w, SIM_S), SIM_OK));
    cr_assert(eq(u64, sim_node_clock(w, a), SIM_S)); /* clocks start true */
    cr_assert(eq(int, sim_node_set_clock(w, a, 5 * (int64_t)SIM_MS, 0), SIM_OK));
    cr_assert(eq(u64, sim_node_clock(w, a), SIM_S + 5 * SIM_MS));
    cr_assert(eq(int, sim_node_set_clock(w, b, -2 * (int64_t)SIM_S, 1000), SIM_OK));
    cr_assert(eq(u64, sim_node_clock(w, b), 0)); /* 1s - 2s + 1ms: clamped at 0 */
    cr_assert(eq(int, sim_node_set_clock(w, c, 0, -500000), SIM_OK));
    cr_assert(eq(u64, sim_node_clock(w, c), 500 * SIM_MS));
    cr_assert(eq(int, sim_node_set_clock(w, d, 0, 999999), SIM_OK));
    cr_assert(eq(u64, sim_node_clock(w, d), 2 * SIM_S - SIM_US));
    /* Refused: a million ppm either way, unknown nodes. Nothing changes. */
    cr_assert(eq(int, sim_node_set_clock(w, a, 0, 1000000), SIM_EINVAL));
    cr_assert(eq(int, sim_node_set_clock(w, a, 0, -1000000), SIM_EINVAL));
    cr_assert(eq(int, sim_node_set_clock(w, a, 0, INT32_MAX), SIM_EINVAL));
    cr_assert(eq(int, sim_node_set_clock(w, (sim_node_id){99}, 0, 0), SIM_ENODE));
    cr_assert(eq(int, sim_node_set_clock(w, (sim_node_id){0}, 0, 0), SIM_ENODE));
    cr_assert(eq(u64, sim_node_clock(w, a), SIM_S + 5 * SIM_MS));
    cr_assert(eq(u64, sim_node_clock(w, (sim_node_id){99}), SIM_S)); /* true time */
    cr_assert(eq(u64, sim_node_now(w), SIM_S));                      /* outside a task */

    cr_assert(eq(int, sim_world_run_until(w, 3 * SIM_S), SIM_OK));
    cr_assert(eq(u64, sim_node_clock(w, a), 3 * SIM_S + 5 * SIM_MS));
    cr_assert(eq(u64, sim_node_clock(w, b), SIM_S + 3 * SIM_MS)); /* 3s - 2s + 3ms */
    cr_assert(eq(u64, sim_node_clock(w, c), 1500 * SIM_MS));
    cr_assert(eq(u64, sim_node_clock(w, d), 6 * SIM_S - 3 * SIM_US));
    /* A restart keeps the clock. */
    cr_assert(eq(int, sim_node_crash(w, a), SIM_OK));
    cr_assert(eq(int, sim_node_restart(w, a), SIM_OK));
    cr_assert(eq(u64, sim_node_clock(w, a), 3 * SIM_S + 5 * SIM_MS));
    /* Inside tasks: the task's node's clock; at world level, true time. */
    uint64_t on_a = 0, on_b = 0, on_world = 0;
    clock_probe pa = {.seen = &on_a}, pb = {.seen = &on_b}, pw = {.seen = &on_world};
    sim_join ja = test_spawn(w, "probe-a", a, clock_probe_poll, NULL, &pa, sizeof pa);
    sim_join jb = test_spawn(w, "probe-b", b, clock_probe_poll, NULL, &pb, sizeof pb);
    sim_join jw = test_spawn(w, "probe-w", (sim_node_id){0}, clock_probe_poll, NULL, &pw,
                             sizeof pw);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&ja)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jb)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jw)), SIM_OK));
    cr_assert(eq(u64, sim_now(w), 3 * SIM_S));
    cr_assert(eq(u64, on_a, 3 * SIM_S + 5 * SIM_MS));
    cr_assert(eq(u64, on_b, SIM_S + 3 * SIM_MS));
    cr_assert(eq(u64, on_world, 3 * SIM_S));
    test_run_ok(w);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

typedef struct clock_obs {
    uint64_t at1[MAX_NODES];   /* each node's clock at 1 s */
    uint64_t at2[MAX_NODES];   /* and at 2 s */
} clock_obs;

static clock_obs CK;

typedef struct clock_reader {
    sim_co co;
} clock_reader;

static int clock_reader_poll(void *state, sim_world *w)
{
    clock_reader *c = state;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_sleep_until(SIM_S));
    for (uint32_t i = 0; i < T.nnodes; i++) CK.at1[i] = sim_node_clock(w, T.ids[i]);
    SIM_TRY(sim_sleep_until(2 * SIM_S));
    for (uint32_t i = 0; i < T.nnodes; i++) CK.at2[i] = sim_node_clock(w, T.ids[i]);
    SIM_END(SIM_OK);
}

static int setup_clock_reader(toy *t, sim_world *w)
{
    (void)t;
    clock_reader c = {0};
    return spawn_task(w, "clocks", (sim_node_id){0}, clock_reader_poll, NULL, &c, sizeof c,
                      NULL);
}

/* Goal: clock_skew and clock_drift give each node a clock offset within +-skew and a drift
 * within +-drift ppm, recorded as one "clock" fault per node at time 0.
 * Method: 3 nodes, clock_skew = 50ms, clock_drift = 100, seeds 1..5; a world-level task reads
 * every clock at 1 s and 2 s, from which drift = (c2 - c1 - 1 s) / 1000 ns and offset = c1 -
 * 1 s - drift * 1000 ns. Some offsets must be nonzero and not all nodes alike. */
Test(fault, clock_skew_and_drift_from_plan)
{
    T = (toy){.nnodes = 3, .setup = setup_clock_reader, .out = &recs_a};
    sim_scenario *sc = parse_toy("[scenario]\n"
                                 "name = clocks\n"
                                 "system = toy\n"
                                 "[faults]\n"
                                 "clock_skew = 50ms\n"
                                 "clock_drift = 100\n");
    uint32_t nonzero_offsets = 0, nonzero_drifts = 0, distinct = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        CK = (clock_obs){0};
        sim_run_result r = run_seed(sc, seed);
        assert_pass(&r, seed);
        int64_t offsets[3];
        for (uint32_t i = 0; i < 3; i++) {
            int64_t c1 = (int64_t)CK.at1[i], c2 = (int64_t)CK.at2[i];
            int64_t drift = (c2 - c1 - (int64_t)SIM_S) / 1000;
            cr_assert(eq(i64, (c2 - c1 - (int64_t)SIM_S) % 1000, 0), "seed %llu n%u",
                      (unsigned long long)seed, i + 1);
            int64_t offset = c1 - (int64_t)SIM_S - drift * 1000;
            cr_assert(le(i64, drift < 0 ? -drift : drift, 100), "seed %llu n%u drift %lld",
                      (unsigned long long)seed, i + 1, (long long)drift);
            cr_assert(le(i64, offset < 0 ? -offset : offset, 50 * (int64_t)SIM_MS),
                      "seed %llu n%u offset %lld ns", (unsigned long long)seed, i + 1,
                      (long long)offset);
            nonzero_offsets += offset != 0;
            nonzero_drifts += drift != 0;
            offsets[i] = offset;
        }
        distinct += offsets[0] != offsets[1] || offsets[1] != offsets[2];
        cr_assert(eq(u32, flist_count(&recs_a, SIM_FAULT_CLOCK, NULL), 3));
        bool node_seen[4] = {false};
        for (uint32_t i = 0; i < recs_a.n; i++) {
            const frec *f = &recs_a.v[i];
            if (f->action != SIM_FAULT_CLOCK) continue;
            cr_assert(eq(u64, f->vtime_ns, 0));
            cr_assert(ge(u32, f->node, 1));
            cr_assert(le(u32, f->node, 3));
            cr_assert(not(node_seen[f->node]), "two clock records for n%u", f->node);
            node_seen[f->node] = true;
        }
    }
    scenario_done(sc);
    cr_assert(ge(u32, nonzero_offsets, 10));
    cr_assert(ge(u32, nonzero_drifts, 10));
    cr_assert(ge(u32, distinct, 4));
}

/* ---- 12. [faults] errors in scenario files --------------------------------------------------- */

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Parses text; asserts SIM_EINVAL, no scenario, the message prefix and every word. */
static void expect_error(const char *text, const char *prefix, const char *const *words)
{
    sim_scenario *sc = (sim_scenario *)&sc; /* not NULL: the call must clear it */
    char err[1024] = "";
    int rc = sim_scenario_parse("t.ini", text, toy_only, 1, &sc, err, sizeof err);
    cr_assert(eq(int, rc, SIM_EINVAL), "message: %s\n--- text ---\n%s", err, text);
    cr_assert(eq(ptr, sc, NULL));
    cr_assert(eq(int, strncmp(err, prefix, strlen(prefix)), 0), "'%s' does not start with '%s'",
              err, prefix);
    for (size_t i = 0; words[i] != NULL; i++) {
        cr_assert(ne(ptr, strstr(err, words[i]), NULL), "'%s' is not in: %s", words[i], err);
    }
}

#define HEAD "[scenario]\nname = t\nsystem = toy\n[faults]\n" /* lines 1..4 */

/* Goal: a bad [faults] section is refused at load time with the file, the line and what to
 * fix: an unknown key (listing the valid keys), a probability above 1, a per-time rate on a
 * code point, an `at` naming a node the system does not add (listing its nodes), a partition
 * with one group, an `at` after quiet_after, a liveness phase that ends after time_limit, and
 * a key given twice.
 * Method: sim_scenario_parse on small texts; the toy system says its nodes are n1, n2, n3. */
Test(fault, scenario_errors)
{
    T = (toy){.nnodes = 3};
    expect_error(HEAD "crash = 1/10s\nbogus = 1\n", "t.ini:6: ",
                 WORDS("bogus", "valid keys", "crash", "sut/toy/flaky", "quiet_after"));
    expect_error(HEAD "sut/toy/flaky = 1.5\n", "t.ini:5: ", WORDS("sut/toy/flaky", "1.5"));
    expect_error(HEAD "pause = 1.5\n", "t.ini:5: ", WORDS("pause", "1.5"));
    expect_error(HEAD "sut/toy/flaky = 1/10s\n", "t.ini:5: ", WORDS("sut/toy/flaky", "1/10s"));
    expect_error(HEAD "at = 1s crash n1\nat = 2s crash n9\n", "t.ini:6: ",
                 WORDS("n9", "n1, n2, n3"));
    expect_error(HEAD "at = 1s partition n1 n2\n", "t.ini:5: ", WORDS("partition", "group"));
    expect_error(HEAD "quiet_after = 5s\nat = 6s crash n1\n", "t.ini:6: ",
                 WORDS("6s crash n1", "quiet_after"));
    expect_error("[scenario]\nname = t\nsystem = toy\ntime_limit = 10s\n[faults]\n"
                 "quiet_after = 8s\nconverge_within = 5s\n",
                 "t.ini:", WORDS("quiet_after", "converge_within", "time_limit"));
    expect_error(HEAD "crash = 1/10s\npause = 0.1\ncrash = 1/20s\n", "t.ini:7: ",
                 WORDS("crash", "twice", "5"));
    /* And the good version of each parses. */
    sim_scenario *sc = parse_toy(HEAD "crash = 1/10s\nsut/toy/flaky = 0.5\n"
                                      "at = 1s partition n1 | n2 n3\nat = 2s crash n3\n"
                                      "quiet_after = 5s\n");
    scenario_done(sc);
}

/* Goal: [faults] only scripts a run's random faults by hit: exactly the hits listed fire
 * (whatever their rate says), no other hit does, node/restart keeps its own rate, and
 * `only = none` takes every random fault out; the list round-trips through the canonical text,
 * and a bad entry is refused with what is expected.
 * Method: the 4-node toy at crash = pause = 1/20ms for 5 s, seed 5: its crash and pause hits;
 * then the same seed with only = its first two crash hits and one pause hit (those three fire
 * and nothing else starts), and with only = none (no fault at all). */
Test(fault, only_scripts_the_faults)
{
    T = (toy){.nnodes = 4, .setup = setup_budget, .out = &recs_a};
    sim_scenario *sc = parse_toy("[scenario]\nname = only\nsystem = toy\n[faults]\n"
                                 "tick = 10ms\ncrash = 1/20ms\npause = 1/20ms\n"
                                 "restart_after = 10ms..50ms\npause_for = 10ms..50ms\n");
    sim_run_result r = run_seed(sc, 5);
    assert_pass(&r, 5);
    uint64_t crash_hits[2] = {0, 0}, pause_hit = 0;
    uint32_t ncrash = 0;
    bool have_pause = false;
    for (uint32_t i = 0; i < recs_a.n; i++) {
        const frec *f = &recs_a.v[i];
        if (f->action == SIM_FAULT_CRASH && ncrash < 2) crash_hits[ncrash++] = f->hit;
        if (f->action == SIM_FAULT_PAUSE && !have_pause) {
            pause_hit = f->hit;
            have_pause = true;
        }
    }
    cr_assert(eq(u32, ncrash, 2));
    cr_assert(have_pause);
    cr_assert(lt(u32, 10, flist_count(&recs_a, SIM_FAULT_CRASH, NULL)), "the plan crashes often");
    char err[512] = "", v[96];
    for (uint32_t i = 0; i < 2; i++) {
        snprintf(v, sizeof v, "node/crash@%llu", (unsigned long long)crash_hits[i]);
        cr_assert(eq(int, sim_scenario_set(sc, "faults", "only", v, err, sizeof err), SIM_OK),
                  "%s", err);
    }
    snprintf(v, sizeof v, "node/pause@%llu", (unsigned long long)pause_hit);
    cr_assert(eq(int, sim_scenario_set(sc, "faults", "only", v, err, sizeof err), SIM_OK), "%s",
              err);
    r = run_seed(sc, 5);
    assert_pass(&r, 5);
    uint32_t crashes = flist_count(&recs_a, SIM_FAULT_CRASH, NULL);
    uint32_t pauses = flist_count(&recs_a, SIM_FAULT_PAUSE, NULL);
    cr_assert(eq(u32, crashes, 2), "%u crashes with two listed", crashes);
    cr_assert(eq(u32, pauses, 1), "%u pauses with one listed", pauses);
    cr_assert(eq(u32, flist_count(&recs_a, SIM_FAULT_RESTART, NULL), 2), "restarts still roll");
    const char *canon = sim_scenario_canonical(sc);
    snprintf(v, sizeof v, "only = node/crash@%llu\n", (unsigned long long)crash_hits[0]);
    cr_assert(ne(ptr, strstr(canon, v), NULL), "%s", canon);
    sim_scenario *again = parse_toy(canon);
    cr_assert(eq(str, (char *)sim_scenario_canonical(again), (char *)canon));
    scenario_done(again);
    scenario_done(sc);

    sc = parse_toy("[scenario]\nname = only\nsystem = toy\n[faults]\ntick = 10ms\n"
                   "crash = 1/20ms\npause = 1/20ms\nonly = none\n");
    r = run_seed(sc, 5);
    assert_pass(&r, 5);
    cr_assert(eq(u32, recs_a.n, 0), "%u faults with only = none", recs_a.n);
    cr_assert(ne(ptr, strstr(sim_scenario_canonical(sc), "only = none\n"), NULL));
    scenario_done(sc);

    T = (toy){.nnodes = 3};
    expect_error(HEAD "only = node/crash\n", "t.ini:5: ", WORDS("only", "POINT@HIT"));
    expect_error(HEAD "only = node/crsh@3\n", "t.ini:5: ", WORDS("only", "'node/crsh'"));
    expect_error(HEAD "only = node/crash@x\n", "t.ini:5: ", WORDS("only", "POINT@HIT"));
    expect_error(HEAD "only = none node/crash@3\n", "t.ini:5: ", WORDS("only", "stands alone"));
}

/* A toy that does not say its nodes before it runs: names are checked when a run starts. */
static const sim_system toy_unnamed = {
    .name = "toy",
    .summary = "the toy without its node list",
    .setup = toy_setup,
    .check = toy_check,
    .ud = &T,
    .faults = toy_faults,
    .fault_count = sizeof toy_faults / sizeof toy_faults[0],
};

/* Goal: a *_nodes key or a group that names no node is refused with the file, the line, the
 * key and the nodes there are: at load time when the system says its nodes, else when the run
 * starts (the seed's result is `setup`, its detail the message). Bad group names, `all` with
 * other names, a group named like a node and a key set twice are refused at load time.
 * Method: sim_scenario_parse on small texts against the toy (nodes n1..n3), then one run of
 * the toy without its node list. */
Test(fault, target_errors)
{
    T = (toy){.nnodes = 3};
    expect_error(HEAD "crash = 1/10s\ncrash_nodes = n9\n", "t.ini:6: ",
                 WORDS("crash_nodes", "'n9'", "n1, n2, n3", "groups: none"));
    expect_error(HEAD "clog_nodes = x*\n", "t.ini:5: ", WORDS("clog_nodes", "'x*'", "n1, n2"));
    expect_error(HEAD "group.back = n2 n3\npause_nodes = front\n", "t.ini:6: ",
                 WORDS("pause_nodes", "'front'", "groups: back"));
    expect_error(HEAD "group.back = n2 n7\n", "t.ini:5: ", WORDS("group.back", "'n7'"));
    expect_error(HEAD "group.n1 = n2\n", "t.ini:5: ", WORDS("group.n1", "node has that name"));
    expect_error(HEAD "group.a b = n2\n", "t.ini:5: ", WORDS("group.a b", "letters"));
    expect_error(HEAD "group.all = n2\n", "t.ini:5: ", WORDS("group.all", "not 'all'"));
    expect_error(HEAD "partition_nodes = all n1\n", "t.ini:5: ",
                 WORDS("partition_nodes", "'all' stands alone"));
    expect_error(HEAD "crash_nodes = n1 n1\n", "t.ini:5: ", WORDS("crash_nodes", "twice"));
    expect_error(HEAD "crash_nodes = n1\ncrash_nodes = n2\n", "t.ini:6: ",
                 WORDS("crash_nodes", "set twice", "5"));
    expect_error(HEAD "group.g = n1\ngroup.g = n2\n", "t.ini:6: ",
                 WORDS("group.g", "set twice", "5"));
    /* The good versions parse and read back the same. */
    sim_scenario *sc = parse_toy(HEAD "group.back = n[23]\ncrash_nodes = back n1\n"
                                      "pause_nodes = all\nclog_nodes = n*\n");
    const char *canon = sim_scenario_canonical(sc);
    cr_assert(ne(ptr, strstr(canon, "crash_nodes = back n1\n"), NULL), "%s", canon);
    cr_assert(ne(ptr, strstr(canon, "group.back = n[23]\n"), NULL), "%s", canon);
    cr_assert(ne(ptr, strstr(canon, "pause_nodes = all\n"), NULL), "%s", canon);
    cr_assert(ne(ptr, strstr(canon, "partition_nodes = all\n"), NULL), "%s", canon);
    sim_scenario *again = parse_toy(canon);
    cr_assert(eq(str, (char *)sim_scenario_canonical(again), (char *)canon));
    scenario_done(again);
    scenario_done(sc);

    const sim_system *const unnamed[] = {&toy_unnamed};
    sc = parse_held("t.ini", HEAD "crash = 1/1s\ncrash_nodes = n1 n9\n", unnamed, 1);
    sim_run_result r = run_seed(sc, 1);
    scenario_done(sc);
    cr_assert(eq(str, (char *)r.result, "setup"), "%s: %s", r.result, r.detail);
    cr_assert(ne(ptr, strstr(r.detail, "t.ini:6: [faults] crash_nodes: 'n9'"), NULL), "%s",
              r.detail);
    cr_assert(ne(ptr, strstr(r.detail, "n1, n2, n3"), NULL), "%s", r.detail);
}

/* Goal: a system's fault points must be its own (sut/<its name>/<what>): a system that
 * declares another system's point, or a point without a <what>, cannot be loaded, and the
 * message says how its points are named.
 * Method: two systems like the toy, one declaring sut/other/x and one declaring sut/toy. */
Test(fault, system_points_are_its_own)
{
    static const sim_fault_point foreign[] = {{"sut/other/x", "another system's point"}};
    static const sim_fault_point short_name[] = {{"sut/toy", "no <what>"}};
    const sim_fault_point *const lists[] = {foreign, short_name};
    for (size_t i = 0; i < 2; i++) {
        sim_system sys = toy_system;
        sys.faults = lists[i];
        sys.fault_count = 1;
        const sim_system *const systems[] = {&sys};
        sim_scenario *sc = NULL;
        char err[1024] = "";
        int rc = sim_scenario_parse("t.ini", "[scenario]\nname = t\nsystem = toy\n", systems, 1,
                                    &sc, err, sizeof err);
        cr_assert(eq(int, rc, SIM_EINVAL), "%s was accepted", lists[i][0].name);
        cr_assert(eq(ptr, sc, NULL));
        cr_assert(ne(ptr, strstr(err, "sut/toy/<what>"), NULL), "message: %s", err);
    }
}

/* Goal: sim_scenario_set changes a [faults] key as the file would: a good value shows in the
 * canonical text; a bad one returns SIM_EINVAL with a message and leaves the text unchanged.
 * Method: a toy scenario; set crash, quiet_after and an `at` line; then try a probability of
 * 2, an unknown key, an unknown node and a per-time rate on a code point. */
Test(fault, scenario_set_faults)
{
    T = (toy){.nnodes = 3};
    sim_scenario *sc = parse_toy(HEAD "crash = 1/10s\n");
    static char before[16384], after[16384];
    snprintf(before, sizeof before, "%s", sim_scenario_canonical(sc));
    cr_assert(ne(ptr, strstr(before, "crash = 1/10s\n"), NULL), "%s", before);
    char err[1024] = "";
    cr_assert(eq(int, sim_scenario_set(sc, "faults", "crash", "1/20s", err, sizeof err), SIM_OK),
              "%s", err);
    snprintf(after, sizeof after, "%s", sim_scenario_canonical(sc));
    cr_assert(ne(ptr, strstr(after, "crash = 1/20s\n"), NULL), "%s", after);
    cr_assert(eq(ptr, strstr(after, "crash = 1/10s\n"), NULL), "%s", after);
    cr_assert(eq(int, sim_scenario_set(sc, "faults", "at", "3s crash n2", err, sizeof err),
                 SIM_OK), "%s", err);
    cr_assert(eq(int, sim_scenario_set(sc, "faults", "quiet_after", "4s", err, sizeof err),
                 SIM_OK), "%s", err);
    snprintf(before, sizeof before, "%s", sim_scenario_canonical(sc));
    cr_assert(ne(ptr, strstr(before, "at = 3s crash n2\n"), NULL), "%s", before);
    cr_assert(ne(ptr, strstr(before, "quiet_after = 4s\n"), NULL), "%s", before);
    static const char *const bad[][2] = {
        {"crash", "2"},
        {"sut/toy/flaky", "1.5"},
        {"sut/toy/flaky", "1/10s"},
        {"bogus", "1"},
        {"at", "1s crash n9"},
        {"at", "5s crash n1"},   /* after quiet_after */
        {"quiet_after", "2s"},   /* before the at line at 3 s */
        {"max_down", "many"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = sim_scenario_set(sc, "faults", bad[i][0], bad[i][1], err, sizeof err);
        cr_assert(eq(int, rc, SIM_EINVAL), "%s = %s was accepted", bad[i][0], bad[i][1]);
        cr_assert(ne(str, err, ""), "%s = %s: no message", bad[i][0], bad[i][1]);
        cr_assert(eq(str, (char *)sim_scenario_canonical(sc), before),
                  "%s = %s changed the canonical text", bad[i][0], bad[i][1]);
    }
    scenario_done(sc);
}
