/*
 * test_fuzz_findings.c: regressions for what the fuzz targets (fuzz/, `make fuzz`) found, one
 * test per finding, each run as a user would meet it: the sim binary (SIM_BIN) in a fresh
 * temporary directory, or the public API. The input that found it is kept in the target's
 * corpus, fuzz/corpus/TARGET/, under a name that says what it found. Under `make check` the
 * binary has ASan and LeakSanitizer, so a leak fails the command's exit code.
 */
#include <stdio.h>
#include <stdlib.h>

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
    sim_expect(0, NULL, "run d.ini --db t.db --record full --jobs 1");
    cr_assert(lt(u64, 3, sql_u64("t.db", "SELECT count(*) FROM faults WHERE run_id = 1")));
    break_rows("t.db", "faults", "run_id, seq, step, vtime_ns, node, point, hit, action",
               "detail");
    sim_expect(2, WORDS("sim: t.db: reading faults: integer overflow"),
               "show --db t.db 1 --faults");
}
