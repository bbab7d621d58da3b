/*
 * test_net.c: the simulated network through sim.h (docs/network.md): datagrams (reordering,
 * duplication, loss and per-link loss, clogs, one-way blocks, bandwidth, errors, truncation),
 * streams (order under any latency, partial reads, read_exact, backpressure, half-close and
 * close, partitions that heal and partitions that outlast the stream timeout, a peer's crash,
 * connect errors), ports, length-prefixed frames, misuse, determinism and the world dump.
 * test_net_handles.c has who owns a socket and what a task's end releases.
 *
 * Tasks report to the test through pointers to records on the test's stack (static storage
 * for the few large arrays). A socket belongs to the task that opened, accepted or connected
 * it, or to the node whose boot function opened it, and goes with its owner: no task here has
 * a drop function, and a task closes a socket itself only when the close is part of what it
 * does (a half-close, a server that slams the door). Sockets that several tasks use are
 * opened in a boot function. Net events are counted by a trace sink (net_tally). Every world
 * is freed before its test returns; a few tests gather their results and free the world
 * before asserting, so that a failure leaks nothing under the sanitizers.
 */
#include <stdio.h>
#include <string.h>

#include "../helpers.h"

#define NEVER UINT64_MAX
#define DG_BUF 10000  /* the largest datagram the generic datagram tasks handle */
#define WR_BUF 16384  /* the largest write of the generic stream writer */
#define RD_BUF 1024   /* the largest read of the generic stream reader */

static sim_node_id nid(uint32_t v)
{
    return (sim_node_id){v};
}

static sim_addr at_port(sim_node_id node, uint16_t port)
{
    return (sim_addr){.node = node, .port = port};
}

/* Byte i of every test stream. */
static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i % 251);
}

/* ---- counting net events --------------------------------------------------------------------- */

typedef struct net_tally {
    uint64_t kind[32];     /* events per kind */
    uint64_t sent[8];      /* net-send per message type (SIM_NET_DGRAM, ...) */
    uint64_t drop_why[8];  /* net-drop per reason (SIM_NET_WHY_*) */
    uint64_t lost_to[8];   /* net-drop with reason SIM_NET_WHY_FAULT, per destination node */
    uint64_t dup_to[8];    /* net-dup per destination node */
    uint64_t reset_why[8]; /* net-reset per reason (1 peer crashed, 2 partition timeout, ...) */
    uint64_t data_from[8]; /* bytes of stream data sent, per source node: what the streams
                              out of that node took from its writers */
} net_tally;

static void tally_sink(void *ud, const sim_event *e)
{
    net_tally *t = ud;
    if ((uint32_t)e->kind < 32) t->kind[e->kind]++;
    uint32_t dst_node = ((uint32_t)e->a >> 16) & 7, src_node = (uint32_t)(e->a >> 48) & 7;
    uint32_t type = SIM_EV_NET_TYPE(e->b) & 7, why = SIM_EV_NET_WHY(e->b) & 7;
    switch (e->kind) {
    case SIM_EV_NET_SEND:
        t->sent[type]++;
        if (type == SIM_NET_DATA) t->data_from[src_node] += SIM_EV_NET_LEN(e->b);
        break;
    case SIM_EV_NET_DROP:
        t->drop_why[why]++;
        if (why == SIM_NET_WHY_FAULT) t->lost_to[dst_node]++;
        break;
    case SIM_EV_NET_DUP: t->dup_to[dst_node]++; break;
    case SIM_EV_NET_RESET: t->reset_why[e->b & 7]++; break;
    default: break;
    }
}

/* A world whose net events go to tally (may be NULL). */
static sim_world *net_world(uint64_t seed, net_tally *tally)
{
    sim_world_desc d = {.seed = seed};
    if (tally != NULL) {
        d.trace = tally_sink;
        d.trace_ud = tally;
    }
    return test_world_desc(&d);
}

static void net_config(sim_world *w, sim_net_desc d)
{
    cr_assert(eq(int, sim_net_configure(w, &d), SIM_OK));
}

static void net_link(sim_world *w, sim_node_id from, sim_node_id to, sim_link l)
{
    cr_assert(eq(int, sim_net_link(w, from, to, &l), SIM_OK));
}

/* ---- datagram tasks -------------------------------------------------------------------------- */

/* Datagram seq: its number in the first 4 bytes, then bytes derived from it. */
static void dg_fill(uint8_t *buf, uint32_t len, uint32_t seq)
{
    memcpy(buf, &seq, sizeof seq);
    for (uint32_t j = 4; j < len; j++) buf[j] = (uint8_t)(seq * 7 + j);
}

static bool dg_intact(const uint8_t *buf, size_t len, uint32_t *seq)
{
    if (len < 4) return false;
    memcpy(seq, buf, sizeof *seq);
    for (size_t j = 4; j < len; j++) {
        if (buf[j] != (uint8_t)(*seq * 7 + j)) return false;
    }
    return true;
}

typedef struct dsend_rec {
    int rc;          /* the first failed send, else SIM_OK; SIM_PENDING until done */
    uint32_t sent;   /* sends that returned SIM_OK */
    sim_addr local;  /* the address it sent from */
} dsend_rec;

/* Binds an ephemeral port and sends datagrams 0..count-1 of len bytes to `to`, batch at a time
 * (0 = all at once) with gap_ns between batches, starting at start_ns. */
typedef struct dsender {
    sim_co co;
    sim_udp sock;
    sim_addr to;
    uint32_t count;
    uint32_t len;      /* 4..DG_BUF; 0 = 16 */
    uint32_t batch;
    uint64_t gap_ns;
    uint64_t start_ns;
    uint32_t i;
    uint8_t buf[DG_BUF];
    dsend_rec *rec;
} dsender;

static void dsender_send(sim_world *w, dsender *s)
{
    dg_fill(s->buf, s->len, s->i);
    int rc = sim_udp_send_to(w, &s->sock, s->to, s->buf, s->len);
    if (rc == SIM_OK) {
        s->rec->sent++;
    } else if (s->rec->rc == SIM_OK) {
        s->rec->rc = rc;
    }
}

static int dsender_poll(void *state, sim_world *w)
{
    dsender *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    rc = sim_udp_bind(w, 0, &s->sock);
    if (rc != SIM_OK) {
        s->rec->rc = rc;
        SIM_RETURN(rc);
    }
    s->rec->local = sim_udp_addr(w, &s->sock);
    SIM_TRY(sim_sleep_until(s->start_ns));
    s->rec->rc = SIM_OK;
    for (s->i = 0; s->i < s->count; s->i++) {
        if (s->batch != 0 && s->i > 0 && s->i % s->batch == 0) {
            SIM_TRY(sim_sleep(w, s->gap_ns));
        }
        dsender_send(w, s);
    }
    SIM_END(SIM_OK);
}

static void spawn_dsender(sim_world *w, sim_node_id node, dsender *s)
{
    if (s->len == 0) s->len = 16;
    cr_assert(s->len >= 4 && s->len <= DG_BUF);
    *s->rec = (dsend_rec){.rc = SIM_PENDING};
    test_spawn(w, "dsender", node, dsender_poll, NULL, s, sizeof *s);
}

typedef struct drecv_rec {
    int rc;              /* how it ended: SIM_ETIMEDOUT after idle_ns of silence */
    uint32_t got;        /* intact datagrams received */
    uint32_t bad;        /* datagrams with wrong bytes, length or number */
    uint32_t inversions; /* arrivals numbered lower than the one before */
    uint32_t last_seq;
    uint64_t first_at, last_at;
    uint8_t *per_seq;    /* copies received per number (nseq entries); may be NULL */
    uint32_t nseq;
    uint64_t *at;        /* arrival times in arrival order (cap entries); may be NULL */
    uint32_t *order;     /* numbers in arrival order (cap entries); may be NULL */
    uint32_t cap;
} drecv_rec;

/* Binds port and receives until idle_ns pass without a datagram. */
typedef struct dreceiver {
    sim_co co;
    sim_udp sock;
    sim_datagram dg;
    uint16_t port;
    uint32_t len;        /* the expected length; 0 = any */
    uint64_t idle_ns;
    uint8_t buf[DG_BUF];
    drecv_rec *rec;
} dreceiver;

static void dreceiver_note(sim_world *w, dreceiver *r)
{
    drecv_rec *rec = r->rec;
    uint32_t seq = 0;
    bool ok = dg_intact(r->buf, r->dg.len, &seq) && !r->dg.truncated &&
              (r->len == 0 || r->dg.len == r->len) && (rec->per_seq == NULL || seq < rec->nseq);
    if (!ok) {
        rec->bad++;
        return;
    }
    uint64_t now = sim_now(w);
    if (rec->got > 0 && seq < rec->last_seq) rec->inversions++;
    if (rec->got < rec->cap && rec->at != NULL) rec->at[rec->got] = now;
    if (rec->got < rec->cap && rec->order != NULL) rec->order[rec->got] = seq;
    if (rec->per_seq != NULL && rec->per_seq[seq] < 255) rec->per_seq[seq]++;
    if (rec->got == 0) rec->first_at = now;
    rec->last_at = now;
    rec->last_seq = seq;
    rec->got++;
}

static int dreceiver_poll(void *state, sim_world *w)
{
    dreceiver *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    rc = sim_udp_bind(w, r->port, &r->sock);
    if (rc != SIM_OK) {
        r->rec->rc = rc;
        SIM_RETURN(rc);
    }
    for (;;) {
        SIM_AWAIT(rc, sim_timeout(w, r->idle_ns,
                                  sim_udp_recv(&r->sock, r->buf, sizeof r->buf, &r->dg)));
        if (rc != SIM_OK) break;
        dreceiver_note(w, r);
    }
    r->rec->rc = rc;
    SIM_END(SIM_OK);
}

/* rec's arrays (per_seq, at, order) and sizes are the caller's; the rest is reset. */
static void spawn_dreceiver(sim_world *w, sim_node_id node, dreceiver *r)
{
    drecv_rec *rec = r->rec;
    *rec = (drecv_rec){.rc = SIM_PENDING, .per_seq = rec->per_seq, .nseq = rec->nseq,
                       .at = rec->at, .order = rec->order, .cap = rec->cap};
    if (rec->per_seq != NULL) memset(rec->per_seq, 0, rec->nseq);
    if (r->idle_ns == 0) r->idle_ns = 300 * SIM_MS;
    test_spawn(w, "dreceiver", node, dreceiver_poll, NULL, r, sizeof *r);
}

/* ---- stream tasks ---------------------------------------------------------------------------- */

typedef struct rd_rec {
    int listen_rc;
    int accept_rc;
    int rc;            /* SIM_OK at the end of the stream, else the error; SIM_PENDING before */
    uint64_t end_at;
    uint64_t bytes;    /* bytes read (updated at every read) */
    uint64_t bad;      /* bytes that broke the pattern */
    uint32_t reads;    /* reads that returned data */
    uint32_t partial;  /* reads that returned fewer bytes than they asked for */
} rd_rec;

/* Listens on port, accepts one connection, sleeps delay_ns, then reads to the end of the
 * stream with reads of cap_min..cap_max bytes, checking every byte against pattern(). */
typedef struct sreader {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    sim_rng rng;
    uint16_t port;
    uint32_t cap_min, cap_max;
    uint64_t delay_ns;
    size_t cap;        /* of the current read */
    size_t len;        /* what it returned */
    uint8_t buf[RD_BUF];
    rd_rec *rec;
} sreader;

static void sreader_check(sreader *s)
{
    rd_rec *rec = s->rec;
    const uint8_t *b = s->buf;
    for (size_t j = 0; j < s->len; j++) rec->bad += b[j] != pattern(rec->bytes + j);
    rec->bytes += s->len;
    rec->reads++;
    if (s->len < s->cap) rec->partial++;
}

static int sreader_poll(void *state, sim_world *w)
{
    sreader *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    sim_world_rng(w, "test/net/reads", 0, &s->rng);
    s->rec->listen_rc = sim_listen(w, s->port, 0, &s->lis);
    if (s->rec->listen_rc != SIM_OK) SIM_RETURN(s->rec->listen_rc);
    SIM_AWAIT(rc, sim_accept(&s->lis, &s->conn, NULL));
    s->rec->accept_rc = rc;
    if (rc != SIM_OK) SIM_RETURN(rc);
    if (s->delay_ns > 0) {
        SIM_TRY(sim_sleep(w, s->delay_ns));
    }
    for (;;) {
        s->cap = sim_rng_range(&s->rng, s->cap_min, s->cap_max);
        SIM_AWAIT(rc, sim_read(&s->conn, s->buf, s->cap, &s->len));
        if (rc != SIM_OK || s->len == 0) break;
        sreader_check(s);
    }
    s->rec->rc = rc;
    s->rec->end_at = sim_now(w);
    SIM_END(SIM_OK);
}

static void spawn_sreader(sim_world *w, sim_node_id node, sreader *s)
{
    cr_assert(s->cap_min >= 1 && s->cap_min <= s->cap_max && s->cap_max <= RD_BUF);
    *s->rec = (rd_rec){.listen_rc = SIM_PENDING, .accept_rc = SIM_PENDING, .rc = SIM_PENDING,
                       .end_at = NEVER};
    test_spawn(w, "sreader", node, sreader_poll, NULL, s, sizeof *s);
}

typedef struct wr_rec {
    int connect_rc;
    int rc;            /* SIM_OK once everything was written, else the error; SIM_PENDING */
    uint64_t end_at;
    uint64_t written;  /* bytes of the writes that completed */
    const sim_fut *cur; /* the write in progress, while the writer lives; else NULL */
} wr_rec;

/* Connects to `to` and writes total bytes of pattern() in writes of chunk_min..chunk_max
 * bytes, sleeping gap_ns between writes, then ends (its connection closes with it). The
 * write in progress lives in the state block (SIM_AWAIT_FUT), so that a test can describe it
 * while it waits. */
typedef struct swriter {
    sim_co co;
    sim_conn conn;
    sim_write_op wr;
    sim_rng rng;
    sim_addr to;
    uint64_t total;
    uint32_t chunk_min, chunk_max;
    uint64_t gap_ns;
    uint64_t off;      /* bytes written before the current write */
    size_t n;          /* bytes of the current write */
    uint8_t buf[WR_BUF];
    wr_rec *rec;
} swriter;

static void swriter_next(swriter *s)
{
    uint64_t left = s->total - s->off;
    uint64_t n = s->chunk_min == s->chunk_max ? s->chunk_min
                                               : sim_rng_range(&s->rng, s->chunk_min, s->chunk_max);
    if (n > left) n = left;
    for (uint64_t j = 0; j < n; j++) s->buf[j] = pattern(s->off + j);
    s->n = n;
    s->wr = sim_write(&s->conn, s->buf, n);
    s->rec->cur = &s->wr.fut;
}

static int swriter_poll(void *state, sim_world *w)
{
    swriter *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    sim_world_rng(w, "test/net/writes", 0, &s->rng);
    SIM_AWAIT(rc, sim_connect(s->to, &s->conn));
    s->rec->connect_rc = rc;
    while (rc == SIM_OK && s->off < s->total) {
        if (s->gap_ns > 0 && s->off > 0) {
            SIM_AWAIT(rc, sim_sleep(w, s->gap_ns));
        }
        swriter_next(s);
        SIM_AWAIT_FUT(rc, &s->wr.fut);
        if (rc == SIM_OK) s->off += s->n;
        s->rec->written = s->off;
    }
    s->rec->cur = NULL;
    s->rec->rc = rc;
    s->rec->end_at = sim_now(w);
    SIM_END(SIM_OK);
}

static void spawn_swriter(sim_world *w, sim_node_id node, swriter *s)
{
    cr_assert(s->chunk_min >= 1 && s->chunk_min <= s->chunk_max && s->chunk_max <= WR_BUF);
    *s->rec = (wr_rec){.connect_rc = SIM_PENDING, .rc = SIM_PENDING, .end_at = NEVER};
    test_spawn(w, "swriter", node, swriter_poll, NULL, s, sizeof *s);
}

/* ---- a world-level chaos task: network and node operations at given times ------------------- */

typedef enum net_op {
    NOP_SNAP,      /* only the snapshot */
    NOP_PARTITION, /* a | b, both ways */
    NOP_BLOCK,     /* a -> b */
    NOP_HEAL,
    NOP_CLOG,      /* a */
    NOP_UNCLOG,
    NOP_CRASH,
    NOP_RESTART,
} net_op;

typedef struct net_step {
    uint64_t at_ns;
    net_op op;
    sim_node_id a, b;
} net_step;

#define MAX_STEPS 6

typedef struct chaos_rec {
    int rc[MAX_STEPS];
    uint64_t snap[MAX_STEPS][2]; /* *watch[0] and *watch[1] right after each step */
} chaos_rec;

typedef struct net_chaos {
    sim_co co;
    net_step steps[MAX_STEPS];
    uint32_t n, i;
    const uint64_t *watch[2];   /* may be NULL */
    chaos_rec *rec;
} net_chaos;

static int chaos_apply(sim_world *w, const net_step *s)
{
    sim_node_id nodes[2] = {s->a, s->b};
    uint32_t groups[2] = {0, 1};
    switch (s->op) {
    case NOP_SNAP: return SIM_OK;
    case NOP_PARTITION: return sim_net_partition(w, nodes, groups, 2);
    case NOP_BLOCK: return sim_net_block(w, s->a, s->b);
    case NOP_HEAL: sim_net_heal(w); return SIM_OK;
    case NOP_CLOG: return sim_net_clog(w, s->a, true);
    case NOP_UNCLOG: return sim_net_clog(w, s->a, false);
    case NOP_CRASH: return sim_node_crash(w, s->a);
    case NOP_RESTART: return sim_node_restart(w, s->a);
    }
    return SIM_EINVAL;
}

/* Applies step i and takes its snapshot. */
static void chaos_step(sim_world *w, net_chaos *c)
{
    c->rec->rc[c->i] = chaos_apply(w, &c->steps[c->i]);
    for (uint32_t k = 0; k < 2; k++) {
        c->rec->snap[c->i][k] = c->watch[k] != NULL ? *c->watch[k] : 0;
    }
}

static int chaos_poll(void *state, sim_world *w)
{
    net_chaos *c = state;
    SIM_BEGIN(w, &c->co);
    for (c->i = 0; c->i < c->n; c->i++) {
        SIM_TRY(sim_sleep_until(c->steps[c->i].at_ns));
        chaos_step(w, c);
    }
    SIM_END(SIM_OK);
}

static void spawn_chaos(sim_world *w, const net_step *steps, uint32_t n, const uint64_t *watch0,
                        const uint64_t *watch1, chaos_rec *rec)
{
    cr_assert(n <= MAX_STEPS);
    net_chaos c = {.n = n, .watch = {watch0, watch1}, .rec = rec};
    *rec = (chaos_rec){0};
    for (uint32_t i = 0; i < n; i++) {
        c.steps[i] = steps[i];
        rec->rc[i] = SIM_PENDING;
    }
    test_spawn(w, "chaos", nid(0), chaos_poll, NULL, &c, sizeof c);
}

/* ==== 1. streams are FIFO ===================================================================== */

/* Goal: a stream delivers every byte once and in order whatever the latency: segments of one
 * connection never overtake each other, even with a wide uniform latency and a long tail; and
 * reads return what has arrived, which may be fewer bytes than asked for.
 * Method: every link 1..50 ms plus a 20 ms exponential tail, segments of 1..7 bytes; a client
 * on n1 writes 20,000 bytes (byte i = i % 251) in writes of 1..2,000 bytes and closes; the
 * server on n2 reads with reads of 1..64 bytes and checks every byte. The data segments sent
 * are counted, to be sure the stream really went out in small pieces. */
Test(net, stream_is_fifo_under_any_latency)
{
    net_tally t = {0};
    sim_world *w = net_world(101, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_config(w, (sim_net_desc){.segment_min = 1, .segment_max = 7});
    net_link(w, nid(0), nid(0),
             (sim_link){.latency = {SIM_MS, 50 * SIM_MS}, .tail_ns = 20 * SIM_MS});
    rd_rec rr;
    wr_rec wr;
    sreader r = {.port = 8000, .cap_min = 1, .cap_max = 64, .rec = &rr};
    swriter s = {.to = at_port(n2, 8000), .total = 20000, .chunk_min = 1, .chunk_max = 2000,
                 .rec = &wr};
    spawn_sreader(w, n2, &r);
    spawn_swriter(w, n1, &s);
    test_run_ok(w);
    cr_assert(eq(int, wr.connect_rc, SIM_OK));
    cr_assert(eq(int, wr.rc, SIM_OK));
    cr_assert(eq(u64, wr.written, 20000));
    cr_assert(eq(int, rr.rc, SIM_OK)); /* the end of the stream, after every byte */
    cr_assert(eq(u64, rr.bytes, 20000));
    cr_assert(eq(u64, rr.bad, 0), "%llu bytes out of order", (unsigned long long)rr.bad);
    cr_assert(lt(u32, 0, rr.partial), "no read returned fewer bytes than it asked for");
    cr_assert(ge(u64, t.sent[SIM_NET_DATA], 20000 / 7));
    cr_assert(eq(u64, t.kind[SIM_EV_NET_RESET], 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 2. datagrams reorder ==================================================================== */

typedef struct reorder_out {
    int run_rc;
    uint32_t got, bad, inversions, once, sent;
    uint64_t drops;
} reorder_out;

/* 1,000 datagrams n1 -> n2 sent back to back over links of latency lo..hi. */
static reorder_out reorder_run(uint64_t seed, uint64_t lo, uint64_t hi)
{
    enum { N = 1000 };
    static uint8_t per_seq[N];
    net_tally t = {0};
    sim_world *w = net_world(seed, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_link(w, nid(0), nid(0), (sim_link){.latency = {lo, hi}});
    dsend_rec sr;
    drecv_rec rr = {.per_seq = per_seq, .nseq = N};
    dsender s = {.to = at_port(n2, 7000), .count = N, .rec = &sr};
    dreceiver r = {.port = 7000, .rec = &rr};
    spawn_dreceiver(w, n2, &r);
    spawn_dsender(w, n1, &s);
    reorder_out out = {.run_rc = sim_world_run(w)};
    out.got = rr.got;
    out.bad = rr.bad;
    out.inversions = rr.inversions;
    out.sent = sr.sent;
    out.drops = t.kind[SIM_EV_NET_DROP];
    for (uint32_t i = 0; i < N; i++) out.once += per_seq[i] == 1;
    sim_world_free(w);
    return out;
}

/* Goal: datagrams are not ordered: with a latency of 1..50 ms, 1,000 datagrams sent back to
 * back arrive in another order than they were sent in, and (with no loss configured) every one
 * arrives, exactly once. With a fixed latency the order is kept, which shows the count of
 * inversions measures the link and not the receiver.
 * Method: a sender on n1 sends datagrams numbered 0..999 to n2:7000; the receiver counts
 * arrivals per number and arrivals numbered lower than the one before (inversions). */
Test(net, datagrams_reorder_but_all_arrive)
{
    reorder_out wide = reorder_run(102, SIM_MS, 50 * SIM_MS);
    cr_assert(eq(int, wide.run_rc, SIM_OK));
    cr_assert(eq(u32, wide.sent, 1000));
    cr_assert(eq(u32, wide.got, 1000));
    cr_assert(eq(u32, wide.bad, 0));
    cr_assert(eq(u32, wide.once, 1000)); /* each number exactly once */
    cr_assert(eq(u64, wide.drops, 0));
    cr_assert(lt(u32, 0, wide.inversions), "1,000 datagrams over 1..50 ms arrived in order");
    reorder_out fixed = reorder_run(102, 5 * SIM_MS, 5 * SIM_MS);
    cr_assert(eq(int, fixed.run_rc, SIM_OK));
    cr_assert(eq(u32, fixed.got, 1000));
    cr_assert(eq(u32, fixed.once, 1000));
    cr_assert(eq(u32, fixed.inversions, 0));
}

/* ==== 3. duplication ========================================================================== */

typedef struct dup_out {
    int run_rc;
    uint32_t got, bad;
    uint32_t hist[4]; /* numbers received 0, 1, 2, 3+ times */
    uint64_t dups;    /* net-dup events */
} dup_out;

static dup_out dup_run(uint64_t seed, sim_ratio dup)
{
    enum { N = 300 };
    static uint8_t per_seq[N];
    net_tally t = {0};
    sim_world *w = net_world(seed, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    cr_assert(eq(int, sim_fault_set(w, "net/send/dup", dup), SIM_OK));
    dsend_rec sr;
    drecv_rec rr = {.per_seq = per_seq, .nseq = N};
    dsender s = {.to = at_port(n2, 7000), .count = N, .batch = 10, .gap_ns = SIM_MS, .rec = &sr};
    dreceiver r = {.port = 7000, .rec = &rr};
    spawn_dreceiver(w, n2, &r);
    spawn_dsender(w, n1, &s);
    dup_out out = {.run_rc = sim_world_run(w), .got = rr.got, .bad = rr.bad,
                   .dups = t.kind[SIM_EV_NET_DUP]};
    for (uint32_t i = 0; i < N; i++) out.hist[per_seq[i] < 3 ? per_seq[i] : 3]++;
    sim_world_free(w);
    return out;
}

/* Goal: net/send/dup at probability 1 delivers every datagram exactly twice (one net-dup
 * event per datagram); at probability 0 exactly once, with no net-dup event.
 * Method: 300 numbered datagrams n1 -> n2 per world; the receiver counts copies per number. */
Test(net, dup_delivers_twice_or_once)
{
    dup_out always = dup_run(103, (sim_ratio){1, 1});
    cr_assert(eq(int, always.run_rc, SIM_OK));
    cr_assert(eq(u32, always.bad, 0));
    cr_assert(eq(u32, always.got, 600));
    cr_assert(eq(u32, always.hist[2], 300), "received 0/1/2/3+ times: %u %u %u %u",
              always.hist[0], always.hist[1], always.hist[2], always.hist[3]);
    cr_assert(eq(u64, always.dups, 300));
    dup_out never = dup_run(103, (sim_ratio){0, 1});
    cr_assert(eq(int, never.run_rc, SIM_OK));
    cr_assert(eq(u32, never.got, 300));
    cr_assert(eq(u32, never.hist[1], 300));
    cr_assert(eq(u64, never.dups, 0));
}

/* ==== 4. loss ================================================================================= */

/* Goal: net/send/drop at 1/10 loses about a tenth of the datagrams, and every loss is a
 * net-drop event with reason SIM_NET_WHY_FAULT (nothing else drops them); a link's own loss
 * (sim_net_link) replaces the plan's probability on that link only.
 * Method: plan drop = 1/10. n1 sends 100,000 datagrams to n2 (the plan's probability), 10,000
 * to n3 (link n1 -> n3 loss 0/1: never) and 10,000 to n4 (link n1 -> n4 loss 1/2), paced in
 * batches so that no receive queue overflows. Tolerances: to n2, 90,000 expected with a
 * standard deviation of sqrt(100000 * 0.1 * 0.9) = 95, accepted 89,000..91,000 (over 10
 * sigma); to n4, 5,000 expected with a standard deviation of 50, accepted 4,600..5,400 (8
 * sigma); to n3, exactly 10,000. The lost counts per destination must equal net-drop events
 * with reason SIM_NET_WHY_FAULT to that node. */
Test(net, loss_ratio_and_per_link_override)
{
    static uint8_t seq2[100000], seq3[10000], seq4[10000];
    net_tally t = {0};
    sim_world *w = net_world(104, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    sim_node_id n3 = test_node(w, "n3", NULL, NULL);
    sim_node_id n4 = test_node(w, "n4", NULL, NULL);
    cr_assert(eq(int, sim_fault_set(w, "net/send/drop", (sim_ratio){1, 10}), SIM_OK));
    net_link(w, n1, n3, (sim_link){.loss = {0, 1}});
    net_link(w, n1, n4, (sim_link){.loss = {1, 2}});
    dsend_rec s2r, s3r, s4r;
    drecv_rec r2r = {.per_seq = seq2, .nseq = 100000}, r3r = {.per_seq = seq3, .nseq = 10000},
              r4r = {.per_seq = seq4, .nseq = 10000};
    dreceiver r2 = {.port = 7000, .rec = &r2r}, r3 = {.port = 7000, .rec = &r3r},
              r4 = {.port = 7000, .rec = &r4r};
    spawn_dreceiver(w, n2, &r2);
    spawn_dreceiver(w, n3, &r3);
    spawn_dreceiver(w, n4, &r4);
    dsender s2 = {.to = at_port(n2, 7000), .count = 100000, .batch = 500, .gap_ns = 10 * SIM_MS,
                  .rec = &s2r};
    dsender s3 = {.to = at_port(n3, 7000), .count = 10000, .batch = 50, .gap_ns = 10 * SIM_MS,
                  .rec = &s3r};
    dsender s4 = {.to = at_port(n4, 7000), .count = 10000, .batch = 50, .gap_ns = 10 * SIM_MS,
                  .rec = &s4r};
    spawn_dsender(w, n1, &s2);
    spawn_dsender(w, n1, &s3);
    spawn_dsender(w, n1, &s4);
    test_run_ok(w);
    cr_assert(eq(u32, s2r.sent, 100000));
    cr_assert(eq(u32, s3r.sent, 10000));
    cr_assert(eq(u32, s4r.sent, 10000));
    cr_assert(eq(u32, r2r.bad + r3r.bad + r4r.bad, 0));
    cr_assert(ge(u32, r2r.got, 89000), "to n2: %u of 100000", r2r.got);
    cr_assert(le(u32, r2r.got, 91000), "to n2: %u of 100000", r2r.got);
    cr_assert(eq(u32, r3r.got, 10000));
    cr_assert(ge(u32, r4r.got, 4600), "to n4: %u of 10000", r4r.got);
    cr_assert(le(u32, r4r.got, 5400), "to n4: %u of 10000", r4r.got);
    cr_assert(eq(u64, t.lost_to[n2.v], 100000 - r2r.got));
    cr_assert(eq(u64, t.lost_to[n3.v], 0));
    cr_assert(eq(u64, t.lost_to[n4.v], 10000 - r4r.got));
    /* Every drop was a loss: none for a full queue, a partition or a missing socket. */
    cr_assert(eq(u64, t.kind[SIM_EV_NET_DROP], t.drop_why[SIM_NET_WHY_FAULT]));
    cr_assert(eq(u64, t.kind[SIM_EV_NET_DUP], 0));
    sim_world_free(w);
}

/* ==== 5. partial reads and read_exact ========================================================= */

/* An awaitable of the test's own: polls a future that lives in the state block and counts the
 * polls that found it pending. Dropped, it drops that future. */
typedef struct counted_op {
    sim_fut fut;
    sim_fut *inner;
    uint32_t *pending;
} counted_op;

static int counted_poll(sim_fut *f, sim_world *w)
{
    counted_op *op = (counted_op *)f;
    int rc = sim_fut_poll(w, op->inner);
    if (rc == SIM_PENDING) (*op->pending)++;
    return rc;
}

static void counted_drop(sim_fut *f, sim_world *w)
{
    sim_fut_drop(w, ((counted_op *)f)->inner);
}

static const sim_fut_vt counted_vt = {.name = "counted", .poll = counted_poll,
                                      .drop = counted_drop};

static counted_op counted(sim_fut *inner, uint32_t *pending)
{
    return (counted_op){.fut = SIM_FUT_INIT(&counted_vt), .inner = inner, .pending = pending};
}

typedef struct exact_rec {
    uint32_t reads;         /* reads that returned data for the first 100 bytes */
    uint32_t lens[100];
    uint32_t total;
    uint32_t bad;           /* bytes that broke the pattern, both parts */
    int exact_rc;
    uint32_t exact_pending; /* polls of read_exact that returned SIM_PENDING */
    int eof_rc;
    size_t eof_len;
} exact_rec;

typedef struct exact_reader {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    sim_read_exact_op rx;
    size_t len;
    uint8_t buf[200];
    exact_rec *rec;
} exact_reader;

static void exact_reader_check(exact_reader *s)
{
    for (uint32_t i = 0; i < 200; i++) s->rec->bad += s->buf[i] != pattern(i);
}

static int exact_reader_poll(void *state, sim_world *w)
{
    exact_reader *s = state;
    exact_rec *rec = s->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    rc = sim_listen(w, 8000, 0, &s->lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_accept(&s->lis, &s->conn, NULL));
    while (rec->total < 100) {
        SIM_AWAIT(rc, sim_read(&s->conn, s->buf + rec->total, 100, &s->len));
        if (rc != SIM_OK || s->len == 0) SIM_RETURN(rc);
        if (rec->reads < 100) rec->lens[rec->reads] = (uint32_t)s->len;
        rec->reads++;
        rec->total += (uint32_t)s->len;
    }
    s->rx = sim_read_exact(&s->conn, s->buf + 100, 100);
    SIM_AWAIT(rc, counted(&s->rx.fut, &rec->exact_pending));
    rec->exact_rc = rc;
    exact_reader_check(s);
    SIM_AWAIT(rc, sim_read(&s->conn, s->buf, 100, &rec->eof_len));
    rec->eof_rc = rc;
    SIM_END(SIM_OK);
}

/* Goal: a read asks for up to cap bytes and returns what has arrived: with segments of 1..10
 * bytes, 100 bytes written at once reach a reader asking for 100 in several pieces; and
 * sim_read_exact assembles exactly 100 bytes out of such pieces, no more (the read after it
 * finds the end of the stream, not a leftover byte).
 * Method: the client writes 100 bytes, waits 200 ms, writes 100 more and closes (the generic
 * writer with chunks of 100 and a gap); the server reads with cap 100 until it has 100 bytes,
 * then read_exact(100), awaited through an awaitable that counts its pending polls, then one
 * more read, which must be the end of the stream. */
Test(net, partial_reads_and_read_exact)
{
    sim_world *w = net_world(105, NULL);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_config(w, (sim_net_desc){.segment_min = 1, .segment_max = 10});
    exact_rec er = {.exact_rc = SIM_PENDING, .eof_rc = SIM_PENDING, .eof_len = 99};
    exact_reader r = {.rec = &er};
    test_spawn(w, "exact-reader", n2, exact_reader_poll, NULL, &r, sizeof r);
    wr_rec wr;
    swriter s = {.to = at_port(n2, 8000), .total = 200, .chunk_min = 100, .chunk_max = 100,
                 .gap_ns = 200 * SIM_MS, .rec = &wr};
    spawn_swriter(w, n1, &s);
    test_run_ok(w);
    cr_assert(eq(int, wr.rc, SIM_OK));
    cr_assert(eq(u32, er.total, 100));
    cr_assert(lt(u32, 1, er.reads), "100 bytes in 1..10-byte segments came in one read");
    cr_assert(lt(u32, er.lens[0], 100));
    cr_assert(eq(int, er.exact_rc, SIM_OK));
    cr_assert(lt(u32, 1, er.exact_pending), "read_exact did not have to wait for pieces");
    cr_assert(eq(u32, er.bad, 0));
    cr_assert(eq(int, er.eof_rc, SIM_OK));
    cr_assert(eq(sz, er.eof_len, 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 6. partitions on a stream =============================================================== */

/* Goal: a stream survives a partition shorter than the stream timeout: while n1 and n2 are
 * cut off nothing arrives and the writer waits once its window is full; after the heal every
 * byte arrives, in order, and nothing is reset.
 * Method: send_buffer 1,024, stream_timeout 5 s. The writer (n1) writes 16,384 bytes in writes
 * of 1..256 bytes every 5 ms; the reader (n2) reads as fast as it can. A chaos task partitions
 * {n1} | {n2} at 200 ms, looks at the bytes read and the bytes the stream took from the
 * writer (stream data n1 sent, from the trace) at 400 ms and at 1,199 ms, and heals at
 * 1,200 ms. Between the two looks neither may move, and the bytes taken but not read must be
 * exactly the window. */
Test(net, partition_then_heal_keeps_stream)
{
    net_tally t = {0};
    sim_world *w = net_world(106, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_config(w, (sim_net_desc){.send_buffer = 1024, .stream_timeout_ns = 5 * SIM_S});
    rd_rec rr;
    wr_rec wr;
    sreader r = {.port = 8000, .cap_min = 1, .cap_max = 512, .rec = &rr};
    swriter s = {.to = at_port(n2, 8000), .total = 16384, .chunk_min = 1, .chunk_max = 256,
                 .gap_ns = 5 * SIM_MS, .rec = &wr};
    spawn_sreader(w, n2, &r);
    spawn_swriter(w, n1, &s);
    chaos_rec cr;
    net_step steps[] = {{200 * SIM_MS, NOP_PARTITION, n1, n2},
                        {400 * SIM_MS, NOP_SNAP, {0}, {0}},
                        {1199 * SIM_MS, NOP_SNAP, {0}, {0}},
                        {1200 * SIM_MS, NOP_HEAL, {0}, {0}}};
    spawn_chaos(w, steps, 4, &rr.bytes, &t.data_from[n1.v], &cr);
    test_run_ok(w);
    for (uint32_t i = 0; i < 4; i++) cr_assert(eq(int, cr.rc[i], SIM_OK), "step %u", i);
    /* Nothing moved during the partition, and the window was full. */
    cr_assert(eq(u64, cr.snap[1][0], cr.snap[2][0]), "the reader read during the partition");
    cr_assert(eq(u64, cr.snap[1][1], cr.snap[2][1]), "the writer wrote during the partition");
    cr_assert(lt(u64, cr.snap[2][1], 16384));
    cr_assert(eq(u64, cr.snap[2][1] - cr.snap[2][0], 1024));
    /* Then everything arrived, in order. */
    cr_assert(eq(int, wr.rc, SIM_OK));
    cr_assert(eq(u64, wr.written, 16384));
    cr_assert(eq(u64, t.data_from[n1.v], 16384));
    cr_assert(eq(int, rr.rc, SIM_OK));
    cr_assert(eq(u64, rr.bytes, 16384));
    cr_assert(eq(u64, rr.bad, 0));
    cr_assert(lt(u64, 1200 * SIM_MS, rr.end_at));
    cr_assert(eq(u64, t.kind[SIM_EV_NET_RESET], 0));
    cr_assert(eq(u64, t.kind[SIM_EV_NET_LINK], 3)); /* two blocks, one heal */
    sim_world_free(w);
}

/* Goal: a partition that outlasts the stream timeout resets the connection on both sides:
 * the reader's read and the writer's write end with SIM_ECONNRESET about stream_timeout after
 * the first segment met the block, with one net-reset event per side, reason 2 (partition
 * timeout).
 * Method: send_buffer 4,096, stream_timeout 5 s. The writer (n1) writes 1 MB in writes of
 * 1..256 bytes every 5 ms (it cannot finish in time); a chaos task blocks n1 -> n2 and
 * n2 -> n1 at 200 ms and never heals. The first held segment arrives within 200..210 ms, so
 * both sides must end within [5.2 s, 5.25 s]. */
Test(net, partition_longer_than_stream_timeout_resets_both_sides)
{
    net_tally t = {0};
    sim_world *w = net_world(107, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_config(w, (sim_net_desc){.send_buffer = 4096, .stream_timeout_ns = 5 * SIM_S});
    rd_rec rr;
    wr_rec wr;
    sreader r = {.port = 8000, .cap_min = 1, .cap_max = 512, .rec = &rr};
    swriter s = {.to = at_port(n2, 8000), .total = 1000000, .chunk_min = 1, .chunk_max = 256,
                 .gap_ns = 5 * SIM_MS, .rec = &wr};
    spawn_sreader(w, n2, &r);
    spawn_swriter(w, n1, &s);
    chaos_rec cr;
    net_step steps[] = {{200 * SIM_MS, NOP_BLOCK, n1, n2}, {200 * SIM_MS, NOP_BLOCK, n2, n1}};
    spawn_chaos(w, steps, 2, NULL, NULL, &cr);
    test_run_ok(w);
    cr_assert(eq(int, cr.rc[0], SIM_OK));
    cr_assert(eq(int, cr.rc[1], SIM_OK));
    cr_assert(eq(int, rr.rc, SIM_ECONNRESET), "reader: %s", sim_result_name(rr.rc));
    cr_assert(eq(int, wr.rc, SIM_ECONNRESET), "writer: %s", sim_result_name(wr.rc));
    cr_assert(ge(u64, rr.end_at, 5200 * SIM_MS));
    cr_assert(le(u64, rr.end_at, 5250 * SIM_MS));
    cr_assert(ge(u64, wr.end_at, 5200 * SIM_MS));
    cr_assert(le(u64, wr.end_at, 5250 * SIM_MS));
    cr_assert(eq(u64, rr.bad, 0));
    cr_assert(lt(u64, rr.bytes, 1000000));
    cr_assert(eq(u64, t.reset_why[2], 2));
    cr_assert(eq(u64, t.kind[SIM_EV_NET_RESET], 2));
    sim_world_free(w);
}

/* ==== 7. a server crashes during a request ==================================================== */

typedef struct crash_rec {
    uint32_t boots;
    int listen_rc[3];  /* per boot */
    uint32_t requests; /* requests the servers read */
    uint32_t answered;
    int connect_rc[2]; /* per client round */
    int reply_rc[2];
    uint64_t reply_at[2];
    uint32_t reply_len[2];
    char reply[2][16];
} crash_rec;

/* Accepts one connection on the listener its node opened, reads a request frame, (if slow)
 * sleeps 10 s, answers "re:" and the request. The connection is its own; the listener is the
 * node's, and goes with the node. */
typedef struct rpc_server {
    sim_co co;
    sim_listener lis;  /* the node's */
    sim_conn conn;
    bool slow;
    uint32_t len;
    uint8_t buf[16];
    uint8_t answer[20];
    crash_rec *rec;
} rpc_server;

static int rpc_server_poll(void *state, sim_world *w)
{
    rpc_server *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_accept(&s->lis, &s->conn, NULL));
    SIM_TRY(sim_frame_read(&s->conn, s->buf, sizeof s->buf, &s->len));
    s->rec->requests++;
    if (s->slow) {
        SIM_TRY(sim_sleep(w, 10 * SIM_S));
    }
    memcpy(s->answer, "re:", 3);
    memcpy(s->answer + 3, s->buf, s->len);
    SIM_AWAIT(rc, sim_frame_write(&s->conn, s->answer, 3 + s->len, sizeof s->answer));
    if (rc == SIM_OK) s->rec->answered++;
    SIM_END(rc);
}

/* Boot: listen on 8000 (a server that listens before any client can try; the listener belongs
 * to the node, so its crash closes it), then spawn the server task; the first incarnation is
 * the slow one. */
static int boot_rpc_server(void *ud, sim_world *w, sim_node_id node)
{
    crash_rec *rec = ud;
    uint32_t k = rec->boots++;
    rpc_server s = {.slow = k == 0, .rec = rec};
    int rc = sim_listen(w, 8000, 0, &s.lis);
    if (k < 3) rec->listen_rc[k] = rc;
    if (rc != SIM_OK) return rc;
    sim_task_desc d = {.name = "rpc-server", .node = node, .poll = rpc_server_poll, .state = &s,
                       .state_size = sizeof s};
    return sim_spawn(w, &d, NULL);
}

/* Two rounds: connect, send a request frame, read the answer within 2 s, close; the second
 * round starts at 600 ms. */
typedef struct rpc_client {
    sim_co co;
    sim_conn conn;
    sim_addr to;
    uint32_t round;
    uint32_t len;
    uint8_t buf[16];
    crash_rec *rec;
} rpc_client;

static void rpc_client_note(sim_world *w, rpc_client *c, int rc)
{
    c->rec->reply_rc[c->round] = rc;
    c->rec->reply_at[c->round] = sim_now(w);
    if (rc != SIM_OK) return;
    c->rec->reply_len[c->round] = c->len;
    memcpy(c->rec->reply[c->round], c->buf, c->len < 15 ? c->len : 15);
}

static int rpc_client_poll(void *state, sim_world *w)
{
    rpc_client *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    for (c->round = 0; c->round < 2; c->round++) {
        if (c->round == 1) {
            SIM_TRY(sim_sleep_until(600 * SIM_MS));
        }
        SIM_AWAIT(rc, sim_connect(c->to, &c->conn));
        c->rec->connect_rc[c->round] = rc;
        if (rc != SIM_OK) continue;
        SIM_AWAIT(rc, sim_frame_write(&c->conn, c->round == 0 ? "one" : "two", 3, 64));
        if (rc == SIM_OK) {
            SIM_AWAIT(rc, sim_timeout(w, 2 * SIM_S,
                                      sim_frame_read(&c->conn, c->buf, sizeof c->buf, &c->len)));
        }
        rpc_client_note(w, c, rc);
        sim_conn_close(w, &c->conn);
    }
    SIM_END(SIM_OK);
}

/* Goal: a server node that crashes while a request is outstanding never leaves its client
 * hanging: the client's read ends with SIM_ECONNRESET within reset_delay of the crash (its own
 * 2 s timeout would say SIM_ETIMEDOUT), the run ends normally, and after the restart the
 * server binds the same port again (the crash closed the listener its boot function made)
 * and a new connection gets its answer.
 * Method: reset_delay 20..60 ms. "srv" listens on 8000 in its boot function; its first
 * incarnation reads the request, then sleeps 10 s. A chaos task crashes srv at 100 ms and
 * restarts it at 500 ms; the client on "cli" sends "one", waits for the answer, then at
 * 600 ms connects again and sends "two". */
Test(net, server_crash_resets_client_and_restart_serves_again)
{
    net_tally t = {0};
    sim_world *w = net_world(108, &t);
    /* Configured before srv's boot opens its listener. */
    net_config(w, (sim_net_desc){.reset_delay = {20 * SIM_MS, 60 * SIM_MS}});
    crash_rec rec = {.reply_rc = {SIM_PENDING, SIM_PENDING},
                     .connect_rc = {SIM_PENDING, SIM_PENDING}};
    sim_node_id srv = test_node(w, "srv", boot_rpc_server, &rec);
    sim_node_id cli = test_node(w, "cli", NULL, NULL);
    cr_assert(eq(int, rec.listen_rc[0], SIM_OK));
    rpc_client c = {.to = at_port(srv, 8000), .rec = &rec};
    test_spawn(w, "rpc-client", cli, rpc_client_poll, NULL, &c, sizeof c);
    chaos_rec cr;
    net_step steps[] = {{100 * SIM_MS, NOP_CRASH, srv, {0}},
                        {500 * SIM_MS, NOP_RESTART, srv, {0}}};
    spawn_chaos(w, steps, 2, NULL, NULL, &cr);
    test_run_ok(w);
    cr_assert(eq(int, cr.rc[0], SIM_OK));
    cr_assert(eq(int, cr.rc[1], SIM_OK));
    cr_assert(eq(u32, rec.boots, 2));
    cr_assert(eq(int, rec.listen_rc[1], SIM_OK), "rebinding 8000: %s",
              sim_result_name(rec.listen_rc[1]));
    cr_assert(eq(int, rec.connect_rc[0], SIM_OK));
    cr_assert(eq(int, rec.reply_rc[0], SIM_ECONNRESET), "first reply: %s",
              sim_result_name(rec.reply_rc[0]));
    cr_assert(ge(u64, rec.reply_at[0], 120 * SIM_MS), "reset at %llu ns",
              (unsigned long long)rec.reply_at[0]);
    cr_assert(le(u64, rec.reply_at[0], 160 * SIM_MS), "reset at %llu ns",
              (unsigned long long)rec.reply_at[0]);
    cr_assert(eq(int, rec.connect_rc[1], SIM_OK));
    cr_assert(eq(int, rec.reply_rc[1], SIM_OK));
    cr_assert(eq(u32, rec.reply_len[1], 6));
    cr_assert(eq(str, rec.reply[1], "re:two"));
    cr_assert(eq(u32, rec.requests, 2));
    cr_assert(eq(u32, rec.answered, 1));
    cr_assert(eq(u64, t.reset_why[1], 1)); /* the client: the peer crashed */
    cr_assert(ge(u64, t.reset_why[6], 1)); /* the server's side: its own node crashed */
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 8. connect errors ======================================================================= */

#define MAX_PROBES 10

typedef struct probe_rec {
    int rc[MAX_PROBES];
    uint64_t took[MAX_PROBES];
} probe_rec;

/* Connects to each target in turn, recording the result and how long it took; the
 * connections that succeed stay open until the task ends. */
typedef struct prober {
    sim_co co;
    sim_conn kept[MAX_PROBES];
    sim_addr to[MAX_PROBES];
    uint32_t n, i;
    uint64_t started;
    probe_rec *rec;
} prober;

static int prober_poll(void *state, sim_world *w)
{
    prober *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    for (p->i = 0; p->i < p->n; p->i++) {
        p->started = sim_now(w);
        SIM_AWAIT(rc, sim_connect(p->to[p->i], &p->kept[p->i]));
        p->rec->rc[p->i] = rc;
        p->rec->took[p->i] = sim_now(w) - p->started;
    }
    SIM_END(SIM_OK);
}

/* A listener with a backlog of 1 that nobody accepts on: the node's. */
static int boot_backlog_one(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)node;
    sim_listener l;
    return sim_listen(w, 8000, 1, &l);
}

/* Goal: every way a connect fails: nothing listens on an up node (SIM_ECONNREFUSED after a
 * round trip), the node is down or the SYN is lost to a block (SIM_ETIMEDOUT after exactly
 * connect_timeout), the listener's backlog is full (SIM_ECONNREFUSED), the node is unknown or
 * 0 (SIM_ENODE, at once), the port is 0 (SIM_EINVAL), and a world-level task has no node
 * (SIM_ENODE).
 * Method: connect_timeout 300 ms, every link 1..5 ms. n2 listens on 8000 with backlog 1 and
 * never accepts; n3 is crashed before the run; n1 -> n4 is blocked. A prober on n1 tries, in
 * turn: n2:9, n3:8000, n4:8000, n2:8000 (fills the backlog), n2:8000 again, node 99, node 5
 * (the first id past the last node), node 0, and n2 port 0. */
Test(net, connect_errors)
{
    net_tally t = {0};
    sim_world *w = net_world(109, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    net_config(w, (sim_net_desc){.connect_timeout_ns = 300 * SIM_MS});
    sim_node_id n2 = test_node(w, "n2", boot_backlog_one, NULL);
    sim_node_id n3 = test_node(w, "n3", NULL, NULL);
    sim_node_id n4 = test_node(w, "n4", NULL, NULL);
    cr_assert(eq(int, sim_node_crash(w, n3), SIM_OK));
    cr_assert(eq(int, sim_net_block(w, n1, n4), SIM_OK));
    probe_rec pr;
    for (uint32_t i = 0; i < MAX_PROBES; i++) pr.rc[i] = SIM_PENDING;
    prober p = {.n = 9, .rec = &pr,
                .to = {at_port(n2, 9), at_port(n3, 8000), at_port(n4, 8000), at_port(n2, 8000),
                       at_port(n2, 8000), at_port(nid(99), 8000), at_port(nid(5), 8000),
                       at_port(nid(0), 8000), at_port(n2, 0)}};
    test_spawn(w, "prober", n1, prober_poll, NULL, &p, sizeof p);
    probe_rec world_pr;
    for (uint32_t i = 0; i < MAX_PROBES; i++) world_pr.rc[i] = SIM_PENDING;
    prober wp = {.n = 1, .rec = &world_pr, .to = {at_port(n2, 8000)}};
    test_spawn(w, "world-prober", nid(0), prober_poll, NULL, &wp, sizeof wp);
    test_run_ok(w);
    static const int want[] = {SIM_ECONNREFUSED, SIM_ETIMEDOUT, SIM_ETIMEDOUT, SIM_OK,
                               SIM_ECONNREFUSED, SIM_ENODE, SIM_ENODE, SIM_ENODE, SIM_EINVAL};
    for (uint32_t i = 0; i < 9; i++) {
        cr_assert(eq(str, (char *)sim_result_name(pr.rc[i]), (char *)sim_result_name(want[i])),
                  "probe %u", i);
    }
    cr_assert(ge(u64, pr.took[0], 2 * SIM_MS)); /* a round trip of 1..5 ms each way */
    cr_assert(le(u64, pr.took[0], 10 * SIM_MS));
    cr_assert(eq(u64, pr.took[1], 300 * SIM_MS));
    cr_assert(eq(u64, pr.took[2], 300 * SIM_MS));
    cr_assert(ge(u64, pr.took[4], 2 * SIM_MS));
    for (uint32_t i = 5; i < 9; i++) cr_assert(eq(u64, pr.took[i], 0), "probe %u", i);
    cr_assert(eq(int, world_pr.rc[0], SIM_ENODE));
    cr_assert(eq(u64, t.reset_why[3], 2)); /* refused twice */
    cr_assert(eq(u64, t.reset_why[5], 2)); /* timed out twice */
    cr_assert(eq(u64, t.drop_why[SIM_NET_WHY_DOWN], 1));      /* the SYN to n3 */
    cr_assert(eq(u64, t.drop_why[SIM_NET_WHY_PARTITION], 1)); /* the SYN to n4 */
    sim_world_free(w);
}

/* ==== 9. binding ============================================================================== */

typedef struct bind_rec {
    int first, again, listen_first, listen_again;
    sim_udp again_handle;
    int eph_rc[4];
    sim_addr eph[4];
    int world_udp, world_listen;
    sim_udp world_udp_handle;
    sim_listener world_listen_handle;
} bind_rec;

/* A handle that is not empty, to see that a failed call empties it. */
#define JUNK_HANDLE {.slot_ = 7, .id_ = 7, .world_ = 7}

typedef struct binder {
    sim_co co;
    sim_udp fixed, eph[4];
    sim_listener lis, lis2;
    bool world_level;
    bind_rec *rec;
} binder;

/* Binds and listens, awaiting nothing; the sockets go with the task when it ends. */
static int binder_poll(void *state, sim_world *w)
{
    binder *b = state;
    bind_rec *r = b->rec;
    SIM_BEGIN(w, &b->co);
    if (b->world_level) {
        r->world_udp_handle = (sim_udp){JUNK_HANDLE};
        r->world_listen_handle = (sim_listener){JUNK_HANDLE};
        r->world_udp = sim_udp_bind(w, 7000, &r->world_udp_handle);
        r->world_listen = sim_listen(w, 8000, 0, &r->world_listen_handle);
        SIM_RETURN(SIM_OK);
    }
    r->first = sim_udp_bind(w, 7000, &b->fixed);
    r->again_handle = (sim_udp){JUNK_HANDLE};
    r->again = sim_udp_bind(w, 7000, &r->again_handle);
    r->listen_first = sim_listen(w, 8000, 0, &b->lis);
    r->listen_again = sim_listen(w, 8000, 0, &b->lis2);
    for (uint32_t i = 0; i < 4; i++) {
        r->eph_rc[i] = sim_udp_bind(w, 0, &b->eph[i]);
        r->eph[i] = sim_udp_addr(w, &b->eph[i]);
    }
    SIM_END(SIM_OK);
}

/* Goal: a port is bound once per node: a second bind of the same port on the same node is
 * SIM_EADDRINUSE (for datagram sockets and for listeners, with the handle zeroed), the same
 * port on another node is fine; port 0 gives distinct ephemeral ports >= 49152 on the
 * caller's node; a world-level task has no node to bind on (SIM_ENODE, handles zeroed).
 * Method: binders on n1 and on n2 (both ask for 7000 and 8000) and one at world level. */
Test(net, bind_errors_and_ephemeral_ports)
{
    sim_world *w = net_world(110, NULL);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    bind_rec r1 = {0}, r2 = {0}, rw = {0};
    binder b1 = {.rec = &r1}, b2 = {.rec = &r2}, bw = {.world_level = true, .rec = &rw};
    test_spawn(w, "binder-n1", n1, binder_poll, NULL, &b1, sizeof b1);
    test_spawn(w, "binder-n2", n2, binder_poll, NULL, &b2, sizeof b2);
    test_spawn(w, "binder-world", nid(0), binder_poll, NULL, &bw, sizeof bw);
    test_run_ok(w);
    const bind_rec *rs[2] = {&r1, &r2};
    for (uint32_t k = 0; k < 2; k++) {
        const bind_rec *r = rs[k];
        cr_assert(eq(int, r->first, SIM_OK), "node %u", k + 1);
        cr_assert(eq(int, r->again, SIM_EADDRINUSE), "node %u", k + 1);
        cr_assert(eq(u32, r->again_handle.h.id_, 0));
        cr_assert(eq(int, r->listen_first, SIM_OK));
        cr_assert(eq(int, r->listen_again, SIM_EADDRINUSE));
        for (uint32_t i = 0; i < 4; i++) {
            cr_assert(eq(int, r->eph_rc[i], SIM_OK));
            cr_assert(eq(u32, r->eph[i].node.v, k + 1));
            cr_assert(ge(u32, r->eph[i].port, 49152), "ephemeral port %u", r->eph[i].port);
            for (uint32_t j = 0; j < i; j++) cr_assert(ne(u32, r->eph[i].port, r->eph[j].port));
        }
    }
    cr_assert(eq(int, rw.world_udp, SIM_ENODE));
    cr_assert(eq(int, rw.world_listen, SIM_ENODE));
    cr_assert(eq(u32, rw.world_udp_handle.h.id_, 0));
    cr_assert(eq(u32, rw.world_listen_handle.h.id_, 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

typedef struct phoenix_rec {
    uint32_t boots;
    int fixed_rc[3], again_rc[3], listen_rc[3], eph_rc[3];
    uint16_t eph[3];
} phoenix_rec;

/* Boot: binds 7000 (twice: the second must fail), an ephemeral port and a listener on 8000.
 * They belong to the node: nothing closes them until it crashes. */
static int boot_phoenix(void *ud, sim_world *w, sim_node_id node)
{
    phoenix_rec *r = ud;
    (void)node;
    uint32_t k = r->boots++;
    if (k >= 3) return SIM_ELIMIT;
    sim_udp fixed, extra, eph;
    sim_listener lis;
    r->fixed_rc[k] = sim_udp_bind(w, 7000, &fixed);
    r->again_rc[k] = sim_udp_bind(w, 7000, &extra);
    r->eph_rc[k] = sim_udp_bind(w, 0, &eph);
    r->eph[k] = sim_udp_addr(w, &eph).port;
    r->listen_rc[k] = sim_listen(w, 8000, 0, &lis);
    return SIM_OK;
}

/* Goal: a crash frees its node's ports: after a restart the node binds its old fixed ports
 * again, and a new ephemeral port differs from the one it had before the crash.
 * Method: the boot function of "phoenix" binds 7000, an ephemeral port and 8000 (a listener),
 * which the node owns; the test crashes and restarts it at 10 ms. */
Test(net, ports_free_after_crash_and_restart)
{
    sim_world *w = net_world(111, NULL);
    phoenix_rec r = {0};
    sim_node_id n = test_node(w, "phoenix", boot_phoenix, &r);
    cr_assert(eq(int, sim_world_run_until(w, 10 * SIM_MS), SIM_OK));
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_OK));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, r.boots, 2));
    for (uint32_t k = 0; k < 2; k++) {
        cr_assert(eq(int, r.fixed_rc[k], SIM_OK), "boot %u", k + 1);
        cr_assert(eq(int, r.again_rc[k], SIM_EADDRINUSE), "boot %u", k + 1);
        cr_assert(eq(int, r.eph_rc[k], SIM_OK), "boot %u", k + 1);
        cr_assert(eq(int, r.listen_rc[k], SIM_OK), "boot %u", k + 1);
        cr_assert(ge(u32, r.eph[k], 49152));
    }
    cr_assert(ne(u32, r.eph[1], r.eph[0]), "the same ephemeral port %u after the restart",
              r.eph[0]);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 10. datagram errors ===================================================================== */

typedef struct dgerr_rec {
    int too_big, max_ok, node0, node_unknown, node_next, port0;
    int small, exact;
    int stale_send, zeroed_send, closed_recv;
} dgerr_rec;

typedef struct dgerr {
    sim_co co;
    sim_udp sock;
    sim_udp stale;      /* a copy of sock, closed through sock */
    sim_addr peer;
    uint32_t nodes;     /* node count, to name the first unknown id */
    dgerr_rec *rec;
    uint8_t buf[SIM_DATAGRAM_MAX + 1];
} dgerr;

/* Every send, then sock closed through its handle (which is zeroed; the copy goes stale). */
static void dgerr_sends(sim_world *w, dgerr *s)
{
    dgerr_rec *r = s->rec;
    dg_fill(s->buf, sizeof s->buf, 1);
    r->too_big = sim_udp_send_to(w, &s->sock, s->peer, s->buf, SIM_DATAGRAM_MAX + 1);
    r->max_ok = sim_udp_send_to(w, &s->sock, s->peer, s->buf, SIM_DATAGRAM_MAX);
    r->node0 = sim_udp_send_to(w, &s->sock, at_port(nid(0), 7000), s->buf, 8);
    r->node_unknown = sim_udp_send_to(w, &s->sock, at_port(nid(99), 7000), s->buf, 8);
    r->node_next = sim_udp_send_to(w, &s->sock, at_port(nid(s->nodes + 1), 7000), s->buf, 8);
    r->port0 = sim_udp_send_to(w, &s->sock, at_port(s->peer.node, 0), s->buf, 8);
    /* Received in this order over a link of fixed latency: 100 bytes (cut to 10), 10 bytes. */
    dg_fill(s->buf, 100, 2);
    r->small = sim_udp_send_to(w, &s->sock, s->peer, s->buf, 100);
    dg_fill(s->buf, 10, 3);
    r->exact = sim_udp_send_to(w, &s->sock, s->peer, s->buf, 10);
    s->stale = s->sock;
    sim_udp_close(w, &s->sock);
    r->stale_send = sim_udp_send_to(w, &s->stale, s->peer, s->buf, 8);
    r->zeroed_send = sim_udp_send_to(w, &s->sock, s->peer, s->buf, 8);
}

static int dgerr_poll(void *state, sim_world *w)
{
    dgerr *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    if (sim_udp_bind(w, 0, &s->sock) != SIM_OK) SIM_RETURN(SIM_EINVAL);
    dgerr_sends(w, s);
    SIM_AWAIT(rc, sim_udp_recv(&s->stale, s->buf, 8, NULL));
    s->rec->closed_recv = rc;
    SIM_END(SIM_OK);
}

typedef struct trunc_rec {
    int rc[3];
    size_t len[3];
    bool truncated[3];
    bool intact[3];   /* the bytes received are the datagram's first len bytes */
    uint32_t seq[3];
} trunc_rec;

/* Receives three datagrams on 7000 into buffers of 65507, 10 and 10 bytes. */
typedef struct trunc_recv {
    sim_co co;
    sim_udp sock;
    sim_datagram dg;
    uint32_t i;
    trunc_rec *rec;
    uint8_t buf[SIM_DATAGRAM_MAX];
} trunc_recv;

static void trunc_recv_note(trunc_recv *s, int rc)
{
    trunc_rec *r = s->rec;
    r->rc[s->i] = rc;
    r->len[s->i] = s->dg.len;
    r->truncated[s->i] = s->dg.truncated;
    r->intact[s->i] = dg_intact(s->buf, s->dg.len, &r->seq[s->i]);
}

static int trunc_recv_poll(void *state, sim_world *w)
{
    trunc_recv *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    rc = sim_udp_bind(w, 7000, &s->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    for (s->i = 0; s->i < 3; s->i++) {
        SIM_AWAIT(rc, sim_udp_recv(&s->sock, s->buf, s->i == 0 ? SIM_DATAGRAM_MAX : 10, &s->dg));
        trunc_recv_note(s, rc);
    }
    SIM_END(SIM_OK);
}

/* Goal: the errors of sim_udp_send_to: SIM_ETOOBIG above SIM_DATAGRAM_MAX (65,507 bytes go),
 * SIM_ENODE for node 0 and for unknown nodes (99, and the first id past the last node),
 * SIM_EINVAL for port 0, SIM_ECLOSED on a closed socket (a stale handle or the zeroed one);
 * a receive on a closed socket is SIM_ECLOSED; a datagram longer than the receive buffer is
 * cut to it and marked truncated, one that just fits is not.
 * Method: every link a fixed 1 ms (so the datagrams arrive in the order sent); a task on n1
 * makes every call; a receiver on n2:7000 takes the 65,507-byte datagram, then a 100-byte one
 * and a 10-byte one into 10-byte buffers. */
Test(net, datagram_errors_and_truncation)
{
    sim_world *w = net_world(112, NULL);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_link(w, nid(0), nid(0), (sim_link){.latency = {SIM_MS, SIM_MS}});
    static trunc_recv tr;
    static dgerr de;
    trunc_rec trr = {.rc = {SIM_PENDING, SIM_PENDING, SIM_PENDING}};
    dgerr_rec der = {0};
    tr = (trunc_recv){.rec = &trr};
    de = (dgerr){.peer = at_port(n2, 7000), .nodes = 2, .rec = &der};
    test_spawn(w, "trunc-recv", n2, trunc_recv_poll, NULL, &tr, sizeof tr);
    test_spawn(w, "dgerr", n1, dgerr_poll, NULL, &de, sizeof de);
    test_run_ok(w);
    cr_assert(eq(int, der.too_big, SIM_ETOOBIG));
    cr_assert(eq(int, der.max_ok, SIM_OK));
    cr_assert(eq(int, der.node0, SIM_ENODE));
    cr_assert(eq(int, der.node_unknown, SIM_ENODE));
    cr_assert(eq(int, der.node_next, SIM_ENODE));
    cr_assert(eq(int, der.port0, SIM_EINVAL));
    cr_assert(eq(int, der.small, SIM_OK));
    cr_assert(eq(int, der.exact, SIM_OK));
    cr_assert(eq(int, der.stale_send, SIM_ECLOSED));
    cr_assert(eq(int, der.zeroed_send, SIM_ECLOSED));
    cr_assert(eq(int, der.closed_recv, SIM_ECLOSED));
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(eq(int, trr.rc[i], SIM_OK), "datagram %u", i);
        cr_assert(trr.intact[i], "datagram %u", i);
        cr_assert(eq(u32, trr.seq[i], i + 1), "datagram %u", i);
    }
    cr_assert(eq(sz, trr.len[0], SIM_DATAGRAM_MAX));
    cr_assert(not(trr.truncated[0]));
    cr_assert(eq(sz, trr.len[1], 10));
    cr_assert(trr.truncated[1]);
    cr_assert(eq(sz, trr.len[2], 10));
    cr_assert(not(trr.truncated[2]));
    sim_world_free(w);
}

/* ==== 11. backpressure ======================================================================== */

/* Goal: a write waits while the bytes it sent and the peer has not read fill the window: with
 * send_buffer 4,096 and a reader that does not read, a write of 10,000 bytes stays pending
 * with at most 4,096 bytes taken, and says so when described; it completes once the reader
 * reads.
 * Method: the reader (n2) sleeps 500 ms after accepting; the writer (n1) makes one write of
 * 10,000 bytes. The test stops the run at 400 ms and looks at the stream data n1 sent (the
 * trace) and at the write's description (it lives in the writer's state), then runs to the
 * end. */
Test(net, backpressure_holds_writer_until_reader_reads)
{
    net_tally t = {0};
    sim_world *w = net_world(113, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_config(w, (sim_net_desc){.send_buffer = 4096});
    rd_rec rr;
    wr_rec wr;
    sreader r = {.port = 8000, .cap_min = 256, .cap_max = 256, .delay_ns = 500 * SIM_MS,
                 .rec = &rr};
    swriter s = {.to = at_port(n2, 8000), .total = 10000, .chunk_min = 10000,
                 .chunk_max = 10000, .rec = &wr};
    spawn_sreader(w, n2, &r);
    spawn_swriter(w, n1, &s);
    cr_assert(eq(int, sim_world_run_until(w, 400 * SIM_MS), SIM_OK));
    cr_assert(eq(int, wr.connect_rc, SIM_OK));
    cr_assert(eq(int, wr.rc, SIM_PENDING));
    uint64_t taken = t.data_from[n1.v];
    cr_assert(le(u64, taken, 4096), "the write took %llu bytes past the window",
              (unsigned long long)taken);
    cr_assert(lt(u64, 0, taken));
    cr_assert(eq(u64, rr.bytes, 0));
    cr_assert(ne(ptr, (void *)wr.cur, NULL));
    char what[256];
    sim_fut_describe(wr.cur, w, what, sizeof what);
    char want[128];
    snprintf(want, sizeof want, "(%llu of 10000 bytes taken; the peer's window is full)",
             (unsigned long long)taken);
    cr_assert(ne(ptr, strstr(what, want), NULL), "'%s' is not in: %s", want, what);
    cr_assert(ne(ptr, strstr(what, "write on conn n1:"), NULL), "%s", what);
    cr_assert(ne(ptr, strstr(what, " -> n2:8000"), NULL), "%s", what);
    test_run_ok(w);
    cr_assert(eq(int, wr.rc, SIM_OK));
    cr_assert(eq(u64, wr.written, 10000));
    cr_assert(eq(ptr, (void *)wr.cur, NULL));
    cr_assert(ge(u64, wr.end_at, 500 * SIM_MS));
    cr_assert(eq(int, rr.rc, SIM_OK));
    cr_assert(eq(u64, rr.bytes, 10000));
    cr_assert(eq(u64, rr.bad, 0));
    sim_world_free(w);
}

/* ==== 12. half-close and close ================================================================ */

typedef struct close_rec {
    /* half-close */
    int c_shutdown, c_write_after, c_read_end;
    char c_got[16];
    size_t c_len;
    int s_read_end, s_write;
    char s_got[16];
    size_t s_len;
    /* writing to a peer that closed */
    int d_read, d_rc;
    size_t d_read_len;
    uint32_t d_writes;   /* writes that succeeded before the error */
    uint64_t d_at;
} close_rec;

/* A sub-coroutine: reads into buf[*len..cap) until the end of the stream (SIM_OK), an error,
 * or a full buffer (SIM_ELIMIT). */
typedef struct drain {
    sim_co co;
    const sim_conn *conn;
    char *buf;
    size_t *len;
    size_t cap;
    size_t got;          /* of the last read */
} drain;

static int drain_poll(void *state, sim_world *w)
{
    drain *d = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &d->co);
    for (;;) {
        if (*d->len == d->cap) SIM_RETURN(SIM_ELIMIT);
        SIM_AWAIT(rc, sim_read(d->conn, d->buf + *d->len, d->cap - *d->len, &d->got));
        if (rc != SIM_OK || d->got == 0) SIM_RETURN(rc);
        *d->len += d->got;
    }
    SIM_END(SIM_OK);
}

/* The client of the half-close: "hello", shutdown, a write that must fail, then read to the
 * end. */
typedef struct half_client {
    sim_co co;
    sim_conn conn;
    drain dr;
    sim_addr to;
    close_rec *rec;
} half_client;

static int half_client_poll(void *state, sim_world *w)
{
    half_client *c = state;
    close_rec *r = c->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_connect(c->to, &c->conn));
    SIM_TRY(sim_write(&c->conn, "hello", 5));
    r->c_shutdown = sim_shutdown(w, &c->conn);
    SIM_AWAIT(rc, sim_write(&c->conn, "x", 1));
    r->c_write_after = rc;
    c->dr = (drain){.conn = &c->conn, .buf = r->c_got, .len = &r->c_len,
                    .cap = sizeof r->c_got - 1};
    SIM_AWAIT(rc, sim_call(&c->dr, drain_poll));
    r->c_read_end = rc;
    SIM_END(SIM_OK);
}

/* The server: accepts on `port`; if `slam`, closes at once; else reads to the end, answers
 * "bye" and ends. */
typedef struct close_server {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    drain dr;
    uint16_t port;
    bool slam;
    close_rec *rec;
} close_server;

static int close_server_poll(void *state, sim_world *w)
{
    close_server *s = state;
    close_rec *r = s->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    rc = sim_listen(w, s->port, 0, &s->lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_accept(&s->lis, &s->conn, NULL));
    sim_listener_close(w, &s->lis);
    if (s->slam) {
        sim_conn_close(w, &s->conn);
        SIM_RETURN(SIM_OK);
    }
    s->dr = (drain){.conn = &s->conn, .buf = r->s_got, .len = &r->s_len,
                    .cap = sizeof r->s_got - 1};
    SIM_AWAIT(rc, sim_call(&s->dr, drain_poll));
    r->s_read_end = rc;
    SIM_AWAIT(rc, sim_write(&s->conn, "bye", 3));
    r->s_write = rc;
    SIM_END(SIM_OK);
}

/* Writes to a server that closed at once: reads first (the end of the stream), then writes
 * 100 bytes every 10 ms until a write fails (at most 20). */
typedef struct doomed_client {
    sim_co co;
    sim_conn conn;
    sim_addr to;
    uint8_t buf[100];
    close_rec *rec;
} doomed_client;

static int doomed_client_poll(void *state, sim_world *w)
{
    doomed_client *c = state;
    close_rec *r = c->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_connect(c->to, &c->conn));
    SIM_AWAIT(rc, sim_read(&c->conn, c->buf, sizeof c->buf, &r->d_read_len));
    r->d_read = rc;
    for (r->d_writes = 0; r->d_writes < 20; r->d_writes++) {
        SIM_AWAIT(rc, sim_write(&c->conn, c->buf, sizeof c->buf));
        if (rc != SIM_OK) break;
        SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    }
    r->d_rc = rc;
    r->d_at = sim_now(w);
    SIM_END(SIM_OK);
}

/* Goal: sim_shutdown half-closes: the peer reads what was written, then the end of the stream
 * (a read of 0), and can still answer, which the shut-down side reads to its end; a write
 * after shutdown is SIM_ECLOSED. Data written to a peer that closed resets the writer: a later
 * write ends with SIM_ECONNRESET (a net-reset event "by the peer", reason 4).
 * Method: on n1:8000, a server that reads to the end and answers "bye"; the client writes
 * "hello", shuts down, tries to write "x", and reads to the end. On n1:8001, a server that
 * closes at once; its client reads (the end of the stream), then writes 100 bytes every 10 ms
 * until a write fails. */
Test(net, half_close_and_write_to_closed_peer)
{
    net_tally t = {0};
    sim_world *w = net_world(114, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    close_rec r = {.c_shutdown = SIM_PENDING, .c_write_after = SIM_PENDING,
                   .c_read_end = SIM_PENDING, .s_read_end = SIM_PENDING, .s_write = SIM_PENDING,
                   .d_read = SIM_PENDING, .d_rc = SIM_PENDING};
    close_server hs = {.port = 8000, .rec = &r}, ds = {.port = 8001, .slam = true, .rec = &r};
    half_client hc = {.to = at_port(n1, 8000), .rec = &r};
    doomed_client dc = {.to = at_port(n1, 8001), .rec = &r};
    test_spawn(w, "half-server", n1, close_server_poll, NULL, &hs, sizeof hs);
    test_spawn(w, "slam-server", n1, close_server_poll, NULL, &ds, sizeof ds);
    test_spawn(w, "half-client", n2, half_client_poll, NULL, &hc, sizeof hc);
    test_spawn(w, "doomed-client", n2, doomed_client_poll, NULL, &dc, sizeof dc);
    test_run_ok(w);
    /* half-close */
    cr_assert(eq(int, r.c_shutdown, SIM_OK));
    cr_assert(eq(int, r.c_write_after, SIM_ECLOSED));
    cr_assert(eq(int, r.s_read_end, SIM_OK));
    cr_assert(eq(str, r.s_got, "hello"));
    cr_assert(eq(int, r.s_write, SIM_OK));
    cr_assert(eq(int, r.c_read_end, SIM_OK));
    cr_assert(eq(str, r.c_got, "bye"));
    /* writing to a closed peer */
    cr_assert(eq(int, r.d_read, SIM_OK));
    cr_assert(eq(sz, r.d_read_len, 0));
    cr_assert(eq(int, r.d_rc, SIM_ECONNRESET), "writer: %s after %u writes",
              sim_result_name(r.d_rc), r.d_writes);
    cr_assert(ge(u32, r.d_writes, 1)); /* the first write was taken: it is what got reset */
    cr_assert(ge(u64, t.reset_why[4], 1));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 13. frames ============================================================================== */

#define BIG_FRAME 40000

typedef struct frame_rec {
    /* connection 1 */
    int w_max0, w_toobig, w_frames[3], w_oversized;
    int r_max0, r_frames[3], r_toobig;
    uint32_t r_len[3];
    bool r_intact[3];
    /* connection 2: a frame, then one cut short; connection 3: a frame, then the end */
    int r2_first, r2_cut, r3_first, r3_end;
} frame_rec;

static const uint32_t frame_sizes[3] = {1, 777, BIG_FRAME};

static void frame_fill(uint8_t *buf, uint32_t len, uint32_t k)
{
    for (uint32_t j = 0; j < len; j++) buf[j] = (uint8_t)(j * 13 + k * 101 + 1);
}

static bool frame_intact(const uint8_t *buf, uint32_t len, uint32_t k)
{
    for (uint32_t j = 0; j < len; j++) {
        if (buf[j] != (uint8_t)(j * 13 + k * 101 + 1)) return false;
    }
    return true;
}

typedef struct frame_writer {
    sim_co co;
    sim_conn conn;
    sim_addr to;
    uint32_t i;
    frame_rec *rec;
    uint8_t buf[BIG_FRAME];
} frame_writer;

static int frame_writer_poll(void *state, sim_world *w)
{
    frame_writer *s = state;
    frame_rec *r = s->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    /* connection 1 */
    SIM_TRY(sim_connect(s->to, &s->conn));
    SIM_AWAIT(rc, sim_frame_write(&s->conn, s->buf, 10, 0));
    r->w_max0 = rc;
    SIM_AWAIT(rc, sim_frame_write(&s->conn, s->buf, 100, 50));
    r->w_toobig = rc;
    for (s->i = 0; s->i < 3; s->i++) {
        frame_fill(s->buf, frame_sizes[s->i], s->i);
        SIM_AWAIT(rc, sim_frame_write(&s->conn, s->buf, frame_sizes[s->i], 1 << 16));
        r->w_frames[s->i] = rc;
    }
    /* 100 bytes: more than the reader's next max */
    SIM_AWAIT(rc, sim_frame_write(&s->conn, s->buf, 100, 1 << 16));
    r->w_oversized = rc;
    sim_conn_close(w, &s->conn);
    /* connection 2: a whole frame, then a header announcing 100 bytes and only 10 of them */
    SIM_TRY(sim_connect(s->to, &s->conn));
    frame_fill(s->buf, 5, 0);
    SIM_AWAIT(rc, sim_frame_write(&s->conn, s->buf, 5, 64));
    memcpy(s->buf, "\0\0\0\x64" "0123456789", 14);
    SIM_AWAIT(rc, sim_write(&s->conn, s->buf, 14));
    sim_conn_close(w, &s->conn);
    /* connection 3: a whole frame, then the end */
    SIM_TRY(sim_connect(s->to, &s->conn));
    frame_fill(s->buf, 5, 0);
    SIM_AWAIT(rc, sim_frame_write(&s->conn, s->buf, 5, 64));
    sim_conn_close(w, &s->conn);
    SIM_END(SIM_OK);
}

typedef struct frame_reader {
    sim_co co;
    sim_listener lis;
    sim_conn conn;
    uint32_t i;
    uint32_t len;
    frame_rec *rec;
    uint8_t buf[BIG_FRAME];
} frame_reader;

static void frame_reader_note(frame_reader *s, int rc)
{
    frame_rec *r = s->rec;
    r->r_frames[s->i] = rc;
    r->r_len[s->i] = s->len;
    r->r_intact[s->i] = rc == SIM_OK && frame_intact(s->buf, s->len, s->i);
}

static int frame_reader_poll(void *state, sim_world *w)
{
    frame_reader *s = state;
    frame_rec *r = s->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    rc = sim_listen(w, 8000, 0, &s->lis);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_accept(&s->lis, &s->conn, NULL));
    SIM_AWAIT(rc, sim_frame_read(&s->conn, s->buf, 0, &s->len));
    r->r_max0 = rc;
    for (s->i = 0; s->i < 3; s->i++) {
        SIM_AWAIT(rc, sim_frame_read(&s->conn, s->buf, sizeof s->buf, &s->len));
        frame_reader_note(s, rc);
    }
    SIM_AWAIT(rc, sim_frame_read(&s->conn, s->buf, 50, &s->len));
    r->r_toobig = rc;
    sim_conn_close(w, &s->conn);
    /* connection 2 */
    SIM_TRY(sim_accept(&s->lis, &s->conn, NULL));
    SIM_AWAIT(rc, sim_frame_read(&s->conn, s->buf, sizeof s->buf, &s->len));
    r->r2_first = rc;
    SIM_AWAIT(rc, sim_frame_read(&s->conn, s->buf, sizeof s->buf, &s->len));
    r->r2_cut = rc;
    sim_conn_close(w, &s->conn);
    /* connection 3 */
    SIM_TRY(sim_accept(&s->lis, &s->conn, NULL));
    SIM_AWAIT(rc, sim_frame_read(&s->conn, s->buf, sizeof s->buf, &s->len));
    r->r3_first = rc;
    SIM_AWAIT(rc, sim_frame_read(&s->conn, s->buf, sizeof s->buf, &s->len));
    r->r3_end = rc;
    SIM_END(SIM_OK);
}

/* Goal: the frame helpers: a write with len > max is SIM_ETOOBIG and writes nothing; max 0 is
 * SIM_EINVAL for writing and for reading; frames of 1, 777 and 40,000 bytes round-trip
 * intact (over segments of 1..1460 bytes); a frame announced larger than the reader's max is
 * SIM_ETOOBIG; a stream that ends inside a frame, or where the next frame would start, is
 * SIM_EEOF.
 * Method: three connections n1 -> n2:8000. On the first, the writer tries max 0 and len >
 * max, then writes the three frames and a 100-byte frame; the reader tries max 0, reads the
 * three frames (the first must be the 1-byte one: nothing of the refused writes went out),
 * then reads with max 50. The second carries a frame, then a header announcing 100 bytes and
 * 10 of them; the third a frame and nothing after it. */
Test(net, frames)
{
    sim_world *w = net_world(115, NULL);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    static frame_reader fr;
    static frame_writer fw;
    frame_rec r;
    memset(&r, 0, sizeof r);
    r.w_max0 = r.w_toobig = r.w_oversized = r.r_max0 = r.r_toobig = SIM_PENDING;
    for (uint32_t i = 0; i < 3; i++) r.w_frames[i] = r.r_frames[i] = SIM_PENDING;
    r.r2_first = r.r2_cut = r.r3_first = r.r3_end = SIM_PENDING;
    fr = (frame_reader){.rec = &r};
    fw = (frame_writer){.to = at_port(n2, 8000), .rec = &r};
    test_spawn(w, "frame-reader", n2, frame_reader_poll, NULL, &fr, sizeof fr);
    test_spawn(w, "frame-writer", n1, frame_writer_poll, NULL, &fw, sizeof fw);
    test_run_ok(w);
    cr_assert(eq(int, r.w_max0, SIM_EINVAL));
    cr_assert(eq(int, r.w_toobig, SIM_ETOOBIG));
    cr_assert(eq(int, r.r_max0, SIM_EINVAL));
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(eq(int, r.w_frames[i], SIM_OK), "frame %u", i);
        cr_assert(eq(int, r.r_frames[i], SIM_OK), "frame %u: %s", i,
                  sim_result_name(r.r_frames[i]));
        cr_assert(eq(u32, r.r_len[i], frame_sizes[i]), "frame %u", i);
        cr_assert(r.r_intact[i], "frame %u", i);
    }
    cr_assert(eq(int, r.w_oversized, SIM_OK));
    cr_assert(eq(int, r.r_toobig, SIM_ETOOBIG));
    cr_assert(eq(int, r.r2_first, SIM_OK));
    cr_assert(eq(int, r.r2_cut, SIM_EEOF));
    cr_assert(eq(int, r.r3_first, SIM_OK));
    cr_assert(eq(int, r.r3_end, SIM_EEOF));
    sim_world_free(w);
}

/* ==== 14. clogs and one-way blocks ============================================================ */

/* Goal: a clog holds datagrams to the clogged node: none is delivered while it lasts, and all
 * are delivered when it ends, in the order they were sent (sim.h: messages to and from a
 * clogged node "wait (datagrams too) until it is unclogged, then go on in order").
 * Method: links of 1..50 ms; a chaos task clogs n2 at 100 ms and unclogs it at 1.1 s; n1
 * sends 100 numbered datagrams to n2, one every 5 ms from 200 ms (so that they reach the clog
 * in another order than they were sent). The test stops the run at 1 s to look: nothing
 * received, n1 -> n2 and n2 -> n1 unreachable. Then every datagram must arrive at exactly
 * 1.1 s, numbered in sending order. Results are gathered and the world freed before the
 * assertions. */
Test(net, clog_holds_datagrams_then_delivers_in_send_order)
{
    sim_world *w = net_world(116, NULL);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_link(w, nid(0), nid(0), (sim_link){.latency = {SIM_MS, 50 * SIM_MS}});
    uint64_t at[100];
    uint32_t order[100];
    dsend_rec sr;
    drecv_rec rr = {.at = at, .order = order, .cap = 100};
    dreceiver r = {.port = 7000, .idle_ns = 2 * SIM_S, .rec = &rr};
    dsender s = {.to = at_port(n2, 7000), .count = 100, .batch = 1, .gap_ns = 5 * SIM_MS,
                 .start_ns = 200 * SIM_MS, .rec = &sr};
    spawn_dreceiver(w, n2, &r);
    spawn_dsender(w, n1, &s);
    chaos_rec cr;
    net_step steps[] = {{100 * SIM_MS, NOP_CLOG, n2, {0}}, {1100 * SIM_MS, NOP_UNCLOG, n2, {0}}};
    spawn_chaos(w, steps, 2, NULL, NULL, &cr);
    /* Everything is gathered first and the world freed before any assertion. */
    int mid_rc = sim_world_run_until(w, SIM_S);
    uint32_t sent_mid = sr.sent, got_mid = rr.got;
    bool reach_12_mid = sim_net_reachable(w, n1, n2), reach_21_mid = sim_net_reachable(w, n2, n1);
    int run_rc = sim_world_run(w);
    bool reach_12_end = sim_net_reachable(w, n1, n2);
    sim_world_free(w);
    cr_assert(eq(int, mid_rc, SIM_OK));
    cr_assert(eq(u32, sent_mid, 100));
    cr_assert(eq(u32, got_mid, 0), "%u datagrams delivered during the clog", got_mid);
    cr_assert(not(reach_12_mid));
    cr_assert(not(reach_21_mid));
    cr_assert(eq(int, run_rc, SIM_OK));
    cr_assert(eq(int, cr.rc[0], SIM_OK));
    cr_assert(eq(int, cr.rc[1], SIM_OK));
    cr_assert(reach_12_end);
    cr_assert(eq(u32, rr.got, 100));
    cr_assert(eq(u32, rr.bad, 0));
    for (uint32_t i = 0; i < 100; i++) {
        cr_assert(eq(u64, at[i], 1100 * SIM_MS), "arrival %u at %llu ns", i,
                  (unsigned long long)at[i]);
    }
    uint32_t first_wrong = 100;
    for (uint32_t i = 0; i < 100 && first_wrong == 100; i++) {
        if (order[i] != i) first_wrong = i;
    }
    cr_assert(eq(u32, rr.inversions, 0),
              "released out of sending order: %u inversions; arrival %u is datagram %u",
              rr.inversions, first_wrong, first_wrong < 100 ? order[first_wrong] : 0);
}

/* Goal: sim_net_block is one way: n1's datagrams to n2 are dropped (reason partition) while
 * n2's datagrams to n1 arrive.
 * Method: n1 -> n2 blocked before the run; each node sends 50 datagrams to the other's 7000. */
Test(net, one_way_block_drops_one_direction_only)
{
    net_tally t = {0};
    sim_world *w = net_world(117, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    cr_assert(eq(int, sim_net_block(w, n1, n2), SIM_OK));
    cr_assert(not(sim_net_reachable(w, n1, n2)));
    cr_assert(sim_net_reachable(w, n2, n1));
    dsend_rec s12r, s21r;
    drecv_rec r1r = {0}, r2r = {0};
    dreceiver r1 = {.port = 7000, .rec = &r1r}, r2 = {.port = 7000, .rec = &r2r};
    dsender s12 = {.to = at_port(n2, 7000), .count = 50, .batch = 10, .gap_ns = 10 * SIM_MS,
                   .rec = &s12r};
    dsender s21 = {.to = at_port(n1, 7000), .count = 50, .batch = 10, .gap_ns = 10 * SIM_MS,
                   .rec = &s21r};
    spawn_dreceiver(w, n1, &r1);
    spawn_dreceiver(w, n2, &r2);
    spawn_dsender(w, n1, &s12);
    spawn_dsender(w, n2, &s21);
    test_run_ok(w);
    cr_assert(eq(u32, s12r.sent, 50));
    cr_assert(eq(u32, s21r.sent, 50));
    cr_assert(eq(u32, r2r.got, 0));
    cr_assert(eq(u32, r1r.got, 50));
    cr_assert(eq(u64, t.drop_why[SIM_NET_WHY_PARTITION], 50));
    cr_assert(eq(u64, t.kind[SIM_EV_NET_DROP], 50));
    sim_world_free(w);
}

/* ==== 15. bandwidth =========================================================================== */

/* Goal: a link's bandwidth queues messages behind each other: at 1,000,000 bytes/s a
 * 10,000-byte datagram takes 10 ms to send, so 10 sent at once at time 0 over a fixed 1 ms
 * latency arrive at exactly k * 10 ms + 1 ms (k = 1..10); the last at 101 ms. A link without
 * a bandwidth, from the same sender, is not held up by that queue.
 * Method: every link a fixed 1 ms; n1 -> n2 also 1,000,000 bytes/s. n1 sends the ten
 * datagrams to n2 and one to n3 at time 0; receivers record arrival times. */
Test(net, bandwidth_queues_messages)
{
    sim_world *w = net_world(118, NULL);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    sim_node_id n3 = test_node(w, "n3", NULL, NULL);
    net_link(w, nid(0), nid(0), (sim_link){.latency = {SIM_MS, SIM_MS}});
    net_link(w, n1, n2, (sim_link){.latency = {SIM_MS, SIM_MS}, .bandwidth = 1000000});
    uint64_t at2[10] = {0}, at3[1] = {0};
    dsend_rec s2r, s3r;
    drecv_rec r2r = {.at = at2, .cap = 10}, r3r = {.at = at3, .cap = 1};
    static dreceiver r2, r3;
    static dsender s2, s3;
    r2 = (dreceiver){.port = 7000, .len = 10000, .rec = &r2r};
    r3 = (dreceiver){.port = 7000, .len = 10000, .rec = &r3r};
    s2 = (dsender){.to = at_port(n2, 7000), .count = 10, .len = 10000, .rec = &s2r};
    s3 = (dsender){.to = at_port(n3, 7000), .count = 1, .len = 10000, .rec = &s3r};
    spawn_dreceiver(w, n2, &r2);
    spawn_dreceiver(w, n3, &r3);
    spawn_dsender(w, n1, &s2);
    spawn_dsender(w, n1, &s3);
    test_run_ok(w);
    cr_assert(eq(u32, r2r.got, 10));
    cr_assert(eq(u32, r2r.bad, 0));
    cr_assert(eq(u32, r2r.inversions, 0));
    for (uint32_t k = 0; k < 10; k++) {
        cr_assert(eq(u64, at2[k], (k + 1) * 10 * SIM_MS + SIM_MS), "datagram %u at %llu ns", k,
                  (unsigned long long)at2[k]);
    }
    cr_assert(eq(u32, r3r.got, 1));
    cr_assert(eq(u64, at3[0], SIM_MS));
    sim_world_free(w);
}

/* ==== 16. misuse and bad input ================================================================ */

typedef struct twin_rec {
    uint64_t step_ns; /* twin k starts waiting at k * step_ns */
    int rc[2];
} twin_rec;

/* Waits 50 ms for a datagram on a socket its node owns. */
typedef struct twin {
    sim_co co;
    sim_udp sock;      /* the node's */
    uint32_t k;
    uint8_t buf[16];
    twin_rec *rec;
} twin;

static int twin_poll(void *state, sim_world *w)
{
    twin *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_TRY(sim_sleep(w, t->k * t->rec->step_ns));
    SIM_AWAIT(rc, sim_timeout(w, 50 * SIM_MS, sim_udp_recv(&t->sock, t->buf, sizeof t->buf,
                                                            NULL)));
    t->rec->rc[t->k] = rc;
    SIM_END(SIM_OK);
}

/* Boot: one datagram socket, the node's, and two tasks that receive on it. */
static int boot_twins(void *ud, sim_world *w, sim_node_id node)
{
    twin t = {.rec = ud};
    int rc = sim_udp_bind(w, 7000, &t.sock);
    for (t.k = 0; t.k < 2 && rc == SIM_OK; t.k++) {
        sim_task_desc d = {.name = "twin", .node = node, .poll = twin_poll, .state = &t,
                           .state_size = sizeof t};
        rc = sim_spawn(w, &d, NULL);
    }
    return rc;
}

/* Runs the twins with the given start step; returns the misuse violations. */
static uint32_t twins_run(uint64_t seed, twin_rec *tr)
{
    sim_world *w = net_world(seed, NULL);
    test_node(w, "twins", boot_twins, tr);
    test_run_ok(w);
    uint32_t n = test_violations(w, SIM_VIOLATION_MISUSE);
    cr_assert(eq(u32, sim_world_violation_count(w), n)); /* misuse and nothing else */
    sim_world_free(w);
    return n;
}

/* Goal: two tasks waiting to read on one socket at once is a misuse violation (one reader at a
 * time), and the run still ends; the same two waiting one after the other is fine.
 * Method: a boot function binds a datagram socket (the node owns it) and spawns two tasks
 * that each receive on it with a 50 ms timeout; both start at once, then (another world) the
 * second starts 100 ms after the first. The violation is counted at least once: a task's
 * timeout polls its receive again, which may report the same conflict again. */
Test(net, two_readers_on_one_socket_is_misuse)
{
    twin_rec together = {.step_ns = 0, .rc = {SIM_PENDING, SIM_PENDING}};
    cr_assert(ge(u32, twins_run(119, &together), 1));
    for (uint32_t k = 0; k < 2; k++) {
        cr_assert(eq(int, together.rc[k], SIM_ETIMEDOUT), "twin %u: %s", k,
                  sim_result_name(together.rc[k]));
    }
    twin_rec apart = {.step_ns = 100 * SIM_MS, .rc = {SIM_PENDING, SIM_PENDING}};
    cr_assert(eq(u32, twins_run(119, &apart), 0));
    cr_assert(eq(int, apart.rc[0], SIM_ETIMEDOUT));
    cr_assert(eq(int, apart.rc[1], SIM_ETIMEDOUT));
}

/* Goal: bad link and network settings are refused: sim_net_link with latency min > max or a
 * loss above 1 is SIM_EINVAL, with an unknown node SIM_ENODE; sim_net_configure with
 * segment_min > segment_max or segment_max above 65535 is SIM_EINVAL; none of them is a
 * violation, and a refused setting changes nothing.
 * Method: make the bad calls, then run a stream with segments of exactly 1,000 bytes (set by
 * a good sim_net_configure after the refused ones) over the default links: 10,000 bytes must
 * go as 10 data segments, which a refused segment range would have changed. */
Test(net, bad_settings_are_refused)
{
    net_tally t = {0};
    sim_world *w = net_world(122, &t);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    sim_link bad_latency = {.latency = {5 * SIM_MS, SIM_MS}};
    sim_link bad_loss = {.loss = {3, 2}};
    sim_link fine = {0};
    cr_assert(eq(int, sim_net_link(w, n1, nid(0), &bad_latency), SIM_EINVAL));
    cr_assert(eq(int, sim_net_link(w, nid(0), nid(0), &bad_latency), SIM_EINVAL));
    cr_assert(eq(int, sim_net_link(w, n1, nid(0), &bad_loss), SIM_EINVAL));
    cr_assert(eq(int, sim_net_link(w, n1, nid(9), &fine), SIM_ENODE));
    sim_net_desc good = {.segment_min = 1000, .segment_max = 1000};
    sim_net_desc bad_seg = {.segment_min = 10, .segment_max = 5};
    sim_net_desc huge_seg = {.segment_min = 1000, .segment_max = 65536};
    cr_assert(eq(int, sim_net_configure(w, &good), SIM_OK));
    cr_assert(eq(int, sim_net_configure(w, &bad_seg), SIM_EINVAL));
    cr_assert(eq(int, sim_net_configure(w, &huge_seg), SIM_EINVAL));
    rd_rec rr;
    wr_rec wr;
    sreader r = {.port = 8000, .cap_min = 1, .cap_max = 1024, .rec = &rr};
    swriter s = {.to = at_port(n2, 8000), .total = 10000, .chunk_min = 10000,
                 .chunk_max = 10000, .rec = &wr};
    spawn_sreader(w, n2, &r);
    spawn_swriter(w, n1, &s);
    test_run_ok(w);
    cr_assert(eq(int, rr.rc, SIM_OK));
    cr_assert(eq(u64, rr.bytes, 10000));
    cr_assert(eq(u64, t.sent[SIM_NET_DATA], 10));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: sim_net_configure once a socket is open is SIM_EMISUSE and, like every misuse
 * (sim.h: "Misuse of the API returns SIM_EMISUSE and records a violation in the world"),
 * records a misuse violation.
 * Method: a boot function binds sockets; the test then calls sim_net_configure. Results are
 * gathered and the world freed before the assertions. */
Test(net, configure_after_socket_is_misuse)
{
    sim_world *w = net_world(120, NULL);
    phoenix_rec pr = {0};
    test_node(w, "n1", boot_phoenix, &pr);
    sim_net_desc d = {.segment_min = 1, .segment_max = 7};
    int rc = sim_net_configure(w, &d);
    uint32_t misuse = test_violations(w, SIM_VIOLATION_MISUSE);
    sim_world_free(w); /* before the assertions: a failure must not leak the world */
    cr_assert(eq(int, pr.fixed_rc[0], SIM_OK));
    cr_assert(eq(int, rc, SIM_EMISUSE));
    cr_assert(eq(u32, misuse, 1),
              "sim_net_configure returned SIM_EMISUSE without recording a violation");
}

/* ==== 17. determinism ========================================================================= */

typedef struct det_out {
    int run_rc;
    uint64_t hash, events;
    uint64_t bytes, bad;
    int read_rc;
    uint32_t dgrams;
} det_out;

/* A stream and datagrams both ways, with loss, duplication, a latency tail and small segments. */
static det_out det_run(uint64_t seed)
{
    sim_world *w = net_world(seed, NULL);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    net_config(w, (sim_net_desc){.segment_min = 1, .segment_max = 100});
    net_link(w, nid(0), nid(0),
             (sim_link){.latency = {SIM_MS, 20 * SIM_MS}, .tail_ns = 5 * SIM_MS});
    cr_assert(eq(int, sim_fault_set(w, "net/send/drop", (sim_ratio){1, 10}), SIM_OK));
    cr_assert(eq(int, sim_fault_set(w, "net/send/dup", (sim_ratio){1, 10}), SIM_OK));
    static sreader r;
    static swriter s;
    static dreceiver dr1, dr2;
    static dsender ds1, ds2;
    rd_rec rr;
    wr_rec wr;
    drecv_rec r1r = {0}, r2r = {0};
    dsend_rec s1r, s2r;
    r = (sreader){.port = 8000, .cap_min = 1, .cap_max = 100, .rec = &rr};
    s = (swriter){.to = at_port(n2, 8000), .total = 5000, .chunk_min = 1, .chunk_max = 500,
                  .gap_ns = SIM_MS, .rec = &wr};
    dr1 = (dreceiver){.port = 7000, .rec = &r1r};
    dr2 = (dreceiver){.port = 7000, .rec = &r2r};
    ds1 = (dsender){.to = at_port(n2, 7000), .count = 200, .batch = 10, .gap_ns = 5 * SIM_MS,
                    .rec = &s1r};
    ds2 = (dsender){.to = at_port(n1, 7000), .count = 200, .batch = 10, .gap_ns = 5 * SIM_MS,
                    .rec = &s2r};
    spawn_sreader(w, n2, &r);
    spawn_swriter(w, n1, &s);
    spawn_dreceiver(w, n1, &dr1);
    spawn_dreceiver(w, n2, &dr2);
    spawn_dsender(w, n1, &ds1);
    spawn_dsender(w, n2, &ds2);
    det_out out = {.run_rc = sim_world_run(w)};
    out.hash = sim_world_trace_hash(w);
    out.events = sim_world_event_count(w);
    out.bytes = rr.bytes;
    out.bad = rr.bad;
    out.read_rc = rr.rc;
    out.dgrams = r1r.got + r2r.got;
    sim_world_free(w);
    return out;
}

/* Goal: the network is deterministic: the same workload with loss, duplication, a latency tail
 * and small segments gives the same trace hash and event count with the same seed, and a
 * different hash with another seed.
 * Method: a 5,000-byte stream n1 -> n2 and 200 datagrams each way, drop and dup at 1/10,
 * latency 1..20 ms plus a 5 ms tail, segments of 1..100 bytes; seeds 7, 7 and 8. Each run must
 * also deliver the whole stream in order. */
Test(net, same_seed_same_trace)
{
    det_out a = det_run(7), b = det_run(7), c = det_run(8);
    const det_out *all[3] = {&a, &b, &c};
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(eq(int, all[i]->run_rc, SIM_OK), "run %u", i);
        cr_assert(eq(int, all[i]->read_rc, SIM_OK), "run %u", i);
        cr_assert(eq(u64, all[i]->bytes, 5000), "run %u", i);
        cr_assert(eq(u64, all[i]->bad, 0), "run %u", i);
        cr_assert(lt(u32, 0, all[i]->dgrams), "run %u", i);
    }
    cr_assert(eq(u64, a.hash, b.hash));
    cr_assert(eq(u64, a.events, b.events));
    cr_assert(eq(u32, a.dgrams, b.dgrams));
    cr_assert(ne(u64, a.hash, c.hash));
}

/* ==== 18. the dump ============================================================================ */

/* Goal: sim_world_dump describes the network while sockets are open: a "network:" line, and
 * the datagram socket, the listener and the connection.
 * Method: a stream whose reader sleeps 1 s after accepting and a datagram receiver waiting
 * 1 s; the run stops at 50 ms (sim_world_run_until) and the dump is read; the world is freed
 * with the tasks still pending. */
Test(net, dump_lists_sockets)
{
    sim_world *w = net_world(121, NULL);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    rd_rec rr;
    wr_rec wr;
    drecv_rec dr = {0};
    sreader r = {.port = 8000, .cap_min = 1, .cap_max = 64, .delay_ns = SIM_S, .rec = &rr};
    swriter s = {.to = at_port(n2, 8000), .total = 100, .chunk_min = 100, .chunk_max = 100,
                 .rec = &wr};
    dreceiver d = {.port = 7000, .idle_ns = SIM_S, .rec = &dr};
    spawn_sreader(w, n2, &r);
    spawn_swriter(w, n1, &s);
    spawn_dreceiver(w, n2, &d);
    cr_assert(eq(int, sim_world_run_until(w, 50 * SIM_MS), SIM_OK));
    const char *dump = sim_world_dump(w);
    cr_assert(dump != NULL);
    cr_assert(strstr(dump, "network:") != NULL, "dump:\n%s", dump);
    cr_assert(strstr(dump, "datagram socket") != NULL, "dump:\n%s", dump);
    cr_assert(strstr(dump, "listener") != NULL, "dump:\n%s", dump);
    cr_assert(strstr(dump, "connection") != NULL, "dump:\n%s", dump);
    sim_world_free(w);
}
