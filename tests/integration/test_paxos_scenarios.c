/*
 * test_paxos_scenarios.c: the paxos system (systems/paxos/, docs/systems/paxos.md) through
 * its scenario files, run in process as `sim run` runs them.
 *
 * What is checked: the clean suite (no faults, leader crashes, partitions, loss and
 * duplication, swarm) passes its first seeds with cancellation = safe; the proposal's flaw
 * and every planted bug are found within their seed ranges, through the check meant for
 * them; each of those scenarios passes with the bug switched off (or with the safe policy);
 * the superseded heuristic passes the crash scenario; runs replay with the same hash; bad
 * [paxos] values are refused with the file, line and key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../systems/registry.h"
#include "../scenariotest.h"

TestSuite(paxos_scenarios, .fini = release_held);

static sim_scenario *load(const char *name)
{
    return load_held("paxos", name, sim_systems, sim_system_count);
}

/* Goal: the clean suite passes with the safe policy. Method: the first 30 seeds of each file
 * (CI runs the full ranges with sim run). */
Test(paxos_scenarios, clean_suite_passes, .timeout = 300)
{
    const char *files[] = {"no-faults.ini", "leader-crash.ini", "partition.ini", "loss-dup.ini",
                           "swarm.ini"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        sim_scenario *sc = load(files[i]);
        cr_assert(not(sim_scenario_expect_fail(sc)));
        cr_assert(eq(str, (char *)sim_scenario_get(sc, "paxos", "cancellation"), "safe"));
        sim_run_result fail = {0};
        uint32_t failed = run_range(sc, 1, 30, &fail);
        cr_assert(eq(u32, failed, 0), "%s: %s: %s", files[i], fail.result, fail.detail);
        scenario_done(sc);
    }
}

typedef struct bug_case {
    const char *file;
    const char *key;         /* [paxos] key that switches it off */
    const char *off;         /* and its value then */
    const char *words;       /* in the failing seed's detail */
} bug_case;

static const bug_case bugs[] = {
    {"flaw-proposal.ini", "cancellation", "safe", "cancelled entry decided: "},
    {"bug-promise-before-persist.ini", "bug", "none", "promise monotonicity: "},
    {"bug-forget-promise.ini", "bug", "none", "promise monotonicity: "},
    {"bug-minority-decide.ini", "bug", "none", "agreement: "},
    {"bug-stale-self-accept.ini", "bug", "none", "agreement: "},
};

/* Goal: both of the proposal's rules are unsound, and sim shows each: among the flaw
 * scenario's seeds 1..300, some fail first because rule 1 cancelled an entry later decided,
 * some because rule 2 did. Method: run the seeds; count the failures naming each rule. */
Test(paxos_scenarios, both_rules_of_the_proposal_fail, .timeout = 300)
{
    sim_scenario *sc = load("flaw-proposal.ini");
    uint32_t rule1 = 0, rule2 = 0;
    for (uint64_t s = 1; s <= 300; s++) {
        sim_run_result r = run_seed(sc, s);
        if (!r.failed) continue;
        cr_assert(ne(ptr, strstr(r.detail, "cancelled entry decided: "), NULL), "%s", r.detail);
        rule1 += strstr(r.detail, "(rule 1)") != NULL;
        rule2 += strstr(r.detail, "(rule 2)") != NULL;
    }
    cr_assert(lt(u32, 0, rule1));
    cr_assert(lt(u32, 0, rule2));
    scenario_done(sc);
}

/* Goal: the proposal's flaw and each planted bug are found (expect = fail), by the check
 * meant for it, and the finding replays bit for bit. Method: run the file's seeds until the
 * first failure; it must be a `check` failure naming that check; run that seed again: the
 * same hash, events and detail. */
Test(paxos_scenarios, flaw_and_planted_bugs_found, .timeout = 300)
{
    for (size_t i = 0; i < sizeof bugs / sizeof bugs[0]; i++) {
        sim_scenario *sc = load(bugs[i].file);
        uint64_t s;
        sim_run_result r = first_failure(sc, bugs[i].file, "check", bugs[i].words, &s);
        sim_run_result again = run_seed(sc, s);
        cr_assert(eq(u64, again.hash, r.hash), "%s seed %llu", bugs[i].file,
                  (unsigned long long)s);
        cr_assert(eq(u64, again.events, r.events));
        cr_assert(eq(str, again.detail, r.detail));
        scenario_done(sc);
    }
}

/* Goal: the failures are the bugs' (and the proposal's), not the scenarios': switched off
 * (bug = none; cancellation = safe for the flaw) each scenario passes. Method:
 * sim_scenario_set, then the first 40 seeds. */
Test(paxos_scenarios, scenarios_pass_without_the_bug, .timeout = 300)
{
    for (size_t i = 0; i < sizeof bugs / sizeof bugs[0]; i++) {
        sim_scenario *sc = load(bugs[i].file);
        passes_with(sc, bugs[i].file, "paxos", bugs[i].key, bugs[i].off, 40);
        scenario_done(sc);
    }
}

/* Goal: the superseded heuristic (the runtime's "maybe decided") is not held to "cancelled =>
 * never decided": the leader-crash scenario passes with it. Method: set the policy, 30 seeds. */
Test(paxos_scenarios, superseded_passes_leader_crashes, .timeout = 300)
{
    sim_scenario *sc = load("leader-crash.ini");
    char err[256];
    cr_assert(eq(int, sim_scenario_set(sc, "paxos", "cancellation", "superseded", err,
                                       sizeof err), SIM_OK), "%s", err);
    sim_run_result fail = {0};
    cr_assert(eq(u32, run_range(sc, 1, 30, &fail), 0), "%s: %s", fail.result, fail.detail);
    scenario_done(sc);
}

/* Goal: a seed replays bit for bit: a clean crash seed and the flaw's first failing seed
 * give the same hash, events and detail twice. Method: run each twice and compare. */
Test(paxos_scenarios, deterministic, .timeout = 120)
{
    sim_scenario *sc = load("swarm.ini");
    for (uint64_t s = 1; s <= 3; s++) {
        sim_run_result a = run_seed(sc, s), b = run_seed(sc, s);
        cr_assert(eq(u64, a.hash, b.hash), "seed %llu", (unsigned long long)s);
        cr_assert(eq(u64, a.events, b.events));
    }
    scenario_done(sc);
    sc = load("flaw-proposal.ini");
    uint64_t s = sim_scenario_seed_first(sc);
    while (s < sim_scenario_seed_last(sc) && !run_seed(sc, s).failed) s++;
    sim_run_result a = run_seed(sc, s), b = run_seed(sc, s);
    cr_assert(a.failed);
    cr_assert(eq(u64, a.hash, b.hash));
    cr_assert(eq(str, a.detail, b.detail));
    scenario_done(sc);
}

/* Goal: bad [paxos] values are refused at load, naming the file, line, key and what is
 * valid. Method: parse texts with the bad line on line 5. */
Test(paxos_scenarios, bad_values_refused)
{
    struct {
        const char *line;
        const char *words;
    } cases[] = {
        {"nodes = 2", "t.ini:5: [paxos] nodes: expected a whole number in 3..5"},
        {"nodes = 6", "t.ini:5: [paxos] nodes: "},
        {"appends = 0", "t.ini:5: [paxos] appends: "},
        {"cancellation = never", "t.ini:5: [paxos] cancellation: expected one of proposal, "
                                 "safe, superseded"},
        {"bug = typo", "t.ini:5: [paxos] bug: expected one of none, promise-before-persist"},
        {"election_timeout = soon", "t.ini:5: [paxos] election_timeout: expected a duration"},
        {"leader = n1", "t.ini:5: [paxos] unknown key 'leader'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256], err[512] = "";
        snprintf(text, sizeof text, "[scenario]\nname = t\nsystem = paxos\n[paxos]\n%s\n",
                 cases[i].line);
        sim_scenario *sc = NULL;
        int rc = sim_scenario_parse("t.ini", text, sim_systems, sim_system_count, &sc, err,
                                    sizeof err);
        cr_assert(eq(int, rc, SIM_EINVAL), "'%s' was accepted", cases[i].line);
        cr_assert(ne(ptr, strstr(err, cases[i].words), NULL), "'%s': %s", cases[i].line, err);
    }
}
