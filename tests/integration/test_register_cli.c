/*
 * test_register_cli.c: the register system (systems/register/, docs/systems/register.md) from
 * the command line, run as a user would: the sim binary (SIM_BIN, set by make test) in a
 * fresh temporary directory per test, with scenario files copied from SIM_SRC or written
 * there, and the database read with the sqlite3 shell.
 *
 * The register is sim's end-to-end test of history recording and the linearizability
 * checker: clients record every operation with sim_history_invoke / sim_history_complete and
 * the system's check runs sim_check on the world's history. What is checked: the clean
 * scenario passes every seed; the stale-read scenario fails most seeds as "not
 * linearizable" with the hint that names `sim check`; `sim check --db` on a stored run gives
 * the same verdict offline, with the anomaly, for a failing run and a passing one recorded in
 * full; `sim show --kind history` lists the history; a run recorded with --record off has no
 * history to check; and bad [register] values are refused before any run.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(register_cli, .init = enter_dir, .fini = leave_dir);

/* A failure's hint when the run is not recorded (no --db): no command with FILE or RUN in it,
 * what to do instead. */
#define HINT "(record the seed with --db to check its history with sim check --model register)"

/* The run numbers named by the "replay: sim replay --db DB RUN" lines of a `sim run` output,
 * in order; returns how many (at most max). */
static size_t replayed_runs(const char *text, const char *db, unsigned *runs, size_t max)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "      replay: sim replay --db %s ", db);
    size_t n = 0;
    for (const char *line = text; line != NULL && *line != '\0'; line = next_line(line)) {
        if (strncmp(line, prefix, strlen(prefix)) != 0) continue;
        cr_assert(lt(sz, n, max), "%s", text);
        cr_assert(eq(int, sscanf(line + strlen(prefix), "%u", &runs[n]), 1), "%s", line);
        n++;
    }
    return n;
}

/* ---- sim run -------------------------------------------------------------------------------- */

/* Goal: scenarios/register.ini, three clients with twenty operations each and no bug, passes
 * every one of its 50 seeds: each history is linearizable. Method: sim run; the summary line
 * and no FAIL. */
Test(register_cli, clean_scenario_passes)
{
    copy_scenario("register.ini");
    out r = SIM("run register.ini");
    expect(&r, 0, WORDS("\n50 passed, 0 failed\n"));
    expect_row(r.text, "register", 50, 0, "pass");
    cr_assert(eq(ptr, strstr(r.text, "FAIL"), NULL), "%s", r.text);
    out_free(&r);
}

/* Goal: scenarios/register-stale-read.ini finds its planted bug on most seeds (at least 40
 * of 50): each failure is a "check" failure whose message is the checker's summary ("not
 * linearizable (model register): N of M operations linearize, then K cannot take effect")
 * followed by the hint naming `sim check`, and the replay line names its stored run. The
 * scenario expects to fail, so sim run exits 0. The same bug in a file that expects to pass
 * makes sim run exit 1 with FAIL lines. Method: sim run --db; count the lines; then a written
 * file with expect = pass over seeds 1..5. */
Test(register_cli, stale_read_is_not_linearizable)
{
    copy_scenario("register-stale-read.ini");
    out r = SIM("run register-stale-read.ini --db t.db");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    size_t found = count_matching(r.text, "^found register-stale-read seed [0-9]+  check: not "
                                          "linearizable \\(model register\\): [0-9]+ of [0-9]+ "
                                          "operations linearize, then [0-9]+ cannot take effect "
                                          "\\(sim check --db t.db [0-9]+ --model register "
                                          "shows why\\)$");
    cr_assert(le(sz, 40, found), "only %zu of 50 seeds found the bug:\n%s", found, r.text);
    unsigned runs[64];
    cr_assert(eq(sz, replayed_runs(r.text, "t.db", runs, 64), found), "%s", r.text);
    expect_row(r.text, "register-stale-read", 50, found, "fail");
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE result = 'check'"),
                 found));
    out_free(&r);

    write_file("strict.ini", "[scenario]\nname = strict\nsystem = register\nseeds = 1..5\n"
                             "expect = pass\n\n[register]\nbug = stale-read\n");
    r = SIM("run strict.ini");
    expect(&r, 1, WORDS("FAIL  strict seed ", "  check: not linearizable (model register): ",
                        HINT, "scenario strict (strict.ini): expect = pass, but some seeds "
                        "failed"));
    out_free(&r);
}

/* ---- sim check on a stored run -------------------------------------------------------------- */

/* Goal: `sim check --db FILE RUN --model register` checks the history stored with a run and
 * agrees with the run's own check. A failing stale-read run (stored with its events, as every
 * failure is) exits 1 with the summary and the anomaly: the longest linearizable prefix, the
 * state after it, and the operations none of which can take effect next. A passing run of the
 * clean scenario recorded with --record full exits 0, "linearizable". Method: sim run --db
 * of both, then sim check on the first five failing runs and on the passing run. */
Test(register_cli, check_reads_the_stored_history)
{
    copy_scenario("register.ini");
    copy_scenario("register-stale-read.ini");
    out r = SIM("run register-stale-read.ini --seeds 1..10 --db t.db");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    unsigned runs[16];
    size_t n = replayed_runs(r.text, "t.db", runs, 16);
    cr_assert(le(sz, 5, n), "%s", r.text);
    out_free(&r);
    for (size_t i = 0; i < 5; i++) {
        out c = SIM("check --db t.db %u --model register", runs[i]);
        expect(&c, 1, WORDS("not linearizable (model register): ", " cannot take effect\n",
                            "  the longest linearizable prefix (the last ",
                            "  state after it: ", "  none of these can take effect next:\n",
                            " configurations searched"));
        cr_assert(eq(int, strncmp(c.text, "not linearizable", 16), 0), "%s", c.text);
        out_free(&c);
    }

    sim_expect(0, WORDS("\n1 passed, 0 failed\n"),
               "run register.ini --seed 7 --db p.db --record full");
    cr_assert(eq(u64, sql_u64("p.db", "SELECT count(*) FROM history WHERE run_id = 1"), 120));
    out c = SIM("check --db p.db 1 --model register");
    expect(&c, 0, WORDS("linearizable: ", " operations (model register)\n"));
    cr_assert(eq(int, strncmp(c.text, "linearizable: ", 14), 0), "%s", c.text);
    cr_assert(eq(ptr, strstr(c.text, "not linearizable"), NULL), "%s", c.text);
    out_free(&c);
}

/* Goal: `sim show --kind history` lists a stored run's history as history events, one EDN
 * map each, on the clients' nodes: with three clients of twenty operations and no faults,
 * 60 invocations and 60 completions (ok or fail), nothing else. Method: the clean scenario's
 * seed 3 with --record full; parse the event lines. */
Test(register_cli, show_lists_history_events)
{
    copy_scenario("register.ini");
    sim_expect(0, NULL, "run register.ini --seed 3 --db t.db --record full");
    out r = SIM("show --db t.db 1 --kind history");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    static show_line lines[200];
    size_t n = show_lines(r.text, lines, 200);
    cr_assert(eq(sz, n, 120), "%s", r.text);
    size_t invokes = 0, done = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(eq(str, lines[i].event, "history"), "%s", lines[i].what);
        cr_assert(eq(int, matches(lines[i].node, "^c[123]$", NULL, 0), true), "%s",
                  lines[i].node);
        cr_assert(eq(int, matches(lines[i].what, "^\\{:process [0-9]+, :type :(invoke|ok|fail)"
                                                 ", :f :(read|write|cas), :value ", NULL, 0),
                     true), "%s", lines[i].what);
        invokes += strstr(lines[i].what, ":type :invoke") != NULL;
        done += strstr(lines[i].what, ":type :ok") != NULL ||
                strstr(lines[i].what, ":type :fail") != NULL;
    }
    cr_assert(eq(sz, invokes, 60));
    cr_assert(eq(sz, done, 60));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = 1 AND kind "
                                      "= " KIND("history")), 120));
    out_free(&r);
}

/* Goal: a run recorded with --record off keeps no history, and `sim check --db` says so with
 * exit 2 instead of checking an empty history. Method: the clean scenario's seed 1 with
 * --record off; sim check with stderr apart. */
Test(register_cli, check_without_stored_history)
{
    copy_scenario("register.ini");
    sim_expect(0, NULL, "run register.ini --seed 1 --db o.db --record off");
    out c = sim_split("check --db o.db 1 --model register");
    cr_assert(eq(int, c.status, 2), "stdout:\n%s\nstderr:\n%s", c.text, c.err);
    cr_assert(eq(str, c.text, ""));
    cr_assert(ne(ptr, strstr(c.err, "sim: o.db: run 1 has no stored history: a run keeps it "
                                    "with its events"), NULL), "%s", c.err);
    cr_assert(ne(ptr, strstr(c.err, "  record the seed again: sim run register.ini --seed 1 "
                                    "--db o.db --record full\n"), NULL), "%s", c.err);
    out_free(&c);
}

/* ---- bad input ------------------------------------------------------------------------------ */

/* Goal: bad [register] values are refused before any run, exit 2, nothing on stdout, with
 * "sim: FILE:LINE: [register] KEY: ..." naming what is valid, and no database made; a bad
 * --set register.KEY likewise. Method: written files, each bad line on line 7; set_refused. */
Test(register_cli, bad_register_section)
{
    struct {
        const char *line;
        const char *words[3];
    } cases[] = {
        {"bug = typo", {"[register] bug: expected one of none, stale-read; got 'typo'", NULL}},
        {"clients = 33", {"[register] clients: expected a whole number in 1..32", "'33'", NULL}},
        {"clients = 0", {"[register] clients: expected a whole number in 1..32", "'0'", NULL}},
        {"ops = many", {"[register] ops: expected a whole number", "'many'", NULL}},
        {"nosuch = 1", {"[register] unknown key 'nosuch'; valid keys: ", "clients", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "[scenario]\nname = bad\nsystem = register\nseeds = 1..2\n"
                                    "\n[register]\n%s\n", cases[i].line);
        write_file("bad.ini", text);
        out r = sim_split("run bad.ini --db new.db");
        cr_assert(eq(int, r.status, 2), "'%s':\nstdout:\n%s\nstderr:\n%s", cases[i].line,
                  r.text, r.err);
        cr_assert(eq(str, r.text, ""), "'%s'", cases[i].line);
        cr_assert(eq(int, strncmp(r.err, "sim: bad.ini:7: [register] ", 27), 0), "'%s':\n%s",
                  cases[i].line, r.err);
        for (size_t w = 0; cases[i].words[w] != NULL; w++) {
            cr_assert(ne(ptr, strstr(r.err, cases[i].words[w]), NULL), "'%s': no '%s' in:\n%s",
                      cases[i].line, cases[i].words[w], r.err);
        }
        cr_assert(eq(int, exists("new.db"), false), "'%s' created a database", cases[i].line);
        out_free(&r);
    }
    copy_scenario("register.ini");
    set_refused("register.ini", "register.bug=typo",
                WORDS("[register] bug: expected one of none, stale-read"));
}

/* ---- the check's bound: unknown ------------------------------------------------------------- */

/* Three seeds of the clean register whose check may take 20 steps: every check needs more (60
 * operations), so every seed ends unknown. */
static const char bounded_ini[] = "[scenario]\nname = reg\nsystem = register\nseeds = 1..3\n"
                                  "\n[check]\nmax_steps = 20\n%s";

/* The row of `reg` in a table with an unknown column: seeds, passed, failed, unknown. */
static void unknown_row(const char *text, unsigned long long want[4], const char *expect_what)
{
    const char *at = strstr(text, "\nreg ");
    cr_assert(ne(ptr, (void *)at, NULL), "%s", text);
    unsigned long long got[4];
    char expect_col[8];
    cr_assert(eq(int, sscanf(at, "\nreg %llu %llu %llu %llu %7s", &got[0], &got[1], &got[2],
                             &got[3], expect_col), 5), "%s", text);
    for (int i = 0; i < 4; i++) cr_assert(eq(u64, got[i], want[i]), "column %d of:\n%s", i, text);
    cr_assert(eq(str, expect_col, (char *)expect_what), "%s", text);
}

/* The detail of such a run (printed after "unknown: "). */
#define UNKNOWN_SUMMARY "the search reached its bound of 20 steps (model register); raise "     \
                        "[check] max_steps"
/* As stored (the check's words) and as printed for run RUN of t.db (filled in). */
#define UNKNOWN_DETAIL                                                                         \
    UNKNOWN_SUMMARY ", or search on: sim check --db FILE RUN --model register --max-steps 200"
#define UNKNOWN_SHOWN(run)                                                                     \
    UNKNOWN_SUMMARY ", or search on: sim check --db t.db " run " --model register "            \
                    "--max-steps 200"

/* Goal: a system's check that reaches its bound ([check] max_steps) ends the run `unknown`, a
 * result of its own (issue 15, defect 13): printed as UNKNOWN with the bound and what to do,
 * counted in an unknown column and on the summary line, failing the scenario (exit 1) since
 * [check] unknown defaults to fail; stored as unknown (with its history, as a failure is, so
 * that `sim check --db --max-steps` gives the same answer and a larger bound a verdict);
 * listed by `sim list`; replayed identically; a failure of type unknown in JUnit, which
 * validates. max_steps = 0 lifts the bound. Method: bounded_ini; run with --db and --junit;
 * the runs table, list, check, replay, xmllint; then --set check.max_steps=0. */
Test(register_cli, check_bound_ends_unknown_and_fails_by_default)
{
    char text[512];
    snprintf(text, sizeof text, bounded_ini, "");
    write_file("reg.ini", text);
    out r = SIM("run reg.ini --db t.db --junit r.xml");
    expect(&r, 1, WORDS("UNKNOWN reg seed 1  unknown: " UNKNOWN_SHOWN("1")
                        "\n      replay: sim replay --db t.db 1\n",
                        "UNKNOWN reg seed 3  ",
                        "scenario reg (reg.ini): 3 seed(s) unknown: the system's check reached "
                        "its bound, [check] max_steps = 20, before a verdict; they do not pass: "
                        "raise max_steps for a verdict, or say [check] unknown = pass\n",
                        "\n0 passed, 0 failed, 3 unknown\n"));
    cr_assert(eq(ptr, strstr(r.text, "FAIL"), NULL), "%s", r.text);
    unknown_row(r.text, (unsigned long long[4]){3, 0, 0, 3}, "pass");
    out_free(&r);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE result = 'unknown' AND "
                                      "events_stored = 1 AND detail = '%s'",
                              UNKNOWN_DETAIL), 3));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(DISTINCT run_id) FROM history"), 3));
    sim_expect(0, WORDS(" unknown  ", "3 run(s), 3 unknown (the check reached its bound before "
                        "a verdict: sim check --db t.db RUN --model M searches further)\n"),
               "list --db t.db --failed");
    sim_expect(3, WORDS("unknown: the search reached its bound of 20 steps (model register)\n"),
               "check --db t.db 2 --model register --max-steps 20");
    sim_expect(0, WORDS("linearizable: "), "check --db t.db 2 --model register");
    sim_expect(0, WORDS("recorded unknown, replayed unknown", "identical ("),
               "replay --db t.db 3");

    r = sh("xmllint --noout --schema %s/tests/data/junit.xsd r.xml 2>&1", getenv("SIM_SRC"));
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    size_t len;
    const char *xml = read_bytes("r.xml", &len);
    cr_assert(ne(ptr, strstr(xml, "<testsuite name=\"reg\" tests=\"3\" failures=\"3\" "
                                  "errors=\"0\" skipped=\"0\""), NULL), "%s", xml);
    cr_assert(ne(ptr, strstr(xml, "<failure type=\"unknown\" message=\"unknown: the search "
                                  "reached its bound of 20 steps (model register)"), NULL),
              "%s", xml);

    sim_expect(0, WORDS("\n3 passed, 0 failed\n"), "run reg.ini --set check.max_steps=0");
}

/* Goal: [check] unknown = pass lets unknown seeds pass, still printed and counted as unknown,
 * and JUnit marks them skipped with the reason; they are not run again to be stored (they did
 * not fail). Method: bounded_ini with unknown = pass; run with --db and --junit. */
Test(register_cli, unknown_pass_passes_but_still_says_unknown)
{
    char text[512];
    snprintf(text, sizeof text, bounded_ini, "unknown = pass\n");
    write_file("reg.ini", text);
    out r = SIM("run reg.ini --db t.db --junit r.xml");
    expect(&r, 0, WORDS("UNKNOWN reg seed 2  unknown: " UNKNOWN_SUMMARY
                        " (run 2's history was not stored: record the seed with --record full "
                        "to check it with sim check --model register)"
                        " (counted as passed: [check] unknown = pass)\n",
                        "3 seed(s) unknown: the system's check reached its bound, [check] "
                        "max_steps = 20, before a verdict; they pass ([check] unknown = pass)",
                        "\n0 passed, 0 failed, 3 unknown\n"));
    unknown_row(r.text, (unsigned long long[4]){3, 0, 0, 3}, "pass");
    out_free(&r);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE result = 'unknown' AND "
                                      "events_stored = 0"), 3));
    size_t len;
    const char *xml = read_bytes("r.xml", &len);
    cr_assert(ne(ptr, strstr(xml, "tests=\"3\" failures=\"0\" errors=\"0\" skipped=\"3\""),
                 NULL), "%s", xml);
    cr_assert(ne(ptr, strstr(xml, "<skipped message=\"unknown: the search reached its bound of "
                                  "20 steps (model register)"), NULL), "%s", xml);
    cr_assert(ne(ptr, strstr(xml, "(counted as passed: [check] unknown = pass)\">replay: "),
                 NULL), "%s", xml);
    r = sh("xmllint --noout --schema %s/tests/data/junit.xsd r.xml 2>&1", getenv("SIM_SRC"));
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
}

/* Goal: an unknown seed never counts as finding a planted bug, whatever [check] unknown says:
 * a stale-read scenario whose every check is cut short misses its expect (exit 1). Method:
 * register-stale-read.ini over seeds 1..3 with max_steps = 5, with and without unknown =
 * pass. */
Test(register_cli, unknown_never_finds_a_planted_bug)
{
    copy_scenario("register-stale-read.ini");
    for (int pass = 0; pass < 2; pass++) {
        out r = SIM("run register-stale-read.ini --seeds 1..3 --set check.max_steps=5%s",
                    pass ? " --set check.unknown=pass" : "");
        expect(&r, 1, WORDS("UNKNOWN register-stale-read seed 1  unknown: the search reached "
                            "its bound of 5 steps",
                            "3 seed(s) unknown: the system's check reached its bound, [check] "
                            "max_steps = 5, before a verdict; an unknown seed does not find the "
                            "planted bug",
                            "expect = fail, but no seed failed",
                            "\n0 passed, 0 failed, 3 unknown\n"));
        cr_assert(eq(ptr, strstr(r.text, "found "), NULL), "%s", r.text);
        out_free(&r);
    }
}

/* Goal: bad [check] max_steps and unknown values are refused before any run, naming the file,
 * line and key and what is valid; so is --set. Method: written files, the bad line on line 7;
 * set_refused. */
Test(register_cli, bad_check_bound_values)
{
    struct {
        const char *line, *says;
    } cases[] = {
        {"max_steps = lots", "sim: bad.ini:7: [check] max_steps: expected a whole number"},
        {"max_steps = -1", "sim: bad.ini:7: [check] max_steps: expected a whole number"},
        {"unknown = maybe", "sim: bad.ini:7: [check] unknown: expected one of fail, pass; got "
                            "'maybe'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "[scenario]\nname = bad\nsystem = register\nseeds = 1..2\n"
                                    "\n[check]\n%s\n", cases[i].line);
        write_file("bad.ini", text);
        out r = sim_split("run bad.ini --db new.db");
        cr_assert(eq(int, r.status, 2), "'%s':\n%s%s", cases[i].line, r.text, r.err);
        cr_assert(ne(ptr, strstr(r.err, cases[i].says), NULL), "'%s':\n%s", cases[i].line,
                  r.err);
        cr_assert(eq(int, exists("new.db"), false));
        out_free(&r);
    }
    copy_scenario("register.ini");
    set_refused("register.ini", "check.unknown=maybe",
                WORDS("[check] unknown: expected one of fail, pass"));
}

/* ---- determinism ---------------------------------------------------------------------------- */

/* Goal: the history is part of the run: every seed of both scenarios gives the same hash
 * twice, the planted bug's failures included. Method: sim check-determinism on both files
 * (the stale-read one over seeds 1..20). */
Test(register_cli, deterministic)
{
    copy_scenario("register.ini");
    copy_scenario("register-stale-read.ini");
    sim_expect(0, WORDS("50 seed(s) checked, 0 not deterministic"),
               "check-determinism register.ini");
    sim_expect(0, WORDS("20 seed(s) checked, 0 not deterministic"),
               "check-determinism register-stale-read.ini --seeds 1..20");
}
