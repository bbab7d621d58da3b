/*
 * record.c: a world's history (sim.h: sim_history_invoke, sim_history_complete). Systems
 * under test record what their clients saw as they see it; each entry is also an event
 * (SIM_EV_HISTORY) whose b carries a hash of the entry's text, so the trace hash covers the
 * values clients saw and a replay that diverges in them is caught. The history lives in the
 * world as an extension (freed with it) and is stored with the run (docs/trace-schema.md).
 *
 * Recording draws no randomness and waits for nothing: it never changes the run it records.
 */
#include <stdio.h>
#include <xxhash.h>

#include "../executor/spi.h"
#include "check.h"

static const sim__ext_ops hist_ops;

static sim_history *hist_peek(const sim_world *w)
{
    return sim__ext_state(w, &hist_ops);
}

static void hist_free(sim_world *w)
{
    sim_history_free(hist_peek(w));
    sim__ext_detach(w, &hist_ops);
}

/* The operations still pending, for sim_world_dump: what a hung client was waiting for. */
static char *hist_dump(const sim_world *w)
{
    const sim_history *h = hist_peek(w);
    if (h == NULL || h->npend == 0) return NULL;
    size_t size = 64 + (size_t)h->npend * 256, o = 0;
    char *out = sim__xmalloc(size, "the pending operations' dump");
    o += (size_t)snprintf(out, size, "history: %u operations pending\n", h->npend);
    for (uint32_t op = 0; op < h->nops && o < size; op++) {
        if (h->op_done[op] != SIM__NIL) continue;
        char line[200];
        sim_history_edn(h, h->op_invoke[op], line, sizeof line);
        o += (size_t)snprintf(out + o, size - o, "  op %u: %s\n", op, line);
    }
    return out;
}

static const sim__ext_ops hist_ops = {.name = "history", .free = hist_free, .dump = hist_dump};

static sim_history *world_history(sim_world *w)
{
    sim_history *h = hist_peek(w);
    if (h == NULL) {
        int rc = sim_history_new(&h);
        SIM_ASSERT(rc == SIM_OK);
        sim__ext_attach(w, &hist_ops, h);
    }
    return h;
}

/* Appends x and emits its event; a misuse is also a violation. */
static int record(sim_world *w, sim_history *h, sim__hentry *x, const char *what, int rc,
                  char *msg, size_t msg_size)
{
    if (rc == SIM_OK) rc = sim__history_push(h, x, msg, msg_size);
    if (rc == SIM_EINVAL) sim__violation(w, SIM_VIOLATION_MISUSE, "%s: %s", what, msg);
    if (rc != SIM_OK) return rc;
    /* The whole entry is hashed and shown, however long its values. */
    char small[1024], *text = small;
    size_t n = sim_history_edn(h, h->n - 1, small, sizeof small);
    if (n >= sizeof small) {
        text = sim__xmalloc(n + 1, "a history entry's text");
        sim_history_edn(h, h->n - 1, text, n + 1);
    }
    uint64_t digest = XXH3_64bits(text, n);
    uint32_t task = sim_task_current(w).v;
    uint32_t node = sim__exec_node_here(w);
    sim__exec_emit(w, SIM_EV_HISTORY, node, task, (uint64_t)x->op << 32 | x->process,
              (uint64_t)x->type | (digest & 0xffffffff00000000ull), text);
    if (text != small) free(text);
    return SIM_OK;
}

int sim_history_invoke(sim_world *w, uint32_t process, const char *f, const char *key,
                       const char *value, uint32_t *op)
{
    if (op != NULL) *op = SIM__NIL;
    if (w == NULL || op == NULL) return SIM_EINVAL;
    sim_history *h = world_history(w);
    char msg[256] = "";
    sim__hentry x = {.process = process, .type = SIM_OP_INVOKE, .has_key = key != NULL,
                     .has_time = true, .time_ns = sim__exec_now(w)};
    int rc = SIM_OK;
    if (f == NULL || !sim__fname_ok(f)) {
        snprintf(msg, sizeof msg, "f '%s': expected a keyword's name (read, write, cas)",
                 f ? f : "(null)");
        rc = SIM_EINVAL;
    } else {
        x.f = sim__vtab_text(&h->vals, SIM_VALUE_KEYWORD, f, strlen(f));
        if (x.f == SIM__NIL) return SIM_ELIMIT; /* past the value table's 2^31 values */
        rc = sim__history_value(h, "key", key, &x.key, msg, sizeof msg);
        if (rc == SIM_OK) rc = sim__history_value(h, "value", value, &x.value, msg, sizeof msg);
    }
    rc = record(w, h, &x, "sim_history_invoke", rc, msg, sizeof msg);
    if (rc == SIM_OK) *op = x.op;
    return rc;
}

int sim_history_complete(sim_world *w, uint32_t op, sim_op_type type, const char *value)
{
    if (w == NULL) return SIM_EINVAL;
    sim_history *h = world_history(w);
    char msg[256] = "";
    int rc = SIM_OK;
    sim__hentry x = {.type = (uint8_t)type, .has_time = true, .time_ns = sim__exec_now(w)};
    if (op >= h->nops || h->op_done[op] != SIM__NIL) {
        snprintf(msg, sizeof msg, "operation %u is %s", op,
                 op >= h->nops ? "unknown" : "completed already");
        rc = SIM_EINVAL;
    } else if (type < SIM_OP_OK || type > SIM_OP_INFO) {
        snprintf(msg, sizeof msg, "type %d is not SIM_OP_OK, SIM_OP_FAIL or SIM_OP_INFO",
                 (int)type);
        rc = SIM_EINVAL;
    } else {
        const sim__hentry *in = &h->e[h->op_invoke[op]];
        x.process = in->process;
        x.f = in->f;
        rc = sim__history_value(h, "value", value, &x.value, msg, sizeof msg);
    }
    return record(w, h, &x, "sim_history_complete", rc, msg, sizeof msg);
}

void sim_history_expect(sim_world *w, uint64_t ops)
{
    SIM_ASSERT(w != NULL);
    sim_history *h = world_history(w);
    h->expect_ops = ops;
    SIM_ASSERT(h->expect_ops == ops);
}

uint32_t sim__world_ops(const sim_world *w)
{
    SIM_ASSERT(w != NULL);
    const sim_history *h = hist_peek(w);
    if (h != NULL) SIM_ASSERT(h->npend <= h->nops); /* a pending one was invoked */
    return h != NULL ? h->nops : 0;
}

int sim_world_work_check(const sim_world *w, char *msg, size_t msg_size)
{
    SIM_ASSERT(w != NULL);
    if (msg_size > 0) msg[0] = '\0';
    const sim_history *h = hist_peek(w);
    if (h == NULL || h->nops >= h->expect_ops) return SIM_OK;
    SIM_ASSERT(h->expect_ops > 0);
    snprintf(msg, msg_size, "the clients invoked %u of the %llu operations expected: the run "
             "ended with work undone (%u pending)", h->nops, (unsigned long long)h->expect_ops,
             h->npend);
    return SIM_EINVAL;
}

int sim_world_history(const sim_world *w, sim_history **out)
{
    *out = NULL;
    const sim_history *h = hist_peek(w);
    if (h == NULL) return sim_history_new(out);
    sim__history_copy(h, out);
    return SIM_OK;
}

int sim_world_check(const sim_world *w, const sim_model *m, char *msg, size_t msg_size)
{
    SIM_ASSERT(m != NULL && msg != NULL && msg_size > 0);
    sim_history *h = NULL;
    int rc = sim_world_history(w, &h);
    if (rc != SIM_OK) {
        snprintf(msg, msg_size, "cannot copy the history: %s", sim_result_str(rc));
        return rc;
    }
    /* One job, a bound on steps and no host time: the same verdict on any machine. */
    uint64_t max_steps = sim__exec_check_max_steps(w);
    SIM_ASSERT(max_steps > 0);
    sim_check_desc d = {.model = m, .jobs = 1,
                        .max_steps = max_steps == UINT64_MAX ? 0 : max_steps,
                        .max_memory = sim__exec_check_max_memory(w)};
    sim_check_result *r = NULL;
    char err[256] = "";
    rc = sim_check(h, &d, &r, err, sizeof err);
    sim_history_free(h);
    if (rc != SIM_OK) {
        snprintf(msg, msg_size, "the checker refused the history: %s",
                 rc == SIM_EINVAL ? err : sim_result_str(rc));
        return rc;
    }
    sim_verdict v = sim_check_verdict(r);
    if (v == SIM_NOT_LINEARIZABLE) {
        /* The hint stays whole: the summary is cut if the two do not fit. */
        char hint[128];
        int n = snprintf(hint, sizeof hint, " (sim check --db FILE RUN --model %s shows why)",
                         m->name);
        int room = (int)(msg_size > (size_t)n + 1 ? msg_size - (size_t)n - 1 : 0);
        snprintf(msg, msg_size, "%.*s%s", room, sim_check_summary(r), hint);
        rc = SIM_EINVAL;
    } else if (v == SIM_CHECK_UNKNOWN) {
        /* "the search reached its bound of N steps on key K (model M)" (the run's result
         * says unknown), then what to do, kept whole as the hint above is. */
        const char *summary = sim_check_summary(r);
        const char *prefix = "unknown: ";
        SIM_ASSERT(strncmp(summary, prefix, strlen(prefix)) == 0);
        char hint[200];
        uint64_t bound = sim__exec_check_max_steps(w);
        uint64_t more = bound > UINT64_MAX / 10 ? UINT64_MAX : bound * 10;
        /* The memory limit ran out first: that is the bound to raise. */
        bool memory = strstr(summary, "memory limit") != NULL;
        int n = snprintf(hint, sizeof hint, "; raise [check] %s, or search on: sim check --db "
                                            "FILE RUN --model %s --max-steps %llu%s",
                         memory ? "max_memory" : "max_steps", m->name, (unsigned long long)more,
                         memory ? " --max-memory 8G" : "");
        int room = (int)(msg_size > (size_t)n + 1 ? msg_size - (size_t)n - 1 : 0);
        snprintf(msg, msg_size, "%.*s%s", room, summary + strlen(prefix), hint);
        rc = SIM_EUNKNOWN;
    }
    sim_check_result_free(r);
    return rc;
}
