/*
 * test_disk_wal.c: crash consistency of a write-ahead log on the simulated disk, through
 * sim.h only. Two toy systems live here, both named `wal` (so that their fault point is
 * sut/wal/crash-here): one node n1 whose writer task appends N records to wal/000001.log
 * with disk operations, fsyncs after each append and acknowledges record i only once that
 * fsync returned SIM_OK. Before each of its disk operations (open, the directory sync, every
 * append and every fsync: 2 + 2N hits) it hits sut/wal/crash-here; when that fires it crashes
 * its own node. A world-level supervisor restarts n1 10 ms after it went down (or crashes it
 * itself once the writer has finished, so that every run ends in a recovery); n1's second
 * boot runs a recovery job that reads the log from the start, parses frames and stops at the
 * first invalid one. The system's check then demands that the recovered records be a prefix
 * of the records written, byte for byte, that contains every acknowledged record.
 *
 * A frame is a 4-byte little-endian length (1..1024), the payload and, in the checksummed
 * toy, a 4-byte little-endian FNV-1a 32 of the length bytes and the payload. Record i's
 * payload has 100 + (i * 181) % 600 bytes, byte j being (i * 131 + j * 7 + 1) mod 256, so
 * that frames of 104..707 bytes straddle the 512-byte sectors and a torn append can keep a
 * frame's header while its tail turns to garbage. The naive toy trusts the length field.
 *
 * The tests: a countdown sweep of the crash point over the checksummed toy passes at every k;
 * the same sweep over the naive toy finds a k whose recovery returns bytes never written; 500
 * seeds of random crash points run twice give the same hashes and plans; and a [disk] key
 * given by sim_scenario_set applies to the runs as the same line in the text would.
 *
 * The check callback never asserts: it records what it saw in the toy (static storage, as the
 * world dies before sim_scenario_run returns) and returns a message; the tests assert
 * afterwards. Every scenario is freed by the suite's fini when an assertion ends a test early.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../scenariotest.h"

#define CRASH_POINT "sut/wal/crash-here"
#define WAL_DIR "wal"
#define WAL_PATH "wal/000001.log"
#define MAX_RECORDS 64
#define MAX_PAYLOAD 1024
#define MAX_FRAME (MAX_PAYLOAD + 8)
#define RECORDS 40

/* ---- records and frames ---------------------------------------------------------------------- */

static uint32_t payload_len(uint32_t i)
{
    return 100 + (i * 181u) % 600u;
}

static uint8_t payload_byte(uint32_t i, uint32_t j)
{
    return (uint8_t)(i * 131u + j * 7u + 1u);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int b = 0; b < 4; b++) p[b] = (uint8_t)(v >> (8 * b));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* FNV-1a 32 over the 4 length bytes, then the payload. */
static uint32_t frame_sum(const uint8_t *len_bytes, const uint8_t *payload, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < 4; i++) h = (h ^ len_bytes[i]) * 16777619u;
    for (uint32_t i = 0; i < len; i++) h = (h ^ payload[i]) * 16777619u;
    return h;
}

/* Encodes record i into out (MAX_FRAME bytes); returns the frame's length. */
static uint32_t frame_encode(uint32_t i, bool checksum, uint8_t *out)
{
    uint32_t len = payload_len(i);
    put_le32(out, len);
    for (uint32_t j = 0; j < len; j++) out[4 + j] = payload_byte(i, j);
    if (!checksum) return 4 + len;
    put_le32(out + 4 + len, frame_sum(out, out + 4, len));
    return 8 + len;
}

/* ---- the toys -------------------------------------------------------------------------------- */

/* Why recovery stopped. */
typedef enum wal_stop {
    STOP_NONE = 0,    /* recovery never ran */
    STOP_NO_LOG,      /* the log does not exist */
    STOP_END,         /* at the end of the log, on a frame boundary */
    STOP_SHORT,       /* a short read: the log ends inside a frame */
    STOP_LENGTH,      /* a length of 0 or above MAX_PAYLOAD */
    STOP_CHECKSUM,    /* the checksum does not match */
    STOP_FULL,        /* MAX_RECORDS records recovered */
    STOP_KINDS
} wal_stop;

static const char *const stop_names[STOP_KINDS] = {"none", "no log", "end", "short read",
                                                   "bad length", "bad checksum", "full"};

/* One run of a toy: what the writer did and what recovery found. */
typedef struct wal_run {
    bool checksum;
    uint32_t records;          /* [wal] records */
    sim_node_id n1;
    /* the writer */
    uint32_t started;          /* appends issued */
    uint32_t acked;            /* records whose fsync returned SIM_OK */
    bool writer_done;          /* every record acknowledged */
    bool writer_stopped;       /* the writer finished or failed: nothing more will come */
    bool point_crash;          /* the writer crashed n1 at sut/wal/crash-here */
    uint64_t crash_hit;        /* ... at this hit */
    int writer_rc;             /* the first disk error of the writer */
    char writer_err[96];
    /* recovery */
    bool recovery_ran;
    int recover_rc;
    wal_stop stop;
    uint32_t recovered;
    uint32_t rec_len[MAX_RECORDS];
    uint8_t data[MAX_RECORDS][MAX_PAYLOAD];
} wal_run;

/* What check saw in the last run, copied out of the run state. */
typedef struct wal_obs {
    uint32_t started, acked, recovered;
    bool point_crash, writer_done, recovery_ran;
    uint64_t crash_hit;
    uint64_t hits;             /* sim_fault_hits of the crash point */
    wal_stop stop;
} wal_obs;

typedef struct wal_toy {
    bool checksum;
    sim_sweep *sweep;          /* when set, setup arms it and check ends it */
    uint32_t checks;
    wal_obs last;
} wal_toy;

static wal_toy CHECKED = {.checksum = true}, NAIVE = {.checksum = false};

/* Hits the crash point; when it fires, crashes the writer's own node and returns true (the
 * writer's poll then returns at once and the executor drops it in crash mode, whatever it
 * returns: its result is SIM_ECRASHED). */
static bool crash_here(sim_world *w, wal_run *r)
{
    if (!SIM_FAULT(w, CRASH_POINT)) return false;
    r->point_crash = true;
    r->crash_hit = sim_fault_hits(w, CRASH_POINT) - 1;
    int rc = sim_node_crash(w, sim_node_current(w));
    if (rc != SIM_OK && r->writer_rc == SIM_OK) {
        r->writer_rc = rc;
        snprintf(r->writer_err, sizeof r->writer_err, "crashing n1: %s", sim_result_name(rc));
    }
    return true;
}

static int writer_failed(wal_run *r, const char *what, uint32_t i, int rc)
{
    r->writer_stopped = true;
    if (r->writer_rc == SIM_OK) {
        r->writer_rc = rc;
        snprintf(r->writer_err, sizeof r->writer_err, "%s of record %u: %s", what, i,
                 sim_result_name(rc));
    }
    return rc;
}

/* The log's file belongs to the writer task and goes with it (crash or not): no drop
 * function. */
typedef struct writer {
    sim_co co;
    wal_run *run;
    sim_file log;
    uint32_t i;
    uint32_t len;              /* of the frame being appended */
    uint64_t at;               /* where the append put it */
    uint64_t end;              /* where the next frame goes */
    uint8_t frame[MAX_FRAME];
} writer;

static int writer_poll(void *state, sim_world *w)
{
    writer *x = state;
    wal_run *r = x->run;
    int rc = SIM_OK;
    SIM_BEGIN(w, &x->co);
    if (crash_here(w, r)) SIM_RETURN(SIM_ECRASHED);
    SIM_AWAIT(rc, sim_disk_open_op(WAL_PATH, SIM_O_CREATE | SIM_O_EXCL, &x->log));
    if (rc != SIM_OK) SIM_RETURN(writer_failed(r, "open", 0, rc));
    /* The log's name must be durable too, or a crash may take the whole file. */
    if (crash_here(w, r)) SIM_RETURN(SIM_ECRASHED);
    SIM_AWAIT(rc, sim_disk_sync_dir_op(WAL_DIR));
    if (rc != SIM_OK) SIM_RETURN(writer_failed(r, "directory sync", 0, rc));
    for (x->i = 0; x->i < r->records; x->i++) {
        x->len = frame_encode(x->i, r->checksum, x->frame);
        if (crash_here(w, r)) SIM_RETURN(SIM_ECRASHED);
        r->started++;
        SIM_AWAIT(rc, sim_disk_append_op(&x->log, x->frame, x->len, &x->at));
        if (rc != SIM_OK) SIM_RETURN(writer_failed(r, "append", x->i, rc));
        if (x->at != x->end) SIM_RETURN(writer_failed(r, "append offset", x->i, SIM_EIO));
        x->end += x->len;
        if (crash_here(w, r)) SIM_RETURN(SIM_ECRASHED);
        SIM_AWAIT(rc, sim_disk_sync_op(&x->log));
        if (rc != SIM_OK) SIM_RETURN(writer_failed(r, "fsync", x->i, rc));
        r->acked++;
        sim_trace_note(w, "wal/ack", &x->i, sizeof x->i);
    }
    sim_file_close(w, &x->log);
    r->writer_done = r->writer_stopped = true;
    SIM_END(SIM_OK);
}

typedef struct recover_job {
    wal_run *run;
} recover_job;

/* Reads len bytes at off; returns SIM_OK with *whole false on a short read. */
static int read_exact(sim_world *w, const sim_file *f, void *buf, uint32_t len, uint64_t off,
                      bool *whole)
{
    size_t got = 0;
    int rc = sim_file_pread(w, f, buf, len, off, &got);
    *whole = rc == SIM_OK && got == len;
    return rc;
}

/* Parses frames from the start until the first invalid one. */
static wal_stop recover_frames(sim_world *w, wal_run *r, const sim_file *f)
{
    uint64_t off = 0, size = 0;
    if (sim_file_size(w, f, &size) != SIM_OK) return STOP_SHORT;
    for (;;) {
        if (off == size) return STOP_END;
        if (r->recovered == MAX_RECORDS) return STOP_FULL;
        uint8_t hdr[4], sum[4];
        uint8_t *payload = r->data[r->recovered];
        bool whole = false;
        r->recover_rc = read_exact(w, f, hdr, 4, off, &whole);
        if (!whole) return STOP_SHORT;
        uint32_t len = get_le32(hdr);
        if (len == 0 || len > MAX_PAYLOAD) return STOP_LENGTH;
        r->recover_rc = read_exact(w, f, payload, len, off + 4, &whole);
        if (!whole) return STOP_SHORT;
        if (r->checksum) {
            r->recover_rc = read_exact(w, f, sum, 4, off + 4 + len, &whole);
            if (!whole) return STOP_SHORT;
            if (get_le32(sum) != frame_sum(hdr, payload, len)) return STOP_CHECKSUM;
        }
        sim_trace_note(w, "wal/recovered", payload, len);
        r->rec_len[r->recovered++] = len;
        off += 4 + len + (r->checksum ? 4 : 0);
    }
}

static int recover_run(void *state, sim_world *w)
{
    wal_run *r = ((recover_job *)state)->run;
    r->recovery_ran = true;
    sim_file f;
    int rc = sim_file_open(w, WAL_PATH, 0, &f);
    if (rc == SIM_ENOENT) {
        r->stop = STOP_NO_LOG;
        return SIM_OK;
    }
    if (rc != SIM_OK) {
        r->recover_rc = rc;
        return rc;
    }
    r->stop = recover_frames(w, r, &f);
    sim_file_close(w, &f);
    return r->recover_rc;
}

static int wal_boot(void *ud, sim_world *w, sim_node_id node)
{
    wal_run *r = ud;
    uint32_t boots = sim_node_boots(w, node);
    if (boots == 1) {
        writer x = {.run = r};
        sim_task_desc d = {.name = "writer", .node = node, .poll = writer_poll, .state = &x,
                           .state_size = sizeof x};
        return sim_spawn(w, &d, NULL);
    }
    if (boots == 2) {
        recover_job j = {.run = r};
        sim_job_desc d = {.name = "recover", .node = node, .run = recover_run, .state = &j,
                          .state_size = sizeof j};
        return sim_spawn_blocking(w, &d, NULL);
    }
    return SIM_OK;
}

/* World level: waits until n1 is down (the writer crashed it) or the writer has stopped (then
 * crashes n1 itself, after everything was acknowledged or a disk error), and restarts it
 * 10 ms later. */
typedef struct supervisor {
    sim_co co;
    wal_run *run;
} supervisor;

static int supervisor_poll(void *state, sim_world *w)
{
    supervisor *s = state;
    wal_run *r = s->run;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    while (sim_node_status(w, r->n1) == SIM_NODE_UP && !r->writer_stopped) {
        SIM_TRY(sim_sleep(w, SIM_MS));
    }
    if (sim_node_status(w, r->n1) == SIM_NODE_UP) rc = sim_node_crash(w, r->n1);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    rc = sim_node_restart(w, r->n1);
    SIM_END(rc);
}

static int wal_setup(void *ud, sim_world *w, const sim_scenario *sc, void **run_state,
                     char *err, size_t err_size)
{
    wal_toy *t = ud;
    wal_run *r = calloc(1, sizeof *r);
    *run_state = r;
    if (r == NULL) return SIM_ENOMEM;
    r->checksum = t->checksum;
    r->records = (uint32_t)sim_scenario_uint(sc, "wal", "records");
    sim_node_desc nd = {.name = "n1", .boot = wal_boot, .boot_ud = r};
    int rc = sim_node_add(w, &nd, &r->n1);
    if (rc == SIM_OK) {
        supervisor s = {.run = r};
        sim_task_desc d = {.name = "supervisor", .poll = supervisor_poll, .state = &s,
                           .state_size = sizeof s};
        rc = sim_spawn(w, &d, NULL);
    }
    if (rc == SIM_OK && t->sweep != NULL) rc = sim_sweep_arm(t->sweep, w);
    if (rc != SIM_OK) snprintf(err, err_size, "wal setup: %s", sim_result_name(rc));
    return rc;
}

/* The oracle: a prefix of what was written, byte for byte, with every acknowledged record. */
static int wal_verdict(const wal_run *r, char *msg, size_t msg_size)
{
    if (r->writer_rc != SIM_OK) {
        snprintf(msg, msg_size, "the writer failed: %s", r->writer_err);
        return SIM_EINVAL;
    }
    if (!r->recovery_ran || r->recover_rc != SIM_OK) {
        snprintf(msg, msg_size, "recovery %s", r->recovery_ran ? "failed" : "never ran");
        return SIM_EINVAL;
    }
    for (uint32_t i = 0; i < r->recovered; i++) {
        if (i >= r->started) {
            snprintf(msg, msg_size, "recovered record %u (%u bytes), but only %u were written",
                     i, r->rec_len[i], r->started);
            return SIM_EINVAL;
        }
        uint32_t len = payload_len(i), j = 0;
        while (j < len && j < r->rec_len[i] && r->data[i][j] == payload_byte(i, j)) j++;
        if (r->rec_len[i] != len || j < len) {
            snprintf(msg, msg_size, "recovered record %u holds bytes never written (%u bytes "
                     "of %u, first wrong at byte %u)", i, r->rec_len[i], len, j);
            return SIM_EINVAL;
        }
    }
    if (r->recovered < r->acked) {
        snprintf(msg, msg_size, "lost acknowledged records: recovered %u of %u acknowledged",
                 r->recovered, r->acked);
        return SIM_EINVAL;
    }
    return SIM_OK;
}

static int wal_check(void *ud, void *run_state, sim_world *w, char *msg, size_t msg_size)
{
    wal_toy *t = ud;
    const wal_run *r = run_state;
    t->checks++;
    if (t->sweep != NULL) sim_sweep_end(t->sweep, w);
    int rc = wal_verdict(r, msg, msg_size);
    t->last = (wal_obs){.started = r->started, .acked = r->acked, .recovered = r->recovered,
                        .point_crash = r->point_crash, .writer_done = r->writer_done,
                        .recovery_ran = r->recovery_ran, .crash_hit = r->crash_hit,
                        .hits = sim_fault_hits(w, CRASH_POINT), .stop = r->stop};
    return rc;
}

static void wal_teardown(void *ud, void *run_state)
{
    (void)ud;
    free(run_state);
}

static uint32_t wal_nodes(void *ud, const sim_scenario *sc, const char **names, uint32_t max)
{
    (void)ud;
    (void)sc;
    if (max > 0) names[0] = "n1";
    return 1;
}

static const sim_key_spec wal_keys[] = {
    {"wal", "records", SIM_KEY_UINT, "40", NULL, 1, MAX_RECORDS, "records the writer appends"},
};

static const sim_fault_point wal_faults[] = {
    {CRASH_POINT, "the writer crashes its own node before its next disk operation"},
};

#define WAL_SYSTEM(toy, what)                                                                  \
    {                                                                                          \
        .name = "wal", .summary = what, .keys = wal_keys,                                      \
        .key_count = sizeof wal_keys / sizeof wal_keys[0], .setup = wal_setup,                 \
        .check = wal_check, .teardown = wal_teardown, .ud = &(toy), .faults = wal_faults,      \
        .fault_count = sizeof wal_faults / sizeof wal_faults[0], .nodes = wal_nodes,           \
    }

static const sim_system wal_checked_system =
    WAL_SYSTEM(CHECKED, "a write-ahead log whose frames carry a checksum");
static const sim_system wal_naive_system =
    WAL_SYSTEM(NAIVE, "a write-ahead log that trusts its length fields");

/* ---- scenarios ------------------------------------------------------------------------------- */

/* The suite's fini: the held scenarios, and the sweeps a test left switched on. */
static void wal_fini(void)
{
    release_held();
    CHECKED.sweep = NAIVE.sweep = NULL;
}

TestSuite(disk_wal, .fini = wal_fini);

/* Parses text as "wal.ini" against one toy; asserts success. */
static sim_scenario *parse_wal(const sim_system *sys, const char *text)
{
    const sim_system *const systems[] = {sys};
    return parse_held("wal.ini", text, systems, 1);
}

/* Tearing is likely and a torn sector not written holds garbage. */
static const char torn_ini[] = "[scenario]\n"
                               "name = wal-torn\n"
                               "system = wal\n"
                               "[disk]\n"
                               "sector = 512\n"
                               "crash_keep = 0.3\n"
                               "crash_torn = 0.6\n"
                               "torn_garbage = 1\n";

/* The hits of the crash point in a run without a crash: open, directory sync, and an append
 * and an fsync per record. */
#define TOTAL_HITS (2 + 2 * RECORDS)

/* What run k of a sweep must look like (the crash before hit k), beyond passing or not. */
static void assert_sweep_run(const wal_toy *t, uint64_t k)
{
    const wal_obs *o = &t->last;
    cr_assert(o->recovery_ran, "k = %llu: recovery never ran", (unsigned long long)k);
    if (k >= TOTAL_HITS) {
        cr_assert(not(o->point_crash));
        cr_assert(o->writer_done);
        cr_assert(eq(u64, o->hits, TOTAL_HITS));
        cr_assert(eq(u32, o->acked, RECORDS));
        return;
    }
    cr_assert(o->point_crash, "k = %llu: the crash point did not fire", (unsigned long long)k);
    cr_assert(eq(u64, o->crash_hit, k));
    cr_assert(eq(u64, o->hits, k + 1));
    /* hit 0: open; 1: directory sync; 2 + 2i: append i; 3 + 2i: fsync i */
    uint32_t acked = k < 2 ? 0 : (uint32_t)(k - 2) / 2;
    uint32_t started = k < 2 ? 0 : (uint32_t)(k - 1) / 2;
    cr_assert(eq(u32, o->acked, acked), "k = %llu", (unsigned long long)k);
    cr_assert(eq(u32, o->started, started), "k = %llu", (unsigned long long)k);
}

/* What a sweep of the checksummed toy saw, over its runs. */
typedef struct sweep_tally {
    uint32_t runs;
    uint32_t stops[STOP_KINDS];
    uint32_t pending_kept;     /* a crash with an append pending recovered it whole */
    uint32_t pending_dropped;  /* ... recovered only the acknowledged records */
} sweep_tally;

/* One complete countdown sweep of sut/wal/crash-here over the checksummed toy at `seed`:
 * setup arms each world, check ends it; every run must pass and look as its k says. */
static void sweep_checked(const sim_scenario *sc, uint64_t seed, sweep_tally *t)
{
    sim_sweep sw;
    sim_sweep_init(&sw, CRASH_POINT, 1000);
    CHECKED.sweep = &sw;
    CHECKED.checks = 0;
    uint32_t runs = 0;
    while (sim_sweep_next(&sw)) {
        cr_assert(lt(u32, runs, 2 * TOTAL_HITS), "the sweep does not end");
        sim_run_result r = run_seed(sc, seed);
        cr_assert(eq(str, (char *)r.result, "pass"), "seed %llu, k = %llu: %s: %s",
                  (unsigned long long)seed, (unsigned long long)sw.k, r.result, r.detail);
        cr_assert(eq(u32, CHECKED.checks, runs + 1));
        assert_sweep_run(&CHECKED, sw.k);
        const wal_obs *o = &CHECKED.last;
        t->stops[o->stop]++;
        if (o->started > o->acked) {
            t->pending_kept += o->recovered == o->started;
            t->pending_dropped += o->recovered == o->acked;
        } else {
            cr_assert(eq(u32, o->recovered, o->acked), "seed %llu, k = %llu: nothing was "
                      "pending", (unsigned long long)seed, (unsigned long long)sw.k);
        }
        runs++;
    }
    CHECKED.sweep = NULL;
    cr_assert(sw.complete, "seed %llu: the sweep ran out of runs, not of hits",
              (unsigned long long)seed);
    cr_assert(eq(u32, runs, TOTAL_HITS + 1));
    cr_assert(eq(u32, sw.runs, runs));
    t->runs += runs;
}

/* Goal: the checksummed log is crash-consistent at every crash point: for each k, a crash
 * of n1 just before the writer's disk operation number k (open, directory sync, append i or
 * fsync i) leaves a log whose recovery is a prefix of the records written, byte for byte,
 * that holds every acknowledged record; each sweep ends complete after 2 + 2 * 40 hits and
 * one run more that reaches none (its supervisor crashes n1 after the last ack). Across the
 * seeds, crashes between an append and its fsync do keep the pending record whole, do lose
 * it, and do tear its frame into garbage that recovery stops at (a bad checksum).
 * Method: the checksummed toy with 40 records under [disk] crash_keep = 0.3, crash_torn =
 * 0.6, torn_garbage = 1, sector = 512; a countdown sweep of sut/wal/crash-here, one world
 * per k, for seeds 1..6. Several seeds, because a world's crash stream is fresh in each
 * run: at one seed the single crash of every k draws the same outcome for its pending
 * append (all kept at seed 1), so one seed explores one outcome. */
Test(disk_wal, checksummed_log_survives_every_crash_point)
{
    sim_scenario *sc = parse_wal(&wal_checked_system, torn_ini);
    sweep_tally t = {0};
    for (uint64_t seed = 1; seed <= 6; seed++) sweep_checked(sc, seed, &t);
    scenario_done(sc);
    cr_assert(eq(u32, t.runs, 6 * (TOTAL_HITS + 1)));
    cr_assert(ge(u32, t.runs, RECORDS));
    cr_assert(eq(u32, t.pending_kept + t.pending_dropped, 6 * RECORDS));
    cr_assert(ge(u32, t.pending_kept, 1), "no pending append survived a crash");
    cr_assert(ge(u32, t.pending_dropped, 1), "every pending append survived its crash");
    cr_assert(ge(u32, t.stops[STOP_CHECKSUM], 1), "recovery never met a torn frame "
              "(%s %u, %s %u, %s %u)", stop_names[STOP_END], t.stops[STOP_END],
              stop_names[STOP_SHORT], t.stops[STOP_SHORT], stop_names[STOP_LENGTH],
              t.stops[STOP_LENGTH]);
    cr_assert(eq(u32, t.stops[STOP_FULL], 0));
    cr_assert(eq(u32, t.stops[STOP_NONE], 0));
    cr_log_info("checksummed log: %u runs; pending append kept %u, dropped %u; recovery "
                "stopped at: end %u, no log %u, short read %u, bad length %u, bad checksum %u",
                t.runs, t.pending_kept, t.pending_dropped, t.stops[STOP_END],
                t.stops[STOP_NO_LOG], t.stops[STOP_SHORT], t.stops[STOP_LENGTH],
                t.stops[STOP_CHECKSUM]);
}

/* Goal: the same sweep finds the bug of a log that trusts its length fields: for some k (a
 * crash between an append and its fsync, with the frame's header written and a later sector
 * of it garbage) recovery of the naive toy returns a record whose bytes were never written,
 * and the check says so; the checksummed toy passes that very seed and crash point.
 * Method: the sweep of the first test over the naive toy, seeds 1, 2, ... until some k
 * fails (at most 8 seeds); then the checksummed toy on that seed with fail_hit =
 * sut/wal/crash-here K, the scenario's own countdown. */
Test(disk_wal, naive_log_recovers_garbage)
{
    sim_scenario *sc = parse_wal(&wal_naive_system, torn_ini);
    uint64_t found_seed = 0, found_k = 0;
    uint32_t failures = 0;
    char detail[512] = "";
    for (uint64_t seed = 1; seed <= 8 && failures == 0; seed++) {
        sim_sweep sw;
        sim_sweep_init(&sw, CRASH_POINT, 1000);
        NAIVE.sweep = &sw;
        while (sim_sweep_next(&sw)) {
            cr_assert(lt(u32, sw.runs, 2 * TOTAL_HITS), "the sweep does not end");
            sim_run_result r = run_seed(sc, seed);
            assert_sweep_run(&NAIVE, sw.k);
            if (strcmp(r.result, "pass") == 0) continue;
            cr_assert(eq(str, (char *)r.result, "check"), "seed %llu k = %llu: %s: %s",
                      (unsigned long long)seed, (unsigned long long)sw.k, r.result, r.detail);
            /* Only an append left pending by the crash can hold garbage. */
            cr_assert(eq(u64, sw.k % 2, 1), "seed %llu k = %llu: %s", (unsigned long long)seed,
                      (unsigned long long)sw.k, r.detail);
            cr_assert(ge(u64, sw.k, 3));
            cr_assert(ne(ptr, strstr(r.detail, "never written"), NULL), "%s", r.detail);
            if (failures++ == 0) {
                found_seed = seed;
                found_k = sw.k;
                snprintf(detail, sizeof detail, "%s", r.detail);
            }
        }
        NAIVE.sweep = NULL;
        cr_assert(sw.complete);
    }
    scenario_done(sc);
    cr_assert(ge(u32, failures, 1), "no crash point of seeds 1..8 made the naive log recover "
              "garbage");
    cr_log_info("naive log: seed %llu, k = %llu (%u failing k in that seed): %s",
                (unsigned long long)found_seed, (unsigned long long)found_k, failures, detail);

    sim_scenario *ok = parse_wal(&wal_checked_system, torn_ini);
    char hit[64], err[512] = "";
    snprintf(hit, sizeof hit, CRASH_POINT " %llu", (unsigned long long)found_k);
    cr_assert(eq(int, sim_scenario_set(ok, "faults", "fail_hit", hit, err, sizeof err), SIM_OK),
              "%s", err);
    sim_run_result r = run_seed(ok, found_seed);
    scenario_done(ok);
    cr_assert(eq(str, (char *)r.result, "pass"), "%s: %s", r.result, r.detail);
    cr_assert(CHECKED.last.point_crash);
    cr_assert(eq(u64, CHECKED.last.crash_hit, found_k));
}

/* Goal: runs of the checksummed toy with random crash points are deterministic at scale:
 * each of 500 seeds run twice gives the same trace hash and the same drawn plan, the seeds
 * differ from each other, and every seed passes its check.
 * Method: [faults] sut/wal/crash-here = 0.02 (about 4 runs in 5 crash at a random point),
 * the default disk model but for crash_keep = 0.2..0.6, drawn per seed; seeds 1..500, twice
 * each. */
Test(disk_wal, random_crash_points_deterministic, .timeout = 60)
{
    sim_scenario *sc = parse_wal(&wal_checked_system, "[scenario]\n"
                                                      "name = wal-random\n"
                                                      "system = wal\n"
                                                      "[disk]\n"
                                                      "crash_keep = 0.2..0.6\n"
                                                      "[faults]\n"
                                                      "sut/wal/crash-here = 0.02\n");
    enum { SEEDS = 500 };
    static uint64_t hashes[SEEDS];
    uint32_t crashed = 0, plans_differ = 0;
    char first_plan[512] = "";
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        sim_run_result a = run_seed(sc, seed);
        bool point_crash = CHECKED.last.point_crash;
        sim_run_result b = run_seed(sc, seed);
        cr_assert(eq(str, (char *)a.result, "pass"), "seed %llu: %s: %s (plan %s)",
                  (unsigned long long)seed, a.result, a.detail, a.plan);
        cr_assert(eq(u64, a.hash, b.hash), "seed %llu: two runs differ",
                  (unsigned long long)seed);
        cr_assert(eq(str, a.plan, b.plan), "seed %llu", (unsigned long long)seed);
        cr_assert(eq(u64, a.steps, b.steps));
        cr_assert(eq(u64, a.events, b.events));
        cr_assert(eq(u32, a.faults, b.faults));
        cr_assert(eq(int, point_crash, CHECKED.last.point_crash));
        cr_assert(eq(u32, a.faults, point_crash ? 1 : 0), "seed %llu", (unsigned long long)seed);
        cr_assert(ne(ptr, strstr(a.plan, "crash_keep="), NULL), "plan: %s", a.plan);
        if (seed == 1) snprintf(first_plan, sizeof first_plan, "%s", a.plan);
        plans_differ += strcmp(a.plan, first_plan) != 0;
        crashed += point_crash;
        hashes[seed - 1] = a.hash;
    }
    scenario_done(sc);
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < SEEDS; i++) {
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++) seen = hashes[j] == hashes[i];
        distinct += !seen;
    }
    cr_assert(ge(u32, distinct, SEEDS - 5), "only %u distinct hashes in %d seeds", distinct,
              SEEDS);
    cr_assert(ge(u32, plans_differ, SEEDS / 2), "%u plans differ from seed 1's", plans_differ);
    cr_assert(ge(u32, crashed, 300), "the crash point fired in %u of %d seeds", crashed, SEEDS);
    cr_assert(le(u32, crashed, 480), "the crash point fired in %u of %d seeds", crashed, SEEDS);
}

/* Goal: sim_scenario_set on a [disk] key applies to the runs as the same line in the text
 * would (sim.h: "as if the file said `key = value`"), also when the text has no [disk]
 * section: with capacity = 4K, the writer's append that would grow the log past 4 KiB fails
 * with SIM_ENOSPC and the check reports it, in the same run (same trace hash) as that of a
 * text that says capacity = 4K. Method: the checksummed toy without crash points, seed 1:
 * once parsed with "[disk] capacity = 4K", once parsed without [disk] and given capacity =
 * 4K by sim_scenario_set; the canonical texts must agree too. */
Test(disk_wal, scenario_set_disk_key_applies)
{
    sim_scenario *file = parse_wal(&wal_checked_system, "[scenario]\n"
                                                        "name = wal-cap\n"
                                                        "system = wal\n"
                                                        "[disk]\n"
                                                        "capacity = 4K\n");
    sim_scenario *set = parse_wal(&wal_checked_system, "[scenario]\n"
                                                       "name = wal-cap\n"
                                                       "system = wal\n");
    char err[512] = "";
    cr_assert(eq(int, sim_scenario_set(set, "disk", "capacity", "4K", err, sizeof err), SIM_OK),
              "%s", err);
    cr_assert(eq(str, (char *)sim_scenario_canonical(set), (char *)sim_scenario_canonical(file)));
    sim_run_result a = run_seed(file, 1);
    wal_obs by_file = CHECKED.last;
    sim_run_result b = run_seed(set, 1);
    wal_obs by_set = CHECKED.last;
    scenario_done(set);
    scenario_done(file);
    cr_assert(eq(str, (char *)a.result, "check"), "%s: %s", a.result, a.detail);
    cr_assert(ne(ptr, strstr(a.detail, "SIM_ENOSPC"), NULL), "%s", a.detail);
    cr_assert(lt(u32, by_file.acked, RECORDS));
    cr_assert(eq(str, (char *)b.result, "check"), "capacity = 4K given by sim_scenario_set was "
              "ignored: %s (%u of %d records acknowledged; with the text: %s)", b.result,
              by_set.acked, RECORDS, a.detail);
    cr_assert(eq(str, b.detail, a.detail));
    cr_assert(eq(u64, b.hash, a.hash));
}
