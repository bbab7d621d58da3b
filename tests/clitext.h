/*
 * clitext.h: reading what the sim command prints, for the command-line tests: lines, regular
 * expressions, `sim show` event lines, virtual times as printed, the source tree's scenarios
 * and docs, and the docs' key tables. Header-only, like cmdtest.h, which it builds on.
 */
#ifndef SIM_CLITEXT_H
#define SIM_CLITEXT_H

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmdtest.h"

/* ---- lines ---------------------------------------------------------------------------------- */

/* The line after the one at `line`, or NULL. */
static inline const char *next_line(const char *line)
{
    const char *nl = strchr(line, '\n');
    return nl == NULL || nl[1] == '\0' ? NULL : nl + 1;
}

/* Copies the line at `line` without its newline into buf. */
static inline void copy_line(const char *line, char *buf, size_t size)
{
    size_t n = strcspn(line, "\n");
    cr_assert(lt(sz, n, size), "line too long: %.*s", (int)n, line);
    memcpy(buf, line, n);
    buf[n] = '\0';
}

/* The line that starts with `prefix` (at the start of text or after a newline), or NULL. */
static inline const char *line_starting(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; line != NULL && *line != '\0'; line = next_line(line)) {
        if (strncmp(line, prefix, n) == 0) return line;
    }
    return NULL;
}

/* True when `line` matches the extended regular expression `pattern` (anchor it with ^ and $
 * to match the whole line); the first `nm` submatches go to m (NULL when nm is 0). */
static inline bool matches(const char *line, const char *pattern, regmatch_t *m, size_t nm)
{
    regex_t re;
    int rc = regcomp(&re, pattern, REG_EXTENDED);
    cr_assert(eq(int, rc, 0), "bad pattern '%s'", pattern);
    rc = regexec(&re, line, nm, m, 0);
    regfree(&re);
    return rc == 0;
}

/* Submatch i of a match of `line` into buf. */
static inline void submatch(const char *line, const regmatch_t *m, size_t i, char *buf,
                            size_t size)
{
    size_t n = (size_t)(m[i].rm_eo - m[i].rm_so);
    cr_assert(lt(sz, n, size));
    memcpy(buf, line + m[i].rm_so, n);
    buf[n] = '\0';
}

/* How many lines of text match pattern. */
static inline size_t count_matching(const char *text, const char *pattern)
{
    size_t n = 0;
    char buf[1024];
    for (const char *line = text; line != NULL && *line != '\0'; line = next_line(line)) {
        copy_line(line, buf, sizeof buf);
        if (matches(buf, pattern, NULL, 0)) n++;
    }
    return n;
}

/* ---- sim show ------------------------------------------------------------------------------- */

/* One line of `sim show` (text): "step time node task event what". */
typedef struct show_line {
    char step[24], time[32], node[32], task[24], event[32], what[512];
} show_line;

/* Parses an event line of `sim show`; false for a header line. */
static inline bool parse_show_line(const char *line, show_line *s)
{
    char buf[1024];
    copy_line(line, buf, sizeof buf);
    int at = 0;
    if (sscanf(buf, "%23s %31s %31s %23s %31s %n", s->step, s->time, s->node, s->task, s->event,
               &at) != 5 ||
        at == 0) {
        return false;
    }
    if (strspn(s->step, "0123456789") != strlen(s->step)) return false;
    snprintf(s->what, sizeof s->what, "%s", buf + at);
    return true;
}

/* The event lines of a `sim show` output, parsed. Returns how many (at most max). */
static inline size_t show_lines(const char *text, show_line *lines, size_t max)
{
    size_t n = 0;
    for (const char *line = text; line != NULL && *line != '\0'; line = next_line(line)) {
        show_line s;
        if (!parse_show_line(line, &s)) continue;
        cr_assert(lt(sz, n, max), "more than %zu event lines:\n%s", max, text);
        lines[n++] = s;
    }
    return n;
}

/* "1.000000s" -> nanoseconds. */
static inline uint64_t time_ns(const char *t)
{
    unsigned long long s = 0, us = 0;
    cr_assert(eq(int, sscanf(t, "%llu.%6llus", &s, &us), 2), "time '%s'", t);
    return s * SIM_S + us * SIM_US;
}

/* A virtual time in nanoseconds as sim show prints it: "2.500000s". */
static inline void time_text(uint64_t ns, char *buf, size_t size)
{
    snprintf(buf, size, "%llu.%06llus", (unsigned long long)(ns / 1000000000u),
             (unsigned long long)(ns % 1000000000u / 1000u));
}

/* The event kind named `name`, as an SQL subquery. */
#define KIND(name) "(SELECT kind FROM event_kinds WHERE name = '" name "')"

/* ---- the source tree ------------------------------------------------------------------------ */

static inline const char *sim_src(void)
{
    const char *src = getenv("SIM_SRC");
    cr_assert(ne(ptr, (void *)src, NULL), "SIM_SRC is not set: run through make test");
    return src;
}

/* Copies SIM_SRC/scenarios/NAME into the test directory. */
static inline void copy_scenario(const char *name)
{
    out o = sh("cp '%s/scenarios/%s' .", sim_src(), name);
    cr_assert(eq(int, o.status, 0), "%s", o.text);
    out_free(&o);
}

/* Reads SIM_SRC/path. Free with release(). */
static inline char *read_doc(const char *path)
{
    char full[1024];
    snprintf(full, sizeof full, "%s/%s", sim_src(), path);
    size_t len;
    return read_bytes(full, &len);
}

/* The text of section `heading` ("## [disk]") of a markdown file, up to the next "## "
 * heading, into an owned buffer. */
static inline char *doc_section(const char *doc, const char *heading)
{
    char want[64];
    snprintf(want, sizeof want, "\n%s\n", heading);
    const char *at = strstr(doc, want);
    cr_assert(ne(ptr, (void *)at, NULL), "no heading '%s'", heading);
    at += 1;
    const char *end = strstr(at + strlen(heading), "\n## ");
    size_t n = end == NULL ? strlen(at) : (size_t)(end - at);
    char *s = own(malloc(n + 1));
    cr_assert(ne(ptr, s, NULL));
    memcpy(s, at, n);
    s[n] = '\0';
    return s;
}

/* Checks that `doc` (named `name`) has a table row "| `key` |" for every key of section
 * `section` of a recorded canonical configuration; returns how many keys there were. */
static inline size_t every_key_has_a_row(const char *config, const char *section,
                                         const char *doc, const char *name)
{
    const char *line = line_starting(config, section);
    cr_assert(ne(ptr, (void *)line, NULL), "no %s in the recorded config:\n%s", section, config);
    size_t keys = 0;
    for (line = next_line(line); line != NULL && line[0] != '[' && line[0] != '\n';
         line = next_line(line)) {
        size_t n = strcspn(line, " =\n");
        char want[128];
        snprintf(want, sizeof want, "| `%.*s` |", (int)n, line);
        cr_assert(ne(ptr, strstr(doc, want), NULL), "%s has no row for %s key '%.*s' (want "
                  "'%s')", name, section, (int)n, line, want);
        keys++;
    }
    return keys;
}

/* ---- refusals ------------------------------------------------------------------------------ */

/* `sim run SCENARIO --db new.db --set SET` is refused before any run: exit 2, nothing on
 * stdout, "sim: " and SET and each of words (NULL-terminated) on stderr, no database. */
static inline void set_refused(const char *scenario, const char *set, const char *const *words)
{
    out r = sim_split("run %s --db new.db --set %s", scenario, set);
    cr_assert(eq(int, r.status, 2), "--set %s:\nstdout:\n%s\nstderr:\n%s", set, r.text, r.err);
    cr_assert(eq(str, r.text, ""), "--set %s", set);
    cr_assert(eq(int, strncmp(r.err, "sim: ", 5), 0), "%s", r.err);
    cr_assert(ne(ptr, strstr(r.err, set), NULL), "%s", r.err);
    for (size_t w = 0; words[w] != NULL; w++) {
        cr_assert(ne(ptr, strstr(r.err, words[w]), NULL), "no '%s' in:\n%s", words[w], r.err);
    }
    cr_assert(eq(int, exists("new.db"), false), "--set %s created a database", set);
    out_free(&r);
}

/* The file at path holds exactly the len bytes at want (what: for the message). */
static inline void file_unchanged(const char *path, const char *want, size_t len,
                                  const char *what)
{
    size_t now_len;
    char *now = read_bytes(path, &now_len);
    cr_assert(eq(int, now_len == len && memcmp(now, want, len) == 0, 1), "%s changed %s", what,
              path);
    release(now);
}

#endif /* SIM_CLITEXT_H */
