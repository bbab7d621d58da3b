/*
 * test_host_crash.c: crash and restart of the process's own node on a host world (sim.h,
 * "Host worlds"): what a simulated crash does, done to real threads, sockets and files, and
 * the refusal for a node the process does not run. The kv engine's data surviving a crash
 * and restart on the host is tests/unit/test_kv_engine.c (kv_engine_host).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../helpers.h"

static atomic_int job_started;
static atomic_int job_finished;
static int job_delivered;
static uint16_t listen_port;
static uint32_t worker_boots;
static sim_node_id crashed_node;

/* A job that takes 100 ms on its thread: a crash meanwhile must wait for it. */
static int slow_run(void *state, sim_world *w)
{
    (void)state;
    atomic_store(&job_started, 1);
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 100 * 1000000};
    nanosleep(&ms, NULL);
    sim_trace_note(w, "slow-job-done", NULL, 0);
    atomic_store(&job_finished, 1);
    return SIM_OK;
}

typedef struct worker {
    sim_co co;
    sim_listener l;
    sim_file f;
} worker;

/* First boot: a listener, a file, then the slow job, awaited. Later boots: nothing. */
static int worker_poll(void *state, sim_world *w)
{
    worker *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    if (worker_boots > 1) SIM_RETURN(SIM_OK);
    rc = sim_listen(w, 0, 8, &t->l);
    if (rc != SIM_OK) SIM_RETURN(rc);
    listen_port = sim_listener_addr(w, &t->l).port;
    SIM_AWAIT(rc, sim_disk_open_op("held", SIM_O_CREATE, &t->f));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_blocking(&(sim_job_desc){.name = "slow", .run = slow_run}));
    job_delivered = 1; /* never: the node crashes while the job runs */
    SIM_END(rc);
}

static int boot_worker(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)node;
    worker_boots++;
    worker t = {0};
    return sim_spawn(w, &(sim_task_desc){.name = "worker", .poll = worker_poll, .state = &t,
                                         .state_size = sizeof t},
                     NULL);
}

static bool port_refuses(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool refused = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0;
    if (fd >= 0) close(fd);
    return refused;
}

/* How many descriptors this process has open. */
static uint32_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert(not(eq(ptr, d, NULL)));
    uint32_t n = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

typedef struct controller {
    sim_co co;
    uint32_t i;
    int crash_rc, restart_rc;
    bool refused_before, refused_after;
} controller;

static controller ctl_out;

/* Waits (bounded) for the job to start, crashes the worker's node, restarts it. */
static int controller_poll(void *state, sim_world *w)
{
    controller *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    for (c->i = 0; c->i < 1000 && !atomic_load(&job_started); c->i++) {
        SIM_AWAIT(rc, sim_sleep(w, 5 * SIM_MS));
    }
    c->refused_before = port_refuses(listen_port);
    c->crash_rc = sim_node_crash(w, crashed_node);
    c->refused_after = port_refuses(listen_port);
    c->restart_rc = sim_node_restart(w, crashed_node);
    ctl_out = *c;
    SIM_END(SIM_OK);
}

static int boot_controller(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)node;
    controller c = {0};
    return sim_spawn(w, &(sim_task_desc){.name = "controller", .poll = controller_poll,
                                         .state = &c, .state_size = sizeof c},
                     NULL);
}

/* Goal: crashing the process's own node on a host world drops its tasks (the job's completion
 * is never delivered to the task that awaited it), waits for the job running on its thread
 * (which cannot be stopped) and still records the job's note, closes the node's listener and
 * file, and a restart boots the node again; a node without a boot function (another process's)
 * is refused with SIM_ESIMONLY. Method: a worker node listens, opens a file and awaits a
 * 100 ms job; a controller node's task crashes it once the job started, then restarts it;
 * the port is tried from outside, the process's descriptors counted. */
Test(host_crash, own_node_crash_and_restart)
{
    char dir[64];
    test_tmpdir(dir, sizeof dir, "/tmp", "sim-host-crash");
    atomic_store(&job_started, 0);
    atomic_store(&job_finished, 0);
    job_delivered = 0;
    worker_boots = 0;
    memset(&ctl_out, 0, sizeof ctl_out);
    uint32_t fds_before = open_fds();
    sim_world_desc d = {.seed = 1, .backend = SIM_BACKEND_HOST, .host_dir = dir,
                        .time_limit_ns = 20 * SIM_S};
    sim_world *w = test_world_desc(&d);
    uint32_t fds_world = open_fds(); /* the loop's epoll and eventfd */
    sim_node_id other = test_node(w, "other", NULL, NULL);
    cr_assert(eq(int, sim_node_crash(w, other), SIM_ESIMONLY));
    cr_assert(eq(int, sim_node_restart(w, other), SIM_ESIMONLY));
    crashed_node = test_node(w, "n1", boot_worker, NULL);
    test_node(w, "ctl", boot_controller, NULL);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(int, ctl_out.crash_rc, SIM_OK));
    cr_assert(eq(int, ctl_out.restart_rc, SIM_OK));
    cr_assert(not(ctl_out.refused_before)); /* it listened */
    cr_assert(ctl_out.refused_after);       /* the crash closed the listener */
    cr_assert(eq(int, atomic_load(&job_finished), 1)); /* the crash waited for the job */
    cr_assert(eq(int, job_delivered, 0));
    cr_assert(eq(u32, worker_boots, 2));
    cr_assert(eq(u32, sim_node_boots(w, crashed_node), 2));
    cr_assert(eq(u32, open_fds(), fds_world)); /* the file and the socket closed */
    uint32_t misuse = test_violations(w, SIM_VIOLATION_MISUSE);
    cr_assert(eq(u32, misuse, 2)); /* the two refusals, nothing else */
    sim_world_free(w);
    cr_assert(eq(u32, open_fds(), fds_before));
    test_tmpdir_remove(dir);
}
