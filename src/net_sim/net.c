/*
 * net.c: the network's state in a world, and the path of every message (see net.h).
 *
 * A message is sent, decided (net/send/drop and net/send/dup, hit on the sender's node with
 * the link's probability or the plan's), and given an arrival time: a latency drawn from the
 * sending node's own stream ("sim/net", index = node), plus a transmission time when the link
 * has a bandwidth, never before the previous segment of the same stream. Its arrival is an
 * executor extension timer, so messages and task timers interleave by (time, arming order).
 * At arrival the message is checked against the world as it is then: a node that went down
 * drops it, a blocked link drops a datagram and holds a stream segment (TCP retransmits; the
 * stream resets if the block outlasts the stream timeout), a clogged node holds both until the
 * clog ends. Held messages go on in the order they were sent.
 *
 * The port table is a hash table keyed by (node, port); nothing iterates it. Scans that must
 * find every socket of a node (a crash) walk the socket table in slot order.
 *
 * Users hold sockets through records of the executor's handle table (net.h): resolving a
 * handle reads the record, then the socket table; the record's owner ending closes the socket
 * through this extension's hand_release.
 */
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "net.h"

#define DEFAULT_LATENCY_MIN SIM_MS
#define DEFAULT_LATENCY_MAX (5 * SIM_MS)
#define TAIL_CAP 20 /* an exponential tail is cut at 20 times its mean */


/* ---- state ---------------------------------------------------------------------------------- */

static void net_free(sim_world *w)
{
    net_state *n = sim__net_peek(w);
    if (n == NULL) return;
    sim__net_check(w, n);
    SIM_ASSERT(n->socks_used <= n->socks_cap);
    SIM_ASSERT(n->msgs_used <= n->msgs_cap);
    uint32_t socks = 0, msgs = 0;
    for (uint32_t i = 0; i < n->socks_used; i++) {
        if (n->socks[i].type == SOCK_FREE) SIM_ASSERT(n->socks[i].rbuf == NULL);
        socks += n->socks[i].type != SOCK_FREE;
        free(n->socks[i].rbuf);
    }
    for (uint32_t i = 0; i < n->msgs_used; i++) {
        if (n->msgs[i].id == 0) continue;
        msgs++;
        sim__mem_free(sim__exec_mem(w), n->msgs[i].data, n->msgs[i].len);
    }
    /* Every socket and message the counts say are live is in its table, and no more. */
    SIM_ASSERT(socks == n->socks_live);
    SIM_ASSERT(msgs == n->msgs_live);
    free(n->socks);
    free(n->msgs);
    free(n->port_keys);
    free(n->port_vals);
    free(n->ephemeral);
    free(n->clogged);
    free(n->blocked);
    free(n->rules);
    free(n->busy);
    free(n->rngs);
    sim__ext_detach(w, &sim__net_ops);
    free(n);
}

#ifdef SIM_SLOW_CHECKS
/* The links set in the blocked matrix of cap x cap bits (for SIM_ASSERT_SLOW). */
static uint32_t blocked_count(const net_state *n, uint32_t cap)
{
    uint32_t count = 0;
    size_t words = ((size_t)cap * cap + 63) / 64;
    for (size_t i = 0; n->blocked != NULL && i < words; i++) {
        count += (uint32_t)__builtin_popcountll(n->blocked[i]);
    }
    return count;
}
#endif

/* Grows the per-node arrays to the world's node count. */
static void ensure_nodes(sim_world *w, net_state *n)
{
    uint32_t need = sim_node_count(w) + 1;
    if (need <= n->nodes_cap) return;
    uint32_t cap = n->nodes_cap ? n->nodes_cap : 8;
    while (cap < need) cap *= 2;
    SIM_ASSERT((cap & (cap - 1)) == 0);
    SIM_ASSERT(cap > n->nodes_cap);
    n->ephemeral = sim__xrealloc_array(n->ephemeral, cap, sizeof *n->ephemeral,
                                       "ephemeral port cursors");
    n->clogged = sim__xrealloc(n->clogged, cap, "clogged nodes");
    size_t words = ((size_t)cap * cap + 63) / 64;
    uint64_t *blocked = sim__xcalloc(words, sizeof *blocked, "the blocked links");
    n->rngs = sim__xrealloc_array(n->rngs, cap, sizeof *n->rngs, "network streams");
    for (uint32_t f = 0; f < n->nodes_cap; f++) {
        for (uint32_t t = 0; t < n->nodes_cap; t++) {
            size_t old = (size_t)f * n->nodes_cap + t, now = (size_t)f * cap + t;
            if (n->blocked[old / 64] >> (old % 64) & 1) blocked[now / 64] |= 1ull << (now % 64);
        }
    }
    free(n->blocked);
    n->blocked = blocked;
    SIM_ASSERT_SLOW(blocked_count(n, cap) == n->nblocked); /* every blocked link came along */
    for (uint32_t i = n->nodes_cap; i < cap; i++) {
        n->ephemeral[i] = EPHEMERAL_FIRST_PORT;
        n->clogged[i] = 0;
        sim_rng_init(&n->rngs[i], sim_world_seed(w), "sim/net", i);
    }
    n->nodes_cap = cap;
}

net_state *sim__net_of(sim_world *w)
{
    net_state *n = sim__net_peek(w);
    if (n == NULL) {
        sim__points_init();
        n = sim__xcalloc(1, sizeof *n, "the network");
        n->sock_free = SIM__NIL;
        n->msg_free = SIM__NIL;
        n->held_head = n->held_tail = SIM__NIL;
        n->drop = sim__point_find("net/send/drop");
        n->dup = sim__point_find("net/send/dup");
        SIM_ASSERT(n->drop != NULL);
        SIM_ASSERT(n->dup != NULL);
        n->ext = sim__ext_attach(w, &sim__net_ops, n);
        sim_net_desc none = {0};
        int rc = sim_net_configure(w, &none);
        SIM_ASSERT(rc == SIM_OK);
        n->configured = false;
    }
    ensure_nodes(w, n);
    SIM_ASSERT(n->nodes_cap > sim_node_count(w));
    return n;
}

int sim_net_configure(sim_world *w, const sim_net_desc *d)
{
    if (sim__exec_is_host(w)) return sim__host_refuse(w, "sim_net_configure");
    SIM_ASSERT(d != NULL);
    net_state *n = sim__net_of(w);
    if (n->socks_live > 0) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "sim_net_configure called with %u socket(s) open: configure the network "
                       "before any socket",
                       n->socks_live);
        return SIM_EMISUSE;
    }
    sim_net_desc c = *d;
    if (c.connect_timeout_ns == 0) c.connect_timeout_ns = SIM_S;
    if (c.stream_timeout_ns == 0) c.stream_timeout_ns = 5 * SIM_S;
    if (c.rto_ns == 0) c.rto_ns = 200 * SIM_MS;
    if (c.reset_delay.max_ns == 0) c.reset_delay = (sim_latency){10 * SIM_MS, 200 * SIM_MS};
    if (c.send_buffer == 0) c.send_buffer = 65536;
    if (c.segment_min == 0) c.segment_min = 1;
    if (c.segment_max == 0) c.segment_max = 1460;
    if (c.recv_queue == 0) c.recv_queue = 1024;
    if (c.segment_min > c.segment_max || c.segment_max > 65535 ||
        c.reset_delay.min_ns > c.reset_delay.max_ns) {
        return SIM_EINVAL;
    }
    /* What the rest of the network relies on: a write always makes progress (segments of at
     * least a byte, a window of at least one), a queue holds a datagram. */
    SIM_ASSERT(c.segment_min >= 1);
    SIM_ASSERT(c.send_buffer >= 1);
    SIM_ASSERT(c.recv_queue >= 1);
    n->desc = c;
    n->configured = true;
    return SIM_OK;
}

uint32_t sim__net_task_node(const sim_world *w)
{
    return sim__exec_node_here(w); /* a boot function opens its node's sockets */
}

/* ---- sockets -------------------------------------------------------------------------------- */

uint32_t sim__sock_alloc(sim_world *w, net_state *n, uint8_t type, uint32_t node)
{
    SIM_ASSERT(type != SOCK_FREE);
    SIM_ASSERT(type <= SOCK_CONN);
    SIM_ASSERT(node >= 1);
    SIM_ASSERT(node <= sim_node_count(w));
    uint32_t slot = n->sock_free;
    if (slot != SIM__NIL) {
        SIM_ASSERT(slot < n->socks_used);
        SIM_ASSERT(n->socks[slot].type == SOCK_FREE); /* the free list holds free sockets only */
        n->sock_free = n->socks[slot].next_free;
    } else {
        sim__grow((void **)&n->socks, &n->socks_cap, n->socks_used + 1, sizeof(net_sock));
        slot = n->socks_used++;
        n->socks[slot].id = 0;
    }
    sim__table_shake((void **)&n->socks, n->socks_cap, sizeof(net_sock));
    net_sock *s = &n->socks[slot];
    uint32_t id = s->id + 1 ? s->id + 1 : 1;
    memset(s, 0, sizeof *s);
    s->id = id;
    s->type = type;
    s->node = node;
    s->serial = ++n->sock_serial;
    s->rd_slot = s->wr_slot = SIM__NIL;
    s->q_head = s->q_tail = SIM__NIL;
    s->acc_head = s->acc_tail = SIM__NIL;
    s->next_acc = SIM__NIL;
    s->peer = SIM__NIL;
    s->listener = SIM__NIL;
    s->held_head = s->held_tail = SIM__NIL;
    n->socks_live++;
    SIM_ASSERT(n->socks_live <= n->socks_used);
    return slot;
}

void sim__sock_free(sim_world *w, net_state *n, uint32_t slot)
{
    SIM_ASSERT(slot < n->socks_used);
    net_sock *s = &n->socks[slot];
    SIM_ASSERT(s->type != SOCK_FREE);
    SIM_ASSERT(n->socks_live > 0);
    /* A listener goes with nothing queued for accept: its queue is popped (closing) or its
     * endpoints died first (a crash). */
    if (s->type == SOCK_LISTEN && s->acc_len > 0) {
        SIM_ASSERT(sim__exec_node_state(w, s->node) == SIM_NODE_DOWN);
    }
    uint32_t queued = 0;
    for (uint32_t m = s->q_head; m != SIM__NIL; queued++) {
        SIM_ASSERT(n->msgs[m].id != 0);
        uint32_t next = n->msgs[m].next;
        sim__msg_free(w, n, m);
        m = next;
    }
    SIM_ASSERT(queued == s->q_len);
    for (uint32_t m = s->held_head; m != SIM__NIL;) {
        SIM_ASSERT(n->msgs[m].held);
        uint32_t next = n->msgs[m].next;
        sim__msg_free(w, n, m);
        m = next;
    }
    free(s->rbuf);
    uint32_t id = s->id;
    memset(s, 0, sizeof *s);
    s->id = id; /* the generation survives, so stale handles stay stale */
    s->type = SOCK_FREE;
    s->next_free = n->sock_free;
    n->sock_free = slot;
    n->socks_live--;
}

net_sock *sim__sock_get(const sim_world *w, uint32_t slot, uint32_t id, uint8_t type)
{
    const net_state *n = sim__net_peek(w);
    if (n == NULL || id == 0 || slot >= n->socks_used) return NULL;
    net_sock *s = &n->socks[slot];
    if (s->id != id || s->type == SOCK_FREE) return NULL;
    return type == SOCK_FREE || s->type == type ? s : NULL;
}

/* ---- handles -------------------------------------------------------------------------------- */

static const char *const sock_type_names[] = {"free", "datagram socket", "listener",
                                              "connection"};

int sim__sock_hand_new(sim_world *w, uint32_t slot, sim_handle *out)
{
    const net_state *n = sim__net_peek(w);
    SIM_ASSERT(n != NULL && slot < n->socks_used);
    SIM_ASSERT(n->socks[slot].type != SOCK_FREE);
    SIM_ASSERT(sim__ext_find(w, &sim__net_ops) == n->ext);
    return sim__ext_hand_new(w, n->ext, slot, n->socks[slot].id, out);
}

/* The record of h if it is a live net record of this world: SIM__EXT_HAND_CLOSED when the
 * record is gone (the socket was closed); a violation (when what is not NULL) when h is foreign
 * or names something else. */
static sim__ext_hand_rc net_record(sim_world *w, const sim_handle *h, const char *what,
                                   sim__ext_hand *rec)
{
    SIM_ASSERT(h != NULL);
    SIM_ASSERT(h->id_ != 0); /* a zeroed handle is the callers' case */
    sim__ext_hand_rc rc = sim__ext_hand_find(w, h, &sim__net_ops, rec);
    if (what == NULL) return rc;
    if (rc == SIM__EXT_HAND_FOREIGN) {
        sim__ext_hand_foreign(w, h, what);
    } else if (rc == SIM__EXT_HAND_OTHER) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "%s on a handle that is not a socket", what);
    }
    return rc;
}

net_sock *sim__sock_of(sim_world *w, const sim_handle *h, uint8_t type, const char *what,
                       int *rc, uint32_t *hand)
{
    SIM_ASSERT(rc != NULL);
    SIM_ASSERT(type == SOCK_UDP || type == SOCK_LISTEN || type == SOCK_CONN);
    if (hand != NULL) *hand = SIM__NIL;
    *rc = SIM_ECLOSED;
    if (h == NULL || h->id_ == 0) return NULL; /* zeroed by a close */
    sim__ext_hand rec;
    sim__ext_hand_rc hrc = net_record(w, h, what, &rec);
    if (hrc != SIM__EXT_HAND_OK) {
        if (hrc != SIM__EXT_HAND_CLOSED) *rc = SIM_EMISUSE;
        return NULL;
    }
    net_sock *s = sim__sock_get(w, rec.target, rec.target_id, SOCK_FREE);
    if (hand != NULL) *hand = rec.slot;
    if (s == NULL) return NULL; /* its node crashed */
    if (s->type != type) {
        if (what != NULL) {
            sim__violation(w, SIM_VIOLATION_MISUSE, "%s on a %s handle (#%u)", what,
                           sock_type_names[s->type], s->serial);
        }
        *rc = SIM_EMISUSE;
        return NULL;
    }
    *rc = SIM_OK;
    return s;
}

const net_sock *sim__sock_peek(const sim_world *w, const sim_handle *h, uint8_t type)
{
    sim__ext_hand rec;
    if (h == NULL || sim__ext_hand_find(w, h, &sim__net_ops, &rec) != SIM__EXT_HAND_OK) {
        return NULL;
    }
    return sim__sock_get(w, rec.target, rec.target_id, type);
}

uint32_t sim__sock_close_handle(sim_world *w, sim_handle *h, uint8_t type, const char *what)
{
    SIM_ASSERT(what != NULL);
    SIM_ASSERT(type == SOCK_UDP || type == SOCK_LISTEN || type == SOCK_CONN);
    if (h == NULL || h->id_ == 0) return SIM__NIL; /* closing is idempotent */
    sim__ext_hand rec;
    sim__ext_hand_rc hrc = net_record(w, h, what, &rec);
    *h = (sim_handle){0};
    if (hrc != SIM__EXT_HAND_OK) return SIM__NIL;
    uint32_t slot = rec.target, id = rec.target_id;
    net_sock *s = sim__sock_get(w, slot, id, SOCK_FREE);
    if (s != NULL && s->type != type) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "%s on a %s handle (#%u)", what,
                       sock_type_names[s->type], s->serial);
        return SIM__NIL; /* the record stays with its owner */
    }
    sim__hand_free(w, rec.slot);
    return s != NULL ? slot : SIM__NIL;
}

/* A record's owner ended (hand.c): the socket closes, unless a close or a crash already did. */
static void net_hand_release(sim_world *w, uint32_t slot, uint32_t id)
{
    net_state *n = sim__net_peek(w);
    SIM_ASSERT(n != NULL); /* records are made only once the network exists */
    net_sock *s = sim__sock_get(w, slot, id, SOCK_FREE);
    if (s == NULL) return;
    switch (s->type) {
    case SOCK_UDP: sim__udp_close_sock(w, n, slot); break;
    case SOCK_LISTEN: sim__listener_close_sock(w, n, slot); break;
    default:
        SIM_ASSERT(s->type == SOCK_CONN);
        if (!s->closed) sim__conn_close_sock(w, n, slot);
        break;
    }
}

void sim__sock_wait(sim_world *w, net_sock *s, bool writer, uint32_t op)
{
    uint32_t self = sim__exec_current(w);
    SIM_ASSERT(self != SIM__NIL);
    SIM_ASSERT(s->type != SOCK_FREE);
    /* Only a stream endpoint has a writer; only a live endpoint is waited on. */
    if (writer) SIM_ASSERT(s->type == SOCK_CONN);
    if (s->type == SOCK_CONN) SIM_ASSERT(s->state != CONN_DEAD);
    uint32_t *slot = writer ? &s->wr_slot : &s->rd_slot;
    uint32_t *id = writer ? &s->wr_id : &s->rd_id;
    uint32_t self_id = sim__exec_task_id(w, self);
    if (*slot != SIM__NIL && *slot != self && sim__exec_task_live(w, *slot, *id)) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "tasks %u and %u both wait to %s on one socket (#%u): one reader and one "
                       "writer at a time",
                       *id, self_id, writer ? "write" : "read", s->serial);
    }
    *slot = self;
    *id = self_id;
    net_state *n = sim__net_peek(w);
    uint32_t sock = (uint32_t)(s - n->socks);
    SIM_ASSERT(sock < n->socks_used);
    sim__exec_note_wait(w, n->ext, sock, (uint64_t)op << 32 | s->id);
}

void sim__sock_wake(sim_world *w, net_sock *s, bool writer)
{
    SIM_ASSERT(s->type != SOCK_FREE); /* a freed socket's waiters were woken before it went */
    uint32_t *slot = writer ? &s->wr_slot : &s->rd_slot;
    uint32_t *id = writer ? &s->wr_id : &s->rd_id;
    if (*slot == SIM__NIL) return;
    uint32_t sl = *slot, i = *id;
    SIM_ASSERT(sl < sim__exec_task_slots(w));
    SIM_ASSERT(i != 0);
    *slot = SIM__NIL;
    sim__exec_wake(w, sl, i);
}

void sim__sock_unwait(sim_world *w, net_sock *s, bool writer)
{
    uint32_t *slot = writer ? &s->wr_slot : &s->rd_slot;
    if (*slot != SIM__NIL && *slot == sim__exec_current(w)) *slot = SIM__NIL;
}

/* ---- ports ---------------------------------------------------------------------------------- */

#define PORT_EMPTY 0u
#define PORT_GONE UINT32_MAX

static uint32_t port_hash(uint32_t key)
{
    return sim__mix32(key);
}

uint32_t sim__port_find(const net_state *n, uint32_t node, uint16_t port)
{
    if (n->port_keys == NULL) return SIM__NIL;
    /* The table is never full (grown at three quarters), so a probe meets an empty slot. */
    SIM_ASSERT(n->ports_used <= n->port_mask);
    uint32_t key = (node << 16 | port) + 1;
    for (uint32_t i = port_hash(key) & n->port_mask;; i = (i + 1) & n->port_mask) {
        if (n->port_keys[i] == PORT_EMPTY) return SIM__NIL;
        if (n->port_keys[i] != key) continue;
        /* A bound port names a live socket of its node. */
        SIM_ASSERT(n->port_vals[i] < n->socks_used);
        SIM_ASSERT(n->socks[n->port_vals[i]].type != SOCK_FREE);
        SIM_ASSERT(n->socks[n->port_vals[i]].node == node);
        return n->port_vals[i];
    }
}

static void ports_grow(net_state *n)
{
    uint32_t cap = n->port_keys ? (n->port_mask + 1) * 2 : 64;
    SIM_ASSERT((cap & (cap - 1)) == 0);
    SIM_ASSERT(cap > n->ports_used);
    uint32_t *keys = sim__xcalloc(cap, sizeof *keys, "the port table");
    uint32_t *vals = sim__xcalloc(cap, sizeof *vals, "the port table");
    uint32_t used = 0;
    for (uint32_t i = 0; n->port_keys != NULL && i <= n->port_mask; i++) {
        uint32_t key = n->port_keys[i];
        if (key == PORT_EMPTY || key == PORT_GONE) continue;
        uint32_t j = port_hash(key) & (cap - 1);
        while (keys[j] != PORT_EMPTY) j = (j + 1) & (cap - 1);
        keys[j] = key;
        vals[j] = n->port_vals[i];
        used++;
    }
    SIM_ASSERT(used <= n->ports_used); /* tombstones are dropped, keys kept */
    free(n->port_keys);
    free(n->port_vals);
    n->port_keys = keys;
    n->port_vals = vals;
    n->port_mask = cap - 1;
    n->ports_used = used;
}

static void port_put(net_state *n, uint32_t node, uint16_t port, uint32_t slot)
{
    SIM_ASSERT(port != 0);
    SIM_ASSERT(sim__port_find(n, node, port) == SIM__NIL); /* bind looked first */
    if (n->port_keys == NULL || (n->ports_used + 1) * 4 > (n->port_mask + 1) * 3) ports_grow(n);
    uint32_t key = (node << 16 | port) + 1;
    uint32_t i = port_hash(key) & n->port_mask;
    while (n->port_keys[i] != PORT_EMPTY && n->port_keys[i] != PORT_GONE) {
        i = (i + 1) & n->port_mask;
    }
    if (n->port_keys[i] == PORT_EMPTY) n->ports_used++;
    n->port_keys[i] = key;
    n->port_vals[i] = slot;
    SIM_ASSERT(n->ports_used * 4 <= (n->port_mask + 1) * 3);
}

void sim__port_unbind(net_state *n, uint32_t node, uint16_t port)
{
    SIM_ASSERT(port != 0);
    if (n->port_keys == NULL) return;
    uint32_t key = (node << 16 | port) + 1;
    for (uint32_t i = port_hash(key) & n->port_mask;; i = (i + 1) & n->port_mask) {
        if (n->port_keys[i] == PORT_EMPTY) return;
        if (n->port_keys[i] == key) {
            n->port_keys[i] = PORT_GONE;
            SIM_ASSERT(sim__port_find(n, node, port) == SIM__NIL); /* keys are unique */
            return;
        }
    }
}

int sim__port_bind(sim_world *w, net_state *n, uint32_t node, uint16_t port, uint32_t slot,
                   uint16_t *bound)
{
    SIM_ASSERT(node >= 1);
    SIM_ASSERT(node <= sim_node_count(w));
    SIM_ASSERT(slot < n->socks_used);
    SIM_ASSERT(n->socks[slot].node == node);
    if (port != 0) {
        if (sim__port_find(n, node, port) != SIM__NIL) return SIM_EADDRINUSE;
    } else {
        /* The next free ephemeral port after the last one handed out on this node: a
         * restarted node gets fresh ports, as a real one mostly does. */
        uint32_t tries = 65536 - EPHEMERAL_FIRST_PORT;
        uint16_t p = n->ephemeral[node];
        while (tries-- > 0 && sim__port_find(n, node, p) != SIM__NIL) {
            p = p == 65535 ? EPHEMERAL_FIRST_PORT : (uint16_t)(p + 1);
        }
        if (sim__port_find(n, node, p) != SIM__NIL) return SIM_ELIMIT;
        port = p;
        n->ephemeral[node] = p == 65535 ? EPHEMERAL_FIRST_PORT : (uint16_t)(p + 1);
    }
    port_put(n, node, port, slot);
    *bound = port;
    SIM_ASSERT(sim__port_find(n, node, port) == slot);
    return SIM_OK;
}

/* ---- links ---------------------------------------------------------------------------------- */

static size_t bit_of(const net_state *n, uint32_t from, uint32_t to)
{
    SIM_ASSERT(from < n->nodes_cap);
    SIM_ASSERT(to < n->nodes_cap);
    return (size_t)from * n->nodes_cap + to;
}

bool sim__link_blocked(const net_state *n, uint32_t from, uint32_t to)
{
    if (n->nblocked == 0 || from >= n->nodes_cap || to >= n->nodes_cap) return false;
    size_t b = bit_of(n, from, to);
    return n->blocked[b / 64] >> (b % 64) & 1;
}

bool sim__link_clogged(const net_state *n, uint32_t from, uint32_t to)
{
    SIM_ASSERT(n->nclogged <= n->nodes_cap);
    if (n->nclogged == 0) return false;
    return (from < n->nodes_cap && n->clogged[from]) || (to < n->nodes_cap && n->clogged[to]);
}

static const net_link_rule *rule_for(const net_state *n, uint32_t from, uint32_t to)
{
    /* The most specific rule: (from, to), then (from, any), (any, to), (any, any). */
    const net_link_rule *best = NULL;
    int best_score = -1;
    for (uint32_t i = 0; i < n->nrules; i++) {
        const net_link_rule *r = &n->rules[i];
        if ((r->from != 0 && r->from != from) || (r->to != 0 && r->to != to)) continue;
        int score = (r->from != 0) * 2 + (r->to != 0);
        /* One rule per (from, to): two that apply never tie. */
        SIM_ASSERT(score != best_score);
        if (score > best_score) {
            best = r;
            best_score = score;
        }
    }
    if (best != NULL) SIM_ASSERT(best->link.latency.min_ns <= best->link.latency.max_ns);
    return best;
}

static uint64_t ratio_ppt(sim_ratio r)
{
    if (r.q == 0) return UINT64_MAX;
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)((u128)r.p * SIM__PPT_ONE / r.q);
}

int sim_net_link(sim_world *w, sim_node_id from, sim_node_id to, const sim_link *link)
{
    if (sim__exec_is_host(w)) return sim__host_refuse(w, "sim_net_link");
    SIM_ASSERT(link != NULL);
    net_state *n = sim__net_of(w);
    if (from.v > sim_node_count(w) || to.v > sim_node_count(w)) return SIM_ENODE;
    if (link->latency.min_ns > link->latency.max_ns) return SIM_EINVAL;
    if ((link->loss.q != 0 && link->loss.p > link->loss.q) ||
        (link->dup.q != 0 && link->dup.p > link->dup.q)) {
        return SIM_EINVAL;
    }
    net_link_rule rule = {.from = from.v, .to = to.v, .link = *link,
                          .loss_ppt = ratio_ppt(link->loss), .dup_ppt = ratio_ppt(link->dup)};
    for (uint32_t i = 0; i < n->nrules; i++) {
        if (n->rules[i].from == from.v && n->rules[i].to == to.v) {
            n->rules[i] = rule;
            return SIM_OK;
        }
    }
    n->rules = sim__xrealloc_array(n->rules, n->nrules + 1, sizeof *n->rules, "link rules");
    n->rules[n->nrules++] = rule;
    SIM_ASSERT(rule_for(n, from.v, to.v) == &n->rules[n->nrules - 1]);
    return SIM_OK;
}

static uint64_t draw_latency(net_state *n, uint32_t from, const sim_link *l)
{
    SIM_ASSERT(from < n->nodes_cap); /* the sender's own stream */
    sim_rng *rng = &n->rngs[from];
    uint64_t lo = l->latency.min_ns, hi = l->latency.max_ns;
    if (lo == 0 && hi == 0) {
        lo = DEFAULT_LATENCY_MIN;
        hi = DEFAULT_LATENCY_MAX;
    }
    SIM_ASSERT(lo <= hi);
    uint64_t lat = lo == hi ? lo : sim_rng_range(rng, lo, hi);
    if (l->tail_ns == 0) SIM_ASSERT(lat <= hi);
    if (l->tail_ns != 0) lat = sim__add_sat(lat, sim__rng_exponential(rng, l->tail_ns, TAIL_CAP));
    SIM_ASSERT(lat >= lo);
    return lat;
}

/* Bandwidth: when the link (from, to) can start sending len more bytes, and marks it busy. */
static uint64_t transmit(net_state *n, uint32_t from, uint32_t to, uint64_t now, uint64_t bw,
                         uint32_t len)
{
    SIM_ASSERT(bw > 0);
    if (n->busy == NULL || (n->busy_used + 1) * 2 > n->busy_mask + 1) {
        uint32_t cap = n->busy ? (n->busy_mask + 1) * 2 : 64;
        net_pair_busy *fresh = sim__xcalloc(cap, sizeof *fresh, "link bandwidth state");
        for (uint32_t i = 0; n->busy != NULL && i <= n->busy_mask; i++) {
            if (n->busy[i].key == 0) continue;
            uint32_t j = sim__mix32((uint32_t)(n->busy[i].key ^ n->busy[i].key >> 32)) & (cap - 1);
            while (fresh[j].key != 0) j = (j + 1) & (cap - 1);
            fresh[j] = n->busy[i];
        }
        free(n->busy);
        n->busy = fresh;
        n->busy_mask = cap - 1;
        SIM_ASSERT(n->busy_used * 2 < cap); /* room at half full: a probe ends */
    }
    uint64_t key = ((uint64_t)from << 32 | to) + 1;
    uint32_t j = sim__mix32((uint32_t)(key ^ key >> 32)) & n->busy_mask;
    while (n->busy[j].key != 0 && n->busy[j].key != key) j = (j + 1) & n->busy_mask;
    if (n->busy[j].key == 0) {
        n->busy[j].key = key;
        n->busy_used++;
    }
    uint64_t start = n->busy[j].busy_until > now ? n->busy[j].busy_until : now;
    __extension__ typedef unsigned __int128 u128;
    uint64_t took = (uint64_t)((u128)len * SIM_S / bw);
    n->busy[j].busy_until = sim__add_sat(start, took);
    SIM_ASSERT(n->busy[j].busy_until >= now);
    return n->busy[j].busy_until;
}

uint64_t sim__link_arrival(sim_world *w, net_state *n, uint32_t from, uint32_t to, uint32_t len)
{
    static const sim_link defaults;
    const net_link_rule *r = rule_for(n, from, to);
    const sim_link *l = r ? &r->link : &defaults;
    uint64_t start = sim__exec_now(w);
    if (l->bandwidth != 0) start = transmit(n, from, to, start, l->bandwidth, len);
    SIM_ASSERT(start >= sim__exec_now(w));
    /* Saturates: a latency beyond the end of time arrives "never", not in the past. */
    uint64_t at = sim__add_sat(start, draw_latency(n, from, l));
    SIM_ASSERT(at >= start);
    return at;
}

/* ---- partitions and clogs ------------------------------------------------------------------- */

static void link_event(sim_world *w, uint32_t from, uint32_t to, uint32_t change)
{
    SIM_ASSERT(change >= LINK_BLOCK);
    SIM_ASSERT(change <= LINK_UNCLOG);
    uint32_t task = sim_task_current(w).v;
    sim__exec_emit(w, SIM_EV_NET_LINK, 0, task, (uint64_t)from << 32 | to, change, NULL);
}

static void set_blocked(net_state *n, uint32_t from, uint32_t to)
{
    SIM_ASSERT(from != to); /* a node always reaches itself */
    size_t b = bit_of(n, from, to);
    if (n->blocked[b / 64] >> (b % 64) & 1) return;
    n->blocked[b / 64] |= 1ull << (b % 64);
    n->nblocked++;
    SIM_ASSERT(sim__link_blocked(n, from, to));
    SIM_ASSERT_SLOW(blocked_count(n, n->nodes_cap) == n->nblocked);
}

static bool node_ok(const sim_world *w, sim_node_id node)
{
    return node.v >= 1 && node.v <= sim_node_count(w);
}

int sim_net_block(sim_world *w, sim_node_id from, sim_node_id to)
{
    if (sim__exec_is_host(w)) return sim__host_refuse(w, "sim_net_block");
    net_state *n = sim__net_of(w);
    if (!node_ok(w, from) || !node_ok(w, to)) return SIM_ENODE;
    if (from.v == to.v) return SIM_EINVAL;
    if (!sim__link_blocked(n, from.v, to.v)) {
        set_blocked(n, from.v, to.v);
        link_event(w, from.v, to.v, LINK_BLOCK);
    }
    SIM_ASSERT(sim__link_blocked(n, from.v, to.v));
    SIM_ASSERT(!sim_net_reachable(w, from, to));
    return SIM_OK;
}

int sim_net_partition(sim_world *w, const sim_node_id *nodes, const uint32_t *group,
                      uint32_t count)
{
    if (sim__exec_is_host(w)) return sim__host_refuse(w, "sim_net_partition");
    net_state *n = sim__net_of(w);
    for (uint32_t i = 0; i < count; i++) {
        if (!node_ok(w, nodes[i])) return SIM_ENODE;
        for (uint32_t j = 0; j < i; j++) {
            if (nodes[j].v == nodes[i].v) return SIM_EINVAL;
        }
    }
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t j = 0; j < count; j++) {
            if (group[i] == group[j] || sim__link_blocked(n, nodes[i].v, nodes[j].v)) continue;
            set_blocked(n, nodes[i].v, nodes[j].v);
            link_event(w, nodes[i].v, nodes[j].v, LINK_BLOCK);
        }
    }
    /* Every pair across groups is cut, both ways; a group's own links are left as they were. */
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t j = 0; j < count; j++) {
            if (group[i] == group[j]) continue;
            SIM_ASSERT_SLOW(sim__link_blocked(n, nodes[i].v, nodes[j].v));
        }
    }
    SIM_ASSERT(n->nblocked <= (uint64_t)n->nodes_cap * n->nodes_cap);
    return SIM_OK;
}

static void deliver(sim_world *w, net_state *n, uint32_t slot, uint32_t id);

/* Datagrams held by clogs that can go now go, in the order they were sent. The list is taken
 * first: a datagram that must wait again (another clog) joins the new one. */
static void release_held_datagrams(sim_world *w, net_state *n)
{
    uint32_t keep_head = SIM__NIL, keep_tail = SIM__NIL;
    uint32_t first = n->held_head;
    n->held_head = n->held_tail = SIM__NIL;
    for (uint32_t m = first; m != SIM__NIL;) {
        net_msg *msg = &n->msgs[m];
        /* The network's held list: live datagrams and SYNs only (segments wait on their
         * endpoint). Delivering one never frees another held one. */
        SIM_ASSERT(msg->id != 0);
        SIM_ASSERT(msg->held);
        SIM_ASSERT(msg->type == SIM_NET_DGRAM || msg->type == SIM_NET_SYN);
        uint32_t next = msg->next;
        msg->next = SIM__NIL;
        if (sim__link_clogged(n, msg->src_node, msg->dst_node)) {
            if (keep_tail == SIM__NIL) {
                keep_head = m;
            } else {
                n->msgs[keep_tail].next = m;
            }
            keep_tail = m;
        } else {
            msg->held = 0;
            deliver(w, n, m, msg->id); /* now, in the order they were sent */
        }
        m = next;
    }
    /* Kept ones go first, ahead of any held again while releasing. */
    if (keep_head != SIM__NIL) {
        n->msgs[keep_tail].next = n->held_head;
        if (n->held_head == SIM__NIL) n->held_tail = keep_tail;
        n->held_head = keep_head;
    }
    if (n->held_head == SIM__NIL) SIM_ASSERT(n->held_tail == SIM__NIL);
    if (n->nclogged == 0) SIM_ASSERT(n->held_head == SIM__NIL); /* no clog: nothing waits */
}

void sim_net_heal(sim_world *w)
{
    if (sim__exec_is_host(w)) {
        sim__host_refuse(w, "sim_net_heal");
        return;
    }
    net_state *n = sim__net_of(w);
    if (n->nblocked == 0) return;
    memset(n->blocked, 0, ((size_t)n->nodes_cap * n->nodes_cap + 63) / 64 * sizeof(uint64_t));
    n->nblocked = 0;
    SIM_ASSERT_SLOW(blocked_count(n, n->nodes_cap) == 0);
    link_event(w, 0, 0, LINK_HEAL);
    sim__stream_release_held(w, n);
    SIM_ASSERT(n->nblocked == 0); /* releasing held segments blocks nothing */
    sim__net_check(w, n);
}

int sim_net_clog(sim_world *w, sim_node_id node, bool clogged)
{
    if (sim__exec_is_host(w)) return sim__host_refuse(w, "sim_net_clog");
    net_state *n = sim__net_of(w);
    if (!node_ok(w, node)) return SIM_ENODE;
    if (n->clogged[node.v] == clogged) return SIM_OK;
    n->clogged[node.v] = clogged;
    if (clogged) {
        n->nclogged++;
    } else {
        SIM_ASSERT(n->nclogged > 0);
        n->nclogged--;
    }
    SIM_ASSERT(n->nclogged <= sim_node_count(w));
    link_event(w, node.v, node.v, clogged ? LINK_CLOG : LINK_UNCLOG);
    if (!clogged) {
        release_held_datagrams(w, n);
        sim__stream_release_held(w, n);
    }
    sim__net_check(w, n);
    return SIM_OK;
}

bool sim_net_reachable(const sim_world *w, sim_node_id from, sim_node_id to)
{
    const net_state *n = sim__net_peek(w);
    if (n == NULL) return true;
    return !sim__link_blocked(n, from.v, to.v) && !sim__link_clogged(n, from.v, to.v);
}

/* ---- messages ------------------------------------------------------------------------------- */

void sim__net_event(sim_world *w, sim_event_kind kind, uint32_t node, const net_msg *m,
                    uint32_t why)
{
    SIM_ASSERT(m->id != 0); /* an event reads a live message, never a freed one */
    SIM_ASSERT(m->type >= SIM_NET_DGRAM);
    SIM_ASSERT(m->type <= SIM_NET_RST);
    if (kind == SIM_EV_NET_DROP) SIM_ASSERT(why != SIM_NET_WHY_NONE);
    uint32_t task = sim_task_current(w).v;
    uint64_t b = (uint64_t)m->type << 56 | (uint64_t)(why & 0xff) << 48 |
                 (uint64_t)(m->len & 0xffff) << 32 | m->digest;
    sim__exec_emit(w, kind, node, task, (uint64_t)m->src << 32 | m->dst, b, NULL);
}

void sim__msg_free(sim_world *w, net_state *n, uint32_t slot)
{
    SIM_ASSERT(slot < n->msgs_used);
    net_msg *m = &n->msgs[slot];
    SIM_ASSERT(m->id != 0); /* freed once */
    SIM_ASSERT(n->msgs_live > 0);
    if (m->len > 0) SIM_ASSERT(m->data != NULL);
    sim__mem_free(sim__exec_mem(w), m->data, m->len);
    m->data = NULL;
    m->id = 0;
    m->next = n->msg_free;
    n->msg_free = slot;
    n->msgs_live--;
}

static uint32_t msg_alloc(net_state *n)
{
    uint32_t slot = n->msg_free;
    if (slot != SIM__NIL) {
        SIM_ASSERT(slot < n->msgs_used);
        SIM_ASSERT(n->msgs[slot].id == 0); /* the free list holds free records only */
        SIM_ASSERT(n->msgs[slot].data == NULL);
        n->msg_free = n->msgs[slot].next;
    } else {
        sim__grow((void **)&n->msgs, &n->msgs_cap, n->msgs_used + 1, sizeof(net_msg));
        slot = n->msgs_used++;
    }
    sim__table_shake((void **)&n->msgs, n->msgs_cap, sizeof(net_msg));
    uint32_t id = ++n->msg_serial ? n->msg_serial : ++n->msg_serial;
    net_msg *m = &n->msgs[slot];
    m->id = id;
    m->serial = ++n->msgs_made;
    m->held = 0;
    m->next = SIM__NIL;
    m->data = NULL;
    m->len = 0;
    n->msgs_live++;
    SIM_ASSERT(n->msgs_live <= n->msgs_used);
    return slot;
}

static uint32_t msg_make(sim_world *w, net_state *n, uint8_t type, uint32_t src, uint32_t dst,
                         const void *data, uint32_t len)
{
    SIM_ASSERT(type >= SIM_NET_DGRAM);
    SIM_ASSERT(type <= SIM_NET_RST);
    if (len > 0) SIM_ASSERT(data != NULL);
    if (type != SIM_NET_DGRAM && type != SIM_NET_DATA) SIM_ASSERT(len == 0); /* control only */
    uint32_t slot = msg_alloc(n);
    net_msg *m = &n->msgs[slot];
    if (len > 0) {
        m->data = sim__mem_alloc(sim__exec_mem(w), len);
        memcpy(m->data, data, len);
    }
    m->type = type;
    m->len = len;
    m->src = src;
    m->dst = dst;
    m->src_node = src >> 16;
    m->dst_node = dst >> 16;
    m->digest = len > 0 ? (uint32_t)XXH3_64bits(data, len) : 0;
    m->sent_ns = sim__exec_now(w);
    m->to_sock = SIM__NIL;
    m->from_sock = SIM__NIL;
    m->from_id = 0;
    return slot;
}

static int arm_delivery(sim_world *w, uint32_t slot, uint32_t id, uint64_t at)
{
    SIM_ASSERT(id != 0);
    SIM_ASSERT(at >= sim__exec_now(w)); /* a message never arrives before it was sent */
    return sim__timer_arm_ext(w, at, sim__net_peek(w)->ext,
                              sim__net_timer_arg(TM_DELIVER, id, slot));
}

int sim__net_send(sim_world *w, net_state *n, uint8_t type, uint32_t src, uint32_t dst,
                  const void *data, uint32_t len, const net_route *route)
{
    /* Datagrams travel without a route, stream messages with one. */
    if (type == SIM_NET_DGRAM) SIM_ASSERT(route == NULL);
    if (type != SIM_NET_DGRAM) SIM_ASSERT(route != NULL);
    SIM_ASSERT((src >> 16) >= 1);
    SIM_ASSERT((dst >> 16) <= sim_node_count(w));
    uint32_t slot = msg_make(w, n, type, src, dst, data, len);
    net_msg *m = &n->msgs[slot];
    if (route != NULL) {
        m->to_sock = route->to_sock;
        m->to_id = route->to_id;
        m->from_sock = route->from_sock;
        m->from_id = route->from_id;
    }
    uint64_t *arrival = route != NULL ? route->arrival : NULL;
    uint32_t from = src >> 16, to = dst >> 16;
    n->sent++;
    sim__net_event(w, SIM_EV_NET_SEND, from, m, 0);
    const net_link_rule *r = rule_for(n, from, to);
    uint64_t extra = 0;
    if (type == SIM_NET_DGRAM || type == SIM_NET_DATA) {
        bool lost = sim__point_hit_ppt(w, n->drop, from, r ? r->loss_ppt : UINT64_MAX);
        if (lost && type == SIM_NET_DGRAM) {
            n->dropped++;
            sim__net_event(w, SIM_EV_NET_DROP, from, &n->msgs[slot], SIM_NET_WHY_FAULT);
            sim__msg_free(w, n, slot);
            return SIM_OK;
        }
        if (lost) extra = n->desc.rto_ns; /* a stream retransmits: late, never lost */
    }
    if (type == SIM_NET_DGRAM && sim__point_hit_ppt(w, n->dup, from, r ? r->dup_ppt : UINT64_MAX)) {
        /* The copy is made from the caller's bytes, as the original was. */
        uint32_t copy = msg_make(w, n, type, src, dst, data, len);
        sim__net_event(w, SIM_EV_NET_DUP, from, &n->msgs[copy], 0);
        int rc = arm_delivery(w, copy, n->msgs[copy].id, sim__link_arrival(w, n, from, to, len));
        if (rc != SIM_OK) return rc;
    }
    uint64_t at = sim__add_sat(sim__link_arrival(w, n, from, to, len), extra);
    if (arrival != NULL) {
        if (at < *arrival) at = *arrival;
        *arrival = at;
    }
    SIM_ASSERT(n->msgs[slot].id != 0); /* sending never frees what is being sent */
    return arm_delivery(w, slot, n->msgs[slot].id, at);
}

/* Whether message a was sent before message b (time, then creation order). */
static bool sent_before(const net_msg *a, const net_msg *b)
{
    if (a->sent_ns != b->sent_ns) return a->sent_ns < b->sent_ns;
    return a->serial < b->serial;
}

/* A datagram (or a SYN) waits for a clog to end on the network's held list, which is kept in
 * the order messages were sent (they arrive at the clog in the order of their latencies). */
void sim__net_hold(net_state *n, uint32_t slot)
{
    net_msg *m = &n->msgs[slot];
    SIM_ASSERT(m->id != 0);
    SIM_ASSERT(!m->held); /* on one list at a time */
    SIM_ASSERT(m->type == SIM_NET_DGRAM || m->type == SIM_NET_SYN);
    SIM_ASSERT(n->nclogged > 0); /* only a clog holds a datagram */
    m->held = 1;
    m->next = SIM__NIL;
    if (n->held_tail == SIM__NIL || !sent_before(m, &n->msgs[n->held_tail])) {
        if (n->held_tail == SIM__NIL) {
            n->held_head = slot;
        } else {
            n->msgs[n->held_tail].next = slot;
        }
        n->held_tail = slot;
        return;
    }
    uint32_t *link = &n->held_head;
    while (*link != SIM__NIL && !sent_before(m, &n->msgs[*link])) link = &n->msgs[*link].next;
    SIM_ASSERT(*link != SIM__NIL); /* it goes before the tail, which was sent later */
    m->next = *link;
    *link = slot;
}

static void deliver(sim_world *w, net_state *n, uint32_t slot, uint32_t id)
{
    if (slot >= n->msgs_used || n->msgs[slot].id != id) return;
    net_msg *m = &n->msgs[slot];
    SIM_ASSERT(id != 0);
    SIM_ASSERT(!m->held); /* a held message is released before it is delivered */
    SIM_ASSERT(m->sent_ns <= sim__exec_now(w));
    uint32_t to = m->dst_node;
    if (to > sim_node_count(w) || sim__exec_node_state(w, to) == SIM_NODE_DOWN) {
        n->dropped++;
        sim__net_event(w, SIM_EV_NET_DROP, to, m, SIM_NET_WHY_DOWN);
        /* Its connecting endpoint died with the node: the accepting side must hear of it. */
        if (m->type == SIM_NET_SYNACK) sim__stream_synack_lost(w, n, slot);
        sim__msg_free(w, n, slot);
        return;
    }
    if (m->type == SIM_NET_DGRAM) {
        if (sim__link_blocked(n, m->src_node, to)) {
            n->dropped++;
            sim__net_event(w, SIM_EV_NET_DROP, to, m, SIM_NET_WHY_PARTITION);
            sim__msg_free(w, n, slot);
        } else if (sim__link_clogged(n, m->src_node, to)) {
            sim__net_hold(n, slot);
        } else {
            sim__udp_deliver(w, n, slot);
        }
        return;
    }
    sim__stream_deliver(w, n, slot);
}

/* ---- invariants ------------------------------------------------------------------------------ */

#ifdef SIM_SLOW_CHECKS
/* Checks what sockets and messages say of each other: see sim__net_check. Counts the
 * messages the socket holds (queued datagrams and held segments) into *msgs. */
static void check_sock(const sim_world *w, const net_state *n, uint32_t slot, uint32_t *msgs)
{
    const net_sock *s = &n->socks[slot];
    SIM_ASSERT_SLOW(s->id != 0);
    SIM_ASSERT_SLOW(s->node >= 1);
    SIM_ASSERT_SLOW(s->node <= sim_node_count(w));
    /* A dead node has no socket. */
    SIM_ASSERT_SLOW(sim__exec_node_state(w, s->node) != SIM_NODE_DOWN);
    /* The state machine is the stream endpoints' alone. */
    if (s->type != SOCK_CONN) SIM_ASSERT_SLOW(s->state == 0);
    if (s->type == SOCK_CONN) SIM_ASSERT_SLOW(s->state >= CONN_CONNECTING);
    if (s->type == SOCK_CONN) SIM_ASSERT_SLOW(s->state <= CONN_DEAD);
    /* The receive ring: a power of two, what it holds within it. */
    SIM_ASSERT_SLOW((s->rcap & (s->rcap - 1)) == 0);
    SIM_ASSERT_SLOW(s->rlen <= s->rcap);
    if (s->rcap == 0) SIM_ASSERT_SLOW(s->rbuf == NULL);
    if (s->rcap != 0) SIM_ASSERT_SLOW(s->rhead < s->rcap);
    /* What the window counts is what this side sent and the peer has not read. */
    SIM_ASSERT_SLOW(s->window <= n->desc.send_buffer);
    uint32_t len = 0, last = SIM__NIL;
    for (uint32_t m = s->q_head; m != SIM__NIL; m = n->msgs[m].next, len++) {
        SIM_ASSERT_SLOW(s->type == SOCK_UDP);
        SIM_ASSERT_SLOW(n->msgs[m].id != 0);
        SIM_ASSERT_SLOW(!n->msgs[m].held);
        SIM_ASSERT_SLOW(n->msgs[m].type == SIM_NET_DGRAM);
        SIM_ASSERT_SLOW((uint16_t)n->msgs[m].dst == s->port);
        last = m;
    }
    SIM_ASSERT_SLOW(len == s->q_len);
    SIM_ASSERT_SLOW(last == s->q_tail);
    SIM_ASSERT_SLOW(s->q_len <= n->desc.recv_queue);
    *msgs += len;
    len = 0;
    last = SIM__NIL;
    for (uint32_t m = s->held_head; m != SIM__NIL; m = n->msgs[m].next, len++) {
        SIM_ASSERT_SLOW(s->type == SOCK_CONN);
        SIM_ASSERT_SLOW(n->msgs[m].id != 0);
        SIM_ASSERT_SLOW(n->msgs[m].held);
        SIM_ASSERT_SLOW(n->msgs[m].to_sock == slot);
        SIM_ASSERT_SLOW(n->msgs[m].to_id == s->id);
        last = m;
    }
    SIM_ASSERT_SLOW(last == s->held_tail);
    if (s->blocked_since != 0) SIM_ASSERT_SLOW(s->held_head != SIM__NIL);
    *msgs += len;
    len = 0;
    for (uint32_t c = s->acc_head; c != SIM__NIL; c = n->socks[c].next_acc, len++) {
        SIM_ASSERT_SLOW(s->type == SOCK_LISTEN);
        SIM_ASSERT_SLOW(n->socks[c].type == SOCK_CONN);
        SIM_ASSERT_SLOW(n->socks[c].listener == slot);
        SIM_ASSERT_SLOW(n->socks[c].node == s->node);
    }
    SIM_ASSERT_SLOW(len == s->acc_len);
    SIM_ASSERT_SLOW(s->acc_len <= s->backlog);
    if (s->type == SOCK_UDP || s->type == SOCK_LISTEN) {
        SIM_ASSERT_SLOW(sim__port_find(n, s->node, s->port) == slot);
    }
}

/* The network's invariants, walked in full (make check only): every count is what the
 * tables hold; free lists hold free records; every live socket is consistent (check_sock);
 * every message is on at most one list, held ones on a held list; the held datagrams are in
 * the order they were sent; clogs and blocks are counted right. O(sockets + messages +
 * nodes^2), so only while the tables are small: the tests that hold a hundred thousand
 * messages are checked by their own results. */
void sim__net_check(const sim_world *w, const net_state *n)
{
    if (n->socks_used + n->msgs_used > 4096) return;
    uint32_t live = 0, free_socks = 0, on_lists = 0;
    for (uint32_t i = 0; i < n->socks_used; i++) {
        if (n->socks[i].type == SOCK_FREE) continue;
        live++;
        check_sock(w, n, i, &on_lists);
    }
    SIM_ASSERT_SLOW(live == n->socks_live);
    for (uint32_t i = n->sock_free; i != SIM__NIL; i = n->socks[i].next_free, free_socks++) {
        SIM_ASSERT_SLOW(n->socks[i].type == SOCK_FREE);
    }
    SIM_ASSERT_SLOW(live + free_socks == n->socks_used);
    uint32_t msgs = 0, held = 0, free_msgs = 0;
    for (uint32_t i = 0; i < n->msgs_used; i++) {
        const net_msg *m = &n->msgs[i];
        if (m->id == 0) continue;
        msgs++;
        held += m->held;
        SIM_ASSERT_SLOW((m->len == 0) == (m->data == NULL));
        SIM_ASSERT_SLOW(m->src_node == m->src >> 16);
        SIM_ASSERT_SLOW(m->dst_node == m->dst >> 16);
        SIM_ASSERT_SLOW(m->sent_ns <= sim__exec_now(w));
    }
    SIM_ASSERT_SLOW(msgs == n->msgs_live);
    for (uint32_t i = n->msg_free; i != SIM__NIL; i = n->msgs[i].next, free_msgs++) {
        SIM_ASSERT_SLOW(n->msgs[i].id == 0);
    }
    SIM_ASSERT_SLOW(msgs + free_msgs == n->msgs_used);
    uint32_t net_held = 0;
    const net_msg *prev = NULL;
    for (uint32_t i = n->held_head; i != SIM__NIL; i = n->msgs[i].next, net_held++) {
        SIM_ASSERT_SLOW(n->msgs[i].held);
        if (prev != NULL) SIM_ASSERT_SLOW(!sent_before(&n->msgs[i], prev));
        prev = &n->msgs[i];
    }
    if (n->nclogged == 0) SIM_ASSERT_SLOW(net_held == 0);
    /* Held messages are on a held list, the network's or their endpoint's. */
    SIM_ASSERT_SLOW(held <= net_held + on_lists);
    SIM_ASSERT_SLOW(on_lists + net_held <= msgs);
    uint32_t clogged = 0;
    for (uint32_t i = 0; i < n->nodes_cap; i++) clogged += n->clogged[i] != 0;
    SIM_ASSERT_SLOW(clogged == n->nclogged);
    SIM_ASSERT_SLOW(blocked_count(n, n->nodes_cap) == n->nblocked);
}
#endif

/* ---- extension operations ------------------------------------------------------------------- */

static void net_fire(sim_world *w, uint64_t arg)
{
    net_state *n = sim__net_peek(w);
    SIM_ASSERT(n != NULL); /* a network timer was armed by this network */
    uint32_t kind = (uint32_t)(arg >> 60);
    uint32_t id = (uint32_t)(arg >> 32) & SIM__NET_ID_MASK;
    uint32_t slot = (uint32_t)arg;
    SIM_ASSERT(kind >= TM_DELIVER);
    SIM_ASSERT(kind <= TM_PEER_RESET);
    if (kind == TM_DELIVER) {
        /* A delivery finds its message live and not yet delivered, or (a crash of its
         * endpoint freed it, a socket close dropped it) a free or reused slot: nothing. */
        if (slot < n->msgs_used && (n->msgs[slot].id & SIM__NET_ID_MASK) == id &&
            n->msgs[slot].id != 0) {
            deliver(w, n, slot, n->msgs[slot].id);
        }
    } else {
        sim__stream_timer(w, n, kind, slot, id);
    }
    sim__net_check(w, n);
}

static void net_crash(sim_world *w, uint32_t node)
{
    net_state *n = sim__net_peek(w);
    if (n == NULL) return;
    SIM_ASSERT(node >= 1);
    SIM_ASSERT(sim__exec_node_state(w, node) == SIM_NODE_DOWN);
    sim__stream_crash(w, n, node);
    for (uint32_t i = 0; i < n->socks_used; i++) {
        net_sock *s = &n->socks[i];
        if (s->node != node || (s->type != SOCK_UDP && s->type != SOCK_LISTEN)) continue;
        sim__port_unbind(n, node, s->port);
        sim__sock_wake(w, s, false);
        sim__sock_free(w, n, i);
    }
    /* Nothing of the node is left: no socket, no bound port. */
    for (uint32_t i = 0; i < n->socks_used; i++) {
        SIM_ASSERT_SLOW(n->socks[i].type == SOCK_FREE || n->socks[i].node != node);
    }
    sim__net_check(w, n);
}

static const char *const type_names[] = {"?", "datagram", "syn", "syn-ack", "data", "fin",
                                         "rst"};

static void addr_text(const sim_world *w, uint32_t a, char *buf, size_t size)
{
    snprintf(buf, size, "%s:%u", sim_node_name(w, (sim_node_id){a >> 16}), a & 0xffff);
}

void sim__sock_words(const sim_world *w, const net_sock *s, char *buf, size_t size)
{
    SIM_ASSERT(s != NULL && s->type != SOCK_FREE);
    SIM_ASSERT(buf != NULL && size > 0);
    char local[64], remote[64];
    addr_text(w, s->node << 16 | s->port, local, sizeof local);
    if (s->type == SOCK_CONN) {
        addr_text(w, s->remote, remote, sizeof remote);
        snprintf(buf, size, "conn %s -> %s", local, remote);
    } else {
        snprintf(buf, size, "%s %s", s->type == SOCK_UDP ? "udp" : "listener", local);
    }
}

/* "connection #3 n1:49152 -> n2:7000 (12 bytes buffered, 0 in flight)" */
static void sock_text(const sim_world *w, const net_sock *s, char *buf, size_t size)
{
    SIM_ASSERT(s->type != SOCK_FREE);
    if (s->type == SOCK_CONN) SIM_ASSERT(s->state <= CONN_DEAD);
    char local[64], remote[64];
    addr_text(w, s->node << 16 | s->port, local, sizeof local);
    if (s->type == SOCK_CONN) {
        static const char *const states[] = {"", "connecting, ", "waiting to be accepted, ", "",
                                             "dead, "};
        addr_text(w, s->remote, remote, sizeof remote);
        snprintf(buf, size, "connection #%u %s -> %s (%s%u bytes buffered, %u in flight%s)",
                 s->serial, local, remote, states[s->state < 5 ? s->state : 0], s->rlen,
                 s->window, s->fin_rcvd ? ", peer done writing" : "");
    } else {
        snprintf(buf, size, "%s #%u %s (%u queued)",
                 s->type == SOCK_UDP ? "datagram socket" : "listener", s->serial, local,
                 s->type == SOCK_UDP ? s->q_len : s->acc_len);
    }
}

static void net_wait_text(const sim_world *w, uint32_t x, uint64_t y, char *buf, size_t size)
{
    static const char *const ops[] = {"?", "recv", "accept", "connect", "read", "write"};
    const net_state *n = sim__net_peek(w);
    uint32_t op = (uint32_t)(y >> 32);
    SIM_ASSERT(op >= 1); /* sim__sock_wait notes the operation, from 1 */
    const char *what = op < sizeof ops / sizeof ops[0] ? ops[op] : "?";
    if (n == NULL || x >= n->socks_used || n->socks[x].id != (uint32_t)y ||
        n->socks[x].type == SOCK_FREE) {
        snprintf(buf, size, "%s on a socket that is gone", what);
        return;
    }
    char text[200];
    sock_text(w, &n->socks[x], text, sizeof text);
    snprintf(buf, size, "%s on %s", what, text);
}

static void net_timer_text(const sim_world *w, uint64_t arg, char *buf, size_t size)
{
    const net_state *n = sim__net_peek(w);
    SIM_ASSERT(n != NULL); /* only this network arms its timers */
    uint32_t kind = (uint32_t)(arg >> 60), slot = (uint32_t)arg;
    SIM_ASSERT(kind >= TM_DELIVER);
    SIM_ASSERT(kind <= TM_PEER_RESET);
    uint32_t id = (uint32_t)(arg >> 32) & SIM__NET_ID_MASK;
    if (kind != TM_DELIVER && n != NULL && slot < n->socks_used &&
        (n->socks[slot].id & SIM__NET_ID_MASK) == id && n->socks[slot].type == SOCK_CONN) {
        char text[200];
        sock_text(w, &n->socks[slot], text, sizeof text);
        bool live = kind != TM_CONNECT_TIMEOUT || n->socks[slot].state == CONN_CONNECTING;
        snprintf(buf, size, "net: %s of %s%s",
                 kind == TM_STREAM_TIMEOUT   ? "stream timeout"
                 : kind == TM_PEER_RESET     ? "reset"
                                             : "connect timeout",
                 text, live ? "" : " (connected: does nothing)");
        return;
    }
    if (kind != TM_DELIVER || n == NULL || slot >= n->msgs_used || n->msgs[slot].id == 0) {
        static const char *const kinds[] = {"?", "net: delivery", "net: stream timeout",
                                            "net: connect timeout", "net: peer reset"};
        snprintf(buf, size, "%s", kinds[kind < 5 ? kind : 0]);
        return;
    }
    const net_msg *m = &n->msgs[slot];
    char src[64], dst[64];
    addr_text(w, m->src, src, sizeof src);
    addr_text(w, m->dst, dst, sizeof dst);
    snprintf(buf, size, "net: %s %s -> %s, %u bytes", type_names[m->type < 7 ? m->type : 0], src,
             dst, m->len);
}

static char *net_dump(const sim_world *w)
{
    const net_state *n = sim__net_peek(w);
    if (n == NULL) return NULL;
    size_t cap = 4096 + (size_t)n->socks_live * 160, o = 0;
    char *buf = sim__xmalloc(cap, "the network's dump");
    uint32_t listed = 0;
    o += (size_t)snprintf(buf + o, cap - o,
                          "  network: %u socket(s), %u message(s) in flight or held, %u link(s) "
                          "blocked, %u node(s) clogged; %llu sent, %llu delivered, %llu dropped\n",
                          n->socks_live, n->msgs_live, n->nblocked, n->nclogged,
                          (unsigned long long)n->sent, (unsigned long long)n->delivered,
                          (unsigned long long)n->dropped);
    for (uint32_t i = 0; i < n->socks_used && o + 220 < cap; i++) {
        const net_sock *s = &n->socks[i];
        if (s->type == SOCK_FREE) continue;
        char text[200];
        sock_text(w, s, text, sizeof text);
        o += (size_t)snprintf(buf + o, cap - o, "    %s\n", text);
        listed++;
    }
    SIM_ASSERT(listed <= n->socks_live);
    SIM_ASSERT(o < cap); /* room was made for every socket */
    return buf;
}

const sim__ext_ops sim__net_ops = {
    .name = "net",
    .fire = net_fire,
    .crash = net_crash,
    .wait_text = net_wait_text,
    .timer_text = net_timer_text,
    .hand_release = net_hand_release,
    .dump = net_dump,
    .free = net_free,
};

/* ---- event text ------------------------------------------------------------------------------ */

/* "n2:7000" with a name for the node, else "2:7000". */
static void event_addr_text(uint32_t a, const char *const *names, uint32_t nnames, char *buf,
                      size_t size)
{
    uint32_t node = a >> 16;
    if (names != NULL && node < nnames && names[node] != NULL) {
        snprintf(buf, size, "%s:%u", names[node], a & 0xffff);
    } else {
        snprintf(buf, size, "%u:%u", node, a & 0xffff);
    }
}

static int net_text(const sim_event *e, const char *const *names, uint32_t nnames, char *buf,
                    size_t size)
{
    static const char *const types[] = {"?", "datagram", "syn", "syn-ack", "data", "fin", "rst"};
    static const char *const why[] = {"", " (lost: net/send/drop)", " (partition)",
                                      " (node down)", " (nothing bound there)", " (queue full)"};
    static const char *const resets[] = {"?", "the peer crashed", "partition timeout",
                                         "refused", "by the peer", "connect timed out",
                                         "its node crashed"};
    static const char *const links[] = {"?", "blocked", "healed: every link", "clogged",
                                        "unclogged"};
    char a[64], b[64];
    event_addr_text((uint32_t)(e->a >> 32), names, nnames, a, sizeof a);
    event_addr_text((uint32_t)e->a, names, nnames, b, sizeof b);
    if (e->kind == SIM_EV_NET_RESET) {
        return snprintf(buf, size, "%s -> %s, %s", a, b, resets[e->b < 7 ? e->b : 0]);
    }
    if (e->kind == SIM_EV_NET_LINK) {
        uint32_t from = (uint32_t)(e->a >> 32), to = (uint32_t)e->a;
        const char *fa = names && from < nnames && names[from] ? names[from] : "?";
        const char *ta = names && to < nnames && names[to] ? names[to] : "?";
        if (e->b == 1) return snprintf(buf, size, "%s -> %s blocked", fa, ta);
        if (e->b == 2) return snprintf(buf, size, "healed: every link");
        return snprintf(buf, size, "%s %s", fa, links[e->b < 5 ? e->b : 0]);
    }
    uint32_t type = SIM_EV_NET_TYPE(e->b), w = SIM_EV_NET_WHY(e->b);
    return snprintf(buf, size, "%s %s -> %s, %u bytes #%08x%s", types[type < 7 ? type : 0], a, b,
                    SIM_EV_NET_LEN(e->b), SIM_EV_NET_DIGEST(e->b), why[w < 6 ? w : 0]);
}

/* The words for net events, registered with the executor when the program starts. */
__attribute__((constructor)) static void net_register_text(void)
{
    sim__event_text_register(SIM_EV_NET_SEND, SIM_EV_NET_LINK, net_text);
}
