/*
 * test_chan.c: oneshot, mpsc (bounded and unbounded), broadcast and watch channels, through
 * sim.h: delivery, closing, backpressure, wait-queue release on abort, limits, lag, drop_msg,
 * handle predicates, bad descs, stale handles and spurious wake-ups.
 *
 * Channel ends are made outside tasks (they belong to the world) and moved to the tasks that
 * use them (sim_task_desc.moves), so that a task's end releases them as the API promises.
 */
#include "../helpers.h"

#define LOG_MAX 32

static const sim_node_id NO_NODE = {0};

/* What a task saw, in order: one entry per receive or send result. */
typedef struct rlog {
    uint32_t n;
    int rcs[LOG_MAX];
    uint32_t vals[LOG_MAX];
    uint64_t at[LOG_MAX];
} rlog;

static void rlog_add(rlog *l, const sim_world *w, int rc, uint32_t val)
{
    cr_assert(lt(u32, l->n, LOG_MAX));
    l->rcs[l->n] = rc;
    l->vals[l->n] = val;
    l->at[l->n] = sim_now(w);
    l->n++;
}

/* Asserts that entry i of a log is (rc, val, at). */
static void rlog_expect(const rlog *l, uint32_t i, int rc, uint32_t val, uint64_t at)
{
    cr_assert(lt(u32, i, l->n), "log entry %u missing (log has %u)", i, l->n);
    cr_assert(eq(str, (char *)sim_result_name(l->rcs[i]), (char *)sim_result_name(rc)),
              "entry %u", i);
    cr_assert(eq(u32, l->vals[i], val), "entry %u", i);
    cr_assert(eq(u64, l->at[i], at), "entry %u", i);
}

static sim_chan_desc u32_desc(sim_chan_kind kind, uint32_t capacity)
{
    return (sim_chan_desc){.kind = kind, .msg_size = sizeof(uint32_t), .capacity = capacity};
}

static void new_chan(sim_world *w, const sim_chan_desc *d, sim_tx *tx, sim_rx *rx)
{
    cr_assert(eq(int, sim_chan_new(w, d, tx, rx), SIM_OK));
}

static int send_u32(sim_world *w, sim_tx *tx, uint32_t v)
{
    return sim_try_send(w, tx, &v);
}

/* ---- a receiving task ---------------------------------------------------------------------- */

typedef struct receiver {
    sim_co co;
    sim_rx rx;
    uint64_t delay_ns; /* sleep before the first recv */
    uint64_t gap_ns;   /* sleep after each successful recv */
    uint32_t max;      /* stop after this many log entries */
    rlog *log;
    sim_tx probe;      /* optional: right after the first message, sim_try_send on it */
    int *probe_rc;     /* where the probe's result goes; NULL = no probe */
    uint32_t msg;
} receiver;

static int receiver_poll(void *state, sim_world *w)
{
    receiver *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    SIM_AWAIT(rc, sim_sleep(w, r->delay_ns));
    while (r->log->n < r->max) {
        r->msg = 0;
        SIM_AWAIT(rc, sim_recv(&r->rx, &r->msg));
        rlog_add(r->log, w, rc, r->msg);
        if (r->probe_rc != NULL && r->log->n == 1) {
            *r->probe_rc = send_u32(w, &r->probe, 99);
            sim_tx_drop(w, &r->probe);
        }
        if (rc != SIM_OK && rc != SIM_ELAGGED) break;
        if (r->gap_ns > 0 && rc == SIM_OK) {
            SIM_AWAIT(rc, sim_sleep(w, r->gap_ns));
        }
    }
    SIM_END(SIM_OK);
}

/* The receiver and its probe (if any) move to the task. */
static sim_join spawn_receiver(sim_world *w, const receiver *r)
{
    const void *moves[3] = {&r->rx, NULL, NULL};
    if (sim_handle_valid(w, &r->probe)) moves[1] = &r->probe;
    return test_spawn_moves(w, "receiver", NO_NODE, receiver_poll, r, sizeof *r, moves);
}

/* ---- a sending task ------------------------------------------------------------------------ */

/* Sleeps delay_ns, then sends count messages base, base + 1, ... with sim_send (period_ns
 * apart), then drops its sender. count = 0: only drops the sender at delay_ns. */
typedef struct sender {
    sim_co co;
    sim_tx tx;
    uint64_t delay_ns;
    uint64_t period_ns;
    uint32_t count;
    uint32_t base;
    rlog *log;           /* one entry per send; may be NULL */
    uint32_t i;
    uint32_t msg;
} sender;

static int sender_poll(void *state, sim_world *w)
{
    sender *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, s->delay_ns));
    for (s->i = 0; s->i < s->count; s->i++) {
        if (s->i > 0 && s->period_ns > 0) {
            SIM_AWAIT(rc, sim_sleep(w, s->period_ns));
        }
        s->msg = s->base + s->i;
        SIM_AWAIT(rc, sim_send(&s->tx, &s->msg));
        if (s->log != NULL) rlog_add(s->log, w, rc, s->msg);
        if (rc != SIM_OK) break;
    }
    sim_tx_drop(w, &s->tx);
    SIM_END(rc);
}

static sim_join spawn_sender(sim_world *w, const sender *s)
{
    return test_spawn_moves(w, "sender", NO_NODE, sender_poll, s, sizeof *s, SIM_MOVES(&s->tx));
}

static int join_rc(sim_world *w, sim_join *j)
{
    return sim_block_on(w, sim_join_wait(j));
}

/* ---- oneshot ------------------------------------------------------------------------------- */

/* Goal: a oneshot message sent before anyone waits is received, exactly once.
 * Method: send 42 from outside, then a task receives twice: 42, then SIM_ECLOSED (the one
 * message is gone); the sender stays valid after sending and is dropped afterwards. */
Test(chan, oneshot_send_then_recv)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_ONESHOT, 0);
    sim_tx tx;
    rlog log = {0};
    receiver r = {.max = 4, .log = &log};
    new_chan(w, &d, &tx, &r.rx);
    cr_assert(eq(int, send_u32(w, &tx, 42), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &r.rx), 1));
    cr_assert(not(sim_tx_closed(w, &tx)));
    sim_join j = spawn_receiver(w, &r);
    cr_assert(eq(int, join_rc(w, &j), SIM_OK));
    cr_assert(eq(u32, log.n, 2));
    rlog_expect(&log, 0, SIM_OK, 42, 0);
    rlog_expect(&log, 1, SIM_ECLOSED, 0, 0);
    cr_assert(sim_tx_closed(w, &tx)); /* the receiver's end released its handle */
    sim_tx_drop(w, &tx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a receiver that waits before the send is woken by it.
 * Method: the receiver waits from t=0, a task sends 7 at t=5ms; the receiver gets 7 at
 * exactly 5ms, then SIM_ECLOSED. */
Test(chan, oneshot_waiting_receiver_is_woken)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_ONESHOT, 0);
    rlog rl = {0}, sl = {0};
    receiver r = {.max = 4, .log = &rl};
    sender s = {.delay_ns = 5 * SIM_MS, .count = 1, .base = 7, .log = &sl};
    new_chan(w, &d, &s.tx, &r.rx);
    sim_join jr = spawn_receiver(w, &r);
    sim_join js = spawn_sender(w, &s);
    test_run_ok(w);
    cr_assert(eq(int, join_rc(w, &js), SIM_OK));
    cr_assert(eq(int, join_rc(w, &jr), SIM_OK));
    rlog_expect(&sl, 0, SIM_OK, 7, 5 * SIM_MS);
    cr_assert(eq(u32, rl.n, 2));
    rlog_expect(&rl, 0, SIM_OK, 7, 5 * SIM_MS);
    rlog_expect(&rl, 1, SIM_ECLOSED, 0, 5 * SIM_MS);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: dropping the oneshot sender unsent closes the receiver, and wakes it.
 * Method: the receiver waits from t=0; a task drops the sender at t=3ms without sending; the
 * receiver's recv returns SIM_ECLOSED at 3ms. */
Test(chan, oneshot_sender_dropped_unsent_closes)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_ONESHOT, 0);
    rlog rl = {0};
    receiver r = {.max = 4, .log = &rl};
    sender s = {.delay_ns = 3 * SIM_MS, .count = 0};
    new_chan(w, &d, &s.tx, &r.rx);
    cr_assert(not(sim_rx_closed(w, &r.rx)));
    spawn_receiver(w, &r);
    spawn_sender(w, &s);
    test_run_ok(w);
    cr_assert(eq(u32, rl.n, 1));
    rlog_expect(&rl, 0, SIM_ECLOSED, 0, 3 * SIM_MS);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: sending after the receiver is gone fails with SIM_ECLOSED (not misuse).
 * Method: drop the receiver, then send: SIM_ECLOSED, sim_tx_closed is true, no violation,
 * and the sender can still be dropped, which frees the channel. */
Test(chan, oneshot_send_after_receiver_dropped)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_ONESHOT, 0);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    sim_rx_drop(w, &rx);
    cr_assert(sim_tx_closed(w, &tx));
    cr_assert(eq(int, send_u32(w, &tx, 1), SIM_ECLOSED));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    cr_assert(eq(u32, test_objects_live(w), 1));
    sim_tx_drop(w, &tx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: a second send on a oneshot is misuse: SIM_EMISUSE and a SIM_VIOLATION_MISUSE, and the
 * first message is untouched.
 * Method: send 1, send 2, then try_recv gives 1 and the violation list holds one misuse. */
Test(chan, oneshot_second_send_is_misuse)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_ONESHOT, 0);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    cr_assert(eq(int, send_u32(w, &tx, 1), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tx, 2), SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    cr_assert(eq(u32, sim_world_violation_count(w), 1));
    uint32_t got = 0;
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
    cr_assert(eq(u32, got, 1));
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_ECLOSED));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: a oneshot has exactly one sender: sim_tx_clone is misuse.
 * Method: clone returns SIM_EMISUSE, records a misuse, and leaves the out handle empty (a send
 * on it is misuse too). */
Test(chan, oneshot_clone_is_misuse)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_ONESHOT, 0);
    sim_tx tx, tx2;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    cr_assert(eq(int, sim_tx_clone(w, &tx, &tx2), SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    sim_tx zero = {0};
    cr_assert(eq(int, memcmp(&tx2, &zero, sizeof zero), 0));
    cr_assert(eq(int, send_u32(w, &tx2, 1), SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 2));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_world_free(w);
}

/* ---- mpsc ---------------------------------------------------------------------------------- */

/* Goal: an mpsc channel delivers in send order across several senders (sim_tx_clone), and
 * recv returns SIM_ECLOSED only once every sender is gone.
 * Method: three sender tasks on clones send 3 messages each, interleaved in time (A at 1, 4,
 * 7ms; B at 2, 5, 8ms; C at 3, 6, 9ms); the receiver gets them in exactly that order, each
 * at its send time, then SIM_ECLOSED at 9ms when the last sender drops its handle. */
Test(chan, mpsc_fifo_across_senders_then_closed)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    rlog rl = {0};
    receiver r = {.max = 20, .log = &rl};
    sender a = {.delay_ns = 1 * SIM_MS, .period_ns = 3 * SIM_MS, .count = 3, .base = 100};
    sender b = {.delay_ns = 2 * SIM_MS, .period_ns = 3 * SIM_MS, .count = 3, .base = 200};
    sender c = {.delay_ns = 3 * SIM_MS, .period_ns = 3 * SIM_MS, .count = 3, .base = 300};
    new_chan(w, &d, &a.tx, &r.rx);
    cr_assert(eq(int, sim_tx_clone(w, &a.tx, &b.tx), SIM_OK));
    cr_assert(eq(int, sim_tx_clone(w, &a.tx, &c.tx), SIM_OK));
    spawn_receiver(w, &r);
    spawn_sender(w, &a);
    spawn_sender(w, &b);
    spawn_sender(w, &c);
    test_run_ok(w);
    const uint32_t want[9] = {100, 200, 300, 101, 201, 301, 102, 202, 302};
    cr_assert(eq(u32, rl.n, 10));
    for (uint32_t i = 0; i < 9; i++) rlog_expect(&rl, i, SIM_OK, want[i], (i + 1) * SIM_MS);
    rlog_expect(&rl, 9, SIM_ECLOSED, 0, 9 * SIM_MS);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: SIM_ECLOSED comes only after the queue is drained, even when every sender is already
 * gone before the receiver looks.
 * Method: send 1..5 on one sender and 6 on a clone, drop both; rx_closed is true but rx_len is
 * 6; the receiver gets 1..6 in order and only then SIM_ECLOSED. */
Test(chan, mpsc_closed_only_after_drained)
{
    sim_world *w = test_world(8, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sim_tx tx, tx2;
    rlog rl = {0};
    receiver r = {.max = 20, .log = &rl};
    new_chan(w, &d, &tx, &r.rx);
    cr_assert(eq(int, sim_tx_clone(w, &tx, &tx2), SIM_OK));
    for (uint32_t v = 1; v <= 5; v++) cr_assert(eq(int, send_u32(w, &tx, v), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tx2, 6), SIM_OK));
    sim_tx_drop(w, &tx);
    cr_assert(not(sim_rx_closed(w, &r.rx)));
    sim_tx_drop(w, &tx2);
    cr_assert(sim_rx_closed(w, &r.rx));
    cr_assert(eq(u32, sim_rx_len(w, &r.rx), 6));
    spawn_receiver(w, &r);
    test_run_ok(w);
    cr_assert(eq(u32, rl.n, 7));
    for (uint32_t i = 0; i < 6; i++) rlog_expect(&rl, i, SIM_OK, i + 1, 0);
    rlog_expect(&rl, 6, SIM_ECLOSED, 0, 0);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a bounded mpsc refuses sim_try_send with SIM_EFULL when full and accepts again once a
 * slot is freed; the refused message is not queued.
 * Method: capacity 2: send 1, 2 (OK), 3 (EFULL); try_recv gives 1; send 4 (OK), 5 (EFULL);
 * the queue then holds 2, 4. */
Test(chan, mpsc_bounded_send_full)
{
    sim_world *w = test_world(9, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 2);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    cr_assert(eq(int, send_u32(w, &tx, 1), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tx, 2), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tx, 3), SIM_EFULL));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 2));
    uint32_t got = 0;
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
    cr_assert(eq(u32, got, 1));
    cr_assert(eq(int, send_u32(w, &tx, 4), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tx, 5), SIM_EFULL));
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
    cr_assert(eq(u32, got, 2));
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
    cr_assert(eq(u32, got, 4));
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_EEMPTY));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_world_free(w);
}

/* Goal: senders awaiting room in a full bounded mpsc wait, are served in FIFO order, one per
 * freed slot, and a try-send cannot overtake them.
 * Method: capacity 1 holding 1; senders of 2, 3, 4 start waiting at 1, 2, 3ms; the receiver
 * starts at 10ms and takes one message per ms. Right after its first recv, a sim_try_send on
 * a clone gets SIM_EFULL (the slot is owed to the first waiter). Expect 1, 2, 3, 4 at
 * 10..13ms, senders completing at 10, 11, 12ms, then SIM_ECLOSED. */
Test(chan, mpsc_bounded_waiting_senders_fifo)
{
    sim_world *w = test_world(10, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 1);
    sim_tx tx;
    rlog rl = {0}, sl[3] = {{0}};
    int probe_rc = SIM_PENDING;
    receiver r = {.delay_ns = 10 * SIM_MS, .gap_ns = 1 * SIM_MS, .max = 20, .log = &rl,
                  .probe_rc = &probe_rc};
    new_chan(w, &d, &tx, &r.rx);
    cr_assert(eq(int, send_u32(w, &tx, 1), SIM_OK));
    cr_assert(eq(int, sim_tx_clone(w, &tx, &r.probe), SIM_OK));
    for (uint32_t i = 0; i < 3; i++) {
        sender s = {.delay_ns = (i + 1) * SIM_MS, .count = 1, .base = i + 2, .log = &sl[i]};
        cr_assert(eq(int, sim_tx_clone(w, &tx, &s.tx), SIM_OK));
        spawn_sender(w, &s);
    }
    sim_tx_drop(w, &tx);
    spawn_receiver(w, &r);
    test_run_ok(w);
    cr_assert(eq(int, probe_rc, SIM_EFULL));
    cr_assert(eq(u32, rl.n, 5));
    for (uint32_t i = 0; i < 4; i++) rlog_expect(&rl, i, SIM_OK, i + 1, (10 + i) * SIM_MS);
    rlog_expect(&rl, 4, SIM_ECLOSED, 0, 14 * SIM_MS);
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(eq(u32, sl[i].n, 1));
        rlog_expect(&sl[i], 0, SIM_OK, i + 2, (10 + i) * SIM_MS);
    }
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- abort mid-await releases channel slots ------------------------------------------------ */

/* The receiver of the abort scenario: at 5ms it aborts the first waiting sender, either
 * before taking a message (the victim is still waiting) or right after (the victim has been
 * notified and is owed the freed slot), then drains the channel and joins the victim. */
typedef struct abort_rx {
    sim_co co;
    sim_rx rx;
    sim_join victim;
    bool after_notify;
    rlog *log;
    int *victim_rc;
    uint32_t msg;
} abort_rx;

static int abort_rx_poll(void *state, sim_world *w)
{
    abort_rx *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    SIM_AWAIT(rc, sim_sleep_until(5 * SIM_MS));
    if (!a->after_notify) {
        sim_join_abort(w, &a->victim);
        SIM_AWAIT(rc, sim_sleep_until(6 * SIM_MS));
    }
    for (;;) {
        a->msg = 0;
        SIM_AWAIT(rc, sim_recv(&a->rx, &a->msg));
        rlog_add(a->log, w, rc, a->msg);
        if (a->after_notify && a->log->n == 1) sim_join_abort(w, &a->victim);
        if (rc != SIM_OK || a->log->n >= LOG_MAX) break;
    }
    SIM_AWAIT(rc, sim_join_wait(&a->victim));
    *a->victim_rc = rc;
    SIM_END(SIM_OK);
}

/* A sender that polls its send by hand, kept in its state, and never drops it (a bug in
 * user code that writes its own awaitable): its end must still release the registration. */
typedef struct hand_sender {
    sim_co co;          /* unused: the poll function is written by hand */
    sim_tx tx;
    uint32_t msg;
    bool armed;
    sim_send_op op;
} hand_sender;

static int hand_sender_poll(void *state, sim_world *w)
{
    hand_sender *s = state;
    if (!s->armed) {
        s->op = sim_send(&s->tx, &s->msg);
        s->armed = true;
    }
    return sim_fut_poll(w, &s->op.fut);
}

/* Capacity 1 holding 1; sender S1 (11) waits from 1ms (or from 0, polled by hand), S2 (22)
 * from 2ms; S1 is aborted at 5ms. */
static void abort_scenario(uint64_t seed, bool after_notify, bool hand_polled)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 1);
    sim_tx tx;
    rlog rl = {0}, l1 = {0}, l2 = {0};
    int victim_rc = SIM_PENDING;
    abort_rx a = {.after_notify = after_notify, .log = &rl, .victim_rc = &victim_rc};
    sender s1 = {.delay_ns = 1 * SIM_MS, .count = 1, .base = 11, .log = &l1};
    hand_sender h1 = {.msg = 11};
    sender s2 = {.delay_ns = 2 * SIM_MS, .count = 1, .base = 22, .log = &l2};
    new_chan(w, &d, &tx, &a.rx);
    cr_assert(eq(int, send_u32(w, &tx, 1), SIM_OK));
    cr_assert(eq(int, sim_tx_clone(w, &tx, hand_polled ? &h1.tx : &s1.tx), SIM_OK));
    cr_assert(eq(int, sim_tx_clone(w, &tx, &s2.tx), SIM_OK));
    sim_tx_drop(w, &tx);
    if (hand_polled) {
        a.victim = test_spawn_moves(w, "hand_sender", NO_NODE, hand_sender_poll, &h1,
                                    sizeof h1, SIM_MOVES(&h1.tx));
    } else {
        a.victim = spawn_sender(w, &s1);
    }
    sim_join j2 = spawn_sender(w, &s2);
    test_spawn_moves(w, "abort_rx", NO_NODE, abort_rx_poll, &a, sizeof a, SIM_MOVES(&a.rx));
    test_run_ok(w); /* no deadlock: the aborted sender's place in the queue was released */
    cr_assert(eq(int, victim_rc, SIM_ECANCELED));
    cr_assert(eq(int, join_rc(w, &j2), SIM_OK));
    cr_assert(eq(u32, l1.n, 0));
    uint64_t at = after_notify ? 5 * SIM_MS : 6 * SIM_MS;
    rlog_expect(&l2, 0, SIM_OK, 22, at);
    cr_assert(eq(u32, rl.n, 3));
    rlog_expect(&rl, 0, SIM_OK, 1, at);
    rlog_expect(&rl, 1, SIM_OK, 22, at);
    rlog_expect(&rl, 2, SIM_ECLOSED, 0, at);
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_LEAK), hand_polled ? 1 : 0));
    cr_assert(eq(u32, sim_world_violation_count(w), hand_polled ? 1 : 0));
    if (hand_polled) {
        const sim_violation *v = test_violation_find(w, SIM_VIOLATION_LEAK, "hand_sender");
        cr_assert(ne(ptr, (void *)v, NULL));
        cr_assert(ne(ptr, strstr(v->message, "1 wait registration"), NULL), "%s", v->message);
    }
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: aborting a sender waiting on a full bounded channel releases its place, so the next
 * waiting sender gets the slot the receiver frees.
 * Method: S1 and S2 wait; S1 is aborted at 5ms (its end drops the send it awaits); at 6ms the
 * receiver takes 1 and must then get 22 from S2, then SIM_ECLOSED; no violation. */
Test(chan, abort_waiting_sender_releases_slot, .timeout = 10)
{
    abort_scenario(11, false, false);
}

/* Goal: an aborted waiting sender that had already been notified (owed the freed slot) passes
 * its turn on to the next waiting sender.
 * Method: at 5ms the receiver takes 1 (notifying S1) and aborts S1 in the same poll; S2 must
 * get the slot: the receiver then gets 22 and SIM_ECLOSED; no violation. */
Test(chan, abort_notified_sender_passes_turn, .timeout = 10)
{
    abort_scenario(12, true, false);
}

/* Goal: (replaces "a drop function that forgets sim_send_op_drop", gone with drop functions
 * for futures) a send polled by hand and never dropped does not wedge the run when its task
 * is aborted: the registration is released and reported as one SIM_VIOLATION_LEAK.
 * Method: as abort_waiting_sender_releases_slot with S1 polling sim_send by hand: S2 still
 * gets the slot, the run ends SIM_OK, exactly one leak violation naming the task. */
Test(chan, abort_waiting_hand_polled_send_is_leak, .timeout = 10)
{
    abort_scenario(13, false, true);
}

/* Goal: the same when the hand-polling victim had already been notified: its turn passes on.
 * Method: as abort_notified_sender_passes_turn with S1 polling sim_send by hand. */
Test(chan, abort_notified_hand_polled_send_is_leak, .timeout = 10)
{
    abort_scenario(14, true, true);
}
/* ---- unbounded mpsc limit ------------------------------------------------------------------- */

/* Sends until a send fails (at most max + 100 times): exactly max must be accepted, then
 * SIM_ELIMIT, with the refused message not queued; freeing one message makes room for exactly
 * one more. Everything is measured first and asserted after the world is freed. */
static void elimit_scenario(uint32_t max)
{
    sim_world *w = test_world(15, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    d.max_messages = max;
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    uint32_t accepted = 0;
    int refused = SIM_OK;
    for (uint32_t v = 1; v <= max + 100; v++) {
        int rc = send_u32(w, &tx, v);
        if (rc != SIM_OK) {
            refused = rc;
            break;
        }
        accepted++;
    }
    uint32_t len_full = sim_rx_len(w, &rx);
    uint32_t got = 0;
    int recv_rc = sim_try_recv(w, &rx, &got);
    int again_rc = send_u32(w, &tx, 1000);
    int over_rc = send_u32(w, &tx, 1001);
    uint32_t len_after = sim_rx_len(w, &rx);
    uint32_t nviol = sim_world_violation_count(w);
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_world_free(w);
    cr_assert(eq(u32, accepted, max), "messages accepted with max_messages = %u", max);
    cr_assert(eq(str, (char *)sim_result_name(refused), "SIM_ELIMIT"));
    cr_assert(eq(u32, len_full, max));
    cr_assert(eq(int, recv_rc, SIM_OK));
    cr_assert(eq(u32, got, 1));
    cr_assert(eq(int, again_rc, SIM_OK));
    cr_assert(eq(int, over_rc, SIM_ELIMIT));
    cr_assert(eq(u32, len_after, max));
    cr_assert(eq(u32, nviol, 0));
}

/* Goal: an unbounded mpsc accepts exactly max_messages queued messages, then SIM_ELIMIT.
 * Method: max_messages = 40 (more than one ring growth): 40 sends OK, the 41st SIM_ELIMIT;
 * after one recv, one more send fits. */
Test(chan, mpsc_unbounded_elimit_at_max_messages)
{
    elimit_scenario(40);
}

/* Goal: the same with a small limit, max_messages = 5.
 * Method: 5 sends OK, the 6th must be SIM_ELIMIT; after one recv, one more send fits. */
Test(chan, mpsc_unbounded_elimit_small_max_messages)
{
    elimit_scenario(5);
}

/* ---- broadcast ----------------------------------------------------------------------------- */

/* Goal: every broadcast receiver gets every message, in order.
 * Method: three receivers (the first from sim_chan_new, two from sim_subscribe) and a sender
 * of 1..5, one per ms from 1ms; each receiver logs 1..5 at 1..5ms, then SIM_ECLOSED. */
Test(chan, broadcast_every_receiver_gets_every_message)
{
    sim_world *w = test_world(16, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_BROADCAST, 8);
    rlog rl[3] = {{0}};
    receiver r[3];
    sender s = {.delay_ns = 1 * SIM_MS, .period_ns = 1 * SIM_MS, .count = 5, .base = 1};
    for (int i = 0; i < 3; i++) r[i] = (receiver){.max = 20, .log = &rl[i]};
    new_chan(w, &d, &s.tx, &r[0].rx);
    cr_assert(eq(int, sim_subscribe(w, &s.tx, &r[1].rx), SIM_OK));
    cr_assert(eq(int, sim_subscribe(w, &s.tx, &r[2].rx), SIM_OK));
    for (int i = 0; i < 3; i++) spawn_receiver(w, &r[i]);
    spawn_sender(w, &s);
    test_run_ok(w);
    for (int i = 0; i < 3; i++) {
        cr_assert(eq(u32, rl[i].n, 6), "receiver %d", i);
        for (uint32_t k = 0; k < 5; k++) rlog_expect(&rl[i], k, SIM_OK, k + 1, (k + 1) * SIM_MS);
        rlog_expect(&rl[i], 5, SIM_ECLOSED, 0, 5 * SIM_MS);
    }
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a broadcast subscriber sees only messages sent after it subscribed.
 * Method: send 1, 2; subscribe; rx_len is 0 for the new receiver and 2 for the old; send 3;
 * the new receiver gets 3 only. */
Test(chan, broadcast_subscribe_sees_later_messages)
{
    sim_world *w = test_world(17, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_BROADCAST, 8);
    sim_tx tx;
    sim_rx old_rx, new_rx;
    new_chan(w, &d, &tx, &old_rx);
    cr_assert(eq(int, send_u32(w, &tx, 1), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tx, 2), SIM_OK));
    cr_assert(eq(int, sim_subscribe(w, &tx, &new_rx), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &new_rx), 0));
    cr_assert(eq(u32, sim_rx_len(w, &old_rx), 2));
    cr_assert(eq(int, send_u32(w, &tx, 3), SIM_OK));
    uint32_t got = 0;
    cr_assert(eq(int, sim_try_recv(w, &new_rx, &got), SIM_OK));
    cr_assert(eq(u32, got, 3));
    cr_assert(eq(int, sim_try_recv(w, &new_rx, &got), SIM_EEMPTY));
    for (uint32_t v = 1; v <= 3; v++) {
        cr_assert(eq(int, sim_try_recv(w, &old_rx, &got), SIM_OK));
        cr_assert(eq(u32, got, v));
    }
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &old_rx);
    sim_rx_drop(w, &new_rx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: a broadcast sender never waits; a slow receiver gets SIM_ELAGGED exactly once, then
 * resumes from the oldest message kept.
 * Method: capacity 2, five sends (all OK); the receiver (started later) gets SIM_ELAGGED, then
 * 4 and 5, then SIM_ECLOSED once the sender is gone; a fast receiver gets all five. */
Test(chan, broadcast_slow_receiver_lags_once)
{
    sim_world *w = test_world(18, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_BROADCAST, 2);
    rlog slow = {0}, fast = {0};
    receiver rs = {.delay_ns = 10 * SIM_MS, .max = 20, .log = &slow};
    receiver rf = {.max = 20, .log = &fast};
    sender s = {.delay_ns = 1 * SIM_MS, .period_ns = 1 * SIM_MS, .count = 5, .base = 1};
    new_chan(w, &d, &s.tx, &rs.rx);
    cr_assert(eq(int, sim_subscribe(w, &s.tx, &rf.rx), SIM_OK));
    spawn_receiver(w, &rs);
    spawn_receiver(w, &rf);
    rlog sl = {0};
    s.log = &sl;
    spawn_sender(w, &s);
    test_run_ok(w);
    cr_assert(eq(u32, sl.n, 5));
    for (uint32_t k = 0; k < 5; k++) rlog_expect(&sl, k, SIM_OK, k + 1, (k + 1) * SIM_MS);
    cr_assert(eq(u32, slow.n, 4));
    rlog_expect(&slow, 0, SIM_ELAGGED, 0, 10 * SIM_MS);
    rlog_expect(&slow, 1, SIM_OK, 4, 10 * SIM_MS);
    rlog_expect(&slow, 2, SIM_OK, 5, 10 * SIM_MS);
    rlog_expect(&slow, 3, SIM_ECLOSED, 0, 10 * SIM_MS);
    cr_assert(eq(u32, fast.n, 6));
    for (uint32_t k = 0; k < 5; k++) rlog_expect(&fast, k, SIM_OK, k + 1, (k + 1) * SIM_MS);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: sim_rx_len of a lagged broadcast receiver counts only the kept messages, and
 * try_recv reports the lag once too.
 * Method: capacity 3, seven sends; rx_len is 3; try_recv: SIM_ELAGGED, then 5, 6, 7, then
 * SIM_EEMPTY. */
Test(chan, broadcast_try_recv_lag)
{
    sim_world *w = test_world(19, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_BROADCAST, 3);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    for (uint32_t v = 1; v <= 7; v++) cr_assert(eq(int, send_u32(w, &tx, v), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 3));
    uint32_t got = 0;
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_ELAGGED));
    for (uint32_t v = 5; v <= 7; v++) {
        cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
        cr_assert(eq(u32, got, v));
    }
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_EEMPTY));
    sim_tx_drop(w, &tx);
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_ECLOSED));
    sim_rx_drop(w, &rx);
    sim_world_free(w);
}

/* ---- watch --------------------------------------------------------------------------------- */

/* Goal: a watch receiver waits for a newer version and reads the latest value; intermediate
 * values are skipped.
 * Method: initial 0; the receiver waits from t=0; at 5ms a task sends 1, 2, 3 in one poll, at
 * 8ms it sends 4 and drops its sender. The receiver sees 3 at 5ms, 4 at 8ms, then
 * SIM_ECLOSED. */
Test(chan, watch_latest_value_skips_intermediate)
{
    sim_world *w = test_world(20, SIM_SCHED_RANDOM);
    uint32_t initial = 0;
    sim_chan_desc d = u32_desc(SIM_CHAN_WATCH, 0);
    d.initial = &initial;
    rlog rl = {0};
    receiver r = {.max = 20, .log = &rl};
    sender s1 = {.delay_ns = 5 * SIM_MS, .count = 3, .base = 1};
    sender s2 = {.delay_ns = 8 * SIM_MS, .count = 1, .base = 4};
    new_chan(w, &d, &s1.tx, &r.rx);
    cr_assert(eq(int, sim_tx_clone(w, &s1.tx, &s2.tx), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &r.rx), 0)); /* the initial value counts as seen */
    spawn_receiver(w, &r);
    spawn_sender(w, &s1);
    spawn_sender(w, &s2);
    test_run_ok(w);
    cr_assert(eq(u32, rl.n, 3));
    rlog_expect(&rl, 0, SIM_OK, 3, 5 * SIM_MS);
    rlog_expect(&rl, 1, SIM_OK, 4, 8 * SIM_MS);
    rlog_expect(&rl, 2, SIM_ECLOSED, 0, 8 * SIM_MS);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: watch try_recv copies the current value and marks it seen; a new subscriber has seen
 * the current value; rx_len is 1 exactly while a newer version is unseen.
 * Method: initial 10: try_recv gives 10; send 11, 12: rx_len 1, try_recv 12, rx_len 0; a
 * subscriber made now has rx_len 0 and try_recv gives 12. */
Test(chan, watch_try_recv_and_subscribe)
{
    sim_world *w = test_world(21, SIM_SCHED_RANDOM);
    uint32_t initial = 10;
    sim_chan_desc d = u32_desc(SIM_CHAN_WATCH, 0);
    d.initial = &initial;
    sim_tx tx;
    sim_rx rx, sub;
    new_chan(w, &d, &tx, &rx);
    initial = 999; /* the initial value was copied */
    uint32_t got = 0;
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
    cr_assert(eq(u32, got, 10));
    cr_assert(eq(int, send_u32(w, &tx, 11), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tx, 12), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 1));
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
    cr_assert(eq(u32, got, 12));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 0));
    cr_assert(eq(int, sim_subscribe(w, &tx, &sub), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &sub), 0));
    cr_assert(eq(int, sim_try_recv(w, &sub, &got), SIM_OK));
    cr_assert(eq(u32, got, 12));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_rx_drop(w, &sub);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- try_recv ------------------------------------------------------------------------------ */

/* Goal: sim_try_recv returns SIM_EEMPTY (never waits) on an empty oneshot, mpsc and broadcast
 * receiver whose senders are alive, and does not consume anything.
 * Method: try_recv on each empty channel kind; then send one message and try_recv gets it. */
Test(chan, try_recv_empty)
{
    sim_world *w = test_world(22, SIM_SCHED_RANDOM);
    const sim_chan_kind kinds[3] = {SIM_CHAN_ONESHOT, SIM_CHAN_MPSC, SIM_CHAN_BROADCAST};
    for (int i = 0; i < 3; i++) {
        sim_chan_desc d = u32_desc(kinds[i], kinds[i] == SIM_CHAN_BROADCAST ? 4 : 2);
        sim_tx tx;
        sim_rx rx;
        new_chan(w, &d, &tx, &rx);
        uint32_t got = 0;
        cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_EEMPTY), "kind %d", (int)kinds[i]);
        cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_EEMPTY), "kind %d", (int)kinds[i]);
        cr_assert(eq(int, send_u32(w, &tx, 5), SIM_OK));
        cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
        cr_assert(eq(u32, got, 5));
        sim_tx_drop(w, &tx);
        sim_rx_drop(w, &rx);
    }
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: message buffers are written only on SIM_OK (sim.h), so a failed try_recv leaves the
 * caller's buffer as it was. Method: an empty mpsc (SIM_EEMPTY) and a closed one
 * (SIM_ECLOSED) both leave a marker value in place. */
Test(chan, try_recv_failure_leaves_out_untouched)
{
    sim_world *w = test_world(23, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    uint32_t got = 0xABABABABu;
    int empty = sim_try_recv(w, &rx, &got);
    uint32_t after_empty = got;
    sim_tx_drop(w, &tx);
    int closed = sim_try_recv(w, &rx, &got);
    sim_rx_drop(w, &rx);
    sim_world_free(w);
    cr_assert(eq(int, empty, SIM_EEMPTY));
    cr_assert(eq(u32, after_empty, 0xABABABABu));
    cr_assert(eq(int, closed, SIM_ECLOSED));
    cr_assert(eq(u32, got, 0xABABABABu));
}

/* ---- drop_msg ------------------------------------------------------------------------------ */

typedef struct drop_count {
    uint32_t calls;
    uint32_t per_value[64];
} drop_count;

static void count_drop(void *ud, void *msg)
{
    drop_count *c = ud;
    uint32_t v;
    memcpy(&v, msg, sizeof v);
    c->calls++;
    cr_assert(lt(u32, v, 64));
    c->per_value[v]++;
}

static sim_chan_desc counted_desc(sim_chan_kind kind, uint32_t capacity, drop_count *c)
{
    sim_chan_desc d = u32_desc(kind, capacity);
    d.drop_msg = count_drop;
    d.drop_ud = c;
    return d;
}

static void expect_dropped(const drop_count *c, const uint32_t *values, uint32_t n)
{
    cr_assert(eq(u32, c->calls, n));
    for (uint32_t i = 0; i < n; i++) {
        cr_assert(eq(u32, c->per_value[values[i]], 1), "value %u", values[i]);
    }
}

/* Goal: drop_msg is called exactly once for every mpsc message still queued when the channel
 * goes away, never for received ones, whichever end is dropped last.
 * Method: send 1..5, receive 1 and 2; (a) drop the sender then the receiver; (b) on a second
 * channel drop the receiver first, then the sender. Each time drop_msg sees 3, 4, 5 once. */
Test(chan, drop_msg_mpsc_queued_messages_once)
{
    for (int order = 0; order < 2; order++) {
        sim_world *w = test_world(24, SIM_SCHED_RANDOM);
        drop_count c = {0};
        sim_chan_desc d = counted_desc(SIM_CHAN_MPSC, 0, &c);
        sim_tx tx;
        sim_rx rx;
        new_chan(w, &d, &tx, &rx);
        for (uint32_t v = 1; v <= 5; v++) cr_assert(eq(int, send_u32(w, &tx, v), SIM_OK));
        uint32_t got;
        cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
        cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
        cr_assert(eq(u32, c.calls, 0));
        if (order == 0) {
            sim_tx_drop(w, &tx);
            cr_assert(eq(u32, c.calls, 0)); /* still receivable */
            sim_rx_drop(w, &rx);
        } else {
            sim_rx_drop(w, &rx);
            sim_tx_drop(w, &tx);
        }
        const uint32_t want[3] = {3, 4, 5};
        expect_dropped(&c, want, 3);
        cr_assert(eq(u32, test_objects_live(w), 0));
        sim_world_free(w);
        expect_dropped(&c, want, 3); /* freeing the world does not drop them again */
    }
}

/* Goal: messages of channels still alive when the world is freed go to drop_msg exactly once.
 * Method: a bounded mpsc holding 7, 8, a oneshot holding 9 and an unbounded mpsc holding
 * nothing are left alive; sim_world_free calls drop_msg for 7, 8 and 9 once each. */
Test(chan, drop_msg_on_world_free)
{
    sim_world *w = test_world(25, SIM_SCHED_RANDOM);
    drop_count c = {0};
    sim_chan_desc db = counted_desc(SIM_CHAN_MPSC, 4, &c);
    sim_chan_desc d1 = counted_desc(SIM_CHAN_ONESHOT, 0, &c);
    sim_chan_desc du = counted_desc(SIM_CHAN_MPSC, 0, &c);
    sim_tx tb, t1, tu;
    sim_rx rb, r1, ru;
    new_chan(w, &db, &tb, &rb);
    new_chan(w, &d1, &t1, &r1);
    new_chan(w, &du, &tu, &ru);
    cr_assert(eq(int, send_u32(w, &tb, 7), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tb, 8), SIM_OK));
    cr_assert(eq(int, send_u32(w, &t1, 9), SIM_OK));
    cr_assert(eq(u32, c.calls, 0));
    sim_world_free(w);
    const uint32_t want[3] = {7, 8, 9};
    expect_dropped(&c, want, 3);
}

/* Goal: a broadcast channel of pointers does not leak: every message it held, including ones
 * overwritten in its ring, reaches drop_msg exactly once.
 * Method: capacity 4, six sends (1, 2 are overwritten), a receiver reads some; when the last
 * handle goes, drop_msg has seen 1..6 once each. */
Test(chan, drop_msg_broadcast_each_message_once)
{
    sim_world *w = test_world(26, SIM_SCHED_RANDOM);
    drop_count c = {0};
    sim_chan_desc d = counted_desc(SIM_CHAN_BROADCAST, 4, &c);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    for (uint32_t v = 1; v <= 6; v++) cr_assert(eq(int, send_u32(w, &tx, v), SIM_OK));
    uint32_t got;
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_ELAGGED));
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
    cr_assert(eq(u32, got, 3));
    sim_rx_drop(w, &rx);
    sim_tx_drop(w, &tx);
    const uint32_t want[6] = {1, 2, 3, 4, 5, 6};
    expect_dropped(&c, want, 6);
    sim_world_free(w);
    cr_assert(eq(u32, c.calls, 6));
}

/* Goal: the value a watch channel holds when it goes away reaches drop_msg exactly once, and no
 * value is dropped twice.
 * Method: initial 1, send 2, 3; drop both ends; 3 was dropped exactly once, and no value more
 * than once. */
Test(chan, drop_msg_watch_current_value_once)
{
    sim_world *w = test_world(27, SIM_SCHED_RANDOM);
    drop_count c = {0};
    uint32_t initial = 1;
    sim_chan_desc d = counted_desc(SIM_CHAN_WATCH, 0, &c);
    d.initial = &initial;
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    cr_assert(eq(int, send_u32(w, &tx, 2), SIM_OK));
    cr_assert(eq(int, send_u32(w, &tx, 3), SIM_OK));
    cr_assert(eq(u32, c.per_value[3], 0));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_world_free(w);
    cr_assert(eq(u32, c.per_value[3], 1));
    for (uint32_t v = 0; v < 64; v++) cr_assert(le(u32, c.per_value[v], 1), "value %u", v);
}

/* ---- predicates ---------------------------------------------------------------------------- */

/* Goal: sim_rx_len, sim_rx_closed and sim_tx_closed track the queue and the handles.
 * Method: mpsc: rx_len counts sends and receives; rx_closed turns true only when the last of
 * two senders is dropped; on a second channel tx_closed turns true when the receiver goes,
 * and sim_tx_clone then fails with SIM_ECLOSED; broadcast: tx_closed only when every
 * subscriber is gone. An empty handle has rx_len 0. */
Test(chan, len_and_closed_predicates)
{
    sim_world *w = test_world(28, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sim_tx tx, tx2;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    cr_assert(eq(u32, sim_rx_len(w, &rx), 0));
    cr_assert(eq(int, sim_tx_clone(w, &tx, &tx2), SIM_OK));
    for (uint32_t v = 0; v < 3; v++) cr_assert(eq(int, send_u32(w, &tx2, v), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 3));
    uint32_t got;
    cr_assert(eq(int, sim_try_recv(w, &rx, &got), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 2));
    cr_assert(not(sim_rx_closed(w, &rx)));
    cr_assert(not(sim_tx_closed(w, &tx)));
    sim_tx_drop(w, &tx);
    cr_assert(not(sim_rx_closed(w, &rx)));
    sim_tx_drop(w, &tx2);
    cr_assert(sim_rx_closed(w, &rx));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 2));
    sim_rx_drop(w, &rx);
    sim_rx empty = {0};
    cr_assert(eq(u32, sim_rx_len(w, &empty), 0));

    new_chan(w, &d, &tx, &rx);
    sim_rx_drop(w, &rx);
    cr_assert(sim_tx_closed(w, &tx));
    cr_assert(eq(int, sim_tx_clone(w, &tx, &tx2), SIM_ECLOSED));
    sim_tx zero = {0};
    cr_assert(eq(int, memcmp(&tx2, &zero, sizeof zero), 0));
    sim_tx_drop(w, &tx);

    sim_chan_desc db = u32_desc(SIM_CHAN_BROADCAST, 4);
    sim_rx sub;
    new_chan(w, &db, &tx, &rx);
    cr_assert(eq(int, sim_subscribe(w, &tx, &sub), SIM_OK));
    sim_rx_drop(w, &rx);
    cr_assert(not(sim_tx_closed(w, &tx)));
    cr_assert(eq(int, send_u32(w, &tx, 1), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &sub), 1));
    sim_rx_drop(w, &sub);
    cr_assert(sim_tx_closed(w, &tx));
    cr_assert(eq(int, send_u32(w, &tx, 2), SIM_ECLOSED));
    sim_tx_drop(w, &tx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: sim_subscribe exists only for broadcast and watch.
 * Method: subscribe on an mpsc sender: SIM_EMISUSE, one misuse violation, empty out handle. */
Test(chan, subscribe_on_mpsc_is_misuse)
{
    sim_world *w = test_world(29, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sim_tx tx;
    sim_rx rx, sub;
    new_chan(w, &d, &tx, &rx);
    cr_assert(eq(int, sim_subscribe(w, &tx, &sub), SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    cr_assert(eq(u32, sim_rx_len(w, &sub), 0));
    sim_rx zero = {0};
    cr_assert(eq(int, memcmp(&sub, &zero, sizeof zero), 0));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_world_free(w);
}

/* ---- bad descs ----------------------------------------------------------------------------- */

/* Goal: sim_chan_new rejects bad descs with SIM_EINVAL, zeroes both handles, creates nothing
 * and records no violation.
 * Method: msg_size 0, msg_size 65537, broadcast capacity 0, watch without initial, an unknown
 * kind, a handle_at past the message, too many handles, handles on a broadcast; handles
 * prefilled with 0xFF must come back zero; objects_live stays 0. The limits themselves
 * (msg_size 1 and 65536) are accepted. */
Test(chan, new_rejects_bad_descs)
{
    sim_world *w = test_world(30, SIM_SCHED_RANDOM);
    uint32_t initial = 0;
    const uint32_t hsize = (uint32_t)sizeof(sim_handle);
    sim_chan_desc bad[8] = {
        {.kind = SIM_CHAN_MPSC, .msg_size = 0},
        {.kind = SIM_CHAN_MPSC, .msg_size = 65537},
        {.kind = SIM_CHAN_BROADCAST, .msg_size = 4, .capacity = 0},
        {.kind = SIM_CHAN_WATCH, .msg_size = 4, .initial = NULL},
        {.kind = (sim_chan_kind)9, .msg_size = 4, .capacity = 4, .initial = &initial},
        /* a handle that does not fit in the message */
        {.kind = SIM_CHAN_MPSC, .msg_size = hsize + 4, .handle_at = {5}, .handle_count = 1},
        /* more handles than SIM_MSG_HANDLES_MAX */
        {.kind = SIM_CHAN_MPSC, .msg_size = 8 * hsize, .handle_count = SIM_MSG_HANDLES_MAX + 1},
        /* handles on a broadcast channel (every receiver would get a copy) */
        {.kind = SIM_CHAN_BROADCAST, .msg_size = hsize, .capacity = 2, .handle_count = 1},
    };
    const sim_tx ztx = {0};
    const sim_rx zrx = {0};
    for (int i = 0; i < 8; i++) {
        sim_tx tx;
        sim_rx rx;
        memset(&tx, 0xFF, sizeof tx);
        memset(&rx, 0xFF, sizeof rx);
        cr_assert(eq(int, sim_chan_new(w, &bad[i], &tx, &rx), SIM_EINVAL), "desc %d", i);
        cr_assert(eq(int, memcmp(&tx, &ztx, sizeof tx), 0), "desc %d", i);
        cr_assert(eq(int, memcmp(&rx, &zrx, sizeof rx), 0), "desc %d", i);
    }
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_chan_desc ok1 = {.kind = SIM_CHAN_MPSC, .msg_size = 1};
    sim_chan_desc okmax = {.kind = SIM_CHAN_ONESHOT, .msg_size = 65536};
    sim_tx tx1, tx2;
    sim_rx rx1, rx2;
    cr_assert(eq(int, sim_chan_new(w, &ok1, &tx1, &rx1), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &okmax, &tx2, &rx2), SIM_OK));
    sim_tx_drop(w, &tx1);
    sim_rx_drop(w, &rx1);
    sim_tx_drop(w, &tx2);
    sim_rx_drop(w, &rx2);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* ---- stale handles ------------------------------------------------------------------------- */

typedef struct stale_recv {
    sim_co co;
    sim_rx rx;
    int *rc_out;
    uint32_t msg;
} stale_recv;

static int stale_recv_poll(void *state, sim_world *w)
{
    stale_recv *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_recv(&s->rx, &s->msg));
    *s->rc_out = rc;
    SIM_END(SIM_OK);
}

typedef struct stale_send {
    sim_co co;
    sim_tx tx;
    int *rc_out;
    uint32_t msg;
} stale_send;

static int stale_send_poll(void *state, sim_world *w)
{
    stale_send *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_send(&s->tx, &s->msg));
    *s->rc_out = rc;
    SIM_END(SIM_OK);
}

/* Goal: handles of a channel that is gone are stale: every use returns SIM_EMISUSE and records
 * a misuse violation, never a crash or a hang, and they never reach a channel that reuses the
 * record.
 * Method: keep copies of both handles of a bounded mpsc, drop the originals, then call
 * sim_try_send, sim_try_recv, sim_tx_clone, sim_subscribe, sim_recv and sim_send (in tasks)
 * and the drops on the copies, counting one violation per call; a new channel created
 * afterwards is not reached through them. */
Test(chan, stale_handles_after_channel_gone, .timeout = 10)
{
    sim_world *w = test_world(31, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 2);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    sim_tx stale_tx = tx;
    sim_rx stale_rx = rx;
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));

    /* A new channel, probably in the same record. */
    sim_tx ntx;
    sim_rx nrx;
    new_chan(w, &d, &ntx, &nrx);

    uint32_t n = 0, got = 0;
    cr_assert(eq(int, send_u32(w, &stale_tx, 1), SIM_EMISUSE));
    cr_assert(eq(u32, sim_world_violation_count(w), ++n));
    cr_assert(eq(int, sim_try_recv(w, &stale_rx, &got), SIM_EMISUSE));
    cr_assert(eq(u32, sim_world_violation_count(w), ++n));
    sim_tx out_tx;
    sim_rx out_rx;
    cr_assert(eq(int, sim_tx_clone(w, &stale_tx, &out_tx), SIM_EMISUSE));
    cr_assert(eq(u32, sim_world_violation_count(w), ++n));
    cr_assert(eq(int, sim_subscribe(w, &stale_tx, &out_rx), SIM_EMISUSE));
    cr_assert(eq(u32, sim_world_violation_count(w), ++n));
    cr_assert(eq(u32, sim_rx_len(w, &stale_rx), 0));

    int recv_rc = SIM_PENDING, send_rc = SIM_PENDING;
    stale_recv sr = {.rx = stale_rx, .rc_out = &recv_rc};
    stale_send ss = {.tx = stale_tx, .rc_out = &send_rc, .msg = 5};
    test_spawn(w, "stale_recv", NO_NODE, stale_recv_poll, NULL, &sr, sizeof sr);
    test_spawn(w, "stale_send", NO_NODE, stale_send_poll, NULL, &ss, sizeof ss);
    test_run_ok(w);
    cr_assert(eq(int, recv_rc, SIM_EMISUSE));
    cr_assert(eq(int, send_rc, SIM_EMISUSE));
    n += 2;
    cr_assert(eq(u32, sim_world_violation_count(w), n));

    sim_tx_drop(w, &stale_tx);
    sim_rx_drop(w, &stale_rx);
    cr_assert(ge(u32, sim_world_violation_count(w), n));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), sim_world_violation_count(w)));

    /* The new channel was not touched. */
    cr_assert(eq(u32, sim_rx_len(w, &nrx), 0));
    cr_assert(not(sim_rx_closed(w, &nrx)));
    cr_assert(not(sim_tx_closed(w, &ntx)));
    cr_assert(eq(int, send_u32(w, &ntx, 77), SIM_OK));
    cr_assert(eq(int, sim_try_recv(w, &nrx, &got), SIM_OK));
    cr_assert(eq(u32, got, 77));
    sim_tx_drop(w, &ntx);
    sim_rx_drop(w, &nrx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: a copy of a sender handle used after that handle was dropped is stale even while the
 * channel lives on (its receiver is alive): sim_try_send on it returns SIM_EMISUSE and records a
 * violation, and nothing is queued.
 * Method: mpsc with one sender; copy it, drop the original, send through the copy. */
Test(chan, stale_sender_copy_send_while_channel_alive)
{
    sim_world *w = test_world(32, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    sim_tx stale = tx;
    sim_tx_drop(w, &tx);
    cr_assert(sim_rx_closed(w, &rx));
    int rc = send_u32(w, &stale, 1);
    uint32_t misuse = test_violations(w, SIM_VIOLATION_MISUSE);
    uint32_t len = sim_rx_len(w, &rx);
    sim_rx_drop(w, &rx);
    sim_world_free(w);
    cr_assert(eq(str, (char *)sim_result_name(rc), "SIM_EMISUSE"));
    cr_assert(eq(u32, misuse, 1));
    cr_assert(eq(u32, len, 0));
}

/* Goal: dropping a sender handle twice (through a copy) while the receiver lives is harmless:
 * dropping is idempotent (sim.h, "Handles"), never a crash or a second close.
 * Method: mpsc with one sender; copy it, drop the original, drop the copy: the process must
 * survive, no violation is recorded, and the receiver still sees the channel closed. */
Test(chan, stale_sender_copy_double_drop_no_crash)
{
    sim_world *w = test_world(33, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    sim_tx stale = tx;
    sim_tx_drop(w, &tx);
    sim_tx_drop(w, &stale);
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 0));
    cr_assert(sim_rx_closed(w, &rx));
    sim_rx_drop(w, &rx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* Goal: a copy of a receiver handle used after that handle was dropped is stale even while a
 * sender keeps the channel alive: sim_try_recv returns SIM_EMISUSE with a violation.
 * Method: mpsc; copy the receiver, drop it (the sender now sees the channel closed), then
 * try_recv through the copy. */
Test(chan, stale_receiver_copy_while_channel_alive)
{
    sim_world *w = test_world(34, SIM_SCHED_RANDOM);
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    sim_tx tx;
    sim_rx rx;
    new_chan(w, &d, &tx, &rx);
    sim_rx stale = rx;
    sim_rx_drop(w, &rx);
    cr_assert(sim_tx_closed(w, &tx));
    uint32_t got = 0;
    int rc = sim_try_recv(w, &stale, &got);
    uint32_t misuse = test_violations(w, SIM_VIOLATION_MISUSE);
    sim_tx_drop(w, &tx);
    sim_world_free(w);
    cr_assert(eq(str, (char *)sim_result_name(rc), "SIM_EMISUSE"));
    cr_assert(eq(u32, misuse, 1));
}

/* ---- spurious wake-ups --------------------------------------------------------------------- */

typedef struct scenario_out {
    rlog bounded_rx, bounded_tx[3];
    int probe_rc;
    rlog oneshot_rx, closed_rx;
    rlog watch_rx;
    rlog bcast_fast, bcast_slow;
    int run_rc;
    uint32_t violations;
    uint64_t spurious_polls;
} scenario_out;

static void count_spurious(void *ud, const sim_event *e)
{
    if (e->kind == SIM_EV_POLL && SIM_EV_POLL_SPURIOUS(e->b)) (*(uint64_t *)ud)++;
}

/* Every channel kind at once: bounded backpressure with three waiting senders and a probe,
 * a oneshot sent at 4ms, a oneshot dropped unsent at 3ms, a watch updated twice at 5ms, a
 * broadcast with a fast and a lagging receiver. */
static void channel_scenario(uint64_t seed, sim_ratio spurious, scenario_out *o)
{
    memset(o, 0, sizeof *o);
    sim_world_desc wd = {.seed = seed, .spurious_wakeups = spurious, .trace = count_spurious,
                         .trace_ud = &o->spurious_polls};
    sim_world *w = test_world_desc(&wd);

    sim_chan_desc db = u32_desc(SIM_CHAN_MPSC, 1);
    sim_tx tx;
    o->probe_rc = SIM_PENDING;
    receiver rb = {.delay_ns = 10 * SIM_MS, .gap_ns = 1 * SIM_MS, .max = 20,
                   .log = &o->bounded_rx, .probe_rc = &o->probe_rc};
    new_chan(w, &db, &tx, &rb.rx);
    cr_assert(eq(int, send_u32(w, &tx, 1), SIM_OK));
    cr_assert(eq(int, sim_tx_clone(w, &tx, &rb.probe), SIM_OK));
    for (uint32_t i = 0; i < 3; i++) {
        sender s = {.delay_ns = (i + 1) * SIM_MS, .count = 1, .base = i + 2,
                    .log = &o->bounded_tx[i]};
        cr_assert(eq(int, sim_tx_clone(w, &tx, &s.tx), SIM_OK));
        spawn_sender(w, &s);
    }
    sim_tx_drop(w, &tx);
    spawn_receiver(w, &rb);

    sim_chan_desc d1 = u32_desc(SIM_CHAN_ONESHOT, 0);
    receiver r1 = {.max = 4, .log = &o->oneshot_rx};
    sender s1 = {.delay_ns = 4 * SIM_MS, .count = 1, .base = 77};
    new_chan(w, &d1, &s1.tx, &r1.rx);
    spawn_receiver(w, &r1);
    spawn_sender(w, &s1);

    receiver rc = {.max = 4, .log = &o->closed_rx};
    sender sc = {.delay_ns = 3 * SIM_MS, .count = 0};
    new_chan(w, &d1, &sc.tx, &rc.rx);
    spawn_receiver(w, &rc);
    spawn_sender(w, &sc);

    uint32_t initial = 0;
    sim_chan_desc dw = u32_desc(SIM_CHAN_WATCH, 0);
    dw.initial = &initial;
    receiver rw = {.max = 4, .log = &o->watch_rx};
    sender sw = {.delay_ns = 5 * SIM_MS, .count = 2, .base = 5};
    new_chan(w, &dw, &sw.tx, &rw.rx);
    spawn_receiver(w, &rw);
    spawn_sender(w, &sw);

    sim_chan_desc dbc = u32_desc(SIM_CHAN_BROADCAST, 2);
    receiver rf = {.max = 10, .log = &o->bcast_fast};
    receiver rs = {.delay_ns = 10 * SIM_MS, .max = 10, .log = &o->bcast_slow};
    sender sb = {.delay_ns = 1 * SIM_MS, .period_ns = 1 * SIM_MS, .count = 4, .base = 1};
    new_chan(w, &dbc, &sb.tx, &rf.rx);
    cr_assert(eq(int, sim_subscribe(w, &sb.tx, &rs.rx), SIM_OK));
    spawn_receiver(w, &rf);
    spawn_receiver(w, &rs);
    spawn_sender(w, &sb);

    o->run_rc = sim_world_run(w);
    o->violations = sim_world_violation_count(w);
    sim_world_free(w);
}

static void check_scenario(const scenario_out *o)
{
    cr_assert(eq(int, o->run_rc, SIM_OK));
    cr_assert(eq(u32, o->violations, 0));
    cr_assert(eq(int, o->probe_rc, SIM_EFULL));
    cr_assert(eq(u32, o->bounded_rx.n, 5));
    for (uint32_t i = 0; i < 4; i++) {
        rlog_expect(&o->bounded_rx, i, SIM_OK, i + 1, (10 + i) * SIM_MS);
    }
    rlog_expect(&o->bounded_rx, 4, SIM_ECLOSED, 0, 14 * SIM_MS);
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(eq(u32, o->bounded_tx[i].n, 1));
        rlog_expect(&o->bounded_tx[i], 0, SIM_OK, i + 2, (10 + i) * SIM_MS);
    }
    cr_assert(eq(u32, o->oneshot_rx.n, 2));
    rlog_expect(&o->oneshot_rx, 0, SIM_OK, 77, 4 * SIM_MS);
    rlog_expect(&o->oneshot_rx, 1, SIM_ECLOSED, 0, 4 * SIM_MS);
    cr_assert(eq(u32, o->closed_rx.n, 1));
    rlog_expect(&o->closed_rx, 0, SIM_ECLOSED, 0, 3 * SIM_MS);
    cr_assert(eq(u32, o->watch_rx.n, 2));
    rlog_expect(&o->watch_rx, 0, SIM_OK, 6, 5 * SIM_MS);
    rlog_expect(&o->watch_rx, 1, SIM_ECLOSED, 0, 5 * SIM_MS);
    cr_assert(eq(u32, o->bcast_fast.n, 5));
    for (uint32_t k = 0; k < 4; k++) {
        rlog_expect(&o->bcast_fast, k, SIM_OK, k + 1, (k + 1) * SIM_MS);
    }
    rlog_expect(&o->bcast_fast, 4, SIM_ECLOSED, 0, 4 * SIM_MS);
    cr_assert(eq(u32, o->bcast_slow.n, 4));
    rlog_expect(&o->bcast_slow, 0, SIM_ELAGGED, 0, 10 * SIM_MS);
    rlog_expect(&o->bcast_slow, 1, SIM_OK, 3, 10 * SIM_MS);
    rlog_expect(&o->bcast_slow, 2, SIM_OK, 4, 10 * SIM_MS);
    rlog_expect(&o->bcast_slow, 3, SIM_ECLOSED, 0, 10 * SIM_MS);
}

/* Goal: spurious wake-ups do not change what recv and send return: with
 * spurious_wakeups = {1, 2} every channel kind gives the same results, values and times as
 * without.
 * Method: run the all-kinds scenario for five seeds with and without spurious wake-ups;
 * check both against the expected outcome, check the logs are identical, and check (via the
 * trace) that spurious polls really happened. */
Test(chan, spurious_wakeups_do_not_change_results, .timeout = 10)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        scenario_out plain, noisy;
        channel_scenario(seed, (sim_ratio){0, 0}, &plain);
        channel_scenario(seed, (sim_ratio){1, 2}, &noisy);
        check_scenario(&plain);
        check_scenario(&noisy);
        cr_assert(eq(u64, plain.spurious_polls, 0));
        cr_assert(lt(u64, 0, noisy.spurious_polls), "seed %llu", (unsigned long long)seed);
        noisy.spurious_polls = 0;
        cr_assert(eq(int, memcmp(&plain, &noisy, sizeof plain), 0), "seed %llu",
                  (unsigned long long)seed);
    }
}
