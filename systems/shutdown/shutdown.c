/*
 * shutdown.c: the supervisor and its components (see shutdown.h), written against sim.h only.
 *
 * Every promise the program makes goes into sim's exactly-once ledger: a call's completion
 * callback (made when the call starts, kept when the callback runs) and a request's reply
 * (made when the request is queued, kept when the worker replies or refuses it). So a lost
 * request or a callback run twice or never is a violation sim reports by itself, with the
 * sites, whatever the schedule that caused it. The shutdown signal is the world's
 * ([scenario] shutdown_at); components hear it through children of the world's token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shutdown.h"

#define CALL_TIMEOUT_NS (5 * SIM_S)
#define GRACE_NS (3 * SIM_S)           /* the supervisor's wait for its components */
#define LEGACY_CHUNK_NS (200 * SIM_MS)
#define LEGACY_OVERRUN_NS (8 * SIM_S)  /* blocking-overrun: one job this long */
#define FETCH_EVERY_NS (300 * SIM_MS)
#define COMPONENTS 5
#define WORK_MIN_MS 1                 /* the worker's time per request */
#define WORK_MAX_MS 5
#define FLUSH_FAILS_ONE_IN 10          /* seeds whose flush fails */

enum {
    BUG_NONE = 0,
    BUG_SELECT_LOSES,
    BUG_CALLBACK_NEVER,
    BUG_CALLBACK_TWICE,
    BUG_HANG_ON_FAILURE,
    BUG_BLOCKING_OVERRUN,
    BUG_NESTED_BLOCK_ON,
    BUG_LEAK,
    BUG_TIMEOUT_NO_CALLBACK,
};

static const char *const bug_names[] = {"none", "select-loses-message", "callback-never",
                                        "callback-twice", "hang-on-failure", "blocking-overrun",
                                        "nested-block-on", "leak", "timeout-no-callback"};

/* The run's state, shared by the tasks of the node (the node never crashes here). The node
 * declares its sharing (touch_declared): bug, requests and flush_fails are set before the run
 * and only read; the counters and the exit code are written by tasks, each with sim_touch and
 * its key below, so that sim explore knows which steps meet there. */
enum { TOUCH_CALLBACKS = 1, TOUCH_REFUSED = 2, TOUCH_EXIT = 3 };
typedef struct app {
    int bug;                 /* BUG_* */
    uint32_t requests;       /* calls the requester makes */
    bool flush_fails;        /* this seed's flush fails (one in three) */
    uint32_t callbacks;      /* callbacks run */
    uint32_t refused;        /* requests the worker refused at shutdown */
    int exit_code;           /* the supervisor's result; SIM_PENDING while it runs */
} app;

/* A request: its number, where the reply goes (a oneshot sender, carried as a handle) and
 * the obligation to answer it. */
typedef struct request {
    uint32_t n;
    sim_obligation reply_ob;
    sim_tx reply;
} request;

/* What every component starts with. */
typedef struct component_base {
    sim_co co;
    app *a;
    sim_token stop;          /* a child of the supervisor's token */
    sim_tx done;             /* hang-on-failure: where a clean exit says so; else empty */
} component_base;

/* A clean exit says so on the done channel (hang-on-failure's supervisor counts on it). */
static void say_done(sim_world *w, const component_base *b)
{
    if (!sim_handle_valid(w, &b->done)) return;
    int one = 1;
    (void)sim_try_send(w, &b->done, &one);
}

/* ---- calls: a request and its completion callback -------------------------------------------- */

typedef struct call {
    sim_co co;
    app *a;
    sim_tx queue;            /* the worker's queue (a clone) */
    uint32_t n;
    sim_obligation cb_ob;    /* the callback runs exactly once */
    bool sent;
    bool done;               /* the callback has run */
    sim_rx reply_rx;
    request req;
    int reply;
} call;

/* The completion callback: what the caller of the call is told. */
static void call_callback(sim_world *w, call *c, int rc)
{
    (void)rc;
    sim_touch(w, TOUCH_CALLBACKS);
    c->a->callbacks++;
    sim_discharge(w, c->cb_ob, SIM_SITE);
}

/* Queues the request; a request the worker cannot take any more is refused at once. */
static int call_send(sim_world *w, call *c)
{
    sim_chan_desc od = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(int), .name = "reply"};
    int rc = sim_chan_new(w, &od, &c->req.reply, &c->reply_rx);
    if (rc != SIM_OK) return rc;
    c->req.n = c->n;
    rc = sim_oblige(w, "reply to a request", SIM_SITE, 0, &c->req.reply_ob);
    if (rc != SIM_OK) return rc;
    rc = sim_try_send(w, &c->queue, &c->req);
    if (rc != SIM_OK) {
        sim_discharge(w, c->req.reply_ob, SIM_SITE); /* refused: the caller knows */
        sim_tx_drop(w, &c->req.reply);
        return rc;
    }
    c->sent = true;
    return SIM_OK;
}

static int call_poll(void *state, sim_world *w)
{
    call *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    rc = sim_oblige(w, "a call's completion callback", SIM_SITE, 0, &c->cb_ob);
    SIM_ASSERT(rc == SIM_OK);
    rc = call_send(w, c);
    if (rc == SIM_OK) {
        SIM_AWAIT(rc, sim_timeout(w, CALL_TIMEOUT_NS, sim_recv(&c->reply_rx, &c->reply)));
    }
    if (rc == SIM_ETIMEDOUT && c->a->bug == BUG_TIMEOUT_NO_CALLBACK) {
        c->done = true; /* "the caller retries on its own timer": nobody is told */
        SIM_RETURN(SIM_OK);
    }
    if (c->a->bug == BUG_CALLBACK_TWICE) {
        call_callback(w, c, rc);
        SIM_AWAIT(rc, sim_sleep(w, SIM_MS)); /* "log the completion", then mark it done */
        c->done = true;
    } else {
        c->done = true;
        call_callback(w, c, rc);
    }
    SIM_END(SIM_OK);
}

/* Aborted (the requester dropped its calls at shutdown, or a cancellation): the callback
 * still runs, with SIM_ECANCELED, unless it ran already. */
static void call_drop(void *state, sim_world *w)
{
    call *c = state;
    if (c->done || sim_task_end_result(w) == SIM_ECRASHED) return;
    if (c->a->bug == BUG_CALLBACK_NEVER && c->sent) return; /* "the worker will answer" */
    c->done = true;
    call_callback(w, c, SIM_ECANCELED);
}

/* ---- requester ------------------------------------------------------------------------------- */

typedef struct requester {
    component_base b;
    sim_token term;          /* the world's signal, heard directly (a child of it) */
    sim_tx queue;
    sim_rng rng;
    sim_task_set calls;
    uint32_t i;
    int which;
    int rc;
} requester;

static int requester_issue(sim_world *w, requester *r)
{
    call c = {.a = r->b.a, .n = r->i};
    int rc = sim_tx_clone(w, &r->queue, &c.queue);
    if (rc != SIM_OK) return rc;
    sim_task_desc d = {.name = "call", .poll = call_poll, .drop = call_drop, .state = &c,
                       .state_size = sizeof c, .moves = SIM_MOVES(&c.queue)};
    return sim_task_set_spawn(w, &r->calls, &d, NULL);
}

/* On the signal the requester flushes its session: one last request, nobody waiting for
 * its reply (the worker answers or refuses it all the same). */
static void requester_flush(sim_world *w, requester *r)
{
    request req = {.n = UINT32_MAX};
    sim_rx rx;
    sim_chan_desc od = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(int), .name = "reply"};
    SIM_ASSERT(sim_chan_new(w, &od, &req.reply, &rx) == SIM_OK);
    sim_rx_drop(w, &rx);
    SIM_ASSERT(sim_oblige(w, "reply to a request", SIM_SITE, 0, &req.reply_ob) == SIM_OK);
    if (sim_try_send(w, &r->queue, &req) != SIM_OK) {
        sim_discharge(w, req.reply_ob, SIM_SITE); /* the worker is gone: refused */
        sim_tx_drop(w, &req.reply);
    }
}

static int requester_poll(void *state, sim_world *w)
{
    requester *r = state;
    SIM_BEGIN(w, &r->b.co);
    SIM_ASSERT(sim_task_set_new(w, &r->calls) == SIM_OK);
    SIM_ASSERT(sim_shutdown_token(w, &r->term) == SIM_OK);
    for (r->i = 0; r->i < r->b.a->requests; r->i++) {
        SIM_AWAIT(r->rc, sim_select(w, &r->which, sim_cancelled(&r->b.stop),
                                    sim_cancelled(&r->term),
                                    sim_sleep(w, sim_rng_range(&r->rng, 50, 200) * SIM_MS)));
        if (r->which != 2) break;
        if (requester_issue(w, r) != SIM_OK) break; /* the worker is gone: nobody to ask */
    }
    if (sim_token_is_cancelled(w, &r->term)) requester_flush(w, r);
    sim_token_drop(w, &r->term);
    /* Calls that finish before the signal are collected; at the signal the ones in flight
     * are dropped (their callbacks run with SIM_ECANCELED). */
    while (!sim_token_is_cancelled(w, &r->b.stop) && sim_task_set_len(w, &r->calls) > 0) {
        SIM_AWAIT(r->rc, sim_select(w, &r->which, sim_cancelled(&r->b.stop),
                                    sim_task_set_next(&r->calls, NULL, NULL)));
    }
    SIM_TRY(sim_cancelled(&r->b.stop)); /* a service: it runs until it is told to stop */
    sim_task_set_drop(w, &r->calls);
    say_done(w, &r->b);
    SIM_END(SIM_OK);
}

/* ---- worker ---------------------------------------------------------------------------------- */

typedef struct worker {
    component_base b;
    sim_rx queue;
    sim_rng rng;
    request req;
    bool holding;            /* req was taken and is not answered yet */
    int which;
    int rc;
    /* select-loses-message: the receive and the processing in one branch */
    struct take {
        sim_co co;
        struct worker *wk;
    } take;
} worker;

/* The time the worker spends on one request. */
static uint64_t work_ns(worker *wk)
{
    return sim_rng_range(&wk->rng, WORK_MIN_MS, WORK_MAX_MS) * SIM_MS;
}

/* Answers a request (the reply may find its caller gone: the promise is kept either way). */
static void worker_reply(sim_world *w, worker *wk, int result)
{
    (void)sim_try_send(w, &wk->req.reply, &result);
    sim_tx_drop(w, &wk->req.reply);
    sim_discharge(w, wk->req.reply_ob, SIM_SITE);
}

/* The buggy branch: receiving and processing under the same select as the token. */
static int take_poll(void *state, sim_world *w)
{
    struct take *t = state;
    worker *wk = t->wk;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_TRY(sim_recv(&wk->queue, &wk->req));
    SIM_AWAIT(rc, sim_sleep(w, work_ns(wk)));
    worker_reply(w, wk, SIM_OK);
    SIM_END(SIM_OK);
}

/* A heartbeat the worker keeps while it runs; leak: it never looks at the token. */
typedef struct heartbeat {
    sim_co co;
    sim_token stop;
    int bug;
    int which;
} heartbeat;

static int heartbeat_poll(void *state, sim_world *w)
{
    heartbeat *h = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &h->co);
    for (;;) {
        if (h->bug == BUG_LEAK) {
            SIM_AWAIT(rc, sim_sleep(w, 100 * SIM_MS));
        } else {
            SIM_AWAIT(rc, sim_select(w, &h->which, sim_cancelled(&h->stop),
                                     sim_sleep(w, 100 * SIM_MS)));
            if (h->which == 0) break;
        }
    }
    SIM_END(SIM_OK);
}

static int worker_start_heartbeat(sim_world *w, worker *wk)
{
    heartbeat h = {.bug = wk->b.a->bug};
    int rc = sim_token_clone(w, &wk->b.stop, &h.stop);
    if (rc != SIM_OK) return rc;
    sim_task_desc d = {.name = "heartbeat", .poll = heartbeat_poll, .state = &h,
                       .state_size = sizeof h, .daemon = true, .moves = SIM_MOVES(&h.stop)};
    return sim_spawn(w, &d, NULL);
}

/* Refuses what is queued: every request gets an answer. */
static void worker_refuse_queued(sim_world *w, worker *wk)
{
    while (sim_try_recv(w, &wk->queue, &wk->req) == SIM_OK) {
        sim_touch(w, TOUCH_REFUSED);
        wk->b.a->refused++;
        worker_reply(w, wk, SIM_ECANCELED);
    }
}

static int worker_poll(void *state, sim_world *w)
{
    worker *wk = state;
    SIM_BEGIN(w, &wk->b.co);
    SIM_ASSERT(worker_start_heartbeat(w, wk) == SIM_OK);
    for (;;) {
        if (wk->b.a->bug == BUG_SELECT_LOSES) {
            wk->take = (struct take){.wk = wk};
            SIM_AWAIT(wk->rc, sim_select(w, &wk->which, sim_cancelled(&wk->b.stop),
                                         sim_call(&wk->take, take_poll)));
            if (wk->which == 0 || wk->rc != SIM_OK) break;
        } else {
            SIM_AWAIT(wk->rc, sim_select(w, &wk->which, sim_cancelled(&wk->b.stop),
                                         sim_recv(&wk->queue, &wk->req)));
            if (wk->which == 0 || wk->rc != SIM_OK) break;
            wk->holding = true;
            SIM_AWAIT(wk->rc, sim_sleep(w, work_ns(wk)));
            wk->holding = false;
            worker_reply(w, wk, SIM_OK);
        }
    }
    worker_refuse_queued(w, wk);
    say_done(w, &wk->b);
    SIM_END(SIM_OK);
}

/* Aborted (the supervisor's grace ran out, or a cancellation): the request in hand and those
 * queued are refused, so that no caller waits for an answer that cannot come. A crashed
 * process answers nothing. */
static void worker_drop(void *state, sim_world *w)
{
    worker *wk = state;
    if (sim_task_end_result(w) == SIM_ECRASHED) return;
    if (wk->holding) {
        wk->holding = false;
        worker_reply(w, wk, SIM_ECANCELED);
    }
    worker_refuse_queued(w, wk);
}

/* ---- legacy code on the blocking pool -------------------------------------------------------- */

typedef struct legacy_job {
    uint64_t ns;
} legacy_job;

static int legacy_run(void *state, sim_world *w)
{
    const legacy_job *j = state;
    return sim_job_charge(w, j->ns);
}

typedef struct legacy {
    component_base b;
    legacy_job job;
    int rc;
} legacy;

static int legacy_poll(void *state, sim_world *w)
{
    legacy *l = state;
    SIM_BEGIN(w, &l->b.co);
    l->job.ns = l->b.a->bug == BUG_BLOCKING_OVERRUN ? LEGACY_OVERRUN_NS : LEGACY_CHUNK_NS;
    while (!sim_token_is_cancelled(w, &l->b.stop)) {
        SIM_AWAIT(l->rc, sim_blocking(&(sim_job_desc){.name = "legacy-scan", .run = legacy_run,
                                                      .state = &l->job,
                                                      .state_size = sizeof l->job}));
    }
    say_done(w, &l->b);
    SIM_END(SIM_OK);
}

/* ---- flusher and fetcher --------------------------------------------------------------------- */

typedef struct flusher {
    component_base b;
    int rc;
} flusher;

static int flusher_poll(void *state, sim_world *w)
{
    flusher *f = state;
    SIM_BEGIN(w, &f->b.co);
    SIM_TRY(sim_cancelled(&f->b.stop));
    SIM_TRY(sim_sleep(w, 50 * SIM_MS));
    if (f->b.a->flush_fails) SIM_RETURN(SIM_EIO); /* no "done": it failed */
    say_done(w, &f->b);
    SIM_END(SIM_OK);
}

/* The library (seed 004): an async fetch, or, under nested-block-on, a synchronous wrapper
 * that runs its own loop with sim_block_on, from inside the task. */
typedef struct lib_fetch {
    sim_co co;
} lib_fetch;

static int lib_fetch_poll(void *state, sim_world *w)
{
    lib_fetch *l = state;
    SIM_BEGIN(w, &l->co);
    SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    SIM_END(SIM_OK);
}

typedef struct fetcher {
    component_base b;
    lib_fetch lib;
    int which;
    int rc;
} fetcher;

static int fetcher_poll(void *state, sim_world *w)
{
    fetcher *f = state;
    SIM_BEGIN(w, &f->b.co);
    for (;;) {
        SIM_AWAIT(f->rc, sim_select(w, &f->which, sim_cancelled(&f->b.stop),
                                    sim_sleep(w, FETCH_EVERY_NS)));
        if (f->which == 0) break;
        if (f->b.a->bug == BUG_NESTED_BLOCK_ON) {
            f->rc = sim_block_on(w, sim_sleep(w, 10 * SIM_MS)); /* "fetch_blocking()" */
        } else {
            f->lib = (lib_fetch){0};
            SIM_AWAIT(f->rc, sim_call(&f->lib, lib_fetch_poll));
        }
    }
    say_done(w, &f->b);
    SIM_END(SIM_OK);
}

/* ---- the supervisor -------------------------------------------------------------------------- */

typedef struct supervisor {
    sim_co co;
    app *a;
    sim_token signal;        /* the world's shutdown, as this program hears it */
    sim_token all;           /* parent of every component's token */
    sim_task_set set;
    sim_tx done_tx;          /* hang-on-failure only */
    sim_rx done_rx;
    uint32_t dones;
    int done_msg;
    int which;
    int rc;
    sim_task_id first;       /* a component that ended before the signal */
} supervisor;

/* Fills a component's base: a child token, and a done sender under hang-on-failure. */
static int base_make(sim_world *w, supervisor *s, component_base *b)
{
    *b = (component_base){.a = s->a};
    int rc = sim_token_new(w, &s->all, &b->stop);
    if (rc == SIM_OK && s->a->bug == BUG_HANG_ON_FAILURE) {
        rc = sim_tx_clone(w, &s->done_tx, &b->done);
    }
    return rc;
}

static int spawn_component(sim_world *w, supervisor *s, const char *name, sim_poll_cb poll,
                           void *state, size_t size, component_base *b, const void *extra)
{
    sim_drop_cb drop = poll == worker_poll ? worker_drop : NULL;
    const void *moves[4];
    uint32_t n = 0;
    moves[n++] = &b->stop;
    if (sim_handle_valid(w, &b->done)) moves[n++] = &b->done;
    if (extra != NULL) moves[n++] = extra;
    moves[n] = NULL;
    sim_task_desc d = {.name = name, .poll = poll, .drop = drop, .state = state,
                       .state_size = size, .moves = moves};
    return sim_task_set_spawn(w, &s->set, &d, NULL);
}

static int start_components(sim_world *w, supervisor *s)
{
    sim_chan_desc qd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(request), .name = "requests",
                        .handle_at = {offsetof(request, reply)}, .handle_count = 1};
    requester r = {0};
    worker wk = {0};
    legacy l = {0};
    flusher f = {0};
    fetcher fe = {0};
    sim_world_rng(w, "sut/shutdown/requester", 0, &r.rng);
    sim_world_rng(w, "sut/shutdown/worker", 0, &wk.rng);
    int rc = sim_chan_new(w, &qd, &r.queue, &wk.queue);
    if (rc == SIM_OK) rc = base_make(w, s, &r.b);
    if (rc == SIM_OK) rc = base_make(w, s, &wk.b);
    if (rc == SIM_OK) rc = base_make(w, s, &l.b);
    if (rc == SIM_OK) rc = base_make(w, s, &f.b);
    if (rc == SIM_OK) rc = base_make(w, s, &fe.b);
    if (rc != SIM_OK) return rc;
    rc = spawn_component(w, s, "requester", requester_poll, &r, sizeof r, &r.b, &r.queue);
    if (rc == SIM_OK) {
        rc = spawn_component(w, s, "worker", worker_poll, &wk, sizeof wk, &wk.b, &wk.queue);
    }
    if (rc == SIM_OK) rc = spawn_component(w, s, "legacy", legacy_poll, &l, sizeof l, &l.b, NULL);
    if (rc == SIM_OK) rc = spawn_component(w, s, "flusher", flusher_poll, &f, sizeof f, &f.b, NULL);
    if (rc == SIM_OK) {
        rc = spawn_component(w, s, "fetcher", fetcher_poll, &fe, sizeof fe, &fe.b, NULL);
    }
    return rc;
}

static int supervisor_poll(void *state, sim_world *w)
{
    supervisor *s = state;
    SIM_BEGIN(w, &s->co);
    SIM_ASSERT(sim_shutdown_token(w, &s->signal) == SIM_OK);
    SIM_ASSERT(sim_token_new(w, NULL, &s->all) == SIM_OK);
    SIM_ASSERT(sim_task_set_new(w, &s->set) == SIM_OK);
    if (s->a->bug == BUG_HANG_ON_FAILURE) {
        sim_chan_desc dd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(int), .name = "done"};
        SIM_ASSERT(sim_chan_new(w, &dd, &s->done_tx, &s->done_rx) == SIM_OK);
    }
    SIM_ASSERT(start_components(w, s) == SIM_OK);
    /* Run until the signal, or until a component ends first (early exit). */
    SIM_AWAIT(s->rc, sim_select(w, &s->which, sim_cancelled(&s->signal),
                                sim_task_set_next(&s->set, &s->first, NULL)));
    sim_token_cancel(w, &s->all);
    if (s->a->bug == BUG_HANG_ON_FAILURE) {
        /* Waits for a "done" from each component still running; it holds a sender itself. */
        for (s->dones = s->which == 0 ? 0 : 1; s->dones < COMPONENTS; s->dones++) {
            SIM_TRY(sim_recv(&s->done_rx, &s->done_msg));
        }
    } else {
        while (sim_task_set_len(w, &s->set) > 0) {
            SIM_AWAIT(s->rc, sim_timeout(w, GRACE_NS, sim_task_set_next(&s->set, NULL, NULL)));
            if (s->rc == SIM_ETIMEDOUT) break; /* the grace is over: abort the rest */
        }
    }
    sim_task_set_drop(w, &s->set);
    sim_touch(w, TOUCH_EXIT);
    s->a->exit_code = SIM_OK;
    SIM_END(SIM_OK);
}

static int boot_app(void *ud, sim_world *w, sim_node_id node)
{
    supervisor s = {.a = ud};
    sim_task_desc d = {.name = "supervisor", .node = node, .poll = supervisor_poll, .state = &s,
                       .state_size = sizeof s};
    return sim_spawn(w, &d, NULL);
}

/* ---- the system ------------------------------------------------------------------------------ */

static const sim_key_spec shutdown_keys[] = {
    {"shutdown", "requests", SIM_KEY_UINT, "20", NULL, 1, 10000, "calls the requester makes"},
    {"shutdown", "bug", SIM_KEY_CHOICE, "none",
     "none|select-loses-message|callback-never|callback-twice|hang-on-failure|"
     "blocking-overrun|nested-block-on|leak|timeout-no-callback",
     0, 0, "a planted bug, for testing sim itself (docs/systems/shutdown.md)"},
};

static int shutdown_sys_setup(void *ud, sim_world *w, const sim_scenario *sc, void **out,
                              char *err, size_t err_size)
{
    (void)ud;
    app *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    *out = a;
    if (sim_scenario_uint(sc, "scenario", "shutdown_at") == 0) {
        snprintf(err, err_size, "the shutdown system needs [scenario] shutdown_at (the signal "
                 "its supervisor waits for)");
        return SIM_EINVAL;
    }
    a->requests = (uint32_t)sim_scenario_uint(sc, "shutdown", "requests");
    const char *bug = sim_scenario_get(sc, "shutdown", "bug");
    for (int i = 0; i < (int)(sizeof bug_names / sizeof bug_names[0]); i++) {
        if (strcmp(bug, bug_names[i]) == 0) a->bug = i;
    }
    sim_rng rng;
    sim_world_rng(w, "sut/shutdown/flush", 0, &rng);
    a->flush_fails = sim_rng_below(&rng, FLUSH_FAILS_ONE_IN) == 0;
    a->exit_code = SIM_PENDING;
    sim_node_desc nd = {.name = "app", .boot = boot_app, .boot_ud = a, .touch_declared = true};
    int rc = sim_node_add(w, &nd, NULL);
    if (rc != SIM_OK) snprintf(err, err_size, "%s", sim_result_str(rc));
    return rc;
}

static void shutdown_sys_teardown(void *ud, void *state)
{
    (void)ud;
    free(state);
}

static uint32_t shutdown_sys_nodes(void *ud, const sim_scenario *sc, const char **names,
                                   uint32_t max)
{
    (void)ud;
    (void)sc;
    if (max > 0) names[0] = "app";
    return 1;
}

const sim_system sim_shutdown_system = {
    .name = "shutdown",
    .summary = "a supervisor shutting down components (tasks, blocking jobs, a library that "
               "blocks on its own loop) on a signal, with a grace period; sim's oracles judge",
    .keys = shutdown_keys,
    .key_count = sizeof shutdown_keys / sizeof shutdown_keys[0],
    .setup = shutdown_sys_setup,
    .teardown = shutdown_sys_teardown,
    .nodes = shutdown_sys_nodes,
    .shrink = "shutdown.requests",
};
