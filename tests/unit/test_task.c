/*
 * test_task.c: spawning, joining, outputs, abort, detach and yield, the coroutine header a
 * task's state begins with, and the protocol a poll function keeps, through sim.h.
 */
#include "../helpers.h"
#include "../taskends.h"

typedef struct adder {
    sim_co co;
    int64_t a;
    int64_t b;
} adder;

static int adder_poll(void *state, sim_world *w)
{
    adder *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_yield());
    sim_task_set_output(w, s->a + s->b);
    SIM_END(rc);
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
    SIM_BEGIN(w, &p->co);
    {
        adder a = {.a = 40, .b = 2};
        sim_task_desc d = {.name = "adder", .poll = adder_poll, .state = &a,
                           .state_size = sizeof a};
        rc = sim_spawn(w, &d, &p->child);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    SIM_AWAIT(rc, sim_join_wait(&p->child));
    p->child_rc = rc;
    p->child_out = p->child.output;
    sim_task_set_output(w, p->child_out + 1);
    SIM_END(SIM_OK);
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
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(i64, j.output, 43));
    cr_assert(eq(u32, test_stats(w).tasks_live, 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- abort, detach, misuse ------------------------------------------------------------------ */

typedef struct counted {
    sim_co co;
    uint32_t *polls;
    uint32_t *drops;
} counted;

static int counted_poll(void *state, sim_world *w)
{
    counted *c = state;
    int rc = SIM_OK;
    (*c->polls)++;
    SIM_BEGIN(w, &c->co);
    for (;;) {
        SIM_AWAIT(rc, sim_yield());
    }
    SIM_END(rc);
}

static void counted_drop(void *state, sim_world *w)
{
    counted *c = state;
    (void)w;
    (*c->drops)++;
}

typedef struct aborter {
    sim_co co;
    sim_join victim;
    uint32_t *victim_polls_at_abort;
    uint32_t *victim_polls;
    int *result;
} aborter;

static int aborter_poll(void *state, sim_world *w)
{
    aborter *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    sim_join_abort(w, &a->victim);
    *a->victim_polls_at_abort = *a->victim_polls;
    sim_join_abort(w, &a->victim); /* twice is the same as once */
    SIM_AWAIT(rc, sim_join_wait(&a->victim));
    *a->result = rc;
    SIM_END(SIM_OK);
}

/* Goal: abort takes effect at the next scheduling point: the victim is never polled again, its
 * drop runs exactly once, and its joiner gets SIM_ECANCELED. Method: a task that yields
 * forever is aborted (twice) by another task that then awaits it; the run then ends because
 * no work is left. */
Test(task, abort_at_next_scheduling_point)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    uint32_t polls = 0, drops = 0, polls_at_abort = 0;
    int result = SIM_PENDING;
    counted c = {.polls = &polls, .drops = &drops};
    aborter a = {.victim_polls_at_abort = &polls_at_abort, .victim_polls = &polls,
                 .result = &result};
    sim_task_desc vd = {.name = "victim", .poll = counted_poll, .drop = counted_drop,
                        .state = &c, .state_size = sizeof c};
    cr_assert(eq(int, sim_spawn(w, &vd, &a.victim), SIM_OK));
    test_spawn(w, "aborter", (sim_node_id){0}, aborter_poll, NULL, &a, sizeof a);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, polls, polls_at_abort));
    cr_assert(eq(u32, drops, 1));
    cr_assert(eq(int, result, SIM_ECANCELED));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
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
    SIM_BEGIN(w, &j->co);
    SIM_AWAIT(rc, sim_join_wait(&j->target));
    *j->rc_out = rc;
    SIM_END(SIM_OK);
}

/* Goal: an abort requested before the first poll means the task is never polled, its drop runs
 * once, and a joiner task sees SIM_ECANCELED; aborting a finished task changes nothing and its
 * handle still yields the result. Method: abort from outside before running; then abort an
 * adder after it finished and join it from outside. */
Test(task, abort_before_first_poll_and_after_finish)
{
    sim_world *w = test_world(2, SIM_SCHED_FIFO);
    uint32_t polls = 0, drops = 0;
    counted c = {.polls = &polls, .drops = &drops};
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
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(i64, j.output, 3));
    cr_assert(eq(u32, j.task.v, 3), "a consumed handle keeps its task id");
    cr_assert(not(sim_handle_valid(w, &j)), "a consumed handle is empty");
    sim_world_free(w);
}

/* Goal: a detached task runs to completion unobserved and its slot is freed. Method: detach
 * a yielding adder; after the run no task remains. */
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

typedef struct spawner {
    sim_co co;
    sim_join child;  /* never joined: released (detached) when this task ends */
    int64_t *child_out;
} spawner;

typedef struct reporter {
    sim_co co;
    int64_t *out;
} reporter;

static int reporter_poll(void *state, sim_world *w)
{
    reporter *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    SIM_AWAIT(rc, sim_sleep(w, 10 * SIM_MS));
    *r->out = 7;
    SIM_END(rc);
}

static int spawner_poll(void *state, sim_world *w)
{
    spawner *s = state;
    reporter r = {.out = s->child_out};
    sim_task_desc d = {.name = "child", .poll = reporter_poll, .state = &r,
                       .state_size = sizeof r};
    return sim_spawn(w, &d, &s->child);
}

/* Goal: a join handle belongs to the task that made it, and that task's end releases it as a
 * detach: the child runs on, unobserved, and its slot is freed when it finishes (replaces the
 * old "a drop function must detach its handles"). Method: a task spawns a child that sleeps
 * 10 ms and returns at once without joining it; the child still completes, and nothing is
 * left or reported. */
Test(task, handle_released_with_its_owner_detaches)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    int64_t child_out = 0;
    spawner s = {.child_out = &child_out};
    sim_join j = test_spawn(w, "spawner", (sim_node_id){0}, spawner_poll, NULL, &s, sizeof s);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(i64, child_out, 0));
    test_run_ok(w);
    cr_assert(eq(i64, child_out, 7));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, test_stats(w).tasks_live, 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

typedef struct self_joiner {
    sim_co co;
    sim_join *self;  /* points at the task's own handle, which the test keeps */
    int *rc_out;
} self_joiner;

static int self_joiner_poll(void *state, sim_world *w)
{
    self_joiner *s = state;
    sim_join_op op = sim_join_wait(s->self);
    *s->rc_out = sim_fut_poll(w, &op.fut);
    sim_fut_drop(w, &op.fut);
    return SIM_OK;
}

/* Goal: join misuse is an error and a violation, never a hang or a crash: an empty handle,
 * a consumed handle, a task awaiting itself, a join polled from outside any task. Method:
 * each. */
Test(task, join_misuse)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    sim_join empty = {0};
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&empty)), SIM_EMISUSE));
    adder a = {.a = 1, .b = 1};
    sim_join j = test_spawn(w, "adder", (sim_node_id){0}, adder_poll, NULL, &a, sizeof a);
    sim_join_op outside = sim_join_wait(&j);
    cr_assert(eq(int, sim_fut_poll(w, &outside.fut), SIM_EMISUSE), "outside a task");
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_EMISUSE), "consumed");
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
    SIM_BEGIN(w, &t->co);
    SIM_END(SIM_OK);
}

static int poll_done_twice(void *state, sim_world *w)
{
    twice inner = {0};
    (void)state;
    cr_assert(eq(int, done_poll(&inner, w), SIM_OK));
    return done_poll(&inner, w);
}

typedef struct refuture {
    sim_co co;
    int *again_rc;
} refuture;

/* Polls a sleep of 0 to its result, then polls the finished future again. */
static int poll_future_twice(void *state, sim_world *w)
{
    refuture *r = state;
    sim_sleep_op nap = sim_sleep(w, 0);
    cr_assert(eq(int, sim_fut_poll(w, &nap.fut), SIM_OK));
    *r->again_rc = sim_fut_poll(w, &nap.fut);
    sim_fut_drop(w, &nap.fut); /* a finished future's drop does nothing */
    return SIM_OK;
}

/* Goal: a poll function that breaks the protocol is caught: a positive result other than
 * SIM_PENDING, a coroutine polled again after it finished, and a future polled again after
 * its result. Method: each; the first two tasks end with SIM_EMISUSE, the third gets
 * SIM_EMISUSE from the second poll; each records one misuse violation. */
Test(task, protocol_violations)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    sim_join a = test_spawn(w, "bad", (sim_node_id){0}, bad_result_poll, NULL, NULL,
                            sizeof(sim_co));
    sim_join b = test_spawn(w, "twice", (sim_node_id){0}, poll_done_twice, NULL, NULL,
                            sizeof(sim_co));
    int again_rc = SIM_PENDING;
    refuture r = {.again_rc = &again_rc};
    sim_join c = test_spawn(w, "refuture", (sim_node_id){0}, poll_future_twice, NULL, &r,
                            sizeof r);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&a)), SIM_EMISUSE));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&b)), SIM_EMISUSE));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&c)), SIM_OK));
    cr_assert(eq(int, again_rc, SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 3));
    const sim_violation *v = sim_world_violation(w, 0);
    cr_assert(ne(ptr, strstr(v->message, "returned 7"), NULL), "%s", v->message);
    v = sim_world_violation(w, 1);
    cr_assert(ne(ptr, strstr(v->message, "polled after it finished"), NULL), "%s", v->message);
    v = sim_world_violation(w, 2);
    cr_assert(ne(ptr, strstr(v->message, "a sleep future polled after it completed"), NULL), "%s",
              v->message);
    sim_task_set_output(w, 1); /* outside a task: a violation, not a crash */
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 4));
    sim_world_free(w);
}

/* Goal: spawn checks its arguments and limits. Method: no poll, state too large, unknown
 * node, max_tasks reached (finished-but-unjoined tasks count until their handle goes). */
Test(task, spawn_errors_and_limits)
{
    sim_world_desc d = {.seed = 1, .max_tasks = 2};
    sim_world *w = test_world_desc(&d);
    sim_join j = {.task = {99}};
    sim_task_desc bad = {.name = "x", .state_size = sizeof(twice)};
    cr_assert(eq(int, sim_spawn(w, &bad, &j), SIM_EINVAL));
    cr_assert(eq(u32, j.task.v, 0));
    sim_task_desc big = {.poll = done_poll, .state_size = SIM_STATE_MAX + 1};
    cr_assert(eq(int, sim_spawn(w, &big, NULL), SIM_EINVAL));
    sim_task_desc lost = {.poll = done_poll, .node = {7}, .state_size = sizeof(twice)};
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
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- the coroutine header a state begins with ------------------------------------------------ */

typedef struct cloner {
    sim_co co;
    int clone_rc;   /* what spawning a copy of this state, mid-await, gave */
    int *rc_out;
} cloner;

static int cloner_poll(void *state, sim_world *w)
{
    cloner *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_yield());
    {
        /* The mistake the check is for: spawning a copy of a running coroutine's state,
         * which holds a resume point (and, while awaiting, its future). */
        sim_task_desc d = {.name = "clone", .poll = cloner_poll, .state = c,
                           .state_size = sizeof *c};
        *c->rc_out = sim_spawn(w, &d, NULL);
    }
    SIM_END(rc);
}

/* Goal: spawn refuses a state that does not begin with a zeroed sim_co, since the executor
 * drops what that coroutine awaits when the task ends: a state smaller than a sim_co, a
 * resume point, an awaited future or a block size left in it are SIM_EINVAL; the handle is
 * zeroed, nothing is spawned and nothing is recorded. A NULL state of sim_co's size is
 * zero-filled, so it is accepted. Method: each bad header from outside, and a task that
 * spawns a copy of its own state after its first await. */
Test(task, spawn_refuses_state_without_fresh_co)
{
    sim_world *w = test_world(3, SIM_SCHED_FIFO);
    twice good = {0};
    twice resumed = {.co = {.line = 42}};
    twice awaiting = {.co = {.cur = (sim_fut *)(void *)&good}};
    twice sized = {.co = {.size_ = 64}};
    const twice *bad[3] = {&resumed, &awaiting, &sized};
    for (uint32_t i = 0; i < 3; i++) {
        sim_join j = {.task = {99}};
        sim_task_desc d = {.name = "bad", .poll = done_poll, .state = bad[i],
                           .state_size = sizeof(twice)};
        cr_assert(eq(int, sim_spawn(w, &d, &j), SIM_EINVAL), "header %u", i);
        cr_assert(eq(u32, j.task.v, 0), "header %u", i);
        cr_assert(not(sim_handle_valid(w, &j)), "header %u", i);
    }
    sim_task_desc small = {.name = "small", .poll = done_poll, .state = &good,
                           .state_size = sizeof(sim_co) - 1};
    cr_assert(eq(int, sim_spawn(w, &small, NULL), SIM_EINVAL));
    sim_task_desc none = {.name = "none", .poll = done_poll};
    cr_assert(eq(int, sim_spawn(w, &none, NULL), SIM_EINVAL), "no state at all");
    cr_assert(eq(u64, test_stats(w).spawns, 0));

    sim_task_desc zero = {.name = "zero", .poll = done_poll, .state_size = sizeof(sim_co)};
    sim_join zj;
    cr_assert(eq(int, sim_spawn(w, &zero, &zj), SIM_OK));
    int clone_rc = SIM_PENDING;
    cloner c = {.rc_out = &clone_rc};
    sim_join cj = test_spawn(w, "cloner", (sim_node_id){0}, cloner_poll, NULL, &c, sizeof c);
    test_run_ok(w);
    cr_assert(eq(int, clone_rc, SIM_EINVAL));
    cr_assert(eq(u64, test_stats(w).spawns, 2)); /* zero and cloner; no clone */
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&zj)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&cj)), SIM_OK));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));

    /* A task set refuses the same states. */
    sim_task_set set;
    cr_assert(eq(int, sim_task_set_new(w, &set), SIM_OK));
    sim_task_desc d = {.name = "bad", .poll = done_poll, .state = &resumed,
                       .state_size = sizeof resumed};
    cr_assert(eq(int, sim_task_set_spawn(w, &set, &d, NULL), SIM_EINVAL));
    cr_assert(eq(u32, sim_task_set_len(w, &set), 0));
    sim_task_set_drop(w, &set);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
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

/* Goal: spawn copies the initial state (later changes to the caller's copy are not seen);
 * names are kept for reports. Method: spawn, then scribble on the original; sim_task_name and
 * an interned name. */
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

/* ---- what a task owns goes with it ----------------------------------------------------------- */

typedef struct hoard_rec {
    sim_task_id member;    /* the task it spawned into its set */
    sim_task_id child;     /* the task it spawned and never joined */
    uint32_t stage;        /* 1 once it holds everything */
    uint64_t locked_at;    /* when the contender got the mutex, and the permits */
    uint64_t permits_at;
} hoard_rec;

typedef struct sleepy {
    sim_co co;
    uint64_t ns;
} sleepy;

static int sleepy_poll(void *state, sim_world *w)
{
    sleepy *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, s->ns));
    SIM_END(rc);
}

/* Takes a lock and permits, makes channels (one full, one oneshot), a token, a notify, a task
 * set with a member and a child it never joins, then either returns (wait = false) or awaits
 * a select of a blocked send, a notify, the token and a long sleep. No drop function. */
typedef struct hoarder {
    sim_co co;
    bool wait;
    sim_node_id other;     /* where the member and the child run */
    const sim_mutex *m;
    const sim_sem *sem;
    sim_tx tx;             /* bounded mpsc of capacity 1, kept full */
    sim_rx rx;
    sim_tx otx;            /* a oneshot */
    sim_rx orx;
    sim_token tok;
    sim_notify note;
    sim_task_set set;
    sim_join child;
    uint64_t msg;
    int which;
    hoard_rec *rec;
} hoarder;

static int hoarder_make(hoarder *h, sim_world *w)
{
    sim_chan_desc mpsc = {.kind = SIM_CHAN_MPSC, .msg_size = 8, .capacity = 1};
    sim_chan_desc one = {.kind = SIM_CHAN_ONESHOT, .msg_size = 8};
    int rc = sim_chan_new(w, &mpsc, &h->tx, &h->rx);
    if (rc == SIM_OK) rc = sim_try_send(w, &h->tx, &h->msg);
    if (rc == SIM_OK) rc = sim_chan_new(w, &one, &h->otx, &h->orx);
    if (rc == SIM_OK) rc = sim_token_new(w, NULL, &h->tok);
    if (rc == SIM_OK) rc = sim_notify_new(w, "bell", &h->note);
    if (rc == SIM_OK) rc = sim_task_set_new(w, &h->set);
    if (rc != SIM_OK) return rc;
    /* sim_task_set_spawn gives no id: the test learns it from the spawn event. */
    sleepy forever = {.ns = 3600 * SIM_S};
    sim_task_desc md = {.name = "member", .node = h->other, .poll = sleepy_poll,
                        .state = &forever, .state_size = sizeof forever};
    rc = sim_task_set_spawn(w, &h->set, &md, NULL);
    if (rc != SIM_OK) return rc;
    sleepy brief = {.ns = 50 * SIM_MS};
    sim_task_desc cd = {.name = "child", .node = h->other, .poll = sleepy_poll, .state = &brief,
                        .state_size = sizeof brief};
    rc = sim_spawn(w, &cd, &h->child);
    h->rec->child = h->child.task;
    return rc;
}

static int hoarder_poll(void *state, sim_world *w)
{
    hoarder *h = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &h->co);
    SIM_TRY(sim_lock(h->m));
    SIM_TRY(sim_acquire(h->sem, 2));
    rc = hoarder_make(h, w);
    if (rc != SIM_OK) SIM_RETURN(rc);
    h->rec->stage = 1;
    if (!h->wait) SIM_RETURN(SIM_OK);
    SIM_AWAIT(rc, sim_select(w, &h->which, sim_send(&h->tx, &h->msg), sim_notified(&h->note),
                             sim_cancelled(&h->tok), sim_sleep(w, 3600 * SIM_S)));
    SIM_END(rc);
}

/* Waits 5 ms, then for the mutex and for all three permits. */
typedef struct contender {
    sim_co co;
    const sim_mutex *m;
    const sim_sem *sem;
    hoard_rec *rec;
} contender;

static int contender_poll(void *state, sim_world *w)
{
    contender *c = state;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_sleep(w, 5 * SIM_MS));
    SIM_TRY(sim_lock(c->m));
    c->rec->locked_at = sim_now(w);
    SIM_TRY(sim_acquire(c->sem, 3));
    c->rec->permits_at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Notes the id of the task spawned with the name "member". */
static void member_spawn_cb(void *ud, const sim_event *ev)
{
    hoard_rec *rec = ud;
    if (ev->kind == SIM_EV_SPAWN && ev->detail != NULL && strcmp(ev->detail, "member") == 0) {
        rec->member = ev->task;
    }
}

/* Goal: a task with no drop function gives back everything it holds when it ends, however it
 * ends (it completes, is aborted, or its node crashes), with no violation of any kind: its
 * timer and wait-queue places, the mutex it holds and the permits it took (a waiting task gets
 * them at once), the channels, token, notify and task set it made (the set's member is
 * aborted, even when the end is a crash), and its child's handle (the child runs on, detached,
 * to completion). Method: a hoarder on node "home" takes all of that by 0 ms; a contender
 * waits for the mutex and the permits from 5 ms; at 10 ms the hoarder has returned, or is
 * aborted, or home crashes. */
Test(task, owner_end_releases_everything_it_holds)
{
    static const char *const how[3] = {"completion", "abort", "crash"};
    for (int mode = 0; mode < 3; mode++) {
        hoard_rec rec = {0};
        test_ends ends = {.next = member_spawn_cb, .next_ud = &rec};
        sim_world_desc d = {.seed = 9, .trace = test_ends_cb, .trace_ud = &ends};
        sim_world *w = test_world_desc(&d);
        sim_node_id home = test_node(w, "home", NULL, NULL);
        sim_node_id other = test_node(w, "other", NULL, NULL);
        sim_mutex m;
        sim_sem sem;
        cr_assert(eq(int, sim_mutex_new(w, "m", &m), SIM_OK));
        cr_assert(eq(int, sim_sem_new(w, "s", 3, &sem), SIM_OK));
        hoarder h = {.wait = mode != 0, .other = other, .m = &m, .sem = &sem, .rec = &rec};
        sim_join hj = test_spawn(w, "hoarder", home, hoarder_poll, NULL, &h, sizeof h);
        contender c = {.m = &m, .sem = &sem, .rec = &rec};
        sim_join cj = test_spawn(w, "contender", other, contender_poll, NULL, &c, sizeof c);
        cr_assert(eq(int, sim_world_run_until(w, 10 * SIM_MS), SIM_OK), "%s", how[mode]);
        cr_assert(eq(u32, rec.stage, 1), "%s", how[mode]);
        if (mode == 1) sim_join_abort(w, &hj);
        if (mode == 2) cr_assert(eq(int, sim_node_crash(w, home), SIM_OK));
        cr_assert(eq(int, sim_world_run_until(w, 20 * SIM_MS), SIM_OK), "%s", how[mode]);

        static const int want[3] = {SIM_OK, SIM_ECANCELED, SIM_ECRASHED};
        cr_assert(eq(int, test_end_of(&ends, hj.task), want[mode]), "%s", how[mode]);
        cr_assert(eq(int, test_end_of(&ends, rec.member), SIM_ECANCELED),
                  "%s: the set's member was not aborted", how[mode]);
        cr_assert(eq(int, test_end_of(&ends, rec.child), SIM_PENDING), "%s", how[mode]);
        cr_assert(eq(u64, rec.locked_at, mode == 0 ? 5 * SIM_MS : 10 * SIM_MS), "%s", how[mode]);
        cr_assert(eq(u64, rec.permits_at, rec.locked_at), "%s", how[mode]);
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&cj)), SIM_OK), "%s", how[mode]);
        cr_assert(eq(u32, sim_mutex_holder(w, &m).v, 0), "%s", how[mode]);
        cr_assert(eq(u32, sim_sem_available(w, &sem), 3), "%s", how[mode]);
        cr_assert(eq(u32, test_objects_live(w), 2), "%s: only the test's mutex and semaphore",
                  how[mode]);
        test_run_ok(w);
        cr_assert(eq(int, test_end_of(&ends, rec.child), SIM_OK), "%s", how[mode]);
        cr_assert(eq(u64, sim_now(w), 50 * SIM_MS), "%s", how[mode]);
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&hj)), want[mode]), "%s", how[mode]);
        sim_stats st = test_stats(w);
        cr_assert(eq(u32, st.timers_armed, 0), "%s", how[mode]);
        cr_assert(eq(u32, st.tasks_live, 0), "%s", how[mode]);
        if (st.violations != 0) {
            const sim_violation *v = sim_world_violation(w, 0);
            cr_assert(eq(u32, st.violations, 0), "%s: %s", how[mode], v ? v->message : "?");
        }
        sim_world_free(w);
    }
}

/* ---- waiting on a handle whose owner lets go ------------------------------------------------- */

typedef struct watcher {
    sim_co co;
    const sim_join *j;   /* a copy of a handle someone else owns */
    sim_join copy;
    int *rc_out;
    uint64_t *at_out;
} watcher;

static int watcher_poll(void *state, sim_world *w)
{
    watcher *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    s->copy = *s->j;
    SIM_AWAIT(rc, sim_join_wait(&s->copy));
    *s->rc_out = rc;
    *s->at_out = sim_now(w);
    SIM_END(SIM_OK);
}

/* Spawns a 100 ms sleeper and a watcher that awaits it through a copy of the handle (not
 * moved); then lets the handle go after 10 ms: by returning (its end releases the handle) or
 * by detaching it. */
typedef struct letgo {
    sim_co co;
    bool detach;
    sim_join j;
    sim_join *pub;
    int *rc_out;
    uint64_t *at_out;
} letgo;

static int letgo_poll(void *state, sim_world *w)
{
    letgo *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    {
        sleepy c = {.ns = 100 * SIM_MS};
        sim_task_desc d = {.name = "child", .poll = sleepy_poll, .state = &c,
                           .state_size = sizeof c};
        rc = sim_spawn(w, &d, &p->j);
        if (rc != SIM_OK) SIM_RETURN(rc);
        *p->pub = p->j;
        watcher wt = {.j = p->pub, .rc_out = p->rc_out, .at_out = p->at_out};
        sim_task_desc wd = {.name = "watcher", .poll = watcher_poll, .state = &wt,
                            .state_size = sizeof wt};
        rc = sim_spawn(w, &wd, NULL);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    if (p->detach) sim_join_detach(w, &p->j);
    SIM_END(SIM_OK);
}

/* Goal: a task that awaits a join through a copy of a handle another task owns is woken when
 * the owner lets the handle go (its end releases it, or it detaches), and its wait ends in
 * SIM_EMISUSE with a violation that says why, instead of hanging until the run deadlocks with
 * no word. The joined task runs on, detached. Method: both ways, under FIFO. */
Test(task, waiting_on_a_handle_its_owner_lets_go_ends_in_misuse)
{
    for (int detach = 0; detach < 2; detach++) {
        sim_world *w = test_world(7, SIM_SCHED_FIFO);
        sim_join pub;
        int rc = SIM_PENDING;
        uint64_t at = 0;
        letgo p = {.detach = detach, .pub = &pub, .rc_out = &rc, .at_out = &at};
        sim_join oj = test_spawn(w, "owner", (sim_node_id){0}, letgo_poll, NULL, &p, sizeof p);
        test_run_ok(w);
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&oj)), SIM_OK));
        cr_assert(eq(int, rc, SIM_EMISUSE), "detach %d", detach);
        cr_assert(eq(u64, at, 10 * SIM_MS), "detach %d", detach);
        cr_assert(eq(u64, sim_now(w), 100 * SIM_MS), "detach %d: the child ran on", detach);
        cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1), "detach %d", detach);
        const sim_violation *v = sim_world_violation(w, 0);
        cr_assert(ne(ptr, strstr(v->message, "sim_join_wait on a handle that was dropped, or "
                                             "released when its owner ended"),
                     NULL),
                  "%s", v->message);
        cr_assert(eq(u32, test_stats(w).tasks_live, 0));
        sim_world_free(w);
    }
}

/* Goal: a join handle is awaited by one task at a time: a second task awaiting the same join
 * while the first still waits gets SIM_EMISUSE and a violation naming both, and the first
 * still gets the result (the second used to take its place, and the first hung until the run
 * deadlocked). Method: two watchers await copies of the handle of a 100 ms sleeper. */
Test(task, second_joiner_of_one_handle_is_misuse)
{
    sim_world *w = test_world(8, SIM_SCHED_FIFO);
    sleepy c = {.ns = 100 * SIM_MS};
    sim_join j = test_spawn(w, "child", (sim_node_id){0}, sleepy_poll, NULL, &c, sizeof c);
    int rc[2] = {SIM_PENDING, SIM_PENDING};
    uint64_t at[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        watcher wt = {.j = &j, .rc_out = &rc[i], .at_out = &at[i]};
        test_spawn(w, i ? "second" : "first", (sim_node_id){0}, watcher_poll, NULL, &wt,
                   sizeof wt);
    }
    test_run_ok(w);
    cr_assert(eq(int, rc[0], SIM_OK));
    cr_assert(eq(u64, at[0], 100 * SIM_MS));
    cr_assert(eq(int, rc[1], SIM_EMISUSE));
    cr_assert(eq(u64, at[1], 0));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    const sim_violation *v = sim_world_violation(w, 0);
    cr_assert(ne(ptr, strstr(v->message, "task 3 awaits the join of task 1 (child), which task 2 "
                                         "already awaits"),
                 NULL),
              "%s", v->message);
    sim_world_free(w);
}

/* Objects of every kind a task can wait on, made by an owner task and shared with a waiter by
 * copying the handles (not moving them). */
enum { K_MPSC, K_BROADCAST, K_TOKEN, K_MUTEX, K_SEM, K_NOTIFY, K_SET, K_KINDS };

typedef struct shared_objs {
    int kind;
    sim_tx tx;
    sim_rx rx;
    sim_token tok;
    sim_mutex m;
    sim_sem s;
    sim_notify n;
    sim_task_set set;
} shared_objs;

typedef struct copy_waiter {
    sim_co co;
    const shared_objs *src;
    shared_objs copy;
    uint64_t msg;
    int *rc_out;
} copy_waiter;

static int copy_waiter_poll(void *state, sim_world *w)
{
    copy_waiter *x = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &x->co);
    x->copy = *x->src;
    if (x->copy.kind == K_MPSC || x->copy.kind == K_BROADCAST) {
        SIM_AWAIT(rc, sim_recv(&x->copy.rx, &x->msg));
    } else if (x->copy.kind == K_TOKEN) {
        SIM_AWAIT(rc, sim_cancelled(&x->copy.tok));
    } else if (x->copy.kind == K_MUTEX) {
        SIM_AWAIT(rc, sim_lock(&x->copy.m));
    } else if (x->copy.kind == K_SEM) {
        SIM_AWAIT(rc, sim_acquire(&x->copy.s, 2));
    } else if (x->copy.kind == K_NOTIFY) {
        SIM_AWAIT(rc, sim_notified(&x->copy.n));
    } else {
        SIM_AWAIT(rc, sim_task_set_next(&x->copy.set, NULL, NULL));
    }
    *x->rc_out = rc;
    SIM_END(SIM_OK);
}

/* Makes one object of its kind (so that a waiter would block on it), spawns the waiter and
 * ends after 10 ms, which releases the object's handles. */
typedef struct objs_owner {
    sim_co co;
    shared_objs *p;
    int *rc_out;
} objs_owner;

static int objs_make(shared_objs *p, sim_world *w)
{
    sim_chan_desc mpsc = {.kind = SIM_CHAN_MPSC, .msg_size = 8};
    sim_chan_desc bcast = {.kind = SIM_CHAN_BROADCAST, .msg_size = 8, .capacity = 4};
    sleepy forever = {.ns = 3600 * SIM_S};
    sim_task_desc member = {.name = "member", .poll = sleepy_poll, .state = &forever,
                            .state_size = sizeof forever};
    int rc = SIM_EINVAL;
    switch (p->kind) {
    case K_MPSC: return sim_chan_new(w, &mpsc, &p->tx, &p->rx);
    case K_BROADCAST: return sim_chan_new(w, &bcast, &p->tx, &p->rx);
    case K_TOKEN: return sim_token_new(w, NULL, &p->tok);
    case K_MUTEX:
        rc = sim_mutex_new(w, "m", &p->m);
        return rc == SIM_OK ? sim_try_lock(w, &p->m) : rc;
    case K_SEM:
        rc = sim_sem_new(w, "s", 2, &p->s);
        return rc == SIM_OK ? sim_try_acquire(w, &p->s, 1) : rc;
    case K_NOTIFY: return sim_notify_new(w, "n", &p->n);
    case K_SET:
        rc = sim_task_set_new(w, &p->set);
        return rc == SIM_OK ? sim_task_set_spawn(w, &p->set, &member, NULL) : rc;
    default: return rc;
    }
}

static int objs_owner_poll(void *state, sim_world *w)
{
    objs_owner *o = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &o->co);
    rc = objs_make(o->p, w);
    if (rc != SIM_OK) SIM_RETURN(rc);
    {
        copy_waiter x = {.src = o->p, .rc_out = o->rc_out};
        sim_task_desc d = {.name = "waiter", .poll = copy_waiter_poll, .state = &x,
                           .state_size = sizeof x};
        rc = sim_spawn(w, &d, NULL);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    SIM_END(SIM_OK);
}

/* Goal: whatever a task waits on through a copy of a handle another task owns (a receive on
 * an mpsc or a broadcast, a token, a mutex, a semaphore, a notify, a task set), the owner's
 * end wakes it, and its wait ends in SIM_EMISUSE with the one violation that says why:
 * receives and task sets hung until the run deadlocked, and a lock, an acquire or a notified
 * left its place in the queue behind and was blamed as a leak at the waiter's end. Method:
 * for each kind, an owner makes the object, spawns a waiter with a copy, and ends at 10 ms. */
Test(task, waiting_through_a_copy_of_any_handle_ends_with_its_owner)
{
    static const char *const kinds[K_KINDS] = {"mpsc", "broadcast", "token", "mutex",
                                               "semaphore", "notify", "task set"};
    for (int k = 0; k < K_KINDS; k++) {
        sim_world *w = test_world(10, SIM_SCHED_FIFO);
        shared_objs p = {.kind = k};
        int rc = SIM_PENDING;
        objs_owner o = {.p = &p, .rc_out = &rc};
        sim_join oj = test_spawn(w, "owner", (sim_node_id){0}, objs_owner_poll, NULL, &o,
                                 sizeof o);
        int run = sim_world_run(w);
        cr_assert(eq(int, run, SIM_OK), "%s:\n%s", kinds[k], sim_world_report(w));
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&oj)), SIM_OK), "%s", kinds[k]);
        cr_assert(eq(int, rc, SIM_EMISUSE), "%s", kinds[k]);
        cr_assert(eq(u32, sim_world_violation_count(w), 1), "%s", kinds[k]);
        const sim_violation *v = sim_world_violation(w, 0);
        cr_assert(eq(int, (int)v->kind, (int)SIM_VIOLATION_MISUSE), "%s", kinds[k]);
        cr_assert(ne(ptr, strstr(v->message, "released when its owner ended"), NULL), "%s: %s",
                  kinds[k], v->message);
        sim_stats st = test_stats(w);
        cr_assert(eq(u32, st.objects_live, 0), "%s", kinds[k]);
        cr_assert(eq(u32, st.timers_armed, 0), "%s", kinds[k]);
        sim_world_free(w);
    }
}
