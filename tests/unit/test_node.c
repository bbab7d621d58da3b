/*
 * test_node.c: simulated nodes through sim.h: boot, crash (drop order, joiners, timers and
 * channels left behind, a task crashing its own node, side effects in crash drops), restart,
 * pause and resume, bad calls, names.
 *
 * Tasks report to the test through pointers to records on the test's stack; every world is
 * freed before its test returns. Drop functions only log that they ran: what a task armed or
 * owns is released by the executor, and how a task ended is read from its join handle or from
 * the trace (taskends.h).
 */
#include "../helpers.h"
#include "../taskends.h"

#define NEVER UINT64_MAX

/* An append-only log of small integers. */
typedef struct ilog {
    int v[32];
    uint32_t n;
} ilog;

static void ilog_push(ilog *l, int x)
{
    if (l->n < 32) l->v[l->n] = x;
    l->n++;
}

static sim_node_id add_node(sim_world *w, const char *name, sim_boot_cb boot, void *ud)
{
    return test_node(w, name, boot, ud);
}

/* ---- a generic sleeper that logs its drop ---------------------------------------------------- */

typedef struct nap_rec {
    uint64_t woke_at;       /* NEVER until the sleep completes */
    uint32_t polls;
    uint32_t drops;
    sim_task_id id;         /* sim_task_current at the first poll */
    sim_node_id node_seen;  /* sim_node_current at the first poll */
} nap_rec;

typedef struct napper {
    sim_co co;
    uint64_t duration_ns;
    int tag;                /* pushed to drop_log when dropped */
    ilog *drop_log;         /* may be NULL */
    nap_rec *rec;
} napper;

static int napper_poll(void *state, sim_world *w)
{
    napper *n = state;
    int rc = SIM_OK;
    n->rec->polls++;
    SIM_BEGIN(w, &n->co);
    n->rec->id = sim_task_current(w);
    n->rec->node_seen = sim_node_current(w);
    SIM_AWAIT(rc, sim_sleep(w, n->duration_ns));
    n->rec->woke_at = sim_now(w);
    SIM_END(rc);
}

static void napper_drop(void *state, sim_world *w)
{
    napper *n = state;
    (void)w;
    n->rec->drops++;
    if (n->drop_log != NULL) ilog_push(n->drop_log, n->tag);
}

static sim_join spawn_napper(sim_world *w, const char *name, sim_node_id node,
                             uint64_t duration_ns, int tag, ilog *drop_log, nap_rec *rec)
{
    rec->woke_at = NEVER;
    napper n = {.duration_ns = duration_ns, .tag = tag, .drop_log = drop_log, .rec = rec};
    return test_spawn(w, name, node, napper_poll, napper_drop, &n, sizeof n);
}

/* ---- a joiner -------------------------------------------------------------------------------- */

typedef struct join_rec {
    int rc;
    uint64_t at;
} join_rec;

typedef struct joiner {
    sim_co co;
    sim_join target;
    join_rec *rec;
} joiner;

static int joiner_poll(void *state, sim_world *w)
{
    joiner *j = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &j->co);
    SIM_AWAIT(rc, sim_join_wait(&j->target));
    j->rec->rc = rc;
    j->rec->at = sim_now(w);
    SIM_END(SIM_OK);
}

static sim_join spawn_joiner(sim_world *w, const char *name, sim_node_id node, sim_join target,
                             join_rec *rec)
{
    rec->rc = SIM_PENDING;
    joiner j = {.target = target, .rec = rec};
    return test_spawn(w, name, node, joiner_poll, NULL, &j, sizeof j);
}

/* ---- a world-level chaos task: at given times, crash / restart / pause / resume -------------- */

typedef enum chaos_op { OP_CRASH, OP_RESTART, OP_PAUSE, OP_RESUME } chaos_op;

typedef struct chaos_step {
    uint64_t at_ns;
    chaos_op op;
    sim_node_id node;
} chaos_step;

typedef struct chaos {
    sim_co co;
    chaos_step steps[4];
    uint32_t nsteps;
    uint32_t i;
    int rcs[4];
    int *rc_out;           /* copies of rcs, for the test */
} chaos;

static int chaos_poll(void *state, sim_world *w)
{
    chaos *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    for (c->i = 0; c->i < c->nsteps; c->i++) {
        SIM_AWAIT(rc, sim_sleep_until(c->steps[c->i].at_ns));
        switch (c->steps[c->i].op) {
        case OP_CRASH: rc = sim_node_crash(w, c->steps[c->i].node); break;
        case OP_RESTART: rc = sim_node_restart(w, c->steps[c->i].node); break;
        case OP_PAUSE: rc = sim_node_pause(w, c->steps[c->i].node); break;
        case OP_RESUME: rc = sim_node_resume(w, c->steps[c->i].node); break;
        }
        c->rc_out[c->i] = rc;
    }
    SIM_END(SIM_OK);
}

static sim_join spawn_chaos(sim_world *w, const chaos_step *steps, uint32_t n, int *rc_out)
{
    chaos c = {.nsteps = n, .rc_out = rc_out};
    for (uint32_t i = 0; i < n; i++) {
        c.steps[i] = steps[i];
        rc_out[i] = SIM_PENDING;
    }
    return test_spawn(w, "chaos", (sim_node_id){0}, chaos_poll, NULL, &c, sizeof c);
}

/* ---- boot ------------------------------------------------------------------------------------ */

typedef struct probe_rec {
    sim_node_id seen[4];
    uint32_t nseen;
} probe_rec;

typedef struct probe {
    sim_co co;
    bool spawn_child;
    probe_rec *rec;
} probe;

static int probe_poll(void *state, sim_world *w)
{
    probe *p = state;
    SIM_BEGIN(w, &p->co);
    if (p->rec->nseen < 4) p->rec->seen[p->rec->nseen] = sim_node_current(w);
    p->rec->nseen++;
    if (p->spawn_child) {
        /* node 0 from inside a task: the calling task's node. */
        probe child = {.rec = p->rec};
        sim_task_desc d = {.name = "probe-child", .poll = probe_poll, .state = &child,
                           .state_size = sizeof child};
        int rc = sim_spawn(w, &d, NULL);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    SIM_END(SIM_OK);
}

typedef struct boot_rec {
    uint32_t calls;
    sim_node_id arg[4];
    probe_rec probes;
    int fail_first;          /* return this from the first call (0 = succeed) */
    nap_rec orphan;          /* a task spawned by a failing boot */
} boot_rec;

static int boot_probes(void *ud, sim_world *w, sim_node_id node)
{
    boot_rec *b = ud;
    if (b->calls < 4) b->arg[b->calls] = node;
    b->calls++;
    probe p = {.spawn_child = true, .rec = &b->probes};
    sim_task_desc d = {.name = "probe", .poll = probe_poll, .state = &p, .state_size = sizeof p};
    int rc = sim_spawn(w, &d, NULL);
    if (rc != SIM_OK) return rc;
    p.spawn_child = false;
    return sim_spawn(w, &d, NULL);
}

/* Goal: sim_node_add boots the node once, with its id, and tasks spawned in boot (node 0)
 * or by those tasks (node 0) land on that node; a world-level task stays on node 0.
 * Method: a boot function spawns two probes (one spawns a child); each records
 * sim_node_current. */
Test(node, add_boots_once_and_tasks_land_on_node)
{
    sim_world *w = test_world(1, SIM_SCHED_RANDOM);
    boot_rec b = {0};
    add_node(w, "first", NULL, NULL); /* so the probed node's id is not 1 */
    sim_node_id n = add_node(w, "probed", boot_probes, &b);
    cr_assert(eq(u32, n.v, 2));
    cr_assert(eq(u32, b.calls, 1));
    cr_assert(eq(u32, b.arg[0].v, n.v));
    cr_assert(eq(u32, sim_node_boots(w, n), 1));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_UP));
    probe_rec world_level = {0};
    probe p = {.rec = &world_level};
    test_spawn(w, "world-probe", (sim_node_id){0}, probe_poll, NULL, &p, sizeof p);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, b.probes.nseen, 3));
    for (uint32_t i = 0; i < 3; i++) cr_assert(eq(u32, b.probes.seen[i].v, n.v), "probe %u", i);
    cr_assert(eq(u32, world_level.nseen, 1));
    cr_assert(eq(u32, world_level.seen[0].v, 0));
    cr_assert(eq(u32, b.calls, 1)); /* running the world does not boot again */
    sim_world_free(w);
}

/* ---- crash ----------------------------------------------------------------------------------- */

typedef struct tick_rec {
    uint32_t ticks;
    uint64_t last_at;
} tick_rec;

typedef struct ticker {
    sim_co co;
    sim_interval every;
    uint32_t i;
    uint32_t count;
    tick_rec *rec;
} ticker;

static int ticker_poll(void *state, sim_world *w)
{
    ticker *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    sim_interval_init(w, &t->every, 10 * SIM_MS);
    for (t->i = 0; t->i < t->count; t->i++) {
        SIM_AWAIT(rc, sim_tick(&t->every));
        t->rec->ticks++;
        t->rec->last_at = sim_now(w);
    }
    SIM_END(rc);
}

static int filler_poll(void *state, sim_world *w)
{
    (void)state;
    (void)w;
    return SIM_OK;
}

/* Goal: crash drops every task of the node, in spawn order (their drop functions run in that
 * order); tasks on other nodes keep running; joiners on another node, at world level and
 * outside all get SIM_ECRASHED.
 * Method: three sleepers on node A (spawned between tasks of node B, the last one at 1 ms
 * after some finished tasks freed their storage), a ticker on B, joiners for A's tasks on B
 * and at world level; a chaos task crashes A at 10 ms. */
Test(node, crash_drops_tasks_in_spawn_order_and_joiners_see_ecrashed)
{
    sim_world *w = test_world(2, SIM_SCHED_RANDOM);
    sim_node_id a = add_node(w, "a", NULL, NULL);
    sim_node_id b = add_node(w, "b", NULL, NULL);
    ilog drops = {0};
    nap_rec r1 = {0}, r2 = {0}, r3 = {0}, rb = {0};
    tick_rec tr = {0};
    /* Short-lived tasks spawned first and finished early, so that a3, spawned last, may take
     * storage freed by them: spawn order must not be confused with storage order. */
    for (uint32_t i = 0; i < 3; i++) {
        sim_task_desc fd = {.name = "filler", .poll = filler_poll, .state_size = sizeof(sim_co)};
        cr_assert(eq(int, sim_spawn(w, &fd, NULL), SIM_OK));
    }
    sim_join j1 = spawn_napper(w, "a1", a, 10 * SIM_S, 1, &drops, &r1);
    ticker t = {.count = 50, .rec = &tr};
    sim_join jt = test_spawn(w, "b-ticker", b, ticker_poll, NULL, &t, sizeof t);
    sim_join j2 = spawn_napper(w, "a2", a, 20 * SIM_MS, 2, &drops, &r2);
    sim_join jb = spawn_napper(w, "b-napper", b, 300 * SIM_MS, 9, &drops, &rb);
    cr_assert(eq(int, sim_world_run_until(w, SIM_MS), SIM_OK));
    sim_join j3 = spawn_napper(w, "a3", a, 5 * SIM_S, 3, &drops, &r3);
    join_rec on_b = {0}, at_world = {0};
    spawn_joiner(w, "b-joiner", b, j1, &on_b);
    spawn_joiner(w, "w-joiner", (sim_node_id){0}, j2, &at_world);
    /* A crashes at 10 ms, before any of its sleepers (10 s, 20 ms, 5 s) wakes. */
    int chaos_rc[1];
    chaos_step steps[1] = {{.at_ns = 10 * SIM_MS, .op = OP_CRASH, .node = a}};
    spawn_chaos(w, steps, 1, chaos_rc);

    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, chaos_rc[0], SIM_OK));
    cr_assert(eq(int, (int)sim_node_status(w, a), (int)SIM_NODE_DOWN));
    cr_assert(eq(u32, drops.n, 4)); /* a1, a2, a3, then b-napper finishing normally */
    cr_assert(eq(int, drops.v[0], 1));
    cr_assert(eq(int, drops.v[1], 2));
    cr_assert(eq(int, drops.v[2], 3));
    cr_assert(eq(int, drops.v[3], 9));
    cr_assert(eq(u64, r1.woke_at, NEVER));
    cr_assert(eq(u64, r2.woke_at, NEVER));
    cr_assert(eq(u64, r3.woke_at, NEVER));
    /* B kept running. */
    cr_assert(eq(u32, tr.ticks, 50));
    cr_assert(eq(u64, tr.last_at, 500 * SIM_MS));
    cr_assert(eq(u64, rb.woke_at, 300 * SIM_MS));
    cr_assert(eq(int, on_b.rc, SIM_ECRASHED));
    cr_assert(eq(u64, on_b.at, 10 * SIM_MS));
    cr_assert(eq(int, at_world.rc, SIM_ECRASHED));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j3)), SIM_ECRASHED));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jt)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jb)), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- restart --------------------------------------------------------------------------------- */

typedef struct life_boot {
    uint32_t calls;
    sim_node_id arg[4];
    nap_rec lives[4];        /* the task each boot spawned */
    ilog drops;
} life_boot;

static int boot_life(void *ud, sim_world *w, sim_node_id node)
{
    life_boot *b = ud;
    uint32_t k = b->calls++;
    if (k >= 4) return SIM_ELIMIT;
    b->arg[k] = node;
    b->lives[k].woke_at = NEVER;
    napper n = {.duration_ns = SIM_S, .tag = (int)k, .drop_log = &b->drops, .rec = &b->lives[k]};
    sim_task_desc d = {.name = "life", .poll = napper_poll, .drop = napper_drop, .state = &n,
                       .state_size = sizeof n};
    return sim_spawn(w, &d, NULL);
}

/* Goal: restart calls boot again (same node id) and sim_node_boots counts boots; the tasks of
 * the first incarnation stay dead and those of the second run.
 * Method: crash at 100 ms and restart at 200 ms from outside between run_until calls; each
 * boot spawns a 1 s sleeper. */
Test(node, restart_boots_again_and_counts)
{
    test_ends ends = {0};
    sim_world_desc d = {.seed = 3, .trace = test_ends_cb, .trace_ud = &ends};
    sim_world *w = test_world_desc(&d);
    life_boot b = {0};
    sim_node_id n = add_node(w, "phoenix", boot_life, &b);
    cr_assert(eq(int, sim_world_run_until(w, 100 * SIM_MS), SIM_OK));
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_DOWN));
    cr_assert(eq(u32, sim_node_boots(w, n), 1));
    cr_assert(eq(u32, b.lives[0].drops, 1));
    cr_assert(eq(int, test_end_of(&ends, b.lives[0].id), SIM_ECRASHED));
    cr_assert(eq(int, sim_world_run_until(w, 200 * SIM_MS), SIM_OK));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_OK));
    cr_assert(eq(u32, b.calls, 2));
    cr_assert(eq(u32, b.arg[1].v, n.v));
    cr_assert(eq(u32, sim_node_boots(w, n), 2));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_UP));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u64, b.lives[0].woke_at, NEVER));
    cr_assert(eq(u64, b.lives[1].woke_at, 1200 * SIM_MS));
    cr_assert(eq(u32, b.lives[1].node_seen.v, n.v));
    cr_assert(eq(int, test_end_of(&ends, b.lives[1].id), SIM_OK));
    cr_assert(eq(u32, b.lives[1].drops, 1));
    /* And again, from inside a task this time. */
    int rcs[2];
    chaos_step steps[2] = {{.at_ns = 1300 * SIM_MS, .op = OP_CRASH, .node = n},
                           {.at_ns = 1400 * SIM_MS, .op = OP_RESTART, .node = n}};
    spawn_chaos(w, steps, 2, rcs);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, rcs[0], SIM_OK));
    cr_assert(eq(int, rcs[1], SIM_OK));
    cr_assert(eq(u32, sim_node_boots(w, n), 3));
    cr_assert(eq(u32, b.calls, 3));
    cr_assert(eq(u64, b.lives[2].woke_at, 2400 * SIM_MS));
    cr_assert(eq(u32, b.lives[2].node_seen.v, n.v));
    cr_assert(eq(u32, b.arg[2].v, n.v));
    sim_world_free(w);
}

/* ---- crash with timers and channels ---------------------------------------------------------- */

typedef struct holder {
    sim_co co;
    sim_tx keep_tx;        /* sender of c1, never used; moved to the task */
    sim_rx in;             /* receiver of c2; moved to the task */
    uint32_t msg;
} holder;

static int holder_poll(void *state, sim_world *w)
{
    holder *h = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &h->co);
    SIM_AWAIT(rc, sim_timeout(w, 5 * SIM_S, sim_recv(&h->in, &h->msg)));
    SIM_END(rc);
}

typedef struct peer_rec {
    int rc;
    uint64_t at;
} peer_rec;

typedef struct peer_recv {
    sim_co co;
    sim_rx rx;
    uint32_t msg;
    peer_rec *rec;
} peer_recv;

static int peer_recv_poll(void *state, sim_world *w)
{
    peer_recv *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    SIM_AWAIT(rc, sim_recv(&p->rx, &p->msg));
    p->rec->rc = rc;
    p->rec->at = sim_now(w);
    SIM_END(SIM_OK);
}

typedef struct peer_send {
    sim_co co;
    sim_tx tx;
    uint32_t msg;
    peer_rec *rec;
} peer_send;

static int peer_send_poll(void *state, sim_world *w)
{
    peer_send *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    SIM_AWAIT(rc, sim_sleep_until(200 * SIM_MS));
    p->msg = 7;
    p->rec->rc = sim_try_send(w, &p->tx, &p->msg);
    p->rec->at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Goal: a crash releases what the node's tasks armed and own, with no drop function: no timer
 * stays armed, a peer waiting to receive sees SIM_ECLOSED at once, a peer sending later sees
 * SIM_ECLOSED, no channel object is left, and nothing is reported.
 * Method: node A: a 10 s sleeper and a holder (sender of c1 and receiver of c2, moved to it,
 * awaiting c2 under a 5 s timeout); node B: a receiver on c1 and a sender on c2 that sends at
 * 200 ms, each owning its end; A crashes at 100 ms. */
Test(node, crash_releases_timers_and_closes_channels)
{
    sim_world *w = test_world(4, SIM_SCHED_RANDOM);
    sim_node_id a = add_node(w, "a", NULL, NULL);
    sim_node_id b = add_node(w, "b", NULL, NULL);
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t), .capacity = 4};
    holder h = {0};
    peer_recv pr = {0};
    peer_send ps = {0};
    cr_assert(eq(int, sim_chan_new(w, &cd, &h.keep_tx, &pr.rx), SIM_OK));
    cr_assert(eq(int, sim_chan_new(w, &cd, &ps.tx, &h.in), SIM_OK));
    peer_rec recv_rec = {.rc = SIM_PENDING}, send_rec = {.rc = SIM_PENDING};
    pr.rec = &recv_rec;
    ps.rec = &send_rec;
    nap_rec nr = {0};
    sim_join jn = spawn_napper(w, "a-sleeper", a, 10 * SIM_S, 0, NULL, &nr);
    sim_join jh = test_spawn_moves(w, "a-holder", a, holder_poll, &h, sizeof h,
                               SIM_MOVES(&h.keep_tx, &h.in));
    test_spawn_moves(w, "b-recv", b, peer_recv_poll, &pr, sizeof pr, SIM_MOVES(&pr.rx));
    test_spawn_moves(w, "b-send", b, peer_send_poll, &ps, sizeof ps, SIM_MOVES(&ps.tx));
    int rcs[1];
    chaos_step steps[1] = {{.at_ns = 100 * SIM_MS, .op = OP_CRASH, .node = a}};
    spawn_chaos(w, steps, 1, rcs);

    cr_assert(eq(int, sim_world_run_until(w, 50 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 4)); /* sleeper, timeout, sender, chaos */
    cr_assert(eq(u32, test_objects_live(w), 2));
    cr_assert(eq(int, sim_world_run_until(w, 150 * SIM_MS), SIM_OK));
    cr_assert(eq(int, rcs[0], SIM_OK));
    cr_assert(eq(u32, test_timers_armed(w), 1)); /* only b-send's */
    cr_assert(eq(u32, nr.drops, 1));
    cr_assert(eq(int, recv_rec.rc, SIM_ECLOSED));
    cr_assert(eq(u64, recv_rec.at, 100 * SIM_MS));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, send_rec.rc, SIM_ECLOSED));
    cr_assert(eq(u64, send_rec.at, 200 * SIM_MS));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jh)), SIM_ECRASHED));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jn)), SIM_ECRASHED));
    sim_stats st;
    sim_world_stats(w, &st);
    cr_assert(eq(u32, st.timers_armed, 0));
    cr_assert(eq(u32, st.objects_live, 0));
    cr_assert(eq(u32, st.violations, 0));
    sim_world_free(w);
}

/* ---- what a node owns ------------------------------------------------------------------------ */

typedef struct owned_boot {
    sim_rx rx;          /* the receiver of the channel made at the first boot, for the test */
    uint32_t boots;
} owned_boot;

static int boot_with_sender(void *ud, sim_world *w, sim_node_id node)
{
    owned_boot *b = ud;
    (void)node;
    if (b->boots++ > 0) return SIM_OK;
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t)};
    sim_tx tx;
    /* Both ends are the node's; the test moves the receiver to a world-level listener. */
    return sim_chan_new(w, &cd, &tx, &b->rx);
}

typedef struct listener {
    sim_co co;
    sim_rx rx;
    uint32_t msg;
    peer_rec *rec;
} listener;

static int listener_poll(void *state, sim_world *w)
{
    listener *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    SIM_AWAIT(rc, sim_recv(&l->rx, &l->msg));
    l->rec->rc = rc;
    l->rec->at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Goal: handles made by a boot function belong to the node: they outlive the boot and every
 * task, and go when the node crashes (a world-level receiver then sees SIM_ECLOSED); they are
 * not released by a restart's boot. Method: boot makes a channel and keeps its sender; its
 * receiver moves to a world-level listener; the node crashes at 30 ms. */
Test(node, handles_made_in_boot_belong_to_the_node)
{
    sim_world *w = test_world(12, SIM_SCHED_RANDOM);
    owned_boot ob = {0};
    sim_node_id n = add_node(w, "owner", boot_with_sender, &ob);
    peer_rec rec = {.rc = SIM_PENDING};
    listener l = {.rx = ob.rx, .rec = &rec};
    sim_join lj = test_spawn_moves(w, "listener", (sim_node_id){0}, listener_poll, &l, sizeof l,
                               SIM_MOVES(&l.rx));
    int rcs[1];
    chaos_step steps[1] = {{.at_ns = 30 * SIM_MS, .op = OP_CRASH, .node = n}};
    spawn_chaos(w, steps, 1, rcs);
    cr_assert(eq(int, sim_world_run_until(w, 20 * SIM_MS), SIM_OK));
    cr_assert(eq(int, rec.rc, SIM_PENDING), "the sender lives while the node does");
    cr_assert(eq(u32, test_objects_live(w), 1));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&lj)), SIM_OK));
    cr_assert(eq(int, rcs[0], SIM_OK));
    cr_assert(eq(int, rec.rc, SIM_ECLOSED));
    cr_assert(eq(u64, rec.at, 30 * SIM_MS));
    cr_assert(eq(u32, test_objects_live(w), 0));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_OK));
    cr_assert(eq(u32, ob.boots, 2));
    test_run_ok(w);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- a task crashing its own node ------------------------------------------------------------ */

typedef struct self_rec {
    ilog log;              /* 10 = before crash, 11 = after crash, 12 = second poll, tag = drop */
    int crash_rc;
    int status_after;
} self_rec;

typedef struct self_crasher {
    sim_co co;
    sim_node_id node;
    self_rec *rec;
} self_crasher;

static int self_crasher_poll(void *state, sim_world *w)
{
    self_crasher *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    ilog_push(&s->rec->log, 10);
    s->rec->crash_rc = sim_node_crash(w, s->node);
    s->rec->status_after = (int)sim_node_status(w, s->node);
    ilog_push(&s->rec->log, 11);
    SIM_AWAIT(rc, sim_yield());
    ilog_push(&s->rec->log, 12);
    SIM_END(rc);
}

static void self_crasher_drop(void *state, sim_world *w)
{
    self_crasher *s = state;
    (void)w;
    ilog_push(&s->rec->log, 20);
}

/* Goal: a task may crash its own node; the other tasks of the node are dropped during the
 * call, the calling task only once its poll has returned, never polled again.
 * Method: node A holds a sleeper (spawned first, drop tag 1) and a task that crashes A at
 * 10 ms, then yields; the log must read before, sleeper drop, after, own drop. */
Test(node, task_crashing_own_node_is_dropped_after_its_poll)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    sim_node_id a = add_node(w, "a", NULL, NULL);
    self_rec rec = {0};
    nap_rec nr = {0};
    sim_join jn = spawn_napper(w, "a-sleeper", a, 10 * SIM_S, 1, &rec.log, &nr);
    cr_assert(eq(int, sim_world_run_until(w, 10 * SIM_MS), SIM_OK));
    self_crasher s = {.node = a, .rec = &rec};
    sim_join j = test_spawn(w, "suicidal", a, self_crasher_poll, self_crasher_drop, &s,
                            sizeof s);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_ECRASHED));
    cr_assert(eq(int, rec.crash_rc, SIM_OK));
    cr_assert(eq(int, rec.status_after, (int)SIM_NODE_DOWN));
    cr_assert(eq(u32, rec.log.n, 4));
    cr_assert(eq(int, rec.log.v[0], 10));
    cr_assert(eq(int, rec.log.v[1], 1));
    cr_assert(eq(int, rec.log.v[2], 11));
    cr_assert(eq(int, rec.log.v[3], 20));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jn)), SIM_ECRASHED));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, rec.log.n, 4)); /* never polled again */
    cr_assert(eq(u32, test_timers_armed(w), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- side effects in crash drops ------------------------------------------------------------- */

typedef struct dirty_rec {
    int send_rc;
    int spawn_rc;
    uint32_t drops;
} dirty_rec;

typedef struct dirty {
    sim_co co;
    sim_tx tx;      /* the test's (not moved): alive while the drop runs */
    sim_token tok;  /* the test's too */
    uint32_t msg;
    dirty_rec *rec;
} dirty;

static int dirty_poll(void *state, sim_world *w)
{
    dirty *d = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &d->co);
    SIM_AWAIT(rc, sim_sleep(w, 10 * SIM_S));
    SIM_END(rc);
}

static int noop_poll(void *state, sim_world *w)
{
    (void)state;
    (void)w;
    return SIM_OK;
}

/* Tries to act on the world; it only runs at the crash in the test below. */
static void dirty_drop(void *state, sim_world *w)
{
    dirty *d = state;
    d->rec->drops++;
    d->msg = 99;
    d->rec->send_rc = sim_try_send(w, &d->tx, &d->msg);
    sim_task_desc td = {.name = "ghost", .poll = noop_poll, .state_size = sizeof(sim_co)};
    sim_join gj;
    d->rec->spawn_rc = sim_spawn(w, &td, &gj);
    sim_token_cancel(w, &d->tok);
}

/* Goal: a drop function that runs because its node crashed cannot act on the world: sending
 * and spawning return SIM_EMISUSE, cancelling a token does nothing, and each records a
 * crash-side-effect violation. Method: a task on A uses a sender and a token clone that the
 * test keeps (so they are alive while the drop runs); its drop tries all three when A
 * crashes. The message must not arrive, no task must be spawned, the token must stay
 * uncancelled. */
Test(node, side_effects_in_crash_drop_are_rejected)
{
    sim_world *w = test_world(6, SIM_SCHED_RANDOM);
    sim_node_id a = add_node(w, "a", NULL, NULL);
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint32_t)};
    dirty_rec rec = {.send_rc = SIM_PENDING, .spawn_rc = SIM_PENDING};
    dirty d = {.rec = &rec};
    sim_rx rx;
    sim_token tok;
    cr_assert(eq(int, sim_chan_new(w, &cd, &d.tx, &rx), SIM_OK));
    cr_assert(eq(int, sim_token_new(w, NULL, &tok), SIM_OK));
    cr_assert(eq(int, sim_token_clone(w, &tok, &d.tok), SIM_OK));
    sim_join dj = test_spawn(w, "dirty", a, dirty_poll, dirty_drop, &d, sizeof d);
    cr_assert(eq(int, sim_world_run_until(w, 10 * SIM_MS), SIM_OK));
    sim_stats before;
    sim_world_stats(w, &before);
    cr_assert(eq(int, sim_node_crash(w, a), SIM_OK));
    cr_assert(eq(u32, rec.drops, 1));
    cr_assert(eq(int, rec.send_rc, SIM_EMISUSE));
    cr_assert(eq(int, rec.spawn_rc, SIM_EMISUSE));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 0));
    cr_assert(not(sim_token_is_cancelled(w, &tok)));
    sim_stats after;
    sim_world_stats(w, &after);
    cr_assert(eq(u64, after.spawns, before.spawns));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_CRASH_SIDE_EFFECT), 3));
    cr_assert(eq(u32, after.timers_armed, 0));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&dj)), SIM_ECRASHED));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, sim_rx_len(w, &rx), 0));
    cr_assert(not(sim_rx_closed(w, &rx)), "the test still holds the sender");
    sim_tx_drop(w, &d.tx);
    cr_assert(sim_rx_closed(w, &rx));
    sim_rx_drop(w, &rx);
    sim_token_drop(w, &tok);
    sim_token_drop(w, &d.tok);
    sim_world_stats(w, &after);
    cr_assert(eq(u32, after.objects_live, 0));
    sim_world_free(w);
}

/* ---- pause ----------------------------------------------------------------------------------- */

/* Goal: pause freezes a node's tasks while the clock goes on; wake-ups that happen meanwhile
 * are delivered at resume; tasks on other nodes are unaffected; a task spawned onto a paused
 * node first runs at resume.
 * Method: P and Q each hold a task sleeping 100 ms; chaos pauses P at 50 ms and resumes it at
 * 300 ms; at 150 ms the test spawns another task on P. */
Test(node, pause_freezes_node_until_resume)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    sim_node_id p = add_node(w, "p", NULL, NULL);
    sim_node_id q = add_node(w, "q", NULL, NULL);
    nap_rec rp = {0}, rq = {0}, late = {0};
    sim_join jp = spawn_napper(w, "p-sleeper", p, 100 * SIM_MS, 0, NULL, &rp);
    sim_join jq = spawn_napper(w, "q-sleeper", q, 100 * SIM_MS, 0, NULL, &rq);
    int rcs[2];
    chaos_step steps[2] = {{.at_ns = 50 * SIM_MS, .op = OP_PAUSE, .node = p},
                           {.at_ns = 300 * SIM_MS, .op = OP_RESUME, .node = p}};
    spawn_chaos(w, steps, 2, rcs);
    cr_assert(eq(int, sim_world_run_until(w, 150 * SIM_MS), SIM_OK));
    cr_assert(eq(int, rcs[0], SIM_OK));
    cr_assert(eq(int, (int)sim_node_status(w, p), (int)SIM_NODE_PAUSED));
    cr_assert(eq(u64, rq.woke_at, 100 * SIM_MS));
    cr_assert(eq(u64, rp.woke_at, NEVER));
    sim_join jl = spawn_napper(w, "p-late", p, 0, 0, NULL, &late);
    cr_assert(eq(int, sim_world_run_until(w, 250 * SIM_MS), SIM_OK));
    cr_assert(eq(u64, rp.woke_at, NEVER));
    cr_assert(eq(u32, late.polls, 0));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(int, rcs[1], SIM_OK));
    cr_assert(eq(int, (int)sim_node_status(w, p), (int)SIM_NODE_UP));
    cr_assert(eq(u64, rp.woke_at, 300 * SIM_MS));
    cr_assert(eq(u64, late.woke_at, 300 * SIM_MS));
    cr_assert(eq(u32, rp.polls, 2));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jp)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jq)), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jl)), SIM_OK));
    sim_world_free(w);
}

/* Goal: pause works when driven from outside the run: with a node paused by the test and
 * nothing else pending, sim_world_run_until lets the clock go on to until_ns (pause freezes
 * the node "while the clock goes on") instead of declaring a deadlock, and after resume the
 * frozen task completes.
 * Method: a task on P sleeps 10 ms; the test pauses P at 5 ms, runs until 50 ms, resumes P
 * and runs to the end: the sleeper wakes at 50 ms. */
Test(node, pause_driven_from_outside_with_run_until, .timeout = 10)
{
    sim_world *w = test_world(11, SIM_SCHED_RANDOM);
    sim_node_id p = add_node(w, "p", NULL, NULL);
    nap_rec rp = {0};
    sim_join jp = spawn_napper(w, "p-sleeper", p, 10 * SIM_MS, 0, NULL, &rp);
    cr_assert(eq(int, sim_world_run_until(w, 5 * SIM_MS), SIM_OK));
    cr_assert(eq(int, sim_node_pause(w, p), SIM_OK));
    int rc = sim_world_run_until(w, 50 * SIM_MS);
    uint64_t now = sim_now(w);
    char report[512];
    snprintf(report, sizeof report, "%s", sim_world_report(w));
    cr_assert(eq(int, sim_node_resume(w, p), SIM_OK));
    int run_rc = sim_world_run(w);
    uint64_t woke = rp.woke_at;
    int join_rc = run_rc == SIM_OK ? sim_block_on(w, sim_join_wait(&jp)) : run_rc;
    sim_world_free(w);
    cr_assert(eq(int, rc, SIM_OK), "run_until(50 ms) on a paused node: %s at %llu ns\n%s",
              sim_result_name(rc), (unsigned long long)now, report);
    cr_assert(eq(u64, now, 50 * SIM_MS));
    cr_assert(eq(int, run_rc, SIM_OK));
    cr_assert(eq(u64, woke, 50 * SIM_MS));
    cr_assert(eq(int, join_rc, SIM_OK));
}

/* ---- bad calls, names ------------------------------------------------------------------------ */

/* Goal: node operations on a node in the wrong state, or on an unknown node, give SIM_ENODE
 * and change nothing.
 * Method: walk one node through up, paused, down and up again, trying every wrong call at
 * each state, plus ids 0 and 99. */
Test(node, bad_calls_give_enode)
{
    sim_world *w = test_world(8, SIM_SCHED_RANDOM);
    sim_node_id n = add_node(w, "n", NULL, NULL);
    sim_node_id ids[2] = {{0}, {99}};
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert(eq(int, sim_node_crash(w, ids[i]), SIM_ENODE));
        cr_assert(eq(int, sim_node_restart(w, ids[i]), SIM_ENODE));
        cr_assert(eq(int, sim_node_pause(w, ids[i]), SIM_ENODE));
        cr_assert(eq(int, sim_node_resume(w, ids[i]), SIM_ENODE));
    }
    /* up */
    cr_assert(eq(int, sim_node_restart(w, n), SIM_ENODE));
    cr_assert(eq(int, sim_node_resume(w, n), SIM_ENODE));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_UP));
    /* paused */
    cr_assert(eq(int, sim_node_pause(w, n), SIM_OK));
    cr_assert(eq(int, sim_node_pause(w, n), SIM_ENODE));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_ENODE));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_PAUSED));
    /* a paused node can crash */
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    /* down */
    cr_assert(eq(int, sim_node_crash(w, n), SIM_ENODE));
    cr_assert(eq(int, sim_node_pause(w, n), SIM_ENODE));
    cr_assert(eq(int, sim_node_resume(w, n), SIM_ENODE));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_DOWN));
    cr_assert(eq(u32, sim_node_boots(w, n), 1));
    /* spawning onto a down node */
    nap_rec r = {0};
    napper np = {.rec = &r};
    sim_task_desc d = {.name = "x", .node = n, .poll = napper_poll, .state = &np,
                       .state_size = sizeof np};
    sim_join j;
    cr_assert(eq(int, sim_spawn(w, &d, &j), SIM_ENODE));
    cr_assert(eq(u32, j.task.v, 0));
    /* up again */
    cr_assert(eq(int, sim_node_restart(w, n), SIM_OK));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_ENODE));
    cr_assert(eq(u32, sim_node_boots(w, n), 2));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_UP));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    sim_world_free(w);
}

/* Goal: node names are required and unique (SIM_EINVAL otherwise, out zeroed, nothing added),
 * copied at add, and findable; the accessors answer for known and unknown ids.
 * Method: add "alpha" from a scratch buffer, then overwrite the buffer; try a duplicate, a
 * NULL name and an empty name; add "beta"; query everything. */
Test(node, names_find_count_status)
{
    sim_world *w = test_world(9, SIM_SCHED_RANDOM);
    cr_assert(eq(u32, sim_node_count(w), 0));
    char buf[16] = "alpha";
    sim_node_desc d = {.name = buf};
    sim_node_id alpha;
    cr_assert(eq(int, sim_node_add(w, &d, &alpha), SIM_OK));
    strcpy(buf, "zzz");
    cr_assert(eq(str, (char *)sim_node_name(w, alpha), "alpha"));
    sim_node_id dup = {77};
    sim_node_desc dd = {.name = "alpha"};
    cr_assert(eq(int, sim_node_add(w, &dd, &dup), SIM_EINVAL));
    cr_assert(eq(u32, dup.v, 0));
    sim_node_id none = {77};
    sim_node_desc nd = {.name = NULL};
    cr_assert(eq(int, sim_node_add(w, &nd, &none), SIM_EINVAL));
    cr_assert(eq(u32, none.v, 0));
    sim_node_desc ed = {.name = ""};
    none.v = 77;
    cr_assert(eq(int, sim_node_add(w, &ed, &none), SIM_EINVAL));
    cr_assert(eq(u32, none.v, 0));
    cr_assert(eq(u32, sim_node_count(w), 1));
    sim_node_id beta = add_node(w, "beta", NULL, NULL);
    cr_assert(ne(u32, beta.v, alpha.v));
    cr_assert(eq(u32, sim_node_count(w), 2));
    cr_assert(eq(u32, sim_node_find(w, "alpha").v, alpha.v));
    cr_assert(eq(u32, sim_node_find(w, "beta").v, beta.v));
    cr_assert(eq(u32, sim_node_find(w, "zzz").v, 0));
    cr_assert(eq(u32, sim_node_find(w, "gamma").v, 0));
    cr_assert(eq(str, (char *)sim_node_name(w, beta), "beta"));
    cr_assert(eq(str, (char *)sim_node_name(w, (sim_node_id){99}), "?"));
    cr_assert(eq(str, (char *)sim_node_name(w, (sim_node_id){0}), "?"));
    cr_assert(eq(int, (int)sim_node_status(w, alpha), (int)SIM_NODE_UP));
    cr_assert(eq(int, (int)sim_node_status(w, beta), (int)SIM_NODE_UP));
    cr_assert(eq(u32, sim_node_boots(w, beta), 1));
    cr_assert(eq(u32, sim_node_boots(w, (sim_node_id){99}), 0));
    /* A crashed node keeps its id and name. */
    cr_assert(eq(int, sim_node_crash(w, alpha), SIM_OK));
    cr_assert(eq(u32, sim_node_find(w, "alpha").v, alpha.v));
    cr_assert(eq(str, (char *)sim_node_name(w, alpha), "alpha"));
    cr_assert(eq(u32, sim_node_count(w), 2));
    sim_world_free(w);
}

static int boot_fail_once(void *ud, sim_world *w, sim_node_id node)
{
    boot_rec *b = ud;
    (void)node;
    b->calls++;
    if (b->calls == 1) {
        b->orphan.woke_at = NEVER;
        napper n = {.duration_ns = 0, .rec = &b->orphan};
        sim_task_desc d = {.name = "orphan", .poll = napper_poll, .drop = napper_drop,
                           .state = &n, .state_size = sizeof n};
        int rc = sim_spawn(w, &d, NULL);
        if (rc != SIM_OK) return rc;
        return b->fail_first;
    }
    return SIM_OK;
}

/* Goal: a boot function that fails makes sim_node_add return its error and leaves the node
 * down: what it spawned never runs; a later restart with a boot that succeeds brings it up.
 * Method: the first boot spawns a task and returns SIM_ELIMIT. */
Test(node, failed_boot_leaves_node_down)
{
    sim_world *w = test_world(10, SIM_SCHED_RANDOM);
    boot_rec b = {.fail_first = SIM_ELIMIT};
    sim_node_desc d = {.name = "flaky", .boot = boot_fail_once, .boot_ud = &b};
    sim_node_id out;
    cr_assert(eq(int, sim_node_add(w, &d, &out), SIM_ELIMIT));
    cr_assert(eq(u32, b.calls, 1));
    sim_node_id n = sim_node_find(w, "flaky");
    cr_assert(ne(u32, n.v, 0));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_DOWN));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, b.orphan.polls, 0));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_OK));
    cr_assert(eq(u32, b.calls, 2));
    cr_assert(eq(int, (int)sim_node_status(w, n), (int)SIM_NODE_UP));
    cr_assert(eq(u32, sim_node_boots(w, n), 2));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, b.orphan.polls, 0));
    sim_world_free(w);
}
