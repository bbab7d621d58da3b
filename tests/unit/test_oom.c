/*
 * test_oom.c: running out of host memory is fatal, cleanly, wherever it happens (STYLE.md,
 * docs/internals.md "Memory").
 *
 * The seam is SQLite's fault simulator: sim__alloc_fail_after(k) (src/core/testhooks.h) makes
 * the allocation after the next k, through the wrappers of src/core/alloc.c on this thread,
 * fail as if malloc had returned NULL. A child process parses a small scenario and runs one
 * seed with the k-th allocation failing, for k = 0, 1, 2, ... past the run's allocation count.
 * Each child must end one of two ways: killed by SIGABRT with "sim: out of memory allocating N
 * bytes for WHAT" on stderr (k below the count), or with the normal result and the same trace
 * hash as a child without the seam (k at or past the count). Anything else fails the test: a
 * segfault, an assertion, a sanitizer report, an exit without the message, a hang (the child
 * has an alarm), or a run whose allocations differ from the baseline's in number.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/core/testhooks.h"
#include "../../systems/registry.h"
#include "../helpers.h"

/* kv with a network, a disk that tears and loses writes, crashes and restarts, and the
 * linearizability check at the end: every module's allocation sites, in a run of a few
 * hundred milliseconds of virtual time. */
static const char scenario[] =
    "[scenario]\n"
    "name = oom-sweep\n"
    "system = kv\n"
    "seeds = 3\n"
    "time_limit = 30s\n"
    "[kv]\n"
    "sync = always\n"
    "compact_threshold = 512\n"
    "[workload]\n"
    "clients = 2\n"
    "ops = 12\n"
    "keys = 3\n"
    "[disk]\n"
    "crash_keep = 0.3\n"
    "crash_torn = 0.5\n"
    "[faults]\n"
    "crash = 1/200ms\n"
    "restart_after = 10ms..50ms\n"
    "tick = 10ms\n"
    "quiet_after = 1s\n"
    "converge_within = 10s\n";

/* What a child that finished says through its pipe. */
typedef struct report {
    uint64_t hash;
    uint64_t allocations;  /* through the wrappers, from arming to the end */
    int failed;
    char result[32];
} report;

/* How a child ended. */
typedef struct ending {
    bool finished;         /* exited 0 after writing its report */
    int signal;            /* the signal that killed it, or 0 */
    int exit_code;
    report rep;
    char err[4096];        /* the start of its stderr */
} ending;

static void child(int out_fd, int err_fd, uint64_t fail_after)
{
    dup2(err_fd, 2);
    alarm(60); /* a hang ends as SIGALRM, which the parent reports */
    uint64_t before = sim__alloc_count();
    sim__alloc_fail_after(fail_after);
    sim_scenario *sc = NULL;
    char err[512];
    int rc = sim_scenario_parse("oom-sweep.ini", scenario, sim_systems, sim_system_count, &sc,
                                err, sizeof err);
    if (rc != SIM_OK) {
        fprintf(stderr, "parse: %s\n", err);
        _exit(3);
    }
    sim_run_result r;
    rc = sim_scenario_run(sc, 3, &r);
    sim_scenario_free(sc);
    if (rc != SIM_OK) {
        fprintf(stderr, "run: %s\n", sim_result_name(rc));
        _exit(4);
    }
    report rep = {.hash = r.hash, .allocations = sim__alloc_count() - before,
                  .failed = r.failed};
    snprintf(rep.result, sizeof rep.result, "%s", r.result);
    sim_run_result_free(&r);
    ssize_t n = write(out_fd, &rep, sizeof rep);
    _exit(n == (ssize_t)sizeof rep ? 0 : 5);
}

/* Reads a pipe to its end into buf (at most size - 1 bytes kept, NUL-terminated). */
static size_t drain(int fd, char *buf, size_t size)
{
    size_t n = 0;
    char scratch[512];
    for (;;) {
        ssize_t r = n < size - 1 ? read(fd, buf + n, size - 1 - n)
                                 : read(fd, scratch, sizeof scratch);
        if (r <= 0) break;
        if (n < size - 1) n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

static ending run_child(uint64_t fail_after)
{
    int out[2], err[2];
    cr_assert(eq(int, pipe(out), 0));
    cr_assert(eq(int, pipe(err), 0));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        close(out[0]);
        close(err[0]);
        child(out[1], err[1], fail_after);
    }
    close(out[1]);
    close(err[1]);
    ending e = {0};
    /* stderr first (a child blocked writing it would never exit), then the report. */
    drain(err[0], e.err, sizeof e.err);
    char raw[sizeof(report) + 1];
    size_t got = drain(out[0], raw, sizeof raw);
    close(out[0]);
    close(err[0]);
    int status = 0;
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
    if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
    e.finished = WIFEXITED(status) && e.exit_code == 0 && got == sizeof(report);
    if (e.finished) memcpy(&e.rep, raw, sizeof e.rep);
    return e;
}

static bool has(const char *text, const char *part)
{
    return strstr(text, part) != NULL;
}

static bool lacks(const char *text, const char *part)
{
    return strstr(text, part) == NULL;
}

/* The k at which the sweep looks: every one up to DENSE, then a stride that keeps the sweep
 * to about MAX_CHILDREN children, and always the last few below the count and the first few
 * past it. */
#define DENSE 400u
#define MAX_CHILDREN 700u

static uint64_t next_k(uint64_t k, uint64_t count)
{
    if (k < DENSE || k + 3 >= count) return k + 1;
    uint64_t stride = (count - DENSE) / (MAX_CHILDREN - DENSE) + 1;
    uint64_t next = k + stride;
    return next + 3 >= count ? count - 3 : next;
}

/* Goal: every allocation of a run through the wrappers can fail, and each failure ends the
 * process with the out-of-memory message and SIGABRT; past the run's allocations the seam
 * changes nothing (the same result and trace hash). Method: a baseline child without the seam
 * gives the hash, the result and the allocation count N; then a child per k (every k up to
 * 400, a stride beyond, the last three below N and three past it) runs with the k-th
 * allocation failing, and its ending is classified. At least one failure must come during the
 * run and print the world's seed, time and replay line. */
Test(oom, countdown_sweep_over_a_kv_run, .timeout = 600)
{
    ending base = run_child(UINT64_MAX);
    cr_assert(base.finished, "baseline: signal %d, exit %d\n%s", base.signal, base.exit_code,
              base.err);
    uint64_t count = base.rep.allocations;
    cr_assert(lt(u64, 50, count), "the run allocates (%llu)", (unsigned long long)count);
    uint32_t children = 0, aborted = 0, with_world = 0;
    for (uint64_t k = 0; k < count + 3; k = next_k(k, count)) {
        ending e = run_child(k);
        children++;
        if (k < count) {
            cr_assert(eq(int, e.signal, SIGABRT),
                      "k = %llu of %llu: expected SIGABRT, got signal %d, exit %d\n%s",
                      (unsigned long long)k, (unsigned long long)count, e.signal, e.exit_code,
                      e.err);
            cr_assert(has(e.err, "sim: out of memory allocating "), "k = %llu:\n%s",
                      (unsigned long long)k, e.err);
            cr_assert(has(e.err, " bytes for "), "k = %llu:\n%s", (unsigned long long)k, e.err);
            cr_assert(lacks(e.err, "assertion failed"), "k = %llu:\n%s",
                      (unsigned long long)k, e.err);
            cr_assert(lacks(e.err, "Sanitizer"), "k = %llu:\n%s", (unsigned long long)k,
                      e.err);
            cr_assert(lacks(e.err, "runtime error"), "k = %llu:\n%s", (unsigned long long)k,
                      e.err);
            aborted++;
            if (has(e.err, "  seed 3, virtual time ") && has(e.err, "  replay: ")) with_world++;
        } else {
            cr_assert(e.finished, "k = %llu, past the count %llu: signal %d, exit %d\n%s",
                      (unsigned long long)k, (unsigned long long)count, e.signal, e.exit_code,
                      e.err);
            cr_assert(eq(u64, e.rep.hash, base.rep.hash), "k = %llu", (unsigned long long)k);
            cr_assert(eq(u64, e.rep.allocations, count), "k = %llu", (unsigned long long)k);
            cr_assert(eq(int, e.rep.failed, base.rep.failed));
            cr_assert(eq(str, e.rep.result, base.rep.result));
        }
    }
    cr_assert(lt(u32, 0, with_world), "no failure printed the running world's context");
    cr_log_info("oom sweep: %llu allocations, %u children, %u aborted, %u inside the run",
                (unsigned long long)count, children, aborted, with_world);
}

/* Goal: out of memory outside a running world names the bytes and what they were for, and
 * adds no world context; the seam counts from the moment it is armed. Method: a child makes a
 * history (allocations succeed), arms the seam at 0 and makes another: the first allocation
 * fails; the parent checks SIGABRT and the message. */
Test(oom, outside_a_world_the_message_names_what_failed)
{
    int err[2];
    cr_assert(eq(int, pipe(err), 0));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        close(err[0]);
        dup2(err[1], 2);
        sim_history *h = NULL;
        sim_history_new(&h); /* a wrapper at work before the seam: allocations succeed */
        sim_history_free(h);
        sim__alloc_fail_after(0);
        sim_history_new(&h); /* the first allocation after arming fails */
        _exit(0);
    }
    close(err[1]);
    char out[2048];
    drain(err[0], out, sizeof out);
    close(err[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    bool signalled = WIFSIGNALED(status);
    cr_assert(signalled, "%s", out);
    cr_assert(eq(int, WTERMSIG(status), SIGABRT));
    cr_assert(has(out, "sim: out of memory allocating "), "%s", out);
    cr_assert(has(out, " bytes for a history\n"), "%s", out);
    cr_assert(lacks(out, "seed "), "no world runs: no world context\n%s", out);
}
