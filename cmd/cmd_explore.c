/*
 * cmd_explore.c: `sim explore SCENARIO --seed N`: bounded exhaustive exploration of one seed's
 * schedules.
 *
 * The base schedule is the seed under the fifo strategy: every other choice (latencies,
 * faults, workloads) still comes from the seed, so a schedule is the base plus a list of
 * deviations, each "at step S, run task T instead". The search is iterative context bounding
 * (Musuvathi and Qadeer 2007): bound 0 is the base, bound b every schedule with exactly b
 * deviations, depth first. The children of a schedule deviate at a decision after its last
 * deviation, to each task the run recorded as runnable there (the executor's decision hook
 * gives the set, not only its size), so no forced decision can diverge and no run is wasted.
 * A cancellation is a deviation too: at a cancellable await after the last deviation, the
 * task is aborted (scenario.cancel_at), or at a branch point the other branch of a select
 * wins or a timeout fires (scenario.branch_at); one per schedule, as each key takes one. A
 * parent is
 * run again to learn its decisions and awaits (one extra run per schedule of the bound
 * below).
 *
 * Pruning (on unless --no-prune): the executor reports each step's footprint (footprint.c:
 * the objects, timers, tasks and obligations it touched, or "global"), and a child that runs
 * task T at step S instead of the fifo choice is skipped when the parent's run proves it the
 * same run: T's next step there (S') queues nobody and is independent of every step from S
 * to S' (equivalent_until). Such a child is the parent with one step moved, so a leaf is not
 * run at all, and an inner child is explored only for deviations up to S': past it, its
 * children are the same runs as the parent's children with one deviation fewer, explored at
 * a lower bound. This is the persistent-set idea of partial-order reduction (Godefroid 1996)
 * in its simplest sound form for a fifo base, not full DPOR: a reordering that needs two
 * moved steps is still run. --audit-prune runs every skipped schedule anyway and compares.
 *
 * The first failing schedule is printed with the command that runs it again, exactly:
 * `sim explore SCENARIO --seed N --schedule S:T,S:T`. Same scenario, seed and deviations, the
 * same run, hash included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_explore[] =
    "usage: sim explore SCENARIO --seed N [--bound B] [--max-runs M] [--no-prune]\n"
    "                   [--audit-prune] [--set S.K=V]...\n"
    "       sim explore SCENARIO --seed N --schedule S:T[,S:T...] [--set S.K=V]...\n"
    "\n"
    "Explores the schedules of one seed: the seed under the fifo strategy, then every\n"
    "schedule that deviates from it at one decision (run another runnable task there, or\n"
    "abort the task at a cancellable await), then at two, ... up to B deviations (iterative\n"
    "context bounding), depth first. Stops at the first failing schedule and prints the\n"
    "command that runs it again; --schedule runs one schedule given as its deviations\n"
    "(S:T runs task T at step S, steps increasing; cK cancels at await K; bK makes the\n"
    "other branch win at branch point K; `base`: none).\n"
    "\n"
    "  --seed N          the seed (required)\n"
    "  --bound B         the most deviations (default 2)\n"
    "  --max-runs M      stop after M runs (default 100000)\n"
    "  --no-prune        run every schedule, even one provably the same run as another\n"
    "  --audit-prune     run the schedules pruning skips too, and report any that differs\n"
    "                    from the schedule it was skipped for\n"
    "  --set S.K=V       override a scenario key, as sim run does\n"
    "\n"
    "exit status: 0 when no schedule within the bound fails, 1 when one does, 2 on bad\n"
    "arguments or files.\n";

#define DEV_MAX 16

typedef struct decision_rec {
    uint64_t step;
    uint32_t alt[8];   /* runnable tasks other than the one chosen (the first 8) */
    uint32_t nalt;
} decision_rec;

/* The steps of one kind of point: step[k - 1] is point k's. */
typedef struct points {
    uint64_t *step;
    uint32_t n, cap;
} points;

/* One step as the step hook heard it: the task polled, SIM__FP_* flags, and its keys
 * (keys[off .. off + nkeys) of the run's pool). */
typedef struct step_rec {
    uint32_t task;
    uint32_t flags;
    uint32_t off, nkeys;
} step_rec;

/* What one run decided, as the hook heard it, where its cancellable awaits (kind 0) and
 * branch points (kind 1) were, and (pruning on) each step's footprint. */
typedef struct decisions {
    decision_rec *d;
    uint32_t n, cap;
    points pt[2];
    step_rec *st;            /* st[s - 1] is step s */
    uint32_t nst, capst;
    uint64_t *keys;
    uint32_t nkeys, capkeys;
} decisions;

static void decisions_free(decisions *ds)
{
    free(ds->d);
    free(ds->pt[0].step);
    free(ds->pt[1].step);
    free(ds->st);
    free(ds->keys);
}

static const char kind_char[2] = {'c', 'b'};

static void hear_point(void *ud, uint64_t point, bool branch, uint64_t step)
{
    decisions *ds = ud;
    points *p = &ds->pt[branch ? 1 : 0];
    SIM_ASSERT(point == (uint64_t)p->n + 1);
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->step = realloc(p->step, p->cap * sizeof *p->step);
        SIM_ASSERT(p->step != NULL);
    }
    p->step[p->n++] = step;
}

static void hear_decision(void *ud, uint64_t step, const uint32_t *runnable, uint32_t n,
                          uint32_t chosen)
{
    decisions *ds = ud;
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? ds->cap * 2 : 64;
        ds->d = realloc(ds->d, ds->cap * sizeof *ds->d);
        SIM_ASSERT(ds->d != NULL);
    }
    decision_rec *r = &ds->d[ds->n++];
    r->step = step;
    r->nalt = 0;
    for (uint32_t i = 0; i < n && r->nalt < 8; i++) {
        if (runnable[i] != chosen) r->alt[r->nalt++] = runnable[i];
    }
}

static void hear_step(void *ud, uint64_t step, uint32_t task, const uint64_t *keys, uint32_t n,
                      uint32_t flags)
{
    decisions *ds = ud;
    SIM_ASSERT(step == (uint64_t)ds->nst + 1); /* every step, in order */
    SIM_ASSERT(n <= SIM__FP_KEYS_MAX);
    if (ds->nst == ds->capst) {
        ds->capst = ds->capst ? ds->capst * 2 : 256;
        ds->st = realloc(ds->st, ds->capst * sizeof *ds->st);
        SIM_ASSERT(ds->st != NULL);
    }
    while (ds->nkeys + n > ds->capkeys) {
        ds->capkeys = ds->capkeys ? ds->capkeys * 2 : 1024;
        ds->keys = realloc(ds->keys, ds->capkeys * sizeof *ds->keys);
        SIM_ASSERT(ds->keys != NULL);
    }
    ds->st[ds->nst++] = (step_rec){.task = task, .flags = flags, .off = ds->nkeys, .nkeys = n};
    if (n > 0) memcpy(ds->keys + ds->nkeys, keys, n * sizeof *keys);
    ds->nkeys += n;
}

static bool keys_meet(const decisions *ds, const step_rec *a, const step_rec *b)
{
    for (uint32_t i = 0; i < a->nkeys; i++) {
        for (uint32_t j = 0; j < b->nkeys; j++) {
            if (ds->keys[a->off + i] == ds->keys[b->off + j]) return true;
        }
    }
    return false;
}

/* Whether running `task` at `step` instead of the fifo choice is provably the same run as the
 * recorded one with that task's next step moved earlier: the step S' where the run polled it
 * next, or 0 when not provable. The proof: the task stays queued from `step` to S', so virtual
 * time stands still and the tasks ahead of it run in queue order in both runs; its step at S'
 * queues nobody and is independent of every step in between (no common key, none global), and
 * no event happens between them; so the two orders leave the same world at S', the same queue
 * (the task's absence only leaves it where it was) and the same points counted, and from S' on
 * the runs are the same, step numbers included. */
static uint64_t equivalent_until(const decisions *ds, uint64_t step, uint32_t task)
{
    SIM_ASSERT(step >= 1);
    uint64_t until = 0;
    for (uint64_t j = step; j <= ds->nst && until == 0; j++) {
        if (ds->st[j - 1].task == task) until = j;
    }
    if (until == 0) return 0;
    const step_rec *t = &ds->st[until - 1];
    SIM_ASSERT(until > step); /* the decision at `step` chose another task */
    if (t->flags & (SIM__FP_ENQUEUED | SIM__FP_GLOBAL | SIM__FP_EVENT_BEFORE)) return 0;
    for (uint64_t j = step; j < until; j++) {
        const step_rec *r = &ds->st[j - 1];
        if (r->flags & SIM__FP_GLOBAL) return 0;
        if (j > step && (r->flags & SIM__FP_EVENT_BEFORE)) return 0;
        if (keys_meet(ds, r, t)) return 0;
    }
    return until;
}

typedef struct explorer {
    sim_scenario *sc;
    uint64_t seed;
    uint64_t max_runs;
    uint64_t runs;
    uint64_t at_bound;       /* schedules with exactly the current bound's deviations, run */
    uint64_t at_bound_pruned; /* and skipped as equivalent to one run */
    bool truncated;          /* max_runs reached */
    bool found;
    bool prune;              /* skip schedules provably equivalent to one explored */
    uint64_t pruned;         /* schedules (or subtrees) skipped as equivalent */
    bool audit;              /* --audit-prune: run what is skipped anyway and compare */
    uint64_t audited;        /* skipped schedules run by the audit */
    uint64_t audit_bad;      /* of which ran differently from their equivalent */
    sim_decision dev[DEV_MAX];
    uint64_t cancel;         /* the schedule's cancellation: point number; 0 none */
    uint32_t cancel_kind;    /* 0: abort at await `cancel`; 1: other branch at branch point */
    uint64_t cancel_step;
    sim_decision found_dev[DEV_MAX];
    uint32_t found_n;
    uint64_t found_cancel;
    uint32_t found_kind;
    char found_detail[600];
} explorer;

/* Runs the schedule dev[0..n); its decisions into *ds when ds is not NULL. */
static int run_schedule(explorer *x, const sim_decision *dev, uint32_t n, decisions *ds,
                        sim__outcome *out)
{
    sim__run_opts ro = {.seed = x->seed, .forced = n ? dev : NULL, .nforced = n,
                        .capture = x->audit && ds == NULL,
                        .decision_fn = ds ? hear_decision : NULL,
                        .point_fn = ds ? hear_point : NULL,
                        .step_fn = ds && x->prune ? hear_step : NULL, .decision_ud = ds};
    static const char *const keys[2] = {"cancel_at", "branch_at"};
    char value[32], err[256];
    for (uint32_t kind = 0; kind < 2; kind++) {
        uint64_t k = kind == x->cancel_kind ? x->cancel : 0;
        snprintf(value, sizeof value, "%llu", (unsigned long long)k);
        int rc = sim_scenario_set(x->sc, "scenario", keys[kind], value, err, sizeof err);
        SIM_ASSERT(rc == SIM_OK);
    }
    x->runs++;
    return sim__run_seed(x->sc, &ro, out);
}

/* ---- the audit of pruning (--audit-prune) ---------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* What two equivalent runs share: the result, steps, end time, and the multiset of their events
 * (an order-free sum of each event's hash), leaving out what an equivalent order renumbers: the
 * polls (their runnable counts) and timers' arming sequence numbers. */
typedef struct fingerprint {
    bool failed;
    char result[32];
    uint64_t steps, vtime_ns, events, sum;
} fingerprint;

static fingerprint fingerprint_of(const sim__outcome *out)
{
    fingerprint f = {.failed = out->failed, .steps = out->steps, .vtime_ns = out->vtime_ns,
                     .events = out->events};
    snprintf(f.result, sizeof f.result, "%s", out->result);
    SIM_ASSERT(out->events_buf.n == out->events); /* captured in full */
    for (uint64_t i = 0; i < out->events_buf.n; i++) {
        const sim__ev *e = &out->events_buf.ev[i];
        if (e->kind == SIM_EV_POLL) continue;
        bool timer = e->kind == SIM_EV_TIMER_SET || e->kind == SIM_EV_TIMER_FIRE;
        uint64_t h = mix64(e->kind ^ mix64((uint64_t)e->node << 32 | e->task));
        h = mix64(h ^ e->vtime_ns);
        h = mix64(h ^ e->a);
        f.sum += mix64(h ^ (timer ? 0 : e->b));
    }
    return f;
}

/* Runs dev[0..n) with the cancellation `cancel` of `kind` for the audit. */
static int audit_run(explorer *x, const sim_decision *dev, uint32_t n, uint64_t cancel,
                     uint32_t kind, fingerprint *f)
{
    uint64_t saved_cancel = x->cancel, saved_runs = x->runs;
    uint32_t saved_kind = x->cancel_kind;
    x->cancel = cancel;
    x->cancel_kind = kind;
    sim__outcome out;
    int rc = run_schedule(x, dev, n, NULL, &out);
    x->cancel = saved_cancel;
    x->cancel_kind = saved_kind;
    x->runs = saved_runs; /* not the search's */
    if (rc != SIM_OK) return rc;
    *f = fingerprint_of(&out);
    sim__outcome_free(&out);
    return SIM_OK;
}

static void schedule_text(const sim_decision *dev, uint32_t n, uint64_t cancel, uint32_t kind,
                          char *buf, size_t size);

/* The skipped schedule a (na deviations) against the one it was proved the same run as, b. */
static int audit_pair(explorer *x, const sim_decision *a, uint32_t na, const sim_decision *b,
                      uint32_t nb, uint64_t cancel, uint32_t kind)
{
    fingerprint fa, fb;
    int rc = audit_run(x, a, na, cancel, kind, &fa);
    if (rc == SIM_OK) rc = audit_run(x, b, nb, cancel, kind, &fb);
    if (rc != SIM_OK) return rc;
    x->audited++;
    if (fa.failed == fb.failed && strcmp(fa.result, fb.result) == 0 && fa.steps == fb.steps &&
        fa.vtime_ns == fb.vtime_ns && fa.events == fb.events && fa.sum == fb.sum) {
        return SIM_OK;
    }
    x->audit_bad++;
    char ta[400], tb[400];
    schedule_text(a, na, cancel, kind, ta, sizeof ta);
    schedule_text(b, nb, cancel, kind, tb, sizeof tb);
    printf("audit: schedule %s was skipped as the same run as %s, but differs: %s/%s, %llu/%llu "
           "steps, %llu/%llu events\n", ta, tb, fa.result, fb.result,
           (unsigned long long)fa.steps, (unsigned long long)fb.steps,
           (unsigned long long)fa.events, (unsigned long long)fb.events);
    return SIM_OK;
}

static void note_failure(explorer *x, uint32_t n, const sim__outcome *out)
{
    x->found = true;
    x->found_n = n;
    x->found_cancel = x->cancel;
    x->found_kind = x->cancel_kind;
    memcpy(x->found_dev, x->dev, n * sizeof x->dev[0]);
    snprintf(x->found_detail, sizeof x->found_detail, "%s: %s", out->result, out->detail);
}

static int explore(explorer *x, uint32_t n, uint32_t left, uint64_t window);

/* Audits the children deviating at d that a window skipped: each against the same deviation
 * without dev[n - 1] (the one proved the same run as its parent). */
static int audit_window_devs(explorer *x, uint32_t n, const decision_rec *d)
{
    if (!x->audit) return SIM_OK;
    SIM_ASSERT(n >= 1 && n + 1 < DEV_MAX);
    sim_decision without[DEV_MAX];
    memcpy(without, x->dev, (n - 1) * sizeof without[0]);
    int rc = SIM_OK;
    for (uint32_t k = 0; k < d->nalt && rc == SIM_OK; k++) {
        x->dev[n] = (sim_decision){.step = d->step, .task = {d->alt[k]}};
        without[n - 1] = x->dev[n];
        rc = audit_pair(x, x->dev, n + 1, without, n, x->cancel, x->cancel_kind);
    }
    return rc;
}

/* The children of a schedule without a cancellation that cancel at a point after its last
 * deviation (step `after`): each await aborted, then each branch point's other branch. Those
 * past `window` (when not 0) are skipped: equivalent to ones explored (see explore). */
static int explore_cancels(explorer *x, uint32_t n, uint32_t left, const decisions *ds,
                           uint64_t after, uint64_t window, int rc)
{
    SIM_ASSERT(x->cancel == 0 && left > 0);
    for (uint32_t kind = 0; kind < 2; kind++) {
        const points *p = &ds->pt[kind];
        for (uint32_t k = 0; k < p->n && rc == SIM_OK && !x->found && !x->truncated; k++) {
            if (p->step[k] <= after) continue;
            if (window != 0 && p->step[k] > window) {
                x->pruned++;
                if (left == 1) x->at_bound_pruned++;
                if (x->audit) rc = audit_pair(x, x->dev, n, x->dev, n - 1, (uint64_t)k + 1, kind);
                continue;
            }
            if (x->runs >= x->max_runs) {
                x->truncated = true;
                break;
            }
            x->cancel = (uint64_t)k + 1;
            x->cancel_kind = kind;
            x->cancel_step = p->step[k];
            rc = explore(x, n, left - 1, 0);
            x->cancel = 0;
            x->cancel_kind = 0;
            x->cancel_step = 0;
        }
    }
    return rc;
}

/* The child deviating at decision d to its k-th alternative, unless pruning proves it the
 * same run as this schedule's (equivalent_until): then a leaf is skipped outright, and an
 * inner child is explored only for deviations up to the step where the runs meet again; past
 * it, each of its children is the same run as this schedule's child with that deviation
 * alone, which has one deviation fewer and so was explored at a lower bound. */
static int explore_child(explorer *x, uint32_t n, uint32_t left, const decisions *ds,
                         const decision_rec *d, uint32_t k)
{
    SIM_ASSERT(left > 0 && k < d->nalt);
    uint64_t until = x->prune ? equivalent_until(ds, d->step, d->alt[k]) : 0;
    if (until != 0 && left == 1) {
        x->pruned++;
        x->at_bound_pruned++;
        if (!x->audit) return SIM_OK;
        x->dev[n] = (sim_decision){.step = d->step, .task = {d->alt[k]}};
        return audit_pair(x, x->dev, n + 1, x->dev, n, x->cancel, x->cancel_kind);
    }
    x->dev[n] = (sim_decision){.step = d->step, .task = {d->alt[k]}};
    return explore(x, n + 1, left - 1, until);
}

/* Every schedule extending dev[0..n) (and the cancellation, if any) by `left` more deviations
 * after its last one, up to step `window` when it is not 0. */
static int explore(explorer *x, uint32_t n, uint32_t left, uint64_t window)
{
    decisions ds = {0};
    sim__outcome out;
    int rc = run_schedule(x, x->dev, n, left ? &ds : NULL, &out);
    if (rc != SIM_OK) return rc;
    if (left == 0) {
        x->at_bound++;
        if (out.failed) note_failure(x, n, &out);
    }
    sim__outcome_free(&out);
    uint64_t after = n ? x->dev[n - 1].step : 0;
    if (x->cancel_step > after) after = x->cancel_step;
    for (uint32_t i = 0; i < ds.n && rc == SIM_OK && !x->found && !x->truncated; i++) {
        if (ds.d[i].step <= after) continue;
        if (window != 0 && ds.d[i].step > window) {
            x->pruned += ds.d[i].nalt;
            if (left == 1) x->at_bound_pruned += ds.d[i].nalt;
            rc = audit_window_devs(x, n, &ds.d[i]);
            continue;
        }
        for (uint32_t k = 0; k < ds.d[i].nalt && rc == SIM_OK && !x->found; k++) {
            if (x->runs >= x->max_runs) {
                x->truncated = true;
                break;
            }
            rc = explore_child(x, n, left, &ds, &ds.d[i], k);
        }
    }
    if (left > 0 && x->cancel == 0) rc = explore_cancels(x, n, left, &ds, after, window, rc);
    decisions_free(&ds);
    return rc;
}

static void schedule_text(const sim_decision *dev, uint32_t n, uint64_t cancel, uint32_t kind,
                          char *buf, size_t size)
{
    SIM_ASSERT(kind < 2);
    snprintf(buf, size, "%s", n == 0 && cancel == 0 ? "base" : "");
    size_t at = strlen(buf);
    for (uint32_t i = 0; i < n && at < size; i++) {
        at += (size_t)snprintf(buf + at, size - at, "%s%llu:%u", i ? "," : "",
                               (unsigned long long)dev[i].step, dev[i].task.v);
    }
    if (cancel != 0 && at < size) {
        snprintf(buf + at, size - at, "%s%c%llu", n ? "," : "", kind_char[kind],
                 (unsigned long long)cancel);
    }
}

/* "S:T,S:T,cK" (or bK) into dev, *cancel and *kind; the number of deviations, or -1 when
 * malformed. */
static int parse_schedule(const char *text, sim_decision *dev, uint64_t *cancel, uint32_t *kind)
{
    int n = 0;
    const char *p = strcmp(text, "base") == 0 ? "" : text;
    *cancel = 0;
    *kind = 0;
    while (*p != '\0') {
        unsigned long long s;
        unsigned t;
        int used = 0;
        if ((*p == 'c' || *p == 'b') && *cancel == 0 &&
            sscanf(p + 1, "%llu%n", &s, &used) == 1 && s > 0) {
            *cancel = s;
            *kind = *p == 'b' ? 1 : 0;
            p += 1 + used;
            if (*p == ',') p++;
            else if (*p != '\0') return -1;
            continue;
        }
        if (n == DEV_MAX || sscanf(p, "%llu:%u%n", &s, &t, &used) != 2 || t == 0) return -1;
        if (n > 0 && s <= dev[n - 1].step) return -1;
        dev[n++] = (sim_decision){.step = s, .task = {t}};
        p += used;
        if (*p == ',') p++;
        else if (*p != '\0') return -1;
    }
    return n;
}

typedef struct explore_opts {
    const char *path;
    uint64_t seed;
    bool have_seed;
    uint64_t bound;
    uint64_t max_runs;
    const char *schedule;
    bool no_prune;
    bool audit;
    cli_sets sets;
} explore_opts;

static int parse_explore(int argc, char **argv, explore_opts *o)
{
    o->bound = 2;
    o->max_runs = 100000;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        uint64_t *num = strcmp(a, "--seed") == 0       ? &o->seed
                        : strcmp(a, "--bound") == 0    ? &o->bound
                        : strcmp(a, "--max-runs") == 0 ? &o->max_runs
                                                       : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_explore);
            return -1;
        } else if (num != NULL) {
            if ((v = cli_value(argc, argv, &i, a, usage_explore)) == NULL) return EXIT_USAGE;
            if (cli_parse_u64(v, num) != 0) {
                return cli_usage_error(usage_explore, "%s expects a number, got '%s'", a, v);
            }
            if (num == &o->seed) o->have_seed = true;
        } else if (strcmp(a, "--no-prune") == 0) {
            o->no_prune = true;
        } else if (strcmp(a, "--audit-prune") == 0) {
            o->audit = true;
        } else if (strcmp(a, "--schedule") == 0) {
            o->schedule = cli_value(argc, argv, &i, a, usage_explore);
            if (o->schedule == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--set") == 0) {
            if ((v = cli_value(argc, argv, &i, a, usage_explore)) == NULL) return EXIT_USAGE;
            int rc = cli_sets_add(&o->sets, v, usage_explore);
            if (rc != 0) return rc;
        } else if (a[0] == '-' || o->path != NULL) {
            return cli_usage_error(usage_explore, "unexpected argument '%s'", a);
        } else {
            o->path = a;
        }
    }
    if (o->path == NULL) return cli_usage_error(usage_explore, "no scenario file given");
    if (!o->have_seed) return cli_usage_error(usage_explore, "--seed N is required");
    if (o->bound > DEV_MAX - 1) {
        return cli_usage_error(usage_explore, "--bound is at most %d", DEV_MAX - 1);
    }
    return 0;
}

/* --schedule: one run, its result and hash. */
static int run_one_schedule(explorer *x, const explore_opts *o)
{
    int n = parse_schedule(o->schedule, x->dev, &x->cancel, &x->cancel_kind);
    if (n < 0) {
        return cli_usage_error(usage_explore, "--schedule expects S:T[,S:T...][,cK|,bK] with steps "
                               "increasing, tasks from 1 (at most %d) and K from 1, or base, "
                               "got '%s'", DEV_MAX, o->schedule);
    }
    sim__outcome out;
    if (run_schedule(x, x->dev, (uint32_t)n, NULL, &out) != SIM_OK) return EXIT_USAGE;
    printf("%s seed %llu, schedule %s: %s%s%s (%llu steps, hash %016llx)\n",
           sim_scenario_name(x->sc), (unsigned long long)x->seed, o->schedule, out.result,
           out.failed ? ": " : "", out.failed ? out.detail : "", (unsigned long long)out.steps,
           (unsigned long long)out.hash);
    int status = out.failed ? 1 : 0;
    sim__outcome_free(&out);
    return status;
}

static int explore_bounds(explorer *x, const explore_opts *o)
{
    for (uint32_t b = 0; b <= o->bound && !x->found && !x->truncated; b++) {
        x->at_bound = 0;
        x->at_bound_pruned = 0;
        uint64_t before = x->runs;
        if (explore(x, 0, b, 0) != SIM_OK) return EXIT_USAGE;
        char skipped[64] = "";
        if (x->at_bound_pruned > 0) {
            snprintf(skipped, sizeof skipped, ", %llu skipped as equivalent",
                     (unsigned long long)x->at_bound_pruned);
        }
        printf("bound %u: %llu schedule(s) with %u deviation(s), %llu run(s)%s%s\n", b,
               (unsigned long long)x->at_bound, b, (unsigned long long)(x->runs - before),
               skipped, x->found ? ", stopped at a failure"
                        : x->truncated ? ", stopped at --max-runs" : ", all explored");
    }
    if (x->audit) {
        printf("audit: %llu skipped schedule(s) run, %llu ran differently from the schedule "
               "each was skipped for\n", (unsigned long long)x->audited,
               (unsigned long long)x->audit_bad);
    }
    if (!x->found) {
        printf("no failing schedule within %llu deviation(s) (%llu runs)\n",
               (unsigned long long)o->bound, (unsigned long long)x->runs);
        return x->audit_bad > 0 ? 1 : 0;
    }
    char sched[400];
    schedule_text(x->found_dev, x->found_n, x->found_cancel, x->found_kind, sched, sizeof sched);
    printf("FAIL  %s seed %llu, schedule %s  %s\n", sim_scenario_name(x->sc),
           (unsigned long long)x->seed, sched, x->found_detail);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s explore %s --seed %llu --schedule '%s'", cli_prog(),
             o->path, (unsigned long long)x->seed, sched);
    cli_sets_append(&o->sets, cmd, sizeof cmd);
    printf("      replay: %s\n", cmd);
    return 1;
}

int cmd_explore(int argc, char **argv)
{
    explore_opts o = {0};
    int rc = parse_explore(argc, argv, &o);
    if (rc != 0) return rc < 0 ? 0 : rc;
    sim_scenario *sc = cli_load_scenario(o.path);
    if (sc == NULL) return EXIT_USAGE;
    char err[1024];
    rc = cli_sets_apply(&o.sets, sc);
    if (rc == 0 && sim_scenario_set(sc, "scenario", "strategy", "fifo", err, sizeof err) != 0) {
        rc = cli_usage_error(NULL, "%s", err);
    }
    explorer x = {.sc = sc, .seed = o.seed, .max_runs = o.max_runs, .prune = !o.no_prune,
                  .audit = o.audit && !o.no_prune};
    if (rc == 0) rc = o.schedule ? run_one_schedule(&x, &o) : explore_bounds(&x, &o);
    sim_scenario_free(sc);
    return rc;
}
