/*
 * host_pool.c: a pool of real threads for a host world's blocking jobs.
 *
 * A FIFO queue under one mutex and one condition variable; `threads` threads take jobs in
 * order, run fn(arg), then the pool's done(ud, arg) (which hands the completion back to the
 * loop: src/executor/host_exec.c). Freeing the pool lets the running jobs finish, drops the
 * queued ones and joins every thread, so that nothing runs once the world is gone. Cost: one
 * lock per submit and per take; fine for file I/O, which is what the pool is for.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

typedef struct tjob {
    sim__tpool_fn fn;
    void *arg;
    struct tjob *next;
} tjob;

struct sim__tpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tjob *head;            /* FIFO of queued jobs, under mu */
    tjob *tail;
    bool stopping;         /* under mu: threads leave once the queue is dropped */
    sim__tpool_done_fn done;
    void *ud;
    uint32_t threads;
    pthread_t *tids;
};

static void *worker_main(void *arg)
{
    sim__tpool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->head == NULL && !p->stopping) pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        tjob *j = p->head;
        p->head = j->next;
        if (p->head == NULL) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        p->done(p->ud, j->arg);
        free(j);
    }
}

sim__tpool *sim__tpool_new(uint32_t threads, sim__tpool_done_fn done, void *ud)
{
    SIM_ASSERT(threads >= 1);
    SIM_ASSERT(done != NULL);
    sim__tpool *p = sim__xcalloc(1, sizeof *p, "a host thread pool");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->done = done;
    p->ud = ud;
    p->tids = sim__xcalloc(threads, sizeof *p->tids, "a host thread pool's threads");
    for (uint32_t i = 0; i < threads; i++) {
        int rc = pthread_create(&p->tids[i], NULL, worker_main, p);
        if (rc != 0) {
            fprintf(stderr, "sim: host backend: pthread_create: %s\n", strerror(rc));
            abort();
        }
        p->threads++;
    }
    return p;
}

void sim__tpool_submit(sim__tpool *p, sim__tpool_fn fn, void *arg)
{
    SIM_ASSERT(p != NULL && fn != NULL);
    tjob *j = sim__xmalloc(sizeof *j, "a host job");
    *j = (tjob){.fn = fn, .arg = arg};
    pthread_mutex_lock(&p->mu);
    SIM_ASSERT(!p->stopping); /* no job after the pool is being freed */
    if (p->tail != NULL) {
        p->tail->next = j;
    } else {
        p->head = j;
    }
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void sim__tpool_free(sim__tpool *p, sim__tpool_fn drop)
{
    if (p == NULL) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    tjob *q = p->head;
    p->head = p->tail = NULL;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    while (q != NULL) {
        tjob *next = q->next;
        if (drop != NULL) drop(q->arg);
        free(q);
        q = next;
    }
    for (uint32_t i = 0; i < p->threads; i++) pthread_join(p->tids[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->tids);
    free(p);
}
