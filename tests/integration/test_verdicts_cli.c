/*
 * test_verdicts_cli.c: verdicts a user can trust (issue 17), from the command line: the sim
 * binary (SIM_BIN) in a fresh temporary directory per test, scenario files written there, the
 * database read with sim show and the sqlite3 shell.
 *
 * Each test is a defect a user found: a run that passed having done less than it was asked
 * (a client down when the run ended), a crashing seed that ended the suite, a hang report
 * stored that no command printed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(verdicts, .init = enter_dir, .fini = leave_dir);

/* The invocations in a stored run's history, as sim show lists them. */
static size_t invocations(const char *db, unsigned run)
{
    out r = SIM("show --db %s %u --kind history", db, run);
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    size_t n = count_matching(r.text, ":type :invoke");
    out_free(&r);
    return n;
}

/* Goal: a run does not end while a node the fault plan will restart is down. Client c1 of the
 * register is crashed at 50 ms and restarted by the script at 3 s, long after the other two
 * clients finished (about 0.25 s): the run goes on until c1 is back and has invoked its 20
 * operations, so every seed's history holds all 60 invocations and ends after 3 s. Before,
 * the run ended at 0.25 s and passed with 46 of 60. Method: sim run --record full; sim show
 * --kind history counts the invocations; the runs table the virtual time. */
Test(verdicts, run_waits_for_a_node_the_plan_restarts)
{
    write_file("down.ini", "[scenario]\nname = client-down\nsystem = register\nseeds = 1..3\n"
                           "[faults]\nat = 50ms crash c1\nat = 3s restart c1\n");
    out r = SIM("run down.ini --db t.db --record full");
    expect(&r, 0, WORDS("\n3 passed, 0 failed\n"));
    out_free(&r);
    for (unsigned run = 1; run <= 3; run++) {
        cr_assert(eq(sz, invocations("t.db", run), 60), "run %u", run);
    }
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE vtime_ns < 3000000000"),
                 0));
}

/* Goal: a system declares the work a run is asked for (sim_history_expect: the register's
 * clients times ops) and a run that did less fails, whatever the history's verdict. c1 is
 * crashed at 50 ms and nothing restarts it: every seed fails as `check` with "the clients
 * invoked N of the 60 operations expected: the run ended with work undone". Before, every
 * seed passed. Method: sim run over 3 seeds; the FAIL lines. */
Test(verdicts, less_work_than_declared_fails)
{
    write_file("gone.ini", "[scenario]\nname = client-gone\nsystem = register\nseeds = 1..3\n"
                           "[faults]\nat = 50ms crash c1\n");
    out r = SIM("run gone.ini");
    cr_assert(eq(int, r.status, 1), "%s", r.text);
    size_t n = count_matching(r.text, "^FAIL  client-gone seed [0-9]  check: the clients invoked "
                                      "[0-9]+ of the 60 operations expected: the run ended with "
                                      "work undone \\([0-9]+ pending\\)$");
    cr_assert(eq(sz, n, 3), "%s", r.text);
    out_free(&r);
}

/* Goal: the demo system's check also refuses a run whose ticker never sent all its
 * requests (the demo records no history, so it says so itself). n1, the ticker's node, is
 * crashed at 500 ms, before its twenty 100 ms ticks are sent, and never restarts. Method: sim
 * run; the FAIL line names the work undone and the node down. */
Test(verdicts, demo_without_its_ticks_fails)
{
    write_file("demo.ini", "[scenario]\nname = demo-down\nsystem = demo\nseeds = 1\n"
                           "[demo]\ncrash_at = 0s\npause_at = 0s\n"
                           "[faults]\nat = 500ms crash n1\n");
    sim_expect(1, WORDS("no ticker sent all of its 20 requests: the run ended with work undone",
                        "down at the end"),
               "run demo.ini");
}

/* Goal: a run held for a node that never gets its work done (the plan crashes it faster
 * than its work takes) fails as liveness and names the node: "ended with 1 node(s) down and
 * work pending (n2)". Method: the demo under crash = 1/2s, seed 8, which ends that way. */
Test(verdicts, liveness_names_the_nodes_down)
{
    write_file("fast.ini", "[scenario]\nname = demo-fast\nsystem = demo\nseeds = 8\n"
                           "[faults]\ncrash = 1/2s\n");
    sim_expect(1, WORDS("liveness: time limit 60.000000s reached",
                        "; ended with 1 node(s) down and work pending (n2)"),
               "run fast.ini");
}

/* Goal: the hang report a deadlock stores is printed by `sim show --report`, even for a run
 * recorded without events; a run that passed says it has none. Before, no command printed
 * it ("unknown option"). Method: demo-deadlock seed 1 with --record off; then a demo pass. */
Test(verdicts, show_report_prints_the_hang_report)
{
    copy_scenario("demo-deadlock.ini");
    sim_expect(0, NULL, "run demo-deadlock.ini --seeds 1 --db t.db --record off");
    sim_expect(0, WORDS("run 1: demo-deadlock seed 1, deadlock\n", "deadlock at 3.501899s",
                        "heartbeat n2       blocked", "recv on oneshot"),
               "show --db t.db 1 --report");
    copy_scenario("demo.ini");
    sim_expect(0, NULL, "run demo.ini --seeds 1 --db p.db");
    sim_expect(0, WORDS("run 1: demo seed 1, pass\nno hang report"), "show --db p.db 1 --report");
}

/* Goal: a seed whose system fails an assertion is a result, not the end of the suite, whatever
 * --jobs is: it fails as `crash` with the assertion's text (expression, place, seed, time,
 * task) in its printed and stored detail, the later seeds run, the summary counts it, and
 * `sim show` of it does not say it passed. Before, --jobs 1 died with the process (exit 134,
 * no summary, seeds 3..5 never ran) and --jobs 2 kept only "killed by signal 6"; sim show
 * said "and it passed". Method: the demo's assert bug over seeds 1..5 (2 and 5 fail). */
Test(verdicts, an_assertion_fails_its_seed_and_the_suite_goes_on)
{
    write_file("a.ini", "[scenario]\nname = asserts\nsystem = demo\nseeds = 1..5\n\n"
                        "[demo]\nbug = assert\n");
    for (unsigned jobs = 1; jobs <= 2; jobs++) {
        out r = sim_split("run a.ini --jobs %u --db t%u.db", jobs, jobs);
        expect(&r, 1, WORDS("FAIL  asserts seed 2  crash: ", "FAIL  asserts seed 5  crash: ",
                            "assertion failed: sim_world_seed(w) % 3 != 2 at systems/demo/demo.c:",
                            "seed 5, virtual time 0.750000s, step ", "task 3 (heartbeat)",
                            "\n3 passed, 2 failed\n"));
        out_free(&r);
        char db[16], detail[600];
        snprintf(db, sizeof db, "t%u.db", jobs);
        sql_text(db, "SELECT detail FROM runs WHERE seed = 2", detail, sizeof detail);
        cr_assert(ne(ptr, strstr(detail, "assertion failed: sim_world_seed(w) % 3 != 2"), NULL),
                  "%s", detail);
        cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM runs WHERE result = 'pass'"), 3));
        out s = SIM("show --db %s 2", db);
        cr_assert(eq(ptr, strstr(s.text, "passed"), NULL), "%s", s.text);
        expect(&s, 2, WORDS("crash", "assertion failed: sim_world_seed(w) % 3 != 2"));
        out_free(&s);
    }
}

/* Goal: a seed that fails a plain assert(3) (or writes why to stderr before it dies) keeps
 * that message in its detail, printed and stored, whatever --jobs is, and the message still
 * reaches sim's stderr. Before, the detail said only "killed by signal 6": the user had to
 * rerun the seed by hand to learn which assertion failed. Method: the demo's crash bug (an
 * assert(3) at the third heartbeat) over seeds 1..2 with --jobs 1 and 2. */
Test(verdicts, a_plain_assert_keeps_its_message)
{
    write_file("c.ini", "[scenario]\nname = crashes\nsystem = demo\nseeds = 1..2\n\n"
                        "[demo]\nbug = crash\n");
    for (unsigned jobs = 1; jobs <= 2; jobs++) {
        out r = sim_split("run c.ini --jobs %u --db t%u.db", jobs, jobs);
        expect(&r, 1, WORDS("FAIL  crashes seed 1  crash: its last words on stderr: ",
                            "demo.c:", "Assertion `!(h->beat == 3",
                            "' failed.; the worker process running this seed was killed by "
                            "signal 6 (",
                            "FAIL  crashes seed 2  crash: its last words on stderr: ",
                            "\n0 passed, 2 failed\n"));
        cr_assert(ne(ptr, strstr(r.err, "Assertion `!(h->beat == 3"), NULL),
                  "stderr lost the message: %s", r.err);
        out_free(&r);
        char db[16], detail[600];
        snprintf(db, sizeof db, "t%u.db", jobs);
        sql_text(db, "SELECT detail FROM runs WHERE seed = 2", detail, sizeof detail);
        cr_assert(ne(ptr, strstr(detail, "the demo's planted crash"), NULL), "%s", detail);
    }
}

/* Goal: `sim run` prints, under a deadlock or liveness failure, the tasks the hang left
 * waiting (the hang report's table: what each awaits and since when), between the failure
 * and its replay line. Before, only `sim show --report` printed them. Method: demo-deadlock
 * seed 1 (the heartbeat awaits an ack from 1.5 s); the demo under crash = 1/2s, seed 8
 * (liveness: the fault driver's task still sleeping at the time limit). */
Test(verdicts, run_prints_the_hang_report)
{
    copy_scenario("demo-deadlock.ini");
    sim_expect(0, WORDS("found demo-deadlock seed 1  deadlock: deadlock at 3.501899s",
                        "pending\n      task   name      node     state     since          "
                        "awaits\n      3      heartbeat n2       blocked   1.500000s      "
                        "recv on oneshot #14 'ack'",
                        "(heartbeat)\n      replay: sim replay --scenario demo-deadlock.ini"),
               "run demo-deadlock.ini --seeds 1");
    write_file("fast.ini", "[scenario]\nname = demo-fast\nsystem = demo\nseeds = 8\n"
                           "[faults]\ncrash = 1/2s\n");
    sim_expect(1, WORDS("(n2)\n      faults: crash=1/2s\n      task   name   node ",
                        "\n      6      faults -        blocked   57.451444s     sleep until "),
               "run fast.ini");
}

/* Goal: a replay of a run made under --set says which overrides it ran with, and says the
 * scenario file changed only when the file did, naming only the file's changes. Before, the
 * overrides were reported as the file having changed ("[faults] crash = 0  was: crash =
 * 1/1s"). Method: demo seed 1 under two overrides, replayed; then the file's time limit
 * edited, replayed again. */
Test(verdicts, replay_names_the_set_overrides)
{
    copy_scenario("demo.ini");
    sim_expect(1, NULL, "run demo.ini --seeds 1 --set faults.crash=1/1s --set demo.ticks=10 "
                        "--db t.db");
    out r = SIM("replay --db t.db 1");
    expect(&r, 0, WORDS("note: run 1 ran with --set overrides of demo.ini: faults.crash=1/1s "
                        "demo.ticks=10; the file itself is unchanged\n", "identical ("));
    cr_assert(eq(ptr, strstr(r.text, "has changed"), NULL), "%s", r.text);
    out_free(&r);
    out e = sh("sed -i 's/^time_limit = 60s$/time_limit = 50s/' demo.ini");
    cr_assert(eq(int, e.status, 0), "%s", e.text);
    out_free(&e);
    r = SIM("replay --db t.db 1");
    expect(&r, 0, WORDS("note: run 1 ran with --set overrides of demo.ini: faults.crash=1/1s "
                        "demo.ticks=10\n", "note: demo.ini has changed since run 1 was "
                        "recorded", "[scenario] time_limit = 50s  was: time_limit = 1m\n",
                        "identical ("));
    cr_assert(eq(ptr, strstr(r.text, "crash = 0"), NULL), "%s", r.text);
    out_free(&r);
}

/* Goal: the manual page `make install` installs (tools/man.sh) is made from the binary's own
 * --help texts: a section per command the binary lists, each with that command's usage, and
 * nothing roff would take for a request. Method: tools/man.sh on the sim under test. */
Test(verdicts, man_page_from_the_help_texts)
{
    out r = sh("'%s/tools/man.sh' '%s' > sim.1", sim_src(), sim_bin());
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    r = sh("cat sim.1");
    static const char *const sections[] = {
        ".TH SIM 1 ", ".SH NAME\n", ".SH SYNOPSIS\n", ".SS run\n", ".SS replay\n",
        ".SS check-determinism\n", ".SS show\n", ".SS list\n", ".SS merge\n", ".SS check\n",
        ".SS demo\n", "usage: sim run SCENARIO|FOLDER...", "  --sweep POINT ",
        "sim show --db FILE RUN --report", ".SH EXIT STATUS\n", NULL};
    expect(&r, 0, sections);
    /* Every line that starts with a dot is one of the page's own requests. */
    static const char *const requests[] = {".TH ", ".SH ", ".SS ", ".nf", ".fi", ".PP", ".BR ",
                                           ".TP", ".I "};
    size_t bad = 0;
    for (const char *line = r.text; line != NULL && *line != '\0';) {
        if (line[0] == '.') {
            bool known = false;
            for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
                known |= strncmp(line, requests[i], strlen(requests[i])) == 0;
            }
            bad += !known;
        }
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    cr_assert(eq(sz, bad, 0), "%zu lines look like roff requests:\n%s", bad, r.text);
    out_free(&r);
}
