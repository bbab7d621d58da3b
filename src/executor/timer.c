/*
 * timer.c: the timer queue, sleep, interval and timeout.
 *
 * Armed timers are entries of 16 bytes, (deadline, seq) with the timer's slot in the low bits
 * of the seq word (exec.h), ordered by (deadline, seq): seq is the arming order, so timers with
 * equal deadlines fire in the order they were armed, never in address order. They live in a
 * radix heap (below): removing the earliest entry moves the rest of its bucket down with
 * sequential appends, where a heap's sift touched a cache line per level (a million timers
 * are 16 MB; cachegrind: a third fewer D1 misses per timer than the 4-ary heap, for about the
 * same instructions). A 4-ary min-heap holds the rare entries armed before the radix heap's
 * last removed one (see "the radix heap"), and is otherwise empty.
 *
 * Cancellation is lazy: a cancelled timer is only marked, and its entry is discarded when it
 * is the earliest. When cancelled entries outnumber live ones (and there are more than 1024 of
 * them) both queues are rebuilt without them, so long timeouts that are nearly always
 * cancelled cannot make them grow without bound; that costs O(n) once per n/2 cancellations.
 *
 * Each task counts its armed timers. A task's timers belong to the futures it awaits, which
 * are dropped when it ends; one left armed after that (a future polled by hand and never
 * dropped) is released and reported instead of leaving a wake-up for a ghost. A sleep arms
 * its timer on its first pending poll, not when it is made, so a sleep that is ready at once
 * costs nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

#define ARITY 4
#define PURGE_MIN 1024

/* (deadline, key) order; the key's seq decides ties (the slot bits below never do: seqs
 * differ). One 128-bit comparison (cmp, sbb), without branches: on random deadlines a branch
 * on the first field is a coin toss. */
__extension__ typedef unsigned __int128 ent_order;

static inline bool ent_before(const sim__heap_ent *a, const sim__heap_ent *b)
{
    ent_order x = (ent_order)a->deadline_ns << 64 | a->key;
    ent_order y = (ent_order)b->deadline_ns << 64 | b->key;
    return x < y;
}

static void sift_up(sim__heap_ent *heap, uint32_t i)
{
    SIM_ASSERT(sim__heap_ent_seq(&heap[i]) > 0); /* every entry was armed: seqs start at 1 */
    sim__heap_ent ent = heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / ARITY;
        if (!ent_before(&ent, &heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    SIM_ASSERT(i == 0 || !ent_before(&ent, &heap[(i - 1) / ARITY])); /* not before its parent */
    heap[i] = ent;
}

static void sift_down(sim__heap_ent *heap, uint32_t n, uint32_t i)
{
    SIM_ASSERT(i < n);
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
    SIM_ASSERT(ARITY * i + 1 >= n || !ent_before(&heap[ARITY * i + 1], &ent));
    heap[i] = ent;
}

/* An entry names a timer that is armed or cancelled and carries its arming number; returns
 * 1 for a cancelled one. */
static uint32_t ent_check(const sim_world *w, const sim__heap_ent *e)
{
    uint32_t tslot = sim__heap_ent_timer(e);
    uint32_t seq32 = (uint32_t)sim__heap_ent_seq(e);
    SIM_ASSERT(tslot < w->timers_used);
    SIM_ASSERT(w->timers[tslot].state != TIMER_FREE);
    SIM_ASSERT(w->timers[tslot].id == (seq32 ? seq32 : 1));
    return w->timers[tslot].state == TIMER_CANCELLED;
}

static inline uint32_t tq_bucket_of(const sim_world *w, const sim__heap_ent *e);
static inline const sim__heap_ent *tq_min(const sim_world *w);

/* Both queues are well formed: the 4-ary heap is ordered by (deadline, seq); every radix
 * entry comes after the last removed one and is in its bucket, whose earliest entry is known
 * and whose bit is set; the cancelled entries are counted; the earliest deadline is known.
 * O(n): for SIM_ASSERT_SLOW. */
__attribute__((unused)) static inline bool heap_ok(const sim_world *w)
{
    uint32_t cancelled = 0, radix = 0;
    uint64_t next = UINT64_MAX;
    for (uint32_t i = 0; i < w->heap_len; i++) {
        const sim__heap_ent *e = &w->heap[i];
        if (i > 0) SIM_ASSERT(!ent_before(e, &w->heap[(i - 1) / ARITY]));
        cancelled += ent_check(w, e);
        if (e->deadline_ns < next) next = e->deadline_ns;
    }
    for (uint32_t b = 0; w->tq != NULL && b < SIM__TQ_BUCKETS; b++) {
        const sim__tq_bucket *bk = &w->tq[b];
        SIM_ASSERT((bk->len > 0) == ((w->tq_nonempty[b / 64] >> (b % 64)) & 1));
        for (uint32_t i = 0; i < bk->len; i++) {
            const sim__heap_ent *e = &bk->ents[i];
            SIM_ASSERT(ent_before(&w->tq_last, e));
            SIM_ASSERT(tq_bucket_of(w, e) == b);
            SIM_ASSERT(!ent_before(e, &bk->ents[bk->min]));
            cancelled += ent_check(w, e);
            if (e->deadline_ns < next) next = e->deadline_ns;
        }
        radix += bk->len;
    }
    SIM_ASSERT(radix == w->tq_len);
    SIM_ASSERT(cancelled == w->timers_cancelled);
    SIM_ASSERT(next == w->timer_next_ns);
    return true;
}

/* The earliest of four adjacent entries (0..3): a tournament on the deadlines alone (one
 * 64-bit comparison each, without branches), which is exact unless two of the deadlines it
 * compares are equal; then, rarely on most workloads, the full (deadline, key) comparisons
 * decide. */
static inline uint32_t min_of_four(const sim__heap_ent *c)
{
    uint64_t d0 = c[0].deadline_ns, d1 = c[1].deadline_ns;
    uint64_t d2 = c[2].deadline_ns, d3 = c[3].deadline_ns;
    uint32_t a = d1 < d0 ? 1 : 0, b = d3 < d2 ? 3 : 2;
    uint64_t da = d1 < d0 ? d1 : d0, db = d3 < d2 ? d3 : d2;
    if (__builtin_expect((d0 == d1) | (d2 == d3) | (da == db), 0)) {
        a = ent_before(&c[1], &c[0]) ? 1 : 0;
        b = ent_before(&c[3], &c[2]) ? 3 : 2;
        return ent_before(&c[b], &c[a]) ? b : a;
    }
    return db < da ? b : a;
}

/* Removes the root. The hole it leaves descends along the earlier child to the bottom, three
 * comparisons a level and none against the entry that fills it, and the last entry, which
 * came from the bottom and mostly belongs there, rises into it from there (Floyd's bottom-up
 * deletion): a quarter fewer comparisons than sifting that entry down from the root. Where
 * entries end up does not matter to the order timers fire in, which is (deadline, seq). */
static void heap_pop(sim_world *w)
{
    SIM_ASSERT(w->heap_len > 0);
    uint32_t n = --w->heap_len;
    if (n == 0) return;
    sim__heap_ent *heap = w->heap;
    const sim__heap_ent last = heap[n];
    uint32_t i = 0;
    for (;;) {
        uint32_t first = ARITY * i + 1;
        if (first >= n) break;
        uint32_t best = first;
        if (first + ARITY <= n) { /* the common case: four children, unrolled */
            best = first + min_of_four(&heap[first]);
        } else {
            for (uint32_t c = first + 1; c < n; c++) {
                if (ent_before(&heap[c], &heap[best])) best = c;
            }
        }
        heap[i] = heap[best];
        i = best;
    }
    while (i > 0) {
        uint32_t parent = (i - 1) / ARITY;
        if (!ent_before(&last, &heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = last;
    SIM_ASSERT(i == 0 || !ent_before(&heap[i], &heap[(i - 1) / ARITY])); /* not before its parent */
}

static void timer_free(sim_world *w, uint32_t tslot)
{
    sim__timer *tm = &w->timers[tslot];
    tm->id = 0;
    tm->state = TIMER_FREE;
    tm->next_free = w->timer_free;
    w->timer_free = tslot;
}

/* ---- the radix heap ----------------------------------------------------------------------- */

/* A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan) of 128-bit keys (deadline, key): an entry
 * sits in the bucket of the highest bit where it differs from tq_last, the last entry removed.
 * Removing the earliest entry (always in the lowest non-empty bucket, whose earliest entry is
 * kept) makes it the new tq_last and moves the rest of its bucket to lower buckets; an entry
 * moves a few times in all (about 8 for 10^5 random deadlines), each move a 16-byte append, and
 * no removal compares more than its own bucket. Keys only grow: a timer is armed at or after
 * now with a sequence number above every other, and an entry is removed when it fires (its
 * deadline is now) or, cancelled, when it is the earliest one left; an entry armed before
 * tq_last (possible only after such a removal ahead of the clock) goes to the 4-ary heap
 * instead, which is otherwise empty. */

static inline uint32_t msb64(uint64_t x)
{
    SIM_ASSERT(x != 0);
    return 63u - (uint32_t)__builtin_clzll(x);
}

/* The bucket of (deadline, key) relative to the last removed entry (ld, lk). */
static inline uint32_t bucket_of(uint64_t deadline, uint64_t key, uint64_t ld, uint64_t lk)
{
    uint64_t dx = deadline ^ ld;
    if (dx != 0) return 64 + msb64(dx);
    return msb64(key ^ lk); /* keys are unique: never the same entry */
}

static inline uint32_t tq_bucket_of(const sim_world *w, const sim__heap_ent *e)
{
    return bucket_of(e->deadline_ns, e->key, w->tq_last.deadline_ns, w->tq_last.key);
}

static inline uint32_t tq_lowest(const sim_world *w)
{
    SIM_ASSERT(w->tq_len > 0);
    _Static_assert(SIM__TQ_BUCKETS == 128, "two words of bucket bits");
    if (w->tq_nonempty[0] != 0) return (uint32_t)__builtin_ctzll(w->tq_nonempty[0]);
    return 64 + (uint32_t)__builtin_ctzll(w->tq_nonempty[1]);
}

static inline const sim__heap_ent *tq_min(const sim_world *w)
{
    const sim__tq_bucket *bk = &w->tq[tq_lowest(w)];
    return &bk->ents[bk->min];
}

/* Appends an entry after tq_last to bucket b, its bucket. */
static inline void tq_append(sim_world *w, uint32_t b, const sim__heap_ent *e)
{
    sim__tq_bucket *bk = &w->tq[b];
    if (bk->len == bk->cap) {
        sim__grow((void **)&bk->ents, &bk->cap, bk->len + 1, sizeof(sim__heap_ent));
    }
    bk->ents[bk->len] = *e;
    if (bk->len == 0) {
        bk->min = 0;
        w->tq_nonempty[b / 64] |= (uint64_t)1 << (b % 64);
    } else {
        /* The deadline alone first: a new entry is rarely the bucket's earliest, so this
         * branch is predictable, and the full comparison is made only on a tie or better. */
        const sim__heap_ent *m = &bk->ents[bk->min];
        if (e->deadline_ns <= m->deadline_ns && ent_before(e, m)) bk->min = bk->len;
    }
    bk->len++;
}

static inline void tq_push(sim_world *w, const sim__heap_ent *e)
{
    tq_append(w, tq_bucket_of(w, e), e);
}

/* Removes the earliest radix entry, which becomes tq_last; its bucket's other entries move
 * down (to buckets below it: they share its bits above its bucket's). */
static void tq_pop(sim_world *w)
{
    uint32_t b = tq_lowest(w);
    sim__tq_bucket *bk = &w->tq[b];
    uint32_t n = bk->len;
    sim__heap_ent *ents = bk->ents; /* kept: only lower buckets grow below */
    sim__heap_ent last = ents[bk->min];
    ents[bk->min] = ents[n - 1]; /* the others are ents[0 .. n - 2] */
    w->tq_last = last;
    bk->len = 0;
    w->tq_nonempty[b / 64] &= ~((uint64_t)1 << (b % 64));
    w->tq_len--;
    for (uint32_t i = 0; i + 1 < n; i++) {
        sim__heap_ent e = ents[i];
        uint32_t nb = bucket_of(e.deadline_ns, e.key, last.deadline_ns, last.key);
        SIM_ASSERT_SLOW(nb < b);
        tq_append(w, nb, &e);
    }
}

/* The earliest entry of both queues, and whether it is the 4-ary heap's. */
static inline const sim__heap_ent *queue_top(const sim_world *w, bool *side)
{
    SIM_ASSERT(w->heap_len + w->tq_len > 0);
    /* The 4-ary heap's entries were armed before tq_last, which the radix entries follow. */
    *side = w->heap_len > 0;
    if (*side) {
        SIM_ASSERT(ent_before(&w->heap[0], &w->tq_last));
        return &w->heap[0];
    }
    return tq_min(w);
}

static void next_update(sim_world *w)
{
    bool side;
    w->timer_next_ns = w->heap_len + w->tq_len > 0 ? queue_top(w, &side)->deadline_ns
                                                    : UINT64_MAX;
}

/* Removes the earliest entry. */
static void queue_pop(sim_world *w)
{
    bool side;
    queue_top(w, &side);
    if (side) {
        heap_pop(w);
    } else {
        tq_pop(w);
    }
    next_update(w);
}

static void queue_push(sim_world *w, const sim__heap_ent *e)
{
    if (ent_before(&w->tq_last, e)) {
        tq_push(w, e);
        w->tq_len++;
    } else {
        w->heap[w->heap_len] = *e;
        w->heap_len++;
        sift_up(w->heap, w->heap_len - 1);
    }
    if (e->deadline_ns < w->timer_next_ns) w->timer_next_ns = e->deadline_ns;
    SIM_ASSERT_SLOW(heap_ok(w));
}

/* Drops the cancelled entries of a radix bucket, and finds its earliest entry again. */
static uint32_t tq_bucket_purge(sim_world *w, uint32_t b)
{
    sim__tq_bucket *bk = &w->tq[b];
    uint32_t n = 0;
    for (uint32_t i = 0; i < bk->len; i++) {
        uint32_t tslot = sim__heap_ent_timer(&bk->ents[i]);
        if (w->timers[tslot].state == TIMER_CANCELLED) {
            timer_free(w, tslot);
            continue;
        }
        bk->ents[n] = bk->ents[i];
        if (n == 0 || ent_before(&bk->ents[n], &bk->ents[bk->min])) bk->min = n;
        n++;
    }
    uint32_t dropped = bk->len - n;
    bk->len = n;
    if (n == 0) w->tq_nonempty[b / 64] &= ~((uint64_t)1 << (b % 64));
    return dropped;
}

/* Rebuilds both queues without their cancelled entries (the 4-ary heap by Floyd's heapify),
 * O(n). */
static void purge_cancelled(sim_world *w)
{
    uint32_t n = 0;
    SIM_ASSERT(w->timers_cancelled <= w->heap_len + w->tq_len);
    for (uint32_t i = 0; i < w->heap_len; i++) {
        uint32_t tslot = sim__heap_ent_timer(&w->heap[i]);
        SIM_ASSERT(w->timers[tslot].state != TIMER_FREE); /* a freed timer has no entry */
        if (w->timers[tslot].state == TIMER_CANCELLED) {
            timer_free(w, tslot);
        } else {
            w->heap[n++] = w->heap[i];
        }
    }
    uint32_t dropped = w->heap_len - n;
    w->heap_len = n;
    for (uint32_t i = n / ARITY + 1; i-- > 0;) {
        if (i < n) sift_down(w->heap, n, i);
    }
    for (uint32_t b = 0; w->tq != NULL && b < SIM__TQ_BUCKETS; b++) {
        uint32_t gone = w->tq[b].len > 0 ? tq_bucket_purge(w, b) : 0;
        w->tq_len -= gone;
        dropped += gone;
    }
    SIM_ASSERT(dropped == w->timers_cancelled); /* exactly the cancelled ones went */
    w->timers_cancelled = 0;
    next_update(w);
    SIM_ASSERT_SLOW(heap_ok(w));
}

/* Drops cancelled entries from the front of the queues. */
static void discard_cancelled_top(sim_world *w)
{
    bool side;
    while (w->heap_len + w->tq_len > 0) {
        uint32_t tslot = sim__heap_ent_timer(queue_top(w, &side));
        if (w->timers[tslot].state != TIMER_CANCELLED) break;
        queue_pop(w);
        timer_free(w, tslot);
        SIM_ASSERT(w->timers_cancelled > 0);
        w->timers_cancelled--;
    }
    SIM_ASSERT(w->heap_len + w->tq_len == 0 ||
               w->timers[sim__heap_ent_timer(queue_top(w, &side))].state == TIMER_ARMED);
}

uint64_t sim__timers_next(sim_world *w)
{
    discard_cancelled_top(w);
    SIM_ASSERT(w->heap_len + w->tq_len > 0);
    return w->timer_next_ns;
}

void sim__timers_list(const sim_world *w, sim__heap_ent *out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->heap_len; i++) {
        if (w->timers[sim__heap_ent_timer(&w->heap[i])].state == TIMER_ARMED) {
            out[n++] = w->heap[i];
        }
    }
    for (uint32_t b = 0; w->tq != NULL && b < SIM__TQ_BUCKETS; b++) {
        const sim__tq_bucket *bk = &w->tq[b];
        for (uint32_t i = 0; i < bk->len; i++) {
            if (w->timers[sim__heap_ent_timer(&bk->ents[i])].state == TIMER_ARMED) {
                out[n++] = bk->ents[i];
            }
        }
    }
    SIM_ASSERT(n == sim__timers_armed(w)); /* every armed timer has its entry, and only one */
}

/* A free timer record and room in the queues; SIM__NIL on failure with *rc set. */
static uint32_t timer_take(sim_world *w, int *rc)
{
    *rc = SIM_OK;
    if (sim__timers_armed(w) >= w->max_timers || w->timer_seq >= SIM__TIMER_SEQ_MAX ||
        (w->timer_free == SIM__NIL && w->timers_used >= SIM__TIMER_SLOTS_MAX)) {
        *rc = SIM_ELIMIT;
        return SIM__NIL;
    }
    if (w->tq == NULL) {
        w->tq = calloc(SIM__TQ_BUCKETS, sizeof(sim__tq_bucket));
        if (w->tq == NULL) sim__oom(SIM__TQ_BUCKETS * sizeof(sim__tq_bucket), "timer buckets");
    }
    sim__grow((void **)&w->heap, &w->heap_cap, w->heap_len + 1, sizeof(sim__heap_ent));
    sim__table_shake((void **)&w->heap, w->heap_cap, sizeof(sim__heap_ent));
    uint32_t tslot = w->timer_free;
    if (tslot != SIM__NIL) {
        w->timer_free = w->timers[tslot].next_free;
    } else {
        sim__grow((void **)&w->timers, &w->timers_cap, w->timers_used + 1, sizeof(sim__timer));
        tslot = w->timers_used++;
    }
    sim__table_shake((void **)&w->timers, w->timers_cap, sizeof(sim__timer));
    SIM_ASSERT(tslot < w->timers_used);
    SIM_ASSERT(w->heap_len < w->heap_cap); /* room for its entry */
    return tslot;
}

int sim__timer_arm_ext(sim_world *w, uint64_t deadline_ns, uint32_t ext, uint64_t arg)
{
    sim__exec_fp_global(w); /* it emits no timer event: say it here */
    SIM_ASSERT(ext < w->ext_count);
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
    sim__heap_ent e = sim__heap_ent_make(deadline_ns, seq, tslot);
    queue_push(w, &e);
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
    sim__heap_ent e = sim__heap_ent_make(deadline_ns, seq, tslot);
    queue_push(w, &e);
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
    if (w->timers_cancelled > PURGE_MIN &&
        w->timers_cancelled > (w->heap_len + w->tq_len) / 2) {
        purge_cancelled(w);
    }
}

void sim__timer_cancel(sim_world *w, uint32_t tslot, uint32_t id)
{
    if (timer_armed(w, tslot, id)) timer_cancel_slot(w, tslot);
}

void sim__timers_fire_due(sim_world *w)
{
    while (sim__timers_due(w)) {
        bool side;
        sim__heap_ent top = *queue_top(w, &side);
        uint32_t tslot = sim__heap_ent_timer(&top);
        queue_pop(w);
        sim__timer *tm = &w->timers[tslot];
        if (tm->state == TIMER_CANCELLED) {
            timer_free(w, tslot);
            SIM_ASSERT(w->timers_cancelled > 0);
            w->timers_cancelled--;
            continue;
        }
        uint32_t task_slot = tm->task_slot;
        SIM_ASSERT(tm->state == TIMER_ARMED);
        uint32_t task_id = tm->task_id;
        if (task_slot == SIM__NIL) {
            uint32_t ext = tm->ext;
            uint64_t arg = tm->arg;
            timer_free(w, tslot);
            w->ext_ops[ext]->fire(w, arg);
            continue;
        }
        timer_free(w, tslot);
        sim__task *t = &w->tasks[task_slot];
        SIM_ASSERT(t->id == task_id);   /* a dying task's timers are cancelled first */
        SIM_ASSERT(t->timers > 0);
        t->timers--;
        w->stats.timers_fired++;
        sim__emit(w, SIM_EV_TIMER_FIRE, t->node, task_id, top.deadline_ns,
                  sim__heap_ent_seq(&top), NULL);
        sim__wake(w, task_slot, task_id);
    }
}

uint32_t sim__timers_release_task(sim_world *w, uint32_t task_slot)
{
    /* The rare path (a drop function forgot a sleep): a scan of the timer table. */
    uint32_t n = 0;
    uint32_t id = w->tasks[task_slot].id;
    SIM_ASSERT(task_slot < w->tasks_used);
    for (uint32_t i = 0; i < w->timers_used && w->tasks[task_slot].timers > 0; i++) {
        const sim__timer *tm = &w->timers[i];
        if (tm->state != TIMER_ARMED || tm->task_slot != task_slot || tm->task_id != id) continue;
        timer_cancel_slot(w, i);
        n++;
    }
    SIM_ASSERT(w->tasks[task_slot].timers == 0);
    SIM_ASSERT_SLOW(heap_ok(w));
    return n;
}

void sim__timers_free(sim_world *w)
{
    SIM_ASSERT(w->timers_cancelled <= w->heap_len + w->tq_len);
    SIM_ASSERT(w->heap_len <= w->heap_cap);
    for (uint32_t b = 0; w->tq != NULL && b < SIM__TQ_BUCKETS; b++) free(w->tq[b].ents);
    free(w->tq);
    free(w->heap);
    free(w->timers);
    w->tq = NULL;
    w->heap = NULL;
    w->timers = NULL;
    w->heap_len = 0;
    w->tq_len = 0;
    w->timer_next_ns = UINT64_MAX;
    w->timers_cancelled = 0;
}

/* ---- sleeps: the timer behind every awaitable that waits for a time ---------------------- */

int sim__sleep_poll(sim_world *w, uint64_t deadline_ns, uint32_t *slot, uint32_t *id)
{
    SIM_ASSERT(slot != NULL && id != NULL);
    if (w->now_ns >= deadline_ns) {
        sim__sleep_cancel(w, slot, id);
        return SIM_OK;
    }
    uint32_t self = sim__require_task(w, "sleep");
    if (self == SIM__NIL) return SIM_EMISUSE;
    bool armed = timer_armed(w, *slot, *id) && w->timers[*slot].task_slot == self;
    if (!armed) {
        sim__sleep_cancel(w, slot, id);
        int rc = timer_arm(w, deadline_ns, self, slot, id);
        if (rc != SIM_OK) return rc;
    }
    SIM_ASSERT(timer_armed(w, *slot, *id));
    sim__note_wait(w, WAIT_SLEEP, *id, deadline_ns);
    return SIM_PENDING;
}

void sim__sleep_cancel(sim_world *w, uint32_t *slot, uint32_t *id)
{
    sim__timer_cancel(w, *slot, *id);
    *id = 0;
}

uint64_t sim_time_left(const sim_world *w, uint64_t deadline_ns)
{
    uint64_t now = sim_now(w);
    return deadline_ns > now ? deadline_ns - now : 0;
}

static void describe_deadline(const char *what, uint64_t deadline_ns, char *buf, size_t size)
{
    char t[32];
    sim__fmt_time(deadline_ns, t, sizeof t);
    snprintf(buf, size, "%s until %s", what, t);
}

static int sleep_poll(sim_fut *f, sim_world *w)
{
    sim_sleep_op *op = (sim_sleep_op *)f;
    return sim__sleep_poll(w, op->deadline_ns, &op->timer_slot_, &op->timer_id_);
}

static void sleep_drop(sim_fut *f, sim_world *w)
{
    sim_sleep_op *op = (sim_sleep_op *)f;
    sim__sleep_cancel(w, &op->timer_slot_, &op->timer_id_);
}

static void sleep_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    (void)w;
    describe_deadline("sleep", ((const sim_sleep_op *)f)->deadline_ns, buf, size);
}

static const sim_fut_vt sleep_vt = {.name = "sleep", .poll = sleep_poll, .drop = sleep_drop,
                                    .describe = sleep_describe};

sim_sleep_op sim_sleep_until(uint64_t deadline_ns)
{
    return (sim_sleep_op){.fut = SIM_FUT_INIT(&sleep_vt), .deadline_ns = deadline_ns};
}

sim_sleep_op sim_sleep(const sim_world *w, uint64_t duration_ns)
{
    return sim_sleep_until(sim__add_sat(sim_now(w), duration_ns));
}

/* ---- interval ----------------------------------------------------------------------------- */

void sim_interval_init(const sim_world *w, sim_interval *iv, uint64_t period_ns)
{
    SIM_ASSERT(iv != NULL);
    SIM_ASSERT(period_ns > 0);
    iv->period_ns = period_ns;
    iv->ticks = 0;
    iv->next_ns = sim__add_sat(sim_now(w), period_ns);
}

static int tick_poll(sim_fut *f, sim_world *w)
{
    sim_tick_op *op = (sim_tick_op *)f;
    sim_interval *iv = op->iv;
    SIM_ASSERT(iv->period_ns > 0); /* initialised */
    SIM_ASSERT(op->timer_id_ == 0 || op->timer_slot_ < w->timers_used);
    int rc = sim__sleep_poll(w, iv->next_ns, &op->timer_slot_, &op->timer_id_);
    if (rc != SIM_OK) return rc;
    iv->ticks++;
    iv->next_ns = sim__add_sat(iv->next_ns, iv->period_ns);
    return SIM_OK;
}

static void tick_drop(sim_fut *f, sim_world *w)
{
    sim_tick_op *op = (sim_tick_op *)f;
    sim__sleep_cancel(w, &op->timer_slot_, &op->timer_id_);
}

static void tick_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    (void)w;
    describe_deadline("tick", ((const sim_tick_op *)f)->iv->next_ns, buf, size);
}

static const sim_fut_vt tick_vt = {.name = "tick", .poll = tick_poll, .drop = tick_drop,
                                   .describe = tick_describe};

sim_tick_op sim_tick(sim_interval *iv)
{
    SIM_ASSERT(iv != NULL);
    return (sim_tick_op){.fut = SIM_FUT_INIT(&tick_vt), .iv = iv};
}

/* ---- timeout ------------------------------------------------------------------------------ */

static void timeout_release(sim_world *w, sim_timeout_op *op)
{
    if (op->inner_ != NULL) sim__fut_unbox(w, op->inner_, op->inner_size_);
    op->inner_ = NULL;
    sim__sleep_cancel(w, &op->timer_slot_, &op->timer_id_);
}

static int timeout_poll(sim_fut *f, sim_world *w)
{
    sim_timeout_op *op = (sim_timeout_op *)f;
    SIM_ASSERT(op->inner_ != NULL);
    /* A branch point before the deadline: the timeout may fire now, the inner unpolled. */
    if (w->now_ns < op->deadline_ns && sim__oracle_branch(w, "timeout")) {
        timeout_release(w, op);
        return SIM_ETIMEDOUT;
    }
    int rc = sim_fut_poll(w, op->inner_);
    if (rc != SIM_PENDING) {
        timeout_release(w, op);
        return rc;
    }
    rc = sim__sleep_poll(w, op->deadline_ns, &op->timer_slot_, &op->timer_id_);
    if (rc == SIM_PENDING) {
        SIM_ASSERT(timer_armed(w, op->timer_slot_, op->timer_id_));
        return SIM_PENDING;
    }
    timeout_release(w, op); /* what the inner future armed is released */
    return rc == SIM_OK ? SIM_ETIMEDOUT : rc;
}

static void timeout_drop(sim_fut *f, sim_world *w)
{
    timeout_release(w, (sim_timeout_op *)f);
}

static void timeout_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL);
    SIM_ASSERT(size > 0);
    const sim_timeout_op *op = (const sim_timeout_op *)f;
    char t[32];
    sim__fmt_time(op->deadline_ns, t, sizeof t);
    /* Straight into buf: a select of eight branches was cut by a buffer of 160 bytes. */
    sim_fut_describe(op->inner_, w, buf, size);
    size_t n = strlen(buf);
    if (n + 1 < size) snprintf(buf + n, size - n, ", with a timeout at %s", t);
}

static const sim_fut_vt timeout_vt = {.name = "timeout", .poll = timeout_poll,
                                      .drop = timeout_drop, .describe = timeout_describe};

sim_timeout_op sim__timeout(sim_world *w, uint64_t deadline_ns, const void *inner, size_t size)
{
    SIM_ASSERT(inner != NULL);
    return (sim_timeout_op){.fut = SIM_FUT_INIT(&timeout_vt),
                            .deadline_ns = deadline_ns,
                            .inner_ = sim__fut_box(w, inner, size),
                            .inner_size_ = (uint32_t)size};
}
