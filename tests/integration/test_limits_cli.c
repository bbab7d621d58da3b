/*
 * test_limits_cli.c: numbers at the edge of their range, given to the sim command as a user
 * would (issue #15): seed ranges that reach 2^64 - 1, durations near 2^64 ns, timeouts that
 * would wrap a deadline, and a file size limit (ulimit -f) reached while recording.
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
