/*
 * test_block_on.c: sim_block_on and the stop rules of sim_world_run, through sim.h: results,
 * other tasks left where they are, block_on and world runs nested in a task (of the same
 * world or of another one), a future that can never complete, sticky stops.
 *
 * Tasks and futures report to the test through pointers to records on the test's stack;
 * every world is freed before its test returns. A future handed to sim_block_on belongs to
 * it: it completes or is dropped exactly once, whatever block_on returns.
 */
#include "../helpers.h"

/* ---- a counting ticker, to see whether other tasks moved ----------------------------------- */

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
    SIM_BEGIN(w, &c->co);
    sim_interval_init(w, &c->every, 10 * SIM_MS);
    for (c->i = 0; c->i < c->count; c->i++) {
        SIM_AWAIT(rc, sim_tick(&c->every));
        c->rec->ticks++;
        c->rec->last_at = sim_now(w);
    }
    SIM_END(rc);
}

/* ---- a hand-written awaitable: waits 55ms, then returns a chosen code ---------------------- */

typedef struct fut_rec {
    uint32_t polls;
    uint32_t drops;
} fut_rec;

typedef struct delayed_op {
    sim_fut fut;
    fut_rec *rec;
    int result;
    bool started;
    sim_sleep_op nap;
} delayed_op;

static int delayed_poll(sim_fut *f, sim_world *w)
{
    delayed_op *d = (delayed_op *)f;
    d->rec->polls++;
    if (!d->started) {
        d->started = true;
        d->nap = sim_sleep(w, 55 * SIM_MS);
    }
    int rc = sim_fut_poll(w, &d->nap.fut);
    if (rc != SIM_OK) return rc;
    sim_task_set_output(w, 4242);
    return d->result;
}

static void delayed_drop(sim_fut *f, sim_world *w)
{
    delayed_op *d = (delayed_op *)f;
    d->rec->drops++;
    sim_fut_drop(w, &d->nap.fut);
}

static const sim_fut_vt delayed_vt = {.name = "delayed", .poll = delayed_poll,
                                      .drop = delayed_drop};

static delayed_op delayed(int result, fut_rec *rec)
{
    return (delayed_op){.fut = SIM_FUT_INIT(&delayed_vt), .rec = rec, .result = result};
}

/* Goal: sim_block_on returns the future's own result, and leaves the other tasks where they
 * are when it returns; sim_world_run then continues them.
 * Method: a ticker (10 ms, 30 ticks) runs next to a future that completes at 55 ms with
 * SIM_ETIMEDOUT: block_on returns SIM_ETIMEDOUT at 55 ms with 5 ticks done and the future
 * polled twice and not dropped (it completed); sim_world_run finishes the ticker at 300 ms. */
Test(block_on, returns_result_and_leaves_others_in_place)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    count_rec cr = {0};
    counter c = {.count = 30, .rec = &cr};
    sim_join cj = test_spawn(w, "ticker", (sim_node_id){0}, counter_poll, NULL, &c, sizeof c);
    fut_rec d = {0};
    cr_assert(eq(int, sim_block_on(w, delayed(SIM_ETIMEDOUT, &d)), SIM_ETIMEDOUT));
    cr_assert(eq(u64, sim_now(w), 55 * SIM_MS));
    cr_assert(eq(u32, cr.ticks, 5));
    cr_assert(eq(u32, d.polls, 2));
    cr_assert(eq(u32, d.drops, 0));
    cr_assert(eq(u32, test_timers_armed(w), 1)); /* the ticker's next tick */
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, cr.ticks, 30));
    cr_assert(eq(u64, cr.last_at, 300 * SIM_MS));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&cj)), SIM_OK));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

typedef struct answer {
    sim_co co;
} answer;

static int answer_poll(void *state, sim_world *w)
{
    answer *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    SIM_AWAIT(rc, sim_yield());
    sim_task_set_output(w, 42);
    SIM_END(SIM_ECLOSED);
}

/* Goal: block_on of a join delivers the task's result and output into the handle.
 * Method: a task yields once and returns SIM_ECLOSED with output 42. */
Test(block_on, join_result_and_output)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    answer a = {0};
    sim_join j = test_spawn(w, "answer", (sim_node_id){0}, answer_poll, NULL, &a, sizeof a);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_ECLOSED));
    cr_assert(eq(i64, j.output, 42));
    cr_assert(eq(u64, sim_now(w), 0));
    sim_world_free(w);
}

/* Goal: block_on takes any awaitable by value, a combinator too, and its boxes are released.
 * Method: block_on(select(sleep 5ms, sleep 3ms)) returns SIM_OK at 3ms with branch 1; no timer
 * is left armed and no violation recorded. */
Test(block_on, select_by_value)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    int which = -1;
    cr_assert(eq(int, sim_block_on(w, sim_select(w, &which, sim_sleep(w, 5 * SIM_MS),
                                                 sim_sleep(w, 3 * SIM_MS))),
                 SIM_OK));
    cr_assert(eq(int, which, 1));
    cr_assert(eq(u64, sim_now(w), 3 * SIM_MS));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- nested block_on ----------------------------------------------------------------------- */

typedef struct nester_rec {
    int rc;
    fut_rec inner;
    bool returned;
} nester_rec;

typedef struct nester {
    sim_co co;
    nester_rec *rec;
} nester;

static int nester_poll(void *state, sim_world *w)
{
    nester *n = state;
    n->rec->rc = sim_block_on(w, delayed(SIM_OK, &n->rec->inner));
    n->rec->returned = true;
    return SIM_OK;
}

/* Goal: sim_block_on from inside a task returns SIM_EMISUSE at once and records a nested
 * block_on violation naming the task; it never hangs, the run goes on, and the future it was
 * given is dropped unpolled (it belongs to block_on).
 * Method: a task named "nester" calls sim_block_on on a 55 ms future. */
Test(block_on, nested_is_misuse_and_named, .timeout = 10)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    nester_rec rec = {.rc = SIM_PENDING};
    nester n = {.rec = &rec};
    sim_join j = test_spawn(w, "nester", (sim_node_id){0}, nester_poll, NULL, &n, sizeof n);
    sim_task_id id = j.task;
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(rec.returned);
    cr_assert(eq(int, rec.rc, SIM_EMISUSE));
    cr_assert(eq(u32, rec.inner.polls, 0));
    cr_assert(eq(u32, rec.inner.drops, 1));
    cr_assert(eq(u64, sim_now(w), 0));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_NESTED_BLOCK_ON), 1));
    const sim_violation *v = test_violation_find(w, SIM_VIOLATION_NESTED_BLOCK_ON, NULL);
    cr_assert(ne(ptr, (void *)v, NULL));
    cr_assert(eq(u32, v->task.v, id.v));
    cr_assert(ne(ptr, (void *)strstr(v->message, "nester"), NULL), "message: %s", v->message);
    sim_world_free(w);
}

/* ---- a future that can never complete ------------------------------------------------------ */

/* A recv that counts its polls and drops. */
typedef struct stuck_op {
    sim_fut fut;
    sim_recv_op inner;
    fut_rec *rec;
} stuck_op;

static int stuck_poll(sim_fut *f, sim_world *w)
{
    stuck_op *s = (stuck_op *)f;
    s->rec->polls++;
    return sim_fut_poll(w, &s->inner.fut);
}

static void stuck_drop(sim_fut *f, sim_world *w)
{
    stuck_op *s = (stuck_op *)f;
    s->rec->drops++;
    sim_fut_drop(w, &s->inner.fut);
}

static const sim_fut_vt stuck_vt = {.name = "stuck", .poll = stuck_poll, .drop = stuck_drop};

static stuck_op stuck(const sim_rx *rx, uint32_t *out, fut_rec *rec)
{
    return (stuck_op){.fut = SIM_FUT_INIT(&stuck_vt), .inner = sim_recv(rx, out), .rec = rec};
}

/* Goal: block_on of a future that can never complete returns SIM_EDEADLOCK (it does not hang)
 * and drops the future; the report says what it waited for; the stop is sticky for
 * sim_world_run, run_until and block_on (whose future is then dropped unpolled).
 * Method: receive on an MPSC channel whose sender the test holds and never uses. */
Test(block_on, never_completing_future_is_deadlock_and_dropped, .timeout = 10)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t), .name = "silent"};
    sim_tx tx;
    sim_rx rx;
    uint32_t msg = 0;
    cr_assert(eq(int, sim_chan_new(w, &cd, &tx, &rx), SIM_OK));
    fut_rec s = {0};
    cr_assert(eq(int, sim_block_on(w, stuck(&rx, &msg, &s)), SIM_EDEADLOCK));
    cr_assert(le(u32, 1, s.polls));
    cr_assert(eq(u32, s.drops, 1));
    const char *report = sim_world_report(w);
    cr_assert(ne(ptr, (void *)strstr(report, "deadlock"), NULL), "report:\n%s", report);
    cr_assert(ne(ptr, (void *)strstr(report, "recv"), NULL), "report:\n%s", report);
    cr_assert(ne(ptr, (void *)strstr(report, "silent"), NULL), "report:\n%s", report);
    /* Sticky. */
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    cr_assert(eq(int, sim_world_run_until(w, SIM_S), SIM_EDEADLOCK));
    fut_rec s2 = {0};
    cr_assert(eq(int, sim_block_on(w, stuck(&rx, &msg, &s2)), SIM_EDEADLOCK));
    cr_assert(eq(u32, s2.polls, 0));
    cr_assert(eq(u32, s2.drops, 1));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: a time limit hit during block_on returns SIM_ETIMELIMIT and drops the future,
 * releasing its timer.
 * Method: a 10 ms time limit and the 55 ms future. */
Test(block_on, time_limit_drops_future)
{
    sim_world_desc wd = {.seed = 5, .time_limit_ns = 10 * SIM_MS};
    sim_world *w = test_world_desc(&wd);
    fut_rec d = {0};
    cr_assert(eq(int, sim_block_on(w, delayed(SIM_OK, &d)), SIM_ETIMELIMIT));
    cr_assert(eq(u32, d.drops, 1));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(int, sim_world_run(w), SIM_ETIMELIMIT));
    sim_world_free(w);
}

/* ---- stop, and run from inside a task ------------------------------------------------------ */

typedef struct stopper {
    sim_co co;
} stopper;

static int stopper_poll(void *state, sim_world *w)
{
    stopper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, 20 * SIM_MS));
    sim_world_stop(w);
    SIM_END(rc);
}

/* Goal: after a stop, sim_world_run keeps returning the same code and runs nothing.
 * Method: a task calls sim_world_stop at 20 ms while a ticker (10 ms, 30 ticks) runs; every
 * later run, run_until and block_on returns SIM_ESTOPPED and the ticker stays put; the future
 * given to the refused block_on is dropped unpolled. */
Test(block_on, stopped_run_stays_stopped)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    count_rec cr = {0};
    counter c = {.count = 30, .rec = &cr};
    test_spawn(w, "ticker", (sim_node_id){0}, counter_poll, NULL, &c, sizeof c);
    stopper s = {0};
    test_spawn(w, "stopper", (sim_node_id){0}, stopper_poll, NULL, &s, sizeof s);
    cr_assert(eq(int, sim_world_run(w), SIM_ESTOPPED));
    cr_assert(eq(u64, sim_now(w), 20 * SIM_MS));
    uint32_t ticks = cr.ticks;
    uint64_t steps = sim_world_step(w);
    cr_assert(le(u32, 1, ticks));
    cr_assert(le(u32, ticks, 2));
    cr_assert(eq(int, sim_world_run(w), SIM_ESTOPPED));
    cr_assert(eq(int, sim_world_run(w), SIM_ESTOPPED));
    cr_assert(eq(int, sim_world_run_until(w, SIM_S), SIM_ESTOPPED));
    fut_rec d = {0};
    cr_assert(eq(int, sim_block_on(w, delayed(SIM_OK, &d)), SIM_ESTOPPED));
    cr_assert(eq(u32, d.polls, 0));
    cr_assert(eq(u32, d.drops, 1));
    cr_assert(eq(u32, cr.ticks, ticks));
    cr_assert(eq(u64, sim_world_step(w), steps));
    cr_assert(eq(u64, sim_now(w), 20 * SIM_MS));
    sim_world_free(w);
}

typedef struct runner_rec {
    int run_rc;
    int run_until_rc;
    int block_on_rc;
    uint64_t now_after;
    fut_rec inner;
} runner_rec;

typedef struct runner {
    sim_co co;
    sim_world *target;   /* the world it tries to run: its own, or another one */
    runner_rec *rec;
} runner;

static int runner_poll(void *state, sim_world *w)
{
    runner *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    SIM_AWAIT(rc, sim_sleep(w, 5 * SIM_MS));
    r->rec->run_rc = sim_world_run(r->target);
    r->rec->run_until_rc = sim_world_run_until(r->target, SIM_S);
    r->rec->block_on_rc = sim_block_on(r->target, delayed(SIM_OK, &r->rec->inner));
    r->rec->now_after = sim_now(w);
    SIM_END(rc);
}

/* Goal: sim_world_run, run_until and block_on called from inside a task on its own world
 * return SIM_EMISUSE, record nested-run violations, and neither run nor stop the outer run.
 * Method: a task calls all three at 5 ms while a ticker (10 ms, 3 ticks) has work left; the
 * outer run then completes normally at 30 ms with three violations. */
Test(block_on, world_run_inside_task_is_misuse, .timeout = 10)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    count_rec cr = {0};
    counter c = {.count = 3, .rec = &cr};
    test_spawn(w, "ticker", (sim_node_id){0}, counter_poll, NULL, &c, sizeof c);
    runner_rec rec = {.run_rc = SIM_PENDING, .run_until_rc = SIM_PENDING,
                      .block_on_rc = SIM_PENDING};
    runner r = {.target = w, .rec = &rec};
    test_spawn(w, "runner", (sim_node_id){0}, runner_poll, NULL, &r, sizeof r);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, rec.run_rc, SIM_EMISUSE));
    cr_assert(eq(int, rec.run_until_rc, SIM_EMISUSE));
    cr_assert(eq(int, rec.block_on_rc, SIM_EMISUSE));
    cr_assert(eq(u32, rec.inner.polls, 0));
    cr_assert(eq(u64, rec.now_after, 5 * SIM_MS));
    cr_assert(eq(u32, cr.ticks, 3));
    cr_assert(eq(u64, sim_now(w), 30 * SIM_MS));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_NESTED_BLOCK_ON), 3));
    cr_assert(eq(u32, sim_world_violation_count(w), 3));
    sim_world_free(w);
}

/* Goal: (issue 16 defect, seed-004's "second runtime") running a second world from inside a
 * task of a running world is refused: run, run_until and block_on of the second world return
 * SIM_EMISUSE with a violation in both worlds; neither world moves, and the second one runs
 * normally afterwards.
 * Method: world B holds a ticker; a task of world A tries to run B three ways at 5 ms; A
 * finishes at 5 ms with three violations, B has three and is still at time 0 with no tick;
 * sim_world_run(B) then completes its ticker at 30 ms. */
Test(block_on, second_world_run_inside_task_is_violation, .timeout = 10)
{
    sim_world *a = test_world(8, SIM_SCHED_RANDOM);
    sim_world *b = test_world(9, SIM_SCHED_RANDOM);
    count_rec cr = {0};
    counter c = {.count = 3, .rec = &cr};
    test_spawn(b, "b-ticker", (sim_node_id){0}, counter_poll, NULL, &c, sizeof c);
    runner_rec rec = {.run_rc = SIM_PENDING, .run_until_rc = SIM_PENDING,
                      .block_on_rc = SIM_PENDING};
    runner r = {.target = b, .rec = &rec};
    test_spawn(a, "a-runner", (sim_node_id){0}, runner_poll, NULL, &r, sizeof r);
    cr_assert(eq(int, sim_world_run(a), SIM_OK));
    cr_assert(eq(int, rec.run_rc, SIM_EMISUSE));
    cr_assert(eq(int, rec.run_until_rc, SIM_EMISUSE));
    cr_assert(eq(int, rec.block_on_rc, SIM_EMISUSE));
    cr_assert(eq(u32, rec.inner.polls, 0));
    cr_assert(eq(u32, rec.inner.drops, 1));
    cr_assert(eq(u64, sim_now(a), 5 * SIM_MS));
    cr_assert(eq(u32, test_violations(a, SIM_VIOLATION_NESTED_BLOCK_ON), 3));
    cr_assert(ne(ptr, (void *)test_violation_find(a, SIM_VIOLATION_NESTED_BLOCK_ON,
                                                  "another world"), NULL));
    cr_assert(eq(u32, test_violations(b, SIM_VIOLATION_NESTED_BLOCK_ON), 3));
    cr_assert(eq(u64, sim_now(b), 0));
    cr_assert(eq(u32, cr.ticks, 0));
    cr_assert(eq(u64, sim_world_step(b), 0));
    cr_assert(eq(int, sim_world_run(b), SIM_OK));
    cr_assert(eq(u32, cr.ticks, 3));
    cr_assert(eq(u64, sim_now(b), 30 * SIM_MS));
    sim_world_free(b);
    sim_world_free(a);
}

/* Goal: sim_block_on's root, which owns nothing, may take a mutex: the LOCKED record is its
 * node's (the world's), and the mutex's holder invariant allows that (an assertion that
 * wanted the holder's own record aborted here). Method: block_on of a lock returns SIM_OK
 * with no violation while another task holds slot 0. */
Test(block_on, lock_taken_by_the_root)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    count_rec cr = {0};
    counter c = {.count = 3, .rec = &cr}; /* holds slot 0: the root's is another */
    sim_join cj = test_spawn(w, "ticker", (sim_node_id){0}, counter_poll, NULL, &c, sizeof c);
    sim_mutex m;
    cr_assert(eq(int, sim_mutex_new(w, "m", &m), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_lock(&m)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&cj)), SIM_OK));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}
