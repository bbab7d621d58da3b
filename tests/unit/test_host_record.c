/*
 * test_host_record.c: recording a host run (sim.h, sim_world_record): its refusals, and that
 * what the pool threads do is recorded by the loop, in order, as the jobs' events. The
 * database is read back with the stock sqlite3 shell (as docs/trace-schema.md promises); the
 * commands that read it (sim show, viz, replay's refusal) are tested on kvs-server's runs in
 * tests/integration/test_kvs_cli.c.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "../helpers.h"

/* The first line sqlite3 prints for query q on db, as a number. */
static uint64_t db_u64(const char *db, const char *q)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"%s\"", db, q);
    FILE *p = popen(cmd, "r");
    cr_assert(not(eq(ptr, p, NULL)));
    char line[128] = "";
    char *got = fgets(line, sizeof line, p);
    int st = pclose(p);
    cr_assert(eq(int, st, 0), "%s", cmd);
    cr_assert(not(eq(ptr, got, NULL)), "%s printed nothing", cmd);
    return strtoull(line, NULL, 10);
}

static sim_world *host_world(const char *dir)
{
    sim_world_desc d = {.seed = 1, .backend = SIM_BACKEND_HOST, .host_dir = dir,
                        .time_limit_ns = 10 * SIM_S};
    return test_world_desc(&d);
}

/* Goal: sim_world_record refuses what it cannot record whole, with a message: a simulated
 * world (SIM_EINVAL), a world with events already or recorded already (SIM_EMISUSE), a
 * database that cannot be created (SIM_EINVAL, naming the file); an unrecorded world has run
 * id 0. */
Test(host_record, refusals)
{
    char dir[64], err[512], path[128];
    test_tmpdir(dir, sizeof dir, "/tmp", "sim-hostrec-test");
    sim_world *sw = test_world_desc(&(sim_world_desc){.seed = 1});
    cr_assert(eq(int, sim_world_record(sw, "x.db", NULL, err, sizeof err), SIM_EINVAL));
    cr_assert(not(eq(ptr, strstr(err, "records host worlds"), NULL)), "%s", err);
    cr_assert(eq(u64, sim_world_record_run(sw), 0));
    sim_world_free(sw);

    sim_world *w = host_world(dir);
    snprintf(path, sizeof path, "%s/no-such-dir/x.db", dir);
    cr_assert(eq(int, sim_world_record(w, path, NULL, err, sizeof err), SIM_EINVAL));
    cr_assert(not(eq(ptr, strstr(err, path), NULL)), "%s", err);
    snprintf(path, sizeof path, "%s/run.db", dir);
    cr_assert(eq(int, sim_world_record(w, path, NULL, err, sizeof err), SIM_OK), "%s", err);
    cr_assert(eq(u64, sim_world_record_run(w), 1));
    cr_assert(eq(int, sim_world_record(w, path, NULL, err, sizeof err), SIM_EMISUSE));
    cr_assert(not(eq(ptr, strstr(err, "recorded already"), NULL)), "%s", err);
    sim_world_free(w);
    cr_assert(eq(u64, db_u64(path, "SELECT count(*) FROM runs WHERE backend = 'host' AND "
                                   "status = 'done' AND result = 'pass'"), 1));

    w = host_world(dir);
    test_node(w, "n1", NULL, NULL); /* an event: the run would not be whole */
    cr_assert(eq(int, sim_world_record(w, path, NULL, err, sizeof err), SIM_EMISUSE));
    cr_assert(not(eq(ptr, strstr(err, "before the world's first event"), NULL)), "%s", err);
    sim_world_free(w);
    test_tmpdir_remove(dir);
}

/* ---- a job's events ---- */

#define JOBS 4
#define NOTES 25

/* A job notes NOTES values on its pool thread. */
static int noting_run(void *state, sim_world *w)
{
    (void)state;
    for (uint32_t i = 0; i < NOTES; i++) sim_trace_note(w, "from-a-job", &i, sizeof i);
    return SIM_OK;
}

typedef struct noting_task {
    sim_co co;
    sim_join jobs[JOBS];
    uint32_t i;
} noting_task;

static int noting_poll(void *state, sim_world *w)
{
    noting_task *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    for (t->i = 0; t->i < JOBS; t->i++) {
        rc = sim_spawn_blocking(w, &(sim_job_desc){.name = "noting", .run = noting_run},
                                &t->jobs[t->i]);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    for (t->i = 0; t->i < JOBS; t->i++) {
        SIM_AWAIT(rc, sim_join_wait(&t->jobs[t->i]));
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    sim_trace_note(w, "from-the-task", &t->i, sizeof t->i);
    SIM_END(SIM_OK);
}

static atomic_uint_fast64_t sink_events;

static void count_event(void *ud, const sim_event *e)
{
    (void)ud;
    (void)e;
    atomic_fetch_add(&sink_events, 1);
}

/* Goal: notes made by jobs on pool threads are recorded by the loop as their jobs' events,
 * every one of them, with the world's own sink still called for each event and the stored
 * events numbered without a gap. Method: JOBS concurrent jobs on two workers note NOTES
 * values each; a batch of 7 events makes many writes; the database is read with sqlite3. */
Test(host_record, job_events_recorded_by_the_loop)
{
    char dir[64], path[128], err[512];
    test_tmpdir(dir, sizeof dir, "/tmp", "sim-hostrec-test");
    atomic_store(&sink_events, 0);
    sim_world_desc d = {.seed = 1, .backend = SIM_BACKEND_HOST, .host_dir = dir,
                        .time_limit_ns = 10 * SIM_S, .trace = count_event};
    sim_world *w = test_world_desc(&d);
    snprintf(path, sizeof path, "%s/run.db", dir);
    sim_record_desc rd = {.name = "noting", .system = "test", .batch_events = 7};
    cr_assert(eq(int, sim_world_record(w, path, &rd, err, sizeof err), SIM_OK), "%s", err);
    sim_node_id n = test_node(w, "n1", NULL, NULL);
    noting_task t = {0};
    test_spawn(w, "noting", n, noting_poll, NULL, &t, sizeof t);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
    uint64_t stored = db_u64(path, "SELECT count(*) FROM events WHERE run_id = 1");
    cr_assert(eq(u64, stored, atomic_load(&sink_events)));
    cr_assert(eq(u64, db_u64(path, "SELECT max(seq) + 1 FROM events WHERE run_id = 1"), stored));
    cr_assert(eq(u64, db_u64(path, "SELECT event_count FROM runs WHERE run_id = 1"), stored));
    cr_assert(eq(u64, db_u64(path, "SELECT count(*) FROM events WHERE kind = 18 AND "
                                   "detail = 'from-a-job' AND task <> 0 AND node = 1"),
                 JOBS * NOTES));
    /* Every job's notes are its own (the job's task), and come before the task's. */
    cr_assert(eq(u64, db_u64(path, "SELECT count(DISTINCT task) FROM events WHERE "
                                   "detail = 'from-a-job'"), JOBS));
    cr_assert(eq(u64, db_u64(path, "SELECT count(*) FROM events WHERE detail = 'from-a-job' "
                                   "AND seq > (SELECT seq FROM events WHERE "
                                   "detail = 'from-the-task')"), 0));
    cr_assert(eq(u64, db_u64(path, "SELECT count(*) FROM runs WHERE backend = 'host' AND "
                                   "scenario = 'noting' AND system = 'test' AND "
                                   "events_stored = 1"), 1));
    test_tmpdir_remove(dir);
}
