/*
 * cmd_shrink.c: sim shrink --db FILE RUN, a failing run reduced to a smaller one that fails the
 * same way.
 *
 * Every candidate is the recorded configuration with changes a user could write themselves:
 * [faults] only lines (the fault hits that fire, by point and hit number, and no other: the
 * run's faults as a script, from which the search takes some out), [schedule] lines (the
 * scheduling decisions that differ from the fifo strategy's and the cancellations: the run's
 * schedule as a script) and smaller values of the keys a system lets it lower
 * (sim_system.shrink: clients, operations, keys). Each candidate is one deterministic run of
 * the same seed, in a forked process (a system that crashes the process is a result); one
 * fails "the same way" when its result is the same and its detail says the same thing up to
 * numbers (the same check, the same violation). The search:
 *
 *   1. the sizes: for each shrinkable key, a binary search for its smallest failing value
 *      (first, because a smaller run makes every later candidate cheaper);
 *   2. the faults: delta debugging (Zeller's ddmin) over the faults the current run injects
 *      that start something (a fire, crash, pause, partition, clog; restarts, resumes and heals
 *      follow from those), each accepted candidate's own faults being the next list; then
 *      each fault moved to later hits of its point while nothing grows;
 *   3. once, the schedule made a script: the run's decisions from its captured POLL events,
 *      forced under fifo, kept only where the decision hook says fifo would choose otherwise
 *      (run in this process), and its CANCEL events listed; the same run. The sizes go again
 *      right after (with decisions pinned to tasks rather than to the strategy's draws, a
 *      smaller workload more often fails the same way: compaction-race seed 1);
 *   4. ddmin over the cancellations and the decisions (reverting each to fifo's choice), a
 *      quota of runs a round, resumed where it stopped;
 *   5. again, until a round takes nothing out or the run budget is spent.
 *
 * The result is recorded as a new run in the same database (every event, its configuration
 * with the only lines, its overrides), so it replays bit for bit with sim replay. The search
 * is deterministic: the same run and budget give the same shrunk run.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_shrink[] =
    "usage: sim shrink --db FILE RUN [--max-runs N] [--no-move] [--quiet]\n"
    "\n"
    "Reduces a failing run to a smaller one that fails the same way (the same result, the\n"
    "same check or violation): it lowers the sizes the system lets it shrink (clients,\n"
    "operations, keys), takes out injected faults and moves the rest earlier or later, and\n"
    "reverts scheduling decisions and cancellations to the fifo strategy's (delta debugging\n"
    "over each list), running each candidate as a deterministic run of the same seed. The\n"
    "shrunk run is recorded in FILE as a new run that replays bit for bit; its configuration\n"
    "says what is left ([faults] only = POINT@HIT lines: the fault hits that fire;\n"
    "[schedule] force and cancel lines: the decisions off fifo; smaller sizes).\n"
    "\n"
    "  --max-runs N   at most N candidate runs (default 200); the same N gives the same result\n"
    "  --no-move      do not move faults earlier or later (for comparing)\n"
    "  --quiet        no progress lines on stderr\n"
    "\n"
    "exit status: 0 shrunk (or nothing could be taken out), 2 bad arguments, a database or\n"
    "a run that did not fail.\n";

#define MAX_FAULTS 4096u
#define SIG_MAX 256u
#define DD_QUOTA 40u /* candidate runs a round gives ddmin over decisions or cancellations */

typedef struct shrink_opts {
    const char *db;
    uint64_t run_id;
    uint64_t max_runs;
    bool quiet;
    bool no_move;        /* --no-move: faults are not moved later */
} shrink_opts;

/* A fault hit, as an only line names it. */
typedef struct hit_ref {
    char point[SIM__POINT_NAME_MAX + 1];
    uint64_t hit;
} hit_ref;

/* A candidate: the recorded configuration with these sizes and, once scripted, only these
 * fault hits. */
typedef struct candidate {
    bool scripted;       /* [faults] only is set: only the hits listed fire */
    hit_ref *only;
    uint32_t nonly;
    char **sizes;        /* "section.key=value" lines, in the system's key order */
    uint32_t nsizes;
    bool scheduled;      /* the fifo strategy, no random cancellation, and only these
                            decisions ([schedule] force) and cancellations ([schedule] cancel) */
    sim_decision *force; /* sorted by step */
    uint32_t nforce;
    uint64_t *cancel;    /* increasing await numbers */
    uint32_t ncancel;
} candidate;

/* Where ddmin stands on one list between rounds: the granularity it got to. */
typedef struct dd_state {
    uint32_t parts;      /* chunks the list is cut into next; 0: not started */
    bool tried_none;     /* every item out was tried */
} dd_state;

typedef struct shrinker {
    const shrink_opts *o;
    const sim__run_row *row;
    char want[SIG_MAX];  /* the failure's signature */
    uint64_t runs;
    bool have_best;      /* best_out holds a run */
    candidate best;
    sim__outcome best_out; /* the best candidate's run */
    uint32_t decisions_before; /* the run's decisions and cancellations off the base */
    bool sched_tried;    /* the run's decisions were made a script (or could not be) */
    hit_ref *hits;       /* shrink_faults' list: the faults of best_out that start something */
    dd_state dd[3];      /* faults, decisions, cancellations */
} shrinker;

static int parse_shrink(int argc, char **argv, shrink_opts *o)
{
    o->max_runs = 200;
    bool have_run = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_shrink);
            return -1;
        }
        if (strcmp(a, "--db") == 0) {
            o->db = cli_value(argc, argv, &i, "--db", usage_shrink);
            if (o->db == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--max-runs") == 0) {
            const char *v = cli_value(argc, argv, &i, "--max-runs", usage_shrink);
            if (v == NULL) return EXIT_USAGE;
            if (cli_parse_u64(v, &o->max_runs) != 0 || o->max_runs == 0 ||
                o->max_runs > 1000000) {
                return cli_usage_error(usage_shrink,
                                       "--max-runs expects a number from 1 to 1000000, got '%s'",
                                       v);
            }
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (strcmp(a, "--no-move") == 0) {
            o->no_move = true;
        } else if (a[0] == '-') {
            return cli_usage_error(usage_shrink, "unknown option '%s'", a);
        } else {
            int rc = cli_run_arg(a, &have_run, &o->run_id, usage_shrink);
            if (rc != 0) return rc;
        }
    }
    return cli_db_run_given(o->db, have_run, usage_shrink);
}

/* What makes two failures the same: the result, and the detail's first clause without its
 * numbers ("not linearizable (model kv)", "violation: send on a closed channel"). A crash is
 * a crash: its detail depends on how the process died. */
static void signature(const char *result, const char *detail, char *buf, size_t size)
{
    SIM_ASSERT(size > 0);
    size_t o = (size_t)snprintf(buf, size, "%s|", result);
    if (strcmp(result, "crash") == 0 || o >= size) return;
    const char *end = strstr(detail, ": ");
    size_t n = end != NULL ? (size_t)(end - detail) : strlen(detail);
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        char c = detail[i];
        if (c >= '0' && c <= '9') continue;
        buf[o++] = c;
    }
    buf[o] = '\0';
}

static void candidate_free(candidate *c)
{
    free(c->only);
    free(c->force);
    free(c->cancel);
    for (uint32_t i = 0; i < c->nsizes; i++) free(c->sizes[i]);
    free(c->sizes);
    memset(c, 0, sizeof *c);
}

static void candidate_copy(candidate *to, const candidate *from)
{
    memset(to, 0, sizeof *to);
    to->scripted = from->scripted;
    to->only = sim__xcalloc(from->nonly + 1, sizeof *to->only, "a shrink candidate");
    if (from->nonly > 0) memcpy(to->only, from->only, from->nonly * sizeof *to->only);
    to->nonly = from->nonly;
    to->sizes = sim__xcalloc(from->nsizes + 1, sizeof *to->sizes, "a shrink candidate");
    for (uint32_t i = 0; i < from->nsizes; i++) {
        to->sizes[i] = sim__xstrdup(from->sizes[i], "a shrink candidate");
    }
    to->nsizes = from->nsizes;
    to->scheduled = from->scheduled;
    to->force = sim__xcalloc(from->nforce + 1, sizeof *to->force, "a shrink candidate");
    if (from->nforce > 0) memcpy(to->force, from->force, from->nforce * sizeof *to->force);
    to->nforce = from->nforce;
    to->cancel = sim__xcalloc(from->ncancel + 1, sizeof *to->cancel, "a shrink candidate");
    if (from->ncancel > 0) memcpy(to->cancel, from->cancel, from->ncancel * sizeof *to->cancel);
    to->ncancel = from->ncancel;
}

/* The candidate's schedule as --set lines ("scenario.strategy=fifo", "schedule.force=none",
 * "schedule.force=12:4 15:2 ...", at most 8 entries a line), one a line; "" when it is not
 * scheduled. malloc'd. */
static char *schedule_lines(const candidate *c)
{
    size_t size = 256 + (size_t)c->nforce * 48 + (size_t)c->ncancel * 32;
    char *buf = sim__xmalloc(size, "a shrunk run's schedule");
    size_t o = 0;
    buf[0] = '\0';
    if (!c->scheduled) return buf;
    o += (size_t)snprintf(buf + o, size - o,
                          "scenario.strategy=fifo\nscenario.cancel_one_in=0\n"
                          "scenario.cancel_at=0\nschedule.force=none\nschedule.cancel=none");
    for (uint32_t i = 0; i < c->ncancel; i++) {
        o += (size_t)snprintf(buf + o, size - o, "%s%llu", i % 8 ? " " : "\nschedule.cancel=",
                              (unsigned long long)c->cancel[i]);
    }
    for (uint32_t i = 0; i < c->nforce; i++) {
        o += (size_t)snprintf(buf + o, size - o, "%s%llu:%u", i % 8 ? " " : "\nschedule.force=",
                              (unsigned long long)c->force[i].step, c->force[i].task.v);
    }
    SIM_ASSERT(o < size);
    return buf;
}

/* Sets "section.key=value" on sc. */
static int set_line(sim_scenario *sc, const char *line, char *err, size_t err_size)
{
    char buf[1024];
    SIM_ASSERT(strlen(line) < sizeof buf); /* made by this file: 8 entries at most a line */
    snprintf(buf, sizeof buf, "%s", line);
    char *dot = strchr(buf, '.');
    char *eq = strchr(buf, '=');
    SIM_ASSERT(dot != NULL && eq != NULL && dot < eq); /* made by this file */
    *dot = '\0';
    *eq = '\0';
    return sim_scenario_set(sc, buf, dot + 1, eq + 1, err, err_size);
}

/* Sets c's schedule lines on sc. */
static int set_schedule(sim_scenario *sc, const candidate *c, char *err, size_t err_size)
{
    char *lines = schedule_lines(c);
    int rc = SIM_OK;
    char *save = NULL;
    for (char *ln = strtok_r(lines, "\n", &save); ln != NULL && rc == SIM_OK;
         ln = strtok_r(NULL, "\n", &save)) {
        rc = set_line(sc, ln, err, err_size);
    }
    free(lines);
    return rc;
}

/* The recorded configuration with c's changes, or NULL (a change the scenario refuses). */
static sim_scenario *candidate_scenario(const shrinker *s, const candidate *c)
{
    uint32_t nsys;
    const sim_system *const *systems = cli_systems(&nsys);
    sim_scenario *sc = NULL;
    char err[1024];
    if (sim_scenario_parse(s->row->scenario_path, s->row->config, systems, nsys, &sc, err,
                           sizeof err) != SIM_OK) {
        return NULL;
    }
    for (uint32_t i = 0; i < c->nsizes; i++) {
        if (set_line(sc, c->sizes[i], err, sizeof err) != SIM_OK) goto refused;
    }
    if (c->scripted && c->nonly == 0 &&
        sim_scenario_set(sc, "faults", "only", "none", err, sizeof err) != SIM_OK) {
        goto refused;
    }
    for (uint32_t i = 0; i < c->nonly; i++) {
        char v[SIM__POINT_NAME_MAX + 32];
        snprintf(v, sizeof v, "%s@%llu", c->only[i].point, (unsigned long long)c->only[i].hit);
        if (sim_scenario_set(sc, "faults", "only", v, err, sizeof err) != SIM_OK) goto refused;
    }
    if (set_schedule(sc, c, err, sizeof err) != SIM_OK) goto refused;
    return sc;
refused:
    sim_scenario_free(sc);
    return NULL;
}

static uint32_t starting_faults(const sim__outcome *out, hit_ref *refs, uint32_t max);

/* Whether a run is smaller than the best so far: no more faults and no more events, and
 * fewer of one. (Taking a fault out can make a run longer: it is then not kept.) */
static bool smaller(const shrinker *s, const candidate *c, const sim__outcome *out)
{
    if (!s->have_best) return true;
    hit_ref *refs = sim__xcalloc(MAX_FAULTS, sizeof *refs, "a shrink's faults");
    uint32_t fa = starting_faults(out, refs, MAX_FAULTS);
    uint32_t fb = starting_faults(&s->best_out, refs, MAX_FAULTS);
    free(refs);
    uint64_t ea = out->events, eb = s->best_out.events;
    /* Decisions count once the run is a script (before, there is nothing to compare). */
    uint64_t da = c->scheduled ? (uint64_t)c->nforce + c->ncancel : 0;
    uint64_t db = s->best.scheduled ? (uint64_t)s->best.nforce + s->best.ncancel : da;
    return fa <= fb && ea <= eb && da <= db && (fa < fb || ea < eb || da < db);
}

/* Runs a candidate; true when it fails the same way and is smaller than the best so far (or
 * `any`: whatever its size; or it is the final recording run, `capture`), then *out is its
 * run, else freed. */
static bool try_candidate(shrinker *s, const candidate *c, bool capture, bool any,
                          sim__outcome *out)
{
    memset(out, 0, sizeof *out);
    sim_scenario *sc = candidate_scenario(s, c);
    if (sc == NULL) return false;
    s->runs += !capture; /* the last run, which records the result, is not a candidate */
    sim__run_opts ro = {.seed = s->row->seed, .capture = capture};
    int rc = cli_run_seed_forked(sc, &ro, out);
    sim_scenario_free(sc);
    if (rc != SIM_OK) sim__oom(0, "a shrink candidate's run");
    char got[SIG_MAX];
    signature(out->result, out->detail, got, sizeof got);
    if (out->failed && strcmp(got, s->want) == 0 && (capture || any || smaller(s, c, out))) {
        return true;
    }
    sim__outcome_free(out);
    return false;
}

/* The faults of a run that start something, as hits an only line can name. */
static uint32_t starting_faults(const sim__outcome *out, hit_ref *refs, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < out->nfaults && n < max; i++) {
        const sim_fault_rec *f = &out->faults[i];
        bool starts = f->action == SIM_FAULT_FIRE || f->action == SIM_FAULT_CRASH ||
                      f->action == SIM_FAULT_PAUSE || f->action == SIM_FAULT_PARTITION ||
                      f->action == SIM_FAULT_CLOG;
        if (!starts || f->point == NULL || strlen(f->point) > SIM__POINT_NAME_MAX) continue;
        if (strncmp(f->point, "at ", 3) == 0) continue; /* a scripted line: the file's own */
        snprintf(refs[n].point, sizeof refs[n].point, "%s", f->point);
        refs[n].hit = f->hit;
        n++;
    }
    return n;
}

/* Takes the candidate as the best so far. A scripted one keeps in its list only the hits that
 * fired: a listed hit that did not fire was never reached, so without it the run is the same. */
static void accept(shrinker *s, candidate *c, sim__outcome *out)
{
    candidate_free(&s->best);
    s->best = *c;
    memset(c, 0, sizeof *c);
    sim__outcome_free(&s->best_out);
    s->best_out = *out;
    memset(out, 0, sizeof *out);
    if (s->best.scheduled) { /* what lies past the run's end never applies */
        while (s->best.nforce > 0 && s->best.force[s->best.nforce - 1].step > s->best_out.steps) {
            s->best.nforce--;
        }
        while (s->best.ncancel > 0 &&
               s->best.cancel[s->best.ncancel - 1] > s->best_out.cancel_points) {
            s->best.ncancel--;
        }
    }
    if (s->best.scripted) {
        hit_ref *fired = sim__xcalloc(MAX_FAULTS, sizeof *fired, "a shrink's faults");
        uint32_t n = starting_faults(&s->best_out, fired, MAX_FAULTS);
        SIM_ASSERT(n <= s->best.nonly); /* nothing fires that is not listed */
        free(s->best.only);
        s->best.only = fired;
        s->best.nonly = n;
    }
}

static void progress(const shrinker *s, const char *what)
{
    if (s->o->quiet) return;
    hit_ref refs[MAX_FAULTS];
    uint32_t nf = starting_faults(&s->best_out, refs, MAX_FAULTS);
    fprintf(stderr, "shrink: run %llu of at most %llu: %s; now %u fault(s), %llu events\n",
            (unsigned long long)s->runs, (unsigned long long)s->o->max_runs, what, nf,
            (unsigned long long)s->best_out.events);
}

/* The run count at which a search given quota runs stops (never past the budget). */
static uint64_t run_stop(const shrinker *s, uint64_t quota)
{
    SIM_ASSERT(s->runs <= s->o->max_runs);
    uint64_t left = s->o->max_runs - s->runs;
    return quota >= left ? s->o->max_runs : s->runs + quota;
}

/* What delta debugging takes out of: a list of the best candidate's items (faults, decisions,
 * cancellations). load says how many there are now (after an accepted candidate, too); make
 * builds the best candidate with only the items keep[] marks. */
typedef struct dd_list {
    uint32_t id;                                        /* its dd_state in the shrinker */
    const char *what;                                   /* for progress lines */
    uint32_t (*load)(shrinker *s);
    void (*make)(const shrinker *s, const bool *keep, candidate *c);
} dd_list;

/* Zeller's ddmin over a list: try each chunk alone (a jump to a few items), then each chunk
 * out; keep a candidate that still fails the same way and is smaller, else try the next
 * chunk; finer chunks when none can go. Every accepted candidate has fewer items. */
static bool ddmin(shrinker *s, const dd_list *l, uint64_t quota)
{
    uint64_t accepted = 0;
    uint32_t n = l->load(s);
    dd_state *st = &s->dd[l->id];
    uint32_t parts = st->parts ? st->parts : 2;
    uint64_t stop = run_stop(s, quota);
    if (n > 1 && !st->tried_none && s->runs < stop) { /* first the base: every item out */
        st->tried_none = true;
        bool *none = sim__xcalloc(n, sizeof *none, "a shrink's list");
        candidate c;
        l->make(s, none, &c);
        free(none);
        sim__outcome out;
        if (try_candidate(s, &c, false, false, &out)) {
            accept(s, &c, &out);
            n = l->load(s);
            accepted++;
            char what[96];
            snprintf(what, sizeof what, "every one of the %s taken out", l->what);
            progress(s, what);
        } else {
            candidate_free(&c);
        }
    }
    bool done = false;
    while (n > 0 && s->runs < stop) {
        if (parts > n) parts = n;
        bool reduced = false;
        bool *keep = sim__xcalloc(n + 1, sizeof *keep, "a shrink's list");
        for (uint32_t t = 0; t < 2 * parts && !reduced && s->runs < stop; t++) {
            bool alone = t < parts;
            if (alone && parts == 1) continue; /* the chunk alone is the whole list */
            uint32_t k = alone ? t : t - parts;
            uint32_t lo = (uint32_t)((uint64_t)n * k / parts);
            uint32_t hi = (uint32_t)((uint64_t)n * (k + 1) / parts);
            for (uint32_t j = 0; j < n; j++) keep[j] = (j >= lo && j < hi) == alone;
            candidate c;
            l->make(s, keep, &c);
            sim__outcome out;
            if (!try_candidate(s, &c, false, false, &out)) {
                candidate_free(&c);
                continue;
            }
            accept(s, &c, &out);
            n = l->load(s);
            parts = alone ? 2 : parts > 2 ? parts - 1 : 2;
            reduced = true;
            accepted++;
            char what[96];
            snprintf(what, sizeof what, "%s taken out", l->what);
            progress(s, what);
        }
        free(keep);
        if (!reduced && s->runs < stop) {
            if (parts >= n) { /* every item alone is needed */
                done = true;
                break;
            }
            parts = parts * 2 < n ? parts * 2 : n;
        }
    }
    /* A search the quota cut short goes on where it was next round; a finished one starts
     * afresh (by then other changes may have made items unneeded). */
    *st = done || n == 0 ? (dd_state){0} : (dd_state){.parts = parts, .tried_none = true};
    /* More to do when something went, or the quota (not the budget) cut the search short. */
    return accepted > 0 || (!done && n > 0 && s->runs == stop && stop < s->o->max_runs);
}

static uint32_t faults_load(shrinker *s)
{
    return starting_faults(&s->best_out, s->hits, MAX_FAULTS);
}

/* The run scripted to exactly the kept faults (so that no other hit fires in their place). */
static void faults_make(const shrinker *s, const bool *keep, candidate *c)
{
    uint32_t n = starting_faults(&s->best_out, s->hits, MAX_FAULTS);
    candidate_copy(c, &s->best);
    free(c->only);
    c->scripted = true;
    c->only = sim__xcalloc(n + 1, sizeof *c->only, "a shrink candidate");
    c->nonly = 0;
    for (uint32_t j = 0; j < n; j++) {
        if (keep[j]) c->only[c->nonly++] = s->hits[j];
    }
}

static uint32_t decisions_load(shrinker *s)
{
    return s->best.nforce;
}

/* The kept forced decisions; every other one goes back to the fifo strategy's choice. */
static void decisions_make(const shrinker *s, const bool *keep, candidate *c)
{
    candidate_copy(c, &s->best);
    uint32_t o = 0;
    for (uint32_t j = 0; j < s->best.nforce; j++) {
        if (keep[j]) c->force[o++] = s->best.force[j];
    }
    c->nforce = o;
}

static uint32_t cancels_load(shrinker *s)
{
    return s->best.ncancel;
}

static void cancels_make(const shrinker *s, const bool *keep, candidate *c)
{
    candidate_copy(c, &s->best);
    uint32_t o = 0;
    for (uint32_t j = 0; j < s->best.ncancel; j++) {
        if (keep[j]) c->cancel[o++] = s->best.cancel[j];
    }
    c->ncancel = o;
}

static const dd_list faults_list = {0, "faults", faults_load, faults_make};
static const dd_list decisions_list = {1, "scheduling decisions", decisions_load,
                                       decisions_make};
static const dd_list cancels_list = {2, "cancellations", cancels_load, cancels_make};

/* The index of the hit (point, hit) in the best candidate's only list, or UINT32_MAX. */
static uint32_t only_index(const shrinker *s, const hit_ref *h)
{
    for (uint32_t i = 0; i < s->best.nonly; i++) {
        if (s->best.only[i].hit == h->hit && strcmp(s->best.only[i].point, h->point) == 0) {
            return i;
        }
    }
    return UINT32_MAX;
}

/* Moves one fault of the script, hit H of its point to H - 1, H - 3, H - 7, ... (earlier) or
 * H + 1, H + 3, H + 7, ... (later: doubling steps), while the run still fails the same way
 * with no more faults and no more events; returns how many moves were kept. */
static uint64_t move_fault(shrinker *s, hit_ref at, bool earlier, uint64_t stop)
{
    uint64_t accepted = 0;
    for (uint64_t step = 1; s->runs < stop && at.hit <= UINT64_MAX / 4; step *= 2) {
        uint32_t i = only_index(s, &at);
        if (i == UINT32_MAX) break; /* it no longer fires as it was */
        if (earlier && step > at.hit) break; /* no hit before 0 */
        hit_ref moved = {.hit = earlier ? at.hit - step : at.hit + step};
        memcpy(moved.point, at.point, sizeof moved.point);
        if (only_index(s, &moved) != UINT32_MAX) break; /* that one is listed already */
        candidate c;
        candidate_copy(&c, &s->best);
        c.only[i] = moved;
        sim__outcome out;
        if (!try_candidate(s, &c, false, true, &out)) {
            candidate_free(&c);
            break;
        }
        hit_ref *refs = sim__xcalloc(MAX_FAULTS, sizeof *refs, "a shrink's faults");
        bool no_more = starting_faults(&out, refs, MAX_FAULTS) <= s->best.nonly &&
                       out.events <= s->best_out.events;
        free(refs);
        if (!no_more) {
            candidate_free(&c);
            sim__outcome_free(&out);
            break;
        }
        accept(s, &c, &out);
        accepted++;
        char what[SIM__POINT_NAME_MAX + 64];
        snprintf(what, sizeof what, "%s moved from hit %llu to %llu", at.point,
                 (unsigned long long)at.hit, (unsigned long long)moved.hit);
        progress(s, what);
        at = moved;
    }
    return accepted;
}

/* Moves each fault of the script earlier, then later, while the run still fails the same
 * way with no more faults and no more events. An earlier fault lets a smaller workload reach
 * it (the sizes go again next round: a leak that needs two read errors needs only as many
 * reads as the second one's hit); a later one leaves less of the run after it, and in a
 * causal slice fewer of the events that follow it. */
static bool move_faults(shrinker *s, uint64_t quota)
{
    if (s->o->no_move) return false;
    uint64_t stop = run_stop(s, quota);
    uint32_t nf = faults_load(s);
    if (!s->best.scripted && nf > 0 && s->runs < stop) {
        /* Every fault needed (ddmin took none out): the same run, as a script to move in. */
        bool *all = sim__xcalloc(nf, sizeof *all, "a shrink's list");
        for (uint32_t j = 0; j < nf; j++) all[j] = true;
        candidate c;
        faults_make(s, all, &c);
        free(all);
        sim__outcome out;
        if (try_candidate(s, &c, false, true, &out)) {
            accept(s, &c, &out);
        } else {
            candidate_free(&c);
        }
    }
    if (!s->best.scripted || s->best.nonly == 0) return false;
    uint32_t n = s->best.nonly;
    hit_ref *todo = sim__xcalloc(n, sizeof *todo, "a shrink's faults");
    memcpy(todo, s->best.only, n * sizeof *todo);
    uint64_t accepted = 0;
    for (uint32_t t = 0; t < n && s->runs < stop; t++) {
        hit_ref at = todo[t];
        uint64_t back = move_fault(s, at, true, stop);
        accepted += back;
        if (back > 0) continue; /* where it went is not todo[t] any more */
        accepted += move_fault(s, at, false, stop);
    }
    free(todo);
    return accepted > 0;
}

/* The decisions a run made, as its captured events say: a POLL among two or more runnable
 * tasks, and every cancellation. */
static void recorded_schedule(const sim__outcome *out, candidate *c)
{
    SIM_ASSERT(out->captured);
    const sim__evbuf *b = &out->events_buf;
    c->force = sim__xcalloc(b->n + 1, sizeof *c->force, "a run's schedule");
    c->cancel = sim__xcalloc(b->n + 1, sizeof *c->cancel, "a run's schedule");
    for (uint64_t i = 0; i < b->n; i++) {
        const sim__ev *e = &b->ev[i];
        if (e->kind == SIM_EV_POLL && (e->b >> 2) >= 2 && e->task != 0 &&
            (c->nforce == 0 || c->force[c->nforce - 1].step < e->step)) {
            c->force[c->nforce++] = (sim_decision){.step = e->step, .task = {e->task}};
        } else if (e->kind == SIM_EV_CANCEL && e->a != 0 &&
                   (c->ncancel == 0 || c->cancel[c->ncancel - 1] < e->a)) {
            c->cancel[c->ncancel++] = e->a;
        }
    }
}

/* The decision hook's ear: which forced decisions went against fifo's choice. */
typedef struct deviations {
    sim_decision *keep;  /* the deviating ones, in step order */
    uint32_t n, cap;
} deviations;

static void hear_deviation(void *ud, uint64_t step, const uint32_t *runnable, uint32_t n,
                           uint32_t chosen)
{
    deviations *d = ud;
    SIM_ASSERT(n >= 2);
    if (runnable[0] == chosen) return; /* fifo's own choice: forcing it changes nothing */
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->keep = sim__xrealloc_array(d->keep, d->cap, sizeof *d->keep, "a run's schedule");
    }
    d->keep[d->n++] = (sim_decision){.step = step, .task = {chosen}};
}

/* Keeps in c only the forced decisions that deviate from fifo's choice, by running c once in
 * this process with the executor's decision hook (the fifo queue at each decision). */
static void keep_deviations(const shrinker *s, candidate *c)
{
    sim_scenario *sc = candidate_scenario(s, c);
    if (sc == NULL) return;
    deviations d = {0};
    sim__run_opts ro = {.seed = s->row->seed, .decision_fn = hear_deviation, .decision_ud = &d};
    sim__outcome out;
    if (sim__run_seed(sc, &ro, &out) == SIM_OK) {
        SIM_ASSERT(d.n <= c->nforce);
        free(c->force);
        c->force = d.keep != NULL ? d.keep : sim__xcalloc(1, sizeof *c->force, "a schedule");
        c->nforce = d.n;
        d.keep = NULL;
    }
    sim__outcome_free(&out);
    free(d.keep);
    sim_scenario_free(sc);
}

/* Makes the best run's scheduling decisions and cancellations a script that later rounds take
 * out of: the run under the fifo strategy with its own decisions forced where they differ from
 * fifo's, and its cancellations listed (random cancellation off). The same run, so it fails
 * the same way; if it does not (a run that kills the process), decisions are not shrunk. */
static void schedule_script(shrinker *s)
{
    s->sched_tried = true;
    sim_scenario *sc = candidate_scenario(s, &s->best);
    SIM_ASSERT(sc != NULL); /* it ran */
    sim_world_desc d = sim_scenario_world_desc(sc, s->row->seed);
    bool random_cancel = d.cancel_rate.p != 0 && d.cancel_rate.q != 0;
    bool base = d.sched.kind == SIM_SCHED_FIFO && d.cancel_at == 0 && !random_cancel &&
                d.forced_count == 0 && d.cancel_count == 0;
    sim__outcome out;
    sim__run_opts ro = {.seed = s->row->seed, .capture = true};
    int rc = base ? SIM_OK : cli_run_seed_forked(sc, &ro, &out);
    sim_scenario_free(sc);
    if (base) return; /* the base strategy's run already */
    if (rc != SIM_OK) sim__oom(0, "a shrink's recording run");
    candidate c;
    candidate_copy(&c, &s->best);
    free(c.force);
    free(c.cancel);
    c.nforce = c.ncancel = 0;
    c.scheduled = true;
    bool captured = out.captured;
    if (captured) recorded_schedule(&out, &c);
    bool crashed = strcmp(out.result, "crash") == 0;
    sim__outcome_free(&out);
    if (!captured) {
        candidate_free(&c);
        return;
    }
    if (!crashed) keep_deviations(s, &c);
    if (!try_candidate(s, &c, false, true, &out)) {
        candidate_free(&c);
        if (!s->o->quiet) fprintf(stderr, "shrink: its decisions as a script do not fail the "
                                          "same way: they stay as they are\n");
        return;
    }
    s->decisions_before = c.nforce + c.ncancel;
    accept(s, &c, &out);
    char what[96];
    snprintf(what, sizeof what, "the schedule as a script: %u decision(s) off fifo, %u cancel(s)",
             s->best.nforce, s->best.ncancel);
    progress(s, what);
}

/* The value of key in the best candidate so far: its own change, else the recorded one. */
static uint64_t current_size(const shrinker *s, const sim_scenario *base, const sim_key_spec *k)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s.%s=", k->section, k->key);
    for (uint32_t i = 0; i < s->best.nsizes; i++) {
        if (strncmp(s->best.sizes[i], prefix, strlen(prefix)) != 0) continue;
        uint64_t v = 0;
        (void)cli_parse_u64(s->best.sizes[i] + strlen(prefix), &v);
        return v;
    }
    return sim_scenario_uint(base, k->section, k->key);
}

/* A candidate: the best with key set to v. */
static void with_size(const shrinker *s, const sim_key_spec *k, uint64_t v, candidate *c)
{
    candidate_copy(c, &s->best);
    char line[256], prefix[128];
    snprintf(prefix, sizeof prefix, "%s.%s=", k->section, k->key);
    snprintf(line, sizeof line, "%s%llu", prefix, (unsigned long long)v);
    for (uint32_t i = 0; i < c->nsizes; i++) {
        if (strncmp(c->sizes[i], prefix, strlen(prefix)) != 0) continue;
        free(c->sizes[i]);
        c->sizes[i] = sim__xstrdup(line, "a shrink candidate");
        return;
    }
    c->sizes = sim__xrealloc_array(c->sizes, c->nsizes + 2, sizeof *c->sizes,
                                   "a shrink candidate");
    c->sizes[c->nsizes++] = sim__xstrdup(line, "a shrink candidate");
}

/* Whether the system lets sim shrink lower this key (sim_system.shrink). */
static bool shrinkable(const sim_system *sys, const sim_key_spec *k)
{
    if (sys->shrink == NULL || k->type != SIM_KEY_UINT) return false;
    char name[128];
    int n = snprintf(name, sizeof name, "%s.%s", k->section, k->key);
    if (n <= 0 || (size_t)n >= sizeof name) return false;
    for (const char *p = sys->shrink; (p = strstr(p, name)) != NULL; p += n) {
        bool starts = p == sys->shrink || p[-1] == ' ';
        bool ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends) return true;
    }
    return false;
}

/* For each key the system lets it lower: the smallest value that still fails, by binary
 * search between its minimum and the value now (which fails). */
static bool shrink_sizes(shrinker *s, const sim_scenario *base)
{
    uint64_t accepted = 0;
    const sim_system *sys = sim_scenario_system(base);
    for (uint32_t i = 0; i < sys->key_count && s->runs < s->o->max_runs; i++) {
        const sim_key_spec *k = &sys->keys[i];
        if (!shrinkable(sys, k)) continue;
        uint64_t hi = current_size(s, base, k);
        uint64_t lo = k->min;
        while (lo < hi && s->runs < s->o->max_runs) {
            uint64_t mid = lo + (hi - lo) / 2;
            candidate c;
            with_size(s, k, mid, &c);
            sim__outcome out;
            if (try_candidate(s, &c, false, false, &out)) {
                accept(s, &c, &out);
                accepted++;
                hi = mid;
                char what[160];
                snprintf(what, sizeof what, "%s.%s down to %llu", k->section, k->key,
                         (unsigned long long)mid);
                progress(s, what);
            } else {
                candidate_free(&c);
                lo = mid + 1;
            }
        }
    }
    return accepted > 0;
}

/* The overrides the shrunk run ran under: the original's, then the shrink's, one a line. */
static char *shrunk_overrides(const shrinker *s)
{
    size_t size = strlen(s->row->overrides) + 2;
    for (uint32_t i = 0; i < s->best.nsizes; i++) size += strlen(s->best.sizes[i]) + 1;
    size += (size_t)s->best.nonly * (SIM__POINT_NAME_MAX + 40) + 32;
    char *sched = schedule_lines(&s->best);
    size += strlen(sched) + 2;
    char *buf = sim__xmalloc(size, "a shrunk run's overrides");
    size_t o = (size_t)snprintf(buf, size, "%s", s->row->overrides);
    for (uint32_t i = 0; i < s->best.nsizes; i++) {
        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "\n" : "", s->best.sizes[i]);
    }
    if (s->best.scripted && s->best.nonly == 0) {
        o += (size_t)snprintf(buf + o, size - o, "%sfaults.only=none", o ? "\n" : "");
    }
    for (uint32_t i = 0; i < s->best.nonly; i++) {
        o += (size_t)snprintf(buf + o, size - o, "%sfaults.only=%s@%llu", o ? "\n" : "",
                              s->best.only[i].point, (unsigned long long)s->best.only[i].hit);
    }
    if (sched[0] != '\0') o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "\n" : "", sched);
    free(sched);
    SIM_ASSERT(o < size);
    return buf;
}

/* Records the shrunk run (every event); its id in *run_id. */
static int record_shrunk(shrinker *s, sim__store *st, const sim__outcome *out, uint64_t *run_id)
{
    sim_scenario *sc = candidate_scenario(s, &s->best);
    SIM_ASSERT(sc != NULL); /* it ran */
    char strategy[64];
    sim_world_desc d = sim_scenario_world_desc(sc, out->seed);
    sim_sched_format(&d.sched, strategy, sizeof strategy);
    char *overrides = shrunk_overrides(s);
    sim__run_row row = {
        .scenario = s->row->scenario,
        .scenario_path = s->row->scenario_path,
        .system = s->row->system,
        .seed = out->seed,
        .strategy = strategy,
        .config = (char *)sim_scenario_canonical(sc),
        .config_hash = cli_hash_text(sim_scenario_canonical(sc)),
        .binary_version = (char *)cli_version(),
        .record_mode = "full",
        .status = "done",
        .result = (char *)out->result,
        .detail = (char *)out->detail,
        .report = out->report,
        .trace_hash = out->hash,
        .event_count = out->events,
        .step_count = out->steps,
        .vtime_ns = out->vtime_ns,
        .wall_ms = out->wall_ns / 1000000,
        .events_stored = out->captured,
        .faults = (char *)out->plan,
        .fault_count = out->nfaults + out->faults_dropped,
        .overrides = overrides,
    };
    sim__run_data data = {.checkpoints = out->checkpoints, .ncheckpoints = out->ncheckpoints,
                          .violations = out->violations, .nviolations = out->nviolations,
                          .events = out->captured ? &out->events_buf : NULL,
                          .faults = out->faults, .nfaults = out->captured ? out->nfaults : 0,
                          .history = out->captured ? out->history : NULL};
    int rc = sim__store_record(st, &row, &data, run_id);
    if (rc != SIM_OK) cli_err("%s\n", sim__store_error(st));
    free(overrides);
    sim_scenario_free(sc);
    return rc == SIM_OK ? 0 : EXIT_USAGE;
}

/* What the summary compares. */
typedef struct figures {
    uint32_t faults;
    uint64_t events, steps, vtime_ns;
    uint32_t decisions; /* forced decisions off fifo and cancellations, once a script */
    uint64_t ops;       /* operations in the run's history (invocations) */
} figures;

static figures figures_of(const sim__outcome *out)
{
    hit_ref *refs = sim__xcalloc(MAX_FAULTS, sizeof *refs, "a shrink's faults");
    figures f = {.faults = starting_faults(out, refs, MAX_FAULTS), .events = out->events,
                 .steps = out->steps, .vtime_ns = out->vtime_ns, .ops = out->ops};
    free(refs);
    return f;
}

static void print_figures(const char *label, const figures *f)
{
    printf("%-8s %8u %10llu %10llu %9llu.%06llus %10u %10llu\n", label, f->faults,
           (unsigned long long)f->events, (unsigned long long)f->steps,
           (unsigned long long)(f->vtime_ns / SIM_S),
           (unsigned long long)(f->vtime_ns % SIM_S / 1000), f->decisions,
           (unsigned long long)f->ops);
}

static void print_summary(const shrinker *s, const figures *before, uint64_t run_id)
{
    figures after = figures_of(&s->best_out);
    after.decisions = s->best.scheduled ? s->best.nforce + s->best.ncancel : 0;
    printf("%-8s %8s %10s %10s %17s %10s %10s\n", "", "faults", "events", "steps", "virtual",
           "decisions", "operations");
    print_figures("before", before);
    print_figures("after", &after);
    for (uint32_t i = 0; i < s->best.nsizes; i++) printf("  --set %s\n", s->best.sizes[i]);
    if (s->best.scripted) {
        printf("  [faults] only: the %u fault hit(s) kept, no others\n", s->best.nonly);
    }
    if (s->best.scheduled) {
        printf("  [schedule]: the fifo strategy but %u forced decision(s), %u cancellation(s)\n",
               s->best.nforce, s->best.ncancel);
    }
    printf("run %llu: run %llu shrunk in %llu candidate run(s), %s: %s\n",
           (unsigned long long)run_id, (unsigned long long)s->row->run_id,
           (unsigned long long)s->runs, s->best_out.result, s->best_out.detail);
    printf("  replay: %s replay --db %s %llu\n", cli_prog(), s->o->db,
           (unsigned long long)run_id);
    printf("  faults: %s show --db %s %llu --faults\n", cli_prog(), s->o->db,
           (unsigned long long)run_id);
}

static int shrink_run(const shrink_opts *o, sim__store *st, const sim__run_row *row)
{
    if (strcmp(row->result, "pass") == 0 || strcmp(row->status, "done") != 0) {
        return cli_usage_error(NULL, "run %llu %s: there is no failure to shrink",
                               (unsigned long long)row->run_id,
                               strcmp(row->result, "pass") == 0 ? "passed" : "did not finish");
    }
    shrinker s = {.o = o, .row = row};
    s.hits = sim__xcalloc(MAX_FAULTS, sizeof *s.hits, "a shrink's faults");
    signature(row->result, row->detail, s.want, sizeof s.want);
    if (!try_candidate(&s, &s.best, false, true, &s.best_out)) {
        free(s.hits);
        return cli_usage_error(NULL, "run %llu does not fail the same way when run again here "
                                     "(%s replay --db %s %llu says how it differs)",
                               (unsigned long long)row->run_id, cli_prog(), o->db,
                               (unsigned long long)row->run_id);
    }
    s.have_best = true;
    figures before = figures_of(&s.best_out);
    if (!o->quiet) {
        fprintf(stderr, "shrink: run %llu (%s seed %llu) fails as %s\n",
                (unsigned long long)row->run_id, row->scenario, (unsigned long long)row->seed,
                s.want);
    }
    uint32_t nsys;
    const sim_system *const *systems = cli_systems(&nsys);
    sim_scenario *base = NULL;
    char err[1024];
    int rc = sim_scenario_parse(row->scenario_path, row->config, systems, nsys, &base, err,
                                sizeof err);
    SIM_ASSERT(rc == SIM_OK); /* it ran just above */
    /* Rounds of sizes then faults, until a round takes nothing out or the budget is spent. */
    for (bool more = true; more && s.runs < o->max_runs;) {
        bool sized = shrink_sizes(&s, base);
        bool faulted = ddmin(&s, &faults_list, UINT64_MAX);
        faulted |= move_faults(&s, DD_QUOTA);
        if (!s.sched_tried && s.runs < o->max_runs) {
            schedule_script(&s);
            /* Under a script the sizes can go lower (decisions are pinned to tasks, not to
             * the strategy's draws): the sizes again, before the decisions. */
            if (s.best.scheduled) continue;
        }
        /* A share of the budget a round, so that sizes and faults get another turn. */
        bool decided = s.best.scheduled && ddmin(&s, &cancels_list, DD_QUOTA);
        decided |= s.best.scheduled && ddmin(&s, &decisions_list, DD_QUOTA);
        more = sized || decided || faulted;
    }
    sim_scenario_free(base);
    sim__outcome final;
    bool same = try_candidate(&s, &s.best, true, false, &final);
    SIM_ASSERT(same); /* the best candidate again, recording: a deterministic run */
    uint64_t run_id = 0;
    rc = record_shrunk(&s, st, &final, &run_id);
    sim__outcome_free(&s.best_out);
    s.best_out = final;
    before.decisions = s.decisions_before;
    if (rc == 0) print_summary(&s, &before, run_id);
    candidate_free(&s.best);
    sim__outcome_free(&s.best_out);
    free(s.hits);
    return rc;
}

static int shrink_main(const shrink_opts *po)
{
    shrink_opts o = *po;
    SIM_ASSERT(o.db != NULL && o.run_id != 0 && o.max_runs > 0);
    sim__store *st = NULL;
    sim__run_row row;
    int rc = cli_open_run(o.db, o.run_id, SIM__STORE_WRITE, &st, &row);
    if (rc != 0) return rc;
    rc = cli_refuse_host_run(&row, o.db, "shrunk");
    if (rc == 0) rc = shrink_run(&o, st, &row);
    sim__run_row_free(&row);
    sim__store_close(st);
    return rc;
}

int cli_shrink(const char *db, uint64_t run_id, uint64_t max_runs, bool quiet)
{
    shrink_opts o = {.db = db, .run_id = run_id, .max_runs = max_runs, .quiet = quiet};
    return shrink_main(&o);
}

int cmd_shrink(int argc, char **argv)
{
    shrink_opts o = {0};
    int rc = parse_shrink(argc, argv, &o);
    if (rc != 0) return rc < 0 ? 0 : rc;
    return shrink_main(&o);
}
