/*
 * test_assert.c: a failed SIM_ASSERT tells the reader how to get back to the failure.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../helpers.h"

typedef struct doomed {
    sim_co co;
    int balance;
} doomed;

static int doomed_poll(void *state, sim_world *w)
{
    doomed *d = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &d->co);
    SIM_AWAIT(rc, sim_sleep(w, 1500 * SIM_MS));
    SIM_ASSERT(d->balance >= 0);
    SIM_END(rc);
}

/* Goal: a failed assertion inside a running world prints the expression, the file and line,
 * the seed, the virtual time, the step, the task and the replay hint, then aborts. Method: a
 * child process runs a task that asserts a false invariant at 1.5 s; the parent reads its
 * stderr and checks the signal. */
Test(core, assert_failure_prints_replay_context)
{
    int fds[2];
    cr_assert(eq(int, pipe(fds), 0));
    pid_t pid = fork();
    cr_assert(ge(int, pid, 0));
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        sim_world_desc d = {.seed = 77, .replay_hint = "sim replay --scenario bank.ini --seed 77"};
        sim_world *w = NULL;
        sim_world_new(&d, &w);
        doomed s = {.balance = -5};
        sim_task_desc td = {.name = "doomed", .poll = doomed_poll, .state = &s,
                            .state_size = sizeof s};
        sim_spawn(w, &td, NULL);
        sim_world_run(w);
        _exit(0); /* not reached */
    }
    close(fds[1]);
    char out[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0) {
        n += (size_t)r;
    }
    out[n] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    bool signalled = WIFSIGNALED(status);
    cr_assert(signalled, "%s", out);
    int sig = WTERMSIG(status);
    cr_assert(eq(int, sig, SIGABRT));
    cr_assert(ne(ptr, strstr(out, "assertion failed: d->balance >= 0"), NULL), "%s", out);
    cr_assert(ne(ptr, strstr(out, "test_assert.c:"), NULL), "%s", out);
    cr_assert(ne(ptr, strstr(out, "seed 77, virtual time 1.500000s, step 2, task 1 (doomed)"),
                 NULL),
              "%s", out);
    cr_assert(ne(ptr, strstr(out, "replay: sim replay --scenario bank.ini --seed 77"), NULL),
              "%s", out);
}

/* Goal: outside a running world an assertion still names the expression and place. Method: a
 * child asserts with no world; its stderr has no world context and it aborts. */
Test(core, assert_without_world)
{
    int fds[2];
    cr_assert(eq(int, pipe(fds), 0));
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        int x = 1;
        SIM_ASSERT(x == 2);
        _exit(0);
    }
    close(fds[1]);
    char out[1024];
    ssize_t r = read(fds[0], out, sizeof out - 1);
    out[r > 0 ? r : 0] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    bool signalled = WIFSIGNALED(status);
    cr_assert(signalled);
    cr_assert(ne(ptr, strstr(out, "assertion failed: x == 2"), NULL), "%s", out);
    cr_assert(eq(ptr, strstr(out, "seed"), NULL), "%s", out);
}
