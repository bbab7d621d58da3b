/*
 * hand.c: the handle table, and who owns each handle.
 *
 * Every handle a user holds (a channel end, a token, a join handle, a mutex, a socket, a
 * file, ...) is a record here: its kind, the object it names (a slot and, where the object
 * can be reused, an id to validate it), and its owner: a task, a node (handles made outside
 * tasks, or shared), the world, or a channel whose queued message carries it. A user's
 * sim_handle names the record by (slot, id) plus the world's tag, so a stale handle or one of
 * another world is refused instead of touching a reused record.
 *
 * Owned handles are listed on their owner in creation order (a doubly linked list through
 * the records), so that the owner's end releases them in that order: a task's when it
 * finishes, is aborted or crashes, a node's when it crashes, the world's when it is freed.
 * Releasing a record does what dropping the handle would (closes the channel end, detaches
 * the join, unlocks the mutex, closes the socket) through the kind's release function; the
 * kinds of the modules above the executor (sockets, files) are released through their
 * extension's hand_release, so the executor never names them.
 *
 * Cost: a handle operation resolves one more index than before (the record, then the
 * object); creating and releasing one is O(1).
 */
#include <stdatomic.h>

#include "exec.h"

/* World tags: distinct for every world of the process (never part of a trace). */
static atomic_uint world_tags = 0;

uint32_t sim__world_tag_next(void)
{
    uint32_t tag = atomic_fetch_add(&world_tags, 1) + 1;
    return tag ? tag : atomic_fetch_add(&world_tags, 1) + 1;
}

/* The list an owner keeps its handles on. */
/* A handle's target read or written by the step being polled: its object, or its task. */
static void fp_target(const sim_world *w, const sim__hand *r)
{
    sim_world *mw = (sim_world *)(uintptr_t)w; /* bookkeeping beside the world's state */
    if (r->kind == HAND_JOIN) {
        sim__fp_add(mw, SIM__FP_KEY(SIM__FPK_TASK, r->target_id));
    } else if (r->kind == HAND_EXT) {
        mw->fp_flags |= SIM__FP_GLOBAL; /* a socket or file: the network's or disk's state */
    } else if (r->target < w->objs_used) {
        sim__fp_obj(mw, r->target);
    }
}

static inline uint32_t *list_head(sim_world *w, uint8_t owner_kind, uint32_t owner, uint32_t **tail)
{
    SIM_ASSERT(tail != NULL);
    if (w->fp_in_step) { /* another task's, or the node's, list of handles */
        sim__fp_add(w, owner_kind == OWN_TASK ? SIM__FP_KEY(SIM__FPK_TASK, w->tasks[owner].id)
                                              : SIM__FP_KEY(SIM__FPK_ALLOC, 0));
    }
    switch (owner_kind) {
    case OWN_TASK:
        SIM_ASSERT(owner < w->tasks_used);
        *tail = &w->tasks[owner].hands_tail;
        return &w->tasks[owner].hands_head;
    case OWN_NODE:
        SIM_ASSERT(owner < w->nodes_len);
        *tail = &w->nodes[owner].hands_tail;
        return &w->nodes[owner].hands_head;
    default:
        *tail = NULL;
        return NULL;
    }
}

static inline void unlink_owner(sim_world *w, uint32_t slot)
{
    sim__hand *h = &w->hands[slot];
    uint32_t *tail;
    uint32_t *head = list_head(w, h->owner_kind, h->owner, &tail);
    if (head != NULL) {
        if (h->prev != SIM__NIL) {
            w->hands[h->prev].next = h->next;
        } else {
            SIM_ASSERT(*head == slot);
            *head = h->next;
        }
        if (h->next != SIM__NIL) {
            w->hands[h->next].prev = h->prev;
        } else {
            SIM_ASSERT(*tail == slot);
            *tail = h->prev;
        }
    }
    h->prev = h->next = SIM__NIL;
    h->owner_kind = OWN_NONE;
}

static inline void link_owner(sim_world *w, uint32_t slot, uint8_t owner_kind, uint32_t owner,
                       uint32_t owner_id)
{
    sim__hand *h = &w->hands[slot];
    SIM_ASSERT(h->owner_kind == OWN_NONE);
    SIM_ASSERT(h->prev == SIM__NIL && h->next == SIM__NIL);
    h->owner_kind = owner_kind;
    h->owner = owner;
    h->owner_id = owner_id;
    uint32_t *tail;
    uint32_t *head = list_head(w, owner_kind, owner, &tail);
    if (head == NULL) return;
    h->prev = *tail;
    if (*tail != SIM__NIL) {
        w->hands[*tail].next = slot;
    } else {
        SIM_ASSERT(*head == SIM__NIL);
        *head = slot;
    }
    *tail = slot;
}

/* Who owns what is made now: the running task, else the node being booted, else the
 * running task's node... else the world (node 0). */
static inline void default_owner(const sim_world *w, uint8_t *kind, uint32_t *owner, uint32_t *id)
{
    /* A job is synchronous code of its node, and sim_block_on's root stands for the code
     * that called it: neither owns handles. */
    if (w->current != SIM__NIL && w->dropping < 0 &&
        !(w->tasks[w->current].flags & (TF_JOB | TF_ROOT))) {
        *kind = OWN_TASK;
        SIM_ASSERT(w->tasks[w->current].status == TASK_LIVE); /* a polled task is live */
        *owner = w->current;
        *id = w->tasks[w->current].id;
        return;
    }
    *kind = OWN_NODE;
    *owner = w->booting != 0 ? w->booting
                             : (w->current != SIM__NIL ? w->tasks[w->current].node : 0);
    *id = 0;
    SIM_ASSERT(*owner < w->nodes_len);
}

int sim__hand_new(sim_world *w, uint8_t kind, uint8_t ext, uint32_t target, uint32_t target_id,
                  sim_handle *out)
{
    SIM_ASSERT(kind != HAND_FREE && kind < HAND_KINDS);
    SIM_ASSERT(out != NULL);
    uint32_t slot = w->hand_free;
    if (slot != SIM__NIL) {
        w->hand_free = w->hands[slot].next;
    } else {
        sim__grow((void **)&w->hands, &w->hands_cap, w->hands_used + 1, sizeof(sim__hand));
        slot = w->hands_used++;
        w->hands[slot].id = 0;
    }
    sim__table_shake((void **)&w->hands, w->hands_cap, sizeof(sim__hand));
    if (w->fp_in_step) sim__fp_add(w, SIM__FP_KEY(SIM__FPK_ALLOC, 0));
    sim__hand *h = &w->hands[slot];
    uint32_t id = h->id + 1 ? h->id + 1 : 1;
    *h = (sim__hand){.id = id, .kind = kind, .ext = ext, .target = target,
                     .target_id = target_id, .prev = SIM__NIL, .next = SIM__NIL};
    uint8_t okind;
    uint32_t owner, owner_id;
    default_owner(w, &okind, &owner, &owner_id);
    link_owner(w, slot, okind, owner, owner_id);
    w->hands_live++;
    *out = (sim_handle){.slot_ = slot, .id_ = id, .world_ = w->tag};
    return SIM_OK;
}

void sim__hand_free(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(slot < w->hands_used);
    SIM_ASSERT(w->hands[slot].kind != HAND_FREE);
    unlink_owner(w, slot);
    if (w->fp_in_step) sim__fp_add(w, SIM__FP_KEY(SIM__FPK_ALLOC, 0));
    sim__hand *h = &w->hands[slot];
    h->kind = HAND_FREE;
    h->next = w->hand_free;
    w->hand_free = slot;
    SIM_ASSERT(w->hands_live > 0);
    w->hands_live--;
}

static void bad_handle(sim_world *w, const char *what, const sim_handle *h)
    __attribute__((cold, noinline));

static void bad_handle(sim_world *w, const char *what, const sim_handle *h)
{
    SIM_ASSERT(what != NULL);
    uint32_t before = w->violations_total;
    if (h == NULL || h->id_ == 0) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "%s on an empty handle", what);
    } else if (h->world_ != w->tag) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "%s on a handle of another world: handles belong to the world that "
                       "made them", what);
    } else {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "%s on a handle that was dropped, or released when its owner ended "
                       "(move a handle to the task that keeps it: sim_task_desc.moves, "
                       "sim_handle_move, sim_handle_share)", what);
    }
    SIM_ASSERT(w->violations_total > before);
}

void sim__hand_bad(sim_world *w, const char *what, const sim_handle *h)
{
    bad_handle(w, what, h);
}

uint32_t sim__hand_slot_to_drop(sim_world *w, const sim_handle *h, uint8_t kind,
                                const char *what)
{
    if (h == NULL || h->id_ == 0) return SIM__NIL;
    if (h->world_ == w->tag && h->slot_ < w->hands_used) {
        const sim__hand *r = &w->hands[h->slot_];
        if (r->id == h->id_ && r->kind == kind) {
            if (w->fp_in_step) fp_target(w, r);
            return h->slot_;
        }
        if (r->id != h->id_ || r->kind == HAND_FREE) return SIM__NIL; /* already let go */
    }
    bad_handle(w, what, h); /* another world's, or not this kind of handle */
    return SIM__NIL;
}

uint32_t sim__hand_peek(const sim_world *w, const sim_handle *h, uint8_t kind)
{
    if (h == NULL || h->world_ != w->tag || h->slot_ >= w->hands_used || h->id_ == 0) {
        return SIM__NIL;
    }
    const sim__hand *r = &w->hands[h->slot_];
    if (r->id != h->id_ || r->kind != kind) return SIM__NIL;
    if (w->fp_in_step) fp_target(w, r);
    return h->slot_;
}

/* Any kind: the record of a live handle of this world, or SIM__NIL. */
static uint32_t any_slot(const sim_world *w, const sim_handle *h)
{
    if (h == NULL || h->world_ != w->tag || h->slot_ >= w->hands_used || h->id_ == 0) {
        return SIM__NIL;
    }
    const sim__hand *r = &w->hands[h->slot_];
    if (r->id != h->id_ || r->kind == HAND_FREE) return SIM__NIL;
    if (w->fp_in_step) fp_target(w, r);
    return h->slot_;
}

void sim__hand_to_task(sim_world *w, uint32_t slot, uint32_t task)
{
    SIM_ASSERT(slot < w->hands_used);
    SIM_ASSERT(task < w->tasks_used && w->tasks[task].status == TASK_LIVE);
    unlink_owner(w, slot);
    link_owner(w, slot, OWN_TASK, task, w->tasks[task].id);
}

void sim__hand_to_default(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(slot < w->hands_used);
    uint8_t okind;
    uint32_t owner, owner_id;
    default_owner(w, &okind, &owner, &owner_id);
    unlink_owner(w, slot);
    link_owner(w, slot, okind, owner, owner_id);
    SIM_ASSERT(w->hands[slot].owner_kind == OWN_TASK || w->hands[slot].owner_kind == OWN_NODE);
}

void sim__hand_to_chan(sim_world *w, uint32_t slot, uint32_t chan)
{
    SIM_ASSERT(slot < w->hands_used);
    unlink_owner(w, slot);
    link_owner(w, slot, OWN_CHAN, chan, 0);
}

int sim_handle_move(sim_world *w, const void *handle, sim_task_id to)
{
    if (sim__host_file_is(w, handle)) { /* host files have no owner */
        return sim__host_file_fd(w, handle) >= 0 ? SIM_OK : SIM_EMISUSE;
    }
    uint32_t slot = any_slot(w, handle);
    if (slot == SIM__NIL) {
        bad_handle(w, "sim_handle_move", handle);
        return SIM_EMISUSE;
    }
    SIM_ASSERT(w->hands[slot].kind != HAND_FREE);
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        if (w->tasks[s].id == to.v && to.v != 0 && w->tasks[s].status == TASK_LIVE) {
            sim__hand_to_task(w, slot, s);
            SIM_ASSERT(w->hands[slot].owner_kind == OWN_TASK && w->hands[slot].owner == s);
            return SIM_OK;
        }
    }
    return SIM_EINVAL;
}

int sim_handle_share(sim_world *w, const void *handle)
{
    if (sim__host_file_is(w, handle)) { /* host files have no owner */
        return sim__host_file_fd(w, handle) >= 0 ? SIM_OK : SIM_EMISUSE;
    }
    uint32_t slot = any_slot(w, handle);
    if (slot == SIM__NIL) {
        bad_handle(w, "sim_handle_share", handle);
        return SIM_EMISUSE;
    }
    uint32_t node = w->current != SIM__NIL ? w->tasks[w->current].node : w->booting;
    unlink_owner(w, slot);
    SIM_ASSERT(node < w->nodes_len);
    link_owner(w, slot, OWN_NODE, node, 0);
    SIM_ASSERT(w->hands[slot].owner_kind == OWN_NODE && w->hands[slot].owner == node);
    return SIM_OK;
}

bool sim_handle_valid(const sim_world *w, const void *handle)
{
    if (sim__host_file_is(w, handle)) return sim__host_file_fd(w, handle) >= 0;
    return any_slot(w, handle) != SIM__NIL;
}

int sim__hand_moves(sim_world *w, const void *const *moves, const void *src, size_t size,
                    uint32_t task)
{
    /* task SIM__NIL: only checks them (sim_spawn checks before it allocates anything). */
    if (moves == NULL) return SIM_OK;
    const unsigned char *lo = src, *hi = lo + size;
    for (uint32_t i = 0; moves[i] != NULL; i++) {
        const unsigned char *p = moves[i];
        /* A range test, never an ordering: the answer is the same wherever the heap put it. */
        if (src == NULL || p < lo || p + sizeof(sim_handle) > hi) {
            sim__violation(w, SIM_VIOLATION_MISUSE,
                           "sim_spawn: moves[%u] is not a handle inside the initial state", i);
            return SIM_EMISUSE;
        }
        uint32_t slot = any_slot(w, (const sim_handle *)(const void *)p);
        if (slot == SIM__NIL) {
            bad_handle(w, "sim_spawn (moves)", (const sim_handle *)(const void *)p);
            return SIM_EMISUSE;
        }
        if (task != SIM__NIL) sim__hand_to_task(w, slot, task);
    }
    return SIM_OK;
}

/* ---- releasing ------------------------------------------------------------------------------ */

void sim__hand_release(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(slot < w->hands_used);
    sim__hand *h = &w->hands[slot];
    SIM_ASSERT(h->kind != HAND_FREE);
    uint8_t kind = h->kind;
    if (kind == HAND_EXT) {
        uint8_t ext = h->ext;
        uint32_t target = h->target, target_id = h->target_id;
        sim__hand_free(w, slot);
        SIM_ASSERT(ext < w->ext_count);
        if (w->ext_ops[ext]->hand_release != NULL) {
            w->ext_ops[ext]->hand_release(w, target, target_id);
        }
        return;
    }
    SIM_ASSERT(w->hand_ops[kind] != NULL);
    w->hand_ops[kind](w, slot); /* frees the record */
}

/* Releases what an owner holds, head first. A release may move the task and node tables
 * (a wake-up, a freed slot), so the head is looked up again by index every time. */
static uint32_t list_first(const sim_world *w, uint8_t owner_kind, uint32_t owner)
{
    return owner_kind == OWN_TASK ? w->tasks[owner].hands_head : w->nodes[owner].hands_head;
}

static void release_list(sim_world *w, uint8_t owner_kind, uint32_t owner)
{
    for (uint32_t guard = 0; list_first(w, owner_kind, owner) != SIM__NIL; guard++) {
        SIM_ASSERT(guard <= w->hands_used);
        sim__hand_release(w, list_first(w, owner_kind, owner));
    }
}

void sim__hands_release_task(sim_world *w, uint32_t task)
{
    SIM_ASSERT(task < w->tasks_used);
    release_list(w, OWN_TASK, task);
    SIM_ASSERT(w->tasks[task].hands_tail == SIM__NIL);
}

void sim__hands_release_node(sim_world *w, uint32_t node)
{
    SIM_ASSERT(node < w->nodes_len);
    release_list(w, OWN_NODE, node);
    SIM_ASSERT(w->nodes[node].hands_tail == SIM__NIL);
}

void sim__hands_free(sim_world *w)
{
    free(w->hands);
    w->hands = NULL;
    w->hands_cap = w->hands_used = w->hands_live = 0;
    w->hand_free = SIM__NIL;
}
