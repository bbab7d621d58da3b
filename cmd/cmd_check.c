/*
 * cmd_check.c: sim check, the linearizability checker on a history: a Jepsen EDN file, or the
 * history stored with a recorded run (docs/checking.md).
 *
 * Exit codes: 0 linearizable, 1 not linearizable, 3 unknown (the timeout, the memory limit or
 * the bound on steps ended the search), 2 bad arguments or input. Keys are searched in rounds
 * (src/check/check.c): the first anomaly found ends the check unless --all-keys.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define EXIT_UNKNOWN 3

static const char usage_check[] =
    "usage: sim check --model MODEL FILE.edn [--timeout D] [--jobs N] [--format text|json]\n"
    "       sim check --model MODEL --db FILE RUN [...]\n"
    "\n"
    "Is the history linearizable? FILE.edn is Jepsen's history format, one map per line\n"
    "({:process 0, :type :invoke, :f :read, :key \"x\", :value nil}), or Jepsen's log lines\n"
    "(INFO  jepsen.util - 0<TAB>:invoke<TAB>:read<TAB>nil); - reads standard input.\n"
    "--db checks the history stored with a recorded run. Keys are checked apart.\n"
    "Exit: 0 linearizable, 1 not linearizable, 3 unknown (a limit ran out), 2 bad input.\n"
    "\n"
    "  --model M      register   read, write, cas [old new] of one value per key, nil at first\n"
    "                 kv         get, put, append, rm on keys; a missing key reads nil\n"
    "                 kv-empty   kv, where a missing key may also read \"\"\n"
    "%s"
    "  --timeout D    give up after D of host time (30, 30s, 2m): unknown. Default: never\n"
    "  --jobs N       keys searched at once, in threads (default: the cores, here %ld)\n"
    "  --max-configs N  configurations one key's search may remember (default 16777216)\n"
    "  --max-memory B what the whole check may hold, all keys and jobs together, counted as\n"
    "                 it allocates (bytes, or 512K, 100M, 2G; default 2G): unknown past it\n"
    "  --all-keys     decide every key, even after one is found not linearizable (by\n"
    "                 default the check ends there and names the keys left undecided)\n"
    "  --max-steps N  steps the whole check may take, all keys together (default: no bound);\n"
    "                 as a run's check counts them ([check] max_steps, default 10000000), so\n"
    "                 the verdict is the same on any machine and with any --jobs\n"
    "  --search S     auto       wgl, turning to prune when it backs up far (default)\n"
    "                 wgl        Porcupine's search: fastest to find an order\n"
    "                 prune      skips info operations erased unseen: fastest to find none\n"
    "  --format F     text (default) or json (one object)\n";

typedef struct check_opts {
    const sim_model *model;
    const char *file;
    const char *db;
    uint64_t run_id;
    bool have_run;
    sim_check_desc desc;
    bool json;
} check_opts;

/* The usage with this binary's own models (sim_main's) after the bundled ones. */
static void format_usage(char *buf, size_t size)
{
    char models[2048] = "";
    const sim_model *m;
    for (uint32_t i = 0; (m = cli_model_at(i)) != NULL; i++) {
        size_t n = strlen(models);
        snprintf(models + n, sizeof models - n, "                 %-10s %s\n", m->name,
                 m->summary != NULL ? m->summary : "");
    }
    snprintf(buf, size, usage_check, models, cli_cores());
}

static int usage_error(const char *msg, const char *arg)
{
    char usage[sizeof usage_check + 2048 + 32];
    format_usage(usage, sizeof usage);
    return cli_usage_error(usage, msg, arg);
}

/* "1048576", "512K", "100M", "2G" (powers of 1024): -1 for anything else, or 0. */
static int parse_bytes(const char *v, uint64_t *bytes)
{
    size_t len = strlen(v);
    if (len == 0 || len > 30) return -1;
    char digits[32];
    memcpy(digits, v, len + 1);
    unsigned shift = 0;
    const char *units = "KMGT";
    const char *u = strchr(units, digits[len - 1]);
    if (u != NULL) {
        shift = 10u * (unsigned)(u - units + 1);
        digits[len - 1] = '\0';
    }
    uint64_t n;
    if (cli_parse_u64(digits, &n) != 0 || n == 0 || n > (UINT64_MAX >> shift)) return -1;
    *bytes = n << shift;
    return 0;
}

/* "30" (seconds) or a duration, "250ms", "2m". More seconds than 2^64 ns hold is as good
 * as never: the value saturates, as the deadline made from it does. */
static int parse_timeout(const char *v, uint64_t *ns)
{
    uint64_t s;
    if (cli_parse_u64(v, &s) == 0) {
        if (s == 0) return -1;
        *ns = s > UINT64_MAX / SIM_S ? UINT64_MAX : s * SIM_S;
        return 0;
    }
    return sim__parse_host_duration(v, ns) == SIM_OK && *ns > 0 ? 0 : -1;
}

static int parse_value(check_opts *o, const char *a, const char *v)
{
    uint64_t n;
    if (strcmp(a, "--model") == 0) {
        o->model = cli_model_find(v);
        if (o->model == NULL) {
            char names[1024], msg[1200];
            cli_model_names(names, sizeof names);
            snprintf(msg, sizeof msg, "--model expects one of %s; got '%%s'", names);
            return usage_error(msg, v);
        }
    } else if (strcmp(a, "--db") == 0) {
        o->db = v;
    } else if (strcmp(a, "--timeout") == 0) {
        if (parse_timeout(v, &o->desc.timeout_ns) != 0) {
            return usage_error("--timeout expects seconds or a duration (30, 500ms, 2m), "
                               "got '%s'", v);
        }
    } else if (strcmp(a, "--jobs") == 0) {
        if (cli_parse_u64(v, &n) != 0 || n == 0 || n > 1024) {
            return usage_error("--jobs expects a number from 1 to 1024, got '%s'", v);
        }
        o->desc.jobs = (uint32_t)n;
    } else if (strcmp(a, "--max-configs") == 0) {
        if (cli_parse_u64(v, &n) != 0 || n == 0) {
            return usage_error("--max-configs expects a positive number, got '%s'", v);
        }
        o->desc.max_configs = n;
    } else if (strcmp(a, "--max-steps") == 0) {
        if (cli_parse_u64(v, &n) != 0 || n == 0) {
            return usage_error("--max-steps expects a positive number, got '%s'", v);
        }
        o->desc.max_steps = n;
    } else if (strcmp(a, "--max-memory") == 0) {
        if (parse_bytes(v, &o->desc.max_memory) != 0) {
            return usage_error("--max-memory expects bytes, or a number with K, M, G or T "
                               "(512K, 100M, 2G), got '%s'", v);
        }
    } else if (strcmp(a, "--search") == 0) {
        /* In sim_check_search's order. */
        static const char *const names[] = {"auto", "wgl", "prune"};
        size_t i = 0, count = sizeof names / sizeof names[0];
        while (i < count && strcmp(v, names[i]) != 0) i++;
        if (i == count) return usage_error("--search expects auto, wgl or prune, got '%s'", v);
        o->desc.search = (sim_check_search)i;
    } else if (strcmp(a, "--format") == 0) {
        if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0) {
            return usage_error("--format expects text or json, got '%s'", v);
        }
        o->json = v[0] == 'j';
    } else {
        return usage_error("unknown option '%s'", a);
    }
    return 0;
}

static int parse_args(int argc, char **argv, check_opts *o)
{
    o->desc.jobs = (uint32_t)(cli_cores() > 1024 ? 1024 : cli_cores());
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            char usage[sizeof usage_check + 2048 + 32];
            format_usage(usage, sizeof usage);
            cli_rewrite(stdout, usage);
            return -1;
        }
        if (strcmp(a, "--all-keys") == 0) {
            o->desc.all_keys = true;
        } else if (a[0] == '-' && a[1] == '-') {
            if (i + 1 >= argc) return usage_error("%s needs a value", a);
            int rc = parse_value(o, a, argv[++i]);
            if (rc != 0) return rc;
        } else if (o->db != NULL && !o->have_run && cli_parse_u64(a, &o->run_id) == 0) {
            o->have_run = true;
        } else if (o->file == NULL && o->db == NULL) {
            o->file = a;
        } else {
            return usage_error("unexpected argument '%s'", a);
        }
    }
    if (o->model == NULL) {
        char names[1024];
        cli_model_names(names, sizeof names);
        return usage_error("which model? give --model and one of %s", names);
    }
    if (o->db != NULL && o->file != NULL) {
        return usage_error("give a history file or --db FILE RUN, not both (%s)", o->file);
    }
    if (o->db != NULL && !o->have_run) return usage_error("--db %s: which run? give RUN", o->db);
    if (o->db == NULL && o->file == NULL) return usage_error("which history? give FILE.edn%s", "");
    o->desc.model = o->model;
    return 0;
}

/* The whole of a file (or standard input for "-"), NUL-terminated; NULL after a message. */
static char *read_all(const char *path)
{
    bool in = strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "rb");
    if (f == NULL) {
        cli_err("%s: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    /* A file's size, when it has one, sizes the buffer: one read, no copy (a 600 KB history
     * took 4% of its check growing the buffer and copying through stdio's). */
    size_t len = 0, cap = 1 << 16;
    struct stat st;
    if (!in && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size < SIZE_MAX / 4) {
        cap = (size_t)st.st_size + 2;
        setvbuf(f, NULL, _IONBF, 0);
    }
    char *text = malloc(cap);
    while (text != NULL) {
        len += fread(text + len, 1, cap - len - 1, f);
        if (len < cap - 1) break;
        char *bigger = realloc(text, cap * 2);
        if (bigger == NULL) free(text);
        text = bigger;
        cap *= 2;
    }
    bool failed = text == NULL || ferror(f);
    if (!in) fclose(f);
    if (failed) {
        cli_err("%s: %s\n", path, text == NULL ? "out of memory" : "read error");
        free(text);
        return NULL;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        cli_err("%s: a NUL byte at offset %zu: not a text file\n", path,
                strlen(text));
        free(text);
        return NULL;
    }
    return text;
}

static int load_file(const check_opts *o, sim_history **h)
{
    char *text = read_all(o->file);
    if (text == NULL) return EXIT_USAGE;
    char err[1024];
    int rc = sim_history_parse_edn(strcmp(o->file, "-") == 0 ? "<stdin>" : o->file, text, h, err,
                                   sizeof err);
    free(text);
    if (rc == SIM_OK) return 0;
    cli_err("%s\n", rc == SIM_EINVAL ? err : sim_result_str(rc));
    return EXIT_USAGE;
}

static int load_run(const check_opts *o, sim_history **h)
{
    sim__store *st = cli_open_store(o->db, SIM__STORE_READ);
    if (st == NULL) return EXIT_USAGE;
    sim__run_row row = {0};
    char err[1024] = "";
    int rc = sim__store_run(st, o->run_id, &row);
    if (rc == SIM_OK) rc = sim__store_history(st, o->run_id, h, err, sizeof err);
    if (rc != SIM_OK) {
        cli_err("%s\n", sim__store_error(st));
    } else if (*h == NULL && row.events_stored) {
        cli_err("%s: run %llu has no history: its system recorded none\n", o->db,
                (unsigned long long)o->run_id);
        rc = SIM_EINVAL;
    } else if (*h == NULL) {
        cli_err("%s: run %llu has no stored history: a run keeps it with its events (a "
                "failure, or --record full)\n"
                "  record the seed again: sim run %s --seed %llu --db %s --record full\n",
                o->db, (unsigned long long)o->run_id, row.scenario_path,
                (unsigned long long)row.seed, o->db);
        rc = SIM_EINVAL;
    }
    sim__run_row_free(&row);
    sim__store_close(st);
    return rc == SIM_OK ? 0 : EXIT_USAGE;
}

int cmd_check(int argc, char **argv)
{
    check_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0) return rc < 0 ? 0 : rc;
    sim_history *h = NULL;
    rc = o.db != NULL ? load_run(&o, &h) : load_file(&o, &h);
    if (rc != 0) return rc;
    sim_check_result *r = NULL;
    char err[1024];
    int crc = sim_check(h, &o.desc, &r, err, sizeof err);
    sim_history_free(h);
    if (crc != SIM_OK) {
        cli_err("%s%s%s\n", o.file ? o.file : o.db, o.file ? ": " : ": ",
                crc == SIM_EINVAL ? err : sim_result_str(crc));
        return EXIT_USAGE;
    }
    fputs(sim_check_report(r, o.json), stdout);
    if (o.json) fputc('\n', stdout);
    sim_verdict v = sim_check_verdict(r);
    sim_check_result_free(r);
    return v == SIM_LINEARIZABLE ? 0 : v == SIM_NOT_LINEARIZABLE ? EXIT_FAILED : EXIT_UNKNOWN;
}
