/*
 * wgl.c: is one key's history linearizable? Wing & Gong's search with Lowe's memo, as
 * Porcupine does it (docs/checking.md, ../shared/reference/sut-semantics.md section D).
 *
 * The history is a doubly linked list of call and return nodes in the order they happened.
 * Walking it from the front, a call whose operation the model accepts in the current state is
 * linearized: it and its return are unlinked, the state advances, and the walk starts again
 * from the front. Reaching a return means its operation had to take effect by then and could
 * not: undo the last linearization and try the next call after it. Every (linearized set,
 * state) reached is remembered; reaching one again is a dead end already explored, which is
 * what makes the search fast.
 *
 * Info operations have no return node: they may take effect at any point after their call,
 * or never, so the search succeeds once every operation with a return is linearized.
 *
 * A configuration is remembered as its linearized set and state. The set is kept as a bitset
 * whose full words at the front and empty words at the back are not stored (a search mostly
 * linearizes in order, so a set is a few words wide wherever it is in the history), and is
 * hashed by Zobrist's method: the XOR of one fixed random word per operation, updated as bits
 * change.
 *
 * An info operation doubles the work of a search that must try everything (when no order
 * exists): once it has taken effect and a write has erased its effect unseen, the search
 * goes on twice, with and without it. The prune search skips the configurations with it
 * (they are no better than those without, which it also reaches), but it finds an order late
 * when one exists. So the auto search starts as Porcupine's and, when it backs up far below
 * the longest prefix it found, as searches that find no order do, suspends itself and runs
 * the prune search, within a budget; past the budget it resumes where it left off.
 */
#include <xxhash.h>

#include "check.h"

#define CHECK_EVERY 4096u
#define FORCED 0x80000000u /* on a stack entry: a pure operation, placed without a choice */
/* The auto search suspends itself when it backs up this many operations below its longest
 * prefix (the searches of the benchmark's linearizable keys back up fewer than 50, three of
 * ten 20 or more), and then gives the prune search this many configurations per operation
 * of the key. */
#define DEEP 50u
#define PRUNE_BUDGET_PER_OP 2048u

/* What run returns besides SIM_OK and SIM_ELIMIT (the model's values outgrew the value
 * table): suspended for the prune search, past the prune search's budget, or paused at the
 * key's bound on steps or bytes (out->why says which), to be resumed exactly there. */
enum { RUN_SUSPENDED = 1, RUN_OVER_BUDGET = 2, RUN_PAUSED = 3 };
/* What try_call returns when the model's value table may not grow (its share of memory). */
#define TRY_OVER 3

/* ---- the list of calls and returns ---------------------------------------------------------- */

typedef struct list {
    uint32_t *next, *prev;   /* node 0 is the head; the list is circular */
    uint32_t *op;            /* the node's operation */
    uint32_t *match;         /* a call's return node; 0 for a return or an info call */
    bool *call;
    uint32_t nodes;
} list;

typedef struct event {
    uint32_t at;             /* entry index in the history */
    uint32_t op;
    bool call;
} event;

static int by_entry(const void *a, const void *b)
{
    uint32_t x = ((const event *)a)->at, y = ((const event *)b)->at;
    return (x > y) - (x < y);
}

static void list_build(list *l, const sim__part *p)
{
    uint32_t m = p->n + p->nok;
    event *ev = sim__xcalloc(m, sizeof *ev, "a search's history list");
    l->nodes = m + 1;
    l->next = sim__xcalloc(l->nodes, sizeof *l->next, "a search's history list");
    l->prev = sim__xcalloc(l->nodes, sizeof *l->prev, "a search's history list");
    l->op = sim__xcalloc(l->nodes, sizeof *l->op, "a search's history list");
    l->match = sim__xcalloc(l->nodes, sizeof *l->match, "a search's history list");
    l->call = sim__xcalloc(l->nodes, sizeof *l->call, "a search's history list");
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        ev[k++] = (event){p->call_at[i], i, true};
        if (p->ret_at[i] != SIM__NIL) ev[k++] = (event){p->ret_at[i], i, false};
    }
    qsort(ev, m, sizeof *ev, by_entry);
    /* Node of each operation's call, to point it at its return. */
    uint32_t *call_node = sim__xcalloc(p->n, sizeof *call_node, "a search's history list");
    for (uint32_t i = 0; i < m; i++) {
        uint32_t node = i + 1;
        l->op[node] = ev[i].op;
        l->call[node] = ev[i].call;
        if (ev[i].call) {
            call_node[ev[i].op] = node;
        } else {
            l->match[call_node[ev[i].op]] = node;
        }
        l->prev[node] = i;
        l->next[node] = (node + 1) % l->nodes;
    }
    l->next[0] = m ? 1 : 0;
    l->prev[0] = m;
    free(call_node);
    free(ev);
}

static void list_release(list *l)
{
    free(l->next);
    free(l->prev);
    free(l->op);
    free(l->match);
    free(l->call);
}

static void unlink_node(list *l, uint32_t x)
{
    l->next[l->prev[x]] = l->next[x];
    l->prev[l->next[x]] = l->prev[x];
}

static void relink_node(list *l, uint32_t x)
{
    l->next[l->prev[x]] = x;
    l->prev[l->next[x]] = x;
}

/* A call and its return leave the list together, and come back in the reverse order. */
static void lift(list *l, uint32_t call)
{
    unlink_node(l, call);
    if (l->match[call]) unlink_node(l, l->match[call]);
}

static void unlift(list *l, uint32_t call)
{
    if (l->match[call]) relink_node(l, l->match[call]);
    relink_node(l, call);
}

/* ---- the linearized set --------------------------------------------------------------------- */

typedef struct bits {
    uint64_t *w;
    uint32_t words;
    uint32_t lo;             /* words below lo are all ones */
    uint32_t hi;             /* words from hi on are all zeros */
    uint64_t *zob;           /* per operation, its Zobrist word */
    uint64_t hash;           /* XOR of zob over the set */
} bits;

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void bits_init(bits *b, uint32_t n)
{
    b->words = (n + 63) / 64;
    b->w = sim__xcalloc(b->words, sizeof *b->w, "a search's linearized set");
    b->zob = sim__xcalloc(n, sizeof *b->zob, "a search's linearized set");
    for (uint32_t i = 0; i < n; i++) b->zob[i] = splitmix(i);
    b->lo = b->hi = 0;
    b->hash = 0;
}

static void bits_set(bits *b, uint32_t i)
{
    uint32_t wi = i / 64;
    b->w[wi] |= 1ull << (i % 64);
    b->hash ^= b->zob[i];
    if (wi >= b->hi) b->hi = wi + 1;
    while (b->lo < b->hi && b->w[b->lo] == UINT64_MAX) b->lo++;
}

static bool bits_has(const bits *b, uint32_t i)
{
    return (b->w[i / 64] >> (i % 64)) & 1u;
}

static void bits_clear(bits *b, uint32_t i)
{
    uint32_t wi = i / 64;
    b->w[wi] &= ~(1ull << (i % 64));
    b->hash ^= b->zob[i];
    if (wi < b->lo) b->lo = wi;
    while (b->hi > b->lo && b->w[b->hi - 1] == 0) b->hi--;
}

/* ---- states ------------------------------------------------------------------------------- */

/* A state's bytes copied and compared: with a constant size for the common small states (a
 * register's and kv's are 4 and 8 bytes), so the compiler does it in a move, not a call to
 * the library (6% of the time on the 50-client append history). */
static void state_copy(void *dst, const void *src, size_t n)
{
    if (n == 8) {
        memcpy(dst, src, 8);
    } else if (n == 4) {
        memcpy(dst, src, 4);
    } else {
        memcpy(dst, src, n);
    }
}

static bool state_same(const void *a, const void *b, size_t n)
{
    if (n == 8 || n == 4) {
        uint64_t x = 0, y = 0;
        memcpy(&x, a, n == 8 ? 8 : 4);
        memcpy(&y, b, n == 8 ? 8 : 4);
        return x == y;
    }
    return memcmp(a, b, n) == 0;
}

/* ---- the memo of configurations ------------------------------------------------------------- */

/* A slot keeps the top bits of its configuration's hash, so that a probe passes over other
 * configurations without reading them from the arena (a cache miss each). */
/* The first arena: small, so that a small search touches little. */
#define MEMO_FIRST_WORDS (1u << 12)
#define TAG_SHIFT 36
#define OFFSET_MASK ((1ull << TAG_SHIFT) - 1)

static uint64_t slot_of(uint64_t h, uint64_t offset)
{
    return (h >> TAG_SHIFT) << TAG_SHIFT | (offset + 1);
}

/* A configuration in the arena: its hash, lo, hi - lo, then the words lo..hi, then the state
 * in whole words. */
typedef struct memo {
    uint64_t *arena;
    size_t used, cap;        /* in words */
    uint64_t *slot;          /* open addressing: TAG_BITS of the hash over arena offset + 1;
                                0 empty */
    uint64_t nslots, count;
    uint32_t bits;           /* nslots is 2^bits */
    uint32_t state_words;
    uint32_t state_size;
    bool (*equal)(const void *, const void *);
    uint64_t *held;          /* the key's bytes allocated: the memo's growth is added */
} memo;

static bool memo_same(const memo *mm, const uint64_t *rec, uint64_t h, const bits *b,
                      const void *state)
{
    if (rec[0] != h || (uint32_t)rec[1] != b->lo || (uint32_t)(rec[1] >> 32) != b->hi - b->lo) {
        return false;
    }
    uint32_t nw = b->hi - b->lo;
    if (nw && memcmp(rec + 2, b->w + b->lo, nw * sizeof *rec) != 0) return false;
    const void *st = rec + 2 + nw;
    return mm->equal ? mm->equal(st, state) : state_same(st, state, mm->state_size);
}

/* A configuration's slot is found from the top bits of its hash, so that the slots hold the
 * configurations in the order of their hashes, and growing the table reads the top bits from
 * the slots' tags: a pass over the old slots and the new, not a read of every record in the
 * arena (a cache miss each, and the most of the memo's cost in time on a search that stops
 * early). Past TAG_BITS bits of position (tables over 2^28 slots) the records give them. */
#define TAG_BITS (64 - TAG_SHIFT)

static uint64_t slot_home(const memo *mm, uint64_t h)
{
    return h >> (64 - mm->bits);
}

/* The bytes a slot table of n slots takes: the table is as sparse as its load says (a probe
 * misses the cache less in a small one), in a mapping as sim__table_bytes rounds it. */
static uint64_t slots_bytes(uint64_t n)
{
    return n ? sim__table_bytes(n * sizeof(uint64_t)) : 0;
}

/* The next arena's words, to hold at least need. */
static size_t memo_next_cap(const memo *mm, size_t need)
{
    size_t cap = mm->cap ? mm->cap * 2 : MEMO_FIRST_WORDS;
    while (cap < need) cap *= 2;
    return sim__table_bytes(cap * sizeof *mm->arena) / sizeof *mm->arena;
}

static void memo_grow(memo *mm)
{
    uint32_t nb = mm->nslots ? mm->bits + 1 : 12;
    uint64_t n = 1ull << nb;
    uint64_t *slot = sim__host_map(slots_bytes(n));
    for (uint64_t i = 0; i < mm->nslots; i++) {
        uint64_t sl = mm->slot[i];
        if (sl == 0) continue;
        uint64_t h = nb <= TAG_BITS ? sl : mm->arena[(sl & OFFSET_MASK) - 1];
        uint64_t at = h >> (64 - nb);
        while (slot[at] != 0) at = (at + 1) & (n - 1);
        slot[at] = sl;
    }
    sim__host_unmap(mm->slot, slots_bytes(mm->nslots));
    *mm->held += slots_bytes(n) - slots_bytes(mm->nslots);
    mm->slot = slot;
    mm->nslots = n;
    mm->bits = nb;
}

/* The bytes one more insert may add at its peak (a grown slot table is built beside the old
 * one), for a record of at most words words; 0 when it fits as is. */
static uint64_t memo_growth(const memo *mm, uint32_t words)
{
    uint64_t add = 0;
    if ((mm->count + 1) * 2 > mm->nslots) {
        add += slots_bytes(mm->nslots ? mm->nslots * 2 : 1u << 12);
    }
    size_t need = 2 + (size_t)words + mm->state_words;
    if (mm->used + need > mm->cap) {
        add += (memo_next_cap(mm, mm->used + need) - mm->cap) * sizeof *mm->arena;
    }
    return add;
}

/* Remembers (b, state) with hash h: 1 if new, 0 if seen before. How much it may hold is the
 * search's deterministic limit (give_up); the host refusing memory before it is fatal. */
static int memo_insert(memo *mm, uint64_t h, const bits *b, const void *state)
{
    if ((mm->count + 1) * 2 > mm->nslots) memo_grow(mm);
    uint64_t mask = mm->nslots - 1, at = slot_home(mm, h);
    uint64_t tag = h >> TAG_SHIFT;
    for (uint64_t sl; (sl = mm->slot[at]) != 0; at = (at + 1) & mask) {
        if (sl >> TAG_SHIFT != tag) continue;
        if (memo_same(mm, mm->arena + (sl & OFFSET_MASK) - 1, h, b, state)) return 0;
    }
    uint32_t nw = b->hi - b->lo;
    size_t need = 2 + (size_t)nw + mm->state_words;
    if (mm->used + need > mm->cap) {
        size_t cap = memo_next_cap(mm, mm->used + need);
        mm->arena = sim__host_remap(mm->arena, mm->cap * sizeof *mm->arena,
                                    cap * sizeof *mm->arena);
        *mm->held += (cap - mm->cap) * sizeof *mm->arena;
        mm->cap = cap;
    }
    uint64_t *rec = mm->arena + mm->used;
    rec[0] = h;
    rec[1] = (uint64_t)b->lo | (uint64_t)nw << 32;
    if (nw) memcpy(rec + 2, b->w + b->lo, nw * sizeof *rec);
    rec[2 + nw + mm->state_words - 1] = 0; /* the state's last word may be partly unused */
    state_copy(rec + 2 + nw, state, mm->state_size);
    mm->slot[at] = slot_of(h, mm->used);
    mm->used += need;
    mm->count++;
    return 1;
}


/* ---- the cache of steps --------------------------------------------------------------------- */

/* The search asks the model the same question (this operation in this state) many times, from
 * configurations that differ only in what else is linearized. A model is pure, so the answers
 * are kept, in a direct-mapped table small enough to stay in the processor's cache: a miss
 * costs one step, as without it. */
#define CACHE_SLOTS 4096u

typedef struct cache {
    uint32_t *op;            /* operation + 1; 0: empty */
    bool *ok;
    uint64_t *next_hash;
    unsigned char *state, *next;
} cache;

static void cache_init(cache *c, uint32_t state_size)
{
    c->op = sim__xcalloc(CACHE_SLOTS, sizeof *c->op, "a search's step cache");
    c->ok = sim__xcalloc(CACHE_SLOTS, sizeof *c->ok, "a search's step cache");
    c->next_hash = sim__xcalloc(CACHE_SLOTS, sizeof *c->next_hash, "a search's step cache");
    c->state = sim__xcalloc(CACHE_SLOTS, state_size, "a search's step cache");
    c->next = sim__xcalloc(CACHE_SLOTS, state_size, "a search's step cache");
}

static void cache_release(cache *c)
{
    free(c->op);
    free(c->ok);
    free(c->next_hash);
    free(c->state);
    free(c->next);
}

/* ---- twins --------------------------------------------------------------------------------- */

/* In-doubt operations just like each other (sim_op.alike, the same code, f, key and input)
 * are twins: one may stand for another invoked later (it was invoked earlier, and nothing
 * waits for either to return), so a linearization that places the later and not the earlier
 * has one as good with the earlier instead, and one that places both has one with them in
 * either order. The search so places a twin only once the twin invoked just before it is
 * placed. Sorting finds them in O(n log n). */
static int by_twin(const void *a, const void *b)
{
    const sim_op *x = a, *y = b;
    if (x->code != y->code) return x->code < y->code ? -1 : 1;
    if (x->f != y->f) return x->f < y->f ? -1 : 1;
    if (x->input != y->input) return x->input < y->input ? -1 : 1;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static bool twins(const sim_op *x, const sim_op *y)
{
    return x->code == y->code && x->f == y->f && x->input == y->input && x->key == y->key;
}

/* For each operation of p, the twin invoked just before it, or SIM__NIL. */
static uint32_t *twins_find(const sim__part *p)
{
    uint32_t *prev = sim__xcalloc(p->n ? p->n : 1, sizeof *prev, "a search's twins");
    uint32_t *info = sim__xcalloc(p->n ? p->n : 1, sizeof *info, "a search's twins");
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        prev[i] = SIM__NIL;
        if (p->ret_at[i] == SIM__NIL && p->ops[i].alike) info[k++] = i;
    }
    /* Copies, each with its index in the part as its id, sorted by what makes twins and
     * then by that index. */
    sim_op *copy = sim__xcalloc(k ? k : 1, sizeof *copy, "a search's twins");
    for (uint32_t j = 0; j < k; j++) {
        copy[j] = p->ops[info[j]];
        copy[j].id = info[j]; /* the index in the part, for the order and the result */
    }
    qsort(copy, k, sizeof *copy, by_twin);
    for (uint32_t j = 1; j < k; j++) {
        if (twins(&copy[j - 1], &copy[j])) prev[copy[j].id] = copy[j - 1].id;
    }
    free(copy);
    free(info);
    return prev;
}

/* ---- the search ----------------------------------------------------------------------------- */

/* The state the search would be in had it not placed one info operation (the operation's
 * shadow), kept while every operation placed since also took effect there. */
#define SHADOWS 4

typedef struct shadow {
    uint64_t hash;
    _Alignas(max_align_t) unsigned char st[SIM_MODEL_STATE_MAX];
} shadow;

typedef struct search {
    const sim_model *m;
    sim_check_ctx *c;
    const sim__part *p;
    list l;
    bits b;
    memo mm;
    uint32_t *stack;         /* the call node of each linearized operation, in order, and
                                FORCED for a pure one */
    unsigned char *states;   /* the state before each of them */
    _Alignas(max_align_t) unsigned char cur[SIM_MODEL_STATE_MAX];
    _Alignas(max_align_t) unsigned char next[SIM_MODEL_STATE_MAX];
    uint64_t cur_hash;       /* of the state's bytes (or the model's hash) */
    uint64_t next_hash;
    uint64_t *hashes;        /* cur_hash before each linearized operation */
    cache sc;
    uint32_t depth, nok_done;
    uint32_t best_valid;     /* out->best[0..best_valid) is still stack's prefix */
    sim__search *out;
    bool prune;              /* skip configurations with an info operation erased unseen */
    uint32_t deep;           /* backing up this far below the longest prefix suspends the
                                search; 0: never */
    uint64_t budget;         /* configurations past which the search stops */
    uint64_t *steps;         /* steps taken by this key's searches (the first one's out) */
    uint64_t max_steps;      /* at which the search pauses (sim__limits) */
    uint64_t *held;          /* the key's bytes allocated (sim__wgl_bytes less the values) */
    uint64_t max_bytes;      /* what the key's bytes may reach, values included: the search
                                pauses before an insert would pass it */
    bool suspended;
    uint32_t at;             /* where the walk goes on after a suspension */
    uint32_t *twin;          /* per operation, the twin it waits for (twins_find) */
    shadow sh[SHADOWS];      /* of the info operations placed, with prune */
    uint32_t nsh;
    uint64_t fixed;          /* bytes of the arrays below and above, counted in *held */
    unsigned char *saved_sh; /* sh before each linearized operation (shadows_save) */
    uint8_t *saved_nsh;
} search;

static uint64_t state_hash(const search *s, const void *state)
{
    return s->m->hash ? s->m->hash(state) : XXH3_64bits(state, s->m->state_size);
}

/* Can op take effect in state (whose hash is hash)? If so next and *next_hash are the state
 * after it. */
static bool step_from(search *s, const void *state, uint64_t hash, uint32_t opi, void *next,
                      uint64_t *next_hash)
{
    size_t ss = s->m->state_size;
    cache *c = &s->sc;
    uint32_t at = (uint32_t)splitmix(hash + opi) & (CACHE_SLOTS - 1);
    if (c->op[at] == opi + 1 && state_same(c->state + at * ss, state, ss)) {
        state_copy(next, c->next + at * ss, ss);
        *next_hash = c->next_hash[at];
        return c->ok[at];
    }
    memset(next, 0, ss);
    bool ok = s->m->step(s->c, state, &s->p->ops[opi], next);
    if (s->c->full || s->c->vals.over) return false; /* not an answer: not cached */
    *next_hash = ok ? state_hash(s, next) : 0;
    c->op[at] = opi + 1;
    c->ok[at] = ok;
    c->next_hash[at] = *next_hash;
    state_copy(c->state + at * ss, state, ss);
    state_copy(c->next + at * ss, next, ss);
    return ok;
}

/* The same for the current state, into s->next and s->next_hash. */
static bool step(search *s, uint32_t opi)
{
    return step_from(s, s->cur, s->cur_hash, opi, s->next, &s->next_hash);
}

static bool same_state(const search *s, const void *a, uint64_t ah, const void *b, uint64_t bh)
{
    if (ah != bh) return false;
    return s->m->equal ? s->m->equal(a, b) : state_same(a, b, s->m->state_size);
}

/* The shadows once the operation at call node x has taken the search from s->cur to s->next,
 * into out (*nout of them); false when one shows the new configuration need not be searched.
 *
 * Say info operation i was placed, and every operation placed since took effect in i's shadow
 * too. If the shadow and the state are now equal, i's effect was erased before anything saw
 * it, and the configuration is no better than the one without i: the same state, with i still
 * free to take effect later or never. The search reaches that one by not placing i. A
 * linearization that places the fewest info operations passes through no configuration
 * skipped, so nothing is lost. An operation that cannot take effect in a shadow has seen i's
 * effect: that shadow is dropped. */
static bool shadows_after(search *s, uint32_t x, shadow *out, uint32_t *nout)
{
    uint32_t opi = s->l.op[x], k = 0;
    for (uint32_t j = 0; j < s->nsh; j++) {
        shadow *o = &out[k];
        if (!step_from(s, s->sh[j].st, s->sh[j].hash, opi, o->st, &o->hash)) continue;
        if (same_state(s, o->st, o->hash, s->next, s->next_hash)) return false;
        k++;
    }
    if (s->l.match[x] == 0 && k < SHADOWS) {
        out[k].hash = s->cur_hash;
        memcpy(out[k].st, s->cur, s->m->state_size);
        k++;
    }
    *nout = k;
    return true;
}

static void note_best(search *s)
{
    sim__search *o = s->out;
    if (s->depth <= o->nbest) return;
    for (uint32_t i = s->best_valid; i < s->depth; i++) {
        o->best[i] = s->l.op[s->stack[i] & ~FORCED];
    }
    o->nbest = s->best_valid = s->depth;
    memcpy(o->best_state, s->cur, s->m->state_size);
}

/* Saved shadows take a hash and the state's bytes each, SHADOWS of them per depth. */
static size_t shadow_bytes(const search *s)
{
    return sizeof(uint64_t) + s->m->state_size;
}

/* Keeps the shadows as they are before the operation at s->depth. */
static void shadows_save(search *s)
{
    s->saved_nsh[s->depth] = (uint8_t)s->nsh;
    unsigned char *at = s->saved_sh + (size_t)s->depth * SHADOWS * shadow_bytes(s);
    for (uint32_t j = 0; j < s->nsh; j++, at += shadow_bytes(s)) {
        memcpy(at, &s->sh[j].hash, sizeof s->sh[j].hash);
        memcpy(at + sizeof s->sh[j].hash, s->sh[j].st, s->m->state_size);
    }
}

/* Brings them back once that operation is undone. */
static void shadows_load(search *s)
{
    s->nsh = s->saved_nsh[s->depth];
    const unsigned char *at = s->saved_sh + (size_t)s->depth * SHADOWS * shadow_bytes(s);
    for (uint32_t j = 0; j < s->nsh; j++, at += shadow_bytes(s)) {
        memcpy(&s->sh[j].hash, at, sizeof s->sh[j].hash);
        memcpy(s->sh[j].st, at + sizeof s->sh[j].hash, s->m->state_size);
    }
}

/* Tries to linearize the call at node x: 1 done; 0 not possible, or seen before; 2 a pure
 * operation seen before (this configuration is a dead end: see run); TRY_OVER when the
 * model's values may not grow (nothing changed: the same call can be tried again);
 * SIM_ELIMIT when they outgrew the value table. */
static int try_call(search *s, uint32_t x)
{
    uint32_t opi = s->l.op[x];
    const sim_op *op = &s->p->ops[opi];
    if (s->twin[opi] != SIM__NIL && !bits_has(&s->b, s->twin[opi])) return 0;
    bool ok = step(s, opi);
    if (s->c->vals.over) return TRY_OVER;
    if (s->c->full) return SIM_ELIMIT;
    if (!ok) return 0;
    /* An info operation that changes nothing here need not happen here: the configuration
     * without it has the same state and one fewer operation to place, and is the one being
     * searched. */
    if (s->l.match[x] == 0 && same_state(s, s->next, s->next_hash, s->cur, s->cur_hash)) {
        return 0;
    }
    shadow sh[SHADOWS];
    uint32_t nsh = 0;
    if (s->prune && (s->nsh != 0 || s->l.match[x] == 0) && !shadows_after(s, x, sh, &nsh)) {
        return s->c->vals.over ? TRY_OVER : s->c->full ? SIM_ELIMIT : 0;
    }
    if (s->c->vals.over) return TRY_OVER;
    if (s->c->full) return SIM_ELIMIT;
    bits_set(&s->b, opi);
    int fresh = memo_insert(&s->mm, s->b.hash ^ splitmix(s->next_hash), &s->b, s->next);
    if (fresh != 1) {
        bits_clear(&s->b, opi);
        return fresh == 0 && op->pure ? 2 : fresh;
    }
    size_t ss = s->m->state_size;
    s->stack[s->depth] = x | (op->pure ? FORCED : 0);
    s->hashes[s->depth] = s->cur_hash;
    state_copy(s->states + (size_t)s->depth * ss, s->cur, ss);
    state_copy(s->cur, s->next, ss);
    s->cur_hash = s->next_hash;
    if (s->prune) {
        shadows_save(s);
        if (nsh) memcpy(s->sh, sh, nsh * sizeof *sh);
        s->nsh = nsh;
    }
    s->depth++;
    if (s->l.match[x]) s->nok_done++;
    lift(&s->l, x);
    note_best(s);
    return 1;
}

/* Undoes the last linearization; returns the call node it undid, and whether it was forced. */
static uint32_t undo(search *s, bool *forced)
{
    size_t ss = s->m->state_size;
    uint32_t x = s->stack[--s->depth] & ~FORCED;
    *forced = (s->stack[s->depth] & FORCED) != 0;
    s->cur_hash = s->hashes[s->depth];
    state_copy(s->cur, s->states + (size_t)s->depth * ss, ss);
    if (s->prune) shadows_load(s);
    bits_clear(&s->b, s->l.op[x]);
    if (s->l.match[x]) s->nok_done--;
    unlift(&s->l, x);
    if (s->best_valid > s->depth) s->best_valid = s->depth;
    return x;
}

static sim__why give_up(const search *s, const sim__limits *lim)
{
    if (lim->stop != NULL && atomic_load_explicit(lim->stop, memory_order_relaxed) < lim->self) {
        return SIM__WHY_STOPPED;
    }
    if (s->mm.count >= lim->max_configs) return SIM__WHY_CONFIGS;
    if (lim->deadline_ns != 0 && sim__host_now_ns() >= lim->deadline_ns) return SIM__WHY_TIMEOUT;
    return SIM__WHY_NONE;
}

/* The walk tries, at each configuration, every call before the first return, in the order of
 * the calls, as Porcupine does, with one exception. Each try (and each return reached) is a
 * step: the step bound is checked before every one, so that a search needing n steps
 * finishes under any bound of n or more, whatever the bound, which is what makes a bound
 * shared by several keys give the same verdict in any order (check.c, budget_in_order).
 * A pure operation (a read: it changes no
 * state) that can take effect now is placed now, without trying the others first or after:
 * if any order of the rest works, one with the read moved here does too (nothing it must
 * follow is still pending, it returned this state, and it changes nothing the others see).
 * So when the search comes back through a read, it backs up past it at once. */
static int pause(search *s, uint32_t x, sim__why why)
{
    SIM_ASSERT(why == SIM__WHY_STEPS || why == SIM__WHY_MEMORY);
    SIM_ASSERT(!s->suspended);
    s->suspended = true;
    s->at = x;
    s->out->why = why;
    s->out->verdict = SIM_CHECK_UNKNOWN;
    return RUN_PAUSED;
}

/* Whether the next insert could take the key past its bytes: the memo's growth (the widest
 * record a set of this size can make) on top of what the key holds, values included. */
static bool over_bytes(search *s)
{
    uint64_t vals = sim__vtab_held(&s->c->vals);
    uint64_t need = *s->held + vals + memo_growth(&s->mm, s->b.words);
    /* The values may grow into what is left once the memo has had its growth. */
    s->c->vals.max_bytes = need < s->max_bytes ? s->max_bytes - need + vals : 1;
    return need > s->max_bytes;
}

static int run(search *s, const sim__limits *lim)
{
    uint32_t x = s->suspended ? s->at : s->l.next[0];
    s->suspended = false;
    uint64_t iter = 0;
    while (s->nok_done < s->p->nok) {
        /* Pauses come before the step, so that resuming takes it. */
        if (*s->steps >= s->max_steps) return pause(s, x, SIM__WHY_STEPS);
        if (over_bytes(s)) return pause(s, x, SIM__WHY_MEMORY);
        ++*s->steps;
        if (++iter % CHECK_EVERY == 0) {
            if ((s->out->why = give_up(s, lim)) != SIM__WHY_NONE) {
                s->out->verdict = SIM_CHECK_UNKNOWN;
                return SIM_OK;
            }
            if (s->mm.count >= s->budget) return RUN_OVER_BUDGET;
        }
        int rc = x != 0 && s->l.call[x] ? try_call(s, x) : 2;
        if (rc < 0) return rc;
        if (rc == TRY_OVER) {
            --*s->steps; /* not taken: taken again on resuming */
            return pause(s, x, SIM__WHY_MEMORY);
        }
        if (rc != 2) {
            x = rc == 1 ? s->l.next[0] : s->l.next[x];
            continue;
        }
        /* A return (or the end): its operation cannot wait any longer; or a dead end. */
        bool forced = true;
        while (forced) {
            if (s->depth == 0) {
                s->out->verdict = SIM_NOT_LINEARIZABLE;
                return SIM_OK;
            }
            x = s->l.next[undo(s, &forced)];
        }
        if (s->deep != 0 && s->depth + s->deep < s->out->nbest) {
            s->suspended = true;
            s->at = x;
            return RUN_SUSPENDED;
        }
    }
    s->out->verdict = SIM_LINEARIZABLE;
    return SIM_OK;
}

/* The bytes a search allocates before it remembers anything (what search_init takes). */
static uint64_t fixed_bytes(const sim_model *m, const sim__part *p, bool prune)
{
    uint64_t n = p->n ? p->n : 1, nodes = (uint64_t)p->n + p->nok + 1;
    uint64_t b = n * (sizeof(uint32_t) * 2 + m->state_size + sizeof(uint64_t)) +
                 nodes * (sizeof(uint32_t) * 4 + sizeof(bool)) +
                 (uint64_t)CACHE_SLOTS * (sizeof(uint32_t) + sizeof(bool) + sizeof(uint64_t) +
                                          2u * m->state_size) +
                 ((uint64_t)p->n + 63) / 64 * 8 + (uint64_t)p->n * 8;
    b += n * sizeof(uint32_t); /* twins */
    if (prune) b += n * SHADOWS * (sizeof(uint64_t) + m->state_size) + n;
    return b;
}

static void release(search *s)
{
    uint64_t memo_bytes = s->mm.cap * sizeof(uint64_t) + slots_bytes(s->mm.nslots);
    SIM_ASSERT(*s->held >= s->fixed + memo_bytes);
    *s->held -= s->fixed + memo_bytes;
    list_release(&s->l);
    free(s->b.w);
    free(s->b.zob);
    sim__host_unmap(s->mm.arena, s->mm.cap * sizeof *s->mm.arena);
    sim__host_unmap(s->mm.slot, slots_bytes(s->mm.nslots));
    free(s->stack);
    free(s->states);
    free(s->hashes);
    free(s->saved_sh);
    free(s->saved_nsh);
    free(s->twin);
    cache_release(&s->sc);
}

/* Sets up a search of p into out (out->best allocated); s is released with release. */
static void search_init(search *s, const sim_model *m, sim_check_ctx *c, const sim__part *p,
                        bool prune, sim__search *out, uint64_t *held)
{
    *out = (sim__search){.verdict = SIM_LINEARIZABLE};
    *s = (search){.m = m, .c = c, .p = p, .out = out, .prune = prune, .budget = UINT64_MAX,
                  .held = held, .fixed = fixed_bytes(m, p, prune)};
    *held += s->fixed;
    s->mm.held = held;
    s->mm.state_size = m->state_size;
    s->mm.state_words = (m->state_size + 7) / 8;
    s->mm.equal = m->equal;
    size_t n = p->n ? p->n : 1;
    s->stack = sim__xcalloc(n, sizeof *s->stack, "a search's stack");
    s->states = sim__xcalloc(n, m->state_size, "a search's stack");
    s->hashes = sim__xcalloc(n, sizeof *s->hashes, "a search's stack");
    out->best = sim__xcalloc(n, sizeof *out->best, "a search's best prefix");
    if (prune) {
        s->saved_sh = sim__xcalloc(n * SHADOWS, shadow_bytes(s), "a search's shadows");
        s->saved_nsh = sim__xcalloc(n, 1, "a search's shadows");
    }
    list_build(&s->l, p);
    s->twin = twins_find(p);
    cache_init(&s->sc, m->state_size);
    bits_init(&s->b, p->n);
    m->init(c, s->cur);
    s->cur_hash = state_hash(s, s->cur);
    memcpy(out->best_state, s->cur, m->state_size);
}

/* ---- a key's search, resumable ------------------------------------------------------------ */

/* The auto search is Porcupine's (a) until it suspends itself, then the prune search (b)
 * within its budget, then a again without suspending. Each pauses at the key's bounds and
 * resumes exactly where it paused, so a key searched in rounds (check.c) takes the same
 * steps as one searched at once. */
enum { PHASE_A, PHASE_B, PHASE_A2, PHASE_DONE };

struct sim__wgl {
    const sim_model *m;
    sim_check_ctx *c;
    const sim__part *p;
    search a, b;
    int phase;
    sim__search out;         /* the key's: verdict, steps of both searches, best prefix */
    sim__search ob;          /* b's own, while it lives */
    uint64_t configs_b;      /* configurations of a b search already released */
    uint64_t held;           /* bytes of a and b (arrays and memos); the values are c's */
};

uint64_t sim__wgl_fixed_bytes(const sim_model *m, const sim__part *p, sim_check_search kind)
{
    return fixed_bytes(m, p, kind == SIM_SEARCH_PRUNE) + sizeof(sim__wgl);
}

sim__wgl *sim__wgl_new(const sim_model *m, sim_check_ctx *c, const sim__part *p,
                       sim_check_search kind)
{
    sim__wgl *w = sim__xcalloc(1, sizeof *w, "a key's search");
    *w = (sim__wgl){.m = m, .c = c, .p = p, .phase = PHASE_A, .held = sizeof *w};
    search_init(&w->a, m, c, p, kind == SIM_SEARCH_PRUNE, &w->out, &w->held);
    w->a.deep = kind == SIM_SEARCH_AUTO ? DEEP : 0;
    w->a.steps = &w->out.steps;
    SIM_ASSERT(w->held == sim__wgl_fixed_bytes(m, p, kind));
    return w;
}

uint64_t sim__wgl_bytes(const sim__wgl *w)
{
    return w->held + sim__vtab_held(&w->c->vals);
}

const sim__search *sim__wgl_result(const sim__wgl *w)
{
    return &w->out;
}

/* b is done with: a goes on alone, never suspending again. */
static void drop_b(sim__wgl *w)
{
    w->configs_b += w->b.mm.count;
    release(&w->b);
    free(w->ob.best);
    w->ob.best = NULL;
    w->a.deep = 0;
    w->phase = PHASE_A2;
}

/* b decided: its verdict is the key's. Either prefix is one the model accepts; the report
 * shows the longer. */
static void take_b(sim__wgl *w)
{
    sim__search *o = &w->ob, *out = &w->out;
    out->verdict = o->verdict;
    out->why = o->why;
    if (o->nbest > out->nbest) {
        memcpy(out->best, o->best, o->nbest * sizeof *o->best);
        out->nbest = o->nbest;
        memcpy(out->best_state, o->best_state, w->m->state_size);
    }
    w->configs_b += w->b.mm.count;
    release(&w->b);
    free(o->best);
    o->best = NULL;
    w->phase = PHASE_DONE;
}

static void start_b(sim__wgl *w, const sim__limits *lim)
{
    /* No room for b's arrays: a goes on alone. */
    if (sim__wgl_bytes(w) + fixed_bytes(w->m, w->p, true) > lim->max_bytes) {
        w->a.deep = 0;
        w->phase = PHASE_A2;
        return;
    }
    search_init(&w->b, w->m, w->c, w->p, true, &w->ob, &w->held);
    w->b.budget = PRUNE_BUDGET_PER_OP * (uint64_t)w->p->n;
    w->b.max_steps = lim->max_steps;
    w->b.max_bytes = lim->max_bytes;
    w->b.steps = &w->out.steps; /* one count for the key, whichever search takes them */
    w->phase = PHASE_B;
}

int sim__wgl_run(sim__wgl *w, const sim__limits *lim)
{
    SIM_ASSERT(w->phase != PHASE_DONE);
    SIM_ASSERT(w->out.steps <= lim->max_steps);
    w->c->vals.over = false;
    w->out.verdict = SIM_CHECK_UNKNOWN;
    w->out.why = SIM__WHY_NONE;
    w->a.max_steps = w->b.max_steps = lim->max_steps;
    w->a.max_bytes = w->b.max_bytes = lim->max_bytes;
    int rc;
    for (;;) {
        if (w->phase != PHASE_B) {
            rc = run(&w->a, lim);
            if (rc == RUN_SUSPENDED) {
                start_b(w, lim);
                continue;
            }
            if (rc != RUN_PAUSED) w->phase = PHASE_DONE;
            break;
        }
        rc = run(&w->b, lim);
        /* Past its budget, or out of memory within it: a, which needed less so far, may yet
         * finish. */
        if (rc == RUN_OVER_BUDGET || (rc == RUN_PAUSED && w->ob.why == SIM__WHY_MEMORY) ||
            (rc == SIM_OK && w->ob.why == SIM__WHY_CONFIGS)) {
            drop_b(w);
            continue;
        }
        if (rc == RUN_PAUSED) {
            w->out.verdict = SIM_CHECK_UNKNOWN;
            w->out.why = w->ob.why;
        } else if (rc == SIM_OK) {
            take_b(w);
        }
        break;
    }
    w->out.configs = w->a.mm.count + w->configs_b + (w->phase == PHASE_B ? w->b.mm.count : 0);
    SIM_ASSERT(w->out.steps <= lim->max_steps);
    /* A pause on steps is at the bound exactly; any other result is final. */
    if (rc == RUN_PAUSED && w->out.why == SIM__WHY_STEPS) {
        SIM_ASSERT(w->out.steps == lim->max_steps);
    }
    if (rc == RUN_PAUSED) return SIM_OK;
    if (rc == SIM_OK && w->out.verdict == SIM_CHECK_UNKNOWN) {
        SIM_ASSERT(w->out.why != SIM__WHY_NONE);
    }
    return rc;
}

void sim__wgl_take(sim__wgl *w, sim__search *out)
{
    *out = w->out;
    w->out.best = NULL;
    if (w->phase == PHASE_B) {
        release(&w->b);
        free(w->ob.best);
    }
    release(&w->a);
    SIM_ASSERT(w->held == sizeof *w);
    free(w);
}
