/*
 * bench_paxos.c: how fast the paxos system decides, in simulated time, and how fast sim runs
 * its leader-crash scenario, in wall time. One line per figure, the median of 5 runs:
 *
 *   paxos_decided_per_sim_s  entries decided per simulated second, from the first decision to
 *                            the last: scenarios/paxos/no-faults.ini with 3 nodes, 48 appends
 *                            each, think 5ms, warmup 1s (counted from the trace's "decided"
 *                            notes, the first time any node decides each index), SEEDS seeds
 *   paxos_seeds_per_s        seeds of scenarios/paxos/leader-crash.ini run and checked per wall
 *                            second, recording off, SEEDS seeds (default 200)
 *
 * One thread, one core. This file is a host-boundary file: it reads the host clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "../systems/registry.h"

#define RUNS 5

typedef struct decisions {
    uint64_t count;
    uint64_t first_ns, last_ns;
} decisions;

/* Counts the first decision of each index: the notes the ghost writes as "decided ...". */
static void on_event(void *ud, const sim_event *e)
{
    decisions *d = ud;
    if (e->kind != SIM_EV_NOTE || e->detail == NULL) return;
    if (strncmp(e->detail, "decided ", 8) != 0) return;
    if (d->count++ == 0) d->first_ns = e->vtime_ns;
    d->last_ns = e->vtime_ns;
}

static sim_scenario *load(const char *path)
{
    sim_scenario *sc = NULL;
    char err[512];
    if (sim_scenario_load(path, sim_systems, sim_system_count, &sc, err, sizeof err) != SIM_OK) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    return sc;
}

static void set(sim_scenario *sc, const char *key, const char *value)
{
    char err[256];
    if (sim_scenario_set(sc, "paxos", key, value, err, sizeof err) != SIM_OK) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
}

/* One seed of a fault-free scenario, run as the scenario runner would, with a trace sink. */
static void run_traced(const sim_scenario *sc, uint64_t seed, decisions *d)
{
    sim_world_desc wd = sim_scenario_world_desc(sc, seed);
    wd.trace = on_event;
    wd.trace_ud = d;
    sim_world *w = NULL;
    must(sim_world_new(&wd, &w), "sim_world_new");
    const sim_system *sys = sim_scenario_system(sc);
    void *state = NULL;
    char msg[512] = "";
    must(sys->setup(sys->ud, w, sc, &state, msg, sizeof msg), "setup");
    must(sim_world_run(w), "sim_world_run");
    if (sys->check(sys->ud, state, w, msg, sizeof msg) != SIM_OK) {
        fprintf(stderr, "bench: seed %llu: %s\n", (unsigned long long)seed, msg);
        exit(1);
    }
    sys->teardown(sys->ud, state);
    sim_world_free(w);
}

static double decided_per_sim_s(const sim_scenario *sc, uint64_t seeds)
{
    uint64_t count = 0, span = 0;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        decisions d = {0};
        run_traced(sc, seed, &d);
        count += d.count;
        span += d.last_ns - d.first_ns;
    }
    return span == 0 ? 0 : (double)count * 1e9 / (double)span;
}

static double seeds_per_s(const sim_scenario *sc, uint64_t seeds)
{
    uint64_t t0 = host_now_ns();
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        sim_run_result r;
        must(sim_scenario_run(sc, seed, &r), "sim_scenario_run");
        if (r.failed) {
            fprintf(stderr, "bench: seed %llu failed: %s %s\n", (unsigned long long)seed,
                    r.result, r.detail);
            exit(1);
        }
        sim_run_result_free(&r);
    }
    return (double)seeds * 1e9 / (double)(host_now_ns() - t0);
}

int main(int argc, char **argv)
{
    uint64_t seeds = argc > 1 ? strtoull(argv[1], NULL, 10) : 200;
    if (seeds == 0) {
        fprintf(stderr, "usage: sim-bench-paxos [SEEDS]\n");
        return 2;
    }
    sim_scenario *nf = load("scenarios/paxos/no-faults.ini");
    set(nf, "appends", "48");
    set(nf, "think", "5ms");
    set(nf, "warmup", "1s");
    sim_scenario *lc = load("scenarios/paxos/leader-crash.ini");
    double rate[RUNS], per_s[RUNS];
    for (int i = 0; i < RUNS; i++) rate[i] = decided_per_sim_s(nf, seeds / 10 + 1);
    for (int i = 0; i < RUNS; i++) per_s[i] = seeds_per_s(lc, seeds);
    printf("paxos_decided_per_sim_s %.0f entries per simulated s (no faults, 3 nodes, 48 "
           "appends each, think 5ms)\n", median(rate, RUNS));
    printf("paxos_seeds_per_s %.0f seeds/s (leader-crash, 3 nodes, 16 appends each, record "
           "off)\n", median(per_s, RUNS));
    sim_scenario_free(nf);
    sim_scenario_free(lc);
    return 0;
}
