/*
 * core.h: internals shared by every module: the size-class allocator, time formatting, the
 * thread's running world (for assertion messages only) and small integer helpers.
 *
 * Nothing here draws randomness or reads a clock. The allocator hands out blocks from
 * per-class LIFO free lists; which block a caller gets never influences the simulation,
 * because nothing is ordered or hashed by address.
 */
#ifndef SIM_CORE_H
#define SIM_CORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define SIM__NIL UINT32_MAX

/* ---- host memory (alloc.c) -------------------------------------------------------------------
 * Out of host memory is fatal, never a result: these never return NULL. On failure they call
 * sim__oom, which prints "sim: out of memory allocating N bytes for WHAT" and the running
 * world's seed, time, step and replay command, then aborts. `what` names the table or buffer
 * for that message (a static string). A size of 0 is allowed and gives a distinct block. */
_Noreturn void sim__oom(size_t bytes, const char *what);
void *sim__xmalloc(size_t bytes, const char *what);
void *sim__xcalloc(size_t count, size_t size, const char *what);
void *sim__xrealloc(void *block, size_t bytes, const char *what);
/* realloc of count records of size bytes; the product's overflow is out of memory too. */
void *sim__xrealloc_array(void *block, size_t count, size_t size, const char *what);
char *sim__xstrdup(const char *s, const char *what);
/* At most n bytes of s, NUL-terminated. */
char *sim__xstrndup(const char *s, size_t n, const char *what);
/* Prints the running world's seed, virtual time, step, task and replay command, if a world
 * runs on this thread (assert.c): what a failed assertion and sim__oom add to their line. */
void sim__context_print(FILE *out);

/* ASan's manual poisoning, so that a block on a free list of the size-class allocator reads
 * as freed memory (a stale task state or job state is a reported use-after-free, not a
 * silent read of whatever the block holds next). No-ops in other builds. */
#if defined(__SANITIZE_ADDRESS__)
#define SIM__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM__ASAN 1
#endif
#endif
#ifdef SIM__ASAN
#include <sanitizer/asan_interface.h>
#define SIM__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SIM__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SIM__POISON(p, n) ((void)(p), (void)(n))
#define SIM__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Size classes: 16 B << k for k in [0, SIM__MEM_CLASSES). The largest class holds
 * SIM_STATE_MAX bytes. */
#define SIM__MEM_CLASSES 17
_Static_assert(((size_t)16 << (SIM__MEM_CLASSES - 1)) == SIM_STATE_MAX,
               "the largest size class must hold SIM_STATE_MAX");

typedef struct sim__mem {
    void *free[SIM__MEM_CLASSES]; /* LIFO free lists; a free block's first word links on */
    void **chunks;                /* every chunk obtained from malloc, freed at release */
    uint32_t chunks_len;
    uint32_t chunks_cap;
    uint64_t live_blocks;         /* blocks handed out and not yet returned */
} sim__mem;

/* The class of a block of size bytes (1 <= size <= SIM_STATE_MAX): 16 B << class >= size. */
static inline unsigned sim__mem_class(size_t size)
{
    SIM_ASSERT(size > 0);
    SIM_ASSERT(size <= SIM_STATE_MAX);
    return size <= 16 ? 0 : (unsigned)(60 - __builtin_clzll((unsigned long long)size - 1));
}

/* The refill path of sim__mem_alloc, and sizes above SIM_STATE_MAX (straight to malloc). */
void *sim__mem_alloc_slow(sim__mem *mem, size_t size);
/* Frees every chunk. Blocks still handed out become invalid. */
void sim__mem_release(sim__mem *mem);

/* Returns a block of at least size bytes (size >= 1); never NULL (out of memory is fatal). */
static inline void *sim__mem_alloc(sim__mem *mem, size_t size)
{
    if (size <= SIM_STATE_MAX) {
        unsigned k = sim__mem_class(size);
        void *block = mem->free[k];
        if (block != NULL) {
            SIM__UNPOISON(block, (size_t)16 << k);
            memcpy(&mem->free[k], block, sizeof(void *));
            mem->live_blocks++;
            return block;
        }
    }
    return sim__mem_alloc_slow(mem, size);
}

/* Returns a block; size must be the size it was allocated with. NULL is ignored. */
static inline void sim__mem_free(sim__mem *mem, void *block, size_t size)
{
    if (block == NULL) return;
    if (size > SIM_STATE_MAX) {
        free(block);
        return;
    }
    SIM_ASSERT(mem->live_blocks > 0);
    unsigned k = sim__mem_class(size);
    memcpy(block, &mem->free[k], sizeof(void *));
    SIM__POISON(block, (size_t)16 << k);
    mem->free[k] = block;
    mem->live_blocks--;
}

/* ---- growable tables (mem.c) ------------------------------------------------------------------
 * The simulation's tables (tasks, timers, waiters, objects, sockets, messages, inodes, ...)
 * are arrays indexed by slot that grow by doubling, so a pointer into one is valid only until
 * the next call that may allocate a slot in it. Code keeps slots across such calls and
 * re-derives pointers after them. Slow-check builds enforce this: every slot allocation moves
 * its table (sim__table_shake), so a pointer kept across one is a use-after-free that ASan
 * reports on the first run that passes there, instead of only on the rare run whose growth
 * happens to fall there (issue 15: a stale message pointer read into the trace hash). */

/* sim__grow when the array is too small. */
void sim__grow_slow(void **array, uint32_t *cap, uint32_t need, size_t elem);

/* Grows an array of elem-sized records to hold at least need (need >= 1); the array may move.
 * Out of memory is fatal (sim__oom), so it cannot fail. Inline: most calls find room (every
 * timer armed and every handle made asks). */
static inline void sim__grow(void **array, uint32_t *cap, uint32_t need, size_t elem)
{
    SIM_ASSERT(array != NULL && need > 0 && elem > 0);
    if (need > *cap) sim__grow_slow(array, cap, need, elem);
}

#ifdef SIM_SLOW_CHECKS
/* Moves the first cap records of *array to a fresh block and frees the old one, when the
 * table is small enough to copy on every allocation (larger tables move only when they grow).
 * Which block holds a table never matters to the simulation. */
void sim__table_shake(void **array, uint32_t cap, size_t elem);
#else
static inline void sim__table_shake(void **array, uint32_t cap, size_t elem)
{
    (void)array;
    (void)cap;
    (void)elem;
}
#endif

/* Writes a message into err (when err is not NULL and size > 0) and returns SIM_EINVAL: the
 * way input errors are reported. */
int sim__einval(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats virtual time as seconds with microseconds, "12.345678s", into buf. */
void sim__fmt_time(uint64_t ns, char *buf, size_t size);

/* A decimal number without sign, spaces or leading '+': "42". false on anything else or on
 * overflow. */
bool sim__parse_u64(const char *text, uint64_t *out);
/* "250ms" -> 250000000. Units ns, us, ms, s, m, h. SIM_EINVAL on anything else;
 * SIM_ELIMIT for a well-formed duration longer than SIM_DURATION_MAX (virtual time: what
 * scenarios and sim demo read). */
int sim__parse_duration(const char *text, uint64_t *out_ns);
/* The same syntax for host time (sim check --timeout, sim run --time-budget): any length,
 * saturating at UINT64_MAX ns ("never") instead of being refused. */
int sim__parse_host_duration(const char *text, uint64_t *out_ns);
/* "87600h": SIM_DURATION_MAX as a scenario file writes it, for messages. */
#define SIM__DURATION_MAX_TEXT "87600h"
/* The shortest exact form: 1500000000 -> "1500ms", 2000000000 -> "2s". */
void sim__format_duration(uint64_t ns, char *buf, size_t size);
/* For people, to a tenth of the largest unit: 18930641 -> "18.9ms", 1500000000 -> "1.5s". */
void sim__format_span(uint64_t ns, char *buf, size_t size);
/* "2s" or "1s..10s" (low to high) -> [lo, hi], each at most SIM_DURATION_MAX; false on
 * anything else. */
bool sim__parse_duration_range(const char *text, uint64_t *lo, uint64_t *hi);
/* The inverse: "2s" when lo == hi, else "1s..10s". */
void sim__format_duration_range(uint64_t lo, uint64_t hi, char *buf, size_t size);
/* "0.25", "1/4" or a range "0.1..0.5" of probabilities -> [lo, hi] in parts per 10^9 (at
 * most 9 decimals); false on anything else or above 1. */
bool sim__parse_probability_range(const char *text, uint64_t *lo, uint64_t *hi);
/* The inverse, exact: "0.25", "0.1..0.5". */
void sim__format_probability_range(uint64_t lo, uint64_t hi, char *buf, size_t size);
/* The first control character in s (a C0 character other than tab, or DEL), or NULL; its
 * name for messages ("a newline", "a carriage return", "character 0x1b") goes to buf. Text
 * values are one line: a newline in one would become a line of its own in the canonical
 * scenario text a run records. */
const char *sim__text_control(const char *s, char *buf, size_t size);
/* Copies n strings into a malloc'd array of malloc'd ones (*out NULL when n is 0). */
void sim__strings_copy(const char *const *src, uint32_t n, char ***out, uint32_t *nout);

/* The world running on this thread, for assertion messages. Set by the run loop and by
 * sim_world_free; never used to make a decision. */
void sim__running_set(sim_world *w);
sim_world *sim__running_get(void);
/* How the layer that knows a world's insides describes it (seed, time, step, task, replay
 * hint) for assertion and out-of-memory messages: the executor registers it when it makes a
 * world, so that core never calls up into it. */
typedef void (*sim__context_fn)(const sim_world *w, char *buf, size_t size);
void sim__context_register(sim__context_fn fn);
/* The running world's context into buf ("" when no world runs on this thread). */
void sim__context_write(char *buf, size_t size);
/* Called by sim_assert_fail, after it has printed, with the failed expression, its place and
 * the running world's context (sim__context_write), just before it aborts: sim run's worker
 * processes send it to the process that records the run, so that the seed's detail keeps it.
 * NULL (the default): none. Diagnostic only, like the running world. */
typedef void (*sim__assert_hook_fn)(const char *expr, const char *file, int line,
                                    const char *context);
void sim__assert_hook_set(sim__assert_hook_fn fn);

/* An exponentially distributed draw with this mean, cut at cap_times the mean, by integer
 * arithmetic only (a fixed-point -ln of a uniform draw). */
uint64_t sim__rng_exponential(sim_rng *rng, uint64_t mean, uint64_t cap_times);

/* The host's monotonic clock in ns (host.c): wall time for reports, never a simulation
 * input. */
uint64_t sim__host_now_ns(void);

/* ---- captured events (evbuf.c): a run's events in memory, for recording and replay ---- */

typedef struct sim__ev {
    uint64_t step;
    uint64_t vtime_ns;
    uint64_t a;
    uint64_t b;
    uint32_t node;
    uint32_t task;
    uint32_t kind;
    uint32_t detail;   /* offset in the text arena, or UINT32_MAX for none */
} sim__ev;

typedef struct sim__evbuf {
    sim__ev *ev;
    uint64_t n;
    uint64_t cap;
    char *text;        /* NUL-terminated details, back to back */
    size_t text_len;
    size_t text_cap;
} sim__evbuf;

/* SIM_OK, or SIM_ELIMIT past 4 GiB of details. */
int sim__evbuf_push(sim__evbuf *b, const sim_event *e);
/* Appends an event given field by field (events read back from a database). */
int sim__evbuf_add(sim__evbuf *b, const sim__ev *e, const char *detail);
const char *sim__evbuf_detail(const sim__evbuf *b, uint64_t i);
void sim__evbuf_free(sim__evbuf *b);
/* Empties b and keeps its memory (a recorder that writes its events out in batches). */
void sim__evbuf_clear(sim__evbuf *b);
/* As a sim_event, for sim_event_describe. */
sim_event sim__evbuf_event(const sim__evbuf *b, uint64_t i);

/* A violation as kept beside a run's outcome. */
typedef struct sim__violation_rec {
    uint64_t step;
    uint64_t vtime_ns;
    uint32_t task;
    sim_violation_kind kind;
    char *message;
} sim__violation_rec;

/* A 32-bit mixer (the murmur3 finaliser, a bijection): spreads serials into handle ids. */
static inline uint32_t sim__mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

/* a + b, or UINT64_MAX when the sum does not fit: how a deadline is made from a time and a
 * duration, so that "later than anything" never wraps around to "already past". */
static inline uint64_t sim__add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif /* SIM_CORE_H */
