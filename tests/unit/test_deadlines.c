/*
 * test_deadlines.c: deadlines made from the clock and a duration near 2^64 ns (issue #15).
 * Scenario files refuse durations beyond SIM_DURATION_MAX, but the API takes any uint64_t:
 * every deadline the executor, the network, the disk and the blocking pool make from one
 * saturates at UINT64_MAX ("never"), instead of wrapping to a time already past (which
 * aborted in timer.c, or finished a job at once).
 *
 * Method: each test advances the clock first (a task sleeps 1 ms), so that now + duration
 * really overflows, then starts the operation with the huge duration; the world has a time
 * limit of 10 s. The operation must still be pending when the limit stops the run, and the
 * run must end with SIM_ETIMELIMIT, not an assertion.
 */
#include "../helpers.h"

#define HUGE_NS UINT64_MAX
#define LIMIT_NS (10 * SIM_S)

static sim_world *limited_world(uint64_t seed)
{
    sim_world_desc d = {.seed = seed, .time_limit_ns = LIMIT_NS};
    return test_world_desc(&d);
}

/* ---- a connect that times out "never" ------------------------------------------------------ */

typedef struct late_connect {
    sim_co co;
    sim_sleep nap;
    sim_connect cn;
    int *rc_out;
} late_connect;

static int late_connect_poll(void *state, sim_world *w)
{
    late_connect *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(&c->co);
    sim_sleep_init(w, &c->nap, SIM_MS);
    SIM_AWAIT(&c->co, rc, sim_sleep_poll(w, &c->nap));
    SIM_AWAIT(&c->co, rc, sim_connect_poll(w, &c->cn));
    *c->rc_out = rc;
    sim_conn_close(w, &c->cn.conn);
    SIM_END(&c->co, SIM_OK);
}

static void late_connect_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    late_connect *c = state;
    (void)mode;
    sim_sleep_drop(w, &c->nap);
    sim_connect_drop(w, &c->cn);
    sim_conn_close(w, &c->cn.conn);
}

/* Goal: connect_timeout_ns = UINT64_MAX never times out (it aborted: deadline < now). Method:
 * n1 -> n2 is blocked, so the SYN never arrives; the connect starts at 1 ms. */
Test(deadlines, connect_timeout_saturates)
{
    sim_world *w = limited_world(1);
    cr_assert(eq(int, sim_net_configure(w, &(sim_net_desc){.connect_timeout_ns = HUGE_NS}),
                 SIM_OK));
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    sim_node_id n2 = test_node(w, "n2", NULL, NULL);
    cr_assert(eq(int, sim_net_block(w, n1, n2), SIM_OK));
    int rc = SIM_PENDING;
    late_connect c = {.cn = {.to = {.node = n2, .port = 8000}}, .rc_out = &rc};
    test_spawn(w, "connect", n1, late_connect_poll, late_connect_drop, &c, sizeof c);
    int run = sim_world_run(w);
    uint64_t now = sim_now(w);
    sim_world_free(w);
    cr_assert(eq(str, (char *)sim_result_name(run), "SIM_ETIMELIMIT"));
    cr_assert(eq(u64, now, LIMIT_NS));
    cr_assert(eq(int, rc, SIM_PENDING), "the connect ended: %s", sim_result_name(rc));
}

/* ---- a datagram that arrives "never" -------------------------------------------------------- */

typedef struct dgram_pair {
    sim_co co;
    sim_sleep nap;
    sim_udp sock;
    sim_udp_recv recv;
    uint8_t buf[8];
    bool sender;
    sim_node_id to;
    int *rc_out;
} dgram_pair;

static int dgram_poll(void *state, sim_world *w)
{
    dgram_pair *d = state;
    int rc = SIM_OK;
    SIM_BEGIN(&d->co);
    rc = sim_udp_bind(w, d->sender ? 0 : 9000, &d->sock);
    if (rc != SIM_OK) SIM_RETURN(&d->co, rc);
    if (d->sender) {
        sim_sleep_init(w, &d->nap, SIM_MS);
        SIM_AWAIT(&d->co, rc, sim_sleep_poll(w, &d->nap));
        rc = sim_udp_send_to(w, &d->sock, (sim_addr){.node = d->to, .port = 9000}, "hi", 2);
        *d->rc_out = rc;
    } else {
        d->recv = (sim_udp_recv){.sock = &d->sock, .buf = d->buf, .cap = sizeof d->buf};
        SIM_AWAIT(&d->co, rc, sim_udp_recv_poll(w, &d->recv));
        *d->rc_out = rc;
    }
    sim_udp_close(w, &d->sock);
    SIM_END(&d->co, SIM_OK);
}

static void dgram_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    dgram_pair *d = state;
    (void)mode;
    sim_sleep_drop(w, &d->nap);
    if (!d->sender) sim_udp_recv_drop(w, &d->recv);
    sim_udp_close(w, &d->sock);
}

/* Goal: a link latency of UINT64_MAX, and a tail whose mean is UINT64_MAX, deliver "never"
 * (now + latency wrapped to a time already past). Method: one link each way of n1 -> n2;
 * the datagram is sent at 1 ms and the receiver on n2 is still waiting at the time limit. */
Test(deadlines, link_latency_saturates)
{
    const sim_link links[] = {
        {.latency = {HUGE_NS - 1, HUGE_NS}},
        {.latency = {SIM_MS, SIM_MS}, .tail_ns = HUGE_NS},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        sim_world *w = limited_world(2 + i);
        sim_node_id n1 = test_node(w, "n1", NULL, NULL);
        sim_node_id n2 = test_node(w, "n2", NULL, NULL);
        cr_assert(eq(int, sim_net_link(w, n1, n2, &links[i]), SIM_OK));
        int sent = SIM_PENDING, got = SIM_PENDING;
        dgram_pair rx = {.rc_out = &got}, tx = {.sender = true, .to = n2, .rc_out = &sent};
        test_spawn(w, "rx", n2, dgram_poll, dgram_drop, &rx, sizeof rx);
        test_spawn(w, "tx", n1, dgram_poll, dgram_drop, &tx, sizeof tx);
        int run = sim_world_run(w);
        sim_world_free(w);
        cr_assert(eq(str, (char *)sim_result_name(run), "SIM_ETIMELIMIT"), "link %zu", i);
        cr_assert(eq(int, sent, SIM_OK), "link %zu", i);
        cr_assert(eq(int, got, SIM_PENDING), "link %zu: received: %s", i, sim_result_name(got));
    }
}

/* ---- a disk write that completes "never" ---------------------------------------------------- */

typedef struct late_write {
    sim_co co;
    sim_sleep nap;
    sim_file f;
    sim_disk_op op;
    int *rc_out;
} late_write;

static int late_write_poll(void *state, sim_world *w)
{
    late_write *lw = state;
    int rc = SIM_OK;
    SIM_BEGIN(&lw->co);
    lw->op = sim_disk_open_op("f", SIM_O_CREATE, &lw->f);
    SIM_AWAIT(&lw->co, rc, sim_disk_poll(w, &lw->op));
    if (rc != SIM_OK) SIM_RETURN(&lw->co, rc);
    sim_sleep_init(w, &lw->nap, SIM_MS);
    SIM_AWAIT(&lw->co, rc, sim_sleep_poll(w, &lw->nap));
    lw->op = sim_disk_write_op(&lw->f, "data", 4, 0);
    SIM_AWAIT(&lw->co, rc, sim_disk_poll(w, &lw->op));
    *lw->rc_out = rc;
    sim_file_close(w, &lw->f);
    SIM_END(&lw->co, SIM_OK);
}

static void late_write_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    late_write *lw = state;
    (void)mode;
    sim_sleep_drop(w, &lw->nap);
    sim_disk_drop(w, &lw->op);
    sim_file_close(w, &lw->f);
}

/* Goal: a write latency of UINT64_MAX completes "never" (now + latency wrapped). Method: the
 * file is opened at once (meta latency is the default), the write starts at 1 ms. */
Test(deadlines, disk_latency_saturates)
{
    sim_world *w = limited_world(4);
    sim_disk_desc dd = {.write_latency = {HUGE_NS, HUGE_NS}};
    cr_assert(eq(int, sim_disk_configure(w, &dd), SIM_OK));
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    int rc = SIM_PENDING;
    late_write lw = {.rc_out = &rc};
    test_spawn(w, "writer", n1, late_write_poll, late_write_drop, &lw, sizeof lw);
    int run = sim_world_run(w);
    sim_world_free(w);
    cr_assert(eq(str, (char *)sim_result_name(run), "SIM_ETIMELIMIT"));
    cr_assert(eq(int, rc, SIM_PENDING), "the write ended: %s", sim_result_name(rc));
}

/* ---- a blocking job that charges "forever" -------------------------------------------------- */

static int charge_forever(void *state, sim_world *w)
{
    (void)state;
    return sim_job_charge(w, HUGE_NS);
}

typedef struct job_waiter {
    sim_co co;
    sim_sleep nap;
    sim_join job;
    int *rc_out;
} job_waiter;

static int job_waiter_poll(void *state, sim_world *w)
{
    job_waiter *j = state;
    int rc = SIM_OK;
    SIM_BEGIN(&j->co);
    sim_sleep_init(w, &j->nap, SIM_MS);
    SIM_AWAIT(&j->co, rc, sim_sleep_poll(w, &j->nap));
    {
        sim_job_desc d = {.name = "forever", .run = charge_forever};
        rc = sim_spawn_blocking(w, &d, &j->job);
        if (rc != SIM_OK) SIM_RETURN(&j->co, rc);
    }
    SIM_AWAIT(&j->co, rc, sim_join_poll(w, &j->job));
    *j->rc_out = rc;
    SIM_END(&j->co, SIM_OK);
}

static void job_waiter_drop(void *state, sim_world *w, sim_drop_mode mode)
{
    job_waiter *j = state;
    (void)mode;
    sim_sleep_drop(w, &j->nap);
    sim_join_detach(w, &j->job);
}

/* Goal: a job that charges UINT64_MAX ns holds its worker "forever" (its end, now + base +
 * charged, wrapped to a time already past, so the job finished at once). Method: the job
 * starts at 1 ms and charges UINT64_MAX; its waiter is still waiting at the time limit. */
Test(deadlines, job_charge_saturates)
{
    sim_world *w = limited_world(5);
    sim_node_id n1 = test_node(w, "n1", NULL, NULL);
    int rc = SIM_PENDING;
    job_waiter j = {.rc_out = &rc};
    test_spawn(w, "waiter", n1, job_waiter_poll, job_waiter_drop, &j, sizeof j);
    int run = sim_world_run(w);
    sim_world_free(w);
    cr_assert(eq(str, (char *)sim_result_name(run), "SIM_ETIMELIMIT"));
    cr_assert(eq(int, rc, SIM_PENDING), "the job ended: %s", sim_result_name(rc));
}
