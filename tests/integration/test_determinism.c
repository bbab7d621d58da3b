/*
 * test_determinism.c: same seed, same run; different seeds, different interleavings.
 */
#include "../../systems/demo/demo.h"
#include "../helpers.h"

/* A racy program: three tasks do a read-yield-write increment of a shared counter (lost
 * updates depend on the interleaving), exchange messages over an mpsc and sleep for random
 * lengths drawn from the world's seed. */
typedef struct racy_shared {
    uint64_t counter;
    uint64_t log;   /* a rolling mix of who ran when */
} racy_shared;

typedef struct racer {
    sim_co co;
    racy_shared *s;
    uint32_t id;
    int i;
    uint64_t seen;
    sim_tx tx;     /* racers 1 and 2: a sender, theirs */
    sim_rx rx;     /* racer 3: the receiver, its own */
    uint64_t msg;
    sim_rng rng;
} racer;

static int racer_poll(void *state, sim_world *w)
{
    racer *r = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &r->co);
    sim_world_rng(w, "test/racer", r->id, &r->rng);
    for (r->i = 0; r->i < 5; r->i++) {
        r->seen = r->s->counter;
        SIM_AWAIT(rc, sim_yield());
        r->s->counter = r->seen + 1;
        r->s->log = (r->s->log * 31 + r->id) ^ (r->s->log >> 7);
        SIM_AWAIT(rc, sim_sleep(w, sim_rng_below(&r->rng, 3) * SIM_MS));
        r->msg = (uint64_t)r->id << 8 | (uint64_t)r->i;
        if (sim_handle_valid(w, &r->tx)) sim_try_send(w, &r->tx, &r->msg);
    }
    sim_tx_drop(w, &r->tx); /* the receiver's loop ends when both senders are gone */
    if (sim_handle_valid(w, &r->rx)) {
        for (;;) {
            SIM_AWAIT(rc, sim_recv(&r->rx, &r->msg));
            if (rc != SIM_OK) break;
            r->s->log = r->s->log * 131 + r->msg;
        }
    }
    SIM_END(SIM_OK);
}

typedef struct outcome {
    uint64_t hash;
    uint64_t counter;
    uint64_t log;
    uint64_t events;
} outcome;

static outcome run_racy(uint64_t seed)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    racy_shared s = {0};
    sim_chan_desc d = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(uint64_t)};
    racer r[3] = {{.s = &s, .id = 1}, {.s = &s, .id = 2}, {.s = &s, .id = 3}};
    cr_assert(eq(int, sim_chan_new(w, &d, &r[0].tx, &r[2].rx), SIM_OK));
    cr_assert(eq(int, sim_tx_clone(w, &r[0].tx, &r[1].tx), SIM_OK));
    for (int i = 0; i < 3; i++) {
        sim_task_desc td = {.name = "racer", .poll = racer_poll, .state = &r[i],
                            .state_size = sizeof r[i],
                            .moves = i < 2 ? SIM_MOVES(&r[i].tx) : SIM_MOVES(&r[i].rx)};
        cr_assert(eq(int, sim_spawn(w, &td, NULL), SIM_OK));
    }
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    outcome o = {.hash = sim_world_trace_hash(w), .counter = s.counter, .log = s.log,
                 .events = sim_world_event_count(w)};
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
    return o;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Goal: determinism: 1,000 seeds of a racy program, each run twice in one process, give
 * identical hashes and outcomes; different seeds give different interleavings. Method: run
 * each seed twice and compare; count distinct hashes and distinct lost-update outcomes. */
Test(determinism, thousand_seeds_twice, .timeout = 120)
{
    enum { SEEDS = 1000 };
    static uint64_t hashes[SEEDS];
    uint32_t lost_update_counts[16] = {0};
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        outcome a = run_racy(seed);
        outcome b = run_racy(seed);
        cr_assert(eq(u64, a.hash, b.hash), "seed %llu", (unsigned long long)seed);
        cr_assert(eq(u64, a.counter, b.counter));
        cr_assert(eq(u64, a.log, b.log));
        cr_assert(eq(u64, a.events, b.events));
        hashes[seed - 1] = a.hash;
        lost_update_counts[a.counter < 16 ? a.counter : 15]++;
    }
    qsort(hashes, SEEDS, sizeof hashes[0], cmp_u64);
    uint32_t distinct = 1;
    for (int i = 1; i < SEEDS; i++) distinct += hashes[i] != hashes[i - 1];
    cr_assert(ge(u32, distinct, 990), "only %u distinct interleavings in 1000 seeds", distinct);
    uint32_t outcomes = 0;
    for (int i = 0; i < 16; i++) outcomes += lost_update_counts[i] > 0;
    cr_assert(ge(u32, outcomes, 3), "the lost-update race shows only %u outcomes", outcomes);
}

/* Goal: the demo world replays bit for bit. Method: 50 seeds of the demo, each twice, under
 * each strategy: same hash, same event count. */
Test(determinism, demo_world_replays, .timeout = 120)
{
    sim_sched_kind kinds[3] = {SIM_SCHED_RANDOM, SIM_SCHED_FIFO, SIM_SCHED_PCT};
    for (int k = 0; k < 3; k++) {
        for (uint64_t seed = 1; seed <= 50; seed++) {
            uint64_t h[2], ev[2];
            for (int rep = 0; rep < 2; rep++) {
                sim_world *w = test_world(seed, kinds[k]);
                sim_demo_stats stats = {0};
                cr_assert(eq(int, sim_demo_setup(w, NULL, &stats), SIM_OK));
                cr_assert(eq(int, sim_world_run(w), SIM_OK));
                cr_assert(eq(u32, sim_world_violation_count(w), 0));
                /* 10 ticks before the crash at 1 s (9 when the crash wins the tie at 1 s), then
                 * 20 after the restart. */
                cr_assert(ge(u32, stats.ticks, 29));
                cr_assert(le(u32, stats.ticks, 30));
                h[rep] = sim_world_trace_hash(w);
                ev[rep] = sim_world_event_count(w);
                sim_world_free(w);
            }
            cr_assert(eq(u64, h[0], h[1]), "strategy %d seed %llu", k, (unsigned long long)seed);
            cr_assert(eq(u64, ev[0], ev[1]));
        }
    }
}

/* Goal: tracing never perturbs: a run with a trace sink has the same hash as one without.
 * Method: the demo world, seed 9, with and without a sink that counts events. */
static void count_events(void *ud, const sim_event *ev)
{
    (void)ev;
    (*(uint64_t *)ud)++;
}

Test(determinism, tracing_does_not_perturb)
{
    uint64_t hashes[2], seen = 0;
    for (int traced = 0; traced < 2; traced++) {
        sim_world_desc d = {.seed = 9, .trace = traced ? count_events : NULL, .trace_ud = &seen};
        sim_world *w = test_world_desc(&d);
        sim_demo_stats stats = {0};
        cr_assert(eq(int, sim_demo_setup(w, NULL, &stats), SIM_OK));
        cr_assert(eq(int, sim_world_run(w), SIM_OK));
        (void)sim_world_trace_hash(w); /* asking for the hash midway changes nothing either */
        hashes[traced] = sim_world_trace_hash(w);
        if (traced) cr_assert(eq(u64, seen, sim_world_event_count(w)));
        sim_world_free(w);
    }
    cr_assert(eq(u64, hashes[0], hashes[1]));
}

/* ---- notes ----------------------------------------------------------------------------- */

typedef struct noter {
    sim_co co;
    int64_t value;
} noter;

static int noter_poll(void *state, sim_world *w)
{
    noter *n = state;
    sim_trace_note(w, "value", &n->value, sizeof n->value);
    return SIM_OK;
}

typedef struct note_seen {
    uint64_t digest;
    uint64_t len;
    char label[16];
    uint32_t task;
} note_seen;

static void catch_note(void *ud, const sim_event *ev)
{
    note_seen *s = ud;
    if (ev->kind != SIM_EV_NOTE) return;
    s->digest = ev->a;
    s->len = ev->b;
    s->task = ev->task.v;
    snprintf(s->label, sizeof s->label, "%s", ev->detail ? ev->detail : "");
}

static uint64_t run_noter(int64_t value, note_seen *seen)
{
    sim_world_desc d = {.seed = 1, .trace = catch_note, .trace_ud = seen};
    sim_world *w = test_world_desc(&d);
    noter n = {.value = value};
    test_spawn(w, "noter", (sim_node_id){0}, noter_poll, NULL, &n, sizeof n);
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    uint64_t h = sim_world_trace_hash(w);
    sim_world_free(w);
    return h;
}

/* Goal: sim_trace_note folds data into the hash: runs that schedule alike but compute
 * different values differ; the same value gives the same hash; the event carries the data's
 * length, its digest, the label and the noting task. Method: one task notes 41 or 42. */
Test(determinism, notes_fold_data_into_the_hash)
{
    note_seen a = {0}, b = {0}, c = {0};
    uint64_t h41 = run_noter(41, &a);
    uint64_t h42 = run_noter(42, &b);
    uint64_t again = run_noter(41, &c);
    cr_assert(ne(u64, h41, h42));
    cr_assert(eq(u64, h41, again));
    cr_assert(ne(u64, a.digest, b.digest));
    cr_assert(eq(u64, a.digest, c.digest));
    cr_assert(eq(u64, a.len, sizeof(int64_t)));
    cr_assert(eq(str, a.label, "value"));
    cr_assert(eq(u32, a.task, 1));
}

/* A sleeper for the checkpoint test: sleeps `ms` milliseconds five times. */
typedef struct napper {
    sim_co co;
    uint64_t ms;
    int i;
} napper;

static int napper_poll(void *state, sim_world *w)
{
    napper *n = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &n->co);
    for (n->i = 0; n->i < 5; n->i++) {
        SIM_AWAIT(rc, sim_sleep(w, n->ms * SIM_MS));
    }
    SIM_END(rc);
}

/* Runs a napper with a checkpoint every step and copies the checkpoint hashes to out. */
static uint32_t run_napper(uint64_t ms, uint64_t *out, uint32_t most, sim_world **keep)
{
    sim_world_desc d = {.seed = 7, .checkpoint_every = 1};
    sim_world *w = NULL;
    cr_assert(eq(int, sim_world_new(&d, &w), SIM_OK));
    napper n = {.ms = ms};
    sim_task_desc td = {.name = "napper", .poll = napper_poll, .state = &n, .state_size = sizeof n};
    cr_assert(eq(int, sim_spawn(w, &td, NULL), SIM_OK));
    cr_assert(eq(int, sim_world_run(w), SIM_OK));
    uint32_t count = sim_world_checkpoint_count(w);
    for (uint32_t i = 0; i < count && i < most; i++) out[i] = sim_world_checkpoint(w, i)->hash;
    if (keep != NULL) {
        *keep = w;
    } else {
        sim_world_free(w);
    }
    return count;
}

/* Goal: a checkpoint's hash is the trace hash at its step, whatever memory the checkpoint
 * array was given. Found by an assertion (the last checkpoint's event count never exceeds
 * the world's): the new record was appended with its index incremented before the hash was
 * taken, so sim_world_trace_hash read the record being written, and a record left in reused
 * memory by an earlier world with the same event count gave that world's hash. Method: a run
 * with 2 ms naps after one with 1 ms naps (same event counts, other times, freed first so its
 * checkpoint array's memory may come back) against the same run in a fresh process state
 * (the first world still held): equal checkpoint hashes. */
Test(determinism, checkpoint_hash_is_the_trace_hash_at_its_step)
{
    enum { MOST = 64 };
    uint64_t a[MOST], b[MOST], c[MOST];
    run_napper(1, a, MOST, NULL);
    uint32_t nb = run_napper(2, b, MOST, NULL);
    sim_world *held = NULL;
    run_napper(1, a, MOST, &held); /* holds its array: the next run gets other memory */
    uint32_t nc = run_napper(2, c, MOST, NULL);
    sim_world_free(held);
    cr_assert(eq(u32, nb, nc));
    cr_assert(lt(u32, 5, nb));
    for (uint32_t i = 0; i < nb && i < MOST; i++) {
        cr_assert(eq(u64, b[i], c[i]), "checkpoint %u", i);
        if (i > 0) cr_assert(ne(u64, b[i], a[i]), "checkpoint %u", i);
    }
}
