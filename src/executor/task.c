/*
 * task.c: spawning, waking, joining, aborting and finishing tasks.
 *
 * A task slot goes FREE -> LIVE (spawned) -> DONE (finished, result kept for the handle) ->
 * FREE (handle consumed or detached). The drop function runs exactly once, on the way from
 * LIVE to DONE, whatever the reason: completion, abort or crash. After it returns, anything
 * the task still had registered (armed timers, wait-queue places) is a leak: it is released
 * and reported as a violation, so a forgotten drop never wedges another task.
 *
 * Wakers are (slot, id): waking a slot whose id changed, or a finished task, does nothing;
 * waking a queued task does nothing more; waking the running task queues it after its poll.
 */
#include <stdlib.h>
#include <string.h>

#include "exec.h"

static int resolve_spawn_node(sim_world *w, sim_node_id requested, uint32_t *node_out)
{
    uint32_t node = requested.v;
    if (node == 0) {
        if (w->booting != 0) {
            node = w->booting;
        } else if (w->current != SIM__NIL) {
            node = w->tasks[w->current].node;
        }
    }
    if (node >= w->nodes_len) return SIM_ENODE;
    if (node != 0 && w->nodes[node].state == SIM_NODE_DOWN) return SIM_ENODE;
    *node_out = node;
    return SIM_OK;
}

static uint32_t slot_take(sim_world *w)
{
    uint32_t slot = w->task_free;
    if (slot != SIM__NIL) {
        w->task_free = w->tasks[slot].rq_prev;
    } else if (w->tasks_used == w->tasks_cap &&
               sim__grow((void **)&w->tasks, &w->tasks_cap, w->tasks_used + 1,
                         sizeof(sim__task)) != SIM_OK) {
        return SIM__NIL;
    } else {
        slot = w->tasks_used++;
    }
    sim__table_shake((void **)&w->tasks, w->tasks_cap, sizeof(sim__task));
    return slot;
}

void sim__task_free_slot(sim_world *w, uint32_t slot)
{
    sim__task *t = sim__task_at(w, slot);
    SIM_ASSERT(t->status == TASK_DONE);
    SIM_ASSERT(w->tasks_alloc > 0);
    t->status = TASK_FREE;
    t->id = 0;
    t->rq_prev = w->task_free;
    w->task_free = slot;
    w->tasks_alloc--;
}

int sim__task_alloc(sim_world *w, const sim_task_desc *desc, uint32_t node, uint32_t *slot_out)
{
    if (w->tasks_alloc >= w->max_tasks) return SIM_ELIMIT;
    SIM_ASSERT(w->next_task_id < UINT32_MAX);
    void *state = NULL;
    if (desc->state_size > 0) {
        state = sim__mem_alloc(&w->mem, desc->state_size);
        if (state == NULL) return SIM_ENOMEM;
        if (desc->state != NULL) {
            memcpy(state, desc->state, desc->state_size);
        } else {
            memset(state, 0, desc->state_size);
        }
    }
    uint32_t slot = slot_take(w);
    if (slot == SIM__NIL) {
        sim__mem_free(&w->mem, state, desc->state_size);
        return SIM_ENOMEM;
    }
    /* Field by field: a memset of the whole record would cost a rep stos per spawn. */
    sim__task *t = &w->tasks[slot];
    t->id = ++w->next_task_id;
    t->node = (uint16_t)node;
    t->status = TASK_LIVE;
    t->nwaits = 0;
    t->flags = desc->daemon ? TF_DAEMON : 0;
    t->result = 0;
    t->poll = desc->poll;
    t->drop = desc->drop;
    t->state = state;
    t->state_size = (uint32_t)desc->state_size;
    t->joiner_slot = SIM__NIL;
    t->joiner_id = 0;
    t->timers = 0;
    t->waiters = SIM__NIL;
    t->output = 0;
    t->prio = 0;
    t->polls = 0;
    t->name = desc->name ? desc->name : "task";
    t->wait_since_ns = w->now_ns;
    t->wait_prev = (sim__wait){0};
    w->tasks_live++;
    w->tasks_alloc++;
    if (!desc->daemon) w->work_live++;
    w->stats.spawns++;
    sim__sched_on_spawn(w, slot);
    *slot_out = slot;
    return SIM_OK;
}

static int spawn_checked(sim_world *w, const sim_task_desc *desc, uint32_t *slot_out,
                         uint32_t *node_out)
{
    if (desc == NULL || desc->poll == NULL) return SIM_EINVAL;
    if (desc->state_size > SIM_STATE_MAX) return SIM_EINVAL;
    int rc = sim__no_side_effects(w, "sim_spawn");
    if (rc != SIM_OK) return rc;
    rc = resolve_spawn_node(w, desc->node, node_out);
    if (rc != SIM_OK) return rc;
    return sim__task_alloc(w, desc, *node_out, slot_out);
}

void sim__task_launch(sim_world *w, uint32_t slot, bool job, sim_join *out)
{
    sim__task *t = &w->tasks[slot];
    uint32_t parent = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
    sim__emit(w, SIM_EV_SPAWN, t->node, t->id, parent, job, t->name);
    if (out != NULL) {
        out->slot_ = slot;
        out->task.v = t->id;
    } else {
        t->flags |= TF_DETACHED;
    }
    if (t->node != 0 && w->nodes[t->node].state == SIM_NODE_PAUSED) {
        t->flags |= TF_PARKED;
        return;
    }
    int rc = sim__rq_push(w, slot);
    SIM_ASSERT(rc == SIM_OK); /* a run queue that cannot grow is out of memory */
}

int sim_spawn(sim_world *w, const sim_task_desc *desc, sim_join *out)
{
    if (out != NULL) memset(out, 0, sizeof *out);
    uint32_t slot, node;
    int rc = spawn_checked(w, desc, &slot, &node);
    if (rc != SIM_OK) return rc;
    sim__task_launch(w, slot, false, out);
    return SIM_OK;
}

void sim__wake_slow(sim_world *w, uint32_t slot)
{
    sim__task *t = &w->tasks[slot];
    uint32_t waker = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
    w->stats.wakes++;
    sim__emit(w, SIM_EV_WAKE, t->node, t->id, waker, 0, NULL);
    if (t->flags & TF_RUNNING) {
        t->flags |= TF_WOKEN;
    } else if (t->node != 0 && w->nodes[t->node].state == SIM_NODE_PAUSED) {
        t->flags |= TF_PARKED;
    } else {
        int rc = sim__rq_push(w, slot);
        SIM_ASSERT(rc == SIM_OK);
    }
}

void sim__wake_current(sim_world *w)
{
    SIM_ASSERT(w->current != SIM__NIL);
    sim__wake(w, w->current, w->tasks[w->current].id);
}

void sim__note_wait_retag(sim_world *w, uint32_t kind)
{
    if (w->current == SIM__NIL) return;
    sim__task *t = &w->tasks[w->current];
    if (t->nwaits > 0) t->waits[t->nwaits - 1].kind = kind;
}

/* After a pending poll: a new first wait starts a new "waiting since"; a re-poll that
 * waits on the same thing keeps it. */
void sim__task_begin_wait(sim_world *w, uint32_t slot)
{
    sim__task *t = sim__task_at(w, slot);
    sim__wait first = t->nwaits ? t->waits[0] : (sim__wait){0};
    if (first.kind != t->wait_prev.kind || first.x != t->wait_prev.x ||
        first.y != t->wait_prev.y) {
        t->wait_prev = first;
        t->wait_since_ns = w->now_ns;
    }
}

static void run_drop(sim_world *w, uint32_t slot, sim_drop_mode mode)
{
    sim__task *t = &w->tasks[slot];
    if (t->drop == NULL) return;
    uint32_t saved_current = w->current;
    int saved_dropping = w->dropping;
    w->current = slot;
    w->dropping = (int)mode;
    t->drop(t->state, w, mode);
    w->current = saved_current;
    w->dropping = saved_dropping;
}

static void release_leftovers(sim_world *w, uint32_t slot)
{
    if (w->tasks[slot].timers == 0 && w->tasks[slot].waiters == SIM__NIL) return;
    uint32_t timers = sim__timers_release_task(w, slot);
    uint32_t waiters = sim__waiters_release_task(w, slot);
    if (timers == 0 && waiters == 0) return;
    const sim__task *t = &w->tasks[slot];
    uint32_t saved = w->current;
    w->current = slot;
    sim__violation(w, SIM_VIOLATION_LEAK,
                   "task %u (%s) was dropped with %u armed timer(s) and %u wait registration(s): "
                   "its drop function must drop every sleep, timeout and send/wait op it holds",
                   t->id, t->name, timers, waiters);
    w->current = saved;
}

void sim__task_finish(sim_world *w, uint32_t slot, int result, sim_drop_mode mode)
{
    sim__task *t = sim__task_at(w, slot);
    SIM_ASSERT(t->status == TASK_LIVE);
    SIM_ASSERT(!(t->flags & (TF_QUEUED | TF_RUNNING)));
    if (mode != SIM_DROP_DONE) sim__emit(w, SIM_EV_DROP, t->node, t->id, (uint64_t)mode, 0, NULL);
    run_drop(w, slot, mode);
    release_leftovers(w, slot);
    t = &w->tasks[slot];
    t->flags &= ~(uint32_t)(TF_PARKED | TF_WOKEN | TF_SPURIOUS);
    if (!(t->flags & TF_BORROWED)) sim__mem_free(&w->mem, t->state, t->state_size);
    t->state = NULL;
    t->status = TASK_DONE;
    t->result = result;
    SIM_ASSERT(w->tasks_live > 0);
    w->tasks_live--;
    if (!(t->flags & TF_DAEMON)) w->work_live--;
    sim__emit(w, SIM_EV_COMPLETE, t->node, t->id, (uint64_t)(int64_t)result,
              (uint64_t)t->output, NULL);
    if (t->flags & TF_DETACHED) {
        sim__task_free_slot(w, slot);
    } else if (t->joiner_slot != SIM__NIL) {
        sim__wake(w, t->joiner_slot, t->joiner_id);
    }
}

/* ---- join handles -------------------------------------------------------------------------- */

/* The slot of a handle that still refers to its task, or SIM__NIL. */
static uint32_t join_slot(const sim_world *w, const sim_join *j)
{
    if (j == NULL || j->task.v == 0 || j->slot_ >= w->tasks_used) return SIM__NIL;
    const sim__task *t = &w->tasks[j->slot_];
    if (t->id != j->task.v || t->status == TASK_FREE) return SIM__NIL;
    return j->slot_;
}

int sim_join_poll(sim_world *w, sim_join *j)
{
    uint32_t slot = join_slot(w, j);
    if (slot == SIM__NIL) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_join_poll on an empty or consumed handle");
        return SIM_EMISUSE;
    }
    uint32_t self = sim__require_task(w, "sim_join_poll");
    if (self == SIM__NIL) return SIM_EMISUSE;
    if (self == slot) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "task %u awaits its own join handle",
                       w->tasks[self].id);
        return SIM_EMISUSE;
    }
    sim__task *t = &w->tasks[slot];
    if (t->status == TASK_DONE) {
        int rc = t->result;
        j->output = t->output;
        j->slot_ = SIM__NIL;
        sim__task_free_slot(w, slot);
        return rc;
    }
    t->joiner_slot = self;
    t->joiner_id = w->tasks[self].id;
    sim__note_wait(w, WAIT_JOIN, t->id, 0);
    return SIM_PENDING;
}

void sim_join_abort(sim_world *w, const sim_join *j)
{
    uint32_t slot = join_slot(w, j);
    if (slot == SIM__NIL) return;
    sim__task *t = &w->tasks[slot];
    if (t->status != TASK_LIVE || (t->flags & (TF_ABORT | TF_JOB_STARTED))) return;
    if (sim__no_side_effects(w, "sim_join_abort") != SIM_OK) return;
    t->flags |= TF_ABORT;
    uint32_t by = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
    sim__emit(w, SIM_EV_ABORT, t->node, t->id, by, 0, NULL);
    sim__abort_push(w, slot);
}

void sim_join_detach(sim_world *w, sim_join *j)
{
    /* A handle already consumed by a join keeps its task and output (sim.h). */
    uint32_t slot = join_slot(w, j);
    if (slot == SIM__NIL) return;
    sim__task *t = &w->tasks[slot];
    if (t->status == TASK_DONE) {
        sim__task_free_slot(w, slot);
    } else {
        t->flags |= TF_DETACHED;
        t->joiner_slot = SIM__NIL;
    }
    j->slot_ = SIM__NIL;
    j->task.v = 0;
}

static int join_fpoll(void *state, sim_world *w)
{
    return sim_join_poll(w, state);
}

static void join_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_join_detach(w, state);
}

sim_future sim_join_future(sim_join *j)
{
    return (sim_future){.poll = join_fpoll, .drop = join_fdrop, .state = j};
}

/* ---- deferred aborts ---------------------------------------------------------------------- */

void sim__abort_push(sim_world *w, uint32_t slot)
{
    int rc = sim__grow((void **)&w->aborts, &w->aborts_cap, w->aborts_len + 1, sizeof(sim__ref));
    SIM_ASSERT(rc == SIM_OK); /* out of memory queueing an abort */
    w->aborts[w->aborts_len++] = (sim__ref){.slot = slot, .id = w->tasks[slot].id};
}

void sim__aborts_process(sim_world *w)
{
    /* Drops may request further aborts; they are appended and handled in the same pass. */
    for (uint32_t i = 0; i < w->aborts_len; i++) {
        uint32_t slot = w->aborts[i].slot;
        sim__task *t = &w->tasks[slot];
        if (t->id != w->aborts[i].id || t->status != TASK_LIVE) continue;
        if (t->flags & TF_JOB_STARTED) continue;
        sim__rq_remove(w, slot);
        t->flags &= ~(uint32_t)TF_PARKED;
        sim__task_finish(w, slot, SIM_ECANCELED, SIM_DROP_ABORT);
    }
    w->aborts_len = 0;
}

/* ---- the running task ----------------------------------------------------------------------- */

sim_task_id sim_task_current(const sim_world *w)
{
    sim_task_id id = {0};
    if (w->current != SIM__NIL) id.v = w->tasks[w->current].id;
    return id;
}

sim_node_id sim_node_current(const sim_world *w)
{
    sim_node_id id = {0};
    if (w->current != SIM__NIL) id.v = w->tasks[w->current].node;
    return id;
}

const char *sim_task_name(const sim_world *w, sim_task_id task)
{
    if (task.v == 0) return "?";
    if (w->current != SIM__NIL && w->tasks[w->current].id == task.v) {
        return w->tasks[w->current].name;
    }
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        if (w->tasks[s].id == task.v) return w->tasks[s].name;
    }
    return "?";
}

void sim_task_set_output(sim_world *w, int64_t output)
{
    if (w->current == SIM__NIL) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_task_set_output outside a task");
        return;
    }
    w->tasks[w->current].output = output;
}

int sim_yield_poll(sim_world *w, sim_yield *y)
{
    if (sim__require_task(w, "sim_yield_poll") == SIM__NIL) return SIM_EMISUSE;
    if (y->state_ == 0) {
        y->state_ = 1;
        sim__wake_current(w);
        sim__note_wait(w, WAIT_YIELD, 0, 0);
        return SIM_PENDING;
    }
    y->state_ = 0;
    return SIM_OK;
}
