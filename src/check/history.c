/*
 * history.c: histories as data (sim.h, docs/checking.md): entries appended in the order they
 * happened, each an invocation or a completion of an operation, checked as they come: a
 * process has at most one operation pending, a completion completes the pending one and
 * names the same function and key. So a history that was built is well formed, and the
 * checker pairs invocations with completions without looking back.
 */
#include <stdio.h>

#include "check.h"

static const char *const type_names[] = {NULL, "invoke", "ok", "fail", "info"};

const char *sim__op_type_name(uint32_t type)
{
    return type >= 1 && type <= 4 ? type_names[type] : NULL;
}

int sim_history_new(sim_history **out)
{
    *out = NULL;
    sim_history *h = sim__xcalloc(1, sizeof *h, "a history");
    sim__vtab_init(&h->vals, NULL);
    *out = h;
    return SIM_OK;
}

void sim_history_free(sim_history *h)
{
    if (h == NULL) return;
    sim__vtab_release(&h->vals);
    free(h->e);
    free(h->op_invoke);
    free(h->op_done);
    free(h->pend_proc);
    free(h->pend_op);
    free(h);
}

uint32_t sim_history_count(const sim_history *h)
{
    return h->n;
}

/* ---- the pending operation of each process -------------------------------------------------- */

static uint32_t pend_slot(const sim_history *h, uint32_t process)
{
    uint32_t mask = h->pend_cap - 1;
    uint32_t at = sim__mix32(process) & mask;
    while (h->pend_proc[at] != 0 && h->pend_proc[at] != process + 1u) at = (at + 1) & mask;
    return at;
}

/* The operation process has pending, or SIM__NIL. */
static uint32_t pend_get(const sim_history *h, uint32_t process)
{
    if (h->pend_cap == 0) return SIM__NIL;
    uint32_t at = pend_slot(h, process);
    return h->pend_proc[at] == 0 ? SIM__NIL : h->pend_op[at];
}

static void pend_grow(sim_history *h)
{
    uint32_t cap = h->pend_cap ? h->pend_cap * 2 : 64;
    uint32_t *proc = sim__xcalloc(cap, sizeof *proc, "a history's pending operations");
    uint32_t *op = sim__xcalloc(cap, sizeof *op, "a history's pending operations");
    uint32_t *old_proc = h->pend_proc, *old_op = h->pend_op, old_cap = h->pend_cap;
    h->pend_proc = proc;
    h->pend_op = op;
    h->pend_cap = cap;
    for (uint32_t i = 0; i < old_cap; i++) {
        if (old_proc[i] == 0) continue;
        uint32_t at = pend_slot(h, old_proc[i] - 1);
        h->pend_proc[at] = old_proc[i];
        h->pend_op[at] = old_op[i];
    }
    free(old_proc);
    free(old_op);
}

/* Sets (op != SIM__NIL) or clears the pending operation of process. Clearing uses backward
 * shift deletion, so lookups stay correct without tombstones. */
static void pend_set(sim_history *h, uint32_t process, uint32_t op)
{
    uint32_t at = pend_slot(h, process);
    if (op != SIM__NIL) {
        if (h->pend_proc[at] == 0) h->npend++;
        h->pend_proc[at] = process + 1u;
        h->pend_op[at] = op;
        return;
    }
    SIM_ASSERT(h->pend_proc[at] != 0);
    h->npend--;
    uint32_t mask = h->pend_cap - 1;
    for (uint32_t next = (at + 1) & mask; h->pend_proc[next] != 0; next = (next + 1) & mask) {
        uint32_t home = sim__mix32(h->pend_proc[next] - 1) & mask;
        /* next may move to at when its home is not in (at, next]. */
        bool stays = at <= next ? (home > at && home <= next) : (home > at || home <= next);
        if (stays) continue;
        h->pend_proc[at] = h->pend_proc[next];
        h->pend_op[at] = h->pend_op[next];
        at = next;
    }
    h->pend_proc[at] = 0;
    h->pend_op[at] = 0;
}

/* ---- appending ------------------------------------------------------------------------------ */

/* Room for one more entry: SIM_OK, or SIM_ELIMIT past 2^31 entries. */
static int grow(sim_history *h)
{
    if (h->n == h->cap) {
        if (h->cap >= UINT32_MAX / 2) return SIM_ELIMIT;
        uint32_t cap = h->cap ? h->cap * 2 : 256;
        h->e = sim__xrealloc_array(h->e, cap, sizeof *h->e, "a history's entries");
        h->cap = cap;
    }
    if (h->nops == h->ops_cap) {
        uint32_t cap = h->ops_cap ? h->ops_cap * 2 : 128;
        h->op_invoke = sim__xrealloc_array(h->op_invoke, cap, sizeof *h->op_invoke,
                                           "a history's operations");
        h->op_done = sim__xrealloc_array(h->op_done, cap, sizeof *h->op_done,
                                         "a history's operations");
        h->ops_cap = cap;
    }
    if ((h->npend + 1) * 2 > h->pend_cap) pend_grow(h);
    return SIM_OK;
}

/* Where entry i came from, for messages: "line 12" or "entry 12". */
static void where(const sim_history *h, uint32_t i, char *buf, size_t size)
{
    if (h->e[i].line != 0) {
        snprintf(buf, size, "line %u", h->e[i].line);
    } else {
        snprintf(buf, size, "entry %u", i + 1);
    }
}

static void fname(const sim_history *h, uint32_t f, char *buf, size_t size)
{
    sim__edn_write(&h->vals, f, buf, size);
}

/* A completion must match the invocation it completes. */
static int check_completion(const sim_history *h, const sim__hentry *e, uint32_t inv,
                            char *err, size_t size)
{
    const sim__hentry *in = &h->e[inv];
    char at[32], f1[64], f2[64];
    where(h, inv, at, sizeof at);
    if (in->f != e->f) {
        fname(h, in->f, f1, sizeof f1);
        fname(h, e->f, f2, sizeof f2);
        return sim__einval(err, size,
                           "process %u completes %s, but its pending operation (%s) is %s",
                           e->process, f2, at, f1);
    }
    if (e->has_key && (!in->has_key || in->key != e->key)) {
        char k1[64] = "no key", k2[64];
        if (in->has_key) sim__edn_write(&h->vals, in->key, k1, sizeof k1);
        sim__edn_write(&h->vals, e->key, k2, sizeof k2);
        return sim__einval(err, size, "process %u completes its operation (%s) with key %s, but it "
                                      "was invoked with %s",
                           e->process, at, k2, k1);
    }
    return SIM_OK;
}

int sim__history_push(sim_history *h, sim__hentry *e, char *err, size_t err_size)
{
    SIM_ASSERT(e->type >= SIM_OP_INVOKE && e->type <= SIM_OP_INFO);
    SIM_ASSERT(sim__vtab_at(&h->vals, e->f)->kind == SIM_VALUE_KEYWORD);
    if (grow(h) != SIM_OK) return SIM_ELIMIT;
    uint32_t pending = pend_get(h, e->process);
    if (e->type == SIM_OP_INVOKE) {
        if (pending != SIM__NIL) {
            char at[32];
            where(h, h->op_invoke[pending], at, sizeof at);
            return sim__einval(err, err_size, "process %u invokes an operation while its operation "
                                              "from %s is pending (a process does one at a time)",
                               e->process, at);
        }
        e->op = h->nops++;
        h->op_invoke[e->op] = h->n;
        h->op_done[e->op] = SIM__NIL;
        pend_set(h, e->process, e->op);
    } else {
        if (pending == SIM__NIL) {
            return sim__einval(err, err_size, "process %u completes (:%s) an operation it never "
                                              "invoked, or completed already",
                               e->process, sim__op_type_name(e->type));
        }
        int rc = check_completion(h, e, h->op_invoke[pending], err, err_size);
        if (rc != SIM_OK) return rc;
        e->op = pending;
        if (!e->has_key && h->e[h->op_invoke[pending]].has_key) {
            e->key = h->e[h->op_invoke[pending]].key; /* the invocation's key is the op's */
        }
        h->op_done[pending] = h->n;
        pend_set(h, e->process, SIM__NIL);
    }
    h->e[h->n++] = *e;
    return SIM_OK;
}

int sim__history_value(sim_history *h, const char *what, const char *text, uint32_t *id,
                       char *err, size_t err_size)
{
    *id = SIM__VAL_NIL;
    if (text == NULL) return SIM_OK;
    char msg[256];
    int rc = sim__edn_parse_value(&h->vals, text, id, msg, sizeof msg);
    if (rc == SIM_EINVAL) return sim__einval(err, err_size, "%s '%s': %s", what, text, msg);
    return rc;
}

bool sim__fname_ok(const char *f)
{
    size_t n = strlen(f);
    if (n == 0 || n > 100) return false;
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("*+!-_?<>=/.", c) != NULL;
        if (!ok) return false;
    }
    return !(f[0] >= '0' && f[0] <= '9');
}

int sim_history_add(sim_history *h, const sim_history_entry *e, char *err, size_t err_size)
{
    if (e->type < SIM_OP_INVOKE || e->type > SIM_OP_INFO) {
        return sim__einval(err, err_size, "type %d is not invoke, ok, fail or info", (int)e->type);
    }
    if (e->f == NULL || !sim__fname_ok(e->f)) {
        return sim__einval(err, err_size, "f '%s': expected a keyword's name (read, write, cas)",
                           e->f ? e->f : "(null)");
    }
    /* Values interned here stay if a later step fails: harmless, they are only values. */
    sim__hentry x = {.process = e->process, .type = (uint8_t)e->type, .has_key = e->key != NULL,
                     .has_time = e->time_ns != 0, .time_ns = e->time_ns, .line = e->line};
    x.f = sim__vtab_text(&h->vals, SIM_VALUE_KEYWORD, e->f, strlen(e->f));
    if (x.f == SIM__NIL) return SIM_ELIMIT; /* past the value table's 2^31 values */
    int rc = sim__history_value(h, "key", e->key, &x.key, err, err_size);
    if (rc == SIM_OK) rc = sim__history_value(h, "value", e->value, &x.value, err, err_size);
    if (rc == SIM_OK) rc = sim__history_push(h, &x, err, err_size);
    return rc;
}

static void copy_array(void *dst, const void *src, size_t n, size_t elem)
{
    void **d = dst;
    *d = NULL;
    if (n == 0 || src == NULL) return;
    *d = sim__xcalloc(n, elem, "a copy of a history");
    memcpy(*d, src, n * elem);
}

void sim__history_copy(const sim_history *h, sim_history **out)
{
    sim_history *c = sim__xcalloc(1, sizeof *c, "a copy of a history");
    *c = *h;
    sim__vtab_copy(&c->vals, &h->vals);
    copy_array(&c->e, h->e, h->cap, sizeof *h->e);
    copy_array(&c->op_invoke, h->op_invoke, h->ops_cap, sizeof *h->op_invoke);
    copy_array(&c->op_done, h->op_done, h->ops_cap, sizeof *h->op_done);
    copy_array(&c->pend_proc, h->pend_proc, h->pend_cap, sizeof *h->pend_proc);
    copy_array(&c->pend_op, h->pend_op, h->pend_cap, sizeof *h->pend_op);
    *out = c;
}

/* Appends text at *o of buf (snprintf-like: *o counts what would be written). */
static void put(char *buf, size_t size, size_t *o, const char *text)
{
    size_t n = strlen(text);
    if (*o < size) {
        size_t room = size - *o - 1;
        memcpy(buf + *o, text, n < room ? n : room);
        buf[*o + (n < room ? n : room)] = '\0';
    }
    *o += n;
}

/* Appends a number in decimal (without snprintf: a history entry is written for every
 * operation a system records, so this is on a hot path). */
static void put_u64(char *buf, size_t size, size_t *o, uint64_t v)
{
    char digits[24];
    size_t n = sizeof digits - 1;
    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(buf, size, o, digits + n);
}

/* Appends a value. Once the buffer is full, or when there is none (NULL, 0), only the length
 * is counted: buf + *o would then be arithmetic on a null pointer, which C leaves undefined
 * even for an offset of 0. */
static void put_value(const sim_history *h, uint32_t id, char *buf, size_t size, size_t *o)
{
    if (*o < size) {
        SIM_ASSERT(buf != NULL);
        *o += sim__edn_write(&h->vals, id, buf + *o, size - *o);
    } else {
        *o += sim__edn_write(&h->vals, id, NULL, 0);
    }
}

size_t sim_history_edn(const sim_history *h, uint32_t i, char *buf, size_t size)
{
    SIM_ASSERT(i < h->n);
    SIM_ASSERT(buf != NULL || size == 0); /* snprintf's contract: no buffer means no size */
    const sim__hentry *e = &h->e[i];
    size_t o = 0;
    if (size > 0) buf[0] = '\0';
    const char *type = sim__op_type_name(e->type);
    put(buf, size, &o, "{:process ");
    put_u64(buf, size, &o, e->process);
    put(buf, size, &o, ", :type :");
    put(buf, size, &o, type ? type : "?");
    put(buf, size, &o, ", :f ");
    put_value(h, e->f, buf, size, &o);
    if (e->has_key) {
        put(buf, size, &o, ", :key ");
        put_value(h, e->key, buf, size, &o);
    }
    put(buf, size, &o, ", :value ");
    put_value(h, e->value, buf, size, &o);
    if (e->has_time) {
        put(buf, size, &o, ", :time ");
        put_u64(buf, size, &o, e->time_ns);
    }
    put(buf, size, &o, "}");
    return o;
}
