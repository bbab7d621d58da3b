/*
 * bench.h: what the benchmarks share: the host clock (benchmarks are host-boundary code: they
 * time runs, and nothing they time reads it), exiting on a failed call, and medians.
 */
#ifndef SIM_BENCH_H
#define SIM_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "sim.h"

static inline uint64_t host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Process CPU time, user + system (getrusage), as the C peers measure their timers. */
static inline uint64_t host_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* Exits with a message unless rc is SIM_OK. */
static inline void must(int rc, const char *what)
{
    if (rc == SIM_OK) return;
    fprintf(stderr, "bench: %s failed: %s\n", what, sim_result_name(rc));
    exit(1);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs per figure: BENCH_RUNS from the environment (1..max), else def. Exits on a bad value. */
static inline int bench_runs(int def, int max)
{
    const char *s = getenv("BENCH_RUNS");
    if (s == NULL || *s == '\0') return def;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < 1 || v > max) {
        fprintf(stderr, "bench: BENCH_RUNS=%s: expected a number of runs in 1..%d\n", s, max);
        exit(2);
    }
    return (int)v;
}

/* The median of n figures (sorts them). */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

#endif /* SIM_BENCH_H */
