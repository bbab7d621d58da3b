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
