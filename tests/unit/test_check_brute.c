/*
 * test_check_brute.c: the fast checker agrees with an exhaustive one. Small random histories
 * come from a simulated concurrent object (so they are linearizable), half of them are then
 * mutated (a read returns another value, a failed cas claims success); an independent search
 * that tries every order allowed by real time, with its own copy of each model's rules and
 * without splitting keys, decides each one, and sim_check must say the same.
 */
#include <stdio.h>

#include "../helpers.h"

#define MAX_OPS 7
#define PROCS 3
#define NONE -1 /* nil, or an absent key */

typedef enum f_kind { READ, WRITE, CAS, GET, PUT, APPEND, RM } f_kind;
typedef enum outcome { PENDING, OK, FAIL, INFO } outcome;

typedef struct op {
    int process;
    f_kind f;
    int key;
    int in, in2;             /* register: value (cas: old, new); kv: a letter, 'a' + in */
    char out[16];            /* register: the value read; kv: the string read, or "" */
    int out_int;             /* register reads and rm: NONE, or a value; rm: 1 removed, 0 not */
    bool out_nil;            /* a kv get of a missing key, or a blind rm */
    outcome done;
    bool applied;
    int call, ret;           /* event positions; ret is INT32_MAX for info */
    int at;                  /* where the completion's line goes; -1: nowhere (never completed) */
} op;

typedef struct hist {
    op ops[MAX_OPS];
    int n;
    bool kv;
} hist;

typedef struct kv_state {
    bool present[2];
    char v[2][16];
} kv_state;

typedef struct state {
    int reg;
    kv_state kv;
} state;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int pick(uint64_t *s, int n)
{
    return (int)(rng_next(s) % (uint64_t)n);
}

/* ---- the rules, written again ---------------------------------------------------------------- */

/* Applies o to st; false if o, having completed ok, could not have returned what it did. */
static bool apply(state *st, const op *o, bool check_output)
{
    switch (o->f) {
    case READ: return !check_output || o->out_int == st->reg;
    case WRITE: st->reg = o->in; return true;
    case CAS:
        if (st->reg == o->in) {
            st->reg = o->in2;
            return true;
        }
        return !check_output;
    case GET: {
        if (!check_output) return true;
        bool present = st->kv.present[o->key];
        return o->out_nil ? !present : present && strcmp(o->out, st->kv.v[o->key]) == 0;
    }
    case PUT:
        st->kv.present[o->key] = true;
        snprintf(st->kv.v[o->key], sizeof st->kv.v[o->key], "%c", 'a' + o->in);
        return true;
    case APPEND: {
        char *v = st->kv.v[o->key];
        if (!st->kv.present[o->key]) v[0] = '\0';
        size_t len = strlen(v);
        if (len + 1 >= sizeof st->kv.v[o->key]) return false; /* generated histories stay short */
        v[len] = (char)('a' + o->in);
        v[len + 1] = '\0';
        st->kv.present[o->key] = true;
        return true;
    }
    default: { /* RM */
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
static bool search(const hist *h, bool *placed, state st)
{
    bool all_ok = true;
    int first_ret = INT32_MAX;
    for (int i = 0; i < h->n; i++) {
        if (placed[i] || h->ops[i].done == FAIL) continue;
        if (h->ops[i].done == OK) {
            all_ok = false;
            if (h->ops[i].ret < first_ret) first_ret = h->ops[i].ret;
        }
    }
    if (all_ok) return true;
    for (int i = 0; i < h->n; i++) {
        const op *o = &h->ops[i];
        if (placed[i] || o->done == FAIL || o->call > first_ret) continue;
        state next = st;
        if (!apply(&next, o, o->done == OK)) continue;
        placed[i] = true;
        bool found = search(h, placed, next);
        placed[i] = false;
        if (found) return true;
    }
    return false;
}

static bool brute_linearizable(const hist *h)
{
    bool placed[MAX_OPS] = {false};
    state st = {.reg = NONE};
    return search(h, placed, st);
}

/* ---- random histories ----------------------------------------------------------------------- */

static void new_op(hist *h, op *o, uint64_t *s)
{
    memset(o, 0, sizeof *o);
    if (h->kv) {
        o->f = (f_kind)(GET + pick(s, 4));
        o->key = pick(s, 2);
    } else {
        o->f = (f_kind)pick(s, 3);
    }
    o->in = pick(s, 3);
    o->in2 = pick(s, 3);
    if (o->f == CAS && pick(s, 4) == 0) o->in = NONE; /* a cas from nil */
    o->done = PENDING;
}

/* Applies a pending operation to the true object and notes what it returns. */
static void take_effect(op *o, state *truth, uint64_t *s)
{
    o->applied = true;
    if (o->f == READ) o->out_int = truth->reg;
    if (o->f == GET) {
        o->out_nil = !truth->kv.present[o->key];
        snprintf(o->out, sizeof o->out, "%s", truth->kv.v[o->key]);
    }
    if (o->f == RM) {
        o->out_nil = pick(s, 3) == 0; /* a blind rm */
        o->out_int = truth->kv.present[o->key] ? 1 : 0;
    }
    bool took = o->f != CAS || truth->reg == o->in;
    if (took) apply(truth, o, false);
    if (!took) o->applied = false; /* a cas that found another value fails */
}

/* Completes o now: the line goes at the next position. */
static void complete(op *o, op **slot, int *pos)
{
    o->at = (*pos)++;
    o->ret = o->done == INFO ? INT32_MAX : o->at;
    *slot = NULL;
}

/* One step of process p: invoke, take effect, or complete. */
static void step_process(hist *h, op **cur, int p, int *started, int want, int *pos, state *truth,
                         uint64_t *s)
{
    op *o = cur[p];
    if (o == NULL) {
        if (*started >= want) return;
        o = cur[p] = &h->ops[(*started)++];
        new_op(h, o, s);
        o->process = p;
        o->call = (*pos)++;
        return;
    }
    int r = pick(s, 16);
    if (o->done == PENDING && !o->applied) {
        if (r < 8) {
            take_effect(o, truth, s);
            if (!o->applied) o->done = FAIL; /* a cas that found another value */
            return;
        }
        if (r >= 10) return;
        o->done = r == 8 ? FAIL : INFO; /* it never took effect */
    } else if (o->done == PENDING) {
        o->done = r < 13 ? OK : INFO;
    }
    complete(o, &cur[p], pos);
}

static void generate(hist *h, bool kv, uint64_t *s)
{
    memset(h, 0, sizeof *h);
    h->kv = kv;
    int want = 1 + pick(s, MAX_OPS), started = 0, pos = 0;
    op *cur[PROCS] = {NULL};
    state truth = {.reg = NONE};
    for (;;) {
        bool busy = false;
        for (int p = 0; p < PROCS; p++) busy |= cur[p] != NULL;
        if (!busy && started >= want) break;
        step_process(h, cur, pick(s, PROCS), &started, want, &pos, &truth, s);
    }
    h->n = started;
    /* A process's last operation, if info, may never have completed at all. */
    for (int i = 0; i < h->n; i++) {
        bool last = true;
        for (int j = i + 1; j < h->n; j++) last &= h->ops[j].process != h->ops[i].process;
        if (last && h->ops[i].done == INFO && pick(s, 3) == 0) h->ops[i].at = -1;
    }
}

/* Can o be mutated into a claim that may be false? */
static bool mutable(const op *o)
{
    if (o->done == FAIL) return o->f == CAS;
    return o->done == OK && (o->f == READ || o->f == GET || (o->f == RM && !o->out_nil));
}

/* A read returns another value, a failed cas claims it succeeded, an rm says it found a key
 * it did not (or the reverse). */
static void mutate(hist *h, uint64_t *s)
{
    int candidates[MAX_OPS], n = 0;
    for (int i = 0; i < h->n; i++) {
        if (mutable(&h->ops[i])) candidates[n++] = i;
    }
    if (n == 0) return;
    op *o = &h->ops[candidates[pick(s, n)]];
    if (o->f == CAS) {
        o->done = OK;
    } else if (o->f == READ) {
        o->out_int = pick(s, 4) - 1;
    } else if (o->f == GET) {
        o->out_nil = pick(s, 4) == 0;
        snprintf(o->out, sizeof o->out, "%c", 'a' + pick(s, 3));
    } else {
        o->out_int = !o->out_int;
    }
}

/* ---- the history as EDN --------------------------------------------------------------------- */

static const char *const fnames[] = {"read", "write", "cas", "get", "put", "append", "rm"};

static void value_text(int v, char *buf, size_t size)
{
    if (v == NONE) {
        snprintf(buf, size, "nil");
    } else {
        snprintf(buf, size, "%d", v);
    }
}

static void input_text(const op *o, char *buf, size_t size)
{
    char a[8], b[8];
    value_text(o->in, a, sizeof a);
    value_text(o->in2, b, sizeof b);
    switch (o->f) {
    case WRITE: snprintf(buf, size, "%s", a); break;
    case CAS: snprintf(buf, size, "[%s %s]", a, b); break;
    case PUT:
    case APPEND: snprintf(buf, size, "\"%c\"", 'a' + o->in); break;
    default: snprintf(buf, size, "nil"); break;
    }
}

static void output_text(const op *o, char *buf, size_t size)
{
    if (o->f == READ) {
        value_text(o->out_int, buf, size);
    } else if (o->f == GET) {
        snprintf(buf, size, o->out_nil ? "nil" : "\"%s\"", o->out);
    } else if (o->f == RM) {
        snprintf(buf, size, "%s", o->out_nil ? "nil" : o->out_int ? ":removed" : ":not-found");
    } else {
        input_text(o, buf, size);
    }
}

static void entry(const hist *h, const op *o, bool call, char *out, size_t size)
{
    static const char *const types[] = {"invoke", "ok", "fail", "info"};
    char key[32] = "", value[64];
    if (h->kv) snprintf(key, sizeof key, ", :key %d", o->key);
    if (call || o->done != OK) {
        input_text(o, value, sizeof value);
    } else {
        output_text(o, value, sizeof value);
    }
    size_t n = strlen(out);
    snprintf(out + n, size - n, "{:process %d, :type :%s, :f :%s%s, :value %s}\n", o->process,
             call ? "invoke" : types[o->done], fnames[o->f], key, value);
}

static void to_edn(const hist *h, char *out, size_t size)
{
    out[0] = '\0';
    for (int pos = 0; pos < 2 * MAX_OPS; pos++) {
        for (int i = 0; i < h->n; i++) {
            const op *o = &h->ops[i];
            if (o->call == pos) entry(h, o, true, out, size);
            if (o->at == pos) entry(h, o, false, out, size);
        }
    }
}

/* ---- the test ------------------------------------------------------------------------------- */

static void agree(bool kv, sim_check_search search, uint64_t seed, int rounds, int *bad)
{
    uint64_t s = seed;
    for (int round = 0; round < rounds; round++) {
        hist h;
        generate(&h, kv, &s);
        if (pick(&s, 2) == 0) mutate(&h, &s);
        char text[4096];
        to_edn(&h, text, sizeof text);
        bool expect = brute_linearizable(&h);
        *bad += !expect;
        sim_history *parsed = NULL;
        char err[256] = "";
        cr_assert(eq(int, sim_history_parse_edn("gen.edn", text, &parsed, err, sizeof err),
                     SIM_OK), "%s\n%s", err, text);
        sim_check_desc d = {.model = kv ? &sim_model_kv : &sim_model_register, .search = search};
        sim_check_result *r = NULL;
        cr_assert(eq(int, sim_check(parsed, &d, &r, err, sizeof err), SIM_OK), "%s", err);
        sim_verdict v = sim_check_verdict(r);
        cr_assert(eq(int, v, expect ? SIM_LINEARIZABLE : SIM_NOT_LINEARIZABLE),
                  "round %d: the exhaustive search says %s, sim_check: %s\n%s", round,
                  expect ? "linearizable" : "not", sim_check_summary(r), text);
        sim_check_result_free(r);
        sim_history_free(parsed);
    }
}

/* Goal: on 5,000 random register histories (read, write, cas; info and fail outcomes), half
 * of them mutated, sim_check agrees with the exhaustive search; both verdicts occur often. */
Test(check_brute, register_agrees_with_exhaustive_search)
{
    int bad = 0;
    agree(false, SIM_SEARCH_AUTO, 1, 5000, &bad);
    cr_assert(lt(int, 500, bad), "only %d of 5000 histories are not linearizable", bad);
    cr_assert(lt(int, bad, 4500), "%d of 5000 histories are not linearizable", bad);
}

/* Goal: the same for the kv model on two keys (get, put, append, rm), checked per key by
 * sim_check and as a whole by the exhaustive search. */
Test(check_brute, kv_agrees_with_exhaustive_search)
{
    int bad = 0;
    agree(true, SIM_SEARCH_AUTO, 2, 5000, &bad);
    cr_assert(lt(int, 500, bad), "only %d of 5000 histories are not linearizable", bad);
    cr_assert(lt(int, bad, 4500), "%d of 5000 histories are not linearizable", bad);
}

/* Goal: the prune search, which skips configurations where an info operation's effect was
 * erased unseen, agrees with the exhaustive search too, on other histories of both models.
 * (These histories are too short for the auto search to turn to it by itself.) */
Test(check_brute, prune_search_agrees_with_exhaustive_search)
{
    int bad = 0;
    agree(false, SIM_SEARCH_PRUNE, 3, 5000, &bad);
    agree(true, SIM_SEARCH_PRUNE, 4, 5000, &bad);
    cr_assert(lt(int, 1000, bad), "only %d of 10000 histories are not linearizable", bad);
}

/* Goal: the plain search (Porcupine's, never pruning) agrees as well. */
Test(check_brute, wgl_search_agrees_with_exhaustive_search)
{
    int bad = 0;
    agree(false, SIM_SEARCH_WGL, 5, 2000, &bad);
    agree(true, SIM_SEARCH_WGL, 6, 2000, &bad);
    cr_assert(lt(int, 400, bad), "only %d of 4000 histories are not linearizable", bad);
}
