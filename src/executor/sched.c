/*
 * sched.c: the run queue and the scheduling strategies.
 *
 * Which runnable task goes next is the executor's one real choice, so every strategy is a
 * pure function of the queue and the "sim/sched" stream:
 *   fifo    a doubly linked list in the order tasks became runnable; O(1) everything.
 *   random  an array of runnable slots; a uniform index is drawn and swap-removed; O(1).
 *   pct     a binary max-heap on (priority, lower task id). Each task gets a random priority
 *           at spawn, above d; at d - 1 change points drawn uniformly in [1, k] the task
 *           running that step drops to priority i (Burckhardt, Kothari, Musuvathi and
 *           Nagarakatte, "A randomized scheduler with probabilistic guarantees of finding
 *           bugs", ASPLOS 2010). A bug of depth d is found with probability >= 1/(n k^(d-1)).
 * A choice among two or more tasks is a decision, recorded in the POLL event of the task chosen
 * (how many were runnable, whether it was forced). A forced decision (replay) picks the named
 * task instead; the stream is still drawn so that later draws do not shift. One that names a
 * task not runnable then stops the run as diverged, or, lenient (a scripted schedule that
 * shrinking changed around), leaves the choice to the strategy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

/* "pct", "pct:D", "pct:D:K" or "pct:D:auto" into *depth and *steps (left as they are when
 * not given); false when the text is none of them. */
static bool pct_parse(const char *text, unsigned long long *depth, unsigned long long *steps)
{
    SIM_ASSERT(strncmp(text, "pct", 3) == 0);
    int used = 0;
    if (text[3] == '\0') return true;
    if (sscanf(text, "pct:%llu%n", depth, &used) == 1 && text[used] == '\0') return true;
    used = 0;
    if (sscanf(text, "pct:%llu:%llu%n", depth, steps, &used) == 2 && text[used] == '\0') {
        return true;
    }
    used = 0;
    if (sscanf(text, "pct:%llu:auto%n", depth, &used) == 1 && used > 0 && text[used] == '\0') {
        *steps = SIM_PCT_STEPS_AUTO;
        return true;
    }
    return false;
}

int sim_sched_parse(const char *text, sim_sched *out, char *err, size_t err_size)
{
    static const char valid[] = "valid strategies: fifo, random, pct, pct:D, pct:D:K, "
                                "pct:D:auto (D = depth 1..64, K = expected steps >= 1; auto: "
                                "the length of the seed's fifo run)";
    SIM_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (text == NULL) text = "";
    if (strcmp(text, "fifo") == 0) {
        out->kind = SIM_SCHED_FIFO;
        return SIM_OK;
    }
    if (strcmp(text, "random") == 0) {
        out->kind = SIM_SCHED_RANDOM;
        return SIM_OK;
    }
    if (strncmp(text, "pct", 3) == 0 && (text[3] == '\0' || text[3] == ':')) {
        unsigned long long depth = 3, steps = 10000;
        if (pct_parse(text, &depth, &steps)) {
            if (depth >= 1 && depth <= 64 && steps >= 1) {
                out->kind = SIM_SCHED_PCT;
                out->pct_depth = (uint32_t)depth;
                out->pct_steps = steps;
                SIM_ASSERT(out->pct_depth >= 1 && out->pct_depth <= 64);
                return SIM_OK;
            }
        }
    }
    if (err != NULL && err_size > 0) {
        snprintf(err, err_size, "unknown strategy '%s'; %s", text, valid);
    }
    return SIM_EINVAL;
}

int sim_sched_format(const sim_sched *sched, char *buf, size_t size)
{
    SIM_ASSERT(sched != NULL);
    SIM_ASSERT(buf != NULL || size == 0);
    int n;
    switch (sched->kind) {
    case SIM_SCHED_FIFO:
        n = snprintf(buf, size, "fifo");
        break;
    case SIM_SCHED_RANDOM:
        n = snprintf(buf, size, "random");
        break;
    case SIM_SCHED_PCT:
        if (sched->pct_steps == SIM_PCT_STEPS_AUTO) {
            n = snprintf(buf, size, "pct:%u:auto", sched->pct_depth ? sched->pct_depth : 3);
        } else {
            n = snprintf(buf, size, "pct:%u:%llu", sched->pct_depth ? sched->pct_depth : 3,
                         (unsigned long long)(sched->pct_steps ? sched->pct_steps : 10000));
        }
        break;
    default:
        return SIM_EINVAL;
    }
    return (n < 0 || (size_t)n >= size) ? SIM_EINVAL : SIM_OK;
}

int sim__sched_init(sim_world *w)
{
    sim_rng_init(&w->sched_rng, w->seed, "sim/sched", 0);
    sim_rng_init(&w->spurious_rng, w->seed, "sim/spurious", 0);
    if (w->sched.kind != SIM_SCHED_PCT) return SIM_OK;
    SIM_ASSERT(w->sched.pct_depth >= 1 && w->sched.pct_depth <= 64); /* normalised by the desc */
    SIM_ASSERT(w->sched.pct_steps >= 1);
    uint32_t n = w->sched.pct_depth - 1;
    if (n == 0) return SIM_OK;
    w->pct_changes = sim__xcalloc(n, sizeof(uint64_t), "PCT's change points");
    for (uint32_t i = 0; i < n; i++) {
        uint64_t c = sim_rng_range(&w->sched_rng, 1, w->sched.pct_steps);
        uint32_t j = i;
        while (j > 0 && w->pct_changes[j - 1] > c) {
            w->pct_changes[j] = w->pct_changes[j - 1];
            j--;
        }
        w->pct_changes[j] = c;
    }
    SIM_ASSERT(w->pct_changes[0] >= 1); /* change points lie in [1, k], in order */
    SIM_ASSERT(w->pct_changes[n - 1] <= w->sched.pct_steps);
    w->pct_nchanges = n;
    return SIM_OK;
}

void sim__sched_free(sim_world *w)
{
    free(w->rq_array);
    free(w->pct_changes);
    w->rq_array = NULL;
    w->pct_changes = NULL;
}

void sim__sched_on_spawn(sim_world *w, uint32_t slot)
{
    if (w->sched.kind != SIM_SCHED_PCT) return;
    /* Initial priorities lie above every change-point priority (1 .. d-1). */
    uint64_t r = sim_rng_next(&w->sched_rng) >> 1;
    sim__task_at(w, slot)->prio = (uint64_t)w->sched.pct_depth + r;
}

/* ---- pct heap ----------------------------------------------------------------------------- */

static bool pct_before(const sim_world *w, uint32_t a, uint32_t b)
{
    const sim__task *ta = &w->tasks[a];
    const sim__task *tb = &w->tasks[b];
    if (ta->prio != tb->prio) return ta->prio > tb->prio;
    return ta->id < tb->id;
}

static void pct_set(sim_world *w, uint32_t i, uint32_t slot)
{
    w->rq_array[i] = slot;
    w->tasks[slot].rq = i;
}

static void pct_sift_up(sim_world *w, uint32_t i)
{
    SIM_ASSERT(i < w->rq_len);
    uint32_t slot = w->rq_array[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!pct_before(w, slot, w->rq_array[parent])) break;
        pct_set(w, i, w->rq_array[parent]);
        i = parent;
    }
    SIM_ASSERT(i == 0 || !pct_before(w, slot, w->rq_array[(i - 1) / 2])); /* not above parent */
    pct_set(w, i, slot);
}

static void pct_sift_down(sim_world *w, uint32_t i)
{
    SIM_ASSERT(i < w->rq_len);
    uint32_t slot = w->rq_array[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= w->rq_len) break;
        if (child + 1 < w->rq_len && pct_before(w, w->rq_array[child + 1], w->rq_array[child])) {
            child++;
        }
        if (!pct_before(w, w->rq_array[child], slot)) break;
        pct_set(w, i, w->rq_array[child]);
        i = child;
    }
    SIM_ASSERT(2 * i + 1 >= w->rq_len || !pct_before(w, w->rq_array[2 * i + 1], slot));
    pct_set(w, i, slot);
}

static void pct_remove_at(sim_world *w, uint32_t i)
{
    SIM_ASSERT(i < w->rq_len);
    w->rq_len--;
    if (i == w->rq_len) return;
    uint32_t moved = w->rq_array[w->rq_len];
    pct_set(w, i, moved);
    SIM_ASSERT(moved < w->tasks_used);
    pct_sift_down(w, i);
    pct_sift_up(w, w->tasks[moved].rq); /* no-op if it went down */
    SIM_ASSERT(w->rq_array[w->tasks[moved].rq] == moved);
}

/* ---- queue operations --------------------------------------------------------------------- */

int sim__rq_push_slow(sim_world *w, uint32_t slot)
{
    sim__task *t = sim__task_at(w, slot);
    SIM_ASSERT(t->status == TASK_LIVE);
    SIM_ASSERT(!(t->flags & (TF_QUEUED | TF_RUNNING)));
    SIM_ASSERT(w->sched.kind != SIM_SCHED_FIFO); /* sim__rq_push queues those inline */
    t->flags |= TF_QUEUED;
    if (w->rq_len == w->rq_cap) {
        sim__grow((void **)&w->rq_array, &w->rq_cap, w->rq_len + 1, sizeof(uint32_t));
    }
    sim__table_shake((void **)&w->rq_array, w->rq_cap, sizeof(uint32_t));
    w->rq_array[w->rq_len] = slot;
    t->rq = w->rq_len;
    w->rq_len++;
    if (w->sched.kind == SIM_SCHED_PCT) pct_sift_up(w, t->rq);
    return SIM_OK;
}

static void fifo_unlink(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(w->rq_head != SIM__NIL && w->rq_tail != SIM__NIL); /* it is in the queue */
    sim__task *t = &w->tasks[slot];
    if (t->rq_prev != SIM__NIL) {
        w->tasks[t->rq_prev].rq = t->rq;
    } else {
        SIM_ASSERT(w->rq_head == slot); /* no predecessor: it is the head */
        w->rq_head = t->rq;
    }
    if (t->rq != SIM__NIL) {
        w->tasks[t->rq].rq_prev = t->rq_prev;
    } else {
        SIM_ASSERT(w->rq_tail == slot); /* no successor: it is the tail */
        w->rq_tail = t->rq_prev;
    }
}

static void random_remove_at(sim_world *w, uint32_t i)
{
    SIM_ASSERT(i < w->rq_len);
    w->rq_len--;
    if (i != w->rq_len) {
        uint32_t moved = w->rq_array[w->rq_len];
        SIM_ASSERT(w->tasks[moved].flags & TF_QUEUED);
        w->rq_array[i] = moved;
        w->tasks[moved].rq = i;
    }
}

void sim__rq_remove(sim_world *w, uint32_t slot)
{
    sim__task *t = sim__task_at(w, slot);
    if (!(t->flags & TF_QUEUED)) return;
    SIM_ASSERT(w->rq_len > 0);
    t->flags &= ~(uint32_t)TF_QUEUED;
    switch (w->sched.kind) {
    case SIM_SCHED_FIFO:
        fifo_unlink(w, slot);
        w->rq_len--;
        break;
    case SIM_SCHED_RANDOM:
        SIM_ASSERT(w->rq_array[t->rq] == slot);
        random_remove_at(w, t->rq);
        break;
    case SIM_SCHED_PCT:
        SIM_ASSERT(w->rq_array[t->rq] == slot);
        pct_remove_at(w, t->rq);
        break;
    }
}

/* The slot the strategy would run next, after drawing what it draws. */
static uint32_t strategy_choice(sim_world *w)
{
    SIM_ASSERT(w->rq_len > 0);
    SIM_ASSERT(w->sched.kind != SIM_SCHED_FIFO || w->rq_head != SIM__NIL);
    switch (w->sched.kind) {
    case SIM_SCHED_FIFO:
        return w->rq_head;
    case SIM_SCHED_RANDOM: {
        uint32_t i = w->rq_len > 1 ? (uint32_t)sim_rng_below(&w->sched_rng, w->rq_len) : 0;
        return w->rq_array[i];
    }
    case SIM_SCHED_PCT:
        return w->rq_array[0];
    }
    return SIM__NIL;
}

/* Applies a forced decision for this step, if any. Returns the slot to run, `choice` when
 * nothing is forced, or SIM__NIL after stopping the run on a divergence. */
static uint32_t apply_forced(sim_world *w, uint32_t choice, bool *forced)
{
    *forced = false;
    SIM_ASSERT(w->forced_next < w->forced_count);
    /* Lenient: an entry whose step went by without a pick (nothing ran then) is passed. */
    while (w->forced_lenient && w->forced_next + 1 < w->forced_count &&
           w->forced[w->forced_next].step < w->step + 1) {
        w->forced_next++;
    }
    const sim_decision *d = &w->forced[w->forced_next];
    if (d->step != w->step + 1) return choice;
    w->forced_next++;
    *forced = true;
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        const sim__task *t = &w->tasks[s];
        if (t->id == d->task.v && (t->flags & TF_QUEUED)) return s;
    }
    SIM_ASSERT(d->step == w->step + 1);
    if (w->forced_lenient) { /* a scripted schedule the run no longer fits: the strategy's */
        *forced = false;
        return choice;
    }
    sim__violation(w, SIM_VIOLATION_DIVERGED,
                   "forced decision at step %llu names task %u, which is not runnable",
                   (unsigned long long)d->step, d->task.v);
    sim__stop(w, SIM_EDIVERGED);
    return SIM__NIL;
}

/* Removes and returns what the strategy picks, without a forced decision: the hot path. */
static inline uint32_t pick_unforced(sim_world *w)
{
    uint32_t slot;
    switch (w->sched.kind) {
    case SIM_SCHED_FIFO:
        return sim__rq_pop_fifo(w);
    case SIM_SCHED_RANDOM: {
        uint32_t i = w->rq_len > 1 ? (uint32_t)sim_rng_below(&w->sched_rng, w->rq_len) : 0;
        slot = w->rq_array[i];
        random_remove_at(w, i);
        break;
    }
    default:
        slot = w->rq_array[0];
        pct_remove_at(w, 0);
        break;
    }
    SIM_ASSERT(w->tasks[slot].flags & TF_QUEUED);
    w->tasks[slot].flags &= ~(uint32_t)TF_QUEUED; /* TF_SPURIOUS is the poll's to consume */
    return slot;
}

void sim__exec_set_decision_hook(sim_world *w, sim__decision_fn fn, sim__point_fn point,
                                 void *ud)
{
    w->decision_fn = fn;
    w->point_fn = fn != NULL ? point : NULL;
    w->decision_ud = fn != NULL ? ud : NULL;
    SIM_ASSERT(fn != NULL || w->decision_ud == NULL);
}

/* Tells the decision hook which tasks could run (fifo queue order) and which one will. */
static void tell_decision(sim_world *w, uint32_t chosen_slot)
{
    enum { SHOWN_MAX = 256 };
    uint32_t ids[SHOWN_MAX], n = 0;
    for (uint32_t s = w->rq_head; s != SIM__NIL && n < SHOWN_MAX; s = w->tasks[s].rq) {
        ids[n++] = w->tasks[s].id;
    }
    SIM_ASSERT(n >= 2 && n <= w->rq_len);
    w->decision_fn(w->decision_ud, w->step + 1, ids, n, w->tasks[chosen_slot].id);
}

uint32_t sim__rq_pick_slow(sim_world *w, uint64_t *poll_b)
{
    SIM_ASSERT(w->rq_len > 0);
    uint32_t n = w->rq_len;
    if (w->decision_fn != NULL && n >= 2 && w->sched.kind == SIM_SCHED_FIFO) {
        uint32_t choice = strategy_choice(w);
        if (w->forced_next < w->forced_count && w->forced[w->forced_next].step == w->step + 1) {
            for (uint32_t s = w->rq_head; s != SIM__NIL; s = w->tasks[s].rq) {
                if (w->tasks[s].id == w->forced[w->forced_next].task.v) choice = s;
            }
        }
        tell_decision(w, choice);
    }
    bool forced = false;
    uint32_t slot;
    if (w->forced_next < w->forced_count) {
        slot = apply_forced(w, strategy_choice(w), &forced);
        if (slot == SIM__NIL) return SIM__NIL;
        sim__rq_remove(w, slot);
    } else {
        slot = pick_unforced(w);
    }
    SIM_ASSERT(!(w->tasks[slot].flags & TF_QUEUED));
    if (n >= 2) w->stats.decisions++;
    *poll_b = (uint64_t)n << 2 | (uint64_t)forced << 1;
    if (w->sched.kind == SIM_SCHED_PCT && w->pct_next < w->pct_nchanges &&
        w->pct_changes[w->pct_next] <= w->step + 1) {
        w->pct_next++;
        w->tasks[slot].prio = w->pct_next; /* change point i: priority i, below every initial */
    }
    return slot;
}
