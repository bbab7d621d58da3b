/*
 * bench_trace.c: what recording costs, on the demo world. One line per figure, "name value
 * unit", each the median of 5 runs of SEEDS seeds of scenarios/demo.ini:
 *
 *   record_off     runs with the hash chain and checkpoints only (sim run --record off)
 *   record_full    every event captured and written to a fresh trace database, one
 *                  transaction per run (sim run --record full)
 *
 * Built a second time with SIM_NO_HASH (make bench does it), the same binary measures the
 * executor with hashing compiled out, which is what the cost of the always-on hash is
 * measured against. This file is a host-boundary file: it reads the host clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "../src/scenario/scenario.h"
#include "../src/trace/store.h"
#include "../systems/registry.h"

#define RUNS 5

/* Runs the seeds; with a store, records each run with its events. Returns events per second. */
static double run_seeds(const sim_scenario *sc, uint64_t seeds, sim__store *st)
{
    uint64_t events = 0;
    uint64_t t0 = host_now_ns();
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        sim__run_opts ro = {.seed = seed, .capture = st != NULL};
        sim__outcome out;
        if (sim__run_seed(sc, &ro, &out) != SIM_OK || out.failed) {
            fprintf(stderr, "bench: seed %llu did not pass\n", (unsigned long long)seed);
            exit(1);
        }
        events += out.events;
        if (st != NULL) {
            sim__run_row row = {.scenario = "demo", .scenario_path = "demo.ini", .system = "demo",
                                .seed = seed, .strategy = "random",
                                .config = (char *)sim_scenario_canonical(sc),
                                .binary_version = "bench", .record_mode = "full",
                                .status = "done", .result = "pass", .trace_hash = out.hash,
                                .event_count = out.events, .step_count = out.steps,
                                .vtime_ns = out.vtime_ns, .events_stored = true};
            sim__run_data data = {.checkpoints = out.checkpoints,
                                  .ncheckpoints = out.ncheckpoints,
                                  .events = &out.events_buf};
            uint64_t id;
            if (sim__store_record(st, &row, &data, &id) != SIM_OK) {
                fprintf(stderr, "bench: %s\n", sim__store_error(st));
                exit(1);
            }
        }
        sim__outcome_free(&out);
    }
    return (double)events * 1e9 / (double)(host_now_ns() - t0);
}

int main(int argc, char **argv)
{
    uint64_t seeds = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000;
    const char *only = argc > 2 ? argv[2] : NULL;
    char err[512];
    sim_scenario *sc = NULL;
    if (sim_scenario_load("scenarios/demo.ini", sim_systems, sim_system_count, &sc, err,
                          sizeof err) != SIM_OK) {
        fprintf(stderr, "bench: %s (run from the repository root)\n", err);
        return 2;
    }
    double off[RUNS], full[RUNS];
    bool do_full = only == NULL || strcmp(only, "full") == 0;
    bool do_off = only == NULL || strcmp(only, "off") == 0;
    for (int r = 0; r < RUNS; r++) {
        if (do_off) off[r] = run_seeds(sc, seeds, NULL);
        if (!do_full) continue;
        char path[] = "/tmp/sim-bench-XXXXXX";
        int fd = mkstemp(path);
        close(fd);
        unlink(path);
        sim__store *st = NULL;
        if (sim__store_open(path, SIM__STORE_WRITE, &st, err, sizeof err) != SIM_OK) {
            fprintf(stderr, "bench: %s\n", err);
            return 1;
        }
        full[r] = run_seeds(sc, seeds, st);
        sim__store_close(st);
        char cleanup[128];
        snprintf(cleanup, sizeof cleanup, "%s-wal", path);
        unlink(cleanup);
        snprintf(cleanup, sizeof cleanup, "%s-shm", path);
        unlink(cleanup);
        unlink(path);
    }
    const char *suffix = getenv("SIM_BENCH_SUFFIX") ? getenv("SIM_BENCH_SUFFIX") : "";
    if (do_off) {
        qsort(off, RUNS, sizeof off[0], bench_cmp_double);
        printf("record_off%s %.0f events/s\n", suffix, off[RUNS / 2]);
    }
    if (do_full) {
        qsort(full, RUNS, sizeof full[0], bench_cmp_double);
        printf("record_full%s %.0f events/s\n", suffix, full[RUNS / 2]);
    }
    sim_scenario_free(sc);
    return 0;
}
