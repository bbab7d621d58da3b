/*
 * cmd_replay.c: sim replay and sim check-determinism.
 *
 * A replay executes a recorded run again from its recorded configuration and seed, and
 * compares it with the record: event by event when the events were stored, checkpoint by
 * checkpoint otherwise. It says what else changed since the recording (the binary's version,
 * the scenario file) so that a divergence can be explained. check-determinism runs each seed
 * twice in this process with every event captured and shows the first difference.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CONTEXT 5

static const char usage_replay[] =
    "usage: sim replay --db FILE RUN [--until STEP] [--dump] [--events]\n"
    "       sim replay --scenario FILE --seed N [--set S.K=V]... [--until STEP] [--dump]\n"
    "                  [--events]\n"
    "\n"
    "Runs a recorded run again from its recorded configuration and seed and compares it\n"
    "event by event (or by checkpoint hashes when its events were not stored): prints\n"
    "\"identical (N events, hash H)\" or where it diverged. With --scenario, runs that seed of\n"
    "a scenario file and prints its outcome.\n"
    "\n"
    "  --set S.K=V    with --scenario: override key K of section S, as sim run --set does\n"
    "  --until STEP   stop after step STEP\n"
    "  --dump         then print the world: nodes, tasks and what each awaits, timers\n"
    "  --events       print every event of the replay\n"
    "\n"
    "exit status: 0 identical (or, with --scenario, the run passed), 1 diverged (or failed),\n"
    "2 bad arguments, a missing run or an unreadable database.\n";

typedef struct replay_opts {
    const char *db;
    uint64_t run_id;
    bool have_run;
    const char *scenario;
    uint64_t seed;
    bool have_seed;
    uint64_t until;
    bool dump;
    bool events;
    cli_sets sets;
} replay_opts;

static int parse_replay(int argc, char **argv, replay_opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_replay);
            return -1;
        } else if (strcmp(a, "--db") == 0) {
            if ((o->db = cli_value(argc, argv, &i, a, usage_replay)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--scenario") == 0) {
            o->scenario = cli_value(argc, argv, &i, a, usage_replay);
            if (o->scenario == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--seed") == 0 || strcmp(a, "--until") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_replay)) == NULL) return EXIT_USAGE;
            uint64_t *dst = a[2] == 's' ? &o->seed : &o->until;
            if (cli_parse_u64(v, dst) != 0 || (a[2] == 'u' && *dst == 0)) {
                return cli_usage_error(usage_replay, "%s expects a %snumber, got '%s'", a,
                                       a[2] == 'u' ? "positive " : "", v);
            }
            if (a[2] == 's') o->have_seed = true;
        } else if (strcmp(a, "--set") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_replay)) == NULL) return EXIT_USAGE;
            int rc = cli_sets_add(&o->sets, v, usage_replay);
            if (rc != 0) return rc;
        } else if (strcmp(a, "--dump") == 0) {
            o->dump = true;
        } else if (strcmp(a, "--events") == 0) {
            o->events = true;
        } else if (a[0] == '-') {
            return cli_usage_error(usage_replay, "unknown option '%s'", a);
        } else if (!o->have_run && cli_parse_u64(a, &o->run_id) == 0) {
            o->have_run = true;
        } else {
            return cli_usage_error(usage_replay, "unexpected argument '%s' (RUN is a number)", a);
        }
    }
    if (o->db != NULL && o->scenario != NULL) {
        return cli_usage_error(usage_replay, "give --db FILE RUN or --scenario FILE --seed N, "
                                             "not both");
    }
    if (o->db != NULL && !o->have_run) return cli_usage_error(usage_replay, "which run? give RUN");
    if (o->db != NULL && o->sets.n > 0) {
        return cli_usage_error(usage_replay, "--set goes with --scenario; a recorded run replays "
                                             "its recorded configuration");
    }
    if (o->scenario != NULL && !o->have_seed) {
        return cli_usage_error(usage_replay, "--scenario needs --seed N");
    }
    if (o->db == NULL && o->scenario == NULL) {
        return cli_usage_error(usage_replay, "give --db FILE RUN or --scenario FILE --seed N");
    }
    return 0;
}

static void print_events(const sim__evbuf *b)
{
    sim__names names;
    sim__names_from(b, &names);
    char line[512];
    printf("%s\n", sim__event_header());
    for (uint64_t i = 0; i < b->n; i++) {
        sim__event_line(b, i, &names, line, sizeof line);
        printf("  %s\n", line);
    }
    sim__names_free(&names);
}

static void print_outcome_tail(const replay_opts *o, const sim__outcome *out)
{
    if (o->events) print_events(&out->events_buf);
    if (o->dump && out->dump != NULL) printf("\n%s", out->dump);
}

/* ---- replay from a scenario file ------------------------------------------------------------ */

static int replay_scenario(const replay_opts *o)
{
    sim_scenario *sc = cli_load_scenario(o->scenario);
    if (sc == NULL) return EXIT_USAGE;
    if (cli_sets_apply(&o->sets, sc) != 0) {
        sim_scenario_free(sc);
        return EXIT_USAGE;
    }
    char hint[1024];
    snprintf(hint, sizeof hint, "%s replay --scenario %s --seed %llu", cli_prog(), o->scenario,
             (unsigned long long)o->seed);
    cli_sets_append(&o->sets, hint, sizeof hint);
    sim__run_opts ro = {.seed = o->seed, .capture = o->events, .until_step = o->until,
                        .want_dump = o->dump, .replay_hint = hint,
                        .live_world = &cli_live_world};
    sim__outcome out;
    cli_catch_interrupts();
    int rc = sim__run_seed(sc, &ro, &out);
    if (rc != SIM_OK) {
        sim_scenario_free(sc);
        return cli_usage_error(NULL, "out of memory");
    }
    print_outcome_tail(o, &out);
    char detail[sizeof out.detail];
    cli_fill_detail(out.detail, NULL, 0, false, detail, sizeof detail);
    printf("%s seed %llu: %s%s%s (%llu events, %llu steps, hash %016llx)\n",
           sim_scenario_name(sc), (unsigned long long)o->seed, out.result,
           out.failed ? ": " : "", out.failed ? detail : "", (unsigned long long)out.events,
           (unsigned long long)out.steps, (unsigned long long)out.hash);
    if (out.plan[0] != '\0') printf("faults: %s; %u injected\n", out.plan, out.nfaults);
    if (out.failed && out.report[0] != '\0') printf("\n%s", out.report);
    int exit_code = out.failed && !o->until ? EXIT_FAILED : 0;
    sim__outcome_free(&out);
    sim_scenario_free(sc);
    return exit_code;
}

/* ---- replay from a database ----------------------------------------------------------------- */

/* Prints the keys whose values differ between two canonical configurations. */
static void print_config_changes(const char *recorded, const char *now)
{
    /* Both texts are sorted "[section]" headers and "key = value" lines: walk them line by
     * line with the current section. */
    const char *texts[2] = {recorded, now};
    char section[2][512] = {"", ""};
    char line[2][512];
    const char *p[2] = {texts[0], texts[1]};
    while (*p[0] != '\0' || *p[1] != '\0') {
        for (int k = 0; k < 2; k++) {
            size_t n = strcspn(p[k], "\n");
            snprintf(line[k], sizeof line[k], "%.*s", (int)(n < 511 ? n : 511), p[k]);
            p[k] += n + (p[k][n] == '\n');
            if (line[k][0] == '[') snprintf(section[k], sizeof section[k], "%s", line[k]);
        }
        if (strcmp(line[0], line[1]) != 0) {
            printf("        %s %s  was: %s\n", section[1], line[1], line[0]);
        }
    }
}

/* Applies a run's stored --set overrides (one a line) to the file as loaded now; false when
 * one no longer applies (the file's system or keys changed). */
static bool apply_overrides(const sim__run_row *row, sim_scenario *now)
{
    for (const char *p = row->overrides; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        char item[1024], err[512];
        snprintf(item, sizeof item, "%.*s", (int)(n < sizeof item ? n : sizeof item - 1), p);
        p += n + (p[n] == '\n');
        char *dot = strchr(item, '.'), *eq = strchr(item, '=');
        if (dot == NULL || eq == NULL || dot > eq) return false;
        *dot = *eq = '\0';
        if (sim_scenario_set(now, item, dot + 1, eq + 1, err, sizeof err) != SIM_OK) return false;
    }
    return true;
}

static void print_notes(const sim__run_row *row)
{
    if (strcmp(row->binary_version, cli_version()) != 0) {
        printf("note: run %llu was recorded by %s; this is %s\n",
               (unsigned long long)row->run_id, row->binary_version, cli_version());
    }
    sim_scenario *now = NULL;
    char err[512];
    FILE *f = fopen(row->scenario_path, "r");
    if (f == NULL) {
        printf("note: %s is not found from here; replaying the recorded configuration\n",
               row->scenario_path);
        return;
    }
    fclose(f);
    uint32_t nsys;
    const sim_system *const *systems = cli_systems(&nsys);
    if (sim_scenario_load(row->scenario_path, systems, nsys, &now, err, sizeof err) != SIM_OK) {
        printf("note: %s no longer loads (%s); replaying the recorded configuration\n",
               row->scenario_path, err);
        return;
    }
    /* The file as it is, under the run's own --set overrides: what differs then is the
     * file's doing, not theirs. */
    bool applied = apply_overrides(row, now);
    const char *canon = sim_scenario_canonical(now);
    if (row->overrides[0] != '\0') {
        printf("note: run %llu ran with --set overrides of %s:", (unsigned long long)row->run_id,
               row->scenario_path);
        for (const char *p = row->overrides; *p != '\0';) {
            size_t n = strcspn(p, "\n");
            printf(" %.*s", (int)n, p);
            p += n + (p[n] == '\n');
        }
        printf("%s\n", applied && strcmp(canon, row->config) == 0
                           ? "; the file itself is unchanged"
                           : "");
    }
    if (strcmp(canon, row->config) != 0) {
        printf("note: %s has changed since run %llu was recorded; replaying the recorded "
               "configuration. Changed:\n",
               row->scenario_path, (unsigned long long)row->run_id);
        print_config_changes(row->config, canon);
    }
    sim_scenario_free(now);
}

/* Whether the replay's totals and result match the recorded row; prints what differs. Every
 * event being equal and these differing means the row was changed, or a check is not
 * deterministic. */
static bool same_summary(const sim__run_row *row, const sim__outcome *out)
{
    bool same = true;
    if (row->trace_hash != out->hash || row->event_count != out->events) {
        printf("the events agree, but the recorded totals do not: recorded %llu events, hash "
               "%016llx; replayed %llu events, hash %016llx\n",
               (unsigned long long)row->event_count, (unsigned long long)row->trace_hash,
               (unsigned long long)out->events, (unsigned long long)out->hash);
        same = false;
    }
    if (strcmp(row->result, out->result) != 0) {
        printf("the events agree, but the result does not: recorded %s, replayed %s (%s)\n",
               row->result, out->result, out->failed ? out->detail : "no failure");
        same = false;
    }
    return same;
}

static int compare_events(sim__store *st, const sim__run_row *row, const replay_opts *o,
                          const sim__outcome *out)
{
    sim__evbuf rec = {0};
    if (sim__store_events(st, row->run_id, NULL, &rec) != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
        sim__evbuf_free(&rec); /* what was read before the error */
        return EXIT_USAGE;
    }
    sim__evbuf prefix = rec;
    if (o->until && prefix.n > out->events_buf.n) prefix.n = out->events_buf.n;
    uint64_t at = sim__first_difference(&prefix, &out->events_buf);
    int rc = 0;
    if (at == SIM__NO_DIFFERENCE && !o->until && !same_summary(row, out)) {
        rc = EXIT_FAILED;
    } else if (at == SIM__NO_DIFFERENCE) {
        if (o->until) {
            printf("identical up to step %llu (%llu events)\n", (unsigned long long)out->steps,
                   (unsigned long long)out->events);
        } else {
            printf("identical (%llu events, hash %016llx)\n", (unsigned long long)out->events,
                   (unsigned long long)out->hash);
        }
    } else {
        sim__print_divergence(stdout, &rec, "recorded", &out->events_buf, "replayed", at,
                              CONTEXT);
        rc = EXIT_FAILED;
    }
    sim__evbuf_free(&rec);
    return rc;
}

static int compare_checkpoints(sim__store *st, const sim__run_row *row, const replay_opts *o,
                               const sim__outcome *out)
{
    sim_checkpoint *rec = NULL;
    uint32_t n = 0;
    if (sim__store_checkpoints(st, row->run_id, &rec, &n) != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
        return EXIT_USAGE;
    }
    uint32_t m = out->ncheckpoints;
    if (o->until || strcmp(row->status, "interrupted") == 0) { /* compare what both have */
        while (n > 0 && rec[n - 1].step > out->steps) n--;
        if (n > 0) n--; /* the last one of a shortened run is where it stopped */
        if (m > n) m = n;
    }
    uint32_t k = sim__first_checkpoint_difference(rec, n, out->checkpoints, m);
    int rc = 0;
    if (k == UINT32_MAX && (o->until || same_summary(row, out))) {
        printf("identical by checkpoints (%u compared; events were not stored: record mode %s)\n",
               n, row->record_mode);
    } else if (k == UINT32_MAX) {
        printf("diverged after the last checkpoint: all %u checkpoints agree, but the end does "
               "not (see above); the run was recorded without events (record mode %s)\n",
               n, row->record_mode);
        rc = EXIT_FAILED;
    } else {
        uint64_t lo = k > 0 && k <= n ? rec[k - 1].step : 0;
        uint64_t hi = k < n ? rec[k].step : row->step_count;
        printf("diverged between step %llu and step %llu (checkpoint %u); the run was recorded "
               "without events (record mode %s): run it with --record full to see the step\n",
               (unsigned long long)lo, (unsigned long long)hi, k, row->record_mode);
        rc = EXIT_FAILED;
    }
    free(rec);
    return rc;
}

static int replay_run(sim__store *st, const sim__run_row *row, const replay_opts *o)
{
    sim_scenario *sc = NULL;
    char err[1024], label[64];
    snprintf(label, sizeof label, "run %llu's recorded configuration",
             (unsigned long long)row->run_id);
    uint32_t nsys;
    const sim_system *const *systems = cli_systems(&nsys);
    if (sim_scenario_parse(label, row->config, systems, nsys, &sc, err, sizeof err) != SIM_OK) {
        return cli_usage_error(NULL, "%s (from %s, recorded by %s) does not load in %s: %s",
                               label, row->scenario_path, row->binary_version, cli_version(),
                               err);
    }
    print_notes(row);
    char hint[512];
    snprintf(hint, sizeof hint, "%s replay --db %s %llu", cli_prog(), o->db,
             (unsigned long long)row->run_id);
    sim__run_opts ro = {.seed = row->seed, .capture = row->events_stored || o->events,
                        .until_step = o->until, .want_dump = o->dump, .replay_hint = hint,
                        .live_world = &cli_live_world};
    sim__outcome out;
    cli_catch_interrupts();
    int rc = sim__run_seed(sc, &ro, &out);
    sim_scenario_free(sc);
    if (rc != SIM_OK) return cli_usage_error(NULL, "out of memory");
    printf("run %llu: %s seed %llu, recorded %s, replayed %s\n", (unsigned long long)row->run_id,
           row->scenario, (unsigned long long)row->seed, row->result, out.result);
    if (out.plan[0] != '\0') {
        printf("faults: %s; %u injected (recorded %u)\n", out.plan,
               out.nfaults + out.faults_dropped, row->fault_count);
    }
    print_outcome_tail(o, &out);
    rc = row->events_stored ? compare_events(st, row, o, &out)
                            : compare_checkpoints(st, row, o, &out);
    sim__outcome_free(&out);
    return rc;
}

int cmd_replay(int argc, char **argv)
{
    replay_opts o = {0};
    int rc = parse_replay(argc, argv, &o);
    if (rc != 0) return rc < 0 ? 0 : rc;
    if (o.scenario != NULL) return replay_scenario(&o);
    sim__store *st = cli_open_store(o.db, SIM__STORE_READ);
    if (st == NULL) return EXIT_USAGE;
    sim__run_row row;
    if (sim__store_run(st, o.run_id, &row) != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
        sim__store_close(st);
        return EXIT_USAGE;
    }
    rc = cli_refuse_host_run(&row, o.db, "replayed");
    if (rc == 0) rc = replay_run(st, &row, &o);
    sim__run_row_free(&row);
    sim__store_close(st);
    return rc;
}

/* ---- check-determinism ----------------------------------------------------------------------- */

static const char usage_check[] =
    "usage: sim check-determinism SCENARIO [--seeds A..B | --seed N]\n"
    "\n"
    "Runs every seed twice, in this process and in a forked child whose heap differs (freed\n"
    "and fresh memory filled with a pattern), and compares the runs' hash chains, so a run\n"
    "that reads memory it does not own is caught. On a difference it prints the checkpoint\n"
    "interval where they part and the first differing step, with both events and five\n"
    "events of context on each side. Ctrl-C stops it; the seed it stopped is not counted.\n"
    "\n"
    "exit status: 0 every seed deterministic, 1 not, 2 bad arguments or scenario.\n";

typedef enum verdict { SAME, DIFFERENT, NOT_COMPARED } verdict;

/* Runs a seed twice, here and in a forked child with a different heap, and reports a
 * difference. A run stopped by Ctrl-C is not compared. */
static verdict check_seed(const sim_scenario *sc, uint64_t seed)
{
    sim__run_opts ro = {.seed = seed, .capture = true, .live_world = &cli_live_world};
    sim__outcome a, b;
    if (sim__run_seed(sc, &ro, &a) != SIM_OK) {
        cli_err("out of memory running seed %llu\n", (unsigned long long)seed);
        return DIFFERENT;
    }
    if (cli_interrupted || cli_run_seed_forked(sc, &ro, &b) != SIM_OK) {
        sim__outcome_free(&a);
        if (cli_interrupted) return NOT_COMPARED;
        cli_err("cannot run seed %llu in a second process\n",
                (unsigned long long)seed);
        return DIFFERENT;
    }
    if (cli_interrupted || strcmp(a.result, "interrupted") == 0 ||
        strcmp(b.result, "interrupted") == 0) {
        sim__outcome_free(&a);
        sim__outcome_free(&b);
        return NOT_COMPARED;
    }
    if (strcmp(b.result, "crash") == 0 && strcmp(a.result, "crash") != 0) {
        printf("%s seed %llu is not deterministic: it ran to the end here (%s), but %s\n",
               sim_scenario_name(sc), (unsigned long long)seed, a.result, b.detail);
        sim__outcome_free(&a);
        sim__outcome_free(&b);
        return DIFFERENT;
    }
    uint32_t k = sim__first_checkpoint_difference(a.checkpoints, a.ncheckpoints, b.checkpoints,
                                                  b.ncheckpoints);
    uint64_t at = sim__first_difference(&a.events_buf, &b.events_buf);
    bool same = k == UINT32_MAX && at == SIM__NO_DIFFERENCE && a.hash == b.hash;
    if (!same) {
        uint64_t lo, hi;
        sim__parting_steps(a.checkpoints, a.ncheckpoints, k, a.steps, &lo, &hi);
        printf("%s seed %llu is not deterministic: hashes %016llx and %016llx; the hash "
               "chains part between step %llu and step %llu (checkpoint %u)\n",
               sim_scenario_name(sc), (unsigned long long)seed, (unsigned long long)a.hash,
               (unsigned long long)b.hash, (unsigned long long)lo, (unsigned long long)hi, k);
        if (at != SIM__NO_DIFFERENCE) {
            sim__print_divergence(stdout, &a.events_buf, "first run", &b.events_buf,
                                  "second run", at, CONTEXT);
        }
    }
    sim__outcome_free(&a);
    sim__outcome_free(&b);
    return same ? SAME : DIFFERENT;
}

int cmd_check_determinism(int argc, char **argv)
{
    const char *path = NULL;
    uint64_t first = 0, last = 0;
    bool seeds_given = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_check);
            return 0;
        } else if (strcmp(a, "--seeds") == 0 || strcmp(a, "--seed") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_check)) == NULL) return EXIT_USAGE;
            if (cli_parse_range(v, &first, &last) != 0) {
                return cli_usage_error(usage_check, "%s expects A..B with A <= B, got '%s'", a, v);
            }
            seeds_given = true;
        } else if (a[0] == '-' || path != NULL) {
            return cli_usage_error(usage_check, "unexpected argument '%s'", a);
        } else {
            path = a;
        }
    }
    if (path == NULL) return cli_usage_error(usage_check, "no scenario file given");
    sim_scenario *sc = cli_load_scenario(path);
    if (sc == NULL) return EXIT_USAGE;
    if (!seeds_given) {
        first = sim_scenario_seed_first(sc);
        last = sim_scenario_seed_last(sc);
    }
    cli_catch_interrupts();
    uint64_t bad = 0, checked = 0;
    SIM_ASSERT(first <= last);
    /* Ends at last, also at 2^64 - 1, where seed <= last would never become false. */
    for (uint64_t seed = first; !cli_interrupted; seed++) {
        verdict v = check_seed(sc, seed);
        if (v == NOT_COMPARED) break;
        bad += v == DIFFERENT;
        checked++;
        if (seed == last) break;
    }
    SIM_ASSERT(checked <= last - first + 1 || last - first == UINT64_MAX);
    printf("%llu seed(s) checked, %llu not deterministic\n", (unsigned long long)checked,
           (unsigned long long)bad);
    sim_scenario_free(sc);
    return cli_interrupted ? EXIT_INTERRUPTED : bad > 0 ? EXIT_FAILED : 0;
}
