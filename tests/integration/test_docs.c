/*
 * test_docs.c: the documentation stays true to the code it documents.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../systems/demo/demo.h"
#include "../helpers.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(ne(ptr, f, NULL), "%s", path);
    static char buf[1 << 18];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Goal: docs/scenarios.md documents every key a scenario can have, under its section. Method:
 * the canonical text of a minimal demo scenario lists every declared key with its section;
 * each must appear in the doc as `key` after the "## [section]" heading. */
Test(docs, scenarios_md_lists_every_key)
{
    const sim_system *systems[] = {&sim_demo_system};
    sim_scenario *sc = NULL;
    char err[256];
    cr_assert(eq(int, sim_scenario_parse("t.ini", "[scenario]\nname = t\nsystem = demo\n",
                                         systems, 1, &sc, err, sizeof err),
                 SIM_OK),
              "%s", err);
    char path[512];
    snprintf(path, sizeof path, "%s/docs/scenarios.md", getenv("SIM_SRC"));
    const char *doc = read_file(path);
    const char *text = sim_scenario_canonical(sc);
    const char *section_at = doc;
    uint32_t keys = 0;
    for (const char *line = text; *line != '\0';) {
        size_t n = strcspn(line, "\n");
        char l[256];
        snprintf(l, sizeof l, "%.*s", (int)n, line);
        if (l[0] == '[') {
            char heading[300];
            snprintf(heading, sizeof heading, "## %s", l);
            section_at = strstr(doc, heading);
            cr_assert(ne(ptr, (void *)section_at, NULL), "no heading '%s' in scenarios.md",
                      heading);
        } else if (l[0] != '\0') {
            char key[128], quoted[140];
            cr_assert(eq(int, sscanf(l, "%127s =", key), 1));
            snprintf(quoted, sizeof quoted, "`%s`", key);
            cr_assert(ne(ptr, strstr(section_at, quoted), NULL), "%s is not documented", quoted);
            keys++;
        }
        line += n + (line[n] == '\n');
    }
    cr_assert(ge(u32, keys, 15));
    sim_scenario_free(sc);
}

/* Goal: every event kind and its fields are in the trace schema's reach: docs/trace-schema.md
 * names the tables the store creates. Method: look for each table's heading. */
Test(docs, trace_schema_md_names_every_table)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/trace-schema.md", getenv("SIM_SRC"));
    const char *doc = read_file(path);
    const char *tables[] = {"meta", "runs", "events", "decisions", "checkpoints", "violations",
                            "event_kinds"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char heading[64];
        snprintf(heading, sizeof heading, "\n## %s\n", tables[i]);
        cr_assert(ne(ptr, strstr(doc, heading), NULL), "no section for table %s", tables[i]);
    }
}
