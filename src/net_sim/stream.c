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
 */
#include "net.h"

enum { OP_ACCEPT = 2, OP_CONNECT = 3, OP_READ = 4, OP_WRITE = 5 };

static net_sock *conn_of(const sim_world *w, const sim_conn *c)
{
    return c == NULL ? NULL : sim__sock_get(w, c->slot_, c->id_, SOCK_CONN);
}

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
    uint32_t task = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
    sim__emit(w, SIM_EV_NET_RESET, s->node, task,
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

/* ---- listening and accepting ---------------------------------------------------------------- */

int sim_listen(sim_world *w, uint16_t port, uint32_t backlog, sim_listener *out)
{
    *out = (sim_listener){0};
    uint32_t node = sim__net_task_node(w);
    if (node == 0) return SIM_ENODE;
    net_state *n = sim__net_of(w);
    uint32_t slot = sim__sock_alloc(w, n, SOCK_LISTEN, node);
    uint16_t bound;
    int rc = sim__port_bind(w, n, node, port, slot, &bound);
    if (rc != SIM_OK) {
        sim__sock_free(w, n, slot);
        return rc;
    }
    net_sock *l = &n->socks[slot];
    l->port = bound;
    l->backlog = backlog ? backlog : 128;
    SIM_ASSERT(bound != 0);
    SIM_ASSERT(l->acc_head == SIM__NIL);
    *out = (sim_listener){.slot_ = slot, .id_ = l->id};
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

void sim_listener_close(sim_world *w, sim_listener *lh)
{
    net_sock *l = sim__sock_get(w, lh->slot_, lh->id_, SOCK_LISTEN);
    *lh = (sim_listener){0};
    if (l == NULL) return;
    net_state *n = sim__net_peek(w);
    /* Connections nobody accepted are abandoned: their peers are reset. */
    uint32_t lslot = slot_of_sock(n, l);
    for (uint32_t c = acc_pop(n, l); c != SIM__NIL; c = acc_pop(n, l)) {
        /* Queued (or reset while queued), never open: only accept opens one. */
        SIM_ASSERT(n->socks[c].state != CONN_OPEN);
        send_from(w, n, c, SIM_NET_RST, NULL, 0);
        n->socks[c].closed = 1;
        sim__conn_reset(w, n, c, RESET_BY_PEER);
        SIM_ASSERT(n->socks[lslot].type == SOCK_LISTEN); /* resets free endpoints only */
    }
    SIM_ASSERT(l->acc_len == 0);
    sim__port_unbind(n, l->node, l->port);
    sim__sock_wake(w, l, false);
    sim__sock_free(w, n, slot_of_sock(n, l));
}

int sim_accept_poll(sim_world *w, sim_accept *op)
{
    SIM_ASSERT(op != NULL);
    SIM_ASSERT(op->listener != NULL);
    net_sock *l = sim__sock_get(w, op->listener->slot_, op->listener->id_, SOCK_LISTEN);
    if (l == NULL) return SIM_ECLOSED;
    net_state *n = sim__net_peek(w);
    uint32_t c = acc_pop(n, l);
    if (c == SIM__NIL) {
        sim__sock_wait(w, l, false, OP_ACCEPT);
        return SIM_PENDING;
    }
    net_sock *s = &n->socks[c];
    SIM_ASSERT(s->listener == SIM__NIL); /* out of the queue */
    SIM_ASSERT(s->node == l->node);
    if (s->state == CONN_QUEUED) conn_set_state(s, CONN_OPEN);
    op->conn = (sim_conn){.slot_ = c, .id_ = s->id};
    op->peer = (sim_addr){.node = {s->remote >> 16}, .port = (uint16_t)s->remote};
    return SIM_OK;
}

void sim_accept_drop(sim_world *w, sim_accept *op)
{
    SIM_ASSERT(op != NULL);
    if (op->listener == NULL) return;
    net_sock *l = sim__sock_get(w, op->listener->slot_, op->listener->id_, SOCK_LISTEN);
    if (l != NULL) sim__sock_unwait(w, l, false);
}

static int accept_fpoll(void *state, sim_world *w)
{
    return sim_accept_poll(w, state);
}

static void accept_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_accept_drop(w, state);
}

sim_future sim_accept_future(sim_accept *op)
{
    return (sim_future){.poll = accept_fpoll, .drop = accept_fdrop, .state = op};
}

/* ---- connecting ----------------------------------------------------------------------------- */

static int connect_start(sim_world *w, sim_connect *op)
{
    SIM_ASSERT(op->id_ == 0); /* one connection per operation */
    uint32_t node = sim__net_task_node(w);
    if (node == 0 || op->to.node.v == 0 || op->to.node.v >= w->nodes_len) return SIM_ENODE;
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
        rc = sim__timer_arm_ext(w, sim__add_sat(w->now_ns, n->desc.connect_timeout_ns),
                                SIM__EXT_NET,
                                sim__net_timer_arg(TM_CONNECT_TIMEOUT, s->id, slot));
    }
    if (rc != SIM_OK) {
        sim__port_unbind(n, node, port);
        sim__sock_free(w, n, slot);
        return rc;
    }
    op->slot_ = slot;
    op->id_ = s->id;
    SIM_ASSERT(sim__port_find(n, node, port) == slot);
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

/* Frees a client endpoint's ephemeral port along with it. */
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

int sim_connect_poll(sim_world *w, sim_connect *op)
{
    SIM_ASSERT(op != NULL);
    if (op->id_ == 0) {
        int rc = connect_start(w, op);
        if (rc != SIM_OK) return rc;
    }
    net_state *n = sim__net_peek(w);
    net_sock *s = sim__sock_get(w, op->slot_, op->id_, SOCK_CONN);
    if (s == NULL) {
        op->id_ = 0;
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
    op->conn = (sim_conn){.slot_ = slot, .id_ = s->id};
    return SIM_OK;
}

void sim_connect_drop(sim_world *w, sim_connect *op)
{
    SIM_ASSERT(op != NULL);
    net_sock *s = sim__sock_get(w, op->slot_, op->id_, SOCK_CONN);
    uint32_t slot = op->slot_;
    op->slot_ = op->id_ = 0;
    if (s == NULL) return;
    net_state *n = sim__net_peek(w);
    sim__sock_unwait(w, s, false);
    SIM_ASSERT(!s->closed); /* nobody had a handle to close */
    /* Abandoned half-way: the other side, if it got that far, is reset. */
    if (s->state == CONN_OPEN && peer_of(n, s) != NULL) send_from(w, n, slot, SIM_NET_RST, NULL, 0);
    conn_release(w, n, slot);
}

static int connect_fpoll(void *state, sim_world *w)
{
    return sim_connect_poll(w, state);
}

static void connect_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_connect_drop(w, state);
}

sim_future sim_connect_future(sim_connect *op)
{
    return (sim_future){.poll = connect_fpoll, .drop = connect_fdrop, .state = op};
}

/* ---- arrivals ------------------------------------------------------------------------------- */

/* A SYN reaches a node: a queued endpoint and a SYN-ACK, or an RST. */
static void syn_arrives(sim_world *w, net_state *n, uint32_t msg)
{
    net_msg *m = &n->msgs[msg];
    SIM_ASSERT(m->type == SIM_NET_SYN);
    SIM_ASSERT(m->to_sock == SIM__NIL); /* a SYN is for whoever listens, no endpoint yet */
    SIM_ASSERT(w->nodes[m->dst_node].state != SIM_NODE_DOWN);
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
    SIM_ASSERT(w->nodes[m->dst_node].state != SIM_NODE_DOWN); /* deliver dropped those */
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
            s->blocked_since = w->now_ns;
            int rc = sim__timer_arm_ext(w, sim__add_sat(w->now_ns, n->desc.stream_timeout_ns),
                                        SIM__EXT_NET,
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
    SIM_ASSERT(w->nodes[s->node].state != SIM_NODE_DOWN); /* a crash freed its endpoints */
    if (kind == TM_CONNECT_TIMEOUT) {
        if (s->state == CONN_CONNECTING) sim__conn_reset(w, n, slot, RESET_CONNECT_TIMEOUT);
    } else if (kind == TM_PEER_RESET) {
        sim__conn_reset(w, n, slot, RESET_CRASH);
    } else if (kind == TM_STREAM_TIMEOUT) {
        if (s->blocked_since == 0 || w->now_ns - s->blocked_since < n->desc.stream_timeout_ns) {
            return; /* healed meanwhile (a later block arms its own timer) */
        }
        net_sock *p = peer_of(n, s);
        uint32_t peer = s->peer;
        sim__conn_reset(w, n, slot, RESET_TIMEOUT);
        if (p != NULL) sim__conn_reset(w, n, peer, RESET_TIMEOUT);
    }
}

void sim__stream_crash(sim_world *w, net_state *n, uint32_t node)
{
    SIM_ASSERT(w->nodes[node].state == SIM_NODE_DOWN);
    for (uint32_t i = 0; i < n->socks_used; i++) {
        net_sock *s = &n->socks[i];
        if (s->type != SOCK_CONN || s->node != node) continue;
        net_sock *p = peer_of(n, s);
        /* Only a live peer on a live node learns of it (a reset is scheduled for it). */
        if (p != NULL && p->state != CONN_DEAD && p->node != node) {
            SIM_ASSERT(w->nodes[p->node].state != SIM_NODE_DOWN);
            sim_rng *rng = &n->rngs[node];
            const sim_latency *d = &n->desc.reset_delay;
            uint64_t delay = d->min_ns == d->max_ns ? d->min_ns
                                                     : sim_rng_range(rng, d->min_ns, d->max_ns);
            int rc = sim__timer_arm_ext(w, sim__add_sat(w->now_ns, delay), SIM__EXT_NET,
                                        sim__net_timer_arg(TM_PEER_RESET, p->id, s->peer));
            SIM_ASSERT(rc == SIM_OK); /* max_timers only: see net.h */
        }
        s = &n->socks[i];
        if (s->state != CONN_DEAD) reset_event(w, s, RESET_NODE_DOWN);
        sim__sock_wake(w, s, false);
        sim__sock_wake(w, s, true);
        conn_release(w, n, i);
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
    return take;
}

/* The state of an endpoint for reading: SIM_OK to go on, else the result to return. */
static int readable(const net_sock *s)
{
    if (s == NULL || s->closed) return SIM_ECLOSED;
    if (s->state == CONN_DEAD) return SIM_ECONNRESET;
    return SIM_OK;
}

int sim_read_poll(sim_world *w, sim_read *op)
{
    SIM_ASSERT(op != NULL);
    net_sock *s = conn_of(w, op->conn);
    int rc = readable(s);
    if (rc != SIM_OK) return rc;
    if (op->cap == 0) return SIM_EINVAL;
    SIM_ASSERT(op->buf != NULL);
    net_state *n = sim__net_peek(w);
    if (s->rlen > 0) {
        op->len = take_bytes(w, n, s, op->buf, op->cap);
        SIM_ASSERT(op->len > 0); /* 0 means the end of the stream, and only that */
        SIM_ASSERT(op->len <= op->cap);
        return SIM_OK;
    }
    if (s->fin_rcvd) {
        op->len = 0;
        return SIM_OK;
    }
    sim__sock_wait(w, s, false, OP_READ);
    return SIM_PENDING;
}

void sim_read_drop(sim_world *w, sim_read *op)
{
    net_sock *s = conn_of(w, op->conn);
    if (s != NULL) sim__sock_unwait(w, s, false);
}

int sim_read_exact_poll(sim_world *w, sim_read_exact *op)
{
    SIM_ASSERT(op != NULL);
    SIM_ASSERT(op->done <= op->len);
    net_sock *s = conn_of(w, op->conn);
    int rc = readable(s);
    if (rc != SIM_OK) return rc;
    net_state *n = sim__net_peek(w);
    if (s->rlen > 0 && op->done < op->len) {
        op->done += take_bytes(w, n, s, (uint8_t *)op->buf + op->done, op->len - op->done);
    }
    SIM_ASSERT(op->done <= op->len);
    if (op->done == op->len) return SIM_OK;
    SIM_ASSERT(s->rlen == 0); /* short only when the buffer ran dry */
    if (s->fin_rcvd) return SIM_EEOF;
    sim__sock_wait(w, s, false, OP_READ);
    return SIM_PENDING;
}

void sim_read_exact_drop(sim_world *w, sim_read_exact *op)
{
    net_sock *s = conn_of(w, op->conn);
    if (s != NULL) sim__sock_unwait(w, s, false);
}

int sim_write_poll(sim_world *w, sim_write *op)
{
    SIM_ASSERT(op != NULL);
    SIM_ASSERT(op->done <= op->len);
    net_sock *s = conn_of(w, op->conn);
    if (s == NULL || s->closed || s->shut_wr) return SIM_ECLOSED;
    if (s->state == CONN_DEAD) return SIM_ECONNRESET;
    net_state *n = sim__net_peek(w);
    uint32_t slot = slot_of_sock(n, s);
    while (op->done < op->len) {
        s = &n->socks[slot];
        uint32_t room = n->desc.send_buffer > s->window ? n->desc.send_buffer - s->window : 0;
        if (room == 0) {
            sim__sock_wait(w, s, true, OP_WRITE);
            return SIM_PENDING;
        }
        size_t left = op->len - op->done;
        uint32_t lo = n->desc.segment_min, hi = n->desc.segment_max;
        uint32_t seg = lo == hi ? lo : (uint32_t)sim_rng_range(&n->rngs[s->node], lo, hi);
        if (seg > left) seg = (uint32_t)left;
        if (seg > room) seg = room;
        SIM_ASSERT(seg >= 1); /* every round makes progress */
        int rc = send_from(w, n, slot, SIM_NET_DATA, (const uint8_t *)op->buf + op->done, seg);
        if (rc != SIM_OK) return rc;
        n->socks[slot].window += seg;
        op->done += seg;
        SIM_ASSERT(n->socks[slot].window <= n->desc.send_buffer);
    }
    SIM_ASSERT(op->done == op->len);
    return SIM_OK;
}

void sim_write_drop(sim_world *w, sim_write *op)
{
    net_sock *s = conn_of(w, op->conn);
    if (s != NULL) sim__sock_unwait(w, s, true);
}

int sim_shutdown(sim_world *w, const sim_conn *conn)
{
    net_sock *s = conn_of(w, conn);
    if (s == NULL || s->closed) return SIM_ECLOSED;
    if (s->state == CONN_DEAD) return SIM_ECONNRESET;
    if (s->shut_wr) return SIM_OK;
    SIM_ASSERT(s->state == CONN_OPEN); /* a handle is an endpoint that connected or was accepted */
    s->shut_wr = 1;
    net_state *n = sim__net_peek(w);
    return send_from(w, n, slot_of_sock(n, s), SIM_NET_FIN, NULL, 0);
}

void sim_conn_close(sim_world *w, sim_conn *conn)
{
    net_sock *s = conn_of(w, conn);
    *conn = (sim_conn){0};
    if (s == NULL || s->closed) return;
    net_state *n = sim__net_peek(w);
    uint32_t slot = slot_of_sock(n, s);
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

sim_addr sim_conn_local(const sim_world *w, const sim_conn *conn)
{
    const net_sock *s = conn_of(w, conn);
    if (s == NULL) return (sim_addr){0};
    return (sim_addr){.node = {s->node}, .port = s->port};
}

sim_addr sim_conn_peer(const sim_world *w, const sim_conn *conn)
{
    const net_sock *s = conn_of(w, conn);
    if (s == NULL) return (sim_addr){0};
    return (sim_addr){.node = {s->remote >> 16}, .port = (uint16_t)s->remote};
}

/* ---- futures -------------------------------------------------------------------------------- */

static int read_fpoll(void *state, sim_world *w)
{
    return sim_read_poll(w, state);
}

static void read_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_read_drop(w, state);
}

sim_future sim_read_future(sim_read *op)
{
    return (sim_future){.poll = read_fpoll, .drop = read_fdrop, .state = op};
}

static int read_exact_fpoll(void *state, sim_world *w)
{
    return sim_read_exact_poll(w, state);
}

static void read_exact_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_read_exact_drop(w, state);
}

sim_future sim_read_exact_future(sim_read_exact *op)
{
    return (sim_future){.poll = read_exact_fpoll, .drop = read_exact_fdrop, .state = op};
}

static int write_fpoll(void *state, sim_world *w)
{
    return sim_write_poll(w, state);
}

static void write_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_write_drop(w, state);
}

sim_future sim_write_future(sim_write *op)
{
    return (sim_future){.poll = write_fpoll, .drop = write_fdrop, .state = op};
}

/* ---- frames --------------------------------------------------------------------------------- */

int sim_frame_read_poll(sim_world *w, sim_frame_read *op)
{
    SIM_ASSERT(op != NULL);
    SIM_ASSERT(op->phase_ <= 2);
    if (op->max == 0) return SIM_EINVAL;
    if (op->phase_ == 0) {
        op->rx_ = (sim_read_exact){.conn = op->conn, .buf = op->hdr_, .len = 4};
        op->phase_ = 1;
    }
    int rc = sim_read_exact_poll(w, &op->rx_);
    if (rc != SIM_OK) return rc;
    if (op->phase_ == 1) {
        uint32_t len = (uint32_t)op->hdr_[0] << 24 | (uint32_t)op->hdr_[1] << 16 |
                       (uint32_t)op->hdr_[2] << 8 | op->hdr_[3];
        if (len > op->max) return SIM_ETOOBIG;
        SIM_ASSERT(op->rx_.done == 4); /* the whole header, and only it */
        op->len = len;
        op->rx_ = (sim_read_exact){.conn = op->conn, .buf = op->buf, .len = len};
        op->phase_ = 2;
        rc = sim_read_exact_poll(w, &op->rx_);
        if (rc != SIM_OK) return rc;
    }
    op->phase_ = 0;
    return SIM_OK;
}

void sim_frame_read_drop(sim_world *w, sim_frame_read *op)
{
    if (op->phase_ != 0) sim_read_exact_drop(w, &op->rx_);
    op->phase_ = 0;
}

int sim_frame_write_poll(sim_world *w, sim_frame_write *op)
{
    SIM_ASSERT(op != NULL);
    SIM_ASSERT(op->phase_ <= 2);
    if (op->max == 0) return SIM_EINVAL;
    if (op->phase_ == 0) {
        if (op->len > op->max) return SIM_ETOOBIG;
        op->hdr_[0] = (uint8_t)(op->len >> 24);
        op->hdr_[1] = (uint8_t)(op->len >> 16);
        op->hdr_[2] = (uint8_t)(op->len >> 8);
        op->hdr_[3] = (uint8_t)op->len;
        op->tx_ = (sim_write){.conn = op->conn, .buf = op->hdr_, .len = 4};
        op->phase_ = 1;
    }
    int rc = sim_write_poll(w, &op->tx_);
    if (rc != SIM_OK) return rc;
    SIM_ASSERT(op->len <= op->max); /* checked before the header went */
    if (op->phase_ == 1) {
        op->tx_ = (sim_write){.conn = op->conn, .buf = op->data, .len = op->len};
        op->phase_ = 2;
        rc = sim_write_poll(w, &op->tx_);
        if (rc != SIM_OK) return rc;
    }
    op->phase_ = 0;
    return SIM_OK;
}

void sim_frame_write_drop(sim_world *w, sim_frame_write *op)
{
    if (op->phase_ != 0) sim_write_drop(w, &op->tx_);
    op->phase_ = 0;
}

static int frame_read_fpoll(void *state, sim_world *w)
{
    return sim_frame_read_poll(w, state);
}

static void frame_read_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_frame_read_drop(w, state);
}

sim_future sim_frame_read_future(sim_frame_read *op)
{
    return (sim_future){.poll = frame_read_fpoll, .drop = frame_read_fdrop, .state = op};
}

static int frame_write_fpoll(void *state, sim_world *w)
{
    return sim_frame_write_poll(w, state);
}

static void frame_write_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_frame_write_drop(w, state);
}

sim_future sim_frame_write_future(sim_frame_write *op)
{
    return (sim_future){.poll = frame_write_fpoll, .drop = frame_write_fdrop, .state = op};
}
