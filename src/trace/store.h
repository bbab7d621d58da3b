/*
 * store.h: the trace store, a SQLite database of runs (docs/trace-schema.md). The only
 * module that links SQLite; its callers see runs, checkpoints, violations and events.
 *
 * Every error message names the file. Opening refuses a file that is not a sim database, one
 * written by a newer sim and, in write mode, one it cannot write or whose directory it cannot
 * write (saying which, and why); it never overwrites a file that is not an empty one or
 * already ours. Read mode works wherever the file can be read (store.c, read_uri).
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include "../core/core.h"

#define SIM__SCHEMA_VERSION 5

typedef struct sim__store sim__store;

typedef enum sim__store_mode {
    SIM__STORE_READ = 0,  /* the file must exist and be a sim database */
    SIM__STORE_WRITE = 1, /* created if missing or empty */
} sim__store_mode;

/* SIM_EINVAL (and a message naming the file) for anything wrong with the file. */
int sim__store_open(const char *path, sim__store_mode mode, sim__store **out, char *err,
                    size_t err_size);
void sim__store_close(sim__store *st);
/* The message of the last failed call. */
const char *sim__store_error(const sim__store *st);

/* One row of the runs table. Strings are owned (sim__run_row_free) when read back. */
typedef struct sim__run_row {
    uint64_t run_id;
    char *scenario;        /* [scenario] name */
    char *scenario_path;
    char *system;
    uint64_t seed;
    char *strategy;
    char *config;          /* sim_scenario_canonical */
    uint64_t config_hash;
    char *binary_version;
    char *record_mode;     /* off, fail or full */
    char *status;          /* done or interrupted; a host run: running until it ends */
    char *result;          /* pass, deadlock, ... (runner.c) */
    char *detail;
    char *report;
    uint64_t trace_hash;
    uint64_t event_count;
    uint64_t step_count;
    uint64_t vtime_ns;
    uint64_t wall_ms;
    bool events_stored;
    char *faults;          /* the seed's fault plan as drawn; "" without one */
    uint32_t fault_count;  /* faults injected (rows in faults when events are stored) */
    char *overrides;       /* the --set overrides it ran under, as the command line gave them
                              ("faults.crash=1/1s", space-separated); "" without any */
    char *backend;         /* "sim", or "host": a real process's run (sim_world_record), which
                              cannot be replayed; NULL when recording means "sim" */
} sim__run_row;

void sim__run_row_free(sim__run_row *row);

/* What a run adds beside its row. Any pointer may be NULL with a count of 0. */
typedef struct sim__run_data {
    const sim_checkpoint *checkpoints;
    uint32_t ncheckpoints;
    const sim__violation_rec *violations;
    uint32_t nviolations;
    const sim__evbuf *events; /* stored with the decisions they contain; NULL: not stored */
    const sim_fault_rec *faults;
    uint32_t nfaults;
    const sim_history *history; /* what clients saw; NULL: not stored */
} sim__run_data;

/* Run ids are shard << 40 | sequence (docs/trace-schema.md): a database written by
 * sim run --shard K/N uses shard K + 1, and 0 otherwise. */
#define SIM__STORE_SHARDS (1ull << 22)
int sim__store_set_shard(sim__store *st, uint64_t shard);
/* The file's schema version (older files opened for reading are read as they are). */
int64_t sim__store_version(const sim__store *st);

/* Merging another database into this one (opened for writing), for sim merge. The other
 * file must already have been opened and checked as a sim database of the same version.
 * merge_check: how many runs it has and, if some of their ids are taken here, the first of
 * them (else 0). merge: copies every run and its rows in one transaction. */
int sim__store_merge_check(sim__store *st, const char *path, uint64_t *runs, uint64_t *clash);
int sim__store_merge(sim__store *st, const char *path);

/* Records one run in one transaction; sets *run_id. */
int sim__store_record(sim__store *st, const sim__run_row *row, const sim__run_data *data,
                      uint64_t *run_id);

/* A run recorded as it goes (a host run: sim_world_record), so that a long run neither keeps
 * its events in memory nor loses them all when its process is killed. begin numbers the run
 * and inserts its row as it is then (status "running"); append adds events, numbered on from
 * seq0 (the events appended before), with the decisions among them; end replaces the row
 * with the final one and adds the checkpoints, violations and history of data (whose events
 * and faults must be empty: events came through append). Each call is one transaction. */
int sim__store_begin(sim__store *st, const sim__run_row *row, uint64_t *run_id);
int sim__store_append(sim__store *st, uint64_t run_id, uint64_t seq0, const sim__evbuf *events);
int sim__store_end(sim__store *st, uint64_t run_id, const sim__run_row *row,
                   const sim__run_data *data);

typedef struct sim__run_filter {
    bool failed_only;      /* results other than pass, and stopped (a host run's ordinary end) */
    const char *scenario; /* NULL: any */
} sim__run_filter;

/* Calls cb for each matching run, in run_id order; a non-zero return from cb stops. */
int sim__store_runs(sim__store *st, const sim__run_filter *f,
                    int (*cb)(void *ud, const sim__run_row *row), void *ud);
/* Reads one run; SIM_EINVAL "no run N" when absent. */
int sim__store_run(sim__store *st, uint64_t run_id, sim__run_row *out);

typedef struct sim__event_filter {
    int64_t node;      /* -1: any */
    int64_t task;      /* -1: any */
    int64_t kind;      /* -1: any */
    uint64_t from_step;
    uint64_t to_step;  /* inclusive; UINT64_MAX: no bound */
} sim__event_filter;

/* Appends a run's events to out, in order, filtered (NULL: all). On an error (a damaged
 * table, details past 4 GiB) out keeps the events read before it: the caller frees out
 * either way. */
int sim__store_events(sim__store *st, uint64_t run_id, const sim__event_filter *f,
                      sim__evbuf *out);
/* A run's checkpoints in order; *out is malloc'd. */
int sim__store_checkpoints(sim__store *st, uint64_t run_id, sim_checkpoint **out, uint32_t *n);

/* A run's faults in order; *out is malloc'd, free it with sim__faults_free. */
int sim__store_faults(sim__store *st, uint64_t run_id, sim_fault_rec **out, uint32_t *n);
void sim__faults_free(sim_fault_rec *f, uint32_t n);

/* A run's history (NULL when it has none: not stored, or recorded before schema 3). On a
 * history that does not read back, SIM_EINVAL with the message in sim__store_error. */
int sim__store_history(sim__store *st, uint64_t run_id, sim_history **out, char *err,
                       size_t err_size);

#endif /* SIM_STORE_H */
