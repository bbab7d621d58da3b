/*
 * host_exec.c: the executor's side of a host world (sim.h, "Host worlds").
 *
 * Only two phases of the loop differ from a simulation (run.c): the clock, which is the host's
 * CLOCK_MONOTONIC since the world was made, read at the top of every iteration; and idle,
 * which instead of jumping to the next deadline blocks in the reactor (src/host/) until that
 * deadline, a socket a task waits on, or a finished blocking job. Tasks, wakers, timers,
 * channels, select and tokens are the simulator's own code.
 *
 * Blocking jobs run on real threads, one pool per node with the node's pool_workers threads
 * (the executor's worker accounting in pool.c still decides when a job starts, so a pool never
 * queues). A job's run function runs on a pool thread with a thread-local naming its job; the
 * thread then pushes the job on the done list (a lock-free stack: a compare-and-swap) and
 * wakes the reactor, which costs a system call only when the loop sleeps (host_loop.c), and
 * the loop takes the whole list in one exchange, storing each result and waking the job's
 * task. Job records are recycled through a free list of the loop's own (no allocation per job
 * once the pool is warm). The run function
 * touches only its own state, the host file table (its own lock) and immutable fields of the
 * world (backend, host, the node's directory string). The world's end frees the pools first,
 * which waits for running jobs: no thread runs once the tasks are dropped.
 *
 * Events are the loop's alone (the trace hash and the sink are not thread-safe, and a trace
 * database records in order): a note or a violation made on a pool thread is kept with its job
 * (host_deferred) and emitted by the loop, as the job's, when it drains the job's completion.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/host.h"
#include "exec.h"

/* An event a job made on its thread, for the loop to emit (sim__host_defer). */
typedef struct host_deferred {
    sim_event_kind kind;         /* SIM_EV_NOTE, or SIM_EV_VIOLATION (a = the violation's kind) */
    uint64_t a, b;
    char *detail;                /* owned; NULL for none */
    struct host_deferred *next;  /* in the order made */
} host_deferred;

typedef struct host_job {
    sim_world *w;
    uint32_t slot;       /* the job's task */
    uint32_t id;
    uint32_t node;
    const char *dir;     /* the node's host_dir (owned by the node, stable) */
    sim_job_cb run;
    void *user;          /* the job's state block (stable: the allocator never moves one) */
    int32_t *rc_out;     /* where the loop stores the result (the job's header) */
    bool *done_out;
    int result;          /* run's result, written by the pool thread */
    host_deferred *deferred;  /* events the run function made, in order (its thread only, until
                                 the loop drains the job) */
    host_deferred **deferred_tail;
    struct host_job *next;
} host_job;

struct sim__host {
    sim__reactor *reactor;
    uint64_t start_ns;          /* the host clock when the world was made */
    sim__tpool **pools;         /* per node, made at a node's first job; NULL until then */
    uint32_t pools_cap;
    _Atomic(host_job *) done_head; /* finished jobs, pushed by pool threads (LIFO; order is
                                      free here), taken whole by the loop */
    host_job *free_jobs;        /* records to reuse (loop thread only) */
    uint32_t running;           /* submitted, not yet drained (loop thread only) */
    sim__hfiles *files;         /* open files (their own lock: pool threads use them) */
};

/* The job whose run function this thread is executing (pool threads), else NULL. */
static _Thread_local host_job *tls_job;

bool sim__exec_is_host(const sim_world *w)
{
    return w->backend == SIM_BACKEND_HOST;
}

int sim__host_refuse(sim_world *w, const char *what)
{
    SIM_ASSERT(w->backend == SIM_BACKEND_HOST);
    SIM_ASSERT(what != NULL);
    sim__violation(w, SIM_VIOLATION_MISUSE,
                   "%s: only a simulated world can do this; this world runs on the host "
                   "(sim_world_desc.backend = SIM_BACKEND_HOST)", what);
    return SIM_ESIMONLY;
}

bool sim__host_addr_valid(const char *text)
{
    SIM_ASSERT(text != NULL);
    unsigned char buf[16];
    return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}

void sim__host_node_init(sim_world *w, sim__node *n, const sim_node_desc *d)
{
    SIM_ASSERT(w->backend == SIM_BACKEND_HOST && w->host_dir != NULL);
    SIM_ASSERT(n->host_addr == NULL && n->host_dir == NULL);
    n->host_addr = sim__xstrdup(d->host_addr ? d->host_addr : "127.0.0.1", "a node's address");
    if (d->host_dir != NULL) {
        n->host_dir = sim__xstrdup(d->host_dir, "a node's directory");
        return;
    }
    size_t len = strlen(w->host_dir) + 1 + strlen(d->name) + 1;
    n->host_dir = sim__xmalloc(len, "a node's directory");
    snprintf(n->host_dir, len, "%s/%s", w->host_dir, d->name);
}

const char *sim__exec_node_host_addr(const sim_world *w, uint32_t node)
{
    SIM_ASSERT(w->backend == SIM_BACKEND_HOST);
    SIM_ASSERT(node >= 1 && node < w->nodes_len);
    return w->nodes[node].host_addr;
}

const char *sim__exec_node_host_dir(const sim_world *w, uint32_t node)
{
    SIM_ASSERT(w->backend == SIM_BACKEND_HOST);
    SIM_ASSERT(node >= 1 && node < w->nodes_len);
    return w->nodes[node].host_dir;
}

uint32_t sim__exec_job_node(const sim_world *w)
{
    if (tls_job != NULL) {
        SIM_ASSERT(tls_job->w == w);
        return tls_job->node;
    }
    return sim__exec_node_here(w);
}

const char *sim__exec_here_host_dir(const sim_world *w)
{
    SIM_ASSERT(w->backend == SIM_BACKEND_HOST);
    if (tls_job != NULL) {
        SIM_ASSERT(tls_job->w == w);
        return tls_job->dir;
    }
    uint32_t node = sim__exec_node_here(w);
    return node == 0 ? NULL : w->nodes[node].host_dir;
}

bool sim__host_on_pool_thread(const sim_world *w)
{
    return tls_job != NULL && tls_job->w == w;
}

/* ---- the clock and the loop's idle phase ----------------------------------------------------- */

static void job_done(void *ud, void *arg);

void sim__host_world_init(sim_world *w)
{
    SIM_ASSERT(w->backend == SIM_BACKEND_HOST);
    SIM_ASSERT(w->host == NULL);
    struct sim__host *h = sim__xcalloc(1, sizeof *h, "a host world");
    h->reactor = sim__reactor_new();
    h->start_ns = sim__host_now_ns();
    atomic_init(&h->done_head, NULL);
    h->files = sim__hfiles_new();
    w->host = h;
}

static void job_discard(void *arg);

bool sim__host_defer(sim_world *w, sim_event_kind kind, uint64_t a, uint64_t b, const char *detail)
{
    SIM_ASSERT(kind == SIM_EV_NOTE || kind == SIM_EV_VIOLATION);
    if (tls_job == NULL || tls_job->w != w) return false;
    host_deferred *d = sim__xcalloc(1, sizeof *d, "an event of a blocking job");
    *d = (host_deferred){.kind = kind, .a = a, .b = b,
                         .detail = detail ? sim__xstrdup(detail, "an event of a blocking job")
                                          : NULL};
    if (tls_job->deferred_tail == NULL) tls_job->deferred_tail = &tls_job->deferred;
    *tls_job->deferred_tail = d;
    tls_job->deferred_tail = &d->next;
    SIM_ASSERT(tls_job->deferred != NULL);
    return true;
}

/* The loop emits a finished job's events as the job's, and frees them. */
static void job_emit_deferred(sim_world *w, host_job *j)
{
    SIM_ASSERT(!sim__host_on_pool_thread(w));
    while (j->deferred != NULL) {
        host_deferred *d = j->deferred;
        j->deferred = d->next;
        if (d->kind == SIM_EV_VIOLATION) {
            sim__violation_at(w, (sim_violation_kind)d->a, j->node, j->id, d->detail);
        } else {
            sim__emit(w, d->kind, j->node, j->id, d->a, d->b, d->detail);
        }
        free(d->detail);
        free(d);
    }
    j->deferred_tail = NULL;
}

static void job_discard(void *arg)
{
    host_job *j = arg;
    SIM_ASSERT(j->deferred == NULL); /* a queued job never ran: it made no event */
    free(j);
}

void sim__host_jobs_stop(sim_world *w)
{
    struct sim__host *h = w->host;
    if (h == NULL) return;
    /* Running jobs finish (their completions land on the done list); queued ones go. */
    for (uint32_t i = 0; i < h->pools_cap; i++) sim__tpool_free(h->pools[i], job_discard);
    free(h->pools);
    h->pools = NULL;
    h->pools_cap = 0;
    host_job *list = atomic_exchange(&h->done_head, NULL);
    while (list != NULL) {
        host_job *j = list;
        list = j->next;
        job_emit_deferred(w, j);
        free(j);
    }
    while (h->free_jobs != NULL) {
        host_job *j = h->free_jobs;
        h->free_jobs = j->next;
        free(j);
    }
    h->running = 0;
}

void sim__host_world_free(sim_world *w)
{
    struct sim__host *h = w->host;
    if (h == NULL) return;
    SIM_ASSERT(h->pools == NULL && h->free_jobs == NULL); /* sim__host_jobs_stop came first */
    SIM_ASSERT(atomic_load(&h->done_head) == NULL);
    sim__hfiles_free(h->files);
    sim__reactor_free(h->reactor);
    free(h);
    w->host = NULL;
}

uint64_t sim__host_clock(const sim_world *w)
{
    SIM_ASSERT(w->host != NULL);
    uint64_t now = sim__host_now_ns();
    return now > w->host->start_ns ? now - w->host->start_ns : 0;
}

static void wake_waiter(void *ud, uint64_t waiter)
{
    sim_world *w = ud;
    sim__exec_wake(w, (uint32_t)(waiter >> 32), (uint32_t)waiter);
}

/* Finished jobs: their results go to their headers and their tasks wake. */
static void drain_done(sim_world *w)
{
    struct sim__host *h = w->host;
    if (atomic_load(&h->done_head) == NULL) return; /* no exchange (a locked op) for nothing */
    host_job *list = atomic_exchange(&h->done_head, NULL);
    while (list != NULL) {
        host_job *j = list;
        list = j->next;
        SIM_ASSERT(h->running > 0);
        h->running--;
        job_emit_deferred(w, j);
        if (sim__exec_task_live(w, j->slot, j->id)) {
            *j->rc_out = j->result;
            *j->done_out = true;
            sim__exec_wake(w, j->slot, j->id);
        }
        j->next = h->free_jobs;
        h->free_jobs = j;
    }
}

void sim__host_poll_io(sim_world *w)
{
    struct sim__host *h = w->host;
    SIM_ASSERT(h != NULL);
    SIM_ASSERT(w->current == SIM__NIL); /* between steps */
    sim__reactor_wait(h->reactor, 0, wake_waiter, w);
    drain_done(w);
}

int sim__host_idle(sim_world *w, uint64_t until_ns, bool have_root)
{
    struct sim__host *h = w->host;
    SIM_ASSERT(h != NULL);
    SIM_ASSERT(w->rq_len == 0);
    bool work = w->work_live > 0 || w->held || have_root;
    if (!work && until_ns == UINT64_MAX) return 0;
    bool timers = sim__timers_armed(w) > 0;
    uint64_t next = timers ? sim__timers_next(w) : UINT64_MAX;
    uint64_t own = sim__oracle_next(w);
    if (own < next) next = own;
    bool io = sim__reactor_waiting(h->reactor) > 0 || h->running > 0;
    if (next == UINT64_MAX && !io && work && until_ns == UINT64_MAX) {
        sim__stop(w, SIM_EDEADLOCK);
        return 1;
    }
    uint64_t limit = w->time_limit_ns;
    uint64_t bound = limit != 0 && limit < until_ns ? limit : until_ns;
    uint64_t deadline = next < bound ? next : bound;
    uint64_t now = sim__host_clock(w);
    uint64_t timeout = deadline == UINT64_MAX ? UINT64_MAX : deadline > now ? deadline - now : 0;
    if (timeout > 0 && !w->stop_requested) {
        /* Asleep from here for pool threads; a job that finished before is on the list. */
        sim__reactor_sleeping(h->reactor);
        if (atomic_load(&h->done_head) != NULL) timeout = 0;
        sim__reactor_wait(h->reactor, timeout, wake_waiter, w);
    }
    drain_done(w);
    now = sim__host_clock(w);
    if (now > w->now_ns) w->now_ns = now;
    if (w->now_ns >= bound && w->rq_len == 0 && next > bound) {
        if (bound == until_ns) return 0;
        sim__stop(w, SIM_ETIMELIMIT);
    }
    return 1;
}

/* ---- blocking jobs on threads ---------------------------------------------------------------- */

static void job_run(void *arg)
{
    host_job *j = arg;
    SIM_ASSERT(tls_job == NULL);
    tls_job = j;
    j->result = j->run(j->user, j->w);
    tls_job = NULL;
    SIM_ASSERT(j->result != SIM_PENDING);
}

static void job_done(void *ud, void *arg)
{
    sim_world *w = ud;
    host_job *j = arg;
    SIM_ASSERT(j->w == w);
    host_job *head = atomic_load_explicit(&w->host->done_head, memory_order_relaxed);
    do {
        j->next = head;
    } while (!atomic_compare_exchange_weak(&w->host->done_head, &head, j));
    sim__reactor_wake(w->host->reactor);
}

void sim__host_job_submit(sim_world *w, uint32_t slot, sim_job_cb run, void *user, int32_t *rc,
                          bool *done)
{
    struct sim__host *h = w->host;
    SIM_ASSERT(h != NULL && run != NULL);
    uint32_t node = w->tasks[slot].node;
    SIM_ASSERT(node >= 1 && node < w->nodes_len);
    if (node >= h->pools_cap) {
        uint32_t ncap = h->pools_cap ? h->pools_cap : 8;
        while (ncap <= node) ncap *= 2;
        h->pools = sim__xrealloc_array(h->pools, ncap, sizeof *h->pools, "host pools");
        memset(h->pools + h->pools_cap, 0, (ncap - h->pools_cap) * sizeof *h->pools);
        h->pools_cap = ncap;
    }
    if (h->pools[node] == NULL) {
        h->pools[node] = sim__tpool_new(w->nodes[node].workers, job_done, w);
    }
    host_job *j = h->free_jobs;
    if (j != NULL) {
        h->free_jobs = j->next;
    } else {
        j = sim__xmalloc(sizeof *j, "a host job");
    }
    *j = (host_job){.w = w, .slot = slot, .id = w->tasks[slot].id, .node = node,
                    .dir = w->nodes[node].host_dir, .run = run, .user = user, .rc_out = rc,
                    .done_out = done};
    h->running++;
    sim__tpool_submit(h->pools[node], job_run, j);
}

void sim__host_node_crash(sim_world *w, uint32_t node)
{
    struct sim__host *h = w->host;
    SIM_ASSERT(h != NULL);
    SIM_ASSERT(node >= 1 && node < w->nodes_len);
    SIM_ASSERT(tls_job == NULL); /* the loop's thread */
    if (node < h->pools_cap && h->pools[node] != NULL) {
        sim__tpool_free(h->pools[node], job_discard); /* made again at the next job */
        h->pools[node] = NULL;
    }
    /* The node's pool is gone, so its jobs have all landed; other nodes' threads may still
     * push theirs: take the whole list, keep this node's, push the others back. */
    host_job *list = atomic_exchange(&h->done_head, NULL);
    host_job *mine = NULL;
    while (list != NULL) {
        host_job *j = list;
        list = j->next;
        if (j->node == node) {
            j->next = mine;
            mine = j;
            continue;
        }
        host_job *head = atomic_load(&h->done_head);
        do {
            j->next = head;
        } while (!atomic_compare_exchange_weak(&h->done_head, &head, j));
    }
    while (mine != NULL) {
        host_job *j = mine;
        mine = j->next;
        SIM_ASSERT(h->running > 0);
        h->running--;
        job_emit_deferred(w, j);
        free(j);
    }
    sim__hfiles_close_owner(h->files, node);
}

uint32_t sim__host_jobs_running(const sim_world *w)
{
    return w->host != NULL ? w->host->running : 0;
}

/* ---- sockets: the loop's interest ------------------------------------------------------------ */

int sim__host_fd_watch(sim_world *w, int fd)
{
    SIM_ASSERT(w->host != NULL);
    SIM_ASSERT(fd >= 0);
    return sim__reactor_add(w->host->reactor, fd);
}

void sim__host_fd_forget(sim_world *w, int fd)
{
    SIM_ASSERT(w->host != NULL);
    SIM_ASSERT(fd >= 0);
    sim__reactor_del(w->host->reactor, fd);
}

void sim__host_fd_await(sim_world *w, int fd, bool write)
{
    SIM_ASSERT(w->host != NULL);
    SIM_ASSERT(w->current != SIM__NIL); /* a task's poll waits */
    uint64_t waiter = (uint64_t)w->current << 32 | w->tasks[w->current].id;
    sim__reactor_await(w->host->reactor, fd, write, waiter);
}

uint32_t sim__host_fd_read_epoch(const sim_world *w, int fd)
{
    SIM_ASSERT(w->host != NULL);
    SIM_ASSERT(fd >= 0);
    return sim__reactor_read_epoch(w->host->reactor, fd);
}

/* ---- stopping from a signal ------------------------------------------------------------------ */

static sim_world *volatile signal_world;

static void on_signal(int sig)
{
    sim_world *w = signal_world;
    if (w == NULL) return;
    signal_world = NULL; /* a second signal takes the default action */
    signal(sig, SIG_DFL);
    sim_world_stop(w);
}

void sim__host_kick(sim_world *w)
{
    if (w->host != NULL) sim__reactor_kick(w->host->reactor);
}

int sim_world_stop_on_signals(sim_world *w)
{
    if (w == NULL) {
        signal_world = NULL;
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        return SIM_OK;
    }
    if (w->backend != SIM_BACKEND_HOST) return SIM_ESIMONLY;
    signal_world = w;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    SIM_ASSERT(signal_world == w);
    return SIM_OK;
}

/* ---- file handles ---------------------------------------------------------------------------- */

/* A host file's handle: slot_ is the table index with this bit set (no handle record). */
#define HOST_FILE_BIT 0x80000000u

void sim__host_file_handle(sim_world *w, int fd, sim_handle *out)
{
    SIM_ASSERT(w->host != NULL);
    SIM_ASSERT(fd >= 0 && out != NULL);
    uint32_t idx, gen;
    /* The node whose task or job opened it: its crash closes it. */
    sim__hfiles_add(w->host->files, fd, sim__exec_job_node(w), &idx, &gen);
    SIM_ASSERT(idx < HOST_FILE_BIT);
    *out = (sim_handle){.slot_ = HOST_FILE_BIT | idx, .id_ = gen, .world_ = w->tag};
}

bool sim__host_file_is(const sim_world *w, const sim_handle *h)
{
    return w->host != NULL && h != NULL && h->world_ == w->tag && (h->slot_ & HOST_FILE_BIT);
}

int sim__host_file_fd(const sim_world *w, const sim_handle *h)
{
    if (!sim__host_file_is(w, h) || h->id_ == 0) return -1;
    return sim__hfiles_get(w->host->files, h->slot_ & ~HOST_FILE_BIT, h->id_);
}

int sim__host_file_take(sim_world *w, sim_handle *h)
{
    if (!sim__host_file_is(w, h) || h->id_ == 0) return -1;
    int fd = sim__hfiles_remove(w->host->files, h->slot_ & ~HOST_FILE_BIT, h->id_);
    *h = (sim_handle){0};
    return fd;
}

int sim__host_file_locked(sim_world *w, int fd, int (*fn)(void *ud, int fd), void *ud)
{
    SIM_ASSERT(w->host != NULL);
    return sim__hfiles_locked(w->host->files, fd, fn, ud);
}
