/*
 * run.c: the run loop, block_on and stopping.
 *
 * One iteration of the loop, in order (compare libuv's uv_run phases):
 *   1. deferred aborts: tasks whose abort was requested are dropped;
 *   2. stop checks: a requested stop, a finished block_on root;
 *   3. due timers: every timer whose deadline is <= now fires, in (deadline, seq) order;
 *   4. one step: the strategy picks one runnable task (a decision when there are several),
 *      which is polled once;
 *   5. idle: with nothing runnable, the clock jumps to the next deadline; with no deadline
 *      either, the run is over if no work is left, and a deadlock if some is.
 * Virtual time never moves while a task is runnable, so a task that keeps yielding without
 * waiting is stopped by the step limit rather than by time.
 */
#include <stdio.h>

#include "exec.h"

void sim__stop(sim_world *w, int rc)
{
    SIM_ASSERT(rc < 0);
    if (w->stop_rc != 0) return;
    w->stop_rc = rc;
    sim__emit(w, SIM_EV_STOP, 0, 0, (uint64_t)(int64_t)rc, 0, sim_result_name(rc));
    /* A host run stopped (a signal, sim_world_stop) says what its tasks were waiting for:
     * that is where a real program hangs. A simulated run's stop is the caller's. */
    if (rc != SIM_ESTOPPED || w->backend == SIM_BACKEND_HOST) sim__report_build(w, rc);
}

/* Wakes one random pending task without cause: primitives must cope with spurious polls. */
static void maybe_spurious(sim_world *w)
{
    if (w->spurious.p == 0 || w->spurious.q == 0) return;
    if (!sim_rng_ratio(&w->spurious_rng, w->spurious)) return;
    uint32_t waiting = 0;
    const uint32_t busy = TF_QUEUED | TF_RUNNING | TF_PARKED | TF_ABORT | TF_WOKEN;
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        const sim__task *t = &w->tasks[s];
        if (t->status == TASK_LIVE && !(t->flags & busy) &&
            w->nodes[t->node].state == SIM_NODE_UP) {
            waiting++;
        }
    }
    if (waiting == 0) return;
    uint64_t pick = sim_rng_below(&w->spurious_rng, waiting);
    SIM_ASSERT(pick < waiting);
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        sim__task *t = &w->tasks[s];
        if (t->status != TASK_LIVE || (t->flags & busy) ||
            w->nodes[t->node].state != SIM_NODE_UP) {
            continue;
        }
        if (pick-- == 0) {
            sim__wake(w, s, t->id);
            t->flags |= TF_SPURIOUS;
            return;
        }
    }
}

static void after_pending(sim_world *w, uint32_t slot, bool spurious)
{
    SIM_ASSERT(w->tasks[slot].status == TASK_LIVE);
    SIM_ASSERT(!(w->tasks[slot].flags & (TF_RUNNING | TF_QUEUED | TF_ENDING)));
    sim__task *t = &w->tasks[slot];
    if (t->flags & TF_CRASH) {
        t->flags &= ~(uint32_t)(TF_CRASH | TF_WOKEN);
        sim__task_finish(w, slot, SIM_ECRASHED, SIM__DROP_CRASH);
        return;
    }
    sim__task_begin_wait(w, slot, spurious);
    sim__oracle_pending(w, slot);
    t = &w->tasks[slot];
    if (t->flags & TF_WOKEN) {
        t->flags &= ~(uint32_t)TF_WOKEN;
        if (t->node != 0 && w->nodes[t->node].state == SIM_NODE_PAUSED) {
            t->flags |= TF_PARKED;
        } else {
            int rc = sim__rq_push(w, slot);
            SIM_ASSERT(rc == SIM_OK);
        }
    }
}

static void poll_task_body(sim_world *w, uint32_t slot, uint64_t poll_b)
{
    sim__task *t = &w->tasks[slot];
    SIM_ASSERT(t->status == TASK_LIVE);
    SIM_ASSERT(w->current == SIM__NIL);
    uint64_t spurious = (t->flags & TF_SPURIOUS) ? 1 : 0;
    t->flags = (t->flags & ~(uint32_t)(TF_SPURIOUS | TF_WAITS_LOST)) | TF_RUNNING;
    t->nwaits = 0;
    t->polls++;
    w->step++;
    w->stats.steps++;
    sim__emit(w, SIM_EV_POLL, t->node, t->id, t->polls, poll_b | spurious, NULL);
    w->current = slot;
    int rc = t->poll(t->state, w);
    w->current = SIM__NIL;
    t = &w->tasks[slot];
    t->flags &= ~(uint32_t)TF_RUNNING;
    if (rc == SIM_PENDING) {
        after_pending(w, slot, spurious != 0);
        return;
    }
    if (rc > 0) {
        w->current = slot;
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "task %u (%s) returned %d from its poll function: expected SIM_PENDING, "
                       "SIM_OK or a negative result code",
                       t->id, t->name, rc);
        w->current = SIM__NIL;
        rc = SIM_EMISUSE;
    }
    t->flags &= ~(uint32_t)TF_WOKEN;
    if (t->flags & TF_CRASH) {
        t->flags &= ~(uint32_t)TF_CRASH;
        sim__task_finish(w, slot, SIM_ECRASHED, SIM__DROP_CRASH);
    } else {
        sim__task_finish(w, slot, rc, SIM__DROP_DONE);
    }
}

/* One step; with a step hook, bracketed by its footprint (footprint.c). */
static void poll_task(sim_world *w, uint32_t slot, uint64_t poll_b)
{
    if (w->step_fn == NULL) {
        poll_task_body(w, slot, poll_b);
        return;
    }
    uint32_t id = w->tasks[slot].id;
    sim__fp_step_begin(w, slot);
    poll_task_body(w, slot, poll_b);
    sim__fp_step_end(w, id);
}

static bool root_finished(const sim_world *w, uint32_t root, uint32_t root_id)
{
    return root != SIM__NIL && w->tasks[root].id == root_id &&
           w->tasks[root].status == TASK_DONE;
}

/* True when some task is runnable but frozen on a paused node. */
static bool any_parked(const sim_world *w)
{
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        if (w->tasks[s].status == TASK_LIVE && (w->tasks[s].flags & TF_PARKED)) return true;
    }
    return false;
}

/* Nothing is runnable: advance the clock to the next deadline, or decide that this call is
 * over. The clock never passes the time limit: reaching it first stops the run with
 * SIM_ETIMELIMIT. Under run_until, tasks frozen on a paused node wait on the caller (who
 * paused it), so time passes to `until`; under run, nobody is left to resume them and that is
 * a deadlock. Returns 1 to go on, 0 when the call should return SIM_OK. */
static int idle(sim_world *w, uint64_t until_ns, bool have_root)
{
    bool work = w->work_live > 0 || w->held || have_root;
    SIM_ASSERT(w->rq_len == 0); /* idle: nothing runnable */
    SIM_ASSERT(w->current == SIM__NIL);
    if (!work && until_ns == UINT64_MAX) return 0;
    bool timers = sim__timers_armed(w) > 0;
    uint64_t own = sim__oracle_next(w); /* the shutdown signal and its overrun check */
    if (!timers && own == UINT64_MAX && work && (until_ns == UINT64_MAX || !any_parked(w))) {
        sim__stop(w, SIM_EDEADLOCK);
        return 1;
    }
    uint64_t next = timers ? sim__timers_next(w) : UINT64_MAX;
    if (own < next) next = own;
    SIM_ASSERT(next > w->now_ns);
    uint64_t limit = w->time_limit_ns;
    uint64_t bound = limit != 0 && limit < until_ns ? limit : until_ns;
    if (next <= bound) {
        w->now_ns = next;
        return 1;
    }
    if (bound == until_ns) {
        if (until_ns > w->now_ns) w->now_ns = until_ns;
        return 0;
    }
    if (limit > w->now_ns) w->now_ns = limit;
    sim__stop(w, SIM_ETIMELIMIT);
    return 1;
}

void sim__checkpoint(sim_world *w)
{
    if (w->checkpoints_len > 0) {
        const sim_checkpoint *last = &w->checkpoints[w->checkpoints_len - 1];
        SIM_ASSERT(last->step <= w->step); /* steps and events only grow */
        SIM_ASSERT(last->events <= w->stats.events);
        if (last->step == w->step && last->events == w->stats.events) return;
    }
    sim__grow((void **)&w->checkpoints, &w->checkpoints_cap, w->checkpoints_len + 1,
              sizeof(sim_checkpoint));
    /* The hash first: sim_world_trace_hash reads the last checkpoint, and with the index
     * incremented in the same statement (an order C leaves unspecified) it read the record
     * being written, whatever reused memory held (an earlier world's hash). */
    uint64_t hash = sim_world_trace_hash(w);
    w->checkpoints[w->checkpoints_len] = (sim_checkpoint){
        .step = w->step, .events = w->stats.events, .hash = hash};
    w->checkpoints_len++;
}

typedef struct run_bounds {
    uint64_t until_ns;   /* run_until: return SIM_OK at this virtual time */
    uint64_t until_step; /* run_to_step: return SIM_OK after this many steps */
    uint32_t root;       /* block_on: return when this task is done */
    uint32_t root_id;
} run_bounds;

static int run_loop(sim_world *w, const run_bounds *b)
{
    uint64_t until_ns = b->until_ns;
    uint32_t root = b->root, root_id = b->root_id;
    SIM_ASSERT(w->in_run);
    SIM_ASSERT(w->current == SIM__NIL && w->dropping < 0);
    for (;;) {
        if (w->step >= w->next_checkpoint) {
            sim__checkpoint(w);
            w->next_checkpoint = w->step + w->checkpoint_every;
        }
        if (w->step >= b->until_step) return SIM_OK;
        if (w->aborts_len > 0) sim__aborts_process(w);
        if (root_finished(w, root, root_id)) return SIM_OK;
        if (w->stop_rc != 0) return w->stop_rc;
        if (w->stop_requested) {
            sim__stop(w, SIM_ESTOPPED);
            continue;
        }
        if (w->backend == SIM_BACKEND_HOST) { /* the host's clock, never backwards */
            uint64_t host_now = sim__host_clock(w);
            if (host_now > w->now_ns) w->now_ns = host_now;
            if (w->rq_len > 0 && w->step % SIM__HOST_IO_EVERY == 0) sim__host_poll_io(w);
        }
        if (sim__timers_due(w)) sim__timers_fire_due(w);
        if (sim__oracle_next(w) <= w->now_ns) sim__oracle_due(w);
        if (w->rq_len > 0) {
            if (w->step >= w->step_limit) {
                sim__stop(w, SIM_ESTEPLIMIT);
                continue;
            }
            if (w->spurious.p != 0) maybe_spurious(w);
            uint64_t poll_b;
            uint32_t slot = sim__rq_pick(w, &poll_b);
            if (slot != SIM__NIL) poll_task(w, slot, poll_b);
            continue;
        }
        int more = w->backend == SIM_BACKEND_HOST ? sim__host_idle(w, until_ns, root != SIM__NIL)
                                                  : idle(w, until_ns, root != SIM__NIL);
        if (!more) return SIM_OK;
    }
}

/* A world run while another (or the same) world is running on this thread: seed 004's
 * "second runtime inside the first" story. Both worlds get the violation. */
static void nested_violation(sim_world *w, const char *what)
{
    SIM_ASSERT(what != NULL);
    uint32_t before = w->violations_total;
    sim_world *running = sim__running_get();
    if (running != NULL && running != w) {
        sim__violation(running, SIM_VIOLATION_NESTED_BLOCK_ON,
                       "%s of another world was called from inside this world's run: one "
                       "thread runs one world at a time, or the outer one hangs", what);
        sim__violation(w, SIM_VIOLATION_NESTED_BLOCK_ON,
                       "%s called while another world is running on this thread", what);
    } else {
        sim__violation(w, SIM_VIOLATION_NESTED_BLOCK_ON, "%s called while the world is running",
                       what);
    }
    SIM_ASSERT(w->violations_total > before);
}

static int enter(sim_world *w, const char *what)
{
    if (w->in_run || w->current != SIM__NIL || sim__running_get() != NULL) {
        nested_violation(w, what);
        return SIM_EMISUSE;
    }
    return SIM_OK;
}

static int run_outer(sim_world *w, const run_bounds *b)
{
    sim_world *outer = sim__running_get();
    SIM_ASSERT(!w->in_run);
    SIM_ASSERT(outer == NULL); /* enter() refused a nested run */
    sim__running_set(w);
    w->in_run = true;
    int rc = run_loop(w, b);
    SIM_ASSERT(w->current == SIM__NIL); /* a run never ends inside a poll */
    w->in_run = false;
    sim__checkpoint(w);
    sim__running_set(outer);
    return rc;
}

int sim_world_run(sim_world *w)
{
    int rc = enter(w, "sim_world_run");
    if (rc != SIM_OK) return rc;
    if (w->stop_rc != 0) return w->stop_rc;
    run_bounds b = {.until_ns = UINT64_MAX, .until_step = UINT64_MAX, .root = SIM__NIL};
    rc = run_outer(w, &b);
    if (rc == SIM_OK) sim__oracle_end(w); /* the run's work is done: the end-of-run checks */
    return rc;
}

int sim_world_run_until(sim_world *w, uint64_t until_ns)
{
    int rc = enter(w, "sim_world_run_until");
    if (rc != SIM_OK) return rc;
    if (w->stop_rc != 0) return w->stop_rc;
    if (until_ns <= w->now_ns) return SIM_OK;
    run_bounds b = {.until_ns = until_ns, .until_step = UINT64_MAX, .root = SIM__NIL};
    rc = run_outer(w, &b);
    if (w->backend == SIM_BACKEND_HOST) return rc; /* the host's clock does not stop */
    if (rc == SIM_OK) SIM_ASSERT(w->now_ns == until_ns); /* the clock stops at until_ns */
    SIM_ASSERT(w->now_ns <= until_ns);
    return rc;
}

int sim_world_run_to_step(sim_world *w, uint64_t step)
{
    int rc = enter(w, "sim_world_run_to_step");
    if (rc != SIM_OK) return rc;
    if (w->stop_rc != 0) return w->stop_rc;
    run_bounds b = {.until_ns = UINT64_MAX, .until_step = step, .root = SIM__NIL};
    return run_outer(w, &b);
}

void sim_world_stop(sim_world *w)
{
    w->stop_requested = true;
    sim__host_kick(w); /* a host world's loop may be blocked in epoll_wait */
}

/* The root task of sim_block_on: its state points at the caller's future. */
typedef struct root_state {
    sim_co co; /* unused: the root awaits by hand */
    sim_fut *f;
} root_state;

static int root_poll(void *state, sim_world *w)
{
    root_state *r = state;
    return sim_fut_poll(w, r->f);
}

static void root_drop(void *state, sim_world *w)
{
    root_state *r = state;
    sim_fut_drop(w, r->f);
}

/* A future handed to block_on belongs to it (sim_block_on makes it by value: the caller has
 * no copy to drop), so a call refused before it runs drops the future instead of keeping it:
 * a select's or timeout's boxes would otherwise stay allocated until the world is freed. */
static int block_on_refuse(sim_world *w, sim_fut *f, int rc)
{
    if (f != NULL && f->vt != NULL) sim_fut_drop(w, f);
    return rc;
}

int sim_block_on_fut(sim_world *w, sim_fut *f)
{
    if (w->in_run || w->current != SIM__NIL || sim__running_get() != NULL) {
        if (w->current != SIM__NIL) {
            const sim__task *t = &w->tasks[w->current];
            sim__violation(w, SIM_VIOLATION_NESTED_BLOCK_ON,
                           "sim_block_on called from inside task %u (%s): a task must await "
                           "the future instead; blocking here would hang the executor",
                           t->id, t->name);
        } else {
            nested_violation(w, "sim_block_on");
        }
        return block_on_refuse(w, f, SIM_EMISUSE);
    }
    if (f == NULL || f->vt == NULL || f->vt->poll == NULL) return SIM_EINVAL;
    if (w->stop_rc != 0) return block_on_refuse(w, f, w->stop_rc);
    root_state init = {.f = f};
    sim__task_init desc = {.name = "block_on", .poll = root_poll, .drop = root_drop,
                           .state = &init, .state_size = sizeof init};
    uint32_t slot;
    int rc = sim__task_alloc(w, &desc, 0, &slot);
    if (rc != SIM_OK) return block_on_refuse(w, f, rc);
    sim__task *t = &w->tasks[slot];
    uint32_t id = t->id;
    sim__task_launch(w, slot, false, NULL);
    t = &w->tasks[slot];
    t->flags &= ~(uint32_t)TF_DETACHED; /* the slot is freed below, not on completion */
    t->flags |= TF_ROOT;
    run_bounds b = {.until_ns = UINT64_MAX, .until_step = UINT64_MAX, .root = slot, .root_id = id};
    rc = run_outer(w, &b);
    t = &w->tasks[slot];
    SIM_ASSERT(t->id == id);
    if (t->status == TASK_LIVE) {
        SIM_ASSERT(rc != SIM_OK);
        sim__rq_remove(w, slot);
        sim_world *outer = sim__running_get();
        sim__running_set(w);
        sim__task_finish(w, slot, rc, SIM__DROP_ABORT);
        sim__running_set(outer);
    } else {
        rc = t->result;
    }
    sim__task_free_slot(w, slot);
    return rc;
}
