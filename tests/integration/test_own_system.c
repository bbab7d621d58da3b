/*
 * test_own_system.c: a user's own test binary, the command line of libsim (sim_main) over
 * the system and checker model of examples/own-system/ (a replicated counter), built here as
 * $SIM_EXAMPLES/counter-sim: it names itself in usage, errors and suggested commands, records
 * its identity with every run, checks with its own model, and fills the database and run into
 * the command a failed check suggests. The stock sim refuses what it does not offer.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(own_system, .init = enter_dir, .fini = leave_dir);

/* Runs counter-sim ARGS in the test directory, stderr folded into stdout. */
static out own_sim(const char *args)
{
    const char *dir = getenv("SIM_EXAMPLES");
    cr_assert(ne(ptr, (void *)dir, NULL), "SIM_EXAMPLES is not set: run through make test");
    return sh("%s/counter-sim %s", dir, args);
}

/* The example's scenarios, copied into the test directory's scenarios/. */
static void copy_own_scenarios(void)
{
    out r = sh("cp -r %s/examples/own-system/scenarios .", sim_src());
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
}

/* Goal: the binary names itself (argv[0]), not sim: in --help, in errors, and --version gives
 * its identity, "counter-sim 1.0 (build-id HEX, libsim VERSION)", the build id being the
 * linker's note. Method: --help, an unknown command, --version. */
Test(own_system, names_itself)
{
    out r = own_sim("--help");
    expect(&r, 0, WORDS("usage: counter-sim COMMAND", "  counter-sim COMMAND --help"));
    cr_assert(eq(ptr, strstr(r.text, "demo"), NULL), "the stock sim's demo is not here:\n%s",
              r.text);
    out_free(&r);
    r = own_sim("frobnicate");
    expect(&r, 2, WORDS("counter-sim: unknown command 'frobnicate'"));
    out_free(&r);
    r = own_sim("--version");
    expect(&r, 0, WORDS("counter-sim 1.0 (build-id ", ", libsim " SIM_VERSION_STRING ")\n"));
    cr_assert(eq(int, count_matching(r.text, "^counter-sim 1\\.0 \\(build-id [0-9a-f]{16,}, "), 1),
              "%s", r.text);
    out_free(&r);
    r = own_sim("check --help");
    expect(&r, 0, WORDS("usage: counter-sim check --model MODEL",
                        "                 counter    add (a number >= 0) and read"));
    out_free(&r);
}

/* Goal: the example's suite over its own scenarios: the clean, crash and partition scenarios
 * pass, the planted bug is found; every failure line suggests commands that work, naming
 * counter-sim with the real database and run (no FILE or RUN); the JUnit report is written;
 * each run records the binary's identity. Method: run scenarios/ --db --jobs 2 --junit. */
Test(own_system, suite_finds_the_planted_bug)
{
    copy_own_scenarios();
    out r = own_sim("run scenarios/ --db t.db --jobs 2 --junit r.xml");
    expect(&r, 0, WORDS("counter-clean ", "counter-crashes ", "counter-partitions ",
                        "counter-random-faults ", "\nfound counter-bug-forget seed ",
                        "      replay: counter-sim replay --db t.db "));
    size_t found = count_matching(r.text, "^found counter-bug-forget seed [0-9]+  check: not "
                                          "linearizable \\(model counter\\): .* "
                                          "\\(counter-sim check --db t\\.db [0-9]+ --model "
                                          "counter shows why\\)$");
    cr_assert(lt(sz, 0, found), "%s", r.text);
    cr_assert(eq(ptr, strstr(r.text, "FILE"), NULL), "%s", r.text);
    cr_assert(eq(ptr, strstr(r.text, " RUN"), NULL), "%s", r.text);
    cr_assert(eq(ptr, strstr(r.text, "FAIL"), NULL), "%s", r.text);
    out_free(&r);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE binary_version NOT LIKE "
                                      "'counter-sim 1.0 (build-id %%, libsim %%)'"), 0));
    r = sh("test -s r.xml");
    cr_assert(eq(int, r.status, 0));
    out_free(&r);
}

/* Goal: a failure found by the user's binary is checked, replayed and shown by it, with its
 * own model: `check --model counter` on the stored run says not linearizable (exit 1), as the
 * run's line said; the stock sim refuses the model, listing those it offers, and cannot
 * replay the run (its system is not there), naming the binary that recorded it. Method: the
 * planted-bug scenario with --db; the first failed run. */
Test(own_system, check_replay_show_with_its_own_model)
{
    copy_own_scenarios();
    out r = own_sim("run scenarios/bug-forget.ini --db t.db");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    unsigned long long run = sql_u64("t.db", "SELECT min(run_id) FROM runs WHERE result = "
                                             "'check'");
    char args[256];
    snprintf(args, sizeof args, "check --db t.db %llu --model counter", run);
    r = own_sim(args);
    expect(&r, 1, WORDS("not linearizable (model counter): ", "none of these can take effect"));
    out_free(&r);
    snprintf(args, sizeof args, "replay --db t.db %llu", run);
    r = own_sim(args);
    expect(&r, 0, WORDS("recorded check, replayed check", "identical ("));
    cr_assert(eq(ptr, strstr(r.text, "note: "), NULL), "the same binary:\n%s", r.text);
    out_free(&r);
    snprintf(args, sizeof args, "show --db t.db %llu --kind history", run);
    r = own_sim(args);
    char want[160];
    snprintf(want, sizeof want, "(counter-sim check --db t.db %llu --model counter shows why)",
             run);
    expect(&r, 0, WORDS("check: not linearizable (model counter)", want, " history "));
    out_free(&r);
    /* --report of a run with no hang report: the detail with the real command too (it said
     * "sim check --db FILE RUN" before). */
    snprintf(args, sizeof args, "show --db t.db %llu --report", run);
    r = own_sim(args);
    expect(&r, 0, WORDS("no hang report", want));
    cr_assert(eq(ptr, strstr(r.text, "FILE RUN"), NULL), "%s", r.text);
    out_free(&r);

    r = SIM("check --db t.db %llu --model counter", run);
    expect(&r, 2, WORDS("sim: --model expects one of register, kv, kv-empty; got 'counter'"));
    out_free(&r);
    r = SIM("replay --db t.db %llu", run);
    expect(&r, 2, WORDS("recorded by counter-sim 1.0 (build-id ", "does not load in sim "
                        SIM_VERSION_STRING, "unknown system 'counter'"));
    out_free(&r);
}

/* Goal: without --db a failure line suggests no command with FILE or RUN in it: it says to
 * record the seed with --db, and its replay line runs from the scenario file. Method: run the
 * planted bug without --db. */
Test(own_system, unrecorded_failure_suggests_recording)
{
    copy_own_scenarios();
    out r = own_sim("run scenarios/bug-forget.ini");
    expect(&r, 0, WORDS("(record the seed with --db to check its history with counter-sim check "
                        "--model counter)\n",
                        "      replay: counter-sim replay --scenario scenarios/bug-forget.ini "
                        "--seed "));
    cr_assert(eq(ptr, strstr(r.text, "FILE"), NULL), "%s", r.text);
    out_free(&r);
}
