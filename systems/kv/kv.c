/*
 * kv.c: the kv system as sim runs it (see kv.h): its scenario keys, setup, the durability
 * oracle and the checks. Written against sim.h only.
 *
 * Nodes: "server" and clients "c1".."cN" (client.c). The server's boot spawns a fresh server
 * process (server.c) on whatever its disk kept; every engine it opens reports to the oracle
 * here through kv_hooks, which is the harness watching the system, never part of it.
 *
 * The durability oracle keeps, per key, the values the key may hold after a crash: the value
 * of the last write the engine acknowledged, and of every write appended after it (acknowledged
 * or not: a pending write may survive). With sync = always, the value recovery rebuilds for a
 * key must be one of them, or an acknowledged write was lost. After each recovery the
 * candidates collapse to what was recovered.
 *
 * Checks, in this order, each switchable in [check]: recovers (no boot of the server failed
 * to open its store for good), durable (above; only with sync = always), errors (every error
 * answer is explained by a fault: an injected I/O error, or a corrupt record when disk/corrupt
 * fired), liveness (c1 read every key after the workload; a run that cannot is stopped by the
 * time limit as `liveness`), and linearizable (sim_check with sim_model_kv, per key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_sys.h"


/* ---- the durability oracle ------------------------------------------------------------------- */

int kv_key_number(const kv_run *run, const char *key, uint32_t klen)
{
    if (klen < 2 || klen > 8 || key[0] != 'k') return -1;
    uint32_t n = 0;
    for (uint32_t i = 1; i < klen; i++) {
        if (key[i] < '0' || key[i] > '9') return -1;
        n = n * 10 + (uint32_t)(key[i] - '0');
    }
    return n < run->keys ? (int)n : -1;
}

static void copy_value(char *dst, const kv_record *r)
{
    uint32_t n = r->vlen < KV_VALUE_TEXT - 1 ? r->vlen : KV_VALUE_TEXT - 1;
    memcpy(dst, r->value, n);
    dst[n] = '\0';
}

static void push_cand(kv_ghost *g, uint64_t seq, bool present, const char *value)
{
    if (g->n == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 4;
        kv_cand *c = realloc(g->cand, cap * sizeof *c);
        SIM_ASSERT(c != NULL); /* the harness ran out of memory */
        g->cand = c;
        g->cap = cap;
    }
    kv_cand *c = &g->cand[g->n++];
    c->seq = seq;
    c->present = present;
    snprintf(c->value, sizeof c->value, "%s", value);
}

static uint64_t global_seq(const kv_run *run, uint64_t seq)
{
    return (uint64_t)run->server_boots << 40 | seq;
}

static void on_appended(void *ud, uint64_t seq, const kv_record *r)
{
    kv_run *run = ud;
    int k = kv_key_number(run, r->key, r->klen);
    if (k < 0) return;
    char value[KV_VALUE_TEXT] = "";
    if (r->type == KV_REC_SET) copy_value(value, r);
    push_cand(&run->ghost[k], global_seq(run, seq), r->type == KV_REC_SET, value);
}

static void on_acked(void *ud, uint64_t seq, const kv_record *r)
{
    kv_run *run = ud;
    int k = kv_key_number(run, r->key, r->klen);
    if (k < 0) return;
    kv_ghost *g = &run->ghost[k];
    uint64_t s = global_seq(run, seq);
    uint32_t from = 0;
    while (from < g->n && g->cand[from].seq < s) from++;
    SIM_ASSERT(from < g->n && g->cand[from].seq == s);
    memmove(g->cand, g->cand + from, (g->n - from) * sizeof *g->cand);
    g->n -= from;
}

static void on_recovering(void *ud)
{
    kv_run *run = ud;
    for (uint32_t k = 0; k < run->keys; k++) {
        run->ghost[k].rec_present = false;
        run->ghost[k].rec_value[0] = '\0';
    }
}

static void on_replayed(void *ud, const kv_record *r)
{
    kv_run *run = ud;
    int k = kv_key_number(run, r->key, r->klen);
    if (k < 0) return;
    kv_ghost *g = &run->ghost[k];
    g->rec_present = r->type == KV_REC_SET;
    g->rec_value[0] = '\0';
    if (g->rec_present) copy_value(g->rec_value, r);
}

static bool candidate(const kv_ghost *g)
{
    for (uint32_t i = 0; i < g->n; i++) {
        if (g->cand[i].present != g->rec_present) continue;
        if (!g->rec_present || strcmp(g->cand[i].value, g->rec_value) == 0) return true;
    }
    return false;
}

static void on_recovered(void *ud)
{
    kv_run *run = ud;
    for (uint32_t k = 0; k < run->keys; k++) {
        kv_ghost *g = &run->ghost[k];
        if (run->cfg.sync_always && run->durable_msg[0] == '\0' && !candidate(g)) {
            SIM_ASSERT(g->n > 0);
            const kv_cand *acked = &g->cand[0];
            snprintf(run->durable_msg, sizeof run->durable_msg,
                     "k%u: recovery after boot %u rebuilt %s%s%s, but %s%s%s was acknowledged",
                     k, run->server_boots, g->rec_present ? "\"" : "",
                     g->rec_present ? g->rec_value : "nothing", g->rec_present ? "\"" : "",
                     acked->present ? "\"" : "", acked->present ? acked->value : "its removal",
                     acked->present ? "\"" : "");
        }
        g->n = 0;
        push_cand(g, global_seq(run, 0), g->rec_present, g->rec_value);
    }
}

/* ---- the server's reports -------------------------------------------------------------------- */

static void on_open_failed(void *ud, sim_world *w, int rc)
{
    kv_run *run = ud;
    run->halted = run->check_recovers; /* nothing left to learn: let the run end and say why */
    kv_run_progress(run, w);
    if (run->recover_msg[0] != '\0') return;
    char text[96];
    snprintf(run->recover_msg, sizeof run->recover_msg,
             "server boot %u could not open its store at %.6fs: %s", run->server_boots,
             (double)sim_now(w) / 1e9, kv_strerror(rc, text, sizeof text));
}

static void on_serving(void *ud, sim_world *w)
{
    kv_run *run = ud;
    (void)w;
    run->recoveries++;
}

static void on_error(void *ud, sim_world *w, const kv_message *req, int rc)
{
    kv_run *run = ud;
    if (rc == SIM_EIO || rc == SIM_ENOSPC) return;   /* injected disk faults */
    if (rc == KV_ENOTFOUND && req->kind == KV_MSG_REMOVE) return;
    if (rc == KV_ECORRUPT) run->corrupt++;
    if (rc != KV_ECORRUPT) run->unexpected++;
    if (run->error_msg[0] != '\0') return;
    char text[96];
    snprintf(run->error_msg, sizeof run->error_msg, "the server answered \"%s\" to a %s of %.*s "
             "at %.6fs", kv_strerror(rc, text, sizeof text),
             req->kind == KV_MSG_GET ? "get" : req->kind == KV_MSG_SET ? "set" : "remove",
             (int)(req->klen < 16 ? req->klen : 16), req->key, (double)sim_now(w) / 1e9);
}

static int boot_server(void *ud, sim_world *w, sim_node_id node)
{
    kv_run *run = ud;
    run->server_boots = sim_node_boots(w, node);
    kv_server_hooks h = {.ud = run, .open_failed = on_open_failed, .serving = on_serving,
                         .error = on_error};
    return kv_server_spawn(w, &run->cfg, &h);
}

/* ---- keys and setup -------------------------------------------------------------------------- */

static const char *const client_names[KV_MAX_CLIENTS] = {
    "c1",  "c2",  "c3",  "c4",  "c5",  "c6",  "c7",  "c8",  "c9",  "c10", "c11",
    "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19", "c20", "c21", "c22",
    "c23", "c24", "c25", "c26", "c27", "c28", "c29", "c30", "c31", "c32"};

static const sim_key_spec kv_keys[] = {
    {"kv", "sync", SIM_KEY_CHOICE, "always", "always|never", 0, 0,
     "always: fsync before acknowledging a write; never: acknowledge from the page cache"},
    {"kv", "compact_threshold", SIM_KEY_UINT, "1048576", NULL, 64, 1u << 30,
     "bytes of stale records that trigger a compaction"},
    {"kv", "readers", SIM_KEY_UINT, "4", NULL, 1, KV_READERS_MAX, "concurrent reads"},
    {"kv", "pool", SIM_KEY_UINT, "4", NULL, 1, 64, "the server's blocking-pool workers"},
    {"kv", "commit_delay", SIM_KEY_DURATION, "0ms", NULL, 0, SIM_S,
     "group commit: wait between appending a round of writes and its fsync"},
    {"kv", "bug", SIM_KEY_CHOICE, "none", KV_BUG_CHOICES, 0, 0,
     "a planted bug, for testing sim itself"},
    {"workload", "clients", SIM_KEY_UINT, "3", NULL, 1, KV_MAX_CLIENTS, "client nodes c1..cN"},
    {"workload", "ops", SIM_KEY_UINT, "100", NULL, 1, 1000000,
     "operations each client invokes"},
    {"workload", "keys", SIM_KEY_UINT, "5", NULL, 1, KV_MAX_KEYS, "keys k0..kN-1"},
    {"workload", "get", SIM_KEY_UINT, "50", NULL, 0, 1000, "weight of get in the mix"},
    {"workload", "set", SIM_KEY_UINT, "40", NULL, 0, 1000, "weight of set (put) in the mix"},
    {"workload", "rm", SIM_KEY_UINT, "10", NULL, 0, 1000, "weight of rm in the mix"},
    {"workload", "rate", SIM_KEY_UINT, "200", NULL, 0, 1000000,
     "operations per second per client (pauses drawn uniformly); 0: no pause"},
    {"workload", "timeout", SIM_KEY_DURATION, "1s", NULL, SIM_MS, 0,
     "no answer by then: the operation's outcome is unknown (info)"},
    {"check", "linearizable", SIM_KEY_BOOL, "true", NULL, 0, 0,
     "the history is linearizable (model kv, per key)"},
    {"check", "durable", SIM_KEY_BOOL, "true", NULL, 0, 0,
     "with sync = always, no acknowledged write is lost in a crash"},
    {"check", "recovers", SIM_KEY_BOOL, "true", NULL, 0, 0,
     "the server opens its store again after every crash"},
    {"check", "errors", SIM_KEY_BOOL, "true", NULL, 0, 0,
     "every error answer is explained by an injected fault"},
    {"check", "liveness", SIM_KEY_BOOL, "true", NULL, 0, 0,
     "after the workload, c1 reads every key successfully"},
};

static void read_config(kv_run *run, const sim_scenario *sc)
{
    run->cfg = (kv_config){
        .sync_always = strcmp(sim_scenario_get(sc, "kv", "sync"), "always") == 0,
        .compact_threshold = sim_scenario_uint(sc, "kv", "compact_threshold"),
        .readers = (uint32_t)sim_scenario_uint(sc, "kv", "readers"),
        .commit_delay_ns = sim_scenario_uint(sc, "kv", "commit_delay"),
        .bug = kv_bug_parse(sim_scenario_get(sc, "kv", "bug")),
        .hooks = {.ud = run, .appended = on_appended, .acked = on_acked,
                  .recovering = on_recovering, .replayed = on_replayed,
                  .recovered = on_recovered},
    };
    run->clients = (uint32_t)sim_scenario_uint(sc, "workload", "clients");
    run->ops = (uint32_t)sim_scenario_uint(sc, "workload", "ops");
    run->keys = (uint32_t)sim_scenario_uint(sc, "workload", "keys");
    run->mix[0] = (uint32_t)sim_scenario_uint(sc, "workload", "get");
    run->mix[1] = (uint32_t)sim_scenario_uint(sc, "workload", "set");
    run->mix[2] = (uint32_t)sim_scenario_uint(sc, "workload", "rm");
    uint64_t rate = sim_scenario_uint(sc, "workload", "rate");
    run->think_max_ns = rate == 0 ? 0 : 2 * SIM_S / rate;
    run->timeout_ns = sim_scenario_uint(sc, "workload", "timeout");
    run->check_linearizable = sim_scenario_bool(sc, "check", "linearizable");
    run->check_durable = sim_scenario_bool(sc, "check", "durable");
    run->check_recovers = sim_scenario_bool(sc, "check", "recovers");
    run->check_errors = sim_scenario_bool(sc, "check", "errors");
    run->check_liveness = sim_scenario_bool(sc, "check", "liveness");
}

/* ---- the watcher: the run lasts until the workload and the liveness phase are done ----------- */

typedef struct watcher {
    sim_co co;
    kv_run *run;
    int rc;
    int which;               /* the select's branch: 0 finished, 1 a second went by */
} watcher;

static bool finished(const kv_run *run)
{
    if (run->halted) return true;
    return run->clients_done == run->clients && (run->final_done || !run->check_liveness);
}

void kv_run_progress(kv_run *run, sim_world *w)
{
    if (run->watching && finished(run)) sim_token_cancel(w, &run->done);
}

/* A world task (on no node: crashes never drop it), so that the run does not end while a
 * crashed client is down with work left: its sleep is pending while the run is unfinished.
 * It wakes when the run finishes (kv_run_progress cancels its token) and otherwise once a
 * second; a run held to its time limit (a liveness failure) costs it a few events a second,
 * not the hundred wakes of a 10ms poll. */
static int watcher_poll(void *state, sim_world *w)
{
    watcher *wa = state;
    SIM_BEGIN(w, &wa->co);
    SIM_ASSERT(!wa->run->watching); /* one watcher */
    wa->rc = sim_token_new(w, NULL, &wa->run->done);
    if (wa->rc != SIM_OK) SIM_RETURN(wa->rc);
    wa->run->watching = true;
    while (!finished(wa->run)) {
        SIM_AWAIT(wa->rc, sim_select(w, &wa->which, sim_cancelled(&wa->run->done),
                                     sim_sleep(w, SIM_S)));
        if (wa->rc != SIM_OK) break;
    }
    wa->run->watching = false;
    sim_token_drop(w, &wa->run->done);
    SIM_END(wa->rc);
}

static int kv_sys_setup(void *ud, sim_world *w, const sim_scenario *sc, void **out, char *err,
                        size_t err_size)
{
    kv_run *run = calloc(1, sizeof *run);
    if (run == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    *out = run;
    read_config(run, sc);
    if (run->mix[0] + run->mix[1] + run->mix[2] == 0) {
        snprintf(err, err_size, "[workload] get, set and rm are all 0: nothing to do");
        return SIM_EINVAL;
    }
    run->ghost = calloc(run->keys, sizeof *run->ghost);
    if (run->ghost == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    for (uint32_t k = 0; k < run->keys; k++) push_cand(&run->ghost[k], 0, false, "");
    sim_history_expect(w, (uint64_t)run->clients * run->ops); /* every client does all */
    uint32_t pool = (uint32_t)sim_scenario_uint(sc, "kv", "pool");
    sim_node_desc sd = {.name = "server", .pool_workers = pool, .boot = boot_server,
                        .boot_ud = run};
    int rc = sim_node_add(w, &sd, &run->server);
    for (uint32_t i = 0; rc == SIM_OK && i < run->clients; i++) {
        run->cl[i] = (kv_client_ctx){.run = run, .index = i};
        sim_node_desc cd = {.name = client_names[i], .boot = kv_client_boot,
                            .boot_ud = &run->cl[i]};
        rc = sim_node_add(w, &cd, NULL);
    }
    watcher wa = {.run = run};
    sim_task_desc wd = {.name = "kv-watcher", .poll = watcher_poll, .state = &wa,
                        .state_size = sizeof wa};
    if (rc == SIM_OK) rc = sim_spawn(w, &wd, NULL);
    (void)ud;
    if (rc != SIM_OK) snprintf(err, err_size, "%s", sim_result_str(rc));
    return rc;
}

/* ---- checks ---------------------------------------------------------------------------------- */

static bool corrupt_fault_fired(const sim_world *w)
{
    for (uint32_t i = 0; i < sim_world_fault_count(w); i++) {
        const sim_fault_rec *f = sim_world_fault(w, i);
        if (f != NULL && strcmp(f->point, "disk/corrupt") == 0) return true;
    }
    return false;
}


static int kv_sys_check(void *ud, void *state, sim_world *w, char *msg, size_t msg_size)
{
    (void)ud;
    const kv_run *run = state;
    if (run->check_recovers && run->recover_msg[0] != '\0') {
        snprintf(msg, msg_size, "recovers: %s", run->recover_msg);
        return SIM_EINVAL;
    }
    if (run->check_durable && run->cfg.sync_always && run->durable_msg[0] != '\0') {
        snprintf(msg, msg_size, "durable: %s", run->durable_msg);
        return SIM_EINVAL;
    }
    bool corrupt_ok = run->corrupt == 0 || corrupt_fault_fired(w);
    if (run->check_errors && (run->unexpected > 0 || !corrupt_ok)) {
        snprintf(msg, msg_size, "errors: %s (%u unexplained error answer(s))", run->error_msg,
                 run->unexpected + (corrupt_ok ? 0 : run->corrupt));
        return SIM_EINVAL;
    }
    if (run->check_liveness && !run->final_done && !run->halted) {
        snprintf(msg, msg_size, "liveness: c1 did not read every key after the workload");
        return SIM_EINVAL;
    }
    if (run->final_done) SIM_ASSERT(run->clients_done == run->clients);
    return run->check_linearizable ? sim_world_check(w, &sim_model_kv, msg, msg_size) : SIM_OK;
}

static void kv_sys_teardown(void *ud, void *state)
{
    (void)ud;
    kv_run *run = state;
    if (run == NULL) return;
    for (uint32_t k = 0; run->ghost != NULL && k < run->keys; k++) free(run->ghost[k].cand);
    free(run->ghost);
    free(run);
}

static uint32_t kv_sys_nodes(void *ud, const sim_scenario *sc, const char **names, uint32_t max)
{
    (void)ud;
    uint32_t n = (uint32_t)sim_scenario_uint(sc, "workload", "clients");
    if (max > 0) names[0] = "server";
    for (uint32_t i = 0; i < n && i + 1 < max; i++) names[i + 1] = client_names[i];
    return n + 1;
}

const sim_system sim_kv_system = {
    .name = "kv",
    .summary = "a log-structured key/value store (talent-plan kvs) with a server and clients; "
               "checked for linearizability, durability, recovery and liveness",
    .keys = kv_keys,
    .key_count = sizeof kv_keys / sizeof kv_keys[0],
    .setup = kv_sys_setup,
    .check = kv_sys_check,
    .teardown = kv_sys_teardown,
    .nodes = kv_sys_nodes,
    .shrink = "workload.clients workload.ops workload.keys",
};
