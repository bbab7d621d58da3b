/*
 * test_net_handles.c: who owns a socket and what the end of its owner releases (sim.h,
 * "Handles and who owns them" and "Network"). A socket belongs to the task that opened,
 * accepted or connected it, or to the node whose boot function opened it; a task that is
 * aborted or crashed while it awaits a socket operation gives up the socket and its place as
 * the socket's reader or writer without a drop function; a connection moved to another task
 * lives as long as that task; a closed handle reads SIM_ECLOSED; a handle of another world
 * is misuse; a timeout around a read leaves the connection usable; and every operation
 * describes itself by the socket it acts on.
 *
 * No task here has a drop function. Tasks copy the handles they make into records on the
 * test's stack, so that the test can look at them once their owner has ended
 * (sim_handle_valid, the world dump's socket count, an operation through the stale copy).
 * Every world is freed before its test returns.
 */
#include <stdio.h>
#include <string.h>

#include "../helpers.h"

#define BIG 100000  /* bytes of a write that cannot finish: the window is 4,096 */

static sim_node_id nid(uint32_t v)
{
    return (sim_node_id){v};
}

static sim_addr at_port(sim_node_id node, uint16_t port)
{
    return (sim_addr){.node = node, .port = port};
}

static const uint8_t big_data[BIG];
static uint8_t frame_buf[BIG + 16];

/* ---- worlds ---------------------------------------------------------------------------------- */

typedef struct net_tally {
    uint64_t drop_why[8];  /* net-drop per reason (SIM_NET_WHY_*) */
    uint64_t resets;       /* net-reset events */
} net_tally;

static void tally_sink(void *ud, const sim_event *e)
{
    net_tally *t = ud;
    if (e->kind == SIM_EV_NET_DROP) t->drop_why[SIM_EV_NET_WHY(e->b) & 7]++;
    if (e->kind == SIM_EV_NET_RESET) t->resets++;
}

/* Nodes n1 and n2 without boot functions; every link a fixed `latency`, a 4,096-byte window,
 * resets 10 ms after a crash, connects that give up after 300 ms. t may be NULL. */
static sim_world *two_nodes(uint64_t seed, uint64_t latency, net_tally *t)
{
    sim_world_desc d = {.seed = seed, .trace = t != NULL ? tally_sink : NULL, .trace_ud = t};
    sim_world *w = test_world_desc(&d);
    sim_net_desc nd = {.send_buffer = 4096, .reset_delay = {10 * SIM_MS, 10 * SIM_MS},
                       .connect_timeout_ns = 300 * SIM_MS};
    cr_assert(eq(int, sim_net_configure(w, &nd), SIM_OK));
    cr_assert(eq(u32, test_node(w, "n1", NULL, NULL).v, 1));
    cr_assert(eq(u32, test_node(w, "n2", NULL, NULL).v, 2));
    sim_link l = {.latency = {latency, latency}};
    cr_assert(eq(int, sim_net_link(w, nid(0), nid(0), &l), SIM_OK));
    return w;
}

/* The dump's "network: N socket(s)" count, or -1 when there is no such line. */
static int dump_sockets(sim_world *w)
{
    const char *d = strstr(sim_world_dump(w), "network: ");
    int n = -1;
    if (d == NULL || sscanf(d, "network: %d socket(s)", &n) != 1) return -1;
    return n;
}

/* Runs the world until `t`, whatever tasks are left (messages in flight land meanwhile). */
static void settle_until(sim_world *w, uint64_t t)
{
    cr_assert(eq(int, sim_block_on(w, sim_sleep_until(t)), SIM_OK), "report:\n%s",
              sim_world_report(w));
}

/* ---- small tasks ----------------------------------------------------------------------------- */

/* Connects to `to` at `at_ns`; the result in *rc_out. */
typedef struct late_connect {
    sim_co co;
    sim_addr to;
    uint64_t at_ns;
    sim_conn conn;
    int *rc_out;
} late_connect;

static int late_connect_poll(void *state, sim_world *w)
{
    late_connect *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_sleep_until(c->at_ns));
    SIM_AWAIT(rc, sim_connect(c->to, &c->conn));
    *c->rc_out = rc;
    SIM_END(SIM_OK);
}

static void spawn_late_connect(sim_world *w, sim_node_id node, sim_addr to, uint64_t at_ns,
                               int *rc_out)
{
    *rc_out = SIM_PENDING;
    late_connect c = {.to = to, .at_ns = at_ns, .rc_out = rc_out};
    test_spawn(w, "late-connect", node, late_connect_poll, NULL, &c, sizeof c);
}

/* Binds an ephemeral port and sends "hi" to `to` at `at_ns`. */
typedef struct late_send {
    sim_co co;
    sim_addr to;
    uint64_t at_ns;
    sim_udp sock;
} late_send;

static int late_send_poll(void *state, sim_world *w)
{
    late_send *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_sleep_until(s->at_ns));
    rc = sim_udp_bind(w, 0, &s->sock);
    if (rc == SIM_OK) rc = sim_udp_send_to(w, &s->sock, s->to, "hi", 2);
    SIM_END(rc);
}

static void spawn_late_send(sim_world *w, sim_node_id node, sim_addr to, uint64_t at_ns)
{
    late_send s = {.to = to, .at_ns = at_ns};
    test_spawn(w, "late-send", node, late_send_poll, NULL, &s, sizeof s);
}

/* ---- the peer on n2 ------------------------------------------------------------------------- */

/* What the peer of a victim saw. */
typedef struct peer_rec {
    int accept_rc;
    int rc;             /* how its reading ended: SIM_OK at the end of the stream */
    uint64_t bytes;     /* bytes read */
    uint64_t end_at;
} peer_rec;

/* Listens on n2:8000 and accepts one connection within 2 s; then sleeps until wait_until,
 * writes `prefix` (may be empty) and reads to the end of the stream (or one frame, with
 * `frame`). Its listener and connection go with it. */
typedef struct peer {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    uint64_t wait_until;
    const char *prefix;
    uint32_t prefix_len;
    bool frame;
    size_t len;
    uint32_t flen;
    uint8_t buf[512];
    peer_rec *rec;
} peer;

static int peer_poll(void *state, sim_world *w)
{
    peer *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    rc = sim_listen(w, 8000, 0, &p->lis);
    if (rc == SIM_OK) {
        SIM_AWAIT(rc, sim_timeout(w, 2 * SIM_S, sim_accept(&p->lis, &p->conn, NULL)));
    }
    p->rec->accept_rc = rc;
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_sleep_until(p->wait_until));
    if (p->prefix_len > 0) {
        SIM_TRY(sim_write(&p->conn, p->prefix, p->prefix_len));
    }
    if (p->frame) {
        SIM_AWAIT(rc, sim_frame_read(&p->conn, frame_buf, sizeof frame_buf, &p->flen));
        p->rec->bytes = p->flen;
    } else {
        for (;;) {
            SIM_AWAIT(rc, sim_read(&p->conn, p->buf, sizeof p->buf, &p->len));
            if (rc != SIM_OK || p->len == 0) break;
            p->rec->bytes += p->len;
        }
    }
    p->rec->rc = rc;
    p->rec->end_at = sim_now(w);
    SIM_END(SIM_OK);
}

/* ==== 1. a task cut in the middle of an operation ============================================= */

typedef enum victim_op {
    V_CONNECT,      /* its SYN lost to a block: the connect waits for its timeout */
    V_HANDSHAKE,    /* cut while the SYN-ACK is on its way: the peer has accepted */
    V_SYN,          /* cut while the SYN is on its way: the peer accepts after the cut */
    V_ACCEPT,
    V_READ,
    V_WRITE,        /* the window is full */
    V_FRAME_READ,   /* the peer wrote a header announcing 10 bytes, and 3 of them */
    V_FRAME_WRITE,  /* the window is full */
    V_UDP_RECV,
    V_OPS
} victim_op;

static const char *const victim_names[V_OPS] = {"connect", "handshake", "syn", "accept", "read",
                                                "write", "frame read", "frame write",
                                                "udp recv"};

typedef struct victim_rec {
    bool reached;       /* its task is awaiting the operation */
    int rc;             /* the operation's result: SIM_PENDING, as it never completes */
    sim_conn conn;      /* copies of its handles */
    sim_listener lis;
    sim_udp udp;
} victim_rec;

/* Opens what it needs on n1 and awaits `op`, which never completes: it is cut first. */
typedef struct victim {
    sim_co co;
    victim_op op;
    sim_addr peer;
    sim_conn conn;
    sim_listener lis;
    sim_udp udp;
    sim_conn accepted;
    size_t len;
    uint32_t flen;
    uint8_t buf[64];
    victim_rec *rec;
} victim;

static bool is_connect(victim_op op)
{
    return op == V_CONNECT || op == V_HANDSHAKE || op == V_SYN;
}

/* The operations on a connection, which the victim makes first. */
static bool on_a_connection(victim_op op)
{
    return op == V_READ || op == V_WRITE || op == V_FRAME_READ || op == V_FRAME_WRITE;
}

/* What the operation needs: a listener or a datagram socket (a connection: the poll). */
static int victim_setup(sim_world *w, victim *v)
{
    victim_rec *r = v->rec;
    int rc = SIM_OK;
    if (v->op == V_ACCEPT) {
        rc = sim_listen(w, 8000, 0, &v->lis);
        r->lis = v->lis;
    } else if (v->op == V_UDP_RECV) {
        rc = sim_udp_bind(w, 7000, &v->udp);
        r->udp = v->udp;
    }
    return rc;
}

static int victim_poll(void *state, sim_world *w)
{
    victim *v = state;
    victim_rec *r = v->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &v->co);
    rc = victim_setup(w, v);
    if (rc == SIM_OK && on_a_connection(v->op)) {
        SIM_AWAIT(rc, sim_connect(v->peer, &v->conn));
        r->conn = v->conn;
    }
    if (rc != SIM_OK) SIM_RETURN(rc);
    r->reached = true;
    if (is_connect(v->op)) {
        SIM_AWAIT(rc, sim_connect(v->peer, &v->conn));
    } else if (v->op == V_ACCEPT) {
        SIM_AWAIT(rc, sim_accept(&v->lis, &v->accepted, NULL));
    } else if (v->op == V_UDP_RECV) {
        SIM_AWAIT(rc, sim_udp_recv(&v->udp, v->buf, sizeof v->buf, NULL));
    } else if (v->op == V_READ) {
        SIM_AWAIT(rc, sim_read(&v->conn, v->buf, sizeof v->buf, &v->len));
    } else if (v->op == V_WRITE) {
        SIM_AWAIT(rc, sim_write(&v->conn, big_data, BIG));
    } else if (v->op == V_FRAME_READ) {
        SIM_AWAIT(rc, sim_frame_read(&v->conn, v->buf, sizeof v->buf, &v->flen));
    } else {
        SIM_AWAIT(rc, sim_frame_write(&v->conn, big_data, BIG, BIG));
    }
    r->rc = rc;
    SIM_END(rc);
}

typedef struct cut_out {
    int join_rc;        /* the victim's result */
    victim_rec v;
    peer_rec p;
    int probe_rc;       /* accept: n2 connects to n1:8000 after the cut */
    int again_rc;       /* n1 opens the victim's port again (accept, udp recv) */
    int stale_rc;       /* the victim's kind of operation, through its stale handle */
    bool still_valid;   /* one of the victim's handles is still valid at the end */
    int sockets_left;   /* the dump's count at the end */
    uint32_t violations;
    net_tally t;
} cut_out;

/* After the cut, on n1: opens the victim's port again, then tries the victim's kind of
 * operation through its stale handle (which must fail at once, not wait). */
typedef struct again {
    sim_co co;
    victim_op op;
    sim_listener lis;
    sim_udp udp;
    sim_conn conn;
    size_t len;
    uint8_t buf[8];
    cut_out *o;
} again;

static int again_poll(void *state, sim_world *w)
{
    again *a = state;
    cut_out *o = a->o;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    if (a->op == V_ACCEPT) {
        o->again_rc = sim_listen(w, 8000, 0, &a->lis);
        SIM_AWAIT(rc, sim_accept(&o->v.lis, &a->conn, NULL));
    } else if (a->op == V_UDP_RECV) {
        o->again_rc = sim_udp_bind(w, 7000, &a->udp);
        SIM_AWAIT(rc, sim_udp_recv(&o->v.udp, a->buf, sizeof a->buf, NULL));
    } else {
        o->again_rc = SIM_OK;
        SIM_AWAIT(rc, sim_read(&o->v.conn, a->buf, sizeof a->buf, &a->len));
    }
    o->stale_rc = rc;
    SIM_END(SIM_OK);
}

/* A victim on n1 awaits `op`; at cut_at its task is aborted, or n1 crashes (and restarts at
 * 500 ms); then n1 opens the victim's port again and uses its stale handle. Every link a fixed
 * 1 ms (10 ms for the handshake and the SYN, so that they are cut in flight). The peer on n2
 * reads to the end of the stream (the write cases from 200 ms on), or for the accept and udp
 * cases connects to or sends to n1 at 150 ms. */
static void cut_run(victim_op op, bool crash, cut_out *o)
{
    bool in_flight = op == V_HANDSHAKE || op == V_SYN;
    *o = (cut_out){.join_rc = SIM_PENDING, .probe_rc = SIM_PENDING, .again_rc = SIM_PENDING,
                   .stale_rc = SIM_PENDING, .v = {.rc = SIM_PENDING},
                   .p = {.accept_rc = SIM_PENDING, .rc = SIM_PENDING}};
    sim_world *w = two_nodes(40 + op, in_flight ? 10 * SIM_MS : SIM_MS, &o->t);
    sim_node_id n1 = nid(1), n2 = nid(2);
    uint64_t cut_at = op == V_HANDSHAKE ? 15 * SIM_MS : op == V_SYN ? 5 * SIM_MS : 100 * SIM_MS;
    if (op == V_CONNECT) cr_assert(eq(int, sim_net_block(w, n1, n2), SIM_OK));
    if (op != V_ACCEPT && op != V_UDP_RECV) {
        peer p = {.rec = &o->p, .frame = op == V_FRAME_WRITE};
        if (op == V_WRITE || op == V_FRAME_WRITE) p.wait_until = 200 * SIM_MS;
        if (op == V_FRAME_READ) {
            p.prefix = "\0\0\0\x0a" "abc";
            p.prefix_len = 7;
        }
        test_spawn(w, "peer", n2, peer_poll, NULL, &p, sizeof p);
    }
    victim v = {.op = op, .peer = at_port(n2, 8000), .rec = &o->v};
    sim_join j = test_spawn(w, "victim", n1, victim_poll, NULL, &v, sizeof v);
    settle_until(w, cut_at);
    cr_assert(o->v.reached, "%s: the victim did not reach its operation", victim_names[op]);
    cr_assert(eq(int, o->v.rc, SIM_PENDING), "%s", victim_names[op]);
    if (crash) {
        cr_assert(eq(int, sim_node_crash(w, n1), SIM_OK));
    } else {
        sim_join_abort(w, &j);
    }
    o->join_rc = sim_block_on(w, sim_join_wait(&j));
    if (op == V_ACCEPT) spawn_late_connect(w, n2, at_port(n1, 8000), 150 * SIM_MS, &o->probe_rc);
    if (op == V_UDP_RECV) spawn_late_send(w, n2, at_port(n1, 7000), 150 * SIM_MS);
    settle_until(w, 500 * SIM_MS);
    if (crash) cr_assert(eq(int, sim_node_restart(w, n1), SIM_OK));
    again a = {.op = op, .o = o};
    test_spawn(w, "again", n1, again_poll, NULL, &a, sizeof a);
    test_run_ok(w);
    settle_until(w, sim_now(w) + SIM_S);
    o->still_valid = sim_handle_valid(w, &o->v.conn) || sim_handle_valid(w, &o->v.lis) ||
                     sim_handle_valid(w, &o->v.udp);
    o->sockets_left = dump_sockets(w);
    o->violations = sim_world_violation_count(w);
    sim_world_free(w);
}

/* Both runs of an operation: the victim ended as it was cut, with no violation; its sockets
 * are gone (none left in the world once the peer has ended too), its port can be opened again
 * and its stale handle says SIM_ECLOSED at once. */
static void cut_both(victim_op op, cut_out *aborted, cut_out *crashed)
{
    cut_run(op, false, aborted);
    cut_run(op, true, crashed);
    const cut_out *both[2] = {aborted, crashed};
    for (int k = 0; k < 2; k++) {
        const cut_out *o = both[k];
        const char *how = k ? "crashed" : "aborted";
        cr_assert(eq(int, o->join_rc, k ? SIM_ECRASHED : SIM_ECANCELED), "%s %s",
                  victim_names[op], how);
        cr_assert(eq(u32, o->violations, 0), "%s %s", victim_names[op], how);
        cr_assert(not(o->still_valid), "%s %s: a handle outlived its task", victim_names[op],
                  how);
        cr_assert(eq(int, o->sockets_left, 0), "%s %s: sockets left", victim_names[op], how);
        cr_assert(eq(int, o->again_rc, SIM_OK), "%s %s: reopening the port: %s",
                  victim_names[op], how, sim_result_name(o->again_rc));
        cr_assert(eq(int, o->stale_rc, SIM_ECLOSED), "%s %s: through the stale handle: %s",
                  victim_names[op], how, sim_result_name(o->stale_rc));
    }
}

/* Goal: a task aborted or crashed while its connect waits for an answer (the SYN was lost)
 * gives up the connection being made and its ephemeral port, with no drop function and no
 * violation; nothing reaches the peer, whose accept times out.
 * Method: n1 -> n2 blocked; the victim on n1 connects to n2:8000 and is cut at 100 ms. */
Test(net_handles, cut_mid_connect)
{
    cut_out a, c;
    cut_both(V_CONNECT, &a, &c);
    cr_assert(eq(int, a.p.accept_rc, SIM_ETIMEDOUT));
    cr_assert(eq(int, c.p.accept_rc, SIM_ETIMEDOUT));
    cr_assert(eq(u64, a.t.drop_why[SIM_NET_WHY_PARTITION], 1)); /* the SYN */
}

/* Goal: a connect cut while its SYN-ACK is on its way, after the peer accepted, leaves no
 * half-open connection behind: the peer's read ends with SIM_ECONNRESET, whether the
 * connecting task was aborted (the SYN-ACK meets no endpoint and is answered with a reset) or
 * its node crashed (the peer learns of the crash the reset delay later, as an established
 * peer does), and the run ends.
 * Method: every link a fixed 10 ms; the SYN arrives at 10 ms, the peer accepts and reads, the
 * victim is cut at 15 ms; the SYN-ACK reaches n1 at 20 ms. Expected: the reset at 30 ms both
 * ways (the reset's way back, or the 10 ms reset delay). */
Test(net_handles, cut_mid_handshake)
{
    cut_out a, c;
    cut_both(V_HANDSHAKE, &a, &c);
    const cut_out *both[2] = {&a, &c};
    for (int k = 0; k < 2; k++) {
        cr_assert(eq(int, both[k]->p.accept_rc, SIM_OK), "run %d", k);
        cr_assert(eq(int, both[k]->p.rc, SIM_ECONNRESET), "run %d: the peer's read: %s", k,
                  sim_result_name(both[k]->p.rc));
        cr_assert(eq(u64, both[k]->p.end_at, 30 * SIM_MS), "run %d", k);
    }
}

/* Goal: the same when the connect is cut before its SYN arrives: the peer accepts it after
 * the cut, and its read is reset all the same (the SYN-ACK meets no endpoint, or a node
 * that is down).
 * Method: as cut_mid_handshake, cut at 5 ms: the SYN arrives at 10 ms, the SYN-ACK at 20 ms;
 * the reset at 30 ms both ways. */
Test(net_handles, cut_mid_syn)
{
    cut_out a, c;
    cut_both(V_SYN, &a, &c);
    const cut_out *both[2] = {&a, &c};
    for (int k = 0; k < 2; k++) {
        cr_assert(eq(int, both[k]->p.accept_rc, SIM_OK), "run %d", k);
        cr_assert(eq(int, both[k]->p.rc, SIM_ECONNRESET), "run %d: the peer's read: %s", k,
                  sim_result_name(both[k]->p.rc));
        cr_assert(eq(u64, both[k]->p.end_at, 30 * SIM_MS), "run %d", k);
    }
}

/* Goal: a task cut while it awaits an accept closes its listener: a connect to the port is
 * refused (aborted; crashed: n1 is down, the connect times out) and the port can be listened
 * on again.
 * Method: the victim listens on n1:8000 and accepts; cut at 100 ms; n2 connects at 150 ms. */
Test(net_handles, cut_mid_accept)
{
    cut_out a, c;
    cut_both(V_ACCEPT, &a, &c);
    cr_assert(eq(int, a.probe_rc, SIM_ECONNREFUSED), "%s", sim_result_name(a.probe_rc));
    cr_assert(eq(int, c.probe_rc, SIM_ETIMEDOUT), "%s", sim_result_name(c.probe_rc));
}

/* Goal: a task cut while it reads closes its connection: aborted, the close goes out and the
 * peer reads the end of the stream; crashed, the peer is reset after the reset delay.
 * Method: the victim connects to n2:8000 and reads, the peer reads too; cut at 100 ms. */
Test(net_handles, cut_mid_read)
{
    cut_out a, c;
    cut_both(V_READ, &a, &c);
    cr_assert(eq(int, a.p.rc, SIM_OK));
    cr_assert(eq(u64, a.p.bytes, 0));
    cr_assert(eq(u64, a.p.end_at, 101 * SIM_MS));
    cr_assert(eq(int, c.p.rc, SIM_ECONNRESET));
    cr_assert(eq(u64, c.p.end_at, 110 * SIM_MS));
}

/* Goal: a task cut while its write waits for the window closes its connection: aborted, what
 * the stream had taken (the 4,096-byte window) still goes out, then the end of the stream;
 * crashed, the peer is reset.
 * Method: the victim writes 100,000 bytes; the peer reads from 200 ms on; cut at 100 ms. */
Test(net_handles, cut_mid_write)
{
    cut_out a, c;
    cut_both(V_WRITE, &a, &c);
    cr_assert(eq(int, a.p.rc, SIM_OK));
    cr_assert(eq(u64, a.p.bytes, 4096));
    cr_assert(eq(int, c.p.rc, SIM_ECONNRESET));
    cr_assert(eq(u64, c.p.bytes, 0));
}

/* Goal: a task cut in the middle of reading a frame (header and 3 of its 10 bytes read)
 * closes its connection as a read does.
 * Method: the peer writes the header and 3 bytes, then reads; cut at 100 ms. */
Test(net_handles, cut_mid_frame_read)
{
    cut_out a, c;
    cut_both(V_FRAME_READ, &a, &c);
    cr_assert(eq(int, a.p.rc, SIM_OK));
    cr_assert(eq(u64, a.p.end_at, 101 * SIM_MS));
    cr_assert(eq(int, c.p.rc, SIM_ECONNRESET));
}

/* Goal: a task cut in the middle of writing a frame closes its connection: the peer's frame
 * read ends inside the frame (SIM_EEOF: the part the stream took, then the end), or is reset.
 * Method: a frame of 100,000 bytes against a 4,096-byte window; the peer reads one frame from
 * 200 ms on; cut at 100 ms. */
Test(net_handles, cut_mid_frame_write)
{
    cut_out a, c;
    cut_both(V_FRAME_WRITE, &a, &c);
    cr_assert(eq(int, a.p.rc, SIM_EEOF), "%s", sim_result_name(a.p.rc));
    cr_assert(eq(int, c.p.rc, SIM_ECONNRESET));
}

/* Goal: a task cut while it awaits a datagram closes its socket: a datagram sent to the port
 * afterwards finds nothing bound there (aborted), or a node that is down (crashed); the port
 * can be bound again.
 * Method: the victim binds n1:7000 and receives; cut at 100 ms; n2 sends at 150 ms. */
Test(net_handles, cut_mid_udp_recv)
{
    cut_out a, c;
    cut_both(V_UDP_RECV, &a, &c);
    cr_assert(eq(u64, a.t.drop_why[SIM_NET_WHY_NOSOCK], 1));
    cr_assert(eq(u64, c.t.drop_why[SIM_NET_WHY_DOWN], 1));
}

/* Listens on n1:8000 and never accepts: it sleeps 1 s. */
typedef struct idle_listener {
    sim_co co;
    sim_listener lis;
} idle_listener;

static int idle_listener_poll(void *state, sim_world *w)
{
    idle_listener *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    rc = sim_listen(w, 8000, 0, &l->lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_sleep(w, SIM_S));
    SIM_END(SIM_OK);
}

/* Connects to n1:8000 and reads; the results and when the read ended in the record. */
typedef struct queued_client {
    sim_co co;
    sim_conn conn;
    size_t len;
    uint8_t buf[8];
    peer_rec *rec;
} queued_client;

static int queued_client_poll(void *state, sim_world *w)
{
    queued_client *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_connect(at_port(nid(1), 8000), &c->conn));
    c->rec->accept_rc = rc;
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_read(&c->conn, c->buf, sizeof c->buf, &c->len));
    c->rec->rc = rc;
    c->rec->end_at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Goal: the end of a listener's owner also ends the connections waiting in its queue, which
 * nobody accepted: their clients' reads end with SIM_ECONNRESET, at once (aborted: the
 * listener's close answers them with a reset) or the reset delay after the crash; no socket
 * is left behind.
 * Method: every link 1 ms; a task on n1 listens on 8000 and never accepts; a client on n2
 * connects (queued; connected at 2 ms) and reads; at 100 ms the listening task is aborted, or
 * n1 crashes. */
Test(net_handles, cut_listener_resets_its_queue)
{
    for (int crash = 0; crash <= 1; crash++) {
        sim_world *w = two_nodes(68, SIM_MS, NULL);
        peer_rec r = {.accept_rc = SIM_PENDING, .rc = SIM_PENDING};
        idle_listener l = {0};
        queued_client c = {.rec = &r};
        sim_join j = test_spawn(w, "listener", nid(1), idle_listener_poll, NULL, &l, sizeof l);
        test_spawn(w, "client", nid(2), queued_client_poll, NULL, &c, sizeof c);
        settle_until(w, 100 * SIM_MS);
        cr_assert(eq(int, r.accept_rc, SIM_OK));
        cr_assert(eq(int, r.rc, SIM_PENDING));
        if (crash) {
            cr_assert(eq(int, sim_node_crash(w, nid(1)), SIM_OK));
        } else {
            sim_join_abort(w, &j);
        }
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), crash ? SIM_ECRASHED
                                                                      : SIM_ECANCELED));
        test_run_ok(w);
        settle_until(w, sim_now(w) + SIM_S);
        cr_assert(eq(int, r.rc, SIM_ECONNRESET), "crash %d: %s", crash, sim_result_name(r.rc));
        cr_assert(eq(u64, r.end_at, crash ? 110 * SIM_MS : 101 * SIM_MS), "crash %d", crash);
        cr_assert(eq(int, dump_sockets(w), 0), "crash %d", crash);
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_world_free(w);
    }
}

/* ==== 2. sockets a boot function opens belong to the node ===================================== */

typedef struct boot_rec {
    uint32_t boots;
    int udp_rc[2], lis_rc[2];   /* per boot */
    sim_udp udp;                /* the first boot's */
    sim_listener lis;
    sim_udp own;                /* a socket the first user bound itself */
    int user_rc[3];             /* the user's receive, accept and bind */
    int reader_rc;              /* a reader aborted on the node's socket */
    int user2_rc;               /* a later task's receive on the node's socket */
    char user2_got[4];
} boot_rec;

/* Receives one datagram and accepts one connection on the node's sockets, binds 7001 for
 * itself, and ends. */
typedef struct user {
    sim_co co;
    sim_udp udp;                /* the node's */
    sim_listener lis;           /* the node's */
    sim_conn conn;
    sim_udp own;
    uint8_t buf[8];
    int *rc_out;                /* 3 results, or 1 when only_recv */
    char *got;                  /* may be NULL */
    bool only_recv;
} user;

static int user_poll(void *state, sim_world *w)
{
    user *u = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &u->co);
    SIM_AWAIT(rc, sim_udp_recv(&u->udp, u->buf, sizeof u->buf, NULL));
    u->rc_out[0] = rc;
    if (u->got != NULL) memcpy(u->got, u->buf, 2);
    if (u->only_recv) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_accept(&u->lis, &u->conn, NULL));
    u->rc_out[1] = rc;
    u->rc_out[2] = sim_udp_bind(w, 7001, &u->own);
    SIM_END(SIM_OK);
}

/* Boot: binds 7000 and listens on 8000 (the node's); the first boot also spawns a user of them
 * and a reader of the datagram socket (which the test aborts). */
static int boot_sockets(void *ud, sim_world *w, sim_node_id node)
{
    boot_rec *r = ud;
    uint32_t k = r->boots++;
    if (k >= 2) return SIM_ELIMIT;
    sim_udp udp;
    sim_listener lis;
    r->udp_rc[k] = sim_udp_bind(w, 7000, &udp);
    r->lis_rc[k] = sim_listen(w, 8000, 0, &lis);
    if (k > 0) return SIM_OK;
    r->udp = udp;
    r->lis = lis;
    user u = {.udp = udp, .lis = lis, .rc_out = r->user_rc};
    sim_task_desc d = {.name = "user", .node = node, .poll = user_poll, .state = &u,
                       .state_size = sizeof u};
    return sim_spawn(w, &d, NULL);
}

/* Goal: sockets a boot function opens belong to the node: a task that uses them (receives on
 * the datagram socket, accepts on the listener) does not take them with it when it ends, and
 * a later task receives on the same socket; a task aborted while it waited to receive on it
 * gives up its place as the socket's reader, so the next reader gets the datagram; the node's
 * crash closes them and frees their ports, which its next boot binds again. A socket the
 * user task bound itself goes with the task (a datagram to it finds nothing there).
 * Method: n1's boot binds 7000 and listens on 8000; its user task receives, accepts and binds
 * 7001, then ends. n2 sends to 7000 and connects to 8000 at 10 ms. The test then spawns a
 * reader on 7000 and aborts it at 60 ms, and a second reader; n2 sends to 7001 and to 7000 at
 * 100 ms. At 200 ms n1 crashes and restarts. */
Test(net_handles, boot_sockets_belong_to_the_node)
{
    net_tally t = {0};
    sim_world_desc d = {.seed = 60, .trace = tally_sink, .trace_ud = &t};
    sim_world *w = test_world_desc(&d);
    boot_rec r = {.user_rc = {SIM_PENDING, SIM_PENDING, SIM_PENDING}, .reader_rc = SIM_PENDING,
                  .user2_rc = SIM_PENDING};
    sim_node_id n1 = test_node(w, "n1", boot_sockets, &r);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    int conn_rc;
    spawn_late_send(w, n2, at_port(n1, 7000), 10 * SIM_MS);
    spawn_late_connect(w, n2, at_port(n1, 8000), 10 * SIM_MS, &conn_rc);
    settle_until(w, 50 * SIM_MS);
    cr_assert(eq(int, r.udp_rc[0], SIM_OK));
    cr_assert(eq(int, r.lis_rc[0], SIM_OK));
    for (int i = 0; i < 3; i++) cr_assert(eq(int, r.user_rc[i], SIM_OK), "user step %d", i);
    cr_assert(eq(int, conn_rc, SIM_OK));
    /* The user has ended: the node's sockets are still there, its own is gone. */
    cr_assert(sim_handle_valid(w, &r.udp));
    cr_assert(sim_handle_valid(w, &r.lis));
    user reader = {.udp = r.udp, .rc_out = &r.reader_rc, .only_recv = true};
    sim_join jr = test_spawn(w, "reader", n1, user_poll, NULL, &reader, sizeof reader);
    settle_until(w, 60 * SIM_MS);
    sim_join_abort(w, &jr);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&jr)), SIM_ECANCELED));
    user later = {.udp = r.udp, .rc_out = &r.user2_rc, .got = r.user2_got, .only_recv = true};
    test_spawn(w, "later", n1, user_poll, NULL, &later, sizeof later);
    spawn_late_send(w, n2, at_port(n1, 7001), 100 * SIM_MS);
    spawn_late_send(w, n2, at_port(n1, 7000), 100 * SIM_MS);
    settle_until(w, 200 * SIM_MS);
    cr_assert(eq(int, r.reader_rc, SIM_PENDING));
    cr_assert(eq(int, r.user2_rc, SIM_OK));
    cr_assert(eq(int, memcmp(r.user2_got, "hi", 2), 0));
    cr_assert(eq(u64, t.drop_why[SIM_NET_WHY_NOSOCK], 1)); /* the datagram to 7001 */
    cr_assert(sim_handle_valid(w, &r.udp));
    cr_assert(eq(int, dump_sockets(w), 2), "%s", sim_world_dump(w));
    /* The crash takes the node's sockets; the next boot binds the same ports. */
    cr_assert(eq(int, sim_node_crash(w, n1), SIM_OK));
    cr_assert(not(sim_handle_valid(w, &r.udp)));
    cr_assert(not(sim_handle_valid(w, &r.lis)));
    cr_assert(eq(int, sim_node_restart(w, n1), SIM_OK));
    cr_assert(eq(u32, r.boots, 2));
    cr_assert(eq(int, r.udp_rc[1], SIM_OK));
    cr_assert(eq(int, r.lis_rc[1], SIM_OK));
    test_run_ok(w);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 3. a connection moved to a handler ====================================================== */

enum { HAND_MOVES, HAND_MOVE_CALL, HAND_KEPT };

typedef struct handoff_rec {
    int how;                    /* HAND_* */
    uint64_t server_end;        /* when the server task ended */
    int handler_read, handler_write;
    uint64_t handler_read_at;
    char request[8];
    int client_rc;
    char reply[8];
} handoff_rec;

/* Sleeps 50 ms (past the server's end), reads "ping", answers "pong". */
typedef struct handler {
    sim_co co;
    sim_conn conn;              /* accepted by the server */
    handoff_rec *rec;
} handler;

static int handler_poll(void *state, sim_world *w)
{
    handler *h = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &h->co);
    SIM_TRY(sim_sleep(w, 50 * SIM_MS));
    SIM_AWAIT(rc, sim_read_exact(&h->conn, h->rec->request, 4));
    h->rec->handler_read = rc;
    h->rec->handler_read_at = sim_now(w);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_write(&h->conn, "pong", 4));
    h->rec->handler_write = rc;
    SIM_END(rc);
}

/* Listens on n2:8000, accepts one connection, hands it to a handler task and ends. */
typedef struct handoff_server {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    handoff_rec *rec;
} handoff_server;

static int hand_over(sim_world *w, handoff_server *s)
{
    handler h = {.conn = s->conn, .rec = s->rec};
    /* SIM_MOVES is a compound literal: it lives as long as the block it is written in, so it
     * is chosen here, in the function's block, not assigned inside an if. */
    sim_task_desc d = {.name = "handler", .poll = handler_poll, .state = &h,
                       .state_size = sizeof h,
                       .moves = s->rec->how == HAND_MOVES ? SIM_MOVES(&h.conn) : NULL};
    sim_join j;
    int rc = sim_spawn(w, &d, &j);
    if (rc == SIM_OK && s->rec->how == HAND_MOVE_CALL) {
        rc = sim_handle_move(w, &s->conn, j.task);
    }
    return rc; /* the join handle goes with the server: the handler runs on detached */
}

static int handoff_server_poll(void *state, sim_world *w)
{
    handoff_server *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    rc = sim_listen(w, 8000, 0, &s->lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_accept(&s->lis, &s->conn, NULL));
    rc = hand_over(w, s);
    s->rec->server_end = sim_now(w);
    SIM_END(rc);
}

/* Connects to n2:8000, writes "ping", reads 4 bytes. */
typedef struct handoff_client {
    sim_co co;
    sim_conn conn;
    handoff_rec *rec;
} handoff_client;

static int handoff_client_poll(void *state, sim_world *w)
{
    handoff_client *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_connect(at_port(nid(2), 8000), &c->conn));
    SIM_TRY(sim_write(&c->conn, "ping", 4));
    SIM_AWAIT(rc, sim_read_exact(&c->conn, c->rec->reply, 4));
    c->rec->client_rc = rc;
    SIM_END(SIM_OK);
}

static uint32_t handoff_run(int how, handoff_rec *r)
{
    *r = (handoff_rec){.how = how, .handler_read = SIM_PENDING, .handler_write = SIM_PENDING,
                       .client_rc = SIM_PENDING};
    sim_world *w = two_nodes(61, SIM_MS, NULL);
    handoff_server s = {.rec = r};
    handoff_client c = {.rec = r};
    test_spawn(w, "server", nid(2), handoff_server_poll, NULL, &s, sizeof s);
    test_spawn(w, "client", nid(1), handoff_client_poll, NULL, &c, sizeof c);
    test_run_ok(w);
    uint32_t violations = sim_world_violation_count(w);
    sim_world_free(w);
    return violations;
}

/* Goal: a connection accepted by a server task and moved to a handler (in the spawn's moves,
 * or by sim_handle_move) lives as long as the handler: the handler reads the request and
 * answers after the server task ended. Kept by the server instead, it is closed when the
 * server ends: the handler's read says SIM_ECLOSED (no violation: a closed socket is a result,
 * not misuse) and the client gets no answer.
 * Method: the server on n2 accepts, spawns the handler (which sleeps 50 ms) and ends; the
 * client on n1 sends "ping" and reads 4 bytes. Three runs: moves, sim_handle_move, neither. */
Test(net_handles, moved_connection_outlives_the_server_task)
{
    handoff_rec r;
    for (int how = HAND_MOVES; how <= HAND_MOVE_CALL; how++) {
        cr_assert(eq(u32, handoff_run(how, &r), 0), "how %d", how);
        cr_assert(lt(u64, r.server_end, r.handler_read_at), "how %d", how);
        cr_assert(eq(int, r.handler_read, SIM_OK), "how %d: %s", how,
                  sim_result_name(r.handler_read));
        cr_assert(eq(int, memcmp(r.request, "ping", 4), 0));
        cr_assert(eq(int, r.handler_write, SIM_OK));
        cr_assert(eq(int, r.client_rc, SIM_OK), "how %d", how);
        cr_assert(eq(int, memcmp(r.reply, "pong", 4), 0));
    }
    cr_assert(eq(u32, handoff_run(HAND_KEPT, &r), 0));
    cr_assert(eq(int, r.handler_read, SIM_ECLOSED), "%s", sim_result_name(r.handler_read));
    cr_assert(eq(int, r.handler_write, SIM_PENDING));
    cr_assert(ne(int, r.client_rc, SIM_OK));
    cr_assert(ne(int, r.client_rc, SIM_PENDING));
}

/* Holds a connection made elsewhere for 10 s; shares it with its node first if asked. */
typedef struct far_holder {
    sim_co co;
    sim_conn conn;              /* moved to it at spawn */
    bool share;
    int *share_rc;
} far_holder;

static int far_holder_poll(void *state, sim_world *w)
{
    far_holder *h = state;
    SIM_BEGIN(w, &h->co);
    if (h->share) *h->share_rc = sim_handle_share(w, &h->conn);
    SIM_TRY(sim_sleep(w, 10 * SIM_S));
    SIM_END(SIM_OK);
}

/* Connects from n1 to n2:8000 and moves the connection to a holder on n3; then ends. */
typedef struct far_opener {
    sim_co co;
    sim_conn conn;
    bool share;
    int *share_rc;
} far_opener;

static int far_opener_poll(void *state, sim_world *w)
{
    far_opener *o = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &o->co);
    SIM_TRY(sim_connect(at_port(nid(2), 8000), &o->conn));
    {
        far_holder h = {.conn = o->conn, .share = o->share, .share_rc = o->share_rc};
        sim_task_desc d = {.name = "far-holder", .node = nid(3), .poll = far_holder_poll,
                           .state = &h, .state_size = sizeof h, .moves = SIM_MOVES(&h.conn)};
        rc = sim_spawn(w, &d, NULL);
    }
    SIM_END(rc);
}

/* Goal: a connection whose handle was moved to a task of another node (or shared with that
 * node) is closed when that node crashes and takes the handle with it: the connection's own
 * node is up and closes it as the owner's end does, so its peer reads the end of the stream
 * instead of waiting forever on a connection nobody holds (regression: the endpoint was let go
 * without a word, as if the world were being freed). No violation; no socket left.
 * Method: every link 1 ms; a peer on n2 accepts and reads; a task on n1 connects and moves
 * the connection to a holder on n3 (which shares it with n3 in the second run); n3 crashes at
 * 100 ms. */
Test(net_handles, connection_of_a_crashed_owner_elsewhere_closes)
{
    for (int share = 0; share <= 1; share++) {
        sim_world *w = two_nodes(69, SIM_MS, NULL);
        sim_node_id n3 = test_node(w, "n3", NULL, NULL);
        peer_rec r = {.accept_rc = SIM_PENDING, .rc = SIM_PENDING};
        peer p = {.rec = &r};
        int share_rc = SIM_PENDING;
        far_opener o = {.share = share, .share_rc = &share_rc};
        test_spawn(w, "peer", nid(2), peer_poll, NULL, &p, sizeof p);
        test_spawn(w, "opener", nid(1), far_opener_poll, NULL, &o, sizeof o);
        settle_until(w, 100 * SIM_MS);
        cr_assert(eq(int, r.accept_rc, SIM_OK));
        cr_assert(eq(int, r.rc, SIM_PENDING));
        if (share) cr_assert(eq(int, share_rc, SIM_OK));
        cr_assert(eq(int, sim_node_crash(w, n3), SIM_OK));
        test_run_ok(w);
        settle_until(w, sim_now(w) + SIM_S);
        cr_assert(eq(int, r.rc, SIM_OK), "share %d: %s", share, sim_result_name(r.rc));
        cr_assert(eq(u64, r.end_at, 101 * SIM_MS), "share %d", share);
        cr_assert(eq(int, dump_sockets(w), 0), "share %d", share);
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_world_free(w);
    }
}

/* ==== 4. closed handles ======================================================================= */

/* Listens on n2:8000 and keeps what it accepts for 1 s. */
typedef struct keeper {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    sim_conn *out;              /* may be NULL: where to copy the accepted handle */
    sim_listener *lis_out;      /* may be NULL */
} keeper;

static int keeper_poll(void *state, sim_world *w)
{
    keeper *k = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &k->co);
    rc = sim_listen(w, 8000, 0, &k->lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    if (k->lis_out != NULL) *k->lis_out = k->lis;
    SIM_TRY(sim_accept(&k->lis, &k->conn, NULL));
    if (k->out != NULL) *k->out = k->conn;
    SIM_TRY(sim_sleep(w, SIM_S));
    SIM_END(SIM_OK);
}

enum { CL_READ, CL_READ_EXACT, CL_WRITE, CL_FRAME_READ, CL_FRAME_WRITE, CL_ZEROED_READ,
       CL_ACCEPT, CL_UDP_RECV, CL_KINDS };

typedef struct closed_rec {
    int rc[CL_KINDS];           /* each operation through a closed handle */
    int shutdown_rc, send_rc;
    bool copy_zeroed;           /* the handle closed was emptied */
    bool addrs_zero;            /* sim_conn_local, _peer and sim_udp_addr of closed sockets */
} closed_rec;

/* Opens a connection, a listener and a datagram socket, closes each through a copy of its
 * handle, then uses the original. */
typedef struct closer {
    sim_co co;
    sim_conn conn, copy;
    sim_listener lis, lis_copy;
    sim_udp udp, udp_copy;
    sim_conn accepted;
    size_t len;
    uint32_t flen;
    uint8_t buf[16];
    closed_rec *rec;
} closer;

/* Closes every socket through a copy; the synchronous calls on the originals. */
static void closer_close(sim_world *w, closer *c)
{
    closed_rec *r = c->rec;
    c->copy = c->conn;
    c->lis_copy = c->lis;
    c->udp_copy = c->udp;
    sim_conn_close(w, &c->copy);
    sim_listener_close(w, &c->lis_copy);
    sim_udp_close(w, &c->udp_copy);
    r->copy_zeroed = c->copy.h.id_ == 0 && c->lis_copy.h.id_ == 0 && c->udp_copy.h.id_ == 0;
    r->shutdown_rc = sim_shutdown(w, &c->conn);
    r->send_rc = sim_udp_send_to(w, &c->udp, at_port(nid(2), 7000), "x", 1);
    sim_addr l = sim_conn_local(w, &c->conn), p = sim_conn_peer(w, &c->conn);
    sim_addr u = sim_udp_addr(w, &c->udp);
    r->addrs_zero = l.node.v == 0 && l.port == 0 && p.node.v == 0 && p.port == 0 &&
                    u.node.v == 0 && u.port == 0;
    sim_conn_close(w, &c->conn); /* closing again is harmless */
}

static int closer_poll(void *state, sim_world *w)
{
    closer *c = state;
    closed_rec *r = c->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_connect(at_port(nid(2), 8000), &c->conn));
    rc = sim_listen(w, 9000, 0, &c->lis);
    if (rc == SIM_OK) rc = sim_udp_bind(w, 7000, &c->udp);
    if (rc != SIM_OK) SIM_RETURN(rc);
    closer_close(w, c);
    SIM_AWAIT(rc, sim_read(&c->conn, c->buf, sizeof c->buf, &c->len));
    r->rc[CL_READ] = rc;
    SIM_AWAIT(rc, sim_read_exact(&c->conn, c->buf, 4));
    r->rc[CL_READ_EXACT] = rc;
    SIM_AWAIT(rc, sim_write(&c->conn, "data", 4));
    r->rc[CL_WRITE] = rc;
    SIM_AWAIT(rc, sim_frame_read(&c->conn, c->buf, sizeof c->buf, &c->flen));
    r->rc[CL_FRAME_READ] = rc;
    SIM_AWAIT(rc, sim_frame_write(&c->conn, "data", 4, 64));
    r->rc[CL_FRAME_WRITE] = rc;
    SIM_AWAIT(rc, sim_read(&c->copy, c->buf, sizeof c->buf, &c->len));
    r->rc[CL_ZEROED_READ] = rc;
    SIM_AWAIT(rc, sim_accept(&c->lis, &c->accepted, NULL));
    r->rc[CL_ACCEPT] = rc;
    SIM_AWAIT(rc, sim_udp_recv(&c->udp, c->buf, sizeof c->buf, NULL));
    r->rc[CL_UDP_RECV] = rc;
    SIM_END(SIM_OK);
}

/* Goal: a socket closed through any copy of its handle is closed for every copy: each
 * operation through another copy completes at once with SIM_ECLOSED (read, read_exact,
 * write, frame read and write, accept, receive), as do sim_shutdown and sim_udp_send_to; the
 * handle closed is emptied and reads SIM_ECLOSED too; the addresses of a closed socket are
 * zero; closing again is harmless; none of it is a violation.
 * Method: a task on n1 connects to n2:8000 (a keeper accepts), listens on 9000 and binds
 * 7000, closes each through a copy and uses the originals. */
Test(net_handles, closed_handle_is_eclosed)
{
    sim_world *w = two_nodes(62, SIM_MS, NULL);
    closed_rec r = {0};
    for (int i = 0; i < CL_KINDS; i++) r.rc[i] = SIM_PENDING;
    keeper k = {0};
    closer c = {.rec = &r};
    test_spawn(w, "keeper", nid(2), keeper_poll, NULL, &k, sizeof k);
    sim_join j = test_spawn(w, "closer", nid(1), closer_poll, NULL, &c, sizeof c);
    test_run_ok(w);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    static const char *const what[CL_KINDS] = {"read", "read_exact", "write", "frame read",
                                               "frame write", "read (emptied handle)",
                                               "accept", "udp recv"};
    for (int i = 0; i < CL_KINDS; i++) {
        cr_assert(eq(int, r.rc[i], SIM_ECLOSED), "%s: %s", what[i], sim_result_name(r.rc[i]));
    }
    cr_assert(eq(int, r.shutdown_rc, SIM_ECLOSED));
    cr_assert(eq(int, r.send_rc, SIM_ECLOSED));
    cr_assert(r.copy_zeroed);
    cr_assert(r.addrs_zero);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Awaits an accept, a read or a receive (`kind`: CL_ACCEPT, CL_READ, CL_UDP_RECV) on a socket
 * that another task closes through its own copy; the result and when in the record. */
typedef struct waiter {
    sim_co co;
    int kind;
    sim_listener lis;
    sim_conn conn;
    sim_udp udp;
    sim_conn accepted;
    size_t len;
    uint8_t buf[8];
    int *rc_out;
    uint64_t *at_out;
} waiter;

static int waiter_poll(void *state, sim_world *w)
{
    waiter *x = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &x->co);
    if (x->kind == CL_ACCEPT) {
        SIM_AWAIT(rc, sim_accept(&x->lis, &x->accepted, NULL));
    } else if (x->kind == CL_READ) {
        SIM_AWAIT(rc, sim_read(&x->conn, x->buf, sizeof x->buf, &x->len));
    } else {
        SIM_AWAIT(rc, sim_udp_recv(&x->udp, x->buf, sizeof x->buf, NULL));
    }
    *x->rc_out = rc;
    *x->at_out = sim_now(w);
    SIM_END(SIM_OK);
}

/* Opens a listener, a connection and a datagram socket (its own), hands copies of their
 * handles to three waiters, sleeps 10 ms and closes each through its own copy. */
typedef struct shutter {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    sim_udp udp;
    int *rc_out;                /* 3 results, CL_ACCEPT, CL_READ and CL_UDP_RECV order */
    uint64_t *at_out;
} shutter;

static int spawn_waiters(sim_world *w, shutter *s)
{
    static const int kinds[3] = {CL_ACCEPT, CL_READ, CL_UDP_RECV};
    int rc = SIM_OK;
    for (int i = 0; i < 3 && rc == SIM_OK; i++) {
        waiter x = {.kind = kinds[i], .lis = s->lis, .conn = s->conn, .udp = s->udp,
                    .rc_out = &s->rc_out[i], .at_out = &s->at_out[i]};
        sim_task_desc d = {.name = "waiter", .poll = waiter_poll, .state = &x,
                           .state_size = sizeof x};
        rc = sim_spawn(w, &d, NULL);
    }
    return rc;
}

static int shutter_poll(void *state, sim_world *w)
{
    shutter *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_connect(at_port(nid(2), 8000), &s->conn));
    rc = sim_listen(w, 9000, 0, &s->lis);
    if (rc == SIM_OK) rc = sim_udp_bind(w, 7000, &s->udp);
    if (rc == SIM_OK) rc = spawn_waiters(w, s);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    sim_listener_close(w, &s->lis);
    sim_conn_close(w, &s->conn);
    sim_udp_close(w, &s->udp);
    SIM_END(SIM_OK);
}

/* Goal: closing a socket wakes the task that waits on it through another copy of its handle:
 * its accept, read or receive completes at once with SIM_ECLOSED (it neither hangs nor waits
 * for the peer), with no violation.
 * Method: a task on n1 connects to n2:8000 (a keeper accepts), listens on 9000, binds 7000,
 * spawns a waiter on each and closes the three at 12 ms (connected at 2 ms, then 10 ms). */
Test(net_handles, close_wakes_the_waiting_task)
{
    sim_world *w = two_nodes(67, SIM_MS, NULL);
    int rc[3] = {SIM_PENDING, SIM_PENDING, SIM_PENDING};
    uint64_t at[3] = {0};
    keeper k = {0};
    shutter s = {.rc_out = rc, .at_out = at};
    test_spawn(w, "keeper", nid(2), keeper_poll, NULL, &k, sizeof k);
    test_spawn(w, "shutter", nid(1), shutter_poll, NULL, &s, sizeof s);
    test_run_ok(w);
    static const char *const what[3] = {"accept", "read", "udp recv"};
    for (int i = 0; i < 3; i++) {
        cr_assert(eq(int, rc[i], SIM_ECLOSED), "%s: %s", what[i], sim_result_name(rc[i]));
        cr_assert(eq(u64, at[i], 12 * SIM_MS), "%s", what[i]);
    }
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 5. handles of another world ============================================================= */

typedef struct owned {
    sim_udp udp;
    sim_listener lis;
    sim_conn conn;
} owned;

/* Binds 7000, listens on 9000 and connects to `to` (where a keeper accepts), copies the
 * handles out, and holds them for 1 s. */
typedef struct opener {
    sim_co co;
    owned h;
    sim_addr to;
    owned *out;
} opener;

static int opener_poll(void *state, sim_world *w)
{
    opener *o = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &o->co);
    rc = sim_udp_bind(w, 7000, &o->h.udp);
    if (rc == SIM_OK) rc = sim_listen(w, 9000, 0, &o->h.lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_connect(o->to, &o->h.conn));
    *o->out = o->h;
    SIM_TRY(sim_sleep(w, SIM_S));
    SIM_END(SIM_OK);
}

enum { FW_READ, FW_WRITE, FW_ACCEPT, FW_RECV, FW_SEND, FW_SHUTDOWN, FW_KINDS };

/* In the other world: opens sockets of its own first (so that the foreign handles' slots
 * name something here too), then uses the foreign handles, then closes a copy of one. */
typedef struct intruder {
    sim_co co;
    owned mine;
    owned foreign;
    sim_conn copy;
    sim_conn accepted;
    size_t len;
    uint8_t buf[8];
    int *rc;                    /* FW_KINDS results */
    owned *mine_out;
} intruder;

/* The synchronous calls through the foreign handles, and the close of a copy. */
static void intrude_calls(sim_world *w, intruder *x)
{
    x->rc[FW_SEND] = sim_udp_send_to(w, &x->foreign.udp, at_port(nid(1), 7000), "x", 1);
    x->rc[FW_SHUTDOWN] = sim_shutdown(w, &x->foreign.conn);
    x->copy = x->foreign.conn;
    sim_conn_close(w, &x->copy);
}

static int intruder_poll(void *state, sim_world *w)
{
    intruder *x = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &x->co);
    rc = sim_udp_bind(w, 7000, &x->mine.udp);
    if (rc == SIM_OK) rc = sim_listen(w, 9000, 0, &x->mine.lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_connect(at_port(nid(1), 8000), &x->mine.conn));
    *x->mine_out = x->mine;
    SIM_AWAIT(rc, sim_read(&x->foreign.conn, x->buf, sizeof x->buf, &x->len));
    x->rc[FW_READ] = rc;
    SIM_AWAIT(rc, sim_write(&x->foreign.conn, "x", 1));
    x->rc[FW_WRITE] = rc;
    SIM_AWAIT(rc, sim_accept(&x->foreign.lis, &x->accepted, NULL));
    x->rc[FW_ACCEPT] = rc;
    SIM_AWAIT(rc, sim_udp_recv(&x->foreign.udp, x->buf, sizeof x->buf, NULL));
    x->rc[FW_RECV] = rc;
    intrude_calls(w, x);
    SIM_TRY(sim_sleep(w, SIM_S));
    SIM_END(SIM_OK);
}

/* A world with node n1, a keeper on n1:8000 and the task on n1, run to 50 ms. */
static sim_world *one_node_world(uint64_t seed, sim_poll_cb poll, const void *state, size_t size)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    test_node(w, "n1", NULL, NULL);
    keeper k = {0};
    test_spawn(w, "keeper", nid(1), keeper_poll, NULL, &k, sizeof k);
    test_spawn(w, "task", nid(1), poll, NULL, state, size);
    cr_assert(eq(int, sim_world_run_until(w, 50 * SIM_MS), SIM_OK));
    return w;
}

/* Goal: a socket handle of one world used in another is misuse: every operation and call
 * through it returns SIM_EMISUSE at once and records a violation saying that the handle is of
 * another world, in the world that was misused; closing it there closes nothing (in either
 * world) and is a violation too; the world it belongs to sees nothing, and the sockets of the
 * misused world, made the same way (in the same slots), are untouched.
 * Method: world A: a task on n1 binds 7000, listens on 9000 and connects to its own 8000.
 * World B, alive at the same time: a task on n1 makes the same sockets, then reads, writes,
 * accepts, receives, sends, shuts down and closes through A's handles. */
Test(net_handles, foreign_world_handle_is_misuse)
{
    owned ha = {0}, hb = {0};
    opener o = {.to = at_port(nid(1), 8000), .out = &ha};
    sim_world *a = one_node_world(63, opener_poll, &o, sizeof o);
    cr_assert(sim_handle_valid(a, &ha.conn));
    int rc[FW_KINDS];
    for (int i = 0; i < FW_KINDS; i++) rc[i] = SIM_PENDING;
    intruder x = {.foreign = ha, .rc = rc, .mine_out = &hb};
    sim_world *b = one_node_world(64, intruder_poll, &x, sizeof x);
    static const char *const what[FW_KINDS] = {"read", "write", "accept", "udp recv",
                                               "udp send", "shutdown"};
    for (int i = 0; i < FW_KINDS; i++) {
        cr_assert(eq(int, rc[i], SIM_EMISUSE), "%s: %s", what[i], sim_result_name(rc[i]));
    }
    uint32_t nv = sim_world_violation_count(b);
    cr_assert(eq(u32, nv, FW_KINDS + 1), "%u violations", nv); /* and the close */
    for (uint32_t i = 0; i < nv; i++) {
        const sim_violation *v = sim_world_violation(b, i);
        cr_assert(eq(int, (int)v->kind, (int)SIM_VIOLATION_MISUSE));
        cr_assert(ne(ptr, strstr(v->message, "another world"), NULL), "%s", v->message);
    }
    cr_assert(not(sim_handle_valid(b, &ha.conn)));
    cr_assert(sim_handle_valid(b, &hb.conn));
    cr_assert(sim_handle_valid(b, &hb.lis));
    cr_assert(sim_handle_valid(b, &hb.udp));
    cr_assert(sim_handle_valid(a, &ha.conn));
    cr_assert(sim_handle_valid(a, &ha.lis));
    cr_assert(sim_handle_valid(a, &ha.udp));
    cr_assert(eq(u32, sim_world_violation_count(a), 0));
    sim_world_free(b);
    sim_world_free(a);
}

/* ==== 6. a timeout around a read ============================================================== */

typedef struct late_rec {
    int rc[3];                  /* two reads under a 50 ms timeout, then one without */
    uint64_t at[3];
    size_t len;
    char got[8];
    int ack_rc;                 /* the client's "ack" */
    int server_rc;              /* the server's read of it */
    char server_got[4];
} late_rec;

/* Accepts on n2:8000, writes "late" at 200 ms, then reads 3 bytes. */
typedef struct late_server {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    late_rec *rec;
} late_server;

static int late_server_poll(void *state, sim_world *w)
{
    late_server *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    rc = sim_listen(w, 8000, 0, &s->lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_accept(&s->lis, &s->conn, NULL));
    SIM_TRY(sim_sleep_until(200 * SIM_MS));
    SIM_TRY(sim_write(&s->conn, "late", 4));
    SIM_AWAIT(rc, sim_read_exact(&s->conn, s->rec->server_got, 3));
    s->rec->server_rc = rc;
    SIM_END(SIM_OK);
}

typedef struct late_client {
    sim_co co;
    sim_conn conn;
    uint32_t i;
    late_rec *rec;
} late_client;

static int late_client_poll(void *state, sim_world *w)
{
    late_client *c = state;
    late_rec *r = c->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_connect(at_port(nid(2), 8000), &c->conn));
    for (c->i = 0; c->i < 2; c->i++) {
        SIM_AWAIT(rc, sim_timeout(w, 50 * SIM_MS,
                                  sim_read(&c->conn, r->got, sizeof r->got, &r->len)));
        r->rc[c->i] = rc;
        r->at[c->i] = sim_now(w);
    }
    SIM_AWAIT(rc, sim_read(&c->conn, r->got, sizeof r->got, &r->len));
    r->rc[2] = rc;
    r->at[2] = sim_now(w);
    SIM_AWAIT(rc, sim_write(&c->conn, "ack", 3));
    r->ack_rc = rc;
    SIM_END(SIM_OK);
}

/* Goal: a timeout around a read that fires cancels the read cleanly: the task stops being the
 * connection's reader, so the next read (under a timeout again, then without one) waits as
 * the only reader, with no violation; the connection stays usable both ways: the data written
 * later arrives whole and the answer goes out; the timeouts' timers are not left armed (the
 * executor would record a leak).
 * Method: every link 1 ms; the client is connected at 2 ms and reads twice under 50 ms
 * timeouts (both time out, at 52 and 102 ms), then reads without one: "late", written at
 * 200 ms, arrives at 201 ms; it answers "ack", which the server reads. */
Test(net_handles, timeout_around_read_leaves_connection_usable)
{
    sim_world *w = two_nodes(65, SIM_MS, NULL);
    late_rec r = {.rc = {SIM_PENDING, SIM_PENDING, SIM_PENDING}, .ack_rc = SIM_PENDING,
                  .server_rc = SIM_PENDING};
    late_server s = {.rec = &r};
    late_client c = {.rec = &r};
    test_spawn(w, "server", nid(2), late_server_poll, NULL, &s, sizeof s);
    test_spawn(w, "client", nid(1), late_client_poll, NULL, &c, sizeof c);
    test_run_ok(w);
    cr_assert(eq(int, r.rc[0], SIM_ETIMEDOUT));
    cr_assert(eq(u64, r.at[0], 52 * SIM_MS));
    cr_assert(eq(int, r.rc[1], SIM_ETIMEDOUT));
    cr_assert(eq(u64, r.at[1], 102 * SIM_MS));
    cr_assert(eq(int, r.rc[2], SIM_OK));
    cr_assert(eq(u64, r.at[2], 201 * SIM_MS));
    cr_assert(eq(sz, r.len, 4));
    cr_assert(eq(int, memcmp(r.got, "late", 4), 0));
    cr_assert(eq(int, r.ack_rc, SIM_OK));
    cr_assert(eq(int, r.server_rc, SIM_OK));
    cr_assert(eq(int, memcmp(r.server_got, "ack", 3), 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0)); /* a timer left armed is one */
    sim_world_free(w);
}

/* ==== 7. what an operation says it waits for ================================================== */

/* Asserts f's description. */
static void assert_described(const sim_world *w, const sim_fut *f, const char *want)
{
    char got[256];
    sim_fut_describe(f, w, got, sizeof got);
    cr_assert(eq(str, got, (char *)want), "a %s future", f->vt->name);
}

/* Goal: every socket operation describes itself by the socket it acts on (what hang reports
 * and combinators' descriptions are made of): an accept by its listener and how many
 * connections wait, a connect by its destination, a read, read_exact, write and frame read and
 * write by the connection's two addresses and their progress, a receive by its socket and its
 * queue, a timeout by what it wraps; once the socket is closed, as an operation on a closed
 * socket.
 * Method: n1 binds 7000, listens on 9000 and connects to n2:8000, where a keeper accepts; at
 * 50 ms the test makes each operation by value on their handles (never polling them: they
 * arm nothing) and describes it; then it closes the handles (outside any task) and describes
 * them again. */
Test(net_handles, operations_describe_their_socket)
{
    sim_world *w = two_nodes(66, SIM_MS, NULL);
    owned h = {0};
    sim_conn accepted = {0};
    keeper k = {.out = &accepted};
    opener o = {.to = at_port(nid(2), 8000), .out = &h};
    test_spawn(w, "keeper", nid(2), keeper_poll, NULL, &k, sizeof k);
    test_spawn(w, "opener", nid(1), opener_poll, NULL, &o, sizeof o);
    cr_assert(eq(int, sim_world_run_until(w, 50 * SIM_MS), SIM_OK));
    uint16_t port = sim_conn_local(w, &h.conn).port;
    cr_assert(ge(u32, port, 49152));
    char conn[64], back[64], want[160];
    snprintf(conn, sizeof conn, "conn n1:%u -> n2:8000", port);
    snprintf(back, sizeof back, "conn n2:8000 -> n1:%u", port);
    uint8_t buf[16];
    sim_conn spare = {0};
    sim_accept_op acc = sim_accept(&h.lis, &spare, NULL);
    assert_described(w, &acc.fut, "accept on listener n1:9000 (0 waiting)");
    sim_connect_op con = sim_connect(at_port(nid(2), 8000), &spare);
    assert_described(w, &con.fut, "connect to n2:8000");
    sim_read_op rd = sim_read(&h.conn, buf, sizeof buf, NULL);
    snprintf(want, sizeof want, "read on %s", conn);
    assert_described(w, &rd.fut, want);
    sim_read_op rd_back = sim_read(&accepted, buf, sizeof buf, NULL);
    snprintf(want, sizeof want, "read on %s", back);
    assert_described(w, &rd_back.fut, want);
    sim_read_exact_op rx = sim_read_exact(&h.conn, buf, 10);
    snprintf(want, sizeof want, "read_exact on %s (0 of 10 bytes read)", conn);
    assert_described(w, &rx.fut, want);
    sim_write_op wr = sim_write(&h.conn, "hello", 5);
    snprintf(want, sizeof want, "write on %s (0 of 5 bytes taken)", conn);
    assert_described(w, &wr.fut, want);
    sim_frame_read_op fr = sim_frame_read(&h.conn, buf, sizeof buf, NULL);
    snprintf(want, sizeof want, "frame read on %s (0 of 4 header bytes read)", conn);
    assert_described(w, &fr.fut, want);
    sim_frame_write_op fw = sim_frame_write(&h.conn, "hello", 5, 64);
    snprintf(want, sizeof want, "frame write on %s (0 of 9 bytes with the header taken)", conn);
    assert_described(w, &fw.fut, want);
    sim_udp_recv_op ur = sim_udp_recv(&h.udp, buf, sizeof buf, NULL);
    assert_described(w, &ur.fut, "recv on udp n1:7000 (0 queued)");
    sim_timeout_op to = sim_timeout(w, 50 * SIM_MS, sim_read(&h.conn, buf, sizeof buf, NULL));
    snprintf(want, sizeof want, "read on %s, with a timeout at 0.100000s", conn);
    assert_described(w, &to.fut, want);
    sim_fut_drop(w, &to.fut); /* frees the timeout's box; it armed nothing */
    /* Closed: each says so. */
    owned copy = h;
    sim_conn_close(w, &copy.conn);
    sim_listener_close(w, &copy.lis);
    sim_udp_close(w, &copy.udp);
    assert_described(w, &rd.fut, "read on a closed conn");
    assert_described(w, &rx.fut, "read_exact on a closed conn");
    assert_described(w, &wr.fut, "write on a closed conn");
    assert_described(w, &fr.fut, "frame read on a closed conn");
    assert_described(w, &fw.fut, "frame write on a closed conn");
    assert_described(w, &acc.fut, "accept on a closed listener");
    assert_described(w, &ur.fut, "recv on a closed udp socket");
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}
