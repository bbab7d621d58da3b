/*
 * run_report.c: what sim run shows while it runs (the progress line, on stderr) and the JUnit
 * XML report it can write at the end.
 *
 * The JUnit file follows the format GitHub Actions, GitLab and Jenkins read (testsuites >
 * testsuite > testcase > failure; tests/junit.xsd is the schema the tests validate against).
 * A run whose check ended unknown is a failure of type "unknown" when it counts as failed,
 * and skipped (with the reason) when it counts as passed or its scenario expects a planted
 * bug (an unknown run does not find one): never a silent pass.
 * Text from systems goes in escaped, and bytes that are not UTF-8, or control characters XML
 * does not allow, become U+FFFD, so the file is always well-formed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

/* ---- progress ------------------------------------------------------------------------------ */

#define REDRAW_NS 100000000ull       /* on a terminal */
#define LINE_EVERY_NS 10000000000ull /* otherwise */

void progress_start(progress *p, bool quiet, uint64_t total)
{
    *p = (progress){.on = !quiet, .tty = isatty(STDERR_FILENO) == 1, .total = total};
    p->start_ns = sim__host_now_ns();
    /* A terminal shows the line from the first seed on; a log gets one every 10 s. */
    p->last_ns = p->tty ? 0 : p->start_ns;
}

static void format_line(const progress *p, uint64_t now, char *buf, size_t size)
{
    uint64_t elapsed = now - p->start_ns;
    uint64_t rate10 = elapsed ? p->done * 10000000000ull / elapsed : 0; /* tenths per s */
    char eta[32] = "?";
    if (p->done > 0 && p->done < p->total) {
        uint64_t left = (p->total - p->done) * (elapsed / p->done);
        sim__format_span(left, eta, sizeof eta);
    } else if (p->done == p->total) {
        snprintf(eta, sizeof eta, "0s");
    }
    snprintf(buf, size, "%llu/%llu seeds  %llu.%llu seeds/s  %llu failed  ETA %s",
             (unsigned long long)p->done, (unsigned long long)p->total,
             (unsigned long long)(rate10 / 10), (unsigned long long)(rate10 % 10),
             (unsigned long long)p->failed, eta);
}

void progress_tick(progress *p)
{
    if (!p->on) return;
    uint64_t now = sim__host_now_ns();
    if (now - p->last_ns < (p->tty ? REDRAW_NS : LINE_EVERY_NS)) return;
    p->last_ns = now;
    char line[160];
    format_line(p, now, line, sizeof line);
    if (p->tty) {
        fprintf(stderr, "\r\033[K%s", line);
        p->shown = true;
    } else {
        fprintf(stderr, "progress: %s\n", line);
    }
    fflush(stderr);
}

void progress_clear(progress *p)
{
    if (!p->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = false;
}

/* ---- JUnit --------------------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void junit_add(junit_log *j, const junit_case *c)
{
    if (j->oom) return;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        junit_case *n = realloc(j->c, cap * sizeof *n);
        if (n == NULL) {
            j->oom = true;
            return;
        }
        j->c = n;
        j->cap = cap;
    }
    junit_case *d = &j->c[j->n++];
    *d = *c;
    d->sweep = dup_or_null(c->sweep);
    d->result = dup_or_null(c->result);
    d->detail = dup_or_null(c->detail);
    d->replay = dup_or_null(c->replay);
    d->plan = dup_or_null(c->plan);
    if (!d->result || !d->detail || !d->replay || !d->plan || (c->sweep && !d->sweep)) {
        j->oom = true;
    }
}

void junit_free(junit_log *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->c[i].sweep);
        free(j->c[i].result);
        free(j->c[i].detail);
        free(j->c[i].replay);
        free(j->c[i].plan);
    }
    free(j->c);
    memset(j, 0, sizeof *j);
}

/* The length of a valid UTF-8 sequence XML allows at s, or 0. */
static size_t utf8_char(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80) return c >= 0x20 || c == '\t' || c == '\n' || c == '\r' ? 1 : 0;
    size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    uint32_t cp = n == 4 ? c & 0x07u : n == 3 ? c & 0x0fu : c & 0x1fu;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    bool ok = n != 0 && !(n == 3 && cp < 0x800) && !(n == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
              !(cp >= 0xd800 && cp <= 0xdfff) && cp != 0xfffe && cp != 0xffff;
    return ok ? n : 0;
}

static void xml_text(FILE *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    while (*s) {
        size_t n = utf8_char(s);
        if (n == 0) {
            fputs("\xef\xbf\xbd", f);
            s++;
            continue;
        }
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        case '\r': fputs("&#13;", f); break;
        default: fwrite(s, 1, n, f);
        }
        s += n;
    }
}

static void seconds(FILE *f, uint64_t ns)
{
    fprintf(f, "%llu.%03llu", (unsigned long long)(ns / 1000000000u),
            (unsigned long long)(ns / 1000000u % 1000u));
}

typedef struct suite_count {
    uint64_t tests, failures, skipped, wall_ns;
    bool found;              /* expect = fail: a seed failed */
} suite_count;

/* How an unknown case is written: a failure, or skipped. */
static bool unknown_fails(const junit_case *c, bool expect_fail)
{
    SIM_ASSERT(c->unknown);
    return c->failed && !expect_fail;
}

static suite_count count_suite(const junit_log *j, uint32_t sc, bool expect_fail)
{
    suite_count n = {0};
    for (size_t i = 0; i < j->n; i++) {
        const junit_case *c = &j->c[i];
        if (c->sc != sc) continue;
        n.tests++;
        n.wall_ns += c->wall_ns;
        if (c->unknown) {
            n.failures += unknown_fails(c, expect_fail);
            n.skipped += !unknown_fails(c, expect_fail);
            continue;
        }
        if (c->failed) n.found = true;
        if (c->failed && !expect_fail) n.failures++;
    }
    /* A planted bug no seed found is one more test, failed. */
    if (expect_fail && n.tests > 0) {
        n.tests++;
        n.failures += !n.found;
    }
    return n;
}

/* The rest of an unknown case's testcase: a failure, or skipped, saying why and how to
 * replay it. */
static void write_unknown_case(FILE *f, const junit_case *c, bool expect_fail)
{
    bool fails = unknown_fails(c, expect_fail);
    fputs(fails ? "\">\n      <failure type=\"unknown\" message=\""
                : "\">\n      <skipped message=\"", f);
    xml_text(f, c->result);
    fputs(": ", f);
    xml_text(f, c->detail);
    fputs(fails ? "\">" : expect_fail ? " (an unknown run does not find the planted bug)\">"
                                     : " (counted as passed: [check] unknown = pass)\">",
          f);
    fputs("replay: ", f);
    xml_text(f, c->replay);
    if (c->plan[0] != '\0') {
        fputs("\nfaults: ", f);
        xml_text(f, c->plan);
    }
    fputs(fails ? "</failure>\n" : "</skipped>\n", f);
    fputs("    </testcase>\n", f);
}

static void write_case(FILE *f, const char *name, const junit_case *c, bool expect_fail)
{
    fputs("    <testcase name=\"seed ", f);
    fprintf(f, "%llu", (unsigned long long)c->seed);
    if (c->sweep) {
        fputs(", ", f);
        xml_text(f, c->sweep);
    }
    fputs("\" classname=\"", f);
    xml_text(f, name);
    fputs("\" time=\"", f);
    seconds(f, c->wall_ns);
    if (c->unknown) {
        write_unknown_case(f, c, expect_fail);
        return;
    }
    if (!c->failed) {
        fputs("\"/>\n", f);
        return;
    }
    fputs("\">\n", f);
    /* A planted bug found is what the scenario expects: the seed passes, saying so. */
    fputs(expect_fail ? "      <system-out>found " : "      <failure message=\"", f);
    xml_text(f, c->result);
    fputs(": ", f);
    xml_text(f, c->detail);
    fputs(expect_fail ? "\n" : "\" type=\"", f);
    if (!expect_fail) {
        xml_text(f, c->result);
        fputs("\">", f);
    }
    fputs("replay: ", f);
    xml_text(f, c->replay);
    if (c->plan[0] != '\0') {
        fputs("\nfaults: ", f);
        xml_text(f, c->plan);
    }
    fputs(expect_fail ? "</system-out>\n" : "</failure>\n", f);
    fputs("    </testcase>\n", f);
}

static void write_suite(FILE *f, const sim_scenario *sc, uint32_t i, const junit_log *j)
{
    bool expect_fail = sim_scenario_expect_fail(sc);
    suite_count n = count_suite(j, i, expect_fail);
    const char *name = sim_scenario_name(sc);
    fputs("  <testsuite name=\"", f);
    xml_text(f, name);
    fprintf(f, "\" tests=\"%llu\" failures=\"%llu\" errors=\"0\" skipped=\"%llu\" time=\"",
            (unsigned long long)n.tests, (unsigned long long)n.failures,
            (unsigned long long)n.skipped);
    seconds(f, n.wall_ns);
    fputs("\">\n    <properties>\n      <property name=\"path\" value=\"", f);
    xml_text(f, sim_scenario_path(sc));
    fprintf(f, "\"/>\n      <property name=\"expect\" value=\"%s\"/>\n    </properties>\n",
            expect_fail ? "fail" : "pass");
    for (size_t k = 0; k < j->n; k++) {
        if (j->c[k].sc == i) write_case(f, name, &j->c[k], expect_fail);
    }
    if (expect_fail && n.tests > 0) {
        fputs("    <testcase name=\"expect = fail\" classname=\"", f);
        xml_text(f, name);
        fputs(n.found ? "\" time=\"0.000\"/>\n" : "\" time=\"0.000\">\n      <failure "
                                                  "message=\"no seed found the planted bug\" "
                                                  "type=\"expect\"/>\n    </testcase>\n", f);
    }
    fputs("  </testsuite>\n", f);
}

int junit_write(const char *path, sim_scenario **scs, uint32_t nsc, const junit_log *j)
{
    if (j->oom) return cli_usage_error(NULL, "%s: out of memory collecting the report", path);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) return cli_usage_error(NULL, "%s: cannot write the JUnit report", path);
    errno = 0; /* the first write error's, for the message */
    uint64_t tests = 0, failures = 0, skipped = 0, wall = 0;
    for (uint32_t i = 0; i < nsc; i++) {
        suite_count n = count_suite(j, i, sim_scenario_expect_fail(scs[i]));
        tests += n.tests;
        failures += n.failures;
        skipped += n.skipped;
        wall += n.wall_ns;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sim run\" "
               "tests=\"%llu\" failures=\"%llu\" errors=\"0\" skipped=\"%llu\" time=\"",
            (unsigned long long)tests, (unsigned long long)failures,
            (unsigned long long)skipped);
    seconds(f, wall);
    fputs("\">\n", f);
    for (uint32_t i = 0; i < nsc; i++) write_suite(f, scs[i], i, j);
    fputs("</testsuites>\n", f);
    bool ok = fflush(f) == 0 && !ferror(f);
    int e = errno;
    ok = fclose(f) == 0 && ok;
    if (e == 0) e = errno;
    /* The report appears whole or not at all. */
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        remove(tmp);
        return cli_usage_error(NULL, "%s: cannot write the JUnit report: %s%s", path,
                               e ? strerror(e) : "write error",
                               e == EFBIG ? " (the file size limit, ulimit -f, was reached: "
                                            "raise it or write the report elsewhere)" : "");
    }
    return 0;
}
