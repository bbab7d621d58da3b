/*
 * test_kv_engine.c: the kv system's engine (systems/kv/engine.c) on the simulated disk, through
 * sim.h and the system's own header, as talent-plan's kv_store tests exercise theirs: get a
 * stored value, overwrite, a missing key, remove, compaction shrinks the files, reopening keeps
 * everything; plus a crash with sync = always, a torn last record cut off by recovery, and the
 * same torn record refused under the planted bug no-torn-recovery.
 *
 * The tests that need no fault and no crash run on both backends (KV_BOTH): simulated and on
 * the host (real files in a temporary directory, jobs on real threads).
 *
 * Method: a node whose boot runs a script task: a list of steps (open a fresh engine on the
 * node's disk, set, get, rm, measure the *.log files, write raw bytes) executed in order, each
 * recording its result for the test to assert after the world ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../systems/kv/kv.h"
#include "../helpers.h"

enum { S_OPEN = 1, S_SET, S_GET, S_RM, S_SIZE, S_RAW, S_ROUND };

#define OPEN {.kind = S_OPEN}
#define SET(k, v) {.kind = S_SET, .key = (k), .value = (v)}
#define GET(k) {.kind = S_GET, .key = (k)}
#define RM(k) {.kind = S_RM, .key = (k)}
#define SIZE {.kind = S_SIZE}
#define RAW {.kind = S_RAW}
/* The steps r[0..n) (set, get, rm) as concurrent calls; under FIFO scheduling they reach the
 * writer together and make one group commit. fail: that round's fsync fails (EIO). */
#define ROUND(r, n, fail) {.kind = S_ROUND, .round = (r), .nround = (n), .fail_sync = (fail)}
#define ROUND_MAX 4

typedef struct step {
    int kind;
    const char *key;
    const char *value;
    int rc;                  /* what the step returned */
    bool found;              /* get */
    char out[64];            /* get */
    uint64_t size;           /* size: bytes of the *.log files */
    struct step *round;      /* S_ROUND: its calls, each with its own results */
    uint32_t nround;         /* 1..ROUND_MAX */
    bool fail_sync;          /* S_ROUND: the next fsync fails */
} step;

typedef struct script {
    step *steps;
    uint32_t n;
    kv_config cfg;
    const uint8_t *raw;      /* S_RAW: the bytes of 1.log */
    size_t raw_len;
    kv_engine_stats stats;   /* of the last engine, at the end */
    bool done;
} script;

typedef struct runner {
    sim_co co;
    script *s;
    uint32_t i;
    uint32_t j;              /* S_ROUND: the call awaited */
    kv_engine *e;            /* a reference */
    sim_join job;
    sim_join calls[ROUND_MAX];
    kv_call call;
} runner;

/* One call of an S_ROUND, in its own task: runs it and stores what it answered in *st. */
typedef struct caller {
    sim_co co;
    step *st;
    kv_call call;
} caller;

static int raw_run(void *state, sim_world *w)
{
    const script *s = *(script **)state;
    sim_file f;
    int rc = sim_file_open(w, "1.log", SIM_O_CREATE, &f);
    if (rc == SIM_OK) rc = sim_file_append(w, &f, s->raw, s->raw_len, NULL);
    if (rc == SIM_OK) rc = sim_file_sync(w, &f);
    sim_file_close(w, &f);
    if (rc == SIM_OK) rc = sim_disk_sync_dir(w, "");
    return rc;
}

static uint64_t log_bytes(sim_world *w)
{
    sim_dir_entry ents[64];
    uint32_t count = 0;
    cr_assert(eq(int, sim_disk_list(w, "", ents, 64, &count), SIM_OK));
    uint64_t total = 0;
    for (uint32_t i = 0; i < count && i < 64; i++) {
        size_t n = strlen(ents[i].name);
        if (n > 4 && strcmp(ents[i].name + n - 4, ".log") == 0) total += ents[i].size;
    }
    return total;
}

static void call_start(runner *r, const step *st)
{
    uint8_t kind = st->kind == S_SET ? KV_REC_SET : st->kind == S_RM ? KV_REC_RM : KV_GET;
    const char *v = st->value ? st->value : "";
    kv_call_init(&r->call, r->e, kind, st->key, (uint32_t)strlen(st->key), v,
                 (uint32_t)strlen(v));
}

static void call_store(step *st, int rc, const kv_call *call)
{
    st->rc = rc;
    st->found = call->found;
    snprintf(st->out, sizeof st->out, "%.*s", (int)call->out_len, call->out);
}

static int caller_poll(void *state, sim_world *w)
{
    caller *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_AWAIT(rc, sim_call(&c->call, kv_call_poll));
    call_store(c->st, rc, &c->call);
    SIM_END(SIM_OK);
}

/* Spawns the calls of an S_ROUND step; with fail_sync, the next fsync of the disk fails. */
static void round_start(sim_world *w, runner *r, step *st)
{
    cr_assert(le(u32, st->nround, ROUND_MAX));
    if (st->fail_sync) {
        uint64_t next = sim_fault_hits(w, "disk/fsync/eio");
        cr_assert(eq(int, sim_fault_fail_at(w, "disk/fsync/eio", next), SIM_OK));
    }
    for (uint32_t k = 0; k < st->nround; k++) {
        step *one = &st->round[k];
        caller c = {.st = one};
        uint8_t kind = one->kind == S_SET ? KV_REC_SET : one->kind == S_RM ? KV_REC_RM : KV_GET;
        const char *v = one->value ? one->value : "";
        kv_call_init(&c.call, r->e, kind, one->key, (uint32_t)strlen(one->key), v,
                     (uint32_t)strlen(v));
        sim_task_desc d = {.name = "caller", .poll = caller_poll, .state = &c,
                           .state_size = sizeof c};
        cr_assert(eq(int, sim_spawn(w, &d, &r->calls[k]), SIM_OK));
    }
}

/* Opens a fresh engine (the runner's reference moves to it) and returns the open to await. */
static kv_job_op open_fresh(sim_world *w, runner *r)
{
    kv_engine_unref(w, r->e);
    cr_assert(eq(int, kv_engine_new(&r->s->cfg, &r->e), SIM_OK));
    return kv_open(r->e);
}

static void spawn_raw(sim_world *w, runner *r)
{
    script *sp = r->s;
    sim_job_desc d = {.name = "raw", .run = raw_run, .state = &sp, .state_size = sizeof sp};
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &r->job), SIM_OK));
}

static int runner_poll(void *state, sim_world *w)
{
    runner *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    for (r->i = 0; r->i < r->s->n; r->i++) {
        if (r->s->steps[r->i].kind == S_OPEN) {
            SIM_AWAIT(rc, open_fresh(w, r));
            if (rc == SIM_OK) rc = kv_engine_start(w, r->e);
        } else if (r->s->steps[r->i].kind == S_SIZE) {
            r->s->steps[r->i].size = log_bytes(w);
        } else if (r->s->steps[r->i].kind == S_RAW) {
            spawn_raw(w, r);
            SIM_AWAIT(rc, sim_join_wait(&r->job));
        } else if (r->s->steps[r->i].kind == S_ROUND) {
            round_start(w, r, &r->s->steps[r->i]);
            for (r->j = 0; r->j < r->s->steps[r->i].nround; r->j++) {
                SIM_AWAIT(rc, sim_join_wait(&r->calls[r->j]));
            }
        } else {
            call_start(r, &r->s->steps[r->i]);
            SIM_AWAIT(rc, sim_call(&r->call, kv_call_poll));
            call_store(&r->s->steps[r->i], rc, &r->call);
        }
        r->s->steps[r->i].rc = rc;
        if (rc != SIM_OK && r->s->steps[r->i].kind == S_OPEN) break;
    }
    if (r->e != NULL) kv_engine_stats_get(r->e, &r->s->stats);
    r->s->done = true;
    SIM_END(SIM_OK);
}

/* The runner's own memory: its reference on the engine. */
static void runner_drop(void *state, sim_world *w)
{
    runner *r = state;
    kv_engine_unref(w, r->e);
}

/* The boot of the test node: runs *ud's script. */
static int boot(void *ud, sim_world *w, sim_node_id node)
{
    (void)node;
    script *s = *(script **)ud;
    runner r = {.s = s};
    sim_task_desc d = {.name = "script", .poll = runner_poll, .drop = runner_drop, .state = &r,
                       .state_size = sizeof r};
    return sim_spawn(w, &d, NULL);
}

/* The backend the tests marked KV_BOTH run on (each runs once per backend). */
static sim_backend kv_backend;

/* Runs a script on a fresh world's node n1 under a strategy; returns the world (free it). On
 * the host backend the node's files live in a fresh directory (on /dev/shm when there is one:
 * the engine fsyncs every write) removed once the run is over. */
static sim_world *run_script_sched(script *s, script **slot, sim_sched_kind kind)
{
    char dir[64] = "";
    sim_world_desc d = {.seed = 7, .sched = {.kind = kind}, .backend = kv_backend,
                        .time_limit_ns = 60 * SIM_S};
    if (kv_backend == SIM_BACKEND_HOST) {
        test_tmpdir(dir, sizeof dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
                    "sim-kv-engine");
        d.host_dir = dir;
    }
    sim_world *w = test_world_desc(&d);
    *slot = s;
    test_node(w, "n1", boot, slot);
    int rc = sim_world_run(w);
    if (dir[0] != '\0') test_tmpdir_remove(dir);
    cr_assert(eq(int, rc, SIM_OK), "%s", sim_world_report(w));
    cr_assert(s->done);
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    return w;
}

/* A test body run on both backends: kv_engine/NAME simulated, kv_engine_host/NAME on the host
 * (the same engine code, unchanged: the API is one). */
#define KV_BOTH(name)                                                                              \
    static void name##_body(void);                                                                 \
    Test(kv_engine, name)                                                                          \
    {                                                                                              \
        kv_backend = SIM_BACKEND_SIM;                                                              \
        name##_body();                                                                             \
    }                                                                                              \
    Test(kv_engine_host, name)                                                                     \
    {                                                                                              \
        kv_backend = SIM_BACKEND_HOST;                                                             \
        name##_body();                                                                             \
    }                                                                                              \
    static void name##_body(void)

static sim_world *run_script(script *s, script **slot)
{
    return run_script_sched(s, slot, SIM_SCHED_RANDOM);
}

static void expect_get(const step *st, const char *value)
{
    cr_assert(eq(int, st->rc, SIM_OK), "get %s: %d", st->key, st->rc);
    if (value == NULL) {
        cr_assert(not(st->found), "get %s found '%s'", st->key, st->out);
    } else {
        cr_assert(st->found, "get %s: not found", st->key);
        cr_assert(eq(str, (char *)st->out, (char *)value));
    }
}

static kv_config sync_config(void)
{
    return (kv_config){.sync_always = true, .compact_threshold = 1u << 20, .readers = 4};
}

/* Goal: a stored value reads back, before and after reopening (talent-plan get_stored_value).
 * Method: set two keys, get both; open a second engine on the same disk, get both. */
KV_BOTH(get_stored_value)
{
    step st[] = {OPEN,         SET("key1", "value1"), SET("key2", "value2"),
                 GET("key1"),  GET("key2"),           OPEN,
                 GET("key1"),  GET("key2")};
    script s = {.steps = st, .n = 8, .cfg = sync_config()};
    script *slot;
    sim_world *w = run_script(&s, &slot);
    for (int i = 0; i < 3; i++) cr_assert(eq(int, st[i].rc, SIM_OK));
    expect_get(&st[3], "value1");
    expect_get(&st[4], "value2");
    expect_get(&st[6], "value1");
    expect_get(&st[7], "value2");
    sim_world_free(w);
}

/* Goal: a set overwrites, and the newest value survives a reopen (overwrite_value). Method:
 * set, get, overwrite, get, reopen, get, overwrite again, get. */
KV_BOTH(overwrite_value)
{
    step st[] = {OPEN,        SET("key1", "value1"), GET("key1"),
                 SET("key1", "value2"), GET("key1"), OPEN,
                 GET("key1"), SET("key1", "value3"), GET("key1")};
    script s = {.steps = st, .n = 9, .cfg = sync_config()};
    script *slot;
    sim_world *w = run_script(&s, &slot);
    expect_get(&st[2], "value1");
    expect_get(&st[4], "value2");
    expect_get(&st[6], "value2");
    expect_get(&st[8], "value3");
    sim_world_free(w);
}

/* Goal: a missing key reads as not found, also after a reopen; removing it is "Key not found"
 * (get_non_existent_value, remove_non_existent_key). Method: get, rm, reopen, get. */
KV_BOTH(missing_key)
{
    step st[] = {OPEN, SET("key1", "value1"), GET("key2"), RM("key2"),
                 OPEN, GET("key2")};
    script s = {.steps = st, .n = 6, .cfg = sync_config()};
    script *slot;
    sim_world *w = run_script(&s, &slot);
    expect_get(&st[2], NULL);
    cr_assert(eq(int, st[3].rc, KV_ENOTFOUND));
    char text[64];
    cr_assert(eq(str, (char *)kv_strerror(st[3].rc, text, sizeof text), "Key not found"));
    expect_get(&st[5], NULL);
    sim_world_free(w);
}

/* Goal: rm removes the key, for good (remove_key). Method: set, rm, get; reopen, get, rm
 * again (not found). */
KV_BOTH(remove_key)
{
    step st[] = {OPEN, SET("key1", "value1"), RM("key1"), GET("key1"),
                 OPEN, GET("key1"),           RM("key1")};
    script s = {.steps = st, .n = 7, .cfg = sync_config()};
    script *slot;
    sim_world *w = run_script(&s, &slot);
    cr_assert(eq(int, st[2].rc, SIM_OK));
    expect_get(&st[3], NULL);
    expect_get(&st[5], NULL);
    cr_assert(eq(int, st[6].rc, KV_ENOTFOUND));
    sim_world_free(w);
}

/* Goal: when a group commit's fsync fails, every answer that assumed the round's records
 * fails with them, and the index answers later reads as if they never happened (regression
 * for kv/disk-errors seed 1726: an rm ended in an I/O error, a second rm of the same key in
 * the same round answered "Key not found", then a get returned the value the first rm was
 * removing: no order of the three explains that). An answer decided by the committed index
 * alone stands. Method: FIFO scheduling, so that concurrent calls make one round; set k, then
 * one round of rm k, rm k, rm z with its fsync failing: both rms of k fail with SIM_EIO, the
 * rm of the absent z is "Key not found", k still reads "v". Then the same round with a
 * working fsync: the first rm removes k, the second finds it gone. The engine appended three
 * records (the set and one rm per round), so each round was one group commit. */
Test(kv_engine, failed_fsync_fails_answers_that_assumed_it)
{
    static step failed[] = {RM("k"), RM("k"), RM("z")};
    static step good[] = {RM("k"), RM("k"), RM("z")};
    step st[] = {OPEN, SET("k", "v"), ROUND(failed, 3, true), GET("k"), ROUND(good, 3, false),
                 GET("k")};
    script s = {.steps = st, .n = 6, .cfg = sync_config()};
    script *slot;
    sim_world *w = run_script_sched(&s, &slot, SIM_SCHED_FIFO);
    cr_assert(eq(int, st[1].rc, SIM_OK));
    cr_assert(eq(int, failed[0].rc, SIM_EIO));
    cr_assert(eq(int, failed[1].rc, SIM_EIO), "the second rm answered %d", failed[1].rc);
    cr_assert(eq(int, failed[2].rc, KV_ENOTFOUND));
    expect_get(&st[3], "v");
    cr_assert(eq(int, good[0].rc, SIM_OK));
    cr_assert(eq(int, good[1].rc, KV_ENOTFOUND));
    cr_assert(eq(int, good[2].rc, KV_ENOTFOUND));
    expect_get(&st[5], NULL);
    cr_assert(eq(u64, s.stats.appended, 3));
    sim_world_free(w);
}

/* Goal: compaction keeps the files from growing without bound, and every key keeps its newest
 * value across a reopen (talent-plan compaction). Method: 30 rounds, each setting key0..key49
 * to the round's number, measuring the *.log bytes after each; with a 2 KiB threshold some
 * round must measure less than an earlier one; then reopen and get all 50 keys. */
KV_BOTH(compaction_shrinks_files)
{
    enum { KEYS = 50, ROUNDS = 30 };
    static char names[KEYS][16], values[ROUNDS][16];
    static step st[1 + ROUNDS * (KEYS + 1) + 1 + KEYS];
    uint32_t n = 0;
    st[n++] = (step)OPEN;
    for (int r = 0; r < ROUNDS; r++) {
        snprintf(values[r], sizeof values[r], "%d", r);
        for (int k = 0; k < KEYS; k++) {
            snprintf(names[k], sizeof names[k], "key%d", k);
            st[n++] = (step)SET(names[k], values[r]);
        }
        st[n++] = (step)SIZE;
    }
    uint32_t reopen = n;
    st[n++] = (step)OPEN;
    for (int k = 0; k < KEYS; k++) st[n++] = (step)GET(names[k]);
    kv_config cfg = sync_config();
    cfg.compact_threshold = 2048;
    script s = {.steps = st, .n = n, .cfg = cfg};
    script *slot;
    sim_world *w = run_script(&s, &slot);
    uint64_t peak = 0;
    bool shrank = false;
    for (uint32_t i = 0; i < reopen; i++) {
        cr_assert(eq(int, st[i].rc, SIM_OK), "step %u: %d", i, st[i].rc);
        if (st[i].kind != S_SIZE) continue;
        shrank = shrank || st[i].size < peak;
        if (st[i].size > peak) peak = st[i].size;
    }
    cr_assert(shrank, "no compaction detected (peak %llu bytes)", (unsigned long long)peak);
    cr_assert(lt(u64, peak, 16 * 1024));
    for (int k = 0; k < KEYS; k++) expect_get(&st[reopen + 1 + k], values[ROUNDS - 1]);
    sim_world_free(w);
}

/* Goal: with sync = always every acknowledged write survives a crash of the node, whatever the
 * disk does with unsynced writes (it loses them all here). Method: set and remove keys, crash
 * the node with crash_keep 0, restart it with a second script that reads them. */
Test(kv_engine, sync_always_survives_crash)
{
    step st1[] = {OPEN, SET("a", "1"), SET("b", "2"), SET("a", "3"),
                  RM("b"), SET("c", "4")};
    step st2[] = {OPEN, GET("a"), GET("b"), GET("c")};
    script s1 = {.steps = st1, .n = 6, .cfg = sync_config()};
    script s2 = {.steps = st2, .n = 4, .cfg = sync_config()};
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    sim_disk_desc dd = {.crash_keep = {0, 1}, .crash_torn = {0, 1}, .dir_keep = {0, 1}};
    cr_assert(eq(int, sim_disk_configure(w, &dd), SIM_OK));
    script *slot = &s1;
    sim_node_id n1 = test_node(w, "n1", boot, &slot);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(s1.done);
    for (int i = 0; i < 6; i++) cr_assert(eq(int, st1[i].rc, SIM_OK));
    cr_assert(eq(int, sim_node_crash(w, n1), SIM_OK));
    slot = &s2;
    cr_assert(eq(int, sim_node_restart(w, n1), SIM_OK));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(s2.done);
    expect_get(&st2[1], "3");
    expect_get(&st2[2], NULL);
    expect_get(&st2[3], "4");
    sim_world_free(w);
}

/* Goal: on a host world the process's own node crashes and restarts as in simulation: its
 * tasks are dropped, its jobs' completions are not delivered, its files and sockets close,
 * and the boot function runs again on the files as they are (the host has no unsynced-write
 * model: what was written is in the page cache, synced or not). With sync = always the data
 * acknowledged before the crash is read back after the restart. Method: the crash test
 * above on the host backend, without the disk model; the restarted node opens the engine
 * (recovery from the real files) and reads. */
Test(kv_engine_host, sync_always_survives_crash)
{
    step st1[] = {OPEN, SET("a", "1"), SET("b", "2"), SET("a", "3"),
                  RM("b"), SET("c", "4")};
    step st2[] = {OPEN, GET("a"), GET("b"), GET("c")};
    script s1 = {.steps = st1, .n = 6, .cfg = sync_config()};
    script s2 = {.steps = st2, .n = 4, .cfg = sync_config()};
    char dir[64];
    test_tmpdir(dir, sizeof dir, "/tmp", "sim-kv-crash");
    sim_world_desc d = {.seed = 3, .backend = SIM_BACKEND_HOST, .host_dir = dir,
                        .time_limit_ns = 60 * SIM_S};
    sim_world *w = test_world_desc(&d);
    script *slot = &s1;
    sim_node_id n1 = test_node(w, "n1", boot, &slot);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(s1.done);
    for (int i = 0; i < 6; i++) cr_assert(eq(int, st1[i].rc, SIM_OK));
    cr_assert(eq(int, sim_node_crash(w, n1), SIM_OK));
    cr_assert(eq(int, sim_node_status(w, n1), SIM_NODE_DOWN));
    slot = &s2;
    cr_assert(eq(int, sim_node_restart(w, n1), SIM_OK));
    cr_assert(eq(u32, sim_node_boots(w, n1), 2));
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(s2.done);
    expect_get(&st2[1], "3");
    expect_get(&st2[2], NULL);
    expect_get(&st2[3], "4");
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
    test_tmpdir_remove(dir);
}

/* 1.log holding one whole record for key1 and the first 10 bytes of one for key2: what a crash
 * leaves when it tears the last append. */
static size_t torn_log(uint8_t *buf, size_t cap)
{
    uint32_t a = kv_record_encode(KV_REC_SET, "key1", 4, "value1", 6, buf, cap);
    uint8_t second[64];
    uint32_t b = kv_record_encode(KV_REC_SET, "key2", 4, "value2", 6, second, sizeof second);
    cr_assert(lt(u32, 0, a));
    cr_assert(lt(u32, 10, b));
    memcpy(buf + a, second, 10);
    return a + 10;
}

/* Goal: recovery truncates a torn last record instead of refusing to start: the whole record
 * before it is read, the torn one is gone, and the file is cut back to the good prefix.
 * Method: write the torn 1.log raw, then open; get both keys; the stats count one truncation. */
KV_BOTH(torn_last_record_truncated)
{
    uint8_t raw[128];
    size_t len = torn_log(raw, sizeof raw);
    step st[] = {RAW, OPEN, GET("key1"), GET("key2"), SIZE};
    script s = {.steps = st, .n = 5, .cfg = sync_config(), .raw = raw, .raw_len = len};
    script *slot;
    sim_world *w = run_script(&s, &slot);
    cr_assert(eq(int, st[0].rc, SIM_OK));
    cr_assert(eq(int, st[1].rc, SIM_OK));
    expect_get(&st[2], "value1");
    expect_get(&st[3], NULL);
    cr_assert(eq(u64, s.stats.truncations, 1));
    cr_assert(eq(u64, st[4].size, len - 10));
    sim_world_free(w);
}

/* Goal: under the planted bug no-torn-recovery the same torn record makes open fail with
 * KV_ECORRUPT ("Corrupt record"), as the reference solution's deserializer does. Method: as
 * above with bug = no-torn-recovery; the open step's result. */
KV_BOTH(no_torn_recovery_bug_refuses)
{
    uint8_t raw[128];
    size_t len = torn_log(raw, sizeof raw);
    step st[] = {RAW, OPEN};
    kv_config cfg = sync_config();
    cfg.bug = KV_BUG_NO_TORN_RECOVERY;
    script s = {.steps = st, .n = 2, .cfg = cfg, .raw = raw, .raw_len = len};
    script *slot;
    sim_world *w = run_script(&s, &slot);
    cr_assert(eq(int, st[1].rc, KV_ECORRUPT));
    sim_world_free(w);
}

/* Goal: the record format's checks: the checksum covers everything after it (any one bit
 * flipped anywhere in a record is refused), a round trip, and a damaged, short or malformed
 * record refused. Method: encode, decode, flip bytes. */
Test(kv_engine, record_format)
{
    uint8_t buf[KV_REC_MAX];
    uint32_t n = kv_record_encode(KV_REC_SET, "k", 1, "v1", 2, buf, sizeof buf);
    cr_assert(eq(u32, n, KV_REC_HEADER + 3));
    uint32_t sum = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                   (uint32_t)buf[3] << 24;
    cr_assert(eq(u32, sum, kv_checksum(buf + 4, n - 4)));
    kv_record r;
    for (uint32_t bit = 0; bit < n * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert(eq(int, kv_record_decode(buf, n, &r), KV_ECORRUPT), "bit %u", bit);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    cr_assert(eq(int, kv_record_decode(buf, n, &r), SIM_OK));
    cr_assert(eq(u32, r.size, n));
    cr_assert(eq(int, memcmp(r.value, "v1", 2), 0));
    cr_assert(eq(int, kv_record_decode(buf, n - 1, &r), KV_ECORRUPT));
    buf[n - 1] ^= 1;
    cr_assert(eq(int, kv_record_decode(buf, n, &r), KV_ECORRUPT));
    memset(buf, 0, sizeof buf);
    cr_assert(eq(int, kv_record_decode(buf, 64, &r), KV_ECORRUPT));
    cr_assert(eq(u32, kv_record_encode(KV_REC_RM, "k", 1, "x", 1, buf, sizeof buf), 0));
    cr_assert(eq(u32, kv_record_encode(KV_REC_SET, "", 0, "x", 1, buf, sizeof buf), 0));
    cr_assert(eq(u32, kv_record_encode(KV_REC_SET, "k", 1, "x", 1, buf, 8), 0));
}
