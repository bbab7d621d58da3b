/*
 * test_block_on.c: sim_block_on and the stop rules of sim_world_run, through sim.h: results,
 * other tasks left where they are, nested block_on, a future that can never complete, sticky
 * stops, and sim_world_run from inside a task.
 *
 * Tasks report to the test through pointers to records on the test's stack; every world is
 * freed before its test returns.
 */
#include "../helpers.h"

#define NEVER UINT64_MAX

/* ---- a counting ticker, to see whether other tasks moved ------------------------------------- */

typedef struct count_rec {
    uint32_t ticks;
    uint64_t last_at;
} count_rec;

typedef struct counter {
    sim_co co;
    sim_interval every;
    uint32_t i;
    uint32_t count;
    count_rec *rec;
} counter;

static int counter_poll(void *state, sim_world *w)
{
    counter *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(&c->co);
    sim_interval_init(w, &c->every, 10 * SIM_MS);
    for (c->i = 0; c->i < c->count; c->i++) {
        SIM_AWAIT(&c->co, rc, sim_interval_poll(w, &c->every));
        c->rec->ticks++;
        c->rec->last_at = sim_now(w);
    }
    SIM_END(&c->co, rc);
}

static void counter_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    counter *c = state;
    (void)mode;
    sim_interval_drop(w, &c->every);
}

/* ---- a hand-written future: waits a while, then returns a chosen code ------------------------ */

typedef struct delayed {
    sim_sleep nap;
    bool started;
    int result;
    uint32_t polls;
    uint32_t drops;
    sim_drop_mode mode;
} delayed;

static int delayed_poll(void *state, sim_world *w)
{
    delayed *d = state;
    d->polls++;
    if (!d->started) {
        d->started = true;
        sim_sleep_init(w, &d->nap, 55 * SIM_MS);
    }
    int rc = sim_sleep_poll(w, &d->nap);
    if (rc != SIM_OK) return rc;
    sim_task_set_output(w, 4242);
    return d->result;
}

static void delayed_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    delayed *d = state;
    sim_sleep_drop(w, &d->nap);
    d->drops++;
    d->mode = mode;
}

/* Goal: sim_block_on returns the future's own result, and leaves the other tasks where they
 * are when it returns; sim_world_run then continues them.
 * Method: a ticker (10 ms, 30 ticks) runs next to a future that completes at 55 ms with
 * SIM_ETIMEDOUT: block_on returns SIM_ETIMEDOUT at 55 ms with 5 ticks done and the future
 * dropped once (done mode); sim_world_run finishes the ticker at 300 ms. */
Test(block_on, returns_result_and_leaves_others_in_place)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    count_rec cr = {0};
    counter c = {.count = 30, .rec = &cr};
    sim_join cj = test_spawn(w, "ticker", (sim_node_id){0}, counter_poll, counter_drop, &c,
                             sizeof c);
    delayed d = {.result = SIM_ETIMEDOUT};
    sim_future f = {.poll = delayed_poll, .drop = delayed_drop, .state = &d};
    cr_assert(eq(int, sim_block_on(w, f), SIM_ETIMEDOUT));
    cr_assert(eq(u64, sim_now(w), 55 * SIM_MS));
    cr_assert(eq(u32, cr.ticks, 5));
    cr_assert(eq(u32, d.polls, 2));
    cr_assert(le(u32, d.drops, 1));
    if (d.drops == 1) cr_assert(eq(int, (int)d.mode, (int)SIM_DROP_DONE));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, st.timers_armed, 1)); /* the ticker's next tick */
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, cr.ticks, 30));
    cr_assert(eq(u64, cr.last_at, 300 * SIM_MS));
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&cj)), SIM_OK));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

typedef struct answer {
    sim_co co;
    sim_yield y;
} answer;

static int answer_poll(void *state, sim_world *w)
{
    answer *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(&a->co);
    SIM_AWAIT(&a->co, rc, sim_yield_poll(w, &a->y));
    sim_task_set_output(w, 42);
    SIM_END(&a->co, SIM_ECLOSED);
}

/* Goal: block_on of a join future delivers the task's result and output into the handle.
 * Method: a task yields once and returns SIM_ECLOSED with output 42. */
Test(block_on, join_future_result_and_output)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    answer a = {0};
    sim_join j = test_spawn(w, "answer", (sim_node_id){0}, answer_poll, NULL, &a, sizeof a);
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_ECLOSED));
    cr_assert(eq(i64, j.output, 42));
    cr_assert(eq(u64, sim_now(w), 0));
    sim_world_free(w);
}

/* ---- nested block_on ------------------------------------------------------------------------- */

typedef struct nester_rec {
    int rc;
    uint32_t inner_polls;
    bool returned;
} nester_rec;

typedef struct nester {
    sim_co co;
    delayed inner;
    nester_rec *rec;
} nester;

static int nester_poll(void *state, sim_world *w)
{
    nester *n = state;
    SIM_BEGIN(&n->co);
    {
        sim_future f = {.poll = delayed_poll, .drop = delayed_drop, .state = &n->inner};
        n->rec->rc = sim_block_on(w, f);
        n->rec->inner_polls = n->inner.polls;
        n->rec->returned = true;
    }
    SIM_END(&n->co, SIM_OK);
}

static void nester_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    nester *n = state;
    (void)mode;
    sim_sleep_drop(w, &n->inner.nap);
}

/* Goal: sim_block_on from inside a task returns SIM_EMISUSE at once and records a nested
 * block_on violation naming the task; it never hangs and the run goes on.
 * Method: a task named "nester" calls sim_block_on on a 55 ms future. */
Test(block_on, nested_is_misuse_and_named, .timeout = 10)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    nester_rec rec = {.rc = SIM_PENDING};
    nester n = {.rec = &rec};
    sim_join j = test_spawn(w, "nester", (sim_node_id){0}, nester_poll, nester_drop, &n,
                            sizeof n);
    sim_task_id id = j.task;
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_OK));
    cr_assert(rec.returned);
    cr_assert(eq(int, rec.rc, SIM_EMISUSE));
    cr_assert(eq(u32, rec.inner_polls, 0));
    cr_assert(eq(u64, sim_now(w), 0));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_NESTED_BLOCK_ON), 1));
    const sim_violation *v = NULL;
    for (uint32_t i = 0; i < sim_world_violation_count(w); i++) {
        const sim_violation *c = sim_world_violation(w, i);
        if (c != NULL && c->kind == SIM_VIOLATION_NESTED_BLOCK_ON) v = c;
    }
    cr_assert(ne(ptr, (void *)v, NULL));
    cr_assert(eq(u32, v->task.v, id.v));
    cr_assert(ne(ptr, (void *)strstr(v->message, "nester"), NULL), "message: %s", v->message);
    sim_world_free(w);
}

/* ---- a future that can never complete -------------------------------------------------------- */

typedef struct stuck {
    sim_rx *rx;
    uint32_t msg;
    uint32_t polls;
    uint32_t drops;
    sim_drop_mode mode;
} stuck;

static int stuck_poll(void *state, sim_world *w)
{
    stuck *s = state;
    s->polls++;
    return sim_recv(w, s->rx, &s->msg);
}

static void stuck_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    stuck *s = state;
    (void)w;
    s->drops++;
    s->mode = mode;
}

/* Goal: block_on of a future that can never complete returns SIM_EDEADLOCK (it does not hang)
 * and drops the future in abort mode; the report says what it waited for; the stop is
 * sticky for sim_world_run, run_until and block_on.
 * Method: receive on an MPSC channel whose sender the test holds and never uses. */
Test(block_on, never_completing_future_is_deadlock_and_dropped, .timeout = 10)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t), .name = "silent"};
    sim_tx tx;
    sim_rx rx;
    cr_assert(eq(int, sim_chan_new(w, &cd, &tx, &rx), SIM_OK));
    stuck s = {.rx = &rx};
    sim_future f = {.poll = stuck_poll, .drop = stuck_drop, .state = &s};
    cr_assert(eq(int, sim_block_on(w, f), SIM_EDEADLOCK));
    cr_assert(ge(u32, s.polls, 1));
    cr_assert(eq(u32, s.drops, 1));
    cr_assert(eq(int, (int)s.mode, (int)SIM_DROP_ABORT));
    const char *report = sim_world_report(w);
    cr_assert(ne(ptr, (void *)strstr(report, "deadlock"), NULL), "report:\n%s", report);
    cr_assert(ne(ptr, (void *)strstr(report, "recv"), NULL), "report:\n%s", report);
    cr_assert(ne(ptr, (void *)strstr(report, "silent"), NULL), "report:\n%s", report);
    /* Sticky. */
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    cr_assert(eq(int, sim_world_run_until(w, SIM_S), SIM_EDEADLOCK));
    stuck s2 = {.rx = &rx};
    sim_future f2 = {.poll = stuck_poll, .drop = stuck_drop, .state = &s2};
    cr_assert(eq(int, sim_block_on(w, f2), SIM_EDEADLOCK));
    cr_assert(eq(u32, s2.polls, 0));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, st.objects_live, 0));
    sim_world_free(w);
}

/* Goal: a time limit hit during block_on returns SIM_ETIMELIMIT and drops the future in
 * abort mode, releasing its timer.
 * Method: a 10 ms time limit and the 55 ms future. */
Test(block_on, time_limit_drops_future)
{
    sim_world_desc wd = {.seed = 5, .time_limit_ns = 10 * SIM_MS};
    sim_world *w = test_world_desc(&wd);
    delayed d = {.result = SIM_OK};
    sim_future f = {.poll = delayed_poll, .drop = delayed_drop, .state = &d};
    cr_assert(eq(int, sim_block_on(w, f), SIM_ETIMELIMIT));
    cr_assert(eq(u32, d.drops, 1));
    cr_assert(eq(int, (int)d.mode, (int)SIM_DROP_ABORT));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(eq(int, sim_world_run(w), SIM_ETIMELIMIT));
    sim_world_free(w);
}

/* ---- stop, and run from inside a task -------------------------------------------------------- */

typedef struct stopper {
    sim_co co;
    sim_sleep nap;
} stopper;

static int stopper_poll(void *state, sim_world *w)
{
    stopper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    sim_sleep_init(w, &s->nap, 20 * SIM_MS);
    SIM_AWAIT(&s->co, rc, sim_sleep_poll(w, &s->nap));
    sim_world_stop(w);
    SIM_END(&s->co, rc);
}

static void stopper_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    stopper *s = state;
    (void)mode;
    sim_sleep_drop(w, &s->nap);
}

/* Goal: after a stop, sim_world_run keeps returning the same code and runs nothing.
 * Method: a task calls sim_world_stop at 20 ms while a ticker (10 ms, 30 ticks) runs; every
 * later run, run_until and block_on returns SIM_ESTOPPED and the ticker stays put. */
Test(block_on, stopped_run_stays_stopped)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    count_rec cr = {0};
    counter c = {.count = 30, .rec = &cr};
    test_spawn(w, "ticker", (sim_node_id){0}, counter_poll, counter_drop, &c, sizeof c);
    stopper s = {0};
    test_spawn(w, "stopper", (sim_node_id){0}, stopper_poll, stopper_drop, &s, sizeof s);
    cr_assert(eq(int, sim_world_run(w), SIM_ESTOPPED));
    cr_assert(eq(u64, sim_now(w), 20 * SIM_MS));
    uint32_t ticks = cr.ticks;
    uint64_t steps = sim_world_step(w);
    cr_assert(ge(u32, ticks, 1));
    cr_assert(le(u32, ticks, 2));
    cr_assert(eq(int, sim_world_run(w), SIM_ESTOPPED));
    cr_assert(eq(int, sim_world_run(w), SIM_ESTOPPED));
    cr_assert(eq(int, sim_world_run_until(w, SIM_S), SIM_ESTOPPED));
    delayed d = {.result = SIM_OK};
    sim_future f = {.poll = delayed_poll, .drop = delayed_drop, .state = &d};
    cr_assert(eq(int, sim_block_on(w, f), SIM_ESTOPPED));
    cr_assert(eq(u32, cr.ticks, ticks));
    cr_assert(eq(u64, sim_world_step(w), steps));
    cr_assert(eq(u64, sim_now(w), 20 * SIM_MS));
    sim_world_free(w);
}

typedef struct runner_rec {
    int run_rc;
    int run_until_rc;
    uint64_t now_after;
} runner_rec;

typedef struct runner {
    sim_co co;
    sim_sleep nap;
    runner_rec *rec;
} runner;

static int runner_poll(void *state, sim_world *w)
{
    runner *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(&r->co);
    sim_sleep_init(w, &r->nap, 5 * SIM_MS);
    SIM_AWAIT(&r->co, rc, sim_sleep_poll(w, &r->nap));
    r->rec->run_rc = sim_world_run(w);
    r->rec->run_until_rc = sim_world_run_until(w, SIM_S);
    r->rec->now_after = sim_now(w);
    SIM_END(&r->co, rc);
}

static void runner_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    runner *r = state;
    (void)mode;
    sim_sleep_drop(w, &r->nap);
}

/* Goal: sim_world_run (and run_until) called from inside a task return SIM_EMISUSE, record
 * misuse, and neither run nor stop the outer run.
 * Method: a task calls both at 5 ms while a ticker (10 ms, 3 ticks) has work left; the outer
 * run then completes normally at 30 ms. */
Test(block_on, world_run_inside_task_is_misuse, .timeout = 10)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    count_rec cr = {0};
    counter c = {.count = 3, .rec = &cr};
    test_spawn(w, "ticker", (sim_node_id){0}, counter_poll, counter_drop, &c, sizeof c);
    runner_rec rec = {.run_rc = SIM_PENDING, .run_until_rc = SIM_PENDING};
    runner r = {.rec = &rec};
    test_spawn(w, "runner", (sim_node_id){0}, runner_poll, runner_drop, &r, sizeof r);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, rec.run_rc, SIM_EMISUSE));
    cr_assert(eq(int, rec.run_until_rc, SIM_EMISUSE));
    cr_assert(eq(u64, rec.now_after, 5 * SIM_MS));
    cr_assert(eq(u32, cr.ticks, 3));
    cr_assert(eq(u64, sim_now(w), 30 * SIM_MS));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 2));
    sim_world_free(w);
}
