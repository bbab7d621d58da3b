/*
 * test_regressions.c: the seeds that once failed. Every fixed bug leaves its seed behind as a
 * scenario file whose name holds "regress" (scenarios/kv/regress-1726-fsync-rm.ini,
 * scenarios/gossip-regress-1227.ini, ...): the settings it failed under and that seed. Each
 * must pass every one of its seeds, run in process as `sim run` runs them.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../systems/registry.h"
#include "../scenariotest.h"

TestSuite(regressions, .fini = release_held);

/* Runs every seed of one file; asserts each passes. */
static void run_file(const char *path)
{
    char err[512] = "";
    sim_scenario *sc = NULL;
    int rc = sim_scenario_load(path, sim_systems, sim_system_count, &sc, err, sizeof err);
    cr_assert(eq(int, rc, SIM_OK), "%s", err);
    hold(sc);
    cr_assert(not(sim_scenario_expect_fail(sc)), "%s: a regression must expect pass", path);
    uint64_t first = sim_scenario_seed_first(sc), last = sim_scenario_seed_last(sc);
    cr_assert(le(u64, last - first, 100), "%s: a regression keeps a few seeds", path);
    for (uint64_t s = first; s <= last; s++) {
        sim_run_result r = run_seed(sc, s);
        cr_assert(not(r.failed), "%s seed %llu: %s: %s", path, (unsigned long long)s, r.result,
                  r.detail);
    }
    scenario_done(sc);
}

/* Goal: every regression scenario passes its seeds. Method: glob scenarios/ and its
 * folders for *regress*.ini (at least the two this suite was started with), load and run
 * each. */
Test(regressions, every_regression_scenario_passes, .timeout = 300)
{
    const char *patterns[] = {"scenarios/*regress*.ini", "scenarios/*/*regress*.ini"};
    uint32_t files = 0;
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        char pattern[512];
        snprintf(pattern, sizeof pattern, "%s/%s", getenv("SIM_SRC"), patterns[p]);
        glob_t g;
        int rc = glob(pattern, 0, NULL, &g);
        cr_assert(rc == 0 || rc == GLOB_NOMATCH, "glob %s: %d", pattern, rc);
        for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++, files++) run_file(g.gl_pathv[i]);
        if (rc == 0) globfree(&g);
    }
    cr_assert(le(u32, 2, files), "found %u regression scenario(s)", files);
}
