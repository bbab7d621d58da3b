/*
 * test_fuzz_findings.c: regressions for what the fuzz targets (fuzz/, `make fuzz`) found, one
 * test per finding, each run as a user would meet it: the sim binary (SIM_BIN) in a fresh
 * temporary directory, or the public API. The input that found it is kept in the target's
 * corpus, fuzz/corpus/TARGET/, under a name that says what it found. Under `make check` the
 * binary has ASan and LeakSanitizer, so a leak fails the command's exit code.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../systems/demo/demo.h"
#include "../cmdtest.h"

TestSuite(fuzz_findings, .init = enter_dir, .fini = leave_dir);

static const char register_ini[] = "[scenario]\nname = r\nsystem = register\nseeds = 1..2\n"
                                   "[register]\nclients = 2\nops = 3\n";

/* A view in place of `table` whose `column` fails ("integer overflow") from the third row on,
 * as a damaged page would partway through a read. */
static void break_rows(const char *db, const char *table, const char *columns,
                       const char *column)
{
    char q[1024];
    snprintf(q, sizeof q,
             "ALTER TABLE %s RENAME TO %s_data; CREATE VIEW %s AS SELECT %s, CASE WHEN seq < 2 "
             "THEN %s ELSE abs(-9223372036854775807 - 1) END AS %s FROM %s_data",
             table, table, table, columns, column, column, table);
    sql_do(db, q);
}

/* Goal: a replay whose recorded events stop reading partway exits 2 with the database's
 * message and frees the events it had read (trace_db found the leak: cmd_replay.c returned
 * without them). Method: record with every event, make the events fail from the third row,
 * replay: exit 2, "reading events"; under make check a leak would change the exit code. */
Test(fuzz_findings, replay_events_unreadable_partway)
{
    write_file("r.ini", register_ini);
    sim_expect(0, NULL, "run r.ini --db t.db --record full --jobs 1");
    break_rows("t.db", "events", "run_id, seq, step, vtime_ns, node, task, kind, a, b",
               "detail");
    sim_expect(2, WORDS("sim: t.db: reading events: integer overflow"), "replay --db t.db 1");
    sim_expect(2, WORDS("sim: t.db: reading events: integer overflow"), "show --db t.db 1");
}

/* Goal: the same for a run recorded without events, whose replay compares checkpoints: the
 * store frees the checkpoints it read before the error. Method: record with --record off
 * and a checkpoint every 8 steps, make checkpoints fail from the third row, replay. */
Test(fuzz_findings, replay_checkpoints_unreadable_partway)
{
    write_file("r.ini", register_ini);
    sim_expect(0, NULL,
               "run r.ini --db t.db --record off --jobs 1 --set scenario.checkpoint_every=8");
    cr_assert(lt(u64, 3, sql_u64("t.db", "SELECT count(*) FROM checkpoints WHERE run_id = 1")));
    break_rows("t.db", "checkpoints", "run_id, seq, step, event_count", "hash");
    sim_expect(2, WORDS("sim: t.db: reading checkpoints: integer overflow"),
               "replay --db t.db 1");
}

/* Goal: `sim show --faults` on faults that stop reading partway exits 2 and frees what it
 * read. Method: a demo run under a crash every 200 ms of its faults recorded, faults made to
 * fail from the third row. */
Test(fuzz_findings, show_faults_unreadable_partway)
{
    write_file("d.ini", "[scenario]\nname = d\nsystem = demo\nseeds = 1\n[demo]\ncrash_at = 0s\n"
                        "pause_at = 0s\n[faults]\ncrash = 1/200ms\nrestart_after = 10ms\n");
    /* The run fails as liveness (n2's heartbeat never outlasts a crash every 200 ms, and the
     * run is held while n2 is down); its faults are what matters here. */
    sim_expect(1, WORDS("ended with 1 node(s) down and work pending"),
               "run d.ini --db t.db --record full --jobs 1");
    cr_assert(lt(u64, 3, sql_u64("t.db", "SELECT count(*) FROM faults WHERE run_id = 1")));
    break_rows("t.db", "faults", "run_id, seq, step, vtime_ns, node, point, hit, action",
               "detail");
    sim_expect(2, WORDS("sim: t.db: reading faults: integer overflow"),
               "show --db t.db 1 --faults");
}

/* Goal: whatever text --set gives a key, the configuration a run records loads back to the
 * same configuration: the value is refused, naming the key and changing nothing, or it
 * round-trips (scenario_roundtrip found that a newline in `--set
 * scenario.description=...` went into the canonical text, which then did not load: "unknown
 * key" on the line after it; issue 15, defect 5, fixed on main meanwhile). Method:
 * sim_scenario_set with line breaks and other control characters (refused), and values near
 * what inih reads specially (';' at the start or after a blank, '#', blanks at either end, a
 * tab inside): each is refused with the canonical text unchanged, or accepted with a
 * canonical text that loads to itself. Last, `sim run --set` with a newline: exit 2, nothing
 * run. */
Test(fuzz_findings, set_text_value_must_round_trip)
{
    static const char *const refused[] = {"two\nlines", "cr\rx", "bell\a"};
    static const char *const either[] = {"; a comment", "a ;b", ";", " lead", "trail\t", "a;b",
                                         "#hash", "tab\tinside", "=x", "[x]", ""};
    const sim_system *systems[] = {&sim_demo_system};
    sim_scenario *sc = NULL;
    char err[1024];
    cr_assert(eq(int, sim_scenario_parse("s.ini", "[scenario]\nname = s\nsystem = demo\n",
                                         systems, 1, &sc, err, sizeof err), SIM_OK), "%s", err);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *before = own(strdup(sim_scenario_canonical(sc)));
        cr_assert(eq(int, sim_scenario_set(sc, "scenario", "description", refused[i], err,
                                           sizeof err), SIM_EINVAL), "'%s' accepted", refused[i]);
        cr_assert(ne(ptr, strstr(err, "[scenario] description: "), NULL), "%s", err);
        cr_assert(eq(str, (char *)sim_scenario_canonical(sc), before));
        release(before);
    }
    for (size_t i = 0; i < sizeof either / sizeof either[0]; i++) {
        char *before = own(strdup(sim_scenario_canonical(sc)));
        int rc = sim_scenario_set(sc, "scenario", "description", either[i], err, sizeof err);
        if (rc != SIM_OK) {
            cr_assert(eq(int, rc, SIM_EINVAL));
            cr_assert(ne(ptr, strstr(err, "[scenario] description: "), NULL), "%s", err);
            cr_assert(eq(str, (char *)sim_scenario_canonical(sc), before));
        } else {
            sim_scenario *again = NULL;
            cr_assert(eq(int, sim_scenario_parse("recorded", sim_scenario_canonical(sc),
                                                 systems, 1, &again, err, sizeof err), SIM_OK),
                      "'%s': %s\n%s", either[i], err, sim_scenario_canonical(sc));
            cr_assert(eq(str, (char *)sim_scenario_canonical(again),
                         (char *)sim_scenario_canonical(sc)), "'%s'", either[i]);
            sim_scenario_free(again);
        }
        release(before);
    }
    sim_scenario_free(sc);
    write_file("d.ini", "[scenario]\nname = d\nsystem = demo\nseeds = 1\n");
    out o = SIM("run d.ini --jobs 1 --set 'scenario.description=two\nlines'");
    expect(&o, 2, WORDS("description", "newline"));
    cr_assert(eq(ptr, strstr(o.text, "1 passed"), NULL), "a seed ran:\n%s", o.text);
    cr_assert(eq(ptr, strstr(o.text, "1 failed"), NULL), "a seed ran:\n%s", o.text);
    out_free(&o);
}
