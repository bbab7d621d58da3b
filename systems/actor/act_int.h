/*
 * act_int.h: the runtime's tables, shared by rt.c (actors, Rets, Fwds, the loop), bridge.c
 * (tasks, pipes, streams) and ledger.c (the oracles). Not for users: actor.h is the API.
 *
 * Ids index tables that only grow during a run (an id is never reused, so a stale handle is
 * always recognised and every Ret keeps its record for the leak report); index 0 is unused.
 */
#ifndef SIM_ACT_INT_H
#define SIM_ACT_INT_H

#include "actor.h"

#define ACT_TABLE_MAX ((uint32_t)1 << 22) /* records of each kind per run */
#define ACT_QUEUE_MAX ((uint32_t)1 << 20) /* items waiting in one runtime */
#define ACT_NODES_MAX 64
#define ACT_VIOLATION_TEXT 400

enum { RK_FN = 1, RK_TO_ACTOR, RK_SOME_TO_ACTOR, RK_PIPE };
enum { FK_FN = 1, FK_TO_ACTOR, FK_STREAM };
enum { IT_CALL = 1, IT_PREP, IT_RESUME, IT_TERMINATE, IT_FIRE };
enum { ST_PREP = 1, ST_READY, ST_ZOMBIE };

typedef struct ret_rec {
    uint8_t kind;            /* RK_* */
    uint8_t fired;           /* times fired: the ledger; exactly once is right */
    uint8_t lost;            /* its node crashed before it fired */
    uint8_t kept;            /* kept by actor `holder` */
    uint32_t node;           /* where it was made */
    uint32_t boot;           /* that node's boot then */
    uint32_t target;         /* actor (to_actor kinds) or pipe */
    uint32_t holder;         /* actor that kept it, 0 none */
    act_fn fn;
    act_cb cb;
    void *ud;
    uint64_t tag;            /* for cb: act_tag() while it runs */
    const char *site;        /* where it was made */
    sim_obligation ob;       /* sim's ledger: discharged when it fires (or is lost) */
} ret_rec;

typedef struct fwd_rec {
    uint8_t kind;            /* FK_* */
    uint8_t expect_end;      /* ledger: a stream sink */
    uint8_t end_sent;        /* ledger */
    uint32_t refs;           /* counted references; 0: gone */
    uint32_t target;         /* actor or stream */
    act_fn fn;
    act_cb cb;
    act_fwd_drop_cb drop;    /* FK_FN: told when the last reference goes */
    void *ud;
    uint64_t tag;
    const char *site;
} fwd_rec;

typedef struct item {
    uint8_t kind;            /* IT_* */
    bool some;
    uint32_t target;         /* actor, task, or Ret (IT_FIRE) */
    uint64_t seq;            /* per actor, for calls; the ledger's order */
    act_fn fn;
    act_val v;
} item;

typedef struct actor_rec {
    uint8_t state;           /* ST_* */
    uint8_t cause;           /* act_cause once a Zombie */
    uint8_t pend_cause;      /* recorded by stop/fail during the running call; 0 none */
    uint8_t running;         /* a call of it is on the stack */
    uint8_t ever_ready;
    uint8_t notified;        /* ledger: notify fires */
    uint32_t node;
    uint32_t boot;
    uint32_t owners;
    int64_t err, pend_err;
    const act_type *type;
    const char *name;
    void *self;              /* kept until the run ends (a Zombie's is dropped, not freed) */
    act_ret notify;
    item *prepq;             /* calls made while Prep, in order */
    uint32_t prep_len, prep_cap;
    uint32_t *kept;          /* Rets kept with act_ret_keep */
    uint32_t kept_len, kept_cap;
    uint64_t sent;           /* calls queued to it so far: their seq */
    uint64_t last_run;       /* ledger: the seq of the last Ready call run */
    uint64_t drop_seq;       /* ledger: sent when the last owner went; 0 none */
} actor_rec;

typedef struct task_rec {
    uint8_t live;            /* not yet finished or dropped */
    uint8_t dying;
    uint32_t refs;
    uint32_t node;
    uint32_t boot;
    sim_poll_cb poll;
    sim_drop_cb drop;
    act_task_head *state;
    size_t size;
    act_ret ret;
} task_rec;

typedef struct pipe_rec {
    uint8_t mode;
    uint8_t has, some;
    uint8_t pull, polled, requested, unpolled_send; /* pull pipes; the ledger */
    uint32_t node;
    uint32_t waker;          /* a task reference parked here, 0 none */
    act_val v;
    act_ret req;             /* a pull pipe's request Ret until sent */
} pipe_rec;

typedef struct stream_rec {
    uint8_t mode;
    uint8_t ended, dropped, fail_item, crashed;
    uint32_t node;
    uint32_t waker;
    act_fwd more;
    act_val *q;
    uint32_t head, len, cap;
    uint64_t accepted, yielded; /* ledger */
} stream_rec;

typedef struct runtime {
    uint8_t up;              /* booted and not crashed */
    uint8_t in_loop;         /* its loop is running items: a push needs no wake-up */
    uint32_t boot;           /* sim_node_boots when booted */
    item *q;                 /* ring */
    uint32_t head, len, cap;
    uint32_t timers;         /* act_after pending */
    sim_notify wake;
    sim_rng rng;             /* spurious resumes */
} runtime;

struct act_sys {
    sim_world *w;
    act_bug bug;
    sim_ratio spurious;
    runtime rt[ACT_NODES_MAX];
    ret_rec *rets; uint32_t nrets, crets;
    fwd_rec *fwds; uint32_t nfwds, cfwds;
    actor_rec *actors; uint32_t nactors, cactors;
    task_rec *tasks; uint32_t ntasks, ctasks;
    pipe_rec *pipes; uint32_t npipes, cpipes;
    stream_rec *streams; uint32_t nstreams, cstreams;
    uint64_t cur_tag;        /* the tag of the Ret or Fwd whose function runs */
    uint32_t cur_task;       /* the bridge task being polled, 0 none */
    uint8_t cur_pended;      /* a bridge future returned pending in this poll */
    act_stats stats;
    uint32_t violations;
    char first[ACT_VIOLATION_TEXT];
};

struct act_cx {
    act_sys *sys;
    uint32_t actor;
    uint8_t ready;           /* act_cx_ready was called */
};

/* Grows a table (by doubling) so that index n is valid; returns n. */
uint32_t act__grow(void **tab, uint32_t *n, uint32_t *cap, size_t size);
/* Records a violation (the first is kept for the check's message). */
void act__violation(act_sys *sys, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queues an item on a node's runtime; a crashed runtime drops it (and what it carries). */
void act__push(act_sys *sys, uint32_t node, const item *it);
/* Drops what a message carries. */
void act__drop_val(act_sys *sys, act_val *v);
/* Task references. */
void act__task_ref(act_sys *sys, uint32_t task);
void act__task_unref(act_sys *sys, uint32_t task);
/* The current bridge task, with a new reference (a waker); asserts there is one. */
uint32_t act__waker(act_sys *sys);
/* Wakes a waker (queues a resume that takes over its reference); *waker becomes 0. */
void act__wake(act_sys *sys, uint32_t *waker);
/* Runs a resume item. */
void act__resume(act_sys *sys, uint32_t task);
/* A Ret of kind RK_PIPE fired. */
void act__pipe_fired(act_sys *sys, uint32_t pipe, bool some, act_val *v);
/* A Fwd of kind FK_STREAM: an item, or its last reference went. */
void act__stream_item(act_sys *sys, uint32_t stream, bool some, act_val *v);
void act__stream_gone(act_sys *sys, uint32_t stream);
/* Crash: the node's tasks are gone without a trace. */
void act__tasks_crashed(act_sys *sys, uint32_t node);
uint32_t act__node_of_current(const act_sys *sys);

#endif /* SIM_ACT_INT_H */
