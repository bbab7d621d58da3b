/*
 * register.c: the register (see register.h), written against sim.h only.
 *
 * The register, and the server's table of the last request it took from each client, live in
 * the run state, as if on the server's disk: a crash of the server loses the requests it was
 * serving (their clients time out and record info), never a value it applied. Each client
 * has one request in flight at a time; requests carry a number that only grows, so the
 * server takes each at most once even when the network duplicates it. Process numbers follow
 * Jepsen: client ci is process i-1, and it takes a fresh number (i-1 + clients * k) after an
 * operation it could not complete (info) and after a restart, so that a process never has
 * two operations pending.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "register.h"

#define PORT 7100
#define MAGIC 0x72656731u                     /* "reg1" */
#define NIL (-1)                              /* the register before its first write */
#define VALUES 5                              /* values are 0..4 */
#define REFRESH_EVERY 3                       /* stale-read: the copy follows every 3rd write */
#define SERVER_DELAY_MAX_NS (5 * SIM_MS)      /* before and after applying, each */
#define THINK_MAX_NS (2 * SIM_MS)             /* a client's pause between operations */
#define CLIENT_TIMEOUT_NS (500 * SIM_MS)      /* no reply by then: the outcome is unknown */

enum { OP_READ = 1, OP_WRITE = 2, OP_CAS = 3 };

static const char *const op_names[] = {"?", "read", "write", "cas"};

/* ---- the shared state ------------------------------------------------------------------------ */

typedef struct reg_world reg_world;

/* One client, across its boots. */
typedef struct client_ctx {
    reg_world *rw;
    uint32_t index;          /* 0-based: c1 is 0 */
    uint32_t invoked;        /* operations invoked so far, every boot; at most rw->ops */
    uint32_t incarnation;    /* the history's process is index + clients * incarnation */
    uint32_t seq;            /* the number of the last request sent; only grows */
} client_ctx;

struct reg_world {
    uint32_t clients;        /* 1..SIM_REGISTER_MAX_CLIENTS */
    uint32_t ops;            /* per client */
    bool stale_read;         /* the planted bug */
    sim_node_id server;
    int32_t value;           /* the register: 0..4, or NIL */
    int32_t cache;           /* what reads see under stale-read: value as of a refresh */
    uint32_t mutations;      /* writes and successful cas applied */
    uint32_t last_seq[SIM_REGISTER_MAX_CLIENTS]; /* per client: the last request taken */
    uint32_t ok, failed, unknown;                /* outcomes the clients recorded */
    client_ctx cl[SIM_REGISTER_MAX_CLIENTS];
};

/* ---- the messages ---------------------------------------------------------------------------- */

typedef struct request {
    uint32_t magic;
    uint32_t client;         /* 0-based index */
    uint32_t seq;            /* per client, from 1 */
    uint32_t op;             /* OP_* */
    int32_t a;               /* write: the value; cas: the old value */
    int32_t b;               /* cas: the new value */
} request;

typedef struct reply {
    uint32_t magic;
    uint32_t seq;            /* the request's */
    uint32_t ok;             /* 0: a cas whose old value did not match */
    int32_t value;           /* read: the value, or NIL */
} reply;

static bool valid_value(int32_t v)
{
    return v >= 0 && v < VALUES;
}

static void mutated(reg_world *rw)
{
    rw->mutations++;
    if (rw->mutations % REFRESH_EVERY == 0) rw->cache = rw->value;
}

/* The server's one atomic step: the operation takes effect here. */
static reply apply(reg_world *rw, const request *q)
{
    SIM_ASSERT(q->op >= OP_READ && q->op <= OP_CAS);
    SIM_ASSERT(rw->value == NIL || valid_value(rw->value));
    reply r = {.magic = MAGIC, .seq = q->seq, .ok = 1, .value = NIL};
    if (q->op == OP_READ) {
        r.value = rw->stale_read ? rw->cache : rw->value; /* the bug: an old copy */
    } else if (q->op == OP_WRITE) {
        rw->value = q->a;
        mutated(rw);
    } else if (rw->value == q->a) {
        rw->value = q->b;
        mutated(rw);
    } else {
        r.ok = 0;
    }
    return r;
}

/* ---- server: a handler per request ----------------------------------------------------------- */

typedef struct handler {
    sim_co co;
    reg_world *rw;
    request req;
    sim_addr from;
    uint64_t before_ns;      /* delay before applying */
    uint64_t after_ns;       /* delay between applying and replying */
    sim_udp sock;
    reply rep;
} handler;

static int handler_poll(void *state, sim_world *w)
{
    handler *h = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &h->co);
    SIM_TRY(sim_sleep(w, h->before_ns));
    h->rep = apply(h->rw, &h->req);
    SIM_TRY(sim_sleep(w, h->after_ns));
    rc = sim_udp_bind(w, 0, &h->sock);
    if (rc == SIM_OK) rc = sim_udp_send_to(w, &h->sock, h->from, &h->rep, sizeof h->rep);
    sim_udp_close(w, &h->sock);
    SIM_END(rc);
}

/* ---- server: the listener takes requests and hands each to a handler ------------------------- */

typedef struct listener {
    sim_co co;
    reg_world *rw;
    sim_rng rng;             /* the handlers' delays */
    sim_udp sock;
    sim_datagram got;
    request req;
} listener;

/* A request the server should serve: well formed, and newer than the client's last one (a
 * duplicate or a late copy is ignored). */
static bool take(reg_world *rw, const request *q, size_t len)
{
    if (len != sizeof *q || q->magic != MAGIC || q->client >= rw->clients) return false;
    if (q->op < OP_READ || q->op > OP_CAS) return false;
    if (q->op != OP_READ && !valid_value(q->a)) return false;
    if (q->op == OP_CAS && !valid_value(q->b)) return false;
    if (q->seq <= rw->last_seq[q->client]) return false;
    rw->last_seq[q->client] = q->seq;
    return true;
}

static int spawn_handler(sim_world *w, listener *l)
{
    handler h = {.rw = l->rw, .req = l->req, .from = l->got.from};
    h.before_ns = sim_rng_below(&l->rng, SERVER_DELAY_MAX_NS + 1);
    h.after_ns = sim_rng_below(&l->rng, SERVER_DELAY_MAX_NS + 1);
    sim_task_desc d = {.name = "handler", .poll = handler_poll, .state = &h,
                       .state_size = sizeof h, .daemon = true};
    return sim_spawn(w, &d, NULL);
}

static int listener_poll(void *state, sim_world *w)
{
    listener *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    rc = sim_udp_bind(w, PORT, &l->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    for (;;) {
        SIM_AWAIT(rc, sim_udp_recv(&l->sock, &l->req, sizeof l->req, &l->got));
        if (rc != SIM_OK) break;
        if (!take(l->rw, &l->req, l->got.len)) continue;
        rc = spawn_handler(w, l);
        if (rc != SIM_OK) break;
    }
    SIM_END(rc);
}

static int boot_server(void *ud, sim_world *w, sim_node_id node)
{
    reg_world *rw = ud;
    rw->cache = rw->value; /* a fresh process reads the register itself */
    listener l = {.rw = rw};
    sim_world_rng(w, "sut/register/server", sim_node_boots(w, node), &l.rng);
    sim_task_desc d = {.name = "listener", .poll = listener_poll, .state = &l,
                       .state_size = sizeof l, .daemon = true};
    return sim_spawn(w, &d, NULL);
}

/* ---- clients --------------------------------------------------------------------------------- */

typedef struct client {
    sim_co co;
    client_ctx *ctx;
    sim_rng rng;             /* which operations, which values, how long to think */
    sim_udp sock;
    request req;             /* the operation in flight */
    uint32_t op;             /* its id in the history */
    int sent;                /* what sending it returned */
    uint64_t deadline_ns;    /* no reply by then: info */
    sim_datagram got;
    reply rep;
    sim_op_type outcome;     /* SIM_OP_INFO until a reply says otherwise */
} client;

static uint32_t process_of(const client_ctx *ctx)
{
    return ctx->index + ctx->rw->clients * ctx->incarnation;
}

/* The invocation's value as EDN: NULL for a read, "3" for a write, "[1 2]" for a cas. */
static const char *input_text(const request *q, char *buf, size_t size)
{
    if (q->op == OP_READ) return NULL;
    if (q->op == OP_WRITE) {
        snprintf(buf, size, "%d", (int)q->a);
    } else {
        snprintf(buf, size, "[%d %d]", (int)q->a, (int)q->b);
    }
    return buf;
}

/* Draws the next operation, records its invocation and sends it to the server. */
static int invoke(sim_world *w, client *c)
{
    client_ctx *ctx = c->ctx;
    uint32_t kind = OP_READ + (uint32_t)sim_rng_below(&c->rng, 3);
    c->req = (request){.magic = MAGIC, .client = ctx->index, .seq = ++ctx->seq, .op = kind};
    if (kind != OP_READ) c->req.a = (int32_t)sim_rng_below(&c->rng, VALUES);
    if (kind == OP_CAS) c->req.b = (int32_t)sim_rng_below(&c->rng, VALUES);
    char value[32];
    int rc = sim_history_invoke(w, process_of(ctx), op_names[kind], NULL,
                                input_text(&c->req, value, sizeof value), &c->op);
    if (rc != SIM_OK) return rc;
    ctx->invoked++;
    sim_addr to = {.node = ctx->rw->server, .port = PORT};
    c->sent = sim_udp_send_to(w, &c->sock, to, &c->req, sizeof c->req);
    /* Not sent (the only error here is a closed socket): it certainly did not take effect. */
    c->outcome = c->sent == SIM_OK ? SIM_OP_INFO : SIM_OP_FAIL;
    c->deadline_ns = sim_now(w) + CLIENT_TIMEOUT_NS;
    return SIM_OK;
}

/* Records the completion: ok with what the operation returned, fail, or info. */
static int complete(sim_world *w, client *c)
{
    client_ctx *ctx = c->ctx;
    char value[32];
    const char *text = input_text(&c->req, value, sizeof value);
    if (c->req.op == OP_READ && c->outcome == SIM_OP_OK) {
        if (c->rep.value == NIL) {
            text = "nil";
        } else {
            SIM_ASSERT(valid_value(c->rep.value));
            snprintf(value, sizeof value, "%d", (int)c->rep.value);
            text = value;
        }
    }
    if (c->outcome == SIM_OP_FAIL && c->sent == SIM_OK) SIM_ASSERT(c->req.op == OP_CAS);
    int rc = sim_history_complete(w, c->op, c->outcome, text);
    if (c->outcome == SIM_OP_OK) ctx->rw->ok++;
    if (c->outcome == SIM_OP_FAIL) ctx->rw->failed++;
    if (c->outcome == SIM_OP_INFO) {
        ctx->rw->unknown++;
        ctx->incarnation++; /* a process with an operation in doubt is done */
    }
    return rc;
}

/* The reply to the request in flight, or something to ignore (a late reply to an earlier
 * request, a duplicate, garbage). */
static bool answers(const client *c)
{
    return c->got.len == sizeof c->rep && c->rep.magic == MAGIC && c->rep.seq == c->req.seq;
}

static int client_poll(void *state, sim_world *w)
{
    client *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    rc = sim_udp_bind(w, 0, &c->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    while (c->ctx->invoked < c->ctx->rw->ops) {
        SIM_TRY(sim_sleep(w, sim_rng_below(&c->rng, THINK_MAX_NS + 1)));
        rc = invoke(w, c);
        if (rc != SIM_OK) SIM_RETURN(rc);
        while (c->outcome == SIM_OP_INFO && c->sent == SIM_OK && sim_now(w) < c->deadline_ns) {
            SIM_AWAIT(rc, sim_timeout(w, sim_time_left(w, c->deadline_ns),
                                      sim_udp_recv(&c->sock, &c->rep, sizeof c->rep, &c->got)));
            if (rc == SIM_ETIMEDOUT) break;
            if (rc != SIM_OK) SIM_RETURN(rc);
            if (answers(c)) c->outcome = c->rep.ok ? SIM_OP_OK : SIM_OP_FAIL;
        }
        rc = complete(w, c);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    SIM_END(SIM_OK);
}

static int boot_client(void *ud, sim_world *w, sim_node_id node)
{
    client_ctx *ctx = ud;
    uint32_t boots = sim_node_boots(w, node);
    SIM_ASSERT(boots >= 1);
    /* An operation cut off by the crash stays pending in the history: a new process. */
    if (boots > 1) ctx->incarnation++;
    if (ctx->invoked >= ctx->rw->ops) return SIM_OK;
    client c = {.ctx = ctx};
    sim_world_rng(w, "sut/register/client", (uint64_t)ctx->index << 32 | boots, &c.rng);
    sim_task_desc d = {.name = "client", .poll = client_poll, .state = &c,
                       .state_size = sizeof c};
    return sim_spawn(w, &d, NULL);
}

/* ---- the system ------------------------------------------------------------------------------ */

static const char *const client_names[SIM_REGISTER_MAX_CLIENTS] = {
    "c1",  "c2",  "c3",  "c4",  "c5",  "c6",  "c7",  "c8",  "c9",  "c10", "c11",
    "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19", "c20", "c21", "c22",
    "c23", "c24", "c25", "c26", "c27", "c28", "c29", "c30", "c31", "c32"};

static const sim_key_spec register_keys[] = {
    {"register", "clients", SIM_KEY_UINT, "3", NULL, 1, SIM_REGISTER_MAX_CLIENTS,
     "client nodes c1..cN"},
    {"register", "ops", SIM_KEY_UINT, "20", NULL, 1, 100000, "operations each client invokes"},
    {"register", "bug", SIM_KEY_CHOICE, "none", "none|stale-read", 0, 0,
     "a planted bug, for testing sim itself"},
};

static int register_sys_setup(void *ud, sim_world *w, const sim_scenario *sc, void **out,
                              char *err, size_t err_size)
{
    (void)ud;
    reg_world *rw = calloc(1, sizeof *rw);
    if (rw == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    *out = rw;
    rw->clients = (uint32_t)sim_scenario_uint(sc, "register", "clients");
    rw->ops = (uint32_t)sim_scenario_uint(sc, "register", "ops");
    rw->stale_read = strcmp(sim_scenario_get(sc, "register", "bug"), "stale-read") == 0;
    rw->value = NIL;
    rw->cache = NIL;
    SIM_ASSERT(rw->clients >= 1 && rw->clients <= SIM_REGISTER_MAX_CLIENTS);
    SIM_ASSERT(rw->ops >= 1);
    sim_history_expect(w, (uint64_t)rw->clients * rw->ops); /* every client does all of its */
    sim_node_desc sd = {.name = "server", .boot = boot_server, .boot_ud = rw};
    int rc = sim_node_add(w, &sd, &rw->server);
    for (uint32_t i = 0; rc == SIM_OK && i < rw->clients; i++) {
        rw->cl[i] = (client_ctx){.rw = rw, .index = i};
        sim_node_desc cd = {.name = client_names[i], .boot = boot_client, .boot_ud = &rw->cl[i]};
        rc = sim_node_add(w, &cd, NULL);
    }
    if (rc != SIM_OK) snprintf(err, err_size, "%s", sim_result_str(rc));
    return rc;
}

/* The history is linearizable under the register model, else a one-line failure. */
static int register_sys_check(void *ud, void *state, sim_world *w, char *msg, size_t msg_size)
{
    (void)ud;
    const reg_world *rw = state;
    SIM_ASSERT(rw->ok + rw->failed + rw->unknown <= rw->clients * rw->ops);
    if (rw->ok + rw->failed + rw->unknown == 0) {
        snprintf(msg, msg_size, "the clients recorded no operations");
        return SIM_EINVAL;
    }
    return sim_world_check(w, &sim_model_register, msg, msg_size);
}

static void register_sys_teardown(void *ud, void *state)
{
    (void)ud;
    free(state);
}

static uint32_t register_sys_nodes(void *ud, const sim_scenario *sc, const char **names,
                                   uint32_t max)
{
    (void)ud;
    uint32_t n = (uint32_t)sim_scenario_uint(sc, "register", "clients");
    if (max > 0) names[0] = "server";
    for (uint32_t i = 0; i < n && i + 1 < max; i++) names[i + 1] = client_names[i];
    return n + 1;
}

const sim_system sim_register_system = {
    .name = "register",
    .summary = "clients reading, writing and cas-ing one register on a server; the history "
               "is checked for linearizability",
    .keys = register_keys,
    .key_count = sizeof register_keys / sizeof register_keys[0],
    .setup = register_sys_setup,
    .check = register_sys_check,
    .teardown = register_sys_teardown,
    .nodes = register_sys_nodes,
    .shrink = "register.clients register.ops",
};
