/*
 * pool.c: each node's blocking pool (spawn_blocking).
 *
 * A job is a task with an internal poll function and a state block made of a header followed
 * by the user's state. Its life:
 *   QUEUED   spawned while every worker was busy: waits in the node's FIFO queue, in spawn
 *            order, and is not polled until a worker is handed to it (a worker is a count);
 *   ASSIGNED holds a worker (at spawn, or handed on by a finishing job) and is runnable;
 *   RUNNING  run() has executed, synchronously, at the job's start time. The job then holds
 *            its worker for the node's latency draw plus what run() charged, modelled as a
 *            sleep; the job's clock inside run() is start + charged so far;
 *   FINISHED the worker passes to the next queued job and the handle completes.
 * Limits of the model: run()'s effects happen at the start time, not spread over the job;
 * a crash mid-job abandons it, but the effects of run() have already happened (the disk
 * model's crash rules decide what of them was durable).
 */
#include <stdio.h>
#include <stdlib.h>

#include "exec.h"

enum { JOB_QUEUED = 1, JOB_ASSIGNED, JOB_RUNNING, JOB_FINISHED };

typedef struct job_hdr {
    sim_job_cb run;
    sim_drop_cb drop;
    uint32_t phase;      /* JOB_* */
    int32_t rc;          /* run()'s result */
    uint64_t busy_until; /* the time the job holds its worker until */
    uint32_t timer_slot; /* its timer */
    uint32_t timer_id;
    uint64_t user_size;
    bool host_done;      /* host worlds: the pool thread has finished run() (set by the loop) */
} job_hdr;

#define JOB_HDR_SIZE ((sizeof(job_hdr) + 15) & ~(size_t)15)

static void *job_user(job_hdr *h)
{
    return h->user_size ? (uint8_t *)h + JOB_HDR_SIZE : NULL;
}

static int jobq_push(sim_world *w, sim__node *n, uint32_t slot)
{
    SIM_ASSERT(n->jobq_len <= n->jobq_cap);
    SIM_ASSERT(w->tasks[slot].flags & TF_JOB);
    if (n->jobq_len == n->jobq_cap) {
        uint32_t ncap = n->jobq_cap ? n->jobq_cap * 2 : 16;
        sim__ref *q = sim__xrealloc_array(NULL, ncap, sizeof(sim__ref), "a node's job queue");
        for (uint32_t i = 0; i < n->jobq_len; i++) q[i] = n->jobq[(n->jobq_head + i) % n->jobq_cap];
        free(n->jobq);
        n->jobq = q;
        n->jobq_cap = ncap;
        n->jobq_head = 0;
    }
    uint32_t k = (n->jobq_head + n->jobq_len) % n->jobq_cap;
    n->jobq[k] = (sim__ref){.slot = slot, .id = w->tasks[slot].id};
    n->jobq_len++;
    SIM_ASSERT(n->jobq_head < n->jobq_cap && n->jobq_len <= n->jobq_cap);
    return SIM_OK;
}

/* A worker becomes free: it goes to the first queued job that is still waiting. */
static void worker_release(sim_world *w, uint32_t node)
{
    sim__node *n = &w->nodes[node];
    SIM_ASSERT(n->busy > 0);
    n->busy--;
    while (n->jobq_len > 0) {
        uint32_t slot = n->jobq[n->jobq_head].slot;
        uint32_t id = n->jobq[n->jobq_head].id;
        n->jobq_head = (n->jobq_head + 1) % n->jobq_cap;
        n->jobq_len--;
        sim__task *t = &w->tasks[slot];
        if (t->id != id || t->status != TASK_LIVE) continue;
        job_hdr *h = t->state;
        if (h->phase != JOB_QUEUED) continue;
        h->phase = JOB_ASSIGNED;
        n->busy++;
        SIM_ASSERT(n->busy <= n->workers); /* a worker handed on, never a new one */
        sim__wake(w, slot, id);
        return;
    }
}

static int job_start(sim_world *w, uint32_t slot, job_hdr *h)
{
    sim__task *t = &w->tasks[slot];
    sim__node *n = &w->nodes[t->node];
    t->flags |= TF_JOB_STARTED;
    w->in_job = true;
    w->job_clock_ns = w->now_ns;
    int rc = h->run(job_user(h), w);
    w->in_job = false;
    SIM_ASSERT(rc != SIM_PENDING);
    t = &w->tasks[slot];
    n = &w->nodes[t->node];
    SIM_ASSERT(w->job_clock_ns >= w->now_ns); /* a job's clock only moves forward */
    uint64_t base = sim_rng_range(&n->pool_rng, n->latency.min_ns, n->latency.max_ns);
    /* now + what the job charged + the base latency, saturated: never in the past. */
    uint64_t end = sim__add_sat(w->job_clock_ns, base);
    SIM_ASSERT(end >= w->job_clock_ns);
    h->rc = rc;
    h->phase = JOB_RUNNING;
    h->busy_until = end;
    sim__emit(w, SIM_EV_JOB_START, t->node, t->id, n->busy, end, t->name);
    return SIM_OK;
}

/* A host world: run() goes to a pool thread of the node; the task waits for its completion,
 * which the loop stores in the header (host_exec.c). */
static int job_poll_host(sim_world *w, uint32_t slot, job_hdr *h)
{
    sim__task *t = &w->tasks[slot];
    uint32_t node = t->node;
    if (h->phase == JOB_ASSIGNED) {
        t->flags |= TF_JOB_STARTED;
        h->phase = JOB_RUNNING;
        h->host_done = false;
        sim__emit(w, SIM_EV_JOB_START, node, t->id, w->nodes[node].busy, 0, t->name);
        sim__host_job_submit(w, slot, h->run, job_user(h), &h->rc, &h->host_done);
    }
    SIM_ASSERT(h->phase == JOB_RUNNING);
    if (!h->host_done) {
        sim__note_wait(w, WAIT_JOB, node, 0);
        return SIM_PENDING;
    }
    h->phase = JOB_FINISHED;
    worker_release(w, node);
    return h->rc;
}

static int job_poll(void *state, sim_world *w)
{
    job_hdr *h = state;
    uint32_t slot = w->current;
    uint32_t node = w->tasks[slot].node;
    sim__exec_fp_global(w); /* a job's code, its node's pool: no keys say what it touches */
    SIM_ASSERT(w->tasks[slot].flags & TF_JOB);
    SIM_ASSERT(node != 0); /* a job runs in a node's pool */
    if (h->phase == JOB_QUEUED) { /* a spurious wake-up: still waiting for a worker */
        sim__note_wait(w, WAIT_POOL, node, 0);
        return SIM_PENDING;
    }
    if (w->backend == SIM_BACKEND_HOST) return job_poll_host(w, slot, h);
    if (h->phase == JOB_ASSIGNED) job_start(w, slot, h);
    SIM_ASSERT(h->phase == JOB_RUNNING);
    int rc = sim__sleep_poll(w, h->busy_until, &h->timer_slot, &h->timer_id);
    if (rc == SIM_PENDING) {
        sim__note_wait_retag(w, WAIT_JOB);
        return SIM_PENDING;
    }
    h->phase = JOB_FINISHED;
    worker_release(w, node);
    return rc == SIM_OK ? h->rc : rc;
}

static void job_drop(void *state, sim_world *w)
{
    job_hdr *h = state;
    uint32_t node = w->tasks[w->current].node;
    SIM_ASSERT(w->tasks[w->current].flags & TF_JOB);
    SIM_ASSERT(h->phase != JOB_FINISHED || h->timer_id == 0); /* a finished job armed nothing */
    sim__sleep_cancel(w, &h->timer_slot, &h->timer_id);
    /* A crashed node's workers vanish with it; otherwise a held worker is handed on. */
    if ((h->phase == JOB_ASSIGNED || h->phase == JOB_RUNNING) &&
        w->dropping != SIM__DROP_CRASH) {
        worker_release(w, node);
    }
    h->phase = JOB_FINISHED;
    if (h->drop != NULL) h->drop(job_user(h), w);
}

int sim_spawn_blocking(sim_world *w, const sim_job_desc *desc, sim_join *out)
{
    if (out != NULL) memset(out, 0, sizeof *out);
    if (desc == NULL || desc->run == NULL) return SIM_EINVAL;
    if (desc->state_size > SIM_STATE_MAX - JOB_HDR_SIZE) return SIM_EINVAL;
    int rc = sim__no_side_effects(w, "sim_spawn_blocking");
    if (rc != SIM_OK) return rc;
    uint32_t node = desc->node.v;
    if (node == 0 && w->booting != 0) node = w->booting;
    if (node == 0 && w->current != SIM__NIL) node = w->tasks[w->current].node;
    if (node == 0) return SIM_EINVAL; /* a job needs a node's pool */
    if (node >= w->nodes_len || w->nodes[node].state == SIM_NODE_DOWN) return SIM_ENODE;
    sim__task_init td = {
        .name = desc->name ? desc->name : "job",
        .poll = job_poll,
        .drop = job_drop,
        .state_size = JOB_HDR_SIZE + desc->state_size,
    };
    uint32_t slot;
    rc = sim__task_alloc(w, &td, node, &slot);
    if (rc != SIM_OK) return rc;
    sim__task *t = &w->tasks[slot];
    t->flags |= TF_JOB;
    job_hdr *h = t->state;
    h->run = desc->run;
    h->drop = desc->drop;
    h->user_size = desc->state_size;
    if (desc->state != NULL && desc->state_size > 0) {
        memcpy(job_user(h), desc->state, desc->state_size);
    }
    sim__task_launch(w, slot, true, out);
    /* The job takes its place now, in spawn order: a free worker, or the queue. */
    sim__node *n = &w->nodes[node];
    if (n->jobq_len > 0) SIM_ASSERT(n->busy == n->workers); /* releases drain the queue */
    if (n->busy < n->workers && n->jobq_len == 0) {
        n->busy++;
        h->phase = JOB_ASSIGNED;
        return SIM_OK;
    }
    rc = jobq_push(w, n, slot);
    SIM_ASSERT(rc == SIM_OK); /* out of memory queueing a job */
    h->phase = JOB_QUEUED;
    t = &w->tasks[slot];
    sim__rq_remove(w, slot);        /* not runnable until a worker is handed to it */
    t->flags &= ~(uint32_t)TF_PARKED;
    t->nwaits = 1;
    w->task_waits[slot].w[0] = (sim__wait){.kind = WAIT_POOL, .x = node};
    return SIM_OK;
}

int sim_job_charge(sim_world *w, uint64_t ns)
{
    if (w->backend == SIM_BACKEND_HOST && sim__host_on_pool_thread(w)) return SIM_OK;
    if (!w->in_job) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_job_charge outside a blocking job");
        return SIM_EMISUSE;
    }
    SIM_ASSERT(w->current != SIM__NIL && (w->tasks[w->current].flags & TF_JOB));
    uint64_t before = w->job_clock_ns;
    w->job_clock_ns = sim__add_sat(w->job_clock_ns, ns);
    SIM_ASSERT(w->job_clock_ns >= before); /* saturates, never wraps */
    return SIM_OK;
}

/* ---- spawn and await in one awaitable ----------------------------------------------------- */

static int blocking_poll(sim_fut *f, sim_world *w)
{
    sim_blocking_op *op = (sim_blocking_op *)f;
    if (op->join_.h.id_ == 0) { /* the first poll: the job is spawned now */
        int rc = sim_spawn_blocking(w, &op->desc, &op->join_);
        if (rc != SIM_OK) return rc;
        op->desc.state = NULL; /* copied: the caller's state is not read again */
        SIM_ASSERT(op->join_.h.id_ != 0 && op->join_.task.v != 0);
    }
    return sim__join_await(w, &op->join_, "sim_blocking");
}

static void blocking_drop(sim_fut *f, sim_world *w)
{
    sim_blocking_op *op = (sim_blocking_op *)f;
    if (op->join_.h.id_ == 0) return;
    sim__join_unwait(w, &op->join_);
    sim_join_abort(w, &op->join_); /* no effect once the job has started */
    sim_join_detach(w, &op->join_);
}

static void blocking_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_blocking_op *op = (const sim_blocking_op *)f;
    SIM_ASSERT(buf != NULL);
    SIM_ASSERT(size > 0);
    if (op->join_.h.id_ == 0) {
        snprintf(buf, size, "blocking job %s, not spawned yet", op->desc.name ? op->desc.name
                                                                              : "job");
        return;
    }
    snprintf(buf, size, "blocking job %u (%s)", op->join_.task.v,
             sim_task_name(w, op->join_.task));
}

static const sim_fut_vt blocking_vt = {.name = "blocking", .poll = blocking_poll,
                                       .drop = blocking_drop, .describe = blocking_describe};

sim_blocking_op sim_blocking(const sim_job_desc *desc)
{
    SIM_ASSERT(desc != NULL);
    return (sim_blocking_op){.fut = SIM_FUT_INIT(&blocking_vt), .desc = *desc};
}
