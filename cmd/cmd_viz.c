/*
 * cmd_viz.c: sim viz, a recorded run as a picture.
 *
 *   sim viz --db FILE RUN [-o OUT] [--format html|shiviz] [--highlight STEPS_FILE]
 *
 * html (the default) writes one self-contained page (cmd/viz_page.html, compiled in as
 * build/gen/viz_page.h): a space-time diagram drawn on a canvas by the page's own script,
 * from the run's events embedded as JSON. shiviz writes ShiViz's log format: its parsing
 * expression on the first line, an empty delimiter line, then one line per event of a node
 * with the node as host and a vector clock computed from sends and deliveries.
 *
 * Method: the events are read once from the trace store; messages are paired here, not in
 * the page, because both formats need them: a send opens a message keyed by its addresses
 * and content (the event's a, and b without the drop reason), a duplicate opens a copy of
 * the last send with that key, a delivery closes the oldest open one with its key (a link
 * is FIFO per content; identical messages are interchangeable), and a drop closes the oldest
 * too, except a drop at the sender (net/send/drop), which closes the newest: the message
 * just sent. Cost: O(events) time with a hash table of open keys; memory O(events) for the
 * pairing and, for shiviz, O(sends x nodes) for the clocks sent.
 *
 * The JSON is made safe for a <script> element by writing <, > and & as \u escapes, so no
 * detail text can close the element; the page reads it with JSON.parse.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "viz_page.h"

static const char usage_viz[] =
    "usage: sim viz --db FILE RUN [-o OUT] [--format html|shiviz] [--highlight STEPS_FILE]\n"
    "\n"
    "Draws a recorded run (one whose events were stored: a failure under --record fail, any\n"
    "run under --record full) as a space-time diagram in one self-contained HTML file: a lane\n"
    "per node, messages as arrows from send to delivery (drops and duplicates marked), crashes,\n"
    "pauses, partitions and clogs as bands, disk syncs and crash outcomes, the clients'\n"
    "operations as intervals, and the failure at the end. Open it in a browser: wheel or +/-\n"
    "zooms, drag pans, a click shows the event's sim show row, the boxes filter nodes and\n"
    "kinds.\n"
    "\n"
    "  -o OUT              the file to write (default run-RUN.html, run-RUN.shiviz.log)\n"
    "  --format html       the page (default)\n"
    "  --format shiviz     ShiViz's log format: each node a host, vector clocks from the sends\n"
    "                      and deliveries; ShiViz reads its parsing expression from line 1\n"
    "  --highlight FILE    steps to draw emphasized (a causal slice): step numbers separated\n"
    "                      by spaces, commas or newlines; # starts a comment\n";

enum { VIZ_DROPPED = 1, VIZ_DUP = 2 };

#define VIZ_NONE UINT64_MAX

typedef struct viz_msg {
    uint64_t send;     /* event index of the send (of the original, for a duplicate) */
    uint64_t end;      /* event index of its delivery or drop; VIZ_NONE: still in flight */
    uint32_t flags;    /* VIZ_DROPPED, VIZ_DUP */
    uint32_t next;     /* the next open message with the same key, UINT32_MAX: none */
} viz_msg;

typedef struct viz_slot {
    uint64_t a, b;     /* the key: addresses and the message without its drop reason */
    uint32_t head;     /* oldest open message, UINT32_MAX: none */
    uint32_t last;     /* the last message sent with this key, UINT32_MAX: none */
    bool used;
} viz_slot;

typedef struct viz_run {
    sim__run_row row;
    sim__evbuf ev;
    sim__names names;
    viz_msg *msg;      /* in the order their sends (or duplications) happened */
    uint32_t nmsg;
    uint32_t *ends;    /* per event: the message it delivers or drops + 1, 0: none */
    uint32_t *opens;   /* per event: the message it sends or duplicates + 1, 0: none */
    uint64_t *steps;   /* --highlight, sorted as given */
    size_t nsteps;
} viz_run;

typedef struct viz_opts {
    const char *db;
    const char *out;
    const char *highlight;
    uint64_t run_id;
    bool have_run;
    bool shiviz;
} viz_opts;

/* ---- arguments ------------------------------------------------------------------------------ */

static int parse_viz(int argc, char **argv, viz_opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_rewrite(stdout, usage_viz);
            return -1;
        }
        if (a[0] == '-' && (v = cli_value(argc, argv, &i, a, usage_viz)) == NULL) {
            return EXIT_USAGE;
        }
        if (strcmp(a, "--db") == 0) {
            o->db = v;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            o->out = v;
        } else if (strcmp(a, "--highlight") == 0) {
            o->highlight = v;
        } else if (strcmp(a, "--format") == 0) {
            if (strcmp(v, "html") != 0 && strcmp(v, "shiviz") != 0) {
                return cli_usage_error(usage_viz, "--format expects html or shiviz, got '%s'", v);
            }
            o->shiviz = v[0] == 's';
        } else if (a[0] == '-') {
            return cli_usage_error(usage_viz, "unknown option '%s'", a);
        } else if (!o->have_run && cli_parse_u64(a, &o->run_id) == 0) {
            o->have_run = true;
        } else {
            return cli_usage_error(usage_viz, "unexpected argument '%s' (RUN is a number)", a);
        }
    }
    if (o->db == NULL) return cli_usage_error(usage_viz, "--db FILE is required");
    if (!o->have_run) return cli_usage_error(usage_viz, "which run? give RUN");
    if (o->out != NULL && o->out[0] == '\0') return cli_usage_error(usage_viz, "-o: empty path");
    return 0;
}

/* Reads --highlight's steps; a bad word is an error naming the file and line. */
static int read_steps(const char *path, viz_run *r)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_err("--highlight: cannot read %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    char line[4096];
    size_t cap = 0;
    for (unsigned no = 1; fgets(line, sizeof line, f) != NULL; no++) {
        char *hash = strchr(line, '#');
        if (hash != NULL) *hash = '\0';
        for (char *w = strtok(line, " \t\r\n,"); w != NULL; w = strtok(NULL, " \t\r\n,")) {
            uint64_t step;
            if (cli_parse_u64(w, &step) != 0) {
                cli_err("%s:%u: --highlight expects step numbers, got '%s'\n", path, no, w);
                fclose(f);
                return EXIT_USAGE;
            }
            if (r->nsteps == cap) {
                cap = cap ? cap * 2 : 256;
                r->steps = sim__xrealloc(r->steps, cap * sizeof *r->steps, "highlighted steps");
            }
            r->steps[r->nsteps++] = step;
        }
    }
    fclose(f);
    return 0;
}

/* ---- pairing messages ----------------------------------------------------------------------- */

static bool is_net_msg(uint32_t kind)
{
    return kind == SIM_EV_NET_SEND || kind == SIM_EV_NET_DELIVER || kind == SIM_EV_NET_DROP ||
           kind == SIM_EV_NET_DUP;
}

/* The slot of a key: found, or a free one claimed for it. size is a power of two. */
static viz_slot *slot_of(viz_slot *slots, size_t size, uint64_t a, uint64_t b)
{
    SIM_ASSERT(size > 0 && (size & (size - 1)) == 0);
    uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
    for (size_t i = (size_t)(h >> 17) & (size - 1);; i = (i + 1) & (size - 1)) {
        viz_slot *s = &slots[i];
        if (!s->used) {
            *s = (viz_slot){.a = a, .b = b, .head = UINT32_MAX, .last = UINT32_MAX, .used = true};
            return s;
        }
        if (s->a == a && s->b == b) return s;
    }
}

/* Opens a message sent by event `send`, or (VIZ_DUP) its copy made by event `at`. */
static void open_msg(viz_run *r, viz_slot *s, uint64_t send, uint64_t at, uint32_t flags)
{
    SIM_ASSERT(at >= send);
    uint32_t m = r->nmsg++;
    r->msg[m] = (viz_msg){.send = send, .end = VIZ_NONE, .flags = flags, .next = UINT32_MAX};
    uint32_t *p = &s->head;
    while (*p != UINT32_MAX) p = &r->msg[*p].next;
    *p = m;
    s->last = m;
    r->opens[at] = m + 1;
}

/* Closes the oldest open message of the slot (the newest when `newest`); UINT32_MAX: none. */
static uint32_t close_msg(viz_run *r, viz_slot *s, bool newest)
{
    uint32_t *p = &s->head;
    if (*p == UINT32_MAX) return UINT32_MAX;
    while (newest && r->msg[*p].next != UINT32_MAX) p = &r->msg[*p].next;
    uint32_t m = *p;
    *p = r->msg[m].next;
    r->msg[m].next = UINT32_MAX;
    return m;
}

static void pair_messages(viz_run *r)
{
    uint64_t opens = 0;
    for (uint64_t i = 0; i < r->ev.n; i++) {
        opens += r->ev.ev[i].kind == SIM_EV_NET_SEND || r->ev.ev[i].kind == SIM_EV_NET_DUP;
    }
    SIM_ASSERT(opens < UINT32_MAX);
    size_t size = 64;
    while (size < opens * 2) size *= 2;
    viz_slot *slots = sim__xcalloc(size, sizeof *slots, "the open messages");
    r->msg = sim__xcalloc(opens ? opens : 1, sizeof *r->msg, "the messages");
    r->ends = sim__xcalloc(r->ev.n ? r->ev.n : 1, sizeof *r->ends, "the message ends");
    r->opens = sim__xcalloc(r->ev.n ? r->ev.n : 1, sizeof *r->opens, "the message starts");
    for (uint64_t i = 0; i < r->ev.n; i++) {
        const sim__ev *e = &r->ev.ev[i];
        if (!is_net_msg(e->kind)) continue;
        viz_slot *s = slot_of(slots, size, e->a, e->b & ~(0xffull << 48));
        if (e->kind == SIM_EV_NET_SEND) {
            open_msg(r, s, i, i, 0);
        } else if (e->kind == SIM_EV_NET_DUP) {
            if (s->last != UINT32_MAX) open_msg(r, s, r->msg[s->last].send, i, VIZ_DUP);
        } else {
            bool at_sender = SIM_EV_NET_WHY(e->b) == SIM_NET_WHY_FAULT;
            uint32_t m = close_msg(r, s, e->kind == SIM_EV_NET_DROP && at_sender);
            if (m == UINT32_MAX) continue;
            r->msg[m].end = i;
            if (e->kind == SIM_EV_NET_DROP) r->msg[m].flags |= VIZ_DROPPED;
            r->ends[i] = m + 1;
        }
    }
    SIM_ASSERT(r->nmsg <= opens);
    free(slots);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

/* A JSON string safe inside <script>: <, > and & escaped, and U+2028/9 too. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p);
        } else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&') {
            fprintf(f, "\\u%04x", *p);
        } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            fprintf(f, "\\u%04x", p[2] == 0xa8 ? 0x2028 : 0x2029);
            p += 2;
        } else {
            fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* Net events' fields: the drop or reset reason, or the link change; the two nodes. */
static void event_fields_net(const sim__ev *e, uint64_t *sub, uint64_t *x, uint64_t *y)
{
    SIM_ASSERT(e->kind >= SIM_EV_NET_SEND);
    SIM_ASSERT(e->kind <= SIM_EV_NET_LINK);
    if (e->kind == SIM_EV_NET_LINK) {
        *sub = e->b;
        *x = e->a >> 32;
        *y = e->a & 0xffffffffu;
        return;
    }
    *sub = e->kind == SIM_EV_NET_RESET ? e->b : SIM_EV_NET_WHY(e->b);
    *x = (e->a >> 32) >> 16;
    *y = (e->a & 0xffffffffu) >> 16;
}

/* The small fields the page draws with: sub (a kind's code: drop reason, link change, disk
 * op or crash outcome, operation type), x and y (peer nodes, or an operation and process).
 * A peer that is no node of the run (a damaged database) is given as 0, the world. */
static void event_fields(const sim__ev *e, uint32_t nodes, uint64_t *sub, uint64_t *x,
                         uint64_t *y)
{
    *sub = *x = *y = 0;
    if (e->kind >= SIM_EV_NET_SEND && e->kind <= SIM_EV_NET_LINK) {
        event_fields_net(e, sub, x, y);
        if (*x >= nodes) *x = 0;
        if (*y >= nodes) *y = 0;
        return;
    }
    switch (e->kind) {
    case SIM_EV_DISK_OP:
        *sub = e->b >> 56;
        *x = (e->b >> 48) & 0xff;
        break;
    case SIM_EV_DISK_CRASH:
        *sub = e->b >> 56;
        *x = (e->b >> 48) & 0xff;
        break;
    case SIM_EV_HISTORY:
        *sub = e->b & 0xffffffffu;
        *x = e->a >> 32;
        *y = e->a & 0xffffffffu;
        break;
    default:
        break;
    }
}

static void json_events(FILE *f, const viz_run *r)
{
    char line[512];
    fputs(",\n\"ev\":[", f);
    for (uint64_t i = 0; i < r->ev.n; i++) {
        const sim__ev *e = &r->ev.ev[i];
        uint64_t sub, x, y;
        event_fields(e, r->names.n, &sub, &x, &y);
        sim__event_line(&r->ev, i, &r->names, line, sizeof line);
        /* An event of no node of the run (a damaged database) goes to the world's lane. */
        uint32_t node = e->node < r->names.n ? e->node : 0;
        fprintf(f, "%s\n[%llu,%llu,%u,%u,%u,%llu,%llu,%llu,", i ? "," : "",
                (unsigned long long)e->step, (unsigned long long)e->vtime_ns, node, e->task,
                e->kind, (unsigned long long)sub, (unsigned long long)x, (unsigned long long)y);
        json_str(f, line);
        fputc(']', f);
    }
    fputs("],\n\"msgs\":[", f);
    for (uint32_t m = 0; m < r->nmsg; m++) {
        const viz_msg *g = &r->msg[m];
        fprintf(f, "%s[%llu,%lld,%u]", m ? "," : "", (unsigned long long)g->send,
                g->end == VIZ_NONE ? -1ll : (long long)g->end, g->flags);
    }
    fputs("],\n\"slice\":[", f);
    for (size_t i = 0; i < r->nsteps; i++) {
        fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)r->steps[i]);
    }
    fputs("]", f);
}

static void json_data(FILE *f, const viz_run *r, const viz_opts *o)
{
    char detail[1024];
    cli_fill_detail(r->row.detail, o->db, r->row.run_id, r->row.events_stored, detail,
                    sizeof detail);
    fprintf(f, "{\"run\":%llu,\"seed\":%llu,\"events\":%llu,\"steps\":%llu,\"vtime_ns\":%llu,",
            (unsigned long long)r->row.run_id, (unsigned long long)r->row.seed,
            (unsigned long long)r->ev.n, (unsigned long long)r->row.step_count,
            (unsigned long long)r->row.vtime_ns);
    fputs("\"scenario\":", f);
    json_str(f, r->row.scenario);
    fputs(",\"db\":", f);
    json_str(f, o->db);
    fputs(",\"result\":", f);
    json_str(f, r->row.result);
    fputs(",\"detail\":", f);
    json_str(f, detail);
    fputs(",\"faults\":", f);
    json_str(f, r->row.faults);
    fputs(",\"header\":", f);
    json_str(f, sim__event_header());
    fputs(",\n\"nodes\":[", f);
    for (uint32_t i = 0; i < r->names.n; i++) {
        if (i > 0) fputc(',', f);
        json_str(f, i == 0 ? "world" : sim__names_get(&r->names, i));
    }
    fputs("],\n\"kinds\":{", f);
    bool first = true;
    /* Kinds are below 32 (SIM_EVENT_TABLE); asking past the enum's range would be undefined
     * behaviour to UBSan's enum check. */
    _Static_assert(SIM_EV_HISTORY < 32, "sim viz names kinds 1..31");
    for (uint32_t k = 1; k < 32; k++) {
        const char *name = sim_event_kind_name((sim_event_kind)k);
        if (strcmp(name, "?") == 0) continue;
        fprintf(f, "%s\"%u\":\"%s\"", first ? "" : ",", k, name);
        first = false;
    }
    fputc('}', f);
    json_events(f, r);
    fputs("}", f);
}

static void write_html(FILE *f, const viz_run *r, const viz_opts *o)
{
    for (size_t i = 0; i < sizeof viz_page / sizeof viz_page[0]; i++) {
        if (strcmp(viz_page[i], "@@DATA@@\n") == 0) {
            json_data(f, r, o);
            fputc('\n', f);
        } else {
            fputs(viz_page[i], f);
        }
    }
}

/* ---- ShiViz --------------------------------------------------------------------------------- */

/* The events ShiViz gets: what crosses nodes or changes one, not the executor's bookkeeping. */
static bool shiviz_keeps(const sim__ev *e)
{
    if (e->node == 0) return false;
    switch (e->kind) {
    case SIM_EV_NET_SEND:
    case SIM_EV_NET_DELIVER:
    case SIM_EV_NET_DROP:
    case SIM_EV_NET_DUP:
    case SIM_EV_NET_RESET:
    case SIM_EV_CRASH:
    case SIM_EV_RESTART:
    case SIM_EV_PAUSE:
    case SIM_EV_RESUME:
    case SIM_EV_FAULT:
    case SIM_EV_DISK_CRASH:
    case SIM_EV_HISTORY:
    case SIM_EV_VIOLATION:
        return true;
    case SIM_EV_DISK_OP:
        return (e->b >> 56) == SIM_DISK_SYNC || (e->b >> 56) == SIM_DISK_DATASYNC;
    default:
        return false;
    }
}

/* A host name without spaces or quotes (the expression splits on the first space). */
static void host_name(const viz_run *r, uint32_t node, char *buf, size_t size)
{
    snprintf(buf, size, "%s", sim__names_get(&r->names, node));
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == ' ' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = '_';
    }
}

static void shiviz_line(FILE *f, const viz_run *r, uint64_t i, const uint32_t *clock)
{
    char host[128], line[512];
    host_name(r, r->ev.ev[i].node, host, sizeof host);
    fprintf(f, "%s {", host);
    bool first = true;
    for (uint32_t n = 1; n < r->names.n; n++) {
        if (clock[n] == 0) continue;
        char other[128];
        host_name(r, n, other, sizeof other);
        fprintf(f, "%s\"%s\":%u", first ? "" : ", ", other, clock[n]);
        first = false;
    }
    sim__event_line(&r->ev, i, &r->names, line, sizeof line);
    fputs("} ", f);
    /* The row with its alignment squeezed out: single spaces. */
    for (const char *p = line + strspn(line, " "); *p != '\0'; p++) {
        if (*p != ' ' || (p[1] != ' ' && p[1] != '\0')) fputc(*p, f);
    }
    fputc('\n', f);
}

/* Vector clocks: a node's own entry counts its events; a delivery takes the maximum with the
 * clock its message was sent with (each message keeps a copy). */
static void write_shiviz(FILE *f, const viz_run *r)
{
    uint32_t nn = r->names.n ? r->names.n : 1;
    uint32_t *clock = sim__xcalloc((size_t)nn * nn, sizeof *clock, "the vector clocks");
    uint32_t *sent = sim__xcalloc((size_t)(r->nmsg ? r->nmsg : 1) * nn, sizeof *sent,
                                  "the clocks sent");
    fputs("^(?<host>\\S+) (?<clock>\\{[^}]*\\}) (?<event>.*)$\n\n", f);
    for (uint64_t i = 0; i < r->ev.n; i++) {
        const sim__ev *e = &r->ev.ev[i];
        if (!shiviz_keeps(e) || e->node >= nn) continue;
        uint32_t *c = &clock[(size_t)e->node * nn];
        uint32_t m = r->ends[i];
        if (m != 0 && !(r->msg[m - 1].flags & VIZ_DROPPED)) {
            const uint32_t *s = &sent[(size_t)(m - 1) * nn];
            for (uint32_t k = 0; k < nn; k++) c[k] = c[k] > s[k] ? c[k] : s[k];
        }
        c[e->node]++;
        if (r->opens[i] != 0) memcpy(&sent[(size_t)(r->opens[i] - 1) * nn], c, nn * sizeof *c);
        shiviz_line(f, r, i, c);
    }
    free(sent);
    free(clock);
}

/* ---- the command ---------------------------------------------------------------------------- */

static int load_run(sim__store *st, const viz_opts *o, viz_run *r)
{
    if (sim__store_run(st, o->run_id, &r->row) != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
        return EXIT_USAGE;
    }
    if (!r->row.events_stored) {
        cli_err("run %llu has no stored events (recorded with --record %s); record them with "
                "sim run --db %s --record full, or a failing seed under --record fail\n",
                (unsigned long long)o->run_id, r->row.record_mode, o->db);
        return EXIT_USAGE;
    }
    if (sim__store_events(st, o->run_id, NULL, &r->ev) != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
        return EXIT_USAGE;
    }
    sim__names_from(&r->ev, &r->names);
    return 0;
}

/* The most nodes --format shiviz takes: its clocks cost nodes x (nodes + messages). */
#define VIZ_SHIVIZ_NODES 256

static int write_out(const viz_run *r, const viz_opts *o, const char *path)
{
    if (o->shiviz && r->names.n > VIZ_SHIVIZ_NODES) {
        cli_err("run %llu has %u nodes; --format shiviz takes at most %u\n",
                (unsigned long long)r->row.run_id, r->names.n - 1, VIZ_SHIVIZ_NODES - 1);
        return EXIT_USAGE;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        cli_err("cannot write %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    if (o->shiviz) {
        write_shiviz(f, r);
    } else {
        write_html(f, r, o);
    }
    bool bad = ferror(f) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        e = errno;
    }
    if (bad) {
        cli_err("writing %s: %s\n", path, strerror(e));
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_viz(int argc, char **argv)
{
    viz_opts o = {0};
    int rc = parse_viz(argc, argv, &o);
    if (rc != 0) return rc < 0 ? 0 : rc;
    viz_run r = {0};
    if (o.highlight != NULL && (rc = read_steps(o.highlight, &r)) != 0) {
        free(r.steps);
        return rc;
    }
    sim__store *st = cli_open_store(o.db, SIM__STORE_READ);
    if (st == NULL) {
        free(r.steps);
        return EXIT_USAGE;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s", o.out);
    if (o.out == NULL) {
        snprintf(path, sizeof path, "run-%llu.%s", (unsigned long long)o.run_id,
                 o.shiviz ? "shiviz.log" : "html");
    }
    rc = load_run(st, &o, &r);
    if (rc == 0) {
        pair_messages(&r);
        rc = write_out(&r, &o, path);
    }
    if (rc == 0) {
        printf("wrote %s: run %llu, %llu events, %u messages%s\n", path,
               (unsigned long long)o.run_id, (unsigned long long)r.ev.n, r.nmsg,
               o.shiviz ? " (ShiViz: paste it, or open it with its file input)" : "");
    }
    if (r.row.scenario != NULL) sim__run_row_free(&r.row);
    sim__names_free(&r.names);
    sim__evbuf_free(&r.ev);
    free(r.msg);
    free(r.ends);
    free(r.opens);
    free(r.steps);
    sim__store_close(st);
    return rc;
}
