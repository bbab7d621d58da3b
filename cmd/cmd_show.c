/*
 * cmd_show.c: sim show (the events of a recorded run) and sim list (the runs).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_show[] =
    "usage: sim show --db FILE RUN [--node N] [--task T] [--kind K] [--from S] [--to S]\n"
    "                [--format text|json]\n"
    "       sim show --db FILE RUN --faults\n"
    "       sim show --db FILE RUN --report\n"
    "\n"
    "Prints the recorded events of a run: step, virtual time as s.mmmuuu, node, task, event and\n"
    "what it says; --format json prints one object per line. --faults prints the run's fault\n"
    "plan and every fault injected instead; --report the hang report of a deadlock or liveness\n"
    "failure (every unfinished task, what it awaits and since when).\n"
    "\n"
    "  --node N     only events of node N (a name such as n1, or its number)\n"
    "  --task T     only events of task T\n"
    "  --kind K     only events of kind K: spawn, poll, wake, complete, abort, drop,\n"
    "               timer-set, timer-fire, crash, restart, pause, resume, job-start,\n"
    "               violation, stop, node-add, note, fault, net-send, net-deliver,\n"
    "               net-drop, net-dup, net-reset, net-link, disk-op, disk-crash, history\n"
    "  --from S     from step S;  --to S   up to step S (inclusive)\n";

static const char usage_list[] =
    "usage: sim list --db FILE [--failed] [--scenario NAME]\n"
    "\n"
    "Lists the runs in a database, oldest first: run, scenario, seed, result, events, steps,\n"
    "virtual time, trace hash, and how it was recorded: (host) for a real process's run\n"
    "(sim_world_record, kvs-server --record), which can be read but not replayed. --failed\n"
    "lists the runs that did not pass: failures, and runs whose check ended unknown (its\n"
    "bound, [check] max_steps, ran out), whatever [check] unknown counted them as; a host run\n"
    "stopped by a signal is no failure.\n";

typedef struct show_opts {
    const char *db;
    uint64_t run_id;
    bool have_run;
    const char *node;
    const char *kind;
    sim__event_filter f;
    bool json;
    bool faults;
    bool report;             /* --report: the hang report */
} show_opts;

static int parse_step_opt(const char *a, const char *v, uint64_t *dst)
{
    if (cli_parse_u64(v, dst) != 0) {
        return cli_usage_error(usage_show, "%s expects a step number, got '%s'", a, v);
    }
    return 0;
}

static int parse_show(int argc, char **argv, show_opts *o)
{
    o->f = (sim__event_filter){.node = -1, .task = -1, .kind = -1, .to_step = UINT64_MAX};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        uint64_t n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_show);
            return -1;
        }
        if (strcmp(a, "--faults") == 0) {
            o->faults = true;
            continue;
        }
        if (strcmp(a, "--report") == 0) {
            o->report = true;
            continue;
        }
        if (a[0] == '-' && (v = cli_value(argc, argv, &i, a, usage_show)) == NULL) {
            return EXIT_USAGE;
        }
        if (strcmp(a, "--db") == 0) {
            o->db = v;
        } else if (strcmp(a, "--node") == 0) {
            o->node = v;
        } else if (strcmp(a, "--kind") == 0) {
            o->kind = v;
        } else if (strcmp(a, "--task") == 0) {
            if (cli_parse_u64(v, &n) != 0 || n > UINT32_MAX) {
                return cli_usage_error(usage_show, "--task expects a task number, got '%s'", v);
            }
            o->f.task = (int64_t)n;
        } else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
            int rc = parse_step_opt(a, v, a[2] == 'f' ? &o->f.from_step : &o->f.to_step);
            if (rc != 0) return rc;
        } else if (strcmp(a, "--format") == 0) {
            if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0) {
                return cli_usage_error(usage_show, "--format expects text or json, got '%s'", v);
            }
            o->json = v[0] == 'j';
        } else if (a[0] == '-') {
            return cli_usage_error(usage_show, "unknown option '%s'", a);
        } else if (!o->have_run && cli_parse_u64(a, &o->run_id) == 0) {
            o->have_run = true;
        } else {
            return cli_usage_error(usage_show, "unexpected argument '%s' (RUN is a number)", a);
        }
    }
    if (o->db == NULL) return cli_usage_error(usage_show, "--db FILE is required");
    if (!o->have_run) return cli_usage_error(usage_show, "which run? give RUN");
    if (o->f.from_step > o->f.to_step) return cli_usage_error(usage_show, "--from is after --to");
    return 0;
}

/* Resolves --node (a name or a number) and --kind against the run. */
static int resolve_filters(show_opts *o, const sim__names *names)
{
    if (o->kind != NULL) {
        sim_event_kind k = sim_event_kind_from_name(o->kind);
        if (k == 0) return cli_usage_error(usage_show, "--kind: unknown event kind '%s'", o->kind);
        o->f.kind = k;
    }
    if (o->node == NULL) return 0;
    uint64_t n;
    if (cli_parse_u64(o->node, &n) == 0 && n >= 1 && n < names->n && names->name[n] != NULL) {
        o->f.node = (int64_t)n;
        return 0;
    }
    for (uint32_t i = 1; i < names->n; i++) {
        if (names->name[i] != NULL && strcmp(names->name[i], o->node) == 0) {
            o->f.node = i;
            return 0;
        }
    }
    char list[512] = "";
    for (uint32_t i = 1; i < names->n; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", sim__names_get(names, i));
    }
    return cli_usage_error(NULL, "--node: this run has no node '%s'; its nodes: %s", o->node,
                           list[0] ? list : "none");
}

static void json_string(const char *s)
{
    putchar('"');
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

static void print_json(uint64_t run_id, const sim__evbuf *b, uint64_t i, const sim__names *names)
{
    sim_event e = sim__evbuf_event(b, i);
    char t[32], what[256];
    sim__fmt_time(e.vtime_ns, t, sizeof t);
    sim_event_describe_named(&e, (const char *const *)names->name, names->n, what,
                             sizeof what);
    printf("{\"run\":%llu,\"step\":%llu,\"time_ns\":%llu,\"time\":\"%s\",\"node\":",
           (unsigned long long)run_id, (unsigned long long)e.step,
           (unsigned long long)e.vtime_ns, t);
    json_string(sim__names_get(names, e.node.v));
    printf(",\"task\":%u,\"event\":\"%s\",\"a\":%llu,\"b\":%llu,\"what\":", e.task.v,
           sim_event_kind_name(e.kind), (unsigned long long)e.a, (unsigned long long)e.b);
    json_string(what);
    printf(",\"detail\":");
    if (e.detail != NULL) {
        json_string(e.detail);
    } else {
        printf("null");
    }
    printf("}\n");
}

static int show_events(sim__store *st, const sim__run_row *row, show_opts *o)
{
    sim__event_filter nodes = {.node = -1, .task = -1, .kind = SIM_EV_NODE_ADD,
                               .to_step = UINT64_MAX};
    sim__evbuf adds = {0}, evs = {0};
    sim__names names = {0};
    int rc = sim__store_events(st, row->run_id, &nodes, &adds) == SIM_OK ? 0 : EXIT_USAGE;
    if (rc == 0) {
        sim__names_from(&adds, &names);
        rc = resolve_filters(o, &names);
    }
    if (rc == 0 && sim__store_events(st, row->run_id, &o->f, &evs) != SIM_OK) rc = EXIT_USAGE;
    if (rc == EXIT_USAGE && sim__store_error(st)[0] != '\0') {
        cli_err("%s\n", sim__store_error(st));
    }
    if (rc == 0 && !o->json) {
        printf("run %llu: %s seed %llu, %s, %llu events, %llu shown\n",
               (unsigned long long)row->run_id, row->scenario, (unsigned long long)row->seed,
               row->result, (unsigned long long)row->event_count, (unsigned long long)evs.n);
        if (row->detail[0] != '\0') {
            char detail[1024];
            cli_fill_detail(row->detail, o->db, row->run_id, row->events_stored, detail,
                            sizeof detail);
            printf("%s: %s\n", row->result, detail);
        }
        if (row->faults[0] != '\0') {
            cli_out("faults: %s; %u injected (sim show --db %s %llu --faults)\n", row->faults,
                   row->fault_count, o->db, (unsigned long long)row->run_id);
        }
        printf("%s\n", sim__event_header());
    }
    char line[512];
    for (uint64_t i = 0; rc == 0 && i < evs.n; i++) {
        if (o->json) {
            print_json(row->run_id, &evs, i, &names);
        } else {
            sim__event_line(&evs, i, &names, line, sizeof line);
            printf("%s\n", line);
        }
    }
    sim__names_free(&names);
    sim__evbuf_free(&adds);
    sim__evbuf_free(&evs);
    return rc;
}

/* --faults: the plan, then one aligned line per fault. */
static int show_faults(sim__store *st, const sim__run_row *row, const show_opts *o)
{
    printf("run %llu: %s seed %llu, %s, %u fault(s) injected\n", (unsigned long long)row->run_id,
           row->scenario, (unsigned long long)row->seed, row->result, row->fault_count);
    const char *none = strstr(row->config, "\n[faults]\n") != NULL
                           ? "none (its [faults] injects nothing)"
                           : "none (recorded by a sim without fault plans)";
    printf("plan: %s\n", row->faults[0] ? row->faults : none);
    if (!row->events_stored) {
        cli_out("the faults were not stored (record mode %s); to see them: sim replay --db %s "
               "%llu --events\n",
               row->record_mode, o->db, (unsigned long long)row->run_id);
        return 0;
    }
    sim__event_filter nodes = {.node = -1, .task = -1, .kind = SIM_EV_NODE_ADD,
                               .to_step = UINT64_MAX};
    sim__evbuf adds = {0};
    sim__names names = {0};
    sim_fault_rec *f = NULL;
    uint32_t n = 0;
    if (sim__store_events(st, row->run_id, &nodes, &adds) != SIM_OK ||
        sim__store_faults(st, row->run_id, &f, &n) != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
        sim__evbuf_free(&adds);
        return EXIT_USAGE;
    }
    sim__names_from(&adds, &names);
    if (n > 0) {
        printf("%8s %14s %-8s %-10s %-24s %6s  %s\n", "step", "time", "node", "action", "point",
               "hit", "detail");
    }
    for (uint32_t i = 0; i < n; i++) {
        char t[32];
        sim__fmt_time(f[i].vtime_ns, t, sizeof t);
        const char *node = f[i].node.v == 0 ? "-" : sim__names_get(&names, f[i].node.v);
        printf("%8llu %14s %-8s %-10s %-24s %6llu  %s\n", (unsigned long long)f[i].step, t, node,
               sim_fault_action_name(f[i].action), f[i].point, (unsigned long long)f[i].hit,
               f[i].detail ? f[i].detail : "");
    }
    sim__faults_free(f, n);
    sim__names_free(&names);
    sim__evbuf_free(&adds);
    return 0;
}

/* --report: the run's result and detail, then the hang report it stored (a deadlock's or a
 * liveness failure's), or why there is none. Needs no events: every record mode keeps it. */
static int show_report(const sim__run_row *row, const show_opts *o)
{
    SIM_ASSERT(row != NULL);
    SIM_ASSERT(o->report);
    printf("run %llu: %s seed %llu, %s\n", (unsigned long long)row->run_id, row->scenario,
           (unsigned long long)row->seed, row->result);
    const char *report = row->report != NULL ? row->report : "";
    if (report[0] == '\0') {
        char detail[1024];
        cli_fill_detail(row->detail, o->db, row->run_id, row->events_stored, detail,
                        sizeof detail);
        printf("no hang report: one is written when a run ends in deadlock or liveness%s%s\n",
               row->detail[0] ? "; this one: " : "", detail);
        return 0;
    }
    fputs(report, stdout);
    if (report[strlen(report) - 1] != '\n') putchar('\n');
    return 0;
}

int cmd_show(int argc, char **argv)
{
    show_opts o = {0};
    int rc = parse_show(argc, argv, &o);
    if (rc != 0) return rc < 0 ? 0 : rc;
    sim__store *st = cli_open_store(o.db, SIM__STORE_READ);
    if (st == NULL) return EXIT_USAGE;
    sim__run_row row;
    if (sim__store_run(st, o.run_id, &row) != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
        sim__store_close(st);
        return EXIT_USAGE;
    }
    if (o.report) {
        rc = show_report(&row, &o);
    } else if (o.faults) {
        rc = show_faults(st, &row, &o);
    } else if (!row.events_stored) {
        /* Why none: a pass under fail, or a run that ended before it could record them (its
         * process crashed, Ctrl-C); then what it ended as. */
        bool passed = strcmp(row.result, "pass") == 0;
        bool fail = strcmp(row.record_mode, "fail") == 0;
        char detail[1024];
        cli_fill_detail(row.detail, o.db, row.run_id, false, detail, sizeof detail);
        cli_err("run %llu has no stored events (recorded with --record %s%s%s%s%s%s); its "
                "events: %s replay --db %s %llu --events\n",
                (unsigned long long)o.run_id, row.record_mode,
                fail && passed ? ", and it passed" : "", passed ? "" : "; it ended as ",
                passed ? "" : row.result, passed || !row.detail[0] ? "" : ": ",
                passed ? "" : detail, cli_prog(), o.db, (unsigned long long)o.run_id);
        rc = EXIT_USAGE;
    } else {
        rc = show_events(st, &row, &o);
    }
    sim__run_row_free(&row);
    sim__store_close(st);
    return rc;
}

/* ---- list ------------------------------------------------------------------------------------ */

typedef struct list_ctx {
    uint64_t count;
    uint64_t unknown;        /* runs whose check ended unknown */
} list_ctx;

static int list_row(void *ud, const sim__run_row *r)
{
    list_ctx *c = ud;
    c->unknown += strcmp(r->result, "unknown") == 0;
    if (c->count++ == 0) {
        printf("%6s  %-18s %10s  %-12s %8s %8s %14s  %-16s  %s\n", "run", "scenario", "seed",
               "result", "events", "steps", "virtual", "hash", "recorded");
    }
    char t[32];
    sim__fmt_time(r->vtime_ns, t, sizeof t);
    const char *how = strcmp(r->status, "interrupted") == 0 ? "interrupted"
                      : strcmp(r->status, "running") == 0  ? "running"
                      : r->events_stored                   ? "events"
                                                           : "checkpoints";
    /* A host run says so where a simulated one gives its record mode. */
    bool host = r->backend != NULL && strcmp(r->backend, "host") == 0;
    printf("%6llu  %-18.18s %10llu  %-12s %8llu %8llu %14s  %016llx  %s (%s)\n",
           (unsigned long long)r->run_id, r->scenario, (unsigned long long)r->seed, r->result,
           (unsigned long long)r->event_count, (unsigned long long)r->step_count, t,
           (unsigned long long)r->trace_hash, how, host ? "host" : r->record_mode);
    return 0;
}

int cmd_list(int argc, char **argv)
{
    const char *db = NULL;
    sim__run_filter f = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_list);
            return 0;
        } else if (strcmp(a, "--db") == 0) {
            if ((db = cli_value(argc, argv, &i, a, usage_list)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--scenario") == 0) {
            if ((f.scenario = cli_value(argc, argv, &i, a, usage_list)) == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--failed") == 0) {
            f.failed_only = true;
        } else {
            return cli_usage_error(usage_list, "unexpected argument '%s'", a);
        }
    }
    if (db == NULL) return cli_usage_error(usage_list, "--db FILE is required");
    sim__store *st = cli_open_store(db, SIM__STORE_READ);
    if (st == NULL) return EXIT_USAGE;
    list_ctx c = {0};
    int rc = sim__store_runs(st, &f, list_row, &c);
    if (rc != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
    } else if (c.count == 0) {
        printf("no runs%s%s%s\n", f.failed_only ? " failed" : "", f.scenario ? " of " : "",
               f.scenario ? f.scenario : "");
    } else if (c.unknown > 0) {
        printf("%llu run(s), %llu unknown (the check reached its bound before a verdict: sim "
               "check --db %s RUN --model M searches further)\n",
               (unsigned long long)c.count, (unsigned long long)c.unknown, db);
    } else {
        printf("%llu run(s)\n", (unsigned long long)c.count);
    }
    sim__store_close(st);
    return rc == SIM_OK ? 0 : EXIT_USAGE;
}
