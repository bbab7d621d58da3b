/*
 * trace_db.c: a trace database's bytes through list, show, viz, replay, check and merge.
 *
 * The input is written to a temporary file as a SQLite database (the corpus holds databases
 * that `sim run` wrote, which the fuzzer corrupts in every way it can), and the sim command's
 * own main (cmd/sim.c, compiled as fuzz_sim_main) runs on it as a user would: list, list
 * --failed, then for the first runs show (text, json, --faults), viz (html and shiviz, into
 * /dev/null), replay --until (bounded, so that one input stays fast), check --db, and last
 * merge into a copy of a database made at start-up with one run of its own.
 *
 * Errors are fine: a command may refuse the file with a message. Oracles: no crash, leak or
 * undefined behaviour (ASan, UBSan); a command exits 0, 1, 2 or 3; reading never changes
 * the input file; and merge never corrupts its output: afterwards the output still opens as a
 * sim database, SQLite's integrity check passes, and it holds its run plus, only when merge
 * succeeded, the input's runs. The oracle reads the output with SQLite directly, not through
 * the store under test.
 *
 * The commands' messages (stderr) are discarded while they run, unless SIM_FUZZ_VERBOSE is
 * set in the environment: set it to see them when reproducing a finding.
 */
#include "fuzz.h"

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include "../src/trace/store.h"

#define RUNS_MAX 2        /* runs of the input that get show, replay and check */
#define UNTIL_STEPS "3000" /* replay --until: bounds one input's replay */

static char dir[256], in_db[300], out_db[300], base_db[300];
static unsigned char *base_bytes; /* the merge target as made at start-up */
static size_t base_size;
static uint64_t base_runs;
static FILE *quiet;               /* /dev/null, stderr while a command runs; NULL: verbose */

static void remove_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char p[320];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL, "cannot write %s", path);
    FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size, "cannot write %s", path);
    FUZZ_CHECK(fclose(f) == 0, "cannot write %s", path);
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f != NULL, "cannot read %s", path);
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    FUZZ_CHECK(buf != NULL, "out of memory");
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            buf = realloc(buf, cap *= 2);
            FUZZ_CHECK(buf != NULL, "out of memory");
        }
    }
    fclose(f);
    *size = n;
    return buf;
}

/* Runs `sim ARGS...`, its messages discarded, and checks the exit code. The command may
 * install its own Ctrl-C handler; libFuzzer's comes back after it. */
static int sim(const char *const *args, int n)
{
    char *argv[16];
    FUZZ_CHECK(n + 1 < (int)(sizeof argv / sizeof argv[0]), "too many arguments");
    argv[0] = "sim";
    for (int i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    struct sigaction old_int, old_term;
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    FILE *err = stderr;
    if (quiet != NULL) stderr = quiet;
    int rc = fuzz_sim_main(n + 1, argv);
    fflush(stdout);
    stderr = err;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    FUZZ_CHECK(rc >= 0 && rc <= 3, "sim %s exited %d", args[0], rc);
    return rc;
}

#define SIM(...)                                                                               \
    sim((const char *const[]){__VA_ARGS__}, (int)(sizeof((const char *const[]){__VA_ARGS__}) / \
                                                  sizeof(const char *)))

/* The runs of a database, as SQLite itself reads them: -1 when it does not open or, when
 * asked, its integrity check fails. (An input may fail it harmlessly, a wrong free-page count
 * in its header, and still merge: only the output is held to it.) */
static int64_t count_runs(const char *path, bool integrity)
{
    sqlite3 *db = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *s = NULL;
    bool ok = !integrity ||
              (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
               sqlite3_step(s) == SQLITE_ROW &&
               strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0);
    sqlite3_finalize(s);
    s = NULL;
    if (ok && sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        n = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void cleanup(void)
{
    remove_db(in_db);
    remove_db(out_db);
    remove_db(base_db);
    char p[320];
    snprintf(p, sizeof p, "%s/one.ini", dir);
    unlink(p);
    rmdir(dir);
}

/* The merge target: one run of a small scenario, in shard 1's id range so that the inputs'
 * runs (shard 0 as sim run writes them) can merge. */
static void make_base(void)
{
    char ini[320];
    snprintf(ini, sizeof ini, "%s/one.ini", dir);
    static const char scenario[] = "[scenario]\nname = base\nsystem = register\nseeds = 1\n"
                                   "[register]\nclients = 2\nops = 3\n";
    write_file(ini, scenario, sizeof scenario - 1);
    SIM("run", ini, "--db", base_db, "--jobs", "1", "--shard", "0/2", "--record", "full",
        "--quiet");
    base_runs = (uint64_t)count_runs(base_db, true);
    FUZZ_CHECK(base_runs == 1, "the merge target has %llu runs", (unsigned long long)base_runs);
    base_bytes = read_file(base_db, &base_size);
    remove_db(base_db);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/sim-fuzz-db-XXXXXX", tmp);
    FUZZ_CHECK(mkdtemp(dir) != NULL, "cannot make a directory in %s", tmp);
    snprintf(in_db, sizeof in_db, "%s/in.db", dir);
    snprintf(out_db, sizeof out_db, "%s/out.db", dir);
    snprintf(base_db, sizeof base_db, "%s/base.db", dir);
    atexit(cleanup);
    /* A recorded scenario path may name any file: never let one wait on a terminal. */
    FUZZ_CHECK(freopen("/dev/null", "r", stdin) != NULL, "cannot reopen stdin");
    if (getenv("SIM_FUZZ_VERBOSE") == NULL) quiet = fopen("/dev/null", "w");
    make_base();
    return 0;
}

typedef struct runs {
    char id[RUNS_MAX][24];
    const char *model[RUNS_MAX];
    int n;
} runs;

static int note_run(void *ud, const sim__run_row *row)
{
    runs *r = ud;
    snprintf(r->id[r->n], sizeof r->id[r->n], "%llu", (unsigned long long)row->run_id);
    r->model[r->n] = strcmp(row->system, "kv") == 0 ? "kv" : "register";
    return ++r->n == RUNS_MAX;
}

static void each_run(void)
{
    sim__store *st = NULL;
    char err[512];
    if (sim__store_open(in_db, SIM__STORE_READ, &st, err, sizeof err) != SIM_OK) return;
    runs r = {.n = 0};
    sim__store_runs(st, NULL, note_run, &r);
    sim__store_close(st);
    for (int i = 0; i < r.n; i++) {
        SIM("show", "--db", in_db, r.id[i]);
        SIM("show", "--db", in_db, r.id[i], "--format", "json", "--kind", "history");
        SIM("show", "--db", in_db, r.id[i], "--faults");
        SIM("viz", "--db", in_db, r.id[i], "-o", "/dev/null");
        SIM("viz", "--db", in_db, r.id[i], "--format", "shiviz", "-o", "/dev/null");
        SIM("replay", "--db", in_db, r.id[i], "--until", UNTIL_STEPS);
        SIM("check", "--db", in_db, r.id[i], "--model", r.model[i], "--jobs", "1",
            "--max-configs", "20000");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    remove_db(in_db);
    write_file(in_db, data, size);
    SIM("list", "--db", in_db);
    SIM("list", "--db", in_db, "--failed");
    each_run();
    remove_db(out_db);
    write_file(out_db, base_bytes, base_size);
    int rc = SIM("merge", out_db, in_db);
    int64_t in_runs = rc == 0 ? count_runs(in_db, false) : 0;
    int64_t out_runs = count_runs(out_db, true);
    FUZZ_CHECK(out_runs >= 0, "merge (exit %d) left %s unreadable or failing its integrity check",
               rc, out_db);
    FUZZ_CHECK((uint64_t)out_runs == base_runs + (uint64_t)in_runs,
               "merge exited %d; the output has %lld runs, expected %llu + %lld", rc,
               (long long)out_runs, (unsigned long long)base_runs, (long long)in_runs);
    size_t after_size = 0;
    unsigned char *after = read_file(in_db, &after_size);
    FUZZ_CHECK(after_size == size && (size == 0 || memcmp(after, data, size) == 0),
               "reading the database changed it (%zu bytes, then %zu)", size, after_size);
    free(after);
    return 0;
}
