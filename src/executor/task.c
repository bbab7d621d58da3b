/*
 * task.c: spawning, waking, joining, aborting and finishing tasks.
 *
 * A task slot goes FREE -> LIVE (spawned) -> DONE (finished, result kept for the handle) ->
 * FREE (handle consumed or detached). On the way from LIVE to DONE, whatever the reason
 * (completion, abort or crash), in this order: the future its coroutine awaits is dropped
 * (releasing the timers, wait-queue places and requests it armed), its drop function runs
 * once, for its own memory, and the handles it still owns are released (hand.c). Anything still
 * registered after that (a future the task polled by hand and never dropped) is a leak: it
 * is released and reported as a violation, so a forgotten drop never wedges another task.
 *
 * Wakers are (slot, id): waking a slot whose id changed, or a finished task, does nothing;
 * waking a queued task does nothing more; waking the running task queues it after its poll.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

static int resolve_spawn_node(sim_world *w, sim_node_id requested, uint32_t *node_out)
{
    uint32_t node = requested.v;
    SIM_ASSERT(w->booting < w->nodes_len);
    if (node == 0) {
        if (w->booting != 0) {
            node = w->booting;
        } else if (w->current != SIM__NIL) {
            node = w->tasks[w->current].node;
        }
    }
    if (node >= w->nodes_len) return SIM_ENODE;
    if (node != 0 && w->nodes[node].state == SIM_NODE_DOWN) return SIM_ENODE;
    SIM_ASSERT(node < w->nodes_len);
    *node_out = node;
    return SIM_OK;
}

static uint32_t slot_take(sim_world *w)
{
    uint32_t slot = w->task_free;
    if (slot != SIM__NIL) {
        w->task_free = w->tasks[slot].rq_prev;
        SIM_ASSERT(w->tasks[slot].status == TASK_FREE && w->tasks[slot].id == 0); /* free list */
    } else {
        if (w->tasks_used == w->tasks_cap) {
            uint32_t waits_cap = w->tasks_cap;
            sim__grow((void **)&w->tasks, &w->tasks_cap, w->tasks_used + 1, sizeof(sim__task));
            /* Grown to the same capacity, its new records left unwritten (TF_WAIT_PREV). */
            sim__grow((void **)&w->task_waits, &waits_cap, w->tasks_cap,
                      sizeof(sim__task_waits));
            SIM_ASSERT(waits_cap == w->tasks_cap);
        }
        slot = w->tasks_used++;
    }
    SIM_ASSERT(slot < w->tasks_cap);
    sim__table_shake((void **)&w->tasks, w->tasks_cap, sizeof(sim__task));
    sim__table_shake((void **)&w->task_waits, w->tasks_cap, sizeof(sim__task_waits));
    return slot;
}

/* sim__task_free_slot's body, inline in a detached task's end (most of a spawn storm). */
static inline void free_slot(sim_world *w, uint32_t slot)
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

void sim__task_free_slot(sim_world *w, uint32_t slot)
{
    free_slot(w, slot);
}

int sim__task_alloc(sim_world *w, const sim__task_init *desc, uint32_t node, uint32_t *slot_out)
{
    SIM_ASSERT(desc != NULL && desc->poll != NULL);
    SIM_ASSERT(desc->state_size <= SIM_STATE_MAX);
    if (w->tasks_alloc >= w->max_tasks) return SIM_ELIMIT;
    SIM_ASSERT(w->next_task_id < UINT32_MAX);
    void *state = NULL;
    if (desc->state_size > 0) {
        state = sim__mem_alloc(&w->mem, desc->state_size); /* never NULL */
        if (desc->state != NULL) {
            memcpy(state, desc->state, desc->state_size);
        } else {
            memset(state, 0, desc->state_size);
        }
    }
    uint32_t slot = slot_take(w);
    SIM_ASSERT(slot != SIM__NIL); /* the table grows (out of memory is fatal) */
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
    t->hands_head = SIM__NIL;
    t->hands_tail = SIM__NIL;
    t->set_obj = SIM__NIL;
    t->set_next = SIM__NIL;
    t->output = 0;
    t->prio = 0;
    t->polls = 0;
    t->name = desc->name ? desc->name : "task";
    t->wait_since_ns = w->now_ns;
    w->tasks_live++;
    w->tasks_alloc++;
    if (!desc->daemon) w->work_live++;
    w->stats.spawns++;
    if (w->sched.kind == SIM_SCHED_PCT) sim__sched_on_spawn(w, slot);
    *slot_out = slot;
    return SIM_OK;
}

/* The initial state must begin with a zeroed coroutine header: the executor drops what it
 * awaits when the task ends. */
static bool fresh_co(const sim_task_desc *desc)
{
    if (desc->state_size < sizeof(sim_co)) return false;
    if (desc->state == NULL) return true;
    const sim_co *co = desc->state;
    return co->line == 0 && co->cur == NULL && co->size_ == 0;
}

static inline int spawn_checked(sim_world *w, const sim_task_desc *desc, uint32_t *slot_out,
                         uint32_t *node_out)
{
    if (desc == NULL || desc->poll == NULL) return SIM_EINVAL;
    if (desc->state_size > SIM_STATE_MAX || !fresh_co(desc)) return SIM_EINVAL;
    int rc = w->dropping == SIM__DROP_CRASH ? sim__no_side_effects(w, "sim_spawn") : SIM_OK;
    if (rc != SIM_OK) return rc;
    if (desc->moves != NULL) {
        rc = sim__hand_moves(w, desc->moves, desc->state, desc->state_size, SIM__NIL);
        if (rc != SIM_OK) return rc;
    }
    rc = resolve_spawn_node(w, desc->node, node_out);
    if (rc != SIM_OK) return rc;
    sim__task_init init = {.name = desc->name, .poll = desc->poll, .drop = desc->drop,
                           .state = desc->state, .state_size = desc->state_size,
                           .daemon = desc->daemon};
    rc = sim__task_alloc(w, &init, *node_out, slot_out);
    if (rc != SIM_OK) return rc;
    if (desc->moves != NULL) {
        rc = sim__hand_moves(w, desc->moves, desc->state, desc->state_size, *slot_out);
        SIM_ASSERT(rc == SIM_OK); /* validated above */
    }
    return SIM_OK;
}

void sim__task_launch(sim_world *w, uint32_t slot, bool job, sim_join *out)
{
    sim__task *t = &w->tasks[slot];
    uint32_t parent = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
    t->parent = parent;
    t->parent_name = parent ? w->tasks[w->current].name : NULL;
    sim__emit(w, SIM_EV_SPAWN, t->node, t->id, parent, job, t->name);
    if (out != NULL) {
        uint32_t id = t->id;
        int rc = sim__hand_new(w, HAND_JOIN, 0, slot, id, &out->h);
        SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
        out->task.v = id;
        out->output = 0;
        t = &w->tasks[slot];
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
    SIM_ASSERT(sim__task_live(w, slot));
    SIM_ASSERT(w->tasks[slot].node == node);
    return SIM_OK;
}

int sim__spawn(sim_world *w, const sim_task_desc *desc, uint32_t *slot_out)
{
    uint32_t node;
    int rc = spawn_checked(w, desc, slot_out, &node);
    if (rc != SIM_OK) return rc;
    sim__task_launch(w, *slot_out, false, NULL);
    return SIM_OK;
}

/* A wake-up's event. Nothing in it depends on the run queue, so it comes after the task is
 * queued, as the wake-up's last act: a tail call, if any. */
static int wake_event(sim_world *w, const sim__task *t, uint32_t waker)
{
    return sim__emit_ok(w, SIM_EV_WAKE, t->node, t->id, waker, 0, NULL);
}

/* The random and PCT strategies' queueing, out of the FIFO path (which makes no call). */
static __attribute__((noinline)) int wake_push_slow(sim_world *w, uint32_t slot, uint32_t waker)
{
    int rc = sim__rq_push_slow(w, slot);
    SIM_ASSERT(rc == SIM_OK);
    return wake_event(w, &w->tasks[slot], waker);
}

int sim__wake_slow(sim_world *w, uint32_t slot)
{
    sim__task *t = &w->tasks[slot];
    uint32_t waker = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
    SIM_ASSERT(t->status == TASK_LIVE);
    SIM_ASSERT(!(t->flags & (TF_QUEUED | TF_WOKEN | TF_PARKED | TF_ENDING))); /* sim__wake's */
    w->stats.wakes++;
    if (t->flags & TF_RUNNING) {
        t->flags |= TF_WOKEN;
    } else if (t->node != 0 && w->nodes[t->node].state == SIM_NODE_PAUSED) {
        t->flags |= TF_PARKED;
    } else if (w->sched.kind != SIM_SCHED_FIFO) {
        return wake_push_slow(w, slot, waker);
    } else {
        int rc = sim__rq_push(w, slot);
        SIM_ASSERT(rc == SIM_OK);
    }
    return wake_event(w, t, waker);
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
    if (t->nwaits > 0) w->task_waits[w->current].w[t->nwaits - 1].kind = kind;
}

/* Runs fn as the task's end, with the task as the current one in the given drop mode. */
static void as_ending(sim_world *w, uint32_t slot, int mode)
{
    sim__task *t = &w->tasks[slot];
    uint32_t saved_current = w->current;
    int saved_dropping = w->dropping;
    SIM_ASSERT(t->flags & TF_ENDING);
    w->current = slot;
    w->dropping = mode;
    /* The common end (awaiting nothing, no drop function, no handles) makes no call. */
    if (!(t->flags & TF_JOB) && t->state != NULL && ((sim_co *)t->state)->cur != NULL) {
        sim__co_drop_task(w, t->state);
    }
    /* The drop function before the handles: one that drops a handle it holds (as code
     * written for explicit drops does) finds it still valid; what it leaves is released. */
    t = &w->tasks[slot];
    if (t->drop != NULL) t->drop(t->state, w);
    SIM_ASSERT(w->tasks[slot].status == TASK_LIVE); /* a drop function does not end its task */
    if (w->tasks[slot].hands_head != SIM__NIL) sim__hands_release_task(w, slot);
    SIM_ASSERT(w->tasks[slot].hands_tail == SIM__NIL);
    w->current = saved_current;
    w->dropping = saved_dropping;
}

static void release_leftovers(sim_world *w, uint32_t slot)
{
    if (w->tasks[slot].timers == 0 && w->tasks[slot].waiters == SIM__NIL) return;
    uint32_t timers = sim__timers_release_task(w, slot);
    uint32_t waiters = sim__waiters_release_task(w, slot);
    if (timers == 0 && waiters == 0) return;
    SIM_ASSERT(w->tasks[slot].timers == 0);
    SIM_ASSERT(w->tasks[slot].waiters == SIM__NIL);
    const sim__task *t = &w->tasks[slot];
    uint32_t saved = w->current;
    w->current = slot;
    sim__violation(w, SIM_VIOLATION_LEAK,
                   "task %u (%s) ended with %u armed timer(s) and %u wait registration(s) "
                   "that no awaited future held: a future polled by hand must be dropped "
                   "(sim_fut_drop)",
                   t->id, t->name, timers, waiters);
    w->current = saved;
}

void sim__task_finish(sim_world *w, uint32_t slot, int result, int mode)
{
    sim__task *t = sim__task_at(w, slot);
    SIM_ASSERT(t->status == TASK_LIVE);
    SIM_ASSERT(!(t->flags & (TF_QUEUED | TF_RUNNING | TF_ENDING)));
    SIM_ASSERT(mode == SIM__DROP_DONE || mode == SIM__DROP_ABORT || mode == SIM__DROP_CRASH);
    if (mode != SIM__DROP_DONE) sim__emit(w, SIM_EV_DROP, t->node, t->id, (uint64_t)mode, 0, NULL);
    t->flags |= TF_ENDING; /* wake-ups from its own releases are ignored */
    t->result = result;    /* for sim_task_end_result in its drop function */
    as_ending(w, slot, mode);
    release_leftovers(w, slot);
    t = &w->tasks[slot];
    t->flags &= ~(uint32_t)(TF_PARKED | TF_WOKEN | TF_SPURIOUS | TF_QUEUED);
    SIM_ASSERT(t->hands_head == SIM__NIL);
    sim__mem_free(&w->mem, t->state, t->state_size);
    t->state = NULL;
    t->status = TASK_DONE;
    t->result = result;
    SIM_ASSERT(w->tasks_live > 0);
    w->tasks_live--;
    if (!(t->flags & TF_DAEMON)) w->work_live--;
    sim__emit(w, SIM_EV_COMPLETE, t->node, t->id, (uint64_t)(int64_t)result,
              (uint64_t)t->output, NULL);
    if (t->flags & TF_INSET) {
        sim__set_member_done(w, slot);
    } else if (t->flags & TF_DETACHED) {
        if (result < 0) sim__oracle_uncollected(w, slot, "it was detached");
        free_slot(w, slot);
    } else if (t->joiner_slot != SIM__NIL) {
        sim__wake(w, t->joiner_slot, t->joiner_id);
    }
}

/* ---- join handles -------------------------------------------------------------------------- */

/* The task slot a join handle names, or SIM__NIL (after a violation when what != NULL). */
static uint32_t join_task(sim_world *w, const sim_join *j, uint32_t *hand, const char *what)
{
    uint32_t hs = sim__hand_slot(w, j ? &j->h : NULL, HAND_JOIN, what);
    *hand = hs;
    if (hs == SIM__NIL) return SIM__NIL;
    const sim__hand *r = &w->hands[hs];
    const sim__task *t = &w->tasks[r->target];
    SIM_ASSERT(r->target < w->tasks_used);
    SIM_ASSERT(t->id == r->target_id); /* a handled task's slot is kept until the handle goes */
    SIM_ASSERT(t->status == TASK_LIVE || t->status == TASK_DONE);
    return r->target;
}

/* Forgets the handle: a finished task's slot is freed, a live one runs on detached. `lost`
 * says how a finished task's result goes uncollected (NULL: it was collected). */
static void join_forget(sim_world *w, uint32_t hand, const char *lost)
{
    uint32_t slot = w->hands[hand].target;
    SIM_ASSERT(w->hands[hand].kind == HAND_JOIN);
    SIM_ASSERT(w->tasks[slot].status == TASK_LIVE || w->tasks[slot].status == TASK_DONE);
    sim__hand_free(w, hand);
    sim__task *t = &w->tasks[slot];
    if (t->status == TASK_DONE) {
        if (lost != NULL && t->result < 0) sim__oracle_uncollected(w, slot, lost);
        sim__task_free_slot(w, slot);
    } else {
        t->flags |= TF_DETACHED;
        /* A task awaiting the join through a copy of the handle (its owner ended, or another
         * task detached it) was never woken again and hung without a word; woken, its next
         * poll finds the handle gone: SIM_EMISUSE and a violation that says why. */
        uint32_t joiner = t->joiner_slot, joiner_id = t->joiner_id;
        t->joiner_slot = SIM__NIL;
        if (joiner != SIM__NIL) sim__wake(w, joiner, joiner_id);
    }
}

static void join_release(sim_world *w, uint32_t hand)
{
    join_forget(w, hand, "its join handle was released unawaited");
}

int sim__join_await(sim_world *w, sim_join *j, const char *what)
{
    uint32_t hand;
    uint32_t slot = join_task(w, j, &hand, what);
    if (slot == SIM__NIL) return SIM_EMISUSE;
    uint32_t self = sim__require_task(w, what);
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
        join_forget(w, hand, NULL);
        j->h = (sim_handle){0};
        return rc;
    }
    /* One joiner at a time: a second one took the first one's place, and the first was never
     * woken (it hung until the run deadlocked). */
    uint32_t js = t->joiner_slot;
    if (js != SIM__NIL && js != self && js < w->tasks_used && w->tasks[js].id == t->joiner_id &&
        w->tasks[js].status == TASK_LIVE) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "task %u awaits the join of task %u (%s), which task %u already awaits: "
                       "a join handle is awaited by one task at a time",
                       w->tasks[self].id, t->id, t->name, t->joiner_id);
        return SIM_EMISUSE;
    }
    t->joiner_slot = self;
    t->joiner_id = w->tasks[self].id;
    sim__note_wait(w, WAIT_JOIN, t->id, 0);
    SIM_ASSERT(t->status == TASK_LIVE);
    SIM_ASSERT(t->joiner_slot == self && self != slot);
    return SIM_PENDING;
}

void sim__join_unwait(sim_world *w, const sim_join *j)
{
    uint32_t hand;
    uint32_t slot = join_task(w, j, &hand, NULL);
    if (slot == SIM__NIL || w->current == SIM__NIL) return;
    sim__task *t = &w->tasks[slot];
    if (t->joiner_slot == w->current) t->joiner_slot = SIM__NIL;
}

static int join_op_poll(sim_fut *f, sim_world *w)
{
    return sim__join_await(w, ((sim_join_op *)f)->join, "sim_join_wait");
}

/* Dropped while waiting: the task no longer has a joiner; the handle stays as it was. */
static void join_op_drop(sim_fut *f, sim_world *w)
{
    sim__join_unwait(w, ((sim_join_op *)f)->join);
}

static void join_op_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_join_op *op = (const sim_join_op *)f;
    snprintf(buf, size, "join of task %u (%s)", op->join->task.v,
             sim_task_name(w, op->join->task));
}

static const sim_fut_vt join_vt = {.name = "join", .poll = join_op_poll, .drop = join_op_drop,
                                   .describe = join_op_describe};

sim_join_op sim_join_wait(sim_join *j)
{
    SIM_ASSERT(j != NULL);
    return (sim_join_op){.fut = SIM_FUT_INIT(&join_vt), .join = j};
}

void sim_join_abort(sim_world *w, const sim_join *j)
{
    uint32_t hand;
    uint32_t slot = join_task(w, j, &hand, "sim_join_abort");
    if (slot == SIM__NIL) return;
    sim__task_abort(w, slot);
}

void sim__task_abort(sim_world *w, uint32_t slot)
{
    const sim__task *t = &w->tasks[slot];
    if (t->status != TASK_LIVE || (t->flags & (TF_ABORT | TF_JOB_STARTED | TF_ENDING))) return;
    if (sim__no_side_effects(w, "sim_join_abort") != SIM_OK) return;
    sim__task_abort_released(w, slot);
}

void sim__task_abort_released(sim_world *w, uint32_t slot)
{
    sim__task *t = &w->tasks[slot];
    if (t->status != TASK_LIVE || (t->flags & (TF_ABORT | TF_JOB_STARTED | TF_ENDING))) return;
    t->flags |= TF_ABORT;
    uint32_t by = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
    sim__emit(w, SIM_EV_ABORT, t->node, t->id, by, 0, NULL);
    sim__abort_push(w, slot);
    SIM_ASSERT(w->aborts_len > 0 && w->aborts[w->aborts_len - 1].slot == slot);
    SIM_ASSERT(w->tasks[slot].flags & TF_ABORT);
}

void sim_join_detach(sim_world *w, sim_join *j)
{
    if (j == NULL || j->h.id_ == 0) return;
    uint32_t hand = sim__hand_slot_to_drop(w, &j->h, HAND_JOIN, "sim_join_detach");
    if (hand != SIM__NIL) join_forget(w, hand, "its join handle was detached");
    j->h = (sim_handle){0};
    j->task.v = 0;
}

/* ---- deferred aborts ---------------------------------------------------------------------- */

void sim__abort_push(sim_world *w, uint32_t slot)
{
    sim__grow((void **)&w->aborts, &w->aborts_cap, w->aborts_len + 1, sizeof(sim__ref));
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
        SIM_ASSERT(t->flags & TF_ABORT); /* only requested aborts are queued */
        SIM_ASSERT(!(t->flags & (TF_RUNNING | TF_ENDING)));
        sim__rq_remove(w, slot);
        t->flags &= ~(uint32_t)TF_PARKED;
        sim__task_finish(w, slot, SIM_ECANCELED, SIM__DROP_ABORT);
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
    SIM_ASSERT(w->current == SIM__NIL || w->current < w->tasks_used);
    if (w->current != SIM__NIL && w->tasks[w->current].id == task.v) {
        return w->tasks[w->current].name;
    }
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        if (w->tasks[s].id == task.v) return w->tasks[s].name;
    }
    return "?";
}

int sim_task_end_result(const sim_world *w)
{
    if (w->current == SIM__NIL || w->dropping < 0) return SIM_PENDING;
    const sim__task *t = &w->tasks[w->current];
    SIM_ASSERT(t->flags & TF_ENDING);
    return t->result;
}

void sim_task_set_output(sim_world *w, int64_t output)
{
    if (w->current == SIM__NIL) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_task_set_output outside a task");
        return;
    }
    w->tasks[w->current].output = output;
}

void sim__task_init_hand_ops(sim_world *w)
{
    w->hand_ops[HAND_JOIN] = join_release;
}
