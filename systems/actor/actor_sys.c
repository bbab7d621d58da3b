/*
 * actor_sys.c: the actor system under test (registered as "actor"): a workload on the
 * runtime and bridge of actor.h, and the checks of reference B.7.
 *
 * A supervisor actor owns `workers` worker actors and restarts each one that dies, after a
 * short backoff; a restarted worker sits in Prep for a while (its prep call comes by timer),
 * so calls made meanwhile wait in its Prep queue. Workers answer requests through Rets, now
 * or later (a Ret they keep, act_ret_keep), and serve streams in batches on `more` requests;
 * any of those calls may fail the worker (`fail_pct`), which drops the Rets it kept and the
 * stream it was feeding. `clients` bridge tasks each do `rounds` operations, each drawn from
 * the three mappings of the bridge: a push pipe (a request with a Ret, awaited as a future),
 * a pull pipe (sometimes made and then abandoned unpolled), or a stream of items; each in
 * drop-task or result mode. A client dropped at an await (drop mode) is respawned by the
 * driver and goes on with the rounds left. Between operations a client sleeps through the
 * bridge (a timer firing a push pipe's Ret). Then the driver drops the supervisor, and the
 * whole tree ends.
 *
 * Its checks: act_sys_check (every Ret fired exactly once or was lost with a crashed node,
 * with where a leaked one was made; no call on a Zombie or before Ready; calls in order;
 * stop causes once; no bridge task left hanging; no stream lost items or ended silently;
 * no foreign future in a bridge task), then the values the clients saw (a reply is twice the
 * request, stream items come in order), then that the clients did their rounds.
 *
 * Node crashes (the node "n1" hosts everything) lose the runtime with its actors and tasks;
 * the Rets made there are lost with it, not leaked; the next boot goes on with the rounds
 * left. Planted bugs: [actor] bug (actor.h, docs/systems/actor.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"

#define MAX_WORKERS 16
#define MAX_CLIENTS 32
#define KEEP_MAX 4                          /* Rets a worker keeps at once */
#define DEADLINE_NS (5 * SIM_S)             /* a boot's clients have this long */
#define THINK_MAX_NS (3 * SIM_MS)
#define PREP_MAX_NS (2 * SIM_MS)            /* a restarted worker's time in Prep */
#define BACKOFF_MAX_NS (5 * SIM_MS)
#define LATER_MAX_NS (4 * SIM_MS)           /* a kept Ret's wait */
#define STREAM_MAX 40
#define PULL_ANSWER 7

typedef struct wl wl;

/* The supervisor's link to one child slot, for the child's notify Ret. */
typedef struct child_slot {
    wl *wl;
    uint32_t index;
} child_slot;

/* One client: its rounds go on across respawns and boots. */
typedef struct client_slot {
    wl *wl;
    uint32_t index;
    uint32_t left;           /* rounds not yet begun */
    uint32_t spawns;         /* for the rng stream of each incarnation */
    bool running;            /* a bridge task of it is live */
} client_slot;

struct wl {
    act_sys *sys;
    sim_world *w;
    sim_node_id node;
    uint32_t workers, clients, rounds;
    sim_ratio fail;
    bool shutdown;           /* the driver dropped the supervisor */
    act_actor sup;
    act_actor cur[MAX_WORKERS];   /* each slot's current worker (weak) */
    child_slot child[MAX_WORKERS];
    client_slot cl[MAX_CLIENTS];
    uint32_t running;        /* clients with a live task */
    /* What the clients saw. */
    uint64_t ok, failed, dropped, abandoned, items, stream_fails, restarts;
    uint32_t bad;            /* wrong values */
    char first_bad[200];
};

static void bad(wl *l, const char *what, int64_t got, int64_t want)
{
    if (l->bad++ > 0) return;
    snprintf(l->first_bad, sizeof l->first_bad, "%s: got %lld, want %lld", what,
             (long long)got, (long long)want);
}

/* ---- workers --------------------------------------------------------------------------------- */

typedef struct worker {
    wl *wl;
    sim_rng rng;
    act_ret kept[KEEP_MAX];
    int64_t kept_x[KEEP_MAX];
    uint32_t nkept;
    act_fwd out;             /* the stream it feeds, or none */
    int64_t next, total;
} worker;

static bool roll_fail(worker *k)
{
    return sim_rng_ratio(&k->rng, k->wl->fail);
}

static void w_init(act_cx *cx, void *self, bool some, act_val *v)
{
    worker *k = self;
    (void)some;
    k->wl = (wl *)(uintptr_t)v->b;
    sim_world_rng(act_sys_world(act_cx_sys(cx)), "sut/actor/worker", act_cx_self(cx).id,
                  &k->rng);
    act_cx_ready(cx);
}

static void w_later(act_cx *cx, void *self, bool some, act_val *v);

/* A request: a = x; the reply (2x) goes through v.ret, now or later, unless the worker fails
 * first (the Ret left in the message then fires none when the handler returns). */
static void w_request(act_cx *cx, void *self, bool some, act_val *v)
{
    worker *k = self;
    act_sys *sys = act_cx_sys(cx);
    if (!some) return;
    if (roll_fail(k)) {
        act_cx_fail(cx, 1);
        return;
    }
    if (k->nkept < KEEP_MAX && sim_rng_below(&k->rng, 3) == 0) {
        act_ret r = act_ret_take(&v->ret);
        k->kept[k->nkept] = r;
        k->kept_x[k->nkept++] = v->a;
        act_ret_keep(cx, r);
        act_ret later = act_ret_to_actor(sys, act_cx_self(cx), w_later, ACT_SITE);
        act_after(sys, act_cx_node(cx), sim_rng_below(&k->rng, LATER_MAX_NS + 1), later,
                  (act_val){0});
        return;
    }
    act_ret_fire(sys, &v->ret, (act_val){.a = 2 * v->a});
}

static void w_later(act_cx *cx, void *self, bool some, act_val *v)
{
    worker *k = self;
    (void)some;
    (void)v;
    if (k->nkept == 0) return;
    if (roll_fail(k)) {
        act_cx_fail(cx, 2);
        return;
    }
    act_ret r = k->kept[0];
    int64_t x = k->kept_x[0];
    memmove(k->kept, k->kept + 1, (k->nkept - 1) * sizeof k->kept[0]);
    memmove(k->kept_x, k->kept_x + 1, (k->nkept - 1) * sizeof k->kept_x[0]);
    k->nkept--;
    act_ret_fire(act_cx_sys(cx), &r, (act_val){.a = 2 * x});
}

/* A pull pipe's request: v.ret is the reply Ret. */
static void w_pull(act_cx *cx, void *self, bool some, act_val *v)
{
    worker *k = self;
    if (!some) return; /* the pull was dropped unpolled: its request Ret fired none */
    if (roll_fail(k)) {
        act_cx_fail(cx, 3);
        return;
    }
    act_ret_fire(act_cx_sys(cx), &v->ret, (act_val){.a = PULL_ANSWER});
}

/* A stream request: a = items, fwd = the stream's Fwd. One stream at a time: a second gets
 * an empty stream. */
static void w_stream(act_cx *cx, void *self, bool some, act_val *v)
{
    worker *k = self;
    act_sys *sys = act_cx_sys(cx);
    if (!some || v->fwd.id == 0) return;
    if (k->out.id != 0) {
        act_fwd_send(sys, v->fwd, false, (act_val){0});
        return;
    }
    k->out = act_fwd_take(&v->fwd);
    k->next = 0;
    k->total = v->a;
}

/* The stream's consumer found its queue empty: a batch of 1..4, maybe failing midway. */
static void w_more(act_cx *cx, void *self, bool some, act_val *v)
{
    worker *k = self;
    act_sys *sys = act_cx_sys(cx);
    (void)some;
    (void)v;
    if (k->out.id == 0) return; /* an extra request (a spurious resume's): tolerated */
    uint64_t batch = 1 + sim_rng_below(&k->rng, 4);
    for (uint64_t i = 0; i < batch && k->next < k->total; i++) {
        act_fwd_send(sys, k->out, true, (act_val){.a = k->next++});
        if (roll_fail(k)) {
            act_cx_fail(cx, 4); /* items sent so far stay queued in the stream */
            return;
        }
    }
    if (k->next == k->total) {
        act_fwd_send(sys, k->out, false, (act_val){0});
        act_fwd_drop(sys, &k->out);
    }
}

static void w_drop(act_cx *cx, void *self)
{
    worker *k = self;
    act_fwd_drop(act_cx_sys(cx), &k->out); /* the stream's guard: ActorFail or drop */
}

static const act_type worker_type = {.name = "worker", .size = sizeof(worker), .drop = w_drop};

/* ---- the supervisor -------------------------------------------------------------------------- */

typedef struct supervisor {
    wl *wl;
    act_own child[MAX_WORKERS];
} supervisor;

static void sup_child_died(act_cx *cx, void *self, bool some, act_val *v);

static void child_notify(void *ud, act_sys *sys, bool some, act_val *v)
{
    child_slot *c = ud;
    if (!some) return;
    act_call(sys, c->wl->sup, sup_child_died, (act_val){.a = v->a, .b = c->index});
}

/* A worker's prep call, by timer: it has sat in Prep meanwhile. */
static void prep_later(void *ud, act_sys *sys, bool some, act_val *v)
{
    wl *l = ud;
    if (!some) return;
    act_call_prep(sys, (act_actor){(uint32_t)v->a}, w_init, (act_val){.b = (int64_t)(uintptr_t)l});
}

static void start_worker(act_cx *cx, supervisor *s, uint32_t i)
{
    wl *l = s->wl;
    act_sys *sys = act_cx_sys(cx);
    SIM_ASSERT(i < l->workers && s->child[i].id == 0);
    act_ret notify = act_ret_fn(sys, child_notify, &l->child[i], ACT_SITE);
    s->child[i] = act_new(sys, l->node, &worker_type, "worker", notify);
    act_actor a = act_own_actor(s->child[i]);
    l->cur[i] = a;
    sim_rng rng;
    sim_world_rng(l->w, "sut/actor/prep", a.id, &rng);
    act_after(sys, l->node, sim_rng_below(&rng, PREP_MAX_NS + 1),
              act_ret_fn(sys, prep_later, l, ACT_SITE), (act_val){.a = a.id});
}

static void sup_init(act_cx *cx, void *self, bool some, act_val *v)
{
    supervisor *s = self;
    (void)some;
    s->wl = (wl *)(uintptr_t)v->b;
    for (uint32_t i = 0; i < s->wl->workers; i++) start_worker(cx, s, i);
    act_cx_ready(cx);
}

static void sup_restart(act_cx *cx, void *self, bool some, act_val *v)
{
    supervisor *s = self;
    if (!some || s->wl->shutdown) return;
    s->wl->restarts++;
    start_worker(cx, s, (uint32_t)v->b);
}

static void sup_child_died(act_cx *cx, void *self, bool some, act_val *v)
{
    supervisor *s = self;
    act_sys *sys = act_cx_sys(cx);
    uint32_t i = (uint32_t)v->b;
    if (!some || i >= s->wl->workers) return;
    act_own_drop(sys, &s->child[i]); /* the owner of a Zombie: its termination is a no-op */
    if (s->wl->shutdown) return;
    sim_rng rng;
    sim_world_rng(s->wl->w, "sut/actor/backoff", s->wl->cur[i].id, &rng);
    act_ret r = act_ret_to_actor(sys, act_cx_self(cx), sup_restart, ACT_SITE);
    act_after(sys, act_cx_node(cx), 1 + sim_rng_below(&rng, BACKOFF_MAX_NS), r,
              (act_val){.b = i});
}

static void sup_drop(act_cx *cx, void *self)
{
    supervisor *s = self;
    for (uint32_t i = 0; i < MAX_WORKERS; i++) act_own_drop(act_cx_sys(cx), &s->child[i]);
}

static const act_type sup_type = {.name = "supervisor", .size = sizeof(supervisor),
                                  .drop = sup_drop};

/* ---- clients: bridge tasks ------------------------------------------------------------------- */

enum { OP_PUSH = 0, OP_PULL, OP_STREAM, OP_KINDS };

typedef struct client {
    act_task_head head;
    client_slot *slot;
    sim_rng rng;
    uint32_t op;
    act_mode mode;
    act_actor target;
    int64_t x;
    uint32_t pipe;
    act_ret ret;
    act_pull_op pull;
    uint32_t stream;
    int64_t expect;          /* the next stream item */
    int64_t n;               /* items asked for */
    bool failed;             /* the stream said ActorFail */
    act_val v;
    int rc;
} client;

/* The push pipe: a request whose reply Ret is the pipe's. */
static void push_begin(client *c)
{
    wl *l = c->slot->wl;
    c->x = (int64_t)sim_rng_below(&c->rng, 1000);
    c->pipe = act_push_pipe(l->sys, c->mode, &c->ret, ACT_SITE);
    act_call(l->sys, c->target, w_request, (act_val){.a = c->x, .ret = act_ret_take(&c->ret)});
}

static void push_end(client *c)
{
    wl *l = c->slot->wl;
    if (c->rc == ACT_FAIL) {
        l->failed++;
        return;
    }
    SIM_ASSERT(c->rc == SIM_OK);
    if (c->v.a != 2 * c->x) bad(l, "a request's reply", c->v.a, 2 * c->x);
    l->ok++;
}

static void pull_end(client *c)
{
    wl *l = c->slot->wl;
    if (c->rc == ACT_FAIL) {
        l->failed++;
        return;
    }
    if (c->v.a != PULL_ANSWER) bad(l, "a pull's reply", c->v.a, PULL_ANSWER);
    l->ok++;
}

static void stream_begin(client *c)
{
    wl *l = c->slot->wl;
    act_fwd more = act_fwd_to_actor(l->sys, c->target, w_more);
    act_fwd fwd;
    c->stream = act_stream_new(l->sys, c->mode, more, &fwd);
    c->n = 1 + (int64_t)sim_rng_below(&c->rng, STREAM_MAX);
    c->expect = 0;
    c->failed = false;
    act_call(l->sys, c->target, w_stream, (act_val){.a = c->n, .fwd = fwd});
}

/* One item, ActorFail or the end: false when the stream is over. */
static bool stream_step(client *c)
{
    wl *l = c->slot->wl;
    if (c->rc == SIM_OK) {
        if (c->failed) bad(l, "an item after ActorFail", c->v.a, -1);
        if (c->v.a != c->expect) bad(l, "a stream item", c->v.a, c->expect);
        c->expect++;
        l->items++;
        return true;
    }
    if (c->rc == ACT_FAIL) {
        if (c->mode != ACT_RESULT) bad(l, "ActorFail in drop mode", 1, 0);
        c->failed = true;
        l->stream_fails++;
        return true;
    }
    SIM_ASSERT(c->rc == ACT_END);
    /* The end: every item (an empty stream for a busy worker), or ActorFail first. */
    if (!c->failed && c->expect != c->n && c->expect != 0) bad(l, "items", c->expect, c->n);
    if (c->failed) {
        l->failed++;
    } else {
        l->ok++;
    }
    return false;
}

/* Draws the next operation. */
static void pick(client *c)
{
    wl *l = c->slot->wl;
    c->op = (uint32_t)sim_rng_below(&c->rng, OP_KINDS);
    c->mode = sim_rng_below(&c->rng, 2) == 0 ? ACT_DROP_TASK : ACT_RESULT;
    c->target = l->cur[sim_rng_below(&c->rng, l->workers)];
    c->v = (act_val){0};
}

static int client_poll(void *state, sim_world *w)
{
    client *c = state;
    wl *l = c->slot->wl;
    SIM_BEGIN(w, &c->head.co);
    while (c->slot->left > 0) {
        c->slot->left--;
        /* Think: a timer fires a push pipe's Ret. */
        c->pipe = act_push_pipe(l->sys, ACT_DROP_TASK, &c->ret, ACT_SITE);
        act_after(l->sys, l->node, sim_rng_below(&c->rng, THINK_MAX_NS + 1),
                  act_ret_take(&c->ret), (act_val){0});
        SIM_AWAIT(c->rc, act_wait(l->sys, c->pipe, &c->v));
        pick(c);
        if (c->op == OP_PUSH) {
            push_begin(c);
            SIM_AWAIT(c->rc, act_wait(l->sys, c->pipe, &c->v));
            push_end(c);
        } else if (c->op == OP_PULL) {
            c->pull = act_pull(l->sys, c->mode,
                               act_ret_to_actor(l->sys, c->target, w_pull, ACT_SITE), &c->v);
            if (sim_rng_below(&c->rng, 8) == 0) { /* not needed after all */
                sim_fut_drop(w, &c->pull.fut);
                l->abandoned++;
                continue;
            }
            SIM_AWAIT_FUT(c->rc, &c->pull.fut);
            pull_end(c);
        } else {
            stream_begin(c);
            do {
                SIM_AWAIT(c->rc, act_next(l->sys, c->stream, &c->v));
            } while (stream_step(c));
        }
    }
    SIM_END(SIM_OK);
}

static void client_done(void *ud, act_sys *sys, bool some, act_val *v);

static int spawn_client(wl *l, client_slot *s)
{
    client c = {.slot = s};
    sim_world_rng(l->w, "sut/actor/client", (uint64_t)s->index << 32 | s->spawns++, &c.rng);
    act_ret done = act_ret_fn(l->sys, client_done, s, ACT_SITE);
    int rc = act_spawn(l->sys, l->node, client_poll, NULL, &c, sizeof c, done);
    if (rc == SIM_OK) {
        s->running = true;
        l->running++;
    }
    return rc;
}

/* A client task ended: it did its rounds, or was dropped at an await (drop mode): then
 * another goes on with the rounds left. */
static void client_done(void *ud, act_sys *sys, bool some, act_val *v)
{
    client_slot *s = ud;
    wl *l = s->wl;
    (void)sys;
    (void)v;
    SIM_ASSERT(s->running && l->running > 0);
    s->running = false;
    l->running--;
    if (some) return;
    l->dropped++;
    if (s->left > 0 && !l->shutdown) (void)spawn_client(l, s);
}

/* ---- the driver: one per boot ---------------------------------------------------------------- */

typedef struct driver {
    sim_co co;
    wl *wl;
    act_own sup;
    uint64_t deadline_ns;
    uint32_t i;
} driver;

static int driver_poll(void *state, sim_world *w)
{
    driver *d = state;
    wl *l = d->wl;
    SIM_BEGIN(w, &d->co);
    d->sup = act_new(l->sys, l->node, &sup_type, "supervisor", (act_ret){0});
    l->sup = act_own_actor(d->sup);
    act_call_prep(l->sys, l->sup, sup_init, (act_val){.b = (int64_t)(uintptr_t)l});
    for (d->i = 0; d->i < l->clients; d->i++) {
        if (l->cl[d->i].left > 0) SIM_ASSERT(spawn_client(l, &l->cl[d->i]) == SIM_OK);
    }
    d->deadline_ns = sim_now(w) + DEADLINE_NS;
    while (l->running > 0 && sim_now(w) < d->deadline_ns) {
        SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    }
    /* The end: the supervisor goes, and with it every worker. */
    l->shutdown = true;
    act_own_drop(l->sys, &d->sup);
    while (!act_quiet(l->sys, l->node) && sim_now(w) < d->deadline_ns + SIM_S) {
        SIM_TRY(sim_sleep(w, SIM_MS));
    }
    SIM_END(SIM_OK);
}

static int boot_n1(void *ud, sim_world *w, sim_node_id node)
{
    wl *l = ud;
    l->node = node;
    l->shutdown = false;
    l->running = 0;
    memset(l->cur, 0, sizeof l->cur);
    for (uint32_t i = 0; i < l->clients; i++) l->cl[i].running = false;
    int rc = act_boot(l->sys, node);
    if (rc != SIM_OK) return rc;
    driver d = {.wl = l};
    sim_task_desc desc = {.name = "driver", .node = node, .poll = driver_poll, .state = &d,
                          .state_size = sizeof d};
    (void)w;
    return sim_spawn(l->w, &desc, NULL);
}

/* ---- the system ------------------------------------------------------------------------------ */

static const sim_key_spec actor_keys[] = {
    {"actor", "workers", SIM_KEY_UINT, "4", NULL, 1, MAX_WORKERS,
     "worker actors under the supervisor"},
    {"actor", "clients", SIM_KEY_UINT, "4", NULL, 1, MAX_CLIENTS,
     "client bridge tasks"},
    {"actor", "rounds", SIM_KEY_UINT, "20", NULL, 1, 100000, "operations each client does"},
    {"actor", "fail_pct", SIM_KEY_UINT, "5", NULL, 0, 100,
     "percent of worker calls that fail the worker"},
    {"actor", "spurious_pct", SIM_KEY_UINT, "0", NULL, 0, 100,
     "percent of runtime items followed by a spurious resume of a bridge task"},
    {"actor", "bug", SIM_KEY_CHOICE, "none",
     "none|ret-leak|ret-twice|zombie-calls|stream-dropped-first|pull-eager|stream-no-end", 0, 0,
     "a planted bug, for testing sim itself"},
};

static act_bug bug_from(const char *name)
{
    for (uint32_t i = 0; i < ACT_BUG_COUNT; i++) {
        if (strcmp(name, act_bug_names[i]) == 0) return (act_bug)i;
    }
    SIM_ASSERT(0 && "the loader checked the choice");
    return ACT_BUG_NONE;
}

static int actor_sys_setup(void *ud, sim_world *w, const sim_scenario *sc, void **out,
                           char *err, size_t err_size)
{
    (void)ud;
    wl *l = calloc(1, sizeof *l);
    if (l == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    *out = l;
    l->w = w;
    l->workers = (uint32_t)sim_scenario_uint(sc, "actor", "workers");
    l->clients = (uint32_t)sim_scenario_uint(sc, "actor", "clients");
    l->rounds = (uint32_t)sim_scenario_uint(sc, "actor", "rounds");
    l->fail = (sim_ratio){(uint32_t)sim_scenario_uint(sc, "actor", "fail_pct"), 100};
    act_sys_desc d = {
        .bug = bug_from(sim_scenario_get(sc, "actor", "bug")),
        .spurious = {(uint32_t)sim_scenario_uint(sc, "actor", "spurious_pct"), 100},
    };
    SIM_ASSERT(l->workers >= 1 && l->workers <= MAX_WORKERS);
    SIM_ASSERT(l->clients >= 1 && l->clients <= MAX_CLIENTS);
    l->sys = act_sys_new(w, &d);
    for (uint32_t i = 0; i < MAX_WORKERS; i++) l->child[i] = (child_slot){.wl = l, .index = i};
    for (uint32_t i = 0; i < l->clients; i++) {
        l->cl[i] = (client_slot){.wl = l, .index = i, .left = l->rounds};
    }
    sim_node_desc nd = {.name = "n1", .boot = boot_n1, .boot_ud = l};
    int rc = sim_node_add(w, &nd, NULL);
    if (rc != SIM_OK) snprintf(err, err_size, "%s", sim_result_str(rc));
    return rc;
}

static int actor_sys_check(void *ud, void *state, sim_world *w, char *msg, size_t msg_size)
{
    wl *l = state;
    (void)ud;
    (void)w;
    int rc = act_sys_check(l->sys, msg, msg_size);
    if (rc != SIM_OK) return rc;
    if (l->bad > 0) {
        snprintf(msg, msg_size, "values: %s (%u wrong)", l->first_bad, l->bad);
        return SIM_EINVAL;
    }
    uint64_t left = 0;
    for (uint32_t i = 0; i < l->clients; i++) left += l->cl[i].left;
    if (left > 0) {
        snprintf(msg, msg_size, "the clients left %llu of their rounds undone",
                 (unsigned long long)left);
        return SIM_EINVAL;
    }
    if (l->ok == 0) {
        snprintf(msg, msg_size, "no operation succeeded (%llu failed, %llu dropped)",
                 (unsigned long long)l->failed, (unsigned long long)l->dropped);
        return SIM_EINVAL;
    }
    return SIM_OK;
}

static void actor_sys_teardown(void *ud, void *state)
{
    wl *l = state;
    (void)ud;
    if (l == NULL) return;
    act_sys_free(l->sys);
    free(l);
}

static uint32_t actor_sys_nodes(void *ud, const sim_scenario *sc, const char **names,
                                uint32_t max)
{
    (void)ud;
    (void)sc;
    if (max > 0) names[0] = "n1";
    return 1;
}

const sim_system sim_actor_system = {
    .name = "actor",
    .summary = "a never-blocking actor runtime (Stakker) bridged to futures and streams; "
               "every Ret fires exactly once",
    .keys = actor_keys,
    .key_count = sizeof actor_keys / sizeof actor_keys[0],
    .setup = actor_sys_setup,
    .check = actor_sys_check,
    .teardown = actor_sys_teardown,
    .nodes = actor_sys_nodes,
};
