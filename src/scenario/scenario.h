/*
 * scenario.h: the scenario module's internals: the runner that executes one
 * seed of a scenario (world, system setup, run, checks) and returns its outcome, with the
 * events captured in memory when asked. Used by the sim command and replay/.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <signal.h>

#include "../core/core.h"
#include "../plan/plan.h"
#include "../disk_sim/spec.h"
#include "../net_sim/spec.h"

/* The scenario's [faults] and [network], validated (never NULL for a loaded scenario). */
const sim__fault_spec *sim__scenario_faults(const sim_scenario *sc);
const sim__net_spec *sim__scenario_network(const sim_scenario *sc);
const sim__disk_spec *sim__scenario_disk(const sim_scenario *sc);
/* The line of the scenario's file that set a [scenario] or system key; 0 when the key has
 * its default or was changed by sim_scenario_set (--set), or is not declared. */
uint32_t sim__scenario_line(const sim_scenario *sc, const char *section, const char *key);

/* Whether a violation of this kind fails a run of the scenario: the findings of [check]
 * leaks, unread and uncollected may be warnings instead; every other kind fails. */
bool sim__scenario_finding_fails(const sim_scenario *sc, sim_violation_kind kind);

/* ---- [schedule] (schedule.c) ------------------------------------------------------------- */

typedef struct sim__sched_spec sim__sched_spec;
int sim__sched_spec_new(sim__sched_spec **out);
void sim__sched_spec_free(sim__sched_spec *s);
/* `force = STEP:TASK ...` or `cancel = K ...` (each line adds; `none` clears). SIM_EINVAL with
 * a message naming the key and the expected form. */
int sim__sched_spec_set(sim__sched_spec *s, const char *key, const char *value, uint32_t line,
                        char *err, size_t err_size);
/* The section's canonical block, "" when empty; malloc'd. */
char *sim__sched_spec_canonical(const sim__sched_spec *s);
/* Points d's forced decisions and cancellation list at the spec's (borrowed: the spec must
 * outlive the world); forced decisions are lenient. */
void sim__sched_spec_desc(const sim__sched_spec *s, sim_world_desc *d);

/* ---- running one seed ----------------------------------------------------------------------- */

typedef struct sim__outcome {
    uint64_t seed;
    int rc;                   /* what the run call returned */
    bool failed;
    const char *result;       /* pass, deadlock, liveness, steplimit, diverged, violation, check,
                                 setup, interrupted */
    char detail[512];         /* one line */
    char *report;             /* the hang report or check message; "" if none; owned */
    char *dump;               /* sim_world_dump at the end, when asked; owned or NULL */
    uint64_t hash;
    uint64_t events;
    uint64_t steps;
    uint64_t vtime_ns;
    uint64_t ops;             /* operations in the world's history (invocations) */
    uint64_t wall_ns;         /* host time, informational only */
    sim_checkpoint *checkpoints;
    uint32_t ncheckpoints;
    sim__violation_rec *violations;
    uint32_t nviolations;
    char plan[512];           /* the seed's fault plan as drawn; "" without one */
    sim_fault_rec *faults;    /* every fault injected; point and detail owned (strdup) */
    uint32_t nfaults;
    uint32_t faults_dropped;  /* beyond what the world keeps */
    uint64_t fail_hits;       /* hits of the [faults] fail_hit point, when there is one */
    uint64_t cancel_points;   /* cancellable awaits the run reached (sim_world_cancel_points) */
    uint64_t branch_points;   /* branch points the run reached (sim_world_branch_points) */
    uint64_t pct_steps;       /* PCT: the k the run used (estimated for pct:D:auto); 0 else */
    bool captured;            /* events below are complete */
    sim__evbuf events_buf;
    sim_history *history;     /* what clients saw, when captured; NULL otherwise */
    char result_own[32];      /* what result points to in an unpacked outcome */
} sim__outcome;

typedef struct sim__run_opts {
    uint64_t seed;
    bool capture;                       /* keep every event in outcome.events_buf */
    const sim_decision *forced;         /* replay: decisions to impose */
    uint32_t nforced;
    uint64_t until_step;                /* 0: to the end; else stop after that step */
    bool want_dump;                     /* fill outcome.dump */
    bool want_history;                  /* fill outcome.history even without capture */
    const char *replay_hint;
    sim_world *volatile *live_world;    /* set to the world while it runs (for Ctrl-C) */
    sim__decision_fn decision_fn;       /* exploration: hears each fifo decision; may be NULL */
    sim__point_fn point_fn;             /* and each cancellable await and branch point */
    sim__step_fn step_fn;               /* and each step's footprint (with decision_fn) */
    const sim_sched *sched;             /* instead of the scenario's strategy; may be NULL */
    void *decision_ud;
} sim__run_opts;

/* Runs one seed. Returns SIM_OK when it ran (pass or fail: see out->failed), or SIM_EINVAL
 * when sim_world_new refused the scenario's limits or strategy (out of memory is fatal).
 * out must be freed with sim__outcome_free. */
int sim__run_seed(const sim_scenario *sc, const sim__run_opts *opts, sim__outcome *out);
void sim__outcome_free(sim__outcome *out);

/* An outcome as bytes and back (wire.c), for sim run's worker processes. pack: SIM_OK and a
 * malloc'd buffer (out of memory is fatal). unpack: SIM_OK, or SIM_EINVAL for bytes that are
 * not a whole outcome (nothing to free then); the dump is not carried. */
int sim__outcome_pack(const sim__outcome *o, void **out, size_t *len);
int sim__outcome_unpack(const void *data, size_t len, sim__outcome *o);

#endif /* SIM_SCENARIO_H */
