/*
 * check.h: the check module's internals (docs/checking.md): a table of interned values,
 * histories, the EDN reader and writer, and what the checker shares between its files.
 *
 * Values are interned: equal values have equal ids, so models compare ids, and the
 * checker's memo compares and hashes states as bytes. A table may have a parent whose ids it
 * extends (ids below `first` are the parent's): each key's search interns the strings its
 * model makes (kv's append) in a table of its own over the history's, which it only reads, so
 * keys can be checked in threads at once.
 *
 * A history is a list of entries in the order they happened; the entry's index is its time
 * for the checker (Porcupine's event order), and time_ns is only reported.
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stdatomic.h>

#include "../core/core.h"

/* A value without a key of its own: nil is id 0 of every root table. */
#define SIM__VAL_NIL 0u
/* The kind of a string made by sim__vtab_concat and kept as its two parts (x: the first's id
 * << 32 | the second's); a STRING to everyone outside value.c, which gives its content. */
#define SIM__VAL_PAIR 16u

typedef struct sim__val {
    uint32_t kind;           /* sim_value_kind */
    uint32_t len;            /* STRING, KEYWORD: bytes; VECTOR: items */
    uint64_t x;              /* INT, BOOL: the value's bits; STRING, KEYWORD: offset in bytes;
                                VECTOR: offset in items; PAIR: its parts */
    uint64_t hash;           /* of kind and content, for the index (a string's: of its
                                content alone, whether STRING or PAIR) */
} sim__val;

typedef struct sim__vtab {
    const struct sim__vtab *parent; /* ids below first are its; NULL for a root */
    uint32_t first;
    sim__val *v;             /* id first + i is v[i] */
    uint32_t n, cap;
    char *bytes;             /* string and keyword contents, back to back */
    size_t nbytes, bytes_cap;
    uint32_t *items;         /* vector items, back to back */
    size_t nitems, items_cap;
    uint32_t *index;         /* open addressing over v: i + 1, 0 = empty; a power of two */
    uint32_t index_cap;
    uint64_t held;           /* sim__vtab_held: what the arrays take, at their capacity */
    uint64_t max_bytes;      /* what sim__vtab_bytes may reach while growing (old and new
                                arrays both counted); 0: no limit */
    bool over;               /* an intern was refused for max_bytes (sim__vtab_* returned
                                SIM__NIL for it): raise the limit, clear it and ask again */
} sim__vtab;

/* A root table (with nil as id 0) when parent is NULL, else one that extends parent, which
 * must not change while t lives. */
void sim__vtab_init(sim__vtab *t, const sim__vtab *parent);
void sim__vtab_release(sim__vtab *t);
/* A deep copy of a root table (one without a parent) into dst. */
void sim__vtab_copy(sim__vtab *dst, const sim__vtab *src);
/* Interns a value; returns its id, or SIM__NIL past 2^31 values (or for a string over 2 GiB):
 * a limit, as out of host memory is fatal. */
uint32_t sim__vtab_int(sim__vtab *t, int64_t i);
uint32_t sim__vtab_bool(sim__vtab *t, bool b);
uint32_t sim__vtab_text(sim__vtab *t, sim_value_kind kind, const char *s, size_t len);
uint32_t sim__vtab_vec(sim__vtab *t, const uint32_t *items, uint32_t n);
/* The id of string a's content followed by string b's (STRING or PAIR ids), made as a PAIR
 * when no value has that content, so without reading or copying a or b; SIM__NIL past the
 * table's limits, as sim__vtab_text. */
uint32_t sim__vtab_concat(sim__vtab *t, uint32_t a, uint32_t b);
/* The content of string id (STRING or PAIR) into out, its length in bytes. */
void sim__vtab_content(const sim__vtab *t, uint32_t id, char *out);
/* The id of a string or keyword if the table (or a parent) has it, else SIM__NIL. */
uint32_t sim__vtab_find_text(const sim__vtab *t, sim_value_kind kind, const char *s, size_t len);
/* The bytes t has allocated (its own arrays, at their capacity; not its parent's). */
uint64_t sim__vtab_held(const sim__vtab *t);
/* Every id below sim__vtab_end(t) is valid. */
uint32_t sim__vtab_end(const sim__vtab *t);
const sim__val *sim__vtab_at(const sim__vtab *t, uint32_t id);
/* The contents of a STRING or KEYWORD (len bytes; not a PAIR: sim__vtab_content) and the
 * items of a VECTOR. */
const char *sim__vtab_bytes(const sim__vtab *t, uint32_t id);
const uint32_t *sim__vtab_items(const sim__vtab *t, uint32_t id);

/* ---- EDN (edn.c) ---------------------------------------------------------------------------- */

/* Writes value id as EDN text (nil, true, -3, "a\"b", :k, [1 "x"]) into buf; returns the
 * length it needs, as snprintf. Strings are escaped so that the reader gives them back. */
size_t sim__edn_write(const sim__vtab *t, uint32_t id, char *buf, size_t size);
/* Reads exactly one EDN value (surrounding whitespace allowed) into t. SIM_EINVAL with a
 * message naming the column (1-based) of the problem, "col 4: ..."; SIM_ELIMIT past the
 * value table's 2^31 values (or for a string over 2 GiB). */
int sim__edn_parse_value(sim__vtab *t, const char *text, uint32_t *id, char *err,
                         size_t err_size);

/* ---- histories (history.c) ------------------------------------------------------------------ */

typedef struct sim__hentry {
    uint32_t process;
    uint8_t type;            /* sim_op_type */
    bool has_key;
    bool has_time;
    uint32_t f;              /* keyword id */
    uint32_t key;            /* value id; SIM__VAL_NIL without a key; a completion has its
                                invocation's (has_key says whether the entry named it) */
    uint32_t value;          /* value id */
    uint64_t time_ns;
    uint32_t line;
    uint32_t op;             /* the operation it invokes or completes: 0, 1, ... */
} sim__hentry;

struct sim_history {
    sim__vtab vals;
    sim__hentry *e;
    uint32_t n, cap;
    uint32_t nops;           /* invocations so far */
    uint32_t *op_invoke;     /* per operation: the index of its invocation */
    uint32_t *op_done;       /* per operation: the index of its completion, or SIM__NIL */
    uint32_t ops_cap;
    /* The operation pending per process: open addressing, process + 1 -> operation. */
    uint32_t *pend_proc;
    uint32_t *pend_op;
    uint32_t pend_cap, npend;
    uint64_t expect_ops;     /* a world's: the invocations its run is asked for
                                (sim_history_expect); 0: none declared */
};

/* Appends an entry whose f, key and value are ids of h->vals; sets e->op. SIM_EINVAL with a
 * message (without a location: the caller adds one) for a completion without a pending
 * invocation, an invocation while one is pending, a completion whose f or key differs from
 * its invocation's; SIM_ELIMIT past 2^31 entries. h is unchanged on error. */
int sim__history_push(sim_history *h, sim__hentry *e, char *err, size_t err_size);
/* Interns EDN text (NULL: nil) into h's values; on SIM_EINVAL the message says
 * "what 'text': problem". */
int sim__history_value(sim_history *h, const char *what, const char *text, uint32_t *id,
                       char *err, size_t err_size);
/* A function's name: a keyword's without the colon, "read" or "ns/read". */
bool sim__fname_ok(const char *f);
/* A deep copy. */
void sim__history_copy(const sim_history *h, sim_history **out);
/* The operations the world's history holds (invocations, every client's): what sim shrink
 * counts as a run's operations. 0 when nothing was recorded. */
uint32_t sim__world_ops(const sim_world *w);
/* "invoke", "ok", "fail", "info"; NULL for another number. */
const char *sim__op_type_name(uint32_t type);

/* ---- the checker (check.c, wgl.c, host_jobs.c) ------------------------------------------- */

/* What a model sees of the values: the history's table extended by the values this check
 * makes (one table per key, so keys can be searched in threads at once). */
/* Where sim_check_value puts the content of a string kept as a pair (SIM__VAL_PAIR). */
typedef struct sim__flat {
    char *s;
    size_t cap;
} sim__flat;

struct sim_check_ctx {
    sim__vtab vals;
    bool full;               /* sim_check_intern met the value table's limit (2^31 values, or
                                a string over 2 GiB): the search ends with SIM_ELIMIT (when
                                vals.over, the table only met its share of memory) */
    sim__flat *flat;         /* &flat_store (so that sim_check_value, given the context as
                                const, may write it); its bytes are freed with the context */
    sim__flat flat_store;
};

/* Sets up a context over parent's values (NULL: a root table), and frees one. */
void sim__ctx_init(sim_check_ctx *c, const sim__vtab *parent);
void sim__ctx_release(sim_check_ctx *c);

/* One key's operations (all of them for a model that is one object), in invocation order,
 * with where each was invoked and completed in the history (completed: SIM__NIL for an info
 * operation, which may take effect at any time after its invocation, or never). */
typedef struct sim__part {
    uint32_t key;            /* value id; nil without keys */
    sim_op *ops;
    uint32_t *call_at;
    uint32_t *ret_at;
    uint32_t n;
    uint32_t nok;            /* operations with a completion: each must be linearized */
} sim__part;

/* The bounds of one round of a key's search (check.c): its steps in all (exactly: a search
 * that needs n steps finishes with max_steps >= n, and pauses at max_steps otherwise), the
 * bytes it may hold in all, values included (it pauses before an insert would pass them);
 * configurations remembered and host time (0: never), past which it gives up; another key's
 * search finding an anomaly first (*stop below self, when stop is not NULL). */
typedef struct sim__limits {
    uint64_t deadline_ns;
    uint64_t max_configs;
    uint64_t max_bytes;
    uint64_t max_steps;      /* UINT64_MAX: no bound */
    const _Atomic uint32_t *stop;
    uint32_t self;
} sim__limits;

typedef enum sim__why {
    SIM__WHY_NONE,
    SIM__WHY_TIMEOUT,
    SIM__WHY_MEMORY,         /* paused at max_bytes; for the check, its --max-memory */
    SIM__WHY_STOPPED,
    SIM__WHY_STEPS,          /* paused at max_steps */
    SIM__WHY_CONFIGS,        /* gave up at max_configs */
} sim__why;

typedef struct sim__search {
    sim_verdict verdict;
    sim__why why;            /* for SIM_CHECK_UNKNOWN */
    uint64_t configs;        /* configurations remembered */
    uint64_t steps;          /* operations tried at a configuration, both searches of auto */
    /* The longest linearizable prefix found: operation indices into the part, in the order
     * they take effect, and the state after them. */
    uint32_t *best;
    uint32_t nbest;
    /* A model state, so aligned as malloc's blocks are. */
    _Alignas(max_align_t) unsigned char best_state[SIM_MODEL_STATE_MAX];
} sim__search;

/* One key's search, Wing & Gong's with Lowe's memo (wgl.c), run in rounds: each
 * sim__wgl_run goes on from where the last one paused, until a verdict or the round's bounds.
 * c's values must stay c's while it lives. */
typedef struct sim__wgl sim__wgl;

/* The bytes sim__wgl_new allocates (counted in sim__wgl_bytes). */
uint64_t sim__wgl_fixed_bytes(const sim_model *m, const sim__part *p, sim_check_search search);
sim__wgl *sim__wgl_new(const sim_model *m, sim_check_ctx *c, const sim__part *p,
                       sim_check_search search);
/* Searches on. SIM_OK with sim__wgl_result: linearizable or not (final), or unknown: paused
 * (SIM__WHY_STEPS, SIM__WHY_MEMORY: run again with higher bounds) or given up (the others,
 * final). SIM_ELIMIT when the model's values outgrew the value table (final). */
int sim__wgl_run(sim__wgl *w, const sim__limits *lim);
const sim__search *sim__wgl_result(const sim__wgl *w);
/* The bytes it holds now: its arrays, its memo and c's values. */
uint64_t sim__wgl_bytes(const sim__wgl *w);
/* Moves the result into out (out->best is malloc'd: free it) and frees w. */
void sim__wgl_take(sim__wgl *w, sim__search *out);

/* The bytes a table (a memo's, a value table's array) takes when it must hold at least
 * `bytes`: as many below SIM__TABLE_LARGE; from there whole SIM__TABLE_UNITs, the size of a
 * huge page, which the host maps at once (a 4 KiB page costs a trap of 10 to 20 us here when
 * first touched, a 2 MiB one about 150 us). The same on every host, so the memory counted is. */
#define SIM__TABLE_LARGE (64u << 10)
#define SIM__TABLE_UNIT (2u << 20)
size_t sim__table_bytes(size_t bytes);

/* Zeroed memory mapped for the memo, with huge pages where the kernel has them
 * (host_memory.c); never NULL (the host refusing is fatal). Growing keeps the contents;
 * unmapping takes the size last mapped. */
void *sim__host_map(size_t bytes);
void *sim__host_remap(void *p, size_t old_bytes, size_t bytes);
void sim__host_unmap(void *p, size_t bytes);

/* Calls run(arg, i) for every i below n, in up to jobs threads at once (host_jobs.c); with
 * one job, or when threads cannot start, in this thread in order. */
void sim__check_jobs(uint32_t n, uint32_t jobs, void (*run)(void *arg, uint32_t i), void *arg);

#endif /* SIM_CHECK_H */
