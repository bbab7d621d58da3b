/*
 * spi.h: the executor's service-provider interface, for the modules above it (fault, net_sim,
 * disk_sim, plan, check, scenario, trace, replay, cmd). What sim.h gives users is theirs too;
 * this adds what a module that keeps state in a world needs and a user must not have: the
 * running task's slot (to wake it later), the node being booted, the drop mode, the world's
 * allocator, extensions and their handle records and timers, events and violations.
 *
 * The world itself stays opaque here: struct sim_world is defined in exec.h, which only
 * src/executor/ includes (make tidy checks it), so a module above cannot read its fields and
 * the executor may rearrange them freely. Every call is a plain function (spi.c): a call
 * where the field was read directly, no allocation; the hot paths of the network and the disk
 * (a send, a delivery, an operation) make a handful of them.
 */
#ifndef SIM_SPI_H
#define SIM_SPI_H

#include "../core/core.h"

/* Why a task or future is being dropped (sim__exec_drop_mode while a drop runs; -1 otherwise).
 * A crash-mode drop must not act on the world: the node is gone. */
enum { SIM__DROP_DONE = 0, SIM__DROP_ABORT = 1, SIM__DROP_CRASH = 2 };

/* Nodes a world may have, the world pseudo-node 0 included (sim_node_add: SIM_ELIMIT). */
#define SIM__NODES_MAX 4096

/* ---- the running task and the world's state -------------------------------------------------- */

/* The virtual clock itself, also inside a blocking-pool job (sim_now gives a job its own). */
uint64_t sim__exec_now(const sim_world *w);
/* The slot of the task being polled or dropped, or SIM__NIL. sim_task_current gives its id. */
uint32_t sim__exec_current(const sim_world *w);
/* The id of the task in a slot (0: free); slot < sim__exec_task_slots. */
uint32_t sim__exec_task_id(const sim_world *w, uint32_t slot);
/* Task slots ever used: every slot a waker holds is below it. */
uint32_t sim__exec_task_slots(const sim_world *w);
/* Whether (slot, id) is a live task (spawned, not finished): a waker still worth waking. */
bool sim__exec_task_live(const sim_world *w, uint32_t slot, uint32_t id);
/* The node of the running task, else of the node being booted (a boot function's calls act on
 * its node), else 0. */
uint32_t sim__exec_node_here(const sim_world *w);
/* A node's state; node <= sim_node_count (0, the world pseudo-node, is always up). */
sim_node_state sim__exec_node_state(const sim_world *w, uint32_t node);
/* Whether a blocking-pool job's run function is executing (its task is sim__exec_current). */
bool sim__exec_in_job(const sim_world *w);
/* The mode of the drop running now (SIM__DROP_*), or -1. */
int sim__exec_drop_mode(const sim_world *w);
/* sim_world_free is dropping what is left: a crash-mode drop on a node that is up then only
 * lets go of what it holds. */
bool sim__exec_freeing(const sim_world *w);
/* Live tasks that keep sim_world_run going (not daemons). */
uint32_t sim__exec_work_live(const sim_world *w);
/* Keeps sim_world_run going while no work is live (on), or lets it end then (off): the fault
 * plan holds a run whose only unfinished business is a node it will restart. Time passes to
 * the holder's timers; a hold without one would be a deadlock. */
void sim__exec_hold(sim_world *w, bool on);
/* sim_world_check's bound on the checker's steps (the world desc's, resolved: never 0;
 * UINT64_MAX for none). */
uint64_t sim__exec_check_max_steps(const sim_world *w);
/* sim_world_check's memory limit in bytes (0: the checker's default). */
uint64_t sim__exec_check_max_memory(const sim_world *w);
/* The world's size-class allocator (message payloads), freed with the world. */
sim__mem *sim__exec_mem(sim_world *w);

/* The running task's slot, or SIM__NIL after recording a misuse violation when `what` is
 * given (poll functions must run inside a task's poll, not in a drop). */
uint32_t sim__exec_require_task(sim_world *w, const char *what);
/* Wakes (slot, id): a no-op for a stale id, a finished task, or one already queued. */
void sim__exec_wake(sim_world *w, uint32_t slot, uint32_t id);

/* Hears every scheduling decision among two or more runnable tasks under the fifo strategy:
 * the step it decides (1-based, as sim_decision's), the runnable tasks' ids in queue order and
 * the one chosen. For exploration (sim explore): the set, not only its size, so that every
 * alternative it forces is one that could run. NULL removes it; other strategies never call
 * it. Observing only: it must not act on the world. */
typedef void (*sim__decision_fn)(void *ud, uint64_t step, const uint32_t *runnable, uint32_t n,
                                 uint32_t chosen);
/* Hears each cancellable await (desc.cancel_at's numbering, from 1; branch false) and each
 * branch point (desc.branch_at's, from 1; branch true), and the step it is in. */
typedef void (*sim__point_fn)(void *ud, uint64_t point, bool branch, uint64_t step);
void sim__exec_set_decision_hook(sim_world *w, sim__decision_fn fn, sim__point_fn point,
                                 void *ud);
/* Footprints: for sim explore's pruning, the executor can say what each step touched. A key
 * is a kind (top 8 bits) and a number: the stepping task itself, a channel, token, lock or
 * set (by the serial of its family's root: a broadcast's receivers are their channel's, a
 * token tree is its root's), timers at one deadline (their firing order among equals is
 * their arming order), the allocators of ids (objects, handles, tasks, obligations), one
 * obligation, a node's shared memory (unless its desc declares sim_touch keys), a key given
 * to sim_touch. Anything else a step can do to shared state (the network, a disk, a fault
 * point's hit count, a crash, a blocking job, a cancellation drawn by rate, a history entry,
 * a violation, an abort) makes it SIM__FP_GLOBAL: dependent on every other step. */
enum {
    SIM__FP_ENQUEUED = 1u,     /* the step queued a task (a wake-up, a spawn, its own yield) */
    SIM__FP_GLOBAL = 2u,       /* the step touched something no key names */
    SIM__FP_EVENT_BEFORE = 4u, /* events happened between the previous step and this one */
    SIM__FP_KEYS_MAX = 32      /* more keys than this: SIM__FP_GLOBAL */
};
enum {
    SIM__FPK_TASK = 1,
    SIM__FPK_OBJ = 2,
    SIM__FPK_TIMER = 3,
    SIM__FPK_ALLOC = 4,
    SIM__FPK_OB = 5,
    SIM__FPK_NODE = 6,
    SIM__FPK_USER = 7,
    SIM__FPK_POINT = 8
};
#define SIM__FP_KEY(kind, v) ((uint64_t)(kind) << 56 | ((uint64_t)(v)&0x00ffffffffffffffull))
/* Hears each step once it is over: its number (1-based), the task polled, the keys it touched
 * (each once, in no meaningful order) and SIM__FP_* flags. Observing only. */
typedef void (*sim__step_fn)(void *ud, uint64_t step, uint32_t task, const uint64_t *keys,
                             uint32_t n, uint32_t flags);
/* Sets the step hook (NULL: none); it gets the decision hook's ud, so set that first. Costs a
 * branch per object access and event while set, nothing otherwise. */
void sim__exec_set_step_hook(sim_world *w, sim__step_fn fn);
/* The step being polled touched shared state no key names (a fault point's hit that may fire),
 * or the state a key names (a fault point's hit counter). */
void sim__exec_fp_global(sim_world *w);
void sim__exec_fp_touch(sim_world *w, uint64_t key);

/* Asked at each cancellable await (branch false) and branch point (true) that cancel_at,
 * branch_at and the rates left alone, for the task on `node`: true to cancel there. The
 * fault layer's points task/cancel and task/branch ([faults] cancel, branch). NULL: none. */
typedef bool (*sim__cancel_fn)(sim_world *w, bool branch, uint32_t node);
void sim__exec_set_cancel_hook(sim_world *w, sim__cancel_fn fn);

/* ---- events and violations ------------------------------------------------------------------ */

/* Records one event: folded into the trace hash and handed to the trace sink. */
void sim__exec_emit(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task, uint64_t a,
                    uint64_t b, const char *detail);
void sim__violation(sim_world *w, sim_violation_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The trace sink (sim_world_desc.trace; cb NULL: none), and replacing it: a recorder attached
 * after the world was made (sim_world_record, src/trace/host_record.c) puts itself in front
 * and passes every event on to the sink it found. */
void sim__exec_sink(const sim_world *w, sim_trace_cb *cb, void **ud);
void sim__exec_set_sink(sim_world *w, sim_trace_cb cb, void *ud);
/* How the world's run stopped: a SIM_E... stop code, or 0 while it runs and when it ended with
 * its work done. */
int sim__exec_stop_rc(const sim_world *w);
/* Words for a module's events (sim_event_describe): node names may be NULL. */
typedef int (*sim__event_text_fn)(const sim_event *e, const char *const *names, uint32_t nnames,
                                  char *buf, size_t size);
/* Registers fn for event kinds first..last, once per process (from a constructor). */
void sim__event_text_register(uint32_t first, uint32_t last, sim__event_text_fn fn);

/* ---- extensions: the modules above the executor that keep state in a world ------------------ */

/* net_sim, disk_sim, the fault state and the history keep their state in the world and need
 * to hear of a few things: their own timers firing (a message arriving), a node crashing or
 * restarting, the world going away; and to describe their waits and timers in reports. They
 * register these operations once per world; the executor calls them without knowing the
 * modules (the arrows point down). Every hook but name may be NULL when the module arms no
 * timers, notes no waits and makes no handles. */
#define SIM__EXT_MAX 8

typedef struct sim__ext_ops {
    const char *name;
    /* One of its timers fired (arg as armed). May arm timers, wake tasks and emit events. */
    void (*fire)(sim_world *w, uint64_t arg);
    /* A node crashes: called after the crash event, before its tasks are dropped. */
    void (*crash)(sim_world *w, uint32_t node);
    /* A node boots again: called before its boot function. May be NULL. */
    void (*restart)(sim_world *w, uint32_t node);
    /* Describes a wait noted with sim__exec_note_wait, and a timer's arg, in words. */
    void (*wait_text)(const sim_world *w, uint32_t x, uint64_t y, char *buf, size_t size);
    void (*timer_text)(const sim_world *w, uint64_t arg, char *buf, size_t size);
    /* A handle of this extension was released by its owner's end: close what it names
     * (target, target_id as made) if it is still open. May be NULL. */
    void (*hand_release)(sim_world *w, uint32_t target, uint32_t target_id);
    /* Appends what it holds to a dump (sim_world_dump): malloc'd text, or NULL for nothing. */
    char *(*dump)(const sim_world *w);
    /* The world goes: free the state (and sim__ext_detach). */
    void (*free)(sim_world *w);
} sim__ext_ops;

/* Attaches a module's state to the world, on its first use there; returns its index in this
 * world (the order of attachment: deterministic, as the program's calls are). The executor
 * calls the module's hooks in that order. */
uint32_t sim__ext_attach(sim_world *w, const sim__ext_ops *ops, void *state);
/* The module's index in this world, or SIM__NIL when it has not attached. */
uint32_t sim__ext_find(const sim_world *w, const sim__ext_ops *ops);
/* The module's state in this world, or NULL (not attached, or detached). */
void *sim__ext_state(const sim_world *w, const sim__ext_ops *ops);
/* The same, for an extension that says its own footprint where a step uses its state (the
 * fault points: sim__exec_fp_touch, sim__exec_fp_global); sim__ext_state makes the step
 * global. */
void *sim__ext_state_own(const sim_world *w, const sim__ext_ops *ops);
/* Forgets the module's state (its free hook has freed it); it keeps its index. */
void sim__ext_detach(sim_world *w, const sim__ext_ops *ops);

/* Notes what the running task waits for, when an extension's operation returns SIM_PENDING:
 * the hang report asks the extension's wait_text for words. No-op outside a task's poll. */
void sim__exec_note_wait(sim_world *w, uint32_t ext, uint32_t x, uint64_t y);
/* Arms an extension's timer: at deadline_ns, its fire(w, arg) runs. It orders with task
 * timers by (deadline, arming order) and emits no timer events (the extension emits its own).
 * It cannot be cancelled: fire() ignores what is stale. SIM_ELIMIT (max_timers). */
int sim__timer_arm_ext(sim_world *w, uint64_t deadline_ns, uint32_t ext, uint64_t arg);

/* ---- an extension's handles (sockets, files) ------------------------------------------------- */

/* A new handle record of extension ext naming (target, target_id), owned by the running task
 * (else the node being booted, else the world); *out is the user's handle. Never fails. */
int sim__ext_hand_new(sim_world *w, uint32_t ext, uint32_t target, uint32_t target_id,
                      sim_handle *out);
/* Frees a record (unlinked from its owner), without releasing what it names: a close. */
void sim__hand_free(sim_world *w, uint32_t slot);

/* What a user's handle is, for the extension ops names (sim__ext_hand_find). */
typedef enum sim__ext_hand_rc {
    SIM__EXT_HAND_OK = 0,  /* a live record of this extension's: *rec says what it names */
    SIM__EXT_HAND_CLOSED,  /* zeroed, or its record is gone: closed through some copy, or
                              released with its owner */
    SIM__EXT_HAND_FOREIGN, /* another world's handle, or one this world never made */
    SIM__EXT_HAND_OTHER,   /* a live record of something else (a channel, another module's) */
} sim__ext_hand_rc;

typedef struct sim__ext_hand {
    uint32_t slot;         /* the record (sim__hand_free) */
    uint32_t target;       /* as made by sim__ext_hand_new */
    uint32_t target_id;
} sim__ext_hand;

/* Resolves h as a handle of the extension ops; *rec is filled for SIM__EXT_HAND_OK only. Has
 * no effect: the caller words a violation for OTHER (it knows what it expected); FOREIGN is
 * worded by sim__ext_hand_foreign. */
sim__ext_hand_rc sim__ext_hand_find(const sim_world *w, const sim_handle *h,
                                    const sim__ext_ops *ops, sim__ext_hand *rec);
/* Records the misuse of a foreign handle (another world's, or never made here) in `what`. */
void sim__ext_hand_foreign(sim_world *w, const sim_handle *h, const char *what);

/* ---- host worlds (host_exec.c) --------------------------------------------------------------- */

/* Whether w runs on the host (sim_world_is_host, without the assertion's cost). */
bool sim__exec_is_host(const sim_world *w);
/* Refuses what only a simulation can do on a host world: records a misuse violation naming
 * `what` and returns SIM_ESIMONLY. */
int sim__host_refuse(sim_world *w, const char *what);
/* A node's host address (an IP literal) and the directory of its files; node >= 1. Read on
 * the loop's thread only (the node table moves). */
const char *sim__exec_node_host_addr(const sim_world *w, uint32_t node);
const char *sim__exec_node_host_dir(const sim_world *w, uint32_t node);
/* The node whose blocking job runs on this thread (a pool thread of a host world), else
 * sim__exec_node_here. Safe on a pool thread. */
uint32_t sim__exec_job_node(const sim_world *w);
/* The directory of the files of the node whose job runs on this thread (a pool thread), or
 * of sim__exec_node_here's node on the loop's thread; NULL outside a node. */
const char *sim__exec_here_host_dir(const sim_world *w);
/* The loop's interest in a socket: fd is watched (edge-triggered) from here to
 * sim__host_fd_forget; sim__host_fd_await makes the running task's next wake-up wait for it
 * to become readable (write false) or writable (write true). */
int sim__host_fd_watch(sim_world *w, int fd);
void sim__host_fd_forget(sim_world *w, int fd);
void sim__host_fd_await(sim_world *w, int fd, bool write);
/* The reactor's read epoch of a watched fd (src/host/host.h, sim__reactor_read_epoch). */
uint32_t sim__host_fd_read_epoch(const sim_world *w, int fd);

/* Files of a host world: a handle names an entry of the host file table (no handle record,
 * so that pool threads may open and close them). Safe on any thread. */
void sim__host_file_handle(sim_world *w, int fd, sim_handle *out);
/* Whether h is (or was) a host file handle of w. */
bool sim__host_file_is(const sim_world *w, const sim_handle *h);
/* The fd of an open host file handle, or -1. */
int sim__host_file_fd(const sim_world *w, const sim_handle *h);
/* Forgets the handle's file (zeroing *h) and returns its fd to close, or -1. */
int sim__host_file_take(sim_world *w, sim_handle *h);
/* fn(ud, fd) under the file table's lock. */
int sim__host_file_locked(sim_world *w, int fd, int (*fn)(void *ud, int fd), void *ud);

#endif /* SIM_SPI_H */
