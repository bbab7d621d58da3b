/*
 * bench_disk.c: what the simulated disk costs. One line per figure, "name value unit", each
 * the median of 5 runs, recording off (the trace hash on, as always).
 *
 *   disk_write_4k        a task writes 4 KiB blocks N times through disk operations (each with
 *                        its latency) into a 1 MiB region of a file, as a database rewrites its
 *                        pages, with an fsync every 64 writes: simulated writes per wall second
 *   disk_write_fsync_4k  the same with an fsync after each write: write+fsync pairs per second
 *   disk_crash_10k       a 40 MiB file, synced once, then 10,000 pending 4 KiB overwrites at
 *                        random blocks; the node crashes: wall time to resolve them (each kept,
 *                        lost or torn)
 *
 * A host-boundary file: it reads the host clock to time the runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define RUNS 5
#define BLOCK 4096

#define RING 256 /* blocks: the 1 MiB region the write benchmarks rewrite */

typedef struct writer {
    sim_co co;
    uint64_t left;
    uint64_t i;
    uint32_t sync_every;     /* 0: never */
    uint32_t blocks;         /* offsets: i % blocks, or random when scatter */
    bool scatter;
    sim_rng rng;
    sim_file f;              /* the task's: closed when it ends */
    uint8_t block[BLOCK];
} writer;

/* Where the i-th write goes. */
static uint64_t next_offset(writer *x)
{
    uint64_t b = x->scatter ? sim_rng_below(&x->rng, x->blocks) : x->i % x->blocks;
    return b * BLOCK;
}

static int writer_poll(void *state, sim_world *w)
{
    writer *x = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &x->co);
    SIM_AWAIT(rc, sim_disk_open_op("data.log", SIM_O_CREATE, &x->f));
    must(rc, "open");
    SIM_AWAIT(rc, sim_disk_sync_dir_op("")); /* the file's name survives crashes */
    must(rc, "sync dir");
    for (x->i = 0; x->i < x->left; x->i++) {
        x->block[0] = (uint8_t)x->i;
        SIM_AWAIT(rc, sim_disk_write_op(&x->f, x->block, BLOCK, next_offset(x)));
        must(rc, "write");
        if (x->sync_every != 0 && (x->i + 1) % x->sync_every == 0) {
            SIM_AWAIT(rc, sim_disk_sync_op(&x->f));
            must(rc, "fsync");
        }
    }
    SIM_END(SIM_OK);
}

/* Runs a writer on node 1 of w; returns the wall ns it took. */
static uint64_t run_writer(sim_world *w, const writer *spec)
{
    writer *x = malloc(sizeof *x);
    if (x == NULL) exit(1);
    *x = *spec;
    sim_rng_init(&x->rng, 1, "bench/disk", 0);
    sim_task_desc td = {.name = "writer", .node = {1}, .poll = writer_poll, .state = x,
                        .state_size = sizeof *x};
    uint64_t t0 = host_now_ns();
    must(sim_spawn(w, &td, NULL), "spawn");
    must(sim_world_run(w), "run");
    uint64_t t1 = host_now_ns();
    free(x);
    return t1 - t0;
}

static sim_world *one_node(void)
{
    sim_world_desc d = {.seed = 1, .sched = {.kind = SIM_SCHED_FIFO}};
    sim_world *w = NULL;
    must(sim_world_new(&d, &w), "world");
    must(sim_node_add(w, &(sim_node_desc){.name = "n1"}, NULL), "node");
    return w;
}

static double bench_writes(uint64_t n, uint32_t sync_every)
{
    sim_world *w = one_node();
    writer spec = {.left = n, .sync_every = sync_every, .blocks = RING};
    uint64_t ns = run_writer(w, &spec);
    sim_world_free(w);
    return (double)n * 1e9 / (double)ns;
}

static double bench_crash(void)
{
    sim_world *w = one_node();
    writer fill = {.left = 10000, .sync_every = 10000, .blocks = 10000};
    run_writer(w, &fill);
    writer dirty = {.left = 10000, .blocks = 10000, .scatter = true};
    run_writer(w, &dirty);
    uint64_t t0 = host_now_ns();
    must(sim_node_crash(w, (sim_node_id){1}), "crash");
    uint64_t t1 = host_now_ns();
    sim_world_free(w);
    return (double)(t1 - t0) / 1e6;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    if (n == 0) {
        fprintf(stderr, "usage: sim-bench-disk [WRITES]\n");
        return 2;
    }
    double wr[RUNS], ws[RUNS], cr[RUNS];
    for (int r = 0; r < RUNS; r++) {
        wr[r] = bench_writes(n, 64);
        ws[r] = bench_writes(n, 1);
        cr[r] = bench_crash();
    }
    printf("disk_write_4k %.2fM writes/s\n", median(wr, RUNS) / 1e6);
    printf("disk_write_fsync_4k %.2fM write+fsync/s\n", median(ws, RUNS) / 1e6);
    printf("disk_crash_10k %.2f ms\n", median(cr, RUNS));
    return 0;
}
