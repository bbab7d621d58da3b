/*
 * test_limits_cli.c: input at the edge of what is valid, given to the sim command as a user
 * would (issue #15): seed ranges that reach 2^64 - 1, durations near 2^64 ns, timeouts that
 * would wrap a deadline, text values with control characters or a leading ';', and a file
 * size limit (ulimit -f) reached while recording.
 *
 * Method: the sim binary in a fresh temporary directory per test, with small scenario files
 * written there. Each case checks the exit status and the words of the message a user needs
 * (which flag, file or key, and what is allowed); a value that is accepted must give the run
 * it asks for, never a crash, a hang or a silently different limit.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(limits_cli, .init = enter_dir, .fini = leave_dir);

#define U64_MAX_TEXT "18446744073709551615"

static const char demo_ini[] = "[scenario]\nname = d\nsystem = demo\nseeds = 1..2\n";

/* Goal: a seed range of 2^64 seeds, from any source, is refused with a message naming that
 * source, and never overflows the seed count (it wrapped to 0 and overran the unit array).
 * Method: the range 0..2^64-1 through --seeds, a scenario file (with --shard too) and
 * --set scenario.seeds; each exits 2 saying "more than N seeds" and where the range came
 * from. The last seeds of the range still run: 2^64-3..2^64-1 is three seeds. */
Test(limits_cli, seed_range_of_two_to_the_64)
{
    write_file("d.ini", demo_ini);
    sim_expect(2, WORDS("--seeds 0.." U64_MAX_TEXT, "more than 100000000 seeds"),
               "run d.ini --jobs 1 --seeds 0.." U64_MAX_TEXT);
    sim_expect(2, WORDS("--seeds 1.." U64_MAX_TEXT, "more than 100000000 seeds"),
               "run d.ini --jobs 1 --seeds 1.." U64_MAX_TEXT);
    write_file("big.ini", "[scenario]\nname = big\nsystem = demo\n\nseeds = 0.." U64_MAX_TEXT
                          "\n");
    sim_expect(2, WORDS("big.ini:5", "[scenario] seeds", "more than 100000000 seeds"),
               "run big.ini --jobs 1");
    sim_expect(2, WORDS("big.ini:5", "more than", "per shard"), "run big.ini --jobs 1 --shard 1/3");
    sim_expect(2, WORDS("--set scenario.seeds=0.." U64_MAX_TEXT, "more than 100000000 seeds"),
               "run d.ini --jobs 1 --set scenario.seeds=0.." U64_MAX_TEXT);
    /* Two scenarios whose seeds add up to more than the limit: the suite's message. */
    write_file("half.ini", "[scenario]\nname = half\nsystem = demo\nseeds = 1..60000000\n");
    write_file("half2.ini", "[scenario]\nname = half2\nsystem = demo\nseeds = 1..60000000\n");
    sim_expect(2, WORDS("the suite has more than 100000000 seeds"),
               "run half.ini half2.ini --jobs 1");
    sim_expect(0, WORDS("3 passed, 0 failed"),
               "run d.ini --jobs 1 --quiet --seeds 18446744073709551613.." U64_MAX_TEXT);
}

/* Goal: check-determinism ends after the last seed of a range that ends at 2^64 - 1 (the
 * loop's seed <= last never became false, so it went on from seed 0 forever). Method: the
 * last seed alone and the last two, each under `timeout` so that a hang fails the test:
 * exit 0 and the number of seeds checked. */
Test(limits_cli, check_determinism_last_seed)
{
    write_file("d.ini", demo_ini);
    out o = sh("timeout 30 %s check-determinism d.ini --seed " U64_MAX_TEXT, sim_bin());
    expect(&o, 0, WORDS("1 seed(s) checked, 0 not deterministic"));
    out_free(&o);
    o = sh("timeout 30 %s check-determinism d.ini --seeds 18446744073709551614.." U64_MAX_TEXT,
           sim_bin());
    expect(&o, 0, WORDS("2 seed(s) checked, 0 not deterministic"));
    out_free(&o);
}

/* Goal: a --timeout so long that now + timeout passes 2^64 ns means "never give up", not
 * "give up at once" (the deadline wrapped below the present). Method: tests/data's kv key 7
 * history (1001 operations, linearizable, a fraction of a second to check) with --timeout
 * 2^64-1 ns and 2^64-1 seconds: both say linearizable and exit 0, as with no timeout. */
Test(limits_cli, check_timeout_saturates)
{
    const char *src = getenv("SIM_SRC");
    cr_assert(ne(ptr, (void *)src, NULL));
    sim_expect(0, WORDS("linearizable: 1001 operations"),
               "check --model kv %s/tests/data/check/kv-key7.edn", src);
    sim_expect(0, WORDS("linearizable: 1001 operations"),
               "check --model kv %s/tests/data/check/kv-key7.edn --timeout " U64_MAX_TEXT "ns",
               src);
    sim_expect(0, WORDS("linearizable: 1001 operations"),
               "check --model kv %s/tests/data/check/kv-key7.edn --timeout " U64_MAX_TEXT, src);
}

static const char kv_ini[] = "[scenario]\nname = k\nsystem = kv\nseeds = 1\ntime_limit = 60s\n"
                             "\n[workload]\nclients = 2\nops = 20\n";

/* The --set arguments that each give one duration key a value near 2^64 ns. */
static const char *const too_long[] = {
    "scenario.time_limit=" U64_MAX_TEXT "ns",
    "network.latency=" U64_MAX_TEXT "ns",
    "network.latency=1ms.." U64_MAX_TEXT "ns",
    "network.latency_tail=" U64_MAX_TEXT "ns",
    "network.connect_timeout=" U64_MAX_TEXT "ns",
    "network.stream_timeout=" U64_MAX_TEXT "ns",
    "network.rto=" U64_MAX_TEXT "ns",
    "network.reset_delay=" U64_MAX_TEXT "ns",
    "'network.link=* * latency=" U64_MAX_TEXT "ns'",
    "'network.link=* * latency_tail=" U64_MAX_TEXT "ns'",
    "disk.write_latency=" U64_MAX_TEXT "ns",
    "disk.sync_latency=1ms.." U64_MAX_TEXT "ns",
    "faults.restart_after=" U64_MAX_TEXT "ns",
    "faults.partition_for=1s.." U64_MAX_TEXT "ns",
    "faults.quiet_after=" U64_MAX_TEXT "ns",
    "faults.converge_within=" U64_MAX_TEXT "ns",
    "'faults.at=" U64_MAX_TEXT "ns heal'",
    "workload.timeout=" U64_MAX_TEXT "ns",
    "workload.timeout=87601h",
    "network.connect_timeout=5256001m",
    "network.rto=99999999999999999999999h",
};

/* Goal: a duration longer than the documented maximum (87600h, ten years of virtual time) is
 * refused where it is read, naming the key, not left to overflow virtual time later (a
 * latency or connect timeout near 2^64 ns aborted in timer.c; a write latency wrapped
 * silently; quiet_after + converge_within wrapped and passed the time limit check). Method:
 * each key of the table through --set, one in a scenario file, a system's key, and sim demo's
 * --time-limit: exit 2, the key and the maximum in the message. */
Test(limits_cli, duration_beyond_maximum_refused)
{
    write_file("k.ini", kv_ini);
    for (size_t i = 0; i < sizeof too_long / sizeof too_long[0]; i++) {
        const char *arg = too_long[i] + (too_long[i][0] == '\'');
        char key[64];
        size_t n = strcspn(arg, "=");
        snprintf(key, sizeof key, "] %.*s", (int)(n - strcspn(arg, ".") - 1),
                 arg + strcspn(arg, ".") + 1);
        sim_expect(2, WORDS(key, "87600h"), "run k.ini --jobs 1 --set %s", too_long[i]);
    }
    write_file("k2.ini", "[scenario]\nname = k2\nsystem = kv\n\n[network]\nrto = 100ms\n"
                         "latency = " U64_MAX_TEXT "ns\n");
    sim_expect(2, WORDS("k2.ini:7", "[network] latency", "87600h"), "run k2.ini --jobs 1");
    write_file("k3.ini", "[scenario]\nname = k3\nsystem = demo\n\n[demo]\ncrash_at = "
                         U64_MAX_TEXT "ns\n");
    sim_expect(2, WORDS("k3.ini:6", "[demo] crash_at", "87600h"), "run k3.ini --jobs 1");
    sim_expect(2, WORDS("--time-limit", "longer than 87600h"),
               "demo --time-limit " U64_MAX_TEXT "ns");
}

/* Goal: the maximum itself is accepted and gives an ordinary run, whatever the clock sums
 * it into: no assertion, no wrapped deadline. Method: a connect timeout, a stream timeout
 * and a reset delay of 87600h on the kv scenario pass (they never fire within its minute);
 * a latency, a write latency or a partition of 87600h makes it fail as liveness at its time
 * limit; quiet_after + converge_within of 87600h each are refused against a time limit of
 * 87600h, the message giving both as they were written. */
Test(limits_cli, duration_at_maximum_runs)
{
    write_file("k.ini", kv_ini);
    sim_expect(0, WORDS("1 passed, 0 failed"),
               "run k.ini --jobs 1 --quiet --set network.connect_timeout=87600h --set "
               "network.stream_timeout=87600h --set network.reset_delay=87600h "
               "--set network.rto=87600h");
    sim_expect(1, WORDS("liveness", "0 passed, 1 failed"),
               "run k.ini --jobs 1 --quiet --set network.latency=87600h");
    sim_expect(1, WORDS("liveness", "0 passed, 1 failed"),
               "run k.ini --jobs 1 --quiet --set 'network.link=* * latency=1ms..87600h "
               "latency_tail=87600h'");
    sim_expect(1, WORDS("0 passed, 1 failed"),
               "run k.ini --jobs 1 --quiet --set disk.write_latency=87600h");
    sim_expect(0, WORDS("1 passed, 0 failed"),
               "run k.ini --jobs 1 --quiet --set faults.crash=1/2s --set "
               "faults.restart_after=87600h --set faults.max_down=1 --set faults.tick=10ms");
    sim_expect(2, WORDS("quiet_after (87600h) + converge_within (87600h) end after [scenario] "
                        "time_limit (87600h)"),
               "run k.ini --jobs 1 --set scenario.time_limit=87600h --set "
               "faults.converge_within=87600h --set faults.quiet_after=87600h");
    sim_expect(2, WORDS("quiet_after (1s) + converge_within (87600h) end after [scenario] "
                        "time_limit (1m)"),
               "run k.ini --jobs 1 --set faults.converge_within=87600h --set "
               "faults.quiet_after=1s");
}

/* Goal: --set refuses a newline or another control character in a value, naming the key and
 * the character (it was accepted, and the recorded run then could not be replayed: the
 * newline split the canonical text's line). Method: a description with a newline and a name
 * with a carriage return, through sim run and sim replay --scenario: exit 2 and the
 * message; nothing runs. */
Test(limits_cli, set_refuses_control_characters)
{
    write_file("d.ini", demo_ini);
    sim_expect(2, WORDS("--set scenario.description", "a newline", "control character"),
               "run d.ini --jobs 1 --db t.db --set \"scenario.description=$(printf 'a\\nb')\"");
    cr_assert(eq(int, exists("t.db"), 0), "a run was recorded");
    sim_expect(2, WORDS("--set scenario.name", "a carriage return"),
               "replay --scenario d.ini --seed 1 --set \"scenario.name=$(printf 'x\\ry')\"");
}

/* Goal: a text value that starts with ';' (or '#') is recorded so that the run replays with
 * it: the canonical text said "name = ;x", which inih reads as an empty value after a
 * comment. Method: sim run --set scenario.name=;x --set 'scenario.description=#d' with
 * --record full; the runs table's config holds "name =;x"; sim replay of the run says
 * identical and names the scenario ";x". */
Test(limits_cli, leading_semicolon_replays)
{
    write_file("d.ini", demo_ini);
    sim_expect(0, WORDS("1 passed, 0 failed"),
               "run d.ini --jobs 1 --quiet --seed 1 --db t.db --record full "
               "--set 'scenario.name=;x' --set 'scenario.description=#d'");
    out o = sql("t.db", "SELECT config FROM runs WHERE run_id = 1");
    expect(&o, 0, WORDS("\nname =;x\n", "\ndescription = #d\n"));
    out_free(&o);
    sim_expect(0, WORDS("run 1: ;x seed 1", "identical"), "replay --db t.db 1");
}

/* Goal: a file size limit (ulimit -f) reached while recording ends sim run with a message
 * that names the database and says what to do, and a non-zero exit; the database keeps the
 * runs committed before, intact (SIGXFSZ killed the process with no message). Method: the
 * demo over 40 seeds recorded in full under ulimit -f 200 (blocks of 512 bytes: 100 KiB, a
 * few runs); exit 2, the message; then sqlite3's integrity check says ok, the runs there
 * are whole (each has its events), and sim list reads the database. The same for a JUnit
 * report written under a limit too small for it. */
Test(limits_cli, file_size_limit_reported)
{
    write_file("d.ini", demo_ini);
    out o = sh("ulimit -f 200 && %s run d.ini --jobs 1 --quiet --seeds 1..40 --db u.db "
               "--record full", sim_bin());
    expect(&o, 2, WORDS("u.db", "file size limit", "ulimit -f"));
    out_free(&o);
    o = sql("u.db", "PRAGMA integrity_check");
    expect(&o, 0, WORDS("ok"));
    out_free(&o);
    uint64_t runs = sql_u64("u.db", "SELECT count(*) FROM runs");
    cr_assert(lt(u64, 0, runs));
    cr_assert(lt(u64, runs, 40));
    cr_assert(eq(u64, sql_u64("u.db", "SELECT count(*) FROM runs r WHERE event_count <> "
                                      "(SELECT count(*) FROM events e WHERE e.run_id = r.run_id)"),
                 0));
    sim_expect(0, WORDS("d"), "list --db u.db");
    o = sh("ulimit -f 1 && %s run d.ini --jobs 1 --quiet --seeds 1..40 --junit big.xml",
           sim_bin());
    expect(&o, 2, WORDS("big.xml", "file size limit"));
    out_free(&o);
    cr_assert(eq(int, exists("big.xml"), 0));
}

/* Goal: output redirected to a file that reaches the size limit is an error, not a short
 * file and exit 0. Method: a kv run recorded in full; `sim show --format json` into a file,
 * under a limit between the database's size (which must still be readable) and the output's
 * size: exit 2, "writing standard output" and the limit named. */
Test(limits_cli, file_size_limit_on_stdout)
{
    write_file("k.ini", kv_ini);
    sim_expect(0, WORDS("1 passed"), "run k.ini --jobs 1 --quiet --db k.db --record full");
    struct stat sb;
    cr_assert(eq(int, stat("k.db", &sb), 0));
    out o = sh("%s show --db k.db 1 --format json | wc -c", sim_bin());
    unsigned long long db = (unsigned long long)sb.st_size, size = strtoull(o.text, NULL, 10);
    out_free(&o);
    cr_assert(lt(u64, db + 65536, size), "the output (%llu bytes) is not much larger than the "
              "database (%llu)", size, db);
    o = sh("(ulimit -f %llu && %s show --db k.db 1 --format json > show.json)",
           (db + size) / 2 / 512, sim_bin());
    expect(&o, 2, WORDS("writing standard output", "file size limit"));
    out_free(&o);
}

/* Goal: run ids do not overflow into the next shard's range: a database whose last run has
 * the last id of its range (2^40 - 1 without --shard) refuses the next run with a message,
 * instead of numbering it (K + 1) << 40, which sim merge would take for another shard's.
 * Method: one run recorded, its id moved to 2^40 - 1 with the sqlite3 shell, then another
 * run into the same database: exit 2 and the message; the database still holds one run. */
Test(limits_cli, run_ids_used_up)
{
    write_file("d.ini", demo_ini);
    sim_expect(0, WORDS("1 passed"), "run d.ini --jobs 1 --quiet --seed 1 --db r.db --record off");
    sql_do("r.db", "UPDATE runs SET run_id = 1099511627775; "
                   "UPDATE checkpoints SET run_id = 1099511627775");
    sim_expect(2, WORDS("r.db", "every run id of this database is taken"),
               "run d.ini --jobs 1 --quiet --seed 2 --db r.db --record off");
    cr_assert(eq(u64, sql_u64("r.db", "SELECT count(*) FROM runs"), 1));
}
