/*
 * test_edn.c: EDN through the public API: Jepsen histories read by sim_history_parse_edn and
 * written back entry by entry by sim_history_edn, EDN values given to sim_history_add, and
 * sim_edn_quote.
 *
 * Valid histories are checked by what they read as: the entry count and each entry written
 * back, which names every field sim keeps, and by a round trip (parse, write every entry,
 * parse that text, write it again: the same text). Every error case asserts SIM_EINVAL, a
 * NULL history and the exact "PATH:LINE:COL: " prefix ("PATH:LINE: " for what history.c
 * refuses) with the words a user needs.
 *
 * No history here holds the empty string or the empty vector twice: interning either a second
 * time passes a null pointer to memcmp in value.c, which UBSan stops under make check.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../helpers.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* Histories and texts a test holds, freed by the suite's fini when an assertion ends the test
 * early, so that a failing test reports its failure, not a leak, under make check. */
#define HELD_MAX 8
static sim_history *held[HELD_MAX];
static char *held_text[HELD_MAX];

static void release_held(void)
{
    for (size_t i = 0; i < HELD_MAX; i++) {
        sim_history_free(held[i]);
        held[i] = NULL;
        free(held_text[i]);
        held_text[i] = NULL;
    }
}

TestSuite(edn, .fini = release_held);

static sim_history *hold(sim_history *h)
{
    for (size_t i = 0; i < HELD_MAX; i++) {
        if (held[i] == NULL) {
            held[i] = h;
            return h;
        }
    }
    cr_assert(eq(ptr, h, NULL), "more than %d histories held", HELD_MAX);
    return h;
}

static void history_done(sim_history *h)
{
    for (size_t i = 0; i < HELD_MAX; i++) {
        if (held[i] == h) held[i] = NULL;
    }
    sim_history_free(h);
}

static char *hold_text(char *text)
{
    for (size_t i = 0; i < HELD_MAX; i++) {
        if (held_text[i] == NULL) {
            held_text[i] = text;
            return text;
        }
    }
    cr_assert(eq(ptr, text, NULL), "more than %d texts held", HELD_MAX);
    return text;
}

static void text_done(char *text)
{
    for (size_t i = 0; i < HELD_MAX; i++) {
        if (held_text[i] == text) held_text[i] = NULL;
    }
    free(text);
}

/* Parses text as "t.edn"; asserts success. */
static sim_history *parse_ok(const char *text)
{
    sim_history *h = NULL;
    char err[512] = "";
    int rc = sim_history_parse_edn("t.edn", text, &h, err, sizeof err);
    cr_assert(eq(int, rc, SIM_OK), "message: %s\n--- text ---\n%s", err, text);
    cr_assert(ne(ptr, h, NULL));
    return hold(h);
}

/* Every entry of h written back, one per line, in a held string (free it with text_done). */
static char *history_text(const sim_history *h)
{
    size_t len = 0;
    for (uint32_t i = 0; i < sim_history_count(h); i++) len += sim_history_edn(h, i, NULL, 0) + 1;
    char *text = hold_text(malloc(len + 1));
    cr_assert(ne(ptr, text, NULL));
    size_t at = 0;
    for (uint32_t i = 0; i < sim_history_count(h); i++) {
        size_t n = sim_history_edn(h, i, text + at, len + 1 - at);
        at += n;
        text[at++] = '\n';
    }
    text[at] = '\0';
    cr_assert(eq(sz, at, len));
    return text;
}

/* Asserts that text parses, that its entries written back are `want` (one per line), and
 * that this text parses again into the same text. */
static void expect_history(const char *text, const char *want)
{
    sim_history *h = parse_ok(text);
    char *got = history_text(h);
    cr_assert(eq(str, got, (char *)want), "--- text ---\n%s", text);
    sim_history *again = parse_ok(got);
    char *got_again = history_text(again);
    cr_assert(eq(str, got_again, got));
    cr_assert(eq(u32, sim_history_count(again), sim_history_count(h)));
    text_done(got);
    text_done(got_again);
    history_done(again);
    history_done(h);
}

/* Parses text as "t.edn"; asserts SIM_EINVAL, a NULL history and the message. */
static void expect_error(const char *text, const char *prefix, const char *const *words)
{
    sim_history *h = (sim_history *)&h; /* not NULL: the call must clear it */
    char err[512] = "";
    int rc = sim_history_parse_edn("t.edn", text, &h, err, sizeof err);
    if (rc == SIM_OK) hold(h);
    cr_assert(eq(int, rc, SIM_EINVAL), "message: %s\n--- text ---\n%s", err, text);
    cr_assert(eq(ptr, h, NULL));
    assert_message(err, prefix, words);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A register's history: two processes, a write and a read of "x", with times. */
static const char normal[] =
    "{:process 0, :type :invoke, :f :write, :key \"x\", :value 1, :time 100}\n"
    "{:process 1, :type :invoke, :f :read, :key \"x\", :value nil, :time 150}\n"
    "{:process 0, :type :ok, :f :write, :key \"x\", :value 1, :time 200}\n"
    "{:process 1, :type :ok, :f :read, :key \"x\", :value 1, :time 250}\n";

/* ---- valid histories ------------------------------------------------------------------------- */

/* Goal: Jepsen's line format reads as written, every field sim keeps included. Method: the
 * register history above; count, each entry written back (the same text, as the input is in
 * the writer's own form), the round trip. */
Test(edn, normal_history)
{
    sim_history *h = parse_ok(normal);
    cr_assert(eq(u32, sim_history_count(h), 4));
    char line[256];
    size_t n = sim_history_edn(h, 2, line, sizeof line);
    cr_assert(eq(str, line, "{:process 0, :type :ok, :f :write, :key \"x\", :value 1, :time 200}"));
    cr_assert(eq(sz, n, strlen(line)));
    history_done(h);
    expect_history(normal, normal);
}

/* Goal: sim_history_edn has snprintf's contract. Method: write an entry into buffers too
 * small for it (10 bytes, 1 byte, none): the length needed comes back each time, and what
 * was written is a NUL-terminated prefix. */
Test(edn, entry_text_truncates_like_snprintf)
{
    sim_history *h = parse_ok("{:process 3, :type :invoke, :f :read}\n");
    const char *want = "{:process 3, :type :invoke, :f :read, :value nil}";
    char buf[10];
    cr_assert(eq(sz, sim_history_edn(h, 0, buf, sizeof buf), strlen(want)));
    cr_assert(eq(str, buf, "{:process"));
    cr_assert(eq(sz, sim_history_edn(h, 0, buf, 1), strlen(want)));
    cr_assert(eq(str, buf, ""));
    cr_assert(eq(sz, sim_history_edn(h, 0, NULL, 0), strlen(want)));
    history_done(h);
}

/* Goal: sim_history_edn(h, i, NULL, 0) is defined and answers exactly as snprintf(NULL, 0,
 * ...) does, for every field the writer emits (issue 15, defect 9: it did pointer arithmetic
 * on the null buffer, undefined behaviour that clang's UBSan stops). Method: entries with a
 * key, a string, a vector, a time and neither; for each, the length from (NULL, 0), then
 * every size from 0 to past the end compared byte for byte with snprintf of the whole text
 * into a buffer of that size, and the bytes past size left untouched. */
Test(edn, entry_text_null_buffer_like_snprintf)
{
    sim_history *h = parse_ok(
        "{:process 7, :type :invoke, :f :append, :key \"k\", :value [1 \"a\\nb\" :c], "
        ":time 12}\n"
        "{:process 8, :type :invoke, :f :read}\n"
        "{:process 7, :type :info, :f :append, :key \"k\", :value nil}\n");
    for (uint32_t i = 0; i < sim_history_count(h); i++) {
        char whole[256];
        size_t len = sim_history_edn(h, i, whole, sizeof whole);
        cr_assert(lt(sz, len, sizeof whole));
        cr_assert(eq(sz, sim_history_edn(h, i, NULL, 0), len), "entry %u", i);
        cr_assert(eq(int, snprintf(NULL, 0, "%s", whole), (int)len));
        for (size_t size = 0; size <= len + 2; size++) {
            char got[260], want[260];
            memset(got, '#', sizeof got);
            memset(want, '#', sizeof want);
            size_t n = sim_history_edn(h, i, size ? got : NULL, size);
            int m = snprintf(size ? want : NULL, size, "%s", whole);
            cr_assert(eq(sz, n, (size_t)m), "entry %u, size %zu", i, size);
            cr_assert(eq(int, memcmp(got, want, sizeof got), 0), "entry %u, size %zu: '%.*s'",
                      i, size, (int)size, got);
        }
    }
    history_done(h);
}

/* Goal: an empty history is a history. Method: the empty text, blank lines and comments only,
 * and an empty vector each give 0 entries. */
Test(edn, empty_histories)
{
    const char *texts[] = {"", "\n\n", "; nothing yet\n  \n;; still nothing", "[]\n", "[\n]\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sim_history *h = parse_ok(texts[i]);
        cr_assert(eq(u32, sim_history_count(h), 0), "text: %s", texts[i]);
        history_done(h);
    }
}

/* Goal: the whole history may be one vector of maps, however its brackets sit. Method: the
 * register history with [ alone on the first line, [ before the first map, ] after the last
 * map and ] alone on the last line; each reads as the plain one. */
Test(edn, wrapped_in_a_vector)
{
    static const char *const texts[] = {
        "[\n"
        "{:process 0, :type :invoke, :f :write, :key \"x\", :value 1, :time 100}\n"
        "{:process 1, :type :invoke, :f :read, :key \"x\", :value nil, :time 150}\n"
        "{:process 0, :type :ok, :f :write, :key \"x\", :value 1, :time 200}\n"
        "{:process 1, :type :ok, :f :read, :key \"x\", :value 1, :time 250}\n"
        "]\n",
        "\n[{:process 0, :type :invoke, :f :write, :key \"x\", :value 1, :time 100}\n"
        " {:process 1, :type :invoke, :f :read, :key \"x\", :value nil, :time 150}\n"
        " {:process 0, :type :ok, :f :write, :key \"x\", :value 1, :time 200}\n"
        " {:process 1, :type :ok, :f :read, :key \"x\", :value 1, :time 250}]",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) expect_history(texts[i], normal);
}

/* Goal: comments, blank lines, commas and a mix of spacing are whitespace, and entries keep
 * their line numbers. Method: the register history with comments around and inside it;
 * then a second invocation by process 0 on line 6, whose message (from history.c) names
 * line 3, where the pending one is. */
Test(edn, comments_and_blank_lines)
{
    expect_history("; a Jepsen history\n"
                   "\n"
                   "{:process 0, :type :invoke, :f :write, :key \"x\", :value 1, :time 100}\n"
                   "   ; indented comment\n"
                   "{:process 1 :type :invoke :f :read :key \"x\" :value nil :time 150} ; p1\n"
                   "{:process 0,, :type :ok,\t:f :write, :key \"x\", :value 1, :time 200}\r\n"
                   "\n"
                   "{ :process 1 , :type :ok , :f :read , :key \"x\" , :value 1 , :time 250 }\n"
                   ";; the end",
                   normal);
    expect_error("; header\n"
                 "\n"
                 "{:process 0, :type :invoke, :f :read}\n"
                 "; between\n"
                 "\n"
                 "{:process 0, :type :invoke, :f :read}\n",
                 "t.edn:6: ", WORDS("process 0", "line 3", "pending"));
}

/* Goal: the fault injector's entries are not operations and are dropped whole, whatever
 * their values and wherever :process sits in the map. Method: nemesis entries with maps,
 * sets and strings as values, and :process last, between the register's entries. */
Test(edn, nemesis_entries_are_skipped)
{
    expect_history(
        "{:type :info, :f :start-partition, :value :majority, :process :nemesis, :time 90}\n"
        "{:process 0, :type :invoke, :f :write, :key \"x\", :value 1, :time 100}\n"
        "{:process :nemesis, :type :info, :f :start, :value {\"n1\" #{\"n2\" \"n3\"}}}\n"
        "{:process 1, :type :invoke, :f :read, :key \"x\", :value nil, :time 150}\n"
        "{:process :nemesis, :type :info, :f :kill, :value [:n1 1.5 sym]}\n"
        "{:process 0, :type :ok, :f :write, :key \"x\", :value 1, :time 200}\n"
        "{:process :nemesis, :f \"not even a keyword\"}\n"
        "{:process 1, :type :ok, :f :read, :key \"x\", :value 1, :time 250}\n",
        normal);
}

/* Goal: keys sim does not know are stepped over whatever EDN they hold, without misreading
 * what follows. Method: unknown keys with maps, sets, floats, ratios, big integers, symbols,
 * characters, tagged literals, symbolic values, namespaced maps, #_ discards (also between
 * keys) and nesting, before and after the known keys. */
Test(edn, unknown_keys_are_skipped)
{
    expect_history(
        "{:index 0, :process 0, :error {:cause \"x\", :via [{:a 1} #{2 3}]}, :type :invoke, "
        ":latency 1.5e3, :ratio 1/3, :big 123456789012345678901234567890N, :sym foo/bar, "
        ":f :write, :char \\a, :chars [\\newline \\u00e9 \\( \\]], :at #inst \"2020-01-01\", "
        ":id #uuid \"00000000-0000-0000-0000-000000000000\", :inf ##-Inf, :ns #:a{:b 1}, "
        "#_ :discarded #_ 7 :key \"x\", :d #_ 1 2, :deep [[[{:a (1 #{[2]})}]]], :value 1, "
        ":time 100, :f2 2.5M}\n"
        "{:process 1, :type :invoke, :f :read, :key \"x\", :value nil, :time 150, :tag #x [1]}\n"
        "{:process 0, :type :ok, :f :write, :key \"x\", :value 1, :time 200, :m {}, :s #{}}\n"
        "{:process 1, :type :ok, :f :read, :key \"x\", :value 1, :time 250, :err \"a;b}\"}\n",
        normal);
}

/* Goal: vectors and lists are values; a list reads as a vector. Method: a :cas with [1 2],
 * then one with (2 3), and a nested vector with every kind of value. */
Test(edn, vector_values)
{
    expect_history("{:process 0, :type :invoke, :f :cas, :key 7, :value [1 2]}\n"
                   "{:process 0, :type :fail, :f :cas, :value [1 2]}\n"
                   "{:process 1, :type :invoke, :f :cas, :value (2 3)}\n"
                   "{:process 1, :type :info, :f :cas, :value [nil true false -9223372036854775808 "
                   "\"s\" :k/w [[1] []]]}\n",
                   "{:process 0, :type :invoke, :f :cas, :key 7, :value [1 2]}\n"
                   "{:process 0, :type :fail, :f :cas, :value [1 2]}\n"
                   "{:process 1, :type :invoke, :f :cas, :value [2 3]}\n"
                   "{:process 1, :type :info, :f :cas, :value [nil true false "
                   "-9223372036854775808 \"s\" :k/w [[1] []]]}\n");
}

/* Goal: strings keep their bytes through a round trip. Method: every escape the reader
 * knows; \u00e9 and a surrogate pair come back as UTF-8, control bytes as \uXXXX, and quote,
 * backslash, newline, tab and return as their short escapes. */
Test(edn, string_escapes_round_trip)
{
    expect_history("{:process 0, :type :invoke, :f :write, :key \"caf\\u00e9\", "
                   ":value \"q\\\" b\\\\ n\\n t\\t r\\r b\\b f\\f s\\/ \\ud83d\\ude00\"}\n",
                   "{:process 0, :type :invoke, :f :write, :key \"caf\xc3\xa9\", "
                   ":value \"q\\\" b\\\\ n\\n t\\t r\\r b\\u0008 f\\u000c s/ "
                   "\xf0\x9f\x98\x80\"}\n");
}

/* ---- errors ---------------------------------------------------------------------------------- */

/* Goal: a map cut short is reported where its } was expected, on its own line, whether the
 * file ends there or more lines follow. Method: a truncated second line, then the same line
 * last in the file without a newline. */
Test(edn, truncated_line)
{
    expect_error("{:process 0, :type :invoke, :f :read}\n"
                 "{:process 0, :type :ok, :f :read, :val\n"
                 "{:process 1, :type :invoke, :f :read}\n",
                 "t.edn:2:39: ", WORDS("unterminated map", "expected }", "end of the line"));
    expect_error("{:process 0, :type :invoke, :f :read}\n"
                 "{:process 0, :type :ok, :f :read, :value [1 2",
                 "t.edn:2:46: ", WORDS("unterminated vector", "expected ]"));
    expect_error("{:process 0, :type :invoke, :f :read, :value \"abc}\n",
                 "t.edn:1:51: ", WORDS("unterminated string"));
    expect_error("[{:process 0, :type :invoke, :f :read}\n", "t.edn:2:1: ",
                 WORDS("expected ]"));
}

/* Goal: values sim cannot check are refused at their column with what is wrong. Method:
 * a float, a map, a symbol, a set, a tagged literal and an integer beyond int64 as :value or
 * :key. */
Test(edn, unsupported_values)
{
    expect_error("{:process 0, :type :invoke, :f :read, :value 1.5}\n", "t.edn:1:46: ",
                 WORDS("floats are not supported: 1.5"));
    expect_error("{:process 0, :type :invoke, :f :read, :value {:a 1}}\n", "t.edn:1:46: ",
                 WORDS("maps are not supported"));
    expect_error("{:process 0, :type :invoke, :f :read, :key x}\n", "t.edn:1:44: ",
                 WORDS("a symbol (x); did you mean :x or \"x\"?"));
    expect_error("{:process 0, :type :invoke, :f :read, :value #{1}}\n", "t.edn:1:46: ",
                 WORDS("not supported"));
    expect_error("{:process 0, :type :invoke, :f :read, :value #inst \"2020\"}\n",
                 "t.edn:1:46: ", WORDS("tagged literals are not supported: #inst"));
    expect_error("{:process 0, :type :invoke, :f :read, :value [1 99999999999999999999]}\n",
                 "t.edn:1:49: ", WORDS("integer out of range: 99999999999999999999"));
    expect_error("{:process 0, :type :invoke, :f :read, :value -9223372036854775809}\n",
                 "t.edn:1:46: ", WORDS("integer out of range"));
}

/* Goal: the fields sim keeps must have the right types, and the messages say which. Method:
 * :process "a" and -1, :type :foo, :f as a string, :time negative. */
Test(edn, wrong_field_types)
{
    expect_error("{:process \"a\", :type :invoke, :f :read}\n", "t.edn:1:11: ",
                 WORDS(":process must be an integer or :nemesis, not \"a\""));
    expect_error("{:process -1, :type :invoke, :f :read}\n", "t.edn:1:11: ",
                 WORDS(":process must", "-1"));
    expect_error("{:process 0, :type :foo, :f :read}\n", "t.edn:1:20: ",
                 WORDS(":type must", ":invoke, :ok, :fail or :info", ":foo"));
    expect_error("{:process 0, :type :invoke, :f \"read\"}\n", "t.edn:1:32: ",
                 WORDS(":f must", "keyword", "\"read\""));
    expect_error("{:process 0, :type :invoke, :f :read, :time -5}\n", "t.edn:1:45: ",
                 WORDS(":time must", "-5"));
}

/* Goal: a map without a field sim needs is refused at the map, naming what is missing and
 * what would do. Method: no :type (on line 2), no :f, no :process. */
Test(edn, missing_fields)
{
    expect_error("\n{:process 0, :f :read}\n", "t.edn:2:1: ",
                 WORDS("the map has no :type; expected :invoke, :ok, :fail or :info"));
    expect_error("{:process 0, :type :invoke}\n", "t.edn:1:1: ", WORDS("no :f"));
    expect_error("  {:type :invoke, :f :read}\n", "t.edn:1:3: ", WORDS("no :process", ":nemesis"));
}

/* Goal: a map's keys are keywords, each at most once, each with a value. Method: :type
 * twice (also an unknown key twice), a string as a key, a key without a value. */
Test(edn, bad_keys)
{
    expect_error("{:process 0, :type :invoke, :type :ok, :f :read}\n", "t.edn:1:29: ",
                 WORDS("duplicate key :type"));
    expect_error("{:process 0, :a 1, :type :invoke, :f :read, :a 2}\n", "t.edn:1:45: ",
                 WORDS("duplicate key :a"));
    expect_error("{:process 0, \"type\" :invoke, :f :read}\n", "t.edn:1:14: ",
                 WORDS("keys must be keywords", "\"type\""));
    expect_error("{:process 0, :f :read, :type}\n", "t.edn:1:29: ", WORDS(":type has no value"));
}

/* Goal: one map per line, nothing after it. Method: two maps on a line; a map and a word;
 * a ] without a [. */
Test(edn, one_map_per_line)
{
    expect_error("{:process 0, :type :invoke, :f :read} {:process 0, :type :ok, :f :read}\n",
                 "t.edn:1:39: ", WORDS("a second map on the line"));
    expect_error("{:process 0, :type :invoke, :f :read} oops\n", "t.edn:1:39: ",
                 WORDS("unexpected text after the map: oops"));
    expect_error("{:process 0, :type :invoke, :f :read}]\n", "t.edn:1:38: ",
                 WORDS("unexpected text"));
    expect_error("[{:process 0, :type :invoke, :f :read}] x\n", "t.edn:1:41: ",
                 WORDS("after the closing ]"));
}

/* Goal: what history.c refuses is reported with the file and the entry's line. Method: an ok
 * of process 1 that never invoked, on line 3. */
Test(edn, ok_without_invoke)
{
    expect_error("{:process 0, :type :invoke, :f :read}\n"
                 "{:process 0, :type :ok, :f :read, :value 1}\n"
                 "{:process 1, :type :ok, :f :read, :value 1}\n",
                 "t.edn:3: ", WORDS("process 1", "never invoked"));
}

/* Goal: nesting is bounded at 64 in values sim keeps and in values it skips alike. Method:
 * 64 nested vectors are read back; 65 are refused at the 65th [, as :value and as an unknown
 * key's value. */
Test(edn, nesting_deeper_than_64)
{
    char deep[256], text[512], want[512];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    snprintf(text, sizeof text, "{:process 0, :type :invoke, :f :read, :value %s}\n", deep);
    snprintf(want, sizeof want, "{:process 0, :type :invoke, :f :read, :value %s}\n", deep);
    expect_history(text, want);

    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    snprintf(text, sizeof text, "{:process 0, :type :invoke, :f :read, :value %s}\n", deep);
    expect_error(text, "t.edn:1:110: ", WORDS("nested deeper than 64"));
    snprintf(text, sizeof text, "{:process 0, :type :invoke, :f :read, :x %s}\n", deep);
    expect_error(text, "t.edn:1:106: ", WORDS("nested deeper than 64"));
}

/* ---- sim_history_add ------------------------------------------------------------------------- */

/* Goal: sim_history_add reads keys and values as EDN, refuses what the reader refuses with
 * the column, and leaves the history unchanged then. Method: a float value, a symbol key, a
 * map value and trailing text; then a good entry whose value is written back. */
Test(edn, history_add_checks_edn)
{
    sim_history *h = NULL;
    cr_assert(eq(int, sim_history_new(&h), SIM_OK));
    hold(h);
    char err[256];
    sim_history_entry e = {.process = 0, .type = SIM_OP_INVOKE, .f = "write", .key = "\"k\""};
    static const struct {
        const char *key, *value, *words;
    } bad[] = {
        {"\"k\"", "1.5", "col 1: floats are not supported: 1.5"},
        {"k", "1", "col 1: a symbol (k); did you mean :k or \"k\"?"},
        {"\"k\"", " {:a 1}", "col 2: maps are not supported"},
        {"\"k\"", "1 2", "col 3: unexpected text after the value: 2"},
        {"\"k\"", "\"open", "col 6: unterminated string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.key = bad[i].key;
        e.value = bad[i].value;
        err[0] = '\0';
        cr_assert(eq(int, sim_history_add(h, &e, err, sizeof err), SIM_EINVAL));
        cr_assert(ne(ptr, strstr(err, bad[i].words), NULL), "'%s' is not in: %s", bad[i].words,
                  err);
        cr_assert(eq(u32, sim_history_count(h), 0));
    }
    e.key = "\"k\"";
    e.value = "[1 \"a\\nb\" :c, nil]";
    cr_assert(eq(int, sim_history_add(h, &e, err, sizeof err), SIM_OK), "message: %s", err);
    char line[256];
    sim_history_edn(h, 0, line, sizeof line);
    cr_assert(eq(str, line,
                 "{:process 0, :type :invoke, :f :write, :key \"k\", "
                 ":value [1 \"a\\nb\" :c nil]}"));
    history_done(h);
}

/* Goal: whatever sim_history_add accepts, sim_history_edn writes as text that reads back.
 * Method: invocations with unusual function names (a namespace, slashes, a sign, dots) and
 * values of every kind; write them, parse the text, write it again: the same text. */
Test(edn, added_entries_read_back)
{
    static const char *const fs[] = {"read", "ns/read", "a/b/c", "-1", "x.", "<=>", "*!?_+"};
    static const char *const values[] = {"nil", "true", "-9223372036854775808", "\"\\u00e9\"",
                                         ":k", "[1 [false]]", "\"\\t\"", "7"};
    sim_history *h = NULL;
    cr_assert(eq(int, sim_history_new(&h), SIM_OK));
    hold(h);
    char err[256] = "";
    for (uint32_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        sim_history_entry e = {.process = i, .type = SIM_OP_INVOKE, .f = fs[i],
                               .value = values[i], .time_ns = i};
        cr_assert(eq(int, sim_history_add(h, &e, err, sizeof err), SIM_OK), "message: %s", err);
    }
    char *text = history_text(h);
    expect_history(text, text);
    text_done(text);
    history_done(h);
}

/* ---- sim_edn_quote --------------------------------------------------------------------------- */

/* Goal: sim_edn_quote escapes as the writer does. Method: quote, backslash, newline, tab,
 * return and other control bytes; UTF-8 bytes pass as they are; the result parses back as a
 * :value and is written back the same. */
Test(edn, quote_escapes)
{
    char buf[128];
    size_t n = sim_edn_quote("a\"b\\c\nd\te\rf\x01g\x1f\xc3\xa9", buf, sizeof buf);
    const char *want = "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u001f\xc3\xa9\"";
    cr_assert(eq(str, buf, (char *)want));
    cr_assert(eq(sz, n, strlen(want)));
    cr_assert(eq(sz, sim_edn_quote("", buf, sizeof buf), 2));
    cr_assert(eq(str, buf, "\"\""));

    char text[256], back[256];
    snprintf(text, sizeof text, "{:process 0, :type :invoke, :f :write, :value %s}\n", want);
    snprintf(back, sizeof back, "{:process 0, :type :invoke, :f :write, :value %s}\n", want);
    expect_history(text, back);
}

/* Goal: sim_edn_quote has snprintf's contract. Method: buffers of 0 (NULL), 1, 4 and exactly
 * the length bytes: the length needed every time, a NUL-terminated prefix. */
Test(edn, quote_truncates_like_snprintf)
{
    const char *want = "\"x\\\"y\"";
    size_t len = strlen(want);
    cr_assert(eq(sz, sim_edn_quote("x\"y", NULL, 0), len));
    char buf[16];
    memset(buf, '#', sizeof buf);
    cr_assert(eq(sz, sim_edn_quote("x\"y", buf, 1), len));
    cr_assert(eq(str, buf, ""));
    cr_assert(eq(sz, sim_edn_quote("x\"y", buf, 4), len));
    cr_assert(eq(str, buf, "\"x\\"));
    cr_assert(eq(sz, sim_edn_quote("x\"y", buf, len), len));
    cr_assert(eq(str, buf, "\"x\\\"y"));
    cr_assert(eq(sz, sim_edn_quote("x\"y", buf, len + 1), len));
    cr_assert(eq(str, buf, (char *)want));
}
