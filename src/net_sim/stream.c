/*
 * stream.c: stream connections over the simulated network, and the framing helper.
 *
 * A connection is two endpoints in the socket table, one per side, each knowing the other by
 * (slot, id). Connecting sends a SYN to the listener's address; the listener's side answers
 * with a SYN-ACK from a fresh endpoint queued for accept, or an RST when nothing listens
 * (SIM_ECONNREFUSED); no answer within the connect timeout is SIM_ETIMEDOUT. Written bytes
 * leave as segments of sizes drawn per segment, so a read may return fewer bytes than a write
 * wrote, and arrive in order: each segment arrives no earlier than the one before it. A write
 * waits while the bytes sent and not yet read by the peer fill the window (send_buffer).
 *
 * A segment that meets a blocked link waits on its endpoint's held list, and so does every
 * later one, until the link heals; if the block lasts the stream timeout, both sides reset. A
 * clog holds segments the same way without a timeout. A node crash kills its endpoints at
 * once and resets their peers after the reset delay, as a peer would learn from a restarted
 * host's RST or a keepalive.
 *
 * The operations (accept, connect, read, read_exact, write, frame read and write) are futures
 * (sim_fut). What they arm is their task's place as the endpoint's reader or writer, which
 * their drop gives up, and a connect's endpoint until it completes, which its drop abandons
 * (the peer, if it got that far, is reset). An accepted or connected endpoint gets its handle
 * record when the operation completes, owned by the task that awaited it; a listener's or a
 * connection's release with its owner closes it as sim_listener_close or sim_conn_close do,
 * except in a crash-mode drop on a node that is down (a failed boot), which sends nothing and
 * goes as the node's crash would take it, the peer resetting after the reset delay, and while
 * the world is being freed, when it simply goes. (A crash-mode drop of a handle whose socket
 * is on a node that is up, a handle moved or shared elsewhere, closes it as usual.)
 */
#include <stdio.h>

#include "net.h"

enum { OP_ACCEPT = 2, OP_CONNECT = 3, OP_READ = 4, OP_WRITE = 5 };

static uint32_t slot_of_sock(const net_state *n, const net_sock *s)
{
    return (uint32_t)(s - n->socks);
}

static net_sock *peer_of(const net_state *n, const net_sock *s)
{
    if (s->peer == SIM__NIL || s->peer >= n->socks_used) return NULL;
    net_sock *p = &n->socks[s->peer];
    return p->id == s->peer_id && p->type == SOCK_CONN ? p : NULL;
}

/*
 * The state machine of an endpoint. A fresh one (state 0) becomes CONNECTING (a connect) or
 * QUEUED (a SYN reached a listener); those become OPEN (the SYN-ACK landed; accepted); any of
 * them becomes DEAD (reset, refused, timed out, its node or its peer's crashed), which is
 * final: the endpoint is freed from there, never revived.
 */
static void conn_set_state(net_sock *s, uint8_t to)
{
    SIM_ASSERT(s->type == SOCK_CONN);
    SIM_ASSERT(to != s->state);
    SIM_ASSERT(to >= CONN_CONNECTING);
    SIM_ASSERT(to <= CONN_DEAD);
    if (to == CONN_CONNECTING || to == CONN_QUEUED) SIM_ASSERT(s->state == 0);
    if (to == CONN_OPEN) SIM_ASSERT(s->state == CONN_CONNECTING || s->state == CONN_QUEUED);
    if (to == CONN_DEAD) SIM_ASSERT(s->state != 0);
    s->state = to;
}

/* Sends a control or data message from endpoint `from` to its peer (or to dst for a SYN). */
static int send_from(sim_world *w, net_state *n, uint32_t from, uint8_t type, const void *data,
                     uint32_t len)
{
    SIM_ASSERT(from < n->socks_used);
    net_sock *s = &n->socks[from];
    SIM_ASSERT(s->type == SOCK_CONN);
    /* What each state may send: a SYN while connecting, a SYN-ACK from a fresh queued
     * endpoint, data and a FIN once open (and a FIN only after this side shut down), an RST
     * from any state. */
    if (type == SIM_NET_SYN) SIM_ASSERT(s->state == CONN_CONNECTING);
    if (type == SIM_NET_SYNACK) SIM_ASSERT(s->state == CONN_QUEUED);
    if (type == SIM_NET_DATA) SIM_ASSERT(s->state == CONN_OPEN);
    if (type == SIM_NET_DATA) SIM_ASSERT(!s->shut_wr);
    if (type == SIM_NET_FIN) SIM_ASSERT(s->state == CONN_OPEN);
    if (type == SIM_NET_FIN) SIM_ASSERT(s->shut_wr);
    if (type != SIM_NET_SYN) SIM_ASSERT(s->peer != SIM__NIL);
    net_route r = {.to_sock = s->peer, .to_id = s->peer_id, .from_sock = from,
                   .from_id = s->id, .arrival = &s->last_arrival};
    return sim__net_send(w, n, type, sim__addr_pack(s->node, s->port), s->remote, data, len, &r);
}

/* An RST to the endpoint that sent msg (when it can no longer be told apart, nothing). */
static void reply_rst(sim_world *w, net_state *n, const net_msg *m)
{
    SIM_ASSERT(m->id != 0);
    SIM_ASSERT(m->type != SIM_NET_RST); /* a reset is never answered, so resets never echo */
    if (m->from_sock == SIM__NIL) return;
    net_route r = {.to_sock = m->from_sock, .to_id = m->from_id, .from_sock = SIM__NIL};
    int rc = sim__net_send(w, n, SIM_NET_RST, m->dst, m->src, NULL, 0, &r);
    SIM_ASSERT(rc == SIM_OK); /* max_timers only: see net.h */
}

static void reset_event(sim_world *w, const net_sock *s, uint32_t reason)
{
    SIM_ASSERT(reason >= RESET_CRASH);
    SIM_ASSERT(reason <= RESET_NODE_DOWN);
    uint32_t task = sim_task_current(w).v;
    sim__exec_emit(w, SIM_EV_NET_RESET, s->node, task,
              (uint64_t)sim__addr_pack(s->node, s->port) << 32 | s->remote, reason, NULL);
}

static void free_held(sim_world *w, net_state *n, net_sock *s)
{
    SIM_ASSERT(s->type == SOCK_CONN);
    for (uint32_t m = s->held_head; m != SIM__NIL;) {
        SIM_ASSERT(n->msgs[m].held);
        SIM_ASSERT(n->msgs[m].to_id == s->id); /* an endpoint holds its own segments only */
        uint32_t next = n->msgs[m].next;
        sim__msg_free(w, n, m);
        m = next;
    }
    s->held_head = s->held_tail = SIM__NIL;
    s->blocked_since = 0;
}

void sim__conn_free_if_done(sim_world *w, net_state *n, uint32_t slot)
{
    SIM_ASSERT(slot < n->socks_used);
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(s->type == SOCK_CONN);
    /* A closed endpoint no longer holds its ephemeral port (sim_conn_close gave it back). */
    if (s->closed) SIM_ASSERT(sim__port_find(n, s->node, s->port) != slot);
    if (s->closed && (s->state == CONN_DEAD || s->fin_rcvd || peer_of(n, s) == NULL)) {
        sim__sock_free(w, n, slot);
    }
}

void sim__conn_reset(sim_world *w, net_state *n, uint32_t slot, uint32_t reason)
{
    SIM_ASSERT(slot < n->socks_used);
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(s->type == SOCK_CONN);
    if (s->state == CONN_DEAD) return;
    conn_set_state(s, CONN_DEAD);
    s->dead_reason = (uint8_t)reason;
    reset_event(w, s, reason);
    free_held(w, n, s);
    sim__sock_wake(w, s, false);
    sim__sock_wake(w, s, true);
    SIM_ASSERT(s->held_head == SIM__NIL); /* a dead endpoint receives nothing more */
    sim__conn_free_if_done(w, n, slot);
}


/* Frees an endpoint, and a client endpoint's ephemeral port along with it. */
static void conn_release(sim_world *w, net_state *n, uint32_t slot)
{
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(s->type == SOCK_CONN);
    uint32_t node = s->node;
    uint16_t port = s->port;
    if (sim__port_find(n, node, port) == slot) sim__port_unbind(n, node, port);
    sim__sock_free(w, n, slot);
    SIM_ASSERT(sim__port_find(n, node, port) != slot); /* no port names a freed endpoint */
}

/* Endpoint `peer` (live, on another node) resets after the reset delay, drawn from the stream
 * of the crashed node `node`, as a peer would learn from a restarted host's RST or a
 * keepalive. */
static void arm_peer_reset(sim_world *w, net_state *n, uint32_t node, uint32_t peer)
{
    SIM_ASSERT(peer < n->socks_used && n->socks[peer].type == SOCK_CONN);
    SIM_ASSERT(n->socks[peer].node != node);
    /* a live peer learns */
    SIM_ASSERT(sim__exec_node_state(w, n->socks[peer].node) != SIM_NODE_DOWN);
    sim_rng *rng = &n->rngs[node];
    const sim_latency *d = &n->desc.reset_delay;
    uint64_t delay = d->min_ns == d->max_ns ? d->min_ns : sim_rng_range(rng, d->min_ns, d->max_ns);
    int rc = sim__timer_arm_ext(w, sim__add_sat(sim__exec_now(w), delay), n->ext,
                                sim__net_timer_arg(TM_PEER_RESET, n->socks[peer].id, peer));
    SIM_ASSERT(rc == SIM_OK); /* max_timers only: see net.h */
}

/* An endpoint goes as its node's crash takes it: its peer (on another node) resets after the
 * reset delay, drawn from the node's stream; the endpoint dies at once, sending nothing. */
static void conn_crash(sim_world *w, net_state *n, uint32_t slot)
{
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(s->type == SOCK_CONN);
    uint32_t node = s->node;
    net_sock *p = peer_of(n, s);
    if (p != NULL && p->state != CONN_DEAD && p->node != node) arm_peer_reset(w, n, node, s->peer);
    s = &n->socks[slot];
    if (s->state != CONN_DEAD) reset_event(w, s, RESET_NODE_DOWN);
    sim__sock_wake(w, s, false);
    sim__sock_wake(w, s, true);
    conn_release(w, n, slot);
}

/* An endpoint let go in a crash-mode drop, if it is one (else false): as its node's crash
 * takes it when the node is down (a failed boot; after a real crash the endpoint is already
 * gone), or without a word while the world is being freed. Otherwise its node is up and goes
 * on, and the endpoint is closed as its owner's end closes it outside a crash (false: the
 * caller does that), as a host closes the sockets of a process that died. That case is a
 * handle moved or shared to a task or node elsewhere, whose crash took it: the endpoint used
 * to go without a word there too, which left its peer half-open forever
 * (test_net_handles.c, connection_of_a_crashed_owner_elsewhere_closes). */
static bool conn_drop_crash(sim_world *w, net_state *n, uint32_t slot)
{
    if (sim__exec_drop_mode(w) != SIM__DROP_CRASH) return false;
    uint32_t node = n->socks[slot].node;
    SIM_ASSERT(node != 0 && node <= sim_node_count(w));
    if (sim__exec_node_state(w, node) == SIM_NODE_DOWN) {
        conn_crash(w, n, slot);
    } else if (sim__exec_freeing(w)) {
        conn_release(w, n, slot);
    } else {
        return false;
    }
    return true;
}

/* " (the window is full)" when the endpoint's writes wait for the peer to read, else "". */
static const char *window_words(const sim_world *w, const sim_handle *h)
{
    const net_state *n = sim__net_peek(w);
    const net_sock *s = sim__sock_peek(w, h, SOCK_CONN);
    if (n == NULL || s == NULL || s->window < n->desc.send_buffer) return "";
    return "; the peer's window is full";
}

/* "conn n1:49152 -> n2:7000", then `extra` (may be ""), or what of a closed handle. */
static void conn_describe(const sim_world *w, const sim_handle *h, const char *what,
                          const char *extra, char *buf, size_t size)
{
    const net_sock *s = sim__sock_peek(w, h, SOCK_CONN);
    if (s == NULL) {
        snprintf(buf, size, "%s on a closed conn", what);
        return;
    }
    char words[160];
    sim__sock_words(w, s, words, sizeof words);
    snprintf(buf, size, "%s on %s%s%s", what, words, extra[0] ? " " : "", extra);
}

/* ---- listening and accepting ---------------------------------------------------------------- */

int sim_listen(sim_world *w, uint16_t port, uint32_t backlog, sim_listener *out)
{
    if (sim__exec_is_host(w)) return sim__hnet_listen(w, port, backlog, out);
    SIM_ASSERT(out != NULL);
    *out = (sim_listener){0};
    uint32_t node = sim__net_task_node(w);
    if (node == 0) return SIM_ENODE;
    net_state *n = sim__net_of(w);
    uint32_t slot = sim__sock_alloc(w, n, SOCK_LISTEN, node);
    uint16_t bound;
    int rc = sim__port_bind(w, n, node, port, slot, &bound);
    if (rc == SIM_OK) {
        net_sock *l = &n->socks[slot];
        l->port = bound;
        l->backlog = backlog ? backlog : 128;
        SIM_ASSERT(bound != 0);
        SIM_ASSERT(l->acc_head == SIM__NIL);
        rc = sim__sock_hand_new(w, slot, &out->h);
        if (rc != SIM_OK) sim__port_unbind(n, node, bound);
    }
    if (rc != SIM_OK) {
        sim__sock_free(w, n, slot);
        *out = (sim_listener){0};
        return rc;
    }
    return SIM_OK;
}

static uint32_t acc_pop(net_state *n, net_sock *l)
{
    SIM_ASSERT(l->type == SOCK_LISTEN);
    uint32_t c = l->acc_head;
    if (c == SIM__NIL) {
        SIM_ASSERT(l->acc_len == 0);
        return SIM__NIL;
    }
    SIM_ASSERT(l->acc_len > 0);
    SIM_ASSERT(n->socks[c].type == SOCK_CONN);
    SIM_ASSERT(n->socks[c].listener == slot_of_sock(n, l));
    l->acc_head = n->socks[c].next_acc;
    if (l->acc_head == SIM__NIL) l->acc_tail = SIM__NIL;
    l->acc_len--;
    n->socks[c].next_acc = SIM__NIL;
    n->socks[c].listener = SIM__NIL;
    return c;
}

void sim__listener_close_sock(sim_world *w, net_state *n, uint32_t slot)
{
    SIM_ASSERT(slot < n->socks_used);
    SIM_ASSERT(n->socks[slot].type == SOCK_LISTEN);
    /* Connections nobody accepted are abandoned: their peers are reset (at once with an RST,
     * or after the reset delay when the node goes as in a crash). */
    for (uint32_t c = acc_pop(n, &n->socks[slot]); c != SIM__NIL;
         c = acc_pop(n, &n->socks[slot])) {
        /* Queued (or reset while queued), never open: only accept opens one. */
        SIM_ASSERT(n->socks[c].state != CONN_OPEN);
        if (conn_drop_crash(w, n, c)) continue;
        send_from(w, n, c, SIM_NET_RST, NULL, 0);
        n->socks[c].closed = 1;
        sim__conn_reset(w, n, c, RESET_BY_PEER);
        SIM_ASSERT(n->socks[slot].type == SOCK_LISTEN); /* resets free endpoints only */
    }
    net_sock *l = &n->socks[slot];
    SIM_ASSERT(l->acc_len == 0);
    sim__port_unbind(n, l->node, l->port);
    sim__sock_wake(w, l, false);
    sim__sock_free(w, n, slot);
}

void sim_listener_close(sim_world *w, sim_listener *lh)
{
    if (lh != NULL && sim__exec_is_host(w)) {
        sim__hnet_close(w, &lh->h, SOCK_LISTEN, "sim_listener_close");
        return;
    }
    if (lh == NULL) return;
    uint32_t slot = sim__sock_close_handle(w, &lh->h, SOCK_LISTEN, "sim_listener_close");
    SIM_ASSERT(lh->h.id_ == 0);
    if (slot != SIM__NIL) sim__listener_close_sock(w, sim__net_peek(w), slot);
}

sim_addr sim_listener_addr(const sim_world *w, const sim_listener *lh)
{
    if (sim__exec_is_host(w)) return sim__hnet_listener_addr(w, lh);
    const net_sock *s = sim__sock_peek(w, lh ? &lh->h : NULL, SOCK_LISTEN);
    if (s == NULL) return (sim_addr){0};
    SIM_ASSERT(s->port != 0); /* bound for its whole life */
    return (sim_addr){.node = {s->node}, .port = s->port};
}

static int accept_step(sim_accept_op *op, sim_world *w)
{
    SIM_ASSERT(op != NULL);
    if (sim__exec_require_task(w, "sim_accept") == SIM__NIL) return SIM_EMISUSE;
    int rc;
    net_sock *l = sim__sock_of(w, &op->listener->h, SOCK_LISTEN, "sim_accept", &rc, NULL);
    if (l == NULL) return rc;
    net_state *n = sim__net_peek(w);
    uint32_t c = acc_pop(n, l);
    if (c == SIM__NIL) {
        sim__sock_wait(w, l, false, OP_ACCEPT);
        return SIM_PENDING;
    }
    net_sock *s = &n->socks[c];
    SIM_ASSERT(s->type == SOCK_CONN);
    SIM_ASSERT(s->listener == SIM__NIL); /* out of the queue */
    SIM_ASSERT(s->node == l->node);
    if (s->state == CONN_QUEUED) conn_set_state(s, CONN_OPEN);
    if (op->peer != NULL) {
        *op->peer = (sim_addr){.node = {s->remote >> 16}, .port = (uint16_t)s->remote};
    }
    rc = sim__sock_hand_new(w, c, &op->conn->h);
    SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
    return SIM_OK;
}

/* The caller's handle is written when the accept completes (zeroed on an error), never while
 * it waits: a select loop may keep an earlier connection there. */
static int accept_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) {
        sim_accept_op *hop = (sim_accept_op *)f;
        int hrc = sim__hnet_accept_poll(hop, w);
        if (hrc < 0) *hop->conn = (sim_conn){0};
        return hrc;
    }
    sim_accept_op *op = (sim_accept_op *)f;
    int rc = accept_step(op, w);
    if (rc < 0) *op->conn = (sim_conn){0};
    return rc;
}

/* Dropped while waiting: the listener forgets its acceptor (queued connections stay). */
static void accept_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return;
    sim_accept_op *op = (sim_accept_op *)f;
    net_sock *l = (net_sock *)sim__sock_peek(w, &op->listener->h, SOCK_LISTEN);
    if (l != NULL) sim__sock_unwait(w, l, false);
}

static void accept_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_accept_op *op = (const sim_accept_op *)f;
    const net_sock *l = sim__sock_peek(w, &op->listener->h, SOCK_LISTEN);
    if (l == NULL) {
        snprintf(buf, size, "accept on a closed listener");
        return;
    }
    char words[160];
    sim__sock_words(w, l, words, sizeof words);
    snprintf(buf, size, "accept on %s (%u waiting)", words, l->acc_len);
}

static const sim_fut_vt accept_vt = {.name = "accept", .poll = accept_poll, .drop = accept_drop,
                                     .describe = accept_describe};

sim_accept_op sim_accept(const sim_listener *l, sim_conn *conn, sim_addr *peer)
{
    SIM_ASSERT(l != NULL);
    SIM_ASSERT(conn != NULL);
    return (sim_accept_op){.fut = SIM_FUT_INIT(&accept_vt), .listener = l, .conn = conn,
                           .peer = peer};
}

/* ---- connecting ----------------------------------------------------------------------------- */

static int connect_start(sim_world *w, sim_connect_op *op)
{
    SIM_ASSERT(op->id_ == 0); /* one connection per operation */
    uint32_t node = sim__net_task_node(w);
    if (node == 0 || op->to.node.v == 0 || op->to.node.v > sim_node_count(w)) return SIM_ENODE;
    if (op->to.port == 0) return SIM_EINVAL;
    net_state *n = sim__net_of(w);
    uint32_t slot = sim__sock_alloc(w, n, SOCK_CONN, node);
    /* The local port: an ephemeral one, held in the port table for the connection's life so
     * that it is not handed out twice. */
    uint16_t port;
    int rc = sim__port_bind(w, n, node, 0, slot, &port);
    if (rc != SIM_OK) {
        sim__sock_free(w, n, slot);
        return rc;
    }
    net_sock *s = &n->socks[slot];
    s->port = port;
    conn_set_state(s, CONN_CONNECTING);
    s->remote = sim__addr_pack(op->to.node.v, op->to.port);
    SIM_ASSERT(port >= EPHEMERAL_FIRST_PORT);
    rc = send_from(w, n, slot, SIM_NET_SYN, NULL, 0);
    if (rc == SIM_OK) {
        rc = sim__timer_arm_ext(w, sim__add_sat(sim__exec_now(w), n->desc.connect_timeout_ns),
                                n->ext,
                                sim__net_timer_arg(TM_CONNECT_TIMEOUT, s->id, slot));
    }
    if (rc != SIM_OK) {
        sim__port_unbind(n, node, port);
        sim__sock_free(w, n, slot);
        return rc;
    }
    op->slot_ = slot;
    op->id_ = n->socks[slot].id;
    SIM_ASSERT(op->id_ != 0);
    return SIM_OK;
}

static int dead_result(const net_sock *s)
{
    SIM_ASSERT(s->state == CONN_DEAD);
    SIM_ASSERT(s->dead_reason >= RESET_CRASH); /* set with the state, by sim__conn_reset */
    switch (s->dead_reason) {
    case RESET_REFUSED: return SIM_ECONNREFUSED;
    case RESET_CONNECT_TIMEOUT: return SIM_ETIMEDOUT;
    default: return SIM_ECONNRESET;
    }
}

static int connect_step(sim_connect_op *op, sim_world *w)
{
    if (sim__exec_require_task(w, "sim_connect") == SIM__NIL) return SIM_EMISUSE;
    if (op->id_ == 0) {
        int rc = connect_start(w, op);
        if (rc != SIM_OK) return rc;
    }
    net_state *n = sim__net_peek(w);
    net_sock *s = sim__sock_get(w, op->slot_, op->id_, SOCK_CONN);
    if (s == NULL) {
        op->slot_ = op->id_ = 0;
        return SIM_ECONNRESET; /* its node crashed under it */
    }
    if (s->state == CONN_CONNECTING) {
        sim__sock_wait(w, s, false, OP_CONNECT);
        return SIM_PENDING;
    }
    uint32_t slot = op->slot_;
    op->slot_ = op->id_ = 0;
    if (s->state == CONN_DEAD) {
        int rc = dead_result(s);
        conn_release(w, n, slot);
        return rc;
    }
    /* Connected: open, knowing its peer. */
    SIM_ASSERT(s->state == CONN_OPEN);
    SIM_ASSERT(s->peer != SIM__NIL);
    int rc = sim__sock_hand_new(w, slot, &op->conn->h);
    SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
    return SIM_OK;
}

/* As accept: the caller's handle is written when the connect completes. */
static int connect_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) {
        sim_connect_op *hop = (sim_connect_op *)f;
        int hrc = sim__hnet_connect_poll(hop, w);
        if (hrc < 0) *hop->conn = (sim_conn){0};
        return hrc;
    }
    sim_connect_op *op = (sim_connect_op *)f;
    int rc = connect_step(op, w);
    if (rc < 0) *op->conn = (sim_conn){0};
    return rc;
}

/* Dropped before it completed: the connection being made is abandoned; the other side, if it
 * got that far, is reset. */
static void connect_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) {
        sim__hnet_connect_drop((sim_connect_op *)f, w);
        return;
    }
    sim_connect_op *op = (sim_connect_op *)f;
    net_sock *s = sim__sock_get(w, op->slot_, op->id_, SOCK_CONN);
    uint32_t slot = op->slot_;
    op->slot_ = op->id_ = 0;
    if (s == NULL) return; /* never started, or its node crashed */
    net_state *n = sim__net_peek(w);
    sim__sock_unwait(w, s, false);
    if (conn_drop_crash(w, n, slot)) return;
    SIM_ASSERT(!s->closed); /* nobody had a handle to close */
    if (s->state == CONN_OPEN && peer_of(n, s) != NULL) send_from(w, n, slot, SIM_NET_RST, NULL, 0);
    conn_release(w, n, slot);
}

static void connect_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_connect_op *op = (const sim_connect_op *)f;
    const net_sock *s = sim__sock_get(w, op->slot_, op->id_, SOCK_CONN);
    if (s != NULL) {
        char words[160];
        sim__sock_words(w, s, words, sizeof words);
        snprintf(buf, size, "connect of %s", words);
    } else {
        snprintf(buf, size, "connect to %s:%u", sim_node_name(w, op->to.node), op->to.port);
    }
}

static const sim_fut_vt connect_vt = {.name = "connect", .poll = connect_poll,
                                      .drop = connect_drop, .describe = connect_describe};

sim_connect_op sim_connect(sim_addr to, sim_conn *conn)
{
    SIM_ASSERT(conn != NULL);
    return (sim_connect_op){.fut = SIM_FUT_INIT(&connect_vt), .to = to, .conn = conn};
}

/* ---- arrivals ------------------------------------------------------------------------------- */

/* A SYN reaches a node: a queued endpoint and a SYN-ACK, or an RST. */
static void syn_arrives(sim_world *w, net_state *n, uint32_t msg)
{
    net_msg *m = &n->msgs[msg];
    SIM_ASSERT(m->type == SIM_NET_SYN);
    SIM_ASSERT(m->to_sock == SIM__NIL); /* a SYN is for whoever listens, no endpoint yet */
    SIM_ASSERT(sim__exec_node_state(w, m->dst_node) != SIM_NODE_DOWN);
    uint32_t lslot = sim__port_find(n, m->dst_node, (uint16_t)m->dst);
    net_sock *l = lslot != SIM__NIL ? &n->socks[lslot] : NULL;
    if (l == NULL || l->type != SOCK_LISTEN || l->acc_len >= l->backlog) {
        reply_rst(w, n, m);
        return;
    }
    uint32_t c = sim__sock_alloc(w, n, SOCK_CONN, m->dst_node);
    m = &n->msgs[msg];
    l = &n->socks[lslot];
    net_sock *s = &n->socks[c];
    s->port = l->port;
    conn_set_state(s, CONN_QUEUED);
    s->remote = m->src;
    s->peer = m->from_sock;
    s->peer_id = m->from_id;
    s->listener = lslot;
    s->next_acc = SIM__NIL;
    if (l->acc_tail == SIM__NIL) {
        l->acc_head = c;
    } else {
        n->socks[l->acc_tail].next_acc = c;
    }
    l->acc_tail = c;
    l->acc_len++;
    SIM_ASSERT(l->acc_len <= l->backlog);
    int rc = send_from(w, n, c, SIM_NET_SYNACK, NULL, 0);
    SIM_ASSERT(rc == SIM_OK); /* max_timers only: see net.h */
    sim__sock_wake(w, l, false);
}

/* Bytes go into the endpoint's receive ring. */
static void rbuf_append(net_sock *s, const uint8_t *data, uint32_t len)
{
    SIM_ASSERT(len > 0); /* a data segment carries a byte at least */
    SIM_ASSERT(s->rlen <= s->rcap);
    if (s->rlen + len > s->rcap) {
        uint32_t cap = s->rcap ? s->rcap : 256;
        while (cap < s->rlen + len) cap *= 2;
        uint8_t *b = sim__xmalloc(cap, "a connection's receive buffer");
        for (uint32_t i = 0; i < s->rlen; i++) b[i] = s->rbuf[(s->rhead + i) & (s->rcap - 1)];
        free(s->rbuf);
        s->rbuf = b;
        s->rcap = cap;
        s->rhead = 0;
    }
    SIM_ASSERT((s->rcap & (s->rcap - 1)) == 0); /* positions wrap with a mask */
    SIM_ASSERT(s->rlen + len <= s->rcap);
    uint32_t tail = (s->rhead + s->rlen) & (s->rcap - 1);
    uint32_t first = len < s->rcap - tail ? len : s->rcap - tail;
    memcpy(s->rbuf + tail, data, first);
    memcpy(s->rbuf, data + first, len - first);
    s->rlen += len;
}

/* A segment for endpoint s, the link being clear: it takes effect. */
static void segment_lands(sim_world *w, net_state *n, uint32_t msg, uint32_t slot)
{
    net_msg *m = &n->msgs[msg];
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(m->id != 0); /* a freed message never lands */
    SIM_ASSERT(!m->held);
    SIM_ASSERT(m->to_sock == slot);
    SIM_ASSERT(m->type != SIM_NET_DGRAM);
    SIM_ASSERT(m->type != SIM_NET_SYN);
    SIM_ASSERT(s->type == SOCK_CONN);
    bool gone = s->closed || s->state == CONN_DEAD;
    if (gone && m->type == SIM_NET_FIN) {
        s->fin_rcvd = 1; /* the peer is done too: a closed endpoint can go */
    } else if (gone && m->type != SIM_NET_RST) {
        /* Data for a connection this side has closed: tell the sender. The reset is a new
         * message, so the table may move: m is looked up again. */
        if (m->type == SIM_NET_DATA) {
            reply_rst(w, n, m);
            m = &n->msgs[msg];
        }
        n->dropped++;
        sim__net_event(w, SIM_EV_NET_DROP, m->dst_node, m, SIM_NET_WHY_NOSOCK);
        sim__msg_free(w, n, msg);
        return;
    }
    n->delivered++;
    sim__net_event(w, SIM_EV_NET_DELIVER, m->dst_node, m, 0);
    if (gone) {
        sim__msg_free(w, n, msg);
        sim__conn_free_if_done(w, n, slot);
        return;
    }
    switch (m->type) {
    case SIM_NET_SYNACK:
        if (s->state == CONN_CONNECTING) {
            conn_set_state(s, CONN_OPEN);
            s->peer = m->from_sock;
            s->peer_id = m->from_id;
        }
        sim__sock_wake(w, s, false);
        break;
    case SIM_NET_DATA:
        SIM_ASSERT(!s->fin_rcvd); /* nothing follows a FIN: segments arrive in order */
        rbuf_append(s, m->data, m->len);
        sim__sock_wake(w, s, false);
        break;
    case SIM_NET_FIN:
        SIM_ASSERT(!s->fin_rcvd); /* one FIN per direction */
        s->fin_rcvd = 1;
        sim__sock_wake(w, s, false);
        break;
    default: /* RST */
        sim__conn_reset(w, n, slot, s->state == CONN_CONNECTING ? RESET_REFUSED : RESET_BY_PEER);
        break;
    }
    sim__msg_free(w, n, msg);
    if (slot < n->socks_used && n->socks[slot].type == SOCK_CONN) {
        sim__conn_free_if_done(w, n, slot);
    }
}

static void hold(net_state *n, net_sock *s, uint32_t msg)
{
    SIM_ASSERT(s->type == SOCK_CONN);
    SIM_ASSERT(n->msgs[msg].id != 0);
    SIM_ASSERT(!n->msgs[msg].held); /* on one list at a time */
    SIM_ASSERT(n->msgs[msg].to_id == s->id);
    n->msgs[msg].held = 1;
    n->msgs[msg].next = SIM__NIL;
    if (s->held_tail == SIM__NIL) {
        s->held_head = msg;
    } else {
        n->msgs[s->held_tail].next = msg;
    }
    s->held_tail = msg;
}

void sim__stream_segment(sim_world *w, net_state *n, uint32_t msg)
{
    net_msg *m = &n->msgs[msg];
    SIM_ASSERT(m->id != 0);
    SIM_ASSERT(m->type != SIM_NET_SYN); /* a SYN has no endpoint yet: syn_arrives */
    net_sock *s = sim__sock_get(w, m->to_sock, m->to_id, SOCK_CONN);
    if (s == NULL) {
        /* The endpoint is gone; a stale SYN-ACK or data still tells its sender (a new
         * message: the table may move, so m is looked up again). */
        if (m->type == SIM_NET_SYNACK || m->type == SIM_NET_DATA) {
            reply_rst(w, n, m);
            m = &n->msgs[msg];
        }
        n->dropped++;
        sim__net_event(w, SIM_EV_NET_DROP, m->dst_node, m, SIM_NET_WHY_NOSOCK);
        sim__msg_free(w, n, msg);
        return;
    }
    segment_lands(w, n, msg, slot_of_sock(n, s));
}

void sim__stream_deliver(sim_world *w, net_state *n, uint32_t msg)
{
    net_msg *m = &n->msgs[msg];
    SIM_ASSERT(m->type != SIM_NET_DGRAM);
    SIM_ASSERT(sim__exec_node_state(w, m->dst_node) != SIM_NODE_DOWN); /* deliver dropped those */
    bool blocked = sim__link_blocked(n, m->src_node, m->dst_node);
    if (m->type == SIM_NET_SYN) {
        if (blocked) { /* lost: the connect times out */
            n->dropped++;
            sim__net_event(w, SIM_EV_NET_DROP, m->dst_node, m, SIM_NET_WHY_PARTITION);
            sim__msg_free(w, n, msg);
        } else if (sim__link_clogged(n, m->src_node, m->dst_node)) {
            sim__net_hold(n, msg); /* waits for the clog to end, with the datagrams */
        } else {
            n->delivered++;
            sim__net_event(w, SIM_EV_NET_DELIVER, m->dst_node, m, 0);
            syn_arrives(w, n, msg);
            sim__msg_free(w, n, msg);
        }
        return;
    }
    net_sock *s = sim__sock_get(w, m->to_sock, m->to_id, SOCK_CONN);
    if (s == NULL) {
        sim__stream_segment(w, n, msg);
        return;
    }
    bool clogged = sim__link_clogged(n, m->src_node, m->dst_node);
    SIM_ASSERT(s->node == m->dst_node);
    if (blocked || clogged || s->held_head != SIM__NIL) {
        hold(n, s, msg);
        if (blocked && s->blocked_since == 0) {
            s->blocked_since = sim__exec_now(w);
            uint64_t at = sim__add_sat(s->blocked_since, n->desc.stream_timeout_ns);
            int rc = sim__timer_arm_ext(w, at, n->ext,
                                        sim__net_timer_arg(TM_STREAM_TIMEOUT, s->id,
                                                           slot_of_sock(n, s)));
            SIM_ASSERT(rc == SIM_OK); /* max_timers only: see net.h */
        }
        return;
    }
    segment_lands(w, n, msg, slot_of_sock(n, s));
}

void sim__stream_release_held(sim_world *w, net_state *n)
{
    for (uint32_t i = 0; i < n->socks_used; i++) {
        net_sock *s = &n->socks[i];
        if (s->type != SOCK_CONN || s->held_head == SIM__NIL) continue;
        const net_msg *first = &n->msgs[s->held_head];
        uint32_t from = first->src_node; /* landing sends resets: the table may move */
        if (sim__link_blocked(n, from, first->dst_node) ||
            sim__link_clogged(n, from, first->dst_node)) {
            continue;
        }
        uint32_t m = s->held_head;
        s->held_head = s->held_tail = SIM__NIL;
        s->blocked_since = 0;
        while (m != SIM__NIL) {
            SIM_ASSERT(n->msgs[m].held);
            /* Every segment of one endpoint's backlog comes over the same link. */
            SIM_ASSERT(n->msgs[m].src_node == from);
            uint32_t next = n->msgs[m].next;
            n->msgs[m].held = 0;
            n->msgs[m].next = SIM__NIL;
            /* The endpoint may die while its backlog lands (an RST in it): the rest drop. */
            if (n->socks[i].type == SOCK_CONN && n->socks[i].held_head == SIM__NIL) {
                segment_lands(w, n, m, i);
            } else if (n->socks[i].type == SOCK_CONN) {
                hold(n, &n->socks[i], m);
            } else {
                sim__msg_free(w, n, m);
            }
            m = next;
        }
        if (n->socks[i].type == SOCK_CONN) SIM_ASSERT(n->socks[i].blocked_since == 0);
    }
}

void sim__stream_timer(sim_world *w, net_state *n, uint32_t kind, uint32_t slot, uint32_t id)
{
    SIM_ASSERT(kind != TM_DELIVER);
    SIM_ASSERT(kind <= TM_PEER_RESET);
    if (slot >= n->socks_used || n->socks[slot].type != SOCK_CONN ||
        (n->socks[slot].id & SIM__NET_ID_MASK) != id) {
        return;
    }
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(sim__exec_node_state(w, s->node) != SIM_NODE_DOWN); /* a crash freed its endpoints */
    if (kind == TM_CONNECT_TIMEOUT) {
        if (s->state == CONN_CONNECTING) sim__conn_reset(w, n, slot, RESET_CONNECT_TIMEOUT);
    } else if (kind == TM_PEER_RESET) {
        sim__conn_reset(w, n, slot, RESET_CRASH);
    } else if (kind == TM_STREAM_TIMEOUT) {
        uint64_t now = sim__exec_now(w);
        if (s->blocked_since == 0 || now - s->blocked_since < n->desc.stream_timeout_ns) {
            return; /* healed meanwhile (a later block arms its own timer) */
        }
        net_sock *p = peer_of(n, s);
        uint32_t peer = s->peer;
        sim__conn_reset(w, n, slot, RESET_TIMEOUT);
        if (p != NULL) sim__conn_reset(w, n, peer, RESET_TIMEOUT);
    }
}


/* The fix for a half-open connection that nothing reset (test_net_handles.c,
 * cut_mid_handshake): a connecting endpoint whose node crashed before its SYN-ACK arrived did
 * not know its peer yet, so conn_crash armed nothing, and the SYN-ACK is dropped at the down
 * node: the side that accepted (and may be reading already) waited forever. It now resets the
 * reset delay after its SYN-ACK met the down node, as an established peer does after a
 * crash. */
void sim__stream_synack_lost(sim_world *w, net_state *n, uint32_t msg)
{
    const net_msg *m = &n->msgs[msg];
    SIM_ASSERT(m->type == SIM_NET_SYNACK);
    SIM_ASSERT(sim__exec_node_state(w, m->dst_node) == SIM_NODE_DOWN);
    const net_sock *p = sim__sock_get(w, m->from_sock, m->from_id, SOCK_CONN);
    if (p == NULL || p->state == CONN_DEAD || p->node == m->dst_node) return;
    arm_peer_reset(w, n, m->dst_node, m->from_sock);
}

void sim__stream_crash(sim_world *w, net_state *n, uint32_t node)
{
    SIM_ASSERT(sim__exec_node_state(w, node) == SIM_NODE_DOWN);
    for (uint32_t i = 0; i < n->socks_used; i++) {
        const net_sock *s = &n->socks[i];
        if (s->type == SOCK_CONN && s->node == node) conn_crash(w, n, i);
    }
    for (uint32_t i = 0; i < n->socks_used; i++) {
        if (n->socks[i].type == SOCK_CONN) SIM_ASSERT_SLOW(n->socks[i].node != node);
    }
}

/* ---- reading and writing -------------------------------------------------------------------- */

/* Copies up to cap unread bytes out; the peer's window opens by as much. */
static size_t take_bytes(sim_world *w, net_state *n, net_sock *s, uint8_t *out, size_t cap)
{
    SIM_ASSERT(cap > 0);
    SIM_ASSERT(s->rlen > 0);
    size_t take = s->rlen < cap ? s->rlen : cap;
    for (size_t i = 0; i < take;) {
        uint32_t at = s->rhead;
        size_t run = s->rcap - at < take - i ? s->rcap - at : take - i;
        memcpy(out + i, s->rbuf + at, run);
        s->rhead = (uint32_t)((at + run) & (s->rcap - 1));
        i += run;
    }
    s->rlen -= (uint32_t)take;
    SIM_ASSERT(s->rhead < s->rcap);
    net_sock *p = peer_of(n, s);
    if (p != NULL) {
        /* What the peer sent and this side had not read includes what it reads now. */
        SIM_ASSERT(p->window >= take);
        p->window -= (uint32_t)take;
        sim__sock_wake(w, p, true);
    }
    SIM_ASSERT(take <= cap);
    return take;
}

/* The endpoint a read or write operation acts on: NULL with *rc set to its result when it has
 * none (closed, reset, a bad handle). */
static net_sock *io_conn(sim_world *w, const sim_conn *c, bool write, const char *what, int *rc)
{
    if (sim__exec_require_task(w, what) == SIM__NIL) {
        *rc = SIM_EMISUSE;
        return NULL;
    }
    net_sock *s = sim__sock_of(w, &c->h, SOCK_CONN, what, rc, NULL);
    if (s == NULL) return NULL;
    if (s->closed || (write && s->shut_wr)) {
        *rc = SIM_ECLOSED;
        return NULL;
    }
    if (s->state == CONN_DEAD) {
        *rc = SIM_ECONNRESET;
        return NULL;
    }
    *rc = SIM_OK;
    return s;
}

/* Reads what is buffered into buf[*done..len), up to len. SIM_OK once *done == len;
 * SIM_EEOF when the peer finished writing first; else SIM_PENDING, waiting as the reader. */
static int read_into(sim_world *w, net_sock *s, uint8_t *buf, size_t len, size_t *done)
{
    SIM_ASSERT(*done <= len);
    if (s->rlen > 0 && *done < len) {
        *done += take_bytes(w, sim__net_peek(w), s, buf + *done, len - *done);
    }
    SIM_ASSERT(*done <= len);
    if (*done == len) return SIM_OK;
    SIM_ASSERT(s->rlen == 0); /* short only when the buffer ran dry */
    if (s->fin_rcvd) return SIM_EEOF;
    sim__sock_wait(w, s, false, OP_READ);
    return SIM_PENDING;
}

/* Sends buf[*done..len) as segments while the window has room. SIM_OK once all are taken;
 * SIM_PENDING, waiting as the writer, when the window is full; an error of the send. */
static int write_from(sim_world *w, uint32_t slot, const uint8_t *buf, size_t len, size_t *done)
{
    net_state *n = sim__net_peek(w);
    SIM_ASSERT(*done <= len);
    while (*done < len) {
        net_sock *s = &n->socks[slot];
        uint32_t room = n->desc.send_buffer > s->window ? n->desc.send_buffer - s->window : 0;
        if (room == 0) {
            sim__sock_wait(w, s, true, OP_WRITE);
            return SIM_PENDING;
        }
        size_t left = len - *done;
        uint32_t lo = n->desc.segment_min, hi = n->desc.segment_max;
        uint32_t seg = lo == hi ? lo : (uint32_t)sim_rng_range(&n->rngs[s->node], lo, hi);
        if (seg > left) seg = (uint32_t)left;
        if (seg > room) seg = room;
        SIM_ASSERT(seg >= 1); /* every round makes progress */
        int rc = send_from(w, n, slot, SIM_NET_DATA, buf + *done, seg);
        if (rc != SIM_OK) return rc;
        n->socks[slot].window += seg;
        *done += seg;
        SIM_ASSERT(n->socks[slot].window <= n->desc.send_buffer);
    }
    SIM_ASSERT(*done == len);
    return SIM_OK;
}

/* A read or write gives up its place as the endpoint's reader or writer. */
static void io_unwait(sim_world *w, const sim_conn *c, bool writer)
{
    net_sock *s = (net_sock *)sim__sock_peek(w, &c->h, SOCK_CONN);
    if (s != NULL) sim__sock_unwait(w, s, writer);
}

static int read_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) {
        sim_read_op *hop = (sim_read_op *)f;
        if (hop->len != NULL) *hop->len = 0;
        if (hop->cap == 0) return SIM_EINVAL;
        return sim__hnet_read_poll(hop, w);
    }
    sim_read_op *op = (sim_read_op *)f;
    if (op->len != NULL) *op->len = 0;
    int rc;
    net_sock *s = io_conn(w, op->conn, false, "sim_read", &rc);
    if (s == NULL) return rc;
    if (op->cap == 0) return SIM_EINVAL;
    if (s->rlen > 0) {
        size_t got = take_bytes(w, sim__net_peek(w), s, op->buf, op->cap);
        SIM_ASSERT(got > 0);
        if (op->len != NULL) *op->len = got;
        return SIM_OK;
    }
    if (s->fin_rcvd) return SIM_OK; /* the end of the stream: 0 bytes */
    sim__sock_wait(w, s, false, OP_READ);
    return SIM_PENDING;
}

static void read_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return;
    io_unwait(w, ((sim_read_op *)f)->conn, false);
}

static void read_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    conn_describe(w, &((const sim_read_op *)f)->conn->h, "read", "", buf, size);
}

static const sim_fut_vt read_vt = {.name = "read", .poll = read_poll, .drop = read_drop,
                                   .describe = read_describe};

sim_read_op sim_read(const sim_conn *conn, void *buf, size_t cap, size_t *len)
{
    SIM_ASSERT(conn != NULL);
    SIM_ASSERT(buf != NULL || cap == 0);
    return (sim_read_op){.fut = SIM_FUT_INIT(&read_vt), .conn = conn, .buf = buf, .cap = cap,
                         .len = len};
}

static int read_exact_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return sim__hnet_read_exact_poll((sim_read_exact_op *)f, w);
    sim_read_exact_op *op = (sim_read_exact_op *)f;
    int rc;
    net_sock *s = io_conn(w, op->conn, false, "sim_read_exact", &rc);
    if (s == NULL) return rc;
    return read_into(w, s, op->buf, op->len, &op->done_);
}

static void read_exact_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return;
    io_unwait(w, ((sim_read_exact_op *)f)->conn, false);
}

static void read_exact_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_read_exact_op *op = (const sim_read_exact_op *)f;
    char extra[80];
    snprintf(extra, sizeof extra, "(%zu of %zu bytes read)", op->done_, op->len);
    conn_describe(w, &op->conn->h, "read_exact", extra, buf, size);
}

static const sim_fut_vt read_exact_vt = {.name = "read_exact", .poll = read_exact_poll,
                                         .drop = read_exact_drop,
                                         .describe = read_exact_describe};

sim_read_exact_op sim_read_exact(const sim_conn *conn, void *buf, size_t len)
{
    SIM_ASSERT(conn != NULL);
    SIM_ASSERT(buf != NULL || len == 0);
    return (sim_read_exact_op){.fut = SIM_FUT_INIT(&read_exact_vt), .conn = conn, .buf = buf,
                               .len = len};
}

static int write_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return sim__hnet_write_poll((sim_write_op *)f, w);
    sim_write_op *op = (sim_write_op *)f;
    int rc;
    net_sock *s = io_conn(w, op->conn, true, "sim_write", &rc);
    if (s == NULL) return rc;
    uint32_t slot = (uint32_t)(s - sim__net_peek(w)->socks);
    return write_from(w, slot, op->buf, op->len, &op->done_);
}

static void write_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return;
    io_unwait(w, ((sim_write_op *)f)->conn, true);
}

static void write_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_write_op *op = (const sim_write_op *)f;
    char extra[80];
    snprintf(extra, sizeof extra, "(%zu of %zu bytes taken%s)", op->done_, op->len,
             window_words(w, &op->conn->h));
    conn_describe(w, &op->conn->h, "write", extra, buf, size);
}

static const sim_fut_vt write_vt = {.name = "write", .poll = write_poll, .drop = write_drop,
                                    .describe = write_describe};

sim_write_op sim_write(const sim_conn *conn, const void *buf, size_t len)
{
    SIM_ASSERT(conn != NULL);
    SIM_ASSERT(buf != NULL || len == 0);
    return (sim_write_op){.fut = SIM_FUT_INIT(&write_vt), .conn = conn, .buf = buf, .len = len};
}

int sim_shutdown(sim_world *w, const sim_conn *conn)
{
    if (sim__exec_is_host(w)) return sim__hnet_shutdown(w, conn);
    int rc;
    net_sock *s = sim__sock_of(w, conn ? &conn->h : NULL, SOCK_CONN, "sim_shutdown", &rc, NULL);
    if (s == NULL) return rc;
    if (s->closed) return SIM_ECLOSED;
    if (s->state == CONN_DEAD) return SIM_ECONNRESET;
    if (s->shut_wr) return SIM_OK;
    SIM_ASSERT(s->state == CONN_OPEN); /* a handle is an endpoint that connected or was accepted */
    s->shut_wr = 1;
    net_state *n = sim__net_peek(w);
    return send_from(w, n, slot_of_sock(n, s), SIM_NET_FIN, NULL, 0);
}

void sim__conn_close_sock(sim_world *w, net_state *n, uint32_t slot)
{
    SIM_ASSERT(slot < n->socks_used);
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(s->type == SOCK_CONN && !s->closed);
    if (conn_drop_crash(w, n, slot)) return;
    if (s->state != CONN_DEAD && !s->shut_wr) {
        s->shut_wr = 1;
        int rc = send_from(w, n, slot, SIM_NET_FIN, NULL, 0);
        SIM_ASSERT(rc == SIM_OK); /* max_timers only: see net.h */
    }
    s = &n->socks[slot];
    s->closed = 1;
    /* Either it is dead or its side is shut: nothing more leaves a closed endpoint. */
    if (s->state != CONN_DEAD) SIM_ASSERT(s->shut_wr);
    sim__sock_wake(w, s, false);
    sim__sock_wake(w, s, true);
    if (sim__port_find(n, s->node, s->port) == slot) sim__port_unbind(n, s->node, s->port);
    sim__conn_free_if_done(w, n, slot);
}

void sim_conn_close(sim_world *w, sim_conn *conn)
{
    if (conn != NULL && sim__exec_is_host(w)) {
        sim__hnet_close(w, &conn->h, SOCK_CONN, "sim_conn_close");
        return;
    }
    if (conn == NULL) return;
    uint32_t slot = sim__sock_close_handle(w, &conn->h, SOCK_CONN, "sim_conn_close");
    SIM_ASSERT(conn->h.id_ == 0);
    if (slot == SIM__NIL) return;
    net_state *n = sim__net_peek(w);
    if (!n->socks[slot].closed) sim__conn_close_sock(w, n, slot);
}

sim_addr sim_conn_local(const sim_world *w, const sim_conn *conn)
{
    if (sim__exec_is_host(w)) return sim__hnet_conn_addr(w, conn, false);
    const net_sock *s = sim__sock_peek(w, conn ? &conn->h : NULL, SOCK_CONN);
    if (s == NULL) return (sim_addr){0};
    return (sim_addr){.node = {s->node}, .port = s->port};
}

sim_addr sim_conn_peer(const sim_world *w, const sim_conn *conn)
{
    if (sim__exec_is_host(w)) return sim__hnet_conn_addr(w, conn, true);
    const net_sock *s = sim__sock_peek(w, conn ? &conn->h : NULL, SOCK_CONN);
    if (s == NULL) return (sim_addr){0};
    return (sim_addr){.node = {s->remote >> 16}, .port = (uint16_t)s->remote};
}

/* ---- frames --------------------------------------------------------------------------------- */

/* A frame's header and body are read (and written) as two runs, header first, within one
 * operation: the same segments, wake-ups and events as a read_exact (a write) of each. */
#define FRAME_HDR 4u
/* got_ and done_ count header and body bytes in 32 bits. */
#define FRAME_BODY_MAX (UINT32_MAX - FRAME_HDR)

static int frame_read_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return sim__hnet_frame_read_poll((sim_frame_read_op *)f, w);
    sim_frame_read_op *op = (sim_frame_read_op *)f;
    if (op->len != NULL) *op->len = 0;
    if (op->max == 0) return SIM_EINVAL;
    int rc;
    net_sock *s = io_conn(w, op->conn, false, "sim_frame_read", &rc);
    if (s == NULL) return rc;
    if (op->got_ < FRAME_HDR) {
        size_t got = op->got_;
        rc = read_into(w, s, op->hdr_, FRAME_HDR, &got);
        op->got_ = (uint32_t)got;
        if (rc != SIM_OK) return rc;
        op->flen_ = (uint32_t)op->hdr_[0] << 24 | (uint32_t)op->hdr_[1] << 16 |
                    (uint32_t)op->hdr_[2] << 8 | op->hdr_[3];
    }
    if (op->flen_ > op->max || op->flen_ > FRAME_BODY_MAX) return SIM_ETOOBIG;
    size_t body = op->got_ - FRAME_HDR;
    rc = read_into(w, s, op->buf, op->flen_, &body);
    op->got_ = FRAME_HDR + (uint32_t)body;
    if (rc == SIM_OK && op->len != NULL) *op->len = op->flen_;
    return rc;
}

static void frame_read_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return;
    io_unwait(w, ((sim_frame_read_op *)f)->conn, false);
}

static void frame_read_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_frame_read_op *op = (const sim_frame_read_op *)f;
    char extra[96];
    if (op->got_ < FRAME_HDR) {
        snprintf(extra, sizeof extra, "(%u of 4 header bytes read)", op->got_);
    } else {
        snprintf(extra, sizeof extra, "(%u of %u bytes read)", op->got_ - FRAME_HDR, op->flen_);
    }
    conn_describe(w, &op->conn->h, "frame read", extra, buf, size);
}

static const sim_fut_vt frame_read_vt = {.name = "frame_read", .poll = frame_read_poll,
                                         .drop = frame_read_drop,
                                         .describe = frame_read_describe};

sim_frame_read_op sim_frame_read(const sim_conn *conn, void *buf, uint32_t max, uint32_t *len)
{
    SIM_ASSERT(conn != NULL);
    SIM_ASSERT(buf != NULL || max == 0);
    return (sim_frame_read_op){.fut = SIM_FUT_INIT(&frame_read_vt), .conn = conn, .buf = buf,
                               .max = max, .len = len};
}

static int frame_write_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return sim__hnet_frame_write_poll((sim_frame_write_op *)f, w);
    sim_frame_write_op *op = (sim_frame_write_op *)f;
    if (op->max == 0) return SIM_EINVAL;
    if (op->len > op->max || op->len > FRAME_BODY_MAX) return SIM_ETOOBIG;
    int rc;
    net_sock *s = io_conn(w, op->conn, true, "sim_frame_write", &rc);
    if (s == NULL) return rc;
    uint32_t slot = (uint32_t)(s - sim__net_peek(w)->socks);
    if (op->done_ < FRAME_HDR) {
        size_t done = op->done_;
        rc = write_from(w, slot, op->hdr_, FRAME_HDR, &done);
        op->done_ = (uint32_t)done;
        if (rc != SIM_OK) return rc;
    }
    size_t body = op->done_ - FRAME_HDR;
    rc = write_from(w, slot, op->data, op->len, &body);
    op->done_ = FRAME_HDR + (uint32_t)body;
    return rc;
}

static void frame_write_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return;
    io_unwait(w, ((sim_frame_write_op *)f)->conn, true);
}

static void frame_write_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_frame_write_op *op = (const sim_frame_write_op *)f;
    char extra[96];
    snprintf(extra, sizeof extra, "(%u of %u bytes with the header taken%s)", op->done_,
             op->len + FRAME_HDR, window_words(w, &op->conn->h));
    conn_describe(w, &op->conn->h, "frame write", extra, buf, size);
}

static const sim_fut_vt frame_write_vt = {.name = "frame_write", .poll = frame_write_poll,
                                          .drop = frame_write_drop,
                                          .describe = frame_write_describe};

sim_frame_write_op sim_frame_write(const sim_conn *conn, const void *data, uint32_t len,
                                   uint32_t max)
{
    SIM_ASSERT(conn != NULL);
    SIM_ASSERT(data != NULL || len == 0);
    /* The header is made now: it is a value, not a pointer into the operation. */
    return (sim_frame_write_op){.fut = SIM_FUT_INIT(&frame_write_vt), .conn = conn,
                                .data = data, .len = len, .max = max,
                                .hdr_ = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
                                         (uint8_t)(len >> 8), (uint8_t)len}};
}
