/*
 * kvs_server.c: kvs-server, talent-plan's kvs server (sut-semantics.md A.1), running the kv
 * system's server and engine (systems/kv/server.c, engine.c: the same source files the
 * simulator runs) on a host world: a real epoll loop, TCP sockets, files and threads.
 *
 *     kvs-server [--addr IP:PORT] [--engine kvs|sqlite] [--record FILE.db]
 *     kvs-server -V
 *
 * The data directory is the current directory. The file `engine` there names the engine the
 * data was written with: without --engine the server uses it (kvs on a first run); with a
 * different --engine it logs `Wrong engine!` and exits 1; an unreadable one is warned about
 * and treated as absent. The log engine keeps its generation files (<gen>.log) there too, as
 * the server node's directory; the sqlite engine its database kvs.sqlite. At startup the
 * server logs its version, the engine and the address on stderr; a bad address, a bind that
 * fails or a store that cannot be opened exit 1. SIGINT and SIGTERM stop it (exit 0).
 *
 * The log engine runs with sync off, as the reference does: an acknowledged write is in the
 * page cache, so it survives the process being killed, not a power loss.
 *
 * --record FILE.db records the run in a sim trace database (sim_world_record): sim list,
 * show, explain and viz read it; sim replay refuses it (a real run cannot be run again).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../systems/kv/kv.h"
#include "kvs_cli.h"
#include "kvs_sqlite.h"

#define EXIT_USAGE 2
#define ENGINE_FILE "engine"
#define DATA_DIR "."
#define SQLITE_FILE "kvs.sqlite"

static const char usage_text[] =
    "usage: kvs-server [--addr IP:PORT] [--engine kvs|sqlite] [--record FILE.db]\n"
    "       kvs-server -V | --version\n"
    "--addr defaults to " KVS_DEFAULT_ADDR " (IPv6: [::1]:4000); --engine to the engine the\n"
    "data in the current directory was written with, kvs on a first run; --record records\n"
    "the run in a sim trace database (sim list/show/viz --db FILE.db read it).\n";

static int usage(const char *why, const char *what)
{
    fprintf(stderr, "kvs-server: %s%s%s\n%s", why, what ? ": " : "", what ? what : "",
            usage_text);
    return EXIT_USAGE;
}

static bool engine_valid(const char *name)
{
    return strcmp(name, "kvs") == 0 || strcmp(name, "sqlite") == 0;
}

typedef struct options {
    kvs_addr addr;
    char addr_text[80];
    const char *engine;      /* as given, or NULL */
    const char *record;      /* --record's database, or NULL */
    char config[512];        /* the options in words, for the recorded run */
} options;

/* Parses argv; 0, -1 for a version or help printed, or an exit code. */
static int parse_args(int argc, char **argv, options *o)
{
    const char *addr = KVS_DEFAULT_ADDR;
    o->engine = NULL;
    o->record = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("kvs-server %s\n", KVS_VERSION);
            return -1;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return -1;
        }
        bool is_addr = strncmp(a, "--addr", 6) == 0 && (a[6] == '\0' || a[6] == '=');
        bool is_engine = strncmp(a, "--engine", 8) == 0 && (a[8] == '\0' || a[8] == '=');
        bool is_record = strncmp(a, "--record", 8) == 0 && (a[8] == '\0' || a[8] == '=');
        if (!is_addr && !is_engine && !is_record) return usage("unexpected argument", a);
        v = strchr(a, '=') ? strchr(a, '=') + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (v == NULL) return usage("a value is required for", a);
        if (is_record && v[0] == '\0') return usage("an empty file name for", a);
        if (is_addr) addr = v;
        if (is_engine) o->engine = v;
        if (is_record) o->record = v;
    }
    if (!kvs_addr_parse(addr, &o->addr)) return usage("invalid address (want IP:PORT)", addr);
    if (o->engine != NULL && !engine_valid(o->engine)) {
        return usage("invalid engine (kvs or sqlite)", o->engine);
    }
    snprintf(o->addr_text, sizeof o->addr_text, o->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u",
             o->addr.host, (unsigned)o->addr.port);
    snprintf(o->config, sizeof o->config, "kvs-server --addr %s", o->addr_text);
    return 0;
}

/* The engine the data directory was written with, into buf; false when none (or unreadable:
 * warned about). */
static bool persisted_engine(char *buf, size_t size)
{
    FILE *f = fopen(ENGINE_FILE, "r");
    if (f == NULL) return false;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = 0;
    if (engine_valid(buf)) return true;
    fprintf(stderr, "WARN The content of the engine file is invalid: %s\n", buf);
    return false;
}

/* ---- the world ------------------------------------------------------------------------------- */

typedef struct serve_ctx {
    const options *opt;
    bool sqlite;
    kv_sync_store store;
    int exit_code;
} serve_ctx;

static void on_open_failed(void *ud, sim_world *w, int rc)
{
    serve_ctx *ctx = ud;
    char text[96];
    fprintf(stderr, "ERROR cannot open the store: %s\n", kv_strerror(rc, text, sizeof text));
    ctx->exit_code = 1;
    sim_world_stop(w);
}

static void on_listen_failed(void *ud, sim_world *w, int rc)
{
    serve_ctx *ctx = ud;
    fprintf(stderr, "ERROR cannot listen on %s: %s\n", ctx->opt->addr_text, sim_result_str(rc));
    ctx->exit_code = 1;
    sim_world_stop(w);
}

/* The world's one non-daemon task: keeps the run going until a signal or a failure stops
 * it (a server's tasks are daemons). */
static int keepalive_poll(void *state, sim_world *w)
{
    sim_co *co = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, co);
    for (;;) SIM_TRY(sim_sleep(w, 3600 * SIM_S));
    SIM_END(rc);
}

static int boot_server(void *ud, sim_world *w, sim_node_id node)
{
    (void)node;
    serve_ctx *ctx = ud;
    kv_server_desc d = {
        .hooks = {.ud = ctx, .open_failed = on_open_failed, .listen_failed = on_listen_failed},
        .port = ctx->opt->addr.port,
        .store = ctx->sqlite ? &ctx->store : NULL,
    };
    int rc = kv_server_start(w, &d);
    if (rc != SIM_OK) return rc;
    sim_co co = {0};
    sim_task_desc k = {.name = "kvs-keepalive", .poll = keepalive_poll, .state = &co,
                       .state_size = sizeof co};
    return sim_spawn(w, &k, NULL);
}

/* Runs the server until a signal (0) or a failure (1). */
static int serve(const options *opt, const char *engine)
{
    serve_ctx ctx = {.opt = opt, .sqlite = strcmp(engine, "sqlite") == 0};
    kvs_sqlite *db = NULL;
    if (ctx.sqlite) {
        if (kvs_sqlite_new(DATA_DIR "/" SQLITE_FILE, &db) != SIM_OK) return 1;
        ctx.store = kvs_sqlite_store(db);
    }
    sim_world_desc wd = {.seed = 1, .backend = SIM_BACKEND_HOST, .host_dir = DATA_DIR};
    sim_world *w = NULL;
    int rc = sim_world_new(&wd, &w);
    if (rc != SIM_OK) {
        fprintf(stderr, "ERROR cannot make a host world: %s\n", sim_result_str(rc));
        kvs_sqlite_free(db);
        return 1;
    }
    char err[1024];
    if (opt->record != NULL) {
        char config[600];
        snprintf(config, sizeof config, "%s --engine %s", opt->config, engine);
        sim_record_desc rd = {.name = "kvs-server", .system = "kv", .config = config};
        if (sim_world_record(w, opt->record, &rd, err, sizeof err) != SIM_OK) {
            fprintf(stderr, "ERROR cannot record to %s: %s\n", opt->record, err);
            sim_world_free(w);
            kvs_sqlite_free(db);
            return 1;
        }
        fprintf(stderr, "INFO Recording to %s (run %llu)\n", opt->record,
                (unsigned long long)sim_world_record_run(w));
    }
    signal(SIGPIPE, SIG_IGN);
    rc = sim_world_stop_on_signals(w);
    SIM_ASSERT(rc == SIM_OK);
    sim_node_id node = {0};
    sim_node_desc nd = {.name = "kvs-server", .boot = boot_server, .boot_ud = &ctx,
                        .host_addr = opt->addr.host, .host_dir = DATA_DIR, .pool_workers = 8};
    rc = sim_node_add(w, &nd, &node);
    if (rc == SIM_OK) rc = sim_world_run(w);
    if (rc != SIM_OK && rc != SIM_ESTOPPED) {
        fprintf(stderr, "ERROR the server stopped: %s\n", sim_result_str(rc));
        ctx.exit_code = 1;
    }
    sim_world_stop_on_signals(NULL);
    sim_world_free(w);
    kvs_sqlite_free(db);
    return ctx.exit_code;
}

int main(int argc, char **argv)
{
    options opt;
    int rc = parse_args(argc, argv, &opt);
    if (rc != 0) return rc < 0 ? 0 : rc;
    char persisted[32];
    bool have = persisted_engine(persisted, sizeof persisted);
    const char *engine = opt.engine ? opt.engine : have ? persisted : "kvs";
    if (have && strcmp(engine, persisted) != 0) {
        fprintf(stderr, "ERROR Wrong engine! (the data here was written by %s)\n", persisted);
        return 1;
    }
    fprintf(stderr, "INFO kvs-server %s\n", KVS_VERSION);
    fprintf(stderr, "INFO Storage engine: %s\n", engine);
    fprintf(stderr, "INFO Listening on %s\n", opt.addr_text);
    FILE *f = fopen(ENGINE_FILE, "w");
    if (f == NULL || fprintf(f, "%s", engine) < 0 || fclose(f) != 0) {
        fprintf(stderr, "ERROR cannot write %s: %s\n", ENGINE_FILE, strerror(errno));
        return 1;
    }
    return serve(&opt, engine);
}
