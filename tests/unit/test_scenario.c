/*
 * test_scenario.c: scenario files through the public API: sim_scenario_parse on text,
 * sim_scenario_load on files written to a fresh temporary directory. The demo system is the
 * real one; `tiny` is a system declared here so that every key type (bool, uint with a
 * maximum, duration with a range, choice, string) and a second section can be checked.
 *
 * Every error case asserts SIM_EINVAL, a NULL scenario, the exact "FILE:LINE: " (or "FILE: ")
 * prefix and the words a user needs to fix the file: the key, the bad value, the valid
 * choices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../systems/demo/demo.h"
#include "../../systems/registry.h"
#include "../scenariotest.h"

/* ---- systems --------------------------------------------------------------------------------- */

/* Declared in this order on purpose: [tiny] before [alpha], and [tiny]'s keys unsorted, so
 * that the canonical text's sorting is visible. */
static const sim_key_spec tiny_keys[] = {
    {"tiny", "verbose", SIM_KEY_BOOL, "false", NULL, 0, 0, "talk more"},
    {"tiny", "count", SIM_KEY_UINT, "3", NULL, 1, 10, "how many, 1..10"},
    {"tiny", "wait", SIM_KEY_DURATION, "250ms", NULL, SIM_MS, 10 * SIM_S, "1ms..10s"},
    {"tiny", "mode", SIM_KEY_CHOICE, "fast", "fast|slow", 0, 0, "how"},
    {"alpha", "label", SIM_KEY_STRING, "none", NULL, 0, 0, "any text"},
};

static const sim_system tiny_system = {
    .name = "tiny",
    .summary = "keys of every type, for the parser's tests",
    .keys = tiny_keys,
    .key_count = sizeof tiny_keys / sizeof tiny_keys[0],
};

static const sim_system *const demo_only[] = {&sim_demo_system};
static const sim_system *const both[] = {&sim_demo_system, &tiny_system};

/* ---- helpers --------------------------------------------------------------------------------- */

TestSuite(scenario, .fini = release_held);

/* Parses text as "t.ini" against the demo and tiny systems; asserts success. */
static sim_scenario *parse_ok(const char *text)
{
    return parse_held("t.ini", text, both, 2);
}

/* Parses text as "t.ini" against `systems`; asserts SIM_EINVAL, *out NULL and the message. */
static void expect_error_with(const sim_system *const *systems, uint32_t nsystems,
                              const char *text, const char *prefix, const char *const *words)
{
    sim_scenario *sc = (sim_scenario *)&sc; /* not NULL: the call must clear it */
    char err[1024] = "";
    int rc = sim_scenario_parse("t.ini", text, systems, nsystems, &sc, err, sizeof err);
    cr_assert(eq(int, rc, SIM_EINVAL), "message: %s\n--- text ---\n%s", err, text);
    cr_assert(eq(ptr, sc, NULL));
    assert_message(err, prefix, words);
}

static void expect_error(const char *text, const char *prefix, const char *const *words)
{
    expect_error_with(both, 2, text, prefix, words);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A fresh directory under /tmp; the test removes it with remove_dir. */
static void make_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/sim-scenario-XXXXXX");
    cr_assert(ne(ptr, mkdtemp(dir), NULL));
}

static void remove_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert(eq(int, system(cmd), 0));
}

/* Writes `len` bytes to dir/name and returns the full path in path. */
static void write_bytes(const char *dir, const char *name, const void *bytes, size_t len,
                        char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert(ne(ptr, f, NULL), "cannot write %s", path);
    cr_assert(eq(sz, fwrite(bytes, 1, len, f), len));
    cr_assert(eq(int, fclose(f), 0));
}

/* Loads path against the demo and tiny systems; asserts SIM_EINVAL, *out NULL, message. */
static void expect_load_error(const char *path, const char *const *words)
{
    sim_scenario *sc = (sim_scenario *)&sc;
    char err[1024] = "";
    int rc = sim_scenario_load(path, both, 2, &sc, err, sizeof err);
    cr_assert(eq(int, rc, SIM_EINVAL), "message: %s", err);
    cr_assert(eq(ptr, sc, NULL));
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s: ", path);
    assert_message(err, prefix, words);
}

static const char minimal_demo[] = "[scenario]\n"
                                   "name = min\n"
                                   "system = demo\n";

/* ---- valid files ----------------------------------------------------------------------------- */

/* Goal: a file that gives only the required keys gets every documented default. Method:
 * parse name + system for the demo; read every [scenario] and [demo] key back through
 * sim_scenario_get/_uint, the seed range, expect and the world desc. */
Test(scenario, minimal_file_gives_defaults)
{
    sim_scenario *sc = parse_ok(minimal_demo);
    cr_assert(eq(str, (char *)sim_scenario_name(sc), "min"));
    cr_assert(eq(str, (char *)sim_scenario_path(sc), "t.ini"));
    cr_assert(eq(ptr, (void *)sim_scenario_system(sc), (void *)&sim_demo_system));
    cr_assert(eq(u64, sim_scenario_seed_first(sc), 1));
    cr_assert(eq(u64, sim_scenario_seed_last(sc), 100));
    cr_assert(eq(int, sim_scenario_expect_fail(sc), false));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", "seeds"), "1..100"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", "strategy"), "random"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", "expect"), "pass"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", "description"), ""));
    cr_assert(eq(u64, sim_scenario_uint(sc, "scenario", "time_limit"), 60 * SIM_S));
    cr_assert(eq(u64, sim_scenario_uint(sc, "scenario", "step_limit"), 1000000000));
    cr_assert(eq(u64, sim_scenario_uint(sc, "scenario", "checkpoint_every"), 1024));
    cr_assert(eq(u64, sim_scenario_uint(sc, "demo", "ticks"), 20));
    cr_assert(eq(u64, sim_scenario_uint(sc, "demo", "crash_at"), 1 * SIM_S));
    cr_assert(eq(u64, sim_scenario_uint(sc, "demo", "restart_after"), 500 * SIM_MS));
    cr_assert(eq(u64, sim_scenario_uint(sc, "demo", "pause_at"), 2 * SIM_S));
    cr_assert(eq(u64, sim_scenario_uint(sc, "demo", "pause_for"), 300 * SIM_MS));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "demo", "bug"), "none"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "demo", "ticks"), "20"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "demo", "restart_after"), "500ms"));
    cr_assert(eq(ptr, (void *)sim_scenario_get(sc, "demo", "nope"), NULL));
    cr_assert(eq(ptr, (void *)sim_scenario_get(sc, "nope", "ticks"), NULL));

    sim_world_desc d = sim_scenario_world_desc(sc, 77);
    cr_assert(eq(u64, d.seed, 77));
    cr_assert(eq(int, d.sched.kind, SIM_SCHED_RANDOM));
    cr_assert(eq(u64, d.time_limit_ns, 60 * SIM_S));
    cr_assert(eq(u64, d.step_limit, 1000000000));
    cr_assert(eq(u32, d.checkpoint_every, 1024));
    cr_assert(eq(int, d.trace == NULL, 1));
    cr_assert(eq(ptr, (void *)d.forced, NULL));
    cr_assert(eq(ptr, (void *)d.replay_hint, NULL));
    cr_assert(eq(u64, sim_scenario_uint(sc, "check", "max_steps"), SIM_CHECK_WORLD_MAX_STEPS));
    cr_assert(eq(u64, d.check_max_steps, SIM_CHECK_WORLD_MAX_STEPS));
    cr_assert(eq(int, sim_scenario_unknown_passes(sc), false));
    scenario_done(sc);
}

/* Goal: every scenario has [check] max_steps and unknown, whatever its system: a value given
 * reaches the world desc and the accessors, and max_steps = 0 (no bound) reaches the desc as
 * UINT64_MAX, since the desc's 0 means the default. Method: the tiny system (which declares no
 * [check] keys) with both set, then max_steps = 0. */
Test(scenario, check_bound_keys)
{
    sim_scenario *sc = parse_ok("[scenario]\nname = c\nsystem = tiny\n[check]\n"
                                "max_steps = 1234\nunknown = pass\n");
    cr_assert(eq(u64, sim_scenario_world_desc(sc, 1).check_max_steps, 1234));
    cr_assert(eq(int, sim_scenario_unknown_passes(sc), true));
    scenario_done(sc);
    sc = parse_ok("[scenario]\nname = c\nsystem = tiny\n[check]\nmax_steps = 0\n");
    cr_assert(eq(u64, sim_scenario_world_desc(sc, 1).check_max_steps, UINT64_MAX));
    cr_assert(eq(int, sim_scenario_unknown_passes(sc), false));
    scenario_done(sc);
}

/* Goal: values given in the file win over defaults and reach every accessor, bools
 * included. Method: the tiny system with every key set, and [scenario] seeds, strategy,
 * expect, time_limit; read them back. */
Test(scenario, given_values_reach_accessors)
{
    sim_scenario *sc = parse_ok("[scenario]\n"
                                "name = given\n"
                                "system = tiny\n"
                                "seeds = 7..9\n"
                                "strategy = pct:2:500\n"
                                "expect = fail\n"
                                "time_limit = 1500ms\n"
                                "[tiny]\n"
                                "verbose = true\n"
                                "count = 10\n"
                                "wait = 1ms\n"
                                "mode = slow\n"
                                "[alpha]\n"
                                "label = a ; b\n");
    cr_assert(eq(ptr, (void *)sim_scenario_system(sc), (void *)&tiny_system));
    cr_assert(eq(u64, sim_scenario_seed_first(sc), 7));
    cr_assert(eq(u64, sim_scenario_seed_last(sc), 9));
    cr_assert(eq(int, sim_scenario_expect_fail(sc), true));
    cr_assert(eq(int, sim_scenario_bool(sc, "tiny", "verbose"), true));
    cr_assert(eq(u64, sim_scenario_uint(sc, "tiny", "count"), 10));
    cr_assert(eq(u64, sim_scenario_uint(sc, "tiny", "wait"), SIM_MS));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "tiny", "mode"), "slow"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "alpha", "label"), "a"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", "time_limit"), "1500ms"));
    sim_world_desc d = sim_scenario_world_desc(sc, 8);
    cr_assert(eq(int, d.sched.kind, SIM_SCHED_PCT));
    cr_assert(eq(u32, d.sched.pct_depth, 2));
    cr_assert(eq(u64, d.sched.pct_steps, 500));
    cr_assert(eq(u64, d.time_limit_ns, 1500 * SIM_MS));
    scenario_done(sc);

    sc = parse_ok("[scenario]\nname = one\nsystem = tiny\nseeds = 42\n[tiny]\nverbose = false\n");
    cr_assert(eq(u64, sim_scenario_seed_first(sc), 42));
    cr_assert(eq(u64, sim_scenario_seed_last(sc), 42));
    cr_assert(eq(int, sim_scenario_bool(sc, "tiny", "verbose"), false));
    cr_assert(eq(int, sim_scenario_expect_fail(sc), false));
    scenario_done(sc);
}

static const char demo_canonical[] = "[scenario]\n"
                                     "branch_at = 0\n"
                                     "branch_one_in = 0\n"
                                     "cancel_at = 0\n"
                                     "cancel_one_in = 0\n"
                                     "checkpoint_every = 1024\n"
                                     "description = \n"
                                     "expect = pass\n"
                                     "name = small\n"
                                     "seeds = 3..4\n"
                                     "shutdown_at = 0s\n"
                                     "step_limit = 1000000000\n"
                                     "strategy = fifo\n"
                                     "system = demo\n"
                                     "time_limit = 1s\n"
                                     "\n"
                                     "[check]\n"
                                     "leaks = fail\n"
                                     "max_memory = 2147483648\n"
                                     "max_steps = 10000000\n"
                                     "shutdown_within = 0s\n"
                                     "uncollected = warn\n"
                                     "unknown = fail\n"
                                     "unread = warn\n"
                                     "\n"
                                     "[demo]\n"
                                     "bug = none\n"
                                     "crash_at = 2s\n"
                                     "pause_at = 2s\n"
                                     "pause_for = 300ms\n"
                                     "restart_after = 1500ms\n"
                                     "ticks = 5\n"
                                     "\n"
                                     "[disk]\n"
                                     "capacity = 0\n"
                                     "crash_keep = 0.5\n"
                                     "crash_torn = 0.25\n"
                                     "dir_keep = 0.5\n"
                                     "meta_latency = 10us..50us\n"
                                     "meta_tail = 0s\n"
                                     "read_latency = 20us..100us\n"
                                     "read_tail = 0s\n"
                                     "sector = 512\n"
                                     "sync_latency = 1ms..5ms\n"
                                     "sync_tail = 0s\n"
                                     "torn_garbage = 0\n"
                                     "write_latency = 20us..100us\n"
                                     "write_tail = 0s\n"
                                     "\n"
                                     "[faults]\n"
                                     "branch = 0\n"
                                     "cancel = 0\n"
                                     "clock_drift = 0\n"
                                     "clock_skew = 0s\n"
                                     "clog = 0\n"
                                     "clog_for = 100ms..2s\n"
                                     "clog_nodes = all\n"
                                     "converge_within = 20s\n"
                                     "corrupt = 0\n"
                                     "crash = 0\n"
                                     "crash_nodes = all\n"
                                     "drop = 0\n"
                                     "dup = 0\n"
                                     "enospc = 0\n"
                                     "fail_hit = none\n"
                                     "fsync_eio = 0\n"
                                     "max_down = all\n"
                                     "partition = 0\n"
                                     "partition_for = 1s..10s\n"
                                     "partition_mode = any\n"
                                     "partition_nodes = all\n"
                                     "partition_oneway = 0\n"
                                     "pause = 0\n"
                                     "pause_for = 100ms..2s\n"
                                     "pause_nodes = all\n"
                                     "quiet_after = never\n"
                                     "read_eio = 0\n"
                                     "restart = 1\n"
                                     "restart_after = 1s..10s\n"
                                     "sut/demo/slow-persist = 0\n"
                                     "swarm = false\n"
                                     "tick = 100ms\n"
                                     "write_eio = 0\n"
                                     "\n"
                                     "[network]\n"
                                     "bandwidth = 0\n"
                                     "connect_timeout = 1s\n"
                                     "latency = 1ms..5ms\n"
                                     "latency_tail = 0s\n"
                                     "recv_queue = 1024\n"
                                     "reset_delay = 10ms..200ms\n"
                                     "rto = 200ms\n"
                                     "segment = 1..1460\n"
                                     "send_buffer = 65536\n"
                                     "stream_timeout = 5s\n";

/* Goal: the canonical text is [scenario] first, then the system's sections, keys sorted,
 * every declared key present with its default, durations in their shortest exact form, and
 * it parses back to itself. Method: a small demo file in an unsorted order with 1000ms and
 * 2000ms; compare the exact text; parse the canonical text and compare again. */
Test(scenario, canonical_text_demo)
{
    sim_scenario *sc = parse_ok("[demo]\n"
                                "ticks = 5\n"
                                "restart_after = 1500ms\n"
                                "crash_at = 2000ms\n"
                                "[scenario]\n"
                                "system = demo\n"
                                "time_limit = 1000ms\n"
                                "strategy = fifo\n"
                                "name = small\n"
                                "seeds = 3..4\n");
    cr_assert(eq(str, (char *)sim_scenario_canonical(sc), (char *)demo_canonical));
    sim_scenario *again = parse_ok(sim_scenario_canonical(sc));
    cr_assert(eq(str, (char *)sim_scenario_canonical(again), (char *)demo_canonical));
    scenario_done(again);
    scenario_done(sc);
}

/* The canonical link line for names a and b with every field at its longest form. */
static void long_link(char *buf, size_t size, const char *a, const char *b, bool canonical)
{
    snprintf(buf, size,
             "%s -> %s latency=1ns..2ns latency_tail=1ns bandwidth=18446744073709551615 "
             "loss=%s dup=%s",
             a, b, canonical ? "333333333/1000000000" : "0.333333333",
             canonical ? "333333333/1000000000" : "0.333333333");
}

/* Goal: a link line's canonical text holds all of it and reads back as a file's line, or the
 * line is refused with a message; it is never cut or written past its buffer (found while
 * writing net_sim's assertions: a canonical link line had 192 bytes, longer ones were
 * written past them, out of bounds, and could not have been read back anyway). Method: the
 * tiny system checks no node names; every field at its longest canonical form (a bandwidth of
 * 2^64 - 1, probabilities written as nine decimals, whose canonical fractions are longer).
 * Names of 36 make a canonical line of exactly 192 characters: accepted, and its canonical
 * text parses back to itself. Names of 37 and 36 (a file line of 182) make 193: refused,
 * naming the length. A name of 64 characters through sim_scenario_set: refused, not cut. */
Test(scenario, longest_link_lines_round_trip)
{
    char a[80], b[80], value[512], want[512], text[1024], err[512] = "";
    memset(a, 'a', 36);
    memset(b, 'b', 36);
    a[36] = b[36] = '\0';
    long_link(value, sizeof value, a, b, false);
    snprintf(text, sizeof text, "[scenario]\nname = t\nsystem = tiny\n[network]\nlink = %s\n",
             value);
    sim_scenario *sc = parse_ok(text);
    long_link(want, sizeof want, a, b, true);
    cr_assert(eq(sz, strlen(want), 192));
    const char *canon = sim_scenario_canonical(sc);
    cr_assert(ne(ptr, strstr(canon, want), NULL), "%s", canon);
    sim_scenario *again = parse_ok(canon);
    cr_assert(eq(str, (char *)sim_scenario_canonical(again), (char *)canon));
    scenario_done(again);

    memset(a, 'a', 37);
    a[37] = '\0';
    long_link(value, sizeof value, a, b, false);
    snprintf(text, sizeof text, "[scenario]\nname = t\nsystem = tiny\n[network]\nlink = %s\n",
             value);
    expect_error(text, "t.ini:5: ", WORDS("[network] link: 193 characters", "at most 192"));

    memset(a, 'a', 64);
    a[64] = '\0';
    snprintf(value, sizeof value, "%s %s latency=2ms", a, b);
    cr_assert(eq(int, sim_scenario_set(sc, "network", "link", value, err, sizeof err),
                 SIM_EINVAL));
    assert_message(err, "t.ini: ", WORDS("[network] link: node name", "longer than 63"));
    scenario_done(sc);
}

/* Goal: sections after [scenario] are sorted by name whatever their declaration order, and
 * keys within a section too. Method: the tiny system declares [tiny] before [alpha] and its
 * keys unsorted; compare the exact canonical text and its reparse. */
Test(scenario, canonical_text_sorts_sections)
{
    static const char want[] = "[scenario]\n"
                               "branch_at = 0\n"
                               "branch_one_in = 0\n"
                               "cancel_at = 0\n"
                               "cancel_one_in = 0\n"
                               "checkpoint_every = 1024\n"
                               "description = two words\n"
                               "expect = pass\n"
                               "name = sorted\n"
                               "seeds = 1..100\n"
                               "shutdown_at = 0s\n"
                               "step_limit = 1000000000\n"
                               "strategy = random\n"
                               "system = tiny\n"
                               "time_limit = 1m\n"
                               "\n"
                               "[alpha]\n"
                               "label = none\n"
                               "\n"
                               "[check]\n"
                               "leaks = fail\n"
                               "max_memory = 2147483648\n"
                               "max_steps = 10000000\n"
                               "shutdown_within = 0s\n"
                               "uncollected = warn\n"
                               "unknown = fail\n"
                               "unread = warn\n"
                               "\n"
                               "[disk]\n"
                               "capacity = 0\n"
                               "crash_keep = 0.5\n"
                               "crash_torn = 0.25\n"
                               "dir_keep = 0.5\n"
                               "meta_latency = 10us..50us\n"
                               "meta_tail = 0s\n"
                               "read_latency = 20us..100us\n"
                               "read_tail = 0s\n"
                               "sector = 512\n"
                               "sync_latency = 1ms..5ms\n"
                               "sync_tail = 0s\n"
                               "torn_garbage = 0\n"
                               "write_latency = 20us..100us\n"
                               "write_tail = 0s\n"
                               "\n"
                               "[faults]\n"
                               "branch = 0\n"
                               "cancel = 0\n"
                               "clock_drift = 0\n"
                               "clock_skew = 0s\n"
                               "clog = 0\n"
                               "clog_for = 100ms..2s\n"
                               "clog_nodes = all\n"
                               "converge_within = 20s\n"
                               "corrupt = 0\n"
                               "crash = 0\n"
                               "crash_nodes = all\n"
                               "drop = 0\n"
                               "dup = 0\n"
                               "enospc = 0\n"
                               "fail_hit = none\n"
                               "fsync_eio = 0\n"
                               "max_down = all\n"
                               "partition = 0\n"
                               "partition_for = 1s..10s\n"
                               "partition_mode = any\n"
                               "partition_nodes = all\n"
                               "partition_oneway = 0\n"
                               "pause = 0\n"
                               "pause_for = 100ms..2s\n"
                               "pause_nodes = all\n"
                               "quiet_after = never\n"
                               "read_eio = 0\n"
                               "restart = 1\n"
                               "restart_after = 1s..10s\n"
                               "swarm = false\n"
                               "tick = 100ms\n"
                               "write_eio = 0\n"
                               "\n"
                               "[network]\n"
                               "bandwidth = 0\n"
                               "connect_timeout = 1s\n"
                               "latency = 1ms..5ms\n"
                               "latency_tail = 0s\n"
                               "recv_queue = 1024\n"
                               "reset_delay = 10ms..200ms\n"
                               "rto = 200ms\n"
                               "segment = 1..1460\n"
                               "send_buffer = 65536\n"
                               "stream_timeout = 5s\n"
                               "\n"
                               "[tiny]\n"
                               "count = 7\n"
                               "mode = fast\n"
                               "verbose = true\n"
                               "wait = 2s\n";
    sim_scenario *sc = parse_ok("[tiny]\nwait = 2000ms\nverbose = true\ncount = 7\n"
                                "[scenario]\nname = sorted\nsystem = tiny\n"
                                "description = two words\ntime_limit = 60s\n");
    cr_assert(eq(str, (char *)sim_scenario_canonical(sc), (char *)want));
    sim_scenario *again = parse_ok(sim_scenario_canonical(sc));
    cr_assert(eq(str, (char *)sim_scenario_canonical(again), (char *)want));
    scenario_done(again);
    scenario_done(sc);
}

/* Goal: every file that loads has a canonical text that loads again (a run records the
 * canonical text and replay parses it). Method: the longest values a file accepts (150
 * characters), written without blanks around '=' (the canonical form adds two): a name and
 * a description; parse each canonical text again. */
Test(scenario, canonical_text_reparses_for_long_values)
{
    char text[1024];
    char desc[151], name[151];
    memset(desc, 'd', sizeof desc - 1);
    desc[sizeof desc - 1] = '\0';
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    const char *lines[] = {"name=", "description="};
    const char *values[] = {name, desc};
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text, "[scenario]\n%s%s\n%ssystem = demo\n", lines[i], values[i],
                 i == 1 ? "name = long\n" : "");
        sim_scenario *sc = parse_ok(text);
        sim_scenario *again = NULL;
        char err[1024] = "";
        int rc = sim_scenario_parse("canonical", sim_scenario_canonical(sc), both, 2, &again, err,
                                    sizeof err);
        hold(again);
        cr_assert(eq(int, rc, SIM_OK), "%s%s: the canonical text does not parse: %s",
                  lines[i], "<150 chars>", err);
        cr_assert(eq(str, (char *)sim_scenario_canonical(again),
                     (char *)sim_scenario_canonical(sc)));
        scenario_done(again);
        scenario_done(sc);
    }
}


/* Goal: comments (';' and '#', at the start or indented), blank lines, inline " ; comment"
 * and indented keys are read as a person means them; an indented key is a key of its own,
 * never a continuation of the previous value. Method: one file with each form; check every
 * value, in particular that the indented keys did not end up in the value above them. */
Test(scenario, comments_blanks_and_indentation)
{
    sim_scenario *sc = parse_ok("; a comment\n"
                                "# another\n"
                                "\n"
                                "[scenario]   ; the header\n"
                                "   ; an indented comment\n"
                                "\t# a tab-indented one\n"
                                "name = forms ; inline\n"
                                "system = demo\n"
                                "description = semi;colon and #hash stay\n"
                                "\n"
                                "\n"
                                "[demo]\n"
                                "ticks = 5\n"
                                "    crash_at = 2s\n"
                                "\tpause_for = 1s ; inline after an indent\n"
                                "  bug = deadlock\n");
    cr_assert(eq(str, (char *)sim_scenario_name(sc), "forms"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", "description"),
                 "semi;colon and #hash stay"));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "demo", "ticks"), "5"));
    cr_assert(eq(u64, sim_scenario_uint(sc, "demo", "crash_at"), 2 * SIM_S));
    cr_assert(eq(u64, sim_scenario_uint(sc, "demo", "pause_for"), 1 * SIM_S));
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "demo", "bug"), "deadlock"));
    scenario_done(sc);
}

/* Goal: a file with Windows line endings reads like the same file with '\n'. Method: parse
 * a CRLF file (comments, an inline comment, an indented key, a last line without an ending)
 * and the same file with LF; the canonical texts are equal and hold the CRLF file's values;
 * an error in a CRLF file names the right line and quotes the line without '\r'. */
Test(scenario, crlf_line_endings)
{
    static const char crlf[] = "; made on Windows\r\n"
                               "[scenario]\r\n"
                               "name = crlf\r\n"
                               "system = demo\r\n"
                               "seeds = 2..3 ; two\r\n"
                               "\r\n"
                               "[demo]\r\n"
                               "  ticks = 9\r\n"
                               "crash_at = 1000ms";
    static const char lf[] = "; made on Windows\n"
                             "[scenario]\n"
                             "name = crlf\n"
                             "system = demo\n"
                             "seeds = 2..3 ; two\n"
                             "\n"
                             "[demo]\n"
                             "  ticks = 9\n"
                             "crash_at = 1000ms";
    sim_scenario *a = parse_ok(crlf);
    sim_scenario *b = parse_ok(lf);
    cr_assert(eq(str, (char *)sim_scenario_canonical(a), (char *)sim_scenario_canonical(b)));
    cr_assert(eq(str, (char *)sim_scenario_get(a, "demo", "ticks"), "9"));
    cr_assert(eq(str, (char *)sim_scenario_get(a, "demo", "crash_at"), "1s"));
    cr_assert(eq(u64, sim_scenario_seed_last(a), 3));
    scenario_done(a);
    scenario_done(b);
    expect_error("[scenario]\r\nname = x\r\nsystem = demo\r\nnonsense here\r\n",
                 "t.ini:4: ", WORDS("expected 'key = value'", "got 'nonsense here'"));
}

/* Goal: a file saved with a UTF-8 byte order mark (as some Windows editors do) loads: inih
 * skips the mark, and the [scenario] header after it must be seen. Method: parse
 * "\xEF\xBB\xBF[scenario]..." and expect the same scenario as without the mark. */
Test(scenario, utf8_bom_is_accepted)
{
    sim_scenario *sc = NULL;
    char err[1024] = "";
    int rc = sim_scenario_parse("bom.ini", "\xEF\xBB\xBF[scenario]\nname = bom\nsystem = demo\n",
                                demo_only, 1, &sc, err, sizeof err);
    hold(sc);
    cr_assert(eq(int, rc, SIM_OK), "a file with a BOM: %s", err);
    cr_assert(eq(str, (char *)sim_scenario_name(sc), "bom"));
    scenario_done(sc);
}

/* A line of `len` characters "description = ddd..." inside a valid file. */
/* A scenario whose fourth line is a comment of exactly len characters. */
static void long_line_file(char *text, size_t size, size_t len)
{
    static const char head[] = "[scenario]\nname = long\nsystem = demo\n";
    cr_assert(lt(sz, sizeof head + len + 2, size));
    size_t o = (size_t)snprintf(text, size, "%s;", head);
    memset(text + o, 'c', len - 1);
    text[o + len - 1] = '\n';
    text[o + len] = '\0';
}

/* Goal: the line limit is what the message says: a line of 199 characters is accepted, one
 * of 200 is "longer than 199 characters". Method: a comment line of exactly 198, 199, then
 * 200 characters. */
Test(scenario, line_limit_is_199_characters)
{
    char text[512];
    long_line_file(text, sizeof text, 198);
    sim_scenario *sc = parse_ok(text);
    scenario_done(sc);
    long_line_file(text, sizeof text, 200);
    expect_error(text, "t.ini:4: ", WORDS("line longer than 199 characters"));
    long_line_file(text, sizeof text, 199);
    sc = parse_ok(text);
    cr_assert(eq(str, (char *)sim_scenario_name(sc), "long"));
    scenario_done(sc);
}

/* ---- errors ---------------------------------------------------------------------------------- */

/* Goal: a file without a [scenario] section is refused, naming the file and the systems.
 * Method: only a [demo] section; only comments; an empty text. */
Test(scenario, error_no_scenario_section)
{
    expect_error("[demo]\nticks = 5\n", "t.ini: ",
                 WORDS("no [scenario] section", "demo, tiny"));
    expect_error("; nothing but a comment\n\n", "t.ini: ", WORDS("no [scenario] section"));
    expect_error("", "t.ini: ", WORDS("no [scenario] section", "demo, tiny"));
}

/* Goal: a [scenario] without system names the missing key and the valid systems. Method:
 * [scenario] with a name only; with system only under [demo]. */
Test(scenario, error_missing_system)
{
    const char *const *w = WORDS("[scenario] is missing the required key 'system'", "demo, tiny");
    expect_error("[scenario]\nname = x\n", "t.ini: ", w);
    expect_error("[scenario]\nname = x\n[demo]\nsystem = demo\n", "t.ini: ", w);
}

/* Goal: a missing required [scenario] name is an error, not an empty default. Method:
 * [scenario] with system only. */
Test(scenario, error_missing_name)
{
    expect_error("[scenario]\nsystem = demo\n", "t.ini: ",
                 WORDS("[scenario] is missing the required key 'name'"));
}

/* Goal: an unknown system names its line, the value and every valid system. Method: system
 * = nosuch with the two systems, then with the demo only. */
Test(scenario, error_unknown_system)
{
    expect_error("[scenario]\nname = x\n\nsystem = nosuch\n", "t.ini:4: ",
                 WORDS("[scenario] system: unknown system 'nosuch'", "valid systems: demo, tiny"));
    expect_error_with(demo_only, 1, "[scenario]\nname = x\nsystem = tiny\n", "t.ini:3: ",
                      WORDS("unknown system 'tiny'", "valid systems: demo"));
}

/* Goal: an unknown section is refused at its header's line with the valid sections, also
 * when it has no keys at all. Method: [netwrok] with a key; [netwrok] empty at the end of
 * the file; [netwrok] empty between two known sections. */
Test(scenario, error_unknown_section)
{
    const char *const *w =
        WORDS("unknown section [netwrok]", "valid sections for system demo", "[scenario], [demo]");
    expect_error("[scenario]\nname = x\nsystem = demo\n[netwrok]\nloss = 0.1\n", "t.ini:4: ",
                 w);
    expect_error("[scenario]\nname = x\nsystem = demo\n\n[netwrok]\n", "t.ini:5: ", w);
    expect_error("[scenario]\nname = x\nsystem = demo\n[netwrok]\n; nothing\n[demo]\nticks = 2\n",
                 "t.ini:4: ", w);
    expect_error("[scenario]\nname = x\nsystem = tiny\n[demo]\n", "t.ini:4: ",
                 WORDS("unknown section [demo]", "[scenario], [tiny], [alpha]"));
}

/* Goal: an unknown key names its line, section, the key and the section's valid keys.
 * Method: [demo] tick (for ticks); [scenario] seed (for seeds). */
Test(scenario, error_unknown_key)
{
    expect_error("[scenario]\nname = x\nsystem = demo\n[demo]\ntick = 5\n", "t.ini:5: ",
                 WORDS("[demo] unknown key 'tick'",
                       "valid keys: ticks, crash_at, restart_after, pause_at, pause_for, bug"));
    expect_error("[scenario]\nname = x\nseed = 4\nsystem = demo\n", "t.ini:3: ",
                 WORDS("[scenario] unknown key 'seed'", "valid keys: name, system,", "seeds",
                       "strategy", "expect"));
}

/* Goal: a key set twice is refused at the second place, naming the first line, also when
 * the section appears twice. Method: seeds twice; [demo] ticks in two [demo] sections. */
Test(scenario, error_key_set_twice)
{
    expect_error("[scenario]\nname = x\nseeds = 1..2\nsystem = demo\nseeds = 3..4\n", "t.ini:5: ",
                 WORDS("[scenario] seeds is set twice (first at line 3)"));
    expect_error("[scenario]\nname = x\nsystem = demo\n[demo]\nticks = 5\n[demo]\nticks = 5\n",
                 "t.ini:7: ", WORDS("[demo] ticks is set twice (first at line 5)"));
}

/* Goal: a bad whole number names the key, the accepted range and the value. Method: words,
 * a sign, a fraction, hex, and a number past 2^64 for [tiny] count (1..10) and [scenario]
 * step_limit (at least 1). */
Test(scenario, error_bad_uint)
{
    const char *bad[] = {"ten", "-1", "+3", "2.5", "0x5", "18446744073709551616", "5 5"};
    char text[256], quoted[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[scenario]\nname = x\nsystem = tiny\n[tiny]\ncount = %s\n",
                 bad[i]);
        snprintf(quoted, sizeof quoted, "got '%s'", bad[i]);
        expect_error(text, "t.ini:5: ",
                     WORDS("[tiny] count: expected a whole number in 1..10", quoted));
    }
    expect_error("[scenario]\nname = x\nsystem = tiny\nstep_limit = many\n", "t.ini:4: ",
                 WORDS("[scenario] step_limit: expected a whole number of at least 1",
                       "got 'many'"));
    expect_error("[scenario]\nname = x\nsystem = tiny\n[tiny]\ncount =\n", "t.ini:5: ",
                 WORDS("[tiny] count: expected a whole number in 1..10, got ''"));
}

/* Goal: a whole number outside the declared range names the range. Method: [tiny] count 0
 * and 11 (range 1..10), [demo] ticks 10001 (1..10000), [scenario] checkpoint_every 0. */
Test(scenario, error_uint_out_of_range)
{
    expect_error("[scenario]\nname = x\nsystem = tiny\n[tiny]\ncount = 11\n", "t.ini:5: ",
                 WORDS("[tiny] count: expected a whole number in 1..10, got '11'"));
    expect_error("[scenario]\nname = x\nsystem = tiny\n[tiny]\ncount = 0\n", "t.ini:5: ",
                 WORDS("[tiny] count: expected a whole number in 1..10, got '0'"));
    expect_error("[scenario]\nname = x\nsystem = demo\n[demo]\nticks = 10001\n", "t.ini:5: ",
                 WORDS("[demo] ticks: expected a whole number in 1..10000, got '10001'"));
    expect_error("[scenario]\nname = x\nsystem = demo\ncheckpoint_every = 0\n", "t.ini:4: ",
                 WORDS("[scenario] checkpoint_every: expected a whole number in 1..1073741824",
                       "got '0'"));
}

/* Goal: a bad duration names the key, the form and units, the range when there is one, and
 * the value. Method: a number without a unit, an unknown unit, a blank before the unit, a
 * fraction, an overflow; [tiny] wait out of 1ms..10s; [scenario] time_limit 0s. */
Test(scenario, error_bad_duration)
{
    const char *bad[] = {"5", "5sec", "5 s", "1.5s", "ms", "99999999999h", "-1s"};
    char text[256], quoted[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[scenario]\nname = x\nsystem = demo\n[demo]\ncrash_at = %s\n",
                 bad[i]);
        snprintf(quoted, sizeof quoted, "got '%s'", bad[i]);
        expect_error(text, "t.ini:5: ",
                     WORDS("[demo] crash_at: expected a duration like 250ms or 2s",
                           "units ns, us, ms, s, m, h", quoted));
    }
    expect_error("[scenario]\nname = x\nsystem = tiny\n[tiny]\nwait = 11s\n", "t.ini:5: ",
                 WORDS("[tiny] wait: expected a duration", "from 1ms to 10s, got '11s'"));
    expect_error("[scenario]\nname = x\nsystem = tiny\n[tiny]\nwait = 999us\n", "t.ini:5: ",
                 WORDS("[tiny] wait: expected a duration", "from 1ms to 10s, got '999us'"));
    expect_error("[scenario]\nname = x\nsystem = demo\ntime_limit = 0s\n", "t.ini:4: ",
                 WORDS("[scenario] time_limit: expected a duration", "of at least 1ns",
                       "got '0s'"));
}

/* Goal: a bool accepts true and false only and says so. Method: yes, 1, True, on. */
Test(scenario, error_bad_bool)
{
    const char *bad[] = {"yes", "1", "True", "on"};
    char text[256], quoted[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[scenario]\nname = x\nsystem = tiny\n[tiny]\nverbose = %s\n",
                 bad[i]);
        snprintf(quoted, sizeof quoted, "[tiny] verbose: expected true or false, got '%s'",
                 bad[i]);
        expect_error(text, "t.ini:5: ", WORDS(quoted));
    }
}

/* Goal: a bad choice lists every choice. Method: [demo] bug = livelock; [tiny] mode =
 * medium; [scenario] expect = maybe. */
Test(scenario, error_bad_choice)
{
    expect_error("[scenario]\nname = x\nsystem = demo\n[demo]\nbug = livelock\n", "t.ini:5: ",
                 WORDS("[demo] bug: expected one of none, deadlock, lost-reply, nondeterministic",
                       "got 'livelock'"));
    expect_error("[scenario]\nname = x\nsystem = tiny\n[tiny]\nmode = medium\n", "t.ini:5: ",
                 WORDS("[tiny] mode: expected one of fast, slow; got 'medium'"));
    expect_error("[scenario]\nname = x\nexpect = maybe\nsystem = tiny\n", "t.ini:3: ",
                 WORDS("[scenario] expect: expected one of pass, fail; got 'maybe'"));
}

/* Goal: seeds must be A..B with A <= B or one seed. Method: 5..2, x, ..5, 5.., 1..2..3, -1. */
Test(scenario, error_bad_seeds)
{
    const char *bad[] = {"5..2", "x", "..5", "5..", "1..2..3", "-1"};
    char text[256], quoted[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[scenario]\nname = x\nsystem = demo\nseeds = %s\n", bad[i]);
        snprintf(quoted, sizeof quoted, "got '%s'", bad[i]);
        expect_error(text, "t.ini:4: ",
                     WORDS("[scenario] seeds: expected A..B with A <= B, or one seed N", quoted));
    }
}

/* Goal: a bad strategy names its line and the valid strategies. Method: pct:0, pct:65,
 * roundrobin. */
Test(scenario, error_bad_strategy)
{
    const char *bad[] = {"pct:0", "pct:65", "roundrobin", "pct:3:0"};
    char text[256], quoted[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[scenario]\nname = x\nsystem = demo\n\nstrategy = %s\n",
                 bad[i]);
        snprintf(quoted, sizeof quoted, "unknown strategy '%s'", bad[i]);
        expect_error(text, "t.ini:5: ",
                     WORDS("[scenario] strategy:", quoted, "valid strategies: fifo, random, pct"));
    }
}

/* Goal: a string value longer than 150 characters is refused (so that every canonical line
 * fits the line limit). Method: a 151-character name. */
Test(scenario, error_string_too_long)
{
    char text[512], name[152];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(text, sizeof text, "[scenario]\nsystem = demo\nname=%s\n", name);
    expect_error(text, "t.ini:3: ", WORDS("[scenario] name: a value is at most 150 characters"));
}

/* Goal: a line over the limit is refused at its own line, wherever it is and whatever it
 * holds (a comment too), and not silently cut. Method: a 250-character description at
 * line 4; a 300-character comment at line 2. */
Test(scenario, error_line_too_long)
{
    char text[1024];
    long_line_file(text, sizeof text, 250);
    expect_error(text, "t.ini:4: ", WORDS("line longer than 199 characters"));
    char comment[301];
    memset(comment, ';', sizeof comment - 1);
    comment[sizeof comment - 1] = '\0';
    snprintf(text, sizeof text, "[scenario]\n%s\nname = x\nsystem = demo\n", comment);
    expect_error(text, "t.ini:2: ", WORDS("line longer than 199 characters"));
}

/* Goal: a line that is neither a key, a header nor a comment names its line and quotes it.
 * Method: words without '='; a header without ']'. */
Test(scenario, error_not_key_value)
{
    expect_error("[scenario]\nname = x\nsystem = demo\n[demo]\njust some words\n", "t.ini:5: ",
                 WORDS("expected 'key = value', '[section]' or a comment (';' or '#')",
                       "got 'just some words'"));
    expect_error("[scenario]\nname = x\nsystem = demo\n[demo\n", "t.ini:4: ",
                 WORDS("expected 'key = value'", "got '[demo'"));
}

/* Goal: a key before any section is refused at its line with advice. Method: ticks on line
 * 2, after a comment, before [scenario]. */
Test(scenario, error_key_before_section)
{
    expect_error("; top\nticks = 5\n[scenario]\nname = x\nsystem = demo\n", "t.ini:2: ",
                 WORDS("'ticks' is outside any section", "put it under [scenario]"));
}

/* ---- loading files --------------------------------------------------------------------------- */

/* Goal: sim_scenario_load reads a file and names it in the scenario. Method: write the
 * minimal demo file with CRLF endings to a temporary directory and load it. */
Test(scenario, load_file)
{
    char dir[64], path[256];
    make_dir(dir, sizeof dir);
    static const char text[] = "[scenario]\r\nname = loaded\r\nsystem = demo\r\nseeds = 4\r\n";
    write_bytes(dir, "ok.ini", text, sizeof text - 1, path, sizeof path);
    sim_scenario *sc = NULL;
    char err[1024] = "";
    cr_assert(eq(int, sim_scenario_load(path, demo_only, 1, &sc, err, sizeof err), SIM_OK), "%s",
              err);
    hold(sc);
    cr_assert(eq(str, (char *)sim_scenario_path(sc), path));
    cr_assert(eq(str, (char *)sim_scenario_name(sc), "loaded"));
    cr_assert(eq(u64, sim_scenario_seed_first(sc), 4));
    scenario_done(sc);
    remove_dir(dir);
}

/* Goal: a file that does not exist is named with the reason. Method: load dir/missing.ini. */
Test(scenario, load_missing_file)
{
    char dir[64], path[256];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/missing.ini", dir);
    expect_load_error(path, WORDS("cannot open", "No such file or directory"));
    remove_dir(dir);
}

/* Goal: a file with NUL bytes is refused as not text, even when the text before the NUL is
 * a valid scenario. Method: a valid file followed by "\0junk". */
Test(scenario, load_nul_bytes)
{
    char dir[64], path[256];
    make_dir(dir, sizeof dir);
    static const char text[] = "[scenario]\nname = x\nsystem = demo\n\0junk\n";
    write_bytes(dir, "nul.ini", text, sizeof text - 1, path, sizeof path);
    expect_load_error(path, WORDS("not a text file (it contains NUL bytes)"));
    remove_dir(dir);
}

/* Goal: an empty file is refused for what it lacks. Method: a 0-byte file. */
Test(scenario, load_empty_file)
{
    char dir[64], path[256];
    make_dir(dir, sizeof dir);
    write_bytes(dir, "empty.ini", "", 0, path, sizeof path);
    expect_load_error(path, WORDS("no [scenario] section"));
    remove_dir(dir);
}

/* Goal: errors from a loaded file carry the file's path and line. Method: a file with a bad
 * value at line 6. */
Test(scenario, load_error_names_path_and_line)
{
    char dir[64], path[256];
    make_dir(dir, sizeof dir);
    static const char text[] = "[scenario]\nname = x\nsystem = demo\n\n[demo]\nticks = lots\n";
    write_bytes(dir, "bad.ini", text, sizeof text - 1, path, sizeof path);
    sim_scenario *sc = (sim_scenario *)&sc;
    char err[1024] = "", prefix[300];
    cr_assert(eq(int, sim_scenario_load(path, demo_only, 1, &sc, err, sizeof err), SIM_EINVAL));
    cr_assert(eq(ptr, sc, NULL));
    snprintf(prefix, sizeof prefix, "%s:6: ", path);
    assert_message(err, prefix, WORDS("[demo] ticks", "got 'lots'"));
    remove_dir(dir);
}

/* Goal: a directory or a file over 1 MiB is refused with a reason, not read as text.
 * Method: load the temporary directory itself; a file of 1 MiB + 1 byte of comments. */
Test(scenario, load_directory_and_huge_file)
{
    char dir[64], path[256];
    make_dir(dir, sizeof dir);
    expect_load_error(dir, WORDS("cannot"));
    size_t size = (1u << 20) + 1;
    char *big = malloc(size);
    cr_assert(ne(ptr, big, NULL));
    for (size_t i = 0; i < size; i++) big[i] = i % 64 == 63 ? '\n' : ';';
    write_bytes(dir, "big.ini", big, size, path, sizeof path);
    free(big);
    expect_load_error(path, WORDS("larger than 1 MiB"));
    remove_dir(dir);
}

/* ---- what sim_scenario_run says of a failure ------------------------------------------------ */

/* Goal: the result of one seed run from C carries the failure in full, not only its line: a
 * deadlock's hang report (every task left waiting, what it awaits, since when), and for a
 * failed check its message and the history, from which sim_check gives the checker's whole
 * report. Before, a program had result and detail only (the report was the CLI's).
 * Method: the demo's deadlock bug, seed 1; register-stale-read, seed 1 (not linearizable). */
Test(scenario, run_result_carries_the_hang_and_check_reports)
{
    sim_scenario *sc = parse_held("d.ini", "[scenario]\nname = d\nsystem = demo\n"
                                           "[demo]\nbug = deadlock\n", demo_only, 1);
    sim_run_result r;
    cr_assert(eq(int, sim_scenario_run(sc, 1, &r), SIM_OK));
    cr_assert(eq(str, (char *)r.result, "deadlock"));
    const char *words[] = {"deadlock at 3.501899s", "heartbeat n2       blocked   1.500000s",
                           "recv on oneshot", "monitor"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        cr_assert(ne(ptr, strstr(r.report, words[i]), NULL), "'%s' in:\n%s", words[i], r.report);
    }
    sim_run_result_free(&r);
    sim_run_result_free(&r); /* twice is fine */
    scenario_done(sc);

    sc = parse_held("r.ini", "[scenario]\nname = r\nsystem = register\n[register]\n"
                             "clients = 3\nops = 20\nbug = stale-read\n",
                    sim_systems, sim_system_count);
    cr_assert(eq(int, sim_scenario_run(sc, 1, &r), SIM_OK));
    cr_assert(eq(str, (char *)r.result, "check"));
    cr_assert(ne(ptr, strstr(r.report, "not linearizable (model register)"), NULL), "%s",
              r.report);
    cr_assert(ne(ptr, r.history, NULL));
    cr_assert(lt(u32, 0, sim_history_count(r.history)));
    sim_check_desc d = {.model = &sim_model_register};
    sim_check_result *cr = NULL;
    char err[256];
    cr_assert(eq(int, sim_check(r.history, &d, &cr, err, sizeof err), SIM_OK), "%s", err);
    cr_assert(eq(int, sim_check_verdict(cr), SIM_NOT_LINEARIZABLE));
    cr_assert(ne(ptr, strstr(sim_check_report(cr, false), "not linearizable"), NULL));
    sim_check_result_free(cr);
    sim_run_result_free(&r);
    scenario_done(sc);
}

/* A system whose only task awaits a oneshot it holds the sender of (a deadlock), or not. */
static uint32_t checks_called;

typedef struct stuck_st {
    sim_co co;
    sim_tx tx;
    sim_rx rx;
    uint64_t v;
} stuck_st;

static int stuck_poll(void *state, sim_world *w)
{
    stuck_st *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_recv(&s->rx, &s->v));
    SIM_END(rc);
}

static const sim_key_spec stuck_keys[] = {
    {"stuck", "stuck", SIM_KEY_BOOL, "true", NULL, 0, 0, "deadlock"},
};

static int stuck_setup(void *ud, sim_world *w, const sim_scenario *sc, void **run_state,
                       char *err, size_t err_size)
{
    (void)ud, (void)run_state, (void)err, (void)err_size;
    if (!sim_scenario_bool(sc, "stuck", "stuck")) return SIM_OK;
    sim_chan_desc one = {.kind = SIM_CHAN_ONESHOT, .msg_size = 8, .name = "never"};
    stuck_st s = {0};
    int rc = sim_chan_new(w, &one, &s.tx, &s.rx);
    if (rc != SIM_OK) return rc;
    sim_task_desc d = {.name = "stuck", .poll = stuck_poll, .state = &s, .state_size = sizeof s,
                       .moves = SIM_MOVES(&s.tx, &s.rx)};
    return sim_spawn(w, &d, NULL);
}

static int stuck_check(void *ud, void *run_state, sim_world *w, char *msg, size_t msg_size)
{
    (void)ud, (void)run_state, (void)w, (void)msg, (void)msg_size;
    checks_called++;
    return SIM_OK;
}

static const sim_system stuck_system = {.name = "stuck", .summary = "deadlocks, or not",
                                        .keys = stuck_keys, .key_count = 1,
                                        .setup = stuck_setup, .check = stuck_check};
static const sim_system *const stuck_only[] = {&stuck_system};

/* Goal: a system's check runs after a run that ended normally and not after a deadlock, as
 * sim.h and docs/api.md say (sim.h said "whatever its result"). Method: a system that
 * deadlocks or not, its check counting its calls. */
Test(scenario, check_runs_only_after_a_normal_end)
{
    sim_scenario *sc = parse_held("s.ini", "[scenario]\nname = s\nsystem = stuck\n", stuck_only,
                                  1);
    sim_run_result r;
    checks_called = 0;
    cr_assert(eq(int, sim_scenario_run(sc, 1, &r), SIM_OK));
    cr_assert(eq(str, (char *)r.result, "deadlock"));
    cr_assert(eq(u32, checks_called, 0));
    sim_run_result_free(&r);
    scenario_done(sc);
    sc = parse_held("s.ini", "[scenario]\nname = s\nsystem = stuck\n[stuck]\nstuck = false\n",
                    stuck_only, 1);
    cr_assert(eq(int, sim_scenario_run(sc, 1, &r), SIM_OK));
    cr_assert(eq(str, (char *)r.result, "pass"), "%s", r.detail);
    cr_assert(eq(u32, checks_called, 1));
    cr_assert(eq(str, r.report, ""));
    sim_run_result_free(&r);
    scenario_done(sc);
}
