/*
 * trace.c: the event stream: the rolling hash that is always on, and the optional sink.
 *
 * Each event is encoded canonically as 32 little-endian bytes: kind (u16), node (u16), task
 * (u32), virtual time (u64), a (u64), b (u64). The step is implied by position. Detail strings
 * are for people and are not hashed. Records are buffered 4 KiB at a time and folded into an
 * XXH3-64 streaming state, which gives exactly the digest of the whole concatenated stream;
 * buffering only saves per-call overhead on the hot path. The hash reads nothing but the
 * event, so it cannot perturb the run.
 */
#include <stdlib.h>
#include <string.h>

/* The state struct is needed to digest a copy; on x86 the library picks SSE2, AVX2 or AVX512
 * at run time (the same digest whichever it picks). */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xxh_x86dispatch.h>
#endif

#include "exec.h"

#define RECORD_SIZE 32
_Static_assert(sizeof(sim__record) == RECORD_SIZE, "the record has no padding");
_Static_assert(SIM__NODES_MAX <= UINT16_MAX, "node indices fit the record");

int sim__hash_init(sim_world *w)
{
    SIM_ASSERT(w->hash_state == NULL); /* once per world */
    XXH3_state_t *st = XXH3_createState();
    if (st == NULL) sim__oom(sizeof *st, "the trace hash's state");
    XXH3_64bits_reset(st);
    w->hash_state = st;
    w->hash_len = 0;
    SIM_ASSERT(w->stats.events == 0); /* before the first event */
    return SIM_OK;
}

void sim__hash_free(sim_world *w)
{
    if (w->hash_state != NULL) XXH3_freeState(w->hash_state);
    w->hash_state = NULL;
}

void sim__hash_flush(sim_world *w)
{
    if (w->hash_len == 0) return;
    XXH3_64bits_update(w->hash_state, w->hash_buf, (size_t)w->hash_len * RECORD_SIZE);
    w->hash_len = 0;
}

int sim__emit_slow(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task, uint64_t a,
                   uint64_t b, const char *detail)
{
    if (w->hash_len == SIM__HASH_BUF_RECORDS) sim__hash_flush(w);
    sim__record_put(w, kind, node, task, a, b);
    if (w->fp_in_step) sim__fp_event(w, kind, task, a);
    if (w->trace != NULL) sim__emit_sink(w, kind, node, task, a, b, detail);
    return SIM_OK;
}

void sim__emit_sink(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task, uint64_t a,
                    uint64_t b, const char *detail)
{
    sim_event ev = {
        .step = w->step,
        .vtime_ns = w->now_ns,
        .kind = kind,
        .node = {node},
        .task = {task},
        .a = a,
        .b = b,
        .detail = detail,
    };
    w->trace(w->trace_ud, &ev);
}

uint64_t sim_world_trace_hash(const sim_world *w)
{
    /* The last checkpoint, if no event came since, saves a digest (a run asks twice). */
    if (w->checkpoints_len > 0) {
        const sim_checkpoint *last = &w->checkpoints[w->checkpoints_len - 1];
        SIM_ASSERT(last->events <= w->stats.events);
        if (last->events == w->stats.events) return last->hash;
    }
    SIM_ASSERT(w->hash_state != NULL && w->hash_len <= SIM__HASH_BUF_RECORDS);
    /* Digest a copy so that asking for the hash changes nothing. */
    XXH3_state_t copy;
    XXH3_copyState(&copy, w->hash_state);
    if (w->hash_len > 0) {
        XXH3_64bits_update(&copy, w->hash_buf, (size_t)w->hash_len * RECORD_SIZE);
    }
    return XXH3_64bits_digest(&copy);
}

void sim_trace_note(sim_world *w, const char *label, const void *data, size_t len)
{
    SIM_ASSERT(data != NULL || len == 0);
    uint64_t digest = XXH3_64bits(data, len);
    /* A blocking job's thread on a host world: the loop records it when the job is done. */
    if (w->backend == SIM_BACKEND_HOST && sim__host_defer(w, SIM_EV_NOTE, digest, len, label)) {
        return;
    }
    uint32_t task = 0, node = 0;
    if (w->current != SIM__NIL) {
        task = w->tasks[w->current].id;
        node = w->tasks[w->current].node;
    }
    sim__emit(w, SIM_EV_NOTE, node, task, digest, len, label);
}
