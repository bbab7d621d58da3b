/*
 * host_record.c: a host run recorded in a trace database as it goes (sim.h,
 * sim_world_record): the events a simulated run stores under --record full, in the same
 * schema, on a run row marked backend = 'host'.
 *
 * A host run has no scenario to run again and may last for days, so nothing here waits for
 * its end: the recorder puts itself in front of the world's trace sink, keeps events in a
 * buffer and writes them batch by batch (sim__store_append, one transaction each) when the
 * buffer is full or an event comes a second after the last write. The run's row is inserted
 * at once (status "running") and replaced with the final one by the world's end, through this
 * module's extension hook, which runs after the world dropped its tasks: their drop events
 * are the run's last. Every event reaches the sink on the loop's thread (blocking jobs' notes
 * and violations are deferred to it: host_exec.c), so the recorder takes no lock.
 *
 * A failed write stops the recording for good: the message goes to stderr once, the run goes
 * on untouched (observing never perturbs), and the row keeps what was written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../executor/spi.h"
#include "store.h"

#define BATCH_DEFAULT 4096u
#define WRITE_AFTER_NS (1000ull * 1000 * 1000) /* an event this long after the last write */

typedef struct recorder {
    sim_world *w;
    sim__store *st;
    uint64_t run_id;
    sim__evbuf buf;           /* events not written yet, in order */
    uint64_t written;         /* events written (the next event's seq) */
    uint32_t batch;           /* buf's size that triggers a write */
    uint64_t start_ns;        /* host clock at the attach, for wall_ms */
    uint64_t last_write_ns;   /* host clock of the last write (or the attach) */
    bool failed;              /* a write failed: nothing more is recorded */
    char *name, *system, *config;
    sim_trace_cb next;        /* the world's own sink, called after the recorder */
    void *next_ud;
} recorder;

static void rec_free(sim_world *w);

static const sim__ext_ops rec_ops = {.name = "host-record", .free = rec_free};

/* A write failed: one line on stderr, and no more writes. */
static void rec_fail(recorder *r, const char *doing)
{
    SIM_ASSERT(!r->failed);
    r->failed = true;
    fprintf(stderr, "sim: recording this host run stopped (%s): %s\n", doing,
            sim__store_error(r->st));
    sim__evbuf_clear(&r->buf);
}

static void rec_write(recorder *r)
{
    SIM_ASSERT(r->run_id != 0);
    if (r->failed || r->buf.n == 0) return;
    if (sim__store_append(r->st, r->run_id, r->written, &r->buf) != SIM_OK) {
        rec_fail(r, "writing events");
        return;
    }
    r->written += r->buf.n;
    sim__evbuf_clear(&r->buf);
    r->last_write_ns = sim__host_now_ns();
    SIM_ASSERT(r->buf.n == 0);
}

static void rec_event(void *ud, const sim_event *e)
{
    recorder *r = ud;
    SIM_ASSERT(e != NULL);
    if (!r->failed && sim__evbuf_push(&r->buf, e) != SIM_OK) {
        rec_write(r); /* 4 GiB of details in one batch: write them, then keep this one */
        if (!r->failed && sim__evbuf_push(&r->buf, e) != SIM_OK) rec_fail(r, "an event");
    }
    if (r->next != NULL) r->next(r->next_ud, e);
    if (r->failed) return;
    if (r->buf.n >= r->batch || sim__host_now_ns() - r->last_write_ns >= WRITE_AFTER_NS) {
        rec_write(r);
    }
}

/* The run's result in the words of the runs table. */
static const char *result_of(sim_world *w)
{
    int rc = sim__exec_stop_rc(w);
    switch (rc) {
    case SIM_OK: return sim_world_violation_count(w) > 0 ? "violation" : "pass";
    case SIM_ESTOPPED: return "stopped";
    case SIM_EDEADLOCK: return "deadlock";
    case SIM_ETIMELIMIT: return "liveness";
    case SIM_ESTEPLIMIT: return "steplimit";
    default: return "error";
    }
}

/* The row as it stands: "running" at the start, the run's end when final. */
static void row_of(const recorder *r, bool final, char *detail, size_t size, sim__run_row *row)
{
    sim_world *w = r->w;
    const char *result = final ? result_of(w) : "running";
    const char *report = final ? sim_world_report(w) : "";
    detail[0] = '\0';
    if (final && report != NULL && report[0] != '\0') {
        snprintf(detail, size, "%.*s", (int)strcspn(report, "\n"), report);
    } else if (final && strcmp(result, "stopped") == 0) {
        snprintf(detail, size, "stopped by a signal or sim_world_stop");
    }
    *row = (sim__run_row){
        .scenario = r->name,
        .scenario_path = "",
        .system = r->system,
        .seed = sim_world_seed(w),
        .strategy = "host",
        .config = r->config,
        .config_hash = sim_hash(r->config, strlen(r->config), 0),
        .binary_version = SIM_VERSION_STRING,
        .record_mode = "full",
        .status = final ? "done" : "running",
        .result = (char *)result,
        .detail = detail,
        .report = (char *)(report ? report : ""),
        .trace_hash = final ? sim_world_trace_hash(w) : 0,
        .event_count = final ? r->written : 0,
        .step_count = final ? sim_world_step(w) : 0,
        .vtime_ns = final ? sim_now(w) : 0,
        .wall_ms = (sim__host_now_ns() - r->start_ns) / 1000000,
        .events_stored = final ? !r->failed : true,
        .faults = "",
        .overrides = "",
        .backend = "host",
    };
}

/* The row's end: the last events, then the final row with checkpoints and violations. */
static void rec_end(recorder *r)
{
    rec_write(r);
    if (r->failed) return;
    sim_world *w = r->w;
    uint32_t nv = 0, nc = sim_world_checkpoint_count(w);
    while (sim_world_violation(w, nv) != NULL) nv++;
    sim__violation_rec *vs = sim__xcalloc(nv + 1, sizeof *vs, "a host run's violations");
    sim_checkpoint *cs = sim__xcalloc(nc + 1, sizeof *cs, "a host run's checkpoints");
    for (uint32_t i = 0; i < nv; i++) {
        const sim_violation *v = sim_world_violation(w, i);
        vs[i] = (sim__violation_rec){.step = v->step, .vtime_ns = v->vtime_ns, .task = v->task.v,
                                     .kind = v->kind, .message = (char *)v->message};
    }
    for (uint32_t i = 0; i < nc; i++) cs[i] = *sim_world_checkpoint(w, i);
    char detail[512];
    sim__run_row row;
    row_of(r, true, detail, sizeof detail, &row);
    sim__run_data data = {.checkpoints = cs, .ncheckpoints = nc, .violations = vs,
                          .nviolations = nv};
    if (sim__store_end(r->st, r->run_id, &row, &data) != SIM_OK) rec_fail(r, "ending the run");
    free(vs);
    free(cs);
}

static void rec_free(sim_world *w)
{
    recorder *r = sim__ext_state(w, &rec_ops);
    if (r == NULL) return;
    SIM_ASSERT(r->w == w);
    rec_end(r);
    sim__exec_set_sink(w, r->next, r->next_ud); /* nothing comes to a freed recorder */
    sim__store_close(r->st);
    sim__evbuf_free(&r->buf);
    free(r->name);
    free(r->system);
    free(r->config);
    free(r);
    sim__ext_detach(w, &rec_ops);
}

uint64_t sim_world_record_run(const sim_world *w)
{
    const recorder *r = sim__ext_state(w, &rec_ops);
    if (r == NULL) return 0;
    SIM_ASSERT(r->w == w && r->run_id != 0);
    return r->run_id;
}

/* Why the world cannot be recorded, or NULL. */
static const char *refusal(sim_world *w, int *rc)
{
    *rc = SIM_EMISUSE;
    if (!sim_world_is_host(w)) {
        *rc = SIM_EINVAL;
        return "sim_world_record records host worlds; a simulated world's runs are recorded by "
               "sim run --db FILE (or sim_main)";
    }
    if (sim__exec_current(w) != SIM__NIL) return "sim_world_record: not from inside a task";
    if (sim__ext_state(w, &rec_ops) != NULL) {
        return "sim_world_record: this world is recorded already";
    }
    if (sim_world_event_count(w) > 0) {
        return "sim_world_record: call it right after sim_world_new, before the world's first "
               "event (a node added, a task spawned), so that the run is recorded whole";
    }
    *rc = SIM_OK;
    return NULL;
}

int sim_world_record(sim_world *w, const char *path, const sim_record_desc *desc, char *err,
                     size_t err_size)
{
    SIM_ASSERT(w != NULL);
    if (err != NULL && err_size > 0) err[0] = '\0';
    int rc;
    const char *why = refusal(w, &rc);
    if (why == NULL && (path == NULL || path[0] == '\0')) {
        why = "sim_world_record: the database path is empty";
        rc = SIM_EINVAL;
    }
    if (why != NULL) {
        if (err != NULL && err_size > 0) snprintf(err, err_size, "%s", why);
        return rc;
    }
    sim_record_desc d = desc ? *desc : (sim_record_desc){0};
    sim__store *st = NULL;
    rc = sim__store_open(path, SIM__STORE_WRITE, &st, err, err_size);
    if (rc != SIM_OK) return rc;
    recorder *r = sim__xcalloc(1, sizeof *r, "a host run's recorder");
    *r = (recorder){.w = w, .st = st, .batch = d.batch_events ? d.batch_events : BATCH_DEFAULT,
                    .name = sim__xstrdup(d.name ? d.name : "host", "a host run's name"),
                    .system = sim__xstrdup(d.system ? d.system : "", "a host run's system"),
                    .config = sim__xstrdup(d.config ? d.config : "", "a host run's config")};
    r->start_ns = r->last_write_ns = sim__host_now_ns();
    char detail[8];
    sim__run_row row;
    row_of(r, false, detail, sizeof detail, &row);
    if (sim__store_begin(st, &row, &r->run_id) != SIM_OK) {
        if (err != NULL && err_size > 0) snprintf(err, err_size, "%s", sim__store_error(st));
        sim__store_close(st);
        free(r->name);
        free(r->system);
        free(r->config);
        free(r);
        return SIM_EINVAL;
    }
    SIM_ASSERT(r->run_id != 0);
    sim__exec_sink(w, &r->next, &r->next_ud);
    sim__ext_attach(w, &rec_ops, r);
    sim__exec_set_sink(w, rec_event, r);
    return SIM_OK;
}
