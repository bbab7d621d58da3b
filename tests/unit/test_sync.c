/*
 * test_sync.c: mutexes, semaphores, notifies and task sets, through sim.h: FIFO fairness,
 * the non-waiting variants, misuse (unlock or release by a non-holder, relocking), what a
 * holder's end releases (finished, aborted, crashed), turns passed on by a waiter that is
 * dropped while owed one, cancellation while waiting (select, timeout), the hang report, and
 * task sets: completion order, SIM_EEMPTY, abort_all, and members aborted when the set is
 * dropped or its owner ends.
 *
 * Every scenario that depends on scheduling runs under several seeds of the random strategy:
 * fairness must not depend on which runnable task goes first.
 */
#include "../helpers.h"

static const sim_node_id NO_NODE = {0};

#define FOREVER UINT64_MAX
#define LOG_MAX 16

/* Who got what, when, in order. */
typedef struct glog {
    uint32_t n;
    uint32_t who[LOG_MAX];
    int rc[LOG_MAX];
    uint64_t at[LOG_MAX];
} glog;

static void glog_add(glog *l, const sim_world *w, uint32_t who, int rc)
{
    cr_assert(lt(u32, l->n, LOG_MAX));
    l->who[l->n] = who;
    l->rc[l->n] = rc;
    l->at[l->n] = sim_now(w);
    l->n++;
}

static void glog_expect(const glog *l, uint32_t i, uint32_t who, int rc, uint64_t at)
{
    cr_assert(lt(u32, i, l->n), "entry %u missing (log has %u)", i, l->n);
    cr_assert(eq(u32, l->who[i], who), "entry %u", i);
    cr_assert(eq(str, (char *)sim_result_name(l->rc[i]), (char *)sim_result_name(rc)),
              "entry %u", i);
    cr_assert(eq(u64, l->at[i], at), "entry %u", i);
}

static int join_rc(sim_world *w, sim_join *j)
{
    return sim_block_on(w, sim_join_wait(j));
}

/* ---- mutex: a locking task ----------------------------------------------------------------- */

/* At start_ns locks m (with a timeout when timeout_ns > 0, or in a select against a sleep of
 * select_ns), logs the result, holds it hold_ns (FOREVER: until its end) and unlocks it
 * unless `keep`. */
typedef struct locker {
    sim_co co;
    const sim_mutex *m;
    uint32_t who;
    uint64_t start_ns;
    uint64_t hold_ns;
    uint64_t timeout_ns;
    uint64_t select_ns;
    bool keep;
    glog *log;
    int which;
} locker;

static int locker_poll(void *state, sim_world *w)
{
    locker *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    SIM_AWAIT(rc, sim_sleep_until(l->start_ns));
    if (l->timeout_ns > 0) {
        SIM_AWAIT(rc, sim_timeout(w, l->timeout_ns, sim_lock(l->m)));
    } else if (l->select_ns > 0) {
        SIM_AWAIT(rc, sim_select(w, &l->which, sim_sleep(w, l->select_ns), sim_lock(l->m)));
        if (rc == SIM_OK && l->which == 0) rc = SIM_ETIMEDOUT;
    } else {
        SIM_AWAIT(rc, sim_lock(l->m));
    }
    glog_add(l->log, w, l->who, rc);
    if (rc != SIM_OK) SIM_RETURN(rc);
    cr_assert(eq(u32, sim_mutex_holder(w, l->m).v, sim_task_current(w).v));
    SIM_AWAIT(rc, sim_sleep(w, l->hold_ns));
    if (!l->keep) cr_assert(eq(int, sim_unlock(w, l->m), SIM_OK));
    SIM_END(SIM_OK);
}

static sim_join spawn_locker(sim_world *w, const locker *l, sim_node_id node)
{
    return test_spawn(w, "locker", node, locker_poll, NULL, l, sizeof *l);
}

static sim_mutex new_mutex(sim_world *w, const char *name)
{
    sim_mutex m;
    cr_assert(eq(int, sim_mutex_new(w, name, &m), SIM_OK));
    return m;
}

/* Tries the lock without waiting at try_ns (after the holder unlocked, before the first
 * waiter ran) and logs the result as who = 99. */
typedef struct trier {
    sim_co co;
    const sim_mutex *m;
    uint64_t try_ns;
    glog *log;
} trier;

static int trier_poll(void *state, sim_world *w)
{
    trier *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_sleep_until(t->try_ns));
    rc = sim_try_lock(w, t->m);
    glog_add(t->log, w, 99, rc);
    if (rc == SIM_OK) sim_unlock(w, t->m);
    SIM_END(SIM_OK);
}

/* Goal: a mutex is FIFO-fair: waiters get it in the order they asked, whatever the schedule,
 * and a try_lock cannot overtake a waiter that was handed the lock.
 * Method: for seeds 1..8: holder 0 locks at 0 and holds 10ms; waiters 1, 2, 3 ask at 1, 2,
 * 3ms and hold 1ms each; a try_lock at 10ms finds it owed (SIM_EFULL). Expect 0@0, 1@10,
 * 2@11, 3@12 and the mutex free at the end; no violation. */
Test(mutex, fifo_among_waiters)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
        sim_mutex m = new_mutex(w, "m");
        glog log = {0}, tries = {0};
        for (uint32_t i = 0; i < 4; i++) {
            locker l = {.m = &m, .who = i, .start_ns = i * SIM_MS,
                        .hold_ns = i == 0 ? 10 * SIM_MS : 1 * SIM_MS, .log = &log};
            spawn_locker(w, &l, NO_NODE);
        }
        trier t = {.m = &m, .try_ns = 10 * SIM_MS, .log = &tries};
        test_spawn(w, "trier", NO_NODE, trier_poll, NULL, &t, sizeof t);
        test_run_ok(w);
        cr_assert(eq(u32, log.n, 4), "seed %llu", (unsigned long long)seed);
        glog_expect(&log, 0, 0, SIM_OK, 0);
        for (uint32_t i = 1; i < 4; i++) glog_expect(&log, i, i, SIM_OK, (9 + i) * SIM_MS);
        glog_expect(&tries, 0, 99, SIM_EFULL, 10 * SIM_MS);
        cr_assert(eq(u32, sim_mutex_holder(w, &m).v, 0));
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_mutex_drop(w, &m);
        cr_assert(eq(u32, test_objects_live(w), 0));
        sim_world_free(w);
    }
}

/* Runs a list of mutex calls inside a task and records their results. */
typedef struct mutex_calls {
    sim_co co;
    const sim_mutex *m;
    int *rc;             /* [4] */
    uint32_t *holder;    /* [4] */
} mutex_calls;

static int try_calls_poll(void *state, sim_world *w)
{
    mutex_calls *c = state;
    c->rc[0] = sim_try_lock(w, c->m);
    c->holder[0] = sim_mutex_holder(w, c->m).v;
    c->rc[1] = sim_try_lock(w, c->m); /* held (by itself): SIM_EFULL, not misuse */
    c->rc[2] = sim_unlock(w, c->m);
    c->holder[2] = sim_mutex_holder(w, c->m).v;
    c->rc[3] = sim_try_lock(w, c->m);
    return SIM_OK; /* ends holding it: its end unlocks */
}

/* Goal: sim_try_lock takes a free mutex, returns SIM_EFULL when it is held (also by the
 * caller), and is misuse outside a task; sim_mutex_holder names the holder.
 * Method: a task try_locks (OK, holder = itself), try_locks again (SIM_EFULL), unlocks
 * (holder 0), try_locks again and ends holding it: the mutex is free afterwards. From outside
 * a task, try_lock is SIM_EMISUSE with one misuse violation. */
Test(mutex, try_lock)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sim_mutex m = new_mutex(w, NULL);
    int rc[4] = {99, 99, 99, 99};
    uint32_t holder[4] = {0};
    mutex_calls c = {.m = &m, .rc = rc, .holder = holder};
    sim_join j = test_spawn(w, "caller", NO_NODE, try_calls_poll, NULL, &c, sizeof c);
    uint32_t id = j.task.v;
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, rc[0], SIM_OK));
    cr_assert(eq(u32, holder[0], id));
    cr_assert(eq(int, rc[1], SIM_EFULL));
    cr_assert(eq(int, rc[2], SIM_OK));
    cr_assert(eq(u32, holder[2], 0));
    cr_assert(eq(int, rc[3], SIM_OK));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, sim_mutex_holder(w, &m).v, 0));
    cr_assert(eq(int, sim_try_lock(w, &m), SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    sim_mutex_drop(w, &m);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* At 1ms, unlocks a mutex it does not hold. */
typedef struct bad_unlocker {
    sim_co co;
    const sim_mutex *m;
    int *rc_out;
} bad_unlocker;

static int bad_unlocker_poll(void *state, sim_world *w)
{
    bad_unlocker *b = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &b->co);
    SIM_AWAIT(rc, sim_sleep_until(1 * SIM_MS));
    *b->rc_out = sim_unlock(w, b->m);
    SIM_END(SIM_OK);
}

/* Goal: unlocking a mutex one does not hold is misuse (SIM_EMISUSE and a violation) and
 * changes nothing: the holder keeps it; the same for a free mutex and from outside a task.
 * Method: a locker holds from 0 to 10ms; another task unlocks at 1ms: SIM_EMISUSE, one
 * violation, the holder still holds it at 1ms and unlocks normally at 10ms; then sim_unlock
 * from outside (free mutex): SIM_EMISUSE, a second violation. */
Test(mutex, unlock_by_non_holder_is_misuse)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    sim_mutex m = new_mutex(w, "m");
    glog log = {0};
    int rc = SIM_PENDING;
    locker l = {.m = &m, .who = 0, .hold_ns = 10 * SIM_MS, .log = &log};
    sim_join jl = spawn_locker(w, &l, NO_NODE);
    bad_unlocker b = {.m = &m, .rc_out = &rc};
    test_spawn(w, "bad", NO_NODE, bad_unlocker_poll, NULL, &b, sizeof b);
    cr_assert(eq(int, sim_world_run_until(w, 2 * SIM_MS), SIM_OK));
    cr_assert(eq(int, rc, SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    cr_assert(ne(ptr, (void *)test_violation_find(w, SIM_VIOLATION_MISUSE, "does not hold"),
                 NULL));
    cr_assert(eq(u32, sim_mutex_holder(w, &m).v, jl.task.v));
    test_run_ok(w);
    cr_assert(eq(int, join_rc(w, &jl), SIM_OK)); /* its own unlock succeeded */
    cr_assert(eq(int, sim_unlock(w, &m), SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 2));
    sim_mutex_drop(w, &m);
    sim_world_free(w);
}

/* Locks, then awaits the lock again. */
typedef struct relocker {
    sim_co co;
    const sim_mutex *m;
    int *rc_out;
} relocker;

static int relocker_poll(void *state, sim_world *w)
{
    relocker *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    SIM_TRY(sim_lock(r->m));
    SIM_AWAIT(rc, sim_lock(r->m));
    *r->rc_out = rc;
    SIM_END(SIM_OK);
}

/* Goal: locking a mutex the task already holds is misuse, reported at once instead of a
 * deadlock.
 * Method: a task locks, then awaits sim_lock on the same mutex: SIM_EMISUSE at time 0, one
 * misuse violation saying it already holds it; the run ends and the mutex is free. */
Test(mutex, relock_is_misuse)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    sim_mutex m = new_mutex(w, "m");
    int rc = SIM_PENDING;
    relocker r = {.m = &m, .rc_out = &rc};
    test_spawn(w, "relocker", NO_NODE, relocker_poll, NULL, &r, sizeof r);
    test_run_ok(w);
    cr_assert(eq(int, rc, SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    cr_assert(ne(ptr, (void *)test_violation_find(w, SIM_VIOLATION_MISUSE, "already holds"),
                 NULL));
    cr_assert(eq(u64, sim_now(w), 0));
    cr_assert(eq(u32, sim_mutex_holder(w, &m).v, 0));
    sim_mutex_drop(w, &m);
    sim_world_free(w);
}

/* At 5ms aborts a task or crashes a node. */
typedef struct killer {
    sim_co co;
    uint64_t at;
    sim_join victim;     /* aborted when valid */
    sim_node_id node;    /* crashed when not 0 */
} killer;

static int killer_poll(void *state, sim_world *w)
{
    killer *k = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &k->co);
    SIM_AWAIT(rc, sim_sleep_until(k->at));
    if (k->node.v != 0) {
        cr_assert(eq(int, sim_node_crash(w, k->node), SIM_OK));
    } else {
        sim_join_abort(w, &k->victim);
    }
    SIM_END(SIM_OK);
}

enum { END_FINISH = 0, END_ABORT = 1, END_CRASH = 2 };

/* Holder 0 locks at 0 and ends without unlocking: it finishes at 2ms, or holds on and is
 * aborted (or its node crashed) at 5ms. Waiter 1 asks at 1ms. */
static void holder_end_scenario(uint64_t seed, int how)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_mutex m = new_mutex(w, "m");
    glog log = {0};
    locker h = {.m = &m, .who = 0, .hold_ns = how == END_FINISH ? 2 * SIM_MS : FOREVER,
                .keep = true, .log = &log};
    sim_join jh = spawn_locker(w, &h, how == END_CRASH ? n1 : NO_NODE);
    locker l = {.m = &m, .who = 1, .start_ns = 1 * SIM_MS, .hold_ns = 1 * SIM_MS, .log = &log};
    spawn_locker(w, &l, NO_NODE);
    killer k = {.at = 5 * SIM_MS, .node = how == END_CRASH ? n1 : (sim_node_id){0}};
    if (how == END_ABORT) k.victim = jh;
    if (how != END_FINISH) test_spawn(w, "killer", NO_NODE, killer_poll, NULL, &k, sizeof k);
    test_run_ok(w);
    uint64_t at = how == END_FINISH ? 2 * SIM_MS : 5 * SIM_MS;
    const int results[3] = {SIM_OK, SIM_ECANCELED, SIM_ECRASHED};
    cr_assert(eq(int, join_rc(w, &jh), results[how]));
    cr_assert(eq(u32, log.n, 2));
    glog_expect(&log, 0, 0, SIM_OK, 0);
    glog_expect(&log, 1, 1, SIM_OK, at);
    cr_assert(eq(u64, sim_now(w), at + 1 * SIM_MS));
    cr_assert(eq(u32, sim_mutex_holder(w, &m).v, 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0), "first: %s",
                 sim_world_violation_count(w) ? sim_world_violation(w, 0)->message : "");
    sim_mutex_drop(w, &m);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: a holder that finishes without unlocking releases the mutex to the next waiter.
 * Method: holder locks at 0 and returns at 2ms still holding; the waiter (asking at 1ms) gets
 * it at exactly 2ms; no violation. */
Test(mutex, holder_that_finishes_releases)
{
    holder_end_scenario(4, END_FINISH);
}

/* Goal: an aborted holder releases the mutex to the next waiter.
 * Method: holder holds forever; aborted at 5ms; the waiter gets it at 5ms, the holder's
 * result is SIM_ECANCELED; no violation. */
Test(mutex, holder_aborted_releases)
{
    holder_end_scenario(5, END_ABORT);
}

/* Goal: a holder whose node crashes releases the mutex to the next waiter (on another node),
 * and that release is not a side-effect violation.
 * Method: holder on node n1 holds forever; n1 crashes at 5ms; the world-level waiter gets it
 * at 5ms, the holder's result is SIM_ECRASHED; no violation of any kind. */
Test(mutex, holder_crashed_releases)
{
    holder_end_scenario(6, END_CRASH);
}

/* Holds the mutex from 0, and at 5ms unlocks it and aborts the first waiter, in either
 * order, in one poll. */
typedef struct unlocker {
    sim_co co;
    const sim_mutex *m;
    sim_join victim;
    bool abort_first;
} unlocker;

static int unlocker_poll(void *state, sim_world *w)
{
    unlocker *u = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &u->co);
    SIM_TRY(sim_lock(u->m));
    SIM_AWAIT(rc, sim_sleep_until(5 * SIM_MS));
    if (u->abort_first) sim_join_abort(w, &u->victim);
    cr_assert(eq(int, sim_unlock(w, u->m), SIM_OK));
    if (!u->abort_first) sim_join_abort(w, &u->victim);
    SIM_END(SIM_OK);
}

static void owed_waiter_scenario(uint64_t seed, bool abort_first)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    sim_mutex m = new_mutex(w, "m");
    glog log = {0};
    locker w1 = {.m = &m, .who = 1, .start_ns = 1 * SIM_MS, .hold_ns = 1 * SIM_MS, .log = &log};
    locker w2 = {.m = &m, .who = 2, .start_ns = 2 * SIM_MS, .hold_ns = 1 * SIM_MS, .log = &log};
    unlocker u = {.m = &m, .abort_first = abort_first};
    u.victim = spawn_locker(w, &w1, NO_NODE);
    sim_join j1 = u.victim;
    spawn_locker(w, &w2, NO_NODE);
    test_spawn(w, "unlocker", NO_NODE, unlocker_poll, NULL, &u, sizeof u);
    test_run_ok(w);
    cr_assert(eq(int, join_rc(w, &j1), SIM_ECANCELED));
    cr_assert(eq(u32, log.n, 1));
    glog_expect(&log, 0, 2, SIM_OK, 5 * SIM_MS);
    cr_assert(eq(u64, sim_now(w), 6 * SIM_MS));
    cr_assert(eq(u32, sim_mutex_holder(w, &m).v, 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_mutex_drop(w, &m);
    sim_world_free(w);
}

/* Goal: a waiter aborted while it was owed the lock (the holder unlocked, handing it the
 * turn, before it ran) passes the lock on to the next waiter.
 * Method: for seeds 1..4: W1 asks at 1ms, W2 at 2ms; at 5ms the holder unlocks and then
 * aborts W1 in the same poll: W2 gets the lock at 5ms, W1's result is SIM_ECANCELED. */
Test(mutex, waiter_aborted_while_owed_passes_it_on)
{
    for (uint64_t seed = 1; seed <= 4; seed++) owed_waiter_scenario(seed, false);
}

/* Goal: a waiter aborted before its turn leaves the queue: the unlock goes to the next one.
 * Method: as above with the abort before the unlock: W2 gets the lock at 5ms. */
Test(mutex, waiter_aborted_while_waiting_leaves_the_queue)
{
    for (uint64_t seed = 5; seed <= 8; seed++) owed_waiter_scenario(seed, true);
}

/* Goal: a lock awaited under a timeout or inside a select is cancelled cleanly when the other
 * side wins, also when it had just been handed the lock: the next waiter gets it.
 * Method: for seeds 1..8, the holder holds 0..5ms; W1 asks at 1ms with a 2ms timeout
 * (SIM_ETIMEDOUT at 3ms); W2 asks at 1ms in select(sleep 4ms, lock), whose sleep ends at 5ms
 * exactly when the holder unlocks (so W2 may be handed the lock and drop it); W3 asks at 2ms:
 * W2 gives up at 5ms and W3 holds the lock at 5ms. */
Test(mutex, cancelled_while_waiting_in_select_or_timeout)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
        sim_mutex m = new_mutex(w, "m");
        glog log = {0};
        locker h = {.m = &m, .who = 0, .hold_ns = 5 * SIM_MS, .log = &log};
        locker w1 = {.m = &m, .who = 1, .start_ns = 1 * SIM_MS, .timeout_ns = 2 * SIM_MS,
                     .hold_ns = 1, .log = &log};
        locker w2 = {.m = &m, .who = 2, .start_ns = 1 * SIM_MS, .select_ns = 4 * SIM_MS,
                     .hold_ns = 1, .log = &log};
        locker w3 = {.m = &m, .who = 3, .start_ns = 2 * SIM_MS, .hold_ns = 1 * SIM_MS,
                     .log = &log};
        spawn_locker(w, &h, NO_NODE);
        spawn_locker(w, &w1, NO_NODE);
        spawn_locker(w, &w2, NO_NODE);
        spawn_locker(w, &w3, NO_NODE);
        test_run_ok(w);
        cr_assert(eq(u32, log.n, 4), "seed %llu", (unsigned long long)seed);
        glog_expect(&log, 0, 0, SIM_OK, 0);
        glog_expect(&log, 1, 1, SIM_ETIMEDOUT, 3 * SIM_MS);
        glog_expect(&log, 2, 2, SIM_ETIMEDOUT, 5 * SIM_MS);
        glog_expect(&log, 3, 3, SIM_OK, 5 * SIM_MS);
        cr_assert(eq(u64, sim_now(w), 6 * SIM_MS));
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        cr_assert(eq(u32, test_timers_armed(w), 0));
        sim_mutex_drop(w, &m);
        sim_world_free(w);
    }
}

/* Locks at 3ms, then waits for a notify that never comes. */
typedef struct stuck_holder {
    sim_co co;
    const sim_mutex *m;
    const sim_notify *never;
} stuck_holder;

static int stuck_holder_poll(void *state, sim_world *w)
{
    stuck_holder *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep_until(3 * SIM_MS));
    SIM_TRY(sim_lock(s->m));
    SIM_AWAIT(rc, sim_notified(s->never));
    SIM_END(rc);
}

/* Goal: the hang report of a deadlock names the mutex a task waits for, its holder and since
 * when it has held it.
 * Method: "holder" locks mutex "db" at 3ms and waits forever on a notify; "waiter" asks for
 * the lock at 4ms: SIM_EDEADLOCK, and the report's waiter line says "lock of mutex #N db;
 * held by task <holder> (holder) since 0.003000s". */
Test(mutex, hang_report_names_holder_and_since)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    sim_mutex m = new_mutex(w, "db");
    sim_notify never;
    cr_assert(eq(int, sim_notify_new(w, "never", &never), SIM_OK));
    stuck_holder s = {.m = &m, .never = &never};
    sim_join jh = test_spawn(w, "holder", NO_NODE, stuck_holder_poll, NULL, &s, sizeof s);
    glog log = {0};
    locker l = {.m = &m, .who = 1, .start_ns = 4 * SIM_MS, .hold_ns = 1, .log = &log};
    sim_join jw = test_spawn(w, "waiter", NO_NODE, locker_poll, NULL, &l, sizeof l);
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    const char *report = sim_world_report(w);
    char want[160];
    snprintf(want, sizeof want, "lock of mutex #1 db; held by task %u (holder) since 0.003000s",
             jh.task.v);
    cr_assert(ne(ptr, (void *)strstr(report, want), NULL), "want '%s' in:\n%s", want, report);
    char since[64];
    snprintf(since, sizeof since, "%u", jw.task.v);
    cr_assert(ne(ptr, (void *)strstr(report, since), NULL), "report:\n%s", report);
    cr_assert(ne(ptr, (void *)strstr(report, "notify #2 never"), NULL), "report:\n%s", report);
    cr_assert(eq(u32, log.n, 0));
    sim_mutex_drop(w, &m);
    sim_notify_drop(w, &never);
    sim_world_free(w);
}

/* ---- semaphore ----------------------------------------------------------------------------- */

/* At start_ns acquires n permits (in a select against a sleep of select_ns when > 0), logs,
 * holds them hold_ns and releases them unless `keep`. */
typedef struct acquirer {
    sim_co co;
    const sim_sem *s;
    uint32_t who;
    uint32_t n;
    uint64_t start_ns;
    uint64_t hold_ns;
    uint64_t select_ns;
    bool keep;
    glog *log;
    int which;
} acquirer;

static int acquirer_poll(void *state, sim_world *w)
{
    acquirer *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    SIM_AWAIT(rc, sim_sleep_until(a->start_ns));
    if (a->select_ns > 0) {
        SIM_AWAIT(rc, sim_select(w, &a->which, sim_sleep(w, a->select_ns),
                                 sim_acquire(a->s, a->n)));
        if (rc == SIM_OK && a->which == 0) rc = SIM_ETIMEDOUT;
    } else {
        SIM_AWAIT(rc, sim_acquire(a->s, a->n));
    }
    glog_add(a->log, w, a->who, rc);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_sleep(w, a->hold_ns));
    if (!a->keep) cr_assert(eq(int, sim_release(w, a->s, a->n), SIM_OK));
    SIM_END(SIM_OK);
}

static sim_join spawn_acquirer(sim_world *w, const acquirer *a, sim_node_id node)
{
    return test_spawn(w, "acquirer", node, acquirer_poll, NULL, a, sizeof *a);
}

static sim_sem new_sem(sim_world *w, const char *name, uint32_t permits)
{
    sim_sem s;
    cr_assert(eq(int, sim_sem_new(w, name, permits, &s), SIM_OK));
    return s;
}

/* Tries n permits without waiting at try_ns and logs the result as who = 99. */
typedef struct sem_trier {
    sim_co co;
    const sim_sem *s;
    uint32_t n;
    uint64_t try_ns;
    glog *log;
} sem_trier;

static int sem_trier_poll(void *state, sim_world *w)
{
    sem_trier *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_sleep_until(t->try_ns));
    rc = sim_try_acquire(w, t->s, t->n);
    glog_add(t->log, w, 99, rc);
    SIM_END(SIM_OK); /* permits taken, if any, go back at its end */
}

/* Goal: a semaphore is FIFO: a waiter for many permits blocks later waiters for few, even
 * when enough for the small ones are free, and try_acquire cannot overtake it either.
 * Method: for seeds 1..6, 4 permits; A takes 3 at 0 and holds 10ms; B asks 3 at 1ms; C asks
 * 1 at 2ms (1 is free, but B is first); try_acquire(1) at 3ms is SIM_EFULL. At 10ms B gets 3
 * and C gets 1, in that order; the permits are all back at the end. */
Test(sem, fifo_large_request_blocks_later_small_ones)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
        sim_sem s = new_sem(w, "pool", 4);
        glog log = {0}, tries = {0};
        acquirer a = {.s = &s, .who = 0, .n = 3, .hold_ns = 10 * SIM_MS, .log = &log};
        acquirer b = {.s = &s, .who = 1, .n = 3, .start_ns = 1 * SIM_MS, .hold_ns = 1 * SIM_MS,
                      .log = &log};
        acquirer c = {.s = &s, .who = 2, .n = 1, .start_ns = 2 * SIM_MS, .hold_ns = 1 * SIM_MS,
                      .log = &log};
        sem_trier t = {.s = &s, .n = 1, .try_ns = 3 * SIM_MS, .log = &tries};
        spawn_acquirer(w, &a, NO_NODE);
        spawn_acquirer(w, &b, NO_NODE);
        spawn_acquirer(w, &c, NO_NODE);
        test_spawn(w, "trier", NO_NODE, sem_trier_poll, NULL, &t, sizeof t);
        test_run_ok(w);
        cr_assert(eq(u32, log.n, 3), "seed %llu", (unsigned long long)seed);
        glog_expect(&log, 0, 0, SIM_OK, 0);
        glog_expect(&log, 1, 1, SIM_OK, 10 * SIM_MS);
        glog_expect(&log, 2, 2, SIM_OK, 10 * SIM_MS);
        glog_expect(&tries, 0, 99, SIM_EFULL, 3 * SIM_MS);
        cr_assert(eq(u32, sim_sem_available(w, &s), 4));
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_sem_drop(w, &s);
        cr_assert(eq(u32, test_objects_live(w), 0));
        sim_world_free(w);
    }
}

/* Calls sim_release at 1ms for permits it does not hold (or more than it holds). */
typedef struct bad_releaser {
    sim_co co;
    const sim_sem *s;
    int *rc;             /* [2] */
} bad_releaser;

static int bad_releaser_poll(void *state, sim_world *w)
{
    bad_releaser *b = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &b->co);
    SIM_AWAIT(rc, sim_sleep_until(1 * SIM_MS));
    b->rc[0] = sim_release(w, b->s, 1);
    SIM_TRY(sim_acquire(b->s, 1));
    b->rc[1] = sim_release(w, b->s, 2);
    SIM_END(SIM_OK);
}

/* Goal: releasing permits one does not hold is misuse and changes nothing: no permit is
 * created out of thin air; releasing more than held is misuse too; so is a release from
 * outside a task.
 * Method: 2 permits, a holder takes 1 from 0 to 10ms; at 1ms another task releases 1
 * (SIM_EMISUSE), takes 1, releases 2 (SIM_EMISUSE) and ends (its 1 goes back); availability
 * stays exact throughout; then sim_release from outside: SIM_EMISUSE; three violations. */
Test(sem, release_by_non_holder_is_misuse)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    sim_sem s = new_sem(w, "s", 2);
    glog log = {0};
    int rc[2] = {99, 99};
    acquirer a = {.s = &s, .who = 0, .n = 1, .hold_ns = 10 * SIM_MS, .log = &log};
    spawn_acquirer(w, &a, NO_NODE);
    bad_releaser b = {.s = &s, .rc = rc};
    test_spawn(w, "bad", NO_NODE, bad_releaser_poll, NULL, &b, sizeof b);
    cr_assert(eq(int, sim_world_run_until(w, 2 * SIM_MS), SIM_OK));
    cr_assert(eq(int, rc[0], SIM_EMISUSE));
    cr_assert(eq(int, rc[1], SIM_EMISUSE));
    cr_assert(eq(u32, sim_sem_available(w, &s), 1)); /* the holder's 1 is still out */
    test_run_ok(w);
    cr_assert(eq(u32, sim_sem_available(w, &s), 2));
    cr_assert(eq(int, sim_release(w, &s, 1), SIM_EMISUSE));
    cr_assert(eq(u32, sim_sem_available(w, &s), 2));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 3));
    cr_assert(eq(u32, sim_world_violation_count(w), 3));
    sim_sem_drop(w, &s);
    sim_world_free(w);
}

/* Holder 0 takes 2 of 2 permits at 0 and ends without releasing them: it finishes at 2ms, or
 * is aborted (or its node crashed) at 5ms. Waiter 1 asks for 2 at 1ms. */
static void sem_holder_end_scenario(uint64_t seed, int how)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_sem s = new_sem(w, "s", 2);
    glog log = {0};
    acquirer h = {.s = &s, .who = 0, .n = 2, .keep = true, .log = &log,
                  .hold_ns = how == END_FINISH ? 2 * SIM_MS : FOREVER};
    sim_join jh = spawn_acquirer(w, &h, how == END_CRASH ? n1 : NO_NODE);
    acquirer a = {.s = &s, .who = 1, .n = 2, .start_ns = 1 * SIM_MS, .hold_ns = 1 * SIM_MS,
                  .log = &log};
    spawn_acquirer(w, &a, NO_NODE);
    killer k = {.at = 5 * SIM_MS, .node = how == END_CRASH ? n1 : (sim_node_id){0}};
    if (how == END_ABORT) k.victim = jh;
    if (how != END_FINISH) test_spawn(w, "killer", NO_NODE, killer_poll, NULL, &k, sizeof k);
    test_run_ok(w);
    uint64_t at = how == END_FINISH ? 2 * SIM_MS : 5 * SIM_MS;
    const int results[3] = {SIM_OK, SIM_ECANCELED, SIM_ECRASHED};
    cr_assert(eq(int, join_rc(w, &jh), results[how]));
    cr_assert(eq(u32, log.n, 2));
    glog_expect(&log, 1, 1, SIM_OK, at);
    cr_assert(eq(u32, sim_sem_available(w, &s), 2));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_sem_drop(w, &s);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: permits acquired by a task go back when it ends, however it ends.
 * Method: the holder of both permits finishes at 2ms, is aborted at 5ms, or its node crashes
 * at 5ms, without releasing: the waiter for 2 gets them at that moment; all permits are free
 * at the end; no violation. */
Test(sem, permits_released_at_holder_end)
{
    sem_holder_end_scenario(3, END_FINISH);
    sem_holder_end_scenario(4, END_ABORT);
    sem_holder_end_scenario(5, END_CRASH);
}

/* Goal: a large waiter that gives up (a select it loses) unblocks the smaller ones behind it.
 * Method: 3 permits, A holds 2 from 0 to 20ms; B asks 3 at 1ms in select(sleep 4ms, acquire);
 * C asks 1 at 2ms and waits behind B although 1 is free; B gives up at 5ms and C gets its
 * permit at 5ms. */
Test(sem, cancelled_first_waiter_unblocks_the_rest)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
        sim_sem s = new_sem(w, "s", 3);
        glog log = {0};
        acquirer a = {.s = &s, .who = 0, .n = 2, .hold_ns = 20 * SIM_MS, .log = &log};
        acquirer b = {.s = &s, .who = 1, .n = 3, .start_ns = 1 * SIM_MS,
                      .select_ns = 4 * SIM_MS, .hold_ns = 1, .log = &log};
        acquirer c = {.s = &s, .who = 2, .n = 1, .start_ns = 2 * SIM_MS, .hold_ns = 1 * SIM_MS,
                      .log = &log};
        spawn_acquirer(w, &a, NO_NODE);
        spawn_acquirer(w, &b, NO_NODE);
        spawn_acquirer(w, &c, NO_NODE);
        test_run_ok(w);
        cr_assert(eq(u32, log.n, 3));
        glog_expect(&log, 1, 1, SIM_ETIMEDOUT, 5 * SIM_MS);
        glog_expect(&log, 2, 2, SIM_OK, 5 * SIM_MS);
        cr_assert(eq(u32, sim_sem_available(w, &s), 3));
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_sem_drop(w, &s);
        sim_world_free(w);
    }
}

/* Adds n permits at add_ns. */
typedef struct adder {
    sim_co co;
    const sim_sem *s;
    uint64_t add_ns;
    uint32_t n;
} adder;

static int adder_poll(void *state, sim_world *w)
{
    adder *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    SIM_AWAIT(rc, sim_sleep_until(a->add_ns));
    cr_assert(eq(int, sim_sem_add(w, a->s, a->n), SIM_OK));
    SIM_END(SIM_OK);
}

/* Goal: sim_sem_add adds permits nobody held, so a semaphore made with none works as a
 * signal: waiters wait for the permits to be added, in FIFO order.
 * Method: a semaphore of 0 permits; A asks 1 at 0, B asks 2 at 1ms (both keep theirs); 1
 * permit is added at 5ms (A gets it), 2 more at 8ms (B gets them); available is 0 after and
 * sim_sem_add from outside a task works too. */
Test(sem, sem_add_signals_waiters)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    sim_sem s = new_sem(w, "signal", 0);
    glog log = {0};
    acquirer a = {.s = &s, .who = 0, .n = 1, .keep = true, .hold_ns = 20 * SIM_MS, .log = &log};
    acquirer b = {.s = &s, .who = 1, .n = 2, .keep = true, .hold_ns = 20 * SIM_MS,
                  .start_ns = 1 * SIM_MS, .log = &log};
    adder d1 = {.s = &s, .add_ns = 5 * SIM_MS, .n = 1};
    adder d2 = {.s = &s, .add_ns = 8 * SIM_MS, .n = 2};
    spawn_acquirer(w, &a, NO_NODE);
    spawn_acquirer(w, &b, NO_NODE);
    test_spawn(w, "adder", NO_NODE, adder_poll, NULL, &d1, sizeof d1);
    test_spawn(w, "adder", NO_NODE, adder_poll, NULL, &d2, sizeof d2);
    cr_assert(eq(int, sim_world_run_until(w, 10 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, log.n, 2));
    glog_expect(&log, 0, 0, SIM_OK, 5 * SIM_MS);
    glog_expect(&log, 1, 1, SIM_OK, 8 * SIM_MS);
    cr_assert(eq(u32, sim_sem_available(w, &s), 0));
    test_run_ok(w); /* they end at 25 and 28ms, keeping theirs: released at their end */
    cr_assert(eq(u32, sim_sem_available(w, &s), 3));
    cr_assert(eq(int, sim_sem_add(w, &s, 2), SIM_OK));
    cr_assert(eq(u32, sim_sem_available(w, &s), 5));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_sem_drop(w, &s);
    sim_world_free(w);
}

/* Takes one permit at 2ms and then waits on a notify that never comes. */
typedef struct sem_stuck {
    sim_co co;
    const sim_sem *s;
    const sim_notify *never;
} sem_stuck;

static int sem_stuck_poll(void *state, sim_world *w)
{
    sem_stuck *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_sleep_until(2 * SIM_MS));
    SIM_TRY(sim_acquire(t->s, 1));
    SIM_AWAIT(rc, sim_notified(t->never));
    SIM_END(rc);
}

/* Goal: the hang report of a deadlock on a semaphore says how many permits are free and who
 * holds the others.
 * Method: 1 permit held by "hog" (which then waits forever); "needy" asks 1: SIM_EDEADLOCK
 * and the report says "permits of semaphore #1 conns (0 of 1 free); permits held by task <hog>
 * (hog)". */
Test(sem, hang_report_names_holders)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    sim_sem s = new_sem(w, "conns", 1);
    sim_notify never;
    cr_assert(eq(int, sim_notify_new(w, "never", &never), SIM_OK));
    sem_stuck t = {.s = &s, .never = &never};
    sim_join jh = test_spawn(w, "hog", NO_NODE, sem_stuck_poll, NULL, &t, sizeof t);
    glog log = {0};
    acquirer a = {.s = &s, .who = 1, .n = 1, .start_ns = 3 * SIM_MS, .hold_ns = 1, .log = &log};
    test_spawn(w, "needy", NO_NODE, acquirer_poll, NULL, &a, sizeof a);
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    const char *report = sim_world_report(w);
    char want[160];
    snprintf(want, sizeof want,
             "permits of semaphore #1 conns (0 of 1 free); permits held by task %u (hog)",
             jh.task.v);
    cr_assert(ne(ptr, (void *)strstr(report, want), NULL), "want '%s' in:\n%s", want, report);
    sim_sem_drop(w, &s);
    sim_notify_drop(w, &never);
    sim_world_free(w);
}

/* ---- notify -------------------------------------------------------------------------------- */

/* At start_ns awaits a notification (under a timeout of timeout_ns when > 0) and logs it. */
typedef struct listener {
    sim_co co;
    const sim_notify *n;
    uint32_t who;
    uint64_t start_ns;
    uint64_t timeout_ns;
    glog *log;
} listener;

static int listener_poll(void *state, sim_world *w)
{
    listener *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    SIM_AWAIT(rc, sim_sleep_until(l->start_ns));
    if (l->timeout_ns > 0) {
        SIM_AWAIT(rc, sim_timeout(w, l->timeout_ns, sim_notified(l->n)));
    } else {
        SIM_AWAIT(rc, sim_notified(l->n));
    }
    glog_add(l->log, w, l->who, rc);
    SIM_END(rc);
}

static sim_join spawn_listener(sim_world *w, const listener *l)
{
    return test_spawn(w, "listener", NO_NODE, listener_poll, NULL, l, sizeof *l);
}

/* At each of its times, notifies one (or all) and then aborts its victim if it has one, or
 * crashes node `crash` if it is set. */
typedef struct notifier {
    sim_co co;
    const sim_notify *n;
    uint64_t at[4];
    uint32_t count;
    bool all;
    sim_join victim;
    sim_node_id crash;
    uint32_t i;
} notifier;

static int notifier_poll(void *state, sim_world *w)
{
    notifier *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    for (t->i = 0; t->i < t->count; t->i++) {
        SIM_AWAIT(rc, sim_sleep_until(t->at[t->i]));
        if (t->all) {
            sim_notify_all(w, t->n);
        } else {
            sim_notify_one(w, t->n);
        }
        if (sim_handle_valid(w, &t->victim)) sim_join_abort(w, &t->victim);
        if (t->crash.v != 0) cr_assert(eq(int, sim_node_crash(w, t->crash), SIM_OK));
    }
    SIM_END(SIM_OK);
}

static sim_notify new_notify(sim_world *w)
{
    sim_notify n;
    cr_assert(eq(int, sim_notify_new(w, "n", &n), SIM_OK));
    return n;
}

/* Goal: notify_one with nobody waiting stores one permit (not two): the next sim_notified
 * completes at once, the one after waits for the next notify_one.
 * Method: notify_one twice from outside at 0; L1 waits at 1ms (done at 1ms), L2 at 2ms waits
 * until a notify_one at 5ms. */
Test(notify, notify_one_stores_one_permit)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sim_notify n = new_notify(w);
    glog log = {0};
    sim_notify_one(w, &n);
    sim_notify_one(w, &n);
    listener l1 = {.n = &n, .who = 1, .start_ns = 1 * SIM_MS, .log = &log};
    listener l2 = {.n = &n, .who = 2, .start_ns = 2 * SIM_MS, .log = &log};
    notifier t = {.n = &n, .at = {5 * SIM_MS}, .count = 1};
    spawn_listener(w, &l1);
    spawn_listener(w, &l2);
    test_spawn(w, "notifier", NO_NODE, notifier_poll, NULL, &t, sizeof t);
    test_run_ok(w);
    cr_assert(eq(u32, log.n, 2));
    glog_expect(&log, 0, 1, SIM_OK, 1 * SIM_MS);
    glog_expect(&log, 1, 2, SIM_OK, 5 * SIM_MS);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_notify_drop(w, &n);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: notify_one wakes waiters one at a time in the order they started waiting.
 * Method: for seeds 1..6, L1, L2, L3 wait from 1, 2, 3ms; notify_one at 5, 6, 7ms: L1@5,
 * L2@6, L3@7. */
Test(notify, notify_one_is_fifo)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
        sim_notify n = new_notify(w);
        glog log = {0};
        for (uint32_t i = 1; i <= 3; i++) {
            listener l = {.n = &n, .who = i, .start_ns = i * SIM_MS, .log = &log};
            spawn_listener(w, &l);
        }
        notifier t = {.n = &n, .at = {5 * SIM_MS, 6 * SIM_MS, 7 * SIM_MS}, .count = 3};
        test_spawn(w, "notifier", NO_NODE, notifier_poll, NULL, &t, sizeof t);
        test_run_ok(w);
        cr_assert(eq(u32, log.n, 3));
        for (uint32_t i = 0; i < 3; i++) glog_expect(&log, i, i + 1, SIM_OK, (5 + i) * SIM_MS);
        sim_notify_drop(w, &n);
        sim_world_free(w);
    }
}

/* Goal: notify_all wakes every task waiting now and stores nothing: a later waiter waits for
 * the next notification.
 * Method: L1, L2 wait from 0 and 1ms; notify_all at 5ms wakes both at 5ms; L3 waits from 6ms
 * and is woken by a notify_all at 10ms; L4 waits from 11ms with a 2ms timeout: SIM_ETIMEDOUT
 * at 13ms (the notify_all at 10ms left no permit). */
Test(notify, notify_all_wakes_current_waiters_only)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    sim_notify n = new_notify(w);
    glog log = {0};
    const uint64_t start[4] = {0, 1 * SIM_MS, 6 * SIM_MS, 11 * SIM_MS};
    for (uint32_t i = 0; i < 4; i++) {
        listener l = {.n = &n, .who = i + 1, .start_ns = start[i], .log = &log,
                      .timeout_ns = i == 3 ? 2 * SIM_MS : 0};
        spawn_listener(w, &l);
    }
    notifier t = {.n = &n, .at = {5 * SIM_MS, 10 * SIM_MS}, .count = 2, .all = true};
    test_spawn(w, "notifier", NO_NODE, notifier_poll, NULL, &t, sizeof t);
    test_run_ok(w);
    cr_assert(eq(u32, log.n, 4));
    /* L1 and L2 both at 5ms, in either order. */
    cr_assert(eq(u32, log.who[0] + log.who[1], 3));
    cr_assert(eq(u64, log.at[0], 5 * SIM_MS));
    cr_assert(eq(u64, log.at[1], 5 * SIM_MS));
    glog_expect(&log, 2, 3, SIM_OK, 10 * SIM_MS);
    glog_expect(&log, 3, 4, SIM_ETIMEDOUT, 13 * SIM_MS);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_notify_drop(w, &n);
    sim_world_free(w);
}

/* Goal: a waiter that was handed a notify_one and is dropped before it runs passes the
 * notification on to the next waiter.
 * Method: for seeds 1..4, L1 waits from 1ms, L2 from 2ms; at 5ms the notifier calls
 * notify_one and aborts L1 in the same poll: L2 completes at 5ms, L1 is SIM_ECANCELED. */
Test(notify, dropped_notified_waiter_passes_it_on)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
        sim_notify n = new_notify(w);
        glog log = {0};
        listener l1 = {.n = &n, .who = 1, .start_ns = 1 * SIM_MS, .log = &log};
        listener l2 = {.n = &n, .who = 2, .start_ns = 2 * SIM_MS, .log = &log};
        notifier t = {.n = &n, .at = {5 * SIM_MS}, .count = 1};
        t.victim = spawn_listener(w, &l1);
        sim_join j1 = t.victim;
        spawn_listener(w, &l2);
        test_spawn(w, "notifier", NO_NODE, notifier_poll, NULL, &t, sizeof t);
        test_run_ok(w);
        cr_assert(eq(int, join_rc(w, &j1), SIM_ECANCELED));
        cr_assert(eq(u32, log.n, 1));
        glog_expect(&log, 0, 2, SIM_OK, 5 * SIM_MS);
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_notify_drop(w, &n);
        sim_world_free(w);
    }
}

/* Goal: a notification handed to a waiter that is dropped before it runs, with nobody else
 * waiting, is kept as the stored permit (as tokio's Notify does), not lost.
 * Method: L1 waits from 1ms; at 5ms notify_one, then L1 is aborted in the same poll; L2
 * starts waiting at 6ms and completes at once, at 6ms (no deadlock). */
Test(notify, dropped_notified_waiter_alone_keeps_the_permit, .timeout = 10)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    sim_notify n = new_notify(w);
    glog log = {0};
    listener l1 = {.n = &n, .who = 1, .start_ns = 1 * SIM_MS, .log = &log};
    listener l2 = {.n = &n, .who = 2, .start_ns = 6 * SIM_MS, .log = &log};
    notifier t = {.n = &n, .at = {5 * SIM_MS}, .count = 1};
    t.victim = spawn_listener(w, &l1);
    spawn_listener(w, &l2);
    test_spawn(w, "notifier", NO_NODE, notifier_poll, NULL, &t, sizeof t);
    test_run_ok(w);
    cr_assert(eq(u32, log.n, 1));
    glog_expect(&log, 0, 2, SIM_OK, 6 * SIM_MS);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_notify_drop(w, &n);
    sim_world_free(w);
}

/* Goal: a waiter woken by notify_all and dropped before it ran passes nothing on: notify_all
 * stores no permit, even then.
 * Method: L1 and L2 wait from 1 and 2ms; at 5ms notify_all, then L1 is aborted in the same
 * poll; L2 completes at 5ms; L3 waits from 6ms with a 2ms timeout: SIM_ETIMEDOUT at 8ms. */
Test(notify, dropped_notify_all_waiter_stores_nothing)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    sim_notify n = new_notify(w);
    glog log = {0};
    listener l1 = {.n = &n, .who = 1, .start_ns = 1 * SIM_MS, .log = &log};
    listener l2 = {.n = &n, .who = 2, .start_ns = 2 * SIM_MS, .log = &log};
    listener l3 = {.n = &n, .who = 3, .start_ns = 6 * SIM_MS, .timeout_ns = 2 * SIM_MS,
                   .log = &log};
    notifier t = {.n = &n, .at = {5 * SIM_MS}, .count = 1, .all = true};
    t.victim = spawn_listener(w, &l1);
    spawn_listener(w, &l2);
    spawn_listener(w, &l3);
    test_spawn(w, "notifier", NO_NODE, notifier_poll, NULL, &t, sizeof t);
    test_run_ok(w);
    cr_assert(eq(u32, log.n, 2));
    glog_expect(&log, 0, 2, SIM_OK, 5 * SIM_MS);
    glog_expect(&log, 1, 3, SIM_ETIMEDOUT, 8 * SIM_MS);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_notify_drop(w, &n);
    sim_world_free(w);
}

/* Goal: a waiter whose node crashes leaves the notify's queue, also when it had just been
 * handed a notification: the next waiter gets it.
 * Method: L1 on n1 waits from 1ms, L2 (world) from 2ms. (a) n1 crashes at 3ms, notify_one at
 * 5ms: L2 at 5ms. (b) at 5ms a task calls notify_one and crashes n1 in the same poll (L1
 * owed it): L2 at 5ms. No violation either way. */
Test(notify, waiter_crashed_leaves_the_queue)
{
    for (int owed = 0; owed <= 1; owed++) {
        sim_world *w = test_world(4 + (uint64_t)owed, SIM_SCHED_RANDOM);
        sim_node_id n1 = test_node(w, "n1", NULL, NULL);
        sim_notify n = new_notify(w);
        glog log = {0};
        listener l1 = {.n = &n, .who = 1, .start_ns = 1 * SIM_MS, .log = &log};
        listener l2 = {.n = &n, .who = 2, .start_ns = 2 * SIM_MS, .log = &log};
        sim_join j1 = test_spawn(w, "listener", n1, listener_poll, NULL, &l1, sizeof l1);
        spawn_listener(w, &l2);
        notifier t = {.n = &n, .at = {5 * SIM_MS}, .count = 1,
                      .crash = owed ? n1 : (sim_node_id){0}};
        test_spawn(w, "notifier", NO_NODE, notifier_poll, NULL, &t, sizeof t);
        if (!owed) {
            killer k = {.at = 3 * SIM_MS, .node = n1};
            test_spawn(w, "killer", NO_NODE, killer_poll, NULL, &k, sizeof k);
        }
        test_run_ok(w);
        cr_assert(eq(int, join_rc(w, &j1), SIM_ECRASHED));
        cr_assert(eq(u32, log.n, 1), "owed %d", owed);
        glog_expect(&log, 0, 2, SIM_OK, 5 * SIM_MS);
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_notify_drop(w, &n);
        sim_world_free(w);
    }
}

/* Runs the mutex, semaphore and notify FIFO scenarios in one world. */
static void sync_scenario(uint64_t seed, sim_ratio spurious, glog *logs, uint64_t *steps)
{
    sim_world_desc wd = {.seed = seed, .spurious_wakeups = spurious};
    sim_world *w = test_world_desc(&wd);
    sim_mutex m = new_mutex(w, "m");
    sim_sem s = new_sem(w, "s", 4);
    sim_notify n = new_notify(w);
    for (uint32_t i = 0; i < 4; i++) {
        locker l = {.m = &m, .who = i, .start_ns = i * SIM_MS,
                    .hold_ns = i == 0 ? 10 * SIM_MS : 1 * SIM_MS, .log = &logs[0]};
        spawn_locker(w, &l, NO_NODE);
    }
    acquirer a = {.s = &s, .who = 0, .n = 3, .hold_ns = 10 * SIM_MS, .log = &logs[1]};
    acquirer b = {.s = &s, .who = 1, .n = 3, .start_ns = 1 * SIM_MS, .hold_ns = 1 * SIM_MS,
                  .log = &logs[1]};
    acquirer c = {.s = &s, .who = 2, .n = 1, .start_ns = 2 * SIM_MS, .hold_ns = 1 * SIM_MS,
                  .log = &logs[1]};
    spawn_acquirer(w, &a, NO_NODE);
    spawn_acquirer(w, &b, NO_NODE);
    spawn_acquirer(w, &c, NO_NODE);
    for (uint32_t i = 1; i <= 3; i++) {
        listener l = {.n = &n, .who = i, .start_ns = i * SIM_MS, .log = &logs[2]};
        spawn_listener(w, &l);
    }
    notifier t = {.n = &n, .at = {5 * SIM_MS, 6 * SIM_MS, 7 * SIM_MS}, .count = 3};
    test_spawn(w, "notifier", NO_NODE, notifier_poll, NULL, &t, sizeof t);
    test_run_ok(w);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    *steps = test_stats(w).steps;
    sim_mutex_drop(w, &m);
    sim_sem_drop(w, &s);
    sim_notify_drop(w, &n);
    sim_world_free(w);
}

/* Goal: spurious wake-ups change nothing a mutex, semaphore or notify waiter sees: every
 * acquisition happens in the same order at the same time as without them.
 * Method: the three FIFO scenarios in one world, for seeds 1..5, with spurious_wakeups 1/2
 * and without: the logs are identical (and the noisy runs took more steps). */
Test(sync, spurious_wakeups_do_not_change_results)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        glog plain[3], noisy[3];
        memset(plain, 0, sizeof plain);
        memset(noisy, 0, sizeof noisy);
        uint64_t plain_steps, noisy_steps;
        sync_scenario(seed, (sim_ratio){0, 0}, plain, &plain_steps);
        sync_scenario(seed, (sim_ratio){1, 2}, noisy, &noisy_steps);
        cr_assert(eq(u32, plain[0].n, 4));
        cr_assert(eq(u32, plain[1].n, 3));
        cr_assert(eq(u32, plain[2].n, 3));
        cr_assert(eq(int, memcmp(plain, noisy, sizeof plain), 0), "seed %llu",
                  (unsigned long long)seed);
        cr_assert(lt(u64, plain_steps, noisy_steps), "seed %llu", (unsigned long long)seed);
    }
}

/* At 5ms drops the only handle of a mutex (which it holds from 0), a semaphore (whose only
 * permit it holds) or a notify, while another task waits for it. */
typedef struct object_dropper {
    sim_co co;
    int kind;            /* 0 mutex, 1 semaphore, 2 notify */
    sim_mutex *m;
    sim_sem *s;
    sim_notify *n;
} object_dropper;

static int object_dropper_poll(void *state, sim_world *w)
{
    object_dropper *d = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &d->co);
    if (d->kind == 0) {
        SIM_TRY(sim_lock(d->m));
    } else if (d->kind == 1) {
        SIM_TRY(sim_acquire(d->s, 1));
    }
    SIM_AWAIT(rc, sim_sleep_until(5 * SIM_MS));
    sim_mutex_drop(w, d->m);
    sim_sem_drop(w, d->s);
    sim_notify_drop(w, d->n);
    SIM_END(SIM_OK);
}

/* Goal: a mutex, semaphore or notify whose last handle is dropped while a task waits for it
 * ends that wait with a misuse (the handle is gone), and the wait leaves nothing registered
 * behind: one misuse violation, no leak reported when the waiter ends.
 * Method: for each kind, the holder drops the object at 5ms; the waiter (from 1ms) gets
 * SIM_EMISUSE at 5ms; exactly one violation, a misuse; no object is left. */
Test(sync, object_dropped_while_waited_for)
{
    for (int kind = 0; kind < 3; kind++) {
        sim_world *w = test_world(9 + (uint64_t)kind, SIM_SCHED_RANDOM);
        sim_mutex m = {0};
        sim_sem s = {0};
        sim_notify n = {0};
        glog log = {0};
        object_dropper d = {.kind = kind, .m = &m, .s = &s, .n = &n};
        if (kind == 0) {
            m = new_mutex(w, "m");
            locker l = {.m = &m, .who = 1, .start_ns = 1 * SIM_MS, .hold_ns = 1, .log = &log};
            spawn_locker(w, &l, NO_NODE);
        } else if (kind == 1) {
            s = new_sem(w, "s", 1);
            acquirer a = {.s = &s, .who = 1, .n = 1, .start_ns = 1 * SIM_MS, .hold_ns = 1,
                          .log = &log};
            spawn_acquirer(w, &a, NO_NODE);
        } else {
            n = new_notify(w);
            listener l = {.n = &n, .who = 1, .start_ns = 1 * SIM_MS, .log = &log};
            spawn_listener(w, &l);
        }
        test_spawn(w, "dropper", NO_NODE, object_dropper_poll, NULL, &d, sizeof d);
        test_run_ok(w);
        cr_assert(eq(u32, log.n, 1), "kind %d", kind);
        glog_expect(&log, 0, 1, SIM_EMISUSE, 5 * SIM_MS);
        cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_LEAK), 0), "kind %d: %s", kind,
                  sim_world_violation(w, sim_world_violation_count(w) - 1)->message);
        cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1), "kind %d", kind);
        cr_assert(eq(u32, sim_world_violation_count(w), 1), "kind %d", kind);
        cr_assert(eq(u32, test_objects_live(w), 0), "kind %d", kind);
        sim_world_free(w);
    }
}

/* ---- task sets ----------------------------------------------------------------------------- */

typedef struct member_rec {
    uint32_t ended;      /* members whose end ran (drop function) */
} member_rec;

/* Sleeps sleep_ns (FOREVER: until aborted), or waits for a notify, sets its output and
 * returns result. */
typedef struct member {
    sim_co co;
    uint64_t sleep_ns;
    const sim_notify *wait_on;
    int result;
    int64_t output;
    member_rec *rec;
} member;

static int member_poll(void *state, sim_world *w)
{
    member *m = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &m->co);
    if (m->wait_on != NULL) {
        SIM_AWAIT(rc, sim_notified(m->wait_on));
    } else {
        SIM_AWAIT(rc, sim_sleep(w, m->sleep_ns));
    }
    sim_task_set_output(w, m->output);
    SIM_END(m->result);
}

static void member_drop(void *state, sim_world *w)
{
    member *m = state;
    (void)w;
    if (m->rec != NULL) m->rec->ended++;
}

static int set_spawn(sim_world *w, const sim_task_set *set, const member *m, sim_node_id node)
{
    sim_task_desc d = {.name = "member", .node = node, .poll = member_poll, .drop = member_drop,
                       .state = m, .state_size = sizeof *m};
    return sim_task_set_spawn(w, set, &d);
}

typedef struct collected {
    uint32_t n;
    uint32_t task[LOG_MAX];
    int rc[LOG_MAX];
    int64_t output[LOG_MAX];
    uint64_t at[LOG_MAX];
    uint32_t len_before[LOG_MAX];
} collected;

/* Makes a set, spawns `count` members (members[i]), optionally aborts them all at abort_ns,
 * then collects with sim_task_set_next until SIM_EEMPTY (logged too). */
typedef struct owner {
    sim_co co;
    const member *members;
    uint32_t count;
    uint64_t abort_ns;   /* 0: never */
    collected *out;
    uint32_t *ids;       /* the members' task ids are not known to it: 0 */
    sim_task_set set;
    sim_task_id id;
    int64_t output;
    uint32_t i;
} owner;

static int owner_poll(void *state, sim_world *w)
{
    owner *o = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &o->co);
    cr_assert(eq(int, sim_task_set_new(w, &o->set), SIM_OK));
    for (o->i = 0; o->i < o->count; o->i++) {
        cr_assert(eq(int, set_spawn(w, &o->set, &o->members[o->i], NO_NODE), SIM_OK));
    }
    if (o->abort_ns > 0) {
        SIM_AWAIT(rc, sim_sleep_until(o->abort_ns));
        sim_task_set_abort_all(w, &o->set);
    }
    for (;;) {
        o->out->len_before[o->out->n] = sim_task_set_len(w, &o->set);
        o->id.v = 0;
        o->output = -1;
        SIM_AWAIT(rc, sim_task_set_next(&o->set, &o->id, &o->output));
        cr_assert(lt(u32, o->out->n, LOG_MAX));
        o->out->task[o->out->n] = o->id.v;
        o->out->rc[o->out->n] = rc;
        o->out->output[o->out->n] = o->output;
        o->out->at[o->out->n] = sim_now(w);
        o->out->n++;
        if (rc == SIM_EEMPTY) break;
    }
    SIM_END(SIM_OK);
}

/* Goal: sim_task_set_next yields members in the order they finish, each with its result,
 * task id and output, then SIM_EEMPTY at once; sim_task_set_len counts the uncollected.
 * Method: members sleeping 30, 10, 20ms (outputs 3, 1, 2; the second returns SIM_ECLOSED):
 * next gives the 10ms one (SIM_ECLOSED, 1) at 10ms, then 20ms (2), then 30ms (3), then
 * SIM_EEMPTY at 30ms; len before each call 3, 2, 1, 0; task ids are the members' (spawned
 * after the owner and the block_on root that joins it). */
Test(taskset, next_in_completion_order)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    const member members[3] = {
        {.sleep_ns = 30 * SIM_MS, .result = SIM_OK, .output = 3},
        {.sleep_ns = 10 * SIM_MS, .result = SIM_ECLOSED, .output = 1},
        {.sleep_ns = 20 * SIM_MS, .result = SIM_OK, .output = 2},
    };
    collected out = {0};
    owner o = {.members = members, .count = 3, .out = &out};
    sim_join j = test_spawn(w, "owner", NO_NODE, owner_poll, NULL, &o, sizeof o);
    uint32_t base = j.task.v;
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(u32, out.n, 4));
    const uint32_t task[4] = {base + 3, base + 4, base + 2, 0};
    const int rc[4] = {SIM_ECLOSED, SIM_OK, SIM_OK, SIM_EEMPTY};
    const int64_t output[4] = {1, 2, 3, -1};
    const uint64_t at[4] = {10 * SIM_MS, 20 * SIM_MS, 30 * SIM_MS, 30 * SIM_MS};
    for (uint32_t i = 0; i < 4; i++) {
        cr_assert(eq(u32, out.task[i], task[i]), "entry %u", i);
        cr_assert(eq(int, out.rc[i], rc[i]), "entry %u", i);
        cr_assert(eq(i64, out.output[i], output[i]), "entry %u", i);
        cr_assert(eq(u64, out.at[i], at[i]), "entry %u", i);
        cr_assert(eq(u32, out.len_before[i], 3 - i), "entry %u", i);
    }
    cr_assert(eq(u32, test_stats(w).tasks_live, 0));
    cr_assert(eq(u32, test_objects_live(w), 0)); /* the set went with its owner */
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: sim_task_set_next on a set with no task returns SIM_EEMPTY at once, in a task and
 * through block_on.
 * Method: an owner with no members logs SIM_EEMPTY at time 0 in its first poll; a world-level
 * set awaited with sim_block_on gives SIM_EEMPTY too and nothing else changes. */
Test(taskset, empty_set_is_eempty_at_once)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    collected out = {0};
    owner o = {.count = 0, .out = &out};
    sim_join j = test_spawn(w, "owner", NO_NODE, owner_poll, NULL, &o, sizeof o);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(u32, out.n, 1));
    cr_assert(eq(int, out.rc[0], SIM_EEMPTY));
    cr_assert(eq(u64, out.at[0], 0));
    sim_task_set set;
    cr_assert(eq(int, sim_task_set_new(w, &set), SIM_OK));
    cr_assert(eq(u32, sim_task_set_len(w, &set), 0));
    cr_assert(eq(int, sim_block_on(w, sim_task_set_next(&set, NULL, NULL)), SIM_EEMPTY));
    sim_task_set_drop(w, &set);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u64, sim_now(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: abort_all aborts every running member; they are still collected, as SIM_ECANCELED,
 * after the ones that had finished.
 * Method: members sleeping 2ms (output 7), forever, forever; abort_all at 5ms: next gives the
 * 2ms one (SIM_OK, 7) and the two others (SIM_ECANCELED) at 5ms, then SIM_EEMPTY; the run
 * ends at 5ms and every member's end ran. */
Test(taskset, abort_all_members_are_still_collected)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    member_rec rec = {0};
    const member members[3] = {
        {.sleep_ns = 2 * SIM_MS, .output = 7, .rec = &rec},
        {.sleep_ns = FOREVER, .rec = &rec},
        {.sleep_ns = FOREVER, .rec = &rec},
    };
    collected out = {0};
    owner o = {.members = members, .count = 3, .abort_ns = 5 * SIM_MS, .out = &out};
    sim_join j = test_spawn(w, "owner", NO_NODE, owner_poll, NULL, &o, sizeof o);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(u32, out.n, 4));
    cr_assert(eq(int, out.rc[0], SIM_OK));
    cr_assert(eq(i64, out.output[0], 7));
    cr_assert(eq(int, out.rc[1], SIM_ECANCELED));
    cr_assert(eq(int, out.rc[2], SIM_ECANCELED));
    cr_assert(eq(int, out.rc[3], SIM_EEMPTY));
    for (uint32_t i = 0; i < 4; i++) cr_assert(eq(u64, out.at[i], 5 * SIM_MS), "entry %u", i);
    cr_assert(eq(u32, rec.ended, 3));
    cr_assert(eq(u64, sim_now(w), 5 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Makes a set, spawns members (on member_node), collects the first one to finish, then drops
 * the set (or, with `leave`, returns, or waits forever to be aborted or crashed). */
typedef struct leaver {
    sim_co co;
    const member *members;
    uint32_t count;
    sim_node_id member_node;
    int how;             /* -1: drops the set; END_FINISH: returns; else waits forever */
    sim_task_set set;
    uint32_t i;
} leaver;

static int leaver_poll(void *state, sim_world *w)
{
    leaver *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    cr_assert(eq(int, sim_task_set_new(w, &l->set), SIM_OK));
    for (l->i = 0; l->i < l->count; l->i++) {
        cr_assert(eq(int, set_spawn(w, &l->set, &l->members[l->i], l->member_node), SIM_OK));
    }
    SIM_AWAIT(rc, sim_task_set_next(&l->set, NULL, NULL));
    if (l->how < 0) {
        sim_task_set_drop(w, &l->set);
    } else if (l->how != END_FINISH) {
        SIM_AWAIT(rc, sim_sleep(w, FOREVER));
    }
    SIM_END(SIM_OK);
}

/* Members: one sleeping 1ms (collected), one 2ms (finished, never collected), two forever.
 * The owner drops its set at 1ms, returns at 1ms, or is aborted (or its node crashed) at 5ms:
 * in every case the two running members are aborted then and the run ends there. */
static void set_end_scenario(uint64_t seed, int how)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    member_rec rec = {0};
    const member members[4] = {
        {.sleep_ns = 1 * SIM_MS, .rec = &rec},
        {.sleep_ns = 2 * SIM_MS, .rec = &rec},
        {.sleep_ns = FOREVER, .rec = &rec},
        {.sleep_ns = FOREVER, .rec = &rec},
    };
    leaver l = {.members = members, .count = 4, .how = how, .member_node = n2};
    sim_join jl = test_spawn(w, "owner", how == END_CRASH ? n1 : NO_NODE, leaver_poll, NULL, &l,
                             sizeof l);
    killer k = {.at = 5 * SIM_MS, .node = how == END_CRASH ? n1 : (sim_node_id){0}};
    if (how == END_ABORT) k.victim = jl;
    if (how == END_ABORT || how == END_CRASH) {
        sim_join jk = test_spawn(w, "killer", NO_NODE, killer_poll, NULL, &k, sizeof k);
        sim_join_detach(w, &jk);
    }
    test_run_ok(w);
    uint64_t end = how == END_ABORT || how == END_CRASH ? 5 * SIM_MS : 1 * SIM_MS;
    cr_assert(eq(u64, sim_now(w), end), "how %d", how);
    cr_assert(eq(u32, rec.ended, 4), "how %d", how); /* every member's end ran */
    cr_assert(eq(u32, sim_world_violation_count(w), 0), "how %d: %s", how,
              sim_world_violation_count(w) ? sim_world_violation(w, 0)->message : "");
    sim_join_detach(w, &jl);
    cr_assert(eq(u32, test_stats(w).tasks_live, 0), "how %d", how);
    cr_assert(eq(u32, test_objects_live(w), 0), "how %d", how);
    sim_world_free(w);
}

/* Goal: dropping a task set aborts the members still running and frees the finished ones it
 * never collected: a set never leaves a task running unobserved.
 * Method: the owner collects the 1ms member, drops the set at 1ms: the 2ms member and the two
 * sleeping forever end at 1ms (every member's end ran), the run ends at 1ms with no task or
 * object left. */
Test(taskset, dropping_the_set_aborts_members)
{
    set_end_scenario(4, -1);
}

/* Goal: the owner's end releases its set like a drop, however it ends: finishing, aborted,
 * or its node crashing (members on another node), with no violation.
 * Method: as dropping_the_set_aborts_members, but the owner returns at 1ms, is aborted at
 * 5ms, or its node n1 crashes at 5ms (members on n2): the running members end then. */
Test(taskset, owner_end_aborts_members)
{
    set_end_scenario(5, END_FINISH);
    set_end_scenario(6, END_ABORT);
    set_end_scenario(7, END_CRASH);
}

/* Goal: the hang report of a deadlock names what a set's owner waits for.
 * Method: an owner awaits the next of one member that waits forever on a notify: deadlock,
 * and the report says "the next of 1 task(s) in set #N" and "notify #M". */
Test(taskset, hang_report_names_the_set)
{
    sim_world *w = test_world(8, SIM_SCHED_RANDOM);
    sim_notify never = new_notify(w);
    const member members[1] = {{.wait_on = &never}};
    collected out = {0};
    owner o = {.members = members, .count = 1, .out = &out};
    test_spawn(w, "owner", NO_NODE, owner_poll, NULL, &o, sizeof o);
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    const char *report = sim_world_report(w);
    cr_assert(ne(ptr, (void *)strstr(report, "the next of 1 task(s) in set #2"), NULL),
              "report:\n%s", report);
    cr_assert(ne(ptr, (void *)strstr(report, "notify #1 n"), NULL), "report:\n%s", report);
    cr_assert(eq(u32, out.n, 0));
    sim_notify_drop(w, &never);
    sim_world_free(w);
}
