/*
 * test_kv_scenarios.c: the kv system (systems/kv/, docs/systems/kv.md) through its scenario
 * files, run in process as `sim run` runs them (sim_scenario_load against the compiled-in
 * systems, sim_scenario_run per seed).
 *
 * What is checked: the clean suite (no faults, crash-restart, partitions, disk errors, swarm)
 * passes its first seeds; every planted bug's scenario finds its bug within its seed range,
 * through the check that bug is meant to trip; each bug scenario passes with the bug switched
 * off (so the failure is the bug's, not the scenario's); runs are deterministic; and bad [kv],
 * [workload] and [check] values are refused with the file, line and key.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../systems/registry.h"
#include "../scenariotest.h"

TestSuite(kv_scenarios, .fini = release_held);

static sim_scenario *load(const char *name)
{
    return load_held("kv", name, sim_systems, sim_system_count);
}

/* Goal: the clean suite passes: no faults, crashes with torn writes, partitions and clogs,
 * disk errors, swarm. Method: the first 15 seeds of each file (the full ranges run in CI with
 * sim run); any failure is reported with its detail. */
Test(kv_scenarios, clean_suite_passes, .timeout = 300)
{
    const char *files[] = {"no-faults.ini", "crash-restart.ini", "partition.ini",
                           "disk-errors.ini", "swarm.ini"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        sim_scenario *sc = load(files[i]);
        cr_assert(not(sim_scenario_expect_fail(sc)));
        sim_run_result fail = {0};
        uint32_t failed = run_range(sc, 1, 15, &fail);
        cr_assert(eq(u32, failed, 0), "%s: %s: %s", files[i], fail.result, fail.detail);
        scenario_done(sc);
    }
}

typedef struct bug_case {
    const char *file;
    const char *result;      /* the run's result when found */
    const char *words;       /* in the detail */
} bug_case;

static const bug_case bugs[] = {
    {"bug-no-fsync.ini", "check", "durable: "},
    {"bug-stale-index.ini", "check", "not linearizable"},
    {"bug-reader-leak.ini", "liveness", "did not converge"},
    {"bug-compaction-race.ini", "check", "errors: the server answered \"IO error: no such"},
    {"bug-no-torn-recovery.ini", "check", "recovers: server boot "},
};

/* Goal: each planted bug's scenario (expect = fail) finds its bug within its seeds, through
 * the check meant for it; the first seed that fails fails that way. Method: run the file's
 * seeds until the first failure; compare its result and detail. */
Test(kv_scenarios, planted_bugs_found, .timeout = 300)
{
    for (size_t i = 0; i < sizeof bugs / sizeof bugs[0]; i++) {
        sim_scenario *sc = load(bugs[i].file);
        uint64_t seed;
        sim_run_result r = first_failure(sc, bugs[i].file, bugs[i].result, bugs[i].words, &seed);
        cr_assert(lt(u64, strlen(r.detail), 400), "%s seed %llu", bugs[i].file,
                  (unsigned long long)seed);
        scenario_done(sc);
    }
}

/* Goal: the failures are the bugs', not the scenarios': with [kv] bug = none each bug
 * scenario passes. Method: sim_scenario_set the bug off; the first 10 seeds. */
Test(kv_scenarios, bug_scenarios_pass_without_bug, .timeout = 300)
{
    for (size_t i = 0; i < sizeof bugs / sizeof bugs[0]; i++) {
        sim_scenario *sc = load(bugs[i].file);
        passes_with(sc, bugs[i].file, "kv", "bug", "none", 10);
        scenario_done(sc);
    }
}

/* Goal: the end-of-run linearizability check has a default bound, counted in steps, so that a
 * heavy history cannot take a minute and most of a GB per seed, and a seed whose check
 * reaches it ends `unknown`, failed by default (issue 15, defect 13: this seed's check took
 * 50 s and 715 MB, searching 12.1M configurations before it found an order). Method: the
 * worst seed found, disk-errors.ini with half of all writes failing and five clients on one
 * key (1,485 operations, 422 of them info), seed 6; the world desc's bound is the default;
 * the run is unknown, naming the bound and the key. No time is asserted (timing belongs in
 * benchmarks): a test that ran the old check would take a minute and see `pass`. Since the
 * search places in-doubt twins in invocation order (issue 23), this seed's check finds its
 * order within the default bound, so the bound here is 100,000 steps. */
Test(kv_scenarios, heavy_check_is_bounded_and_unknown, .timeout = 300)
{
    sim_scenario *sc = load("disk-errors.ini");
    const char *sets[][3] = {{"faults", "write_eio", "0.5"}, {"workload", "keys", "1"},
                             {"workload", "clients", "5"}, {"workload", "ops", "300"}};
    char err[256];
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        cr_assert(eq(int, sim_scenario_set(sc, sets[i][0], sets[i][1], sets[i][2], err,
                                           sizeof err), SIM_OK), "%s", err);
    }
    cr_assert(eq(u64, sim_scenario_world_desc(sc, 6).check_max_steps,
                 SIM_CHECK_WORLD_MAX_STEPS));
    cr_assert(eq(int, sim_scenario_set(sc, "check", "max_steps", "100000", err, sizeof err),
                 SIM_OK), "%s", err);
    sim_run_result r = run_seed(sc, 6);
    cr_assert(eq(str, (char *)r.result, "unknown"), "%s: %s", r.result, r.detail);
    cr_assert(r.failed);
    cr_assert(eq(int, r.rc, SIM_OK));
    cr_assert(ne(ptr, strstr(r.detail, "the search reached its bound of 100000 steps on key "
                                       "\"k0\" (model kv); raise [check] max_steps"), NULL),
              "%s", r.detail);
    scenario_done(sc);
}

/* Goal: a seed is deterministic: the crash scenario and a failing bug seed give the same hash,
 * events and result twice. Method: run seeds twice and compare. */
Test(kv_scenarios, deterministic)
{
    sim_scenario *sc = load("crash-restart.ini");
    for (uint64_t s = 1; s <= 3; s++) {
        sim_run_result a = run_seed(sc, s), b = run_seed(sc, s);
        cr_assert(eq(u64, a.hash, b.hash), "seed %llu", (unsigned long long)s);
        cr_assert(eq(u64, a.events, b.events));
        cr_assert(eq(str, (char *)a.result, (char *)b.result));
    }
    scenario_done(sc);
    sc = load("bug-no-fsync.ini");
    sim_run_result a = run_seed(sc, 1), b = run_seed(sc, 1);
    cr_assert(a.failed);
    cr_assert(eq(u64, a.hash, b.hash));
    cr_assert(eq(str, a.detail, b.detail));
    scenario_done(sc);
}

/* Goal: bad values in [kv], [workload] and [check] are refused at load, naming the file, the
 * line, the section and key, and what is valid; a mix of all zeros is refused when the run is
 * set up. Method: parse written texts with the bad line on line 5. */
Test(kv_scenarios, bad_values_refused)
{
    struct {
        const char *section;
        const char *line;
        const char *words;
    } cases[] = {
        {"kv", "bug = typo", "t.ini:5: [kv] bug: expected one of none, no-fsync, stale-index"},
        {"kv", "sync = sometimes", "t.ini:5: [kv] sync: expected one of always, never"},
        {"kv", "readers = 0", "t.ini:5: [kv] readers: expected a whole number in 1..64"},
        {"kv", "compact_threshold = 10", "t.ini:5: [kv] compact_threshold: "},
        {"workload", "clients = 33", "t.ini:5: [workload] clients: expected a whole number"},
        {"workload", "keys = 0", "t.ini:5: [workload] keys: "},
        {"workload", "timeout = soon", "t.ini:5: [workload] timeout: expected a duration"},
        {"check", "durable = maybe", "t.ini:5: [check] durable: "},
        {"check", "nosuch = true", "t.ini:5: [check] unknown key 'nosuch'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256], err[512] = "";
        snprintf(text, sizeof text, "[scenario]\nname = t\nsystem = kv\n[%s]\n%s\n",
                 cases[i].section, cases[i].line);
        sim_scenario *sc = NULL;
        int rc = sim_scenario_parse("t.ini", text, sim_systems, sim_system_count, &sc, err,
                                    sizeof err);
        cr_assert(eq(int, rc, SIM_EINVAL), "'%s' was accepted", cases[i].line);
        cr_assert(ne(ptr, strstr(err, cases[i].words), NULL), "'%s': %s", cases[i].line, err);
    }
    sim_scenario *sc = parse_held("t.ini", "[scenario]\nname = t\nsystem = kv\nseeds = 1\n"
                                           "[workload]\nget = 0\nset = 0\nrm = 0\n",
                                  sim_systems, sim_system_count);
    sim_run_result r = run_seed(sc, 1);
    cr_assert(r.failed);
    cr_assert(eq(str, (char *)r.result, "setup"));
    cr_assert(ne(ptr, strstr(r.detail, "[workload] get, set and rm are all 0"), NULL), "%s",
              r.detail);
}
