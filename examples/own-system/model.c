/*
 * model.c: the counter as the linearizability checker sees it. The state is the count; an
 * add of n makes it count + n and returns nothing anyone checks; a read returns the count.
 * A read whose result nobody saw (info) changes nothing and is left out; an add in doubt may
 * take effect at any later point or never (the checker's rule for info operations).
 */
#include <stdio.h>
#include <string.h>

#include "counter.h"

enum { F_ADD = 1, F_READ = 2 };

typedef struct counter_state {
    int64_t count;
} counter_state;

static bool is_f(const sim_check_ctx *c, const sim_op *op, const char *name)
{
    sim_value f = sim_check_value(c, op->f);
    return f.len == strlen(name) && memcmp(f.s, name, f.len) == 0;
}

static bool counter_prepare(sim_check_ctx *c, sim_op *op, char *err, size_t err_size)
{
    op->code = is_f(c, op, "add") ? F_ADD : is_f(c, op, "read") ? F_READ : 0;
    if (op->code == 0) {
        char f[64];
        sim_check_value_text(c, op->f, f, sizeof f);
        snprintf(err, err_size, "the counter model knows :add and :read, not %s", f);
        return false;
    }
    sim_value in = sim_check_value(c, op->input);
    if (op->code == F_ADD && (in.kind != SIM_VALUE_INT || in.i < 0)) {
        char text[64];
        sim_check_value_text(c, op->input, text, sizeof text);
        snprintf(err, err_size, "an :add takes a number >= 0, not %s", text);
        return false;
    }
    if (op->code == F_READ && op->output != SIM_VALUE_UNKNOWN &&
        sim_check_value(c, op->output).kind != SIM_VALUE_INT) {
        snprintf(err, err_size, "a :read returns a number");
        return false;
    }
    op->skip = op->code == F_READ && op->output == SIM_VALUE_UNKNOWN;
    op->pure = op->code == F_READ;
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
    counter_state *n = next;
    if (op->code == F_ADD) {
        n->count = s->count + sim_check_value(c, op->input).i;
        return true;
    }
    n->count = s->count;
    return sim_check_value(c, op->output).i == s->count;
}

static void counter_describe(const sim_check_ctx *c, const void *state, char *buf, size_t size)
{
    (void)c;
    snprintf(buf, size, "%lld", (long long)((const counter_state *)state)->count);
}

const sim_model counter_model = {
    .name = "counter",
    .summary = "add (a number >= 0) and read of one counter, 0 at first",
    .state_size = sizeof(counter_state),
    .whole = true,
    .prepare = counter_prepare,
    .init = counter_init,
    .step = counter_step,
    .describe = counter_describe,
};
