/*
 * test_faults_cli.c: fault plans from the command line, run as a user would: the sim binary
 * (SIM_BIN, set by make test) in a fresh temporary directory per test, with scenario files
 * written there, and the database read and edited with the sqlite3 shell.
 *
 * What is checked: a swarm [faults] plan is drawn per seed, recorded (runs.faults,
 * runs.fault_count, the faults table) and reproduced by a second run and by replays; `sim
 * show --faults` and `--kind fault` list the faults that the table holds; a failing run
 * prints its plan and a replay command that reproduces it; --set and --sweep, and their
 * errors; bad [faults] sections are refused before any database is touched; a schema-1
 * database is read as it is and upgraded by the first run that writes to it; and the docs
 * name every fault point and [faults] key.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../clitext.h"

TestSuite(faults_cli, .init = enter_dir, .fini = leave_dir);

/* ---- lines ---------------------------------------------------------------------------------- */

/* Splits text into at most max lines in place (newlines become NULs); returns the count. */
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

/* The first n blank-separated tokens of line: their start and end offsets. Returns how many
 * there were (at most n). */
static size_t tokens(const char *line, size_t n, size_t *start, size_t *end)
{
    size_t k = 0, i = 0;
    while (k < n) {
        while (line[i] == ' ') i++;
        if (line[i] == '\0') break;
        start[k] = i;
        while (line[i] != ' ' && line[i] != '\0') i++;
        end[k++] = i;
    }
    return k;
}

/* Splits a '|'-separated row into at most max fields in place; the last takes the rest. */
static size_t split_fields(char *row, char **fields, size_t max)
{
    size_t n = 0;
    char *p = row;
    while (n + 1 < max) {
        fields[n++] = p;
        char *bar = strchr(p, '|');
        if (bar == NULL) return n;
        *bar = '\0';
        p = bar + 1;
    }
    fields[n++] = p;
    return n;
}

/* ---- scenario files ------------------------------------------------------------------------- */

/* scenarios/demo-faults.ini: a swarm of crashes, pauses, slow persists and skewed clocks. */
static const char faults_ini[] = "; the demo under a swarm of faults\n"
                                 "[scenario]\n"
                                 "name = demo-faults\n"
                                 "system = demo\n"
                                 "seeds = 1..50\n"
                                 "time_limit = 60s\n"
                                 "expect = pass\n"
                                 "\n"
                                 "[demo]\n"
                                 "ticks = 30\n"
                                 "crash_at = 0s\n"
                                 "pause_at = 0s\n"
                                 "\n"
                                 "[faults]\n"
                                 "swarm = true\n"
                                 "crash = 0..1/2s\n"
                                 "pause = 0..1/2s\n"
                                 "restart_after = 100ms..1s\n"
                                 "pause_for = 20ms..500ms\n"
                                 "max_down = 1\n"
                                 "sut/demo/slow-persist = 0..0.5\n"
                                 "clock_skew = 50ms\n"
                                 "quiet_after = 8s\n"
                                 "converge_within = 10s\n";

static const char demo_ini[] = "[scenario]\n"
                               "name = demo\n"
                               "system = demo\n"
                               "seeds = 1..3\n";

/* The plan that makes every demo seed fail its liveness phase. */
#define FAILING_SETS                                                                          \
    "--set faults.quiet_after=2s --set faults.converge_within=1ms --set faults.crash=1/1s"

/* ---- a swarm plan, recorded ----------------------------------------------------------------- */

/* Goal: a swarm plan is drawn per seed, deterministically: two runs of the same scenario
 * record the same hash, plan and fault count for every seed; the plan is stored ("swarm:
 * ..."), differs between seeds, injects real faults (not only clock offsets) somewhere, and
 * the faults table holds exactly fault_count rows for each run. Method: the demo-faults
 * scenario (50 seeds) with --record full into a.db and b.db; compare and query both. */
Test(faults_cli, swarm_plan_recorded_and_deterministic)
{
    write_file("faults.ini", faults_ini);
    sim_expect(0, WORDS("50 passed, 0 failed\n"), "run faults.ini --db a.db --record full");
    sim_expect(0, WORDS("50 passed, 0 failed\n"), "run faults.ini --db b.db --record full");
    const char *q = "SELECT seed, trace_hash, faults, fault_count FROM runs ORDER BY seed";
    out a = sql("a.db", "%s", q), b = sql("b.db", "%s", q);
    cr_assert(eq(str, a.text, b.text), "two runs of the same seeds differ:\n%s\n---\n%s", a.text,
              b.text);
    out_free(&a);
    out_free(&b);
    const char *dbs[] = {"a.db", "b.db"};
    for (size_t i = 0; i < 2; i++) {
        const char *db = dbs[i];
        cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM runs"), 50));
        cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM runs WHERE substr(faults, 1, 7) "
                                      "<> 'swarm: '"),
                     0),
                  "a run whose plan is not 'swarm: ...' in %s", db);
        cr_assert(lt(u64, 0, sql_u64(db, "SELECT count(*) FROM runs WHERE fault_count > 0")));
        cr_assert(lt(u64, 1, sql_u64(db, "SELECT count(DISTINCT faults) FROM runs")),
                  "every seed drew the same plan");
        cr_assert(lt(u64, 0, sql_u64(db, "SELECT count(*) FROM faults WHERE action IN "
                                      "('crash', 'pause', 'fire')")),
                  "no crash, pause or fired point in 50 seeds of a swarm");
        cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM runs r WHERE fault_count <> "
                                      "(SELECT count(*) FROM faults f WHERE f.run_id = r.run_id)"),
                     0),
                  "a run whose faults rows do not match runs.fault_count in %s", db);
    }
}

/* ---- sim show --faults and --kind fault ----------------------------------------------------- */

/* One row of the faults table, as sim show prints it. */
typedef struct fault_row {
    char step[24], time[32], node[32], action[16], point[64], hit[24], detail[128];
} fault_row;

/* The faults of run `run` in db, in order, as show prints them; returns how many (<= max). */
static size_t fault_rows(const char *db, uint64_t run, fault_row *rows, size_t max)
{
    out o = sql(db,
                "SELECT f.step, printf('%%d.%%06ds', f.vtime_ns / 1000000000, "
                "(f.vtime_ns %% 1000000000) / 1000), "
                "coalesce((SELECT e.detail FROM events e JOIN event_kinds k ON k.kind = e.kind "
                "WHERE k.name = 'node-add' AND e.run_id = f.run_id AND e.node = f.node), '-'), "
                "f.action, f.point, f.hit, coalesce(f.detail, '') "
                "FROM faults f WHERE f.run_id = %llu ORDER BY f.seq",
                (unsigned long long)run);
    char *lines[256];
    size_t n = split_lines(o.text, lines, 256);
    cr_assert(le(sz, n, max));
    for (size_t i = 0; i < n; i++) {
        char *f[7];
        cr_assert(eq(sz, split_fields(lines[i], f, 7), 7), "'%s'", lines[i]);
        fault_row *r = &rows[i];
        snprintf(r->step, sizeof r->step, "%s", f[0]);
        snprintf(r->time, sizeof r->time, "%s", f[1]);
        snprintf(r->node, sizeof r->node, "%s", f[2]);
        snprintf(r->action, sizeof r->action, "%s", f[3]);
        snprintf(r->point, sizeof r->point, "%s", f[4]);
        snprintf(r->hit, sizeof r->hit, "%s", f[5]);
        snprintf(r->detail, sizeof r->detail, "%s", f[6]);
    }
    out_free(&o);
    return n;
}

/* Checks one line of `show --faults` against its row and the header's columns: step, time
 * and hit end under their headings, node, action and point start under theirs. */
static void check_fault_line(const char *line, const char *header, const fault_row *r)
{
    size_t hs[7], he[7], ls[6], le_[6];
    cr_assert(eq(sz, tokens(header, 7, hs, he), 7), "header '%s'", header);
    cr_assert(eq(sz, tokens(line, 6, ls, le_), 6), "'%s'", line);
    const char *want[6] = {r->step, r->time, r->node, r->action, r->point, r->hit};
    for (size_t c = 0; c < 6; c++) {
        size_t len = le_[c] - ls[c];
        cr_assert(eq(int, len == strlen(want[c]) && strncmp(line + ls[c], want[c], len) == 0, 1),
                  "column %zu of '%s': want '%s'", c, line, want[c]);
        bool right = c == 0 || c == 1 || c == 5;
        if (right) {
            cr_assert(eq(sz, le_[c], he[c]), "column %zu not aligned:\n%s\n%s", c, header, line);
        } else {
            cr_assert(eq(sz, ls[c], hs[c]), "column %zu not aligned:\n%s\n%s", c, header, line);
        }
    }
    char tail[160];
    snprintf(tail, sizeof tail, "  %s", r->detail);
    cr_assert(eq(str, (char *)line + le_[5], tail), "detail of '%s'", line);
}

/* Checks one `fault` line of `show --kind fault` against its row. */
static void check_fault_event(const char *line, const fault_row *r)
{
    size_t s[5], e[5];
    cr_assert(eq(sz, tokens(line, 5, s, e), 5), "'%s'", line);
    const char *want[5] = {r->step, r->time, r->node, NULL, "fault"};
    for (size_t c = 0; c < 5; c++) {
        if (want[c] == NULL) continue;
        size_t len = e[c] - s[c];
        cr_assert(eq(int, len == strlen(want[c]) && strncmp(line + s[c], want[c], len) == 0, 1),
                  "column %zu of '%s': want '%s'", c, line, want[c]);
    }
    const char *what = line + e[4];
    while (*what == ' ') what++;
    char head[64], hit[64];
    snprintf(head, sizeof head, "%s ", r->action);
    cr_assert(eq(int, strncmp(what, head, strlen(head)), 0), "'%s': want action %s", line,
              r->action);
    if (strcmp(r->point, "clock") != 0) {
        snprintf(hit, sizeof hit, "%s, hit %s", r->point, r->hit);
        cr_assert(ne(ptr, strstr(what, hit), NULL), "'%s': want '%s'", line, hit);
    }
}

/* Goal: `sim show --faults` prints the run's plan and one aligned line per fault (step, time,
 * node name, action, point, hit, detail) that matches the faults table row for row, and
 * `--kind fault` lists the same faults as events; a run whose events were not stored says
 * the faults were not stored and names a replay command that shows them. Method: demo-faults
 * seeds 1..10 with --record full; show the run with the most kinds of fault both ways and
 * compare with the faults table; then seeds 1..3 with --record off: show run 1 and run the
 * command it names, counting its fault events. */
Test(faults_cli, show_faults)
{
    write_file("faults.ini", faults_ini);
    sim_expect(0, NULL, "run faults.ini --seeds 1..10 --db a.db --record full");
    uint64_t run = sql_u64("a.db", "SELECT run_id FROM faults GROUP BY run_id "
                                   "ORDER BY count(DISTINCT action) DESC, run_id LIMIT 1");
    uint64_t seed = sql_u64("a.db", "SELECT seed FROM runs WHERE run_id = %llu",
                            (unsigned long long)run);
    uint64_t n = sql_u64("a.db", "SELECT fault_count FROM runs WHERE run_id = %llu",
                         (unsigned long long)run);
    cr_assert(ge(u64, n, 3));
    char plan[256], q[256], want[512];
    snprintf(q, sizeof q, "SELECT faults FROM runs WHERE run_id = %llu", (unsigned long long)run);
    sql_text("a.db", q, plan, sizeof plan);
    fault_row *rows = own(calloc(256, sizeof *rows));
    cr_assert(ne(ptr, rows, NULL));
    cr_assert(eq(sz, fault_rows("a.db", run, rows, 256), (size_t)n));

    out s = SIM("show --db a.db %llu --faults", (unsigned long long)run);
    expect(&s, 0, NULL);
    char *lines[300];
    size_t nl = split_lines(s.text, lines, 300);
    cr_assert(eq(sz, nl, (size_t)n + 3), "want 3 + %llu lines", (unsigned long long)n);
    snprintf(want, sizeof want, "run %llu: demo-faults seed %llu, pass, %llu fault(s) injected",
             (unsigned long long)run, (unsigned long long)seed, (unsigned long long)n);
    cr_assert(eq(str, lines[0], want));
    snprintf(want, sizeof want, "plan: %s", plan);
    cr_assert(eq(str, lines[1], want));
    size_t hs[7], he[7];
    cr_assert(eq(sz, tokens(lines[2], 7, hs, he), 7), "header '%s'", lines[2]);
    const char *names[7] = {"step", "time", "node", "action", "point", "hit", "detail"};
    for (size_t c = 0; c < 7; c++) {
        cr_assert(eq(int, strncmp(lines[2] + hs[c], names[c], he[c] - hs[c]), 0), "'%s'",
                  lines[2]);
    }
    for (size_t i = 0; i < n; i++) check_fault_line(lines[i + 3], lines[2], &rows[i]);
    out_free(&s);

    out k = SIM("show --db a.db %llu --kind fault", (unsigned long long)run);
    expect(&k, 0, NULL);
    nl = split_lines(k.text, lines, 300);
    cr_assert(eq(sz, nl, (size_t)n + 3), "want 3 + %llu lines", (unsigned long long)n);
    snprintf(want, sizeof want, "%llu shown", (unsigned long long)n);
    cr_assert(ne(ptr, strstr(lines[0], want), NULL), "'%s'", lines[0]);
    snprintf(want, sizeof want, "faults: %s; %llu injected (sim show --db a.db %llu --faults)",
             plan, (unsigned long long)n, (unsigned long long)run);
    cr_assert(eq(str, lines[1], want));
    for (size_t i = 0; i < n; i++) check_fault_event(lines[i + 3], &rows[i]);
    out_free(&k);
    release(rows);

    sim_expect(0, NULL, "run faults.ini --seeds 1..3 --db off.db --record off");
    uint64_t off_n = sql_u64("off.db", "SELECT fault_count FROM runs WHERE run_id = 1");
    cr_assert(lt(u64, 0, off_n));
    sql_text("off.db", "SELECT faults FROM runs WHERE run_id = 1", plan, sizeof plan);
    snprintf(want, sizeof want, "\nplan: %s\n", plan);
    const char *named = "the faults were not stored (record mode off); to see them: ";
    out o = SIM("show --db off.db 1 --faults");
    expect(&o, 0, WORDS(want, named));
    const char *at = strstr(o.text, named) + strlen(named);
    char cmd[256];
    copy_line(at, cmd, sizeof cmd);
    cr_assert(eq(str, cmd, "sim replay --db off.db 1 --events"));
    out_free(&o);
    o = sh("%s%s | grep -c -E '^ +[0-9]+ +[0-9]+\\.[0-9]{6}s +[^ ]+ +[^ ]+ fault '", sim_bin(),
           cmd + 3);
    cr_assert(eq(int, o.status, 0), "%s", o.text);
    cr_assert(eq(u64, strtoull(o.text, NULL, 10), off_n), "fault events of '%s': %s", cmd,
              o.text);
    out_free(&o);
}

/* ---- sim replay of a run with faults -------------------------------------------------------- */

/* Goal: a replay of a recorded run with faults is identical and injects the same plan and as
 * many faults as were recorded: "faults: PLAN; N injected (recorded N)" with PLAN equal to
 * runs.faults; for runs recorded with every event and for runs recorded without. Method:
 * demo-faults seeds 1..8 into full.db (--record full) and off.db (--record off); replay
 * every run of both. */
Test(faults_cli, replay_prints_the_recorded_plan)
{
    write_file("faults.ini", faults_ini);
    sim_expect(0, NULL, "run faults.ini --seeds 1..8 --db full.db --record full");
    sim_expect(0, NULL, "run faults.ini --seeds 1..8 --db off.db --record off");
    const char *dbs[] = {"full.db", "off.db"};
    for (size_t d = 0; d < 2; d++) {
        for (uint64_t run = 1; run <= 8; run++) {
            const char *db = dbs[d];
            unsigned long long r = (unsigned long long)run;
            char plan[256], q[256], hash[32], faults_line[512], ident[128];
            snprintf(q, sizeof q, "SELECT faults FROM runs WHERE run_id = %llu", r);
            sql_text(db, q, plan, sizeof plan);
            cr_assert(eq(int, strncmp(plan, "swarm: ", 7), 0), "%s run %llu: '%s'", db, r, plan);
            uint64_t n = sql_u64(db, "SELECT fault_count FROM runs WHERE run_id = %llu", r);
            uint64_t events = sql_u64(db, "SELECT event_count FROM runs WHERE run_id = %llu", r);
            snprintf(q, sizeof q, "SELECT printf('%%016x', trace_hash) FROM runs WHERE "
                                  "run_id = %llu", r);
            sql_text(db, q, hash, sizeof hash);
            snprintf(faults_line, sizeof faults_line, "\nfaults: %s; %llu injected (recorded "
                     "%llu)\n", plan, (unsigned long long)n, (unsigned long long)n);
            if (d == 0) {
                snprintf(ident, sizeof ident, "identical (%llu events, hash %s)\n",
                         (unsigned long long)events, hash);
            } else {
                snprintf(ident, sizeof ident, "identical by checkpoints (");
            }
            sim_expect(0, WORDS(faults_line, ident, "recorded pass, replayed pass"),
                       "replay --db %s %llu", db, r);
        }
    }
}

/* ---- a failing run with a fault plan -------------------------------------------------------- */

/* Goal: a run that fails its liveness phase says why in the words of the plan, prints the
 * plan on the next line, the tasks left waiting, and then a replay command carrying every
 * --set; that command, run as printed, reproduces the same failure with the same hash,
 * events and steps as the run recorded in a database. Method: the demo (seeds 1..3) with
 * quiet_after = 2s, converge_within = 1ms and crash = 1/1s from --set: exit 1, check the
 * lines of each seed (failure, faults, tasks, replay); run the printed command for seed 2
 * with sh, and compare with the same seed run with --db. */
Test(faults_cli, failing_run_prints_plan_and_working_replay)
{
    write_file("demo.ini", demo_ini);
    out r = sim_split("run demo.ini " FAILING_SETS);
    cr_assert(eq(int, r.status, 1), "stdout:\n%s\nstderr:\n%s", r.text, r.err);
    char detail[512] = "", plan[256] = "", cmd[512] = "";
    for (unsigned seed = 1; seed <= 3; seed++) {
        char head[256], line[512];
        snprintf(head, sizeof head, "FAIL  demo seed %u  liveness: did not converge within "
                                    "converge_within = 1ms after the faults stopped at 2s", seed);
        const char *fail = line_starting(r.text, head);
        cr_assert(ne(ptr, (void *)fail, NULL), "no '%s' in:\n%s", head, r.text);
        const char *faults = next_line(fail);
        cr_assert(ne(ptr, (void *)faults, NULL), "%s", r.text);
        cr_assert(eq(int, strncmp(faults, "      faults: ", 14), 0), "%s", r.text);
        const char *replay = next_line(faults); /* after the tasks the hang left waiting */
        while (replay != NULL && strncmp(replay, "      replay: ", 14) != 0 &&
               strncmp(replay, "      ", 6) == 0) {
            replay = next_line(replay);
        }
        cr_assert(ne(ptr, (void *)replay, NULL), "%s", r.text);
        snprintf(head, sizeof head, "      replay: sim replay --scenario demo.ini --seed %u "
                                    "--set '", seed);
        copy_line(replay, line, sizeof line);
        cr_assert(eq(int, strncmp(line, head, strlen(head)), 0), "want '%s...' in:\n%s", head,
                  r.text);
        cr_assert(eq(int, line[strlen(line) - 1], '\''), "'%s'", line);
        if (seed == 2) {
            copy_line(fail + strlen("FAIL  demo seed 2  liveness: "), detail, sizeof detail);
            copy_line(faults + 14, plan, sizeof plan);
            copy_line(replay + 14, cmd, sizeof cmd);
        }
    }
    out_free(&r);

    sim_expect(1, WORDS("FAIL  demo seed 2  liveness: "),
               "run demo.ini --seed 2 --db fl.db " FAILING_SETS);
    char hash[32], rec_plan[256], rec_detail[512], want[1024];
    sql_text("fl.db", "SELECT printf('%016x', trace_hash) FROM runs WHERE run_id = 1", hash,
             sizeof hash);
    sql_text("fl.db", "SELECT faults FROM runs WHERE run_id = 1", rec_plan, sizeof rec_plan);
    sql_text("fl.db", "SELECT detail FROM runs WHERE run_id = 1", rec_detail, sizeof rec_detail);
    cr_assert(eq(str, plan, rec_plan), "printed plan vs runs.faults");
    cr_assert(eq(str, detail, rec_detail), "printed failure vs runs.detail");
    uint64_t events = sql_u64("fl.db", "SELECT event_count FROM runs WHERE run_id = 1");
    uint64_t steps = sql_u64("fl.db", "SELECT step_count FROM runs WHERE run_id = 1");
    uint64_t n = sql_u64("fl.db", "SELECT fault_count FROM runs WHERE run_id = 1");
    char result[32];
    sql_text("fl.db", "SELECT result FROM runs WHERE run_id = 1", result, sizeof result);
    cr_assert(eq(str, result, "liveness"));

    cr_assert(eq(int, strncmp(cmd, "sim ", 4), 0), "'%s'", cmd);
    out rep = sh("%s%s", sim_bin(), cmd + 3);
    snprintf(want, sizeof want, "demo seed 2: liveness: %s (%llu events, %llu steps, hash %s)\n",
             detail, (unsigned long long)events, (unsigned long long)steps, hash);
    char faults_line[512];
    snprintf(faults_line, sizeof faults_line, "\nfaults: %s; %llu injected\n", plan,
             (unsigned long long)n);
    expect(&rep, 1, WORDS(want, faults_line));
    out_free(&rep);
}

/* ---- --set errors --------------------------------------------------------------------------- */

/* Goal: a bad --set is refused before anything runs: exit 2, a message on stderr that starts
 * with "sim: " and says what is wrong (the key, and what it got), nothing on stdout but at
 * most the usage, and no database created; a recorded run replays its recorded
 * configuration, so replay --db refuses --set. Method: --set nodot, faults.crash (no =),
 * faults.crash=2, faults.nosuch=1 on the demo with --db; replay --db with --set, and
 * replay --scenario with a bad --set. */
Test(faults_cli, set_errors)
{
    write_file("demo.ini", demo_ini);
    struct {
        const char *arg;
        const char *words[3];
    } cases[] = {
        {"nodot", {"--set", "'nodot'", NULL}},
        {"faults.crash", {"--set", "'faults.crash'", NULL}},
        {"faults.crash=2", {"crash", "got '2'", NULL}},
        {"faults.nosuch=1", {"unknown key 'nosuch'", "valid keys: ", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out r = sim_split("run demo.ini --db t.db --set %s", cases[i].arg);
        cr_assert(eq(int, r.status, 2), "--set %s:\nstdout:\n%s\nstderr:\n%s", cases[i].arg,
                  r.text, r.err);
        cr_assert(eq(int, strncmp(r.err, "sim: ", 5), 0), "--set %s: stderr:\n%s", cases[i].arg,
                  r.err);
        cr_assert(eq(int, r.text[0] == '\0' || strncmp(r.text, "usage: ", 7) == 0, 1),
                  "--set %s: stdout:\n%s", cases[i].arg, r.text);
        for (size_t w = 0; cases[i].words[w] != NULL; w++) {
            cr_assert(ne(ptr, strstr(r.err, cases[i].words[w]), NULL), "--set %s: no '%s' in:\n%s",
                      cases[i].arg, cases[i].words[w], r.err);
        }
        cr_assert(eq(int, exists("t.db"), false), "--set %s created the database", cases[i].arg);
        out_free(&r);
    }
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db");
    out r = sim_split("replay --db t.db 1 --set faults.crash=0.1");
    cr_assert(eq(int, r.status, 2), "stdout:\n%s\nstderr:\n%s", r.text, r.err);
    cr_assert(eq(int, strncmp(r.err, "sim: ", 5), 0), "%s", r.err);
    cr_assert(ne(ptr, strstr(r.err, "--scenario"), NULL), "%s", r.err);
    cr_assert(eq(ptr, strstr(r.text, "identical"), NULL), "%s", r.text);
    out_free(&r);
    r = sim_split("replay --scenario demo.ini --seed 1 --set faults.crash=2");
    cr_assert(eq(int, r.status, 2), "stdout:\n%s\nstderr:\n%s", r.text, r.err);
    cr_assert(eq(int, strncmp(r.err, "sim: ", 5), 0), "%s", r.err);
    cr_assert(ne(ptr, strstr(r.err, "got '2'"), NULL), "%s", r.err);
    out_free(&r);
}

/* ---- --sweep -------------------------------------------------------------------------------- */

/* Goal: --sweep fails hit k = 0, 1, 2, ... of a point, one run per k, until a run no longer
 * reaches hit k; each run records fail_hit in its configuration, and the recorded faults
 * show that hit k fired in every run but the last; a point that does not exist is refused
 * with the valid points listed; --sweep-max caps the runs per seed. Method: the demo, seeds
 * 1..2, sweeping sut/demo/slow-persist with --record full; read the summary and the runs
 * and faults tables; then --sweep nosuch/point; then --sweep-max 3. */
Test(faults_cli, sweep)
{
    write_file("demo.ini", demo_ini);
    out r = SIM("run demo.ini --sweep sut/demo/slow-persist --seeds 1..2 --db sw.db "
                "--record full");
    expect(&r, 0, NULL);
    suite_row row = table_row(r.text, "demo", true);
    unsigned long long total = row.runs;
    cr_assert(eq(u64, row.seeds, 2), "%s", r.text);
    cr_assert(eq(u64, row.failed, 0), "%s", r.text);
    cr_assert(lt(u64, 2, total), "%s", r.text);
    /* A seed counts once, however many runs its sweep takes. */
    expect(&r, 0, WORDS("(--sweep sut/demo/slow-persist: ", "\n2 passed, 0 failed\n"));
    out_free(&r);
    cr_assert(eq(u64, sql_u64("sw.db", "SELECT count(*) FROM runs"), total));
    for (unsigned seed = 1; seed <= 2; seed++) {
        uint64_t runs = sql_u64("sw.db", "SELECT count(*) FROM runs WHERE seed = %u", seed);
        cr_assert(ge(u64, runs, 2), "seed %u", seed);
        for (uint64_t k = 0; k < runs; k++) {
            uint64_t run = sql_u64("sw.db", "SELECT run_id FROM runs WHERE seed = %u "
                                            "ORDER BY run_id LIMIT 1 OFFSET %llu",
                                   seed, (unsigned long long)k);
            cr_assert(eq(u64, sql_u64("sw.db", "SELECT instr(config, 'fail_hit = "
                                               "sut/demo/slow-persist %llu' || char(10)) > 0 "
                                               "FROM runs WHERE run_id = %llu",
                                      (unsigned long long)k, (unsigned long long)run), 1),
                      "run %llu (seed %u, k = %llu) does not record fail_hit k",
                      (unsigned long long)run, seed, (unsigned long long)k);
            uint64_t fired = sql_u64("sw.db", "SELECT count(*) FROM faults WHERE run_id = %llu "
                                              "AND point = 'sut/demo/slow-persist' AND "
                                              "action = 'fire' AND hit = %llu",
                                     (unsigned long long)run, (unsigned long long)k);
            cr_assert(eq(u64, fired, k + 1 < runs ? 1 : 0), "seed %u, k = %llu", seed,
                      (unsigned long long)k);
        }
    }

    r = sim_split("run demo.ini --sweep nosuch/point --seeds 1..2");
    cr_assert(eq(int, r.status, 2), "stdout:\n%s\nstderr:\n%s", r.text, r.err);
    cr_assert(eq(int, strncmp(r.err, "sim: ", 5), 0), "%s", r.err);
    const char *points[] = {"nosuch/point", "node/crash", "node/pause", "node/restart",
                            "sut/demo/slow-persist"};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        cr_assert(ne(ptr, strstr(r.err, points[i]), NULL), "no '%s' in:\n%s", points[i], r.err);
    }
    out_free(&r);

    sim_expect(0, WORDS("\n2 passed, 0 failed\n"),
               "run demo.ini --sweep sut/demo/slow-persist --seeds 1..2 --sweep-max 3 "
               "--db max.db");
    out per = sql("max.db", "SELECT seed, count(*) FROM runs GROUP BY seed ORDER BY seed");
    cr_assert(eq(str, per.text, "1|3\n2|3\n"));
    out_free(&per);
}

/* Goal: a sweep of node/crash crashes a node at each tick in turn, even in a scenario whose
 * crash rate is 0: run k crashes exactly once, at hit k (tick k / 2, node k % 2 of the demo's
 * two nodes), and nothing else crashes a node (the plan restarts it later, as usual).
 * Method: --sweep node/crash --sweep-max 6 on seed 3 with --record full; read the faults. */
Test(faults_cli, sweep_node_crash)
{
    write_file("demo.ini", demo_ini);
    out r = SIM("run demo.ini --seed 3 --sweep node/crash --sweep-max 6 --db c.db --record full");
    expect(&r, 0, WORDS("\n1 passed, 0 failed\n"));
    cr_assert(eq(u64, table_row(r.text, "demo", true).runs, 6), "%s", r.text);
    out_free(&r);
    for (uint64_t k = 0; k < 6; k++) {
        uint64_t run = sql_u64("c.db", "SELECT run_id FROM runs ORDER BY run_id LIMIT 1 "
                                       "OFFSET %llu", (unsigned long long)k);
        out f = sql("c.db", "SELECT point, hit, node, action, vtime_ns FROM faults WHERE "
                            "run_id = %llu AND action <> 'restart' ORDER BY seq",
                    (unsigned long long)run);
        char want[128];
        snprintf(want, sizeof want, "node/crash|%llu|%llu|crash|%llu\n",
                 (unsigned long long)k, (unsigned long long)(k % 2 + 1),
                 (unsigned long long)(k / 2 + 1) * 100000000ull);
        cr_assert(eq(str, f.text, want), "run %llu (k = %llu)", (unsigned long long)run,
                  (unsigned long long)k);
        out_free(&f);
    }
}

/* ---- bad [faults] sections ------------------------------------------------------------------ */

/* Goal: a bad [faults] section is refused with exit 2 and "FILE:LINE: [faults] ..." naming
 * the line and what is valid, before any run: no database is created, and an existing one
 * is left byte for byte as it was. Method: five bad files (an unknown key, a probability
 * above 1, an unknown node, a per-time rate on a code point, a scripted event after the
 * time limit), each with the bad line on line 8; run each with --db new.db and with --db
 * old.db (which holds a run), and alongside a good file. */
Test(faults_cli, bad_faults_section)
{
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 1 --db old.db");
    size_t old_len;
    char *old = read_bytes("old.db", &old_len);
    struct {
        const char *line;
        const char *words[4];
    } cases[] = {
        {"crsh = 1", {"unknown key 'crsh'; valid keys: ", "crash", "quiet_after", NULL}},
        {"crash = 1.5", {"crash: expected a probability", "got '1.5'", NULL}},
        {"at = 5s crash n9", {"at: unknown node 'n9'; the nodes are: n1, n2", NULL}},
        {"sut/demo/slow-persist = 1/10s", {"sut/demo/slow-persist", "got '1/10s'", NULL}},
        {"at = 90s crash n1", {"time_limit", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "[scenario]\nname = bad\nsystem = demo\nseeds = 1..2\n\n"
                                    "[faults]\nswarm = true\n%s\n", cases[i].line);
        write_file("bad.ini", text);
        const char *dbs[] = {"new.db", "old.db"};
        for (size_t d = 0; d < 2; d++) {
            out r = sim_split("run bad.ini --db %s", dbs[d]);
            cr_assert(eq(int, r.status, 2), "'%s':\nstdout:\n%s\nstderr:\n%s", cases[i].line,
                      r.text, r.err);
            cr_assert(eq(str, r.text, ""), "'%s'", cases[i].line);
            const char *head = "sim: bad.ini:8: [faults] ";
            cr_assert(eq(int, strncmp(r.err, head, strlen(head)), 0), "'%s': want '%s...':\n%s",
                      cases[i].line, head, r.err);
            for (size_t w = 0; cases[i].words[w] != NULL; w++) {
                cr_assert(ne(ptr, strstr(r.err, cases[i].words[w]), NULL), "no '%s' in:\n%s",
                          cases[i].words[w], r.err);
            }
            out_free(&r);
        }
        sim_expect(2, WORDS("bad.ini:8: [faults] "), "run demo.ini bad.ini --db new.db");
        cr_assert(eq(int, exists("new.db"), false), "'%s' created a database", cases[i].line);
        size_t len;
        char *now = read_bytes("old.db", &len);
        cr_assert(eq(int, len == old_len && memcmp(now, old, len) == 0, 1),
                  "'%s' changed an existing database", cases[i].line);
        release(now);
    }
    release(old);
}

/* ---- schema migration ----------------------------------------------------------------------- */

static void schema_version_is(const char *db, uint64_t v, const char *when)
{
    cr_assert(eq(u64, sql_u64(db, "SELECT value FROM meta WHERE key = 'schema_version'"), v),
              "schema version %s", when);
    uint64_t cols = sql_u64(db, "SELECT count(*) FROM pragma_table_info('runs') WHERE name IN "
                                "('faults', 'fault_count')");
    uint64_t table = sql_u64(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'faults'");
    cr_assert(eq(u64, cols, v == 1 ? 0 : 2), "runs.faults, runs.fault_count %s", when);
    cr_assert(eq(u64, table, v == 1 ? 0 : 1), "the faults table %s", when);
}

/* Goal: a schema-1 database (no faults table, no runs.faults or runs.fault_count) is read as
 * it is: list shows its runs, show --faults says the plan is none and 0 faults, replay is
 * identical, and none of them changes the schema; the next run that writes upgrades it to the
 * current version, keeps the old runs as they were and appends the new ones with their plans.
 * Method: record demo-faults seeds 1..2 with --record full; downgrade the file with the
 * sqlite3 shell; list, show, replay; run seeds 3..4 into it; query. */
Test(faults_cli, schema_1_read_then_upgraded)
{
    write_file("faults.ini", faults_ini);
    sim_expect(0, NULL, "run faults.ini --seeds 1..2 --db t.db --record full");
    const char *old_q = "SELECT run_id, seed, trace_hash, event_count, config FROM runs "
                        "ORDER BY run_id";
    out before = sql("t.db", "%s", old_q);
    char h1[32], h2[32], ident[128];
    sql_text("t.db", "SELECT printf('%016x', trace_hash) FROM runs WHERE run_id = 1", h1,
             sizeof h1);
    sql_text("t.db", "SELECT printf('%016x', trace_hash) FROM runs WHERE run_id = 2", h2,
             sizeof h2);
    snprintf(ident, sizeof ident, "identical (%llu events, hash %s)\n",
             (unsigned long long)sql_u64("t.db", "SELECT event_count FROM runs WHERE run_id = 1"),
             h1);
    sql_do("t.db", "DROP TABLE faults; DROP TABLE history; ALTER TABLE runs DROP COLUMN faults; "
                   "ALTER TABLE runs DROP COLUMN fault_count; "
                   "ALTER TABLE runs DROP COLUMN overrides; "
                   "ALTER TABLE runs DROP COLUMN backend; "
                   "UPDATE meta SET value = 1 WHERE key = 'schema_version'");
    schema_version_is("t.db", 1, "after the downgrade");

    sim_expect(0, WORDS("2 run(s)\n", h1, h2), "list --db t.db");
    schema_version_is("t.db", 1, "after sim list");
    sim_expect(0, WORDS("run 1: demo-faults seed 1, pass, 0 fault(s) injected\n", "\nplan: none"),
               "show --db t.db 1 --faults");
    schema_version_is("t.db", 1, "after sim show --faults");
    sim_expect(0, WORDS(ident), "replay --db t.db 1");
    schema_version_is("t.db", 1, "after sim replay");

    sim_expect(0, WORDS("2 passed, 0 failed\n"),
               "run faults.ini --seeds 3..4 --db t.db --record full");
    schema_version_is("t.db", 5, "after sim run");
    out after = sql("t.db", "%s LIMIT 2", old_q);
    cr_assert(eq(str, after.text, before.text), "the old runs changed in the upgrade");
    out_free(&after);
    out_free(&before);
    out old = sql("t.db", "SELECT run_id, faults, fault_count FROM runs WHERE run_id <= 2 "
                          "ORDER BY run_id");
    cr_assert(eq(str, old.text, "1||0\n2||0\n"), "old runs' plan and count");
    out_free(&old);
    out seeds = sql("t.db", "SELECT run_id, seed FROM runs ORDER BY run_id");
    cr_assert(eq(str, seeds.text, "1|1\n2|2\n3|3\n4|4\n"));
    out_free(&seeds);
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs WHERE run_id > 2 AND "
                                      "substr(faults, 1, 7) = 'swarm: '"), 2));
    cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM runs r WHERE fault_count <> "
                                      "(SELECT count(*) FROM faults f WHERE f.run_id = r.run_id)"),
                 0));
    cr_assert(lt(u64, 0, sql_u64("t.db", "SELECT sum(fault_count) FROM runs WHERE run_id > 2")));
    sim_expect(0, WORDS(ident), "replay --db t.db 1");
    sim_expect(0, WORDS("4 run(s)\n"), "list --db t.db");
}

/* ---- the docs ------------------------------------------------------------------------------- */

/* True when text has a markdown heading (any level) whose words are `name`, or `name`. */
static bool has_heading(const char *text, const char *name)
{
    for (const char *line = text; line != NULL && *line != '\0'; line = next_line(line)) {
        if (line[0] != '#') continue;
        const char *p = line;
        while (*p == '#') p++;
        while (*p == ' ') p++;
        char h[128];
        copy_line(p, h, sizeof h);
        char want[128];
        snprintf(want, sizeof want, "`%s`", name);
        if (strcmp(h, name) == 0 || strcmp(h, want) == 0) return true;
    }
    return false;
}

/* Goal: docs/faults.md has a table row for every built-in fault point with its scenario key,
 * and for the demo's point; it documents every key that a demo scenario's [faults] section
 * has (a table row "| `key` |"), taken from the canonical configuration the run records;
 * docs/trace-schema.md documents the faults table under its own heading and the runs
 * table's faults and fault_count columns. Method: read the docs from SIM_SRC; run the demo
 * with --db and read runs.config. */
Test(faults_cli, docs_name_every_point_and_key)
{
    char *faults_md = read_doc("docs/faults.md");
    const char *rows[] = {"| `node/crash` | `crash` |", "| `node/restart` | `restart` |",
                          "| `node/pause` | `pause` |",
                          "| `sut/demo/slow-persist` | `sut/demo/slow-persist` |"};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cr_assert(ne(ptr, strstr(faults_md, rows[i]), NULL), "docs/faults.md has no row '%s'",
                  rows[i]);
    }
    write_file("demo.ini", demo_ini);
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record off");
    out cfg = sql("t.db", "SELECT config FROM runs WHERE run_id = 1");
    const char *line = line_starting(cfg.text, "[faults]");
    cr_assert(ne(ptr, (void *)line, NULL), "no [faults] in the recorded config:\n%s", cfg.text);
    size_t keys = 0;
    for (line = next_line(line); line != NULL && line[0] != '[' && line[0] != '\n';
         line = next_line(line)) {
        size_t n = strcspn(line, " =\n");
        cr_assert(ne(ptr, strstr(line, " = "), NULL), "'%.*s'", (int)strcspn(line, "\n"), line);
        char want[128];
        snprintf(want, sizeof want, "| `%.*s` |", (int)n, line);
        cr_assert(ne(ptr, strstr(faults_md, want), NULL), "docs/faults.md has no row for key "
                  "'%.*s' (want '%s')", (int)n, line, want);
        keys++;
    }
    cr_assert(ge(sz, keys, 10), "only %zu [faults] keys in:\n%s", keys, cfg.text);
    out_free(&cfg);
    release(faults_md);

    char *schema_md = read_doc("docs/trace-schema.md");
    cr_assert(eq(int, has_heading(schema_md, "faults"), true),
              "docs/trace-schema.md has no heading for the faults table");
    cr_assert(ne(ptr, strstr(schema_md, "| faults |"), NULL),
              "docs/trace-schema.md does not document runs.faults");
    cr_assert(ne(ptr, strstr(schema_md, "| fault_count |"), NULL),
              "docs/trace-schema.md does not document runs.fault_count");
    release(schema_md);
}
