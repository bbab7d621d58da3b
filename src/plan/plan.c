/*
 * plan.c: the [faults] section of a scenario file (docs/faults.md).
 *
 * Keys are of four sorts: plain settings (swarm, tick, max_down, restart_after, pause_for,
 * quiet_after, converge_within, clock_skew, clock_drift, fail_hit), one rate per fault point
 * (crash, pause, restart, and each sut/... point the system declares), and `at`, the one key
 * that may repeat, for scripted events. A rate is a probability per hit ("0.01", "1/100") or,
 * for points the driver hits on the clock, a rate per virtual time ("1/30s": once every 30 s
 * on average); either may be a range "lo..hi" that each seed draws from. Every value has a
 * canonical text that parses back to the same value, which is what a run records.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>

#include "plan.h"

enum {
    K_SWARM,
    K_TICK,
    K_MAX_DOWN,
    K_RESTART_AFTER,
    K_PAUSE_FOR,
    K_QUIET_AFTER,
    K_CONVERGE,
    K_SKEW,
    K_DRIFT,
    K_FAIL_HIT,
    K_PARTITION_MODE,
    K_PARTITION_FOR,
    K_PARTITION_ONEWAY,
    K_CLOG_FOR,
    K_COUNT
};

static const struct {
    const char *key;
    const char *def;
} plain[K_COUNT] = {
    [K_SWARM] = {"swarm", "false"},
    [K_TICK] = {"tick", "100ms"},
    [K_MAX_DOWN] = {"max_down", "all"},
    [K_RESTART_AFTER] = {"restart_after", "1s..10s"},
    [K_PAUSE_FOR] = {"pause_for", "100ms..2s"},
    [K_QUIET_AFTER] = {"quiet_after", "never"},
    [K_CONVERGE] = {"converge_within", "20s"},
    [K_SKEW] = {"clock_skew", "0s"},
    [K_DRIFT] = {"clock_drift", "0"},
    [K_FAIL_HIT] = {"fail_hit", "none"},
    [K_PARTITION_MODE] = {"partition_mode", "any"},
    [K_PARTITION_FOR] = {"partition_for", "1s..10s"},
    [K_PARTITION_ONEWAY] = {"partition_oneway", "0"},
    [K_CLOG_FOR] = {"clog_for", "100ms..2s"},
};
_Static_assert(K_COUNT <= 24, "lines[] holds every plain key");

#define MAX_DRIFT_PPM 500000u
#define MAX_TICK (10 * SIM_S)
#define MAX_NODES_PER_LINE 64

__extension__ typedef unsigned __int128 u128;

/* ---- rates ---------------------------------------------------------------------------------- */

/* "0.25", "1", "0" -> ppt. At most 12 decimals. */
static bool parse_decimal(const char *s, uint64_t *ppt)
{
    if (s[0] != '0' && s[0] != '1') return false;
    uint64_t whole = (uint64_t)(s[0] - '0');
    const char *p = s + 1;
    uint64_t frac = 0, scale = SIM__PPT_ONE;
    if (*p == '.') {
        p++;
        if (*p == '\0') return false;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale == 1) return false;
            scale /= 10;
            frac += (uint64_t)(*p - '0') * scale;
        }
    }
    if (*p != '\0') return false;
    if (whole == 1 && frac != 0) return false;
    *ppt = whole * SIM__PPT_ONE + frac;
    return true;
}

/* One end of a rate: "0.01", "1/100" (per hit) or "1/30s" (per time). "0" has no kind. */
static bool parse_rate_end(const char *s, bool *per_time, bool *kindless, uint64_t *out)
{
    *kindless = false;
    const char *slash = strchr(s, '/');
    if (slash == NULL) {
        *per_time = false;
        *kindless = strcmp(s, "0") == 0;
        return parse_decimal(s, out);
    }
    char num_text[24];
    size_t n = (size_t)(slash - s);
    if (n == 0 || n >= sizeof num_text) return false;
    memcpy(num_text, s, n);
    num_text[n] = '\0';
    uint64_t num, den;
    if (!sim__parse_u64(num_text, &num)) return false;
    const char *d = slash + 1;
    size_t dl = strlen(d);
    if (dl > 0 && d[dl - 1] >= 'a' && d[dl - 1] <= 'z') {
        if (sim__parse_duration(d, &den) != SIM_OK || den == 0 || num > 1000000) return false;
        *per_time = true;
        u128 pps = (u128)num * SIM__PPT_ONE * SIM_S / den;
        if (pps > UINT64_MAX) return false;
        *out = (uint64_t)pps;
        if (num != 0 && *out == 0) *out = 1;
        *kindless = num == 0;
        return true;
    }
    if (!sim__parse_u64(d, &den) || den == 0 || num > den) return false;
    *per_time = false;
    *out = (uint64_t)((u128)num * SIM__PPT_ONE / den);
    if (num != 0 && *out == 0) *out = 1;
    *kindless = num == 0;
    return true;
}

/* A rate or a range of rates, with its canonical text. */
static int parse_rate(const sim__point *p, const char *text, sim__rate *r, char *canon,
                      size_t csize, char *err, size_t esize)
{
    const char *what = (p->flags & SIM__PF_TIMED)
                           ? "a probability per hit (0.01, 1/100), a rate per virtual time "
                             "(1/30s; the time at most " SIM__DURATION_MAX_TEXT "), or a range "
                             "of them (0..1/10s)"
                           : "a probability per hit (0.01, 1/100) or a range (0..0.1)";
    char lo_text[64], hi_text[64];
    const char *dots = strstr(text, "..");
    if (strlen(text) >= sizeof lo_text) {
        return sim__einval(err, esize, "[faults] %s: expected %s; got '%s'", p->key, what, text);
    }
    if (dots != NULL) {
        size_t n = (size_t)(dots - text);
        memcpy(lo_text, text, n);
        lo_text[n] = '\0';
        snprintf(hi_text, sizeof hi_text, "%s", dots + 2);
    } else {
        snprintf(lo_text, sizeof lo_text, "%s", text);
        snprintf(hi_text, sizeof hi_text, "%s", text);
    }
    bool lo_time, hi_time, lo_any, hi_any;
    uint64_t lo, hi;
    if (!parse_rate_end(lo_text, &lo_time, &lo_any, &lo) ||
        !parse_rate_end(hi_text, &hi_time, &hi_any, &hi)) {
        return sim__einval(err, esize,
                           "[faults] %s: expected %s, each probability in [0, 1]; got '%s'", p->key,
                           what, text);
    }
    bool per_time = lo_any ? hi_time : lo_time;
    if (!lo_any && !hi_any && lo_time != hi_time) {
        return sim__einval(
            err, esize,
            "[faults] %s: both ends of a range must be probabilities or both rates per "
            "time; got '%s'",
            p->key, text);
    }
    if (per_time && !(p->flags & SIM__PF_TIMED)) {
        return sim__einval(
            err, esize,
            "[faults] %s: code hits this point, not the clock: give a probability per "
            "hit (0.01, 1/100); got '%s'",
            p->key, text);
    }
    if (lo > hi) {
        return sim__einval(err, esize, "[faults] %s: a range goes from low to high; got '%s'",
                           p->key, text);
    }
    *r = (sim__rate){.per_time = per_time, .lo = lo, .hi = hi};
    sim__rate_format(r, canon, csize);
    return SIM_OK;
}

/* A per-time value as "N/D": the smallest count N for which the interval is whole ns. */
static void per_time_format(uint64_t pps, char *buf, size_t size)
{
    if (pps == 0) {
        snprintf(buf, size, "0");
        return;
    }
    const u128 one = (u128)SIM__PPT_ONE * SIM_S; /* pps of one event per ns */
    for (uint64_t n = 1; n <= 1000000; n *= 10) {
        u128 top = one * n;
        if (top % pps != 0) continue;
        char d[32];
        sim__format_duration((uint64_t)(top / pps), d, sizeof d);
        snprintf(buf, size, "%llu/%s", (unsigned long long)n, d);
        return;
    }
    /* Not exact in ns: the nearest interval (what the per-tick probability uses). */
    char d[32];
    sim__format_duration((uint64_t)(one / pps), d, sizeof d);
    snprintf(buf, size, "1/%s", d);
}

void sim__rate_format(const sim__rate *r, char *buf, size_t size)
{
    char lo[48], hi[48];
    if (r->per_time) {
        per_time_format(r->lo, lo, sizeof lo);
        per_time_format(r->hi, hi, sizeof hi);
    } else {
        sim__ppt_format(r->lo, lo, sizeof lo);
        sim__ppt_format(r->hi, hi, sizeof hi);
    }
    if (r->lo == r->hi) {
        snprintf(buf, size, "%s", lo);
    } else {
        snprintf(buf, size, "%s..%s", lo, hi);
    }
}

/* ---- durations and ranges ------------------------------------------------------------------- */

static int parse_span(const char *key, const char *text, uint64_t min, uint64_t *lo,
                      uint64_t *hi, char *err, size_t esize)
{
    if (!sim__parse_duration_range(text, lo, hi) || *lo < min) {
        char m[32];
        sim__format_duration(min, m, sizeof m);
        return sim__einval(
            err, esize,
            "[faults] %s: expected a duration (2s) or a range lo..hi (1s..10s) of at "
            "least %s and at most " SIM__DURATION_MAX_TEXT "; got '%s'",
            key, m, text);
    }
    return SIM_OK;
}

static int parse_duration_key(const char *key, const char *text, uint64_t min, uint64_t max,
                              uint64_t *out, char *err, size_t esize)
{
    if (sim__parse_duration(text, out) != SIM_OK || *out < min || (max && *out > max)) {
        char a[32], b[32];
        sim__format_duration(min, a, sizeof a);
        sim__format_duration(max, b, sizeof b);
        if (max) {
            return sim__einval(
                err, esize,
                "[faults] %s: expected a duration from %s to %s (units ns, us, ms, s, m, "
                "h); got '%s'",
                key, a, b, text);
        }
        return sim__einval(
            err, esize,
            "[faults] %s: expected a duration of at least %s and at most "
            SIM__DURATION_MAX_TEXT " (units ns, us, ms, s, m, h); got '%s'",
            key, a, text);
    }
    return SIM_OK;
}

/* ---- at lines ------------------------------------------------------------------------------- */

static const struct {
    const char *word;
    sim_fault_action action;
} at_actions[] = {
    {"crash", SIM_FAULT_CRASH},         {"restart", SIM_FAULT_RESTART},
    {"pause", SIM_FAULT_PAUSE},         {"resume", SIM_FAULT_RESUME},
    {"partition", SIM_FAULT_PARTITION}, {"heal", SIM_FAULT_HEAL},
    {"clog", SIM_FAULT_CLOG},           {"unclog", SIM_FAULT_UNCLOG},
};
#define NAT_ACTIONS (sizeof at_actions / sizeof at_actions[0])

static void at_free(sim__at *a)
{
    for (uint32_t i = 0; i < a->nnames; i++) free(a->names[i]);
    free(a->names);
    free(a->groups);
    free(a->text);
    free(a->label);
    memset(a, 0, sizeof *a);
}

static void names_list(const char *const *names, uint32_t n, char *buf, size_t size)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
    }
    if (n == 0) snprintf(buf, size, "none");
}

static void node_list(const sim__fault_spec *s, char *buf, size_t size)
{
    names_list((const char *const *)s->nodes, s->nnodes, buf, size);
}

/* Splits `value` into words in buf (at least 3x its size), '|' and '->' being words of their
 * own. Returns the count, or -1 when there are more than max. */
static int at_words(const char *value, char *buf, char **words, int max)
{
    size_t o = 0;
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '|') {
            memcpy(buf + o, " | ", 3);
            o += 3;
        } else if (p[0] == '-' && p[1] == '>') {
            memcpy(buf + o, " -> ", 4);
            o += 4;
            p++;
        } else {
            buf[o++] = *p == '\t' ? ' ' : *p;
        }
    }
    buf[o] = '\0';
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (n == max) return -1;
        words[n++] = w;
    }
    return n;
}

static int at_names(sim__fault_spec *s, sim__at *a, char **words, int nwords, char *err,
                    size_t esize)
{
    const char *verb = at_actions[0].word;
    for (size_t i = 0; i < NAT_ACTIONS; i++) {
        if (at_actions[i].action == a->action) verb = at_actions[i].word;
    }
    a->names = sim__xcalloc((size_t)nwords + 1, sizeof *a->names, "an at line's nodes");
    a->groups = sim__xcalloc((size_t)nwords + 1, sizeof *a->groups, "an at line's groups");
    uint32_t group = 0;
    bool empty_group = true;
    for (int i = 0; i < nwords; i++) {
        bool arrow = strcmp(words[i], "->") == 0;
        if (arrow || strcmp(words[i], "|") == 0) {
            if (a->action != SIM_FAULT_PARTITION || empty_group || (arrow && group > 0) ||
                (a->oneway && !arrow) || (arrow && a->oneway)) {
                return sim__einval(
                    err, esize,
                    "[faults] at: '|' separates the groups of a partition (at = 3s "
                    "partition n1 | n2 n3), '->' the two sides of a one-way one (at = "
                    "3s partition n1 -> n2 n3)");
            }
            a->oneway = arrow;
            group++;
            empty_group = true;
            continue;
        }
        for (uint32_t j = 0; j < a->nnames; j++) {
            if (strcmp(a->names[j], words[i]) == 0) {
                return sim__einval(err, esize, "[faults] at: node '%s' is named twice", words[i]);
            }
        }
        bool known = !s->nodes_known;
        for (uint32_t j = 0; j < s->nnodes && !known; j++) known = !strcmp(s->nodes[j], words[i]);
        if (!known) {
            char list[256];
            node_list(s, list, sizeof list);
            return sim__einval(err, esize, "[faults] at: unknown node '%s'; the nodes are: %s",
                               words[i], list);
        }
        a->names[a->nnames] = sim__xstrdup(words[i], "a node name");
        a->groups[a->nnames++] = group;
        empty_group = false;
    }
    if (a->action == SIM_FAULT_HEAL && a->nnames > 0) {
        return sim__einval(err, esize, "[faults] at: heal takes no nodes (at = 9s heal)");
    }
    if (a->action == SIM_FAULT_PARTITION && (group == 0 || empty_group)) {
        return sim__einval(
            err, esize,
            "[faults] at: a partition needs two or more groups of nodes separated by "
            "'|' (at = 3s partition n1 | n2 n3)");
    }
    if (a->action != SIM_FAULT_HEAL && a->nnames == 0) {
        return sim__einval(err, esize, "[faults] at: %s needs one or more nodes (at = 5s %s n1)",
                           verb, verb);
    }
    return SIM_OK;
}

/* The canonical text of an at line: "5s partition n1 | n2 n3". */
static void at_canonical(sim__at *a, const char *verb)
{
    char buf[256];
    sim__format_duration(a->at_ns, buf, sizeof buf);
    size_t o = strlen(buf);
    o += (size_t)snprintf(buf + o, sizeof buf - o, " %s", verb);
    for (uint32_t i = 0; i < a->nnames && o < sizeof buf; i++) {
        bool bar = i > 0 && a->groups[i] != a->groups[i - 1];
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s %s",
                              bar ? (a->oneway ? " ->" : " |") : "", a->names[i]);
    }
    a->text = sim__xstrdup(buf, "an at line");
    a->label = sim__xmalloc(strlen(buf) + 4, "an at line");
    memcpy(a->label, "at ", 3);
    memcpy(a->label + 3, buf, strlen(buf) + 1);
}

static int parse_at(sim__fault_spec *s, const char *value, uint32_t line, char *err,
                    size_t esize)
{
    char text[3 * 256];
    if (strlen(value) >= 256) return sim__einval(err, esize, "[faults] at: line too long");
    char *words[MAX_NODES_PER_LINE + 8];
    int n = at_words(value, text, words, (int)(sizeof words / sizeof words[0]));
    const char *usage = "expected 'TIME ACTION NODES' (at = 5s crash n2), ACTION one of crash, "
                        "restart, pause, resume, partition, heal, clog, unclog";
    if (n < 0)
        return sim__einval(err, esize, "[faults] at: more than %d nodes", MAX_NODES_PER_LINE);
    if (n < 2) return sim__einval(err, esize, "[faults] at: %s; got '%s'", usage, value);
    sim__at a = {.line = line};
    if (sim__parse_duration(words[0], &a.at_ns) != SIM_OK) {
        return sim__einval(err, esize,
                           "[faults] at: '%s' is not a time like 5s or 250ms, up to "
                           SIM__DURATION_MAX_TEXT "; %s",
                           words[0], usage);
    }
    size_t act = NAT_ACTIONS;
    for (size_t i = 0; i < NAT_ACTIONS; i++) {
        if (strcmp(words[1], at_actions[i].word) == 0) act = i;
    }
    if (act == NAT_ACTIONS) {
        return sim__einval(err, esize, "[faults] at: unknown action '%s'; %s", words[1], usage);
    }
    a.action = at_actions[act].action;
    int rc = at_names(s, &a, words + 2, n - 2, err, esize);
    if (rc != SIM_OK) {
        at_free(&a);
        return rc;
    }
    at_canonical(&a, at_actions[act].word);
    s->ats = sim__xrealloc_array(s->ats, s->nats + 1, sizeof *s->ats, "at lines");
    /* Keep them sorted by time, equal times in the order written. */
    uint32_t i = s->nats;
    while (i > 0 && s->ats[i - 1].at_ns > a.at_ns) {
        s->ats[i] = s->ats[i - 1];
        i--;
    }
    s->ats[i] = a;
    s->nats++;
    return SIM_OK;
}

/* ---- the nodes each kind of fault may hit --------------------------------------------------- */

static const char *const target_keys[SIM__TARGET_COUNT] = {
    [SIM__TARGET_CRASH] = "crash_nodes",
    [SIM__TARGET_PAUSE] = "pause_nodes",
    [SIM__TARGET_CLOG] = "clog_nodes",
    [SIM__TARGET_PARTITION] = "partition_nodes",
};

#define GROUP_PREFIX "group."

static void words_free(sim__node_words *nw)
{
    for (uint32_t i = 0; i < nw->nwords; i++) free(nw->words[i]);
    free(nw->words);
    free(nw->text);
    memset(nw, 0, sizeof *nw);
}

/* Parses "s1 s2 c*" into out (which it replaces on success). `all` alone = no words. */
static int parse_node_words(const char *key, const char *value, sim__node_words *out, char *err,
                            size_t esize)
{
    char buf[256];
    if (strlen(value) >= sizeof buf) {
        return sim__einval(err, esize, "[faults] %s: list too long (at most %zu characters)", key,
                           sizeof buf - 1);
    }
    for (size_t i = 0;; i++) {
        buf[i] = value[i] == '\t' ? ' ' : value[i];
        if (value[i] == '\0') break;
    }
    char *words[MAX_NODES_PER_LINE];
    uint32_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (n == MAX_NODES_PER_LINE) {
            return sim__einval(err, esize, "[faults] %s: more than %d names", key,
                               MAX_NODES_PER_LINE);
        }
        for (uint32_t j = 0; j < n; j++) {
            if (strcmp(words[j], w) == 0) {
                return sim__einval(err, esize, "[faults] %s: '%s' is named twice", key, w);
            }
        }
        words[n++] = w;
    }
    if (n == 0) {
        return sim__einval(err, esize,
                           "[faults] %s: expected node names, globs (s*, n[12]) or groups, or "
                           "all; got '%s'",
                           key, value);
    }
    bool all = false;
    for (uint32_t j = 0; j < n; j++) all |= strcmp(words[j], "all") == 0;
    if (all && n > 1) {
        return sim__einval(err, esize, "[faults] %s: 'all' stands alone; got '%s'", key, value);
    }
    words_free(out);
    if (all) return SIM_OK;
    out->words = sim__xcalloc(n, sizeof *out->words, "a list of nodes");
    size_t len = 0;
    for (uint32_t j = 0; j < n; j++) {
        out->words[j] = sim__xstrdup(words[j], "a node name");
        len += strlen(words[j]) + 1;
    }
    out->nwords = n;
    out->text = sim__xmalloc(len, "a list of nodes");
    size_t o = 0;
    for (uint32_t j = 0; j < n; j++) {
        o += (size_t)snprintf(out->text + o, len - o, "%s%s", j ? " " : "", words[j]);
    }
    SIM_ASSERT(o + 1 == len);
    return SIM_OK;
}

static const sim__node_group *group_find(const sim__fault_spec *s, const char *name)
{
    for (uint32_t i = 0; i < s->ngroups; i++) {
        if (strcmp(s->groups[i].name, name) == 0) return &s->groups[i];
    }
    return NULL;
}

/* Whether word (a node name, a glob, `all` or, when groups, a group) names node. */
static bool word_names(const sim__fault_spec *s, const char *word, const char *node, bool groups)
{
    if (strcmp(word, "all") == 0) return true;
    const sim__node_group *g = groups ? group_find(s, word) : NULL;
    if (g == NULL) return fnmatch(word, node, 0) == 0;
    for (uint32_t i = 0; i < g->nodes.nwords; i++) {
        if (word_names(s, g->nodes.words[i], node, false)) return true;
    }
    return false;
}

bool sim__fault_spec_targets(const sim__fault_spec *s, int kind, const char *node)
{
    SIM_ASSERT(kind >= 0 && kind < SIM__TARGET_COUNT);
    SIM_ASSERT(node != NULL);
    const sim__node_words *t = &s->targets[kind];
    for (uint32_t i = 0; i < t->nwords; i++) {
        if (word_names(s, t->words[i], node, true)) return true;
    }
    return t->nwords == 0;
}

static bool names_some_node(const sim__fault_spec *s, const char *word, const char *const *nodes,
                            uint32_t nnodes, bool groups)
{
    for (uint32_t i = 0; i < nnodes; i++) {
        if (word_names(s, word, nodes[i], groups)) return true;
    }
    return false;
}

int sim__fault_spec_check_nodes(const sim__fault_spec *s, const char *const *nodes,
                                uint32_t nnodes, char *err, size_t err_size, uint32_t *line)
{
    char list[256];
    names_list(nodes, nnodes, list, sizeof list);
    *line = 0;
    for (uint32_t i = 0; i < s->ngroups; i++) {
        const sim__node_group *g = &s->groups[i];
        *line = g->nodes.line;
        for (uint32_t j = 0; j < nnodes; j++) {
            if (strcmp(nodes[j], g->name) != 0) continue;
            return sim__einval(err, err_size,
                               "[faults] " GROUP_PREFIX "%s: a node has that name; name the "
                               "group otherwise",
                               g->name);
        }
        for (uint32_t j = 0; j < g->nodes.nwords; j++) {
            const char *w = g->nodes.words[j];
            if (names_some_node(s, w, nodes, nnodes, false)) continue;
            return sim__einval(err, err_size,
                               "[faults] " GROUP_PREFIX "%s: '%s' names no node; the nodes are: %s",
                               g->name, w, list);
        }
    }
    for (int k = 0; k < SIM__TARGET_COUNT; k++) {
        const sim__node_words *t = &s->targets[k];
        *line = t->line;
        for (uint32_t j = 0; j < t->nwords; j++) {
            const char *w = t->words[j];
            if (names_some_node(s, w, nodes, nnodes, true)) continue;
            char groups[256] = "";
            for (uint32_t g = 0; g < s->ngroups; g++) {
                size_t o = strlen(groups);
                snprintf(groups + o, sizeof groups - o, "%s%s", g ? ", " : "", s->groups[g].name);
            }
            return sim__einval(err, err_size,
                               "[faults] %s: '%s' names no node (a node, a glob like s*, a group "
                               "or all); the nodes are: %s; the groups: %s",
                               target_keys[k], w, list, groups[0] ? groups : "none");
        }
    }
    *line = 0;
    return SIM_OK;
}

static bool group_name_ok(const char *name)
{
    if (name[0] == '\0' || strlen(name) > 48 || strcmp(name, "all") == 0) return false;
    for (const char *c = name; *c != '\0'; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
        if (!ok) return false;
    }
    return true;
}

/* `group.NAME = words`. */
static int set_group(sim__fault_spec *s, const char *key, const char *value, uint32_t line,
                     char *err, size_t esize)
{
    const char *name = key + strlen(GROUP_PREFIX);
    if (!group_name_ok(name)) {
        return sim__einval(err, esize,
                           "[faults] %s: a group's name is 1 to 48 letters, digits, '_' and '-' "
                           "(not 'all'): group.servers = s1 s2 s3",
                           key);
    }
    sim__node_group *g = (sim__node_group *)group_find(s, name);
    if (g != NULL && line != 0 && g->nodes.line != 0) {
        return sim__einval(err, esize, "[faults] %s is set twice (first at line %u)", key,
                           g->nodes.line);
    }
    sim__node_words nw = {0};
    int rc = parse_node_words(key, value, &nw, err, esize);
    if (rc != SIM_OK) return rc;
    if (nw.nwords == 0) { /* "all" */
        nw.words = sim__xcalloc(1, sizeof *nw.words, "a list of nodes");
        nw.words[0] = sim__xstrdup("all", "a node name");
        nw.nwords = 1;
        nw.text = sim__xstrdup("all", "a list of nodes");
    }
    if (g == NULL) {
        s->groups = sim__xrealloc_array(s->groups, s->ngroups + 1, sizeof *s->groups,
                                        "node groups");
        g = &s->groups[s->ngroups++];
        *g = (sim__node_group){.name = sim__xstrdup(name, "a group's name")};
    }
    words_free(&g->nodes);
    g->nodes = nw;
    g->nodes.line = line;
    return SIM_OK;
}

/* Sets a *_nodes or group.* key; returns 1 when key is neither. */
static int set_nodes_key(sim__fault_spec *s, const char *key, const char *value, uint32_t line,
                         char *err, size_t esize)
{
    if (strncmp(key, GROUP_PREFIX, strlen(GROUP_PREFIX)) == 0) {
        return set_group(s, key, value, line, err, esize);
    }
    for (int k = 0; k < SIM__TARGET_COUNT; k++) {
        if (strcmp(key, target_keys[k]) != 0) continue;
        sim__node_words *t = &s->targets[k];
        if (line != 0 && t->line != 0) {
            return sim__einval(err, esize, "[faults] %s is set twice (first at line %u)", key,
                               t->line);
        }
        int rc = parse_node_words(key, value, t, err, esize);
        if (rc == SIM_OK && line != 0) t->line = line;
        return rc;
    }
    return 1;
}

/* ---- only: the hits that fire ---------------------------------------------------------------- */

#define MAX_ONLY 65536u

static int only_cmp(const void *a, const void *b)
{
    const sim__skip *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->hit < y->hit ? -1 : x->hit > y->hit;
}

/* `only = node/crash@12 net/partition@3` (the key repeats, each line adds hits) or
 * `only = none`: with the key, the run's random faults are exactly the hits listed (a point
 * the plan hits still counts its hits; only node/restart keeps its own rate). */
static int parse_only(sim__fault_spec *s, const char *value, char *err, size_t esize)
{
    char buf[256];
    if (strlen(value) >= sizeof buf) return sim__einval(err, esize, "[faults] only: line too long");
    memcpy(buf, value, strlen(value) + 1);
    for (char *c = buf; *c != '\0'; c++) *c = *c == '\t' ? ' ' : *c;
    sim__skip add[64];
    uint32_t n = 0;
    bool none = false;
    char *save = NULL;
    for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (strcmp(w, "none") == 0) {
            none = true;
            continue;
        }
        char *at = strrchr(w, '@');
        uint64_t hit = 0;
        if (at == NULL || at == w || !sim__parse_u64(at + 1, &hit)) {
            return sim__einval(err, esize,
                               "[faults] only: expected POINT@HIT (node/crash@12: that hit of "
                               "the point fires, and no hit that is not listed) or none; got "
                               "'%s'",
                               w);
        }
        *at = '\0';
        const sim__point *pt = NULL;
        for (uint32_t i = 0; i < s->nrates && pt == NULL; i++) {
            if (strcmp(s->rates[i].point->name, w) == 0) pt = s->rates[i].point;
        }
        if (pt == NULL) {
            return sim__einval(err, esize, "[faults] only: unknown fault point '%s'", w);
        }
        if (n == sizeof add / sizeof add[0]) {
            return sim__einval(err, esize, "[faults] only: more than %zu hits on one line",
                               sizeof add / sizeof add[0]);
        }
        add[n++] = (sim__skip){.id = pt->id, .hit = hit, .point = pt};
    }
    if (n == 0 && !none) {
        return sim__einval(err, esize, "[faults] only: expected POINT@HIT ... (node/crash@12) "
                                       "or none");
    }
    if (none && n > 0) {
        return sim__einval(err, esize, "[faults] only: 'none' stands alone; got '%s'", value);
    }
    if (s->nonly + n > MAX_ONLY) {
        return sim__einval(err, esize, "[faults] only: more than %u hits", MAX_ONLY);
    }
    s->only_on = true;
    if (n == 0) return SIM_OK;
    s->only = sim__xrealloc_array(s->only, s->nonly + n, sizeof *s->only, "listed hits");
    memcpy(s->only + s->nonly, add, n * sizeof *add);
    s->nonly += n;
    qsort(s->only, s->nonly, sizeof *s->only, only_cmp);
    uint32_t o = 0; /* a hit listed twice is one hit */
    for (uint32_t i = 0; i < s->nonly; i++) {
        if (o == 0 || only_cmp(&s->only[o - 1], &s->only[i]) != 0) s->only[o++] = s->only[i];
    }
    s->nonly = o;
    return SIM_OK;
}

/* For the canonical text: by point name, then hit. */
static int only_name_cmp(const void *a, const void *b)
{
    const sim__skip *x = a, *y = b;
    int c = strcmp(x->point->name, y->point->name);
    if (c != 0) return c;
    return x->hit < y->hit ? -1 : x->hit > y->hit;
}

/* ---- plain keys ----------------------------------------------------------------------------- */

static int set_fail_hit(sim__fault_spec *s, const char *value, char *err, size_t esize)
{
    if (strcmp(value, "none") == 0) {
        s->fail_point = NULL;
        s->fail_hit = 0;
        return SIM_OK;
    }
    char name[80];
    const char *space = strchr(value, ' ');
    size_t n = space ? (size_t)(space - value) : 0;
    uint64_t k = 0;
    bool ok = space != NULL && n < sizeof name && sim__parse_u64(space + 1, &k);
    const sim__point *p = NULL;
    if (ok) {
        memcpy(name, value, n);
        name[n] = '\0';
        for (uint32_t i = 0; i < s->nrates; i++) {
            if (strcmp(s->rates[i].point->name, name) == 0) p = s->rates[i].point;
        }
    }
    if (p == NULL) {
        char list[512] = "";
        for (uint32_t i = 0; i < s->nrates; i++) {
            size_t o = strlen(list);
            snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", s->rates[i].point->name);
        }
        return sim__einval(
            err, esize,
            "[faults] fail_hit: expected 'POINT K' (fail the K-th hit of POINT, from 0) "
            "or none, POINT one of %s; got '%s'",
            list, value);
    }
    s->fail_point = p;
    s->fail_hit = k;
    return SIM_OK;
}

/* The network's settings: partitions and clogs. */
static int set_net_plain(sim__fault_spec *s, int k, const char *value, char *err, size_t esize)
{
    switch (k) {
    case K_PARTITION_MODE:
        if (strcmp(value, "any") != 0 && strcmp(value, "isolate") != 0 &&
            strcmp(value, "split") != 0 && strcmp(value, "random") != 0) {
            return sim__einval(
                err, esize,
                "[faults] partition_mode: expected one of any, isolate, split, random; "
                "got '%s'",
                value);
        }
        snprintf(s->partition_mode, sizeof s->partition_mode, "%s", value);
        return SIM_OK;
    case K_PARTITION_FOR:
        return parse_span("partition_for", value, SIM_MS, &s->partition_lo, &s->partition_hi,
                          err, esize);
    case K_PARTITION_ONEWAY: {
        bool per_time, kindless;
        uint64_t ppt;
        if (!parse_rate_end(value, &per_time, &kindless, &ppt) || (per_time && !kindless)) {
            return sim__einval(
                err, esize,
                "[faults] partition_oneway: expected a probability (0.5, 1/4) that a "
                "partition blocks one way only; got '%s'",
                value);
        }
        s->oneway_ppt = ppt;
        return SIM_OK;
    }
    default:
        return parse_span("clog_for", value, SIM_MS, &s->clog_lo, &s->clog_hi, err, esize);
    }
}

static int set_plain(sim__fault_spec *s, int k, const char *value, char *err, size_t esize)
{
    uint64_t v = 0;
    switch (k) {
    case K_SWARM:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            return sim__einval(err, esize, "[faults] swarm: expected true or false; got '%s'",
                               value);
        }
        s->swarm = value[0] == 't';
        return SIM_OK;
    case K_TICK:
        return parse_duration_key("tick", value, SIM_MS, MAX_TICK, &s->tick_ns, err, esize);
    case K_MAX_DOWN:
        if (strcmp(value, "all") == 0) {
            s->max_down = UINT32_MAX;
        } else if (sim__parse_u64(value, &v) && v < SIM__NODES_MAX) {
            s->max_down = (uint32_t)v;
        } else {
            return sim__einval(err, esize,
                               "[faults] max_down: expected a number of nodes (1) or all; got '%s'",
                               value);
        }
        return SIM_OK;
    case K_RESTART_AFTER:
        return parse_span("restart_after", value, SIM_MS, &s->restart_lo, &s->restart_hi, err,
                          esize);
    case K_PAUSE_FOR:
        return parse_span("pause_for", value, SIM_MS, &s->pause_lo, &s->pause_hi, err, esize);
    case K_QUIET_AFTER:
        if (strcmp(value, "never") == 0) {
            s->quiet_after_ns = 0;
            return SIM_OK;
        }
        if (sim__parse_duration(value, &v) != SIM_OK || v == 0) {
            return sim__einval(
                err, esize,
                "[faults] quiet_after: expected a duration (30s, up to "
                SIM__DURATION_MAX_TEXT ") after which faults stop, or never; got '%s'",
                value);
        }
        s->quiet_after_ns = v;
        return SIM_OK;
    case K_CONVERGE:
        return parse_duration_key("converge_within", value, SIM_MS, 0, &s->converge_ns, err,
                                  esize);
    case K_SKEW:
        return parse_duration_key("clock_skew", value, 0, 3600 * SIM_S, &s->skew_ns, err, esize);
    case K_DRIFT:
        if (!sim__parse_u64(value, &v) || v > MAX_DRIFT_PPM) {
            return sim__einval(
                err, esize, "[faults] clock_drift: expected parts per million in 0..%u; got '%s'",
                MAX_DRIFT_PPM, value);
        }
        s->drift_ppm = (uint32_t)v;
        return SIM_OK;
    case K_FAIL_HIT:
        return set_fail_hit(s, value, err, esize);
    default:
        return set_net_plain(s, k, value, err, esize);
    }
}

/* ---- the spec ------------------------------------------------------------------------------- */

void sim__fault_spec_free(sim__fault_spec *s)
{
    if (s == NULL) return;
    for (uint32_t i = 0; i < s->nats; i++) at_free(&s->ats[i]);
    free(s->ats);
    free(s->rates);
    free(s->only);
    for (int k = 0; k < SIM__TARGET_COUNT; k++) words_free(&s->targets[k]);
    for (uint32_t i = 0; i < s->ngroups; i++) {
        free(s->groups[i].name);
        words_free(&s->groups[i].nodes);
    }
    free(s->groups);
    for (uint32_t i = 0; i < s->nnodes; i++) free(s->nodes[i]);
    free(s->nodes);
    free(s);
}

static int rate_cmp(const void *a, const void *b)
{
    return strcmp(((const sim__spec_rate *)a)->point->key, ((const sim__spec_rate *)b)->point->key);
}

static int spec_points(sim__fault_spec *s, const sim_system *sys)
{
    for (uint32_t i = 0; i < sys->fault_count; i++) {
        /* A system's points are its own: sut/<its name>/<what>. */
        const char *name = sys->faults[i].name;
        size_t n = strlen(sys->name);
        if (name == NULL || strncmp(name, "sut/", 4) != 0 || strncmp(name + 4, sys->name, n) ||
            name[4 + n] != '/') {
            return SIM_EINVAL;
        }
    }
    if (sys->fault_count > 0) {
        int rc = sim_fault_declare(sys->faults, sys->fault_count);
        if (rc != SIM_OK) return rc;
    }
    uint32_t nb = sim__point_builtin_count();
    s->rates = sim__xcalloc(nb + sys->fault_count, sizeof *s->rates, "fault rates");
    for (uint32_t i = 0; i < nb; i++) {
        const sim__point *p = sim__point_builtin(i);
        bool restart = strcmp(p->name, "node/restart") == 0;
        s->rates[s->nrates++] = (sim__spec_rate){
            .point = p, .rate = {.lo = restart ? SIM__PPT_ONE : 0,
                                 .hi = restart ? SIM__PPT_ONE : 0}};
    }
    for (uint32_t i = 0; i < sys->fault_count; i++) {
        const sim__point *p = sim__point_find(sys->faults[i].name);
        SIM_ASSERT(p != NULL); /* declared just above */
        bool dup = false;
        for (uint32_t j = 0; j < s->nrates; j++) dup |= s->rates[j].point == p;
        if (!dup) s->rates[s->nrates++] = (sim__spec_rate){.point = p};
    }
    qsort(s->rates, s->nrates, sizeof *s->rates, rate_cmp);
    return SIM_OK;
}

int sim__fault_spec_new(const char *path, const sim_system *sys, const char *const *nodes,
                        uint32_t nnodes, bool nodes_known, sim__fault_spec **out)
{
    *out = NULL;
    sim__fault_spec *s = sim__xcalloc(1, sizeof *s, "a [faults] section");
    s->path = path;
    s->nodes_known = nodes_known;
    int rc = spec_points(s, sys);
    if (rc == SIM_OK) sim__strings_copy(nodes, nnodes, &s->nodes, &s->nnodes);
    for (int k = 0; rc == SIM_OK && k < K_COUNT; k++) {
        rc = set_plain(s, k, plain[k].def, NULL, 0);
        SIM_ASSERT(rc != SIM_EINVAL); /* a default that does not parse */
    }
    if (rc != SIM_OK) {
        sim__fault_spec_free(s);
        return rc;
    }
    *out = s;
    return SIM_OK;
}

void sim__fault_spec_keys(const sim__fault_spec *s, char *buf, size_t size)
{
    const char *keys[K_COUNT + 3 + SIM__TARGET_COUNT + SIM__POINTS_MAX];
    uint32_t n = 0;
    keys[n++] = "at";
    keys[n++] = "only";
    keys[n++] = GROUP_PREFIX "NAME";
    for (int k = 0; k < SIM__TARGET_COUNT; k++) keys[n++] = target_keys[k];
    for (int k = 0; k < K_COUNT; k++) keys[n++] = plain[k].key;
    for (uint32_t i = 0; i < s->nrates; i++) keys[n++] = s->rates[i].point->key;
    for (uint32_t i = 1; i < n; i++) { /* insertion sort: a few dozen keys */
        const char *k = keys[i];
        uint32_t j = i;
        while (j > 0 && strcmp(keys[j - 1], k) > 0) {
            keys[j] = keys[j - 1];
            j--;
        }
        keys[j] = k;
    }
    buf[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, "%s%s", i ? ", " : "", keys[i]);
    }
}

int sim__fault_spec_set(sim__fault_spec *s, const char *key, const char *value, uint32_t line,
                        char *err, size_t err_size)
{
    if (strcmp(key, "at") == 0) return parse_at(s, value, line, err, err_size);
    if (strcmp(key, "only") == 0) return parse_only(s, value, err, err_size);
    int nodes_rc = set_nodes_key(s, key, value, line, err, err_size);
    if (nodes_rc != 1) return nodes_rc;
    uint32_t *seen = NULL;
    int plain_key = -1;
    sim__spec_rate *r = NULL;
    for (int k = 0; k < K_COUNT; k++) {
        if (strcmp(plain[k].key, key) == 0) plain_key = k;
    }
    if (plain_key >= 0) {
        seen = &s->lines[plain_key];
    } else {
        for (uint32_t i = 0; i < s->nrates && r == NULL; i++) {
            if (strcmp(s->rates[i].point->key, key) == 0) r = &s->rates[i];
        }
        if (r == NULL) {
            char list[1024];
            sim__fault_spec_keys(s, list, sizeof list);
            return sim__einval(err, err_size, "[faults] unknown key '%s'; valid keys: %s", key,
                               list);
        }
        seen = &r->line;
    }
    if (line != 0 && *seen != 0) {
        return sim__einval(err, err_size, "[faults] %s is set twice (first at line %u)", key,
                           *seen);
    }
    int rc;
    if (r != NULL) {
        char canon[128];
        sim__rate rate;
        rc = parse_rate(r->point, value, &rate, canon, sizeof canon, err, err_size);
        if (rc == SIM_OK) r->rate = rate;
    } else {
        rc = set_plain(s, plain_key, value, err, err_size);
    }
    if (rc == SIM_OK && line != 0) *seen = line;
    return rc;
}

/* A per-time rate as a probability per tick, in ppt (may exceed one). */
static u128 per_tick(uint64_t pps, uint64_t tick_ns)
{
    return (u128)pps * tick_ns / SIM_S;
}

int sim__fault_spec_finish(sim__fault_spec *s, uint64_t time_limit_ns, char *err,
                           size_t err_size, uint32_t *line)
{
    char a[32], b[32], c[32];
    *line = 0;
    for (uint32_t i = 0; i < s->nrates; i++) {
        const sim__spec_rate *r = &s->rates[i];
        if (!r->rate.per_time || per_tick(r->rate.hi, s->tick_ns) <= SIM__PPT_ONE) continue;
        *line = r->line;
        sim__format_duration(s->tick_ns, a, sizeof a);
        return sim__einval(
            err, err_size,
            "[faults] %s: more than once per tick (%s) on average; lower the rate or "
            "the tick",
            r->point->key, a);
    }
    uint64_t deadline = sim__fault_spec_deadline(s);
    if (deadline != 0 && deadline > time_limit_ns) {
        *line = s->lines[K_QUIET_AFTER] ? s->lines[K_QUIET_AFTER] : s->lines[K_CONVERGE];
        sim__format_duration(s->quiet_after_ns, a, sizeof a);
        sim__format_duration(s->converge_ns, b, sizeof b);
        sim__format_duration(time_limit_ns, c, sizeof c);
        return sim__einval(err, err_size,
                           "[faults] quiet_after (%s) + converge_within (%s) end after [scenario] "
                           "time_limit (%s)",
                           a, b, c);
    }
    for (uint32_t i = 0; i < s->nats; i++) {
        const sim__at *at = &s->ats[i];
        uint64_t end = s->quiet_after_ns ? s->quiet_after_ns : time_limit_ns;
        if (at->at_ns < end) continue;
        *line = at->line;
        sim__format_duration(end, a, sizeof a);
        if (s->quiet_after_ns != 0) {
            return sim__einval(
                err, err_size,
                "[faults] at = %s comes after quiet_after (%s): the liveness phase has "
                "no faults",
                at->text, a);
        }
        return sim__einval(err, err_size, "[faults] at = %s comes after [scenario] time_limit (%s)",
                           at->text, a);
    }
    if (!s->nodes_known) return SIM_OK; /* checked when a run starts */
    return sim__fault_spec_check_nodes(s, (const char *const *)s->nodes, s->nnodes, err,
                                       err_size, line);
}

uint64_t sim__fault_spec_deadline(const sim__fault_spec *s)
{
    /* Both are at most SIM_DURATION_MAX (parsed so), so the sum cannot wrap. */
    SIM_ASSERT(s->quiet_after_ns <= SIM_DURATION_MAX);
    SIM_ASSERT(s->converge_ns <= SIM_DURATION_MAX);
    return s->quiet_after_ns ? s->quiet_after_ns + s->converge_ns : 0;
}

bool sim__fault_spec_active(const sim__fault_spec *s)
{
    for (uint32_t i = 0; i < s->nrates; i++) {
        const sim__spec_rate *r = &s->rates[i];
        if (r->rate.hi != 0 && strcmp(r->point->name, "node/restart") != 0) return true;
    }
    return s->nats > 0 || s->skew_ns || s->drift_ppm || s->fail_point || s->quiet_after_ns;
}

/* ---- canonical text ------------------------------------------------------------------------- */

typedef struct kv {
    const char *key;
    char value[272];      /* a list of nodes is at most 255 characters */
} kv;

static void plain_value(const sim__fault_spec *s, int k, char *buf, size_t size)
{
    switch (k) {
    case K_SWARM: snprintf(buf, size, "%s", s->swarm ? "true" : "false"); break;
    case K_TICK: sim__format_duration(s->tick_ns, buf, size); break;
    case K_MAX_DOWN:
        if (s->max_down == UINT32_MAX) {
            snprintf(buf, size, "all");
        } else {
            snprintf(buf, size, "%u", s->max_down);
        }
        break;
    case K_RESTART_AFTER:
        sim__format_duration_range(s->restart_lo, s->restart_hi, buf, size);
        break;
    case K_PAUSE_FOR: sim__format_duration_range(s->pause_lo, s->pause_hi, buf, size); break;
    case K_QUIET_AFTER:
        if (s->quiet_after_ns == 0) {
            snprintf(buf, size, "never");
        } else {
            sim__format_duration(s->quiet_after_ns, buf, size);
        }
        break;
    case K_CONVERGE: sim__format_duration(s->converge_ns, buf, size); break;
    case K_SKEW: sim__format_duration(s->skew_ns, buf, size); break;
    case K_DRIFT: snprintf(buf, size, "%u", s->drift_ppm); break;
    case K_PARTITION_MODE: snprintf(buf, size, "%s", s->partition_mode); break;
    case K_PARTITION_ONEWAY: sim__ppt_format(s->oneway_ppt, buf, size); break;
    case K_PARTITION_FOR:
        sim__format_duration_range(s->partition_lo, s->partition_hi, buf, size);
        break;
    case K_CLOG_FOR: sim__format_duration_range(s->clog_lo, s->clog_hi, buf, size); break;
    default:
        if (s->fail_point == NULL) {
            snprintf(buf, size, "none");
        } else {
            snprintf(buf, size, "%s %llu", s->fail_point->name, (unsigned long long)s->fail_hit);
        }
    }
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

char *sim__fault_spec_canonical(const sim__fault_spec *s)
{
    uint32_t n = K_COUNT + s->nrates + SIM__TARGET_COUNT + s->ngroups;
    kv *items = sim__xcalloc(n, sizeof *items, "a [faults] section's text");
    char (*group_keys)[64] = sim__xcalloc(s->ngroups + 1, sizeof *group_keys, "group keys");
    for (int k = 0; k < K_COUNT; k++) {
        items[k].key = plain[k].key;
        plain_value(s, k, items[k].value, sizeof items[k].value);
    }
    for (uint32_t i = 0; i < s->nrates; i++) {
        items[K_COUNT + i].key = s->rates[i].point->key;
        sim__rate_format(&s->rates[i].rate, items[K_COUNT + i].value,
                         sizeof items[K_COUNT + i].value);
    }
    kv *more = items + K_COUNT + s->nrates;
    for (int k = 0; k < SIM__TARGET_COUNT; k++) {
        more[k].key = target_keys[k];
        const char *text = s->targets[k].text;
        snprintf(more[k].value, sizeof more[k].value, "%s", text ? text : "all");
    }
    for (uint32_t i = 0; i < s->ngroups; i++) {
        snprintf(group_keys[i], sizeof group_keys[i], GROUP_PREFIX "%s", s->groups[i].name);
        more[SIM__TARGET_COUNT + i].key = group_keys[i];
        snprintf(more[SIM__TARGET_COUNT + i].value, sizeof more[0].value, "%s",
                 s->groups[i].nodes.text);
    }
    qsort(items, n, sizeof *items, kv_cmp);
    size_t size = 16 + (size_t)n * (sizeof items->value + 80);
    for (uint32_t i = 0; i < s->nats; i++) size += strlen(s->ats[i].text) + 8;
    size += (size_t)s->nonly * (SIM__POINT_NAME_MAX + 32) + 16;
    char *buf = sim__xmalloc(size, "a [faults] section's text");
    size_t o = (size_t)snprintf(buf, size, "[faults]\n");
    for (uint32_t i = 0; i < s->nats; i++) {
        o += (size_t)snprintf(buf + o, size - o, "at = %s\n", s->ats[i].text);
    }
    sim__skip *by_name = sim__xcalloc(s->nonly + 1, sizeof *by_name, "listed hits");
    if (s->nonly > 0) memcpy(by_name, s->only, s->nonly * sizeof *by_name);
    qsort(by_name, s->nonly, sizeof *by_name, only_name_cmp);
    if (s->only_on && s->nonly == 0) o += (size_t)snprintf(buf + o, size - o, "only = none\n");
    for (uint32_t i = 0; i < s->nonly; i++) {
        o += (size_t)snprintf(buf + o, size - o, "only = %s@%llu\n", by_name[i].point->name,
                              (unsigned long long)by_name[i].hit);
    }
    free(by_name);
    for (uint32_t i = 0; i < n; i++) {
        o += (size_t)snprintf(buf + o, size - o, "%s = %s\n", items[i].key, items[i].value);
    }
    free(items);
    free(group_keys);
    return buf;
}
