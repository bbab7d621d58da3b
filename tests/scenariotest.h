/*
 * scenariotest.h: scenarios parsed in unit tests. A test's scenarios are held and freed by
 * the suite's fini (TestSuite(name, .fini = release_held)) when an assertion ends the test
 * early, so that a failing test reports its failure, not a leak, under make check.
 */
#ifndef SIM_SCENARIOTEST_H
#define SIM_SCENARIOTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define HELD_MAX 8

static sim_scenario *held[HELD_MAX];

static inline sim_scenario *hold(sim_scenario *sc)
{
    for (size_t i = 0; sc != NULL && i < HELD_MAX; i++) {
        if (held[i] == NULL) {
            held[i] = sc;
            return sc;
        }
    }
    cr_assert(eq(ptr, sc, NULL), "more than %d scenarios held", HELD_MAX);
    return sc;
}

/* Frees a held scenario. */
static inline void scenario_done(sim_scenario *sc)
{
    for (size_t i = 0; i < HELD_MAX; i++) {
        if (held[i] == sc) held[i] = NULL;
    }
    sim_scenario_free(sc);
}

static inline void release_held(void)
{
    for (size_t i = 0; i < HELD_MAX; i++) {
        sim_scenario_free(held[i]);
        held[i] = NULL;
    }
}

/* Parses text as file `path` against systems; asserts success; the scenario is held. */
static inline sim_scenario *parse_held(const char *path, const char *text,
                                       const sim_system *const *systems, uint32_t nsystems)
{
    sim_scenario *sc = NULL;
    char err[1024] = "";
    int rc = sim_scenario_parse(path, text, systems, nsystems, &sc, err, sizeof err);
    cr_assert(eq(int, rc, SIM_OK), "parse failed: %s\n--- text ---\n%s", err, text);
    cr_assert(ne(ptr, sc, NULL));
    return hold(sc);
}

/* Runs one seed; asserts that it ran (pass or fail). */
/* One seed's result without what it owns (report and history are NULL: a test that reads
 * them calls sim_scenario_run and sim_run_result_free itself). */
static inline sim_run_result run_seed(const sim_scenario *sc, uint64_t seed)
{
    sim_run_result r;
    cr_assert(eq(int, sim_scenario_run(sc, seed, &r), SIM_OK));
    cr_assert(ne(ptr, (void *)r.result, NULL));
    sim_run_result_free(&r);
    return r;
}

/* Loads $SIM_SRC/scenarios/DIR/NAME (a bundled system's scenario file) against systems;
 * asserts success; the scenario is held. */
static inline sim_scenario *load_held(const char *dir, const char *name,
                                      const sim_system *const *systems, uint32_t nsystems)
{
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/scenarios/%s/%s", getenv("SIM_SRC"), dir, name);
    sim_scenario *sc = NULL;
    int rc = sim_scenario_load(path, systems, nsystems, &sc, err, sizeof err);
    cr_assert(eq(int, rc, SIM_OK), "%s", err);
    return hold(sc);
}

/* Runs seeds first..last; returns how many failed; the first failure's result and detail
 * (without what it owns, as run_seed). */
static inline uint32_t run_range(const sim_scenario *sc, uint64_t first, uint64_t last,
                                 sim_run_result *first_fail)
{
    cr_assert(le(u64, first, last));
    uint32_t failed = 0;
    for (uint64_t s = first; s <= last; s++) {
        sim_run_result r = run_seed(sc, s);
        if (r.failed && failed++ == 0 && first_fail != NULL) *first_fail = r;
    }
    return failed;
}

/* The first seed of sc's own range (an expect = fail file) that fails: asserts there is one
 * and that it fails as `result` with `words` in its detail; returns it, with its seed. */
static inline sim_run_result first_failure(const sim_scenario *sc, const char *file,
                                           const char *result, const char *words,
                                           uint64_t *seed)
{
    cr_assert(sim_scenario_expect_fail(sc), "%s", file);
    for (uint64_t s = sim_scenario_seed_first(sc); s <= sim_scenario_seed_last(sc); s++) {
        sim_run_result r = run_seed(sc, s);
        if (!r.failed) continue;
        cr_assert(eq(str, (char *)r.result, (char *)result), "%s seed %llu: %s", file,
                  (unsigned long long)s, r.detail);
        cr_assert(ne(ptr, strstr(r.detail, words), NULL), "%s seed %llu: %s", file,
                  (unsigned long long)s, r.detail);
        *seed = s;
        return r;
    }
    cr_assert(false, "%s: no seed found the bug", file);
    return (sim_run_result){0};
}

/* Sets [section] key = value (asserting it is accepted), then asserts seeds first..last all
 * pass: the failures a file finds are its bug's, not the scenario's. */
static inline void passes_with(sim_scenario *sc, const char *file, const char *section,
                               const char *key, const char *value, uint64_t last)
{
    char err[256] = "";
    cr_assert(eq(int, sim_scenario_set(sc, section, key, value, err, sizeof err), SIM_OK),
              "%s: %s", file, err);
    sim_run_result fail = {0};
    uint32_t failed = run_range(sc, 1, last, &fail);
    cr_assert(eq(u32, failed, 0), "%s: %s: %s", file, fail.result, fail.detail);
}

#endif /* SIM_SCENARIOTEST_H */
