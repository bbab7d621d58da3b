/*
 * test_timer.c: sleep, interval, the timer heap's firing order, clock jumps, run_until, time
 * limits, daemons and what happens to timers when a task dies mid-await, through sim.h.
 *
 * Tasks report to the test through a pointer to a record that lives on the test's stack; the
 * world is always freed before the test returns, so the pointer never dangles.
 */
#include "../helpers.h"

#define SLEEPER_NEVER UINT64_MAX

/* ---- a plain sleeper ------------------------------------------------------------------------- */

typedef struct sleep_rec {
    uint64_t woke_at;       /* sim_now after the await; SLEEPER_NEVER until then */
    uint32_t drops;         /* drop function calls */
    sim_drop_mode drop_mode;
    int sleep_rc;
} sleep_rec;

typedef struct sleeper {
    sim_co co;
    sim_sleep nap;
    uint64_t duration_ns;
    sleep_rec *rec;
} sleeper;

static int sleeper_poll(void *state, sim_world *w)
{
    sleeper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    sim_sleep_init(w, &s->nap, s->duration_ns);
    SIM_AWAIT(&s->co, rc, sim_sleep_poll(w, &s->nap));
    s->rec->sleep_rc = rc;
    s->rec->woke_at = sim_now(w);
    SIM_END(&s->co, rc);
}

static void sleeper_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    sleeper *s = state;
    sim_sleep_drop(w, &s->nap);
    s->rec->drops++;
    s->rec->drop_mode = mode;
}

/* Forgets to release its sleep: the executor must release the timer and report a leak. */
static void sleeper_leaky_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    sleeper *s = state;
    (void)w;
    s->rec->drops++;
    s->rec->drop_mode = mode;
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
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_OK));
    cr_assert(eq(u64, rec.woke_at, 250 * SIM_MS));
    cr_assert(eq(int, rec.sleep_rc, SIM_OK));
    cr_assert(eq(u64, sim_now(w), 250 * SIM_MS));
    cr_assert(eq(u32, rec.drops, 1));
    cr_assert(eq(int, (int)rec.drop_mode, (int)SIM_DROP_DONE));
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
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_OK));
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
    sim_sleep nap;
    uint64_t deadline_ns;
    uint32_t idx;
    order_rec *rec;
} order_task;

static int order_poll(void *state, sim_world *w)
{
    order_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(&t->co);
    t->rec->arm_seq[t->idx] = t->rec->arm_next++;
    sim_sleep_until_init(w, &t->nap, t->deadline_ns);
    SIM_AWAIT(&t->co, rc, sim_sleep_poll(w, &t->nap));
    t->rec->woke_at[t->idx] = sim_now(w);
    t->rec->woke[t->rec->nwoke++] = t->idx;
    SIM_END(&t->co, rc);
}

static void order_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    order_task *t = state;
    (void)mode;
    sim_sleep_drop(w, &t->nap);
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
        sim_task_desc d = {.name = "order", .poll = order_poll, .drop = order_drop,
                           .state = &t, .state_size = sizeof t};
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
        handles[i] = test_spawn(w, "order", (sim_node_id){0}, order_poll, order_drop, &t,
                                sizeof t);
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
        cr_assert(eq(int, sim_block_on(w, sim_join_future(&handles[i])), want), "task %u", i);
    }
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
} instant_rec;

typedef struct instant_task {
    sim_co co;
    sim_sleep first;
    sim_sleep zero;
    sim_sleep past;
    instant_rec *rec;
} instant_task;

static int instant_poll(void *state, sim_world *w)
{
    instant_task *t = state;
    int rc = SIM_OK;
    t->rec->polls++;
    SIM_BEGIN(&t->co);
    sim_sleep_init(w, &t->first, 100 * SIM_MS);
    SIM_AWAIT(&t->co, rc, sim_sleep_poll(w, &t->first));
    t->rec->now_before = sim_now(w);
    sim_sleep_init(w, &t->zero, 0);
    t->rec->zero_rc = sim_sleep_poll(w, &t->zero);
    sim_sleep_until_init(w, &t->past, 50 * SIM_MS);
    t->rec->past_rc = sim_sleep_poll(w, &t->past);
    t->rec->now_after = sim_now(w);
    t->rec->armed_after = test_timers_armed(w);
    SIM_END(&t->co, rc);
}

static void instant_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    instant_task *t = state;
    (void)mode;
    sim_sleep_drop(w, &t->first);
    sim_sleep_drop(w, &t->zero);
    sim_sleep_drop(w, &t->past);
}

/* Goal: a sleep of 0, or until a time already past, is ready on its first poll: no timer,
 * no yield, no time passing.
 * Method: after a 100 ms sleep, a task polls a 0 ns sleep and a sleep until 50 ms once each;
 * both return SIM_OK at once, nothing is armed, and the task needed only two polls. */
Test(timer, zero_and_past_sleeps_are_ready_at_once)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    instant_rec rec = {0};
    instant_task t = {.rec = &rec};
    sim_join j = test_spawn(w, "instant", (sim_node_id){0}, instant_poll, instant_drop, &t,
                            sizeof t);
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_OK));
    cr_assert(eq(int, rec.zero_rc, SIM_OK));
    cr_assert(eq(int, rec.past_rc, SIM_OK));
    cr_assert(eq(u64, rec.now_before, 100 * SIM_MS));
    cr_assert(eq(u64, rec.now_after, 100 * SIM_MS));
    cr_assert(eq(u32, rec.armed_after, 0));
    cr_assert(eq(u32, rec.polls, 2));
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
    sim_sleep late;
    uint32_t i;
    tick_rec *rec;
} ticker;

static int ticker_poll(void *state, sim_world *w)
{
    ticker *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(&t->co);
    sim_interval_init(w, &t->every, 10 * SIM_MS);
    for (t->i = 0; t->i < 3; t->i++) {
        SIM_AWAIT(&t->co, rc, sim_interval_poll(w, &t->every));
        t->rec->at[t->rec->n] = sim_now(w);
        t->rec->ticks_field[t->rec->n++] = t->every.ticks;
    }
    /* Fall behind: the ticks at 40, 50 and 60 ms are missed. */
    sim_sleep_until_init(w, &t->late, 65 * SIM_MS);
    SIM_AWAIT(&t->co, rc, sim_sleep_poll(w, &t->late));
    for (t->i = 0; t->i < 4; t->i++) {
        SIM_AWAIT(&t->co, rc, sim_interval_poll(w, &t->every));
        t->rec->at[t->rec->n] = sim_now(w);
        t->rec->ticks_field[t->rec->n++] = t->every.ticks;
    }
    SIM_END(&t->co, rc);
}

static void ticker_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    ticker *t = state;
    (void)mode;
    sim_interval_drop(w, &t->every);
    sim_sleep_drop(w, &t->late);
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
    sim_join j = test_spawn(w, "ticker", (sim_node_id){0}, ticker_poll, ticker_drop, &t,
                            sizeof t);
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_OK));
    static const uint64_t want[7] = {10, 20, 30, 65, 65, 65, 70};
    cr_assert(eq(u32, rec.n, 7));
    for (uint32_t i = 0; i < 7; i++) {
        cr_assert(eq(u64, rec.at[i], want[i] * SIM_MS), "tick %u", i + 1);
        cr_assert(eq(u64, rec.ticks_field[i], i + 1));
    }
    cr_assert(eq(u32, test_timers_armed(w), 0));
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
    sim_sleep wait;
    aborter_rec *rec;
} aborter;

static int aborter_poll(void *state, sim_world *w)
{
    aborter *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(&a->co);
    sim_sleep_init(w, &a->wait, 50 * SIM_MS);
    SIM_AWAIT(&a->co, rc, sim_sleep_poll(w, &a->wait));
    sim_join_abort(w, &a->victim);
    SIM_AWAIT(&a->co, rc, sim_join_poll(w, &a->victim));
    a->rec->join_rc = rc;
    a->rec->joined_at = sim_now(w);
    SIM_END(&a->co, SIM_OK);
}

static void aborter_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    aborter *a = state;
    (void)mode;
    sim_sleep_drop(w, &a->wait);
    sim_join_detach(w, &a->victim);
}

/* Goal: a task aborted while it sleeps is dropped (drop runs once, SIM_DROP_ABORT), its join
 * yields SIM_ECANCELED, and its timer is released.
 * Method: a task sleeping 1 s is aborted at 50 ms by another task that then joins it. */
Test(timer, abort_mid_sleep_releases_timer)
{
    sim_world *w = test_world(9, SIM_SCHED_RANDOM);
    sleep_rec rec = {0};
    sim_join victim = spawn_sleeper(w, "victim", SIM_S, &rec, sleeper_drop);
    aborter_rec arec = {.join_rc = SIM_PENDING};
    aborter a = {.victim = victim, .rec = &arec};
    sim_join aj = test_spawn(w, "aborter", (sim_node_id){0}, aborter_poll, aborter_drop, &a,
                             sizeof a);
    cr_assert(eq(int, sim_world_run_until(w, 10 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 2));
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&aj)), SIM_OK));
    cr_assert(eq(int, arec.join_rc, SIM_ECANCELED));
    cr_assert(eq(u64, arec.joined_at, 50 * SIM_MS));
    cr_assert(eq(u32, rec.drops, 1));
    cr_assert(eq(int, (int)rec.drop_mode, (int)SIM_DROP_ABORT));
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
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_ECANCELED));
    cr_assert(eq(u64, sim_now(w), 100 * SIM_MS));
    cr_assert(eq(u32, rec.drops, 1));
    cr_assert(eq(int, (int)rec.drop_mode, (int)SIM_DROP_ABORT));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a drop function that forgets its sleep does not leave a timer behind: the executor
 * releases it and records a leak violation against the task.
 * Method: a sleeper whose drop does not call sim_sleep_drop is aborted mid-sleep. */
Test(timer, leaked_sleep_is_released_and_reported)
{
    sim_world *w = test_world(11, SIM_SCHED_RANDOM);
    sleep_rec rec = {0};
    sim_join j = spawn_sleeper(w, "forgetful", SIM_S, &rec, sleeper_leaky_drop);
    sim_task_id id = j.task;
    cr_assert(eq(int, sim_world_run_until(w, 100 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 1));
    sim_join_abort(w, &j);
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_ECANCELED));
    cr_assert(eq(u32, rec.drops, 1));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_LEAK), 1));
    const sim_violation *v = sim_world_violation(w, 0);
    cr_assert(ne(ptr, (void *)v, NULL));
    cr_assert(eq(int, (int)v->kind, (int)SIM_VIOLATION_LEAK));
    cr_assert(eq(u32, v->task.v, id.v));
    /* Nothing fires later for the dead task. */
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u64, st.timers_fired, 0));
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
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&ja)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&jb)), SIM_OK));
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
    sim_drop_mode mode;
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
    SIM_BEGIN(&t->co);
    sim_interval_init(w, &t->every, 100 * SIM_MS);
    for (;;) {
        SIM_AWAIT(&t->co, rc, sim_interval_poll(w, &t->every));
        t->rec->ticks++;
    }
    SIM_END(&t->co, rc);
}

static void daemon_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    daemon_task *t = state;
    sim_interval_drop(w, &t->every);
    t->rec->drops++;
    t->rec->mode = mode;
}

static void spawn_daemon(sim_world *w, daemon_rec *rec)
{
    daemon_task t = {.rec = rec};
    sim_task_desc d = {.name = "metronome", .poll = daemon_poll, .drop = daemon_drop,
                       .state = &t, .state_size = sizeof t, .daemon = true};
    cr_assert(eq(int, sim_spawn(w, &d, NULL), SIM_OK));
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
    sim_world *w = test_world(14, SIM_SCHED_RANDOM);
    daemon_rec drec = {0};
    spawn_daemon(w, &drec);
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
    cr_assert(eq(u32, drec.drops, 1)); /* freeing the world dropped it, in crash mode */
    cr_assert(eq(int, (int)drec.mode, (int)SIM_DROP_CRASH));

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
    sim_sleep a;
    sim_sleep b;
    limit_rec *rec;
} limit_task;

static int limit_poll(void *state, sim_world *w)
{
    limit_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(&t->co);
    sim_sleep_init(w, &t->a, 10 * SIM_MS);
    sim_sleep_init(w, &t->b, 20 * SIM_MS);
    t->rec->first_rc = sim_sleep_poll(w, &t->a);
    t->rec->second_rc = sim_sleep_poll(w, &t->b);
    SIM_AWAIT(&t->co, rc, sim_sleep_poll(w, &t->a));
    SIM_END(&t->co, rc);
}

static void limit_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    limit_task *t = state;
    (void)mode;
    sim_sleep_drop(w, &t->a);
    sim_sleep_drop(w, &t->b);
}

/* Goal: max_timers bounds the armed timers: arming one more gives SIM_ELIMIT.
 * Method: max_timers = 1; a task polls two sleeps: the first arms (pending), the second gets
 * SIM_ELIMIT; the first still completes normally. */
Test(timer, max_timers_gives_elimit)
{
    sim_world_desc d = {.seed = 16, .max_timers = 1};
    sim_world *w = test_world_desc(&d);
    limit_rec rec = {0};
    limit_task t = {.rec = &rec};
    sim_join j = test_spawn(w, "greedy", (sim_node_id){0}, limit_poll, limit_drop, &t, sizeof t);
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_OK));
    cr_assert(eq(int, rec.first_rc, SIM_PENDING));
    cr_assert(eq(int, rec.second_rc, SIM_ELIMIT));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    sim_world_free(w);
}
