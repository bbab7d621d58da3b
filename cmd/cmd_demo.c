/*
 * cmd_demo.c: sim demo, the demo world run once from the command line, without a scenario
 * file or a database.
 */
#include <stdlib.h>
#include <string.h>

#include "../systems/demo/demo.h"
#include "cli.h"

static const char usage_demo[] =
    "usage: sim demo [--seed N] [--strategy S] [--events] [--time-limit T]\n"
    "\n"
    "Runs the demo world once and prints what it did and its trace hash. The same seed\n"
    "and strategy always print the same hash.\n"
    "\n"
    "  --seed N         the seed, a decimal or 0x-prefixed 64-bit number (default 1)\n"
    "  --strategy S     fifo | random | pct | pct:D | pct:D:K (default random)\n"
    "  --events         print every event as it happens\n"
    "  --time-limit T   stop past T of virtual time, e.g. 500ms, 2s (default 60s)\n";

static void print_event(void *ud, const sim_event *ev)
{
    const sim_world *const *wp = ud;
    char line[512];
    sim_event_format(*wp, ev, line, sizeof line);
    puts(line);
}

typedef struct demo_opts {
    uint64_t seed;
    sim_sched sched;
    char sched_text[64];
    bool events;
    uint64_t time_limit_ns;
} demo_opts;

static int demo_parse(int argc, char **argv, demo_opts *o)
{
    o->seed = 1;
    o->time_limit_ns = 60 * SIM_S;
    snprintf(o->sched_text, sizeof o->sched_text, "random");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_demo);
            return 1;
        } else if (strcmp(a, "--events") == 0) {
            o->events = true;
        } else if (strcmp(a, "--seed") == 0) {
            if (cli_parse_u64(v, &o->seed) != 0) {
                return cli_usage_error(usage_demo, "--seed expects a number, got '%s'",
                                       v ? v : "");
            }
            i++;
        } else if (strcmp(a, "--strategy") == 0) {
            char err[256];
            if (sim_sched_parse(v, &o->sched, err, sizeof err) != SIM_OK) {
                return cli_usage_error(usage_demo, "--strategy: %s", err);
            }
            snprintf(o->sched_text, sizeof o->sched_text, "%s", v);
            i++;
        } else if (strcmp(a, "--time-limit") == 0) {
            int prc = sim__parse_duration(v, &o->time_limit_ns);
            if (prc == SIM_ELIMIT) {
                return cli_usage_error(usage_demo,
                                       "--time-limit: '%s' is longer than "
                                       SIM__DURATION_MAX_TEXT ", the longest virtual time",
                                       v);
            }
            if (prc != SIM_OK) {
                return cli_usage_error(usage_demo,
                                       "--time-limit expects a duration like 500ms or 2s, got "
                                       "'%s'",
                                       v ? v : "");
            }
            i++;
        } else {
            return cli_usage_error(usage_demo, "unknown option '%s'", a);
        }
    }
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    demo_opts o = {0};
    int prc = demo_parse(argc, argv, &o);
    if (prc != 0) return prc == 1 ? 0 : prc;
    char hint[128];
    snprintf(hint, sizeof hint, "%s demo --seed %llu --strategy %s --events", cli_prog(),
             (unsigned long long)o.seed, o.sched_text);
    sim_world *w = NULL;
    sim_world_desc d = {.seed = o.seed, .sched = o.sched, .time_limit_ns = o.time_limit_ns,
                        .replay_hint = hint};
    if (o.events) {
        d.trace = print_event;
        d.trace_ud = &w;
    }
    int rc = sim_world_new(&d, &w);
    if (rc != SIM_OK) {
        cli_err("cannot create the world: %s\n", sim_result_str(rc));
        return 1;
    }
    sim_demo_stats stats = {0};
    rc = sim_demo_setup(w, NULL, &stats);
    if (rc == SIM_OK) rc = sim_world_run(w);
    sim_stats st;
    sim_world_stats(w, &st);
    char t[32];
    uint64_t now = sim_now(w);
    snprintf(t, sizeof t, "%llu.%06llus", (unsigned long long)(now / SIM_S),
             (unsigned long long)(now % SIM_S / SIM_US));
    printf("demo    seed %llu, strategy %s\n", (unsigned long long)o.seed, o.sched_text);
    printf("n1      %u requests, %u replies, %u timeouts, %u persisted\n", stats.ticks,
           stats.replies, stats.timeouts, stats.persisted);
    printf("n2      %u beats published, %u seen by the monitor\n", stats.beats, stats.seen);
    printf("world   %s virtual, %llu steps, %llu events, %u violations: %s\n", t,
           (unsigned long long)st.steps, (unsigned long long)st.events, st.violations,
           sim_result_name(rc));
    printf("trace hash %016llx\n", (unsigned long long)sim_world_trace_hash(w));
    if (rc != SIM_OK) fprintf(stderr, "\n%s", sim_world_report(w));
    for (uint32_t i = 0; i < sim_world_violation_count(w); i++) {
        const sim_violation *v = sim_world_violation(w, i);
        if (v != NULL) fprintf(stderr, "violation: %s\n", v->message);
    }
    int failed = rc != SIM_OK || st.violations > 0;
    sim_world_free(w);
    return failed ? 1 : 0;
}

