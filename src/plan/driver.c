/*
 * driver.c: one seed's fault plan and the task that carries it out.
 *
 * Attaching draws the seed's plan from the scenario's [faults]: in swarm mode each fault kind
 * is switched on or off with probability 1/2, and a rate given as a range is drawn uniformly
 * in it. Every draw comes from a stream named after the point ("sim/fault/swarm", index = the
 * point's id), so adding a point to a system does not change what another point draws.
 *
 * The driver is a world-level daemon task (it never keeps a run going, and acts only while
 * the run has work: see driver_next). It wakes at the next
 * thing due: a tick (when a per-tick point is on), a scripted `at` line, a node's restart or
 * resume, or the start of the liveness phase. On a tick it hits node/crash once for each node
 * it may crash, then node/pause once for each node it may pause, in node order; a hit can fire
 * only on a node up (or paused, for a crash) while the budget (max_down: nodes down or paused
 * at once) allows, and is counted either way, so that hit H of node/crash is the same tick and
 * node whatever fired before it (sim shrink's only lines stay put when it takes faults out). A
 * node the plan crashed comes back when its restart delay (drawn from restart_after, with a
 * stream keyed by the node and the crash's hit) has passed and node/restart fires; when it
 * does not fire, another delay is drawn. A node the plan paused is resumed after a pause drawn
 * from pause_for (keyed likewise). Scripted lines act when their time comes and are
 * not subject to the budget; a scripted crash or pause lasts until a scripted restart or resume,
 * or the liveness phase. At quiet_after the liveness phase begins: nothing fires any more, and
 * every node the plan or the script crashed restarts and every node it paused resumes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "plan.h"

typedef struct node_plan {
    bool may[SIM__TARGET_COUNT]; /* whether each kind of random fault may hit it (*_nodes) */
    bool ours_down;            /* crashed by the plan or the script */
    bool ours_paused;
    bool ours_clogged;
    uint64_t unclog_at;        /* when a plan clog ends; UINT64_MAX = only at quiet */
    sim_rng clog_rng;          /* "sim/fault/clog", index = node */
    uint64_t restart_at;       /* when a plan crash restarts; UINT64_MAX = only at quiet */
    uint64_t resume_at;        /* likewise for a pause */
    sim_rng restart_rng;       /* "sim/fault/restart", index = node; at each crash of the
                                  plan, keyed afresh by (node, hit) (keyed_stream) */
    sim_rng pause_rng;         /* "sim/fault/pause", likewise for pauses */
} node_plan;

struct sim__plan {
    const sim__fault_spec *spec;
    uint64_t *drawn;           /* per spec rate: the seed's value (0 = off) */
    bool *on;                  /* per spec rate: switched on for this seed */
    bool ticking;              /* a per-tick point is on */
    bool skew_on;
    bool drift_on;
    const sim__point *crash;
    const sim__point *pause;
    const sim__point *restart;
    const sim__point *partition;
    const sim__point *clog;
    uint64_t heal_at;          /* when the plan's partition ends; 0 = none of the plan's */
    sim_rng partition_rng;     /* "sim/fault/partition" */
    node_plan *nodes;          /* index = node id; [0] unused */
    uint32_t nnodes;
    uint32_t *at_nodes;        /* the node of each at-line name, flattened */
    uint32_t *at_first;        /* where each at line's nodes begin in at_nodes */
    bool partitioned;
    uint32_t next_at;          /* the next scripted line to run */
    uint64_t next_tick;
    uint64_t quiet_at;         /* 0 = none */
    bool started;
    char text[512];            /* the drawn plan in one line */
};

/* ---- drawing -------------------------------------------------------------------------------- */

static void plan_free_hook(void *p)
{
    sim__plan_free(p);
}

void sim__plan_free(sim__plan *p)
{
    if (p == NULL) return;
    free(p->drawn);
    free(p->on);
    free(p->nodes);
    free(p->at_nodes);
    free(p->at_first);
    free(p);
}

/* A drawn per-time value for people: "1/17.2s" (the mean interval). */
static void interval_text(uint64_t pps, char *buf, size_t size)
{
    __extension__ typedef unsigned __int128 u128;
    char span[32];
    sim__format_span((uint64_t)((u128)SIM__PPT_ONE * SIM_S / pps), span, sizeof span);
    snprintf(buf, size, "1/%s", span);
}

/* A drawn probability for people: three significant digits ("0.306", "0.00125"). */
static void ppt_text(uint64_t ppt, char *buf, size_t size)
{
    uint64_t unit = SIM__PPT_ONE;
    while (unit > 1000 && ppt < unit / 10) unit /= 10; /* the leading digit's place, / 10 */
    uint64_t step = unit / 1000 ? unit / 1000 : 1;
    sim__ppt_format(ppt / step * step, buf, size);
}

static void text_add(sim__plan *p, const char *key, const char *value)
{
    size_t o = strlen(p->text);
    snprintf(p->text + o, sizeof p->text - o, "%s%s=%s", o ? " " : "", key, value);
}

/* Draws one rate for the seed; returns the value (0 = off). */
static uint64_t draw_rate(uint64_t seed, const sim__fault_spec *spec, const sim__spec_rate *r,
                          bool *on)
{
    sim_rng rng;
    sim_rng_init(&rng, seed, "sim/fault/swarm", r->point->id);
    *on = r->rate.hi != 0;
    if (*on && spec->swarm && (r->point->flags & SIM__PF_SWARM)) {
        *on = sim_rng_below(&rng, 2) == 0;
    }
    if (!*on) return 0;
    return r->rate.lo == r->rate.hi ? r->rate.lo : sim_rng_range(&rng, r->rate.lo, r->rate.hi);
}

static bool draw_switch(uint64_t seed, const sim__fault_spec *spec, const char *what)
{
    if (!spec->swarm) return true;
    sim_rng rng;
    sim_rng_init(&rng, seed, "sim/fault/swarm", XXH3_64bits(what, strlen(what)));
    return sim_rng_below(&rng, 2) == 0;
}

static void draw(sim_world *w, sim__faults *fs, sim__plan *p)
{
    const sim__fault_spec *spec = p->spec;
    __extension__ typedef unsigned __int128 u128;
    for (uint32_t i = 0; i < spec->nrates; i++) {
        const sim__spec_rate *r = &spec->rates[i];
        p->drawn[i] = draw_rate(sim_world_seed(w), spec, r, &p->on[i]);
        uint64_t ppt = p->drawn[i];
        if (r->rate.per_time) {
            u128 t = (u128)ppt * spec->tick_ns / SIM_S;
            ppt = t > SIM__PPT_ONE ? SIM__PPT_ONE : (uint64_t)t;
            if (p->drawn[i] != 0 && ppt == 0) ppt = 1;
        }
        sim__fault_set_ppt(w, r->point, ppt);
        if (ppt != 0 && (r->point->flags & SIM__PF_TIMED)) p->ticking = true;
        /* The plan's text names what can happen: rates that are not zero, and a restart
         * that is not certain. It depends on values only, not on how they were written. */
        bool certain_restart = r->point == p->restart && r->rate.lo == SIM__PPT_ONE;
        if (r->rate.hi == 0 || certain_restart) continue;
        char v[64];
        if (!p->on[i]) {
            snprintf(v, sizeof v, "off");
        } else if (r->rate.per_time && r->rate.lo != r->rate.hi) {
            interval_text(p->drawn[i], v, sizeof v);
        } else if (r->rate.lo != r->rate.hi) {
            ppt_text(p->drawn[i], v, sizeof v);
        } else {
            sim__rate rr = {.per_time = r->rate.per_time, .lo = p->drawn[i], .hi = p->drawn[i]};
            sim__rate_format(&rr, v, sizeof v);
        }
        text_add(p, r->point->key, v);
    }
    p->skew_on = spec->skew_ns != 0 && draw_switch(sim_world_seed(w), spec, "clock_skew");
    p->drift_on = spec->drift_ppm != 0 && draw_switch(sim_world_seed(w), spec, "clock_drift");
    char v[64];
    if (spec->skew_ns != 0) {
        sim__format_duration(spec->skew_ns, v, sizeof v);
        text_add(p, "clock_skew", p->skew_on ? v : "off");
    }
    if (spec->drift_ppm != 0) {
        snprintf(v, sizeof v, "%uppm", spec->drift_ppm);
        text_add(p, "clock_drift", p->drift_on ? v : "off");
    }
    if (spec->fail_point != NULL) {
        sim_fault_fail_at(w, spec->fail_point->name, spec->fail_hit);
        /* A countdown on node/crash or node/pause needs the ticks that hit it. */
        if (spec->fail_point->flags & SIM__PF_TIMED) p->ticking = true;
        snprintf(v, sizeof v, "%s:%llu", spec->fail_point->name,
                 (unsigned long long)spec->fail_hit);
        text_add(p, "fail_hit", v);
    }
    if (spec->nats > 0) {
        snprintf(v, sizeof v, "%u", spec->nats);
        text_add(p, "at", v);
    }
    if (p->text[0] != '\0' && spec->swarm) {
        size_t n = strlen(p->text);
        if (n + 7 >= sizeof p->text) n = sizeof p->text - 8;
        memmove(p->text + 7, p->text, n);
        memcpy(p->text, "swarm: ", 7);
        p->text[n + 7] = '\0';
    }
    (void)fs;
}

void sim__faults_attach(sim_world *w, const sim__fault_spec *spec)
{
    sim__faults *fs = sim__faults_of(w);
    SIM_ASSERT(fs->plan == NULL); /* one plan per world */
    sim__plan *p = sim__xcalloc(1, sizeof *p, "a fault plan");
    p->spec = spec;
    p->drawn = sim__xcalloc(spec->nrates + 1, sizeof *p->drawn, "a fault plan's rates");
    p->on = sim__xcalloc(spec->nrates + 1, sizeof *p->on, "a fault plan's switches");
    p->crash = sim__point_find("node/crash");
    p->pause = sim__point_find("node/pause");
    p->restart = sim__point_find("node/restart");
    p->partition = sim__point_find("net/partition");
    p->clog = sim__point_find("net/clog");
    sim_rng_init(&p->partition_rng, sim_world_seed(w), "sim/fault/partition", 0);
    p->quiet_at = spec->quiet_after_ns;
    fs->plan = p;
    fs->plan_free = plan_free_hook;
    fs->only_on = spec->only_on;
    fs->only = spec->only;
    fs->nonly = spec->nonly;
    fs->only_exempt = p->restart->id;
    draw(w, fs, p);
}

static void node_plan_init(sim_world *w, const sim__plan *p, node_plan *np, uint32_t node)
{
    const char *name = sim_node_name(w, (sim_node_id){node});
    SIM_ASSERT(name != NULL); /* every node has a name */
    for (int k = 0; k < SIM__TARGET_COUNT; k++) {
        np->may[k] = sim__fault_spec_targets(p->spec, k, name);
    }
    np->restart_at = UINT64_MAX;
    np->resume_at = UINT64_MAX;
    np->unclog_at = UINT64_MAX;
    sim_rng_init(&np->clog_rng, sim_world_seed(w), "sim/fault/clog", node);
    sim_rng_init(&np->restart_rng, sim_world_seed(w), "sim/fault/restart", node);
    sim_rng_init(&np->pause_rng, sim_world_seed(w), "sim/fault/pause", node);
}

/* ---- start ---------------------------------------------------------------------------------- */

/* Resolves the node names of the script against the world. */
static int resolve_script(sim_world *w, sim__plan *p, char *err, size_t err_size)
{
    const sim__fault_spec *spec = p->spec;
    uint32_t total = 0;
    for (uint32_t i = 0; i < spec->nats; i++) total += spec->ats[i].nnames;
    p->at_nodes = sim__xcalloc(total + 1, sizeof *p->at_nodes, "a fault script's nodes");
    p->at_first = sim__xcalloc(spec->nats + 1, sizeof *p->at_first, "a fault script");
    uint32_t o = 0;
    for (uint32_t i = 0; i < spec->nats; i++) {
        const sim__at *a = &spec->ats[i];
        p->at_first[i] = o;
        for (uint32_t j = 0; j < a->nnames; j++) {
            sim_node_id id = sim_node_find(w, a->names[j]);
            if (id.v == 0) {
                char list[256] = "";
                for (uint32_t k = 1; k <= sim_node_count(w); k++) {
                    size_t l = strlen(list);
                    snprintf(list + l, sizeof list - l, "%s%s", k > 1 ? ", " : "",
                             sim_node_name(w, (sim_node_id){k}));
                }
                snprintf(err, err_size, "%s:%u: [faults] at: no node '%s' in this run; its nodes "
                         "are: %s", spec->path, a->line, a->names[j], list[0] ? list : "none");
                return SIM_EINVAL;
            }
            p->at_nodes[o++] = id.v;
        }
    }
    return SIM_OK;
}

/* Checks the *_nodes keys and groups against the run's nodes, when the system does not say
 * its nodes before it runs. */
static int check_targets(sim_world *w, const sim__plan *p, char *err, size_t err_size)
{
    const char *names[SIM__NODES_MAX];
    uint32_t n = sim_node_count(w);
    SIM_ASSERT(n <= SIM__NODES_MAX);
    for (uint32_t i = 0; i < n; i++) names[i] = sim_node_name(w, (sim_node_id){i + 1});
    char msg[512];
    uint32_t line = 0;
    int rc = sim__fault_spec_check_nodes(p->spec, names, n, msg, sizeof msg, &line);
    if (rc == SIM_OK) return SIM_OK;
    if (line != 0) {
        snprintf(err, err_size, "%s:%u: %s", p->spec->path, line, msg);
    } else {
        snprintf(err, err_size, "%s: %s", p->spec->path, msg);
    }
    return rc;
}

/* Sets the node clocks the plan asks for, each node drawing from its own stream. */
static void set_clocks(sim_world *w, sim__plan *p)
{
    const sim__fault_spec *spec = p->spec;
    if (!p->skew_on && !p->drift_on) return;
    for (uint32_t i = 1; i < p->nnodes; i++) {
        sim_rng rng;
        sim_rng_init(&rng, sim_world_seed(w), "sim/fault/clock", i);
        int64_t offset = 0;
        int32_t drift = 0;
        if (p->skew_on) {
            offset = (int64_t)sim_rng_range(&rng, 0, 2 * spec->skew_ns) - (int64_t)spec->skew_ns;
        }
        if (p->drift_on) {
            drift = (int32_t)sim_rng_range(&rng, 0, 2 * (uint64_t)spec->drift_ppm) -
                    (int32_t)spec->drift_ppm;
        }
        sim_node_set_clock(w, (sim_node_id){i}, offset, drift);
        char text[96] = "", d[32];
        if (p->skew_on) {
            sim__format_span(offset < 0 ? (uint64_t)-offset : (uint64_t)offset, d, sizeof d);
            snprintf(text, sizeof text, "%c%s", offset < 0 ? '-' : '+', d);
        }
        if (p->drift_on) {
            size_t o = strlen(text);
            snprintf(text + o, sizeof text - o, "%sdrift %+dppm", o ? ", " : "", drift);
        }
        const char *kept = sim_world_intern(w, text);
        sim__fault_record(w, "clock", XXH3_64bits("clock", 5), 0, i, SIM_FAULT_CLOCK,
                          kept ? kept : "clock");
    }
}

static int driver_poll(void *state, sim_world *w);

typedef struct driver {
    sim_co co;
    uint64_t next;           /* when it acts next */
} driver;

int sim__faults_start(sim_world *w, char *err, size_t err_size)
{
    sim__faults *fs = sim__faults_peek(w);
    if (fs == NULL || fs->plan == NULL) return SIM_OK;
    sim__plan *p = fs->plan;
    SIM_ASSERT(!p->started);
    p->started = true;
    p->nnodes = sim_node_count(w) + 1;
    p->nodes = sim__xcalloc(p->nnodes, sizeof *p->nodes, "a fault plan's nodes");
    for (uint32_t i = 1; i < p->nnodes; i++) node_plan_init(w, p, &p->nodes[i], i);
    int rc = resolve_script(w, p, err, err_size);
    if (rc == SIM_OK && !p->spec->nodes_known) rc = check_targets(w, p, err, err_size);
    if (rc != SIM_OK) return rc;
    set_clocks(w, p);
    p->next_tick = p->ticking ? sim__add_sat(sim_now(w), p->spec->tick_ns) : UINT64_MAX;
    if (!p->ticking && p->spec->nats == 0 && p->quiet_at == 0) return SIM_OK;
    sim_task_desc d = {.name = "faults", .poll = driver_poll, .state_size = sizeof(driver),
                       .daemon = true};
    return sim_spawn(w, &d, NULL);
}

const sim__fault_spec *sim__plan_spec(const sim__plan *p)
{
    return p->spec;
}

const char *sim__faults_plan_text(const sim_world *w)
{
    const sim__faults *fs = sim__faults_peek(w);
    return fs && fs->plan ? ((const sim__plan *)fs->plan)->text : "";
}

uint64_t sim__faults_quiet_at(const sim_world *w)
{
    const sim__faults *fs = sim__faults_peek(w);
    return fs && fs->plan ? ((const sim__plan *)fs->plan)->quiet_at : 0;
}

/* ---- the driver ----------------------------------------------------------------------------- */

static uint64_t last_hit(const sim_world *w, const sim__point *pt)
{
    return sim_fault_hits(w, pt->name) - 1;
}

static uint32_t nodes_out(const sim_world *w)
{
    uint32_t n = 0;
    for (uint32_t i = 1; i <= sim_node_count(w); i++) {
        n += sim_node_status(w, (sim_node_id){i}) != SIM_NODE_UP;
    }
    return n;
}

/* Nodes added after the plan started (a system may add them as it runs) join the plan. */
static void track_new_nodes(sim_world *w, sim__plan *p)
{
    uint32_t n = sim_node_count(w) + 1;
    if (n <= p->nnodes) return;
    node_plan *grown = sim__xrealloc_array(p->nodes, n, sizeof *grown, "a fault plan's nodes");
    memset(grown + p->nnodes, 0, (n - p->nnodes) * sizeof *grown);
    for (uint32_t i = p->nnodes; i < n; i++) node_plan_init(w, p, &grown[i], i);
    p->nodes = grown;
    p->nnodes = n;
}

static uint64_t draw_span(sim_rng *rng, uint64_t lo, uint64_t hi)
{
    return lo == hi ? lo : sim_rng_range(rng, lo, hi);
}

static void do_crash(sim_world *w, sim__plan *p, uint32_t node, uint64_t restart_at)
{
    node_plan *np = &p->nodes[node];
    sim_node_crash(w, (sim_node_id){node});
    np->ours_down = true;
    np->ours_paused = false;
    np->resume_at = UINT64_MAX;
    np->restart_at = restart_at;
}

/* Blocks the links between groups (both ways), or from group 0 to group 1 only. */
static void apply_partition(sim_world *w, const uint32_t *nodes, const uint32_t *groups,
                            uint32_t n, bool oneway)
{
    sim_node_id ids[SIM__NODES_MAX];
    for (uint32_t i = 0; i < n; i++) ids[i] = (sim_node_id){nodes[i]};
    if (!oneway) {
        sim_net_partition(w, ids, groups, n);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < n; j++) {
            if (groups[i] == 0 && groups[j] == 1) sim_net_block(w, ids[i], ids[j]);
        }
    }
}

static void run_at(sim_world *w, sim__plan *p, uint32_t idx)
{
    const sim__at *a = &p->spec->ats[idx];
    uint64_t id = XXH3_64bits("script", 6);
    if (a->action == SIM_FAULT_PARTITION) {
        sim__fault_record(w, "script", id, idx, 0, a->action, a->label);
        apply_partition(w, &p->at_nodes[p->at_first[idx]], a->groups, a->nnames, a->oneway);
        p->partitioned = true;
        return;
    }
    if (a->action == SIM_FAULT_HEAL) {
        sim__fault_record(w, "script", id, idx, 0, a->action, a->label);
        sim_net_heal(w);
        p->partitioned = false;
        p->heal_at = 0;
        return;
    }
    for (uint32_t j = 0; j < a->nnames; j++) {
        uint32_t node = p->at_nodes[p->at_first[idx] + j];
        node_plan *np = &p->nodes[node];
        sim_node_state st = sim_node_status(w, (sim_node_id){node});
        bool clogged = !sim_net_reachable(w, (sim_node_id){node}, (sim_node_id){node});
        bool applies = (a->action == SIM_FAULT_CRASH && st != SIM_NODE_DOWN) ||
                       (a->action == SIM_FAULT_RESTART && st == SIM_NODE_DOWN) ||
                       (a->action == SIM_FAULT_PAUSE && st == SIM_NODE_UP) ||
                       (a->action == SIM_FAULT_RESUME && st == SIM_NODE_PAUSED) ||
                       (a->action == SIM_FAULT_CLOG && !clogged) ||
                       (a->action == SIM_FAULT_UNCLOG && clogged);
        if (!applies) continue; /* already in that state: nothing to inject */
        sim__fault_record(w, "script", id, idx, node, a->action, a->label);
        switch (a->action) {
        case SIM_FAULT_CRASH: do_crash(w, p, node, UINT64_MAX); break;
        case SIM_FAULT_RESTART:
            sim_node_restart(w, (sim_node_id){node});
            np->ours_down = sim_node_status(w, (sim_node_id){node}) == SIM_NODE_DOWN;
            break;
        case SIM_FAULT_PAUSE:
            sim_node_pause(w, (sim_node_id){node});
            np->ours_paused = true;
            np->resume_at = UINT64_MAX;
            break;
        case SIM_FAULT_CLOG:
            sim_net_clog(w, (sim_node_id){node}, true);
            np->ours_clogged = true;
            np->unclog_at = UINT64_MAX;
            break;
        case SIM_FAULT_UNCLOG:
            sim_net_clog(w, (sim_node_id){node}, false);
            np->ours_clogged = false;
            break;
        default:
            sim_node_resume(w, (sim_node_id){node});
            np->ours_paused = false;
            break;
        }
    }
}

/* Restarts and resumes that have come due. */
static void run_recoveries(sim_world *w, sim__plan *p)
{
    uint64_t now = sim_now(w);
    const sim__fault_spec *spec = p->spec;
    for (uint32_t i = 1; i < p->nnodes; i++) {
        node_plan *np = &p->nodes[i];
        sim_node_id id = {i};
        if (np->ours_down && sim_node_status(w, id) != SIM_NODE_DOWN) np->ours_down = false;
        if (np->ours_paused && sim_node_status(w, id) != SIM_NODE_PAUSED) np->ours_paused = false;
        if (np->ours_paused && np->resume_at <= now) {
            sim__fault_record(w, p->pause->name, p->pause->id, last_hit(w, p->pause), i,
                              SIM_FAULT_RESUME, NULL);
            sim_node_resume(w, id);
            np->ours_paused = false;
        }
        if (!np->ours_down || np->restart_at > now) continue;
        if (sim__point_hit(w, p->restart, i)) {
            sim__fault_record(w, p->restart->name, p->restart->id, last_hit(w, p->restart), i,
                              SIM_FAULT_RESTART, NULL);
            sim_node_restart(w, id);
            np->ours_down = sim_node_status(w, id) == SIM_NODE_DOWN; /* its boot may fail */
        }
        if (np->ours_down) {
            np->restart_at =
                sim__add_sat(now, draw_span(&np->restart_rng, spec->restart_lo, spec->restart_hi));
        }
    }
}

/* A node's restart (or resume) stream drawn afresh for the crash (pause) at this hit of its
 * point: how long the node stays out depends on that fault alone, not on the faults before it
 * (which sim shrink may take out). A restart that does not fire draws again from it. */
static void keyed_stream(const sim_world *w, sim_rng *rng, const char *name, uint32_t node,
                         uint64_t hit)
{
    SIM_ASSERT(node >= 1);
    SIM_ASSERT(hit != UINT64_MAX); /* a hit that fired */
    sim_rng_init(rng, sim_world_seed(w), name, XXH3_64bits_withSeed(&hit, sizeof hit, node));
}

/* One tick: node/crash for each node the plan may crash, then node/pause for each node it may
 * pause; only a node up (or paused, for a crash) within the budget can take the fault. */
static void run_tick(sim_world *w, sim__plan *p)
{
    uint64_t now = sim_now(w);
    const sim__fault_spec *spec = p->spec;
    uint32_t out = nodes_out(w);
    for (uint32_t i = 1; i < p->nnodes; i++) {
        sim_node_state st = sim_node_status(w, (sim_node_id){i});
        if (!p->nodes[i].may[SIM__TARGET_CRASH]) continue;
        /* A node down, or up over the budget (a paused node is already out: crashing it does
         * not take another one down), is counted but cannot fire: hit numbers stay tied to
         * (tick, node) whatever fired before. */
        if (st == SIM_NODE_DOWN || (st == SIM_NODE_UP && out >= spec->max_down)) {
            sim__point_count(w, p->crash);
            continue;
        }
        if (!sim__point_hit(w, p->crash, i)) continue;
        uint64_t hit = last_hit(w, p->crash);
        sim__fault_record(w, p->crash->name, p->crash->id, hit, i, SIM_FAULT_CRASH, NULL);
        node_plan *np = &p->nodes[i];
        keyed_stream(w, &np->restart_rng, "sim/fault/restart", i, hit);
        do_crash(w, p, i,
                 sim__add_sat(now, draw_span(&np->restart_rng, spec->restart_lo,
                                             spec->restart_hi)));
        out += st == SIM_NODE_UP;
    }
    for (uint32_t i = 1; i < p->nnodes; i++) {
        if (!p->nodes[i].may[SIM__TARGET_PAUSE]) continue;
        if (sim_node_status(w, (sim_node_id){i}) != SIM_NODE_UP || out >= spec->max_down) {
            sim__point_count(w, p->pause); /* as node/crash: counted, cannot fire */
            continue;
        }
        if (!sim__point_hit(w, p->pause, i)) continue;
        uint64_t hit = last_hit(w, p->pause);
        sim__fault_record(w, p->pause->name, p->pause->id, hit, i, SIM_FAULT_PAUSE, NULL);
        sim_node_pause(w, (sim_node_id){i});
        out++;
        node_plan *np = &p->nodes[i];
        np->ours_paused = true;
        keyed_stream(w, &np->pause_rng, "sim/fault/pause", i, hit);
        np->resume_at = sim__add_sat(now, draw_span(&np->pause_rng, spec->pause_lo,
                                                     spec->pause_hi));
    }
}

/* The nodes a partition of the plan may cut off from each other (partition_nodes), in node
 * order; the others keep every link. Returns how many. */
static uint32_t partition_nodes(const sim__plan *p, uint32_t *nodes)
{
    uint32_t n = 0;
    for (uint32_t i = 1; i < p->nnodes; i++) {
        if (p->nodes[i].may[SIM__TARGET_PARTITION]) nodes[n++] = i;
    }
    return n;
}

/* Draws the plan's partition (partition_mode), applies it and describes it in text. */
static void draw_partition(sim_world *w, sim__plan *p, char *text, size_t size)
{
    const sim__fault_spec *spec = p->spec;
    sim_rng *rng = &p->partition_rng;
    const char *mode = spec->partition_mode;
    if (strcmp(mode, "any") == 0) {
        static const char *const modes[] = {"isolate", "split", "random"};
        mode = modes[sim_rng_below(rng, 3)];
    }
    uint32_t nodes[SIM__NODES_MAX], groups[SIM__NODES_MAX];
    uint32_t n = partition_nodes(p, nodes);
    SIM_ASSERT(n >= 2); /* run_net_tick draws a partition only then */
    if (strcmp(mode, "random") == 0) {
        uint32_t blocked = 0;
        for (uint32_t a = 0; a < n; a++) {
            for (uint32_t b = 0; b < n; b++) {
                if (a == b || sim_rng_below(rng, 2) == 0) continue;
                sim_net_block(w, (sim_node_id){nodes[a]}, (sim_node_id){nodes[b]});
                blocked++;
            }
        }
        snprintf(text, size, "random: %u link(s) blocked", blocked);
        return;
    }
    if (strcmp(mode, "isolate") == 0) {
        uint32_t x = (uint32_t)sim_rng_below(rng, n);
        for (uint32_t i = 0; i < n; i++) groups[i] = i == x;
    } else {
        uint32_t ones = 0;
        for (uint32_t i = 0; i < n; i++) ones += groups[i] = (uint32_t)sim_rng_below(rng, 2);
        if (ones == 0 || ones == n) groups[sim_rng_below(rng, n)] ^= 1; /* both sides occupied */
    }
    bool oneway = spec->oneway_ppt != 0 && sim_rng_below(rng, SIM__PPT_ONE) < spec->oneway_ppt;
    apply_partition(w, nodes, groups, n, oneway);
    size_t o = 0;
    for (uint32_t side = 0; side < 2; side++) {
        if (side == 1) o += (size_t)snprintf(text + o, size - o, oneway ? " ->" : " |");
        for (uint32_t i = 0; i < n && o < size; i++) {
            if (groups[i] != side) continue;
            o += (size_t)snprintf(text + o, size - o, "%s%s", o ? " " : "",
                                  sim_node_name(w, (sim_node_id){nodes[i]}));
        }
    }
}

/* The network's share of a tick: a partition when none of the plan's stands, then
 * net/clog for each node the plan has not clogged. */
static void run_net_tick(sim_world *w, sim__plan *p)
{
    uint64_t now = sim_now(w);
    const sim__fault_spec *spec = p->spec;
    uint32_t cut[SIM__NODES_MAX];
    if (p->heal_at == 0 && partition_nodes(p, cut) >= 2 && sim__point_hit(w, p->partition, 0)) {
        char text[256];
        draw_partition(w, p, text, sizeof text);
        const char *kept = sim_world_intern(w, text);
        sim__fault_record(w, p->partition->name, p->partition->id, last_hit(w, p->partition), 0,
                          SIM_FAULT_PARTITION, kept);
        p->heal_at = sim__add_sat(now, draw_span(&p->partition_rng, spec->partition_lo,
                                                 spec->partition_hi));
        SIM_ASSERT(p->heal_at != 0); /* 0 means "no partition of the plan's" */
    }
    for (uint32_t i = 1; i < p->nnodes; i++) {
        node_plan *np = &p->nodes[i];
        if (np->ours_clogged || !np->may[SIM__TARGET_CLOG]) continue;
        if (!sim__point_hit(w, p->clog, i)) continue;
        sim__fault_record(w, p->clog->name, p->clog->id, last_hit(w, p->clog), i, SIM_FAULT_CLOG,
                          NULL);
        sim_net_clog(w, (sim_node_id){i}, true);
        np->ours_clogged = true;
        np->unclog_at = sim__add_sat(now, draw_span(&np->clog_rng, spec->clog_lo, spec->clog_hi));
    }
}

/* The plan's partition heals and its clogs end when their time comes. */
static void run_net_recoveries(sim_world *w, sim__plan *p)
{
    uint64_t now = sim_now(w);
    if (p->heal_at != 0 && p->heal_at <= now) {
        sim__fault_record(w, p->partition->name, p->partition->id, last_hit(w, p->partition), 0,
                          SIM_FAULT_HEAL, NULL);
        sim_net_heal(w);
        p->heal_at = 0;
        p->partitioned = false;
    }
    for (uint32_t i = 1; i < p->nnodes; i++) {
        node_plan *np = &p->nodes[i];
        if (!np->ours_clogged || np->unclog_at > now) continue;
        sim__fault_record(w, p->clog->name, p->clog->id, last_hit(w, p->clog), i,
                          SIM_FAULT_UNCLOG, NULL);
        sim_net_clog(w, (sim_node_id){i}, false);
        np->ours_clogged = false;
    }
}

/* The liveness phase begins: nothing fires any more; what the plan took down comes back. */
static void run_quiet(sim_world *w, sim__faults *fs, sim__plan *p)
{
    uint64_t id = XXH3_64bits("quiet", 5);
    fs->quiet = true;
    const char *why = "liveness phase";
    sim__fault_record(w, "quiet", id, 0, 0, SIM_FAULT_QUIET, why);
    if (p->partitioned || p->heal_at != 0) {
        sim__fault_record(w, "quiet", id, 0, 0, SIM_FAULT_HEAL, why);
        sim_net_heal(w);
        p->partitioned = false;
        p->heal_at = 0;
    }
    for (uint32_t i = 1; i < p->nnodes; i++) {
        node_plan *np = &p->nodes[i];
        sim_node_id nid = {i};
        if (np->ours_paused && sim_node_status(w, nid) == SIM_NODE_PAUSED) {
            sim__fault_record(w, "quiet", id, 0, i, SIM_FAULT_RESUME, why);
            sim_node_resume(w, nid);
        }
        if (np->ours_down && sim_node_status(w, nid) == SIM_NODE_DOWN) {
            sim__fault_record(w, "quiet", id, 0, i, SIM_FAULT_RESTART, why);
            sim_node_restart(w, nid);
        }
        if (np->ours_clogged) {
            sim__fault_record(w, "quiet", id, 0, i, SIM_FAULT_UNCLOG, why);
            sim_net_clog(w, nid, false);
        }
        np->ours_paused = np->ours_down = np->ours_clogged = false;
    }
}

/* Does what is due now; returns when to wake next (UINT64_MAX: never). */
static uint64_t run_due(sim_world *w, sim__faults *fs, sim__plan *p)
{
    uint64_t now = sim_now(w);
    const sim__fault_spec *spec = p->spec;
    if (p->quiet_at != 0 && now >= p->quiet_at) {
        run_quiet(w, fs, p);
        return UINT64_MAX;
    }
    track_new_nodes(w, p);
    while (p->next_at < spec->nats && spec->ats[p->next_at].at_ns <= now) {
        run_at(w, p, p->next_at++);
    }
    run_recoveries(w, p);
    run_net_recoveries(w, p);
    if (p->ticking && now >= p->next_tick) {
        run_tick(w, p);
        run_net_tick(w, p);
        p->next_tick = sim__add_sat(now, spec->tick_ns);
        SIM_ASSERT(p->next_tick > now || now == UINT64_MAX);
    }
    uint64_t next = p->ticking ? p->next_tick : UINT64_MAX;
    if (p->next_at < spec->nats && spec->ats[p->next_at].at_ns < next) {
        next = spec->ats[p->next_at].at_ns;
    }
    for (uint32_t i = 1; i < p->nnodes; i++) {
        const node_plan *np = &p->nodes[i];
        if (np->ours_down && np->restart_at < next) next = np->restart_at;
        if (np->ours_paused && np->resume_at < next) next = np->resume_at;
        if (np->ours_clogged && np->unclog_at < next) next = np->unclog_at;
    }
    if (p->heal_at != 0 && p->heal_at < next) next = p->heal_at;
    if (p->quiet_at != 0 && p->quiet_at < next) next = p->quiet_at;
    return next;
}

/* When a node the plan took down will come back while no work is live: the next thing due
 * that may bring it back (its restart, the next scripted line, the liveness phase), or
 * UINT64_MAX when no such node is down. A node crashed by a script with no restart line to
 * come and no liveness phase never comes back: the run may end without it (and the system's
 * expected work, sim_history_expect, says whether that left work undone). */
static uint64_t comeback_due(const sim__plan *p)
{
    uint64_t next = UINT64_MAX;
    bool waiting = false;
    for (uint32_t i = 1; i < p->nnodes; i++) {
        const node_plan *np = &p->nodes[i];
        if (!np->ours_down) continue;
        if (np->restart_at < next) next = np->restart_at;
        waiting = waiting || np->restart_at != UINT64_MAX || p->quiet_at != 0;
        for (uint32_t k = p->next_at; k < p->spec->nats && !waiting; k++) {
            waiting = p->spec->ats[k].action == SIM_FAULT_RESTART;
        }
    }
    if (!waiting) return UINT64_MAX;
    if (p->next_at < p->spec->nats && p->spec->ats[p->next_at].at_ns < next) {
        next = p->spec->ats[p->next_at].at_ns;
    }
    if (p->quiet_at != 0 && p->quiet_at < next) next = p->quiet_at;
    SIM_ASSERT(next != UINT64_MAX);
    return next;
}

/* No work is live, but a node the plan took down may come back: the run is held (it does
 * not end) and only what is due happens: restarts and resumes, scripted lines, the liveness
 * phase; no tick, so no new fault of the plan's. Returns when to wake next. */
static uint64_t run_held(sim_world *w, sim__faults *fs, sim__plan *p)
{
    uint64_t now = sim_now(w);
    SIM_ASSERT(sim__exec_work_live(w) == 0);
    if (comeback_due(p) == UINT64_MAX) { /* nobody to wait for: the run may end now */
        sim__exec_hold(w, false);
        return now + 1;
    }
    if (p->quiet_at != 0 && now >= p->quiet_at) {
        run_quiet(w, fs, p);
        sim__exec_hold(w, false);
        return UINT64_MAX;
    }
    while (p->next_at < p->spec->nats && p->spec->ats[p->next_at].at_ns <= now) {
        run_at(w, p, p->next_at++);
    }
    run_recoveries(w, p);
    if (sim__exec_work_live(w) > 0) {
        uint64_t next = run_due(w, fs, p); /* a node came back with work: the plan goes on */
        sim__exec_hold(w, next != UINT64_MAX && comeback_due(p) != UINT64_MAX);
        return next;
    }
    uint64_t next = comeback_due(p);
    sim__exec_hold(w, next != UINT64_MAX);
    return next != UINT64_MAX ? next : now + 1;
}

/* Faults strike only while the run has work. Once every non-daemon task is done, the run
 * ends as soon as nothing is runnable, in this same instant; a fault injected now would come
 * after the end, where no system can answer it and its checks would judge a state it was
 * never given time to mend (gossip-faults seed 1227: a node crashed in the instant the
 * nodes were seen to converge, after the watcher had finished). So the driver then waits
 * for the next instant, which comes only if some daemon starts work again; what was due
 * happens then.
 *
 * Except that a run does not end while a node the plan took down is still to come back: its
 * unfinished work (a client crashed halfway through its operations) went down with it, and
 * a run that ended there would pass having done less than it was asked. The driver holds
 * the run (sim__exec_hold) and brings the node back when it is due (run_held). */
static uint64_t driver_next(sim_world *w, sim__faults *fs)
{
    SIM_ASSERT(fs != NULL);
    SIM_ASSERT(fs->plan != NULL);
    if (sim__exec_work_live(w) == 0) return run_held(w, fs, fs->plan);
    uint64_t next = run_due(w, fs, fs->plan);
    /* Held already, so that the work running out before the driver wakes again does not
     * end the run with a node down. */
    sim__exec_hold(w, next != UINT64_MAX && comeback_due(fs->plan) != UINT64_MAX);
    return next;
}

static int driver_poll(void *state, sim_world *w)
{
    driver *d = state;
    SIM_BEGIN(w, &d->co);
    for (;;) {
        d->next = driver_next(w, sim__faults_peek(w));
        if (d->next == UINT64_MAX) {
            sim__exec_hold(w, false);
            break;
        }
        SIM_TRY(sim_sleep_until(d->next));
    }
    SIM_END(SIM_OK);
}
