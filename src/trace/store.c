/*
 * store.c: the trace store in SQLite (schema in docs/trace-schema.md).
 *
 * Writing: one transaction per run (BEGIN IMMEDIATE ... COMMIT), prepared statements kept for
 * the life of the connection, events inserted 100 rows per statement. A run is in the
 * database completely or not at all: a sim killed mid-run leaves no trace of that run, and
 * Ctrl-C records it as interrupted. The database is in WAL mode with synchronous=NORMAL, and
 * a busy timeout makes a second writer wait instead of failing. Run ids leave the top bits
 * for a shard number, (shard << 40) | sequence, so shard databases merge without renumbering.
 *
 * Where it lives: SQLite keeps PATH-wal and PATH-shm beside a WAL database, so writing
 * needs the directory as well as the file, and reading needs one of them; a database on a
 * read-only mount, or in a directory of another user's, is read as it is (immutable). See
 * read_uri and check_writable.
 *
 * Reading: every query that returns rows says ORDER BY (the tests run with
 * reverse_unordered_selects on to prove that nothing relies on an unspecified order).
 * u64 values (seeds, hashes) are stored in SQLite's signed 64-bit integers, bit for bit.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define APPLICATION_ID 0x53494D54 /* "SIMT" */
#define BATCH 100
#define COLS 10

struct sim__store {
    sqlite3 *db;
    char *path;
    char err[768];
    sqlite3_stmt *ins_event;       /* one row */
    sqlite3_stmt *ins_events;      /* BATCH rows */
    int64_t version;               /* the file's schema version (1 is read as it is) */
    sim__store_mode mode;          /* what it was opened for */
    uint64_t shard;                /* run ids are shard << SHARD_SHIFT | sequence */
};

#define SHARD_SHIFT 40
_Static_assert((SIM__STORE_SHARDS << SHARD_SHIFT) - 1 <= (uint64_t)INT64_MAX,
               "every shard's run ids fit SQLite's signed integers");

static const char schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value ANY) STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE runs(\n"
    "  run_id INTEGER PRIMARY KEY, scenario TEXT NOT NULL, scenario_path TEXT NOT NULL,\n"
    "  system TEXT NOT NULL, seed INTEGER NOT NULL, strategy TEXT NOT NULL,\n"
    "  config TEXT NOT NULL, config_hash INTEGER NOT NULL, binary_version TEXT NOT NULL,\n"
    "  record_mode TEXT NOT NULL, status TEXT NOT NULL, result TEXT NOT NULL,\n"
    "  detail TEXT NOT NULL, report TEXT NOT NULL, trace_hash INTEGER NOT NULL,\n"
    "  event_count INTEGER NOT NULL, step_count INTEGER NOT NULL, vtime_ns INTEGER NOT NULL,\n"
    "  wall_ms INTEGER NOT NULL, events_stored INTEGER NOT NULL, faults TEXT NOT NULL,\n"
    "  fault_count INTEGER NOT NULL, overrides TEXT NOT NULL,\n"
    "  backend TEXT NOT NULL DEFAULT 'sim') STRICT;\n"
    "CREATE INDEX runs_by_scenario ON runs(scenario, seed);\n"
    "CREATE INDEX runs_failed ON runs(result) WHERE result <> 'pass';\n"
    "CREATE TABLE events(run_id INTEGER NOT NULL, seq INTEGER NOT NULL,\n"
    "  step INTEGER NOT NULL, vtime_ns INTEGER NOT NULL, node INTEGER NOT NULL,\n"
    "  task INTEGER NOT NULL, kind INTEGER NOT NULL, a INTEGER NOT NULL, b INTEGER NOT NULL,\n"
    "  detail TEXT, PRIMARY KEY(run_id, seq)) STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE decisions(run_id INTEGER NOT NULL, step INTEGER NOT NULL,\n"
    "  task INTEGER NOT NULL, runnable INTEGER NOT NULL, forced INTEGER NOT NULL,\n"
    "  PRIMARY KEY(run_id, step)) STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE checkpoints(run_id INTEGER NOT NULL, seq INTEGER NOT NULL,\n"
    "  step INTEGER NOT NULL, event_count INTEGER NOT NULL, hash INTEGER NOT NULL,\n"
    "  PRIMARY KEY(run_id, seq)) STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE violations(run_id INTEGER NOT NULL, seq INTEGER NOT NULL,\n"
    "  step INTEGER NOT NULL, vtime_ns INTEGER NOT NULL, task INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL, message TEXT NOT NULL, PRIMARY KEY(run_id, seq)) STRICT,\n"
    "  WITHOUT ROWID;\n"
    "CREATE TABLE event_kinds(kind INTEGER PRIMARY KEY, name TEXT NOT NULL,\n"
    "  fields TEXT NOT NULL) STRICT;\n"
    "CREATE TABLE faults(run_id INTEGER NOT NULL, seq INTEGER NOT NULL,\n"
    "  step INTEGER NOT NULL, vtime_ns INTEGER NOT NULL, node INTEGER NOT NULL,\n"
    "  point TEXT NOT NULL, hit INTEGER NOT NULL, action TEXT NOT NULL, detail TEXT,\n"
    "  PRIMARY KEY(run_id, seq)) STRICT, WITHOUT ROWID;\n"
    "CREATE TABLE history(run_id INTEGER NOT NULL, seq INTEGER NOT NULL,\n"
    "  entry TEXT NOT NULL, PRIMARY KEY(run_id, seq)) STRICT, WITHOUT ROWID;\n";

/* From schema 1: the runs gain their fault plan and count, and faults get a table. */
static const char migrate_1_to_2[] =
    "ALTER TABLE runs ADD COLUMN faults TEXT NOT NULL DEFAULT '';\n"
    "ALTER TABLE runs ADD COLUMN fault_count INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE TABLE faults(run_id INTEGER NOT NULL, seq INTEGER NOT NULL,\n"
    "  step INTEGER NOT NULL, vtime_ns INTEGER NOT NULL, node INTEGER NOT NULL,\n"
    "  point TEXT NOT NULL, hit INTEGER NOT NULL, action TEXT NOT NULL, detail TEXT,\n"
    "  PRIMARY KEY(run_id, seq)) STRICT, WITHOUT ROWID;\n"
    "UPDATE meta SET value = 2 WHERE key = 'schema_version';\n";

/* From schema 2: histories (what clients saw, one EDN map per entry) get a table. */
static const char migrate_2_to_3[] =
    "CREATE TABLE history(run_id INTEGER NOT NULL, seq INTEGER NOT NULL,\n"
    "  entry TEXT NOT NULL, PRIMARY KEY(run_id, seq)) STRICT, WITHOUT ROWID;\n"
    "UPDATE meta SET value = 3 WHERE key = 'schema_version';\n";

/* From schema 3: the runs gain the --set overrides they ran under. */
static const char migrate_3_to_4[] =
    "ALTER TABLE runs ADD COLUMN overrides TEXT NOT NULL DEFAULT '';\n"
    "UPDATE meta SET value = 4 WHERE key = 'schema_version';\n";

/* From schema 4: the runs say where they ran: 'sim', or 'host' (a real process's run, recorded
 * as it went by sim_world_record, never replayable). */
static const char migrate_4_to_5[] =
    "ALTER TABLE runs ADD COLUMN backend TEXT NOT NULL DEFAULT 'sim';\n"
    "UPDATE meta SET value = 5 WHERE key = 'schema_version';\n";

#define RUN_COLUMNS_V1                                                                         \
    "run_id, scenario, scenario_path, system, seed, strategy, config, config_hash, "           \
    "binary_version, record_mode, status, result, detail, report, trace_hash, event_count, "   \
    "step_count, vtime_ns, wall_ms, events_stored"
static const char run_columns[] = RUN_COLUMNS_V1 ", faults, fault_count, overrides, backend";
/* What a schema-1 file is read as: no plan, no faults, no overrides, simulated. */
static const char run_columns_v1[] = RUN_COLUMNS_V1 ", '', 0, '', 'sim'";
/* What a schema-2 or 3 file is read as: no overrides, simulated. */
static const char run_columns_v2[] = RUN_COLUMNS_V1 ", faults, fault_count, '', 'sim'";
/* What a schema-4 file is read as: simulated (host runs came with schema 5). */
static const char run_columns_v4[] = RUN_COLUMNS_V1 ", faults, fault_count, overrides, 'sim'";

static const char *run_columns_of(const sim__store *st)
{
    SIM_ASSERT(st->version >= 1 && st->version <= SIM__SCHEMA_VERSION);
    if (st->version == 1) return run_columns_v1;
    if (st->version < 4) return run_columns_v2;
    return st->version == 4 ? run_columns_v4 : run_columns;
}

/* ---- errors ------------------------------------------------------------------------------- */

static int set_err(sim__store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int set_err(sim__store *st, const char *fmt, ...)
{
    SIM_ASSERT(st != NULL);
    SIM_ASSERT(st->path != NULL); /* every message names the file */
    int n = snprintf(st->err, sizeof st->err, "%s: ", st->path);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof st->err) {
        vsnprintf(st->err + n, sizeof st->err - (size_t)n, fmt, ap);
    }
    va_end(ap);
    SIM_ASSERT(st->err[0] != '\0');
    return SIM_EINVAL;
}

/* Whether a failed write was stopped by the process's file size limit (ulimit -f; the sim
 * command ignores SIGXFSZ, so the write fails with EFBIG instead of killing the process).
 * SQLite reports it as an I/O error (or "full" after a short write) and does not keep the
 * errno reliably, so the files themselves are asked too: one of them has reached the limit
 * (a short write fills a file up to it exactly). */
static bool hit_size_limit(const sim__store *st, int rc, int err)
{
    SIM_ASSERT(st != NULL);
    SIM_ASSERT(rc != SQLITE_OK); /* asked about failures only */
    int primary = rc & 0xff;
    if (primary != SQLITE_IOERR && primary != SQLITE_FULL) return false;
    if (err == EFBIG || (st->db != NULL && sqlite3_system_errno(st->db) == EFBIG)) return true;
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return false;
    static const char *const suffixes[] = {"", "-wal", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char path[4200];
        struct stat sb;
        snprintf(path, sizeof path, "%s%s", st->path, suffixes[i]);
        if (stat(path, &sb) == 0 && (uint64_t)sb.st_size >= (uint64_t)rl.rlim_cur) return true;
    }
    return false;
}

/* The message for hit_size_limit. The transaction is rolled back: the runs recorded before
 * stay whole. */
static int file_too_large(sim__store *st, const char *doing)
{
    SIM_ASSERT(doing != NULL);
    struct rlimit rl;
    char limit[64] = "";
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        snprintf(limit, sizeof limit, " of %llu bytes", (unsigned long long)rl.rlim_cur);
    }
    return set_err(st, "the file size limit%s (ulimit -f) stopped a write to the database "
                       "or its -wal or -shm file (%s); "
                       "the runs recorded before are kept. Raise the limit (ulimit -f "
                       "unlimited) or use another file; sim run --record fail or off writes "
                       "less",
                   limit, doing);
}

/* A message for a failed SQLite call, in words a user can act on. SQLite out of memory is
 * fatal, as every host allocation of sim is (core.h). */
static int db_fail(sim__store *st, const char *doing, int rc)
{
    SIM_ASSERT(doing != NULL);
    /* Only failures come here: a row or the end of a statement is not an error. */
    SIM_ASSERT(rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE);
    if ((rc & 0xff) == SQLITE_NOMEM) {
        char what[160];
        snprintf(what, sizeof what, "the trace store (SQLite, %s)", doing);
        sim__oom(0, what);
    }
    if (hit_size_limit(st, rc, errno)) return file_too_large(st, doing);
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return set_err(st, "not a sim database (not an SQLite file at all)");
    case SQLITE_CORRUPT:
        return set_err(st, "the database is corrupt or truncated (%s: %s)", doing,
                       sqlite3_errmsg(st->db));
    case SQLITE_READONLY:
        if (st->mode == SIM__STORE_READ) {
            return set_err(st, "SQLite cannot read it from here without writing beside it (%s: "
                               "%s); copy it with its -wal file to a directory you can write",
                           doing, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        }
        return set_err(st, "read-only: cannot record runs in it (%s: %s); give --db a file in "
                           "a directory you can write",
                       doing, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    case SQLITE_BUSY:
        return set_err(st, "busy: another process held it for more than 10 s (%s)", doing);
    case SQLITE_FULL:
        return set_err(st, "the disk is full (%s)", doing);
    case SQLITE_CANTOPEN: {
        /* SQLite's own errno: the global one may have been changed since. */
        int e = st->db ? sqlite3_system_errno(st->db) : 0;
        return set_err(st, "cannot open (%s): %s", doing, e ? strerror(e) : "SQLite says so");
    }
    default:
        return set_err(st, "%s: %s", doing, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    }
}

const char *sim__store_error(const sim__store *st)
{
    SIM_ASSERT(st != NULL);
    return st->err;
}

static int exec(sim__store *st, const char *sql, const char *doing)
{
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(sql != NULL && doing != NULL);
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, doing, rc);
}

/* Runs a query returning one integer (0 when it returns no row). */
static int query_int(sim__store *st, const char *sql, int64_t *out, const char *doing)
{
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(out != NULL);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(st, doing, rc);
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SIM_OK : db_fail(st, doing, rc);
}

/* ---- opening ------------------------------------------------------------------------------- */

/* The names of the event kinds, for people reading the file with sqlite3. */
static int fill_event_kinds(sim__store *st, const char *doing)
{
    SIM_ASSERT(st->db != NULL);
    int rc = SIM_OK;
    for (int k = 1; rc == SIM_OK && k < 64; k++) {
        const char *name = sim_event_kind_name((sim_event_kind)k);
        if (strcmp(name, "?") == 0) continue;
        /* Names and fields are quoted as SQL text below: they hold no quote of their own. */
        SIM_ASSERT(strchr(name, '\'') == NULL);
        SIM_ASSERT(strchr(sim_event_kind_fields((sim_event_kind)k), '\'') == NULL);
        char row[256];
        snprintf(row, sizeof row, "INSERT OR IGNORE INTO event_kinds VALUES(%d, '%s', '%s')", k,
                 name, sim_event_kind_fields((sim_event_kind)k));
        rc = exec(st, row, doing);
    }
    return rc;
}

/* Brings a schema-1 or -2 file up to date, in one transaction (all or nothing). */
static int migrate(sim__store *st)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE); /* a reader reads an old file as it is */
    SIM_ASSERT(st->version >= 1 && st->version < SIM__SCHEMA_VERSION);
    int rc = exec(st, "BEGIN IMMEDIATE", "upgrading the schema");
    if (rc != SIM_OK) return rc;
    int64_t version = 0;
    rc = query_int(st, "SELECT value FROM meta WHERE key = 'schema_version' ORDER BY key",
                   &version, "upgrading the schema");
    /* Another sim may have upgraded it meanwhile: version says how far it is. */
    if (rc == SIM_OK && version == 1) rc = exec(st, migrate_1_to_2, "upgrading from version 1");
    if (rc == SIM_OK && version <= 2) rc = exec(st, migrate_2_to_3, "upgrading from version 2");
    if (rc == SIM_OK && version <= 3) rc = exec(st, migrate_3_to_4, "upgrading from version 3");
    if (rc == SIM_OK && version <= 4) rc = exec(st, migrate_4_to_5, "upgrading from version 4");
    if (rc == SIM_OK && version < SIM__SCHEMA_VERSION) {
        rc = fill_event_kinds(st, "upgrading the schema");
    }
    if (rc != SIM_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    SIM_ASSERT(version >= 1 && version <= SIM__SCHEMA_VERSION);
    rc = exec(st, "COMMIT", "upgrading the schema");
    if (rc == SIM_OK) st->version = SIM__SCHEMA_VERSION;
    return rc;
}

static int create_schema(sim__store *st)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE);
    SIM_ASSERT(st->version == SIM__SCHEMA_VERSION);
    int rc = exec(st, "BEGIN IMMEDIATE", "creating the schema");
    if (rc != SIM_OK) return rc;
    int64_t tables = 0;
    rc = query_int(st, "SELECT count(*) FROM sqlite_master", &tables, "creating the schema");
    if (rc == SIM_OK && tables == 0) { /* another sim may have created it meanwhile */
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA application_id = %d", APPLICATION_ID);
        rc = exec(st, schema, "creating the schema");
        if (rc == SIM_OK) rc = exec(st, pragma, "creating the schema");
        char meta[256];
        snprintf(meta, sizeof meta,
                 "INSERT INTO meta VALUES('schema_version', %d), ('created_by', 'sim %s')",
                 SIM__SCHEMA_VERSION, SIM_VERSION_STRING);
        if (rc == SIM_OK) rc = exec(st, meta, "creating the schema");
        if (rc == SIM_OK) rc = fill_event_kinds(st, "creating the schema");
    }
    if (rc != SIM_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec(st, "COMMIT", "creating the schema");
}

static int check_schema(sim__store *st, sim__store_mode mode)
{
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(st->version == 0); /* learnt here */
    int64_t tables = 0, app = 0, version = 0;
    int rc = query_int(st, "SELECT count(*) FROM sqlite_master", &tables, "reading the schema");
    if (rc == SIM_OK) rc = query_int(st, "PRAGMA application_id", &app, "reading the schema");
    if (rc != SIM_OK) return rc;
    if (tables == 0 && app == 0) {
        if (mode == SIM__STORE_READ) {
            return set_err(st, "empty: not a sim database yet (sim run --db creates one)");
        }
        st->version = SIM__SCHEMA_VERSION;
        return create_schema(st);
    }
    if (app != APPLICATION_ID) {
        return set_err(st, "not a sim database (an SQLite database with %lld table(s) of "
                           "something else); refusing to touch it",
                       (long long)tables);
    }
    rc = query_int(st, "SELECT value FROM meta WHERE key = 'schema_version' ORDER BY key",
                   &version, "reading the schema version");
    if (rc != SIM_OK) return rc;
    if (version > SIM__SCHEMA_VERSION) {
        return set_err(st, "written by a newer sim (schema version %lld; this sim %s reads %d)",
                       (long long)version, SIM_VERSION_STRING, SIM__SCHEMA_VERSION);
    }
    if (version < 1) {
        return set_err(st, "a sim database with an unknown schema version (%lld)",
                       (long long)version);
    }
    st->version = version;
    SIM_ASSERT(st->version >= 1 && st->version <= SIM__SCHEMA_VERSION);
    /* An older version is upgraded before anything is written to it, and read as it is. */
    if (version < SIM__SCHEMA_VERSION && mode == SIM__STORE_WRITE) return migrate(st);
    return SIM_OK;
}

static int prepare_inserts(sim__store *st)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE);
    SIM_ASSERT(st->ins_events == NULL && st->ins_event == NULL);
    char *sql = sim__xmalloc(64 + (size_t)BATCH * 32, "the trace store's inserts");
    size_t o = (size_t)sprintf(sql, "INSERT INTO events VALUES ");
    for (int i = 0; i < BATCH; i++) {
        o += (size_t)sprintf(sql + o, "%s(?,?,?,?,?,?,?,?,?,?)", i ? "," : "");
    }
    SIM_ASSERT(o < 64 + (size_t)BATCH * 32); /* 22 bytes a row fit in 32 */
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->ins_events, NULL);
    free(sql);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v3(st->db, "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)", -1,
                                SQLITE_PREPARE_PERSISTENT, &st->ins_event, NULL);
    }
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, "preparing inserts", rc);
}

/* ---- where the file is: what may be written beside it ---------------------------------------- */

/* SQLite keeps two files beside a database in WAL mode: PATH-wal, the log of commits not yet
 * copied into the file, and PATH-shm, the log's index. A writer needs both; a reader needs
 * the index whenever the log has content, and makes it if it is missing. So whether a
 * database can be written, and how it can be read, depends on its directory as much as on
 * the file. These helpers answer with access(2), for the calling user (root passes every
 * mode check, but not a read-only mount). */

/* 0 when the calling user may write path, else why not (an errno). */
static int write_errno(const char *path)
{
    return access(path, W_OK) == 0 ? 0 : errno;
}

/* path's directory ("." for a bare name); malloc'd. */
static char *dir_of(const char *path)
{
    SIM_ASSERT(path != NULL && path[0] != '\0');
    const char *slash = strrchr(path, '/');
    if (slash == NULL) return sim__xstrdup(".", "a database's directory");
    if (slash == path) return sim__xstrdup("/", "a database's directory");
    return sim__xstrndup(path, (size_t)(slash - path), "a database's directory");
}

/* "PATH-wal" or "PATH-shm"; malloc'd. */
static char *beside(const char *path, const char *suffix)
{
    SIM_ASSERT(path != NULL && path[0] != '\0');
    SIM_ASSERT(suffix[0] == '-'); /* -wal, -shm, -journal */
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *s = sim__xmalloc(n, "a database's file name");
    snprintf(s, n, "%s%s", path, suffix);
    return s;
}

/* The size of a file; -1 when it does not exist. */
static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* Words for an errno from write_errno. */
static const char *why_not(int e)
{
    return e == EROFS ? "on a read-only file system"
           : e == EACCES || e == EPERM ? "not writable by you"
                                       : strerror(e);
}

/* What the directory and the sidecar files say about the database at path. */
typedef struct place {
    char *dir;
    int file_errno;          /* write_errno(path): 0 writable; set only when the file exists */
    int dir_errno;           /* write_errno(dir): 0 when files can be made beside it */
    int64_t wal_size;        /* -1: no PATH-wal */
    bool shm;                /* PATH-shm exists */
} place;

static void place_of(const char *path, bool exists, place *pl)
{
    SIM_ASSERT(path[0] != '\0');
    *pl = (place){.wal_size = -1};
    pl->dir = dir_of(path);
    char *wal = beside(path, "-wal"), *shm = beside(path, "-shm");
    pl->file_errno = exists ? write_errno(path) : 0;
    pl->dir_errno = write_errno(pl->dir);
    pl->wal_size = file_size(wal);
    pl->shm = file_size(shm) >= 0;
    SIM_ASSERT(pl->wal_size >= -1);
    if (!exists) SIM_ASSERT(pl->file_errno == 0);
    free(wal);
    free(shm);
}

/* path as a file: URI for sqlite3_open_v2 and ATTACH (SQLITE_OPEN_URI), with the query
 * given ("mode=ro", "immutable=1"). Bytes a URI gives a meaning to are escaped. */
static char *uri_of(const char *path, const char *query)
{
    SIM_ASSERT(path[0] != '\0');
    SIM_ASSERT(strchr(query, '#') == NULL);
    size_t n = strlen(path) * 3 + strlen(query) + 16;
    char *u = sim__xmalloc(n, "a database's URI");
    size_t o = (size_t)snprintf(u, n, "file:%s", path[0] == '/' ? "//" : "");
    for (const unsigned char *c = (const unsigned char *)path; *c != '\0'; c++) {
        if (*c == '%' || *c == '?' || *c == '#' || *c <= 0x20 || *c >= 0x7f) {
            o += (size_t)snprintf(u + o, n - o, "%%%02X", *c);
        } else {
            u[o++] = (char)*c;
        }
    }
    SIM_ASSERT(o + strlen(query) + 2 <= n); /* three bytes per byte of path at most */
    snprintf(u + o, n - o, "?%s", query);
    return u;
}

/* How to open path for reading, as (URI, flags): read-write when the file and its directory
 * can be written (SQLite then folds the log into the file and removes -wal and -shm when
 * the last connection closes, as a writer's does); read-only when only the directory can be
 * (SQLite makes the index it needs); read-only as well when -wal and -shm both exist already.
 * Where nothing can be made beside it (a read-only mount, a directory of another user's):
 * immutable, which reads the file alone without locking it. That is every run when the log
 * is empty or gone, as a writer leaves it when it closes; a log with content and no index
 * cannot be read from there, and is refused with what to do. Immutable trusts that nobody
 * writes the file meanwhile: on a read-only mount nobody can; a writer with more rights
 * working at that moment can make a read fail as corrupt (read again once it is done). */
static int read_uri(sim__store *st, const char *path, bool exists, char **uri)
{
    SIM_ASSERT(path != NULL && path[0] != '\0'); /* the store's own file, or merge's input */
    SIM_ASSERT(uri != NULL);
    *uri = NULL;
    place pl;
    place_of(path, exists, &pl);
    const char *query = "mode=ro";
    int rc = SIM_OK;
    if (pl.file_errno == 0 && pl.dir_errno == 0) {
        query = "mode=rw";
    } else if (pl.dir_errno != 0 && !(pl.wal_size >= 0 && pl.shm)) {
        if (pl.wal_size > 0) {
            rc = set_err(st, "cannot be read from here: its write-ahead log %s-wal holds runs "
                             "not yet in the file, and SQLite needs to make %s-shm beside it "
                             "to read them, but its directory (%s) is %s. Open it once where "
                             "its directory can be written (sim list --db there folds the log "
                             "into the file), or copy %s and %s-wal together to such a place",
                         path, path, pl.dir, why_not(pl.dir_errno), path, path);
        }
        query = "immutable=1";
    }
    free(pl.dir);
    if (rc != SIM_OK) return rc;
    /* Read-write only where both can be written: never a write the user may not make. */
    if (strcmp(query, "mode=rw") == 0) SIM_ASSERT(pl.file_errno == 0);
    if (strcmp(query, "mode=rw") == 0) SIM_ASSERT(pl.dir_errno == 0);
    *uri = uri_of(path, query);
    return SIM_OK;
}

/* Whether runs can be recorded at st->path, before SQLite is asked: the file (when it
 * exists) and, for its -wal and -shm, its directory must be writable. A message that says
 * which, and what to do, otherwise. */
static int check_writable(sim__store *st, bool exists)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE);
    SIM_ASSERT(st->db == NULL); /* before SQLite is asked */
    place pl;
    place_of(st->path, exists, &pl);
    int rc = SIM_OK;
    if (pl.file_errno != 0) {
        rc = set_err(st, "read-only: cannot record runs in it (the file is %s); sim list, "
                         "show, replay and check can still read it. Give --db a file you can "
                         "write",
                     why_not(pl.file_errno));
    } else if (pl.dir_errno != 0 && !exists) {
        rc = set_err(st, "cannot create it: its directory (%s) is %s. Give --db a path in a "
                         "directory you can write",
                     pl.dir, why_not(pl.dir_errno));
    } else if (pl.dir_errno != 0 && !(pl.wal_size >= 0 && pl.shm)) {
        rc = set_err(st, "read-only: cannot record runs in it: SQLite keeps its write-ahead "
                         "log (%s-wal) beside it, and its directory (%s) is %s; sim list, show, "
                         "replay and check can still read it. Move it to a directory you can "
                         "write, or give --db another file",
                     st->path, pl.dir, why_not(pl.dir_errno));
    }
    free(pl.dir);
    return rc;
}

static int open_checked(sim__store *st, sim__store_mode mode)
{
    SIM_ASSERT(st->db == NULL);
    SIM_ASSERT(mode == SIM__STORE_READ || mode == SIM__STORE_WRITE);
    struct stat sb;
    bool exists = stat(st->path, &sb) == 0;
    if (!exists && mode == SIM__STORE_READ) return set_err(st, "no such file");
    if (exists && !S_ISREG(sb.st_mode)) return set_err(st, "not a regular file");
    char *uri = NULL;
    int rc = mode == SIM__STORE_WRITE ? check_writable(st, exists)
                                      : read_uri(st, st->path, exists, &uri);
    if (rc != SIM_OK) return rc;
    if (mode == SIM__STORE_WRITE) {
        uri = uri_of(st->path, "mode=rwc");
    }
    /* URIs throughout, so that sim merge can ATTACH its inputs read-only (or immutable). */
    int flags = SQLITE_OPEN_URI | (mode == SIM__STORE_WRITE
                                       ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                       : SQLITE_OPEN_READWRITE);
    rc = sqlite3_open_v2(uri, &st->db, flags, NULL);
    free(uri);
    if (rc != SQLITE_OK) return db_fail(st, "opening", rc);
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, 10000);
    if (mode == SIM__STORE_WRITE && sqlite3_db_readonly(st->db, "main") == 1) {
        return set_err(st, "read-only: cannot record runs in it (SQLite opened it read-only); "
                           "give --db a file you can write");
    }
    if (getenv("SIM_SQLITE_REVERSE_UNORDERED_SELECTS") != NULL) {
        rc = exec(st, "PRAGMA reverse_unordered_selects = ON", "setting up");
        if (rc != SIM_OK) return rc;
    }
    rc = check_schema(st, mode);
    if (rc != SIM_OK || mode == SIM__STORE_READ) return rc;
    rc = exec(st, "PRAGMA journal_mode = WAL", "switching to WAL");
    if (rc == SIM_OK) rc = exec(st, "PRAGMA synchronous = NORMAL", "setting up");
    /* Kinds added since the file was made get their names (INSERT OR IGNORE). */
    if (rc == SIM_OK) rc = exec(st, "BEGIN IMMEDIATE", "naming event kinds");
    if (rc == SIM_OK) {
        rc = fill_event_kinds(st, "naming event kinds");
        rc = rc == SIM_OK ? exec(st, "COMMIT", "naming event kinds")
                          : (sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL), rc);
    }
    if (rc == SIM_OK) rc = prepare_inserts(st);
    return rc;
}

int sim__store_open(const char *path, sim__store_mode mode, sim__store **out, char *err,
                    size_t err_size)
{
    SIM_ASSERT(out != NULL);
    SIM_ASSERT(path != NULL);
    *out = NULL;
    if (path[0] == '\0') {
        if (err != NULL) snprintf(err, err_size, "the database path is empty");
        return SIM_EINVAL;
    }
    sim__store *st = sim__xcalloc(1, sizeof *st, "the trace store");
    st->path = sim__xstrdup(path, "the trace store's path");
    st->mode = mode;
    int rc = open_checked(st, mode);
    if (rc != SIM_OK) {
        if (err != NULL) snprintf(err, err_size, "%s", st->err);
        sim__store_close(st);
        return rc;
    }
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(st->version >= 1 && st->version <= SIM__SCHEMA_VERSION);
    if (mode == SIM__STORE_WRITE) SIM_ASSERT(st->version == SIM__SCHEMA_VERSION);
    *out = st;
    return SIM_OK;
}

void sim__store_close(sim__store *st)
{
    if (st == NULL) return;
    sqlite3_finalize(st->ins_event);
    sqlite3_finalize(st->ins_events);
    sqlite3_close_v2(st->db);
    free(st->path);
    free(st);
}

/* ---- recording ----------------------------------------------------------------------------- */

static int64_t s64(uint64_t v)
{
    int64_t r;
    memcpy(&r, &v, sizeof r);
    return r;
}

static uint64_t u64(int64_t v)
{
    uint64_t r;
    memcpy(&r, &v, sizeof r);
    return r;
}

static void bind_text(sqlite3_stmt *s, int i, const char *t)
{
    if (t == NULL) {
        sqlite3_bind_null(s, i);
    } else {
        sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
    }
}

static int insert_run(sim__store *st, const sim__run_row *r, uint64_t run_id)
{
    SIM_ASSERT(run_id != 0);
    SIM_ASSERT(r->scenario != NULL && r->system != NULL && r->status != NULL);
    SIM_ASSERT(r->events_stored == 0 || r->events_stored == 1);
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO runs(%s) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,"
                              "?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)", run_columns);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(st, "recording the run", rc);
    sqlite3_bind_int64(s, 1, s64(run_id));
    bind_text(s, 2, r->scenario);
    bind_text(s, 3, r->scenario_path);
    bind_text(s, 4, r->system);
    sqlite3_bind_int64(s, 5, s64(r->seed));
    bind_text(s, 6, r->strategy);
    bind_text(s, 7, r->config);
    sqlite3_bind_int64(s, 8, s64(r->config_hash));
    bind_text(s, 9, r->binary_version);
    bind_text(s, 10, r->record_mode);
    bind_text(s, 11, r->status);
    bind_text(s, 12, r->result);
    bind_text(s, 13, r->detail ? r->detail : "");
    bind_text(s, 14, r->report ? r->report : "");
    sqlite3_bind_int64(s, 15, s64(r->trace_hash));
    sqlite3_bind_int64(s, 16, s64(r->event_count));
    sqlite3_bind_int64(s, 17, s64(r->step_count));
    sqlite3_bind_int64(s, 18, s64(r->vtime_ns));
    sqlite3_bind_int64(s, 19, s64(r->wall_ms));
    sqlite3_bind_int(s, 20, r->events_stored);
    bind_text(s, 21, r->faults ? r->faults : "");
    sqlite3_bind_int64(s, 22, r->fault_count);
    bind_text(s, 23, r->overrides ? r->overrides : "");
    bind_text(s, 24, r->backend ? r->backend : "sim");
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SIM_OK : db_fail(st, "recording the run", rc);
}

static int insert_checkpoints(sim__store *st, uint64_t run_id, const sim__run_data *d)
{
    SIM_ASSERT(run_id != 0);
    SIM_ASSERT(d->ncheckpoints == 0 || d->checkpoints != NULL);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "INSERT INTO checkpoints VALUES(?1,?2,?3,?4,?5)", -1, &s,
                                NULL);
    for (uint32_t i = 0; rc == SQLITE_OK && i < d->ncheckpoints; i++) {
        sqlite3_bind_int64(s, 1, s64(run_id));
        sqlite3_bind_int64(s, 2, i);
        /* Checkpoints come in order of steps and events. */
        if (i > 0) SIM_ASSERT(d->checkpoints[i].step >= d->checkpoints[i - 1].step);
        if (i > 0) SIM_ASSERT(d->checkpoints[i].events >= d->checkpoints[i - 1].events);
        sqlite3_bind_int64(s, 3, s64(d->checkpoints[i].step));
        sqlite3_bind_int64(s, 4, s64(d->checkpoints[i].events));
        sqlite3_bind_int64(s, 5, s64(d->checkpoints[i].hash));
        rc = sqlite3_step(s);
        rc = rc == SQLITE_DONE ? sqlite3_reset(s) : rc;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, "recording checkpoints", rc);
}

static int insert_violations(sim__store *st, uint64_t run_id, const sim__run_data *d)
{
    SIM_ASSERT(run_id != 0);
    SIM_ASSERT(d->nviolations == 0 || d->violations != NULL);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "INSERT INTO violations VALUES(?1,?2,?3,?4,?5,?6,?7)",
                                -1, &s, NULL);
    for (uint32_t i = 0; rc == SQLITE_OK && i < d->nviolations; i++) {
        const sim__violation_rec *v = &d->violations[i];
        SIM_ASSERT(v->message != NULL);
        SIM_ASSERT(strcmp(sim_violation_kind_name(v->kind), "?") != 0);
        sqlite3_bind_int64(s, 1, s64(run_id));
        sqlite3_bind_int64(s, 2, i);
        sqlite3_bind_int64(s, 3, s64(v->step));
        sqlite3_bind_int64(s, 4, s64(v->vtime_ns));
        sqlite3_bind_int64(s, 5, v->task);
        bind_text(s, 6, sim_violation_kind_name(v->kind));
        bind_text(s, 7, v->message);
        rc = sqlite3_step(s);
        rc = rc == SQLITE_DONE ? sqlite3_reset(s) : rc;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, "recording violations", rc);
}

/* What an event must be to be stored, and to be taken from a file read back: a kind this
 * sim knows, and a step and virtual time that never go back from the event before it (prev:
 * NULL for the first). NULL when it is one, else what is wrong. */
static const char *event_wrong(const sim__ev *e, const sim__ev *prev)
{
    if (strcmp(sim_event_kind_name((sim_event_kind)e->kind), "?") == 0) return "an unknown kind";
    if (prev != NULL && e->step < prev->step) return "a step before the previous event's";
    if (prev != NULL && e->vtime_ns < prev->vtime_ns) {
        return "a virtual time before the previous event's";
    }
    return NULL;
}

/* Binds b's event i as the run's event seq0 + i (seq0: events of the run stored before b). */
static void bind_event(sqlite3_stmt *s, int base, uint64_t run_id, const sim__evbuf *b,
                       uint64_t i, uint64_t seq0)
{
    SIM_ASSERT(i < b->n);
    SIM_ASSERT(base >= 0 && base % COLS == 0);
    const sim__ev *e = &b->ev[i];
    sqlite3_bind_int64(s, base + 1, s64(run_id));
    sqlite3_bind_int64(s, base + 2, s64(seq0 + i));
    sqlite3_bind_int64(s, base + 3, s64(e->step));
    sqlite3_bind_int64(s, base + 4, s64(e->vtime_ns));
    sqlite3_bind_int64(s, base + 5, e->node);
    sqlite3_bind_int64(s, base + 6, e->task);
    sqlite3_bind_int64(s, base + 7, e->kind);
    sqlite3_bind_int64(s, base + 8, s64(e->a));
    sqlite3_bind_int64(s, base + 9, s64(e->b));
    bind_text(s, base + 10, sim__evbuf_detail(b, i));
}

static int insert_events(sim__store *st, uint64_t run_id, const sim__evbuf *b, uint64_t seq0)
{
    SIM_ASSERT(run_id != 0);
    SIM_ASSERT(st->ins_events != NULL && st->ins_event != NULL);
    /* What the executor wrote is valid: a file read back is held to the same (read_events). */
    for (uint64_t i = 0; i < b->n; i++) {
        SIM_ASSERT(event_wrong(&b->ev[i], i > 0 ? &b->ev[i - 1] : NULL) == NULL);
    }
    int rc = SQLITE_OK;
    uint64_t i = 0;
    for (; rc == SQLITE_OK && i + BATCH <= b->n; i += BATCH) {
        for (int r = 0; r < BATCH; r++) {
            bind_event(st->ins_events, r * COLS, run_id, b, i + (uint64_t)r, seq0);
        }
        rc = sqlite3_step(st->ins_events);
        rc = rc == SQLITE_DONE ? sqlite3_reset(st->ins_events) : rc;
    }
    for (; rc == SQLITE_OK && i < b->n; i++) {
        bind_event(st->ins_event, 0, run_id, b, i, seq0);
        rc = sqlite3_step(st->ins_event);
        rc = rc == SQLITE_DONE ? sqlite3_reset(st->ins_event) : rc;
    }
    if (rc == SQLITE_OK) SIM_ASSERT(i == b->n); /* every event, none twice */
    sqlite3_clear_bindings(st->ins_events);
    sqlite3_clear_bindings(st->ins_event);
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, "recording events", rc);
}

static int insert_faults(sim__store *st, uint64_t run_id, const sim__run_data *d)
{
    SIM_ASSERT(run_id != 0);
    SIM_ASSERT(d->nfaults == 0 || d->faults != NULL);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "INSERT INTO faults VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                                -1, &s, NULL);
    for (uint32_t i = 0; rc == SQLITE_OK && i < d->nfaults; i++) {
        const sim_fault_rec *f = &d->faults[i];
        SIM_ASSERT(f->point != NULL && f->point[0] != '\0');
        if (i > 0) SIM_ASSERT(f->step >= d->faults[i - 1].step); /* in the order injected */
        sqlite3_bind_int64(s, 1, s64(run_id));
        sqlite3_bind_int64(s, 2, i);
        sqlite3_bind_int64(s, 3, s64(f->step));
        sqlite3_bind_int64(s, 4, s64(f->vtime_ns));
        sqlite3_bind_int64(s, 5, f->node.v);
        bind_text(s, 6, f->point);
        sqlite3_bind_int64(s, 7, s64(f->hit));
        bind_text(s, 8, sim_fault_action_name(f->action));
        bind_text(s, 9, f->detail);
        rc = sqlite3_step(s);
        rc = rc == SQLITE_DONE ? sqlite3_reset(s) : rc;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, "recording faults", rc);
}

/* A decision is a POLL event that chose among two or more runnable tasks. */
static int insert_decisions(sim__store *st, uint64_t run_id, const sim__evbuf *b)
{
    SIM_ASSERT(run_id != 0);
    SIM_ASSERT(b->n == 0 || b->ev != NULL);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "INSERT INTO decisions VALUES(?1,?2,?3,?4,?5)", -1, &s,
                                NULL);
    for (uint64_t i = 0; rc == SQLITE_OK && i < b->n; i++) {
        const sim__ev *e = &b->ev[i];
        if (e->kind != SIM_EV_POLL || SIM_EV_POLL_RUNNABLE(e->b) < 2) continue;
        SIM_ASSERT(e->task != 0); /* a decision chose a task */
        sqlite3_bind_int64(s, 1, s64(run_id));
        sqlite3_bind_int64(s, 2, s64(e->step));
        sqlite3_bind_int64(s, 3, e->task);
        sqlite3_bind_int64(s, 4, s64(SIM_EV_POLL_RUNNABLE(e->b)));
        sqlite3_bind_int64(s, 5, s64(SIM_EV_POLL_FORCED(e->b)));
        rc = sqlite3_step(s);
        rc = rc == SQLITE_DONE ? sqlite3_reset(s) : rc;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, "recording decisions", rc);
}

static int insert_history(sim__store *st, uint64_t run_id, const sim_history *h)
{
    SIM_ASSERT(run_id != 0);
    SIM_ASSERT(h != NULL);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "INSERT INTO history VALUES(?1,?2,?3)", -1, &s, NULL);
    char small[512], *text = small;
    size_t cap = sizeof small;
    for (uint32_t i = 0; rc == SQLITE_OK && i < sim_history_count(h); i++) {
        size_t n = sim_history_edn(h, i, text, cap);
        if (n >= cap) {
            text = sim__xrealloc(text == small ? NULL : text, n + 1, "a history entry");
            cap = n + 1;
            size_t again = sim_history_edn(h, i, text, cap);
            SIM_ASSERT(again == n); /* the same entry, the same text */
        }
        SIM_ASSERT(n < cap && text[n] == '\0');
        sqlite3_bind_int64(s, 1, s64(run_id));
        sqlite3_bind_int64(s, 2, i);
        sqlite3_bind_text(s, 3, text, (int)n, SQLITE_TRANSIENT);
        rc = sqlite3_step(s);
        rc = rc == SQLITE_DONE ? sqlite3_reset(s) : rc;
    }
    if (text != small) free(text);
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, "recording the history", rc);
}

/* The next run id of this store's shard, inside a write transaction. */
static int next_run_id(sim__store *st, uint64_t *run_id)
{
    SIM_ASSERT(st->shard < SIM__STORE_SHARDS);
    int64_t next = 0;
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT COALESCE(MAX(run_id), %llu) + 1 FROM runs WHERE run_id >= %llu AND "
             "run_id < %llu", (unsigned long long)(st->shard << SHARD_SHIFT),
             (unsigned long long)(st->shard << SHARD_SHIFT),
             (unsigned long long)((st->shard + 1) << SHARD_SHIFT));
    int rc = query_int(st, sql, &next, "numbering the run");
    /* The next id would be the first of the next shard's range: this one is used up. */
    if (rc == SIM_OK && (uint64_t)next >= (st->shard + 1) << SHARD_SHIFT) {
        rc = set_err(st, "every run id of %s is taken (%llu runs): record in another file",
                     st->shard ? "this shard" : "this database",
                     (unsigned long long)(1ull << SHARD_SHIFT) - 1);
    }
    SIM_ASSERT(rc != SIM_OK || (uint64_t)next > st->shard << SHARD_SHIFT);
    *run_id = rc == SIM_OK ? (uint64_t)next : 0;
    return rc;
}

/* Commits, or rolls back on an error (rc). */
static int finish(sim__store *st, int rc, const char *doing)
{
    SIM_ASSERT(doing != NULL);
    if (rc == SIM_OK) rc = exec(st, "COMMIT", doing);
    if (rc != SIM_OK) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int sim__store_record(sim__store *st, const sim__run_row *row, const sim__run_data *data,
                      uint64_t *run_id)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE);
    SIM_ASSERT(row != NULL && data != NULL && run_id != NULL);
    SIM_ASSERT(st->shard < SIM__STORE_SHARDS);
    int rc = exec(st, "BEGIN IMMEDIATE", "starting a transaction");
    if (rc != SIM_OK) return rc;
    rc = next_run_id(st, run_id);
    if (rc == SIM_OK) rc = insert_run(st, row, *run_id);
    if (rc == SIM_OK) rc = insert_checkpoints(st, *run_id, data);
    if (rc == SIM_OK) rc = insert_violations(st, *run_id, data);
    if (rc == SIM_OK) rc = insert_faults(st, *run_id, data);
    if (rc == SIM_OK && data->events != NULL) rc = insert_events(st, *run_id, data->events, 0);
    if (rc == SIM_OK && data->events != NULL) rc = insert_decisions(st, *run_id, data->events);
    if (rc == SIM_OK && data->history != NULL) rc = insert_history(st, *run_id, data->history);
    return finish(st, rc, "committing the run");
}

/* ---- a run recorded as it goes --------------------------------------------------------------- */

int sim__store_begin(sim__store *st, const sim__run_row *row, uint64_t *run_id)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE);
    SIM_ASSERT(row != NULL && run_id != NULL);
    int rc = exec(st, "BEGIN IMMEDIATE", "starting a transaction");
    if (rc != SIM_OK) return rc;
    rc = next_run_id(st, run_id);
    if (rc == SIM_OK) rc = insert_run(st, row, *run_id);
    rc = finish(st, rc, "starting the run");
    if (rc != SIM_OK) *run_id = 0;
    return rc;
}

int sim__store_append(sim__store *st, uint64_t run_id, uint64_t seq0, const sim__evbuf *events)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE);
    SIM_ASSERT(run_id != 0 && events != NULL);
    if (events->n == 0) return SIM_OK;
    int rc = exec(st, "BEGIN IMMEDIATE", "starting a transaction");
    if (rc != SIM_OK) return rc;
    rc = insert_events(st, run_id, events, seq0);
    if (rc == SIM_OK) rc = insert_decisions(st, run_id, events);
    return finish(st, rc, "recording events");
}

int sim__store_end(sim__store *st, uint64_t run_id, const sim__run_row *row,
                   const sim__run_data *data)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE);
    SIM_ASSERT(run_id != 0 && row != NULL && data != NULL);
    SIM_ASSERT(data->events == NULL && data->nfaults == 0); /* appended before, or none */
    int rc = exec(st, "BEGIN IMMEDIATE", "starting a transaction");
    if (rc != SIM_OK) return rc;
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(st->db, "DELETE FROM runs WHERE run_id = ?1", -1, &s, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, s64(run_id));
        src = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (src != SQLITE_DONE) rc = db_fail(st, "ending the run", src);
    if (rc == SIM_OK) rc = insert_run(st, row, run_id);
    if (rc == SIM_OK) rc = insert_checkpoints(st, run_id, data);
    if (rc == SIM_OK) rc = insert_violations(st, run_id, data);
    if (rc == SIM_OK && data->history != NULL) rc = insert_history(st, run_id, data->history);
    return finish(st, rc, "ending the run");
}

int sim__store_set_shard(sim__store *st, uint64_t shard)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE); /* shards number the runs a writer records */
    if (shard >= SIM__STORE_SHARDS) return set_err(st, "shard %llu is out of range",
                                                   (unsigned long long)shard);
    st->shard = shard;
    return SIM_OK;
}

int64_t sim__store_version(const sim__store *st)
{
    SIM_ASSERT(st->version >= 1 && st->version <= SIM__SCHEMA_VERSION);
    return st->version;
}

/* ---- merging ----------------------------------------------------------------------------- */

/* The tables a run's rows are in, besides runs. */
static const char *const run_tables[][2] = {
    {"checkpoints", "run_id, seq"}, {"violations", "run_id, seq"}, {"events", "run_id, seq"},
    {"decisions", "run_id, step"},  {"faults", "run_id, seq"},     {"history", "run_id, seq"}};

/* The input read as sim__store_open reads (read_uri: immutable where nothing can be made
 * beside it), and never written: read-write is asked for as read-only. */
static int attach(sim__store *st, const char *path, const char *doing)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE); /* merge writes into this store */
    SIM_ASSERT(path != NULL);
    char *uri = NULL;
    int rc = read_uri(st, path, true, &uri);
    if (rc != SIM_OK) return rc;
    char *rw = strstr(uri, "?mode=rw");
    if (rw != NULL) memcpy(rw, "?mode=ro", 8);
    SIM_ASSERT(strstr(uri, "mode=rw") == NULL); /* an input is never written */
    sqlite3_stmt *s = NULL;
    rc = sqlite3_prepare_v2(st->db, "ATTACH DATABASE ?1 AS src", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, uri, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(s);
    free(uri);
    return rc == SQLITE_OK ? SIM_OK : db_fail(st, doing, rc);
}

static void detach(sim__store *st)
{
    sqlite3_exec(st->db, "DETACH DATABASE src", NULL, NULL, NULL);
}

int sim__store_merge_check(sim__store *st, const char *path, uint64_t *runs, uint64_t *clash)
{
    SIM_ASSERT(runs != NULL && clash != NULL);
    *runs = *clash = 0;
    int rc = attach(st, path, "reading the input");
    int64_t n = 0, first = 0;
    if (rc == SIM_OK) rc = query_int(st, "SELECT count(*) FROM src.runs", &n, "counting runs");
    if (rc == SIM_OK) {
        rc = query_int(st, "SELECT count(*) FROM src.runs WHERE run_id IN "
                           "(SELECT run_id FROM main.runs)", &first, "comparing run ids");
    }
    int64_t id = 0;
    if (rc == SIM_OK && first > 0) {
        rc = query_int(st, "SELECT min(run_id) FROM src.runs WHERE run_id IN "
                           "(SELECT run_id FROM main.runs)", &id, "comparing run ids");
    }
    detach(st);
    SIM_ASSERT(n >= 0 && first >= 0 && first <= n);
    *runs = (uint64_t)n;
    *clash = first > 0 ? (uint64_t)id : 0;
    return rc;
}

int sim__store_merge(sim__store *st, const char *path)
{
    SIM_ASSERT(st->mode == SIM__STORE_WRITE);
    SIM_ASSERT(path != NULL);
    int rc = attach(st, path, "reading the input");
    if (rc != SIM_OK) return rc;
    rc = exec(st, "BEGIN IMMEDIATE", "merging");
    if (rc == SIM_OK) {
        rc = exec(st, "INSERT INTO main.runs SELECT * FROM src.runs ORDER BY run_id",
                  "merging runs");
    }
    for (size_t i = 0; rc == SIM_OK && i < sizeof run_tables / sizeof *run_tables; i++) {
        char sql[160];
        int len = snprintf(sql, sizeof sql, "INSERT INTO main.%s SELECT * FROM src.%s ORDER BY %s",
                           run_tables[i][0], run_tables[i][0], run_tables[i][1]);
        SIM_ASSERT(len > 0 && (size_t)len < sizeof sql);
        rc = exec(st, sql, "merging");
    }
    if (rc == SIM_OK) {
        rc = exec(st, "INSERT OR IGNORE INTO main.event_kinds SELECT * FROM src.event_kinds "
                      "ORDER BY kind", "merging");
    }
    if (rc == SIM_OK) {
        rc = exec(st, "COMMIT", "merging");
    } else {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    detach(st);
    return rc;
}

/* ---- reading ----------------------------------------------------------------------------- */

void sim__run_row_free(sim__run_row *r)
{
    SIM_ASSERT(r != NULL);
    char **strings[] = {&r->scenario, &r->scenario_path, &r->system, &r->strategy, &r->config,
                        &r->binary_version, &r->record_mode, &r->status, &r->result,
                        &r->detail, &r->report, &r->faults, &r->overrides, &r->backend};
    SIM_ASSERT(sizeof strings / sizeof strings[0] == 14); /* every string a row holds */
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) free(*strings[i]);
    memset(r, 0, sizeof *r);
}

static char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return sim__xstrdup(t ? (const char *)t : "", "a stored run's text");
}

static void row_from(sqlite3_stmt *s, sim__run_row *r)
{
    SIM_ASSERT(sqlite3_column_count(s) == 24); /* run_columns, or an older file's padded */
    memset(r, 0, sizeof *r);
    r->run_id = u64(sqlite3_column_int64(s, 0));
    r->scenario = col_text(s, 1);
    r->scenario_path = col_text(s, 2);
    r->system = col_text(s, 3);
    r->seed = u64(sqlite3_column_int64(s, 4));
    r->strategy = col_text(s, 5);
    r->config = col_text(s, 6);
    r->config_hash = u64(sqlite3_column_int64(s, 7));
    r->binary_version = col_text(s, 8);
    r->record_mode = col_text(s, 9);
    r->status = col_text(s, 10);
    r->result = col_text(s, 11);
    r->detail = col_text(s, 12);
    r->report = col_text(s, 13);
    r->trace_hash = u64(sqlite3_column_int64(s, 14));
    r->event_count = u64(sqlite3_column_int64(s, 15));
    r->step_count = u64(sqlite3_column_int64(s, 16));
    r->vtime_ns = u64(sqlite3_column_int64(s, 17));
    r->wall_ms = u64(sqlite3_column_int64(s, 18));
    r->events_stored = sqlite3_column_int(s, 19) != 0;
    r->faults = col_text(s, 20);
    r->fault_count = (uint32_t)sqlite3_column_int64(s, 21);
    r->overrides = col_text(s, 22);
    r->backend = col_text(s, 23);
    SIM_ASSERT(r->scenario != NULL && r->faults != NULL); /* text, never NULL, maybe empty */
}

int sim__store_runs(sim__store *st, const sim__run_filter *f,
                    int (*cb)(void *ud, const sim__run_row *row), void *ud)
{
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(cb != NULL);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM runs WHERE (?1 = 0 OR (result <> 'pass' AND result <> 'stopped')) "
             "AND (?2 IS NULL OR scenario = ?2) ORDER BY run_id",
             run_columns_of(st));
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(st, "listing runs", rc);
    sqlite3_bind_int(s, 1, f && f->failed_only);
    bind_text(s, 2, f ? f->scenario : NULL);
    int stop = 0;
    while (stop == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        sim__run_row r;
        row_from(s, &r);
        stop = cb(ud, &r);
        sim__run_row_free(&r);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SIM_OK : db_fail(st, "listing runs", rc);
}

int sim__store_run(sim__store *st, uint64_t run_id, sim__run_row *out)
{
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(out != NULL);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM runs WHERE run_id = ?1 ORDER BY run_id",
             run_columns_of(st));
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(st, "reading the run", rc);
    sqlite3_bind_int64(s, 1, s64(run_id));
    rc = sqlite3_step(s);
    int ret;
    if (rc == SQLITE_ROW) {
        row_from(s, out);
        SIM_ASSERT(out->run_id == run_id);
        ret = SIM_OK;
    } else if (rc == SQLITE_DONE) {
        ret = set_err(st, "no run %llu (sim list --db %s shows the runs)",
                      (unsigned long long)run_id, st->path);
    } else {
        ret = db_fail(st, "reading the run", rc);
    }
    sqlite3_finalize(s);
    return ret;
}

int sim__store_events(sim__store *st, uint64_t run_id, const sim__event_filter *f,
                      sim__evbuf *out)
{
    static const sim__event_filter all = {-1, -1, -1, 0, UINT64_MAX};
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(out != NULL);
    if (f == NULL) f = &all;
    uint64_t first = out->n; /* events already in out stay as they are */
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        st->db,
        "SELECT step, vtime_ns, node, task, kind, a, b, detail FROM events WHERE run_id = ?1 "
        "AND (?2 < 0 OR node = ?2) AND (?3 < 0 OR task = ?3) AND (?4 < 0 OR kind = ?4) "
        "AND (?5 = 0 OR step >= ?5) AND (?6 < 0 OR step <= ?6) ORDER BY seq",
        -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(st, "reading events", rc);
    sqlite3_bind_int64(s, 1, s64(run_id));
    sqlite3_bind_int64(s, 2, f->node);
    sqlite3_bind_int64(s, 3, f->task);
    sqlite3_bind_int64(s, 4, f->kind);
    /* Bounds apply only when given: steps are u64 stored bit for bit, so a signed comparison
     * against a default bound would drop rows. */
    sqlite3_bind_int64(s, 5, f->from_step > INT64_MAX ? INT64_MAX : (int64_t)f->from_step);
    sqlite3_bind_int64(s, 6, f->to_step >= INT64_MAX ? -1 : (int64_t)f->to_step);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sim__ev e = {
            .step = u64(sqlite3_column_int64(s, 0)),
            .vtime_ns = u64(sqlite3_column_int64(s, 1)),
            .node = (uint32_t)sqlite3_column_int64(s, 2),
            .task = (uint32_t)sqlite3_column_int64(s, 3),
            .kind = (uint32_t)sqlite3_column_int64(s, 4),
            .a = u64(sqlite3_column_int64(s, 5)),
            .b = u64(sqlite3_column_int64(s, 6)),
        };
        /* A file is input: an event that could not have been recorded is an error, never an
         * assertion (the fuzz target trace_db feeds damaged files). */
        const sim__ev *prev = out->n > first ? &out->ev[out->n - 1] : NULL;
        const char *wrong = event_wrong(&e, prev);
        if (wrong != NULL) {
            sqlite3_finalize(s);
            unsigned long long i = (unsigned long long)(out->n - first);
            if (prev == NULL || strcmp(wrong, "an unknown kind") == 0) {
                return set_err(st, "run %llu: event %llu has an unknown kind (%u); the file is "
                                   "damaged or was written by a newer sim",
                               (unsigned long long)run_id, i, e.kind);
            }
            return set_err(st, "run %llu: event %llu has %s (event %llu: step %llu at %llu ns, "
                               "event %llu: step %llu at %llu ns); the file is damaged",
                           (unsigned long long)run_id, i, wrong, i - 1,
                           (unsigned long long)prev->step, (unsigned long long)prev->vtime_ns, i,
                           (unsigned long long)e.step, (unsigned long long)e.vtime_ns);
        }
        const unsigned char *d = sqlite3_column_text(s, 7);
        if (sim__evbuf_add(out, &e, (const char *)d) != SIM_OK) {
            sqlite3_finalize(s);
            return set_err(st, "more than 4 GiB of event details reading events");
        }
    }
    sqlite3_finalize(s);
    SIM_ASSERT(out->n >= first);
    return rc == SQLITE_DONE ? SIM_OK : db_fail(st, "reading events", rc);
}

int sim__store_checkpoints(sim__store *st, uint64_t run_id, sim_checkpoint **out, uint32_t *n)
{
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(out != NULL && n != NULL);
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT step, event_count, hash FROM checkpoints WHERE run_id = ?1 "
                                "ORDER BY seq",
                                -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(st, "reading checkpoints", rc);
    sqlite3_bind_int64(s, 1, s64(run_id));
    uint32_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = sim__xrealloc_array(*out, cap, sizeof **out, "stored checkpoints");
        }
        (*out)[(*n)++] = (sim_checkpoint){.step = u64(sqlite3_column_int64(s, 0)),
                                          .events = u64(sqlite3_column_int64(s, 1)),
                                          .hash = u64(sqlite3_column_int64(s, 2))};
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE) return SIM_OK;
    free(*out); /* nothing comes back from a failed read */
    *out = NULL;
    *n = 0;
    return db_fail(st, "reading checkpoints", rc);
}

int sim__store_faults(sim__store *st, uint64_t run_id, sim_fault_rec **out, uint32_t *n)
{
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(out != NULL && n != NULL);
    *out = NULL;
    *n = 0;
    if (st->version == 1) return SIM_OK; /* recorded before faults existed */
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT step, vtime_ns, node, point, hit, action, detail FROM "
                                "faults WHERE run_id = ?1 ORDER BY seq",
                                -1, &s, NULL);
    if (rc != SQLITE_OK) return db_fail(st, "reading faults", rc);
    sqlite3_bind_int64(s, 1, s64(run_id));
    uint32_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = sim__xrealloc_array(*out, cap, sizeof **out, "stored faults");
        }
        const unsigned char *detail = sqlite3_column_text(s, 6);
        sim_fault_rec f = {
            .step = u64(sqlite3_column_int64(s, 0)),
            .vtime_ns = u64(sqlite3_column_int64(s, 1)),
            .node = {(uint32_t)sqlite3_column_int64(s, 2)},
            .point = col_text(s, 3),
            .hit = u64(sqlite3_column_int64(s, 4)),
            .action = SIM_FAULT_FIRE,
            .detail = detail ? sim__xstrdup((const char *)detail, "stored faults") : NULL,
        };
        const char *action = (const char *)sqlite3_column_text(s, 5);
        for (int a = 1; a < 32 && action != NULL; a++) {
            if (strcmp(sim_fault_action_name((sim_fault_action)a), action) == 0) {
                f.action = (sim_fault_action)a;
            }
        }
        (*out)[(*n)++] = f;
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE) return SIM_OK;
    /* Nothing comes back from a failed read. */
    sim__faults_free(*out, *n);
    *out = NULL;
    *n = 0;
    return db_fail(st, "reading faults", rc);
}

void sim__faults_free(sim_fault_rec *f, uint32_t n)
{
    SIM_ASSERT(f != NULL || n == 0);
    for (uint32_t i = 0; i < n && f != NULL; i++) {
        free((char *)f[i].point);
        free((char *)f[i].detail);
    }
    free(f);
}

int sim__store_history(sim__store *st, uint64_t run_id, sim_history **out, char *err,
                       size_t err_size)
{
    SIM_ASSERT(st->db != NULL);
    SIM_ASSERT(out != NULL);
    *out = NULL;
    if (st->version < 3) return SIM_OK; /* recorded before histories were stored */
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT entry FROM history WHERE run_id = ?1 ORDER BY seq", -1,
                                &s, NULL);
    if (rc != SQLITE_OK) return db_fail(st, "reading the history", rc);
    sqlite3_bind_int64(s, 1, s64(run_id));
    char *text = NULL;
    size_t len = 0, cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *entry = (const char *)sqlite3_column_text(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        if (len + n + 2 > cap) {
            size_t c = cap ? cap * 2 : 4096;
            while (c < len + n + 2) c *= 2;
            text = sim__xrealloc(text, c, "a stored history");
            cap = c;
        }
        memcpy(text + len, entry ? entry : "", entry ? n : 0);
        len += entry ? n : 0;
        text[len++] = '\n';
        text[len] = '\0';
        SIM_ASSERT(len < cap);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(text);
        return db_fail(st, "reading the history", rc);
    }
    if (text == NULL) return SIM_OK; /* the run has none */
    char where[64];
    snprintf(where, sizeof where, "run %llu history", (unsigned long long)run_id);
    int prc = sim_history_parse_edn(where, text, out, err, err_size);
    free(text);
    if (prc == SIM_OK) SIM_ASSERT(*out != NULL);
    if (prc == SIM_EINVAL) return set_err(st, "a stored history does not read back: %s", err);
    return prc;
}
