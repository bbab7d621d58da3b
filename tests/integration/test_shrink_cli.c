/*
 * test_shrink_cli.c: sim shrink and sim explain (issue 21), from the command line: the sim
 * binary (SIM_BIN) in a fresh temporary directory per test, a failing run recorded there,
 * shrunk, explained, replayed and read back with the sqlite3 shell.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(shrink_cli, .init = enter_dir, .fini = leave_dir);

/* Records kv's no-fsync planted bug, seed 1 (a durability failure under random crashes). */
static void record_no_fsync(const char *db)
{
    copy_scenario("kv/bug-no-fsync.ini");
    out r = SIM("run bug-no-fsync.ini --seed 1 --db %s", db);
    cr_assert(eq(int, r.status, 0), "%s", r.text); /* the scenario expects the failure */
    out_free(&r);
}

/* Goal: a failing run shrinks to a smaller run that fails the same way (the same result, the
 * same check), recorded as a new run that replays bit for bit, whose configuration says what
 * it kept: smaller sizes and an only-list of the fault hits that fire. The output shows the
 * before and after figures (the history's operations among them) and the commands to run
 * next.
 * Method: kv bug-no-fsync seed 1 recorded, then sim shrink --db t.db 1; the new run (2) is
 * compared with the original in the runs table and replayed. */
Test(shrink_cli, a_failing_run_shrinks_and_replays, .timeout = 120)
{
    record_no_fsync("t.db");
    out r = SIM("shrink --db t.db 1 --quiet");
    expect(&r, 0, WORDS("before ", "after ", "run 2: run 1 shrunk in ",
                        "check: durable: ", "replay: sim replay --db t.db 2\n",
                        "faults: sim show --db t.db 2 --faults\n"));
    /* The last column: the operations of the run's history (the workload shrank). */
    unsigned long long f, e, st, d, ops_before = 0, ops_after = 0;
    char v[32];
    cr_assert(eq(int, sscanf(strstr(r.text, "before "), "before %llu %llu %llu %31s %llu %llu",
                             &f, &e, &st, v, &d, &ops_before), 6), "%s", r.text);
    cr_assert(eq(int, sscanf(strstr(r.text, "after "), "after %llu %llu %llu %31s %llu %llu", &f,
                             &e, &st, v, &d, &ops_after), 6), "%s", r.text);
    cr_assert(lt(u64, 0, ops_after), "%s", r.text);
    cr_assert(lt(u64, ops_after, ops_before), "%s", r.text);
    out_free(&r);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs"), 2));
    uint64_t before = sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 1");
    uint64_t after = sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 2");
    cr_assert(lt(u64, after * 4, before), "%llu events shrunk only to %llu",
              (unsigned long long)before, (unsigned long long)after);
    uint64_t fb = sql_u64("t.db", "SELECT fault_count FROM runs WHERE run_id = 1");
    uint64_t fa = sql_u64("t.db", "SELECT fault_count FROM runs WHERE run_id = 2");
    cr_assert(lt(u64, fa, fb), "faults %llu -> %llu", (unsigned long long)fb,
              (unsigned long long)fa);
    char result[64], detail[600];
    sql_text("t.db", "SELECT result FROM runs WHERE run_id = 2", result, sizeof result);
    sql_text("t.db", "SELECT detail FROM runs WHERE run_id = 2", detail, sizeof detail);
    cr_assert(eq(str, result, "check"));
    cr_assert(eq(int, strncmp(detail, "durable: ", 9), 0), "%s", detail);
    r = SIM("replay --db t.db 2");
    expect(&r, 0, WORDS("recorded check, replayed check", "identical ("));
    out_free(&r);
}

/* Goal: taking a crash out of a run leaves a later crash as it was: hit H of node/crash is
 * the same tick and node, and the node's restart comes after the same delay, whatever fired
 * before it (what lets sim shrink take faults out one by one). Before, the node stayed up
 * and was hit more often, so the later crash's hit number named an earlier tick, and its
 * restart delay was the stream's next draw.
 * Method: kv stale-index seed 1 under only = node/crash@24 node/crash@52 (two crashes of the
 * server), then only = node/crash@52; the faults table compared. */
Test(shrink_cli, a_crash_stays_put_when_an_earlier_one_goes, .timeout = 60)
{
    copy_scenario("kv/bug-stale-index.ini");
    const char *only[] = {"node/crash@24 node/crash@52", "node/crash@52"};
    for (int i = 0; i < 2; i++) {
        out r = SIM("run bug-stale-index.ini --seed 1 --db t.db --record full --quiet "
                    "--set 'faults.only=%s'", only[i]);
        out_free(&r); /* pass or fail: the faults are what this compares */
    }
    const char *crash = "SELECT vtime_ns FROM faults WHERE run_id = %d AND action = 'crash' "
                        "AND hit = 52";
    const char *restart = "SELECT min(vtime_ns) FROM faults WHERE run_id = %d AND action = "
                          "'restart' AND vtime_ns > 140000000";
    cr_assert(eq(u64, sql_u64("t.db", crash, 1), 140000000)); /* the tick at 140ms */
    cr_assert(eq(u64, sql_u64("t.db", crash, 2), 140000000));
    uint64_t r1 = sql_u64("t.db", restart, 1), r2 = sql_u64("t.db", restart, 2);
    cr_assert(eq(u64, r1, r2), "restart at %llu, then at %llu", (unsigned long long)r1,
              (unsigned long long)r2);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM faults WHERE run_id = 1 AND "
                                      "action = 'crash'"), 2));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM faults WHERE run_id = 2 AND "
                                      "action = 'crash'"), 1));
}

/* Goal: the search is deterministic: the same run shrunk twice (in two copies of the
 * database) gives the same shrunk run, hash for hash, in the same number of candidates; a
 * smaller --max-runs stops it sooner, with a run that still fails the same way.
 * Method: two copies of the recorded no-fsync run; shrink each; then --max-runs 3. */
Test(shrink_cli, the_same_run_shrinks_the_same_way, .timeout = 120)
{
    record_no_fsync("a.db");
    out c = sh("cp a.db b.db && cp a.db c.db");
    cr_assert(eq(int, c.status, 0), "%s", c.text);
    out_free(&c);
    out a = SIM("shrink --db a.db 1 --quiet");
    out b = SIM("shrink --db b.db 1 --quiet");
    cr_assert(eq(int, a.status, 0), "%s", a.text);
    char *ra = strstr(a.text, "  replay: "), *rb = strstr(b.text, "  replay: ");
    cr_assert(ne(ptr, ra, NULL), "%s", a.text);
    cr_assert(ne(ptr, rb, NULL), "%s", b.text);
    *ra = *rb = '\0'; /* the commands name each database */
    cr_assert(eq(str, a.text, b.text));
    out_free(&a);
    out_free(&b);
    cr_assert(eq(u64, sql_u64("a.db", "SELECT trace_hash FROM runs WHERE run_id = 2"),
                 sql_u64("b.db", "SELECT trace_hash FROM runs WHERE run_id = 2")));
    out r = SIM("shrink --db c.db 1 --max-runs 3 --quiet");
    expect(&r, 0, WORDS("shrunk in 3 candidate run(s), check: durable: "));
    out_free(&r);
}

/* Goal: what cannot be shrunk is refused with exit 2 and why: a run that passed, a run that
 * does not exist, missing or bad arguments. Nothing is written to the database then.
 * Method: the demo's clean scenario recorded in full (seed 1 passes); then the bad calls. */
Test(shrink_cli, refusals)
{
    copy_scenario("demo.ini");
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record full");
    sim_expect(2, WORDS("run 1 passed: there is no failure to shrink"), "shrink --db t.db 1");
    sim_expect(2, WORDS("no run 9"), "shrink --db t.db 9");
    sim_expect(2, WORDS("give --db FILE RUN"), "shrink 1");
    sim_expect(2, WORDS("--max-runs expects a number from 1 to 1000000, got '0'"),
               "shrink --db t.db 1 --max-runs 0");
    sim_expect(2, WORDS("RUN expects a run number, got 'x'"), "shrink --db t.db x");
    sim_expect(2, WORDS("unknown option '--frob'"), "shrink --db t.db 1 --frob");
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs"), 1));
    out r = SIM("shrink --help");
    expect(&r, 0, WORDS("usage: sim shrink --db FILE RUN", "--max-runs N"));
    out_free(&r);
}

/* Goal: sim explain prints the causal slice of a failure: for a deadlock, what led each
 * blocked task to its wait (its spawn, its timers, the wakes by the other) and nothing of the
 * nodes that had no part in it, in sim show's format, then the hang report; --steps-out
 * writes the slice's steps for sim viz --highlight; --step slices from another event.
 * Method: demo-deadlock seed 1 (n2's heartbeat and monitor wait forever; n1 and n3 work on):
 * the slice holds n2's two tasks only and is a small part of the run. */
Test(shrink_cli, explain_a_deadlock)
{
    copy_scenario("demo-deadlock.ini");
    out r = SIM("run demo-deadlock.ini --seed 1 --db t.db");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    r = SIM("explain --db t.db 1 --steps-out slice.txt");
    expect(&r, 0, WORDS("run 1: demo-deadlock seed 1, deadlock; the causal slice of step ",
                        " 3 spawn       heartbeat, parent 0\n", " 4 spawn       monitor",
                        " 4 wake        by task 3\n", "deadlock: deadlock at 3.501899s",
                        "recv on oneshot #14 'ack'", "all events: sim show --db t.db 1\n"));
    cr_assert(eq(ptr, strstr(r.text, " n1 "), NULL), "n1 had no part in it:\n%s", r.text);
    unsigned long long shown = 0, total = 0;
    cr_assert(eq(int, sscanf(strstr(r.text, "step 154: "), "step 154: %llu of %llu", &shown,
                             &total), 2), "%s", r.text);
    cr_assert(lt(u64, shown * 5, total), "%llu of %llu events", shown, total);
    out_free(&r);
    out n = sh("wc -l < slice.txt");
    cr_assert(eq(u64, strtoull(n.text, NULL, 10), shown), "%s", n.text);
    out_free(&n);
    r = SIM("explain --db t.db 1 --step 14");
    expect(&r, 0, WORDS("the causal slice of step 14: "));
    cr_assert(eq(ptr, strstr(r.text, "     154 "), NULL), "%s", r.text);
    out_free(&r);
}

/* Goal: the slice of a failed check holds what the check depends on after the last history
 * entry: a crash that came later, how the disk resolved its unsynced writes, the restart and
 * the recovery that found them gone; events after that entry that the check does not read
 * (the server's resets to a client that is down) stay out.
 * Method: kv bug-no-fsync seed 1, two clients putting three keys each, no liveness phase,
 * no random crash, every unsynced write lost. Scripted: c2 crashes at 46ms during its last
 * put (invoked at 44.5ms: the last history entry), the server crashes at 47ms and restarts
 * at 48ms (boot 2's recovery finds nothing: durable fails), c2 restarts at 60ms (done, the
 * run ends). */
Test(shrink_cli, explain_a_crash_after_the_last_operation, .timeout = 60)
{
    copy_scenario("kv/bug-no-fsync.ini");
    out r = SIM("run bug-no-fsync.ini --seed 1 --db t.db --set workload.clients=2 "
                "--set workload.ops=3 --set workload.set=100 --set workload.get=0 "
                "--set workload.rm=0 --set faults.crash=0 --set disk.crash_keep=0 "
                "--set disk.crash_torn=0 --set check.liveness=false "
                "--set 'faults.at=46ms crash c2' --set 'faults.at=47ms crash server' "
                "--set 'faults.at=48ms restart server' --set 'faults.at=60ms restart c2'");
    expect(&r, 0, WORDS("check: durable: k0: recovery after boot 2 rebuilt nothing"));
    out_free(&r);
    r = SIM("explain --db t.db 1");
    expect(&r, 0, WORDS("the causal slice of step 88: ",
                        ":type :invoke, :f :put, :key \"k4\", :value \"v2-2\"",
                        " fault       crash at 47ms crash server\n",
                        " crash       server, 3 task(s) dropped\n",
                        " disk-crash  file 1 write @0, 18 bytes: lost\n",
                        " disk-crash  file 1 write @72, 18 bytes: lost\n",
                        " restart     server, boot 2\n", " spawn       kv-server, parent 0\n",
                        " disk-op     open 2.log\n",
                        "check: durable: k0: recovery after boot 2 rebuilt nothing"));
    cr_assert(eq(ptr, strstr(r.text, "(nothing bound there)"), NULL),
              "the resets to c2 are not read by the check:\n%s", r.text);
    out_free(&r);
}

/* Goal: explain refuses what it cannot do with exit 2 and why: a run without stored events
 * (with the command that records them), a step the run does not have, bad arguments.
 * Method: the demo's seed 1 recorded with --record off; then a full one. */
Test(shrink_cli, explain_refusals)
{
    copy_scenario("demo.ini");
    sim_expect(0, NULL, "run demo.ini --seed 1 --db off.db --record off");
    sim_expect(2, WORDS("run 1 has no stored events (recorded with --record off)",
                        "sim replay --db off.db 1 --events"),
               "explain --db off.db 1");
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record full");
    sim_expect(2, WORDS("run 1 has no event at step 999999"), "explain --db t.db 1 --step 999999");
    sim_expect(2, WORDS("--step expects a step number, got 'x'"), "explain --db t.db 1 --step x");
    sim_expect(2, WORDS("give --db FILE RUN"), "explain 1");
    sim_expect(2, WORDS("no run 7"), "explain --db t.db 7");
    sim_expect(2, WORDS("--steps-out: cannot write no/such/dir/s.txt"),
               "explain --db t.db 1 --steps-out no/such/dir/s.txt");
}

/* Goal: sim run --shrink N shrinks each failing seed's recorded run after the suite, each
 * into a new run of the database, and the suite's verdict is unchanged; without a database
 * it is refused. Method: kv bug-no-fsync seed 1 with --shrink 30 --db; then without --db. */
Test(shrink_cli, run_shrinks_each_failure, .timeout = 120)
{
    copy_scenario("kv/bug-no-fsync.ini");
    out r = SIM("run bug-no-fsync.ini --seed 1 --db t.db --shrink 30");
    expect(&r, 0, WORDS("found kv-bug-no-fsync seed 1  check: durable: ",
                        "\nshrinking run 1 (1 of 1):\n", "run 2: run 1 shrunk in ",
                        "0 passed, 1 failed\n"));
    out_free(&r);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs"), 2));
    cr_assert(lt(u64, sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 2"),
                 sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 1")));
    sim_expect(2, WORDS("--shrink needs the failing runs recorded: give --db FILE"),
               "run bug-no-fsync.ini --seed 1 --shrink 30");
    sim_expect(2, WORDS("--shrink expects a number of runs from 1 to 1000000, got '0'"),
               "run bug-no-fsync.ini --seed 1 --db t.db --shrink 0");
}
