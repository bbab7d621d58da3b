/*
 * value.c: interned values (check.h). A value's id is its index; the index is an open
 * addressing table of ids hashed by kind and content (XXH3), grown at half full. Lookups go
 * to the parent first, which is only read, so tables over one parent can live in threads.
 *
 * Cost: one hash of the content per intern, nothing per lookup by id.
 */
#include <xxhash.h>

#include "check.h"

#define MAX_VALUES 0x7fffffffu

void sim__vtab_init(sim__vtab *t, const sim__vtab *parent)
{
    memset(t, 0, sizeof *t);
    t->parent = parent;
    t->first = parent != NULL ? sim__vtab_end(parent) : 0;
    if (parent != NULL) return;
    uint32_t nil = sim__vtab_text(t, SIM_VALUE_NIL, "", 0);
    SIM_ASSERT(nil == SIM__VAL_NIL); /* the first value of a root table */
}

/* ---- the arrays ---------------------------------------------------------------------------- */

size_t sim__table_bytes(size_t bytes)
{
    if (bytes < SIM__TABLE_LARGE) return bytes;
    return (bytes + SIM__TABLE_UNIT - 1) / SIM__TABLE_UNIT * SIM__TABLE_UNIT;
}

/* Arrays of SIM__TABLE_LARGE bytes and more are mapped (host_memory.c) rather than malloc'd,
 * in whole units of huge pages: a key's values on the 50-client append history grow to
 * megabytes, and malloc copied them at each doubling and faulted them in page by page. */
#define MAPPED_FROM SIM__TABLE_LARGE

/* The capacity of an array of elem-byte items grown to hold at least need (doubling from cap,
 * or from first): as many as sim__table_bytes gives room for. */
static size_t grown_cap(size_t cap, size_t first, size_t need, size_t elem)
{
    size_t c = cap ? cap * 2 : first;
    while (c < need) c *= 2;
    return sim__table_bytes(c * elem) / elem;
}

/* p (of old bytes, NULL for none) grown to bytes, its contents kept. A mapped array takes
 * the whole units sim__table_bytes gives (an array of 24-byte values falls a little short). */
static void *grow_array(void *p, size_t old, size_t bytes, const char *what)
{
    if (bytes < MAPPED_FROM) return sim__xrealloc(p, bytes, what);
    if (old >= MAPPED_FROM) {
        return sim__host_remap(p, sim__table_bytes(old), sim__table_bytes(bytes));
    }
    void *q = sim__host_map(sim__table_bytes(bytes));
    if (old > 0) memcpy(q, p, old);
    free(p);
    return q;
}

/* The bytes an index of cap slots takes. */
static size_t index_bytes(uint32_t cap)
{
    return cap ? sim__table_bytes((size_t)cap * sizeof(uint32_t)) : 0;
}

/* Zeroed bytes, as grow_array makes them: mapped when large. */
static void *zeroed_array(size_t bytes, const char *what)
{
    return bytes < MAPPED_FROM ? sim__xcalloc(1, bytes, what)
                               : sim__host_map(sim__table_bytes(bytes));
}

static void free_array(void *p, size_t bytes)
{
    if (bytes < MAPPED_FROM) {
        free(p);
    } else {
        sim__host_unmap(p, sim__table_bytes(bytes));
    }
}

void sim__vtab_release(sim__vtab *t)
{
    free_array(t->v, (size_t)t->cap * sizeof *t->v);
    free_array(t->bytes, t->bytes_cap);
    free_array(t->items, t->items_cap * sizeof *t->items);
    free_array(t->index, index_bytes(t->index_cap));
    memset(t, 0, sizeof *t);
}

/* An array of bytes, copied as grow_array would have made it. */
static void *copy_array(const void *p, size_t bytes)
{
    if (bytes == 0 || p == NULL) return NULL;
    void *q = zeroed_array(bytes, "a copy of a history's values");
    memcpy(q, p, bytes);
    return q;
}

void sim__vtab_copy(sim__vtab *dst, const sim__vtab *src)
{
    *dst = *src;
    dst->v = copy_array(src->v, (size_t)src->cap * sizeof *src->v);
    dst->bytes = copy_array(src->bytes, src->bytes_cap);
    dst->items = copy_array(src->items, src->items_cap * sizeof *src->items);
    dst->index = copy_array(src->index, index_bytes(src->index_cap));
}

uint32_t sim__vtab_end(const sim__vtab *t)
{
    return t->first + t->n;
}

const sim__val *sim__vtab_at(const sim__vtab *t, uint32_t id)
{
    while (id < t->first) t = t->parent;
    SIM_ASSERT(id - t->first < t->n);
    return &t->v[id - t->first];
}

const char *sim__vtab_bytes(const sim__vtab *t, uint32_t id)
{
    while (id < t->first) t = t->parent;
    const sim__val *v = &t->v[id - t->first];
    SIM_ASSERT(v->kind == SIM_VALUE_STRING || v->kind == SIM_VALUE_KEYWORD);
    return t->bytes != NULL ? t->bytes + v->x : ""; /* "" or []: nothing stored yet */
}

const uint32_t *sim__vtab_items(const sim__vtab *t, uint32_t id)
{
    while (id < t->first) t = t->parent;
    const sim__val *v = &t->v[id - t->first];
    SIM_ASSERT(v->kind == SIM_VALUE_VECTOR);
    static const uint32_t none[1] = {0};
    return t->items != NULL ? t->items + v->x : none;
}

/* ---- hashing and lookup --------------------------------------------------------------------- */

/* What a value is made of, before it has an id. */
typedef struct shape {
    uint32_t kind;
    uint32_t len;
    uint64_t bits;           /* INT, BOOL */
    const void *data;        /* STRING, KEYWORD: bytes; VECTOR: ids */
} shape;

/* A string's hash is polynomial in its bytes, so that the hash of a concatenation comes from
 * its parts' (concat_hash): sum of (byte + 1) * B^(bytes after it), modulo 2^64. It spreads
 * poorly in its low bits and collides on purpose-made inputs, which costs only a comparison:
 * the index places values by home() of it, and equal hashes are always confirmed. */
#define POLY_B 0x9e3779b97f4a7c15ull

static uint64_t poly_hash(const char *s, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) h = h * POLY_B + (uint64_t)(unsigned char)s[i] + 1;
    return h;
}

static uint64_t poly_pow(uint64_t n)
{
    uint64_t r = 1, b = POLY_B;
    for (; n != 0; n >>= 1, b *= b) {
        if (n & 1) r *= b;
    }
    return r;
}

/* The hash of a's content followed by b's. */
static uint64_t concat_hash(uint64_t ha, uint64_t hb, uint32_t lb)
{
    return ha * poly_pow(lb) + hb;
}

static uint64_t shape_hash(const shape *s)
{
    if (s->kind == SIM_VALUE_STRING) return poly_hash(s->data, s->data != NULL ? s->len : 0);
    size_t size = s->kind == SIM_VALUE_VECTOR ? (size_t)s->len * sizeof(uint32_t) : s->len;
    uint64_t seed = (uint64_t)s->kind << 56 ^ s->bits;
    return XXH3_64bits_withSeed(s->data, s->data != NULL ? size : 0, seed);
}

/* Where a value of hash h goes in an index of mask + 1 slots. */
static uint32_t home(uint64_t h, uint32_t mask)
{
    return (uint32_t)((h * 0xbf58476d1ce4e5b9ull) >> 32) & mask;
}

/* ---- strings made by concatenation ---------------------------------------------------------- */

/* A string made by sim__vtab_concat is a pair (a, b) of ids, its content a's followed by b's,
 * kept as the pair: a string grown by appends shares its prefix with the one it grew from,
 * and is made without reading or copying either. Ids stay one per content, as for every value:
 * a pair is made only when no value of the table (or its parents) has that content. */
static uint32_t pair_a(const sim__val *v)
{
    return (uint32_t)(v->x >> 32);
}

static uint32_t pair_b(const sim__val *v)
{
    return (uint32_t)v->x;
}

static bool is_text(const sim__val *v)
{
    return v->kind == SIM_VALUE_STRING || v->kind == SIM__VAL_PAIR;
}

/* Whether the string id's content is s (len bytes, its length). */
static bool content_is(const sim__vtab *t, uint32_t id, const char *s, uint32_t len)
{
    for (;;) {
        const sim__val *v = sim__vtab_at(t, id);
        SIM_ASSERT(is_text(v) && v->len == len);
        if (v->kind == SIM_VALUE_STRING) {
            return len == 0 || memcmp(sim__vtab_bytes(t, id), s, len) == 0;
        }
        uint32_t lb = sim__vtab_at(t, pair_b(v))->len;
        if (!content_is(t, pair_b(v), s + (len - lb), lb)) return false;
        id = pair_a(v);
        len -= lb;
    }
}

void sim__vtab_content(const sim__vtab *t, uint32_t id, char *out)
{
    for (;;) {
        const sim__val *v = sim__vtab_at(t, id);
        SIM_ASSERT(is_text(v));
        if (v->kind == SIM_VALUE_STRING) {
            if (v->len > 0) memcpy(out, sim__vtab_bytes(t, id), v->len);
            return;
        }
        uint32_t la = sim__vtab_at(t, pair_a(v))->len;
        sim__vtab_content(t, pair_b(v), out + la);
        id = pair_a(v);
    }
}

static bool same(const sim__vtab *t, const sim__val *v, uint32_t id, const shape *s)
{
    if (v->kind == SIM__VAL_PAIR && s->kind == SIM_VALUE_STRING && v->len == s->len) {
        return content_is(t, id, s->data, s->len);
    }
    if (v->kind != s->kind || v->len != s->len) return false;
    if (s->len == 0 && s->kind != SIM_VALUE_INT && s->kind != SIM_VALUE_BOOL) return true;
    switch (s->kind) {
    case SIM_VALUE_NIL: return true;
    case SIM_VALUE_INT:
    case SIM_VALUE_BOOL: return v->x == s->bits;
    case SIM_VALUE_VECTOR: return memcmp(t->items + v->x, s->data, s->len * sizeof(uint32_t)) == 0;
    default: return memcmp(t->bytes + v->x, s->data, s->len) == 0;
    }
}

/* This table's own id for s, or SIM__NIL. */
static uint32_t find_own(const sim__vtab *t, const shape *s, uint64_t h)
{
    if (t->index_cap == 0) return SIM__NIL;
    uint32_t mask = t->index_cap - 1;
    for (uint32_t at = home(h, mask);; at = (at + 1) & mask) {
        uint32_t i = t->index[at];
        if (i == 0) return SIM__NIL;
        const sim__val *v = &t->v[i - 1];
        if (v->hash == h && same(t, v, t->first + i - 1, s)) return t->first + i - 1;
    }
}

static uint32_t find(const sim__vtab *t, const shape *s, uint64_t h)
{
    for (; t != NULL; t = t->parent) {
        uint32_t id = find_own(t, s, h);
        if (id != SIM__NIL) return id;
    }
    return SIM__NIL;
}

/* The next capacities of the values and of the index (a power of two, as sparse as its load
 * says, in a mapping as sim__table_bytes rounds it: a probe misses the cache less in a small
 * one). */
static uint32_t v_cap(const sim__vtab *t)
{
    return (uint32_t)grown_cap(t->cap, 64, (size_t)t->cap + 1, sizeof *t->v);
}

static uint32_t index_cap(const sim__vtab *t)
{
    return t->index_cap ? t->index_cap * 2 : 64;
}

static void index_grow(sim__vtab *t)
{
    uint32_t cap = index_cap(t);
    uint32_t *index = zeroed_array(index_bytes(cap), "the checker's value index");
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t at = home(t->v[i].hash, cap - 1);
        while (index[at] != 0) at = (at + 1) & (cap - 1);
        index[at] = i + 1;
    }
    free_array(t->index, index_bytes(t->index_cap));
    t->index = index;
    t->index_cap = cap;
}

/* What the table's arrays take, kept in t->held: the search asks before every step. */
static void recount(sim__vtab *t)
{
    t->held = sim__table_bytes((size_t)t->cap * sizeof *t->v) + t->bytes_cap +
              t->items_cap * sizeof *t->items + index_bytes(t->index_cap);
}

uint64_t sim__vtab_held(const sim__vtab *t)
{
    return t->held;
}

/* Whether growing for one more value stays within t->max_bytes: the new arrays are counted
 * on top of the old, which live until they are copied. */
static bool room(sim__vtab *t, size_t bytes, size_t items)
{
    if (t->over) return false; /* refused once: until the limit is raised, every time */
    if (t->max_bytes == 0) return true;
    uint64_t add = 0;
    if (t->n == t->cap) add += sim__table_bytes(v_cap(t) * sizeof *t->v);
    if ((t->n + 1) * 2 > t->index_cap) add += index_bytes(index_cap(t));
    if (t->nbytes + bytes > t->bytes_cap) {
        add += grown_cap(t->bytes_cap, 1024, t->nbytes + bytes, 1);
    }
    if (t->nitems + items > t->items_cap) {
        add += grown_cap(t->items_cap, 256, t->nitems + items, sizeof *t->items) * sizeof *t->items;
    }
    if (sim__vtab_held(t) + add <= t->max_bytes) return true;
    t->over = true;
    return false;
}

/* Room for one more value with `bytes` content bytes or `items` items: SIM_OK, or SIM_ELIMIT
 * past MAX_VALUES or past max_bytes (then t->over is set). */
static int reserve(sim__vtab *t, size_t bytes, size_t items)
{
    if (sim__vtab_end(t) >= MAX_VALUES) return SIM_ELIMIT;
    if (!room(t, bytes, items)) return SIM_ELIMIT;
    SIM_ASSERT(!t->over);
    if (t->n == t->cap) {
        uint32_t cap = v_cap(t);
        t->v = grow_array(t->v, (size_t)t->cap * sizeof *t->v, (size_t)cap * sizeof *t->v,
                          "the checker's values");
        t->cap = cap;
    }
    if ((t->n + 1) * 2 > t->index_cap) index_grow(t);
    if (t->nbytes + bytes > t->bytes_cap) {
        size_t cap = grown_cap(t->bytes_cap, 1024, t->nbytes + bytes, 1);
        t->bytes = grow_array(t->bytes, t->bytes_cap, cap, "the checker's strings");
        t->bytes_cap = cap;
    }
    if (t->nitems + items > t->items_cap) {
        size_t cap = grown_cap(t->items_cap, 256, t->nitems + items, sizeof *t->items);
        t->items = grow_array(t->items, t->items_cap * sizeof *t->items, cap * sizeof *t->items,
                              "the checker's vectors");
        t->items_cap = cap;
    }
    recount(t);
    return SIM_OK;
}

/* Indexes the value just added at t->v[t->n], of hash h. */
static void index_put(sim__vtab *t, uint64_t h)
{
    uint32_t mask = t->index_cap - 1;
    uint32_t at = home(h, mask);
    while (t->index[at] != 0) at = (at + 1) & mask;
    t->index[at] = ++t->n;
}

static uint32_t intern(sim__vtab *t, const shape *s)
{
    uint64_t h = shape_hash(s);
    uint32_t id = find(t, s, h);
    if (id != SIM__NIL) return id;
    bool vec = s->kind == SIM_VALUE_VECTOR;
    bool text = s->kind == SIM_VALUE_STRING || s->kind == SIM_VALUE_KEYWORD;
    if (reserve(t, text ? s->len : 0, vec ? s->len : 0) != SIM_OK) return SIM__NIL;
    sim__val *v = &t->v[t->n];
    *v = (sim__val){.kind = s->kind, .len = s->len, .x = s->bits, .hash = h};
    if (text) {
        v->x = t->nbytes;
        if (s->len > 0) memcpy(t->bytes + t->nbytes, s->data, s->len);
        t->nbytes += s->len;
    } else if (vec) {
        v->x = t->nitems;
        if (s->len > 0) memcpy(t->items + t->nitems, s->data, s->len * sizeof(uint32_t));
        t->nitems += s->len;
    }
    index_put(t, h);
    return t->first + t->n - 1;
}

/* ---- interning ------------------------------------------------------------------------------ */

/* Whether value v (id) has the content of a followed by b (la and lb bytes); ids are read
 * through t, the table the concatenation is made in, which sees them all. */
static bool is_concat(const sim__vtab *t, const sim__val *v, uint32_t id, uint32_t a, uint32_t b,
                      uint32_t la, uint32_t lb)
{
    if (!is_text(v) || v->len != la + lb) return false;
    if (v->kind == SIM__VAL_PAIR && pair_a(v) == a && pair_b(v) == b) return true;
    if (v->kind == SIM_VALUE_STRING) {
        const char *s = sim__vtab_bytes(t, id);
        return content_is(t, b, s + la, lb) && content_is(t, a, s, la);
    }
    /* Another pair with this content, split elsewhere: compare a flat copy. */
    char small[256];
    size_t n = (size_t)la + lb;
    char *buf = n <= sizeof small ? small : sim__xmalloc(n, "a string compared");
    sim__vtab_content(t, id, buf);
    bool eq = content_is(t, b, buf + la, lb) && content_is(t, a, buf, la);
    if (buf != small) free(buf);
    return eq;
}

uint32_t sim__vtab_concat(sim__vtab *t, uint32_t a, uint32_t b)
{
    const sim__val *va = sim__vtab_at(t, a), *vb = sim__vtab_at(t, b);
    SIM_ASSERT(is_text(va) && is_text(vb));
    uint32_t la = va->len, lb = vb->len;
    if (lb == 0) return a;
    if (la == 0) return b;
    if ((uint64_t)la + lb > UINT32_MAX / 2) return SIM__NIL;
    uint64_t h = concat_hash(va->hash, vb->hash, lb);
    for (const sim__vtab *u = t; u != NULL; u = u->parent) {
        uint32_t mask = u->index_cap - 1;
        for (uint32_t at = home(h, mask); u->index_cap != 0; at = (at + 1) & mask) {
            uint32_t i = u->index[at];
            if (i == 0) break;
            const sim__val *v = &u->v[i - 1];
            if (v->hash == h && is_concat(t, v, u->first + i - 1, a, b, la, lb)) {
                return u->first + i - 1;
            }
        }
    }
    if (reserve(t, 0, 0) != SIM_OK) return SIM__NIL;
    t->v[t->n] = (sim__val){.kind = SIM__VAL_PAIR, .len = la + lb, .x = (uint64_t)a << 32 | b,
                            .hash = h};
    index_put(t, h);
    return t->first + t->n - 1;
}

uint32_t sim__vtab_int(sim__vtab *t, int64_t i)
{
    shape s = {.kind = SIM_VALUE_INT, .bits = (uint64_t)i};
    return intern(t, &s);
}

uint32_t sim__vtab_bool(sim__vtab *t, bool b)
{
    shape s = {.kind = SIM_VALUE_BOOL, .bits = b};
    return intern(t, &s);
}

uint32_t sim__vtab_text(sim__vtab *t, sim_value_kind kind, const char *s, size_t len)
{
    SIM_ASSERT(kind == SIM_VALUE_STRING || kind == SIM_VALUE_KEYWORD || kind == SIM_VALUE_NIL);
    if (len > UINT32_MAX / 2) return SIM__NIL;
    shape sh = {.kind = kind, .len = kind == SIM_VALUE_NIL ? 0 : (uint32_t)len,
                .data = kind == SIM_VALUE_NIL ? NULL : s};
    return intern(t, &sh);
}

uint32_t sim__vtab_vec(sim__vtab *t, const uint32_t *items, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) SIM_ASSERT(items[i] < sim__vtab_end(t));
    shape s = {.kind = SIM_VALUE_VECTOR, .len = n, .data = n ? items : NULL};
    return intern(t, &s);
}

uint32_t sim__vtab_find_text(const sim__vtab *t, sim_value_kind kind, const char *s, size_t len)
{
    SIM_ASSERT(kind == SIM_VALUE_STRING || kind == SIM_VALUE_KEYWORD);
    if (len > UINT32_MAX / 2) return SIM__NIL;
    shape sh = {.kind = kind, .len = (uint32_t)len, .data = s};
    return find(t, &sh, shape_hash(&sh));
}
