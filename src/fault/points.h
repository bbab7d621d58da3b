/*
 * points.h: fault points, the layer below the network and the disk (points.c): the
 * process-wide registry of fault points, enabled in libfiu once each, and the per-hit
 * decision: a world's hit counters, probabilities and countdowns. The fault plan and its
 * driver (src/plan/) sit above the network and the disk and use this layer; nothing here
 * knows them.
 *
 * Only this module includes libfiu's headers. The registry's index of a point is a property
 * of the process (the order in which points were declared) and is only ever used to find a
 * counter; decisions and traces use the point's name and its hash.
 */
#ifndef SIM_POINTS_H
#define SIM_POINTS_H

#include "../executor/spi.h"

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

/* A hit of [faults] only: when a plan has the list, these hits are the only ones that fire
 * (sim shrink's script of a failing run's faults). Sorted by (id, hit). */
typedef struct sim__skip {
    uint64_t id;               /* the point's */
    uint64_t hit;
    const sim__point *point;
} sim__skip;

/* One point's state in one world. */
typedef struct sim__slot {
    uint64_t hits;             /* times reached */
    uint64_t ppt;              /* probability per hit in parts per 10^12 */
    uint64_t fail_at;          /* countdown: this hit fires; UINT64_MAX = none */
} sim__slot;


typedef struct sim__faults {
    sim__slot *slots;          /* by registry index */
    uint32_t nslots;
    sim_fault_rec *recs;       /* every fault injected, in order */
    uint32_t nrecs;
    uint32_t recs_cap;
    uint32_t recs_dropped;     /* beyond SIM__FAULT_RECS_MAX (still events in the trace) */
    bool quiet;                /* the liveness phase: nothing fires any more */
    bool only_on;              /* [faults] only: no hit fires unless listed (or a countdown's) */
    const sim__skip *only;     /* the list (borrowed from the plan's spec) */
    uint32_t nonly;
    uint64_t only_exempt;      /* a point that still rolls (node/restart: a consequence) */
    void *plan;                /* a scenario's plan for this seed (src/plan/), or NULL */
    void (*plan_free)(void *plan); /* how the layer above frees it */
} sim__faults;

#define SIM__FAULT_RECS_MAX (1u << 20)
#define SIM__PPT_ONE 1000000000000ull  /* probability 1 in parts per 10^12 */

/* The world's fault state, created on first use (an extension of the world, freed with it). */
sim__faults *sim__faults_of(sim_world *w);
/* The same, or NULL before its first use. */
sim__faults *sim__faults_peek(const sim_world *w);
/* Hits a point on behalf of `node` (the driver's node points) through libfiu. 1 = fire. */
int sim__point_hit(sim_world *w, const sim__point *p, uint32_t node);
/* The same with this hit's own probability in ppt (a link's loss), or UINT64_MAX for the
 * point's. A hit that cannot fire (probability 0, no countdown, or the quiet phase) is
 * counted without calling libfiu: the hot path of every message. */
int sim__point_hit_ppt(sim_world *w, const sim__point *p, uint32_t node, uint64_t ppt);
/* Counts a hit of p that cannot fire (the driver's node/crash on a node that is down): hit
 * numbers then name the same tick and node whatever fired before, so that an only line
 * (node/crash@H) names the same moment when other faults are taken out. */
void sim__point_count(sim_world *w, const sim__point *p);
/* Sets a point's probability per hit in ppt. */
void sim__fault_set_ppt(sim_world *w, const sim__point *p, uint64_t ppt);
/* Records an injected fault: a record and a SIM_EV_FAULT event. point and detail must live as
 * long as the world. */
void sim__fault_record(sim_world *w, const char *point, uint64_t point_id, uint64_t hit,
                       uint32_t node, sim_fault_action action, const char *detail);
/* "0.25", "0.001": a probability in ppt written exactly, as short as possible. */
void sim__ppt_format(uint64_t ppt, char *buf, size_t size);


#endif /* SIM_POINTS_H */
