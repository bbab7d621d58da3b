/*
 * test_handles.c: handles and who owns them, through sim.h: a task's channel ends, tokens,
 * join handles, mutexes, semaphores, notifies and task sets are released when it finishes,
 * is aborted or crashes; moves at spawn; sim_handle_move; sim_handle_share; handles carried
 * by messages (handle_at) move to the receiver and are released with unreceived messages;
 * a handle of another world and a stale handle are misuse; and the defect of issue 16: a task
 * whose end (or drop function) drops the last sender before its own receiver.
 *
 * Release is observed from the other side: a receiver sees SIM_ECLOSED, the object count
 * falls, a child runs on detached.
 */
#include <stddef.h>

#include "../helpers.h"

static const sim_node_id NO_NODE = {0};

#define FOREVER UINT64_MAX

enum { END_FINISH = 0, END_ABORT = 1, END_CRASH = 2 };

static int join_rc(sim_world *w, sim_join *j)
{
    return sim_block_on(w, sim_join_wait(j));
}

static sim_chan_desc u32_desc(sim_chan_kind kind, uint32_t capacity)
{
    return (sim_chan_desc){.kind = kind, .msg_size = sizeof(uint32_t), .capacity = capacity};
}

/* What a reader saw: every recv result and when. */
typedef struct rlog {
    uint32_t n;
    int rc[8];
    uint32_t v[8];
    uint64_t at[8];
} rlog;

/* Receives until an error, logging each result. */
typedef struct reader {
    sim_co co;
    sim_rx rx;
    rlog *log;
    uint32_t v;
} reader;

static int reader_poll(void *state, sim_world *w)
{
    reader *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    do {
        r->v = 0;
        SIM_AWAIT(rc, sim_recv(&r->rx, &r->v));
        cr_assert(lt(u32, r->log->n, 8));
        r->log->rc[r->log->n] = rc;
        r->log->v[r->log->n] = r->v;
        r->log->at[r->log->n] = sim_now(w);
        r->log->n++;
    } while (rc == SIM_OK);
    SIM_END(SIM_OK);
}

/* At 5ms aborts a task or crashes a node. */
typedef struct killer {
    sim_co co;
    sim_join victim;
    sim_node_id node;
} killer;

static int killer_poll(void *state, sim_world *w)
{
    killer *k = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &k->co);
    SIM_AWAIT(rc, sim_sleep_until(5 * SIM_MS));
    if (k->node.v != 0) {
        cr_assert(eq(int, sim_node_crash(w, k->node), SIM_OK));
    } else {
        sim_join_abort(w, &k->victim);
    }
    SIM_END(SIM_OK);
}

/* Ends task `victim` (on node `node`) as `how` says, at 5ms, unless it finishes by itself. */
static void end_it(sim_world *w, int how, sim_join victim, sim_node_id node)
{
    if (how == END_FINISH) return;
    killer k = {.victim = victim, .node = how == END_CRASH ? node : (sim_node_id){0}};
    sim_join j = test_spawn(w, "killer", NO_NODE, killer_poll, NULL, &k, sizeof k);
    sim_join_detach(w, &j);
}

/* ---- what a task's end releases ------------------------------------------------------------ */

/* Makes a channel, spawns a reader on node n2 with the receiver moved to it, sends 1, and
 * keeps its sender: returns at 2ms, or sleeps forever (to be aborted or crashed at 5ms). */
typedef struct chan_maker {
    sim_co co;
    int how;
    sim_node_id reader_node;
    rlog *log;
    sim_tx tx;
    reader r;
} chan_maker;

static int chan_maker_poll(void *state, sim_world *w)
{
    chan_maker *m = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &m->co);
    {
        sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
        cr_assert(eq(int, sim_chan_new(w, &d, &m->tx, &m->r.rx), SIM_OK));
        m->r.log = m->log;
        sim_task_desc rd = {.name = "reader", .node = m->reader_node, .poll = reader_poll,
                            .state = &m->r, .state_size = sizeof m->r,
                            .moves = SIM_MOVES(&m->r.rx)};
        cr_assert(eq(int, sim_spawn(w, &rd, NULL), SIM_OK));
    }
    cr_assert(eq(int, sim_try_send(w, &m->tx, &(uint32_t){1}), SIM_OK));
    SIM_AWAIT(rc, sim_sleep(w, m->how == END_FINISH ? 2 * SIM_MS : FOREVER));
    SIM_END(SIM_OK);
}

static void chan_end_scenario(uint64_t seed, int how)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    rlog log = {0};
    chan_maker m = {.how = how, .reader_node = n2, .log = &log};
    sim_join j = test_spawn(w, "maker", n1, chan_maker_poll, NULL, &m, sizeof m);
    end_it(w, how, j, n1);
    test_run_ok(w);
    uint64_t end = how == END_FINISH ? 2 * SIM_MS : 5 * SIM_MS;
    cr_assert(eq(u32, log.n, 2), "how %d", how);
    cr_assert(eq(int, log.rc[0], SIM_OK));
    cr_assert(eq(u32, log.v[0], 1));
    cr_assert(eq(int, log.rc[1], SIM_ECLOSED), "how %d", how);
    cr_assert(eq(u64, log.at[1], end), "how %d", how);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_join_detach(w, &j);
    sim_world_free(w);
}

/* Goal: a channel end made by a task is released when the task ends, however it ends: the
 * reader (on another node) sees SIM_ECLOSED at that moment.
 * Method: a task on n1 makes an mpsc, moves the receiver to a reader on n2 at spawn, sends 1
 * and keeps its sender; it returns at 2ms, is aborted at 5ms, or n1 crashes at 5ms: the
 * reader gets 1 at 0 and SIM_ECLOSED at 2 or 5ms; no object is left, no violation. */
Test(handles, channel_end_released_at_task_end)
{
    chan_end_scenario(1, END_FINISH);
    chan_end_scenario(2, END_ABORT);
    chan_end_scenario(3, END_CRASH);
}

/* Makes one object of every executor kind (channel, token, mutex, semaphore, notify, task
 * set), clones a token the test made, takes the mutex and a permit, and never lets go. */
typedef struct hoarder {
    sim_co co;
    int how;
    const sim_token *outer;
    sim_tx tx;
    sim_rx rx;
    sim_token tok;
    sim_token outer_clone;
    sim_mutex m;
    sim_sem s;
    sim_notify n;
    sim_task_set set;
    uint32_t *live_inside;
} hoarder;

static int hoarder_poll(void *state, sim_world *w)
{
    hoarder *h = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &h->co);
    cr_assert(eq(int, sim_chan_new(w, &(sim_chan_desc){.kind = SIM_CHAN_MPSC, .msg_size = 4},
                                   &h->tx, &h->rx), SIM_OK));
    cr_assert(eq(int, sim_token_new(w, NULL, &h->tok), SIM_OK));
    cr_assert(eq(int, sim_token_clone(w, h->outer, &h->outer_clone), SIM_OK));
    cr_assert(eq(int, sim_mutex_new(w, "m", &h->m), SIM_OK));
    cr_assert(eq(int, sim_sem_new(w, "s", 2, &h->s), SIM_OK));
    cr_assert(eq(int, sim_notify_new(w, "n", &h->n), SIM_OK));
    cr_assert(eq(int, sim_task_set_new(w, &h->set), SIM_OK));
    cr_assert(eq(int, sim_try_lock(w, &h->m), SIM_OK));
    cr_assert(eq(int, sim_try_acquire(w, &h->s, 1), SIM_OK));
    *h->live_inside = test_objects_live(w);
    SIM_AWAIT(rc, sim_sleep(w, h->how == END_FINISH ? 2 * SIM_MS : FOREVER));
    SIM_END(SIM_OK);
}

/* Goal: every handle a task made (and a clone of a token it was given) is released at its end,
 * finished, aborted or crashed, so nothing it made outlives it and a token the test still
 * holds stays alive (its handle count fell by one, not to zero).
 * Method: the test makes a token, a task (on n1) makes one object of every kind and clones
 * the token; 7 objects are live inside; the test drops its own token handle while the task
 * runs (the task's clone keeps it: 7 live); after the task's end (2ms, or 5ms aborted or
 * crashed), 0 objects are live and there is no violation. */
Test(handles, every_kind_released_at_task_end)
{
    for (int how = END_FINISH; how <= END_CRASH; how++) {
        sim_world *w = test_world(4 + (uint64_t)how, SIM_SCHED_RANDOM);
        sim_node_id n1 = test_node(w, "n1", NULL, NULL);
        sim_token outer;
        cr_assert(eq(int, sim_token_new(w, NULL, &outer), SIM_OK));
        uint32_t live_inside = 0;
        hoarder h = {.how = how, .outer = &outer, .live_inside = &live_inside};
        sim_join j = test_spawn(w, "hoarder", n1, hoarder_poll, NULL, &h, sizeof h);
        end_it(w, how, j, n1);
        cr_assert(eq(int, sim_world_run_until(w, 1 * SIM_MS), SIM_OK));
        cr_assert(eq(u32, live_inside, 7), "how %d", how);
        sim_token_drop(w, &outer);
        cr_assert(eq(u32, test_objects_live(w), 7), "how %d", how);
        test_run_ok(w);
        cr_assert(eq(u32, test_objects_live(w), 0), "how %d", how);
        cr_assert(eq(u32, sim_world_violation_count(w), 0), "how %d: %s", how,
                  sim_world_violation_count(w) ? sim_world_violation(w, 0)->message : "");
        sim_join_detach(w, &j);
        sim_world_free(w);
    }
}

/* Sleeps 10ms and records when it finished. */
typedef struct late_child {
    sim_co co;
    uint64_t *done_at;
} late_child;

static int late_child_poll(void *state, sim_world *w)
{
    late_child *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_sleep(w, 10 * SIM_MS));
    *c->done_at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Spawns a child (on node child_node) keeping its join handle, then ends without joining. */
typedef struct parent {
    sim_co co;
    int how;
    sim_node_id child_node;
    uint64_t *done_at;
    sim_join kid;
} parent;

static int parent_poll(void *state, sim_world *w)
{
    parent *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    {
        late_child c = {.done_at = p->done_at};
        p->kid = test_spawn(w, "child", p->child_node, late_child_poll, NULL, &c, sizeof c);
    }
    SIM_AWAIT(rc, sim_sleep(w, p->how == END_FINISH ? 1 * SIM_MS : FOREVER));
    SIM_END(SIM_OK);
}

/* Goal: a join handle released with its owner detaches the child, which runs on to its end
 * (it is not aborted), and its slot is freed when it finishes.
 * Method: a parent on n1 spawns a 10ms child on n2 and returns at 1ms, is aborted at 5ms, or
 * n1 crashes at 5ms: the child finishes at 10ms each time; no task is left and no violation. */
Test(handles, join_handle_released_detaches_child)
{
    for (int how = END_FINISH; how <= END_CRASH; how++) {
        sim_world *w = test_world(7 + (uint64_t)how, SIM_SCHED_RANDOM);
        sim_node_id n1 = test_node(w, "n1", NULL, NULL);
        sim_node_id n2 = test_node(w, "n2", NULL, NULL);
        uint64_t done_at = 0;
        parent p = {.how = how, .child_node = n2, .done_at = &done_at};
        sim_join j = test_spawn(w, "parent", n1, parent_poll, NULL, &p, sizeof p);
        end_it(w, how, j, n1);
        test_run_ok(w);
        cr_assert(eq(u64, done_at, 10 * SIM_MS), "how %d", how);
        sim_join_detach(w, &j);
        cr_assert(eq(u32, test_stats(w).tasks_live, 0), "how %d", how);
        cr_assert(eq(u32, sim_world_violation_count(w), 0), "how %d", how);
        sim_world_free(w);
    }
}

/* ---- moves, sim_handle_move, sim_handle_share ---------------------------------------------- */

/* Sleeps delay_ns, then try_sends 7 on its sender and records the result. */
typedef struct late_sender {
    sim_co co;
    sim_tx tx;
    uint64_t delay_ns;
    const sim_tx *via;   /* when set, sends on *via instead (a handle given by pointer) */
    int *rc_out;
} late_sender;

static int late_sender_poll(void *state, sim_world *w)
{
    late_sender *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, s->delay_ns));
    *s->rc_out = sim_try_send(w, s->via != NULL ? s->via : &s->tx, &(uint32_t){7});
    SIM_END(SIM_OK);
}

/* Makes a channel, gives the receiver to a reader (moved at spawn) and the sender to a child
 * that sends at 5ms (moved at spawn, or only copied), then returns at once. */
typedef struct mover {
    sim_co co;
    bool move;
    rlog *log;
    int *child_rc;
    sim_tx tx;
    reader r;
    late_sender c;
} mover;

static int mover_poll(void *state, sim_world *w)
{
    mover *m = state;
    SIM_BEGIN(w, &m->co);
    {
        sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
        cr_assert(eq(int, sim_chan_new(w, &d, &m->tx, &m->r.rx), SIM_OK));
        m->r.log = m->log;
        sim_task_desc rd = {.name = "reader", .poll = reader_poll, .state = &m->r,
                            .state_size = sizeof m->r, .moves = SIM_MOVES(&m->r.rx)};
        cr_assert(eq(int, sim_spawn(w, &rd, NULL), SIM_OK));
        m->c = (late_sender){.tx = m->tx, .delay_ns = 5 * SIM_MS, .rc_out = m->child_rc};
        sim_task_desc cd = {.name = "child", .poll = late_sender_poll, .state = &m->c,
                            .state_size = sizeof m->c,
                            .moves = m->move ? SIM_MOVES(&m->c.tx) : NULL};
        cr_assert(eq(int, sim_spawn(w, &cd, NULL), SIM_OK));
    }
    SIM_END(SIM_OK);
}

/* Goal: a handle listed in sim_task_desc.moves belongs to the new task and outlives its maker;
 * one only copied into the child's state is released with its maker, and the child's use of
 * it is then misuse naming the cause.
 * Method: a parent makes a channel, moves the receiver to a reader and gives the sender to a
 * child that sends at 5ms, then returns at 0. Moved: the reader gets 7 at 5ms, then
 * SIM_ECLOSED at 5ms. Copied: the reader gets SIM_ECLOSED at 0 and the child's send at 5ms is
 * SIM_EMISUSE with a violation saying the handle was released when its owner ended. */
Test(handles, moves_at_spawn)
{
    for (int move = 1; move >= 0; move--) {
        sim_world *w = test_world(10 + (uint64_t)move, SIM_SCHED_RANDOM);
        rlog log = {0};
        int child_rc = SIM_PENDING;
        mover m = {.move = move, .log = &log, .child_rc = &child_rc};
        sim_join j = test_spawn(w, "parent", NO_NODE, mover_poll, NULL, &m, sizeof m);
        test_run_ok(w);
        if (move) {
            cr_assert(eq(int, child_rc, SIM_OK));
            cr_assert(eq(u32, log.n, 2));
            cr_assert(eq(u32, log.v[0], 7));
            cr_assert(eq(u64, log.at[0], 5 * SIM_MS));
            cr_assert(eq(int, log.rc[1], SIM_ECLOSED));
            cr_assert(eq(u64, log.at[1], 5 * SIM_MS));
            cr_assert(eq(u32, sim_world_violation_count(w), 0));
        } else {
            cr_assert(eq(int, child_rc, SIM_EMISUSE));
            cr_assert(eq(u32, log.n, 1));
            cr_assert(eq(int, log.rc[0], SIM_ECLOSED));
            cr_assert(eq(u64, log.at[0], 0));
            cr_assert(eq(u32, sim_world_violation_count(w), 1));
            cr_assert(ne(ptr, (void *)test_violation_find(w, SIM_VIOLATION_MISUSE,
                                                          "released when its owner ended"),
                         NULL));
        }
        cr_assert(eq(u32, test_objects_live(w), 0));
        sim_join_detach(w, &j);
        sim_world_free(w);
    }
}

/* Makes a channel sender, publishes it through *slot, moves it to task `to` (when `move`)
 * and returns. */
typedef struct giver {
    sim_co co;
    const sim_tx *source;
    sim_tx *slot;
    sim_task_id to;
    bool move;
    int *rcs;            /* [4]: the move, and the three error cases */
} giver;

static int giver_poll(void *state, sim_world *w)
{
    giver *g = state;
    cr_assert(eq(int, sim_tx_clone(w, g->source, g->slot), SIM_OK)); /* a sender owned by g */
    if (g->move) g->rcs[0] = sim_handle_move(w, g->slot, g->to);
    g->rcs[1] = sim_handle_move(w, &(sim_tx){0}, g->to);          /* empty handle */
    g->rcs[2] = sim_handle_move(w, g->slot, (sim_task_id){99999}); /* no such task */
    g->rcs[3] = sim_handle_move(w, g->slot, sim_task_current(w));  /* to itself: fine */
    if (g->move) g->rcs[3] = sim_handle_move(w, g->slot, g->to);   /* and back */
    return SIM_OK;
}

/* Goal: sim_handle_move gives a handle to another live task, which keeps it after the maker
 * ends; a move of an empty handle is misuse, a move to an unknown task is SIM_EINVAL (no
 * violation).
 * Method: a keeper waits 5ms, then sends on a sender the giver made at 0 and moved to it (or
 * did not move). Moved: the send is SIM_OK and the reader gets 7 at 5ms. Not moved: the
 * sender went with the giver, the send is SIM_EMISUSE. Either way: the empty-handle move is
 * SIM_EMISUSE with a violation and the unknown task SIM_EINVAL. */
Test(handles, handle_move_to_another_task)
{
    for (int move = 1; move >= 0; move--) {
        sim_world *w = test_world(12 + (uint64_t)move, SIM_SCHED_RANDOM);
        sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
        sim_tx original, slot = {0};
        rlog log = {0};
        reader r = {.log = &log};
        cr_assert(eq(int, sim_chan_new(w, &d, &original, &r.rx), SIM_OK));
        int keeper_rc = SIM_PENDING;
        late_sender k = {.delay_ns = 5 * SIM_MS, .via = &slot, .rc_out = &keeper_rc};
        sim_join jk = test_spawn(w, "keeper", NO_NODE, late_sender_poll, NULL, &k, sizeof k);
        int rcs[4] = {99, 99, 99, 99};
        giver g = {.source = &original, .slot = &slot, .to = jk.task, .move = move, .rcs = rcs};
        sim_join jg = test_spawn(w, "giver", NO_NODE, giver_poll, NULL, &g, sizeof g);
        test_spawn_moves(w, "reader", NO_NODE, reader_poll, &r, sizeof r, SIM_MOVES(&r.rx));
        cr_assert(eq(int, sim_world_run_until(w, 1 * SIM_MS), SIM_OK)); /* the giver ran */
        sim_tx_drop(w, &original);
        test_run_ok(w);
        if (move) {
            cr_assert(eq(int, rcs[0], SIM_OK));
            cr_assert(eq(int, rcs[3], SIM_OK));
            cr_assert(eq(int, keeper_rc, SIM_OK));
            cr_assert(eq(u32, log.v[0], 7));
            cr_assert(eq(u64, log.at[0], 5 * SIM_MS));
        } else {
            cr_assert(eq(int, keeper_rc, SIM_EMISUSE));
        }
        cr_assert(eq(int, rcs[1], SIM_EMISUSE));
        cr_assert(eq(int, rcs[2], SIM_EINVAL));
        cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), move ? 1 : 2));
        cr_assert(ne(ptr, (void *)test_violation_find(w, SIM_VIOLATION_MISUSE,
                                                      "sim_handle_move on an empty handle"),
                     NULL));
        cr_assert(eq(u32, test_objects_live(w), 0));
        sim_join_detach(w, &jk);
        sim_join_detach(w, &jg);
        sim_world_free(w);
    }
}

/* On node n1: makes a sender (a clone of *slot) at 0, shares it with the node (when `share`)
 * through *slot, and returns. */
typedef struct sharer {
    sim_co co;
    const sim_tx *source;
    sim_tx *slot;
    bool share;
    int *rc_out;
} sharer;

static int sharer_poll(void *state, sim_world *w)
{
    sharer *s = state;
    cr_assert(eq(int, sim_tx_clone(w, s->source, s->slot), SIM_OK));
    *s->rc_out = s->share ? sim_handle_share(w, s->slot) : SIM_OK;
    return SIM_OK;
}

/* Goal: sim_handle_share keeps a handle past its maker, for every task of the node, until the
 * node crashes; without it the handle goes with its maker.
 * Method: a task on n1 makes a sender, shares it and returns at 0; another task of n1 sends 7
 * on it at 3ms (SIM_OK: the reader on n2 gets it at 3ms); n1 crashes at 5ms: the reader sees
 * SIM_ECLOSED at 5ms. Unshared: the send at 3ms is SIM_EMISUSE and the reader sees SIM_ECLOSED
 * at 1ms, when the test drops its own sender. A share from outside a task gives the handle to
 * the world. */
Test(handles, handle_share_keeps_it_for_the_node)
{
    for (int share = 1; share >= 0; share--) {
        sim_world *w = test_world(14 + (uint64_t)share, SIM_SCHED_RANDOM);
        sim_node_id n1 = test_node(w, "n1", NULL, NULL);
        sim_node_id n2 = test_node(w, "n2", NULL, NULL);
        sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
        sim_tx original, slot = {0};
        rlog log = {0};
        reader r = {.log = &log};
        cr_assert(eq(int, sim_chan_new(w, &d, &original, &r.rx), SIM_OK));
        int share_rc = SIM_PENDING, send_rc = SIM_PENDING;
        sharer s = {.source = &original, .slot = &slot, .share = share, .rc_out = &share_rc};
        sim_join js = test_spawn(w, "sharer", n1, sharer_poll, NULL, &s, sizeof s);
        late_sender u = {.delay_ns = 3 * SIM_MS, .via = &slot, .rc_out = &send_rc};
        sim_join ju = test_spawn(w, "user", n1, late_sender_poll, NULL, &u, sizeof u);
        sim_join jr = test_spawn_moves(w, "reader", n2, reader_poll, &r, sizeof r,
                                       SIM_MOVES(&r.rx));
        end_it(w, END_CRASH, (sim_join){0}, n1);
        cr_assert(eq(int, sim_world_run_until(w, 1 * SIM_MS), SIM_OK)); /* the sharer ran */
        sim_tx_drop(w, &original);
        test_run_ok(w);
        cr_assert(eq(int, share_rc, SIM_OK));
        if (share) {
            cr_assert(eq(int, send_rc, SIM_OK));
            cr_assert(eq(u32, log.n, 2));
            cr_assert(eq(u64, log.at[0], 3 * SIM_MS));
            cr_assert(eq(int, log.rc[1], SIM_ECLOSED));
            cr_assert(eq(u64, log.at[1], 5 * SIM_MS));
            cr_assert(eq(u32, sim_world_violation_count(w), 0));
        } else {
            cr_assert(eq(int, send_rc, SIM_EMISUSE));
            cr_assert(eq(u32, log.n, 1));
            cr_assert(eq(int, log.rc[0], SIM_ECLOSED));
            cr_assert(eq(u64, log.at[0], 1 * SIM_MS)); /* when the test dropped its own */
        }
        cr_assert(eq(u32, test_objects_live(w), 0));
        sim_join_detach(w, &js);
        sim_join_detach(w, &ju);
        sim_join_detach(w, &jr);
        /* Outside a task: to the world, which keeps it until it is dropped. */
        sim_token t;
        cr_assert(eq(int, sim_token_new(w, NULL, &t), SIM_OK));
        cr_assert(eq(int, sim_handle_share(w, &t), SIM_OK));
        cr_assert(sim_handle_valid(w, &t));
        sim_token_drop(w, &t);
        cr_assert(not(sim_handle_valid(w, &t)));
        sim_world_free(w);
    }
}

/* ---- handles carried by messages ----------------------------------------------------------- */

/* A request carrying the sender of a oneshot to reply on. */
typedef struct req {
    uint32_t id;
    sim_tx reply;
} req;

static sim_chan_desc req_desc(sim_msg_drop_cb drop_msg, void *ud)
{
    return (sim_chan_desc){.kind = SIM_CHAN_MPSC, .msg_size = sizeof(req), .name = "requests",
                           .handle_at = {offsetof(req, reply)}, .handle_count = 1,
                           .drop_msg = drop_msg, .drop_ud = ud};
}

/* Makes a oneshot, sends a request carrying its sender, awaits the reply. */
typedef struct client {
    sim_co co;
    sim_tx server;
    sim_rx reply_rx;
    req r;
    uint32_t answer;
    int *rc_out;
    uint64_t *at_out;
    uint32_t *answer_out;
} client;

static int client_poll(void *state, sim_world *w)
{
    client *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    {
        sim_chan_desc d = u32_desc(SIM_CHAN_ONESHOT, 0);
        cr_assert(eq(int, sim_chan_new(w, &d, &c->r.reply, &c->reply_rx), SIM_OK));
    }
    c->r.id = 4;
    SIM_TRY(sim_send(&c->server, &c->r)); /* the reply sender moves into the channel */
    SIM_AWAIT(rc, sim_recv(&c->reply_rx, &c->answer));
    *c->rc_out = rc;
    *c->at_out = sim_now(w);
    *c->answer_out = c->answer;
    SIM_END(SIM_OK);
}

enum { SERVE_REPLY = 0, SERVE_SILENT = 1, SERVE_DEAF = 2 };

/* Receives a request and replies 10 * id (REPLY), or receives it and returns at 3ms without
 * replying (SILENT), or never receives and returns at 3ms (DEAF). */
typedef struct server {
    sim_co co;
    sim_rx rx;
    int mode;
    req r;
} server;

static int server_poll(void *state, sim_world *w)
{
    server *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    if (s->mode != SERVE_DEAF) {
        SIM_TRY(sim_recv(&s->rx, &s->r)); /* the reply sender is now this task's */
        if (s->mode == SERVE_REPLY) {
            cr_assert(eq(int, sim_try_send(w, &s->r.reply, &(uint32_t){10 * s->r.id}), SIM_OK));
        }
    }
    SIM_AWAIT(rc, sim_sleep_until(3 * SIM_MS));
    SIM_END(SIM_OK);
}

typedef struct drops_seen {
    sim_world *w;
    uint32_t calls;
    bool handle_was_valid;
} drops_seen;

static void req_drop(void *ud, void *msg)
{
    drops_seen *d = ud;
    req r;
    memcpy(&r, msg, sizeof r);
    d->calls++;
    d->handle_was_valid |= sim_handle_valid(d->w, &r.reply);
}

/* Goal: a handle carried by a message (handle_at) moves with it: to the channel on send and to
 * the receiving task on receive, so the receiver's end releases it; a message never received
 * has its handles released with the channel, before drop_msg sees it.
 * Method: a client sends a request carrying the sender of its reply oneshot and awaits the
 * reply. The server replies (the client gets 40 at 0); or receives and returns at 3ms
 * without replying (the client sees SIM_ECLOSED at 3ms); or never receives and returns at
 * 3ms (its receiver goes, the queued request's handle is released: SIM_ECLOSED at 3ms, and
 * drop_msg ran once, finding the handle already invalid). No violation, no object left. */
Test(handles, handles_in_messages_move_with_them)
{
    for (int mode = SERVE_REPLY; mode <= SERVE_DEAF; mode++) {
        sim_world *w = test_world(16 + (uint64_t)mode, SIM_SCHED_RANDOM);
        drops_seen seen = {.w = w};
        sim_chan_desc d = req_desc(req_drop, &seen);
        int rc = SIM_PENDING;
        uint64_t at = 99;
        uint32_t answer = 0;
        client c = {.rc_out = &rc, .at_out = &at, .answer_out = &answer};
        server s = {.mode = mode};
        cr_assert(eq(int, sim_chan_new(w, &d, &c.server, &s.rx), SIM_OK));
        test_spawn_moves(w, "client", NO_NODE, client_poll, &c, sizeof c, SIM_MOVES(&c.server));
        test_spawn_moves(w, "server", NO_NODE, server_poll, &s, sizeof s, SIM_MOVES(&s.rx));
        test_run_ok(w);
        if (mode == SERVE_REPLY) {
            cr_assert(eq(int, rc, SIM_OK));
            cr_assert(eq(u32, answer, 40));
            cr_assert(eq(u64, at, 0));
        } else {
            cr_assert(eq(int, rc, SIM_ECLOSED), "mode %d", mode);
            cr_assert(eq(u64, at, 3 * SIM_MS), "mode %d", mode);
        }
        cr_assert(eq(u32, seen.calls, mode == SERVE_DEAF ? 1 : 0), "mode %d", mode);
        cr_assert(not(seen.handle_was_valid));
        cr_assert(eq(u32, test_objects_live(w), 0), "mode %d", mode);
        cr_assert(eq(u32, sim_world_violation_count(w), 0), "mode %d", mode);
        sim_world_free(w);
    }
}

/* The boot function of a node that takes one request off a channel (outside any task). */
typedef struct boot_inbox {
    const sim_rx *rx;
    req got;
    int rc;
} boot_inbox;

static int inbox_boot(void *ud, sim_world *w, sim_node_id node)
{
    boot_inbox *b = ud;
    (void)node;
    b->rc = sim_try_recv(w, b->rx, &b->got);
    return SIM_OK;
}

/* Goal: a handle received outside any task goes to the default owner, as any handle made
 * there: received in a boot function, it belongs to the node and goes when the node crashes.
 * Method: a client sends a request carrying its reply sender and waits; then node n1 is
 * added and its boot function try_recvs the request; n1 crashes at 5ms: the client sees
 * SIM_ECLOSED at 5ms (before the fix the handle stayed owned by the channel and the client
 * hung: SIM_EDEADLOCK). */
Test(handles, handle_received_outside_a_task_goes_to_the_node, .timeout = 10)
{
    sim_world *w = test_world(19, SIM_SCHED_RANDOM);
    sim_chan_desc d = req_desc(NULL, NULL);
    int rc = SIM_PENDING;
    uint64_t at = 99;
    uint32_t answer = 0;
    client c = {.rc_out = &rc, .at_out = &at, .answer_out = &answer};
    sim_rx rx;
    cr_assert(eq(int, sim_chan_new(w, &d, &c.server, &rx), SIM_OK));
    sim_join jc = test_spawn_moves(w, "client", NO_NODE, client_poll, &c, sizeof c,
                                   SIM_MOVES(&c.server));
    cr_assert(eq(int, sim_world_run_to_step(w, 1), SIM_OK)); /* the client sent and waits */
    boot_inbox inbox = {.rx = &rx, .rc = SIM_PENDING};
    sim_node_id n1 = test_node(w, "n1", inbox_boot, &inbox);
    cr_assert(eq(int, inbox.rc, SIM_OK));
    cr_assert(eq(u32, inbox.got.id, 4));
    cr_assert(sim_handle_valid(w, &inbox.got.reply));
    end_it(w, END_CRASH, (sim_join){0}, n1);
    test_run_ok(w);
    cr_assert(eq(int, join_rc(w, &jc), SIM_OK));
    cr_assert(eq(int, rc, SIM_ECLOSED));
    cr_assert(eq(u64, at, 5 * SIM_MS));
    cr_assert(not(sim_handle_valid(w, &inbox.got.reply)));
    sim_rx_drop(w, &rx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a message carrying a stale handle is sent, but the handle is reported as misuse.
 * Method: send a request whose reply sender was already dropped: the send is SIM_OK and one
 * misuse violation names the channel's offset. */
Test(handles, stale_handle_in_a_message_is_misuse)
{
    sim_world *w = test_world(20, SIM_SCHED_RANDOM);
    sim_chan_desc d = req_desc(NULL, NULL);
    sim_tx tx;
    sim_rx rx;
    cr_assert(eq(int, sim_chan_new(w, &d, &tx, &rx), SIM_OK));
    sim_chan_desc od = u32_desc(SIM_CHAN_ONESHOT, 0);
    req r = {.id = 1};
    sim_rx reply_rx;
    cr_assert(eq(int, sim_chan_new(w, &od, &r.reply, &reply_rx), SIM_OK));
    sim_tx stale = r.reply;
    sim_tx_drop(w, &r.reply);
    r.reply = stale;
    cr_assert(eq(int, sim_try_send(w, &tx, &r), SIM_OK));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    cr_assert(ne(ptr, (void *)test_violation_find(w, SIM_VIOLATION_MISUSE, "stale or foreign"),
                 NULL));
    sim_tx_drop(w, &tx);
    sim_rx_drop(w, &rx);
    sim_rx_drop(w, &reply_rx);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* ---- handles of another world, stale handles ----------------------------------------------- */

/* One handle of every executor kind. */
typedef struct kit {
    sim_tx tx;
    sim_rx rx;
    sim_token tok;
    sim_mutex m;
    sim_sem s;
    sim_notify n;
    sim_task_set set;
    sim_join j;
} kit;

typedef struct idle_task {
    sim_co co;
} idle_task;

static int idle_poll(void *state, sim_world *w)
{
    idle_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_sleep(w, 1 * SIM_MS));
    SIM_END(rc);
}

static void kit_make(sim_world *w, kit *k)
{
    sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
    cr_assert(eq(int, sim_chan_new(w, &d, &k->tx, &k->rx), SIM_OK));
    cr_assert(eq(int, sim_token_new(w, NULL, &k->tok), SIM_OK));
    cr_assert(eq(int, sim_mutex_new(w, "m", &k->m), SIM_OK));
    cr_assert(eq(int, sim_sem_new(w, "s", 1, &k->s), SIM_OK));
    cr_assert(eq(int, sim_notify_new(w, "n", &k->n), SIM_OK));
    cr_assert(eq(int, sim_task_set_new(w, &k->set), SIM_OK));
    idle_task t = {0};
    k->j = test_spawn(w, "idle", NO_NODE, idle_poll, NULL, &t, sizeof t);
}

/* Uses every handle of k in w; returns how many calls reported SIM_EMISUSE (void calls count
 * when they recorded a violation). */
static uint32_t kit_use(sim_world *w, kit *k)
{
    uint32_t misuse = 0, v = 7;
    uint32_t before = sim_world_violation_count(w);
    misuse += sim_try_send(w, &k->tx, &v) == SIM_EMISUSE;
    misuse += sim_try_recv(w, &k->rx, &v) == SIM_EMISUSE;
    misuse += sim_tx_clone(w, &k->tx, &(sim_tx){0}) == SIM_EMISUSE;
    misuse += sim_token_clone(w, &k->tok, &(sim_token){0}) == SIM_EMISUSE;
    misuse += sim_unlock(w, &k->m) == SIM_EMISUSE;
    misuse += sim_sem_add(w, &k->s, 1) == SIM_EMISUSE;
    misuse += sim_handle_share(w, &k->n) == SIM_EMISUSE;
    misuse += sim_handle_move(w, &k->set, (sim_task_id){1}) == SIM_EMISUSE;
    uint32_t counted = sim_world_violation_count(w);
    sim_token_cancel(w, &k->tok);
    sim_notify_one(w, &k->n);
    sim_task_set_abort_all(w, &k->set);
    sim_join_abort(w, &k->j);
    misuse += sim_world_violation_count(w) - counted;
    cr_assert(eq(u32, sim_world_violation_count(w) - before, misuse));
    return misuse;
}

static void kit_drop(sim_world *w, kit *k)
{
    sim_tx_drop(w, &k->tx);
    sim_rx_drop(w, &k->rx);
    sim_token_drop(w, &k->tok);
    sim_mutex_drop(w, &k->m);
    sim_sem_drop(w, &k->s);
    sim_notify_drop(w, &k->n);
    sim_task_set_drop(w, &k->set);
    sim_join_detach(w, &k->j);
}

/* Goal: (issue 16 defect) a handle carries its world: used in another world it is misuse
 * (SIM_EMISUSE and a violation there, saying so), never an alias of that world's object with
 * the same slot; the world it belongs to sees nothing.
 * Method: worlds A and B make the same objects in the same order (same slots and ids); every
 * handle of A used with B is misuse (12 calls, 12 violations "of another world"), none is
 * valid in B, B's objects are untouched (its queue is empty, its token not cancelled, its
 * task not aborted) and A has no violation; both kits are dropped cleanly. */
Test(handles, handle_of_another_world_is_misuse)
{
    sim_world *a = test_world(21, SIM_SCHED_RANDOM);
    sim_world *b = test_world(21, SIM_SCHED_RANDOM);
    kit ka, kb;
    kit_make(a, &ka);
    kit_make(b, &kb);
    cr_assert(eq(u32, kit_use(b, &ka), 12));
    cr_assert(eq(u32, test_violations(b, SIM_VIOLATION_MISUSE), 12));
    cr_assert(ne(ptr, (void *)test_violation_find(b, SIM_VIOLATION_MISUSE, "another world"),
                 NULL));
    const void *all[8] = {&ka.tx, &ka.rx, &ka.tok, &ka.m, &ka.s, &ka.n, &ka.set, &ka.j};
    for (int i = 0; i < 8; i++) {
        cr_assert(not(sim_handle_valid(b, all[i])), "handle %d", i);
        cr_assert(sim_handle_valid(a, all[i]), "handle %d", i);
    }
    cr_assert(eq(u32, sim_rx_len(b, &kb.rx), 0));
    cr_assert(not(sim_token_is_cancelled(b, &kb.tok)));
    cr_assert(eq(u32, sim_sem_available(b, &kb.s), 1));
    cr_assert(eq(int, sim_block_on(b, sim_join_wait(&kb.j)), SIM_OK)); /* not aborted */
    cr_assert(eq(u32, sim_world_violation_count(a), 0));
    kit_drop(a, &ka);
    kit_drop(b, &kb);
    cr_assert(eq(u32, sim_world_violation_count(a), 0));
    cr_assert(eq(u32, test_objects_live(a), 0));
    cr_assert(eq(u32, test_objects_live(b), 0));
    sim_world_free(a);
    sim_world_free(b);
}

/* Goal: a stale handle (its object dropped, or released with its owner) is misuse for every
 * kind, never a crash or an alias of a new object in the same slot.
 * Method: make a kit, keep copies, drop the kit, make a new kit (reusing the slots): every call
 * on the copies is misuse (12 violations saying the handle was dropped or released), the new
 * kit is untouched, and dropping the copies again does nothing (dropping is idempotent), not
 * a double free. */
Test(handles, stale_handle_is_misuse)
{
    sim_world *w = test_world(22, SIM_SCHED_RANDOM);
    kit k, fresh;
    kit_make(w, &k);
    kit copy = k;
    kit_drop(w, &k);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    kit_make(w, &fresh);
    cr_assert(eq(u32, kit_use(w, &copy), 12));
    cr_assert(ne(ptr, (void *)test_violation_find(w, SIM_VIOLATION_MISUSE,
                                                  "dropped, or released"), NULL));
    cr_assert(eq(u32, sim_rx_len(w, &fresh.rx), 0));
    cr_assert(not(sim_token_is_cancelled(w, &fresh.tok)));
    cr_assert(eq(u32, sim_sem_available(w, &fresh.s), 1));
    uint32_t before = sim_world_violation_count(w);
    kit_drop(w, &copy);
    cr_assert(eq(u32, sim_world_violation_count(w) - before, 0)); /* idempotent drops */
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&fresh.j)), SIM_OK));
    kit_drop(w, &fresh);
    cr_assert(eq(u32, test_objects_live(w), 0));
    sim_world_free(w);
}

/* ---- the last sender dropped before the task's own receiver -------------------------------- */

/* Holds both ends of a channel (sender first), has received once on it, then awaits a second
 * message that only it could send: returns at 2ms (a timeout), or is aborted or crashed at
 * 5ms. With `by_drop`, the ends are not its own (the world's) and its drop function drops
 * them, sender first. */
typedef struct self_chan {
    sim_co co;
    int how;
    bool by_drop;
    sim_tx tx;
    sim_rx rx;
    uint32_t v;
    uint32_t *drops;
} self_chan;

static int self_chan_poll(void *state, sim_world *w)
{
    self_chan *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    cr_assert(eq(int, sim_try_send(w, &s->tx, &(uint32_t){1}), SIM_OK));
    SIM_TRY(sim_recv(&s->rx, &s->v)); /* its own waker is now on the receiver */
    if (s->how == END_FINISH) {
        SIM_AWAIT(rc, sim_timeout(w, 2 * SIM_MS, sim_recv(&s->rx, &s->v)));
    } else {
        SIM_AWAIT(rc, sim_recv(&s->rx, &s->v));
    }
    SIM_END(SIM_OK);
}

static void self_chan_drop(void *state, sim_world *w)
{
    self_chan *s = state;
    (*s->drops)++;
    if (!s->by_drop) return;
    sim_tx_drop(w, &s->tx); /* the last sender, while its own receiver lives */
    sim_rx_drop(w, &s->rx);
}

/* Goal: (issue 16 defect) a task whose end drops the last sender of a channel before its own
 * receiver, while it waits on that receiver, ends cleanly: no assertion, no violation, nothing
 * left; the same when its drop function drops them in that order.
 * Method: the task holds both ends (moved in the order sender, receiver), receives once from
 * itself, then waits on the receiver; it returns at 2ms (a timeout), is aborted at 5ms or its
 * node crashes at 5ms; then the same with world-owned ends dropped by its drop function. */
Test(handles, last_sender_dropped_before_own_receiver)
{
    for (int by_drop = 0; by_drop <= 1; by_drop++) {
        for (int how = END_FINISH; how <= END_CRASH; how++) {
            sim_world *w = test_world(23 + (uint64_t)(by_drop * 3 + how), SIM_SCHED_RANDOM);
            sim_node_id n1 = test_node(w, "n1", NULL, NULL);
            sim_chan_desc d = u32_desc(SIM_CHAN_MPSC, 0);
            uint32_t drops = 0;
            self_chan s = {.how = how, .by_drop = by_drop, .drops = &drops};
            cr_assert(eq(int, sim_chan_new(w, &d, &s.tx, &s.rx), SIM_OK));
            sim_task_desc td = {.name = "self", .node = n1, .poll = self_chan_poll,
                                .drop = self_chan_drop, .state = &s, .state_size = sizeof s,
                                .moves = by_drop ? NULL : SIM_MOVES(&s.tx, &s.rx)};
            sim_join j;
            cr_assert(eq(int, sim_spawn(w, &td, &j), SIM_OK));
            end_it(w, how, j, n1);
            test_run_ok(w);
            const int results[3] = {SIM_OK, SIM_ECANCELED, SIM_ECRASHED};
            cr_assert(eq(int, join_rc(w, &j), results[how]), "by_drop %d how %d", by_drop, how);
            cr_assert(eq(u32, drops, 1));
            cr_assert(eq(u32, test_objects_live(w), 0), "by_drop %d how %d", by_drop, how);
            cr_assert(eq(u32, sim_world_violation_count(w), 0), "by_drop %d how %d: %s", by_drop,
                      how, sim_world_violation_count(w) ? sim_world_violation(w, 0)->message : "");
            sim_world_free(w);
        }
    }
}
