/*
 * test_check_brute.c: the fast checker agrees with an exhaustive one. Small random histories
 * come from a simulated concurrent object (so they are linearizable), half of them are then
 * mutated (a read returns another value, a failed cas claims success); an independent search
 * that tries every order allowed by real time, with its own copy of each model's rules and
 * without splitting keys, decides each one, and sim_check must say the same. The generator,
 * the mutations and the exhaustive search are in tests/brute.c, shared with
 * fuzz/check_brute.c.
 */
#include "../brute.h"
#include "../helpers.h"

/* The generator's choices: splitmix64 from a seed. */
static uint64_t rng_next(void *ud)
{
    uint64_t *s = ud;
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ---- the test ------------------------------------------------------------------------------- */

/* How sim_check searches: one job, first rounds of 16,384 steps (every key of these small
 * histories decided in the first); or two jobs and rounds of 1, 2, 3, 5, 8, ... steps, so
 * that keys pause and resume at every point of their search and take their rounds in turns. */
typedef struct how {
    uint32_t jobs;
    uint64_t round_steps;
    int values;              /* inputs drawn from this many values; 0: 3 */
    int *twins;              /* if not NULL, counts the histories with in-doubt twins */
} how;

/* Has h two in-doubt operations just alike (the same update of the same key with the same
 * input: sim's twins; info reads are left out, so they are none)? */
static bool has_twins(const brute_hist *h)
{
    for (int i = 0; i < h->n; i++) {
        const brute_op *a = &h->ops[i];
        if (a->done != BRUTE_INFO || a->f == BRUTE_READ || a->f == BRUTE_GET) continue;
        for (int j = i + 1; j < h->n; j++) {
            const brute_op *b = &h->ops[j];
            if (b->done == BRUTE_INFO && b->f == a->f && b->key == a->key && b->in == a->in &&
                (a->f != BRUTE_CAS || b->in2 == a->in2)) {
                return true;
            }
        }
    }
    return false;
}

static void agree_how(bool kv, sim_check_search search, uint64_t seed, int rounds, int *bad,
                      how hw)
{
    uint64_t state = seed;
    brute_source s = {rng_next, &state};
    for (int round = 0; round < rounds; round++) {
        brute_hist h;
        brute_generate_values(&h, kv, hw.values ? hw.values : 3, &s);
        if (hw.twins != NULL) *hw.twins += has_twins(&h);
        if (brute_pick(&s, 2) == 0) brute_mutate(&h, &s);
        char text[4096];
        brute_to_edn(&h, text, sizeof text);
        bool expect = brute_linearizable(&h);
        *bad += !expect;
        sim_history *parsed = NULL;
        char err[256] = "";
        cr_assert(eq(int, sim_history_parse_edn("gen.edn", text, &parsed, err, sizeof err),
                     SIM_OK), "%s\n%s", err, text);
        sim_check_desc d = {.model = kv ? &sim_model_kv : &sim_model_register, .search = search,
                            .jobs = hw.jobs, .round_steps = hw.round_steps};
        sim_check_result *r = NULL;
        cr_assert(eq(int, sim_check(parsed, &d, &r, err, sizeof err), SIM_OK), "%s", err);
        sim_verdict v = sim_check_verdict(r);
        cr_assert(eq(int, v, expect ? SIM_LINEARIZABLE : SIM_NOT_LINEARIZABLE),
                  "round %d: the exhaustive search says %s, sim_check: %s\n%s", round,
                  expect ? "linearizable" : "not", sim_check_summary(r), text);
        sim_check_result_free(r);
        sim_history_free(parsed);
    }
}

static void agree(bool kv, sim_check_search search, uint64_t seed, int rounds, int *bad)
{
    agree_how(kv, search, seed, rounds, bad, (how){1, 0, 0, NULL});
}

/* Goal: on 5,000 random register histories (read, write, cas; info and fail outcomes), half
 * of them mutated, sim_check agrees with the exhaustive search; both verdicts occur often. */
Test(check_brute, register_agrees_with_exhaustive_search)
{
    int bad = 0;
    agree(false, SIM_SEARCH_AUTO, 1, 5000, &bad);
    cr_assert(lt(int, 500, bad), "only %d of 5000 histories are not linearizable", bad);
    cr_assert(lt(int, bad, 4500), "%d of 5000 histories are not linearizable", bad);
}

/* Goal: the same for the kv model on two keys (get, put, append, rm), checked per key by
 * sim_check and as a whole by the exhaustive search. */
Test(check_brute, kv_agrees_with_exhaustive_search)
{
    int bad = 0;
    agree(true, SIM_SEARCH_AUTO, 2, 5000, &bad);
    cr_assert(lt(int, 500, bad), "only %d of 5000 histories are not linearizable", bad);
    cr_assert(lt(int, bad, 4500), "%d of 5000 histories are not linearizable", bad);
}

/* Goal: the prune search, which skips configurations where an info operation's effect was
 * erased unseen, agrees with the exhaustive search too, on other histories of both models.
 * (These histories are too short for the auto search to turn to it by itself.) */
Test(check_brute, prune_search_agrees_with_exhaustive_search)
{
    int bad = 0;
    agree(false, SIM_SEARCH_PRUNE, 3, 5000, &bad);
    agree(true, SIM_SEARCH_PRUNE, 4, 5000, &bad);
    cr_assert(lt(int, 1000, bad), "only %d of 10000 histories are not linearizable", bad);
}

/* Goal: the plain search (Porcupine's, never pruning) agrees as well. */
Test(check_brute, wgl_search_agrees_with_exhaustive_search)
{
    int bad = 0;
    agree(false, SIM_SEARCH_WGL, 5, 2000, &bad);
    agree(true, SIM_SEARCH_WGL, 6, 2000, &bad);
    cr_assert(lt(int, 400, bad), "only %d of 4000 histories are not linearizable", bad);
}

/* Goal: searched in rounds of 1, 2, 3, 5, 8, ... steps with two jobs, each key pausing and
 * resuming all through its search (the auto search's turn to prune and back included), sim_check
 * still agrees with the exhaustive search, on histories of both models. */
Test(check_brute, rounds_agree_with_exhaustive_search)
{
    int bad = 0;
    how rounds = {2, 1, 0, NULL};
    agree_how(false, SIM_SEARCH_AUTO, 7, 2000, &bad, rounds);
    agree_how(true, SIM_SEARCH_AUTO, 8, 2000, &bad, rounds);
    agree_how(true, SIM_SEARCH_PRUNE, 9, 1000, &bad, rounds);
    cr_assert(lt(int, 500, bad), "only %d of 5000 histories are not linearizable", bad);
}

/* Goal: the in-doubt twins reduction (two info operations just alike are placed in the order
 * they were invoked) loses no order. Method: inputs drawn from one value, so that in-doubt
 * writes, cas and appends are mostly alike: 320 of the 6,000 histories have twins (in doubt
 * operations are few in these histories; the count is asserted, so that the test cannot
 * pass by never meeting one); the verdict agrees
 * with the exhaustive search, which knows nothing of twins, with one job and in rounds of
 * 1, 2, 3, 5, 8, ... steps, for each search. */
Test(check_brute, twins_agree_with_exhaustive_search)
{
    int bad = 0, twins = 0;
    how one = {1, 0, 1, &twins}, rounds = {2, 1, 1, &twins};
    agree_how(false, SIM_SEARCH_AUTO, 21, 2000, &bad, one);
    agree_how(true, SIM_SEARCH_AUTO, 22, 2000, &bad, one);
    agree_how(false, SIM_SEARCH_PRUNE, 23, 1000, &bad, rounds);
    agree_how(true, SIM_SEARCH_WGL, 24, 1000, &bad, rounds);
    cr_assert(le(int, 300, twins), "only %d of 6000 histories have in-doubt twins", twins);
    cr_assert(lt(int, 300, bad), "only %d of 6000 histories are not linearizable", bad);
    cr_assert(lt(int, bad, 5700), "%d of 6000 histories are not linearizable", bad);
}

/* ---- the order keys are searched in --------------------------------------------------------- */

/* The part of h on one key, for the exhaustive search (which does not split keys itself). */
static brute_hist only_key(const brute_hist *h, int key)
{
    brute_hist k = *h;
    k.n = 0;
    for (int i = 0; i < h->n; i++) {
        if (h->ops[i].key == key) k.ops[k.n++] = h->ops[i];
    }
    return k;
}

static sim_check_result *check_kv(sim_history *h, uint32_t jobs, uint64_t round_steps,
                                  bool all_keys)
{
    sim_check_desc d = {.model = &sim_model_kv, .jobs = jobs, .round_steps = round_steps,
                        .all_keys = all_keys};
    sim_check_result *r = NULL;
    char err[256] = "";
    cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_OK), "%s", err);
    return r;
}

/* Goal: the search in rounds over keys names a key that is not linearizable, and is the same
 * whatever the jobs; with all_keys, it lists exactly the keys the exhaustive search finds not
 * linearizable, each key decided alone. Method: 3,000 random kv histories on two keys, half
 * mutated (one claim: so one key), checked in rounds of 1, 2, 3, 5, 8, ... steps (so the
 * keys take their rounds in turns) with one job and two, and with all_keys; the keys'
 * verdicts come from the exhaustive search on each key's part. */
Test(check_brute, key_order_agrees_with_exhaustive_search_per_key)
{
    uint64_t state = 31;
    brute_source s = {rng_next, &state};
    int named[2] = {0, 0};
    for (int round = 0; round < 3000; round++) {
        brute_hist h;
        brute_generate(&h, true, &s);
        if (brute_pick(&s, 2) == 0) brute_mutate(&h, &s);
        bool bad[2];
        for (int k = 0; k < 2; k++) {
            brute_hist part = only_key(&h, k);
            bad[k] = !brute_linearizable(&part);
        }
        char text[4096], err[256] = "";
        brute_to_edn(&h, text, sizeof text);
        sim_history *parsed = NULL;
        cr_assert(eq(int, sim_history_parse_edn("gen.edn", text, &parsed, err, sizeof err),
                     SIM_OK), "%s", err);
        sim_check_result *one = check_kv(parsed, 1, 1, false), *two = check_kv(parsed, 2, 1, false);
        cr_assert(eq(str, (char *)sim_check_report(one, true), (char *)sim_check_report(two, true)),
                  "%s", text);
        const char *sum = sim_check_summary(one);
        cr_assert(eq(int, sim_check_verdict(one), bad[0] || bad[1] ? SIM_NOT_LINEARIZABLE
                                                                    : SIM_LINEARIZABLE),
                  "%s\n%s", sum, text);
        if (bad[0] || bad[1]) {
            bool named0 = strstr(sum, "on key 0 ") != NULL;
            bool named1 = strstr(sum, "on key 1 ") != NULL;
            cr_assert(named0 != named1 && (named0 ? bad[0] : bad[1]), "%s\n%s", sum, text);
            named[named1]++;
            sim_check_result *all = check_kv(parsed, 2, 1, true);
            char want[128];
            snprintf(want, sizeof want, "\"keys_not_linearizable\":[%s%s%s]", bad[0] ? "\"0\"" : "",
                     bad[0] && bad[1] ? "," : "", bad[1] ? "\"1\"" : "");
            cr_assert(strstr(sim_check_report(all, true), want) != NULL, "%s\n%s",
                      sim_check_report(all, true), text);
            sim_check_result_free(all);
        }
        sim_check_result_free(one);
        sim_check_result_free(two);
        sim_history_free(parsed);
    }
    /* A mutation makes one key wrong: each is the one named often. */
    cr_assert(lt(int, 300, named[0]), "key 0 named only %d times of 3000", named[0]);
    cr_assert(lt(int, 300, named[1]), "key 1 named only %d times of 3000", named[1]);
}

/* ---- commutative updates: a counter's in-doubt increments ----------------------------------- */

/* A counter with add (of 1 or 2) and read, its operations alike: in-doubt adds of the same
 * amount are the twins the search places in invocation order, the reduction that makes 29
 * in-doubt increments cost 30 counts instead of 2^29 subsets. */
typedef struct counter_state {
    int64_t n;
} counter_state;

static bool counter_prepare(sim_check_ctx *c, sim_op *op, char *err, size_t err_size)
{
    (void)err;
    (void)err_size;
    op->code = op->f == sim_check_keyword(c, "add") ? 1 : 2;
    op->skip = op->code == 2 && op->output == SIM_VALUE_UNKNOWN;
    op->pure = op->code == 2;
    op->alike = true;
    return true;
}

static void counter_init(sim_check_ctx *c, void *state)
{
    (void)c;
    memset(state, 0, sizeof(counter_state));
}

static bool counter_step(sim_check_ctx *c, const void *state, const sim_op *op, void *next)
{
    const counter_state *s = state;
    counter_state *t = next;
    *t = *s;
    if (op->code == 2) return sim_check_value(c, op->output).i == s->n;
    t->n += sim_check_value(c, op->input).i;
    return true;
}

static void counter_describe(const sim_check_ctx *c, const void *state, char *buf, size_t size)
{
    (void)c;
    snprintf(buf, size, "%lld", (long long)((const counter_state *)state)->n);
}

static const sim_model counter_model = {
    .name = "counter", .summary = "add and read", .whole = true,
    .state_size = sizeof(counter_state), .prepare = counter_prepare, .init = counter_init,
    .step = counter_step, .describe = counter_describe};

#define CTR_MAX 8

typedef struct ctr_op {
    bool read;
    int amount;              /* add: 1 or 2; read: what it returned */
    bool ok;                 /* else in doubt (info) */
    int call, ret;           /* positions; ret INT32_MAX for info */
} ctr_op;

/* Every order real time allows, info operations placed or not. */
static bool ctr_search(const ctr_op *ops, int n, bool *placed, int64_t count)
{
    int first_ret = INT32_MAX;
    bool all = true;
    for (int i = 0; i < n; i++) {
        if (placed[i] || !ops[i].ok) continue;
        all = false;
        if (ops[i].ret < first_ret) first_ret = ops[i].ret;
    }
    if (all) return true;
    for (int i = 0; i < n; i++) {
        if (placed[i] || ops[i].call > first_ret) continue;
        if (ops[i].read && ops[i].amount != count) continue;
        placed[i] = true;
        bool found = ctr_search(ops, n, placed, count + (ops[i].read ? 0 : ops[i].amount));
        placed[i] = false;
        if (found) return true;
    }
    return false;
}

/* A history of up to CTR_MAX operations by 3 processes on a true counter, as EDN; adds in
 * doubt often (a third of them), half the histories with one read off by one. */
static bool ctr_generate(brute_source *s, char *text, size_t size)
{
    ctr_op ops[CTR_MAX];
    int n = 2 + brute_pick(s, CTR_MAX - 1), pos = 0, started = 0;
    int cur[3] = {-1, -1, -1};
    bool applied[CTR_MAX] = {false};
    int64_t truth = 0;
    char lines[2 * CTR_MAX][96];
    int at[2 * CTR_MAX];
    int nl = 0;
    while (started < n || cur[0] >= 0 || cur[1] >= 0 || cur[2] >= 0) {
        int p = brute_pick(s, 3), i = cur[p];
        if (i < 0) {
            if (started >= n) continue;
            i = cur[p] = started++;
            ops[i] = (ctr_op){.read = brute_pick(s, 3) == 0, .amount = 1 + brute_pick(s, 2),
                              .call = pos++};
            snprintf(lines[nl], sizeof lines[nl], "{:process %d, :type :invoke, :f :%s, :value %s}",
                     p, ops[i].read ? "read" : "add",
                     ops[i].read ? "nil" : ops[i].amount == 1 ? "1" : "2");
            at[nl++] = ops[i].call;
        } else if (!applied[i]) {
            applied[i] = true;
            if (ops[i].read) ops[i].amount = (int)truth;
            if (!ops[i].read) truth += ops[i].amount;
        } else {
            ops[i].ok = ops[i].read || brute_pick(s, 3) != 0;
            ops[i].ret = ops[i].ok ? pos : INT32_MAX;
            char v[16];
            snprintf(v, sizeof v, "%d", ops[i].amount);
            snprintf(lines[nl], sizeof lines[nl], "{:process %d, :type :%s, :f :%s, :value %s}", p,
                     ops[i].ok ? "ok" : "info", ops[i].read ? "read" : "add", v);
            at[nl++] = pos++;
            cur[p] = -1;
        }
    }
    int reads = 0;
    for (int i = 0; i < n; i++) reads += ops[i].read;
    if (reads > 0 && brute_pick(s, 2) == 0) {
        int k = brute_pick(s, reads);
        for (int i = 0; i < n; i++) {
            if (!ops[i].read || k-- != 0) continue;
            ops[i].amount += 1;
            for (int l = 0; l < nl; l++) {
                if (at[l] != ops[i].ret) continue;
                char *v = strstr(lines[l], ":value ");
                snprintf(v, sizeof lines[l] - (size_t)(v - lines[l]), ":value %d}", ops[i].amount);
            }
            break;
        }
    }
    text[0] = '\0';
    for (int l = 0; l < nl; l++) {
        strncat(text, lines[l], size - strlen(text) - 2);
        strcat(text, "\n");
    }
    bool placed[CTR_MAX] = {false};
    return ctr_search(ops, n, placed, 0);
}

/* Goal: the in-doubt twins reduction on a commutative update (a counter's adds: the same
 * amount, in doubt, are twins) loses no order. Method: 6,000 random counter histories with
 * many in-doubt adds, half with a read made wrong by one; sim_check (one job, and rounds of
 * 1, 2, 3, 5, ... steps with two) says what an exhaustive search says, which knows nothing of
 * twins; both verdicts, and histories with twins, occur often (counted and asserted). */
Test(check_brute, counter_twins_agree_with_exhaustive_search)
{
    uint64_t state = 41;
    brute_source s = {rng_next, &state};
    int bad = 0, twins = 0;
    for (int round = 0; round < 6000; round++) {
        char text[4096], err[256] = "";
        bool expect = ctr_generate(&s, text, sizeof text);
        bad += !expect;
        const char *a = strstr(text, ":type :info, :f :add, :value 1");
        const char *b = a ? strstr(a + 1, ":type :info, :f :add, :value 1") : NULL;
        twins += b != NULL;
        sim_history *h = NULL;
        cr_assert(eq(int, sim_history_parse_edn("ctr.edn", text, &h, err, sizeof err), SIM_OK),
                  "%s\n%s", err, text);
        sim_check_desc d = {.model = &counter_model, .jobs = round % 2 ? 2 : 1,
                            .round_steps = round % 2 ? 1 : 0};
        sim_check_result *r = NULL;
        cr_assert(eq(int, sim_check(h, &d, &r, err, sizeof err), SIM_OK), "%s", err);
        cr_assert(eq(int, sim_check_verdict(r), expect ? SIM_LINEARIZABLE : SIM_NOT_LINEARIZABLE),
                  "round %d: the exhaustive search says %s, sim_check: %s\n%s", round,
                  expect ? "linearizable" : "not", sim_check_summary(r), text);
        sim_check_result_free(r);
        sim_history_free(h);
    }
    cr_assert(lt(int, 600, bad), "only %d of 6000 histories are not linearizable", bad);
    cr_assert(lt(int, bad, 5400), "%d of 6000 histories are not linearizable", bad);
    cr_assert(lt(int, 600, twins), "only %d of 6000 histories have in-doubt twins", twins);
}
