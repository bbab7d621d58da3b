/*
 * bench_actor.c: how fast the actor runtime of systems/actor runs, one line per figure, each
 * the median of 5 runs:
 *
 *   actor_calls_per_s    actor calls per wall second: two Ready actors on one node passing
 *                        N calls back and forth through the runtime's queue (each call runs
 *                        to completion and queues the next)
 *   actor_ret_future_ns  wall ns per round trip through the bridge: a bridge task makes a
 *                        push pipe, sends its Ret to an actor in a call, the actor fires it,
 *                        the pipe wakes the task, which takes the value (Ret -> future)
 *
 * One thread, one core, recording off (no trace sink). This file is a host-boundary file: it
 * reads the host clock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "../systems/actor/actor.h"

#define RUNS 5

static act_sys *g_sys;
static uint64_t g_left;      /* calls or trips still to make */
static bool g_done;

static void ping(act_cx *cx, void *self, bool some, act_val *v)
{
    (void)self;
    (void)some;
    if (g_left == 0) {
        g_done = true;
        return;
    }
    g_left--;
    act_call(act_cx_sys(cx), (act_actor){(uint32_t)v->a}, ping, (act_val){.a = act_cx_self(cx).id});
}

static void init(act_cx *cx, void *self, bool some, act_val *v)
{
    (void)self;
    (void)some;
    (void)v;
    act_cx_ready(cx);
}

static void reply(act_cx *cx, void *self, bool some, act_val *v)
{
    (void)self;
    (void)some;
    act_ret_fire(act_cx_sys(cx), &v->ret, (act_val){.a = v->a + 1});
}

static const act_type bench_type = {.name = "bench", .size = 8};

typedef struct tripper {
    act_task_head head;
    act_actor to;
    uint32_t pipe;
    act_ret ret;
    act_val v;
    int rc;
} tripper;

static int tripper_poll(void *state, sim_world *w)
{
    tripper *t = state;
    SIM_BEGIN(w, &t->head.co);
    while (g_left > 0) {
        g_left--;
        t->pipe = act_push_pipe(g_sys, ACT_RESULT, &t->ret, NULL);
        act_call(g_sys, t->to, reply, (act_val){.a = 1, .ret = act_ret_take(&t->ret)});
        SIM_AWAIT(t->rc, act_wait(g_sys, t->pipe, &t->v));
        if (t->rc != SIM_OK || t->v.a != 2) exit(1);
    }
    g_done = true;
    SIM_END(SIM_OK);
}

typedef struct waiter {
    sim_co co;
} waiter;

static int waiter_poll(void *state, sim_world *w)
{
    waiter *s = state;
    SIM_BEGIN(w, &s->co);
    while (!g_done) {
        SIM_TRY(sim_sleep(w, SIM_MS));
    }
    SIM_END(SIM_OK);
}

static int boot(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)w;
    return act_boot(g_sys, node);
}

/* One run: wall ns for n calls (trips = false) or n round trips. */
static double run(uint64_t n, bool trips)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}};
    sim_world *w = NULL;
    must(sim_world_new(&d, &w), "sim_world_new");
    act_sys_desc ad = {0};
    g_sys = act_sys_new(w, &ad);
    sim_node_id node;
    sim_node_desc nd = {.name = "n1", .boot = boot};
    must(sim_node_add(w, &nd, &node), "sim_node_add");
    act_own a = act_new(g_sys, node, &bench_type, "a", (act_ret){0});
    act_own b = act_new(g_sys, node, &bench_type, "b", (act_ret){0});
    act_call_prep(g_sys, act_own_actor(a), init, (act_val){0});
    act_call_prep(g_sys, act_own_actor(b), init, (act_val){0});
    g_left = n;
    g_done = false;
    if (trips) {
        tripper t = {.to = act_own_actor(b)};
        must(act_spawn(g_sys, node, tripper_poll, NULL, &t, sizeof t, (act_ret){0}), "spawn");
    } else {
        act_call(g_sys, act_own_actor(a), ping, (act_val){.a = act_own_actor(b).id});
    }
    waiter s = {0};
    sim_task_desc td = {.name = "waiter", .node = node, .poll = waiter_poll, .state = &s,
                        .state_size = sizeof s};
    must(sim_spawn(w, &td, NULL), "sim_spawn");
    uint64_t t0 = host_now_ns();
    must(sim_world_run(w), "sim_world_run");
    double wall = (double)(host_now_ns() - t0);
    if (!g_done) exit(1);
    act_own_drop(g_sys, &a);
    act_own_drop(g_sys, &b);
    sim_world_free(w);
    act_sys_free(g_sys);
    return wall;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    if (n == 0) {
        fprintf(stderr, "usage: sim-bench-actor [N]\n");
        return 2;
    }
    double calls[RUNS], trips[RUNS];
    for (int i = 0; i < RUNS; i++) {
        calls[i] = (double)n * 1e9 / run(n, false);
        trips[i] = run(n, true) / (double)n;
    }
    printf("actor_calls_per_s %.0f calls/s (two actors, one node, through the queue)\n",
           median(calls, RUNS));
    printf("actor_ret_future_ns %.0f ns/round trip (push pipe: call with a Ret, fired, task "
           "woken)\n", median(trips, RUNS));
    return 0;
}
