/*
 * test_fault_macros.c: the two other ways code meets a fault point. Code marked with
 * libfiu's own macros (fiu_return_on, fiu_do_on, built with FIU_ENABLE) reaches the plan of
 * the world running on the thread; and code built with SIM_NO_FAULT_POINTS has SIM_FAULT
 * compiled away to 0. This file is built with both: FIU_ENABLE for libfiu's macros, and
 * SIM_NO_FAULT_POINTS for sim.h's.
 */
#define FIU_ENABLE 1
#define SIM_NO_FAULT_POINTS 1
#include <fiu.h>

#include "../helpers.h"

static const sim_fault_point raw_points[] = {
    {"sut/raw/refuse", "the request is refused"},
};

/* A task that asks the same point once per poll through libfiu's macros, yielding between
 * asks, and records what it got: 1 for a fault, 0 otherwise. */
typedef struct asker {
    sim_co co;
    int *got;           /* 8 answers, in the test's storage */
    uint32_t n;
} asker;

static int refuse_or_serve(void)
{
    fiu_return_on("sut/raw/refuse", 1);
    return 0;
}

/* 1 when the point fires at this ask (fiu_do_on runs its action then). */
static int ask_once(void)
{
    int faulted = 0;
    fiu_do_on("sut/raw/refuse", faulted = 1);
    return faulted;
}

static int asker_poll(void *state, sim_world *w)
{
    asker *a = state;
    SIM_BEGIN(w, &a->co);
    for (a->n = 0; a->n < 8; a->n++) {
        a->got[a->n] = ask_once();
        SIM_TRY(sim_yield());
    }
    SIM_END(SIM_OK);
}

/* Goal: libfiu's own macros reach the running world's plan: with the point failing at hit 2
 * (a countdown; probability 0 otherwise), a task sees a fault exactly there, the world counts
 * the hits and records the fault as a `fire` of the point on the task's node;
 * outside any run the same macro reaches no world and never fails.
 * Method: a task on n1 asks eight times with fiu_do_on; a second world with probability 1
 * checks fiu_return_on in a plain function called outside a run. */
Test(fault_macros, libfiu_macros_reach_the_running_world)
{
    cr_assert(eq(int, sim_fault_declare(raw_points, 1), SIM_OK));
    sim_world *w = test_world(3, SIM_SCHED_FIFO);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    cr_assert(eq(int, sim_fault_fail_at(w, "sut/raw/refuse", 2), SIM_OK));
    int got[8] = {0};
    asker a = {.got = got};
    sim_join j = test_spawn(w, "asker", n1, asker_poll, NULL, &a, sizeof a);
    test_run_ok(w);
    for (int i = 0; i < 8; i++) cr_assert(eq(int, got[i], i == 2), "answer %d", i);
    cr_assert(eq(u64, sim_fault_hits(w, "sut/raw/refuse"), 8));
    cr_assert(eq(u32, sim_world_fault_count(w), 1));
    const sim_fault_rec *f = sim_world_fault(w, 0);
    cr_assert(eq(str, (char *)f->point, "sut/raw/refuse"));
    cr_assert(eq(u64, f->hit, 2));
    cr_assert(eq(u32, f->node.v, n1.v));
    cr_assert(eq(int, (int)f->action, (int)SIM_FAULT_FIRE));
    sim_join_detach(w, &j);
    sim_world_free(w);

    sim_world *w2 = test_world(3, SIM_SCHED_FIFO);
    cr_assert(eq(int, sim_fault_set(w2, "sut/raw/refuse", (sim_ratio){1, 1}), SIM_OK));
    cr_assert(eq(int, refuse_or_serve(), 0)); /* no world runs on this thread */
    cr_assert(eq(u64, sim_fault_hits(w2, "sut/raw/refuse"), 0));
    sim_world_free(w2);
}

/* Goal: with SIM_NO_FAULT_POINTS, SIM_FAULT is 0 and touches nothing: no hit is counted, no
 * fault fires even at probability 1, and an undeclared name is no violation (the code is
 * gone). Method: this file is built with SIM_NO_FAULT_POINTS. */
Test(fault_macros, sim_fault_compiles_away)
{
    cr_assert(eq(int, sim_fault_declare(raw_points, 1), SIM_OK));
    sim_world *w = test_world(5, SIM_SCHED_FIFO);
    cr_assert(eq(int, sim_fault_set(w, "sut/raw/refuse", (sim_ratio){1, 1}), SIM_OK));
    int fired = 0;
    for (int i = 0; i < 10; i++) fired += SIM_FAULT(w, "sut/raw/refuse");
    fired += SIM_FAULT(w, "sut/raw/never-declared");
    cr_assert(eq(int, fired, 0));
    cr_assert(eq(u64, sim_fault_hits(w, "sut/raw/refuse"), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, sim_world_fault_count(w), 0));
    sim_world_free(w);
}
