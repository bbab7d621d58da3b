/*
 * spec.c: the [disk] section of a scenario file (docs/disk.md): sector size, capacity,
 * latencies per kind of operation with their exponential tails, and the crash model's
 * probabilities, each of which may be a range that every seed draws from (stream
 * "sim/disk/model", index = the key).
 */
#include <stdio.h>
#include <stdlib.h>

#include "spec.h"

enum {
    K_SECTOR,
    K_CAPACITY,
    K_READ,
    K_WRITE,
    K_SYNC,
    K_META,
    K_KEEP,
    K_TORN,
    K_GARBAGE,
    K_DIR_KEEP,
    K_READ_TAIL, /* after the probabilities: a key's index names its stream in "sim/disk/model" */
    K_WRITE_TAIL,
    K_SYNC_TAIL,
    K_META_TAIL,
    K_COUNT
};

#define FIRST_PROB K_KEEP
#define LAST_PROB K_DIR_KEEP
#define PPB 1000000000u

static const struct {
    const char *key;
    const char *def;
} keys[K_COUNT] = {
    [K_SECTOR] = {"sector", "512"},
    [K_CAPACITY] = {"capacity", "0"},
    [K_READ] = {"read_latency", "20us..100us"},
    [K_WRITE] = {"write_latency", "20us..100us"},
    [K_SYNC] = {"sync_latency", "1ms..5ms"},
    [K_META] = {"meta_latency", "10us..50us"},
    [K_KEEP] = {"crash_keep", "0.5"},
    [K_TORN] = {"crash_torn", "0.25"},
    [K_GARBAGE] = {"torn_garbage", "0"},
    [K_DIR_KEEP] = {"dir_keep", "0.5"},
    [K_READ_TAIL] = {"read_tail", "0s"},
    [K_WRITE_TAIL] = {"write_tail", "0s"},
    [K_SYNC_TAIL] = {"sync_tail", "0s"},
    [K_META_TAIL] = {"meta_tail", "0s"},
};

/* The keys in name order, for the canonical text and messages. */
static const int sorted[K_COUNT] = {
    K_CAPACITY, K_KEEP,   K_TORN,      K_DIR_KEEP, K_META,    K_META_TAIL,  K_READ,
    K_READ_TAIL, K_SECTOR, K_SYNC,     K_SYNC_TAIL, K_GARBAGE, K_WRITE,     K_WRITE_TAIL};

struct sim__disk_spec {
    uint64_t lo[K_COUNT];    /* durations in ns, probabilities in parts per 10^9, bytes */
    uint64_t hi[K_COUNT];
    uint32_t lines[K_COUNT];
    const char *path;
};

/* "0", "4096", "64K", "1M", "2G" (powers of 1024). */
static bool parse_bytes(const char *text, uint64_t *out)
{
    char digits[32];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof digits) return false;
    uint64_t mult = 1;
    char last = text[n - 1];
    if (last == 'K' || last == 'M' || last == 'G') {
        mult = last == 'K' ? 1ull << 10 : last == 'M' ? 1ull << 20 : 1ull << 30;
        n--;
    }
    memcpy(digits, text, n);
    digits[n] = '\0';
    uint64_t v;
    if (!sim__parse_u64(digits, &v) || v > UINT64_MAX / mult) return false;
    *out = v * mult;
    return true;
}

static void bytes_text(uint64_t v, char *buf, size_t size)
{
    if (v != 0 && v % (1ull << 30) == 0) {
        snprintf(buf, size, "%lluG", (unsigned long long)(v >> 30));
    } else if (v != 0 && v % (1ull << 20) == 0) {
        snprintf(buf, size, "%lluM", (unsigned long long)(v >> 20));
    } else if (v != 0 && v % (1ull << 10) == 0) {
        snprintf(buf, size, "%lluK", (unsigned long long)(v >> 10));
    } else {
        snprintf(buf, size, "%llu", (unsigned long long)v);
    }
#ifdef SIM_SLOW_CHECKS
    uint64_t back = 0;
    SIM_ASSERT_SLOW(parse_bytes(buf, &back)); /* the canonical text reads back */
    SIM_ASSERT_SLOW(back == v);
#endif
}

static int set_key(sim__disk_spec *s, int k, const char *v, char *err, size_t esize)
{
    uint64_t lo = 0, hi = 0;
    bool ok;
    const char *want;
    if (k == K_SECTOR) {
        ok = sim__parse_u64(v, &lo) && lo >= 512 && lo <= 65536 && (lo & (lo - 1)) == 0;
        hi = lo;
        want = "a power of two from 512 to 65536";
    } else if (k == K_CAPACITY) {
        ok = parse_bytes(v, &lo);
        hi = lo;
        want = "bytes per node, 0 for unlimited (4096, 64K, 1M, 2G: powers of 1024)";
    } else if (k < FIRST_PROB) {
        ok = sim__parse_duration_range(v, &lo, &hi) && hi > 0;
        want = "a duration above 0 or a range lo..hi, low to high, up to "
               SIM__DURATION_MAX_TEXT " (20us..100us)";
    } else if (k > LAST_PROB) {
        ok = sim__parse_duration(v, &lo) == SIM_OK && lo <= SIM__DISK_TAIL_MAX;
        hi = lo;
        want = "the mean of an extra exponential delay, 0s to 1h (0s: none; 5ms)";
    } else {
        ok = sim__parse_probability_range(v, &lo, &hi);
        want = "a probability in [0, 1] (0.25, 1/4) or a range, low to high (0.1..0.5), "
               "drawn per seed";
    }
    if (!ok)
        return sim__einval(err, esize, "[disk] %s: expected %s; got '%s'", keys[k].key, want, v);
    /* What apply and drawn rely on: a range low to high, probabilities at most 1. */
    SIM_ASSERT(lo <= hi);
    if (k >= FIRST_PROB && k <= LAST_PROB) SIM_ASSERT(hi <= PPB);
    s->lo[k] = lo;
    s->hi[k] = hi;
    return SIM_OK;
}

int sim__disk_spec_set(sim__disk_spec *s, const char *key, const char *value, uint32_t line,
                       char *err, size_t err_size)
{
    for (int k = 0; k < K_COUNT; k++) {
        if (strcmp(keys[k].key, key) != 0) continue;
        if (line != 0 && s->lines[k] != 0) {
            return sim__einval(err, err_size, "[disk] %s is set twice (first at line %u)", key,
                               s->lines[k]);
        }
        int rc = set_key(s, k, value, err, err_size);
        if (rc == SIM_OK && line != 0) s->lines[k] = line;
        return rc;
    }
    char list[256] = "";
    for (int i = 0; i < K_COUNT; i++) {
        size_t o = strlen(list);
        snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", keys[sorted[i]].key);
    }
    return sim__einval(err, err_size, "[disk] unknown key '%s'; valid keys: %s", key, list);
}

int sim__disk_spec_new(const char *path, sim__disk_spec **out)
{
    sim__disk_spec *s = sim__xcalloc(1, sizeof *s, "a [disk] section");
    *out = s;
    s->path = path;
    for (int k = 0; k < K_COUNT; k++) {
        int rc = set_key(s, k, keys[k].def, NULL, 0);
        SIM_ASSERT(rc == SIM_OK); /* a default that does not parse */
    }
    return SIM_OK;
}

void sim__disk_spec_free(sim__disk_spec *s)
{
    free(s);
}

int sim__disk_spec_finish(sim__disk_spec *s, uint64_t time_limit_ns, char *err, size_t err_size,
                          uint32_t *line)
{
    (void)time_limit_ns;
    *line = 0;
    if (s->hi[K_KEEP] + s->hi[K_TORN] > PPB) {
        *line = s->lines[K_TORN] ? s->lines[K_TORN] : s->lines[K_KEEP];
        return sim__einval(
            err, err_size,
            "[disk] crash_keep + crash_torn can exceed 1 (a pending write is kept, torn "
            "or lost): lower one of them");
    }
    return SIM_OK;
}

static void value_text(const sim__disk_spec *s, int k, char *buf, size_t size)
{
    SIM_ASSERT(k >= 0);
    SIM_ASSERT(k < K_COUNT);
    if (k == K_SECTOR) {
        snprintf(buf, size, "%llu", (unsigned long long)s->lo[k]);
    } else if (k == K_CAPACITY) {
        bytes_text(s->lo[k], buf, size);
    } else if (k < FIRST_PROB) {
        sim__format_duration_range(s->lo[k], s->hi[k], buf, size);
    } else if (k > LAST_PROB) {
        sim__format_duration(s->lo[k], buf, size);
    } else {
        sim__format_probability_range(s->lo[k], s->hi[k], buf, size);
    }
}

char *sim__disk_spec_canonical(const sim__disk_spec *s)
{
    size_t size = 64 + K_COUNT * 80, o = 0;
    char *buf = sim__xmalloc(size, "a [disk] section's text");
    o += (size_t)snprintf(buf + o, size - o, "[disk]\n");
    for (int i = 0; i < K_COUNT; i++) {
        char v[64];
        value_text(s, sorted[i], v, sizeof v);
        o += (size_t)snprintf(buf + o, size - o, "%s = %s\n", keys[sorted[i]].key, v);
    }
    SIM_ASSERT(o < size); /* the whole section, never cut */
    return buf;
}

/* By value, not by line: `sim run --set disk.K=V` sets keys without a line. */
bool sim__disk_spec_is_default(const sim__disk_spec *s)
{
    sim__disk_spec d = {0};
    for (int k = 0; k < K_COUNT; k++) {
        int rc = set_key(&d, k, keys[k].def, NULL, 0);
        SIM_ASSERT(rc == SIM_OK);
        if (s->lo[k] != d.lo[k] || s->hi[k] != d.hi[k]) return false;
    }
    return true;
}

/* The seed's value of a key: lo when it is not a range. */
static uint64_t drawn(const sim_world *w, const sim__disk_spec *s, int k)
{
    if (s->lo[k] == s->hi[k]) return s->lo[k];
    sim_rng rng;
    sim_world_rng(w, "sim/disk/model", (uint64_t)k, &rng);
    return sim_rng_range(&rng, s->lo[k], s->hi[k]);
}

static sim_ratio prob(const sim_world *w, const sim__disk_spec *s, int k)
{
    return (sim_ratio){(uint32_t)drawn(w, s, k), PPB};
}

int sim__disk_spec_apply(sim_world *w, const sim__disk_spec *s)
{
    sim_disk_desc d = {
        .sector = (uint32_t)s->lo[K_SECTOR],
        .capacity = s->lo[K_CAPACITY],
        .read_latency = {s->lo[K_READ], s->hi[K_READ]},
        .write_latency = {s->lo[K_WRITE], s->hi[K_WRITE]},
        .sync_latency = {s->lo[K_SYNC], s->hi[K_SYNC]},
        .meta_latency = {s->lo[K_META], s->hi[K_META]},
        .read_tail_ns = s->lo[K_READ_TAIL],
        .write_tail_ns = s->lo[K_WRITE_TAIL],
        .sync_tail_ns = s->lo[K_SYNC_TAIL],
        .meta_tail_ns = s->lo[K_META_TAIL],
        .crash_keep = prob(w, s, K_KEEP),
        .crash_torn = prob(w, s, K_TORN),
        .torn_garbage = prob(w, s, K_GARBAGE),
        .dir_keep = prob(w, s, K_DIR_KEEP),
    };
    /* A probability of 0 would read as "the default": say 0 out of 1. */
    sim_ratio *r[] = {&d.crash_keep, &d.crash_torn, &d.torn_garbage, &d.dir_keep};
    for (size_t i = 0; i < 4; i++) {
        if (r[i]->p == 0) *r[i] = (sim_ratio){0, 1};
        SIM_ASSERT(r[i]->p <= r[i]->q); /* drawn within [lo, hi], both at most 1 */
    }
    SIM_ASSERT(d.read_latency.min_ns <= d.read_latency.max_ns);
    return sim_disk_configure(w, &d);
}

void sim__disk_spec_plan(const sim_world *w, const sim__disk_spec *s, char *buf, size_t size)
{
    SIM_ASSERT(size > 0);
    buf[0] = '\0';
    for (int k = FIRST_PROB; k <= LAST_PROB; k++) {
        if (s->lo[k] == s->hi[k]) continue;
        char v[32];
        uint64_t x = drawn(w, s, k);
        SIM_ASSERT(x >= s->lo[k]);
        SIM_ASSERT(x <= s->hi[k]);
        sim__format_probability_range(x / 1000000 * 1000000, x / 1000000 * 1000000, v, sizeof v);
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, "%s%s=%s", o ? " " : "", keys[k].key, v);
    }
}
