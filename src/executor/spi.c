/*
 * spi.c: the executor's service-provider interface (spi.h), the one way the modules above it
 * read or change a world. Each function reads or writes what a module used to reach in the
 * world struct itself, with the same meaning, so that the struct can change without them.
 * The lookup of an extension's handle record, which net_sim and disk_sim each did for
 * themselves, is here once.
 */
#include "exec.h"

/* ---- the running task and the world's state -------------------------------------------------- */

uint64_t sim__exec_now(const sim_world *w)
{
    return w->now_ns;
}

uint32_t sim__exec_current(const sim_world *w)
{
    SIM_ASSERT(w->current == SIM__NIL || w->current < w->tasks_used);
    return w->current;
}

uint32_t sim__exec_task_id(const sim_world *w, uint32_t slot)
{
    SIM_ASSERT(slot < w->tasks_used);
    return w->tasks[slot].id;
}

uint32_t sim__exec_task_slots(const sim_world *w)
{
    return w->tasks_used;
}

bool sim__exec_task_live(const sim_world *w, uint32_t slot, uint32_t id)
{
    if (slot >= w->tasks_used) return false;
    const sim__task *t = &w->tasks[slot];
    return t->id == id && t->status == TASK_LIVE;
}

uint32_t sim__exec_node_here(const sim_world *w)
{
    if (w->current == SIM__NIL) return w->booting;
    SIM_ASSERT(w->current < w->tasks_used);
    return w->tasks[w->current].node;
}

sim_node_state sim__exec_node_state(const sim_world *w, uint32_t node)
{
    SIM_ASSERT(node < w->nodes_len);
    return (sim_node_state)w->nodes[node].state;
}

bool sim__exec_in_job(const sim_world *w)
{
    if (w->backend == SIM_BACKEND_HOST && sim__host_on_pool_thread(w)) return true;
    if (w->in_job) SIM_ASSERT(w->current != SIM__NIL); /* a job runs as its task */
    return w->in_job;
}

int sim__exec_drop_mode(const sim_world *w)
{
    SIM_ASSERT(w->dropping >= -1 && w->dropping <= SIM__DROP_CRASH);
    return w->dropping;
}

bool sim__exec_freeing(const sim_world *w)
{
    return w->freeing;
}

uint32_t sim__exec_work_live(const sim_world *w)
{
    SIM_ASSERT(w->work_live <= w->tasks_live);
    return w->work_live;
}

void sim__exec_hold(sim_world *w, bool on)
{
    SIM_ASSERT(w != NULL);
    SIM_ASSERT(!w->freeing);
    w->held = on;
}

uint64_t sim__exec_check_max_memory(const sim_world *w)
{
    SIM_ASSERT(w != NULL);
    return w->check_max_memory;
}

uint64_t sim__exec_check_max_steps(const sim_world *w)
{
    SIM_ASSERT(w->check_max_steps > 0); /* resolved when the world was made */
    return w->check_max_steps;
}

sim__mem *sim__exec_mem(sim_world *w)
{
    return &w->mem;
}

uint32_t sim__exec_require_task(sim_world *w, const char *what)
{
    return sim__require_task(w, what);
}

void sim__exec_wake(sim_world *w, uint32_t slot, uint32_t id)
{
    sim__wake(w, slot, id);
}

void sim__exec_emit(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task, uint64_t a,
                    uint64_t b, const char *detail)
{
    sim__emit(w, kind, node, task, a, b, detail);
}

void sim__exec_sink(const sim_world *w, sim_trace_cb *cb, void **ud)
{
    SIM_ASSERT(cb != NULL && ud != NULL);
    *cb = w->trace;
    *ud = w->trace_ud;
}

void sim__exec_set_sink(sim_world *w, sim_trace_cb cb, void *ud)
{
    SIM_ASSERT(w->current == SIM__NIL); /* between steps, never from a task */
    if (cb == NULL) SIM_ASSERT(ud == NULL);
    w->trace = cb;
    w->trace_ud = ud;
}

int sim__exec_stop_rc(const sim_world *w)
{
    SIM_ASSERT(w->stop_rc <= 0);
    return w->stop_rc;
}

/* ---- extensions ------------------------------------------------------------------------------ */

uint32_t sim__ext_find(const sim_world *w, const sim__ext_ops *ops)
{
    SIM_ASSERT(w->ext_count <= SIM__EXT_MAX);
    for (uint32_t i = 0; i < w->ext_count; i++) {
        if (w->ext_ops[i] == ops) return i;
    }
    return SIM__NIL;
}

void *sim__ext_state_own(const sim_world *w, const sim__ext_ops *ops)
{
    uint32_t i = sim__ext_find(w, ops);
    return i == SIM__NIL ? NULL : w->ext[i];
}

void *sim__ext_state(const sim_world *w, const sim__ext_ops *ops)
{
    uint32_t i = sim__ext_find(w, ops);
    /* An extension's state (the network, a disk) is shared: a step that reaches it is
     * dependent on every other (footprint.c). */
    if (w->fp_in_step) ((sim_world *)(uintptr_t)w)->fp_flags |= SIM__FP_GLOBAL;
    return i == SIM__NIL ? NULL : w->ext[i];
}

void sim__ext_detach(sim_world *w, const sim__ext_ops *ops)
{
    uint32_t i = sim__ext_find(w, ops);
    SIM_ASSERT(i != SIM__NIL); /* only what attached detaches */
    SIM_ASSERT(w->ext[i] != NULL);
    w->ext[i] = NULL;
}

void sim__exec_note_wait(sim_world *w, uint32_t ext, uint32_t x, uint64_t y)
{
    SIM_ASSERT(ext < w->ext_count);
    SIM_ASSERT(w->ext_ops[ext]->wait_text != NULL); /* the hang report asks it for words */
    sim__note_wait(w, WAIT_EXT + ext, x, y);
}

/* ---- an extension's handles ------------------------------------------------------------------ */

int sim__ext_hand_new(sim_world *w, uint32_t ext, uint32_t target, uint32_t target_id,
                      sim_handle *out)
{
    SIM_ASSERT(ext < w->ext_count);
    SIM_ASSERT(w->ext_ops[ext]->hand_release != NULL); /* so that the record can be released */
    return sim__hand_new(w, HAND_EXT, (uint8_t)ext, target, target_id, out);
}

sim__ext_hand_rc sim__ext_hand_find(const sim_world *w, const sim_handle *h,
                                    const sim__ext_ops *ops, sim__ext_hand *rec)
{
    SIM_ASSERT(h != NULL);
    SIM_ASSERT(rec != NULL);
    if (w->fp_in_step) ((sim_world *)(uintptr_t)w)->fp_flags |= SIM__FP_GLOBAL;
    if (h->id_ == 0) return SIM__EXT_HAND_CLOSED; /* zeroed by a close */
    if (h->world_ != w->tag || h->slot_ >= w->hands_used) return SIM__EXT_HAND_FOREIGN;
    const sim__hand *r = &w->hands[h->slot_];
    /* freed by a close through some copy, or released with its owner */
    if (r->id != h->id_ || r->kind == HAND_FREE) return SIM__EXT_HAND_CLOSED;
    if (r->kind != HAND_EXT || r->ext != sim__ext_find(w, ops)) return SIM__EXT_HAND_OTHER;
    SIM_ASSERT(r->ext < w->ext_count);
    *rec = (sim__ext_hand){.slot = h->slot_, .target = r->target, .target_id = r->target_id};
    return SIM__EXT_HAND_OK;
}

void sim__ext_hand_foreign(sim_world *w, const sim_handle *h, const char *what)
{
    SIM_ASSERT(what != NULL);
    uint32_t slot = sim__hand_slot(w, h, HAND_EXT, what); /* the executor says which */
    SIM_ASSERT(slot == SIM__NIL);
}
