/*
 * host_loop.c: the reactor of a host world: one epoll instance and one eventfd.
 *
 * Sockets are watched edge-triggered for their whole life. A task that met EAGAIN leaves its
 * waker as the fd's read or write waiter; since the loop is single-threaded and epoll keeps an
 * edge until epoll_wait reports it, an edge between the EAGAIN and the registration is not
 * lost: the next wait reports it and wakes the waiter, which tries again. A wake-up may be
 * spurious (the task finds EAGAIN again and waits again): futures cope with spurious polls.
 * A read that got less than it asked for emptied the socket, so its task may wait without
 * the recv that would say EAGAIN, provided no read event of the fd was reported since
 * (sim__reactor_read_epoch: an event reported meanwhile, with no waiter to wake, is an edge
 * epoll will not report again) and the peer's end was never reported (its event may have come
 * before the data was read: tokio keeps its "read closed" readiness for the same reason).
 * The eventfd is the one thing other threads touch: pool threads write it when a job is done,
 * signal handlers when the run should stop. A pool thread writes it only when the loop is
 * asleep or about to be (sim__reactor_sleeping .. the end of the wait), and only the first
 * of them: a job finished while the loop runs costs no system call and no wake-up, the loop
 * finds it when it drains its completions (after every wait, and every 64 steps of a busy loop).
 * The loop's side (set `sleeping`, then look at its completions) and a pool thread's (push its
 * completion, then take `sleeping`) are both sequentially consistent, so one of them sees the
 * other: a completion is never left behind a sleep.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "host.h"

typedef struct fd_waiters {
    uint64_t read;  /* waiter to wake when readable; 0 = none */
    uint64_t write; /* ... when writable */
    uint32_t reads; /* read-side events reported since the fd was added, never 0 (wraps to 1) */
    bool closed;    /* the peer's end or an error was reported: no short read vouches */
} fd_waiters;

struct sim__reactor {
    int epfd;
    int evfd;
    fd_waiters *fds;   /* indexed by fd */
    uint32_t fds_cap;
    uint32_t waiting;  /* fds with a waiter */
    atomic_bool sleeping; /* the loop is in, or about to enter, a wait that may block */
};

#define EVFD_TAG UINT64_MAX /* the eventfd's epoll data (an fd is far below it) */

static _Noreturn void host_fatal(const char *what)
{
    fprintf(stderr, "sim: host backend: %s: %s\n", what, strerror(errno));
    abort();
}

sim__reactor *sim__reactor_new(void)
{
    sim__reactor *r = sim__xcalloc(1, sizeof *r, "a host reactor");
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0) host_fatal("epoll_create1");
    r->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->evfd < 0) host_fatal("eventfd");
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EVFD_TAG};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->evfd, &ev) != 0) host_fatal("epoll_ctl");
    SIM_ASSERT(r->epfd >= 0 && r->evfd >= 0);
    return r;
}

void sim__reactor_free(sim__reactor *r)
{
    if (r == NULL) return;
    close(r->evfd);
    close(r->epfd);
    free(r->fds);
    free(r);
}

static fd_waiters *slot_of(sim__reactor *r, int fd)
{
    SIM_ASSERT(fd >= 0);
    uint32_t need = (uint32_t)fd + 1;
    if (need > r->fds_cap) {
        uint32_t ncap = r->fds_cap ? r->fds_cap : 64;
        while (ncap < need) ncap *= 2;
        r->fds = sim__xrealloc_array(r->fds, ncap, sizeof *r->fds, "a host reactor's fds");
        memset(r->fds + r->fds_cap, 0, (ncap - r->fds_cap) * sizeof *r->fds);
        r->fds_cap = ncap;
    }
    return &r->fds[fd];
}

static void forget(sim__reactor *r, fd_waiters *f)
{
    if (f->read != 0 || f->write != 0) {
        SIM_ASSERT(r->waiting > 0);
        r->waiting--;
    }
    *f = (fd_waiters){.reads = 1};
}

int sim__reactor_add(sim__reactor *r, int fd)
{
    SIM_ASSERT(fd >= 0 && fd != r->evfd);
    forget(r, slot_of(r, fd));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.u64 = (uint64_t)fd};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) return -errno;
    return 0;
}

void sim__reactor_del(sim__reactor *r, int fd)
{
    SIM_ASSERT(fd >= 0 && fd != r->evfd);
    forget(r, slot_of(r, fd));
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void sim__reactor_await(sim__reactor *r, int fd, bool write, uint64_t waiter)
{
    SIM_ASSERT(waiter != 0);
    fd_waiters *f = slot_of(r, fd);
    if (f->read == 0 && f->write == 0) r->waiting++;
    if (write) {
        f->write = waiter;
    } else {
        f->read = waiter;
    }
    SIM_ASSERT(r->waiting > 0);
}

uint32_t sim__reactor_waiting(const sim__reactor *r)
{
    return r->waiting;
}

uint32_t sim__reactor_read_epoch(const sim__reactor *r, int fd)
{
    SIM_ASSERT(fd >= 0 && (uint32_t)fd < r->fds_cap); /* a watched fd has its slot */
    const fd_waiters *f = &r->fds[fd];
    SIM_ASSERT(f->reads != 0);
    return f->closed ? 0 : f->reads;
}

/* One read takes the whole count (not a semaphore eventfd) and makes it 0. */
static void drain_evfd(sim__reactor *r)
{
    uint64_t v;
    ssize_t n = read(r->evfd, &v, sizeof v);
    SIM_ASSERT(n == (ssize_t)sizeof v || n < 0);
}

void sim__reactor_sleeping(sim__reactor *r)
{
    SIM_ASSERT(r != NULL);
    atomic_store(&r->sleeping, true);
}

bool sim__reactor_wait(sim__reactor *r, uint64_t timeout_ns, void (*wake)(void *, uint64_t),
                       void *ud)
{
    SIM_ASSERT(wake != NULL);
    int ms = -1;
    if (timeout_ns != UINT64_MAX) {
        /* Rounded up: a timer must not be polled for before it is due. */
        uint64_t t = (timeout_ns + 999999) / 1000000;
        ms = t > 3600000 ? 3600000 : (int)t;
    }
    struct epoll_event evs[64];
    int n = epoll_wait(r->epfd, evs, 64, ms);
    atomic_store(&r->sleeping, false);
    if (n < 0) {
        if (errno != EINTR) host_fatal("epoll_wait");
        return false;
    }
    bool kicked = false;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == EVFD_TAG) {
            drain_evfd(r);
            kicked = true;
            continue;
        }
        int fd = (int)evs[i].data.u64;
        if ((uint32_t)fd >= r->fds_cap) continue;
        fd_waiters *f = &r->fds[fd];
        uint64_t rd = 0, wr = 0;
        uint32_t e = evs[i].events;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            rd = f->read, f->read = 0;
            f->reads = f->reads == UINT32_MAX ? 1 : f->reads + 1;
        }
        if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) f->closed = true;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) wr = f->write, f->write = 0;
        if ((rd != 0 || wr != 0) && f->read == 0 && f->write == 0) r->waiting--;
        if (rd != 0) wake(ud, rd);
        if (wr != 0) wake(ud, wr);
    }
    return kicked;
}

void sim__reactor_wake(sim__reactor *r)
{
    SIM_ASSERT(r != NULL);
    if (atomic_exchange(&r->sleeping, false)) sim__reactor_kick(r);
}

void sim__reactor_kick(sim__reactor *r)
{
    uint64_t one = 1;
    /* Async-signal-safe; a full counter (never in practice) still wakes the wait. */
    ssize_t rc = write(r->evfd, &one, sizeof one);
    (void)rc;
}
