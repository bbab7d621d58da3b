/*
 * test_ledger.c: the exactly-once ledger, the shutdown signal, the end-of-run oracles and
 * cancellation at a chosen await, through sim.h: obligations kept once, twice and never;
 * voided by a crash or not; the signal through tokens and at a time; overrun and leaks after
 * the signal; unread messages and uncollected errors; cancel_at and cancel_rate.
 */
#include "../helpers.h"

static const sim_node_id NO_NODE = {0};

/* ---- the ledger ------------------------------------------------------------------------------ */

/* A task that makes an obligation, sleeps, then discharges it `times` times. */
typedef struct promiser {
    sim_co co;
    int times;
    int i;
    sim_obligation ob;
    int last_rc;
} promiser;

static int promiser_poll(void *state, sim_world *w)
{
    promiser *p = state;
    SIM_BEGIN(w, &p->co);
    SIM_ASSERT(sim_oblige(w, "reply to get #1", "server.c:10", 0, &p->ob) == SIM_OK);
    SIM_TRY(sim_sleep(w, SIM_MS));
    for (p->i = 0; p->i < p->times; p->i++) {
        p->last_rc = sim_discharge(w, p->ob, p->i == 0 ? "server.c:20" : "server.c:30");
    }
    SIM_END(SIM_OK);
}

/* Goal: an obligation discharged once is clean. Method: one task registers and discharges
 * it; no violation, nothing pending, two events. */
Test(ledger, discharged_once_is_clean)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    promiser p = {.times = 1};
    test_spawn(w, "server", NO_NODE, promiser_poll, NULL, &p, sizeof p);
    test_run_ok(w);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, sim_world_obligations_pending(w), 0));
    sim_world_free(w);
}

/* Goal: a second discharge is a violation naming the three sites. Method: discharge twice. */
Test(ledger, discharged_twice_names_both_sites)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    promiser p = {.times = 2};
    test_spawn(w, "server", NO_NODE, promiser_poll, NULL, &p, sizeof p);
    test_run_ok(w);
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_OBLIGATION), 1));
    const sim_violation *v = test_violation_find(w, SIM_VIOLATION_OBLIGATION, "twice");
    cr_assert(v != NULL);
    cr_assert(strstr(v->message, "server.c:10") != NULL, "%s", v->message);
    cr_assert(strstr(v->message, "server.c:20") != NULL, "%s", v->message);
    cr_assert(strstr(v->message, "server.c:30") != NULL, "%s", v->message);
    cr_assert(strstr(v->message, "reply to get #1") != NULL, "%s", v->message);
    sim_world_free(w);
}

/* Goal: an obligation never discharged is a violation at the run's end, naming where it was
 * made, and only then (not at a run_until that returns with work left). */
Test(ledger, never_discharged_is_reported_at_the_end)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    promiser p = {.times = 0};
    test_spawn(w, "server", NO_NODE, promiser_poll, NULL, &p, sizeof p);
    cr_assert(eq(int, sim_world_run_until(w, 1), SIM_OK));
    cr_assert(eq(u32, sim_world_obligations_pending(w), 1));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    test_run_ok(w);
    const sim_violation *v = test_violation_find(w, SIM_VIOLATION_OBLIGATION, "never");
    cr_assert(v != NULL);
    cr_assert(strstr(v->message, "server.c:10") != NULL, "%s", v->message);
    cr_assert(strstr(v->message, "run's end") != NULL, "%s", v->message);
    cr_assert(eq(u32, sim_world_obligations_pending(w), 0));
    sim_world_free(w);
}

/* Goal: bad arguments are refused and unknown ids are not obligations. */
Test(ledger, bad_arguments)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    sim_obligation ob;
    cr_assert(eq(int, sim_oblige(w, NULL, SIM_SITE, 0, &ob), SIM_EINVAL));
    cr_assert(eq(u32, ob.id, 0));
    cr_assert(eq(int, sim_oblige(w, "x", NULL, 0, &ob), SIM_EINVAL));
    cr_assert(eq(int, sim_oblige(w, "x", SIM_SITE, 8, &ob), SIM_EINVAL));
    cr_assert(eq(int, sim_discharge(w, (sim_obligation){7}, SIM_SITE), SIM_EINVAL));
    cr_assert(not(sim_obligation_pending(w, (sim_obligation){7})));
    cr_assert(eq(int, sim_oblige(w, "x", SIM_SITE, 0, &ob), SIM_OK));
    cr_assert(sim_obligation_pending(w, ob));
    cr_assert(eq(int, sim_discharge(w, ob, SIM_SITE), SIM_OK));
    cr_assert(not(sim_obligation_pending(w, ob)));
    sim_world_free(w);
}

/* Boot: one task on the node that makes an obligation and never keeps it. */
static int promise_boot(void *ud, sim_world *w, sim_node_id node)
{
    promiser p = {.times = 0};
    sim_task_desc d = {.name = "server", .node = node, .poll = promiser_poll, .state = &p,
                       .state_size = sizeof p, .daemon = true};
    (void)ud;
    return sim_spawn(w, &d, NULL);
}

/* Goal: a crash of the obligation's node voids it (no violation), unless it was made to
 * survive crashes. Method: a node's task makes one; the node crashes; the run ends. */
Test(ledger, crash_voids_unless_it_must_survive)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    sim_node_id n = test_node(w, "n1", promise_boot, NULL);
    cr_assert(eq(int, sim_world_run_until(w, SIM_US), SIM_OK));
    cr_assert(eq(u32, sim_world_obligations_pending(w), 1));
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    cr_assert(eq(u32, sim_world_obligations_pending(w), 0));
    test_run_ok(w);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    /* Outside a task, an obligation belongs to the world, which never crashes. */
    sim_obligation ob;
    cr_assert(eq(int, sim_oblige(w, "durable reply", "log.c:5", SIM_OBLIGE_SURVIVES_CRASH,
                                 &ob), SIM_OK));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_OK));
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    cr_assert(sim_obligation_pending(w, ob));
    sim_world_free(w);
}

/* ---- the shutdown signal -------------------------------------------------------------------- */

/* A component: waits for the shutdown token, then takes `linger` to stop. */
typedef struct component {
    sim_co co;
    sim_token tok;
    uint64_t linger_ns;
} component;

static int component_poll(void *state, sim_world *w)
{
    component *c = state;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_cancelled(&c->tok));
    SIM_TRY(sim_sleep(w, c->linger_ns));
    SIM_END(SIM_OK);
}

static uint64_t component_linger_ns;

static int component_boot(void *ud, sim_world *w, sim_node_id node)
{
    component c = {.linger_ns = component_linger_ns};
    (void)ud;
    int rc = sim_shutdown_token(w, &c.tok);
    if (rc != SIM_OK) return rc;
    sim_task_desc d = {.name = "component", .node = node, .poll = component_poll, .state = &c,
                       .state_size = sizeof c, .moves = SIM_MOVES(&c.tok)};
    return sim_spawn(w, &d, NULL);
}

/* Goal: the signal raised at desc.shutdown_at_ns cancels every shutdown token, and a
 * component that stops within the bound passes. Method: a node whose only task waits for the
 * signal (nothing else would move time: without the signal it would be a deadlock). */
Test(shutdown, signal_at_a_time_reaches_tokens)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO},
                        .shutdown_at_ns = 2 * SIM_S, .shutdown_within_ns = SIM_S};
    sim_world *w = test_world_desc(&d);
    component_linger_ns = 100 * SIM_MS;
    test_node(w, "n1", component_boot, NULL);
    cr_assert(not(sim_shutdown_signalled(w)));
    test_run_ok(w);
    cr_assert(sim_shutdown_signalled(w));
    cr_assert(eq(u64, sim_shutdown_time(w), 2 * SIM_S));
    cr_assert(eq(u64, sim_now(w), 2 * SIM_S + 100 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_token late;
    cr_assert(eq(int, sim_shutdown_token(w, &late), SIM_OK));
    cr_assert(sim_token_is_cancelled(w, &late));
    sim_world_free(w);
}

/* Goal: a component that outlives shutdown_within is an overrun naming it and its node.
 * Method: it lingers 3s against a bound of 1s. */
Test(shutdown, overrun_names_the_tasks_left)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO},
                        .shutdown_at_ns = SIM_S, .shutdown_within_ns = SIM_S};
    sim_world *w = test_world_desc(&d);
    component_linger_ns = 3 * SIM_S;
    test_node(w, "n1", component_boot, NULL);
    test_run_ok(w);
    const sim_violation *v = test_violation_find(w, SIM_VIOLATION_SHUTDOWN, "component");
    cr_assert(v != NULL);
    cr_assert(eq(u64, v->vtime_ns, 2 * SIM_S));
    cr_assert(strstr(v->message, "on n1") != NULL, "%s", v->message);
    sim_world_free(w);
}

/* A daemon that never looks at the signal. */
typedef struct deaf {
    sim_co co;
} deaf;

static int deaf_poll(void *state, sim_world *w)
{
    deaf *s = state;
    SIM_BEGIN(w, &s->co);
    for (;;) {
        SIM_TRY(sim_sleep(w, 500 * SIM_MS));
    }
    SIM_END(SIM_OK);
}

static int deaf_boot(void *ud, sim_world *w, sim_node_id node)
{
    deaf s = {0};
    (void)ud;
    sim_task_desc d = {.name = "deaf", .node = node, .poll = deaf_poll, .state = &s,
                       .state_size = sizeof s, .daemon = true};
    return sim_spawn(w, &d, NULL);
}

/* A world-level task that raises the signal itself after 1s. */
typedef struct raiser {
    sim_co co;
} raiser;

static int raiser_poll(void *state, sim_world *w)
{
    raiser *s = state;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_sleep(w, SIM_S));
    cr_assert(eq(int, sim_shutdown_signal(w), SIM_OK));
    cr_assert(eq(int, sim_shutdown_signal(w), SIM_OK)); /* idempotent */
    SIM_END(SIM_OK);
}

/* Goal: a daemon alive at the end of a run whose signal was raised is a leak naming it; the
 * same run without the signal has none, and with SIM_ORACLE_NONE none either. */
Test(shutdown, leak_after_the_signal_only)
{
    for (int variant = 0; variant < 3; variant++) {
        sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO},
                            .oracles = variant == 2 ? (uint32_t)SIM_ORACLE_NONE : 0};
        sim_world *w = test_world_desc(&d);
        test_node(w, "n1", deaf_boot, NULL);
        raiser r = {0};
        if (variant != 1) test_spawn(w, "raiser", NO_NODE, raiser_poll, NULL, &r, sizeof r);
        test_run_ok(w);
        uint32_t leaks = test_violations(w, SIM_VIOLATION_LEAK);
        cr_assert(eq(u32, leaks, variant == 0 ? 1 : 0), "variant %d", variant);
        if (variant == 0) {
            const sim_violation *v = test_violation_find(w, SIM_VIOLATION_LEAK, "deaf");
            cr_assert(v != NULL);
            cr_assert(strstr(v->message, "outside any task") != NULL, "%s", v->message);
        }
        sim_world_free(w);
    }
}

/* Boot: binds a datagram socket that belongs to the node and is never closed, and queues a
 * message on a channel whose receiver the node keeps. */
static int socket_boot(void *ud, sim_world *w, sim_node_id node)
{
    sim_udp sock;
    sim_tx tx;
    sim_rx rx;
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(int), .name = "inbox"};
    int one = 1;
    (void)ud;
    (void)node;
    int rc = sim_udp_bind(w, 7000, &sock);
    if (rc == SIM_OK) rc = sim_chan_new(w, &cd, &tx, &rx);
    if (rc == SIM_OK) rc = sim_try_send(w, &tx, &one);
    return rc;
}

/* Goal: after the signal, a socket a node left open and a message nobody received are leaks,
 * named with the node and the channel. */
Test(shutdown, leaked_socket_and_message)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}};
    sim_world *w = test_world_desc(&d);
    test_node(w, "n1", socket_boot, NULL);
    raiser r = {0};
    test_spawn(w, "raiser", NO_NODE, raiser_poll, NULL, &r, sizeof r);
    test_run_ok(w);
    const sim_violation *v = test_violation_find(w, SIM_VIOLATION_LEAK, NULL);
    cr_assert(v != NULL);
    cr_assert(strstr(v->message, "a net handle left open on n1") != NULL, "%s", v->message);
    cr_assert(strstr(v->message, "1 message(s) never received in channel #") != NULL, "%s",
              v->message);
    cr_assert(strstr(v->message, "(inbox)") != NULL, "%s", v->message);
    sim_world_free(w);
}

/* ---- unread messages and uncollected errors -------------------------------------------------- */

typedef struct dropper {
    sim_co co;
    sim_rx rx;
} dropper;

static int dropper_poll(void *state, sim_world *w)
{
    dropper *s = state;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_sleep(w, SIM_MS));
    sim_rx_drop(w, &s->rx);
    SIM_END(SIM_OK);
}

/* Goal: a receiver dropped with messages queued is an unread finding when the oracle is on,
 * and nothing when it is off (the default). */
Test(oracles, unread_messages)
{
    for (int on = 0; on < 2; on++) {
        sim_world_desc d = {.seed = 1, .oracles = on ? (uint32_t)SIM_ORACLE_UNREAD : 0};
        sim_world *w = test_world_desc(&d);
        sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(int), .capacity = 4,
                            .name = "requests"};
        dropper s = {0};
        sim_tx tx;
        cr_assert(eq(int, sim_chan_new(w, &cd, &tx, &s.rx), SIM_OK));
        int msg = 7;
        cr_assert(eq(int, sim_try_send(w, &tx, &msg), SIM_OK));
        cr_assert(eq(int, sim_try_send(w, &tx, &msg), SIM_OK));
        test_spawn_moves(w, "dropper", NO_NODE, dropper_poll, &s, sizeof s, SIM_MOVES(&s.rx));
        test_run_ok(w);
        cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_UNREAD), on ? 1 : 0));
        if (on) {
            const sim_violation *v = test_violation_find(w, SIM_VIOLATION_UNREAD, "requests");
            cr_assert(v != NULL);
            cr_assert(strstr(v->message, "2 message(s)") != NULL, "%s", v->message);
        }
        sim_world_free(w);
    }
}

typedef struct failer {
    sim_co co;
} failer;

static int failer_poll(void *state, sim_world *w)
{
    failer *s = state;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_sleep(w, SIM_MS));
    SIM_END(SIM_EIO);
}

/* Goal: an error nobody collects is found three ways (detached at spawn, handle detached,
 * handle never awaited), and a collected one or a cancelled one is not. */
Test(oracles, uncollected_errors)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO},
                        .oracles = SIM_ORACLE_UNCOLLECTED};
    sim_world *w = test_world_desc(&d);
    failer f = {0};
    sim_task_desc td = {.name = "failer", .poll = failer_poll, .state = &f,
                        .state_size = sizeof f};
    cr_assert(eq(int, sim_spawn(w, &td, NULL), SIM_OK));
    sim_join detached = test_spawn(w, "failer", NO_NODE, failer_poll, NULL, &f, sizeof f);
    sim_join_detach(w, &detached);
    sim_join kept = test_spawn(w, "failer", NO_NODE, failer_poll, NULL, &f, sizeof f);
    sim_join aborted = test_spawn(w, "failer", NO_NODE, failer_poll, NULL, &f, sizeof f);
    sim_join_abort(w, &aborted);
    test_run_ok(w);
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_UNCOLLECTED), 3));
    cr_assert(test_violation_find(w, SIM_VIOLATION_UNCOLLECTED, "never awaited") != NULL);
    cr_assert(test_violation_find(w, SIM_VIOLATION_UNCOLLECTED, "detached") != NULL);
    cr_assert(test_violation_find(w, SIM_VIOLATION_UNCOLLECTED, "SIM_EIO") != NULL);
    (void)kept;
    sim_world_free(w);
}

/* ---- cancellation ---------------------------------------------------------------------------- */

typedef struct sleeper3 {
    sim_co co;
    int i;
} sleeper3;

static int sleeper3_poll(void *state, sim_world *w)
{
    sleeper3 *s = state;
    SIM_BEGIN(w, &s->co);
    for (s->i = 0; s->i < 3; s->i++) {
        SIM_TRY(sim_sleep(w, SIM_MS));
    }
    SIM_END(SIM_OK);
}

typedef struct parent3 {
    sim_co co;
    sim_join child;
    int *result;
} parent3;

static int parent3_poll(void *state, sim_world *w)
{
    parent3 *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    {
        sleeper3 s = {0};
        sim_task_desc d = {.name = "child", .poll = sleeper3_poll, .state = &s,
                           .state_size = sizeof s};
        cr_assert(eq(int, sim_spawn(w, &d, &p->child), SIM_OK));
    }
    SIM_AWAIT(rc, sim_join_wait(&p->child));
    *p->result = rc;
    SIM_END(SIM_OK);
}

/* Goal: cancel_at = k aborts the task at the k-th cancellable await (only tasks with a live
 * handle count: the detached parent does not), its joiner sees SIM_ECANCELED, and past the
 * last point nothing is cancelled. Method: a child with three sleeps under a detached parent;
 * k = 1..4. */
Test(cancel, cancel_at_each_await)
{
    for (uint64_t k = 1; k <= 4; k++) {
        sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}, .cancel_at = k};
        sim_world *w = test_world_desc(&d);
        int result = SIM_PENDING;
        parent3 p = {.result = &result};
        sim_task_desc td = {.name = "parent", .poll = parent3_poll, .state = &p,
                            .state_size = sizeof p};
        cr_assert(eq(int, sim_spawn(w, &td, NULL), SIM_OK));
        test_run_ok(w);
        cr_assert(eq(int, result, k <= 3 ? SIM_ECANCELED : SIM_OK), "k %llu",
                  (unsigned long long)k);
        cr_assert(eq(u64, sim_world_cancel_points(w), k <= 3 ? k : 3));
        cr_assert(eq(u64, sim_now(w), k <= 3 ? (k - 1) * SIM_MS : 3 * SIM_MS));
        sim_world_free(w);
    }
}

/* Goal: cancel_list aborts at each await it lists (a scripted run's [schedule] cancel), and
 * a list that is not strictly increasing is refused. Method: two parents with a three-sleep
 * child each, one after the other: points 1..3 are the first child's, 4..6 the second's;
 * the list {2, 5} cancels both, at their second sleep. */
Test(cancel, cancel_list_aborts_at_each_listed_await)
{
    uint64_t list[2] = {2, 5};
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}, .cancel_list = list,
                        .cancel_count = 2};
    sim_world *w = test_world_desc(&d);
    for (int t = 0; t < 2; t++) {
        int result = SIM_PENDING;
        parent3 p = {.result = &result};
        sim_task_desc td = {.name = "parent", .poll = parent3_poll, .state = &p,
                            .state_size = sizeof p};
        cr_assert(eq(int, sim_spawn(w, &td, NULL), SIM_OK));
        test_run_ok(w);
        cr_assert(eq(int, result, SIM_ECANCELED), "parent %d", t);
        cr_assert(eq(u64, sim_world_cancel_points(w), t == 0 ? 2 : 5));
    }
    sim_world_free(w);
    uint64_t bad[2] = {5, 5};
    sim_world_desc b = {.seed = 1, .cancel_list = bad, .cancel_count = 2};
    sim_world *none = NULL;
    cr_assert(eq(int, sim_world_new(&b, &none), SIM_EINVAL));
    cr_assert(eq(ptr, none, NULL));
}

/* Goal: cancel_rate 1/1 cancels at the first point; the same seed gives the same trace. */
Test(cancel, cancel_rate_is_deterministic)
{
    uint64_t hash[2];
    for (int i = 0; i < 2; i++) {
        sim_world_desc d = {.seed = 9, .cancel_rate = {1, 2}};
        sim_world *w = test_world_desc(&d);
        for (int t = 0; t < 4; t++) {
            int result = SIM_PENDING;
            parent3 p = {.result = &result};
            sim_task_desc td = {.name = "parent", .poll = parent3_poll, .state = &p,
                                .state_size = sizeof p};
            cr_assert(eq(int, sim_spawn(w, &td, NULL), SIM_OK));
            test_run_ok(w);
        }
        hash[i] = sim_world_trace_hash(w);
        sim_world_free(w);
    }
    cr_assert(eq(u64, hash[0], hash[1]));
}

/* ---- the other-branch kind: branch_at ------------------------------------------------------- */

/* A select of a cancelled token and a receive with a message queued (both ready), then a
 * timeout of 1 s around a 10 ms sleep. */
typedef struct branch_seen {
    int msg;
    int which;
    int select_rc;
    int timeout_rc;
    uint64_t timeout_at;
} branch_seen;

typedef struct brancher {
    sim_co co;
    sim_token tok;
    sim_tx tx;
    sim_rx rx;
    branch_seen *b;          /* the test's (the state is copied into the task) */
} brancher;

static int brancher_poll(void *state, sim_world *w)
{
    brancher *s = state;
    branch_seen *b = s->b;
    SIM_BEGIN(w, &s->co);
    {
        SIM_ASSERT(sim_token_new(w, NULL, &s->tok) == SIM_OK);
        sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(int)};
        SIM_ASSERT(sim_chan_new(w, &cd, &s->tx, &s->rx) == SIM_OK);
        int seven = 7;
        SIM_ASSERT(sim_try_send(w, &s->tx, &seven) == SIM_OK);
        sim_token_cancel(w, &s->tok);
    }
    SIM_AWAIT(b->select_rc, sim_select(w, &b->which, sim_cancelled(&s->tok),
                                       sim_recv(&s->rx, &b->msg)));
    SIM_AWAIT(b->timeout_rc, sim_timeout(w, SIM_S, sim_sleep(w, 10 * SIM_MS)));
    b->timeout_at = sim_now(w);
    sim_token_drop(w, &s->tok);
    sim_tx_drop(w, &s->tx);
    sim_rx_drop(w, &s->rx);
    SIM_END(SIM_OK);
}

/* Goal: branch_at = 1 makes the select's second ready branch win (the message is received,
 * branch 0 dropped unpolled); branch_at = 2 (the timeout's first poll) makes the timeout fire
 * at once with its sleep unpolled, 3 (its poll when the sleep is due) fires it at 10 ms
 * before the sleep is polled; 0 changes nothing; points are counted the same in each
 * run. Method: one task, branch_at = 0, 1, 2, 3. */
Test(cancel, branch_at_makes_the_other_branch_win)
{
    for (uint64_t k = 0; k <= 3; k++) {
        sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}, .branch_at = k};
        sim_world *w = test_world_desc(&d);
        branch_seen b = {0};
        brancher s = {.b = &b};
        test_spawn(w, "brancher", NO_NODE, brancher_poll, NULL, &s, sizeof s);
        test_run_ok(w);
        cr_assert(eq(int, b.which, k == 1 ? 1 : 0), "k %llu", (unsigned long long)k);
        cr_assert(eq(int, b.msg, k == 1 ? 7 : 0));
        cr_assert(eq(int, b.timeout_rc, k >= 2 ? SIM_ETIMEDOUT : SIM_OK));
        cr_assert(eq(u64, b.timeout_at, k == 2 ? 0 : 10 * SIM_MS));
        /* the select once, the timeout at its first poll and (not fired) at its wake */
        cr_assert(eq(u64, sim_world_branch_points(w), k == 2 ? 2 : 3));
        sim_world_free(w);
    }
}

/* Goal: branch_rate draws from its own stream: the same seed flips the same points, and a
 * rate of 1/1 flips every one. Method: two runs at 1/2 compare hashes; one at 1/1. */
Test(cancel, branch_rate_is_deterministic)
{
    uint64_t hash[2];
    for (int i = 0; i < 2; i++) {
        sim_world_desc d = {.seed = 5, .branch_rate = {1, 2}};
        sim_world *w = test_world_desc(&d);
        branch_seen b = {0};
        brancher s = {.b = &b};
        test_spawn(w, "brancher", NO_NODE, brancher_poll, NULL, &s, sizeof s);
        test_run_ok(w);
        hash[i] = sim_world_trace_hash(w);
        sim_world_free(w);
    }
    cr_assert(eq(u64, hash[0], hash[1]));
    sim_world_desc d = {.seed = 5, .branch_rate = {1, 1}};
    sim_world *w = test_world_desc(&d);
    branch_seen b = {0};
    brancher s = {.b = &b};
    test_spawn(w, "brancher", NO_NODE, brancher_poll, NULL, &s, sizeof s);
    test_run_ok(w);
    cr_assert(eq(int, b.which, 1));
    cr_assert(eq(int, b.timeout_rc, SIM_ETIMEDOUT));
    sim_world_free(w);
}
