/*
 * test_disk_cli.c: the simulated disk from the command line, run as a user would: the sim
 * binary (SIM_BIN, set by make test) in a fresh temporary directory per test, with scenario
 * files copied from SIM_SRC or written there, and the database read with the sqlite3 shell.
 *
 * The demo system persists its counter through the disk: every fifth request, a blocking-pool
 * job on n1 opens counter.log (creating it), appends the 8-byte total and fsyncs the file; it
 * never syncs the directory, so the file's name is still pending when the demo crashes n1 at
 * 1 s. What is checked: bad [disk] input is refused before any run; the persist jobs show up as
 * disk-op events and the crash as a disk-crash event, in words, consistent with what the
 * restarted node then sees; fsync_eio faults are recorded and carried by the fsync events;
 * a probability range in [disk] is drawn per seed into the run's plan; a replay stopped after
 * a persist dumps the disk; a [disk] key given with --set applies to the run as the file's
 * would; and the docs name every [disk] key and disk fault point.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(disk_cli, .init = enter_dir, .fini = leave_dir);

/* ---- event fields ---------------------------------------------------------------------------- */

/* SQL expressions over events.a and events.b of disk events (docs/disk.md). */
#define FILE_NO "(a >> 40)"
#define OFFSET "(a & 1099511627775)"
#define OP "(b >> 56)"
#define ERR "((b >> 48) & 255)"
#define LEN "(b & 281474976710655)"

/* Event lines of `sim show`: "  step  time node task event what". */
#define SHOW_HEAD "^ +[0-9]+ +[0-9]+\\.[0-9]{6}s +"

/* ---- bad [disk] input ----------------------------------------------------------------------- */

/* Goal: a bad [disk] section is refused before any run, exit 2, with "sim: FILE:LINE: [disk]
 * ..." on stderr naming the key, what was given and what is expected: nothing on stdout, no
 * database created, an existing one left byte for byte as it was; check-determinism refuses
 * the file too. A range counts by its upper end in the crash_keep + crash_torn sum, so
 * crash_keep = 0.1..0.9 alone (crash_torn defaults to 0.25) is refused. A bad --set disk.KEY
 * is refused the same way. Method: bad files with the bad line on line 8 (the sum: on the
 * second of its lines), run with --db new.db and --db old.db; then --set disk.sector=3,
 * --set disk.nosuch=1 and --set disk.crash_keep=0.9..1. */
Test(disk_cli, bad_disk_section)
{
    copy_scenario("demo.ini");
    sim_expect(0, NULL, "run demo.ini --seed 1 --db old.db");
    size_t old_len;
    char *old = read_bytes("old.db", &old_len);
    struct {
        const char *lines;
        unsigned line;
        const char *words[4];
    } cases[] = {
        {"bogus = 1", 8,
         {"unknown key 'bogus'; valid keys: capacity, crash_keep, crash_torn, dir_keep, "
          "meta_latency, meta_tail, read_latency, read_tail, sector, sync_latency, sync_tail, "
          "torn_garbage, write_latency, write_tail",
          NULL}},
        {"sector = 1000", 8, {"sector: expected a power of two from 512 to 65536", "got '1000'",
                              NULL}},
        {"sector = 256", 8, {"sector: expected a power of two from 512 to 65536", "got '256'",
                             NULL}},
        {"sector = 131072", 8, {"sector: expected a power of two", "got '131072'", NULL}},
        {"capacity = lots", 8, {"capacity: expected bytes per node", "64K", "got 'lots'", NULL}},
        {"crash_keep = 1.5", 8, {"crash_keep: expected a probability in [0, 1]", "got '1.5'",
                                 NULL}},
        {"torn_garbage = 0.5..0.1", 8, {"torn_garbage: expected ", "low to high",
                                        "got '0.5..0.1'", NULL}},
        {"crash_keep = 0.9\ncrash_torn = 0.5", 9, {"crash_keep + crash_torn", "exceed 1", NULL}},
        {"crash_keep = 0.1..0.9", 8, {"crash_keep + crash_torn", "exceed 1", NULL}},
        {"read_latency = 5ms..1ms", 8, {"read_latency: expected ", "low to high",
                                        "got '5ms..1ms'", NULL}},
        {"sync_latency = 2ms", 8, {"sync_latency is set twice (first at line 7)", NULL}},
        {"read_latency = 0s", 8, {"read_latency: expected a duration above 0", "got '0s'",
                                  NULL}},
        {"sync_tail = 1ms..2ms", 8, {"sync_tail: expected the mean of an extra exponential "
                                     "delay, 0s to 1h", "got '1ms..2ms'", NULL}},
        {"write_tail = 2h", 8, {"write_tail: expected ", "0s to 1h", "got '2h'", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512], head[64];
        snprintf(text, sizeof text, "[scenario]\nname = bad\nsystem = demo\nseeds = 1..2\n\n"
                                    "[disk]\nsync_latency = 1ms..2ms\n%s\n", cases[i].lines);
        write_file("bad.ini", text);
        snprintf(head, sizeof head, "sim: bad.ini:%u: [disk] ", cases[i].line);
        const char *dbs[] = {"new.db", "old.db"};
        for (size_t d = 0; d < 2; d++) {
            out r = sim_split("run bad.ini --db %s", dbs[d]);
            cr_assert(eq(int, r.status, 2), "'%s':\nstdout:\n%s\nstderr:\n%s", cases[i].lines,
                      r.text, r.err);
            cr_assert(eq(str, r.text, ""), "'%s'", cases[i].lines);
            cr_assert(eq(int, strncmp(r.err, head, strlen(head)), 0), "'%s': want '%s...':\n%s",
                      cases[i].lines, head, r.err);
            for (size_t w = 0; cases[i].words[w] != NULL; w++) {
                cr_assert(ne(ptr, strstr(r.err, cases[i].words[w]), NULL), "'%s': no '%s' in:\n%s",
                          cases[i].lines, cases[i].words[w], r.err);
            }
            out_free(&r);
        }
        sim_expect(2, WORDS(head + 5), "check-determinism bad.ini");
        cr_assert(eq(int, exists("new.db"), false), "'%s' created a database", cases[i].lines);
        file_unchanged("old.db", old, old_len, cases[i].lines);
    }
    release(old);

    struct {
        const char *set;
        const char *words[3];
    } sets[] = {
        {"disk.sector=3", {"[disk] sector: expected a power of two", "got '3'", NULL}},
        {"disk.nosuch=1", {"[disk] unknown key 'nosuch'; valid keys: ", "crash_keep", NULL}},
        {"disk.crash_keep=0.9..1", {"[disk] crash_keep + crash_torn", "exceed 1", NULL}},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        set_refused("demo.ini", sets[i].set, sets[i].words);
    }
}

/* ---- disk-op and disk-crash events ---------------------------------------------------------- */

#define DEMO_SEEDS 6
#define MAX_LINES 256

static show_line lines_a[MAX_LINES], lines_b[MAX_LINES];

/* Goal: the demo's persists and its crash are visible in words. `sim show --kind disk-op`
 * prints each persist as three events of one job, at one step, on n1: "open counter.log",
 * "append file F @OFF, 8 bytes", "fsync file F, 1 write(s)", the first at 0.5 s as "open",
 * "append file 1 @0, 8 bytes", "fsync file 1, 1 write(s)", and one line per disk-op event
 * stored. `--kind disk-crash` prints what the crash of n1 at 1 s did to the disk: the name
 * counter.log, created but never made durable by a directory sync, "link counter.log: kept"
 * or "lost", on n1, at 1 s, once. The restarted node sees what that says: after a kept link
 * the next append goes on in file 1 after the 8-byte records appended before the crash;
 * after a lost one the file is gone and the next append creates file 2 at offset 0. Across
 * the seeds, both outcomes happen. Method: demo.ini, seeds 1..6 with --record full; show
 * each run; compare with the events table (file, offset, op, error, length fields). */
Test(disk_cli, demo_disk_events_in_words)
{
    copy_scenario("demo.ini");
    sim_expect(0, WORDS("6 passed, 0 failed"), "run demo.ini --seeds 1..%d --db t.db --record full",
               DEMO_SEEDS);
    uint32_t kept = 0, lost = 0;
    for (unsigned run = 1; run <= DEMO_SEEDS; run++) {
        out s = SIM("show --db t.db %u --kind disk-op", run);
        expect(&s, 0, NULL);
        size_t n = show_lines(s.text, lines_a, MAX_LINES);
        uint64_t stored = sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = %u AND kind "
                                          "= " KIND("disk-op"), run);
        cr_assert(eq(sz, n, (size_t)stored), "run %u:\n%s", run, s.text);
        cr_assert(eq(sz, n % 3, 0), "run %u: persists are not triples:\n%s", run, s.text);
        cr_assert(ge(sz, n, 6), "run %u: fewer than two persists:\n%s", run, s.text);
        for (size_t i = 0; i < n; i += 3) {
            const show_line *o = &lines_a[i], *ap = &lines_a[i + 1], *fs = &lines_a[i + 2];
            for (size_t j = 0; j < 3; j++) {
                const show_line *l = &lines_a[i + j];
                cr_assert(eq(str, (char *)l->event, "disk-op"));
                cr_assert(eq(str, (char *)l->node, "n1"), "run %u: '%s'", run, l->what);
                cr_assert(eq(str, (char *)l->step, (char *)o->step), "run %u", run);
                cr_assert(eq(str, (char *)l->task, (char *)o->task), "run %u", run);
            }
            cr_assert(eq(str, (char *)o->what, "open counter.log"), "run %u", run);
            cr_assert(matches(ap->what, "^append file [12] @[0-9]+, 8 bytes$", NULL, 0),
                      "run %u: '%s'", run, ap->what);
            unsigned f1 = 0, f2 = 0;
            cr_assert(eq(int, sscanf(ap->what, "append file %u", &f1), 1));
            cr_assert(eq(int, sscanf(fs->what, "fsync file %u, 1 write(s)", &f2), 1),
                      "run %u: '%s'", run, fs->what);
            cr_assert(eq(u32, f1, f2));
        }
        cr_assert(eq(str, lines_a[0].time, "0.500000s"));
        cr_assert(eq(str, lines_a[1].what, "append file 1 @0, 8 bytes"));
        cr_assert(eq(str, lines_a[2].what, "fsync file 1, 1 write(s)"));
        /* The fields behind the words. */
        cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = %u AND "
                                          "kind = " KIND("disk-op") " AND (" ERR " <> 0 OR (" OP
                                          " = 4 AND " LEN " <> 8) OR (" OP " = 5 AND " LEN
                                          " <> 1) OR " OP " NOT IN (1, 4, 5))", run),
                     0), "run %u: a disk-op event with unexpected fields", run);

        out c = SIM("show --db t.db %u --kind disk-crash", run);
        expect(&c, 0, NULL);
        size_t nc = show_lines(c.text, lines_b, MAX_LINES);
        cr_assert(eq(sz, nc, 1), "run %u:\n%s", run, c.text);
        const show_line *x = &lines_b[0];
        cr_assert(eq(str, (char *)x->time, "1.000000s"), "run %u", run);
        cr_assert(eq(str, (char *)x->node, "n1"));
        cr_assert(eq(str, (char *)x->task, "-"));
        cr_assert(eq(str, (char *)x->event, "disk-crash"));
        cr_assert(matches(x->what, "^link counter\\.log: (kept|lost)$", NULL, 0), "run %u: '%s'",
                  run, x->what);
        bool was_kept = strstr(x->what, "kept") != NULL;
        cr_assert(eq(u64, sql_u64("t.db", "SELECT count(*) FROM events WHERE run_id = %u AND "
                                          "kind = " KIND("disk-crash") " AND node = 1 AND "
                                          "((b >> 48) & 255) = 3 AND " OP " = %d AND detail = "
                                          "'counter.log'", run, was_kept ? 1 : 2),
                     1), "run %u: the disk-crash event's fields", run);
        kept += was_kept;
        lost += !was_kept;

        /* What the restarted node saw: the first append after the crash. */
        uint64_t crash_ns = time_ns(x->time);
        uint32_t before = 0;
        const show_line *after = NULL;
        for (size_t i = 1; i < n && after == NULL; i += 3) {
            if (time_ns(lines_a[i].time) <= crash_ns) {
                before++;
            } else {
                after = &lines_a[i];
            }
        }
        cr_assert(ne(ptr, (void *)after, NULL), "run %u: no persist after the crash", run);
        char want[64];
        if (was_kept) {
            snprintf(want, sizeof want, "append file 1 @%u, 8 bytes", 8 * before);
        } else {
            snprintf(want, sizeof want, "append file 2 @0, 8 bytes");
        }
        cr_assert(eq(str, (char *)after->what, want), "run %u: the link was %s:\n%s", run,
                  was_kept ? "kept" : "lost", s.text);
        out_free(&c);
        out_free(&s);
    }
    cr_assert(ge(u32, kept, 1), "the link was lost in every seed");
    cr_assert(ge(u32, lost, 1), "the link was kept in every seed");
}

/* ---- fsync_eio ------------------------------------------------------------------------------ */

/* Goal: with [faults] fsync_eio = 1 every fsync fails, and that is visible three ways: the
 * plan says fsync_eio=1, `sim show --faults` lists one "fire disk/fsync/eio" per fsync, on
 * n1, with hits 0, 1, 2, ... in order (the faults table agrees), and each fsync's disk-op
 * event ends in ": SIM_EIO", at the step and time of its fault, while opens and appends carry
 * no error. As docs/disk.md says, the failed fsyncs leave nothing durable but reads still see
 * the data: within one life of n1 the appends follow each other (@0, @8, ...), and after the
 * crash the first one is at @0 again. Method: demo.ini, seeds 1..4, --record full and
 * --set faults.fsync_eio=1. */
Test(disk_cli, fsync_eio_recorded)
{
    copy_scenario("demo.ini");
    sim_expect(0, WORDS("4 passed, 0 failed"),
               "run demo.ini --seeds 1..4 --db e.db --record full --set faults.fsync_eio=1");
    for (unsigned run = 1; run <= 4; run++) {
        uint64_t fires = sql_u64("e.db", "SELECT fault_count FROM runs WHERE run_id = %u", run);
        cr_assert(eq(u64, sql_u64("e.db", "SELECT count(*) FROM faults WHERE run_id = %u AND "
                                          "point = 'disk/fsync/eio' AND action = 'fire' AND "
                                          "node = 1", run),
                     fires));
        cr_assert(ge(u64, fires, 2));
        char plan[256], q[128];
        snprintf(q, sizeof q, "SELECT faults FROM runs WHERE run_id = %u", run);
        sql_text("e.db", q, plan, sizeof plan);
        cr_assert(eq(str, plan, "fsync_eio=1"));

        out f = SIM("show --db e.db %u --faults", run);
        expect(&f, 0, WORDS("\nplan: fsync_eio=1\n"));
        size_t nf = show_lines(f.text, lines_b, MAX_LINES);
        cr_assert(eq(sz, nf, (size_t)fires), "%s", f.text);
        for (size_t i = 0; i < nf; i++) {
            char buf[256], want[64];
            /* "step time node action point hit": the node and task columns of an event
             * line hold the node and the action here. */
            snprintf(buf, sizeof buf, "%s %s", lines_b[i].node, lines_b[i].task);
            cr_assert(eq(str, buf, "n1 fire"), "run %u:\n%s", run, f.text);
            snprintf(want, sizeof want, "%zu", i);
            snprintf(buf, sizeof buf, "%s", lines_b[i].what);
            buf[strcspn(buf, " ")] = '\0';
            cr_assert(eq(str, lines_b[i].event, "disk/fsync/eio"), "run %u:\n%s", run, f.text);
            cr_assert(eq(str, buf, want), "run %u: fault %zu has hit '%s':\n%s", run, i, buf,
                      f.text);
        }

        out s = SIM("show --db e.db %u --kind disk-op", run);
        expect(&s, 0, NULL);
        size_t n = show_lines(s.text, lines_a, MAX_LINES);
        size_t fsyncs = 0;
        uint64_t crash_ns = SIM_S, expect_off = 0;
        bool after_crash = false;
        for (size_t i = 0; i < n; i++) {
            const show_line *l = &lines_a[i];
            if (strncmp(l->what, "fsync ", 6) == 0) {
                cr_assert(matches(l->what, "^fsync file [12], 1 write\\(s\\): SIM_EIO$", NULL, 0),
                          "run %u: '%s'", run, l->what);
                cr_assert(lt(sz, fsyncs, nf));
                cr_assert(eq(str, (char *)l->step, lines_b[fsyncs].step), "run %u: fsync %zu", run,
                          fsyncs);
                cr_assert(eq(str, (char *)l->time, lines_b[fsyncs].time), "run %u: fsync %zu", run,
                          fsyncs);
                fsyncs++;
                continue;
            }
            cr_assert(eq(ptr, strstr(l->what, ": SIM_"), NULL), "run %u: '%s'", run, l->what);
            if (strncmp(l->what, "append ", 7) != 0) continue;
            if (!after_crash && time_ns(l->time) > crash_ns) {
                after_crash = true;
                expect_off = 0;
            }
            unsigned fno = 0, off = 0;
            cr_assert(eq(int, sscanf(l->what, "append file %u @%u, 8 bytes", &fno, &off), 2));
            cr_assert(eq(u64, (uint64_t)off, expect_off), "run %u: '%s' at %s:\n%s", run,
                      l->what, l->time, s.text);
            expect_off += 8;
        }
        cr_assert(eq(sz, fsyncs, nf), "run %u: %zu fsyncs, %zu faults", run, fsyncs, nf);
        cr_assert(after_crash, "run %u: no append after the crash", run);
        out_free(&s);
        out_free(&f);
    }
}

/* ---- probability ranges --------------------------------------------------------------------- */

/* Goal: a probability range in [disk] is drawn per seed and is part of the run's plan: with
 * crash_keep = 0.1..0.9, each run's plan (the runs.faults column) is "crash_keep=X" with X
 * in [0.1, 0.9], the value differs across seeds, two runs of the same seeds draw the same
 * values, and `sim show --faults` and `sim replay` print the plan of the run. Method: demo
 * with [disk] crash_torn = 0.1 (so that keep + torn stays at most 1) and crash_keep =
 * 0.1..0.9, seeds 1..20 --record off into a.db and b.db. */
Test(disk_cli, crash_keep_range_drawn_per_seed)
{
    write_file("range.ini", "[scenario]\nname = range\nsystem = demo\nseeds = 1..20\n\n"
                            "[disk]\ncrash_torn = 0.1\ncrash_keep = 0.1..0.9\n");
    const char *dbs[] = {"a.db", "b.db"};
    for (size_t i = 0; i < 2; i++) {
        sim_expect(0, WORDS("20 passed, 0 failed"), "run range.ini --db %s --record off",
                   dbs[i]);
    }
    const char *q = "SELECT seed, faults FROM runs ORDER BY seed";
    out a = sql("a.db", "%s", q), b = sql("b.db", "%s", q);
    cr_assert(eq(str, a.text, b.text), "two runs of the same seeds drew different plans");
    out_free(&a);
    out_free(&b);
    cr_assert(ge(u64, sql_u64("a.db", "SELECT count(DISTINCT faults) FROM runs"), 10));
    out rows = sql("a.db", "SELECT run_id || ' ' || faults FROM runs ORDER BY run_id");
    unsigned checked = 0;
    for (const char *line = rows.text; line != NULL && *line != '\0'; line = next_line(line)) {
        char buf[256], plan[256], want[300];
        copy_line(line, buf, sizeof buf);
        unsigned run = 0;
        int at = 0;
        cr_assert(eq(int, sscanf(buf, "%u %n", &run, &at), 1), "'%s'", buf);
        snprintf(plan, sizeof plan, "%s", buf + at);
        regmatch_t m[2];
        cr_assert(matches(plan, "^crash_keep=(0\\.[0-9]+)$", m, 2), "run %u plan '%s'", run,
                  plan);
        char v[32];
        submatch(plan, m, 1, v, sizeof v);
        double x = strtod(v, NULL);
        cr_assert(ge(dbl, x, 0.1), "run %u: %s", run, plan);
        cr_assert(le(dbl, x, 0.9), "run %u: %s", run, plan);
        if (run % 5 == 1) {
            snprintf(want, sizeof want, "\nplan: %s\n", plan);
            sim_expect(0, WORDS(want), "show --db a.db %u --faults", run);
            snprintf(want, sizeof want, "\nfaults: %s; 0 injected", plan);
            sim_expect(0, WORDS(want), "replay --db a.db %u", run);
        }
        checked++;
    }
    out_free(&rows);
    cr_assert(eq(u32, checked, 20));
}

/* ---- replay --dump -------------------------------------------------------------------------- */

/* Goal: `sim replay --until STEP --dump` shows the disk: stopped at the step of the demo's
 * first persist, a "disk:" section says 1 file, no open handle and 1 directory operation
 * pending (the creation of counter.log), and lists "n1:counter.log  file 1: 8 bytes, 8
 * durable, 0 write(s) pending (created, not yet durably)"; stopped at the last persist, the
 * file (whichever number it has) holds what the events say was appended to it, all durable.
 * Method: demo seed 1 with --record full; steps and offsets from the events table. */
Test(disk_cli, replay_dump_shows_disk)
{
    copy_scenario("demo.ini");
    sim_expect(0, NULL, "run demo.ini --seed 1 --db r.db --record full");
    uint64_t first = sql_u64("r.db", "SELECT min(step) FROM events WHERE run_id = 1 AND kind = "
                                     KIND("disk-op"));
    out d = SIM("replay --db r.db 1 --until %llu --dump", (unsigned long long)first);
    char want[128];
    snprintf(want, sizeof want, "\nidentical up to step %llu (", (unsigned long long)first);
    expect(&d, 0, WORDS(want, "\n  disk: 1 file(s), 0 open handle(s), 1 directory operation(s) "
                        "pending\n"));
    const char *disk = line_starting(d.text, "  disk: ");
    const char *file = next_line(disk);
    cr_assert(ne(ptr, (void *)file, NULL), "%s", d.text);
    char buf[256];
    copy_line(file, buf, sizeof buf);
    cr_assert(matches(buf, "^    n1:counter\\.log +file 1: 8 bytes, 8 durable, 0 write\\(s\\) "
                           "pending \\(created, not yet durably\\)$", NULL, 0),
              "'%s'", buf);
    out_free(&d);

    uint64_t last = sql_u64("r.db", "SELECT max(step) FROM events WHERE run_id = 1 AND kind = "
                                    KIND("disk-op"));
    uint64_t fno = sql_u64("r.db", "SELECT " FILE_NO " FROM events WHERE run_id = 1 AND kind = "
                                   KIND("disk-op") " AND " OP " = 4 ORDER BY seq DESC LIMIT 1");
    uint64_t off = sql_u64("r.db", "SELECT " OFFSET " FROM events WHERE run_id = 1 AND kind = "
                                   KIND("disk-op") " AND " OP " = 4 ORDER BY seq DESC LIMIT 1");
    cr_assert(lt(u64, first, last));
    d = SIM("replay --db r.db 1 --until %llu --dump", (unsigned long long)last);
    snprintf(want, sizeof want, "\nidentical up to step %llu (", (unsigned long long)last);
    expect(&d, 0, WORDS(want));
    disk = line_starting(d.text, "  disk: 1 file(s), 0 open handle(s), ");
    cr_assert(ne(ptr, (void *)disk, NULL), "%s", d.text);
    copy_line(next_line(disk), buf, sizeof buf);
    char pattern[256];
    snprintf(pattern, sizeof pattern, "^    n1:counter\\.log +file %llu: %llu bytes, %llu durable, "
             "0 write\\(s\\) pending( \\(created, not yet durably\\))?$",
             (unsigned long long)fno, (unsigned long long)off + 8, (unsigned long long)off + 8);
    cr_assert(matches(buf, pattern, NULL, 0), "'%s' does not match '%s'", buf, pattern);
    cr_assert(ge(u64, off, 8), "the last persist appended at %llu", (unsigned long long)off);
    out_free(&d);
}

/* ---- --set disk.KEY ------------------------------------------------------------------------- */

/* Goal: a [disk] key given with --set applies to the run exactly as the same line in the file
 * would (docs/scenarios.md: --set changes a key as if the file said it), also when the file
 * has no [disk] section: with capacity = 16, the demo's third append is refused with
 * SIM_ENOSPC; the run has the same trace hash as a run of a file that says capacity = 16,
 * and its replay is identical. Method: demo.ini seed 1 with --set disk.capacity=16, and a
 * copy of demo.ini with "[disk] capacity = 16" appended, both --record full. */
Test(disk_cli, set_disk_key_applies_to_run)
{
    copy_scenario("demo.ini");
    out o = sh("cp demo.ini cap.ini && printf '\\n[disk]\\ncapacity = 16\\n' >> cap.ini");
    cr_assert(eq(int, o.status, 0), "%s", o.text);
    out_free(&o);
    sim_expect(0, NULL, "run cap.ini --seed 1 --db f.db --record full");
    sim_expect(0, NULL, "run demo.ini --seed 1 --db s.db --record full --set disk.capacity=16");
    char cfg_f[4096], cfg_s[4096];
    out cf = sql("f.db", "SELECT config FROM runs WHERE run_id = 1");
    out cs = sql("s.db", "SELECT config FROM runs WHERE run_id = 1");
    snprintf(cfg_f, sizeof cfg_f, "%s", strstr(cf.text, "[disk]"));
    snprintf(cfg_s, sizeof cfg_s, "%s", strstr(cs.text, "[disk]"));
    cr_assert(eq(str, cfg_s, cfg_f), "the recorded configurations differ");
    cr_assert(ne(ptr, strstr(cfg_s, "\ncapacity = 16\n"), NULL), "%s", cfg_s);
    out_free(&cf);
    out_free(&cs);
    const char *refused = "SELECT count(*) FROM events WHERE run_id = 1 AND kind = "
                          KIND("disk-op") " AND " ERR " = 26";
    cr_assert(ge(u64, sql_u64("f.db", "%s", refused), 1), "capacity = 16 in the file refused "
              "no write");
    cr_assert(ge(u64, sql_u64("s.db", "%s", refused), 1), "--set disk.capacity=16 refused no "
              "write: the run ignored it, though its recorded configuration says capacity = 16");
    char hf[32], hs[32];
    sql_text("f.db", "SELECT trace_hash FROM runs WHERE run_id = 1", hf, sizeof hf);
    sql_text("s.db", "SELECT trace_hash FROM runs WHERE run_id = 1", hs, sizeof hs);
    cr_assert(eq(str, hs, hf));
    sim_expect(0, WORDS("recorded pass, replayed pass\n", "\nidentical ("), "replay --db s.db 1");
}

/* ---- the docs ------------------------------------------------------------------------------- */

static const char *const disk_points[][2] = {
    {"disk/read/eio", "read_eio"},     {"disk/write/eio", "write_eio"},
    {"disk/fsync/eio", "fsync_eio"},   {"disk/write/enospc", "enospc"},
    {"disk/corrupt", "corrupt"},
};

/* Goal: the docs name every [disk] key: docs/disk.md has a table row for every [disk] key of
 * a recorded run's canonical configuration, and so does the [disk] section of
 * docs/scenarios.md; the five disk fault points' keys are [faults] keys of that
 * configuration, each with a row in the [faults] section of docs/scenarios.md and, with its
 * point, in the fault table of docs/disk.md. Method: a demo run (--record off), runs.config,
 * "| `key` |" rows. */
Test(disk_cli, docs_name_every_disk_key)
{
    copy_scenario("demo.ini");
    sim_expect(0, NULL, "run demo.ini --seed 1 --db t.db --record off");
    out cfg = sql("t.db", "SELECT config FROM runs WHERE run_id = 1");
    char *disk_md = read_doc("docs/disk.md");
    char *scenarios_md = read_doc("docs/scenarios.md");
    char *disk_section = doc_section(scenarios_md, "## [disk]");
    char *faults_section = doc_section(scenarios_md, "## [faults]");
    size_t n = every_key_has_a_row(cfg.text, "[disk]", disk_md, "docs/disk.md");
    cr_assert(ge(sz, n, 10), "only %zu [disk] keys in:\n%s", n, cfg.text);
    every_key_has_a_row(cfg.text, "[disk]", disk_section, "docs/scenarios.md [disk]");
    const char *faults = strstr(cfg.text, "\n[faults]\n");
    cr_assert(ne(ptr, (void *)faults, NULL), "%s", cfg.text);
    for (size_t i = 0; i < sizeof disk_points / sizeof disk_points[0]; i++) {
        char key[64], row[128];
        snprintf(key, sizeof key, "\n%s = 0\n", disk_points[i][1]);
        cr_assert(ne(ptr, strstr(faults, key), NULL), "no %s in [faults]:\n%s",
                  disk_points[i][1], faults);
        snprintf(row, sizeof row, "| `%s` |", disk_points[i][1]);
        cr_assert(ne(ptr, strstr(faults_section, row), NULL), "docs/scenarios.md [faults] has "
                  "no row '%s'", row);
        snprintf(row, sizeof row, "\n| `%s` | `%s` |", disk_points[i][0], disk_points[i][1]);
        cr_assert(ne(ptr, strstr(disk_md, row), NULL), "docs/disk.md has no row '%s'", row + 1);
    }
    out_free(&cfg);
    release(faults_section);
    release(disk_section);
    release(scenarios_md);
    release(disk_md);
}

/* Goal: docs/faults.md lists the five disk fault points with their keys, as rows of its
 * table of fault points ("| point | scenario key | hit by | what firing does |"): each row
 * "| `disk/...` | `key` |" must belong to that table, i.e. follow its header without a blank
 * line in between (a blank line ends a markdown table; rows after it render as plain text).
 * Method: read docs/faults.md; walk the table from its header while lines start with '|'. */
Test(disk_cli, faults_doc_lists_disk_points)
{
    char *doc = read_doc("docs/faults.md");
    for (size_t i = 0; i < sizeof disk_points / sizeof disk_points[0]; i++) {
        char row[128];
        snprintf(row, sizeof row, "\n| `%s` | `%s` |", disk_points[i][0], disk_points[i][1]);
        cr_assert(ne(ptr, strstr(doc, row), NULL), "docs/faults.md has no row '%s'", row + 1);
    }
    const char *head = line_starting(doc, "| point | scenario key |");
    cr_assert(ne(ptr, (void *)head, NULL), "docs/faults.md has no table of fault points");
    bool in_table[sizeof disk_points / sizeof disk_points[0]] = {false};
    size_t rows = 0;
    const char *line = head;
    for (; line != NULL && line[0] == '|'; line = next_line(line)) {
        rows++;
        for (size_t i = 0; i < sizeof disk_points / sizeof disk_points[0]; i++) {
            char row[128];
            snprintf(row, sizeof row, "| `%s` | `%s` |", disk_points[i][0], disk_points[i][1]);
            if (strncmp(line, row, strlen(row)) == 0) in_table[i] = true;
        }
    }
    char after[128] = "";
    if (line != NULL) copy_line(line, after, sizeof after);
    const char *where = line == NULL    ? "the end of the file"
                        : after[0] == 0 ? "a blank line"
                                        : after;
    for (size_t i = 0; i < sizeof disk_points / sizeof disk_points[0]; i++) {
        cr_assert(in_table[i], "the row of %s is not in the table of fault points, which ends "
                  "after %zu lines, at %s", disk_points[i][0], rows, where);
    }
    release(doc);
}
