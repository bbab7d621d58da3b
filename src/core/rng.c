/*
 * rng.c: seeded random streams.
 *
 * The generator is xoshiro256** (Blackman and Vigna, 2018): 256 bits of state, period
 * 2^256 - 1, about 1 ns per draw. A stream is named: its state comes from splitmix64 run over
 * (seed, XXH3 of the name, index), so every module and every node has its own independent
 * sequence and drawing more numbers in one never shifts another. The API is integers only;
 * probabilities are ratios p/q decided exactly, so no float ever reaches a decision.
 */
#include <string.h>
#include <xxhash.h>

#include "core.h"

static uint64_t splitmix64_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sim_rng_init(sim_rng *rng, uint64_t seed, const char *name, uint64_t index)
{
    SIM_ASSERT(rng != NULL);
    SIM_ASSERT(name != NULL);
    uint64_t name_hash = XXH3_64bits(name, strlen(name));
    /* Each input goes through its own splitmix step so that (seed, index) pairs that differ
     * only by a swap do not collide. */
    uint64_t x = seed;
    x = splitmix64_next(&x) ^ name_hash;
    x = splitmix64_next(&x) ^ index;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64_next(&x);
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0) rng->s[0] = 1;
}

uint64_t sim_rng_next(sim_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Lemire's nearly divisionless method: a 64x64->128 multiply, and a rejection step that runs
 * only when the low half falls in the biased zone. */
uint64_t sim_rng_below(sim_rng *rng, uint64_t n)
{
    SIM_ASSERT(n > 0);
    __extension__ typedef unsigned __int128 u128;
    u128 m = (u128)sim_rng_next(rng) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            m = (u128)sim_rng_next(rng) * n;
            low = (uint64_t)m;
        }
    }
    uint64_t r = (uint64_t)(m >> 64);
    SIM_ASSERT(r < n);
    return r;
}

uint64_t sim_rng_range(sim_rng *rng, uint64_t lo, uint64_t hi)
{
    SIM_ASSERT(lo <= hi);
    if (lo == 0 && hi == UINT64_MAX) return sim_rng_next(rng);
    return lo + sim_rng_below(rng, hi - lo + 1);
}

bool sim_rng_ratio(sim_rng *rng, sim_ratio r)
{
    if (r.p == 0 || r.q == 0) return false;
    if (r.p >= r.q) return true;
    return sim_rng_below(rng, r.q) < r.p;
}

/* -ln(u) for u uniform in (0, 1], as a fixed-point number with 16 fraction bits, by integer
 * arithmetic only: log2 by normalising and squaring, then times ln 2. */
static uint64_t neg_ln_fixed(uint64_t r)
{
    uint64_t x = (r >> 11) + 1; /* 1 .. 2^53: u = x / 2^53 */
    uint32_t ip = 63 - (uint32_t)__builtin_clzll(x);
    /* m in [2^52, 2^53) as a mantissa 1.f with 52 fraction bits */
    uint64_t m = ip >= 52 ? x >> (ip - 52) : x << (52 - ip);
    uint64_t frac = 0;
    for (int i = 0; i < 16; i++) {
        __extension__ typedef unsigned __int128 u128;
        m = (uint64_t)(((u128)m * m) >> 52);
        frac <<= 1;
        if (m >= (2ull << 52)) {
            m >>= 1;
            frac |= 1;
        }
    }
    uint64_t log2x = ((uint64_t)ip << 16) | frac;    /* log2(x), 16 fraction bits */
    uint64_t neg_log2u = (53ull << 16) - log2x;       /* -log2(u) = 53 - log2(x) */
    return neg_log2u * 45426 >> 16;                   /* ln 2 = 45426 / 65536 */
}

uint64_t sim__rng_exponential(sim_rng *rng, uint64_t mean, uint64_t cap_times)
{
    __extension__ typedef unsigned __int128 u128;
    /* In 128 bits, and the cap saturated: a mean near 2^64 ns must not wrap to a short delay. */
    u128 x = ((u128)mean * neg_ln_fixed(sim_rng_next(rng))) >> 16;
    u128 cap = (u128)cap_times * mean;
    if (cap > UINT64_MAX) cap = UINT64_MAX;
    uint64_t r = (uint64_t)(x > cap ? cap : x);
    SIM_ASSERT(r <= cap_times * (u128)mean);
    return r;
}

uint64_t sim_hash(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}
