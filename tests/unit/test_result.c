/*
 * test_result.c: result code names and sentences, event and violation kind names, and the
 * strategy parser.
 */
#include "../helpers.h"

/* Goal: every code has a name and a sentence, and unknown codes are labelled, not crashed on.
 * Method: walk the table through the X-macro and check both functions. */
Test(result, names_and_sentences)
{
#define CHECK(name, value, text)                                                               \
    cr_assert(eq(str, (char *)sim_result_name(value), #name));                                 \
    cr_assert(eq(str, (char *)sim_result_str(value), text));
    SIM_RESULT_TABLE(CHECK)
#undef CHECK
    cr_assert(eq(str, (char *)sim_result_name(SIM_PENDING), "SIM_PENDING"));
    cr_assert(eq(str, (char *)sim_result_name(-9999), "SIM_E?"));
    cr_assert(eq(str, (char *)sim_result_str(-9999), "unknown result code"));
    cr_assert(eq(str, (char *)sim_event_kind_name(SIM_EV_POLL), "poll"));
    cr_assert(eq(str, (char *)sim_event_kind_name((sim_event_kind)999), "?"));
    cr_assert(eq(str, (char *)sim_violation_kind_name(SIM_VIOLATION_NESTED_BLOCK_ON),
                 "nested block_on"));
}

/* Goal: strategy strings parse to what they say and round-trip through format. Method: parse
 * each valid form, format it, parse the output again. */
Test(result, strategy_parse_and_format)
{
    const char *ok[] = {"fifo", "random", "pct", "pct:2", "pct:3:500", "pct:64:1", "pct:2:auto"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        sim_sched s, again;
        char text[64];
        cr_assert(eq(int, sim_sched_parse(ok[i], &s, NULL, 0), SIM_OK), "%s", ok[i]);
        cr_assert(eq(int, sim_sched_format(&s, text, sizeof text), SIM_OK));
        cr_assert(eq(int, sim_sched_parse(text, &again, NULL, 0), SIM_OK), "%s", text);
        cr_assert(eq(int, (int)s.kind, (int)again.kind));
        cr_assert(eq(u32, s.pct_depth, again.pct_depth));
    }
    sim_sched s;
    cr_assert(eq(int, sim_sched_parse("pct:3:500", &s, NULL, 0), SIM_OK));
    cr_assert(eq(u32, s.pct_depth, 3));
    cr_assert(eq(u64, s.pct_steps, 500));
    char text[64];
    cr_assert(eq(int, sim_sched_parse("pct:4:auto", &s, NULL, 0), SIM_OK));
    cr_assert(eq(u32, s.pct_depth, 4));
    cr_assert(eq(u64, s.pct_steps, SIM_PCT_STEPS_AUTO));
    cr_assert(eq(int, sim_sched_format(&s, text, sizeof text), SIM_OK));
    cr_assert(eq(str, text, "pct:4:auto"));
}

/* Goal: bad strategy strings are errors that name the input and list the valid forms.
 * Method: parse each bad string; check the code and the message. */
Test(result, strategy_parse_errors)
{
    const char *bad[] = {"", "FIFO", "pct:", "pct:0", "pct:65", "pct:3:0", "pct:3:x", "pct:-1",
                         "randomly", "pct:2:3:4", "pct:2:aut", "pct:2:autox", "pct:auto"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sim_sched s;
        char err[256] = "";
        cr_assert(eq(int, sim_sched_parse(bad[i], &s, err, sizeof err), SIM_EINVAL), "%s",
                  bad[i]);
        cr_assert(ne(ptr, strstr(err, "valid strategies: fifo, random, pct"), NULL), "%s", err);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        cr_assert(ne(ptr, strstr(err, quoted), NULL), "%s", err);
    }
    sim_sched s;
    cr_assert(eq(int, sim_sched_parse(NULL, &s, NULL, 0), SIM_EINVAL));
}

/* Goal: a world refuses invalid descs instead of running with a silent default. Method:
 * unknown strategy kind, PCT depth above 64, forced decisions out of order. */
Test(result, world_desc_validation)
{
    sim_world *w = (sim_world *)1;
    sim_world_desc d = {.sched = {.kind = (sim_sched_kind)7}};
    cr_assert(eq(int, sim_world_new(&d, &w), SIM_EINVAL));
    cr_assert(eq(ptr, w, NULL));
    d = (sim_world_desc){.sched = {.kind = SIM_SCHED_PCT, .pct_depth = 65}};
    cr_assert(eq(int, sim_world_new(&d, &w), SIM_EINVAL));
    sim_decision forced[2] = {{.step = 5, .task = {1}}, {.step = 3, .task = {1}}};
    d = (sim_world_desc){.forced = forced, .forced_count = 2};
    cr_assert(eq(int, sim_world_new(&d, &w), SIM_EINVAL));
    d = (sim_world_desc){.forced_count = 1};
    cr_assert(eq(int, sim_world_new(&d, &w), SIM_EINVAL));
    cr_assert(eq(int, sim_world_new(NULL, NULL), SIM_EINVAL));
    cr_assert(eq(int, sim_world_new(NULL, &w), SIM_OK));
    cr_assert(eq(u64, sim_world_seed(w), 0));
    sim_world_free(w);
}
