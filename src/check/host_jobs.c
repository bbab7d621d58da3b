/*
 * host_jobs.c: keys checked in threads at once (sim check --jobs). The only threads in sim:
 * the checker runs after a simulation, on data that no longer changes, and each key's search
 * is deterministic whichever thread runs it; check.c picks the result that a run in order
 * would give. Threads take the next index from a shared counter.
 */
#include <pthread.h>

#include "check.h"

typedef struct pool {
    _Atomic uint32_t next;
    uint32_t n;
    void (*run)(void *arg, uint32_t i);
    void *arg;
} pool;

static void drain(pool *p)
{
    for (;;) {
        uint32_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) return;
        p->run(p->arg, i);
    }
}

static void *worker(void *arg)
{
    drain(arg);
    return NULL;
}

void sim__check_jobs(uint32_t n, uint32_t jobs, void (*run)(void *arg, uint32_t i), void *arg)
{
    pool p = {.n = n, .run = run, .arg = arg};
    atomic_init(&p.next, 0);
    uint32_t extra = (jobs > n ? n : jobs) > 1 ? (jobs > n ? n : jobs) - 1 : 0;
    pthread_t *t = extra ? sim__xcalloc(extra, sizeof *t, "the checker's threads") : NULL;
    uint32_t started = 0;
    while (t != NULL && started < extra && pthread_create(&t[started], NULL, worker, &p) == 0) {
        started++;
    }
    drain(&p); /* this thread works too, and alone when no thread could start */
    for (uint32_t i = 0; i < started; i++) pthread_join(t[i], NULL);
    free(t);
}
