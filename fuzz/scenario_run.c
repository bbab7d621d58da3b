/*
 * scenario_run.c: the scenario loader, then a run of the scenario's first seed.
 *
 * The input is a scenario file. One that loads gets its step limit lowered to STEP_CAP and
 * its end-of-run check's bound to CHECK_STEP_CAP (through sim_scenario_set, as `--set
 * scenario.step_limit=...` would), so that one input stays fast whatever its workload, and
 * its first seed runs twice in this process, as sim_scenario_run runs it for `sim run`.
 * Oracles: the run never crashes, leaks or trips an assertion, whatever the configuration; it
 * returns SIM_OK with a known result that agrees with its failed flag; and the two runs agree
 * on result, detail, hash, events, steps, virtual time and fault plan (the determinism
 * contract, within one process).
 */
#include "fuzz.h"

#include "../systems/registry.h"

#define STEP_CAP 20000
#define CHECK_STEP_CAP 200000 /* [check] max_steps: a tenth of a second of search here */

static const char *const results[] = {"pass",      "deadlock",  "liveness", "steplimit",
                                      "diverged",  "violation", "check",    "setup",
                                      "interrupted", "error",     "unknown"};

static bool known_result(const char *r)
{
    for (size_t i = 0; r != NULL && i < sizeof results / sizeof results[0]; i++) {
        if (strcmp(r, results[i]) == 0) return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (text == NULL) return 0;
    sim_scenario *sc = NULL;
    char err[1024] = "";
    int rc = sim_scenario_parse("fuzz.ini", text, sim_systems, sim_system_count, &sc, err,
                                sizeof err);
    free(text);
    if (rc != SIM_OK) return 0;
    if (sim_scenario_uint(sc, "scenario", "step_limit") > STEP_CAP) {
        char cap[32];
        snprintf(cap, sizeof cap, "%d", STEP_CAP);
        rc = sim_scenario_set(sc, "scenario", "step_limit", cap, err, sizeof err);
        FUZZ_CHECK(rc == SIM_OK, "cannot lower the step limit: %s", err);
    }
    /* The systems' end-of-run linearizability check, bounded likewise: a kv history of a few
     * hundred operations under disk errors took minutes before it had a bound
     * (fuzz/corpus/scenario_run/finding-check-unbounded.ini); past it the result is unknown. */
    uint64_t check_steps = sim_scenario_uint(sc, "check", "max_steps");
    if (check_steps == 0 || check_steps > CHECK_STEP_CAP) {
        char cap[32];
        snprintf(cap, sizeof cap, "%d", CHECK_STEP_CAP);
        rc = sim_scenario_set(sc, "check", "max_steps", cap, err, sizeof err);
        FUZZ_CHECK(rc == SIM_OK, "cannot lower the check's bound: %s", err);
    }
    uint64_t seed = sim_scenario_seed_first(sc);
    sim_run_result a, b;
    rc = sim_scenario_run(sc, seed, &a);
    FUZZ_CHECK(rc == SIM_OK, "the run returned %s", sim_result_name(rc));
    FUZZ_CHECK(known_result(a.result), "unknown result '%s'", a.result ? a.result : "(null)");
    FUZZ_CHECK(a.steps <= STEP_CAP + 1, "%llu steps past a limit of %d",
               (unsigned long long)a.steps, STEP_CAP);
    /* Only pass passes, and unknown when [check] unknown = pass says so. */
    bool may_pass = strcmp(a.result, "pass") == 0 || strcmp(a.result, "unknown") == 0;
    FUZZ_CHECK(a.failed || may_pass, "result %s, not failed", a.result);
    FUZZ_CHECK(!a.failed || strcmp(a.result, "pass") != 0, "failed with result pass");
    rc = sim_scenario_run(sc, seed, &b);
    FUZZ_CHECK(rc == SIM_OK, "the second run returned %s", sim_result_name(rc));
    FUZZ_CHECK(strcmp(a.result, b.result) == 0 && a.hash == b.hash && a.events == b.events &&
                   a.steps == b.steps && a.vtime_ns == b.vtime_ns && a.faults == b.faults &&
                   strcmp(a.detail, b.detail) == 0 && strcmp(a.plan, b.plan) == 0,
               "seed %llu twice: %s %016llx %llu events %llu steps (%s), then %s %016llx %llu "
               "events %llu steps (%s)\n%s",
               (unsigned long long)seed, a.result, (unsigned long long)a.hash,
               (unsigned long long)a.events, (unsigned long long)a.steps, a.detail, b.result,
               (unsigned long long)b.hash, (unsigned long long)b.events,
               (unsigned long long)b.steps, b.detail, sim_scenario_canonical(sc));
    FUZZ_CHECK(strcmp(a.report, b.report) == 0, "seed %llu twice: the reports differ",
               (unsigned long long)seed);
    sim_run_result_free(&a);
    sim_run_result_free(&b);
    sim_scenario_free(sc);
    return 0;
}
