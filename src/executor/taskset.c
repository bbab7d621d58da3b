/*
 * taskset.c: task sets (tokio's JoinSet).
 *
 * A set is an object; its members are tasks flagged TF_INSET with set_obj naming it (slot
 * and, through the object's serial kept in set_next while they run, its identity). A member
 * that finishes is queued on the set (first = head, parent = tail, linked through set_next)
 * in the order members finish, and the task awaiting sim_task_set_next is woken; collecting
 * it frees its slot. len counts members not yet collected. Dropping the set (or its owner's
 * end) aborts the members still running and frees the finished ones: a set never leaves a
 * task running unobserved, which is what makes it the structured way to fan out.
 *
 * Aborting all and dropping scan the task table for members: O(tasks), once per set.
 */
#include <stdio.h>

#include "exec.h"

static uint32_t set_of(sim_world *w, const sim_task_set *set, const char *what)
{
    uint32_t hs = sim__hand_slot(w, set ? &set->h : NULL, HAND_SET, what);
    if (hs == SIM__NIL) return SIM__NIL;
    uint32_t slot = w->hands[hs].target;
    SIM_ASSERT(w->objs[slot].type == OBJ_SET);
    return slot;
}

int sim_task_set_new(sim_world *w, sim_task_set *out)
{
    SIM_ASSERT(out != NULL);
    out->h = (sim_handle){0};
    uint32_t slot;
    int rc = sim__obj_alloc(w, OBJ_SET, &slot);
    if (rc != SIM_OK) return rc;
    sim__obj *o = sim__obj_at(w, slot);
    o->txs = 1;
    o->first = SIM__NIL;
    o->parent = SIM__NIL;
    rc = sim__hand_new(w, HAND_SET, 0, slot, 0, &out->h);
    SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
    return SIM_OK;
}

int sim_task_set_spawn(sim_world *w, const sim_task_set *set, const sim_task_desc *desc,
                       sim_task_id *task_out)
{
    if (task_out != NULL) task_out->v = 0;
    uint32_t obj = set_of(w, set, "sim_task_set_spawn");
    if (obj == SIM__NIL) return SIM_EMISUSE;
    uint32_t task;
    int rc = sim__spawn(w, desc, &task);
    if (rc != SIM_OK) return rc;
    sim__task *t = &w->tasks[task];
    SIM_ASSERT(t->flags & TF_DETACHED);
    t->flags = (t->flags & ~(uint32_t)TF_DETACHED) | TF_INSET;
    t->set_obj = obj;
    t->set_next = w->objs[obj].serial;
    w->objs[obj].len++;
    if (task_out != NULL) task_out->v = t->id;
    return SIM_OK;
}

uint32_t sim_task_set_len(const sim_world *w, const sim_task_set *set)
{
    uint32_t hs = sim__hand_peek(w, &set->h, HAND_SET);
    return hs == SIM__NIL ? 0 : w->objs[w->hands[hs].target].len;
}

/* Is task slot s a member of set object obj (running or finished, not collected)? */
static bool member_of(const sim_world *w, uint32_t s, uint32_t obj)
{
    const sim__task *t = &w->tasks[s];
    return t->status != TASK_FREE && (t->flags & TF_INSET) && t->set_obj == obj;
}

void sim_task_set_abort_all(sim_world *w, const sim_task_set *set)
{
    uint32_t obj = set_of(w, set, "sim_task_set_abort_all");
    if (obj == SIM__NIL) return;
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        if (member_of(w, s, obj) && w->tasks[s].status == TASK_LIVE) sim__task_abort(w, s);
    }
}

void sim__set_member_done(sim_world *w, uint32_t slot)
{
    sim__task *t = &w->tasks[slot];
    SIM_ASSERT(t->status == TASK_DONE && (t->flags & TF_INSET));
    uint32_t obj = t->set_obj;
    sim__obj *o = &w->objs[obj];
    SIM_ASSERT(o->type == OBJ_SET && o->serial == t->set_next); /* a set frees its members */
    t->set_next = SIM__NIL;
    if (o->parent != SIM__NIL) {
        w->tasks[o->parent].set_next = slot;
    } else {
        o->first = slot;
    }
    o->parent = slot;
    if (o->waker_slot != SIM__NIL) sim__wake(w, o->waker_slot, o->waker_id);
}

/* The set goes: running members are aborted (and freed when they finish, detached);
 * finished ones are freed now. Also when the owner's node crashes: members elsewhere must
 * not run on unobserved, so the abort is the executor's (sim__task_abort_released), not a
 * side effect of the crashed owner. */
static void set_release(sim_world *w, uint32_t hs)
{
    uint32_t obj = w->hands[hs].target;
    SIM_ASSERT(w->hands[hs].kind == HAND_SET);
    SIM_ASSERT(w->objs[obj].type == OBJ_SET);
    sim__hand_free(w, hs);
    /* A task awaiting the next member through a copy of the handle was never woken and hung;
     * woken, its next poll finds the handle gone (SIM_EMISUSE and a violation). */
    if (w->objs[obj].waker_slot != SIM__NIL) {
        sim__wake(w, w->objs[obj].waker_slot, w->objs[obj].waker_id);
        w->objs[obj].waker_slot = SIM__NIL;
    }
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        if (!member_of(w, s, obj)) continue;
        sim__task *t = &w->tasks[s];
        t->flags = (t->flags & ~(uint32_t)TF_INSET) | TF_DETACHED;
        t->set_obj = SIM__NIL;
        SIM_ASSERT(t->status == TASK_LIVE || t->status == TASK_DONE);
        if (t->status == TASK_DONE) {
            sim__task_free_slot(w, s);
        } else {
            sim__task_abort_released(w, s);
        }
    }
    sim__obj_release(w, obj);
}

void sim_task_set_drop(sim_world *w, sim_task_set *set)
{
    if (set == NULL || set->h.id_ == 0) return;
    uint32_t hs = sim__hand_slot_to_drop(w, &set->h, HAND_SET, "sim_task_set_drop");
    set->h = (sim_handle){0};
    if (hs != SIM__NIL) set_release(w, hs);
}

static int next_poll(sim_fut *f, sim_world *w)
{
    sim_task_set_op *op = (sim_task_set_op *)f;
    uint32_t self = sim__require_task(w, "sim_task_set_next");
    if (self == SIM__NIL) return SIM_EMISUSE;
    uint32_t obj = set_of(w, op->set, "sim_task_set_next");
    if (obj == SIM__NIL) return SIM_EMISUSE;
    sim__obj *o = &w->objs[obj];
    if (o->first != SIM__NIL) {
        uint32_t slot = o->first;
        sim__task *t = &w->tasks[slot];
        SIM_ASSERT(t->status == TASK_DONE && member_of(w, slot, obj));
        o->first = t->set_next;
        if (o->first == SIM__NIL) o->parent = SIM__NIL;
        SIM_ASSERT(o->len > 0);
        o->len--;
        if (o->waker_slot == self) o->waker_slot = SIM__NIL;
        int rc = t->result;
        if (op->task != NULL) op->task->v = t->id;
        if (op->output != NULL) *op->output = t->output;
        t->flags &= ~(uint32_t)TF_INSET;
        sim__task_free_slot(w, slot);
        return rc;
    }
    if (o->len == 0) return SIM_EEMPTY;
    o->waker_slot = self;
    o->waker_id = w->tasks[self].id;
    sim__note_wait(w, WAIT_SET, obj, o->serial);
    return SIM_PENDING;
}

static void next_drop(sim_fut *f, sim_world *w)
{
    sim_task_set_op *op = (sim_task_set_op *)f;
    uint32_t hs = sim__hand_peek(w, &op->set->h, HAND_SET);
    if (hs == SIM__NIL) return;
    sim__obj *o = &w->objs[w->hands[hs].target];
    if (o->waker_slot == w->current) o->waker_slot = SIM__NIL;
}

static void next_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL && size > 0);
    uint32_t hs = sim__hand_peek(w, &((const sim_task_set_op *)f)->set->h, HAND_SET);
    if (hs == SIM__NIL) {
        snprintf(buf, size, "the next task of a dropped set");
        return;
    }
    const sim__obj *o = &w->objs[w->hands[hs].target];
    SIM_ASSERT(o->type == OBJ_SET);
    snprintf(buf, size, "the next of %u task(s) in set #%u", o->len, o->serial);
}

static const sim_fut_vt next_vt = {.name = "task-set-next", .poll = next_poll,
                                   .drop = next_drop, .describe = next_describe};

sim_task_set_op sim_task_set_next(const sim_task_set *set, sim_task_id *task, int64_t *output)
{
    SIM_ASSERT(set != NULL);
    return (sim_task_set_op){.fut = SIM_FUT_INIT(&next_vt), .set = set, .task = task,
                             .output = output};
}

void sim__set_init_hand_ops(sim_world *w)
{
    w->hand_ops[HAND_SET] = set_release;
}
