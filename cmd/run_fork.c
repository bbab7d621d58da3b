/*
 * run_fork.c: one seed run in a forked child process with a different heap, for the
 * determinism checks (sim check-determinism, sim run --check-determinism).
 *
 * Two copies of a run in one process share one heap: freed blocks come back in the same
 * order, so a run that reads freed or uninitialised memory can read the same bytes both
 * times and look deterministic while a replay in another process diverges (issue 15: a stale
 * pointer into a table that moved, read into the trace hash). The second copy therefore runs
 * in a child whose heap differs: glibc fills every block it frees and allocates with a
 * perturbation byte (mallopt M_PERTURB, as MALLOC_PERTURB_ does), and a held block of every
 * small size class (and a few large ones) shifts where the run's own blocks land. Any read
 * of memory the run does not own then shows up as a differing hash. The child sends its
 * outcome back over a pipe in the worker format (src/scenario/wire.c) and exits without
 * running exit handlers.
 *
 * Costs and limits, candidly: a fork per seed (about a millisecond with a small heap), and
 * a forked child keeps the parent's address layout, so an order that depends on addresses
 * alone is not caught here (make tidy forbids the pattern; ASan builds catch the reads).
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

bool cli_write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        len -= (size_t)k;
    }
    return true;
}

bool cli_read_all(int fd, void *data, size_t len)
{
    unsigned char *p = data;
    while (len > 0) {
        ssize_t k = read(fd, p, len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        len -= (size_t)k;
    }
    return true;
}

/* The child: a different heap, the run, its outcome up the pipe. Never returns. */
static _Noreturn void child_main(const sim_scenario *sc, const sim__run_opts *ro, int up)
{
    signal(SIGPIPE, SIG_DFL);
    sim__assert_hook_set(NULL); /* a worker's hook: its pipe up is not this child's */
    (void)mallopt(M_PERTURB, 0xa5);
    /* Held to the end: one block of each small size class and a few large ones, so that the
     * run's next block of any size is not the one the parent's run got. */
    enum { SMALL = 66, SPACERS = SMALL + 3 };
    void *spacer[SPACERS];
    for (size_t i = 0; i < SMALL; i++) spacer[i] = malloc(8 + 16 * i);
    spacer[SMALL] = malloc(3000);
    spacer[SMALL + 1] = malloc(70000);
    spacer[SMALL + 2] = malloc(300000); /* above the mmap threshold: moves mappings too */
    sim__outcome out;
    int rc = sim__run_seed(sc, ro, &out);
    if (rc != SIM_OK) _exit(3);
    void *bytes = NULL;
    size_t len = 0;
    rc = sim__outcome_pack(&out, &bytes, &len);
    sim__outcome_free(&out);
    if (rc != SIM_OK) _exit(3);
    uint64_t n = len;
    bool ok = cli_write_all(up, &n, sizeof n) && cli_write_all(up, bytes, len);
    free(bytes);
    for (size_t i = 0; i < SPACERS; i++) free(spacer[i]);
    _exit(ok ? 0 : 3);
}

/* Reads the child's outcome: SIM_OK, or SIM_EINVAL when the pipe ended early. */
static int read_outcome(int fd, sim__outcome *out)
{
    uint64_t n;
    if (!cli_read_all(fd, &n, sizeof n) || n > SIZE_MAX / 2) return SIM_EINVAL;
    void *bytes = malloc(n ? (size_t)n : 1);
    if (bytes == NULL) return SIM_ENOMEM;
    int rc = cli_read_all(fd, bytes, (size_t)n) ? sim__outcome_unpack(bytes, (size_t)n, out)
                                                : SIM_EINVAL;
    free(bytes);
    return rc;
}

/* The outcome of a child that died before it could report: a failure of kind crash. */
static int crash_outcome(uint64_t seed, int status, sim__outcome *out)
{
    memset(out, 0, sizeof *out);
    out->report = strdup("");
    if (out->report == NULL) return SIM_ENOMEM;
    out->seed = seed;
    out->failed = true;
    snprintf(out->result_own, sizeof out->result_own, "crash");
    out->result = out->result_own;
    if (WIFSIGNALED(status)) {
        snprintf(out->detail, sizeof out->detail,
                 "the process running the second copy of this seed was killed by signal %d "
                 "(%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        snprintf(out->detail, sizeof out->detail,
                 "the process running the second copy of this seed exited with status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return SIM_OK;
}

int cli_run_seed_forked(const sim_scenario *sc, const sim__run_opts *ro, sim__outcome *out)
{
    SIM_ASSERT(sc != NULL);
    SIM_ASSERT(ro != NULL);
    memset(out, 0, sizeof *out);
    int up[2];
    if (pipe(up) != 0) return SIM_ENOMEM;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(up[0]);
        child_main(sc, ro, up[1]);
    }
    close(up[1]);
    if (pid < 0) {
        close(up[0]);
        return SIM_ENOMEM;
    }
    int rc = read_outcome(up[0], out);
    close(up[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (rc == SIM_OK && clean) return SIM_OK;
    if (rc == SIM_OK) sim__outcome_free(out);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3) return SIM_ENOMEM;
    return crash_outcome(ro->seed, status, out);
}
