/*
 * fault.h: the fault module's internals. Three parts:
 *
 *   points.c  the process-wide registry of fault points, enabled in libfiu once each, and the
 *             per-hit decision: a world's hit counters, probabilities and countdowns
 *   plan.c    the [faults] section of scenario files: rates, ranges, scripted `at` lines,
 *             swarm, budget, liveness phase, clocks; validated and canonical
 *   driver.c  one seed's plan drawn from the section, and the daemon task that carries it
 *             out: node crashes, restarts and pauses, scripted events, the quiet phase
 *
 * Only this module includes libfiu's headers. The registry's index of a point is a property
 * of the process (the order in which points were declared) and is only ever used to find a
 * counter; decisions and traces use the point's name and its hash.
 */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include "../executor/exec.h"

/* ---- the registry (points.c) ---------------------------------------------------------------- */

#define SIM__POINTS_MAX 1024
#define SIM__POINT_NAME_MAX 60

enum {
    SIM__PF_TIMED = 1u << 0,   /* hit by the driver once per tick: a rate per time is allowed */
    SIM__PF_SWARM = 1u << 1,   /* swarm mode switches it on or off per seed */
    SIM__PF_DRIVER = 1u << 2,  /* its caller records the fault, with the action it took */
};

typedef struct sim__point {
    char name[SIM__POINT_NAME_MAX + 1];
    const char *key;           /* its [faults] key: a short word for the built-in points, the
                                  name itself for declared ones */
    const char *doc;
    uint64_t id;               /* XXH3-64 of the name: what decisions and traces use */
    uint32_t index;            /* position in the registry (never a decision input) */
    uint32_t flags;
} sim__point;

/* Starts libfiu and enables the built-in points, once per process. libfiu refusing (it fails
 * only to allocate) is out of memory: fatal. */
void sim__points_init(void);
/* The point with this name, or NULL. */
const sim__point *sim__point_find(const char *name);
/* The built-in points (node/... and net/...), in catalog order. */
uint32_t sim__point_builtin_count(void);
const sim__point *sim__point_builtin(uint32_t i);
/* Checks a declared point's name: "sut/<system>/<what>" of [a-z0-9_./-], at most 60
 * characters, no empty part. */
bool sim__point_name_ok(const char *name);

/* One point's state in one world. */
typedef struct sim__slot {
    uint64_t hits;             /* times reached */
    uint64_t ppt;              /* probability per hit in parts per 10^12 */
    uint64_t fail_at;          /* countdown: this hit fires; UINT64_MAX = none */
} sim__slot;

typedef struct sim__plan sim__plan;  /* driver.c */

typedef struct sim__faults {
    sim__slot *slots;          /* by registry index */
    uint32_t nslots;
    sim_fault_rec *recs;       /* every fault injected, in order */
    uint32_t nrecs;
    uint32_t recs_cap;
    uint32_t recs_dropped;     /* beyond SIM__FAULT_RECS_MAX (still events in the trace) */
    bool quiet;                /* the liveness phase: nothing fires any more */
    sim__plan *plan;           /* a scenario's plan for this seed, or NULL */
} sim__faults;

#define SIM__FAULT_RECS_MAX (1u << 20)
#define SIM__PPT_ONE 1000000000000ull  /* probability 1 in parts per 10^12 */

/* The world's fault state, created on first use. */
sim__faults *sim__faults_of(sim_world *w);
/* Hits a point on behalf of `node` (the driver's node points) through libfiu. 1 = fire. */
int sim__point_hit(sim_world *w, const sim__point *p, uint32_t node);
/* The same with this hit's own probability in ppt (a link's loss), or UINT64_MAX for the
 * point's. A hit that cannot fire (probability 0, no countdown, or the quiet phase) is
 * counted without calling libfiu: the hot path of every message. */
int sim__point_hit_ppt(sim_world *w, const sim__point *p, uint32_t node, uint64_t ppt);
/* Sets a point's probability per hit in ppt. */
void sim__fault_set_ppt(sim_world *w, const sim__point *p, uint64_t ppt);
/* Records an injected fault: a record and a SIM_EV_FAULT event. point and detail must live as
 * long as the world. */
void sim__fault_record(sim_world *w, const char *point, uint64_t point_id, uint64_t hit,
                       uint32_t node, sim_fault_action action, const char *detail);
/* "0.25", "0.001": a probability in ppt written exactly, as short as possible. */
void sim__ppt_format(uint64_t ppt, char *buf, size_t size);

/* ---- the [faults] section (plan.c) ---------------------------------------------------------- */

typedef struct sim__fault_spec sim__fault_spec;

/* A rate: per hit in ppt, or per virtual second in pico-events per second (1/30s =
 * 10^12 / 30). A range lo..hi is drawn per seed; lo == hi is one value. */
typedef struct sim__rate {
    bool per_time;
    uint64_t lo;
    uint64_t hi;
} sim__rate;

/* A scripted event: `at = 5s crash n2`. */
typedef struct sim__at {
    uint64_t at_ns;
    sim_fault_action action;   /* crash, restart, pause, resume, partition, heal */
    uint32_t line;             /* in the scenario file; 0 when set from the command line */
    uint32_t nnames;
    char **names;              /* node names, in the order written */
    uint32_t *groups;          /* partition: the group of each name (0-based) */
    bool oneway;               /* partition: group 0 -> group 1 only */
    char *text;                /* the canonical value, "5s crash n2" */
    char *label;               /* for traces: "at 5s crash n2" */
} sim__at;

/* One point's rate in the plan. */
typedef struct sim__spec_rate {
    const sim__point *point;
    sim__rate rate;
    uint32_t line;             /* where it was set; 0 = default */
} sim__spec_rate;

struct sim__fault_spec {
    const char *path;          /* the scenario's, for messages (borrowed) */
    bool swarm;
    uint64_t tick_ns;
    uint32_t max_down;         /* UINT32_MAX = no limit */
    uint64_t restart_lo, restart_hi;
    uint64_t pause_lo, pause_hi;
    uint64_t quiet_after_ns;   /* 0 = no liveness phase */
    uint64_t converge_ns;
    uint64_t skew_ns;          /* largest clock offset either way; 0 = none */
    uint32_t drift_ppm;        /* largest drift either way; 0 = none */
    char partition_mode[8];    /* any, isolate, split, random */
    uint64_t partition_lo, partition_hi;
    uint64_t oneway_ppt;       /* probability that a plan partition is one-way */
    uint64_t clog_lo, clog_hi;
    const sim__point *fail_point; /* fail_hit: the countdown; NULL = none */
    uint64_t fail_hit;
    sim__spec_rate *rates;     /* built-in points, then the system's, sorted by key */
    uint32_t nrates;
    sim__at *ats;              /* sorted by time, then by order written */
    uint32_t nats;
    char **nodes;              /* the system's node names; NULL when it does not say */
    uint32_t nnodes;
    bool nodes_known;
    uint32_t lines[24];        /* where each plain key was set, for "set twice" */
};

/* A spec with every default, for a system's points and nodes (names may be NULL when the
 * system does not declare them). */
int sim__fault_spec_new(const char *path, const sim_system *sys, const char *const *nodes,
                        uint32_t nnodes, bool nodes_known, sim__fault_spec **out);
void sim__fault_spec_free(sim__fault_spec *s);
/* Sets one key from text. On error returns SIM_EINVAL and writes "[faults] key: ..." into err
 * (the caller adds file and line). line 0 = not from the file (a default or an override, which
 * may replace an earlier value). */
int sim__fault_spec_set(sim__fault_spec *s, const char *key, const char *value, uint32_t line,
                        char *err, size_t err_size);
/* Checks what needs several keys, against the scenario's time limit. On error returns
 * SIM_EINVAL, the message in err and the line to blame in *line (0 = none). */
int sim__fault_spec_finish(sim__fault_spec *s, uint64_t time_limit_ns, char *err,
                           size_t err_size, uint32_t *line);
/* "[faults]\nat = ...\n..." with every key and its value, sorted; malloc'd, or NULL. */
char *sim__fault_spec_canonical(const sim__fault_spec *s);
/* The keys of [faults], ", "-separated, for errors. */
void sim__fault_spec_keys(const sim__fault_spec *s, char *buf, size_t size);
/* The virtual time by which the run must have finished when there is a liveness phase
 * (quiet_after + converge_within), else 0. */
uint64_t sim__fault_spec_deadline(const sim__fault_spec *s);
/* Whether the spec asks for anything at all (a rate, a script, clocks, a countdown). */
bool sim__fault_spec_active(const sim__fault_spec *s);
/* Writes a rate as it is written in a file ("1/30s", "0.01", "0..1/10s"). */
void sim__rate_format(const sim__rate *r, char *buf, size_t size);

/* ---- one seed's plan (driver.c) ------------------------------------------------------------- */

void sim__plan_free(sim__plan *p);
const sim__fault_spec *sim__plan_spec(const sim__plan *p);
/* Draws the seed's plan from the spec (swarm switches, rates in their ranges) and arms the
 * points. Before the system's setup, so that its points are armed while it builds. The spec
 * is borrowed for the world's life. */
void sim__faults_attach(sim_world *w, const sim__fault_spec *spec);
/* After setup: checks that the nodes the script names exist, sets the node clocks and spawns
 * the driver task. On error returns SIM_EINVAL with "FILE:LINE: ..." in err. */
int sim__faults_start(sim_world *w, char *err, size_t err_size);
/* The drawn plan in one line ("crash=1/20s pause=off"), "" without one. */
const char *sim__faults_plan_text(const sim_world *w);
/* When the liveness phase begins (0 = no liveness phase or no plan). */
uint64_t sim__faults_quiet_at(const sim_world *w);

#endif /* SIM_FAULT_H */
