/*
 * rt.c: the actor runtime of actor.h: the tables, the per-node queue and its loop task,
 * actors and their lifecycle, Rets, Fwds and timers.
 *
 * One queue per node, FIFO, run by the node's loop task in batches (then it yields, so other
 * tasks interleave); an empty queue parks the loop on the runtime's notify, which every push
 * signals. Every call runs to completion: nothing here ever awaits inside a call. A call's
 * message moves from the caller to the queue to the handler; what the handler leaves in it
 * (a Ret, a Fwd) is dropped when it returns, so a Ret that reaches nobody fires none.
 *
 * Cost: a push is O(1) amortised (a ring that doubles); an actor's death walks the Rets it
 * kept; the tables only grow within a run (ids are never reused: see act_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_int.h"

#define LOOP_BATCH 16

const char *const act_bug_names[ACT_BUG_COUNT] = {
    "none", "ret-leak", "ret-twice", "zombie-calls", "stream-dropped-first", "pull-eager",
    "stream-no-end",
};

/* ---- tables and violations ------------------------------------------------------------------ */

uint32_t act__grow(void **tab, uint32_t *n, uint32_t *cap, size_t size)
{
    SIM_ASSERT(*n <= *cap);
    SIM_ASSERT(*n < ACT_TABLE_MAX); /* a run that makes millions of records is a runaway */
    if (*n + 1 >= *cap) {
        uint32_t ncap = *cap == 0 ? 64 : *cap * 2;
        void *p = realloc(*tab, (size_t)ncap * size);
        SIM_ASSERT(p != NULL); /* out of memory: fatal */
        memset((char *)p + (size_t)*cap * size, 0, (size_t)(ncap - *cap) * size);
        *tab = p;
        *cap = ncap;
    }
    if (*n == 0) *n = 1; /* id 0 is none */
    return (*n)++;
}

#define GROW(sys, name) act__grow((void **)&(sys)->name, &(sys)->n##name, &(sys)->c##name, \
                                  sizeof *(sys)->name)

void act__violation(act_sys *sys, const char *fmt, ...)
{
    SIM_ASSERT(sys != NULL && fmt != NULL);
    if (sys->violations++ > 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sys->first, sizeof sys->first, fmt, ap);
    va_end(ap);
}

act_sys *act_sys_new(sim_world *w, const act_sys_desc *desc)
{
    SIM_ASSERT(w != NULL && desc != NULL);
    SIM_ASSERT(desc->bug < ACT_BUG_COUNT);
    act_sys *sys = calloc(1, sizeof *sys);
    SIM_ASSERT(sys != NULL);
    sys->w = w;
    sys->bug = desc->bug;
    sys->spurious = desc->spurious;
    return sys;
}

void act_sys_free(act_sys *sys)
{
    if (sys == NULL) return;
    for (uint32_t i = 1; i < sys->nactors; i++) {
        free(sys->actors[i].self);
        free(sys->actors[i].prepq);
        free(sys->actors[i].kept);
    }
    for (uint32_t i = 1; i < sys->ntasks; i++) free(sys->tasks[i].state);
    for (uint32_t i = 1; i < sys->nstreams; i++) free(sys->streams[i].q);
    for (uint32_t i = 0; i < ACT_NODES_MAX; i++) free(sys->rt[i].q);
    free(sys->rets);
    free(sys->fwds);
    free(sys->actors);
    free(sys->tasks);
    free(sys->pipes);
    free(sys->streams);
    free(sys);
}

sim_world *act_sys_world(const act_sys *sys)
{
    return sys->w;
}

void act_sys_stats(const act_sys *sys, act_stats *out)
{
    *out = sys->stats;
}

uint32_t act_sys_violations(const act_sys *sys)
{
    return sys->violations;
}

uint32_t act__node_of_current(const act_sys *sys)
{
    return sim_node_current(sys->w).v;
}

static runtime *rt_of(act_sys *sys, uint32_t node)
{
    SIM_ASSERT(node > 0 && node < ACT_NODES_MAX);
    return &sys->rt[node];
}

static actor_rec *actor_of(act_sys *sys, uint32_t id)
{
    SIM_ASSERT(id > 0 && id < sys->nactors);
    return &sys->actors[id];
}

/* ---- the queue ------------------------------------------------------------------------------ */

void act__drop_val(act_sys *sys, act_val *v)
{
    act_ret_drop(sys, &v->ret);
    act_fwd_drop(sys, &v->fwd);
}

/* Discards an item that will never run: its message's Ret and Fwd are dropped (B.4). */
static void discard(act_sys *sys, item *it)
{
    if (it->kind == 0) return; /* an emptied slot */
    if (it->kind == IT_RESUME) {
        act__task_unref(sys, it->target);
        return;
    }
    if (it->kind == IT_CALL || it->kind == IT_PREP) sys->stats.calls_discarded++;
    act__drop_val(sys, &it->v);
}

void act__push(act_sys *sys, uint32_t node, const item *it)
{
    runtime *rt = rt_of(sys, node);
    if (!rt->up) {
        item copy = *it;
        discard(sys, &copy);
        return;
    }
    if (rt->len == rt->cap) {
        uint32_t ncap = rt->cap == 0 ? 64 : rt->cap * 2;
        SIM_ASSERT(ncap <= ACT_QUEUE_MAX);
        item *q = malloc((size_t)ncap * sizeof *q);
        SIM_ASSERT(q != NULL);
        for (uint32_t i = 0; i < rt->len; i++) q[i] = rt->q[(rt->head + i) % rt->cap];
        free(rt->q);
        rt->q = q;
        rt->head = 0;
        rt->cap = ncap;
    }
    rt->q[(rt->head + rt->len) % rt->cap] = *it;
    if (rt->len++ == 0 && !rt->in_loop) sim_notify_one(sys->w, &rt->wake);
}

static bool pop(runtime *rt, item *out)
{
    if (rt->len == 0) return false;
    *out = rt->q[rt->head];
    rt->head = (rt->head + 1) % rt->cap;
    rt->len--;
    return true;
}

bool act_quiet(const act_sys *sys, sim_node_id node)
{
    const runtime *rt = &sys->rt[node.v];
    return rt->len == 0 && rt->timers == 0;
}

/* ---- actors: running calls ------------------------------------------------------------------ */

static void terminate(act_sys *sys, uint32_t id, act_cause cause, int64_t err);
static void drop_kept(act_sys *sys, uint32_t id);

/* Runs one call on the actor (Ready, or Prep for a prep call), then applies a recorded
 * stop or fail. */
static void run_call(act_sys *sys, uint32_t id, item *it)
{
    actor_rec *a = actor_of(sys, id);
    bool prep = it->kind == IT_PREP;
    /* The oracles of B.7.2 and B.7.3: never on a Zombie, never a Ready call before Ready,
     * Ready calls in the order they were queued. */
    if (a->state == ST_ZOMBIE) {
        act__violation(sys, "a call ran on Zombie actor %s (%s)", a->name,
                       act_cause_str((act_cause)a->cause));
    } else if (!prep && a->state != ST_READY) {
        act__violation(sys, "a Ready call ran on actor %s before it was Ready", a->name);
    }
    if (!prep && it->seq <= a->last_run) {
        act__violation(sys, "actor %s ran call %llu after call %llu", a->name,
                       (unsigned long long)it->seq, (unsigned long long)a->last_run);
    }
    if (!prep) a->last_run = it->seq;
    if (!prep && a->drop_seq > 0 && it->seq > a->drop_seq) {
        act__violation(sys, "actor %s ran a call queued after its last owner was dropped",
                       a->name);
    }
    act_cx cx = {.sys = sys, .actor = id};
    SIM_ASSERT(!a->running);
    a->running = 1;
    sys->stats.calls_run++;
    it->fn(&cx, a->self, it->some, &it->v);
    a = actor_of(sys, id); /* the table may have grown */
    a->running = 0;
    act__drop_val(sys, &it->v);
    if (prep && cx.ready && a->state == ST_PREP) {
        a->state = ST_READY;
        a->ever_ready = 1;
        /* Flush the Prep queue now, in order; a cause recorded meanwhile stops it. */
        uint32_t i = 0;
        while (i < a->prep_len && a->pend_cause == 0 && a->state != ST_ZOMBIE) {
            item q = a->prepq[i];
            a->prepq[i++] = (item){0}; /* moved out: a Zombie's discard must not see it */
            run_call(sys, id, &q);
            a = actor_of(sys, id);
        }
        for (; i < a->prep_len; i++) discard(sys, &a->prepq[i]);
        a->prep_len = 0;
    }
    if (a->pend_cause != 0 && !a->running) {
        act_cause c = (act_cause)a->pend_cause;
        a->pend_cause = 0;
        terminate(sys, id, c, a->pend_err);
    }
}

/* Is a call discarded here never to run, while the ledger says it should have run (queued
 * before the last owner went, on an actor that was Ready, B.7.5)? */
static void check_discard(act_sys *sys, const actor_rec *a, const item *it)
{
    if (it->kind != IT_CALL || a->state != ST_ZOMBIE || a->cause != ACT_DROPPED) return;
    if (a->drop_seq > 0 && it->seq <= a->drop_seq && a->ever_ready) {
        act__violation(sys, "actor %s: a call queued before its owner drop did not run",
                       a->name);
    }
}

static void deliver(act_sys *sys, item *it)
{
    actor_rec *a = actor_of(sys, it->target);
    if (a->state == ST_ZOMBIE && sys->bug != ACT_BUG_ZOMBIE_CALLS) {
        check_discard(sys, a, it);
        discard(sys, it);
        return;
    }
    if (it->kind == IT_CALL && a->state == ST_PREP) {
        if (a->prep_len == a->prep_cap) {
            a->prep_cap = a->prep_cap == 0 ? 8 : a->prep_cap * 2;
            a->prepq = realloc(a->prepq, a->prep_cap * sizeof *a->prepq);
            SIM_ASSERT(a->prepq != NULL);
        }
        a->prepq[a->prep_len++] = *it;
        return;
    }
    if (it->kind == IT_PREP && a->state == ST_READY) {
        discard(sys, it); /* Prep-style calls are dropped once Ready */
        return;
    }
    if (a->state == ST_ZOMBIE && it->kind == IT_PREP) {
        discard(sys, it);
        return;
    }
    run_call(sys, it->target, it);
}

static void run_item(act_sys *sys, item *it)
{
    switch (it->kind) {
    case IT_CALL:
    case IT_PREP:
        deliver(sys, it);
        break;
    case IT_RESUME:
        act__resume(sys, it->target);
        break;
    case IT_TERMINATE:
        terminate(sys, it->target, ACT_DROPPED, 0);
        break;
    case IT_FIRE: {
        act_ret r = {it->target};
        act_ret_fire(sys, &r, it->v);
        break;
    }
    default:
        SIM_ASSERT(0 && "unknown item kind");
    }
}

/* ---- actors: lifecycle ---------------------------------------------------------------------- */

const char *act_cause_str(act_cause cause)
{
    switch (cause) {
    case ACT_STOPPED: return "Actor stopped";
    case ACT_FAILED: return "Actor failed";
    case ACT_KILLED: return "Actor was killed";
    case ACT_DROPPED: return "Actor was dropped";
    case ACT_LOST: return "Lost connection to actor";
    }
    return "Actor lives";
}

bool act_cause_has_error(act_cause cause)
{
    return cause == ACT_FAILED || cause == ACT_KILLED;
}

act_own act_new(act_sys *sys, sim_node_id node, const act_type *type, const char *name,
                act_ret notify)
{
    SIM_ASSERT(type != NULL && type->size >= 1);
    SIM_ASSERT(node.v > 0 && node.v < ACT_NODES_MAX);
    uint32_t id = GROW(sys, actors);
    actor_rec *a = &sys->actors[id];
    a->state = ST_PREP;
    a->node = node.v;
    a->boot = sys->rt[node.v].boot;
    a->owners = 1;
    a->type = type;
    a->name = name != NULL ? name : type->name;
    a->self = calloc(1, type->size);
    SIM_ASSERT(a->self != NULL);
    a->notify = notify;
    return (act_own){id};
}

act_actor act_own_actor(act_own own)
{
    return (act_actor){own.id};
}

act_own act_own_clone(act_sys *sys, act_own own)
{
    actor_rec *a = actor_of(sys, own.id);
    SIM_ASSERT(a->owners > 0); /* a clone of a live owner */
    a->owners++;
    return own;
}

void act_own_drop(act_sys *sys, act_own *own)
{
    if (own->id == 0) return;
    actor_rec *a = actor_of(sys, own->id);
    own->id = 0;
    SIM_ASSERT(a->owners > 0);
    if (--a->owners > 0) return;
    /* Deferred: calls already queued run first (B.3); on a Zombie it is a no-op. */
    if (a->state != ST_ZOMBIE) a->drop_seq = a->sent;
    item it = {.kind = IT_TERMINATE, .target = (uint32_t)(a - sys->actors)};
    act__push(sys, a->node, &it);
}

void act_kill(act_sys *sys, act_actor ref, int64_t err)
{
    actor_rec *a = actor_of(sys, ref.id);
    if (a->state == ST_ZOMBIE) return;
    if (a->running) { /* killed from inside its own call: takes effect when it returns */
        if (a->pend_cause == 0) {
            a->pend_cause = ACT_KILLED;
            a->pend_err = err;
        }
        return;
    }
    terminate(sys, ref.id, ACT_KILLED, err);
}

bool act_is_zombie(const act_sys *sys, act_actor a)
{
    SIM_ASSERT(a.id > 0 && a.id < sys->nactors);
    return sys->actors[a.id].state == ST_ZOMBIE;
}

bool act_is_ready(const act_sys *sys, act_actor a)
{
    SIM_ASSERT(a.id > 0 && a.id < sys->nactors);
    return sys->actors[a.id].state == ST_READY;
}

act_cause act_stop_cause(const act_sys *sys, act_actor a)
{
    SIM_ASSERT(a.id > 0 && a.id < sys->nactors);
    return (act_cause)sys->actors[a.id].cause;
}

/* The Zombie transition: the state is dropped, the Prep queue discarded, kept Rets dropped
 * (each fires none: B.4.1), and the cause goes to the notify Ret exactly once. */
static void terminate(act_sys *sys, uint32_t id, act_cause cause, int64_t err)
{
    actor_rec *a = actor_of(sys, id);
    SIM_ASSERT(cause >= ACT_STOPPED && cause <= ACT_LOST);
    if (a->state == ST_ZOMBIE) {
        /* A second termination is a no-op: the notify Ret was taken out. The planted bug
         * leaves it in, so a second cause fires it again. */
        if (sys->bug == ACT_BUG_RET_TWICE && a->notify.id != 0) {
            act_ret again = a->notify;
            a->notified++;
            act_ret_fire(sys, &again, (act_val){.a = cause, .b = err});
        }
        return;
    }
    bool was_ready = a->state == ST_READY;
    a->state = ST_ZOMBIE;
    a->cause = (uint8_t)cause;
    a->err = err;
    if (was_ready && a->type->drop != NULL) {
        act_cx cx = {.sys = sys, .actor = id};
        a->running = 1;
        a->type->drop(&cx, a->self);
        a = actor_of(sys, id);
        a->running = 0;
    }
    for (uint32_t i = 0; i < a->prep_len; i++) discard(sys, &a->prepq[i]);
    a->prep_len = 0;
    if (sys->bug == ACT_BUG_RET_LEAK) {
        a->kept_len = 0; /* the planted bug: forgotten, they never fire */
    } else {
        drop_kept(sys, id);
    }
    a = actor_of(sys, id);
    act_ret notify = a->notify;
    if (sys->bug != ACT_BUG_RET_TWICE) a->notify.id = 0;
    a->notified++;
    act_ret_fire(sys, &notify, (act_val){.a = cause, .b = err});
}

/* ---- calls and the call context ------------------------------------------------------------- */

static void queue_call(act_sys *sys, uint32_t id, uint8_t kind, act_fn fn, bool some, act_val v)
{
    actor_rec *a = actor_of(sys, id);
    SIM_ASSERT(fn != NULL);
    item it = {.kind = kind, .some = some, .target = id, .seq = ++a->sent, .fn = fn, .v = v};
    act__push(sys, a->node, &it);
}

void act_call(act_sys *sys, act_actor a, act_fn fn, act_val v)
{
    queue_call(sys, a.id, IT_CALL, fn, true, v);
}

void act_call_prep(act_sys *sys, act_actor a, act_fn fn, act_val v)
{
    queue_call(sys, a.id, IT_PREP, fn, true, v);
}

act_sys *act_cx_sys(act_cx *cx)
{
    return cx->sys;
}

act_actor act_cx_self(const act_cx *cx)
{
    return (act_actor){cx->actor};
}

sim_node_id act_cx_node(const act_cx *cx)
{
    return (sim_node_id){cx->sys->actors[cx->actor].node};
}

void act_cx_ready(act_cx *cx)
{
    actor_rec *a = actor_of(cx->sys, cx->actor);
    SIM_ASSERT(!cx->ready); /* to_ready twice is a panic in Stakker */
    SIM_ASSERT(a->state == ST_PREP);
    cx->ready = 1;
}

static void record_cause(act_cx *cx, act_cause cause, int64_t err)
{
    actor_rec *a = actor_of(cx->sys, cx->actor);
    SIM_ASSERT(a->running);
    if (a->pend_cause != 0) return; /* the first cause wins */
    a->pend_cause = (uint8_t)cause;
    a->pend_err = err;
}

void act_cx_stop(act_cx *cx)
{
    record_cause(cx, ACT_STOPPED, 0);
}

void act_cx_fail(act_cx *cx, int64_t err)
{
    record_cause(cx, ACT_FAILED, err);
}

/* ---- Ret ------------------------------------------------------------------------------------ */

static act_ret new_ret(act_sys *sys, uint8_t kind, uint32_t node, const char *site)
{
    uint32_t id = GROW(sys, rets);
    ret_rec *r = &sys->rets[id];
    r->kind = kind;
    r->node = node;
    r->boot = node != 0 ? sys->rt[node].boot : 0;
    r->site = site != NULL ? site : "?";
    sys->stats.rets_made++;
    /* Every Ret fires exactly once (a value or none): sim's ledger holds it to that, so a Ret
     * fired twice or never is a violation sim reports by itself, with the sites. */
    int rc = sim_oblige(sys->w, "an actor Ret fires once", r->site, 0, &r->ob);
    SIM_ASSERT(rc == SIM_OK); /* fewer than ACT_TABLE_MAX (2^22) Rets: the ledger holds them */
    return (act_ret){id};
}

static uint32_t here(const act_sys *sys, uint32_t fallback)
{
    uint32_t n = act__node_of_current(sys);
    return n != 0 ? n : fallback;
}

act_ret act_ret_fn(act_sys *sys, act_cb cb, void *ud, const char *site)
{
    SIM_ASSERT(cb != NULL);
    act_ret r = new_ret(sys, RK_FN, here(sys, 0), site);
    sys->rets[r.id].cb = cb;
    sys->rets[r.id].ud = ud;
    return r;
}

act_ret act_ret_fn_tag(act_sys *sys, act_cb cb, void *ud, uint64_t tag, const char *site)
{
    act_ret r = act_ret_fn(sys, cb, ud, site);
    sys->rets[r.id].tag = tag;
    return r;
}

uint64_t act_tag(const act_sys *sys)
{
    return sys->cur_tag;
}

static act_ret ret_to(act_sys *sys, uint8_t kind, act_actor a, act_fn fn, const char *site)
{
    SIM_ASSERT(fn != NULL);
    uint32_t node = actor_of(sys, a.id)->node;
    act_ret r = new_ret(sys, kind, here(sys, node), site);
    sys->rets[r.id].target = a.id;
    sys->rets[r.id].fn = fn;
    return r;
}

act_ret act_ret_to_actor(act_sys *sys, act_actor a, act_fn fn, const char *site)
{
    return ret_to(sys, RK_TO_ACTOR, a, fn, site);
}

act_ret act_ret_some_to_actor(act_sys *sys, act_actor a, act_fn fn, const char *site)
{
    return ret_to(sys, RK_SOME_TO_ACTOR, a, fn, site);
}

/* Makes a pipe's Ret (bridge.c). */
act_ret act__ret_pipe(act_sys *sys, uint32_t pipe, const char *site);
act_ret act__ret_pipe(act_sys *sys, uint32_t pipe, const char *site)
{
    act_ret r = new_ret(sys, RK_PIPE, here(sys, sys->pipes[pipe].node), site);
    sys->rets[r.id].target = pipe;
    return r;
}

static void fire(act_sys *sys, act_ret *handle, bool some, act_val *v)
{
    uint32_t id = handle->id;
    handle->id = 0;
    SIM_ASSERT(id < sys->nrets);
    ret_rec *r = &sys->rets[id];
    if (r->lost) return;
    (void)sim_discharge(sys->w, r->ob, SIM_SITE); /* a second time: sim's violation */
    r = &sys->rets[id];
    if (r->fired > 0) {
        act__violation(sys, "a Ret made at %s fired twice (%s after a value)", r->site,
                       some ? "a value" : "none");
        return;
    }
    r->fired = 1;
    if (some) {
        sys->stats.rets_some++;
    } else {
        sys->stats.rets_none++;
    }
    switch (r->kind) {
    case RK_FN:
        sys->cur_tag = r->tag;
        r->cb(r->ud, sys, some, v);
        break;
    case RK_TO_ACTOR:
        queue_call(sys, r->target, IT_CALL, r->fn, some, *v);
        *v = (act_val){0};
        break;
    case RK_SOME_TO_ACTOR:
        if (some) queue_call(sys, r->target, IT_CALL, r->fn, true, *v);
        if (some) *v = (act_val){0};
        break;
    case RK_PIPE:
        act__pipe_fired(sys, r->target, some, v);
        break;
    default:
        SIM_ASSERT(0 && "unknown Ret kind");
    }
}

void act_ret_fire(act_sys *sys, act_ret *r, act_val v)
{
    if (r->id != 0) fire(sys, r, true, &v);
    act__drop_val(sys, &v);
}

void act_ret_drop(act_sys *sys, act_ret *r)
{
    if (r->id == 0) return;
    act_val none = {0};
    fire(sys, r, false, &none);
    act__drop_val(sys, &none);
}

act_ret act_ret_take(act_ret *r)
{
    act_ret out = *r;
    r->id = 0;
    return out;
}

void act_ret_keep(act_cx *cx, act_ret r)
{
    if (r.id == 0) return;
    actor_rec *a = actor_of(cx->sys, cx->actor);
    SIM_ASSERT(a->state != ST_ZOMBIE || cx->sys->bug == ACT_BUG_ZOMBIE_CALLS);
    if (a->kept_len == a->kept_cap) {
        a->kept_cap = a->kept_cap == 0 ? 8 : a->kept_cap * 2;
        a->kept = realloc(a->kept, a->kept_cap * sizeof *a->kept);
        SIM_ASSERT(a->kept != NULL);
    }
    a->kept[a->kept_len++] = r.id;
    cx->sys->rets[r.id].holder = cx->actor;
}

bool act_ret_live(const act_sys *sys, act_ret r)
{
    if (r.id == 0) return false;
    SIM_ASSERT(r.id < sys->nrets);
    return sys->rets[r.id].fired == 0 && !sys->rets[r.id].lost;
}

/* Drops the Rets an actor kept that have not fired (its death, B.4.1). */
static void drop_kept(act_sys *sys, uint32_t id)
{
    actor_rec *a = actor_of(sys, id);
    for (uint32_t i = 0; i < a->kept_len; i++) {
        uint32_t r = a->kept[i];
        if (!act_ret_live(sys, (act_ret){r})) continue;
        act_ret h = {r};
        act_ret_drop(sys, &h);
        a = actor_of(sys, id);
    }
    a->kept_len = 0;
}

/* ---- Fwd ------------------------------------------------------------------------------------ */

static act_fwd new_fwd(act_sys *sys, uint8_t kind)
{
    uint32_t id = GROW(sys, fwds);
    sys->fwds[id].kind = kind;
    sys->fwds[id].refs = 1;
    return (act_fwd){id};
}

act_fwd act_fwd_fn(act_sys *sys, act_cb cb, void *ud)
{
    SIM_ASSERT(cb != NULL);
    act_fwd f = new_fwd(sys, FK_FN);
    sys->fwds[f.id].cb = cb;
    sys->fwds[f.id].ud = ud;
    return f;
}

act_fwd act_fwd_fn_tag(act_sys *sys, act_cb cb, act_fwd_drop_cb drop, void *ud, uint64_t tag)
{
    act_fwd f = act_fwd_fn(sys, cb, ud);
    sys->fwds[f.id].drop = drop;
    sys->fwds[f.id].tag = tag;
    return f;
}

act_fwd act_fwd_to_actor(act_sys *sys, act_actor a, act_fn fn)
{
    SIM_ASSERT(fn != NULL);
    (void)actor_of(sys, a.id);
    act_fwd f = new_fwd(sys, FK_TO_ACTOR);
    sys->fwds[f.id].target = a.id;
    sys->fwds[f.id].fn = fn;
    return f;
}

/* Makes a stream's Fwd (bridge.c). */
act_fwd act__fwd_stream(act_sys *sys, uint32_t stream);
act_fwd act__fwd_stream(act_sys *sys, uint32_t stream)
{
    act_fwd f = new_fwd(sys, FK_STREAM);
    sys->fwds[f.id].target = stream;
    return f;
}

void act_fwd_send(act_sys *sys, act_fwd f, bool some, act_val v)
{
    SIM_ASSERT(f.id > 0 && f.id < sys->nfwds);
    fwd_rec *r = &sys->fwds[f.id];
    SIM_ASSERT(r->refs > 0); /* a send through a dropped Fwd is a use after free */
    if (!some) r->end_sent = 1;
    switch (r->kind) {
    case FK_FN:
        sys->cur_tag = r->tag;
        r->cb(r->ud, sys, some, &v);
        break;
    case FK_TO_ACTOR:
        queue_call(sys, r->target, IT_CALL, r->fn, some, v);
        v = (act_val){0};
        break;
    case FK_STREAM:
        act__stream_item(sys, r->target, some, &v);
        break;
    default:
        SIM_ASSERT(0 && "unknown Fwd kind");
    }
    act__drop_val(sys, &v);
}

act_fwd act_fwd_clone(act_sys *sys, act_fwd f)
{
    SIM_ASSERT(f.id > 0 && f.id < sys->nfwds);
    SIM_ASSERT(sys->fwds[f.id].refs > 0);
    sys->fwds[f.id].refs++;
    return f;
}

void act_fwd_drop(act_sys *sys, act_fwd *f)
{
    if (f->id == 0) return;
    SIM_ASSERT(f->id < sys->nfwds);
    fwd_rec *r = &sys->fwds[f->id];
    f->id = 0;
    SIM_ASSERT(r->refs > 0);
    if (--r->refs > 0) return;
    if (r->expect_end && !r->end_sent) {
        act__violation(sys, "a stream sink Fwd made at %s lost its producers without an end "
                       "(a silent end)", r->site);
    }
    if (r->kind == FK_FN && r->drop != NULL) {
        sys->cur_tag = r->tag;
        r->drop(r->ud, sys, r->end_sent != 0);
    }
    if (r->kind == FK_STREAM && sys->bug != ACT_BUG_STREAM_NO_END) {
        act__stream_gone(sys, r->target);
    }
}

act_fwd act_fwd_take(act_fwd *f)
{
    act_fwd out = *f;
    f->id = 0;
    return out;
}

void act_fwd_expect_end(act_sys *sys, act_fwd f, const char *site)
{
    SIM_ASSERT(f.id > 0 && f.id < sys->nfwds);
    sys->fwds[f.id].expect_end = 1;
    sys->fwds[f.id].site = site;
}

/* ---- timers --------------------------------------------------------------------------------- */

typedef struct timer_state {
    sim_co co;
    act_sys *sys;
    uint32_t node;
    uint64_t delay_ns;
    act_ret ret;
    act_val v;
} timer_state;

static int timer_poll(void *state, sim_world *w)
{
    timer_state *t = state;
    SIM_BEGIN(w, &t->co);
    SIM_TRY(sim_sleep(w, t->delay_ns));
    {
        runtime *rt = rt_of(t->sys, t->node);
        SIM_ASSERT(rt->timers > 0);
        rt->timers--;
        item it = {.kind = IT_FIRE, .target = t->ret.id, .v = t->v};
        act__push(t->sys, t->node, &it);
    }
    SIM_END(SIM_OK);
}

int act_after(act_sys *sys, sim_node_id node, uint64_t delay_ns, act_ret r, act_val v)
{
    runtime *rt = rt_of(sys, node.v);
    SIM_ASSERT(r.id != 0);
    timer_state t = {.sys = sys, .node = node.v, .delay_ns = delay_ns, .ret = r, .v = v};
    sim_task_desc d = {.name = "act-timer", .node = node, .poll = timer_poll, .state = &t,
                       .state_size = sizeof t, .daemon = true};
    int rc = sim_spawn(sys->w, &d, NULL);
    if (rc == SIM_OK) rt->timers++;
    return rc;
}

/* ---- the loop ------------------------------------------------------------------------------- */

typedef struct loop_state {
    sim_co co;
    act_sys *sys;
    uint32_t node;
    uint32_t i;
} loop_state;

/* After an item, maybe resumes one live bridge task of the node for nothing (B.5: resume
 * must tolerate it). */
static void spurious(act_sys *sys, uint32_t node)
{
    runtime *rt = rt_of(sys, node);
    if (sys->spurious.p == 0 || sys->ntasks <= 1) return;
    if (!sim_rng_ratio(&rt->rng, sys->spurious)) return;
    uint32_t start = 1 + (uint32_t)sim_rng_below(&rt->rng, sys->ntasks - 1);
    for (uint32_t k = 0; k < sys->ntasks - 1; k++) {
        uint32_t t = 1 + (start - 1 + k) % (sys->ntasks - 1);
        if (!sys->tasks[t].live || sys->tasks[t].node != node) continue;
        act__task_ref(sys, t);
        item it = {.kind = IT_RESUME, .target = t};
        act__push(sys, node, &it);
        sys->stats.spurious++;
        return;
    }
}

static int loop_poll(void *state, sim_world *w)
{
    loop_state *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    for (;;) {
        if (rt_of(l->sys, l->node)->len == 0) {
            SIM_AWAIT(rc, sim_notified(&rt_of(l->sys, l->node)->wake));
            continue;
        }
        rt_of(l->sys, l->node)->in_loop = 1;
        for (l->i = 0; l->i < LOOP_BATCH; l->i++) {
            item it;
            if (!pop(rt_of(l->sys, l->node), &it)) break;
            run_item(l->sys, &it);
            spurious(l->sys, l->node);
        }
        rt_of(l->sys, l->node)->in_loop = 0;
        SIM_AWAIT(rc, sim_yield());
    }
    SIM_END(rc);
}

/* The node crashed: its runtime, actors and tasks vanish with the process. Nothing fires:
 * the Rets made there are lost, not leaked. */
static void crashed(act_sys *sys, uint32_t node)
{
    runtime *rt = rt_of(sys, node);
    rt->up = 0;
    rt->len = 0;
    rt->head = 0;
    rt->timers = 0;
    for (uint32_t i = 1; i < sys->nactors; i++) {
        actor_rec *a = &sys->actors[i];
        if (a->node != node || a->state == ST_ZOMBIE) continue;
        a->state = ST_ZOMBIE;
        a->prep_len = 0;
        a->kept_len = 0;
    }
    for (uint32_t i = 1; i < sys->nrets; i++) {
        ret_rec *r = &sys->rets[i];
        if (r->node != node || r->fired || r->lost) continue;
        r->lost = 1;
        sys->stats.rets_lost++;
        /* Nothing is owed any more. sim voids what the node made itself; a Ret made outside
         * any node's task for this node is settled here. */
        if (sim_obligation_pending(sys->w, r->ob)) (void)sim_discharge(sys->w, r->ob, SIM_SITE);
    }
    act__tasks_crashed(sys, node);
}

static void loop_drop(void *state, sim_world *w)
{
    loop_state *l = state;
    if (sim_task_end_result(w) == SIM_ECRASHED) crashed(l->sys, l->node);
}

int act_boot(act_sys *sys, sim_node_id node)
{
    runtime *rt = rt_of(sys, node.v);
    SIM_ASSERT(!rt->up || sim_node_boots(sys->w, node) > rt->boot);
    rt->up = 1;
    rt->in_loop = 0;
    rt->boot = sim_node_boots(sys->w, node);
    rt->len = 0;
    rt->head = 0;
    sim_world_rng(sys->w, "sut/actor/spurious", (uint64_t)node.v << 32 | rt->boot, &rt->rng);
    int rc = sim_notify_new(sys->w, "actor-queue", &rt->wake);
    if (rc != SIM_OK) return rc;
    loop_state l = {.sys = sys, .node = node.v};
    sim_task_desc d = {.name = "actor-loop", .node = node, .poll = loop_poll, .drop = loop_drop,
                       .state = &l, .state_size = sizeof l, .daemon = true};
    return sim_spawn(sys->w, &d, NULL);
}

/* ---- the check ------------------------------------------------------------------------------ */

int act_sys_check(act_sys *sys, char *msg, size_t size)
{
    if (sys->violations > 0) {
        snprintf(msg, size, "%s (%u violation(s))", sys->first, sys->violations);
        return SIM_EINVAL;
    }
    /* Leaks: every Ret that neither fired nor was lost, named by up to three sites. */
    uint32_t leaks = 0;
    const char *sites[3] = {NULL, NULL, NULL};
    for (uint32_t i = 1; i < sys->nrets; i++) {
        if (sys->rets[i].fired || sys->rets[i].lost) continue;
        leaks++;
        for (uint32_t k = 0; k < 3; k++) {
            if (sites[k] != NULL && strcmp(sites[k], sys->rets[i].site) == 0) break;
            if (sites[k] == NULL) {
                sites[k] = sys->rets[i].site;
                break;
            }
        }
    }
    if (leaks > 0) {
        snprintf(msg, size, "%u Ret(s) never fired (leaked), made at %s%s%s%s%s", leaks,
                 sites[0], sites[1] ? ", " : "", sites[1] ? sites[1] : "",
                 sites[2] ? ", " : "", sites[2] ? sites[2] : "");
        return SIM_EINVAL;
    }
    for (uint32_t i = 1; i < sys->ntasks; i++) {
        if (!sys->tasks[i].live) continue;
        snprintf(msg, size, "bridge task %u on node %s never finished: it hangs with %u "
                 "reference(s)", i, sim_node_name(sys->w, (sim_node_id){sys->tasks[i].node}),
                 sys->tasks[i].refs);
        return SIM_EINVAL;
    }
    return SIM_OK;
}
