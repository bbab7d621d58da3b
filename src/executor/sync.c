/*
 * sync.c: mutexes, semaphores and notifies.
 *
 * All three are objects with a FIFO wait queue (waitq.c), so they are fair: a waiter is served
 * in the order it asked, and one that was woken for its turn but is dropped before taking it
 * passes the turn on. Holding is ownership: a task that takes a mutex or permits gets a
 * handle record for what it holds (HAND_LOCKED, HAND_PERMITS), released with its other
 * handles when it ends, so a holder that finishes, is aborted or crashes never leaves a lock
 * held. A mutex remembers its holder and since when, for hang reports.
 *
 * Object fields used: waker_slot/waker_id the mutex holder (SIM__NIL: free), first the
 * holder's HAND_LOCKED record, seq when it was taken; len the semaphore's free permits and
 * cap how many it has in all; len the notify's stored permit (0 or 1); txs the handles. A
 * held record names its object by slot and serial (target, target_id), since the object may
 * go before the holder lets go; a PERMITS record counts its permits in aux.
 */
#include <stdio.h>

#include "exec.h"

static uint32_t obj_of(sim_world *w, const sim_handle *h, uint8_t kind, uint8_t type,
                       const char *what)
{
    uint32_t hs = sim__hand_slot(w, h, kind, what);
    if (hs == SIM__NIL) return SIM__NIL;
    uint32_t slot = w->hands[hs].target;
    SIM_ASSERT(w->objs[slot].type == type); /* an object lives while a handle names it */
    return slot;
}

static uint32_t obj_peek(const sim_world *w, const sim_handle *h, uint8_t kind)
{
    uint32_t hs = sim__hand_peek(w, h, kind);
    return hs == SIM__NIL ? SIM__NIL : w->hands[hs].target;
}

static int object_new(sim_world *w, uint8_t type, uint8_t kind, const char *name,
                      sim_handle *out)
{
    SIM_ASSERT(out != NULL);
    *out = (sim_handle){0};
    uint32_t slot;
    int rc = sim__obj_alloc(w, type, &slot);
    if (rc != SIM_OK) return rc;
    sim__obj *o = sim__obj_at(w, slot);
    o->name = name;
    o->txs = 1;
    rc = sim__hand_new(w, kind, 0, slot, 0, out);
    SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
    return SIM_OK;
}

/* A mutex is free with no record, or held by a task through its LOCKED record: the task's
 * own, or for sim_block_on's root (which owns nothing) its node's. */
static bool mutex_ok(const sim_world *w, const sim__obj *m)
{
    if (m->waker_slot == SIM__NIL) return m->first == SIM__NIL;
    if (m->first >= w->hands_used) return false;
    const sim__hand *r = &w->hands[m->first];
    return r->kind == HAND_LOCKED && r->target == m->slot &&
           (r->owner_kind != OWN_TASK || r->owner == m->waker_slot);
}
/* A handle goes; the object with its last one (its waiters are woken to find it gone). */
static void object_handle_release(sim_world *w, uint32_t hs)
{
    uint32_t slot = w->hands[hs].target;
    sim__hand_free(w, hs);
    sim__obj *o = sim__obj_at(w, slot);
    SIM_ASSERT(o->txs > 0);
    if (--o->txs > 0) return;
    SIM_ASSERT(o->type == OBJ_MUTEX || o->type == OBJ_SEM || o->type == OBJ_NOTIFY);
    sim__obj_release(w, slot);
}

static void object_drop(sim_world *w, sim_handle *h, uint8_t kind, const char *what)
{
    if (h == NULL || h->id_ == 0) return;
    uint32_t hs = sim__hand_slot_to_drop(w, h, kind, what);
    *h = (sim_handle){0};
    if (hs != SIM__NIL) object_handle_release(w, hs);
}

/* Shared by lock, acquire and notified: true when a queued waiter may take its turn now. */
static bool my_turn(sim_world *w, uint32_t wslot, uint32_t wid)
{
    return sim__waiter_notified(w, wslot, wid);
}

/* ---- mutex ---------------------------------------------------------------------------------- */

int sim_mutex_new(sim_world *w, const char *name, sim_mutex *out)
{
    int rc = object_new(w, OBJ_MUTEX, HAND_MUTEX, name, &out->h);
    if (rc != SIM_OK) return rc;
    sim__obj *m = &w->objs[w->hands[out->h.slot_].target];
    m->waker_slot = SIM__NIL;
    m->first = SIM__NIL;
    SIM_ASSERT(m->type == OBJ_MUTEX);
    SIM_ASSERT(mutex_ok(w, m));
    return SIM_OK;
}

static void mutex_take(sim_world *w, uint32_t slot)
{
    uint32_t self = w->current;
    SIM_ASSERT(self != SIM__NIL);
    sim__obj *m = sim__obj_at(w, slot);
    SIM_ASSERT(m->waker_slot == SIM__NIL);
    uint32_t serial = m->serial;
    sim_handle held;
    int rc = sim__hand_new(w, HAND_LOCKED, 0, slot, serial, &held);
    SIM_ASSERT(rc == SIM_OK);
    m = sim__obj_at(w, slot);
    m->waker_slot = self;
    m->waker_id = w->tasks[self].id;
    m->first = held.slot_;
    m->seq = w->now_ns;
    SIM_ASSERT(mutex_ok(w, m));
}

/* Unlocks (the LOCKED record hs goes) and hands the turn to the first waiter. */
static void mutex_give_up(sim_world *w, uint32_t hs)
{
    uint32_t slot = w->hands[hs].target;
    uint32_t serial = w->hands[hs].target_id;
    SIM_ASSERT(w->hands[hs].kind == HAND_LOCKED);
    sim__hand_free(w, hs);
    sim__obj *m = &w->objs[slot];
    if (m->type != OBJ_MUTEX || m->serial != serial) return; /* the mutex itself is gone */
    SIM_ASSERT(m->first == hs);
    SIM_ASSERT(m->waker_slot != SIM__NIL); /* held until now */
    m->waker_slot = SIM__NIL;
    m->first = SIM__NIL;
    if (m->wq_head != SIM__NIL) sim__waitq_notify_one(w, slot);
    SIM_ASSERT(w->objs[slot].waker_slot == SIM__NIL); /* the woken waiter takes it when polled */
}

static void lock_drop(sim_fut *f, sim_world *w);

static int lock_poll(sim_fut *f, sim_world *w)
{
    sim_lock_op *op = (sim_lock_op *)f;
    uint32_t self = sim__require_task(w, "sim_lock");
    if (self == SIM__NIL) return SIM_EMISUSE;
    uint32_t slot = obj_of(w, op->m ? &op->m->h : NULL, HAND_MUTEX, OBJ_MUTEX, "sim_lock");
    if (slot == SIM__NIL) {
        /* The mutex went while we waited: its queue was cleared, but our registration is
         * still on the task's list. A future that completes has released what it armed. */
        lock_drop(f, w);
        return SIM_EMISUSE;
    }
    sim__obj *m = &w->objs[slot];
    SIM_ASSERT(mutex_ok(w, m));
    SIM_ASSERT_SLOW(sim__waitq_ok(w, slot));
    if (m->waker_slot == self && m->waker_id == w->tasks[self].id) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "task %u locks mutex #%u%s%s, which it already holds: that would wait "
                       "forever", w->tasks[self].id, m->serial, m->name ? " " : "",
                       m->name ? m->name : "");
        return SIM_EMISUSE;
    }
    bool queued = sim__waiter_valid(w, op->waiter_slot_, op->waiter_id_);
    if (m->waker_slot == SIM__NIL && ((queued && my_turn(w, op->waiter_slot_, op->waiter_id_)) ||
                                      (!queued && m->wq_head == SIM__NIL))) {
        if (queued) sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, false);
        op->waiter_id_ = 0;
        mutex_take(w, slot);
        return SIM_OK;
    }
    if (!queued) {
        int rc = sim__waiter_add(w, slot, &op->waiter_slot_, &op->waiter_id_);
        if (rc != SIM_OK) return rc;
    } else if (my_turn(w, op->waiter_slot_, op->waiter_id_)) {
        sim__waiter_unnotify(w, op->waiter_slot_); /* woken, but someone holds it again */
    }
    sim__note_wait(w, WAIT_MUTEX, slot, w->objs[slot].serial);
    SIM_ASSERT(w->waiters[op->waiter_slot_].obj == slot); /* queued on this mutex */
    SIM_ASSERT(w->objs[slot].wq_head != SIM__NIL);
    return SIM_PENDING;
}

static void lock_drop(sim_fut *f, sim_world *w)
{
    sim_lock_op *op = (sim_lock_op *)f;
    sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, true);
    op->waiter_id_ = 0;
}

static void lock_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL);
    SIM_ASSERT(size > 0);
    const sim_lock_op *op = (const sim_lock_op *)f;
    uint32_t slot = obj_peek(w, &op->m->h, HAND_MUTEX);
    if (slot == SIM__NIL) {
        snprintf(buf, size, "lock of a dropped mutex");
        return;
    }
    const sim__obj *m = &w->objs[slot];
    snprintf(buf, size, "lock of mutex #%u%s%s", m->serial, m->name ? " " : "",
             m->name ? m->name : "");
}

static const sim_fut_vt lock_vt = {.name = "lock", .poll = lock_poll, .drop = lock_drop,
                                   .describe = lock_describe};

sim_lock_op sim_lock(const sim_mutex *m)
{
    SIM_ASSERT(m != NULL);
    return (sim_lock_op){.fut = SIM_FUT_INIT(&lock_vt), .m = m};
}

int sim_try_lock(sim_world *w, const sim_mutex *mx)
{
    if (sim__require_task(w, "sim_try_lock") == SIM__NIL) return SIM_EMISUSE;
    uint32_t slot = obj_of(w, &mx->h, HAND_MUTEX, OBJ_MUTEX, "sim_try_lock");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    const sim__obj *m = &w->objs[slot];
    if (m->waker_slot != SIM__NIL || m->wq_head != SIM__NIL) return SIM_EFULL;
    SIM_ASSERT(mutex_ok(w, m));
    SIM_ASSERT(m->first == SIM__NIL);
    mutex_take(w, slot);
    return SIM_OK;
}

int sim_unlock(sim_world *w, const sim_mutex *mx)
{
    uint32_t slot = obj_of(w, &mx->h, HAND_MUTEX, OBJ_MUTEX, "sim_unlock");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    const sim__obj *m = &w->objs[slot];
    uint32_t self = w->current;
    if (self == SIM__NIL || m->waker_slot != self || m->waker_id != w->tasks[self].id) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_unlock of mutex #%u by a task that does "
                       "not hold it", m->serial);
        return SIM_EMISUSE;
    }
    SIM_ASSERT(m->first != SIM__NIL && w->hands[m->first].kind == HAND_LOCKED);
    mutex_give_up(w, m->first);
    SIM_ASSERT(w->objs[slot].waker_slot == SIM__NIL);
    return SIM_OK;
}

sim_task_id sim_mutex_holder(const sim_world *w, const sim_mutex *mx)
{
    uint32_t slot = obj_peek(w, &mx->h, HAND_MUTEX);
    sim_task_id id = {0};
    if (slot != SIM__NIL && w->objs[slot].waker_slot != SIM__NIL) id.v = w->objs[slot].waker_id;
    return id;
}

void sim_mutex_drop(sim_world *w, sim_mutex *m)
{
    object_drop(w, &m->h, HAND_MUTEX, "sim_mutex_drop");
}

/* ---- semaphore ------------------------------------------------------------------------------- */

int sim_sem_new(sim_world *w, const char *name, uint32_t permits, sim_sem *out)
{
    int rc = object_new(w, OBJ_SEM, HAND_SEM, name, &out->h);
    if (rc != SIM_OK) return rc;
    sim__obj *s = &w->objs[w->hands[out->h.slot_].target];
    s->len = permits;
    s->cap = permits;
    SIM_ASSERT(s->type == OBJ_SEM);
    SIM_ASSERT(s->wq_head == SIM__NIL);
    return SIM_OK;
}

/* Takes n permits for the running task (a PERMITS record it owns). */
static void sem_take(sim_world *w, uint32_t slot, uint32_t n)
{
    sim__obj *s = sim__obj_at(w, slot);
    SIM_ASSERT(s->len >= n);
    s->len -= n;
    /* The serial is checked when they return: the semaphore may be gone by then. */
    sim_handle held;
    int rc = sim__hand_new(w, HAND_PERMITS, 0, slot, s->serial, &held);
    SIM_ASSERT(rc == SIM_OK);
    w->hands[held.slot_].aux = n;
}

/* Permits come back: the first waiter is woken to see whether they are enough. */
static void sem_return(sim_world *w, uint32_t slot, uint32_t n)
{
    sim__obj *s = sim__obj_at(w, slot);
    SIM_ASSERT((uint64_t)s->len + n <= s->cap);
    SIM_ASSERT(s->type == OBJ_SEM);
    s->len += n;
    if (s->wq_head != SIM__NIL && !w->waiters[s->wq_head].notified) {
        sim__waitq_notify_one(w, slot);
    }
}

static void permits_release(sim_world *w, uint32_t hs)
{
    uint32_t slot = w->hands[hs].target;
    uint32_t serial = w->hands[hs].target_id;
    uint32_t n = w->hands[hs].aux;
    SIM_ASSERT(w->hands[hs].kind == HAND_PERMITS);
    SIM_ASSERT(n > 0); /* a record holding none is freed */
    sim__hand_free(w, hs);
    if (w->objs[slot].type != OBJ_SEM || w->objs[slot].serial != serial) return; /* gone */
    sem_return(w, slot, n);
}

static void acquire_drop(sim_fut *f, sim_world *w);

static int acquire_poll(sim_fut *f, sim_world *w)
{
    sim_acquire_op *op = (sim_acquire_op *)f;
    if (sim__require_task(w, "sim_acquire") == SIM__NIL) return SIM_EMISUSE;
    uint32_t slot = obj_of(w, op->s ? &op->s->h : NULL, HAND_SEM, OBJ_SEM, "sim_acquire");
    if (slot == SIM__NIL) {
        acquire_drop(f, w); /* gone while we waited: release our registration (lock_poll) */
        return SIM_EMISUSE;
    }
    const sim__obj *s = &w->objs[slot];
    SIM_ASSERT(s->len <= s->cap);
    /* More permits than the semaphore has now may still come (sim_sem_add: a semaphore made
     * with none, used as a signal), so only n = 0 is refused; a request that never fits shows
     * up in the hang report with its "x of y free". */
    if (op->n == 0) return SIM_EINVAL;
    bool queued = sim__waiter_valid(w, op->waiter_slot_, op->waiter_id_);
    bool first = queued ? s->wq_head == op->waiter_slot_ : s->wq_head == SIM__NIL;
    if (first && s->len >= op->n) {
        if (queued) sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, false);
        op->waiter_id_ = 0;
        sem_take(w, slot, op->n);
        s = &w->objs[slot];
        /* What is left may serve the next waiter. */
        if (s->len > 0 && s->wq_head != SIM__NIL) sim__waitq_notify_one(w, slot);
        return SIM_OK;
    }
    if (!queued) {
        int rc = sim__waiter_add(w, slot, &op->waiter_slot_, &op->waiter_id_);
        if (rc != SIM_OK) return rc;
    } else if (my_turn(w, op->waiter_slot_, op->waiter_id_)) {
        sim__waiter_unnotify(w, op->waiter_slot_); /* not enough yet: keep the place */
    }
    sim__note_wait(w, WAIT_SEM, slot, w->objs[slot].serial);
    SIM_ASSERT(w->waiters[op->waiter_slot_].obj == slot); /* queued on this semaphore */
    SIM_ASSERT(w->objs[slot].wq_head != SIM__NIL);
    return SIM_PENDING;
}

static void acquire_drop(sim_fut *f, sim_world *w)
{
    sim_acquire_op *op = (sim_acquire_op *)f;
    uint32_t slot = sim__waiter_valid(w, op->waiter_slot_, op->waiter_id_)
                        ? w->waiters[op->waiter_slot_].obj
                        : SIM__NIL;
    bool was_first = slot != SIM__NIL && w->objs[slot].wq_head == op->waiter_slot_;
    if (slot != SIM__NIL) SIM_ASSERT(w->objs[slot].type == OBJ_SEM);
    sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, false);
    op->waiter_id_ = 0;
    if (slot != SIM__NIL) SIM_ASSERT_SLOW(sim__waitq_ok(w, slot));
    /* The first waiter blocked those behind it; they may be served now. */
    if (was_first && w->objs[slot].wq_head != SIM__NIL && w->objs[slot].len > 0) {
        sim__waitq_notify_one(w, slot);
    }
}

static void acquire_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL);
    SIM_ASSERT(size > 0);
    const sim_acquire_op *op = (const sim_acquire_op *)f;
    uint32_t slot = obj_peek(w, &op->s->h, HAND_SEM);
    if (slot == SIM__NIL) {
        snprintf(buf, size, "acquire of a dropped semaphore");
        return;
    }
    const sim__obj *s = &w->objs[slot];
    snprintf(buf, size, "acquire of %u permit(s) of semaphore #%u%s%s (%u of %u free)", op->n,
             s->serial, s->name ? " " : "", s->name ? s->name : "", s->len, s->cap);
}

static const sim_fut_vt acquire_vt = {.name = "acquire", .poll = acquire_poll,
                                      .drop = acquire_drop, .describe = acquire_describe};

sim_acquire_op sim_acquire(const sim_sem *s, uint32_t n)
{
    SIM_ASSERT(s != NULL);
    return (sim_acquire_op){.fut = SIM_FUT_INIT(&acquire_vt), .s = s, .n = n};
}

int sim_try_acquire(sim_world *w, const sim_sem *sem, uint32_t n)
{
    if (sim__require_task(w, "sim_try_acquire") == SIM__NIL) return SIM_EMISUSE;
    uint32_t slot = obj_of(w, &sem->h, HAND_SEM, OBJ_SEM, "sim_try_acquire");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    const sim__obj *s = &w->objs[slot];
    if (n == 0) return SIM_EINVAL;
    if (s->wq_head != SIM__NIL || s->len < n) return SIM_EFULL;
    SIM_ASSERT(s->len <= s->cap);
    sem_take(w, slot, n);
    return SIM_OK;
}

/* Takes n of the running task's permits of semaphore slot back from its records; false (and
 * a violation) when it holds fewer. */
static bool permits_take_back(sim_world *w, uint32_t slot, uint32_t n, const char *what)
{
    uint32_t self = w->current;
    uint64_t held = 0;
    SIM_ASSERT(slot < w->objs_used);
    SIM_ASSERT(w->objs[slot].type == OBJ_SEM);
    if (self != SIM__NIL) {
        for (uint32_t h = w->tasks[self].hands_head; h != SIM__NIL; h = w->hands[h].next) {
            if (w->hands[h].kind == HAND_PERMITS && w->hands[h].target == slot) {
                held += w->hands[h].aux;
            }
        }
    }
    if (n == 0 || held < n) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "%s of %u permit(s) of semaphore #%u by a task that holds %llu", what,
                       n, w->objs[slot].serial, (unsigned long long)held);
        return false;
    }
    /* From the most recent acquisition back. */
    uint32_t left = n;
    for (uint32_t h = w->tasks[self].hands_tail; left > 0 && h != SIM__NIL;) {
        uint32_t prev = w->hands[h].prev;
        if (w->hands[h].kind == HAND_PERMITS && w->hands[h].target == slot) {
            uint32_t take = w->hands[h].aux < left ? w->hands[h].aux : left;
            w->hands[h].aux -= take;
            left -= take;
            if (w->hands[h].aux == 0) sim__hand_free(w, h);
        }
        h = prev;
    }
    SIM_ASSERT(left == 0);
    return true;
}

int sim_release(sim_world *w, const sim_sem *sem, uint32_t n)
{
    uint32_t slot = obj_of(w, &sem->h, HAND_SEM, OBJ_SEM, "sim_release");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    if (!permits_take_back(w, slot, n, "sim_release")) return SIM_EMISUSE;
    sem_return(w, slot, n);
    return SIM_OK;
}

int sim_sem_forget(sim_world *w, const sim_sem *sem, uint32_t n)
{
    uint32_t slot = obj_of(w, &sem->h, HAND_SEM, OBJ_SEM, "sim_sem_forget");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    if (!permits_take_back(w, slot, n, "sim_sem_forget")) return SIM_EMISUSE;
    SIM_ASSERT(w->objs[slot].cap >= n);
    w->objs[slot].cap -= n; /* gone for good: the semaphore has fewer in all */
    SIM_ASSERT(w->objs[slot].len <= w->objs[slot].cap);
    return SIM_OK;
}

int sim_sem_add(sim_world *w, const sim_sem *sem, uint32_t n)
{
    uint32_t slot = obj_of(w, &sem->h, HAND_SEM, OBJ_SEM, "sim_sem_add");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    sim__obj *s = &w->objs[slot];
    if ((uint64_t)s->cap + n > UINT32_MAX) return SIM_ELIMIT;
    SIM_ASSERT(s->type == OBJ_SEM);
    s->cap += n;
    SIM_ASSERT(s->len <= s->cap);
    sem_return(w, slot, n);
    return SIM_OK;
}

uint32_t sim_sem_available(const sim_world *w, const sim_sem *s)
{
    uint32_t slot = obj_peek(w, &s->h, HAND_SEM);
    return slot == SIM__NIL ? 0 : w->objs[slot].len;
}

void sim_sem_drop(sim_world *w, sim_sem *s)
{
    object_drop(w, &s->h, HAND_SEM, "sim_sem_drop");
}

/* ---- notify ---------------------------------------------------------------------------------- */

int sim_notify_new(sim_world *w, const char *name, sim_notify *out)
{
    return object_new(w, OBJ_NOTIFY, HAND_NOTIFY, name, &out->h);
}

/* Hands one notification to the first waiter not yet notified, or stores it. */
static void notify_one_obj(sim_world *w, uint32_t slot)
{
    sim__obj *o = &w->objs[slot];
    SIM_ASSERT(o->type == OBJ_NOTIFY);
    SIM_ASSERT(o->len <= 1); /* at most one stored permit */
    for (uint32_t s = o->wq_head; s != SIM__NIL; s = w->waiters[s].next) {
        if (!w->waiters[s].notified) {
            sim__waitq_notify_one(w, slot);
            return;
        }
    }
    o->len = 1; /* nobody waits: the next sim_notified completes at once */
}

void sim_notify_one(sim_world *w, const sim_notify *n)
{
    if (sim__no_side_effects(w, "sim_notify_one") != SIM_OK) return;
    uint32_t slot = obj_of(w, &n->h, HAND_NOTIFY, OBJ_NOTIFY, "sim_notify_one");
    if (slot == SIM__NIL) return;
    notify_one_obj(w, slot);
}

void sim_notify_all(sim_world *w, const sim_notify *n)
{
    if (sim__no_side_effects(w, "sim_notify_all") != SIM_OK) return;
    uint32_t slot = obj_of(w, &n->h, HAND_NOTIFY, OBJ_NOTIFY, "sim_notify_all");
    if (slot != SIM__NIL) sim__waitq_notify_all(w, slot);
}

static void notified_drop(sim_fut *f, sim_world *w);

static int notified_poll(sim_fut *f, sim_world *w)
{
    sim_notified_op *op = (sim_notified_op *)f;
    if (sim__require_task(w, "sim_notified") == SIM__NIL) return SIM_EMISUSE;
    uint32_t slot = obj_of(w, op->n ? &op->n->h : NULL, HAND_NOTIFY, OBJ_NOTIFY,
                           "sim_notified");
    if (slot == SIM__NIL) {
        notified_drop(f, w); /* gone while we waited: release our registration (lock_poll) */
        return SIM_EMISUSE;
    }
    SIM_ASSERT(w->objs[slot].len <= 1);
    bool queued = sim__waiter_valid(w, op->waiter_slot_, op->waiter_id_);
    if (queued && my_turn(w, op->waiter_slot_, op->waiter_id_)) {
        sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, false);
        op->waiter_id_ = 0;
        return SIM_OK;
    }
    sim__obj *o = &w->objs[slot];
    if (!queued && o->len > 0) {
        o->len = 0;
        return SIM_OK;
    }
    if (!queued) {
        int rc = sim__waiter_add(w, slot, &op->waiter_slot_, &op->waiter_id_);
        if (rc != SIM_OK) return rc;
    }
    sim__note_wait(w, WAIT_NOTIFY, slot, w->objs[slot].serial);
    SIM_ASSERT(w->waiters[op->waiter_slot_].obj == slot); /* queued on this notify */
    SIM_ASSERT(w->objs[slot].len == 0); /* a stored permit would have been taken */
    return SIM_PENDING;
}

/* Dropped while owed a notify_one: it goes to the next waiter or, when nobody else waits,
 * becomes the stored permit, as if notify_one had come a moment later (tokio's Notify does
 * the same). Passing it to the wait queue alone lost it when the queue was empty. A wake-up
 * of notify_all is not passed on: notify_all stores nothing. */
static void notified_drop(sim_fut *f, sim_world *w)
{
    sim_notified_op *op = (sim_notified_op *)f;
    uint32_t obj = SIM__NIL;
    if (sim__waiter_valid(w, op->waiter_slot_, op->waiter_id_) &&
        w->waiters[op->waiter_slot_].notified == WAITER_OWED) {
        obj = w->waiters[op->waiter_slot_].obj; /* SIM__NIL once the notify is gone */
    }
    sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, false);
    op->waiter_id_ = 0;
    if (obj != SIM__NIL) SIM_ASSERT(w->objs[obj].type == OBJ_NOTIFY);
    if (obj != SIM__NIL) notify_one_obj(w, obj);
}

static void notified_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL);
    SIM_ASSERT(size > 0);
    uint32_t slot = obj_peek(w, &((const sim_notified_op *)f)->n->h, HAND_NOTIFY);
    if (slot == SIM__NIL) {
        snprintf(buf, size, "a dropped notify");
        return;
    }
    const sim__obj *o = &w->objs[slot];
    snprintf(buf, size, "notify #%u%s%s", o->serial, o->name ? " " : "", o->name ? o->name : "");
}

static const sim_fut_vt notified_vt = {.name = "notified", .poll = notified_poll,
                                       .drop = notified_drop, .describe = notified_describe};

sim_notified_op sim_notified(const sim_notify *n)
{
    SIM_ASSERT(n != NULL);
    return (sim_notified_op){.fut = SIM_FUT_INIT(&notified_vt), .n = n};
}

void sim_notify_drop(sim_world *w, sim_notify *n)
{
    object_drop(w, &n->h, HAND_NOTIFY, "sim_notify_drop");
}

void sim__sync_init_hand_ops(sim_world *w)
{
    w->hand_ops[HAND_MUTEX] = object_handle_release;
    w->hand_ops[HAND_SEM] = object_handle_release;
    w->hand_ops[HAND_NOTIFY] = object_handle_release;
    w->hand_ops[HAND_LOCKED] = mutex_give_up;
    w->hand_ops[HAND_PERMITS] = permits_release;
}
