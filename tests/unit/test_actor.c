/*
 * test_actor.c: the actor runtime of systems/actor (Stakker's semantics, reference section
 * B.1-B.4): the Prep queue flushed in order when a prep call makes the actor Ready, Prep
 * calls dropped once Ready, stop and fail taking effect after the call with the first cause
 * winning, kill at once, a last owner dropped deferring termination behind the calls already
 * queued, the notify Ret firing exactly once, Rets firing none when dropped (to_actor queues
 * the none, some_to_actor swallows it), Rets kept by a dying actor dropped, and the ledger's
 * reports: a Ret fired twice, a leaked Ret with where it was made.
 */
#include "actortest.h"

static act_own g_own;
static probe_ret g_notify, g_r1, g_r2;

static void call(int64_t a, int64_t b)
{
    act_call(g_sys, act_own_actor(g_own), probe_call, (act_val){.a = a, .b = b});
}

/* ---- Prep ---- */

static void prep_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_new(&g_notify);
        call(1, 0);
        call(2, 0);
        act_call_prep(g_sys, act_own_actor(g_own), probe_init, (act_val){.a = 5});
        call(3, 0);
    } else if (phase == 1) {
        /* Ready: a second prep call is dropped. */
        act_call_prep(g_sys, act_own_actor(g_own), probe_init, (act_val){.a = 6});
        call(4, 0);
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

Test(actor, prep_queue_flushes_in_order_when_ready)
{
    sim_world *w = run_phases(prep_phases, 3, ACT_BUG_NONE, (sim_ratio){0});
    /* The prep call runs first, then the calls queued while Prep in order, then later ones;
     * the second prep call never runs. */
    const int64_t want[] = {1005, 1, 2, 3, 4};
    assert_log(want, 5);
    cr_assert(eq(u32, g_notify.fired, 1));
    cr_assert(eq(i64, g_notify.v.a, ACT_DROPPED));
    act_stats st;
    act_sys_stats(g_sys, &st);
    cr_assert(eq(u64, st.calls_discarded, 1));
    assert_clean();
    run_end(w);
}

/* ---- stop, fail, kill ---- */

static void stop_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(&g_notify);
        call(1, DO_STOP);
        call(2, 0); /* queued behind the stop: discarded */
    } else {
        act_own_drop(g_sys, &g_own); /* a Zombie's termination again: a no-op */
    }
}

Test(actor, stop_takes_effect_when_the_call_returns)
{
    sim_world *w = run_phases(stop_phases, 2, ACT_BUG_NONE, (sim_ratio){0});
    const int64_t want[] = {1000, 1};
    assert_log(want, 2);
    cr_assert(eq(u32, g_notify.fired, 1));
    cr_assert(eq(i64, g_notify.v.a, ACT_STOPPED));
    assert_clean();
    run_end(w);
}

static void fail_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(&g_notify);
        call(1, DO_FAIL_STOP);
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

Test(actor, the_first_cause_wins)
{
    sim_world *w = run_phases(fail_phases, 2, ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(u32, g_notify.fired, 1));
    cr_assert(eq(i64, g_notify.v.a, ACT_FAILED));
    cr_assert(eq(i64, g_notify.v.b, 9));
    cr_assert(act_cause_has_error(ACT_FAILED));
    cr_assert(not(act_cause_has_error(ACT_STOPPED)));
    cr_assert(eq(str, (char *)act_cause_str(ACT_LOST), "Lost connection to actor"));
    assert_clean();
    run_end(w);
}

static void kill_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(&g_notify);
    } else if (phase == 1) {
        call(1, 0);
        /* A call carrying a Ret, queued and then discarded: its Ret fires none (B.4.3). */
        act_call(g_sys, act_own_actor(g_own), probe_call,
                 (act_val){.a = 2, .b = DO_REPLY, .ret = probe_ret_new(&g_r1)});
        act_kill(g_sys, act_own_actor(g_own), 42);
        cr_assert(act_is_zombie(g_sys, act_own_actor(g_own)));
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

Test(actor, kill_is_immediate_and_queued_rets_fire_none)
{
    sim_world *w = run_phases(kill_phases, 3, ACT_BUG_NONE, (sim_ratio){0});
    const int64_t want[] = {1000};
    assert_log(want, 1);
    cr_assert(eq(i64, g_notify.v.a, ACT_KILLED));
    cr_assert(eq(i64, g_notify.v.b, 42));
    cr_assert(eq(u32, g_r1.fired, 1));
    cr_assert(not(g_r1.some));
    assert_clean();
    run_end(w);
}

static void kill_self_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(&g_notify);
        call(1, DO_KILL_SELF);
        call(2, 0);
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

Test(actor, a_kill_from_inside_its_call_ends_it_when_the_call_returns)
{
    sim_world *w = run_phases(kill_self_phases, 2, ACT_BUG_NONE, (sim_ratio){0});
    const int64_t want[] = {1000, 1};
    assert_log(want, 2);
    cr_assert(eq(i64, g_notify.v.a, ACT_KILLED));
    assert_clean();
    run_end(w);
}

/* ---- owner drop ---- */

static act_own g_own2;

static void drop_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(&g_notify);
        g_own2 = act_own_clone(g_sys, g_own);
    } else if (phase == 1) {
        call(1, 0);
        call(2, 0);
        act_own_drop(g_sys, &g_own);   /* one owner left: nothing happens */
        act_own_drop(g_sys, &g_own2);  /* the last: termination queued behind 1 and 2 */
        cr_assert(not(act_is_zombie(g_sys, (act_actor){g_own.id ? g_own.id : 1})));
        act_call(g_sys, (act_actor){1}, probe_call, (act_val){.a = 3});
    }
}

Test(actor, owner_drop_defers_termination_behind_queued_calls)
{
    sim_world *w = run_phases(drop_phases, 2, ACT_BUG_NONE, (sim_ratio){0});
    const int64_t want[] = {1000, 1, 2};
    assert_log(want, 3);
    cr_assert(eq(u32, g_notify.fired, 1));
    cr_assert(eq(i64, g_notify.v.a, ACT_DROPPED));
    cr_assert(act_is_zombie(g_sys, (act_actor){1}));
    assert_clean();
    run_end(w);
}

/* ---- Ret ---- */

static void ret_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(NULL);
    } else if (phase == 1) {
        act_actor a = act_own_actor(g_own);
        act_ret some = act_ret_to_actor(g_sys, a, probe_call, ACT_SITE);
        act_ret none = act_ret_to_actor(g_sys, a, probe_call, ACT_SITE);
        act_ret swallowed = act_ret_some_to_actor(g_sys, a, probe_call, ACT_SITE);
        act_ret_fire(g_sys, &some, (act_val){.a = 10});
        cr_assert(eq(u32, some.id, 0)); /* consumed */
        act_ret_drop(g_sys, &none);     /* queues a none: logged -1000 */
        act_ret_drop(g_sys, &swallowed);
        act_ret_drop(g_sys, &none);     /* consumed already: nothing */
        /* A reply through a Ret carried by the call. */
        act_call(g_sys, a, probe_call,
                 (act_val){.a = 20, .b = DO_REPLY, .ret = probe_ret_new(&g_r1)});
        /* A Ret the handler leaves in the message is dropped when it returns. */
        act_call(g_sys, a, probe_call, (act_val){.a = 30, .ret = probe_ret_new(&g_r2)});
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

Test(actor, ret_fires_once_and_none_on_drop)
{
    sim_world *w = run_phases(ret_phases, 3, ACT_BUG_NONE, (sim_ratio){0});
    const int64_t want[] = {1000, 10, -1000, 20, 30};
    assert_log(want, 5);
    cr_assert(eq(u32, g_r1.fired, 1));
    cr_assert(g_r1.some);
    cr_assert(eq(i64, g_r1.v.a, 21));
    cr_assert(eq(u32, g_r2.fired, 1));
    cr_assert(not(g_r2.some));
    assert_clean();
    run_end(w);
}

static void kept_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(&g_notify);
        act_call(g_sys, act_own_actor(g_own), probe_call,
                 (act_val){.a = 1, .b = DO_KEEP, .ret = probe_ret_new(&g_r1)});
    } else if (phase == 1) {
        cr_assert(eq(u32, g_r1.fired, 0)); /* kept: not yet */
        call(2, DO_FAIL);
    }
}

Test(actor, rets_kept_by_a_dying_actor_fire_none)
{
    sim_world *w = run_phases(kept_phases, 2, ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(u32, g_r1.fired, 1));
    cr_assert(not(g_r1.some));
    cr_assert(eq(i64, g_notify.v.a, ACT_FAILED));
    act_own_drop(g_sys, &g_own);
    assert_clean();
    run_end(w);
}

Test(actor, ret_leak_bug_leaves_a_kept_ret_unfired_and_the_check_names_its_site)
{
    sim_world *w = run_phases(kept_phases, 2, ACT_BUG_RET_LEAK, (sim_ratio){0});
    cr_assert(eq(u32, g_r1.fired, 0));
    assert_check_says("never fired");
    assert_check_says("actortest.h");
    act_own_drop(g_sys, &g_own);
    run_end(w);
}

Test(actor, ret_twice_bug_fires_the_notify_ret_again_and_the_ledger_sees_it)
{
    sim_world *w = run_phases(stop_phases, 2, ACT_BUG_RET_TWICE, (sim_ratio){0});
    assert_check_says("fired twice");
    run_end(w);
}

static void zombie_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(&g_notify);
        call(1, DO_STOP);
        call(2, 0);
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

Test(actor, zombie_calls_bug_runs_a_call_on_a_zombie_and_the_oracle_sees_it)
{
    sim_world *w = run_phases(zombie_phases, 2, ACT_BUG_ZOMBIE_CALLS, (sim_ratio){0});
    assert_check_says("Zombie");
    run_end(w);
}

/* ---- Fwd ---- */

static void fwd_cb(void *ud, act_sys *sys, bool some, act_val *v)
{
    (void)ud;
    (void)sys;
    log_put(some ? v->a : -1);
}

static void fwd_phases(int phase)
{
    if (phase == 0) {
        g_own = probe_ready(NULL);
        act_fwd f = act_fwd_to_actor(g_sys, act_own_actor(g_own), probe_call);
        act_fwd g = act_fwd_clone(g_sys, f);
        act_fwd_send(g_sys, f, true, (act_val){.a = 1});
        act_fwd_send(g_sys, g, true, (act_val){.a = 2});
        act_fwd_drop(g_sys, &f);
        act_fwd_drop(g_sys, &g); /* no drop signal */
        act_fwd h = act_fwd_fn(g_sys, fwd_cb, NULL);
        act_fwd_send(g_sys, h, true, (act_val){.a = 7}); /* inline, at the call site */
        act_fwd_send(g_sys, h, false, (act_val){0});
        act_fwd_drop(g_sys, &h);
    } else {
        act_own_drop(g_sys, &g_own);
    }
}

Test(actor, fwd_is_repeatable_without_a_drop_signal)
{
    sim_world *w = run_phases(fwd_phases, 2, ACT_BUG_NONE, (sim_ratio){0});
    const int64_t want[] = {7, -1, 1000, 1, 2};
    assert_log(want, 5);
    assert_clean();
    run_end(w);
}

static void silent_phases(int phase)
{
    (void)phase;
    act_fwd h = act_fwd_fn(g_sys, fwd_cb, NULL);
    act_fwd_expect_end(g_sys, h, ACT_SITE);
    act_fwd_send(g_sys, h, true, (act_val){.a = 1});
    act_fwd_drop(g_sys, &h);
}

Test(actor, a_stream_sink_whose_producers_go_without_an_end_is_a_silent_end)
{
    sim_world *w = run_phases(silent_phases, 1, ACT_BUG_NONE, (sim_ratio){0});
    assert_check_says("silent end");
    run_end(w);
}

/* ---- the ledger ---- */

static void leak_phases(int phase)
{
    (void)phase;
    act_ret r = probe_ret_new(&g_r1);
    act_ret copy = r;
    act_ret_fire(g_sys, &r, (act_val){.a = 1});
    act_ret_fire(g_sys, &copy, (act_val){.a = 2}); /* a stale copy fires again */
}

Test(actor, a_ret_fired_twice_is_reported_with_its_site)
{
    sim_world *w = run_phases(leak_phases, 1, ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(u32, g_r1.fired, 1)); /* the second never reached the closure */
    assert_check_says("fired twice");
    assert_check_says("actortest.h");
    run_end(w);
}

static void timer_phases(int phase)
{
    if (phase == 0) {
        act_ret r = probe_ret_new(&g_r1);
        cr_assert(eq(int, act_after(g_sys, g_node, 5 * SIM_MS, r, (act_val){.a = 3}), SIM_OK));
        cr_assert(not(act_quiet(g_sys, g_node)));
    }
}

Test(actor, a_timer_fires_its_ret_after_the_delay)
{
    sim_world *w = run_phases(timer_phases, 1, ACT_BUG_NONE, (sim_ratio){0});
    cr_assert(eq(u32, g_r1.fired, 1));
    cr_assert(eq(i64, g_r1.v.a, 3));
    cr_assert(le(u64, 5 * SIM_MS, sim_now(w)));
    assert_clean();
    run_end(w);
}
