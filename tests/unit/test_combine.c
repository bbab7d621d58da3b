/*
 * test_combine.c: select, join_all and timeout, through sim.h: winners and their results,
 * losers dropped (and their timers released), biased ties, dropping a combinator from an
 * aborted task, join_all's per-future results, and timeouts at exactly the deadline.
 */
#include "../helpers.h"

static const sim_node_id NO_NODE = {0};

#define NEVER UINT64_MAX

static int join_rc(sim_world *w, sim_join *j)
{
    return sim_block_on(w, sim_join_future(j));
}

/* ---- a probe future ------------------------------------------------------------------------ */

/* Completes with `result` delay_ns after its first poll (NEVER: stays pending and arms
 * nothing). Counts its polls and drops and remembers the last drop mode. */
typedef struct probe {
    uint64_t delay_ns;
    int result;
    bool started;
    sim_sleep nap;
    uint32_t polls;
    uint32_t drops;
    sim_drop_mode mode;
} probe;

static int probe_poll(void *state, sim_world *w)
{
    probe *p = state;
    p->polls++;
    cr_assert(eq(u32, p->drops, 0), "a probe was polled after it was dropped");
    if (p->delay_ns == NEVER) return SIM_PENDING;
    if (!p->started) {
        p->started = true;
        sim_sleep_init(w, &p->nap, p->delay_ns);
    }
    int rc = sim_sleep_poll(w, &p->nap);
    return rc == SIM_OK ? p->result : rc;
}

static void probe_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    probe *p = state;
    p->drops++;
    p->mode = mode;
    sim_sleep_drop(w, &p->nap);
}

static sim_future probe_future(probe *p)
{
    return (sim_future){.poll = probe_poll, .drop = probe_drop, .state = p};
}

static probe make_probe(uint64_t delay_ns, int result)
{
    return (probe){.delay_ns = delay_ns, .result = result};
}

/* A recv future that counts its drops: to see that combinators drop what they own. */
typedef struct recv_probe {
    sim_rx *rx;
    void *out;
    uint32_t drops;
    sim_drop_mode mode;
} recv_probe;

static int recv_probe_poll(void *state, sim_world *w)
{
    recv_probe *r = state;
    cr_assert(eq(u32, r->drops, 0), "a recv was polled after it was dropped");
    return sim_recv(w, r->rx, r->out);
}

static void recv_probe_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    recv_probe *r = state;
    (void)w;
    r->drops++;
    r->mode = mode;
}

static sim_future recv_probe_future(recv_probe *r)
{
    return (sim_future){.poll = recv_probe_poll, .drop = recv_probe_drop, .state = r};
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
    sim_sleep nap;
    sim_send_op op;
} sender;

static int sender_poll(void *state, sim_world *w)
{
    sender *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    sim_sleep_init(w, &s->nap, s->delay_ns);
    SIM_AWAIT(&s->co, rc, sim_sleep_poll(w, &s->nap));
    if (s->count > 0) {
        sim_send_op_init(&s->op, &s->tx, &s->msg);
        SIM_AWAIT(&s->co, rc, sim_send_poll(w, &s->op));
        if (s->rc_out != NULL) *s->rc_out = rc;
        if (s->at_out != NULL) *s->at_out = sim_now(w);
    }
    sim_tx_drop(w, &s->tx);
    SIM_END(&s->co, rc);
}

static void sender_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    sender *s = state;
    (void)mode;
    sim_sleep_drop(w, &s->nap);
    sim_send_op_drop(w, &s->op);
    sim_tx_drop(w, &s->tx);
}

static sim_join spawn_sender(sim_world *w, const sender *s)
{
    return test_spawn(w, "sender", NO_NODE, sender_poll, sender_drop, s, sizeof *s);
}

static sim_chan_desc u32_desc(sim_chan_kind kind, uint32_t capacity)
{
    return (sim_chan_desc){.kind = kind, .msg_size = sizeof(uint32_t), .capacity = capacity};
}

/* ---- select -------------------------------------------------------------------------------- */

typedef struct select_out {
    int rc;
    int32_t winner;
    uint64_t at;
    uint32_t armed_after; /* timers armed right after the select completed */
} select_out;

typedef struct two_sleeps {
    sim_co co;
    select_out *out;
    sim_sleep long_nap;
    sim_sleep short_nap;
    sim_future f[2];
    sim_select sel;
} two_sleeps;

static int two_sleeps_poll(void *state, sim_world *w)
{
    two_sleeps *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    sim_sleep_init(w, &s->long_nap, 1 * SIM_S);
    sim_sleep_init(w, &s->short_nap, 10 * SIM_MS);
    s->f[0] = sim_sleep_future(&s->long_nap);
    s->f[1] = sim_sleep_future(&s->short_nap);
    sim_select_init(&s->sel, s->f, 2);
    SIM_AWAIT(&s->co, rc, sim_select_poll(w, &s->sel));
    s->out->rc = rc;
    s->out->winner = s->sel.winner;
    s->out->at = sim_now(w);
    s->out->armed_after = test_timers_armed(w);
    SIM_END(&s->co, rc);
}

static void two_sleeps_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    two_sleeps *s = state;
    (void)mode;
    sim_select_drop(w, &s->sel);
}

/* Goal: the first future to complete wins, and the losers are dropped: a 1s sleep that loses
 * against a 10ms sleep leaves no armed timer behind.
 * Method: select(sleep 1s, sleep 10ms): winner 1 with SIM_OK at 10ms; right after, zero timers
 * are armed; the run ends at virtual time 10ms with one timer fired and no violation (a
 * leaked timer would be a leak violation). */
Test(combine, select_first_wins_losers_dropped)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    select_out o = {.rc = SIM_PENDING, .winner = -2};
    two_sleeps s = {.out = &o};
    sim_join j = test_spawn(w, "select", NO_NODE, two_sleeps_poll, two_sleeps_drop, &s,
                            sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    cr_assert(eq(int, o.winner, 1));
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(u64, o.at, 10 * SIM_MS));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u64, st.timers_fired, 1));
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(eq(u32, st.violations, 0));
    sim_world_free(w);
}

typedef struct three_probes {
    sim_co co;
    select_out *out;
    probe *final;       /* the probes as they were after the select (and a second drop) */
    probe p[3];
    sim_future f[3];
    sim_select sel;
} three_probes;

static int three_probes_poll(void *state, sim_world *w)
{
    three_probes *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    for (int i = 0; i < 3; i++) s->f[i] = probe_future(&s->p[i]);
    sim_select_init(&s->sel, s->f, 3);
    SIM_AWAIT(&s->co, rc, sim_select_poll(w, &s->sel));
    s->out->rc = rc;
    s->out->winner = s->sel.winner;
    s->out->at = sim_now(w);
    s->out->armed_after = test_timers_armed(w);
    sim_select_drop(w, &s->sel); /* a drop function would do this: must not drop again */
    for (int i = 0; i < 3; i++) s->final[i] = s->p[i];
    SIM_END(&s->co, SIM_OK);
}

static void three_probes_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    three_probes *s = state;
    (void)mode;
    sim_select_drop(w, &s->sel);
}

/* Goal: select returns the winner's index and its result (an error result too), drops the
 * winner as done and every loser as aborted, each exactly once.
 * Method: probes (never), (5ms -> SIM_ECLOSED), (20ms -> SIM_OK): winner 1 with SIM_ECLOSED at
 * 5ms; drops: 1 each, modes ABORT, DONE, ABORT; no timer armed afterwards; a later
 * sim_select_drop drops nothing more. */
Test(combine, select_returns_winner_result_drops_each_once)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    select_out o = {.rc = SIM_PENDING, .winner = -2};
    probe final[3] = {{0}};
    three_probes s = {.out = &o, .final = final,
                      .p = {make_probe(NEVER, SIM_OK), make_probe(5 * SIM_MS, SIM_ECLOSED),
                            make_probe(20 * SIM_MS, SIM_OK)}};
    sim_join j = test_spawn(w, "select", NO_NODE, three_probes_poll, three_probes_drop, &s,
                            sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, o.winner, 1));
    cr_assert(eq(int, o.rc, SIM_ECLOSED));
    cr_assert(eq(u64, o.at, 5 * SIM_MS));
    cr_assert(eq(u32, o.armed_after, 0));
    const sim_drop_mode modes[3] = {SIM_DROP_ABORT, SIM_DROP_DONE, SIM_DROP_ABORT};
    for (int i = 0; i < 3; i++) {
        cr_assert(eq(u32, final[i].drops, 1), "probe %d", i);
        cr_assert(eq(int, (int)final[i].mode, (int)modes[i]), "probe %d", i);
    }
    cr_assert(eq(u64, sim_now(w), 5 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Runs three selects in sequence, each over two futures that are ready at the same time. */
typedef struct ties {
    sim_co co;
    int32_t *winners;   /* [4] */
    uint32_t *values;   /* [2]: messages won by the channel selects */
    uint32_t *rx2_left; /* messages left in rx2 after the first channel select */
    probe *second;      /* [1]: the loser of the "ready at once" select */
    probe p[2];
    sim_sleep a;
    sim_sleep b;
    sim_tx tx1, tx2;
    sim_rx rx1, rx2;
    uint32_t v;
    sim_recv_op r1, r2;
    sim_future f[2];
    sim_select sel;
} ties;

static int ties_poll(void *state, sim_world *w)
{
    ties *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    /* Both ready at the first poll. */
    s->f[0] = probe_future(&s->p[0]);
    s->f[1] = probe_future(&s->p[1]);
    sim_select_init(&s->sel, s->f, 2);
    SIM_AWAIT(&s->co, rc, sim_select_poll(w, &s->sel));
    s->winners[0] = s->sel.winner;
    *s->second = s->p[1];
    /* Both sleeps end at 5ms and fire in the same step. */
    sim_sleep_until_init(w, &s->a, 5 * SIM_MS);
    sim_sleep_until_init(w, &s->b, 5 * SIM_MS);
    s->f[0] = sim_sleep_future(&s->b);
    s->f[1] = sim_sleep_future(&s->a);
    sim_select_init(&s->sel, s->f, 2);
    SIM_AWAIT(&s->co, rc, sim_select_poll(w, &s->sel));
    s->winners[1] = s->sel.winner;
    /* Two channels, each holding a message: the earlier entry wins and the other message is
     * not consumed. */
    s->r1 = (sim_recv_op){.rx = &s->rx1, .out = &s->v};
    s->r2 = (sim_recv_op){.rx = &s->rx2, .out = &s->v};
    s->f[0] = sim_recv_future(&s->r1);
    s->f[1] = sim_recv_future(&s->r2);
    sim_select_init(&s->sel, s->f, 2);
    SIM_AWAIT(&s->co, rc, sim_select_poll(w, &s->sel));
    s->winners[2] = s->sel.winner;
    s->values[0] = s->v;
    *s->rx2_left = sim_rx_len(w, &s->rx2);
    sim_send(w, &s->tx1, &(uint32_t){11});
    s->f[0] = sim_recv_future(&s->r2);
    s->f[1] = sim_recv_future(&s->r1);
    sim_select_init(&s->sel, s->f, 2);
    SIM_AWAIT(&s->co, rc, sim_select_poll(w, &s->sel));
    s->winners[3] = s->sel.winner;
    s->values[1] = s->v;
    SIM_END(&s->co, rc);
}

static void ties_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    ties *s = state;
    (void)mode;
    sim_select_drop(w, &s->sel);
    sim_sleep_drop(w, &s->a);
    sim_sleep_drop(w, &s->b);
    sim_tx_drop(w, &s->tx1);
    sim_tx_drop(w, &s->tx2);
    sim_rx_drop(w, &s->rx1);
    sim_rx_drop(w, &s->rx2);
}

/* Goal: select is biased: on a tie the earlier future in the array wins, and later ones are not
 * even polled once an earlier one is ready.
 * Method: (1) two futures ready at once: winner 0 and the second was never polled, only
 * dropped; (2) two sleeps ending at the same 5ms: winner 0; (3) two channels each holding a
 * message, [rx1, rx2]: winner 0 with rx1's message, rx2 keeps its message; then [rx2, rx1]
 * with both holding one: winner 0 with rx2's message. */
Test(combine, select_biased_on_ties)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    int32_t winners[4] = {-2, -2, -2, -2};
    uint32_t values[2] = {0, 0}, rx2_left = 0;
    probe second = {0};
    ties s = {.winners = winners, .values = values, .rx2_left = &rx2_left, .second = &second,
              .p = {make_probe(0, SIM_OK), make_probe(0, SIM_OK)}};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    cr_assert(eq(int, sim_chan_new(w, &d, &s.tx1, &s.rx1), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &d, &s.tx2, &s.rx2), SIM_OK));
    cr_assert(eq(int, sim_send(w, &s.tx1, &(uint32_t){1}), SIM_OK));
    cr_assert(eq(int, sim_send(w, &s.tx2, &(uint32_t){2}), SIM_OK));
    sim_join j = test_spawn(w, "ties", NO_NODE, ties_poll, ties_drop, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, winners[0], 0));
    cr_assert(eq(u32, second.polls, 0));
    cr_assert(eq(u32, second.drops, 1));
    cr_assert(eq(int, winners[1], 0));
    cr_assert(eq(int, winners[2], 0));
    cr_assert(eq(u32, values[0], 1));
    cr_assert(eq(u32, rx2_left, 1));
    cr_assert(eq(int, winners[3], 0));
    cr_assert(eq(u32, values[1], 2));
    cr_assert(eq(u64, sim_now(w), 5 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- select dropped by an aborted task ----------------------------------------------------- */

typedef struct abort_out {
    probe p;             /* the never-completing probe, after the task's drop */
    uint32_t armed_at_6ms;
    uint32_t got;
    int recv_rc;
    int victim_rc;
    int s2_rc;
    uint64_t s2_at;
} abort_out;

/* Selects over a 1s sleep, a token wait, a send on a full bounded channel, a recv on an empty
 * channel and a never-ready probe; released only by its drop function. */
typedef struct selector {
    sim_co co;
    abort_out *out;
    sim_tx btx;          /* sender of the full bounded channel */
    sim_rx erx;          /* receiver of the empty channel */
    sim_token tok;
    uint32_t msg;
    uint32_t in;
    sim_sleep nap;
    sim_token_wait wait;
    sim_send_op send;
    sim_recv_op recv;
    probe p;
    sim_future f[5];
    sim_select sel;
} selector;

static int selector_poll(void *state, sim_world *w)
{
    selector *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    sim_sleep_init(w, &s->nap, 1 * SIM_S);
    sim_token_wait_init(&s->wait, &s->tok);
    sim_send_op_init(&s->send, &s->btx, &s->msg);
    s->recv = (sim_recv_op){.rx = &s->erx, .out = &s->in};
    s->p = make_probe(NEVER, SIM_OK);
    s->f[0] = sim_sleep_future(&s->nap);
    s->f[1] = sim_token_wait_future(&s->wait);
    s->f[2] = sim_send_future(&s->send);
    s->f[3] = sim_recv_future(&s->recv);
    s->f[4] = probe_future(&s->p);
    sim_select_init(&s->sel, s->f, 5);
    SIM_AWAIT(&s->co, rc, sim_select_poll(w, &s->sel));
    SIM_END(&s->co, rc);
}

static void selector_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    selector *s = state;
    (void)mode;
    sim_select_drop(w, &s->sel);
    s->out->p = s->p;
    sim_tx_drop(w, &s->btx);
    sim_rx_drop(w, &s->erx);
    sim_token_drop(w, &s->tok);
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
    sim_sleep nap;
} aborter;

static int aborter_poll(void *state, sim_world *w)
{
    aborter *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(&a->co);
    sim_sleep_until_init(w, &a->nap, 5 * SIM_MS);
    SIM_AWAIT(&a->co, rc, sim_sleep_poll(w, &a->nap));
    sim_join_abort(w, &a->victim);
    sim_sleep_until_init(w, &a->nap, 6 * SIM_MS);
    SIM_AWAIT(&a->co, rc, sim_sleep_poll(w, &a->nap));
    a->out->armed_at_6ms = test_timers_armed(w);
    cr_assert(eq(int, sim_try_recv(w, &a->brx, &a->v), SIM_OK)); /* the filler */
    SIM_AWAIT(&a->co, rc, sim_recv(w, &a->brx, &a->v));
    a->out->recv_rc = rc;
    a->out->got = a->v;
    sim_token_cancel(w, &a->tok);
    SIM_AWAIT(&a->co, rc, sim_join_poll(w, &a->victim));
    a->out->victim_rc = rc;
    SIM_END(&a->co, SIM_OK);
}

static void aborter_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    aborter *a = state;
    (void)mode;
    sim_sleep_drop(w, &a->nap);
    sim_join_detach(w, &a->victim);
    sim_rx_drop(w, &a->brx);
    sim_tx_drop(w, &a->etx);
    sim_token_drop(w, &a->tok);
}

/* Goal: sim_select_drop in the drop function of a task aborted mid-select releases everything
 * the select's futures held: the 1s timer, the token wait, the place in a bounded channel's
 * send queue, and drops the other futures.
 * Method: the selector waits on five futures; a second sender queues behind it on the full
 * bounded channel at 1ms; the selector is aborted at 5ms. At 6ms no timer is armed; freeing
 * one slot lets the second sender in (its 22 is received at 6ms); the token cancel wakes
 * nobody; the selector's result is SIM_ECANCELED, its probe was dropped once (ABORT), there is
 * no violation, the run ends at 6ms and every object is freed. */
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
    cr_assert(eq(int, sim_send(w, &s.btx, &(uint32_t){1}), SIM_OK));
    cr_assert(eq(int, sim_tx_clone(w, &s.btx, &s2.tx), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &ed, &a.etx, &s.erx), SIM_OK));
    cr_assert(eq(int, sim_token_new(w, NULL, &s.tok), SIM_OK));
    cr_assert(eq(int, sim_token_clone(w, &s.tok, &a.tok), SIM_OK));
    a.victim = test_spawn(w, "selector", NO_NODE, selector_poll, selector_drop, &s, sizeof s);
    spawn_sender(w, &s2);
    sim_join ja = test_spawn(w, "aborter", NO_NODE, aborter_poll, aborter_drop, &a, sizeof a);
    cr_assert(eq(int, join_rc(w, &ja), SIM_OK));
    test_run_ok(w);
    cr_assert(eq(int, o.victim_rc, SIM_ECANCELED));
    cr_assert(eq(u32, o.armed_at_6ms, 0));
    cr_assert(eq(int, o.s2_rc, SIM_OK));
    cr_assert(eq(u64, o.s2_at, 6 * SIM_MS));
    cr_assert(eq(int, o.recv_rc, SIM_OK));
    cr_assert(eq(u32, o.got, 22));
    cr_assert(eq(u32, o.p.drops, 1));
    cr_assert(eq(int, (int)o.p.mode, (int)SIM_DROP_ABORT));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u64, sim_now(w), 6 * SIM_MS));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(eq(u32, st.objects_live, 0));
    sim_world_free(w);
}

/* ---- join_all ------------------------------------------------------------------------------- */

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
    probe p[2];
} join_all_out;

typedef struct child {
    sim_co co;
    sim_sleep nap;
} child;

static int child_poll(void *state, sim_world *w)
{
    child *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(&c->co);
    sim_sleep_init(w, &c->nap, 4 * SIM_MS);
    SIM_AWAIT(&c->co, rc, sim_sleep_poll(w, &c->nap));
    sim_task_set_output(w, 42);
    SIM_END(&c->co, rc);
}

static void child_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    child *c = state;
    (void)mode;
    sim_sleep_drop(w, &c->nap);
}

/* Awaits four futures with join_all and snapshots the results after every poll:
 * probe (3ms -> SIM_OK), probe (1ms -> SIM_ECLOSED), a recv (a message arrives at 2ms) and
 * the join handle of a child that finishes at 4ms with output 42. */
typedef struct joiner {
    sim_co co;
    join_all_out *out;
    sim_rx rx;
    sim_join kid;
    uint32_t v;
    probe p[2];
    sim_recv_op recv;
    sim_future f[4];
    int results[4];
    sim_join_all ja;
} joiner;

static int joiner_step(sim_world *w, joiner *s)
{
    int rc = sim_join_all_poll(w, &s->ja);
    join_all_out *o = s->out;
    cr_assert(lt(u32, o->nsnaps, SNAP_MAX));
    snapshot *sn = &o->snaps[o->nsnaps++];
    sn->at = sim_now(w);
    sn->rc = rc;
    memcpy(sn->results, s->results, sizeof sn->results);
    return rc;
}

static int joiner_poll(void *state, sim_world *w)
{
    joiner *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    s->recv = (sim_recv_op){.rx = &s->rx, .out = &s->v};
    s->f[0] = probe_future(&s->p[0]);
    s->f[1] = probe_future(&s->p[1]);
    s->f[2] = sim_recv_future(&s->recv);
    s->f[3] = sim_join_future(&s->kid);
    sim_join_all_init(&s->ja, s->f, s->results, 4);
    SIM_AWAIT(&s->co, rc, joiner_step(w, s));
    s->out->value = s->v;
    s->out->child_output = s->kid.output;
    s->out->p[0] = s->p[0];
    s->out->p[1] = s->p[1];
    SIM_END(&s->co, rc);
}

static void joiner_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    joiner *s = state;
    (void)mode;
    sim_join_all_drop(w, &s->ja);
    sim_rx_drop(w, &s->rx);
    sim_join_detach(w, &s->kid);
}

/* Goal: join_all collects every result (errors too) in its slot, each slot stays SIM_PENDING
 * until its future completes, and join_all completes exactly when the last one does.
 * Method: four futures completing at 3ms (SIM_OK), 1ms (SIM_ECLOSED), 2ms (a message, 55) and
 * 4ms (a child task with output 42); after every poll the results are snapshotted: a slot is
 * SIM_PENDING exactly while the time is before its completion, join_all is pending before 4ms
 * and SIM_OK at 4ms; the message and output arrive; each probe was dropped once as done. */
Test(combine, join_all_collects_all_results)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    join_all_out o = {0};
    joiner s = {.out = &o, .p = {make_probe(3 * SIM_MS, SIM_OK),
                                 make_probe(1 * SIM_MS, SIM_ECLOSED)}};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sender tx = {.delay_ns = 2 * SIM_MS, .count = 1, .msg = 55};
    cr_assert(eq(int, sim_chan_new(w, &d, &tx.tx, &s.rx), SIM_OK));
    child c = {0};
    s.kid = test_spawn(w, "child", NO_NODE, child_poll, child_drop, &c, sizeof c);
    spawn_sender(w, &tx);
    sim_join j = test_spawn(w, "joiner", NO_NODE, joiner_poll, joiner_drop, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    const uint64_t done_at[4] = {3 * SIM_MS, 1 * SIM_MS, 2 * SIM_MS, 4 * SIM_MS};
    const int want[4] = {SIM_OK, SIM_ECLOSED, SIM_OK, SIM_OK};
    cr_assert(ge(u32, o.nsnaps, 5)); /* at least one poll at 0, 1, 2, 3 and 4ms */
    for (uint32_t k = 0; k < o.nsnaps; k++) {
        const snapshot *sn = &o.snaps[k];
        for (int i = 0; i < 4; i++) {
            int expect = sn->at >= done_at[i] ? want[i] : SIM_PENDING;
            cr_assert(eq(int, sn->results[i], expect), "snapshot %u at %llu ns, future %d", k,
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
    for (int i = 0; i < 2; i++) {
        cr_assert(eq(u32, o.p[i].drops, 1), "probe %d", i);
        cr_assert(eq(int, (int)o.p[i].mode, (int)SIM_DROP_DONE), "probe %d", i);
    }
    cr_assert(eq(u64, sim_now(w), 4 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

typedef struct jdrop_out {
    probe p[2];
    int results[3];
    uint32_t armed_after;
} jdrop_out;

/* join_all over (probe 1ms -> OK, sleep 1s, probe never): waits to be aborted; its drop
 * function drops the join_all. */
typedef struct jdropper {
    sim_co co;
    jdrop_out *out;
    sim_sleep nap;
    probe p[2];
    sim_future f[3];
    int results[3];
    sim_join_all ja;
} jdropper;

static void jdropper_report(sim_world *w, jdropper *s)
{
    s->out->p[0] = s->p[0];
    s->out->p[1] = s->p[1];
    memcpy(s->out->results, s->results, sizeof s->results);
    s->out->armed_after = test_timers_armed(w);
}

static int jdropper_poll(void *state, sim_world *w)
{
    jdropper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    sim_sleep_init(w, &s->nap, 1 * SIM_S);
    s->f[0] = probe_future(&s->p[0]);
    s->f[1] = sim_sleep_future(&s->nap);
    s->f[2] = probe_future(&s->p[1]);
    sim_join_all_init(&s->ja, s->f, s->results, 3);
    SIM_AWAIT(&s->co, rc, sim_join_all_poll(w, &s->ja));
    SIM_END(&s->co, rc);
}

static void jdropper_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    jdropper *s = state;
    (void)mode;
    sim_join_all_drop(w, &s->ja);
    jdropper_report(w, s);
    sim_sleep_drop(w, &s->nap);
}

/* Aborts its victim at `at`. */
typedef struct killer {
    sim_co co;
    sim_join victim;
    uint64_t at;
    int *victim_rc;
    uint32_t *armed_after;
    sim_sleep nap;
} killer;

static int killer_poll(void *state, sim_world *w)
{
    killer *k = state;
    int rc = SIM_OK;
    SIM_BEGIN(&k->co);
    sim_sleep_until_init(w, &k->nap, k->at);
    SIM_AWAIT(&k->co, rc, sim_sleep_poll(w, &k->nap));
    sim_join_abort(w, &k->victim);
    SIM_AWAIT(&k->co, rc, sim_join_poll(w, &k->victim));
    *k->victim_rc = rc;
    *k->armed_after = test_timers_armed(w);
    SIM_END(&k->co, SIM_OK);
}

static void killer_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    killer *k = state;
    (void)mode;
    sim_sleep_drop(w, &k->nap);
    sim_join_detach(w, &k->victim);
}

/* Goal: sim_join_all_drop (from the drop function of a task aborted mid-join_all) cancels the
 * unfinished futures and leaves the finished ones alone.
 * Method: join_all over (probe 1ms, sleep 1s, probe never); abort the task at 10ms: its
 * result is SIM_ECANCELED; the finished probe was dropped once, as done; the never probe
 * once, as aborted; the 1s timer is released (no timer armed after the abort, no leak
 * violation) and the run ends at 10ms. */
Test(combine, join_all_drop_cancels_unfinished)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    jdrop_out o = {0};
    int victim_rc = SIM_PENDING;
    uint32_t armed_after = 99;
    jdropper s = {.out = &o, .p = {make_probe(1 * SIM_MS, SIM_OK), make_probe(NEVER, SIM_OK)}};
    killer k = {.at = 10 * SIM_MS, .victim_rc = &victim_rc, .armed_after = &armed_after};
    k.victim = test_spawn(w, "joiner", NO_NODE, jdropper_poll, jdropper_drop, &s, sizeof s);
    test_spawn(w, "killer", NO_NODE, killer_poll, killer_drop, &k, sizeof k);
    test_run_ok(w);
    cr_assert(eq(int, victim_rc, SIM_ECANCELED));
    cr_assert(eq(int, o.results[0], SIM_OK));
    cr_assert(eq(u32, o.p[0].drops, 1));
    cr_assert(eq(int, (int)o.p[0].mode, (int)SIM_DROP_DONE));
    cr_assert(eq(u32, o.p[1].drops, 1));
    cr_assert(eq(int, (int)o.p[1].mode, (int)SIM_DROP_ABORT));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(u32, armed_after, 0));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Drops a join_all right after its first poll, inside the poll function. */
typedef struct jinline {
    sim_co co;
    jdrop_out *out;
    sim_sleep nap;
    probe p[2];
    sim_future f[3];
    int results[3];
    sim_join_all ja;
} jinline;

static int jinline_poll(void *state, sim_world *w)
{
    jinline *s = state;
    SIM_BEGIN(&s->co);
    sim_sleep_init(w, &s->nap, 1 * SIM_S);
    s->f[0] = probe_future(&s->p[0]);
    s->f[1] = sim_sleep_future(&s->nap);
    s->f[2] = probe_future(&s->p[1]);
    sim_join_all_init(&s->ja, s->f, s->results, 3);
    cr_assert(eq(int, sim_join_all_poll(w, &s->ja), SIM_PENDING));
    cr_assert(eq(u32, test_timers_armed(w), 1));
    sim_join_all_drop(w, &s->ja);
    s->out->p[0] = s->p[0];
    s->out->p[1] = s->p[1];
    memcpy(s->out->results, s->results, sizeof s->results);
    s->out->armed_after = test_timers_armed(w);
    SIM_END(&s->co, SIM_OK);
}

static void jinline_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    jinline *s = state;
    (void)mode;
    sim_join_all_drop(w, &s->ja);
}

/* Goal: sim_join_all_drop called directly releases the unfinished futures at once, and a
 * second drop (the task's drop function) does not drop anything twice.
 * Method: join_all over (probe ready at once, sleep 1s, probe never); after one pending poll
 * (one timer armed), drop it: no timer armed, the ready probe was dropped once (done), the
 * never probe once (aborted); the task ends at t=0 with no violation. */
Test(combine, join_all_drop_inline)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    jdrop_out o = {0};
    jinline s = {.out = &o, .p = {make_probe(0, SIM_OK), make_probe(NEVER, SIM_OK)}};
    sim_join j = test_spawn(w, "jinline", NO_NODE, jinline_poll, jinline_drop, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, o.results[0], SIM_OK));
    cr_assert(eq(u32, o.p[0].drops, 1));
    cr_assert(eq(int, (int)o.p[0].mode, (int)SIM_DROP_DONE));
    cr_assert(eq(u32, o.p[1].drops, 1));
    cr_assert(eq(int, (int)o.p[1].mode, (int)SIM_DROP_ABORT));
    cr_assert(eq(u32, o.armed_after, 0));
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
    uint32_t drops;
    sim_drop_mode mode;
    int later_rc;        /* a try_recv after the timeout, once a message was sent */
    uint32_t later_value;
} timeout_out;

/* Sleeps until start_ns, then receives with a timeout of limit_ns. With `own_tx`, it also
 * holds the only sender (so nothing ever arrives) and, after the timeout, sends 9 itself and
 * try_recvs it. The recv's drop count and mode are reported after every poll and drop. */
typedef struct waiter {
    sim_co co;
    timeout_out *out;
    bool own_tx;
    uint64_t start_ns;
    uint64_t limit_ns;
    sim_rx rx;
    sim_tx tx;
    uint32_t v;
    sim_sleep nap;
    recv_probe recv;
    sim_timeout to;
} waiter;

static int waiter_poll(void *state, sim_world *w)
{
    waiter *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    sim_sleep_until_init(w, &s->nap, s->start_ns);
    SIM_AWAIT(&s->co, rc, sim_sleep_poll(w, &s->nap));
    s->recv = (recv_probe){.rx = &s->rx, .out = &s->v};
    sim_timeout_init(w, &s->to, recv_probe_future(&s->recv), s->limit_ns);
    SIM_AWAIT(&s->co, rc, sim_timeout_poll(w, &s->to));
    s->out->rc = rc;
    s->out->at = sim_now(w);
    s->out->value = s->v;
    s->out->armed_after = test_timers_armed(w);
    s->out->drops = s->recv.drops;
    s->out->mode = s->recv.mode;
    if (s->own_tx) {
        uint32_t nine = 9;
        s->out->later_rc = sim_send(w, &s->tx, &nine);
        if (s->out->later_rc == SIM_OK) {
            s->out->later_rc = sim_try_recv(w, &s->rx, &s->out->later_value);
        }
    }
    SIM_END(&s->co, SIM_OK);
}

static void waiter_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    waiter *s = state;
    (void)mode;
    sim_timeout_drop(w, &s->to);
    s->out->drops = s->recv.drops;
    s->out->mode = s->recv.mode;
    sim_sleep_drop(w, &s->nap);
    sim_rx_drop(w, &s->rx);
    sim_tx_drop(w, &s->tx);
}

/* Goal: a timeout around a recv that never arrives returns SIM_ETIMEDOUT at exactly the
 * deadline, and drops the inner future (aborted) and its own timer.
 * Method: start at 3ms, timeout 50ms, the task holds the only sender: SIM_ETIMEDOUT at exactly
 * 53ms, the recv dropped once with SIM_DROP_ABORT, no timer armed; a message sent afterwards
 * is still there for try_recv (the abandoned recv took nothing); the run ends at 53ms. */
Test(combine, timeout_expires_at_deadline_drops_inner)
{
    sim_world *w = test_world(8, SIM_SCHED_RANDOM);
    timeout_out o = {.rc = SIM_PENDING, .later_rc = SIM_PENDING};
    waiter s = {.out = &o, .own_tx = true, .start_ns = 3 * SIM_MS, .limit_ns = 50 * SIM_MS};
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    cr_assert(eq(int, sim_chan_new(w, &d, &s.tx, &s.rx), SIM_OK));
    sim_join j = test_spawn(w, "waiter", NO_NODE, waiter_poll, waiter_drop, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(int, o.rc, SIM_ETIMEDOUT));
    cr_assert(eq(u64, o.at, 53 * SIM_MS));
    cr_assert(eq(u32, o.drops, 1));
    cr_assert(eq(int, (int)o.mode, (int)SIM_DROP_ABORT));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(int, o.later_rc, SIM_OK));
    cr_assert(eq(u32, o.later_value, 9));
    cr_assert(eq(u64, sim_now(w), 53 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a timeout whose inner future completes first returns the inner result and disarms its
 * timer.
 * Method: timeout 50ms around a recv; a task sends 7 at 10ms: SIM_OK with 7 at 10ms, the recv
 * dropped once as done, no timer armed right after; the run ends at 10ms and only the
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
    sim_join j = test_spawn(w, "waiter", NO_NODE, waiter_poll, waiter_drop, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(u32, o.value, 7));
    cr_assert(eq(u64, o.at, 10 * SIM_MS));
    cr_assert(eq(u32, o.drops, 1));
    cr_assert(eq(int, (int)o.mode, (int)SIM_DROP_DONE));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    sim_stats st;
    sim_world_stats(w, &st);
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
    sim_join j = test_spawn(w, "waiter", NO_NODE, waiter_poll, waiter_drop, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    cr_assert(eq(int, o.rc, SIM_ECLOSED));
    cr_assert(eq(u64, o.at, 5 * SIM_MS));
    cr_assert(eq(u32, o.armed_after, 0));
    cr_assert(eq(u32, o.drops, 1));
    cr_assert(eq(u64, sim_now(w), 5 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: sim_timeout_drop from the drop function of a task aborted mid-timeout drops the inner
 * future (aborted) and releases the timer.
 * Method: a waiter in a 1s timeout around a recv that never arrives is aborted at 10ms; its
 * inner recv was dropped once with SIM_DROP_ABORT (seen through the recv probe), no timer
 * remains, no leak violation, and the run ends at 10ms, not 1s. */
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
    k.victim = test_spawn(w, "waiter", NO_NODE, waiter_poll, waiter_drop, &s, sizeof s);
    test_spawn(w, "killer", NO_NODE, killer_poll, killer_drop, &k, sizeof k);
    test_run_ok(w);
    cr_assert(eq(int, victim_rc, SIM_ECANCELED));
    cr_assert(eq(int, o.rc, SIM_PENDING)); /* never completed */
    cr_assert(eq(u32, o.drops, 1));
    cr_assert(eq(int, (int)o.mode, (int)SIM_DROP_ABORT));
    cr_assert(eq(u32, armed_after, 0));
    cr_assert(eq(u64, sim_now(w), 10 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, st.objects_live, 0));
    sim_world_free(w);
}

/* ---- a join handle raced in a select -------------------------------------------------------- */

typedef struct join_race_out {
    int rc;
    int32_t winner;
    uint32_t task;
    int64_t output;
} join_race_out;

typedef struct join_race {
    sim_co co;
    join_race_out *out;
    sim_join kid;
    sim_sleep nap;
    sim_future f[2];
    sim_select sel;
} join_race;

static int join_race_poll(void *state, sim_world *w)
{
    join_race *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(&s->co);
    sim_sleep_init(w, &s->nap, 1 * SIM_S);
    s->f[0] = sim_join_future(&s->kid);
    s->f[1] = sim_sleep_future(&s->nap);
    sim_select_init(&s->sel, s->f, 2);
    SIM_AWAIT(&s->co, rc, sim_select_poll(w, &s->sel));
    s->out->rc = rc;
    s->out->winner = s->sel.winner;
    s->out->task = s->kid.task.v;
    s->out->output = s->kid.output;
    SIM_END(&s->co, SIM_OK);
}

static void join_race_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    join_race *s = state;
    (void)mode;
    sim_select_drop(w, &s->sel);
    sim_join_detach(w, &s->kid);
}

/* Goal: a join handle awaited through sim_join_future inside a select is consumed as sim.h
 * says for sim_join_poll: "emptied, except task and output" - the winner's result, task id
 * and output all reach the caller, and the losing 1s sleep is released.
 * Method: select(join of a child finishing at 4ms with output 42, sleep 1s): winner 0 with
 * SIM_OK at 4ms; afterwards the handle still names the child's task id and holds 42. */
Test(combine, select_join_future_keeps_task_and_output)
{
    sim_world *w = test_world(12, SIM_SCHED_RANDOM);
    join_race_out o = {.rc = SIM_PENDING, .winner = -2};
    join_race s = {.out = &o};
    child c = {0};
    s.kid = test_spawn(w, "child", NO_NODE, child_poll, child_drop, &c, sizeof c);
    uint32_t kid_id = s.kid.task.v;
    sim_join j = test_spawn(w, "race", NO_NODE, join_race_poll, join_race_drop, &s, sizeof s);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    test_run_ok(w);
    uint64_t end = sim_now(w);
    uint32_t nviol = sim_world_violation_count(w);
    sim_world_free(w);
    cr_assert(eq(int, o.winner, 0));
    cr_assert(eq(int, o.rc, SIM_OK));
    cr_assert(eq(i64, o.output, 42));
    cr_assert(eq(u64, end, 4 * SIM_MS));
    cr_assert(eq(u32, nviol, 0));
    cr_assert(ne(u32, kid_id, 0));
    cr_assert(eq(u32, o.task, kid_id), "the consumed handle lost its task id");
}
