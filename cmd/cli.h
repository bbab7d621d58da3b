/*
 * cli.h: what the command line's files share (it is part of libsim: sim_main in sim.h): exit
 * codes, argument parsing, the running binary's name and identity, the systems and models it
 * was given, and the Ctrl-C flag. Private: a user's binary sees sim.h only.
 */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include <signal.h>
#include <stdio.h>

#include "../replay/replay.h"
#include "../src/scenario/scenario.h"
#include "../src/trace/store.h"
#include "sim.h"

#define EXIT_FAILED 1      /* a run failed, a scenario missed its expect, a replay diverged */
#define EXIT_USAGE 2       /* bad arguments or input: the usage or a message says what */
#define EXIT_INTERRUPTED 130

/* The binary's identity, "sim 0.1.0 (git 1a2b3c4d5e6f)" or "counter-test 1.0 (build-id
 * 9f3c..., libsim 0.1.0)": what --version prints and every run records. */
const char *cli_version(void);
/* The running binary's name, argv[0]'s last component: what usage and suggested commands
 * say instead of "sim". */
const char *cli_prog(void);
/* The systems sim_main was given. */
const sim_system *const *cli_systems(uint32_t *count);
/* A checker model by name: sim_main's models, then the bundled ones; NULL when unknown. */
const sim_model *cli_model_find(const char *name);
/* sim_main's model i, NULL past the last. */
const sim_model *cli_model_at(uint32_t i);
/* "register, kv, kv-empty" and the names of sim_main's models, for messages. */
void cli_model_names(char *buf, size_t size);
/* The GNU build-id note of the running executable as hex (cli_host.c); false without one. */
bool cli_build_id(char *hex, size_t size);

/* Writes text to f with each "sim COMMAND" naming the running binary instead. */
void cli_rewrite(FILE *f, const char *text);
/* The same into buf (cut to size). */
void cli_rewrite_str(const char *text, char *buf, size_t size);
/* A run's one-line detail as it is shown: the command a failed or unknown check suggests
 * (`sim check --db FILE RUN --model M`) gets the database and run filled in, or, when the run
 * was not recorded (db NULL or run_id 0), its history not stored, or this binary does not
 * offer the model, says what to do instead; "sim" names the running binary. */
void cli_fill_detail(const char *detail, const char *db, uint64_t run_id, bool stored,
                     char *buf, size_t size);
/* printf to stderr after "PROG: ", and to stdout, through cli_rewrite. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "PROG: MESSAGE" and, when usage is not NULL, a blank line and the usage, to stderr;
 * returns EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whole-string parsers: 0 on success, -1 otherwise. */
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_range(const char *s, uint64_t *first, uint64_t *last); /* "A..B" or "N" */

/* The next argument as the value of option `opt`, or NULL after printing a usage error. */
const char *cli_value(int argc, char **argv, int *i, const char *opt, const char *usage);

/* The number of cores online (at least 1): the default of --jobs. */
long cli_cores(void);
/* Ctrl-C: the flag is set and the running world, if any, is asked to stop. */
extern volatile sig_atomic_t cli_interrupted;
extern sim_world *volatile cli_live_world;
void cli_catch_interrupts(void);

/* Loads a scenario against the registered systems, printing the error. */
sim_scenario *cli_load_scenario(const char *path);

/* --set SECTION.KEY=VALUE, repeatable: up to CLI_SETS_MAX changes to a scenario. */
#define CLI_SETS_MAX 16
typedef struct cli_sets {
    const char *item[CLI_SETS_MAX];
    int n;
} cli_sets;

/* Adds one --set argument after checking its form; prints a usage error otherwise. */
int cli_sets_add(cli_sets *sets, const char *arg, const char *usage);
/* Applies the changes to a loaded scenario, printing the first error. 0 or EXIT_USAGE. */
int cli_sets_apply(const cli_sets *sets, sim_scenario *sc);
/* Appends " --set 'S.K=V'" for each change to a command line in buf. */
void cli_sets_append(const cli_sets *sets, char *buf, size_t size);

/* Opens a trace database, printing the error. */
sim__store *cli_open_store(const char *path, sim__store_mode mode);

/* 64-bit FNV-1a of a string (config hashes in the runs table). */
uint64_t cli_hash_text(const char *s);

/* write(2) and read(2) of exactly len bytes, through EINTR; false on an error or end of file
 * (run_fork.c). */
bool cli_write_all(int fd, const void *data, size_t len);
bool cli_read_all(int fd, void *data, size_t len);

/* Runs one seed in a forked child whose heap differs from this process's (freed and fresh
 * blocks filled with a perturbation byte, blocks shifted), so that a run reading memory it
 * does not own gives a different hash there. SIM_OK with the outcome (a child that died is
 * an outcome of kind crash), or SIM_ENOMEM. The determinism checks run their second copy
 * so (run_fork.c). */
int cli_run_seed_forked(const sim_scenario *sc, const sim__run_opts *ro, sim__outcome *out);

/* The stock sim's own command (cmd/cmd_demo.c, over the bundled demo system; not in libsim). */
int cmd_demo(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_check_determinism(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_check(int argc, char **argv);
/* The RUN argument of a command that reads one recorded run: sets *run_id the first time,
 * refuses a second one or a non-number. 0, or EXIT_USAGE with the message and usage. */
int cli_run_arg(const char *arg, bool *have_run, uint64_t *run_id, const char *usage);
/* After the arguments: both --db FILE and RUN were given, FILE not empty. 0 or EXIT_USAGE. */
int cli_db_run_given(const char *db, bool have_run, const char *usage);
/* Opens db and reads run_id's row. 0, or EXIT_USAGE with the store's message printed. */
/* A host run (recorded from a real process by sim_world_record) cannot be run again: 0 for a
 * simulated run, else one line on stderr saying why and what reads it instead, and
 * EXIT_USAGE. doing: "replayed", "shrunk". */
int cli_refuse_host_run(const sim__run_row *row, const char *db, const char *doing);
int cli_open_run(const char *db, uint64_t run_id, sim__store_mode mode, sim__store **st,
                 sim__run_row *row);
int cmd_shrink(int argc, char **argv);
/* sim shrink --db DB RUN --max-runs N (cmd_shrink.c): 0, or EXIT_USAGE with the message. */
int cli_shrink(const char *db, uint64_t run_id, uint64_t max_runs, bool quiet);
int cmd_explain(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_viz(int argc, char **argv);
int cmd_explore(int argc, char **argv);

#endif /* SIM_CLI_H */
