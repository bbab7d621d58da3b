/*
 * world.c: the world's lifecycle, its accessors, violations and interned strings.
 *
 * A world is created at virtual time 0 with its seed, strategy and limits, and owns every
 * record of the run. Freeing it drops every task that is still live in crash mode (their drop
 * functions free memory and do nothing else), then releases channels, timers and memory.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

#define DEFAULT_STEP_LIMIT 1000000000ull
#define DEFAULT_MAX_TASKS (1u << 22)
#define DEFAULT_MAX_TIMERS (1u << 22)
#define DEFAULT_MAX_OBJECTS (1u << 20)

static int world_init_nodes(sim_world *w)
{
    SIM_ASSERT(w->nodes_len == 0 && w->nodes == NULL); /* a fresh world */
    /* Node 0 is the pseudo-node of world-level tasks: always up, never crashes. */
    sim__grow((void **)&w->nodes, &w->nodes_cap, 1, sizeof(sim__node));
    memset(&w->nodes[0], 0, sizeof(sim__node));
    w->nodes[0].hands_head = SIM__NIL;
    w->nodes[0].hands_tail = SIM__NIL;
    w->nodes[0].name = "";
    w->nodes_len = 1;
    SIM_ASSERT(w->nodes[0].state == SIM_NODE_UP);
    return SIM_OK;
}

static int world_apply_desc(sim_world *w, const sim_world_desc *d)
{
    w->seed = d->seed;
    w->sched = d->sched;
    if (w->sched.kind == SIM_SCHED_PCT) {
        if (w->sched.pct_depth == 0) w->sched.pct_depth = 3;
        if (w->sched.pct_steps == 0 || w->sched.pct_steps == SIM_PCT_STEPS_AUTO) {
            w->sched.pct_steps = 10000; /* auto is a scenario's: resolved before the world */
        }
    }
    if (w->sched.kind != SIM_SCHED_RANDOM && w->sched.kind != SIM_SCHED_FIFO &&
        w->sched.kind != SIM_SCHED_PCT) {
        return SIM_EINVAL;
    }
    if (w->sched.kind == SIM_SCHED_PCT && w->sched.pct_depth > 64) return SIM_EINVAL;
    w->time_limit_ns = d->time_limit_ns;
    w->step_limit = d->step_limit ? d->step_limit : DEFAULT_STEP_LIMIT;
    w->check_max_steps = d->check_max_steps ? d->check_max_steps : SIM_CHECK_WORLD_MAX_STEPS;
    w->check_max_memory = d->check_max_memory;
    w->checkpoint_every = d->checkpoint_every ? d->checkpoint_every : 1024;
    w->next_checkpoint = w->checkpoint_every;
    w->spurious = d->spurious_wakeups;
    w->max_tasks = d->max_tasks ? d->max_tasks : DEFAULT_MAX_TASKS;
    w->max_timers = d->max_timers ? d->max_timers : DEFAULT_MAX_TIMERS;
    w->max_objects = d->max_objects ? d->max_objects : DEFAULT_MAX_OBJECTS;
    if (w->max_tasks >= SIM__NIL || w->max_timers > SIM_MAX_TIMERS_LIMIT ||
        w->max_objects >= SIM__NIL) {
        return SIM_EINVAL;
    }
    if (d->forced_count > 0 && d->forced == NULL) return SIM_EINVAL;
    for (uint32_t i = 1; i < d->forced_count; i++) {
        if (d->forced[i].step <= d->forced[i - 1].step) return SIM_EINVAL;
    }
    w->forced = d->forced;
    w->forced_count = d->forced_count;
    w->forced_lenient = d->forced_lenient;
    if (d->cancel_count > 0 && d->cancel_list == NULL) return SIM_EINVAL;
    for (uint32_t i = 1; i < d->cancel_count; i++) {
        if (d->cancel_list[i] <= d->cancel_list[i - 1]) return SIM_EINVAL;
    }
    if (d->backend != SIM_BACKEND_SIM && d->backend != SIM_BACKEND_HOST) return SIM_EINVAL;
    w->backend = d->backend;
    if (w->backend == SIM_BACKEND_HOST) {
        /* What only a simulation can do is refused, never silently ignored. */
        if (d->forced_count > 0 || d->spurious_wakeups.p != 0 || d->cancel_at != 0 ||
            d->cancel_rate.p != 0 || d->cancel_count != 0) {
            return SIM_ESIMONLY;
        }
        w->host_dir = sim__xstrdup(d->host_dir ? d->host_dir : ".", "a world's host_dir");
    }
    sim__oracle_init(w, d);
    w->trace = d->trace;
    w->trace_ud = d->trace_ud;
    if (d->replay_hint != NULL) {
        w->replay_hint = sim__xstrdup(d->replay_hint, "a world's replay hint");
    }
    SIM_ASSERT(w->step_limit > 0 && w->checkpoint_every > 0);
    SIM_ASSERT(w->max_tasks > 0 && w->max_timers > 0 && w->max_objects > 0);
    return SIM_OK;
}

static void world_describe(const sim_world *w, char *buf, size_t size);

uint32_t sim__ext_attach(sim_world *w, const sim__ext_ops *ops, void *state)
{
    SIM_ASSERT(ops != NULL && ops->name != NULL);
    SIM_ASSERT(sim__ext_find(w, ops) == SIM__NIL); /* once per world */
    SIM_ASSERT(w->ext_count < SIM__EXT_MAX);
    uint32_t i = w->ext_count++;
    w->ext_ops[i] = ops;
    w->ext[i] = state;
    return i;
}

int sim_world_new(const sim_world_desc *desc, sim_world **out)
{
    sim__context_register(world_describe);
    static const sim_world_desc defaults;
    if (out == NULL) return SIM_EINVAL;
    *out = NULL;
    const sim_world_desc *d = desc ? desc : &defaults;
    /* Cache-line aligned, so that the hash buffer's 32-byte records never straddle a line. */
    size_t size = (sizeof(sim_world) + 63) & ~(size_t)63;
    sim_world *w = aligned_alloc(64, size);
    if (w == NULL) sim__oom(size, "a world");
    memset(w, 0, size);
    w->current = SIM__NIL;
    w->dropping = -1;
    w->task_free = SIM__NIL;
    w->timer_free = SIM__NIL;
    w->timer_next_ns = UINT64_MAX;
    w->obj_free = SIM__NIL;
    w->waiter_free = SIM__NIL;
    w->rq_head = SIM__NIL;
    w->rq_tail = SIM__NIL;
    w->hand_free = SIM__NIL;
    w->tag = sim__world_tag_next();
    sim__task_init_hand_ops(w);
    sim__chan_init_hand_ops(w);
    sim__token_init_hand_ops(w);
    sim__sync_init_hand_ops(w);
    sim__set_init_hand_ops(w);
    int rc = world_apply_desc(w, d);
    if (rc == SIM_OK && w->backend == SIM_BACKEND_HOST) sim__host_world_init(w);
    if (rc == SIM_OK) rc = world_init_nodes(w);
    if (rc == SIM_OK) rc = sim__hash_init(w);
    if (rc == SIM_OK) rc = sim__sched_init(w);
    if (rc == SIM_OK) {
        w->report = sim__xstrdup("", "a world's report");
    }
    if (rc != SIM_OK) {
        sim_world_free(w);
        return rc;
    }
    SIM_ASSERT(w->tag != 0 && w->nodes_len == 1); /* a world of its own, with node 0 */
    SIM_ASSERT(w->current == SIM__NIL && w->tasks_live == 0);
    *out = w;
    return SIM_OK;
}

/* Drops every live task in crash mode: tasks of nodes first, then world-level tasks, each
 * group in spawn order. */
static void world_drop_all(sim_world *w)
{
    uint32_t n;
    sim__ref *refs = sim__tasks_of(w, SIM__NIL, &n);
    SIM_ASSERT(refs != NULL || n == 0);
    for (uint32_t pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < n; i++) {
            sim__task *t = &w->tasks[refs[i].slot];
            if (t->id != refs[i].id || t->status != TASK_LIVE) continue;
            if ((t->node == 0) != (pass == 1)) continue;
            sim__rq_remove(w, refs[i].slot);
            sim__task_finish(w, refs[i].slot, SIM_ECRASHED, SIM__DROP_CRASH);
        }
    }
    free(refs);
    /* Then what nodes and the world own (made outside tasks), in crash mode. */
    int saved = w->dropping;
    w->dropping = SIM__DROP_CRASH;
    for (uint32_t node = w->nodes_len; node-- > 0;) sim__hands_release_node(w, node);
    w->dropping = saved;
}

void sim_world_free(sim_world *w)
{
    if (w == NULL) return;
    SIM_ASSERT(w->current == SIM__NIL);
    sim_world *outer = sim__running_get();
    sim__running_set(w);
    w->freeing = true;
    sim__host_jobs_stop(w); /* first: no pool thread runs a job once tasks are dropped */
    world_drop_all(w);
    sim__host_world_free(w); /* after the drops: they close sockets the reactor watches */
    for (uint32_t e = 0; e < w->ext_count; e++) {
        if (w->ext_ops[e]->free != NULL) w->ext_ops[e]->free(w);
    }
    sim__objs_free(w);
    sim__hands_free(w);
    sim__ledger_free(w);
    sim__running_set(outer == w ? NULL : outer);
    sim__timers_free(w);
    sim__nodes_free(w);
    sim__sched_free(w);
    sim__hash_free(w);
    /* Every block went back: task states, boxes of futures, rings, messages. A block still
     * out is a leak ASan cannot see (the chunks are freed wholesale just below). */
    SIM_ASSERT_SLOW(w->mem.live_blocks == 0);
    sim__mem_release(&w->mem);
    for (uint32_t i = 0; i < w->violations_len; i++) free((char *)w->violations[i].message);
    for (uint32_t i = 0; i < w->strings_len; i++) free(w->strings[i]);
    free(w->strings);
    free(w->violations);
    free(w->tasks);
    free(w->task_waits);
    free(w->objs);
    free(w->waiters);
    free(w->aborts);
    free(w->report);
    free(w->dump);
    free(w->checkpoints);
    free(w->replay_hint);
    free(w->host_dir);
    free(w);
}

bool sim_world_is_host(const sim_world *w)
{
    SIM_ASSERT(w != NULL);
    return w->backend == SIM_BACKEND_HOST;
}

uint64_t sim_now(const sim_world *w)
{
    if (w->backend == SIM_BACKEND_HOST && sim__host_on_pool_thread(w)) return sim__host_clock(w);
    return w->in_job ? w->job_clock_ns : w->now_ns;
}

uint64_t sim_world_seed(const sim_world *w)
{
    return w->seed;
}

uint64_t sim_world_step(const sim_world *w)
{
    return w->step;
}

uint64_t sim_world_event_count(const sim_world *w)
{
    return w->stats.events;
}

void sim_world_rng(const sim_world *w, const char *name, uint64_t index, sim_rng *out)
{
    sim_rng_init(out, w->seed, name, index);
}

const char *sim_world_report(const sim_world *w)
{
    return w->report;
}

uint32_t sim_world_checkpoint_count(const sim_world *w)
{
    return w->checkpoints_len;
}

const sim_checkpoint *sim_world_checkpoint(const sim_world *w, uint32_t i)
{
    return i < w->checkpoints_len ? &w->checkpoints[i] : NULL;
}

void sim_world_stats(const sim_world *w, sim_stats *out)
{
    *out = w->stats;
    out->tasks_live = w->tasks_alloc;
    out->timers_armed = sim__timers_armed(w);
    out->objects_live = w->objs_live;
    out->violations = w->violations_total;
}

const char *sim_world_intern(sim_world *w, const char *str)
{
    if (str == NULL) return NULL;
    for (uint32_t i = 0; i < w->strings_len; i++) {
        if (strcmp(w->strings[i], str) == 0) return w->strings[i];
    }
    sim__grow((void **)&w->strings, &w->strings_cap, w->strings_len + 1, sizeof(char *));
    char *copy = sim__xstrdup(str, "an interned string");
    SIM_ASSERT(w->strings_len < w->strings_cap);
    w->strings[w->strings_len++] = copy;
    SIM_ASSERT(strcmp(copy, str) == 0);
    return copy;
}

void sim__violation(sim_world *w, sim_violation_kind kind, const char *fmt, ...)
{
    SIM_ASSERT(fmt != NULL);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A blocking job's thread on a host world: the loop records it when the job is done. */
    if (w->backend == SIM_BACKEND_HOST && sim__host_defer(w, SIM_EV_VIOLATION, kind, 0, msg)) {
        return;
    }
    uint32_t task = 0;
    if (w->current != SIM__NIL) task = w->tasks[w->current].id;
    uint32_t node = w->current != SIM__NIL ? w->tasks[w->current].node : 0;
    sim__violation_at(w, kind, node, task, msg);
}

void sim__violation_at(sim_world *w, sim_violation_kind kind, uint32_t node, uint32_t task,
                       const char *msg)
{
    SIM_ASSERT(msg != NULL);
    SIM_ASSERT(w->violations_len <= SIM__VIOLATIONS_KEPT);
    w->violations_total++;
    sim__emit(w, SIM_EV_VIOLATION, node, task, (uint64_t)kind, 0, msg);
    if (w->violations_len >= SIM__VIOLATIONS_KEPT) return;
    if (w->violations == NULL) {
        w->violations = calloc(SIM__VIOLATIONS_KEPT, sizeof(sim_violation));
        if (w->violations == NULL) return;
    }
    char *copy = strdup(msg);
    if (copy == NULL) return;
    sim_violation *v = &w->violations[w->violations_len++];
    v->kind = kind;
    v->step = w->step;
    v->vtime_ns = w->now_ns;
    v->task.v = task;
    v->message = copy;
}

uint32_t sim_world_violation_count(const sim_world *w)
{
    return w->violations_total;
}

const sim_violation *sim_world_violation(const sim_world *w, uint32_t i)
{
    return i < w->violations_len ? &w->violations[i] : NULL;
}

int sim__no_side_effects(sim_world *w, const char *what)
{
    if (w->dropping != SIM__DROP_CRASH) return SIM_OK;
    sim__violation(w, SIM_VIOLATION_CRASH_SIDE_EFFECT,
                   "%s during a crash-mode drop: a crashed node can only release memory", what);
    return SIM_EMISUSE;
}

void sim__not_in_task(sim_world *w, const char *what)
{
    sim__violation(w, SIM_VIOLATION_MISUSE, "%s called outside a task's poll function", what);
}

static void world_describe(const sim_world *w, char *buf, size_t size)
{
    char t[32];
    sim__fmt_time(w->now_ns, t, sizeof t);
    const char *task_name = "";
    uint32_t task = 0;
    if (w->current != SIM__NIL) {
        task = w->tasks[w->current].id;
        task_name = w->tasks[w->current].name ? w->tasks[w->current].name : "";
    }
    snprintf(buf, size,
             "  seed %llu, virtual time %s, step %llu, task %u (%s)\n"
             "  replay: %s\n",
             (unsigned long long)w->seed, t, (unsigned long long)w->step, task, task_name,
             w->replay_hint ? w->replay_hint : "run the same binary with the same seed");
}
