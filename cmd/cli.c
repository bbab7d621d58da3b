/*
 * cli.c: the sim command line as a library (sim.h, "The command line as a library"):
 * dispatch, usage, the binary's name and identity, and what the commands share.
 *
 *   PROG run SCENARIO|FOLDER... [--seeds A..B] [--db FILE] [--jobs N] [--shard K/N] ...
 *   PROG replay --db FILE RUN [--until STEP] [--dump] [--events]
 *   PROG replay --scenario FILE --seed N [--until STEP] [--dump] [--events]
 *   PROG check-determinism SCENARIO [--seeds A..B]
 *   PROG show --db FILE RUN [--node N] [--task T] [--kind K] [--from S] [--to S] [--format F]
 *   PROG list --db FILE [--failed] [--scenario NAME]
 *   PROG merge OUT.db IN.db...
 *   PROG explore SCENARIO --seed N [--bound B] [--schedule S:T,...]
 *   PROG check --model MODEL FILE.edn | --db FILE RUN [--timeout D] [--jobs N] [--format F]
 *   PROG viz --db FILE RUN [-o OUT] [--format html|shiviz] [--highlight STEPS_FILE]
 *   PROG demo [--seed N] [--strategy S] [--events]
 *   PROG --help | PROG COMMAND --help | PROG --version
 *
 * PROG is the running binary (argv[0]'s last component): the stock sim, or a user's test
 * binary over its own systems and models. The texts of the commands say "sim COMMAND"; what
 * they print goes through cli_rewrite, which names PROG instead. The desc sim_main is given
 * is kept for the call (a process runs one command line): the CLI's only state besides the
 * Ctrl-C flag.
 *
 * Exit codes: 0 success; 1 a failure the command exists to find (a failing scenario, a
 * diverged replay, nondeterminism); 2 usage or input errors, with a message naming the file,
 * line or argument; 130 interrupted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage_main[] =
    "usage: sim COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  run                 run scenario files over their seeds, record runs in a database\n"
    "  replay              run a recorded run again and compare it event by event\n"
    "  check-determinism   run every seed twice and compare\n"
    "  show                the events of a recorded run\n"
    "  list                the runs in a database\n"
    "  merge               join the databases of a suite's shards\n"
    "  check               is a history linearizable? (Jepsen EDN, or a recorded run's)\n"
    "  shrink              reduce a failing run to a smaller one that fails the same way\n"
    "  explain             the causal slice of a run's failure: what led to it, nothing else\n"
    "  viz                 a recorded run as a space-time diagram (HTML) or a ShiViz log\n"
    "  explore             every schedule of a seed within a bound on deviations\n";

static const char usage_tail[] =
    "\n"
    "  sim COMMAND --help   the options of a command\n"
    "  sim --version        version and build\n";

/* What sim_main was given, and what it made of argv[0] and the identity. */
static struct {
    const sim_main_desc *desc;
    char prog[64];         /* argv[0]'s last component; "sim" without one */
    char identity[320];    /* "NAME VERSION (BUILD)" */
} cli;

const char *cli_prog(void)
{
    return cli.prog[0] != '\0' ? cli.prog : "sim";
}

const char *cli_version(void)
{
    return cli.identity[0] != '\0' ? cli.identity : "sim " SIM_VERSION_STRING " (unknown)";
}

const sim_system *const *cli_systems(uint32_t *count)
{
    SIM_ASSERT(cli.desc != NULL);
    *count = cli.desc->system_count;
    return cli.desc->systems;
}

/* The commands a text names, as "sim COMMAND": rewritten to name the running binary. */
static const char *const command_words[] = {
    "run", "replay", "check-determinism", "show", "list", "merge", "check", "shrink", "explain",
    "viz", "explore", "demo", "COMMAND", "--version", "--help",
};

/* Whether "sim " at s (a word's start) names a command of the CLI. */
static bool names_command(const char *s)
{
    for (size_t i = 0; i < sizeof command_words / sizeof command_words[0]; i++) {
        size_t n = strlen(command_words[i]);
        if (strncmp(s + 4, command_words[i], n) == 0 &&
            (s[4 + n] == ' ' || s[4 + n] == '\n' || s[4 + n] == '\0' || s[4 + n] == ')' ||
             s[4 + n] == ',' || s[4 + n] == ';' || s[4 + n] == '`' || s[4 + n] == '\'')) {
            return true;
        }
    }
    return false;
}

void cli_rewrite(FILE *f, const char *text)
{
    SIM_ASSERT(f != NULL);
    SIM_ASSERT(text != NULL);
    const char *prog = cli_prog();
    if (strcmp(prog, "sim") == 0) {
        fputs(text, f);
        return;
    }
    const char *s = text;
    for (const char *p = text; *p != '\0'; p++) {
        bool word_start = p == text || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '(' ||
                          p[-1] == '`' || p[-1] == '\'' || p[-1] == '"';
        if (word_start && strncmp(p, "sim ", 4) == 0 && names_command(p)) {
            fwrite(s, 1, (size_t)(p - s), f);
            fputs(prog, f);
            s = p + 3;
        }
    }
    fputs(s, f);
}

void cli_rewrite_str(const char *text, char *buf, size_t size)
{
    SIM_ASSERT(size > 0);
    buf[0] = '\0';
    FILE *f = fmemopen(buf, size, "w");
    if (f == NULL) {
        snprintf(buf, size, "%s", text);
        return;
    }
    cli_rewrite(f, text);
    fclose(f);
    buf[size - 1] = '\0';
}

/* The hints sim_world_check ends a detail with (src/check/record.c), before the model's
 * name: the not-linearizable one and the unknown one. */
static const char hint_why[] = " (sim check --db FILE RUN --model ";
static const char hint_on[] = ", or search on: sim check --db FILE RUN --model ";

void cli_fill_detail(const char *detail, const char *db, uint64_t run_id, bool stored,
                     char *buf, size_t size)
{
    SIM_ASSERT(detail != NULL);
    SIM_ASSERT(size > 0);
    const char *at = strstr(detail, hint_why);
    size_t hint_len = sizeof hint_why - 1;
    if (at == NULL) {
        at = strstr(detail, hint_on);
        hint_len = sizeof hint_on - 1;
    }
    if (at == NULL) {
        cli_rewrite_str(detail, buf, size);
        return;
    }
    char model[64];
    const char *name = at + hint_len;
    size_t n = strcspn(name, " )");
    snprintf(model, sizeof model, "%.*s", (int)(n < 63 ? n : 63), name);
    const char *rest = name + n; /* " shows why)" or " --max-steps N" and anything after */
    char text[2048];
    if (cli_model_find(model) == NULL) {
        /* The command would refuse the model: say how to offer it instead. */
        snprintf(text, sizeof text, "%.*s (model %s is not offered by this binary: pass it "
                 "in sim_main_desc.models to check the history with sim check)",
                 (int)(at - detail), detail, model);
    } else if (db == NULL || run_id == 0) {
        /* Not recorded: there is no history to check until the seed is recorded. */
        snprintf(text, sizeof text, "%.*s (record the seed with --db to check its history "
                 "with sim check --model %s)", (int)(at - detail), detail, model);
    } else if (!stored) {
        snprintf(text, sizeof text, "%.*s (run %llu's history was not stored: record the seed "
                 "with --record full to check it with sim check --model %s)",
                 (int)(at - detail), detail, (unsigned long long)run_id, model);
    } else {
        snprintf(text, sizeof text, "%.*s%.*s--db %s %llu --model %s%s", (int)(at - detail),
                 detail, (int)(hint_len - strlen("--db FILE RUN --model ")), at, db,
                 (unsigned long long)run_id, model, rest);
    }
    cli_rewrite_str(text, buf, size);
}

void cli_err(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: ", cli_prog());
    cli_rewrite(stderr, buf);
}

void cli_out(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cli_rewrite(stdout, buf);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: ", cli_prog());
    cli_rewrite(stderr, buf);
    fputc('\n', stderr);
    if (usage != NULL) {
        fputc('\n', stderr);
        cli_rewrite(stderr, usage);
    }
    return EXIT_USAGE;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') return -1;
    /* Decimal, or hexadecimal with 0x; never octal: "010" is ten. */
    int base = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
    if (base == 16 && (s[2] == '\0' || s[2] == '-' || s[2] == '+')) return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0') return -1;
    *out = v;
    return 0;
}

int cli_parse_range(const char *s, uint64_t *first, uint64_t *last)
{
    if (s == NULL) return -1;
    const char *dots = strstr(s, "..");
    if (dots == NULL) {
        if (cli_parse_u64(s, first) != 0) return -1;
        *last = *first;
        return 0;
    }
    char a[32];
    size_t n = (size_t)(dots - s);
    if (n == 0 || n >= sizeof a) return -1;
    memcpy(a, s, n);
    a[n] = '\0';
    if (cli_parse_u64(a, first) != 0 || cli_parse_u64(dots + 2, last) != 0) return -1;
    return *first <= *last ? 0 : -1;
}

const char *cli_value(int argc, char **argv, int *i, const char *opt, const char *usage)
{
    if (*i + 1 >= argc) {
        cli_usage_error(usage, "%s needs a value", opt);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

long cli_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? n : 1;
}

volatile sig_atomic_t cli_interrupted;
sim_world *volatile cli_live_world;

static void on_interrupt(int sig)
{
    (void)sig;
    cli_interrupted = 1;
    sim_world *w = cli_live_world;
    if (w != NULL) sim_world_stop(w);
}

void cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

sim_scenario *cli_load_scenario(const char *path)
{
    sim_scenario *sc = NULL;
    char err[1024];
    uint32_t n;
    const sim_system *const *systems = cli_systems(&n);
    if (sim_scenario_load(path, systems, n, &sc, err, sizeof err) != SIM_OK) {
        cli_err("%s\n", err);
        return NULL;
    }
    return sc;
}

int cli_sets_add(cli_sets *sets, const char *arg, const char *usage)
{
    const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
    if (dot == NULL || eq == NULL || dot > eq || dot == arg || eq == dot + 1) {
        return cli_usage_error(usage, "--set expects SECTION.KEY=VALUE (faults.crash=1/10s), "
                                      "got '%s'", arg);
    }
    if (strchr(arg, '\'') != NULL) return cli_usage_error(usage, "--set: no quotes, please");
    char what[32];
    const char *bad = sim__text_control(arg, what, sizeof what);
    if (bad != NULL && bad < eq) {
        /* Not echoed: the character would garble the message. */
        return cli_usage_error(usage, "--set: the section or key name holds %s, a control "
                                      "character", what);
    }
    if (bad != NULL) {
        return cli_usage_error(usage, "--set %.*s: the value holds %s, a control character; a "
                                      "value is one line of text without them (tabs allowed)",
                               (int)(eq - arg), arg, what);
    }
    if (sets->n == CLI_SETS_MAX) {
        return cli_usage_error(usage, "--set: at most %d of them", CLI_SETS_MAX);
    }
    sets->item[sets->n++] = arg;
    return 0;
}

int cli_sets_apply(const cli_sets *sets, sim_scenario *sc)
{
    for (int i = 0; i < sets->n; i++) {
        const char *a = sets->item[i];
        const char *dot = strchr(a, '.'), *eq = strchr(a, '=');
        char section[64], key[128], err[1024];
        snprintf(section, sizeof section, "%.*s", (int)(dot - a), a);
        snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
        if (sim_scenario_set(sc, section, key, eq + 1, err, sizeof err) != SIM_OK) {
            return cli_usage_error(NULL, "--set %s: %s", a, err);
        }
    }
    return 0;
}

void cli_sets_append(const cli_sets *sets, char *buf, size_t size)
{
    for (int i = 0; i < sets->n; i++) {
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, " --set '%s'", sets->item[i]);
    }
}

sim__store *cli_open_store(const char *path, sim__store_mode mode)
{
    sim__store *st = NULL;
    char err[1024];
    if (sim__store_open(path, mode, &st, err, sizeof err) != SIM_OK) {
        cli_err("%s\n", err);
        return NULL;
    }
    return st;
}

int cli_run_arg(const char *arg, bool *have_run, uint64_t *run_id, const char *usage)
{
    if (*have_run) return cli_usage_error(usage, "one run at a time; '%s' is one too many", arg);
    if (cli_parse_u64(arg, run_id) != 0 || *run_id == 0) {
        return cli_usage_error(usage, "RUN expects a run number, got '%s'", arg);
    }
    *have_run = true;
    return 0;
}

int cli_db_run_given(const char *db, bool have_run, const char *usage)
{
    if (db == NULL || !have_run) return cli_usage_error(usage, "give --db FILE RUN");
    if (db[0] == '\0') return cli_usage_error(usage, "--db: the database path is empty");
    return 0;
}

int cli_refuse_host_run(const sim__run_row *row, const char *db, const char *doing)
{
    SIM_ASSERT(row != NULL && db != NULL && doing != NULL);
    if (row->backend == NULL || strcmp(row->backend, "host") != 0) return 0;
    cli_err("run %llu is a host run (%s: a real process on the host's clock, sockets and "
            "threads, not a seed of the simulator), so it cannot be %s; read it with %s show "
            "--db %s %llu, or explain or viz\n",
            (unsigned long long)row->run_id, row->scenario, doing, cli_prog(), db,
            (unsigned long long)row->run_id);
    return EXIT_USAGE;
}

int cli_open_run(const char *db, uint64_t run_id, sim__store_mode mode, sim__store **st,
                 sim__run_row *row)
{
    SIM_ASSERT(db != NULL && run_id != 0);
    *st = cli_open_store(db, mode);
    if (*st == NULL) return EXIT_USAGE;
    if (sim__store_run(*st, run_id, row) == SIM_OK) return 0;
    cli_err("%s\n", sim__store_error(*st));
    sim__store_close(*st);
    *st = NULL;
    return EXIT_USAGE;
}

uint64_t cli_hash_text(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s != '\0'; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    {"run", cmd_run},   {"replay", cmd_replay}, {"check-determinism", cmd_check_determinism},
    {"show", cmd_show}, {"list", cmd_list},     {"check", cmd_check},
    {"merge", cmd_merge}, {"shrink", cmd_shrink}, {"explain", cmd_explain}, {"viz", cmd_viz},
    {"explore", cmd_explore},
};

/* What reached standard output must have been written: a full disk or a file size limit
 * (with SIGXFSZ ignored) is an error, not a short file and exit 0. */
static int check_stdout(int rc)
{
    if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
    int e = errno;
    fprintf(stderr, "%s: writing standard output: %s%s\n", cli_prog(), strerror(e),
            e == EFBIG ? " (the file size limit, ulimit -f, was reached)" : "");
    return rc != 0 ? rc : EXIT_USAGE;
}

/* The usage: the CLI's commands, the binary's own, how to ask for more. */
static void format_usage(const sim_main_desc *d, char *buf, size_t size)
{
    snprintf(buf, size, "%s", usage_main);
    for (uint32_t i = 0; i < d->command_count; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "  %-19s %s\n", d->commands[i].name,
                 d->commands[i].summary != NULL ? d->commands[i].summary : "");
    }
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s", usage_tail);
}

/* The last component of argv[0], at most 63 bytes; "sim" without one. */
static void set_prog(int argc, char **argv)
{
    const char *a = argc > 0 && argv != NULL && argv[0] != NULL ? argv[0] : "";
    const char *slash = strrchr(a, '/');
    const char *base = slash != NULL ? slash + 1 : a;
    snprintf(cli.prog, sizeof cli.prog, "%s", base[0] != '\0' ? base : "sim");
}

/* "NAME VERSION (BUILD)", as --version prints it and every run records it. */
static void set_identity(const sim_main_desc *d)
{
    char build[160];
    if (d->build_id != NULL) {
        snprintf(build, sizeof build, "%s", d->build_id);
    } else {
        char hex[96];
        if (!cli_build_id(hex, sizeof hex)) snprintf(hex, sizeof hex, "unknown");
        snprintf(build, sizeof build, "build-id %s, libsim %s", hex, SIM_VERSION_STRING);
    }
    snprintf(cli.identity, sizeof cli.identity, "%s %s (%s)",
             d->name != NULL ? d->name : cli.prog, d->version != NULL ? d->version : "0",
             build);
}

/* The desc's rules (sim.h): lists present when counted, names given and unique, models
 * apart from the bundled ones. 0, or EXIT_USAGE with the entry named. */
static int check_desc(const sim_main_desc *d)
{
    if (d->systems == NULL && d->system_count > 0) {
        return cli_usage_error(NULL, "sim_main: system_count is %u and systems is NULL",
                               d->system_count);
    }
    if (d->models == NULL && d->model_count > 0) {
        return cli_usage_error(NULL, "sim_main: model_count is %u and models is NULL",
                               d->model_count);
    }
    for (uint32_t i = 0; i < d->system_count; i++) {
        const sim_system *s = d->systems[i];
        if (s == NULL || s->name == NULL || s->setup == NULL) {
            return cli_usage_error(NULL, "sim_main: systems[%u] has no name or no setup", i);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(d->systems[j]->name, s->name) == 0) {
                return cli_usage_error(NULL, "sim_main: two systems are named '%s' "
                                             "(systems[%u] and systems[%u])", s->name, j, i);
            }
        }
    }
    if (d->commands == NULL && d->command_count > 0) {
        return cli_usage_error(NULL, "sim_main: command_count is %u and commands is NULL",
                               d->command_count);
    }
    for (uint32_t i = 0; i < d->command_count; i++) {
        const sim_main_command *c = &d->commands[i];
        if (c->name == NULL || c->run == NULL) {
            return cli_usage_error(NULL, "sim_main: commands[%u] has no name or no run", i);
        }
        for (size_t j = 0; j < sizeof commands / sizeof commands[0]; j++) {
            if (strcmp(commands[j].name, c->name) == 0) {
                return cli_usage_error(NULL, "sim_main: commands[%u] is named '%s', as a "
                                             "command of the CLI is", i, c->name);
            }
        }
    }
    for (uint32_t i = 0; i < d->model_count; i++) {
        const sim_model *m = d->models[i];
        if (m == NULL || m->name == NULL || m->step == NULL || m->init == NULL) {
            return cli_usage_error(NULL, "sim_main: models[%u] has no name, init or step", i);
        }
        if (sim_model_find(m->name) != NULL) {
            return cli_usage_error(NULL, "sim_main: models[%u] is named '%s', as a bundled "
                                         "model is; choose another name", i, m->name);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(d->models[j]->name, m->name) == 0) {
                return cli_usage_error(NULL, "sim_main: two models are named '%s' (models[%u] "
                                             "and models[%u])", m->name, j, i);
            }
        }
    }
    return 0;
}

const sim_model *cli_model_find(const char *name)
{
    SIM_ASSERT(cli.desc != NULL);
    SIM_ASSERT(name != NULL);
    for (uint32_t i = 0; i < cli.desc->model_count; i++) {
        if (strcmp(cli.desc->models[i]->name, name) == 0) return cli.desc->models[i];
    }
    return sim_model_find(name);
}

const sim_model *cli_model_at(uint32_t i)
{
    return cli.desc != NULL && i < cli.desc->model_count ? cli.desc->models[i] : NULL;
}

void cli_model_names(char *buf, size_t size)
{
    snprintf(buf, size, "register, kv, kv-empty");
    for (uint32_t i = 0; cli.desc != NULL && i < cli.desc->model_count; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, ", %s", cli.desc->models[i]->name);
    }
}

int sim_main(int argc, char **argv, const sim_main_desc *desc)
{
    SIM_ASSERT(desc != NULL);
    SIM_ASSERT(argc >= 0);
    set_prog(argc, argv);
    cli.desc = desc;
    int rc = check_desc(desc);
    if (rc != 0) return rc;
    set_identity(desc);
    /* A write past the file size limit (ulimit -f) fails with EFBIG, which each writer reports
     * with its file, instead of SIGXFSZ killing the process without a word. */
    signal(SIGXFSZ, SIG_IGN);
    char usage[4096];
    format_usage(desc, usage, sizeof usage);
    if (argc < 2) {
        cli_rewrite(stderr, usage);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        cli_rewrite(stdout, usage);
        return check_stdout(0);
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("%s\n", cli_version());
        return check_stdout(0);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            return check_stdout(commands[i].fn(argc - 2, argv + 2));
        }
    }
    for (uint32_t i = 0; i < desc->command_count; i++) {
        if (strcmp(cmd, desc->commands[i].name) == 0) {
            return check_stdout(desc->commands[i].run(argc - 2, argv + 2));
        }
    }
    return cli_usage_error(usage, "unknown command '%s'", cmd);
}
