/*
 * combine.c: select and join_all over any awaitables.
 *
 * A combinator keeps the branches it is given by value in boxes (blocks of the world's
 * allocator, fut.c), or, for sim_select_futs, points at futures that live in the state block
 * (sizes_[i] == 0: polled and dropped, never freed). Both poll every unfinished branch on each
 * poll of the task (they do not track which one was woken), which is O(n) per poll and fine
 * for the handful of branches they are meant for. A branch that completes has released what
 * it armed; a select's losers are dropped when the winner completes, and whatever is left is
 * dropped, and its box freed, with the combinator.
 */
#include <stdio.h>
#include <string.h>

#include "exec.h"

/* Boxes by-value branches. */
static void box_branches(sim_world *w, sim_fut **arms, uint32_t *sizes,
                         const sim__branch *branches, uint32_t count)
{
    SIM_ASSERT(branches != NULL);
    SIM_ASSERT(count >= 1 && count <= SIM_SELECT_MAX);
    for (uint32_t i = 0; i < count; i++) {
        arms[i] = sim__fut_box(w, branches[i].fut, branches[i].size);
        sizes[i] = (uint32_t)branches[i].size;
    }
}

/* Drops (if still live) and frees branch i; it is gone afterwards. */
static void branch_release(sim_world *w, sim_fut **arms, uint32_t *sizes, uint32_t i)
{
    SIM_ASSERT(i < SIM_SELECT_MAX);
    if (arms[i] == NULL) return;
    SIM_ASSERT(arms[i]->vt != NULL); /* a live branch is a future */
    if (sizes[i] == 0) {
        sim_fut_drop(w, arms[i]);
    } else {
        sim__fut_unbox(w, arms[i], sizes[i]);
    }
    arms[i] = NULL;
}

static void describe_branches(const sim_fut *const *arms, uint32_t count, const char *what,
                              const sim_world *w, char *buf, size_t size)
{
    /* Each branch straight into buf (a 120-byte buffer per branch cut long ones), with a
     * comma before every one but the first described (a join_all whose branch 0 completed
     * began "join_all of, ..."). */
    size_t n = (size_t)snprintf(buf, size, "%s of", what);
    bool first = true;
    for (uint32_t i = 0; i < count && n + 2 < size; i++) {
        if (arms[i] == NULL) continue;
        n += (size_t)snprintf(buf + n, size - n, "%s ", first ? "" : ",");
        first = false;
        if (n + 1 >= size) break;
        sim_fut_describe(arms[i], w, buf + n, size - n);
        n += strlen(buf + n);
    }
}

/* ---- select ---------------------------------------------------------------------------------- */

static int select_poll(sim_fut *f, sim_world *w)
{
    sim_select_op *op = (sim_select_op *)f;
    SIM_ASSERT(op->count >= 1 && op->count <= SIM_SELECT_MAX);
    /* A branch point: when the other branch is to win, branch 0 is polled last. */
    uint32_t first = op->count >= 2 && sim__oracle_branch(w, "select") ? 1 : 0;
    for (uint32_t n = 0; n < op->count; n++) {
        uint32_t i = (first + n) % op->count;
        SIM_ASSERT(op->arms_[i] != NULL); /* every branch is live until the select completes */
        int rc = sim_fut_poll(w, op->arms_[i]);
        if (rc == SIM_PENDING) continue;
        if (op->which != NULL) *op->which = (int)i;
        /* The winner has released what it armed; the losers are cancelled. */
        for (uint32_t j = 0; j < op->count; j++) branch_release(w, op->arms_, op->sizes_, j);
        return rc;
    }
    return SIM_PENDING;
}

static void select_drop(sim_fut *f, sim_world *w)
{
    sim_select_op *op = (sim_select_op *)f;
    for (uint32_t j = 0; j < op->count; j++) branch_release(w, op->arms_, op->sizes_, j);
}

static void select_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_select_op *op = (const sim_select_op *)f;
    describe_branches((const sim_fut *const *)op->arms_, op->count, "select", w, buf, size);
}

static const sim_fut_vt select_vt = {.name = "select", .poll = select_poll,
                                     .drop = select_drop, .describe = select_describe};

sim_select_op sim__select(sim_world *w, int *which, const sim__branch *branches, uint32_t count)
{
    sim_select_op op = {.fut = SIM_FUT_INIT(&select_vt), .which = which, .count = count};
    box_branches(w, op.arms_, op.sizes_, branches, count);
    return op;
}

sim_select_op sim_select_futs(int *which, sim_fut *const *futs, uint32_t count)
{
    SIM_ASSERT(futs != NULL);
    SIM_ASSERT(count >= 1 && count <= SIM_SELECT_MAX);
    sim_select_op op = {.fut = SIM_FUT_INIT(&select_vt), .which = which, .count = count};
    for (uint32_t i = 0; i < count; i++) {
        SIM_ASSERT(futs[i] != NULL && futs[i]->vt != NULL);
        op.arms_[i] = futs[i];
        op.sizes_[i] = 0;
    }
    return op;
}

/* ---- join_all -------------------------------------------------------------------------------- */

static int join_all_poll(sim_fut *f, sim_world *w)
{
    sim_join_all_op *op = (sim_join_all_op *)f;
    SIM_ASSERT(op->count <= SIM_SELECT_MAX);
    SIM_ASSERT(op->remaining_ <= op->count);
    for (uint32_t i = 0; i < op->count; i++) {
        if (op->arms_[i] == NULL) continue;
        int rc = sim_fut_poll(w, op->arms_[i]);
        if (rc == SIM_PENDING) continue;
        op->results[i] = rc;
        branch_release(w, op->arms_, op->sizes_, i);
        SIM_ASSERT(op->remaining_ > 0);
        op->remaining_--;
    }
    return op->remaining_ == 0 ? SIM_OK : SIM_PENDING;
}

static void join_all_drop(sim_fut *f, sim_world *w)
{
    sim_join_all_op *op = (sim_join_all_op *)f;
    for (uint32_t i = 0; i < op->count; i++) {
        if (op->arms_[i] == NULL) continue;
        SIM_ASSERT(op->results[i] == SIM_PENDING); /* a finished branch was released */
        branch_release(w, op->arms_, op->sizes_, i);
        op->results[i] = SIM_ECANCELED;
    }
    SIM_ASSERT(op->count <= SIM_SELECT_MAX);
}

static void join_all_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_join_all_op *op = (const sim_join_all_op *)f;
    describe_branches((const sim_fut *const *)op->arms_, op->count, "join_all", w, buf, size);
}

static const sim_fut_vt join_all_vt = {.name = "join_all", .poll = join_all_poll,
                                       .drop = join_all_drop, .describe = join_all_describe};

sim_join_all_op sim__join_all(sim_world *w, int *results, const sim__branch *branches,
                              uint32_t count)
{
    SIM_ASSERT(results != NULL);
    sim_join_all_op op = {.fut = SIM_FUT_INIT(&join_all_vt), .results = results,
                          .count = count, .remaining_ = count};
    box_branches(w, op.arms_, op.sizes_, branches, count);
    for (uint32_t i = 0; i < count; i++) results[i] = SIM_PENDING;
    return op;
}
