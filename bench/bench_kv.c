/*
 * bench_kv.c: how fast sim runs the kv system, on scenarios/kv/crash-restart.ini (a server and
 * two clients: 3 nodes, 1,000 operations per seed, crashes with torn writes, compaction, then a
 * liveness phase), with recording off: the hash chain and the system's checks only, as
 * `sim run --record off` runs a passing seed. One line per figure, each the median of 5 runs
 * of SEEDS seeds (default 200):
 *
 *   kv_seeds_per_s       seeds run and checked (linearizability included) per wall second
 *   kv_sim_to_wall       simulated seconds per wall second over the same seeds
 *
 * One thread, one core. This file is a host-boundary file: it reads the host clock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "../systems/registry.h"

#define RUNS 5

/* Runs the seeds; returns seeds per wall second, and simulated per wall seconds in *ratio. */
static double run_seeds(const sim_scenario *sc, uint64_t seeds, double *ratio)
{
    uint64_t vtime = 0;
    uint64_t t0 = host_now_ns();
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        sim_run_result r;
        must(sim_scenario_run(sc, seed, &r), "sim_scenario_run");
        if (r.failed) {
            fprintf(stderr, "bench: seed %llu failed: %s %s\n", (unsigned long long)seed,
                    r.result, r.detail);
            exit(1);
        }
        vtime += r.vtime_ns;
        sim_run_result_free(&r);
    }
    double wall = (double)(host_now_ns() - t0);
    *ratio = (double)vtime / wall;
    return (double)seeds * 1e9 / wall;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "scenarios/kv/crash-restart.ini";
    uint64_t seeds = argc > 2 ? strtoull(argv[2], NULL, 10) : 200;
    if (seeds == 0) {
        fprintf(stderr, "usage: sim-bench-kv [SCENARIO [SEEDS]]\n");
        return 2;
    }
    sim_scenario *sc = NULL;
    char err[512];
    if (sim_scenario_load(path, sim_systems, sim_system_count, &sc, err, sizeof err) != SIM_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    double rate[RUNS], ratio[RUNS];
    for (int i = 0; i < RUNS; i++) rate[i] = run_seeds(sc, seeds, &ratio[i]);
    printf("kv_seeds_per_s %.0f seeds/s (crash-restart, 3 nodes, 1000 ops, record off)\n",
           median(rate, RUNS));
    printf("kv_sim_to_wall %.0f simulated s per wall s\n", median(ratio, RUNS));
    sim_scenario_free(sc);
    return 0;
}
