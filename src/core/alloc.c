/*
 * alloc.c: host memory, and the one policy for running out of it: the harness stops.
 *
 * Running out of host memory is a host event, not a simulated one. Were it turned into a
 * result inside the simulation (SIM_ENOMEM from a send, a failed open), a run's outcome would
 * depend on the machine it ran on, which the determinism contract forbids. So every table,
 * buffer and copy of sim comes from these wrappers, which never return NULL: on failure they
 * call sim__oom, which prints what was being allocated and, when a world is running on the
 * thread, its seed, virtual time, step and replay command (as a failed assertion does), then
 * aborts. `sim run --jobs N` reports a worker that died so as a `crash` of its seed and goes
 * on. Simulated resource limits (max_objects, disk capacity, the checker's memo bound) are
 * different: they are deterministic and remain ordinary results.
 *
 * The test seam (testhooks.h), as SQLite's fault simulator: a countdown per thread makes the
 * N-th allocation through the wrappers fail as if malloc had returned NULL, so a test can
 * sweep N over a whole run and see every allocation site take the fatal path cleanly. Its
 * cost when unarmed is one thread-local compare and one increment per allocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "testhooks.h"

/* 0: unarmed; otherwise the number of allocations left until the failing one, counting it. */
static _Thread_local uint64_t fail_countdown;
/* Allocations through the wrappers on this thread, failed ones included. */
static _Thread_local uint64_t alloc_total;

void sim__alloc_fail_after(uint64_t n)
{
    fail_countdown = n == UINT64_MAX ? 0 : n + 1;
}

uint64_t sim__alloc_count(void)
{
    return alloc_total;
}

/* Counts an allocation; true when the seam says this one fails. */
static bool injected(void)
{
    alloc_total++;
    if (fail_countdown == 0) return false;
    fail_countdown--;
    return fail_countdown == 0;
}

_Noreturn void sim__oom(size_t bytes, const char *what)
{
    SIM_ASSERT(what != NULL);
    fflush(stdout);
    if (bytes != 0) {
        fprintf(stderr, "sim: out of memory allocating %zu bytes for %s\n", bytes, what);
    } else {
        fprintf(stderr, "sim: out of memory in %s\n", what);
    }
    sim__context_print(stderr);
    fflush(stderr);
    abort();
}

void *sim__xmalloc(size_t bytes, const char *what)
{
    size_t n = bytes ? bytes : 1; /* malloc(0) may answer NULL */
    void *p = injected() ? NULL : malloc(n);
    if (p == NULL) sim__oom(bytes, what);
    return p;
}

void *sim__xcalloc(size_t count, size_t size, const char *what)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) sim__oom(SIZE_MAX, what);
    void *p = injected() ? NULL : calloc(bytes ? count : 1, bytes ? size : 1);
    if (p == NULL) sim__oom(bytes, what);
    return p;
}

void *sim__xrealloc(void *block, size_t bytes, const char *what)
{
    /* realloc(p, 0) may free p and answer NULL: keep at least one byte. */
    void *p = injected() ? NULL : realloc(block, bytes ? bytes : 1);
    if (p == NULL) sim__oom(bytes, what);
    return p;
}

void *sim__xrealloc_array(void *block, size_t count, size_t size, const char *what)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) sim__oom(SIZE_MAX, what);
    return sim__xrealloc(block, bytes, what);
}

char *sim__xstrdup(const char *s, const char *what)
{
    SIM_ASSERT(s != NULL);
    return sim__xstrndup(s, strlen(s), what);
}

char *sim__xstrndup(const char *s, size_t n, const char *what)
{
    SIM_ASSERT(s != NULL);
    size_t len = strnlen(s, n);
    char *copy = sim__xmalloc(len + 1, what);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}
