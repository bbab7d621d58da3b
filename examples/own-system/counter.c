/*
 * counter.c: a replicated counter (counter.h), written against sim.h only.
 *
 * Two replicas and some clients exchange datagrams. The backup keeps the count, and the
 * number of the last add it took from each client, on its disk (here: in the run state,
 * which survives its crashes). The primary serves every request, one at a time: a read from
 * its copy of the count; an add only after the backup has taken it, replying with the count
 * the backup acknowledged. A primary that boots, or that gave up on an add (the backup did
 * not answer), fetches the count from the backup before it serves again. A client has one
 * request in flight; no reply within its timeout means the outcome is unknown (info) and the
 * client goes on as a new process, as in Jepsen.
 *
 * The planted bug, [counter] bug = forget-on-restart: a restarted primary skips the fetch and
 * serves reads from a count of 0 until its next add. The check (model.c) finds the read that
 * went back in time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"

#define PRIMARY_PORT 7200
#define BACKUP_PORT 7201
#define MAGIC 0x636e7431u                     /* "cnt1" */
#define REPL_TIMEOUT_NS (50 * SIM_MS)         /* the primary waits this long for the backup */
#define REPL_ATTEMPTS 4                       /* then gives up on the add */
#define CLIENT_TIMEOUT_NS (500 * SIM_MS)      /* no reply by then: the outcome is unknown */
#define THINK_MAX_NS (20 * SIM_MS)            /* a client's pause between operations */
#define ADD_MAX 3                             /* adds are of 1..3 */

enum { ADD = 1, READ, REPLY, REPL, REPL_ACK, FETCH, FETCH_REPLY };

typedef struct msg {
    uint32_t magic;
    uint32_t kind;           /* ADD .. FETCH_REPLY */
    uint32_t client;         /* 0-based */
    uint32_t seq;            /* the client's request number, from 1 */
    int64_t value;           /* ADD, REPL: the amount; replies: the count */
} msg;

typedef struct counter_world counter_world;

typedef struct client_ctx {
    counter_world *cw;
    uint32_t index;          /* 0-based: c1 is 0 */
    uint32_t invoked;        /* operations invoked, every boot; at most cw->ops */
    uint32_t incarnation;    /* the history's process is index + clients * incarnation */
    uint32_t seq;            /* the last request's number; only grows */
} client_ctx;

struct counter_world {
    uint32_t clients;        /* 1..COUNTER_MAX_CLIENTS */
    uint32_t ops;            /* per client */
    bool forget;             /* the planted bug */
    sim_node_id primary, backup;
    int64_t count;                             /* the backup's disk: the count */
    uint32_t taken[COUNTER_MAX_CLIENTS];       /* the backup's disk: last add per client */
    client_ctx cl[COUNTER_MAX_CLIENTS];
};

static int send_msg(sim_world *w, sim_udp *sock, sim_node_id node, uint16_t port, msg m)
{
    m.magic = MAGIC;
    return sim_udp_send_to(w, sock, (sim_addr){.node = node, .port = port}, &m, sizeof m);
}

static bool valid(const msg *m, size_t len, const counter_world *cw)
{
    return len == sizeof *m && m->magic == MAGIC && m->client < cw->clients;
}

/* ---- the backup -------------------------------------------------------------------------- */

typedef struct backup {
    sim_co co;
    counter_world *cw;
    sim_udp sock;
    sim_datagram got;
    msg in;
} backup;

static int backup_poll(void *state, sim_world *w)
{
    backup *b = state;
    counter_world *cw = b->cw;
    int rc = SIM_OK;
    SIM_BEGIN(w, &b->co);
    rc = sim_udp_bind(w, BACKUP_PORT, &b->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    for (;;) {
        SIM_AWAIT(rc, sim_udp_recv(&b->sock, &b->in, sizeof b->in, &b->got));
        if (rc != SIM_OK) break;
        if (!valid(&b->in, b->got.len, cw)) continue;
        msg out = {.kind = b->in.kind == REPL ? REPL_ACK : FETCH_REPLY, .client = b->in.client,
                   .seq = b->in.seq};
        if (b->in.kind == REPL && b->in.seq > cw->taken[b->in.client]) {
            cw->taken[b->in.client] = b->in.seq; /* a duplicate is acknowledged, not taken */
            cw->count += b->in.value;
        } else if (b->in.kind != REPL && b->in.kind != FETCH) {
            continue;
        }
        out.value = cw->count;
        send_msg(w, &b->sock, b->got.from.node, b->got.from.port, out);
    }
    SIM_END(rc);
}

static int boot_backup(void *ud, sim_world *w, sim_node_id node)
{
    (void)node;
    backup b = {.cw = ud};
    sim_task_desc d = {.name = "backup", .poll = backup_poll, .state = &b,
                       .state_size = sizeof b, .daemon = true};
    return sim_spawn(w, &d, NULL);
}

/* ---- the primary ------------------------------------------------------------------------- */

typedef struct primary {
    sim_co co;
    counter_world *cw;
    sim_udp sock;            /* the clients' requests */
    sim_udp repl;            /* to and from the backup */
    bool need_fetch;         /* the count is not known to be the backup's */
    int64_t count;           /* the backup's count, as last heard */
    uint32_t last[COUNTER_MAX_CLIENTS]; /* per client: the last request served this boot */
    sim_datagram req_got;
    msg req;                 /* the request being served */
    msg ask;                 /* what the backup is asked: REPL or FETCH */
    uint32_t attempts;
    uint64_t deadline_ns;
    bool answered;           /* the backup answered ask */
    sim_datagram got;
    msg in;                  /* the backup's answer */
} primary;

/* Whether the backup's message answers what it was asked. */
static bool answers(const primary *p)
{
    uint32_t want = p->ask.kind == REPL ? REPL_ACK : FETCH_REPLY;
    return valid(&p->in, p->got.len, p->cw) && p->in.kind == want && p->in.seq == p->ask.seq &&
           p->in.client == p->ask.client;
}

/* The next request worth serving: well formed, and newer than the client's last one. */
static bool take(primary *p)
{
    if (!valid(&p->req, p->req_got.len, p->cw) || p->req.seq <= p->last[p->req.client]) {
        return false;
    }
    p->last[p->req.client] = p->req.seq;
    return p->req.kind == ADD || p->req.kind == READ;
}

static int primary_poll(void *state, sim_world *w)
{
    primary *p = state;
    counter_world *cw = p->cw;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    rc = sim_udp_bind(w, PRIMARY_PORT, &p->sock);
    if (rc == SIM_OK) rc = sim_udp_bind(w, 0, &p->repl);
    if (rc != SIM_OK) SIM_RETURN(rc);
    for (;;) {
        if (p->need_fetch) {
            p->ask = (msg){.kind = FETCH};
        } else {
            SIM_AWAIT(rc, sim_udp_recv(&p->sock, &p->req, sizeof p->req, &p->req_got));
            if (rc != SIM_OK) break;
            if (!take(p)) continue;
            p->ask = (msg){.kind = REPL, .client = p->req.client, .seq = p->req.seq,
                           .value = p->req.value};
        }
        /* A read needs nothing from the backup; anything else waits for its answer. */
        p->answered = !p->need_fetch && p->req.kind == READ;
        for (p->attempts = 0; !p->answered && p->attempts < REPL_ATTEMPTS; p->attempts++) {
            send_msg(w, &p->repl, cw->backup, BACKUP_PORT, p->ask);
            p->deadline_ns = sim_now(w) + REPL_TIMEOUT_NS;
            while (!p->answered) {
                SIM_AWAIT(rc, sim_timeout(w, sim_time_left(w, p->deadline_ns),
                                          sim_udp_recv(&p->repl, &p->in, sizeof p->in,
                                                       &p->got)));
                if (rc != SIM_OK) break;
                p->answered = answers(p);
            }
            if (rc != SIM_OK && rc != SIM_ETIMEDOUT) SIM_RETURN(rc);
        }
        if (p->ask.kind == FETCH || !p->answered) {
            /* Fetched; or the backup may have taken the add: ask it, and do not reply. */
            p->need_fetch = !p->answered;
            if (p->answered) p->count = p->in.value;
            continue;
        }
        if (p->req.kind == ADD) p->count = p->in.value;
        send_msg(w, &p->sock, p->req_got.from.node, p->req_got.from.port,
                 (msg){.kind = REPLY, .client = p->req.client, .seq = p->req.seq,
                       .value = p->count});
    }
    SIM_END(rc);
}

static int boot_primary(void *ud, sim_world *w, sim_node_id node)
{
    counter_world *cw = ud;
    primary p = {.cw = cw, .need_fetch = true};
    if (cw->forget && sim_node_boots(w, node) > 1) p.need_fetch = false; /* the bug */
    sim_task_desc d = {.name = "primary", .poll = primary_poll, .state = &p,
                       .state_size = sizeof p, .daemon = true};
    return sim_spawn(w, &d, NULL);
}

/* ---- clients ----------------------------------------------------------------------------- */

typedef struct client {
    sim_co co;
    client_ctx *ctx;
    sim_rng rng;             /* which operation, how much, how long to think */
    sim_udp sock;
    msg req;
    uint32_t op;             /* its id in the history */
    sim_op_type outcome;     /* SIM_OP_INFO until the reply comes */
    uint64_t deadline_ns;
    sim_datagram got;
    msg rep;
} client;

static uint32_t process_of(const client_ctx *ctx)
{
    return ctx->index + ctx->cw->clients * ctx->incarnation;
}

static int invoke(sim_world *w, client *c)
{
    client_ctx *ctx = c->ctx;
    bool add = sim_rng_below(&c->rng, 2) == 0;
    c->req = (msg){.kind = add ? ADD : READ, .client = ctx->index, .seq = ++ctx->seq};
    char value[32];
    if (add) {
        c->req.value = 1 + (int64_t)sim_rng_below(&c->rng, ADD_MAX);
        snprintf(value, sizeof value, "%lld", (long long)c->req.value);
    }
    int rc = sim_history_invoke(w, process_of(ctx), add ? "add" : "read", NULL,
                                add ? value : NULL, &c->op);
    if (rc != SIM_OK) return rc;
    ctx->invoked++;
    c->outcome = SIM_OP_INFO;
    c->deadline_ns = sim_now(w) + CLIENT_TIMEOUT_NS;
    rc = send_msg(w, &c->sock, ctx->cw->primary, PRIMARY_PORT, c->req);
    if (rc != SIM_OK) c->outcome = SIM_OP_FAIL; /* never sent: it certainly did not happen */
    return SIM_OK;
}

static int complete(sim_world *w, client *c)
{
    char value[32];
    const char *text = NULL;
    if (c->req.kind == ADD) {
        snprintf(value, sizeof value, "%lld", (long long)c->req.value);
        text = value;
    } else if (c->outcome == SIM_OP_OK) {
        snprintf(value, sizeof value, "%lld", (long long)c->rep.value);
        text = value;
    }
    if (c->outcome == SIM_OP_INFO) c->ctx->incarnation++;
    return sim_history_complete(w, c->op, c->outcome, text);
}

static int client_poll(void *state, sim_world *w)
{
    client *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    rc = sim_udp_bind(w, 0, &c->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    while (c->ctx->invoked < c->ctx->cw->ops) {
        SIM_TRY(sim_sleep(w, sim_rng_below(&c->rng, THINK_MAX_NS + 1)));
        rc = invoke(w, c);
        if (rc != SIM_OK) SIM_RETURN(rc);
        while (c->outcome == SIM_OP_INFO && sim_now(w) < c->deadline_ns) {
            SIM_AWAIT(rc, sim_timeout(w, sim_time_left(w, c->deadline_ns),
                                      sim_udp_recv(&c->sock, &c->rep, sizeof c->rep, &c->got)));
            if (rc == SIM_ETIMEDOUT) break;
            if (rc != SIM_OK) SIM_RETURN(rc);
            if (c->got.len == sizeof c->rep && c->rep.magic == MAGIC && c->rep.kind == REPLY &&
                c->rep.seq == c->req.seq) {
                c->outcome = SIM_OP_OK;
            }
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
    if (boots > 1) ctx->incarnation++; /* an operation cut off by the crash stays pending */
    if (ctx->invoked >= ctx->cw->ops) return SIM_OK;
    client c = {.ctx = ctx};
    sim_world_rng(w, "sut/counter/client", (uint64_t)ctx->index << 32 | boots, &c.rng);
    sim_task_desc d = {.name = "client", .poll = client_poll, .state = &c,
                       .state_size = sizeof c};
    return sim_spawn(w, &d, NULL);
}

/* ---- the system -------------------------------------------------------------------------- */

static const char *const client_names[COUNTER_MAX_CLIENTS] = {"c1", "c2", "c3", "c4",
                                                              "c5", "c6", "c7", "c8"};

static const sim_key_spec counter_keys[] = {
    {"counter", "clients", SIM_KEY_UINT, "3", NULL, 1, COUNTER_MAX_CLIENTS,
     "client nodes c1..cN"},
    {"counter", "ops", SIM_KEY_UINT, "20", NULL, 1, 10000, "operations each client invokes"},
    {"counter", "bug", SIM_KEY_CHOICE, "none", "none|forget-on-restart", 0, 0,
     "a planted bug: a restarted primary does not fetch the count"},
};

static int counter_setup(void *ud, sim_world *w, const sim_scenario *sc, void **out, char *err,
                         size_t err_size)
{
    (void)ud;
    counter_world *cw = calloc(1, sizeof *cw);
    if (cw == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    *out = cw;
    cw->clients = (uint32_t)sim_scenario_uint(sc, "counter", "clients");
    cw->ops = (uint32_t)sim_scenario_uint(sc, "counter", "ops");
    cw->forget = strcmp(sim_scenario_get(sc, "counter", "bug"), "forget-on-restart") == 0;
    sim_node_desc pd = {.name = "primary", .boot = boot_primary, .boot_ud = cw};
    sim_node_desc bd = {.name = "backup", .boot = boot_backup, .boot_ud = cw};
    int rc = sim_node_add(w, &pd, &cw->primary);
    if (rc == SIM_OK) rc = sim_node_add(w, &bd, &cw->backup);
    for (uint32_t i = 0; rc == SIM_OK && i < cw->clients; i++) {
        cw->cl[i] = (client_ctx){.cw = cw, .index = i};
        sim_node_desc cd = {.name = client_names[i], .boot = boot_client, .boot_ud = &cw->cl[i]};
        rc = sim_node_add(w, &cd, NULL);
    }
    if (rc != SIM_OK) snprintf(err, err_size, "%s", sim_result_str(rc));
    return rc;
}

/* The work the scenario asked for was done (a run that ended early proves nothing), and the
 * history is linearizable under the counter model. */
static int counter_check(void *ud, void *state, sim_world *w, char *why, size_t why_size)
{
    (void)ud;
    const counter_world *cw = state;
    for (uint32_t i = 0; i < cw->clients; i++) {
        if (cw->cl[i].invoked < cw->ops) {
            snprintf(why, why_size, "client %s invoked %u of its %u operations: the run ended "
                     "with work undone", client_names[i], cw->cl[i].invoked, cw->ops);
            return SIM_EINVAL;
        }
    }
    return sim_world_check(w, &counter_model, why, why_size);
}

static uint32_t counter_nodes(void *ud, const sim_scenario *sc, const char **names, uint32_t max)
{
    (void)ud;
    uint32_t n = (uint32_t)sim_scenario_uint(sc, "counter", "clients");
    static const char *const replicas[] = {"primary", "backup"};
    for (uint32_t i = 0; i < 2 && i < max; i++) names[i] = replicas[i];
    for (uint32_t i = 0; i < n && i + 2 < max; i++) names[i + 2] = client_names[i];
    return n + 2;
}

static void counter_teardown(void *ud, void *state)
{
    (void)ud;
    free(state);
}

const sim_system counter_system = {
    .name = "counter",
    .summary = "a counter replicated on a primary and a backup; clients add and read",
    .keys = counter_keys,
    .key_count = sizeof counter_keys / sizeof counter_keys[0],
    .setup = counter_setup,
    .check = counter_check,
    .teardown = counter_teardown,
    .nodes = counter_nodes,
};
