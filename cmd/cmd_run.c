/*
 * cmd_run.c: sim run and sim check-determinism.
 *
 * sim run loads every scenario first (a bad file stops everything before a single seed runs),
 * then runs each seed, records it when --db is given, and prints one line per failing seed
 * with the command that replays it, then "N passed, N failed". Record mode `fail` runs a
 * failing seed a second time with every event captured: the run is deterministic, so the
 * second run must have the same hash, and a different one is reported as nondeterminism.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage_run[] =
    "usage: sim run SCENARIO|FOLDER... [--seed N | --seeds A..B] [--db FILE]\n"
    "               [--record off|fail|full] [--strategy S] [--set S.K=V]...\n"
    "               [--sweep POINT [--sweep-max N]] [--quiet]\n"
    "\n"
    "Runs each scenario file (a folder: every .ini file under it, sorted by path) over its\n"
    "seeds and prints one line per failing seed with the command that replays it, then\n"
    "\"N passed, N failed\".\n"
    "\n"
    "  --seed N          run only seed N\n"
    "  --seeds A..B      run seeds A to B instead of each scenario's own range\n"
    "  --db FILE         record the runs in FILE (created if missing)\n"
    "  --record MODE     off: hash and checkpoints only; fail (default): a failing seed is\n"
    "                    run again and recorded with every event; full: every event of\n"
    "                    every run\n"
    "  --strategy S      override the scenarios' strategy: fifo, random, pct, pct:D, pct:D:K\n"
    "  --set S.K=V       override key K of section S in every scenario, as if the file said\n"
    "                    so (--set faults.crash=1/10s); repeatable\n"
    "  --sweep POINT     for each seed, fail the k-th hit of fault point POINT for k = 0, 1,\n"
    "                    2, ... (one run each) until a run no longer reaches hit k\n"
    "  --sweep-max N     at most N runs per seed in a sweep (default 1000)\n"
    "  --quiet           print only failures and the summary\n"
    "\n"
    "exit status: 0 when every scenario meets its expect, 1 when one does not, 2 on bad\n"
    "arguments or files, 130 when interrupted (runs finished so far are kept).\n";

typedef enum record_mode { RECORD_OFF, RECORD_FAIL, RECORD_FULL } record_mode;

static const char *const record_names[] = {"off", "fail", "full"};

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
    uint64_t sweep_max;
    bool quiet;
} run_opts;

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

static int parse_run(int argc, char **argv, run_opts *o)
{
    o->record = RECORD_FAIL;
    o->sweep_max = 1000;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_run, stdout);
            return -1;
        } else if (strcmp(a, "--seed") == 0 || strcmp(a, "--seeds") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
            bool one = strcmp(a, "--seed") == 0;
            int bad = one ? cli_parse_u64(v, &o->seed_first)
                          : cli_parse_range(v, &o->seed_first, &o->seed_last);
            if (one) o->seed_last = o->seed_first;
            if (bad) {
                return cli_usage_error(usage_run, "%s expects %s, got '%s'", a,
                                       one ? "a number" : "A..B with A <= B", v);
            }
            o->seeds_given = true;
        } else if (strcmp(a, "--db") == 0) {
            if ((o->db = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--record") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
            int m = -1;
            for (int k = 0; k < 3; k++) {
                if (strcmp(v, record_names[k]) == 0) m = k;
            }
            if (m < 0) {
                return cli_usage_error(usage_run, "--record expects off, fail or full, got '%s'",
                                       v);
            }
            o->record = (record_mode)m;
        } else if (strcmp(a, "--strategy") == 0) {
            if ((o->strategy = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--set") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
            int rc = cli_sets_add(&o->sets, v, usage_run);
            if (rc != 0) return rc;
        } else if (strcmp(a, "--sweep") == 0) {
            if ((o->sweep = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--sweep-max") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_run)) == NULL) return EXIT_USAGE;
            if (cli_parse_u64(v, &o->sweep_max) != 0 || o->sweep_max == 0) {
                return cli_usage_error(usage_run, "--sweep-max expects a positive number, got "
                                                  "'%s'", v);
            }
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (a[0] == '-') {
            return cli_usage_error(usage_run, "unknown option '%s'", a);
        } else {
            char clean[4096];
            size_t n = strlen(a);
            while (n > 1 && a[n - 1] == '/') n--; /* "scenarios/" and "scenarios" alike */
            snprintf(clean, sizeof clean, "%.*s", (int)n, a);
            int rc = add_argument(o, clean);
            if (rc != 0) return rc;
        }
    }
    if (o->npaths == 0) return cli_usage_error(usage_run, "no scenario file given");
    return 0;
}

/* ---- one seed ------------------------------------------------------------------------------ */

typedef struct run_ctx {
    const run_opts *o;
    sim__store *st;
    uint64_t passed;
    uint64_t failed;
} run_ctx;

/* The command that runs the seed again from the file, with the same changes. */
static void scenario_command(const run_ctx *c, const sim_scenario *sc, uint64_t seed,
                             const char *sweep_set, char *buf, size_t size)
{
    snprintf(buf, size, "sim replay --scenario %s --seed %llu", sim_scenario_path(sc),
             (unsigned long long)seed);
    cli_sets_append(&c->o->sets, buf, size);
    if (sweep_set != NULL) {
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, " --set '%s'", sweep_set);
    }
}

static void replay_command(const run_ctx *c, const sim_scenario *sc, uint64_t seed,
                           uint64_t run_id, const char *sweep_set, char *buf, size_t size)
{
    if (c->st != NULL && run_id != 0) {
        snprintf(buf, size, "sim replay --db %s %llu", c->o->db, (unsigned long long)run_id);
    } else {
        scenario_command(c, sc, seed, sweep_set, buf, size);
    }
}

/* Runs the seed; under record mode fail, a failure is run again with every event captured. */
static int run_one(const run_ctx *c, const sim_scenario *sc, uint64_t seed,
                   const char *sweep_set, sim__outcome *out)
{
    char hint[1024];
    scenario_command(c, sc, seed, sweep_set, hint, sizeof hint);
    sim__run_opts ro = {.seed = seed, .capture = c->o->record == RECORD_FULL,
                        .replay_hint = hint, .live_world = &cli_live_world};
    int rc = sim__run_seed(sc, &ro, out);
    if (rc != SIM_OK || !out->failed || out->captured || c->st == NULL || cli_interrupted) {
        return rc;
    }
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

static int record_one(run_ctx *c, const sim_scenario *sc, const sim__outcome *out,
                      uint64_t *run_id)
{
    *run_id = 0;
    if (c->st == NULL) return SIM_OK;
    char strategy[64];
    sim_world_desc d = sim_scenario_world_desc(sc, out->seed);
    sim_sched_format(&d.sched, strategy, sizeof strategy);
    bool interrupted = strcmp(out->result, "interrupted") == 0;
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
        .events_stored = out->captured && !interrupted,
        .faults = (char *)out->plan,
        .fault_count = out->nfaults + out->faults_dropped,
    };
    /* Faults are stored with the events: a run recorded in full, or a failure. */
    sim__run_data data = {.checkpoints = out->checkpoints, .ncheckpoints = out->ncheckpoints,
                          .violations = out->violations, .nviolations = out->nviolations,
                          .events = row.events_stored ? &out->events_buf : NULL,
                          .faults = out->faults,
                          .nfaults = row.events_stored ? out->nfaults : 0,
                          .history = row.events_stored ? out->history : NULL};
    if (sim__store_record(c->st, &row, &data, run_id) != SIM_OK) {
        fprintf(stderr, "sim: %s\n", sim__store_error(c->st));
        return SIM_EINVAL;
    }
    return SIM_OK;
}

typedef struct tally {
    uint64_t runs;
    uint64_t failures;
} tally;

/* Runs, records and reports one seed of the scenario as it is now. 0, or EXIT_USAGE on a
 * database error or when out of memory. *fail_hits: hits of the fail_hit point. */
static int seed_once(run_ctx *c, const sim_scenario *sc, uint64_t seed, const char *sweep_set,
                     tally *t, uint64_t *fail_hits)
{
    sim__outcome out;
    *fail_hits = 0;
    if (run_one(c, sc, seed, sweep_set, &out) != SIM_OK) {
        fprintf(stderr, "sim: out of memory running %s seed %llu\n", sim_scenario_name(sc),
                (unsigned long long)seed);
        return EXIT_USAGE;
    }
    *fail_hits = out.fail_hits;
    uint64_t run_id;
    int rc = record_one(c, sc, &out, &run_id);
    bool interrupted = strcmp(out.result, "interrupted") == 0;
    if (rc == SIM_OK && !interrupted) {
        t->runs++;
        if (out.failed) {
            t->failures++;
            c->failed++;
            char replay[1200];
            replay_command(c, sc, seed, run_id, sweep_set, replay, sizeof replay);
            printf("%-5s %s seed %llu%s%s  %s: %s\n",
                   sim_scenario_expect_fail(sc) ? "found" : "FAIL", sim_scenario_name(sc),
                   (unsigned long long)seed, sweep_set ? ", " : "", sweep_set ? sweep_set : "",
                   out.result, out.detail);
            if (out.plan[0] != '\0') printf("      faults: %s\n", out.plan);
            printf("      replay: %s\n", replay);
        } else {
            c->passed++;
        }
        fflush(stdout);
    }
    sim__outcome_free(&out);
    return rc == SIM_OK ? 0 : EXIT_USAGE;
}

/* --sweep: hit k of the point fails, for k = 0, 1, ... until a run does not reach it. */
static int sweep_seed(run_ctx *c, sim_scenario *sc, uint64_t seed, tally *t)
{
    int rc = 0;
    for (uint64_t k = 0; rc == 0 && k < c->o->sweep_max && !cli_interrupted; k++) {
        char value[128], set[160], err[1024];
        snprintf(value, sizeof value, "%s %llu", c->o->sweep, (unsigned long long)k);
        snprintf(set, sizeof set, "faults.fail_hit=%s", value);
        if (sim_scenario_set(sc, "faults", "fail_hit", value, err, sizeof err) != SIM_OK) {
            return cli_usage_error(NULL, "--sweep: %s", err);
        }
        uint64_t hits;
        rc = seed_once(c, sc, seed, set, t, &hits);
        if (hits <= k) break; /* hit k was not reached: every reachable hit has failed */
    }
    return rc;
}

/* Runs one scenario; returns 0, or EXIT_USAGE on a database error, or stops on Ctrl-C.
 * *met is whether it met its expect. */
static int run_scenario(run_ctx *c, sim_scenario *sc, bool *met)
{
    uint64_t first = c->o->seeds_given ? c->o->seed_first : sim_scenario_seed_first(sc);
    uint64_t last = c->o->seeds_given ? c->o->seed_last : sim_scenario_seed_last(sc);
    tally t = {0};
    uint64_t seeds = 0;
    bool expect_fail = sim_scenario_expect_fail(sc);
    int rc = 0;
    for (uint64_t seed = first; rc == 0 && seed <= last && !cli_interrupted; seed++) {
        uint64_t hits;
        uint64_t before = t.runs;
        rc = c->o->sweep ? sweep_seed(c, sc, seed, &t) : seed_once(c, sc, seed, NULL, &t, &hits);
        seeds += t.runs > before;
    }
    if (rc != 0) return rc;
    *met = expect_fail ? t.failures > 0 : t.failures == 0;
    char runs[200] = "";
    if (c->o->sweep) {
        snprintf(runs, sizeof runs, ", %llu run(s) sweeping %s", (unsigned long long)t.runs,
                 c->o->sweep);
    }
    if (!*met && !cli_interrupted) {
        printf("scenario %s (%s): expect = %s, but %s\n", sim_scenario_name(sc),
               sim_scenario_path(sc), expect_fail ? "fail" : "pass",
               expect_fail ? "no seed failed" : "some seeds failed");
    } else if (!c->o->quiet && !cli_interrupted) {
        printf("ok    %s: %llu seed(s)%s, %llu failed (expect = %s)\n", sim_scenario_name(sc),
               (unsigned long long)seeds, runs, (unsigned long long)t.failures,
               expect_fail ? "fail" : "pass");
    }
    return 0;
}

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

int cmd_run(int argc, char **argv)
{
    run_opts o = {0};
    int rc = parse_run(argc, argv, &o);
    if (rc != 0) {
        for (int i = 0; i < o.npaths; i++) free(o.paths[i]);
        free(o.paths);
        return rc < 0 ? 0 : rc;
    }
    sim_scenario **scs = load_all(&o);
    run_ctx c = {.o = &o};
    if (scs == NULL || (o.db != NULL && (c.st = cli_open_store(o.db, SIM__STORE_WRITE)) == NULL)) {
        rc = EXIT_USAGE;
    }
    bool all_met = true;
    if (rc == 0) cli_catch_interrupts();
    for (int i = 0; rc == 0 && i < o.npaths && !cli_interrupted; i++) {
        bool met = true;
        rc = run_scenario(&c, scs[i], &met);
        all_met = all_met && met;
    }
    if (rc == 0) {
        if (cli_interrupted) printf("interrupted: runs finished so far are kept\n");
        printf("%llu passed, %llu failed\n", (unsigned long long)c.passed,
               (unsigned long long)c.failed);
        rc = cli_interrupted ? EXIT_INTERRUPTED : all_met ? 0 : EXIT_FAILED;
    }
    for (int i = 0; scs != NULL && i < o.npaths; i++) sim_scenario_free(scs[i]);
    free(scs);
    for (int i = 0; i < o.npaths; i++) free(o.paths[i]);
    free(o.paths);
    sim__store_close(c.st);
    return rc;
}
