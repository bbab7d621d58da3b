/*
 * scenario_roundtrip.c: the scenario loader, with a round-trip oracle.
 *
 * The input is a scenario file (any system sim knows), then optionally a NUL byte and
 * `--set` arguments, SECTION.KEY=VALUE, separated by NUL bytes as in argv (so a value may hold
 * any other byte, a newline too). A file that does not load must say why, naming the file.
 * One that loads gets each --set as `sim run --set` applies it; a refused one must leave the
 * scenario as it was. The canonical text is then what `sim run` records and what `sim replay
 * --db` loads again: it must load, give the same canonical text and the same scenario (name,
 * system, seeds, expect, world desc). Last, "key = value" lines of it, set again, must be
 * accepted and change nothing.
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

/* Lines of the canonical text, set again with sim_scenario_set, change nothing. A set costs
 * a rebuild of the scenario, so one input sets about SETS_PER_INPUT of its ~100 lines, from
 * an offset that depends on the input (pick). The repeatable keys (at, link) add a line each
 * time they are set, and [scenario] system cannot be set: they are left out. */
#define SETS_PER_INPUT 8

static void set_lines(sim_scenario *sc, const char *canon, size_t pick)
{
    size_t lines = 0;
    for (const char *p = canon; *p != '\0'; p++) lines += *p == '\n';
    size_t stride = lines / SETS_PER_INPUT + 1, at = pick % stride, i = 0;
    char section[64] = "", line[256], err[1024];
    for (const char *p = canon; *p != '\0'; i++) {
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
        if (line[0] == '\0' || i % stride != at) continue;
        /* "key = value", or "key =;value" for a value that starts with ';' (a blank before
         * it would make it a comment). */
        char *eq = strstr(line, " =");
        FUZZ_CHECK(eq != NULL && (eq[2] == ' ' || eq[2] == ';'),
                   "a canonical line that is not 'key = value': '%s'\n%s", line, canon);
        *eq = '\0';
        const char *key = line, *value = eq + (eq[2] == ' ' ? 3 : 2);
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

/* Applies "SECTION.KEY=VALUE" as cli_sets_apply does (the part before the first '.' and the
 * key up to the first '='); ignores an argument that the command line would refuse. */
static void apply_set(sim_scenario *sc, const char *arg)
{
    const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
    if (dot == NULL || eq == NULL || dot > eq || dot == arg || eq == dot + 1) return;
    if (strchr(arg, '\'') != NULL) return;
    char section[64], key[128], err[1024] = "";
    snprintf(section, sizeof section, "%.*s", (int)(dot - arg), arg);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    char *before = strdup(sim_scenario_canonical(sc));
    FUZZ_CHECK(before != NULL, "out of memory");
    int rc = sim_scenario_set(sc, section, key, eq + 1, err, sizeof err);
    if (rc != SIM_OK) {
        FUZZ_CHECK(rc == SIM_EINVAL, "--set %s returned %d", arg, rc);
        FUZZ_CHECK(strncmp(err, PATH, strlen(PATH)) == 0, "--set %s: the error does not name "
                   "%s: %s", arg, PATH, err);
        FUZZ_CHECK(strcmp(before, sim_scenario_canonical(sc)) == 0,
                   "a refused --set %s changed the scenario:\n%s\n---\n%s", arg, before,
                   sim_scenario_canonical(sc));
    }
    free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t text_len = strnlen((const char *)data, size);
    char *text = fuzz_text(data, text_len);
    if (text == NULL) return 0;
    char err[1024] = "";
    sim_scenario *a = load(PATH, text, err, sizeof err);
    if (a == NULL) {
        free(text);
        return 0;
    }
    /* The --set arguments: NUL-separated after the file. */
    for (size_t at = text_len + 1; at < size;) {
        size_t n = strnlen((const char *)data + at, size - at);
        char *arg = fuzz_text(data + at, n);
        FUZZ_CHECK(arg != NULL, "out of memory");
        apply_set(a, arg);
        free(arg);
        at += n + 1;
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
    set_lines(b, canon, size);
    sim_scenario_free(b);
    sim_scenario_free(a);
    free(text);
    return 0;
}
