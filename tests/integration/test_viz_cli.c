/*
 * test_viz_cli.c: sim viz (issue 21) from the command line: the sim binary (SIM_BIN) in a
 * fresh temporary directory per test, runs recorded there with sim run --db, pictures drawn
 * with sim viz, and the pages loaded in headless Chromium, which the page's script tells what
 * it drew (lanes, arrows, bands, operations, pixels inked) through the DOM.
 *
 * The browser tests skip, saying why, only where no chromium is installed (Debian's package
 * chromium; make deps installs it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(viz, .init = enter_dir, .fini = leave_dir);

/* Records kv's planted no-fsync bug, seed 11 (a failure: its events are stored), in db; the
 * scenario expects the failure, so sim run exits 0. */
static void record_kv_failure(const char *db)
{
    copy_scenario("kv/bug-no-fsync.ini");
    out r = SIM("run bug-no-fsync.ini --seeds 11 --db '%s'", db);
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
}

/* Asserts a command failed with exit 2 and one line on stderr holding `says`. */
static void one_line_error(const out *r, const char *says)
{
    cr_assert(eq(int, r->status, 2), "stdout:\n%s\nstderr:\n%s", r->text, r->err);
    cr_assert(ne(ptr, strstr(r->err, says), NULL), "stderr:\n%s", r->err);
    const char *nl = strchr(r->err, '\n');
    cr_assert(ne(ptr, (void *)nl, NULL), "stderr:\n%s", r->err);
    cr_assert(eq(chr, nl[1], '\0'), "more than one line:\n%s", r->err);
    cr_assert(eq(str, r->text, ""), "stdout:\n%s", r->text);
}

/* Goal: each error a user can make is one line saying what is wrong, exit 2, and no file:
 * a run that does not exist, a run recorded without its events (--record off), a file that
 * is not a database, an output that cannot be written, a --highlight file that is not step
 * numbers. Method: sim viz against one recorded failure and one run recorded with off. */
Test(viz, errors_are_one_line_with_exit_2)
{
    record_kv_failure("t.db");
    out r = SIM("run bug-no-fsync.ini --seeds 11 --db off.db --record off");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    write_file("text.db", "not a database\n");
    write_file("bad-steps.txt", "12 13\n# a comment\n14, x15\n");
    struct {
        const char *args, *says;
    } cases[] = {
        {"viz --db t.db 99 -o a.html", "no run 99"},
        {"viz --db off.db 1 -o a.html", "run 1 has no stored events (recorded with --record off)"},
        {"viz --db text.db 1 -o a.html", "text.db"},
        {"viz --db t.db 1 -o no/such/dir/a.html", "cannot write no/such/dir/a.html"},
        {"viz --db t.db 1 -o a.html --highlight bad-steps.txt",
         "bad-steps.txt:3: --highlight expects step numbers, got 'x15'"},
        {"viz --db t.db 1 -o a.html --highlight none.txt", "--highlight: cannot read none.txt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out e = sim_split("%s", cases[i].args);
        one_line_error(&e, cases[i].says);
        out_free(&e);
        cr_assert(eq(int, exists("a.html"), 0), "%s wrote a file", cases[i].args);
    }
    sim_expect(2, WORDS("--format expects html or shiviz, got 'svg'"),
               "viz --db t.db 1 --format svg");
    sim_expect(2, WORDS("which run? give RUN"), "viz --db t.db");
    sim_expect(2, WORDS("--db FILE is required"), "viz 1");
}

/* Replaces JSON's escapes as cmd_viz.c writes them (\", \\, \uXXXX of ASCII) in place. */
static void json_unescape(char *s)
{
    char *w = s;
    for (const char *p = s; *p != '\0'; p++) {
        if (p[0] == '\\' && p[1] == 'u') {
            unsigned v = 0;
            cr_assert(eq(int, sscanf(p + 2, "%4x", &v), 1));
            *w++ = (char)v;
            p += 5;
        } else if (p[0] == '\\') {
            *w++ = *++p;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

/* Goal: the page embeds every event of the run with the very row sim show prints for it (what
 * a click shows), every message, and data that cannot close its <script> element even when a
 * text in it says </script> (here the database's path, which the failure's detail names).
 * Method: the database lives at x</script>.db (a directory "x<"); each event line of the
 * page's JSON, unescaped, is compared with sim show's line for the same event; </script>
 * occurs only where the page's two scripts end. */
Test(viz, page_holds_every_event_as_sim_show_prints_it)
{
    cr_assert(eq(int, mkdir("x<", 0755), 0));
    record_kv_failure("x</script>.db");
    out r = SIM("viz --db 'x</script>.db' 1 -o run.html");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    cr_assert(matches(r.text, "^wrote run.html: run 1, [0-9]+ events, [0-9]+ messages\n$",
                      NULL, 0), "%s", r.text);
    out_free(&r);
    size_t len;
    char *page = read_bytes("run.html", &len);
    size_t scripts = 0;
    for (const char *p = page; (p = strstr(p, "</script>")) != NULL; p++) scripts++;
    cr_assert(eq(sz, scripts, 2), "</script> occurs %zu times", scripts);
    out show = SIM("show --db 'x</script>.db' 1");
    cr_assert(eq(int, show.status, 0), "%s", show.text);
    const char *want = next_line(line_starting(show.text, "    step"));
    size_t n = 0;
    char row[1024], got[1024];
    const char *line = strstr(page, "\"ev\":[\n");
    cr_assert(ne(ptr, (void *)line, NULL));
    for (line += 7; line != NULL && line[0] == '['; line = next_line(line)) {
        const char *q = strchr(line, '"');
        cr_assert(ne(ptr, (void *)q, NULL));
        copy_line(q + 1, got, sizeof got);
        char *end = strrchr(got, '"');
        cr_assert(ne(ptr, end, NULL));
        *end = '\0';
        json_unescape(got);
        cr_assert(ne(ptr, (void *)want, NULL), "more events in the page than sim show prints");
        copy_line(want, row, sizeof row);
        cr_assert(eq(str, got, row), "event %zu", n);
        want = next_line(want);
        n++;
    }
    cr_assert(eq(u64, n, sql_u64("'x</script>.db'", "SELECT count(*) FROM events")));
    cr_assert(lt(sz, (size_t)10000, n));
    cr_assert(ne(ptr, strstr(page, "\"msgs\":[["), NULL));
    out_free(&show);
}

/* One host's clock entry ("n1":3) in a ShiViz clock, 0 when absent. */
static unsigned clock_of(const char *clock, const char *host)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", host);
    const char *p = strstr(clock, key);
    return p == NULL ? 0 : (unsigned)strtoul(p + strlen(key), NULL, 10);
}

/* Goal: --format shiviz writes what ShiViz parses: its expression on line 1 (host, clock,
 * event as named groups), an empty delimiter line, then one line per node event whose clock
 * counts that host's events one by one and only grows, and a delivery's clock covers its
 * sender's. Method: the gossip toy under partitions (seed 14, --record full); every line is
 * matched with the same expression (POSIX form) and the clocks of n1..n5 followed. */
Test(viz, shiviz_log_has_vector_clocks)
{
    copy_scenario("gossip-faults.ini");
    out r = SIM("run gossip-faults.ini --seeds 14 --db g.db --record full");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    r = SIM("viz --db g.db 1 --format shiviz -o g.log");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    size_t len;
    char *log = read_bytes("g.log", &len);
    cr_assert(eq(int, strncmp(log, "^(?<host>\\S+) (?<clock>\\{[^}]*\\}) (?<event>.*)$\n\n", 46),
                 0), "%.80s", log);
    unsigned own[6] = {0}, merged = 0, lines = 0;
    char line[1024], host[16], clock[256];
    for (const char *l = next_line(next_line(log)); l != NULL; l = next_line(l)) {
        copy_line(l, line, sizeof line);
        regmatch_t m[3];
        cr_assert(matches(line, "^([^ ]+) (\\{[^}]*\\}) .+$", m, 3), "%s", line);
        submatch(line, m, 1, host, sizeof host);
        submatch(line, m, 2, clock, sizeof clock);
        cr_assert(eq(int, host[0], 'n'), "%s", line);
        unsigned h = (unsigned)atoi(host + 1);
        cr_assert(h >= 1 && h <= 5, "%s", line);
        cr_assert(eq(u32, clock_of(clock, host), own[h] + 1), "%s", line);
        own[h]++;
        unsigned entries = 0;
        for (const char *c = clock; (c = strchr(c, ':')) != NULL; c++) entries++;
        merged += entries > 1;
        lines++;
    }
    cr_assert(lt(u32, 100, lines));
    cr_assert(lt(u32, 10, merged), "no delivery merged its sender's clock");
    cr_assert(eq(u64, lines,
                 sql_u64("g.db", "SELECT count(*) FROM events e JOIN event_kinds k USING (kind) "
                                 "WHERE e.node > 0 AND k.name IN ('net-send', 'net-deliver', "
                                 "'net-drop', 'net-dup', 'net-reset', 'crash', 'restart', "
                                 "'pause', 'resume', 'fault', 'disk-crash', 'history', "
                                 "'violation')")));
}

/* ---- in a browser --------------------------------------------------------------------------- */

/* Loads page in headless Chromium and returns the page's #stats element, which its script
 * fills after the first drawing, then a newline and the text of the event panel (#row);
 * skips the test where no chromium is. */
static void browser_stats(const char *page, char *stats, size_t size)
{
    out which = sh("command -v chromium || command -v chromium-browser");
    if (which.status != 0) {
        cr_skip_test("chromium is not installed: this browser test needs Debian's package "
                     "chromium (make deps installs it)");
    }
    char bin[256];
    copy_line(which.text, bin, sizeof bin);
    out_free(&which);
    out dom = sh("'%s' --headless --no-sandbox --disable-gpu --no-first-run "
                 "--user-data-dir=\"$PWD/chrome-profile\" --dump-dom \"file://$PWD/%s\" "
                 "2>chrome.log",
                 bin, page);
    cr_assert(eq(int, dom.status, 0), "%s", dom.text);
    const char *s = strstr(dom.text, "<div id=\"stats\"");
    cr_assert(ne(ptr, (void *)s, NULL), "no #stats in the page:\n%.2000s", dom.text);
    copy_line(s, stats, size);
    char *end = strchr(stats, '>');
    if (end != NULL) end[1] = '\0';
    cr_assert(ne(ptr, strstr(stats, "data-ready=\"1\""), NULL), "the script did not finish: %s",
              stats);
    /* What the event panel shows (#row), unescaped, after the stats: for ?select=STEP. */
    const char *row = strstr(dom.text, "<pre id=\"row\">");
    cr_assert(ne(ptr, (void *)row, NULL));
    row += strlen("<pre id=\"row\">");
    const char *stop = strstr(row, "</pre>");
    cr_assert(ne(ptr, (void *)stop, NULL));
    size_t at = strlen(stats) + 1, n = (size_t)(stop - row);
    cr_assert(lt(sz, at + n, size));
    stats[at - 1] = '\n';
    memcpy(stats + at, row, n);
    stats[at + n] = '\0';
    const char *ent[][2] = {{"&gt;", ">"}, {"&lt;", "<"}, {"&quot;", "\""}, {"&amp;", "&"}};
    for (size_t k = 0; k < sizeof ent / sizeof ent[0]; k++) {
        for (char *e; (e = strstr(stats + at, ent[k][0])) != NULL;) {
            memmove(e + 1, e + strlen(ent[k][0]), strlen(e + strlen(ent[k][0])) + 1);
            e[0] = ent[k][1][0];
        }
    }
    out_free(&dom);
}

static unsigned long stat_of(const char *stats, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, " data-%s=\"", name);
    const char *p = strstr(stats, key);
    cr_assert(ne(ptr, (void *)p, NULL), "no %s in %s", name, stats);
    return strtoul(p + strlen(key), NULL, 10);
}

/* Goal: a kv failure is drawn in a real browser: a lane for the server, each client and the
 * world, every message as an arrow (as many as sim viz counted), the crashes as bands, the
 * clients' operations as intervals, the highlighted steps, and ink on the canvas, from a page
 * whose database path says </script>; selecting an event shows its sim show row. Method:
 * headless Chromium's --dump-dom of kv.html?select=STEP; the page's script writes what it
 * drew into #stats and the selected event's row into #row. */
Test(viz, kv_failure_draws_in_chromium, .timeout = 120)
{
    cr_assert(eq(int, mkdir("x<", 0755), 0));
    record_kv_failure("x</script>.db");
    write_file("slice.txt", "1 2 3\n100\n");
    out r = SIM("viz --db 'x</script>.db' 1 -o kv.html --highlight slice.txt");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    regmatch_t m[2];
    char msgs[32];
    cr_assert(matches(r.text, "events, ([0-9]+) messages", m, 2), "%s", r.text);
    submatch(r.text, m, 1, msgs, sizeof msgs);
    out_free(&r);
    /* The first crash's step; the page selects that step's first event of a kind it shows
     * (not poll, wake, timer-set), as a click on it would, and prints its sim show row. */
    out crash = SIM("show --db 'x</script>.db' 1 --kind crash");
    char step[32], want[1024] = "";
    cr_assert(matches(crash.text, "\n +([0-9]+) [^\n]* crash ", m, 2), "%s", crash.text);
    submatch(crash.text, m, 1, step, sizeof step);
    out_free(&crash);
    out same = SIM("show --db 'x</script>.db' 1 --from %s --to %s", step, step);
    for (const char *l = next_line(line_starting(same.text, "    step")); l; l = next_line(l)) {
        show_line e;
        cr_assert(parse_show_line(l, &e), "%s", l);
        if (strcmp(e.event, "poll") != 0 && strcmp(e.event, "wake") != 0 &&
            strcmp(e.event, "timer-set") != 0) {
            copy_line(l, want, sizeof want);
            break;
        }
    }
    out_free(&same);
    cr_assert(ne(str, want, ""), "no event of a shown kind at step %s", step);
    char page[64], stats[2048];
    snprintf(page, sizeof page, "kv.html?select=%s", step);
    browser_stats(page, stats, sizeof stats);
    cr_assert(ne(ptr, strstr(stats, want), NULL), "want the row\n%s\nin\n%s", want, stats);
    cr_assert(eq(ulong, stat_of(stats, "lanes"), 4), "%s", stats); /* world, server, c1, c2 */
    cr_assert(eq(ulong, stat_of(stats, "arrows"), strtoul(msgs, NULL, 10)), "%s", stats);
    cr_assert(lt(ulong, 0, stat_of(stats, "bands")), "%s", stats);
    cr_assert(lt(ulong, 100, stat_of(stats, "ops")), "%s", stats);
    cr_assert(lt(ulong, 100, stat_of(stats, "events")), "%s", stats);
    cr_assert(eq(ulong, stat_of(stats, "slice"), 4), "%s", stats);
    cr_assert(lt(ulong, 20000, stat_of(stats, "ink")), "%s", stats);
}

/* Goal: a gossip run under partitions, drops and duplicates (seed 14, recorded with
 * --record full although it passes) is drawn: five node lanes and the world's, arrows with
 * drops and duplicates among them, the partitions as bands. Method: as above. */
Test(viz, gossip_partitions_draw_in_chromium, .timeout = 120)
{
    copy_scenario("gossip-faults.ini");
    out r = SIM("run gossip-faults.ini --seeds 14 --db g.db --record full");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    cr_assert(lt(u64, 0, sql_u64("g.db", "SELECT count(*) FROM events WHERE kind = "
                                         KIND("net-link"))));
    r = SIM("viz --db g.db 1 -o g.html");
    cr_assert(eq(int, r.status, 0), "%s", r.text);
    out_free(&r);
    char stats[2048];
    browser_stats("g.html", stats, sizeof stats);
    cr_assert(eq(ulong, stat_of(stats, "lanes"), 6), "%s", stats);
    cr_assert(lt(ulong, 100, stat_of(stats, "arrows")), "%s", stats);
    cr_assert(lt(ulong, 0, stat_of(stats, "dropped")), "%s", stats);
    cr_assert(lt(ulong, 0, stat_of(stats, "dups")), "%s", stats);
    cr_assert(lt(ulong, 0, stat_of(stats, "bands")), "%s", stats);
    cr_assert(lt(ulong, 20000, stat_of(stats, "ink")), "%s", stats);
}
