/*
 * exec.h: the executor's internal data structures, shared by the files of src/executor/.
 *
 * Everything lives in growable arrays indexed by 32-bit slots; records refer to each other by
 * slot, and every handle given to users pairs a slot with a unique id that acts as the
 * generation (a stale handle fails the id check instead of touching a reused record). Arrays
 * may move when they grow, so a pointer to a record is never held across a call that can
 * spawn or allocate (user poll and drop functions, boot functions): re-fetch by slot.
 *
 * Orderings that the simulation depends on are all by sequence numbers: run queues by the
 * order tasks became runnable (or PCT priority, then task id), timers by (deadline, sequence),
 * wait queues FIFO, node task lists by spawn order.
 *
 * Only src/executor/ includes this file (make tidy checks it): the modules above see the world
 * as an incomplete type and ask for what they need through spi.h, which this file includes.
 */
#ifndef SIM_EXEC_H
#define SIM_EXEC_H

#include <signal.h>
#include <string.h>

#include "../core/core.h"
#include "spi.h" /* what the modules above see: the drop modes, extensions, events */

/* What the executor needs to make a task (sim_spawn's desc without its handle moves, and
 * the internal tasks: jobs, block_on's root). */
typedef struct sim__task_init {
    const char *name;
    sim_poll_cb poll;
    sim_drop_cb drop;
    const void *state;
    size_t state_size;
    bool daemon;
} sim__task_init;

/* A reference to a record that may have been freed since: valid while the slot's id matches. */
typedef struct sim__ref {
    uint32_t slot;
    uint32_t id;
} sim__ref;

/* ---- handles (hand.c) ---------------------------------------------------------------------- */

enum {
    HAND_FREE = 0,
    HAND_TX,       /* target: channel object */
    HAND_RX,       /* target: channel (oneshot, mpsc) or subscriber object */
    HAND_TOKEN,    /* target: token object */
    HAND_JOIN,     /* target: task slot, target_id: task id */
    HAND_MUTEX,    /* target: mutex object */
    HAND_SEM,      /* target: semaphore object */
    HAND_NOTIFY,   /* target: notify object */
    HAND_SET,      /* target: task set object */
    HAND_LOCKED,   /* a mutex held by its owner task; target: the mutex object */
    HAND_PERMITS,  /* permits held by its owner task; target: the semaphore, target_id: count */
    HAND_EXT,      /* an extension's (socket, file): ext says whose, target/target_id theirs */
    HAND_KINDS
};

enum {
    OWN_NONE = 0,
    OWN_TASK,      /* owner: task slot, owner_id: task id */
    OWN_NODE,      /* owner: node index (0: the world) */
    OWN_CHAN,      /* in a queued message; owner: the channel object */
};

typedef struct sim__hand {
    uint32_t id;          /* generation; the handle's id_ while live */
    uint8_t kind;         /* HAND_* */
    uint8_t ext;          /* HAND_EXT: which extension */
    uint8_t owner_kind;   /* OWN_* */
    uint8_t pad_;
    uint32_t target;      /* what it names (see HAND_*) */
    uint32_t target_id;
    uint32_t owner;       /* see OWN_* */
    uint32_t owner_id;
    uint32_t prev;        /* the owner's list, in creation order */
    uint32_t next;        /* the owner's list; free list link when free */
    uint32_t aux;         /* HAND_PERMITS: how many */
} sim__hand;

/* Releases a handle record of one kind: does what dropping the handle does, frees the record. */
typedef void (*sim__hand_release_fn)(sim_world *w, uint32_t slot);

/* ---- tasks -------------------------------------------------------------------------------- */

enum {
    TASK_FREE = 0, /* slot unused, on the free list */
    TASK_LIVE = 1, /* spawned, not finished */
    TASK_DONE = 2, /* finished; kept for its join handle */
};

enum {
    TF_QUEUED = 1u << 0,        /* in the run queue */
    TF_RUNNING = 1u << 1,       /* being polled now */
    TF_WOKEN = 1u << 2,         /* woken while running: queue again after the poll */
    TF_PARKED = 1u << 3,        /* woken while its node is paused: queue on resume */
    TF_ABORT = 1u << 4,         /* abort requested: dropped at the next scheduling point */
    TF_CRASH = 1u << 5,         /* its node crashed while it was running */
    TF_DAEMON = 1u << 6,        /* does not keep sim_world_run going */
    TF_DETACHED = 1u << 7,      /* no handle: free the slot when it finishes */
    TF_JOB = 1u << 8,           /* a blocking-pool job */
    TF_JOB_STARTED = 1u << 9,   /* the job's run function has executed: cannot be aborted */
    TF_ROOT = 1u << 10,         /* sim_block_on's root: stands for the caller, owns nothing */
    TF_SPURIOUS = 1u << 11,     /* the queued wake-up is a spurious one */
    TF_ENDING = 1u << 12,       /* being finished: what it awaited and owned is released */
    TF_INSET = 1u << 13,        /* a member of a task set (set_obj) */
    TF_WAITS_LOST = 1u << 14,   /* its last pending poll noted more than SIM__WAITS_MAX waits */
    TF_WAIT_PREV = 1u << 15,    /* its task_waits[].prev has been written (else it is zero) */
};

/* What a pending task waits for, noted by the primitive that returned SIM_PENDING. */
enum {
    WAIT_NONE = 0,
    WAIT_SLEEP,  /* x = timer seq (low bits), y = deadline */
    WAIT_JOIN,   /* x = task id */
    WAIT_RECV,   /* x = object slot, y = object serial */
    WAIT_SEND,   /* x = object slot, y = object serial */
    WAIT_TOKEN,  /* x = object slot, y = object serial */
    WAIT_YIELD,
    WAIT_POOL,   /* x = node */
    WAIT_JOB,    /* y = end time */
    WAIT_MUTEX,  /* x = object slot, y = object serial */
    WAIT_SEM,    /* x = object slot, y = object serial */
    WAIT_NOTIFY, /* x = object slot, y = object serial */
    WAIT_SET,    /* x = object slot, y = object serial */
    WAIT_EXT = 16, /* WAIT_EXT + e: a wait on extension e's objects; x, y are its own */
};

#define SIM__WAITS_MAX 3

typedef struct sim__wait {
    uint32_t kind; /* WAIT_* */
    uint32_t x;
    uint64_t y;
} sim__wait;
_Static_assert(sizeof(sim__wait) == 16, "no padding: waits are compared with memcmp");

typedef struct sim__task {
    uint32_t id;             /* spawn number (the public sim_task_id); 0 = free slot */
    uint16_t node;           /* node index; 0 = world-level */
    uint8_t status;          /* TASK_* */
    uint8_t nwaits;          /* entries used in waits[] after the last pending poll */
    uint32_t flags;          /* TF_* */
    int32_t result;          /* the result, once TASK_DONE */
    sim_poll_cb poll;
    sim_drop_cb drop;
    void *state;             /* executor-owned block; begins with a sim_co (not for jobs) */
    uint32_t state_size;     /* bytes */
    uint32_t rq;             /* run queue: fifo next / random index / pct heap index */
    uint32_t rq_prev;        /* run queue: fifo prev; free list: next free slot */
    uint32_t joiner_slot;    /* waker of the task awaiting this one; SIM__NIL = none */
    uint32_t joiner_id;
    uint32_t timers;         /* armed timers owned by this task (a count) */
    uint32_t waiters;        /* wait-queue registrations owned (list head), SIM__NIL */
    uint32_t hands_head;     /* handles it owns, in creation order (hand.c); SIM__NIL */
    uint32_t hands_tail;
    uint32_t set_obj;        /* TF_INSET: its task set object */
    uint32_t set_next;       /* TF_INSET: the set's queue of finished members */
    uint32_t polls;          /* polls so far */
    int64_t output;          /* sim_task_set_output */
    uint64_t prio;           /* PCT priority: higher runs first */
    const char *name;        /* borrowed */
    uint64_t wait_since_ns;  /* when its current first wait began */
    uint32_t parent;         /* id of the task that spawned it; 0: outside a task */
    const char *parent_name; /* its name (borrowed for the world's life); NULL: none */
} sim__task;

/* What a task waits for, in a table of its own indexed like the task table (w->task_waits):
 * written only by a pending poll, so a task that finishes at its first poll (most of a spawn
 * storm) never touches it, and the task record stays two cache lines smaller. */
typedef struct sim__task_waits {
    sim__wait prev;          /* the first wait when wait_since_ns was set, to tell a new wait
                                from a re-poll; valid with TF_WAIT_PREV, else all zero */
    sim__wait w[SIM__WAITS_MAX]; /* valid for i < the task's nwaits */
} sim__task_waits;

/* ---- timers ------------------------------------------------------------------------------- */

/* A heap entry is 16 bytes, so that a node's four children fill one cache line's worth: the
 * arming sequence number and the timer's slot share one word, the sequence number above. That
 * word orders as the sequence number does, so the heap orders by (deadline, seq) as before;
 * it bounds timer slots below 2^24 and a world's arming count below 2^40 (SIM_ELIMIT). */
#define SIM__TIMER_SLOT_BITS 24
#define SIM__TIMER_SLOTS_MAX ((uint32_t)1 << SIM__TIMER_SLOT_BITS)
#define SIM__TIMER_SEQ_MAX (((uint64_t)1 << (64 - SIM__TIMER_SLOT_BITS)) - 1)

typedef struct sim__heap_ent {
    uint64_t deadline_ns;
    uint64_t key;            /* seq << SIM__TIMER_SLOT_BITS | slot in timers[]; seq is the
                                arming order: ties on deadline fire in this order */
} sim__heap_ent;

static inline uint64_t sim__heap_ent_seq(const sim__heap_ent *e)
{
    return e->key >> SIM__TIMER_SLOT_BITS;
}

static inline uint32_t sim__heap_ent_timer(const sim__heap_ent *e)
{
    return (uint32_t)(e->key & (SIM__TIMER_SLOTS_MAX - 1));
}

static inline sim__heap_ent sim__heap_ent_make(uint64_t deadline_ns, uint64_t seq, uint32_t slot)
{
    SIM_ASSERT(seq <= SIM__TIMER_SEQ_MAX);
    SIM_ASSERT(slot < SIM__TIMER_SLOTS_MAX);
    return (sim__heap_ent){.deadline_ns = deadline_ns,
                           .key = seq << SIM__TIMER_SLOT_BITS | slot};
}

/* The radix heap's buckets: bucket b holds the entries whose highest bit differing from the
 * last removed entry's (deadline, key), as one 128-bit number, is bit b; in no order, but with
 * the earliest one's position kept. */
#define SIM__TQ_BUCKETS 128

typedef struct sim__tq_bucket {
    sim__heap_ent *ents;
    uint32_t len;
    uint32_t cap;
    uint32_t min;            /* the earliest entry's index (valid when len > 0) */
    uint32_t pad_[3];        /* 32 bytes: a bucket's address is one shift */
} sim__tq_bucket;

enum {
    TIMER_FREE = 0,
    TIMER_ARMED = 1,
    TIMER_CANCELLED = 2,     /* still in the heap until it surfaces (lazy deletion) */
};

typedef struct sim__timer {
    uint32_t id;             /* low 32 bits of seq, never 0 while in use */
    uint8_t state;           /* TIMER_* */
    uint8_t ext;             /* an extension's timer (task_slot SIM__NIL): which extension */
    uint32_t task_slot;      /* owner, woken when it fires; SIM__NIL: an extension's timer */
    uint32_t task_id;
    uint32_t next_free;      /* free list link */
    uint64_t arg;            /* an extension's timer: what it passes to fire() */
} sim__timer;

/* ---- objects: channels, receivers, tokens -------------------------------------------------- */

enum {
    OBJ_FREE = 0,
    OBJ_CHAN,      /* a channel; chan_kind says which */
    OBJ_SUB,       /* a broadcast or watch receiver */
    OBJ_TOKEN,
    OBJ_MUTEX,     /* holder in waker_slot/waker_id; wait queue of lockers (sync.c) */
    OBJ_SEM,       /* permits left in len, ever in cap; wait queue of acquirers (sync.c) */
    OBJ_NOTIFY,    /* a stored permit in len; wait queue of waiters (sync.c) */
    OBJ_SET,       /* task set: members counted in len, finished ones queued (taskset.c) */
};

typedef struct sim__obj {
    uint32_t serial;         /* "#N" in reports, in creation order; 0 = free */
    uint32_t slot;           /* its own index in the object table */
    uint32_t tx_id;          /* id carried by sender (and token) handles: mix32(2 serial) */
    uint32_t rx_id;          /* id carried by receiver handles: mix32(2 serial + 1) */
    uint8_t type;            /* OBJ_* */
    uint8_t chan_kind;       /* sim_chan_kind for OBJ_CHAN and OBJ_SUB */
    uint8_t cancelled;       /* tokens */
    uint8_t sent;            /* oneshot: a message was sent */
    uint8_t bounded;         /* mpsc: capacity was given; senders wait for room */
    uint8_t nhoff;           /* handles each message carries (sim_chan_desc handle_at) */
    uint16_t hoff[SIM_MSG_HANDLES_MAX]; /* where they are in a message */
    uint32_t txs;            /* sender handles alive (channels); handle count (tokens) */
    uint32_t rxs;            /* receiver handles alive (channels) */
    uint32_t msg_size;
    uint32_t cap;            /* ring slots (logical capacity) */
    uint32_t mask;           /* ring slots allocated - 1 (a power of two minus one) */
    uint32_t head;           /* ring index of the oldest message (mpsc/oneshot) */
    uint32_t len;            /* messages queued (mpsc/oneshot) */
    uint32_t owed;           /* bounded mpsc: slots promised to notified waiting senders */
    uint32_t max_len;        /* unbounded mpsc limit */
    uint8_t *buf;            /* (mask + 1) * msg_size bytes: small[] or an allocated ring */
    uint8_t small[16];       /* the ring itself when it fits (a oneshot of a small message);
                                buf is re-pointed whenever the object table moves */
    uint8_t ring_inline;     /* buf == small */
    uint64_t seq;            /* broadcast: next sequence to write; watch: version */
    uint64_t cursor;         /* receivers: next broadcast sequence / watch version seen */
    uint32_t parent;         /* receiver: its channel; token: its parent; SIM__NIL */
    uint32_t first;          /* channel: first receiver; token: first child; SIM__NIL */
    uint32_t next;           /* sibling in the parent's list; free list link when free */
    uint32_t prev;           /* sibling in the parent's list */
    uint32_t waker_slot;     /* the receiving task (single receiver); SIM__NIL */
    uint32_t waker_id;
    uint32_t wq_head;        /* wait queue (senders waiting for room, token waiters) */
    uint32_t wq_tail;
    const char *name;        /* borrowed, may be NULL */
    sim_msg_drop_cb drop_msg;
    void *drop_ud;
} sim__obj;

/* ---- wait-queue registrations -------------------------------------------------------------- */

typedef struct sim__waiter {
    uint32_t id;             /* unique; 0 = free */
    uint32_t obj;            /* the object whose queue it is in */
    uint32_t task_slot;      /* the waiting task */
    uint32_t task_id;
    uint32_t prev;           /* the object's queue */
    uint32_t next;           /* the object's queue; free list link when free */
    uint32_t tprev;          /* the task's registrations */
    uint32_t tnext;
    uint8_t notified;        /* WAITER_*: 0 until woken by the object */
} sim__waiter;

/* How a waiter was woken: by a notify_one, which owes it a turn that passes to the next waiter
 * if it is dropped unused (a slot, a lock, a notification), or by a notify_all (a token's
 * cancel, sim_notify_all), which owes nothing to pass on. */
enum { WAITER_OWED = 1, WAITER_WOKEN = 2 };

/* ---- nodes -------------------------------------------------------------------------------- */

typedef struct sim__node {
    const char *name;        /* interned; "" for the world pseudo-node 0 */
    uint8_t state;           /* sim_node_state */
    uint32_t boots;          /* times booted */
    sim_boot_cb boot;
    void *boot_ud;
    uint32_t workers;        /* blocking pool size */
    uint32_t busy;           /* workers held by jobs */
    sim_latency latency;     /* base job latency */
    sim_rng pool_rng;        /* stream "sim/pool", index = node */
    sim__ref *jobq;          /* FIFO of jobs waiting for a worker (ring) */
    uint32_t jobq_cap;
    uint32_t jobq_head;
    uint32_t jobq_len;
    uint32_t hands_head;     /* handles the node owns (made in boot, or shared) */
    uint32_t hands_tail;
    int64_t clock_offset_ns; /* sim_node_set_clock */
    int32_t clock_drift_ppm;
    char *host_addr;         /* host worlds: the IP literal its sockets bind (owned) */
    char *host_dir;          /* host worlds: the directory of its files (owned) */
    bool touch_declared;     /* the desc's: its tasks share memory only through sim_touch keys */
} sim__node;

/* ---- the trace hash ----------------------------------------------------------------------- */

/* The canonical record of one event (trace.c). On a little-endian host its memory image is
 * the encoding that is hashed. */
typedef struct sim__record {
    uint16_t kind;
    uint16_t node;
    uint32_t task;
    uint64_t vtime_ns;
    uint64_t a;
    uint64_t b;
} sim__record;

#define SIM__HASH_BUF_RECORDS 128

/* ---- violations --------------------------------------------------------------------------- */

#define SIM__VIOLATIONS_KEPT 1000

/* ---- the world ---------------------------------------------------------------------------- */

struct sim_world {
    uint64_t seed;
    sim_backend backend;     /* SIM_BACKEND_SIM or SIM_BACKEND_HOST, for the world's life */
    char *host_dir;          /* host worlds: the desc's host_dir (owned; "." by default) */
    struct sim__host *host;  /* host worlds: the loop, the pool's threads (host_exec.c) */
    sim_sched sched;
    uint64_t now_ns;
    uint64_t step;           /* polls so far; the current poll is number `step` */
    uint64_t time_limit_ns;
    uint64_t step_limit;
    uint64_t check_max_steps; /* sim_world_check's bound (the desc's; never 0: resolved) */
    uint64_t check_max_memory; /* sim_world_check's memory limit (the desc's; 0: default) */
    sim_ratio spurious;
    char *replay_hint;       /* owned copy, or NULL */
    sim_trace_cb trace;
    void *trace_ud;

    sim__mem mem;

    /* tasks */
    sim__task *tasks;
    sim__task_waits *task_waits; /* tasks_cap records, as tasks (grown with it) */
    uint32_t tasks_cap;
    uint32_t tasks_used;     /* slots ever used (high-water mark) */
    uint32_t task_free;      /* free list head */
    uint32_t tasks_live;     /* TASK_LIVE count */
    uint32_t tasks_alloc;    /* slots not free (LIVE + DONE) */
    uint32_t work_live;      /* TASK_LIVE tasks without TF_DAEMON */
    bool held;               /* the fault plan keeps the run going without work: a node it
                                took down is still to come back (sim__exec_hold) */
    uint32_t max_tasks;
    uint32_t next_task_id;
    uint32_t current;        /* slot being polled or dropped; SIM__NIL */
    int dropping;            /* -1, or the SIM__DROP_* mode of the drop running now */
    bool freeing;            /* sim_world_free is dropping what is left: a crash-mode drop on
                                a node that is up then only lets go (net_sim's endpoints) */
    uint32_t booting;        /* node being booted (spawn default); 0 = none */

    /* run queue (see sched.c) */
    uint32_t *rq_array;      /* random: runnable slots; pct: heap of slots */
    uint32_t rq_cap;
    uint32_t rq_len;
    uint32_t rq_head;        /* fifo list */
    uint32_t rq_tail;
    sim_rng sched_rng;       /* "sim/sched" */
    sim_rng spurious_rng;    /* "sim/spurious" */
    uint64_t *pct_changes;   /* sorted change-point steps */
    uint32_t pct_nchanges;
    uint32_t pct_next;       /* next change point index */
    const sim_decision *forced;
    uint32_t forced_count;
    uint32_t forced_next;
    bool forced_lenient;     /* the desc's: skip a forced decision naming no runnable task */
    sim__decision_fn decision_fn; /* sim__exec_set_decision_hook; NULL: none */
    sim__point_fn point_fn;       /* the same for cancellable awaits; NULL: none */
    sim__cancel_fn cancel_fn;     /* sim__exec_set_cancel_hook; NULL: none */
    void *decision_ud;
    /* Footprints (footprint.c), while a step hook is set: what the step being polled touched,
     * for sim explore's independence check. fp_in_step brackets poll_task. */
    sim__step_fn step_fn;    /* sim__exec_set_step_hook; NULL: footprints are not kept */
    bool fp_in_step;
    uint32_t fp_flags;       /* SIM__FP_* */
    uint32_t fp_len;
    uint64_t fp_keys[SIM__FP_KEYS_MAX];
    uint64_t fp_events_end;  /* stats.events when the last step ended */

    /* deferred aborts, processed at the next scheduling point (FIFO) */
    sim__ref *aborts;
    uint32_t aborts_cap;
    uint32_t aborts_len;

    /* timers (timer.c): a radix heap of the entries after tq_last, and a 4-ary heap of the
     * few armed at or before it */
    sim__tq_bucket *tq;      /* SIM__TQ_BUCKETS buckets; NULL until the first timer */
    uint64_t tq_nonempty[SIM__TQ_BUCKETS / 64]; /* bit b: bucket b holds entries */
    sim__heap_ent tq_last;   /* the radix heap's last removed entry: the others come after */
    uint32_t tq_len;         /* entries in the radix heap */
    uint64_t timer_next_ns;  /* the earliest entry's deadline (cancelled or not); UINT64_MAX:
                                no entry */
    sim__heap_ent *heap;
    uint32_t heap_len;
    uint32_t heap_cap;
    sim__timer *timers;
    uint32_t timers_cap;
    uint32_t timers_used;
    uint32_t timer_free;
    uint32_t timers_cancelled; /* entries whose timer was cancelled, not yet removed */
    uint32_t max_timers;
    uint64_t timer_seq;

    /* objects */
    sim__obj *objs;
    uint32_t objs_cap;
    uint32_t objs_used;
    uint32_t obj_free;
    uint32_t objs_live;
    uint32_t max_objects;
    uint32_t obj_serial;

    /* handles (hand.c) */
    uint32_t tag;            /* this world's tag in its handles (distinct per process) */
    sim__hand *hands;
    uint32_t hands_cap;
    uint32_t hands_used;
    uint32_t hand_free;
    uint32_t hands_live;
    sim__hand_release_fn hand_ops[HAND_KINDS];

    /* wait-queue registrations */
    sim__waiter *waiters;
    uint32_t waiters_cap;
    uint32_t waiters_used;
    uint32_t waiter_free;
    uint32_t waiter_serial;

    /* nodes; index 0 is the world pseudo-node that holds world-level tasks */
    sim__node *nodes;
    uint32_t nodes_len;
    uint32_t nodes_cap;

    /* blocking-pool job context while a job's run function executes */
    bool in_job;
    uint64_t job_clock_ns;

    /* checkpoints */
    uint32_t checkpoint_every;
    uint64_t next_checkpoint;  /* the step at which the next one is due */
    sim_checkpoint *checkpoints;
    uint32_t checkpoints_len;
    uint32_t checkpoints_cap;
    char *dump;                /* owned; the last sim_world_dump */

    /* run state */
    int stop_rc;             /* 0 while running; the stop code once stopped */
    volatile sig_atomic_t stop_requested; /* set by sim_world_stop, also from signal handlers */
    bool in_run;
    char *report;            /* owned; "" when none */

    /* interned strings (a simple list: interning is rare) */
    char **strings;
    uint32_t strings_len;
    uint32_t strings_cap;

    /* violations */
    sim_violation *violations;
    uint32_t violations_len;
    uint32_t violations_total;

    /* statistics */
    sim_stats stats;

    /* the exactly-once ledger (ledger.c) */
    struct sim__obligation *obls; /* obls_len records; an obligation's id is its index + 1 */
    uint32_t obls_len;
    uint32_t obls_cap;
    uint32_t obls_pending;   /* registered, neither discharged nor voided */

    /* shutdown, end-of-run oracles and cancellation (oracle.c) */
    uint32_t oracles;        /* SIM_ORACLE_* bits of the oracles to run (resolved) */
    uint64_t shutdown_at_ns; /* the desc's: raise the signal then; UINT64_MAX: never */
    uint64_t shutdown_within_ns; /* the desc's; 0: no bound */
    uint64_t shutdown_ns;    /* when the signal was raised; UINT64_MAX: not yet */
    uint64_t shutdown_check_ns; /* when the overrun check is due; UINT64_MAX: none */
    sim_token shutdown_tok;  /* the world's shutdown token, owned by the world; made at the
                                first sim_shutdown_token (empty before) */
    bool end_checked;        /* the end-of-run checks have run */
    uint64_t cancel_at;      /* the desc's: abort at this cancellable await (1-based); 0 none */
    sim_ratio cancel_rate;   /* the desc's */
    const uint64_t *cancel_list; /* the desc's, borrowed: more awaits to abort at, increasing */
    uint32_t cancel_count;
    uint32_t cancel_next;    /* the first entry of cancel_list not yet passed */
    sim_rng cancel_rng;      /* "sim/cancel" */
    uint64_t cancel_points;  /* cancellable awaits so far */
    uint64_t branch_at;      /* the desc's: the other branch wins at this branch point */
    sim_ratio branch_rate;   /* the desc's */
    sim_rng branch_rng;      /* "sim/branch" */
    uint64_t branch_points;  /* branch points so far */

    /* extensions (net_sim, disk_sim, the fault state, the history): their operations and state */
    uint32_t ext_count;      /* extensions attached, in the order they attached */
    const sim__ext_ops *ext_ops[SIM__EXT_MAX];
    void *ext[SIM__EXT_MAX];

    /* trace hash: canonical event records are buffered and folded into XXH3 in blocks */
    void *hash_state;        /* XXH3_state_t */
    _Alignas(64) sim__record hash_buf[SIM__HASH_BUF_RECORDS];
    uint32_t hash_len;       /* records in hash_buf */
};

/* ---- shared internal functions ------------------------------------------------------------- */

static inline sim__task *sim__task_at(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(slot < w->tasks_used);
    return &w->tasks[slot];
}

void sim__fp_obj(sim_world *w, uint32_t slot);
static inline sim__obj *sim__obj_at(sim_world *w, uint32_t slot)
{
    SIM_ASSERT(slot < w->objs_used);
    if (w->fp_in_step) sim__fp_obj(w, slot);
    return &w->objs[slot];
}

/* A queue ring (oneshot, mpsc, and the window of a broadcast): what is queued fits the
 * capacity, the capacity fits the slots allocated, which are a power of two, and the head is
 * a slot. O(1): for assertions on hot paths. */
static inline bool sim__ring_ok(const sim__obj *c)
{
    return c->len <= c->cap && c->cap <= c->mask + 1 && ((c->mask + 1) & c->mask) == 0 &&
           c->head <= c->mask && c->buf != NULL && (c->ring_inline == (c->buf == c->small));
}

/* A task slot holds a live task: spawned, not finished, not being finished. */
static inline bool sim__task_live(const sim_world *w, uint32_t slot)
{
    return slot < w->tasks_used && w->tasks[slot].id != 0 &&
           w->tasks[slot].status == TASK_LIVE;
}
/* Records the misuse of calling `what` outside a task's poll function. */
void sim__not_in_task(sim_world *w, const char *what);

/* The running task's slot, or SIM__NIL after recording a misuse violation when `what` is
 * given (poll functions must run inside a task's poll, not in a drop). */
static inline uint32_t sim__require_task(sim_world *w, const char *what)
{
    if (w->current != SIM__NIL && w->dropping < 0) return w->current;
    if (what != NULL) sim__not_in_task(w, what);
    return SIM__NIL;
}

/* trace.c */
int sim__hash_init(sim_world *w);
void sim__hash_free(sim_world *w);
/* Folds the buffered records into the hash. */
void sim__hash_flush(sim_world *w);
/* Hands an event to the trace sink. */
void sim__emit_sink(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task, uint64_t a,
                    uint64_t b, const char *detail);

static inline uint64_t sim__le64(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return v;
#else
    return __builtin_bswap64(v);
#endif
}

static inline uint32_t sim__le32(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return v;
#else
    return __builtin_bswap32(v);
#endif
}

static inline uint16_t sim__le16(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return v;
#else
    return __builtin_bswap16(v);
#endif
}

/* footprint.c: what a step touched, for sim explore (see footprint.c's header). */
void sim__fp_add(sim_world *w, uint64_t key);
void sim__fp_event(sim_world *w, sim_event_kind kind, uint32_t task, uint64_t a);
void sim__fp_step_begin(sim_world *w, uint32_t slot);
void sim__fp_step_end(sim_world *w, uint32_t slot);

/* Whether this thread is a pool thread running one of w's jobs (host_exec.c). */
bool sim__host_on_pool_thread(const sim_world *w);

/* Appends an event's canonical record to the hash buffer, which has room. Only the loop's
 * thread emits: a host world's pool threads defer theirs (sim__host_defer). */
static inline void sim__record_put(sim_world *w, sim_event_kind kind, uint32_t node,
                                   uint32_t task, uint64_t a, uint64_t b)
{
    if (__builtin_expect(w->backend == SIM_BACKEND_HOST, 0)) {
        SIM_ASSERT(!sim__host_on_pool_thread(w));
    }
#ifndef SIM_NO_HASH /* a build for measuring what the hash costs (make bench); never shipped */
    SIM_ASSERT(w->hash_len < SIM__HASH_BUF_RECORDS);
    sim__record *r = &w->hash_buf[w->hash_len++];
    r->kind = sim__le16((uint16_t)kind);
    r->node = sim__le16((uint16_t)node);
    r->task = sim__le32(task);
    r->vtime_ns = sim__le64(w->now_ns);
    r->a = sim__le64(a);
    r->b = sim__le64(b);
#else
    (void)kind, (void)node, (void)task, (void)a, (void)b;
#endif
    w->stats.events++;
}

/* sim__emit when the hash buffer is full or a sink is set: flushes the buffer, appends the
 * record, hands the event to the sink. Returns SIM_OK (for sim__emit_ok's tail call). */
int sim__emit_slow(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task, uint64_t a,
                   uint64_t b, const char *detail);

/* Records one event: its canonical record goes to the hash buffer (always) and the event to
 * the sink (if any), and to the step's footprint while sim explore records one. Inline because
 * every step emits several; the common case (room in the buffer, no sink, no footprint) makes
 * no call. Returns SIM_OK, so that a function whose last act is an
 * event can end with it as a tail call and, making no other call, save no registers. */
static inline int sim__emit_ok(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task,
                               uint64_t a, uint64_t b, const char *detail)
{
    bool plain = w->hash_len < SIM__HASH_BUF_RECORDS && w->trace == NULL && !w->fp_in_step;
    if (__builtin_expect(plain, 1)) {
        sim__record_put(w, kind, node, task, a, b);
        return SIM_OK;
    }
    return sim__emit_slow(w, kind, node, task, a, b, detail);
}

static inline void sim__emit(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task,
                             uint64_t a, uint64_t b, const char *detail)
{
    (void)sim__emit_ok(w, kind, node, task, a, b, detail);
}

/* world.c */
/* Records a violation of (node, task) with its message (sim__violation's second half). */
void sim__violation_at(sim_world *w, sim_violation_kind kind, uint32_t node, uint32_t task,
                       const char *msg);
/* Records a violation and returns SIM_EMISUSE if a crash-mode drop is running. */
int sim__no_side_effects(sim_world *w, const char *what);

/* ---- host worlds (host_exec.c) ---- */
struct sim_node_desc;
/* Whether text is an IPv4 or IPv6 literal. */
bool sim__host_addr_valid(const char *text);
/* Sets a new node's host address and directory from its desc. */
void sim__host_node_init(sim_world *w, sim__node *n, const sim_node_desc *d);
/* Makes the loop and the pool of a host world (sim_world_new). sim_world_free stops the pools
 * first (running jobs are waited for, queued ones discarded), then drops the tasks (which close
 * the sockets the reactor watches), then frees the loop and the file table. */
void sim__host_world_init(sim_world *w);
void sim__host_jobs_stop(sim_world *w);
void sim__host_world_free(sim_world *w);
/* The host clock as the world's: ns since the world was made. */
uint64_t sim__host_clock(const sim_world *w);
/* The loop's idle phase on a host world (run.c's idle): waits for the next deadline, a socket
 * or a job. Returns 1 to go on, 0 when the run call should return SIM_OK. */
int sim__host_idle(sim_world *w, uint64_t until_ns, bool have_root);
/* Gathers ready sockets and finished jobs without waiting: a loop that always has a task to
 * run does this every SIM__HOST_IO_EVERY steps, so that I/O is not starved. */
#define SIM__HOST_IO_EVERY 64
void sim__host_poll_io(sim_world *w);
/* A host world's blocking job: hands it to a pool thread (pool.c's job_poll). */
void sim__host_job_submit(sim_world *w, uint32_t slot, sim_job_cb run, void *user, int32_t *rc,
                          bool *done);
/* Jobs submitted and not yet completed back on the loop. */
uint32_t sim__host_jobs_running(const sim_world *w);
/* On a pool thread of w: keeps an event (a note, or a violation: a = its kind, detail its
 * message; detail copied) with the running job, for the loop to emit as the job's when it
 * drains the job's completion, and returns true. Elsewhere false: the caller emits. */
bool sim__host_defer(sim_world *w, sim_event_kind kind, uint64_t a, uint64_t b,
                     const char *detail);
/* A host node crashes (sim_node_crash, before its tasks are dropped): its pool's running
 * jobs finish (the call waits for them), queued ones go, completions of its jobs are not
 * delivered (their notes and violations are emitted), and the files it opened close. */
void sim__host_node_crash(sim_world *w, uint32_t node);
/* Wakes the loop of a host world from any thread or a signal handler (no-op otherwise). */
void sim__host_kick(sim_world *w);


/* task.c */
/* Queues a woken task (or marks it woken while running, or parked while paused). Returns
 * SIM_OK, so that an operation ending with a wake-up can end with a tail call. */
int sim__wake_slow(sim_world *w, uint32_t slot);

/* Notes what the running task waits for, when a primitive returns SIM_PENDING (for the hang
 * report). At most SIM__WAITS_MAX per poll are kept; one more (a select of SIM_SELECT_MAX
 * branches under a timeout has five) marks the task TF_WAITS_LOST, and the report then adds
 * the description of the whole future, so that no branch goes unreported. */
static inline void sim__note_wait(sim_world *w, uint32_t kind, uint32_t x, uint64_t y)
{
    if (w->current == SIM__NIL || w->dropping >= 0) return;
    sim__task *t = &w->tasks[w->current];
    sim__wait *waits = w->task_waits[w->current].w;
    for (uint32_t i = 0; i < t->nwaits; i++) {
        if (waits[i].kind == kind && waits[i].x == x && waits[i].y == y) return;
    }
    if (t->nwaits >= SIM__WAITS_MAX) {
        t->flags |= TF_WAITS_LOST;
        return;
    }
    sim__wait *wt = &waits[t->nwaits++];
    wt->kind = kind;
    wt->x = x;
    wt->y = y;
}

/* Wakes (slot, id): a no-op for a stale id, a finished task, or one already queued. */
static inline void sim__wake(sim_world *w, uint32_t slot, uint32_t id)
{
    if (slot >= w->tasks_used) return;
    const sim__task *t = &w->tasks[slot];
    if (t->id != id || t->status != TASK_LIVE) return;
    if (t->flags & (TF_QUEUED | TF_WOKEN | TF_PARKED | TF_ABORT | TF_ENDING)) return;
    sim__wake_slow(w, slot);
}
/* sim__wake, returning SIM_OK: a send that ends with a wake-up makes it a tail call and
 * then needs no registers saved. */
static inline int sim__wake_ok(sim_world *w, uint32_t slot, uint32_t id)
{
    if (slot >= w->tasks_used) return SIM_OK;
    const sim__task *t = &w->tasks[slot];
    if (t->id != id || t->status != TASK_LIVE) return SIM_OK;
    if (t->flags & (TF_QUEUED | TF_WOKEN | TF_PARKED | TF_ABORT | TF_ENDING)) return SIM_OK;
    return sim__wake_slow(w, slot);
}
void sim__wake_current(sim_world *w);

/* Changes the kind of the last wait noted by the running task (a job's sleep is a job). */
void sim__note_wait_retag(sim_world *w, uint32_t kind);
/* Ends a live task (mode SIM__DROP_*): drops what it awaits, releases its handles, runs its
 * drop function, records the result and wakes its joiner. */
void sim__task_finish(sim_world *w, uint32_t slot, int result, int mode);
void sim__task_free_slot(sim_world *w, uint32_t slot);
int sim__task_alloc(sim_world *w, const sim__task_init *desc, uint32_t node, uint32_t *slot_out);
/* A join handle's await (the body of sim_join_wait; `what` names the caller in violations),
 * and the undoing of a pending one. */
int sim__join_await(sim_world *w, sim_join *j, const char *what);
void sim__join_unwait(sim_world *w, const sim_join *j);
/* Requests an abort (no effect on a finished, ending or started-job task). */
void sim__task_abort(sim_world *w, uint32_t slot);
/* The same for an abort the executor makes because an owner ended (a task set's members when
 * the set is released): not the user's side effect, so allowed in a crash-mode drop, where
 * sim__task_abort records a violation and does nothing. */
void sim__task_abort_released(sim_world *w, uint32_t slot);
void sim__task_init_hand_ops(sim_world *w);
/* sim_spawn of a detached task; its slot in *slot_out. */
int sim__spawn(sim_world *w, const sim_task_desc *desc, uint32_t *slot_out);
/* Emits the spawn event, fills the handle (NULL: detaches) and queues or parks the task. */
void sim__task_launch(sim_world *w, uint32_t slot, bool job, sim_join *out);
/* After a pending poll: a poll after a real wake (or the first) begins a new wait, and so
 * does a new first wait; only a spurious wake's re-poll that waits on the same thing keeps
 * "waiting since" (one comparison of 16 bytes). A server that received a message and waits
 * on the same channel again has waited since then, not since its first receive. */
static inline void sim__task_begin_wait(sim_world *w, uint32_t slot, bool spurious)
{
    static const sim__wait none;
    sim__task *t = sim__task_at(w, slot);
    sim__task_waits *tw = &w->task_waits[slot];
    const sim__wait *first = t->nwaits ? &tw->w[0] : &none;
    const sim__wait *prev = (t->flags & TF_WAIT_PREV) ? &tw->prev : &none;
    if (spurious && memcmp(first, prev, sizeof *first) == 0) return;
    tw->prev = *first;
    t->flags |= TF_WAIT_PREV;
    t->wait_since_ns = w->now_ns;
}
void sim__abort_push(sim_world *w, uint32_t slot);
void sim__aborts_process(sim_world *w);

/* sched.c */
int sim__sched_init(sim_world *w);
void sim__sched_free(sim_world *w);
/* Queues a task (the random and PCT strategies; sim__rq_push takes FIFO inline). */
int sim__rq_push_slow(sim_world *w, uint32_t slot);
/* Queues a runnable task. Inline for FIFO: every wake-up queues one. */
static inline int sim__rq_push(sim_world *w, uint32_t slot)
{
    if (w->sched.kind != SIM_SCHED_FIFO) return sim__rq_push_slow(w, slot);
    sim__task *t = sim__task_at(w, slot);
    SIM_ASSERT(t->status == TASK_LIVE);
    SIM_ASSERT(!(t->flags & (TF_QUEUED | TF_RUNNING)));
    t->flags |= TF_QUEUED;
    if (w->fp_in_step) w->fp_flags |= SIM__FP_ENQUEUED;
    t->rq = SIM__NIL;
    t->rq_prev = w->rq_tail;
    if (w->rq_tail != SIM__NIL) {
        w->tasks[w->rq_tail].rq = slot;
    } else {
        w->rq_head = slot;
    }
    w->rq_tail = slot;
    w->rq_len++;
    return SIM_OK;
}
void sim__rq_remove(sim_world *w, uint32_t slot);
/* Removes the head of the FIFO queue, which must not be empty. */
static inline uint32_t sim__rq_pop_fifo(sim_world *w)
{
    SIM_ASSERT(w->rq_len > 0 && w->sched.kind == SIM_SCHED_FIFO);
    uint32_t slot = w->rq_head;
    SIM_ASSERT(w->tasks[slot].rq_prev == SIM__NIL); /* the head has no predecessor */
    uint32_t next = w->tasks[slot].rq;
    w->rq_head = next;
    if (next != SIM__NIL) {
        w->tasks[next].rq_prev = SIM__NIL;
    } else {
        w->rq_tail = SIM__NIL;
    }
    w->rq_len--;
    SIM_ASSERT(w->tasks[slot].flags & TF_QUEUED);
    w->tasks[slot].flags &= ~(uint32_t)TF_QUEUED; /* TF_SPURIOUS is the poll's to consume */
    return slot;
}
/* Picks and removes the next task; SIM__NIL if none. May stop the run (divergence). Sets
 * *poll_b to the POLL event's b field (runnable count and forced flag). */
uint32_t sim__rq_pick_slow(sim_world *w, uint64_t *poll_b);
/* The same, inline for FIFO with no decision hook and no forced decisions (the common run):
 * the head, unforced. */
static inline uint32_t sim__rq_pick(sim_world *w, uint64_t *poll_b)
{
    if (w->sched.kind != SIM_SCHED_FIFO || w->decision_fn != NULL ||
        w->forced_next < w->forced_count) {
        return sim__rq_pick_slow(w, poll_b);
    }
    uint32_t n = w->rq_len;
    uint32_t slot = sim__rq_pop_fifo(w);
    if (n >= 2) w->stats.decisions++;
    *poll_b = (uint64_t)n << 2;
    return slot;
}
void sim__sched_on_spawn(sim_world *w, uint32_t slot);

/* timer.c */
void sim__timer_cancel(sim_world *w, uint32_t slot, uint32_t id);
void sim__timers_fire_due(sim_world *w);
/* Releases every timer still owned by a task; returns how many there were. */
uint32_t sim__timers_release_task(sim_world *w, uint32_t task_slot);
/* The earliest live deadline (cancelled entries at the top are discarded first); requires a
 * non-empty heap after discarding, see sim__timers_armed. */
uint64_t sim__timers_next(sim_world *w);
/* Timers armed and not cancelled. */
static inline uint32_t sim__timers_armed(const sim_world *w)
{
    return w->heap_len + w->tq_len - w->timers_cancelled;
}
/* Whether an entry (of a cancelled timer or not) is due. */
static inline bool sim__timers_due(const sim_world *w)
{
    return w->timer_next_ns <= w->now_ns;
}
/* Copies the entries of armed timers (sim__timers_armed of them) to out, in no order. */
void sim__timers_list(const sim_world *w, sim__heap_ent *out);
void sim__timers_free(sim_world *w);

/* waitq.c */
int sim__waiter_add(sim_world *w, uint32_t obj, uint32_t *slot_out, uint32_t *id_out);
void sim__waiter_remove(sim_world *w, uint32_t slot, uint32_t id, bool pass_on);
bool sim__waiter_valid(sim_world *w, uint32_t slot, uint32_t id);
/* The consistency of an object's wait queue (O(n), for SIM_ASSERT_SLOW). */
bool sim__waitq_ok(const sim_world *w, uint32_t obj);
bool sim__waiter_notified(sim_world *w, uint32_t slot, uint32_t id);
/* A notified waiter that could not proceed keeps its place but is owed nothing any more. */
void sim__waiter_unnotify(sim_world *w, uint32_t slot);
/* Wakes the first waiter of obj that is not yet notified. */
void sim__waitq_notify_one(sim_world *w, uint32_t obj);
void sim__waitq_notify_all(sim_world *w, uint32_t obj);
/* Drops every registration of a dead task; returns how many there were. */
uint32_t sim__waiters_release_task(sim_world *w, uint32_t task_slot);
/* Unlinks every waiter of an object that is going away. */
void sim__waitq_clear(sim_world *w, uint32_t obj);

/* hand.c */
uint32_t sim__world_tag_next(void);
/* A new handle record owned by the running task (else the node being booted, else the
 * world); *out is the user's handle. Never fails (out of memory is fatal). */
int sim__hand_new(sim_world *w, uint8_t kind, uint8_t ext, uint32_t target, uint32_t target_id,
                  sim_handle *out);
/* Records the misuse of a bad handle h (empty, another world's, stale) by `what`. */
void sim__hand_bad(sim_world *w, const char *what, const sim_handle *h)
    __attribute__((cold, noinline));
/* The record of a live handle of this kind, or SIM__NIL after recording a misuse violation
 * (when what is not NULL). Inline: every channel operation resolves one. */
static inline uint32_t sim__hand_slot(sim_world *w, const sim_handle *h, uint8_t kind,
                                      const char *what)
{
    if (h != NULL && h->world_ == w->tag && h->slot_ < w->hands_used && h->id_ != 0) {
        const sim__hand *r = &w->hands[h->slot_];
        if (r->id == h->id_ && r->kind == kind) return h->slot_;
    }
    if (what != NULL) sim__hand_bad(w, what, h);
    return SIM__NIL;
}
/* The same without a violation. */
uint32_t sim__hand_peek(const sim_world *w, const sim_handle *h, uint8_t kind);
/* For an explicit drop: the record, or SIM__NIL with no violation for a handle that was
 * already dropped or released with its owner (dropping is idempotent); another world's
 * handle, or one of another kind, is still a violation. */
uint32_t sim__hand_slot_to_drop(sim_world *w, const sim_handle *h, uint8_t kind,
                                const char *what);
void sim__hand_to_task(sim_world *w, uint32_t slot, uint32_t task);
void sim__hand_to_chan(sim_world *w, uint32_t slot, uint32_t chan);
/* Gives a record to whoever owns what is made now (the running task, else the node being
 * booted, else the world), as if it had just been made. */
void sim__hand_to_default(sim_world *w, uint32_t slot);
/* Moves the handles a spawn desc lists to the new task; SIM_EMISUSE for a bad one. */
int sim__hand_moves(sim_world *w, const void *const *moves, const void *src, size_t size,
                    uint32_t task);
/* Releases one record as its owner's end does. */
void sim__hand_release(sim_world *w, uint32_t slot);
void sim__hands_release_task(sim_world *w, uint32_t task);
void sim__hands_release_node(sim_world *w, uint32_t node);
void sim__hands_free(sim_world *w);

/* fut.c */
/* Drops what a task's coroutine awaits (the state begins with a sim_co). */
void sim__co_drop_task(sim_world *w, sim_co *co);
/* A fresh awaitable copied into a block of the world's allocator (a combinator's branch). */
sim_fut *sim__fut_box(sim_world *w, const void *fut, size_t size);
/* Drops a boxed future (unless it completed) and frees its block. */
void sim__fut_unbox(sim_world *w, sim_fut *f, size_t size);

/* obj.c */
int sim__obj_alloc(sim_world *w, uint8_t type, uint32_t *slot_out);
void sim__obj_release(sim_world *w, uint32_t slot);
/* Resolves a handle: the object slot if (slot, id) is a live object of that type whose tx
 * (or rx) id matches, else SIM__NIL. Ids are unique across objects and 0 only when free. */
static inline uint32_t sim__obj_lookup(const sim_world *w, uint32_t slot, uint32_t id,
                                       uint8_t type, bool rx)
{
    if (id == 0 || slot >= w->objs_used) return SIM__NIL;
    const sim__obj *o = &w->objs[slot];
    if ((rx ? o->rx_id : o->tx_id) != id || o->type != type) return SIM__NIL;
    /* A lookup is a read of the object: the footprint is bookkeeping outside the world's
     * state proper, hence the cast. */
    if (w->fp_in_step) sim__fp_obj((sim_world *)(uintptr_t)w, slot);
    return slot;
}
void sim__objs_free(sim_world *w);

/* chan.c */
void sim__chan_ring_free(sim_world *w, sim__obj *c);
void sim__chan_init_hand_ops(sim_world *w);

/* token.c, sync.c, taskset.c */
void sim__token_init_hand_ops(sim_world *w);
void sim__sync_init_hand_ops(sim_world *w);
void sim__set_init_hand_ops(sim_world *w);
/* A member of a task set finished: queue it for sim_task_set_next (or free it when the set is
 * gone). */
void sim__set_member_done(sim_world *w, uint32_t slot);

/* timer.c: the timer of a sleep, for the awaitables and internal waits built on one. */
/* Pending until deadline_ns (arming a timer owned by the running task the first time), then
 * SIM_OK with the timer released. SIM_ELIMIT when no timer can be armed. */
int sim__sleep_poll(sim_world *w, uint64_t deadline_ns, uint32_t *slot, uint32_t *id);
/* Disarms the timer if it is armed. */
void sim__sleep_cancel(sim_world *w, uint32_t *slot, uint32_t *id);

/* node.c */
/* The live tasks of a node, or of every node when node is SIM__NIL, in spawn order: a scan
 * of the task table, for the rare events that need it (crash, pause, resume, world free,
 * reports). Returns a malloc'd array of *n refs (NULL when *n is 0). */
sim__ref *sim__tasks_of(const sim_world *w, uint32_t node, uint32_t *n);
void sim__nodes_free(sim_world *w);

/* run.c */
void sim__stop(sim_world *w, int rc);

/* report.c */
void sim__report_build(sim_world *w, int rc);

/* run.c */
/* Appends a checkpoint unless the last one is at the same point. */
void sim__checkpoint(sim_world *w);

/* ledger.c */
/* Voids (or, for SIM_OBLIGE_SURVIVES_CRASH, reports) the pending obligations of a crashed
 * node. */
void sim__ledger_crash(sim_world *w, uint32_t node);
/* The run's end: every pending obligation is a violation. */
void sim__ledger_end(sim_world *w);
void sim__ledger_free(sim_world *w);

/* oracle.c */
void sim__oracle_init(sim_world *w, const sim_world_desc *d);
/* The earliest time the oracles need the clock to stop at (the signal, the overrun check);
 * UINT64_MAX for none. */
static inline uint64_t sim__oracle_next(const sim_world *w)
{
    return w->shutdown_at_ns < w->shutdown_check_ns ? w->shutdown_at_ns : w->shutdown_check_ns;
}
/* Raises the signal or makes the overrun check when its time has come. */
void sim__oracle_due(sim_world *w);
/* The end-of-run checks (once, when sim_world_run ends with SIM_OK). */
void sim__oracle_end(sim_world *w);
/* sim__oracle_pending's counted cancellation point k: the hook, the chosen abort, the list,
 * the rate, the fault plan's hook. */
void sim__oracle_point(sim_world *w, uint32_t slot, uint64_t k);
/* A task just returned SIM_PENDING: a cancellation point if someone could abort it. Inline:
 * every pending poll counts one, and mostly nothing else happens. */
static inline void sim__oracle_pending(sim_world *w, uint32_t slot)
{
    const sim__task *t = sim__task_at(w, slot);
    SIM_ASSERT(t->status == TASK_LIVE);
    if (t->flags & (TF_JOB | TF_ROOT | TF_ABORT | TF_ENDING)) return;
    if ((t->flags & TF_DETACHED) && !(t->flags & TF_INSET)) return;
    uint64_t k = ++w->cancel_points;
    if (w->point_fn == NULL && k != w->cancel_at && w->cancel_rate.p == 0 &&
        w->cancel_fn == NULL && w->cancel_next >= w->cancel_count) {
        return;
    }
    sim__oracle_point(w, slot, k);
}
/* A branch point (a select of two or more branches, or a timeout before its deadline, polled
 * by the running task; `what` names it for the event): true when the other branch is to win
 * here (desc.branch_at or branch_rate). */
bool sim__oracle_branch(sim_world *w, const char *what);
/* A task with an error result lost its last chance of being collected (detached, handle
 * released unawaited). */
void sim__oracle_uncollected(sim_world *w, uint32_t slot, const char *how);
/* A receiver was dropped with n messages queued. */
void sim__oracle_unread(sim_world *w, uint32_t chan, uint32_t n);

#endif /* SIM_EXEC_H */
