/*
 * check_brute.c: the linearizability checker against an exhaustive one.
 *
 * The input's bytes are the choices of tests/brute.c's generator (the one
 * tests/unit/test_check_brute.c drives from a seeded generator): the model (register, or kv on
 * two keys), the search (auto, wgl, prune), up to BRUTE_MAX_OPS operations by three processes
 * on a simulated object, how each ends (ok, fail, info, never), and up to three mutations
 * that may make a claim false. Past the input's end the choices come from splitmix64 seeded
 * with the input's length, as the unit test's do (a constant would let the generator pick an
 * idle process forever). The exhaustive search
 * decides the history; sim_check, under the chosen search and with one or two jobs, must say
 * the same, and never unknown (the histories are tiny).
 */
#include "fuzz.h"

#include "../tests/brute.h"

typedef struct bytes {
    const uint8_t *data;
    size_t size;
    size_t pos;
    uint64_t rng; /* splitmix64's state, once the bytes run out */
} bytes;

static uint64_t next_choice(void *ud)
{
    bytes *b = ud;
    if (b->pos < b->size) return b->data[b->pos++];
    uint64_t x = (b->rng += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bytes b = {data, size, 0, size};
    brute_source s = {next_choice, &b};
    int head = brute_pick(&s, 256);
    bool kv = (head & 1) != 0;
    sim_check_search search = (sim_check_search)((head >> 1) % 3);
    uint32_t jobs = (uint32_t)((head >> 3) & 1) + 1;
    brute_hist h;
    brute_generate(&h, kv, &s);
    int mutations = brute_pick(&s, 4);
    for (int i = 0; i < mutations; i++) brute_mutate(&h, &s);
    char text[4096];
    brute_to_edn(&h, text, sizeof text);
    bool expect = brute_linearizable(&h);
    sim_history *parsed = NULL;
    char err[256] = "";
    int rc = sim_history_parse_edn("gen.edn", text, &parsed, err, sizeof err);
    FUZZ_CHECK(rc == SIM_OK, "a generated history does not parse: %s\n%s", err, text);
    sim_check_desc d = {.model = kv ? &sim_model_kv : &sim_model_register, .jobs = jobs,
                        .search = search};
    sim_check_result *r = NULL;
    rc = sim_check(parsed, &d, &r, err, sizeof err);
    FUZZ_CHECK(rc == SIM_OK, "sim_check refused a generated history: %s\n%s", err, text);
    sim_verdict v = sim_check_verdict(r);
    FUZZ_CHECK(v == (expect ? SIM_LINEARIZABLE : SIM_NOT_LINEARIZABLE),
               "search %d: the exhaustive search says %s, sim_check: %s\n%s", (int)search,
               expect ? "linearizable" : "not linearizable", sim_check_summary(r), text);
    sim_check_result_free(r);
    sim_history_free(parsed);
    return 0;
}
