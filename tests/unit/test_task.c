/*
 * test_task.c: spawning, joining, outputs, abort, detach and yield, through sim.h.
 */
#include "../helpers.h"

typedef struct adder {
    sim_co co;
    int64_t a;
    int64_t b;
    sim_yield y;
} adder;

static int adder_poll(void *state, sim_world *w)
{
    adder *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    SIM_AWAIT(&s->co, rc, sim_yield_poll(w, &s->y));
    sim_task_set_output(w, s->a + s->b);
    SIM_END(&s->co, rc);
}

typedef struct parent {
    sim_co co;
    sim_join child;
    int child_rc;
    int64_t child_out;
} parent;

static int parent_poll(void *state, sim_world *w)
{
    parent *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(&p->co);
    {
        adder a = {.a = 40, .b = 2};
        sim_task_desc d = {.name = "adder", .poll = adder_poll, .state = &a,
                           .state_size = sizeof a};
        rc = sim_spawn(w, &d, &p->child);
        if (rc != SIM_OK) SIM_RETURN(&p->co, rc);
    }
    SIM_AWAIT(&p->co, rc, sim_join_poll(w, &p->child));
    p->child_rc = rc;
    p->child_out = p->child.output;
    sim_task_set_output(w, p->child_out + 1);
    SIM_END(&p->co, SIM_OK);
}

/* Goal: a task spawned from a task runs, and its result and output reach the joiner.
 * Method: a parent spawns an adder, awaits it, and passes output + 1 to the test. */
Test(task, spawn_join_output)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    parent p = {0};
    sim_join j = test_spawn(w, "parent", (sim_node_id){0}, parent_poll, NULL, &p, sizeof p);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, st.tasks_live, 1)); /* the parent, finished, awaiting its handle */
    sim_world_free(w);
    (void)j;
}

/* ---- abort, detach, misuse ------------------------------------------------------------------ */

typedef struct counted {
    sim_co co;
    uint32_t *polls;
    uint32_t *drops;
    sim_drop_mode *mode;
    sim_yield y;
} counted;

static int counted_poll(void *state, sim_world *w)
{
    counted *c = state;
    int rc = SIM_OK;
    (*c->polls)++;
    SIM_BEGIN(&c->co);
    for (;;) SIM_AWAIT(&c->co, rc, sim_yield_poll(w, &c->y));
    SIM_END(&c->co, rc);
}

static void counted_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    counted *c = state;
    (void)w;
    (*c->drops)++;
    *c->mode = mode;
}

typedef struct aborter {
    sim_co co;
    sim_join victim;
    uint32_t *victim_polls_at_abort;
    uint32_t *victim_polls;
    int result;
} aborter;

static int aborter_poll(void *state, sim_world *w)
{
    aborter *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(&a->co);
    sim_join_abort(w, &a->victim);
    *a->victim_polls_at_abort = *a->victim_polls;
    sim_join_abort(w, &a->victim); /* twice is the same as once */
    SIM_AWAIT(&a->co, rc, sim_join_poll(w, &a->victim));
    a->result = rc;
    SIM_END(&a->co, SIM_OK);
}

/* Goal: abort takes effect at the next scheduling point: the victim is never polled again, its
 * drop runs exactly once in abort mode, and its joiner gets SIM_ECANCELED. Method: a task that
 * yields forever is aborted (twice) by another task that then awaits it; the run then ends
 * because no work is left. */
Test(task, abort_at_next_scheduling_point)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    uint32_t polls = 0, drops = 0, polls_at_abort = 0;
    sim_drop_mode mode = SIM_DROP_DONE;
    counted c = {.polls = &polls, .drops = &drops, .mode = &mode};
    aborter a = {.victim_polls_at_abort = &polls_at_abort, .victim_polls = &polls, .result = 1};
    sim_task_desc vd = {.name = "victim", .poll = counted_poll, .drop = counted_drop,
                        .state = &c, .state_size = sizeof c};
    cr_assert(eq(int, sim_spawn(w, &vd, &a.victim), SIM_OK));
    sim_join aj = test_spawn(w, "aborter", (sim_node_id){0}, aborter_poll, NULL, &a, sizeof a);
    (void)aj;
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, polls, polls_at_abort));
    cr_assert(eq(u32, drops, 1));
    cr_assert(eq(int, (int)mode, (int)SIM_DROP_ABORT));
    sim_world_free(w);
}

typedef struct join_result {
    sim_co co;
    sim_join target;
    int *rc_out;
} join_result;

static int join_result_poll(void *state, sim_world *w)
{
    join_result *j = state;
    int rc = SIM_OK;
    SIM_BEGIN(&j->co);
    SIM_AWAIT(&j->co, rc, sim_join_poll(w, &j->target));
    *j->rc_out = rc;
    SIM_END(&j->co, SIM_OK);
}

/* Goal: an abort requested before the first poll means the task is never polled, its drop runs
 * once, and a joiner task sees SIM_ECANCELED; aborting a finished task changes nothing and its
 * handle still yields the result. Method: abort from outside before running; then abort an
 * adder after it finished and join it from outside. */
Test(task, abort_before_first_poll_and_after_finish)
{
    sim_world *w = test_world(2, SIM_SCHED_FIFO);
    uint32_t polls = 0, drops = 0;
    sim_drop_mode mode = SIM_DROP_DONE;
    counted c = {.polls = &polls, .drops = &drops, .mode = &mode};
    int watched = 1;
    join_result jr = {.rc_out = &watched};
    jr.target = test_spawn(w, "victim", (sim_node_id){0}, counted_poll, counted_drop, &c,
                           sizeof c);
    sim_join_abort(w, &jr.target);
    test_spawn(w, "watcher", (sim_node_id){0}, join_result_poll, NULL, &jr, sizeof jr);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, polls, 0));
    cr_assert(eq(u32, drops, 1));
    cr_assert(eq(int, watched, SIM_ECANCELED));

    adder a = {.a = 1, .b = 2};
    sim_join j = test_spawn(w, "adder", (sim_node_id){0}, adder_poll, NULL, &a, sizeof a);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    sim_join_abort(w, &j);
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_OK));
    cr_assert(eq(i64, j.output, 3));
    cr_assert(eq(u32, j.task.v, 3), "a consumed handle keeps its task id");
    sim_world_free(w);
}

/* Goal: a detached task runs to completion unobserved and its slot is freed; dropping a handle
 * detaches. Method: detach a yielding adder; after the run no task remains. */
Test(task, detach)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    adder a = {.a = 5, .b = 6};
    sim_join j = test_spawn(w, "adder", (sim_node_id){0}, adder_poll, NULL, &a, sizeof a);
    sim_join_detach(w, &j);
    cr_assert(eq(u32, j.task.v, 0));
    sim_join_detach(w, &j); /* an empty handle: nothing happens */
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, st.tasks_live, 0));
    cr_assert(eq(u64, st.steps, 2));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

typedef struct self_joiner {
    sim_join *self;  /* points at the task's own handle, which the test keeps */
    int *rc_out;
} self_joiner;

static int self_joiner_poll(void *state, sim_world *w)
{
    self_joiner *s = state;
    sim_join copy = *s->self;
    *s->rc_out = sim_join_poll(w, &copy);
    return SIM_OK;
}

/* Goal: join misuse is an error and a violation, never a hang or a crash: an empty handle,
 * a consumed handle, a task awaiting itself, a join from outside any task. Method: each. */
Test(task, join_misuse)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    sim_join empty = {0};
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&empty)), SIM_EMISUSE));
    adder a = {.a = 1, .b = 1};
    sim_join j = test_spawn(w, "adder", (sim_node_id){0}, adder_poll, NULL, &a, sizeof a);
    cr_assert(eq(int, sim_join_poll(w, &j), SIM_EMISUSE), "outside a task");
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&j)), SIM_EMISUSE), "consumed");
    int self_rc = 1;
    sim_join me;
    self_joiner sj = {.self = &me, .rc_out = &self_rc};
    me = test_spawn(w, "narcissus", (sim_node_id){0}, self_joiner_poll, NULL, &sj, sizeof sj);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, self_rc, SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 4));
    sim_world_free(w);
}

static int bad_result_poll(void *state, sim_world *w)
{
    (void)state;
    (void)w;
    return 7; /* neither SIM_PENDING nor a result code */
}

typedef struct twice {
    sim_co co;
} twice;

static int done_poll(void *state, sim_world *w)
{
    twice *t = state;
    (void)w;
    SIM_BEGIN(&t->co);
    SIM_END(&t->co, SIM_OK);
}

static int poll_done_twice(void *state, sim_world *w)
{
    twice inner = {0};
    (void)state;
    cr_assert(eq(int, done_poll(&inner, w), SIM_OK));
    return done_poll(&inner, w);
}

/* Goal: a poll function that breaks the protocol is caught: a positive result other than
 * SIM_PENDING, and a coroutine polled again after it finished. Method: both; each task ends
 * with SIM_EMISUSE and a misuse violation. */
Test(task, protocol_violations)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    sim_join a = test_spawn(w, "bad", (sim_node_id){0}, bad_result_poll, NULL, NULL, 0);
    sim_join b = test_spawn(w, "twice", (sim_node_id){0}, poll_done_twice, NULL, NULL, 0);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&a)), SIM_EMISUSE));
    cr_assert(eq(int, sim_block_on(w, sim_join_future(&b)), SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 2));
    const sim_violation *v = sim_world_violation(w, 0);
    cr_assert(ne(ptr, strstr(v->message, "returned 7"), NULL), "%s", v->message);
    v = sim_world_violation(w, 1);
    cr_assert(ne(ptr, strstr(v->message, "polled after it finished"), NULL), "%s", v->message);
    sim_task_set_output(w, 1); /* outside a task: a violation, not a crash */
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 3));
    sim_world_free(w);
}

/* Goal: spawn checks its arguments and limits. Method: no poll, state too large, unknown
 * node, max_tasks reached (finished-but-unjoined tasks count until their handle goes). */
Test(task, spawn_errors_and_limits)
{
    sim_world_desc d = {.seed = 1, .max_tasks = 2};
    sim_world *w = test_world_desc(&d);
    sim_join j = {.task = {99}};
    sim_task_desc bad = {.name = "x"};
    cr_assert(eq(int, sim_spawn(w, &bad, &j), SIM_EINVAL));
    cr_assert(eq(u32, j.task.v, 0));
    sim_task_desc big = {.poll = done_poll, .state_size = SIM_STATE_MAX + 1};
    cr_assert(eq(int, sim_spawn(w, &big, NULL), SIM_EINVAL));
    sim_task_desc lost = {.poll = done_poll, .node = {7}};
    cr_assert(eq(int, sim_spawn(w, &lost, NULL), SIM_ENODE));
    sim_task_desc ok = {.poll = done_poll, .state_size = sizeof(twice)};
    sim_join k1, k2, k3;
    cr_assert(eq(int, sim_spawn(w, &ok, &k1), SIM_OK));
    cr_assert(eq(int, sim_spawn(w, &ok, &k2), SIM_OK));
    cr_assert(eq(int, sim_spawn(w, &ok, &k3), SIM_ELIMIT));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, sim_spawn(w, &ok, &k3), SIM_ELIMIT), "finished but not joined");
    sim_join_detach(w, &k1);
    cr_assert(eq(int, sim_spawn(w, &ok, &k3), SIM_OK));
    sim_world_free(w);
}

typedef struct echo_state {
    sim_co co;
    uint8_t bytes[64];
    uint64_t *sum_out;
} echo_state;

static int echo_poll(void *state, sim_world *w)
{
    echo_state *e = state;
    (void)w;
    uint64_t sum = 0;
    for (int i = 0; i < 64; i++) sum += e->bytes[i];
    *e->sum_out = sum;
    return SIM_OK;
}

/* Goal: spawn copies the initial state (later changes to the caller's copy are not seen) and a
 * NULL state is zero-filled; names are kept for reports. Method: spawn, then scribble on the
 * original; a second task with no state reads zeros through its own pointer; sim_task_name
 * and an interned name. */
Test(task, state_is_copied_and_names)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    uint64_t sum = 0;
    echo_state e = {.sum_out = &sum};
    memset(e.bytes, 1, sizeof e.bytes);
    sim_join j = test_spawn(w, sim_world_intern(w, "echo-7"), (sim_node_id){0}, echo_poll, NULL,
                            &e, sizeof e);
    memset(e.bytes, 9, sizeof e.bytes);
    cr_assert(eq(str, (char *)sim_task_name(w, j.task), "echo-7"));
    cr_assert(eq(str, (char *)sim_task_name(w, (sim_task_id){77}), "?"));
    cr_assert(eq(ptr, (void *)sim_world_intern(w, "echo-7"), (void *)sim_task_name(w, j.task)));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u64, sum, 64));
    sim_world_free(w);
}
