/*
 * actor.h: a never-blocking actor runtime in the manner of Stakker, and its bridge to
 * async/await in the manner of stakker_async_await (seed 002; the semantics are in
 * ../shared/reference/sut-semantics.md section B), written against sim.h only.
 *
 * The runtime. Each node has one runtime: a FIFO queue of deferred items (actor calls, task
 * resumes, deferred terminations) run by one sim task, the node's loop, which never blocks:
 * every item runs to completion when it reaches the front. An actor is Prep, then Ready, then
 * a Zombie for good. Calls made while it is Prep wait in its Prep queue and run, in order, the
 * moment a prep call makes it Ready; calls that reach a Zombie are discarded, and the Rets and
 * Fwds inside them are dropped (a dropped Ret fires none: the cascade of B.4). An actor
 * stops (act_cx_stop), fails (act_cx_fail), is killed from outside (act_kill), or loses its
 * last owner (act_own_drop: termination is deferred behind the calls already queued); the
 * first cause wins and goes, exactly once, to the notify Ret given to act_new.
 *
 * Ret (act_ret) fires exactly once: a value (act_ret_fire) or none when dropped
 * (act_ret_drop). Its kinds: a function run at the call site, to_actor (queues a call, none
 * included), some_to_actor (swallows none), a pipe's (the bridge), a remote proxy. Fwd
 * (act_fwd) is counted and repeatable, with no drop signal: the end of a stream travels in
 * band, as a message with some = false.
 *
 * The bridge. A bridge task (act_spawn) is a coroutine the runtime owns, not a sim task: it
 * is resumed from the loop by a resume item, and lives while something holds a reference to
 * it (a queued resume, or a waker parked in a pipe or stream). When the last reference goes,
 * the coroutine is dropped at its await and its result Ret fires none (spawn: future -> Ret).
 * A waker is a task reference: waking it queues a resume (no atomics, no std Waker). Push
 * pipe (act_push_pipe, act_wait: Ret -> future), pull pipe (act_pull: sends its request only
 * when first polled) and streams (act_stream_new, act_next: Fwd -> stream with a `more`
 * Fwd<()> called when the queue is empty) each come in two failure modes: ACT_DROP_TASK (the
 * task is dropped at the await) and ACT_RESULT (the await returns ACT_FAIL, a stream then
 * ends). A bridge task that awaits a future of sim's own (a sleep) instead of a bridge future
 * is reported: it would need a real waker (B.7.8).
 *
 * The ledger. Every Ret, actor, pipe and stream keeps what the oracles of B.7 need: how many
 * times each Ret fired and where it was created, each actor's order of calls and stop causes;
 * act_sys_check reports the first violation. docs/systems/actor.md is the manual.
 */
#ifndef SIM_ACTOR_H
#define SIM_ACTOR_H

#include "sim.h"

/* ActorFail: what a result-mode await returns when the actor side went away. */
#define ACT_FAIL SIM_ECLOSED
/* A stream's end (Ready(None)). */
#define ACT_END SIM_EEOF

#define ACT__STR2(x) #x
#define ACT__STR(x) ACT__STR2(x)
/* Where a Ret is made, for the leak report. */
#define ACT_SITE (__FILE__ ":" ACT__STR(__LINE__))

typedef struct act_sys act_sys;
typedef struct act_cx act_cx;

typedef struct act_ret { uint32_t id; } act_ret;     /* 0 = none (consumed) */
typedef struct act_fwd { uint32_t id; } act_fwd;     /* one counted reference; 0 = none */
typedef struct act_actor { uint32_t id; } act_actor; /* weak */
typedef struct act_own { uint32_t id; } act_own;     /* strong: one counted reference */

/* A message, a Ret's value or a Fwd's item. ret and fwd travel with it: whoever receives it
 * owns them, and what a handler leaves in it is dropped when the handler returns (as Rust
 * drops a moved value at the end of its scope). */
typedef struct act_val {
    int64_t a, b;
    act_ret ret;
    act_fwd fwd;
} act_val;

/* An actor's call handler: self is the actor's state (zeroed before its first prep call);
 * some is false for a None (a dropped to_actor Ret, a stream's end). */
typedef void (*act_fn)(act_cx *cx, void *self, bool some, act_val *v);
/* A Ret or Fwd function run at the call site (outside any actor). */
typedef void (*act_cb)(void *ud, act_sys *sys, bool some, act_val *v);

typedef struct act_type {
    const char *name;
    size_t size;                                /* bytes of state, >= 1 */
    /* Runs when a Ready actor becomes a Zombie: release what its state holds (child owners,
     * Fwds; Rets it kept with act_ret_keep are dropped by the runtime). May be NULL. */
    void (*drop)(act_cx *cx, void *self);
} act_type;

typedef enum act_cause {
    ACT_STOPPED = 1,
    ACT_FAILED = 2,
    ACT_KILLED = 3,
    ACT_DROPPED = 4,
    ACT_LOST = 5,
} act_cause;

/* "Actor stopped", "Actor failed", ... as Stakker displays them. */
const char *act_cause_str(act_cause cause);
/* StopCause::has_error: failed or killed. */
bool act_cause_has_error(act_cause cause);

typedef enum act_mode {
    ACT_DROP_TASK = 0,   /* a failure drops the whole task at its await */
    ACT_RESULT = 1,      /* a failure is ACT_FAIL from the await */
} act_mode;

/* ---- planted bugs (docs/systems/actor.md) ---- */
typedef enum act_bug {
    ACT_BUG_NONE = 0,
    ACT_BUG_RET_LEAK,        /* Rets kept by a dying actor are forgotten, not dropped */
    ACT_BUG_RET_TWICE,       /* a second termination fires the notify Ret again */
    ACT_BUG_ZOMBIE_CALLS,    /* calls that reach a Zombie still run */
    ACT_BUG_STREAM_DROPPED_FIRST, /* the stream checks its dropped flag before its queue */
    ACT_BUG_PULL_EAGER,      /* a pull pipe sends its request when made, not when polled */
    ACT_BUG_STREAM_NO_END,   /* the last Fwd of a stream dropping leaves the stream open */
    ACT_BUG_COUNT,
} act_bug;

extern const char *const act_bug_names[ACT_BUG_COUNT];

/* ---- the system of runtimes ---- */

typedef struct act_sys_desc {
    act_bug bug;
    sim_ratio spurious;      /* per item run: resume one random live bridge task for nothing */
} act_sys_desc;

/* A set of runtimes, one per node, for one world. Freed by act_sys_free. */
act_sys *act_sys_new(sim_world *w, const act_sys_desc *desc);
void act_sys_free(act_sys *sys);
sim_world *act_sys_world(const act_sys *sys);
/* Starts the node's runtime (its loop task): call from the node's boot function. A node that
 * crashed loses its runtime, its actors and its tasks; what they held is lost with the
 * process (its Rets are not leaks, they never fire). */
int act_boot(act_sys *sys, sim_node_id node);
/* Nothing queued on the node, no timer pending: the runtime is quiet. */
bool act_quiet(const act_sys *sys, sim_node_id node);
/* The first violation of the invariants (B.7), or SIM_OK: every Ret fired exactly once or
 * was lost with a crashed node, no call ran before Ready or on a Zombie, calls ran in order,
 * stop causes went out exactly once, no bridge task is left hanging, no stream lost items. */
int act_sys_check(act_sys *sys, char *msg, size_t size);
/* The number of violations recorded so far (the check's count). */
uint32_t act_sys_violations(const act_sys *sys);
/* Counters for tests and benches. */
typedef struct act_stats {
    uint64_t calls_run;       /* actor calls that ran */
    uint64_t calls_discarded; /* calls that reached a Zombie (or a Ready actor, prep-style) */
    uint64_t rets_made, rets_some, rets_none, rets_lost;
    uint64_t resumes;         /* bridge task polls */
    uint64_t tasks_dropped;   /* bridge tasks dropped before their end */
    uint64_t spurious;        /* resumes injected for nothing */
} act_stats;
void act_sys_stats(const act_sys *sys, act_stats *out);

/* ---- actors ---- */

/* A new actor on node, in Prep, with one owner (the returned act_own). notify (may be none)
 * receives its stop cause exactly once: a = act_cause, b = the error code. */
act_own act_new(act_sys *sys, sim_node_id node, const act_type *type, const char *name,
                act_ret notify);
act_actor act_own_actor(act_own own);
act_own act_own_clone(act_sys *sys, act_own own);
/* Drops one owner (the handle is emptied). The last one queues the termination (Dropped)
 * behind the calls already queued. */
void act_own_drop(act_sys *sys, act_own *own);
/* Kills the actor now (Killed, err): it never runs another call. */
void act_kill(act_sys *sys, act_actor a, int64_t err);
bool act_is_zombie(const act_sys *sys, act_actor a);
bool act_is_ready(const act_sys *sys, act_actor a);
/* The cause an actor ended with, or 0 while it lives. */
act_cause act_stop_cause(const act_sys *sys, act_actor a);

/* Queues a Ready-style call (the message, with its Ret and Fwd, moves into the queue). */
void act_call(act_sys *sys, act_actor a, act_fn fn, act_val v);
/* Queues a Prep-style call: it runs only while the actor is Prep, and may make it Ready. */
void act_call_prep(act_sys *sys, act_actor a, act_fn fn, act_val v);

/* Inside a call. */
act_sys *act_cx_sys(act_cx *cx);
act_actor act_cx_self(const act_cx *cx);
sim_node_id act_cx_node(const act_cx *cx);
/* In a prep call: the state is ready; the Prep queue runs now, in order. */
void act_cx_ready(act_cx *cx);
/* Records a cause; it takes effect when the call returns; the first recorded wins. */
void act_cx_stop(act_cx *cx);
void act_cx_fail(act_cx *cx, int64_t err);

/* ---- Ret ---- */

act_ret act_ret_fn(act_sys *sys, act_cb cb, void *ud, const char *site);
act_ret act_ret_to_actor(act_sys *sys, act_actor a, act_fn fn, const char *site);
act_ret act_ret_some_to_actor(act_sys *sys, act_actor a, act_fn fn, const char *site);
/* The same, with a tag that cb reads with act_tag (a remote proxy's link and token). */
act_ret act_ret_fn_tag(act_sys *sys, act_cb cb, void *ud, uint64_t tag, const char *site);
/* Inside a Ret's or Fwd's function: its tag. */
uint64_t act_tag(const act_sys *sys);
/* Fires r with a value (r is consumed). */
void act_ret_fire(act_sys *sys, act_ret *r, act_val v);
/* Drops r: fires none unless it was consumed. */
void act_ret_drop(act_sys *sys, act_ret *r);
/* Moves r out of a message: the caller owns it now. */
act_ret act_ret_take(act_ret *r);
/* The current actor keeps r in its state: if the actor dies first, the runtime drops it. */
void act_ret_keep(act_cx *cx, act_ret r);
bool act_ret_live(const act_sys *sys, act_ret r);

/* ---- Fwd ---- */

act_fwd act_fwd_fn(act_sys *sys, act_cb cb, void *ud);
act_fwd act_fwd_to_actor(act_sys *sys, act_actor a, act_fn fn);
/* A Fwd whose function sees tag (act_tag), and whose last reference going calls drop (may be
 * NULL) with whether the end was sent: a remote proxy passes the drop over its link, since
 * a stream's guard on the other side needs it. */
typedef void (*act_fwd_drop_cb)(void *ud, act_sys *sys, bool ended);
act_fwd act_fwd_fn_tag(act_sys *sys, act_cb cb, act_fwd_drop_cb drop, void *ud, uint64_t tag);
/* Sends one item (some) or the end of a stream (!some). The value moves. */
void act_fwd_send(act_sys *sys, act_fwd f, bool some, act_val v);
act_fwd act_fwd_clone(act_sys *sys, act_fwd f);
void act_fwd_drop(act_sys *sys, act_fwd *f);
act_fwd act_fwd_take(act_fwd *f);

/* ---- timers ---- */

/* Fires r with v after delay_ns on node (the Ret is lost if the node crashes first). */
int act_after(act_sys *sys, sim_node_id node, uint64_t delay_ns, act_ret r, act_val v);

/* ---- the bridge ---- */

/* A bridge task's state begins with this: the coroutine, and the value its spawn Ret gets. */
typedef struct act_task_head {
    sim_co co;
    act_val out;
} act_task_head;

/* Spawns a bridge task on node (future -> Ret): poll runs from the loop until it returns
 * (then ret fires with the head's out) or the task loses its last reference (then ret fires
 * none). state (copied, state_size bytes) begins with an act_task_head; drop (may be NULL)
 * releases what the state holds (its Rets, Fwds) when the task ends either way. */
int act_spawn(act_sys *sys, sim_node_id node, sim_poll_cb poll, sim_drop_cb drop,
              const void *state, size_t state_size, act_ret ret);

/* Push pipe (Ret -> future): a pipe whose Ret is *ret_out. */
uint32_t act_push_pipe(act_sys *sys, act_mode mode, act_ret *ret_out, const char *site);

typedef struct act_wait_op {
    sim_fut fut;
    act_sys *sys;
    uint32_t pipe;
    act_val *out;
} act_wait_op;

/* Awaits the pipe's value: SIM_OK with *out; on none ACT_FAIL (result mode) or the task is
 * dropped (drop mode). */
act_wait_op act_wait(act_sys *sys, uint32_t pipe, act_val *out);

/* Pull pipe: a future that, when first polled, fires req (a Ret<Ret<T>>) with a fresh reply
 * Ret in v.ret, then awaits the reply as act_wait does. Dropped unpolled, it drops req. */
typedef struct act_pull_op {
    sim_fut fut;
    act_sys *sys;
    uint32_t pipe;
    act_val *out;
} act_pull_op;

act_pull_op act_pull(act_sys *sys, act_mode mode, act_ret req, act_val *out);

/* Fwd -> stream: a stream fed by *fwd_out (items with some, the end with !some); more (may be
 * none; the stream owns it) is sent an item whenever the consumer finds the queue empty. */
uint32_t act_stream_new(act_sys *sys, act_mode mode, act_fwd more, act_fwd *fwd_out);

typedef struct act_next_op {
    sim_fut fut;
    act_sys *sys;
    uint32_t stream;
    act_val *out;
} act_next_op;

/* The next item: SIM_OK with *out, ACT_END at the end, ACT_FAIL once in result mode when
 * the producer went away (then ACT_END); in drop mode an abnormal end drops the task. */
act_next_op act_next(act_sys *sys, uint32_t stream, act_val *out);

/* Stream -> Fwd: a bridge task forwarding the stream's items to fwd, then the end. An
 * ActorFail is forwarded as an item with a = ACT_FAIL_ITEM, then the end. */
#define ACT_FAIL_ITEM INT64_MIN
int act_spawn_stream(act_sys *sys, sim_node_id node, uint32_t stream, act_fwd fwd);

/* Ledger: a Fwd used as a stream sink expects its end: if every reference goes without
 * the end having been sent, the check reports a silent end. */
void act_fwd_expect_end(act_sys *sys, act_fwd f, const char *site);

/* The system under test (actor_sys.c), for systems/registry.c. */
extern const sim_system sim_actor_system;

#endif /* SIM_ACTOR_H */
