/*
 * check.c: sim_check (sim.h, docs/checking.md). Pairs each invocation with its completion
 * into an operation, lets the model check each one, splits them by key (P-compositionality:
 * a history is linearizable when each key's part is), searches each part (wgl.c, in threads
 * with jobs > 1) and writes the verdict.
 *
 * The result does not depend on jobs: parts are numbered in the order their keys first
 * appear, and the verdict is that of the first part, in that order, that is not
 * linearizable. A part that finds an anomaly stops the searches of the parts after it (their
 * result could not change the verdict), never those before.
 *
 * A bound on steps (max_steps) is for the whole check, spent by the parts in their order:
 * with one job each part searches with what the parts before it left; with more, each
 * searches at once with the whole bound, and budget_in_order then takes their verdicts in
 * order, keeping one only if it was reached within what was left. A search that needs n
 * steps finishes under any bound of n or more (wgl.c), so both give the same result.
 */
#include <stdarg.h>
#include <stdio.h>

#include "check.h"

/* What one key's search may remember, in bytes: past this the verdict is unknown. */
#define MAX_BYTES (2ull << 30)
#define DEFAULT_MAX_CONFIGS (1ull << 24)
/* Operations of the prefix a report shows. */
#define REPORT_PREFIX 8u

/* ---- what models see ------------------------------------------------------------------------ */

sim_value sim_check_value(const sim_check_ctx *c, uint32_t id)
{
    SIM_ASSERT(id != SIM_VALUE_UNKNOWN);
    const sim__val *v = sim__vtab_at(&c->vals, id);
    sim_value out = {.kind = (sim_value_kind)v->kind, .len = v->len};
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
    if (id == SIM__NIL) c->full = true;
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
    sim__search *res;
    int *rc;
    _Atomic uint32_t stop;   /* the first part found not linearizable so far */
    uint64_t deadline_ns, max_configs;
    uint64_t max_steps;      /* for the whole check; UINT64_MAX: no bound */
    bool in_order;           /* one job: parts search one after another, in order */
    uint64_t steps_left;     /* in order: what the parts searched so far left of max_steps */
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

static void search_part(void *arg, uint32_t i)
{
    plan *p = arg;
    if (atomic_load(&p->stop) < i) {
        p->res[i] = (sim__search){.verdict = SIM_CHECK_UNKNOWN, .why = SIM__WHY_STOPPED};
        return;
    }
    p->ctx[i].full = false;
    sim__vtab_init(&p->ctx[i].vals, &p->prep.vals);
    sim__limits lim = {.deadline_ns = p->deadline_ns, .max_configs = p->max_configs,
                       .max_bytes = MAX_BYTES, .stop = &p->stop, .self = i,
                       .search = p->search,
                       .max_steps = p->in_order ? p->steps_left : p->max_steps};
    p->rc[i] = sim__wgl(p->m, &p->ctx[i], &p->parts[i], &lim, &p->res[i]);
    if (p->rc[i] != SIM_OK || p->res[i].verdict == SIM_NOT_LINEARIZABLE) stop_from(p, i);
    if (p->in_order && p->max_steps != UINT64_MAX && p->rc[i] == SIM_OK) {
        SIM_ASSERT(p->res[i].steps <= p->steps_left);
        p->steps_left -= p->res[i].steps;
    }
}

/* With parts searched at once, each with the whole bound: the verdicts a search in order
 * would have reached. In order, part i had what the parts before it left; its verdict (or a
 * memory or time limit it met) stands if it took no more steps than that, and otherwise the
 * bound ran out in it, after exactly what was left. Parts after an anomaly that stands do
 * not matter (the verdict is the anomaly's); parts stopped by an anomaly that does not stand
 * come after a part where the bound ran out, and are unknown as well. */
static void budget_in_order(plan *p)
{
    uint64_t left = p->max_steps;
    for (uint32_t i = 0; i < p->nparts; i++) {
        sim__search *r = &p->res[i];
        /* A part that failed (out of memory) comes after an anomaly (search_all returns the
         * error otherwise); reached, that anomaly did not stand and nothing is left. */
        bool failed = p->rc[i] != SIM_OK;
        if (failed) SIM_ASSERT(left == 0);
        p->rc[i] = SIM_OK;
        if (failed || r->why == SIM__WHY_STOPPED || r->steps > left ||
            (r->why == SIM__WHY_STEPS && r->steps == left)) {
            r->verdict = SIM_CHECK_UNKNOWN;
            r->why = SIM__WHY_STEPS;
            r->steps = left;
            left = 0;
            continue;
        }
        left -= r->steps;
        if (r->verdict == SIM_NOT_LINEARIZABLE) return;
    }
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

static const char *why_text(sim__why why)
{
    return why == SIM__WHY_TIMEOUT ? "the timeout ran out" : "the search outgrew its memory limit";
}

/* The bound on steps ran out in this part. Said in steps, not configurations: how many of
 * those a part had remembered when the bound ran out depends on whether parts searched in
 * order or at once (budget_in_order), the bound does not. */
static void write_out_of_steps(writer *w, const char *key)
{
    const plan *p = w->p;
    uint32_t decided = 0;
    for (uint32_t i = 0; i < w->part; i++) decided += p->res[i].verdict != SIM_CHECK_UNKNOWN;
    add(&w->r->summary, "unknown: the search reached its bound of %llu steps%s%s (model %s)",
        (unsigned long long)p->max_steps, keyed(p) ? " on key " : "", keyed(p) ? key : "",
        p->m->name);
    add(&w->r->report, "%s\n", w->r->summary.s);
    add(&w->r->report, "  %u %s", p->nops, plural(p->nops, "operation", "operations"));
    if (keyed(p)) add(&w->r->report, " on %u %s", p->nparts, plural(p->nparts, "key", "keys"));
    add(&w->r->report, " (%u failed, left out; %u info, may have happened)", p->nfailed,
        p->ninfo);
    if (keyed(p) && p->nparts > 1) {
        add(&w->r->report, "; %u %s linearizable before it", decided,
            plural(decided, "key", "keys"));
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
    add(&w->r->summary, "unknown: %s%s%s after %llu configurations (model %s)",
        why_text(res->why), keyed(w->p) ? " on key " : "", keyed(w->p) ? key : "",
        (unsigned long long)res->configs, w->p->m->name);
    add(&w->r->report, "%s\n", w->r->summary.s);
    counts_text(w, res->configs);
    add(&w->r->json, "{\"verdict\":\"unknown\",");
    counts_json(w);
    add(&w->r->json, ",\"reason\":\"%s\",\"key\":", res->why == SIM__WHY_TIMEOUT ? "timeout"
                                                                               : "memory");
    add_json(&w->r->json, key);
    add(&w->r->json, ",\"configurations\":%llu,\"steps\":%llu}",
        (unsigned long long)res->configs, (unsigned long long)res->steps);
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
    add(&w->r->json, "],\"configurations\":%llu,\"steps\":%llu}",
        (unsigned long long)res->configs, (unsigned long long)res->steps);
    free(in_prefix);
    free(next);
}

/* The verdict of the first part (in order) that is not linearizable, else unknown if a part
 * is, else linearizable. */
static void write_result(const plan *p, sim_check_result *r)
{
    writer w = {.p = p, .r = r, .c = &p->prep};
    for (uint32_t i = 0; i < p->nparts; i++) {
        if (p->res[i].verdict != SIM_NOT_LINEARIZABLE) continue;
        r->verdict = SIM_NOT_LINEARIZABLE;
        w.part = i;
        w.c = &p->ctx[i];
        write_not(&w);
        return;
    }
    for (uint32_t i = 0; i < p->nparts; i++) {
        if (p->res[i].verdict != SIM_CHECK_UNKNOWN) continue;
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
        sim__vtab_release(&p->ctx[i].vals);
        free(p->res[i].best);
    }
    sim__vtab_release(&p->prep.vals);
    free(p->ctx);
    free(p->res);
    free(p->rc);
    free(p->ops);
    free(p->call_at);
    free(p->ret_at);
    free(p->parts);
}

static int search_all(plan *p, const sim_check_desc *d)
{
    p->ctx = sim__xcalloc(p->nparts, sizeof *p->ctx, "a check's keys");
    p->res = sim__xcalloc(p->nparts, sizeof *p->res, "a check's keys");
    p->rc = sim__xcalloc(p->nparts, sizeof *p->rc, "a check's keys");
    atomic_init(&p->stop, SIM__NIL);
    p->max_configs = d->max_configs ? d->max_configs : DEFAULT_MAX_CONFIGS;
    p->max_steps = d->max_steps ? d->max_steps : UINT64_MAX;
    p->steps_left = p->max_steps;
    p->in_order = d->jobs <= 1 || p->nparts <= 1;
    p->search = d->search;
    /* A timeout longer than the host clock can count is no timeout: saturate, so that the
     * deadline never wraps to one already past. */
    if (d->timeout_ns != 0) {
        uint64_t now = sim__host_now_ns();
        p->deadline_ns = sim__add_sat(now, d->timeout_ns);
        SIM_ASSERT(p->deadline_ns > now || now == UINT64_MAX);
    }
    sim__check_jobs(p->nparts, p->in_order ? 1 : d->jobs, search_part, p);
    uint32_t stop = atomic_load(&p->stop);
    if (stop < p->nparts && p->rc[stop] != SIM_OK) return p->rc[stop];
    if (!p->in_order && p->max_steps != UINT64_MAX) budget_in_order(p);
    return SIM_OK;
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
    sim__vtab_init(&p.prep.vals, &h->vals);
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
