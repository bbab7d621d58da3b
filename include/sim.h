/*
 * sim.h: the public interface of sim, a deterministic simulation and testing harness for
 * asynchronous C programs.
 *
 * One seed drives a single-threaded executor with a virtual clock. Systems under test are
 * written as stackless futures (a poll function, a state block and a drop function) and run
 * as tasks on simulated nodes, which can crash, restart and pause. Every executor event feeds
 * a rolling hash, so two runs of the same binary with the same seed can be compared bit for
 * bit, and every event can be handed to a trace sink.
 *
 * Read this header top to bottom: result codes, scalar and id types, assertions, random
 * streams, the world, tracing, coroutines and futures, tasks, nodes, time, channels,
 * cancellation tokens, combinators and the blocking pool. Each group opens with its
 * ownership rules. docs/api.md is the guided tour.
 *
 * Conventions that hold everywhere:
 * - Fallible calls return int: SIM_OK (0) or a negative SIM_E... code. Handle and id
 *   out-parameters are zeroed on failure; message buffers are written only on SIM_OK.
 *   Predicates return bool.
 * - Poll functions return SIM_PENDING (a positive value) while not finished, and a result
 *   (SIM_OK or a negative code) once, when they complete.
 * - Misuse of the API returns SIM_EMISUSE and records a violation in the world; a harness bug
 *   is an assertion; a simulated fault is an ordinary result code the caller must handle.
 * - Running out of host memory is not a result: it is a host event, and turning it into one
 *   would make a run's outcome depend on the machine. sim prints what it was allocating and
 *   the running world's seed, virtual time, step and replay command, then aborts (`sim run
 *   --jobs N` reports that seed as a crash and goes on). Deterministic limits (max_objects,
 *   a disk's capacity, the checker's bounds) remain results. SIM_ENOMEM keeps its value in
 *   the table; only executor calls that still document it return it.
 * - Every pointer parameter is borrowed for the duration of the call unless its comment says
 *   "copied" or "transferred".
 * - Zero-initialised *_desc structs mean "all defaults".
 * - Nothing depends on addresses, the host clock or libc randomness: the same binary, inputs
 *   and seed give the same events.
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIM_VERSION_MAJOR 0
#define SIM_VERSION_MINOR 1
#define SIM_VERSION_PATCH 0
#define SIM_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------------------------ */
/* Result codes                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* One table gives the enum, sim_result_name() and sim_result_str(). Values are stable: new
 * codes are appended, never renumbered, because traces store them. */
#define SIM_RESULT_TABLE(X)                                                                        \
    X(SIM_OK, 0, "success")                                                                        \
    X(SIM_EMISUSE, -1, "API misuse (recorded as a violation)")                                     \
    X(SIM_EINVAL, -2, "invalid argument")                                                          \
    X(SIM_ENOMEM, -3, "out of memory")                                                             \
    X(SIM_ELIMIT, -4, "a configured limit was reached")                                            \
    X(SIM_ECANCELED, -5, "canceled (task aborted or future dropped)")                              \
    X(SIM_ECRASHED, -6, "the task's node crashed")                                                 \
    X(SIM_ECLOSED, -7, "channel closed: the other side is gone")                                   \
    X(SIM_EFULL, -8, "channel full")                                                               \
    X(SIM_EEMPTY, -9, "channel empty")                                                             \
    X(SIM_ELAGGED, -10, "broadcast receiver lagged and skipped messages")                          \
    X(SIM_ETIMEDOUT, -11, "timed out")                                                             \
    X(SIM_EDEADLOCK, -12, "deadlock: nothing can run, no timer pending, work unfinished")          \
    X(SIM_ETIMELIMIT, -13, "virtual time limit reached with work unfinished")                      \
    X(SIM_ESTEPLIMIT, -14, "step limit reached with work unfinished")                              \
    X(SIM_EDIVERGED, -15, "replay diverged from the forced decisions")                             \
    X(SIM_ESTOPPED, -16, "the run was stopped")                                                    \
    X(SIM_ENODE, -17, "no such node, or the node is not in the required state")                    \
    X(SIM_EADDRINUSE, -18, "address already in use")                                               \
    X(SIM_ECONNREFUSED, -19, "connection refused: nothing listens there")                          \
    X(SIM_ECONNRESET, -20, "connection reset")                                                     \
    X(SIM_ETOOBIG, -21, "message or frame larger than the limit")                                  \
    X(SIM_EEOF, -22, "the stream ended before the expected bytes")                                 \
    X(SIM_ENOENT, -23, "no such file")                                                             \
    X(SIM_EEXIST, -24, "the file exists")                                                          \
    X(SIM_EIO, -25, "I/O error")                                                                   \
    X(SIM_ENOSPC, -26, "no space left on the disk")                                                \
    X(SIM_EBADF, -27, "bad file handle: closed, or its node crashed")                              \
    X(SIM_EUNKNOWN, -28, "unknown: a check reached its bound before a verdict")                    \
    X(SIM_ESIMONLY, -29, "only a simulated world can do this: refused on a host world")

typedef enum sim_result {
#define SIM__RESULT_ENUM(name, value, text) name = (value),
    SIM_RESULT_TABLE(SIM__RESULT_ENUM)
#undef SIM__RESULT_ENUM
} sim_result;

/* Returned by poll functions that have not finished. Positive, so it never collides with a
 * result code. */
#define SIM_PENDING 1

/* "SIM_ECLOSED" for -7; "SIM_PENDING" for SIM_PENDING; "SIM_E?" for an unknown code. */
const char *sim_result_name(int rc);
/* A short sentence for the code, for messages. */
const char *sim_result_str(int rc);

/* ------------------------------------------------------------------------------------------ */
/* Scalars and ids                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Virtual time is uint64_t nanoseconds since the start of the world. */
#define SIM_NS ((uint64_t)1)
#define SIM_US ((uint64_t)1000)
#define SIM_MS ((uint64_t)1000000)
#define SIM_S ((uint64_t)1000000000)
/* The longest duration a scenario file, --set or sim demo may give: 87600h, ten years of
 * virtual time, and far below the 584 years 2^64 ns can count, so that the clock plus a few
 * such durations cannot wrap. Deadlines the library makes from a time and a duration of any
 * size saturate at UINT64_MAX ("never") besides. */
#define SIM_DURATION_MAX ((uint64_t)87600 * 3600 * SIM_S)

/* An integer probability p/q. {0, 0} and {0, q} mean "never"; p >= q means "always". */
typedef struct sim_ratio {
    uint32_t p; /* numerator */
    uint32_t q; /* denominator; 0 is read as "never" */
} sim_ratio;

/* A task: the spawn number within its world (1, 2, 3, ...), never reused. 0 = none. */
typedef struct sim_task_id {
    uint32_t v;
} sim_task_id;

/* A node: its index + 1 in the order nodes were added. 0 = none (a world-level task). A node
 * keeps its id across crashes and restarts. */
typedef struct sim_node_id {
    uint32_t v;
} sim_node_id;

/* ------------------------------------------------------------------------------------------ */
/* Assertions                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* SIM_ASSERT is on in every build. On failure it prints the expression, file and line, and,
 * when a world is running on this thread, its seed, virtual time, step, current task and the
 * command that replays the run; then it aborts. Systems under test may use it too. */
#define SIM_ASSERT(cond)                                                                           \
    ((cond) ? (void)0 : sim_assert_fail(__FILE__, __LINE__, #cond))

/* O(n) checks, compiled in only when SIM_SLOW_CHECKS is defined (make check). */
#ifdef SIM_SLOW_CHECKS
#define SIM_ASSERT_SLOW(cond) SIM_ASSERT(cond)
#else
#define SIM_ASSERT_SLOW(cond) ((void)0)
#endif

_Noreturn void sim_assert_fail(const char *file, int line, const char *expr);

/* ------------------------------------------------------------------------------------------ */
/* Random streams                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* xoshiro256** seeded through splitmix64. A stream is derived from (seed, name, index), so a
 * module that draws more or fewer numbers never shifts another module's stream. Integer API
 * only: there are no floats in any decision. The struct is caller storage. */
typedef struct sim_rng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} sim_rng;

/* Derives the stream (seed, name, index). name is borrowed; "" is allowed. */
void sim_rng_init(sim_rng *rng, uint64_t seed, const char *name, uint64_t index);
/* The next 64 uniformly distributed bits. */
uint64_t sim_rng_next(sim_rng *rng);
/* Uniform in [0, n) without modulo bias; n must be > 0. */
uint64_t sim_rng_below(sim_rng *rng, uint64_t n);
/* Uniform in [lo, hi], inclusive; lo <= hi. */
uint64_t sim_rng_range(sim_rng *rng, uint64_t lo, uint64_t hi);
/* True with probability r.p / r.q (exactly, as integers). Draws one number unless the ratio
 * is "never" or "always", in which case it draws nothing. */
bool sim_rng_ratio(sim_rng *rng, sim_ratio r);

/* A 64-bit hash of len bytes (XXH3 with the seed), the same on every machine and in every
 * run: for systems' checksums (a log record's) and hash tables. Hash bytes, never pointers. */
uint64_t sim_hash(const void *data, size_t len, uint64_t seed);

/* ------------------------------------------------------------------------------------------ */
/* The world                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* A world owns everything of one run: seed, clock, executor, nodes, channels and the trace
 * hash. There are no globals: several worlds may exist in one process, but a world is used by
 * one thread at a time. */
typedef struct sim_world sim_world;

/* Scheduling strategies: how the executor picks the next task among the runnable ones. */
typedef enum sim_sched_kind {
    SIM_SCHED_RANDOM = 0, /* uniform among runnable tasks (the default) */
    SIM_SCHED_FIFO = 1,   /* in the order tasks became runnable; seed-independent */
    SIM_SCHED_PCT = 2,    /* probabilistic concurrency testing (Burckhardt et al. 2010) */
} sim_sched_kind;

typedef struct sim_sched {
    sim_sched_kind kind;
    uint32_t pct_depth;  /* PCT: bug depth d >= 1 (d - 1 priority change points); 0 = 3 */
    uint64_t pct_steps;  /* PCT: expected run length k in steps; 0 = 10000;
                            SIM_PCT_STEPS_AUTO = estimated (scenarios) */
} sim_sched;

/* pct_steps "auto" ("pct:D:auto"): a scenario run first runs its seed under fifo and takes
 * that run's length as k (the same seed gives the same k, so replays agree). A world made
 * from C with it uses 10000. */
#define SIM_PCT_STEPS_AUTO UINT64_MAX

/* Parses "fifo", "random", "pct", "pct:D", "pct:D:K" or "pct:D:auto". On error returns
 * SIM_EINVAL and writes a message naming the valid forms into err (err may be NULL). */
int sim_sched_parse(const char *text, sim_sched *out, char *err, size_t err_size);
/* Writes the canonical text of a strategy ("pct:3:10000"). Returns SIM_EINVAL if it does not
 * fit. */
int sim_sched_format(const sim_sched *sched, char *buf, size_t size);

/* A forced scheduling decision: at step `step`, run task `task`. Used by replay and shrinking
 * to override what the strategy would pick. */
typedef struct sim_decision {
    uint64_t step;
    sim_task_id task;
} sim_decision;

typedef struct sim_event sim_event;

/* Receives every event, in order. The sink must not call back into the world except through
 * the const accessors (sim_now, sim_world_step, sim_task_name, ...) and sim_world_stop (to
 * abandon a run, e.g. on Ctrl-C): observing never perturbs the run. ud comes first. */
typedef void (*sim_trace_cb)(void *ud, const sim_event *event);

/* Where a world runs. A simulated world is deterministic; a host world is not (see "Host
 * worlds" below). */
typedef enum sim_backend {
    SIM_BACKEND_SIM = 0,  /* the simulator: virtual clock, net_sim, disk_sim (the default) */
    SIM_BACKEND_HOST = 1, /* the host: epoll, the monotonic clock, TCP/UDP, files, pthreads */
} sim_backend;

/* The largest max_timers a world accepts (the timer heap packs a timer's slot in 24 bits). */
#define SIM_MAX_TIMERS_LIMIT ((uint32_t)1 << 23)

typedef struct sim_world_desc {
    uint64_t seed;              /* the one seed of the run */
    sim_sched sched;            /* zero = random */
    uint64_t time_limit_ns;     /* stop with SIM_ETIMELIMIT past this virtual time; 0 = none */
    uint64_t step_limit;        /* stop with SIM_ESTEPLIMIT after this many polls; 0 = 1e9 */
    uint32_t checkpoint_every;  /* steps between checkpoint hashes; 0 = 1024 */
    sim_ratio spurious_wakeups; /* per step: wake one random pending task spuriously; 0 = off */
    uint32_t max_tasks;         /* live tasks at once; 0 = 1 << 22 */
    uint32_t max_timers;        /* armed timers at once; 0 = 1 << 22; at most
                                   SIM_MAX_TIMERS_LIMIT (1 << 23), else SIM_EINVAL */
    uint32_t max_objects;       /* live channels, receivers and tokens; 0 = 1 << 20 */
    uint64_t check_max_steps;   /* sim_world_check's bound, in steps of the linearizability
                                   search for the whole check (sim_check_desc.max_steps);
                                   0 = SIM_CHECK_WORLD_MAX_STEPS; UINT64_MAX = no bound */
    uint64_t check_max_memory;  /* sim_world_check's memory limit in bytes, counted as the
                                   checker allocates (sim_check_desc.max_memory); 0 = its
                                   default, 2 GiB */
    /* End-of-run oracles and shutdown (see "Shutdown and end-of-run oracles"). */
    uint32_t oracles;           /* SIM_ORACLE_* bits: the oracles to run; 0 =
                                   SIM_ORACLES_DEFAULT; SIM_ORACLE_NONE: none */
    uint64_t shutdown_at_ns;    /* raise the shutdown signal at this virtual time; 0 = never
                                   (a system may raise it itself) */
    uint64_t shutdown_within_ns; /* after the signal, every node's tasks must be gone within
                                   this; 0 = no bound */
    /* Cancellation (see "Cancellation as a strategy"). */
    uint64_t cancel_at;         /* abort the task that reaches the run's cancel_at-th await
                                   (1-based, counting cancellable awaits); 0 = none */
    sim_ratio cancel_rate;      /* per cancellable await: abort the task; 0 = never */
    uint64_t branch_at;         /* at the run's branch_at-th branch point (1-based: a poll of
                                   a select of two or more branches, or of a timeout before
                                   its deadline), make the other branch win; 0 = none */
    sim_ratio branch_rate;      /* per branch point: make the other branch win; 0 = never */
    const sim_decision *forced; /* borrowed for the world's life; sorted by step; may be NULL */
    uint32_t forced_count;
    bool forced_lenient;        /* a forced decision whose task is not runnable at its step is
                                   skipped (the strategy chooses) instead of stopping the run
                                   with SIM_EDIVERGED: a scripted schedule ([schedule] force)
                                   that a changed run no longer fits */
    const uint64_t *cancel_list; /* borrowed for the world's life: abort the task at each of
                                   these cancellable awaits (as cancel_at does), strictly
                                   increasing; may be NULL */
    uint32_t cancel_count;
    const char *replay_hint;    /* copied; printed by failed assertions and reports, e.g.
                                   "sim replay --scenario x.ini --seed 7"; NULL = generic */
    sim_trace_cb trace;         /* optional event sink */
    void *trace_ud;
    /* The backend (see "Host worlds"): SIM_BACKEND_SIM (0), the simulator, or
     * SIM_BACKEND_HOST, the same API on the host's clock, sockets, files and threads. */
    sim_backend backend;
    const char *host_dir;       /* host worlds: copied; a node's files live in host_dir/NAME/
                                   (created as needed) unless its desc says; NULL = "." */
} sim_world_desc;

/* Creates a world at virtual time 0. Errors: SIM_EINVAL (bad strategy or limits). */
int sim_world_new(const sim_world_desc *desc, sim_world **out);
/* Drops every remaining task (in crash mode: memory only, no side effects), releases every
 * channel and frees the world. NULL is allowed. Must not be called from inside a task. */
void sim_world_free(sim_world *w);

/* Runs until every non-daemon task has finished (SIM_OK), or the run stops: SIM_EDEADLOCK,
 * SIM_ETIMELIMIT, SIM_ESTEPLIMIT, SIM_EDIVERGED or SIM_ESTOPPED (sim_world_stop). A stopped
 * run stays stopped: later calls return the same code. From inside a task: SIM_EMISUSE. */
int sim_world_run(sim_world *w);
/* Like sim_world_run, but also returns SIM_OK once virtual time would pass `until_ns`; the
 * clock is then exactly until_ns and tasks remain, so the call can be repeated. */
int sim_world_run_until(sim_world *w, uint64_t until_ns);
/* Like sim_world_run, but also returns SIM_OK once `step` steps have been taken (the clock
 * and the tasks are then as they were right after that step), so that a replay can stop and
 * look (sim_world_dump). */
int sim_world_run_to_step(sim_world *w, uint64_t step);
/* Asks the run to stop after the current step; sim_world_run then returns SIM_ESTOPPED. Safe
 * to call from a signal handler (it only sets a flag) and from a trace sink. */
void sim_world_stop(sim_world *w);

/* The virtual clock. Inside a blocking-pool job, the job's own clock (see sim_job_charge). */
uint64_t sim_now(const sim_world *w);
uint64_t sim_world_seed(const sim_world *w);
/* Steps taken so far (one step = one poll of one task). */
uint64_t sim_world_step(const sim_world *w);
/* The rolling XXH3 hash over the canonical encoding of every event so far. Two runs agree iff
 * their hashes agree. Always on; never perturbs the run. */
uint64_t sim_world_trace_hash(const sim_world *w);
/* Events so far (each one folded into the hash). */
uint64_t sim_world_event_count(const sim_world *w);
/* Derives a random stream from the world's seed for a system under test, e.g.
 * sim_world_rng(w, "sut/kv/workload", 0, &rng). The executor's own streams use the "sim/"
 * prefix. */
void sim_world_rng(const sim_world *w, const char *name, uint64_t index, sim_rng *out);
/* Copies str into the world and returns the copy, which lives as long as the world; for task
 * and node names that are not string literals. NULL on allocation failure. */
const char *sim_world_intern(sim_world *w, const char *str);

/* The report of the last stop (deadlock, limit, divergence): every unfinished task, what it
 * awaits and since when. "" when the run has not stopped abnormally. Owned by the world. */
const char *sim_world_report(const sim_world *w);

/* Checkpoints: the trace hash every checkpoint_every steps (taken before the next step
 * starts) and once more when a run call returns. Two runs that agree up to a checkpoint agree
 * on every event before it, so comparing checkpoints locates a divergence to within
 * checkpoint_every steps without storing events. */
typedef struct sim_checkpoint {
    uint64_t step;    /* steps taken */
    uint64_t events;  /* events emitted */
    uint64_t hash;    /* sim_world_trace_hash at that point */
} sim_checkpoint;

uint32_t sim_world_checkpoint_count(const sim_world *w);
/* The i-th checkpoint (0-based, in step order) or NULL. Owned by the world. */
const sim_checkpoint *sim_world_checkpoint(const sim_world *w, uint32_t i);

/* Describes the world now: clock, step, nodes, every unfinished task with what it awaits, and
 * the armed timers in firing order (the first 50). Owned by the world; valid until the next
 * call. For replay --dump. */
const char *sim_world_dump(sim_world *w);

typedef struct sim_stats {
    uint64_t steps;         /* polls, including spurious ones */
    uint64_t spawns;        /* tasks and jobs spawned (and sim_block_on's root tasks) */
    uint64_t wakes;         /* wake-ups that queued a task */
    uint64_t decisions;     /* choices among two or more runnable tasks */
    uint64_t timers_fired;
    uint64_t events;        /* events folded into the trace hash */
    uint32_t tasks_live;    /* tasks not yet freed (including finished, unjoined ones) */
    uint32_t timers_armed;
    uint32_t objects_live;  /* channels, receivers and tokens */
    uint32_t violations;
} sim_stats;

void sim_world_stats(const sim_world *w, sim_stats *out);

/* Violations: misuse of the API and broken rules (nested block_on, side effects in a crash
 * drop, leaked registrations). They do not stop the run by themselves; a run with violations
 * should be treated as failed. */
#define SIM_VIOLATION_TABLE(X)                                                                     \
    X(SIM_VIOLATION_MISUSE, 1, "misuse")                                                           \
    X(SIM_VIOLATION_NESTED_BLOCK_ON, 2, "nested block_on")                                         \
    X(SIM_VIOLATION_CRASH_SIDE_EFFECT, 3, "side effect in crash drop")                             \
    X(SIM_VIOLATION_LEAK, 4, "leak")                                                               \
    X(SIM_VIOLATION_DIVERGED, 5, "diverged")                                                       \
    X(SIM_VIOLATION_OBLIGATION, 6, "obligation")                                                   \
    X(SIM_VIOLATION_UNREAD, 7, "unread messages")                                                  \
    X(SIM_VIOLATION_UNCOLLECTED, 8, "uncollected error")                                           \
    X(SIM_VIOLATION_SHUTDOWN, 9, "shutdown overrun")

typedef enum sim_violation_kind {
#define SIM__VIOLATION_ENUM(name, value, text) name = (value),
    SIM_VIOLATION_TABLE(SIM__VIOLATION_ENUM)
#undef SIM__VIOLATION_ENUM
} sim_violation_kind;

typedef struct sim_violation {
    sim_violation_kind kind;
    uint64_t step;
    uint64_t vtime_ns;
    sim_task_id task;    /* the task that caused it, or 0 */
    const char *message; /* owned by the world */
} sim_violation;

const char *sim_violation_kind_name(sim_violation_kind kind);
uint32_t sim_world_violation_count(const sim_world *w);
/* The i-th violation (0-based) or NULL when i is out of range. Owned by the world. */
const sim_violation *sim_world_violation(const sim_world *w, uint32_t i);

/* ------------------------------------------------------------------------------------------ */
/* Tracing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Every executor event, with the meaning of its a and b fields. Values are stable (traces
 * store them); new kinds are appended. */
#define SIM_EVENT_TABLE(X)                                                                         \
    X(SIM_EV_SPAWN, 1, "spawn", "a=parent task, b=1 if a blocking job")                            \
    X(SIM_EV_POLL, 2, "poll",                                                                      \
      "a=polls of this task so far, b=runnable tasks << 2 | forced << 1 | spurious")               \
    X(SIM_EV_WAKE, 3, "wake", "a=waking task (0: timer or outside), b=0")                          \
    X(SIM_EV_COMPLETE, 4, "complete", "a=result code, b=output")                                   \
    X(SIM_EV_ABORT, 5, "abort", "a=aborting task, b=0")                                            \
    X(SIM_EV_DROP, 6, "drop", "a=drop mode, b=0")                                                  \
    X(SIM_EV_TIMER_SET, 7, "timer-set", "a=deadline ns, b=timer sequence")                         \
    X(SIM_EV_TIMER_FIRE, 8, "timer-fire", "a=deadline ns, b=timer sequence")                       \
    X(SIM_EV_CRASH, 10, "crash", "a=tasks dropped, b=boot count")                                  \
    X(SIM_EV_RESTART, 11, "restart", "a=boot count, b=0")                                          \
    X(SIM_EV_PAUSE, 12, "pause", "a=0, b=0")                                                       \
    X(SIM_EV_RESUME, 13, "resume", "a=tasks released, b=0")                                        \
    X(SIM_EV_JOB_START, 14, "job-start", "a=busy workers, b=end time ns")                          \
    X(SIM_EV_VIOLATION, 15, "violation", "a=violation kind, b=0")                                  \
    X(SIM_EV_STOP, 16, "stop", "a=result code, b=0")                                               \
    X(SIM_EV_NODE_ADD, 17, "node-add", "a=pool workers, b=0")                                      \
    X(SIM_EV_NOTE, 18, "note", "a=XXH3-64 of the data, b=its length in bytes")                     \
    X(SIM_EV_FAULT, 19, "fault", "a=hit of the point, b=action | point id << 8")                   \
    X(SIM_EV_NET_SEND, 20, "net-send", "a=src << 32 | dst, b=message (SIM_NET_MSG)")               \
    X(SIM_EV_NET_DELIVER, 21, "net-deliver", "a=src << 32 | dst, b=message")                       \
    X(SIM_EV_NET_DROP, 22, "net-drop", "a=src << 32 | dst, b=message, with the reason")            \
    X(SIM_EV_NET_DUP, 23, "net-dup", "a=src << 32 | dst, b=message (the copy)")                    \
    X(SIM_EV_NET_RESET, 24, "net-reset", "a=local << 32 | remote, b=reason")                       \
    X(SIM_EV_NET_LINK, 25, "net-link", "a=from node << 32 | to node, b=change")                    \
    X(SIM_EV_DISK_OP, 26, "disk-op", "a=file << 40 | offset, b=op << 56 | error << 48 | len")      \
    X(SIM_EV_DISK_CRASH, 27, "disk-crash",                                                         \
      "a=file << 40 | offset, b=outcome<<56 | kind<<48 | len")                                     \
    X(SIM_EV_HISTORY, 28, "history", "a=operation << 32 | process, b=hash32 << 32 | type")      \
    X(SIM_EV_OBLIGE, 29, "oblige", "a=obligation id, b=flags")                                     \
    X(SIM_EV_DISCHARGE, 30, "discharge", "a=obligation id, b=0 first, 1 again, 2 voided (crash)") \
    X(SIM_EV_SHUTDOWN, 31, "shutdown", "a=deadline ns (0: none), b=0")                             \
    X(SIM_EV_CANCEL, 32, "cancel", "a=await or branch point number, b=1 by rate | 2 branch")

/* A POLL event is also the record of the scheduling decision that chose the task: b says how
 * many tasks were runnable (a choice among two or more is a decision) and whether a replay
 * forced it. Kind 9 is retired. */
/* Net events pack addresses as node << 16 | port (32 bits each) and a message as its type
 * (SIM_NET_DGRAM, ...) << 56 | a drop reason (SIM_NET_WHY_*) << 48 | length << 32 | the low
 * 32 bits of XXH3-64 of its bytes. */
#define SIM_EV_NET_TYPE(b) ((uint32_t)((b) >> 56))
#define SIM_EV_NET_WHY(b) ((uint32_t)((b) >> 48) & 0xff)
#define SIM_EV_NET_LEN(b) ((uint32_t)((b) >> 32) & 0xffff)
#define SIM_EV_NET_DIGEST(b) ((uint32_t)(b))

#define SIM_EV_POLL_RUNNABLE(b) ((b) >> 2)
#define SIM_EV_POLL_FORCED(b) (((b) >> 1) & 1)
#define SIM_EV_POLL_SPURIOUS(b) ((b)&1)

typedef enum sim_event_kind {
#define SIM__EVENT_ENUM(name, value, text, fields) name = (value),
    SIM_EVENT_TABLE(SIM__EVENT_ENUM)
#undef SIM__EVENT_ENUM
} sim_event_kind;

struct sim_event {
    uint64_t step;        /* the step during or after which it happened */
    uint64_t vtime_ns;    /* virtual time */
    sim_event_kind kind;
    sim_node_id node;     /* node of the task, or the node acted on; 0 = none */
    sim_task_id task;     /* the task concerned; 0 = none */
    uint64_t a;           /* kind-specific, see SIM_EVENT_TABLE */
    uint64_t b;
    const char *detail;   /* names and messages; NULL if none. Valid during the callback. Not
                             part of the trace hash. */
};

/* Folds data the system cares about into the trace: a NOTE event carrying the XXH3 hash of
 * the bytes and their length, with `label` (borrowed, not hashed) as its detail. Executor
 * events record who ran and when, not what was computed; noting results (a reply's value, a
 * read's bytes) makes two runs that compute different data differ in hash too, so that
 * check-determinism and replay see it, and `sim show --kind note` shows where. Costs one
 * event. Allowed anywhere a world is in hand, including outside a task. */
void sim_trace_note(sim_world *w, const char *label, const void *data, size_t len);

/* "spawn", "poll", ...; "?" for an unknown kind. */
const char *sim_event_kind_name(sim_event_kind kind);
/* What a kind's a and b fields hold ("a=parent task, b=1 if a blocking job"); "" if unknown. */
const char *sim_event_kind_fields(sim_event_kind kind);
/* The kind for a name ("poll"), or 0 when unknown. */
sim_event_kind sim_event_kind_from_name(const char *name);
/* Writes what the event says in words ("#3, 2 runnable", "deadline 1.500000s, seq 4"),
 * without the step, time, node and task columns. Returns the length (truncated to
 * size - 1). Needs no world: for events read back from a trace database. */
size_t sim_event_describe(const sim_event *event, char *buf, size_t size);
/* The same with node names (names[i] is node i's; NULL or a short array: numbers), for the
 * addresses of net events. */
size_t sim_event_describe_named(const sim_event *event, const char *const *names,
                                uint32_t nnames, char *buf, size_t size);
/* Formats one event as an aligned line: step, time as s.mmmuuu, node, task, kind, fields.
 * Returns the length written (truncated to size - 1). */
size_t sim_event_format(const sim_world *w, const sim_event *event, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Futures and coroutines                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A future is anything a task can wait for: a sleep, a channel receive, a join, a socket or
 * file operation, a combinator, a user's own coroutine. Every awaitable is a struct whose
 * first member is `sim_fut fut`, a header pointing at its operations; a future is a pointer
 * to that header. Awaitables are made by constructors that return them by value
 * (sim_sleep(w, 100 * SIM_MS), sim_recv(&rx, &msg), ...) and are awaited with SIM_AWAIT,
 * which keeps them in the awaiting coroutine. Making one arms nothing: the first poll does.
 *
 * Ownership, the rule that makes cancellation exact: a future belongs to whoever awaits it,
 * and a task owns what its futures armed (timers, places in wait queues, reservations,
 * requests in flight). When a task finishes, is aborted or its node crashes, the future it
 * is awaiting is dropped, which releases everything it armed, recursively through
 * combinators and sub-coroutines. A task therefore needs a drop function only for its own
 * memory. */
typedef struct sim_fut sim_fut;

typedef struct sim_fut_vt {
    const char *name;                             /* "sleep", "recv", ...: for reports */
    /* Polls the future: SIM_PENDING, or its result once. A future that returns its result
     * has released everything it armed. */
    int (*poll)(sim_fut *f, sim_world *w);
    /* Releases what the future holds or armed: called once if it is dropped before it
     * completed, polled or not (so it must cope with a future never polled); may be NULL
     * when there is nothing to release. */
    void (*drop)(sim_fut *f, sim_world *w);
    /* What it waits for, in words ("sleep until 1.500000s"); NULL: the name. */
    void (*describe)(const sim_fut *f, const sim_world *w, char *buf, size_t size);
} sim_fut_vt;

struct sim_fut {
    const sim_fut_vt *vt;
    uint32_t state_;   /* private: fresh, pending, done or dropped */
    uint32_t pad_;
};

/* A fresh header for an awaitable of type vt (for writing new awaitables). */
#define SIM_FUT_INIT(vtable) ((sim_fut){.vt = (vtable), .state_ = 0, .pad_ = 0})

/* Polls f: SIM_PENDING or its result. Polling a future again after its result is
 * SIM_EMISUSE and a violation. Combinators and SIM_AWAIT call this; so may tests. */
int sim_fut_poll(sim_world *w, sim_fut *f);
/* Drops f: releases what it holds unless it completed; idempotent. */
void sim_fut_drop(sim_world *w, sim_fut *f);
/* Writes what f waits for into buf (the name, or its own description). */
void sim_fut_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size);

/* An async function is a poll function over a state block that begins with a sim_co. The
 * SIM_ macros turn its body into a resumable state machine (protothreads):
 *
 *     typedef struct pinger { sim_co co; int i; } pinger;
 *
 *     static int pinger_poll(void *state, sim_world *w) {
 *         pinger *p = state;
 *         SIM_BEGIN(w, &p->co);
 *         for (p->i = 0; p->i < 3; p->i++) {
 *             SIM_TRY(sim_sleep(w, 100 * SIM_MS));  // returns early on an error
 *         }
 *         SIM_END(SIM_OK);
 *     }
 *
 * SIM_AWAIT(rc, fut) makes the future, keeps it in the coroutine (inline up to
 * SIM_CO_INLINE bytes, else in a block of the world's allocator), and polls it each time the
 * task is woken until it completes; rc receives the result. SIM_TRY(fut) awaits and returns
 * any result other than SIM_OK from the coroutine, like Rust's `?`.
 *
 * The rules, each with the failure it prevents:
 * - A local variable does not survive an await: the function returns at every await and is
 *   re-entered at the line after it. Keep in the state block whatever must survive. (A local
 *   kept across an await compiles and then reads garbage or loops.) Compile with gcc's
 *   -Wjump-misses-init, which flags a local initialised before an await and used after it:
 *   `pkg-config --variable=coroutine_cflags sim` gives it (docs/api.md).
 * - Never an unbraced if, else or loop body that is a SIM_AWAIT or SIM_TRY, and never one
 *   inside a switch of your own: the macros are a switch and a case label, and a case label
 *   under an unbraced if or inside another switch resumes in the wrong place. `make tidy`
 *   rejects both in sim's own code; do the same in yours.
 * - At most one SIM_AWAIT or SIM_TRY per line: the resume point is the line number.
 * - One SIM_BEGIN per function, with `w` the world; SIM_END or SIM_RETURN to finish. A local
 *   declared with an initializer after SIM_BEGIN needs a block of its own ({ ... }) that
 *   ends before the next await: -Wjump-misses-init says so otherwise, rightly. */
#define SIM_CO_INLINE 48

typedef struct sim_co {
    uint32_t line;        /* resume point: 0 = start, SIM__CO_DONE = finished */
    uint32_t size_;       /* private: bytes of the allocated future; 0 inline, 1 borrowed */
    sim_fut *cur;         /* the future being awaited, or NULL */
    _Alignas(16) unsigned char inline_[SIM_CO_INLINE]; /* private: where a small one lives */
} sim_co;

#define SIM__CO_DONE UINT32_MAX

/* The poll function of a task or coroutine, state first. Returns SIM_PENDING or its result. */
typedef int (*sim_poll_cb)(void *state, sim_world *w);
/* A task's optional drop function: frees the task's own memory (not the state block, which
 * the executor frees). It runs once when the task ends for any reason, after the future it
 * was awaiting has been dropped and before the handles the task still owns are released (it
 * may drop them itself). It should do nothing else: when the task's node crashed, sends,
 * spawns, cancels and the like are recorded as violations (a crashed node does nothing). */
typedef void (*sim_drop_cb)(void *state, sim_world *w);

/* Internals of the macros (do not call them directly). */
sim_fut *sim__co_place(sim_world *w, sim_co *co, const void *fut, size_t size);
int sim__co_poll(sim_world *w, sim_co *co);
int sim_co_polled_after_done(const char *file, int line);

/* A future's state_ (private): fresh, pending, done, dropped. */
enum { SIM__FUT_FRESH = 0, SIM__FUT_PENDING = 1, SIM__FUT_DONE = 2, SIM__FUT_DROPPED = 3 };

/* SIM_AWAIT's placement: an awaitable that fits the coroutine's inline bytes is copied there
 * with a copy of constant size (a few moves); anything else takes sim__co_place, which also
 * checks that nothing is awaited already. */
static inline void sim__co_place_in(sim_world *w, sim_co *co, const void *fut, size_t size)
{
    if (size <= SIM_CO_INLINE && co->cur == NULL) {
        __builtin_memcpy(co->inline_, fut, size <= SIM_CO_INLINE ? size : SIM_CO_INLINE);
        co->cur = (sim_fut *)(void *)co->inline_;
        co->size_ = 0;
    } else {
        sim__co_place(w, co, fut, size);
    }
}

/* SIM_AWAIT's poll: a pending poll, or the completion of an inline or borrowed future, makes
 * no call but the future's own; a misuse (no future, one polled after it finished) and a
 * future in an allocated block (size_ > 1: its size) take sim__co_poll. */
static inline int sim__co_poll_in(sim_world *w, sim_co *co)
{
    sim_fut *f = co->cur;
    if (f == NULL || f->state_ > SIM__FUT_PENDING || co->size_ > 1) return sim__co_poll(w, co);
    SIM_ASSERT(f->vt != NULL && f->vt->poll != NULL);
    int rc = f->vt->poll(f, w);
    if (rc == SIM_PENDING) {
        f->state_ = SIM__FUT_PENDING;
        return rc;
    }
    SIM_ASSERT(rc <= 0); /* a poll returns SIM_PENDING or a result code */
    f->state_ = SIM__FUT_DONE;
    co->cur = NULL;
    co->size_ = 0;
    return rc;
}

#define SIM_BEGIN(world, co_ptr)                                                                   \
    sim_world *const sim__w = (world);                                                             \
    sim_co *const sim__co = (co_ptr);                                                              \
    int sim__rc = SIM_OK;                                                                          \
    (void)sim__rc;                                                                                 \
    (void)sim__w; /* a coroutine with no await yet must compile under -Werror */                   \
    switch (sim__co->line) {                                                                       \
    case SIM__CO_DONE:                                                                             \
        return sim_co_polled_after_done(__FILE__, __LINE__);                                       \
    case 0:

/* Checks at compile time that fut is an awaitable (its first member is `sim_fut fut`). */
#define SIM__IS_FUT(aw) _Static_assert(__builtin_offsetof(__typeof__(aw), fut) == 0,               \
                                        "SIM_AWAIT needs an awaitable: sim_fut fut first")

#define SIM_AWAIT(rc, aw)                                                                          \
    do {                                                                                           \
        SIM__IS_FUT(aw);                                                                           \
        sim__co_place_in(sim__w, sim__co, (__typeof__(aw)[1]){aw}, sizeof(aw));                    \
        sim__co->line = __LINE__;                                                                  \
        __attribute__((fallthrough));                                                              \
    case __LINE__:                                                                                 \
        (rc) = sim__co_poll_in(sim__w, sim__co);                                                   \
        if ((rc) == SIM_PENDING) return SIM_PENDING;                                               \
    } while (0)

/* Awaits a future that lives elsewhere (in the state block, as an interval does); f is a
 * sim_fut pointer. It is dropped if the task ends while awaiting it. */
#define SIM_AWAIT_FUT(rc, f)                                                                       \
    do {                                                                                           \
        sim__co_place(sim__w, sim__co, (f), 0);                                                    \
        sim__co->line = __LINE__;                                                                  \
        __attribute__((fallthrough));                                                              \
    case __LINE__:                                                                                 \
        (rc) = sim__co_poll_in(sim__w, sim__co);                                                   \
        if ((rc) == SIM_PENDING) return SIM_PENDING;                                               \
    } while (0)

/* Awaits fut and returns its result from the coroutine unless it is SIM_OK. */
#define SIM_TRY(aw)                                                                                \
    do {                                                                                           \
        SIM_AWAIT(sim__rc, aw);                                                                    \
        if (sim__rc != SIM_OK) SIM_RETURN(sim__rc);                                                \
    } while (0)

/* Finishes the coroutine with rc, from anywhere between awaits. */
#define SIM_RETURN(rc)                                                                             \
    do {                                                                                           \
        sim__co->line = SIM__CO_DONE;                                                              \
        return (rc);                                                                               \
    } while (0)

#define SIM_END(rc)                                                                                \
    break;                                                                                         \
    default:                                                                                       \
        return sim_co_polled_after_done(__FILE__, __LINE__);                                       \
        }                                                                                          \
        sim__co->line = SIM__CO_DONE;                                                              \
        return (rc)

/* Drops what a coroutine awaits (if anything) and resets it to its start. Tasks, sim_call
 * and the combinators do this for their coroutines; call it yourself only for a coroutine
 * you poll by hand. */
void sim_co_reset(sim_world *w, sim_co *co);

/* Awaiting a sub-coroutine: a user async function with its own state (a struct that begins
 * with a sim_co, usually a field of the caller's state), in one line:
 *
 *     x->put = (put_state){.file = &x->file, .data = buf, .len = n};
 *     SIM_TRY(sim_call(&x->put, put_then_sync_poll));
 *
 * The sub-coroutine starts from its beginning; if the caller is dropped while it runs, what
 * it awaits is dropped too. sim_call_drop also names a function to run then (after what it
 * awaits is dropped), for what the sub-coroutine holds that its caller's end would not
 * release: permits it must give back while the task goes on, a reference count. */
typedef struct sim_call_op {
    sim_fut fut;
    void *state;
    sim_poll_cb poll;
    sim_drop_cb drop;
} sim_call_op;

sim_call_op sim_call(void *state, sim_poll_cb poll);
sim_call_op sim_call_drop(void *state, sim_poll_cb poll, sim_drop_cb drop);

/* Yields once: lets every other runnable task go first. */
typedef struct sim_yield_op {
    sim_fut fut;
    uint32_t yielded_;
} sim_yield_op;

sim_yield_op sim_yield(void);

/* ------------------------------------------------------------------------------------------ */
/* Handles and who owns them                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Handles name the world's long-lived objects: channel ends, tokens, join handles, mutexes,
 * semaphores, notifies, task sets, sockets and files. Every handle struct begins with a
 * sim_handle; handles are caller storage and copying one by assignment copies the same
 * handle. A handle carries its world: using it in another world is SIM_EMISUSE and a
 * violation, as is using one that was dropped or released.
 *
 * Each handle has an owner, and the owner's end releases it (as dropping it would):
 * - a handle made inside a task belongs to that task: when the task finishes, is aborted or
 *   its node crashes, it is released;
 * - a handle made outside any task (in a boot function, or world-level code) belongs to the
 *   node being booted, or to the world: released when the node crashes (after its tasks have
 *   ended, so their drop functions may still drop it) or the world ends;
 * - sim_spawn moves the handles listed in the desc's `moves` to the new task;
 *   sim_handle_move moves one to another task; sim_handle_share gives one to the current
 *   node, so that any task of the node may use it while the node lives (state shared by
 *   several tasks);
 * - a channel whose messages carry handles declares where they are (sim_chan_desc
 *   handle_at): a send moves them into the channel and a receive to the receiving task.
 * Any task may use any handle of its world; ownership only decides when it is released.
 * Dropping a handle is idempotent: dropping one that was already dropped, or released with
 * its owner, does nothing (another world's handle is still a violation). */
typedef struct sim_handle {
    uint32_t slot_;   /* private */
    uint32_t id_;     /* private: 0 = empty */
    uint32_t world_;  /* private: the world's tag */
} sim_handle;

/* The handle list a desc's `moves` takes: SIM_MOVES(&st.tx, &st.conn). */
#define SIM_MOVES(...) ((const void *const[]){__VA_ARGS__, NULL})

/* Moves the handle (any sim_* handle, by address) to a live task of the same world.
 * Errors: SIM_EMISUSE (an empty, stale or foreign handle), SIM_EINVAL (no such task). */
int sim_handle_move(sim_world *w, const void *handle, sim_task_id to);
/* Gives the handle to the current node (the world outside a task). SIM_EMISUSE as above. */
int sim_handle_share(sim_world *w, const void *handle);
/* Whether the handle refers to a live object of this world. */
bool sim_handle_valid(const sim_world *w, const void *handle);

/* ------------------------------------------------------------------------------------------ */
/* Tasks                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* A task is a coroutine the executor owns: spawn copies the initial state (which begins with
 * a zeroed sim_co) into an executor-owned block and polls it when woken. When it finishes,
 * is aborted or its node crashes, the future it awaits is dropped, the handles it owns are
 * released, its drop function (if any) runs once, and the block is freed. A join handle
 * awaits the result, aborts the task or detaches it; a join handle released with its owner
 * detaches (the task runs on). A finished task's slot is kept until its handle is consumed
 * or released. */
typedef struct sim_task_desc {
    const char *name;   /* borrowed for the world's life (a literal, or sim_world_intern) */
    sim_node_id node;   /* 0 = the calling task's node (outside a task: a world-level task) */
    sim_poll_cb poll;   /* required */
    sim_drop_cb drop;   /* optional: the task's own memory */
    const void *state;  /* initial state, copied; begins with a sim_co; NULL = zero-filled */
    size_t state_size;  /* bytes, sizeof(sim_co) to SIM_STATE_MAX */
    bool daemon;        /* does not keep sim_world_run going (servers, background loops) */
    /* Handles in the initial state that move to the task (SIM_MOVES): addresses within
     * `state`'s source; NULL-terminated; may be NULL. */
    const void *const *moves;
} sim_task_desc;

#define SIM_STATE_MAX ((size_t)1 << 20)

/* A join handle. Caller storage; output is set when the join completes. */
typedef struct sim_join {
    sim_handle h;
    sim_task_id task;    /* the task, for messages; 0 = empty handle */
    int64_t output;      /* the task's output (sim_task_set_output) after a successful join */
} sim_join;

/* Spawns a task; it first runs at the next scheduling point. out may be NULL (detached);
 * the handle belongs to the caller (see "Handles"). Errors: SIM_EINVAL (no poll, a state
 * smaller than a sim_co or larger than SIM_STATE_MAX, a sim_co that is not zeroed),
 * SIM_ENODE (node unknown or down), SIM_ELIMIT (max_tasks), SIM_EMISUSE (from a drop
 * function, or a bad handle in moves). */
int sim_spawn(sim_world *w, const sim_task_desc *desc, sim_join *out);

/* Awaits the task: its result (what its poll returned, SIM_ECANCELED if it was aborted,
 * SIM_ECRASHED if its node crashed), its output in j->output. The handle is then consumed
 * (emptied, except task and output). Dropping the wait (a select that another branch won)
 * leaves the handle as it was: it can be awaited or aborted later. */
typedef struct sim_join_op {
    sim_fut fut;
    sim_join *join;
} sim_join_op;

sim_join_op sim_join_wait(sim_join *join);
/* Asks the task to stop: at the next scheduling point it is dropped and its result becomes
 * SIM_ECANCELED. No effect on a finished task. A blocking job that has started cannot be
 * stopped, as in real runtimes: it runs to completion and its handle still yields its
 * result. */
void sim_join_abort(sim_world *w, const sim_join *join);
/* Lets the task run on unobserved; the handle is emptied. */
void sim_join_detach(sim_world *w, sim_join *join);

/* The running task, or 0 outside a task. */
sim_task_id sim_task_current(const sim_world *w);
/* The node of the running task, or 0. */
sim_node_id sim_node_current(const sim_world *w);
/* The name of a live or finished-but-unjoined task; "?" if unknown. O(1) for the running
 * task, otherwise a search. */
const char *sim_task_name(const sim_world *w, sim_task_id task);
/* Sets the running task's output, delivered to its joiner with the result. */
void sim_task_set_output(sim_world *w, int64_t output);
/* Inside a task's drop function: the result the task ends with (what its poll returned,
 * SIM_ECANCELED when it was aborted, SIM_ECRASHED when its node crashed); SIM_PENDING
 * elsewhere. A drop function that must act differently on a crash asks this. */
int sim_task_end_result(const sim_world *w);

/* Runs the executor from outside until the future completes, and returns its result. Other
 * tasks run as they become runnable; when it completes the call returns and they stay where
 * they are. If the run stops first, the future is dropped and the stop code is returned.
 * From inside a task (or while any world is running on this thread) it returns SIM_EMISUSE
 * and records a "nested block_on" violation: it never hangs. The future belongs to the call:
 * one that is refused (nested, or the world already stopped) is dropped unpolled. */
int sim_block_on_fut(sim_world *w, sim_fut *f);
#define sim_block_on(w, aw) sim_block_on_fut((w), &(__typeof__(aw)[1]){aw}[0].fut)

/* Task sets (tokio's JoinSet): spawn tasks into a set, await whichever finishes next, and
 * abort them all by dropping the set (or when its owner ends). */
typedef struct sim_task_set {
    sim_handle h;
} sim_task_set;

/* Errors: SIM_ELIMIT (max_objects). */
int sim_task_set_new(sim_world *w, sim_task_set *out);
/* Spawns into the set (as sim_spawn; the task's handle is the set's); *task (may be NULL)
 * is its id. */
int sim_task_set_spawn(sim_world *w, const sim_task_set *set, const sim_task_desc *desc,
                       sim_task_id *task);
/* Tasks in the set not yet collected by sim_task_set_next. */
uint32_t sim_task_set_len(const sim_world *w, const sim_task_set *set);
/* Aborts every task of the set; they are still collected by sim_task_set_next. */
void sim_task_set_abort_all(sim_world *w, const sim_task_set *set);
/* Aborts every task of the set and releases it. */
void sim_task_set_drop(sim_world *w, sim_task_set *set);

/* Awaits the next task of the set to finish (in the order they finish): the result is that
 * task's result; *task (may be NULL) its id; *output (may be NULL) its output. SIM_EEMPTY
 * at once when the set holds no task. */
typedef struct sim_task_set_op {
    sim_fut fut;
    const sim_task_set *set;
    sim_task_id *task;
    int64_t *output;
} sim_task_set_op;

sim_task_set_op sim_task_set_next(const sim_task_set *set, sim_task_id *task, int64_t *output);

/* ------------------------------------------------------------------------------------------ */
/* Nodes                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* A node is a simulated process: a name, a boot function and its own tasks and blocking pool.
 * Crash drops every task of the node in crash mode (spawn order) and abandons its pool jobs;
 * restart calls boot again; pause freezes its tasks (their wake-ups wait for resume) while
 * the clock goes on. */
typedef int (*sim_boot_cb)(void *ud, sim_world *w, sim_node_id node);

/* A latency model: uniform in [min_ns, max_ns]. */
typedef struct sim_latency {
    uint64_t min_ns;
    uint64_t max_ns;
} sim_latency;

typedef struct sim_node_desc {
    const char *name;          /* copied; unique within the world; required */
    uint32_t pool_workers;     /* blocking pool size; 0 = 4 */
    sim_latency pool_latency;  /* base time of a blocking job; zero = 10us..100us */
    sim_boot_cb boot;          /* spawns the node's tasks; may be NULL */
    void *boot_ud;             /* borrowed for the world's life */
    const char *host_addr;     /* host worlds: copied; the IPv4 or IPv6 literal this node's
                                  sockets bind (listen, udp_bind) and that connects to it
                                  reach; NULL = "127.0.0.1". A node this process does not
                                  run (a server seen from a client) is one with no boot.
                                  Ignored by simulated worlds. */
    const char *host_dir;      /* host worlds: copied; the directory of this node's files
                                  (created as needed); NULL = the world's host_dir/NAME */
    bool touch_declared;       /* the system's promise that this node's tasks share memory
                                  only where they call sim_touch (below): sim explore may
                                  then reorder two steps that touch nothing in common. false:
                                  every two steps of the node's tasks are dependent */
} sim_node_desc;

typedef enum sim_node_state {
    SIM_NODE_UP = 0,
    SIM_NODE_DOWN = 1,
    SIM_NODE_PAUSED = 2,
} sim_node_state;

/* Adds a node and boots it at once. Returns boot's result: a failed boot leaves the node added
 * but down, and *out is set anyway so that it can be restarted. Errors: SIM_EINVAL (no name,
 * duplicate name, min > max latency), SIM_ELIMIT (more than 4096 nodes). */
int sim_node_add(sim_world *w, const sim_node_desc *desc, sim_node_id *out);
/* Crashes an up or paused node. May be called from a task, including one on that node (it is
 * dropped once its poll returns). Errors: SIM_ENODE (unknown or already down). */
int sim_node_crash(sim_world *w, sim_node_id node);
/* Boots a down node again. Errors: SIM_ENODE (unknown or not down), boot's own error. */
int sim_node_restart(sim_world *w, sim_node_id node);
/* Freezes an up node: its tasks are not polled until resume. Errors: SIM_ENODE. */
int sim_node_pause(sim_world *w, sim_node_id node);
/* Thaws a paused node; tasks woken meanwhile run again. Errors: SIM_ENODE. */
int sim_node_resume(sim_world *w, sim_node_id node);
sim_node_state sim_node_status(const sim_world *w, sim_node_id node);
/* "?" if unknown. */
const char *sim_node_name(const sim_world *w, sim_node_id node);
/* 0 if no node has that name. */
sim_node_id sim_node_find(const sim_world *w, const char *name);
uint32_t sim_node_count(const sim_world *w);
/* How many times the node has booted (1 after sim_node_add). */
uint32_t sim_node_boots(const sim_world *w, sim_node_id node);

/* Node clocks. Virtual time (sim_now) is the truth every timer follows; a node's own clock,
 * what code on it reads as "the time", may be off by a fixed offset (skew) and run fast or
 * slow (drift, in parts per million of elapsed virtual time): clock = now + offset +
 * now * drift / 1e6, never below 0. Code that compares times across nodes (leases, timeouts
 * computed from timestamps) should read sim_node_now. Clocks start true; the fault plan's
 * clock_skew and clock_drift set them (docs/faults.md). A restart keeps the clock. */
/* Errors: SIM_ENODE, SIM_EINVAL (drift of a million ppm or more either way). */
int sim_node_set_clock(sim_world *w, sim_node_id node, int64_t offset_ns, int32_t drift_ppm);
/* The node's clock now; true time for an unknown node. */
uint64_t sim_node_clock(const sim_world *w, sim_node_id node);
/* The clock of the running task's node (true time outside a task and on world tasks). */
uint64_t sim_node_now(const sim_world *w);

/* ------------------------------------------------------------------------------------------ */
/* Time                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Timers live in an array heap ordered by (deadline, sequence): equal deadlines fire in the
 * order they were armed. When nothing is runnable the clock jumps to the next deadline. A
 * sleep arms its timer on its first pending poll; dropping it disarms it. */
typedef struct sim_sleep_op {
    sim_fut fut;
    uint64_t deadline_ns;
    uint32_t timer_slot_; /* private */
    uint32_t timer_id_;   /* private: 0 = not armed */
} sim_sleep_op;

/* A sleep of duration_ns from now; the deadline saturates at UINT64_MAX. Errors when
 * awaited: SIM_ELIMIT (max_timers). */
sim_sleep_op sim_sleep(const sim_world *w, uint64_t duration_ns);
/* A sleep until an absolute virtual time; a deadline in the past is ready at once, so a
 * deadline computed before a pause can never wrap into a long sleep. */
sim_sleep_op sim_sleep_until(uint64_t deadline_ns);
/* deadline_ns - now, or 0 once it has passed: the saturating difference for computing what
 * is left of a deadline. */
uint64_t sim_time_left(const sim_world *w, uint64_t deadline_ns);

/* A periodic tick (caller storage in the state block): the first tick is one period after
 * init, then every period; a late await gets the missed ticks one after another (no
 * skipping), like a metronome. Await each tick with SIM_AWAIT(rc, sim_tick(&st->every)). */
typedef struct sim_interval {
    uint64_t period_ns;
    uint64_t next_ns;    /* the next tick */
    uint64_t ticks;      /* ticks delivered so far */
} sim_interval;

void sim_interval_init(const sim_world *w, sim_interval *iv, uint64_t period_ns);

typedef struct sim_tick_op {
    sim_fut fut;
    sim_interval *iv;
    uint32_t timer_slot_; /* private */
    uint32_t timer_id_;   /* private */
} sim_tick_op;

sim_tick_op sim_tick(sim_interval *iv);

/* Runs inner with a deadline: the inner result if it completes first, otherwise inner is
 * dropped (what it armed is released) and the result is SIM_ETIMEDOUT. inner is any
 * awaitable, by value (a sub-coroutine: sim_call); it is kept in a block of the world's
 * allocator until the timeout completes or is dropped:
 *
 *     SIM_AWAIT(rc, sim_timeout(w, 50 * SIM_MS, sim_recv(&st->rx, &st->msg)));
 */
typedef struct sim_timeout_op {
    sim_fut fut;
    uint64_t deadline_ns;
    uint32_t timer_slot_;  /* private */
    uint32_t timer_id_;    /* private */
    sim_fut *inner_;       /* private: the inner future, in its block */
    uint32_t inner_size_;  /* private */
} sim_timeout_op;

sim_timeout_op sim__timeout(sim_world *w, uint64_t deadline_ns, const void *inner, size_t size);
#define sim_timeout(w, duration_ns, inner)                                                     \
    sim__timeout((w), sim__add_sat_ns(sim_now(w), (duration_ns)), SIM__BOX(inner))
/* The same with an absolute deadline (a deadline in the past times out at once). */
#define sim_timeout_until(w, deadline_ns, inner) sim__timeout((w), (deadline_ns), SIM__BOX(inner))
static inline uint64_t sim__add_sat_ns(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* Internals: an awaitable made by value, as (address of a copy, size), checked: an
 * awaitable starts with its sim_fut, else the array size is -1 and the build fails. (Not a
 * _Static_assert in a struct: clang reads compound literals there, as in a nested select's
 * branches, as static ones, which need constant initializers.) */
#define SIM__BOX(aw)                                                                               \
    (const void *)(__typeof__(aw)[1]){aw},                                                         \
        sizeof(aw) + 0 * sizeof(char[__builtin_offsetof(__typeof__(aw), fut) == 0 ? 1 : -1])

/* ------------------------------------------------------------------------------------------ */
/* Channels                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Four kinds share one pair of handle types. Messages have a fixed size per channel and are
 * copied in on send and out on receive. A channel lives until its last handle is released;
 * messages still queued then have their handles released and are passed to drop_msg.
 *
 *   ONESHOT    one message, one sender, one receiver. Dropping the sender unsent closes the
 *              receiver (SIM_ECLOSED).
 *   MPSC       many senders (sim_tx_clone), one receiver. capacity > 0: bounded, senders wait
 *              (sim_send) in FIFO order when full (backpressure); capacity 0: unbounded up
 *              to max_messages.
 *   BROADCAST  every receiver gets every message; capacity slots; a sender never waits, the
 *              oldest message is overwritten and a slow receiver gets SIM_ELAGGED once, then
 *              resumes from the oldest message kept. More receivers: sim_subscribe.
 *   WATCH      one current value (initial required); receivers wait for a newer version and
 *              read the latest, intermediate values are skipped. More receivers: sim_subscribe.
 *
 * Each handle must be dropped once, or is released with its owner (see "Handles"). */
typedef enum sim_chan_kind {
    SIM_CHAN_ONESHOT = 0,
    SIM_CHAN_MPSC = 1,
    SIM_CHAN_BROADCAST = 2,
    SIM_CHAN_WATCH = 3,
} sim_chan_kind;

/* Frees a message still queued when the channel goes away (its handles are already
 * released). ud first. */
typedef void (*sim_msg_drop_cb)(void *ud, void *msg);

#define SIM_MSG_HANDLES_MAX 4

typedef struct sim_chan_desc {
    sim_chan_kind kind;
    uint32_t msg_size;        /* bytes per message, 1..65536; required */
    uint32_t capacity;        /* MPSC: 0 = unbounded; BROADCAST: required; others ignored */
    uint32_t max_messages;    /* unbounded MPSC limit; 0 = 1 << 20 */
    const void *initial;      /* WATCH: the initial value (copied); required */
    const char *name;         /* borrowed for the world's life; for reports; may be NULL */
    sim_msg_drop_cb drop_msg; /* optional */
    void *drop_ud;
    /* Where the handles a message carries are (offsetof), so that they move with it
     * (MPSC and ONESHOT only); handle_at[i] is read when i < handle_count. */
    uint32_t handle_at[SIM_MSG_HANDLES_MAX];
    uint32_t handle_count;
} sim_chan_desc;

typedef struct sim_tx {
    sim_handle h;
} sim_tx;

typedef struct sim_rx {
    sim_handle h;
} sim_rx;

/* Creates a channel and its first sender and receiver, owned by the caller. Errors:
 * SIM_EINVAL (bad kind, size, capacity, handle offsets or missing initial value),
 * SIM_ELIMIT (max_objects). */
int sim_chan_new(sim_world *w, const sim_chan_desc *desc, sim_tx *tx, sim_rx *rx);

/* Sends without waiting. msg is copied (msg_size bytes). Results: SIM_OK; SIM_ECLOSED (no
 * receiver left: the message was not taken, the caller still owns it); SIM_EFULL (bounded
 * MPSC is full); SIM_ELIMIT (unbounded MPSC at max_messages); SIM_EMISUSE (a bad handle, or
 * a second send on a oneshot). A oneshot sender stays valid after sending. */
int sim_try_send(sim_world *w, const sim_tx *tx, const void *msg);

/* Sends, waiting for room in a bounded MPSC (FIFO among waiting senders); for the other
 * kinds it completes at once as sim_try_send. msg is read when the send completes: keep it
 * in the state block. Dropped while waiting, it leaves the queue and a wake-up it had
 * received passes to the next waiting sender. */
typedef struct sim_send_op {
    sim_fut fut;
    const sim_tx *tx;
    const void *msg;
    uint32_t waiter_slot_; /* private */
    uint32_t waiter_id_;   /* private */
} sim_send_op;

sim_send_op sim_send(const sim_tx *tx, const void *msg);

/* Receives one message into out (msg_size bytes): SIM_OK; SIM_ECLOSED when every sender is
 * gone and nothing is queued; SIM_ELAGGED (broadcast, see above). WATCH: waits until a
 * version newer than the last one this receiver saw, then copies the latest value. */
typedef struct sim_recv_op {
    sim_fut fut;
    const sim_rx *rx;
    void *out;
} sim_recv_op;

sim_recv_op sim_recv(const sim_rx *rx, void *out);
/* Like sim_recv without waiting: SIM_EEMPTY instead of waiting. WATCH: copies the current
 * value (SIM_OK) and marks it seen. */
int sim_try_recv(sim_world *w, const sim_rx *rx, void *out);

/* A second sender (MPSC, BROADCAST, WATCH), owned by the caller. Errors: SIM_EMISUSE
 * (oneshot, bad handle), SIM_ECLOSED (the receivers are gone: no new sender is made). */
int sim_tx_clone(sim_world *w, const sim_tx *tx, sim_tx *out);
/* A new receiver (BROADCAST: sees messages sent from now on; WATCH: has seen the current
 * value). Errors: SIM_EMISUSE (other kinds, bad handle), SIM_ELIMIT. */
int sim_subscribe(sim_world *w, const sim_tx *tx, sim_rx *out);
/* Drop a handle; the channel goes away with its last handle. Empty handles are ignored. */
void sim_tx_drop(sim_world *w, sim_tx *tx);
void sim_rx_drop(sim_world *w, sim_rx *rx);
/* Messages queued for this receiver (0 for an empty handle). */
uint32_t sim_rx_len(const sim_world *w, const sim_rx *rx);
/* True when no sender is left (MPSC, ONESHOT) or, for a sender, when no receiver is left. */
bool sim_rx_closed(const sim_world *w, const sim_rx *rx);
bool sim_tx_closed(const sim_world *w, const sim_tx *tx);

/* ------------------------------------------------------------------------------------------ */
/* Cancellation tokens                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* A token is cancelled once and stays cancelled. Cancelling a token cancels its children (and
 * theirs), never its parent. Each handle is dropped once or released with its owner. */
typedef struct sim_token {
    sim_handle h;
} sim_token;

/* A new token; parent may be NULL. A child of a cancelled parent starts cancelled. Dropping
 * a parent's handles does not cut its children off: cancelling an ancestor still reaches
 * them. Errors: SIM_ELIMIT, SIM_EMISUSE (bad parent). */
int sim_token_new(sim_world *w, const sim_token *parent, sim_token *out);
int sim_token_clone(sim_world *w, const sim_token *tok, sim_token *out);
/* Cancels the token and its descendants and wakes their waiters. Idempotent. */
void sim_token_cancel(sim_world *w, const sim_token *tok);
bool sim_token_is_cancelled(const sim_world *w, const sim_token *tok);
void sim_token_drop(sim_world *w, sim_token *tok);

/* Awaits cancellation: SIM_OK once the token is cancelled. */
typedef struct sim_cancelled_op {
    sim_fut fut;
    const sim_token *tok;
    uint32_t waiter_slot_; /* private */
    uint32_t waiter_id_;   /* private */
} sim_cancelled_op;

sim_cancelled_op sim_cancelled(const sim_token *tok);

/* ------------------------------------------------------------------------------------------ */
/* Mutexes, semaphores and notifies                                                           */
/* ------------------------------------------------------------------------------------------ */

/* A mutex is fair: waiters get it in the order they asked (FIFO). The task that holds it is
 * named in hang reports ("held by task 7 (writer) since 1.200000s"). A holder that ends
 * without unlocking (finished, aborted, crashed) releases it. Errors of every call:
 * SIM_EMISUSE for a bad handle. */
typedef struct sim_mutex {
    sim_handle h;
} sim_mutex;

/* name is borrowed for the world's life (reports); may be NULL. Errors: SIM_ELIMIT. */
int sim_mutex_new(sim_world *w, const char *name, sim_mutex *out);
/* Awaits the lock: SIM_OK when this task holds it. Locking a mutex the task holds is
 * SIM_EMISUSE (it would deadlock). */
typedef struct sim_lock_op {
    sim_fut fut;
    const sim_mutex *m;
    uint32_t waiter_slot_; /* private */
    uint32_t waiter_id_;   /* private */
} sim_lock_op;

sim_lock_op sim_lock(const sim_mutex *m);
/* Takes the lock without waiting: SIM_OK, or SIM_EFULL when it is held. */
int sim_try_lock(sim_world *w, const sim_mutex *m);
/* Unlocks; the next waiter gets it. SIM_EMISUSE when the running task does not hold it. */
int sim_unlock(sim_world *w, const sim_mutex *m);
/* The holder, or 0. */
sim_task_id sim_mutex_holder(const sim_world *w, const sim_mutex *m);
void sim_mutex_drop(sim_world *w, sim_mutex *m);

/* A counting semaphore, fair (FIFO): a waiter for n permits blocks the ones behind it until
 * it is served. Permits acquired by a task are released when it ends. */
typedef struct sim_sem {
    sim_handle h;
} sim_sem;

int sim_sem_new(sim_world *w, const char *name, uint32_t permits, sim_sem *out);
/* Awaits n permits (n >= 1): SIM_OK when the task holds them. SIM_EINVAL for n = 0. A
 * request for more than the semaphore has may wait for sim_sem_add. */
typedef struct sim_acquire_op {
    sim_fut fut;
    const sim_sem *s;
    uint32_t n;
    uint32_t waiter_slot_; /* private */
    uint32_t waiter_id_;   /* private */
} sim_acquire_op;

sim_acquire_op sim_acquire(const sim_sem *s, uint32_t n);
/* Takes n permits without waiting: SIM_OK or SIM_EFULL. */
int sim_try_acquire(sim_world *w, const sim_sem *s, uint32_t n);
/* Returns n permits the running task holds. SIM_EMISUSE when it holds fewer. */
int sim_release(sim_world *w, const sim_sem *s, uint32_t n);
/* Forgets n permits the running task holds: they never come back (tokio's forget), as a
 * resource that leaked would not. SIM_EMISUSE when it holds fewer. */
int sim_sem_forget(sim_world *w, const sim_sem *s, uint32_t n);
/* Adds n permits that nobody held (a semaphore used as a signal). */
int sim_sem_add(sim_world *w, const sim_sem *s, uint32_t n);
uint32_t sim_sem_available(const sim_world *w, const sim_sem *s);
void sim_sem_drop(sim_world *w, sim_sem *s);

/* A notify wakes tasks that wait on it (tokio's Notify): notify_one wakes the first waiter,
 * or, when none waits, lets the next sim_notified complete at once (one stored permit);
 * notify_all wakes every task waiting now and stores nothing. A waiter dropped after
 * notify_one chose it, before it ran, passes the notification on (or stores it). */
typedef struct sim_notify {
    sim_handle h;
} sim_notify;

int sim_notify_new(sim_world *w, const char *name, sim_notify *out);
void sim_notify_one(sim_world *w, const sim_notify *n);
void sim_notify_all(sim_world *w, const sim_notify *n);
void sim_notify_drop(sim_world *w, sim_notify *n);

typedef struct sim_notified_op {
    sim_fut fut;
    const sim_notify *n;
    uint32_t waiter_slot_; /* private */
    uint32_t waiter_id_;   /* private */
} sim_notified_op;

sim_notified_op sim_notified(const sim_notify *n);

/* ------------------------------------------------------------------------------------------ */
/* Combinators                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* Select: polls its branches in order (biased: earlier ones win ties) until one completes;
 * its index goes to *which and its result is the select's. Every other branch is then
 * dropped, i.e. cancelled. Up to SIM_SELECT_MAX branches, each any awaitable by value (kept
 * in blocks of the world's allocator until the select completes or is dropped):
 *
 *     for (;;) {
 *         SIM_AWAIT(rc, sim_select(w, &st->which, sim_cancelled(&st->stop),
 *                                  sim_recv(&st->rx, &st->msg)));
 *         if (st->which == 0) break;       // stopped
 *         ...handle st->msg...
 *     }
 *
 * sim_select_futs takes branches that live elsewhere (futures in the state block); they are
 * polled, and the losers dropped, but never freed. An interval keeps its phase in the
 * sim_interval, so a fresh sim_tick per iteration is a by-value branch like any other. */
#define SIM_SELECT_MAX 8

typedef struct sim__branch {
    const void *fut;
    size_t size;
} sim__branch;

typedef struct sim_select_op {
    sim_fut fut;
    int *which;
    uint32_t count;
    uint32_t sizes_[SIM_SELECT_MAX]; /* private: 0 for a branch that lives elsewhere */
    sim_fut *arms_[SIM_SELECT_MAX];  /* private */
} sim_select_op;

sim_select_op sim__select(sim_world *w, int *which, const sim__branch *branches,
                          uint32_t count);
/* Branches that live elsewhere: futs[0..count) (1 <= count <= SIM_SELECT_MAX). */
sim_select_op sim_select_futs(int *which, sim_fut *const *futs, uint32_t count);

#define SIM__BRANCH(aw) {SIM__BOX(aw)}
#define SIM__NARGS(...) SIM__NARGS_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define SIM__NARGS_(a, b, c, d, e, f, g, h, n, ...) n
#define SIM__BRANCHES1(a) SIM__BRANCH(a)
#define SIM__BRANCHES2(a, ...) SIM__BRANCH(a), SIM__BRANCHES1(__VA_ARGS__)
#define SIM__BRANCHES3(a, ...) SIM__BRANCH(a), SIM__BRANCHES2(__VA_ARGS__)
#define SIM__BRANCHES4(a, ...) SIM__BRANCH(a), SIM__BRANCHES3(__VA_ARGS__)
#define SIM__BRANCHES5(a, ...) SIM__BRANCH(a), SIM__BRANCHES4(__VA_ARGS__)
#define SIM__BRANCHES6(a, ...) SIM__BRANCH(a), SIM__BRANCHES5(__VA_ARGS__)
#define SIM__BRANCHES7(a, ...) SIM__BRANCH(a), SIM__BRANCHES6(__VA_ARGS__)
#define SIM__BRANCHES8(a, ...) SIM__BRANCH(a), SIM__BRANCHES7(__VA_ARGS__)
#define SIM__CAT(a, b) SIM__CAT_(a, b)
#define SIM__CAT_(a, b) a##b
#define SIM__BRANCH_LIST(...)                                                                      \
    ((const sim__branch[]){SIM__CAT(SIM__BRANCHES, SIM__NARGS(__VA_ARGS__))(__VA_ARGS__)})
#define sim_select(w, which, ...)                                                                  \
    sim__select((w), (which), SIM__BRANCH_LIST(__VA_ARGS__), SIM__NARGS(__VA_ARGS__))

/* Join all: polls every unfinished branch until all have completed; results[i] receives
 * branch i's result. SIM_OK when all are done. Up to SIM_SELECT_MAX branches by value, as
 * select. (More branches: a task set.) */
typedef struct sim_join_all_op {
    sim_fut fut;
    int *results;
    uint32_t count;
    uint32_t remaining_;             /* private */
    uint32_t sizes_[SIM_SELECT_MAX]; /* private */
    sim_fut *arms_[SIM_SELECT_MAX];  /* private */
} sim_join_all_op;

sim_join_all_op sim__join_all(sim_world *w, int *results, const sim__branch *branches,
                              uint32_t count);
#define sim_join_all(w, results, ...)                                                              \
    sim__join_all((w), (results), SIM__BRANCH_LIST(__VA_ARGS__), SIM__NARGS(__VA_ARGS__))

/* ------------------------------------------------------------------------------------------ */
/* Blocking pool                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* Each node has a pool of simulated worker threads for synchronous code (spawn_blocking). A
 * job waits in FIFO order for a free worker; when it starts, its run function executes at
 * once and the job then holds the worker for its latency (drawn from the node's model) plus
 * whatever it charged with sim_job_charge; then its handle completes with run's result. A
 * started job cannot be cancelled: aborting its handle has no effect on it. A queued job can
 * be aborted. Crash abandons queued and running jobs. */
typedef int (*sim_job_cb)(void *state, sim_world *w);

typedef struct sim_job_desc {
    const char *name;   /* borrowed for the world's life */
    sim_node_id node;   /* 0 = the calling task's node; world-level jobs are not allowed */
    sim_job_cb run;     /* required */
    sim_drop_cb drop;   /* optional: frees what the state points to */
    const void *state;  /* copied; NULL = zero-filled */
    size_t state_size;
} sim_job_desc;

/* Errors: as sim_spawn, and SIM_EINVAL for a job without a node. */
int sim_spawn_blocking(sim_world *w, const sim_job_desc *desc, sim_join *out);

/* Spawns a blocking job and awaits it, in one awaitable: its result is the job's (or a spawn
 * error). The desc and its state are read at the first poll (SIM_AWAIT's, at once): keep
 * them in the state block or pass a literal. Dropped before the job finishes, a queued job is
 * aborted and a started one runs on detached (it cannot be stopped).
 *
 *     SIM_TRY(sim_blocking(&(sim_job_desc){.name = "compact", .run = compact_run,
 *                                          .state = &st->job, .state_size = sizeof st->job}));
 */
typedef struct sim_blocking_op {
    sim_fut fut;
    sim_job_desc desc;
    sim_join join_;       /* private */
} sim_blocking_op;

sim_blocking_op sim_blocking(const sim_job_desc *desc);
/* Inside a running job: adds ns of virtual time to the job (the synchronous disk API charges
 * its latency this way); the job's end saturates at the end of time. sim_now then includes
 * it. Outside a job: SIM_EMISUSE. */
int sim_job_charge(sim_world *w, uint64_t ns);

/* ------------------------------------------------------------------------------------------ */
/* Obligations: the exactly-once ledger                                                       */
/* ------------------------------------------------------------------------------------------ */

/* An obligation is something a system promises to do exactly once: call a completion
 * callback, send a reply, resolve a future. It is registered where the promise is made
 * (sim_oblige) and discharged where it is kept (sim_discharge). The world keeps the ledger:
 * - discharged a second time: a SIM_VIOLATION_OBLIGATION at once, naming where it was made
 *   and both places it was discharged;
 * - never discharged when sim_world_run ends with SIM_OK (the run's work done): a violation
 *   naming where it was made and by which task;
 * - its node crashed first: voided, as a crashed process keeps no promise (an event says
 *   so); made with SIM_OBLIGE_SURVIVES_CRASH, the crash is a violation instead (a promise
 *   the system says must outlive its process: a reply owed through a durable log).
 * The node of an obligation is the running task's (the node being booted, else 0: the
 * world, which never crashes). Sites are borrowed for the world's life: SIM_SITE gives
 * "file.c:123" as a literal. `what` is copied (its first 63 bytes). At most 2^22
 * obligations per world (SIM_ELIMIT); a discharged one keeps its record, to catch a second
 * discharge. Events: SIM_EV_OBLIGE at registration and SIM_EV_DISCHARGE at each discharge
 * (a = the obligation's id), so a replay shows where each was made and kept. */
typedef struct sim_obligation {
    uint32_t id; /* 1, 2, 3, ... in order of registration; 0 = none */
} sim_obligation;

#define SIM__STR2(x) #x
#define SIM__STR(x) SIM__STR2(x)
/* "file.c:123" for the line it is written on, as a string literal. */
#define SIM_SITE __FILE__ ":" SIM__STR(__LINE__)

enum {
    SIM_OBLIGE_SURVIVES_CRASH = 1, /* a crash of its node does not void it: a violation */
};

/* Registers an obligation; *out names it. Errors: SIM_EINVAL (what or site NULL, unknown
 * flags), SIM_ELIMIT (2^22 obligations), SIM_EMISUSE (from a crash-mode drop). */
int sim_oblige(sim_world *w, const char *what, const char *site, uint32_t flags,
               sim_obligation *out);
/* Keeps the promise. SIM_OK the first time; a second discharge is SIM_EMISUSE with a
 * violation naming the three sites; discharging a voided obligation (its node crashed) is
 * SIM_OK and nothing; SIM_EINVAL for an id this world never gave. */
int sim_discharge(sim_world *w, sim_obligation ob, const char *site);
/* Whether it is registered and neither discharged nor voided. */
bool sim_obligation_pending(const sim_world *w, sim_obligation ob);
/* Obligations now pending in the world. */
uint32_t sim_world_obligations_pending(const sim_world *w);

/* ------------------------------------------------------------------------------------------ */
/* Shared memory, declared for exploration                                                    */
/* ------------------------------------------------------------------------------------------ */

/* `sim explore` skips a schedule when it is provably the same run as one it has already
 * checked: two steps of different tasks that touch nothing in common commute. sim sees what
 * a step does to its own objects (channels, tokens, timers, tasks, obligations, sockets,
 * files), not the memory a system's tasks share (a struct several tasks point at), so by
 * default every two steps of one node's tasks are dependent and nothing of theirs is
 * reordered. A node whose desc sets touch_declared promises instead that its tasks share
 * memory only where they say so: each read or write of shared state calls sim_touch with a
 * key for that state (any number the system picks: one per struct, or per field), and two
 * steps touching a common key are dependent. A missing sim_touch on such a node can make
 * sim explore skip a schedule that differs; on other nodes it is never needed. Outside
 * exploration it costs a branch. */
void sim_touch(sim_world *w, uint64_t key);

/* ------------------------------------------------------------------------------------------ */
/* Shutdown and end-of-run oracles                                                            */
/* ------------------------------------------------------------------------------------------ */

/* The shutdown signal is the simulated SIGTERM of every node: one per world, raised once,
 * either by the world at desc.shutdown_at_ns (a scenario's [scenario] shutdown_at) or by a
 * system calling sim_shutdown_signal (a task that decides the test is over). A system hears
 * it through a cancellation token: sim_shutdown_token gives a child of the world's shutdown
 * token, cancelled when the signal is raised (tokio's signal::ctrl_c() and a
 * CancellationToken in one). Raising it emits SIM_EV_SHUTDOWN.
 *
 * What the world checks (each oracle a SIM_ORACLE_* bit of desc.oracles; by default the two
 * that judge only what follows a shutdown signal, which are sound for any program; each
 * finding a violation of its own kind, which a scenario counts as a failure, a warning or
 * nothing: docs/scenarios.md, [check]):
 * - SIM_ORACLE_SHUTDOWN: with desc.shutdown_within_ns, at signal + within every task of
 *   every node (world-level tasks aside) must be gone; those left, blocking jobs included,
 *   are listed with who spawned them (SIM_VIOLATION_SHUTDOWN).
 * - SIM_ORACLE_LEAKS: at the end of a run in which the signal was raised, whatever is still
 *   alive on a node is a leak (SIM_VIOLATION_LEAK): tasks and blocking jobs (with their
 *   timers and who spawned them), sockets and files still open (with their owner), messages
 *   queued in channels. Without a signal the check is not made: servers and their channels
 *   outliving the clients is how a run ends.
 * - SIM_ORACLE_UNREAD: a receiver dropped (not by a crash) while messages were queued for
 *   it: they are discarded unread (SIM_VIOLATION_UNREAD).
 * - SIM_ORACLE_UNCOLLECTED: a task that ended with an error (not SIM_ECANCELED, not
 *   SIM_ECRASHED) whose result nobody collected: detached, its handle released unawaited, or
 *   still unawaited at the run's end (SIM_VIOLATION_UNCOLLECTED).
 * - The ledger above is always on. */
enum {
    SIM_ORACLE_SHUTDOWN = 1,
    SIM_ORACLE_LEAKS = 2,
    SIM_ORACLE_UNREAD = 4,       /* off by default: a server may rightly drop its queue */
    SIM_ORACLE_UNCOLLECTED = 8,  /* off by default: fire-and-forget tasks are common */
    SIM_ORACLES_DEFAULT = SIM_ORACLE_SHUTDOWN | SIM_ORACLE_LEAKS,
    SIM_ORACLE_NONE = 1 << 30,   /* desc.oracles: run none */
};

/* Raises the shutdown signal now (idempotent: later calls do nothing). Allowed in and outside
 * tasks, not in a crash-mode drop (SIM_EMISUSE). */
int sim_shutdown_signal(sim_world *w);
/* Whether the signal was raised, and when (UINT64_MAX: not yet). */
bool sim_shutdown_signalled(const sim_world *w);
uint64_t sim_shutdown_time(const sim_world *w);
/* A new token, child of the world's shutdown token (cancelled already if the signal was
 * raised), owned by the caller like any token. Errors: as sim_token_new. */
int sim_shutdown_token(sim_world *w, sim_token *out);

/* ------------------------------------------------------------------------------------------ */
/* Cancellation as a strategy                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Besides the scheduler's choices, a world may choose to cancel. A cancellable await is a
 * pending poll of a task somebody could abort: a task whose join handle is alive (or that
 * belongs to a task set), not a blocking job, not sim_block_on's root. They are counted from
 * 1 in the order they happen. desc.cancel_at = N aborts the task at the N-th (as
 * sim_join_abort would, so its holder sees SIM_ECANCELED); desc.cancel_rate aborts at each
 * with that probability (stream "sim/cancel"). Each cancellation is an event
 * (SIM_EV_CANCEL: a = the await's number), so it is replayed with the seed, and `sim run
 * --cancel-sweep` tries N = 1, 2, ... in turn as --sweep does with fault points. */
/* The other kind makes the other branch win, as a slower or faster peer could: a branch
 * point is a poll of a select of two or more branches, or of a timeout whose deadline has not
 * passed, in any task, counted from 1 apart from the awaits. desc.branch_at = N (or
 * desc.branch_rate, stream "sim/branch") picks one: a select then polls its branches from
 * the second on, the first last, so the first ready one after branch 0 wins if there is one
 * (a branch not polled consumes nothing); a timeout fires now, its inner future dropped
 * unpolled. Each is a SIM_EV_CANCEL with b & 2; `sim run --cancel-sweep` tries the branch
 * points after the awaits. */
/* Cancellable awaits so far. */
uint64_t sim_world_cancel_points(const sim_world *w);
/* Branch points so far. */
uint64_t sim_world_branch_points(const sim_world *w);

/* ------------------------------------------------------------------------------------------ */
/* Network                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* The simulated network (docs/network.md) carries bytes between nodes by address (node,
 * port). Datagrams are unordered and may be lost, duplicated or delayed; streams are ordered
 * and reliable while their connection lives, and reset when a peer crashes or a partition
 * outlasts the stream timeout. Latency, loss, duplication, bandwidth, partitions and clogs
 * come from the link model and the fault plan; every send, delivery, drop, duplicate and
 * reset is an event. A socket lives on the node of the task that opens it (a world-level
 * task has none: SIM_ENODE) and a crash of that node closes it. Its handle belongs to whoever
 * opened, accepted or connected it (see "Handles"), whose end closes it as sim_*_close would.
 * Closing is idempotent and safe on a zeroed or dead handle. A handle whose socket was closed
 * (through any copy of the handle, by its owner's end, or by a crash) gives SIM_ECLOSED; one of
 * another world, or that is not a socket of the right kind, is SIM_EMISUSE and a violation.
 * Operations are awaitables (SIM_AWAIT); what one armed (its place as the socket's reader or
 * writer, a connection being made) is released when it is dropped. */

typedef struct sim_addr {
    sim_node_id node;
    uint16_t port;     /* 1..65535 */
} sim_addr;

/* ---- the link model and the network's settings ---- */

/* One direction of a link. */
typedef struct sim_link {
    sim_latency latency;   /* one-way, uniform in [min, max]; zero = 1ms..5ms */
    uint64_t tail_ns;      /* mean of an extra exponential delay (a long tail); 0 = none */
    uint64_t bandwidth;    /* bytes per second; 0 = unlimited. Messages queue behind each other */
    sim_ratio loss;        /* this link's probability for net/send/drop; {0, 0}: the plan's */
    sim_ratio dup;         /* this link's probability for net/send/dup; {0, 0}: the plan's */
} sim_link;

/* Sets the model of the links from `from` to `to` (one way). Node 0 stands for every node:
 * (0, 0) is the default for every link, (n, 0) every link out of n. The most specific one
 * applies. Errors: SIM_ENODE (unknown node), SIM_EINVAL (latency min > max, loss or dup
 * above 1). */
int sim_net_link(sim_world *w, sim_node_id from, sim_node_id to, const sim_link *link);

typedef struct sim_net_desc {
    uint64_t connect_timeout_ns;  /* a connect whose handshake gets no answer fails; 0 = 1 s */
    uint64_t stream_timeout_ns;   /* a stream that cannot deliver for this long is reset on
                                     both sides; 0 = 5 s */
    uint64_t rto_ns;              /* a stream segment the plan drops arrives this much later
                                     (a retransmission); 0 = 200 ms */
    sim_latency reset_delay;      /* after a crash, when the peers' connections reset; zero =
                                     10ms..200ms */
    uint32_t send_buffer;         /* stream window per direction, bytes; 0 = 65536 */
    uint32_t segment_min;         /* stream segment sizes, drawn per segment: a read can return
                                     fewer bytes than a write wrote; 0 = 1 */
    uint32_t segment_max;         /* at most 65535; 0 = 1460 */
    uint32_t recv_queue;          /* datagrams queued per socket; more are dropped; 0 = 1024 */
} sim_net_desc;

/* Sets the network's settings, before any socket is opened. Errors: SIM_EINVAL (a value out
 * of range, segment_min > segment_max), SIM_EMISUSE (sockets exist). */
int sim_net_configure(sim_world *w, const sim_net_desc *desc);

/* ---- partitions and clogs (the fault plan uses these; tests may too) ---- */

/* Messages from `from` to `to` are lost (datagrams) or wait (streams, which reset after the
 * stream timeout) until the link is healed. One way. */
int sim_net_block(sim_world *w, sim_node_id from, sim_node_id to);
/* Splits the listed nodes into groups (group[i] is the group of nodes[i]): every link between
 * two groups is blocked both ways; unlisted nodes keep their links. SIM_ENODE, SIM_EINVAL. */
int sim_net_partition(sim_world *w, const sim_node_id *nodes, const uint32_t *group,
                      uint32_t count);
/* Unblocks every link; streams deliver what waited. */
void sim_net_heal(sim_world *w);
/* Messages to and from a clogged node wait (datagrams too) until it is unclogged, then go on
 * in order. SIM_ENODE. */
int sim_net_clog(sim_world *w, sim_node_id node, bool clogged);
/* false when messages from `from` cannot reach `to` now (blocked or clogged). */
bool sim_net_reachable(const sim_world *w, sim_node_id from, sim_node_id to);

/* ---- datagrams ---- */

#define SIM_DATAGRAM_MAX 65507

typedef struct sim_udp {
    sim_handle h;
} sim_udp;

/* Binds a datagram socket on the running task's node (the node being booted, in a boot
 * function); port 0 picks a free ephemeral port (49152..65535). The socket belongs to the
 * caller (see "Handles"). Errors: SIM_EADDRINUSE, SIM_ENODE (not on a node), SIM_ELIMIT. */
int sim_udp_bind(sim_world *w, uint16_t port, sim_udp *out);
/* Sends a datagram; never waits. SIM_OK means sent, not delivered: it may be lost,
 * duplicated or delayed. Errors: SIM_ETOOBIG (> SIM_DATAGRAM_MAX), SIM_ENODE (unknown
 * destination node), SIM_EINVAL (port 0), SIM_ECLOSED (the socket is closed), SIM_EMISUSE
 * (a bad handle). */
int sim_udp_send_to(sim_world *w, const sim_udp *sock, sim_addr to, const void *data,
                    size_t len);

/* What a receive got: len bytes (at most the buffer's capacity: a longer datagram is cut and
 * `truncated` says so) from `from`. */
typedef struct sim_datagram {
    size_t len;
    sim_addr from;
    bool truncated;
} sim_datagram;

/* Receives one datagram into buf (cap bytes); SIM_ECLOSED when the socket is closed. */
typedef struct sim_udp_recv_op {
    sim_fut fut;
    const sim_udp *sock;
    void *buf;
    size_t cap;
    sim_datagram *out;
} sim_udp_recv_op;

sim_udp_recv_op sim_udp_recv(const sim_udp *sock, void *buf, size_t cap, sim_datagram *out);
sim_addr sim_udp_addr(const sim_world *w, const sim_udp *sock);
void sim_udp_close(sim_world *w, sim_udp *sock);

/* ---- streams ---- */

typedef struct sim_listener {
    sim_handle h;
} sim_listener;

typedef struct sim_conn {
    sim_handle h;
} sim_conn;

/* Listens on a port of the running task's node; backlog 0 = 128 connections waiting to be
 * accepted (more are refused). Errors: as sim_udp_bind. */
int sim_listen(sim_world *w, uint16_t port, uint32_t backlog, sim_listener *out);
void sim_listener_close(sim_world *w, sim_listener *l);
/* The address the listener is bound to (its port, also when it asked for port 0); a zero
 * address for a closed or bad handle. */
sim_addr sim_listener_addr(const sim_world *w, const sim_listener *l);

/* Accepts a connection into *conn (the caller's), its remote address into *peer (may be
 * NULL). SIM_ECLOSED when the listener is closed. */
typedef struct sim_accept_op {
    sim_fut fut;
    const sim_listener *listener;
    sim_conn *conn;
    sim_addr *peer;
} sim_accept_op;

sim_accept_op sim_accept(const sim_listener *l, sim_conn *conn, sim_addr *peer);

/* Connects from the running task's node to `to`; on SIM_OK *conn is the connection (the
 * caller's). Errors: SIM_ECONNREFUSED (the node is up and nothing listens), SIM_ETIMEDOUT
 * (no answer within the connect timeout: the node is down or cut off), SIM_ENODE (unknown
 * node, or not in a node's task), SIM_EINVAL (port 0). Dropped unfinished, the connection
 * being made is abandoned. */
typedef struct sim_connect_op {
    sim_fut fut;
    sim_addr to;
    sim_conn *conn;
    uint32_t slot_;    /* private: the connection being made */
    uint32_t id_;
} sim_connect_op;

sim_connect_op sim_connect(sim_addr to, sim_conn *conn);

/* Reads at least 1 and at most cap bytes into buf; *len (may be NULL) is how many: possibly
 * fewer than the peer wrote in one go (code must handle partial reads), or 0 at the end of
 * the stream (the peer shut down writing). SIM_ECONNRESET when the connection was reset,
 * SIM_ECLOSED when this side closed it. */
typedef struct sim_read_op {
    sim_fut fut;
    const sim_conn *conn;
    void *buf;
    size_t cap;
    size_t *len;
} sim_read_op;

sim_read_op sim_read(const sim_conn *conn, void *buf, size_t cap, size_t *len);

/* Reads exactly len bytes into buf. SIM_EEOF when the stream ends before; SIM_ECONNRESET,
 * SIM_ECLOSED as sim_read. */
typedef struct sim_read_exact_op {
    sim_fut fut;
    const sim_conn *conn;
    void *buf;
    size_t len;
    size_t done_;      /* private */
} sim_read_exact_op;

sim_read_exact_op sim_read_exact(const sim_conn *conn, void *buf, size_t len);

/* Writes len bytes from buf (read as the stream takes them: keep them in the state block).
 * Completes when all are taken: the stream's window (send_buffer bytes not yet read by the
 * peer) gives backpressure. SIM_ECONNRESET, SIM_ECLOSED (this side closed or shut down
 * writing). */
typedef struct sim_write_op {
    sim_fut fut;
    const sim_conn *conn;
    const void *buf;
    size_t len;
    size_t done_;      /* private */
} sim_write_op;

sim_write_op sim_write(const sim_conn *conn, const void *buf, size_t len);

/* Half-close: the peer reads what was written, then the end of the stream; this side can
 * still read. Errors: SIM_ECLOSED, SIM_ECONNRESET. */
int sim_shutdown(sim_world *w, const sim_conn *conn);
/* Closes the connection: written data still goes out, then the end of the stream; data that
 * arrives afterwards resets the peer. */
void sim_conn_close(sim_world *w, sim_conn *conn);
sim_addr sim_conn_local(const sim_world *w, const sim_conn *conn);
sim_addr sim_conn_peer(const sim_world *w, const sim_conn *conn);

/* ---- length-prefixed frames ---- */

/* A frame is a 4-byte big-endian length, then that many bytes (at most 2^32 - 5). Reading one
 * into buf (max bytes): *len (may be NULL) is the frame's length. SIM_ETOOBIG when the peer
 * announces more than max (the stream is then out of step: close it), SIM_EEOF when the
 * stream ends inside a frame (at a frame boundary too: there is no next frame), SIM_EINVAL
 * for max 0, and the errors of sim_read. */
typedef struct sim_frame_read_op {
    sim_fut fut;
    const sim_conn *conn;
    void *buf;
    uint32_t max;
    uint32_t got_;     /* private: bytes of header and body read */
    uint32_t *len;
    uint8_t hdr_[4];   /* private */
    uint32_t flen_;    /* private: the announced length */
} sim_frame_read_op;

sim_frame_read_op sim_frame_read(const sim_conn *conn, void *buf, uint32_t max, uint32_t *len);

/* Writing one: SIM_ETOOBIG when len > max (nothing is written), SIM_EINVAL for max 0, and the
 * errors of sim_write. data is read as the stream takes it. */
typedef struct sim_frame_write_op {
    sim_fut fut;
    const sim_conn *conn;
    const void *data;
    uint32_t len;
    uint32_t max;
    uint32_t done_;    /* private: bytes of header and body written */
    uint8_t hdr_[4];   /* private */
} sim_frame_write_op;

sim_frame_write_op sim_frame_write(const sim_conn *conn, const void *data, uint32_t len,
                                   uint32_t max);

/* Message types and drop reasons in net events. */
enum {
    SIM_NET_DGRAM = 1,
    SIM_NET_SYN = 2,
    SIM_NET_SYNACK = 3,
    SIM_NET_DATA = 4,
    SIM_NET_FIN = 5,
    SIM_NET_RST = 6,
};

enum {
    SIM_NET_WHY_NONE = 0,
    SIM_NET_WHY_FAULT = 1,     /* net/send/drop fired (a datagram) */
    SIM_NET_WHY_PARTITION = 2, /* the link is blocked */
    SIM_NET_WHY_DOWN = 3,      /* the destination node is down */
    SIM_NET_WHY_NOSOCK = 4,    /* nothing is bound there, or the connection is gone */
    SIM_NET_WHY_FULL = 5,      /* the socket's queue is full */
};

/* ------------------------------------------------------------------------------------------ */
/* Disk                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Each node has its own files (docs/disk.md), addressed by path ("wal/000001.log"; no leading
 * '/', components separated by '/', directories implied by the paths in them). What a write
 * does is visible to reads at once but durable only after fsync of the file; creating,
 * renaming and unlinking are durable only after the directory is synced. When the node
 * crashes, every pending write is independently kept, lost or torn at sector granularity, and
 * every pending directory operation kept or lost, per the [disk] model; the node restarts on
 * exactly the durable state. Faults: disk/read/eio, disk/write/eio, disk/fsync/eio (the dirty
 * data of that file is then dropped, as Linux does), disk/write/enospc, a capacity limit, and
 * disk/corrupt (a sector silently damaged as it becomes durable: only a checksumming reader
 * notices, after a restart).
 *
 * Two faces: operations (futures, for tasks) whose latency decides when they complete and take
 * effect; and synchronous calls for code in a blocking-pool job, which take effect at once and
 * charge the same latency to the job. Both act on the running task's (or job's) node. */

#define SIM_PATH_MAX 255

typedef struct sim_file {
    sim_handle h;
} sim_file;

enum {
    SIM_O_CREATE = 1,  /* create the file if it does not exist */
    SIM_O_EXCL = 2,    /* with SIM_O_CREATE: SIM_EEXIST if it does */
    SIM_O_TRUNC = 4,   /* truncate it to 0 bytes */
};

/* What a file handle refers to, for sim_file_size and listings. */
typedef struct sim_dir_entry {
    char name[SIM_PATH_MAX + 1];  /* the name within the directory */
    bool is_dir;                  /* a directory implied by deeper paths */
    uint64_t size;                /* files: the size reads see */
} sim_dir_entry;

/* ---- synchronous: inside a blocking-pool job (elsewhere: SIM_EMISUSE and a violation) ---- */

/* Opens (and with SIM_O_CREATE creates) a file. A job owns no handles: this one belongs to the
 * job's node, so close it (or it stays open until the node crashes). Errors: SIM_ENOENT,
 * SIM_EEXIST, SIM_EINVAL (a bad path or flags), SIM_EIO. */
int sim_file_open(sim_world *w, const char *path, uint32_t flags, sim_file *out);
/* Reads up to len bytes at offset; *got is what was read (less at the end of the file).
 * Errors: SIM_EBADF, SIM_EIO. */
int sim_file_pread(sim_world *w, const sim_file *f, void *buf, size_t len, uint64_t offset,
                   size_t *got);
/* Writes len bytes at offset (the file grows as needed). Errors: SIM_EBADF, SIM_EIO,
 * SIM_ENOSPC, SIM_EINVAL (the write would end past 4 GiB, the largest file). */
int sim_file_pwrite(sim_world *w, const sim_file *f, const void *data, size_t len,
                    uint64_t offset);
/* Writes at the end; *offset (may be NULL) is where. Errors as sim_file_pwrite. */
int sim_file_append(sim_world *w, const sim_file *f, const void *data, size_t len,
                    uint64_t *offset);
/* Makes the file's pending writes and truncations durable. SIM_EIO: they are dropped, not
 * durable, and a later fsync has nothing to make durable. sim_file_datasync is the same here. */
int sim_file_sync(sim_world *w, const sim_file *f);
int sim_file_datasync(sim_world *w, const sim_file *f);
/* Sets the file's size (bytes past the old end read as zeros). Errors: SIM_EBADF, SIM_ENOSPC,
 * SIM_EINVAL (past 4 GiB, the largest file). */
int sim_file_truncate(sim_world *w, const sim_file *f, uint64_t size);
/* Errors: SIM_ENOENT (from), SIM_EINVAL (bad paths), SIM_EIO. Replaces an existing `to`. */
int sim_disk_rename(sim_world *w, const char *from, const char *to);
int sim_disk_unlink(sim_world *w, const char *path);
/* Makes the pending creations, renames and unlinks in a directory durable ("" is the root). */
int sim_disk_sync_dir(sim_world *w, const char *dir);

/* ---- anywhere on a node (instant: no latency, no faults) ---- */

/* The size reads see. SIM_EBADF (as every call on a file handle whose file was closed, by
 * sim_file_close through any copy, its owner's end or a crash; a handle of another world or
 * kind is SIM_EMISUSE and a violation, except here). */
int sim_file_size(const sim_world *w, const sim_file *f, uint64_t *size);
/* Closes the handle; safe on a zeroed or dead one. Pending writes stay pending. */
void sim_file_close(sim_world *w, sim_file *f);
/* The entries of a directory as reads see them, sorted by name: at most max into out, *count
 * how many there are. SIM_EINVAL for a bad path. */
int sim_disk_list(sim_world *w, const char *dir, sim_dir_entry *out, uint32_t max,
                  uint32_t *count);

/* ---- operations: futures for tasks ---- */

typedef enum sim_disk_op_kind {
    SIM_DISK_OPEN = 1,
    SIM_DISK_READ = 2,
    SIM_DISK_WRITE = 3,
    SIM_DISK_APPEND = 4,
    SIM_DISK_SYNC = 5,
    SIM_DISK_DATASYNC = 6,
    SIM_DISK_TRUNCATE = 7,
    SIM_DISK_RENAME = 8,
    SIM_DISK_UNLINK = 9,
    SIM_DISK_SYNC_DIR = 10,
} sim_disk_op_kind;

/* One operation, made by the constructors below and awaited (its result: as the synchronous
 * call's). The constructors end in _op: the synchronous calls hold the plain names. The
 * data of a write is copied when the operation starts (its first poll), paths too. It takes
 * effect when it completes; dropped before, it still completes (the device got it), and a
 * crash of its node first means it never happened. An open's handle belongs to the caller.
 *
 *     SIM_TRY(sim_disk_append_op(&st->log, st->rec, st->len, NULL));
 *     SIM_TRY(sim_disk_sync_op(&st->log));
 */
typedef struct sim_disk_op {
    sim_fut fut;
    sim_disk_op_kind kind;
    uint32_t flags;          /* open */
    const char *path;        /* open, rename (from), unlink, sync_dir */
    const char *path2;       /* rename (to) */
    const sim_file *file;    /* read, write, append, sync, datasync, truncate */
    sim_file *opened;        /* open: where the handle goes */
    void *buf;               /* read */
    const void *data;        /* write, append */
    size_t len;              /* read: capacity; write, append: bytes */
    uint64_t offset;         /* read, write; truncate: the size */
    size_t *got;             /* read: bytes read (may be NULL) */
    uint64_t *at;            /* append: where it went (may be NULL) */
    uint32_t slot_;          /* private: the request in flight */
    uint32_t id_;
} sim_disk_op;

sim_disk_op sim_disk_open_op(const char *path, uint32_t flags, sim_file *out);
sim_disk_op sim_disk_read_op(const sim_file *f, void *buf, size_t len, uint64_t offset,
                             size_t *got);
sim_disk_op sim_disk_write_op(const sim_file *f, const void *data, size_t len, uint64_t offset);
sim_disk_op sim_disk_append_op(const sim_file *f, const void *data, size_t len, uint64_t *at);
sim_disk_op sim_disk_sync_op(const sim_file *f);
sim_disk_op sim_disk_datasync_op(const sim_file *f);
sim_disk_op sim_disk_truncate_op(const sim_file *f, uint64_t size);
sim_disk_op sim_disk_rename_op(const char *from, const char *to);
sim_disk_op sim_disk_unlink_op(const char *path);
sim_disk_op sim_disk_sync_dir_op(const char *dir);

/* ---- the model ---- */

typedef struct sim_disk_desc {
    uint32_t sector;             /* bytes, a power of two in 512..65536; 0 = 512 */
    uint64_t capacity;           /* bytes per node; 0 = unlimited */
    sim_latency read_latency;    /* zero = 20us..100us */
    sim_latency write_latency;   /* zero = 20us..100us */
    sim_latency sync_latency;    /* fsync and directory sync; zero = 1ms..5ms */
    sim_latency meta_latency;    /* open, rename, unlink; zero = 10us..50us */
    /* The mean of an extra exponential delay on top of each latency, cut at 20 times the mean
     * (a slow device's tail); 0 = none, at most one hour. */
    uint64_t read_tail_ns;
    uint64_t write_tail_ns;
    uint64_t sync_tail_ns;
    uint64_t meta_tail_ns;
    sim_ratio crash_keep;        /* a pending write survives a crash whole; {0,0} = 1/2 */
    sim_ratio crash_torn;        /* ... survives in part, sector by sector; {0,0} = 1/4 */
    sim_ratio torn_garbage;      /* a torn sector holds garbage, not what was there; {0,0} = 0 */
    sim_ratio dir_keep;          /* a pending directory operation survives; {0,0} = 1/2 */
} sim_disk_desc;

/* Sets the disk model of every node, before any file is opened. Errors: SIM_EINVAL (a value
 * out of range, keep + torn above 1), SIM_EMISUSE (files are open; also a violation). */
int sim_disk_configure(sim_world *w, const sim_disk_desc *desc);

/* Crash outcomes in disk-crash events. */
enum {
    SIM_DISK_KEPT = 1,
    SIM_DISK_LOST = 2,
    SIM_DISK_TORN = 3,
};

/* ------------------------------------------------------------------------------------------ */
/* Host worlds                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* A world made with desc.backend = SIM_BACKEND_HOST runs the same tasks, futures, channels,
 * timers, select, tokens, mutexes and notifies on the host (docs/api.md, "Host worlds"):
 * - the executor runs on an epoll loop; sim_now is CLOCK_MONOTONIC nanoseconds since the
 *   world was made; with nothing runnable it blocks in epoll_wait until the next timer, a
 *   socket or a finished blocking job. A run ends as in simulation (every non-daemon task
 *   done, sim_world_stop, the time limit); nothing runnable with no timer, no socket waited
 *   on and no job running is still SIM_EDEADLOCK. There is no step-by-step determinism: the
 *   trace hash of a host run is not reproducible and a host run cannot be replayed.
 * - addresses stay (node, port): node N's sockets bind its desc.host_addr and a connect to
 *   (N, port) goes to host_addr:port. Streams are non-blocking TCP, datagrams UDP; refusal,
 *   reset and close map to SIM_ECONNREFUSED, SIM_ECONNRESET and SIM_ECLOSED; other socket
 *   errors to SIM_EIO. Port 0 is an ephemeral port of the host (sim_listener_addr).
 * - a node's files are host_dir/NAME/PATH (its desc.host_dir/PATH if given): real open,
 *   pread, pwrite, fsync, fdatasync, rename, unlink and directory fsync; host errors map to
 *   SIM_ENOENT, SIM_EEXIST, SIM_ENOSPC, else SIM_EIO. The operations (sim_disk_*_op)
 *   complete at their first poll. File handles of a host world are not released with their
 *   owner: close them (the world's end closes what is left).
 * - the blocking pool is pool_workers real threads per node; a job's run function runs on one
 *   of them and may call the synchronous file API, sim_now, sim_hash, sim_handle_valid and
 *   sim_job_charge (a no-op there) only. Its completion returns to the loop through an
 *   eventfd. sim_world_free waits for running jobs.
 * - sim_node_crash and sim_node_restart of a node this process runs (one with a boot
 *   function) behave as in simulation: the node's tasks are dropped in crash mode, its
 *   sockets close (peers see the connections end), the files its tasks and jobs opened
 *   close, and its pool stops: a job running on a thread cannot be stopped, so the crash
 *   waits for it, and its completion is never delivered (its notes are still traced);
 *   restart boots it again. Its files stay as they are on the host's disk: there is no
 *   unsynced-write model (what was written is in the page cache, synced or not).
 * - what only the simulator can do returns SIM_ESIMONLY with a violation naming the call:
 *   a crash or restart of a node this process does not run, pause and resume, clock skew,
 *   link models, partitions, clogs,
 *   sim_net_configure, sim_disk_configure, fault points set or armed, forced decisions,
 *   spurious wakeups, cancel_at and cancel_rate (the last three refused by sim_world_new with
 *   SIM_ESIMONLY). Fault points a system reaches never fire on a host world.
 * - systems need no #ifdef: the same code runs on both (tests/unit/test_kv_engine.c runs the
 *   kv engine's tests on both backends).
 * - events: the executor's, and the sockets' traffic as net events (a connection made: syn;
 *   each completed read or write of a task: data, its bytes; the end of a stream: fin; a
 *   datagram). Notes and violations made on a pool thread are emitted by the loop, as the
 *   job's, when its completion comes back: every event comes from the loop's thread.
 *   sim_world_record stores them in a trace database. */

/* Whether the world runs on the host. */
bool sim_world_is_host(const sim_world *w);
/* Splits "IP:PORT", "[IPv6]:PORT" or "NAME:PORT" into its host part (copied into host, at
 * most host_size bytes with the terminator) and port (1..65535). Needs no world. Errors:
 * SIM_EINVAL (no port, a port out of range, an empty or too long host part). */
int sim_addr_split(const char *text, char *host, size_t host_size, uint16_t *port);
/* Parses an address given as text: "NAME:PORT" for a node of that name, and on a host world
 * also "IP:PORT" or "[IPv6]:PORT" for a node whose host_addr is that IP, declaring one (named
 * after the IP, no boot) when there is none. Errors: SIM_EINVAL (bad text, an unknown name on
 * a simulated world), SIM_ELIMIT (nodes). */
int sim_addr_parse(sim_world *w, const char *text, sim_addr *out);
/* Host worlds: makes SIGINT and SIGTERM call sim_world_stop(w) (the run then returns
 * SIM_ESTOPPED, and a second signal ends the process as the default action would). One world
 * per process at a time; w = NULL restores the default actions. On a simulated world:
 * SIM_ESIMONLY. */
int sim_world_stop_on_signals(sim_world *w);

/* Recording a host run in a trace database (docs/api.md, "Recording a host run"): the same
 * events a simulated run records with --record full, in the same schema, so that sim list,
 * show, explain and viz read a real run; its row is marked as a host run (backend 'host') and
 * sim replay refuses it. Events are written as the run goes, batch_events at a time (and when
 * an event comes a second or more after the last write), each batch one transaction; the row
 * says "running" until sim_world_free writes its end (result, counts, violations, the report).
 * A process killed before that keeps the batches written and a row still "running". A write
 * that fails stops the recording (one line on stderr says why); the run goes on. */
typedef struct sim_record_desc {
    const char *name;       /* the run's name, where a scenario's would be ("kvs-server");
                               copied; NULL = "host" */
    const char *system;     /* the system it runs ("kv"); copied; NULL = "" */
    const char *config;     /* how it was started, in words (its command line); copied;
                               NULL = "" */
    uint32_t batch_events;  /* events kept in memory before a write; 0 = 4096 */
} sim_record_desc;

/* Attaches the trace database at path (created if missing; an existing sim database gains a
 * run) to a host world, before its first event: call it right after sim_world_new. The
 * world's own trace sink, if any, still sees every event. desc may be NULL (defaults). Errors,
 * with a message in err (may be NULL): SIM_EINVAL (a database that cannot be opened or
 * written: why, naming the file; or a simulated world: sim run --db records those),
 * SIM_EMISUSE (the world has events already, is recorded already, or a task is running). */
int sim_world_record(sim_world *w, const char *path, const sim_record_desc *desc, char *err,
                     size_t err_size);
/* The run id the recorded world has in its database (sim show --db PATH RUN), or 0 when it is
 * not recorded. */
uint64_t sim_world_record_run(const sim_world *w);

/* ------------------------------------------------------------------------------------------ */
/* Faults                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Fault points are libfiu points with stable names (docs/faults.md lists them): node/crash,
 * node/restart and node/pause, hit by the fault plan's driver, and sut/<system>/<what>
 * points that systems declare and hit in their own code, BUGGIFY style. libsim enables each
 * known point once, by its exact name, with fiu_enable_external; the callback asks the plan of
 * the world that hit the point. Whether a hit fires is a pure function of (seed, point name,
 * how many times this world has reached that point) and the point's probability, so a change
 * elsewhere in a system never moves another point's faults. Every fault that fires is an
 * event (SIM_EV_FAULT) and a record (sim_world_fault). */

/* A point a system declares. The name is "sut/<system>/<what>": lower-case letters, digits
 * and "-_./", at most 60 characters. Its scenario key in [faults] is the name itself. */
typedef struct sim_fault_point {
    const char *name;
    const char *doc;   /* one line: what firing it does, for docs and errors */
} sim_fault_point;

/* Registers points for the whole process (enabled in libfiu once; declaring a name again is
 * a no-op). Scenario loading declares its system's points itself. Thread-safe. Errors:
 * SIM_EINVAL (a malformed name), SIM_ELIMIT (more than 1024 points in the process). */
int sim_fault_declare(const sim_fault_point *points, uint32_t count);

/* Hits a fault point: returns 1 when the plan injects a fault at this hit (the caller then
 * does what the fault means: fail the call, drop the reply, take the slow path), else 0.
 * Goes through libfiu's fiu_fail. A point that was never declared is a misuse violation
 * (a typo would otherwise never fire). Usable inside and outside tasks. Code built with
 * -DSIM_NO_FAULT_POINTS compiles SIM_FAULT away to 0. Code that marks points with libfiu's
 * own fiu_return_on / fiu_do_on (built with -DFIU_ENABLE) reaches the same plan, through the
 * world that is running on the thread. */
int sim_fault(sim_world *w, const char *point);
#ifdef SIM_NO_FAULT_POINTS
#define SIM_FAULT(w, point) ((void)(w), 0)
#else
#define SIM_FAULT(w, point) sim_fault((w), (point))
#endif

/* Sets a point's probability per hit in this world (scenario files do this from [faults]).
 * Errors: SIM_EINVAL (undeclared point, p > q, q = 0). */
int sim_fault_set(sim_world *w, const char *point, sim_ratio per_hit);
/* Makes exactly the hit-th hit (0-based) of the point fire, in addition to its probability;
 * UINT64_MAX clears it. Errors: SIM_EINVAL (undeclared point). */
int sim_fault_fail_at(sim_world *w, const char *point, uint64_t hit);
/* How many times this world has reached the point so far (fired or not). */
uint64_t sim_fault_hits(const sim_world *w, const char *point);

/* What an injected fault did. Values are stable (traces store them). */
#define SIM_FAULT_ACTION_TABLE(X)                                                                  \
    X(SIM_FAULT_FIRE, 1, "fire")           /* a point in the code under test fired */              \
    X(SIM_FAULT_CRASH, 2, "crash")                                                                 \
    X(SIM_FAULT_RESTART, 3, "restart")                                                             \
    X(SIM_FAULT_PAUSE, 4, "pause")                                                                 \
    X(SIM_FAULT_RESUME, 5, "resume")                                                               \
    X(SIM_FAULT_PARTITION, 6, "partition")                                                         \
    X(SIM_FAULT_HEAL, 7, "heal")                                                                   \
    X(SIM_FAULT_QUIET, 8, "quiet")         /* faults stop: the liveness phase begins */            \
    X(SIM_FAULT_CLOCK, 9, "clock")         /* a node's clock skew and drift were set */            \
    X(SIM_FAULT_CLOG, 10, "clog")          /* a node's messages wait */                            \
    X(SIM_FAULT_UNCLOG, 11, "unclog")

typedef enum sim_fault_action {
#define SIM__FAULT_ACTION_ENUM(name, value, text) name = (value),
    SIM_FAULT_ACTION_TABLE(SIM__FAULT_ACTION_ENUM)
#undef SIM__FAULT_ACTION_ENUM
} sim_fault_action;

/* "crash", ...; "?" if unknown. */
const char *sim_fault_action_name(sim_fault_action action);

/* One injected fault. */
typedef struct sim_fault_rec {
    uint64_t step;
    uint64_t vtime_ns;
    const char *point;        /* "node/crash", "sut/kv/...", or "script" for an `at` line */
    uint64_t hit;             /* the hit of the point that fired (0-based); for a script
                                 line, its index among the plan's `at` lines */
    sim_node_id node;         /* the node acted on; 0 = none */
    sim_fault_action action;
    const char *detail;       /* a script line as written ("5s crash n2"); NULL otherwise */
} sim_fault_rec;

uint32_t sim_world_fault_count(const sim_world *w);
/* The i-th fault injected (in order), or NULL. Owned by the world. */
const sim_fault_rec *sim_world_fault(const sim_world *w, uint32_t i);

/* A countdown sweep: fail the k-th hit of one point, for k = 0, 1, 2, ..., one world per k,
 * until a run no longer reaches hit k (every hit the code can reach has failed once) or
 * max_runs worlds have run:
 *
 *     sim_sweep sw;
 *     sim_sweep_init(&sw, "sut/kv/fsync-eio", 1000);
 *     while (sim_sweep_next(&sw)) {
 *         ... make a world w, set it up ...
 *         sim_sweep_arm(&sw, w);
 *         ... run and check it ...
 *         sim_sweep_end(&sw, w);
 *         sim_world_free(w);
 *     }
 *
 * sw.k is the hit that fails in the current world; sw.complete says, at the end, whether the
 * sweep ran out of hits (true) or of runs (false). */
typedef struct sim_sweep {
    const char *point;     /* borrowed */
    uint64_t k;            /* the hit that fails in this run */
    uint32_t runs;         /* runs begun */
    uint32_t max_runs;
    bool complete;         /* the last run did not reach its hit k */
    bool started_;         /* private */
} sim_sweep;

void sim_sweep_init(sim_sweep *sw, const char *point, uint32_t max_runs);
/* true while there is another run to do. */
bool sim_sweep_next(sim_sweep *sw);
/* Arms this run's world: the point fails at hit sw->k. Errors as sim_fault_fail_at. */
int sim_sweep_arm(sim_sweep *sw, sim_world *w);
/* Ends this run: notes whether the world reached hit k. */
void sim_sweep_end(sim_sweep *sw, const sim_world *w);

/* ------------------------------------------------------------------------------------------ */
/* Histories and linearizability                                                              */
/* ------------------------------------------------------------------------------------------ */

/* A history is what clients saw, as Jepsen records it (docs/checking.md): a process invokes an
 * operation (a function such as read, on a key, with a value), then completes it: ok (it took
 * effect, returning a value), fail (it certainly did not take effect) or info (nobody knows:
 * it may take effect at any time after its invocation, or never). An invocation that is
 * never completed counts as info, and the value of an info completion is ignored. A process
 * has at most one operation pending: as in Jepsen, a client whose operation ended in info
 * goes on as a new process. Keys and values are EDN text: nil, true, 42, "text", :keyword,
 * [1 2]. The history event's b carries 32 bits of a hash of the entry's EDN text, so that
 * the trace hash covers what clients saw. */

typedef enum sim_op_type {
    SIM_OP_INVOKE = 1,
    SIM_OP_OK = 2,
    SIM_OP_FAIL = 3,
    SIM_OP_INFO = 4,
} sim_op_type;

/* Records an invocation in the world's history: process invokes f (a keyword's name, "read")
 * on key (EDN text; NULL: no key) with value (EDN text; NULL: nil); *op names the operation
 * for sim_history_complete. Each entry is an event (SIM_EV_HISTORY) and is stored with the
 * run, so that `sim check --db FILE RUN` checks it again. Errors: SIM_EINVAL (bad EDN, a bad
 * f, the process has an operation pending), also recorded as a misuse violation;
 * SIM_ELIMIT (more than 2^31 entries or values). */
int sim_history_invoke(sim_world *w, uint32_t process, const char *f, const char *key,
                       const char *value, uint32_t *op);
/* Completes op with SIM_OP_OK, SIM_OP_FAIL or SIM_OP_INFO and what it returned (EDN text;
 * NULL: nil). Errors: SIM_EINVAL (an unknown or completed op, a bad type or EDN; also a
 * violation), SIM_ELIMIT (more than 2^31 entries or values). */
int sim_history_complete(sim_world *w, uint32_t op, sim_op_type type, const char *value);
/* s as an EDN string ("x" -> "\"x\"", quotes and backslashes escaped) into buf; returns the
 * length it needs, as snprintf does. */
size_t sim_edn_quote(const char *s, char *buf, size_t size);

/* Histories as data: built entry by entry, read from EDN, or copied from a world. */
typedef struct sim_history sim_history;

typedef struct sim_history_entry {
    uint32_t process;
    sim_op_type type;
    const char *f;           /* the function: a keyword's name, "read" */
    const char *key;         /* EDN text; NULL: no key */
    const char *value;       /* EDN text; NULL: nil */
    uint64_t time_ns;        /* when it happened (virtual time, or :time), for reports */
    uint32_t line;           /* where it came from, for messages; 0: nowhere */
} sim_history_entry;

int sim_history_new(sim_history **out);
void sim_history_free(sim_history *h);
/* Appends an entry (strings are copied). Errors, SIM_EINVAL with a message in err: bad EDN,
 * a bad f, a completion without a pending invocation of its process, an invocation while
 * one is pending, a completion whose f or key differs from its invocation's. The history is
 * unchanged on error. */
int sim_history_add(sim_history *h, const sim_history_entry *e, char *err, size_t err_size);
/* Reads Jepsen's EDN history: one map per line, {:process 0, :type :invoke, :f :read,
 * :key "x", :value nil}, the whole optionally inside [ ]. :time (ns) is kept for reports,
 * other keys are ignored, entries of the :nemesis process are skipped. A text whose first
 * line is not a map is read as Jepsen's log lines instead,
 * "INFO  jepsen.util - 3<TAB>:invoke<TAB>:read<TAB>nil" (process, type, f, value; no key;
 * what precedes " - " is skipped). Errors: SIM_EINVAL
 * with "PATH:LINE:COL: message"; SIM_ELIMIT (more than 2^31 entries or values, or a string
 * over 2 GiB). */
int sim_history_parse_edn(const char *path, const char *text, sim_history **out, char *err,
                          size_t err_size);
uint32_t sim_history_count(const sim_history *h);
/* Entry i as one EDN map, without a newline; returns the length it needs, as snprintf: buf
 * may be NULL when size is 0, to ask for the length (then allocate it + 1). */
size_t sim_history_edn(const sim_history *h, uint32_t i, char *buf, size_t size);
/* Declares the work a run is asked to do: at least ops invocations in the world's history,
 * every client's together. A run that ends normally having invoked fewer fails as `check`
 * ("the clients invoked 140 of the 180 operations expected: the run ended with work undone")
 * before the system's check is asked: a run that did less than it was asked proves nothing
 * (a client cut off by a crash, a node that never came back). Call it in setup; a later call
 * replaces the number; 0 (the default) declares nothing. */
void sim_history_expect(sim_world *w, uint64_t ops);
/* SIM_OK when the world's history holds the invocations sim_history_expect declared, else
 * SIM_EINVAL with the line above in msg. The scenario runner asks it after every run that
 * ended normally, before the system's check. */
int sim_world_work_check(const sim_world *w, char *msg, size_t msg_size);
/* A copy of the world's history so far; free it with sim_history_free. */
int sim_world_history(const sim_world *w, sim_history **out);

/* Models say what the object under test is. A model is pure: step writes nothing but next.
 * States are state_size bytes, compared and hashed as bytes unless equal and hash are given
 * (so zero what you do not use); every state pointer a model receives is aligned as malloc's
 * are, so a state may be any struct. Keys and values reach a model as ids into the history's
 * table of values (0 is nil), read with sim_check_value. */
typedef struct sim_check_ctx sim_check_ctx;

typedef enum sim_value_kind {
    SIM_VALUE_NIL = 0,
    SIM_VALUE_INT = 1,
    SIM_VALUE_STRING = 2,
    SIM_VALUE_KEYWORD = 3,
    SIM_VALUE_VECTOR = 4,
    SIM_VALUE_BOOL = 5,
} sim_value_kind;

typedef struct sim_value {
    sim_value_kind kind;
    int64_t i;               /* INT; BOOL: 0 or 1 */
    const char *s;           /* STRING, KEYWORD: len bytes, not NUL-terminated */
    const uint32_t *items;   /* VECTOR: len value ids */
    uint32_t len;
} sim_value;

/* The output of an info operation: it may have returned anything. */
#define SIM_VALUE_UNKNOWN UINT32_MAX

/* Value id as a sim_value, valid until the next sim_check_intern or sim_check_concat (and, for
 * a string made by sim_check_concat, the next sim_check_value of another such string). */
sim_value sim_check_value(const sim_check_ctx *c, uint32_t id);
/* The id of a string or keyword value, made if the history has none (a model's new state:
 * kv's append); valid during this check. SIM_VALUE_UNKNOWN past the value table's limit
 * (2^31 values, or a string over 2 GiB); the check then ends with SIM_ELIMIT. */
uint32_t sim_check_intern(sim_check_ctx *c, sim_value_kind kind, const char *s, size_t len);
/* The id of string a followed by string b (a state that grows: kv's append), made without
 * reading or copying either: a string grown by appends is kept as the one it grew from and
 * what was added, so configurations share their prefixes. Ids stay one per content, whichever
 * way a string was made. SIM_VALUE_UNKNOWN if a or b is not a string, or past the value
 * table's limit (as sim_check_intern). */
uint32_t sim_check_concat(sim_check_ctx *c, uint32_t a, uint32_t b);
/* The id of keyword :name, or SIM_VALUE_UNKNOWN when the history has none. */
uint32_t sim_check_keyword(const sim_check_ctx *c, const char *name);
/* Value id as EDN text; returns the length it needs, as snprintf. */
size_t sim_check_value_text(const sim_check_ctx *c, uint32_t id, char *buf, size_t size);

/* An operation as a model sees it: an invocation with its completion. */
typedef struct sim_op {
    uint32_t id;             /* 0-based, in invocation order */
    uint32_t process;
    uint32_t f;              /* keyword id of the function */
    uint32_t code;           /* the model's number for f, set by prepare */
    uint32_t key;            /* value id; 0 (nil) without a key */
    uint32_t input;          /* the invocation's value */
    uint32_t output;         /* the ok's value; SIM_VALUE_UNKNOWN for info */
    bool skip;               /* set by prepare: leave it out (an info read changes nothing) */
    /* Set by prepare: it never changes the state, whatever the state (an ok read). The search
     * then places it as early as it can and never elsewhere, which saves much of its work. */
    bool pure;
    /* Set by prepare: step reads only this operation's code, f, key, input and output (not
     * its id or process). An in-doubt (info) operation may then stand for another just like
     * it invoked later, so the search places such twins in the order they were invoked: n
     * in-doubt increments cost n + 1 counts instead of 2^n subsets. */
    bool alike;
} sim_op;

#define SIM_MODEL_STATE_MAX 64

typedef struct sim_model {
    const char *name;
    const char *summary;
    uint32_t state_size;     /* bytes, 1..SIM_MODEL_STATE_MAX */
    bool whole;              /* true: one object; false: keys are independent, checked apart */
    /* Checks one operation before the search (a function it knows, values of the right
     * kinds); may set op->code and op->skip. false with a message in err stops the check. */
    bool (*prepare)(sim_check_ctx *c, sim_op *op, char *err, size_t err_size);
    void (*init)(sim_check_ctx *c, void *state);
    /* Can op take effect in state, returning what it returned? If so writes the state after
     * it into next and returns true. */
    bool (*step)(sim_check_ctx *c, const void *state, const sim_op *op, void *next);
    bool (*equal)(const void *a, const void *b);  /* NULL: the bytes */
    uint64_t (*hash)(const void *state);          /* NULL: XXH3 of the bytes */
    /* The state in words, for reports: "3", "absent". */
    void (*describe)(const sim_check_ctx *c, const void *state, char *buf, size_t size);
} sim_model;

/* register: read, write and cas ([old new]) of one value, nil at first (per key when the
 * operations have keys). kv: get, put, append and rm on keys, independent of each other; a
 * get of a missing key returns nil (kv-empty: ""). docs/checking.md has their rules. */
extern const sim_model sim_model_register;
extern const sim_model sim_model_kv;
extern const sim_model sim_model_kv_empty;
/* By name (register, kv, kv-empty); NULL when unknown. */
const sim_model *sim_model_find(const char *name);

typedef enum sim_verdict {
    SIM_LINEARIZABLE = 0,
    SIM_NOT_LINEARIZABLE = 1,
    SIM_CHECK_UNKNOWN = 3,   /* a limit ended the search: steps, memory or the timeout */
} sim_verdict;

/* How a key's search treats info operations (docs/checking.md, "The search"). Every one gives
 * the same verdict; they differ in speed. */
typedef enum sim_check_search {
    /* Porcupine's search. If it backs up far below the longest prefix it has found, as it does
     * when no order exists, it searches again with PRUNE, and goes back to where it was if
     * that takes more than 2048 configurations per operation of the key. */
    SIM_SEARCH_AUTO = 0,
    SIM_SEARCH_WGL = 1,      /* Porcupine's search only: fastest to find an order */
    /* Skips a configuration in which an info operation took effect only to have its effect
     * erased unseen: fastest to show that there is none */
    SIM_SEARCH_PRUNE = 2,
} sim_check_search;

typedef struct sim_check_desc {
    const sim_model *model;  /* required */
    uint64_t timeout_ns;     /* host time for the whole check; 0: none (nor is a timeout
                                too long for the clock to reach: it saturates). The only
                                limit whose verdict depends on the host's speed */
    uint32_t jobs;           /* keys checked at once, in threads; 0 = 1 */
    uint64_t max_configs;    /* per key, configurations remembered (0 = 2^24; and at most
                                2 GiB of them); beyond: unknown */
    sim_check_search search;
    /* Steps for the whole check, all keys together; 0: no bound. A step is one operation
     * tried at one configuration, the search's unit of work (its time is proportional, about
     * 0.25 us here; at most one configuration is remembered per step, so it bounds memory
     * too). Keys spend it in their order, and the verdict is the one a check in that order
     * gives whatever jobs is: a key's verdict counts only if it was reached within what the
     * keys before it left (with jobs > 1 keys search at once, each with the whole bound, and
     * the verdicts are then taken in order). Beyond it: unknown. */
    uint64_t max_steps;
    /* Bytes the whole check may hold, all keys and jobs together, counted as the checker
     * allocates them (its memos, stacks and the values its model makes; not the history it
     * reads); 0: 2 GiB. Each round of the search gives every undecided key an equal share of
     * what is free; a key at its share pauses until the next round, and when no key can go
     * on, the last one gives up: unknown, with the figure. The same on any machine and with
     * any jobs. */
    uint64_t max_memory;
    /* Decide every key even after one is found not linearizable (the verdict still names the
     * first anomaly found); by default the check ends there, naming the keys left undecided. */
    bool all_keys;
    /* Steps each key may take in the search's first round (each round adds half as much
     * again); 0: 16384. Changes how soon a later key's anomaly is found, never a verdict
     * (tests set it small to search in many rounds). */
    uint64_t round_steps;
} sim_check_desc;

/* sim_world_check's bound when the world's desc gives none: one to two seconds of search on
 * a 2-core machine (about 60 MB; at most one configuration per step), and the same verdict
 * whatever the machine or its load. */
#define SIM_CHECK_WORLD_MAX_STEPS 10000000ull

typedef struct sim_check_result sim_check_result;

/* Checks that the history is linearizable. SIM_OK with *out set (see sim_check_verdict);
 * SIM_EINVAL when the model refuses an operation (message in err); SIM_ELIMIT when the
 * model's values outgrow the value table (2^31 values). The verdict
 * and the report do not depend on jobs: keys are reported in their order; only unknown
 * depends on the host's speed. */
int sim_check(const sim_history *h, const sim_check_desc *d, sim_check_result **out,
              char *err, size_t err_size);
sim_verdict sim_check_verdict(const sim_check_result *r);
/* One line: "linearizable: 1200 operations on 10 keys", "not linearizable: key \"x\": ...". */
const char *sim_check_summary(const sim_check_result *r);
/* The whole report: for people, or one JSON object. Owned by the result. */
const char *sim_check_report(const sim_check_result *r, bool json);
void sim_check_result_free(sim_check_result *r);

/* For a system's check: is the world's history linearizable under model m (one job, the
 * world's desc.check_max_steps, the other limits at their defaults; never host time, so the
 * answer is the same on any machine)? SIM_OK if so (an empty history is). SIM_EUNKNOWN when
 * the bound ran out before a verdict: a run's result is then `unknown`, not `check` (a
 * system's check returns it as it is). Otherwise SIM_EINVAL, or SIM_ELIMIT. Each with one
 * line in msg: the checker's summary, ending with the command that shows the anomaly or
 * searches further (`sim check --db FILE RUN --model NAME`), or why the history could not be
 * checked. m must be registered for that command to find it. */
int sim_world_check(const sim_world *w, const sim_model *m, char *msg, size_t msg_size);

/* ------------------------------------------------------------------------------------------ */
/* Scenarios and systems                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* A scenario file is INI (docs/scenarios.md): a [scenario] section (name, system, seeds,
 * strategy, time limit, expect) and sections the system under test declares. A system is a
 * named set of keys and three callbacks; the scenario loader validates every key against the
 * declarations (type, range, choices), applies defaults, and rejects anything unknown with
 * the file, line and key, and the valid choices. */
typedef enum sim_key_type {
    SIM_KEY_STRING = 0,   /* any text up to 150 characters */
    SIM_KEY_UINT = 1,     /* a decimal integer in [min, max] (max 0: no upper bound) */
    SIM_KEY_DURATION = 2, /* 250ms, 2s, 1500us, 10ns: nanoseconds in [min, max]; max 0 (or
                             above SIM_DURATION_MAX) means SIM_DURATION_MAX */
    SIM_KEY_BOOL = 3,     /* true or false */
    SIM_KEY_CHOICE = 4,   /* one of `choices`, written "a|b|c" */
} sim_key_type;

typedef struct sim_key_spec {
    const char *section;        /* e.g. "demo" */
    const char *key;            /* e.g. "ticks"; at most 40 characters */
    sim_key_type type;
    const char *default_value;  /* as it would be written in the file; NULL: required */
    const char *choices;        /* SIM_KEY_CHOICE */
    uint64_t min;               /* SIM_KEY_UINT, SIM_KEY_DURATION */
    uint64_t max;               /* 0: no upper bound */
    const char *doc;            /* one line, for docs and errors */
} sim_key_spec;

typedef struct sim_scenario sim_scenario;

/* A system under test, as the scenario runner sees it. All pointers are borrowed for the life
 * of every scenario that uses the system (static data, in practice). */
typedef struct sim_system {
    const char *name;             /* the value of [scenario] system */
    const char *summary;          /* one line */
    const sim_key_spec *keys;     /* the sections and keys it reads */
    uint32_t key_count;
    /* Adds the system's nodes and tasks to a fresh world for one seed. *run_state may be set to
     * anything check and teardown need. Returns SIM_OK, or an error with a message in err. */
    int (*setup)(void *ud, sim_world *w, const sim_scenario *sc, void **run_state, char *err,
                 size_t err_size);
    /* After a run that ended normally (its work done; with violations too, which then are
     * the result): SIM_OK, or a failed check with a one-line message; SIM_EUNKNOWN (as
     * sim_world_check returns it) when a check could not decide within its bound: the run's
     * result is `unknown`. Not called after a deadlock, a time or step limit, a divergence or
     * an interruption (the run has failed already, and a history cut short proves nothing),
     * nor after a replay stopped at a step. May be NULL. */
    int (*check)(void *ud, void *run_state, sim_world *w, char *msg, size_t msg_size);
    /* Releases run_state. May be NULL. */
    void (*teardown)(void *ud, void *run_state);
    void *ud;
    /* The fault points its code hits (sim_fault), each "sut/<name>/..."; may be NULL. Each
     * becomes a key of [faults]. */
    const sim_fault_point *faults;
    uint32_t fault_count;
    /* The names of the nodes setup adds for a scenario, so that the loader can check the
     * nodes that [faults] `at` lines name: writes at most max names (static strings) and
     * returns how many nodes there are. NULL: names are checked when a run starts. */
    uint32_t (*nodes)(void *ud, const sim_scenario *sc, const char **names, uint32_t max);
    /* The sizes sim shrink may lower toward their minimum, "section.key" separated by spaces
     * ("workload.clients workload.ops"): SIM_KEY_UINT keys of its own whose smaller values
     * make a smaller run (clients, operations, keys). NULL: none. */
    const char *shrink;
} sim_system;

/* Loads and validates a scenario file against the given systems. On error returns SIM_EINVAL
 * (bad content) and writes "FILE:LINE: message" (or "FILE: message") into err.
 * systems is borrowed for the scenario's life. */
int sim_scenario_load(const char *path, const sim_system *const *systems, uint32_t system_count,
                      sim_scenario **out, char *err, size_t err_size);
/* The same from text; `path` names it in messages and is what sim_scenario_path returns. */
int sim_scenario_parse(const char *path, const char *text, const sim_system *const *systems,
                       uint32_t system_count, sim_scenario **out, char *err, size_t err_size);
void sim_scenario_free(sim_scenario *sc);

const char *sim_scenario_path(const sim_scenario *sc);
const char *sim_scenario_name(const sim_scenario *sc);
const sim_system *sim_scenario_system(const sim_scenario *sc);
/* [scenario] seeds = A..B (or one seed N): the range, inclusive. */
uint64_t sim_scenario_seed_first(const sim_scenario *sc);
uint64_t sim_scenario_seed_last(const sim_scenario *sc);
/* true when [scenario] expect = fail: a planted bug that some seed must find. */
bool sim_scenario_expect_fail(const sim_scenario *sc);
/* true when [check] unknown = pass: a run whose check ended unknown (its bound, [check]
 * max_steps, ran out) counts as passed; by default it counts as failed. */
bool sim_scenario_unknown_passes(const sim_scenario *sc);
/* A world desc for one seed: seed, strategy, limits, checkpoint interval. Trace sink, forced
 * decisions and replay hint are left zero for the caller. */
sim_world_desc sim_scenario_world_desc(const sim_scenario *sc, uint64_t seed);

/* The value of a key, validated, with its default applied; NULL for a key the scenario's
 * system and [scenario] do not declare (a programming error: also recorded nowhere). */
const char *sim_scenario_get(const sim_scenario *sc, const char *section, const char *key);
/* A SIM_KEY_UINT value, or a SIM_KEY_DURATION value in ns. Asserts the key is declared so. */
uint64_t sim_scenario_uint(const sim_scenario *sc, const char *section, const char *key);
bool sim_scenario_bool(const sim_scenario *sc, const char *section, const char *key);
/* Changes one key as if the file said `key = value` ([scenario] system excepted), checking
 * it as the loader would. On error returns SIM_EINVAL with a message in err and leaves the
 * scenario as it was. */
int sim_scenario_set(sim_scenario *sc, const char *section, const char *key, const char *value,
                     char *err, size_t err_size);
/* The effective configuration as INI text, every declared key with its value (defaults
 * included), sections and keys sorted: what a run records so that it can be replayed and
 * compared with a later version of the file. Owned by the scenario. */
const char *sim_scenario_canonical(const sim_scenario *sc);

/* What one seed of a scenario did. */
typedef struct sim_run_result {
    int rc;                  /* what the world's run returned */
    bool failed;             /* not passed; for `unknown`, unless [check] unknown = pass */
    const char *result;      /* pass, deadlock, liveness, steplimit, diverged, violation,
                                check, unknown, setup or interrupted (static) */
    char detail[512];        /* one line: why it failed or is unknown; "" on pass */
    uint64_t hash;           /* the trace hash */
    uint64_t events;
    uint64_t steps;
    uint64_t vtime_ns;
    uint32_t faults;         /* faults injected */
    char plan[512];          /* the seed's fault plan, as drawn ("crash=1/20s pause=off");
                                "" without faults */
    char *report;            /* a deadlock's, liveness (time limit), steplimit or diverged
                                run's hang report (every unfinished task, what it awaits and
                                since when), as `sim show --report` prints it; a check or
                                unknown run's message from the system's check; else "".
                                Owned: sim_run_result_free */
    sim_history *history;    /* what the clients saw (sim_history_add), for sim_check: its
                                report shows a check failure's anomaly in full; NULL when the
                                system recorded none. Owned: sim_run_result_free */
} sim_run_result;

/* Runs one seed of a scenario, as `sim run` does, without recording it. Returns SIM_OK when
 * the seed ran (pass or fail: see out->failed; free the result with sim_run_result_free),
 * else the error sim_world_new returned (nothing to free then). */
int sim_scenario_run(const sim_scenario *sc, uint64_t seed, sim_run_result *out);
/* Frees what a result owns (its report and history); a zeroed result or NULL is fine. */
void sim_run_result_free(sim_run_result *r);

/* ------------------------------------------------------------------------------------------ */
/* The command line as a library                                                             */
/* ------------------------------------------------------------------------------------------ */

/* The whole `sim` command (run, replay, check-determinism, show, list, merge, check, explore;
 * docs/tutorial.md) over the systems and checker models a binary offers. A user's test binary
 * is the command over its own systems:
 *
 *     int main(int argc, char **argv)
 *     {
 *         static const sim_system *const systems[] = {&counter_system};
 *         static const sim_model *const models[] = {&counter_model};
 *         sim_main_desc d = {.version = "1.0", .systems = systems, .system_count = 1,
 *                            .models = models, .model_count = 1};
 *         return sim_main(argc, argv, &d);
 *     }
 *
 * The stock `sim` is this over the bundled systems (and its `demo` command). Usage, error
 * messages and the commands it suggests (replay lines) name the running binary: argv[0]'s
 * last component. Every run is
 * recorded with the binary's identity, "NAME VERSION (BUILD)", which `--version` prints;
 * replaying a run recorded by another identity says so before it compares the events. */
/* A command of the binary's own beside the CLI's: `PROG NAME ARGS...` calls run with the
 * arguments after NAME; what it returns is the exit status. The stock sim adds `demo` so. */
typedef struct sim_main_command {
    const char *name;
    const char *summary;     /* one line, for the usage */
    int (*run)(int argc, char **argv);
} sim_main_command;

typedef struct sim_main_desc {
    /* The binary's name in its identity; NULL: argv[0]'s last component. */
    const char *name;
    /* The user's version string ("1.4.2"); NULL: "0". */
    const char *version;
    /* What tells two builds apart; NULL: "build-id HEX, libsim VERSION", HEX being the GNU
     * build-id note of the running executable (gcc and clang on Debian link one), or
     * "unknown" without one. */
    const char *build_id;
    /* The systems a scenario's [scenario] system may name; borrowed for the call. Names are
     * unique. */
    const sim_system *const *systems;
    uint32_t system_count;
    /* Checker models beyond the bundled ones (register, kv, kv-empty), for `check --model
     * NAME` and for the commands a failed check suggests; borrowed. Names are unique and
     * differ from the bundled ones. */
    const sim_model *const *models;
    uint32_t model_count;
    /* Commands of the binary's own; borrowed. Names differ from the CLI's. */
    const sim_main_command *commands;
    uint32_t command_count;
} sim_main_desc;

/* Runs one command line; returns the process's exit status: 0 success; 1 a failure the
 * command exists to find (a failing scenario, a diverged replay, a history that is not
 * linearizable); 2 usage or input errors, with a message naming the file, line or argument;
 * 3 `check` could not decide; 130 interrupted. A desc that breaks its rules (a duplicate
 * name, a NULL list with a count) is a usage error naming the entry. Once per process: it
 * installs signal handlers (SIGINT, SIGTERM; SIGXFSZ ignored) and may fork workers. */
int sim_main(int argc, char **argv, const sim_main_desc *desc);

#ifdef __cplusplus
}
#endif

#endif /* SIM_H */
