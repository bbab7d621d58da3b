/*
 * plan.h: the fault plan, the layer above the network and the disk. Two parts:
 *
 *   plan.c    the [faults] section of scenario files: rates, ranges, scripted `at` lines,
 *             swarm, budget, liveness phase, clocks; validated and canonical
 *   driver.c  one seed's plan drawn from the section, and the daemon task that carries it
 *             out: node crashes, restarts and pauses, partitions and clogs (through the
 *             network's public calls), scripted events, the quiet phase
 *
 * It decides through the fault points below (src/fault/points.h) and acts through sim.h.
 */
#ifndef SIM_PLAN_H
#define SIM_PLAN_H

#include "../fault/points.h"

typedef struct sim__plan sim__plan;  /* driver.c */

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

/* The nodes a kind of random fault may hit: crash_nodes, pause_nodes, clog_nodes,
 * partition_nodes. Scripted `at` lines name their nodes themselves. */
enum {
    SIM__TARGET_CRASH,
    SIM__TARGET_PAUSE,
    SIM__TARGET_CLOG,
    SIM__TARGET_PARTITION,
    SIM__TARGET_COUNT
};
/* A list of words, each a node name, a glob over node names (fnmatch: s*, n[12]) or a group;
 * no words = every node. */
typedef struct sim__node_words {
    char **words;
    uint32_t nwords;
    uint32_t line;             /* where it was set; 0 = default or an override */
    char *text;                /* the canonical value: the words joined by spaces, or NULL */
} sim__node_words;
/* `group.NAME = words`: a name for a set of nodes, usable in the *_nodes keys. */
typedef struct sim__node_group {
    char *name;
    sim__node_words nodes;     /* node names and globs only */
} sim__node_group;
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
    bool only_on;              /* only: the random faults are exactly these hits */
    sim__skip *only;           /* sorted by (id, hit), no twins */
    uint32_t nonly;
    sim__node_words targets[SIM__TARGET_COUNT];
    sim__node_group *groups;   /* in the order written */
    uint32_t ngroups;
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
/* Whether a random fault of kind SIM__TARGET_* may hit the node of that name. */
bool sim__fault_spec_targets(const sim__fault_spec *s, int kind, const char *node);
/* Checks that every word of the *_nodes keys and of the groups names at least one of the
 * nodes, and that no group is named like a node. On error returns SIM_EINVAL, the message in
 * err and the line to blame in *line (0 = none). */
int sim__fault_spec_check_nodes(const sim__fault_spec *s, const char *const *nodes,
                                uint32_t nnodes, char *err, size_t err_size, uint32_t *line);
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

#endif /* SIM_PLAN_H */
