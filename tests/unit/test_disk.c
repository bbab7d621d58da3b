/*
 * test_disk.c: the simulated disk through sim.h (docs/disk.md): file semantics in blocking-pool
 * jobs (open flags, reads and writes, holes, appends, truncation, dead handles, bad paths),
 * rename, unlink and listings, synchronous calls misused in tasks, the latency of operations
 * and of jobs, what a crash keeps (writes not synced, directory operations, torn sectors),
 * failed fsyncs and the other fault points, capacity, operations dropped or cut by a crash,
 * determinism, the world dump and the errors of sim_disk_configure.
 *
 * Jobs run through run_job: a blocking-pool job that calls a given function, driven by
 * sim_block_on. Job functions release every handle they open before they return, and record
 * what they see in records on the test's stack (a verdict of EXPECT checks, or a record of
 * what a file holds). Tasks follow a script of disk operations (scripter) and record each
 * result and when it completed; the operation in flight and the file handle belong to the
 * task and go with it, so it has no drop function. Disk events are gathered by a trace sink
 * (disk_tally). Tests free their world before asserting what jobs recorded, so that a failure
 * leaks nothing under the sanitizers.
 */
#include <stdio.h>
#include <string.h>

#include "../helpers.h"

#define NEVER UINT64_MAX
#define IO_MAX 16384   /* the largest read or write of the helpers */
#define SCRIPT_MAX 24  /* steps of a script */
#define CRASH_MAX 64   /* disk-crash events a tally keeps */

/* Probabilities for sim_disk_desc: never, always, one chance in two. */
#define R0 {0, 1}
#define R1 {1, 1}
#define RHALF {1, 2}

/* What a disk-crash event resolved (docs/disk.md, "Events"). */
enum { CR_WRITE = 1, CR_TRUNC = 2, CR_LINK = 3, CR_UNLINK = 4 };

static sim_node_id nid(uint32_t v)
{
    return (sim_node_id){v};
}

/* Byte i of a patterned write: never 0, so that a lost byte (a hole) shows. */
static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(1 + i % 251);
}

static bool all_eq(const uint8_t *b, size_t len, uint8_t x)
{
    for (size_t i = 0; i < len; i++) {
        if (b[i] != x) return false;
    }
    return true;
}

/* b holds the pattern's bytes from..from+len-1. */
static bool is_pattern(const uint8_t *b, uint64_t from, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (b[i] != pattern(from + i)) return false;
    }
    return true;
}

/* ---- checks made inside jobs ----------------------------------------------------------------- */

typedef struct verdict {
    uint32_t checks;
    uint32_t failures;
    int line;            /* of the first failure */
    const char *expr;
} verdict;

static bool expect_at(verdict *v, bool ok, int line, const char *expr)
{
    v->checks++;
    if (!ok && v->failures++ == 0) {
        v->line = line;
        v->expr = expr;
    }
    return ok;
}

#define EXPECT(v, cond) expect_at((v), (cond), __LINE__, #cond)

static void verdict_ok(const verdict *v, uint32_t checks)
{
    cr_assert(eq(u32, v->failures, 0), "%u failed check(s); the first, line %d: %s",
              v->failures, v->line, v->expr);
    cr_assert(eq(u32, v->checks, checks), "%u checks made, %u expected", v->checks, checks);
}

/* ---- disk events ----------------------------------------------------------------------------- */

typedef struct disk_tally {
    uint64_t ops[16];        /* disk-op events per operation (SIM_DISK_*) */
    uint64_t op_errors[16];  /* ... that carry an error */
    uint32_t ncrash;         /* disk-crash events */
    uint64_t crash_a[CRASH_MAX], crash_b[CRASH_MAX];
} disk_tally;

static uint32_t ev_file(uint64_t a)
{
    return (uint32_t)(a >> 40);
}

static uint64_t ev_offset(uint64_t a)
{
    return a & ((1ull << 40) - 1);
}

/* disk-op: the operation; disk-crash: the outcome (SIM_DISK_KEPT, ...). */
static uint32_t ev_top(uint64_t b)
{
    return (uint32_t)(b >> 56);
}

/* disk-op: the error (negated); disk-crash: what (CR_WRITE, ...). */
static uint32_t ev_mid(uint64_t b)
{
    return (uint32_t)(b >> 48) & 0xff;
}

static uint64_t ev_len(uint64_t b)
{
    return b & ((1ull << 48) - 1);
}

static void tally_sink(void *ud, const sim_event *e)
{
    disk_tally *t = ud;
    if (e->kind == SIM_EV_DISK_OP) {
        uint32_t op = ev_top(e->b) & 15;
        t->ops[op]++;
        if (ev_mid(e->b) != 0) t->op_errors[op]++;
    } else if (e->kind == SIM_EV_DISK_CRASH) {
        if (t->ncrash < CRASH_MAX) {
            t->crash_a[t->ncrash] = e->a;
            t->crash_b[t->ncrash] = e->b;
        }
        t->ncrash++;
    }
}

/* disk-crash events about `what` with an outcome. */
static uint32_t crash_count(const disk_tally *t, uint32_t what, uint32_t outcome)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->ncrash && i < CRASH_MAX; i++) {
        if (ev_mid(t->crash_b[i]) == what && ev_top(t->crash_b[i]) == outcome) n++;
    }
    return n;
}

/* ---- worlds, nodes, jobs --------------------------------------------------------------------- */

/* A world whose events go to tally (may be NULL). */
static sim_world *disk_world(uint64_t seed, disk_tally *tally)
{
    sim_world_desc d = {.seed = seed};
    if (tally != NULL) {
        d.trace = tally_sink;
        d.trace_ud = tally;
    }
    return test_world_desc(&d);
}

static void disk_config(sim_world *w, sim_disk_desc d)
{
    cr_assert(eq(int, sim_disk_configure(w, &d), SIM_OK));
}

/* A node without a boot function whose blocking jobs take a fixed 10 us. */
static sim_node_id disk_node(sim_world *w, const char *name)
{
    sim_node_desc d = {.name = name, .pool_latency = {10 * SIM_US, 10 * SIM_US}};
    sim_node_id id;
    cr_assert(eq(int, sim_node_add(w, &d, &id), SIM_OK));
    return id;
}

typedef int (*job_fn)(sim_world *w, void *ctx);

typedef struct fn_job {
    job_fn fn;
    void *ctx;
} fn_job;

static int fn_job_run(void *state, sim_world *w)
{
    fn_job *j = state;
    return j->fn(w, j->ctx);
}

/* Runs fn(w, ctx) in a blocking-pool job on node; returns the job's result once its join
 * completes (the world runs meanwhile). */
static int run_job(sim_world *w, sim_node_id node, job_fn fn, void *ctx)
{
    fn_job j = {.fn = fn, .ctx = ctx};
    sim_job_desc d = {.name = "job", .node = node, .run = fn_job_run, .state = &j,
                      .state_size = sizeof j};
    sim_join h;
    int rc = sim_spawn_blocking(w, &d, &h);
    return rc == SIM_OK ? sim_block_on(w, sim_join_wait(&h)) : rc;
}

static void crash_restart(sim_world *w, sim_node_id n)
{
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_OK));
}

/* Runs the world until virtual time t (a sleep driven from outside). */
static void wait_until(sim_world *w, uint64_t t)
{
    cr_assert(eq(int, sim_block_on(w, sim_sleep_until(t)), SIM_OK));
    cr_assert(eq(u64, sim_now(w), t));
}

/* ---- job functions --------------------------------------------------------------------------- */

/* Files made durable: each path gets len bytes of byte + its index and is fsynced, then every
 * directory in dirs is synced. */
typedef struct make_ctx {
    const char *paths[4];
    const char *dirs[4];
    uint32_t len;
    uint8_t byte;
} make_ctx;

static int make_job(sim_world *w, void *ctx)
{
    make_ctx *m = ctx;
    uint8_t buf[IO_MAX];
    int rc = SIM_OK;
    for (uint32_t i = 0; i < 4 && m->paths[i] != NULL && rc == SIM_OK; i++) {
        sim_file f;
        memset(buf, m->byte + i, m->len);
        rc = sim_file_open(w, m->paths[i], SIM_O_CREATE | SIM_O_TRUNC, &f);
        if (rc == SIM_OK && m->len > 0) rc = sim_file_pwrite(w, &f, buf, m->len, 0);
        if (rc == SIM_OK) rc = sim_file_sync(w, &f);
        sim_file_close(w, &f);
    }
    for (uint32_t i = 0; i < 4 && m->dirs[i] != NULL && rc == SIM_OK; i++) {
        rc = sim_disk_sync_dir(w, m->dirs[i]);
    }
    return rc;
}

/* One pwrite into an existing file: len bytes of byte (0: the pattern from offset on), then
 * an fsync if asked. */
typedef struct write_ctx {
    const char *path;
    uint64_t offset;
    uint32_t len;
    uint8_t byte;
    bool fsync;
} write_ctx;

static int write_job(sim_world *w, void *ctx)
{
    write_ctx *x = ctx;
    uint8_t buf[IO_MAX];
    for (uint32_t i = 0; i < x->len; i++) buf[i] = x->byte ? x->byte : pattern(x->offset + i);
    sim_file f;
    int rc = sim_file_open(w, x->path, 0, &f);
    if (rc == SIM_OK) rc = sim_file_pwrite(w, &f, buf, x->len, x->offset);
    if (rc == SIM_OK && x->fsync) rc = sim_file_sync(w, &f);
    sim_file_close(w, &f);
    return rc;
}

/* What a file holds, read from the start (at most IO_MAX bytes). */
typedef struct file_io {
    const char *path;
    int rc;              /* of the open */
    uint64_t size;
    size_t got;
    uint8_t buf[IO_MAX];
} file_io;

static int read_job(sim_world *w, void *ctx)
{
    file_io *io = ctx;
    sim_file f;
    io->size = io->got = 0;
    io->rc = sim_file_open(w, io->path, 0, &f);
    if (io->rc != SIM_OK) return SIM_OK;
    int rc = sim_file_size(w, &f, &io->size);
    if (rc == SIM_OK) rc = sim_file_pread(w, &f, io->buf, sizeof io->buf, 0, &io->got);
    sim_file_close(w, &f);
    return rc;
}

/* Whether some paths open, their sizes and the byte they are made of. */
typedef struct probe {
    const char *paths[4];
    int rc[4];           /* of the open */
    uint64_t size[4];
    int byte[4];         /* the byte every byte of the file holds; -1: empty or mixed */
} probe;

static int probe_job(sim_world *w, void *ctx)
{
    probe *p = ctx;
    uint8_t buf[IO_MAX];
    int rc = SIM_OK;
    for (uint32_t i = 0; i < 4 && p->paths[i] != NULL; i++) {
        sim_file f;
        size_t got = 0;
        p->size[i] = 0;
        p->byte[i] = -1;
        p->rc[i] = sim_file_open(w, p->paths[i], 0, &f);
        if (p->rc[i] != SIM_OK) continue;
        if (rc == SIM_OK) rc = sim_file_size(w, &f, &p->size[i]);
        if (rc == SIM_OK) rc = sim_file_pread(w, &f, buf, sizeof buf, 0, &got);
        if (got > 0 && all_eq(buf, got, buf[0])) p->byte[i] = buf[0];
        sim_file_close(w, &f);
    }
    return rc;
}

/* Renames in a job, then syncs a directory (NULL: none). */
typedef struct rename_ctx {
    const char *from[2];
    const char *to[2];
    const char *sync;
    bool seen;           /* reads saw every rename before the crash */
} rename_ctx;

static int rename_job(sim_world *w, void *ctx)
{
    rename_ctx *r = ctx;
    int rc = SIM_OK;
    r->seen = true;
    for (uint32_t i = 0; i < 2 && r->from[i] != NULL && rc == SIM_OK; i++) {
        rc = sim_disk_rename(w, r->from[i], r->to[i]);
        sim_file f;
        r->seen = r->seen && sim_file_open(w, r->from[i], 0, &f) == SIM_ENOENT;
        r->seen = r->seen && sim_file_open(w, r->to[i], 0, &f) == SIM_OK;
        sim_file_close(w, &f);
    }
    if (rc == SIM_OK && r->sync != NULL) rc = sim_disk_sync_dir(w, r->sync);
    return rc;
}

/* ---- a task that follows a script of disk operations ----------------------------------------- */

typedef enum step_kind {
    ST_END = 0,
    ST_OPEN,
    ST_READ,
    ST_WRITE,
    ST_APPEND,
    ST_SYNC,
    ST_DATASYNC,
    ST_TRUNCATE,
    ST_RENAME,
    ST_UNLINK,
    ST_SYNC_DIR,
    ST_SLEEP,
} step_kind;

typedef struct step {
    step_kind kind;
    const char *path;    /* open, rename (from), unlink, sync_dir */
    const char *path2;   /* rename (to) */
    uint32_t flags;      /* open */
    uint32_t len;        /* read, write, append: bytes, at most IO_MAX */
    uint64_t offset;     /* read, write; truncate: the size; sleep: nanoseconds */
    uint8_t byte;        /* write, append: every byte */
} step;

typedef struct script_rec {
    uint64_t started_at;
    uint32_t done;                      /* steps completed */
    int rc[SCRIPT_MAX];
    uint64_t at[SCRIPT_MAX];            /* sim_now when each step completed */
    uint64_t size_started[SCRIPT_MAX];  /* the file's size once the operation started (NEVER:
                                           no file) */
    uint64_t size_done[SCRIPT_MAX];     /* ... once it completed */
    size_t got[SCRIPT_MAX];             /* read: bytes */
    uint64_t where[SCRIPT_MAX];         /* append: the offset */
} script_rec;

/* Runs the steps in order, one operation at a time, on one handle (an open closes the handle
 * it replaces); a failed step does not stop the script. The operation lives in the state
 * block: it is polled once by hand to start it (so that the file can be looked at while it
 * is in flight), then awaited (SIM_AWAIT_FUT). */
typedef struct scripter {
    sim_co co;
    sim_disk_op op;
    sim_file f;
    size_t got;          /* the current read's bytes */
    uint64_t at;         /* the current append's offset */
    const step *steps;
    uint32_t i;
    script_rec *rec;
    uint8_t data[IO_MAX];
    uint8_t rbuf[IO_MAX];
} scripter;

static uint64_t size_of(const sim_world *w, const sim_file *f)
{
    uint64_t size = 0;
    return sim_file_size(w, f, &size) == SIM_OK ? size : NEVER;
}

static sim_disk_op step_op(sim_world *w, scripter *s, const step *st)
{
    if (st->kind == ST_WRITE || st->kind == ST_APPEND) memset(s->data, st->byte, st->len);
    s->got = 0;
    s->at = 0;
    switch (st->kind) {
    case ST_OPEN:
        sim_file_close(w, &s->f);
        return sim_disk_open_op(st->path, st->flags, &s->f);
    case ST_READ: return sim_disk_read_op(&s->f, s->rbuf, st->len, st->offset, &s->got);
    case ST_WRITE: return sim_disk_write_op(&s->f, s->data, st->len, st->offset);
    case ST_APPEND: return sim_disk_append_op(&s->f, s->data, st->len, &s->at);
    case ST_SYNC: return sim_disk_sync_op(&s->f);
    case ST_DATASYNC: return sim_disk_datasync_op(&s->f);
    case ST_TRUNCATE: return sim_disk_truncate_op(&s->f, st->offset);
    case ST_RENAME: return sim_disk_rename_op(st->path, st->path2);
    case ST_UNLINK: return sim_disk_unlink_op(st->path);
    default: return sim_disk_sync_dir_op(st->path);
    }
}

static int scripter_poll(void *state, sim_world *w)
{
    scripter *s = state;
    script_rec *r = s->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    r->started_at = sim_now(w);
    for (s->i = 0; s->i < SCRIPT_MAX && s->steps[s->i].kind != ST_END; s->i++) {
        if (s->steps[s->i].kind == ST_SLEEP) {
            SIM_AWAIT(rc, sim_sleep(w, s->steps[s->i].offset));
        } else {
            s->op = step_op(w, s, &s->steps[s->i]);
            rc = sim_fut_poll(w, &s->op.fut); /* starts it */
            r->size_started[s->i] = size_of(w, &s->f);
            if (rc == SIM_PENDING) {
                SIM_AWAIT_FUT(rc, &s->op.fut);
            }
            r->got[s->i] = s->got;
            r->where[s->i] = s->at;
        }
        r->rc[s->i] = rc;
        r->at[s->i] = sim_now(w);
        r->size_done[s->i] = size_of(w, &s->f);
        r->done = s->i + 1;
    }
    SIM_END(SIM_OK);
}

static sim_join spawn_scripter(sim_world *w, sim_node_id node, const step *steps,
                               script_rec *rec)
{
    static scripter s; /* large: kept off the stack, copied by the spawn */
    s = (scripter){.steps = steps, .rec = rec};
    return test_spawn(w, "scripter", node, scripter_poll, NULL, &s, sizeof s);
}

/* Runs fn (a job that records EXPECT checks in a verdict) on a fresh node of a fresh world;
 * asserts that it succeeded, that all `checks` checks ran and passed, and no violation. */
static void checks_in_job(uint64_t seed, job_fn fn, uint32_t checks)
{
    sim_world *w = disk_world(seed, NULL);
    sim_node_id n = disk_node(w, "n1");
    verdict v = {0};
    int rc = run_job(w, n, fn, &v);
    uint32_t violations = sim_world_violation_count(w);
    sim_world_free(w);
    cr_assert(eq(int, rc, SIM_OK));
    verdict_ok(&v, checks);
    cr_assert(eq(u32, violations, 0));
}

/* ---- 1. file semantics ----------------------------------------------------------------------- */

/* Opens, reads, writes, appends and truncates through two handles; then a dead handle and bad
 * paths. 46 checks. */
static int basics_job(sim_world *w, void *ctx)
{
    verdict *v = ctx;
    sim_file f, g;
    uint8_t buf[64];
    size_t got = 0;
    uint64_t size = NEVER, at = NEVER;
    EXPECT(v, sim_file_open(w, "d/f", 0, &f) == SIM_ENOENT);
    EXPECT(v, sim_file_open(w, "d/f", SIM_O_CREATE, &f) == SIM_OK);
    EXPECT(v, sim_file_size(w, &f, &size) == SIM_OK && size == 0);
    EXPECT(v, sim_file_open(w, "d/f", SIM_O_CREATE | SIM_O_EXCL, &g) == SIM_EEXIST);
    EXPECT(v, sim_file_pwrite(w, &f, "hello", 5, 0) == SIM_OK);
    EXPECT(v, sim_file_pwrite(w, &f, "EL", 2, 1) == SIM_OK);
    EXPECT(v, sim_file_pread(w, &f, buf, sizeof buf, 0, &got) == SIM_OK && got == 5 &&
                  memcmp(buf, "hELlo", 5) == 0);
    /* Past the end: a hole of zeros. */
    EXPECT(v, sim_file_pwrite(w, &f, "zz", 2, 10) == SIM_OK);
    EXPECT(v, sim_file_size(w, &f, &size) == SIM_OK && size == 12);
    EXPECT(v, sim_file_pread(w, &f, buf, 20, 3, &got) == SIM_OK && got == 9 &&
                  memcmp(buf, "lo\0\0\0\0\0zz", 9) == 0);
    /* At and after the end. */
    EXPECT(v, sim_file_pread(w, &f, buf, 4, 12, &got) == SIM_OK && got == 0);
    EXPECT(v, sim_file_pread(w, &f, buf, 4, 100, &got) == SIM_OK && got == 0);
    EXPECT(v, sim_file_append(w, &f, "AB", 2, &at) == SIM_OK && at == 12);
    EXPECT(v, sim_file_append(w, &f, "CDE", 3, &at) == SIM_OK && at == 14);
    EXPECT(v, sim_file_append(w, &f, "F", 1, NULL) == SIM_OK);
    EXPECT(v, sim_file_size(w, &f, &size) == SIM_OK && size == 18);
    /* A second handle sees the same file. */
    EXPECT(v, sim_file_open(w, "d/f", 0, &g) == SIM_OK);
    EXPECT(v, sim_file_pread(w, &g, buf, sizeof buf, 12, &got) == SIM_OK && got == 6 &&
                  memcmp(buf, "ABCDEF", 6) == 0);
    /* Truncation shrinks, then grows with zeros: the bytes cut off do not come back. */
    EXPECT(v, sim_file_truncate(w, &f, 3) == SIM_OK);
    EXPECT(v, sim_file_size(w, &g, &size) == SIM_OK && size == 3);
    EXPECT(v, sim_file_truncate(w, &f, 6) == SIM_OK);
    EXPECT(v, sim_file_pread(w, &g, buf, sizeof buf, 0, &got) == SIM_OK && got == 6 &&
                  memcmp(buf, "hEL\0\0\0", 6) == 0);
    EXPECT(v, sim_file_sync(w, &f) == SIM_OK);
    EXPECT(v, sim_file_datasync(w, &g) == SIM_OK);
    sim_file_close(w, &g);
    /* SIM_O_TRUNC empties the file for every handle. */
    EXPECT(v, sim_file_open(w, "d/f", SIM_O_TRUNC, &g) == SIM_OK);
    EXPECT(v, sim_file_size(w, &f, &size) == SIM_OK && size == 0);
    EXPECT(v, sim_file_pread(w, &f, buf, sizeof buf, 0, &got) == SIM_OK && got == 0);
    sim_file_close(w, &g);
    EXPECT(v, sim_file_open(w, "d/g", SIM_O_CREATE | SIM_O_EXCL, &g) == SIM_OK);
    sim_file_close(w, &g);
    /* A closed handle: every call says SIM_EBADF; closing it again is harmless. */
    sim_file dead = f;
    sim_file_close(w, &f);
    EXPECT(v, sim_file_pread(w, &dead, buf, sizeof buf, 0, &got) == SIM_EBADF);
    EXPECT(v, sim_file_pwrite(w, &dead, "x", 1, 0) == SIM_EBADF);
    EXPECT(v, sim_file_append(w, &dead, "x", 1, NULL) == SIM_EBADF);
    EXPECT(v, sim_file_sync(w, &dead) == SIM_EBADF);
    EXPECT(v, sim_file_datasync(w, &dead) == SIM_EBADF);
    EXPECT(v, sim_file_truncate(w, &dead, 0) == SIM_EBADF);
    EXPECT(v, sim_file_size(w, &dead, &size) == SIM_EBADF);
    sim_file_close(w, &dead);
    /* Bad paths and flags. */
    static const char *const bad[] = {"/a", "a//b", "a/./b", "..", "a/../b", ".", "", "a/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT(v, sim_file_open(w, bad[i], SIM_O_CREATE, &g) == SIM_EINVAL);
    }
    char longest[SIM_PATH_MAX + 2];
    memset(longest, 'p', sizeof longest);
    longest[SIM_PATH_MAX + 1] = '\0'; /* 256 characters */
    EXPECT(v, sim_file_open(w, longest, SIM_O_CREATE, &g) == SIM_EINVAL);
    longest[SIM_PATH_MAX] = '\0';     /* 255: the longest allowed */
    EXPECT(v, sim_file_open(w, longest, SIM_O_CREATE, &g) == SIM_OK);
    sim_file_close(w, &g);
    EXPECT(v, sim_file_open(w, "d/h", SIM_O_CREATE | 8, &g) == SIM_EINVAL);
    return SIM_OK;
}

/* Goal: the file semantics of the synchronous calls: SIM_ENOENT without SIM_O_CREATE,
 * SIM_EEXIST with SIM_O_EXCL, SIM_O_TRUNC empties; pwrite and pread round trip; a write past
 * the end leaves a hole of zeros; appends return increasing offsets; a read at or after the
 * end returns fewer or 0 bytes; truncation shrinks and grows with zeros; a closed handle is
 * SIM_EBADF everywhere; bad paths and flags are SIM_EINVAL, 255 characters is allowed.
 * Method: one blocking-pool job makes the calls and checks each result (basics_job). */
Test(disk, file_semantics_in_a_job)
{
    checks_in_job(1, basics_job, 46);
}

/* ---- 2. names -------------------------------------------------------------------------------- */

/* In a job: creates (or empties) path and writes text. */
static int put(sim_world *w, const char *path, const char *text)
{
    sim_file f;
    int rc = sim_file_open(w, path, SIM_O_CREATE | SIM_O_TRUNC, &f);
    if (rc == SIM_OK) rc = sim_file_pwrite(w, &f, text, strlen(text), 0);
    sim_file_close(w, &f);
    return rc;
}

/* In a job: path holds exactly text. */
static bool holds(sim_world *w, const char *path, const char *text)
{
    sim_file f;
    char buf[64];
    size_t got = 0;
    int rc = sim_file_open(w, path, 0, &f);
    if (rc == SIM_OK) rc = sim_file_pread(w, &f, buf, sizeof buf, 0, &got);
    sim_file_close(w, &f);
    return rc == SIM_OK && got == strlen(text) && memcmp(buf, text, got) == 0;
}

static bool missing(sim_world *w, const char *path)
{
    sim_file f;
    return sim_file_open(w, path, 0, &f) == SIM_ENOENT;
}

static bool entry_is(const sim_dir_entry *e, const char *name, bool is_dir, uint64_t size)
{
    return strcmp(e->name, name) == 0 && e->is_dir == is_dir && e->size == size;
}

/* Rename and unlink as reads see them, and an unlinked file kept by its handle. 21 checks. */
static int rename_unlink_checks(sim_world *w, verdict *v)
{
    EXPECT(v, put(w, "a/x", "xx") == SIM_OK);
    EXPECT(v, sim_disk_rename(w, "a/x", "b/y") == SIM_OK);
    EXPECT(v, missing(w, "a/x") && holds(w, "b/y", "xx"));
    /* Over an existing file: it is replaced. */
    EXPECT(v, put(w, "b/z", "zzz") == SIM_OK);
    EXPECT(v, sim_disk_rename(w, "b/y", "b/z") == SIM_OK);
    EXPECT(v, missing(w, "b/y") && holds(w, "b/z", "xx"));
    EXPECT(v, sim_disk_rename(w, "b/y", "b/w") == SIM_ENOENT);
    EXPECT(v, sim_disk_rename(w, "b/z", "b/z") == SIM_OK && holds(w, "b/z", "xx"));
    EXPECT(v, sim_disk_rename(w, "/b/z", "b/q") == SIM_EINVAL);
    EXPECT(v, sim_disk_rename(w, "b/z", "b//q") == SIM_EINVAL && holds(w, "b/z", "xx"));
    EXPECT(v, sim_disk_unlink(w, "b/z") == SIM_OK && missing(w, "b/z"));
    EXPECT(v, sim_disk_unlink(w, "b/z") == SIM_ENOENT);
    EXPECT(v, sim_disk_unlink(w, "b/") == SIM_EINVAL);
    /* Unlinked while open: the handle still reads and writes the file until it is closed, and
     * a new file under the name is another file. */
    sim_file h;
    uint8_t buf[16];
    size_t got = 0;
    uint64_t size = 0;
    EXPECT(v, put(w, "c/keep", "kept") == SIM_OK);
    EXPECT(v, sim_file_open(w, "c/keep", 0, &h) == SIM_OK);
    EXPECT(v, sim_disk_unlink(w, "c/keep") == SIM_OK && missing(w, "c/keep"));
    EXPECT(v, sim_file_append(w, &h, "!", 1, NULL) == SIM_OK);
    EXPECT(v, put(w, "c/keep", "new") == SIM_OK);
    EXPECT(v, sim_file_pread(w, &h, buf, sizeof buf, 0, &got) == SIM_OK && got == 5 &&
                  memcmp(buf, "kept!", 5) == 0 && sim_file_size(w, &h, &size) == SIM_OK &&
                  size == 5);
    EXPECT(v, sim_disk_unlink(w, "c/keep") == SIM_OK);
    sim_file_close(w, &h);
    EXPECT(v, missing(w, "c/keep"));
    return SIM_OK;
}

/* Listings: sorted, directories marked, sizes; partial output; the root; bad paths.
 * 10 checks. */
static int listing_checks(sim_world *w, verdict *v)
{
    static const char *const files[][2] = {{"l/b", "bbb"},  {"l/a", "aaaaa"}, {"l/sub/y", ""},
                                           {"l/sub/x", "x"}, {"l/c/deep/z", "z"}, {"l/zz", "zz"},
                                           {"top", "t"}};
    bool made = true;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        made = made && put(w, files[i][0], files[i][1]) == SIM_OK;
    }
    EXPECT(v, made);
    sim_dir_entry e[8];
    uint32_t count = 99;
    EXPECT(v, sim_disk_list(w, "l", e, 8, &count) == SIM_OK && count == 5);
    EXPECT(v, entry_is(&e[0], "a", false, 5) && entry_is(&e[1], "b", false, 3) &&
                  entry_is(&e[2], "c", true, 0) && entry_is(&e[3], "sub", true, 0) &&
                  entry_is(&e[4], "zz", false, 2));
    memset(e, 0, sizeof e);
    EXPECT(v, sim_disk_list(w, "l", e, 2, &count) == SIM_OK && count == 5 &&
                  entry_is(&e[0], "a", false, 5) && entry_is(&e[1], "b", false, 3) &&
                  e[2].name[0] == '\0');
    EXPECT(v, sim_disk_list(w, "l/sub", e, 8, &count) == SIM_OK && count == 2 &&
                  entry_is(&e[0], "x", false, 1) && entry_is(&e[1], "y", false, 0));
    /* The root: a, b and c hold nothing any more (renamed and unlinked), so they are gone. */
    EXPECT(v, sim_disk_list(w, "", e, 8, &count) == SIM_OK && count == 2 &&
                  entry_is(&e[0], "l", true, 0) && entry_is(&e[1], "top", false, 1));
    EXPECT(v, sim_disk_list(w, "a", e, 8, &count) == SIM_OK && count == 0);
    EXPECT(v, sim_disk_list(w, "nowhere", e, 8, &count) == SIM_OK && count == 0);
    EXPECT(v, sim_disk_list(w, "/l", e, 8, &count) == SIM_EINVAL);
    EXPECT(v, sim_disk_list(w, "l/", e, 8, &count) == SIM_EINVAL);
    return SIM_OK;
}

static int names_job(sim_world *w, void *ctx)
{
    rename_unlink_checks(w, ctx);
    return listing_checks(w, ctx);
}

/* Goal: rename and unlink as reads see them: a rename moves the file (across directories too)
 * and replaces an existing target, a missing source is SIM_ENOENT, a rename onto itself
 * changes nothing, bad paths are SIM_EINVAL; an unlinked file is gone by name but stays
 * readable and writable through a handle opened before, until it is closed. A listing is
 * sorted by name, marks subdirectories, gives file sizes, counts every entry even when fewer
 * fit, and a directory is gone once nothing is in it.
 * Method: one job (names_job) renames, unlinks and lists, checking every step. */
Test(disk, rename_unlink_and_listing)
{
    checks_in_job(2, names_job, 31);
}

/* ---- 3. misuse ------------------------------------------------------------------------------- */

typedef struct misuse_rec {
    int open_rc;          /* the operation that opened m/f */
    int sync_rc[10];      /* the synchronous calls */
    int size_rc;
    uint64_t size;
    int list_rc;
    uint32_t count;       /* entries in m */
    bool done;
} misuse_rec;

typedef struct misuser {
    sim_co co;
    sim_file f;
    misuse_rec *rec;
} misuser;

/* Every synchronous call, from a task; then the instant calls, which are allowed. */
static void misuse_calls(sim_world *w, misuser *m)
{
    misuse_rec *r = m->rec;
    sim_file g;
    uint8_t b[4];
    size_t got = 0;
    r->sync_rc[0] = sim_file_open(w, "m/g", SIM_O_CREATE, &g);
    r->sync_rc[1] = sim_file_pread(w, &m->f, b, sizeof b, 0, &got);
    r->sync_rc[2] = sim_file_pwrite(w, &m->f, "abc", 3, 0);
    r->sync_rc[3] = sim_file_append(w, &m->f, "abc", 3, NULL);
    r->sync_rc[4] = sim_file_sync(w, &m->f);
    r->sync_rc[5] = sim_file_datasync(w, &m->f);
    r->sync_rc[6] = sim_file_truncate(w, &m->f, 10);
    r->sync_rc[7] = sim_disk_rename(w, "m/f", "m/h");
    r->sync_rc[8] = sim_disk_unlink(w, "m/f");
    r->sync_rc[9] = sim_disk_sync_dir(w, "m");
    sim_file_close(w, &g);
    r->size_rc = sim_file_size(w, &m->f, &r->size);
    sim_dir_entry e[4];
    r->list_rc = sim_disk_list(w, "m", e, 4, &r->count);
    if (r->count != 1 || strcmp(e[0].name, "f") != 0) r->count = 99;
}

static int misuser_poll(void *state, sim_world *w)
{
    misuser *m = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &m->co);
    SIM_AWAIT(rc, sim_disk_open_op("m/f", SIM_O_CREATE, &m->f));
    m->rec->open_rc = rc;
    misuse_calls(w, m);
    m->rec->done = true;
    SIM_END(SIM_OK);
}

/* Goal: the synchronous calls work only in blocking-pool jobs: from a task each returns
 * SIM_EMISUSE, records a misuse violation and does nothing (no file made, nothing written,
 * nothing renamed), while sim_file_size and sim_disk_list work there; operations need a node:
 * from a world-level task they return SIM_ENODE.
 * Method: a task on n1 opens m/f with an operation, then makes all ten synchronous calls and
 * lists m; a world-level scripter tries an open and a directory sync; the test itself (outside
 * any task) calls sim_file_open once more. 11 misuse violations in all. */
Test(disk, sync_calls_outside_jobs_and_ops_outside_nodes)
{
    sim_world *w = disk_world(3, NULL);
    sim_node_id n = disk_node(w, "n1");
    misuse_rec mr = {.open_rc = SIM_PENDING};
    misuser m = {.rec = &mr};
    test_spawn(w, "misuser", n, misuser_poll, NULL, &m, sizeof m);
    static const step world_steps[] = {
        {.kind = ST_OPEN, .path = "x", .flags = SIM_O_CREATE},
        {.kind = ST_SYNC_DIR, .path = ""},
        {.kind = ST_END},
    };
    script_rec sr = {0};
    spawn_scripter(w, nid(0), world_steps, &sr);
    test_run_ok(w);
    sim_file f;
    int outside_rc = sim_file_open(w, "y", SIM_O_CREATE, &f);
    uint32_t misuse = test_violations(w, SIM_VIOLATION_MISUSE);
    uint32_t all = sim_world_violation_count(w);
    sim_world_free(w);
    cr_assert(mr.done);
    cr_assert(eq(int, mr.open_rc, SIM_OK));
    for (int i = 0; i < 10; i++) {
        cr_assert(eq(int, mr.sync_rc[i], SIM_EMISUSE), "synchronous call %d", i);
    }
    cr_assert(eq(int, mr.size_rc, SIM_OK));
    cr_assert(eq(u64, mr.size, 0));                /* the pwrite and append did nothing */
    cr_assert(eq(int, mr.list_rc, SIM_OK));
    cr_assert(eq(u32, mr.count, 1));               /* m/f, not renamed; m/g not created */
    cr_assert(eq(u32, sr.done, 2));
    cr_assert(eq(int, sr.rc[0], SIM_ENODE));
    cr_assert(eq(int, sr.rc[1], SIM_ENODE));
    cr_assert(eq(int, outside_rc, SIM_EMISUSE));
    cr_assert(eq(u32, misuse, 11));
    cr_assert(eq(u32, all, 11));
}

/* ---- 4. latency ------------------------------------------------------------------------------ */

typedef struct clock_rec {
    uint64_t start;
    uint64_t after[5];   /* sim_now after open, pwrite, pread, fsync, directory sync */
    int rc;
} clock_rec;

static int timed_job(sim_world *w, void *ctx)
{
    clock_rec *c = ctx;
    sim_file f;
    uint8_t buf[100] = {0};
    size_t got = 0;
    c->start = sim_now(w);
    c->rc = sim_file_open(w, "j/f", SIM_O_CREATE, &f);
    c->after[0] = sim_now(w);
    if (c->rc == SIM_OK) c->rc = sim_file_pwrite(w, &f, buf, sizeof buf, 0);
    c->after[1] = sim_now(w);
    if (c->rc == SIM_OK) c->rc = sim_file_pread(w, &f, buf, sizeof buf, 0, &got);
    c->after[2] = sim_now(w);
    if (c->rc == SIM_OK) c->rc = sim_file_sync(w, &f);
    c->after[3] = sim_now(w);
    if (c->rc == SIM_OK) c->rc = sim_disk_sync_dir(w, "j");
    c->after[4] = sim_now(w);
    sim_file_close(w, &f);
    return c->rc;
}

static int idle_job(sim_world *w, void *ctx)
{
    (void)w;
    (void)ctx;
    return SIM_OK;
}

/* Goal: an operation completes, and takes effect, when its latency has passed: open, rename
 * and unlink after meta_latency, read after read_latency, write, append and truncate after
 * write_latency, fsync, fdatasync and directory sync after sync_latency; while a write or a
 * truncation is in flight, the file is as it was. In a job the same latencies are charged to
 * the job: sim_now inside moves by each, and the job's join completes that much later than
 * an idle job's.
 * Method: fixed latencies (meta 50 us, read 70 us, write 300 us, sync 2 ms) and a node whose
 * jobs take 10 us; a scripter measures each step; then an idle job and a job that opens,
 * writes, reads, fsyncs and syncs its directory. */
Test(disk, latency_of_operations_and_jobs)
{
    sim_world *w = disk_world(4, NULL);
    disk_config(w, (sim_disk_desc){.meta_latency = {50 * SIM_US, 50 * SIM_US},
                                   .read_latency = {70 * SIM_US, 70 * SIM_US},
                                   .write_latency = {300 * SIM_US, 300 * SIM_US},
                                   .sync_latency = {2 * SIM_MS, 2 * SIM_MS}});
    sim_node_id n = disk_node(w, "n1");
    static const step steps[] = {
        {.kind = ST_OPEN, .path = "lat/f", .flags = SIM_O_CREATE},
        {.kind = ST_WRITE, .len = 1000, .offset = 0, .byte = 7},
        {.kind = ST_APPEND, .len = 24, .byte = 8},
        {.kind = ST_READ, .len = 4096, .offset = 0},
        {.kind = ST_SYNC},
        {.kind = ST_DATASYNC},
        {.kind = ST_SYNC_DIR, .path = "lat"},
        {.kind = ST_TRUNCATE, .offset = 10},
        {.kind = ST_RENAME, .path = "lat/f", .path2 = "lat/g"},
        {.kind = ST_UNLINK, .path = "lat/g"},
        {.kind = ST_END},
    };
    static const uint64_t took[] = {50 * SIM_US, 300 * SIM_US, 300 * SIM_US, 70 * SIM_US,
                                    2 * SIM_MS,  2 * SIM_MS,   2 * SIM_MS,   300 * SIM_US,
                                    50 * SIM_US, 50 * SIM_US};
    script_rec r = {0};
    sim_join h = spawn_scripter(w, n, steps, &r);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h)), SIM_OK));
    cr_assert(eq(u32, r.done, 10));
    uint64_t prev = r.started_at;
    for (uint32_t i = 0; i < 10; i++) {
        cr_assert(eq(int, r.rc[i], SIM_OK), "step %u", i);
        cr_assert(eq(u64, r.at[i] - prev, took[i]), "step %u", i);
        prev = r.at[i];
    }
    cr_assert(eq(u64, r.size_started[1], 0));     /* the write is in flight */
    cr_assert(eq(u64, r.size_done[1], 1000));
    cr_assert(eq(u64, r.size_started[2], 1000));
    cr_assert(eq(u64, r.where[2], 1000));         /* the append's offset */
    cr_assert(eq(u64, r.got[3], 1024));
    cr_assert(eq(u64, r.size_started[7], 1024));  /* the truncation is in flight */
    cr_assert(eq(u64, r.size_done[7], 10));
    /* Jobs: 10 us of their own, plus what the disk charges. */
    uint64_t t0 = sim_now(w);
    cr_assert(eq(int, run_job(w, n, idle_job, NULL), SIM_OK));
    uint64_t idle = sim_now(w) - t0;
    clock_rec c = {0};
    uint64_t t1 = sim_now(w);
    cr_assert(eq(int, run_job(w, n, timed_job, &c), SIM_OK));
    uint64_t busy = sim_now(w) - t1;
    sim_world_free(w);
    cr_assert(eq(u64, idle, 10 * SIM_US));
    cr_assert(eq(u64, c.start, t1));
    static const uint64_t charged[] = {50 * SIM_US, 300 * SIM_US, 70 * SIM_US, 2 * SIM_MS,
                                       2 * SIM_MS};
    uint64_t at = c.start, total = 0;
    for (int i = 0; i < 5; i++) {
        cr_assert(eq(u64, c.after[i] - at, charged[i]), "call %d", i);
        at = c.after[i];
        total += charged[i];
    }
    cr_assert(eq(u64, busy, idle + total));
}

/* The virtual time each of TAIL_SYNCS fsyncs of one file takes, in a job. */
enum { TAIL_SYNCS = 400 };

typedef struct tail_rec {
    uint64_t took[TAIL_SYNCS];
} tail_rec;

static int fsyncs_job(sim_world *w, void *ctx)
{
    tail_rec *t = ctx;
    sim_file f;
    int rc = sim_file_open(w, "t/f", SIM_O_CREATE, &f);
    for (uint32_t i = 0; i < TAIL_SYNCS && rc == SIM_OK; i++) {
        uint64_t at = sim_now(w);
        rc = sim_file_sync(w, &f);
        t->took[i] = sim_now(w) - at;
    }
    sim_file_close(w, &f);
    return rc;
}

static int fsyncs_with_tail(uint64_t seed, uint64_t tail_ns, tail_rec *t)
{
    sim_world *w = disk_world(seed, NULL);
    disk_config(w, (sim_disk_desc){.sync_latency = {SIM_MS, SIM_MS}, .sync_tail_ns = tail_ns});
    sim_node_id n = disk_node(w, "n1");
    int rc = run_job(w, n, fsyncs_job, t);
    sim_world_free(w);
    return rc;
}

/* Goal: a latency's tail adds an exponential delay of the given mean, cut at 20 times it, to
 * each operation of its kind: with sync_latency 1 ms and sync_tail 4 ms every fsync takes
 * 1 ms to 81 ms, their extra time averages 3 to 5 ms over 400 fsyncs, and more than 20 take
 * over 10 ms (an extra over 9 ms: e^-2.25 of them, about 42 expected); without a tail each
 * takes 1 ms exactly.
 * Method: a job times 400 fsyncs of one file (fsyncs_with_tail), for two seeds. */
Test(disk, latency_tail_is_exponential)
{
    static tail_rec t;
    for (uint64_t seed = 21; seed <= 22; seed++) {
        cr_assert(eq(int, fsyncs_with_tail(seed, 4 * SIM_MS, &t), SIM_OK));
        uint64_t extra = 0;
        uint32_t slow = 0;
        for (uint32_t i = 0; i < TAIL_SYNCS; i++) {
            cr_assert(le(u64, SIM_MS, t.took[i]), "fsync %u took %llu ns", i,
                      (unsigned long long)t.took[i]);
            cr_assert(le(u64, t.took[i], 81 * SIM_MS), "fsync %u took %llu ns", i,
                      (unsigned long long)t.took[i]);
            extra += t.took[i] - SIM_MS;
            if (t.took[i] > 10 * SIM_MS) slow++;
        }
        uint64_t mean = extra / TAIL_SYNCS;
        cr_assert(le(u64, 3 * SIM_MS, mean), "seed %llu: mean extra %llu ns",
                  (unsigned long long)seed, (unsigned long long)mean);
        cr_assert(le(u64, mean, 5 * SIM_MS), "seed %llu: mean extra %llu ns",
                  (unsigned long long)seed, (unsigned long long)mean);
        cr_assert(lt(u32, 20, slow), "seed %llu: only %u fsyncs over 10 ms",
                  (unsigned long long)seed, slow);
    }
    cr_assert(eq(int, fsyncs_with_tail(21, 0, &t), SIM_OK));
    for (uint32_t i = 0; i < TAIL_SYNCS; i++) cr_assert(eq(u64, t.took[i], SIM_MS));
}

/* ---- 5. writes not synced -------------------------------------------------------------------- */

typedef enum seen_kind { SEEN_WHOLE, SEEN_NONE, SEEN_SECTORS, SEEN_OTHER } seen_kind;

/* What a crash left of the 1,000-byte patterned write at offset 0 of an empty file. */
static seen_kind seen_of(const file_io *io)
{
    if (io->rc != SIM_OK) return SEEN_OTHER;
    if (io->size == 0) return SEEN_NONE;
    if (io->size != 1000 || io->got != 1000) return SEEN_OTHER;
    if (is_pattern(io->buf, 0, 1000)) return SEEN_WHOLE;
    /* Torn: each sector (0..511, 512..999) whole or zeros. */
    bool s0 = is_pattern(io->buf, 0, 512) || all_eq(io->buf, 512, 0);
    bool s1 = is_pattern(io->buf + 512, 512, 488) || all_eq(io->buf + 512, 488, 0);
    return s0 && s1 ? SEEN_SECTORS : SEEN_OTHER;
}

typedef struct unsynced_out {
    int rc;              /* the first failed step */
    seen_kind seen;
    uint32_t outcome;    /* of the one disk-crash event; 0 if there is not exactly one */
} unsynced_out;

/* wal/log is durable and empty; a job writes 1,000 patterned bytes without fsync; the node
 * crashes; a job reads the file back. */
static unsynced_out unsynced_run(uint64_t seed, const sim_disk_desc *model)
{
    unsynced_out out = {0};
    disk_tally t = {0};
    sim_world *w = disk_world(seed, &t);
    if (model != NULL) disk_config(w, *model);
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {"wal/log"}, .dirs = {"wal"}};
    write_ctx wr = {.path = "wal/log", .len = 1000};
    static file_io io;
    io = (file_io){.path = "wal/log"};
    out.rc = run_job(w, n, make_job, &m);
    if (out.rc == SIM_OK) out.rc = run_job(w, n, write_job, &wr);
    crash_restart(w, n);
    if (out.rc == SIM_OK) out.rc = run_job(w, n, read_job, &io);
    sim_world_free(w);
    out.seen = seen_of(&io);
    if (t.ncrash == 1 && ev_mid(t.crash_b[0]) == CR_WRITE && ev_len(t.crash_b[0]) == 1000) {
        out.outcome = ev_top(t.crash_b[0]);
    }
    return out;
}

/* Synced 1,000 bytes of 0x5a, then 500 more not synced: the first 1,000 survive. */
static bool synced_survives(uint64_t seed, uint32_t *crash_events)
{
    disk_tally t = {0};
    sim_world *w = disk_world(seed, &t);
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {"wal/log"}, .dirs = {"wal"}, .len = 1000, .byte = 0x5a};
    write_ctx more = {.path = "wal/log", .offset = 1000, .len = 500, .byte = 0xee};
    static file_io io;
    io = (file_io){.path = "wal/log"};
    int rc = run_job(w, n, make_job, &m);
    if (rc == SIM_OK) rc = run_job(w, n, write_job, &more);
    crash_restart(w, n);
    if (rc == SIM_OK) rc = run_job(w, n, read_job, &io);
    sim_world_free(w);
    *crash_events = t.ncrash;
    return rc == SIM_OK && io.rc == SIM_OK && io.got >= 1000 && all_eq(io.buf, 1000, 0x5a);
}

/* Goal: a write that was never synced may be lost on a crash: with keep 0 and torn 0 it is
 * always lost; under the default model (keep 1/2, torn 1/4) it survives whole in some seeds
 * and is lost in others, and what a seed shows matches its disk-crash event (kept: the whole
 * write, lost: nothing, torn: each sector whole or zeros, at the write's full length). A write
 * that was synced, in a file whose directory was synced, survives every seed.
 * Method: wal/log is made durable and empty; a job writes 1,000 bytes without fsync; crash,
 * restart, read back. 200 seeds under the default model (expected: 100 kept, 50 torn, 50 lost;
 * "some" means at least 1 here). Then 200 seeds of a synced write followed by an append that
 * is not synced. */
Test(disk, unsynced_write_lost_synced_write_survives)
{
    sim_disk_desc lose = {.crash_keep = R0, .crash_torn = R0};
    unsynced_out none = unsynced_run(500, &lose);
    cr_assert(eq(int, none.rc, SIM_OK));
    cr_assert(eq(int, none.seen, SEEN_NONE));
    cr_assert(eq(u32, none.outcome, SIM_DISK_LOST));
    uint32_t count[4] = {0}, outcomes[4] = {0}, mismatches = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        unsynced_out o = unsynced_run(seed, NULL);
        cr_assert(eq(int, o.rc, SIM_OK), "seed %llu", (unsigned long long)seed);
        count[o.seen]++;
        outcomes[o.outcome & 3]++;
        bool match = (o.outcome == SIM_DISK_KEPT && o.seen == SEEN_WHOLE) ||
                     (o.outcome == SIM_DISK_LOST && o.seen == SEEN_NONE) ||
                     (o.outcome == SIM_DISK_TORN && o.seen != SEEN_NONE && o.seen != SEEN_OTHER);
        if (!match) mismatches++;
    }
    cr_assert(eq(u32, count[SEEN_OTHER], 0));
    cr_assert(eq(u32, mismatches, 0), "kept/lost/torn events %u/%u/%u, seen whole %u, none %u, "
              "in sectors %u", outcomes[SIM_DISK_KEPT], outcomes[SIM_DISK_LOST],
              outcomes[SIM_DISK_TORN], count[SEEN_WHOLE], count[SEEN_NONE], count[SEEN_SECTORS]);
    cr_assert(lt(u32, 0, outcomes[SIM_DISK_KEPT]));
    cr_assert(lt(u32, 0, outcomes[SIM_DISK_LOST]));
    cr_assert(lt(u32, 0, outcomes[SIM_DISK_TORN]));
    uint32_t survived = 0, crash_events = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint32_t events = 0;
        if (synced_survives(seed, &events)) survived++;
        crash_events += events;
    }
    cr_assert(eq(u32, survived, 200));
    cr_assert(eq(u32, crash_events, 200)); /* one per seed: the append that was not synced */
}

/* ---- 6. directory durability ----------------------------------------------------------------- */

/* d/f is created, written (100 bytes of 0x61) and fsynced, and d synced if asked; crash. */
static probe created_after_crash(uint64_t seed, sim_disk_desc model, bool sync_dir, int *rc)
{
    sim_world *w = disk_world(seed, NULL);
    disk_config(w, model);
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {"d/f"}, .dirs = {sync_dir ? "d" : NULL}, .len = 100, .byte = 0x61};
    probe p = {.paths = {"d/f"}};
    *rc = run_job(w, n, make_job, &m);
    crash_restart(w, n);
    if (*rc == SIM_OK) *rc = run_job(w, n, probe_job, &p);
    sim_world_free(w);
    return p;
}

/* from (100 bytes of 0x61, durable) is renamed to `to` and `sync` synced; crash. */
static probe renamed_after_crash(uint64_t seed, sim_ratio dir_keep, const char *from,
                                 const char *to, const char *sync, int *rc)
{
    sim_world *w = disk_world(seed, NULL);
    disk_config(w, (sim_disk_desc){.dir_keep = dir_keep});
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {from}, .dirs = {"a", "b", "d"}, .len = 100, .byte = 0x61};
    rename_ctx r = {.from = {from}, .to = {to}, .sync = sync};
    probe p = {.paths = {from, to}};
    *rc = run_job(w, n, make_job, &m);
    if (*rc == SIM_OK) *rc = run_job(w, n, rename_job, &r);
    if (*rc == SIM_OK && !r.seen) *rc = SIM_EINVAL;
    crash_restart(w, n);
    if (*rc == SIM_OK) *rc = run_job(w, n, probe_job, &p);
    sim_world_free(w);
    return p;
}

static bool is_file(const probe *p, uint32_t i)
{
    return p->rc[i] == SIM_OK && p->size[i] == 100 && p->byte[i] == 0x61;
}

/* Goal: creations and renames are durable only once their directory is synced. A file
 * created, written and fsynced whose directory was never synced vanishes on a crash with
 * dir_keep 0 (SIM_ENOENT after restart) and survives with dir_keep 1; once its directory is
 * synced it survives with dir_keep 0. A rename not followed by a sync of the directory it
 * renames into is undone by a crash with dir_keep 0 (the old name is back with the data, the
 * new name is gone), even when the directory it renamed from was synced; synced, it stays.
 * Method: one world per case, the file made in a job, crash, restart, a job probes the names.
 * The halves of renames are covered by the next test. */
Test(disk, directory_sync_makes_creations_and_renames_durable)
{
    int rc;
    probe p = created_after_crash(61, (sim_disk_desc){.dir_keep = R0}, false, &rc);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(eq(int, p.rc[0], SIM_ENOENT));
    p = created_after_crash(61, (sim_disk_desc){.dir_keep = R1}, false, &rc);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(is_file(&p, 0));
    p = created_after_crash(61, (sim_disk_desc){.dir_keep = R0}, true, &rc);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(is_file(&p, 0));
    sim_ratio never = R0;
    p = renamed_after_crash(62, never, "d/old", "d/new", NULL, &rc);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(is_file(&p, 0), "the old name is not back: open %s", sim_result_name(p.rc[0]));
    cr_assert(eq(int, p.rc[1], SIM_ENOENT));
    p = renamed_after_crash(62, never, "d/old", "d/new", "d", &rc);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(eq(int, p.rc[0], SIM_ENOENT));
    cr_assert(is_file(&p, 1));
    /* Across directories: the rename belongs to the directory it renames into. */
    p = renamed_after_crash(63, never, "a/old", "b/new", "a", &rc);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(is_file(&p, 0));
    cr_assert(eq(int, p.rc[1], SIM_ENOENT));
    p = renamed_after_crash(63, never, "a/old", "b/new", "b", &rc);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(eq(int, p.rc[0], SIM_ENOENT));
    cr_assert(is_file(&p, 1));
}

/* Creates a (empty, closed), unlinks it, then creates b with 4 bytes of 0x42, fsynced; no
 * directory is synced, so the three directory operations are pending. */
static int unlinked_then_other_job(sim_world *w, void *ctx)
{
    (void)ctx;
    sim_file f;
    int rc = sim_file_open(w, "a", SIM_O_CREATE, &f);
    sim_file_close(w, &f);
    if (rc == SIM_OK) rc = sim_disk_unlink(w, "a");
    if (rc == SIM_OK) rc = sim_file_open(w, "b", SIM_O_CREATE, &f);
    const uint8_t four[4] = {0x42, 0x42, 0x42, 0x42};
    if (rc == SIM_OK) rc = sim_file_pwrite(w, &f, four, 4, 0);
    if (rc == SIM_OK) rc = sim_file_sync(w, &f);
    sim_file_close(w, &f);
    return rc;
}

/* Goal: a pending creation keeps its file alive until the crash resolves it, even once its
 * name is unlinked: when the crash keeps the creation and loses the unlink, the name comes
 * back as the file it was created as (empty), never as another file (found writing
 * disk_sim's assertions: the unlinked file's inode was freed while the pending creation still
 * named it, and reused by the next file, so `a` came back holding b's bytes). Method: a is
 * created and unlinked, b created and written; crash with dir_keep 1/2 over 24 seeds (each
 * directory operation is kept or lost by its own draw); in every seed where a exists after
 * the restart it is empty, and b, where it exists, holds its bytes; and some seed kept a. */
Test(disk, pending_creation_keeps_its_file)
{
    uint32_t kept_a = 0;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        sim_world *w = disk_world(seed, NULL);
        disk_config(w, (sim_disk_desc){.dir_keep = RHALF});
        sim_node_id n = disk_node(w, "n1");
        int rc = run_job(w, n, unlinked_then_other_job, NULL);
        crash_restart(w, n);
        probe p = {.paths = {"a", "b"}};
        int prc = rc == SIM_OK ? run_job(w, n, probe_job, &p) : rc;
        sim_world_free(w);
        cr_assert(eq(int, rc, SIM_OK));
        cr_assert(eq(int, prc, SIM_OK));
        if (p.rc[0] == SIM_OK) {
            kept_a++;
            cr_assert(eq(u64, p.size[0], 0), "seed %llu: a came back with %llu bytes",
                      (unsigned long long)seed, (unsigned long long)p.size[0]);
        }
        if (p.rc[1] == SIM_OK) {
            cr_assert(eq(int, p.byte[1], 0x42), "seed %llu", (unsigned long long)seed);
        }
    }
    cr_assert(lt(u32, 0, kept_a));
}

/* a/x (100 bytes of 0x61, fsynced, a never synced) is renamed to b/y and b synced; crash. */
static probe created_renamed_after_crash(uint64_t seed, sim_ratio dir_keep, int *rc)
{
    sim_world *w = disk_world(seed, NULL);
    disk_config(w, (sim_disk_desc){.dir_keep = dir_keep});
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {"a/x"}, .len = 100, .byte = 0x61};
    rename_ctx r = {.from = {"a/x"}, .to = {"b/y"}, .sync = "b"};
    probe p = {.paths = {"a/x", "b/y"}};
    *rc = run_job(w, n, make_job, &m);
    if (*rc == SIM_OK) *rc = run_job(w, n, rename_job, &r);
    if (*rc == SIM_OK && !r.seen) *rc = SIM_EINVAL;
    crash_restart(w, n);
    if (*rc == SIM_OK) *rc = run_job(w, n, probe_job, &p);
    sim_world_free(w);
    return p;
}

/* Goal: syncing a directory also makes durable the earlier directory operations on the names
 * its own operations touch, as a journal commits in order: a file created in a directory that
 * is never synced, then renamed into one that is, exists after a crash under its new name
 * only, whether the crash keeps the pending operations left (dir_keep 1) or not (dir_keep 0).
 * Method: created_renamed_after_crash for both, over several seeds. */
Test(disk, directory_sync_commits_earlier_operations_on_its_names)
{
    for (uint64_t seed = 70; seed < 74; seed++) {
        for (uint32_t keep = 0; keep <= 1; keep++) {
            int rc;
            probe p = created_renamed_after_crash(seed, (sim_ratio){keep, 1}, &rc);
            cr_assert(eq(int, rc, SIM_OK));
            cr_assert(eq(int, p.rc[0], SIM_ENOENT), "seed %llu dir_keep %u: a/x came back",
                      (unsigned long long)seed, keep);
            cr_assert(is_file(&p, 1), "seed %llu dir_keep %u: b/y %s", (unsigned long long)seed,
                      keep, sim_result_name(p.rc[1]));
        }
    }
}

typedef struct halves_out {
    int rc;
    bool exactly_one[2];   /* per rename: exactly one of its names, with the data */
    bool renamed[2];       /* per rename: the new name survived */
    bool events_agree;     /* each rename's two halves share their outcome, which is what
                              the names show */
} halves_out;

/* Two durable files renamed (d/old -> d/new, a/old -> b/new), nothing synced; crash with
 * dir_keep 1/2. */
static halves_out halves_run(uint64_t seed)
{
    halves_out out = {0};
    disk_tally t = {0};
    sim_world *w = disk_world(seed, &t);
    disk_config(w, (sim_disk_desc){.dir_keep = RHALF});
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {"d/old", "a/old"}, .dirs = {"d", "a"}, .len = 100, .byte = 0x61};
    rename_ctx r = {.from = {"d/old", "a/old"}, .to = {"d/new", "b/new"}};
    probe p = {.paths = {"d/old", "d/new", "a/old", "b/new"}};
    out.rc = run_job(w, n, make_job, &m);
    if (out.rc == SIM_OK) out.rc = run_job(w, n, rename_job, &r);
    crash_restart(w, n);
    if (out.rc == SIM_OK) out.rc = run_job(w, n, probe_job, &p);
    sim_world_free(w);
    for (uint32_t i = 0; i < 2; i++) {
        /* the second file holds 0x62 (byte + its index) */
        int byte = 0x61 + (int)i;
        bool old_ok = p.rc[2 * i] == SIM_OK && p.size[2 * i] == 100 && p.byte[2 * i] == byte;
        bool new_ok = p.rc[2 * i + 1] == SIM_OK && p.size[2 * i + 1] == 100 &&
                      p.byte[2 * i + 1] == byte;
        bool old_gone = p.rc[2 * i] == SIM_ENOENT, new_gone = p.rc[2 * i + 1] == SIM_ENOENT;
        out.exactly_one[i] = (old_ok && new_gone) || (new_ok && old_gone);
        out.renamed[i] = new_ok;
    }
    /* Four events, a rename's link then its unlink. */
    out.events_agree = t.ncrash == 4;
    for (uint32_t i = 0; i < 2 && out.events_agree; i++) {
        uint64_t link = t.crash_b[2 * i], unlink = t.crash_b[2 * i + 1];
        uint32_t want = out.renamed[i] ? SIM_DISK_KEPT : SIM_DISK_LOST;
        out.events_agree = ev_mid(link) == CR_LINK && ev_mid(unlink) == CR_UNLINK &&
                           ev_top(link) == want && ev_top(unlink) == want;
    }
    return out;
}

/* Goal: the two halves of a rename (the new name's link and the old name's unlink) survive or
 * vanish together: after a crash with dir_keep 1/2 exactly one of the two names exists, with
 * the file's data, never both and never neither; over many seeds both outcomes occur; the
 * disk-crash events give each half the same outcome, the one the names show.
 * Method: 200 seeds; per seed two durable files are renamed, one within its directory and one
 * into another directory, with no directory sync; crash, restart, probe the four names. */
Test(disk, rename_halves_survive_together)
{
    uint32_t renamed[2] = {0}, kept_old[2] = {0};
    for (uint64_t seed = 1; seed <= 200; seed++) {
        halves_out o = halves_run(seed);
        cr_assert(eq(int, o.rc, SIM_OK), "seed %llu", (unsigned long long)seed);
        cr_assert(o.exactly_one[0] && o.exactly_one[1], "seed %llu", (unsigned long long)seed);
        cr_assert(o.events_agree, "seed %llu", (unsigned long long)seed);
        for (int i = 0; i < 2; i++) {
            if (o.renamed[i]) renamed[i]++;
            else kept_old[i]++;
        }
    }
    for (int i = 0; i < 2; i++) {
        cr_assert(lt(u32, 0, renamed[i]));
        cr_assert(lt(u32, 0, kept_old[i]));
    }
}

/* ---- 7. torn writes -------------------------------------------------------------------------- */

typedef struct torn_out {
    int rc;
    uint64_t size;
    bool outside_kept;    /* bytes 0..1023 and 5120..8191 still 0x55 */
    uint32_t written;     /* sectors of 1024..5119 all 0xAA */
    uint32_t old;         /* ... all 0x55 */
    uint32_t garbage;     /* ... other, with at least 400 bytes neither 0xAA nor 0x55 */
    uint32_t mixed;       /* ... anything else */
    bool event_torn;      /* one disk-crash event: the write, torn */
    bool synced_kept;     /* synced case: 1024..5119 all 0xAA */
    uint32_t tail_written, tail_zero;  /* synced case: sectors of 8192..12287, 0xCC or 0 */
} torn_out;

static void classify_sectors(const uint8_t *b, torn_out *o)
{
    for (uint32_t s = 2; s < 10; s++) {
        const uint8_t *p = b + s * 512;
        uint32_t neither = 0;
        for (int i = 0; i < 512; i++) neither += p[i] != 0xAA && p[i] != 0x55;
        if (all_eq(p, 512, 0xAA)) o->written++;
        else if (all_eq(p, 512, 0x55)) o->old++;
        else if (neither >= 400) o->garbage++;
        else o->mixed++;
    }
}

/* t: 8,192 durable bytes of 0x55. A pending write of 4,096 bytes of 0xAA at 1,024 (with
 * `synced`: that write fsynced, then 4,096 bytes of 0xCC at 8,192 pending); crash with keep 0,
 * torn 1 and the given garbage probability. */
static torn_out torn_run(uint64_t seed, sim_ratio garbage, bool synced)
{
    torn_out o = {0};
    disk_tally t = {0};
    sim_world *w = disk_world(seed, &t);
    disk_config(w, (sim_disk_desc){.sector = 512, .crash_keep = R0, .crash_torn = R1,
                                   .torn_garbage = garbage});
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {"t"}, .dirs = {""}, .len = 8192, .byte = 0x55};
    write_ctx aa = {.path = "t", .offset = 1024, .len = 4096, .byte = 0xAA, .fsync = synced};
    write_ctx cc = {.path = "t", .offset = 8192, .len = 4096, .byte = 0xCC};
    static file_io io;
    io = (file_io){.path = "t"};
    o.rc = run_job(w, n, make_job, &m);
    if (o.rc == SIM_OK) o.rc = run_job(w, n, write_job, &aa);
    if (o.rc == SIM_OK && synced) o.rc = run_job(w, n, write_job, &cc);
    crash_restart(w, n);
    if (o.rc == SIM_OK) o.rc = run_job(w, n, read_job, &io);
    sim_world_free(w);
    o.size = io.got;
    if (io.rc != SIM_OK || io.got < 8192) return o;
    o.outside_kept = all_eq(io.buf, 1024, 0x55) && all_eq(io.buf + 5120, 3072, 0x55);
    classify_sectors(io.buf, &o);
    o.synced_kept = all_eq(io.buf + 1024, 4096, 0xAA);
    for (uint32_t s = 16; s < 24 && io.got >= 12288; s++) {
        if (all_eq(io.buf + s * 512, 512, 0xCC)) o.tail_written++;
        if (all_eq(io.buf + s * 512, 512, 0)) o.tail_zero++;
    }
    uint64_t offset = synced ? 8192 : 1024;
    o.event_torn = t.ncrash == 1 && ev_top(t.crash_b[0]) == SIM_DISK_TORN &&
                   ev_mid(t.crash_b[0]) == CR_WRITE && ev_len(t.crash_b[0]) == 4096 &&
                   ev_file(t.crash_a[0]) == 1 && ev_offset(t.crash_a[0]) == offset;
    return o;
}

/* Goal: a torn write is torn at sector granularity: with keep 0 and torn 1, every 512-byte
 * sector a pending write of 0xAA covers holds after the crash either all 0xAA or all of what
 * was durable there (0x55), never a mix, and over many seeds both occur; bytes outside the
 * write keep their durable value; the disk-crash event says TORN for that write (file 1,
 * offset 1,024, 4,096 bytes). With torn_garbage 1 a sector not written holds garbage instead
 * (bytes that are neither), never the old bytes. A write that was synced never tears, while
 * the pending write after it does, and a torn write extends the file to its end.
 * Method: 32 seeds per case; t holds 8,192 durable bytes of 0x55 (synced, its directory too),
 * a job writes 4,096 bytes of 0xAA at 1,024 without fsync, crash, restart, read back. */
Test(disk, torn_writes_tear_at_sectors)
{
    uint32_t written = 0, old = 0, garbage = 0;
    for (uint64_t seed = 1; seed <= 32; seed++) {
        torn_out o = torn_run(seed, (sim_ratio)R0, false);
        cr_assert(eq(int, o.rc, SIM_OK));
        cr_assert(eq(u64, o.size, 8192));
        cr_assert(o.outside_kept, "seed %llu", (unsigned long long)seed);
        cr_assert(eq(u32, o.mixed + o.garbage, 0), "seed %llu", (unsigned long long)seed);
        cr_assert(o.event_torn, "seed %llu", (unsigned long long)seed);
        written += o.written;
        old += o.old;
    }
    cr_assert(lt(u32, 0, written));
    cr_assert(lt(u32, 0, old));
    written = 0;
    for (uint64_t seed = 1; seed <= 32; seed++) {
        torn_out o = torn_run(seed, (sim_ratio)R1, false);
        cr_assert(eq(int, o.rc, SIM_OK));
        cr_assert(o.outside_kept, "seed %llu", (unsigned long long)seed);
        cr_assert(eq(u32, o.old + o.mixed, 0), "seed %llu", (unsigned long long)seed);
        cr_assert(o.event_torn);
        written += o.written;
        garbage += o.garbage;
    }
    cr_assert(lt(u32, 0, written));
    cr_assert(lt(u32, 0, garbage));
    uint32_t tail_written = 0, tail_zero = 0;
    for (uint64_t seed = 1; seed <= 16; seed++) {
        torn_out o = torn_run(seed, (sim_ratio)R0, true);
        cr_assert(eq(int, o.rc, SIM_OK));
        cr_assert(eq(u64, o.size, 12288), "seed %llu", (unsigned long long)seed);
        cr_assert(o.synced_kept, "seed %llu", (unsigned long long)seed);
        cr_assert(o.outside_kept);
        cr_assert(eq(u32, o.tail_written + o.tail_zero, 8));
        cr_assert(o.event_torn);
        tail_written += o.tail_written;
        tail_zero += o.tail_zero;
    }
    cr_assert(lt(u32, 0, tail_written));
    cr_assert(lt(u32, 0, tail_zero));
}

/* ---- 8. a failed fsync ----------------------------------------------------------------------- */

typedef struct eio_rec {
    int rc[6];           /* open, write A, fsync, fsync again, write B, fsync */
    bool a_seen;         /* reads saw A after the failed fsync */
} eio_rec;

static int fsync_eio_job(sim_world *w, void *ctx)
{
    eio_rec *r = ctx;
    uint8_t a[100], b[100], buf[200];
    size_t got = 0;
    memset(a, 0xA1, sizeof a);
    memset(b, 0xB2, sizeof b);
    sim_file f;
    r->rc[0] = sim_file_open(w, "f", SIM_O_CREATE, &f);
    if (r->rc[0] == SIM_OK) r->rc[0] = sim_disk_sync_dir(w, "");
    r->rc[1] = sim_file_pwrite(w, &f, a, sizeof a, 0);
    r->rc[2] = sim_file_sync(w, &f);
    r->a_seen = sim_file_pread(w, &f, buf, sizeof buf, 0, &got) == SIM_OK && got == 100 &&
                all_eq(buf, 100, 0xA1);
    r->rc[3] = sim_file_sync(w, &f);
    r->rc[4] = sim_file_pwrite(w, &f, b, sizeof b, 100);
    r->rc[5] = sim_file_sync(w, &f);
    sim_file_close(w, &f);
    return SIM_OK;
}

/* Goal: a failed fsync drops the file's dirty data, as Linux does: the fsync returns SIM_EIO,
 * reads still see the data, the next fsync returns SIM_OK with nothing to write, and after a
 * crash that loses every pending write the data is not there; data written after the failed
 * fsync and synced is there.
 * Method: disk/fsync/eio fails its first hit. A job creates f (directory synced), writes A
 * (100 x 0xA1) at 0, fsyncs (SIM_EIO), reads, fsyncs again, writes B (100 x 0xB2) at 100 and
 * fsyncs. Crash with keep 0, torn 0: f holds 100 zeros then B, and the crash had no pending
 * write to resolve (A was dropped). */
Test(disk, failed_fsync_drops_dirty_data)
{
    disk_tally t = {0};
    sim_world *w = disk_world(8, &t);
    disk_config(w, (sim_disk_desc){.crash_keep = R0, .crash_torn = R0});
    sim_node_id n = disk_node(w, "n1");
    cr_assert(eq(int, sim_fault_fail_at(w, "disk/fsync/eio", 0), SIM_OK));
    eio_rec r = {0};
    static file_io io;
    io = (file_io){.path = "f"};
    int rc = run_job(w, n, fsync_eio_job, &r);
    crash_restart(w, n);
    int read_rc = run_job(w, n, read_job, &io);
    uint32_t faults = sim_world_fault_count(w);
    sim_world_free(w);
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(eq(int, r.rc[0], SIM_OK));
    cr_assert(eq(int, r.rc[1], SIM_OK));
    cr_assert(eq(int, r.rc[2], SIM_EIO));
    cr_assert(r.a_seen);
    cr_assert(eq(int, r.rc[3], SIM_OK));
    cr_assert(eq(int, r.rc[4], SIM_OK));
    cr_assert(eq(int, r.rc[5], SIM_OK));
    cr_assert(eq(u32, faults, 1));
    cr_assert(eq(u64, t.ops[SIM_DISK_SYNC], 3));
    cr_assert(eq(u64, t.op_errors[SIM_DISK_SYNC], 1));
    cr_assert(eq(int, read_rc, SIM_OK));
    cr_assert(eq(int, io.rc, SIM_OK));
    cr_assert(eq(u64, io.got, 200));
    cr_assert(all_eq(io.buf, 100, 0), "A survived the crash: its fsync failed");
    cr_assert(all_eq(io.buf + 100, 100, 0xB2));
    cr_assert(eq(u32, t.ncrash, 0));
    cr_assert(eq(u32, crash_count(&t, CR_WRITE, SIM_DISK_LOST), 0));
}

/* ---- 9. other faults, capacity, corruption --------------------------------------------------- */

/* disk/write/eio fails write 1, disk/write/enospc the next write it reaches, disk/read/eio
 * the first read. 12 checks. */
static int write_faults_job(sim_world *w, void *ctx)
{
    verdict *v = ctx;
    sim_file f;
    char buf[32];
    size_t got = 99;
    uint64_t size = 0, at = 0;
    EXPECT(v, sim_file_open(w, "f", SIM_O_CREATE, &f) == SIM_OK);
    EXPECT(v, sim_file_pwrite(w, &f, "hello", 5, 0) == SIM_OK);
    EXPECT(v, sim_file_pwrite(w, &f, "HELLO!", 6, 0) == SIM_EIO);
    EXPECT(v, sim_file_size(w, &f, &size) == SIM_OK && size == 5);
    EXPECT(v, sim_file_append(w, &f, "world", 5, &at) == SIM_ENOSPC);
    EXPECT(v, sim_file_size(w, &f, &size) == SIM_OK && size == 5);
    EXPECT(v, sim_file_append(w, &f, "world", 5, &at) == SIM_OK && at == 5);
    EXPECT(v, sim_file_pread(w, &f, buf, sizeof buf, 0, &got) == SIM_EIO);
    EXPECT(v, got == 0);
    EXPECT(v, sim_file_pread(w, &f, buf, sizeof buf, 0, &got) == SIM_OK && got == 10 &&
                  memcmp(buf, "helloworld", 10) == 0);
    EXPECT(v, sim_file_sync(w, &f) == SIM_OK);
    sim_file_close(w, &f);
    EXPECT(v, sim_fault_hits(w, "disk/write/eio") == 4);
    return SIM_OK;
}

/* Capacity 10,000 bytes per node. 16 checks. */
static int capacity_job(sim_world *w, void *ctx)
{
    verdict *v = ctx;
    static uint8_t buf[10000];
    sim_file a, b;
    uint64_t size = 0;
    EXPECT(v, sim_file_open(w, "a", SIM_O_CREATE, &a) == SIM_OK);
    EXPECT(v, sim_file_open(w, "b", SIM_O_CREATE, &b) == SIM_OK);
    EXPECT(v, sim_file_pwrite(w, &a, buf, 8000, 0) == SIM_OK);
    EXPECT(v, sim_file_pwrite(w, &a, buf, 4000, 8000) == SIM_ENOSPC);
    EXPECT(v, sim_file_size(w, &a, &size) == SIM_OK && size == 8000);
    EXPECT(v, sim_file_pwrite(w, &a, buf, 4000, 4000) == SIM_OK);  /* within the size */
    EXPECT(v, sim_file_pwrite(w, &a, buf, 2000, 8000) == SIM_OK);  /* exactly full */
    EXPECT(v, sim_file_append(w, &b, buf, 1, NULL) == SIM_ENOSPC); /* per node, not file */
    EXPECT(v, sim_file_truncate(w, &a, 10001) == SIM_ENOSPC);
    EXPECT(v, sim_file_truncate(w, &a, 9000) == SIM_OK);
    EXPECT(v, sim_file_append(w, &b, buf, 1000, NULL) == SIM_OK);
    EXPECT(v, sim_file_append(w, &b, buf, 1, NULL) == SIM_ENOSPC);
    sim_file_close(w, &a);
    EXPECT(v, sim_disk_unlink(w, "a") == SIM_OK);
    /* Its 9,000 bytes count until the unlink is durable: a crash could bring a back. */
    EXPECT(v, sim_file_append(w, &b, buf, 9000, NULL) == SIM_ENOSPC);
    EXPECT(v, sim_disk_sync_dir(w, "") == SIM_OK);                  /* frees them */
    EXPECT(v, sim_file_append(w, &b, buf, 9000, NULL) == SIM_OK);
    sim_file_close(w, &b);
    return SIM_OK;
}

/* Writes 4,096 patterned bytes, fsyncs, reads them back. */
static int corrupt_job(sim_world *w, void *ctx)
{
    bool *read_ok = ctx;
    uint8_t data[4096], buf[4096];
    size_t got = 0;
    for (uint32_t i = 0; i < sizeof data; i++) data[i] = pattern(i);
    sim_file f;
    int rc = sim_file_open(w, "c", SIM_O_CREATE, &f);
    if (rc == SIM_OK) rc = sim_disk_sync_dir(w, "");
    if (rc == SIM_OK) rc = sim_file_pwrite(w, &f, data, sizeof data, 0);
    if (rc == SIM_OK) rc = sim_file_sync(w, &f);
    if (rc == SIM_OK) rc = sim_file_pread(w, &f, buf, sizeof buf, 0, &got);
    *read_ok = rc == SIM_OK && got == sizeof buf && memcmp(buf, data, sizeof buf) == 0;
    sim_file_close(w, &f);
    return rc;
}

/* Writes and truncations past the largest file (4 GiB), each refused; the file unchanged. */
static int huge_job(sim_world *w, void *ctx)
{
    verdict *v = ctx;
    sim_file f;
    EXPECT(v, sim_file_open(w, "big", SIM_O_CREATE, &f) == SIM_OK);
    const uint8_t four[4] = {1, 2, 3, 4};
    /* offset + len wraps around 2^64: once written through a wild pointer */
    EXPECT(v, sim_file_pwrite(w, &f, four, 4, UINT64_MAX - 1) == SIM_EINVAL);
    EXPECT(v, sim_file_pwrite(w, &f, four, 4, (1ull << 32) - 3) == SIM_EINVAL);
    EXPECT(v, sim_file_truncate(w, &f, (1ull << 32) + 1) == SIM_EINVAL);
    EXPECT(v, sim_file_truncate(w, &f, UINT64_MAX) == SIM_EINVAL);
    uint64_t size = 1;
    EXPECT(v, sim_file_size(w, &f, &size) == SIM_OK);
    EXPECT(v, size == 0);
    /* Up to the limit is fine (a hole of a megabyte, then four bytes). */
    EXPECT(v, sim_file_pwrite(w, &f, four, 4, 1u << 20) == SIM_OK);
    EXPECT(v, sim_file_size(w, &f, &size) == SIM_OK);
    EXPECT(v, size == (1u << 20) + 4);
    sim_file_close(w, &f);
    return SIM_OK;
}

/* Goal: a file never grows past the largest the simulated disk holds (4 GiB): a write whose
 * end (offset + len, which could wrap around 2^64 and was then written through a wild
 * pointer: found writing disk_sim's assertions) or a truncation past it is SIM_EINVAL, and
 * changes nothing; host memory is never what refuses it. Method: a job writes at 2^64 - 2 and
 * just past 4 GiB, truncates past it, then writes at 1 MiB. */
Test(disk, writes_past_the_largest_file_are_refused)
{
    sim_world *w = disk_world(3, NULL);
    sim_node_id n = disk_node(w, "n1");
    verdict v = {0};
    int rc = run_job(w, n, huge_job, &v);
    sim_world_free(w);
    cr_assert(eq(int, rc, SIM_OK));
    verdict_ok(&v, 10);
}

/* Goal: the fault points: disk/write/eio fails a write with SIM_EIO and writes nothing,
 * disk/write/enospc fails one with SIM_ENOSPC and writes nothing, disk/read/eio fails a read
 * with SIM_EIO and reads nothing; then the calls work again. A capacity of 10,000 bytes per
 * node refuses writes and truncations that would grow the node's files past it (SIM_ENOSPC),
 * allows overwrites within the size and filling it exactly, counts every file of the node,
 * not other nodes, and gets space back from an unlinked file once the unlink is durable.
 * disk/corrupt at probability 1
 * damages exactly one byte of every sector as it becomes durable: reads before the crash see
 * the right bytes, after a crash and restart every sector differs in one byte.
 * Method: fail_at on the three points (write/eio at its hit 1, write/enospc at its hit 1,
 * read/eio at its hit 0) and one job; a world with capacity 10,000 and two nodes; a world
 * with disk/corrupt set to 1/1, a job that writes and fsyncs 4,096 bytes, crash, read back. */
Test(disk, fault_points_capacity_and_corruption)
{
    sim_world *w = disk_world(9, NULL);
    sim_node_id n = disk_node(w, "n1");
    cr_assert(eq(int, sim_fault_fail_at(w, "disk/write/eio", 1), SIM_OK));
    cr_assert(eq(int, sim_fault_fail_at(w, "disk/write/enospc", 1), SIM_OK));
    cr_assert(eq(int, sim_fault_fail_at(w, "disk/read/eio", 0), SIM_OK));
    verdict faults = {0};
    int rc = run_job(w, n, write_faults_job, &faults);
    uint32_t fired = sim_world_fault_count(w);
    sim_world_free(w);
    cr_assert(eq(int, rc, SIM_OK));
    verdict_ok(&faults, 12);
    cr_assert(eq(u32, fired, 3));

    w = disk_world(9, NULL);
    disk_config(w, (sim_disk_desc){.capacity = 10000});
    n = disk_node(w, "n1");
    sim_node_id n2 = disk_node(w, "n2");
    verdict cap = {0}, cap2 = {0};
    int rc1 = run_job(w, n, capacity_job, &cap);
    int rc2 = run_job(w, n2, capacity_job, &cap2);
    sim_world_free(w);
    cr_assert(eq(int, rc1, SIM_OK));
    cr_assert(eq(int, rc2, SIM_OK));
    verdict_ok(&cap, 16);
    verdict_ok(&cap2, 16);

    w = disk_world(9, NULL);
    n = disk_node(w, "n1");
    cr_assert(eq(int, sim_fault_set(w, "disk/corrupt", (sim_ratio){1, 1}), SIM_OK));
    bool read_ok = false;
    static file_io io;
    io = (file_io){.path = "c"};
    rc1 = run_job(w, n, corrupt_job, &read_ok);
    crash_restart(w, n);
    rc2 = run_job(w, n, read_job, &io);
    sim_world_free(w);
    cr_assert(eq(int, rc1, SIM_OK));
    cr_assert(read_ok, "reads before the crash must see what was written");
    cr_assert(eq(int, rc2, SIM_OK));
    cr_assert(eq(u64, io.got, 4096));
    for (uint32_t s = 0; s < 8; s++) {
        uint32_t diff = 0;
        for (uint32_t i = s * 512; i < (s + 1) * 512; i++) diff += io.buf[i] != pattern(i);
        cr_assert(eq(u32, diff, 1), "sector %u: %u bytes damaged", s, diff);
    }
}

/* ---- 10. operations dropped or cut short ----------------------------------------------------- */

typedef struct cut_out {
    int rc;
    int join_rc;                /* the scripter's result */
    script_rec rec;
    file_io io;
    uint64_t write_events;      /* disk-op events of writes */
    uint32_t crash_events;
} cut_out;

/* f exists, durable and empty. A scripter opens it and writes 100 bytes of 0x77 (write
 * latency 1 ms); 500 us into the write its task is aborted (or, with crash, its node
 * crashes and restarts); at 2 ms past that start a job reads f. */
static void cut_run(bool crash, cut_out *o)
{
    disk_tally t = {0};
    sim_world *w = disk_world(10, &t);
    disk_config(w, (sim_disk_desc){.meta_latency = {10 * SIM_US, 10 * SIM_US},
                                   .write_latency = {SIM_MS, SIM_MS},
                                   .sync_latency = {SIM_MS, SIM_MS},
                                   .crash_keep = R1, .crash_torn = R0, .dir_keep = R1});
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {"f"}, .dirs = {""}};
    static const step steps[] = {
        {.kind = ST_OPEN, .path = "f"},
        {.kind = ST_WRITE, .len = 100, .offset = 0, .byte = 0x77},
        {.kind = ST_END},
    };
    o->io = (file_io){.path = "f"};
    o->rc = run_job(w, n, make_job, &m);
    uint64_t t0 = sim_now(w);
    sim_join h = spawn_scripter(w, n, steps, &o->rec);
    cr_assert(eq(int, sim_world_run_until(w, t0 + 510 * SIM_US), SIM_OK));
    if (crash) {
        crash_restart(w, n);
    } else {
        sim_join_abort(w, &h);
    }
    o->join_rc = sim_block_on(w, sim_join_wait(&h));
    wait_until(w, t0 + 2 * SIM_MS);
    if (o->rc == SIM_OK) o->rc = run_job(w, n, read_job, &o->io);
    sim_world_free(w);
    o->write_events = t.ops[SIM_DISK_WRITE];
    o->crash_events = t.ncrash;
}

/* Goal: an operation in flight belongs to the device: dropped before its latency has passed
 * (its task aborted: the task drops the operation and releases its handle, with no drop
 * function) it still takes effect when its time comes, and a later read sees it; but if its
 * node crashes first it never happens: not visible after the restart even with keep 1 (there
 * was nothing pending to keep).
 * Method: cut_run, once with an abort and once with a crash, 500 us into a 1 ms write of
 * 100 bytes of 0x77; the file is read back 2 ms after the write started. The scripter's join
 * says how it ended (the drop mode of old). */
Test(disk, dropped_op_completes_crash_cancels)
{
    static cut_out dropped, crashed;
    cut_run(false, &dropped);
    cut_run(true, &crashed);
    cr_assert(eq(int, crashed.rc, SIM_OK));
    cr_assert(eq(u32, crashed.rec.done, 1));          /* the open, not the write */
    cr_assert(eq(int, crashed.join_rc, SIM_ECRASHED));
    cr_assert(eq(int, crashed.io.rc, SIM_OK));
    cr_assert(eq(u64, crashed.io.got, 0));
    cr_assert(eq(u64, crashed.write_events, 0));
    cr_assert(eq(u32, crashed.crash_events, 0));
    cr_assert(eq(int, dropped.rc, SIM_OK));
    cr_assert(eq(u32, dropped.rec.done, 1));
    cr_assert(eq(int, dropped.join_rc, SIM_ECANCELED));
    cr_assert(eq(int, dropped.io.rc, SIM_OK));
    cr_assert(eq(u64, dropped.write_events, 1), "the dropped write never ran");
    cr_assert(eq(u64, dropped.io.got, 100), "the dropped write did not take effect");
    cr_assert(all_eq(dropped.io.buf, 100, 0x77));
}

/* A task without a drop function (as DESIGN.md allows: drop functions release the user's own
 * memory) that opens f and reads or writes 100 bytes of it with operations. */
typedef struct bare {
    sim_co co;
    sim_file f;
    bool read;
    size_t got;
    uint8_t buf[100];
} bare;

static int bare_poll(void *state, sim_world *w)
{
    bare *b = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &b->co);
    SIM_AWAIT(rc, sim_disk_open_op("f", 0, &b->f));
    if (rc != SIM_OK) {
        SIM_RETURN(rc);
    }
    memset(b->buf, 0x55, sizeof b->buf);
    if (b->read) {
        SIM_AWAIT(rc, sim_disk_read_op(&b->f, b->buf, sizeof b->buf, 0, &b->got));
    } else {
        SIM_AWAIT(rc, sim_disk_write_op(&b->f, b->buf, sizeof b->buf, 0));
    }
    sim_file_close(w, &b->f);
    SIM_END(rc);
}

/* f holds 100 bytes of 0x66, durably; a bare task reads or writes it (1 ms), its node
 * crashes half-way and restarts; 2 ms later a job reads f back into io. */
static void bare_run(bool read, file_io *io, uint64_t *write_events)
{
    disk_tally t = {0};
    sim_world *w = disk_world(11, &t);
    disk_config(w, (sim_disk_desc){.meta_latency = {10 * SIM_US, 10 * SIM_US},
                                   .read_latency = {SIM_MS, SIM_MS},
                                   .write_latency = {SIM_MS, SIM_MS},
                                   .crash_keep = R1, .crash_torn = R0, .dir_keep = R1});
    sim_node_id n = disk_node(w, "n1");
    make_ctx m = {.paths = {"f"}, .dirs = {""}, .len = 100, .byte = 0x66};
    cr_assert(eq(int, run_job(w, n, make_job, &m), SIM_OK));
    uint64_t t0 = sim_now(w), made = t.ops[SIM_DISK_WRITE];
    bare b = {.read = read};
    sim_task_desc d = {.name = "bare", .node = n, .poll = bare_poll, .state = &b,
                       .state_size = sizeof b};
    cr_assert(eq(int, sim_spawn(w, &d, NULL), SIM_OK));
    cr_assert(eq(int, sim_world_run_until(w, t0 + 510 * SIM_US), SIM_OK));
    crash_restart(w, n);
    wait_until(w, t0 + 3 * SIM_MS);
    *io = (file_io){.path = "f"};
    int rc = run_job(w, n, read_job, io);
    sim_world_free(w);
    cr_assert(eq(int, rc, SIM_OK));
    *write_events = t.ops[SIM_DISK_WRITE] - made; /* the bare task's */
}

/* Goal: a crash cancels its node's operations in flight whether or not their task has a drop
 * function (the executor drops the task's awaited operation either way); the disk's timer
 * still fires after the restart and must then do nothing (found writing disk_sim's
 * assertions: it ran the operation on the restarted node, a write taking effect after its
 * crash, a read filling the freed state of the dead task). Method: bare_run with a write (the
 * file must still hold its 0x66, no write event) and with a read (under make check, a read
 * into the freed state is a reported use-after-free). */
Test(disk, crash_cancels_operations_of_tasks_without_drop)
{
    static file_io io;
    uint64_t writes = 0;
    bare_run(false, &io, &writes);
    cr_assert(eq(int, io.rc, SIM_OK));
    cr_assert(eq(u64, io.got, 100));
    cr_assert(all_eq(io.buf, 100, 0x66), "the crashed write took effect after the restart");
    cr_assert(eq(u64, writes, 0));
    bare_run(true, &io, &writes);
    cr_assert(eq(u64, io.got, 100));
    cr_assert(all_eq(io.buf, 100, 0x66));
}

/* ---- 11. determinism ------------------------------------------------------------------------- */

/* Notes what a file holds (open result, bytes) into the trace. */
static int note_job(sim_world *w, void *ctx)
{
    static const char *const paths[] = {"db/wal", "db/snap", "db/tmp"};
    uint64_t *sizes = ctx;
    static uint8_t buf[IO_MAX];
    for (int i = 0; i < 3; i++) {
        sim_file f;
        size_t got = 0;
        int rc = sim_file_open(w, paths[i], 0, &f);
        if (rc == SIM_OK) rc = sim_file_pread(w, &f, buf, sizeof buf, 0, &got);
        sim_file_close(w, &f);
        sizes[i] = rc == SIM_OK ? got : NEVER;
        sim_trace_note(w, paths[i], buf, got);
    }
    return SIM_OK;
}

typedef struct churn_out {
    uint64_t hash;
    uint64_t sizes[3];
    int rc;
} churn_out;

/* A scripter writes, fsyncs and renames under the default model; its node crashes at 8 ms;
 * after the restart a job notes what is left. */
static churn_out churn_run(uint64_t seed)
{
    static const step steps[] = {
        {.kind = ST_OPEN, .path = "db/wal", .flags = SIM_O_CREATE},
        {.kind = ST_APPEND, .len = 300, .byte = 1},
        {.kind = ST_APPEND, .len = 700, .byte = 2},
        {.kind = ST_SYNC},
        {.kind = ST_SYNC_DIR, .path = "db"},
        {.kind = ST_APPEND, .len = 1500, .byte = 3},
        {.kind = ST_OPEN, .path = "db/tmp", .flags = SIM_O_CREATE},
        {.kind = ST_WRITE, .len = 2000, .offset = 0, .byte = 4},
        {.kind = ST_SYNC},
        {.kind = ST_RENAME, .path = "db/tmp", .path2 = "db/snap"},
        {.kind = ST_WRITE, .len = 600, .offset = 1000, .byte = 5},
        {.kind = ST_OPEN, .path = "db/wal"},
        {.kind = ST_APPEND, .len = 900, .byte = 6},
        {.kind = ST_DATASYNC},
        {.kind = ST_APPEND, .len = 800, .byte = 7},
        {.kind = ST_SLEEP, .offset = SIM_S},
        {.kind = ST_END},
    };
    churn_out o = {0};
    sim_world *w = disk_world(seed, NULL);
    sim_node_id n = disk_node(w, "n1");
    script_rec r = {0};
    spawn_scripter(w, n, steps, &r);
    o.rc = sim_world_run_until(w, 8 * SIM_MS);
    crash_restart(w, n);
    if (o.rc == SIM_OK) o.rc = run_job(w, n, note_job, o.sizes);
    if (o.rc == SIM_OK) o.rc = sim_world_run(w);
    o.hash = sim_world_trace_hash(w);
    sim_world_free(w);
    return o;
}

/* Goal: the disk is deterministic: the same workload of writes, fsyncs, renames and a crash
 * under the default model (random latencies, kept, torn and lost writes, kept and lost
 * directory operations) gives the same trace hash and the same files for the same seed, and
 * different hashes for different seeds.
 * Method: churn_run twice for seed 11, then seeds 11..18 once each; the files left after
 * the restart are noted into the trace, so that the hash covers their bytes. */
Test(disk, same_seed_same_hash)
{
    churn_out a = churn_run(11), b = churn_run(11);
    cr_assert(eq(int, a.rc, SIM_OK));
    cr_assert(eq(u64, a.hash, b.hash));
    for (int i = 0; i < 3; i++) cr_assert(eq(u64, a.sizes[i], b.sizes[i]));
    uint64_t hashes[8];
    bool sizes_vary = false;
    for (uint32_t i = 0; i < 8; i++) {
        churn_out o = churn_run(11 + i);
        cr_assert(eq(int, o.rc, SIM_OK));
        hashes[i] = o.hash;
        for (uint32_t j = 0; j < i; j++) {
            cr_assert(ne(u64, hashes[i], hashes[j]), "seeds %u and %u", 11 + i, 11 + j);
        }
        sizes_vary = sizes_vary || memcmp(o.sizes, a.sizes, sizeof a.sizes) != 0;
    }
    cr_assert(sizes_vary, "8 seeds left the same files behind");
}

/* ---- 12. the dump ---------------------------------------------------------------------------- */

/* Goal: sim_world_dump describes the disk: a "disk:" line with the files, open handles and
 * pending directory operations, and a line per file with its node and path, size, durable
 * size, pending writes and, for a name not yet durable, why; after a crash the dump shows
 * what survived.
 * Method: keep every write, lose every directory operation. A scripter writes data/a (4,096
 * bytes synced, its directory synced, then 4,096 more pending), then creates data/b and
 * writes 100 bytes, and sleeps holding b's handle; the world runs to 500 ms and is dumped;
 * then n1 crashes and the world is dumped again. */
Test(disk, dump_lists_files)
{
    sim_world *w = disk_world(12, NULL);
    disk_config(w, (sim_disk_desc){.crash_keep = R1, .crash_torn = R0, .dir_keep = R0});
    sim_node_id n = disk_node(w, "n1");
    static const step steps[] = {
        {.kind = ST_OPEN, .path = "data/a", .flags = SIM_O_CREATE},
        {.kind = ST_WRITE, .len = 4096, .offset = 0, .byte = 0x11},
        {.kind = ST_SYNC},
        {.kind = ST_SYNC_DIR, .path = "data"},
        {.kind = ST_WRITE, .len = 4096, .offset = 4096, .byte = 0x22},
        {.kind = ST_OPEN, .path = "data/b", .flags = SIM_O_CREATE},
        {.kind = ST_WRITE, .len = 100, .offset = 0, .byte = 0x33},
        {.kind = ST_SLEEP, .offset = SIM_S},
        {.kind = ST_END},
    };
    script_rec r = {0};
    spawn_scripter(w, n, steps, &r);
    cr_assert(eq(int, sim_world_run_until(w, 500 * SIM_MS), SIM_OK));
    cr_assert(eq(u32, r.done, 7));
    const char *d = sim_world_dump(w);
    cr_assert(strstr(d, "disk: 2 file(s), 1 open handle(s), 1 directory operation(s) pending\n")
              != NULL, "%s", d);
    cr_assert(strstr(d, "n1:data/a  file 1: 8192 bytes, 4096 durable, 1 write(s) pending\n") !=
              NULL, "%s", d);
    cr_assert(strstr(d, "n1:data/b  file 2: 100 bytes, 0 durable, 1 write(s) pending (created, "
                        "not yet durably)\n") != NULL, "%s", d);
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    d = sim_world_dump(w);
    cr_assert(strstr(d, "disk: 1 file(s), 0 open handle(s), 0 directory operation(s) pending\n")
              != NULL, "%s", d);
    cr_assert(strstr(d, "n1:data/a  file 1: 8192 bytes, 8192 durable, 0 write(s) pending\n") !=
              NULL, "%s", d);
    cr_assert(strstr(d, "data/b") == NULL, "%s", d);
    sim_world_free(w);
}

/* ---- 13. sim_disk_configure ------------------------------------------------------------------ */

static int configure_open_job(sim_world *w, void *ctx)
{
    int *rc = ctx;
    sim_file f;
    int open_rc = sim_file_open(w, "f", SIM_O_CREATE, &f);
    sim_disk_desc d = {.sector = 4096};
    *rc = sim_disk_configure(w, &d);
    sim_file_close(w, &f);
    return open_rc;
}

/* Goal: sim_disk_configure rejects a sector that is not a power of two or outside 512..65536,
 * crash_keep + crash_torn above 1, a probability above 1, a latency whose min exceeds its
 * max and a tail above one hour (SIM_EINVAL, no violation), accepts the edges (512, 65536,
 * keep + torn exactly 1, a tail of one hour); and
 * called while a file is open it returns SIM_EMISUSE and records a misuse violation.
 * Method: one world; a list of bad descriptions, a list of good ones; then a job that opens a
 * file and configures. */
Test(disk, configure_errors)
{
    sim_world *w = disk_world(13, NULL);
    sim_node_id n = disk_node(w, "n1");
    const sim_latency backwards = {2 * SIM_MS, SIM_MS};
    const sim_disk_desc bad[] = {
        {.sector = 1000},
        {.sector = 256},
        {.sector = 131072},
        {.sector = 1536},
        {.crash_keep = {3, 4}, .crash_torn = {1, 2}},
        {.crash_keep = R1, .crash_torn = {1, 1000}},
        {.crash_keep = {3, 2}},
        {.torn_garbage = {5, 4}},
        {.dir_keep = {2, 1}},
        {.read_latency = backwards},
        {.write_latency = backwards},
        {.sync_latency = backwards},
        {.meta_latency = backwards},
        {.sync_tail_ns = 3600 * SIM_S + 1},
        {.read_tail_ns = UINT64_MAX},
    };
    enum { NBAD = sizeof bad / sizeof bad[0] };
    int bad_rc[NBAD];
    for (size_t i = 0; i < NBAD; i++) bad_rc[i] = sim_disk_configure(w, &bad[i]);
    const sim_disk_desc good[] = {
        {.sector = 512},
        {.sector = 65536},
        {.crash_keep = {3, 4}, .crash_torn = {1, 4}},
        {.crash_keep = R1, .crash_torn = R0, .dir_keep = R1},
        {.read_latency = {SIM_MS, SIM_MS}},
        {.write_tail_ns = 3600 * SIM_S},
        {0},
    };
    enum { NGOOD = sizeof good / sizeof good[0] };
    int good_rc[NGOOD];
    for (size_t i = 0; i < NGOOD; i++) good_rc[i] = sim_disk_configure(w, &good[i]);
    /* A latency with a min and no max is not "zero" (the default): its min exceeds its max. */
    sim_disk_desc no_max = {.meta_latency = {SIM_MS, 0}};
    int no_max_rc = sim_disk_configure(w, &no_max);
    uint32_t violations = sim_world_violation_count(w);
    int configure_rc = SIM_PENDING;
    int rc = run_job(w, n, configure_open_job, &configure_rc);
    uint32_t misuse = test_violations(w, SIM_VIOLATION_MISUSE);
    sim_world_free(w);
    for (size_t i = 0; i < NBAD; i++) {
        cr_assert(eq(int, bad_rc[i], SIM_EINVAL), "bad description %zu", i);
    }
    for (size_t i = 0; i < NGOOD; i++) {
        cr_assert(eq(int, good_rc[i], SIM_OK), "good description %zu", i);
    }
    cr_assert(eq(u32, violations, 0));
    cr_assert(eq(int, rc, SIM_OK));
    cr_assert(eq(int, configure_rc, SIM_EMISUSE));
    cr_assert(eq(u32, misuse, 1));
    cr_assert(eq(int, no_max_rc, SIM_EINVAL),
              "meta_latency {1 ms, 0} was accepted (as the default 10us..50us, it seems)");
}
