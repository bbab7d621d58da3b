/*
 * host_net.c: the network of a host world (sim.h, "Host worlds"), and addresses given as text.
 *
 * Sockets are the host's: non-blocking TCP streams and UDP, watched by the world's reactor
 * (src/executor/host_exec.c) edge-triggered. Each lives in this module's own table (an
 * executor extension, "host-net") with a generation id; a user's handle is an extension
 * handle record naming (slot, id), owned as any socket handle is, and its owner's end closes
 * the socket. An operation tries its system call first and, on EAGAIN, leaves its task as the
 * fd's read or write waiter and returns SIM_PENDING; a wake-up retries. A connection reads
 * through a buffer of its own (RBUF_SIZE, made at its first read): a read of less than that
 * asks the host for as much as it has, so that one recv brings a frame's length, its body and
 * whatever frames follow, and the reads after it are served from memory; a larger read with
 * the buffer empty goes straight to the caller's memory. What the buffer holds is delivered
 * before the end of the stream or an error the host reports after it. A recv that came back
 * short emptied the socket: unless the reactor reported a read event since (host_loop.c), the
 * next read waits at once instead of asking the host only to hear EAGAIN. Addresses stay
 * (node, port): a node's host_addr is the IP its sockets bind and that connects to it reach.
 * Host errors map to sim's codes: ECONNREFUSED, ECONNRESET/EPIPE, EADDRINUSE; others are
 * SIM_EIO. Nothing here is deterministic.
 *
 * What the sockets carry is traced with the simulator's net events, so that a recorded host
 * run (sim_world_record) shows its traffic in sim show and sim viz: a connection made is a
 * syn sent (connect) or delivered (accept); each completed read or write of a task is one
 * data event of the bytes it moved (a frame: its 4-byte header and body, the digest of the
 * body), a read that meets the end of the stream a fin delivered; a datagram sent or received
 * is one too. Addresses are (node, port) as elsewhere; a peer on no node's IP is node 0.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

int sim_addr_split(const char *text, char *host, size_t host_size, uint16_t *port)
{
    if (port != NULL) *port = 0;
    if (text == NULL || host == NULL || host_size == 0 || port == NULL) return SIM_EINVAL;
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text || colon[1] == '\0') return SIM_EINVAL;
    const char *h = text;
    size_t hlen = (size_t)(colon - text);
    if (text[0] == '[') { /* [IPv6]:PORT */
        if (hlen < 3 || text[hlen - 1] != ']') return SIM_EINVAL;
        h = text + 1;
        hlen -= 2;
    } else if (memchr(text, ':', hlen) != NULL) {
        return SIM_EINVAL; /* a bare IPv6 literal needs brackets */
    }
    if (hlen == 0 || hlen >= host_size) return SIM_EINVAL;
    uint32_t p = 0;
    for (const char *c = colon + 1; *c != '\0'; c++) {
        if (*c < '0' || *c > '9') return SIM_EINVAL;
        p = p * 10 + (uint32_t)(*c - '0');
        if (p > 65535) return SIM_EINVAL;
    }
    if (p == 0) return SIM_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    SIM_ASSERT(*port != 0);
    SIM_ASSERT(strlen(host) == hlen);
    return SIM_OK;
}

int sim_addr_parse(sim_world *w, const char *text, sim_addr *out)
{
    SIM_ASSERT(w != NULL);
    if (out == NULL) return SIM_EINVAL;
    *out = (sim_addr){0};
    char host[SIM_PATH_MAX + 1];
    uint16_t port;
    int rc = sim_addr_split(text, host, sizeof host, &port);
    if (rc != SIM_OK) return rc;
    sim_node_id node = sim_node_find(w, host);
    if (node.v == 0 && sim__exec_is_host(w)) {
        unsigned char bin[16];
        if (inet_pton(AF_INET, host, bin) != 1 && inet_pton(AF_INET6, host, bin) != 1) {
            return SIM_EINVAL;
        }
        node = sim__hnet_node_of_ip(w, host);
        if (node.v == 0) {
            rc = sim_node_add(w, &(sim_node_desc){.name = host, .host_addr = host}, &node);
            if (rc != SIM_OK) return rc;
        }
    }
    if (node.v == 0) return SIM_EINVAL;
    *out = (sim_addr){.node = node, .port = port};
    return SIM_OK;
}

/* ---- the socket table ------------------------------------------------------------------------ */

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct hsock {
    uint32_t id;       /* generation; 0 = free */
    uint8_t type;      /* SOCK_LISTEN, SOCK_CONN or SOCK_UDP */
    bool wr_shut;      /* sim_shutdown was called */
    int fd;
    uint32_t node;     /* the node it lives on */
    sim_addr local;
    sim_addr peer;     /* conns: the other end (node 0 when no node has its IP) */
    uint8_t *rbuf;     /* conns: bytes received and not yet read, rbuf[rpos..rlen) */
    uint32_t rpos;
    uint32_t rlen;
    uint32_t drained;  /* conns: the read epoch at a short recv (the socket was empty), or 0 */
} hsock;

#define RBUF_SIZE 16384u

typedef struct hnet {
    hsock *socks;
    uint32_t cap;
    uint32_t used;     /* slots ever used */
    uint32_t next_id;
    uint32_t ext;      /* this extension's index in the world */
} hnet;

static void hnet_hand_release(sim_world *w, uint32_t target, uint32_t target_id);
static void hnet_free(sim_world *w);
static void hnet_crash(sim_world *w, uint32_t node);
static void hnet_wait_text(const sim_world *w, uint32_t x, uint64_t y, char *buf, size_t size);

static const sim__ext_ops hnet_ops = {.name = "host-net",
                                      .crash = hnet_crash,
                                      .wait_text = hnet_wait_text,
                                      .hand_release = hnet_hand_release,
                                      .free = hnet_free};

static hnet *hnet_of(sim_world *w)
{
    SIM_ASSERT(sim__exec_is_host(w));
    hnet *n = sim__ext_state(w, &hnet_ops);
    if (n != NULL) return n;
    n = sim__xcalloc(1, sizeof *n, "a host world's sockets");
    n->next_id = 1;
    n->ext = sim__ext_attach(w, &hnet_ops, n);
    SIM_ASSERT(sim__ext_state(w, &hnet_ops) == n);
    return n;
}

static uint32_t hsock_alloc(hnet *n, uint8_t type, int fd, uint32_t node)
{
    SIM_ASSERT(fd >= 0);
    uint32_t slot = 0;
    while (slot < n->used && n->socks[slot].id != 0) slot++;
    if (slot == n->cap) {
        uint32_t ncap = n->cap ? n->cap * 2 : 16;
        n->socks = sim__xrealloc_array(n->socks, ncap, sizeof *n->socks, "host sockets");
        memset(n->socks + n->cap, 0, (ncap - n->cap) * sizeof *n->socks);
        n->cap = ncap;
    }
    if (slot == n->used) n->used++;
    n->socks[slot] = (hsock){.id = n->next_id++, .type = type, .fd = fd, .node = node};
    if (n->next_id == 0) n->next_id = 1;
    SIM_ASSERT(n->socks[slot].id != 0);
    return slot;
}

static void hsock_close(sim_world *w, hnet *n, uint32_t slot)
{
    SIM_ASSERT(slot < n->used);
    hsock *s = &n->socks[slot];
    SIM_ASSERT(s->id != 0);
    sim__host_fd_forget(w, s->fd);
    close(s->fd);
    free(s->rbuf);
    *s = (hsock){.fd = -1};
}

static void hnet_hand_release(sim_world *w, uint32_t target, uint32_t target_id)
{
    hnet *n = sim__ext_state(w, &hnet_ops);
    if (n == NULL || target >= n->used || n->socks[target].id != target_id) return;
    hsock_close(w, n, target);
}

/* The node crashed: its sockets close (peers see their connections end), before its tasks
 * are dropped; their handles then name closed sockets. */
static void hnet_crash(sim_world *w, uint32_t node)
{
    hnet *n = sim__ext_state(w, &hnet_ops);
    SIM_ASSERT(node != 0);
    if (n == NULL) return;
    for (uint32_t i = 0; i < n->used; i++) {
        if (n->socks[i].id != 0 && n->socks[i].node == node) hsock_close(w, n, i);
    }
    SIM_ASSERT(n->used <= n->cap);
}

static void hnet_free(sim_world *w)
{
    hnet *n = sim__ext_state(w, &hnet_ops);
    if (n == NULL) return;
    for (uint32_t i = 0; i < n->used; i++) {
        if (n->socks[i].id != 0) hsock_close(w, n, i);
    }
    free(n->socks);
    free(n);
    sim__ext_detach(w, &hnet_ops);
}

/* The socket a handle names: NULL with *rc = SIM_ECLOSED (closed) or SIM_EMISUSE (a foreign
 * handle or another kind, recorded). *hand (may be NULL) gets the record's slot. */
static hsock *hsock_of(sim_world *w, const sim_handle *h, uint8_t type, const char *what,
                       int *rc, uint32_t *hand)
{
    SIM_ASSERT(rc != NULL && what != NULL);
    hnet *n = hnet_of(w);
    sim__ext_hand rec;
    sim__ext_hand_rc r = sim__ext_hand_find(w, h, &hnet_ops, &rec);
    *rc = SIM_OK;
    if (r == SIM__EXT_HAND_CLOSED) {
        *rc = SIM_ECLOSED;
        return NULL;
    }
    if (r == SIM__EXT_HAND_FOREIGN) {
        sim__ext_hand_foreign(w, h, what);
        *rc = SIM_EMISUSE;
        return NULL;
    }
    hsock *s = r == SIM__EXT_HAND_OK && rec.target < n->used ? &n->socks[rec.target] : NULL;
    if (s == NULL || s->id != rec.target_id || s->type != type) {
        if (r == SIM__EXT_HAND_OK && (s == NULL || s->id != rec.target_id)) {
            *rc = SIM_ECLOSED;
            return NULL;
        }
        sim__violation(w, SIM_VIOLATION_MISUSE, "%s: the handle is not a socket of that kind",
                       what);
        *rc = SIM_EMISUSE;
        return NULL;
    }
    if (hand != NULL) *hand = rec.slot;
    return s;
}

/* ---- waits ----------------------------------------------------------------------------------- */

/* What a task waits for on a host socket, for the hang report (with the socket's id). */
enum { HW_ACCEPT = 1, HW_CONNECT = 2, HW_READ = 3, HW_WRITE = 4, HW_DGRAM = 5 };

/* The task waits until s is readable (or writable): the reactor wakes it; the report says
 * what it waits for, on which addresses. */
static void hsock_await(sim_world *w, const hsock *s, bool write, uint32_t what)
{
    hnet *n = hnet_of(w);
    SIM_ASSERT(s >= n->socks && s < n->socks + n->used);
    SIM_ASSERT(what >= HW_ACCEPT && what <= HW_DGRAM);
    sim__host_fd_await(w, s->fd, write);
    sim__exec_note_wait(w, n->ext, (uint32_t)(s - n->socks), (uint64_t)s->id << 8 | what);
}

static void addr_text(const sim_world *w, sim_addr a, char *buf, size_t size)
{
    if (a.node.v == 0) {
        snprintf(buf, size, "?:%u", a.port); /* a peer on no node's IP */
    } else {
        snprintf(buf, size, "%s:%u", sim_node_name(w, a.node), a.port);
    }
}

static void hnet_wait_text(const sim_world *w, uint32_t x, uint64_t y, char *buf, size_t size)
{
    static const char *const verbs[] = {"?", "accept", "connect", "read", "write", "recv"};
    hnet *n = sim__ext_state(w, &hnet_ops);
    uint32_t what = (uint32_t)(y & 0xff), id = (uint32_t)(y >> 8);
    const char *verb = verbs[what <= HW_DGRAM ? what : 0];
    if (n == NULL || x >= n->used || n->socks[x].id != id) {
        snprintf(buf, size, "%s on a host socket now closed", verb);
        return;
    }
    const hsock *s = &n->socks[x];
    char local[96], peer[96];
    addr_text(w, s->local, local, sizeof local);
    addr_text(w, s->peer, peer, sizeof peer);
    if (what == HW_ACCEPT || what == HW_DGRAM) {
        snprintf(buf, size, "%s on host socket %s", verb, local);
    } else {
        snprintf(buf, size, "%s on host connection %s %s %s", verb, local,
                 what == HW_WRITE || what == HW_CONNECT ? "->" : "<-", peer);
    }
}

/* ---- events ---------------------------------------------------------------------------------- */

/* One net event of the host's traffic: kind SEND or DELIVER, a message type, (from, to), and
 * the bytes (len counted; digest of data, which may be shorter: a frame's body). */
static void hnet_event(sim_world *w, sim_event_kind kind, uint32_t type, sim_addr from,
                       sim_addr to, const void *data, size_t digested, size_t len)
{
    SIM_ASSERT(kind == SIM_EV_NET_SEND || kind == SIM_EV_NET_DELIVER);
    SIM_ASSERT(type >= SIM_NET_DGRAM && type <= SIM_NET_RST);
    SIM_ASSERT(data != NULL || digested == 0);
    uint32_t digest = digested > 0 ? (uint32_t)sim_hash(data, digested, 0) : 0;
    uint64_t b = (uint64_t)type << 56 | (uint64_t)(len > 0xffff ? 0xffff : len) << 32 | digest;
    uint64_t a = (uint64_t)((uint32_t)from.node.v << 16 | from.port) << 32 |
                 ((uint32_t)to.node.v << 16 | to.port);
    /* On the sender's node for a send, the receiver's for a delivery: the socket's own. */
    uint32_t node = kind == SIM_EV_NET_SEND ? from.node.v : to.node.v;
    SIM_ASSERT(node != 0);
    sim__exec_emit(w, kind, node, sim_task_current(w).v, a, b, NULL);
}

/* Bytes a task's read took from a connection, or its end (len 0 with fin). */
static void hnet_read_event(sim_world *w, const hsock *s, const void *data, size_t digested,
                            size_t len, bool fin)
{
    SIM_ASSERT(s->type == SOCK_CONN);
    hnet_event(w, SIM_EV_NET_DELIVER, fin ? SIM_NET_FIN : SIM_NET_DATA, s->peer, s->local, data,
               digested, len);
}

static void hnet_write_event(sim_world *w, const hsock *s, const void *data, size_t digested,
                             size_t len)
{
    SIM_ASSERT(s->type == SOCK_CONN);
    hnet_event(w, SIM_EV_NET_SEND, SIM_NET_DATA, s->local, s->peer, data, digested, len);
}

/* ---- addresses ------------------------------------------------------------------------------- */

sim_node_id sim__hnet_node_of_ip(const sim_world *w, const char *ip)
{
    SIM_ASSERT(ip != NULL);
    uint32_t count = sim_node_count(w);
    for (uint32_t i = 1; i <= count; i++) {
        if (strcmp(sim__exec_node_host_addr(w, i), ip) == 0) return (sim_node_id){i};
    }
    return (sim_node_id){0};
}

/* The socket address of (node's host_addr, port). */
static socklen_t sockaddr_of(const sim_world *w, uint32_t node, uint16_t port,
                             struct sockaddr_storage *ss)
{
    const char *ip = sim__exec_node_host_addr(w, node);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return sizeof *v4;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    int ok = inet_pton(AF_INET6, ip, &v6->sin6_addr);
    SIM_ASSERT(ok == 1); /* sim_node_add checked it */
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sizeof *v6;
}

/* (node, port) of a socket address: the node whose host_addr is its IP, else node 0. */
static sim_addr addr_of(const sim_world *w, const struct sockaddr_storage *ss)
{
    char ip[INET6_ADDRSTRLEN];
    uint16_t port = 0;
    ip[0] = '\0';
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        port = ntohs(v4->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        port = ntohs(v6->sin6_port);
    }
    return (sim_addr){.node = sim__hnet_node_of_ip(w, ip), .port = port};
}

static int map_errno(int e)
{
    switch (e) {
    case ECONNREFUSED: return SIM_ECONNREFUSED;
    case ECONNRESET:
    case EPIPE: return SIM_ECONNRESET;
    case EADDRINUSE: return SIM_EADDRINUSE;
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH: return SIM_ETIMEDOUT;
    case EMFILE:
    case ENFILE: return SIM_ELIMIT;
    default: return SIM_EIO;
    }
}

/* A new socket of the node's family, non-blocking, watched by the loop. -errno on failure. */
static int host_socket(sim_world *w, uint32_t node, int type)
{
    struct sockaddr_storage ss;
    sockaddr_of(w, node, 0, &ss);
    int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int rc = sim__host_fd_watch(w, fd);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* ---- listening and accepting ----------------------------------------------------------------- */

/* The end of a listen or a UDP bind: fd was bound (rc); its socket record and handle, with
 * the port the system gave; or, on an error, the descriptor closed and the error. */
static int host_bound(sim_world *w, int fd, int rc, uint8_t type, uint32_t node, sim_handle *h)
{
    SIM_ASSERT(fd >= 0 && (type == SOCK_LISTEN || type == SOCK_UDP));
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (rc == SIM_OK && getsockname(fd, (struct sockaddr *)&ss, &len) != 0) rc = SIM_EIO;
    if (rc != SIM_OK) {
        sim__host_fd_forget(w, fd);
        close(fd);
        return rc;
    }
    hnet *n = hnet_of(w);
    uint32_t slot = hsock_alloc(n, type, fd, node);
    n->socks[slot].local = (sim_addr){.node = {node}, .port = addr_of(w, &ss).port};
    SIM_ASSERT(n->socks[slot].local.port != 0);
    return sim__ext_hand_new(w, n->ext, slot, n->socks[slot].id, h);
}

int sim__hnet_listen(sim_world *w, uint16_t port, uint32_t backlog, sim_listener *out)
{
    SIM_ASSERT(out != NULL);
    *out = (sim_listener){0};
    uint32_t node = sim__exec_node_here(w);
    if (node == 0) return SIM_ENODE;
    int fd = host_socket(w, node, SOCK_STREAM);
    if (fd < 0) return map_errno(-fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(w, node, port, &ss);
    int rc = SIM_OK;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
        listen(fd, backlog ? (int)(backlog > 4096 ? 4096 : backlog) : 128) != 0) {
        rc = map_errno(errno);
    }
    return host_bound(w, fd, rc, SOCK_LISTEN, node, &out->h);
}

sim_addr sim__hnet_listener_addr(const sim_world *w, const sim_listener *l)
{
    hnet *n = sim__ext_state(w, &hnet_ops);
    sim__ext_hand rec;
    if (n == NULL || l == NULL) return (sim_addr){0};
    if (sim__ext_hand_find(w, &l->h, &hnet_ops, &rec) != SIM__EXT_HAND_OK) return (sim_addr){0};
    if (rec.target >= n->used || n->socks[rec.target].id != rec.target_id) return (sim_addr){0};
    return n->socks[rec.target].local;
}

/* Closes the socket a handle names, as sim_*_close do: idempotent, safe on zeroed handles. */
void sim__hnet_close(sim_world *w, sim_handle *h, uint8_t type, const char *what)
{
    SIM_ASSERT(h != NULL);
    if (h->id_ == 0) return;
    int rc;
    uint32_t hand;
    hsock *s = hsock_of(w, h, type, what, &rc, &hand);
    if (s != NULL) {
        hnet *n = hnet_of(w);
        sim__hand_free(w, hand);
        hsock_close(w, n, (uint32_t)(s - n->socks));
    }
    *h = (sim_handle){0};
}

static void conn_tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int sim__hnet_accept_poll(sim_accept_op *op, sim_world *w)
{
    SIM_ASSERT(op != NULL);
    if (sim__exec_require_task(w, "sim_accept") == SIM__NIL) return SIM_EMISUSE;
    int rc;
    hsock *l = hsock_of(w, &op->listener->h, SOCK_LISTEN, "sim_accept", &rc, NULL);
    if (l == NULL) return rc;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd;
    do {
        fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) return map_errno(errno);
        hsock_await(w, l, false, HW_ACCEPT);
        return SIM_PENDING;
    }
    uint32_t node = l->node;
    rc = sim__host_fd_watch(w, fd);
    if (rc != 0) {
        close(fd);
        return map_errno(-rc);
    }
    conn_tune(fd);
    hnet *n = hnet_of(w);
    sim_addr local = l->local;
    uint32_t slot = hsock_alloc(n, SOCK_CONN, fd, node);
    n->socks[slot].peer = addr_of(w, &ss);
    n->socks[slot].local = local;
    if (op->peer != NULL) *op->peer = n->socks[slot].peer;
    hnet_event(w, SIM_EV_NET_DELIVER, SIM_NET_SYN, n->socks[slot].peer, local, NULL, 0, 0);
    return sim__ext_hand_new(w, n->ext, slot, n->socks[slot].id, &op->conn->h);
}

/* ---- connecting ------------------------------------------------------------------------------ */

/* The connection being made is op->slot_/id_ (id_ 0: none yet, or done). */
static int connect_finish(sim_connect_op *op, sim_world *w, hnet *n, int rc)
{
    uint32_t slot = op->slot_;
    op->slot_ = 0;
    op->id_ = 0;
    if (rc != SIM_OK) {
        hsock_close(w, n, slot);
        return rc;
    }
    hsock *s = &n->socks[slot];
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0) {
        s->local = (sim_addr){.node = {s->node}, .port = addr_of(w, &ss).port};
    }
    conn_tune(s->fd);
    hnet_event(w, SIM_EV_NET_SEND, SIM_NET_SYN, s->local, s->peer, NULL, 0, 0);
    return sim__ext_hand_new(w, n->ext, slot, s->id, &op->conn->h);
}

int sim__hnet_connect_poll(sim_connect_op *op, sim_world *w)
{
    SIM_ASSERT(op != NULL && op->conn != NULL);
    if (sim__exec_require_task(w, "sim_connect") == SIM__NIL) return SIM_EMISUSE;
    hnet *n = hnet_of(w);
    if (op->id_ == 0) { /* the first poll */
        uint32_t node = sim__exec_node_here(w);
        if (node == 0 || op->to.node.v == 0 || op->to.node.v > sim_node_count(w)) return SIM_ENODE;
        if (op->to.port == 0) return SIM_EINVAL;
        int fd = host_socket(w, op->to.node.v, SOCK_STREAM);
        if (fd < 0) return map_errno(-fd);
        uint32_t slot = hsock_alloc(n, SOCK_CONN, fd, node);
        n->socks[slot].peer = op->to;
        op->slot_ = slot;
        op->id_ = n->socks[slot].id;
        struct sockaddr_storage ss;
        socklen_t len = sockaddr_of(w, op->to.node.v, op->to.port, &ss);
        if (connect(fd, (struct sockaddr *)&ss, len) == 0) return connect_finish(op, w, n, SIM_OK);
        if (errno != EINPROGRESS) return connect_finish(op, w, n, map_errno(errno));
        hsock_await(w, &n->socks[slot], true, HW_CONNECT);
        return SIM_PENDING;
    }
    SIM_ASSERT(op->slot_ < n->used && n->socks[op->slot_].id == op->id_);
    hsock *s = &n->socks[op->slot_];
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = errno;
    if (err == 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getpeername(s->fd, (struct sockaddr *)&ss, &len) != 0) { /* not yet connected */
            hsock_await(w, s, true, HW_CONNECT);
            return SIM_PENDING;
        }
        return connect_finish(op, w, n, SIM_OK);
    }
    return connect_finish(op, w, n, map_errno(err));
}

void sim__hnet_connect_drop(sim_connect_op *op, sim_world *w)
{
    SIM_ASSERT(op != NULL);
    if (op->id_ == 0) return;
    hnet *n = hnet_of(w);
    if (op->slot_ < n->used && n->socks[op->slot_].id == op->id_) hsock_close(w, n, op->slot_);
    op->slot_ = 0;
    op->id_ = 0;
}

/* ---- reading and writing --------------------------------------------------------------------- */

/* One recv into buf: *got > 0 bytes, 0 at the end of the stream, SIM_PENDING (the task
 * waits), or an error. */
static int recv_host(sim_world *w, hsock *s, void *buf, size_t cap, size_t *got)
{
    SIM_ASSERT(cap > 0);
    *got = 0;
    uint32_t drained = s->drained;
    s->drained = 0;
    if (drained != 0 && drained == sim__host_fd_read_epoch(w, s->fd)) {
        sim__host_fd_await(w, s->fd, false); /* still empty: no recv to learn it */
        return SIM_PENDING;
    }
    ssize_t r;
    do {
        r = recv(s->fd, buf, cap, 0);
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
        *got = (size_t)r;
        SIM_ASSERT(*got <= cap);
        if (r > 0 && *got < cap) s->drained = sim__host_fd_read_epoch(w, s->fd);
        return SIM_OK;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        hsock_await(w, s, false, HW_READ);
        return SIM_PENDING;
    }
    return map_errno(errno);
}

/* Reads up to cap bytes: from the connection's buffer when it holds any, else (a small read)
 * one recv of as much as the host has into the buffer first, else (a large one) one recv
 * into buf. > 0 bytes, 0 at the end of the stream, SIM_PENDING (the task waits), or an error. */
static int recv_some(sim_world *w, hsock *s, void *buf, size_t cap, size_t *got)
{
    SIM_ASSERT(s->type == SOCK_CONN);
    SIM_ASSERT(s->rpos <= s->rlen && s->rlen <= RBUF_SIZE);
    *got = 0;
    if (cap == 0) return SIM_OK;
    if (s->rpos == s->rlen && cap >= RBUF_SIZE) return recv_host(w, s, buf, cap, got);
    if (s->rpos == s->rlen) {
        if (s->rbuf == NULL) s->rbuf = sim__xmalloc(RBUF_SIZE, "a connection's read buffer");
        size_t n = 0;
        int rc = recv_host(w, s, s->rbuf, RBUF_SIZE, &n);
        if (rc != SIM_OK || n == 0) return rc;
        s->rpos = 0;
        s->rlen = (uint32_t)n;
    }
    size_t n = s->rlen - s->rpos < cap ? s->rlen - s->rpos : cap;
    memcpy(buf, s->rbuf + s->rpos, n);
    s->rpos += (uint32_t)n;
    *got = n;
    SIM_ASSERT(n > 0 && n <= cap);
    return SIM_OK;
}

int sim__hnet_read_poll(sim_read_op *op, sim_world *w)
{
    if (sim__exec_require_task(w, "sim_read") == SIM__NIL) return SIM_EMISUSE;
    int rc;
    hsock *s = hsock_of(w, &op->conn->h, SOCK_CONN, "sim_read", &rc, NULL);
    if (s == NULL) return rc;
    size_t got;
    rc = recv_some(w, s, op->buf, op->cap, &got);
    if (rc == SIM_OK && op->len != NULL) *op->len = got;
    if (rc == SIM_OK && op->cap > 0) hnet_read_event(w, s, op->buf, got, got, got == 0);
    return rc;
}

int sim__hnet_read_exact_poll(sim_read_exact_op *op, sim_world *w)
{
    if (sim__exec_require_task(w, "sim_read_exact") == SIM__NIL) return SIM_EMISUSE;
    int rc;
    hsock *s = hsock_of(w, &op->conn->h, SOCK_CONN, "sim_read_exact", &rc, NULL);
    if (s == NULL) return rc;
    while (op->done_ < op->len) {
        size_t got;
        rc = recv_some(w, s, (uint8_t *)op->buf + op->done_, op->len - op->done_, &got);
        if (rc != SIM_OK) return rc;
        if (got == 0) {
            hnet_read_event(w, s, NULL, 0, 0, true);
            return SIM_EEOF;
        }
        op->done_ += got;
    }
    SIM_ASSERT(op->done_ == op->len);
    hnet_read_event(w, s, op->buf, op->len, op->len, false);
    return SIM_OK;
}

/* Sends what iov holds (cnt pieces); *sent gets what went. SIM_OK when all went, else
 * SIM_PENDING (the task waits) or an error. */
static int send_iov(sim_world *w, hsock *s, struct iovec *iov, int cnt, size_t *sent)
{
    SIM_ASSERT(s->type == SOCK_CONN);
    *sent = 0;
    if (s->wr_shut) return SIM_ECLOSED;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
    ssize_t r;
    do {
        r = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) return map_errno(errno);
        hsock_await(w, s, true, HW_WRITE);
        return SIM_PENDING;
    }
    *sent = (size_t)r;
    size_t total = 0;
    for (int i = 0; i < cnt; i++) total += iov[i].iov_len;
    if (*sent == total) return SIM_OK;
    /* Partial: the socket's buffer is full; the edge comes when it drains. */
    hsock_await(w, s, true, HW_WRITE);
    return SIM_PENDING;
}

int sim__hnet_write_poll(sim_write_op *op, sim_world *w)
{
    if (sim__exec_require_task(w, "sim_write") == SIM__NIL) return SIM_EMISUSE;
    int rc;
    hsock *s = hsock_of(w, &op->conn->h, SOCK_CONN, "sim_write", &rc, NULL);
    if (s == NULL) return rc;
    while (op->done_ < op->len) {
        struct iovec iov = {.iov_base = (uint8_t *)op->buf + op->done_,
                            .iov_len = op->len - op->done_};
        size_t sent;
        rc = send_iov(w, s, &iov, 1, &sent);
        op->done_ += sent;
        if (rc != SIM_OK) return rc;
    }
    hnet_write_event(w, s, op->buf, op->len, op->len);
    return SIM_OK;
}

int sim__hnet_frame_read_poll(sim_frame_read_op *op, sim_world *w)
{
    if (sim__exec_require_task(w, "sim_frame_read") == SIM__NIL) return SIM_EMISUSE;
    if (op->max == 0) return SIM_EINVAL;
    int rc;
    hsock *s = hsock_of(w, &op->conn->h, SOCK_CONN, "sim_frame_read", &rc, NULL);
    if (s == NULL) return rc;
    while (op->got_ < 4) {
        size_t got;
        rc = recv_some(w, s, op->hdr_ + op->got_, 4 - op->got_, &got);
        if (rc != SIM_OK) return rc;
        if (got == 0) {
            hnet_read_event(w, s, NULL, 0, 0, true);
            return SIM_EEOF;
        }
        op->got_ += (uint32_t)got;
        if (op->got_ == 4) {
            op->flen_ = (uint32_t)op->hdr_[0] << 24 | (uint32_t)op->hdr_[1] << 16 |
                        (uint32_t)op->hdr_[2] << 8 | op->hdr_[3];
            if (op->flen_ > op->max) return SIM_ETOOBIG;
        }
    }
    while (op->got_ - 4 < op->flen_) {
        size_t got;
        rc = recv_some(w, s, (uint8_t *)op->buf + (op->got_ - 4), op->flen_ - (op->got_ - 4),
                       &got);
        if (rc != SIM_OK) return rc;
        if (got == 0) {
            hnet_read_event(w, s, NULL, 0, 0, true);
            return SIM_EEOF;
        }
        op->got_ += (uint32_t)got;
    }
    if (op->len != NULL) *op->len = op->flen_;
    hnet_read_event(w, s, op->buf, op->flen_, (size_t)op->flen_ + 4, false);
    return SIM_OK;
}

int sim__hnet_frame_write_poll(sim_frame_write_op *op, sim_world *w)
{
    if (sim__exec_require_task(w, "sim_frame_write") == SIM__NIL) return SIM_EMISUSE;
    if (op->max == 0) return SIM_EINVAL;
    if (op->len > op->max) return SIM_ETOOBIG;
    int rc;
    hsock *s = hsock_of(w, &op->conn->h, SOCK_CONN, "sim_frame_write", &rc, NULL);
    if (s == NULL) return rc;
    if (op->done_ == 0) {
        op->hdr_[0] = (uint8_t)(op->len >> 24);
        op->hdr_[1] = (uint8_t)(op->len >> 16);
        op->hdr_[2] = (uint8_t)(op->len >> 8);
        op->hdr_[3] = (uint8_t)op->len;
    }
    while (op->done_ < op->len + 4) {
        struct iovec iov[2];
        int cnt = 0;
        if (op->done_ < 4) {
            iov[cnt++] = (struct iovec){.iov_base = op->hdr_ + op->done_, .iov_len = 4 - op->done_};
            if (op->len > 0) iov[cnt++] = (struct iovec){.iov_base = (void *)op->data,
                                                         .iov_len = op->len};
        } else {
            iov[cnt++] = (struct iovec){.iov_base = (uint8_t *)op->data + (op->done_ - 4),
                                        .iov_len = op->len - (op->done_ - 4)};
        }
        size_t sent;
        rc = send_iov(w, s, iov, cnt, &sent);
        op->done_ += (uint32_t)sent;
        if (rc != SIM_OK) return rc;
    }
    hnet_write_event(w, s, op->data, op->len, (size_t)op->len + 4);
    return SIM_OK;
}

int sim__hnet_shutdown(sim_world *w, const sim_conn *conn)
{
    int rc;
    hsock *s = hsock_of(w, &conn->h, SOCK_CONN, "sim_shutdown", &rc, NULL);
    if (s == NULL) return rc;
    if (s->wr_shut) return SIM_OK;
    if (shutdown(s->fd, SHUT_WR) != 0) return map_errno(errno);
    s->wr_shut = true;
    return SIM_OK;
}

sim_addr sim__hnet_conn_addr(const sim_world *w, const sim_conn *conn, bool peer)
{
    hnet *n = sim__ext_state(w, &hnet_ops);
    sim__ext_hand rec;
    if (n == NULL || conn == NULL) return (sim_addr){0};
    if (sim__ext_hand_find(w, &conn->h, &hnet_ops, &rec) != SIM__EXT_HAND_OK) return (sim_addr){0};
    if (rec.target >= n->used || n->socks[rec.target].id != rec.target_id) return (sim_addr){0};
    return peer ? n->socks[rec.target].peer : n->socks[rec.target].local;
}

/* ---- datagrams -------------------------------------------------------------------------- */

int sim__hnet_udp_bind(sim_world *w, uint16_t port, sim_udp *out)
{
    SIM_ASSERT(out != NULL);
    *out = (sim_udp){0};
    uint32_t node = sim__exec_node_here(w);
    if (node == 0) return SIM_ENODE;
    int fd = host_socket(w, node, SOCK_DGRAM);
    if (fd < 0) return map_errno(-fd);
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(w, node, port, &ss);
    int rc = bind(fd, (struct sockaddr *)&ss, len) == 0 ? SIM_OK : map_errno(errno);
    return host_bound(w, fd, rc, SOCK_UDP, node, &out->h);
}

/* Sent, or dropped when the socket's buffer is full (a datagram may be lost). */
int sim__hnet_udp_send_to(sim_world *w, const sim_udp *sock, sim_addr to, const void *data,
                          size_t len)
{
    int rc;
    hsock *s = hsock_of(w, sock ? &sock->h : NULL, SOCK_UDP, "sim_udp_send_to", &rc, NULL);
    if (s == NULL) return rc;
    if (len > SIM_DATAGRAM_MAX) return SIM_ETOOBIG;
    if (to.node.v == 0 || to.node.v > sim_node_count(w)) return SIM_ENODE;
    if (to.port == 0 || (data == NULL && len > 0)) return SIM_EINVAL;
    struct sockaddr_storage ss;
    socklen_t sl = sockaddr_of(w, to.node.v, to.port, &ss);
    ssize_t r;
    do {
        r = sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) {
        return map_errno(errno);
    }
    if (r >= 0) hnet_event(w, SIM_EV_NET_SEND, SIM_NET_DGRAM, s->local, to, data, len, len);
    return SIM_OK;
}

int sim__hnet_udp_recv_poll(sim_udp_recv_op *op, sim_world *w)
{
    SIM_ASSERT(op != NULL);
    if (sim__exec_require_task(w, "sim_udp_recv") == SIM__NIL) return SIM_EMISUSE;
    int rc;
    hsock *s = hsock_of(w, &op->sock->h, SOCK_UDP, "sim_udp_recv", &rc, NULL);
    if (s == NULL) return rc;
    struct sockaddr_storage ss;
    for (;;) {
        socklen_t sl = sizeof ss;
        ssize_t r = recvfrom(s->fd, op->buf, op->cap, MSG_TRUNC, (struct sockaddr *)&ss, &sl);
        if (r < 0 && (errno == EINTR || errno == ECONNREFUSED)) continue; /* an ICMP echo */
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            hsock_await(w, s, false, HW_DGRAM);
            return SIM_PENDING;
        }
        if (r < 0) return map_errno(errno);
        size_t kept = (size_t)r > op->cap ? op->cap : (size_t)r;
        hnet_event(w, SIM_EV_NET_DELIVER, SIM_NET_DGRAM, addr_of(w, &ss), s->local, op->buf, kept,
                   (size_t)r);
        if (op->out != NULL) {
            bool cut = (size_t)r > op->cap;
            *op->out = (sim_datagram){.len = cut ? op->cap : (size_t)r, .from = addr_of(w, &ss),
                                      .truncated = cut};
        }
        return SIM_OK;
    }
}

sim_addr sim__hnet_udp_addr(const sim_world *w, const sim_udp *sock)
{
    hnet *n = sim__ext_state(w, &hnet_ops);
    sim__ext_hand rec;
    if (n == NULL || sock == NULL) return (sim_addr){0};
    if (sim__ext_hand_find(w, &sock->h, &hnet_ops, &rec) != SIM__EXT_HAND_OK) return (sim_addr){0};
    if (rec.target >= n->used || n->socks[rec.target].id != rec.target_id) return (sim_addr){0};
    return n->socks[rec.target].local;
}
