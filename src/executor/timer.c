/*
 * timer.c: the timer heap, sleep, interval and timeout.
 *
 * Armed timers live in a binary min-heap of inline keys (deadline, seq), 24 bytes each, with
 * no allocation per timer: a timer record (slot + id) holds its heap position so that a
 * cancelled sleep leaves the heap at once, in O(log n). seq is the arming order, so timers
 * with equal deadlines fire in the order they were armed, never in address order. Each timer
 * belongs to the task that armed it and is on that task's list, so a task that dies with a
 * timer armed can have it released (and reported) instead of leaving a wake-up for a ghost.
 *
 * A sleep arms its timer on its first pending poll, not at init, so a sleep that is ready
 * at once (deadline in the past) costs nothing.
 */
#include <stdlib.h>

#include "exec.h"

static bool ent_before(const sim__heap_ent *a, const sim__heap_ent *b)
{
    if (a->deadline_ns != b->deadline_ns) return a->deadline_ns < b->deadline_ns;
    return a->seq < b->seq;
}

static void heap_set(sim_world *w, uint32_t i, sim__heap_ent ent)
{
    w->heap[i] = ent;
    w->timers[ent.timer].heap_index = i;
}

static void sift_up(sim_world *w, uint32_t i)
{
    sim__heap_ent ent = w->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!ent_before(&ent, &w->heap[parent])) break;
        heap_set(w, i, w->heap[parent]);
        i = parent;
    }
    heap_set(w, i, ent);
}

static void sift_down(sim_world *w, uint32_t i)
{
    sim__heap_ent ent = w->heap[i];
    uint32_t n = w->heap_len;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && ent_before(&w->heap[child + 1], &w->heap[child])) child++;
        if (!ent_before(&w->heap[child], &ent)) break;
        heap_set(w, i, w->heap[child]);
        i = child;
    }
    heap_set(w, i, ent);
}

static void heap_remove_at(sim_world *w, uint32_t i)
{
    SIM_ASSERT(i < w->heap_len);
    w->heap_len--;
    if (i == w->heap_len) return;
    sim__heap_ent moved = w->heap[w->heap_len];
    heap_set(w, i, moved);
    sift_down(w, i);
    sift_up(w, w->timers[moved.timer].heap_index);
}

static void task_list_unlink(sim_world *w, uint32_t tslot)
{
    sim__timer *tm = &w->timers[tslot];
    if (tm->tprev != SIM__NIL) {
        w->timers[tm->tprev].tnext = tm->tnext;
    } else {
        SIM_ASSERT(w->tasks[tm->task_slot].timers == tslot);
        w->tasks[tm->task_slot].timers = tm->tnext;
    }
    if (tm->tnext != SIM__NIL) w->timers[tm->tnext].tprev = tm->tprev;
}

static void timer_free(sim_world *w, uint32_t tslot)
{
    sim__timer *tm = &w->timers[tslot];
    task_list_unlink(w, tslot);
    tm->id = 0;
    tm->tnext = w->timer_free;
    w->timer_free = tslot;
}

static int timer_arm(sim_world *w, uint64_t deadline_ns, uint32_t task_slot, uint32_t *slot_out,
                     uint32_t *id_out)
{
    if (w->heap_len >= w->max_timers) return SIM_ELIMIT;
    if (sim__grow((void **)&w->heap, &w->heap_cap, w->heap_len + 1, sizeof(sim__heap_ent)) !=
        SIM_OK) {
        return SIM_ENOMEM;
    }
    uint32_t tslot = w->timer_free;
    if (tslot != SIM__NIL) {
        w->timer_free = w->timers[tslot].tnext;
    } else {
        if (sim__grow((void **)&w->timers, &w->timers_cap, w->timers_used + 1,
                      sizeof(sim__timer)) != SIM_OK) {
            return SIM_ENOMEM;
        }
        tslot = w->timers_used++;
    }
    uint64_t seq = ++w->timer_seq;
    sim__task *t = &w->tasks[task_slot];
    sim__timer *tm = &w->timers[tslot];
    tm->id = (uint32_t)seq ? (uint32_t)seq : 1;
    tm->task_slot = task_slot;
    tm->task_id = t->id;
    tm->tprev = SIM__NIL;
    tm->tnext = t->timers;
    if (t->timers != SIM__NIL) w->timers[t->timers].tprev = tslot;
    t->timers = tslot;
    w->heap[w->heap_len] = (sim__heap_ent){.deadline_ns = deadline_ns, .seq = seq, .timer = tslot};
    w->heap_len++;
    sift_up(w, w->heap_len - 1);
    sim__emit(w, SIM_EV_TIMER_SET, t->node, t->id, deadline_ns, seq, NULL);
    *slot_out = tslot;
    *id_out = tm->id;
    return SIM_OK;
}

static bool timer_valid(const sim_world *w, uint32_t tslot, uint32_t id)
{
    return id != 0 && tslot < w->timers_used && w->timers[tslot].id == id;
}

void sim__timer_cancel(sim_world *w, uint32_t tslot, uint32_t id)
{
    if (!timer_valid(w, tslot, id)) return;
    heap_remove_at(w, w->timers[tslot].heap_index);
    timer_free(w, tslot);
}

void sim__timers_fire_due(sim_world *w)
{
    while (w->heap_len > 0 && w->heap[0].deadline_ns <= w->now_ns) {
        sim__heap_ent top = w->heap[0];
        heap_remove_at(w, 0);
        sim__timer *tm = &w->timers[top.timer];
        uint32_t task_slot = tm->task_slot;
        uint32_t task_id = tm->task_id;
        timer_free(w, top.timer);
        w->stats.timers_fired++;
        const sim__task *t = &w->tasks[task_slot];
        sim__emit(w, SIM_EV_TIMER_FIRE, t->node, task_id, top.deadline_ns, top.seq, NULL);
        sim__wake(w, task_slot, task_id);
    }
}

uint32_t sim__timers_release_task(sim_world *w, uint32_t task_slot)
{
    uint32_t n = 0;
    while (w->tasks[task_slot].timers != SIM__NIL) {
        uint32_t tslot = w->tasks[task_slot].timers;
        heap_remove_at(w, w->timers[tslot].heap_index);
        timer_free(w, tslot);
        n++;
    }
    return n;
}

void sim__timers_free(sim_world *w)
{
    free(w->heap);
    free(w->timers);
    w->heap = NULL;
    w->timers = NULL;
    w->heap_len = 0;
}

/* ---- sleep -------------------------------------------------------------------------------- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void sim_sleep_until_init(sim_world *w, sim_sleep *s, uint64_t deadline_ns)
{
    /* A sleep re-initialised while armed (a loop that forgot its drop) releases its timer. */
    sim_sleep_drop(w, s);
    s->deadline_ns = deadline_ns;
}

void sim_sleep_init(sim_world *w, sim_sleep *s, uint64_t duration_ns)
{
    sim_sleep_until_init(w, s, add_sat(w->now_ns, duration_ns));
}

int sim_sleep_poll(sim_world *w, sim_sleep *s)
{
    if (w->now_ns >= s->deadline_ns) {
        sim_sleep_drop(w, s);
        return SIM_OK;
    }
    uint32_t self = sim__require_task(w, "sim_sleep_poll");
    if (self == SIM__NIL) return SIM_EMISUSE;
    bool armed = timer_valid(w, s->timer_slot_, s->timer_id_) &&
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
    sim_sleep_until_init(w, &iv->next, add_sat(iv->next.deadline_ns, iv->period_ns));
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
