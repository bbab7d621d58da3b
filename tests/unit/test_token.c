/*
 * test_token.c: hierarchical cancellation tokens, through sim.h: propagation to descendants
 * only, children of cancelled parents, waking every waiter, idempotence, handle refcounting
 * and wait ops dropped before the cancel.
 */
#include "../helpers.h"

static const sim_node_id NO_NODE = {0};

static sim_token new_token(sim_world *w, const sim_token *parent)
{
    sim_token t;
    cr_assert(eq(int, sim_token_new(w, parent, &t), SIM_OK));
    return t;
}

/* What a waiter saw. */
typedef struct wait_out {
    int rc;            /* SIM_PENDING until the wait completed */
    uint64_t at;       /* virtual time of completion */
    uint32_t polls;    /* polls of the waiting task */
    bool dropped;      /* the task was dropped */
} wait_out;

/* ---- a waiting task ------------------------------------------------------------------------- */

/* Holds its own token handle (moved to it) and awaits its cancellation. */
typedef struct waiter {
    sim_co co;
    sim_token tok;
    wait_out *out;
} waiter;

static int waiter_poll(void *state, sim_world *w)
{
    waiter *s = state;
    int rc = SIM_OK;
    s->out->polls++;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_cancelled(&s->tok));
    s->out->rc = rc;
    s->out->at = sim_now(w);
    SIM_END(rc);
}

/* Only records that the task ended: the token is released with the task. */
static void waiter_drop(void *state, sim_world *w)
{
    waiter *s = state;
    (void)w;
    s->out->dropped = true;
}

/* Spawns a waiter holding a clone of tok. */
static sim_join spawn_waiter(sim_world *w, const sim_token *tok, wait_out *out, bool daemon)
{
    out->rc = SIM_PENDING;
    waiter s = {.out = out};
    cr_assert(eq(int, sim_token_clone(w, tok, &s.tok), SIM_OK));
    sim_task_desc d = {.name = "waiter", .poll = waiter_poll, .drop = waiter_drop, .state = &s,
                       .state_size = sizeof s, .daemon = daemon, .moves = SIM_MOVES(&s.tok)};
    sim_join j;
    cr_assert(eq(int, sim_spawn(w, &d, &j), SIM_OK));
    return j;
}

/* ---- a cancelling task ---------------------------------------------------------------------- */

/* Sleeps until `at`, then cancels its token `times` times in one poll. */
typedef struct canceller {
    sim_co co;
    sim_token tok;
    uint64_t at;
    uint32_t times;
    uint32_t i;
} canceller;

static int canceller_poll(void *state, sim_world *w)
{
    canceller *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_sleep_until(c->at));
    for (c->i = 0; c->i < c->times; c->i++) sim_token_cancel(w, &c->tok);
    SIM_END(SIM_OK);
}

static void spawn_canceller(sim_world *w, const sim_token *tok, uint64_t at, uint32_t times)
{
    canceller c = {.at = at, .times = times};
    cr_assert(eq(int, sim_token_clone(w, tok, &c.tok), SIM_OK));
    test_spawn_moves(w, "canceller", NO_NODE, canceller_poll, &c, sizeof c, SIM_MOVES(&c.tok));
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Goal: cancelling a token cancels its children and grandchildren, never its parent or its
 * siblings.
 * Method: root -> {a -> {a1 -> a1x, a2}, b}; cancel a: a, a1, a1x, a2 are cancelled, root and
 * b are not; then cancel root: everything is. All handles are dropped at the end and every
 * token is freed. */
Test(token, cancel_reaches_descendants_not_ancestors)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sim_token root = new_token(w, NULL);
    sim_token a = new_token(w, &root);
    sim_token b = new_token(w, &root);
    sim_token a1 = new_token(w, &a);
    sim_token a2 = new_token(w, &a);
    sim_token a1x = new_token(w, &a1);
    sim_token *all[6] = {&root, &a, &b, &a1, &a2, &a1x};
    for (int i = 0; i < 6; i++) cr_assert(not(sim_token_is_cancelled(w, all[i])), "token %d", i);
    sim_token_cancel(w, &a);
    cr_assert(sim_token_is_cancelled(w, &a));
    cr_assert(sim_token_is_cancelled(w, &a1));
    cr_assert(sim_token_is_cancelled(w, &a2));
    cr_assert(sim_token_is_cancelled(w, &a1x));
    cr_assert(not(sim_token_is_cancelled(w, &root)));
    cr_assert(not(sim_token_is_cancelled(w, &b)));
    sim_token_cancel(w, &root);
    for (int i = 0; i < 6; i++) cr_assert(sim_token_is_cancelled(w, all[i]), "token %d", i);
    cr_assert(eq(u32, test_objects_live(w), 6));
    for (int i = 0; i < 6; i++) sim_token_drop(w, all[i]);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: cancelling a leaf or a middle token leaves the rest of the tree alone.
 * Method: root -> mid -> leaf; cancel leaf: only leaf; cancel mid: mid and leaf, never root. */
Test(token, cancel_never_goes_up)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    sim_token root = new_token(w, NULL);
    sim_token mid = new_token(w, &root);
    sim_token leaf = new_token(w, &mid);
    sim_token_cancel(w, &leaf);
    cr_assert(sim_token_is_cancelled(w, &leaf));
    cr_assert(not(sim_token_is_cancelled(w, &mid)));
    cr_assert(not(sim_token_is_cancelled(w, &root)));
    sim_token_cancel(w, &mid);
    cr_assert(sim_token_is_cancelled(w, &mid));
    cr_assert(not(sim_token_is_cancelled(w, &root)));
    sim_token_drop(w, &leaf);
    sim_token_drop(w, &mid);
    sim_token_drop(w, &root);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a child created from a cancelled parent starts cancelled, and waiting on it completes
 * at once.
 * Method: cancel p, create c (and a grandchild g of c): both are cancelled; a task awaiting c
 * completes with SIM_OK at t=0 in its first poll. */
Test(token, child_of_cancelled_parent_starts_cancelled)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    sim_token p = new_token(w, NULL);
    sim_token_cancel(w, &p);
    sim_token c = new_token(w, &p);
    sim_token g = new_token(w, &c);
    cr_assert(sim_token_is_cancelled(w, &c));
    cr_assert(sim_token_is_cancelled(w, &g));
    wait_out o = {0};
    sim_join j = spawn_waiter(w, &c, &o, false);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(u64, o.at, 0));
    cr_assert(eq(u32, o.polls, 1));
    sim_token_drop(w, &g);
    sim_token_drop(w, &c);
    sim_token_drop(w, &p);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: one cancel wakes every task waiting on the token and on its descendants, and nobody
 * else.
 * Method: three waiters on token t, one on a child of t, one (a daemon) on an unrelated token;
 * a task cancels t at 5ms: the four complete with SIM_OK at exactly 5ms after two polls each;
 * the unrelated waiter is never woken (one poll, still pending, dropped with the world). */
Test(token, one_cancel_wakes_every_waiter)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    sim_token t = new_token(w, NULL);
    sim_token child = new_token(w, &t);
    sim_token other = new_token(w, NULL);
    wait_out o[4] = {{0}}, lone = {0};
    sim_join j[4];
    for (int i = 0; i < 3; i++) j[i] = spawn_waiter(w, &t, &o[i], false);
    j[3] = spawn_waiter(w, &child, &o[3], false);
    sim_join jl = spawn_waiter(w, &other, &lone, true);
    spawn_canceller(w, &t, 5 * SIM_MS, 1);
    test_run_ok(w);
    for (int i = 0; i < 4; i++) {
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j[i])), SIM_OK), "waiter %d", i);
        cr_assert(eq(int, o[i].rc, SIM_OK), "waiter %d", i);
        cr_assert(eq(u64, o[i].at, 5 * SIM_MS), "waiter %d", i);
        cr_assert(eq(u32, o[i].polls, 2), "waiter %d", i);
    }
    cr_assert(eq(int, lone.rc, SIM_PENDING));
    cr_assert(eq(u32, lone.polls, 1));
    cr_assert(not(sim_token_is_cancelled(w, &other)));
    sim_join_detach(w, &jl);
    sim_token_drop(w, &t);
    sim_token_drop(w, &child);
    sim_token_drop(w, &other);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
    cr_assert(lone.dropped);
}

/* Runs one waiter and a canceller that cancels `times` times at 5ms; returns the stats. */
static void idempotent_scenario(uint32_t times, wait_out *o, sim_stats *st, bool *cancelled)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    sim_token t = new_token(w, NULL);
    sim_token child = new_token(w, &t);
    spawn_waiter(w, &t, o, false);
    spawn_canceller(w, &t, 5 * SIM_MS, times);
    test_run_ok(w);
    sim_token_cancel(w, &t); /* once more from outside, after the run */
    *cancelled = sim_token_is_cancelled(w, &t) && sim_token_is_cancelled(w, &child);
    sim_world_stats(w, st);
    sim_token_drop(w, &child);
    sim_token_drop(w, &t);
    sim_world_free(w);
}

/* Goal: cancel is idempotent: cancelling again changes nothing (no extra wake-up, no
 * violation, the token stays cancelled).
 * Method: the same world with a canceller that cancels once and one that cancels three times
 * in a row (plus once more after the run): the waiter completes at 5ms after two polls in
 * both, and wake-ups, steps and violations (0) are equal. */
Test(token, cancel_is_idempotent)
{
    wait_out once = {0}, thrice = {0};
    sim_stats s1, s3;
    bool c1 = false, c3 = false;
    idempotent_scenario(1, &once, &s1, &c1);
    idempotent_scenario(3, &thrice, &s3, &c3);
    cr_assert(c1);
    cr_assert(c3);
    cr_assert(eq(int, once.rc, SIM_OK));
    cr_assert(eq(int, thrice.rc, SIM_OK));
    cr_assert(eq(u64, thrice.at, 5 * SIM_MS));
    cr_assert(eq(u32, once.polls, 2));
    cr_assert(eq(u32, thrice.polls, 2));
    cr_assert(eq(u64, s1.wakes, s3.wakes));
    cr_assert(eq(u64, s1.steps, s3.steps));
    cr_assert(eq(u32, s1.violations, 0));
    cr_assert(eq(u32, s3.violations, 0));
}

/* Goal: token handles are refcounted: the token stays usable while one handle lives, and goes
 * away with the last one.
 * Method: t, clone t2, child c of t; drop t: t2 still works (not cancelled, can make a child,
 * a task waiting on t2 is woken by cancelling t2, and the cancel reaches c); dropping t2 keeps
 * the token in the tree while its children live, and the object count drops to 0 only when
 * the children are dropped too. A copy of t kept after all drops is stale: cancelling through
 * it is misuse. */
Test(token, clone_and_drop_refcount)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    sim_token t = new_token(w, NULL);
    sim_token stale = t;
    sim_token t2;
    cr_assert(eq(int, sim_token_clone(w, &t, &t2), SIM_OK));
    sim_token c = new_token(w, &t);
    cr_assert(eq(u32, test_objects_live(w), 2));
    sim_token_drop(w, &t);
    cr_assert(eq(u32, test_objects_live(w), 2)); /* t2 keeps it */
    cr_assert(not(sim_token_is_cancelled(w, &t2)));
    sim_token c2 = new_token(w, &t2);
    wait_out o = {0};
    sim_join j = spawn_waiter(w, &t2, &o, false);
    spawn_canceller(w, &t2, 3 * SIM_MS, 1);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(u64, o.at, 3 * SIM_MS));
    test_run_ok(w);
    cr_assert(sim_token_is_cancelled(w, &t2));
    cr_assert(sim_token_is_cancelled(w, &c));
    cr_assert(sim_token_is_cancelled(w, &c2));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, test_objects_live(w), 3));
    sim_token_drop(w, &t2);
    cr_assert(eq(u32, test_objects_live(w), 3)); /* kept for its children c and c2 */
    sim_token_drop(w, &c);
    cr_assert(eq(u32, test_objects_live(w), 2)); /* t, still a parent of c2, and c2 */
    sim_token_drop(w, &c2);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_token_cancel(w, &stale);
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    cr_assert(not(sim_token_is_cancelled(w, &stale)));
    sim_world_free(w);
}

/* Goal: an empty parent is misuse.
 * Method: sim_token_new with a zeroed parent handle: SIM_EMISUSE, a misuse violation, an
 * empty out handle and no object. */
Test(token, new_with_empty_parent_is_misuse)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    sim_token empty = {0};
    sim_token out;
    memset(&out, 0xFF, sizeof out);
    cr_assert(eq(int, sim_token_new(w, &empty, &out), SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    cr_assert(eq(int, memcmp(&out, &empty, sizeof out), 0));
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* ---- wait ops dropped before the cancel ------------------------------------------------------ */

/* Selects a token wait against a short sleep: the sleep wins, so the wait is dropped as a
 * select loser, long before the cancel. */
typedef struct quitter {
    sim_co co;
    sim_token tok;
    wait_out *out;
    int *winner;
} quitter;

static int quitter_poll(void *state, sim_world *w)
{
    quitter *q = state;
    int rc = SIM_OK;
    q->out->polls++;
    SIM_BEGIN(w, &q->co);
    SIM_AWAIT(rc, sim_select(w, q->winner, sim_cancelled(&q->tok), sim_sleep(w, 1 * SIM_MS)));
    q->out->rc = rc;
    q->out->at = sim_now(w);
    SIM_END(rc);
}

/* Registers a wait (one pending poll by hand), drops it by hand, then sleeps past the cancel.
 * A registration left behind would wake it at the cancel: an extra poll. */
typedef struct dropper {
    sim_co co;
    sim_token tok;
    wait_out *out;
    int *first_rc_out;
    sim_cancelled_op op;
} dropper;

static int dropper_poll(void *state, sim_world *w)
{
    dropper *d = state;
    int rc = SIM_OK;
    d->out->polls++;
    SIM_BEGIN(w, &d->co);
    d->op = sim_cancelled(&d->tok);
    *d->first_rc_out = sim_fut_poll(w, &d->op.fut);
    sim_fut_drop(w, &d->op.fut);
    SIM_AWAIT(rc, sim_sleep_until(10 * SIM_MS));
    d->out->rc = rc;
    d->out->at = sim_now(w);
    SIM_END(rc);
}

/* Goal: a wait op dropped before the cancel leaves no registration: no leak violation, no
 * wake-up of its task, and the other waiters are still woken.
 * Method: Q selects a wait against a 1ms sleep (the wait is dropped as a loser at 1ms); D
 * polls a wait by hand once, drops it by hand and sleeps until 10ms; W waits normally; the token is
 * cancelled at 5ms. W completes at 5ms; Q finished at 1ms with winner 1; D is polled exactly
 * twice (never woken at 5ms) and finishes at 10ms; no violation of any kind. */
Test(token, wait_dropped_before_cancel_leaves_no_registration)
{
    sim_world *w = test_world(8, SIM_SCHED_RANDOM);
    sim_token t = new_token(w, NULL);
    wait_out qo = {.rc = SIM_PENDING}, dout = {.rc = SIM_PENDING}, wo = {0};
    int winner = -2;
    int first_rc = 0;
    quitter q = {.out = &qo, .winner = &winner};
    dropper d = {.out = &dout, .first_rc_out = &first_rc};
    cr_assert(eq(int, sim_token_clone(w, &t, &q.tok), SIM_OK));
    cr_assert(eq(int, sim_token_clone(w, &t, &d.tok), SIM_OK));
    test_spawn_moves(w, "quitter", NO_NODE, quitter_poll, &q, sizeof q, SIM_MOVES(&q.tok));
    test_spawn_moves(w, "dropper", NO_NODE, dropper_poll, &d, sizeof d, SIM_MOVES(&d.tok));
    sim_join jw = spawn_waiter(w, &t, &wo, false);
    spawn_canceller(w, &t, 5 * SIM_MS, 1);
    test_run_ok(w);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jw)), SIM_OK));
    cr_assert(eq(int, wo.rc, SIM_OK));
    cr_assert(eq(u64, wo.at, 5 * SIM_MS));
    cr_assert(eq(int, winner, 1));
    cr_assert(eq(int, qo.rc, SIM_OK));
    cr_assert(eq(u64, qo.at, 1 * SIM_MS));
    cr_assert(eq(int, first_rc, SIM_PENDING));
    cr_assert(eq(int, dout.rc, SIM_OK));
    cr_assert(eq(u64, dout.at, 10 * SIM_MS));
    cr_assert(eq(u32, dout.polls, 2));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_token_drop(w, &t);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: cancelling a token reaches its grandchildren even when the middle token's handles have
 * all been dropped ("cancelling a token cancels its children (and theirs)").
 * Method: root -> mid -> leaf; drop mid (leaf is still alive); cancel root: leaf must be
 * cancelled, and a task waiting on leaf must be woken. */
Test(token, cancel_reaches_grandchild_after_middle_dropped, .timeout = 10)
{
    sim_world *w = test_world(9, SIM_SCHED_RANDOM);
    sim_token root = new_token(w, NULL);
    sim_token mid = new_token(w, &root);
    sim_token leaf = new_token(w, &mid);
    sim_token_drop(w, &mid);
    wait_out o = {0};
    sim_join j = spawn_waiter(w, &leaf, &o, true);
    spawn_canceller(w, &root, 2 * SIM_MS, 1);
    test_run_ok(w);
    bool root_cancelled = sim_token_is_cancelled(w, &root);
    bool leaf_cancelled = sim_token_is_cancelled(w, &leaf);
    sim_join_detach(w, &j);
    sim_token_drop(w, &leaf);
    sim_token_drop(w, &root);
    sim_world_free(w);
    cr_assert(root_cancelled);
    cr_assert(leaf_cancelled, "the grandchild was not cancelled");
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(u64, o.at, 2 * SIM_MS));
}
