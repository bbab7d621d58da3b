/*
 * server.c: the kv server (see kv.h), written against sim.h only.
 *
 * A daemon task opens a fresh engine on its node's disk (recovery: the replay of every
 * generation), retrying transient I/O errors every RETRY_NS; any other error (a log it cannot
 * recover) stops it for good, so its node stays up and refuses connections. Then it starts the
 * engine's writer, listens on KV_PORT and gives every accepted connection a task of its own
 * (the connection's handle moves to it, so the connection closes when the task ends), which
 * reads one request frame, awaits the engine's answer and writes the response frame
 * before it reads the next: answers leave in the order requests came, per connection, and
 * connections proceed independently. An oversized or malformed frame closes the connection
 * (oversized) or is answered with an error (malformed). Engine errors travel as messages.
 * The tasks' drop functions release only their references on the engine.
 *
 * With a synchronous store (kv_server_start's desc.store: kvs-server's sqlite) the same tasks
 * serve it instead of the log engine: opening and every call are blocking-pool jobs running
 * the store's functions, each call's request and answer in a heap block (kv_sync_call) the
 * connection owns. Should the connection be dropped while its job runs (a job cannot be
 * stopped: only a crash or the world's end do this), the block is left behind, a leak of one
 * block, rather than freed under the job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define RETRY_NS (50 * SIM_MS)

/* ---- one connection -------------------------------------------------------------------------- */

typedef struct conn_task {
    sim_co co;
    kv_engine *e;            /* a reference; NULL with a store */
    const kv_sync_store *store; /* borrowed, or NULL */
    kv_sync_call *sync;      /* with a store: the call's block, owned (see the header) */
    bool sync_busy;          /* its job runs */
    kv_server_hooks hooks;
    sim_conn conn;           /* moved here by the spawn */
    uint32_t in_len;
    kv_message req;          /* points into in */
    uint32_t out_len;
    kv_call call;
    uint8_t in[KV_FRAME_MAX];
    uint8_t out[KV_FRAME_MAX];
} conn_task;

static void respond_error(sim_world *w, conn_task *c, const char *text, int rc)
{
    if (rc != SIM_OK && c->hooks.error) c->hooks.error(c->hooks.ud, w, &c->req, rc);
    kv_message m = {.kind = KV_MSG_ERR, .value = text, .vlen = (uint32_t)strlen(text)};
    int erc = kv_response_encode(&m, c->out, sizeof c->out, &c->out_len);
    SIM_ASSERT(erc == SIM_OK);
}

/* The response to the request whose call finished with rc. */
static void respond(sim_world *w, conn_task *c, int rc)
{
    if (rc != SIM_OK) {
        char text[96];
        respond_error(w, c, kv_strerror(rc, text, sizeof text), rc);
        return;
    }
    kv_message m = {.kind = c->req.kind};
    if (m.kind == KV_MSG_GET && c->store != NULL) {
        m.found = c->sync->found;
        m.value = c->sync->out;
        m.vlen = c->sync->out_len;
    } else if (m.kind == KV_MSG_GET) {
        m.found = c->call.found;
        m.value = c->call.out;
        m.vlen = c->call.out_len;
    }
    int erc = kv_response_encode(&m, c->out, sizeof c->out, &c->out_len);
    SIM_ASSERT(erc == SIM_OK);
}

static uint8_t call_kind(uint8_t msg_kind)
{
    return msg_kind == KV_MSG_SET ? KV_REC_SET : msg_kind == KV_MSG_REMOVE ? KV_REC_RM : KV_GET;
}

/* The response to a store's call that finished with rc. */
static void respond_sync(sim_world *w, conn_task *c, int rc)
{
    SIM_ASSERT(c->store != NULL && c->sync != NULL);
    if (rc != SIM_OK && c->sync->error[0] != '\0') {
        respond_error(w, c, c->sync->error, rc);
    } else {
        respond(w, c, rc);
    }
}

/* A store's call, in a blocking-pool job: the state is (store, the call's block). */
typedef struct sync_job {
    const kv_sync_store *store;
    kv_sync_call *call;      /* borrowed from the connection */
} sync_job;

static int sync_call_run(void *state, sim_world *w)
{
    sync_job *j = state;
    SIM_ASSERT(j->store != NULL && j->call != NULL);
    j->call->error[0] = '\0';
    return j->store->call(j->store->ud, w, j->call);
}

/* Prepares the block for the decoded request. */
static void sync_prepare(conn_task *c)
{
    kv_sync_call *s = c->sync;
    SIM_ASSERT(c->req.klen <= KV_KEY_MAX && c->req.vlen <= KV_VALUE_MAX);
    s->kind = call_kind(c->req.kind);
    s->klen = c->req.klen;
    memcpy(s->key, c->req.key, c->req.klen);
    s->vlen = s->kind == KV_REC_SET ? c->req.vlen : 0;
    if (s->vlen > 0) memcpy(s->value, c->req.value, s->vlen);
    s->found = false;
    s->out_len = 0;
    s->error[0] = '\0';
}

static int conn_poll(void *state, sim_world *w)
{
    conn_task *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    for (;;) {
        SIM_AWAIT(rc, sim_frame_read(&c->conn, c->in, KV_FRAME_MAX, &c->in_len));
        if (rc != SIM_OK) break;
        if (kv_request_decode(c->in, c->in_len, &c->req) != SIM_OK) {
            respond_error(w, c, "Invalid request", SIM_OK);
        } else if (c->store != NULL) {
            sync_prepare(c);
            c->sync_busy = true;
            SIM_AWAIT(rc, sim_blocking(&(sim_job_desc){
                              .name = "kv-sync-call", .run = sync_call_run,
                              .state = &(sync_job){.store = c->store, .call = c->sync},
                              .state_size = sizeof(sync_job)}));
            c->sync_busy = false;
            respond_sync(w, c, rc);
        } else {
            kv_call_init(&c->call, c->e, call_kind(c->req.kind), c->req.key, c->req.klen,
                         c->req.value, c->req.vlen);
            SIM_AWAIT(rc, sim_call(&c->call, kv_call_poll));
            respond(w, c, rc);
        }
        SIM_AWAIT(rc, sim_frame_write(&c->conn, c->out, c->out_len, KV_FRAME_MAX));
        if (rc != SIM_OK) break;
    }
    SIM_END(SIM_OK); /* a connection ending is no error of the server's (it closes with us) */
}

/* The task's own memory: its reference on the engine, or its store call's block. */
static void conn_drop(void *state, sim_world *w)
{
    conn_task *c = state;
    if (!c->sync_busy) free(c->sync);
    kv_engine_unref(w, c->e);
}

/* ---- the server ------------------------------------------------------------------------------ */

typedef struct server {
    sim_co co;
    kv_server_hooks hooks;
    kv_engine *e;            /* the server's reference; NULL with a store */
    const kv_sync_store *store; /* borrowed, or NULL */
    uint16_t port;
    sim_listener listener;
    sim_conn conn;           /* the connection just accepted */
} server;

static int spawn_conn(sim_world *w, server *s)
{
    conn_task *c = calloc(1, sizeof *c); /* the initial state, copied by the spawn */
    if (c == NULL) return SIM_ENOMEM;
    if (s->store != NULL) {
        c->store = s->store;
        c->sync = malloc(sizeof *c->sync);
        if (c->sync == NULL) {
            free(c);
            sim_conn_close(w, &s->conn);
            return SIM_ENOMEM;
        }
    } else {
        c->e = kv_engine_ref(s->e);
    }
    c->hooks = s->hooks;
    c->conn = s->conn;
    sim_task_desc d = {.name = "kv-conn", .poll = conn_poll, .drop = conn_drop, .state = c,
                       .state_size = sizeof *c, .daemon = true, .moves = SIM_MOVES(&c->conn)};
    int rc = sim_spawn(w, &d, NULL);
    if (rc != SIM_OK) {
        sim_conn_close(w, &s->conn);
        kv_engine_unref(w, c->e);
        free(c->sync);
    }
    free(c);
    return rc;
}

static int server_open_done(sim_world *w, server *s, int rc)
{
    if (rc != SIM_OK) {
        if (s->hooks.open_failed) s->hooks.open_failed(s->hooks.ud, w, rc);
        return rc;
    }
    if (s->store == NULL) rc = kv_engine_start(w, s->e);
    if (rc != SIM_OK) return rc;
    rc = sim_listen(w, s->port, 0, &s->listener);
    if (rc != SIM_OK && s->hooks.listen_failed) s->hooks.listen_failed(s->hooks.ud, w, rc);
    if (rc == SIM_OK && s->hooks.serving) s->hooks.serving(s->hooks.ud, w);
    return rc;
}

/* Opening a store, in a blocking-pool job: the state is the store. */
static int sync_open_run(void *state, sim_world *w)
{
    const kv_sync_store *const *store = state;
    SIM_ASSERT(*store != NULL && (*store)->open != NULL);
    return (*store)->open((*store)->ud, w);
}

static int server_poll(void *state, sim_world *w)
{
    server *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    for (;;) {
        if (s->store != NULL) {
            SIM_AWAIT(rc, sim_blocking(&(sim_job_desc){
                              .name = "kv-sync-open", .run = sync_open_run, .state = &s->store,
                              .state_size = sizeof s->store}));
        } else {
            SIM_AWAIT(rc, kv_open(s->e));
        }
        if (rc != SIM_EIO && rc != SIM_ENOSPC) break;
        SIM_TRY(sim_sleep(w, RETRY_NS)); /* a transient disk error: try again */
    }
    rc = server_open_done(w, s, rc);
    if (rc != SIM_OK) SIM_RETURN(rc);
    for (;;) {
        SIM_AWAIT(rc, sim_accept(&s->listener, &s->conn, NULL));
        if (rc != SIM_OK) break;
        rc = spawn_conn(w, s);
        if (rc != SIM_OK) break;
    }
    SIM_END(rc);
}

/* The task's own memory: its reference on the engine. */
static void server_drop(void *state, sim_world *w)
{
    server *s = state;
    kv_engine_unref(w, s->e);
}

int kv_server_start(sim_world *w, const kv_server_desc *desc)
{
    SIM_ASSERT(desc != NULL);
    if (desc->store != NULL) SIM_ASSERT(desc->store->open != NULL && desc->store->call != NULL);
    server s = {.hooks = desc->hooks, .store = desc->store,
                .port = desc->port != 0 ? desc->port : KV_PORT};
    int rc = desc->store != NULL ? SIM_OK : kv_engine_new(&desc->config, &s.e);
    if (rc != SIM_OK) return rc;
    sim_task_desc d = {.name = "kv-server", .poll = server_poll, .drop = server_drop,
                       .state = &s, .state_size = sizeof s, .daemon = true};
    rc = sim_spawn(w, &d, NULL);
    if (rc != SIM_OK) kv_engine_unref(w, s.e);
    return rc;
}

int kv_server_spawn(sim_world *w, const kv_config *config, const kv_server_hooks *hooks)
{
    SIM_ASSERT(config != NULL);
    kv_server_desc d = {.config = *config};
    if (hooks != NULL) d.hooks = *hooks;
    return kv_server_start(w, &d);
}
