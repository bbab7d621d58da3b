/*
 * run_pool.c: sim run --jobs N, seeds run in N forked worker processes.
 *
 * The workers are forked after every scenario is loaded, so they start with the suite in
 * memory. Each has two pipes: down it gets unit numbers (a seed of a scenario), up it sends
 * each run's outcome (src/scenario/wire.c) and then "unit done". This process keeps a few
 * units queued per worker (one near the end) and hands out the next as one finishes; it
 * alone writes the database and prints, and it does so in unit order: results that arrive
 * early wait in a window of WINDOW units. So the database and the output are the same
 * whatever N is.
 *
 * A worker that dies (a system under test that crashes the process) has its unit reported as
 * a failure of kind `crash`, with the replay command; a new worker takes its place. A failed
 * SIM_ASSERT sends its text up before the abort (sim__assert_hook_set), and the crash's detail
 * keeps it. A worker's stderr is a third pipe: this process copies it to its own stderr as it
 * comes and keeps the last line the running unit wrote, so that a plain assert(3) or abort
 * message ("counter.c:42: bump: Assertion `n < 3' failed.") is in the crash's detail too.
 * --jobs 1 is one worker: a crashing seed never ends the suite. On Ctrl-C the workers finish
 * the run they are in (it stops at once, as interrupted) and exit; what finished is recorded.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

#define WINDOW 1024u
#define QUEUE 8u
#define HEADER 12u
#define FRAME_RUN 1u
#define FRAME_DONE 2u
#define FRAME_ASSERT 3u      /* the text of a failed SIM_ASSERT, sent just before the abort */
#define ASSERT_MAX 400u
#define ERRLINE_MAX 300u     /* the last stderr line kept per worker */

typedef struct pending_run {
    sim__outcome out;
    char *sweep;
    struct pending_run *next;
} pending_run;

typedef struct slot {
    bool done;
    pending_run *head, *tail;
} slot;

typedef struct worker {
    pid_t pid;
    int to, from;            /* -1 when closed */
    unsigned char *buf;
    size_t len, cap;
    uint32_t queue[QUEUE];   /* units handed to it, the first running */
    uint32_t queued;
    char assertion[ASSERT_MAX]; /* the running unit's failed assertion, or "" */
    int err;                 /* its stderr; -1 when closed */
    char errline[ERRLINE_MAX]; /* the last complete line the running unit wrote there, or "" */
    char errpart[ERRLINE_MAX]; /* a line being written */
    size_t errlen;
} worker;

typedef struct pool {
    const run_opts *o;
    sim_scenario **scs;
    const run_unit *units;
    uint32_t n;
    const pool_sink *sink;
    worker *w;
    uint32_t nw;
    slot slots[WINDOW];
    uint32_t next_dispatch, next_commit;
    uint32_t *retry;         /* units to hand out again (their worker died before them) */
    uint32_t nretry;
    bool stopping;
    int rc;
} pool;

/* ---- the worker's side -------------------------------------------------------------------- */

static bool send_frame(int fd, uint32_t type, uint32_t unit, const void *a, uint32_t alen,
                       const void *b, uint32_t blen)
{
    uint32_t h[3] = {alen + blen, type, unit};
    return cli_write_all(fd, h, sizeof h) && cli_write_all(fd, a, alen) &&
           cli_write_all(fd, b, blen);
}

typedef struct worker_ctx {
    int up;
} worker_ctx;

/* run_emit in a worker: the outcome goes up the pipe, after the sweep value. */
static int send_run(void *ctx, uint32_t unit, sim__outcome *out, const char *sweep)
{
    worker_ctx *w = ctx;
    void *bytes = NULL;
    size_t len = 0;
    int rc = sim__outcome_pack(out, &bytes, &len);
    sim__outcome_free(out);
    if (rc != SIM_OK || len > UINT32_MAX / 2) {
        free(bytes);
        cli_err("out of memory sending a result\n");
        return EXIT_USAGE;
    }
    uint32_t slen = sweep ? (uint32_t)strlen(sweep) + 1 : 0;
    SIM_ASSERT(slen <= RUN_SWEEP_MAX);
    unsigned char head[4 + RUN_SWEEP_MAX];
    memcpy(head, &slen, 4);
    if (slen) memcpy(head + 4, sweep, slen);
    bool ok = send_frame(w->up, FRAME_RUN, unit, head, 4 + slen, bytes, (uint32_t)len);
    free(bytes);
    return ok ? 0 : EXIT_USAGE;
}

/* Where a failed assertion in this worker goes: the pipe up and the unit it runs. */
static int assert_up = -1;
static uint32_t assert_unit;

/* sim__assert_hook_fn in a worker: one line up the pipe, the expression, its place and the
 * first line of the context (seed, virtual time, step, task; the run's line has the replay). */
static void send_assertion(const char *expr, const char *file, int line, const char *context)
{
    const char *ctx = context + strspn(context, " ");
    int n = (int)strcspn(ctx, "\n");
    char text[ASSERT_MAX];
    int len = snprintf(text, sizeof text, "assertion failed: %s at %s:%d%s%.*s%s", expr, file,
                       line, n ? " (" : "", n, ctx, n ? ")" : "");
    uint32_t size = len < 0 ? 0 : len >= (int)sizeof text ? (uint32_t)sizeof text
                                                          : (uint32_t)len + 1;
    text[sizeof text - 1] = '\0';
    if (size > 0) (void)send_frame(assert_up, FRAME_ASSERT, assert_unit, text, size, NULL, 0);
}

static _Noreturn void worker_main(pool *p, uint32_t self, int down, int up)
{
    for (uint32_t k = 0; k < p->nw; k++) {
        if (k == self) continue;
        if (p->w[k].to >= 0) close(p->w[k].to);
        if (p->w[k].from >= 0) close(p->w[k].from);
        if (p->w[k].err >= 0) close(p->w[k].err);
    }
    signal(SIGPIPE, SIG_DFL);
    worker_ctx ctx = {.up = up};
    assert_up = up;
    sim__assert_hook_set(send_assertion);
    uint32_t ui;
    while (!cli_interrupted && cli_read_all(down, &ui, sizeof ui) && ui < p->n) {
        const run_unit *u = &p->units[ui];
        assert_unit = ui;
        if (run_unit_exec(p->o, p->scs[u->sc], ui, u->seed, send_run, &ctx) != 0) _exit(2);
        if (!send_frame(up, FRAME_DONE, ui, NULL, 0, NULL, 0)) _exit(2);
    }
    _exit(0);
}

/* ---- this process's side ------------------------------------------------------------------ */

static int spawn(pool *p, uint32_t k)
{
    int down[2], up[2], err[2];
    if (pipe(down) != 0) return cli_usage_error(NULL, "cannot start workers: %s", strerror(errno));
    if (pipe(up) != 0) {
        close(down[0]);
        close(down[1]);
        return cli_usage_error(NULL, "cannot start workers: %s", strerror(errno));
    }
    if (pipe(err) != 0) {
        close(down[0]);
        close(down[1]);
        close(up[0]);
        close(up[1]);
        return cli_usage_error(NULL, "cannot start workers: %s", strerror(errno));
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        close(err[0]);
        if (dup2(err[1], STDERR_FILENO) < 0) _exit(2);
        close(err[1]);
        worker_main(p, k, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    close(err[1]);
    if (pid < 0) {
        close(down[1]);
        close(up[0]);
        close(err[0]);
        return cli_usage_error(NULL, "cannot start workers: %s", strerror(errno));
    }
    worker *w = &p->w[k];
    w->pid = pid;
    w->to = down[1];
    w->from = up[0];
    w->err = err[0];
    w->errline[0] = '\0';
    w->errlen = 0;
    w->len = 0;
    w->queued = 0;
    w->assertion[0] = '\0';
    return 0;
}

static slot *slot_of(pool *p, uint32_t ui)
{
    return &p->slots[ui % WINDOW];
}

static void add_run(pool *p, uint32_t ui, pending_run *r)
{
    slot *s = slot_of(p, ui);
    if (s->tail) {
        s->tail->next = r;
    } else {
        s->head = r;
    }
    s->tail = r;
}

/* Delivers the runs of a finished unit, in order, and frees them. */
static void deliver(pool *p, uint32_t ui)
{
    slot *s = slot_of(p, ui);
    for (pending_run *r = s->head, *next; r != NULL; r = next) {
        next = r->next;
        if (p->rc == 0) {
            p->rc = p->sink->result(p->sink->ctx, ui, &r->out, r->sweep);
        } else {
            sim__outcome_free(&r->out);
        }
        free(r->sweep);
        free(r);
    }
    if (p->rc == 0) p->rc = p->sink->unit_done(p->sink->ctx, ui);
    *s = (slot){0};
}

static void commit_ready(pool *p)
{
    while (p->next_commit < p->next_dispatch && slot_of(p, p->next_commit)->done) {
        deliver(p, p->next_commit++);
    }
}

static bool can_start(pool *p)
{
    if (p->stopping || p->rc != 0) return false;
    if (p->nretry == 0 && p->next_dispatch == p->n) return false;
    if (p->nretry == 0 && p->next_dispatch >= p->next_commit + WINDOW) return false;
    return p->sink->may_start(p->sink->ctx);
}

/* Workers keep up to QUEUE units each, so that none waits for the next; near the end of the
 * suite only the one they run, so that none sits on a queue while another is idle. */
static void dispatch(pool *p)
{
    uint32_t left = p->n - p->next_dispatch + p->nretry;
    uint32_t cap = left >= p->nw * QUEUE ? QUEUE : 1;
    for (uint32_t k = 0; k < p->nw; k++) {
        worker *w = &p->w[k];
        while (w->to >= 0 && w->queued < cap && can_start(p)) {
            uint32_t ui = p->nretry ? p->retry[--p->nretry] : p->next_dispatch++;
            if (!cli_write_all(w->to, &ui, sizeof ui)) {
                if (ui + 1 == p->next_dispatch) {
                    p->next_dispatch--;
                } else {
                    p->retry[p->nretry++] = ui;
                }
                break;
            }
            w->queue[w->queued++] = ui;
        }
    }
}

static int take_frame(pool *p, worker *w, uint32_t type, uint32_t ui, const unsigned char *d,
                      uint32_t len)
{
    bool queued = w->queued > 0 && w->queue[0] == ui;
    if (!queued) return cli_usage_error(NULL, "a worker sent a result for a unit it was not given");
    if (type == FRAME_ASSERT) {
        if (len == 0 || len > ASSERT_MAX || d[len - 1] != '\0') {
            return cli_usage_error(NULL, "a worker sent a result that could not be read");
        }
        memcpy(w->assertion, d, len);
        return 0;
    }
    if (type == FRAME_DONE) {
        w->assertion[0] = '\0';
        w->errline[0] = '\0';
        slot_of(p, ui)->done = true;
        memmove(w->queue, w->queue + 1, (--w->queued) * sizeof *w->queue);
        return 0;
    }
    uint32_t slen;
    pending_run *r = calloc(1, sizeof *r);
    if (r == NULL || len < 4) goto bad;
    memcpy(&slen, d, 4);
    if (slen > RUN_SWEEP_MAX || 4 + slen > len || (slen && d[4 + slen - 1] != '\0')) goto bad;
    if (slen && (r->sweep = strdup((const char *)d + 4)) == NULL) goto bad;
    if (sim__outcome_unpack(d + 4 + slen, len - 4 - slen, &r->out) != SIM_OK) goto bad;
    add_run(p, ui, r);
    return 0;
bad:
    if (r) free(r->sweep);
    free(r);
    return cli_usage_error(NULL, "a worker sent a result that could not be read");
}

/* Reads what the worker sent; false at the end of its pipe. */
static bool drain(pool *p, worker *w)
{
    if (w->cap - w->len < 65536) {
        size_t cap = w->cap ? w->cap * 2 : 1u << 17;
        unsigned char *b = realloc(w->buf, cap);
        if (b == NULL) {
            p->rc = cli_usage_error(NULL, "out of memory reading a worker's results");
            return false;
        }
        w->buf = b;
        w->cap = cap;
    }
    ssize_t k = read(w->from, w->buf + w->len, w->cap - w->len);
    if (k < 0 && errno == EINTR) return true;
    if (k <= 0) return false;
    w->len += (size_t)k;
    size_t at = 0;
    while (w->len - at >= HEADER) {
        uint32_t h[3];
        memcpy(h, w->buf + at, sizeof h);
        if (w->len - at - HEADER < h[0]) break;
        int rc = take_frame(p, w, h[1], h[2], w->buf + at + HEADER, h[0]);
        if (rc != 0 && p->rc == 0) p->rc = rc;
        at += HEADER + h[0];
    }
    memmove(w->buf, w->buf + at, w->len - at);
    w->len -= at;
    return true;
}

/* Copies what the worker wrote to stderr to ours and keeps its last complete line; false at
 * the end of the pipe. */
static bool drain_err(worker *w)
{
    char buf[4096];
    ssize_t k = read(w->err, buf, sizeof buf);
    if (k < 0 && errno == EINTR) return true;
    if (k <= 0) {
        if (w->errlen > 0) { /* a last line without its newline */
            w->errpart[w->errlen] = '\0';
            memcpy(w->errline, w->errpart, w->errlen + 1);
            w->errlen = 0;
        }
        return false;
    }
    (void)cli_write_all(STDERR_FILENO, buf, (size_t)k);
    for (ssize_t i = 0; i < k; i++) {
        if (buf[i] == '\n') {
            if (w->errlen == 0) continue; /* keep the last line that says something */
            w->errpart[w->errlen] = '\0';
            memcpy(w->errline, w->errpart, w->errlen + 1);
            w->errlen = 0;
        } else if (w->errlen + 1 < sizeof w->errpart) {
            w->errpart[w->errlen++] = buf[i] == '\t' ? ' ' : buf[i];
        }
    }
    return true;
}

/* The unit a worker was running when it died fails as a crash. */
static void crashed(pool *p, worker *w, int status)
{
    uint32_t ui = w->queue[0];
    const run_unit *u = &p->units[ui];
    pending_run *r = calloc(1, sizeof *r);
    if (r == NULL || (r->out.report = strdup("")) == NULL) {
        free(r);
        p->rc = cli_usage_error(NULL, "out of memory");
        return;
    }
    r->out.seed = u->seed;
    r->out.failed = true;
    snprintf(r->out.result_own, sizeof r->out.result_own, "crash");
    r->out.result = r->out.result_own;
    /* The assertion first: it says why, and a long one may fill the line. */
    char *d = r->out.detail;
    size_t size = sizeof r->out.detail;
    int at = w->assertion[0] ? snprintf(d, size, "%s; ", w->assertion)
             : w->errline[0] ? snprintf(d, size, "its last words on stderr: %s; ", w->errline)
                             : 0;
    size_t n = at < 0 ? 0 : (size_t)at < size ? (size_t)at : size - 1;
    if (WIFSIGNALED(status)) {
        snprintf(d + n, size - n,
                 "the worker process running this seed was killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        snprintf(d + n, size - n, "the worker process running this seed exited with status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    w->assertion[0] = '\0';
    w->errline[0] = '\0';
    add_run(p, ui, r);
    slot_of(p, ui)->done = true;
}

/* A worker's pipe ended: it exited (Ctrl-C, no more work) or died. */
static void reap(pool *p, uint32_t k)
{
    worker *w = &p->w[k];
    close(w->from);
    w->from = -1;
    if (w->to >= 0) close(w->to);
    w->to = -1;
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
    }
    /* Its last words: whatever it wrote to stderr before it died (the pipe ends with it). */
    while (w->err >= 0 && drain_err(w)) {
    }
    if (w->err >= 0) close(w->err);
    w->err = -1;
    if (w->queued > 0 && !p->stopping) {
        crashed(p, w, status);
        for (uint32_t i = w->queued; i-- > 1;) p->retry[p->nretry++] = w->queue[i];
    }
    w->queued = 0;
    if (!p->stopping && p->rc == 0 && (can_start(p) || p->nretry > 0)) {
        if (spawn(p, k) != 0) p->rc = EXIT_USAGE;
    }
}

static bool busy(const pool *p)
{
    for (uint32_t k = 0; k < p->nw; k++) {
        if (p->w[k].queued > 0 && p->w[k].from >= 0) return true;
    }
    return false;
}

static void wait_round(pool *p)
{
    struct pollfd fds[2048];
    uint32_t who[2048], nf = 0;
    for (uint32_t k = 0; k < p->nw; k++) {
        if (p->w[k].err >= 0) {
            fds[nf] = (struct pollfd){.fd = p->w[k].err, .events = POLLIN};
            who[nf++] = k | 0x80000000u;
        }
        if (p->w[k].from < 0) continue;
        fds[nf] = (struct pollfd){.fd = p->w[k].from, .events = POLLIN};
        who[nf++] = k;
    }
    int ready = poll(fds, nf, 100);
    for (uint32_t i = 0; ready > 0 && i < nf; i++) {
        if (fds[i].revents == 0) continue;
        uint32_t k = who[i] & 0x7fffffffu;
        if (who[i] & 0x80000000u) {
            worker *w = &p->w[k];
            if (w->err >= 0 && !drain_err(w)) { /* it closed stderr: its end comes on `from` */
                close(w->err);
                w->err = -1;
            }
            continue;
        }
        if (!drain(p, &p->w[k])) reap(p, k);
    }
}

static void stop_workers(pool *p)
{
    if (p->stopping) return;
    p->stopping = true;
    for (uint32_t k = 0; k < p->nw; k++) {
        if (p->w[k].from >= 0) kill(p->w[k].pid, SIGINT);
    }
}

static void finish(pool *p)
{
    for (uint32_t k = 0; k < p->nw; k++) {
        if (p->w[k].to >= 0) close(p->w[k].to);
        p->w[k].to = -1;
    }
    /* Closing the pipes down tells idle workers to exit; the others finish their unit. */
    while (true) {
        bool open = false;
        for (uint32_t k = 0; k < p->nw; k++) open = open || p->w[k].from >= 0;
        if (!open) break;
        if (cli_interrupted) stop_workers(p);
        wait_round(p);
        commit_ready(p);
    }
    /* After Ctrl-C, a unit that never finished leaves a gap: what finished after it is kept. */
    for (uint32_t ui = p->next_commit; ui < p->next_dispatch; ui++) {
        slot *s = slot_of(p, ui);
        if (s->done) {
            deliver(p, ui);
            continue;
        }
        for (pending_run *r = s->head, *next; r != NULL; r = next) {
            next = r->next;
            sim__outcome_free(&r->out);
            free(r->sweep);
            free(r);
        }
        *s = (slot){0};
    }
    for (uint32_t k = 0; k < p->nw; k++) free(p->w[k].buf);
}

int run_pool(const run_opts *o, sim_scenario **scs, const run_unit *units, uint32_t n,
             const pool_sink *sink)
{
    pool *p = calloc(1, sizeof *p);
    uint32_t nw = o->jobs < n ? o->jobs : n;
    if (p != NULL) {
        *p = (pool){.o = o, .scs = scs, .units = units, .n = n, .sink = sink, .nw = nw};
        p->w = calloc(nw, sizeof *p->w);
        p->retry = calloc(nw * QUEUE + 1, sizeof *p->retry);
    }
    if (p == NULL || p->w == NULL || p->retry == NULL) {
        if (p) free(p->w);
        free(p);
        return cli_usage_error(NULL, "out of memory");
    }
    signal(SIGPIPE, SIG_IGN);
    for (uint32_t k = 0; k < nw; k++) p->w[k].to = p->w[k].from = p->w[k].err = -1;
    for (uint32_t k = 0; k < nw && p->rc == 0; k++) p->rc = spawn(p, k);
    while (p->rc == 0) {
        if (cli_interrupted) stop_workers(p);
        dispatch(p);
        if (!busy(p)) break;
        wait_round(p);
        commit_ready(p);
        sink->tick(sink->ctx);
    }
    finish(p);
    int rc = p->rc;
    free(p->w);
    free(p->retry);
    free(p);
    return rc;
}
