/*
 * kvs_sqlite.c: kvs-server's second engine, `--engine sqlite`, a kv_sync_store (systems/kv/
 * kv.h) over SQLite, where talent-plan's kvs has sled: a real embedded database.
 *
 * One table, key -> value (both BLOBs, WITHOUT ROWID), in the database file kvs.sqlite of the
 * server's data directory, in WAL mode with synchronous=NORMAL: a write is in the log when it
 * is acknowledged, so it survives the process being killed (as the log engine's writes do
 * without fsync, and sled's flushed ones), not necessarily a power loss. The connection holds
 * the database in exclusive locking mode (its WAL index in memory, no file lock per
 * transaction): another process cannot open it while the server runs. The store's functions
 * run in the server's blocking-pool jobs, on a host world from several pool threads at once:
 * the one connection is opened SQLITE_OPEN_FULLMUTEX and every call holds its mutex across the
 * statement (sqlite3_db_mutex), so that a statement and sqlite3_changes/errmsg agree. Host-only
 * code (it uses the file system directly, not sim's disk): it lives beside the binaries, never
 * in systems/.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_sqlite.h"

struct kvs_sqlite {
    char path[4096];
    sqlite3 *db;
    sqlite3_stmt *get, *set, *rm;
};

int kvs_sqlite_new(const char *path, kvs_sqlite **out)
{
    *out = NULL;
    kvs_sqlite *s = calloc(1, sizeof *s);
    if (s == NULL) return SIM_ENOMEM;
    if (strlen(path) >= sizeof s->path) {
        free(s);
        return SIM_EINVAL;
    }
    strcpy(s->path, path);
    *out = s;
    return SIM_OK;
}

void kvs_sqlite_free(kvs_sqlite *s)
{
    if (s == NULL) return;
    sqlite3_finalize(s->get);
    sqlite3_finalize(s->set);
    sqlite3_finalize(s->rm);
    sqlite3_close(s->db);
    free(s);
}

static int fail(kvs_sqlite *s, char *err, size_t size)
{
    if (err != NULL) snprintf(err, size, "sqlite error: %s", sqlite3_errmsg(s->db));
    return SIM_EIO;
}

/* kv_sync_store.open: the database, its table and the three statements. */
static int store_open(void *ud, sim_world *w)
{
    (void)w;
    kvs_sqlite *s = ud;
    SIM_ASSERT(s != NULL && s->db == NULL);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(s->path, &s->db, flags, NULL) != SQLITE_OK) {
        fprintf(stderr, "ERROR cannot open %s: %s\n", s->path, sqlite3_errmsg(s->db));
        return SIM_EIO;
    }
    /* EXCLUSIVE before the first access: the WAL index lives in this process's memory, so a
     * transaction takes no file lock (four fcntl calls per request without it); the database
     * is this server's alone while it runs, as sled's directory is its process's. */
    const char *setup = "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;"
                        "PRAGMA synchronous=NORMAL;"
                        "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL)"
                        " WITHOUT ROWID;";
    if (sqlite3_exec(s->db, setup, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT value FROM kv WHERE key = ?1", -1, &s->get, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)", -1,
                           &s->set, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM kv WHERE key = ?1", -1, &s->rm, NULL) !=
            SQLITE_OK) {
        char err[200];
        fail(s, err, sizeof err);
        fprintf(stderr, "ERROR %s: %s\n", s->path, err);
        return SIM_EIO;
    }
    SIM_ASSERT(s->get != NULL && s->set != NULL && s->rm != NULL);
    return SIM_OK;
}

/* One statement, with the connection's mutex held. */
static int run_call(kvs_sqlite *s, kv_sync_call *c)
{
    sqlite3_stmt *st = c->kind == KV_GET ? s->get : c->kind == KV_REC_SET ? s->set : s->rm;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (sqlite3_bind_blob(st, 1, c->key, (int)c->klen, SQLITE_STATIC) != SQLITE_OK) {
        return fail(s, c->error, sizeof c->error);
    }
    if (c->kind == KV_REC_SET &&
        sqlite3_bind_blob(st, 2, c->vlen ? c->value : "", (int)c->vlen, SQLITE_STATIC) !=
            SQLITE_OK) {
        return fail(s, c->error, sizeof c->error);
    }
    int rc = sqlite3_step(st);
    if (c->kind == KV_GET && rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        const void *v = sqlite3_column_blob(st, 0);
        if (n < 0 || n > KV_VALUE_MAX) return fail(s, c->error, sizeof c->error);
        if (n > 0) memcpy(c->out, v, (size_t)n);
        c->out_len = (uint32_t)n;
        c->found = true;
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE) return fail(s, c->error, sizeof c->error);
    if (c->kind == KV_REC_RM && sqlite3_changes(s->db) == 0) return KV_ENOTFOUND;
    return SIM_OK;
}

/* kv_sync_store.call */
static int store_call(void *ud, sim_world *w, kv_sync_call *c)
{
    (void)w;
    kvs_sqlite *s = ud;
    SIM_ASSERT(s != NULL && s->db != NULL);
    SIM_ASSERT(c->klen >= 1 && c->klen <= KV_KEY_MAX);
    sqlite3_mutex_enter(sqlite3_db_mutex(s->db));
    int rc = run_call(s, c);
    sqlite3_reset(c->kind == KV_GET ? s->get : c->kind == KV_REC_SET ? s->set : s->rm);
    sqlite3_mutex_leave(sqlite3_db_mutex(s->db));
    return rc;
}

kv_sync_store kvs_sqlite_store(kvs_sqlite *s)
{
    SIM_ASSERT(s != NULL);
    return (kv_sync_store){.ud = s, .open = store_open, .call = store_call};
}
