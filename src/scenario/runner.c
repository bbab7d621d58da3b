/*
 * runner.c: one seed of a scenario, from a fresh world to a classified outcome.
 *
 * The steps: a world from the scenario's desc for the seed; the system's setup; the run (to
 * the end, or to a step for replay --until); the system's check; then the outcome: the
 * result, a one-line detail, the hang report, the hash, counts, checkpoints and violations,
 * and, when asked, every event captured in memory by a trace sink. Capturing never changes
 * the run (the sink only copies), so a seed run once without capture and once with gives
 * the same hash: record mode `fail` relies on that and checks it.
 *
 * The result of a run, in order of precedence: setup (the system could not be built),
 * interrupted (Ctrl-C), deadlock, liveness (time limit), steplimit, diverged (a forced
 * decision could not be applied), violation (misuse, leaks, nested block_on, side effects in
 * crash drops), check (the system's own oracle), unknown (the oracle could not decide within
 * its bound: failed unless [check] unknown = pass), else pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "../check/check.h"

/* ---- the outcome ---------------------------------------------------------------------------- */

void sim__outcome_free(sim__outcome *o)
{
    free(o->report);
    free(o->dump);
    free(o->checkpoints);
    for (uint32_t i = 0; i < o->nviolations; i++) free(o->violations[i].message);
    free(o->violations);
    for (uint32_t i = 0; i < o->nfaults; i++) {
        free((char *)o->faults[i].point);
        free((char *)o->faults[i].detail);
    }
    free(o->faults);
    sim__evbuf_free(&o->events_buf);
    sim_history_free(o->history);
    memset(o, 0, sizeof *o);
}

typedef struct capture {
    sim__evbuf *buf;
    sim_world *w;
    bool failed; /* past the 4 GiB of event details a capture holds: it is incomplete */
} capture;

static void capture_event(void *ud, const sim_event *e)
{
    capture *c = ud;
    if (c->failed) return;
    if (sim__evbuf_push(c->buf, e) != SIM_OK) {
        c->failed = true;
        sim_world_stop(c->w);
    }
}

/* Copies the faults the world injected, with their strings (the world's die with it). */
static void collect_faults(const sim_scenario *sc, sim_world *w, sim__outcome *o)
{
    char disk[256];
    sim__disk_spec_plan(w, sim__scenario_disk(sc), disk, sizeof disk);
    const char *faults = sim__faults_plan_text(w);
    snprintf(o->plan, sizeof o->plan, "%s%s%s", faults, faults[0] && disk[0] ? " " : "", disk);
    const sim__faults *fs = sim__faults_peek(w);
    const sim__fault_spec *spec = fs && fs->plan ? sim__plan_spec(fs->plan) : NULL;
    if (spec != NULL && spec->fail_point != NULL) {
        o->fail_hits = sim_fault_hits(w, spec->fail_point->name);
    }
    uint32_t n = sim_world_fault_count(w);
    o->faults_dropped = fs ? fs->recs_dropped : 0;
    o->faults = sim__xcalloc(n + 1, sizeof *o->faults, "a run's faults");
    for (uint32_t i = 0; i < n; i++) {
        sim_fault_rec r = *sim_world_fault(w, i);
        r.point = sim__xstrdup(r.point, "a run's faults");
        r.detail = r.detail ? sim__xstrdup(r.detail, "a run's faults") : NULL;
        o->faults[o->nfaults++] = r;
    }
}

/* Copies what the world knows about the run into the outcome. */
static void collect(const sim_scenario *sc, sim_world *w, sim__outcome *o)
{
    o->hash = sim_world_trace_hash(w);
    o->events = sim_world_event_count(w);
    o->steps = sim_world_step(w);
    o->vtime_ns = sim_now(w);
    o->ops = sim__world_ops(w);
    o->ncheckpoints = sim_world_checkpoint_count(w);
    o->cancel_points = sim_world_cancel_points(w);
    o->branch_points = sim_world_branch_points(w);
    o->checkpoints = sim__xcalloc(o->ncheckpoints + 1, sizeof *o->checkpoints,
                                  "a run's checkpoints");
    uint32_t kept = 0;
    while (sim_world_violation(w, kept) != NULL) kept++;
    o->violations = sim__xcalloc(kept + 1, sizeof *o->violations, "a run's violations");
    const char *report = sim_world_report(w);
    o->report = sim__xstrdup(report ? report : "", "a run's report");
    for (uint32_t i = 0; i < o->ncheckpoints; i++) o->checkpoints[i] = *sim_world_checkpoint(w, i);
    for (uint32_t i = 0; i < kept; i++) {
        const sim_violation *v = sim_world_violation(w, i);
        o->violations[i] = (sim__violation_rec){.step = v->step, .vtime_ns = v->vtime_ns,
                                                .task = v->task.v, .kind = v->kind,
                                                .message = sim__xstrdup(v->message,
                                                                        "a run's violations")};
        o->nviolations++;
    }
    collect_faults(sc, w, o);
}

/* The first line of a report, as the one-line detail. */
static void first_line(const char *text, char *buf, size_t size)
{
    size_t n = strcspn(text, "\n");
    if (n >= size) n = size - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
}

/* A liveness failure after the fault phase says which bound it missed. */
static void liveness_detail(const sim_scenario *sc, sim__outcome *o)
{
    const sim__fault_spec *spec = sim__scenario_faults(sc);
    if (o->rc != SIM_ETIMELIMIT || spec->quiet_after_ns == 0) return;
    char quiet[32], within[32], first[256];
    sim__format_duration(spec->quiet_after_ns, quiet, sizeof quiet);
    sim__format_duration(spec->converge_ns, within, sizeof within);
    first_line(o->report, first, sizeof first);
    snprintf(o->detail, sizeof o->detail,
             "did not converge within converge_within = %s after the faults stopped at %s; %s",
             within, quiet, first);
}

/* A run that reached its time limit with nodes down says so: the fault plan held it for
 * them (a run does not end while a node the plan will restart is down), and their work was
 * cut off each time they came back. */
static void down_detail(sim_world *w, sim__outcome *o)
{
    if (o->rc != SIM_ETIMELIMIT) return;
    char names[160] = "";
    uint32_t down = 0;
    size_t at = 0;
    for (uint32_t i = 1; i <= sim_node_count(w); i++) {
        sim_node_id id = {i};
        if (sim_node_status(w, id) != SIM_NODE_DOWN) continue;
        down++;
        if (at < sizeof names) {
            at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", down > 1 ? ", " : "",
                                   sim_node_name(w, id));
        }
    }
    if (down == 0) return;
    size_t n = strlen(o->detail);
    SIM_ASSERT(n < sizeof o->detail);
    snprintf(o->detail + n, sizeof o->detail - n, "; ended with %u node(s) down and work "
             "pending (%s)", down, names);
}

/* The first violation that fails the run (a finding the scenario counts as a warning does
 * not), or NULL; *warnings counts the others. */
static const sim__violation_rec *failing_violation(const sim_scenario *sc, const sim__outcome *o,
                                                   uint32_t *failing, uint32_t *warnings)
{
    const sim__violation_rec *first = NULL;
    *failing = *warnings = 0;
    for (uint32_t i = 0; i < o->nviolations; i++) {
        const sim__violation_rec *v = &o->violations[i];
        if (!sim__scenario_finding_fails(sc, (sim_violation_kind)v->kind)) {
            (*warnings)++;
            continue;
        }
        (*failing)++;
        if (first == NULL) first = v;
    }
    SIM_ASSERT(*failing + *warnings == o->nviolations);
    return first;
}

static void classify(const sim_scenario *sc, sim__outcome *o, int check_rc, const char *check_msg)
{
    bool unknown_passes = sim_scenario_unknown_passes(sc);
    uint32_t failing, warnings;
    const sim__violation_rec *bad = failing_violation(sc, o, &failing, &warnings);
    static const struct {
        int rc;
        const char *result;
    } stops[] = {{SIM_ESTOPPED, "interrupted"}, {SIM_EDEADLOCK, "deadlock"},
                 {SIM_ETIMELIMIT, "liveness"},  {SIM_ESTEPLIMIT, "steplimit"},
                 {SIM_EDIVERGED, "diverged"}};
    o->failed = true;
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        if (o->rc != stops[i].rc) continue;
        o->result = stops[i].result;
        if (o->rc == SIM_ESTOPPED) {
            snprintf(o->detail, sizeof o->detail, "stopped at step %llu",
                     (unsigned long long)o->steps);
        } else {
            first_line(o->report, o->detail, sizeof o->detail);
        }
        return;
    }
    if (o->rc != SIM_OK) {
        o->result = "error";
        snprintf(o->detail, sizeof o->detail, "the run returned %s", sim_result_name(o->rc));
    } else if (bad != NULL) {
        o->result = "violation";
        snprintf(o->detail, sizeof o->detail, "%s: %s (%u violation(s))",
                 sim_violation_kind_name(bad->kind), bad->message, failing);
    } else if (check_rc == SIM_EUNKNOWN) {
        o->result = "unknown";
        o->failed = !unknown_passes;
        snprintf(o->detail, sizeof o->detail, "%s", check_msg);
    } else if (check_rc != SIM_OK) {
        o->result = "check";
        snprintf(o->detail, sizeof o->detail, "%s", check_msg);
    } else {
        o->result = "pass";
        o->failed = false;
        if (warnings > 0) {
            snprintf(o->detail, sizeof o->detail, "%u warning(s); the first: %s: %s", warnings,
                     sim_violation_kind_name(o->violations[0].kind), o->violations[0].message);
        }
    }
}

/* pct:D:auto: k is the length of the seed's run under fifo (everything else as the scenario
 * says), at least 1. */
static uint64_t pct_estimate(const sim_scenario *sc, uint64_t seed)
{
    static const sim_sched fifo = {.kind = SIM_SCHED_FIFO};
    sim__run_opts fo = {.seed = seed, .sched = &fifo};
    sim__outcome o;
    uint64_t steps = sim__run_seed(sc, &fo, &o) == SIM_OK ? o.steps : 0;
    sim__outcome_free(&o); /* zeroed first by sim__run_seed whatever it returns */
    return steps > 0 ? steps : 1;
}

static sim_world *make_world(const sim_scenario *sc, const sim__run_opts *opts, capture *cap,
                             sim__outcome *out)
{
    sim_world_desc d = sim_scenario_world_desc(sc, opts->seed);
    if (opts->sched != NULL) d.sched = *opts->sched;
    if (d.sched.kind == SIM_SCHED_PCT) {
        if (d.sched.pct_steps == SIM_PCT_STEPS_AUTO) {
            d.sched.pct_steps = pct_estimate(sc, opts->seed);
        }
        out->pct_steps = d.sched.pct_steps ? d.sched.pct_steps : 10000;
    }
    d.replay_hint = opts->replay_hint;
    if (opts->forced != NULL) { /* replay or explore: these, strictly, over the scenario's */
        d.forced = opts->forced;
        d.forced_count = opts->nforced;
        d.forced_lenient = false;
    }
    if (opts->capture) {
        d.trace = capture_event;
        d.trace_ud = cap;
        cap->buf = &out->events_buf;
    }
    sim_world *w = NULL;
    if (sim_world_new(&d, &w) != SIM_OK) return NULL;
    cap->w = w;
    if (opts->decision_fn != NULL) {
        sim__exec_set_decision_hook(w, opts->decision_fn, opts->point_fn, opts->decision_ud);
        sim__exec_set_step_hook(w, opts->step_fn);
    }
    return w;
}

int sim__run_seed(const sim_scenario *sc, const sim__run_opts *opts, sim__outcome *out)
{
    memset(out, 0, sizeof *out);
    out->seed = opts->seed;
    uint64_t t0 = sim__host_now_ns();
    capture cap = {0};
    sim_world *w = make_world(sc, opts, &cap, out);
    if (w == NULL) return SIM_EINVAL;
    const sim_system *sys = sim_scenario_system(sc);
    void *state = NULL;
    char msg[400] = "";
    /* The plan is drawn and its points armed before setup, so that a system's points fire
     * while it builds too; the driver starts once the nodes exist. */
    const sim__fault_spec *spec = sim__scenario_faults(sc);
    if (sim__fault_spec_active(spec)) sim__faults_attach(w, spec);
    const sim__net_spec *net = sim__scenario_network(sc);
    bool net_default = sim__net_spec_is_default(net);
    int rc = net_default ? SIM_OK : sim__net_spec_apply(w, net);
    const sim__disk_spec *disk = sim__scenario_disk(sc);
    if (rc == SIM_OK && !sim__disk_spec_is_default(disk)) rc = sim__disk_spec_apply(w, disk);
    if (rc != SIM_OK) {
        sim_world_free(w);
        return rc;
    }
    rc = sys->setup(sys->ud, w, sc, &state, msg, sizeof msg);
    bool setup_failed = rc != SIM_OK;
    if (rc == SIM_OK && !net_default) rc = sim__net_spec_links(w, net, msg, sizeof msg);
    if (rc == SIM_OK) rc = sim__faults_start(w, msg, sizeof msg);
    int check_rc = SIM_OK;
    if (rc != SIM_OK) {
        out->rc = rc;
        out->result = "setup";
        out->failed = true;
        if (setup_failed) {
            snprintf(out->detail, sizeof out->detail, "setup of %s failed: %s", sys->name, msg);
        } else {
            snprintf(out->detail, sizeof out->detail, "%s", msg);
        }
    } else {
        if (opts->live_world != NULL) *opts->live_world = w;
        out->rc = opts->until_step ? sim_world_run_to_step(w, opts->until_step) : sim_world_run(w);
        if (opts->live_world != NULL) *opts->live_world = NULL;
        if (out->rc == SIM_OK && opts->until_step == 0) {
            /* The system's check first: a failure it finds in what was done says more than
             * that less was done. */
            if (sys->check != NULL) check_rc = sys->check(sys->ud, state, w, msg, sizeof msg);
            if (check_rc == SIM_OK) check_rc = sim_world_work_check(w, msg, sizeof msg);
        }
    }
    collect(sc, w, out);
    if (out->result == NULL) {
        classify(sc, out, check_rc, msg);
        liveness_detail(sc, out);
        down_detail(w, out);
    }
    if (opts->want_dump) {
        const char *dump = sim_world_dump(w);
        out->dump = sim__xstrdup(dump ? dump : "", "a world's dump");
    }
    out->captured = opts->capture && !cap.failed;
    /* What clients saw goes with the events (a run recorded in full, or a failure). */
    int crc = out->captured || opts->want_history ? sim_world_history(w, &out->history)
                                                   : SIM_OK;
    cap.failed = true; /* what sim_world_free drops is not part of the run */
    sim_world_free(w);
    if (sys->teardown != NULL) sys->teardown(sys->ud, state);
    out->wall_ns = sim__host_now_ns() - t0;
    return crc;
}

int sim_scenario_run(const sim_scenario *sc, uint64_t seed, sim_run_result *out)
{
    memset(out, 0, sizeof *out);
    sim__run_opts opts = {.seed = seed, .want_history = true};
    sim__outcome o;
    int rc = sim__run_seed(sc, &opts, &o);
    if (rc == SIM_OK) {
        /* The hang report of a run that stopped short; the check's message of one whose
         * check failed or could not decide (the whole of it, as the detail has it). */
        static const char *const hangs[] = {"deadlock", "liveness", "steplimit", "diverged"};
        bool hang = false;
        for (size_t i = 0; i < sizeof hangs / sizeof hangs[0]; i++) {
            hang = hang || strcmp(o.result, hangs[i]) == 0;
        }
        bool check = strcmp(o.result, "check") == 0 || strcmp(o.result, "unknown") == 0;
        out->report = sim__xstrdup(hang ? o.report : check ? o.detail : "", "a run's report");
        out->history = o.history;
        o.history = NULL;
        out->rc = o.rc;
        out->failed = o.failed;
        out->result = o.result;
        /* An unknown run that counts as passed still says why it is unknown. */
        bool said = o.failed || strcmp(o.result, "unknown") == 0;
        snprintf(out->detail, sizeof out->detail, "%s", said ? o.detail : "");
        out->hash = o.hash;
        out->events = o.events;
        out->steps = o.steps;
        out->vtime_ns = o.vtime_ns;
        out->faults = o.nfaults + o.faults_dropped;
        snprintf(out->plan, sizeof out->plan, "%s", o.plan);
    }
    sim__outcome_free(&o);
    return rc;
}

void sim_run_result_free(sim_run_result *r)
{
    if (r == NULL) return;
    free(r->report);
    sim_history_free(r->history);
    r->report = NULL;
    r->history = NULL;
}
