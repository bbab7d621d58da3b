/*
 * test_tidy.c: make tidy catches what it promises to catch. Each case writes a small source
 * tree with one violation and runs tools/tidy.sh on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../helpers.h"

static void write_file(const char *root, const char *path, const char *text)
{
    char full[512], dir[600];
    snprintf(full, sizeof full, "%s/%s", root, path);
    snprintf(dir, sizeof dir, "mkdir -p \"$(dirname '%s')\"", full);
    cr_assert(eq(int, system(dir), 0));
    FILE *f = fopen(full, "w");
    cr_assert(ne(ptr, f, NULL));
    fputs(text, f);
    fclose(f);
}

/* Runs tidy on a fresh tree holding a clean sim.h plus `path` with `text`; returns its exit
 * code and output. */
static int tidy_on(const char *path, const char *text, char *out, size_t size)
{
    char root[] = "/tmp/sim-tidy-XXXXXX";
    cr_assert(ne(ptr, mkdtemp(root), NULL));
    write_file(root, "include/sim.h", "#include <stdint.h>\n");
    write_file(root, path, text);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/tools/tidy.sh %s 2>&1; echo \"rc=$?\"", getenv("SIM_SRC"),
             root);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    pclose(p);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    cr_assert(eq(int, system(cmd), 0));
    const char *rc = strstr(out, "rc=");
    cr_assert(ne(ptr, (void *)rc, NULL));
    return atoi(rc + 3);
}

/* 104 columns: one comment line over the limit. */
#define LONG_LINE                                                                              \
    "/* aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"                    \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa */\n"

/* Goal: each class of violation fails tidy with a message naming the file and line; a clean
 * tree passes. Method: one tree per case. */
Test(tidy, catches_violations)
{
    cr_assert(ne(ptr, getenv("SIM_SRC"), NULL), "SIM_SRC is not set: run through make test");
    struct {
        const char *path, *text, *says;
    } cases[] = {
        {"src/core/a.c", "int f(void);\nint f(void)\n{\n    return rand();\n}\n",
         "src/core/a.c:4: nondeterministic call"},
        {"src/net_sim/n.c", "static long t(void) { return time(0); }\n",
         "src/net_sim/n.c:1: nondeterministic call"},
        {"cmd/c.c", "void f(void);\nvoid f(void) { usleep(1); }\n", "cmd/c.c:2: nondeterministic"},
        {"src/executor/e.c", "void f(void) { printf(\"%p\", 0); }\n", "%p"},
        {"systems/kv/kv.c", "#include \"../../src/executor/exec.h\"\n",
         "systems may include sim.h only"},
        {"src/executor/x.c", "#include <sqlite3.h>\n", "only src/trace/ may include sqlite3.h"},
        {"src/trace/x.c", "#include <fiu.h>\n", "only src/fault/ may include fiu.h"},
        {"src/disk_sim/d.c", "#include \"../net_sim/net.h\"\n", "never include each other"},
        {"src/core/c.c", "#include \"../executor/exec.h\"\n", "core is the bottom layer"},
        /* The modules above the executor see the world through spi.h, never its fields. */
        {"src/net_sim/n.c", "#include \"../executor/exec.h\"\n",
         "src/net_sim/n.c:1: only src/executor/ may include exec.h"},
        {"src/fault/p.h", "#include \"../executor/exec.h\"\n",
         "src/fault/p.h:1: only src/executor/ may include exec.h"},
        {"cmd/c.c", "#include \"../src/executor/exec.h\"\n",
         "only src/executor/ may include exec.h"},
        {"src/core/t.c", "/* TO" "DO fix */\n", "without an issue number"},
        {"src/core/l.c", LONG_LINE, "lines over 100 columns"},
        {"tests/unit/t.c", "void f(void);\nvoid f(void) { cr_assert(gt(int, 2, 1)); }\n",
         "tests/unit/t.c:2: Criterion 2.4.1's gt() is >="},
    };
    char out[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tidy_on(cases[i].path, cases[i].text, out, sizeof out);
        cr_assert(eq(int, rc, 1), "%s: %s", cases[i].path, out);
        cr_assert(ne(ptr, strstr(out, cases[i].says), NULL), "%s: %s", cases[i].path, out);
    }
    int rc = tidy_on("src/core/ok.c",
                     "/* rand() in a comment is fine; so is TODO(#2). */\n"
                     "#include \"sim.h\"\nint f(int time_ns);\nint f(int time_ns)\n{\n"
                     "    return time_ns;\n}\n",
                     out, sizeof out);
    cr_assert(eq(int, rc, 0), "%s", out);
    /* The executor's own files include exec.h; the modules above include spi.h. */
    rc = tidy_on("src/executor/ok.c", "#include \"exec.h\"\n", out, sizeof out);
    cr_assert(eq(int, rc, 0), "%s", out);
    rc = tidy_on("src/plan/ok.c", "#include \"../executor/spi.h\"\n", out, sizeof out);
    cr_assert(eq(int, rc, 0), "%s", out);
}

/* Goal: tidy holds net_sim and disk_sim to two assertions per non-trivial function (a body
 * over five lines) and prints the table of every module. Method: a tree whose net_sim has one
 * such function with one assertion fails, naming the module and its ratio; with two it
 * passes; both print the table's header. */
Test(tidy, assertion_density)
{
    char body[1024] = "#include \"sim.h\"\nint g(int x);\nint g(int x)\n{\n"
                      "    SIM_ASSERT(x > 0);\n";
    for (int i = 0; i < 5; i++) strcat(body, "    x++;\n");
    char out[4096];
    char thin[1100];
    snprintf(thin, sizeof thin, "%s    return x;\n}\n", body);
    int rc = tidy_on("src/net_sim/n.c", thin, out, sizeof out);
    cr_assert(eq(int, rc, 1), "%s", out);
    cr_assert(ne(ptr, strstr(out, "src/net_sim has 1.00 assertions per non-trivial function, "
                                  "below 2"),
                 NULL),
              "%s", out);
    cr_assert(ne(ptr, strstr(out, "per non-trivial"), NULL), "%s", out);
    char dense[1100];
    snprintf(dense, sizeof dense, "%s    SIM_ASSERT(x > 5);\n    return x;\n}\n", body);
    rc = tidy_on("src/net_sim/n.c", dense, out, sizeof out);
    cr_assert(eq(int, rc, 0), "%s", out);
    cr_assert(ne(ptr, strstr(out, "src/net_sim"), NULL), "%s", out);
}

/* Goal: functions over 70 lines are reported but do not fail tidy. Method: a 75-line body. */
Test(tidy, reports_long_functions)
{
    char body[8192] = "int big(void);\nint big(void)\n{\n    int x = 0;\n";
    for (int i = 0; i < 75; i++) strcat(body, "    x++;\n");
    strcat(body, "    return x;\n}\n");
    char out[4096];
    int rc = tidy_on("src/core/big.c", body, out, sizeof out);
    cr_assert(eq(int, rc, 0), "%s", out);
    cr_assert(ne(ptr, strstr(out, "src/core/big.c:2 big: 77 lines"), NULL), "%s", out);
}

/* Builds src/<user>.c (calling sim__callee) and src/<definer>.c (defining it) of a fresh tree
 * with cc and runs tools/arrows.sh on it; returns its exit code and output. */
static int arrows_on(const char *user, const char *definer, char *out, size_t size)
{
    char root[] = "/tmp/sim-arrows-XXXXXX";
    cr_assert(ne(ptr, mkdtemp(root), NULL));
    write_file(root, "include/sim.h", "#include <stdint.h>\nvoid sim_public(void);\n");
    char path[256], cmd[2048];
    snprintf(path, sizeof path, "%s.c", user);
    write_file(root, path, "void sim__callee(void);\nvoid sim_user(void);\n"
                           "void sim_user(void)\n{\n    sim__callee();\n}\n");
    snprintf(path, sizeof path, "%s.c", definer);
    write_file(root, path, "void sim__callee(void);\nvoid sim__callee(void)\n{\n}\n");
    snprintf(cmd, sizeof cmd,
             "cd %s && for s in %s %s; do mkdir -p build/obj/$(dirname $s) && "
             "cc -c $s.c -o build/obj/$s.o || exit 9; done && %s/tools/arrows.sh build %s 2>&1; "
             "echo \"rc=$?\"",
             root, user, definer, getenv("SIM_SRC"), root);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    pclose(p);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    cr_assert(eq(int, system(cmd), 0));
    const char *rc = strstr(out, "rc=");
    cr_assert(ne(ptr, (void *)rc, NULL), "%s", out);
    return atoi(rc + 3);
}

/* Goal: the symbol-level arrows (DESIGN.md section 1) fail on a call that points up, across
 * net_sim and disk_sim, or from a system to something sim.h does not name, and pass a call
 * that points down. Method: two-file trees built with cc. */
Test(tidy, symbol_arrows)
{
    cr_assert(ne(ptr, getenv("SIM_SRC"), NULL), "SIM_SRC is not set: run through make test");
    char out[4096];
    cr_assert(eq(int, arrows_on("src/executor/a", "src/core/b", out, sizeof out), 0), "%s", out);
    cr_assert(eq(int, arrows_on("src/core/a", "src/executor/b", out, sizeof out), 1), "%s", out);
    cr_assert(ne(ptr, strstr(out, "core -> executor: sim__callee"), NULL), "%s", out);
    cr_assert(ne(ptr, strstr(out, "points up"), NULL), "%s", out);
    cr_assert(eq(int, arrows_on("src/net_sim/a", "src/disk_sim/b", out, sizeof out), 1), "%s",
              out);
    cr_assert(ne(ptr, strstr(out, "same layer"), NULL), "%s", out);
    cr_assert(eq(int, arrows_on("systems/x/a", "src/executor/b", out, sizeof out), 1), "%s",
              out);
    cr_assert(ne(ptr, strstr(out, "not in sim.h"), NULL), "%s", out);
}
