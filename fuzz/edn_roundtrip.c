/*
 * edn_roundtrip.c: the EDN history reader, with a write-then-read round trip.
 *
 * The input is a Jepsen history as `sim check FILE.edn` reads it. One that parses is written
 * back entry by entry (sim_history_edn, which `sim show` and the trace store use), and that
 * text must parse to a history that writes the same entries again. Writing into a buffer too
 * small must give a NUL-terminated prefix and the same length, as snprintf does. The parsed
 * history then goes through the checker under each model with a small configuration bound:
 * a verdict or a refusal with a message, never a crash. Last, the input's first line as a
 * string value (sim_edn_quote) must come back unchanged in an entry's text.
 */
#include "fuzz.h"

#define CONFIGS_MAX 20000 /* per key: keeps one input's check fast */
#define CHECK_OPS_MAX 200 /* operations worth giving the checker */

/* Entry i's text, malloc'd; checks the snprintf-like contract on the way. */
static char *entry_text(const sim_history *h, uint32_t i)
{
    char small[48];
    size_t need = sim_history_edn(h, i, small, sizeof small);
    char *full = malloc(need + 1);
    FUZZ_CHECK(full != NULL, "out of memory");
    size_t again = sim_history_edn(h, i, full, need + 1);
    FUZZ_CHECK(again == need, "entry %u: %zu bytes, then %zu", i, need, again);
    FUZZ_CHECK(strlen(full) == need, "entry %u: %zu bytes written, %zu said", i, strlen(full),
               need);
    size_t kept = need < sizeof small ? need : sizeof small - 1;
    FUZZ_CHECK(strlen(small) == kept && memcmp(small, full, kept) == 0,
               "entry %u: the truncated text is not a prefix: '%s' of '%s'", i, small, full);
    FUZZ_CHECK(strchr(full, '\n') == NULL, "entry %u spans lines: %s", i, full);
    return full;
}

/* The history as EDN text, one entry per line (what a writer of histories produces). */
static char *history_text(const sim_history *h)
{
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
    FUZZ_CHECK(out != NULL, "out of memory");
    out[0] = '\0';
    for (uint32_t i = 0; i < sim_history_count(h); i++) {
        char *line = entry_text(h, i);
        size_t len = strlen(line);
        if (n + len + 2 > cap) {
            while (n + len + 2 > cap) cap *= 2;
            out = realloc(out, cap);
            FUZZ_CHECK(out != NULL, "out of memory");
        }
        memcpy(out + n, line, len);
        n += len;
        out[n++] = '\n';
        out[n] = '\0';
        free(line);
    }
    return out;
}

static void round_trip(const sim_history *h, const char *input)
{
    char *text = history_text(h);
    sim_history *again = NULL;
    char err[512];
    int rc = sim_history_parse_edn("written.edn", text, &again, err, sizeof err);
    FUZZ_CHECK(rc == SIM_OK, "the written history does not parse: %s\n%s\n--- from ---\n%s",
               err, text, input);
    FUZZ_CHECK(sim_history_count(again) == sim_history_count(h), "%u entries, then %u\n%s",
               sim_history_count(h), sim_history_count(again), text);
    char *text2 = history_text(again);
    FUZZ_CHECK(strcmp(text, text2) == 0, "written, read and written again:\n%s\n---\n%s", text,
               text2);
    free(text2);
    free(text);
    sim_history_free(again);
}

static void check_each_model(const sim_history *h)
{
    if (sim_history_count(h) > 2 * CHECK_OPS_MAX) return;
    const sim_model *models[] = {&sim_model_register, &sim_model_kv, &sim_model_kv_empty};
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        sim_check_desc d = {.model = models[m], .jobs = 1, .max_configs = CONFIGS_MAX,
                            .search = (sim_check_search)(m % 3)};
        sim_check_result *r = NULL;
        char err[512] = "";
        int rc = sim_check(h, &d, &r, err, sizeof err);
        if (rc != SIM_OK) {
            FUZZ_CHECK(r == NULL, "a failed check returned a result");
            FUZZ_CHECK(rc == SIM_EINVAL && err[0] != '\0', "check returned %d: '%s'", rc, err);
            continue;
        }
        sim_verdict v = sim_check_verdict(r);
        FUZZ_CHECK(v == SIM_LINEARIZABLE || v == SIM_NOT_LINEARIZABLE || v == SIM_CHECK_UNKNOWN,
                   "verdict %d", (int)v);
        FUZZ_CHECK(sim_check_summary(r) != NULL && sim_check_report(r, false) != NULL &&
                       sim_check_report(r, true) != NULL,
                   "a result without its report");
        sim_check_result_free(r);
    }
}

/* The input's first line, quoted, as an entry's value: the entry's text gives it back. */
static void quote_round_trip(const char *input)
{
    char s[256];
    size_t n = strcspn(input, "\n");
    snprintf(s, sizeof s, "%.*s", (int)(n < sizeof s - 1 ? n : sizeof s - 1), input);
    size_t need = sim_edn_quote(s, NULL, 0);
    char *q = malloc(need + 1);
    FUZZ_CHECK(q != NULL, "out of memory");
    FUZZ_CHECK(sim_edn_quote(s, q, need + 1) == need && strlen(q) == need, "quote length");
    const char *head = "{:process 0, :type :invoke, :f :write, :value ";
    size_t len = strlen(head) + need + 2;
    char *line = malloc(len);
    FUZZ_CHECK(line != NULL, "out of memory");
    snprintf(line, len, "%s%s}", head, q);
    sim_history *h = NULL;
    char err[512];
    FUZZ_CHECK(sim_history_parse_edn("quoted.edn", line, &h, err, sizeof err) == SIM_OK,
               "a quoted string does not read back: %s\n%s", err, line);
    char *back = entry_text(h, 0);
    FUZZ_CHECK(strcmp(back, line) == 0, "quoted and read: %s\nwritten back: %s", line, back);
    free(back);
    sim_history_free(h);
    free(line);
    free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *input = fuzz_text(data, size);
    if (input == NULL) return 0;
    sim_history *h = NULL;
    char err[512] = "";
    int rc = sim_history_parse_edn("fuzz.edn", input, &h, err, sizeof err);
    if (rc == SIM_OK) {
        FUZZ_CHECK(h != NULL, "SIM_OK without a history");
        round_trip(h, input);
        check_each_model(h);
        sim_history_free(h);
    } else {
        FUZZ_CHECK(h == NULL, "a failed parse returned a history");
        FUZZ_CHECK(rc == SIM_EINVAL || rc == SIM_ENOMEM, "parse returned %d", rc);
        FUZZ_CHECK(strncmp(err, "fuzz.edn:", 9) == 0, "the error does not name the file: %s",
                   err);
    }
    quote_round_trip(input);
    free(input);
    return 0;
}
