/*
 * host_files.c: the open files of a host world. A file handle names (index, generation) in
 * this table rather than a record of the executor's handle table, because blocking jobs open,
 * use and close files on pool threads, which must not touch the world's tables. A
 * reader-writer lock guards the table (looking an fd up, on every read and write, takes the
 * read side, so pool threads do not queue behind one another); a system call on an fd is made
 * outside it (as two threads of a real program share an fd), except appends, which hold a
 * mutex of their own so that finding the end and writing there are one step, without holding
 * up the lookups of other threads' reads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

typedef struct hfile {
    int fd;        /* -1 when the slot is free */
    uint32_t gen;  /* generation of the slot's current (or last) file; never 0 once used */
    uint32_t owner; /* the node that opened it (closed by its crash); 0: none */
} hfile;

struct sim__hfiles {
    pthread_rwlock_t lock;  /* the table */
    pthread_mutex_t append; /* appends, one at a time */
    hfile *files;
    uint32_t cap;
    uint32_t used;
    uint32_t next_gen;
};

sim__hfiles *sim__hfiles_new(void)
{
    sim__hfiles *t = sim__xcalloc(1, sizeof *t, "a host file table");
    pthread_rwlock_init(&t->lock, NULL);
    pthread_mutex_init(&t->append, NULL);
    t->next_gen = 1;
    SIM_ASSERT(t->used == 0);
    return t;
}

void sim__hfiles_free(sim__hfiles *t)
{
    if (t == NULL) return;
    for (uint32_t i = 0; i < t->used; i++) {
        if (t->files[i].fd >= 0) close(t->files[i].fd);
    }
    pthread_rwlock_destroy(&t->lock);
    pthread_mutex_destroy(&t->append);
    free(t->files);
    free(t);
}

void sim__hfiles_add(sim__hfiles *t, int fd, uint32_t owner, uint32_t *idx, uint32_t *gen)
{
    SIM_ASSERT(fd >= 0);
    SIM_ASSERT(idx != NULL && gen != NULL);
    pthread_rwlock_wrlock(&t->lock);
    uint32_t i = 0;
    while (i < t->used && t->files[i].fd >= 0) i++;
    if (i == t->cap) {
        uint32_t ncap = t->cap ? t->cap * 2 : 16;
        t->files = sim__xrealloc_array(t->files, ncap, sizeof *t->files, "host files");
        t->cap = ncap;
    }
    if (i == t->used) t->used++;
    t->files[i] = (hfile){.fd = fd, .gen = t->next_gen++, .owner = owner};
    if (t->next_gen == 0) t->next_gen = 1;
    *idx = i;
    *gen = t->files[i].gen;
    pthread_rwlock_unlock(&t->lock);
    SIM_ASSERT(*gen != 0);
}

int sim__hfiles_get(sim__hfiles *t, uint32_t idx, uint32_t gen)
{
    pthread_rwlock_rdlock(&t->lock);
    int fd = idx < t->used && t->files[idx].gen == gen ? t->files[idx].fd : -1;
    pthread_rwlock_unlock(&t->lock);
    return fd;
}

int sim__hfiles_remove(sim__hfiles *t, uint32_t idx, uint32_t gen)
{
    pthread_rwlock_wrlock(&t->lock);
    int fd = -1;
    if (idx < t->used && t->files[idx].gen == gen && t->files[idx].fd >= 0) {
        fd = t->files[idx].fd;
        t->files[idx].fd = -1;
    }
    pthread_rwlock_unlock(&t->lock);
    return fd;
}

uint32_t sim__hfiles_close_owner(sim__hfiles *t, uint32_t owner)
{
    SIM_ASSERT(owner != 0);
    uint32_t closed = 0;
    pthread_rwlock_wrlock(&t->lock);
    for (uint32_t i = 0; i < t->used; i++) {
        if (t->files[i].fd < 0 || t->files[i].owner != owner) continue;
        close(t->files[i].fd);
        t->files[i].fd = -1;
        closed++;
    }
    pthread_rwlock_unlock(&t->lock);
    SIM_ASSERT(closed <= t->used);
    return closed;
}

int sim__hfiles_locked(sim__hfiles *t, int fd, int (*fn)(void *ud, int fd), void *ud)
{
    SIM_ASSERT(fn != NULL);
    SIM_ASSERT(fd >= 0);
    pthread_mutex_lock(&t->append);
    int rc = fn(ud, fd);
    pthread_mutex_unlock(&t->append);
    return rc;
}
