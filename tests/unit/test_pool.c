/*
 * test_pool.c: the per-node blocking pool (sim_spawn_blocking) through sim.h: FIFO order and
 * the worker limit, job latency and sim_job_charge (up to its saturating maximum), abort of
 * started and queued jobs, results and outputs, crash and restart, the errors of
 * spawn_blocking, and the synchronous disk calls that jobs make.
 *
 * Jobs report to the test through a pointer to a record on the test's stack; every world is
 * freed before its test returns.
 */
#include "../helpers.h"

#define NEVER UINT64_MAX
#define JOBS_MAX 8

typedef struct pool_rec {
    uint32_t run_order[JOBS_MAX];   /* job indexes in the order run() executed */
    uint32_t nrun;
    uint64_t started_at[JOBS_MAX];  /* sim_now at the start of run() */
    uint64_t charged_at[JOBS_MAX];  /* sim_now after sim_job_charge in run() */
    uint32_t runs[JOBS_MAX];        /* run() calls per job */
    uint32_t drops[JOBS_MAX];       /* drop calls per job */
    int charge_rc[JOBS_MAX];
    sim_node_id node_in_run[JOBS_MAX];
} pool_rec;

typedef struct job_state {
    uint32_t idx;
    uint64_t charge_ns;  /* 0 = no charge */
    uint64_t charge_more_ns; /* a second charge after the first; 0 = none */
    int result;          /* what run() returns */
    int64_t output;      /* set with sim_task_set_output when nonzero */
    pool_rec *rec;
} job_state;

static int job_run(void *state, sim_world *w)
{
    job_state *j = state;
    pool_rec *r = j->rec;
    if (r->nrun < JOBS_MAX) r->run_order[r->nrun] = j->idx;
    r->nrun++;
    r->runs[j->idx]++;
    r->started_at[j->idx] = sim_now(w);
    r->node_in_run[j->idx] = sim_node_current(w);
    if (j->charge_ns != 0) {
        r->charge_rc[j->idx] = sim_job_charge(w, j->charge_ns);
        if (j->charge_more_ns != 0 && r->charge_rc[j->idx] == SIM_OK) {
            r->charge_rc[j->idx] = sim_job_charge(w, j->charge_more_ns);
        }
        r->charged_at[j->idx] = sim_now(w);
    }
    if (j->output != 0) sim_task_set_output(w, j->output);
    return j->result;
}

static void job_drop(void *state, sim_world *w)
{
    job_state *j = state;
    (void)w;
    j->rec->drops[j->idx]++;
}

static sim_job_desc job_desc(job_state *js)
{
    return (sim_job_desc){.name = "job", .run = job_run, .drop = job_drop, .state = js,
                          .state_size = sizeof *js};
}

/* A node with a fixed-latency pool. */
static sim_node_id pool_node(sim_world *w, const char *name, uint32_t workers,
                             uint64_t latency_ns)
{
    sim_node_desc d = {.name = name, .pool_workers = workers,
                       .pool_latency = {.min_ns = latency_ns, .max_ns = latency_ns}};
    sim_node_id id;
    cr_assert(eq(int, sim_node_add(w, &d, &id), SIM_OK));
    return id;
}

/* ---- a task that joins one handle and says when --------------------------------------------- */

typedef struct joiner_of {
    sim_co co;
    sim_join h;
    int *rc;
    uint64_t *at;
} joiner_of;

static int joiner_of_poll(void *state, sim_world *w)
{
    joiner_of *j = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &j->co);
    SIM_AWAIT(rc, sim_join_wait(&j->h));
    *j->rc = rc;
    *j->at = sim_now(w);
    SIM_END(SIM_OK);
}

/* ---- a task on the node that spawns jobs and joins them in order ----------------------------- */

typedef struct batch_rec {
    int spawn_rc[JOBS_MAX];
    int join_rc[JOBS_MAX];
    int64_t join_out[JOBS_MAX];
    uint64_t joined_at[JOBS_MAX];
} batch_rec;

typedef struct batch {
    sim_co co;
    uint32_t n;
    job_state jobs[JOBS_MAX];  /* initial states, copied at spawn */
    sim_join handles[JOBS_MAX];  /* the batch's: released with it */
    uint32_t i;
    batch_rec *rec;
} batch;

static int batch_poll(void *state, sim_world *w)
{
    batch *b = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &b->co);
    for (b->i = 0; b->i < b->n; b->i++) {
        sim_job_desc d = job_desc(&b->jobs[b->i]);
        b->rec->spawn_rc[b->i] = sim_spawn_blocking(w, &d, &b->handles[b->i]);
    }
    for (b->i = 0; b->i < b->n; b->i++) {
        if (b->rec->spawn_rc[b->i] != SIM_OK) continue;
        SIM_AWAIT(rc, sim_join_wait(&b->handles[b->i]));
        b->rec->join_rc[b->i] = rc;
        b->rec->join_out[b->i] = b->handles[b->i].output;
        b->rec->joined_at[b->i] = sim_now(w);
    }
    SIM_END(SIM_OK);
}

/* Goal: the pool runs jobs in FIFO order with at most pool_workers at once, each holding its
 * worker for the latency.
 * Method: 2 workers, latency exactly 10 ms, 5 jobs spawned together by a task on the node
 * (FIFO scheduler; the random one is covered by fifo_order_is_spawn_order_any_scheduler):
 * run() starts at 0, 0, 10, 10, 20 ms in spawn order and the joins complete at 10, 10, 20,
 * 20, 30 ms. */
Test(pool, fifo_with_two_workers)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    sim_node_id n = pool_node(w, "disk", 2, 10 * SIM_MS);
    pool_rec pr = {0};
    batch_rec br = {0};
    batch b = {.n = 5, .rec = &br};
    for (uint32_t i = 0; i < 5; i++) b.jobs[i] = (job_state){.idx = i, .rec = &pr};
    sim_join j = test_spawn(w, "batch", n, batch_poll, NULL, &b, sizeof b);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    static const uint64_t start[5] = {0, 0, 10, 10, 20};
    static const uint64_t end[5] = {10, 10, 20, 20, 30};
    cr_assert(eq(u32, pr.nrun, 5));
    for (uint32_t i = 0; i < 5; i++) {
        cr_assert(eq(int, br.spawn_rc[i], SIM_OK));
        cr_assert(eq(u32, pr.run_order[i], i));
        cr_assert(eq(u32, pr.runs[i], 1));
        cr_assert(eq(u64, pr.started_at[i], start[i] * SIM_MS), "job %u", i);
        cr_assert(eq(int, br.join_rc[i], SIM_OK));
        cr_assert(eq(u64, br.joined_at[i], end[i] * SIM_MS), "job %u", i);
        cr_assert(eq(u32, pr.drops[i], 1));
        cr_assert(eq(u32, pr.node_in_run[i].v, n.v));
    }
    cr_assert(eq(u64, sim_now(w), 30 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: "a job waits in FIFO order for a free worker" holds whatever the scheduler: jobs
 * spawned one after another start in spawn order.
 * Method: for seeds 1..32 under the random scheduler, 1 worker, latency 1 ms, four jobs
 * spawned in order from outside; run() must execute in order 0, 1, 2, 3 at 0, 1, 2, 3 ms. */
Test(pool, fifo_order_is_spawn_order_any_scheduler)
{
    for (uint64_t seed = 1; seed <= 32; seed++) {
        sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
        sim_node_id n = pool_node(w, "disk", 1, SIM_MS);
        pool_rec pr = {0};
        for (uint32_t i = 0; i < 4; i++) {
            job_state js = {.idx = i, .rec = &pr};
            sim_job_desc d = job_desc(&js);
            d.node = n;
            cr_assert(eq(int, sim_spawn_blocking(w, &d, NULL), SIM_OK));
        }
        cr_assert(eq(int, sim_world_run(w), SIM_OK));
        uint32_t order[4];
        memcpy(order, pr.run_order, sizeof order);
        uint32_t nrun = pr.nrun;
        sim_world_free(w);
        cr_assert(eq(u32, nrun, 4));
        for (uint32_t i = 0; i < 4; i++) {
            cr_assert(eq(u32, order[i], i),
                      "seed %llu: jobs ran in order %u %u %u %u, spawned 0 1 2 3",
                      (unsigned long long)seed, order[0], order[1], order[2], order[3]);
        }
    }
}

/* Goal: pool_workers = 0 means 4 workers.
 * Method: 8 jobs with a fixed 10 ms latency spawned from outside on a node with the default
 * pool: four start at 0 ms and four at 10 ms. */
Test(pool, default_pool_has_four_workers)
{
    sim_world *w = test_world(8, SIM_SCHED_FIFO);
    sim_node_id n = pool_node(w, "disk", 0, 10 * SIM_MS);
    pool_rec pr = {0};
    for (uint32_t i = 0; i < 8; i++) {
        job_state js = {.idx = i, .rec = &pr};
        sim_job_desc d = job_desc(&js);
        d.node = n;
        cr_assert(eq(int, sim_spawn_blocking(w, &d, NULL), SIM_OK));
    }
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, pr.nrun, 8));
    for (uint32_t i = 0; i < 8; i++) {
        cr_assert(eq(u64, pr.started_at[i], i < 4 ? 0 : 10 * SIM_MS), "job %u", i);
    }
    cr_assert(eq(u64, sim_now(w), 20 * SIM_MS));
    sim_world_free(w);
}

/* Goal: a job's latency is drawn from [min_ns, max_ns] of the node's model.
 * Method: 1 worker, latency 1..3 ms, 24 jobs back to back: each start-to-start gap lies in
 * [1 ms, 3 ms], and not every gap is the same. */
Test(pool, latency_within_model_bounds)
{
    sim_world *w = test_world(9, SIM_SCHED_FIFO);
    sim_node_desc nd = {.name = "disk", .pool_workers = 1,
                        .pool_latency = {.min_ns = SIM_MS, .max_ns = 3 * SIM_MS}};
    sim_node_id n;
    cr_assert(eq(int, sim_node_add(w, &nd, &n), SIM_OK));
    uint64_t starts[24];
    for (uint32_t i = 0; i < 24; i++) {
        pool_rec pr = {0};
        job_state js = {.idx = 0, .rec = &pr};
        sim_job_desc d = job_desc(&js);
        d.node = n;
        sim_join h;
        cr_assert(eq(int, sim_spawn_blocking(w, &d, &h), SIM_OK));
        cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h)), SIM_OK));
        starts[i] = pr.started_at[0];
    }
    bool varied = false;
    for (uint32_t i = 1; i < 24; i++) {
        uint64_t gap = starts[i] - starts[i - 1];
        cr_assert(ge(u64, gap, SIM_MS), "gap %u", i);
        cr_assert(le(u64, gap, 3 * SIM_MS), "gap %u", i);
        if (i > 1) varied |= gap != starts[1] - starts[0];
    }
    cr_assert(varied);
    sim_world_free(w);
}

/* Goal: sim_job_charge adds virtual time to the job: sim_now inside run() includes it and the
 * job completes latency + charge after it started; it also delays the next queued job.
 * Method: 1 worker, latency 10 ms; job 0 charges 5 ms, job 1 charges nothing. */
Test(pool, job_charge_adds_time)
{
    sim_world *w = test_world(2, SIM_SCHED_FIFO);
    sim_node_id n = pool_node(w, "disk", 1, 10 * SIM_MS);
    pool_rec pr = {0};
    batch_rec br = {0};
    batch b = {.n = 2, .rec = &br};
    b.jobs[0] = (job_state){.idx = 0, .charge_ns = 5 * SIM_MS, .rec = &pr};
    b.jobs[1] = (job_state){.idx = 1, .rec = &pr};
    sim_join j = test_spawn(w, "batch", n, batch_poll, NULL, &b, sizeof b);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, pr.charge_rc[0], SIM_OK));
    cr_assert(eq(u64, pr.started_at[0], 0));
    cr_assert(eq(u64, pr.charged_at[0], 5 * SIM_MS));
    cr_assert(eq(u64, br.joined_at[0], 15 * SIM_MS));
    cr_assert(eq(u64, pr.started_at[1], 15 * SIM_MS));
    cr_assert(eq(u64, br.joined_at[1], 25 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

typedef struct charger {
    sim_co co;
    int *rc;
    uint64_t *now_after;
} charger;

static int charger_poll(void *state, sim_world *w)
{
    charger *c = state;
    *c->rc = sim_job_charge(w, SIM_MS);
    *c->now_after = sim_now(w);
    return SIM_OK;
}

/* Goal: a job that charges the maximum duration does not finish at once: its end saturates at
 * the end of time instead of wrapping around to a time already past. sim_now inside run()
 * says the end of time, the worker stays held (the next job waits), the joiner waits, and a
 * time limit stops the run with the job still running, named in the report.
 * Method: 1 worker, latency 10 ms; job 0 charges 1 ms then UINT64_MAX, job 1 is queued behind
 * it; run until 1 h, then run a copy of the world with a 2 h time limit. */
Test(pool, job_charge_of_max_saturates_and_does_not_finish_at_once)
{
    for (int limited = 0; limited < 2; limited++) {
        sim_world_desc wd = {.seed = 11, .sched = {.kind = SIM_SCHED_FIFO},
                             .time_limit_ns = limited ? 2 * 3600 * SIM_S : 0};
        sim_world *w = test_world_desc(&wd);
        sim_node_id n = pool_node(w, "disk", 1, 10 * SIM_MS);
        pool_rec pr = {0};
        sim_join h[2];
        job_state js0 = {.idx = 0, .charge_ns = SIM_MS, .charge_more_ns = UINT64_MAX,
                         .rec = &pr};
        job_state js1 = {.idx = 1, .rec = &pr};
        job_state *jobs[2] = {&js0, &js1};
        for (uint32_t i = 0; i < 2; i++) {
            sim_job_desc d = job_desc(jobs[i]);
            d.node = n;
            cr_assert(eq(int, sim_spawn_blocking(w, &d, &h[i]), SIM_OK));
        }
        batch_rec br = {0};
        joiner_of jo = {.h = h[0], .rc = &br.join_rc[0], .at = &br.joined_at[0]};
        br.join_rc[0] = SIM_PENDING;
        test_spawn(w, "joiner", (sim_node_id){0}, joiner_of_poll, NULL, &jo, sizeof jo);
        if (!limited) {
            cr_assert(eq(int, sim_world_run_until(w, 3600 * SIM_S), SIM_OK));
            cr_assert(eq(u64, sim_now(w), 3600 * SIM_S));
        } else {
            cr_assert(eq(int, sim_world_run(w), SIM_ETIMELIMIT));
            cr_assert(eq(u64, sim_now(w), 2 * 3600 * SIM_S));
            const char *r = sim_world_report(w);
            cr_assert(ne(ptr, strstr(r, "blocking job, done at"), NULL), "%s", r);
            cr_assert(ne(ptr, strstr(r, "a worker of disk's blocking pool (1/1 busy, 1 queued)"),
                         NULL), "%s", r);
        }
        cr_assert(eq(int, pr.charge_rc[0], SIM_OK));
        cr_assert(eq(u64, pr.charged_at[0], UINT64_MAX));
        cr_assert(eq(u32, pr.runs[0], 1));
        cr_assert(eq(u32, pr.runs[1], 0), "job 1 started: job 0 let go of its worker");
        cr_assert(eq(int, br.join_rc[0], SIM_PENDING), "job 0 finished at %llu ns",
                  (unsigned long long)br.joined_at[0]);
        cr_assert(eq(u32, sim_world_violation_count(w), 0));
        sim_world_free(w);
        cr_assert(eq(u32, pr.drops[0], 1));
        cr_assert(eq(u32, pr.drops[1], 1));
    }
}

/* Goal: sim_job_charge outside a running job is misuse (SIM_EMISUSE, a misuse violation) and
 * moves no clock.
 * Method: call it from the test (outside the run) and from an ordinary task on a node. */
Test(pool, job_charge_outside_job_is_misuse)
{
    sim_world *w = test_world(3, SIM_SCHED_RANDOM);
    sim_node_id n = pool_node(w, "n", 1, 10 * SIM_MS);
    cr_assert(eq(int, sim_job_charge(w, SIM_MS), SIM_EMISUSE));
    cr_assert(eq(u64, sim_now(w), 0));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    int rc = SIM_PENDING;
    uint64_t now_after = NEVER;
    charger c = {.rc = &rc, .now_after = &now_after};
    sim_join j = test_spawn(w, "charger", n, charger_poll, NULL, &c, sizeof c);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, rc, SIM_EMISUSE));
    cr_assert(eq(u64, now_after, 0));
    cr_assert(eq(u64, sim_now(w), 0));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 2));
    sim_world_free(w);
}

/* ---- abort ----------------------------------------------------------------------------------- */

typedef struct abort_rec {
    uint32_t runs_at_abort[2];  /* run() calls of jobs 0 and 1 just before the aborts */
    int join_rc[3];
    int64_t join_out[3];
    uint64_t joined_at[3];
} abort_rec;

typedef struct abort_task {
    sim_co co;
    job_state jobs[3];
    sim_join h[3];
    uint32_t i;
    pool_rec *pr;
    abort_rec *rec;
} abort_task;

/* 1 worker: job 0 starts at once, job 1 queues; at 1 ms both are aborted, job 2 is spawned;
 * then all three are joined. */
static int abort_task_poll(void *state, sim_world *w)
{
    abort_task *a = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &a->co);
    for (a->i = 0; a->i < 2; a->i++) {
        sim_job_desc d = job_desc(&a->jobs[a->i]);
        rc = sim_spawn_blocking(w, &d, &a->h[a->i]);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    SIM_TRY(sim_sleep(w, SIM_MS));
    a->rec->runs_at_abort[0] = a->pr->runs[0];
    a->rec->runs_at_abort[1] = a->pr->runs[1];
    sim_join_abort(w, &a->h[0]);
    sim_join_abort(w, &a->h[1]);
    {
        sim_job_desc d = job_desc(&a->jobs[2]);
        rc = sim_spawn_blocking(w, &d, &a->h[2]);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    for (a->i = 0; a->i < 3; a->i++) {
        SIM_AWAIT(rc, sim_join_wait(&a->h[a->i]));
        a->rec->join_rc[a->i] = rc;
        a->rec->join_out[a->i] = a->h[a->i].output;
        a->rec->joined_at[a->i] = sim_now(w);
    }
    SIM_END(SIM_OK);
}

/* Goal: a started job cannot be aborted (its handle still yields run()'s result and output,
 * its drop runs once when it ends); a queued job can (SIM_ECANCELED, run() never executes,
 * its drop runs once), and its place in the queue does not hold up the next job.
 * Method: 1 worker, latency 10 ms; job 0 (returns SIM_EEMPTY with output 77) has started and
 * job 1 is queued when both are aborted at 1 ms; job 2 is spawned then and must start when
 * job 0 ends at 10 ms. */
Test(pool, abort_started_vs_queued)
{
    sim_world *w = test_world(4, SIM_SCHED_FIFO);
    sim_node_id n = pool_node(w, "disk", 1, 10 * SIM_MS);
    pool_rec pr = {0};
    abort_rec ar = {0};
    abort_task a = {.pr = &pr, .rec = &ar};
    a.jobs[0] = (job_state){.idx = 0, .result = SIM_EEMPTY, .output = 77, .rec = &pr};
    a.jobs[1] = (job_state){.idx = 1, .rec = &pr};
    a.jobs[2] = (job_state){.idx = 2, .result = SIM_OK, .output = 5, .rec = &pr};
    sim_join j = test_spawn(w, "aborter", n, abort_task_poll, NULL, &a, sizeof a);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(u32, ar.runs_at_abort[0], 1)); /* job 0 had started */
    cr_assert(eq(u32, ar.runs_at_abort[1], 0)); /* job 1 was queued */
    /* job 0: not stoppable */
    cr_assert(eq(int, ar.join_rc[0], SIM_EEMPTY));
    cr_assert(eq(i64, ar.join_out[0], 77));
    cr_assert(eq(u64, ar.joined_at[0], 10 * SIM_MS));
    cr_assert(eq(u32, pr.drops[0], 1));
    /* job 1: cancelled in the queue */
    cr_assert(eq(int, ar.join_rc[1], SIM_ECANCELED));
    cr_assert(eq(u32, pr.runs[1], 0));
    cr_assert(eq(u32, pr.drops[1], 1));
    /* job 2: takes the worker when job 0 releases it */
    cr_assert(eq(u32, pr.runs[2], 1));
    cr_assert(eq(u64, pr.started_at[2], 10 * SIM_MS));
    cr_assert(eq(int, ar.join_rc[2], SIM_OK));
    cr_assert(eq(i64, ar.join_out[2], 5));
    cr_assert(eq(u64, ar.joined_at[2], 20 * SIM_MS));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: run()'s return value and output arrive at a joiner outside the node, too.
 * Method: a job spawned from outside with an explicit node returns SIM_ETIMEDOUT with output
 * -12345; the test joins it with block_on. */
Test(pool, result_and_output_reach_joiner)
{
    sim_world *w = test_world(5, SIM_SCHED_RANDOM);
    sim_node_id n = pool_node(w, "disk", 3, 2 * SIM_MS);
    pool_rec pr = {0};
    job_state js = {.idx = 0, .result = SIM_ETIMEDOUT, .output = -12345, .rec = &pr};
    sim_job_desc d = job_desc(&js);
    d.node = n;
    sim_join h;
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &h), SIM_OK));
    cr_assert(ne(u32, h.task.v, 0));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h)), SIM_ETIMEDOUT));
    cr_assert(eq(i64, h.output, -12345));
    cr_assert(eq(u64, sim_now(w), 2 * SIM_MS));
    cr_assert(eq(u32, pr.node_in_run[0].v, n.v));
    /* A second job with state copied at spawn: later changes to the caller's struct do not
     * reach it. */
    job_state js2 = {.idx = 1, .result = SIM_OK, .output = 9, .rec = &pr};
    d = job_desc(&js2);
    d.node = n;
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &h), SIM_OK));
    js2.output = 1000;
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h)), SIM_OK));
    cr_assert(eq(i64, h.output, 9));
    sim_world_free(w);
}

/* ---- crash ----------------------------------------------------------------------------------- */

typedef struct crash_joiner {
    sim_co co;
    sim_join h[2];
    uint32_t i;
    sim_node_id node;
    int crash_rc;
    int *join_rc;
    uint64_t *joined_at;
} crash_joiner;

/* World level: waits 5 ms, crashes the node, joins both jobs. */
static int crash_joiner_poll(void *state, sim_world *w)
{
    crash_joiner *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_sleep(w, 5 * SIM_MS));
    rc = sim_node_crash(w, c->node);
    if (rc != SIM_OK) SIM_RETURN(rc);
    for (c->i = 0; c->i < 2; c->i++) {
        SIM_AWAIT(rc, sim_join_wait(&c->h[c->i]));
        c->join_rc[c->i] = rc;
        c->joined_at[c->i] = sim_now(w);
    }
    SIM_END(SIM_OK);
}

/* Goal: a crash abandons the node's running and queued jobs (each drop runs once, joiners get
 * SIM_ECRASHED, a queued job's run() never executes); after restart the pool works again with
 * all its workers.
 * Method: 1 worker, latency 10 ms; job 0 runs, job 1 queues; a world-level task crashes the
 * node at 5 ms and joins both. After restart, two jobs run back to back. */
Test(pool, crash_abandons_jobs_and_restart_restores_pool)
{
    sim_world *w = test_world(6, SIM_SCHED_FIFO);
    sim_node_id n = pool_node(w, "disk", 1, 10 * SIM_MS);
    pool_rec pr = {0};
    crash_joiner c = {.node = n};
    int join_rc[2] = {SIM_PENDING, SIM_PENDING};
    uint64_t joined_at[2] = {NEVER, NEVER};
    c.join_rc = join_rc;
    c.joined_at = joined_at;
    for (uint32_t i = 0; i < 2; i++) {
        job_state js = {.idx = i, .rec = &pr};
        sim_job_desc d = job_desc(&js);
        d.node = n;
        cr_assert(eq(int, sim_spawn_blocking(w, &d, &c.h[i]), SIM_OK));
    }
    sim_join cj = test_spawn(w, "crasher", (sim_node_id){0}, crash_joiner_poll, NULL, &c,
                             sizeof c);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&cj)), SIM_OK));
    cr_assert(eq(u32, pr.runs[0], 1));
    cr_assert(eq(u32, pr.runs[1], 0));
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert(eq(int, join_rc[i], SIM_ECRASHED), "job %u", i);
        cr_assert(eq(u64, joined_at[i], 5 * SIM_MS), "job %u", i);
        cr_assert(eq(u32, pr.drops[i], 1), "job %u", i);
    }
    cr_assert(eq(u32, sim_world_violation_count(w), 0));

    /* Down: no jobs. */
    job_state js = {.idx = 2, .rec = &pr};
    sim_job_desc d = job_desc(&js);
    d.node = n;
    sim_join h;
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &h), SIM_ENODE));
    cr_assert(eq(u32, h.task.v, 0));

    /* Restarted: the single worker is free again. */
    cr_assert(eq(int, sim_node_restart(w, n), SIM_OK));
    sim_join h2, h3;
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &h2), SIM_OK));
    js.idx = 3;
    d = job_desc(&js);
    d.node = n;
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &h3), SIM_OK));
    uint64_t t0 = sim_now(w);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h2)), SIM_OK));
    cr_assert(eq(u64, sim_now(w), t0 + 10 * SIM_MS));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h3)), SIM_OK));
    cr_assert(eq(u64, sim_now(w), t0 + 20 * SIM_MS));
    cr_assert(eq(u64, pr.started_at[3], t0 + 10 * SIM_MS));
    sim_world_free(w);
}

typedef struct pauser {
    sim_co co;
    sim_node_id node;
    int *rcs;
} pauser;

/* World level: pauses the node at 5 ms, resumes it at 50 ms. */
static int pauser_poll(void *state, sim_world *w)
{
    pauser *p = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &p->co);
    SIM_AWAIT(rc, sim_sleep_until(5 * SIM_MS));
    p->rcs[0] = sim_node_pause(w, p->node);
    SIM_AWAIT(rc, sim_sleep_until(50 * SIM_MS));
    p->rcs[1] = sim_node_resume(w, p->node);
    SIM_END(rc);
}

/* Goal: a paused node's pool is frozen with it: a running job completes only at resume, and
 * the next queued job starts then.
 * Method: 1 worker, latency 10 ms; jobs 0 and 1 spawned at 0 ms; a world-level task pauses the
 * node at 5 ms and resumes it at 50 ms. Job 0 completes at 50 ms, job 1 runs from 50 to 60 ms. */
Test(pool, pause_freezes_pool_until_resume, .timeout = 10)
{
    sim_world *w = test_world(10, SIM_SCHED_FIFO);
    sim_node_id n = pool_node(w, "disk", 1, 10 * SIM_MS);
    pool_rec pr = {0};
    sim_join h[2];
    for (uint32_t i = 0; i < 2; i++) {
        job_state js = {.idx = i, .rec = &pr};
        sim_job_desc d = job_desc(&js);
        d.node = n;
        cr_assert(eq(int, sim_spawn_blocking(w, &d, &h[i]), SIM_OK));
    }
    int rcs[2] = {SIM_PENDING, SIM_PENDING};
    pauser p = {.node = n, .rcs = rcs};
    test_spawn(w, "pauser", (sim_node_id){0}, pauser_poll, NULL, &p, sizeof p);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h[0])), SIM_OK));
    cr_assert(eq(u64, sim_now(w), 50 * SIM_MS));
    cr_assert(eq(int, rcs[0], SIM_OK));
    cr_assert(eq(int, rcs[1], SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h[1])), SIM_OK));
    cr_assert(eq(u64, pr.started_at[1], 50 * SIM_MS));
    cr_assert(eq(u64, sim_now(w), 60 * SIM_MS));
    sim_world_free(w);
}

/* ---- the synchronous disk calls, the jobs' reason to charge --------------------------------- */

typedef struct disk_job_rec {
    int rc[6];          /* open, append, sync, pread, size, and sim_file_open in a task */
    uint64_t at[4];     /* sim_now after open, append, sync, pread */
    char back[8];       /* what pread read */
    size_t got;
    uint64_t size;
} disk_job_rec;

typedef struct disk_job {
    disk_job_rec *rec;
} disk_job;

static int disk_job_run(void *state, sim_world *w)
{
    disk_job *j = state;
    disk_job_rec *r = j->rec;
    sim_file f;
    r->rc[0] = sim_file_open(w, "wal/000001.log", SIM_O_CREATE, &f);
    r->at[0] = sim_now(w);
    uint64_t where = 99;
    r->rc[1] = sim_file_append(w, &f, "abcd", 4, &where);
    r->at[1] = sim_now(w);
    r->rc[2] = sim_file_sync(w, &f);
    r->at[2] = sim_now(w);
    r->rc[3] = sim_file_pread(w, &f, r->back, sizeof r->back, 0, &r->got);
    r->at[3] = sim_now(w);
    r->rc[4] = sim_file_size(w, &f, &r->size);
    sim_file_close(w, &f);
    return where == 0 ? SIM_OK : SIM_EIO;
}

typedef struct disk_misuser {
    sim_co co;
    disk_job_rec *rec;
} disk_misuser;

static int disk_misuser_poll(void *state, sim_world *w)
{
    disk_misuser *m = state;
    sim_file f;
    m->rec->rc[5] = sim_file_open(w, "x", SIM_O_CREATE, &f);
    return SIM_OK;
}

/* Goal: the synchronous disk calls in a job take effect at once and charge their latency to
 * the job (the reason sim_job_charge exists): sim_now inside run() moves by each call's
 * latency, and the job holds its worker for the pool's latency plus all of them; outside a
 * job the same calls are misuse. Method: fixed disk latencies (meta 10 us, write 20 us, sync
 * 1 ms, read 30 us) and a fixed pool latency of 10 ms; a job opens, appends, syncs, reads
 * back; a task on the node tries sim_file_open. */
Test(pool, disk_calls_in_a_job_charge_their_latency)
{
    sim_world *w = test_world(12, SIM_SCHED_FIFO);
    sim_disk_desc dd = {.meta_latency = {10 * SIM_US, 10 * SIM_US},
                        .write_latency = {20 * SIM_US, 20 * SIM_US},
                        .sync_latency = {SIM_MS, SIM_MS},
                        .read_latency = {30 * SIM_US, 30 * SIM_US}};
    cr_assert(eq(int, sim_disk_configure(w, &dd), SIM_OK));
    sim_node_id n = pool_node(w, "db", 1, 10 * SIM_MS);
    disk_job_rec rec = {0};
    disk_job j = {.rec = &rec};
    sim_job_desc d = {.name = "wal", .node = n, .run = disk_job_run, .state = &j,
                      .state_size = sizeof j};
    sim_join h;
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &h), SIM_OK));
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&h)), SIM_OK));
    for (uint32_t i = 0; i < 5; i++) cr_assert(eq(int, rec.rc[i], SIM_OK), "call %u", i);
    cr_assert(eq(u64, rec.at[0], 10 * SIM_US));
    cr_assert(eq(u64, rec.at[1], 30 * SIM_US));
    cr_assert(eq(u64, rec.at[2], 1030 * SIM_US));
    cr_assert(eq(u64, rec.at[3], 1060 * SIM_US));
    cr_assert(eq(sz, rec.got, 4));
    cr_assert(eq(int, memcmp(rec.back, "abcd", 4), 0));
    cr_assert(eq(u64, rec.size, 4));
    cr_assert(eq(u64, sim_now(w), 11060 * SIM_US));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));

    disk_misuser m = {.rec = &rec};
    sim_join mj = test_spawn(w, "misuser", n, disk_misuser_poll, NULL, &m, sizeof m);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&mj)), SIM_OK));
    cr_assert(eq(int, rec.rc[5], SIM_EMISUSE));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 1));
    sim_world_free(w);
}

/* ---- errors ---------------------------------------------------------------------------------- */

typedef struct spawner_rec {
    int rc_world;       /* from a world-level task, node 0 */
    int rc_down;        /* explicit node that is down */
    int rc_unknown;     /* explicit unknown node */
    uint32_t handle_task;
} spawner_rec;

typedef struct spawner {
    sim_co co;
    sim_node_id down;
    spawner_rec *rec;
    pool_rec *pr;
} spawner;

static int spawner_poll(void *state, sim_world *w)
{
    spawner *s = state;
    job_state js = {.idx = 0, .rec = s->pr};
    sim_job_desc d = job_desc(&js);
    sim_join h = {.task = {123}};
    s->rec->rc_world = sim_spawn_blocking(w, &d, &h);
    s->rec->handle_task = h.task.v;
    d.node = s->down;
    s->rec->rc_down = sim_spawn_blocking(w, &d, &h);
    d.node = (sim_node_id){99};
    s->rec->rc_unknown = sim_spawn_blocking(w, &d, &h);
    return SIM_OK;
}

/* Goal: spawn_blocking needs a node: from a world-level task with node 0 it is SIM_EINVAL
 * (handle zeroed); on a down node SIM_ENODE; on an unknown node SIM_ENODE; run() never runs.
 * Method: a world-level task tries all three; the test also tries node 0 from outside. */
Test(pool, spawn_blocking_errors)
{
    sim_world *w = test_world(7, SIM_SCHED_RANDOM);
    sim_node_id n = pool_node(w, "gone", 1, SIM_MS);
    cr_assert(eq(int, sim_node_crash(w, n), SIM_OK));
    pool_rec pr = {0};
    spawner_rec sr = {0};
    spawner s = {.down = n, .rec = &sr, .pr = &pr};
    sim_join j = test_spawn(w, "spawner", (sim_node_id){0}, spawner_poll, NULL, &s, sizeof s);
    cr_assert(eq(int, sim_block_on(w, sim_join_wait(&j)), SIM_OK));
    cr_assert(eq(int, sr.rc_world, SIM_EINVAL));
    cr_assert(eq(u32, sr.handle_task, 0));
    cr_assert(eq(int, sr.rc_down, SIM_ENODE));
    cr_assert(eq(int, sr.rc_unknown, SIM_ENODE));
    job_state js = {.idx = 1, .rec = &pr};
    sim_job_desc d = job_desc(&js);
    sim_join h;
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &h), SIM_EINVAL));
    d.run = NULL;
    d.node = n;
    cr_assert(eq(int, sim_spawn_blocking(w, &d, &h), SIM_EINVAL));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    cr_assert(eq(u32, pr.nrun, 0));
    sim_world_free(w);
}
