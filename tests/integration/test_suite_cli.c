/*
 * test_suite_cli.c: sim run over suites (docs/scale-out.md), as CI runs it: the sim binary in
 * a fresh temporary directory per test, scenario files copied from SIM_SRC, databases read
 * with the sqlite3 shell, JUnit reports checked with xmllint against tests/data/junit.xsd,
 * and shards run with GNU parallel.
 *
 * What is checked: --jobs 1, 2 and 3 give the same output, the same runs, hashes, events and
 * histories; a failure found by a worker is printed with a replay command that reproduces it;
 * Ctrl-C with workers exits 130 and leaves a consistent database with the finished runs
 * listed; the JUnit report validates and counts what the summary line counts; shards run by
 * GNU parallel and joined by sim merge (3 and 12 of them) equal one run of the whole suite;
 * sim merge refuses another schema version, ids taken, a file that is not a database;
 * --check-determinism finds planted nondeterminism and names the step; --time-budget stops
 * starting seeds; the progress line appears on a terminal only; bad arguments exit 2.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../clitext.h"

TestSuite(suite_cli, .init = enter_dir, .fini = leave_dir);

static const char lost_ini[] = "[scenario]\nname = lost\nsystem = demo\nseeds = 1..4\n"
                               "expect = pass\n\n[demo]\nbug = lost-reply\n";

/* A suite folder: the register (pass), its stale-read bug (expect = fail), the demo, and a
 * demo with a lost reply that expects to pass (so it fails). */
static void make_suite(void)
{
    const char *src = getenv("SIM_SRC");
    out r = sh("mkdir -p suite && cp %s/scenarios/register.ini "
               "%s/scenarios/register-stale-read.ini %s/scenarios/demo.ini suite/",
               src, src, src);
    expect(&r, 0, NULL);
    out_free(&r);
    write_file("suite/lost.ini", lost_ini);
}

static out sql_all(const char *db, const char *q)
{
    out o = sql(db, "%s", q);
    cr_assert(eq(int, o.status, 0), "%s: %s", db, q);
    return o;
}

static void same_query(const char *a, const char *b, const char *q)
{
    out x = sql_all(a, q), y = sql_all(b, q);
    cr_assert(eq(str, x.text, y.text), "%s and %s differ on %s", a, b, q);
    out_free(&x);
    out_free(&y);
}

static const char runs_q[] = "SELECT run_id, scenario, seed, result, detail, "
                             "printf('%016x', trace_hash), event_count, events_stored "
                             "FROM runs ORDER BY run_id";

/* ---- --jobs ---------------------------------------------------------------------------------- */

/* Goal: the number of worker processes changes nothing but speed: the same output (failure
 * lines, replay commands, table, summary), the same runs with the same ids, hashes and
 * verdicts, the same events and histories. Method: the suite over seeds 1..12 with --record
 * full, with --jobs 1, 2 and 3, each in its own folder with its own t.db. */
Test(suite_cli, jobs_do_not_change_results)
{
    make_suite();
    out first = {0};
    for (int jobs = 1; jobs <= 3; jobs++) {
        out r = sh("mkdir -p j%d && cd j%d && %s run ../suite --seeds 1..12 --db t.db "
                   "--record full --jobs %d 2>&1", jobs, jobs, sim_bin(), jobs);
        cr_assert(eq(int, r.status, 1), "%s", r.text);
        if (jobs == 1) {
            first = r;
            continue;
        }
        cr_assert(eq(str, r.text, first.text), "--jobs %d printed otherwise", jobs);
        out_free(&r);
        char db[16];
        snprintf(db, sizeof db, "j%d/t.db", jobs);
        same_query("j1/t.db", db, runs_q);
        same_query("j1/t.db", db, "SELECT run_id, seq, kind, a, b, detail FROM events ORDER BY "
                                  "run_id, seq");
        same_query("j1/t.db", db, "SELECT run_id, seq, entry FROM history ORDER BY run_id, seq");
        same_query("j1/t.db", db, "SELECT run_id, seq, hash FROM checkpoints ORDER BY run_id, "
                                  "seq");
    }
    expect(&first, 1, WORDS("FAIL  lost seed 1  ", "found register-stale-read seed ",
                            "\n24 passed, 24 failed\n"));
    expect_row(first.text, "lost", 12, 12, "pass");
    expect_row(first.text, "demo", 12, 0, "pass");
    out_free(&first);
    cr_assert(lt(u64, 0, sql_u64("j1/t.db", "SELECT count(*) FROM history")));
}

/* Goal: a failure a worker found is printed with a replay command that reproduces it. Method:
 * lost.ini, --jobs 2 --db: run the printed command for seed 3; it replays the run and finds
 * the same failure, identical event for event. */
Test(suite_cli, replay_command_reproduces_a_failure)
{
    write_file("lost.ini", lost_ini);
    out r = SIM("run lost.ini --jobs 2 --db t.db");
    expect(&r, 1, WORDS("FAIL  lost seed 3  check: "));
    const char *fail = strstr(r.text, "FAIL  lost seed 3  ");
    const char *replay = strstr(fail, "      replay: sim replay --db t.db ");
    cr_assert(ne(ptr, (void *)replay, NULL), "%s", r.text);
    char cmd[256];
    cr_assert(eq(int, sscanf(replay, "      replay: %255[^\n]", cmd), 1));
    out_free(&r);
    r = sh("%s%s", sim_bin(), cmd + 3);
    expect(&r, 0, WORDS("lost seed 3, recorded check, replayed check", "identical ("));
    out_free(&r);
}

/* ---- Ctrl-C ---------------------------------------------------------------------------------- */

/* Goal: Ctrl-C with worker processes: exit 130, "interrupted" with how far it got, the summary
 * counts what was kept, and the database is intact with every finished run complete and
 * listed. Method: the demo over a million seeds, --jobs 2 --record full, in the background;
 * SIGINT once 20 runs are in; then the output and the database. */
Test(suite_cli, ctrl_c_with_workers)
{
    write_file("demo.ini", "[scenario]\nname = demo\nsystem = demo\nseeds = 1..5\n");
    pid_t pid = fork();
    cr_assert(ne(int, pid, -1));
    if (pid == 0) {
        FILE *o = freopen("run.out", "w", stdout);
        if (o == NULL || dup2(1, 2) < 0) _exit(126);
        execl(sim_bin(), sim_bin(), "run", "demo.ini", "--seeds", "1..1000000", "--db", "t.db",
              "--record", "full", "--jobs", "2", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1200 && runs_so_far("t.db") < 20; i++) nap_ms(50);
    cr_assert(le(u64, 20, runs_so_far("t.db")), "sim recorded no 20 runs");
    cr_assert(eq(int, kill(pid, SIGINT), 0));
    int st;
    cr_assert(eq(int, waitpid(pid, &st, 0), pid));
    size_t len;
    char *text = read_bytes("run.out", &len);
    cr_assert(eq(int, WIFEXITED(st) && WEXITSTATUS(st) == 130, 1), "status %d:\n%s", st, text);
    unsigned long long passed = 0, failed = 1;
    interrupted_summary(text, &passed, &failed);
    release(text);
    char ok[64];
    sql_text("t.db", "PRAGMA integrity_check", ok, sizeof ok);
    cr_assert(eq(str, ok, "ok"));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE status = 'done'"),
                 passed + failed));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs r WHERE events_stored = 1 AND "
                                      "event_count <> (SELECT count(*) FROM events e WHERE "
                                      "e.run_id = r.run_id)"), 0));
    /* The runs a worker was in when stopped are kept too, as interrupted. */
    uint64_t all = sql_u64("t.db", "SELECT count(*) FROM runs");
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE status = 'interrupted' "
                                      "AND events_stored = 0"), all - passed - failed));
    out l = SIM("list --db t.db");
    char want[64];
    snprintf(want, sizeof want, "\n%llu run(s)", (unsigned long long)all);
    expect(&l, 0, WORDS(want));
    out_free(&l);
}

/* ---- JUnit ----------------------------------------------------------------------------------- */

/* Goal: --junit writes a report that validates against the JUnit schema, with a testsuite
 * per scenario, a testcase per seed, the failures of expect = pass scenarios as <failure>
 * with the replay command, a planted bug found as a passing "expect = fail" case, and the
 * summary line exact. Method: the suite over seeds 1..4 with --jobs 2; xmllint --schema;
 * then count elements. A report path that cannot be written is refused before any run. */
Test(suite_cli, junit_report_validates)
{
    make_suite();
    out r = SIM("run suite --seeds 1..4 --jobs 2 --db t.db --junit report.xml");
    expect(&r, 1, NULL);
    char last[64];
    last_line(r.text, last, sizeof last);
    cr_assert(eq(str, last, "8 passed, 8 failed"), "%s", r.text);
    out_free(&r);
    r = sh("xmllint --noout --schema %s/tests/data/junit.xsd report.xml 2>&1", getenv("SIM_SRC"));
    expect(&r, 0, WORDS("report.xml validates"));
    out_free(&r);
    size_t len;
    char *xml = read_bytes("report.xml", &len);
    const char *want[] = {
        "<testsuites name=\"sim run\" tests=\"17\" failures=\"4\" errors=\"0\"",
        "<testsuite name=\"lost\" tests=\"4\" failures=\"4\"",
        "<testsuite name=\"register-stale-read\" tests=\"5\" failures=\"0\"",
        "<testcase name=\"expect = fail\" classname=\"register-stale-read\" time=\"0.000\"/>",
        "<testcase name=\"seed 2\" classname=\"lost\"",
        "<failure message=\"check: ",
        "type=\"check\">replay: sim replay --db t.db ",
        "<property name=\"expect\" value=\"fail\"/>",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_assert(ne(ptr, strstr(xml, want[i]), NULL), "no '%s' in:\n%s", want[i], xml);
    }
    release(xml);
    r = sim_split("run suite --seeds 1..2 --junit nosuchdir/report.xml");
    cr_assert(eq(int, r.status, 2));
    cr_assert(ne(ptr, strstr(r.err, "--junit nosuchdir/report.xml: cannot write there"), NULL),
              "%s", r.err);
    cr_assert(eq(str, r.text, ""));
    out_free(&r);
}

/* ---- shards and sim merge -------------------------------------------------------------------- */

/* Runs the suite in n shards with GNU parallel (two at a time) and merges them into all.db. */
static void shards_merged(int n)
{
    out r = sh("parallel --will-cite -j2 '%s run suite --seeds 1..12 --record full --quiet "
               "--shard {}/%d --db shard{}.db > shard{}.out' ::: $(seq 0 %d); echo $?",
               sim_bin(), n, n - 1);
    /* Each shard exits 1 (lost fails) or 0; parallel reports how many failed. */
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    char inputs[1024] = "";
    for (int k = 0; k < n; k++) {
        size_t o = strlen(inputs);
        snprintf(inputs + o, sizeof inputs - o, " shard%d.db", k);
    }
    r = SIM("merge all.db%s", inputs);
    char done[64];
    snprintf(done, sizeof done, "merged 48 run(s) from %d database(s) into all.db\n", n);
    expect(&r, 0, WORDS(done));
    out_free(&r);
}

static const char same_q[] = "SELECT scenario, seed, result, detail, printf('%016x', "
                             "trace_hash), event_count FROM runs ORDER BY scenario, seed";

/* Goal: shards run by GNU parallel and joined with sim merge hold the same runs, hashes,
 * verdicts and events as one process running the whole suite; every id is distinct and in
 * its shard's range; merging more than 10 databases works. Method: 3 shards, then 12, of the
 * suite over seeds 1..12; one plain run into one.db; compare. */
Test(suite_cli, shards_merged_equal_one_run)
{
    make_suite();
    out r = SIM("run suite --seeds 1..12 --record full --quiet --db one.db");
    expect(&r, 1, WORDS("\n24 passed, 24 failed\n"));
    out_free(&r);
    shards_merged(3);
    same_query("one.db", "all.db", same_q);
    same_query("one.db", "all.db", "SELECT r.scenario, r.seed, e.seq, e.kind, e.a, e.b FROM runs "
                                   "r JOIN events e USING (run_id) ORDER BY r.scenario, r.seed, "
                                   "e.seq");
    cr_assert(eq(u64, sql_u64("all.db", "SELECT count(DISTINCT run_id) FROM runs"), 48));
    cr_assert(eq(u64, sql_u64("all.db", "SELECT count(DISTINCT run_id >> 40) FROM runs"), 3));
    cr_assert(eq(u64, sql_u64("all.db", "SELECT min(run_id >> 40) FROM runs"), 1));
    r = sh("rm -f all.db shard*.db");
    out_free(&r);
    shards_merged(12);
    same_query("one.db", "all.db", same_q);
    cr_assert(eq(u64, sql_u64("all.db", "SELECT count(DISTINCT run_id >> 40) FROM runs"), 12));
}

/* Goal: sim merge loses nothing on bad input: an input of another schema version, one whose
 * run ids are already in the output, a file that is not a database, a missing file and the
 * output named as an input are each refused with the file named, exit 2, and the output
 * unchanged (or not created). Method: two shards; then each bad merge. */
Test(suite_cli, merge_refuses_what_it_cannot_join)
{
    write_file("demo.ini", "[scenario]\nname = demo\nsystem = demo\nseeds = 1..6\n");
    sim_expect(0, NULL, "run demo.ini --shard 0/2 --db a.db --quiet");
    sim_expect(0, NULL, "run demo.ini --shard 1/2 --db b.db --quiet");
    out r = sh("cp a.db old.db && sqlite3 old.db \"UPDATE meta SET value = 2 WHERE key = "
               "'schema_version'\"");
    expect(&r, 0, NULL);
    out_free(&r);
    r = sim_split("merge out.db b.db old.db");
    cr_assert(eq(int, r.status, 2));
    cr_assert(ne(ptr, strstr(r.err, "old.db: schema version 2, but this sim writes version"),
                 NULL), "%s", r.err);
    cr_assert(eq(int, exists("out.db"), false));
    out_free(&r);

    sim_expect(0, WORDS("merged 6 run(s) from 2 database(s) into out.db\n"),
               "merge out.db a.db b.db");
    r = sim_split("merge out.db b.db");
    cr_assert(eq(int, r.status, 2));
    cr_assert(ne(ptr, strstr(r.err, "b.db: run "), NULL), "%s", r.err);
    cr_assert(ne(ptr, strstr(r.err, "is already in out.db"), NULL), "%s", r.err);
    out_free(&r);
    cr_assert(eq(u64, sql_u64("out.db", "SELECT count(*) FROM runs"), 6));

    write_file("junk.db", "not a database at all, just text\n");
    const char *bad[][2] = {{"merge out.db junk.db", "junk.db: not a sim database"},
                            {"merge out.db missing.db", "missing.db: no such file"},
                            {"merge out.db out.db", "out.db is both the output and an input"},
                            {"merge out.db", "give the output and at least one input"},
                            {"merge --fast out.db a.db", "unknown option '--fast'"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = sim_split("%s", bad[i][0]);
        cr_assert(eq(int, r.status, 2), "%s", bad[i][0]);
        cr_assert(ne(ptr, strstr(r.err, bad[i][1]), NULL), "%s: %s", bad[i][0], r.err);
        out_free(&r);
    }
    cr_assert(eq(u64, sql_u64("out.db", "SELECT count(*) FROM runs"), 6));
}

/* ---- --check-determinism, --time-budget, progress, arguments --------------------------------- */

/* Goal: --check-determinism fails a seed whose two runs differ, as its own kind, with the
 * hashes, the interval where the hash chains part and the first differing event; a
 * deterministic scenario passes. Method: the demo's planted nondeterminism over seeds 1..2
 * with --jobs 2 --db; the plain demo. */
Test(suite_cli, check_determinism_flag)
{
    write_file("nd.ini", "[scenario]\nname = nd\nsystem = demo\nseeds = 1..2\n\n[demo]\n"
                         "bug = nondeterministic\n");
    write_file("demo.ini", "[scenario]\nname = demo\nsystem = demo\nseeds = 1..5\n");
    out r = SIM("run nd.ini demo.ini --check-determinism --jobs 2 --db t.db");
    expect(&r, 1, WORDS("FAIL  nd seed 1  nondeterministic: two runs gave hashes ",
                        "; they part between step ", "; first differing event: #",
                        "FAIL  nd seed 2  nondeterministic: ", "\n5 passed, 2 failed\n"));
    out_free(&r);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE result = "
                                      "'nondeterministic' AND events_stored = 1"), 2));
}

/* Goal: --time-budget stops starting seeds once spent, says how far the suite got and
 * which seed was next, and exits by the seeds that ran. Method: a million demo seeds with a
 * budget of 1 s. */
Test(suite_cli, time_budget_stops_starting_seeds)
{
    write_file("demo.ini", "[scenario]\nname = demo\nsystem = demo\nseeds = 1..5\n");
    out r = SIM("run demo.ini --seeds 1..1000000 --time-budget 1s --quiet");
    expect(&r, 0, WORDS("--time-budget spent (", " of 1000000 seeds run; the next was demo seed "));
    out_free(&r);
}

/* Goal: the progress line is drawn on a terminal (redrawn in place, with seeds/s and the
 * failures) and stays out of output that is not a terminal: no redrawing there ever, and no
 * line at all in a run shorter than the 10 s a log waits between lines. Method: script(1)
 * gives sim a terminal; the same run through a pipe (under ASan on a loaded machine it may
 * pass 10 s: then a plain line is allowed); a short run through a pipe. */
Test(suite_cli, progress_line_on_a_terminal_only)
{
    write_file("demo.ini", "[scenario]\nname = demo\nsystem = demo\nseeds = 1..5\n");
    out r = sh("script -qec '%s run demo.ini --seeds 1..3000 --jobs 2' /dev/null", sim_bin());
    cr_assert(ne(ptr, strstr(r.text, "\r\033[K"), NULL), "%s", r.text);
    cr_assert(ne(ptr, strstr(r.text, " seeds/s  "), NULL), "%s", r.text);
    cr_assert(ne(ptr, strstr(r.text, " failed  ETA "), NULL), "%s", r.text);
    out_free(&r);
    r = sim_split("run demo.ini --seeds 1..3000 --jobs 2");
    cr_assert(eq(ptr, strstr(r.err, "\r"), NULL), "%s", r.err);
    cr_assert(eq(ptr, strstr(r.err, "\033[K"), NULL), "%s", r.err);
    cr_assert(eq(ptr, strstr(r.text, "seeds/s"), NULL));
    out_free(&r);
    r = sim_split("run demo.ini --seeds 1..100 --jobs 2");
    cr_assert(eq(ptr, strstr(r.err, "seeds/s"), NULL), "%s", r.err);
    cr_assert(eq(ptr, strstr(r.text, "seeds/s"), NULL));
    out_free(&r);
}

/* Goal: bad suite arguments exit 2 with a message naming the option and what it expects,
 * before any seed runs. */
Test(suite_cli, bad_arguments)
{
    write_file("demo.ini", "[scenario]\nname = demo\nsystem = demo\nseeds = 1..5\n");
    const char *bad[][2] = {
        {"--jobs 0", "--jobs expects a number from 1 to 1024, got '0'"},
        {"--jobs many", "--jobs expects a number from 1 to 1024, got 'many'"},
        {"--shard 2/2", "--shard expects K/N with 0 <= K < N"},
        {"--shard 1", "--shard expects K/N with 0 <= K < N"},
        {"--shard 0/0", "--shard expects K/N with 0 <= K < N"},
        {"--time-budget soon", "--time-budget expects a duration such as 90s, 10m or 2h"},
        {"--junit", "--junit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out r = sim_split("run demo.ini --db t.db %s", bad[i][0]);
        cr_assert(eq(int, r.status, 2), "%s", bad[i][0]);
        cr_assert(ne(ptr, strstr(r.err, bad[i][1]), NULL), "%s: %s", bad[i][0], r.err);
        cr_assert(eq(str, r.text, ""), "%s", bad[i][0]);
        out_free(&r);
    }
    cr_assert(eq(int, exists("t.db"), false));
}

/* ---- docs/scale-out.md ----------------------------------------------------------------------- */

/* The sim command on a line of the doc, with the CI placeholders filled in for shard 0 and
 * what follows the command (a closing quote, a comment, "; test $? -le 1") cut off; false
 * when the line has none. */
static bool doc_command(const char *line, char *buf, size_t size)
{
    const char *at = strstr(line, "build/sim ");
    if (at == NULL) return false;
    size_t n = strcspn(at, "\n'#;");
    while (n > 0 && at[n - 1] == ' ') n--;
    char raw[512];
    cr_assert(lt(sz, n, sizeof raw));
    snprintf(raw, sizeof raw, "%.*s", (int)n, at);
    const char *from[] = {"${{ matrix.shard }}", "$JOB_COMPLETION_INDEX", "{}", "/out/"};
    const char *to[] = {"0", "0", "0", "out/"};
    size_t o = 0;
    for (const char *p = raw; *p && o + 1 < size;) {
        size_t k = 0;
        while (k < 4 && strncmp(p, from[k], strlen(from[k])) != 0) k++;
        if (k < 4) {
            o += (size_t)snprintf(buf + o, size - o, "%s", to[k]);
            p += strlen(from[k]);
        } else {
            buf[o++] = *p++;
        }
    }
    buf[o] = '\0';
    return true;
}

/* Goal: every sim command line in docs/scale-out.md (plain, in GNU parallel's quotes, in the
 * GitHub Actions and Kubernetes files) runs as written, shard placeholders filled in: no
 * run is refused (exit 2), and each merge joins its shards. Method: scenarios/ and build/sim
 * linked into the test folder, shards 0..7 run first into shardK.db and out/shardK.db (seeds
 * 1..2, to be quick), then each line of the doc in order, runs with --seeds 1..2 added. */
Test(suite_cli, scale_out_commands_run)
{
    out r = sh("ln -s %s/scenarios scenarios && mkdir build out && ln -s %s build/sim",
               getenv("SIM_SRC"), sim_bin());
    expect(&r, 0, NULL);
    out_free(&r);
    for (int k = 0; k < 8; k++) {
        r = sh("build/sim run scenarios/ --seeds 1..2 --quiet --shard %d/8 --db shard%d.db && "
               "cp shard%d.db out/", k, k, k);
        cr_assert(le(int, r.status, 1), "%s", r.text);
        out_free(&r);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/docs/scale-out.md", getenv("SIM_SRC"));
    FILE *f = fopen(path, "r");
    cr_assert(ne(ptr, f, NULL), "%s", path);
    char line[1024], cmd[1024];
    int runs = 0, merges = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (!doc_command(line, cmd, sizeof cmd)) continue;
        bool merge = strncmp(cmd, "build/sim merge ", 16) == 0;
        bool run = strncmp(cmd, "build/sim run ", 14) == 0;
        if (!merge && !run) continue;
        r = sh("rm -f all.db; %s%s 2>&1", cmd, run ? " --seeds 1..2" : "");
        if (merge) {
            expect(&r, 0, WORDS("merged ", " run(s) from "));
        } else {
            cr_assert(le(int, r.status, 1), "%s\n%s", cmd, r.text);
        }
        out_free(&r);
        runs += run;
        merges += merge;
    }
    fclose(f);
    cr_assert(le(int, 6, runs), "only %d sim run lines in the doc", runs);
    cr_assert(le(int, 4, merges), "only %d sim merge lines in the doc", merges);
}

/* ---- a worker that dies ---------------------------------------------------------------------- */

/* Goal: a system that takes its process down (abort, a segfault) fails its seed as `crash`,
 * with the signal and a replay command, and the suite goes on with a new worker: the other
 * scenarios' seeds all run and are recorded, and the exit status says a scenario missed its
 * expect. Method: the demo's crash bug over seeds 1..3 and the plain demo over 1..5, in one
 * run with --jobs 2 --db. */
Test(suite_cli, a_crashing_worker_fails_its_seed)
{
    write_file("a-crash.ini", "[scenario]\nname = crash\nsystem = demo\nseeds = 1..3\n\n"
                              "[demo]\nbug = crash\n");
    write_file("b-demo.ini", "[scenario]\nname = demo\nsystem = demo\nseeds = 1..5\n");
    out r = SIM("run a-crash.ini b-demo.ini --jobs 2 --db t.db");
    expect(&r, 1, WORDS("FAIL  crash seed 1  crash: its last words on stderr: ",
                        "Assertion `!(h->beat == 3 && h->stats->config.bug == "
                        "SIM_DEMO_BUG_CRASH) && \"the demo's planted crash\"' failed.; the "
                        "worker process running this seed was killed by signal 6 (",
                        "FAIL  crash seed 3  crash: ", "replay: sim replay --db t.db 3\n",
                        "\n5 passed, 3 failed\n"));
    expect_row(r.text, "crash", 3, 3, "pass");
    expect_row(r.text, "demo", 5, 0, "pass");
    out_free(&r);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE result = 'crash'"), 3));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE result = 'pass'"), 5));
}
