/*
 * client.c: the kv system's workload clients, written against sim.h only.
 *
 * Client ci (node "ci") invokes `ops` operations one at a time over one stream connection to
 * the server, each drawn from its own stream (sut/kv/client): get, put or rm of a key k0..kN,
 * by the workload's mix, with a pause before each. Every operation goes into the run's history
 * (sim_history_invoke / sim_history_complete) as Jepsen records one:
 *
 *     answer                          get           put            rm
 *     the operation's own answer      ok, value     ok, value      ok, :removed
 *     Err "Key not found"             -             -              ok, :not-found
 *     Err (an I/O error)              fail          info           info
 *     nothing sent (no connection)    fail          fail           fail
 *     timeout, reset, end of stream   info          info           info
 *
 * A failed write is info, not fail: its record may have reached the file before the error and
 * survive a crash. A client whose operation ended in info, or whose node restarted, goes on as
 * a new process (index + clients * incarnation), and reconnects after any transport error.
 * The connection belongs to the client task, so it closes when the task ends (or crashes).
 *
 * Liveness phase: once every client has finished its workload, c1 reads every key until each
 * read succeeds; with faults, sim's plan stops them at quiet_after, so a server that never
 * serves again keeps the run from finishing and it fails as liveness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_sys.h"

#define WAIT_NS (10 * SIM_MS)          /* c1 polls for the others to finish */
#define RETRY_NS (100 * SIM_MS)        /* c1's pause after a failed final read */

typedef struct client client;

/* One request and its answer, a sub-coroutine awaited under the client's timeout: connect
 * when needed, write the request frame, read the answer frame. */
typedef struct exchange {
    sim_co co;
    client *c;
    bool sent;               /* the request may have reached the server */
} exchange;

struct client {
    sim_co co;
    kv_client_ctx *ctx;
    sim_rng rng;             /* operations, keys, pauses */
    sim_conn conn;           /* the client's; empty or closed: connect first */
    uint8_t kind;            /* KV_MSG_GET, _SET or _REMOVE */
    uint32_t key;            /* k<key> */
    char value[KV_VALUE_TEXT];
    uint32_t op;             /* the history's id of the operation in flight */
    sim_op_type outcome;
    exchange ex;
    uint32_t req_len;
    uint32_t resp_len;
    uint8_t req[2 * KV_KEY_MAX];
    uint8_t resp[KV_FRAME_MAX];
};

static uint32_t process_of(const kv_client_ctx *ctx)
{
    return ctx->index + ctx->run->clients * ctx->incarnation;
}

/* ---- the exchange ---------------------------------------------------------------------------- */

static int exchange_poll(void *state, sim_world *w)
{
    exchange *x = state;
    client *c = x->c;
    SIM_BEGIN(w, &x->co);
    if (!sim_handle_valid(w, &c->conn)) {
        SIM_TRY(sim_connect((sim_addr){.node = c->ctx->run->server, .port = KV_PORT}, &c->conn));
    }
    x->sent = true;
    SIM_TRY(sim_frame_write(&c->conn, c->req, c->req_len, KV_FRAME_MAX));
    SIM_TRY(sim_frame_read(&c->conn, c->resp, KV_FRAME_MAX, &c->resp_len));
    SIM_END(SIM_OK);
}

/* The exchange of the request that invoke encoded, within the workload's timeout. */
static sim_timeout_op exchange_in_time(sim_world *w, client *c)
{
    c->ex = (exchange){.c = c};
    return sim_timeout(w, c->ctx->run->timeout_ns, sim_call(&c->ex, exchange_poll));
}

/* ---- recording ------------------------------------------------------------------------------- */

static const char *f_name(uint8_t kind)
{
    return kind == KV_MSG_GET ? "get" : kind == KV_MSG_SET ? "put" : "rm";
}

/* Records the invocation and encodes the request. */
static int invoke(sim_world *w, client *c)
{
    char key[16], kedn[24], vedn[2 * KV_VALUE_TEXT];
    snprintf(key, sizeof key, "k%u", c->key);
    sim_edn_quote(key, kedn, sizeof kedn);
    sim_edn_quote(c->value, vedn, sizeof vedn);
    int rc = sim_history_invoke(w, process_of(c->ctx), f_name(c->kind), kedn,
                                c->kind == KV_MSG_SET ? vedn : NULL, &c->op);
    if (rc != SIM_OK) return rc;
    kv_message m = {.kind = c->kind, .key = key, .klen = (uint32_t)strlen(key),
                    .value = c->value, .vlen = (uint32_t)strlen(c->value)};
    rc = kv_request_encode(&m, c->req, sizeof c->req, &c->req_len);
    SIM_ASSERT(rc == SIM_OK);
    return SIM_OK;
}

/* What the answer means for the history: its type, and the value into buf (NULL: nil). */
static const char *judge(client *c, const kv_message *m, char *buf, size_t size)
{
    bool err = m->kind == KV_MSG_ERR;
    c->outcome = SIM_OP_INFO;
    if (c->kind == KV_MSG_GET && m->kind == KV_MSG_GET) {
        c->outcome = SIM_OP_OK;
        if (!m->found) return NULL;
        char text[KV_VALUE_TEXT * 2];
        snprintf(text, sizeof text, "%.*s", (int)m->vlen, m->value);
        sim_edn_quote(text, buf, size);
        return buf;
    }
    if (c->kind == KV_MSG_GET && err) c->outcome = SIM_OP_FAIL;
    if (c->kind == KV_MSG_SET && m->kind == KV_MSG_SET) c->outcome = SIM_OP_OK;
    if (c->kind == KV_MSG_SET) return sim_edn_quote(c->value, buf, size) < size ? buf : NULL;
    if (c->kind == KV_MSG_REMOVE && m->kind == KV_MSG_REMOVE) {
        c->outcome = SIM_OP_OK;
        return ":removed";
    }
    if (err && m->vlen == 13 && memcmp(m->value, "Key not found", 13) == 0) {
        c->outcome = SIM_OP_OK;
        return ":not-found";
    }
    return NULL;
}

/* Records the completion of the operation whose exchange ended with rc. */
static int complete(sim_world *w, client *c, int rc)
{
    kv_run *run = c->ctx->run;
    char buf[2 * KV_VALUE_TEXT + 8];
    const char *value = NULL;
    kv_message m;
    if (rc == SIM_OK && kv_response_decode(c->resp, c->resp_len, &m) == SIM_OK) {
        value = judge(c, &m, buf, sizeof buf);
    } else {
        c->outcome = rc != SIM_OK && !c->ex.sent ? SIM_OP_FAIL : SIM_OP_INFO;
    }
    if (rc != SIM_OK) sim_conn_close(w, &c->conn); /* in an unknown state: start afresh */
    if (c->outcome == SIM_OP_INFO) value = NULL;
    int hrc = sim_history_complete(w, c->op, c->outcome, value);
    run->ok += c->outcome == SIM_OP_OK;
    run->failed += c->outcome == SIM_OP_FAIL;
    run->unknown += c->outcome == SIM_OP_INFO;
    if (c->outcome == SIM_OP_INFO) c->ctx->incarnation++;
    return hrc;
}

/* ---- the client task ------------------------------------------------------------------------- */

static void draw(client *c)
{
    const kv_run *run = c->ctx->run;
    uint64_t total = (uint64_t)run->mix[0] + run->mix[1] + run->mix[2];
    uint64_t r = sim_rng_below(&c->rng, total);
    c->kind = r < run->mix[0] ? KV_MSG_GET : r < run->mix[0] + run->mix[1] ? KV_MSG_SET
                                                                           : KV_MSG_REMOVE;
    c->key = (uint32_t)sim_rng_below(&c->rng, run->keys);
    snprintf(c->value, sizeof c->value, "v%u-%u", c->ctx->index + 1, c->ctx->invoked);
}

static int client_poll(void *state, sim_world *w)
{
    client *c = state;
    kv_client_ctx *ctx = c->ctx;
    kv_run *run = ctx->run;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    while (ctx->invoked < run->ops && !run->halted) {
        SIM_TRY(sim_sleep(w, sim_rng_below(&c->rng, run->think_max_ns + 1)));
        draw(c);
        rc = invoke(w, c);
        if (rc != SIM_OK) SIM_RETURN(rc);
        ctx->invoked++;
        SIM_AWAIT(rc, exchange_in_time(w, c));
        rc = complete(w, c, rc);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    if (run->halted) SIM_RETURN(SIM_OK);
    if (!ctx->done) run->clients_done++;
    ctx->done = true;
    kv_run_progress(run, w);
    if (ctx->index != 0 || !run->check_liveness) SIM_RETURN(SIM_OK);
    while (run->clients_done < run->clients && !run->halted) {
        SIM_TRY(sim_sleep(w, WAIT_NS));
    }
    while (ctx->final_next < run->keys && !run->halted) { /* the liveness phase */
        c->kind = KV_MSG_GET;
        c->key = ctx->final_next;
        rc = invoke(w, c);
        if (rc != SIM_OK) SIM_RETURN(rc);
        SIM_AWAIT(rc, exchange_in_time(w, c));
        rc = complete(w, c, rc);
        if (rc != SIM_OK) SIM_RETURN(rc);
        if (c->outcome == SIM_OP_OK) {
            ctx->final_next++;
        } else {
            SIM_TRY(sim_sleep(w, RETRY_NS));
        }
    }
    run->final_done = true;
    kv_run_progress(run, w);
    SIM_END(SIM_OK);
}

int kv_client_boot(void *ud, sim_world *w, sim_node_id node)
{
    kv_client_ctx *ctx = ud;
    kv_run *run = ctx->run;
    uint32_t boots = sim_node_boots(w, node);
    SIM_ASSERT(boots >= 1);
    if (boots > 1) ctx->incarnation++; /* an operation cut off by the crash stays pending */
    if (ctx->invoked >= run->ops && !ctx->done) { /* crashed during its last operation */
        ctx->done = true;
        run->clients_done++;
        kv_run_progress(run, w);
    }
    bool final = ctx->index == 0 && run->check_liveness && !run->final_done;
    if ((ctx->invoked >= run->ops && !final) || run->halted) return SIM_OK;
    client *c = calloc(1, sizeof *c);
    if (c == NULL) return SIM_ENOMEM;
    c->ctx = ctx;
    sim_world_rng(w, "sut/kv/client", (uint64_t)ctx->index << 32 | boots, &c->rng);
    sim_task_desc d = {.name = "client", .poll = client_poll, .state = c,
                       .state_size = sizeof *c};
    int rc = sim_spawn(w, &d, NULL);
    free(c);
    return rc;
}
