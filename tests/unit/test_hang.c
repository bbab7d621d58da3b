/*
 * test_hang.c: hang diagnosis: deadlock, time limit and step limit reports.
 */
#include "../helpers.h"

/* Two tasks, each holding the sender of the other's oneshot and awaiting its own. */
typedef struct crossed {
    sim_co co;
    sim_rx mine;    /* awaits this */
    sim_tx theirs;  /* holds this, never sends */
    uint64_t v;
} crossed;

static int crossed_poll(void *state, sim_world *w)
{
    crossed *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(&c->co);
    SIM_AWAIT(&c->co, rc, sim_recv(w, &c->mine, &c->v));
    SIM_END(&c->co, rc);
}

static void crossed_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    crossed *c = state;
    (void)mode;
    sim_rx_drop(w, &c->mine);
    sim_tx_drop(w, &c->theirs);
}

/* Goal: a deadlock (two tasks awaiting each other's oneshot) stops the run with
 * SIM_EDEADLOCK and a report naming both tasks, what each awaits and who holds the sender.
 * Method: alice awaits oneshot 1 whose sender bob holds, and the reverse. */
Test(hang, deadlock_names_both_tasks_and_holders)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    sim_chan_desc one = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(uint64_t), .name = "ack"};
    crossed alice = {0}, bob = {0};
    cr_assert(eq(int, sim_chan_new(w, &one, &bob.theirs, &alice.mine), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &one, &alice.theirs, &bob.mine), SIM_OK));
    test_spawn(w, "alice", n1, crossed_poll, crossed_drop, &alice, sizeof alice);
    test_spawn(w, "bob", n2, crossed_poll, crossed_drop, &bob, sizeof bob);
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    const char *r = sim_world_report(w);
    cr_assert(ne(ptr, strstr(r, "deadlock at 0.000000s"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "2 task(s) waiting"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "alice"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "bob"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "recv on oneshot #1 'ack'; sender held by task 2 (bob)"), NULL),
              "%s", r);
    cr_assert(ne(ptr, strstr(r, "recv on oneshot #2 'ack'; sender held by task 1 (alice)"), NULL),
              "%s",
              r);
    cr_assert(ne(ptr, strstr(r, "replay:"), NULL), "%s", r);
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK)); /* a stopped run stays stopped */
    sim_world_free(w);
}

typedef struct napper {
    sim_co co;
    sim_sleep s;
} napper;

static int napper_poll(void *state, sim_world *w)
{
    napper *n = state;
    int rc = SIM_OK;
    SIM_BEGIN(&n->co);
    sim_sleep_init(w, &n->s, 5 * SIM_S);
    SIM_AWAIT(&n->co, rc, sim_sleep_poll(w, &n->s));
    SIM_END(&n->co, rc);
}

static void napper_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_sleep_drop(w, &((napper *)state)->s);
}

/* Goal: a virtual time limit gives a liveness report with what is pending. Method: a task
 * sleeping 5 s in a world limited to 2 s: SIM_ETIMELIMIT at exactly 2 s, report names the
 * task and "sleep until 5.000000s", and the replay hint given in the desc. */
Test(hang, time_limit_report)
{
    sim_world_desc d = {.seed = 1, .time_limit_ns = 2 * SIM_S,
                        .replay_hint = "sim replay --scenario x.ini --seed 1"};
    sim_world *w = test_world_desc(&d);
    napper n = {0};
    test_spawn(w, "napper", (sim_node_id){0}, napper_poll, napper_drop, &n, sizeof n);
    cr_assert(eq(int, sim_world_run(w), SIM_ETIMELIMIT));
    cr_assert(eq(u64, sim_now(w), 2 * SIM_S));
    const char *r = sim_world_report(w);
    cr_assert(ne(ptr, strstr(r, "time limit 2.000000s reached"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "napper"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "sleep until 5.000000s"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "replay: sim replay --scenario x.ini --seed 1"), NULL), "%s", r);
    sim_world_free(w);
}

typedef struct spinner {
    sim_co co;
    sim_yield y;
} spinner;

static int spinner_poll(void *state, sim_world *w)
{
    spinner *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    for (;;) SIM_AWAIT(&s->co, rc, sim_yield_poll(w, &s->y));
    SIM_END(&s->co, rc);
}

/* Goal: a task that keeps waking itself cannot hang the run: the step limit stops it with a
 * report. Method: an endless yield loop with step_limit 1000. */
Test(hang, step_limit_stops_a_livelock)
{
    sim_world_desc d = {.seed = 1, .step_limit = 1000};
    sim_world *w = test_world_desc(&d);
    spinner s = {0};
    test_spawn(w, "spinner", (sim_node_id){0}, spinner_poll, NULL, &s, sizeof s);
    cr_assert(eq(int, sim_world_run(w), SIM_ESTEPLIMIT));
    cr_assert(eq(u64, sim_world_step(w), 1000));
    const char *r = sim_world_report(w);
    cr_assert(ne(ptr, strstr(r, "step limit 1000 reached"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "spinner"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "runnable"), NULL), "%s", r);
    sim_world_free(w);
}

/* Goal: tasks that only wait forever as daemons do not make a deadlock, and a finished run has
 * an empty report. Method: a daemon awaiting a channel nobody sends on; sim_world_run returns
 * SIM_OK. */
Test(hang, daemons_waiting_forever_are_not_a_deadlock)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    sim_chan_desc one = {.kind = SIM_CHAN_ONESHOT, .msg_size = 8};
    crossed c = {0};
    sim_tx keep;
    cr_assert(eq(int, sim_chan_new(w, &one, &keep, &c.mine), SIM_OK));
    sim_task_desc d = {.name = "server", .poll = crossed_poll, .drop = crossed_drop,
                       .state = &c, .state_size = sizeof c, .daemon = true};
    cr_assert(eq(int, sim_spawn(w, &d, NULL), SIM_OK));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(str, (char *)sim_world_report(w), ""));
    sim_tx_drop(w, &keep);
    sim_world_free(w);
}
