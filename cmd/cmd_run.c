/*
 * cmd_run.c: sim run.
 *
 * sim run loads every scenario first (a bad file stops everything before a single seed runs)
 * and lists the suite's seeds as units (scenario, seed), keeping every N-th under --shard.
 * The units run in worker processes (run_pool.c), one for --jobs 1, so that a seed whose
 * system crashes its process fails as `crash` and the suite goes on; this process alone
 * records each run, prints failures and counts, in the order of the units, so the output and
 * the database do not depend on --jobs.
 *
 * Record mode `fail` runs a failing seed a second time with every event captured: the run is
 * deterministic, so the second run must have the same hash, and a different one is reported
 * as nondeterminism. --check-determinism runs every seed twice.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

static const char usage_run[] =
    "usage: sim run SCENARIO|FOLDER... [--seed N | --seeds A..B] [--db FILE]\n"
    "               [--jobs N] [--shard K/N] [--time-budget D] [--junit FILE]\n"
    "               [--record off|fail|full] [--check-determinism] [--strategy S]\n"
    "               [--set S.K=V]... [--sweep POINT | --cancel-sweep] [--sweep-max N]\n"
    "               [--shrink N] [--quiet]\n"
    "\n"
    "Runs each scenario file (a folder: every .ini file under it, sorted by path) over its\n"
    "seeds. Prints each failing seed with the command that replays it (a deadlock or\n"
    "liveness failure with the tasks left waiting), a table of the scenarios, then\n"
    "\"N passed, N failed\" (seeds).\n"
    "\n"
    "  --seed N          run only seed N\n"
    "  --seeds A..B      run seeds A to B instead of each scenario's own range\n"
    "  --db FILE         record the runs in FILE (created if missing)\n"
    "  --jobs N          run seeds in N worker processes (default: the number of cores);\n"
    "                    the results and the database are the same whatever N is\n"
    "  --shard K/N       run every N-th seed of the suite starting at the K-th (0 <= K < N),\n"
    "                    for one machine of N; sim merge joins the shards' databases\n"
    "  --time-budget D   start no more seeds once D (90s, 10m, 2h) has passed\n"
    "  --junit FILE      write a JUnit XML report: a testsuite per scenario, a testcase per\n"
    "                    seed\n"
    "  --record MODE     off: each run's result, hash and checkpoints, no events, nothing\n"
    "                    run twice; fail (default): a failing seed is run again and\n"
    "                    recorded with every event; full: every event of every run\n"
    "  --check-determinism\n"
    "                    run every seed twice, the second time in a forked process with a\n"
    "                    different heap; a difference fails the seed as nondeterministic,\n"
    "                    naming the first step where the runs part\n"
    "  --strategy S      override the scenarios' strategy: fifo, random, pct, pct:D, pct:D:K,\n"
    "                    pct:D:auto (K from each seed's fifo run)\n"
    "  --set S.K=V       override key K of section S in every scenario, as if the file said\n"
    "                    so (--set faults.crash=1/10s); repeatable\n"
    "  --sweep POINT     for each seed, fail the k-th hit of fault point POINT for k = 0, 1,\n"
    "                    2, ... (one run each) until a run no longer reaches hit k\n"
    "  --cancel-sweep    for each seed, abort the task at the k-th cancellable await for\n"
    "                    k = 1, 2, ... (one run each; [scenario] cancel_at) until a run no\n"
    "                    longer reaches await k; then make the other branch win at the k-th\n"
    "                    branch point (a select, or a timeout that fires now; branch_at)\n"
    "  --sweep-max N     at most N runs per seed in a sweep (default 1000)\n"
    "  --shrink N        shrink each failing seed's recorded run with at most N candidate\n"
    "                    runs (sim shrink; needs --db), after the suite\n"
    "  --quiet           print only failures and the summary\n"
    "\n"
    "Progress goes to stderr: a line redrawn in place on a terminal, otherwise a line every\n"
    "10 s.\n"
    "\n"
    "exit status: 0 when every scenario meets its expect, 1 when one does not, 2 on bad\n"
    "arguments or files, 130 when interrupted (runs finished so far are kept).\n";

static const char *const record_names[] = {"off", "fail", "full"};

static int add_path(run_opts *o, const char *path)
{
    if (o->npaths == o->cap) {
        int ncap = o->cap ? o->cap * 2 : 16;
        char **p = realloc(o->paths, (size_t)ncap * sizeof *p);
        if (p == NULL) return -1;
        o->paths = p;
        o->cap = ncap;
    }
    if ((o->paths[o->npaths] = strdup(path)) == NULL) return -1;
    o->npaths++;
    return 0;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every .ini file under a folder, recursively; the caller sorts. */
static int add_folder(run_opts *o, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) return cli_usage_error(NULL, "%s: cannot read the folder", dir);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0) continue; /* a symlinked folder is not followed (loops) */
        if (S_ISLNK(sb.st_mode) && (stat(path, &sb) != 0 || S_ISDIR(sb.st_mode))) continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(sb.st_mode)) {
            rc = add_folder(o, path);
        } else if (n > 4 && strcmp(e->d_name + n - 4, ".ini") == 0 && add_path(o, path) != 0) {
            rc = cli_usage_error(NULL, "out of memory");
        }
    }
    closedir(d);
    return rc;
}

/* A file is taken as it is; a folder gives its .ini files in path order. */
static int add_argument(run_opts *o, const char *arg)
{
    struct stat sb;
    if (stat(arg, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        return add_path(o, arg) == 0 ? 0 : cli_usage_error(NULL, "out of memory");
    }
    int first = o->npaths;
    int rc = add_folder(o, arg);
    if (rc == 0 && o->npaths == first) {
        return cli_usage_error(usage_run, "%s: no .ini scenario files in this folder", arg);
    }
    qsort(o->paths + first, (size_t)(o->npaths - first), sizeof *o->paths, cmp_path);
    return rc;
}

/* "K/N" with 0 <= K < N. */
static int parse_shard(const char *v, run_opts *o)
{
    const char *slash = strchr(v, '/');
    char k[32];
    if (slash == NULL || (size_t)(slash - v) >= sizeof k) return -1;
    snprintf(k, sizeof k, "%.*s", (int)(slash - v), v);
    if (cli_parse_u64(k, &o->shard_k) != 0 || cli_parse_u64(slash + 1, &o->shard_n) != 0) {
        return -1;
    }
    return o->shard_n == 0 || o->shard_k >= o->shard_n || o->shard_n >= SIM__STORE_SHARDS ? -1
                                                                                          : 0;
}

/* The options that take a value and are new in suites: --jobs, --shard, --time-budget and
 * --junit. 1 when a is not one of them. */
static int parse_suite_option(int argc, char **argv, int *i, run_opts *o)
{
    const char *a = argv[*i], *v;
    bool jobs = strcmp(a, "--jobs") == 0, shard = strcmp(a, "--shard") == 0;
    bool budget = strcmp(a, "--time-budget") == 0, junit = strcmp(a, "--junit") == 0;
    if (!jobs && !shard && !budget && !junit) return 1;
    if ((v = cli_value(argc, argv, i, a, usage_run)) == NULL) return EXIT_USAGE;
    uint64_t n = 0;
    if (jobs && (cli_parse_u64(v, &n) != 0 || n == 0 || n > 1024)) {
        return cli_usage_error(usage_run, "--jobs expects a number from 1 to 1024, got '%s'", v);
    }
    if (shard && parse_shard(v, o) != 0) {
        return cli_usage_error(usage_run, "--shard expects K/N with 0 <= K < N (0/4 is the "
                                          "first of 4 shards), got '%s'", v);
    }
    if (budget &&
        (sim__parse_host_duration(v, &o->budget_ns) != SIM_OK || o->budget_ns == 0)) {
        return cli_usage_error(usage_run, "--time-budget expects a duration such as 90s, 10m "
                                          "or 2h, got '%s'", v);
    }
    if (jobs) o->jobs = (uint32_t)n;
    if (junit) o->junit = v;
    return 0;
}

/* The options without a value; false for anything else. */
static bool parse_flag(const char *a, run_opts *o)
{
    bool *flag = strcmp(a, "--check-determinism") == 0 ? &o->check_determinism
                 : strcmp(a, "--quiet") == 0          ? &o->quiet
                 : strcmp(a, "--cancel-sweep") == 0   ? &o->cancel_sweep
                                                      : NULL;
    if (flag != NULL) *flag = true;
    return flag != NULL;
}

/* --shrink N: 0, or the exit status of a usage error. */
static int parse_shrink(int argc, char **argv, int *i, run_opts *o)
{
    const char *v = cli_value(argc, argv, i, "--shrink", usage_run);
    if (v == NULL) return EXIT_USAGE;
    if (cli_parse_u64(v, &o->shrink_runs) != 0 || o->shrink_runs == 0 ||
        o->shrink_runs > 1000000) {
        return cli_usage_error(usage_run,
                               "--shrink expects a number of runs from 1 to 1000000, got '%s'",
                               v);
    }
    return 0;
}

/* --seed N or --seeds A..B (opt names which), its value v. */
static int parse_seeds(const char *opt, const char *v, run_opts *o)
{
    bool one = strcmp(opt, "--seed") == 0;
    int bad = one ? cli_parse_u64(v, &o->seed_first)
                  : cli_parse_range(v, &o->seed_first, &o->seed_last);
    if (one) o->seed_last = o->seed_first;
    if (bad) {
        return cli_usage_error(usage_run, "%s expects %s, got '%s'", opt,
                               one ? "a number" : "A..B with A <= B", v);
    }
    SIM_ASSERT(o->seed_first <= o->seed_last);
    o->seeds_given = true;
    return 0;
}

/* --record MODE. */
static int parse_record(const char *v, run_opts *o)
{
    for (int k = 0; k < 3; k++) {
        if (strcmp(v, record_names[k]) == 0) {
            o->record = (record_mode)k;
            return 0;
        }
    }
    return cli_usage_error(usage_run, "--record expects off, fail or full, got '%s'", v);
}

static int parse_run(int argc, char **argv, run_opts *o)
{
    o->record = RECORD_FAIL;
    o->sweep_max = 1000;
    o->jobs = (uint32_t)(cli_cores() > 1024 ? 1024 : cli_cores());
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        int rc = parse_suite_option(argc, argv, &i, o);
        if (rc != 1) {
            if (rc != 0) return rc;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_run);
            return -1;
        } else if (strcmp(a, "--seed") == 0 || strcmp(a, "--seeds") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
            if ((rc = parse_seeds(a, v, o)) != 0) return rc;
        } else if (strcmp(a, "--db") == 0) {
            if ((o->db = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--record") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
            if ((rc = parse_record(v, o)) != 0) return rc;
        } else if (strcmp(a, "--strategy") == 0) {
            if ((o->strategy = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--set") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
            rc = cli_sets_add(&o->sets, v, usage_run);
            if (rc != 0) return rc;
        } else if (strcmp(a, "--sweep") == 0) {
            if ((o->sweep = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--sweep-max") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
            if (cli_parse_u64(v, &o->sweep_max) != 0 || o->sweep_max == 0) {
                return cli_usage_error(usage_run, "--sweep-max expects a positive number, got "
                                                  "'%s'", v);
            }
        } else if (strcmp(a, "--shrink") == 0) {
            if ((rc = parse_shrink(argc, argv, &i, o)) != 0) return rc;
        } else if (parse_flag(a, o)) {
            continue;
        } else if (a[0] == '-') {
            return cli_usage_error(usage_run, "unknown option '%s'", a);
        } else {
            char clean[4096];
            size_t n = strlen(a);
            while (n > 1 && a[n - 1] == '/') n--; /* "scenarios/" and "scenarios" alike */
            snprintf(clean, sizeof clean, "%.*s", (int)n, a);
            rc = add_argument(o, clean);
            if (rc != 0) return rc;
        }
    }
    if (o->npaths == 0) return cli_usage_error(usage_run, "no scenario file given");
    if (o->shrink_runs > 0 && (o->db == NULL || o->record == RECORD_OFF)) {
        return cli_usage_error(usage_run, "--shrink needs the failing runs recorded: give --db "
                                          "FILE (and a --record mode other than off)");
    }
    if (o->sweep != NULL && o->cancel_sweep) {
        return cli_usage_error(usage_run, "--sweep and --cancel-sweep sweep one thing at a time");
    }
    return 0;
}

/* ---- one unit (in a worker process) ------------------------------------------------------- */

/* The command that runs the seed again from the file, with the same changes. */
static void scenario_command(const run_opts *o, const sim_scenario *sc, uint64_t seed,
                             const char *sweep, char *buf, size_t size)
{
    snprintf(buf, size, "%s replay --scenario %s --seed %llu", cli_prog(), sim_scenario_path(sc),
             (unsigned long long)seed);
    cli_sets_append(&o->sets, buf, size);
    if (sweep != NULL) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, " --set '%s'", sweep);
    }
}

/* Runs the seed; under record mode fail, a failure is run again with every event captured.
 * Under off nothing is run twice: the hash chain and the result are all that is kept. */
static int run_one(const run_opts *o, const sim_scenario *sc, uint64_t seed, const char *sweep,
                   sim__outcome *out)
{
    char hint[1024];
    scenario_command(o, sc, seed, sweep, hint, sizeof hint);
    sim__run_opts ro = {.seed = seed, .capture = o->record == RECORD_FULL,
                        .replay_hint = hint, .live_world = &cli_live_world};
    int rc = sim__run_seed(sc, &ro, out);
    if (rc != SIM_OK || !out->failed || out->captured || o->db == NULL || cli_interrupted ||
        o->record != RECORD_FAIL) {
        return rc;
    }
    SIM_ASSERT(!ro.capture);
    sim__outcome again;
    ro.capture = true;
    rc = sim__run_seed(sc, &ro, &again);
    if (rc != SIM_OK) return rc;
    if (again.hash != out->hash && !cli_interrupted) {
        again.result = "nondeterministic";
        again.failed = true;
        snprintf(again.detail, sizeof again.detail,
                 "seed %llu gave hash %016llx, then %016llx when run again to record it "
                 "(sim check-determinism finds where)",
                 (unsigned long long)seed, (unsigned long long)out->hash,
                 (unsigned long long)again.hash);
    }
    sim__outcome_free(out);
    *out = again;
    return SIM_OK;
}

static bool interrupted_run(const sim__outcome *out)
{
    return strcmp(out->result, "interrupted") == 0;
}

/* The system's check could not decide within its bound ([check] max_steps): neither a pass
 * nor a failure found, whatever [check] unknown makes it count as. */
static bool unknown_run(const sim__outcome *out)
{
    return strcmp(out->result, "unknown") == 0;
}

/* --check-determinism: the seed runs a second time in a forked child with a different heap
 * (run_fork.c); when the hash chains differ, twice more (here and in a child) with every
 * event captured to find the first event where they part. The first of those two is what
 * is recorded. */

static int run_twice(const run_opts *o, const sim_scenario *sc, uint64_t seed,
                     const char *sweep, sim__outcome *out)
{
    sim__outcome b;
    char hint[1024];
    scenario_command(o, sc, seed, sweep, hint, sizeof hint);
    sim__run_opts ro = {.seed = seed, .capture = out->captured, .replay_hint = hint,
                        .live_world = &cli_live_world};
    if (cli_run_seed_forked(sc, &ro, &b) != SIM_OK) return SIM_ENOMEM;
    uint32_t k = sim__first_checkpoint_difference(out->checkpoints, out->ncheckpoints,
                                                  b.checkpoints, b.ncheckpoints);
    bool same = k == UINT32_MAX && b.hash == out->hash;
    if (same || cli_interrupted || interrupted_run(&b)) {
        sim__outcome_free(&b);
        return SIM_OK;
    }
    if (strcmp(b.result, "crash") == 0) {
        char was[32];
        snprintf(was, sizeof was, "%s", out->result);
        out->failed = true;
        out->result = "nondeterministic";
        snprintf(out->detail, sizeof out->detail, "it ran to the end here (%s), but %.400s",
                 was, b.detail);
        sim__outcome_free(&b);
        return SIM_OK;
    }
    uint64_t lo, hi;
    sim__parting_steps(out->checkpoints, out->ncheckpoints, k, out->steps, &lo, &hi);
    uint64_t h1 = out->hash, h2 = b.hash;
    sim__outcome_free(&b);
    sim__outcome a;
    ro.capture = true;
    if (sim__run_seed(sc, &ro, &a) != SIM_OK) return SIM_ENOMEM;
    if (cli_run_seed_forked(sc, &ro, &b) != SIM_OK) {
        sim__outcome_free(&a);
        return SIM_ENOMEM;
    }
    uint64_t at = sim__first_difference(&a.events_buf, &b.events_buf);
    char where[96] = "";
    if (at != SIM__NO_DIFFERENCE) {
        uint64_t step = at < a.events_buf.n ? a.events_buf.ev[at].step : a.steps;
        snprintf(where, sizeof where, "; first differing event: #%llu, at step %llu",
                 (unsigned long long)at, (unsigned long long)step);
    }
    sim__outcome_free(&b);
    sim__outcome_free(out);
    *out = a;
    out->failed = true;
    out->result = "nondeterministic";
    snprintf(out->detail, sizeof out->detail,
             "two runs gave hashes %016llx and %016llx; they part between step %llu and step "
             "%llu%s", (unsigned long long)h1, (unsigned long long)h2, (unsigned long long)lo,
             (unsigned long long)hi, where);
    return SIM_OK;
}

static int run_checked(const run_opts *o, const sim_scenario *sc, uint64_t seed,
                       const char *sweep, sim__outcome *out)
{
    int rc = run_one(o, sc, seed, sweep, out);
    if (rc != SIM_OK || !o->check_determinism || cli_interrupted || interrupted_run(out)) {
        return rc;
    }
    rc = run_twice(o, sc, seed, sweep, out);
    if (rc != SIM_OK) sim__outcome_free(out);
    return rc;
}

static int out_of_memory(const sim_scenario *sc, uint64_t seed)
{
    cli_err("out of memory running %s seed %llu\n", sim_scenario_name(sc),
            (unsigned long long)seed);
    return EXIT_USAGE;
}

/* One kind of --cancel-sweep (key cancel_at or branch_at): point k, for k = 1, 2, ... until
 * a run reaches fewer than k such points (the last run changed nothing: it is the seed as it
 * is). The key is left at 0. */
static int cancel_sweep_kind(const run_opts *o, sim_scenario *sc, uint32_t ui, uint64_t seed,
                             const char *key, run_emit emit, void *ctx)
{
    int rc = 0;
    char value[32], err[1024], assign[64];
    for (uint64_t k = 1; rc == 0 && k <= o->sweep_max && !cli_interrupted; k++) {
        snprintf(value, sizeof value, "%llu", (unsigned long long)k);
        if (sim_scenario_set(sc, "scenario", key, value, err, sizeof err) != SIM_OK) {
            return cli_usage_error(NULL, "--cancel-sweep: %s", err);
        }
        snprintf(assign, sizeof assign, "scenario.%s=%s", key, value);
        sim__outcome out;
        if (run_checked(o, sc, seed, assign, &out) != SIM_OK) return out_of_memory(sc, seed);
        bool branch = strcmp(key, "branch_at") == 0;
        uint64_t points = branch ? out.branch_points : out.cancel_points;
        rc = emit(ctx, ui, &out, assign);
        if (points < k) break; /* point k was not reached: every reachable one was tried */
    }
    int set = sim_scenario_set(sc, "scenario", key, "0", err, sizeof err);
    SIM_ASSERT(set == SIM_OK);
    return rc;
}

/* --cancel-sweep: every cancellable await aborted in turn, then every branch point's other
 * branch made to win in turn. */
static int cancel_sweep(const run_opts *o, sim_scenario *sc, uint32_t ui, uint64_t seed,
                        run_emit emit, void *ctx)
{
    int rc = cancel_sweep_kind(o, sc, ui, seed, "cancel_at", emit, ctx);
    if (rc == 0 && !cli_interrupted) {
        rc = cancel_sweep_kind(o, sc, ui, seed, "branch_at", emit, ctx);
    }
    return rc;
}

int run_unit_exec(const run_opts *o, sim_scenario *sc, uint32_t ui, uint64_t seed,
                  run_emit emit, void *ctx)
{
    sim__outcome out;
    if (o->cancel_sweep) return cancel_sweep(o, sc, ui, seed, emit, ctx);
    if (o->sweep == NULL) {
        if (run_checked(o, sc, seed, NULL, &out) != SIM_OK) return out_of_memory(sc, seed);
        return emit(ctx, ui, &out, NULL);
    }
    /* --sweep: hit k of the point fails, for k = 0, 1, ... until a run does not reach it. */
    int rc = 0;
    for (uint64_t k = 0; rc == 0 && k < o->sweep_max && !cli_interrupted; k++) {
        char value[RUN_SWEEP_MAX - 16], err[1024], assign[RUN_SWEEP_MAX];
        snprintf(value, sizeof value, "%s %llu", o->sweep, (unsigned long long)k);
        if (sim_scenario_set(sc, "faults", "fail_hit", value, err, sizeof err) != SIM_OK) {
            return cli_usage_error(NULL, "--sweep: %s", err);
        }
        snprintf(assign, sizeof assign, "faults.fail_hit=%s", value);
        if (run_checked(o, sc, seed, assign, &out) != SIM_OK) return out_of_memory(sc, seed);
        uint64_t hits = out.fail_hits;
        rc = emit(ctx, ui, &out, assign);
        if (hits <= k) break; /* hit k was not reached: every reachable hit has failed */
    }
    return rc;
}

/* ---- recording and reporting, in unit order ------------------------------------------------ */

typedef struct sc_stat {
    uint64_t seeds, passed, failed, runs;
    uint64_t unknown;        /* seeds with an unknown run and no failed one */
    bool fastest_set;        /* the failing seed with the fewest steps */
    uint64_t fastest_seed, fastest_steps;
    uint64_t pct_runs;       /* runs under PCT, their k (the last run's) and lengths */
    uint64_t pct_k, pct_k_lo, pct_k_hi, steps_lo, steps_hi;
} sc_stat;

typedef struct run_ctx {
    const run_opts *o;
    sim__store *st;
    sim_scenario **scs;
    const run_unit *units;
    uint32_t nunits;
    sc_stat *stats;
    uint64_t passed, failed, unknown; /* seeds */
    uint32_t finished;       /* units */
    bool unit_counted, unit_failed, unit_unknown;
    bool budget_spent;
    uint32_t first_unstarted;
    progress prog;
    junit_log junit;
    uint64_t *to_shrink;     /* --shrink: the recorded runs of failing seeds, in order */
    uint32_t nshrink, shrink_cap;
} run_ctx;

/* The --set overrides a run ran under, one a line, and a --sweep run's fail_hit last. */
static void overrides_text(const run_opts *o, const char *sweep, char *buf, size_t size)
{
    SIM_ASSERT(size > 0);
    buf[0] = '\0';
    size_t n = 0;
    for (int i = 0; i < o->sets.n && n < size; i++) {
        n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "\n" : "", o->sets.item[i]);
    }
    if (sweep != NULL && n < size) snprintf(buf + n, size - n, "%s%s", n ? "\n" : "", sweep);
}

static int record_one(run_ctx *c, const sim_scenario *sc, const sim__outcome *out,
                      const char *sweep, uint64_t *run_id)
{
    *run_id = 0;
    if (c->st == NULL) return SIM_OK;
    char overrides[4096];
    overrides_text(c->o, sweep, overrides, sizeof overrides);
    char strategy[64];
    sim_world_desc d = sim_scenario_world_desc(sc, out->seed);
    sim_sched_format(&d.sched, strategy, sizeof strategy);
    bool interrupted = interrupted_run(out);
    sim__run_row row = {
        .scenario = (char *)sim_scenario_name(sc),
        .scenario_path = (char *)sim_scenario_path(sc),
        .system = (char *)sim_scenario_system(sc)->name,
        .seed = out->seed,
        .strategy = strategy,
        .config = (char *)sim_scenario_canonical(sc),
        .config_hash = cli_hash_text(sim_scenario_canonical(sc)),
        .binary_version = (char *)cli_version(),
        .record_mode = (char *)record_names[c->o->record],
        .status = interrupted ? "interrupted" : "done",
        .result = (char *)out->result,
        .detail = (char *)out->detail,
        .report = out->report,
        .trace_hash = out->hash,
        .event_count = out->events,
        .step_count = out->steps,
        .vtime_ns = out->vtime_ns,
        .wall_ms = out->wall_ns / 1000000,
        /* Off stores no events, even those --check-determinism captured to find where two
         * runs part (the detail says where). */
        .events_stored = out->captured && !interrupted && c->o->record != RECORD_OFF,
        .faults = (char *)out->plan,
        .fault_count = out->nfaults + out->faults_dropped,
        .overrides = overrides,
    };
    /* Faults are stored with the events: a run recorded in full, or a failure. */
    sim__run_data data = {.checkpoints = out->checkpoints, .ncheckpoints = out->ncheckpoints,
                          .violations = out->violations, .nviolations = out->nviolations,
                          .events = row.events_stored ? &out->events_buf : NULL,
                          .faults = out->faults,
                          .nfaults = row.events_stored ? out->nfaults : 0,
                          .history = row.events_stored ? out->history : NULL};
    if (sim__store_record(c->st, &row, &data, run_id) != SIM_OK) {
        cli_err("%s\n", sim__store_error(c->st));
        return SIM_EINVAL;
    }
    return SIM_OK;
}

#define HANG_ROWS 8u

/* A deadlock's or a liveness failure's hang report, briefly: its table of unfinished tasks
 * (what each awaits and since when), at most HANG_ROWS of them; the rest, and the timers, are
 * for `sim show --report` (run_id 0: not recorded). */
static void print_hang(const run_ctx *c, const sim__outcome *out, uint64_t run_id)
{
    bool hang = strcmp(out->result, "deadlock") == 0 || strcmp(out->result, "liveness") == 0;
    const char *at = hang && out->report ? strstr(out->report, "\n\n  task ") : NULL;
    if (at == NULL) return;
    at += 2;
    uint32_t rows = 0, more = 0;
    while (*at != '\0' && *at != '\n') {
        int len = (int)strcspn(at, "\n");
        if (rows++ <= HANG_ROWS) {
            printf("    %.*s\n", len, at);
        } else {
            more++;
        }
        at += len + (at[len] == '\n');
    }
    if (more > 0 && run_id != 0) {
        printf("      ... %u more task(s): %s show --db %s %llu --report\n", more, cli_prog(),
               c->o->db, (unsigned long long)run_id);
    } else if (more > 0) {
        printf("      ... %u more task(s)\n", more);
    }
}

/* A failed run ("FAIL", or "found" for a planted bug), or an unknown one ("UNKNOWN", which
 * never finds a planted bug), with its faults, the tasks a hang left waiting and its replay
 * command. */
static void report_failure(run_ctx *c, const sim_scenario *sc, const sim__outcome *out,
                           const char *sweep, const char *replay, uint64_t run_id)
{
    progress_clear(&c->prog);
    const char *label = unknown_run(out)               ? "UNKNOWN"
                        : sim_scenario_expect_fail(sc) ? "found"
                                                       : "FAIL";
    printf("%-5s %s seed %llu%s%s  %s: %s%s\n", label, sim_scenario_name(sc),
           (unsigned long long)out->seed, sweep ? ", " : "", sweep ? sweep : "",
           out->result, out->detail,
           unknown_run(out) && !out->failed ? " (counted as passed: [check] unknown = pass)"
                                            : "");
    if (out->plan[0] != '\0') printf("      faults: %s\n", out->plan);
    print_hang(c, out, run_id);
    printf("      replay: %s\n", replay);
    fflush(stdout);
}

static void log_case(run_ctx *c, uint32_t sci, const sim__outcome *out, const char *sweep,
                     const char *replay)
{
    if (c->o->junit == NULL) return;
    junit_case jc = {.sc = sci, .seed = out->seed, .sweep = (char *)sweep,
                     .failed = out->failed, .unknown = unknown_run(out),
                     .result = (char *)out->result,
                     .detail = (char *)out->detail, .replay = (char *)replay,
                     .plan = (char *)out->plan, .wall_ns = out->wall_ns};
    junit_add(&c->junit, &jc);
}

/* Applies a sweep's assignment ("S.K=V", as the worker made it) to the scenario, so that the
 * run is recorded with the configuration it ran under. */
static void sweep_apply(sim_scenario *sc, const char *sweep)
{
    char section[64], err[1024];
    const char *dot = strchr(sweep, '.'), *eq = strchr(sweep, '=');
    SIM_ASSERT(dot != NULL && eq != NULL && dot < eq);
    SIM_ASSERT((size_t)(dot - sweep) < sizeof section);
    snprintf(section, sizeof section, "%.*s", (int)(dot - sweep), sweep);
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    int rc = sim_scenario_set(sc, section, key, eq + 1, err, sizeof err);
    SIM_ASSERT(rc == SIM_OK); /* the worker set it already */
    /* --cancel-sweep's two kinds take turns: one run has one of them. */
    const char *other = strcmp(key, "cancel_at") == 0   ? "branch_at"
                        : strcmp(key, "branch_at") == 0 ? "cancel_at"
                                                        : NULL;
    if (other != NULL) {
        rc = sim_scenario_set(sc, "scenario", other, "0", err, sizeof err);
        SIM_ASSERT(rc == SIM_OK);
    }
}

/* A PCT run's k and length, for the mismatch line (pct_report). */
static void pct_note(sc_stat *s, const sim__outcome *out)
{
    if (out->pct_steps == 0) return;
    bool first = s->pct_runs++ == 0;
    if (first || out->pct_steps < s->pct_k_lo) s->pct_k_lo = out->pct_steps;
    if (first || out->pct_steps > s->pct_k_hi) s->pct_k_hi = out->pct_steps;
    if (first || out->steps < s->steps_lo) s->steps_lo = out->steps;
    if (first || out->steps > s->steps_hi) s->steps_hi = out->steps;
    SIM_ASSERT(s->pct_k_lo <= s->pct_k_hi && s->steps_lo <= s->steps_hi);
}

/* PCT places its d - 1 priority change points in steps 1..k: when the runs are much shorter
 * than k most never happen, and when much longer the end of a run gets none. Says so, per
 * scenario, when some run was under half or over twice the k it was given. */
static void pct_report(const run_ctx *c)
{
    for (uint32_t i = 0; i < (uint32_t)c->o->npaths; i++) {
        const sc_stat *s = &c->stats[i];
        if (s->pct_runs == 0) continue;
        bool mismatch = s->steps_lo < s->pct_k_lo / 2 || s->steps_hi > 2 * s->pct_k_hi;
        if (!mismatch) continue;
        char k[48];
        snprintf(k, sizeof k, "%llu", (unsigned long long)s->pct_k_lo);
        if (s->pct_k_hi != s->pct_k_lo) {
            snprintf(k, sizeof k, "%llu..%llu", (unsigned long long)s->pct_k_lo,
                     (unsigned long long)s->pct_k_hi);
        }
        printf("pct: %s: run length k = %s steps, but its %llu PCT run(s) took %llu..%llu "
               "steps: change points past a run's end never happen (strategy = pct:D:K with "
               "K near the runs' length, or pct:D:auto to take it from each seed's fifo run)\n",
               sim_scenario_name(c->scs[i]), k, (unsigned long long)s->pct_runs,
               (unsigned long long)s->steps_lo, (unsigned long long)s->steps_hi);
    }
}

/* run_emit: records one run, prints it if it failed, and counts it. */
static int commit_run(void *ctx, uint32_t ui, sim__outcome *out, const char *sweep)
{
    run_ctx *c = ctx;
    const run_unit *u = &c->units[ui];
    sim_scenario *sc = c->scs[u->sc];
    if (sweep != NULL) sweep_apply(sc, sweep);
    uint64_t run_id;
    int rc = record_one(c, sc, out, sweep, &run_id);
    /* Recorded as the check wrote it; shown with the database and the run filled in. */
    char detail[sizeof out->detail];
    bool stored = run_id != 0 && out->captured && !interrupted_run(out) &&
                  c->o->record != RECORD_OFF; /* as record_one decides */
    cli_fill_detail(out->detail, c->o->db, run_id, stored, detail, sizeof detail);
    memcpy(out->detail, detail, sizeof detail);
    if (c->o->shrink_runs > 0 && rc == SIM_OK && out->failed && run_id != 0 &&
        !interrupted_run(out) && sweep == NULL) {
        if (c->nshrink == c->shrink_cap) {
            c->shrink_cap = c->shrink_cap ? c->shrink_cap * 2 : 16;
            c->to_shrink = sim__xrealloc_array(c->to_shrink, c->shrink_cap,
                                               sizeof *c->to_shrink, "runs to shrink");
        }
        c->to_shrink[c->nshrink++] = run_id;
    }
    if (rc == SIM_OK && !interrupted_run(out)) {
        char replay[1200];
        if (run_id != 0) {
            snprintf(replay, sizeof replay, "%s replay --db %s %llu", cli_prog(), c->o->db,
                     (unsigned long long)run_id);
        } else {
            scenario_command(c->o, sc, out->seed, sweep, replay, sizeof replay);
        }
        c->unit_counted = true;
        c->stats[u->sc].runs++;
        pct_note(&c->stats[u->sc], out);
        if (unknown_run(out)) {
            c->unit_unknown = true;
            report_failure(c, sc, out, sweep, replay, run_id);
        } else if (out->failed) {
            c->unit_failed = true;
            report_failure(c, sc, out, sweep, replay, run_id);
            sc_stat *s = &c->stats[u->sc];
            if (!s->fastest_set || out->steps < s->fastest_steps) {
                s->fastest_set = true;
                s->fastest_seed = out->seed;
                s->fastest_steps = out->steps;
            }
        }
        log_case(c, u->sc, out, sweep, replay);
    }
    sim__outcome_free(out);
    return rc == SIM_OK ? 0 : EXIT_USAGE;
}

/* After a unit's last run: the seed counts once, failed if any of its runs failed, else
 * unknown if any of them was. */
static int finish_unit(void *ctx, uint32_t ui)
{
    run_ctx *c = ctx;
    sc_stat *s = &c->stats[c->units[ui].sc];
    if (c->unit_counted) {
        s->seeds++;
        if (c->unit_failed) {
            s->failed++;
            c->failed++;
            c->prog.failed++;
        } else if (c->unit_unknown) {
            s->unknown++;
            c->unknown++;
        } else {
            s->passed++;
            c->passed++;
        }
        SIM_ASSERT(s->passed + s->failed + s->unknown == s->seeds);
    }
    c->unit_counted = c->unit_failed = c->unit_unknown = false;
    c->finished++;
    c->prog.done++;
    progress_tick(&c->prog);
    return 0;
}

static bool may_start(void *ctx)
{
    run_ctx *c = ctx;
    if (c->o->budget_ns != 0 && !c->budget_spent &&
        sim__host_now_ns() - c->prog.start_ns >= c->o->budget_ns) {
        c->budget_spent = true;
    }
    return !c->budget_spent && !cli_interrupted;
}

static void tick(void *ctx)
{
    progress_tick(&((run_ctx *)ctx)->prog);
}

/* ---- the suite ------------------------------------------------------------------------------ */

static sim_scenario **load_all(const run_opts *o)
{
    sim_scenario **scs = calloc((size_t)o->npaths, sizeof *scs);
    bool ok = scs != NULL;
    for (int i = 0; ok && i < o->npaths; i++) {
        scs[i] = cli_load_scenario(o->paths[i]);
        ok = scs[i] != NULL;
        char err[1024], probe[128];
        if (ok && o->strategy != NULL &&
            sim_scenario_set(scs[i], "scenario", "strategy", o->strategy, err,
                                   sizeof err) != SIM_OK) {
            cli_usage_error(usage_run, "--strategy: %s", err);
            ok = false;
        }
        if (ok && cli_sets_apply(&o->sets, scs[i]) != 0) ok = false;
        snprintf(probe, sizeof probe, "%s 0", o->sweep ? o->sweep : "");
        if (ok && o->sweep != NULL &&
            sim_scenario_set(scs[i], "faults", "fail_hit", probe, err, sizeof err) != SIM_OK) {
            cli_usage_error(usage_run, "--sweep %s: %s", o->sweep, err);
            ok = false;
        }
    }
    if (ok) return scs;
    for (int i = 0; scs != NULL && i < o->npaths; i++) sim_scenario_free(scs[i]);
    free(scs);
    return NULL;
}

#define MAX_UNITS 100000000u

/* The seeds a scenario runs: --seeds, or its own range. */
static void seed_range(const run_opts *o, const sim_scenario *sc, uint64_t *first,
                       uint64_t *last)
{
    *first = o->seeds_given ? o->seed_first : sim_scenario_seed_first(sc);
    *last = o->seeds_given ? o->seed_last : sim_scenario_seed_last(sc);
}

/* Where a scenario's seed range comes from, for messages: --seeds, a --set of
 * scenario.seeds (the last one applies), or the scenario file and line. */
static void seeds_source(const run_opts *o, const sim_scenario *sc, char *buf, size_t size)
{
    if (o->seeds_given) {
        snprintf(buf, size, "--seeds %llu..%llu", (unsigned long long)o->seed_first,
                 (unsigned long long)o->seed_last);
        return;
    }
    for (int i = o->sets.n; i-- > 0;) {
        if (strncmp(o->sets.item[i], "scenario.seeds=", 15) == 0) {
            snprintf(buf, size, "--set %s", o->sets.item[i]);
            return;
        }
    }
    uint32_t line = sim__scenario_line(sc, "scenario", "seeds");
    const char *text = sim_scenario_get(sc, "scenario", "seeds");
    if (line != 0) {
        snprintf(buf, size, "%s:%u: [scenario] seeds = %s", sim_scenario_path(sc), line, text);
    } else {
        snprintf(buf, size, "%s: [scenario] seeds = %s", sim_scenario_path(sc), text);
    }
}

/* Every seed of every scenario in order, or every shard_n-th of them under --shard. A
 * range is counted as last - first, which cannot overflow (0..2^64-1 is 2^64 seeds), and
 * the total is checked after each range, so that it stays far from overflowing too. */
static int list_units(const run_opts *o, sim_scenario **scs, run_unit **out, uint32_t *n)
{
    uint64_t total = 0, first, last;
    uint64_t shards = o->shard_n ? o->shard_n : 1;
    SIM_ASSERT(shards < SIM__STORE_SHARDS);
    const uint64_t cap = (uint64_t)MAX_UNITS * shards; /* < 2^27 * 2^22: no overflow */
    for (int i = 0; i < o->npaths; i++) {
        seed_range(o, scs[i], &first, &last);
        SIM_ASSERT(first <= last);
        if (last - first >= cap) {
            char source[512];
            seeds_source(o, scs[i], source, sizeof source);
            return cli_usage_error(NULL, "%s: more than %u seeds%s; run them in parts with "
                                         "--seeds or --shard K/N", source, MAX_UNITS,
                                   o->shard_n ? " per shard" : "");
        }
        total += last - first + 1;
        SIM_ASSERT(total <= 2 * cap);
        if (total > cap) {
            return cli_usage_error(NULL, "the suite has more than %u seeds%s; run it in parts "
                                         "with --seeds or --shard", MAX_UNITS,
                                   o->shard_n ? " per shard" : "");
        }
    }
    uint64_t keep = o->shard_n ? total / o->shard_n + 1 : total;
    SIM_ASSERT(keep <= (uint64_t)MAX_UNITS + 1);
    run_unit *u = malloc((size_t)(keep ? keep : 1) * sizeof *u);
    if (u == NULL) return cli_usage_error(NULL, "out of memory");
    uint64_t g = 0;
    uint32_t k = 0;
    for (int i = 0; i < o->npaths; i++) {
        seed_range(o, scs[i], &first, &last);
        for (uint64_t seed = first;; seed++, g++) { /* ends at last, even at 2^64 - 1 */
            if (o->shard_n == 0 || g % o->shard_n == o->shard_k) {
                SIM_ASSERT(k < keep);
                u[k++] = (run_unit){.sc = (uint32_t)i, .seed = seed};
            }
            if (seed == last) break;
        }
        g++;
    }
    SIM_ASSERT(g == total);
    *out = u;
    *n = k;
    return 0;
}

/* Whether a scenario met its expect over the seeds it ran, and the line saying it did not.
 * An unknown seed never finds a planted bug; under expect = pass it fails the scenario unless
 * [check] unknown = pass, and is named either way. */
static bool report_expect(const run_ctx *c, uint32_t i)
{
    const sc_stat *s = &c->stats[i];
    const sim_scenario *sc = c->scs[i];
    bool expect_fail = sim_scenario_expect_fail(sc);
    if (s->seeds == 0) return true;
    bool unknown_passes = sim_scenario_unknown_passes(sc);
    if (s->unknown > 0) {
        uint64_t bound = sim_scenario_uint(sc, "check", "max_steps");
        char why[96];
        if (bound != 0) {
            snprintf(why, sizeof why, "its bound, [check] max_steps = %llu",
                     (unsigned long long)bound);
        } else {
            snprintf(why, sizeof why, "its memory limit ([check] max_steps = 0: no bound)");
        }
        printf("scenario %s (%s): %llu seed(s) unknown: the system's check reached %s, before "
               "a verdict; %s\n",
               sim_scenario_name(sc), sim_scenario_path(sc), (unsigned long long)s->unknown,
               why,
               expect_fail      ? "an unknown seed does not find the planted bug"
               : unknown_passes ? "they pass ([check] unknown = pass)"
                                : "they do not pass: raise max_steps for a verdict, or say "
                                  "[check] unknown = pass");
    }
    if (!expect_fail && s->failed == 0 && (s->unknown == 0 || unknown_passes)) return true;
    if (expect_fail && s->failed > 0) return true;
    if (!expect_fail && s->failed == 0) return false; /* the unknown line above says why */
    if (expect_fail && c->o->shard_n > 1) {
        printf("scenario %s (%s): expect = fail, and no seed of this shard failed (another "
               "shard's may)\n", sim_scenario_name(sc), sim_scenario_path(sc));
        return true;
    }
    printf("scenario %s (%s): expect = %s, but %s\n", sim_scenario_name(sc),
           sim_scenario_path(sc), expect_fail ? "fail" : "pass",
           expect_fail ? "no seed failed" : "some seeds failed");
    return false;
}

static void print_table(const run_ctx *c)
{
    int w = 8;
    for (uint32_t i = 0; i < (uint32_t)c->o->npaths; i++) {
        int n = (int)strlen(sim_scenario_name(c->scs[i]));
        if (n > w) w = n;
    }
    bool runs = c->o->sweep != NULL || c->o->cancel_sweep;
    bool unknown = c->unknown > 0; /* the column is there only when a seed is unknown */
    printf("\n%-*s  %7s  %7s  %7s%s%s  %-6s  %s\n", w, "scenario", "seeds", "passed", "failed",
           runs ? "     runs" : "", unknown ? "  unknown" : "", "expect",
           "fastest failing seed");
    for (uint32_t i = 0; i < (uint32_t)c->o->npaths; i++) {
        const sc_stat *s = &c->stats[i];
        char fastest[64] = "-";
        if (s->fastest_set) {
            snprintf(fastest, sizeof fastest, "%llu (%llu steps)",
                     (unsigned long long)s->fastest_seed, (unsigned long long)s->fastest_steps);
        }
        char nruns[32] = "", nunknown[32] = "";
        if (runs) snprintf(nruns, sizeof nruns, "  %7llu", (unsigned long long)s->runs);
        if (unknown) snprintf(nunknown, sizeof nunknown, "  %7llu", (unsigned long long)s->unknown);
        printf("%-*s  %7llu  %7llu  %7llu%s%s  %-6s  %s\n", w, sim_scenario_name(c->scs[i]),
               (unsigned long long)s->seeds, (unsigned long long)s->passed,
               (unsigned long long)s->failed, nruns, nunknown,
               sim_scenario_expect_fail(c->scs[i]) ? "fail" : "pass", fastest);
    }
    if (runs) {
        printf("(--%s%s: a seed passes when every run of its sweep passes)\n",
               c->o->sweep ? "sweep " : "cancel-sweep", c->o->sweep ? c->o->sweep : "");
    }
}

/* The end: the table, the scenarios that missed their expect, how far a budget or Ctrl-C
 * got, and the summary line. Returns the exit status. */
static int summarize(run_ctx *c)
{
    progress_clear(&c->prog);
    if (!c->o->quiet) print_table(c);
    pct_report(c);
    bool all_met = true;
    for (uint32_t i = 0; i < (uint32_t)c->o->npaths; i++) all_met = report_expect(c, i) && all_met;
    if (c->finished < c->nunits && (c->budget_spent || cli_interrupted)) {
        const run_unit *u = &c->units[c->finished];
        printf("%s (%u of %u seeds run; the next was %s seed %llu)\n",
               cli_interrupted ? "interrupted: runs finished so far are kept"
                               : "--time-budget spent", c->finished, c->nunits,
               sim_scenario_name(c->scs[u->sc]), (unsigned long long)u->seed);
    }
    printf("%llu passed, %llu failed", (unsigned long long)c->passed,
           (unsigned long long)c->failed);
    if (c->unknown > 0) printf(", %llu unknown", (unsigned long long)c->unknown);
    printf("\n");
    fflush(stdout);
    return cli_interrupted ? EXIT_INTERRUPTED : all_met ? 0 : EXIT_FAILED;
}

static int open_suite(run_ctx *c)
{
    if (c->o->db == NULL) return 0;
    if ((c->st = cli_open_store(c->o->db, SIM__STORE_WRITE)) == NULL) return EXIT_USAGE;
    if (c->o->shard_n != 0 && sim__store_set_shard(c->st, c->o->shard_k + 1) != SIM_OK) {
        cli_err("%s\n", sim__store_error(c->st));
        return EXIT_USAGE;
    }
    return 0;
}

/* A report that cannot be written is found before the suite runs, not after. */
static int check_junit(const char *path)
{
    if (path == NULL) return 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) return cli_usage_error(NULL, "--junit %s: cannot write there", path);
    fclose(f);
    remove(tmp);
    return 0;
}

static void free_opts(run_opts *o)
{
    for (int i = 0; i < o->npaths; i++) free(o->paths[i]);
    free(o->paths);
}

int cmd_run(int argc, char **argv)
{
    run_opts o = {0};
    int rc = parse_run(argc, argv, &o);
    if (rc != 0) {
        free_opts(&o);
        return rc < 0 ? 0 : rc;
    }
    run_ctx c = {.o = &o};
    if (check_junit(o.junit) != 0) {
        free_opts(&o);
        return EXIT_USAGE;
    }
    c.scs = load_all(&o);
    rc = c.scs == NULL ? EXIT_USAGE : list_units(&o, c.scs, (run_unit **)&c.units, &c.nunits);
    c.stats = rc == 0 ? calloc((size_t)o.npaths, sizeof *c.stats) : NULL;
    if (rc == 0 && c.stats == NULL) rc = cli_usage_error(NULL, "out of memory");
    if (rc == 0) rc = open_suite(&c);
    if (rc == 0) {
        cli_catch_interrupts();
        progress_start(&c.prog, o.quiet, c.nunits);
        /* Workers even for --jobs 1: a seed that crashes its process is a result. */
        if (c.nunits > 0) {
            pool_sink sink = {.ctx = &c, .result = commit_run, .unit_done = finish_unit,
                              .may_start = may_start, .tick = tick};
            rc = run_pool(&o, c.scs, c.units, c.nunits, &sink);
        }
    }
    /* --shrink: each failing seed's run, shrunk into a new run of the database. */
    for (uint32_t i = 0; rc == 0 && i < c.nshrink && !cli_interrupted; i++) {
        progress_clear(&c.prog);
        printf("\nshrinking run %llu (%u of %u):\n", (unsigned long long)c.to_shrink[i], i + 1,
               c.nshrink);
        fflush(stdout);
        (void)cli_shrink(o.db, c.to_shrink[i], o.shrink_runs, true); /* says why it could not */
    }
    free(c.to_shrink);
    if (rc == 0 && o.junit != NULL) {
        rc = junit_write(o.junit, c.scs, (uint32_t)o.npaths, &c.junit);
    }
    if (rc == 0) {
        rc = summarize(&c);
    } else {
        progress_clear(&c.prog);
    }
    for (int i = 0; c.scs != NULL && i < o.npaths; i++) sim_scenario_free(c.scs[i]);
    free(c.scs);
    free((void *)c.units);
    free(c.stats);
    junit_free(&c.junit);
    sim__store_close(c.st);
    free_opts(&o);
    return rc;
}
