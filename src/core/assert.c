/*
 * assert.c: the assertion handler and the thread's running world.
 *
 * A failed SIM_ASSERT must tell the person reading it how to get back to the failure: the
 * seed, the virtual time, the step, the running task and the replay command. The handler
 * finds that context through a thread-local pointer to the running world, which the run loop
 * sets on entry and restores on exit. The pointer is diagnostic only: no decision reads it.
 * Running out of host memory (alloc.c) prints the same context.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"

static _Thread_local sim_world *running_world;

/* Writes the running world's context (seed, time, step, task, replay command). Registered by
 * the executor, which knows the world; core knows only that it is a sim_world. */
static sim__context_fn context_fn;

void sim__context_register(sim__context_fn fn)
{
    SIM_ASSERT(fn != NULL);
    context_fn = fn; /* the same function whoever registers it: a benign global */
}

void sim__context_write(char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL && size > 0);
    buf[0] = '\0';
    if (running_world != NULL && context_fn != NULL) context_fn(running_world, buf, size);
}

void sim__running_set(sim_world *w)
{
    running_world = w;
}

sim_world *sim__running_get(void)
{
    return running_world;
}

void sim__fmt_time(uint64_t ns, char *buf, size_t size)
{
    snprintf(buf, size, "%llu.%06llus", (unsigned long long)(ns / SIM_S),
             (unsigned long long)((ns % SIM_S) / SIM_US));
}

void sim__context_print(FILE *out)
{
    char context[512];
    sim__context_write(context, sizeof context);
    fputs(context, out);
}

/* Set by the process (sim run's workers), not per world: a benign global, never a decision. */
static sim__assert_hook_fn assert_hook;

void sim__assert_hook_set(sim__assert_hook_fn fn)
{
    assert_hook = fn;
}

_Noreturn void sim_assert_fail(const char *file, int line, const char *expr)
{
    fflush(stdout);
    char context[512];
    sim__context_write(context, sizeof context);
    fprintf(stderr, "sim: assertion failed: %s\n  at %s:%d\n%s", expr, file, line, context);
    fflush(stderr);
    sim__assert_hook_fn hook = assert_hook;
    assert_hook = NULL; /* an assertion inside the hook aborts plainly */
    if (hook != NULL) hook(expr, file, line, context);
    abort();
}
