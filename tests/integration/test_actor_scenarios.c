/*
 * test_actor_scenarios.c: the actor system (systems/actor/, docs/systems/actor.md) through its
 * scenario files, run in process as `sim run` runs them.
 *
 * What is checked: the clean suite (no faults, crash-restart, spurious resumes, remote,
 * remote under partitions and crashes, swarm) passes its first seeds; every planted bug's
 * scenario finds its bug within its seed range through the oracle meant for it; each bug scenario
 * passes with the bug switched off; a seed's run is deterministic; bad [actor] values are
 * refused with the file, line and key.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../systems/registry.h"
#include "../scenariotest.h"

TestSuite(actor_scenarios, .fini = release_held);

static sim_scenario *load(const char *name)
{
    return load_held("actor", name, sim_systems, sim_system_count);
}

/* Goal: the clean suite passes. Method: the first 20 seeds of each file. */
Test(actor_scenarios, clean_suite_passes, .timeout = 300)
{
    const char *files[] = {"no-faults.ini", "crash-restart.ini", "spurious.ini", "remote.ini",
                           "remote-partition.ini", "swarm.ini"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        sim_scenario *sc = load(files[i]);
        cr_assert(not(sim_scenario_expect_fail(sc)));
        sim_run_result fail = {0};
        uint32_t failed = run_range(sc, 1, 20, &fail);
        cr_assert(eq(u32, failed, 0), "%s: %s: %s", files[i], fail.result, fail.detail);
        scenario_done(sc);
    }
}

typedef struct bug_case {
    const char *file;
    const char *result;      /* "violation": sim's own oracle (the ledger); "check": the system's */
    const char *words;       /* in the finding's detail */
} bug_case;

/* A Ret fired twice or never is an obligation of sim's ledger broken (every Ret is one), so
 * sim reports those itself, with the sites; the stream and pipe rules are the system's. */
static const bug_case bugs[] = {
    {"bug-ret-leak.ini", "violation", "\"an actor Ret fires once\" (made at systems/actor/"},
    {"bug-ret-twice.ini", "violation", "\"an actor Ret fires once\" (made at systems/actor/"},
    {"bug-zombie-calls.ini", "violation", "discharged twice: first at systems/actor/rt.c:"},
    {"bug-stream-dropped-first.ini", "check", "item(s) still queued: they are lost"},
    {"bug-pull-eager.ini", "check", "sent its request before it was polled"},
    {"bug-stream-no-end.ini", "violation", "was never discharged by the run's end"},
};

/* Goal: each planted bug's scenario finds its bug within its seeds, as a failure whose one
 * line says which invariant broke. Method: run the seeds until the first failure. */
Test(actor_scenarios, planted_bugs_found, .timeout = 300)
{
    for (size_t i = 0; i < sizeof bugs / sizeof bugs[0]; i++) {
        sim_scenario *sc = load(bugs[i].file);
        uint64_t seed;
        (void)first_failure(sc, bugs[i].file, bugs[i].result, bugs[i].words, &seed);
        scenario_done(sc);
    }
}

/* Goal: the failures are the bugs': with [actor] bug = none each bug scenario passes. */
Test(actor_scenarios, bug_scenarios_pass_without_bug, .timeout = 300)
{
    for (size_t i = 0; i < sizeof bugs / sizeof bugs[0]; i++) {
        sim_scenario *sc = load(bugs[i].file);
        passes_with(sc, bugs[i].file, "actor", "bug", "none", 10);
        scenario_done(sc);
    }
}

/* Goal: the same seed gives the same trace, in both modes and under faults. */
Test(actor_scenarios, runs_are_deterministic)
{
    const char *files[] = {"crash-restart.ini", "remote-partition.ini"};
    for (size_t i = 0; i < 2; i++) {
        sim_scenario *sc = load(files[i]);
        for (uint64_t s = 1; s <= 3; s++) {
            sim_run_result a = run_seed(sc, s);
            sim_run_result b = run_seed(sc, s);
            cr_assert(eq(u64, a.hash, b.hash), "%s seed %llu", files[i], (unsigned long long)s);
            cr_assert(eq(u64, a.events, b.events));
        }
        scenario_done(sc);
    }
}

/* Goal: bad [actor] values are refused with the file, line, key and what is expected. */
Test(actor_scenarios, bad_keys_are_refused)
{
    const char *texts[][2] = {
        {"[scenario]\nname = t\nsystem = actor\n[actor]\nbug = typo\n", "t.ini:5"},
        {"[scenario]\nname = t\nsystem = actor\n[actor]\nworkers = 17\n", "workers"},
        {"[scenario]\nname = t\nsystem = actor\n[actor]\nremote = maybe\n", "remote"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sim_scenario *sc = NULL;
        char err[512] = "";
        int rc = sim_scenario_parse("t.ini", texts[i][0], sim_systems, sim_system_count, &sc,
                                    err, sizeof err);
        cr_assert(eq(int, rc, SIM_EINVAL), "%s", texts[i][0]);
        cr_assert(ne(ptr, strstr(err, texts[i][1]), NULL), "%s", err);
        cr_assert(ne(ptr, strstr(err, "[actor]"), NULL), "%s", err);
    }
}
