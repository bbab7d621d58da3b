/*
 * combine.c: select and join_all over type-erased futures.
 *
 * Both poll every unfinished future on each poll of the task (they do not track which one was
 * woken), which is O(n) per poll and fine for the handful of futures they are meant for.
 * Every future a combinator owns is dropped exactly once: with SIM_DROP_DONE when it
 * completed, SIM_DROP_ABORT when it lost a select or the combinator itself was dropped.
 */
#include "exec.h"

static void future_drop(sim_world *w, sim_future *f, sim_drop_mode mode)
{
    if (f->drop != NULL) f->drop(f->state, w, mode);
}

void sim_select_init(sim_select *s, sim_future *futures, uint32_t count)
{
    SIM_ASSERT(futures != NULL || count == 0);
    s->futures = futures;
    s->count = count;
    s->winner = -1;
    s->dropped_ = 0;
}

int sim_select_poll(sim_world *w, sim_select *s)
{
    if (s->dropped_) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_select_poll after it completed");
        return SIM_EMISUSE;
    }
    for (uint32_t i = 0; i < s->count; i++) {
        sim_future *f = &s->futures[i];
        SIM_ASSERT(f->poll != NULL);
        int rc = f->poll(f->state, w);
        if (rc == SIM_PENDING) continue;
        s->winner = (int32_t)i;
        s->dropped_ = 1;
        for (uint32_t j = 0; j < s->count; j++) {
            future_drop(w, &s->futures[j], j == i ? SIM_DROP_DONE : SIM_DROP_ABORT);
        }
        return rc;
    }
    return SIM_PENDING;
}

void sim_select_drop(sim_world *w, sim_select *s)
{
    if (s->dropped_ || s->futures == NULL) return;
    s->dropped_ = 1;
    for (uint32_t j = 0; j < s->count; j++) future_drop(w, &s->futures[j], SIM_DROP_ABORT);
}

void sim_join_all_init(sim_join_all *j, sim_future *futures, int *results, uint32_t count)
{
    SIM_ASSERT((futures != NULL && results != NULL) || count == 0);
    j->futures = futures;
    j->results = results;
    j->count = count;
    j->remaining = count;
    for (uint32_t i = 0; i < count; i++) results[i] = SIM_PENDING;
}

int sim_join_all_poll(sim_world *w, sim_join_all *j)
{
    for (uint32_t i = 0; i < j->count; i++) {
        if (j->results[i] != SIM_PENDING) continue;
        sim_future *f = &j->futures[i];
        int rc = f->poll(f->state, w);
        if (rc == SIM_PENDING) continue;
        j->results[i] = rc;
        future_drop(w, f, SIM_DROP_DONE);
        SIM_ASSERT(j->remaining > 0);
        j->remaining--;
    }
    return j->remaining == 0 ? SIM_OK : SIM_PENDING;
}

void sim_join_all_drop(sim_world *w, sim_join_all *j)
{
    for (uint32_t i = 0; i < j->count; i++) {
        if (j->results[i] != SIM_PENDING) continue;
        future_drop(w, &j->futures[i], SIM_DROP_ABORT);
        j->results[i] = SIM_ECANCELED;
        j->remaining--;
    }
}
