/*
 * timer.c: the timer heap, sleep, interval and timeout.
 *
 * Armed timers live in a 4-ary min-heap of inline keys (deadline, seq), 24 bytes each, with no
 * allocation per timer. seq is the arming order, so timers with equal deadlines fire in the
 * order they were armed, never in address order. A 4-ary heap is half as deep as a binary
 * one and reads a node's children from adjacent cache lines, which is what matters once the
 * heap outgrows the cache (a million timers is 24 MB).
 *
 * Cancellation is lazy: a cancelled timer is only marked, and its heap entry is discarded
 * when it reaches the top. Entries carry no back-pointer, so sifting touches the heap alone.
 * When cancelled entries outnumber live ones (and there are more than 1024 of them) the heap
 * is rebuilt without them, so long timeouts that are nearly always cancelled cannot make it
 * grow without bound; that costs O(n) once per n/2 cancellations.
 *
 * Each task counts its armed timers, so a task that dies with a timer armed can have it
 * released (and reported) instead of leaving a wake-up for a ghost. A sleep arms its timer on
 * its first pending poll, not at init, so a sleep that is ready at once costs nothing.
 */
#include <stdlib.h>

#include "exec.h"

#define ARITY 4
#define PURGE_MIN 1024

static bool ent_before(const sim__heap_ent *a, const sim__heap_ent *b)
{
    if (a->deadline_ns != b->deadline_ns) return a->deadline_ns < b->deadline_ns;
    return a->seq < b->seq;
}

static void sift_up(sim__heap_ent *heap, uint32_t i)
{
    sim__heap_ent ent = heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / ARITY;
        if (!ent_before(&ent, &heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = ent;
}

static void sift_down(sim__heap_ent *heap, uint32_t n, uint32_t i)
{
    sim__heap_ent ent = heap[i];
    for (;;) {
        uint32_t first = ARITY * i + 1;
        if (first >= n) break;
        uint32_t last = first + ARITY < n ? first + ARITY : n;
        uint32_t best = first;
        for (uint32_t c = first + 1; c < last; c++) {
            if (ent_before(&heap[c], &heap[best])) best = c;
        }
        if (!ent_before(&heap[best], &ent)) break;
        heap[i] = heap[best];
        i = best;
    }
    heap[i] = ent;
}

static void heap_pop(sim_world *w)
{
    SIM_ASSERT(w->heap_len > 0);
    w->heap_len--;
    if (w->heap_len == 0) return;
    w->heap[0] = w->heap[w->heap_len];
    sift_down(w->heap, w->heap_len, 0);
}

static void timer_free(sim_world *w, uint32_t tslot)
{
    sim__timer *tm = &w->timers[tslot];
    tm->id = 0;
    tm->state = TIMER_FREE;
    tm->next_free = w->timer_free;
    w->timer_free = tslot;
}

/* Rebuilds the heap without its cancelled entries (Floyd's heapify, O(n)). */
static void purge_cancelled(sim_world *w)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->heap_len; i++) {
        uint32_t tslot = w->heap[i].timer;
        if (w->timers[tslot].state == TIMER_CANCELLED) {
            timer_free(w, tslot);
        } else {
            w->heap[n++] = w->heap[i];
        }
    }
    w->heap_len = n;
    w->timers_cancelled = 0;
    for (uint32_t i = n / ARITY + 1; i-- > 0;) {
        if (i < n) sift_down(w->heap, n, i);
    }
}

/* Drops cancelled entries from the top of the heap. */
static void discard_cancelled_top(sim_world *w)
{
    while (w->heap_len > 0 && w->timers[w->heap[0].timer].state == TIMER_CANCELLED) {
        uint32_t tslot = w->heap[0].timer;
        heap_pop(w);
        timer_free(w, tslot);
        SIM_ASSERT(w->timers_cancelled > 0);
        w->timers_cancelled--;
    }
}

uint64_t sim__timers_next(sim_world *w)
{
    discard_cancelled_top(w);
    SIM_ASSERT(w->heap_len > 0);
    return w->heap[0].deadline_ns;
}

/* A free timer record and room in the heap; SIM__NIL on failure with *rc set. */
static uint32_t timer_take(sim_world *w, int *rc)
{
    *rc = SIM_OK;
    if (sim__timers_armed(w) >= w->max_timers) {
        *rc = SIM_ELIMIT;
        return SIM__NIL;
    }
    if (sim__grow((void **)&w->heap, &w->heap_cap, w->heap_len + 1, sizeof(sim__heap_ent)) !=
        SIM_OK) {
        *rc = SIM_ENOMEM;
        return SIM__NIL;
    }
    sim__table_shake((void **)&w->heap, w->heap_cap, sizeof(sim__heap_ent));
    uint32_t tslot = w->timer_free;
    if (tslot != SIM__NIL) {
        w->timer_free = w->timers[tslot].next_free;
    } else if (sim__grow((void **)&w->timers, &w->timers_cap, w->timers_used + 1,
                         sizeof(sim__timer)) != SIM_OK) {
        *rc = SIM_ENOMEM;
        return SIM__NIL;
    } else {
        tslot = w->timers_used++;
    }
    sim__table_shake((void **)&w->timers, w->timers_cap, sizeof(sim__timer));
    return tslot;
}

int sim__timer_arm_ext(sim_world *w, uint64_t deadline_ns, uint32_t ext, uint64_t arg)
{
    SIM_ASSERT(ext < SIM__EXT_MAX && w->ext_ops[ext] != NULL);
    SIM_ASSERT(deadline_ns >= w->now_ns);
    int rc;
    uint32_t tslot = timer_take(w, &rc);
    if (tslot == SIM__NIL) return rc;
    uint64_t seq = ++w->timer_seq;
    sim__timer *tm = &w->timers[tslot];
    tm->id = (uint32_t)seq ? (uint32_t)seq : 1;
    tm->state = TIMER_ARMED;
    tm->ext = (uint8_t)ext;
    tm->task_slot = SIM__NIL;
    tm->task_id = 0;
    tm->arg = arg;
    w->heap[w->heap_len] = (sim__heap_ent){.deadline_ns = deadline_ns, .seq = seq, .timer = tslot};
    w->heap_len++;
    sift_up(w->heap, w->heap_len - 1);
    return SIM_OK;
}

static int timer_arm(sim_world *w, uint64_t deadline_ns, uint32_t task_slot, uint32_t *slot_out,
                     uint32_t *id_out)
{
    SIM_ASSERT(deadline_ns > w->now_ns); /* a due sleep is ready, never armed */
    int rc;
    uint32_t tslot = timer_take(w, &rc);
    if (tslot == SIM__NIL) return rc;
    uint64_t seq = ++w->timer_seq;
    sim__task *t = &w->tasks[task_slot];
    sim__timer *tm = &w->timers[tslot];
    tm->id = (uint32_t)seq ? (uint32_t)seq : 1;
    tm->state = TIMER_ARMED;
    tm->task_slot = task_slot;
    tm->task_id = t->id;
    tm->ext = 0;
    tm->arg = 0;
    t->timers++;
    w->heap[w->heap_len] = (sim__heap_ent){.deadline_ns = deadline_ns, .seq = seq, .timer = tslot};
    w->heap_len++;
    sift_up(w->heap, w->heap_len - 1);
    sim__emit(w, SIM_EV_TIMER_SET, t->node, t->id, deadline_ns, seq, NULL);
    *slot_out = tslot;
    *id_out = tm->id;
    return SIM_OK;
}

static bool timer_armed(const sim_world *w, uint32_t tslot, uint32_t id)
{
    return id != 0 && tslot < w->timers_used && w->timers[tslot].id == id &&
           w->timers[tslot].state == TIMER_ARMED;
}

static void timer_cancel_slot(sim_world *w, uint32_t tslot)
{
    sim__timer *tm = &w->timers[tslot];
    SIM_ASSERT(tm->state == TIMER_ARMED);
    tm->state = TIMER_CANCELLED;
    SIM_ASSERT(tm->task_slot != SIM__NIL); /* extension timers are never cancelled */
    sim__task *t = &w->tasks[tm->task_slot];
    if (t->id == tm->task_id) {
        SIM_ASSERT(t->timers > 0);
        t->timers--;
    }
    w->timers_cancelled++;
    if (w->timers_cancelled > PURGE_MIN && w->timers_cancelled > w->heap_len / 2) {
        purge_cancelled(w);
    }
}

void sim__timer_cancel(sim_world *w, uint32_t tslot, uint32_t id)
{
    if (timer_armed(w, tslot, id)) timer_cancel_slot(w, tslot);
}

void sim__timers_fire_due(sim_world *w)
{
    while (w->heap_len > 0 && w->heap[0].deadline_ns <= w->now_ns) {
        sim__heap_ent top = w->heap[0];
        heap_pop(w);
        sim__timer *tm = &w->timers[top.timer];
        if (tm->state == TIMER_CANCELLED) {
            timer_free(w, top.timer);
            w->timers_cancelled--;
            continue;
        }
        uint32_t task_slot = tm->task_slot;
        uint32_t task_id = tm->task_id;
        if (task_slot == SIM__NIL) {
            uint32_t ext = tm->ext;
            uint64_t arg = tm->arg;
            timer_free(w, top.timer);
            w->ext_ops[ext]->fire(w, arg);
            continue;
        }
        timer_free(w, top.timer);
        sim__task *t = &w->tasks[task_slot];
        SIM_ASSERT(t->id == task_id);   /* a dying task's timers are cancelled first */
        SIM_ASSERT(t->timers > 0);
        t->timers--;
        w->stats.timers_fired++;
        sim__emit(w, SIM_EV_TIMER_FIRE, t->node, task_id, top.deadline_ns, top.seq, NULL);
        sim__wake(w, task_slot, task_id);
    }
}

uint32_t sim__timers_release_task(sim_world *w, uint32_t task_slot)
{
    /* The rare path (a drop function forgot a sleep): a scan of the timer table. */
    uint32_t n = 0;
    uint32_t id = w->tasks[task_slot].id;
    for (uint32_t i = 0; i < w->timers_used && w->tasks[task_slot].timers > 0; i++) {
        const sim__timer *tm = &w->timers[i];
        if (tm->state != TIMER_ARMED || tm->task_slot != task_slot || tm->task_id != id) continue;
        timer_cancel_slot(w, i);
        n++;
    }
    SIM_ASSERT(w->tasks[task_slot].timers == 0);
    return n;
}

void sim__timers_free(sim_world *w)
{
    free(w->heap);
    free(w->timers);
    w->heap = NULL;
    w->timers = NULL;
    w->heap_len = 0;
    w->timers_cancelled = 0;
}

/* ---- sleep -------------------------------------------------------------------------------- */

void sim_sleep_until_init(sim_world *w, sim_sleep *s, uint64_t deadline_ns)
{
    /* A sleep re-initialised while armed (a loop that forgot its drop) releases its timer. */
    sim_sleep_drop(w, s);
    s->deadline_ns = deadline_ns;
}

void sim_sleep_init(sim_world *w, sim_sleep *s, uint64_t duration_ns)
{
    sim_sleep_until_init(w, s, sim__add_sat(w->now_ns, duration_ns));
}

int sim_sleep_poll(sim_world *w, sim_sleep *s)
{
    if (w->now_ns >= s->deadline_ns) {
        sim_sleep_drop(w, s);
        return SIM_OK;
    }
    uint32_t self = sim__require_task(w, "sim_sleep_poll");
    if (self == SIM__NIL) return SIM_EMISUSE;
    bool armed = timer_armed(w, s->timer_slot_, s->timer_id_) &&
                 w->timers[s->timer_slot_].task_slot == self;
    if (!armed) {
        sim_sleep_drop(w, s);
        int rc = timer_arm(w, s->deadline_ns, self, &s->timer_slot_, &s->timer_id_);
        if (rc != SIM_OK) return rc;
    }
    sim__note_wait(w, WAIT_SLEEP, s->timer_id_, s->deadline_ns);
    return SIM_PENDING;
}

void sim_sleep_drop(sim_world *w, sim_sleep *s)
{
    sim__timer_cancel(w, s->timer_slot_, s->timer_id_);
    s->timer_id_ = 0;
}

static int sleep_fpoll(void *state, sim_world *w)
{
    return sim_sleep_poll(w, state);
}

static void sleep_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_sleep_drop(w, state);
}

sim_future sim_sleep_future(sim_sleep *s)
{
    return (sim_future){.poll = sleep_fpoll, .drop = sleep_fdrop, .state = s};
}

/* ---- interval ----------------------------------------------------------------------------- */

void sim_interval_init(sim_world *w, sim_interval *iv, uint64_t period_ns)
{
    SIM_ASSERT(period_ns > 0);
    iv->period_ns = period_ns;
    iv->ticks = 0;
    sim_sleep_init(w, &iv->next, period_ns);
}

int sim_interval_poll(sim_world *w, sim_interval *iv)
{
    int rc = sim_sleep_poll(w, &iv->next);
    if (rc != SIM_OK) return rc;
    iv->ticks++;
    sim_sleep_until_init(w, &iv->next, sim__add_sat(iv->next.deadline_ns, iv->period_ns));
    return SIM_OK;
}

void sim_interval_drop(sim_world *w, sim_interval *iv)
{
    sim_sleep_drop(w, &iv->next);
}

/* ---- timeout ------------------------------------------------------------------------------ */

void sim_timeout_init(sim_world *w, sim_timeout *t, sim_future inner, uint64_t duration_ns)
{
    SIM_ASSERT(inner.poll != NULL);
    t->inner = inner;
    t->done_ = 0;
    sim_sleep_init(w, &t->timer, duration_ns);
}

static void timeout_finish(sim_world *w, sim_timeout *t, sim_drop_mode mode)
{
    if (t->done_) return;
    t->done_ = 1;
    if (t->inner.drop != NULL) t->inner.drop(t->inner.state, w, mode);
    sim_sleep_drop(w, &t->timer);
}

int sim_timeout_poll(sim_world *w, sim_timeout *t)
{
    if (t->done_) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_timeout_poll after it completed");
        return SIM_EMISUSE;
    }
    int rc = t->inner.poll(t->inner.state, w);
    if (rc != SIM_PENDING) {
        timeout_finish(w, t, SIM_DROP_DONE);
        return rc;
    }
    rc = sim_sleep_poll(w, &t->timer);
    if (rc == SIM_PENDING) return SIM_PENDING;
    timeout_finish(w, t, SIM_DROP_ABORT);
    return rc == SIM_OK ? SIM_ETIMEDOUT : rc;
}

void sim_timeout_drop(sim_world *w, sim_timeout *t)
{
    timeout_finish(w, t, SIM_DROP_ABORT);
}

static int timeout_fpoll(void *state, sim_world *w)
{
    return sim_timeout_poll(w, state);
}

static void timeout_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    timeout_finish(w, state, mode == SIM_DROP_DONE ? SIM_DROP_DONE : SIM_DROP_ABORT);
}

sim_future sim_timeout_future(sim_timeout *t)
{
    return (sim_future){.poll = timeout_fpoll, .drop = timeout_fdrop, .state = t};
}
