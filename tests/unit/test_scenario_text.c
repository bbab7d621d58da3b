/*
 * test_scenario_text.c: text values and the canonical scenario text (issue #15). A run records
 * sim_scenario_canonical and replay parses it again, so every value the loader or
 * sim_scenario_set accepts must come back from that text unchanged; a value that could not
 * (a newline, a control character, a ';' after a blank, which inih reads as a comment) is
 * refused where it comes in, naming the key and what is not allowed. [scenario] name is
 * required and so may not be empty.
 *
 * Method: the demo system through the public API: sim_scenario_parse, sim_scenario_set,
 * sim_scenario_get and sim_scenario_canonical.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../systems/demo/demo.h"
#include "../scenariotest.h"

static const sim_system *const demo_only[] = {&sim_demo_system};

TestSuite(scenario_text, .fini = release_held);

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static sim_scenario *parse_demo(const char *text)
{
    return parse_held("t.ini", text, demo_only, 1);
}

/* Parses text; asserts SIM_EINVAL with the message prefix and words. */
static void expect_parse_error(const char *text, const char *prefix, const char *const *words)
{
    sim_scenario *sc = NULL;
    char err[1024] = "";
    int rc = sim_scenario_parse("t.ini", text, demo_only, 1, &sc, err, sizeof err);
    hold(sc);
    cr_assert(eq(int, rc, SIM_EINVAL), "message: %s\n--- text ---\n%s", err, text);
    cr_assert(eq(ptr, sc, NULL));
    assert_message(err, prefix, words);
}

/* sim_scenario_set; asserts SIM_EINVAL with the words, and that the scenario is unchanged. */
static void expect_set_error(sim_scenario *sc, const char *section, const char *key,
                             const char *value, const char *const *words)
{
    char before[4096], err[1024] = "";
    snprintf(before, sizeof before, "%s", sim_scenario_canonical(sc));
    int rc = sim_scenario_set(sc, section, key, value, err, sizeof err);
    cr_assert(eq(int, rc, SIM_EINVAL), "[%s] %s accepted; message: %s", section, key, err);
    assert_message(err, "t.ini: ", words);
    cr_assert(eq(str, (char *)sim_scenario_canonical(sc), before));
}

/* The canonical text parses again to the same canonical text, with the same name and
 * description. */
static void expect_round_trip(const sim_scenario *sc)
{
    sim_scenario *again = NULL;
    char err[1024] = "";
    int rc = sim_scenario_parse("canonical", sim_scenario_canonical(sc), demo_only, 1, &again,
                                err, sizeof err);
    hold(again);
    cr_assert(eq(int, rc, SIM_OK), "the canonical text does not parse: %s\n---\n%s", err,
              sim_scenario_canonical(sc));
    cr_assert(eq(str, (char *)sim_scenario_canonical(again), (char *)sim_scenario_canonical(sc)));
    cr_assert(eq(str, (char *)sim_scenario_name(again), (char *)sim_scenario_name(sc)));
    cr_assert(eq(str, (char *)sim_scenario_get(again, "scenario", "description"),
                 (char *)sim_scenario_get(sc, "scenario", "description")));
    scenario_done(again);
}

static const char minimal[] = "[scenario]\nname = t\nsystem = demo\n";

/* Goal: a text value survives the canonical text whatever it starts with or holds: ';' and
 * '#' first (a ';' after "key = " started a comment, so ";x" came back empty), '=', ':',
 * '[', quotes, backslashes, a ';' with no blank before it, inner blanks and tabs. Method:
 * each value as name and as description through sim_scenario_set, then the canonical text
 * parsed again: same canonical text, same name and description, equal to the value set. */
Test(scenario_text, tricky_values_round_trip)
{
    static const char *const values[] = {
        ";x", "#x", ";", "#", ";;", "; x", "#; x", "=x", ":x", "[x]", "[x", "a=b", "a = b",
        "a;b", "a#b", "a #b", "a\t#b", "\"quoted\"", "'single'", "back\\slash\\", "a\\;b",
        "in  ner\tblanks", "x;", "x#", ("\xEF\xBB\xBF" "bom"), "0", "-", "é ünïcode",
    };
    sim_scenario *sc = parse_demo(minimal);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char err[1024] = "";
        const char *keys[] = {"name", "description"};
        for (int k = 0; k < 2; k++) {
            int rc = sim_scenario_set(sc, "scenario", keys[k], values[i], err, sizeof err);
            cr_assert(eq(int, rc, SIM_OK), "%s = '%s': %s", keys[k], values[i], err);
            cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", keys[k]),
                         (char *)values[i]));
            expect_round_trip(sc);
        }
    }
    scenario_done(sc);
}

/* Goal: the same values read from a file round-trip too. Method: a file whose description
 * follows '=' without a blank (how a file says ";x": "description =;x"), then the canonical
 * text parsed again. */
Test(scenario_text, file_values_round_trip)
{
    static const char *const values[] = {";x", "#x", ";", "=x", "a;b", "a #b"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "[scenario]\nname =%s\nsystem = demo\ndescription =%s\n",
                 values[i], values[i]);
        sim_scenario *sc = parse_demo(text);
        cr_assert(eq(str, (char *)sim_scenario_name(sc), (char *)values[i]));
        cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", "description"),
                     (char *)values[i]));
        expect_round_trip(sc);
        scenario_done(sc);
    }
}

/* Goal: blanks around a value set through sim_scenario_set (--set) are dropped as a file's
 * are, so that what runs is what the canonical text says. Method: "  x  " and "\tx\t". */
Test(scenario_text, set_trims_blanks_like_a_file)
{
    sim_scenario *sc = parse_demo(minimal);
    char err[1024] = "";
    cr_assert(eq(int, sim_scenario_set(sc, "scenario", "description", "  x  ", err, sizeof err),
                 SIM_OK), "%s", err);
    cr_assert(eq(str, (char *)sim_scenario_get(sc, "scenario", "description"), "x"));
    cr_assert(eq(int, sim_scenario_set(sc, "scenario", "name", "\tn\t", err, sizeof err), SIM_OK),
              "%s", err);
    cr_assert(eq(str, (char *)sim_scenario_name(sc), "n"));
    cr_assert(eq(int, sim_scenario_set(sc, "demo", "ticks", " 7 ", err, sizeof err), SIM_OK),
              "%s", err);
    cr_assert(eq(u64, sim_scenario_uint(sc, "demo", "ticks"), 7));
    expect_round_trip(sc);
    scenario_done(sc);
}

/* Goal: a value with a newline, a carriage return or another control character is refused
 * by sim_scenario_set (--set) with the key and the character named, in every section,
 * instead of being recorded in a canonical text that then reads back as something else (a
 * newline made the next line a key of its own). Method: each character in the middle and at
 * the end of a [scenario] text value, a [demo] number, a [faults] `at` line and a [network]
 * key; the scenario is unchanged after each. */
Test(scenario_text, set_refuses_control_characters)
{
    static const struct {
        const char *value, *says;
    } cases[] = {
        {"a\nb", "newline"},         {"a\n", "newline"},
        {"a\rb", "carriage return"}, {"a\r", "carriage return"},
        {"a\x01" "b", "0x01"},       {"\x1b[31mred", "0x1b"},
        {"a\x7f", "0x7f"},           {"a\vb", "0x0b"},
        {"a\fb", "0x0c"},
    };
    sim_scenario *sc = parse_demo(minimal);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_set_error(sc, "scenario", "description", cases[i].value,
                         WORDS("[scenario] description", cases[i].says, "control character"));
        expect_set_error(sc, "scenario", "name", cases[i].value,
                         WORDS("[scenario] name", cases[i].says));
    }
    expect_set_error(sc, "demo", "ticks", "5\n", WORDS("[demo] ticks", "newline"));
    expect_set_error(sc, "faults", "at", "5s crash n1\nat = 6s crash n2",
                     WORDS("[faults] at", "newline"));
    expect_set_error(sc, "network", "latency", "5ms\r", WORDS("[network] latency",
                                                             "carriage return"));
    expect_round_trip(sc);
    scenario_done(sc);
}

/* Goal: a file's text value with a control character is refused with its line (a carriage
 * return inside a line, an escape, a form feed), not recorded. Method: a description with
 * each; the message names t.ini and the line. */
Test(scenario_text, file_refuses_control_characters)
{
    expect_parse_error("[scenario]\nname = t\nsystem = demo\ndescription = a\rb\n", "t.ini:4: ",
                       WORDS("[scenario] description", "carriage return"));
    expect_parse_error("[scenario]\nname = \x1b[1mt\nsystem = demo\n", "t.ini:2: ",
                       WORDS("[scenario] name", "0x1b"));
    expect_parse_error("[scenario]\nname = t\nsystem = demo\ndescription = a\fb\n", "t.ini:4: ",
                       WORDS("[scenario] description", "0x0c"));
}

/* Goal: a ';' after a blank inside a value cannot be written so that inih reads it back (it
 * starts an inline comment, and inih has no escape), so sim_scenario_set refuses it, saying
 * why, instead of recording a text that replays a shorter value. Method: "a ;b", "a\t;b",
 * "x ;" as description; each refused, the scenario unchanged. */
Test(scenario_text, set_refuses_comment_after_blank)
{
    sim_scenario *sc = parse_demo(minimal);
    static const char *const values[] = {"a ;b", "a\t;b", "x ; y", "x ;"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        expect_set_error(sc, "scenario", "description", values[i],
                         WORDS("[scenario] description", "';' after a blank", "comment"));
    }
    scenario_done(sc);
}

/* Goal: [scenario] name is required, so an empty one is refused like a missing one, in a
 * file and through sim_scenario_set. Method: "name =", "name = ; a comment", "name = " with
 * blanks; set "" and "  ". Each message names the key and says it is required. */
Test(scenario_text, empty_name_refused)
{
    expect_parse_error("[scenario]\nname =\nsystem = demo\n", "t.ini:2: ",
                       WORDS("[scenario] name", "required", "empty"));
    expect_parse_error("[scenario]\nsystem = demo\nname = ; nothing\n", "t.ini:3: ",
                       WORDS("[scenario] name", "required"));
    expect_parse_error("[scenario]\nsystem = demo\nname =   \t \n", "t.ini:3: ",
                       WORDS("[scenario] name", "required"));
    sim_scenario *sc = parse_demo(minimal);
    expect_set_error(sc, "scenario", "name", "", WORDS("[scenario] name", "required"));
    expect_set_error(sc, "scenario", "name", "   ", WORDS("[scenario] name", "required"));
    char err[256];
    cr_assert(eq(int, sim_scenario_set(sc, "scenario", "description", "", err, sizeof err),
                 SIM_OK), "an optional text may be empty: %s", err);
    scenario_done(sc);
}
