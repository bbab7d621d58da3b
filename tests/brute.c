/*
 * brute.c: the exhaustive linearizability checker of brute.h, the object that generates its
 * histories, and their EDN text. The checker under test is not used here: this file is the
 * independent opinion.
 */
#include "brute.h"

#include <stdio.h>
#include <string.h>

typedef struct kv_state {
    bool present[2];
    char v[2][16];
} kv_state;

typedef struct state {
    int reg;
    kv_state kv;
} state;

int brute_pick(brute_source *s, int n)
{
    return (int)(s->next(s->ud) % (uint64_t)n);
}

/* ---- the rules, written again ---------------------------------------------------------------- */

/* Applies o to st; false if o, having completed ok, could not have returned what it did. */
static bool apply(state *st, const brute_op *o, bool check_output)
{
    switch (o->f) {
    case BRUTE_READ: return !check_output || o->out_int == st->reg;
    case BRUTE_WRITE: st->reg = o->in; return true;
    case BRUTE_CAS:
        if (st->reg == o->in) {
            st->reg = o->in2;
            return true;
        }
        return !check_output;
    case BRUTE_GET: {
        if (!check_output) return true;
        bool present = st->kv.present[o->key];
        return o->out_nil ? !present : present && strcmp(o->out, st->kv.v[o->key]) == 0;
    }
    case BRUTE_PUT:
        st->kv.present[o->key] = true;
        snprintf(st->kv.v[o->key], sizeof st->kv.v[o->key], "%c", 'a' + o->in);
        return true;
    case BRUTE_APPEND: {
        char *v = st->kv.v[o->key];
        if (!st->kv.present[o->key]) v[0] = '\0';
        size_t len = strlen(v);
        if (len + 1 >= sizeof st->kv.v[o->key]) return false; /* generated histories stay short */
        v[len] = (char)('a' + o->in);
        v[len + 1] = '\0';
        st->kv.present[o->key] = true;
        return true;
    }
    default: { /* BRUTE_RM */
        bool was = st->kv.present[o->key];
        st->kv.present[o->key] = false;
        st->kv.v[o->key][0] = '\0';
        if (!check_output || o->out_nil) return true;
        return o->out_int == (was ? 1 : 0);
    }
    }
}

/* ---- the exhaustive search ------------------------------------------------------------------ */

/* Can the operations not yet placed be ordered after st? Tries every operation that real time
 * allows next; info operations may also never happen. */
static bool search(const brute_hist *h, bool *placed, state st)
{
    bool all_ok = true;
    int first_ret = INT32_MAX;
    for (int i = 0; i < h->n; i++) {
        if (placed[i] || h->ops[i].done == BRUTE_FAIL) continue;
        if (h->ops[i].done == BRUTE_OK) {
            all_ok = false;
            if (h->ops[i].ret < first_ret) first_ret = h->ops[i].ret;
        }
    }
    if (all_ok) return true;
    for (int i = 0; i < h->n; i++) {
        const brute_op *o = &h->ops[i];
        if (placed[i] || o->done == BRUTE_FAIL || o->call > first_ret) continue;
        state next = st;
        if (!apply(&next, o, o->done == BRUTE_OK)) continue;
        placed[i] = true;
        bool found = search(h, placed, next);
        placed[i] = false;
        if (found) return true;
    }
    return false;
}

bool brute_linearizable(const brute_hist *h)
{
    bool placed[BRUTE_MAX_OPS] = {false};
    state st = {.reg = BRUTE_NONE};
    return search(h, placed, st);
}

/* ---- generated histories -------------------------------------------------------------------- */

static void new_op(brute_hist *h, brute_op *o, brute_source *s)
{
    memset(o, 0, sizeof *o);
    if (h->kv) {
        o->f = (brute_f)(BRUTE_GET + brute_pick(s, 4));
        o->key = brute_pick(s, 2);
    } else {
        o->f = (brute_f)brute_pick(s, 3);
    }
    o->in = brute_pick(s, h->values);
    o->in2 = brute_pick(s, h->values);
    if (o->f == BRUTE_CAS && brute_pick(s, 4) == 0) o->in = BRUTE_NONE; /* a cas from nil */
    o->done = BRUTE_PENDING;
}

/* Applies a pending operation to the true object and notes what it returns. */
static void take_effect(brute_op *o, state *truth, brute_source *s)
{
    o->applied = true;
    if (o->f == BRUTE_READ) o->out_int = truth->reg;
    if (o->f == BRUTE_GET) {
        o->out_nil = !truth->kv.present[o->key];
        snprintf(o->out, sizeof o->out, "%s", truth->kv.v[o->key]);
    }
    if (o->f == BRUTE_RM) {
        o->out_nil = brute_pick(s, 3) == 0; /* a blind rm */
        o->out_int = truth->kv.present[o->key] ? 1 : 0;
    }
    bool took = o->f != BRUTE_CAS || truth->reg == o->in;
    if (took) apply(truth, o, false);
    if (!took) o->applied = false; /* a cas that found another value fails */
}

/* Completes o now: the line goes at the next position. */
static void complete(brute_op *o, brute_op **slot, int *pos)
{
    o->at = (*pos)++;
    o->ret = o->done == BRUTE_INFO ? INT32_MAX : o->at;
    *slot = NULL;
}

/* One step of process p: invoke, take effect, or complete. */
static void step_process(brute_hist *h, brute_op **cur, int p, int *started, int want, int *pos,
                         state *truth, brute_source *s)
{
    brute_op *o = cur[p];
    if (o == NULL) {
        if (*started >= want) return;
        o = cur[p] = &h->ops[(*started)++];
        new_op(h, o, s);
        o->process = p;
        o->call = (*pos)++;
        return;
    }
    int r = brute_pick(s, 16);
    if (o->done == BRUTE_PENDING && !o->applied) {
        if (r < 8) {
            take_effect(o, truth, s);
            if (!o->applied) o->done = BRUTE_FAIL; /* a cas that found another value */
            return;
        }
        if (r >= 10) return;
        o->done = r == 8 ? BRUTE_FAIL : BRUTE_INFO; /* it never took effect */
    } else if (o->done == BRUTE_PENDING) {
        o->done = r < 13 ? BRUTE_OK : BRUTE_INFO;
    }
    complete(o, &cur[p], pos);
}

void brute_generate(brute_hist *h, bool kv, brute_source *s)
{
    brute_generate_values(h, kv, 3, s);
}

void brute_generate_values(brute_hist *h, bool kv, int values, brute_source *s)
{
    memset(h, 0, sizeof *h);
    h->kv = kv;
    h->values = values;
    int want = 1 + brute_pick(s, BRUTE_MAX_OPS), started = 0, pos = 0;
    brute_op *cur[BRUTE_PROCS] = {NULL};
    state truth = {.reg = BRUTE_NONE};
    for (;;) {
        bool busy = false;
        for (int p = 0; p < BRUTE_PROCS; p++) busy |= cur[p] != NULL;
        if (!busy && started >= want) break;
        step_process(h, cur, brute_pick(s, BRUTE_PROCS), &started, want, &pos, &truth, s);
    }
    h->n = started;
    /* A process's last operation, if info, may never have completed at all. */
    for (int i = 0; i < h->n; i++) {
        bool last = true;
        for (int j = i + 1; j < h->n; j++) last &= h->ops[j].process != h->ops[i].process;
        if (last && h->ops[i].done == BRUTE_INFO && brute_pick(s, 3) == 0) h->ops[i].at = -1;
    }
}

/* Can o be mutated into a claim that may be false? */
static bool mutable(const brute_op *o)
{
    if (o->done == BRUTE_FAIL) return o->f == BRUTE_CAS;
    return o->done == BRUTE_OK &&
           (o->f == BRUTE_READ || o->f == BRUTE_GET || (o->f == BRUTE_RM && !o->out_nil));
}

void brute_mutate(brute_hist *h, brute_source *s)
{
    int candidates[BRUTE_MAX_OPS], n = 0;
    for (int i = 0; i < h->n; i++) {
        if (mutable(&h->ops[i])) candidates[n++] = i;
    }
    if (n == 0) return;
    brute_op *o = &h->ops[candidates[brute_pick(s, n)]];
    if (o->f == BRUTE_CAS) {
        o->done = BRUTE_OK;
    } else if (o->f == BRUTE_READ) {
        o->out_int = brute_pick(s, 4) - 1;
    } else if (o->f == BRUTE_GET) {
        o->out_nil = brute_pick(s, 4) == 0;
        snprintf(o->out, sizeof o->out, "%c", 'a' + brute_pick(s, 3));
    } else {
        o->out_int = !o->out_int;
    }
}

/* ---- the history as EDN --------------------------------------------------------------------- */

static const char *const fnames[] = {"read", "write", "cas", "get", "put", "append", "rm"};

static void value_text(int v, char *buf, size_t size)
{
    if (v == BRUTE_NONE) {
        snprintf(buf, size, "nil");
    } else {
        snprintf(buf, size, "%d", v);
    }
}

static void input_text(const brute_op *o, char *buf, size_t size)
{
    char a[16], b[16];
    value_text(o->in, a, sizeof a);
    value_text(o->in2, b, sizeof b);
    switch (o->f) {
    case BRUTE_WRITE: snprintf(buf, size, "%s", a); break;
    case BRUTE_CAS: snprintf(buf, size, "[%s %s]", a, b); break;
    case BRUTE_PUT:
    case BRUTE_APPEND: snprintf(buf, size, "\"%c\"", 'a' + o->in); break;
    default: snprintf(buf, size, "nil"); break;
    }
}

static void output_text(const brute_op *o, char *buf, size_t size)
{
    if (o->f == BRUTE_READ) {
        value_text(o->out_int, buf, size);
    } else if (o->f == BRUTE_GET) {
        snprintf(buf, size, o->out_nil ? "nil" : "\"%s\"", o->out);
    } else if (o->f == BRUTE_RM) {
        snprintf(buf, size, "%s", o->out_nil ? "nil" : o->out_int ? ":removed" : ":not-found");
    } else {
        input_text(o, buf, size);
    }
}

static void entry(const brute_hist *h, const brute_op *o, bool call, char *out, size_t size)
{
    static const char *const types[] = {"invoke", "ok", "fail", "info"};
    char key[32] = "", value[64];
    if (h->kv) snprintf(key, sizeof key, ", :key %d", o->key);
    if (call || o->done != BRUTE_OK) {
        input_text(o, value, sizeof value);
    } else {
        output_text(o, value, sizeof value);
    }
    size_t n = strlen(out);
    if (n + 1 >= size) return;
    snprintf(out + n, size - n, "{:process %d, :type :%s, :f :%s%s, :value %s}\n", o->process,
             call ? "invoke" : types[o->done], fnames[o->f], key, value);
}

void brute_to_edn(const brute_hist *h, char *out, size_t size)
{
    out[0] = '\0';
    for (int pos = 0; pos < 2 * BRUTE_MAX_OPS; pos++) {
        for (int i = 0; i < h->n; i++) {
            const brute_op *o = &h->ops[i];
            if (o->call == pos) entry(h, o, true, out, size);
            if (o->at == pos) entry(h, o, false, out, size);
        }
    }
}
