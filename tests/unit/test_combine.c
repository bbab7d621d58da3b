/*
 * test_combine.c: select, join_all and timeout, through sim.h: winners and their results,
 * losers dropped (and their timers released), biased ties, a combinator dropped with an
 * aborted task, join_all's per-branch results, timeouts at exactly the deadline, branches
 * that live in the state block (sim_select_futs), and join handles raced in a select or a
 * timeout (consumed when they win, still abortable when they lose).
 *
 * Drops are observed through user-written awaitables (a probe, a counting recv) that record
 * their polls and drops in records on the test's stack. A future that completes is never
 * dropped (it released what it armed), so "dropped as done" of the first API is now "not
 * dropped", and "dropped as aborted" is "dropped once".
 */
#include "../helpers.h"

static const sim_node_id NO_NODE = {0};

#define NEVER UINT64_MAX

static int join_rc(sim_world *w, sim_join *j)
{
    return sim_block_on(w, sim_join_wait(j));
}

static sim_chan_desc u32_desc(sim_chan_kind kind, uint32_t capacity)
{
    return (sim_chan_desc){.kind = kind, .msg_size = sizeof(uint32_t), .capacity = capacity};
}

/* ---- a probe awaitable --------------------------------------------------------------------- */

typedef struct probe_rec {
    uint32_t polls;
    uint32_t drops;
} probe_rec;

/* Completes with `result` delay_ns after its first poll (NEVER: stays pending and arms
 * nothing). Counts its polls and drops in *rec. */
typedef struct probe_op {
    sim_fut fut;
    uint64_t delay_ns;
    int result;
    bool started;
    probe_rec *rec;
    sim_sleep_op nap;
} probe_op;

static int probe_poll(sim_fut *f, sim_world *w)
{
    probe_op *p = (probe_op *)f;
    p->rec->polls++;
    cr_assert(eq(u32, p->rec->drops, 0), "a probe was polled after it was dropped");
    if (p->delay_ns == NEVER) return SIM_PENDING;
    if (!p->started) {
        p->started = true;
        p->nap = sim_sleep(w, p->delay_ns);
    }
    int rc = sim_fut_poll(w, &p->nap.fut);
    return rc == SIM_OK ? p->result : rc;
}

static void probe_drop(sim_fut *f, sim_world *w)
{
    probe_op *p = (probe_op *)f;
    p->rec->drops++;
    sim_fut_drop(w, &p->nap.fut); /* nothing when it never started */
}

static const sim_fut_vt probe_vt = {.name = "probe", .poll = probe_poll, .drop = probe_drop};

static probe_op probe(uint64_t delay_ns, int result, probe_rec *rec)
{
    return (probe_op){.fut = SIM_FUT_INIT(&probe_vt), .delay_ns = delay_ns, .result = result,
                      .rec = rec};
}

/* A recv that counts its polls and drops: to see that combinators drop what they own. */
typedef struct recv_probe {
    sim_fut fut;
    sim_recv_op inner;
    probe_rec *rec;
} recv_probe;

static int recv_probe_poll(sim_fut *f, sim_world *w)
{
    recv_probe *r = (recv_probe *)f;
    r->rec->polls++;
    cr_assert(eq(u32, r->rec->drops, 0), "a recv was polled after it was dropped");
    return sim_fut_poll(w, &r->inner.fut);
}

static void recv_probe_drop(sim_fut *f, sim_world *w)
{
    recv_probe *r = (recv_probe *)f;
    r->rec->drops++;
    sim_fut_drop(w, &r->inner.fut);
}

static const sim_fut_vt recv_probe_vt = {.name = "recv-probe", .poll = recv_probe_poll,
                                         .drop = recv_probe_drop};

static recv_probe counted_recv(const sim_rx *rx, void *out, probe_rec *rec)
{
    return (recv_probe){.fut = SIM_FUT_INIT(&recv_probe_vt), .inner = sim_recv(rx, out),
                        .rec = rec};
}

/* ---- small helper tasks -------------------------------------------------------------------- */

/* Sleeps delay_ns, then sends msg (count 1) or just drops its sender (count 0). */
typedef struct sender {
    sim_co co;
    sim_tx tx;
    uint64_t delay_ns;
    uint32_t count;
    uint32_t msg;
    int *rc_out;
    uint64_t *at_out;
} sender;

static int sender_poll(void *state, sim_world *w)
{
    sender *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, s->delay_ns));
    if (s->count > 0) {
        SIM_AWAIT(rc, sim_send(&s->tx, &s->msg));
        if (s->rc_out != NULL) *s->rc_out = rc;
        if (s->at_out != NULL) *s->at_out = sim_now(w);
    }
    sim_tx_drop(w, &s->tx);
    SIM_END(rc);
}

static sim_join spawn_sender(sim_world *w, const sender *s)
{
    return test_spawn_moves(w, "sender", NO_NODE, sender_poll, s, sizeof *s, SIM_MOVES(&s->tx));
}

/* Sleeps 4ms, sets its output to 42 and returns SIM_OK. */
typedef struct child {
    sim_co co;
} child;

static int child_poll(void *state, sim_world *w)
{
    child *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_sleep(w, 4 * SIM_MS));
    sim_task_set_output(w, 42);
    SIM_END(rc);
}

static sim_join spawn_child(sim_world *w)
{
    child c = {0};
    return test_spawn(w, "child", NO_NODE, child_poll, NULL, &c, sizeof c);
}

/* ---- select -------------------------------------------------------------------------------- */

typedef struct select_out {
    int rc;
    int winner;
    uint64_t at;
    uint32_t armed_after; /* timers armed right after the select completed */
} select_out;

typedef struct two_sleeps {
    sim_co co;
    select_out *out;
    int which;
} two_sleeps;

static int two_sleeps_poll(void *state, sim_world *w)
{
    two_sleeps *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_select(w, &s->which, sim_sleep(w, 1 * SIM_S), sim_sleep(w, 10 * SIM_MS)));
    s->out->rc = rc;
    s->out->winner = s->which;
    s->out->at = sim_now(w);
    s->out->armed_after = test_timers_armed(w);
    SIM_END(rc);
}

/* Goal: the first branch to complete wins, and the losers are dropped: a 1s sleep that loses
 * against a 10ms sleep leaves no armed timer behind.
 * Method: select(sleep 1s, sleep 10ms): winner 1 with SIM_OK at 10ms; right after, zero timers
 * are armed; the run ends at virtual time 10ms with one timer fired and no violation (a
 * leaked timer would be a leak violation). */
Test(combine, select_first_wins_losers_dropped)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    select_out o = {.rc = SIM_PENDING, .winner = -2};
    two_sleeps s = {.out = &o};
    sim_join j = test_spawn(w, "select", NO_NODE, two_sleeps_poll, NULL, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    cr_assert(eq(int, o.winner, 1));
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(u64, o.at, 10 * SIM_MS));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    sim_stats st = test_stats(w);
    cr_assert(eq(u64, st.timers_fired, 1));
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(eq(u32, st.violations, 0));
    sim_world_free(w);
}

/* The select lives in the state block and is awaited there, so that it can be dropped again
 * after it completed. */
typedef struct three_probes {
    sim_co co;
    select_out *out;
    probe_rec *recs;    /* [3] */
    probe_rec *final;   /* [3]: the records right after the select and a second drop */
    int which;
    sim_select_op sel;
} three_probes;

static int three_probes_poll(void *state, sim_world *w)
{
    three_probes *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    s->sel = sim_select(w, &s->which, probe(NEVER, SIM_OK, &s->recs[0]),
                        probe(5 * SIM_MS, SIM_ECLOSED, &s->recs[1]),
                        probe(20 * SIM_MS, SIM_OK, &s->recs[2]));
    SIM_AWAIT_FUT(rc, &s->sel.fut);
    s->out->rc = rc;
    s->out->winner = s->which;
    s->out->at = sim_now(w);
    s->out->armed_after = test_timers_armed(w);
    sim_fut_drop(w, &s->sel.fut); /* after completion: must drop nothing again */
    for (int i = 0; i < 3; i++) s->final[i] = s->recs[i];
    SIM_END(SIM_OK);
}

/* Goal: select returns the winner's index and its result (an error result too), does not drop
 * the winner (it completed) and drops every loser exactly once.
 * Method: probes (never), (5ms -> SIM_ECLOSED), (20ms -> SIM_OK): winner 1 with SIM_ECLOSED at
 * 5ms; drops 1, 0, 1; no timer armed afterwards; a later sim_fut_drop of the completed select
 * drops nothing more. */
Test(combine, select_returns_winner_result_drops_each_once)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    select_out o = {.rc = SIM_PENDING, .winner = -2};
    probe_rec recs[3] = {{0}}, final[3] = {{0}};
    three_probes s = {.out = &o, .recs = recs, .final = final};
    sim_join j = test_spawn(w, "select", NO_NODE, three_probes_poll, NULL, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, o.winner, 1));
    cr_assert(eq(int, o.rc, SIM_ECLOSED));
    cr_assert(eq(u64, o.at, 5 * SIM_MS));
    cr_assert(eq(u32, o.armed_after, 0));
    const uint32_t drops[3] = {1, 0, 1};
    for (int i = 0; i < 3; i++) {
        cr_assert(eq(u32, final[i].drops, drops[i]), "probe %d", i);
        cr_assert(eq(u32, recs[i].drops, drops[i]), "probe %d", i);
        cr_assert(le(u32, 1, recs[i].polls), "probe %d", i);
    }
    cr_assert(eq(u64, sim_now(w), 5 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Runs four selects in sequence, each over two branches that are ready at the same time. */
typedef struct ties {
    sim_co co;
    int *winners;       /* [4] */
    uint32_t *values;   /* [2]: messages won by the channel selects */
    uint32_t *rx2_left; /* messages left in rx2 after the first channel select */
    probe_rec *recs;    /* [2]: the probes of the "ready at once" select */
    sim_tx tx1, tx2;
    sim_rx rx1, rx2;
    uint32_t v;
    int which;
} ties;

static int ties_poll(void *state, sim_world *w)
{
    ties *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    /* Both ready at the first poll. */
    SIM_AWAIT(rc, sim_select(w, &s->which, probe(0, SIM_OK, &s->recs[0]),
                             probe(0, SIM_OK, &s->recs[1])));
    s->winners[0] = s->which;
    /* Both sleeps end at 5ms and fire in the same step. */
    SIM_AWAIT(rc, sim_select(w, &s->which, sim_sleep_until(5 * SIM_MS),
                             sim_sleep_until(5 * SIM_MS)));
    s->winners[1] = s->which;
    /* Two channels, each holding a message: the earlier branch wins and the other message is
     * not consumed. */
    SIM_AWAIT(rc, sim_select(w, &s->which, sim_recv(&s->rx1, &s->v), sim_recv(&s->rx2, &s->v)));
    s->winners[2] = s->which;
    s->values[0] = s->v;
    *s->rx2_left = sim_rx_len(w, &s->rx2);
    cr_assert(eq(int, sim_try_send(w, &s->tx1, &(uint32_t){11}), SIM_OK));
    SIM_AWAIT(rc, sim_select(w, &s->which, sim_recv(&s->rx2, &s->v), sim_recv(&s->rx1, &s->v)));
    s->winners[3] = s->which;
    s->values[1] = s->v;
    SIM_END(rc);
}

/* Goal: select is biased: on a tie the earlier branch wins, and later ones are not even polled
 * once an earlier one is ready.
 * Method: (1) two probes ready at once: winner 0 and the second was never polled, only dropped;
 * (2) two sleeps ending at the same 5ms: winner 0; (3) two channels each holding a message,
 * [rx1, rx2]: winner 0 with rx1's message, rx2 keeps its message; then [rx2, rx1] with both
 * holding one: winner 0 with rx2's message. */
Test(combine, select_biased_on_ties)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    int winners[4] = {-2, -2, -2, -2};
    uint32_t values[2] = {0, 0}, rx2_left = 0;
    probe_rec recs[2] = {{0}};
    ties s = {.winners = winners, .values = values, .rx2_left = &rx2_left, .recs = recs};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    cr_assert(eq(int, sim_chan_new(w, &d, &s.tx1, &s.rx1), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &d, &s.tx2, &s.rx2), SIM_OK));
    cr_assert(eq(int, sim_try_send(w, &s.tx1, &(uint32_t){1}), SIM_OK));
    cr_assert(eq(int, sim_try_send(w, &s.tx2, &(uint32_t){2}), SIM_OK));
    sim_join j = test_spawn_moves(w, "ties", NO_NODE, ties_poll, &s, sizeof s,
                                  SIM_MOVES(&s.tx1, &s.tx2, &s.rx1, &s.rx2));
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, winners[0], 0));
    cr_assert(eq(u32, recs[1].polls, 0));
    cr_assert(eq(u32, recs[1].drops, 1));
    cr_assert(eq(u32, recs[0].drops, 0));
    cr_assert(eq(int, winners[1], 0));
    cr_assert(eq(int, winners[2], 0));
    cr_assert(eq(u32, values[0], 1));
    cr_assert(eq(u32, rx2_left, 1));
    cr_assert(eq(int, winners[3], 0));
    cr_assert(eq(u32, values[1], 2));
    cr_assert(eq(u64, sim_now(w), 5 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, test_objects_live(w), 0)); /* the task's end released its channels */
    sim_world_free(w);
}

/* ---- select dropped by an aborted task ----------------------------------------------------- */

typedef struct abort_out {
    probe_rec p;         /* the never-completing probe */
    uint32_t armed_at_6ms;
    uint32_t got;
    int recv_rc;
    int victim_rc;
    int s2_rc;
    uint64_t s2_at;
} abort_out;

/* Selects over a 1s sleep, a token wait, a send on a full bounded channel, and (one more
 * select, SIM_SELECT_MAX being 4) a recv on an empty channel and a never-ready probe. */
typedef struct selector {
    sim_co co;
    abort_out *out;
    sim_tx btx;          /* sender of the full bounded channel */
    sim_rx erx;          /* receiver of the empty channel */
    sim_token tok;
    uint32_t msg;
    uint32_t in;
    int which;
    int which2;
} selector;

static int selector_poll(void *state, sim_world *w)
{
    selector *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_select(w, &s->which, sim_sleep(w, 1 * SIM_S), sim_cancelled(&s->tok),
                             sim_send(&s->btx, &s->msg),
                             sim_select(w, &s->which2, sim_recv(&s->erx, &s->in),
                                        probe(NEVER, SIM_OK, &s->out->p))));
    SIM_END(rc);
}

/* Aborts the selector at 5ms; at 6ms frees a slot of the bounded channel, which must go to
 * the sender queued behind the selector, then cancels the token and joins the selector. */
typedef struct aborter {
    sim_co co;
    abort_out *out;
    sim_join victim;
    sim_rx brx;
    sim_tx etx;
    sim_token tok;
    uint32_t v;
} aborter;

static int aborter_poll(void *state, sim_world *w)
{
    aborter *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    SIM_AWAIT(rc, sim_sleep_until(5 * SIM_MS));
    sim_join_abort(w, &a->victim);
    SIM_AWAIT(rc, sim_sleep_until(6 * SIM_MS));
    a->out->armed_at_6ms = test_timers_armed(w);
    cr_assert(eq(int, sim_try_recv(w, &a->brx, &a->v), SIM_OK)); /* the filler */
    SIM_AWAIT(rc, sim_recv(&a->brx, &a->v));
    a->out->recv_rc = rc;
    a->out->got = a->v;
    sim_token_cancel(w, &a->tok);
    SIM_AWAIT(rc, sim_join_wait(&a->victim));
    a->out->victim_rc = rc;
    SIM_END(SIM_OK);
}

/* Goal: a task aborted mid-select releases everything the select's branches held, with no
 * drop function: the 1s timer, the token wait, the place in a bounded channel's send queue,
 * and the nested select's branches.
 * Method: the selector waits on five branches; a second sender queues behind it on the full
 * bounded channel at 1ms; the selector is aborted at 5ms. At 6ms no timer is armed; freeing
 * one slot lets the second sender in (its 22 is received at 6ms); the token cancel wakes
 * nobody; the selector's result is SIM_ECANCELED, its probe was dropped once, there is no
 * violation, the run ends at 6ms and every object is freed. */
Test(combine, select_drop_on_abort_releases_everything, .timeout = 10)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    abort_out o = {.recv_rc = SIM_PENDING, .victim_rc = SIM_PENDING, .s2_rc = SIM_PENDING};
    sim_chan_desc bd = u32_desc(SIM_CHAN_MPSC, 1);
    sim_chan_desc ed = u32_desc(SIM_CHAN_MPSC, 0);
    selector s = {.out = &o, .msg = 11};
    aborter a = {.out = &o};
    sender s2 = {.delay_ns = 1 * SIM_MS, .count = 1, .msg = 22, .rc_out = &o.s2_rc,
                 .at_out = &o.s2_at};
    cr_assert(eq(int, sim_chan_new(w, &bd, &s.btx, &a.brx), SIM_OK));
    cr_assert(eq(int, sim_try_send(w, &s.btx, &(uint32_t){1}), SIM_OK));
    cr_assert(eq(int, sim_tx_clone(w, &s.btx, &s2.tx), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &ed, &a.etx, &s.erx), SIM_OK));
    cr_assert(eq(int, sim_token_new(w, NULL, &s.tok), SIM_OK));
    cr_assert(eq(int, sim_token_clone(w, &s.tok, &a.tok), SIM_OK));
    a.victim = test_spawn_moves(w, "selector", NO_NODE, selector_poll, &s, sizeof s,
                                SIM_MOVES(&s.btx, &s.erx, &s.tok));
    spawn_sender(w, &s2);
    sim_join ja = test_spawn_moves(w, "aborter", NO_NODE, aborter_poll, &a, sizeof a,
                                   SIM_MOVES(&a.brx, &a.etx, &a.tok));
    cr_assert(eq(int, join_rc(w, &ja), SIM_OK));
    test_run_ok(w);
    cr_assert(eq(int, o.victim_rc, SIM_ECANCELED));
    cr_assert(eq(u32, o.armed_at_6ms, 0));
    cr_assert(eq(int, o.s2_rc, SIM_OK));
    cr_assert(eq(u64, o.s2_at, 6 * SIM_MS));
    cr_assert(eq(int, o.recv_rc, SIM_OK));
    cr_assert(eq(u32, o.got, 22));
    cr_assert(eq(u32, o.p.drops, 1));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u64, sim_now(w), 6 * SIM_MS));
    sim_stats st = test_stats(w);
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(eq(u32, st.objects_live, 0));
    sim_world_free(w);
}

/* ---- select over branches that live elsewhere ---------------------------------------------- */

typedef struct ticker {
    sim_co co;
    sim_rx rx;
    sim_tx keep;          /* a sender of its own, so that the channel never closes */
    sim_interval every;
    sim_tick_op tick;     /* in the state block, re-made after every select (a loser is dropped) */
    sim_recv_op recv;
    uint32_t v;
    int which;
    uint32_t ticks;
    uint32_t *msgs;
    uint64_t *tick_at;    /* [3] */
} ticker;

static int ticker_poll(void *state, sim_world *w)
{
    ticker *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    sim_interval_init(w, &t->every, 10 * SIM_MS);
    while (t->ticks < 3) {
        t->tick = sim_tick(&t->every);
        t->recv = sim_recv(&t->rx, &t->v);
        SIM_AWAIT(rc, sim_select_futs(&t->which, (sim_fut *const[]){&t->tick.fut,
                                                                     &t->recv.fut}, 2));
        if (t->which == 0) {
            t->tick_at[t->ticks++] = sim_now(w);
        } else {
            cr_assert(eq(int, rc, SIM_OK));
            (*t->msgs)++;
        }
    }
    sim_fut_drop(w, &t->recv.fut); /* dropped already by the select: idempotent */
    SIM_END(SIM_OK);
}

/* Goal: sim_select_futs polls branches kept in the state block and drops its losers without
 * freeing them; the interval keeps its phase while messages win in between.
 * Method: select_futs(tick every 10ms, recv), both re-made in the state each iteration, while
 * senders send at 5, 15 and 25ms: ticks at exactly 10, 20 and 30ms and three messages; no
 * violation, no timer or object left. */
Test(combine, select_futs_keeps_the_interval_phase)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    uint64_t tick_at[3] = {0};
    uint32_t msgs = 0;
    ticker t = {.tick_at = tick_at, .msgs = &msgs};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sim_tx tx;
    cr_assert(eq(int, sim_chan_new(w, &d, &tx, &t.rx), SIM_OK));
    for (uint32_t i = 0; i < 3; i++) {
        sender s = {.delay_ns = (5 + 10 * i) * SIM_MS, .count = 1, .msg = i};
        cr_assert(eq(int, sim_tx_clone(w, &tx, &s.tx), SIM_OK));
        spawn_sender(w, &s);
    }
    t.keep = tx;
    sim_join j = test_spawn_moves(w, "ticker", NO_NODE, ticker_poll, &t, sizeof t,
                                  SIM_MOVES(&t.rx, &t.keep));
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    for (uint32_t i = 0; i < 3; i++) cr_assert(eq(u64, tick_at[i], (i + 1) * 10 * SIM_MS));
    cr_assert(eq(u32, msgs, 3));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* ---- join_all ------------------------------------------------------------------------------ */

#define SNAP_MAX 16

typedef struct snapshot {
    uint64_t at;
    int rc;
    int results[4];
} snapshot;

typedef struct join_all_out {
    uint32_t nsnaps;
    snapshot snaps[SNAP_MAX];
    uint32_t value;
    int64_t child_output;
    probe_rec p[2];
} join_all_out;

/* Awaits four branches with join_all and snapshots the results after every poll:
 * probe (3ms -> SIM_OK), probe (1ms -> SIM_ECLOSED), a recv (a message arrives at 2ms) and
 * the join handle of a child that finishes at 4ms with output 42. */
typedef struct joiner {
    sim_co co;
    join_all_out *out;
    sim_rx rx;
    sim_join kid;
    uint32_t v;
    int results[4];
    sim_join_all_op ja;
} joiner;

/* An awaitable that polls the joiner's join_all and takes a snapshot after each poll. */
typedef struct snap_op {
    sim_fut fut;
    joiner *s;
} snap_op;

static int snap_poll(sim_fut *f, sim_world *w)
{
    joiner *s = ((snap_op *)f)->s;
    int rc = sim_fut_poll(w, &s->ja.fut);
    join_all_out *o = s->out;
    cr_assert(lt(u32, o->nsnaps, SNAP_MAX));
    snapshot *sn = &o->snaps[o->nsnaps++];
    sn->at = sim_now(w);
    sn->rc = rc;
    memcpy(sn->results, s->results, sizeof sn->results);
    return rc;
}

static void snap_drop(sim_fut *f, sim_world *w)
{
    sim_fut_drop(w, &((snap_op *)f)->s->ja.fut);
}

static const sim_fut_vt snap_vt = {.name = "snap", .poll = snap_poll, .drop = snap_drop};

static int joiner_poll(void *state, sim_world *w)
{
    joiner *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    s->ja = sim_join_all(w, s->results, probe(3 * SIM_MS, SIM_OK, &s->out->p[0]),
                         probe(1 * SIM_MS, SIM_ECLOSED, &s->out->p[1]), sim_recv(&s->rx, &s->v),
                         sim_join_wait(&s->kid));
    SIM_AWAIT(rc, ((snap_op){.fut = SIM_FUT_INIT(&snap_vt), .s = s}));
    s->out->value = s->v;
    s->out->child_output = s->kid.output;
    SIM_END(rc);
}

/* Goal: join_all collects every result (errors too) in its slot, each slot stays SIM_PENDING
 * until its branch completes, and join_all completes exactly when the last one does.
 * Method: four branches completing at 3ms (SIM_OK), 1ms (SIM_ECLOSED), 2ms (a message, 55) and
 * 4ms (a child task with output 42); after every poll the results are snapshotted: a slot is
 * SIM_PENDING exactly while the time is before its completion, join_all is pending before 4ms
 * and SIM_OK at 4ms; the message and output arrive; no probe was dropped (they completed). */
Test(combine, join_all_collects_all_results)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    join_all_out o = {0};
    joiner s = {.out = &o};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sender tx = {.delay_ns = 2 * SIM_MS, .count = 1, .msg = 55};
    cr_assert(eq(int, sim_chan_new(w, &d, &tx.tx, &s.rx), SIM_OK));
    s.kid = spawn_child(w);
    spawn_sender(w, &tx);
    sim_join j = test_spawn_moves(w, "joiner", NO_NODE, joiner_poll, &s, sizeof s,
                                  SIM_MOVES(&s.rx, &s.kid));
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    const uint64_t done_at[4] = {3 * SIM_MS, 1 * SIM_MS, 2 * SIM_MS, 4 * SIM_MS};
    const int want[4] = {SIM_OK, SIM_ECLOSED, SIM_OK, SIM_OK};
    cr_assert(le(u32, 5, o.nsnaps)); /* at least one poll at 0, 1, 2, 3 and 4ms */
    for (uint32_t k = 0; k < o.nsnaps; k++) {
        const snapshot *sn = &o.snaps[k];
        for (int i = 0; i < 4; i++) {
            int expect = sn->at >= done_at[i] ? want[i] : SIM_PENDING;
            cr_assert(eq(int, sn->results[i], expect), "snapshot %u at %llu ns, branch %d", k,
                      (unsigned long long)sn->at, i);
        }
        bool last = k + 1 == o.nsnaps;
        cr_assert(eq(int, sn->rc, last ? SIM_OK : SIM_PENDING), "snapshot %u", k);
        if (!last) cr_assert(lt(u64, sn->at, 4 * SIM_MS), "snapshot %u", k);
    }
    cr_assert(eq(u64, o.snaps[0].at, 0));
    cr_assert(eq(u64, o.snaps[o.nsnaps - 1].at, 4 * SIM_MS));
    cr_assert(eq(u32, o.value, 55));
    cr_assert(eq(i64, o.child_output, 42));
    for (int i = 0; i < 2; i++) cr_assert(eq(u32, o.p[i].drops, 0), "probe %d", i);
    cr_assert(eq(u64, sim_now(w), 4 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* join_all over (probe 1ms -> OK, sleep 1s, probe never), results in the test's array: waits
 * to be aborted. */
typedef struct jdropper {
    sim_co co;
    probe_rec *recs;     /* [2] */
    int *results;        /* [3] */
} jdropper;

static int jdropper_poll(void *state, sim_world *w)
{
    jdropper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_join_all(w, s->results, probe(1 * SIM_MS, SIM_OK, &s->recs[0]),
                               sim_sleep(w, 1 * SIM_S), probe(NEVER, SIM_OK, &s->recs[1])));
    SIM_END(rc);
}

/* Aborts its victim at `at`, joins it and counts the timers still armed. */
typedef struct killer {
    sim_co co;
    sim_join victim;
    uint64_t at;
    int *victim_rc;
    uint32_t *armed_after;
} killer;

static int killer_poll(void *state, sim_world *w)
{
    killer *k = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &k->co);
    SIM_AWAIT(rc, sim_sleep_until(k->at));
    sim_join_abort(w, &k->victim);
    SIM_AWAIT(rc, sim_join_wait(&k->victim));
    *k->victim_rc = rc;
    *k->armed_after = test_timers_armed(w);
    SIM_END(SIM_OK);
}

/* Goal: a task aborted mid-join_all drops the unfinished branches and leaves the finished
 * ones alone, with no drop function.
 * Method: join_all over (probe 1ms, sleep 1s, probe never); abort the task at 10ms: its
 * result is SIM_ECANCELED; results are SIM_OK, SIM_ECANCELED, SIM_ECANCELED; the finished
 * probe was not dropped, the never probe once; the 1s timer is released (no timer armed
 * after the abort, no leak violation) and the run ends at 10ms. */
Test(combine, join_all_drop_cancels_unfinished)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    probe_rec recs[2] = {{0}};
    int results[3] = {99, 99, 99};
    int victim_rc = SIM_PENDING;
    uint32_t armed_after = 99;
    jdropper s = {.recs = recs, .results = results};
    killer k = {.at = 10 * SIM_MS, .victim_rc = &victim_rc, .armed_after = &armed_after};
    k.victim = test_spawn(w, "joiner", NO_NODE, jdropper_poll, NULL, &s, sizeof s);
    test_spawn_moves(w, "killer", NO_NODE, killer_poll, &k, sizeof k, SIM_MOVES(&k.victim));
    test_run_ok(w);
    cr_assert(eq(int, victim_rc, SIM_ECANCELED));
    cr_assert(eq(int, results[0], SIM_OK));
    cr_assert(eq(int, results[1], SIM_ECANCELED));
    cr_assert(eq(int, results[2], SIM_ECANCELED));
    cr_assert(eq(u32, recs[0].drops, 0));
    cr_assert(eq(u32, recs[1].drops, 1));
    cr_assert(eq(u32, armed_after, 0));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Polls a join_all by hand once, then drops it, twice. */
typedef struct jinline {
    sim_co co;
    probe_rec *recs;     /* [2] */
    int *results;        /* [3] */
    uint32_t *armed;     /* [2]: after the poll, after the drop */
    sim_join_all_op ja;
} jinline;

static int jinline_poll(void *state, sim_world *w)
{
    jinline *s = state;
    s->ja = sim_join_all(w, s->results, probe(0, SIM_OK, &s->recs[0]), sim_sleep(w, 1 * SIM_S),
                         probe(NEVER, SIM_OK, &s->recs[1]));
    cr_assert(eq(int, sim_fut_poll(w, &s->ja.fut), SIM_PENDING));
    s->armed[0] = test_timers_armed(w);
    sim_fut_drop(w, &s->ja.fut);
    sim_fut_drop(w, &s->ja.fut);
    s->armed[1] = test_timers_armed(w);
    return SIM_OK;
}

/* Goal: sim_fut_drop of a join_all polled by hand releases the unfinished branches at once,
 * and a second drop does not drop anything twice.
 * Method: join_all over (probe ready at once, sleep 1s, probe never); after one pending poll
 * (one timer armed), drop it twice: no timer armed, the ready probe was not dropped, the
 * never probe once, results SIM_OK, SIM_ECANCELED, SIM_ECANCELED; the task ends at t=0 with
 * no violation. */
Test(combine, join_all_drop_by_hand)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    probe_rec recs[2] = {{0}};
    int results[3] = {99, 99, 99};
    uint32_t armed[2] = {99, 99};
    jinline s = {.recs = recs, .results = results, .armed = armed};
    sim_join j = test_spawn(w, "jinline", NO_NODE, jinline_poll, NULL, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(u32, armed[0], 1));
    cr_assert(eq(u32, armed[1], 0));
    cr_assert(eq(int, results[0], SIM_OK));
    cr_assert(eq(int, results[1], SIM_ECANCELED));
    cr_assert(eq(int, results[2], SIM_ECANCELED));
    cr_assert(eq(u32, recs[0].drops, 0));
    cr_assert(eq(u32, recs[1].drops, 1));
    cr_assert(eq(u64, sim_now(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- timeout ------------------------------------------------------------------------------- */

typedef struct timeout_out {
    int rc;
    uint64_t at;
    uint32_t value;
    uint32_t armed_after;
    probe_rec recv;      /* the inner recv's polls and drops */
    int later_rc;        /* a try_recv after the timeout, once a message was sent */
    uint32_t later_value;
} timeout_out;

/* Sleeps until start_ns, then receives with a timeout of limit_ns. With `own_tx`, it also
 * holds the only sender (so nothing ever arrives) and, after the timeout, sends 9 itself and
 * try_recvs it. */
typedef struct waiter {
    sim_co co;
    timeout_out *out;
    bool own_tx;
    uint64_t start_ns;
    uint64_t limit_ns;
    sim_rx rx;
    sim_tx tx;
    uint32_t v;
} waiter;

static int waiter_poll(void *state, sim_world *w)
{
    waiter *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep_until(s->start_ns));
    SIM_AWAIT(rc, sim_timeout(w, s->limit_ns, counted_recv(&s->rx, &s->v, &s->out->recv)));
    s->out->rc = rc;
    s->out->at = sim_now(w);
    s->out->value = s->v;
    s->out->armed_after = test_timers_armed(w);
    if (s->own_tx) {
        uint32_t nine = 9;
        s->out->later_rc = sim_try_send(w, &s->tx, &nine);
        if (s->out->later_rc == SIM_OK) {
            s->out->later_rc = sim_try_recv(w, &s->rx, &s->out->later_value);
        }
    }
    SIM_END(SIM_OK);
}

static sim_join spawn_waiter(sim_world *w, const waiter *s)
{
    const void *moves[3] = {&s->rx, NULL, NULL};
    if (sim_handle_valid(w, &s->tx)) moves[1] = &s->tx;
    return test_spawn_moves(w, "waiter", NO_NODE, waiter_poll, s, sizeof *s, moves);
}

/* Goal: a timeout around a recv that never arrives returns SIM_ETIMEDOUT at exactly the
 * deadline, and drops the inner future and its own timer.
 * Method: start at 3ms, timeout 50ms, the task holds the only sender: SIM_ETIMEDOUT at exactly
 * 53ms, the recv dropped once, no timer armed; a message sent afterwards is still there for
 * try_recv (the abandoned recv took nothing); the run ends at 53ms. */
Test(combine, timeout_expires_at_deadline_drops_inner)
{
    sim_world *w = test_world(8, SIM_SCHED_RANDOM);
    timeout_out o = {.rc = SIM_PENDING, .later_rc = SIM_PENDING};
    waiter s = {.out = &o, .own_tx = true, .start_ns = 3 * SIM_MS, .limit_ns = 50 * SIM_MS};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    cr_assert(eq(int, sim_chan_new(w, &d, &s.tx, &s.rx), SIM_OK));
    sim_join j = spawn_waiter(w, &s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, o.rc, SIM_ETIMEDOUT));
    cr_assert(eq(u64, o.at, 53 * SIM_MS));
    cr_assert(eq(u32, o.recv.drops, 1));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(int, o.later_rc, SIM_OK));
    cr_assert(eq(u32, o.later_value, 9));
    cr_assert(eq(u64, sim_now(w), 53 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: a timeout whose inner future completes first returns the inner result and disarms its
 * timer.
 * Method: timeout 50ms around a recv; a task sends 7 at 10ms: SIM_OK with 7 at 10ms, the recv
 * not dropped (it completed), no timer armed right after; the run ends at 10ms and only the
 * sender's timer ever fired. */
Test(combine, timeout_inner_first_disarms_timer)
{
    sim_world *w = test_world(9, SIM_SCHED_RANDOM);
    timeout_out o = {.rc = SIM_PENDING};
    waiter s = {.out = &o, .limit_ns = 50 * SIM_MS};
    sender tx = {.delay_ns = 10 * SIM_MS, .count = 1, .msg = 7};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    cr_assert(eq(int, sim_chan_new(w, &d, &tx.tx, &s.rx), SIM_OK));
    spawn_sender(w, &tx);
    sim_join j = spawn_waiter(w, &s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(u32, o.value, 7));
    cr_assert(eq(u64, o.at, 10 * SIM_MS));
    cr_assert(eq(u32, o.recv.drops, 0));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    sim_stats st = test_stats(w);
    cr_assert(eq(u64, st.timers_fired, 1));
    cr_assert(eq(u32, st.violations, 0));
    sim_world_free(w);
}

/* Goal: an inner error result also wins over the timeout (it is the inner result, not
 * SIM_ETIMEDOUT), and the timer is disarmed.
 * Method: timeout 50ms around a recv whose only sender is dropped at 5ms: SIM_ECLOSED at 5ms,
 * no timer armed, the run ends at 5ms. */
Test(combine, timeout_passes_inner_error)
{
    sim_world *w = test_world(10, SIM_SCHED_RANDOM);
    timeout_out o = {.rc = SIM_PENDING};
    waiter s = {.out = &o, .limit_ns = 50 * SIM_MS};
    sender tx = {.delay_ns = 5 * SIM_MS, .count = 0};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    cr_assert(eq(int, sim_chan_new(w, &d, &tx.tx, &s.rx), SIM_OK));
    spawn_sender(w, &tx);
    sim_join j = spawn_waiter(w, &s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    cr_assert(eq(int, o.rc, SIM_ECLOSED));
    cr_assert(eq(u64, o.at, 5 * SIM_MS));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(u32, o.recv.drops, 0));
    cr_assert(eq(u64, sim_now(w), 5 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a task aborted mid-timeout drops the inner future and releases the timer, with no
 * drop function.
 * Method: a waiter in a 1s timeout around a recv that never arrives is aborted at 10ms; its
 * inner recv was dropped once (seen through the counting recv), no timer remains, no leak
 * violation, every object is freed and the run ends at 10ms, not 1s. */
Test(combine, timeout_drop_on_abort)
{
    sim_world *w = test_world(11, SIM_SCHED_RANDOM);
    timeout_out o = {.rc = SIM_PENDING};
    int victim_rc = SIM_PENDING;
    uint32_t armed_after = 99;
    waiter s = {.out = &o, .limit_ns = 1 * SIM_S};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    cr_assert(eq(int, sim_chan_new(w, &d, &s.tx, &s.rx), SIM_OK));
    killer k = {.at = 10 * SIM_MS, .victim_rc = &victim_rc, .armed_after = &armed_after};
    k.victim = spawn_waiter(w, &s);
    test_spawn_moves(w, "killer", NO_NODE, killer_poll, &k, sizeof k, SIM_MOVES(&k.victim));
    test_run_ok(w);
    cr_assert(eq(int, victim_rc, SIM_ECANCELED));
    cr_assert(eq(int, o.rc, SIM_PENDING)); /* never completed */
    cr_assert(eq(u32, o.recv.drops, 1));
    cr_assert(eq(u32, armed_after, 0));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* ---- join handles raced in a select or a timeout ------------------------------------------- */

typedef struct join_race_out {
    int rc;
    int winner;
    uint32_t task;
    int64_t output;
    bool handle_empty;
} join_race_out;

typedef struct join_race {
    sim_co co;
    join_race_out *out;
    sim_join kid;
    int which;
} join_race;

static int join_race_poll(void *state, sim_world *w)
{
    join_race *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_select(w, &s->which, sim_join_wait(&s->kid), sim_sleep(w, 1 * SIM_S)));
    s->out->rc = rc;
    s->out->winner = s->which;
    s->out->task = s->kid.task.v;
    s->out->output = s->kid.output;
    s->out->handle_empty = !sim_handle_valid(w, &s->kid);
    SIM_END(SIM_OK);
}

/* Goal: a join handle awaited inside a select is consumed as sim.h says for sim_join_wait
 * ("emptied, except task and output"): the winner's result, task id and output all reach the
 * caller, and the losing 1s sleep is released.
 * Method: select(join of a child finishing at 4ms with output 42, sleep 1s): winner 0 with
 * SIM_OK at 4ms; afterwards the handle is no longer valid but still names the child's task id
 * and holds 42. */
Test(combine, select_join_keeps_task_and_output)
{
    sim_world *w = test_world(12, SIM_SCHED_RANDOM);
    join_race_out o = {.rc = SIM_PENDING, .winner = -2};
    join_race s = {.out = &o};
    s.kid = spawn_child(w);
    uint32_t kid_id = s.kid.task.v;
    sim_join j = test_spawn_moves(w, "race", NO_NODE, join_race_poll, &s, sizeof s,
                                  SIM_MOVES(&s.kid));
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    uint64_t end = sim_now(w);
    uint32_t nviol = sim_world_violation_count(w);
    sim_world_free(w);
    cr_assert(eq(int, o.winner, 0));
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(i64, o.output, 42));
    cr_assert(o.handle_empty);
    cr_assert(eq(u64, end, 4 * SIM_MS));
    cr_assert(eq(u32, nviol, 0));
    cr_assert(ne(u32, kid_id, 0));
    cr_assert(eq(u32, o.task, kid_id), "the consumed handle lost its task id");
}

/* Sleeps forever (until aborted). */
typedef struct sleeper {
    sim_co co;
} sleeper;

static int sleeper_poll(void *state, sim_world *w)
{
    sleeper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, UINT64_MAX));
    SIM_END(rc);
}

typedef struct abortable {
    sim_co co;
    bool use_timeout;
    sim_join kid;
    int which;
    int *lost_rc;        /* the select's or timeout's result */
    int *join_rc;        /* the join after the abort */
    uint64_t *join_at;
} abortable;

static int abortable_poll(void *state, sim_world *w)
{
    abortable *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    if (a->use_timeout) {
        SIM_AWAIT(rc, sim_timeout(w, 1 * SIM_MS, sim_join_wait(&a->kid)));
    } else {
        SIM_AWAIT(rc, sim_select(w, &a->which, sim_join_wait(&a->kid), sim_sleep(w, 1 * SIM_MS)));
    }
    *a->lost_rc = rc;
    sim_join_abort(w, &a->kid);
    SIM_AWAIT(rc, sim_join_wait(&a->kid));
    *a->join_rc = rc;
    *a->join_at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Runs abortable (select or timeout) against a child that sleeps forever. */
static void abortable_scenario(uint64_t seed, bool use_timeout)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    int lost_rc = SIM_PENDING, join_rc_ = SIM_PENDING;
    uint64_t join_at = 0;
    sleeper c = {0};
    abortable a = {.use_timeout = use_timeout, .lost_rc = &lost_rc, .join_rc = &join_rc_,
                   .join_at = &join_at};
    a.kid = test_spawn(w, "kid", NO_NODE, sleeper_poll, NULL, &c, sizeof c);
    test_spawn_moves(w, "abortable", NO_NODE, abortable_poll, &a, sizeof a, SIM_MOVES(&a.kid));
    test_run_ok(w); /* a kid left running after a lost abort would keep the run going */
    cr_assert(eq(int, lost_rc, use_timeout ? SIM_ETIMEDOUT : SIM_OK));
    cr_assert(eq(int, join_rc_, SIM_ECANCELED));
    cr_assert(eq(u64, join_at, 1 * SIM_MS));
    cr_assert(eq(u64, sim_now(w), 1 * SIM_MS));
    cr_assert(eq(u32, test_stats(w).tasks_live, 1)); /* abortable's own, unjoined */
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: (issue 16 defect) a join handle awaited in a select branch that loses stays usable: a
 * later abort stops the task and a later join sees SIM_ECANCELED.
 * Method: select(join of a child sleeping forever, sleep 1ms): the sleep wins at 1ms; then
 * abort and join: SIM_ECANCELED at 1ms, and the run ends (no task left). */
Test(combine, join_in_lost_select_branch_stays_abortable)
{
    abortable_scenario(13, false);
}

/* Goal: (issue 16 defect) the same for a join handle awaited under a timeout that expires.
 * Method: timeout(1ms, join of a child sleeping forever): SIM_ETIMEDOUT at 1ms; then abort
 * and join: SIM_ECANCELED at 1ms, and the run ends. */
Test(combine, join_under_expired_timeout_stays_abortable)
{
    abortable_scenario(14, true);
}
