/*
 * api.c: the async append API and its shadow log (see paxos.h), and the client workload
 * that uses it, against sim.h only.
 *
 * px_append(nd, counter, &out) is an awaitable (sim.h's shape: a struct that begins with a
 * sim_fut). Its first poll makes a oneshot channel, hands the sender with the proposal to
 * the node's loop (the append channel) and from then on awaits the receiver: the future
 * completes once, with what the node sent: resolved at an index, cancelled, or superseded.
 * The node keeps each waiting proposal (px_wait: the local part of its shadow entry) and the
 * replicated part travels in the log itself (px_entry: proposer, counter, promised round).
 * The broadcast the seed describes, of decided shadow entries and of AcceptSync ballots, is a
 * synchronous fan-out over the node's waiting proposals: px_notify_decided and
 * px_notify_sync, called after the state that triggers them is durable.
 *
 * The policies, on the seed's two triggers (an AcceptSync with a ballot above the proposal's;
 * a later proposal of mine decided while this one is pending):
 * - proposal: cancel at once (the seed as written; unsound);
 * - safe: propose a tombstone for the proposal and keep waiting: the future resolves if the
 *   entry is decided, and cancels only when the tombstone is decided with no copy of the
 *   entry before it (a leader never appends an entry whose tombstone is in its log, so the
 *   entry can never be decided after it);
 * - superseded: an entry that was replicated back at an index and then met an AcceptSync
 *   reports superseded ("maybe decided"), the runtime's heuristic.
 */
#include <stdio.h>
#include <string.h>

#include "px.h"

/* ---- completing a future ------------------------------------------------------------------- */

static void complete(sim_world *w, px_node *nd, px_wait *x, px_outcome o)
{
    SIM_ASSERT(x->counter != 0);
    SIM_ASSERT(o.kind >= PX_RESOLVED && o.kind <= PX_SUPERSEDED);
    (void)sim_try_send(w, &x->reply, &o);
    sim_tx_drop(w, &x->reply);
    /* Kept: resolved, cancelled or superseded. A second completion is sim's violation. */
    (void)sim_discharge(w, nd->pw->props[x->counter].ob, SIM_SITE);
    px_ghost_complete(nd->pw, w, nd->idx, x->counter, o);
    *x = (px_wait){0};
}

static px_wait *find_wait(px_node *nd, uint32_t counter)
{
    for (uint32_t i = 0; i < PX_MAX_APPENDS; i++) {
        if (nd->waits[i].counter == counter && counter != 0) return &nd->waits[i];
    }
    return NULL;
}

static void fence(sim_world *w, px_node *nd, px_wait *x)
{
    if (x->fenced) return;
    x->fenced = true;
    if (nd->ntombs < PX_MAX_APPENDS) nd->tombs[nd->ntombs++] = x->counter;
    px_note(w, "n%u fences #%u", nd->idx + 1, x->counter);
    px_fence(w, nd, x->counter);
}

static void untomb(px_node *nd, uint32_t counter)
{
    for (uint32_t i = 0; i < nd->ntombs; i++) {
        if (nd->tombs[i] == counter) nd->tombs[i] = nd->tombs[--nd->ntombs];
    }
}

void px_wait_add(sim_world *w, px_node *nd, const px_req *rq)
{
    px_wait *x = find_wait(nd, 0);
    for (uint32_t i = 0; i < PX_MAX_APPENDS && x == NULL; i++) {
        if (nd->waits[i].counter == 0) x = &nd->waits[i];
    }
    SIM_ASSERT(x != NULL); /* a client has at most PX_MAX_APPENDS proposals */
    SIM_ASSERT(rq->counter != 0);
    *x = (px_wait){.counter = rq->counter, .prop = nd->promise, .reply = rq->reply};
    px_note(w, "n%u proposes #%u under (%u,%u)", nd->idx + 1, rq->counter, nd->promise.n,
            nd->promise.pid);
}

/* Where each waiting proposal is in my log now (its shadow entry's index), if anywhere. */
void px_update_indexes(px_node *nd)
{
    for (uint32_t j = 0; j < PX_MAX_APPENDS; j++) {
        px_wait *x = &nd->waits[j];
        if (x->counter == 0) continue;
        x->idx = 0;
        for (uint32_t i = 0; i < nd->len; i++) {
            if (nd->log[i].kind == PX_ENTRY && nd->log[i].counter == x->counter) {
                x->idx = i + 1;
                x->had_idx = true;
                break;
            }
        }
    }
}

/* Entries [from, to) of my log were decided. */
void px_notify_decided(sim_world *w, px_node *nd, uint32_t from, uint32_t to)
{
    uint32_t policy = nd->pw->policy;
    SIM_ASSERT(from < to);
    SIM_ASSERT(to <= nd->len);
    for (uint32_t i = from; i < to; i++) {
        px_entry e = nd->log[i];
        untomb(nd, e.counter);
        if (e.pid != nd->idx + 1) continue;
        px_wait *x = find_wait(nd, e.counter);
        if (x != NULL && e.kind == PX_ENTRY) {
            complete(w, nd, x, (px_outcome){PX_RESOLVED, i, PX_WHY_NONE});
        } else if (x != NULL && e.kind == PX_TOMB) {
            complete(w, nd, x, (px_outcome){PX_CANCELLED, 0, PX_WHY_TOMB});
        }
        if (e.kind != PX_ENTRY || policy != PX_POLICY_PROPOSAL) continue;
        /* rule 2: a later proposal of mine decided while an earlier one is pending. The safe
         * policy waits instead: the pending one is resent until it is decided. */
        for (uint32_t j = 0; j < PX_MAX_APPENDS; j++) {
            px_wait *y = &nd->waits[j];
            if (y->counter == 0 || y->counter >= e.counter || y->idx != 0) continue;
            complete(w, nd, y, (px_outcome){PX_CANCELLED, 0, PX_WHY_RULE2});
        }
    }
}

/* An AcceptSync of ballot n reached me (or I synced as its leader): rule 1. */
void px_notify_sync(sim_world *w, px_node *nd, px_ballot n)
{
    uint32_t policy = nd->pw->policy;
    SIM_ASSERT(n.pid != 0);
    SIM_ASSERT(nd->phase == PX_ACCEPT || nd->role == PX_LEADER);
    for (uint32_t j = 0; j < PX_MAX_APPENDS; j++) {
        px_wait *x = &nd->waits[j];
        if (x->counter == 0 || px_ballot_cmp(n, x->prop) <= 0) continue;
        if (policy == PX_POLICY_PROPOSAL) {
            complete(w, nd, x, (px_outcome){PX_CANCELLED, 0, PX_WHY_RULE1});
        } else if (policy == PX_POLICY_SAFE) {
            /* Fenced only when proposed under a leader this sync supersedes: a proposal made
             * before any leader was known is simply resent. */
            if (x->idx == 0 && x->prop.pid != 0) fence(w, nd, x);
        } else if (x->had_idx) {
            complete(w, nd, x, (px_outcome){PX_SUPERSEDED, 0, PX_WHY_RULE1});
        }
    }
}

/* Each tick: proposals not in my log, and tombstones not yet decided, go to the leader again. */
void px_resend(sim_world *w, px_node *nd)
{
    for (uint32_t j = 0; j < PX_MAX_APPENDS; j++) {
        px_wait *x = &nd->waits[j];
        if (x->counter != 0 && x->idx == 0) px_submit(w, nd, x->counter);
    }
    for (uint32_t i = 0; i < nd->ntombs; i++) px_fence(w, nd, nd->tombs[i]);
}

/* ---- the awaitable -------------------------------------------------------------------------- */

typedef struct px_append_op {
    sim_fut fut;
    px_node *nd;
    uint32_t counter;
    bool sent;
    px_outcome *out;
    sim_rx rx;
    sim_recv_op recv;
} px_append_op;

static int append_poll(sim_fut *f, sim_world *w)
{
    px_append_op *op = (px_append_op *)f;
    if (!op->sent) {
        sim_chan_desc cd = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(px_outcome),
                            .name = "append-future"};
        px_req rq = {.counter = op->counter};
        int rc = sim_chan_new(w, &cd, &rq.reply, &op->rx);
        if (rc != SIM_OK) return rc;
        rc = sim_try_send(w, &op->nd->inbox_tx, &rq);
        if (rc != SIM_OK) {
            sim_tx_drop(w, &rq.reply);
            sim_rx_drop(w, &op->rx);
            return rc;
        }
        op->sent = true;
        op->recv = sim_recv(&op->rx, op->out);
    }
    int rc = sim_fut_poll(w, &op->recv.fut);
    if (rc == SIM_PENDING) return rc;
    sim_rx_drop(w, &op->rx);
    return rc;
}

static void append_drop(sim_fut *f, sim_world *w)
{
    px_append_op *op = (px_append_op *)f;
    if (op->sent) sim_fut_drop(w, &op->recv.fut);
    sim_rx_drop(w, &op->rx);
}

static void append_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const px_append_op *op = (const px_append_op *)f;
    (void)w;
    snprintf(buf, size, "append #%u on n%u: not decided or cancelled yet", op->counter,
             op->nd->idx + 1);
}

static const sim_fut_vt append_vt = {"append", append_poll, append_drop, append_describe};

/* append(entry): a future that completes once the entry is decided (resolved) or, per the
 * policy, cancelled or superseded; *out receives which. */
static px_append_op px_append(px_node *nd, uint32_t counter, px_outcome *out)
{
    return (px_append_op){.fut = SIM_FUT_INIT(&append_vt), .nd = nd, .counter = counter,
                          .out = out};
}

/* ---- the workload --------------------------------------------------------------------------- */

typedef struct append_task {
    sim_co co;
    px_node *nd;
    uint32_t counter;
    bool done;
    px_outcome out;
} append_task;

static int append_task_poll(void *state, sim_world *w)
{
    append_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, px_append(t->nd, t->counter, &t->out));
    t->done = true;
    if (rc == SIM_OK) {
        px_prop *p = &t->nd->pw->props[t->counter];
        if (p->outcome != t->out.kind) {
            px_violation(t->nd->pw, w, "future #%u returned %u, the node completed it %u",
                         t->counter, t->out.kind, p->outcome);
        }
    }
    SIM_END(rc);
}

/* A crash drops the future: the proposal's fate is no longer anyone's to report. */
static void append_task_drop(void *state, sim_world *w)
{
    append_task *t = state;
    (void)w;
    px_prop *p = &t->nd->pw->props[t->counter];
    if (!t->done && p->outcome == 0) {
        p->outcome = 4;
        t->nd->pw->lost++;
    }
}

typedef struct client_task {
    sim_co co;
    px_node *nd;
    sim_rng rng;
    sim_task_set set;
    int rc;
} client_task;

static int client_poll(void *state, sim_world *w)
{
    client_task *c = state;
    px_world *pw = c->nd->pw;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    rc = sim_task_set_new(w, &c->set);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_sleep_until(pw->warmup_ns));
    while (pw->issued[c->nd->idx] < pw->appends) {
        SIM_TRY(sim_sleep(w, sim_rng_below(&c->rng, pw->think_ns + 1)));
        {
            uint32_t counter = ++pw->next_counter;
            SIM_ASSERT(counter < PX_MAX_PROPOSALS);
            pw->props[counter] = (px_prop){.pid = c->nd->idx + 1};
            pw->issued[c->nd->idx]++;
            /* The future resolves, cancels or is superseded exactly once: sim's ledger. */
            rc = sim_oblige(w, "an append future completes once", SIM_SITE, 0,
                            &pw->props[counter].ob);
            if (rc != SIM_OK) SIM_RETURN(rc);
            append_task a = {.nd = c->nd, .counter = counter};
            sim_task_desc d = {.name = "append", .poll = append_task_poll,
                               .drop = append_task_drop, .state = &a, .state_size = sizeof a};
            rc = sim_task_set_spawn(w, &c->set, &d, NULL);
            if (rc != SIM_OK) SIM_RETURN(rc);
        }
    }
    while (sim_task_set_len(w, &c->set) > 0) {
        SIM_AWAIT(c->rc, sim_task_set_next(&c->set, NULL, NULL));
    }
    /* Linger, so that what is decided after the last future completed is seen too. */
    SIM_TRY(sim_sleep(w, pw->linger_ns));
    SIM_END(SIM_OK);
}

int px_boot_client(sim_world *w, px_node *nd, sim_node_id node)
{
    px_world *pw = nd->pw;
    SIM_ASSERT(pw->issued[nd->idx] <= pw->appends);
    if (pw->issued[nd->idx] >= pw->appends) return SIM_OK;
    client_task c = {.nd = nd};
    sim_world_rng(w, "sut/paxos/client", (uint64_t)nd->idx << 32 | sim_node_boots(w, node),
                  &c.rng);
    sim_task_desc d = {.name = "client", .poll = client_poll, .state = &c,
                       .state_size = sizeof c};
    return sim_spawn(w, &d, NULL);
}
