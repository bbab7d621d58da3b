/*
 * test_sched.c: scheduling strategies, decisions, forced decisions and PCT.
 */
#include "../helpers.h"

/* ---- the depth-2 ordering bug --------------------------------------------------------------
 * A: x = 1; yield; y = 1.      B: yield; if (x == 1 && y == 0) the bug.
 * The bug needs A's first step before B's check and B's check before A's second step: two
 * ordering constraints, a bug of depth 2. FIFO (A spawned first) always runs A1 B1 A2 B2 and
 * never sees it. */

typedef struct shared {
    int x;
    int y;
    int bug;
} shared;

typedef struct step_task {
    sim_co co;
    shared *s;
    bool is_a;
} step_task;

static int step_poll(void *state, sim_world *w)
{
    step_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    if (t->is_a) t->s->x = 1;
    SIM_AWAIT(rc, sim_yield());
    if (t->is_a) {
        t->s->y = 1;
    } else if (t->s->x == 1 && t->s->y == 0) {
        t->s->bug = 1;
    }
    SIM_END(rc);
}

static int run_depth2(uint64_t seed, sim_sched sched)
{
    sim_world_desc d = {.seed = seed, .sched = sched};
    sim_world *w = test_world_desc(&d);
    shared s = {0};
    step_task a = {.s = &s, .is_a = true};
    step_task b = {.s = &s, .is_a = false};
    test_spawn(w, "A", (sim_node_id){0}, step_poll, NULL, &a, sizeof a);
    test_spawn(w, "B", (sim_node_id){0}, step_poll, NULL, &b, sizeof b);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    sim_world_free(w);
    return s.bug;
}

/* Goal: PCT finds a depth-2 ordering bug that FIFO never finds. Method: 1,000 seeds under fifo
 * find nothing; pct:2:4 (d = 2, k = 4 steps; PCT's bound is 1/(n k^(d-1)) = 1/8 per run) finds
 * it within the first 100 seeds, and in at least 1 run in 20 overall. */
Test(sched, pct_finds_depth2_bug_fifo_never_does)
{
    sim_sched fifo = {.kind = SIM_SCHED_FIFO};
    for (uint64_t seed = 1; seed <= 1000; seed++) cr_assert(eq(int, run_depth2(seed, fifo), 0));
    sim_sched pct = {.kind = SIM_SCHED_PCT, .pct_depth = 2, .pct_steps = 4};
    uint64_t first = 0;
    uint32_t found = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        if (run_depth2(seed, pct)) {
            found++;
            if (first == 0) first = seed;
        }
    }
    cr_assert(ne(u64, first, 0), "pct:2:4 did not find the bug in 100 runs");
    cr_assert(ge(u32, found, 5), "pct:2:4 found it in only %u of 100 runs", found);
}

/* ---- a racy program and its interleavings --------------------------------------------------- */

typedef struct recorder {
    uint32_t order[64]; /* task ids in poll order */
    uint32_t n;
} recorder;

static void record_polls(void *ud, const sim_event *ev)
{
    recorder *r = ud;
    if (ev->kind == SIM_EV_POLL && r->n < 64) r->order[r->n++] = ev->task.v;
}

typedef struct yielder {
    sim_co co;
    int i;
} yielder;

static int yielder_poll(void *state, sim_world *w)
{
    yielder *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    for (t->i = 0; t->i < 3; t->i++) {
        SIM_AWAIT(rc, sim_yield());
    }
    SIM_END(rc);
}

static recorder run_yielders(uint64_t seed, sim_sched_kind kind, const sim_decision *forced,
                             uint32_t nforced, int *rc_out)
{
    recorder r = {0};
    sim_world_desc d = {.seed = seed, .sched = {.kind = kind}, .trace = record_polls,
                        .trace_ud = &r, .forced = forced, .forced_count = nforced};
    sim_world *w = test_world_desc(&d);
    yielder y = {0};
    for (int i = 0; i < 3; i++) {
        test_spawn(w, "y", (sim_node_id){0}, yielder_poll, NULL, &y, sizeof y);
    }
    *rc_out = sim_world_run(w);
    sim_world_free(w);
    return r;
}

/* Goal: fifo runs tasks in the order they became runnable, whatever the seed. Method: three
 * tasks that yield three times each poll round-robin 1 2 3 1 2 3 ... for two seeds. */
Test(sched, fifo_is_round_robin_and_seed_independent)
{
    int rc;
    recorder a = run_yielders(1, SIM_SCHED_FIFO, NULL, 0, &rc);
    cr_assert(eq(int, rc, SIM_OK));
    recorder b = run_yielders(2, SIM_SCHED_FIFO, NULL, 0, &rc);
    cr_assert(eq(u32, a.n, 12));
    for (uint32_t i = 0; i < a.n; i++) {
        cr_assert(eq(u32, a.order[i], i % 3 + 1));
        cr_assert(eq(u32, a.order[i], b.order[i]));
    }
}

/* Goal: forcing every decision of one run reproduces it under another seed, and a forced
 * decision naming a task that cannot run stops the run as a divergence. Method: record the
 * poll order of seed 11 (random), force it onto seed 12, compare; then force task 99. */
Test(sched, forced_decisions_replay_and_diverge)
{
    int rc;
    recorder orig = run_yielders(11, SIM_SCHED_RANDOM, NULL, 0, &rc);
    recorder other = run_yielders(12, SIM_SCHED_RANDOM, NULL, 0, &rc);
    cr_assert(ne(int, memcmp(orig.order, other.order, sizeof orig.order), 0),
              "seeds 11 and 12 happen to agree; pick others");
    sim_decision forced[64];
    for (uint32_t i = 0; i < orig.n; i++) forced[i] = (sim_decision){i + 1, {orig.order[i]}};
    recorder replay = run_yielders(12, SIM_SCHED_RANDOM, forced, orig.n, &rc);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(eq(u32, replay.n, orig.n));
    for (uint32_t i = 0; i < orig.n; i++) cr_assert(eq(u32, replay.order[i], orig.order[i]));

    sim_decision bad[1] = {{.step = 2, .task = {99}}};
    sim_world_desc d = {.seed = 1, .forced = bad, .forced_count = 1};
    sim_world *w = test_world_desc(&d);
    yielder y = {0};
    test_spawn(w, "y", (sim_node_id){0}, yielder_poll, NULL, &y, sizeof y);
    cr_assert(eq(int, sim_world_run(w), SIM_EDIVERGED));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_DIVERGED), 1));
    cr_assert(ne(ptr, strstr(sim_world_report(w), "task 99"), NULL), "%s", sim_world_report(w));
    cr_assert(eq(int, sim_world_run(w), SIM_EDIVERGED));
    sim_world_free(w);
}

/* Goal: lenient forced decisions (a scripted schedule) skip an entry whose task cannot run
 * and apply the others, so any subset of a run's decisions is a run; strict ones stop.
 * Method: three yielders under fifo (1 2 3 1 2 3 ...); force task 99 at step 2 (not
 * runnable: fifo's choice stands) and task 3 at step 4 (instead of 1). */
Test(sched, lenient_forced_decisions_skip_what_cannot_run)
{
    int rc;
    sim_decision forced[2] = {{.step = 2, .task = {99}}, {.step = 4, .task = {3}}};
    recorder r = {0};
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}, .trace = record_polls,
                        .trace_ud = &r, .forced = forced, .forced_count = 2,
                        .forced_lenient = true};
    sim_world *w = test_world_desc(&d);
    yielder y = {0};
    for (int i = 0; i < 3; i++) {
        test_spawn(w, "y", (sim_node_id){0}, yielder_poll, NULL, &y, sizeof y);
    }
    rc = sim_world_run(w);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_DIVERGED), 0));
    sim_world_free(w);
    cr_assert(eq(u32, r.n, 12));
    cr_assert(eq(u32, r.order[1], 2), "step 2: fifo's choice, the forced task cannot run");
    cr_assert(eq(u32, r.order[3], 3), "step 4: the forced task");
    cr_assert(eq(u32, r.order[4], 1));
}

/* Goal: POLL events say how many tasks were runnable and the stats count decisions (choices
 * among two or more). Method: three yielders under random: the first poll sees 3 runnable,
 * the last sees 1; decisions equal the polls that saw two or more. */
typedef struct poll_b_log {
    uint64_t b[64];
    uint32_t n;
} poll_b_log;

static void record_poll_b(void *ud, const sim_event *ev)
{
    poll_b_log *l = ud;
    if (ev->kind == SIM_EV_POLL && l->n < 64) l->b[l->n++] = ev->b;
}

Test(sched, poll_events_carry_decisions)
{
    poll_b_log log = {0};
    sim_world_desc d = {.seed = 5, .trace = record_poll_b, .trace_ud = &log};
    sim_world *w = test_world_desc(&d);
    yielder y = {0};
    for (int i = 0; i < 3; i++) {
        test_spawn(w, "y", (sim_node_id){0}, yielder_poll, NULL, &y, sizeof y);
    }
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, log.n, 12));
    cr_assert(eq(u64, SIM_EV_POLL_RUNNABLE(log.b[0]), 3));
    cr_assert(eq(u64, SIM_EV_POLL_RUNNABLE(log.b[log.n - 1]), 1));
    uint64_t decisions = 0;
    for (uint32_t i = 0; i < log.n; i++) {
        decisions += SIM_EV_POLL_RUNNABLE(log.b[i]) >= 2;
        cr_assert(eq(u64, SIM_EV_POLL_FORCED(log.b[i]), 0));
    }
    cr_assert(eq(u64, st.decisions, decisions));
    sim_world_free(w);
}

/* Goal: spurious wake-ups are injected when asked, flagged in the POLL event, and do not change
 * what a correct program computes. Method: yielders and sleepers with spurious_wakeups 1/2:
 * some polls are flagged spurious and every task still finishes normally. */
static void count_spurious(void *ud, const sim_event *ev)
{
    if (ev->kind == SIM_EV_POLL && SIM_EV_POLL_SPURIOUS(ev->b)) (*(uint32_t *)ud)++;
}

typedef struct sleeper {
    sim_co co;
} sleeper;

static int sleeper_poll(void *state, sim_world *w)
{
    sleeper *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_sleep(w, 10 * SIM_MS));
    sim_task_set_output(w, (int64_t)sim_now(w));
    SIM_END(rc);
}

Test(sched, spurious_wakeups_are_harmless)
{
    uint32_t spurious = 0;
    sim_world_desc d = {.seed = 3, .spurious_wakeups = {1, 2}, .trace = count_spurious,
                        .trace_ud = &spurious};
    sim_world *w = test_world_desc(&d);
    sim_join j[4];
    sleeper s = {0};
    yielder y = {0};
    for (int i = 0; i < 4; i++) {
        j[i] = test_spawn(w, "sleeper", (sim_node_id){0}, sleeper_poll, NULL, &s, sizeof s);
    }
    for (int i = 0; i < 4; i++) {
        test_spawn(w, "y", (sim_node_id){0}, yielder_poll, NULL, &y, sizeof y);
    }
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(lt(u32, 0, spurious));
    for (int i = 0; i < 4; i++) {
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j[i])), SIM_OK));
        cr_assert(eq(i64, j[i].output, (int64_t)(10 * SIM_MS)));
    }
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- spurious wake-ups over every kind of future ----------------------------------------- */

typedef struct napcall {
    sim_co co;
} napcall;

static int napcall_poll(void *state, sim_world *w)
{
    napcall *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, 10 * SIM_MS));
    SIM_AWAIT(rc, sim_yield());
    SIM_END(rc);
}

typedef struct outcome {
    int rcs[5];
    int which;
    uint64_t at[5];
} outcome;

/* A timeout that fires, a timeout whose receive wins, a select that the token wins, a
 * sub-coroutine, and five ticks. */
typedef struct awaiter {
    sim_co co;
    sim_rx rx;
    sim_token tok;
    sim_interval iv;
    napcall sub;
    uint64_t msg;
    uint32_t i;
    outcome *out;
} awaiter;

static int awaiter_poll(void *state, sim_world *w)
{
    awaiter *a = state;
    outcome *o = a->out;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    SIM_AWAIT(o->rcs[0], sim_timeout(w, 30 * SIM_MS, sim_recv(&a->rx, &a->msg)));
    o->at[0] = sim_now(w);
    SIM_AWAIT(o->rcs[1], sim_timeout(w, 100 * SIM_MS, sim_recv(&a->rx, &a->msg)));
    o->at[1] = sim_now(w);
    SIM_AWAIT(o->rcs[2],
              sim_select(w, &o->which, sim_cancelled(&a->tok), sim_sleep(w, 500 * SIM_MS)));
    o->at[2] = sim_now(w);
    SIM_AWAIT(o->rcs[3], sim_call(&a->sub, napcall_poll));
    o->at[3] = sim_now(w);
    sim_interval_init(w, &a->iv, 7 * SIM_MS);
    for (a->i = 0; a->i < 5; a->i++) {
        SIM_AWAIT(rc, sim_tick(&a->iv));
        if (rc != SIM_OK) break;
    }
    o->rcs[4] = rc;
    o->at[4] = sim_now(w);
    SIM_END(SIM_OK);
}

/* Sends at 50 ms, cancels the token at 70 ms. */
typedef struct poker {
    sim_co co;
    sim_tx tx;
    sim_token tok;
    uint64_t msg;
} poker;

static int poker_poll(void *state, sim_world *w)
{
    poker *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    SIM_TRY(sim_sleep_until(50 * SIM_MS));
    p->msg = 5;
    rc = sim_try_send(w, &p->tx, &p->msg);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_sleep_until(70 * SIM_MS));
    sim_token_cancel(w, &p->tok);
    SIM_END(SIM_OK);
}

static outcome run_awaiter(uint64_t seed, sim_ratio spurious, uint32_t *spurious_polls)
{
    sim_world_desc d = {.seed = seed, .spurious_wakeups = spurious, .trace = count_spurious,
                        .trace_ud = spurious_polls};
    sim_world *w = test_world_desc(&d);
    outcome o;
    memset(&o, 0, sizeof o);
    awaiter a = {.out = &o};
    poker p = {0};
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint64_t)};
    cr_assert(eq(int, sim_chan_new(w, &cd, &p.tx, &a.rx), SIM_OK));
    cr_assert(eq(int, sim_token_new(w, NULL, &a.tok), SIM_OK));
    cr_assert(eq(int, sim_token_clone(w, &a.tok, &p.tok), SIM_OK));
    sim_task_desc da = {.name = "awaiter", .poll = awaiter_poll, .state = &a,
                        .state_size = sizeof a, .moves = SIM_MOVES(&a.rx, &a.tok)};
    sim_task_desc dp = {.name = "poker", .poll = poker_poll, .state = &p, .state_size = sizeof p,
                        .moves = SIM_MOVES(&p.tx, &p.tok)};
    cr_assert(eq(int, sim_spawn(w, &da, NULL), SIM_OK));
    cr_assert(eq(int, sim_spawn(w, &dp, NULL), SIM_OK));
    test_run_ok(w);
    sim_stats st = test_stats(w);
    cr_assert(eq(u32, st.violations, 0), "seed %llu", (unsigned long long)seed);
    cr_assert(eq(u32, st.timers_armed, 0), "seed %llu", (unsigned long long)seed);
    cr_assert(eq(u32, st.objects_live, 0), "seed %llu", (unsigned long long)seed);
    sim_world_free(w);
    return o;
}

/* Goal: spurious wake-ups change nothing a correct program computes, whatever it awaits: a
 * timeout that fires, a timeout whose inner receive wins, a select, a sub-coroutine and an
 * interval give the same results at the same times, and leave nothing armed or alive.
 * Method: one run without spurious wake-ups, then 100 seeds with 1/2. */
Test(sched, spurious_wakeups_are_harmless_to_every_kind_of_future)
{
    uint32_t none = 0;
    outcome want = run_awaiter(1, (sim_ratio){0, 0}, &none);
    cr_assert(eq(u32, none, 0));
    static const int rcs[5] = {SIM_ETIMEDOUT, SIM_OK, SIM_OK, SIM_OK, SIM_OK};
    static const uint64_t at[5] = {30, 50, 70, 80, 115};
    for (int i = 0; i < 5; i++) {
        cr_assert(eq(int, want.rcs[i], rcs[i]), "await %d", i);
        cr_assert(eq(u64, want.at[i], at[i] * SIM_MS), "await %d", i);
    }
    cr_assert(eq(int, want.which, 0));
    uint32_t spurious = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        outcome got = run_awaiter(seed, (sim_ratio){1, 2}, &spurious);
        cr_assert(eq(int, memcmp(&got, &want, sizeof got), 0), "seed %llu",
                  (unsigned long long)seed);
    }
    cr_assert(lt(u32, 100, spurious));
}
