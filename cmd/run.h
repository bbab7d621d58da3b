/*
 * run.h: what sim run's files share. cmd_run.c reads the options, hands the seeds to worker
 * processes (run_pool.c; one for --jobs 1), and records and reports every result in
 * the order of the seeds; run_report.c draws the progress line and writes the JUnit report.
 */
#ifndef SIM_CMD_RUN_H
#define SIM_CMD_RUN_H

#include "cli.h"

typedef enum record_mode { RECORD_OFF, RECORD_FAIL, RECORD_FULL } record_mode;

typedef struct run_opts {
    char **paths;      /* scenario files, folders expanded; owned */
    int npaths;
    int cap;
    bool seeds_given;
    uint64_t seed_first;
    uint64_t seed_last;
    const char *db;
    record_mode record;
    const char *strategy;
    cli_sets sets;
    const char *sweep;   /* a fault point, or NULL */
    uint64_t sweep_max;  /* runs per seed under --sweep or --cancel-sweep */
    bool cancel_sweep;   /* --cancel-sweep */
    bool quiet;
    uint32_t jobs;       /* worker processes (1: one, still not this process) */
    uint64_t shard_k, shard_n; /* --shard K/N; shard_n 0: the whole suite */
    bool check_determinism;
    const char *junit;
    uint64_t budget_ns;  /* --time-budget; 0: none */
    uint64_t shrink_runs; /* --shrink N: candidate runs per failing seed; 0: no shrinking */
} run_opts;

/* The longest sweep assignment ("faults.fail_hit=POINT K", "scenario.cancel_at=K"), with its
 * NUL. */
#define RUN_SWEEP_MAX 176

/* One seed of one scenario: what a worker is given. Under --sweep it is several runs. */
typedef struct run_unit {
    uint32_t sc;
    uint64_t seed;
} run_unit;

/* Receives each run of a unit, in order; returns 0 or EXIT_USAGE (stop). The outcome is the
 * callee's to free. sweep is the assignment a sweep's run was made under ("faults.fail_hit=POINT
 * K", "scenario.cancel_at=K"), or NULL. */
typedef int (*run_emit)(void *ctx, uint32_t unit, sim__outcome *out, const char *sweep);

/* Runs every run of one unit (cmd_run.c); 0, or EXIT_USAGE when out of memory or when emit
 * says to stop. */
int run_unit_exec(const run_opts *o, sim_scenario *sc, uint32_t ui, uint64_t seed,
                  run_emit emit, void *ctx);

/* ---- worker processes (run_pool.c) ------------------------------------------------------- */

/* What the pool calls back in the parent, in unit order. */
typedef struct pool_sink {
    void *ctx;
    run_emit result;                       /* each run */
    int (*unit_done)(void *ctx, uint32_t unit); /* after a unit's last run */
    bool (*may_start)(void *ctx);          /* false once the time budget is spent */
    void (*tick)(void *ctx);               /* now and then, for the progress line */
} pool_sink;

/* Runs units[0..n) in o->jobs forked workers, delivering results in unit order. On Ctrl-C
 * the workers stop, and what finished is delivered. 0, or EXIT_USAGE. */
int run_pool(const run_opts *o, sim_scenario **scs, const run_unit *units, uint32_t n,
             const pool_sink *sink);

/* ---- progress and JUnit (run_report.c) --------------------------------------------------- */

typedef struct progress {
    bool on;             /* not --quiet */
    bool tty;            /* stderr is a terminal: redraw in place */
    bool shown;          /* a line is on the terminal */
    uint64_t total, done, failed;
    uint64_t start_ns, last_ns;
} progress;

void progress_start(progress *p, bool quiet, uint64_t total);
/* Redraws (a terminal: at most ten times a second) or prints a line every 10 s. */
void progress_tick(progress *p);
/* Takes the line off the terminal before other output. */
void progress_clear(progress *p);

typedef struct junit_case {
    uint32_t sc;
    uint64_t seed;
    char *sweep;         /* NULL unless --sweep */
    bool failed;
    bool unknown;        /* result unknown: failed or not per [check] unknown */
    char *result;
    char *detail;
    char *replay;
    char *plan;
    uint64_t wall_ns;
} junit_case;

typedef struct junit_log {
    junit_case *c;
    size_t n, cap;
    bool oom;
} junit_log;

void junit_add(junit_log *j, const junit_case *c);
void junit_free(junit_log *j);
/* Writes the report: one testsuite per scenario, one testcase per run. 0 or EXIT_USAGE
 * (message printed). */
int junit_write(const char *path, sim_scenario **scs, uint32_t nsc, const junit_log *j);

#endif /* SIM_CMD_RUN_H */
