/*
 * net.h: net_sim's internals (docs/network.md). net.c holds the world's network state, the
 * port table, links, partitions and clogs, and the path of every message: send, flight (an
 * executor extension timer per message), delivery or drop. udp.c and stream.c are the two
 * services on top; spec.c reads a scenario's [network] section.
 *
 * Everything is in tables indexed by 32-bit slots with generation ids, like the executor's:
 * sockets (datagram sockets, listeners and stream endpoints alike) and messages. Nothing is
 * ordered by address: ports live in a hash table keyed by (node, port), and every scan walks
 * slots in index order.
 *
 * A user's socket handle (sim_udp, sim_listener, sim_conn) names a record of the executor's
 * handle table (kind HAND_EXT, ext: the network's extension index, target = socket slot,
 * target_id = its id), owned by the task that opened, accepted or connected it (else the node
 * being booted). The record is freed by an explicit close, or released with its owner through
 * the extension's hand_release, which closes the socket if it is still open. A stream
 * endpoint with no record is one the network made (queued for accept) or one being
 * connected (owned by the connect operation until it completes). Closing never depends on the
 * record: a crash closes every socket of its node at once, and the records are released
 * later, finding nothing to do.
 *
 * Out of host memory is fatal (core.h), so nothing here fails for want of memory. The one
 * limit the network can meet on its own account is the world's timer limit (max_timers):
 * a send or timer the network makes itself (a reset, a SYN-ACK, a FIN at close, a stream or
 * reset timeout) has no caller to return SIM_ELIMIT to, and asserts instead; max_timers must
 * leave room for the messages in flight.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "../fault/points.h"

enum { SOCK_FREE = 0, SOCK_UDP, SOCK_LISTEN, SOCK_CONN };

/* A stream endpoint's state. */
enum {
    CONN_CONNECTING = 1, /* SYN sent, waiting for SYNACK (the client side) */
    CONN_QUEUED,         /* accepted by the network, waiting in the listener's queue */
    CONN_OPEN,
    CONN_DEAD,           /* reset, refused, timed out or its node crashed */
};

/* Why a connection reset (the b field of net-reset events). */
enum {
    RESET_CRASH = 1,     /* the peer's node crashed */
    RESET_TIMEOUT = 2,   /* a partition outlasted the stream timeout */
    RESET_REFUSED = 3,   /* nothing listened (a connect) */
    RESET_BY_PEER = 4,   /* data reached a closed endpoint, or the peer abandoned it */
    RESET_CONNECT_TIMEOUT = 5,
    RESET_NODE_DOWN = 6, /* this side's own node crashed */
};

/* What a net-link event changed. */
enum { LINK_BLOCK = 1, LINK_HEAL = 2, LINK_CLOG = 3, LINK_UNCLOG = 4 };

/* Ephemeral ports (connections' local ports, and port 0 binds) come from here up. */
#define EPHEMERAL_FIRST_PORT 49152

/* Extension timers: arg = kind << 60 | (id & SIM__NET_ID_MASK) << 32 | slot. */
enum { TM_DELIVER = 1, TM_STREAM_TIMEOUT = 2, TM_CONNECT_TIMEOUT = 3, TM_PEER_RESET = 4 };
#define SIM__NET_ID_MASK 0x0fffffffu

static inline uint64_t sim__net_timer_arg(uint32_t kind, uint32_t id, uint32_t slot)
{
    return (uint64_t)kind << 60 | (uint64_t)(id & SIM__NET_ID_MASK) << 32 | slot;
}

typedef struct net_msg {
    uint32_t id;             /* generation; 0 = free */
    uint8_t type;            /* SIM_NET_* */
    uint8_t held;            /* waiting for a clog or partition to end */
    uint32_t len;
    uint8_t *data;           /* len bytes from the world allocator, or NULL */
    uint32_t src;            /* node << 16 | port */
    uint32_t dst;
    uint32_t src_node;
    uint32_t dst_node;
    uint32_t to_sock;        /* stream messages: the endpoint it is for (SIM__NIL for a SYN) */
    uint32_t to_id;
    uint32_t from_sock;      /* stream messages: the endpoint that sent it */
    uint32_t from_id;
    uint32_t next;           /* queue link (a socket's datagrams, the held list); free list */
    uint32_t digest;         /* low 32 bits of XXH3-64 of the bytes */
    uint64_t sent_ns;
    uint64_t serial;         /* creation order */
} net_msg;

typedef struct net_sock {
    uint32_t id;             /* generation; 0 = free */
    uint8_t type;            /* SOCK_* */
    uint8_t state;           /* CONN_* */
    uint8_t closed;          /* the application closed it (a stream endpoint may live on) */
    uint8_t shut_wr;         /* this side will write no more (FIN queued or sent) */
    uint8_t fin_rcvd;        /* the peer's FIN arrived: reads return 0 once the buffer is empty */
    uint8_t dead_reason;     /* RESET_* once dead */
    uint16_t port;
    uint32_t node;
    uint32_t next_free;
    uint32_t serial;         /* "#N" in reports */
    /* the task waiting to read (recv, accept, connect, read) and the one waiting to write */
    uint32_t rd_slot, rd_id;
    uint32_t wr_slot, wr_id;
    /* datagram sockets: queued datagrams (msg slots), FIFO */
    uint32_t q_head, q_tail, q_len;
    /* listeners: endpoints waiting to be accepted, FIFO through their next_acc */
    uint32_t acc_head, acc_tail, acc_len;
    uint32_t backlog;
    uint32_t next_acc;
    /* stream endpoints */
    uint32_t peer, peer_id;  /* the other endpoint; SIM__NIL before the handshake */
    uint32_t remote;         /* node << 16 | port */
    uint32_t listener;       /* a queued endpoint's listener */
    uint8_t *rbuf;           /* received, unread bytes: a ring */
    uint32_t rcap, rhead, rlen;
    uint32_t window;         /* bytes this side sent that the peer has not read yet */
    uint64_t last_arrival;   /* arrival time of the last segment sent this way (FIFO) */
    uint32_t held_head;      /* segments this way waiting for the link (FIFO, msg slots) */
    uint32_t held_tail;
    uint64_t blocked_since;  /* when the first held segment began to wait; 0 = none */
} net_sock;

/* A link's model, as set by sim_net_link, with where it applies. */
typedef struct net_link_rule {
    uint32_t from;           /* 0 = any */
    uint32_t to;
    sim_link link;
    uint64_t loss_ppt;       /* link.loss in ppt, or UINT64_MAX for the plan's */
    uint64_t dup_ppt;
} net_link_rule;

typedef struct net_pair_busy {
    uint64_t key;            /* from << 32 | to, +1 (0 = empty) */
    uint64_t busy_until;     /* bandwidth: when the link finishes sending what it has */
} net_pair_busy;

typedef struct net_state {
    uint32_t ext;            /* its extension index in the world (sim__ext_attach) */
    sim_net_desc desc;
    bool configured;
    net_sock *socks;
    uint32_t socks_cap, socks_used, sock_free, socks_live, sock_serial;
    net_msg *msgs;
    uint32_t msgs_cap, msgs_used, msg_free, msgs_live;
    uint32_t msg_serial;
    uint64_t msgs_made;
    /* ports: open addressing, key node << 16 | port (+1; 0 = empty, UINT32_MAX = deleted) */
    uint32_t *port_keys;
    uint32_t *port_vals;
    uint32_t port_mask;
    uint32_t ports_used;     /* keys and tombstones */
    /* per node (index = node): ephemeral port cursor, clogged flag */
    uint16_t *ephemeral;
    uint8_t *clogged;
    uint32_t nodes_cap;
    /* blocked links: a bit per (from, to), nodes_cap x nodes_cap */
    uint64_t *blocked;
    uint32_t nblocked;       /* links blocked now */
    uint32_t held_head;      /* datagrams waiting for a clog to end, FIFO */
    uint32_t held_tail;
    uint32_t nclogged;
    net_link_rule *rules;
    uint32_t nrules;
    net_pair_busy *busy;     /* bandwidth state, open addressing */
    uint32_t busy_mask;
    uint32_t busy_used;
    sim_rng *rngs;           /* per node (index = node): "sim/net", latency and segments */
    uint32_t rngs_len;
    const sim__point *drop;  /* net/send/drop */
    const sim__point *dup;   /* net/send/dup */
    uint64_t sent, delivered, dropped;
} net_state;

/* The world's network, created on first use, grown to the world's nodes. */
net_state *sim__net_of(sim_world *w);
extern const sim__ext_ops sim__net_ops;
static inline net_state *sim__net_peek(const sim_world *w)
{
    return (net_state *)sim__ext_state(w, &sim__net_ops);
}

/* Checks the network's invariants in full (make check builds; nothing otherwise). Called
 * where the network is at rest: after each of its timers, a crash, a heal or an unclog. */
#ifdef SIM_SLOW_CHECKS
void sim__net_check(const sim_world *w, const net_state *n);
#else
static inline void sim__net_check(const sim_world *w, const net_state *n)
{
    (void)w;
    (void)n;
}
#endif

/* ---- sockets ---- */
/* A fresh socket's slot (the table may move). */
uint32_t sim__sock_alloc(sim_world *w, net_state *n, uint8_t type, uint32_t node);
void sim__sock_free(sim_world *w, net_state *n, uint32_t slot);
/* The live socket (slot, id) of that type (SOCK_FREE: of any type), or NULL. */
net_sock *sim__sock_get(const sim_world *w, uint32_t slot, uint32_t id, uint8_t type);
/* Makes the handle record of a socket, owned by the running task (else the node being
 * booted), into *out. SIM_ENOMEM (the caller still owns the socket). */
int sim__sock_hand_new(sim_world *w, uint32_t slot, sim_handle *out);
/* Resolves a user's handle through its record. NULL with *rc = SIM_ECLOSED when the socket
 * is closed: a zeroed handle, a record freed by a close (through any copy of the handle) or
 * released with its owner, a socket its node's crash closed. NULL with *rc = SIM_EMISUSE and a
 * violation naming `what` when h is not a handle of this world, or names something other than
 * a socket of this type. *hand (may be NULL) receives the record's slot, SIM__NIL if none. */
net_sock *sim__sock_of(sim_world *w, const sim_handle *h, uint8_t type, const char *what,
                       int *rc, uint32_t *hand);
/* The same for queries on a const world: NULL for anything but an open socket of that type. */
const net_sock *sim__sock_peek(const sim_world *w, const sim_handle *h, uint8_t type);
/* An explicit close: zeroes the user's handle and frees its record; returns the slot of the
 * socket to close, or SIM__NIL when there is nothing to close (a zeroed handle, a socket
 * already closed; a handle of another world or kind, which is also a violation). */
uint32_t sim__sock_close_handle(sim_world *w, sim_handle *h, uint8_t type, const char *what);
/* Binds node:port (0 = ephemeral) to a socket. SIM_EADDRINUSE, or SIM_ELIMIT when every
 * ephemeral port of the node is taken. */
int sim__port_bind(sim_world *w, net_state *n, uint32_t node, uint16_t port, uint32_t slot,
                   uint16_t *bound);
void sim__port_unbind(net_state *n, uint32_t node, uint16_t port);
uint32_t sim__port_find(const net_state *n, uint32_t node, uint16_t port);
/* The node of the running task, or 0 (and a misuse violation is not recorded: SIM_ENODE). */
uint32_t sim__net_task_node(const sim_world *w);

/* Waiting: the running task registers as the socket's reader or writer. */
void sim__sock_wait(sim_world *w, net_sock *s, bool writer, uint32_t op);
void sim__sock_wake(sim_world *w, net_sock *s, bool writer);
/* A dropped operation releases its registration if it holds one. */
void sim__sock_unwait(sim_world *w, net_sock *s, bool writer);

/* ---- messages ---- */
/* Where a stream message goes: the endpoints (to: SIM__NIL for a SYN) and the sender's FIFO
 * floor, which the send raises to the message's arrival. */
typedef struct net_route {
    uint32_t to_sock, to_id;
    uint32_t from_sock, from_id;
    uint64_t *arrival;
} net_route;

/* Sends a message: chooses its fate (drop, duplicate, latency) and arms its delivery. data
 * may be NULL for len 0; route is NULL for a datagram. SIM_OK, or SIM_ELIMIT when the
 * world's timer limit (max_timers) leaves no timer for the delivery. The message table may
 * move. */
int sim__net_send(sim_world *w, net_state *n, uint8_t type, uint32_t src, uint32_t dst,
                  const void *data, uint32_t len, const net_route *route);
void sim__msg_free(sim_world *w, net_state *n, uint32_t slot);
/* A message waits on the network's held list until no clog stands in its way. */
void sim__net_hold(net_state *n, uint32_t slot);
/* Emits a net event for a message. */
void sim__net_event(sim_world *w, sim_event_kind kind, uint32_t node, const net_msg *m,
                    uint32_t why);
static inline uint32_t sim__addr_pack(uint32_t node, uint16_t port)
{
    return node << 16 | port;
}

/* ---- streams (stream.c), called by net.c on delivery ---- */
void sim__stream_deliver(sim_world *w, net_state *n, uint32_t msg);
void sim__stream_timer(sim_world *w, net_state *n, uint32_t kind, uint32_t slot, uint32_t id);
/* A held stream message goes on now (the link cleared), in order. */
void sim__stream_segment(sim_world *w, net_state *n, uint32_t msg);
/* A node crashed: its endpoints die, their peers reset after the reset delay. */
void sim__stream_crash(sim_world *w, net_state *n, uint32_t node);
/* A SYN-ACK found its destination node down: the endpoint that accepted resets after the reset
 * delay (the connecting endpoint died before it knew its peer). */
void sim__stream_synack_lost(sim_world *w, net_state *n, uint32_t msg);
/* A link's blocks or clogs changed: held segments that can go now go. */
void sim__stream_release_held(sim_world *w, net_state *n);
/* Resets an endpoint (and wakes its tasks); emits net-reset. */
void sim__conn_reset(sim_world *w, net_state *n, uint32_t slot, uint32_t reason);
void sim__conn_free_if_done(sim_world *w, net_state *n, uint32_t slot);
/* Closes an open socket as sim_conn_close, sim_listener_close or sim_udp_close do; in a
 * crash-mode drop without sending anything when its node is down (as a crash of its node
 * would, after a failed boot) or the world is being freed (silently). */
void sim__conn_close_sock(sim_world *w, net_state *n, uint32_t slot);
void sim__listener_close_sock(sim_world *w, net_state *n, uint32_t slot);
void sim__udp_close_sock(sim_world *w, net_state *n, uint32_t slot);
/* "conn n1:49152 -> n2:7000", "listener n2:7000", "udp n1:5000": a socket in words. */
void sim__sock_words(const sim_world *w, const net_sock *s, char *buf, size_t size);

/* ---- datagrams (udp.c), called by net.c on delivery ---- */
void sim__udp_deliver(sim_world *w, net_state *n, uint32_t msg);

/* ---- links ---- */
bool sim__link_blocked(const net_state *n, uint32_t from, uint32_t to);
bool sim__link_clogged(const net_state *n, uint32_t from, uint32_t to);
/* The arrival time of a message sent now from -> to with len bytes. */
uint64_t sim__link_arrival(sim_world *w, net_state *n, uint32_t from, uint32_t to, uint32_t len);

/* ---- host worlds (host_net.c): the same calls on the host's sockets ---- */
sim_node_id sim__hnet_node_of_ip(const sim_world *w, const char *ip);
int sim__hnet_listen(sim_world *w, uint16_t port, uint32_t backlog, sim_listener *out);
sim_addr sim__hnet_listener_addr(const sim_world *w, const sim_listener *l);
void sim__hnet_close(sim_world *w, sim_handle *h, uint8_t type, const char *what);
int sim__hnet_accept_poll(sim_accept_op *op, sim_world *w);
int sim__hnet_connect_poll(sim_connect_op *op, sim_world *w);
void sim__hnet_connect_drop(sim_connect_op *op, sim_world *w);
int sim__hnet_read_poll(sim_read_op *op, sim_world *w);
int sim__hnet_read_exact_poll(sim_read_exact_op *op, sim_world *w);
int sim__hnet_write_poll(sim_write_op *op, sim_world *w);
int sim__hnet_frame_read_poll(sim_frame_read_op *op, sim_world *w);
int sim__hnet_frame_write_poll(sim_frame_write_op *op, sim_world *w);
int sim__hnet_shutdown(sim_world *w, const sim_conn *conn);
sim_addr sim__hnet_conn_addr(const sim_world *w, const sim_conn *conn, bool peer);
int sim__hnet_udp_bind(sim_world *w, uint16_t port, sim_udp *out);
int sim__hnet_udp_send_to(sim_world *w, const sim_udp *sock, sim_addr to, const void *data,
                          size_t len);
int sim__hnet_udp_recv_poll(sim_udp_recv_op *op, sim_world *w);
sim_addr sim__hnet_udp_addr(const sim_world *w, const sim_udp *sock);

#endif /* SIM_NET_H */
