/*
 * sim.c: the sim command line: dispatch, usage and what the commands share.
 *
 *   sim run SCENARIO|FOLDER... [--seeds A..B] [--db FILE] [--jobs N] [--shard K/N] ...
 *   sim replay --db FILE RUN [--until STEP] [--dump] [--events]
 *   sim replay --scenario FILE --seed N [--until STEP] [--dump] [--events]
 *   sim check-determinism SCENARIO [--seeds A..B]
 *   sim show --db FILE RUN [--node N] [--task T] [--kind K] [--from S] [--to S] [--format F]
 *   sim list --db FILE [--failed] [--scenario NAME]
 *   sim merge OUT.db IN.db...
 *   sim check --model MODEL FILE.edn | --db FILE RUN [--timeout D] [--jobs N] [--format F]
 *   sim demo [--seed N] [--strategy S] [--events]
 *   sim --help | sim COMMAND --help | sim --version
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
#include "version.h"

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
    "  demo                run the demo world once\n"
    "\n"
    "  sim COMMAND --help   the options of a command\n"
    "  sim --version        version and git commit\n";

const char *cli_version(void)
{
    return "sim " SIM_VERSION_STRING " (git " SIM_GIT_COMMIT ")";
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (usage != NULL) fprintf(stderr, "\n%s", usage);
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
    if (sim_scenario_load(path, sim_systems, sim_system_count, &sc, err, sizeof err) != SIM_OK) {
        fprintf(stderr, "sim: %s\n", err);
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
        fprintf(stderr, "sim: %s\n", err);
        return NULL;
    }
    return st;
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
    {"show", cmd_show}, {"list", cmd_list},     {"demo", cmd_demo}, {"check", cmd_check},
    {"merge", cmd_merge},
};

/* What reached standard output must have been written: a full disk or a file size limit
 * (with SIGXFSZ ignored) is an error, not a short file and exit 0. */
static int check_stdout(int rc)
{
    if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
    int e = errno;
    fprintf(stderr, "sim: writing standard output: %s%s\n", strerror(e),
            e == EFBIG ? " (the file size limit, ulimit -f, was reached)" : "");
    return rc != 0 ? rc : EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* A write past the file size limit (ulimit -f) fails with EFBIG, which each writer reports
     * with its file, instead of SIGXFSZ killing the process without a word. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("%s\n", cli_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            return check_stdout(commands[i].fn(argc - 2, argv + 2));
        }
    }
    return cli_usage_error(usage_main, "unknown command '%s'", cmd);
}
