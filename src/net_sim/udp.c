/*
 * udp.c: datagram sockets. A datagram that arrives is queued on the socket bound to its
 * destination port (dropped when there is none or the queue is full) and handed to the task
 * waiting in sim_udp_recv_poll, oldest first.
 */
#include "net.h"

enum { OP_RECV = 1 };

int sim_udp_bind(sim_world *w, uint16_t port, sim_udp *out)
{
    *out = (sim_udp){0};
    uint32_t node = sim__net_task_node(w);
    if (node == 0) return SIM_ENODE;
    net_state *n = sim__net_of(w);
    uint32_t slot = sim__sock_alloc(w, n, SOCK_UDP, node);
    uint16_t bound;
    int rc = sim__port_bind(w, n, node, port, slot, &bound);
    if (rc != SIM_OK) {
        sim__sock_free(w, n, slot);
        return rc;
    }
    n->socks[slot].port = bound;
    SIM_ASSERT(bound != 0);
    if (port != 0) SIM_ASSERT(bound == port);
    *out = (sim_udp){.slot_ = slot, .id_ = n->socks[slot].id};
    return SIM_OK;
}

int sim_udp_send_to(sim_world *w, const sim_udp *sock, sim_addr to, const void *data, size_t len)
{
    SIM_ASSERT(sock != NULL);
    net_sock *s = sim__sock_get(w, sock->slot_, sock->id_, SOCK_UDP);
    if (s == NULL) return SIM_ECLOSED;
    if (len > SIM_DATAGRAM_MAX) return SIM_ETOOBIG;
    if (to.node.v == 0 || to.node.v >= w->nodes_len) return SIM_ENODE;
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
    SIM_ASSERT(w->nodes[m->dst_node].state != SIM_NODE_DOWN);
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

int sim_udp_recv_poll(sim_world *w, sim_udp_recv *op)
{
    SIM_ASSERT(op != NULL);
    SIM_ASSERT(op->sock != NULL);
    net_sock *s = sim__sock_get(w, op->sock->slot_, op->sock->id_, SOCK_UDP);
    if (s == NULL) return SIM_ECLOSED;
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
    op->len = take;
    op->truncated = m->len > op->cap;
    op->from = (sim_addr){.node = {m->src_node}, .port = (uint16_t)m->src};
    sim__msg_free(w, n, msg);
    return SIM_OK;
}

void sim_udp_recv_drop(sim_world *w, sim_udp_recv *op)
{
    if (op->sock == NULL) return;
    net_sock *s = sim__sock_get(w, op->sock->slot_, op->sock->id_, SOCK_UDP);
    if (s != NULL) sim__sock_unwait(w, s, false);
}

static int recv_fpoll(void *state, sim_world *w)
{
    return sim_udp_recv_poll(w, state);
}

static void recv_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_udp_recv_drop(w, state);
}

sim_future sim_udp_recv_future(sim_udp_recv *op)
{
    return (sim_future){.poll = recv_fpoll, .drop = recv_fdrop, .state = op};
}

sim_addr sim_udp_addr(const sim_world *w, const sim_udp *sock)
{
    const net_sock *s = sim__sock_get(w, sock->slot_, sock->id_, SOCK_UDP);
    if (s == NULL) return (sim_addr){0};
    return (sim_addr){.node = {s->node}, .port = s->port};
}

void sim_udp_close(sim_world *w, sim_udp *sock)
{
    net_sock *s = sim__sock_get(w, sock->slot_, sock->id_, SOCK_UDP);
    *sock = (sim_udp){0};
    if (s == NULL) return;
    net_state *n = sim__net_peek(w);
    uint32_t slot = (uint32_t)(s - n->socks);
    SIM_ASSERT(sim__port_find(n, s->node, s->port) == slot); /* bound for its whole life */
    sim__port_unbind(n, s->node, s->port);
    sim__sock_wake(w, s, false);
    sim__sock_free(w, n, slot);
}
