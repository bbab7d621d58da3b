/*
 * host_pool.c: a pool of real threads for a host world's blocking jobs.
 *
 * A FIFO queue under one mutex and one condition variable; `threads` threads take jobs in
 * order, run fn(arg), then the pool's done(ud, arg) (which hands the completion back to the
 * loop: src/executor/host_exec.c). Freeing the pool lets the running jobs finish, drops the
 * queued ones and joins every thread, so that nothing runs once the world is gone. Cost: one
 * lock per submit and per take, and a futex wake-up only when a thread sleeps and the queued
 * jobs outnumber the threads already signalled (the signal is sent after the unlock, so the
 * woken thread does not block on the mutex at once); queue nodes are recycled, not allocated
 * per job.
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
    tjob *spare;           /* recycled nodes, under mu */
    uint32_t queued;       /* jobs in the queue, under mu */
    uint32_t sleepers;     /* threads waiting on cv, under mu */
    uint32_t waking;       /* of them, signalled and not yet awake, under mu */
    bool stopping;         /* under mu: threads leave once the queue is dropped */
    sim__tpool_done_fn done;
    void *ud;
    uint32_t threads;
    pthread_t *tids;
};

static void *worker_main(void *arg)
{
    sim__tpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stopping) {
            p->sleepers++;
            pthread_cond_wait(&p->cv, &p->mu);
            SIM_ASSERT(p->sleepers > 0);
            p->sleepers--;
            if (p->waking > 0) p->waking--; /* this one, or a spurious wake-up: either way */
        }
        if (p->stopping) break;
        tjob *j = p->head;
        p->head = j->next;
        if (p->head == NULL) p->tail = NULL;
        SIM_ASSERT(p->queued > 0);
        p->queued--;
        sim__tpool_fn fn = j->fn;
        void *jarg = j->arg;
        j->next = p->spare;
        p->spare = j;
        pthread_mutex_unlock(&p->mu);
        fn(jarg);
        p->done(p->ud, jarg);
        pthread_mutex_lock(&p->mu); /* and, before sleeping, the queue is looked at again */
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
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
    pthread_mutex_lock(&p->mu);
    SIM_ASSERT(!p->stopping); /* no job after the pool is being freed */
    tjob *j = p->spare;
    if (j != NULL) {
        p->spare = j->next;
    } else {
        j = sim__xmalloc(sizeof *j, "a host job");
    }
    *j = (tjob){.fn = fn, .arg = arg};
    if (p->tail != NULL) {
        p->tail->next = j;
    } else {
        p->head = j;
    }
    p->tail = j;
    p->queued++;
    /* A sleeper is woken unless enough of them are on their way already. Threads busy with a
     * job are not counted on: the job might block, and the queue must not wait behind it. */
    bool wake = p->sleepers > p->waking && p->queued > p->waking;
    if (wake) p->waking++;
    SIM_ASSERT(p->waking <= p->sleepers);
    pthread_mutex_unlock(&p->mu);
    if (wake) pthread_cond_signal(&p->cv);
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
    while (p->spare != NULL) {
        tjob *next = p->spare->next;
        free(p->spare);
        p->spare = next;
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->tids);
    free(p);
}
