/*
 * test_check.c: the linearizability checker through sim.h: the classic anomalies of a
 * register and of a map of keys, info and fail operations, per-key reports that do not
 * depend on --jobs, limits, model errors, and agreement with an exhaustive search of every
 * order on 10,000 random small histories.
 */
#include <stdio.h>

#include "../helpers.h"

/* A history from EDN lines; asserts that it reads. */
static sim_history *edn(const char *text)
{
    sim_history *h = NULL;
    char err[512] = "";
    int rc = sim_history_parse_edn("test.edn", text, &h, err, sizeof err);
    cr_assert(eq(int, rc, SIM_OK), "%s", err);
    return h;
}

/* The verdict of model on text, checked with jobs threads; the result in *out if asked. */
static sim_verdict check_jobs(const sim_model *m, const char *text, uint32_t jobs,
                              sim_check_result **out)
{
    sim_history *h = edn(text);
    sim_check_desc d = {.model = m, .jobs = jobs};
    sim_check_result *r = NULL;
    char err[512] = "";
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_OK), "%s", err);
    sim_history_free(h);
    sim_verdict v = sim_check_verdict(r);
    if (out != NULL) {
        *out = r;
    } else {
        sim_check_result_free(r);
    }
    return v;
}

static sim_verdict check(const sim_model *m, const char *text)
{
    return check_jobs(m, text, 1, NULL);
}

#define INV(p, f, v) "{:process " #p ", :type :invoke, :f :" #f ", :value " v "}\n"
#define OK(p, f, v) "{:process " #p ", :type :ok, :f :" #f ", :value " v "}\n"
#define INFO(p, f, v) "{:process " #p ", :type :info, :f :" #f ", :value " v "}\n"
#define FAIL(p, f, v) "{:process " #p ", :type :fail, :f :" #f ", :value " v "}\n"

/* ---- register ------------------------------------------------------------------------------- */

/* Goal: a sequential history that reads what was written last is linearizable. */
Test(check, register_sequential_history_is_linearizable)
{
    const char *h = INV(0, write, "1") OK(0, write, "1") INV(1, read, "nil") OK(1, read, "1")
        INV(0, write, "2") OK(0, write, "2") INV(1, read, "nil") OK(1, read, "2");
    cr_assert(eq(int, check(&sim_model_register, h), SIM_LINEARIZABLE));
}

/* Goal: a stale read (the old value, after a newer write completed) is caught. */
Test(check, register_stale_read_is_caught)
{
    const char *h = INV(0, write, "1") OK(0, write, "1") INV(0, write, "2") OK(0, write, "2")
        INV(1, read, "nil") OK(1, read, "1");
    cr_assert(eq(int, check(&sim_model_register, h), SIM_NOT_LINEARIZABLE));
}

/* Goal: a lost write (a read of the initial value after an acknowledged write) is caught. */
Test(check, register_lost_write_is_caught)
{
    const char *h = INV(0, write, "1") OK(0, write, "1") INV(1, read, "nil") OK(1, read, "nil");
    cr_assert(eq(int, check(&sim_model_register, h), SIM_NOT_LINEARIZABLE));
}

/* Goal: a read of a value nobody wrote is caught, even while a write is in flight. */
Test(check, register_read_of_a_value_never_written_is_caught)
{
    const char *h = INV(0, write, "1") INV(1, read, "nil") OK(1, read, "7") OK(0, write, "1");
    cr_assert(eq(int, check(&sim_model_register, h), SIM_NOT_LINEARIZABLE));
}

/* Goal: a read concurrent with a write may see either value. */
Test(check, register_read_concurrent_with_a_write_sees_either_value)
{
    const char *old = INV(0, write, "1") INV(1, read, "nil") OK(1, read, "nil") OK(0, write, "1");
    const char *new = INV(0, write, "1") INV(1, read, "nil") OK(1, read, "1") OK(0, write, "1");
    cr_assert(eq(int, check(&sim_model_register, old), SIM_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_register, new), SIM_LINEARIZABLE));
}

/* Goal: two concurrent writes may take effect in either order, but every reader must see the
 * same order. Method: readers that see 1 then 2 (or 2 then 1) alone are fine; one of each at
 * once is not. */
Test(check, register_concurrent_writes_seen_in_both_orders_are_caught)
{
    const char *one = INV(0, write, "1") INV(1, write, "2") INV(2, read, "nil") OK(2, read, "1")
        INV(2, read, "nil") OK(2, read, "2") OK(0, write, "1") OK(1, write, "2");
    const char *both = INV(0, write, "1") INV(1, write, "2") INV(2, read, "nil")
        OK(2, read, "1") INV(3, read, "nil") OK(3, read, "2") INV(2, read, "nil")
            OK(2, read, "2") INV(3, read, "nil") OK(3, read, "1") OK(0, write, "1")
                OK(1, write, "2");
    cr_assert(eq(int, check(&sim_model_register, one), SIM_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_register, both), SIM_NOT_LINEARIZABLE));
}

/* Goal: of two racing cas with the same old value, only one can succeed. */
Test(check, register_cas_race_lets_one_win)
{
    const char *start = INV(0, write, "0") OK(0, write, "0");
    char one[1024], two[1024];
    snprintf(one, sizeof one, "%s%s", start,
             INV(1, cas, "[0 1]") INV(2, cas, "[0 2]") OK(1, cas, "[0 1]") FAIL(2, cas, "[0 2]")
                 INV(3, read, "nil") OK(3, read, "1"));
    snprintf(two, sizeof two, "%s%s", start,
             INV(1, cas, "[0 1]") INV(2, cas, "[0 2]") OK(1, cas, "[0 1]") OK(2, cas, "[0 2]"));
    cr_assert(eq(int, check(&sim_model_register, one), SIM_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_register, two), SIM_NOT_LINEARIZABLE));
}

/* Goal: an info write may have happened (a later read sees it) or not (a later read does
 * not), but it happens at most once and not before it was invoked. */
Test(check, register_info_operations_may_or_may_not_have_happened)
{
    const char *seen = INV(0, write, "3") INFO(0, write, "3") INV(1, read, "nil")
        OK(1, read, "3");
    const char *unseen = INV(0, write, "3") INFO(0, write, "3") INV(1, read, "nil")
        OK(1, read, "nil");
    const char *gone = INV(0, write, "3") INFO(0, write, "3") INV(1, read, "nil")
        OK(1, read, "3") INV(1, read, "nil") OK(1, read, "nil");
    const char *early = INV(1, read, "nil") OK(1, read, "3") INV(0, write, "3")
        INFO(0, write, "3");
    const char *never = INV(0, write, "3") INV(1, read, "nil") OK(1, read, "3");
    cr_assert(eq(int, check(&sim_model_register, seen), SIM_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_register, unseen), SIM_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_register, gone), SIM_NOT_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_register, early), SIM_NOT_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_register, never), SIM_LINEARIZABLE));
}

/* Goal: a failed operation certainly did not happen. */
Test(check, register_failed_write_never_happened)
{
    const char *h = INV(0, write, "3") FAIL(0, write, "3") INV(1, read, "nil") OK(1, read, "3");
    cr_assert(eq(int, check(&sim_model_register, h), SIM_NOT_LINEARIZABLE));
}

/* Goal: the report of an anomaly names the prefix, the state after it and the operations that
 * cannot follow it, with their lines. */
Test(check, register_report_shows_the_anomaly)
{
    const char *h = INV(0, write, "1") OK(0, write, "1") INV(0, write, "2") OK(0, write, "2")
        INV(1, read, "nil") OK(1, read, "1");
    sim_check_result *r = NULL;
    cr_assert(eq(int, check_jobs(&sim_model_register, h, 1, &r), SIM_NOT_LINEARIZABLE));
    const char *text = sim_check_report(r, false);
    cr_assert(eq(str, (char *)sim_check_summary(r),
                 "not linearizable (model register): 2 of 3 operations linearize, then 1 "
                 "cannot take effect"));
    cr_assert(strstr(text, "state after it: 2\n") != NULL, "%s", text);
    cr_assert(strstr(text, "line 5           line 6           read -> 1\n") != NULL, "%s", text);
    const char *json = sim_check_report(r, true);
    cr_assert(strstr(json, "\"verdict\":\"not linearizable\"") != NULL, "%s", json);
    cr_assert(strstr(json, "\"cannot_follow\":[{\"op\":2,\"process\":1,\"call\":\"read -> 1\"")
                  != NULL, "%s", json);
    sim_check_result_free(r);
}

/* ---- kv ------------------------------------------------------------------------------------- */

#define KINV(p, f, k, v) "{:process " #p ", :type :invoke, :f :" #f ", :key " k ", :value " v "}\n"
#define KOK(p, f, k, v) "{:process " #p ", :type :ok, :f :" #f ", :key " k ", :value " v "}\n"

/* Goal: appends in real-time order must appear in that order; concurrent ones in either. */
Test(check, kv_appends_out_of_order_are_caught)
{
    const char *seq = KINV(0, append, "\"x\"", "\"a\"") KOK(0, append, "\"x\"", "\"a\"")
        KINV(1, append, "\"x\"", "\"b\"") KOK(1, append, "\"x\"", "\"b\"")
            KINV(2, get, "\"x\"", "nil") KOK(2, get, "\"x\"", "\"ba\"");
    const char *conc = KINV(0, append, "\"x\"", "\"a\"") KINV(1, append, "\"x\"", "\"b\"")
        KOK(0, append, "\"x\"", "\"a\"") KOK(1, append, "\"x\"", "\"b\"")
            KINV(2, get, "\"x\"", "nil") KOK(2, get, "\"x\"", "\"ba\"");
    cr_assert(eq(int, check(&sim_model_kv, seq), SIM_NOT_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_kv, conc), SIM_LINEARIZABLE));
}

/* Goal: a missing key reads nil under kv, and nil or "" under kv-empty. */
Test(check, kv_missing_key_reads_nil_or_empty_by_option)
{
    const char *nil = KINV(0, get, "\"x\"", "nil") KOK(0, get, "\"x\"", "nil");
    const char *empty = KINV(0, get, "\"x\"", "nil") KOK(0, get, "\"x\"", "\"\"");
    cr_assert(eq(int, check(&sim_model_kv, nil), SIM_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_kv, empty), SIM_NOT_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_kv_empty, nil), SIM_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_kv_empty, empty), SIM_LINEARIZABLE));
}

/* Goal: rm removes; an rm that says :not-found saw no key, one that says :removed saw it. */
Test(check, kv_rm_removes_and_says_what_it_saw)
{
    const char *gone = KINV(0, put, "1", "5") KOK(0, put, "1", "5") KINV(0, rm, "1", "nil")
        KOK(0, rm, "1", "nil") KINV(1, get, "1", "nil") KOK(1, get, "1", "5");
    const char *found = KINV(0, put, "1", "5") KOK(0, put, "1", "5") KINV(0, rm, "1", "nil")
        KOK(0, rm, "1", ":removed") KINV(1, get, "1", "nil") KOK(1, get, "1", "nil");
    const char *missing = KINV(0, put, "1", "5") KOK(0, put, "1", "5") KINV(0, rm, "1", "nil")
        KOK(0, rm, "1", ":not-found");
    cr_assert(eq(int, check(&sim_model_kv, gone), SIM_NOT_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_kv, found), SIM_LINEARIZABLE));
    cr_assert(eq(int, check(&sim_model_kv, missing), SIM_NOT_LINEARIZABLE));
}

/* Goal: keys are independent (a key's anomaly is its own), and the report names the first
 * key, in order of appearance, that is not linearizable, whatever --jobs is. */
Test(check, kv_reports_the_first_bad_key_whatever_the_jobs)
{
    char h[8192] = "";
    for (int k = 0; k < 12; k++) {
        char key[16], ops[1024];
        snprintf(key, sizeof key, "\"k%d\"", k);
        /* Keys 5 and 9 lose their put. */
        const char *got = k == 5 || k == 9 ? "nil" : "1";
        snprintf(ops, sizeof ops,
                 "{:process 0, :type :invoke, :f :put, :key %s, :value 1}\n"
                 "{:process 0, :type :ok, :f :put, :key %s, :value 1}\n"
                 "{:process 1, :type :invoke, :f :get, :key %s, :value nil}\n"
                 "{:process 1, :type :ok, :f :get, :key %s, :value %s}\n",
                 key, key, key, key, got);
        strcat(h, ops);
    }
    sim_check_result *r1 = NULL, *r4 = NULL;
    cr_assert(eq(int, check_jobs(&sim_model_kv, h, 1, &r1), SIM_NOT_LINEARIZABLE));
    cr_assert(eq(int, check_jobs(&sim_model_kv, h, 4, &r4), SIM_NOT_LINEARIZABLE));
    cr_assert(strstr(sim_check_summary(r1), "on key \"k5\"") != NULL, "%s",
              sim_check_summary(r1));
    cr_assert(eq(str, (char *)sim_check_report(r1, false), (char *)sim_check_report(r4, false)));
    cr_assert(eq(str, (char *)sim_check_report(r1, true), (char *)sim_check_report(r4, true)));
    sim_check_result_free(r1);
    sim_check_result_free(r4);
}

/* ---- limits and errors ---------------------------------------------------------------------- */

/* Goal: a search that outgrows max_configs ends unknown, saying why. Method: 16 concurrent
 * writes and a read of a value none of them wrote make every subset of the writes a
 * configuration. */
Test(check, search_past_max_configs_is_unknown)
{
    char h[8192] = "";
    for (int p = 0; p < 16; p++) {
        char line[128];
        snprintf(line, sizeof line, "{:process %d, :type :invoke, :f :write, :value %d}\n", p, p);
        strcat(h, line);
    }
    strcat(h, INV(99, read, "nil") OK(99, read, "100"));
    for (int p = 0; p < 16; p++) {
        char line[128];
        snprintf(line, sizeof line, "{:process %d, :type :ok, :f :write, :value %d}\n", p, p);
        strcat(h, line);
    }
    sim_history *hist = edn(h);
    sim_check_desc d = {.model = &sim_model_register, .max_configs = 1000};
    sim_check_result *r = NULL;
    cr_assert(eq(int, sim_check(hist, &d, &r, NULL, 0), SIM_OK));
    cr_assert(eq(int, sim_check_verdict(r), SIM_CHECK_UNKNOWN));
    cr_assert(strstr(sim_check_summary(r), "bound of 1000 configurations") != NULL, "%s",
              sim_check_summary(r));
    sim_check_result_free(r);
    d.max_configs = 0;
    cr_assert(eq(int, sim_check(hist, &d, &r, NULL, 0), SIM_OK));
    cr_assert(eq(int, sim_check_verdict(r), SIM_NOT_LINEARIZABLE));
    sim_check_result_free(r);
    sim_history_free(hist);
}

/* n concurrent writes of 0..n-1 on a register and a read of `got`, all overlapping: with got
 * out of range no order exists and every subset of the writes is a configuration. */
static void concurrent_writes(char *h, size_t size, int n, int got)
{
    h[0] = '\0';
    char line[128];
    for (int p = 0; p < n; p++) {
        snprintf(line, sizeof line, "{:process %d, :type :invoke, :f :write, :value %d}\n", p, p);
        strncat(h, line, size - strlen(h) - 1);
    }
    snprintf(line, sizeof line, INV(99, read, "nil") "{:process 99, :type :ok, :f :read, "
                                                     ":value %d}\n", got);
    strncat(h, line, size - strlen(h) - 1);
    for (int p = 0; p < n; p++) {
        snprintf(line, sizeof line, "{:process %d, :type :ok, :f :write, :value %d}\n", p, p);
        strncat(h, line, size - strlen(h) - 1);
    }
}

/* The "steps" of a JSON report. */
static uint64_t json_steps(const sim_check_result *r)
{
    const char *at = strstr(sim_check_report(r, true), "\"steps\":");
    cr_assert(ne(ptr, (void *)at, NULL), "%s", sim_check_report(r, true));
    return strtoull(at + strlen("\"steps\":"), NULL, 10);
}

static sim_check_result *check_desc(const sim_history *h, const sim_check_desc *d)
{
    sim_check_result *r = NULL;
    char err[256] = "";
    cr_assert(eq(int, sim_check(h, d, &r, err, sizeof err), SIM_OK), "%s", err);
    return r;
}

/* Goal: max_steps is an exact, deterministic bound (issue 15, defect 13: a system's check had
 * none but host memory): a search that needs S steps gives its verdict under a bound of S
 * and is unknown under S - 1, saying so in steps, and the JSON report counts the steps.
 * Method: 12 concurrent writes and a read of a value none wrote (not linearizable), and of
 * one they wrote (linearizable); each unbounded for S, then bounded by S and S - 1. */
Test(check, max_steps_is_an_exact_bound)
{
    char text[8192];
    for (int got = 5; got <= 100; got += 95) {
        concurrent_writes(text, sizeof text, 12, got);
        sim_history *h = edn(text);
        sim_check_desc d = {.model = &sim_model_register};
        sim_check_result *r = check_desc(h, &d);
        sim_verdict want = got == 5 ? SIM_LINEARIZABLE : SIM_NOT_LINEARIZABLE;
        cr_assert(eq(int, sim_check_verdict(r), want));
        uint64_t s = json_steps(r);
        cr_assert(lt(u64, 10, s), "a search of a dozen operations takes more than 10 steps");
        sim_check_result_free(r);
        d.max_steps = s;
        r = check_desc(h, &d);
        cr_assert(eq(int, sim_check_verdict(r), want), "bound %llu", (unsigned long long)s);
        cr_assert(eq(u64, json_steps(r), s));
        sim_check_result_free(r);
        d.max_steps = s - 1;
        r = check_desc(h, &d);
        cr_assert(eq(int, sim_check_verdict(r), SIM_CHECK_UNKNOWN));
        char want_summary[128];
        snprintf(want_summary, sizeof want_summary,
                 "unknown: the search reached its bound of %llu steps (model register)",
                 (unsigned long long)(s - 1));
        cr_assert(eq(str, (char *)sim_check_summary(r), want_summary));
        cr_assert(ne(ptr, strstr(sim_check_report(r, true), "\"reason\":\"steps\""), NULL));
        sim_check_result_free(r);
        sim_history_free(h);
    }
}

/* Goal: a bound on steps is for the whole check, spent by the keys in their order, and the
 * verdict and both reports are the same bytes whatever jobs is. Method: eight keys, each
 * with concurrent puts and a get; k3 is not linearizable and the others are, of different
 * difficulty. The unbounded check gives the steps of each prefix of keys (a history of the
 * first k keys); then every bound around those sums, with jobs 1 and 4: the same reports,
 * and a verdict that is unknown exactly when the bound is below what the keys up to the
 * first anomaly need. */
Test(check, max_steps_is_spent_in_key_order_whatever_the_jobs)
{
    static const int writers[8] = {3, 9, 5, 8, 10, 2, 7, 4};
    char keys[8][4096];
    for (int k = 0; k < 8; k++) {
        keys[k][0] = '\0';
        char line[160];
        for (int p = 0; p < writers[k]; p++) {
            snprintf(line, sizeof line, "{:process %d, :type :invoke, :f :put, :key \"k%d\", "
                                        ":value \"%d\"}\n", p, k, p);
            strcat(keys[k], line);
        }
        snprintf(line, sizeof line, "{:process 99, :type :invoke, :f :get, :key \"k%d\", "
                                    ":value nil}\n{:process 99, :type :ok, :f :get, :key "
                                    "\"k%d\", :value \"%s\"}\n",
                 k, k, k == 3 ? "x" : "1");
        strcat(keys[k], line);
        for (int p = 0; p < writers[k]; p++) {
            snprintf(line, sizeof line, "{:process %d, :type :ok, :f :put, :key \"k%d\", "
                                        ":value \"%d\"}\n", p, k, p);
            strcat(keys[k], line);
        }
    }
    /* need[k]: the steps keys k0..k(k-1) take, unbounded (a report of a linearizable history
     * counts every key's steps, one of an anomaly those of its key). */
    uint64_t need[5] = {0};
    static char text[8 * 4096];
    for (int k = 1; k <= 4; k++) {
        text[0] = '\0';
        for (int j = 0; j < k; j++) strcat(text, keys[j]);
        sim_history *h = edn(text);
        sim_check_desc d = {.model = &sim_model_kv};
        sim_check_result *r = check_desc(h, &d);
        need[k] = k < 4 ? json_steps(r) : need[3] + json_steps(r);
        cr_assert(lt(u64, need[k - 1] + 1, need[k]), "key k%d takes 2 steps or more", k - 1);
        sim_check_result_free(r);
        sim_history_free(h);
    }
    text[0] = '\0';
    for (int j = 0; j < 8; j++) strcat(text, keys[j]);
    sim_history *h = edn(text);
    uint64_t bounds[] = {1,           need[1] - 1, need[1],     need[1] + 1, need[2] - 1,
                         need[2],     need[3] - 1, need[3],     need[3] + 1, need[4] - 1,
                         need[4],     need[4] + 1, need[4] * 10};
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        sim_check_desc d = {.model = &sim_model_kv, .jobs = 1, .max_steps = bounds[b]};
        sim_check_result *one = check_desc(h, &d);
        d.jobs = 4;
        sim_check_result *four = check_desc(h, &d);
        sim_verdict want = bounds[b] >= need[4] ? SIM_NOT_LINEARIZABLE : SIM_CHECK_UNKNOWN;
        cr_assert(eq(int, sim_check_verdict(one), want), "bound %llu: %s",
                  (unsigned long long)bounds[b], sim_check_summary(one));
        cr_assert(eq(int, sim_check_verdict(four), want), "bound %llu",
                  (unsigned long long)bounds[b]);
        cr_assert(eq(str, (char *)sim_check_report(one, false),
                     (char *)sim_check_report(four, false)), "bound %llu",
                  (unsigned long long)bounds[b]);
        cr_assert(eq(str, (char *)sim_check_report(one, true),
                     (char *)sim_check_report(four, true)), "bound %llu",
                  (unsigned long long)bounds[b]);
        /* The key named is the one the bound ran out in. */
        int in = bounds[b] < need[1] ? 0 : bounds[b] < need[2] ? 1 : bounds[b] < need[3] ? 2 : 3;
        char key[32];
        snprintf(key, sizeof key, "on key \"k%d\"", in);
        cr_assert(ne(ptr, strstr(sim_check_summary(one), key), NULL), "bound %llu: %s",
                  (unsigned long long)bounds[b], sim_check_summary(one));
        sim_check_result_free(one);
        sim_check_result_free(four);
    }
    sim_history_free(h);
}

/* Goal: an operation the model does not know is an input error naming its line. */
Test(check, unknown_function_is_an_error_with_its_line)
{
    sim_history *h = edn(INV(0, write, "1") OK(0, write, "1") INV(0, frob, "1"));
    sim_check_desc d = {.model = &sim_model_register};
    sim_check_result *r = NULL;
    char err[256] = "";
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_EINVAL));
    cr_assert(eq(ptr, r, NULL));
    cr_assert(eq(str, err, "line 3: the register model knows :read, :write and :cas, not :frob"));
    sim_history_free(h);
    h = edn(INV(0, cas, "5") OK(0, cas, "5"));
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_EINVAL));
    cr_assert(eq(str, err, "line 1: a :cas takes [old new], not 5"));
    sim_history_free(h);
}

/* Goal: a search that is not one of sim_check_search's is refused, with no result. */
Test(check, unknown_search_is_refused)
{
    sim_history *h = edn(INV(0, write, "1") OK(0, write, "1"));
    sim_check_desc d = {.model = &sim_model_register, .search = (sim_check_search)3};
    sim_check_result *r = NULL;
    char err[256] = "";
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_EINVAL));
    cr_assert(eq(ptr, r, NULL));
    cr_assert(eq(str, err, "the search is auto, wgl or prune, not number 3"));
    d.search = SIM_SEARCH_PRUNE;
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_OK), "%s", err);
    cr_assert(eq(int, sim_check_verdict(r), SIM_LINEARIZABLE));
    sim_check_result_free(r);
    sim_history_free(h);
}

/* Goal: entries added one by one are checked as they come; a refused entry leaves the
 * history as it was. */
Test(check, history_add_refuses_malformed_entries)
{
    sim_history *h = NULL;
    cr_assert(eq(int, sim_history_new(&h), SIM_OK));
    char err[256] = "";
    sim_history_entry ok = {.process = 1, .type = SIM_OP_OK, .f = "read", .value = "1"};
    cr_assert(eq(int, sim_history_add(h, &ok, err, sizeof err), SIM_EINVAL));
    cr_assert(strstr(err, "never invoked") != NULL, "%s", err);
    sim_history_entry inv = {.process = 1, .type = SIM_OP_INVOKE, .f = "read"};
    cr_assert(eq(int, sim_history_add(h, &inv, err, sizeof err), SIM_OK));
    cr_assert(eq(int, sim_history_add(h, &inv, err, sizeof err), SIM_EINVAL));
    cr_assert(strstr(err, "pending") != NULL, "%s", err);
    sim_history_entry other = {.process = 1, .type = SIM_OP_OK, .f = "write"};
    cr_assert(eq(int, sim_history_add(h, &other, err, sizeof err), SIM_EINVAL));
    sim_history_entry bad_f = {.process = 2, .type = SIM_OP_INVOKE, .f = "no spaces"};
    cr_assert(eq(int, sim_history_add(h, &bad_f, err, sizeof err), SIM_EINVAL));
    sim_history_entry bad_v = {.process = 2, .type = SIM_OP_INVOKE, .f = "w", .value = "1.5"};
    cr_assert(eq(int, sim_history_add(h, &bad_v, err, sizeof err), SIM_EINVAL));
    cr_assert(eq(u32, sim_history_count(h), 1));
    cr_assert(eq(int, sim_history_add(h, &ok, err, sizeof err), SIM_OK));
    char line[256];
    sim_history_edn(h, 1, line, sizeof line);
    cr_assert(eq(str, line, "{:process 1, :type :ok, :f :read, :value 1}"));
    sim_history_free(h);
}

/* Goal: a model without the parts a search needs is refused, not called. */
Test(check, incomplete_model_is_refused)
{
    sim_history *h = edn("");
    sim_model m = sim_model_register;
    m.step = NULL;
    sim_check_desc d = {.model = &m};
    sim_check_result *r = NULL;
    char err[256];
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_EINVAL));
    m = sim_model_register;
    m.state_size = SIM_MODEL_STATE_MAX + 1;
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_EINVAL));
    d.model = NULL;
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_EINVAL));
    d.model = &sim_model_kv;
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_OK));
    cr_assert(eq(str, (char *)sim_check_summary(r), "linearizable: 0 operations (model kv)"));
    sim_check_result_free(r);
    sim_history_free(h);
    cr_assert(eq(ptr, (void *)sim_model_find("kv-empty"), (void *)&sim_model_kv_empty));
    cr_assert(eq(ptr, (void *)sim_model_find("queue"), NULL));
}

/* ---- recording in a world ------------------------------------------------------------------- */

typedef struct seen {
    uint32_t events;
    size_t longest;          /* the longest history event's detail */
} seen;

static void count_history(void *ud, const sim_event *e)
{
    seen *s = ud;
    if (e->kind != SIM_EV_HISTORY) return;
    s->events++;
    if (e->detail != NULL && strlen(e->detail) > s->longest) s->longest = strlen(e->detail);
}

/* A world whose one client writes value, reads it back, then completes; returns its hash. */
static uint64_t record_write(const char *value, seen *s, sim_history **out)
{
    sim_world_desc d = {.seed = 1, .trace = count_history, .trace_ud = s};
    sim_world *w = test_world_desc(&d);
    uint32_t op = 0;
    cr_assert(eq(int, sim_history_invoke(w, 0, "write", NULL, value, &op), SIM_OK));
    cr_assert(eq(int, sim_history_complete(w, op, SIM_OP_OK, value), SIM_OK));
    cr_assert(eq(int, sim_history_invoke(w, 0, "read", NULL, NULL, &op), SIM_OK));
    cr_assert(eq(int, sim_history_complete(w, op, SIM_OP_OK, value), SIM_OK));
    cr_assert(eq(int, sim_world_history(w, out), SIM_OK));
    uint64_t hash = sim_world_trace_hash(w);
    sim_world_free(w);
    return hash;
}

/* Goal: each entry is an event whose detail is the whole entry and whose hash covers it, so
 * two runs whose clients saw values differing only in their 3,000th byte hash differently;
 * the world's history checks as linearizable. */
Test(check, world_history_events_cover_whole_values)
{
    static char a[3100], b[3100];
    memset(a, 'x', 3002);
    a[0] = '"';
    a[3001] = '"';
    memcpy(b, a, sizeof b);
    b[3000] = 'y';
    seen sa = {0}, sb = {0};
    sim_history *ha = NULL, *hb = NULL;
    uint64_t hash_a = record_write(a, &sa, &ha), hash_b = record_write(b, &sb, &hb);
    cr_assert(ne(u64, hash_a, hash_b));
    cr_assert(eq(u32, sa.events, 4));
    cr_assert(lt(sz, (size_t)3002, sa.longest), "the detail was cut at %zu bytes", sa.longest);
    cr_assert(eq(u32, sim_history_count(ha), 4));
    sim_check_desc d = {.model = &sim_model_register};
    sim_check_result *r = NULL;
    cr_assert(eq(int, sim_check(ha, &d, &r, NULL, 0), SIM_OK));
    cr_assert(eq(int, sim_check_verdict(r), SIM_LINEARIZABLE));
    sim_check_result_free(r);
    sim_history_free(ha);
    sim_history_free(hb);
}

/* Goal: misuse of the recorder is refused and recorded as a violation, and changes nothing. */
Test(check, world_history_misuse_is_a_violation)
{
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    uint32_t op = 0;
    cr_assert(eq(int, sim_history_complete(w, 7, SIM_OP_OK, NULL), SIM_EINVAL));
    cr_assert(eq(int, sim_history_invoke(w, 0, "write", NULL, "1.5", &op), SIM_EINVAL));
    cr_assert(eq(int, sim_history_invoke(w, 0, "write", NULL, "1", &op), SIM_OK));
    cr_assert(eq(int, sim_history_invoke(w, 0, "read", NULL, NULL, &op), SIM_EINVAL));
    cr_assert(eq(int, sim_history_complete(w, 0, SIM_OP_INVOKE, NULL), SIM_EINVAL));
    cr_assert(eq(int, sim_history_complete(w, 0, SIM_OP_INFO, NULL), SIM_OK));
    cr_assert(eq(int, sim_history_complete(w, 0, SIM_OP_OK, NULL), SIM_EINVAL));
    cr_assert(eq(u32, test_violations(w, SIM_VIOLATION_MISUSE), 5));
    sim_history *h = NULL;
    cr_assert(eq(int, sim_world_history(w, &h), SIM_OK));
    cr_assert(eq(u32, sim_history_count(h), 2));
    sim_history_free(h);
    sim_world_free(w);
}

/* ---- rounds: the first provable anomaly -------------------------------------------------- */

/* Key "a" is hard: `writes` concurrent writes, then a read of a value never written, so the
 * search tries every subset of the writes (2^writes configurations) before it knows. Key "b",
 * after it in the history, is plainly not linearizable: it reads 1 after 2 overwrote it. */
static sim_history *hard_then_bad(int writes)
{
    char *h = calloc(1, 16384);
    for (int p = 0; p < writes; p++) {
        sprintf(h + strlen(h), "{:process %d, :type :invoke, :f :write, :key \"a\", :value %d}\n",
                p, p);
    }
    strcat(h, "{:process 99, :type :invoke, :f :read, :key \"a\", :value nil}\n"
              "{:process 99, :type :ok, :f :read, :key \"a\", :value 100}\n");
    for (int p = 0; p < writes; p++) {
        sprintf(h + strlen(h), "{:process %d, :type :ok, :f :write, :key \"a\", :value %d}\n", p,
                p);
    }
    strcat(h, "{:process 98, :type :invoke, :f :write, :key \"b\", :value 1}\n"
              "{:process 98, :type :ok, :f :write, :key \"b\", :value 1}\n"
              "{:process 98, :type :invoke, :f :write, :key \"b\", :value 2}\n"
              "{:process 98, :type :ok, :f :write, :key \"b\", :value 2}\n"
              "{:process 97, :type :invoke, :f :read, :key \"b\", :value nil}\n"
              "{:process 97, :type :ok, :f :read, :key \"b\", :value 1}\n");
    sim_history *hist = edn(h);
    free(h);
    return hist;
}

/* Goal: a plainly bad key after a hard one is found without first exhausting the hard one
 * (which needs millions of steps: here the whole check may take 100,000), it is the key
 * named, the hard key is named as left undecided, and the report is the same bytes with one
 * job and with two. */
Test(check, bad_key_after_a_hard_key_is_found_first)
{
    sim_history *hist = hard_then_bad(22);
    char *text[2] = {NULL, NULL};
    for (uint32_t jobs = 1; jobs <= 2; jobs++) {
        sim_check_desc d = {.model = &sim_model_register, .jobs = jobs, .max_steps = 100000};
        sim_check_result *r = NULL;
        cr_assert(eq(int, sim_check(hist, &d, &r, NULL, 0), SIM_OK));
        cr_assert(eq(int, sim_check_verdict(r), SIM_NOT_LINEARIZABLE), "%s",
                  sim_check_summary(r));
        cr_assert(strstr(sim_check_summary(r), "on key \"b\"") != NULL, "%s",
                  sim_check_summary(r));
        const char *json = sim_check_report(r, true);
        cr_assert(strstr(json, "\"undecided\":[\"\\\"a\\\"\"]") != NULL, "%s", json);
        cr_assert(strstr(sim_check_report(r, false), "1 key left undecided") != NULL, "%s",
                  sim_check_report(r, false));
        text[jobs - 1] = strdup(json);
        sim_check_result_free(r);
    }
    cr_assert(eq(str, text[0], text[1]));
    free(text[0]);
    free(text[1]);
    sim_history_free(hist);
}

/* Goal: --all-keys decides every key: the verdict still names the first anomaly found ("b",
 * found in the first round while "a" is still searching), and the report lists both keys
 * that are not linearizable, nothing undecided; the same with one job and two. */
Test(check, all_keys_decides_every_key)
{
    sim_history *hist = hard_then_bad(12);
    for (uint32_t jobs = 1; jobs <= 2; jobs++) {
        sim_check_desc d = {.model = &sim_model_register, .jobs = jobs, .all_keys = true,
                            .round_steps = 64};
        sim_check_result *r = NULL;
        cr_assert(eq(int, sim_check(hist, &d, &r, NULL, 0), SIM_OK));
        cr_assert(eq(int, sim_check_verdict(r), SIM_NOT_LINEARIZABLE));
        cr_assert(strstr(sim_check_summary(r), "on key \"b\"") != NULL, "%s",
                  sim_check_summary(r));
        const char *json = sim_check_report(r, true);
        cr_assert(strstr(json, "\"undecided\":[]") != NULL, "%s", json);
        const char *both = "\"keys_not_linearizable\":[\"\\\"a\\\"\",\"\\\"b\\\"\"]";
        cr_assert(strstr(json, both) != NULL, "%s", json);
        sim_check_result_free(r);
    }
    sim_history_free(hist);
}

/* Goal: --max-memory holds: on the hard key alone, a limit of 1 MiB ends the check unknown,
 * saying so with the figure, and what the check held (counted) never passed it; with the
 * default limit the same history is decided. */
Test(check, max_memory_holds)
{
    sim_history *hist = hard_then_bad(16);
    sim_check_desc d = {.model = &sim_model_register, .jobs = 2, .max_memory = 1u << 20,
                        .all_keys = true};
    sim_check_result *r = NULL;
    cr_assert(eq(int, sim_check(hist, &d, &r, NULL, 0), SIM_OK));
    /* Key "b" is still found; key "a" could not be decided within the limit. */
    cr_assert(eq(int, sim_check_verdict(r), SIM_NOT_LINEARIZABLE), "%s", sim_check_summary(r));
    sim_check_result_free(r);
    d.all_keys = false;
    sim_history *only_a = NULL;
    /* The hard key alone. */
    char h[8192] = "";
    for (int p = 0; p < 16; p++) {
        sprintf(h + strlen(h), "{:process %d, :type :invoke, :f :write, :value %d}\n", p, p);
    }
    strcat(h, INV(99, read, "nil") OK(99, read, "100"));
    for (int p = 0; p < 16; p++) {
        sprintf(h + strlen(h), "{:process %d, :type :ok, :f :write, :value %d}\n", p, p);
    }
    only_a = edn(h);
    cr_assert(eq(int, sim_check(only_a, &d, &r, NULL, 0), SIM_OK));
    cr_assert(eq(int, sim_check_verdict(r), SIM_CHECK_UNKNOWN), "%s", sim_check_summary(r));
    cr_assert(strstr(sim_check_summary(r), "memory limit of 1048576 bytes") != NULL, "%s",
              sim_check_summary(r));
    const char *json = sim_check_report(r, true);
    const char *peak = strstr(json, "\"memory_peak\":");
    cr_assert(peak != NULL, "%s", json);
    unsigned long long held = strtoull(peak + strlen("\"memory_peak\":"), NULL, 10);
    cr_assert(le(u64, (uint64_t)held, 1ull << 20), "%s", json);
    cr_assert(lt(u64, 0ull, (uint64_t)held), "%s", json);
    sim_check_result_free(r);
    d.max_memory = 0;
    cr_assert(eq(int, sim_check(only_a, &d, &r, NULL, 0), SIM_OK));
    cr_assert(eq(int, sim_check_verdict(r), SIM_NOT_LINEARIZABLE), "%s", sim_check_summary(r));
    sim_check_result_free(r);
    sim_history_free(only_a);
    sim_history_free(hist);
}

/* ---- Jepsen's log lines --------------------------------------------------------------------- */

/* Goal: a history of Jepsen's log lines (as Porcupine ships etcd's: the logger's prefix, then
 * process, type, function and value apart by tabs) reads as the same maps would: the
 * nemesis's lines skipped, an info completion's value ignored, the verdict the same. */
Test(check, jepsen_log_lines_read_as_maps)
{
    const char *log = "INFO  jepsen.util - 0\t:invoke\t:write\t4\n"
                      "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n"
                      "INFO  jepsen.util - 0\t:ok\t:write\t4\n"
                      "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"
                      "INFO  jepsen.util - 1\t:ok\t:read\t4\n"
                      "\n"
                      "INFO  jepsen.util - 2\t:invoke\t:cas\t[4 0]\n"
                      "INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n"
                      "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n"
                      "INFO  jepsen.util - 3\t:ok\t:read\t0\n";
    sim_history *h = NULL;
    char err[256] = "";
    cr_assert(eq(int, sim_history_parse_edn("etcd.log", log, &h, err, sizeof err), SIM_OK), "%s",
              err);
    cr_assert(eq(u32, sim_history_count(h), 8));
    sim_check_desc d = {.model = &sim_model_register};
    sim_check_result *r = NULL;
    cr_assert(eq(int, sim_check(h, &d, &r, NULL, 0), SIM_OK));
    cr_assert(eq(int, sim_check_verdict(r), SIM_LINEARIZABLE), "%s", sim_check_summary(r));
    sim_check_result_free(r);
    sim_history_free(h);
}

/* Goal: a bad log line is refused with the file, line and column of the problem. */
Test(check, jepsen_log_line_errors_name_line_and_column)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\n",
         "h.log:2:27: expected a log line"},
        {"INFO  jepsen.util - x\t:invoke\t:read\tnil\n", "h.log:1:21: :process must be"},
        {"INFO  jepsen.util - 1\t:begin\t:read\tnil\n", "h.log:1:23: :type must be"},
        {"INFO  jepsen.util - 1\t:invoke\t:read\t1.5\n", "h.log:1:37: floats are not supported"},
        {"INFO  jepsen.util - 1\t:invoke\t:read\tnil 3\n", "h.log:1:41: unexpected text after"},
        {"INFO  jepsen.util - 1\t:ok\t:read\tnil\n", "h.log:1: process 1 completes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_history *h = NULL;
        char err[512] = "";
        cr_assert(eq(int, sim_history_parse_edn("h.log", cases[i].text, &h, err, sizeof err),
                     SIM_EINVAL), "case %zu", i);
        cr_assert(eq(ptr, h, NULL));
        cr_assert(strncmp(err, cases[i].want, strlen(cases[i].want)) == 0, "case %zu: %s", i,
                  err);
    }
}

/* Goal: the limit holds for the values a model makes too: sixteen in-doubt appends of
 * different strings and a get no order explains make the kv model intern a string for every
 * order it tries; under a limit of 256 KiB the check pauses the search when the value table
 * would pass its share, ends unknown with the figure, and what it held stayed within it. */
Test(check, max_memory_holds_for_appended_values)
{
    char *h = calloc(1, 16384);
    for (int p = 0; p < 16; p++) {
        sprintf(h + strlen(h),
                "{:process %d, :type :invoke, :f :append, :key \"k\", :value \"%c%c%c%c\"}\n", p,
                'a' + p, 'a' + p, 'a' + p, 'a' + p);
    }
    strcat(h, "{:process 99, :type :invoke, :f :get, :key \"k\", :value nil}\n"
              "{:process 99, :type :ok, :f :get, :key \"k\", :value \"zz\"}\n");
    for (int p = 0; p < 16; p++) {
        sprintf(h + strlen(h), "{:process %d, :type :info, :f :append, :key \"k\", :value nil}\n",
                p);
    }
    sim_history *hist = edn(h);
    free(h);
    for (uint32_t jobs = 1; jobs <= 2; jobs++) {
        sim_check_desc d = {.model = &sim_model_kv, .jobs = jobs, .max_memory = 256u << 10,
                            .max_steps = 50000000};
        sim_check_result *r = NULL;
        cr_assert(eq(int, sim_check(hist, &d, &r, NULL, 0), SIM_OK));
        cr_assert(eq(int, sim_check_verdict(r), SIM_CHECK_UNKNOWN), "%s", sim_check_summary(r));
        cr_assert(strstr(sim_check_summary(r), "memory limit of 262144 bytes") != NULL, "%s",
                  sim_check_summary(r));
        const char *json = sim_check_report(r, true);
        const char *peak = strstr(json, "\"memory_peak\":");
        cr_assert(peak != NULL, "%s", json);
        uint64_t held = strtoull(peak + strlen("\"memory_peak\":"), NULL, 10);
        cr_assert(le(u64, held, 256ull << 10), "%s", json);
        sim_check_result_free(r);
    }
    sim_history_free(hist);
}

/* Goal: the limit holds where tables take whole 2 MiB units (from 64 KiB on): the hard key
 * alone, under a limit of 5 MiB, grows past its first units and ends unknown at the limit,
 * and what it held, counted in units, stayed within it, with one job and with two. */
Test(check, max_memory_holds_in_units)
{
    char h[8192] = "";
    for (int p = 0; p < 18; p++) {
        sprintf(h + strlen(h), "{:process %d, :type :invoke, :f :write, :value %d}\n", p, p);
    }
    strcat(h, INV(99, read, "nil") OK(99, read, "100"));
    for (int p = 0; p < 18; p++) {
        sprintf(h + strlen(h), "{:process %d, :type :ok, :f :write, :value %d}\n", p, p);
    }
    sim_history *hist = edn(h);
    for (uint32_t jobs = 1; jobs <= 2; jobs++) {
        sim_check_desc d = {.model = &sim_model_register, .jobs = jobs, .max_memory = 5u << 20};
        sim_check_result *r = NULL;
        cr_assert(eq(int, sim_check(hist, &d, &r, NULL, 0), SIM_OK));
        cr_assert(eq(int, sim_check_verdict(r), SIM_CHECK_UNKNOWN), "%s", sim_check_summary(r));
        cr_assert(strstr(sim_check_summary(r), "memory limit of 5242880 bytes") != NULL, "%s",
                  sim_check_summary(r));
        const char *json = sim_check_report(r, true);
        const char *peak = strstr(json, "\"memory_peak\":");
        cr_assert(peak != NULL, "%s", json);
        uint64_t held = strtoull(peak + strlen("\"memory_peak\":"), NULL, 10);
        cr_assert(le(u64, held, 5ull << 20), "%s", json);
        cr_assert(le(u64, 2ull << 20, held), "%s", json);
        sim_check_result_free(r);
    }
    sim_history_free(hist);
}
