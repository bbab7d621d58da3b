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

