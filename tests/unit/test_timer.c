/*
 * test_timer.c: sleep, interval, the timer heap's firing order, clock jumps, run_until, time
 * limits, daemons and what happens to timers when a task dies mid-await, through sim.h.
 *
 * Tasks report to the test through a pointer to a record that lives on the test's stack; the
 * world is always freed before the test returns, so the pointer never dangles. Since the
 * second edition of the API a task owns the timers its futures arm: no task here releases a
 * sleep by hand, and drop functions only count that they ran.
 */
#include "../helpers.h"
#include "../taskends.h"

#define SLEEPER_NEVER UINT64_MAX

/* ---- a plain sleeper ------------------------------------------------------------------------- */

typedef struct sleep_rec {
    uint64_t woke_at;       /* sim_now after the await; SLEEPER_NEVER until then */
    uint32_t drops;         /* drop function calls */
    int sleep_rc;
} sleep_rec;

typedef struct sleeper {
    sim_co co;
    uint64_t duration_ns;
    sleep_rec *rec;
} sleeper;

static int sleeper_poll(void *state, sim_world *w)
{
    sleeper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, s->duration_ns));
    s->rec->sleep_rc = rc;
    s->rec->woke_at = sim_now(w);
    SIM_END(rc);
}

/* Only counts: the sleep it awaits is the task's, released without its help. */
static void sleeper_drop(void *state, sim_world *w)
{
    sleeper *s = state;
    (void)w;
    s->rec->drops++;
}

static sim_join spawn_sleeper(sim_world *w, const char *name, uint64_t duration_ns,
                              sleep_rec *rec, sim_drop_cb drop)
{
    rec->woke_at = SLEEPER_NEVER;
    sleeper s = {.duration_ns = duration_ns, .rec = rec};
    return test_spawn(w, name, (sim_node_id){0}, sleeper_poll, drop, &s, sizeof s);
}

/* Goal: a sleep completes exactly at its deadline, not before and not after.
 * Method: a task sleeps 250 ms from time 0 and records sim_now after the await. */
Test(timer, sleep_wakes_exactly_at_deadline)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sleep_rec rec = {0};
    sim_join j = spawn_sleeper(w, "sleeper", 250 * SIM_MS, &rec, sleeper_drop);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(u64, rec.woke_at, 250 * SIM_MS));
    cr_assert(eq(int, rec.sleep_rc, SIM_OK));
    cr_assert(eq(u64, sim_now(w), 250 * SIM_MS));
    cr_assert(eq(u32, rec.drops, 1));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: idle time costs nothing: the clock jumps to the next deadline instead of stepping.
 * Method: a 10 s sleep; the run takes two polls (arm, wake) and one timer firing. */
Test(timer, clock_jumps_over_idle_time)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    sleep_rec rec = {0};
    sim_join j = spawn_sleeper(w, "sleeper", 10 * SIM_S, &rec, sleeper_drop);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(u64, rec.woke_at, 10 * SIM_S));
    /* The sleeper is polled twice; block_on's own root future is polled at most twice. */
    cr_assert(le(u64, sim_world_step(w), 4));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u64, st.timers_fired, 1));
    sim_world_free(w);
}

/* ---- firing order ---------------------------------------------------------------------------- */

#define ORDER_N 96

typedef struct order_rec {
    uint32_t arm_next;               /* arming counter */
    uint32_t arm_seq[ORDER_N];       /* when each task armed (its first poll) */
    uint32_t woke[ORDER_N];          /* task indexes in wake order */
    uint32_t nwoke;
    uint64_t woke_at[ORDER_N];
} order_rec;

typedef struct order_task {
    sim_co co;
    uint64_t deadline_ns;
    uint32_t idx;
    order_rec *rec;
} order_task;

static int order_poll(void *state, sim_world *w)
{
    order_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    t->rec->arm_seq[t->idx] = t->rec->arm_next++;
    SIM_AWAIT(rc, sim_sleep_until(t->deadline_ns));
    t->rec->woke_at[t->idx] = sim_now(w);
    t->rec->woke[t->rec->nwoke++] = t->idx;
    SIM_END(rc);
}

/* Trace sink: the arming order and the firing order of timers, from the events. */
typedef struct timer_trace {
    uint64_t set_seq[ORDER_N];       /* timer sequence of the k-th TIMER_SET */
    uint64_t set_deadline[ORDER_N];
    uint32_t nset;
    uint32_t fire_arm_idx[ORDER_N];  /* arming index k of the i-th TIMER_FIRE */
    uint64_t fire_deadline[ORDER_N];
    uint32_t nfire;
    uint32_t unknown_fires;          /* fires of a sequence never seen armed */
} timer_trace;

static void timer_trace_cb(void *ud, const sim_event *e)
{
    timer_trace *tt = ud;
    if (e->kind == SIM_EV_TIMER_SET && tt->nset < ORDER_N) {
        tt->set_seq[tt->nset] = e->b;
        tt->set_deadline[tt->nset] = e->a;
        tt->nset++;
    } else if (e->kind == SIM_EV_TIMER_FIRE && tt->nfire < ORDER_N) {
        uint32_t k = 0;
        while (k < tt->nset && tt->set_seq[k] != e->b) k++;
        if (k == tt->nset) tt->unknown_fires++;
        tt->fire_arm_idx[tt->nfire] = k;
        tt->fire_deadline[tt->nfire] = e->a;
        tt->nfire++;
    }
}

/* Spawns n tasks sleeping until deadlines[i]. */
static void spawn_order_tasks(sim_world *w, const uint64_t *deadlines, uint32_t n,
                              order_rec *rec)
{
    for (uint32_t i = 0; i < n; i++) {
        order_task t = {.deadline_ns = deadlines[i], .idx = i, .rec = rec};
        sim_task_desc d = {.name = "order", .poll = order_poll, .state = &t,
                           .state_size = sizeof t};
        cr_assert(eq(int, sim_spawn(w, &d, NULL), SIM_OK));
    }
}

/* Random deadlines in [0, 1 s) from a fixed seed; every third one on a 100 ms grid so that
 * many deadlines tie. */
static void random_deadlines(uint64_t seed, uint64_t *deadlines, uint32_t n)
{
    sim_rng rng;
    sim_rng_init(&rng, seed, "test/timer/deadlines", 0);
    for (uint32_t i = 0; i < n; i++) {
        deadlines[i] = (i % 3 == 0) ? sim_rng_below(&rng, 10) * 100 * SIM_MS
                                    : sim_rng_below(&rng, SIM_S);
    }
}

/* Checks that rec->woke is sorted by (deadline, arming order), that every task woke exactly
 * at its deadline, and that all n woke. */
static void check_wake_order(const order_rec *rec, const uint64_t *deadlines, uint32_t n)
{
    cr_assert(eq(u32, rec->nwoke, n));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = rec->woke[i];
        cr_assert(eq(u64, rec->woke_at[idx], deadlines[idx]), "task %u", idx);
        if (i == 0) continue;
        uint32_t prev = rec->woke[i - 1];
        cr_assert(le(u64, deadlines[prev], deadlines[idx]),
                  "wake %u: task %u (deadline %llu) after task %u (deadline %llu)", i, idx,
                  (unsigned long long)deadlines[idx], prev, (unsigned long long)deadlines[prev]);
        if (deadlines[prev] == deadlines[idx]) {
            cr_assert(lt(u32, rec->arm_seq[prev], rec->arm_seq[idx]),
                      "tie at %llu ns: task %u armed %u woke before task %u armed %u",
                      (unsigned long long)deadlines[idx], prev, rec->arm_seq[prev], idx,
                      rec->arm_seq[idx]);
        }
    }
}

/* Checks the trace: fires sorted by (deadline, arming index), one per armed timer. */
static void check_fire_trace(const timer_trace *tt, uint32_t armed)
{
    cr_assert(eq(u32, tt->unknown_fires, 0));
    cr_assert(eq(u32, tt->nset, armed));
    cr_assert(eq(u32, tt->nfire, armed));
    for (uint32_t i = 1; i < tt->nfire; i++) {
        cr_assert(le(u64, tt->fire_deadline[i - 1], tt->fire_deadline[i]), "fire %u", i);
        if (tt->fire_deadline[i - 1] == tt->fire_deadline[i]) {
            cr_assert(lt(u32, tt->fire_arm_idx[i - 1], tt->fire_arm_idx[i]), "fire %u", i);
        }
    }
}

/* Goal: many timers with random deadlines fire in exact (deadline, arming order) order.
 * Method: 96 tasks (FIFO, so wake order is fire order) sleep until seeded random deadlines in
 * [0, 1 s), a third of them on a coarse grid to force ties; each records when it armed and
 * when and in what order it woke. The wake order must be sorted by (deadline, arming). */
Test(timer, random_deadlines_fire_in_deadline_then_arming_order)
{
    sim_world *w = test_world(3, SIM_SCHED_FIFO);
    uint64_t deadlines[ORDER_N];
    random_deadlines(42, deadlines, ORDER_N);
    order_rec rec = {0};
    spawn_order_tasks(w, deadlines, ORDER_N, &rec);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    check_wake_order(&rec, deadlines, ORDER_N);
    cr_assert(eq(u32, test_timers_armed(w), 0));
    sim_world_free(w);
}

/* Goal: the same order holds when arming order differs from spawn order.
 * Method: the random scheduler arms the timers in a shuffled order; a trace sink records the
 * arming order (TIMER_SET) and the firing order (TIMER_FIRE), which must be sorted by
 * (deadline, arming index). */
Test(timer, random_deadlines_fire_order_under_random_scheduler)
{
    timer_trace tt = {0};
    sim_world_desc d = {.seed = 4, .trace = timer_trace_cb, .trace_ud = &tt};
    sim_world *w = test_world_desc(&d);
    uint64_t deadlines[ORDER_N];
    random_deadlines(43, deadlines, ORDER_N);
    uint32_t armed = 0;
    for (uint32_t i = 0; i < ORDER_N; i++) armed += deadlines[i] > 0;
    order_rec rec = {0};
    spawn_order_tasks(w, deadlines, ORDER_N, &rec);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, rec.nwoke, ORDER_N));
    for (uint32_t i = 0; i < ORDER_N; i++) cr_assert(eq(u64, rec.woke_at[i], deadlines[i]));
    check_fire_trace(&tt, armed);
    /* The shuffle really happened: arming order is not spawn order. */
    bool shuffled = false;
    for (uint32_t i = 0; i < ORDER_N; i++) shuffled |= rec.arm_seq[i] != i;
    cr_assert(shuffled);
    sim_world_free(w);
}

/* Goal: equal deadlines fire in arming order.
 * Method: 8 tasks (FIFO) sleep until the same 500 ms deadline; they wake in the order they
 * armed, and a trace of a random-scheduler run shows the fires in arming order too. */
Test(timer, equal_deadlines_fire_in_arming_order)
{
    uint64_t deadlines[8];
    for (uint32_t i = 0; i < 8; i++) deadlines[i] = 500 * SIM_MS;

    sim_world *w = test_world(5, SIM_SCHED_FIFO);
    order_rec rec = {0};
    spawn_order_tasks(w, deadlines, 8, &rec);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    check_wake_order(&rec, deadlines, 8);
    /* FIFO polls, hence arms, in spawn order. */
    for (uint32_t i = 0; i < 8; i++) cr_assert(eq(u32, rec.woke[i], i));
    sim_world_free(w);

    timer_trace tt = {0};
    sim_world_desc d = {.seed = 6, .trace = timer_trace_cb, .trace_ud = &tt};
    w = test_world_desc(&d);
    order_rec rec2 = {0};
    spawn_order_tasks(w, deadlines, 8, &rec2);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    check_fire_trace(&tt, 8);
    for (uint32_t i = 0; i < 8; i++) cr_assert(eq(u32, tt.fire_arm_idx[i], i));
    sim_world_free(w);
}

/* Goal: spurious wake-ups never make a sleep complete early or arm a second timer.
 * Method: half of all steps wake a random waiting task for no reason; 40 tasks sleep until
 * seeded random deadlines; each must wake exactly at its deadline, and exactly one timer
 * per task must have fired. */
Test(timer, spurious_wakeups_do_not_end_sleeps_early)
{
    sim_world_desc d = {.seed = 17, .spurious_wakeups = {.p = 1, .q = 2}};
    sim_world *w = test_world_desc(&d);
    uint64_t deadlines[40];
    sim_rng rng;
    sim_rng_init(&rng, 17, "test/timer/spurious", 0);
    for (uint32_t i = 0; i < 40; i++) deadlines[i] = 1 + sim_rng_below(&rng, SIM_S);
    order_rec rec = {0};
    spawn_order_tasks(w, deadlines, 40, &rec);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, rec.nwoke, 40));
    for (uint32_t i = 0; i < 40; i++) {
        cr_assert(eq(u64, rec.woke_at[i], deadlines[i]), "task %u", i);
    }
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u64, st.timers_fired, 40));
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(lt(u64, 80, st.steps)); /* spurious polls did happen */
    cr_assert(eq(u32, st.violations, 0));
    sim_world_free(w);
}

/* Goal: cancelling armed timers out of the middle of the heap keeps the rest in exact order.
 * Method: 96 tasks (FIFO) arm seeded random deadlines in [1 ms, 1 s); at time 1 ns a seeded
 * random third of them is aborted. The others wake exactly at their deadlines, sorted by
 * (deadline, arming); the aborted never wake; one timer fired per survivor. */
Test(timer, cancelled_timers_leave_heap_in_order)
{
    sim_world *w = test_world(18, SIM_SCHED_FIFO);
    uint64_t deadlines[ORDER_N];
    sim_rng rng;
    sim_rng_init(&rng, 18, "test/timer/cancel", 0);
    for (uint32_t i = 0; i < ORDER_N; i++) {
        deadlines[i] = SIM_MS + sim_rng_below(&rng, SIM_S - SIM_MS);
        if (i % 5 == 4) deadlines[i] = deadlines[i - 1]; /* some ties */
    }
    order_rec rec = {0};
    sim_join handles[ORDER_N];
    for (uint32_t i = 0; i < ORDER_N; i++) {
        order_task t = {.deadline_ns = deadlines[i], .idx = i, .rec = &rec};
        handles[i] = test_spawn(w, "order", (sim_node_id){0}, order_poll, NULL, &t, sizeof t);
    }
    cr_assert(eq(int, sim_world_run_until(w, 1), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), ORDER_N));
    bool aborted[ORDER_N] = {0};
    uint32_t survivors = 0;
    for (uint32_t i = 0; i < ORDER_N; i++) {
        aborted[i] = sim_rng_below(&rng, 3) == 0;
        if (aborted[i]) {
            sim_join_abort(w, &handles[i]);
        } else {
            survivors++;
        }
    }
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, rec.nwoke, survivors));
    for (uint32_t i = 0; i < rec.nwoke; i++) {
        uint32_t idx = rec.woke[i];
        cr_assert(not(aborted[idx]), "aborted task %u woke", idx);
        cr_assert(eq(u64, rec.woke_at[idx], deadlines[idx]), "task %u", idx);
        if (i == 0) continue;
        uint32_t prev = rec.woke[i - 1];
        cr_assert(le(u64, deadlines[prev], deadlines[idx]), "wake %u", i);
        if (deadlines[prev] == deadlines[idx]) {
            cr_assert(lt(u32, rec.arm_seq[prev], rec.arm_seq[idx]), "wake %u", i);
        }
    }
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u64, st.timers_fired, survivors));
    cr_assert(eq(u32, st.timers_armed, 0));
    for (uint32_t i = 0; i < ORDER_N; i++) {
        int want = aborted[i] ? SIM_ECANCELED : SIM_OK;
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&handles[i])), want), "task %u", i);
    }
    sim_world_free(w);
}

#define PURGE_N 3000

typedef struct purge_rec {
    uint64_t last_woke;  /* deadline of the last wake-up, to check the order */
    uint32_t nwoke;
    uint32_t out_of_order;
    uint32_t late;       /* woke at a time other than its deadline */
} purge_rec;

typedef struct purge_task {
    sim_co co;
    uint64_t deadline_ns;
    purge_rec *rec;
} purge_task;

static int purge_poll(void *state, sim_world *w)
{
    purge_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_sleep_until(t->deadline_ns));
    {
        /* Braced: SIM_END's default label would jump over it (-Wjump-misses-init). */
        purge_rec *r = t->rec;
        r->nwoke++;
        if (sim_now(w) != t->deadline_ns) r->late++;
        if (t->deadline_ns < r->last_woke) r->out_of_order++;
        r->last_woke = t->deadline_ns;
    }
    SIM_END(rc);
}

/* Goal: when aborted tasks' sleeps cancel most of a large heap, the heap is rebuilt without
 * the cancelled entries (more than 1024 of them, more than half the heap) and the survivors
 * still wake exactly at their deadlines, in order; nothing is left armed. Method: 3000 tasks
 * sleep until seeded random deadlines in [1 ms, 1 s); at 1 ns two in three are aborted. */
Test(timer, mass_abort_purges_heap_and_keeps_order)
{
    sim_world *w = test_world(21, SIM_SCHED_FIFO);
    sim_join *h = calloc(PURGE_N, sizeof *h);
    cr_assert(ne(ptr, h, NULL));
    purge_rec rec = {0};
    sim_rng rng;
    sim_rng_init(&rng, 21, "test/timer/purge", 0);
    for (uint32_t i = 0; i < PURGE_N; i++) {
        purge_task t = {.deadline_ns = SIM_MS + sim_rng_below(&rng, SIM_S - SIM_MS), .rec = &rec};
        h[i] = test_spawn(w, "p", (sim_node_id){0}, purge_poll, NULL, &t, sizeof t);
    }
    cr_assert(eq(int, sim_world_run_until(w, 1), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), PURGE_N));
    uint32_t survivors = 0;
    for (uint32_t i = 0; i < PURGE_N; i++) {
        if (i % 3 != 0) {
            sim_join_abort(w, &h[i]);
        } else {
            survivors++;
        }
    }
    cr_assert(eq(int, sim_world_run_until(w, 2), SIM_OK)); /* the aborts are processed */
    cr_assert(eq(u32, test_timers_armed(w), survivors));
    test_run_ok(w);
    cr_assert(eq(u32, rec.nwoke, survivors));
    cr_assert(eq(u32, rec.out_of_order, 0));
    cr_assert(eq(u32, rec.late, 0));
    sim_stats st = test_stats(w);
    cr_assert(eq(u64, st.timers_fired, survivors));
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(eq(u32, st.violations, 0));
    for (uint32_t i = 0; i < PURGE_N; i++) sim_join_detach(w, &h[i]);
    free(h);
    sim_world_free(w);
}

/* Goal: a timer armed before a cancelled one that was discarded ahead of the clock still fires
 * in order. The queue drops a cancelled entry that is the earliest when the clock is to jump
 * (a run_until that stops short of the next live deadline), and the entries armed after that
 * with earlier deadlines take another path (the radix heap only holds entries after the last
 * one it removed); they must interleave with the others in (deadline, arming) order.
 * Method: A sleeps until 10 s and B until 20 s; A is aborted at 1 ns and the world runs until
 * 5 s. Then C and E sleep until 7 s (before A's dropped 10 s), D until 15 s, F until 7 s + 1;
 * each wakes exactly at its deadline, in the order C, E, F, D, B. */
Test(timer, timers_armed_before_a_discarded_cancelled_one_fire_in_order)
{
    sim_world *w = test_world(23, SIM_SCHED_FIFO);
    order_rec rec = {0};
    const uint64_t first[2] = {10 * SIM_S, 20 * SIM_S};
    sim_join h[2];
    for (uint32_t i = 0; i < 2; i++) {
        order_task t = {.deadline_ns = first[i], .idx = i, .rec = &rec};
        h[i] = test_spawn(w, "first", (sim_node_id){0}, order_poll, NULL, &t, sizeof t);
    }
    cr_assert(eq(int, sim_world_run_until(w, 1), SIM_OK));
    sim_join_abort(w, &h[0]);
    cr_assert(eq(int, sim_world_run_until(w, 5 * SIM_S), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 1));
    const uint64_t later[4] = {7 * SIM_S, 15 * SIM_S, 7 * SIM_S, 7 * SIM_S + 1};
    for (uint32_t i = 0; i < 4; i++) {
        order_task t = {.deadline_ns = later[i], .idx = 2 + i, .rec = &rec};
        sim_task_desc d = {.name = "later", .poll = order_poll, .state = &t,
                           .state_size = sizeof t};
        cr_assert(eq(int, sim_spawn(w, &d, NULL), SIM_OK));
    }
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    const uint32_t want[5] = {2, 4, 5, 3, 1}; /* C, E, F, D, B */
    const uint64_t at[6] = {0, 20 * SIM_S, 7 * SIM_S, 15 * SIM_S, 7 * SIM_S, 7 * SIM_S + 1};
    cr_assert(eq(u32, rec.nwoke, 5));
    for (uint32_t i = 0; i < 5; i++) {
        cr_assert(eq(u32, rec.woke[i], want[i]), "wake %u", i);
        cr_assert(eq(u64, rec.woke_at[want[i]], at[want[i]]), "wake %u", i);
    }
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h[0])), SIM_ECANCELED));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h[1])), SIM_OK));
    sim_world_free(w);
}

/* ---- sleeps that are ready at once ----------------------------------------------------------- */

typedef struct instant_rec {
    int zero_rc;          /* first poll of a 0 ns sleep */
    int past_rc;          /* first poll of a sleep until a past time */
    uint64_t now_before;
    uint64_t now_after;
    uint32_t armed_after; /* timers armed after both polls */
    uint32_t polls;
    uint64_t left_past;   /* sim_time_left of a deadline already past */
    uint64_t left_ahead;  /* sim_time_left of a deadline 1 s ahead */
} instant_rec;

typedef struct instant_task {
    sim_co co;
    instant_rec *rec;
} instant_task;

static int instant_poll(void *state, sim_world *w)
{
    instant_task *t = state;
    int rc = SIM_OK;
    t->rec->polls++;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_sleep(w, 100 * SIM_MS));
    t->rec->now_before = sim_now(w);
    SIM_AWAIT(t->rec->zero_rc, sim_sleep(w, 0));
    SIM_AWAIT(t->rec->past_rc, sim_sleep_until(50 * SIM_MS));
    t->rec->now_after = sim_now(w);
    t->rec->armed_after = test_timers_armed(w);
    t->rec->left_past = sim_time_left(w, 50 * SIM_MS);
    t->rec->left_ahead = sim_time_left(w, sim_now(w) + SIM_S);
    SIM_END(rc);
}

/* Goal: a sleep of 0, or until a time already past, is ready on its first poll: no timer,
 * no yield, no time passing; what is left of a past deadline is 0, never a wrapped value.
 * Method: after a 100 ms sleep, a task awaits a 0 ns sleep and a sleep until 50 ms; both
 * complete at once, nothing is armed, and the task needed only two polls. */
Test(timer, zero_and_past_sleeps_are_ready_at_once)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    instant_rec rec = {.zero_rc = SIM_PENDING, .past_rc = SIM_PENDING};
    instant_task t = {.rec = &rec};
    sim_join j = test_spawn(w, "instant", (sim_node_id){0}, instant_poll, NULL, &t, sizeof t);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, rec.zero_rc, SIM_OK));
    cr_assert(eq(int, rec.past_rc, SIM_OK));
    cr_assert(eq(u64, rec.now_before, 100 * SIM_MS));
    cr_assert(eq(u64, rec.now_after, 100 * SIM_MS));
    cr_assert(eq(u32, rec.armed_after, 0));
    cr_assert(eq(u32, rec.polls, 2));
    cr_assert(eq(u64, rec.left_past, 0));
    cr_assert(eq(u64, rec.left_ahead, SIM_S));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u64, st.timers_fired, 1));
    sim_world_free(w);
}

/* ---- interval -------------------------------------------------------------------------------- */

typedef struct tick_rec {
    uint64_t at[16];
    uint64_t ticks_field[16];
    uint32_t n;
} tick_rec;

typedef struct ticker {
    sim_co co;
    sim_interval every;
    uint32_t i;
    tick_rec *rec;
} ticker;

static int ticker_poll(void *state, sim_world *w)
{
    ticker *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    sim_interval_init(w, &t->every, 10 * SIM_MS);
    for (t->i = 0; t->i < 3; t->i++) {
        SIM_AWAIT(rc, sim_tick(&t->every));
        t->rec->at[t->rec->n] = sim_now(w);
        t->rec->ticks_field[t->rec->n++] = t->every.ticks;
    }
    /* Fall behind: the ticks at 40, 50 and 60 ms are missed. */
    SIM_AWAIT(rc, sim_sleep_until(65 * SIM_MS));
    for (t->i = 0; t->i < 4; t->i++) {
        SIM_AWAIT(rc, sim_tick(&t->every));
        t->rec->at[t->rec->n] = sim_now(w);
        t->rec->ticks_field[t->rec->n++] = t->every.ticks;
    }
    SIM_END(rc);
}

/* Goal: an interval ticks every period from one period after init, and a late poll gets the
 * missed ticks one after another, without skipping and without shifting the grid.
 * Method: a 10 ms interval is awaited three times (10, 20, 30 ms); the task then sleeps until
 * 65 ms and awaits four more ticks: 40, 50, 60 come at once (at 65 ms), 70 at 70 ms. */
Test(timer, interval_ticks_and_late_poll_gets_missed_ticks)
{
    sim_world *w = test_world(8, SIM_SCHED_RANDOM);
    tick_rec rec = {0};
    ticker t = {.rec = &rec};
    sim_join j = test_spawn(w, "ticker", (sim_node_id){0}, ticker_poll, NULL, &t, sizeof t);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    static const uint64_t want[7] = {10, 20, 30, 65, 65, 65, 70};
    cr_assert(eq(u32, rec.n, 7));
    for (uint32_t i = 0; i < 7; i++) {
        cr_assert(eq(u64, rec.at[i], want[i] * SIM_MS), "tick %u", i + 1);
        cr_assert(eq(u64, rec.ticks_field[i], i + 1));
    }
    cr_assert(eq(u32, test_timers_armed(w), 0));
    sim_world_free(w);
}

#define LATE_TICKS 100

typedef struct late_rec {
    uint64_t at[LATE_TICKS + 2];      /* sim_now at each tick */
    uint64_t ticks[LATE_TICKS + 2];   /* the interval's count after it */
    uint64_t next_ns[LATE_TICKS + 2]; /* the interval's next tick after it */
    uint32_t armed[LATE_TICKS + 2];   /* timers armed right after it */
    uint32_t polls[LATE_TICKS + 2];   /* the task's polls so far */
    uint32_t n;
    uint32_t polls_now;
} late_rec;

typedef struct late_ticker {
    sim_co co;
    sim_interval every;
    uint32_t i;
    late_rec *rec;
} late_ticker;

static void late_note(late_ticker *t, sim_world *w)
{
    late_rec *r = t->rec;
    r->at[r->n] = sim_now(w);
    r->ticks[r->n] = t->every.ticks;
    r->next_ns[r->n] = t->every.next_ns;
    r->armed[r->n] = test_timers_armed(w);
    r->polls[r->n] = r->polls_now;
    r->n++;
}

static int late_ticker_poll(void *state, sim_world *w)
{
    late_ticker *t = state;
    int rc = SIM_OK;
    t->rec->polls_now++;
    SIM_BEGIN(w, &t->co);
    sim_interval_init(w, &t->every, 10 * SIM_MS);
    SIM_TRY(sim_tick(&t->every));
    late_note(t, w);
    /* A long stall: a whole second in which a hundred ticks fall due. */
    SIM_TRY(sim_sleep(w, SIM_S));
    for (t->i = 0; t->i < LATE_TICKS + 1; t->i++) {
        SIM_AWAIT(rc, sim_tick(&t->every));
        if (rc != SIM_OK) SIM_RETURN(rc);
        late_note(t, w);
    }
    SIM_END(SIM_OK);
}

/* Goal: the ticks an interval missed during a long sleep are delivered one after another, each
 * ready at once, none skipped, the grid unchanged, and no timer armed while catching up; the
 * tick after them waits for its own time again.
 * Method: a 10 ms interval ticks once (10 ms); the task sleeps 1 s (to 1.010 s), during which
 * the ticks of 20 ms .. 1.010 s fall due; it then awaits 101 ticks: the first 100 come at
 * 1.010 s in the same poll, counting 2..101, the next one at 1.020 s. */
Test(timer, interval_ticks_after_long_sleep_come_one_after_another)
{
    sim_world *w = test_world(20, SIM_SCHED_RANDOM);
    late_rec rec = {0};
    late_ticker t = {.rec = &rec};
    sim_join j = test_spawn(w, "late", (sim_node_id){0}, late_ticker_poll, NULL, &t, sizeof t);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(u32, rec.n, LATE_TICKS + 2));
    cr_assert(eq(u64, rec.at[0], 10 * SIM_MS));
    for (uint32_t k = 1; k <= LATE_TICKS; k++) {
        cr_assert(eq(u64, rec.at[k], 1010 * SIM_MS), "late tick %u", k);
        cr_assert(eq(u64, rec.ticks[k], k + 1), "late tick %u", k);
        cr_assert(eq(u64, rec.next_ns[k], (uint64_t)(k + 2) * 10 * SIM_MS), "late tick %u", k);
        cr_assert(eq(u32, rec.armed[k], 0), "late tick %u armed a timer", k);
        cr_assert(eq(u32, rec.polls[k], rec.polls[1]), "late tick %u needed a poll of its own",
                  k);
    }
    cr_assert(eq(u64, rec.at[LATE_TICKS + 1], 1020 * SIM_MS));
    cr_assert(eq(u64, rec.ticks[LATE_TICKS + 1], LATE_TICKS + 2));
    cr_assert(eq(u32, rec.polls[LATE_TICKS + 1], rec.polls[1] + 1));
    sim_stats st = test_stats(w);
    cr_assert(eq(u64, st.timers_fired, 3)); /* the first tick, the sleep, the last tick */
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(eq(u32, st.violations, 0));
    sim_world_free(w);
}

/* ---- abort mid-await ------------------------------------------------------------------------- */

typedef struct aborter_rec {
    int join_rc;
    uint64_t joined_at;
} aborter_rec;

typedef struct aborter {
    sim_co co;
    sim_join victim;
    aborter_rec *rec;
} aborter;

static int aborter_poll(void *state, sim_world *w)
{
    aborter *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    SIM_AWAIT(rc, sim_sleep(w, 50 * SIM_MS));
    sim_join_abort(w, &a->victim);
    SIM_AWAIT(rc, sim_join_wait(&a->victim));
    a->rec->join_rc = rc;
    a->rec->joined_at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Goal: a task aborted while it sleeps is dropped (drop runs once), its join yields
 * SIM_ECANCELED, and its timer is released.
 * Method: a task sleeping 1 s is aborted at 50 ms by another task that then joins it. */
Test(timer, abort_mid_sleep_releases_timer)
{
    sim_world *w = test_world(9, SIM_SCHED_RANDOM);
    sleep_rec rec = {0};
    sim_join victim = spawn_sleeper(w, "victim", SIM_S, &rec, sleeper_drop);
    aborter_rec arec = {.join_rc = SIM_PENDING};
    aborter a = {.victim = victim, .rec = &arec};
    sim_join aj = test_spawn(w, "aborter", (sim_node_id){0}, aborter_poll, NULL, &a, sizeof a);
    cr_assert(eq(int, sim_world_run_until(w, 10 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 2));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&aj)), SIM_OK));
    cr_assert(eq(int, arec.join_rc, SIM_ECANCELED));
    cr_assert(eq(u64, arec.joined_at, 50 * SIM_MS));
    cr_assert(eq(u32, rec.drops, 1));
    cr_assert(eq(u64, rec.woke_at, SLEEPER_NEVER));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u64, sim_now(w), 50 * SIM_MS));
    sim_world_free(w);
}

/* Goal: abort from outside the run works the same way.
 * Method: run until 100 ms, abort the sleeper from the test, and join it with block_on. */
Test(timer, abort_from_outside_releases_timer)
{
    sim_world *w = test_world(10, SIM_SCHED_RANDOM);
    sleep_rec rec = {0};
    sim_join j = spawn_sleeper(w, "victim", SIM_S, &rec, sleeper_drop);
    cr_assert(eq(int, sim_world_run_until(w, 100 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 1));
    sim_join_abort(w, &j);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_ECANCELED));
    cr_assert(eq(u64, sim_now(w), 100 * SIM_MS));
    cr_assert(eq(u32, rec.drops, 1));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal (replaces "a drop function that forgets its sleep is reported as a leak", which cannot
 * happen any more: the task owns the timer its sleep armed): a task with no drop function at
 * all, dropped while it sleeps, by abort and by a crash of its node, releases its timer with
 * no leak violation, and nothing fires later for it.
 * Method: two sleepers of 1 s without a drop function, one on a node; at 100 ms the first is
 * aborted and the node crashes; the run goes on to the end. */
Test(timer, task_dropped_while_sleeping_releases_timer_without_leak)
{
    test_ends ends = {0};
    sim_world_desc d = {.seed = 11, .trace = test_ends_cb, .trace_ud = &ends};
    sim_world *w = test_world_desc(&d);
    sim_node_id n = test_node(w, "n", NULL, NULL);
    sleep_rec ra = {0}, rb = {0};
    sim_join ja = spawn_sleeper(w, "aborted", SIM_S, &ra, NULL);
    sleeper s = {.duration_ns = SIM_S, .rec = &rb};
    rb.woke_at = SLEEPER_NEVER;
    sim_join jb = test_spawn(w, "crashed", n, sleeper_poll, NULL, &s, sizeof s);
    cr_assert(eq(int, sim_world_run_until(w, 100 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 2));
    sim_join_abort(w, &ja);
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    cr_assert(eq(int, test_end_of(&ends, jb.task), SIM_ECRASHED));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&ja)), SIM_ECANCELED));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jb)), SIM_ECRASHED));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    test_run_ok(w);
    sim_stats st = test_stats(w);
    cr_assert(eq(u64, st.timers_fired, 0));
    cr_assert(eq(u64, sim_now(w), 100 * SIM_MS));
    cr_assert(eq(u64, ra.woke_at, SLEEPER_NEVER));
    cr_assert(eq(u64, rb.woke_at, SLEEPER_NEVER));
    cr_assert(eq(u32, st.violations, 0));
    sim_world_free(w);
}

typedef struct by_hand {
    sim_co co;
    sim_sleep_op nap;  /* polled by hand, never dropped: the task's mistake */
    int *first_rc;
} by_hand;

static int by_hand_poll(void *state, sim_world *w)
{
    by_hand *b = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &b->co);
    b->nap = sim_sleep(w, SIM_S);
    *b->first_rc = sim_fut_poll(w, &b->nap.fut);
    SIM_AWAIT(rc, sim_sleep(w, 10 * SIM_MS));
    SIM_END(rc); /* returns with b->nap still armed */
}

/* Goal: the leak check stays for what the executor cannot release itself: a future polled by
 * hand (sim_fut_poll) and never dropped. Its timer is released when the task ends, the leak
 * is reported against the task, and nothing fires later for it.
 * Method: a task arms a 1 s sleep by polling it by hand, awaits 10 ms, and returns. */
Test(timer, future_polled_by_hand_and_never_dropped_is_a_leak)
{
    sim_world *w = test_world(11, SIM_SCHED_RANDOM);
    int first_rc = SIM_OK;
    by_hand b = {.first_rc = &first_rc};
    sim_join j = test_spawn(w, "forgetful", (sim_node_id){0}, by_hand_poll, NULL, &b, sizeof b);
    sim_task_id id = j.task;
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, first_rc, SIM_PENDING));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_LEAK), 1));
    const sim_violation *v = sim_world_violation(w, 0);
    cr_assert(ne(ptr, (void *)v, NULL));
    cr_assert(eq(int, (int)v->kind, (int)SIM_VIOLATION_LEAK));
    cr_assert(eq(u32, v->task.v, id.v));
    cr_assert(ne(ptr, strstr(v->message, "1 armed timer(s)"), NULL), "%s", v->message);
    cr_assert(ne(ptr, strstr(v->message, "sim_fut_drop"), NULL), "%s", v->message);
    /* Nothing fires later for the dead task. */
    test_run_ok(w);
    cr_assert(eq(u64, test_stats(w).timers_fired, 1));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    sim_world_free(w);
}

/* ---- run_until, time limit, daemons, limits -------------------------------------------------- */

/* Goal: sim_world_run_until stops with the clock exactly at the given time, tasks remaining,
 * and can be called again; a timer due exactly at that time fires within the call.
 * Method: sleepers of 500 ms and 1 s; run until 400 ms (neither woke), until 500 ms (the
 * first woke, at 500 ms), until 700 ms, then run to the end (1 s). */
Test(timer, run_until_stops_at_exact_time_and_repeats)
{
    sim_world *w = test_world(12, SIM_SCHED_RANDOM);
    sleep_rec a = {0}, b = {0};
    sim_join ja = spawn_sleeper(w, "half", 500 * SIM_MS, &a, sleeper_drop);
    sim_join jb = spawn_sleeper(w, "one", SIM_S, &b, sleeper_drop);
    cr_assert(eq(int, sim_world_run_until(w, 400 * SIM_MS), SIM_OK));
    cr_assert(eq(u64, sim_now(w), 400 * SIM_MS));
    cr_assert(eq(u64, a.woke_at, SLEEPER_NEVER));
    cr_assert(eq(u64, b.woke_at, SLEEPER_NEVER));
    cr_assert(eq(u32, test_timers_armed(w), 2));
    cr_assert(eq(int, sim_world_run_until(w, 500 * SIM_MS), SIM_OK));
    cr_assert(eq(u64, sim_now(w), 500 * SIM_MS));
    cr_assert(eq(u64, a.woke_at, 500 * SIM_MS));
    cr_assert(eq(u64, b.woke_at, SLEEPER_NEVER));
    cr_assert(eq(int, sim_world_run_until(w, 700 * SIM_MS), SIM_OK));
    cr_assert(eq(u64, sim_now(w), 700 * SIM_MS));
    cr_assert(eq(u64, b.woke_at, SLEEPER_NEVER));
    cr_assert(eq(u32, test_timers_armed(w), 1));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u64, b.woke_at, SIM_S));
    cr_assert(eq(u64, sim_now(w), SIM_S));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&ja)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jb)), SIM_OK));
    sim_world_free(w);
}

/* Goal: time_limit_ns stops a run whose work outlives it with SIM_ETIMELIMIT, at the limit,
 * and the report names the unfinished task and what it awaits; the stop is sticky; work that
 * ends exactly at the limit is not stopped.
 * Method: a 1 s limit and a task sleeping 5 s; then a fresh world with a 1 s sleeper. */
Test(timer, time_limit_stops_and_reports_sleeper)
{
    sim_world_desc d = {.seed = 13, .time_limit_ns = SIM_S};
    sim_world *w = test_world_desc(&d);
    cr_assert(eq(str, (char *)sim_world_report(w), ""));
    sleep_rec rec = {0};
    sim_join j = spawn_sleeper(w, "slowpoke", 5 * SIM_S, &rec, sleeper_drop);
    cr_assert(eq(int, sim_world_run(w), SIM_ETIMELIMIT));
    cr_assert(eq(u64, sim_now(w), SIM_S));
    cr_assert(eq(u64, rec.woke_at, SLEEPER_NEVER));
    const char *report = sim_world_report(w);
    cr_assert(ne(ptr, (void *)strstr(report, "slowpoke"), NULL), "report:\n%s", report);
    cr_assert(ne(ptr, (void *)strstr(report, "sleep until"), NULL), "report:\n%s", report);
    cr_assert(ne(ptr, (void *)strstr(report, "5.000000s"), NULL), "report:\n%s", report);
    cr_assert(eq(int, sim_world_run(w), SIM_ETIMELIMIT));
    cr_assert(eq(int, sim_world_run_until(w, 2 * SIM_S), SIM_ETIMELIMIT));
    cr_assert(eq(u64, rec.woke_at, SLEEPER_NEVER));
    sim_world_free(w);
    (void)j;

    /* A deadline exactly at the limit is not past it: the run completes. */
    w = test_world_desc(&d);
    sleep_rec exact = {0};
    spawn_sleeper(w, "exact", SIM_S, &exact, sleeper_drop);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u64, exact.woke_at, SIM_S));
    cr_assert(eq(str, (char *)sim_world_report(w), ""));
    sim_world_free(w);
}

typedef struct daemon_rec {
    uint64_t ticks;
    uint32_t drops;
} daemon_rec;

typedef struct daemon_task {
    sim_co co;
    sim_interval every;
    daemon_rec *rec;
} daemon_task;

static int daemon_poll(void *state, sim_world *w)
{
    daemon_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    sim_interval_init(w, &t->every, 100 * SIM_MS);
    for (;;) {
        SIM_AWAIT(rc, sim_tick(&t->every));
        t->rec->ticks++;
    }
    SIM_END(rc);
}

static void daemon_drop(void *state, sim_world *w)
{
    daemon_task *t = state;
    (void)w;
    t->rec->drops++;
}

static sim_task_id spawn_daemon(sim_world *w, daemon_rec *rec)
{
    daemon_task t = {.rec = rec};
    sim_task_desc d = {.name = "metronome", .poll = daemon_poll, .drop = daemon_drop,
                       .state = &t, .state_size = sizeof t, .daemon = true};
    sim_join j;
    cr_assert(eq(int, sim_spawn(w, &d, &j), SIM_OK));
    sim_task_id id = j.task;
    sim_join_detach(w, &j);
    return id;
}

/* Goal: run_until's promise "SIM_OK means the clock is exactly until_ns" also holds when the
 * world has a time limit below until_ns and no unfinished work, whether or not a daemon keeps
 * a timer armed.
 * Method: time limit 1 s; run_until(2 s) on a world with no tasks, and on a world with only a
 * daemon ticking every 100 ms. Each call must either return SIM_OK with the clock at 2 s, or
 * stop; and both worlds must agree. */
Test(timer, run_until_past_time_limit_with_only_daemons)
{
    sim_world_desc d = {.seed = 19, .time_limit_ns = SIM_S};
    int rcs[2];
    uint64_t nows[2];
    for (int with_daemon = 0; with_daemon < 2; with_daemon++) {
        sim_world *w = test_world_desc(&d);
        daemon_rec drec = {0};
        if (with_daemon) spawn_daemon(w, &drec);
        rcs[with_daemon] = sim_world_run_until(w, 2 * SIM_S);
        nows[with_daemon] = sim_now(w);
        sim_world_free(w);
        if (rcs[with_daemon] == SIM_OK) {
            cr_assert(eq(u64, nows[with_daemon], 2 * SIM_S),
                      "daemon %d: run_until(2 s) returned SIM_OK with the clock at %llu ns",
                      with_daemon, (unsigned long long)nows[with_daemon]);
        }
    }
    cr_assert(eq(int, rcs[0], rcs[1]));
    cr_assert(eq(u64, nows[0], nows[1]));
}


/* Goal: daemon tasks do not keep sim_world_run going, even with a timer always armed.
 * Method: a daemon ticking every 100 ms forever next to a task sleeping 1 s: the run ends
 * with SIM_OK at 1 s with the daemon still alive; a world holding only the daemon ends at
 * once. */
Test(timer, daemon_with_interval_does_not_keep_run_alive, .timeout = 10)
{
    test_ends ends = {0};
    sim_world_desc d = {.seed = 14, .trace = test_ends_cb, .trace_ud = &ends};
    sim_world *w = test_world_desc(&d);
    daemon_rec drec = {0};
    sim_task_id id = spawn_daemon(w, &drec);
    sleep_rec rec = {0};
    spawn_sleeper(w, "worker", SIM_S, &rec, sleeper_drop);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u64, sim_now(w), SIM_S));
    cr_assert(eq(u64, rec.woke_at, SIM_S));
    cr_assert(ge(u64, drec.ticks, 9));
    cr_assert(le(u64, drec.ticks, 10));
    cr_assert(eq(u32, drec.drops, 0)); /* still alive */
    cr_assert(eq(u32, test_timers_armed(w), 1));
    sim_world_free(w);
    cr_assert(eq(u32, drec.drops, 1)); /* freeing the world dropped it, as a crash */
    cr_assert(eq(int, test_end_of(&ends, id), SIM_ECRASHED));

    w = test_world(15, SIM_SCHED_RANDOM);
    daemon_rec alone = {0};
    spawn_daemon(w, &alone);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u64, sim_now(w), 0));
    cr_assert(eq(u64, alone.ticks, 0));
    sim_world_free(w);
}

typedef struct limit_rec {
    int first_rc;
    int second_rc;
} limit_rec;

typedef struct limit_task {
    sim_co co;
    sim_sleep_op a;
    sim_sleep_op b;
    limit_rec *rec;
} limit_task;

static int limit_poll(void *state, sim_world *w)
{
    limit_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    t->a = sim_sleep(w, 10 * SIM_MS);
    t->b = sim_sleep(w, 20 * SIM_MS);
    t->rec->first_rc = sim_fut_poll(w, &t->a.fut);
    t->rec->second_rc = sim_fut_poll(w, &t->b.fut);
    /* The first goes on to completion where it lives, so that nothing is left to drop. */
    SIM_AWAIT_FUT(rc, &t->a.fut);
    SIM_END(rc);
}

/* Goal: max_timers bounds the armed timers: arming one more gives SIM_ELIMIT.
 * Method: max_timers = 1; a task polls two sleeps by hand: the first arms (pending), the
 * second gets SIM_ELIMIT; the first, then awaited, still completes normally and nothing is
 * reported. */
Test(timer, max_timers_gives_elimit)
{
    sim_world_desc d = {.seed = 16, .max_timers = 1};
    sim_world *w = test_world_desc(&d);
    limit_rec rec = {0};
    limit_task t = {.rec = &rec};
    sim_join j = test_spawn(w, "greedy", (sim_node_id){0}, limit_poll, NULL, &t, sizeof t);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, rec.first_rc, SIM_PENDING));
    cr_assert(eq(int, rec.second_rc, SIM_ELIMIT));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: max_timers is bounded by SIM_MAX_TIMERS_LIMIT (the heap packs a timer's slot into 24
 * bits of its sequence word): the limit itself is accepted, one more is refused.
 * Method: sim_world_new with max_timers = SIM_MAX_TIMERS_LIMIT, then SIM_MAX_TIMERS_LIMIT + 1. */
Test(timer, max_timers_above_the_limit_is_refused)
{
    sim_world *w = NULL;
    sim_world_desc d = {.seed = 17, .max_timers = SIM_MAX_TIMERS_LIMIT};
    cr_assert(eq(int, sim_world_new(&d, &w), SIM_OK));
    sim_world_free(w);
    w = NULL;
    d.max_timers = SIM_MAX_TIMERS_LIMIT + 1;
    cr_assert(eq(int, sim_world_new(&d, &w), SIM_EINVAL));
    cr_assert(w == NULL);
}
