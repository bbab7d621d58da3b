/*
 * bench_net.c: what a message through net_sim costs. One line per figure, "name value unit",
 * each the median of 5 runs, recording off (the trace hash on, as always).
 *
 *   net_dgram_pingpong   two nodes bounce a 64-byte datagram N times: messages per second
 *                        (two messages per round trip); latency 1 ms, no faults
 *   net_stream_pingpong  the same over one stream connection: a 64-byte write, a read_exact
 *                        of 64 bytes on the other side, and back; segments never split
 *   gossip_speed         the 5-node gossip toy (systems/gossip) with 1 ms latency and rumors
 *                        spread over 100 s: simulated seconds per wall second
 *
 * A host-boundary file: it reads the host clock to time the runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../systems/gossip/gossip.h"
#include "bench.h"

#define RUNS 5
#define PORT 7000
#define MSG 64

static sim_world *bench_world(void)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}};
    sim_world *w = NULL;
    must(sim_world_new(&d, &w), "world");
    sim_link fixed = {.latency = {SIM_MS, SIM_MS}};
    must(sim_net_link(w, (sim_node_id){0}, (sim_node_id){0}, &fixed), "link");
    sim_net_desc nd = {.segment_min = 1460, .segment_max = 1460};
    must(sim_net_configure(w, &nd), "configure");
    return w;
}

/* ---- datagrams ------------------------------------------------------------------------------ */

typedef struct dgram_side {
    sim_co co;
    uint64_t left;          /* round trips to start; 0 for the echoer */
    sim_udp sock;
    sim_datagram got;
    uint8_t buf[MSG];
} dgram_side;

static int dgram_poll(void *state, sim_world *w)
{
    dgram_side *d = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &d->co);
    must(sim_udp_bind(w, PORT, &d->sock), "bind");
    if (d->left > 0) {
        for (; d->left > 0; d->left--) {
            must(sim_udp_send_to(w, &d->sock, (sim_addr){{2}, PORT}, d->buf, MSG), "send");
            SIM_AWAIT(rc, sim_udp_recv(&d->sock, d->buf, MSG, &d->got));
            must(rc, "recv");
        }
    } else {
        for (;;) {
            SIM_AWAIT(rc, sim_udp_recv(&d->sock, d->buf, MSG, &d->got));
            must(rc, "echo recv");
            must(sim_udp_send_to(w, &d->sock, d->got.from, d->buf, d->got.len), "echo");
        }
    }
    sim_udp_close(w, &d->sock);
    SIM_END(SIM_OK);
}

static double bench_dgram(uint64_t n)
{
    sim_world *w = bench_world();
    sim_node_id a, b;
    must(sim_node_add(w, &(sim_node_desc){.name = "a"}, &a), "node");
    must(sim_node_add(w, &(sim_node_desc){.name = "b"}, &b), "node");
    dgram_side ping = {.left = n}, pong = {0};
    sim_task_desc dp = {.name = "ping", .node = a, .poll = dgram_poll, .state = &ping,
                        .state_size = sizeof ping};
    sim_task_desc dq = {.name = "pong", .node = b, .poll = dgram_poll, .state = &pong,
                        .state_size = sizeof pong, .daemon = true};
    uint64_t t0 = host_now_ns();
    must(sim_spawn(w, &dq, NULL), "spawn");
    must(sim_spawn(w, &dp, NULL), "spawn");
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    sim_world_free(w);
    return 2.0 * (double)n * 1e9 / (double)(t1 - t0);
}

/* ---- a stream ------------------------------------------------------------------------------- */

typedef struct stream_side {
    sim_co co;
    uint64_t left;          /* round trips; 0 for the echoer */
    sim_listener l;         /* the echoer's: made in the boot function, moved to the task */
    sim_conn c;
    uint8_t buf[MSG];
} stream_side;

static int stream_poll(void *state, sim_world *w)
{
    stream_side *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    if (s->left > 0) {
        SIM_AWAIT(rc, sim_connect((sim_addr){{2}, PORT}, &s->c));
        must(rc, "connect");
    } else {
        SIM_AWAIT(rc, sim_accept(&s->l, &s->c, NULL));
        must(rc, "accept");
    }
    for (;;) {
        if (s->left > 0) {
            SIM_AWAIT(rc, sim_write(&s->c, s->buf, MSG));
            must(rc, "write");
        }
        SIM_AWAIT(rc, sim_read_exact(&s->c, s->buf, MSG));
        if (rc == SIM_EEOF) break;
        must(rc, "read");
        if (s->left == 0) {
            SIM_AWAIT(rc, sim_write(&s->c, s->buf, MSG));
            must(rc, "echo");
        } else if (--s->left == 0) {
            break;
        }
    }
    sim_conn_close(w, &s->c);
    sim_listener_close(w, &s->l);
    SIM_END(SIM_OK);
}

/* The server listens in its boot function, so that the port is open before anyone tries. */
static int boot_server(void *ud, sim_world *w, sim_node_id node)
{
    stream_side *s = ud;
    must(sim_listen(w, PORT, 0, &s->l), "listen");
    sim_task_desc d = {.name = "echo", .node = node, .poll = stream_poll, .state = s,
                       .state_size = sizeof *s, .daemon = true, .moves = SIM_MOVES(&s->l)};
    return sim_spawn(w, &d, NULL);
}

static double bench_stream(uint64_t n)
{
    sim_world *w = bench_world();
    stream_side server = {0}, client = {.left = n};
    sim_node_id a, b;
    must(sim_node_add(w, &(sim_node_desc){.name = "a"}, &a), "node");
    uint64_t t0 = host_now_ns();
    must(sim_node_add(w, &(sim_node_desc){.name = "b", .boot = boot_server, .boot_ud = &server},
                      &b),
         "node");
    sim_task_desc dc = {.name = "client", .node = a, .poll = stream_poll, .state = &client,
                        .state_size = sizeof client};
    must(sim_spawn(w, &dc, NULL), "spawn");
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    sim_world_free(w);
    return 2.0 * (double)n * 1e9 / (double)(t1 - t0);
}

/* ---- gossip --------------------------------------------------------------------------------- */

static double bench_gossip(void)
{
    sim_world_desc d = {.seed = 1};
    sim_world *w = NULL;
    must(sim_world_new(&d, &w), "world");
    sim_link fixed = {.latency = {SIM_MS, SIM_MS}};
    must(sim_net_link(w, (sim_node_id){0}, (sim_node_id){0}, &fixed), "link");
    sim_gossip_stats *stats = calloc(1, sizeof *stats);
    if (stats == NULL) exit(1);
    sim_gossip_config c = {.nodes = 5, .rumors = 4, .spread_ns = 100 * SIM_S};
    uint64_t t0 = host_now_ns();
    must(sim_gossip_setup(w, &c, stats), "gossip");
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    double simulated = (double)sim_now(w) / 1e9;
    if (!stats->converged) {
        fprintf(stderr, "bench: gossip did not converge\n");
        exit(1);
    }
    sim_world_free(w);
    free(stats);
    return simulated * 1e9 / (double)(t1 - t0);
}

/* ---- driver --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (n == 0) {
        fprintf(stderr, "usage: sim-bench-net [ROUND_TRIPS]\n");
        return 2;
    }
    double dg[RUNS], st[RUNS], go[RUNS];
    for (int r = 0; r < RUNS; r++) {
        dg[r] = bench_dgram(n);
        st[r] = bench_stream(n);
        go[r] = bench_gossip();
    }
    printf("net_dgram_pingpong %.2fM messages/s\n", median(dg, RUNS) / 1e6);
    printf("net_stream_pingpong %.2fM messages/s\n", median(st, RUNS) / 1e6);
    printf("gossip_speed %.0f simulated s per wall s\n", median(go, RUNS));
    return 0;
}
