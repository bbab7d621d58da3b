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
    sim_world *w = running_world;
    if (w != NULL) {
        char context[512];
        sim__world_describe(w, context, sizeof context);
        fputs(context, out);
    }
}

_Noreturn void sim_assert_fail(const char *file, int line, const char *expr)
{
    fflush(stdout);
    fprintf(stderr, "sim: assertion failed: %s\n  at %s:%d\n", expr, file, line);
    sim__context_print(stderr);
    fflush(stderr);
    abort();
}
