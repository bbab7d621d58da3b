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
 * the mappings of the bridge: a push pipe (a request with a Ret, awaited as a future), a pull
 * pipe (sometimes made and then abandoned unpolled), a stream of items, or a stream forwarded
 * to a sink actor by a task (stream -> Fwd); each in drop-task or result mode. A client
 * dropped at an await (drop mode) is respawned by the driver and goes on with the rounds
 * left. Between operations a client sleeps through the bridge (a timer firing a push pipe's
 * Ret). Then the driver drops the supervisor, and the
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
#define DEADLINE_NS (20 * SIM_S)            /* a boot's clients have this long */
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

/* Remote mode: a frame over the link between the client node and the server node. */
enum { F_REQ = 1, F_PULL, F_STREAM, F_MORE, F_REPLY, F_ITEM, F_END_DROP, F_PING, F_PONG };
#define FRAME_MAGIC 0x61637431u            /* "act1" */

typedef struct frame {
    uint32_t magic;
    uint32_t kind;           /* F_* */
    uint32_t worker;         /* the worker slot (requests) */
    uint32_t token;          /* the client's Ret or stream Fwd it concerns */
    uint32_t some;           /* replies and items: a value (1) or none / the end (0) */
    uint32_t pad;
    int64_t a;
} frame;

/* The client's side of a link: what is waiting for an answer across it. */
typedef struct client_link {
    bool up;
    bool stop;               /* the driver is done with it */
    sim_tx tx;               /* frames to the writer task */
    act_ret *pending;        /* token -> the Ret a reply fires; 0 once answered */
    act_fwd *streams;        /* token -> the stream's Fwd items go to */
    uint32_t ntok, ctok;
    act_ret watch;           /* fires Lost (StopCause::Lost) if the link is lost */
    uint64_t lost;           /* links lost */
} client_link;

#define SRV_LINKS 64
/* The server's side of a link (a ring: links are made one after another). */
typedef struct srv_link {
    bool up;
    sim_tx tx;
} srv_link;

struct wl {
    act_sys *sys;
    sim_world *w;
    sim_node_id srv;         /* where the supervisor and workers live */
    sim_node_id cli;         /* where the driver and the clients live (srv unless remote) */
    bool remote;
    uint32_t workers, clients, rounds;
    sim_ratio fail;
    bool shutdown;           /* the driver dropped the supervisor */
    act_actor sup;
    act_actor cur[MAX_WORKERS];   /* each slot's current worker (weak) */
    child_slot child[MAX_WORKERS];
    client_slot cl[MAX_CLIENTS];
    uint32_t running;        /* clients with a live task */
    client_link link;        /* remote: the client's link to the server */
    srv_link links[SRV_LINKS];
    uint32_t srv_gen;        /* links the server took */
    bool clients_done;       /* the clients begin no more rounds */
    bool drained;            /* remote: no client runs; the server may end */
    bool server_done;        /* remote: the server's tree has ended */
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
    s->child[i] = act_new(sys, l->srv, &worker_type, "worker", notify);
    act_actor a = act_own_actor(s->child[i]);
    l->cur[i] = a;
    sim_rng rng;
    sim_world_rng(l->w, "sut/actor/prep", a.id, &rng);
    act_after(sys, l->srv, sim_rng_below(&rng, PREP_MAX_NS + 1),
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

/* ---- remote mode: the link ------------------------------------------------------------------ */

/* The server node's actors are reached from the client node over one stream connection:
 * requests carry a token for the client's Ret (or stream Fwd), and the server makes proxies
 * for them (act_ret_fn_tag, act_fwd_fn_tag) that send the answer back. Frames go through a
 * channel to a writer task, so that an actor call never blocks. A lost link (the connection
 * reset, or no frame for LINK_TIMEOUT: the client pings) fires none on every Ret waiting
 * across it and drops every stream Fwd (their guards act), and fires the link's watch Ret
 * with StopCause::Lost; on the server, proxies of a lost link send nothing (no call on a
 * dead link). The client reconnects. */
#define PORT 7200
#define PING_NS (100 * SIM_MS)
#define LINK_TIMEOUT_NS SIM_S
#define RECONNECT_NS (20 * SIM_MS)
#define LINK_WAITS 50                      /* a client waits up to 1 s for the link */

static void link_send(wl *l, const sim_tx *tx, frame f)
{
    f.magic = FRAME_MAGIC;
    int rc = sim_try_send(l->w, tx, &f);
    SIM_ASSERT(rc == SIM_OK || rc == SIM_ECLOSED); /* unbounded; closed: the link is going */
}

/* Client: a token for what waits across the link. */
static uint32_t link_token(client_link *k)
{
    if (k->ntok == k->ctok) {
        k->ctok = k->ctok == 0 ? 64 : k->ctok * 2;
        k->pending = realloc(k->pending, k->ctok * sizeof *k->pending);
        k->streams = realloc(k->streams, k->ctok * sizeof *k->streams);
        SIM_ASSERT(k->pending != NULL && k->streams != NULL);
    }
    k->pending[k->ntok] = (act_ret){0};
    k->streams[k->ntok] = (act_fwd){0};
    return k->ntok++;
}

/* Client: a request (F_REQ with a, or F_PULL) whose reply fires `reply`. On a dead link the
 * Ret is dropped at once: none, and nothing is sent. */
static void remote_ask(wl *l, uint32_t kind, uint32_t wi, int64_t a, act_ret reply)
{
    client_link *k = &l->link;
    if (!k->up) {
        act_ret_drop(l->sys, &reply);
        return;
    }
    uint32_t t = link_token(k);
    k->pending[t] = reply;
    link_send(l, &k->tx, (frame){.kind = kind, .worker = wi, .token = t, .a = a});
}

static void remote_stream(wl *l, uint32_t wi, int64_t n, act_fwd fwd)
{
    client_link *k = &l->link;
    if (!k->up) {
        act_fwd_drop(l->sys, &fwd); /* the stream's guard: ActorFail or drop */
        return;
    }
    uint32_t t = link_token(k);
    k->streams[t] = fwd;
    link_send(l, &k->tx, (frame){.kind = F_STREAM, .worker = wi, .token = t, .a = n});
}

/* A pull pipe's request Ret (tag: the worker): it carries the reply Ret. */
static void remote_pull_req(void *ud, act_sys *sys, bool some, act_val *v)
{
    wl *l = ud;
    (void)sys;
    if (!some) return; /* dropped unpolled: nothing to ask */
    remote_ask(l, F_PULL, (uint32_t)act_tag(l->sys), 0, act_ret_take(&v->ret));
}

/* A stream's `more` Fwd (tag: the worker). */
static void remote_more(void *ud, act_sys *sys, bool some, act_val *v)
{
    wl *l = ud;
    (void)sys;
    (void)some;
    (void)v;
    if (l->link.up) {
        link_send(l, &l->link.tx, (frame){.kind = F_MORE, .worker = (uint32_t)act_tag(l->sys)});
    }
}

/* Client: a frame from the server. */
static void client_frame(wl *l, const frame *f)
{
    client_link *k = &l->link;
    if (f->magic != FRAME_MAGIC || f->token >= k->ntok) return;
    if (f->kind == F_REPLY) {
        act_ret r = act_ret_take(&k->pending[f->token]);
        if (f->some) {
            act_ret_fire(l->sys, &r, (act_val){.a = f->a});
        } else {
            act_ret_drop(l->sys, &r);
        }
    } else if (f->kind == F_ITEM && k->streams[f->token].id != 0) {
        act_fwd_send(l->sys, k->streams[f->token], f->some != 0, (act_val){.a = f->a});
        if (!f->some) act_fwd_drop(l->sys, &k->streams[f->token]);
    } else if (f->kind == F_END_DROP) {
        act_fwd_drop(l->sys, &k->streams[f->token]);
    }
}

static void link_watch(void *ud, act_sys *sys, bool some, act_val *v)
{
    wl *l = ud;
    (void)sys;
    if (some) {
        SIM_ASSERT(v->a == ACT_LOST);
        l->link.lost++;
    }
}

static void client_link_up(wl *l, sim_tx tx)
{
    client_link *k = &l->link;
    SIM_ASSERT(!k->up && k->ntok == 0);
    k->up = true;
    k->tx = tx;
    k->watch = act_ret_fn(l->sys, link_watch, l, ACT_SITE);
}

/* The link ends: lost (Lost to the watch) or closed by the driver (the watch is dropped).
 * Either way whatever waits across it fires none. */
static void client_link_down(wl *l, bool lost)
{
    client_link *k = &l->link;
    if (!k->up) return;
    k->up = false;
    for (uint32_t t = 0; t < k->ntok; t++) {
        act_ret_drop(l->sys, &k->pending[t]);
        act_fwd_drop(l->sys, &k->streams[t]);
    }
    k->ntok = 0;
    if (lost) {
        act_ret_fire(l->sys, &k->watch, (act_val){.a = ACT_LOST});
    } else {
        act_ret_drop(l->sys, &k->watch);
    }
}

/* Server: a proxy's answer goes back over its link, if that link still lives. */
static srv_link *proxy_link(wl *l, uint64_t tag)
{
    uint32_t gen = (uint32_t)(tag >> 32);
    srv_link *s = &l->links[gen % SRV_LINKS];
    return s->up && gen + SRV_LINKS > l->srv_gen ? s : NULL;
}

static void proxy_reply(void *ud, act_sys *sys, bool some, act_val *v)
{
    wl *l = ud;
    uint64_t tag = act_tag(sys);
    srv_link *s = proxy_link(l, tag);
    if (s == NULL) return; /* a dead link: nothing is sent */
    link_send(l, &s->tx, (frame){.kind = F_REPLY, .token = (uint32_t)tag, .some = some,
                                 .a = some ? v->a : 0});
}

static void proxy_item(void *ud, act_sys *sys, bool some, act_val *v)
{
    wl *l = ud;
    uint64_t tag = act_tag(sys);
    srv_link *s = proxy_link(l, tag);
    if (s == NULL) return;
    link_send(l, &s->tx, (frame){.kind = F_ITEM, .token = (uint32_t)tag, .some = some,
                                 .a = v->a});
}

static void proxy_fwd_gone(void *ud, act_sys *sys, bool ended)
{
    wl *l = ud;
    uint64_t tag = act_tag(sys);
    srv_link *s = proxy_link(l, tag);
    if (s == NULL || ended) return;
    link_send(l, &s->tx, (frame){.kind = F_END_DROP, .token = (uint32_t)tag});
}

/* Server: a frame from the client, on link gen. */
static void server_frame(wl *l, uint32_t gen, const frame *f)
{
    act_sys *sys = l->sys;
    if (f->magic != FRAME_MAGIC) return;
    if (f->kind == F_PING) {
        link_send(l, &l->links[gen % SRV_LINKS].tx, (frame){.kind = F_PONG});
        return;
    }
    if (f->worker >= l->workers) return;
    act_actor a = l->cur[f->worker];
    uint64_t tag = (uint64_t)gen << 32 | f->token;
    if (f->kind == F_REQ || f->kind == F_PULL) {
        act_ret proxy = act_ret_fn_tag(sys, proxy_reply, l, tag, ACT_SITE);
        if (a.id == 0) {
            act_ret_drop(sys, &proxy);
            return;
        }
        act_call(sys, a, f->kind == F_REQ ? w_request : w_pull, (act_val){.a = f->a, .ret = proxy});
    } else if (f->kind == F_STREAM) {
        act_fwd proxy = act_fwd_fn_tag(sys, proxy_item, proxy_fwd_gone, l, tag);
        if (a.id == 0) {
            act_fwd_drop(sys, &proxy);
            return;
        }
        act_call(sys, a, w_stream, (act_val){.a = f->a, .fwd = proxy});
    } else if (f->kind == F_MORE && a.id != 0) {
        act_call(sys, a, w_more, (act_val){0});
    }
}

/* ---- remote mode: the tasks ------------------------------------------------------------------ */

typedef struct writer {
    sim_co co;
    sim_conn conn;           /* a copy of the connection handle (its reader owns it) */
    sim_rx rx;
    bool ping;               /* the client's: a ping when idle for PING_NS */
    frame f;
    int rc;
} writer;

static int writer_poll(void *state, sim_world *w)
{
    writer *t = state;
    SIM_BEGIN(w, &t->co);
    for (;;) {
        SIM_AWAIT(t->rc, sim_timeout(w, t->ping ? PING_NS : SIM_DURATION_MAX,
                                     sim_recv(&t->rx, &t->f)));
        if (t->rc == SIM_ETIMEDOUT) {
            t->f = (frame){.magic = FRAME_MAGIC, .kind = F_PING};
        } else if (t->rc != SIM_OK) {
            break;
        }
        SIM_AWAIT(t->rc, sim_frame_write(&t->conn, &t->f, sizeof t->f, sizeof t->f));
        if (t->rc != SIM_OK) break;
    }
    SIM_END(SIM_OK);
}

/* Makes the frame channel and its writer; *tx is the link's. */
static int start_writer(sim_world *w, const sim_conn *conn, bool ping, sim_tx *tx)
{
    writer t = {.conn = *conn, .ping = ping};
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(frame), .name = "act-link"};
    int rc = sim_chan_new(w, &cd, tx, &t.rx);
    if (rc != SIM_OK) return rc;
    sim_task_desc d = {.name = "act-writer", .poll = writer_poll, .state = &t,
                       .state_size = sizeof t, .daemon = true, .moves = SIM_MOVES(&t.rx)};
    return sim_spawn(w, &d, NULL);
}

typedef struct connector {
    sim_co co;
    wl *wl;
    sim_conn conn;
    sim_tx tx;
    frame f;
    uint32_t len;
    int rc;
} connector;

static int connector_poll(void *state, sim_world *w)
{
    connector *c = state;
    wl *l = c->wl;
    SIM_BEGIN(w, &c->co);
    while (!l->link.stop) {
        SIM_AWAIT(c->rc, sim_timeout(w, LINK_TIMEOUT_NS,
                                     sim_connect((sim_addr){l->srv, PORT}, &c->conn)));
        if (c->rc == SIM_OK) c->rc = start_writer(w, &c->conn, true, &c->tx);
        if (c->rc == SIM_OK) {
            client_link_up(l, c->tx);
            while (!l->link.stop) {
                SIM_AWAIT(c->rc, sim_timeout(w, LINK_TIMEOUT_NS,
                                             sim_frame_read(&c->conn, &c->f, sizeof c->f,
                                                            &c->len)));
                if (c->rc != SIM_OK || c->len != sizeof c->f) break;
                client_frame(l, &c->f);
            }
            client_link_down(l, !l->link.stop);
            sim_tx_drop(w, &c->tx);
        }
        sim_conn_close(w, &c->conn);
        SIM_TRY(sim_sleep(w, RECONNECT_NS));
    }
    SIM_END(SIM_OK);
}

typedef struct srv_conn {
    sim_co co;
    wl *wl;
    sim_conn conn;
    uint32_t gen;
    frame f;
    uint32_t len;
    int rc;
} srv_conn;

static int srv_conn_poll(void *state, sim_world *w)
{
    srv_conn *c = state;
    wl *l = c->wl;
    SIM_BEGIN(w, &c->co);
    c->gen = l->srv_gen++;
    {
        srv_link *s = &l->links[c->gen % SRV_LINKS];
        if (s->up) sim_tx_drop(w, &s->tx); /* a link SRV_LINKS ago: long dead */
        *s = (srv_link){0};
        if (start_writer(w, &c->conn, false, &s->tx) != SIM_OK) SIM_RETURN(SIM_OK);
        s->up = true;
    }
    for (;;) {
        SIM_AWAIT(c->rc, sim_timeout(w, 2 * LINK_TIMEOUT_NS,
                                     sim_frame_read(&c->conn, &c->f, sizeof c->f, &c->len)));
        if (c->rc != SIM_OK || c->len != sizeof c->f) break;
        server_frame(l, c->gen, &c->f);
    }
    l->links[c->gen % SRV_LINKS].up = false;
    sim_tx_drop(w, &l->links[c->gen % SRV_LINKS].tx);
    sim_conn_close(w, &c->conn);
    SIM_END(SIM_OK);
}

typedef struct acceptor {
    sim_co co;
    wl *wl;
    sim_listener lis;
    sim_conn conn;
    int rc;
} acceptor;

static int acceptor_poll(void *state, sim_world *w)
{
    acceptor *a = state;
    SIM_BEGIN(w, &a->co);
    a->rc = sim_listen(w, PORT, 0, &a->lis);
    if (a->rc != SIM_OK) SIM_RETURN(a->rc);
    for (;;) {
        SIM_AWAIT(a->rc, sim_accept(&a->lis, &a->conn, NULL));
        if (a->rc != SIM_OK) break;
        srv_conn c = {.wl = a->wl, .conn = a->conn};
        sim_task_desc d = {.name = "act-srv-conn", .poll = srv_conn_poll, .state = &c,
                           .state_size = sizeof c, .daemon = true, .moves = SIM_MOVES(&c.conn)};
        a->rc = sim_spawn(w, &d, NULL);
        if (a->rc != SIM_OK) break;
    }
    SIM_END(a->rc);
}

/* ---- clients: bridge tasks ------------------------------------------------------------------- */

enum { OP_PUSH = 0, OP_PULL, OP_STREAM, OP_FORWARD, OP_KINDS };

/* A sink actor on the client node for stream -> Fwd: it checks the items a forwarding task
 * sends it, and on the end (which must come: a silent end is a violation) fires the Ret it
 * was given with how many items and ActorFails it saw, and stops. */
typedef struct sink {
    wl *wl;
    act_ret done;
    int64_t expect, fails;
} sink;

static void sink_init(act_cx *cx, void *self, bool some, act_val *v)
{
    sink *k = self;
    (void)some;
    k->wl = (wl *)(uintptr_t)v->b;
    k->done = act_ret_take(&v->ret);
    act_ret_keep(cx, k->done);
    act_cx_ready(cx);
}

static void sink_item(act_cx *cx, void *self, bool some, act_val *v)
{
    sink *k = self;
    if (!some) {
        act_ret_fire(act_cx_sys(cx), &k->done, (act_val){.a = k->expect, .b = k->fails});
        act_cx_stop(cx);
    } else if (v->a == ACT_FAIL_ITEM) {
        k->fails++;
    } else {
        if (k->fails > 0) bad(k->wl, "a forwarded item after ActorFail", v->a, -1);
        if (v->a != k->expect) bad(k->wl, "a forwarded item", v->a, k->expect);
        k->expect++;
    }
}

static const act_type sink_type = {.name = "sink", .size = sizeof(sink)};

typedef struct client {
    act_task_head head;
    client_slot *slot;
    sim_rng rng;
    uint32_t op;
    act_mode mode;
    uint32_t wi;             /* the worker slot */
    act_actor target;        /* its worker when it was picked (local mode) */
    int64_t x;
    uint32_t pipe;
    act_ret ret;
    act_pull_op pull;
    uint32_t stream;
    int64_t expect;          /* the next stream item */
    int64_t n;               /* items asked for */
    bool failed;             /* the stream said ActorFail */
    act_own sink;            /* OP_FORWARD's sink actor */
    uint32_t waits;          /* remote: sleeps waiting for the link */
    act_val v;
    int rc;
} client;

/* The push pipe: a request whose reply Ret is the pipe's. */
static void push_begin(client *c)
{
    wl *l = c->slot->wl;
    c->x = (int64_t)sim_rng_below(&c->rng, 1000);
    c->pipe = act_push_pipe(l->sys, c->mode, &c->ret, ACT_SITE);
    if (l->remote) {
        remote_ask(l, F_REQ, c->wi, c->x, act_ret_take(&c->ret));
        return;
    }
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
    act_fwd more = l->remote ? act_fwd_fn_tag(l->sys, remote_more, NULL, l, c->wi)
                             : act_fwd_to_actor(l->sys, c->target, w_more);
    act_fwd fwd;
    c->stream = act_stream_new(l->sys, c->mode, more, &fwd);
    c->n = 1 + (int64_t)sim_rng_below(&c->rng, STREAM_MAX);
    c->expect = 0;
    c->failed = false;
    if (l->remote) {
        remote_stream(l, c->wi, c->n, fwd);
        return;
    }
    act_call(l->sys, c->target, w_stream, (act_val){.a = c->n, .fwd = fwd});
}

/* Stream -> Fwd: a stream (result mode) forwarded by a task of its own to a sink actor,
 * which fires the pipe's Ret at the end. */
static void forward_begin(client *c)
{
    wl *l = c->slot->wl;
    c->mode = ACT_RESULT;
    stream_begin(c);
    c->pipe = act_push_pipe(l->sys, ACT_RESULT, &c->ret, ACT_SITE);
    c->sink = act_new(l->sys, l->cli, &sink_type, "sink", (act_ret){0});
    act_actor k = act_own_actor(c->sink);
    act_call_prep(l->sys, k, sink_init,
                  (act_val){.b = (int64_t)(uintptr_t)l, .ret = act_ret_take(&c->ret)});
    act_fwd to = act_fwd_to_actor(l->sys, k, sink_item);
    act_fwd_expect_end(l->sys, to, ACT_SITE);
    SIM_ASSERT(act_spawn_stream(l->sys, l->cli, c->stream, to) == SIM_OK);
}

static void forward_end(client *c)
{
    wl *l = c->slot->wl;
    act_own_drop(l->sys, &c->sink);
    if (c->rc != SIM_OK) { /* the sink died first (its node did not: a crash ends us too) */
        l->failed++;
        return;
    }
    l->items += (uint64_t)c->v.a;
    if (c->v.b > 0) {
        l->stream_fails++;
        l->failed++;
        return;
    }
    if (c->v.a != c->n && c->v.a != 0) bad(l, "forwarded items", c->v.a, c->n);
    l->ok++;
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

/* A pull pipe's request Ret: to the worker, or across the link. */
static act_ret pull_request(client *c)
{
    wl *l = c->slot->wl;
    if (l->remote) return act_ret_fn_tag(l->sys, remote_pull_req, l, c->wi, ACT_SITE);
    return act_ret_to_actor(l->sys, c->target, w_pull, ACT_SITE);
}

/* Draws the next operation. */
static void pick(client *c)
{
    wl *l = c->slot->wl;
    c->op = (uint32_t)sim_rng_below(&c->rng, OP_KINDS);
    c->mode = sim_rng_below(&c->rng, 2) == 0 ? ACT_DROP_TASK : ACT_RESULT;
    c->wi = (uint32_t)sim_rng_below(&c->rng, l->workers);
    c->target = l->cur[c->wi];
    c->v = (act_val){0};
}

static int client_poll(void *state, sim_world *w)
{
    client *c = state;
    wl *l = c->slot->wl;
    SIM_BEGIN(w, &c->head.co);
    while (c->slot->left > 0 && !l->clients_done) {
        c->slot->left--;
        /* Think: a timer fires a push pipe's Ret. */
        c->pipe = act_push_pipe(l->sys, ACT_DROP_TASK, &c->ret, ACT_SITE);
        act_after(l->sys, l->cli, sim_rng_below(&c->rng, THINK_MAX_NS + 1),
                  act_ret_take(&c->ret), (act_val){0});
        SIM_AWAIT(c->rc, act_wait(l->sys, c->pipe, &c->v));
        /* Remote: a client waits a while for its connection, as a real one would. */
        for (c->waits = 0; l->remote && !l->link.up && c->waits < LINK_WAITS; c->waits++) {
            c->pipe = act_push_pipe(l->sys, ACT_DROP_TASK, &c->ret, ACT_SITE);
            act_after(l->sys, l->cli, RECONNECT_NS, act_ret_take(&c->ret), (act_val){0});
            SIM_AWAIT(c->rc, act_wait(l->sys, c->pipe, &c->v));
        }
        pick(c);
        if (c->op == OP_PUSH) {
            push_begin(c);
            SIM_AWAIT(c->rc, act_wait(l->sys, c->pipe, &c->v));
            push_end(c);
        } else if (c->op == OP_PULL) {
            c->pull = act_pull(l->sys, c->mode, pull_request(c), &c->v);
            if (sim_rng_below(&c->rng, 8) == 0) { /* not needed after all */
                sim_fut_drop(w, &c->pull.fut);
                l->abandoned++;
                continue;
            }
            SIM_AWAIT_FUT(c->rc, &c->pull.fut);
            pull_end(c);
        } else if (c->op == OP_FORWARD) {
            forward_begin(c);
            SIM_AWAIT(c->rc, act_wait(l->sys, c->pipe, &c->v));
            forward_end(c);
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

/* A client task dropped at an await lets go of what its state holds. */
static void client_drop(void *state, sim_world *w)
{
    client *c = state;
    (void)w;
    act_own_drop(c->slot->wl->sys, &c->sink);
    act_ret_drop(c->slot->wl->sys, &c->ret);
}

static int spawn_client(wl *l, client_slot *s)
{
    client c = {.slot = s};
    sim_world_rng(l->w, "sut/actor/client", (uint64_t)s->index << 32 | s->spawns++, &c.rng);
    act_ret done = act_ret_fn(l->sys, client_done, s, ACT_SITE);
    int rc = act_spawn(l->sys, l->cli, client_poll, client_drop, &c, sizeof c, done);
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
    if (s->left > 0 && !l->clients_done) (void)spawn_client(l, s);
}

/* ---- the drivers: one per boot --------------------------------------------------------------- */

/* Local mode: the supervisor and the clients on n1. Remote mode: the client node's driver
 * runs the clients; the server node's runs the supervisor until the clients are done (the
 * harness tells it so through the run state, not over the network). */
typedef struct driver {
    sim_co co;
    wl *wl;
    act_own sup;
    uint64_t deadline_ns;
    uint32_t i;
} driver;

/* Waits (polling the run state every 10 ms) until cond holds or the deadline passes. */
#define WAIT_UNTIL(w, cond, deadline)                                                              \
    while (!(cond) && sim_now(w) < (deadline)) {                                                   \
        SIM_TRY(sim_sleep((w), 10 * SIM_MS));                                                      \
    }

static void start_tree(driver *d)
{
    wl *l = d->wl;
    d->sup = act_new(l->sys, l->srv, &sup_type, "supervisor", (act_ret){0});
    l->sup = act_own_actor(d->sup);
    act_call_prep(l->sys, l->sup, sup_init, (act_val){.b = (int64_t)(uintptr_t)l});
}

static void start_clients(wl *l)
{
    for (uint32_t i = 0; i < l->clients; i++) {
        if (l->cl[i].left > 0) SIM_ASSERT(spawn_client(l, &l->cl[i]) == SIM_OK);
    }
}

static int driver_poll(void *state, sim_world *w)
{
    driver *d = state;
    wl *l = d->wl;
    SIM_BEGIN(w, &d->co);
    start_tree(d);
    start_clients(l);
    d->deadline_ns = sim_now(w) + DEADLINE_NS;
    WAIT_UNTIL(w, l->running == 0, d->deadline_ns);
    /* The end: clients still running stop after their operation; then the supervisor goes,
     * and with it every worker. */
    l->clients_done = true;
    WAIT_UNTIL(w, l->running == 0, d->deadline_ns + 5 * SIM_S);
    l->shutdown = true;
    act_own_drop(l->sys, &d->sup);
    while (!act_quiet(l->sys, l->srv) && sim_now(w) < d->deadline_ns + 6 * SIM_S) {
        SIM_TRY(sim_sleep(w, SIM_MS));
    }
    SIM_END(SIM_OK);
}

static int client_driver_poll(void *state, sim_world *w)
{
    driver *d = state;
    wl *l = d->wl;
    SIM_BEGIN(w, &d->co);
    start_clients(l);
    d->deadline_ns = sim_now(w) + DEADLINE_NS;
    WAIT_UNTIL(w, l->running == 0, d->deadline_ns);
    l->clients_done = true;
    WAIT_UNTIL(w, l->running == 0, d->deadline_ns + 5 * SIM_S);
    l->drained = true;
    WAIT_UNTIL(w, l->server_done, d->deadline_ns + 7 * SIM_S);
    l->link.stop = true;
    WAIT_UNTIL(w, !l->link.up, d->deadline_ns + 8 * SIM_S);
    while (!act_quiet(l->sys, l->cli) && sim_now(w) < d->deadline_ns + 9 * SIM_S) {
        SIM_TRY(sim_sleep(w, SIM_MS));
    }
    SIM_END(SIM_OK);
}

static int server_driver_poll(void *state, sim_world *w)
{
    driver *d = state;
    wl *l = d->wl;
    SIM_BEGIN(w, &d->co);
    if (!l->drained) {
        start_tree(d);
        d->deadline_ns = sim_now(w) + DEADLINE_NS + 6 * SIM_S;
        WAIT_UNTIL(w, l->drained, d->deadline_ns);
        l->shutdown = true;
        act_own_drop(l->sys, &d->sup);
        while (!act_quiet(l->sys, l->srv) && sim_now(w) < d->deadline_ns + SIM_S) {
            SIM_TRY(sim_sleep(w, SIM_MS));
        }
    }
    l->server_done = true;
    SIM_END(SIM_OK);
}

static int spawn_task(wl *l, sim_node_id node, const char *name, sim_poll_cb poll,
                      const void *state, size_t size, bool daemon)
{
    sim_task_desc desc = {.name = name, .node = node, .poll = poll, .state = state,
                          .state_size = size, .daemon = daemon};
    return sim_spawn(l->w, &desc, NULL);
}

/* What a boot of the client side finds: nothing of the last boot's clients and link (what
 * they held was lost with the process). */
static void reset_client_side(wl *l)
{
    l->running = 0;
    for (uint32_t i = 0; i < l->clients; i++) l->cl[i].running = false;
    l->link.up = false;
    l->link.ntok = 0;
    l->link.watch = (act_ret){0};
}

static void reset_server_side(wl *l)
{
    l->shutdown = false;
    memset(l->cur, 0, sizeof l->cur);
    for (uint32_t i = 0; i < SRV_LINKS; i++) l->links[i].up = false;
}

static int boot_n1(void *ud, sim_world *w, sim_node_id node)
{
    wl *l = ud;
    (void)w;
    l->srv = node;
    l->cli = node;
    reset_client_side(l);
    reset_server_side(l);
    int rc = act_boot(l->sys, node);
    driver d = {.wl = l};
    if (rc == SIM_OK) rc = spawn_task(l, node, "driver", driver_poll, &d, sizeof d, false);
    return rc;
}

static int boot_client(void *ud, sim_world *w, sim_node_id node)
{
    wl *l = ud;
    (void)w;
    l->cli = node;
    reset_client_side(l);
    int rc = act_boot(l->sys, node);
    connector c = {.wl = l};
    driver d = {.wl = l};
    if (rc == SIM_OK) rc = spawn_task(l, node, "connector", connector_poll, &c, sizeof c, true);
    if (rc == SIM_OK) {
        rc = spawn_task(l, node, "client-driver", client_driver_poll, &d, sizeof d, false);
    }
    return rc;
}

static int boot_server(void *ud, sim_world *w, sim_node_id node)
{
    wl *l = ud;
    (void)w;
    l->srv = node;
    reset_server_side(l);
    int rc = act_boot(l->sys, node);
    acceptor a = {.wl = l};
    driver d = {.wl = l};
    if (rc == SIM_OK) rc = spawn_task(l, node, "acceptor", acceptor_poll, &a, sizeof a, true);
    if (rc == SIM_OK) {
        rc = spawn_task(l, node, "server-driver", server_driver_poll, &d, sizeof d, false);
    }
    return rc;
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
    {"actor", "remote", SIM_KEY_BOOL, "false", NULL, 0, 0,
     "workers on node server, clients on node client, calls over a stream connection"},
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
    l->remote = sim_scenario_bool(sc, "actor", "remote");
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
    int rc;
    if (l->remote) {
        sim_node_desc sd = {.name = "server", .boot = boot_server, .boot_ud = l};
        sim_node_desc cd = {.name = "client", .boot = boot_client, .boot_ud = l};
        rc = sim_node_add(w, &sd, NULL);
        if (rc == SIM_OK) rc = sim_node_add(w, &cd, NULL);
    } else {
        sim_node_desc nd = {.name = "n1", .boot = boot_n1, .boot_ud = l};
        rc = sim_node_add(w, &nd, NULL);
    }
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
    free(l->link.pending);
    free(l->link.streams);
    free(l);
}

static uint32_t actor_sys_nodes(void *ud, const sim_scenario *sc, const char **names,
                                uint32_t max)
{
    (void)ud;
    if (!sim_scenario_bool(sc, "actor", "remote")) {
        if (max > 0) names[0] = "n1";
        return 1;
    }
    if (max > 0) names[0] = "server";
    if (max > 1) names[1] = "client";
    return 2;
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
    .shrink = "actor.workers actor.clients actor.rounds",
};
