/*
 * scenario.c: scenario files: INI parsed by libinih, validated against declared keys.
 *
 * Parsing reads the whole file and feeds it to inih line by line through a reader callback,
 * which is where line numbers come from (inih's handler does not get them). The reader also
 * strips leading blanks, so that an indented key is a key and never a continuation of the
 * previous value; rejects lines longer than inih's 200-byte buffer instead of letting inih
 * cut them; and notes every [section] header, so that an empty unknown section is reported
 * too. The handler only collects (section, key, value, line); validation is a second pass,
 * once the system is known, so the order of sections in the file does not matter.
 *
 * Every error names the file and, when there is one, the line, the section and key, what was
 * expected and the valid choices. Loading never stops at a silent default: an unknown
 * section or key is an error, and so is a key given twice.
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plan/plan.h"
#include "../disk_sim/spec.h"
#include "../net_sim/spec.h"
#include "scenario.h"

#define LINE_MAX_BYTES 199 /* inih reads lines into a 200-byte buffer */
#define FILE_MAX_BYTES (1u << 20)
#define STRING_MAX 150     /* longest text value */
#define KEY_MAX 40         /* longest key name a system may declare */

/* ---- the [scenario] section ----------------------------------------------------------------- */

static const sim_key_spec scenario_keys[] = {
    {"scenario", "name", SIM_KEY_STRING, NULL, NULL, 0, 0, "the scenario's name, in reports"},
    {"scenario", "system", SIM_KEY_CHOICE, NULL, NULL, 0, 0, "the system under test"},
    {"scenario", "description", SIM_KEY_STRING, "", NULL, 0, 0, "one line for people"},
    {"scenario", "seeds", SIM_KEY_STRING, "1..100", NULL, 0, 0,
     "the seeds to run: A..B (inclusive) or one seed N"},
    {"scenario", "strategy", SIM_KEY_STRING, "random", NULL, 0, 0,
     "scheduling: fifo, random, pct, pct:D or pct:D:K"},
    {"scenario", "time_limit", SIM_KEY_DURATION, "60s", NULL, 1, 0,
     "virtual time after which a run with unfinished work is a liveness failure"},
    {"scenario", "step_limit", SIM_KEY_UINT, "1000000000", NULL, 1, 0,
     "steps after which a run is stopped (catches tasks that never let time move)"},
    {"scenario", "checkpoint_every", SIM_KEY_UINT, "1024", NULL, 1, 1u << 30,
     "steps between checkpoint hashes"},
    {"scenario", "expect", SIM_KEY_CHOICE, "pass", "pass|fail", 0, 0,
     "pass, or fail for a planted bug that some seed must find"},
    {"scenario", "shutdown_at", SIM_KEY_DURATION, "0s", NULL, 0, 0,
     "virtual time at which the shutdown signal (a simulated SIGTERM) is raised; 0s: never"},
    {"scenario", "cancel_at", SIM_KEY_UINT, "0", NULL, 0, 0,
     "abort the task at this cancellable await (1, 2, ...; sim run --cancel-sweep); 0: none"},
    {"scenario", "cancel_one_in", SIM_KEY_UINT, "0", NULL, 0, UINT32_MAX,
     "abort the task at a cancellable await with probability 1/N; 0: never"},
    {"scenario", "branch_at", SIM_KEY_UINT, "0", NULL, 0, 0,
     "make the other branch of a select win, or a timeout fire, at this branch point (1, 2, "
     "...; sim run --cancel-sweep); 0: none"},
    {"scenario", "branch_one_in", SIM_KEY_UINT, "0", NULL, 0, UINT32_MAX,
     "make the other branch win at a branch point with probability 1/N; 0: never"},
};
#define SCENARIO_KEY_COUNT (sizeof scenario_keys / sizeof scenario_keys[0])

/* ---- the [check] keys every scenario has ---------------------------------------------------- */

/* The bound of the end-of-run linearizability check (sim_world_check) and what an unknown
 * verdict counts as. [check] is shared: a system may declare its own keys there too (kv's
 * linearizable, durable, ...), but not these. */
static const sim_key_spec check_keys[] = {
    {"check", "max_steps", SIM_KEY_UINT, "10000000", NULL, 0, 0,
     "steps the linearizability check may take, all keys together (0: no bound); past them "
     "the run's result is unknown"},
    {"check", "max_memory", SIM_KEY_UINT, "2147483648", NULL, 0, 0,
     "bytes the linearizability check may hold, counted as it allocates; past them the run's "
     "result is unknown"},
    {"check", "unknown", SIM_KEY_CHOICE, "fail", "fail|pass", 0, 0,
     "what a run whose check ended unknown counts as; it is reported as unknown either way"},
    {"check", "shutdown_within", SIM_KEY_DURATION, "0s", NULL, 0, 0,
     "after the shutdown signal every node's tasks must be gone within this; 0s: no bound"},
    {"check", "leaks", SIM_KEY_CHOICE, "fail", "fail|warn|off", 0, 0,
     "what is still alive on a node at the end of a run after the shutdown signal"},
    {"check", "unread", SIM_KEY_CHOICE, "warn", "fail|warn|off", 0, 0,
     "a channel receiver dropped with messages queued (discarded unread)"},
    {"check", "uncollected", SIM_KEY_CHOICE, "warn", "fail|warn|off", 0, 0,
     "a task's error result that nobody collected (detached or never awaited)"},
};
#define CHECK_KEY_COUNT (sizeof check_keys / sizeof check_keys[0])

/* ---- collection --------------------------------------------------------------------------- */

typedef struct entry {
    char *section;
    char *key;
    char *value;
    uint32_t line;
} entry;

typedef struct header {
    char *section;
    uint32_t line;
} header;

typedef struct collect {
    const char *text;    /* the whole file */
    size_t pos;          /* reader position */
    uint32_t line;       /* the line the reader handed out last */
    uint32_t long_line;  /* first line over LINE_MAX_BYTES, or 0 */
    entry *entries;
    uint32_t nentries;
    uint32_t cap;
    header *headers;
    uint32_t nheaders;
    uint32_t hcap;
} collect;

static void push_header(collect *c, const char *name, size_t len)
{
    if (c->nheaders == c->hcap) {
        uint32_t ncap = c->hcap ? c->hcap * 2 : 8;
        c->headers = sim__xrealloc_array(c->headers, ncap, sizeof *c->headers,
                                         "a scenario's section headers");
        c->hcap = ncap;
    }
    char *s = sim__xstrndup(name, len, "a scenario's section name");
    c->headers[c->nheaders++] = (header){.section = s, .line = c->line};
}

/* inih's reader: the next line, without leading blanks, at most num - 1 bytes. */
static char *read_line(char *str, int num, void *stream)
{
    collect *c = stream;
    if (c->text[c->pos] == '\0') return NULL;
    c->line++;
    if (c->line == 1 && strncmp(c->text, "\xEF\xBB\xBF", 3) == 0) c->pos = 3; /* UTF-8 BOM */
    size_t start = c->pos;
    while (c->text[c->pos] != '\0' && c->text[c->pos] != '\n') c->pos++;
    size_t end = c->pos;
    if (c->text[c->pos] == '\n') c->pos++;
    while (start < end && (c->text[start] == ' ' || c->text[start] == '\t')) start++;
    size_t len = end - start;
    if (len > 0 && c->text[end - 1] == '\r') len--;
    if (len > LINE_MAX_BYTES || len + 1 > (size_t)num) {
        if (c->long_line == 0) c->long_line = c->line;
        len = 0;
    }
    if (len > 0 && c->text[start] == '[') {
        const char *close = memchr(c->text + start, ']', len);
        size_t name_len = close ? (size_t)(close - (c->text + start)) - 1 : 0;
        if (close != NULL) push_header(c, c->text + start + 1, name_len);
    }
    memcpy(str, c->text + start, len);
    str[len] = '\0';
    return str;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
    collect *c = user;
    if (c->nentries == c->cap) {
        uint32_t ncap = c->cap ? c->cap * 2 : 16;
        c->entries = sim__xrealloc_array(c->entries, ncap, sizeof *c->entries,
                                         "a scenario's entries");
        c->cap = ncap;
    }
    entry *e = &c->entries[c->nentries];
    e->section = sim__xstrdup(section, "a scenario's entry");
    e->key = sim__xstrdup(key, "a scenario's entry");
    e->value = sim__xstrdup(value, "a scenario's entry");
    e->line = c->line;
    c->nentries++;
    return 1;
}

static void collect_free(collect *c)
{
    for (uint32_t i = 0; i < c->nentries; i++) {
        free(c->entries[i].section);
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    for (uint32_t i = 0; i < c->nheaders; i++) free(c->headers[i].section);
    free(c->entries);
    free(c->headers);
}

/* ---- errors ------------------------------------------------------------------------------- */

typedef struct errbuf {
    char *buf;
    size_t size;
    const char *path;
} errbuf;

static int fail(errbuf *e, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(errbuf *e, uint32_t line, const char *fmt, ...)
{
    if (e->buf == NULL || e->size == 0) return SIM_EINVAL;
    int n = line ? snprintf(e->buf, e->size, "%s:%u: ", e->path, line)
                 : snprintf(e->buf, e->size, "%s: ", e->path);
    if (n < 0 || (size_t)n >= e->size) return SIM_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->buf + n, e->size - (size_t)n, fmt, ap);
    va_end(ap);
    return SIM_EINVAL;
}

/* ---- values ------------------------------------------------------------------------------- */

typedef struct value {
    const sim_key_spec *spec;
    char *text;        /* canonical text */
    uint64_t num;      /* UINT and DURATION value (ns); BOOL 0 or 1 */
    uint32_t line;     /* where it was set; 0 when it is the default */
} value;

struct sim_scenario {
    char *path;
    const sim_system *system;
    value *values;     /* [scenario] keys first, then the system's, in declaration order */
    uint32_t nvalues;
    uint64_t seed_first;
    uint64_t seed_last;
    sim_sched sched;
    bool expect_fail;
    void *mods[4];           /* the module sections ([disk], [faults], [network], [schedule]),
                                validated */
    char *canonical;
};

/* ---- module sections ------------------------------------------------------------------------ */

/* Sections every scenario has, whatever its system, each parsed by its module: the fault plan
 * and the network. A module sees the system's node names (for scripted events and links). */
typedef struct module_section {
    const char *name;
    int (*make)(const sim_scenario *sc, const char *const *nodes, uint32_t nnodes, bool known,
                void **out);
    int (*set)(void *spec, const char *key, const char *text, uint32_t line, char *err,
               size_t size);
    int (*finish)(void *spec, uint64_t time_limit, char *err, size_t size, uint32_t *line);
    char *(*canonical)(const void *spec);
    void (*free)(void *spec);
} module_section;

static int faults_make(const sim_scenario *sc, const char *const *nodes, uint32_t nnodes,
                       bool known, void **out)
{
    return sim__fault_spec_new(sc->path, sc->system, nodes, nnodes, known,
                               (sim__fault_spec **)out);
}

static int faults_set(void *spec, const char *key, const char *text, uint32_t line, char *err,
                      size_t size)
{
    return sim__fault_spec_set(spec, key, text, line, err, size);
}

static int faults_finish(void *spec, uint64_t limit, char *err, size_t size, uint32_t *line)
{
    return sim__fault_spec_finish(spec, limit, err, size, line);
}

static char *faults_canonical(const void *spec)
{
    return sim__fault_spec_canonical(spec);
}

static void faults_free(void *spec)
{
    sim__fault_spec_free(spec);
}

static int disk_make(const sim_scenario *sc, const char *const *nodes, uint32_t nnodes,
                     bool known, void **out)
{
    (void)nodes;
    (void)nnodes;
    (void)known;
    return sim__disk_spec_new(sc->path, (sim__disk_spec **)out);
}

static int disk_set(void *spec, const char *key, const char *text, uint32_t line, char *err,
                    size_t size)
{
    return sim__disk_spec_set(spec, key, text, line, err, size);
}

static int disk_finish(void *spec, uint64_t limit, char *err, size_t size, uint32_t *line)
{
    return sim__disk_spec_finish(spec, limit, err, size, line);
}

static char *disk_canonical(const void *spec)
{
    return sim__disk_spec_canonical(spec);
}

static void disk_free(void *spec)
{
    sim__disk_spec_free(spec);
}

static int network_make(const sim_scenario *sc, const char *const *nodes, uint32_t nnodes,
                        bool known, void **out)
{
    return sim__net_spec_new(sc->path, nodes, nnodes, known, (sim__net_spec **)out);
}

static int network_set(void *spec, const char *key, const char *text, uint32_t line, char *err,
                       size_t size)
{
    return sim__net_spec_set(spec, key, text, line, err, size);
}

static int network_finish(void *spec, uint64_t limit, char *err, size_t size, uint32_t *line)
{
    return sim__net_spec_finish(spec, limit, err, size, line);
}

static char *network_canonical(const void *spec)
{
    return sim__net_spec_canonical(spec);
}

static void network_free(void *spec)
{
    sim__net_spec_free(spec);
}

static int schedule_make(const sim_scenario *sc, const char *const *nodes, uint32_t nnodes,
                         bool known, void **out)
{
    (void)sc;
    (void)nodes;
    (void)nnodes;
    (void)known;
    return sim__sched_spec_new((sim__sched_spec **)out);
}

static int schedule_set(void *spec, const char *key, const char *text, uint32_t line, char *err,
                        size_t size)
{
    return sim__sched_spec_set(spec, key, text, line, err, size);
}

static int schedule_finish(void *spec, uint64_t limit, char *err, size_t size, uint32_t *line)
{
    (void)spec;
    (void)limit;
    (void)err;
    (void)size;
    *line = 0;
    return SIM_OK;
}

static char *schedule_canonical(const void *spec)
{
    return sim__sched_spec_canonical(spec);
}

static void schedule_free(void *spec)
{
    sim__sched_spec_free(spec);
}

enum { MOD_DISK = 0, MOD_FAULTS = 1, MOD_NETWORK = 2, MOD_SCHEDULE = 3, NMODS = 4 };

static const module_section modules[NMODS] = {
    {"disk", disk_make, disk_set, disk_finish, disk_canonical, disk_free},
    {"faults", faults_make, faults_set, faults_finish, faults_canonical, faults_free},
    {"network", network_make, network_set, network_finish, network_canonical, network_free},
    {"schedule", schedule_make, schedule_set, schedule_finish, schedule_canonical,
     schedule_free},
};

static int module_of(const char *section)
{
    for (int m = 0; m < NMODS; m++) {
        if (strcmp(modules[m].name, section) == 0) return m;
    }
    return -1;
}

/* A module's spec with every default, for this scenario's system and nodes. */
static int module_make(const sim_scenario *sc, int m, void **out)
{
    const char *names[SIM__NODES_MAX];
    uint32_t nnodes = 0;
    bool known = sc->system->nodes != NULL;
    if (known) {
        nnodes = sc->system->nodes(sc->system->ud, sc, names, SIM__NODES_MAX);
        SIM_ASSERT(nnodes <= SIM__NODES_MAX);
    }
    return modules[m].make(sc, names, nnodes, known, out);
}

/* Whether `text` is one of the '|'-separated choices. */
static bool choice_ok(const char *choices, const char *text)
{
    size_t len = strlen(text);
    for (const char *c = choices; *c != '\0';) {
        const char *bar = strchr(c, '|');
        size_t n = bar ? (size_t)(bar - c) : strlen(c);
        if (n == len && strncmp(c, text, n) == 0) return true;
        c += n + (bar ? 1 : 0);
    }
    return false;
}

/* "a|b|c" as "a, b, c", for messages. */
static void choices_list(const char *choices, char *buf, size_t size)
{
    size_t o = 0;
    for (const char *c = choices; *c != '\0' && o + 3 < size; c++) {
        if (*c == '|') {
            buf[o++] = ',';
            buf[o++] = ' ';
        } else {
            buf[o++] = *c;
        }
    }
    buf[o] = '\0';
}

/* The system names, "|"-separated, for the [scenario] system choice. */
static void system_choices(const sim_system *const *systems, uint32_t n, char *buf, size_t size)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0) strncat(buf, "|", size - strlen(buf) - 1);
        strncat(buf, systems[i]->name, size - strlen(buf) - 1);
    }
}

/* The first ';' that follows a blank, or NULL: inih reads it as the start of a comment, and
 * has no way to escape it, so a value holding one cannot be written in a scenario text. */
static const char *comment_start(const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == ';' && p > text && (p[-1] == ' ' || p[-1] == '\t')) return p;
    }
    return NULL;
}

/* A value with a control character is refused whatever its key: values are one line, and
 * what is recorded must read back as it was given. */
static int check_control(errbuf *e, uint32_t line, const char *section, const char *key,
                         const char *text)
{
    char what[32];
    const char *bad = sim__text_control(text, what, sizeof what);
    if (bad == NULL) return SIM_OK;
    return fail(e, line,
                "[%s] %s: %s (at character %zu) is a control character, and a value is one "
                "line of text without them (tabs allowed)",
                section, key, what, (size_t)(bad - text) + 1);
}

/* A text value as the canonical text can hold it: no control character, no blank at either
 * end (inih drops them), no ';' after a blank (a comment). */
static bool canonical_text_ok(const char *text)
{
    char what[32];
    size_t n = strlen(text);
    if (sim__text_control(text, what, sizeof what) != NULL) return false;
    if (n > 0 && (text[0] == ' ' || text[0] == '\t')) return false;
    if (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t')) return false;
    return comment_start(text) == NULL;
}

/* A text value: one line, at most STRING_MAX characters, not empty when the key is required,
 * and one the canonical text can hold. */
static int check_text(errbuf *e, const sim_key_spec *k, const char *text, uint32_t line)
{
    SIM_ASSERT(k->type == SIM_KEY_STRING);
    int rc = check_control(e, line, k->section, k->key, text);
    if (rc != SIM_OK) return rc;
    /* 150, so that "key = value" in the canonical text always fits a line. */
    if (strlen(text) > STRING_MAX) {
        return fail(e, line, "[%s] %s: a value is at most %d characters", k->section, k->key,
                    STRING_MAX);
    }
    if (k->default_value == NULL && text[0] == '\0') {
        return fail(e, line, "[%s] %s: a value is required, and this one is empty (%s)",
                    k->section, k->key, k->doc ? k->doc : "no default");
    }
    const char *semi = comment_start(text);
    if (semi != NULL) {
        return fail(e, line,
                    "[%s] %s: a ';' after a blank (at character %zu) starts a comment in a "
                    "scenario file, so the text a run records could not give this value "
                    "back; drop the blank or the ';'",
                    k->section, k->key, (size_t)(semi - text) + 1);
    }
    SIM_ASSERT(canonical_text_ok(text));
    return SIM_OK;
}

/* A duration value within the key's range, which never goes beyond SIM_DURATION_MAX,
 * whatever the spec says. */
static int parse_duration_value(errbuf *e, const sim_key_spec *k, const char *text,
                                uint32_t line, uint64_t *num)
{
    SIM_ASSERT(k->type == SIM_KEY_DURATION);
    uint64_t max = k->max == 0 || k->max > SIM_DURATION_MAX ? SIM_DURATION_MAX : k->max;
    SIM_ASSERT(k->min <= max); /* a spec no value can meet */
    char lo[32], hi[32], range[96];
    sim__format_duration(k->min, lo, sizeof lo);
    sim__format_duration(max, hi, sizeof hi);
    if (k->max != 0) {
        snprintf(range, sizeof range, " from %s to %s", k->min ? lo : "0s", hi);
    } else if (k->min != 0) {
        snprintf(range, sizeof range, " of at least %s and at most %s", lo, hi);
    } else {
        snprintf(range, sizeof range, " of at most %s", hi);
    }
    if (sim__parse_duration(text, num) != SIM_OK || *num < k->min || *num > max) {
        return fail(e, line,
                    "[%s] %s: expected a duration like 250ms or 2s (units ns, us, ms, s, m, "
                    "h)%s, got '%s'",
                    k->section, k->key, range, text);
    }
    SIM_ASSERT(*num <= SIM_DURATION_MAX);
    return SIM_OK;
}

/* Parses and checks one value against its spec; fills v. */
static int value_parse(errbuf *e, const sim_key_spec *k, const char *text, uint32_t line,
                       const char *choices, value *v)
{
    char canon[256];
    uint64_t num = 0;
    switch (k->type) {
    case SIM_KEY_STRING: {
        int rc = check_text(e, k, text, line);
        if (rc != SIM_OK) return rc;
        snprintf(canon, sizeof canon, "%s", text);
        break;
    }
    case SIM_KEY_UINT:
        if (!sim__parse_u64(text, &num) || num < k->min || (k->max != 0 && num > k->max)) {
            if (k->max != 0) {
                return fail(e, line, "[%s] %s: expected a whole number in %llu..%llu, got '%s'",
                            k->section, k->key, (unsigned long long)k->min,
                            (unsigned long long)k->max, text);
            }
            return fail(e, line, "[%s] %s: expected a whole number of at least %llu, got '%s'",
                        k->section, k->key, (unsigned long long)k->min, text);
        }
        snprintf(canon, sizeof canon, "%llu", (unsigned long long)num);
        break;
    case SIM_KEY_DURATION: {
        int rc = parse_duration_value(e, k, text, line, &num);
        if (rc != SIM_OK) return rc;
        sim__format_duration(num, canon, sizeof canon);
        break;
    }
    case SIM_KEY_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
            return fail(e, line, "[%s] %s: expected true or false, got '%s'", k->section, k->key,
                        text);
        }
        num = text[0] == 't';
        snprintf(canon, sizeof canon, "%s", text);
        break;
    case SIM_KEY_CHOICE:
        if (!choice_ok(choices, text)) {
            char list[256];
            choices_list(choices, list, sizeof list);
            return fail(e, line, "[%s] %s: expected one of %s; got '%s'", k->section, k->key, list,
                        text);
        }
        snprintf(canon, sizeof canon, "%s", text);
        break;
    }
    v->spec = k;
    v->num = num;
    v->line = line;
    v->text = sim__xstrdup(canon, "a scenario's value");
    return SIM_OK;
}

/* ---- validation --------------------------------------------------------------------------- */

typedef struct loader {
    errbuf e;
    collect c;
    const sim_system *const *systems;
    uint32_t nsystems;
    const sim_system *system;
    const sim_key_spec **specs; /* [scenario] keys, then the system's */
    uint32_t nspecs;
    char sys_choices[512];
} loader;

static int spec_index(const loader *l, const char *section, const char *key)
{
    for (uint32_t i = 0; i < l->nspecs; i++) {
        if (strcmp(l->specs[i]->section, section) == 0 && strcmp(l->specs[i]->key, key) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static bool section_known(const loader *l, const char *section)
{
    if (module_of(section) >= 0) return true; /* every system has them */
    for (uint32_t i = 0; i < l->nspecs; i++) {
        if (strcmp(l->specs[i]->section, section) == 0) return true;
    }
    return false;
}

/* "[scenario], [demo]": the sections this scenario may have. */
static void section_list(const loader *l, char *buf, size_t size)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < l->nspecs; i++) {
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++) {
            seen = strcmp(l->specs[j]->section, l->specs[i]->section) == 0;
        }
        if (seen) continue;
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, "%s[%s]", o ? ", " : "", l->specs[i]->section);
    }
    size_t o = strlen(buf);
    snprintf(buf + o, size - o, ", [disk], [faults], [network], [schedule]");
}

/* "bug, crash_at, ticks": the keys of a section. */
static void key_list(const loader *l, const char *section, char *buf, size_t size)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < l->nspecs; i++) {
        if (strcmp(l->specs[i]->section, section) != 0) continue;
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, "%s%s", o ? ", " : "", l->specs[i]->key);
    }
}

static int find_system(loader *l)
{
    system_choices(l->systems, l->nsystems, l->sys_choices, sizeof l->sys_choices);
    char list[512];
    choices_list(l->sys_choices, list, sizeof list);
    bool have_section = false;
    for (uint32_t i = 0; i < l->c.nheaders; i++) {
        have_section |= strcmp(l->c.headers[i].section, "scenario") == 0;
    }
    if (!have_section) {
        return fail(&l->e, 0, "no [scenario] section (it names the system: %s)", list);
    }
    for (uint32_t i = 0; i < l->c.nentries; i++) {
        const entry *en = &l->c.entries[i];
        if (strcmp(en->section, "scenario") != 0 || strcmp(en->key, "system") != 0) continue;
        for (uint32_t s = 0; s < l->nsystems; s++) {
            if (strcmp(l->systems[s]->name, en->value) == 0) l->system = l->systems[s];
        }
        if (l->system == NULL) {
            return fail(&l->e, en->line,
                        "[scenario] system: unknown system '%s'; valid systems: %s", en->value,
                        list);
        }
        return SIM_OK;
    }
    return fail(&l->e, 0, "[scenario] is missing the required key 'system' (valid systems: %s)",
                list);
}

static int gather_specs(loader *l)
{
    uint32_t n = (uint32_t)(SCENARIO_KEY_COUNT + CHECK_KEY_COUNT) + l->system->key_count;
    l->specs = sim__xcalloc(n, sizeof *l->specs, "a scenario's keys");
    for (uint32_t i = 0; i < SCENARIO_KEY_COUNT; i++) l->specs[l->nspecs++] = &scenario_keys[i];
    for (uint32_t i = 0; i < l->system->key_count; i++) {
        const sim_key_spec *k = &l->system->keys[i];
        SIM_ASSERT(strcmp(k->section, "scenario") != 0); /* systems own their own sections */
        SIM_ASSERT(strlen(k->key) <= KEY_MAX);             /* canonical lines fit inih's */
        for (uint32_t j = 0; j < CHECK_KEY_COUNT; j++) { /* nor the [check] keys sim has */
            bool builtin = strcmp(k->section, "check") == 0 &&
                           strcmp(k->key, check_keys[j].key) == 0;
            SIM_ASSERT(!builtin);
        }
        l->specs[l->nspecs++] = k;
    }
    /* After the system's, so that messages list its sections first. */
    for (uint32_t i = 0; i < CHECK_KEY_COUNT; i++) l->specs[l->nspecs++] = &check_keys[i];
    SIM_ASSERT(l->nspecs == n);
    return SIM_OK;
}

static int check_headers(loader *l)
{
    for (uint32_t i = 0; i < l->c.nheaders; i++) {
        const header *h = &l->c.headers[i];
        if (section_known(l, h->section)) continue;
        char list[512];
        section_list(l, list, sizeof list);
        return fail(&l->e, h->line, "unknown section [%s]; valid sections for system %s: %s",
                    h->section, l->system->name, list);
    }
    return SIM_OK;
}

/* Every entry: a known section and key, given once, with a valid value. */
static int check_entries(loader *l, sim_scenario *sc)
{
    for (uint32_t i = 0; i < l->c.nentries; i++) {
        const entry *en = &l->c.entries[i];
        if (en->section[0] == '\0') {
            return fail(&l->e, en->line, "'%s' is outside any section; put it under [scenario] "
                        "or a section of the system", en->key);
        }
        int rc = check_control(&l->e, en->line, en->section, en->key, en->value);
        if (rc != SIM_OK) return rc;
        if (module_of(en->section) >= 0) continue; /* see scenario_modules */
        int k = spec_index(l, en->section, en->key);
        if (k < 0) {
            char list[512];
            key_list(l, en->section, list, sizeof list);
            return fail(&l->e, en->line, "[%s] unknown key '%s'; valid keys: %s", en->section,
                        en->key, list);
        }
        value *v = &sc->values[k];
        if (v->text != NULL) {
            return fail(&l->e, en->line, "[%s] %s is set twice (first at line %u)", en->section,
                        en->key, v->line);
        }
        bool is_system = l->specs[k] == &scenario_keys[1];
        const char *choices = is_system ? l->sys_choices : l->specs[k]->choices;
        rc = value_parse(&l->e, l->specs[k], en->value, en->line, choices, v);
        if (rc != SIM_OK) return rc;
    }
    return SIM_OK;
}

static int apply_defaults(loader *l, sim_scenario *sc)
{
    for (uint32_t i = 0; i < l->nspecs; i++) {
        value *v = &sc->values[i];
        if (v->text != NULL) continue;
        const sim_key_spec *k = l->specs[i];
        if (k->default_value == NULL) {
            return fail(&l->e, 0, "[%s] is missing the required key '%s' (%s)", k->section, k->key,
                        k->doc ? k->doc : "no default");
        }
        int rc = value_parse(&l->e, k, k->default_value, 0, k->choices ? k->choices : "", v);
        SIM_ASSERT(rc != SIM_EINVAL); /* a default that does not validate is a bug in the spec */
        if (rc != SIM_OK) return rc;
    }
    return SIM_OK;
}

/* The [scenario] keys that need more than a type check. */
static int scenario_fields(loader *l, sim_scenario *sc)
{
    const value *seeds = &sc->values[3], *strategy = &sc->values[4], *expect = &sc->values[8];
    const char *s = seeds->text;
    const char *dots = strstr(s, "..");
    bool ok;
    if (dots != NULL) {
        char first[32];
        size_t n = (size_t)(dots - s);
        ok = n > 0 && n < sizeof first;
        if (ok) {
            memcpy(first, s, n);
            first[n] = '\0';
            ok = sim__parse_u64(first, &sc->seed_first) && sim__parse_u64(dots + 2, &sc->seed_last);
        }
    } else {
        ok = sim__parse_u64(s, &sc->seed_first);
        sc->seed_last = sc->seed_first;
    }
    if (!ok || sc->seed_first > sc->seed_last) {
        return fail(&l->e, seeds->line,
                    "[scenario] seeds: expected A..B with A <= B, or one seed N; got '%s'", s);
    }
    char err[256];
    if (sim_sched_parse(strategy->text, &sc->sched, err, sizeof err) != SIM_OK) {
        return fail(&l->e, strategy->line, "[scenario] strategy: %s", err);
    }
    sc->expect_fail = strcmp(expect->text, "fail") == 0;
    return SIM_OK;
}

/* The module sections: a spec with the defaults for the system's points and nodes, then every
 * entry in file order, then the checks that need several keys. */
static int scenario_modules(loader *l, sim_scenario *sc)
{
    char msg[1024];
    for (int m = 0; m < NMODS; m++) {
        int rc = module_make(sc, m, &sc->mods[m]);
        if (rc == SIM_EINVAL) {
            return fail(&l->e, 0,
                        "system %s declares a malformed fault point: its points are named "
                        "sut/%s/<what>, of a-z 0-9 _ . / -, at most 60 characters",
                        sc->system->name, sc->system->name);
        }
        if (rc != SIM_OK) return rc;
        for (uint32_t i = 0; i < l->c.nentries; i++) {
            const entry *en = &l->c.entries[i];
            if (strcmp(en->section, modules[m].name) != 0) continue;
            rc = modules[m].set(sc->mods[m], en->key, en->value, en->line, msg, sizeof msg);
            if (rc == SIM_EINVAL) return fail(&l->e, en->line, "%s", msg);
            if (rc != SIM_OK) return rc;
        }
        uint32_t line = 0;
        rc = modules[m].finish(sc->mods[m], sc->values[5].num, msg, sizeof msg, &line);
        if (rc == SIM_EINVAL) return fail(&l->e, line, "%s", msg);
        if (rc != SIM_OK) return rc;
    }
    return SIM_OK;
}

static int canonical_cmp_section(const sim_key_spec *a, const sim_key_spec *b)
{
    bool sa = strcmp(a->section, "scenario") == 0, sb = strcmp(b->section, "scenario") == 0;
    if (sa != sb) return sa ? -1 : 1;
    int c = strcmp(a->section, b->section);
    return c != 0 ? c : strcmp(a->key, b->key);
}

/* A module's block after a blank line; nothing for an empty block (a [schedule] unset). */
static size_t block_text(char *buf, size_t size, const char *block)
{
    if (block[0] == '\0') return 0;
    return (size_t)snprintf(buf, size, "\n%s", block);
}

/* "[scenario]\nkey = value\n..." with [scenario] first, then sections and keys sorted. */
static void build_canonical(sim_scenario *sc)
{
    uint32_t n = sc->nvalues;
    const value **order = sim__xcalloc(n, sizeof *order, "a scenario's canonical text");
    for (uint32_t i = 0; i < n; i++) order[i] = &sc->values[i];
    for (uint32_t i = 1; i < n; i++) { /* insertion sort: a few dozen keys */
        const value *v = order[i];
        uint32_t j = i;
        while (j > 0 && canonical_cmp_section(order[j - 1]->spec, v->spec) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    char *blocks[NMODS];
    size_t size = 64;
    for (int m = 0; m < NMODS; m++) {
        blocks[m] = modules[m].canonical(sc->mods[m]);
        size += strlen(blocks[m]) + 2;
    }
    for (uint32_t i = 0; i < n; i++) {
        size += strlen(order[i]->spec->section) + strlen(order[i]->spec->key) +
                strlen(order[i]->text) + 16;
    }
    char *buf = sim__xmalloc(size, "a scenario's canonical text");
    /* The module blocks go where their names sort among the system's sections (modules[] is
     * in name order). */
    size_t o = 0;
    int next_mod = 0;
    for (uint32_t i = 0; i < n; i++) {
        const sim_key_spec *k = order[i]->spec;
        if (i == 0 || strcmp(order[i - 1]->spec->section, k->section) != 0) {
            while (i > 0 && next_mod < NMODS && strcmp(k->section, modules[next_mod].name) > 0) {
                o += block_text(buf + o, size - o, blocks[next_mod++]);
            }
            o += (size_t)snprintf(buf + o, size - o, "%s[%s]\n", i ? "\n" : "", k->section);
        }
        /* "key = ;x" would be a comment to inih, "key =;x" is the value ";x". */
        const char *text = order[i]->text;
        if (k->type == SIM_KEY_STRING) SIM_ASSERT(canonical_text_ok(text));
        o += (size_t)snprintf(buf + o, size - o, "%s =%s%s\n", k->key, text[0] == ';' ? "" : " ",
                              text);
    }
    while (next_mod < NMODS) o += block_text(buf + o, size - o, blocks[next_mod++]);
    for (int m = 0; m < NMODS; m++) free(blocks[m]);
    free(order);
    sc->canonical = buf;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* Line n (1-based) of text, trimmed to fit buf. */
static void line_text(const char *text, uint32_t n, char *buf, size_t size)
{
    for (uint32_t i = 1; i < n && *text != '\0'; text++) {
        if (*text == '\n') i++;
    }
    size_t len = strcspn(text, "\r\n");
    if (len >= size) len = size - 1;
    memcpy(buf, text, len);
    buf[len] = '\0';
}

void sim_scenario_free(sim_scenario *sc)
{
    if (sc == NULL) return;
    for (uint32_t i = 0; i < sc->nvalues; i++) free(sc->values[i].text);
    free(sc->values);
    free(sc->canonical);
    for (int m = 0; m < NMODS; m++) {
        if (sc->mods[m] != NULL) modules[m].free(sc->mods[m]);
    }
    free(sc->path);
    free(sc);
}

static int parse_collected(loader *l, sim_scenario *sc)
{
    int rc = find_system(l);
    if (rc == SIM_OK) rc = gather_specs(l);
    if (rc != SIM_OK) return rc;
    sc->system = l->system;
    sc->nvalues = l->nspecs;
    sc->values = sim__xcalloc(l->nspecs, sizeof *sc->values, "a scenario's values");
    rc = check_headers(l);
    if (rc == SIM_OK) rc = check_entries(l, sc);
    if (rc == SIM_OK) rc = apply_defaults(l, sc);
    if (rc == SIM_OK) rc = scenario_fields(l, sc);
    if (rc == SIM_OK) rc = scenario_modules(l, sc);
    if (rc == SIM_OK) build_canonical(sc);
    return rc;
}

int sim_scenario_parse(const char *path, const char *text, const sim_system *const *systems,
                       uint32_t system_count, sim_scenario **out, char *err, size_t err_size)
{
    *out = NULL;
    if (err != NULL && err_size > 0) err[0] = '\0';
    loader l = {.e = {.buf = err, .size = err_size, .path = path}, .systems = systems,
                .nsystems = system_count, .c = {.text = text}};
    int ini = ini_parse_stream(read_line, &l.c, on_entry, &l.c);
    if (ini == -2) sim__oom(0, "inih (reading a scenario)");
    int rc = SIM_OK;
    if (l.c.long_line != 0 && (ini <= 0 || (uint32_t)ini >= l.c.long_line)) {
        rc = fail(&l.e, l.c.long_line, "line longer than %d characters", LINE_MAX_BYTES);
    } else if (ini > 0) {
        char got[64];
        line_text(text, (uint32_t)ini, got, sizeof got);
        rc = fail(&l.e, (uint32_t)ini,
                  "expected 'key = value', '[section]' or a comment (';' or '#'); got '%s'", got);
    }
    sim_scenario *sc = NULL;
    if (rc == SIM_OK) {
        sc = sim__xcalloc(1, sizeof *sc, "a scenario");
        sc->path = sim__xstrdup(path, "a scenario's path");
        rc = parse_collected(&l, sc);
    }
    collect_free(&l.c);
    free(l.specs);
    if (rc != SIM_OK) {
        sim_scenario_free(sc);
        return rc;
    }
    *out = sc;
    return SIM_OK;
}

int sim_scenario_load(const char *path, const sim_system *const *systems, uint32_t system_count,
                      sim_scenario **out, char *err, size_t err_size)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (err != NULL) snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return SIM_EINVAL;
    }
    char *text = sim__xmalloc(FILE_MAX_BYTES + 1, "a scenario file");
    size_t n = fread(text, 1, FILE_MAX_BYTES + 1, f);
    bool read_error = ferror(f) != 0;
    fclose(f);
    int rc = SIM_OK;
    if (read_error) {
        if (err != NULL) snprintf(err, err_size, "%s: cannot read", path);
        rc = SIM_EINVAL;
    } else if (n > FILE_MAX_BYTES) {
        if (err != NULL) snprintf(err, err_size, "%s: larger than 1 MiB", path);
        rc = SIM_EINVAL;
    } else if (memchr(text, '\0', n) != NULL) {
        if (err != NULL) {
            snprintf(err, err_size, "%s: not a text file (it contains NUL bytes)", path);
        }
        rc = SIM_EINVAL;
    }
    if (rc == SIM_OK) {
        text[n] = '\0';
        rc = sim_scenario_parse(path, text, systems, system_count, out, err, err_size);
    }
    free(text);
    return rc;
}

/* ---- accessors ---------------------------------------------------------------------------- */

static const value *find_value(const sim_scenario *sc, const char *section, const char *key)
{
    for (uint32_t i = 0; i < sc->nvalues; i++) {
        const sim_key_spec *k = sc->values[i].spec;
        if (strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0) return &sc->values[i];
    }
    return NULL;
}

uint32_t sim__scenario_line(const sim_scenario *sc, const char *section, const char *key)
{
    const value *v = find_value(sc, section, key);
    return v ? v->line : 0;
}

const char *sim_scenario_get(const sim_scenario *sc, const char *section, const char *key)
{
    const value *v = find_value(sc, section, key);
    return v ? v->text : NULL;
}

uint64_t sim_scenario_uint(const sim_scenario *sc, const char *section, const char *key)
{
    const value *v = find_value(sc, section, key);
    SIM_ASSERT(v != NULL);
    SIM_ASSERT(v->spec->type == SIM_KEY_UINT || v->spec->type == SIM_KEY_DURATION);
    return v->num;
}

bool sim_scenario_bool(const sim_scenario *sc, const char *section, const char *key)
{
    const value *v = find_value(sc, section, key);
    SIM_ASSERT(v != NULL);
    SIM_ASSERT(v->spec->type == SIM_KEY_BOOL);
    return v->num != 0;
}

const char *sim_scenario_path(const sim_scenario *sc)
{
    return sc->path;
}

const char *sim_scenario_name(const sim_scenario *sc)
{
    return sc->values[0].text;
}

const sim_system *sim_scenario_system(const sim_scenario *sc)
{
    return sc->system;
}

uint64_t sim_scenario_seed_first(const sim_scenario *sc)
{
    return sc->seed_first;
}

uint64_t sim_scenario_seed_last(const sim_scenario *sc)
{
    return sc->seed_last;
}

bool sim_scenario_expect_fail(const sim_scenario *sc)
{
    return sc->expect_fail;
}

bool sim_scenario_unknown_passes(const sim_scenario *sc)
{
    const char *v = sim_scenario_get(sc, "check", "unknown");
    SIM_ASSERT(v != NULL);
    return strcmp(v, "pass") == 0;
}

const char *sim_scenario_canonical(const sim_scenario *sc)
{
    return sc->canonical;
}

const sim__fault_spec *sim__scenario_faults(const sim_scenario *sc)
{
    return sc->mods[MOD_FAULTS];
}

const sim__net_spec *sim__scenario_network(const sim_scenario *sc)
{
    return sc->mods[MOD_NETWORK];
}

const sim__disk_spec *sim__scenario_disk(const sim_scenario *sc)
{
    return sc->mods[MOD_DISK];
}

/* The oracles a scenario runs: every one whose [check] key is not off (shutdown_within
 * with a bound). */
static uint32_t scenario_oracles(const sim_scenario *sc)
{
    static const struct {
        const char *key;
        uint32_t bit;
    } keys[] = {{"leaks", SIM_ORACLE_LEAKS},
                {"unread", SIM_ORACLE_UNREAD},
                {"uncollected", SIM_ORACLE_UNCOLLECTED}};
    uint32_t bits = SIM_ORACLE_SHUTDOWN;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = sim_scenario_get(sc, "check", keys[i].key);
        SIM_ASSERT(v != NULL);
        if (strcmp(v, "off") != 0) bits |= keys[i].bit;
    }
    SIM_ASSERT(bits != 0);
    return bits;
}

bool sim__scenario_finding_fails(const sim_scenario *sc, sim_violation_kind kind)
{
    const char *key = kind == SIM_VIOLATION_LEAK          ? "leaks"
                      : kind == SIM_VIOLATION_UNREAD      ? "unread"
                      : kind == SIM_VIOLATION_UNCOLLECTED ? "uncollected"
                                                          : NULL;
    if (key == NULL) return true;
    const char *v = sim_scenario_get(sc, "check", key);
    SIM_ASSERT(v != NULL);
    return strcmp(v, "fail") == 0;
}

sim_world_desc sim_scenario_world_desc(const sim_scenario *sc, uint64_t seed)
{
    /* With a liveness phase, the run must end by quiet_after + converge_within. */
    uint64_t deadline = sim__fault_spec_deadline(sc->mods[MOD_FAULTS]);
    /* [check] max_steps = 0 is no bound, which the desc says with UINT64_MAX (its 0 is the
     * default). */
    uint64_t check_steps = sim_scenario_uint(sc, "check", "max_steps");
    sim_world_desc d = {
        .seed = seed,
        .sched = sc->sched,
        .time_limit_ns = deadline ? deadline : sc->values[5].num,
        .step_limit = sc->values[6].num,
        .checkpoint_every = (uint32_t)sc->values[7].num,
        .check_max_steps = check_steps ? check_steps : UINT64_MAX,
        .check_max_memory = sim_scenario_uint(sc, "check", "max_memory"),
        .oracles = scenario_oracles(sc),
        .shutdown_at_ns = sim_scenario_uint(sc, "scenario", "shutdown_at"),
        .shutdown_within_ns = sim_scenario_uint(sc, "check", "shutdown_within"),
        .cancel_at = sim_scenario_uint(sc, "scenario", "cancel_at"),
        .cancel_rate = {1, (uint32_t)sim_scenario_uint(sc, "scenario", "cancel_one_in")},
        .branch_at = sim_scenario_uint(sc, "scenario", "branch_at"),
        .branch_rate = {1, (uint32_t)sim_scenario_uint(sc, "scenario", "branch_one_in")},
    };
    sim__sched_spec_desc(sc->mods[MOD_SCHEDULE], &d);
    return d;
}

/* A fresh spec of module m from the current one's canonical text, with `key = value` applied
 * on top (a repeatable key adds a line; key NULL: nothing), checked against the scenario as
 * it is now. */
static int module_rebuild(const sim_scenario *sc, int m, const char *key, const char *text,
                          errbuf *e, void **out)
{
    *out = NULL;
    void *fresh = NULL;
    int rc = module_make(sc, m, &fresh);
    char *lines = rc == SIM_OK ? modules[m].canonical(sc->mods[m]) : NULL;
    char msg[1024];
    char *save = NULL;
    bool repeats = key != NULL && (strcmp(key, "at") == 0 || strcmp(key, "link") == 0 ||
                                    strcmp(key, "only") == 0 || strcmp(key, "force") == 0 ||
                                    strcmp(key, "cancel") == 0);
    for (char *ln = lines ? strtok_r(lines, "\n", &save) : NULL; rc == SIM_OK && ln != NULL;
         ln = strtok_r(NULL, "\n", &save)) {
        char *eq = strstr(ln, " = ");
        if (eq == NULL) continue; /* the section header */
        *eq = '\0';
        if (key != NULL && !repeats && strcmp(ln, key) == 0) continue;
        rc = modules[m].set(fresh, ln, eq + 3, 0, msg, sizeof msg);
        if (rc == SIM_EINVAL) rc = fail(e, 0, "%s", msg);
    }
    if (rc == SIM_OK && key != NULL) {
        rc = modules[m].set(fresh, key, text, 0, msg, sizeof msg);
        if (rc == SIM_EINVAL) rc = fail(e, 0, "%s", msg);
    }
    uint32_t line;
    if (rc == SIM_OK) {
        rc = modules[m].finish(fresh, sc->values[5].num, msg, sizeof msg, &line);
        if (rc == SIM_EINVAL) rc = fail(e, 0, "%s", msg);
    }
    free(lines);
    if (rc != SIM_OK) {
        if (fresh != NULL) modules[m].free(fresh);
        return rc;
    }
    *out = fresh;
    return SIM_OK;
}

/* Replaces the module specs by fresh ones (NULL: keep) and rebuilds the canonical text. */
static void swap_modules(sim_scenario *sc, void *const *fresh)
{
    for (int m = 0; m < NMODS; m++) {
        if (fresh[m] == NULL) continue;
        modules[m].free(sc->mods[m]);
        sc->mods[m] = fresh[m];
    }
    free(sc->canonical);
    sc->canonical = NULL;
    build_canonical(sc);
}

/* The error for a section or key the scenario does not have, listing what it has. */
static int unknown_key(const sim_scenario *sc, errbuf *e, const char *section, const char *key)
{
    char list[1024] = "";
    bool section_found = false;
    for (uint32_t i = 0; i < sc->nvalues; i++) {
        section_found |= strcmp(sc->values[i].spec->section, section) == 0;
    }
    for (uint32_t i = 0; i < sc->nvalues; i++) {
        const sim_key_spec *k = sc->values[i].spec;
        size_t o = strlen(list);
        if (section_found && strcmp(k->section, section) == 0) {
            snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", k->key);
        } else if (!section_found && (i == 0 || strcmp(sc->values[i - 1].spec->section,
                                                       k->section) != 0)) {
            snprintf(list + o, sizeof list - o, "%s[%s]", o ? ", " : "", k->section);
        }
    }
    if (!section_found) {
        return fail(e, 0,
                    "unknown section [%s]; valid sections for system %s: %s, [disk], "
                    "[faults], [network], [schedule]",
                    section, sc->system->name, list);
    }
    return fail(e, 0, "[%s] unknown key '%s'; valid keys: %s", section, key, list);
}

/* sim_scenario_set once the value is checked and trimmed. */
static int set_value(sim_scenario *sc, const char *section, const char *key, const char *text,
                     errbuf e)
{
    void *fresh[NMODS] = {NULL};
    int m = module_of(section);
    if (m >= 0) {
        int rc = module_rebuild(sc, m, key, text, &e, &fresh[m]);
        if (rc == SIM_OK) swap_modules(sc, fresh);
        return rc;
    }
    value *v = NULL;
    for (uint32_t i = 0; i < sc->nvalues && v == NULL; i++) {
        const sim_key_spec *k = sc->values[i].spec;
        if (strcmp(k->section, section) == 0 && strcmp(k->key, key) == 0) v = &sc->values[i];
    }
    if (v == NULL) return unknown_key(sc, &e, section, key);
    if (strcmp(section, "scenario") == 0 && strcmp(key, "system") == 0) {
        return fail(&e, 0, "[scenario] system cannot be changed");
    }
    value fresh_value = {0};
    int rc = value_parse(&e, v->spec, text, 0, v->spec->choices ? v->spec->choices : "",
                         &fresh_value);
    if (rc != SIM_OK) return rc;
    value old = *v;
    *v = fresh_value;
    loader l = {.e = e};
    sim_scenario probe = *sc;
    rc = scenario_fields(&l, &probe);
    for (int i = 0; i < NMODS && rc == SIM_OK; i++) {
        rc = module_rebuild(&probe, i, NULL, NULL, &e, &fresh[i]);
    }
    if (rc != SIM_OK) {
        for (int i = 0; i < NMODS; i++) {
            if (fresh[i] != NULL) modules[i].free(fresh[i]);
        }
        free(v->text);
        *v = old;
        return rc;
    }
    free(old.text);
    sc->seed_first = probe.seed_first;
    sc->seed_last = probe.seed_last;
    sc->sched = probe.sched;
    sc->expect_fail = probe.expect_fail;
    swap_modules(sc, fresh);
    return SIM_OK;
}

int sim_scenario_set(sim_scenario *sc, const char *section, const char *key, const char *text,
                     char *err, size_t err_size)
{
    errbuf e = {.buf = err, .size = err_size, .path = sc->path};
    int rc = check_control(&e, 0, section, key, text);
    if (rc != SIM_OK) return rc;
    /* As if the file said `key = value`: the blanks around the value go, as inih drops them. */
    while (*text == ' ' || *text == '\t') text++;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t')) n--;
    char *trimmed = sim__xstrndup(text, n, "a scenario's value");
    rc = set_value(sc, section, key, trimmed, e);
    free(trimmed);
    return rc;
}
