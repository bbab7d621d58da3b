/*
 * waitq.c: wait queues for objects that many tasks can wait on at once: senders waiting for
 * room in a bounded channel, tasks waiting for a token's cancellation.
 *
 * A registration ("waiter") sits in two doubly linked lists: its object's FIFO queue and its
 * task's list. The object's queue gives fairness (first come, first served); the task's list
 * lets a dead task's registrations be found and released. A notified waiter has been woken
 * (obj->owed counts them); one woken by notify_one is owed a turn, and if it is dropped
 * without taking it, the turn passes to the next waiter, so aborting one waiting sender never
 * strands the others. One woken by notify_all (a broadcast) is owed nothing to pass on.
 */
#include "exec.h"

static sim__waiter *waiter_at(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(slot < w->waiters_used);
    return &w->waiters[slot];
}

/* An object's wait queue is linked both ways from head to tail, every registration in it is
 * live and names the object and a task slot, none is in it twice (the walk ends within the
 * table), and the object owes exactly as many turns as it has notified waiters. O(n): for
 * SIM_ASSERT_SLOW. */
bool sim__waitq_ok(const sim_world *w, uint32_t obj)
{
    const sim__obj *o = &w->objs[obj];
    uint32_t prev = SIM__NIL, n = 0, notified = 0;
    for (uint32_t s = o->wq_head; s != SIM__NIL; s = w->waiters[s].next) {
        SIM_ASSERT(s < w->waiters_used);
        SIM_ASSERT(++n <= w->waiters_used); /* no cycle: nobody twice */
        const sim__waiter *wt = &w->waiters[s];
        SIM_ASSERT(wt->id != 0);
        SIM_ASSERT(wt->obj == obj);
        SIM_ASSERT(wt->prev == prev);
        SIM_ASSERT(wt->task_slot < w->tasks_used);
        if (wt->notified) notified++;
        prev = s;
    }
    SIM_ASSERT(o->wq_tail == prev);
    SIM_ASSERT(o->owed == notified);
    return true;
}

/* A task's registrations are linked both ways and all name the task. O(n). */
__attribute__((unused)) static inline bool task_waiters_ok(const sim_world *w,
                                                          uint32_t task_slot)
{
    uint32_t prev = SIM__NIL, n = 0;
    for (uint32_t s = w->tasks[task_slot].waiters; s != SIM__NIL; s = w->waiters[s].tnext) {
        SIM_ASSERT(++n <= w->waiters_used);
        SIM_ASSERT(w->waiters[s].task_slot == task_slot);
        SIM_ASSERT(w->waiters[s].tprev == prev);
        prev = s;
    }
    return true;
}
bool sim__waiter_valid(sim_world *w, uint32_t slot, uint32_t id)
{
    return id != 0 && slot < w->waiters_used && w->waiters[slot].id == id;
}

bool sim__waiter_notified(sim_world *w, uint32_t slot, uint32_t id)
{
    return sim__waiter_valid(w, slot, id) && w->waiters[slot].notified;
}

int sim__waiter_add(sim_world *w, uint32_t obj, uint32_t *slot_out, uint32_t *id_out)
{
    SIM_ASSERT(w->current != SIM__NIL);
    SIM_ASSERT(sim__task_live(w, w->current)); /* a dead task waits for nothing */
    SIM_ASSERT(w->objs[obj].type != OBJ_FREE);
    uint32_t slot = w->waiter_free;
    if (slot != SIM__NIL) {
        w->waiter_free = w->waiters[slot].next;
    } else {
        sim__grow((void **)&w->waiters, &w->waiters_cap, w->waiters_used + 1,
                  sizeof(sim__waiter));
        slot = w->waiters_used++;
    }
    sim__table_shake((void **)&w->waiters, w->waiters_cap, sizeof(sim__waiter));
    sim__obj *o = sim__obj_at(w, obj);
    SIM_ASSERT(o->type != OBJ_FREE);
    sim__task *t = &w->tasks[w->current];
    sim__waiter *wt = &w->waiters[slot];
    wt->id = ++w->waiter_serial ? w->waiter_serial : ++w->waiter_serial;
    wt->obj = obj;
    wt->task_slot = w->current;
    wt->task_id = t->id;
    wt->notified = 0;
    wt->next = SIM__NIL;
    wt->prev = o->wq_tail;
    if (o->wq_tail != SIM__NIL) {
        w->waiters[o->wq_tail].next = slot;
    } else {
        o->wq_head = slot;
    }
    o->wq_tail = slot;
    wt->tprev = SIM__NIL;
    wt->tnext = t->waiters;
    if (t->waiters != SIM__NIL) w->waiters[t->waiters].tprev = slot;
    t->waiters = slot;
    SIM_ASSERT(wt->id != 0);
    SIM_ASSERT_SLOW(sim__waitq_ok(w, obj));
    SIM_ASSERT_SLOW(task_waiters_ok(w, wt->task_slot));
    *slot_out = slot;
    *id_out = wt->id;
    return SIM_OK;
}

static void unlink_from_obj(sim_world *w, uint32_t slot)
{
    sim__waiter *wt = waiter_at(w, slot);
    if (wt->obj == SIM__NIL) return;
    SIM_ASSERT(wt->id != 0);
    sim__obj *o = sim__obj_at(w, wt->obj);
    SIM_ASSERT(o->type != OBJ_FREE); /* a queue outlives none of its objects */
    if (wt->prev != SIM__NIL) {
        w->waiters[wt->prev].next = wt->next;
    } else {
        o->wq_head = wt->next;
    }
    if (wt->next != SIM__NIL) {
        w->waiters[wt->next].prev = wt->prev;
    } else {
        o->wq_tail = wt->prev;
    }
    if (wt->notified) {
        SIM_ASSERT(o->owed > 0);
        o->owed--;
    }
    wt->obj = SIM__NIL;
}

static void unlink_from_task(sim_world *w, uint32_t slot)
{
    sim__waiter *wt = waiter_at(w, slot);
    SIM_ASSERT(wt->task_slot < w->tasks_used);
    if (wt->tprev != SIM__NIL) {
        w->waiters[wt->tprev].tnext = wt->tnext;
    } else {
        SIM_ASSERT(w->tasks[wt->task_slot].waiters == slot);
        w->tasks[wt->task_slot].waiters = wt->tnext;
    }
    if (wt->tnext != SIM__NIL) w->waiters[wt->tnext].tprev = wt->tprev;
    SIM_ASSERT_SLOW(task_waiters_ok(w, wt->task_slot));
}

void sim__waiter_remove(sim_world *w, uint32_t slot, uint32_t id, bool pass_on)
{
    if (!sim__waiter_valid(w, slot, id)) return;
    sim__waiter *wt = &w->waiters[slot];
    uint32_t obj = wt->obj;
    bool owed_turn = wt->notified == WAITER_OWED && obj != SIM__NIL;
    SIM_ASSERT(wt->notified == 0 || wt->notified == WAITER_OWED || wt->notified == WAITER_WOKEN);
    if (obj != SIM__NIL) SIM_ASSERT(obj < w->objs_used);
    unlink_from_obj(w, slot);
    unlink_from_task(w, slot);
    wt->id = 0;
    wt->next = w->waiter_free;
    w->waiter_free = slot;
    SIM_ASSERT(!sim__waiter_valid(w, slot, id)); /* the registration is gone */
    if (owed_turn && pass_on) sim__waitq_notify_one(w, obj);
}

void sim__waiter_unnotify(sim_world *w, uint32_t slot)
{
    sim__waiter *wt = waiter_at(w, slot);
    if (!wt->notified) return;
    SIM_ASSERT(wt->id != 0);
    wt->notified = 0;
    if (wt->obj != SIM__NIL) {
        sim__obj *o = sim__obj_at(w, wt->obj);
        SIM_ASSERT(o->owed > 0);
        o->owed--;
    }
}

static void notify(sim_world *w, sim__obj *o, uint32_t slot, uint8_t how)
{
    sim__waiter *wt = &w->waiters[slot];
    SIM_ASSERT(!wt->notified);
    SIM_ASSERT(how == WAITER_OWED || how == WAITER_WOKEN);
    wt->notified = how;
    SIM_ASSERT(wt->obj == o->slot);
    o->owed++;
    sim__wake(w, wt->task_slot, wt->task_id);
}

void sim__waitq_notify_one(sim_world *w, uint32_t obj)
{
    SIM_ASSERT_SLOW(sim__waitq_ok(w, obj));
    sim__obj *o = sim__obj_at(w, obj);
    SIM_ASSERT(o->type != OBJ_FREE);
    for (uint32_t s = o->wq_head; s != SIM__NIL; s = w->waiters[s].next) {
        if (!w->waiters[s].notified) {
            notify(w, o, s, WAITER_OWED);
            return;
        }
    }
}

void sim__waitq_notify_all(sim_world *w, uint32_t obj)
{
    SIM_ASSERT_SLOW(sim__waitq_ok(w, obj));
    sim__obj *o = sim__obj_at(w, obj);
    for (uint32_t s = o->wq_head; s != SIM__NIL; s = w->waiters[s].next) {
        if (!w->waiters[s].notified) notify(w, o, s, WAITER_WOKEN);
    }
}

uint32_t sim__waiters_release_task(sim_world *w, uint32_t task_slot)
{
    uint32_t n = 0;
    SIM_ASSERT(task_slot < w->tasks_used);
    SIM_ASSERT(w->tasks[task_slot].flags & TF_ENDING); /* only a task's end releases them all */
    while (w->tasks[task_slot].waiters != SIM__NIL) {
        uint32_t slot = w->tasks[task_slot].waiters;
        sim__waiter_remove(w, slot, w->waiters[slot].id, true);
        n++;
    }
    return n;
}

void sim__waitq_clear(sim_world *w, uint32_t obj)
{
    /* The object is going away: wake everyone (their next poll sees it closed) and detach
     * them; each registration stays on its task's list until its op is dropped. */
    sim__obj *o = sim__obj_at(w, obj);
    while (o->wq_head != SIM__NIL) {
        uint32_t slot = o->wq_head;
        sim__waiter *wt = &w->waiters[slot];
        sim__wake(w, wt->task_slot, wt->task_id);
        SIM_ASSERT(wt->obj == obj);
        unlink_from_obj(w, slot);
    }
    SIM_ASSERT(o->owed == 0);
}
