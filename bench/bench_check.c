/*
 * bench_check.c: what the linearizability checker costs. One line per figure, "name value
 * unit", each the median of 5 runs' CPU time (user + system of the process, getrusage: the
 * machine is shared, so wall time says more about the others' work than this; with two jobs
 * it is both threads' time) of sim_check (one key at a time unless said) on a history
 * generated from a simulated concurrent object (so it is linearizable; 1% of the operations
 * end as info, as crashed clients' do), and on the same history with one read made stale
 * (so it is not):
 *
 *   check_kv_10k          10,000 operations (get, put, append) by 50 processes on 10 keys
 *   check_kv_10k_jobs2    the same, two keys at once (sim check's default here: the cores)
 *   check_kv_10k_anomaly  the same with one stale get, one key at a time
 *   check_kv_10k_anomaly_jobs2  and two at once
 *   check_kv_10k_anomaly_wgl    one key at a time with --search wgl (Porcupine's search
 *                         alone, never turning to prune)
 *   check_register_5k     5,000 operations (read, write, cas over values 0..9) by 10
 *                         processes on one register
 *   check_register_5k_anomaly  the same with one stale read
 *   check_register_5k_anomaly_wgl  and with --search wgl
 *   parse_kv_10k          reading the kv history from its EDN text
 *   check_kv_append_50_anomaly  5,000 operations by 50 clients on 5 keys, mostly appends,
 *                         3% in doubt (keys no search finishes), with the first get of the
 *                         last key reading a value no one wrote (model kv-empty); and _jobs2
 *   check_kv_append_50_1m_steps  the same as generated (linearizable, but no search here
 *                         finishes it), to a bound of 1,000,000 steps (unknown)
 *   check_counter_29      a counter (the benchmark's own model, its operations alike) with
 *                         29 in-doubt increments and reads; _anomaly with a read too high
 *
 * `sim-bench-check --write DIR` writes the eight histories as EDN files instead, for
 * `sim check` and for other checkers (Porcupine, Knossos). A host-boundary file: it reads
 * the process's CPU time to time the runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define RUNS 5
/* The linearizable append history is beyond any search: it is timed to a bound of steps. */
#define AP_OK_STEPS 1000000u
#define VALUE_MAX 64

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ---- generating ----------------------------------------------------------------------------- */

typedef struct gop {
    int f;                   /* kv: 0 get, 1 put, 2 append; register: 0 read, 1 write, 2 cas */
    int key;
    char in[VALUE_MAX];      /* EDN */
    char out[4096];          /* EDN, once applied */
    int stage;               /* 0 idle, 1 invoked, 2 applied */
    bool failed;
} gop;

typedef struct gen {
    uint64_t s;
    bool kv;
    int procs, keys, ops;
    bool appends;            /* kv: mostly appends (15% get, 5% put), 3% of them info */
    char **line;             /* the history, one EDN map per entry */
    int nlines;
    char kv_val[16][4096];   /* kv truth; "" = absent */
    bool kv_present[16];
    int reg;                 /* register truth; -1 = nil */
} gen;

static void emit(gen *g, int p, const char *type, const gop *o, const char *value)
{
    static const char *const kvf[] = {"get", "put", "append"}, *const regf[] = {"read", "write",
                                                                                "cas"};
    char key[32] = "";
    if (g->kv) snprintf(key, sizeof key, ", :key %d", o->key);
    size_t n = strlen(value) + 128;
    char *line = malloc(n);
    snprintf(line, n, "{:process %d, :type :%s, :f :%s%s, :value %s}", p, type,
             g->kv ? kvf[o->f] : regf[o->f], key, value);
    g->line[g->nlines++] = line;
}

static void invoke(gen *g, gop *o, int p)
{
    o->f = (int)(rnd(&g->s) % 3);
    if (g->appends) {
        uint64_t r = rnd(&g->s) % 100;
        o->f = r < 15 ? 0 : r < 20 ? 1 : 2;
    }
    o->key = (int)(rnd(&g->s) % (uint64_t)g->keys);
    o->failed = false;
    if (g->kv) {
        if (o->f == 0) snprintf(o->in, sizeof o->in, "nil");
        if (o->f == 1) snprintf(o->in, sizeof o->in, "\"v%d\"", (int)(rnd(&g->s) % 100));
        if (o->f == 2) snprintf(o->in, sizeof o->in, "\"%c\"", 'a' + (int)(rnd(&g->s) % 26));
    } else {
        int a = (int)(rnd(&g->s) % 10), b = (int)(rnd(&g->s) % 10);
        if (o->f == 0) snprintf(o->in, sizeof o->in, "nil");
        if (o->f == 1) snprintf(o->in, sizeof o->in, "%d", a);
        if (o->f == 2) snprintf(o->in, sizeof o->in, "[%d %d]", a, b);
    }
    o->stage = 1;
    emit(g, p, "invoke", o, o->in);
}

static void apply_kv(gen *g, gop *o)
{
    char *v = g->kv_val[o->key];
    if (o->f == 0) {
        snprintf(o->out, sizeof o->out, g->kv_present[o->key] ? "\"%s\"" : "nil", v);
        return;
    }
    char add[VALUE_MAX];
    snprintf(add, sizeof add, "%.*s", (int)strlen(o->in) - 2, o->in + 1);
    if (o->f == 1 || !g->kv_present[o->key] || strlen(v) + strlen(add) >= 4000) v[0] = '\0';
    strcat(v, add);
    g->kv_present[o->key] = true;
    snprintf(o->out, sizeof o->out, "%s", o->in);
}

static void apply_reg(gen *g, gop *o)
{
    if (o->f == 0) {
        if (g->reg < 0) snprintf(o->out, sizeof o->out, "nil");
        if (g->reg >= 0) snprintf(o->out, sizeof o->out, "%d", g->reg);
    } else if (o->f == 1) {
        g->reg = atoi(o->in);
        snprintf(o->out, sizeof o->out, "%s", o->in);
    } else {
        int a = 0, b = 0;
        sscanf(o->in, "[%d %d]", &a, &b);
        o->failed = g->reg != a;
        if (!o->failed) g->reg = b;
        snprintf(o->out, sizeof o->out, "%s", o->in);
    }
}

static void generate(gen *g)
{
    gop *cur = calloc((size_t)g->procs, sizeof *cur);
    g->line = calloc((size_t)g->ops * 2, sizeof *g->line);
    g->reg = -1;
    int started = 0, busy = 0;
    while (started < g->ops || busy > 0) {
        int p = (int)(rnd(&g->s) % (uint64_t)g->procs);
        gop *o = &cur[p];
        uint64_t r = rnd(&g->s) % 100;
        if (o->stage == 0 && started < g->ops) {
            invoke(g, o, p);
            started++;
            busy++;
        } else if (o->stage == 1 && r < 50) {
            if (g->kv) apply_kv(g, o);
            if (!g->kv) apply_reg(g, o);
            o->stage = 2;
        } else if (o->stage == 2 && r < 50) {
            bool info = g->appends ? rnd(&g->s) % 100 < 3 : r == 0;
            emit(g, p, o->failed ? "fail" : info ? "info" : "ok", o, o->out);
            o->stage = 0;
            busy--;
        }
    }
    free(cur);
}

/* Makes the first ok read at or after the middle that another value can make stale return
 * the value of an earlier read of the same key; returns the line changed, or -1. */
static int make_stale(gen *g, int after)
{
    const char *f = g->kv ? ":f :get" : ":f :read";
    for (int i = after; i < g->nlines; i++) {
        if (strstr(g->line[i], ":type :ok") == NULL || strstr(g->line[i], f) == NULL) continue;
        const char *key_at = strstr(g->line[i], ":key ");
        for (int j = i - 200; j >= 0; j--) {
            if (strstr(g->line[j], ":type :ok") == NULL || strstr(g->line[j], f) == NULL) continue;
            const char *kj = strstr(g->line[j], ":key ");
            if (key_at && kj && strncmp(key_at, kj, 7) != 0) continue;
            const char *vi = strstr(g->line[i], ":value "), *vj = strstr(g->line[j], ":value ");
            if (strcmp(vi, vj) == 0) continue;
            size_t head = (size_t)(vi - g->line[i]), n = head + strlen(vj) + 1;
            char *line = malloc(n);
            snprintf(line, n, "%.*s%s", (int)head, g->line[i], vj);
            free(g->line[i]);
            g->line[i] = line;
            return i;
        }
    }
    return -1;
}

static char *join(const gen *g)
{
    size_t n = 1;
    for (int i = 0; i < g->nlines; i++) n += strlen(g->line[i]) + 1;
    char *text = malloc(n), *o = text;
    for (int i = 0; i < g->nlines; i++) o += sprintf(o, "%s\n", g->line[i]);
    *o = '\0';
    return text;
}

/* ---- timing --------------------------------------------------------------------------------- */

static sim_history *parse(const char *name, const char *text)
{
    sim_history *h = NULL;
    char err[512];
    if (sim_history_parse_edn(name, text, &h, err, sizeof err) != SIM_OK) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    return h;
}

/* Median ms of checking text as d says; exits if the verdict is not the one expected. */
static double time_check_desc(const char *name, const char *text, const sim_check_desc *desc,
                              sim_verdict expect)
{
    sim_history *h = parse(name, text);
    double ms[RUNS];
    for (int i = 0; i < RUNS; i++) {
        sim_check_desc d = *desc;
        sim_check_result *r = NULL;
        char err[512];
        uint64_t t0 = host_cpu_ns();
        if (sim_check(h, &d, &r, err, sizeof err) != SIM_OK) {
            fprintf(stderr, "bench: %s: %s\n", name, err);
            exit(1);
        }
        ms[i] = (double)(host_cpu_ns() - t0) / 1e6;
        if (sim_check_verdict(r) != expect) {
            fprintf(stderr, "bench: %s: %s\n", name, sim_check_summary(r));
            exit(1);
        }
        sim_check_result_free(r);
    }
    sim_history_free(h);
    return median(ms, RUNS);
}

/* The same with model, jobs and search, no other bound. */
static double time_check(const char *name, const char *text, const sim_model *m,
                         sim_verdict expect, uint32_t jobs, sim_check_search search)
{
    sim_check_desc d = {.model = m, .jobs = jobs, .search = search};
    return time_check_desc(name, text, &d, expect);
}

static double time_parse(const char *text)
{
    double ms[RUNS];
    for (int i = 0; i < RUNS; i++) {
        uint64_t t0 = host_cpu_ns();
        sim_history_free(parse("kv", text));
        ms[i] = (double)(host_cpu_ns() - t0) / 1e6;
    }
    return median(ms, RUNS);
}

/* The two histories of one workload: as generated, and with one stale read. */
static void histories(bool kv, char **ok, char **bad)
{
    gen g = {.s = kv ? 11 : 12, .kv = kv, .procs = kv ? 50 : 10, .keys = kv ? 10 : 1,
             .ops = kv ? 10000 : 5000};
    generate(&g);
    *ok = join(&g);
    const sim_model *m = kv ? &sim_model_kv : &sim_model_register;
    /* The first stale read that really is an anomaly (a read may be stale yet concurrent
     * with the write that makes it so). */
    for (int from = g.nlines / 2;;) {
        gen copy = g;
        copy.line = malloc((size_t)g.nlines * sizeof *copy.line);
        for (int i = 0; i < g.nlines; i++) copy.line[i] = strdup(g.line[i]);
        int at = make_stale(&copy, from);
        if (at < 0) {
            fprintf(stderr, "bench: no read to make stale\n");
            exit(1);
        }
        *bad = join(&copy);
        for (int i = 0; i < copy.nlines; i++) free(copy.line[i]);
        free(copy.line);
        sim_history *h = parse("bad", *bad);
        sim_check_desc d = {.model = m, .jobs = 1};
        sim_check_result *r = NULL;
        sim_check(h, &d, &r, NULL, 0);
        bool found = r != NULL && sim_check_verdict(r) == SIM_NOT_LINEARIZABLE;
        sim_check_result_free(r);
        sim_history_free(h);
        if (found) break;
        free(*bad);
        from = at + 1;
    }
    for (int i = 0; i < g.nlines; i++) free(g.line[i]);
    free(g.line);
}

/* The append-heavy kv history of 50 clients (5,000 operations on 5 keys), as generated, and
 * with the first get of the last key reading a value no one wrote: plainly not
 * linearizable, after keys that may be hard. */
static void appends(char **ok, char **bad)
{
    gen g = {.s = 21, .kv = true, .appends = true, .procs = 50, .keys = 5, .ops = 5000};
    generate(&g);
    *ok = join(&g);
    for (int i = 0; i < g.nlines; i++) {
        char *l = g.line[i];
        if (strstr(l, ":type :ok") == NULL || strstr(l, ":f :get") == NULL ||
            strstr(l, ":key 4,") == NULL) {
            continue;
        }
        char *v = strstr(l, ":value ");
        size_t head = (size_t)(v - l), n = head + 32;
        char *line = malloc(n);
        snprintf(line, n, "%.*s:value \"never\"}", (int)head, l);
        free(l);
        g.line[i] = line;
        break;
    }
    *bad = join(&g);
    for (int i = 0; i < g.nlines; i++) free(g.line[i]);
    free(g.line);
}

/* ---- a counter with many in-doubt increments ------------------------------------------------ */

/* A user's counter: add V (returns nothing to check), read (returns the count). Its
 * operations are alike (sim_op.alike), so in-doubt increments are twins. */
typedef struct counter_state {
    int64_t n;
} counter_state;

static bool counter_prepare(sim_check_ctx *c, sim_op *op, char *err, size_t err_size)
{
    uint32_t add = sim_check_keyword(c, "add"), read = sim_check_keyword(c, "read");
    if (op->f != add && op->f != read) {
        snprintf(err, err_size, "the counter knows :add and :read");
        return false;
    }
    op->code = op->f == add ? 1 : 2;
    op->skip = op->code == 2 && op->output == SIM_VALUE_UNKNOWN;
    op->pure = op->code == 2;
    op->alike = true;
    return true;
}

static void counter_init(sim_check_ctx *c, void *state)
{
    (void)c;
    memset(state, 0, sizeof(counter_state));
}

static bool counter_step(sim_check_ctx *c, const void *state, const sim_op *op, void *next)
{
    const counter_state *s = state;
    counter_state *t = next;
    if (op->code == 2) {
        *t = *s;
        return sim_check_value(c, op->output).i == s->n;
    }
    t->n = s->n + sim_check_value(c, op->input).i;
    return true;
}

static void counter_describe(const sim_check_ctx *c, const void *state, char *buf, size_t size)
{
    (void)c;
    snprintf(buf, size, "%lld", (long long)((const counter_state *)state)->n);
}

static const sim_model counter_model = {
    .name = "counter", .summary = "add and read of one counter", .whole = true,
    .state_size = sizeof(counter_state), .prepare = counter_prepare, .init = counter_init,
    .step = counter_step, .describe = counter_describe};

/* 29 increments whose outcome is in doubt and one that returned, all at once, then reads of
 * 3, 7, ..., 27 one after another while they may still take effect; bad: a last read of 31,
 * more than all 30 could make. */
static char *counter_history(bool bad)
{
    char *text = calloc(1, 16384);
    for (int p = 0; p < 30; p++) {
        sprintf(text + strlen(text), "{:process %d, :type :invoke, :f :add, :value 1}\n", p);
    }
    sprintf(text + strlen(text), "{:process 29, :type :ok, :f :add, :value 1}\n");
    for (int k = 3; k <= 27; k += 4) {
        sprintf(text + strlen(text),
                "{:process 100, :type :invoke, :f :read, :value nil}\n"
                "{:process 100, :type :ok, :f :read, :value %d}\n", k);
    }
    if (bad) {
        strcat(text, "{:process 100, :type :invoke, :f :read, :value nil}\n"
                     "{:process 100, :type :ok, :f :read, :value 31}\n");
    }
    for (int p = 0; p < 29; p++) {
        sprintf(text + strlen(text), "{:process %d, :type :info, :f :add, :value 1}\n", p);
    }
    return text;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench: cannot write %s\n", path);
        exit(1);
    }
    printf("%s\n", path);
}

int main(int argc, char **argv)
{
    char *kv_ok, *kv_bad, *reg_ok, *reg_bad;
    histories(true, &kv_ok, &kv_bad);
    histories(false, &reg_ok, &reg_bad);
    char *ap_ok, *ap_bad;
    appends(&ap_ok, &ap_bad);
    char *ctr_ok = counter_history(false), *ctr_bad = counter_history(true);
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        write_file(argv[2], "kv-append-50.edn", ap_ok);
        write_file(argv[2], "kv-append-50-anomaly.edn", ap_bad);
        write_file(argv[2], "counter-29.edn", ctr_ok);
        write_file(argv[2], "counter-29-anomaly.edn", ctr_bad);
        write_file(argv[2], "kv-10k.edn", kv_ok);
        write_file(argv[2], "kv-10k-anomaly.edn", kv_bad);
        write_file(argv[2], "register-5k.edn", reg_ok);
        write_file(argv[2], "register-5k-anomaly.edn", reg_bad);
        return 0;
    }
    const sim_model *kv = &sim_model_kv, *reg = &sim_model_register;
    const sim_check_search a = SIM_SEARCH_AUTO, w = SIM_SEARCH_WGL;
    const sim_verdict yes = SIM_LINEARIZABLE, no = SIM_NOT_LINEARIZABLE;
    printf("check_kv_10k %.1f ms\n", time_check("kv", kv_ok, kv, yes, 1, a));
    printf("check_kv_10k_jobs2 %.1f ms\n", time_check("kv", kv_ok, kv, yes, 2, a));
    printf("check_kv_10k_anomaly %.1f ms\n", time_check("kv-bad", kv_bad, kv, no, 1, a));
    printf("check_kv_10k_anomaly_jobs2 %.1f ms\n", time_check("kv-bad", kv_bad, kv, no, 2, a));
    printf("check_kv_10k_anomaly_wgl %.1f ms\n", time_check("kv-bad", kv_bad, kv, no, 1, w));
    printf("check_register_5k %.1f ms\n", time_check("reg", reg_ok, reg, yes, 1, a));
    printf("check_register_5k_anomaly %.1f ms\n", time_check("reg-bad", reg_bad, reg, no, 1, a));
    printf("check_register_5k_anomaly_wgl %.1f ms\n",
           time_check("reg-bad", reg_bad, reg, no, 1, w));
    printf("parse_kv_10k %.1f ms\n", time_parse(kv_ok));
    const sim_model *ctr = &counter_model;
    printf("check_kv_append_50_anomaly %.1f ms\n",
           time_check("ap-bad", ap_bad, &sim_model_kv_empty, no, 1, a));
    printf("check_kv_append_50_anomaly_jobs2 %.1f ms\n",
           time_check("ap-bad", ap_bad, &sim_model_kv_empty, no, 2, a));
    sim_check_desc ap = {.model = &sim_model_kv_empty, .jobs = 1, .max_steps = AP_OK_STEPS};
    printf("check_kv_append_50_1m_steps %.1f ms\n",
           time_check_desc("ap", ap_ok, &ap, SIM_CHECK_UNKNOWN));
    printf("check_counter_29 %.1f ms\n", time_check("ctr", ctr_ok, ctr, yes, 1, a));
    printf("check_counter_29_anomaly %.1f ms\n", time_check("ctr-bad", ctr_bad, ctr, no, 1, a));
    free(ap_ok);
    free(ap_bad);
    free(ctr_ok);
    free(ctr_bad);
    free(kv_ok);
    free(kv_bad);
    free(reg_ok);
    free(reg_bad);
    return 0;
}
