/*
 * cmd_merge.c: sim merge OUT.db IN.db..., the databases of a suite's shards joined into one.
 *
 * Every input is opened and checked before anything is written: it must be a sim database of
 * this sim's schema version, and its run ids must not be taken in OUT or in an earlier input
 * (shards number their runs apart: docs/trace-schema.md). Then each input is copied in one
 * transaction, attached one at a time, so there is no limit on how many there are.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_merge[] =
    "usage: sim merge OUT.db IN.db...\n"
    "\n"
    "Copies every run of the input databases into OUT.db (created if missing), keeping run\n"
    "ids, so that replay commands printed by the shards stay valid. The inputs are usually\n"
    "the databases of sim run --shard K/N; inputs must be of this sim's schema version and\n"
    "their run ids must not collide. Nothing is written unless every input passes.\n"
    "\n"
    "exit status: 0 merged, 2 bad arguments or databases.\n";

/* The input is a sim database this sim reads, of the current schema. */
static int check_input(const char *path)
{
    sim__store *in = cli_open_store(path, SIM__STORE_READ);
    if (in == NULL) return EXIT_USAGE;
    int64_t v = sim__store_version(in);
    sim__store_close(in);
    if (v != SIM__SCHEMA_VERSION) {
        return cli_usage_error(NULL, "%s: schema version %lld, but this sim writes version %d: "
                                     "merge databases written by the same sim version (a run "
                                     "with --db %s upgrades it)",
                               path, (long long)v, SIM__SCHEMA_VERSION, path);
    }
    return 0;
}

int cmd_merge(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_rewrite(stdout, usage_merge);
            return 0;
        }
        if (argv[i][0] == '-') return cli_usage_error(usage_merge, "unknown option '%s'", argv[i]);
    }
    if (argc < 2) return cli_usage_error(usage_merge, "give the output and at least one input");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], argv[0]) == 0) {
            return cli_usage_error(usage_merge, "%s is both the output and an input", argv[0]);
        }
        int rc = check_input(argv[i]);
        if (rc != 0) return rc;
    }
    sim__store *out = cli_open_store(argv[0], SIM__STORE_WRITE);
    if (out == NULL) return EXIT_USAGE;
    int rc = 0;
    uint64_t total = 0;
    /* Checked against OUT as it grows: a clash between two inputs shows on the second. */
    for (int i = 1; rc == 0 && i < argc; i++) {
        uint64_t runs = 0, clash = 0;
        if (sim__store_merge_check(out, argv[i], &runs, &clash) != SIM_OK ||
            (clash == 0 && sim__store_merge(out, argv[i]) != SIM_OK)) {
            rc = cli_usage_error(NULL, "%s", sim__store_error(out));
        } else if (clash != 0) {
            rc = cli_usage_error(NULL, "%s: run %llu is already in %s. Shards' run ids never "
                                       "clash: was it merged before, or not written with "
                                       "--shard K/N (each K once)? Nothing from it was "
                                       "merged%s", argv[i], (unsigned long long)clash, argv[0],
                                 i > 1 ? "; the inputs before it were" : "");
        } else {
            total += runs;
            printf("%-40s %llu run(s)\n", argv[i], (unsigned long long)runs);
        }
    }
    if (rc == 0) {
        printf("merged %llu run(s) from %d database(s) into %s\n", (unsigned long long)total,
               argc - 1, argv[0]);
        cli_out("next: sim list --db %s --failed\n", argv[0]);
    }
    sim__store_close(out);
    return rc;
}
