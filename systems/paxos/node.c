/*
 * node.c: one paxos node (see paxos.h): ballot leader election, sequence paxos and the
 * node's durable state, written against sim.h only.
 *
 * One task per node runs the loop: it waits for a datagram, a request of the append API or
 * the heartbeat tick, handles it in memory (which may dirty the durable state and owe
 * messages, the step's intents), writes and fsyncs the state if it is dirty, and only then
 * sends what it owes, reports what it decided to the ghost and tells the futures. So nothing
 * a node says or reports is ever ahead of its disk (the promise-before-persist bug sends its
 * Promise first).
 *
 * The network is datagrams: lost, duplicated, reordered. Instead of OmniPaxos's session
 * sequence numbers, every message is idempotent: an AcceptDecide carries its start index and
 * only ever extends a follower's log within a ballot, a follower answers each with its log
 * length, and the leader resends on every tick what a follower lacks (Prepare, AcceptSync,
 * AcceptDecide from its last Accepted index, Decide). Proposers resend their pending
 * proposals each tick; the leader appends a proposal only if neither it nor its tombstone is
 * in its log.
 *
 * Durable state is two slot files, px/slot0 and px/slot1, written alternately whole, each
 * with a version and a checksum: a torn or lost write leaves the other slot, the last one
 * fsynced, which recovery picks (the valid slot with the higher version).
 */
#include <stdio.h>
#include <string.h>

#include "px.h"

#define MAGIC 0x70617831u         /* "pax1" */
#define SLOT_MAGIC 0x736c6f74u    /* "slot" */
#define HB_TICKS 4                /* heartbeat ticks per election round */
#define MAX_HOPS 3                /* a proposal forwarded this often is dropped (resent later) */
#define ALL UINT32_MAX

int px_ballot_cmp(px_ballot a, px_ballot b)
{
    if (a.n != b.n) return a.n < b.n ? -1 : 1;
    if (a.pid != b.pid) return a.pid < b.pid ? -1 : 1;
    return 0;
}

static uint32_t self_pid(const px_node *nd)
{
    return nd->idx + 1;
}

/* ---- sending ---------------------------------------------------------------------------- */

/* The transport the user gives (the seed's "callbacks to handle messages"): here, a datagram
 * to the peer's port. A message the network loses is resent by the protocol, not here. */
static void udp_transport(void *ud, sim_world *w, uint32_t to, const void *msg, size_t len)
{
    px_node *nd = ud;
    SIM_ASSERT(len <= sizeof(px_msg));
    sim_addr a = {.node = nd->pw->ids[to], .port = PX_PORT};
    (void)sim_udp_send_to(w, &nd->sock, a, msg, len);
}

static void send_to(sim_world *w, px_node *nd, uint32_t to, px_msg *m)
{
    SIM_ASSERT(to < nd->pw->nodes);
    SIM_ASSERT(m->count <= PX_LOG_MAX);
    m->magic = MAGIC;
    m->from = nd->idx;
    nd->send(nd->send_ud, w, to, m, PX_MSG_HEADER + m->count * sizeof(px_entry));
}

static void owe(px_node *nd, uint32_t type, uint32_t to, uint32_t start)
{
    if (nd->nintents == PX_INTENTS_MAX) return; /* the tick resends what is lost here */
    nd->intents[nd->nintents++] = (px_intent){.type = type, .to = to, .start = start};
}

static void put_entries(px_node *nd, px_msg *m, uint32_t start)
{
    if (start > nd->len) start = nd->len;
    m->start = start;
    m->count = nd->len - start;
    memcpy(m->ents, nd->log + start, m->count * sizeof(px_entry));
}

/* Builds and sends one owed message from the node's state now (after the persist). */
static void send_intent(sim_world *w, px_node *nd, const px_intent *it)
{
    px_msg *m = &nd->out;
    memset(m, 0, PX_MSG_HEADER);
    m->type = it->type;
    m->n = nd->promise;
    m->n_acc = nd->acc_rnd;
    m->decided = nd->decided;
    m->acc_len = nd->len;
    if (it->type == M_PROMISE) {
        m->round = it->start; /* echoes the Prepare's decided index: which Prepare I answer */
        put_entries(nd, m, it->start);
        px_ghost_promise(nd->pw, w, nd->idx, nd->promise);
    } else if (it->type == M_PREPARE) {
        m->decided = nd->prep_decided;
        px_ghost_promise(nd->pw, w, nd->idx, nd->promise);
    } else if (it->type == M_ACCEPT_SYNC || it->type == M_ACCEPT_DECIDE) {
        put_entries(nd, m, it->start);
    }
    for (uint32_t to = 0; to < nd->pw->nodes; to++) {
        if (to == nd->idx || (it->to != ALL && it->to != to)) continue;
        if (it->to == ALL && !(nd->promised[to] && nd->synced[to])) continue;
        if (it->type == M_ACCEPT_SYNC) put_entries(nd, m, nd->p_dec[to]);
        send_to(w, nd, to, m);
    }
}

static void send_intents(sim_world *w, px_node *nd, bool promises_only)
{
    for (uint32_t i = 0; i < nd->nintents; i++) {
        px_intent *it = &nd->intents[i];
        if (it->type == 0) continue;
        if (promises_only && it->type != M_PROMISE) continue;
        send_intent(w, nd, it);
        it->type = 0;
    }
    if (!promises_only) nd->nintents = 0;
}

/* ---- the log ------------------------------------------------------------------------------ */

static bool entry_eq(px_entry a, px_entry b)
{
    return a.kind == b.kind && a.pid == b.pid && a.counter == b.counter;
}

/* Writes e at index i (i <= len), noting a decided entry rewritten (stability). */
static void log_put(sim_world *w, px_node *nd, uint32_t i, px_entry e)
{
    SIM_ASSERT(i <= nd->len);
    SIM_ASSERT(i < PX_LOG_MAX);
    if (i < nd->decided && !entry_eq(nd->log[i], e)) {
        px_violation(nd->pw, w, "stability: n%u rewrote its decided entry %u (#%u) with #%u",
                     nd->idx + 1, i, nd->log[i].counter, e.counter);
    }
    nd->log[i] = e;
    if (i == nd->len) nd->len++;
    nd->dirty = true;
}

static bool in_log(const px_node *nd, uint32_t kind, uint32_t counter)
{
    for (uint32_t i = 0; i < nd->len; i++) {
        if (nd->log[i].kind == kind && nd->log[i].counter == counter) return true;
    }
    for (uint32_t i = 0; i < nd->buffered; i++) {
        if (nd->buffer[i].kind == kind && nd->buffer[i].counter == counter) return true;
    }
    return false;
}

static void decide(px_node *nd, uint32_t d)
{
    if (d > nd->len) d = nd->len;
    if (d <= nd->decided) return;
    nd->decided = d;
    nd->dirty = true;
}

/* ---- leader ------------------------------------------------------------------------------- */

/* The largest index a quorum (of this ballot's Accepted, the leader included) has reached. */
static void decide_check(px_node *nd)
{
    px_world *pw = nd->pw;
    uint32_t quorum = pw->bug == PX_BUG_MINORITY_DECIDE ? pw->nodes / 2 : pw->majority;
    SIM_ASSERT(quorum >= 1);
    uint32_t best = nd->decided;
    for (uint32_t c = 0; c < pw->nodes; c++) {
        uint32_t cand = nd->acc_idx[c], have = 0;
        if (cand <= best) continue;
        for (uint32_t j = 0; j < pw->nodes; j++) have += nd->acc_idx[j] >= cand;
        if (have >= quorum) best = cand;
    }
    if (best > nd->decided) {
        decide(nd, best);
        owe(nd, M_DECIDE, ALL, 0);
    }
}

static void leader_append(px_node *nd, px_entry e)
{
    /* An entry is appended once, and never after its tombstone; a tombstone never after its
     * entry (the entry will be decided first, or be dropped with this log). */
    if (in_log(nd, PX_ENTRY, e.counter) || in_log(nd, PX_TOMB, e.counter)) return;
    if (nd->phase == PX_PREPARE) {
        if (nd->buffered < PX_LOG_MAX) nd->buffer[nd->buffered++] = e;
        return;
    }
    if (nd->len == PX_LOG_MAX) return; /* full: only a planted bug gets here */
    nd->log[nd->len++] = e;
    nd->dirty = true;
    nd->acc_idx[nd->idx] = nd->len;
    if (nd->ad_start > nd->len - 1) nd->ad_start = nd->len - 1;
    decide_check(nd);
}

/* A majority promised: adopt the log of the highest promise, append what waited, accept. */
static void sync_and_accept(sim_world *w, px_node *nd)
{
    px_world *pw = nd->pw;
    uint32_t best = nd->idx;
    /* stale-self-accept: the leader rates its own log as accepted in its new ballot */
    nd->p_acc[nd->idx] = pw->bug == PX_BUG_STALE_SELF_ACCEPT ? nd->promise : nd->acc_rnd;
    nd->p_len[nd->idx] = nd->len;
    for (uint32_t f = 0; f < pw->nodes; f++) {
        if (!nd->promised[f] || f == nd->idx) continue;
        int c = px_ballot_cmp(nd->p_acc[f], nd->p_acc[best]);
        if (c > 0 || (c == 0 && nd->p_len[f] > nd->p_len[best])) best = f;
    }
    if (best != nd->idx) {
        uint32_t d = nd->p_start[best]; /* the promise's log from here (my decided index, or
                                           all of it when shorter, which no correct run has) */
        SIM_ASSERT(d <= nd->prep_decided);
        SIM_ASSERT(d <= nd->len);
        nd->len = d;
        for (uint32_t k = 0; k < nd->p_count[best] && d + k < PX_LOG_MAX; k++) {
            log_put(w, nd, d + k, nd->p_ents[best][k]);
        }
    }
    nd->acc_rnd = nd->promise;
    nd->phase = PX_ACCEPT;
    nd->dirty = true;
    px_ghost_accept(pw, w, nd->idx, nd->promise);
    memset(nd->acc_idx, 0, sizeof nd->acc_idx);
    memset(nd->synced, 0, sizeof nd->synced);
    nd->synced[nd->idx] = true;
    nd->acc_idx[nd->idx] = nd->len;
    nd->ad_start = UINT32_MAX;
    uint32_t held = nd->buffered;
    nd->buffered = 0;
    for (uint32_t i = 0; i < held; i++) leader_append(nd, nd->buffer[i]);
    nd->ad_start = UINT32_MAX; /* the AcceptSyncs carry the appended entries */
    for (uint32_t f = 0; f < pw->nodes; f++) {
        if (nd->promised[f] && f != nd->idx) owe(nd, M_ACCEPT_SYNC, f, 0);
    }
    nd->sync_note = nd->promise;
    px_note(w, "n%u leads (%u,%u) with %u entries, %u decided", nd->idx + 1, nd->promise.n,
            nd->promise.pid, nd->len, nd->decided);
    decide_check(nd);
}

static void become_leader(sim_world *w, px_node *nd)
{
    if (px_ballot_cmp(nd->ble_ballot, nd->promise) <= 0) {
        nd->ble_ballot.n = nd->promise.n + 1; /* elected with a stale ballot: next round */
        return;
    }
    nd->role = PX_LEADER;
    nd->phase = PX_PREPARE;
    nd->promise = nd->ble_ballot;
    nd->dirty = true;
    nd->prep_decided = nd->decided;
    nd->buffered = 0;
    memset(nd->promised, 0, sizeof nd->promised);
    nd->promised[nd->idx] = true;
    for (uint32_t f = 0; f < nd->pw->nodes; f++) {
        if (f != nd->idx) owe(nd, M_PREPARE, f, 0);
    }
    px_note(w, "n%u prepares (%u,%u)", nd->idx + 1, nd->promise.n, nd->promise.pid);
}

static void on_promise(sim_world *w, px_node *nd, const px_msg *m)
{
    uint32_t f = m->from;
    if (nd->role != PX_LEADER || px_ballot_cmp(m->n, nd->promise) != 0) return;
    if (m->round != nd->prep_decided || m->start > nd->prep_decided) return; /* another Prepare's */
    nd->p_acc[f] = m->n_acc;
    nd->p_len[f] = m->acc_len;
    nd->p_dec[f] = m->decided;
    nd->p_count[f] = m->count;
    nd->p_start[f] = m->start;
    memcpy(nd->p_ents[f], m->ents, m->count * sizeof(px_entry));
    bool late = nd->promised[f];
    nd->promised[f] = true;
    if (nd->phase == PX_ACCEPT) {
        if (!late || !nd->synced[f]) owe(nd, M_ACCEPT_SYNC, f, 0);
        return;
    }
    uint32_t have = 0;
    for (uint32_t j = 0; j < nd->pw->nodes; j++) have += nd->promised[j];
    if (have >= nd->pw->majority) sync_and_accept(w, nd);
}

static void on_accepted(px_node *nd, const px_msg *m)
{
    if (nd->role != PX_LEADER || nd->phase != PX_ACCEPT) return;
    if (px_ballot_cmp(m->n, nd->promise) != 0) return;
    nd->synced[m->from] = true;
    if (m->acc_len > nd->acc_idx[m->from]) nd->acc_idx[m->from] = m->acc_len;
    decide_check(nd);
}

/* What the leader resends each tick: whatever each follower has not acknowledged. */
static void leader_tick(px_node *nd)
{
    for (uint32_t f = 0; f < nd->pw->nodes; f++) {
        if (f == nd->idx) continue;
        if (!nd->promised[f]) {
            owe(nd, M_PREPARE, f, 0);
        } else if (nd->phase == PX_ACCEPT && !nd->synced[f]) {
            owe(nd, M_ACCEPT_SYNC, f, 0);
        } else if (nd->phase == PX_ACCEPT && nd->acc_idx[f] < nd->len) {
            owe(nd, M_ACCEPT_DECIDE, f, nd->acc_idx[f]);
        } else if (nd->phase == PX_ACCEPT) {
            owe(nd, M_DECIDE, f, 0);
        }
    }
}

/* ---- follower ----------------------------------------------------------------------------- */

static void step_down(px_node *nd)
{
    if (nd->role == PX_LEADER) nd->role = PX_FOLLOWER;
}

static void on_prepare(sim_world *w, px_node *nd, const px_msg *m)
{
    int c = px_ballot_cmp(m->n, nd->promise);
    if (c < 0) {
        owe(nd, M_NOT_ACCEPTED, m->from, 0);
        return;
    }
    if (c == 0 && nd->phase == PX_ACCEPT) {
        /* The leader lost track of me (a late PrepareReq of mine): promise again, staying in
         * the accept phase; its AcceptSync then only extends my log. */
        owe(nd, M_PROMISE, m->from, m->decided);
        return;
    }
    if (c > 0) {
        if (px_ballot_cmp(m->n, nd->pw->ghost_promised[nd->idx]) < 0) {
            px_violation(nd->pw, w, "promise monotonicity: n%u promised (%u,%u) after "
                         "making (%u,%u) known", nd->idx + 1, m->n.n, m->n.pid,
                         nd->pw->ghost_promised[nd->idx].n, nd->pw->ghost_promised[nd->idx].pid);
        }
        step_down(nd);
        nd->promise = m->n;
        nd->dirty = true;
    }
    nd->phase = PX_PREPARE;
    nd->ble_leader = m->n;
    owe(nd, M_PROMISE, m->from, m->decided);
}

/* A message of the accept phase for a ballot that is not the one I am accepting in. */
static bool accept_refused(px_node *nd, const px_msg *m)
{
    int c = px_ballot_cmp(m->n, nd->promise);
    if (c < 0) {
        owe(nd, M_NOT_ACCEPTED, m->from, 0);
        return true;
    }
    if (c > 0 || nd->phase == PX_RECOVER) {
        owe(nd, M_PREPARE_REQ, m->from, 0);
        return true;
    }
    return false;
}

/* Extends my log with m's entries within the ballot: never truncates. */
static void extend(sim_world *w, px_node *nd, const px_msg *m)
{
    if (m->start > nd->len) return; /* a gap: my Accepted tells the leader where I am */
    for (uint32_t k = 0; k < m->count; k++) {
        uint32_t i = m->start + k;
        if (i >= PX_LOG_MAX) break;
        if (i == nd->len) log_put(w, nd, i, m->ents[k]);
    }
}

static void on_accept_sync(sim_world *w, px_node *nd, const px_msg *m)
{
    if (accept_refused(nd, m)) return;
    px_ghost_accept(nd->pw, w, nd->idx, m->n);
    if (nd->phase == PX_PREPARE) {
        if (m->start > nd->len) {
            owe(nd, M_PREPARE_REQ, m->from, 0);
            return;
        }
        /* Keep the decided prefix (an entry of the sync below it must equal it), adopt the
         * rest: entries go at start + k, each at the end once past what is kept. */
        nd->len = m->start < nd->decided ? nd->decided : m->start;
        for (uint32_t k = 0; k < m->count && m->start + k < PX_LOG_MAX; k++) {
            log_put(w, nd, m->start + k, m->ents[k]);
        }
        nd->acc_rnd = m->n;
        nd->phase = PX_ACCEPT;
        nd->dirty = true;
        nd->sync_note = m->n;
    } else {
        extend(w, nd, m);
    }
    decide(nd, m->decided);
    owe(nd, M_ACCEPTED, m->from, 0);
}

static void on_accept_decide(sim_world *w, px_node *nd, const px_msg *m)
{
    if (nd->phase == PX_PREPARE && px_ballot_cmp(m->n, nd->promise) == 0) return;
    if (accept_refused(nd, m)) return;
    px_ghost_accept(nd->pw, w, nd->idx, m->n);
    extend(w, nd, m);
    decide(nd, m->decided);
    owe(nd, M_ACCEPTED, m->from, 0);
}

static void on_decide(px_node *nd, const px_msg *m)
{
    if (nd->phase != PX_ACCEPT || px_ballot_cmp(m->n, nd->promise) != 0) return;
    decide(nd, m->decided);
}

/* ---- proposals ---------------------------------------------------------------------------- */

static void forward(sim_world *w, px_node *nd, px_entry e, uint32_t hops)
{
    uint32_t leader = nd->ble_leader.pid;
    if (leader == 0 || leader == self_pid(nd) || hops >= MAX_HOPS) return;
    px_msg *m = &nd->out;
    memset(m, 0, PX_MSG_HEADER);
    m->type = M_FORWARD;
    m->round = hops + 1;
    m->count = 1;
    m->ents[0] = e;
    send_to(w, nd, leader - 1, m);
}

static void propose(sim_world *w, px_node *nd, px_entry e)
{
    if (nd->role == PX_LEADER) {
        leader_append(nd, e);
    } else {
        forward(w, nd, e, 0);
    }
}

void px_submit(sim_world *w, px_node *nd, uint32_t counter)
{
    SIM_ASSERT(counter > 0);
    SIM_ASSERT(counter <= nd->pw->next_counter);
    px_entry e = {.kind = PX_ENTRY, .pid = self_pid(nd), .counter = counter,
                  .prop_n = nd->promise.n};
    propose(w, nd, e);
}

void px_fence(sim_world *w, px_node *nd, uint32_t counter)
{
    SIM_ASSERT(counter > 0);
    px_entry e = {.kind = PX_TOMB, .pid = self_pid(nd), .counter = counter,
                  .prop_n = nd->promise.n};
    propose(w, nd, e);
}

static void on_forward(sim_world *w, px_node *nd, const px_msg *m)
{
    for (uint32_t k = 0; k < m->count; k++) {
        if (nd->role == PX_LEADER) {
            leader_append(nd, m->ents[k]);
        } else {
            forward(w, nd, m->ents[k], m->round);
        }
    }
}

/* ---- ballot leader election ---------------------------------------------------------------- */

static void ble_round_end(sim_world *w, px_node *nd)
{
    px_world *pw = nd->pw;
    uint32_t replies = 0;
    for (uint32_t j = 0; j < pw->nodes; j++) replies += nd->hb_seen[j];
    nd->happy = replies + 1 >= pw->majority;
    if (nd->happy) {
        px_ballot top = nd->ble_ballot;
        for (uint32_t j = 0; j < pw->nodes; j++) {
            /* Every node that answered is a candidate: its majority-connected flag is a round
             * old, and on the first round nobody's is set yet. */
            if (nd->hb_seen[j] && px_ballot_cmp(nd->hb_ballot[j], top) > 0) {
                top = nd->hb_ballot[j];
            }
        }
        if (nd->ble_leader.pid != 0 && px_ballot_cmp(top, nd->ble_leader) < 0) {
            nd->ble_ballot.n = nd->ble_leader.n + 1; /* the leader is gone: stand next round */
            nd->ble_leader = (px_ballot){0, 0};
        } else if (px_ballot_cmp(top, nd->ble_leader) != 0) {
            nd->ble_leader = top;
            if (px_ballot_cmp(top, nd->ble_ballot) == 0) become_leader(w, nd);
        }
    }
    if (nd->role == PX_LEADER && px_ballot_cmp(nd->ble_leader, nd->promise) != 0) step_down(nd);
    nd->hb_round++;
    memset(nd->hb_seen, 0, sizeof nd->hb_seen);
    px_msg *m = &nd->out;
    memset(m, 0, PX_MSG_HEADER);
    m->type = M_HB_REQ;
    m->round = nd->hb_round;
    for (uint32_t j = 0; j < pw->nodes; j++) {
        if (j != nd->idx) send_to(w, nd, j, m);
    }
}

static void on_hb(sim_world *w, px_node *nd, const px_msg *m)
{
    if (m->type == M_HB_REP) {
        if (m->round != nd->hb_round) return;
        nd->hb_seen[m->from] = true;
        nd->hb_ballot[m->from] = m->n;
        nd->hb_happy[m->from] = m->happy != 0;
        return;
    }
    px_msg *r = &nd->out;
    memset(r, 0, PX_MSG_HEADER);
    r->type = M_HB_REP;
    r->round = m->round;
    r->n = nd->ble_ballot;
    r->happy = nd->happy;
    send_to(w, nd, m->from, r);
}

static void on_tick(sim_world *w, px_node *nd, uint64_t tick)
{
    if (tick % HB_TICKS == 0) ble_round_end(w, nd);
    if (nd->role == PX_LEADER) {
        leader_tick(nd);
    } else if (nd->phase == PX_RECOVER && nd->ble_leader.pid != 0 &&
               nd->ble_leader.pid != self_pid(nd)) {
        owe(nd, M_PREPARE_REQ, nd->ble_leader.pid - 1, 0);
    }
    px_resend(w, nd);
}

static void on_message(sim_world *w, px_node *nd, const px_msg *m, size_t len)
{
    if (len < PX_MSG_HEADER || m->magic != MAGIC || m->from >= nd->pw->nodes) return;
    if (m->count > PX_LOG_MAX || len != PX_MSG_HEADER + m->count * sizeof(px_entry)) return;
    switch (m->type) {
    case M_HB_REQ:
    case M_HB_REP: on_hb(w, nd, m); break;
    case M_PREPARE: on_prepare(w, nd, m); break;
    case M_PROMISE: on_promise(w, nd, m); break;
    case M_ACCEPT_SYNC: on_accept_sync(w, nd, m); break;
    case M_ACCEPT_DECIDE: on_accept_decide(w, nd, m); break;
    case M_ACCEPTED: on_accepted(nd, m); break;
    case M_DECIDE: on_decide(nd, m); break;
    case M_NOT_ACCEPTED:
        if (px_ballot_cmp(m->n, nd->promise) > 0) step_down(nd);
        if (px_ballot_cmp(m->n, nd->ble_leader) > 0) nd->ble_leader = m->n;
        break;
    case M_PREPARE_REQ:
        if (nd->role == PX_LEADER) {
            nd->promised[m->from] = false;
            owe(nd, M_PREPARE, m->from, 0);
        }
        break;
    case M_FORWARD: on_forward(w, nd, m); break;
    default: break;
    }
}

/* ---- durable state ------------------------------------------------------------------------ */

typedef struct slot_rec {
    uint32_t magic;
    uint32_t len;
    uint64_t sum;                 /* sim_hash of everything after it, entries included */
    uint64_t version;
    px_ballot promise, acc_rnd;
    uint32_t decided;
    uint32_t pad;
} slot_rec;

typedef struct slot_buf {
    slot_rec h;
    px_entry ents[PX_LOG_MAX];
} slot_buf;

static size_t slot_size(uint32_t len)
{
    return sizeof(slot_rec) + len * sizeof(px_entry);
}

static uint64_t slot_sum(const slot_buf *b)
{
    size_t off = offsetof(slot_rec, version);
    return sim_hash((const char *)b + off, slot_size(b->h.len) - off, 0x7061786f73ull);
}

static void slot_fill(const px_node *nd, slot_buf *b)
{
    SIM_ASSERT(nd->len <= PX_LOG_MAX);
    SIM_ASSERT(nd->decided <= nd->len);
    b->h = (slot_rec){.magic = SLOT_MAGIC, .len = nd->len, .version = nd->version,
                      .promise = nd->promise, .acc_rnd = nd->acc_rnd, .decided = nd->decided};
    memcpy(b->ents, nd->log, nd->len * sizeof(px_entry));
    b->h.sum = slot_sum(b);
}

static bool slot_valid(const slot_buf *b, size_t got)
{
    if (got < sizeof(slot_rec) || b->h.magic != SLOT_MAGIC || b->h.len > PX_LOG_MAX) return false;
    if (got < slot_size(b->h.len) || b->h.decided > b->h.len) return false;
    return slot_sum(b) == b->h.sum;
}

static void load(sim_world *w, px_node *nd, const slot_buf *b)
{
    px_world *pw = nd->pw;
    nd->version = b->h.version;
    nd->promise = b->h.promise;
    nd->acc_rnd = b->h.acc_rnd;
    nd->decided = b->h.decided;
    nd->len = b->h.len;
    memcpy(nd->log, b->ents, nd->len * sizeof(px_entry));
    if (pw->bug == PX_BUG_FORGET_PROMISE) nd->promise = nd->acc_rnd; /* the bug */
    px_ghost_recover(pw, w, nd);
}

/* ---- the node's task ---------------------------------------------------------------------- */

typedef struct node_task {
    sim_co co;
    px_node *nd;
    sim_interval tick;
    int which;
    uint32_t s;
    sim_file slot[2];
    size_t got[2];
    sim_datagram dg;
    px_req rq;
    px_msg in;
    slot_buf rd[2];
    slot_buf wr;
} node_task;

static void reset_volatile(px_node *nd)
{
    nd->dirty = false;
    nd->role = PX_FOLLOWER;
    nd->phase = PX_RECOVER;
    nd->ble_ballot = (px_ballot){0, self_pid(nd)};
    nd->ble_leader = (px_ballot){0, 0};
    nd->hb_round = 0;
    memset(nd->hb_seen, 0, sizeof nd->hb_seen);
    nd->happy = false;
    memset(nd->promised, 0, sizeof nd->promised);
    memset(nd->synced, 0, sizeof nd->synced);
    memset(nd->acc_idx, 0, sizeof nd->acc_idx);
    nd->buffered = 0;
    memset(nd->waits, 0, sizeof nd->waits);
    nd->ntombs = 0;
    nd->sync_note = (px_ballot){0, 0};
    nd->ad_start = UINT32_MAX;
    nd->nintents = 0;
    nd->send = udp_transport;
    nd->send_ud = nd;
}

/* After the step's state is durable: report decisions, tell futures, send what is owed. */
static void after_persist(sim_world *w, px_node *nd)
{
    px_world *pw = nd->pw;
    if (nd->ad_start != UINT32_MAX && nd->role == PX_LEADER) {
        owe(nd, M_ACCEPT_DECIDE, ALL, nd->ad_start);
    }
    nd->ad_start = UINT32_MAX;
    if (nd->decided > nd->reported) {
        for (uint32_t i = nd->reported; i < nd->decided; i++) {
            px_ghost_decide(pw, w, nd->idx, i, nd->log[i]);
        }
        uint32_t from = nd->reported;
        nd->reported = nd->decided;
        px_notify_decided(w, nd, from, nd->decided);
    }
    if (nd->sync_note.pid != 0) {
        px_ballot n = nd->sync_note;
        nd->sync_note = (px_ballot){0, 0};
        px_notify_sync(w, nd, n);
    }
    send_intents(w, nd, false);
}

static int node_poll(void *state, sim_world *w)
{
    node_task *t = state;
    px_node *nd = t->nd;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    for (t->s = 0; t->s < 2; t->s++) {
        SIM_TRY(sim_disk_open_op(t->s == 0 ? "px/slot0" : "px/slot1", SIM_O_CREATE,
                                 &t->slot[t->s]));
    }
    SIM_TRY(sim_disk_sync_dir_op("px"));
    for (t->s = 0; t->s < 2; t->s++) {
        SIM_TRY(sim_disk_read_op(&t->slot[t->s], &t->rd[t->s], sizeof t->rd[t->s], 0,
                                 &t->got[t->s]));
    }
    {
        bool v0 = slot_valid(&t->rd[0], t->got[0]), v1 = slot_valid(&t->rd[1], t->got[1]);
        if (v0 && (!v1 || t->rd[0].h.version > t->rd[1].h.version)) {
            load(w, nd, &t->rd[0]);
        } else if (v1) {
            load(w, nd, &t->rd[1]);
        } else {
            px_ghost_recover(nd->pw, w, nd);
        }
    }
    nd->reported = nd->decided;
    px_update_indexes(nd);
    rc = sim_udp_bind(w, PX_PORT, &nd->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    sim_interval_init(w, &t->tick, nd->pw->election_ns / HB_TICKS);
    for (;;) {
        SIM_AWAIT(rc, sim_select(w, &t->which,
                                 sim_udp_recv(&nd->sock, &t->in, sizeof t->in, &t->dg),
                                 sim_recv(&nd->inbox_rx, &t->rq), sim_tick(&t->tick)));
        if (rc != SIM_OK && t->which != 2) continue;
        nd->nintents = 0;
        if (t->which == 0) {
            on_message(w, nd, &t->in, t->dg.len);
        } else if (t->which == 1) {
            px_wait_add(w, nd, &t->rq);
            px_submit(w, nd, t->rq.counter);
        } else {
            on_tick(w, nd, t->tick.ticks);
        }
        if (nd->pw->bug == PX_BUG_PROMISE_BEFORE_PERSIST) send_intents(w, nd, true);
        if (nd->dirty) {
            nd->dirty = false;
            px_update_indexes(nd);
            nd->version++;
            t->s = (uint32_t)(nd->version % 2);
            slot_fill(nd, &t->wr);
            SIM_AWAIT(rc, sim_disk_write_op(&t->slot[t->s], &t->wr, slot_size(t->wr.h.len), 0));
            if (rc == SIM_OK) {
                SIM_AWAIT(rc, sim_disk_sync_op(&t->slot[t->s]));
            }
            if (rc != SIM_OK) {
                (void)sim_node_crash(w, sim_node_current(w)); /* a failed fsync: stop, as a panic */
                SIM_RETURN(rc);
            }
        }
        after_persist(w, nd);
    }
    SIM_END(rc);
}

int px_boot(void *ud, sim_world *w, sim_node_id node)
{
    px_node *nd = ud;
    SIM_ASSERT(nd->pw != NULL);
    SIM_ASSERT(sim_node_boots(w, node) >= 1);
    /* Memory is lost with a crash: the task reads the disk before anything else. */
    nd->promise = nd->acc_rnd = (px_ballot){0, 0};
    nd->decided = nd->len = 0;
    nd->version = 0;
    reset_volatile(nd);
    sim_chan_desc cd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(px_req), .name = "append",
                        .handle_at = {offsetof(px_req, reply)}, .handle_count = 1};
    int rc = sim_chan_new(w, &cd, &nd->inbox_tx, &nd->inbox_rx);
    if (rc != SIM_OK) return rc;
    node_task t = {.nd = nd};
    sim_task_desc d = {.name = "paxos", .poll = node_poll, .state = &t, .state_size = sizeof t,
                       .daemon = true};
    rc = sim_spawn(w, &d, NULL);
    if (rc != SIM_OK) return rc;
    return px_boot_client(w, nd, node);
}
