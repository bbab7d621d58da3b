/*
 * cmd_explain.c: sim explain --db FILE RUN, the causal slice of a failure: the events of a
 * recorded run that happen before the failing one, and nothing else, in sim show's format,
 * then the failure's own report.
 *
 * Happens-before is read from the trace, edge by edge, each from an event back to its cause:
 *   - program order: an event of a task follows that task's previous event;
 *   - spawn: a task's spawn event follows its parent's latest event (a = parent);
 *   - wake: a wake follows the waking task's latest event (a = waker); a wake from outside a
 *     task (a = 0: a timer, a delivery, a node's resume) follows the event just before it,
 *     which is what woke it;
 *   - timers: a timer-fire follows the timer-set of the same sequence number;
 *   - network: a delivery follows the send (or duplication) of the same message on the same
 *     link;
 *   - nodes: a crash follows the fault that caused it; the disk's crash resolutions (each
 *     unsynced write kept, lost or torn) follow the crash, one after another; a restart
 *     follows the crash and the last of its resolutions (it boots on what survived); a task
 *     spawned outside any task on a node (its boot) follows the node's latest restart
 *     (events outside tasks have no order among themselves otherwise: two deliveries to one
 *     node are independent).
 * The slice is every event the failure reaches backwards along them (a breadth-first walk).
 * The failure is the first violation; else, for a failed check, the last history entry (the
 * completion the check could not place comes last more often than not; --step chooses
 * another) and what the check also reads after it: a check runs when the run ends, on the
 * state the nodes were left in, so every crash after that entry (with its resolutions) and
 * the last event of every task a restart after it booted (a recovery that found the data
 * lost) start the walk too; else the run's last event, and for a hang (deadlock, liveness,
 * step limit) the last event of every task that never ended too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../replay/replay.h"

static const char usage_explain[] =
    "usage: sim explain --db FILE RUN [--step S] [--steps-out FILE]\n"
    "\n"
    "Prints the causal slice of a recorded run's failure: the events that happen before it\n"
    "through task order, spawns, wakes, timers, network deliveries and node crashes, with\n"
    "everything else left out, in the format of sim show; then the failure's report (the\n"
    "check's message, the hang report). The failure is the run's first violation, else the\n"
    "last history entry of a failed check, else the last event.\n"
    "\n"
    "  --step S          the slice of step S instead\n"
    "  --steps-out FILE  also write the slice's steps to FILE, one a line (for sim viz\n"
    "                    --highlight)\n"
    "\n"
    "exit status: 0 printed, 2 bad arguments, a database or a run without stored events.\n";

typedef struct explain_opts {
    const char *db;
    uint64_t run_id;
    bool have_step;
    uint64_t step;
    const char *steps_out;
} explain_opts;

static int parse_explain(int argc, char **argv, explain_opts *o)
{
    bool have_run = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_explain);
            return -1;
        }
        if (strcmp(a, "--db") == 0) {
            if ((o->db = cli_value(argc, argv, &i, "--db", usage_explain)) == NULL) return 2;
        } else if (strcmp(a, "--steps-out") == 0) {
            o->steps_out = cli_value(argc, argv, &i, "--steps-out", usage_explain);
            if (o->steps_out == NULL) return EXIT_USAGE;
        } else if (strcmp(a, "--step") == 0) {
            const char *v = cli_value(argc, argv, &i, "--step", usage_explain);
            if (v == NULL) return EXIT_USAGE;
            if (cli_parse_u64(v, &o->step) != 0) {
                return cli_usage_error(usage_explain, "--step expects a step number, got '%s'",
                                       v);
            }
            o->have_step = true;
        } else if (a[0] == '-') {
            return cli_usage_error(usage_explain, "unknown option '%s'", a);
        } else {
            int rc = cli_run_arg(a, &have_run, &o->run_id, usage_explain);
            if (rc != 0) return rc;
        }
    }
    return cli_db_run_given(o->db, have_run, usage_explain);
}

#define NONE UINT64_MAX

/* The latest event before index i of task t (NONE: none), from each task's last event. */
typedef struct slicer {
    const sim__evbuf *evs;
    uint64_t *cause;      /* per event, up to 2 causes: [2 * i], [2 * i + 1] */
} slicer;

static void add_cause(slicer *s, uint64_t i, uint64_t c)
{
    SIM_ASSERT(c == NONE || c < i); /* a cause comes first */
    if (c == NONE) return;
    if (s->cause[2 * i] == NONE) {
        s->cause[2 * i] = c;
    } else if (s->cause[2 * i + 1] == NONE && s->cause[2 * i] != c) {
        s->cause[2 * i + 1] = c;
    }
}

/* A small map from a key to the last event index with it (open addressing, grown at half). */
typedef struct lastmap {
    uint64_t *keys;
    uint64_t *vals;
    uint64_t cap, n;
} lastmap;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static void lastmap_put(lastmap *m, uint64_t key, uint64_t val);

static void lastmap_grow(lastmap *m)
{
    lastmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->n = 0;
    m->keys = sim__xcalloc(m->cap, sizeof *m->keys, "a causal slice's index");
    m->vals = sim__xcalloc(m->cap, sizeof *m->vals, "a causal slice's index");
    for (uint64_t i = 0; i < m->cap; i++) m->keys[i] = NONE;
    for (uint64_t i = 0; i < old.cap; i++) {
        if (old.keys[i] != NONE) lastmap_put(m, old.keys[i], old.vals[i]);
    }
    free(old.keys);
    free(old.vals);
}

static void lastmap_put(lastmap *m, uint64_t key, uint64_t val)
{
    SIM_ASSERT(key != NONE);
    if ((m->n + 1) * 2 > m->cap) lastmap_grow(m);
    uint64_t at = mix64(key) & (m->cap - 1);
    while (m->keys[at] != NONE && m->keys[at] != key) at = (at + 1) & (m->cap - 1);
    if (m->keys[at] == NONE) m->n++;
    m->keys[at] = key;
    m->vals[at] = val;
}

static uint64_t lastmap_get(const lastmap *m, uint64_t key)
{
    if (m->cap == 0) return NONE;
    uint64_t at = mix64(key) & (m->cap - 1);
    while (m->keys[at] != NONE) {
        if (m->keys[at] == key) return m->vals[at];
        at = (at + 1) & (m->cap - 1);
    }
    return NONE;
}

static void lastmap_free(lastmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Keys of the maps: what kind of "last" they hold, in the top bits. */
#define K_TASK(t) ((1ull << 60) | (t))
#define K_CRASH(n) ((3ull << 60) | (n))
#define K_TIMER(seq) ((4ull << 60) | ((seq) & 0x0fffffffffffffffull))
#define K_FAULT(n) ((5ull << 60) | (n))
#define K_RESOLVED(n) ((6ull << 60) | (n)) /* a node's crash or its latest resolution */
#define K_RESTART(n) ((7ull << 60) | (n))

/* The causes of every event, by the rules at the top of the file. */
static void link_causes(slicer *s)
{
    const sim__evbuf *b = s->evs;
    lastmap last = {0};   /* task, node, crash, timer, fault -> last index */
    lastmap sends = {0};  /* hash of (link, message) -> last send index */
    for (uint64_t i = 0; i < b->n; i++) {
        const sim__ev *e = &b->ev[i];
        if (e->task != 0) add_cause(s, i, lastmap_get(&last, K_TASK(e->task)));
        switch (e->kind) {
        case SIM_EV_SPAWN:
            if (e->a != 0) add_cause(s, i, lastmap_get(&last, K_TASK(e->a)));
            if (e->a == 0 && e->node != 0) { /* a boot */
                add_cause(s, i, lastmap_get(&last, K_RESTART(e->node)));
            }
            break;
        case SIM_EV_WAKE:
            add_cause(s, i, e->a != 0 ? lastmap_get(&last, K_TASK(e->a)) : i ? i - 1 : NONE);
            break;
        case SIM_EV_TIMER_FIRE: add_cause(s, i, lastmap_get(&last, K_TIMER(e->b))); break;
        case SIM_EV_NET_DELIVER:
            add_cause(s, i, lastmap_get(&sends, mix64(e->a) ^ e->b));
            break;
        case SIM_EV_CRASH: add_cause(s, i, lastmap_get(&last, K_FAULT(e->node))); break;
        case SIM_EV_RESTART:
            add_cause(s, i, lastmap_get(&last, K_CRASH(e->node)));
            add_cause(s, i, lastmap_get(&last, K_RESOLVED(e->node)));
            break;
        case SIM_EV_DISK_CRASH: add_cause(s, i, lastmap_get(&last, K_RESOLVED(e->node))); break;
        default: break;
        }
        if (e->task != 0) lastmap_put(&last, K_TASK(e->task), i);
        if (e->kind == SIM_EV_CRASH) lastmap_put(&last, K_CRASH(e->node), i);
        if (e->kind == SIM_EV_CRASH || e->kind == SIM_EV_DISK_CRASH) {
            lastmap_put(&last, K_RESOLVED(e->node), i);
        }
        if (e->kind == SIM_EV_RESTART) lastmap_put(&last, K_RESTART(e->node), i);
        if (e->kind == SIM_EV_TIMER_SET) lastmap_put(&last, K_TIMER(e->b), i);
        if (e->kind == SIM_EV_FAULT && e->node != 0) lastmap_put(&last, K_FAULT(e->node), i);
        if (e->kind == SIM_EV_NET_SEND || e->kind == SIM_EV_NET_DUP) {
            lastmap_put(&sends, mix64(e->a) ^ e->b, i);
        }
    }
    lastmap_free(&last);
    lastmap_free(&sends);
}

/* The event the slice starts from (its index), or NONE when --step names no event. */
static uint64_t failure_event(const sim__evbuf *b, const sim__run_row *row,
                              const explain_opts *o)
{
    if (o->have_step) {
        for (uint64_t i = 0; i < b->n; i++) {
            if (b->ev[i].step == o->step) return i;
        }
        return NONE;
    }
    for (uint64_t i = 0; i < b->n; i++) {
        if (b->ev[i].kind == SIM_EV_VIOLATION) return i;
    }
    if (strcmp(row->result, "check") == 0) {
        for (uint64_t i = b->n; i-- > 0;) {
            if (b->ev[i].kind == SIM_EV_HISTORY) return i;
        }
    }
    return b->n > 0 ? b->n - 1 : NONE;
}

/* Whether the failure is a failed check's last history entry (not a violation, not --step):
 * then what the check reads after that entry starts the walk too (check_roots). */
static bool check_entry(const sim__evbuf *b, const sim__run_row *row, const explain_opts *o,
                        uint64_t from)
{
    if (o->have_step || strcmp(row->result, "check") != 0 || from == NONE) return false;
    SIM_ASSERT(from < b->n);
    return b->ev[from].kind == SIM_EV_HISTORY;
}

/* What a failed check depends on past its last history entry `from`: every crash and crash
 * resolution after it, and the last event of every task spawned on a node after a restart
 * that comes after it (the recovery that found what survived). Writes their indexes to
 * roots (room for b->n) and returns how many. */
static uint64_t check_roots(const sim__evbuf *b, uint64_t from, uint64_t *roots)
{
    SIM_ASSERT(from < b->n);
    lastmap restarted = {0}, booted = {0}; /* node -> restart; task -> its last event */
    uint64_t n = 0;
    for (uint64_t i = from + 1; i < b->n; i++) {
        const sim__ev *e = &b->ev[i];
        if (e->kind == SIM_EV_CRASH || e->kind == SIM_EV_DISK_CRASH) roots[n++] = i;
        if (e->kind == SIM_EV_RESTART) lastmap_put(&restarted, e->node, i);
        bool boots = e->kind == SIM_EV_SPAWN && e->task != 0 &&
                     lastmap_get(&restarted, e->node) != NONE;
        if (boots || (e->task != 0 && lastmap_get(&booted, e->task) != NONE)) {
            lastmap_put(&booted, e->task, i);
        }
    }
    for (uint64_t k = 0; k < booted.cap; k++) {
        if (booted.keys[k] != NONE) roots[n++] = booted.vals[k];
    }
    lastmap_free(&restarted);
    lastmap_free(&booted);
    SIM_ASSERT(n <= b->n - from - 1); /* distinct events after from: a crash's have no task */
    return n;
}

/* Whether a run's end is a hang: then the failure is also every unfinished task's last event
 * (what each was doing when everything stopped). */
static bool hung(const sim__run_row *row)
{
    return strcmp(row->result, "deadlock") == 0 || strcmp(row->result, "liveness") == 0 ||
           strcmp(row->result, "steplimit") == 0;
}

/* Marks the causal past of `from` (itself included), of the nroots events in roots and,
 * when `tasks`, of the last event of every task that never ended; returns how many events
 * the slice holds. */
static uint64_t mark_slice(const slicer *s, uint64_t from, const uint64_t *roots,
                           uint64_t nroots, bool tasks, bool *in)
{
    const sim__evbuf *b = s->evs;
    uint64_t *todo = sim__xcalloc(b->n + 1, sizeof *todo, "a causal slice");
    uint64_t head = 0, tail = 0, count = 0;
    in[from] = true;
    todo[tail++] = from;
    for (uint64_t r = 0; r < nroots; r++) {
        SIM_ASSERT(roots[r] < b->n);
        if (in[roots[r]]) continue;
        in[roots[r]] = true;
        todo[tail++] = roots[r];
    }
    if (tasks) {
        lastmap last = {0}, ended = {0};
        for (uint64_t i = 0; i < b->n; i++) {
            const sim__ev *e = &b->ev[i];
            if (e->task == 0) continue;
            lastmap_put(&last, e->task, i);
            bool end = e->kind == SIM_EV_COMPLETE || e->kind == SIM_EV_ABORT ||
                       e->kind == SIM_EV_DROP;
            if (end) lastmap_put(&ended, e->task, i);
        }
        for (uint64_t k = 0; k < last.cap; k++) {
            if (last.keys[k] == NONE || lastmap_get(&ended, last.keys[k]) != NONE) continue;
            uint64_t i = last.vals[k];
            if (in[i]) continue;
            in[i] = true;
            todo[tail++] = i;
        }
        lastmap_free(&last);
        lastmap_free(&ended);
    }
    while (head < tail) {
        uint64_t i = todo[head++];
        count++;
        for (int k = 0; k < 2; k++) {
            uint64_t c = s->cause[2 * i + (uint64_t)k];
            if (c == NONE || in[c]) continue;
            in[c] = true;
            todo[tail++] = c;
        }
    }
    free(todo);
    return count;
}

static int write_steps(const char *path, const sim__evbuf *b, const bool *in)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) return cli_usage_error(NULL, "--steps-out: cannot write %s: %s", path,
                                          strerror(errno));
    for (uint64_t i = 0; i < b->n; i++) {
        if (in[i]) fprintf(f, "%llu\n", (unsigned long long)b->ev[i].step);
    }
    if (fclose(f) != 0) {
        return cli_usage_error(NULL, "--steps-out: writing %s: %s", path, strerror(errno));
    }
    return 0;
}

static int explain_run(sim__store *st, const sim__run_row *row, const explain_opts *o)
{
    if (!row->events_stored) {
        return cli_usage_error(NULL, "run %llu has no stored events (recorded with --record %s); "
                               "record it: sim replay --db %s %llu --events, or run the seed "
                               "again with --record full",
                               (unsigned long long)row->run_id, row->record_mode, o->db,
                               (unsigned long long)row->run_id);
    }
    sim__event_filter all = {.node = -1, .task = -1, .kind = -1, .to_step = UINT64_MAX};
    sim__evbuf evs = {0};
    if (sim__store_events(st, row->run_id, &all, &evs) != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
        sim__evbuf_free(&evs);
        return EXIT_USAGE;
    }
    uint64_t from = failure_event(&evs, row, o);
    if (from == NONE) {
        sim__evbuf_free(&evs);
        return cli_usage_error(NULL, "run %llu has no event at step %llu",
                               (unsigned long long)row->run_id, (unsigned long long)o->step);
    }
    slicer s = {.evs = &evs};
    s.cause = sim__xmalloc((evs.n + 1) * 2 * sizeof *s.cause, "a causal slice");
    for (uint64_t i = 0; i < 2 * (evs.n + 1); i++) s.cause[i] = NONE;
    link_causes(&s);
    bool *in = sim__xcalloc(evs.n + 1, sizeof *in, "a causal slice");
    uint64_t *roots = sim__xcalloc(evs.n + 1, sizeof *roots, "a causal slice");
    uint64_t nroots = check_entry(&evs, row, o, from) ? check_roots(&evs, from, roots) : 0;
    uint64_t count = mark_slice(&s, from, roots, nroots, !o->have_step && hung(row), in);
    free(roots);
    int rc = o->steps_out != NULL ? write_steps(o->steps_out, &evs, in) : 0;
    if (rc == 0) {
        sim__names names = {0};
        sim__names_from(&evs, &names);
        char line[512];
        printf("run %llu: %s seed %llu, %s; the causal slice of step %llu: %llu of %llu "
               "events\n",
               (unsigned long long)row->run_id, row->scenario, (unsigned long long)row->seed,
               row->result, (unsigned long long)evs.ev[from].step, (unsigned long long)count,
               (unsigned long long)evs.n);
        printf("%s\n", sim__event_header());
        for (uint64_t i = 0; i < evs.n; i++) {
            if (!in[i]) continue;
            sim__event_line(&evs, i, &names, line, sizeof line);
            printf("%s\n", line);
        }
        sim__names_free(&names);
        if (row->detail[0] != '\0') {
            char detail[1024];
            cli_fill_detail(row->detail, o->db, row->run_id, true, detail, sizeof detail);
            printf("\n%s: %s\n", row->result, detail);
        }
        if (row->report != NULL && row->report[0] != '\0') fputs(row->report, stdout);
        printf("\n  all events: %s show --db %s %llu\n", cli_prog(), o->db,
               (unsigned long long)row->run_id);
    }
    free(in);
    free(s.cause);
    sim__evbuf_free(&evs);
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    explain_opts o = {0};
    int rc = parse_explain(argc, argv, &o);
    if (rc != 0) return rc < 0 ? 0 : rc;
    sim__store *st = NULL;
    sim__run_row row;
    rc = cli_open_run(o.db, o.run_id, SIM__STORE_READ, &st, &row);
    if (rc != 0) return rc;
    rc = explain_run(st, &row, &o);
    sim__run_row_free(&row);
    sim__store_close(st);
    return rc;
}
