/*
 * cmdtest.h: helpers for tests that run the sim command as a user would: a fresh temporary
 * directory per test (the suite's init and fini: TestSuite(x, .init = enter_dir,
 * .fini = leave_dir)), the binary at $SIM_BIN run through the shell with its output captured,
 * files written and read, and the trace database read and edited with the sqlite3 shell.
 * Buffers a test holds are freed by leave_dir when an assertion ends the test early, so that
 * a failing test reports its failure, not a leak, under make check.
 */
#ifndef SIM_CMDTEST_H
#define SIM_CMDTEST_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* ---- the temporary directory ---------------------------------------------------------------- */

static char test_dir[64];

/* Buffers a test holds, freed by the suite's fini when an assertion ends the test early (so
 * that a failing test reports its failure, not a leak, under make check). */
static void *owned[64];

static inline void *own(void *p)
{
    for (size_t i = 0; p != NULL && i < sizeof owned / sizeof owned[0]; i++) {
        if (owned[i] == NULL) {
            owned[i] = p;
            return p;
        }
    }
    cr_assert(eq(ptr, p, NULL), "more than 64 buffers held");
    return p;
}

/* Frees a buffer from own() (NULL is allowed). */
static inline void release(void *p)
{
    for (size_t i = 0; p != NULL && i < sizeof owned / sizeof owned[0]; i++) {
        if (owned[i] == p) owned[i] = NULL;
    }
    free(p);
}

/* Each test runs in its own process, so changing directory is private to it. */
static inline void enter_dir(void)
{
    snprintf(test_dir, sizeof test_dir, "/tmp/sim-test-XXXXXX");
    cr_assert(ne(ptr, mkdtemp(test_dir), NULL));
    cr_assert(eq(int, chdir(test_dir), 0));
}

static inline void leave_dir(void)
{
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        free(owned[i]);
        owned[i] = NULL;
    }
    if (test_dir[0] == '\0' || chdir("/") != 0) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", test_dir);
}


/* ---- running commands ----------------------------------------------------------------------- */

typedef struct out {
    int status; /* exit code; -1 when killed by a signal */
    char *text; /* stdout (and stderr, unless sim_split took it apart); owned: out_free */
    char *err;  /* stderr, from sim_split only; owned */
} out;

static inline void out_free(out *o)
{
    release(o->text);
    release(o->err);
    o->text = NULL;
    o->err = NULL;
}

static inline const char *sim_bin(void)
{
    const char *bin = getenv("SIM_BIN");
    cr_assert(ne(ptr, (void *)bin, NULL), "SIM_BIN is not set: run through make test");
    return bin;
}

/* The whole file, with a NUL after it; *len its size. Free with release(). */
static inline char *read_bytes(const char *name, size_t *len)
{
    FILE *f = fopen(name, "rb");
    cr_assert(ne(ptr, f, NULL), "cannot read %s", name);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    cr_assert(ne(ptr, buf, NULL));
    *len = 0;
    for (;;) {
        if (cap - *len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert(ne(ptr, buf, NULL));
        }
        size_t got = fread(buf + *len, 1, cap - *len - 1, f);
        if (got == 0) break;
        *len += got;
    }
    fclose(f);
    buf[*len] = '\0';
    return own(buf);
}

/* Runs a shell command; `redirect` is appended to it (" 2>&1" folds stderr in). */
static inline out sh_with(const char *redirect, const char *cmd_text)
{
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd, "%s%s", cmd_text, redirect);
    cr_assert(lt(int, n, (int)sizeof cmd));
    FILE *p = popen(cmd, "r");
    cr_assert(ne(ptr, p, NULL));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    cr_assert(ne(ptr, text, NULL));
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            text = realloc(text, cap);
            cr_assert(ne(ptr, text, NULL));
        }
        size_t got = fread(text + len, 1, cap - len - 1, p);
        if (got == 0) break;
        len += got;
    }
    text[len] = '\0';
    int st = pclose(p);
    return (out){.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1, .text = own(text)};
}

/* Runs a shell command with stderr folded into stdout. */
static inline out sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline out sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    cr_assert(lt(int, n, (int)sizeof cmd));
    return sh_with(" 2>&1", cmd);
}

/* Runs `sim ARGS` in the test directory, stderr folded into stdout. */
#define SIM(...) sim_run_args(__VA_ARGS__)

static inline out sim_run_args(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline out sim_run_args(const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    cr_assert(lt(int, n, (int)sizeof args));
    return sh("%s %s", sim_bin(), args);
}

/* Runs `sim ARGS` with stdout in .text and stderr in .err. */
static inline out sim_split(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline out sim_split(const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    cr_assert(lt(int, n, (int)sizeof args));
    snprintf(cmd, sizeof cmd, "%s %s", sim_bin(), args);
    out o = sh_with(" 2>stderr.txt", cmd);
    size_t len;
    o.err = read_bytes("stderr.txt", &len);
    return o;
}

/* Asserts the exit code and that every NULL-terminated word is in the output. */
static inline void expect(const out *o, int status, const char *const *words)
{
    cr_assert(eq(int, o->status, status), "output:\n%s", o->text);
    for (size_t i = 0; words != NULL && words[i] != NULL; i++) {
        cr_assert(ne(ptr, strstr(o->text, words[i]), NULL), "'%s' is not in:\n%s", words[i],
                  o->text);
    }
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Runs `sim ARGS`, checks it and frees the output. */
static inline void sim_expect(int status, const char *const *words, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void sim_expect(int status, const char *const *words, const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    out o = sim_run_args("%s", args);
    cr_assert(eq(int, o.status, status), "sim %s:\n%s", args, o.text);
    for (size_t i = 0; words != NULL && words[i] != NULL; i++) {
        cr_assert(ne(ptr, strstr(o.text, words[i]), NULL), "sim %s: '%s' is not in:\n%s", args,
                  words[i], o.text);
    }
    out_free(&o);
}

/* ---- files and SQL -------------------------------------------------------------------------- */

static inline void write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "w");
    cr_assert(ne(ptr, f, NULL), "cannot write %s", name);
    fputs(text, f);
    cr_assert(eq(int, fclose(f), 0));
}

static inline bool exists(const char *name)
{
    struct stat sb;
    return stat(name, &sb) == 0;
}

/* Runs SQL with the sqlite3 shell; the statement goes through a file, so no quoting. */
static inline out sql(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline out sql(const char *db, const char *fmt, ...)
{
    char q[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    FILE *f = fopen("query.sql", "w");
    cr_assert(ne(ptr, f, NULL));
    fprintf(f, ".timeout 10000\n%s;\n", q);
    cr_assert(eq(int, fclose(f), 0));
    out o = sh("/usr/bin/sqlite3 -batch -bail %s < query.sql", db);
    cr_assert(eq(int, o.status, 0), "sqlite3 %s '%s':\n%s", db, q, o.text);
    return o;
}

static inline void sql_do(const char *db, const char *q)
{
    out o = sql(db, "%s", q);
    out_free(&o);
}

/* The first line of a query's output, without its newline, into buf. */
static inline void sql_text(const char *db, const char *q, char *buf, size_t size)
{
    out o = sql(db, "%s", q);
    size_t n = strcspn(o.text, "\n");
    cr_assert(lt(sz, n, size), "%s", o.text);
    memcpy(buf, o.text, n);
    buf[n] = '\0';
    out_free(&o);
}

static inline uint64_t sql_u64(const char *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline uint64_t sql_u64(const char *db, const char *fmt, ...)
{
    char q[2048], buf[64], *end;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    sql_text(db, q, buf, sizeof buf);
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    cr_assert(eq(int, errno == 0 && end != buf && *end == '\0', 1), "%s gave '%s'", q, buf);
    return v;
}

static inline void nap_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Starts SIM_BIN with argv (NULL-terminated, argv[0] excluded), output to out_path. */
static inline pid_t spawn_sim(const char *out_path, const char *const *args)
{
    const char *argv[32] = {sim_bin()};
    size_t n = 1;
    for (; args[n - 1] != NULL; n++) {
        cr_assert(lt(sz, n, sizeof argv / sizeof argv[0] - 1));
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(ne(int, pid, -1));
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Runs recorded in db so far, read while a writer may be busy (0 while it has none). */
static inline uint64_t runs_so_far(const char *db)
{
    if (!exists(db)) return 0;
    out o = sh("/usr/bin/sqlite3 -batch -cmd '.timeout 10000' %s "
               "'SELECT count(*) FROM runs'", db);
    uint64_t n = o.status == 0 ? strtoull(o.text, NULL, 10) : 0;
    out_free(&o);
    return n;
}

/* The last line of text, without its newline. */
static inline void last_line(const char *text, char *buf, size_t size)
{
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] == '\n') len--;
    size_t start = len;
    while (start > 0 && text[start - 1] != '\n') start--;
    cr_assert(lt(sz, len - start, size));
    memcpy(buf, text + start, len - start);
    buf[len - start] = '\0';
}

/* The counts of a `sim run` stopped by Ctrl-C: its "interrupted: ..." line, then the
 * summary. */
static inline void interrupted_summary(const char *text, unsigned long long *passed,
                                       unsigned long long *failed)
{
    const char *sum = strstr(text, "interrupted: runs finished so far are kept (");
    cr_assert(ne(ptr, (void *)sum, NULL), "%s", text);
    cr_assert(eq(int, sscanf(strchr(sum, '\n'), "\n%llu passed, %llu failed", passed, failed),
                 2), "%s", text);
}

/* A row of sim run's table of scenarios: "NAME  seeds  passed  failed  [runs]  expect  ...". */
typedef struct suite_row {
    unsigned long long seeds, passed, failed, runs;
    char expect[8];
    char fastest[64];       /* "-" or "SEED (N steps)" */
} suite_row;

/* The row of scenario `name` in sim run's output; fails the test when there is none. With
 * runs, the table has a runs column (--sweep). */
static inline suite_row table_row(const char *text, const char *name, bool runs)
{
    suite_row row = {0};
    size_t n = strlen(name);
    for (const char *at = text; at != NULL && *at; at = strchr(at, '\n'), at = at ? at + 1 : at) {
        if (strncmp(at, name, n) != 0 || at[n] != ' ') continue;
        int got = runs ? sscanf(at + n, "%llu %llu %llu %llu %7s %63[^\n]", &row.seeds,
                                &row.passed, &row.failed, &row.runs, row.expect, row.fastest)
                       : sscanf(at + n, "%llu %llu %llu %7s %63[^\n]", &row.seeds, &row.passed,
                                &row.failed, row.expect, row.fastest);
        cr_assert(eq(int, got, runs ? 6 : 5), "a malformed row for %s in:\n%s", name, text);
        return row;
    }
    cr_assert(eq(int, 0, 1), "no row for scenario %s in:\n%s", name, text);
    return row;
}

/* The row's numbers are these, and its expect this. */
static inline void expect_row(const char *text, const char *name, unsigned long long seeds,
                              unsigned long long failed, const char *expect_what)
{
    suite_row r = table_row(text, name, false);
    cr_assert(eq(u64, r.seeds, seeds), "%s: seeds in:\n%s", name, text);
    cr_assert(eq(u64, r.failed, failed), "%s: failed in:\n%s", name, text);
    cr_assert(eq(u64, r.passed, seeds - failed), "%s: passed in:\n%s", name, text);
    cr_assert(eq(str, r.expect, (char *)expect_what), "%s: expect in:\n%s", name, text);
}

#endif /* SIM_CMDTEST_H */
