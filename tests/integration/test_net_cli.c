/*
 * test_net_cli.c: the simulated network from the command line, run as a user would: the sim
 * binary (SIM_BIN, set by make test) in a fresh temporary directory per test, with scenario
 * files copied from SIM_SRC or written there, and the database read with the sqlite3 shell.
 *
 * What is checked: the gossip toy under a swarm of network and node faults is deterministic
 * over 500 seeds; the shipped gossip scenarios meet their expectations (the planted bug is
 * found as a liveness failure); network faults are recorded (the faults table, net-drop,
 * net-dup and net-link events) and shown in words by `sim show`; scripted partitions and
 * clogs happen at their times and do what they say to datagrams; [network] latency and link
 * lines set the delay of every delivery; bad [network] input is refused before any run; a
 * replay stopped mid-way dumps the sockets and the messages in flight; and the docs name
 * every [network] and [gossip] key.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../clitext.h"

TestSuite(net_cli, .init = enter_dir, .fini = leave_dir);

/* ---- event fields ---------------------------------------------------------------------------- */

/* SQL expressions over events.a and events.b (docs/network.md). */
#define SRC_NODE "((a >> 48) & 65535)"
#define DST_NODE "((a >> 16) & 65535)"
#define REASON "((b >> 48) & 255)"

/* ---- determinism at scale ------------------------------------------------------------------- */

/* Goal: the 5-node gossip toy under a swarm of drops, duplicates, partitions, clogs and
 * crashes is deterministic at scale: each of 500 seeds, run twice, gives the same hash
 * chain, and two separate `sim run`s of the same 500 seeds record the same hash and the same
 * drawn plan for every seed (and the seeds do differ from each other). Method: a copy of
 * scenarios/gossip-faults.ini; check-determinism --seeds 1..500; then run --seeds 1..500
 * --record off into a.db and b.db and compare "seed, trace_hash, faults" row for row. */
Test(net_cli, determinism_500_seeds)
{
    copy_scenario("gossip-faults.ini");
    out r = SIM("check-determinism gossip-faults.ini --seeds 1..500");
    expect(&r, 0, NULL);
    cr_assert(eq(str, r.text, "500 seed(s) checked, 0 not deterministic\n"));
    out_free(&r);

    const char *dbs[] = {"a.db", "b.db"};
    for (size_t i = 0; i < 2; i++) {
        sim_expect(0, WORDS("\n500 passed, 0 failed\n"),
                   "run gossip-faults.ini --seeds 1..500 --db %s --record off", dbs[i]);
    }
    const char *q = "SELECT seed, trace_hash, faults FROM runs ORDER BY seed";
    out a = sql("a.db", "%s", q), b = sql("b.db", "%s", q);
    cr_assert(eq(str, a.text, b.text), "two runs of the same 500 seeds differ");
    out_free(&a);
    out_free(&b);
    cr_assert(eq(u64, sql_u64("a.db", "SELECT count(DISTINCT seed) FROM runs"), 500));
    cr_assert(eq(u64, sql_u64("a.db", "SELECT count(DISTINCT trace_hash) FROM runs"), 500),
              "two seeds gave the same hash");
    cr_assert(lt(u64, 100, sql_u64("a.db", "SELECT count(DISTINCT faults) FROM runs")));
    const char *kinds[] = {"drop", "dup", "partition", "clog", "crash"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        uint64_t on = sql_u64("a.db", "SELECT count(*) FROM runs WHERE faults LIKE 'swarm: %%' "
                                      "AND instr(faults, ' %s=off') = 0", kinds[k]);
        cr_assert(lt(u64, 100, on), "only %llu of 500 seeds switched %s on",
                  (unsigned long long)on, kinds[k]);
    }
    cr_assert(lt(u64, 400, sql_u64("a.db", "SELECT count(*) FROM runs WHERE fault_count > 0")));
}

/* ---- the shipped gossip scenarios ----------------------------------------------------------- */

/* Goal: the gossip scenarios meet their expectations: gossip.ini (no faults) and
 * gossip-faults.ini (a swarm of faults, then a liveness phase) pass every seed, and
 * gossip-forget.ini finds its planted bug: some seeds fail as liveness ("did not converge"
 * after the faults stopped), which is what it expects, so the command exits 0. The failures
 * are recorded as liveness, with every event, and the replay command printed for each
 * names its recorded run and reproduces it. Method: the three files from scenarios/ in one
 * `sim run --db`; read the lines and the runs table; run the first printed replay command. */
Test(net_cli, gossip_scenarios_meet_expectations)
{
    copy_scenario("gossip.ini");
    copy_scenario("gossip-faults.ini");
    copy_scenario("gossip-forget.ini");
    out r = SIM("run gossip.ini gossip-faults.ini gossip-forget.ini --db g.db");
    expect(&r, 0, NULL);
    expect_row(r.text, "gossip", 50, 0, "pass");
    expect_row(r.text, "gossip-faults", 100, 0, "pass");
    cr_assert(eq(ptr, strstr(r.text, "FAIL"), NULL), "%s", r.text);
    suite_row forget = table_row(r.text, "gossip-forget", false);
    unsigned failed = (unsigned)forget.failed;
    cr_assert(eq(u64, forget.seeds, 50), "%s", r.text);
    cr_assert(eq(str, forget.expect, "fail"));
    cr_assert(ge(u32, failed, 1));
    char summary[64];
    snprintf(summary, sizeof summary, "\n%u passed, %u failed\n", 200 - failed, failed);
    expect(&r, 0, WORDS(summary));

    unsigned found = 0;
    uint64_t first_run = 0;
    const char *head = "found gossip-forget seed ";
    for (const char *line = r.text; line != NULL; line = next_line(line)) {
        if (strncmp(line, "found ", 6) != 0) continue;
        char buf[512], want[256], replay[256];
        copy_line(line, buf, sizeof buf);
        unsigned seed = 0;
        cr_assert(eq(int, sscanf(buf + strlen(head), "%u", &seed), 1), "'%s'", buf);
        snprintf(want, sizeof want, "%s%u  liveness: did not converge within converge_within = "
                 "10s after the faults stopped at 5s", head, seed);
        cr_assert(eq(int, strncmp(buf, want, strlen(want)), 0), "'%s': want '%s...'", buf, want);
        const char *faults = next_line(line);
        cr_assert(ne(ptr, (void *)faults, NULL));
        cr_assert(eq(int, strncmp(faults, "      faults: crash=1/2s\n", 25), 0), "%s", r.text);
        const char *rep = next_line(faults); /* after the tasks the hang left waiting */
        while (rep != NULL && strncmp(rep, "      ", 6) == 0 &&
               strncmp(rep, "      replay: ", 14) != 0) {
            rep = next_line(rep);
        }
        cr_assert(ne(ptr, (void *)rep, NULL));
        copy_line(rep, buf, sizeof buf);
        uint64_t run = sql_u64("g.db", "SELECT run_id FROM runs WHERE scenario = "
                               "'gossip-forget' AND seed = %u", seed);
        snprintf(replay, sizeof replay, "      replay: sim replay --db g.db %llu",
                 (unsigned long long)run);
        cr_assert(eq(str, buf, replay));
        if (found++ == 0) first_run = run;
    }
    cr_assert(eq(u32, found, failed), "%u found lines, %u failed:\n%s", found, failed, r.text);
    out_free(&r);

    cr_assert(eq(u64, sql_u64("g.db", "SELECT count(*) FROM runs WHERE result <> 'pass'"),
                 failed));
    cr_assert(eq(u64, sql_u64("g.db", "SELECT count(*) FROM runs WHERE result = 'liveness' AND "
                                      "scenario = 'gossip-forget' AND detail LIKE "
                                      "'did not converge%%'"),
                 failed));
    cr_assert(eq(u64, sql_u64("g.db", "SELECT count(*) FROM runs WHERE result = 'liveness' AND "
                                      "events_stored = 1 AND event_count > 0"),
                 failed));
    sim_expect(0, WORDS("recorded liveness, replayed liveness\n", "\nidentical ("),
               "replay --db g.db %llu", (unsigned long long)first_run);
}

/* ---- network faults, recorded and shown ----------------------------------------------------- */

/* Goal: network faults of a swarm plan are visible: a kind the plan switched off never
 * appears in the faults table, and each of net/send/drop, net/send/dup, net/partition and
 * net/clog does appear in some run that switched it on; every fired drop is a net-drop
 * event with reason "lost", every fired dup a net-dup event, every partition blocks links
 * (net-link events) at its step, every heal and clog is a net-link event; `sim show --kind
 * net-drop` prints each drop in words ("datagram n1:49152 -> n3:7000, 40 bytes #... (lost:
 * net/send/drop)", on the sending node), and `--kind net-link` prints "blocked", "healed"
 * and "clogged" lines. Method: gossip-faults seeds 1..30 with --record full; query; show
 * the run with the most drops, one with a partition that healed, and one with clogs. */
Test(net_cli, network_faults_visible)
{
    copy_scenario("gossip-faults.ini");
    sim_expect(0, WORDS("30 passed, 0 failed"),
               "run gossip-faults.ini --seeds 1..30 --db t.db --record full");
    const char *db = "t.db";
    struct {
        const char *key, *point;
    } kinds[] = {{"drop", "net/send/drop"},
                 {"dup", "net/send/dup"},
                 {"partition", "net/partition"},
                 {"clog", "net/clog"}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const char *q = "SELECT count(*) FROM runs r WHERE instr(r.faults, ' %s=off') %s 0 AND "
                        "EXISTS (SELECT 1 FROM faults f WHERE f.run_id = r.run_id AND "
                        "f.point = '%s')";
        cr_assert(eq(u64, sql_u64(db, q, kinds[k].key, ">", kinds[k].point), 0),
                  "a run with %s=off has %s faults", kinds[k].key, kinds[k].point);
        cr_assert(lt(u64, 0, sql_u64(db, q, kinds[k].key, "=", kinds[k].point)),
                  "no %s fault in 30 seeds", kinds[k].point);
    }
    /* Each fired drop is a lost datagram, each dup a net-dup event. */
    cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM runs r WHERE "
                                  "(SELECT count(*) FROM faults f WHERE f.run_id = r.run_id AND "
                                  "f.point = 'net/send/drop' AND f.action = 'fire') <> "
                                  "(SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND "
                                  "e.kind = " KIND("net-drop") " AND " REASON " = 1)"),
                 0), "net/send/drop faults and lost datagrams differ");
    cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM runs r WHERE "
                                  "(SELECT count(*) FROM faults f WHERE f.run_id = r.run_id AND "
                                  "f.point = 'net/send/dup' AND f.action = 'fire') <> "
                                  "(SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND "
                                  "e.kind = " KIND("net-dup") ")"),
                 0), "net/send/dup faults and net-dup events differ");
    /* Partitions block links at their step; heals and clogs are net-link events. */
    cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM faults f WHERE f.point = 'net/partition' "
                                  "AND f.action = 'partition' AND NOT EXISTS (SELECT 1 FROM "
                                  "events e WHERE e.run_id = f.run_id AND e.step = f.step AND "
                                  "e.vtime_ns = f.vtime_ns AND e.kind = " KIND("net-link")
                                  " AND e.b = 1)"),
                 0), "a partition that blocked no link");
    const char *link_match = "SELECT (SELECT count(*) FROM faults f WHERE f.point = '%s' AND "
                             "f.action = '%s') || ' ' || (SELECT count(*) FROM events e WHERE "
                             "e.kind = " KIND("net-link") " AND e.b = %d) || ' ' || "
                             "(SELECT count(*) FROM faults f WHERE f.point = '%s' AND "
                             "f.action = '%s' AND EXISTS (SELECT 1 FROM events e WHERE "
                             "e.run_id = f.run_id AND e.step = f.step AND e.kind = "
                             KIND("net-link") " AND e.b = %d AND (%d = 2 OR e.a = "
                             "(f.node << 32 | f.node))))";
    struct {
        const char *point, *action;
        int change;
    } links[] = {{"net/partition", "heal", 2}, {"net/clog", "clog", 3}, {"net/clog", "unclog", 4}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        char got[64], want[64];
        char q[1400];
        snprintf(q, sizeof q, link_match, links[i].point, links[i].action, links[i].change,
                 links[i].point, links[i].action, links[i].change, links[i].change);
        sql_text(db, q, got, sizeof got);
        unsigned long long n = 0;
        cr_assert(eq(int, sscanf(got, "%llu", &n), 1));
        cr_assert(lt(u64, 0, n), "no %s %s in 30 seeds", links[i].point, links[i].action);
        snprintf(want, sizeof want, "%llu %llu %llu", n, n, n);
        cr_assert(eq(str, got, want), "%s %s faults, net-link events, matched", links[i].point,
                  links[i].action);
    }

    /* The run with the most drops, in words. */
    uint64_t run = sql_u64(db, "SELECT run_id FROM faults WHERE point = 'net/send/drop' "
                               "GROUP BY run_id ORDER BY count(*) DESC, run_id LIMIT 1");
    uint64_t drops = sql_u64(db, "SELECT count(*) FROM faults WHERE run_id = %llu AND "
                                 "point = 'net/send/drop'", (unsigned long long)run);
    uint64_t all = sql_u64(db, "SELECT count(*) FROM events WHERE run_id = %llu AND kind = "
                               KIND("net-drop"), (unsigned long long)run);
    out s = SIM("show --db %s %llu --kind net-drop", db, (unsigned long long)run);
    expect(&s, 0, NULL);
    const char *any_drop = "^ +[0-9]+ +[0-9]+\\.[0-9]{6}s +n[1-5] +([0-9]+|-) +net-drop +"
                           "datagram n[1-5]:[0-9]+ -> n[1-5]:7000, [0-9]+ bytes #[0-9a-f]{8} "
                           "\\((lost: net/send/drop|partition|node down)\\)$";
    const char *lost = "^ +[0-9]+ +[0-9]+\\.[0-9]{6}s +(n[1-5]) +[0-9]+ +net-drop +"
                       "datagram (n[1-5]):[0-9]+ -> n[1-5]:7000, 40 bytes #[0-9a-f]{8} "
                       "\\(lost: net/send/drop\\)$";
    cr_assert(eq(sz, count_matching(s.text, any_drop), (size_t)all), "want %llu drops:\n%s",
              (unsigned long long)all, s.text);
    size_t nlost = 0;
    for (const char *line = s.text; line != NULL; line = next_line(line)) {
        char buf[1024], node[16], src[16];
        regmatch_t m[3];
        copy_line(line, buf, sizeof buf);
        if (strstr(buf, "(lost: ") == NULL) continue;
        cr_assert(eq(int, matches(buf, lost, m, 3), true), "'%s'", buf);
        submatch(buf, m, 1, node, sizeof node);
        submatch(buf, m, 2, src, sizeof src);
        cr_assert(eq(str, node, src), "a lost datagram not on its sender: '%s'", buf);
        nlost++;
    }
    cr_assert(eq(sz, nlost, (size_t)drops), "want %llu lost datagrams:\n%s",
              (unsigned long long)drops, s.text);
    out_free(&s);

    /* A partition that healed, and clogs, in words. */
    run = sql_u64(db, "SELECT run_id FROM faults WHERE point = 'net/partition' AND action = "
                      "'heal' ORDER BY run_id LIMIT 1");
    uint64_t blocked = sql_u64(db, "SELECT count(*) FROM events WHERE run_id = %llu AND kind = "
                                   KIND("net-link") " AND b = 1", (unsigned long long)run);
    uint64_t at = sql_u64(db, "SELECT vtime_ns FROM faults WHERE run_id = %llu AND point = "
                              "'net/partition' AND action = 'partition' ORDER BY seq LIMIT 1",
                          (unsigned long long)run);
    uint64_t heals = sql_u64(db, "SELECT count(*) FROM faults WHERE run_id = %llu AND action = "
                                 "'heal'", (unsigned long long)run);
    char t[32];
    time_text(at, t, sizeof t);
    s = SIM("show --db %s %llu --kind net-link", db, (unsigned long long)run);
    expect(&s, 0, NULL);
    const char *block = "^ +[0-9]+ +[0-9]+\\.[0-9]{6}s +- +[0-9]+ +net-link +n[1-5] -> n[1-5] "
                        "blocked$";
    const char *healed = "^ +[0-9]+ +[0-9]+\\.[0-9]{6}s +- +[0-9]+ +net-link +healed: every "
                         "link$";
    cr_assert(eq(sz, count_matching(s.text, block), (size_t)blocked), "%s", s.text);
    cr_assert(eq(sz, count_matching(s.text, healed), (size_t)heals), "%s", s.text);
    bool first_at_fault = false;
    for (const char *line = s.text; line != NULL; line = next_line(line)) {
        show_line sl;
        if (!parse_show_line(line, &sl) || strstr(sl.what, " blocked") == NULL) continue;
        first_at_fault = strcmp(sl.time, t) == 0;
        break;
    }
    cr_assert(eq(int, first_at_fault, true), "the first blocked link is not at %s:\n%s", t,
              s.text);
    out_free(&s);

    run = sql_u64(db, "SELECT run_id FROM faults WHERE point = 'net/clog' AND action = 'clog' "
                      "ORDER BY run_id LIMIT 1");
    uint64_t clogs = sql_u64(db, "SELECT count(*) FROM faults WHERE run_id = %llu AND action = "
                                 "'clog'", (unsigned long long)run);
    uint64_t unclogs = sql_u64(db, "SELECT count(*) FROM faults WHERE run_id = %llu AND action = "
                                   "'unclog'", (unsigned long long)run);
    s = SIM("show --db %s %llu --kind net-link", db, (unsigned long long)run);
    expect(&s, 0, NULL);
    cr_assert(eq(sz, count_matching(s.text, "^ +[0-9]+ +[0-9]+\\.[0-9]{6}s +- +[0-9]+ +net-link "
                                            "+n[1-5] clogged$"),
                 (size_t)clogs), "%s", s.text);
    cr_assert(eq(sz, count_matching(s.text, "^ +[0-9]+ +[0-9]+\\.[0-9]{6}s +- +[0-9]+ +net-link "
                                            "+n[1-5] unclogged$"),
                 (size_t)unclogs), "%s", s.text);
    out_free(&s);
}

/* ---- scripted partitions and clogs ---------------------------------------------------------- */

static const char scripted_ini[] = "[scenario]\n"
                                   "name = gossip-scripted\n"
                                   "system = gossip\n"
                                   "seeds = 1..3\n"
                                   "\n"
                                   "[gossip]\n"
                                   "rumors = 6\n"
                                   "spread = 4s\n"
                                   "\n"
                                   "[faults]\n"
                                   "at = 500ms partition n1 | n2 n3 n4 n5\n"
                                   "at = 2s heal\n"
                                   "at = 2500ms clog n3\n"
                                   "at = 3s unclog n3\n";

/* Goal: scripted partitions and clogs happen at exactly their times and do what they say:
 * at 0.5 s the eight links between n1 and the others are blocked (net-link "nA -> nB
 * blocked"), at 2 s every link heals, at 2.5 s n3 is clogged and at 3 s unclogged; every
 * datagram that arrives across the partition in [0.5 s, 2 s) is dropped with reason
 * partition, and no other is; nothing reaches or leaves n3 while it is clogged, and what it
 * held is delivered the moment the clog ends; each run still passes. Method: a gossip
 * scenario with those four `at` lines (spread 4s, so the runs last past 3 s), seeds 1..3
 * with --record full; show run 1's net-link and net-drop events; query every run's events. */
Test(net_cli, scripted_partition_and_clog)
{
    write_file("scripted.ini", scripted_ini);
    sim_expect(0, WORDS("\n3 passed, 0 failed\n"),
               "run scripted.ini --db s.db --record full");
    const char *db = "s.db";
    cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM runs WHERE result = 'pass' AND "
                                  "fault_count = 4 AND vtime_ns > 3000000000"), 3));

    out s = SIM("show --db %s 1 --kind net-link", db);
    expect(&s, 0, NULL);
    const char *blocked[] = {"n1 -> n2 blocked", "n1 -> n3 blocked", "n1 -> n4 blocked",
                             "n1 -> n5 blocked", "n2 -> n1 blocked", "n3 -> n1 blocked",
                             "n4 -> n1 blocked", "n5 -> n1 blocked"};
    bool seen[8] = {false};
    const char *after[][2] = {{"2.000000s", "healed: every link"},
                              {"2.500000s", "n3 clogged"},
                              {"3.000000s", "n3 unclogged"}};
    size_t nlines = 0;
    for (const char *line = s.text; line != NULL; line = next_line(line)) {
        show_line sl;
        if (!parse_show_line(line, &sl)) continue;
        cr_assert(eq(str, sl.event, "net-link"), "'%s'", line);
        cr_assert(eq(str, sl.node, "-"), "'%s'", sl.what);
        if (nlines < 8) {
            cr_assert(eq(str, sl.time, "0.500000s"), "'%s' at %s", sl.what, sl.time);
            size_t i = 0;
            while (i < 8 && strcmp(blocked[i], sl.what) != 0) i++;
            cr_assert(lt(sz, i, 8), "unexpected '%s' at %s", sl.what, sl.time);
            cr_assert(eq(int, seen[i], false), "'%s' twice", sl.what);
            seen[i] = true;
        } else {
            cr_assert(lt(sz, nlines, 11), "extra net-link event '%s' at %s", sl.what, sl.time);
            cr_assert(eq(str, sl.time, (char *)after[nlines - 8][0]), "'%s'", sl.what);
            cr_assert(eq(str, sl.what, (char *)after[nlines - 8][1]), "at %s", sl.time);
        }
        nlines++;
    }
    cr_assert(eq(sz, nlines, 11), "%s", s.text);
    out_free(&s);

    s = SIM("show --db %s 1 --kind net-drop", db);
    expect(&s, 0, NULL);
    size_t drops = count_matching(s.text, "^ +[0-9]+ +(0\\.[5-9][0-9]{5}|1\\.[0-9]{6})s +n[1-5] "
                                          "+- +net-drop +datagram (n1:[0-9]+ -> n[2-5]|n[2-5]:"
                                          "[0-9]+ -> n1):7000, 40 bytes #[0-9a-f]{8} "
                                          "\\(partition\\)$");
    cr_assert(lt(sz, 10, drops), "%s", s.text);
    cr_assert(eq(sz, count_matching(s.text, " net-drop "), drops), "%s", s.text);
    out_free(&s);

#define CROSS "((" SRC_NODE " = 1) <> (" DST_NODE " = 1))"
#define PARTED "vtime_ns >= 500000000 AND vtime_ns < 2000000000"
#define INVOLVES_N3 "(" SRC_NODE " = 3 OR " DST_NODE " = 3)"
    cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM events WHERE kind = " KIND("net-deliver")
                                  " AND " CROSS " AND " PARTED), 0),
              "a datagram crossed the partition");
    uint64_t crossed = sql_u64(db, "SELECT count(*) FROM events WHERE kind = " KIND("net-deliver")
                                   " AND " CROSS " AND NOT (" PARTED ")");
    cr_assert(lt(u64, 30, crossed),
              "no datagram crossed between n1 and the others outside the partition");
    cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM events WHERE kind = " KIND("net-drop")
                                  " AND NOT (" REASON " = 2 AND " CROSS " AND " PARTED ")"), 0),
              "a drop other than a partition's, or outside it");
    for (unsigned run = 1; run <= 3; run++) {
        uint64_t parted = sql_u64(db, "SELECT count(*) FROM events WHERE run_id = %u AND kind = "
                                 KIND("net-drop") " AND " REASON " = 2", run);
        cr_assert(lt(u64, 10, parted), "run %u: too few partition drops", run);
        cr_assert(eq(u64, sql_u64(db, "SELECT count(*) FROM events WHERE run_id = %u AND kind = "
                                      KIND("net-deliver") " AND " INVOLVES_N3 " AND vtime_ns > "
                                      "2500000000 AND vtime_ns < 3000000000", run), 0),
                  "run %u: a datagram reached or left n3 while it was clogged", run);
        cr_assert(lt(u64, 0, sql_u64(db, "SELECT count(*) FROM events WHERE run_id = %u AND kind = "
                                      KIND("net-send") " AND " SRC_NODE " = 3 AND vtime_ns > "
                                      "2500000000 AND vtime_ns < 3000000000", run)),
                  "run %u: n3 sent nothing while clogged", run);
        cr_assert(lt(u64, 0, sql_u64(db, "SELECT count(*) FROM events WHERE run_id = %u AND kind = "
                                      KIND("net-deliver") " AND " INVOLVES_N3 " AND vtime_ns = "
                                      "3000000000", run)),
                  "run %u: nothing n3 held was delivered when its clog ended", run);
    }
#undef CROSS
#undef PARTED
#undef INVOLVES_N3
}

/* ---- [network] settings --------------------------------------------------------------------- */

/* For run `run` of db, pairs each net-send with the net-deliver of the same message (same
 * addresses and message word, k-th send with k-th delivery) and returns one line per
 * directed link: "SRC|DST|LATENCIES" (the distinct delays in ns). Owned: release(). */
static char *link_latencies(const char *db, unsigned run)
{
    out o = sql(db, "WITH s AS (SELECT vtime_ns t, a, b, row_number() OVER (PARTITION BY a, b "
                    "ORDER BY seq) k FROM events WHERE run_id = %u AND kind = " KIND("net-send")
                    "), d AS (SELECT vtime_ns t, a, b, row_number() OVER (PARTITION BY a, b "
                    "ORDER BY seq) k FROM events WHERE run_id = %u AND kind = "
                    KIND("net-deliver") ") SELECT (s.a >> 48) & 65535, (s.a >> 16) & 65535, "
                    "group_concat(DISTINCT d.t - s.t) FROM s JOIN d USING (a, b, k) "
                    "GROUP BY 1, 2 ORDER BY 1, 2",
                run, run);
    char *text = o.text;
    release(o.err);
    return text;
}

/* The lines link_latencies should give for five nodes: `lat` on every link but `slow_from`
 * -> `slow_to` (0: none), which has `slow`. */
static void want_latencies(char *buf, size_t size, const char *lat, unsigned slow_from,
                           unsigned slow_to, const char *slow)
{
    size_t o = 0;
    buf[0] = '\0';
    for (unsigned a = 1; a <= 5; a++) {
        for (unsigned b = 1; b <= 5; b++) {
            if (a == b) continue;
            bool is_slow = a == slow_from && b == slow_to;
            o += (size_t)snprintf(buf + o, size - o, "%u|%u|%s\n", a, b, is_slow ? slow : lat);
            cr_assert(lt(sz, o, size));
        }
    }
}

/* Every delivery of run `run` in db was paired with its send. */
static void all_deliveries_paired(const char *db, unsigned run)
{
    uint64_t delivered = sql_u64(db, "SELECT count(*) FROM events WHERE run_id = %u AND kind = "
                                     KIND("net-deliver"), run);
    uint64_t paired = sql_u64(db, "WITH s AS (SELECT a, b, row_number() OVER (PARTITION BY a, b "
                                  "ORDER BY seq) k FROM events WHERE run_id = %u AND kind = "
                                  KIND("net-send") "), d AS (SELECT a, b, row_number() OVER "
                                  "(PARTITION BY a, b ORDER BY seq) k FROM events WHERE "
                                  "run_id = %u AND kind = " KIND("net-deliver") ") SELECT "
                                  "count(*) FROM s JOIN d USING (a, b, k)", run, run);
    cr_assert(lt(u64, 100, delivered), "run %u", run);
    cr_assert(eq(u64, paired, delivered), "run %u: deliveries without a send", run);
}

/* Goal: [network] latency and link lines set the delay of every datagram: with latency =
 * 10ms every net-deliver comes exactly 10 ms after its net-send, on all 20 directed links;
 * adding `link = n1 -> n2 latency=50ms` makes n1 -> n2 deliveries 50 ms (n2 -> n1 and every
 * other link stay 10 ms); the recorded configuration says so. Method: two gossip scenarios
 * (seeds 1..2, --record full); pair sends and deliveries in the events table by addresses
 * and message word, in order, and list the distinct delays per link. */
Test(net_cli, latency_and_link_settings)
{
    const char *head = "[scenario]\nname = lat\nsystem = gossip\nseeds = 1..2\n\n[network]\n";
    char text[512];
    snprintf(text, sizeof text, "%slatency = 10ms\n", head);
    write_file("fixed.ini", text);
    snprintf(text, sizeof text, "%slatency = 10ms\nlink = n1 -> n2 latency=50ms\n", head);
    write_file("link.ini", text);
    sim_expect(0, WORDS("2 passed, 0 failed"), "run fixed.ini --db f.db --record full");
    sim_expect(0, WORDS("2 passed, 0 failed"), "run link.ini --db l.db --record full");

    char want[1024];
    for (unsigned run = 1; run <= 2; run++) {
        want_latencies(want, sizeof want, "10000000", 0, 0, NULL);
        char *got = link_latencies("f.db", run);
        cr_assert(eq(str, got, want), "latency = 10ms, run %u: SRC|DST|delays", run);
        release(got);
        all_deliveries_paired("f.db", run);

        want_latencies(want, sizeof want, "10000000", 1, 2, "50000000");
        got = link_latencies("l.db", run);
        cr_assert(eq(str, got, want), "link = n1 -> n2 latency=50ms, run %u: SRC|DST|delays",
                  run);
        release(got);
        all_deliveries_paired("l.db", run);
    }
    out c = sql("l.db", "SELECT config FROM runs WHERE run_id = 1");
    cr_assert(ne(ptr, strstr(c.text, "\n[network]\n"), NULL), "%s", c.text);
    cr_assert(ne(ptr, strstr(c.text, "\nlatency = 10ms\n"), NULL), "%s", c.text);
    cr_assert(ne(ptr, strstr(c.text, "\nlink = n1 -> n2 latency=50ms\n"), NULL), "%s", c.text);
    out_free(&c);
}

/* Goal: a link line that does not give a latency takes the section's `latency`, whatever the
 * order of the lines (an INI section's keys have no order; the canonical configuration sorts
 * them) and whether `latency` comes from the file or from --set: with latency = 10ms and
 * `link = n3 -> n4 loss=0`, n3 -> n4 deliveries take 10 ms like every other link's, with the
 * link line before or after the latency line, and with --set network.latency=20ms every
 * link, n3 -> n4 included, takes 20 ms. Method: two files that differ only in the order of
 * the two lines, seed 1 each with --record full, and the second again with --set; pair
 * sends and deliveries as above. */
Test(net_cli, link_line_takes_section_latency_in_any_order)
{
    const char *head = "[scenario]\nname = order\nsystem = gossip\nseeds = 1\n\n[network]\n";
    char text[512], want[1024];
    snprintf(text, sizeof text, "%slink = n3 -> n4 loss=0\nlatency = 10ms\n", head);
    write_file("before.ini", text);
    snprintf(text, sizeof text, "%slatency = 10ms\nlink = n3 -> n4 loss=0\n", head);
    write_file("after.ini", text);
    sim_expect(0, WORDS("1 passed, 0 failed"), "run after.ini --db a.db --record full");
    sim_expect(0, WORDS("1 passed, 0 failed"), "run before.ini --db b.db --record full");
    sim_expect(0, WORDS("1 passed, 0 failed"),
               "run after.ini --db s.db --record full --set network.latency=20ms");
    want_latencies(want, sizeof want, "10000000", 0, 0, NULL);
    char *got = link_latencies("a.db", 1);
    cr_assert(eq(str, got, want), "link line after latency = 10ms: SRC|DST|delays");
    release(got);
    got = link_latencies("b.db", 1);
    cr_assert(eq(str, got, want), "link line before latency = 10ms: SRC|DST|delays");
    release(got);
    want_latencies(want, sizeof want, "20000000", 0, 0, NULL);
    got = link_latencies("s.db", 1);
    cr_assert(eq(str, got, want), "--set network.latency=20ms: SRC|DST|delays");
    release(got);
}

/* ---- bad [network] input -------------------------------------------------------------------- */

/* Goal: a bad [network] section is refused with exit 2 and "sim: FILE:LINE: [network] ..."
 * on stderr, naming the key, what was given and what is valid, before any run: nothing on
 * stdout, no database created, an existing one left byte for byte as it was, and
 * check-determinism refuses the file too; a bad --set network.KEY is refused the same way.
 * Method: twelve bad files, each with the bad line on line 8 (an unknown key, a latency
 * range whose min exceeds its max, a link that sets nothing, a link from a node to itself,
 * a bandwidth that is not a number, segment ranges outside 1..65535, a link to an unknown node,
 * a link with an unknown key, a zero send buffer, a zero connect timeout, a key given
 * twice), run with --db new.db and --db old.db; then
 * --set network.latency=5ms..1ms and --set network.nosuch=1. */
Test(net_cli, bad_network_section)
{
    copy_scenario("gossip.ini");
    sim_expect(0, NULL, "run gossip.ini --seed 1 --db old.db");
    size_t old_len;
    char *old = read_bytes("old.db", &old_len);
    struct {
        const char *line;
        const char *words[6];
    } cases[] = {
        {"latncy = 5ms",
         {"unknown key 'latncy'; valid keys: bandwidth, connect_timeout, latency, latency_tail, "
          "link, recv_queue, reset_delay, rto, segment, send_buffer, stream_timeout",
          NULL}},
        {"latency = 5ms..1ms", {"latency: expected ", "lo..hi, low to high", "got '5ms..1ms'",
                                NULL}},
        {"link = n1 n2", {"link: set at least one of latency", NULL}},
        {"link = n1 -> n1 latency=5ms", {"link: a node has no link to itself (n1)", NULL}},
        {"bandwidth = fast", {"bandwidth: expected bytes per second", "1M", "got 'fast'", NULL}},
        {"segment = 0..10", {"segment: expected ", "1..65535", "got '0..10'", NULL}},
        {"segment = 1..70000", {"segment: expected ", "1..65535", "got '1..70000'", NULL}},
        {"link = n1 n9 latency=5ms",
         {"link: unknown node 'n9'; the nodes are: n1, n2, n3, n4, n5", NULL}},
        {"link = n1 n2 speed=5",
         {"link: unknown key 'speed'; valid keys: latency, latency_tail, bandwidth, loss, dup",
          NULL}},
        {"send_buffer = 0", {"send_buffer: expected ", "got '0'", NULL}},
        {"connect_timeout = 0s", {"connect_timeout: expected a duration above 0", "got '0s'",
                                  NULL}},
        {"rto = 300ms", {"rto is set twice (first at line 7)", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "[scenario]\nname = bad\nsystem = gossip\nseeds = 1..2\n\n"
                                    "[network]\nrto = 200ms\n%s\n", cases[i].line);
        write_file("bad.ini", text);
        const char *dbs[] = {"new.db", "old.db"};
        for (size_t d = 0; d < 2; d++) {
            out r = sim_split("run bad.ini --db %s", dbs[d]);
            cr_assert(eq(int, r.status, 2), "'%s':\nstdout:\n%s\nstderr:\n%s", cases[i].line,
                      r.text, r.err);
            cr_assert(eq(str, r.text, ""), "'%s'", cases[i].line);
            const char *head = "sim: bad.ini:8: [network] ";
            cr_assert(eq(int, strncmp(r.err, head, strlen(head)), 0), "'%s': want '%s...':\n%s",
                      cases[i].line, head, r.err);
            for (size_t w = 0; cases[i].words[w] != NULL; w++) {
                cr_assert(ne(ptr, strstr(r.err, cases[i].words[w]), NULL), "'%s': no '%s' in:\n%s",
                          cases[i].line, cases[i].words[w], r.err);
            }
            out_free(&r);
        }
        sim_expect(2, WORDS("bad.ini:8: [network] "), "check-determinism bad.ini");
        cr_assert(eq(int, exists("new.db"), false), "'%s' created a database", cases[i].line);
        file_unchanged("old.db", old, old_len, cases[i].line);
    }
    release(old);

    struct {
        const char *set;
        const char *words[3];
    } sets[] = {
        {"network.latency=5ms..1ms", {"[network] latency: ", "got '5ms..1ms'", NULL}},
        {"network.nosuch=1", {"[network] unknown key 'nosuch'; valid keys: ", "latency", NULL}},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        set_refused("gossip.ini", sets[i].set, sets[i].words);
    }
}

/* ---- replay --dump -------------------------------------------------------------------------- */

/* Goal: `sim replay --until STEP --dump` on a gossip run stopped mid-way prints the network:
 * a "network:" line whose counts agree with the recorded events up to that point (sent,
 * delivered, dropped, and as many messages in flight as sent minus delivered minus dropped),
 * one "datagram socket #N nX:PORT (Q queued)" line per socket (each node's :7000 among
 * them), and among the armed timers one "net: datagram nA:P -> nB:7000, 40 bytes" line per
 * message in flight, at the time the recorded run delivered it. Method: gossip seed 1 with
 * --record full; stop at the step of the last net-send before 0.5 s; parse the dump; compare
 * with the events table and `sim show --kind net-deliver --from STEP`. */
Test(net_cli, replay_dump_shows_network)
{
    copy_scenario("gossip.ini");
    sim_expect(0, NULL, "run gossip.ini --seed 1 --db r.db --record full");
    uint64_t step = sql_u64("r.db", "SELECT max(step) FROM events WHERE run_id = 1 AND kind = "
                                    KIND("net-send") " AND vtime_ns < 500000000");
    cr_assert(lt(u64, step, sql_u64("r.db", "SELECT step_count FROM runs WHERE run_id = 1")));
    unsigned long long st = (unsigned long long)step;
    out d = SIM("replay --db r.db 1 --until %llu --dump", st);
    char want[128];
    snprintf(want, sizeof want, "\nidentical up to step %llu (", st);
    expect(&d, 0, WORDS(want, "\n  network: ", "\n  timers armed: "));

    const char *world = line_starting(d.text, "world at ");
    cr_assert(ne(ptr, (void *)world, NULL), "%s", d.text);
    unsigned long long wstep = 0, events = 0;
    cr_assert(eq(int, sscanf(world, "world at %*[^,], step %llu, %llu events", &wstep, &events),
                 2), "%s", d.text);
    cr_assert(eq(u64, wstep, st));
    const char *net = line_starting(d.text, "  network: ");
    cr_assert(ne(ptr, (void *)net, NULL), "%s", d.text);
    unsigned socks = 0, flying = 0, nblocked = 9, nclogged = 9;
    unsigned long long sent = 0, delivered = 0, dropped = 0;
    cr_assert(eq(int, sscanf(net, "  network: %u socket(s), %u message(s) in flight or held, "
                                  "%u link(s) blocked, %u node(s) clogged; %llu sent, %llu "
                                  "delivered, %llu dropped",
                             &socks, &flying, &nblocked, &nclogged, &sent, &delivered, &dropped),
                 7), "'%.*s'", (int)strcspn(net, "\n"), net);
    cr_assert(eq(u32, nblocked, 0));
    cr_assert(eq(u32, nclogged, 0));
    const char *before = "SELECT count(*) FROM events WHERE run_id = 1 AND seq < %llu AND kind = ";
    char q[256];
    snprintf(q, sizeof q, "%s%s", before, KIND("net-send"));
    cr_assert(eq(u64, sql_u64("r.db", q, events), sent));
    snprintf(q, sizeof q, "%s%s", before, KIND("net-deliver"));
    cr_assert(eq(u64, sql_u64("r.db", q, events), delivered));
    snprintf(q, sizeof q, "%s%s", before, KIND("net-drop"));
    cr_assert(eq(u64, sql_u64("r.db", q, events), dropped));
    cr_assert(lt(u32, 0, flying), "no message in flight at step %llu", st);
    cr_assert(eq(u64, (uint64_t)flying, sent - delivered - dropped));

    /* Sockets. */
    size_t nsock = 0;
    for (const char *line = next_line(net); line != NULL && strncmp(line, "    ", 4) == 0;
         line = next_line(line)) {
        char buf[256];
        copy_line(line, buf, sizeof buf);
        cr_assert(eq(int, matches(buf, "^    datagram socket #[0-9]+ n[1-5]:[0-9]+ \\(0 queued\\)$",
                                  NULL, 0), true), "'%s'", buf);
        nsock++;
    }
    cr_assert(eq(sz, nsock, (size_t)socks), "%s", d.text);
    for (unsigned n = 1; n <= 5; n++) {
        snprintf(want, sizeof want, " n%u:7000 (", n);
        cr_assert(ne(ptr, strstr(net, want), NULL), "no socket n%u:7000:\n%s", n, d.text);
    }

    /* Messages in flight among the timers, each at the time the run delivered it. */
    out show = SIM("show --db r.db 1 --kind net-deliver --from %llu", st);
    expect(&show, 0, NULL);
    const char *timers = line_starting(d.text, "  timers armed: ");
    size_t inflight = 0;
    const char *pattern = "^ +([0-9]+\\.[0-9]{6}s) +seq [0-9]+ +net: (datagram n[1-5]:[0-9]+ -> "
                          "n[1-5]:7000, 40 bytes)$";
    for (const char *line = next_line(timers); line != NULL && strncmp(line, "     ", 5) == 0;
         line = next_line(line)) {
        char buf[256], t[32], what[128];
        regmatch_t m[3];
        copy_line(line, buf, sizeof buf);
        if (strstr(buf, " net: ") == NULL) continue;
        cr_assert(eq(int, matches(buf, pattern, m, 3), true), "'%s'", buf);
        submatch(buf, m, 1, t, sizeof t);
        submatch(buf, m, 2, what, sizeof what);
        bool found = false;
        for (const char *sl = show.text; sl != NULL && !found; sl = next_line(sl)) {
            show_line e;
            found = parse_show_line(sl, &e) && strcmp(e.time, t) == 0 &&
                    strncmp(e.what, what, strlen(what)) == 0;
        }
        cr_assert(eq(int, found, true), "'%s' was not delivered at %s:\n%s", what, t, show.text);
        inflight++;
    }
    cr_assert(eq(sz, inflight, (size_t)flying), "%s", d.text);
    out_free(&show);
    out_free(&d);
}

/* ---- the docs ------------------------------------------------------------------------------- */

/* Goal: the docs name every key of the network and of the gossip toy: docs/network.md has a
 * table row for every [network] key of a recorded run's canonical configuration (link
 * included), and so does the [network] section of docs/scenarios.md; the [gossip] section of
 * docs/scenarios.md has a row for every [gossip] key. Method: run a gossip scenario with a
 * link line (--record off), read runs.config, look for "| `key` |" rows. */
Test(net_cli, docs_name_every_network_and_gossip_key)
{
    write_file("g.ini", "[scenario]\nname = g\nsystem = gossip\nseeds = 1\n\n[network]\n"
                        "link = n1 n2 latency=2ms\n");
    sim_expect(0, NULL, "run g.ini --db t.db --record off");
    out cfg = sql("t.db", "SELECT config FROM runs WHERE run_id = 1");
    cr_assert(ne(ptr, strstr(cfg.text, "\nlink = n1 n2 latency=2ms\n"), NULL), "%s", cfg.text);
    char *network_md = read_doc("docs/network.md");
    char *scenarios_md = read_doc("docs/scenarios.md");
    char *net_section = doc_section(scenarios_md, "## [network]");
    char *gossip_section = doc_section(scenarios_md, "## [gossip]");
    size_t n = every_key_has_a_row(cfg.text, "[network]", network_md, "docs/network.md");
    cr_assert(ge(sz, n, 11), "only %zu [network] keys in:\n%s", n, cfg.text);
    every_key_has_a_row(cfg.text, "[network]", net_section, "docs/scenarios.md [network]");
    n = every_key_has_a_row(cfg.text, "[gossip]", gossip_section, "docs/scenarios.md [gossip]");
    cr_assert(ge(sz, n, 6), "only %zu [gossip] keys in:\n%s", n, cfg.text);
    out_free(&cfg);
    release(gossip_section);
    release(net_section);
    release(scenarios_md);
    release(network_md);
}

/* Goal: docs/scenarios.md's [scenario] table names every system the sim command knows as a
 * choice of `system` (the gossip toy included). Method: the systems from the error for an
 * unknown system ("valid systems: a, b"); the row "| `system` |" of docs/scenarios.md. */
Test(net_cli, docs_name_every_system)
{
    write_file("s.ini", "[scenario]\nname = s\nsystem = nosuch\n");
    out r = SIM("run s.ini");
    expect(&r, 2, WORDS("valid systems: "));
    char list[256];
    copy_line(strstr(r.text, "valid systems: ") + strlen("valid systems: "), list, sizeof list);
    out_free(&r);
    char *doc = read_doc("docs/scenarios.md");
    const char *row = line_starting(doc, "| `system` |");
    cr_assert(ne(ptr, (void *)row, NULL), "docs/scenarios.md has no `system` row");
    char line[512];
    copy_line(row, line, sizeof line);
    size_t systems = 0;
    char *save = NULL;
    for (char *name = strtok_r(list, ", ", &save); name != NULL;
         name = strtok_r(NULL, ", ", &save)) {
        char want[64];
        snprintf(want, sizeof want, "`%s`", name);
        cr_assert(ne(ptr, strstr(line, want), NULL), "the system row of docs/scenarios.md does "
                  "not name %s: '%s'", want, line);
        systems++;
    }
    cr_assert(ge(sz, systems, 2), "valid systems: %s", list);
    release(doc);
}
