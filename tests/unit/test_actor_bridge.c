/*
 * test_actor_bridge.c: the bridge of systems/actor between actors and async/await, modelled
 * on stakker_async_await's own tests (tests/main.rs, reference B.6): spawn; the push pipe in
 * ok and actor-fail variants, in drop-task and result modes; the pull pipe likewise, and its
 * laziness; streams preloaded and in batches through the `more` Fwd<()>, in both modes, with
 * the producer failing mid-stream; spurious resumes; a bridge task awaiting a future of sim's
 * own (which no bridge waker could wake) reported; and the planted bridge bugs seen by the
 * ledger.
 */
#include "actortest.h"

static act_own g_own;
static probe_ret g_spawned;

/* ---- spawn ---- */

typedef struct answer {
    act_task_head head;
} answer;

static int answer_poll(void *state, sim_world *w)
{
    answer *a = state;
    SIM_BEGIN(w, &a->head.co);
    a->head.out.a = 42;
    SIM_END(SIM_OK);
}

static void spawn_phases(int phase)
{
    (void)phase;
    answer a = {0};
    cr_assert(eq(int, act_spawn(g_sys, g_node, answer_poll, NULL, &a, sizeof a,
                                probe_ret_new(&g_spawned)), SIM_OK));
}

Test(actor_bridge, spawn_passes_the_futures_value_to_the_ret)
{
    sim_world *w = run_phases(spawn_phases, 1, ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(u32, g_spawned.fired, 1));
    cr_assert(g_spawned.some);
    cr_assert(eq(i64, g_spawned.v.a, 42));
    assert_clean();
    run_end(w);
}

/* ---- push pipe ---- */

typedef struct pusher {
    act_task_head head;
    act_mode mode;
    int64_t b;          /* what the probe does with the Ret: DO_REPLY, or nothing (drop) */
    uint32_t pipe;
    act_ret ret;
    act_val v;
    int rc;
} pusher;

static int pusher_poll(void *state, sim_world *w)
{
    pusher *p = state;
    SIM_BEGIN(w, &p->head.co);
    p->pipe = act_push_pipe(g_sys, p->mode, &p->ret, ACT_SITE);
    act_call(g_sys, act_own_actor(g_own), probe_call,
             (act_val){.a = 5, .b = p->b, .ret = act_ret_take(&p->ret)});
    SIM_AWAIT(p->rc, act_wait(g_sys, p->pipe, &p->v));
    p->head.out.a = p->rc == SIM_OK ? p->v.a : -1; /* result mode: ActorFail handled */
    SIM_END(SIM_OK);
}

static pusher g_pusher;

static void push_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(NULL);
        cr_assert(eq(int, act_spawn(g_sys, g_node, pusher_poll, NULL, &g_pusher,
                                    sizeof g_pusher, probe_ret_new(&g_spawned)), SIM_OK));
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

static void push_case(act_mode mode, int64_t b)
{
    g_pusher = (pusher){.mode = mode, .b = b};
    sim_world *w = run_phases(push_phases, 2, ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(u32, g_spawned.fired, 1));
    if (b == DO_REPLY) {
        cr_assert(g_spawned.some);
        cr_assert(eq(i64, g_spawned.v.a, 6));
    } else if (mode == ACT_RESULT) {
        cr_assert(g_spawned.some); /* the task survived and saw ActorFail */
        cr_assert(eq(i64, g_spawned.v.a, -1));
    } else {
        cr_assert(not(g_spawned.some)); /* the whole task was dropped at its await */
    }
    assert_clean();
    run_end(w);
}

Test(actor_bridge, future_push_ok) { push_case(ACT_DROP_TASK, DO_REPLY); }
Test(actor_bridge, future_push_actorfail) { push_case(ACT_DROP_TASK, DO_NOTHING); }
Test(actor_bridge, future_push_result_ok) { push_case(ACT_RESULT, DO_REPLY); }
Test(actor_bridge, future_push_result_actorfail) { push_case(ACT_RESULT, DO_NOTHING); }

/* ---- pull pipe ---- */

/* The server side of a pull: v.ret is the reply Ret; b of the probe says reply or drop. */
static int64_t g_pull_action;

static void serve_pull(act_cx *cx, void *self, bool some, act_val *v)
{
    (void)self;
    log_put(some ? 77 : -77);
    if (some && g_pull_action == DO_REPLY) {
        act_ret_fire(act_cx_sys(cx), &v->ret, (act_val){.a = 8});
    }
}

typedef struct puller {
    act_task_head head;
    act_mode mode;
    bool abandon;       /* make the pull, then drop it unpolled */
    act_pull_op op;
    act_val v;
    int rc;
} puller;

static int puller_poll(void *state, sim_world *w)
{
    puller *p = state;
    SIM_BEGIN(w, &p->head.co);
    {
        act_ret req = act_ret_to_actor(g_sys, act_own_actor(g_own), serve_pull, ACT_SITE);
        p->op = act_pull(g_sys, p->mode, req, &p->v);
    }
    if (p->abandon) {
        sim_fut_drop(w, &p->op.fut);
        p->head.out.a = 0;
        SIM_RETURN(SIM_OK);
    }
    SIM_AWAIT_FUT(p->rc, &p->op.fut);
    p->head.out.a = p->rc == SIM_OK ? p->v.a : -1;
    SIM_END(SIM_OK);
}

static puller g_puller;

static void pull_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(NULL);
        cr_assert(eq(int, act_spawn(g_sys, g_node, puller_poll, NULL, &g_puller,
                                    sizeof g_puller, probe_ret_new(&g_spawned)), SIM_OK));
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

static sim_world *pull_run(act_mode mode, int64_t action, bool abandon, act_bug bug)
{
    g_pull_action = action;
    g_puller = (puller){.mode = mode, .abandon = abandon};
    return run_phases(pull_phases, 2, bug, (sim_ratio){0});
}

static void pull_case(act_mode mode, int64_t action)
{
    sim_world *w = pull_run(mode, action, false, ACT_BUG_NONE);
    cr_assert(eq(u32, g_spawned.fired, 1));
    const int64_t want[] = {1000, 77};
    assert_log(want, 2);
    if (action == DO_REPLY) {
        cr_assert(g_spawned.some);
        cr_assert(eq(i64, g_spawned.v.a, 8));
    } else if (mode == ACT_RESULT) {
        cr_assert(g_spawned.some);
        cr_assert(eq(i64, g_spawned.v.a, -1));
    } else {
        cr_assert(not(g_spawned.some));
    }
    assert_clean();
    run_end(w);
}

Test(actor_bridge, future_pull_ok) { pull_case(ACT_DROP_TASK, DO_REPLY); }
Test(actor_bridge, future_pull_actorfail) { pull_case(ACT_DROP_TASK, DO_NOTHING); }
Test(actor_bridge, future_pull_result_ok) { pull_case(ACT_RESULT, DO_REPLY); }
Test(actor_bridge, future_pull_result_actorfail) { pull_case(ACT_RESULT, DO_NOTHING); }

Test(actor_bridge, a_pull_dropped_unpolled_sends_no_request)
{
    sim_world *w = pull_run(ACT_DROP_TASK, DO_REPLY, true, ACT_BUG_NONE);
    const int64_t want[] = {1000, -77}; /* the request Ret was dropped: its none arrives */
    assert_log(want, 2);
    assert_clean();
    run_end(w);
}

Test(actor_bridge, pull_eager_bug_sends_before_the_poll_and_the_ledger_sees_it)
{
    sim_world *w = pull_run(ACT_DROP_TASK, DO_REPLY, true, ACT_BUG_PULL_EAGER);
    const int64_t want[] = {1000, 77};
    assert_log(want, 2);
    assert_check_says("before it was polled");
    run_end(w);
}

/* ---- streams ---- */

static int64_t g_fail_at; /* the next producer's */
static int64_t g_got;     /* items the consumer saw */

typedef struct producer {
    act_fwd out;
    int64_t next, total, batch, fail_at; /* fail_at > 0: drop the Fwd there, no end */
} producer;

static void producer_send(act_sys *sys, producer *p)
{
    for (int64_t k = 0; k < p->batch && p->next < p->total && p->out.id != 0; k++) {
        if (p->fail_at > 0 && p->next == p->fail_at) {
            act_fwd_drop(sys, &p->out); /* the producer dies mid-stream */
            return;
        }
        act_fwd_send(sys, p->out, true, (act_val){.a = p->next++});
    }
    if (p->next == p->total && p->out.id != 0) {
        act_fwd_send(sys, p->out, false, (act_val){0});
        act_fwd_drop(sys, &p->out);
    }
}

static void producer_init(act_cx *cx, void *self, bool some, act_val *v)
{
    producer *p = self;
    (void)some;
    p->out = act_fwd_take(&v->fwd);
    p->total = v->a;
    p->batch = v->b;
    p->fail_at = g_fail_at;
    act_cx_ready(cx);
}

static void producer_more(act_cx *cx, void *self, bool some, act_val *v)
{
    (void)some;
    (void)v;
    log_put(-5);
    producer_send(act_cx_sys(cx), self);
}

static void producer_drop(act_cx *cx, void *self)
{
    producer *p = self;
    act_fwd_drop(act_cx_sys(cx), &p->out);
}

static const act_type producer_type = {.name = "producer", .size = sizeof(producer),
                                       .drop = producer_drop};

typedef struct consumer {
    act_task_head head;
    uint32_t stream;
    act_val v;
    int rc;
    int64_t got, sum, fails;
} consumer;

static int consumer_poll(void *state, sim_world *w)
{
    consumer *c = state;
    SIM_BEGIN(w, &c->head.co);
    for (;;) {
        SIM_AWAIT(c->rc, act_next(g_sys, c->stream, &c->v));
        if (c->rc == ACT_END) break;
        if (c->rc == ACT_FAIL) {
            c->fails++;
            continue;
        }
        cr_assert(eq(int, c->rc, SIM_OK));
        cr_assert(eq(i64, c->v.a, c->got)); /* in order, none lost */
        c->got++;
        g_got++;
        c->sum += c->v.a;
    }
    c->head.out = (act_val){.a = c->got, .b = c->fails};
    SIM_END(SIM_OK);
}

typedef struct stream_case {
    act_mode mode;
    int64_t total, batch, fail_at;
    bool preload;       /* the producer sends everything before the consumer starts */
} stream_case;

static stream_case g_case;

static void stream_phases(int phase)
{
    if (phase == 0) {
        g_own = act_new(g_sys, g_node, &producer_type, "producer", (act_ret){0});
        act_actor a = act_own_actor(g_own);
        act_fwd more = g_case.preload ? (act_fwd){0} : act_fwd_to_actor(g_sys, a, producer_more);
        act_fwd fwd;
        uint32_t s = act_stream_new(g_sys, g_case.mode, more, &fwd);
        act_call_prep(g_sys, a, producer_init,
                      (act_val){.a = g_case.total, .b = g_case.batch, .fwd = fwd});
        if (g_case.preload) {
            act_call(g_sys, a, producer_more, (act_val){0});
        }
        consumer c = {.stream = s};
        cr_assert(eq(int, act_spawn(g_sys, g_node, consumer_poll, NULL, &c, sizeof c,
                                    probe_ret_new(&g_spawned)), SIM_OK));
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

static sim_world *stream_run(stream_case c, act_bug bug, sim_ratio spurious)
{
    g_case = c;
    g_fail_at = c.fail_at;
    g_got = 0;
    return run_phases(stream_phases, 2, bug, spurious);
}

Test(actor_bridge, stream_preload)
{
    sim_world *w = stream_run((stream_case){.total = 10, .batch = 10, .preload = true},
                              ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(g_spawned.some);
    cr_assert(eq(i64, g_spawned.v.a, 10));
    assert_clean();
    run_end(w);
}

Test(actor_bridge, stream_batches)
{
    sim_world *w = stream_run((stream_case){.total = 100, .batch = 16}, ACT_BUG_NONE,
                              (sim_ratio){0});
    cr_assert(g_spawned.some);
    cr_assert(eq(i64, g_spawned.v.a, 100));
    cr_assert(eq(i64, g_spawned.v.b, 0));
    /* One more request per empty queue: ceil(100 / 16) = 7. */
    uint32_t mores = 0;
    for (uint32_t i = 0; i < g_log.n; i++) mores += g_log.v[i] == -5;
    cr_assert(eq(u32, mores, 7));
    assert_clean();
    run_end(w);
}

Test(actor_bridge, stream_result_preload)
{
    sim_world *w = stream_run((stream_case){.mode = ACT_RESULT, .total = 10, .batch = 10,
                                            .preload = true}, ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(i64, g_spawned.v.a, 10));
    assert_clean();
    run_end(w);
}

Test(actor_bridge, stream_result_batches)
{
    sim_world *w = stream_run((stream_case){.mode = ACT_RESULT, .total = 100, .batch = 16},
                              ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(i64, g_spawned.v.a, 100));
    assert_clean();
    run_end(w);
}

Test(actor_bridge, stream_batches_tolerate_spurious_resumes)
{
    sim_world *w = stream_run((stream_case){.mode = ACT_RESULT, .total = 100, .batch = 16},
                              ACT_BUG_NONE, (sim_ratio){1, 2});
    cr_assert(eq(i64, g_spawned.v.a, 100));
    act_stats st;
    act_sys_stats(g_sys, &st);
    cr_assert(lt(u64, 0, st.spurious), "resumes %llu calls %llu", (unsigned long long)st.resumes,
              (unsigned long long)st.calls_run);
    assert_clean();
    run_end(w);
}

Test(actor_bridge, stream_result_actorfail)
{
    sim_world *w = stream_run((stream_case){.mode = ACT_RESULT, .total = 100, .batch = 16,
                                            .fail_at = 40}, ACT_BUG_NONE, (sim_ratio){0});
    /* The items sent, then Err(ActorFail), then the end. */
    cr_assert(g_spawned.some);
    cr_assert(eq(i64, g_spawned.v.a, 40));
    cr_assert(eq(i64, g_spawned.v.b, 1));
    assert_clean();
    run_end(w);
}

Test(actor_bridge, stream_actorfail_yields_what_was_queued_then_drops_the_task)
{
    sim_world *w = stream_run((stream_case){.total = 100, .batch = 16, .fail_at = 40},
                              ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(u32, g_spawned.fired, 1));
    cr_assert(not(g_spawned.some));
    cr_assert(eq(i64, g_got, 40));
    assert_clean();
    run_end(w);
}

Test(actor_bridge, stream_dropped_first_bug_loses_queued_items_and_the_ledger_sees_it)
{
    sim_world *w = stream_run((stream_case){.total = 100, .batch = 16, .fail_at = 40},
                              ACT_BUG_STREAM_DROPPED_FIRST, (sim_ratio){0});
    cr_assert(not(g_spawned.some));
    cr_assert(lt(i64, g_got, 40));
    assert_check_says("still queued");
    run_end(w);
}

Test(actor_bridge, stream_no_end_bug_leaves_the_consumer_hanging)
{
    sim_world *w = stream_run((stream_case){.total = 100, .batch = 16, .fail_at = 40},
                              ACT_BUG_STREAM_NO_END, (sim_ratio){0});
    cr_assert(eq(u32, g_spawned.fired, 0));
    assert_check_says("never fired");
    run_end(w);
}

/* ---- a future that is not the bridge's ---- */

typedef struct sleeper {
    act_task_head head;
} sleeper;

static int sleeper_poll(void *state, sim_world *w)
{
    sleeper *s = state;
    SIM_BEGIN(w, &s->head.co);
    SIM_TRY(sim_sleep(w, SIM_MS)); /* it registers the loop task's waker, not this task's */
    SIM_END(SIM_OK);
}

static void sleeper_phases(int phase)
{
    (void)phase;
    sleeper s = {0};
    cr_assert(eq(int, act_spawn(g_sys, g_node, sleeper_poll, NULL, &s, sizeof s,
                                probe_ret_new(&g_spawned)), SIM_OK));
}

Test(actor_bridge, a_bridge_task_awaiting_a_foreign_future_is_reported)
{
    sim_world *w = run_phases(sleeper_phases, 1, ACT_BUG_NONE, (sim_ratio){0});
    /* Nothing holds the task after that poll: it is dropped, the spawner gets none. */
    cr_assert(eq(u32, g_spawned.fired, 1));
    cr_assert(not(g_spawned.some));
    assert_check_says("not the bridge's");
    run_end(w);
}
