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
 * run must end with SIM_ETIMELIMIT, not an assertion. The world is then freed with the
 * operations pending: what each armed (a connection being made, a socket, a file, a join
 * handle) goes with its task, which needs no drop function.
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

/* Sleeps 1 ms, then connects to `to`; what the connect armed goes with the task. */
typedef struct late_connect {
    sim_co co;
    sim_addr to;
    sim_conn conn;
    int *rc_out;
} late_connect;

static int late_connect_poll(void *state, sim_world *w)
{
    late_connect *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_sleep(w, SIM_MS));
    SIM_AWAIT(rc, sim_connect(c->to, &c->conn));
    *c->rc_out = rc;
    SIM_END(SIM_OK);
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
    late_connect c = {.to = {.node = n2, .port = 8000}, .rc_out = &rc};
    test_spawn(w, "connect", n1, late_connect_poll, NULL, &c, sizeof c);
    int run = sim_world_run(w);
    uint64_t now = sim_now(w);
    sim_world_free(w);
    cr_assert(eq(str, (char *)sim_result_name(run), "SIM_ETIMELIMIT"));
    cr_assert(eq(u64, now, LIMIT_NS));
    cr_assert(eq(int, rc, SIM_PENDING), "the connect ended: %s", sim_result_name(rc));
}

/* ---- a datagram that arrives "never" -------------------------------------------------------- */

/* The sender binds an ephemeral port and sends "hi" to `to`:9000 at 1 ms; the receiver binds
 * 9000 and waits for a datagram. */
typedef struct dgram_pair {
    sim_co co;
    sim_udp sock;
    uint8_t buf[8];
    bool sender;
    sim_node_id to;
    int *rc_out;
} dgram_pair;

static int dgram_poll(void *state, sim_world *w)
{
    dgram_pair *d = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &d->co);
    rc = sim_udp_bind(w, d->sender ? 0 : 9000, &d->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    if (d->sender) {
        SIM_TRY(sim_sleep(w, SIM_MS));
        *d->rc_out = sim_udp_send_to(w, &d->sock, (sim_addr){.node = d->to, .port = 9000}, "hi",
                                     2);
    } else {
        SIM_AWAIT(rc, sim_udp_recv(&d->sock, d->buf, sizeof d->buf, NULL));
        *d->rc_out = rc;
    }
    SIM_END(SIM_OK);
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
        test_spawn(w, "rx", n2, dgram_poll, NULL, &rx, sizeof rx);
        test_spawn(w, "tx", n1, dgram_poll, NULL, &tx, sizeof tx);
        int run = sim_world_run(w);
        sim_world_free(w);
        cr_assert(eq(str, (char *)sim_result_name(run), "SIM_ETIMELIMIT"), "link %zu", i);
        cr_assert(eq(int, sent, SIM_OK), "link %zu", i);
        cr_assert(eq(int, got, SIM_PENDING), "link %zu: received: %s", i, sim_result_name(got));
    }
}

/* ---- a disk write that completes "never" ---------------------------------------------------- */

/* Opens f, sleeps 1 ms, writes 4 bytes; the file goes with the task. */
typedef struct late_write {
    sim_co co;
    sim_file f;
    int *rc_out;
} late_write;

static int late_write_poll(void *state, sim_world *w)
{
    late_write *lw = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &lw->co);
    SIM_TRY(sim_disk_open_op("f", SIM_O_CREATE, &lw->f));
    SIM_TRY(sim_sleep(w, SIM_MS));
    SIM_AWAIT(rc, sim_disk_write_op(&lw->f, "data", 4, 0));
    *lw->rc_out = rc;
    SIM_END(SIM_OK);
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
    test_spawn(w, "writer", n1, late_write_poll, NULL, &lw, sizeof lw);
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

/* Sleeps 1 ms, spawns the job and awaits it; the join handle goes with the task. */
typedef struct job_waiter {
    sim_co co;
    sim_join job;
    int *rc_out;
} job_waiter;

static int spawn_forever(sim_world *w, sim_join *out)
{
    sim_job_desc d = {.name = "forever", .run = charge_forever};
    return sim_spawn_blocking(w, &d, out);
}

static int job_waiter_poll(void *state, sim_world *w)
{
    job_waiter *j = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &j->co);
    SIM_TRY(sim_sleep(w, SIM_MS));
    rc = spawn_forever(w, &j->job);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_join_wait(&j->job));
    *j->rc_out = rc;
    SIM_END(SIM_OK);
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
    test_spawn(w, "waiter", n1, job_waiter_poll, NULL, &j, sizeof j);
    int run = sim_world_run(w);
    sim_world_free(w);
    cr_assert(eq(str, (char *)sim_result_name(run), "SIM_ETIMELIMIT"));
    cr_assert(eq(int, rc, SIM_PENDING), "the job ended: %s", sim_result_name(rc));
}
