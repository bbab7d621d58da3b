/*
 * taskends.h: how each task ended, as a trace sink saw it, for tests that used to read a drop
 * function's mode (sim_drop_mode is gone: a drop function no longer learns why it runs). The
 * COMPLETE event of a task carries its result: SIM_ECRASHED when its node crashed (or the
 * world was freed), SIM_ECANCELED when it was aborted, what its poll returned otherwise.
 * Tests use the public API only.
 */
#ifndef SIM_TEST_TASKENDS_H
#define SIM_TEST_TASKENDS_H

#include "sim.h"

#define TEST_ENDS_MAX 256

typedef struct test_ends {
    uint32_t task[TEST_ENDS_MAX];  /* task ids in the order they ended */
    int result[TEST_ENDS_MAX];     /* their results */
    uint32_t n;                    /* tasks ended (may exceed TEST_ENDS_MAX: not kept) */
    void *next_ud;                 /* another sink to pass every event on to; may be NULL */
    sim_trace_cb next;
} test_ends;

static inline void test_ends_cb(void *ud, const sim_event *ev)
{
    test_ends *e = ud;
    if (ev->kind == SIM_EV_COMPLETE) {
        if (e->n < TEST_ENDS_MAX) {
            e->task[e->n] = ev->task.v;
            e->result[e->n] = (int)(int64_t)ev->a;
        }
        e->n++;
    }
    if (e->next != NULL) e->next(e->next_ud, ev);
}

/* The result the task ended with, or SIM_PENDING while it has not ended. */
static inline int test_end_of(const test_ends *e, sim_task_id task)
{
    for (uint32_t i = 0; i < e->n && i < TEST_ENDS_MAX; i++) {
        if (e->task[i] == task.v) return e->result[i];
    }
    return SIM_PENDING;
}

#endif
