/*
 * test_rng.c: seeded random streams: determinism, independence, exact integer ranges.
 */
#include "../helpers.h"

/* Goal: a stream is a pure function of (seed, name, index). Method: two streams built from the
 * same triple agree for 10,000 draws; changing any one of the three changes the first draw. */
Test(rng, streams_are_pure_functions_of_seed_name_index)
{
    sim_rng a, b, c, d, e;
    sim_rng_init(&a, 42, "sim/net", 0);
    sim_rng_init(&b, 42, "sim/net", 0);
    for (int i = 0; i < 10000; i++) cr_assert(eq(u64, sim_rng_next(&a), sim_rng_next(&b)));
    sim_rng_init(&a, 42, "sim/net", 0);
    sim_rng_init(&c, 43, "sim/net", 0);
    sim_rng_init(&d, 42, "sim/disk", 0);
    sim_rng_init(&e, 42, "sim/net", 1);
    uint64_t first = sim_rng_next(&a);
    cr_assert(ne(u64, first, sim_rng_next(&c)));
    cr_assert(ne(u64, first, sim_rng_next(&d)));
    cr_assert(ne(u64, first, sim_rng_next(&e)));
}

/* Goal: drawing from one stream never shifts another. Method: draw 1,000 numbers from a
 * "net" stream between draws of a "disk" stream; the disk sequence equals an undisturbed
 * one. */
Test(rng, streams_are_independent)
{
    sim_rng disk1, disk2, net;
    sim_rng_init(&disk1, 7, "disk", 0);
    sim_rng_init(&disk2, 7, "disk", 0);
    sim_rng_init(&net, 7, "net", 0);
    for (int i = 0; i < 100; i++) {
        for (int j = 0; j < 10; j++) (void)sim_rng_next(&net);
        cr_assert(eq(u64, sim_rng_next(&disk1), sim_rng_next(&disk2)));
    }
}

/* Goal: the draws of a known (seed, name, index) never change across builds: stored traces
 * and replays depend on them. Method: compare against values recorded when the generator
 * (xoshiro256** seeded by splitmix64 over seed, XXH3 of the name and index) was written. */
Test(rng, known_answers)
{
    sim_rng r;
    sim_rng_init(&r, 1, "", 0);
    cr_assert(eq(u64, sim_rng_next(&r), 0x2c64ab5bde8bad00ull));
    cr_assert(eq(u64, sim_rng_next(&r), 0x40f0c7cec1550720ull));
    sim_rng_init(&r, 42, "sim/sched", 3);
    cr_assert(eq(u64, sim_rng_next(&r), 0x0ea2f0243b973c8eull));
    cr_assert(eq(u64, sim_rng_below(&r, 1000), 618));
    cr_assert(eq(u64, sim_rng_below(&r, 1), 0));
}

/* Goal: below(n) stays in [0, n) and is uniform. Method: 120,000 draws below 6; every face
 * count lies within 4 standard deviations (about 520) of 20,000; also n = 2^63 + 1 and
 * n = UINT64_MAX stay in range. */
Test(rng, below_is_in_range_and_uniform)
{
    sim_rng r;
    sim_rng_init(&r, 99, "dice", 0);
    uint32_t count[6] = {0};
    for (int i = 0; i < 120000; i++) count[sim_rng_below(&r, 6)]++;
    for (int f = 0; f < 6; f++) {
        cr_assert(lt(u32, 19480, count[f]), "face %d: %u", f, count[f]);
        cr_assert(lt(u32, count[f], 20520), "face %d: %u", f, count[f]);
    }
    for (int i = 0; i < 1000; i++) {
        cr_assert(lt(u64, sim_rng_below(&r, (1ull << 63) + 1), (1ull << 63) + 1));
        cr_assert(lt(u64, sim_rng_below(&r, UINT64_MAX), UINT64_MAX));
    }
}

/* Goal: range(lo, hi) is inclusive on both ends. Method: 10,000 draws in [5, 7] hit 5, 6 and
 * 7 and nothing else; range(0, UINT64_MAX) and range(x, x) work. */
Test(rng, range_is_inclusive)
{
    sim_rng r;
    sim_rng_init(&r, 3, "range", 0);
    bool seen[3] = {false, false, false};
    for (int i = 0; i < 10000; i++) {
        uint64_t v = sim_rng_range(&r, 5, 7);
        cr_assert(ge(u64, v, 5));
        cr_assert(le(u64, v, 7));
        seen[v - 5] = true;
    }
    cr_assert(seen[0] && seen[1] && seen[2]);
    cr_assert(eq(u64, sim_rng_range(&r, 9, 9), 9));
    (void)sim_rng_range(&r, 0, UINT64_MAX);
}

/* Goal: ratio(p/q) is exact integer arithmetic with the documented edge cases. Method:
 * 1/4 over 400,000 draws lands within 4 sigma of 100,000; 0/q, p/0 never; q/q and 5/3
 * always, without drawing (the stream is not advanced). */
Test(rng, ratio)
{
    sim_rng r, untouched;
    sim_rng_init(&r, 5, "ratio", 0);
    uint32_t hits = 0;
    for (int i = 0; i < 400000; i++) hits += sim_rng_ratio(&r, (sim_ratio){1, 4});
    cr_assert(lt(u32, 98900, hits));
    cr_assert(lt(u32, hits, 101100));
    sim_rng_init(&r, 5, "edge", 0);
    sim_rng_init(&untouched, 5, "edge", 0);
    cr_assert(not(sim_rng_ratio(&r, (sim_ratio){0, 10})));
    cr_assert(not(sim_rng_ratio(&r, (sim_ratio){3, 0})));
    cr_assert(sim_rng_ratio(&r, (sim_ratio){10, 10}));
    cr_assert(sim_rng_ratio(&r, (sim_ratio){5, 3}));
    cr_assert(eq(u64, sim_rng_next(&r), sim_rng_next(&untouched)));
}

/* Goal: sim_hash is XXH3 of the bytes with the seed: the same value on every machine (pinned
 * here, as a record checksum on disk must be), and the seed and every byte matter. */
Test(rng, sim_hash_is_stable)
{
    cr_assert(eq(u64, sim_hash("abc", 3, 0), 0x78af5f94892f3950ull));
    cr_assert(eq(u64, sim_hash("abc", 3, 1), 0x6b4467b443c76228ull));
    cr_assert(ne(u64, sim_hash("abd", 3, 0), sim_hash("abc", 3, 0)));
    cr_assert(ne(u64, sim_hash("abc", 2, 0), sim_hash("abc", 3, 0)));
}
