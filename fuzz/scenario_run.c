/*
 * scenario_run.c: the scenario loader, then a run of the scenario's first seed.
 *
 * The input is a scenario file. One that loads gets its step limit lowered to STEP_CAP
 * (through sim_scenario_set, as `--set scenario.step_limit=...` would), so that one input stays
 * fast whatever its workload, and its first seed runs twice in this process, as
 * sim_scenario_run runs it for `sim run`. Oracles: the run never crashes, leaks or trips an
 * assertion, whatever the configuration; it returns SIM_OK with a known result; and the
 * two runs agree on result, hash, events, steps and virtual time (the determinism contract,
 * within one process).
 */
#include "fuzz.h"

#include "../systems/registry.h"

#define STEP_CAP 20000

static const char *const results[] = {"pass",      "deadlock",  "liveness", "steplimit",
                                      "diverged",  "violation", "check",    "setup",
                                      "interrupted", "error"};

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
    /* TODO(#15): the systems' end-of-run linearizability check has no bound yet (issue 15,
     * defect 13): a kv history of a few hundred operations under disk errors takes minutes
     * (fuzz/corpus/scenario_run/finding-check-unbounded.ini). Until it has one, kv's is off
     * here; the checker itself is fuzzed by edn_roundtrip and check_brute. */
    if (sim_scenario_get(sc, "check", "linearizable") != NULL) {
        rc = sim_scenario_set(sc, "check", "linearizable", "false", err, sizeof err);
        FUZZ_CHECK(rc == SIM_OK, "cannot turn the check off: %s", err);
    }
    uint64_t seed = sim_scenario_seed_first(sc);
    sim_run_result a, b;
    rc = sim_scenario_run(sc, seed, &a);
    FUZZ_CHECK(rc == SIM_OK, "the run returned %s", sim_result_name(rc));
    FUZZ_CHECK(known_result(a.result), "unknown result '%s'", a.result ? a.result : "(null)");
    FUZZ_CHECK(a.steps <= STEP_CAP + 1, "%llu steps past a limit of %d",
               (unsigned long long)a.steps, STEP_CAP);
    FUZZ_CHECK(a.failed == (strcmp(a.result, "pass") != 0), "failed %d with result %s",
               a.failed, a.result);
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
    sim_scenario_free(sc);
    return 0;
}
