/*
 * bridge.c: the bridge of actor.h between the runtime and async/await (stakker_async_await,
 * B.6): bridge tasks and their wakers, push and pull pipes, Fwd -> stream and stream -> Fwd.
 *
 * A bridge task lives while it has references: the resume item being run or queued, and a
 * waker parked in a pipe or a stream. A waker is nothing but a counted task id: parking takes
 * a reference, waking hands it to a resume item, so no wake-up needs an atomic or a lock
 * (seed 002's single-threaded waker). When the count reaches zero before the coroutine has
 * returned, the coroutine is dropped at its await (sim_co_reset drops the future it awaits),
 * the state's drop function runs and the spawn Ret fires none.
 *
 * A future of the bridge tells the task it is pending on purpose (cur_pended); a poll that
 * returns pending without that awaited something else, which here could never wake it: the
 * check reports it (Stakker panics on a std Waker in spawn_future, B.7.8).
 */
#include <stdlib.h>
#include <string.h>

#include "act_int.h"

act_ret act__ret_pipe(act_sys *sys, uint32_t pipe, const char *site);
act_fwd act__fwd_stream(act_sys *sys, uint32_t stream);

#define GROW(sys, name) act__grow((void **)&(sys)->name, &(sys)->n##name, &(sys)->c##name, \
                                  sizeof *(sys)->name)

/* ---- tasks ---------------------------------------------------------------------------------- */

static task_rec *task_of(act_sys *sys, uint32_t id)
{
    SIM_ASSERT(id > 0 && id < sys->ntasks);
    return &sys->tasks[id];
}

int act_spawn(act_sys *sys, sim_node_id node, sim_poll_cb poll, sim_drop_cb drop,
              const void *state, size_t state_size, act_ret ret)
{
    SIM_ASSERT(poll != NULL && state != NULL);
    SIM_ASSERT(state_size >= sizeof(act_task_head));
    const act_task_head *head = state;
    SIM_ASSERT(head->co.line == 0 && head->co.cur == NULL); /* a fresh coroutine */
    if (!sys->rt[node.v].up) return SIM_ENODE;
    uint32_t id = GROW(sys, tasks);
    task_rec *t = &sys->tasks[id];
    t->live = 1;
    t->refs = 1; /* the first resume */
    t->node = node.v;
    t->boot = sys->rt[node.v].boot;
    t->poll = poll;
    t->drop = drop;
    t->state = malloc(state_size);
    SIM_ASSERT(t->state != NULL);
    memcpy(t->state, state, state_size);
    t->size = state_size;
    t->ret = ret;
    item it = {.kind = IT_RESUME, .target = id};
    act__push(sys, node.v, &it);
    return SIM_OK;
}

/* Ends a task: its coroutine was finished or is dropped; the state is released. */
static void task_end(act_sys *sys, uint32_t id, bool finished)
{
    task_rec *t = task_of(sys, id);
    SIM_ASSERT(t->live);
    t->dying = 1;
    if (!finished) sim_co_reset(sys->w, &t->state->co);
    t = task_of(sys, id);
    if (t->drop != NULL) t->drop(t->state, sys->w);
    t = task_of(sys, id);
    act_val out = t->state->out;
    free(t->state);
    t->state = NULL;
    t->live = 0;
    act_ret ret = act_ret_take(&t->ret);
    if (finished) {
        act_ret_fire(sys, &ret, out);
    } else {
        sys->stats.tasks_dropped++;
        act__drop_val(sys, &out);
        act_ret_drop(sys, &ret); /* the spawner learns of it: none */
    }
}

void act__task_ref(act_sys *sys, uint32_t id)
{
    task_rec *t = task_of(sys, id);
    SIM_ASSERT(t->live);
    t->refs++;
}

void act__task_unref(act_sys *sys, uint32_t id)
{
    task_rec *t = task_of(sys, id);
    if (t->refs == 0) return; /* lost with its node */
    t->refs--;
    if (t->refs == 0 && t->live && !t->dying) task_end(sys, id, false);
}

uint32_t act__waker(act_sys *sys)
{
    if (sys->cur_task == 0) {
        act__violation(sys, "a bridge future was polled outside a bridge task");
        return 0;
    }
    act__task_ref(sys, sys->cur_task);
    return sys->cur_task;
}

void act__wake(act_sys *sys, uint32_t *waker)
{
    if (*waker == 0) return;
    task_rec *t = task_of(sys, *waker);
    item it = {.kind = IT_RESUME, .target = *waker};
    *waker = 0;
    act__push(sys, t->node, &it);
}

/* Lets go of a parked waker without waking it. */
static void unpark(act_sys *sys, uint32_t *waker)
{
    uint32_t t = *waker;
    *waker = 0;
    if (t != 0) act__task_unref(sys, t);
}

/* Parks the current task in *waker (once), and says the pending is the bridge's. */
static void park(act_sys *sys, uint32_t *waker)
{
    if (*waker == 0) *waker = act__waker(sys);
    sys->cur_pended = 1;
}

void act__resume(act_sys *sys, uint32_t id)
{
    task_rec *t = task_of(sys, id);
    if (t->live && !t->dying) {
        SIM_ASSERT(sys->cur_task == 0); /* never nested */
        sys->cur_task = id;
        sys->cur_pended = 0;
        sys->stats.resumes++;
        int rc = t->poll(t->state, sys->w);
        sys->cur_task = 0;
        if (rc == SIM_PENDING && !sys->cur_pended) {
            act__violation(sys, "bridge task %u awaited a future that is not the bridge's: "
                           "nothing could wake it (a std Waker in spawn_future)", id);
        }
        if (rc != SIM_PENDING) task_end(sys, id, true);
    }
    act__task_unref(sys, id); /* the resume item's reference */
}

void act__tasks_crashed(act_sys *sys, uint32_t node)
{
    for (uint32_t i = 1; i < sys->ntasks; i++) {
        task_rec *t = &sys->tasks[i];
        if (t->node != node || !t->live) continue;
        t->live = 0;
        t->refs = 0;
        free(t->state); /* what it awaited was the bridge's, or died with the loop task */
        t->state = NULL;
    }
    for (uint32_t i = 1; i < sys->npipes; i++) {
        if (sys->pipes[i].node == node) sys->pipes[i].waker = 0;
    }
    for (uint32_t i = 1; i < sys->nstreams; i++) {
        if (sys->streams[i].node != node) continue;
        sys->streams[i].waker = 0;
        sys->streams[i].crashed = 1;
    }
}

/* ---- pipes ---------------------------------------------------------------------------------- */

static pipe_rec *pipe_of(act_sys *sys, uint32_t id)
{
    SIM_ASSERT(id > 0 && id < sys->npipes);
    return &sys->pipes[id];
}

static uint32_t new_pipe(act_sys *sys, act_mode mode)
{
    SIM_ASSERT(mode == ACT_DROP_TASK || mode == ACT_RESULT);
    uint32_t id = GROW(sys, pipes);
    sys->pipes[id].mode = (uint8_t)mode;
    uint32_t n = act__node_of_current(sys);
    sys->pipes[id].node = n;
    return id;
}

uint32_t act_push_pipe(act_sys *sys, act_mode mode, act_ret *ret_out, const char *site)
{
    uint32_t id = new_pipe(sys, mode);
    *ret_out = act__ret_pipe(sys, id, site);
    return id;
}

void act__pipe_fired(act_sys *sys, uint32_t id, bool some, act_val *v)
{
    pipe_rec *p = pipe_of(sys, id);
    SIM_ASSERT(!p->has); /* its Ret fires once */
    p->has = 1;
    p->some = some;
    if (some) {
        p->v = *v;
        *v = (act_val){0};
    }
    act__wake(sys, &p->waker);
}

/* The shared second half of act_wait and act_pull. */
static int pipe_poll(act_sys *sys, pipe_rec *p, act_val *out)
{
    if (!p->has) {
        park(sys, &p->waker);
        return SIM_PENDING;
    }
    if (p->some) {
        *out = p->v;
        p->v = (act_val){0};
        p->some = 0; /* taken */
        return SIM_OK;
    }
    if (p->mode == ACT_RESULT) return ACT_FAIL;
    /* Drop mode: pending without a waker; when this resume ends, so does the task. */
    unpark(sys, &p->waker);
    sys->cur_pended = 1;
    return SIM_PENDING;
}

static int wait_poll(sim_fut *f, sim_world *w)
{
    act_wait_op *op = (act_wait_op *)f;
    (void)w;
    return pipe_poll(op->sys, pipe_of(op->sys, op->pipe), op->out);
}

static void wait_drop(sim_fut *f, sim_world *w)
{
    act_wait_op *op = (act_wait_op *)f;
    (void)w;
    unpark(op->sys, &pipe_of(op->sys, op->pipe)->waker);
}

static const sim_fut_vt wait_vt = {.name = "act-wait", .poll = wait_poll, .drop = wait_drop};

act_wait_op act_wait(act_sys *sys, uint32_t pipe, act_val *out)
{
    (void)pipe_of(sys, pipe);
    SIM_ASSERT(out != NULL);
    return (act_wait_op){.fut = SIM_FUT_INIT(&wait_vt), .sys = sys, .pipe = pipe, .out = out};
}

/* A pull pipe's request: a fresh reply Ret through req. */
static void send_request(act_sys *sys, uint32_t id)
{
    pipe_rec *p = pipe_of(sys, id);
    SIM_ASSERT(!p->requested);
    p->requested = 1;
    if (!p->polled) {
        act__violation(sys, "a pull pipe sent its request before it was polled (B.6: lazy)");
    }
    act_val v = {.ret = act__ret_pipe(sys, id, "pull-pipe reply")};
    act_ret req = act_ret_take(&pipe_of(sys, id)->req);
    act_ret_fire(sys, &req, v);
}

static int pull_poll(sim_fut *f, sim_world *w)
{
    act_pull_op *op = (act_pull_op *)f;
    (void)w;
    pipe_of(op->sys, op->pipe)->polled = 1;
    if (!pipe_of(op->sys, op->pipe)->requested) send_request(op->sys, op->pipe);
    return pipe_poll(op->sys, pipe_of(op->sys, op->pipe), op->out);
}

static void pull_drop(sim_fut *f, sim_world *w)
{
    act_pull_op *op = (act_pull_op *)f;
    (void)w;
    pipe_rec *p = pipe_of(op->sys, op->pipe);
    act_ret_drop(op->sys, &p->req); /* never polled: the request goes, as none */
    unpark(op->sys, &pipe_of(op->sys, op->pipe)->waker);
}

static const sim_fut_vt pull_vt = {.name = "act-pull", .poll = pull_poll, .drop = pull_drop};

act_pull_op act_pull(act_sys *sys, act_mode mode, act_ret req, act_val *out)
{
    SIM_ASSERT(out != NULL);
    SIM_ASSERT(req.id != 0);
    uint32_t id = new_pipe(sys, mode);
    pipe_rec *p = pipe_of(sys, id);
    p->pull = 1;
    p->req = req;
    if (sys->bug == ACT_BUG_PULL_EAGER) send_request(sys, id); /* the planted bug */
    return (act_pull_op){.fut = SIM_FUT_INIT(&pull_vt), .sys = sys, .pipe = id, .out = out};
}

/* ---- streams -------------------------------------------------------------------------------- */

static stream_rec *stream_of(act_sys *sys, uint32_t id)
{
    SIM_ASSERT(id > 0 && id < sys->nstreams);
    return &sys->streams[id];
}

uint32_t act_stream_new(act_sys *sys, act_mode mode, act_fwd more, act_fwd *fwd_out)
{
    SIM_ASSERT(mode == ACT_DROP_TASK || mode == ACT_RESULT);
    uint32_t id = GROW(sys, streams);
    stream_rec *s = &sys->streams[id];
    s->mode = (uint8_t)mode;
    s->more = more;
    s->node = act__node_of_current(sys);
    *fwd_out = act__fwd_stream(sys, id);
    return id;
}

void act__stream_item(act_sys *sys, uint32_t id, bool some, act_val *v)
{
    stream_rec *s = stream_of(sys, id);
    if (s->ended) return; /* anything after the end is ignored */
    if (!some) {
        s->ended = 1;
    } else {
        if (s->len == s->cap) {
            uint32_t ncap = s->cap == 0 ? 16 : s->cap * 2;
            SIM_ASSERT(ncap <= ACT_QUEUE_MAX); /* no backpressure: a runaway producer */
            act_val *q = malloc((size_t)ncap * sizeof *q);
            SIM_ASSERT(q != NULL);
            for (uint32_t i = 0; i < s->len; i++) q[i] = s->q[(s->head + i) % s->cap];
            free(s->q);
            s->q = q;
            s->head = 0;
            s->cap = ncap;
        }
        s->q[(s->head + s->len) % s->cap] = *v;
        s->len++;
        s->accepted++;
        *v = (act_val){0};
    }
    act__wake(sys, &s->waker);
}

/* The last Fwd went without an end: the guard of B.6. */
void act__stream_gone(act_sys *sys, uint32_t id)
{
    stream_rec *s = stream_of(sys, id);
    if (s->ended) return;
    if (s->mode == ACT_RESULT) {
        s->fail_item = 1; /* the remaining items, then ActorFail, then the end */
        s->ended = 1;
        act__wake(sys, &s->waker);
        return;
    }
    s->dropped = 1;
    unpark(sys, &s->waker); /* a parked consumer (its queue is empty) is dropped */
}

static int next_poll(sim_fut *f, sim_world *w)
{
    act_next_op *op = (act_next_op *)f;
    act_sys *sys = op->sys;
    stream_rec *s = stream_of(sys, op->stream);
    (void)w;
    /* Drop mode, the producer gone: the task ends at this await, but only once the queue is
     * empty. The planted bug looks at the flag first, as stakker_async_await 0.0.1 does. */
    bool dropped_first = sys->bug == ACT_BUG_STREAM_DROPPED_FIRST;
    if (s->dropped && (s->len == 0 || dropped_first)) {
        if (s->len > 0) {
            act__violation(sys, "a stream's consumer was dropped with %u item(s) still queued: "
                           "they are lost", s->len);
        }
        unpark(sys, &s->waker);
        sys->cur_pended = 1;
        return SIM_PENDING;
    }
    if (s->len > 0) {
        *op->out = s->q[s->head];
        s->head = (s->head + 1) % s->cap;
        s->len--;
        s->yielded++;
        return SIM_OK;
    }
    if (s->fail_item) {
        s->fail_item = 0;
        return ACT_FAIL;
    }
    if (s->ended) return ACT_END;
    park(sys, &s->waker);
    if (s->more.id != 0) act_fwd_send(sys, s->more, true, (act_val){0});
    return SIM_PENDING;
}

static void next_drop(sim_fut *f, sim_world *w)
{
    act_next_op *op = (act_next_op *)f;
    (void)w;
    unpark(op->sys, &stream_of(op->sys, op->stream)->waker);
}

static const sim_fut_vt next_vt = {.name = "act-next", .poll = next_poll, .drop = next_drop};

act_next_op act_next(act_sys *sys, uint32_t stream, act_val *out)
{
    (void)stream_of(sys, stream);
    SIM_ASSERT(out != NULL);
    return (act_next_op){.fut = SIM_FUT_INIT(&next_vt), .sys = sys, .stream = stream, .out = out};
}

/* ---- stream -> Fwd -------------------------------------------------------------------------- */

typedef struct forwarder {
    act_task_head head;
    act_sys *sys;
    uint32_t stream;
    act_fwd fwd;
    act_val v;
} forwarder;

static int forwarder_poll(void *state, sim_world *w)
{
    forwarder *f = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &f->head.co);
    for (;;) {
        SIM_AWAIT(rc, act_next(f->sys, f->stream, &f->v));
        if (rc == SIM_OK) {
            act_fwd_send(f->sys, f->fwd, true, f->v);
        } else if (rc == ACT_FAIL) {
            act_fwd_send(f->sys, f->fwd, true, (act_val){.a = ACT_FAIL_ITEM});
        } else {
            act_fwd_send(f->sys, f->fwd, false, (act_val){0});
            break;
        }
        f->v = (act_val){0};
    }
    SIM_END(SIM_OK);
}

static void forwarder_drop(void *state, sim_world *w)
{
    forwarder *f = state;
    (void)w;
    act_fwd_drop(f->sys, &f->fwd);
}

int act_spawn_stream(act_sys *sys, sim_node_id node, uint32_t stream, act_fwd fwd)
{
    (void)stream_of(sys, stream);
    forwarder f = {.sys = sys, .stream = stream, .fwd = fwd};
    return act_spawn(sys, node, forwarder_poll, forwarder_drop, &f, sizeof f, (act_ret){0});
}
