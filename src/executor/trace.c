/*
 * trace.c: the event stream: the rolling hash that is always on, and the optional sink.
 *
 * Each event is encoded canonically as 40 little-endian bytes: kind (u16), reserved (u16),
 * node (u32), task (u32), reserved (u32), virtual time (u64), a (u64), b (u64). The step is
 * implied by position. Detail strings are for people and are not hashed. Records are buffered
 * 4 KiB at a time and folded into an XXH3-64 streaming state, which gives exactly the digest
 * of the whole concatenated stream; buffering only saves per-call overhead on the hot path.
 * The hash reads nothing but the event, so it cannot perturb the run.
 */
#define XXH_INLINE_ALL
#include <stdlib.h>
#include <xxhash.h>

#include "exec.h"

#define RECORD_SIZE 40
_Static_assert(sizeof(((sim_world *)0)->hash_buf) >= 2 * RECORD_SIZE,
               "the hash buffer holds several records");

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int sim__hash_init(sim_world *w)
{
    XXH3_state_t *st = XXH3_createState();
    if (st == NULL) return SIM_ENOMEM;
    XXH3_64bits_reset(st);
    w->hash_state = st;
    w->hash_len = 0;
    return SIM_OK;
}

void sim__hash_free(sim_world *w)
{
    if (w->hash_state != NULL) XXH3_freeState(w->hash_state);
    w->hash_state = NULL;
}

static void hash_flush(sim_world *w)
{
    if (w->hash_len == 0) return;
    XXH3_64bits_update(w->hash_state, w->hash_buf, w->hash_len);
    w->hash_len = 0;
}

void sim__emit(sim_world *w, sim_event_kind kind, uint32_t node, uint32_t task, uint64_t a,
               uint64_t b, const char *detail)
{
    if (w->hash_len + RECORD_SIZE > sizeof w->hash_buf) hash_flush(w);
    uint8_t *p = w->hash_buf + w->hash_len;
    put16(p, (uint16_t)kind);
    put16(p + 2, 0);
    put32(p + 4, node);
    put32(p + 8, task);
    put32(p + 12, 0);
    put64(p + 16, w->now_ns);
    put64(p + 24, a);
    put64(p + 32, b);
    w->hash_len += RECORD_SIZE;
    w->stats.events++;
    if (w->trace != NULL) {
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
}

uint64_t sim_world_trace_hash(const sim_world *w)
{
    /* Digest a copy so that asking for the hash changes nothing. */
    XXH3_state_t copy;
    XXH3_copyState(&copy, w->hash_state);
    if (w->hash_len > 0) XXH3_64bits_update(&copy, w->hash_buf, w->hash_len);
    return XXH3_64bits_digest(&copy);
}
