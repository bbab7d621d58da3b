/*
 * test_check_cli.c: `sim check` as a user runs it: exit codes 0, 1, 3 and 2, text and JSON
 * reports, standard input, output that does not depend on --jobs, and clear errors for
 * malformed histories and bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"
#include "../cmdtest.h"

TestSuite(check_cli, .init = enter_dir, .fini = leave_dir);

static const char good_edn[] =
    "; a register, written then read\n"
    "[\n"
    "{:process 0, :type :invoke, :f :write, :value 1, :time 1000}\n"
    "{:process 0, :type :ok, :f :write, :value 1, :time 2000}\n"
    "{:process 1, :type :invoke, :f :read, :value nil, :time 3000, :extra {:a #{1 2}}}\n"
    "{:process :nemesis, :type :info, :f :start, :value nil}\n"
    "{:process 1, :type :ok, :f :read, :value 1, :time 4000}\n"
    "]\n";

static const char stale_edn[] =
    "{:process 0, :type :invoke, :f :write, :value 1}\n"
    "{:process 0, :type :ok, :f :write, :value 1}\n"
    "{:process 0, :type :invoke, :f :write, :value 2}\n"
    "{:process 0, :type :ok, :f :write, :value 2}\n"
    "{:process 1, :type :invoke, :f :read, :value nil}\n"
    "{:process 1, :type :ok, :f :read, :value 1}\n";

/* Goal: a linearizable history exits 0 with a one-line verdict and the counts. */
Test(check_cli, linearizable_history_exits_0)
{
    write_file("good.edn", good_edn);
    out o = sim_split("check --model register good.edn");
    cr_assert(eq(int, o.status, 0), "%s%s", o.text, o.err);
    cr_assert(eq(str, o.err, ""));
    cr_assert(eq(str, o.text,
                 "linearizable: 2 operations (model register)\n"
                 "  2 operations (0 failed, left out; 0 info, may have happened); 2 "
                 "configurations searched\n"));
    out_free(&o);
}

/* Goal: a stale read exits 1 and shows the prefix, the state after it and the operation that
 * cannot follow, with its lines; the JSON report says the same; standard input works. */
Test(check_cli, stale_read_exits_1_with_the_anomaly)
{
    write_file("stale.edn", stale_edn);
    out o = sim_split("check --model register stale.edn");
    cr_assert(eq(int, o.status, 1), "%s%s", o.text, o.err);
    cr_assert(eq(str, o.text,
                 "not linearizable (model register): 2 of 3 operations linearize, then 1 cannot "
                 "take effect\n"
                 "\n"
                 "  the longest linearizable prefix (the last 2 of 2):\n"
                 "        op  process  invoked          completed        operation\n"
                 "         0        0  line 1           line 2           write 1 -> 1\n"
                 "         1        0  line 3           line 4           write 2 -> 2\n"
                 "  state after it: 2\n"
                 "\n"
                 "  none of these can take effect next:\n"
                 "         2        1  line 5           line 6           read -> 1\n"
                 "\n"
                 "  3 operations (0 failed, left out; 0 info, may have happened); 2 "
                 "configurations searched\n"));
    out_free(&o);
    o = sim_split("check --model register --format json - < stale.edn");
    cr_assert(eq(int, o.status, 1), "%s%s", o.text, o.err);
    cr_assert(ne(ptr, strstr(o.text, "{\"verdict\":\"not linearizable\",\"model\":\"register\","
                                     "\"operations\":3,\"keys\":0,\"failed\":0,\"info\":0,"),
                 NULL), "%s", o.text);
    cr_assert(ne(ptr, strstr(o.text, "\"state\":\"2\",\"cannot_follow\":[{\"op\":2,\"process\":1,"
                                     "\"call\":\"read -> 1\",\"value\":\"nil\",\"output\":\"1\","
                                     "\"invoked_line\":5,\"completed_line\":6}]"),
                 NULL), "%s", o.text);
    cr_assert(eq(int, o.text[strlen(o.text) - 1], '\n'));
    out_free(&o);
}

/* Goal: the report does not depend on --jobs. Method: 20 keys, key k7 stale; --jobs 1, 2
 * and 8 print the same bytes, naming k7. */
Test(check_cli, report_is_the_same_whatever_the_jobs)
{
    FILE *f = fopen("kv.edn", "w");
    cr_assert(ne(ptr, f, NULL));
    for (int k = 0; k < 20; k++) {
        fprintf(f, "{:process 0, :type :invoke, :f :put, :key \"k%d\", :value \"a\"}\n", k);
        fprintf(f, "{:process 0, :type :ok, :f :put, :key \"k%d\", :value \"a\"}\n", k);
        fprintf(f, "{:process 1, :type :invoke, :f :append, :key \"k%d\", :value \"b\"}\n", k);
        fprintf(f, "{:process 1, :type :ok, :f :append, :key \"k%d\", :value \"b\"}\n", k);
        fprintf(f, "{:process 2, :type :invoke, :f :get, :key \"k%d\", :value nil}\n", k);
        fprintf(f, "{:process 2, :type :ok, :f :get, :key \"k%d\", :value \"%s\"}\n", k,
                k == 7 || k == 15 ? "a" : "ab");
    }
    fclose(f);
    out one = sim_split("check --model kv kv.edn --jobs 1");
    cr_assert(eq(int, one.status, 1), "%s%s", one.text, one.err);
    cr_assert(ne(ptr, strstr(one.text, "not linearizable on key \"k7\" (model kv)"), NULL), "%s",
              one.text);
    for (int jobs = 2; jobs <= 8; jobs *= 4) {
        out o = sim_split("check --model kv kv.edn --jobs %d", jobs);
        cr_assert(eq(int, o.status, 1));
        cr_assert(eq(str, o.text, one.text), "--jobs %d", jobs);
        out_free(&o);
    }
    out_free(&one);
}

/* Goal: a search that passes --max-configs ends unknown with exit 3, saying why. */
Test(check_cli, search_past_its_limit_exits_3)
{
    FILE *f = fopen("hard.edn", "w");
    cr_assert(ne(ptr, f, NULL));
    for (int p = 0; p < 16; p++) {
        fprintf(f, "{:process %d, :type :invoke, :f :write, :value %d}\n", p, p);
    }
    fprintf(f, "{:process 99, :type :invoke, :f :read, :value nil}\n"
               "{:process 99, :type :ok, :f :read, :value 100}\n");
    for (int p = 0; p < 16; p++) {
        fprintf(f, "{:process %d, :type :ok, :f :write, :value %d}\n", p, p);
    }
    fclose(f);
    out o = sim_split("check --model register hard.edn --max-configs 1000");
    cr_assert(eq(int, o.status, 3), "%s%s", o.text, o.err);
    cr_assert(ne(ptr, strstr(o.text, "unknown: the search reached its bound of 1000 "
                                     "configurations after "), NULL),
              "%s", o.text);
    out_free(&o);
    sim_expect(1, WORDS("not linearizable"), "check --model register hard.edn");
}

/* Goal: --max-steps bounds the whole check in the checker's own unit, so the answer does not
 * depend on the machine: under the steps the search needs (from the JSON report) it is
 * unknown, exit 3, saying so in steps; with them it is the verdict; the same with any --jobs.
 * A bad value is refused. Method: the 16-writer history above (not linearizable). */
Test(check_cli, max_steps_bound_exits_3)
{
    FILE *f = fopen("hard.edn", "w");
    cr_assert(ne(ptr, f, NULL));
    for (int p = 0; p < 12; p++) {
        fprintf(f, "{:process %d, :type :invoke, :f :write, :value %d}\n", p, p);
    }
    fprintf(f, "{:process 99, :type :invoke, :f :read, :value nil}\n"
               "{:process 99, :type :ok, :f :read, :value 100}\n");
    for (int p = 0; p < 12; p++) {
        fprintf(f, "{:process %d, :type :ok, :f :write, :value %d}\n", p, p);
    }
    fclose(f);
    out o = sim_split("check --model register hard.edn --format json");
    cr_assert(eq(int, o.status, 1), "%s%s", o.text, o.err);
    const char *at = strstr(o.text, "\"steps\":");
    cr_assert(ne(ptr, (void *)at, NULL), "%s", o.text);
    unsigned long long steps = strtoull(at + strlen("\"steps\":"), NULL, 10);
    out_free(&o);
    for (int jobs = 1; jobs <= 2; jobs++) {
        sim_expect(1, WORDS("not linearizable"), "check --model register hard.edn --jobs %d "
                   "--max-steps %llu", jobs, steps);
        char want[128];
        snprintf(want, sizeof want, "unknown: the search reached its bound of %llu steps (model "
                                    "register)\n", steps - 1);
        sim_expect(3, WORDS(want), "check --model register hard.edn --jobs %d --max-steps %llu",
                   jobs, steps - 1);
    }
    sim_expect(2, WORDS("--max-steps expects a positive number, got '0'"),
               "check --model register hard.edn --max-steps 0");
}

/* The configurations a JSON report says were searched. */
static unsigned long long configs_of(const char *json)
{
    const char *at = strstr(json, "\"configurations\":");
    cr_assert(ne(ptr, (void *)at, NULL), "%s", json);
    return strtoull(at + strlen("\"configurations\":"), NULL, 10);
}

/* A JSON report without its count of configurations. */
static char *without_configs(const char *json)
{
    char *copy = strdup(json);
    char *at = strstr(copy, ",\"configurations\":");
    cr_assert(ne(ptr, at, NULL), "%s", json);
    *at = '\0';
    return copy;
}

/* Goal: --search auto, wgl and prune give the same verdict; on a key that is not linearizable,
 * with info operations, auto turns to prune and searches far fewer configurations than wgl,
 * and reports the longer prefix wgl found; on a linearizable key it stays with wgl. Method:
 * keys 4 and 7 of the benchmark's anomalous kv history (`sim-bench-check --write DIR`, then
 * grep ':key 4,'), from tests/data/check. */
Test(check_cli, search_strategies_agree_and_auto_turns_to_prune)
{
    const char *src = getenv("SIM_SRC");
    static const char *const names[] = {"auto", "wgl", "prune"};
    out o[3];
    uint64_t n[3];
    for (int i = 0; i < 3; i++) {
        o[i] = sim_split("check --model kv --jobs 1 --search %s --format json "
                         "%s/tests/data/check/kv-key4-anomaly.edn", names[i], src);
        cr_assert(eq(int, o[i].status, 1), "%s: %s%s", names[i], o[i].text, o[i].err);
        cr_assert(ne(ptr, strstr(o[i].text, "{\"verdict\":\"not linearizable\""), NULL));
        cr_assert(ne(ptr, strstr(o[i].text, "\"key\":\"4\""), NULL), "%s", o[i].text);
        n[i] = configs_of(o[i].text);
    }
    char *auto_report = without_configs(o[0].text), *wgl_report = without_configs(o[1].text);
    cr_assert(eq(str, auto_report, wgl_report));
    free(auto_report);
    free(wgl_report);
    cr_assert(lt(u64, n[0] * 2, n[1]), "auto %llu, wgl %llu configurations",
              (unsigned long long)n[0], (unsigned long long)n[1]);
    cr_assert(lt(u64, n[2], n[0]), "prune %llu, auto %llu configurations",
              (unsigned long long)n[2], (unsigned long long)n[0]);
    for (int i = 0; i < 3; i++) out_free(&o[i]);

    out a = sim_split("check --model kv --jobs 1 --format json %s/tests/data/check/kv-key7.edn",
                      src);
    out w = sim_split("check --model kv --jobs 1 --search wgl --format json "
                      "%s/tests/data/check/kv-key7.edn", src);
    cr_assert(eq(int, a.status, 0), "%s%s", a.text, a.err);
    cr_assert(eq(str, a.text, w.text));
    out_free(&a);
    out_free(&w);
    sim_expect(2, WORDS("--search expects auto, wgl or prune, got 'fast'"),
               "check --model kv --search fast %s/tests/data/check/kv-key7.edn", src);
}

/* Goal: malformed histories exit 2 with "sim: FILE:LINE:COL: what" on stderr and nothing on
 * stdout: a truncated line, wrong types, an ok without an invoke, a model's refusal. */
Test(check_cli, malformed_histories_exit_2_with_their_place)
{
    static const struct {
        const char *edn;
        const char *model;
        const char *err;
    } cases[] = {
        {"{:process 0, :type :invoke, :f :write, :value 1\n", "register",
         "sim: bad.edn:1:48: unterminated map: expected } before the end of the line\n"},
        {"{:process \"a\", :type :invoke, :f :write, :value 1}\n", "register",
         "sim: bad.edn:1:11: :process must be an integer or :nemesis, not \"a\"\n"},
        {"{:process 0, :type :invoke, :f \"write\", :value 1}\n", "register",
         "sim: bad.edn:1:"},
        {"{:process 0, :type :invoke, :f :write, :value 1.5}\n", "register",
         "sim: bad.edn:1:47: floats are not supported: 1.5\n"},
        {"{:process 0, :type :invoke, :f :write, :value 1}\n"
         "{:process 1, :type :ok, :f :write, :value 1}\n",
         "register",
         "sim: bad.edn:2: process 1 completes (:ok) an operation it never invoked, or completed "
         "already\n"},
        {"{:process 0, :type :invoke, :f :get, :key 1, :value nil}\n", "register",
         "sim: bad.edn: line 1: the register model knows :read, :write and :cas, not :get\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file("bad.edn", cases[i].edn);
        out o = sim_split("check --model %s bad.edn", cases[i].model);
        cr_assert(eq(int, o.status, 2), "case %zu: %s%s", i, o.text, o.err);
        cr_assert(eq(str, o.text, ""), "case %zu", i);
        cr_assert(eq(int, strncmp(o.err, cases[i].err, strlen(cases[i].err)), 0),
                  "case %zu: expected '%s', got '%s'", i, cases[i].err, o.err);
        out_free(&o);
    }
}

/* Goal: bad arguments exit 2 with a message naming the argument, and the usage. */
Test(check_cli, bad_arguments_exit_2)
{
    write_file("good.edn", good_edn);
    static const struct {
        const char *args;
        const char *err;
    } cases[] = {
        {"good.edn", "sim: which model? give --model and one of register, kv, kv-empty\n"},
        {"--model queue good.edn", "sim: --model expects one of register, kv, kv-empty; got "
                                   "'queue'\n"},
        {"--model kv", "sim: which history? give FILE.edn\n"},
        {"--model kv good.edn --jobs 0", "sim: --jobs expects a number from 1 to 1024, got '0'\n"},
        {"--model kv good.edn --format xml", "sim: --format expects text or json, got 'xml'\n"},
        {"--model kv good.edn --timeout soon",
         "sim: --timeout expects seconds or a duration (30, 500ms, 2m), got 'soon'\n"},
        {"--model kv good.edn --db t.db 1", "sim: give a history file or --db FILE RUN, not both"},
        {"--model kv --db t.db", "sim: --db t.db: which run? give RUN\n"},
        {"--model kv missing.edn", "sim: missing.edn: cannot open: No such file or directory\n"},
        {"--model kv good.edn other.edn", "sim: unexpected argument 'other.edn'\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out o = sim_split("check %s", cases[i].args);
        cr_assert(eq(int, o.status, 2), "%s: %s%s", cases[i].args, o.text, o.err);
        cr_assert(eq(int, strncmp(o.err, cases[i].err, strlen(cases[i].err)), 0),
                  "%s: expected '%s', got '%s'", cases[i].args, cases[i].err, o.err);
        out_free(&o);
    }
    sim_expect(0, WORDS("usage: sim check --model MODEL FILE.edn"), "check --help");
}
