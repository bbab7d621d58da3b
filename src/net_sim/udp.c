/*
 * udp.c: datagram sockets. A datagram that arrives is queued on the socket bound to its
 * destination port (dropped when there is none or the queue is full) and handed to the task
 * waiting in a receive (sim_udp_recv), oldest first. A receive arms nothing but its place as
 * the socket's reader, which its drop gives up; a socket's handle record belongs to the task
 * (or booting node) that bound it, and its release closes the socket.
 */
#include <stdio.h>

#include "net.h"

enum { OP_RECV = 1 };

int sim_udp_bind(sim_world *w, uint16_t port, sim_udp *out)
{
    if (sim__exec_is_host(w)) return sim__hnet_udp_bind(w, port, out);
    SIM_ASSERT(out != NULL);
    *out = (sim_udp){0};
    uint32_t node = sim__net_task_node(w);
    if (node == 0) return SIM_ENODE;
    net_state *n = sim__net_of(w);
    uint32_t slot = sim__sock_alloc(w, n, SOCK_UDP, node);
    uint16_t bound;
    int rc = sim__port_bind(w, n, node, port, slot, &bound);
    if (rc == SIM_OK) {
        n->socks[slot].port = bound;
        SIM_ASSERT(bound != 0);
        if (port != 0) SIM_ASSERT(bound == port);
        rc = sim__sock_hand_new(w, slot, &out->h);
        if (rc != SIM_OK) sim__port_unbind(n, node, bound);
    }
    if (rc != SIM_OK) {
        sim__sock_free(w, n, slot);
        *out = (sim_udp){0};
        return rc;
    }
    SIM_ASSERT(n->socks[slot].port != 0);
    return SIM_OK;
}

int sim_udp_send_to(sim_world *w, const sim_udp *sock, sim_addr to, const void *data, size_t len)
{
    if (sim__exec_is_host(w)) return sim__hnet_udp_send_to(w, sock, to, data, len);
    int rc;
    net_sock *s = sim__sock_of(w, sock ? &sock->h : NULL, SOCK_UDP, "sim_udp_send_to", &rc, NULL);
    if (s == NULL) return rc;
    if (len > SIM_DATAGRAM_MAX) return SIM_ETOOBIG;
    if (to.node.v == 0 || to.node.v > sim_node_count(w)) return SIM_ENODE;
    if (to.port == 0 || (data == NULL && len > 0)) return SIM_EINVAL;
    net_state *n = sim__net_of(w);
    return sim__net_send(w, n, SIM_NET_DGRAM, sim__addr_pack(s->node, s->port),
                         sim__addr_pack(to.node.v, to.port), data, (uint32_t)len, NULL);
}

void sim__udp_deliver(sim_world *w, net_state *n, uint32_t msg)
{
    net_msg *m = &n->msgs[msg];
    SIM_ASSERT(m->id != 0); /* a freed datagram is never delivered */
    SIM_ASSERT(m->type == SIM_NET_DGRAM);
    SIM_ASSERT(!m->held);
    SIM_ASSERT(sim__exec_node_state(w, m->dst_node) != SIM_NODE_DOWN);
    uint32_t slot = sim__port_find(n, m->dst_node, (uint16_t)m->dst);
    net_sock *s = slot != SIM__NIL ? &n->socks[slot] : NULL;
    uint32_t why = s == NULL || s->type != SOCK_UDP      ? SIM_NET_WHY_NOSOCK
                   : s->q_len >= n->desc.recv_queue ? SIM_NET_WHY_FULL
                                                     : SIM_NET_WHY_NONE;
    if (why != SIM_NET_WHY_NONE) {
        n->dropped++;
        sim__net_event(w, SIM_EV_NET_DROP, m->dst_node, m, why);
        sim__msg_free(w, n, msg);
        return;
    }
    n->delivered++;
    sim__net_event(w, SIM_EV_NET_DELIVER, m->dst_node, m, 0);
    m->next = SIM__NIL;
    if (s->q_tail == SIM__NIL) {
        s->q_head = msg;
    } else {
        n->msgs[s->q_tail].next = msg;
    }
    s->q_tail = msg;
    s->q_len++;
    SIM_ASSERT(s->q_len <= n->desc.recv_queue);
    SIM_ASSERT(s->q_head != SIM__NIL);
    sim__sock_wake(w, s, false);
}

/* ---- receiving ------------------------------------------------------------------------------ */

static int udp_recv_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return sim__hnet_udp_recv_poll((sim_udp_recv_op *)f, w);
    SIM_ASSERT(f != NULL);
    sim_udp_recv_op *op = (sim_udp_recv_op *)f;
    if (sim__exec_require_task(w, "sim_udp_recv") == SIM__NIL) return SIM_EMISUSE;
    int rc;
    net_sock *s = sim__sock_of(w, &op->sock->h, SOCK_UDP, "sim_udp_recv", &rc, NULL);
    if (s == NULL) return rc;
    if (s->q_len == 0) {
        SIM_ASSERT(s->q_head == SIM__NIL);
        sim__sock_wait(w, s, false, OP_RECV);
        return SIM_PENDING;
    }
    net_state *n = sim__net_peek(w);
    uint32_t msg = s->q_head;
    net_msg *m = &n->msgs[msg];
    SIM_ASSERT(m->id != 0);
    SIM_ASSERT(m->type == SIM_NET_DGRAM);
    if (op->cap > 0) SIM_ASSERT(op->buf != NULL);
    s->q_head = m->next;
    if (s->q_head == SIM__NIL) s->q_tail = SIM__NIL;
    s->q_len--;
    size_t take = m->len < op->cap ? m->len : op->cap;
    if (take > 0) memcpy(op->buf, m->data, take);
    if (op->out != NULL) {
        *op->out = (sim_datagram){.len = take, .truncated = m->len > op->cap,
                                  .from = {.node = {m->src_node}, .port = (uint16_t)m->src}};
    }
    sim__msg_free(w, n, msg);
    return SIM_OK;
}

/* Dropped while waiting: the socket forgets its reader. */
static void udp_recv_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return;
    sim_udp_recv_op *op = (sim_udp_recv_op *)f;
    net_sock *s = (net_sock *)sim__sock_peek(w, &op->sock->h, SOCK_UDP);
    if (s != NULL) sim__sock_unwait(w, s, false);
}

static void udp_recv_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_udp_recv_op *op = (const sim_udp_recv_op *)f;
    const net_sock *s = sim__sock_peek(w, &op->sock->h, SOCK_UDP);
    if (s == NULL) {
        snprintf(buf, size, "recv on a closed udp socket");
        return;
    }
    char words[160];
    sim__sock_words(w, s, words, sizeof words);
    snprintf(buf, size, "recv on %s (%u queued)", words, s->q_len);
}

static const sim_fut_vt udp_recv_vt = {.name = "udp-recv", .poll = udp_recv_poll,
                                       .drop = udp_recv_drop, .describe = udp_recv_describe};

sim_udp_recv_op sim_udp_recv(const sim_udp *sock, void *buf, size_t cap, sim_datagram *out)
{
    SIM_ASSERT(sock != NULL);
    SIM_ASSERT(buf != NULL || cap == 0);
    return (sim_udp_recv_op){.fut = SIM_FUT_INIT(&udp_recv_vt), .sock = sock, .buf = buf,
                             .cap = cap, .out = out};
}

/* ---- queries and closing -------------------------------------------------------------------- */

sim_addr sim_udp_addr(const sim_world *w, const sim_udp *sock)
{
    if (sim__exec_is_host(w)) return sim__hnet_udp_addr(w, sock);
    const net_sock *s = sim__sock_peek(w, sock ? &sock->h : NULL, SOCK_UDP);
    if (s == NULL) return (sim_addr){0};
    return (sim_addr){.node = {s->node}, .port = s->port};
}

void sim__udp_close_sock(sim_world *w, net_state *n, uint32_t slot)
{
    SIM_ASSERT(slot < n->socks_used);
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(s->type == SOCK_UDP);
    /* The same in every mode: closing a datagram socket sends nothing. */
    SIM_ASSERT(sim__port_find(n, s->node, s->port) == slot); /* bound for its whole life */
    sim__port_unbind(n, s->node, s->port);
    sim__sock_wake(w, s, false);
    sim__sock_free(w, n, slot);
}

void sim_udp_close(sim_world *w, sim_udp *sock)
{
    if (sock != NULL && sim__exec_is_host(w)) {
        sim__hnet_close(w, &sock->h, SOCK_UDP, "sim_udp_close");
        return;
    }
    if (sock == NULL) return;
    uint32_t slot = sim__sock_close_handle(w, &sock->h, SOCK_UDP, "sim_udp_close");
    SIM_ASSERT(sock->h.id_ == 0);
    if (slot != SIM__NIL) sim__udp_close_sock(w, sim__net_peek(w), slot);
}
