/*
 * models.c: the models sim ships (docs/checking.md): a register (read, write, cas) and a map
 * of keys (get, put, append, rm), the latter checked key by key. They are written against
 * sim.h's model interface only, as a user's model would be.
 *
 * States hold value ids, so equal values compare equal as bytes; every byte of a state is
 * written (no padding left undefined), because states are hashed and compared as bytes.
 */
#include <stdio.h>

#include "check.h"

enum { F_READ = 1, F_WRITE, F_CAS };
/* rm's code says what it saw: nothing (nil, or an info), the key missing, the key there. */
enum { F_GET = 1, F_PUT, F_APPEND, F_RM, F_RM_MISSING, F_RM_FOUND };

/* ---- register ------------------------------------------------------------------------------- */

typedef struct reg_state {
    uint32_t value;          /* value id; nil at first */
} reg_state;

static bool is_f(const sim_check_ctx *c, const sim_op *op, const char *name)
{
    sim_value f = sim_check_value(c, op->f);
    return f.len == strlen(name) && memcmp(f.s, name, f.len) == 0;
}

static bool reg_prepare(sim_check_ctx *c, sim_op *op, char *err, size_t err_size)
{
    op->code = is_f(c, op, "read") ? F_READ : is_f(c, op, "write") ? F_WRITE
                                             : is_f(c, op, "cas")   ? F_CAS
                                                                    : 0;
    if (op->code == 0) {
        char f[64];
        sim_check_value_text(c, op->f, f, sizeof f);
        snprintf(err, err_size, "the register model knows :read, :write and :cas, not %s", f);
        return false;
    }
    if (op->code == F_CAS) {
        sim_value v = sim_check_value(c, op->input);
        if (v.kind != SIM_VALUE_VECTOR || v.len != 2) {
            char text[64];
            sim_check_value_text(c, op->input, text, sizeof text);
            snprintf(err, err_size, "a :cas takes [old new], not %s", text);
            return false;
        }
    }
    /* A read whose result nobody saw changes nothing and may be left out. */
    op->skip = op->code == F_READ && op->output == SIM_VALUE_UNKNOWN;
    op->pure = op->code == F_READ;
    op->alike = true;
    return true;
}

static void reg_init(sim_check_ctx *c, void *state)
{
    (void)c;
    ((reg_state *)state)->value = 0;
}

static bool reg_step(sim_check_ctx *c, const void *state, const sim_op *op, void *next)
{
    const reg_state *s = state;
    reg_state *n = next;
    switch (op->code) {
    case F_READ:
        n->value = s->value;
        return op->output == SIM_VALUE_UNKNOWN || op->output == s->value;
    case F_WRITE:
        n->value = op->input;
        return true;
    default: {
        const uint32_t *old_new = sim_check_value(c, op->input).items;
        if (old_new[0] != s->value) {
            /* A cas that found another value changed nothing: possible only if nobody saw
             * it succeed. */
            n->value = s->value;
            return op->output == SIM_VALUE_UNKNOWN;
        }
        n->value = old_new[1];
        return true;
    }
    }
}

static void reg_describe(const sim_check_ctx *c, const void *state, char *buf, size_t size)
{
    sim_check_value_text(c, ((const reg_state *)state)->value, buf, size);
}

const sim_model sim_model_register = {
    .name = "register",
    .summary = "read, write and cas ([old new]) of one value, nil at first; per key if keyed",
    .state_size = sizeof(reg_state),
    .prepare = reg_prepare,
    .init = reg_init,
    .step = reg_step,
    .describe = reg_describe,
};

/* ---- kv ------------------------------------------------------------------------------------- */

typedef struct kv_state {
    uint32_t present;        /* 0: the key is absent */
    uint32_t value;          /* value id when present, else 0 */
} kv_state;

static bool kv_prepare_values(sim_check_ctx *c, sim_op *op, char *err, size_t err_size)
{
    if (op->code == F_APPEND && sim_check_value(c, op->input).kind != SIM_VALUE_STRING) {
        char text[64];
        sim_check_value_text(c, op->input, text, sizeof text);
        snprintf(err, err_size, "an :append adds a string to the value, not %s", text);
        return false;
    }
    if (op->code != F_RM || op->output == SIM_VALUE_UNKNOWN || op->output == 0) return true;
    if (op->output == sim_check_keyword(c, "not-found")) {
        op->code = F_RM_MISSING;
    } else if (op->output == sim_check_keyword(c, "removed")) {
        op->code = F_RM_FOUND;
    } else {
        char text[64];
        sim_check_value_text(c, op->output, text, sizeof text);
        snprintf(err, err_size, "an :rm returns nil, :removed or :not-found, not %s", text);
        return false;
    }
    return true;
}

static bool kv_prepare(sim_check_ctx *c, sim_op *op, char *err, size_t err_size)
{
    op->code = is_f(c, op, "get")      ? F_GET
               : is_f(c, op, "put")    ? F_PUT
               : is_f(c, op, "append") ? F_APPEND
               : is_f(c, op, "rm")     ? F_RM
                                       : 0;
    if (op->code == 0) {
        char f[64];
        sim_check_value_text(c, op->f, f, sizeof f);
        snprintf(err, err_size, "the kv model knows :get, :put, :append and :rm, not %s", f);
        return false;
    }
    if (!kv_prepare_values(c, op, err, err_size)) return false;
    op->skip = op->code == F_GET && op->output == SIM_VALUE_UNKNOWN;
    op->pure = op->code == F_GET || op->code == F_RM_MISSING;
    op->alike = true;
    return true;
}

static void kv_init(sim_check_ctx *c, void *state)
{
    (void)c;
    *(kv_state *)state = (kv_state){0, 0};
}

/* A get's result is what the state holds; with kv-empty a missing key reads "" too. */
static bool kv_get_ok(sim_check_ctx *c, const kv_state *s, uint32_t out, bool empty)
{
    if (s->present) return out == s->value;
    if (out == 0) return true;
    if (!empty) return false;
    sim_value v = sim_check_value(c, out);
    return v.kind == SIM_VALUE_STRING && v.len == 0;
}

/* The value after appending op's string to what the key holds ("" when absent): made by
 * sim_check_concat, so a value grown by appends shares the one it grew from. */
static uint32_t kv_appended(sim_check_ctx *c, const kv_state *s, const sim_op *op)
{
    if (!s->present) return op->input;
    return sim_check_concat(c, s->value, op->input); /* unknown for a non-string */
}

static bool kv_step(sim_check_ctx *c, const void *state, const sim_op *op, void *next,
                    bool empty)
{
    const kv_state *s = state;
    kv_state *n = next;
    *n = *s;
    switch (op->code) {
    case F_GET: return kv_get_ok(c, s, op->output, empty);
    case F_PUT: *n = (kv_state){1, op->input}; return true;
    case F_APPEND: {
        uint32_t v = kv_appended(c, s, op);
        if (v == SIM_VALUE_UNKNOWN) return false;
        *n = (kv_state){1, v};
        return true;
    }
    case F_RM: *n = (kv_state){0, 0}; return true;
    case F_RM_MISSING: return !s->present;
    default: *n = (kv_state){0, 0}; return s->present; /* F_RM_FOUND */
    }
}

static bool kv_step_nil(sim_check_ctx *c, const void *state, const sim_op *op, void *next)
{
    return kv_step(c, state, op, next, false);
}

static bool kv_step_empty(sim_check_ctx *c, const void *state, const sim_op *op, void *next)
{
    return kv_step(c, state, op, next, true);
}

static void kv_describe(const sim_check_ctx *c, const void *state, char *buf, size_t size)
{
    const kv_state *s = state;
    if (!s->present) {
        snprintf(buf, size, "absent");
    } else {
        sim_check_value_text(c, s->value, buf, size);
    }
}

const sim_model sim_model_kv = {
    .name = "kv",
    .summary = "get, put, append and rm on independent keys; a missing key reads nil",
    .state_size = sizeof(kv_state),
    .prepare = kv_prepare,
    .init = kv_init,
    .step = kv_step_nil,
    .describe = kv_describe,
};

const sim_model sim_model_kv_empty = {
    .name = "kv-empty",
    .summary = "kv, where a missing key reads \"\" (or nil)",
    .state_size = sizeof(kv_state),
    .prepare = kv_prepare,
    .init = kv_init,
    .step = kv_step_empty,
    .describe = kv_describe,
};

const sim_model *sim_model_find(const char *name)
{
    static const sim_model *const all[] = {&sim_model_register, &sim_model_kv,
                                           &sim_model_kv_empty};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i]->name, name) == 0) return all[i];
    }
    return NULL;
}
