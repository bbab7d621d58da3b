/*
 * test_host.c: host worlds (sim.h, "Host worlds"): the same API on the host's clock, sockets,
 * files and threads. Each test makes a world with backend = SIM_BACKEND_HOST, bounded by a
 * time limit, on 127.0.0.1 with ephemeral ports, and files in a fresh temporary directory that
 * it removes. Timing is checked only as a lower bound (a sleep of 20 ms takes at least 20 ms).
 */
#include <stdlib.h>
#include <unistd.h>

#include "../helpers.h"

static sim_world *host_world(const char *dir)
{
    sim_world_desc d = {.seed = 1, .backend = SIM_BACKEND_HOST, .host_dir = dir,
                        .time_limit_ns = 10 * SIM_S};
    return test_world_desc(&d);
}

/* ---- the loop and timers ---- */

typedef struct sleeper {
    sim_co co;
    uint64_t start;
    uint64_t end;
} sleeper;

static int sleeper_poll(void *state, sim_world *w)
{
    sleeper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    s->start = sim_now(w);
    SIM_AWAIT(rc, sim_sleep(w, 20 * SIM_MS));
    s->end = sim_now(w);
    SIM_END(rc);
}

static sleeper *sleep_out;

static int sleeper_done(void *state, sim_world *w)
{
    (void)w;
    *sleep_out = *(sleeper *)state;
    return SIM_OK;
}

static int sleeper_poll_store(void *state, sim_world *w)
{
    int rc = sleeper_poll(state, w);
    if (rc != SIM_PENDING) sleeper_done(state, w);
    return rc;
}

/* Goal: a host world's sleep takes real time. Method: a task sleeps 20 ms; sim_now before and
 * after (the host clock since the world was made) differ by at least 20 ms, and so does the
 * host's monotonic clock around the run. */
Test(host, sleep_takes_real_time)
{
    sim_world *w = host_world(".");
    cr_assert(sim_world_is_host(w));
    sleeper got = {0};
    sleep_out = &got;
    sleeper s = {0};
    test_spawn(w, "sleeper", (sim_node_id){0}, sleeper_poll_store, NULL, &s, sizeof s);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(le(u64, got.start + 20 * SIM_MS, got.end), "slept %lu ns",
              (unsigned long)(got.end - got.start));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* Goal: a run with a task that waits on nothing that can come is a deadlock on the host too,
 * and a stop requested from outside ends a run that waits on a timer. Method: (1) a task
 * awaits a channel whose sender is kept by the world: SIM_EDEADLOCK; (2) sim_world_stop
 * before the run: SIM_ESTOPPED at once, though the task would sleep an hour. */
typedef struct waiter {
    sim_co co;
    sim_rx rx;
    int msg;
} waiter;

static int waiter_poll(void *state, sim_world *w)
{
    waiter *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_recv(&s->rx, &s->msg));
    SIM_END(rc);
}

static int hour_poll(void *state, sim_world *w)
{
    sleeper *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_sleep(w, 3600 * SIM_S));
    SIM_END(rc);
}

Test(host, deadlock_and_stop)
{
    sim_world *w = host_world(".");
    sim_tx tx;
    waiter s = {0};
    cr_assert(eq(int, sim_chan_new(w, &(sim_chan_desc){.msg_size = sizeof(int)}, &tx, &s.rx),
                 SIM_OK));
    test_spawn_moves(w, "waiter", (sim_node_id){0}, waiter_poll, &s, sizeof s,
                     SIM_MOVES(&s.rx));
    cr_assert(eq(int, sim_world_run(w), SIM_EDEADLOCK));
    sim_world_free(w);

    w = host_world(".");
    sleeper h = {0};
    test_spawn(w, "hour", (sim_node_id){0}, hour_poll, NULL, &h, sizeof h);
    sim_world_stop(w);
    cr_assert(eq(int, sim_world_run(w), SIM_ESTOPPED));
    sim_world_free(w);
}

/* ---- refusals ---- */

/* Goal: what only a simulation can do is refused on a host world, with a violation naming the
 * call, never ignored. Method: each call on a host world returns SIM_ESIMONLY (sim_net_heal,
 * which returns nothing, records its violation); a fault point never fires; a desc asking
 * for spurious wake-ups or cancel_at is refused by sim_world_new. */
Test(host, refuses_sim_only_features)
{
    char dir[64];
    test_tmpdir(dir, sizeof dir, "/tmp", "sim-host-test");
    sim_world *w = host_world(dir);
    sim_node_id n = test_node(w, "n1", NULL, NULL);
    cr_assert(eq(int, sim_node_crash(w, n), SIM_ESIMONLY));
    cr_assert(eq(int, sim_node_pause(w, n), SIM_ESIMONLY));
    cr_assert(eq(int, sim_node_set_clock(w, n, 5, 0), SIM_ESIMONLY));
    cr_assert(eq(int, sim_net_block(w, n, n), SIM_ESIMONLY));
    cr_assert(eq(int, sim_net_link(w, n, n, &(sim_link){0}), SIM_ESIMONLY));
    cr_assert(eq(int, sim_net_configure(w, &(sim_net_desc){0}), SIM_ESIMONLY));
    cr_assert(eq(int, sim_disk_configure(w, &(sim_disk_desc){0}), SIM_ESIMONLY));
    cr_assert(eq(int, sim_fault_fail_at(w, "disk/fsync/eio", 1), SIM_ESIMONLY));
    cr_assert(eq(int, sim_fault_set(w, "net/send/drop", (sim_ratio){1, 2}), SIM_ESIMONLY));
    cr_assert(eq(int, sim_node_restart(w, n), SIM_ESIMONLY));
    cr_assert(eq(int, sim_node_resume(w, n), SIM_ESIMONLY));
    cr_assert(eq(int, sim_net_clog(w, n, true), SIM_ESIMONLY));
    uint32_t before = sim_world_violation_count(w);
    sim_net_heal(w);
    cr_assert(eq(u32, sim_world_violation_count(w), before + 1));
    cr_assert(eq(int, sim_fault(w, "disk/fsync/eio"), 0)); /* never fires on the host */
    cr_assert(le(u32, 13, sim_world_violation_count(w)));
    const sim_violation *v = test_violation_find(w, SIM_VIOLATION_MISUSE, "sim_node_crash");
    cr_assert(not(eq(ptr, (void *)v, NULL)));
    sim_world_free(w);
    test_tmpdir_remove(dir);

    sim_world_desc d = {.backend = SIM_BACKEND_HOST, .spurious_wakeups = {1, 2}};
    sim_world *x = NULL;
    cr_assert(eq(int, sim_world_new(&d, &x), SIM_ESIMONLY));
    d = (sim_world_desc){.backend = SIM_BACKEND_HOST, .cancel_at = 3};
    cr_assert(eq(int, sim_world_new(&d, &x), SIM_ESIMONLY));
    cr_assert(eq(ptr, x, NULL));
}

/* Goal: addresses as text. Method: sim_addr_split on IPv4, [IPv6] and bad forms;
 * sim_addr_parse on a host world declares a node for an IP once and finds it again. */
Test(host, addresses_as_text)
{
    char host[64];
    uint16_t port;
    cr_assert(eq(int, sim_addr_split("127.0.0.1:4000", host, sizeof host, &port), SIM_OK));
    cr_assert(eq(str, host, "127.0.0.1"));
    cr_assert(eq(u16, port, 4000));
    cr_assert(eq(int, sim_addr_split("[::1]:80", host, sizeof host, &port), SIM_OK));
    cr_assert(eq(str, host, "::1"));
    cr_assert(eq(int, sim_addr_split("::1:80", host, sizeof host, &port), SIM_EINVAL));
    cr_assert(eq(int, sim_addr_split("h:0", host, sizeof host, &port), SIM_EINVAL));
    cr_assert(eq(int, sim_addr_split("h:70000", host, sizeof host, &port), SIM_EINVAL));
    cr_assert(eq(int, sim_addr_split("noport", host, sizeof host, &port), SIM_EINVAL));
    sim_world *w = host_world(".");
    sim_addr a, b;
    cr_assert(eq(int, sim_addr_parse(w, "127.0.0.2:4000", &a), SIM_OK));
    cr_assert(eq(int, sim_addr_parse(w, "127.0.0.2:4001", &b), SIM_OK));
    cr_assert(eq(u32, a.node.v, b.node.v));
    cr_assert(eq(u16, b.port, 4001));
    cr_assert(eq(int, sim_addr_parse(w, "nosuch:1", &a), SIM_EINVAL));
    sim_world_free(w);
}

/* ---- TCP streams ---- */

typedef struct echo_srv {
    sim_co co;
    sim_listener l;
    sim_conn c;
    char buf[64];
    uint32_t len;
} echo_srv;

typedef struct echo_cli {
    sim_co co;
    sim_addr to;
    sim_conn c;
    char buf[64];
    uint32_t len;
    size_t n;
} echo_cli;

static sim_listener echo_listener;
static int refused_rc;
static int cli_rc;
static char echo_got[64];

static int echo_srv_poll(void *state, sim_world *w)
{
    echo_srv *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_accept(&s->l, &s->c, NULL));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_frame_read(&s->c, s->buf, sizeof s->buf, &s->len));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_frame_write(&s->c, s->buf, s->len, sizeof s->buf));
    sim_conn_close(w, &s->c);
    sim_listener_close(w, &s->l);
    SIM_END(rc);
}

static int echo_srv_boot(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)node;
    int rc = sim_listen(w, 0, 0, &echo_listener);
    if (rc != SIM_OK) return rc;
    echo_srv s = {.l = echo_listener};
    sim_task_desc d = {.name = "echo-srv", .poll = echo_srv_poll, .state = &s,
                       .state_size = sizeof s};
    return sim_spawn(w, &d, NULL);
}

static int echo_cli_poll(void *state, sim_world *w)
{
    echo_cli *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_connect(s->to, &s->c));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_frame_write(&s->c, "hello host", 10, sizeof s->buf));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_frame_read(&s->c, s->buf, sizeof s->buf, &s->len));
    if (rc != SIM_OK) SIM_RETURN(rc);
    snprintf(echo_got, sizeof echo_got, "%.*s", (int)s->len, s->buf);
    /* The server closed: the next read is the end of the stream. */
    SIM_AWAIT(rc, sim_read(&s->c, s->buf, sizeof s->buf, &s->n));
    if (rc == SIM_OK && s->n != 0) rc = SIM_EINVAL;
    cli_rc = rc;
    SIM_END(rc);
}

static int refused_poll(void *state, sim_world *w)
{
    echo_cli *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_connect(s->to, &s->c));
    refused_rc = rc;
    SIM_END(SIM_OK);
}

/* Goal: streams are TCP on the host. Method: a server node on 127.0.0.1 listens on an
 * ephemeral port (sim_listener_addr), a client node connects, sends a frame, reads the echo
 * and then the end of the stream; after the listener is closed, a connect is refused. */
Test(host, tcp_echo_on_loopback)
{
    sim_world *w = host_world(".");
    memset(echo_got, 0, sizeof echo_got);
    cli_rc = refused_rc = 1;
    sim_node_id srv;
    cr_assert(eq(int, sim_node_add(w, &(sim_node_desc){.name = "srv", .boot = echo_srv_boot,
                                                        .host_addr = "127.0.0.1"}, &srv),
                 SIM_OK));
    sim_addr at = sim_listener_addr(w, &echo_listener);
    cr_assert(eq(u32, at.node.v, srv.v));
    cr_assert(not(eq(u16, at.port, 0)));
    sim_node_id cli = test_node(w, "cli", NULL, NULL);
    echo_cli c = {.to = at};
    sim_join j = test_spawn(w, "echo-cli", cli, echo_cli_poll, NULL, &c, sizeof c);
    (void)j;
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(str, echo_got, "hello host"));
    cr_assert(eq(int, cli_rc, SIM_OK));
    echo_cli r = {.to = at};
    test_spawn(w, "refused", cli, refused_poll, NULL, &r, sizeof r);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(int, refused_rc, SIM_ECONNREFUSED));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- reads through the connection's buffer ---- */

#define BURST_BIG 40000u /* more than the read buffer: read partly from it, partly directly */

typedef struct burst_srv {
    sim_co co;
    sim_listener l;
    sim_conn c;
    uint32_t len;
    size_t n;
    char small[64];
} burst_srv;

typedef struct burst_cli {
    sim_co co;
    sim_addr to;
    sim_conn c;
} burst_cli;

static sim_listener burst_listener;
static uint8_t burst_out[17 + BURST_BIG];  /* what the client sends, in one write */
static uint8_t burst_in[BURST_BIG];
static char burst_frames[3][8];
static size_t burst_eof_n;
static int burst_rc;

static int burst_srv_poll(void *state, sim_world *w)
{
    burst_srv *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_accept(&s->l, &s->c, NULL));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_frame_read(&s->c, s->small, sizeof s->small, &s->len));
    if (rc != SIM_OK) SIM_RETURN(rc);
    snprintf(burst_frames[0], sizeof burst_frames[0], "%.*s", (int)s->len, s->small);
    SIM_AWAIT(rc, sim_frame_read(&s->c, s->small, sizeof s->small, &s->len));
    if (rc != SIM_OK) SIM_RETURN(rc);
    snprintf(burst_frames[1], sizeof burst_frames[1], "%.*s", (int)s->len, s->small);
    SIM_AWAIT(rc, sim_read_exact(&s->c, s->small, 3));
    if (rc != SIM_OK) SIM_RETURN(rc);
    snprintf(burst_frames[2], sizeof burst_frames[2], "%.3s", s->small);
    SIM_AWAIT(rc, sim_read_exact(&s->c, burst_in, BURST_BIG));
    if (rc != SIM_OK) SIM_RETURN(rc);
    /* The client closed after its one write: then the end of the stream. */
    SIM_AWAIT(rc, sim_read(&s->c, s->small, sizeof s->small, &s->n));
    burst_eof_n = s->n;
    burst_rc = rc;
    sim_conn_close(w, &s->c);
    sim_listener_close(w, &s->l);
    SIM_END(rc);
}

static int burst_srv_boot(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)node;
    int rc = sim_listen(w, 0, 0, &burst_listener);
    if (rc != SIM_OK) return rc;
    burst_srv s = {.l = burst_listener};
    sim_task_desc d = {.name = "burst-srv", .poll = burst_srv_poll, .state = &s,
                       .state_size = sizeof s};
    return sim_spawn(w, &d, NULL);
}

static int burst_cli_poll(void *state, sim_world *w)
{
    burst_cli *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_connect(s->to, &s->c));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_write(&s->c, burst_out, sizeof burst_out));
    sim_conn_close(w, &s->c);
    SIM_END(rc);
}

/* Goal: a connection reads through its buffer without changing what reads return. Method: the
 * client sends, in one write, two frames, three loose bytes and 40,000 more (more than the
 * buffer), then closes; the server reads them as two frame reads, a read_exact of 3 (from the
 * buffer) and one of 40,000 (the buffer's rest, then straight from the socket), then the end
 * of the stream. */
Test(host, reads_through_the_buffer)
{
    static const uint8_t head[17] = {0, 0, 0, 3, 'o', 'n', 'e', 0, 0, 0, 3, 't', 'w', 'o',
                                     'x', 'y', 'z'};
    memcpy(burst_out, head, sizeof head);
    for (uint32_t i = 0; i < BURST_BIG; i++) burst_out[17 + i] = (uint8_t)(i * 7 + i / 251);
    memset(burst_in, 0, sizeof burst_in);
    memset(burst_frames, 0, sizeof burst_frames);
    burst_eof_n = 99;
    burst_rc = 1;
    sim_world *w = host_world(".");
    sim_node_id srv;
    cr_assert(eq(int, sim_node_add(w, &(sim_node_desc){.name = "srv", .boot = burst_srv_boot,
                                                        .host_addr = "127.0.0.1"}, &srv),
                 SIM_OK));
    sim_node_id cli = test_node(w, "cli", NULL, NULL);
    burst_cli c = {.to = sim_listener_addr(w, &burst_listener)};
    test_spawn(w, "burst-cli", cli, burst_cli_poll, NULL, &c, sizeof c);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(str, burst_frames[0], "one"));
    cr_assert(eq(str, burst_frames[1], "two"));
    cr_assert(eq(str, burst_frames[2], "xyz"));
    cr_assert(eq(int, memcmp(burst_in, burst_out + 17, BURST_BIG), 0));
    cr_assert(eq(int, burst_rc, SIM_OK));
    cr_assert(eq(sz, burst_eof_n, 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* A server that reads a frame, looks away for 40 ms, reads the next, looks away, then reads
 * the end of the stream; a client that sends its two frames 10 ms apart and closes 10 ms
 * later: the data and the end arrive while nobody waits on the socket. */
typedef struct late_srv {
    sim_co co;
    sim_listener l;
    sim_conn c;
    uint32_t len;
    size_t n;
    char buf[16];
} late_srv;

static sim_listener late_listener;
static char late_frames[2][8];
static size_t late_eof_n;
static int late_rc;

static int late_srv_poll(void *state, sim_world *w)
{
    late_srv *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_accept(&s->l, &s->c, NULL));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_frame_read(&s->c, s->buf, sizeof s->buf, &s->len));
    if (rc != SIM_OK) SIM_RETURN(rc);
    snprintf(late_frames[0], sizeof late_frames[0], "%.*s", (int)s->len, s->buf);
    SIM_TRY(sim_sleep(w, 40 * SIM_MS));
    SIM_AWAIT(rc, sim_frame_read(&s->c, s->buf, sizeof s->buf, &s->len));
    if (rc != SIM_OK) SIM_RETURN(rc);
    snprintf(late_frames[1], sizeof late_frames[1], "%.*s", (int)s->len, s->buf);
    SIM_TRY(sim_sleep(w, 40 * SIM_MS));
    SIM_AWAIT(rc, sim_read(&s->c, s->buf, sizeof s->buf, &s->n));
    late_eof_n = s->n;
    late_rc = rc;
    sim_conn_close(w, &s->c);
    sim_listener_close(w, &s->l);
    SIM_END(rc);
}

static int late_srv_boot(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)node;
    int rc = sim_listen(w, 0, 0, &late_listener);
    if (rc != SIM_OK) return rc;
    late_srv s = {.l = late_listener};
    sim_task_desc d = {.name = "late-srv", .poll = late_srv_poll, .state = &s,
                       .state_size = sizeof s};
    return sim_spawn(w, &d, NULL);
}

static int late_cli_poll(void *state, sim_world *w)
{
    burst_cli *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_connect(s->to, &s->c));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_frame_write(&s->c, "one", 3, 16));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    SIM_AWAIT(rc, sim_frame_write(&s->c, "two", 3, 16));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_TRY(sim_sleep(w, 10 * SIM_MS));
    sim_conn_close(w, &s->c);
    SIM_END(rc);
}

/* Goal: a read after a short one (the socket was emptied, so the next read may wait without
 * asking the host) still sees data and the end of the stream that came while no task waited
 * on the socket. Method: the server above and its client; a missed wake-up would hang the
 * server until the world's 10 s limit. */
Test(host, data_that_came_unwatched_is_read)
{
    memset(late_frames, 0, sizeof late_frames);
    late_eof_n = 99;
    late_rc = 1;
    sim_world *w = host_world(".");
    sim_node_id srv;
    cr_assert(eq(int, sim_node_add(w, &(sim_node_desc){.name = "srv", .boot = late_srv_boot,
                                                        .host_addr = "127.0.0.1"}, &srv),
                 SIM_OK));
    sim_node_id cli = test_node(w, "cli", NULL, NULL);
    burst_cli c = {.to = sim_listener_addr(w, &late_listener)};
    test_spawn(w, "late-cli", cli, late_cli_poll, NULL, &c, sizeof c);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(str, late_frames[0], "one"));
    cr_assert(eq(str, late_frames[1], "two"));
    cr_assert(eq(int, late_rc, SIM_OK));
    cr_assert(eq(sz, late_eof_n, 0));
    sim_world_free(w);
}

/* ---- files and the blocking pool ---- */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

typedef struct file_job {
    int rc;           /* what the job saw, for the test */
    char read[32];
    uint32_t listed;
    uint64_t size;
    bool on_loop_thread;
} file_job;

static file_job file_out;
static pthread_t loop_thread;

/* In a job: create, append, fsync, sync the directory, read back, rename, list. */
static int file_run(void *state, sim_world *w)
{
    (void)state;
    file_job *o = &file_out;
    o->on_loop_thread = pthread_equal(pthread_self(), loop_thread) != 0;
    sim_file f;
    int rc = sim_file_open(w, "wal/a.log", SIM_O_CREATE | SIM_O_EXCL, &f);
    uint64_t at = 99;
    if (rc == SIM_OK) rc = sim_file_append(w, &f, "abc", 3, &at);
    if (rc == SIM_OK && at != 0) rc = SIM_EINVAL;
    if (rc == SIM_OK) rc = sim_file_append(w, &f, "def", 3, &at);
    if (rc == SIM_OK && at != 3) rc = SIM_EINVAL;
    if (rc == SIM_OK) rc = sim_file_sync(w, &f);
    if (rc == SIM_OK) rc = sim_file_datasync(w, &f);
    if (rc == SIM_OK) rc = sim_disk_sync_dir(w, "wal");
    size_t got = 0;
    if (rc == SIM_OK) rc = sim_file_pread(w, &f, o->read, sizeof o->read - 1, 0, &got);
    if (rc == SIM_OK && !sim_handle_valid(w, &f)) rc = SIM_EINVAL;
    if (rc == SIM_OK) rc = sim_file_size(w, &f, &o->size);
    sim_file_close(w, &f);
    if (rc == SIM_OK && sim_handle_valid(w, &f)) rc = SIM_EINVAL;
    if (rc == SIM_OK) rc = sim_disk_rename(w, "wal/a.log", "wal/b.log");
    sim_file g;
    if (rc == SIM_OK && sim_file_open(w, "wal/a.log", 0, &g) != SIM_ENOENT) rc = SIM_EINVAL;
    if (rc == SIM_OK && sim_file_open(w, "wal/b.log", SIM_O_CREATE | SIM_O_EXCL, &g) !=
                            SIM_EEXIST) {
        rc = SIM_EINVAL;
    }
    sim_dir_entry ents[4];
    if (rc == SIM_OK) rc = sim_disk_list(w, "wal", ents, 4, &o->listed);
    if (rc == SIM_OK && strcmp(ents[0].name, "b.log") != 0) rc = SIM_EINVAL;
    o->rc = rc;
    return rc;
}

typedef struct file_task {
    sim_co co;
    sim_file f;
    char buf[16];
    size_t got;
    int job_rc;
} file_task;

static file_task task_out;

/* In a task: the job above, then the same file through the operations (futures). */
static int file_task_poll(void *state, sim_world *w)
{
    file_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    SIM_AWAIT(rc, sim_blocking(&(sim_job_desc){.name = "files", .run = file_run}));
    t->job_rc = rc;
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_disk_open_op("wal/b.log", 0, &t->f));
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_disk_write_op(&t->f, "XY", 2, 1));
    if (rc == SIM_OK) {
        SIM_AWAIT(rc, sim_disk_sync_op(&t->f));
    }
    if (rc == SIM_OK) {
        SIM_AWAIT(rc, sim_disk_read_op(&t->f, t->buf, sizeof t->buf - 1, 0, &t->got));
    }
    sim_file_close(w, &t->f);
    if (rc == SIM_OK) {
        SIM_AWAIT(rc, sim_disk_unlink_op("wal/b.log"));
    }
    task_out = *t;
    SIM_END(rc);
}

/* Goal: a host world's files are real files under host_dir/NODE/, with fsync, fdatasync and
 * directory syncs, through both faces of the disk API; a job runs on a pool thread, not the
 * loop's. Method: a job creates, appends (offsets 0 and 3), syncs, reads back, renames and
 * lists; a task then rewrites two bytes with the operations, reads them back and unlinks; the
 * test checks the file on the host's disk before the unlink too (through the job's rename). */
Test(host, files_and_pool)
{
    char dir[64];
    test_tmpdir(dir, sizeof dir, "/tmp", "sim-host-test");
    loop_thread = pthread_self();
    memset(&file_out, 0, sizeof file_out);
    memset(&task_out, 0, sizeof task_out);
    sim_world *w = host_world(dir);
    sim_node_id n = test_node(w, "n1", NULL, NULL);
    file_task t = {0};
    test_spawn(w, "files", n, file_task_poll, NULL, &t, sizeof t);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(int, file_out.rc, SIM_OK));
    cr_assert(not(file_out.on_loop_thread));
    cr_assert(eq(str, file_out.read, "abcdef"));
    cr_assert(eq(u64, file_out.size, 6));
    cr_assert(eq(u32, file_out.listed, 1));
    cr_assert(eq(int, task_out.job_rc, SIM_OK));
    cr_assert(eq(str, task_out.buf, "aXYdef"));
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/n1/wal", dir);
    cr_assert(eq(int, stat(path, &st), 0)); /* the directory is real */
    snprintf(path, sizeof path, "%s/n1/wal/b.log", dir);
    cr_assert(not(eq(int, stat(path, &st), 0))); /* unlinked */
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
    test_tmpdir_remove(dir);
}

/* Two jobs that can finish only together: each waits (bounded) until both have started. */
static atomic_int rendezvous;

static int meet_run(void *state, sim_world *w)
{
    (void)state;
    (void)w;
    atomic_fetch_add(&rendezvous, 1);
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
    for (int i = 0; i < 5000 && atomic_load(&rendezvous) < 2; i++) nanosleep(&ms, NULL);
    return atomic_load(&rendezvous) >= 2 ? SIM_OK : SIM_ETIMEDOUT;
}

typedef struct meet_task {
    sim_co co;
    sim_join a;
    sim_join b;
    int ra;
    int rb;
} meet_task;

static meet_task meet_out;

static int meet_poll(void *state, sim_world *w)
{
    meet_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    rc = sim_spawn_blocking(w, &(sim_job_desc){.name = "meet-a", .run = meet_run}, &t->a);
    if (rc != SIM_OK) SIM_RETURN(rc);
    rc = sim_spawn_blocking(w, &(sim_job_desc){.name = "meet-b", .run = meet_run}, &t->b);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(t->ra, sim_join_wait(&t->a));
    SIM_AWAIT(t->rb, sim_join_wait(&t->b));
    meet_out = *t;
    SIM_END(SIM_OK);
}

/* Goal: the blocking pool is real threads running at once. Method: two jobs on a node with
 * two workers each wait (up to 5 s) for the other to have started; both succeed only if they
 * ran concurrently. */
Test(host, pool_runs_jobs_at_once)
{
    atomic_store(&rendezvous, 0);
    memset(&meet_out, 0, sizeof meet_out);
    sim_world *w = host_world(".");
    sim_node_id n;
    cr_assert(eq(int, sim_node_add(w, &(sim_node_desc){.name = "n1", .pool_workers = 2}, &n),
                 SIM_OK));
    meet_task t = {0};
    test_spawn(w, "meet", n, meet_poll, NULL, &t, sizeof t);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(int, meet_out.ra, SIM_OK));
    cr_assert(eq(int, meet_out.rb, SIM_OK));
    sim_world_free(w);
}

/* ---- datagrams ---- */

typedef struct udp_task {
    sim_co co;
    sim_udp a;
    sim_udp b;
    char buf[4];
    sim_datagram got;
} udp_task;

static udp_task udp_out;
static int udp_rc;

static int udp_poll(void *state, sim_world *w)
{
    udp_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    rc = sim_udp_bind(w, 0, &t->a);
    if (rc == SIM_OK) rc = sim_udp_bind(w, 0, &t->b);
    if (rc != SIM_OK) SIM_RETURN(rc);
    rc = sim_udp_send_to(w, &t->a, sim_udp_addr(w, &t->b), "datagram", 8);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_udp_recv(&t->b, t->buf, sizeof t->buf, &t->got));
    udp_out = *t;
    udp_rc = rc;
    sim_udp_close(w, &t->a);
    sim_udp_close(w, &t->b);
    SIM_END(rc);
}

/* Goal: datagrams are UDP on the host. Method: two sockets on 127.0.0.1 with ephemeral ports;
 * an 8-byte datagram into a 4-byte buffer arrives cut (truncated), from the sender's port. */
Test(host, udp_on_loopback)
{
    sim_world *w = host_world(".");
    memset(&udp_out, 0, sizeof udp_out);
    udp_rc = 1;
    sim_node_id n = test_node(w, "n1", NULL, NULL);
    udp_task t = {0};
    test_spawn(w, "udp", n, udp_poll, NULL, &t, sizeof t);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(int, udp_rc, SIM_OK));
    cr_assert(eq(sz, udp_out.got.len, 4));
    cr_assert(udp_out.got.truncated);
    cr_assert(eq(int, memcmp(udp_out.buf, "data", 4), 0));
    cr_assert(eq(u32, udp_out.got.from.node.v, n.v));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ---- I/O is not starved by a busy loop ---- */

static int slow_run(void *state, sim_world *w)
{
    (void)state;
    (void)w;
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 5 * 1000000};
    nanosleep(&ms, NULL);
    return SIM_OK;
}

typedef struct relay {
    sim_co co;
    sim_tx tx;
} relay;

static int relay_poll(void *state, sim_world *w)
{
    relay *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    SIM_AWAIT(rc, sim_blocking(&(sim_job_desc){.name = "slow", .run = slow_run}));
    static const int one = 1;
    if (rc == SIM_OK) rc = sim_try_send(w, &r->tx, &one);
    sim_tx_drop(w, &r->tx);
    SIM_END(rc);
}

typedef struct spinner {
    sim_co co;
    sim_rx rx;
    int msg;
    uint64_t spins;
} spinner;

static uint64_t spins_out;

static int spinner_poll(void *state, sim_world *w)
{
    spinner *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    while (sim_try_recv(w, &s->rx, &s->msg) != SIM_OK) {
        s->spins++;
        SIM_AWAIT(rc, sim_yield());
    }
    spins_out = s->spins;
    SIM_END(SIM_OK);
}

/* Goal: a task that never waits (it yields in a loop, polling a channel) does not starve the
 * loop's I/O: a blocking job's completion still comes back. Method: one task awaits a 5 ms
 * job and then sends; another spins on sim_try_recv and sim_yield until the message is there.
 * A step limit bounds the test should the completion never be gathered. */
Test(host, busy_loop_does_not_starve_io)
{
    sim_world_desc d = {.backend = SIM_BACKEND_HOST, .step_limit = 50 * 1000 * 1000};
    sim_world *w = test_world_desc(&d);
    sim_node_id n = test_node(w, "n1", NULL, NULL);
    relay r = {0};
    spinner s = {0};
    cr_assert(eq(int, sim_chan_new(w, &(sim_chan_desc){.msg_size = sizeof(int)}, &r.tx, &s.rx),
                 SIM_OK));
    test_spawn_moves(w, "relay", n, relay_poll, &r, sizeof r, SIM_MOVES(&r.tx));
    test_spawn_moves(w, "spinner", n, spinner_poll, &s, sizeof s, SIM_MOVES(&s.rx));
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(lt(u64, 0, spins_out));
    sim_world_free(w);
}
