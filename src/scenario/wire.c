/*
 * wire.c: a seed's outcome as bytes, so that sim run's worker processes can hand what they ran
 * to the one process that writes the database and prints.
 *
 * The bytes are fields in a fixed order: integers little-endian, arrays and strings as a
 * 32-bit count and their items. Both ends are the same binary (the workers are forked), so
 * there is no version; unpacking still checks every length against what is left, and a
 * history travels as its EDN text and is read back by the same parser users' files go through.
 */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

/* ---- writing --------------------------------------------------------------------------------- */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
} wbuf;

static void put(wbuf *b, const void *data, size_t len)
{
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len) cap *= 2;
        b->p = sim__xrealloc(b->p, cap, "a run's outcome for the parent");
        b->cap = cap;
    }
    if (len) memcpy(b->p + b->n, data, len);
    b->n += len;
}

static void put_u64(wbuf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
    put(b, x, 8);
}

static void put_str(wbuf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_u64(b, s ? n : UINT64_MAX);
    put(b, s, n);
}

static void put_history(wbuf *b, const sim_history *h)
{
    if (h == NULL) {
        put_str(b, NULL);
        return;
    }
    wbuf text = {0};
    char line[4096];
    for (uint32_t i = 0; i < sim_history_count(h); i++) {
        size_t n = sim_history_edn(h, i, line, sizeof line);
        if (n < sizeof line) {
            put(&text, line, n);
        } else {
            char *big = sim__xmalloc(n + 1, "a history entry");
            sim_history_edn(h, i, big, n + 1);
            put(&text, big, n);
            free(big);
        }
        put(&text, "\n", 1);
    }
    put(&text, "", 1);
    put_str(b, (const char *)text.p);
    free(text.p);
}

int sim__outcome_pack(const sim__outcome *o, void **out, size_t *len)
{
    wbuf b = {0};
    put_u64(&b, o->seed);
    put_u64(&b, (uint64_t)(int64_t)o->rc);
    put_u64(&b, o->failed);
    put_str(&b, o->result);
    put_str(&b, o->detail);
    put_str(&b, o->report);
    put_u64(&b, o->hash);
    put_u64(&b, o->events);
    put_u64(&b, o->steps);
    put_u64(&b, o->vtime_ns);
    put_u64(&b, o->wall_ns);
    put_u64(&b, o->ncheckpoints);
    for (uint32_t i = 0; i < o->ncheckpoints; i++) {
        put_u64(&b, o->checkpoints[i].step);
        put_u64(&b, o->checkpoints[i].events);
        put_u64(&b, o->checkpoints[i].hash);
    }
    put_u64(&b, o->nviolations);
    for (uint32_t i = 0; i < o->nviolations; i++) {
        const sim__violation_rec *v = &o->violations[i];
        put_u64(&b, v->step);
        put_u64(&b, v->vtime_ns);
        put_u64(&b, v->task);
        put_u64(&b, (uint64_t)v->kind);
        put_str(&b, v->message);
    }
    put_str(&b, o->plan);
    put_u64(&b, o->nfaults);
    for (uint32_t i = 0; i < o->nfaults; i++) {
        const sim_fault_rec *f = &o->faults[i];
        put_u64(&b, f->step);
        put_u64(&b, f->vtime_ns);
        put_str(&b, f->point);
        put_u64(&b, f->hit);
        put_u64(&b, f->node.v);
        put_u64(&b, (uint64_t)f->action);
        put_str(&b, f->detail);
    }
    put_u64(&b, o->faults_dropped);
    put_u64(&b, o->fail_hits);
    put_u64(&b, o->cancel_points);
    put_u64(&b, o->branch_points);
    put_u64(&b, o->pct_steps);
    put_u64(&b, o->ops);
    put_u64(&b, o->captured);
    put_u64(&b, o->events_buf.n);
    put(&b, o->events_buf.ev, o->events_buf.n * sizeof *o->events_buf.ev);
    put_u64(&b, o->events_buf.text_len);
    put(&b, o->events_buf.text, o->events_buf.text_len);
    put_history(&b, o->history);
    *out = b.p;
    *len = b.n;
    return SIM_OK;
}

/* ---- reading --------------------------------------------------------------------------------- */

typedef struct rbuf {
    const unsigned char *p;
    size_t left;
    bool bad;
} rbuf;

static const void *take(rbuf *r, size_t len)
{
    if (r->bad || len > r->left) {
        r->bad = true;
        return NULL;
    }
    const void *at = r->p;
    r->p += len;
    r->left -= len;
    return at;
}

static uint64_t get_u64(rbuf *r)
{
    const unsigned char *x = take(r, 8);
    uint64_t v = 0;
    for (int i = 0; x != NULL && i < 8; i++) v |= (uint64_t)x[i] << (8 * i);
    return v;
}

/* A count of items of at least `item` bytes each, checked against what is left. */
static uint32_t get_count(rbuf *r, size_t item)
{
    uint64_t n = get_u64(r);
    if (n > UINT32_MAX || n * item > r->left) {
        r->bad = true;
        return 0;
    }
    return (uint32_t)n;
}

/* A string, owned (NULL for a NULL string or on error: see r->bad). */
static char *get_str(rbuf *r)
{
    uint64_t n = get_u64(r);
    if (n == UINT64_MAX || r->bad) return NULL;
    const char *s = take(r, (size_t)n);
    if (s == NULL) return NULL; /* longer than what is left: r->bad */
    char *copy = sim__xmalloc((size_t)n + 1, "a worker's outcome");
    memcpy(copy, s, (size_t)n);
    copy[n] = '\0';
    return copy;
}

static void get_fixed(rbuf *r, char *dst, size_t size)
{
    char *s = get_str(r);
    snprintf(dst, size, "%s", s ? s : "");
    free(s);
}

static void get_arrays(rbuf *r, sim__outcome *o)
{
    o->ncheckpoints = get_count(r, 24);
    o->checkpoints = sim__xcalloc(o->ncheckpoints, sizeof *o->checkpoints,
                                  "a worker's checkpoints");
    for (uint32_t i = 0; !r->bad && i < o->ncheckpoints; i++) {
        o->checkpoints[i].step = get_u64(r);
        o->checkpoints[i].events = get_u64(r);
        o->checkpoints[i].hash = get_u64(r);
    }
    uint32_t nv = get_count(r, 40);
    o->violations = sim__xcalloc(nv, sizeof *o->violations, "a worker's violations");
    for (uint32_t i = 0; !r->bad && i < nv; i++, o->nviolations++) {
        sim__violation_rec *v = &o->violations[i];
        v->step = get_u64(r);
        v->vtime_ns = get_u64(r);
        v->task = (uint32_t)get_u64(r);
        v->kind = (sim_violation_kind)get_u64(r);
        v->message = get_str(r);
        r->bad = r->bad || v->message == NULL;
    }
    get_fixed(r, o->plan, sizeof o->plan);
    uint32_t nf = get_count(r, 56);
    o->faults = sim__xcalloc(nf, sizeof *o->faults, "a worker's faults");
    for (uint32_t i = 0; !r->bad && i < nf; i++, o->nfaults++) {
        sim_fault_rec *f = &o->faults[i];
        f->step = get_u64(r);
        f->vtime_ns = get_u64(r);
        f->point = get_str(r);
        f->hit = get_u64(r);
        f->node.v = (uint32_t)get_u64(r);
        f->action = (sim_fault_action)get_u64(r);
        f->detail = get_str(r);
        r->bad = r->bad || f->point == NULL;
    }
}

static void get_events(rbuf *r, sim__outcome *o)
{
    sim__evbuf *e = &o->events_buf;
    uint64_t n = get_count(r, sizeof *e->ev);
    const void *ev = take(r, (size_t)n * sizeof *e->ev);
    uint64_t tn = get_count(r, 1);
    const void *text = take(r, (size_t)tn);
    if (r->bad) return;
    e->ev = sim__xcalloc((size_t)n, sizeof *e->ev, "a worker's events");
    e->text = sim__xmalloc((size_t)tn + 1, "a worker's event details");
    memcpy(e->ev, ev, (size_t)n * sizeof *e->ev);
    memcpy(e->text, text, (size_t)tn);
    e->n = e->cap = n;
    e->text_len = e->text_cap = (size_t)tn;
    for (uint64_t i = 0; i < n; i++) {
        if (e->ev[i].detail != UINT32_MAX && e->ev[i].detail >= tn) r->bad = true;
    }
}

int sim__outcome_unpack(const void *data, size_t len, sim__outcome *o)
{
    memset(o, 0, sizeof *o);
    rbuf r = {.p = data, .left = len};
    o->seed = get_u64(&r);
    o->rc = (int)(int64_t)get_u64(&r);
    o->failed = get_u64(&r) != 0;
    get_fixed(&r, o->result_own, sizeof o->result_own);
    o->result = o->result_own;
    get_fixed(&r, o->detail, sizeof o->detail);
    o->report = get_str(&r);
    o->hash = get_u64(&r);
    o->events = get_u64(&r);
    o->steps = get_u64(&r);
    o->vtime_ns = get_u64(&r);
    o->wall_ns = get_u64(&r);
    get_arrays(&r, o);
    o->faults_dropped = (uint32_t)get_u64(&r);
    o->fail_hits = get_u64(&r);
    o->cancel_points = get_u64(&r);
    o->branch_points = get_u64(&r);
    o->pct_steps = get_u64(&r);
    o->ops = get_u64(&r);
    o->captured = get_u64(&r) != 0;
    get_events(&r, o);
    char *edn = get_str(&r);
    if (!r.bad && edn != NULL) {
        char err[256];
        if (sim_history_parse_edn("(history from a worker)", edn, &o->history, err,
                                  sizeof err) != SIM_OK) {
            r.bad = true;
        }
    }
    free(edn);
    if (!r.bad && o->report == NULL) o->report = sim__xstrdup("", "a worker's report");
    if (r.bad || r.left != 0) {
        sim__outcome_free(o);
        return SIM_EINVAL;
    }
    return SIM_OK;
}
