/*
 * footprint.c: what each step touched, for sim explore's pruning.
 *
 * With a step hook set (sim__exec_set_step_hook), every poll of a task is bracketed: the keys
 * of what the step reads or writes are gathered as the step goes (an object access through
 * sim__obj_at or a handle lookup, an event the step emits, a sim_touch) and handed to the hook
 * when the poll is over. Two steps of different tasks whose keys are disjoint, neither
 * SIM__FP_GLOBAL, touch no common state the executor knows of, so they commute: either order
 * leaves the same world. That is the independence relation of partial-order reduction
 * (Godefroid 1996; Flanagan and Godefroid 2005), computed from the run instead of declared.
 *
 * What it can see is the executor's state. Memory a system shares between its tasks (a struct
 * several tasks point at) is not: every step of a node's task touches the node's key, so all
 * the steps of one node are dependent, unless the node's desc sets touch_declared, by which
 * the system promises that its tasks share memory only where they call sim_touch with a key
 * for it. Keys are exact where cheap and coarse where not (a whole token tree is one key, a
 * task set is global): coarseness costs pruning, never soundness.
 *
 * Cost: nothing without a hook (a branch on fp_in_step per object access and event); with
 * one, a linear scan of at most SIM__FP_KEYS_MAX keys per access.
 */
#include "exec.h"

void sim__exec_set_step_hook(sim_world *w, sim__step_fn fn)
{
    SIM_ASSERT(w != NULL);
    SIM_ASSERT(!w->fp_in_step); /* not from inside a step */
    w->step_fn = fn;
}

void sim__fp_add(sim_world *w, uint64_t key)
{
    SIM_ASSERT(w->fp_in_step);
    SIM_ASSERT(w->fp_len <= SIM__FP_KEYS_MAX);
    for (uint32_t i = 0; i < w->fp_len; i++) {
        if (w->fp_keys[i] == key) return;
    }
    if (w->fp_len == SIM__FP_KEYS_MAX) {
        w->fp_flags |= SIM__FP_GLOBAL; /* too many to say: dependent on everything */
        return;
    }
    w->fp_keys[w->fp_len++] = key;
}

void sim__exec_fp_global(sim_world *w)
{
    if (w->fp_in_step) w->fp_flags |= SIM__FP_GLOBAL;
}

void sim__exec_fp_touch(sim_world *w, uint64_t key)
{
    if (w->fp_in_step) sim__fp_add(w, key);
}

void sim_touch(sim_world *w, uint64_t key)
{
    SIM_ASSERT(w != NULL);
    if (w->fp_in_step) sim__fp_add(w, SIM__FP_KEY(SIM__FPK_USER, key ^ (key >> 56)));
}

/* An object's key: its own serial, a broadcast or watch receiver its channel's (a send moves
 * every receiver's window). A token is its own: a cancellation touches each token of the
 * subtree it marks, and a change to the tree its parent (token.c). A task set reaches its
 * members' tasks: global. */
void sim__fp_obj(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(w->fp_in_step);
    SIM_ASSERT(slot < w->objs_used);
    const sim__obj *o = &w->objs[slot];
    if (o->type == OBJ_SET) {
        w->fp_flags |= SIM__FP_GLOBAL;
        return;
    }
    if (o->type == OBJ_SUB) {
        SIM_ASSERT(o->parent != SIM__NIL && o->parent < w->objs_used); /* its channel */
        o = &w->objs[o->parent];
    }
    SIM_ASSERT(o->type != OBJ_FREE);
    sim__fp_add(w, SIM__FP_KEY(SIM__FPK_OBJ, o->serial));
}

void sim__fp_event(sim_world *w, sim_event_kind kind, uint32_t task, uint64_t a)
{
    SIM_ASSERT(w->fp_in_step);
    switch (kind) {
    case SIM_EV_POLL:
        return;
    case SIM_EV_SPAWN: /* a new id, and the new task is queued */
        sim__fp_add(w, SIM__FP_KEY(SIM__FPK_ALLOC, 0));
        w->fp_flags |= SIM__FP_ENQUEUED;
        return;
    case SIM_EV_WAKE:
        sim__fp_add(w, SIM__FP_KEY(SIM__FPK_TASK, task));
        return;
    case SIM_EV_COMPLETE: /* its result is read by the joiner, its slot freed */
    case SIM_EV_DROP:
        sim__fp_add(w, SIM__FP_KEY(SIM__FPK_TASK, task));
        sim__fp_add(w, SIM__FP_KEY(SIM__FPK_ALLOC, 0));
        return;
    case SIM_EV_TIMER_SET: /* timers at one deadline fire in the order they were armed */
        sim__fp_add(w, SIM__FP_KEY(SIM__FPK_TIMER, a));
        return;
    case SIM_EV_OBLIGE:
        sim__fp_add(w, SIM__FP_KEY(SIM__FPK_ALLOC, 0));
        return;
    case SIM_EV_DISCHARGE:
        sim__fp_add(w, SIM__FP_KEY(SIM__FPK_OB, a));
        return;
    default: /* the network, disks, faults, crashes, jobs, aborts, cancellations, history,
                notes, violations: global */
        w->fp_flags |= SIM__FP_GLOBAL;
        return;
    }
}

void sim__fp_step_begin(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(!w->fp_in_step);
    SIM_ASSERT(w->step_fn != NULL);
    const sim__task *t = sim__task_at(w, slot);
    w->fp_len = 0;
    w->fp_flags = w->stats.events != w->fp_events_end ? SIM__FP_EVENT_BEFORE : 0;
    /* Spurious wake-ups draw at every step from how many tasks wait: never independent. */
    if (w->spurious.p != 0) w->fp_flags |= SIM__FP_GLOBAL;
    w->fp_in_step = true;
    sim__fp_add(w, SIM__FP_KEY(SIM__FPK_TASK, t->id));
    if (!w->nodes[t->node].touch_declared) sim__fp_add(w, SIM__FP_KEY(SIM__FPK_NODE, t->node));
}

void sim__fp_step_end(sim_world *w, uint32_t task_id)
{
    SIM_ASSERT(w->fp_in_step);
    SIM_ASSERT(task_id != 0);
    w->fp_in_step = false;
    w->step_fn(w->decision_ud, w->step, task_id, w->fp_keys, w->fp_len, w->fp_flags);
    w->fp_events_end = w->stats.events;
}
