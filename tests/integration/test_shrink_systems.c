/*
 * test_shrink_systems.c: sim shrink, explain and viz on a failing scenario of every system
 * (issue 21): the shrunk run fails the same way and replays identically, and explain and viz
 * (HTML and ShiViz) read it without an error. One table, one test per system, each in a
 * fresh temporary directory with the sim binary (SIM_BIN). Then the scheduling and
 * cancellation decisions: a run found by random scheduling and random cancellation shrinks
 * to the fifo schedule plus the decisions the failure needs, written as a [schedule] section.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(shrink_systems, .init = enter_dir, .fini = leave_dir);

/* A failing scenario of a system and a seed that fails, small enough for a test. */
typedef struct failing {
    const char *path;     /* under scenarios/ */
    const char *file;     /* its name once copied */
    uint64_t seed;
} failing;

/* The failure's kind as sim shrink compares it: the result, and the detail's first clause
 * without digits. */
static void kind_of(const char *db, uint64_t run, char *buf, size_t size)
{
    char q[160], result[64], detail[600];
    snprintf(q, sizeof q, "SELECT result FROM runs WHERE run_id = %llu", (unsigned long long)run);
    sql_text(db, q, result, sizeof result);
    snprintf(q, sizeof q, "SELECT detail FROM runs WHERE run_id = %llu", (unsigned long long)run);
    sql_text(db, q, detail, sizeof detail);
    size_t o = (size_t)snprintf(buf, size, "%s|", result);
    const char *end = strstr(detail, ": ");
    size_t n = end != NULL ? (size_t)(end - detail) : strlen(detail);
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        if (detail[i] < '0' || detail[i] > '9') buf[o++] = detail[i];
    }
    buf[o] = '\0';
}

/* Records f's seed as run 1, shrinks it with a small budget into run 2, and checks run 2: it
 * fails the same way, is no larger, replays identically, and explain and viz read it. */
static void shrink_explain_viz(const failing *f)
{
    copy_scenario(f->path);
    out r = SIM("run %s --seed %llu --db t.db", f->file, (unsigned long long)f->seed);
    cr_assert(eq(int, r.status, 0), "%s", r.text); /* the scenario expects the failure */
    out_free(&r);
    char result[64];
    sql_text("t.db", "SELECT result FROM runs WHERE run_id = 1", result, sizeof result);
    cr_assert(ne(str, result, "pass"), "%s seed %llu passed", f->path,
              (unsigned long long)f->seed);
    r = SIM("shrink --db t.db 1 --max-runs 24 --quiet");
    expect(&r, 0, WORDS("before ", "after ", "run 2: run 1 shrunk in ",
                        "replay: sim replay --db t.db 2\n"));
    out_free(&r);
    char before[300], after[300];
    kind_of("t.db", 1, before, sizeof before);
    kind_of("t.db", 2, after, sizeof after);
    cr_assert(eq(str, after, before), "%s", f->path);
    cr_assert(le(u64, sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 2"),
                 sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 1")));
    r = SIM("replay --db t.db 2");
    expect(&r, 0, WORDS("identical ("));
    out_free(&r);
    r = SIM("explain --db t.db 2 --steps-out slice.txt");
    expect(&r, 0, WORDS("run 2: ", "the causal slice of step "));
    out_free(&r);
    r = SIM("viz --db t.db 2 -o run.html --highlight slice.txt");
    expect(&r, 0, WORDS("wrote run.html: run 2, "));
    out_free(&r);
    r = SIM("viz --db t.db 2 --format shiviz -o run.log");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    cr_assert(exists("run.html") && exists("run.log"));
}

/* Goal and method, for each system: shrink_explain_viz on one of its failing scenarios. */
Test(shrink_systems, actor, .timeout = 120)
{
    shrink_explain_viz(&(failing){"actor/bug-pull-eager.ini", "bug-pull-eager.ini", 1});
}

Test(shrink_systems, paxos, .timeout = 120)
{
    shrink_explain_viz(&(failing){"paxos/bug-promise-before-persist.ini",
                                  "bug-promise-before-persist.ini", 3});
}

Test(shrink_systems, shutdown, .timeout = 120)
{
    shrink_explain_viz(&(failing){"shutdown/bug-callback-twice.ini", "bug-callback-twice.ini",
                                  4});
}

Test(shrink_systems, kv, .timeout = 120)
{
    shrink_explain_viz(&(failing){"kv/bug-no-fsync.ini", "bug-no-fsync.ini", 1});
}

Test(shrink_systems, register, .timeout = 120)
{
    shrink_explain_viz(&(failing){"register-stale-read.ini", "register-stale-read.ini", 1});
}

Test(shrink_systems, gossip, .timeout = 120)
{
    shrink_explain_viz(&(failing){"gossip-forget.ini", "gossip-forget.ini", 11});
}

Test(shrink_systems, demo, .timeout = 120)
{
    shrink_explain_viz(&(failing){"demo-deadlock.ini", "demo-deadlock.ini", 1});
}

/* Goal: a failure found by random scheduling and random cancellation shrinks to the fifo
 * schedule with only the decisions it needs, recorded as [schedule] lines (the shrunk run's
 * configuration and --set overrides) that replay bit for bit; the summary counts the
 * decisions off fifo before and after. Method: shutdown's callback-twice, seed 4 (found by
 * cancel_one_in = 20 under the random strategy: the callback runs twice when its call is
 * aborted at one particular await). */
Test(shrink_systems, decisions_shrink_to_the_base_schedule, .timeout = 120)
{
    copy_scenario("shutdown/bug-callback-twice.ini");
    sim_expect(0, NULL, "run bug-callback-twice.ini --seed 4 --db t.db");
    out r = SIM("shrink --db t.db 1 --quiet");
    expect(&r, 0, WORDS("decisions operations\n", "  [schedule]: the fifo strategy but ",
                        "violation: obligation: "));
    unsigned long long f, e, st, dec_before = 0, dec_after = 99;
    char v[32];
    cr_assert(eq(int, sscanf(strstr(r.text, "before "), "before %llu %llu %llu %31s %llu", &f,
                             &e, &st, v, &dec_before), 5), "%s", r.text);
    cr_assert(eq(int, sscanf(strstr(r.text, "after "), "after %llu %llu %llu %31s %llu", &f, &e,
                             &st, v, &dec_after), 5), "%s", r.text);
    cr_assert(lt(u64, 2, dec_before), "%s", r.text);
    cr_assert(le(u64, dec_after, 2), "%s", r.text);
    out_free(&r);
    out config = sql("t.db", "SELECT config FROM runs WHERE run_id = 2");
    cr_assert(ne(ptr, strstr(config.text, "strategy = fifo\n"), NULL), "%s", config.text);
    cr_assert(ne(ptr, strstr(config.text, "cancel_one_in = 0\n"), NULL), "%s", config.text);
    cr_assert(ne(ptr, strstr(config.text, "\n[schedule]\ncancel = "), NULL), "%s", config.text);
    out_free(&config);
    out ov = sql("t.db", "SELECT overrides FROM runs WHERE run_id = 2");
    cr_assert(ne(ptr, strstr(ov.text, "scenario.strategy=fifo\n"), NULL), "%s", ov.text);
    cr_assert(ne(ptr, strstr(ov.text, "schedule.cancel="), NULL), "%s", ov.text);
    out_free(&ov);
    r = SIM("replay --db t.db 2");
    expect(&r, 0, WORDS("recorded violation, replayed violation", "identical ("));
    out_free(&r);
}

/* Goal: [schedule] lines are checked like every key: a bad entry is refused naming the key
 * and the expected form; a step forced twice is refused. Method: --set on the demo. */
Test(shrink_systems, schedule_refusals)
{
    copy_scenario("demo.ini");
    set_refused("demo.ini", "schedule.force=12", WORDS("[schedule] force: expected STEP:TASK"));
    set_refused("demo.ini", "schedule.force=0:1", WORDS("steps and tasks from 1"));
    set_refused("demo.ini", "schedule.cancel=x", WORDS("[schedule] cancel: expected"));
    set_refused("demo.ini", "schedule.frob=1", WORDS("[schedule] unknown key 'frob'"));
    out r = SIM("run demo.ini --seed 1 --db t.db --set 'schedule.force=5:2 5:3'");
    cr_assert(eq(int, r.status, 2), "%s", r.text);
    out_free(&r);
    r = SIM("run demo.ini --seed 1 --set 'schedule.force=5:2 9:3' --set schedule.cancel=4");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
}
