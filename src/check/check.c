/*
 * check.c: sim_check (sim.h, docs/checking.md). Pairs each invocation with its completion
 * into an operation, lets the model check each one, splits them by key (P-compositionality:
 * a history is linearizable when each key's part is), searches each part (wgl.c, in threads
 * with jobs > 1) and writes the verdict.
 *
 * Parts are searched in rounds, so that a part that is plainly not linearizable is found
 * without first exhausting a hard part before it (iterative deepening): in round r every
 * undecided part searches on until it has taken about ROUND_STEPS * 1.5^r steps in all
 * (next_cap), and pauses there (wgl.c resumes it exactly). Parts are numbered in the order
 * their keys first appear; the verdict is the first anomaly in (round, part) order, and by
 * default the check ends there, the parts not yet decided named as such (all_keys decides
 * them all).
 *
 * Nothing depends on jobs or on the host's speed (save a timeout): a round's parts search at
 * once with jobs > 1, and their results are then taken in part order (settle), as a check
 * with one job takes them one after another. A part that finds an anomaly stops the parts
 * after it in its round (their results could not change the verdict), never those before.
 *
 * A bound on steps (max_steps) is for the whole check, spent in (round, part) order: each
 * part's round counts only if it took no more than what the rounds and parts before it
 * left. A search that needs n steps finishes under any bound of n or more (wgl.c), so
 * searching with the round's bound at once and keeping a result in order gives what a
 * search with what was left gives.
 *
 * Memory (max_memory) is counted, not estimated: at each round's start, what the check holds
 * is summed, and each undecided part may grow by an equal share of the rest in that round;
 * a part at its share pauses until the next round. A round in which no part is decided or
 * steps on (each paused at its share) ends with the last of them giving up, its memory
 * freed for the others. Shares are set before the round, from counts, so this too is the
 * same with any jobs, and the whole never passes the limit.
 */
#include <stdarg.h>
#include <stdio.h>

#include "check.h"

/* What the whole check may hold by default, in bytes (sim_check_desc.max_memory). */
#define DEFAULT_MAX_MEMORY (2ull << 30)
#define DEFAULT_MAX_CONFIGS (1ull << 24)
/* Steps each part may take in the first round; each round adds half as much again. Small
 * enough that a key found not linearizable within a few thousand steps is reported in
 * milliseconds whatever comes before it, large enough that the rounds' overhead is nothing. */
#define ROUND_STEPS (1ull << 14)
/* Keys named as left undecided in a report. */
#define REPORT_UNDECIDED 16u
/* Operations of the prefix a report shows. */
#define REPORT_PREFIX 8u

/* ---- what models see ------------------------------------------------------------------------ */

void sim__ctx_init(sim_check_ctx *c, const sim__vtab *parent)
{
    memset(c, 0, sizeof *c);
    sim__vtab_init(&c->vals, parent);
    c->flat = &c->flat_store;
}

void sim__ctx_release(sim_check_ctx *c)
{
    sim__vtab_release(&c->vals);
    free(c->flat_store.s);
    memset(c, 0, sizeof *c);
}

sim_value sim_check_value(const sim_check_ctx *c, uint32_t id)
{
    SIM_ASSERT(id != SIM_VALUE_UNKNOWN);
    const sim__val *v = sim__vtab_at(&c->vals, id);
    sim_value out = {.kind = (sim_value_kind)v->kind, .len = v->len};
    if (v->kind == SIM__VAL_PAIR) {
        sim__flat *f = c->flat;
        if (f->cap < v->len) {
            f->s = sim__xrealloc(f->s, v->len, "a string made by sim_check_concat");
            f->cap = v->len;
        }
        sim__vtab_content(&c->vals, id, f->s);
        out.kind = SIM_VALUE_STRING;
        out.s = f->s;
        return out;
    }
    switch (v->kind) {
    case SIM_VALUE_INT:
    case SIM_VALUE_BOOL: out.i = (int64_t)v->x; break;
    case SIM_VALUE_STRING:
    case SIM_VALUE_KEYWORD: out.s = sim__vtab_bytes(&c->vals, id); break;
    case SIM_VALUE_VECTOR: out.items = sim__vtab_items(&c->vals, id); break;
    default: break;
    }
    return out;
}

uint32_t sim_check_intern(sim_check_ctx *c, sim_value_kind kind, const char *s, size_t len)
{
    if (kind != SIM_VALUE_STRING && kind != SIM_VALUE_KEYWORD) return SIM_VALUE_UNKNOWN;
    uint32_t id = sim__vtab_text(&c->vals, kind, s, len);
    /* Refused for the memory limit: the search pauses and asks again (wgl.c); else the
     * table is full for good. */
    if (id == SIM__NIL && !c->vals.over) c->full = true;
    return id == SIM__NIL ? SIM_VALUE_UNKNOWN : id;
}

uint32_t sim_check_concat(sim_check_ctx *c, uint32_t a, uint32_t b)
{
    if (a == SIM_VALUE_UNKNOWN || b == SIM_VALUE_UNKNOWN) return SIM_VALUE_UNKNOWN;
    uint32_t ka = sim__vtab_at(&c->vals, a)->kind, kb = sim__vtab_at(&c->vals, b)->kind;
    if ((ka != SIM_VALUE_STRING && ka != SIM__VAL_PAIR) ||
        (kb != SIM_VALUE_STRING && kb != SIM__VAL_PAIR)) {
        return SIM_VALUE_UNKNOWN;
    }
    uint32_t id = sim__vtab_concat(&c->vals, a, b);
    /* As sim_check_intern: refused for the memory limit, or the table is full for good. */
    if (id == SIM__NIL && !c->vals.over) c->full = true;
    return id == SIM__NIL ? SIM_VALUE_UNKNOWN : id;
}

uint32_t sim_check_keyword(const sim_check_ctx *c, const char *name)
{
    uint32_t id = sim__vtab_find_text(&c->vals, SIM_VALUE_KEYWORD, name, strlen(name));
    return id == SIM__NIL ? SIM_VALUE_UNKNOWN : id;
}

size_t sim_check_value_text(const sim_check_ctx *c, uint32_t id, char *buf, size_t size)
{
    if (id == SIM_VALUE_UNKNOWN) {
        int n = snprintf(buf, size, "?");
        return (size_t)n;
    }
    return sim__edn_write(&c->vals, id, buf, size);
}

/* ---- text that grows ------------------------------------------------------------------------ */

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(text *t, const char *fmt, ...)
{
    for (int pass = 0; pass < 2; pass++) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 1024;
        while (cap <= t->len + (size_t)n) cap *= 2;
        t->s = sim__xrealloc(t->s, cap, "a check's report");
        t->cap = cap;
    }
}

/* s as a JSON string. */
static void add_json(text *t, const char *s)
{
    add(t, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            add(t, "\\%c", ch);
        } else if (ch < 0x20) {
            add(t, "\\u%04x", ch);
        } else {
            add(t, "%c", ch);
        }
    }
    add(t, "\"");
}

/* ---- operations and parts ------------------------------------------------------------------- */

typedef struct plan {
    const sim_history *h;
    const sim_model *m;
    sim_check_ctx prep;      /* over the history's values: what prepare saw */
    sim_op *ops;             /* kept operations, grouped by part, in invocation order */
    uint32_t *call_at, *ret_at;
    uint32_t nops, nfailed, ninfo;
    sim__part *parts;
    uint32_t nparts;
    sim_check_ctx *ctx;      /* per part */
    sim__search *res;        /* per part, once it is done (or when the check ends) */
    int *rc;
    sim__wgl **w;            /* per part, while its search lives */
    bool *done;              /* per part: res holds its final result */
    uint64_t *before;        /* per part: its steps when this round began */
    uint64_t *share;         /* per part: the bytes it may hold in this round */
    uint32_t *todo;          /* the parts of this round, in order */
    uint32_t ntodo;
    _Atomic uint32_t stop;   /* the first part found not linearizable this round */
    uint64_t deadline_ns, max_configs;
    uint64_t max_steps;      /* for the whole check; UINT64_MAX: no bound */
    uint64_t left;           /* of max_steps, after the parts settled so far */
    uint64_t cap;            /* this round's bound on each part's steps */
    uint64_t round_steps;    /* the first round's */
    uint64_t max_memory;
    uint64_t base_bytes;     /* the plan's own arrays and values */
    uint64_t peak_bytes;     /* the most the check held when a round began (counted) */
    uint32_t rounds;
    uint32_t first_bad;      /* the first anomaly found; SIM__NIL: none */
    uint32_t ran_out;        /* the part in which max_steps ran out; SIM__NIL: none */
    uint32_t gave_up_memory; /* parts given up for memory */
    bool in_order;           /* one job: parts search one after another, in order */
    bool all_keys;
    bool progress;           /* in this round, a part was decided or stepped on */
    uint32_t last_memory;    /* in this round, the last part paused at its share */
    sim_check_search search;
} plan;

/* Operation o of the history as the model sees it; false when it certainly did not happen
 * (it failed). */
static bool op_of(const sim_history *h, uint32_t o, sim_op *op)
{
    const sim__hentry *in = &h->e[h->op_invoke[o]];
    uint32_t done = h->op_done[o];
    if (done != SIM__NIL && h->e[done].type == SIM_OP_FAIL) return false;
    bool ok = done != SIM__NIL && h->e[done].type == SIM_OP_OK;
    *op = (sim_op){.id = o, .process = in->process, .f = in->f, .key = in->key,
                   .input = in->value, .output = ok ? h->e[done].value : SIM_VALUE_UNKNOWN};
    return true;
}

/* Runs the model's prepare over every operation; keeps those it does not skip. */
static int prepare_ops(plan *p, char *err, size_t err_size)
{
    const sim_history *h = p->h;
    p->ops = sim__xcalloc(h->nops, sizeof *p->ops, "a check's operations");
    for (uint32_t o = 0; o < h->nops; o++) {
        sim_op op;
        if (!op_of(h, o, &op)) {
            p->nfailed++;
            continue;
        }
        char msg[256] = "the model refused it";
        if (p->m->prepare != NULL && !p->m->prepare(&p->prep, &op, msg, sizeof msg)) {
            uint32_t line = h->e[h->op_invoke[o]].line;
            if (line != 0) return sim__einval(err, err_size, "line %u: %s", line, msg);
            return sim__einval(err, err_size, "operation %u: %s", o, msg);
        }
        if (p->prep.full) return SIM_ELIMIT;
        if (op.skip) continue;
        if (op.output == SIM_VALUE_UNKNOWN) p->ninfo++;
        p->ops[p->nops++] = op;
    }
    return SIM_OK;
}

/* The part of each operation: one per key, numbered as keys first appear; one in all for a
 * model that is one object. */
static void split(plan *p)
{
    uint32_t nvals = sim__vtab_end(&p->prep.vals);
    uint32_t *part_of = sim__xcalloc(nvals, sizeof *part_of, "a check's keys");
    uint32_t *which = sim__xcalloc(p->nops, sizeof *which, "a check's keys");
    p->parts = sim__xcalloc(p->nops, sizeof *p->parts, "a check's keys");
    memset(part_of, 0xff, (size_t)nvals * sizeof *part_of);
    for (uint32_t i = 0; i < p->nops; i++) {
        uint32_t key = p->m->whole ? SIM__VAL_NIL : p->ops[i].key;
        if (part_of[key] == SIM__NIL) {
            part_of[key] = p->nparts;
            p->parts[p->nparts++].key = key;
        }
        which[i] = part_of[key];
        p->parts[which[i]].n++;
    }
    free(part_of);
    sim_op *sorted = sim__xcalloc(p->nops, sizeof *sorted, "a check's operations");
    p->call_at = sim__xcalloc(p->nops, sizeof *p->call_at, "a check's operations");
    p->ret_at = sim__xcalloc(p->nops, sizeof *p->ret_at, "a check's operations");
    uint32_t at = 0;
    for (uint32_t k = 0; k < p->nparts; k++) {
        sim__part *part = &p->parts[k];
        part->ops = sorted + at;
        part->call_at = p->call_at + at;
        part->ret_at = p->ret_at + at;
        at += part->n;
        part->n = 0;
    }
    for (uint32_t i = 0; i < p->nops; i++) {
        sim__part *part = &p->parts[which[i]];
        const sim_op *op = &p->ops[i];
        uint32_t done = p->h->op_done[op->id];
        part->call_at[part->n] = p->h->op_invoke[op->id];
        part->ret_at[part->n] = op->output == SIM_VALUE_UNKNOWN ? SIM__NIL : done;
        part->nok += op->output != SIM_VALUE_UNKNOWN;
        part->ops[part->n++] = *op;
    }
    free(p->ops);
    p->ops = sorted;
    free(which);
}

/* ---- searching the parts -------------------------------------------------------------------- */

static void stop_from(plan *p, uint32_t i)
{
    uint32_t cur = atomic_load(&p->stop);
    while (i < cur && !atomic_compare_exchange_weak(&p->stop, &cur, i)) {
    }
}

/* Part p->todo[t]'s round: resumes its search (making it, if its share allows) within the
 * round's bounds. */
static void search_part(void *arg, uint32_t t)
{
    plan *p = arg;
    uint32_t i = p->todo[t];
    SIM_ASSERT(!p->done[i]);
    p->rc[i] = SIM_OK;
    if (!p->all_keys && atomic_load(&p->stop) < i) return;
    if (p->w[i] == NULL) {
        /* Nothing allocated yet: not even its arrays fit, it waits (settle sees no search). */
        if (sim__wgl_fixed_bytes(p->m, &p->parts[i], p->search) > p->share[i]) return;
        p->ctx[i].full = false;
        p->w[i] = sim__wgl_new(p->m, &p->ctx[i], &p->parts[i], p->search);
    }
    uint64_t steps = p->cap;
    if (p->in_order && p->max_steps != UINT64_MAX) {
        steps = p->before[i] + (p->left < p->cap - p->before[i] ? p->left : p->cap - p->before[i]);
    }
    sim__limits lim = {.deadline_ns = p->deadline_ns, .max_configs = p->max_configs,
                       .max_bytes = p->share[i], .max_steps = steps,
                       .stop = p->all_keys ? NULL : &p->stop, .self = i};
    p->rc[i] = sim__wgl_run(p->w[i], &lim);
    const sim__search *r = sim__wgl_result(p->w[i]);
    if (p->rc[i] != SIM_OK || r->verdict == SIM_NOT_LINEARIZABLE) stop_from(p, i);
    SIM_ASSERT(r->steps <= steps);
    SIM_ASSERT(sim__wgl_bytes(p->w[i]) <= p->share[i]);
}

/* Part i is done: its result moves to res, its search is freed (the values stay for the
 * report). */
static void finish(plan *p, uint32_t i)
{
    SIM_ASSERT(!p->done[i]);
    if (p->w[i] != NULL) {
        sim__wgl_take(p->w[i], &p->res[i]);
        p->w[i] = NULL;
    }
    p->done[i] = true;
}

/* Takes part i's round as a check in (round, part) order would: false when the check ends
 * here (an anomaly, unless all_keys; max_steps ran out; the value table is full, *rc). */
static bool settle(plan *p, uint32_t i, int *rc)
{
    SIM_ASSERT(!p->done[i]);
    bool bounded = p->max_steps != UINT64_MAX;
    const sim__search *r = p->w[i] ? sim__wgl_result(p->w[i]) : NULL;
    uint64_t d = r ? r->steps - p->before[i] : 0;
    bool decided = r && r->verdict != SIM_CHECK_UNKNOWN;
    sim__why why = r == NULL ? SIM__WHY_MEMORY : decided ? SIM__WHY_NONE : r->why;
    SIM_ASSERT(why != SIM__WHY_STOPPED || !bounded || p->left == 0);
    /* With what was left a search in order would have run out here: after more steps than
     * were left, or when pausing with exactly none left (the bound is checked first). */
    if (bounded && (d > p->left || why == SIM__WHY_STOPPED ||
                    (d == p->left && (why == SIM__WHY_STEPS || why == SIM__WHY_MEMORY)))) {
        finish(p, i);
        p->res[i].verdict = SIM_CHECK_UNKNOWN;
        p->res[i].why = SIM__WHY_STEPS;
        p->res[i].steps = p->before[i] + p->left;
        p->left = 0;
        p->ran_out = i;
        return false;
    }
    if (bounded) p->left -= d;
    if (p->rc[i] != SIM_OK) {
        *rc = p->rc[i];
        return false;
    }
    if (why == SIM__WHY_MEMORY) {
        p->last_memory = i;
        return true;
    }
    p->progress = true;
    if (why == SIM__WHY_STEPS) return true;
    finish(p, i);
    if (p->res[i].verdict != SIM_NOT_LINEARIZABLE) return true;
    if (p->first_bad == SIM__NIL) p->first_bad = i;
    return p->all_keys;
}

/* The next round's bound on a part's steps: half as much again (at least one more), so that
 * the parts before an anomalous one spend at most 1.5 times what it needed (with doubling,
 * twice), in rounds that cost nothing to start. Saturates. */
static uint64_t next_cap(uint64_t cap)
{
    uint64_t add = cap / 2 + (cap & 1);
    return cap > UINT64_MAX - add ? UINT64_MAX : cap + add;
}

/* Sets up round p->rounds: its parts, bound and shares. False when no part is left. */
static bool round_start(plan *p)
{
    p->ntodo = 0;
    uint64_t held = p->base_bytes;
    for (uint32_t i = 0; i < p->nparts; i++) {
        if (p->done[i]) continue;
        p->todo[p->ntodo++] = i;
        p->before[i] = p->w[i] ? sim__wgl_result(p->w[i])->steps : 0;
        held += p->w[i] ? sim__wgl_bytes(p->w[i]) : 0;
    }
    if (p->ntodo == 0) return false;
    uint64_t free_bytes = p->max_memory > held ? p->max_memory - held : 0;
    uint64_t each = free_bytes / p->ntodo;
    for (uint32_t t = 0; t < p->ntodo; t++) {
        uint32_t i = p->todo[t];
        p->share[i] = (p->w[i] ? sim__wgl_bytes(p->w[i]) : 0) + each;
    }
    /* Within the round each part stays within its share, so the whole within the limit. */
    SIM_ASSERT(held + each * p->ntodo <= p->max_memory || held > p->max_memory);
    if (held > p->peak_bytes) p->peak_bytes = held;
    p->cap = p->rounds == 0 ? p->round_steps : next_cap(p->cap);
    p->progress = false;
    p->last_memory = SIM__NIL;
    atomic_store(&p->stop, SIM__NIL);
    return true;
}

/* One round; false when the check ends (*rc set for an error). */
static bool round_run(plan *p, uint32_t jobs, int *rc)
{
    if (p->in_order) {
        for (uint32_t t = 0; t < p->ntodo; t++) {
            search_part(p, t);
            if (!settle(p, p->todo[t], rc)) return false;
        }
    } else {
        sim__check_jobs(p->ntodo, jobs, search_part, p);
        for (uint32_t t = 0; t < p->ntodo; t++) {
            if (!settle(p, p->todo[t], rc)) return false;
        }
    }
    /* Every part paused at its share: the last gives up, and its memory goes to the rest. */
    if (!p->progress && p->last_memory != SIM__NIL) {
        uint32_t i = p->last_memory;
        finish(p, i);
        p->res[i].verdict = SIM_CHECK_UNKNOWN;
        p->res[i].why = SIM__WHY_MEMORY;
        p->gave_up_memory++;
    }
    p->rounds++;
    return true;
}

/* ---- the report ----------------------------------------------------------------------------- */

struct sim_check_result {
    sim_verdict verdict;
    text summary, report, json;
};

typedef struct writer {
    const plan *p;
    sim_check_result *r;
    uint32_t part;           /* the part reported */
    const sim_check_ctx *c;  /* its values */
} writer;

/* Where entry i happened: its time, its line, or its number. */
static void at_text(const sim_history *h, uint32_t i, char *buf, size_t size)
{
    if (i == SIM__NIL) {
        snprintf(buf, size, "(info)");
    } else if (h->e[i].has_time) {
        sim__fmt_time(h->e[i].time_ns, buf, size);
    } else if (h->e[i].line != 0) {
        snprintf(buf, size, "line %u", h->e[i].line);
    } else {
        snprintf(buf, size, "#%u", i + 1);
    }
}

/* "read -> 2", "write 1 -> 1", "cas [1 2] -> ?". */
static void call_text(const writer *w, const sim_op *op, char *buf, size_t size)
{
    char f[128], in[256], out[256];
    sim_check_value_text(w->c, op->f, f, sizeof f);
    sim_check_value_text(w->c, op->input, in, sizeof in);
    sim_check_value_text(w->c, op->output, out, sizeof out);
    if (op->input == SIM__VAL_NIL) {
        snprintf(buf, size, "%s -> %s", f + 1, out);
    } else {
        snprintf(buf, size, "%s %s -> %s", f + 1, in, out);
    }
}

/* Whether the history has keys to speak of: not for a model that is one object, nor for a
 * history whose operations have none. */
static bool keyed(const plan *p)
{
    return !p->m->whole && (p->nparts > 1 || (p->nparts == 1 && p->parts[0].key != SIM__VAL_NIL));
}

static const char *plural(uint32_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void key_text(const writer *w, char *buf, size_t size)
{
    if (!keyed(w->p)) {
        snprintf(buf, size, "(all)");
    } else {
        sim_check_value_text(w->c, w->p->parts[w->part].key, buf, size);
    }
}

static void op_row(writer *w, uint32_t i)
{
    const sim__part *part = &w->p->parts[w->part];
    char inv[48], done[48], call[704];
    at_text(w->p->h, part->call_at[i], inv, sizeof inv);
    at_text(w->p->h, part->ret_at[i], done, sizeof done);
    call_text(w, &part->ops[i], call, sizeof call);
    add(&w->r->report, "    %6u  %7u  %-16s %-16s %s\n", part->ops[i].id, part->ops[i].process,
        inv, done, call);
}

static void op_json(writer *w, uint32_t i)
{
    const sim__part *part = &w->p->parts[w->part];
    const sim_op *op = &part->ops[i];
    char call[704], v[256];
    call_text(w, op, call, sizeof call);
    add(&w->r->json, "{\"op\":%u,\"process\":%u,\"call\":", op->id, op->process);
    add_json(&w->r->json, call);
    sim_check_value_text(w->c, op->input, v, sizeof v);
    add(&w->r->json, ",\"value\":");
    add_json(&w->r->json, v);
    sim_check_value_text(w->c, op->output, v, sizeof v);
    add(&w->r->json, ",\"output\":");
    add_json(&w->r->json, v);
    const uint32_t at[2] = {part->call_at[i], part->ret_at[i]};
    const char *const name[2] = {"invoked", "completed"};
    for (int k = 0; k < 2; k++) {
        if (at[k] == SIM__NIL) continue;
        const sim__hentry *e = &w->p->h->e[at[k]];
        if (e->line) add(&w->r->json, ",\"%s_line\":%u", name[k], e->line);
        if (e->has_time) add(&w->r->json, ",\"%s_ns\":%llu", name[k],
                             (unsigned long long)e->time_ns);
    }
    add(&w->r->json, "}");
}

static void counts_json(writer *w)
{
    const plan *p = w->p;
    add(&w->r->json, "\"model\":");
    add_json(&w->r->json, p->m->name);
    add(&w->r->json, ",\"operations\":%u,\"keys\":%u,\"failed\":%u,\"info\":%u", p->nops,
        keyed(p) ? p->nparts : 0, p->nfailed, p->ninfo);
}

static void counts_text(writer *w, uint64_t configs)
{
    const plan *p = w->p;
    add(&w->r->report, "  %u %s", p->nops, plural(p->nops, "operation", "operations"));
    if (keyed(p)) add(&w->r->report, " on %u %s", p->nparts, plural(p->nparts, "key", "keys"));
    add(&w->r->report, " (%u failed, left out; %u info, may have happened); %llu %s searched\n",
        p->nfailed, p->ninfo, (unsigned long long)configs,
        plural(configs == 1 ? 1u : 2u, "configuration", "configurations"));
}

static void write_linearizable(writer *w)
{
    const plan *p = w->p;
    uint64_t configs = 0, steps = 0;
    for (uint32_t i = 0; i < p->nparts; i++) {
        SIM_ASSERT(p->res[i].verdict == SIM_LINEARIZABLE);
        configs += p->res[i].configs;
        steps += p->res[i].steps;
    }
    if (p->max_steps != UINT64_MAX) SIM_ASSERT(steps <= p->max_steps);
    add(&w->r->summary, "linearizable: %u %s", p->nops, plural(p->nops, "operation", "operations"));
    if (keyed(p)) add(&w->r->summary, " on %u %s", p->nparts, plural(p->nparts, "key", "keys"));
    add(&w->r->summary, " (model %s)", p->m->name);
    add(&w->r->report, "%s\n", w->r->summary.s);
    counts_text(w, configs);
    add(&w->r->json, "{\"verdict\":\"linearizable\",");
    counts_json(w);
    add(&w->r->json, ",\"configurations\":%llu,\"steps\":%llu}", (unsigned long long)configs,
        (unsigned long long)steps);
}

/* The keys not decided when the check ended (an anomaly found first): ", undecided" and
 * their names in the report and the JSON. */
static void undecided_text(writer *w)
{
    const plan *p = w->p;
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->nparts; i++) n += p->res[i].why == SIM__WHY_STOPPED;
    add(&w->r->json, ",\"rounds\":%u,\"undecided\":[", p->rounds + 1);
    if (n == 0 || !keyed(p)) {
        add(&w->r->json, "]");
        return;
    }
    add(&w->r->report, "  %u %s left undecided when it was found (--all-keys decides them):",
        n, plural(n, "key", "keys"));
    for (uint32_t i = 0, listed = 0; i < p->nparts; i++) {
        if (p->res[i].why != SIM__WHY_STOPPED) continue;
        char key[256];
        sim_check_value_text(&p->prep, p->parts[i].key, key, sizeof key);
        if (listed < REPORT_UNDECIDED) add(&w->r->report, " %s", key);
        if (listed) add(&w->r->json, ",");
        add_json(&w->r->json, key);
        listed++;
    }
    if (n > REPORT_UNDECIDED) add(&w->r->report, " ...");
    add(&w->r->report, "\n");
    add(&w->r->json, "]");
}

/* With all_keys, the other keys found not linearizable. */
static void others_text(writer *w)
{
    const plan *p = w->p;
    if (!p->all_keys || !keyed(p)) return;
    add(&w->r->report, "  keys not linearizable:");
    add(&w->r->json, ",\"keys_not_linearizable\":[");
    for (uint32_t i = 0, listed = 0; i < p->nparts; i++) {
        if (p->res[i].verdict != SIM_NOT_LINEARIZABLE) continue;
        char key[256];
        sim_check_value_text(&p->prep, p->parts[i].key, key, sizeof key);
        add(&w->r->report, " %s", key);
        if (listed++) add(&w->r->json, ",");
        add_json(&w->r->json, key);
    }
    add(&w->r->report, "\n");
    add(&w->r->json, "]");
}

/* The bound on steps ran out in this part. Said in steps, not configurations: how many of
 * those a part had remembered when the bound ran out depends on whether parts searched in
 * order or at once (settle), the bound does not. */
static void write_out_of_steps(writer *w, const char *key)
{
    const plan *p = w->p;
    uint32_t decided = 0;
    for (uint32_t i = 0; i < p->nparts; i++) decided += p->res[i].verdict == SIM_LINEARIZABLE;
    add(&w->r->summary, "unknown: the search reached its bound of %llu steps%s%s (model %s)",
        (unsigned long long)p->max_steps, keyed(p) ? " on key " : "", keyed(p) ? key : "",
        p->m->name);
    add(&w->r->report, "%s\n", w->r->summary.s);
    add(&w->r->report, "  %u %s", p->nops, plural(p->nops, "operation", "operations"));
    if (keyed(p)) add(&w->r->report, " on %u %s", p->nparts, plural(p->nparts, "key", "keys"));
    add(&w->r->report, " (%u failed, left out; %u info, may have happened)", p->nfailed,
        p->ninfo);
    if (keyed(p) && p->nparts > 1) {
        add(&w->r->report, "; %u %s linearizable, %u undecided", decided,
            plural(decided, "key", "keys"), p->nparts - decided - 1);
    }
    add(&w->r->report, "\n");
    add(&w->r->json, "{\"verdict\":\"unknown\",");
    counts_json(w);
    add(&w->r->json, ",\"reason\":\"steps\",\"key\":");
    add_json(&w->r->json, key);
    add(&w->r->json, ",\"steps\":%llu}", (unsigned long long)p->max_steps);
}

static void write_unknown(writer *w)
{
    const sim__search *res = &w->p->res[w->part];
    char key[256];
    key_text(w, key, sizeof key);
    SIM_ASSERT(res->verdict == SIM_CHECK_UNKNOWN);
    SIM_ASSERT(res->why != SIM__WHY_NONE);
    if (res->why == SIM__WHY_STEPS) {
        write_out_of_steps(w, key);
        return;
    }
    const plan *p = w->p;
    char why[128];
    if (res->why == SIM__WHY_TIMEOUT) {
        snprintf(why, sizeof why, "the timeout ran out");
    } else if (res->why == SIM__WHY_CONFIGS) {
        snprintf(why, sizeof why, "the search reached its bound of %llu configurations",
                 (unsigned long long)p->max_configs);
    } else {
        SIM_ASSERT(res->why == SIM__WHY_MEMORY);
        snprintf(why, sizeof why, "the check reached its memory limit of %llu bytes",
                 (unsigned long long)p->max_memory);
    }
    add(&w->r->summary, "unknown: %s%s%s after %llu configurations (model %s)", why,
        keyed(p) ? " on key " : "", keyed(p) ? key : "", (unsigned long long)res->configs,
        p->m->name);
    add(&w->r->report, "%s\n", w->r->summary.s);
    counts_text(w, res->configs);
    if (res->why == SIM__WHY_MEMORY) {
        add(&w->r->report, "  memory: %llu of %llu bytes held at most, counted between rounds\n",
            (unsigned long long)p->peak_bytes, (unsigned long long)p->max_memory);
    }
    add(&w->r->json, "{\"verdict\":\"unknown\",");
    counts_json(w);
    add(&w->r->json, ",\"reason\":\"%s\",\"key\":",
        res->why == SIM__WHY_TIMEOUT ? "timeout" : res->why == SIM__WHY_CONFIGS ? "configurations"
                                                                             : "memory");
    add_json(&w->r->json, key);
    add(&w->r->json, ",\"configurations\":%llu,\"steps\":%llu,\"max_memory\":%llu,"
                     "\"memory_peak\":%llu}",
        (unsigned long long)res->configs, (unsigned long long)res->steps,
        (unsigned long long)p->max_memory, (unsigned long long)p->peak_bytes);
}

/* The operations that could take effect right after the prefix: not in it, and invoked
 * before the first completion of an operation outside it. Marks them in next[]. */
static uint32_t candidates(const writer *w, const bool *in_prefix, bool *next)
{
    const sim__part *part = &w->p->parts[w->part];
    uint32_t first_ret = SIM__NIL, n = 0;
    for (uint32_t i = 0; i < part->n; i++) {
        if (!in_prefix[i] && part->ret_at[i] < first_ret) first_ret = part->ret_at[i];
    }
    for (uint32_t i = 0; i < part->n; i++) {
        next[i] = !in_prefix[i] && part->call_at[i] < first_ret;
        n += next[i];
    }
    return n;
}

static void write_not(writer *w)
{
    const sim__part *part = &w->p->parts[w->part];
    const sim__search *res = &w->p->res[w->part];
    bool *in_prefix = sim__xcalloc(part->n, sizeof *in_prefix, "a check's report");
    bool *next = sim__xcalloc(part->n, sizeof *next, "a check's report");
    for (uint32_t i = 0; i < res->nbest; i++) in_prefix[res->best[i]] = true;
    uint32_t nnext = candidates(w, in_prefix, next);
    char key[256], state[256];
    key_text(w, key, sizeof key);
    w->p->m->describe(w->c, res->best_state, state, sizeof state);
    bool k = keyed(w->p);
    add(&w->r->summary, "not linearizable%s%s (model %s): %u of %u operations linearize, then "
                        "%u cannot take effect",
        k ? " on key " : "", k ? key : "", w->p->m->name, res->nbest, part->n, nnext);
    add(&w->r->report, "%s\n\n", w->r->summary.s);
    uint32_t from = res->nbest > REPORT_PREFIX ? res->nbest - REPORT_PREFIX : 0;
    add(&w->r->report, "  the longest linearizable prefix%s%s (the last %u of %u):\n",
        k ? " of key " : "", k ? key : "", res->nbest - from, res->nbest);
    add(&w->r->report, "    %6s  %7s  %-16s %-16s %s\n", "op", "process", "invoked", "completed",
        "operation");
    for (uint32_t i = from; i < res->nbest; i++) op_row(w, res->best[i]);
    add(&w->r->report, "  state after it: %s\n\n  none of these can take effect next:\n", state);
    for (uint32_t i = 0; i < part->n; i++) {
        if (next[i]) op_row(w, i);
    }
    add(&w->r->report, "\n");
    counts_text(w, res->configs);
    size_t json_at = w->r->json.len;
    undecided_text(w);
    others_text(w);
    /* Those two wrote their JSON first: it goes at the end, after the rest. */
    char *extra = sim__xmalloc(w->r->json.len - json_at + 1, "a check's report");
    memcpy(extra, w->r->json.s + json_at, w->r->json.len - json_at);
    extra[w->r->json.len - json_at] = '\0';
    w->r->json.len = json_at;
    if (w->r->json.s != NULL) w->r->json.s[json_at] = '\0';

    add(&w->r->json, "{\"verdict\":\"not linearizable\",");
    counts_json(w);
    add(&w->r->json, ",\"key\":");
    add_json(&w->r->json, key);
    add(&w->r->json, ",\"key_operations\":%u,\"prefix_length\":%u,\"prefix_tail\":[", part->n,
        res->nbest);
    for (uint32_t i = from; i < res->nbest; i++) {
        if (i > from) add(&w->r->json, ",");
        op_json(w, res->best[i]);
    }
    add(&w->r->json, "],\"state\":");
    add_json(&w->r->json, state);
    add(&w->r->json, ",\"cannot_follow\":[");
    for (uint32_t i = 0, listed = 0; i < part->n; i++) {
        if (!next[i]) continue;
        if (listed++) add(&w->r->json, ",");
        op_json(w, i);
    }
    add(&w->r->json, "],\"configurations\":%llu,\"steps\":%llu%s}",
        (unsigned long long)res->configs, (unsigned long long)res->steps, extra);
    free(extra);
    free(in_prefix);
    free(next);
}

/* The verdict of the first anomaly found (in (round, part) order), else unknown: the part
 * where the bound on steps ran out, or the first part given up; else linearizable. */
static void write_result(const plan *p, sim_check_result *r)
{
    writer w = {.p = p, .r = r, .c = &p->prep};
    if (p->first_bad != SIM__NIL) {
        r->verdict = SIM_NOT_LINEARIZABLE;
        w.part = p->first_bad;
        w.c = &p->ctx[w.part];
        write_not(&w);
        return;
    }
    for (uint32_t i = 0; i < p->nparts; i++) {
        uint32_t at = p->ran_out != SIM__NIL ? p->ran_out : i;
        if (p->res[at].verdict != SIM_CHECK_UNKNOWN) continue;
        i = at;
        r->verdict = SIM_CHECK_UNKNOWN;
        w.part = i;
        w.c = &p->ctx[i];
        write_unknown(&w);
        return;
    }
    r->verdict = SIM_LINEARIZABLE;
    write_linearizable(&w);
}

/* ---- sim_check ------------------------------------------------------------------------------ */

static bool model_ok(const sim_model *m)
{
    return m != NULL && m->name != NULL && m->state_size >= 1 &&
           m->state_size <= SIM_MODEL_STATE_MAX && m->init != NULL && m->step != NULL &&
           m->describe != NULL;
}

static void plan_release(plan *p)
{
    for (uint32_t i = 0; p->ctx != NULL && i < p->nparts; i++) {
        if (p->w[i] != NULL) sim__wgl_take(p->w[i], &p->res[i]);
        sim__ctx_release(&p->ctx[i]);
        free(p->res[i].best);
    }
    free(p->w);
    free(p->done);
    free(p->before);
    free(p->share);
    free(p->todo);
    sim__ctx_release(&p->prep);
    free(p->ctx);
    free(p->res);
    free(p->rc);
    free(p->ops);
    free(p->call_at);
    free(p->ret_at);
    free(p->parts);
}

/* The bytes of the plan's own arrays and values, counted against max_memory. */
static uint64_t plan_bytes(const plan *p)
{
    uint64_t n = p->nparts;
    return (uint64_t)p->nops * (sizeof *p->ops + 2 * sizeof(uint32_t)) +
           n * (sizeof *p->parts + sizeof *p->ctx + sizeof *p->res + sizeof *p->rc +
                sizeof *p->w + sizeof *p->done + 2 * sizeof(uint64_t) + sizeof *p->share +
                sizeof *p->todo) +
           sim__vtab_held(&p->prep.vals);
}

static int search_all(plan *p, const sim_check_desc *d)
{
    p->ctx = sim__xcalloc(p->nparts, sizeof *p->ctx, "a check's keys");
    p->res = sim__xcalloc(p->nparts, sizeof *p->res, "a check's keys");
    p->rc = sim__xcalloc(p->nparts, sizeof *p->rc, "a check's keys");
    p->w = sim__xcalloc(p->nparts, sizeof *p->w, "a check's keys");
    p->done = sim__xcalloc(p->nparts, sizeof *p->done, "a check's keys");
    p->before = sim__xcalloc(p->nparts, sizeof *p->before, "a check's keys");
    p->share = sim__xcalloc(p->nparts, sizeof *p->share, "a check's keys");
    p->todo = sim__xcalloc(p->nparts, sizeof *p->todo, "a check's keys");
    for (uint32_t i = 0; i < p->nparts; i++) sim__ctx_init(&p->ctx[i], &p->prep.vals);
    atomic_init(&p->stop, SIM__NIL);
    p->max_configs = d->max_configs ? d->max_configs : DEFAULT_MAX_CONFIGS;
    p->max_steps = d->max_steps ? d->max_steps : UINT64_MAX;
    p->left = p->max_steps;
    p->max_memory = d->max_memory ? d->max_memory : DEFAULT_MAX_MEMORY;
    p->base_bytes = plan_bytes(p);
    p->first_bad = p->ran_out = SIM__NIL;
    p->in_order = d->jobs <= 1 || p->nparts <= 1;
    p->all_keys = d->all_keys;
    p->round_steps = d->round_steps ? d->round_steps : ROUND_STEPS;
    p->search = d->search;
    /* A timeout longer than the host clock can count is no timeout: saturate, so that the
     * deadline never wraps to one already past. */
    if (d->timeout_ns != 0) {
        uint64_t now = sim__host_now_ns();
        p->deadline_ns = sim__add_sat(now, d->timeout_ns);
        SIM_ASSERT(p->deadline_ns > now || now == UINT64_MAX);
    }
    int rc = SIM_OK;
    while (round_start(p) && round_run(p, d->jobs, &rc)) {
    }
    /* The parts left undecided keep what they found so far. */
    for (uint32_t i = 0; i < p->nparts; i++) {
        if (p->done[i]) continue;
        if (p->w[i] != NULL) sim__wgl_take(p->w[i], &p->res[i]);
        p->w[i] = NULL;
        p->res[i].verdict = SIM_CHECK_UNKNOWN;
        p->res[i].why = SIM__WHY_STOPPED;
    }
    if (p->first_bad != SIM__NIL) SIM_ASSERT(p->res[p->first_bad].verdict == SIM_NOT_LINEARIZABLE);
    return rc;
}

int sim_check(const sim_history *h, const sim_check_desc *d, sim_check_result **out, char *err,
              size_t err_size)
{
    *out = NULL;
    if (err != NULL && err_size > 0) err[0] = '\0';
    if (h == NULL || d == NULL || !model_ok(d->model)) {
        return sim__einval(err, err_size,
                           "a check needs a history and a model with a name, a state of 1 to %d "
                           "bytes, init, step and describe",
                           SIM_MODEL_STATE_MAX);
    }
    if ((unsigned)d->search > SIM_SEARCH_PRUNE) {
        return sim__einval(err, err_size, "the search is auto, wgl or prune, not number %u",
                           (unsigned)d->search);
    }
    plan p = {.h = h, .m = d->model};
    sim__ctx_init(&p.prep, &h->vals);
    int rc = prepare_ops(&p, err, err_size);
    if (rc == SIM_OK) {
        split(&p);
        rc = search_all(&p, d);
    }
    sim_check_result *r = NULL;
    if (rc == SIM_OK) {
        r = sim__xcalloc(1, sizeof *r, "a check's result");
        write_result(&p, r);
    }
    plan_release(&p);
    if (rc != SIM_OK) {
        sim_check_result_free(r);
        return rc;
    }
    *out = r;
    return SIM_OK;
}

sim_verdict sim_check_verdict(const sim_check_result *r)
{
    return r->verdict;
}

const char *sim_check_summary(const sim_check_result *r)
{
    return r->summary.s;
}

const char *sim_check_report(const sim_check_result *r, bool json)
{
    return json ? r->json.s : r->report.s;
}

void sim_check_result_free(sim_check_result *r)
{
    if (r == NULL) return;
    free(r->summary.s);
    free(r->report.s);
    free(r->json.s);
    free(r);
}
