/*
 * test_cli.c: the sim command, run as a user would (SIM_BIN is set by make test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../helpers.h"

typedef struct cmd_result {
    int status;
    char out[8192];
} cmd_result;

/* Runs `sim ARGS` with stderr folded into stdout. */
static cmd_result run_sim(const char *args)
{
    const char *bin = getenv("SIM_BIN");
    cr_assert(ne(ptr, (void *)bin, NULL), "SIM_BIN is not set: run through make test");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", bin, args);
    cmd_result r = {0};
    FILE *p = popen(cmd, "r");
    cr_assert(ne(ptr, p, NULL));
    size_t n = fread(r.out, 1, sizeof r.out - 1, p);
    r.out[n] = '\0';
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

static const char *hash_line(const char *out)
{
    const char *h = strstr(out, "trace hash ");
    cr_assert(ne(ptr, (void *)h, NULL), "%s", out);
    return h;
}

/* Goal: `sim demo` is reproducible from the command line. Method: run seed 42 twice and seed 43
 * once: the first two print the same hash line, the third a different one; exit code 0. */
Test(cli, demo_same_seed_same_hash)
{
    cmd_result a = run_sim("demo --seed 42");
    cmd_result b = run_sim("demo --seed 42");
    cmd_result c = run_sim("demo --seed 43");
    cr_assert(eq(int, a.status, 0), "%s", a.out);
    cr_assert(eq(int, c.status, 0), "%s", c.out);
    cr_assert(eq(int, strncmp(hash_line(a.out), hash_line(b.out), 27), 0));
    cr_assert(ne(int, strncmp(hash_line(a.out), hash_line(c.out), 27), 0));
    cr_assert(ne(ptr, strstr(a.out, "0 violations: SIM_OK"), NULL), "%s", a.out);
}

/* Goal: --events prints one line per event, as many as the run counts, in the aligned event
 * format. Method: count lines that are not the five summary lines and compare with the
 * "events" figure; look for the crash and restart lines of the demo. */
Test(cli, demo_events)
{
    cmd_result r = run_sim("demo --seed 5 --strategy fifo --events | tail -n 80");
    cr_assert(eq(int, r.status, 0));
    cr_assert(ne(ptr, strstr(r.out, "trace hash"), NULL), "%s", r.out);
    const char *bin = getenv("SIM_BIN");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s demo --seed 5 --strategy fifo --events | wc -l", bin);
    FILE *p = popen(cmd, "r");
    unsigned long long lines = 0;
    cr_assert(eq(int, fscanf(p, "%llu", &lines), 1));
    pclose(p);
    cmd_result plain = run_sim("demo --seed 5 --strategy fifo");
    unsigned long long events = 0;
    const char *v = strstr(plain.out, "virtual, ");
    cr_assert(ne(ptr, (void *)v, NULL), "%s", plain.out);
    cr_assert(eq(int, sscanf(v, "virtual, %*u steps, %llu events", &events), 1));
    cr_assert(eq(u64, lines, events + 5), "%llu lines for %llu events", lines, events);
    snprintf(cmd, sizeof cmd,
             "%s demo --seed 5 --strategy fifo --events | grep -c -E "
             "'^ +[0-9]+ +[0-9]+\\.[0-9]{6}s (n1|n2|-) +([0-9]+|-) "
             "(crash +n1, 2 task|restart +n1, boot 2)'",
             bin);
    p = popen(cmd, "r");
    unsigned long long matched = 0;
    cr_assert(eq(int, fscanf(p, "%llu", &matched), 1));
    pclose(p);
    cr_assert(eq(u64, matched, 2));
}

/* Goal: bad arguments are usage errors: exit 2, a message naming the problem, the usage.
 * Method: each bad invocation. */
Test(cli, bad_arguments)
{
    struct {
        const char *args;
        const char *says;
    } cases[] = {
        {"", "usage: sim COMMAND"},
        {"frobnicate", "unknown command 'frobnicate'"},
        {"demo --seed", "--seed expects a number, got ''"},
        {"demo --seed 12x", "--seed expects a number, got '12x'"},
        {"demo --seed -1", "--seed expects a number, got '-1'"},
        {"demo --strategy pct:0", "unknown strategy 'pct:0'; valid strategies: fifo, random"},
        {"demo --time-limit 5", "--time-limit expects a duration like 500ms or 2s, got '5'"},
        {"demo --bogus", "unknown option '--bogus'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cmd_result r = run_sim(cases[i].args);
        cr_assert(eq(int, r.status, 2), "sim %s: %s", cases[i].args, r.out);
        cr_assert(ne(ptr, strstr(r.out, cases[i].says), NULL), "sim %s: %s", cases[i].args, r.out);
        cr_assert(ne(ptr, strstr(r.out, "usage: sim"), NULL), "sim %s: %s", cases[i].args, r.out);
    }
}

/* Goal: an empty --db path is refused by every command that opens the store, with a message
 * saying so and exit 2, never a file made or read under an empty name. Method: list, show and
 * replay with --db ''. */
Test(cli, empty_database_path)
{
    const char *cmds[] = {"list --db ''", "show --db '' 1", "replay --db '' 1"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cmd_result r = run_sim(cmds[i]);
        cr_assert(eq(int, r.status, 2), "sim %s: %s", cmds[i], r.out);
        cr_assert(ne(ptr, strstr(r.out, "the database path is empty"), NULL), "sim %s: %s", cmds[i],
                  r.out);
    }
}

/* Goal: help and version work and exit 0. Method: --help, demo --help, --version. */
Test(cli, help_and_version)
{
    cmd_result r = run_sim("--help");
    cr_assert(eq(int, r.status, 0));
    cr_assert(ne(ptr, strstr(r.out, "demo"), NULL));
    r = run_sim("demo --help");
    cr_assert(eq(int, r.status, 0));
    cr_assert(ne(ptr, strstr(r.out, "--strategy"), NULL));
    r = run_sim("--version");
    cr_assert(eq(int, r.status, 0));
    cr_assert(ne(ptr, strstr(r.out, "sim " SIM_VERSION_STRING), NULL), "%s", r.out);
}

/* Goal: a run that hits its time limit fails with the report. Method: the demo with an 800 ms
 * limit (it needs about 3.5 s): exit 1, SIM_ETIMELIMIT, the report lists the ticker. */
Test(cli, demo_time_limit_fails_with_report)
{
    cmd_result r = run_sim("demo --seed 1 --time-limit 800ms");
    cr_assert(eq(int, r.status, 1), "%s", r.out);
    cr_assert(ne(ptr, strstr(r.out, "SIM_ETIMELIMIT"), NULL), "%s", r.out);
    cr_assert(ne(ptr, strstr(r.out, "time limit 0.800000s reached"), NULL), "%s", r.out);
    cr_assert(ne(ptr, strstr(r.out, "ticker"), NULL), "%s", r.out);
    cr_assert(ne(ptr, strstr(r.out, "replay: sim demo --seed 1"), NULL), "%s", r.out);
}

/* Goal: the README's example builds and does what the README says. Method: run
 * build/examples/ticker twice: three ticks 100 ms apart, SIM_OK, the same hash both times. */
Test(cli, readme_example)
{
    const char *dir = getenv("SIM_EXAMPLES");
    cr_assert(ne(ptr, (void *)dir, NULL), "SIM_EXAMPLES is not set: run through make test");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/ticker", dir);
    char out[2][512];
    for (int i = 0; i < 2; i++) {
        FILE *p = popen(cmd, "r");
        cr_assert(ne(ptr, p, NULL));
        size_t n = fread(out[i], 1, sizeof out[i] - 1, p);
        out[i][n] = '\0';
        cr_assert(eq(int, pclose(p), 0));
    }
    cr_assert(ne(ptr, strstr(out[0], "tick 1 at 100 ms\ntick 2 at 200 ms\ntick 3 at 300 ms\n"
                                     "SIM_OK, trace hash "),
                 NULL),
              "%s", out[0]);
    cr_assert(eq(str, out[0], out[1]));
}
