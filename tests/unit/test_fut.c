/*
 * test_fut.c: futures and coroutines, through sim.h: SIM_TRY, sub-coroutines (sim_call) and
 * their cancellation, futures polled after they finished, every awaitable dropped without a
 * poll, SIM_AWAIT_FUT, yield; and two time defects of issue 16: a deadline in the past
 * (sim_sleep_until, sim_time_left) and a blocking job that charges the longest duration.
 */
#include "../helpers.h"

static const sim_node_id NO_NODE = {0};

static int join_rc(sim_world *w, sim_join *j)
{
    return sim_block_on(w, sim_join_wait(j));
}

/* ---- SIM_TRY and sub-coroutines ------------------------------------------------------------ */

/* A sub-coroutine: sleeps nap_ns, then receives one message (its result is the recv's). */
typedef struct sub {
    sim_co co;
    uint64_t nap_ns;
    const sim_rx *rx;
    uint32_t v;
    uint32_t *steps;     /* how far it got: 1 after the sleep, 2 after the recv */
} sub;

static int sub_poll(void *state, sim_world *w)
{
    sub *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_sleep(w, s->nap_ns));
    (*s->steps)++;
    SIM_TRY(sim_recv(s->rx, &s->v));
    (*s->steps)++;
    SIM_END(rc);
}

/* A sub-coroutine that calls another: the nesting of a helper inside a helper. */
typedef struct outer_sub {
    sim_co co;
    sub inner;
} outer_sub;

static int outer_sub_poll(void *state, sim_world *w)
{
    outer_sub *o = state;
    SIM_BEGIN(w, &o->co);
    SIM_TRY(sim_call(&o->inner, sub_poll));
    SIM_END(SIM_OK);
}

typedef struct caller {
    sim_co co;
    outer_sub o;
    int *rc_out;
    uint64_t *at_out;
    uint32_t *v_out;
    bool reached_end;
} caller;

static int caller_poll(void *state, sim_world *w)
{
    caller *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_call(&c->o, outer_sub_poll));
    *c->rc_out = rc;
    *c->at_out = sim_now(w);
    *c->v_out = c->o.inner.v;
    SIM_TRY(sim_call(&c->o, outer_sub_poll)); /* again, from the start: fails the same way */
    c->reached_end = true;
    *c->rc_out = 99;
    SIM_END(SIM_OK);
}

/* Goal: a coroutine awaits a sub-coroutine (which awaits another) in one line; SIM_TRY returns
 * the first error from the coroutine, through every level, and the lines after it never run;
 * a sub-coroutine called again starts from its beginning.
 * Method: caller -> outer -> inner (sleep 2ms, recv). With a message queued: the call
 * returns SIM_OK at 2ms with the value 5 and both steps done; the second call's recv finds
 * the channel closed (SIM_ECLOSED at 4ms: it slept again), so SIM_TRY returns SIM_ECLOSED as
 * the task's result and the caller's end is never reached. */
Test(fut, call_and_try_through_sub_coroutines)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sim_chan_desc d = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t)};
    sim_tx tx;
    sim_rx rx;
    cr_assert(eq(int, sim_chan_new(w, &d, &tx, &rx), SIM_OK));
    cr_assert(eq(int, sim_try_send(w, &tx, &(uint32_t){5}), SIM_OK));
    sim_tx_drop(w, &tx);
    int rc = SIM_PENDING;
    uint64_t at = 0;
    uint32_t v = 0, steps = 0;
    caller c = {.o = {.inner = {.nap_ns = 2 * SIM_MS, .rx = &rx, .steps = &steps}},
                .rc_out = &rc, .at_out = &at, .v_out = &v};
    sim_join j = test_spawn(w, "caller", NO_NODE, caller_poll, NULL, &c, sizeof c);
    cr_assert(eq(int, join_rc(w, &j), SIM_ECLOSED));
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(eq(u64, at, 2 * SIM_MS));
    cr_assert(eq(u32, v, 5));
    cr_assert(eq(u32, steps, 3)); /* 2 the first time, 1 (the sleep) the second */
    cr_assert(eq(u64, sim_now(w), 4 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_rx_drop(w, &rx);
    sim_world_free(w);
}

/* Selects a sub-coroutine (sleeping 1s, then receiving) against a 1ms sleep, looks at the
 * sub-coroutine after it lost, then calls it again and lets it finish. */
typedef struct racer {
    sim_co co;
    sub s;
    int which;
    uint32_t *armed_after;
    uint32_t *line_after;
    bool *cur_after;
    int *second_rc;
} racer;

static int racer_poll(void *state, sim_world *w)
{
    racer *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    SIM_AWAIT(rc, sim_select(w, &r->which, sim_call(&r->s, sub_poll), sim_sleep(w, 1 * SIM_MS)));
    cr_assert(eq(int, r->which, 1));
    *r->armed_after = test_timers_armed(w);
    *r->line_after = r->s.co.line;
    *r->cur_after = r->s.co.cur != NULL;
    r->s.nap_ns = 1 * SIM_MS;
    SIM_AWAIT(rc, sim_call(&r->s, sub_poll));
    *r->second_rc = rc;
    SIM_END(SIM_OK);
}

/* Goal: a sub-coroutine cancelled by a select (it lost) releases what it awaited: its timer
 * is disarmed and the sub-coroutine is reset, so it can be called again from its start.
 * Method: select(call(sub sleeping 1s), sleep 1ms): the sleep wins at 1ms; right after, no
 * timer is armed and the sub's coroutine awaits nothing and is back at line 0; called again
 * with a 1ms nap, it sleeps from its beginning and receives (SIM_ECLOSED: no sender) at
 * 2ms. The run ends at 2ms, not 1s. */
Test(fut, call_cancelled_by_select_releases_its_timer)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    sim_chan_desc d = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t)};
    sim_tx tx;
    sim_rx rx;
    cr_assert(eq(int, sim_chan_new(w, &d, &tx, &rx), SIM_OK));
    sim_tx_drop(w, &tx);
    uint32_t armed = 99, line = 99, steps = 0;
    bool cur = true;
    int second = SIM_PENDING;
    racer r = {.s = {.nap_ns = 1 * SIM_S, .rx = &rx, .steps = &steps}, .armed_after = &armed,
               .line_after = &line, .cur_after = &cur, .second_rc = &second};
    sim_join j = test_spawn(w, "racer", NO_NODE, racer_poll, NULL, &r, sizeof r);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(u32, armed, 0));
    cr_assert(eq(u32, line, 0));
    cr_assert(not(cur));
    cr_assert(eq(int, second, SIM_ECLOSED));
    cr_assert(eq(u32, steps, 1));
    cr_assert(eq(u64, sim_now(w), 2 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_rx_drop(w, &rx);
    sim_world_free(w);
}

/* Goal: a task aborted while a sub-coroutine (two levels down) awaits a timer releases it.
 * Method: caller -> outer -> inner sleeping 1s is aborted at 3ms: no timer armed afterwards,
 * the run ends at 3ms with no violation. */
Test(fut, call_dropped_with_its_task)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    sim_chan_desc d = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t)};
    sim_tx tx;
    sim_rx rx;
    cr_assert(eq(int, sim_chan_new(w, &d, &tx, &rx), SIM_OK));
    int rc = SIM_PENDING;
    uint64_t at = 0;
    uint32_t v = 0, steps = 0;
    caller c = {.o = {.inner = {.nap_ns = 1 * SIM_S, .rx = &rx, .steps = &steps}},
                .rc_out = &rc, .at_out = &at, .v_out = &v};
    sim_join j = test_spawn(w, "caller", NO_NODE, caller_poll, NULL, &c, sizeof c);
    cr_assert(eq(int, sim_world_run_until(w, 3 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 1));
    sim_join_abort(w, &j);
    cr_assert(eq(int, join_rc(w, &j), SIM_ECANCELED));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    test_run_ok(w);
    cr_assert(eq(u64, sim_now(w), 3 * SIM_MS));
    cr_assert(eq(u32, steps, 0));
    cr_assert(eq(int, rc, SIM_PENDING));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_world_free(w);
}

/* ---- misuse: polling what finished --------------------------------------------------------- */

/* Goal: a future polled again after it completed, or after it was dropped, is misuse
 * (SIM_EMISUSE and a violation naming it), never a second completion.
 * Method: outside a task, a sleep until 0 polls SIM_OK, then SIM_EMISUSE ("a sleep future
 * polled after it completed"); another is dropped, then polled: SIM_EMISUSE ("after it was
 * dropped"); a drop after completion is a no-op. */
Test(fut, polled_after_completion_is_misuse)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    sim_sleep_op a = sim_sleep_until(0);
    cr_assert(eq(int, sim_fut_poll(w, &a.fut), SIM_OK));
    cr_assert(eq(int, sim_fut_poll(w, &a.fut), SIM_EMISUSE));
    cr_assert(ne(ptr, (void *)test_violation_find(w, SIM_VIOLATION_MISUSE,
                                                  "a sleep future polled after it completed"),
                 NULL));
    sim_fut_drop(w, &a.fut);
    sim_sleep_op b = sim_sleep(w, SIM_S);
    sim_fut_drop(w, &b.fut);
    cr_assert(eq(int, sim_fut_poll(w, &b.fut), SIM_EMISUSE));
    cr_assert(ne(ptr, (void *)test_violation_find(w, SIM_VIOLATION_MISUSE,
                                                  "after it was dropped"), NULL));
    cr_assert(eq(u32, sim_world_violation_count(w), 2));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    sim_world_free(w);
}

typedef struct once {
    sim_co co;
} once;

static int once_poll(void *state, sim_world *w)
{
    once *o = state;
    SIM_BEGIN(w, &o->co);
    SIM_END(SIM_OK);
}

/* Polls a finished coroutine by hand. */
typedef struct repoller {
    sim_co co;
    once o;
    int *rcs;            /* [2] */
} repoller;

static int repoller_poll(void *state, sim_world *w)
{
    repoller *r = state;
    r->rcs[0] = once_poll(&r->o, w);
    r->rcs[1] = once_poll(&r->o, w);
    return SIM_OK;
}

/* Goal: a coroutine polled after it finished is misuse, reported with its file and line.
 * Method: a task polls a coroutine by hand twice: SIM_OK, then SIM_EMISUSE with a violation
 * "polled after it finished". */
Test(fut, coroutine_polled_after_done_is_misuse)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    int rcs[2] = {99, 99};
    repoller r = {.rcs = rcs};
    sim_join j = test_spawn(w, "repoller", NO_NODE, repoller_poll, NULL, &r, sizeof r);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, rcs[0], SIM_OK));
    cr_assert(eq(int, rcs[1], SIM_EMISUSE));
    const sim_violation *v = test_violation_find(w, SIM_VIOLATION_MISUSE, "test_fut.c");
    cr_assert(ne(ptr, (void *)v, NULL));
    cr_assert(ne(ptr, strstr(v->message, "polled after it finished"), NULL), "%s", v->message);
    sim_world_free(w);
}

/* ---- every awaitable dropped without a poll ------------------------------------------------ */

typedef struct objects {
    sim_tx tx;
    sim_rx rx;
    sim_token tok;
    sim_mutex m;
    sim_sem s;
    sim_notify n;
    sim_task_set set;
    sim_join j;
    sim_interval iv;
    once sub;
    uint32_t v;
    int which;
    int results[2];
} objects;

/* Makes one of every awaitable of the executor and drops it unpolled; returns how many. */
static uint32_t drop_every_kind(sim_world *w, objects *o)
{
    sim_interval_init(w, &o->iv, SIM_MS);
    sim_sleep_op a = sim_sleep(w, SIM_S);
    sim_sleep_op b = sim_sleep_until(SIM_S);
    sim_tick_op c = sim_tick(&o->iv);
    sim_timeout_op d = sim_timeout(w, SIM_S, sim_recv(&o->rx, &o->v));
    sim_send_op e = sim_send(&o->tx, &o->v);
    sim_recv_op f = sim_recv(&o->rx, &o->v);
    sim_join_op g = sim_join_wait(&o->j);
    sim_cancelled_op h = sim_cancelled(&o->tok);
    sim_lock_op i = sim_lock(&o->m);
    sim_acquire_op k = sim_acquire(&o->s, 1);
    sim_notified_op l = sim_notified(&o->n);
    sim_task_set_op m = sim_task_set_next(&o->set, NULL, NULL);
    sim_select_op n = sim_select(w, &o->which, sim_sleep(w, 1), sim_recv(&o->rx, &o->v));
    sim_join_all_op p = sim_join_all(w, o->results, sim_sleep(w, 1), sim_lock(&o->m));
    sim_call_op q = sim_call(&o->sub, once_poll);
    sim_yield_op r = sim_yield();
    sim_fut *all[] = {&a.fut, &b.fut, &c.fut, &d.fut, &e.fut, &f.fut, &g.fut, &h.fut,
                      &i.fut, &k.fut, &l.fut, &m.fut, &n.fut, &p.fut, &q.fut, &r.fut};
    uint32_t count = (uint32_t)(sizeof all / sizeof all[0]);
    for (uint32_t z = 0; z < count; z++) {
        sim_fut_drop(w, all[z]);
        sim_fut_drop(w, all[z]); /* idempotent */
    }
    return count;
}

static void objects_make(sim_world *w, objects *o)
{
    sim_chan_desc d = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t), .capacity = 1};
    cr_assert(eq(int, sim_chan_new(w, &d, &o->tx, &o->rx), SIM_OK));
    cr_assert(eq(int, sim_token_new(w, NULL, &o->tok), SIM_OK));
    cr_assert(eq(int, sim_mutex_new(w, "m", &o->m), SIM_OK));
    cr_assert(eq(int, sim_sem_new(w, "s", 1, &o->s), SIM_OK));
    cr_assert(eq(int, sim_notify_new(w, "n", &o->n), SIM_OK));
    cr_assert(eq(int, sim_task_set_new(w, &o->set), SIM_OK));
    once t = {0};
    o->j = test_spawn(w, "idle", NO_NODE, once_poll, NULL, &t, sizeof t);
}

typedef struct dropper {
    sim_co co;
    objects *o;
    uint32_t *count;
} dropper;

static int dropper_poll(void *state, sim_world *w)
{
    dropper *d = state;
    *d->count = drop_every_kind(w, d->o);
    return SIM_OK;
}

/* Goal: every awaitable's drop on a future that was never polled is harmless: nothing armed,
 * nothing released that it did not own, no violation, whether dropped inside a task or
 * outside; the handles it named still work afterwards.
 * Method: make one of each of the 16 awaitables (nested ones in select, join_all and timeout
 * too), drop each twice without polling, outside a task and then inside one; then the channel
 * still carries a message, the mutex and semaphore are free, the token uncancelled, and the
 * join handle joins its task (SIM_OK). */
Test(fut, drop_of_a_never_polled_future_is_harmless)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    objects o = {0};
    objects_make(w, &o);
    uint32_t outside = drop_every_kind(w, &o);
    uint32_t inside = 0;
    dropper d = {.o = &o, .count = &inside};
    sim_join jd = test_spawn(w, "dropper", NO_NODE, dropper_poll, NULL, &d, sizeof d);
    cr_assert(eq(int, join_rc(w, &jd), SIM_OK));
    cr_assert(eq(u32, outside, 16));
    cr_assert(eq(u32, inside, 16));
    cr_assert(eq(u32, sim_world_violation_count(w), 0), "%s",
              sim_world_violation_count(w) ? sim_world_violation(w, 0)->message : "");
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(int, sim_try_send(w, &o.tx, &(uint32_t){3}), SIM_OK));
    cr_assert(eq(int, sim_try_recv(w, &o.rx, &o.v), SIM_OK));
    cr_assert(eq(u32, o.v, 3));
    cr_assert(eq(u32, sim_mutex_holder(w, &o.m).v, 0));
    cr_assert(eq(u32, sim_sem_available(w, &o.s), 1));
    cr_assert(not(sim_token_is_cancelled(w, &o.tok)));
    cr_assert(eq(int, join_rc(w, &o.j), SIM_OK));
    sim_tx_drop(w, &o.tx);
    sim_rx_drop(w, &o.rx);
    sim_token_drop(w, &o.tok);
    sim_mutex_drop(w, &o.m);
    sim_sem_drop(w, &o.s);
    sim_notify_drop(w, &o.n);
    sim_task_set_drop(w, &o.set);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- SIM_AWAIT_FUT, yield ------------------------------------------------------------------ */

typedef struct drop_count {
    uint32_t drops;
} drop_count;

/* Never completes; counts its drops. */
typedef struct forever_op {
    sim_fut fut;
    drop_count *rec;
} forever_op;

static int forever_poll(sim_fut *f, sim_world *w)
{
    (void)f;
    (void)w;
    return SIM_PENDING;
}

static void forever_drop(sim_fut *f, sim_world *w)
{
    (void)w;
    ((forever_op *)f)->rec->drops++;
}

static const sim_fut_vt forever_vt = {.name = "forever", .poll = forever_poll,
                                      .drop = forever_drop};

/* Awaits a future that lives in its state block. */
typedef struct holder {
    sim_co co;
    forever_op f;
} holder;

static int holder_poll(void *state, sim_world *w)
{
    holder *h = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &h->co);
    SIM_AWAIT_FUT(rc, &h->f.fut);
    SIM_END(rc);
}

/* Goal: a future awaited in place (SIM_AWAIT_FUT) is dropped once when its task ends, with no
 * drop function, and its hang-report line uses its vtable's name.
 * Method: a task awaits a never-ready user future kept in its state: the run deadlocks, the
 * report names "forever", and freeing the world (crash-mode end) drops it exactly once. */
Test(fut, await_fut_in_state_is_dropped_with_its_task)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    drop_count rec = {0};
    holder h = {.f = {.fut = SIM_FUT_INIT(&forever_vt), .rec = &rec}};
    test_spawn(w, "holder", NO_NODE, holder_poll, NULL, &h, sizeof h);
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    cr_assert(ne(ptr, (void *)strstr(sim_world_report(w), "holder"), NULL), "%s",
              sim_world_report(w));
    cr_assert(eq(u32, rec.drops, 0));
    sim_world_free(w);
    cr_assert(eq(u32, rec.drops, 1));
}

typedef struct yielder {
    sim_co co;
    uint32_t who;
    uint32_t *log;
    uint32_t *n;
} yielder;

static int yielder_poll(void *state, sim_world *w)
{
    yielder *y = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &y->co);
    y->log[(*y->n)++] = y->who;
    SIM_AWAIT(rc, sim_yield());
    y->log[(*y->n)++] = y->who + 10;
    SIM_END(rc);
}

/* Goal: sim_yield lets every other runnable task go first, once, without time passing.
 * Method: FIFO strategy, tasks 1 and 2 each log, yield, log: 1, 2, 11, 12, all at time 0. */
Test(fut, yield_lets_the_others_go_first)
{
    sim_world *w = test_world(8, SIM_SCHED_FIFO);
    uint32_t log[4] = {0}, n = 0;
    for (uint32_t i = 1; i <= 2; i++) {
        yielder y = {.who = i, .log = log, .n = &n};
        test_spawn(w, "yielder", NO_NODE, yielder_poll, NULL, &y, sizeof y);
    }
    test_run_ok(w);
    const uint32_t want[4] = {1, 2, 11, 12};
    cr_assert(eq(u32, n, 4));
    for (int i = 0; i < 4; i++) cr_assert(eq(u32, log[i], want[i]), "entry %d", i);
    cr_assert(eq(u64, sim_now(w), 0));
    sim_world_free(w);
}

/* ---- deadlines in the past (issue 16) ------------------------------------------------------ */

typedef struct late {
    sim_co co;
    uint32_t polls;
    uint32_t *polls_out;
    uint64_t *left;      /* [3] */
    uint64_t *deadline;  /* sim_sleep of the longest duration */
    uint32_t *armed;
} late;

static int late_poll(void *state, sim_world *w)
{
    late *l = state;
    int rc = SIM_OK;
    l->polls++;
    SIM_BEGIN(w, &l->co);
    SIM_AWAIT(rc, sim_sleep_until(10 * SIM_MS));
    *l->polls_out = l->polls;
    /* A deadline computed before a pause, now in the past: ready at once, in this poll. */
    SIM_AWAIT(rc, sim_sleep_until(4 * SIM_MS));
    SIM_AWAIT(rc, sim_sleep_until(10 * SIM_MS));
    *l->armed = test_timers_armed(w);
    *l->polls_out = l->polls;
    l->left[0] = sim_time_left(w, 4 * SIM_MS);
    l->left[1] = sim_time_left(w, 15 * SIM_MS);
    l->left[2] = sim_time_left(w, UINT64_MAX);
    *l->deadline = sim_sleep(w, UINT64_MAX).deadline_ns;
    SIM_END(rc);
}

/* Goal: (issue 16 defect) a deadline in the past is ready at once and never wraps into a long
 * sleep; sim_time_left saturates at 0; a sleep of the longest duration saturates at "never".
 * Method: at 10ms, sleep_until(4ms) and sleep_until(10ms) complete in the same poll (two
 * polls in all: the first and the one at 10ms), arming nothing; time_left is 0 for 4ms, 5ms
 * for 15ms, UINT64_MAX - 10ms for "never"; sim_sleep(UINT64_MAX)'s deadline is UINT64_MAX;
 * the run ends at 10ms. */
Test(fut, deadline_in_the_past_is_ready_at_once)
{
    sim_world *w = test_world(9, SIM_SCHED_RANDOM);
    uint32_t polls = 0, armed = 99;
    uint64_t left[3] = {1, 1, 1}, deadline = 0;
    late l = {.polls_out = &polls, .left = left, .deadline = &deadline, .armed = &armed};
    test_spawn(w, "late", NO_NODE, late_poll, NULL, &l, sizeof l);
    test_run_ok(w);
    cr_assert(eq(u32, polls, 2));
    cr_assert(eq(u32, armed, 0));
    cr_assert(eq(u64, left[0], 0));
    cr_assert(eq(u64, left[1], 5 * SIM_MS));
    cr_assert(eq(u64, left[2], UINT64_MAX - 10 * SIM_MS));
    cr_assert(eq(u64, deadline, UINT64_MAX));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u64, sim_time_left(w, 0), 0));
    sim_world_free(w);
}

/* ---- a blocking job charging the longest duration (issue 16) ------------------------------- */

typedef struct charge_job {
    uint64_t ns;
    uint64_t *now_after;
} charge_job;

static int charge_run(void *state, sim_world *w)
{
    charge_job *j = state;
    cr_assert(eq(int, sim_job_charge(w, j->ns), SIM_OK));
    cr_assert(eq(int, sim_job_charge(w, j->ns), SIM_OK)); /* twice: still saturated */
    *j->now_after = sim_now(w);
    return SIM_OK;
}

typedef struct job_waiter {
    sim_co co;
    sim_join job;
    int *rc_out;
    uint64_t *at_out;
} job_waiter;

static int job_waiter_poll(void *state, sim_world *w)
{
    job_waiter *j = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &j->co);
    SIM_AWAIT(rc, sim_timeout(w, 1 * SIM_S, sim_join_wait(&j->job)));
    *j->rc_out = rc;
    *j->at_out = sim_now(w);
    SIM_END(SIM_OK);
}

/* Goal: (issue 16 defect) a blocking job that charges the longest duration does not finish at
 * once: its end saturates at the end of time instead of wrapping.
 * Method: on a node with a 1ns pool latency, a job charges UINT64_MAX twice (its clock reads
 * UINT64_MAX, not a wrapped value); a task joins it under a 1s timeout: SIM_ETIMEDOUT at 1s.
 * A job charging SIM_DURATION_MAX finishes at exactly SIM_DURATION_MAX * 2 + 1ns. */
Test(fut, job_charging_the_longest_duration_does_not_finish_at_once)
{
    for (int longest = 1; longest >= 0; longest--) {
        sim_world *w = test_world(10, SIM_SCHED_RANDOM);
        sim_node_desc nd = {.name = "n1", .pool_latency = {1, 1}};
        sim_node_id n1;
        cr_assert(eq(int, sim_node_add(w, &nd, &n1), SIM_OK));
        uint64_t now_after = 0, at = 0;
        int rc = SIM_PENDING;
        charge_job cj = {.ns = longest ? UINT64_MAX : SIM_DURATION_MAX, .now_after = &now_after};
        sim_job_desc jd = {.name = "charge", .node = n1, .run = charge_run, .state = &cj,
                           .state_size = sizeof cj};
        job_waiter jw = {.rc_out = &rc, .at_out = &at};
        cr_assert(eq(int, sim_spawn_blocking(w, &jd, &jw.job), SIM_OK));
        if (longest) {
            test_spawn_moves(w, "waiter", NO_NODE, job_waiter_poll, &jw, sizeof jw,
                             SIM_MOVES(&jw.job));
            cr_assert(eq(int, sim_world_run_until(w, 2 * SIM_S), SIM_OK));
            cr_assert(eq(u64, now_after, UINT64_MAX));
            cr_assert(eq(int, rc, SIM_ETIMEDOUT));
            cr_assert(eq(u64, at, 1 * SIM_S));
        } else {
            cr_assert(eq(int, join_rc(w, &jw.job), SIM_OK));
            cr_assert(eq(u64, now_after, 2 * SIM_DURATION_MAX));
            cr_assert(eq(u64, sim_now(w), 2 * SIM_DURATION_MAX + 1));
        }
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_world_free(w);
    }
}
