/*
 * test_hang.c: hang diagnosis: deadlock, time limit and step limit reports, and what they say
 * a task awaits for each kind of future (the report's "awaits" column, from the waits the
 * primitives note), next to what sim_fut_describe says of the same future.
 */
#include "../helpers.h"

/* The line of a report that names task `name` (a column of its own), copied into buf; "" if
 * there is none. */
static const char *report_line(const char *report, const char *name, char *buf, size_t size)
{
    char key[64];
    snprintf(key, sizeof key, " %s ", name);
    const char *at = strstr(report, key);
    buf[0] = '\0';
    if (at == NULL) return buf;
    const char *start = at;
    while (start > report && start[-1] != '\n') start--;
    const char *end = strchr(at, '\n');
    size_t len = end ? (size_t)(end - start) : strlen(start);
    snprintf(buf, size, "%.*s", (int)len, start);
    return buf;
}

/* Two tasks, each owning the sender of the other's oneshot and awaiting its own. */
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
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_recv(&c->mine, &c->v));
    SIM_END(rc);
}

/* Goal: a deadlock (two tasks awaiting each other's oneshot) stops the run with
 * SIM_EDEADLOCK and a report naming both tasks, what each awaits and who holds the sender.
 * Method: alice awaits oneshot 1 whose sender bob owns, and the reverse (the handles move to
 * the tasks at spawn). */
Test(hang, deadlock_names_both_tasks_and_holders)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    sim_chan_desc one = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(uint64_t), .name = "ack"};
    crossed alice = {0}, bob = {0};
    cr_assert(eq(int, sim_chan_new(w, &one, &bob.theirs, &alice.mine), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &one, &alice.theirs, &bob.mine), SIM_OK));
    sim_task_desc da = {.name = "alice", .node = n1, .poll = crossed_poll, .state = &alice,
                        .state_size = sizeof alice,
                        .moves = SIM_MOVES(&alice.mine, &alice.theirs)};
    sim_task_desc db = {.name = "bob", .node = n2, .poll = crossed_poll, .state = &bob,
                        .state_size = sizeof bob, .moves = SIM_MOVES(&bob.mine, &bob.theirs)};
    cr_assert(eq(int, sim_spawn(w, &da, NULL), SIM_OK));
    cr_assert(eq(int, sim_spawn(w, &db, NULL), SIM_OK));
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    const char *r = sim_world_report(w);
    cr_assert(ne(ptr, strstr(r, "deadlock at 0.000000s"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "2 task(s) waiting"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "alice"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "bob"), NULL), "%s", r);
    cr_assert(ne(ptr, strstr(r, "recv on oneshot #1 'ack'; sender held by task 2 (bob)"), NULL),
              "%s", r);
    cr_assert(ne(ptr, strstr(r, "recv on oneshot #2 'ack'; sender held by task 1 (alice)"), NULL),
              "%s", r);
    cr_assert(ne(ptr, strstr(r, "replay:"), NULL), "%s", r);
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK)); /* a stopped run stays stopped */
    sim_world_free(w);
}

typedef struct napper {
    sim_co co;
} napper;

static int napper_poll(void *state, sim_world *w)
{
    napper *n = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &n->co);
    SIM_AWAIT(rc, sim_sleep(w, 5 * SIM_S));
    SIM_END(rc);
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
    test_spawn(w, "napper", (sim_node_id){0}, napper_poll, NULL, &n, sizeof n);
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
} spinner;

static int spinner_poll(void *state, sim_world *w)
{
    spinner *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    for (;;) {
        SIM_AWAIT(rc, sim_yield());
    }
    SIM_END(rc);
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
    sim_task_desc d = {.name = "server", .poll = crossed_poll, .state = &c, .state_size = sizeof c,
                       .daemon = true, .moves = SIM_MOVES(&c.mine)};
    cr_assert(eq(int, sim_spawn(w, &d, NULL), SIM_OK));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(str, (char *)sim_world_report(w), ""));
    sim_tx_drop(w, &keep);
    sim_world_free(w);
}

/* ---- what the report says each kind of future awaits ------------------------------------------
 * Seven tasks, each stuck on one kind of future when a 2 s time limit stops the run. Each
 * publishes the address of its state (which begins with its sim_co) so that the test can ask
 * sim_fut_describe about the future it awaits (co.cur) after the stop. */

typedef struct sleeper_st {
    sim_co co;
    sim_co **self;
} sleeper_st;

static int sleeper_poll(void *state, sim_world *w)
{
    sleeper_st *s = state;
    int rc = SIM_OK;
    *s->self = &s->co;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, 5 * SIM_S));
    SIM_END(rc);
}

/* Owns the senders and a token clone; takes the mutex at 100 ms and keeps it. */
typedef struct holder_st {
    sim_co co;
    sim_co **self;
    sim_tx jobs;
    sim_tx acks;
    sim_token tok;
    const sim_mutex *m;
} holder_st;

static int holder_poll(void *state, sim_world *w)
{
    holder_st *h = state;
    int rc = SIM_OK;
    *h->self = &h->co;
    SIM_BEGIN(w, &h->co);
    SIM_TRY(sim_sleep(w, 100 * SIM_MS));
    SIM_TRY(sim_lock(h->m));
    SIM_AWAIT(rc, sim_sleep(w, 10 * SIM_S));
    SIM_END(rc);
}

typedef struct timeouter_st {
    sim_co co;
    sim_co **self;
    sim_rx jobs;
    uint64_t msg;
} timeouter_st;

static int timeouter_poll(void *state, sim_world *w)
{
    timeouter_st *t = state;
    int rc = SIM_OK;
    *t->self = &t->co;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_timeout(w, 10 * SIM_S, sim_recv(&t->jobs, &t->msg)));
    SIM_END(rc);
}

typedef struct selector_st {
    sim_co co;
    sim_co **self;
    sim_rx acks;
    sim_token tok;
    uint64_t msg;
    int which;
} selector_st;

static int selector_poll(void *state, sim_world *w)
{
    selector_st *s = state;
    int rc = SIM_OK;
    *s->self = &s->co;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_select(w, &s->which, sim_recv(&s->acks, &s->msg), sim_cancelled(&s->tok)));
    SIM_END(rc);
}

typedef struct nap7 {
    sim_co co;
} nap7;

static int nap7_poll(void *state, sim_world *w)
{
    nap7 *n = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &n->co);
    SIM_AWAIT(rc, sim_sleep(w, 7 * SIM_S));
    SIM_END(rc);
}

typedef struct caller_st {
    sim_co co;
    sim_co **self;
    nap7 sub;
} caller_st;

static int caller_poll(void *state, sim_world *w)
{
    caller_st *c = state;
    int rc = SIM_OK;
    *c->self = &c->co;
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_call(&c->sub, nap7_poll));
    SIM_END(rc);
}

typedef struct joiner_st {
    sim_co co;
    sim_co **self;
    sim_join target;
} joiner_st;

static int joiner_poll(void *state, sim_world *w)
{
    joiner_st *j = state;
    int rc = SIM_OK;
    *j->self = &j->co;
    SIM_BEGIN(w, &j->co);
    SIM_AWAIT(rc, sim_join_wait(&j->target));
    SIM_END(rc);
}

typedef struct locker_st {
    sim_co co;
    sim_co **self;
    const sim_mutex *m;
} locker_st;

static int locker_poll(void *state, sim_world *w)
{
    locker_st *l = state;
    int rc = SIM_OK;
    *l->self = &l->co;
    SIM_BEGIN(w, &l->co);
    SIM_TRY(sim_sleep(w, 200 * SIM_MS));
    SIM_AWAIT(rc, sim_lock(l->m));
    SIM_END(rc);
}

enum { K_SLEEPER, K_HOLDER, K_TIMEOUTER, K_SELECTOR, K_CALLER, K_JOINER, K_LOCKER, K_N };

typedef struct zoo {
    sim_world *w;
    sim_mutex m;
    sim_co *co[K_N];   /* each task's coroutine, published at its first poll */
} zoo;

/* The seven tasks, in this order (task ids 1..7), with the objects they await: mpsc 'jobs'
 * (#1), mpsc 'acks' (#2), a token (#3) and the mutex 'books' (#4). */
static void zoo_spawn(zoo *z)
{
    sim_world *w = z->w;
    sim_chan_desc jobs = {.kind = SIM_CHAN_MPSC, .msg_size = 8, .name = "jobs"};
    sim_chan_desc acks = {.kind = SIM_CHAN_MPSC, .msg_size = 8, .name = "acks"};
    holder_st h = {.self = &z->co[K_HOLDER], .m = &z->m};
    timeouter_st t = {.self = &z->co[K_TIMEOUTER]};
    selector_st s = {.self = &z->co[K_SELECTOR]};
    cr_assert(eq(int, sim_chan_new(w, &jobs, &h.jobs, &t.jobs), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &acks, &h.acks, &s.acks), SIM_OK));
    cr_assert(eq(int, sim_token_new(w, NULL, &s.tok), SIM_OK));
    cr_assert(eq(int, sim_token_clone(w, &s.tok, &h.tok), SIM_OK));
    cr_assert(eq(int, sim_mutex_new(w, "books", &z->m), SIM_OK));

    sleeper_st sl = {.self = &z->co[K_SLEEPER]};
    const sim_node_id none = {0}; /* world-level tasks */
    sim_join sj = test_spawn_moves(w, "sleeper", none, sleeper_poll, &sl, sizeof sl, NULL);
    test_spawn_moves(w, "holder", none, holder_poll, &h, sizeof h,
                     SIM_MOVES(&h.jobs, &h.acks, &h.tok));
    test_spawn_moves(w, "timeouter", none, timeouter_poll, &t, sizeof t, SIM_MOVES(&t.jobs));
    test_spawn_moves(w, "selector", none, selector_poll, &s, sizeof s,
                     SIM_MOVES(&s.acks, &s.tok));
    caller_st c = {.self = &z->co[K_CALLER]};
    test_spawn_moves(w, "caller", none, caller_poll, &c, sizeof c, NULL);
    joiner_st j = {.self = &z->co[K_JOINER], .target = sj};
    test_spawn_moves(w, "joiner", none, joiner_poll, &j, sizeof j, SIM_MOVES(&j.target));
    locker_st l = {.self = &z->co[K_LOCKER], .m = &z->m};
    test_spawn_moves(w, "locker", none, locker_poll, &l, sizeof l, NULL);
}

static const char *const zoo_names[K_N] = {"sleeper", "holder", "timeouter", "selector",
                                           "caller",  "joiner", "locker"};

/* What the report's "awaits" column says of each (every word must be in the task's line). */
static const char *const zoo_awaits[K_N][4] = {
    {"blocked", "sleep until 5.000000s"},
    {"sleep until 10.100000s"},
    {"recv on mpsc #1 'jobs'; sender held by task 2 (holder)", "  |  ",
     "sleep until 10.000000s"},
    {"recv on mpsc #2 'acks'; sender held by task 2 (holder)", "  |  ",
     "cancellation of token #3; can be cancelled by ", "task 2 (holder)"},
    {"sleep until 7.000000s"},
    {"join of task 1 (sleeper)"},
    {"0.200000s", "lock of mutex #4 books; held by task 2 (holder) since 0.100000s"},
};

/* What sim_fut_describe says of the future each one awaits. */
static const char *const zoo_describe[K_N] = {
    "sleep until 5.000000s",
    "sleep until 10.100000s",
    "recv on mpsc #1 jobs, with a timeout at 10.000000s",
    "select of recv on mpsc #2 acks, cancellation of token #3",
    "a sub-coroutine, awaiting sleep until 7.000000s",
    "join of task 1 (sleeper)",
    "lock of mutex #4 books",
};

/* Goal: the hang report says, for each kind of future a task can be stuck on, what it awaits
 * and who could end the wait: a sleep its deadline; a timeout around a receive both the
 * channel (with the sender's owner) and the timeout's deadline; a select each branch; a
 * sub-coroutine awaited with sim_call what the sub-coroutine awaits; a join the task joined;
 * a lock the mutex's holder and since when. sim_world_dump shows the same lines, and
 * sim_fut_describe describes each future as a whole (the combinators by their branches).
 * Method: the seven tasks above under a 2 s time limit. */
Test(hang, report_says_what_each_kind_of_future_awaits)
{
    sim_world_desc d = {.seed = 8, .time_limit_ns = 2 * SIM_S};
    zoo z = {.w = test_world_desc(&d)};
    zoo_spawn(&z);
    cr_assert(eq(int, sim_world_run(z.w), SIM_ETIMELIMIT));
    const char *r = sim_world_report(z.w);
    cr_assert(ne(ptr, strstr(r, "with 7 task(s) unfinished"), NULL), "%s", r);
    char line[512];
    for (uint32_t k = 0; k < K_N; k++) {
        report_line(r, zoo_names[k], line, sizeof line);
        cr_assert(ne(str, line, ""), "no line for %s in:\n%s", zoo_names[k], r);
        for (uint32_t i = 0; i < 4 && zoo_awaits[k][i] != NULL; i++) {
            cr_assert(ne(ptr, strstr(line, zoo_awaits[k][i]), NULL),
                      "%s: '%s' is not in:\n%s\nreport:\n%s", zoo_names[k], zoo_awaits[k][i],
                      line, r);
        }
    }
    char report_copy[4096];
    snprintf(report_copy, sizeof report_copy, "%s", r);
    const char *dump = sim_world_dump(z.w);
    for (uint32_t k = 0; k < K_N; k++) {
        char in_dump[512];
        report_line(report_copy, zoo_names[k], line, sizeof line);
        report_line(dump, zoo_names[k], in_dump, sizeof in_dump);
        cr_assert(eq(str, in_dump, line), "%s", zoo_names[k]);
    }
    for (uint32_t k = 0; k < K_N; k++) {
        char text[256];
        cr_assert(ne(ptr, z.co[k], NULL), "%s never ran", zoo_names[k]);
        cr_assert(ne(ptr, z.co[k]->cur, NULL), "%s awaits nothing", zoo_names[k]);
        sim_fut_describe(z.co[k]->cur, z.w, text, sizeof text);
        cr_assert(eq(str, text, (char *)zoo_describe[k]), "%s", zoo_names[k]);
    }
    cr_assert(eq(u32, sim_world_violation_count(z.w), 0));
    sim_world_free(z.w);
}

#define WIDE 8

_Static_assert(WIDE == SIM_SELECT_MAX, "the test is of a select of the most branches allowed");

typedef struct wide {
    sim_co co;
    sim_rx rx[WIDE];
    uint64_t msg;
    int which;
} wide;

static int wide_poll(void *state, sim_world *w)
{
    wide *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_timeout(w, 9 * SIM_S,
                              sim_select(w, &s->which, sim_recv(&s->rx[0], &s->msg),
                                         sim_recv(&s->rx[1], &s->msg),
                                         sim_recv(&s->rx[2], &s->msg),
                                         sim_recv(&s->rx[3], &s->msg),
                                         sim_recv(&s->rx[4], &s->msg),
                                         sim_recv(&s->rx[5], &s->msg),
                                         sim_recv(&s->rx[6], &s->msg),
                                         sim_recv(&s->rx[7], &s->msg))));
    SIM_END(rc);
}

/* Goal: a select of the most branches allowed (SIM_SELECT_MAX), under a timeout, is reported
 * whole: every branch and the deadline, none silently left out (the report kept three waits
 * per task and dropped the rest without a word; it now adds the whole future's description,
 * which a 160-byte buffer in the timeout's used to cut short). Method: one task awaits eight
 * receives on channels with long names and a 9 s timeout; a 1 s time limit stops the run. */
Test(hang, report_lists_every_branch_of_a_wide_select)
{
    sim_world_desc d = {.seed = 9, .time_limit_ns = SIM_S};
    sim_world *w = test_world_desc(&d);
    wide s = {0};
    sim_tx tx[WIDE];
    for (uint32_t i = 0; i < WIDE; i++) {
        sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = 8, .name = "replication-acks"};
        cr_assert(eq(int, sim_chan_new(w, &cd, &tx[i], &s.rx[i]), SIM_OK));
    }
    test_spawn_moves(w, "wide", (sim_node_id){0}, wide_poll, &s, sizeof s,
                     SIM_MOVES(&s.rx[0], &s.rx[1], &s.rx[2], &s.rx[3], &s.rx[4], &s.rx[5],
                               &s.rx[6], &s.rx[7]));
    cr_assert(eq(int, sim_world_run(w), SIM_ETIMELIMIT));
    const char *r = sim_world_report(w);
    char line[2048];
    report_line(r, "wide", line, sizeof line);
    for (uint32_t i = 1; i <= WIDE; i++) {
        char want[32];
        snprintf(want, sizeof want, "recv on mpsc #%u", i);
        cr_assert(ne(ptr, strstr(line, want), NULL), "'%s' is not in:\n%s", want, line);
    }
    cr_assert(ne(ptr, strstr(line, "9.000000s"), NULL), "the deadline is not in:\n%s", line);
    cr_assert(ne(ptr, strstr(line, "sender held by the world"), NULL), "%s", line); /* test's */
    sim_world_free(w);
}

typedef struct gatherer {
    sim_co co;
    sim_rx rx;
    uint64_t msg;
    int results[2];
    sim_co **self;
} gatherer;

static int gatherer_poll(void *state, sim_world *w)
{
    gatherer *g = state;
    int rc = SIM_OK;
    *g->self = &g->co;
    SIM_BEGIN(w, &g->co);
    SIM_AWAIT(rc, sim_join_all(w, g->results, sim_sleep(w, 0), sim_recv(&g->rx, &g->msg)));
    SIM_END(rc);
}

/* Goal: a join_all describes the branches it still waits for, and only those: "join_all of
 * recv on mpsc #1", not "join_all of, recv ..." once its first branch has completed. Method:
 * a join_all of a sleep of 0 (done on the first poll) and a receive nobody sends to. */
Test(hang, join_all_describes_its_pending_branches)
{
    sim_world *w = test_world(10, SIM_SCHED_FIFO);
    sim_co *co = NULL;
    gatherer g = {.self = &co};
    sim_tx tx;
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = 8};
    cr_assert(eq(int, sim_chan_new(w, &cd, &tx, &g.rx), SIM_OK));
    test_spawn_moves(w, "gatherer", (sim_node_id){0}, gatherer_poll, &g, sizeof g,
                     SIM_MOVES(&g.rx));
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    cr_assert(ne(ptr, co, NULL));
    char text[256];
    sim_fut_describe(co->cur, w, text, sizeof text);
    cr_assert(eq(str, text, "join_all of recv on mpsc #1"));
    sim_world_free(w);
}

/* ---- "since": the start of the current wait ------------------------------------------------ */

typedef struct server_st {
    sim_co co;
    sim_rx jobs;
    uint64_t msg;
} server_st;

/* Receives jobs for ever. */
static int server_poll(void *state, sim_world *w)
{
    server_st *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    for (;;) {
        SIM_AWAIT(rc, sim_recv(&s->jobs, &s->msg));
        if (rc != SIM_OK) break;
    }
    SIM_END(rc);
}

typedef struct client_st {
    sim_co co;
    sim_tx jobs;
    sim_rx never;    /* its sender is held by nobody who sends */
    sim_tx never_tx;
    uint64_t k, v;
} client_st;

/* Sends a job at 1 s and at 2 s, then awaits a reply nobody sends, holding the jobs sender. */
static int client_poll(void *state, sim_world *w)
{
    client_st *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    for (c->k = 1; c->k <= 2; c->k++) {
        SIM_TRY(sim_sleep(w, SIM_S));
        SIM_AWAIT(rc, sim_send(&c->jobs, &c->k));
        if (rc != SIM_OK) break;
    }
    SIM_AWAIT(rc, sim_recv(&c->never, &c->v));
    SIM_END(rc);
}

/* Goal: the hang report's "since" is when a task's current wait began, not its first wait: a
 * server that received a job at 2 s and waits on the same channel again has waited since
 * 2 s. Before, the same wait noted again after a real wake kept the first one's time, and the
 * report said 0.000000s. Method: a server looping on recv, a client sending at 1 s and 2 s and
 * then stuck on a oneshot, holding the sender: a deadlock at 2 s. */
Test(hang, since_is_the_start_of_the_current_wait)
{
    sim_world *w = test_world(3, SIM_SCHED_FIFO);
    sim_chan_desc jobs = {.kind = SIM_CHAN_MPSC, .msg_size = 8, .name = "jobs"};
    sim_chan_desc one = {.kind = SIM_CHAN_ONESHOT, .msg_size = 8, .name = "reply"};
    server_st s = {0};
    client_st c = {0};
    cr_assert(eq(int, sim_chan_new(w, &jobs, &c.jobs, &s.jobs), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &one, &c.never_tx, &c.never), SIM_OK));
    const sim_node_id none = {0};
    test_spawn_moves(w, "server", none, server_poll, &s, sizeof s, SIM_MOVES(&s.jobs));
    test_spawn_moves(w, "client", none, client_poll, &c, sizeof c,
                     SIM_MOVES(&c.jobs, &c.never, &c.never_tx));
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    const char *r = sim_world_report(w);
    char line[512];
    report_line(r, "server", line, sizeof line);
    cr_assert(ne(ptr, strstr(line, "2.000000s"), NULL), "%s\nreport:\n%s", line, r);
    cr_assert(ne(ptr, strstr(line, "recv on mpsc"), NULL), "%s", line);
    sim_world_free(w);
}
