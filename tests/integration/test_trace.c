/*
 * test_trace.c: the trace database and the commands that use it (run, replay, show, list,
 * check-determinism), run as a user would: the sim binary (SIM_BIN, set by make test) in a
 * fresh temporary directory per test, with scenario files written there, and the database
 * read and edited with the sqlite3 shell.
 *
 * What is checked: a recorded run replays identically and says so with the counts and hash
 * that list and the runs table hold; any change to a stored event or checkpoint is found at
 * the right place; a changed scenario file or binary is named; a database that is missing,
 * empty, foreign, text, truncated, newer or read-only is refused with exit 2 and left as it
 * was; Ctrl-C and SIGKILL leave a consistent database; two writers at once both get their
 * runs in; and the exit codes and lines that scripts rely on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cmdtest.h"

TestSuite(trace, .init = enter_dir, .fini = leave_dir);

/* events, hash as in "identical (E events, hash H)" for a run, from the runs table. */
static void run_figures(const char *db, uint64_t run, uint64_t *events, char *hash, size_t size)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT event_count FROM runs WHERE run_id = %llu",
             (unsigned long long)run);
    *events = sql_u64(db, "%s", q);
    snprintf(q, sizeof q, "SELECT printf('%%016x', trace_hash) FROM runs WHERE run_id = %llu",
             (unsigned long long)run);
    sql_text(db, q, hash, size);
    cr_assert(eq(sz, strlen(hash), 16), "hash '%s'", hash);
}

/* The "identical (E events, hash H)" line a replay of `run` must print. */
static void identical_line(const char *db, uint64_t run, char *buf, size_t size)
{
    uint64_t events;
    char hash[32];
    run_figures(db, run, &events, hash, sizeof hash);
    snprintf(buf, size, "identical (%llu events, hash %s)\n", (unsigned long long)events, hash);
}

/* ---- processes in the background ------------------------------------------------------------ */

/* Waits (up to 60 s of host time) until db holds at least `want` runs; true if it does. The
 * only host-time dependence in these tests: how long to wait, never what is asserted. */
static bool wait_for_runs(const char *db, uint64_t want, pid_t pid)
{
    for (int i = 0; i < 1200; i++) {
        if (runs_so_far(db) >= want) return true;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return false;
        nap_ms(50);
    }
    return false;
}

/* ---- scenario files ------------------------------------------------------------------------- */

static const char demo_ini[] = "; the demo under its default chaos\n"
                               "[scenario]\n"
                               "name = demo\n"
                               "system = demo\n"
                               "seeds = 1..5\n";

static const char deadlock_ini[] = "[scenario]\n"
                                   "name = dl\n"
                                   "system = demo\n"
                                   "seeds = 1..3\n"
                                   "expect = fail\n"
                                   "\n"
                                   "[demo]\n"
                                   "bug = deadlock\n";

static const char lost_ini[] = "[scenario]\n"
                               "name = lost\n"
                               "system = demo\n"
                               "seeds = 1..3\n"
                               "expect = pass\n"
                               "\n"
                               "[demo]\n"
                               "bug = lost-reply\n";

/* Checkpoints every 16 steps: a demo run (about 137 steps) has nine of them. */
static const char checkpoints_ini[] = "[scenario]\n"
                                      "name = cp\n"
                                      "system = demo\n"
                                      "seeds = 1..2\n"
                                      "checkpoint_every = 16\n";

/* Records demo.ini seeds 1..5 with every event into t.db. */
static void record_demo_full(void)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, WORDS("5 passed, 0 failed\n"), "run demo.ini --db t.db --record full");
}

/* One row of `sim list`. */
typedef struct list_entry {
    unsigned long long run, seed, events, steps;
    char scenario[64], result[32], vtime[32], hash[32];
} list_entry;

/* Finds run `run` in the output of sim list; false if it is not there. */
static bool list_find(const char *text, uint64_t run, list_entry *e)
{
    for (const char *line = text; *line != '\0';) {
        if (sscanf(line, "%llu %63s %llu %31s %llu %llu %31s %31s", &e->run, e->scenario,
                   &e->seed, e->result, &e->events, &e->steps, e->vtime, e->hash) == 8 &&
            e->run == run) {
            return true;
        }
        const char *nl = strchr(line, '\n');
        if (nl == NULL) break;
        line = nl + 1;
    }
    return false;
}

/* ---- round trips ---------------------------------------------------------------------------- */

/* Goal: a run recorded with every event replays identically, and the replay's event count
 * and hash are the ones `sim list` and the runs table show. Method: record demo seeds 1..5
 * with --record full; for each run compare list's row, runs.event_count/trace_hash, the
 * number of stored events and the replay's "identical (E events, hash H)" line; exit 0. */
Test(trace, round_trip_full)
{
    record_demo_full();
    out list = SIM("list --db t.db");
    expect(&list, 0, WORDS("5 run(s)\n"));
    for (uint64_t run = 1; run <= 5; run++) {
        list_entry e;
        cr_assert(eq(int, list_find(list.text, run, &e), true), "run %llu:\n%s",
                  (unsigned long long)run, list.text);
        uint64_t events;
        char hash[32], q[256], line[128];
        run_figures("t.db", run, &events, hash, sizeof hash);
        cr_assert(eq(u64, e.events, events));
        cr_assert(eq(str, e.hash, hash));
        cr_assert(eq(u64, e.seed, run));
        cr_assert(eq(str, e.scenario, "demo"));
        snprintf(q, sizeof q, "SELECT count(*) FROM events WHERE run_id = %llu",
                 (unsigned long long)run);
        cr_assert(eq(u64, sql_u64("t.db", "%s", q), events));
        cr_assert(lt(u64, 100, events));
        out r = SIM("replay --db t.db %llu", (unsigned long long)run);
        snprintf(line, sizeof line, "identical (%llu events, hash %s)\n", e.events, e.hash);
        char head[128];
        snprintf(head, sizeof head, "run %llu: demo seed %llu, recorded pass, replayed pass\n",
                 (unsigned long long)run, (unsigned long long)run);
        expect(&r, 0, WORDS(line, head));
        cr_assert(eq(ptr, strstr(r.text, "has changed"), NULL), "%s", r.text);
        out_free(&r);
    }
    out_free(&list);
}

/* Goal: under --record fail (the default) a failing run has all its events stored and
 * replays identically; a passing run has none and replays by checkpoints. Method: a
 * deadlock scenario (expect = fail, seeds 1..3) and the plain demo (seeds 1..5) in one
 * `sim run`; check events_stored, the event rows against event_count, the replays, and
 * what `sim show` says about a passing run. */
Test(trace, round_trip_record_fail)
{
    write_file("dl.ini", deadlock_ini);
    write_file("demo.ini", demo_ini);
    sim_expect(0, WORDS("5 passed, 3 failed\n", "found dl seed 2  deadlock"),
               "run dl.ini demo.ini --db t.db");
    for (uint64_t run = 1; run <= 8; run++) {
        char q[256], line[128];
        bool failing = run <= 3;
        snprintf(q, sizeof q, "SELECT events_stored FROM runs WHERE run_id = %llu",
                 (unsigned long long)run);
        cr_assert(eq(u64, sql_u64("t.db", "%s", q), failing ? 1 : 0), "run %llu",
                  (unsigned long long)run);
        snprintf(q, sizeof q, "SELECT count(*) FROM events WHERE run_id = %llu",
                 (unsigned long long)run);
        uint64_t stored = sql_u64("t.db", "%s", q);
        snprintf(q, sizeof q, "SELECT event_count FROM runs WHERE run_id = %llu",
                 (unsigned long long)run);
        uint64_t counted = sql_u64("t.db", "%s", q);
        cr_assert(lt(u64, 100, counted));
        cr_assert(eq(u64, stored, failing ? counted : 0), "run %llu", (unsigned long long)run);
        if (failing) {
            identical_line("t.db", run, line, sizeof line);
            sim_expect(0, WORDS(line, "recorded deadlock, replayed deadlock"),
                       "replay --db t.db %llu", (unsigned long long)run);
        } else {
            sim_expect(0, WORDS("identical by checkpoints", "record mode fail"),
                       "replay --db t.db %llu", (unsigned long long)run);
        }
    }
    sim_expect(2, WORDS("run 5 has no stored events (recorded with --record fail, and it passed)",
                        "sim replay --db t.db 5 --events"),
               "show --db t.db 5");
}

/* ---- tampering with stored events ----------------------------------------------------------- */

/* Goal: a replay checks every field of every stored event: a change to any column of one
 * event row is reported, and undoing the change makes the replay identical again. A change
 * that leaves a valid event is a divergence at that event and at the step the row holds; one
 * that makes it an event no run records (an unknown kind, a step or time before the previous
 * event's) is refused as a damaged file, naming the event, when the store reads it back.
 * Method: record demo seed 1 with every event; for each column of events and for the first,
 * the tenth, a middle and the last event, change the value with the sqlite3 shell, replay
 * (exit 1, "diverged at step X (event S)", or exit 2, "event S' has ... the file is
 * damaged"), restore the value and replay (exit 0, "identical (E events, hash H)"). */
Test(trace, tamper_each_event_column)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, WORDS("1 passed, 0 failed\n"), "run demo.ini --seed 1 --db t.db --record full");
    char ident[128];
    identical_line("t.db", 1, ident, sizeof ident);
    uint64_t n = sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = 1");
    cr_assert(lt(u64, 100, n));
    const char *cols[] = {"step", "vtime_ns", "node", "task", "kind", "a", "b", "detail"};
    uint64_t seqs[] = {0, 9, n / 2, n - 1};
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
            const char *col = cols[c];
            unsigned long long seq = seqs[s];
            char q[512], orig[256];
            snprintf(q, sizeof q, "SELECT quote(%s) FROM events WHERE run_id = 1 AND seq = %llu",
                     col, seq);
            sql_text("t.db", q, orig, sizeof orig);
            snprintf(q, sizeof q, "SELECT step FROM events WHERE run_id = 1 AND seq = %llu", seq);
            uint64_t step = sql_u64("t.db", "%s", q);
            bool is_detail = strcmp(col, "detail") == 0;
            snprintf(q, sizeof q, "UPDATE events SET %s = %s%s WHERE run_id = 1 AND seq = %llu",
                     col, is_detail ? "COALESCE(detail, '') || '~'" : col,
                     is_detail ? "" : " + 1", seq);
            sql_do("t.db", q);
            if (strcmp(col, "step") == 0) step++;
            /* Whether the change made an event no run records, and which one. */
            unsigned long long bad = UINT64_MAX;
            if (strcmp(col, "kind") == 0) {
                snprintf(q, sizeof q, "SELECT kind FROM events WHERE run_id = 1 AND seq = %llu",
                         seq);
                uint64_t kind = sql_u64("t.db", "%s", q);
                if (strcmp(sim_event_kind_name((sim_event_kind)kind), "?") == 0) bad = seq;
            }
            if ((strcmp(col, "step") == 0 || strcmp(col, "vtime_ns") == 0) && seq + 1 < n) {
                snprintf(q, sizeof q, "SELECT (SELECT %s FROM events WHERE run_id = 1 AND "
                         "seq = %llu) > (SELECT %s FROM events WHERE run_id = 1 AND seq = %llu)",
                         col, seq, col, seq + 1);
                if (sql_u64("t.db", "%s", q) == 1) bad = seq + 1;
            }
            char want[128];
            if (bad != UINT64_MAX) {
                snprintf(want, sizeof want, "run 1: event %llu has ", bad);
            } else {
                snprintf(want, sizeof want, "diverged at step %llu (event %llu)\n",
                         (unsigned long long)step, seq);
            }
            out r = SIM("replay --db t.db 1");
            cr_assert(eq(int, r.status, bad != UINT64_MAX ? 2 : 1),
                      "%s changed at event %llu:\n%s", col, seq, r.text);
            if (bad != UINT64_MAX) {
                cr_assert(ne(ptr, strstr(r.text, "damaged"), NULL), "%s", r.text);
            }
            cr_assert(ne(ptr, strstr(r.text, want), NULL),
                      "%s changed at event %llu: want %s in\n%s", col, seq, want, r.text);
            cr_assert(eq(ptr, strstr(r.text, "identical"), NULL), "%s", r.text);
            out_free(&r);
            snprintf(q, sizeof q, "UPDATE events SET %s = %s WHERE run_id = 1 AND seq = %llu",
                     col, orig, seq);
            sql_do("t.db", q);
            r = SIM("replay --db t.db 1");
            cr_assert(eq(int, r.status, 0), "%s restored at event %llu:\n%s", col, seq, r.text);
            cr_assert(ne(ptr, strstr(r.text, ident), NULL), "want %s in\n%s", ident, r.text);
            out_free(&r);
        }
    }
}

/* Goal: a missing last event or an extra one after it is a divergence at that index, shown
 * with "the run ended" on the short side. Method: delete the last stored event, replay;
 * restore it and append a copy of it as one more event, replay. */
Test(trace, tamper_missing_and_extra_events)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 2 --db t.db --record full");
    uint64_t n = sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = 1");
    uint64_t last_step = sql_u64("t.db", "SELECT max(step) FROM events WHERE run_id = 1");
    char q[512], want[128], ended[128];
    sql_do("t.db", "CREATE TABLE saved AS SELECT * FROM events WHERE run_id = 1");
    snprintf(q, sizeof q, "DELETE FROM events WHERE run_id = 1 AND seq = %llu",
             (unsigned long long)(n - 1));
    sql_do("t.db", q);
    snprintf(want, sizeof want, "diverged at step %llu (event %llu)\n",
             (unsigned long long)last_step, (unsigned long long)(n - 1));
    snprintf(ended, sizeof ended, "> (no event %llu: the run ended)",
             (unsigned long long)(n - 1));
    sim_expect(1, WORDS(want, ended), "replay --db t.db 1");
    snprintf(q, sizeof q,
             "INSERT INTO events SELECT * FROM saved WHERE seq = %llu; "
             "INSERT INTO events SELECT run_id, seq + 1, step, vtime_ns, node, task, kind, a, b, "
             "detail FROM saved WHERE seq = %llu",
             (unsigned long long)(n - 1), (unsigned long long)(n - 1));
    sql_do("t.db", q);
    snprintf(want, sizeof want, "diverged at step %llu (event %llu)\n",
             (unsigned long long)last_step, (unsigned long long)n);
    snprintf(ended, sizeof ended, "> (no event %llu: the run ended)", (unsigned long long)n);
    sim_expect(1, WORDS(want, ended), "replay --db t.db 1");
}

/* Goal: event fields are u64 "stored bit for bit" in SQLite's signed integers (store.c), so
 * a step with the top bit set must read back like any other: as the largest step, which the
 * next event's then goes back from. Method: set the step of event 9 to -1 (2^64 - 1 as u64)
 * and replay: exit 2, event 10 has a step before event 9's step 18446744073709551615; set the
 * last event's step to -1: a divergence at step 18446744073709551615 there. */
Test(trace, tamper_step_with_top_bit)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record full");
    uint64_t step9 = sql_u64("t.db", "SELECT step FROM events WHERE run_id = 1 AND seq = 9");
    sql_do("t.db", "UPDATE events SET step = -1 WHERE run_id = 1 AND seq = 9");
    sim_expect(2, WORDS("event 10 has a step before the previous event's (event 9: step "
                        "18446744073709551615 at"),
               "replay --db t.db 1");
    char q[160], want[128];
    snprintf(q, sizeof q, "UPDATE events SET step = %llu WHERE run_id = 1 AND seq = 9",
             (unsigned long long)step9);
    sql_do("t.db", q);
    uint64_t last = sql_u64("t.db", "SELECT max(seq) FROM events WHERE run_id = 1");
    snprintf(q, sizeof q, "UPDATE events SET step = -1 WHERE run_id = 1 AND seq = %llu",
             (unsigned long long)last);
    sql_do("t.db", q);
    snprintf(want, sizeof want, "diverged at step 18446744073709551615 (event %llu)\n",
             (unsigned long long)last);
    sim_expect(1, WORDS(want), "replay --db t.db 1");
}

/* Goal: a replay that compares events also holds the run to its recorded hash: if the
 * runs row says another hash than the replay computes, "identical" would be false.
 * Method: record with every event, add 1 to runs.trace_hash, replay: expect exit 1 and no
 * "identical". */
Test(trace, replay_with_events_checks_recorded_hash)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 3 --db t.db --record full");
    sql_do("t.db", "UPDATE runs SET trace_hash = trace_hash + 1 WHERE run_id = 1");
    out r = SIM("replay --db t.db 1");
    cr_assert(eq(int, r.status, 1), "a recorded hash the replay does not reproduce:\n%s", r.text);
    cr_assert(eq(ptr, strstr(r.text, "identical"), NULL), "%s", r.text);
    out_free(&r);
}

/* ---- runs recorded without events ----------------------------------------------------------- */

/* "diverged between step A and step B (checkpoint K)" for checkpoint k of run 1. */
static void checkpoint_divergence(uint64_t k, char *buf, size_t size)
{
    char q[256];
    uint64_t lo = 0;
    if (k > 0) {
        snprintf(q, sizeof q, "SELECT step FROM checkpoints WHERE run_id = 1 AND seq = %llu",
                 (unsigned long long)(k - 1));
        lo = sql_u64("t.db", "%s", q);
    }
    snprintf(q, sizeof q, "SELECT step FROM checkpoints WHERE run_id = 1 AND seq = %llu",
             (unsigned long long)k);
    uint64_t hi = sql_u64("t.db", "%s", q);
    snprintf(buf, size, "diverged between step %llu and step %llu (checkpoint %llu)",
             (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)k);
}

/* Goal: --record off stores checkpoints and no events; the replay compares checkpoints,
 * says so, and locates a changed checkpoint hash between the right steps; `sim show` on
 * such a run exits 2 and tells how to see its events, and that command works. Method: a
 * scenario with a checkpoint every 16 steps, --record off; replay; add 1 to every stored
 * checkpoint hash of the run, then to the 4th and to the last one only; restore each time. */
Test(trace, record_off_checkpoints)
{
    write_file("cp.ini", checkpoints_ini);
    sim_expect(0, WORDS("2 passed, 0 failed\n"), "run cp.ini --db t.db --record off");
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM events"), 0));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT sum(events_stored) FROM runs"), 0));
    uint64_t n = sql_u64("t.db", "SELECT count(*) FROM checkpoints WHERE run_id = 1");
    cr_assert(ge(u64, n, 5), "a demo run of ~137 steps, a checkpoint every 16");
    char want[256];
    snprintf(want, sizeof want,
             "identical by checkpoints (%llu compared; events were not stored: record mode off)",
             (unsigned long long)n);
    sim_expect(0, WORDS(want), "replay --db t.db 1");

    sql_do("t.db", "UPDATE checkpoints SET hash = hash + 1 WHERE run_id = 1");
    checkpoint_divergence(0, want, sizeof want);
    sim_expect(1, WORDS(want, "run it with --record full to see the step"), "replay --db t.db 1");
    sql_do("t.db", "UPDATE checkpoints SET hash = hash - 1 WHERE run_id = 1");
    sim_expect(0, WORDS("identical by checkpoints"), "replay --db t.db 1");

    uint64_t ks[] = {3, n - 1};
    for (size_t i = 0; i < 2; i++) {
        char q[256];
        snprintf(q, sizeof q, "UPDATE checkpoints SET hash = hash + 1 WHERE run_id = 1 AND "
                              "seq = %llu", (unsigned long long)ks[i]);
        sql_do("t.db", q);
        checkpoint_divergence(ks[i], want, sizeof want);
        sim_expect(1, WORDS(want), "replay --db t.db 1");
        snprintf(q, sizeof q, "UPDATE checkpoints SET hash = hash - 1 WHERE run_id = 1 AND "
                              "seq = %llu", (unsigned long long)ks[i]);
        sql_do("t.db", q);
        sim_expect(0, WORDS("identical by checkpoints"), "replay --db t.db 1");
    }
    sql_do("t.db", "UPDATE checkpoints SET hash = hash + 1 WHERE run_id = 2");
    sim_expect(0, WORDS("identical by checkpoints"), "replay --db t.db 1");
    sim_expect(1, WORDS("diverged between step 0 and step"), "replay --db t.db 2");

    sim_expect(2, WORDS("run 1 has no stored events (recorded with --record off)",
                        "its events: sim replay --db t.db 1 --events"),
               "show --db t.db 1");
    uint64_t events = sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 1");
    out r = SIM("replay --db t.db 1 --events | grep -c -E '^ +[0-9]+ +[0-9]+\\.[0-9]{6}s '");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    cr_assert(eq(u64, strtoull(r.text, NULL, 10), events), "%s", r.text);
    out_free(&r);
}

/* Goal: --record off keeps a failing run as it keeps a passing one: the run row with its
 * result and failure detail, its checkpoints, and nothing else: no events, decisions,
 * faults or history (issue 15, defect 6: every failing seed was run again and stored with
 * every event, 5.7 GB for a 36,000-seed suite). The replay line still works, by
 * checkpoints. Method: the demo's planted deadlock (three failing seeds) and kv's planted
 * stale index over seeds 39..40 (both fail the linearizability check, with faults and a
 * history), --record off; the tables counted with the sqlite3 shell; a replay. */
Test(trace, record_off_stores_no_events_of_failures)
{
    write_file("dl.ini", deadlock_ini);
    char kv[512];
    snprintf(kv, sizeof kv, "%s/scenarios/kv/bug-stale-index.ini", getenv("SIM_SRC"));
    sim_expect(0, WORDS("found dl seed 1  deadlock", "0 passed, 3 failed\n"),
               "run dl.ini --db t.db --record off");
    sim_expect(0, WORDS("found kv-bug-stale-index seed 39  check: not linearizable",
                        "0 passed, 2 failed\n"),
               "run %s --seeds 39..40 --db t.db --record off", kv);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE result <> 'pass' AND "
                                      "detail <> '' AND record_mode = 'off' AND "
                                      "events_stored = 0"), 5));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE fault_count > 0"), 2));
    const char *none[] = {"events", "decisions", "faults", "history"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM %s", none[i]), 0), "%s",
                  none[i]);
    }
    cr_assert(ge(u64, sql_u64("t.db", "SELECT count(DISTINCT run_id) FROM checkpoints"), 5));
    sim_expect(0, WORDS("identical by checkpoints", "record mode off", "recorded deadlock, "
                        "replayed deadlock"),
               "replay --db t.db 1");
    sim_expect(0, WORDS("identical by checkpoints", "recorded check, replayed check"),
               "replay --db t.db 4");
}

/* Goal: a run recorded without events whose checkpoints all match but whose final hash does
 * not is reported sensibly: exit 1, and a message that names no checkpoint that does not
 * exist. Method: --record off, add 1 to runs.trace_hash, replay. */
Test(trace, record_off_final_hash_mismatch)
{
    write_file("cp.ini", checkpoints_ini);
    sim_expect(0, NULL, "run cp.ini --seed 1 --db t.db --record off");
    sql_do("t.db", "UPDATE runs SET trace_hash = trace_hash + 1 WHERE run_id = 1");
    out r = SIM("replay --db t.db 1");
    expect(&r, 1, WORDS("diverged"));
    cr_assert(eq(ptr, strstr(r.text, "checkpoint 4294967295"), NULL),
              "names a checkpoint that does not exist:\n%s", r.text);
    out_free(&r);
}

/* ---- what changed since the recording ------------------------------------------------------- */

/* Goal: a replay names every scenario key that changed since the run was recorded, with
 * its old and new value, and still replays the recorded configuration identically; a run
 * recorded by another binary gets a note. Method: record, then edit strategy and [demo]
 * ticks in the file; replay. Then set runs.binary_version of run 2 to an older version and
 * replay it. */
Test(trace, changed_scenario_and_binary_are_named)
{
    write_file("ed.ini", "[scenario]\nname = ed\nsystem = demo\nseeds = 1..2\n\n[demo]\n"
                         "ticks = 20\n");
    sim_expect(0, NULL, "run ed.ini --db t.db --record full");
    char ident[128];
    identical_line("t.db", 1, ident, sizeof ident);
    sim_expect(0, WORDS(ident), "replay --db t.db 1");
    write_file("ed.ini", "[scenario]\nname = ed\nsystem = demo\nseeds = 1..2\nstrategy = fifo\n"
                         "\n[demo]\nticks = 25\n");
    out r = SIM("replay --db t.db 1");
    expect(&r, 0,
           WORDS("note: ed.ini has changed since run 1 was recorded; replaying the recorded "
                 "configuration",
                 "[scenario] strategy = fifo  was: strategy = random",
                 "[demo] ticks = 25  was: ticks = 20", ident));
    cr_assert(eq(ptr, strstr(r.text, "seeds ="), NULL), "an unchanged key is listed:\n%s",
              r.text);
    cr_assert(eq(ptr, strstr(r.text, "was recorded by"), NULL), "%s", r.text);
    out_free(&r);

    sql_do("t.db", "UPDATE runs SET binary_version = 'sim 0.0.9 (git 000000000000)' "
                   "WHERE run_id = 2");
    identical_line("t.db", 2, ident, sizeof ident);
    sim_expect(0,
               WORDS("note: run 2 was recorded by sim 0.0.9 (git 000000000000); this is sim "
                     SIM_VERSION_STRING,
                     "has changed since run 2 was recorded", ident),
               "replay --db t.db 2");
}

/* Goal: a recorded configuration can always be replayed, whatever the file looked like:
 * the run records the canonical text, and replay parses it. Method: a file with the
 * longest description allowed (150 characters), written "description=..." (the canonical
 * form adds two blanks); run with --record full, replay: exit 0, identical. */
Test(trace, replay_of_long_description)
{
    char text[512], desc[151];
    memset(desc, 'd', sizeof desc - 1);
    desc[sizeof desc - 1] = '\0';
    snprintf(text, sizeof text, "[scenario]\nname = long\nsystem = demo\ndescription=%s\n", desc);
    write_file("long.ini", text);
    sim_expect(0, WORDS("1 passed, 0 failed"), "run long.ini --seed 1 --db t.db --record full");
    char ident[128];
    identical_line("t.db", 1, ident, sizeof ident);
    sim_expect(0, WORDS(ident), "replay --db t.db 1");
}

/* ---- bad databases -------------------------------------------------------------------------- */

/* The read commands on db: each exits 2 with "sim: DB: " and `says`. */
static void read_commands_refuse(const char *db, const char *says)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "sim: %s: ", db);
    sim_expect(2, WORDS(prefix, says), "list --db %s", db);
    sim_expect(2, WORDS(prefix, says), "show --db %s 1", db);
    sim_expect(2, WORDS(prefix, says), "replay --db %s 1", db);
}

/* Every read command and `sim run --db` refuse db with `says`, and leave it byte for byte as
 * it was, with no journal beside it. */
static void all_commands_refuse_unchanged(const char *db, const char *says)
{
    size_t len_before, len_after;
    char *before = read_bytes(db, &len_before);
    read_commands_refuse(db, says);
    write_file("demo.ini", demo_ini);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "sim: %s: ", db);
    out r = SIM("run demo.ini --seeds 1..2 --db %s", db);
    expect(&r, 2, WORDS(prefix, says));
    cr_assert(eq(ptr, strstr(r.text, "passed"), NULL), "seeds ran:\n%s", r.text);
    out_free(&r);
    char *after = read_bytes(db, &len_after);
    cr_assert(eq(sz, len_after, len_before));
    cr_assert(eq(int, memcmp(before, after, len_before), 0), "%s was changed", db);
    release(before);
    release(after);
    char side[128];
    snprintf(side, sizeof side, "%s-journal", db);
    cr_assert(eq(int, exists(side), false), "%s was left behind", side);
    snprintf(side, sizeof side, "%s-wal", db);
    cr_assert(eq(int, exists(side), false), "%s was left behind", side);
}

/* Goal: the read commands on a database that does not exist say so, exit 2 and do not
 * create it; a directory is not a database either. Method: list, show, replay on
 * missing.db; then on the test directory itself. */
Test(trace, bad_db_missing)
{
    read_commands_refuse("missing.db", "no such file");
    cr_assert(eq(int, exists("missing.db"), false), "a read command created the database");
    cr_assert(eq(int, exists("missing.db-wal"), false));
    cr_assert(eq(int, exists("missing.db-journal"), false));
    read_commands_refuse(".", "not a regular file");
}

/* Goal: an empty file is not a database for the read commands (exit 2, "empty"), stays
 * empty, and `sim run --db` makes it one. Method: a 0-byte file; list, show, replay; then
 * run and list. */
Test(trace, bad_db_empty)
{
    write_file("e.db", "");
    read_commands_refuse("e.db", "empty: not a sim database yet (sim run --db creates one)");
    size_t len;
    release(read_bytes("e.db", &len));
    cr_assert(eq(sz, len, 0));
    write_file("demo.ini", demo_ini);
    sim_expect(0, WORDS("2 passed, 0 failed"), "run demo.ini --seeds 1..2 --db e.db");
    sim_expect(0, WORDS("2 run(s)"), "list --db e.db");
}

/* Goal: another program's SQLite database is refused by every command and never touched.
 * Method: a database made with the sqlite3 shell; list, show, replay and run: exit 2, "not
 * a sim database"; the file is byte for byte the same and its rows are intact. */
Test(trace, bad_db_foreign)
{
    sql_do("f.db", "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT); "
                   "INSERT INTO accounts VALUES (1, 'ada'), (2, 'grace')");
    all_commands_refuse_unchanged("f.db", "not a sim database");
    cr_assert(eq(u64, sql_u64("f.db", "SELECT count(*) FROM accounts"), 2));
    cr_assert(eq(u64, sql_u64("f.db", "SELECT count(*) FROM sqlite_master"), 1));
}

/* Goal: a text file is refused by every command and left alone. Method: a file of text;
 * list, show, replay and run: exit 2, "not a sim database"; unchanged. */
Test(trace, bad_db_text)
{
    write_file("notes.db", "these are my notes, not a database\n");
    all_commands_refuse_unchanged("notes.db", "not a sim database (not an SQLite file at all)");
}

/* Goal: a sim database cut to a third of its size is reported as corrupt or truncated by
 * every command, which exit 2 and leave it as it is. Method: record demo seeds 1..20 with
 * every event, truncate the file to a third, run the commands. */
Test(trace, bad_db_truncated)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seeds 1..20 --db t.db --record full");
    cr_assert(eq(int, exists("t.db-wal"), false), "sim left its WAL: the cut would be partial");
    struct stat sb;
    cr_assert(eq(int, stat("t.db", &sb), 0));
    cr_assert(lt(i64, 65536, (int64_t)sb.st_size));
    cr_assert(eq(int, truncate("t.db", sb.st_size / 3), 0));
    all_commands_refuse_unchanged("t.db", "corrupt or truncated");
}

/* Goal: a run whose stored events stop reading part way (a damaged page of the events table)
 * makes `sim replay` exit 2 naming the file and what it was reading, and free the events
 * it had read: under make check LeakSanitizer failed the command before (issue 15, defect
 * 8: cmd_replay.c returned without freeing them). `sim show` says the same. Method: one
 * demo seed with every event; the middle leaf page of the events table, found with the
 * dbstat table, overwritten with 0xff bytes; replay, show. */
Test(trace, replay_of_damaged_events_frees_them)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record full");
    cr_assert(eq(int, exists("t.db-wal"), false), "sim left its WAL: the damage would be lost");
    uint64_t leaves = sql_u64("t.db", "SELECT count(*) FROM dbstat WHERE name = 'events' AND "
                                      "pagetype = 'leaf'");
    cr_assert(ge(u64, leaves, 3), "the events fill %llu leaf page(s)", (unsigned long long)leaves);
    uint64_t page = sql_u64("t.db", "SELECT pageno FROM dbstat WHERE name = 'events' AND "
                                    "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET %llu",
                            (unsigned long long)(leaves / 2));
    uint64_t size = sql_u64("t.db", "PRAGMA page_size");
    FILE *f = fopen("t.db", "r+b");
    cr_assert(ne(ptr, f, NULL));
    cr_assert(eq(int, fseek(f, (long)((page - 1) * size), SEEK_SET), 0));
    for (uint64_t i = 0; i < size; i++) fputc(0xff, f);
    cr_assert(eq(int, fclose(f), 0));
    out r = SIM("replay --db t.db 1");
    expect(&r, 2, WORDS("sim: t.db: the database is corrupt or truncated (reading events"));
    cr_assert(eq(ptr, strstr(r.text, "LeakSanitizer"), NULL), "%s", r.text);
    out_free(&r);
    sim_expect(2, WORDS("sim: t.db: the database is corrupt or truncated (reading events"),
               "show --db t.db 1");
}

/* Goal: a database written by a newer sim (a higher schema_version) is refused by every
 * command, exit 2, and not modified. Method: record, set meta.schema_version to 6 with the
 * sqlite3 shell, run the commands. */
Test(trace, bad_db_newer_schema)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seeds 1..2 --db t.db --record full");
    sql_do("t.db", "UPDATE meta SET value = 6 WHERE key = 'schema_version'");
    all_commands_refuse_unchanged("t.db",
                                  "written by a newer sim (schema version 6; this sim "
                                  SIM_VERSION_STRING " reads 5)");
}

/* Goal: `sim run --db` on a database it may not write exits 2 with "read-only" and changes
 * nothing; reading it still works. Method: a recorded database with mode 444 in a
 * directory anyone may write; as root (whom modes do not stop) the command runs as the
 * user nobody. Skipped only when not root and the file is still writable. */
Test(trace, bad_db_read_only)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seeds 1..2 --db ro.db --record full");
    cr_assert(eq(int, chmod(test_dir, 0777), 0));
    cr_assert(eq(int, chmod("ro.db", 0444), 0));
    cr_assert(eq(int, chmod("demo.ini", 0444), 0));
    size_t len_before, len_after;
    char *before = read_bytes("ro.db", &len_before);
    out r;
    if (geteuid() == 0) {
        r = sh("su nobody -s /bin/sh -c 'cd %s && %s run demo.ini --seeds 3..4 --db ro.db'",
               test_dir, sim_bin());
    } else {
        if (access("ro.db", W_OK) == 0) cr_skip_test("ro.db is writable after chmod 444");
        r = SIM("run demo.ini --seeds 3..4 --db ro.db");
    }
    expect(&r, 2, WORDS("sim: ro.db: read-only: cannot record runs in it"));
    cr_assert(eq(ptr, strstr(r.text, "passed"), NULL), "seeds ran:\n%s", r.text);
    out_free(&r);
    char *after = read_bytes("ro.db", &len_after);
    cr_assert(eq(sz, len_after, len_before));
    cr_assert(eq(int, memcmp(before, after, len_before), 0), "ro.db was changed");
    release(before);
    release(after);
    sim_expect(0, WORDS("2 run(s)"), "list --db ro.db");
}

/* Three register runs with their events and histories, for the read commands. */
static const char register_ini[] = "[scenario]\n"
                                   "name = reg\n"
                                   "system = register\n"
                                   "seeds = 1..3\n";

/* Runs a shell command line in ro/ mounted read-only: a bind mount of itself, remounted
 * read-only, in a mount namespace of the command's own (unshare -m as root, -rm otherwise),
 * so that nothing else on the machine sees the mount. */
static out in_read_only_mount(const char *cmd)
{
    return sh("unshare %s sh -c 'mount --bind ro ro && mount -o remount,bind,ro ro && cd ro && "
              "%s'", geteuid() == 0 ? "-m" : "-rm", cmd);
}

/* The size of a file, -1 when it does not exist. */
static int64_t file_size_of(const char *name)
{
    struct stat sb;
    return stat(name, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* Runs a shell command line in test_dir/dir as a user who may not write there: as root
 * (whom modes do not stop) as the user nobody, otherwise as ourselves. */
static out as_user_in(const char *dir, const char *cmd)
{
    if (geteuid() == 0) return sh("su nobody -s /bin/sh -c 'cd %s/%s && %s'", test_dir, dir, cmd);
    return sh("cd %s && %s", dir, cmd);
}

/* The read commands on t.db through run(), each as a user would: list, show, replay (by its
 * events) and check (its history) all work. */
static void read_commands_work(out (*run)(const char *cmd), const char *ctx)
{
    char cmd[1024];
    struct {
        const char *args, *says;
    } reads[] = {
        {"list --db t.db", "3 run(s)"},
        {"show --db t.db 2", "run 2: reg seed 2, pass, "},
        {"replay --db t.db 3", "identical ("},
        {"check --model register --db t.db 1", "linearizable: "},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s %s", sim_bin(), reads[i].args);
        out r = run(cmd);
        cr_assert(eq(int, r.status, 0), "%s: sim %s:\n%s", ctx, reads[i].args, r.text);
        cr_assert(ne(ptr, strstr(r.text, reads[i].says), NULL), "%s: sim %s:\n%s", ctx,
                  reads[i].args, r.text);
        out_free(&r);
    }
}

static out run_in_mount(const char *cmd)
{
    return in_read_only_mount(cmd);
}

static out run_as_user(const char *cmd)
{
    return as_user_in("ro", cmd);
}

/* Goal: a trace database on a read-only mount can be read by every read command, and the
 * write commands say which file, why and what to do (issue 15, defect 4: every read
 * command said "read-only: cannot record runs in it" or "cannot open: No such file or
 * directory", and `sim run` with a new file there said ENOENT). Method: three register runs
 * recorded in full into ro/t.db; ro/ then bind-mounted read-only in a private mount
 * namespace for each command (a real read-only file system, which root cannot write
 * either); list, show, replay, check; run into t.db and into a new file there; merge from
 * it and into it. Skipped when this machine lets us make no mount namespace. */
Test(trace, read_only_mount)
{
    cr_assert(eq(int, mkdir("ro", 0755), 0));
    write_file("reg.ini", register_ini);
    sim_expect(0, WORDS("3 passed, 0 failed"), "run reg.ini --db ro/t.db --record full");
    cr_assert(eq(int, exists("ro/t.db-wal"), false));
    out probe = in_read_only_mount("! touch probe 2>/dev/null");
    if (probe.status != 0) cr_skip_test("no read-only mount here: %s", probe.text);
    out_free(&probe);

    read_commands_work(run_in_mount, "read-only mount");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s run ../reg.ini --seed 4 --db t.db", sim_bin());
    out r = in_read_only_mount(cmd);
    expect(&r, 2, WORDS("sim: t.db: read-only: cannot record runs in it (the file is on a "
                        "read-only file system); sim list, show, replay and check can still "
                        "read it. Give --db a file you can write"));
    out_free(&r);
    snprintf(cmd, sizeof cmd, "%s run ../reg.ini --seed 4 --db new.db", sim_bin());
    r = in_read_only_mount(cmd);
    expect(&r, 2, WORDS("sim: new.db: cannot create it: its directory (.) is on a read-only "
                        "file system. Give --db a path in a directory you can write"));
    out_free(&r);
    snprintf(cmd, sizeof cmd, "%s merge ../all.db t.db", sim_bin());
    r = in_read_only_mount(cmd);
    expect(&r, 0, WORDS("merged 3 run(s) from 1 database(s) into ../all.db"));
    out_free(&r);
    snprintf(cmd, sizeof cmd, "%s merge t.db ../all.db", sim_bin());
    r = in_read_only_mount(cmd);
    expect(&r, 2, WORDS("sim: t.db: read-only: cannot record runs in it"));
    out_free(&r);
    cr_assert(eq(int, exists("ro/new.db"), false));
    sim_expect(0, WORDS("3 run(s)"), "list --db all.db");
}

/* Goal: a trace database in a directory the user may not write (the file itself writable)
 * can be read by every read command, and `sim run` says that SQLite needs to write beside
 * it, naming the directory (defect 4). A write-ahead log with runs in it that cannot be
 * read from there (SQLite would need to make its -shm index) is refused with what to do.
 * Method: three register runs recorded in full into ro/t.db; ro/ made 555 (as root the
 * commands run as nobody, who owns t.db); the read commands; run into t.db and into a new
 * file; then a real log (copied while the sqlite3 shell held an uncheckpointed update)
 * put beside t.db, and list. */
Test(trace, read_only_directory)
{
    cr_assert(eq(int, chmod(test_dir, 0777), 0));
    cr_assert(eq(int, mkdir("ro", 0755), 0));
    write_file("reg.ini", register_ini);
    sim_expect(0, WORDS("3 passed, 0 failed"), "run reg.ini --db ro/t.db --record full");
    sql_do("ro/t.db", "PRAGMA wal_autocheckpoint = 0;\n"
                      "UPDATE runs SET detail = 'edited' WHERE run_id = 1;\n"
                      ".shell cp ro/t.db-wal wal.kept");
    cr_assert(eq(int, exists("ro/t.db-wal"), false));
    cr_assert(lt(i64, 0, (int64_t)file_size_of("wal.kept")));
    if (geteuid() == 0) cr_assert(eq(int, chown("ro/t.db", 65534, 65534), 0));
    cr_assert(eq(int, chmod("ro", 0555), 0));

    read_commands_work(run_as_user, "read-only directory");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s run ../reg.ini --seed 4 --db t.db", sim_bin());
    out r = as_user_in("ro", cmd);
    expect(&r, 2, WORDS("sim: t.db: read-only: cannot record runs in it: SQLite keeps its "
                        "write-ahead log (t.db-wal) beside it, and its directory (.) is not "
                        "writable by you"));
    out_free(&r);
    snprintf(cmd, sizeof cmd, "%s run ../reg.ini --seed 4 --db new.db", sim_bin());
    r = as_user_in("ro", cmd);
    expect(&r, 2, WORDS("sim: new.db: cannot create it: its directory (.) is not writable by "
                        "you"));
    out_free(&r);

    cr_assert(eq(int, chmod("ro", 0755), 0));
    r = sh("cp wal.kept ro/t.db-wal");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    cr_assert(eq(int, chmod("ro", 0555), 0));
    snprintf(cmd, sizeof cmd, "%s list --db t.db", sim_bin());
    r = as_user_in("ro", cmd);
    expect(&r, 2, WORDS("sim: t.db: cannot be read from here: its write-ahead log t.db-wal "
                        "holds runs not yet in the file", "copy t.db and t.db-wal together"));
    out_free(&r);
    cr_assert(eq(int, chmod("ro", 0755), 0));
    sim_expect(0, WORDS("3 run(s)"), "list --db ro/t.db");
    cr_assert(eq(u64, sql_u64("ro/t.db", "SELECT count(*) FROM runs WHERE detail = 'edited'"),
                 1));
}

/* ---- bad scenario files --------------------------------------------------------------------- */

/* Goal: a bad scenario file stops `sim run` before any seed runs: exit 2, the message names
 * file:line, and nothing is written to the database (an existing one is unchanged, a new
 * one is not created); check-determinism and replay --scenario refuse it too. Method: a
 * good file and bad ones (a bad value, an unknown section, an unknown key, a line that is
 * not key = value), each after the good file on the command line. */
Test(trace, bad_scenario_run)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record full");
    size_t len_before, len_after;
    char *before = read_bytes("t.db", &len_before);
    struct {
        const char *text, *says;
    } bad[] = {
        {"[scenario]\nname = b\nsystem = demo\n\n[demo]\nticks = lots\n",
         "sim: bad.ini:6: [demo] ticks: expected a whole number in 1..10000, got 'lots'"},
        {"[scenario]\nname = b\nsystem = demo\n[netwrok]\n", "sim: bad.ini:4: unknown section"},
        {"[scenario]\nname = b\nsystem = demo\nseed = 3\n", "sim: bad.ini:4: [scenario] unknown "
                                                            "key 'seed'"},
        {"[scenario]\nname = b\nsystem = demo\nwhat is this\n", "sim: bad.ini:4: expected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file("bad.ini", bad[i].text);
        out r = SIM("run demo.ini bad.ini --db t.db");
        expect(&r, 2, WORDS(bad[i].says));
        cr_assert(eq(ptr, strstr(r.text, "passed"), NULL), "seeds ran:\n%s", r.text);
        out_free(&r);
        sim_expect(2, WORDS(bad[i].says), "run bad.ini --db new.db");
        cr_assert(eq(int, exists("new.db"), false), "a bad scenario created new.db");
        sim_expect(2, WORDS(bad[i].says), "check-determinism bad.ini");
        sim_expect(2, WORDS(bad[i].says), "replay --scenario bad.ini --seed 1");
    }
    sim_expect(2, WORDS("sim: nope.ini: cannot open"), "run demo.ini nope.ini --db t.db");
    char *after = read_bytes("t.db", &len_after);
    cr_assert(eq(sz, len_after, len_before));
    cr_assert(eq(int, memcmp(before, after, len_before), 0), "t.db was changed");
    release(before);
    release(after);
    sim_expect(0, WORDS("1 run(s)"), "list --db t.db");
}

/* ---- interrupted runs ----------------------------------------------------------------------- */

/* After a sim writing t.db was stopped: list works and shows runs, the file passes
 * integrity_check, every event row belongs to a run in runs, and every run that says its
 * events are stored has all of them. Returns the number of runs. */
static uint64_t check_consistent_after_stop(void)
{
    out r = SIM("list --db t.db");
    expect(&r, 0, WORDS("run(s)\n", "demo"));
    out_free(&r);
    char ok[64];
    sql_text("t.db", "PRAGMA integrity_check", ok, sizeof ok);
    cr_assert(eq(str, ok, "ok"));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id NOT IN "
                                      "(SELECT run_id FROM runs)"),
                 0));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM checkpoints WHERE run_id NOT IN "
                                      "(SELECT run_id FROM runs)"),
                 0));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs r WHERE events_stored = 1 AND "
                                      "event_count <> (SELECT count(*) FROM events e WHERE "
                                      "e.run_id = r.run_id)"),
                 0));
    return sql_u64("t.db", "SELECT count(*) FROM runs");
}

static const char *const endless_run[] = {"run",     "demo.ini", "--seeds", "1..1000000",
                                          "--db",    "t.db",     "--record", "full",
                                          NULL};

/* Goal: Ctrl-C stops `sim run` cleanly: exit 130, "interrupted", the summary counts the
 * runs kept, and the database is consistent. Method: start a million seeds in the
 * background, wait until some runs are recorded (about a second), send SIGINT; check the
 * exit status and output, then the database. */
Test(trace, ctrl_c_keeps_a_consistent_database)
{
    write_file("demo.ini", demo_ini);
    pid_t pid = spawn_sim("run.out", endless_run);
    bool started = wait_for_runs("t.db", 20, pid);
    nap_ms(500);
    cr_assert(eq(int, kill(pid, SIGINT), 0));
    int st;
    cr_assert(eq(int, waitpid(pid, &st, 0), pid));
    cr_assert(eq(int, started, true), "sim did not record 20 runs");
    size_t len;
    char *text = read_bytes("run.out", &len);
    cr_assert(eq(int, WIFEXITED(st), 1), "sim died of signal %d:\n%s", WTERMSIG(st), text);
    cr_assert(eq(int, WEXITSTATUS(st), 130), "%s", text);
    unsigned long long passed = 0, failed = 1;
    interrupted_summary(text, &passed, &failed);
    release(text);
    uint64_t runs = check_consistent_after_stop();
    cr_assert(ge(u64, runs, 20));
    cr_assert(eq(u64, failed, 0));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE status = 'done'"), passed));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE status <> 'done' AND "
                                      "(status <> 'interrupted' OR events_stored <> 0)"),
                 0));
}

/* Goal: a sim killed outright (SIGKILL, no chance to clean up) leaves a database with the
 * same properties: readable, intact, no partial run. Method: as the Ctrl-C test, with
 * SIGKILL; the runs are then those committed before the kill. */
Test(trace, sigkill_keeps_a_consistent_database)
{
    write_file("demo.ini", demo_ini);
    pid_t pid = spawn_sim("run.out", endless_run);
    bool started = wait_for_runs("t.db", 20, pid);
    nap_ms(500);
    cr_assert(eq(int, kill(pid, SIGKILL), 0));
    int st;
    cr_assert(eq(int, waitpid(pid, &st, 0), pid));
    cr_assert(eq(int, started, true), "sim did not record 20 runs");
    cr_assert(eq(int, WIFSIGNALED(st), 1));
    cr_assert(eq(int, WTERMSIG(st), SIGKILL));
    uint64_t runs = check_consistent_after_stop();
    cr_assert(ge(u64, runs, 20));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE status <> 'done'"), 0));
    char ident[128];
    identical_line("t.db", runs, ident, sizeof ident);
    sim_expect(0, WORDS(ident), "replay --db t.db %llu", (unsigned long long)runs);
}

/* ---- two writers ---------------------------------------------------------------------------- */

/* Goal: two `sim run` processes recording into the same (new) database at once both
 * succeed and every run of each is there under its own run_id. Method: start seeds 1..150
 * and 1001..1150 at the same moment; both exit 0; 300 runs, 300 distinct ids 1..300,
 * exactly the 300 seeds, each run with all its events. */
Test(trace, two_writers_at_once)
{
    write_file("demo.ini", demo_ini);
    const char *const a[] = {"run", "demo.ini", "--seeds", "1..150", "--db", "t.db", "--record",
                             "full", NULL};
    const char *const b[] = {"run", "demo.ini", "--seeds", "1001..1150", "--db", "t.db",
                             "--record", "full", NULL};
    pid_t pa = spawn_sim("a.out", a);
    pid_t pb = spawn_sim("b.out", b);
    int sa, sb;
    cr_assert(eq(int, waitpid(pa, &sa, 0), pa));
    cr_assert(eq(int, waitpid(pb, &sb, 0), pb));
    size_t len;
    char *ta = read_bytes("a.out", &len);
    char *tb = read_bytes("b.out", &len);
    cr_assert(eq(int, WIFEXITED(sa) && WEXITSTATUS(sa) == 0, 1), "first:\n%s", ta);
    cr_assert(eq(int, WIFEXITED(sb) && WEXITSTATUS(sb) == 0, 1), "second:\n%s", tb);
    cr_assert(ne(ptr, strstr(ta, "150 passed, 0 failed\n"), NULL), "%s", ta);
    cr_assert(ne(ptr, strstr(tb, "150 passed, 0 failed\n"), NULL), "%s", tb);
    release(ta);
    release(tb);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs"), 300));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(DISTINCT run_id) FROM runs"), 300));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT min(run_id) FROM runs"), 1));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT max(run_id) FROM runs"), 300));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(DISTINCT seed) FROM runs WHERE "
                                      "seed BETWEEN 1 AND 150 OR seed BETWEEN 1001 AND 1150"),
                 300));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs r WHERE event_count <> "
                                      "(SELECT count(*) FROM events e WHERE e.run_id = r.run_id)"),
                 0));
    sim_expect(0, WORDS("300 run(s)"), "list --db t.db");
}

/* ---- sim show ------------------------------------------------------------------------------- */

/* Splits text into lines in place; returns how many (at most max). */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    for (char *p = text; *p != '\0' && n < max;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (nl == NULL) break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

/* One event line of `sim show` (text): step, time, node, task ("-" for none), event. */
typedef struct shown {
    unsigned long long step;
    char time[32], node[32], task[32], event[32];
} shown;

static shown parse_shown(const char *line)
{
    shown s;
    cr_assert(eq(int, sscanf(line, "%llu %31s %31s %31s %31s", &s.step, s.time, s.node, s.task,
                             s.event),
                 5),
              "not an event line: '%s'", line);
    return s;
}

#define MAX_LINES 4096

/* Runs `sim show ARGS` (text); asserts exit 0, the two header lines, and `count` event
 * lines, each passing `ok`; returns nothing, frees everything. */
static void show_expect(const char *args, uint64_t count, bool (*ok)(const shown *, const void *),
                        const void *ud)
{
    out r = SIM("show %s", args);
    cr_assert(eq(int, r.status, 0), "sim show %s:\n%s", args, r.text);
    char **lines = own(calloc(MAX_LINES, sizeof *lines));
    cr_assert(ne(ptr, lines, NULL));
    size_t n = split_lines(r.text, lines, MAX_LINES);
    cr_assert(ge(sz, n, 2));
    char head[128];
    snprintf(head, sizeof head, ", %llu shown", (unsigned long long)count);
    cr_assert(ne(ptr, strstr(lines[0], head), NULL), "sim show %s: '%s'", args, lines[0]);
    cr_assert(eq(int, strncmp(lines[0], "run 1: demo seed 1, pass, ", 26), 0), "%s", lines[0]);
    cr_assert(eq(str, lines[1], "    step           time node       task event       what"));
    cr_assert(eq(sz, n - 2, (size_t)count), "sim show %s", args);
    for (size_t i = 2; i < n; i++) {
        shown s = parse_shown(lines[i]);
        cr_assert(eq(int, ok(&s, ud), true), "sim show %s: line '%s'", args, lines[i]);
    }
    release(lines);
    out_free(&r);
}

static bool any_line(const shown *s, const void *ud)
{
    (void)s;
    (void)ud;
    return true;
}

static bool node_is(const shown *s, const void *ud)
{
    return strcmp(s->node, ud) == 0;
}

static bool task_is(const shown *s, const void *ud)
{
    return strcmp(s->task, ud) == 0;
}

static bool event_is(const shown *s, const void *ud)
{
    return strcmp(s->event, ud) == 0;
}

static bool step_10_to_12(const shown *s, const void *ud)
{
    (void)ud;
    return s->step >= 10 && s->step <= 12;
}

static bool n2_poll_5_to_60(const shown *s, const void *ud)
{
    (void)ud;
    return strcmp(s->node, "n2") == 0 && strcmp(s->event, "poll") == 0 && s->step >= 5 &&
           s->step <= 60;
}

/* Goal: `sim show` prints every stored event under a header, and each filter keeps exactly
 * the events the database holds for it; unknown nodes and kinds are usage errors that say
 * what exists. Method: record demo seed 1; compare each filtered listing, line by line,
 * with a COUNT over the events table. */
Test(trace, show_filters)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record full");
    uint64_t all = sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 1");
    show_expect("--db t.db 1", all, any_line, NULL);
    uint64_t n1 = sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = 1 AND node = 1");
    cr_assert(lt(u64, 0, n1));
    cr_assert(lt(u64, n1, all));
    show_expect("--db t.db 1 --node n1", n1, node_is, "n1");
    show_expect("--db t.db 1 --node 1", n1, node_is, "n1");
    sim_expect(2, WORDS("--node: this run has no node 'n9'; its nodes: n1, n2"),
               "show --db t.db 1 --node n9");
    uint64_t t2 = sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = 1 AND task = 2");
    cr_assert(lt(u64, 0, t2));
    show_expect("--db t.db 1 --task 2", t2, task_is, "2");
    uint64_t fires = sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = 1 AND kind = "
                                     "(SELECT kind FROM event_kinds WHERE name = 'timer-fire')");
    cr_assert(lt(u64, 0, fires));
    show_expect("--db t.db 1 --kind timer-fire", fires, event_is, "timer-fire");
    sim_expect(2, WORDS("--kind: unknown event kind 'bogus'", "timer-fire"),
               "show --db t.db 1 --kind bogus");
    uint64_t mid = sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = 1 AND "
                                   "step BETWEEN 10 AND 12");
    cr_assert(lt(u64, 0, mid));
    show_expect("--db t.db 1 --from 10 --to 12", mid, step_10_to_12, NULL);
    sim_expect(2, WORDS("--from is after --to"), "show --db t.db 1 --from 12 --to 10");
    uint64_t mix = sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = 1 AND node = 2 "
                                   "AND kind = (SELECT kind FROM event_kinds WHERE name = 'poll') "
                                   "AND step BETWEEN 5 AND 60");
    cr_assert(lt(u64, 0, mix));
    show_expect("--db t.db 1 --node n2 --kind poll --from 5 --to 60", mix, n2_poll_5_to_60, NULL);
    sim_expect(2, WORDS("no run 7"), "show --db t.db 7");
}

/* Goal: --format json prints one JSON object per event and nothing else, with the same
 * step, time, node, task and event as the text listing. Method: show the run both ways;
 * every JSON line is {...} with "step", "event" and "node"; compare the first, the tenth,
 * a middle and the last event field by field. */
Test(trace, show_json)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record full");
    uint64_t all = sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 1");
    out text = SIM("show --db t.db 1");
    out json = SIM("show --db t.db 1 --format json");
    cr_assert(eq(int, text.status, 0), "%s", text.text);
    cr_assert(eq(int, json.status, 0), "%s", json.text);
    char **tl = own(calloc(MAX_LINES, sizeof *tl)), **jl = own(calloc(MAX_LINES, sizeof *jl));
    cr_assert(ne(ptr, tl, NULL));
    cr_assert(ne(ptr, jl, NULL));
    size_t nt = split_lines(text.text, tl, MAX_LINES);
    size_t nj = split_lines(json.text, jl, MAX_LINES);
    cr_assert(eq(sz, nt, (size_t)all + 2));
    cr_assert(eq(sz, nj, (size_t)all));
    for (size_t i = 0; i < nj; i++) {
        size_t len = strlen(jl[i]);
        cr_assert(eq(int, len > 2 && jl[i][0] == '{' && jl[i][len - 1] == '}', 1), "'%s'", jl[i]);
        cr_assert(ne(ptr, strstr(jl[i], "\"step\":"), NULL), "'%s'", jl[i]);
        cr_assert(ne(ptr, strstr(jl[i], "\"event\":\""), NULL), "'%s'", jl[i]);
        cr_assert(ne(ptr, strstr(jl[i], "\"node\":\""), NULL), "'%s'", jl[i]);
        cr_assert(eq(ptr, strchr(jl[i] + 1, '{'), NULL), "two objects on one line: '%s'", jl[i]);
    }
    size_t picks[] = {0, 9, nj / 2, nj - 1};
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++) {
        size_t i = picks[k];
        shown s = parse_shown(tl[i + 2]);
        unsigned long long run, step, time_ns, task;
        char time[32], node[32], event[32];
        int got = sscanf(jl[i],
                         "{\"run\":%llu,\"step\":%llu,\"time_ns\":%llu,\"time\":\"%31[^\"]\","
                         "\"node\":\"%31[^\"]\",\"task\":%llu,\"event\":\"%31[^\"]\"",
                         &run, &step, &time_ns, time, node, &task, event);
        cr_assert(eq(int, got, 7), "'%s'", jl[i]);
        cr_assert(eq(u64, run, 1));
        cr_assert(eq(u64, step, s.step), "event %zu", i);
        cr_assert(eq(str, time, s.time), "event %zu", i);
        cr_assert(eq(str, node, s.node), "event %zu", i);
        cr_assert(eq(str, event, s.event), "event %zu", i);
        char task_text[32];
        snprintf(task_text, sizeof task_text, "%llu", task);
        cr_assert(eq(str, task == 0 ? "-" : task_text, s.task), "event %zu", i);
    }
    release(tl);
    release(jl);
    out_free(&text);
    out_free(&json);
}

/* ---- sim list ------------------------------------------------------------------------------- */

/* Goal: `sim list` filters by failure and by scenario and says "no runs" when nothing
 * matches. Method: a deadlock scenario (3 failing runs) and the demo (5 passing) in one
 * database; --failed, --scenario, both, an unknown scenario; then a database of passes
 * only with --failed, and one whose runs were all deleted. */
Test(trace, list_filters)
{
    write_file("dl.ini", deadlock_ini);
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run dl.ini demo.ini --db t.db");
    list_entry e;
    out r = SIM("list --db t.db --failed");
    expect(&r, 0, WORDS("3 run(s)\n"));
    for (uint64_t run = 1; run <= 3; run++) {
        cr_assert(eq(int, list_find(r.text, run, &e), true), "%s", r.text);
        cr_assert(eq(str, e.result, "deadlock"));
        cr_assert(eq(str, e.scenario, "dl"));
    }
    cr_assert(eq(int, list_find(r.text, 4, &e), false), "%s", r.text);
    out_free(&r);
    r = SIM("list --db t.db --scenario demo");
    expect(&r, 0, WORDS("5 run(s)\n"));
    for (uint64_t run = 4; run <= 8; run++) {
        cr_assert(eq(int, list_find(r.text, run, &e), true), "%s", r.text);
        cr_assert(eq(str, e.result, "pass"));
        cr_assert(eq(u64, e.seed, run - 3));
    }
    cr_assert(eq(int, list_find(r.text, 1, &e), false), "%s", r.text);
    out_free(&r);
    sim_expect(0, WORDS("no runs failed of demo\n"), "list --db t.db --failed --scenario demo");
    sim_expect(0, WORDS("no runs of nope\n"), "list --db t.db --scenario nope");
    sim_expect(0, WORDS("8 run(s)\n"), "list --db t.db");

    sim_expect(0, NULL, "run demo.ini --db p.db");
    sim_expect(0, WORDS("no runs failed\n"), "list --db p.db --failed");
    sql_do("p.db", "DELETE FROM checkpoints; DELETE FROM events; DELETE FROM runs");
    out none = SIM("list --db p.db");
    expect(&none, 0, NULL);
    cr_assert(eq(str, none.text, "no runs\n"));
    out_free(&none);
}

/* ---- sim run: exit codes and what it prints ------------------------------------------------- */

/* The command after "replay: " on the line after seed `seed`'s FAIL line, in buf. */
static void replay_command_for(const char *text, unsigned seed, char *buf, size_t size)
{
    char head[64];
    snprintf(head, sizeof head, "seed %u  ", seed);
    const char *at = strstr(text, head);
    cr_assert(ne(ptr, (void *)at, NULL), "no seed %u in:\n%s", seed, text);
    at = strstr(at, "      replay: ");
    cr_assert(ne(ptr, (void *)at, NULL), "%s", text);
    at += strlen("      replay: ");
    size_t n = strcspn(at, "\n");
    cr_assert(lt(sz, n, size));
    memcpy(buf, at, n);
    buf[n] = '\0';
}

/* Goal: a failing seed of an expect = pass scenario makes `sim run` exit 1 with a FAIL line
 * (seed, "check:"), the exact replay command and an exact summary; that printed command,
 * run as printed, reproduces the failure. Method: the demo with bug = lost-reply, seeds
 * 1..3, with --db and without; run the printed command for seed 2 each time. */
Test(trace, run_failure_prints_a_working_replay_command)
{
    write_file("lost.ini", lost_ini);
    out r = SIM("run lost.ini --db l.db");
    expect(&r, 1, WORDS("FAIL  lost seed 1  check: ", "FAIL  lost seed 3  check: ",
                        "\n      replay: sim replay --db l.db 2\n",
                        "scenario lost (lost.ini): expect = pass, but some seeds failed\n"));
    char last[128], cmd[256];
    last_line(r.text, last, sizeof last);
    cr_assert(eq(str, last, "0 passed, 3 failed"));
    replay_command_for(r.text, 2, cmd, sizeof cmd);
    cr_assert(eq(str, cmd, "sim replay --db l.db 2"));
    out_free(&r);
    char ident[128];
    identical_line("l.db", 2, ident, sizeof ident);
    r = sh("%s%s", sim_bin(), cmd + 3);
    expect(&r, 0, WORDS("run 2: lost seed 2, recorded check, replayed check\n", ident));
    out_free(&r);

    r = SIM("run lost.ini");
    expect(&r, 1, WORDS("FAIL  lost seed 2  check: "));
    last_line(r.text, last, sizeof last);
    cr_assert(eq(str, last, "0 passed, 3 failed"));
    replay_command_for(r.text, 2, cmd, sizeof cmd);
    cr_assert(eq(str, cmd, "sim replay --scenario lost.ini --seed 2"));
    out_free(&r);
    r = sh("%s%s", sim_bin(), cmd + 3);
    expect(&r, 1, WORDS("lost seed 2: check: "));
    out_free(&r);
}

/* Goal: the summary counts every seed of every scenario, and --quiet keeps only failures
 * and the summary. Method: the demo (5 passing seeds) and lost-reply (3 failing) in one
 * run: exit 1, each scenario's row in the table, last line exactly "5 passed, 3 failed"; the
 * same with --quiet, without the table. */
Test(trace, run_summary_counts_every_seed)
{
    write_file("demo.ini", demo_ini);
    write_file("lost.ini", lost_ini);
    char last[128];
    out r = SIM("run demo.ini lost.ini");
    expect(&r, 1, NULL);
    expect_row(r.text, "demo", 5, 0, "pass");
    expect_row(r.text, "lost", 3, 3, "pass");
    last_line(r.text, last, sizeof last);
    cr_assert(eq(str, last, "5 passed, 3 failed"));
    out_free(&r);
    r = SIM("run demo.ini lost.ini --quiet");
    expect(&r, 1, WORDS("FAIL  lost seed 1"));
    cr_assert(eq(ptr, strstr(r.text, "fastest failing seed"), NULL), "%s", r.text);
    last_line(r.text, last, sizeof last);
    cr_assert(eq(str, last, "5 passed, 3 failed"));
    out_free(&r);
}

/* Goal: expect = fail inverts the verdict: every seed failing exits 0 ("found" lines); no
 * seed failing exits 1 and says so. Method: the deadlock scenario (seeds 1..3); the plain
 * demo with expect = fail. */
Test(trace, run_expect_fail)
{
    write_file("dl.ini", deadlock_ini);
    out r = SIM("run dl.ini");
    expect(&r, 0, WORDS("found dl seed 1  deadlock: ", "found dl seed 3  deadlock: "));
    expect_row(r.text, "dl", 3, 3, "fail");
    char last[128];
    last_line(r.text, last, sizeof last);
    cr_assert(eq(str, last, "0 passed, 3 failed"));
    out_free(&r);
    write_file("nobug.ini", "[scenario]\nname = nobug\nsystem = demo\nseeds = 1..3\n"
                            "expect = fail\n");
    r = SIM("run nobug.ini");
    expect(&r, 1, WORDS("scenario nobug (nobug.ini): expect = fail, but no seed failed\n"));
    last_line(r.text, last, sizeof last);
    cr_assert(eq(str, last, "3 passed, 0 failed"));
    out_free(&r);
}

/* ---- check-determinism, replay --until, replay --scenario ----------------------------------- */

/* Goal: check-determinism finds the planted nondeterminism and shows where, and passes the
 * plain demo. Method: bug = nondeterministic, seeds 1..2: exit 1, "not deterministic",
 * "diverged at step", "2 not deterministic"; the demo, seeds 1..3: exit 0. */
Test(trace, check_determinism)
{
    write_file("nd.ini", "[scenario]\nname = nd\nsystem = demo\nseeds = 1..2\n\n[demo]\n"
                         "bug = nondeterministic\n");
    write_file("demo.ini", demo_ini);
    sim_expect(1, WORDS("nd seed 1 is not deterministic", "diverged at step", "first run:",
                        "second run:", "2 seed(s) checked, 2 not deterministic\n"),
               "check-determinism nd.ini");
    out r = SIM("check-determinism demo.ini --seeds 1..3");
    expect(&r, 0, NULL);
    cr_assert(eq(str, r.text, "3 seed(s) checked, 0 not deterministic\n"));
    out_free(&r);
}

/* Goal: replay --until N --dump stops after step N, compares only what both sides have up
 * to there, and prints the world: nodes, a task table, armed timers. Method: record demo
 * seed 1 with every event; replay --until 20 --dump; then change an event after step 20
 * (still identical up to 20) and one before it (diverged). */
Test(trace, replay_until_and_dump)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record full");
    out r = SIM("replay --db t.db 1 --until 20 --dump");
    expect(&r, 0, WORDS("identical up to step 20 (", "world at ", ", step 20, ",
                        "  task   name      node     state", "ticker", "timers armed: "));
    out_free(&r);
    sql_do("t.db", "UPDATE events SET a = a + 1 WHERE run_id = 1 AND seq = "
                   "(SELECT max(seq) FROM events WHERE run_id = 1)");
    sim_expect(0, WORDS("identical up to step 20 ("), "replay --db t.db 1 --until 20");
    sim_expect(1, WORDS("diverged at step"), "replay --db t.db 1");
    uint64_t seq = sql_u64("t.db", "SELECT min(seq) FROM events WHERE run_id = 1 AND step = 15");
    char q[256], want[64];
    snprintf(q, sizeof q, "UPDATE events SET b = b + 1 WHERE run_id = 1 AND seq = %llu",
             (unsigned long long)seq);
    sql_do("t.db", q);
    snprintf(want, sizeof want, "diverged at step 15 (event %llu)\n", (unsigned long long)seq);
    sim_expect(1, WORDS(want), "replay --db t.db 1 --until 20");
}

/* Goal: replay --scenario runs one seed without a database (and creates none), with the
 * hash and counts that the recorded run of that seed has. Method: record seeds 1..3 (no
 * events); in a fresh directory with only the scenario file, replay --scenario for seed 2
 * and compare with runs 2's figures; the directory holds only the file afterwards. */
Test(trace, replay_scenario_without_database)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seeds 1..3 --db t.db --record off");
    uint64_t events, steps = sql_u64("t.db", "SELECT step_count FROM runs WHERE seed = 2");
    char hash[32], want[128];
    run_figures("t.db", 2, &events, hash, sizeof hash);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT seed FROM runs WHERE run_id = 2"), 2));
    cr_assert(eq(int, mkdir("fresh", 0755), 0));
    cr_assert(eq(int, chdir("fresh"), 0));
    write_file("demo.ini", demo_ini);
    snprintf(want, sizeof want, "demo seed 2: pass (%llu events, %llu steps, hash %s)\n",
             (unsigned long long)events, (unsigned long long)steps, hash);
    sim_expect(0, WORDS(want), "replay --scenario demo.ini --seed 2");
    out ls = sh("ls -A");
    cr_assert(eq(str, ls.text, "demo.ini\n"));
    out_free(&ls);
    cr_assert(eq(int, chdir(".."), 0));
}

/* Goal: a seed number means the same on the command line as in a scenario file, where seeds
 * are decimal: "--seed 010" is seed 10 (or refused), never seed 8 read as octal. Method: run
 * the demo with --seed 010, and a file with seeds = 010; both runs record the same seed. */
Test(trace, seed_numbers_are_decimal)
{
    write_file("demo.ini", demo_ini);
    write_file("ten.ini", "[scenario]\nname = ten\nsystem = demo\nseeds = 010\n");
    sim_expect(0, NULL, "run ten.ini --db t.db --record off");
    cr_assert(eq(u64, sql_u64("t.db", "SELECT seed FROM runs WHERE run_id = 1"), 10));
    out r = SIM("run demo.ini --seed 010 --db t.db --record off");
    if (r.status == 0) {
        cr_assert(eq(u64, sql_u64("t.db", "SELECT seed FROM runs WHERE run_id = 2"), 10),
                  "--seed 010 ran another seed than seeds = 010");
    } else {
        expect(&r, 2, WORDS("--seed"));
    }
    out_free(&r);
}
