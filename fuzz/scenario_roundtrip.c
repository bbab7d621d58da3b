/*
 * scenario_roundtrip.c: the scenario loader, with a round-trip oracle.
 *
 * The input is a scenario file (any system sim knows). A file that loads has a canonical text,
 * which is what `sim run` records and what `sim replay --db` loads again: that text must load
 * too, give the same canonical text and the same scenario (name, system, seeds, expect, world
 * desc). Then every "key = value" line of it, given to sim_scenario_set as `--set` would, must
 * be accepted and change nothing. A file that does not load must say why, naming the file.
 */
#include "fuzz.h"

#include "../systems/registry.h"

#define PATH "fuzz.ini"

static sim_scenario *load(const char *path, const char *text, char *err, size_t err_size)
{
    sim_scenario *sc = NULL;
    int rc = sim_scenario_parse(path, text, sim_systems, sim_system_count, &sc, err, err_size);
    if (rc != SIM_OK) {
        FUZZ_CHECK(sc == NULL, "a failed load returned a scenario");
        FUZZ_CHECK(rc == SIM_EINVAL || rc == SIM_ENOMEM, "load returned %d", rc);
        FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0, "the error does not name %s: %s",
                   path, err);
        return NULL;
    }
    FUZZ_CHECK(sc != NULL, "a load returned SIM_OK without a scenario");
    return sc;
}

static void same_scenario(const sim_scenario *a, const sim_scenario *b, const char *text)
{
    FUZZ_CHECK(strcmp(sim_scenario_name(a), sim_scenario_name(b)) == 0, "name %s, then %s\n%s",
               sim_scenario_name(a), sim_scenario_name(b), text);
    FUZZ_CHECK(sim_scenario_system(a) == sim_scenario_system(b), "system differs\n%s", text);
    FUZZ_CHECK(sim_scenario_seed_first(a) == sim_scenario_seed_first(b) &&
                   sim_scenario_seed_last(a) == sim_scenario_seed_last(b),
               "seeds differ\n%s", text);
    FUZZ_CHECK(sim_scenario_expect_fail(a) == sim_scenario_expect_fail(b), "expect differs\n%s",
               text);
    uint64_t seed = sim_scenario_seed_first(a);
    sim_world_desc da = sim_scenario_world_desc(a, seed), db = sim_scenario_world_desc(b, seed);
    FUZZ_CHECK(da.seed == db.seed && da.sched.kind == db.sched.kind &&
                   da.sched.pct_depth == db.sched.pct_depth &&
                   da.sched.pct_steps == db.sched.pct_steps &&
                   da.time_limit_ns == db.time_limit_ns && da.step_limit == db.step_limit &&
                   da.checkpoint_every == db.checkpoint_every,
               "world descs differ\n%s", text);
}

/* Every line of the canonical text, set again with sim_scenario_set, changes nothing. The
 * repeatable keys (at, link) add a line each time they are set, and [scenario] system cannot
 * be set: they are left out. */
static void set_each_line(sim_scenario *sc, const char *canon)
{
    char section[64] = "", line[256], err[1024];
    for (const char *p = canon; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        FUZZ_CHECK(n < sizeof line, "a canonical line of %zu bytes\n%s", n, canon);
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (p[n] == '\n');
        if (line[0] == '[') {
            FUZZ_CHECK(n >= 2 && n - 2 < sizeof section && line[n - 1] == ']',
                       "bad section line '%s'\n%s", line, canon);
            snprintf(section, sizeof section, "%.*s", (int)(n - 2), line + 1);
            continue;
        }
        if (line[0] == '\0') continue;
        char *eq = strstr(line, " = ");
        FUZZ_CHECK(eq != NULL, "a canonical line that is not 'key = value': '%s'\n%s", line,
                   canon);
        *eq = '\0';
        const char *key = line, *value = eq + 3;
        if (strcmp(key, "at") == 0 || strcmp(key, "link") == 0) continue;
        if (strcmp(section, "scenario") == 0 && strcmp(key, "system") == 0) continue;
        int rc = sim_scenario_set(sc, section, key, value, err, sizeof err);
        FUZZ_CHECK(rc == SIM_OK, "[%s] %s = %s does not set again: %s\n%s", section, key, value,
                   err, canon);
        FUZZ_CHECK(strcmp(sim_scenario_canonical(sc), canon) == 0,
                   "setting [%s] %s = %s changed the canonical text:\n%s\n---\n%s", section,
                   key, value, canon, sim_scenario_canonical(sc));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (text == NULL) return 0;
    char err[1024] = "";
    sim_scenario *a = load(PATH, text, err, sizeof err);
    if (a == NULL) {
        free(text);
        return 0;
    }
    const char *canon = sim_scenario_canonical(a);
    FUZZ_CHECK(canon != NULL, "no canonical text");
    sim_scenario *b = load("recorded", canon, err, sizeof err);
    FUZZ_CHECK(b != NULL, "the canonical text does not load: %s\n%s\n--- from ---\n%s", err,
               canon, text);
    FUZZ_CHECK(strcmp(canon, sim_scenario_canonical(b)) == 0,
               "the canonical text loads to another:\n%s\n---\n%s", canon,
               sim_scenario_canonical(b));
    same_scenario(a, b, canon);
    set_each_line(b, canon);
    sim_scenario_free(b);
    sim_scenario_free(a);
    free(text);
    return 0;
}
