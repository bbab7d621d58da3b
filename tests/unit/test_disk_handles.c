/*
 * test_disk_handles.c: who owns a file and what the end of its owner releases (sim.h,
 * "Handles and who owns them" and "Disk"). A file belongs to the task whose operation opened
 * it, or to the node of the blocking-pool job that opened it (a job owns nothing); a task
 * aborted or crashed while it awaits an operation gives up its file with no drop function and
 * no violation, while the operation itself belongs to the device (dropped, it still takes
 * effect; its node's crash first, it never happens); a closed handle is SIM_EBADF; a handle of
 * another world is misuse; and every operation describes itself by the file or path it acts
 * on.
 *
 * No task here has a drop function. Tasks and jobs copy the handles they make into records on
 * the test's stack, so that the test can look at them once their owner has ended
 * (sim_handle_valid, sim_file_size, the world dump's handle count, an operation through the
 * stale copy). Every world is freed before its test returns.
 */
#include <stdio.h>
#include <string.h>

#include "../helpers.h"

static sim_node_id nid(uint32_t v)
{
    return (sim_node_id){v};
}

/* ---- worlds and jobs ------------------------------------------------------------------------- */

/* Node n1 (boot may be NULL) on a disk with fixed latencies (meta and write 1 ms, read 1 ms,
 * sync 2 ms) that loses every write not synced and keeps every directory operation. */
static sim_world *disk_world(uint64_t seed, sim_boot_cb boot, void *boot_ud)
{
    sim_world *w = test_world(seed, SIM_SCHED_RANDOM);
    sim_disk_desc d = {.meta_latency = {SIM_MS, SIM_MS}, .write_latency = {SIM_MS, SIM_MS},
                       .read_latency = {SIM_MS, SIM_MS}, .sync_latency = {2 * SIM_MS, 2 * SIM_MS},
                       .crash_keep = {0, 1}, .crash_torn = {0, 1}, .dir_keep = {1, 1}};
    cr_assert(eq(int, sim_disk_configure(w, &d), SIM_OK));
    sim_node_desc nd = {.name = "n1", .boot = boot, .boot_ud = boot_ud,
                        .pool_latency = {10 * SIM_US, 10 * SIM_US}};
    sim_node_id n;
    cr_assert(eq(int, sim_node_add(w, &nd, &n), SIM_OK));
    cr_assert(eq(u32, n.v, 1));
    return w;
}

/* The dump's "disk: F file(s), H open handle(s)": H, or -1. */
static int dump_handles(sim_world *w)
{
    const char *d = strstr(sim_world_dump(w), "disk: ");
    int files = -1, handles = -1;
    if (d == NULL || sscanf(d, "disk: %d file(s), %d open handle(s)", &files, &handles) != 2) {
        return -1;
    }
    return handles;
}

/* Runs the world until `t`, whatever tasks are left. */
static void settle_until(sim_world *w, uint64_t t)
{
    cr_assert(eq(int, sim_block_on(w, sim_sleep_until(t)), SIM_OK), "report:\n%s",
              sim_world_report(w));
}

/* What a file holds, read in a job: the open's result, the size and the bytes. */
typedef struct file_io {
    const char *path;
    int rc;
    uint64_t size;
    size_t got;
    uint8_t buf[256];
} file_io;

static int read_job(void *state, sim_world *w)
{
    file_io *io = *(file_io **)state;
    sim_file f;
    io->size = io->got = 0;
    io->rc = sim_file_open(w, io->path, 0, &f);
    if (io->rc != SIM_OK) return SIM_OK;
    int rc = sim_file_size(w, &f, &io->size);
    if (rc == SIM_OK) rc = sim_file_pread(w, &f, io->buf, sizeof io->buf, 0, &io->got);
    sim_file_close(w, &f);
    return rc;
}

/* Runs `run` (whose state is a pointer to ctx) in a blocking-pool job on n1 and waits for it. */
static int run_job(sim_world *w, sim_job_cb run, void *ctx)
{
    sim_job_desc d = {.name = "job", .node = nid(1), .run = run, .state = &ctx,
                      .state_size = sizeof ctx};
    sim_join j;
    int rc = sim_spawn_blocking(w, &d, &j);
    return rc == SIM_OK ? sim_block_on(w, sim_join_wait(&j)) : rc;
}

static file_io read_back(sim_world *w, const char *path)
{
    file_io io = {.path = path, .rc = SIM_PENDING};
    cr_assert(eq(int, run_job(w, read_job, &io), SIM_OK));
    return io;
}

static bool all_eq(const uint8_t *b, size_t len, uint8_t x)
{
    for (size_t i = 0; i < len; i++) {
        if (b[i] != x) return false;
    }
    return true;
}

/* ==== 1. a task cut in the middle of an operation ============================================ */

typedef enum dvictim_op {
    D_OPEN,     /* cut at 0.5 ms, in the open (done at 1 ms) */
    D_WRITE,    /* cut at 1.5 ms, in the write of 100 bytes (done at 2 ms) */
    D_FSYNC,    /* cut at 3 ms, in the fsync (done at 4 ms) */
    D_READ,     /* cut at 2.5 ms, in a read into its state (done at 3 ms) */
    D_OPS
} dvictim_op;

static const char *const dvictim_names[D_OPS] = {"open", "write", "fsync", "read"};
static const uint64_t dvictim_cut_at[D_OPS] = {SIM_MS / 2, 3 * SIM_MS / 2, 3 * SIM_MS,
                                               5 * SIM_MS / 2};

typedef struct dvictim_rec {
    bool reached;       /* its task is awaiting the operation */
    int rc;             /* the operation's result: SIM_PENDING, as it is cut first */
    sim_file f;         /* a copy of its handle, once it has one */
} dvictim_rec;

/* Opens d/f (creating it), writes 100 bytes of 0x5a at 0 and fsyncs (or reads them back
 * into its state): it is cut in `op`. */
typedef struct dvictim {
    sim_co co;
    dvictim_op op;
    sim_file f;
    uint8_t data[100];
    uint8_t back[100];
    dvictim_rec *rec;
} dvictim;

static int dvictim_poll(void *state, sim_world *w)
{
    dvictim *v = state;
    dvictim_rec *r = v->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &v->co);
    if (v->op == D_OPEN) {
        r->reached = true;
        SIM_AWAIT(rc, sim_disk_open_op("d/f", SIM_O_CREATE, &v->f));
    } else {
        SIM_TRY(sim_disk_open_op("d/f", SIM_O_CREATE, &v->f));
        r->f = v->f;
        if (v->op == D_WRITE) {
            r->reached = true;
            SIM_AWAIT(rc, sim_disk_write_op(&v->f, v->data, sizeof v->data, 0));
        } else if (v->op == D_FSYNC) {
            SIM_TRY(sim_disk_write_op(&v->f, v->data, sizeof v->data, 0));
            r->reached = true;
            SIM_AWAIT(rc, sim_disk_sync_op(&v->f));
        } else {
            SIM_TRY(sim_disk_write_op(&v->f, v->data, sizeof v->data, 0));
            r->reached = true;
            SIM_AWAIT(rc, sim_disk_read_op(&v->f, v->back, sizeof v->back, 0, NULL));
        }
    }
    r->rc = rc;
    SIM_END(rc);
}

/* After the cut: a read through the victim's stale handle, which must fail at once. */
typedef struct stale_reader {
    sim_co co;
    sim_file f;
    uint8_t buf[8];
    int *rc_out;
} stale_reader;

static int stale_reader_poll(void *state, sim_world *w)
{
    stale_reader *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_AWAIT(rc, sim_disk_read_op(&s->f, s->buf, sizeof s->buf, 0, NULL));
    *s->rc_out = rc;
    SIM_END(SIM_OK);
}

typedef struct dcut_out {
    int join_rc;
    dvictim_rec v;
    int handles_after;  /* the dump's open handles once the dust settled (10 ms) */
    bool still_valid;   /* the victim's handle, then */
    file_io before;     /* d/f at 10 ms, before a crash (the aborted runs) */
    file_io after;      /* d/f after the crash and restart */
    int stale_rc;
    uint32_t violations;
} dcut_out;

/* The victim is cut at its time: aborted (then n1 crashes at 10 ms, to see what was durable),
 * or n1 crashes; n1 restarts; a job reads d/f back and a task reads through the stale handle. */
static void dcut_run(dvictim_op op, bool crash, dcut_out *o)
{
    *o = (dcut_out){.join_rc = SIM_PENDING, .stale_rc = SIM_PENDING, .v = {.rc = SIM_PENDING}};
    sim_world *w = disk_world(70 + op, NULL, NULL);
    dvictim v = {.op = op, .rec = &o->v};
    memset(v.data, 0x5a, sizeof v.data);
    sim_join j = test_spawn(w, "victim", nid(1), dvictim_poll, NULL, &v, sizeof v);
    settle_until(w, dvictim_cut_at[op]);
    cr_assert(o->v.reached, "%s", dvictim_names[op]);
    cr_assert(eq(int, o->v.rc, SIM_PENDING), "%s", dvictim_names[op]);
    if (crash) {
        cr_assert(eq(int, sim_node_crash(w, nid(1)), SIM_OK));
    } else {
        sim_join_abort(w, &j);
    }
    o->join_rc = sim_block_on(w, sim_join_wait(&j));
    settle_until(w, 10 * SIM_MS);
    o->handles_after = dump_handles(w);
    o->still_valid = sim_handle_valid(w, &o->v.f);
    if (!crash) {
        o->before = read_back(w, "d/f");
        cr_assert(eq(int, sim_node_crash(w, nid(1)), SIM_OK));
    }
    cr_assert(eq(int, sim_node_restart(w, nid(1)), SIM_OK));
    o->after = read_back(w, "d/f");
    stale_reader s = {.f = o->v.f, .rc_out = &o->stale_rc};
    test_spawn(w, "stale", nid(1), stale_reader_poll, NULL, &s, sizeof s);
    test_run_ok(w);
    o->violations = sim_world_violation_count(w);
    sim_world_free(w);
}

/* Both runs: the victim ended as it was cut, with no violation, its handle gone with it (no
 * open handle left in the world), and its stale handle SIM_EBADF. */
static void dcut_both(dvictim_op op, dcut_out *aborted, dcut_out *crashed)
{
    dcut_run(op, false, aborted);
    dcut_run(op, true, crashed);
    const dcut_out *both[2] = {aborted, crashed};
    for (int k = 0; k < 2; k++) {
        const dcut_out *o = both[k];
        const char *how = k ? "crashed" : "aborted";
        cr_assert(eq(int, o->join_rc, k ? SIM_ECRASHED : SIM_ECANCELED), "%s %s",
                  dvictim_names[op], how);
        cr_assert(eq(u32, o->violations, 0), "%s %s", dvictim_names[op], how);
        cr_assert(eq(int, o->handles_after, 0), "%s %s", dvictim_names[op], how);
        cr_assert(not(o->still_valid), "%s %s", dvictim_names[op], how);
        cr_assert(eq(int, o->stale_rc, SIM_EBADF), "%s %s: %s", dvictim_names[op], how,
                  sim_result_name(o->stale_rc));
    }
}

/* Goal: a task cut while its open is in flight leaves no handle behind: aborted, the open
 * still takes effect (the file exists, and its creation is durable here) but the handle it
 * made is closed, as nobody collects it; crashed first, the open never happened.
 * Method: dcut_run with the victim cut in its open. */
Test(disk_handles, cut_mid_open)
{
    dcut_out a, c;
    dcut_both(D_OPEN, &a, &c);
    cr_assert(eq(int, a.before.rc, SIM_OK));
    cr_assert(eq(u64, a.before.size, 0));
    cr_assert(eq(int, a.after.rc, SIM_OK));
    cr_assert(eq(int, c.after.rc, SIM_ENOENT));
}

/* Goal: a task cut while its write is in flight gives up its file; aborted, the write still
 * takes effect (reads see it; not synced, the crash then loses it); crashed first, it never
 * happened.
 * Method: dcut_run with the victim cut in its write. */
Test(disk_handles, cut_mid_write)
{
    dcut_out a, c;
    dcut_both(D_WRITE, &a, &c);
    cr_assert(eq(u64, a.before.size, 100));
    cr_assert(all_eq(a.before.buf, 100, 0x5a));
    cr_assert(eq(int, a.after.rc, SIM_OK));
    cr_assert(eq(u64, a.after.size, 0));
    cr_assert(eq(int, c.after.rc, SIM_OK));
    cr_assert(eq(u64, c.after.size, 0));
}

/* Goal: a task cut while its read is in flight gives up its file, and the read, which still
 * runs when its time comes (it belongs to the device), does not write into the task's state,
 * which is gone by then (ASan would see it: make check); nothing else changes.
 * Method: dcut_run with the victim cut in a read of the 100 bytes it wrote. */
Test(disk_handles, cut_mid_read)
{
    dcut_out a, c;
    dcut_both(D_READ, &a, &c);
    cr_assert(eq(u64, a.before.size, 100));
    cr_assert(eq(u64, a.after.size, 0));
    cr_assert(eq(int, c.after.rc, SIM_OK));
    cr_assert(eq(u64, c.after.size, 0));
}

/* Goal: a task cut while its fsync is in flight gives up its file with no drop function and
 * no violation; aborted, the fsync still takes effect: the write it covers survives the crash
 * that loses every write not synced; crashed first, it never happened and the write is lost.
 * Method: dcut_run with the victim cut in its fsync. */
Test(disk_handles, cut_mid_fsync)
{
    dcut_out a, c;
    dcut_both(D_FSYNC, &a, &c);
    cr_assert(eq(u64, a.before.size, 100));
    cr_assert(eq(int, a.after.rc, SIM_OK));
    cr_assert(eq(u64, a.after.size, 100), "the abandoned fsync did not make the write durable");
    cr_assert(all_eq(a.after.buf, 100, 0x5a));
    cr_assert(eq(int, c.after.rc, SIM_OK));
    cr_assert(eq(u64, c.after.size, 0), "the fsync cut by the crash made the write durable");
}

/* ==== 2. files of the node ==================================================================== */

typedef struct own_rec {
    uint32_t boots;
    int job_rc[2];              /* per boot: the job's open and write */
    sim_file job_file;          /* the first boot's job's: the node's */
    int read_rc;
    size_t got;
    char buf[8];
    int task_rc;                /* the user's own open */
    sim_file task_file;         /* opened by the user task and kept by it */
    int share_rc;
    sim_file shared_file;       /* opened by the user task and shared with its node */
    int append_rc;              /* a later task's append through the shared handle */
    int after_rc;               /* a read through the job's handle after the crash */
} own_rec;

/* A job of the boot: opens n/f, writes "hello" and keeps it open (the node's, as a job owns
 * nothing). */
static int opener_job(void *state, sim_world *w)
{
    own_rec *r = *(own_rec **)state;
    uint32_t k = sim_node_boots(w, sim_node_current(w)) - 1;
    sim_file f;
    int rc = sim_file_open(w, "n/f", SIM_O_CREATE | SIM_O_TRUNC, &f);
    if (rc == SIM_OK) rc = sim_file_pwrite(w, &f, "hello", 5, 0);
    if (k < 2) r->job_rc[k] = rc;
    if (k == 0) r->job_file = f;
    return rc;
}

/* Boot: a job opens n1's file. */
static int boot_opener(void *ud, sim_world *w, sim_node_id node)
{
    own_rec *r = ud;
    r->boots++;
    sim_job_desc d = {.name = "opener", .node = node, .run = opener_job, .state = &r,
                      .state_size = sizeof r};
    return sim_spawn_blocking(w, &d, NULL);
}

/* Reads through the node's file; opens n/t for itself and n/s for the node; ends. */
typedef struct file_user {
    sim_co co;
    sim_file mine, shared;
    own_rec *rec;
} file_user;

static int file_user_poll(void *state, sim_world *w)
{
    file_user *u = state;
    own_rec *r = u->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &u->co);
    SIM_AWAIT(rc, sim_disk_read_op(&r->job_file, r->buf, sizeof r->buf, 0, &r->got));
    r->read_rc = rc;
    SIM_AWAIT(rc, sim_disk_open_op("n/t", SIM_O_CREATE, &u->mine));
    r->task_rc = rc;
    r->task_file = u->mine;
    SIM_AWAIT(rc, sim_disk_open_op("n/s", SIM_O_CREATE, &u->shared));
    r->shared_file = u->shared;
    r->share_rc = rc == SIM_OK ? sim_handle_share(w, &u->shared) : rc;
    SIM_END(SIM_OK);
}

/* Appends "!" through the shared handle, or (after the crash) reads through the job's. */
typedef struct file_later {
    sim_co co;
    bool after_crash;
    uint8_t buf[8];
    own_rec *rec;
} file_later;

static int file_later_poll(void *state, sim_world *w)
{
    file_later *l = state;
    own_rec *r = l->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    if (l->after_crash) {
        SIM_AWAIT(rc, sim_disk_read_op(&r->job_file, l->buf, sizeof l->buf, 0, NULL));
        r->after_rc = rc;
    } else {
        SIM_AWAIT(rc, sim_disk_append_op(&r->shared_file, "!", 1, NULL));
        r->append_rc = rc;
    }
    SIM_END(SIM_OK);
}

/* Goal: a file a blocking-pool job opens (here one spawned by the boot function) belongs to
 * the node, not to the job: it stays open when the job ends, a task of the node reads through
 * it and ends without taking it along, and the node's crash closes it (SIM_EBADF after). A
 * file a task opens goes with the task, unless the task shares it with its node
 * (sim_handle_share): then a later task appends through it, and the crash closes it too.
 * Method: n1's boot spawns a job that opens n/f and writes "hello"; a user task reads it,
 * opens n/t and n/s (sharing n/s) and ends; a later task appends to n/s; n1 crashes and
 * restarts (the boot's job runs again), and a task reads through the old handle. */
Test(disk_handles, job_files_belong_to_the_node)
{
    own_rec r = {.read_rc = SIM_PENDING, .task_rc = SIM_PENDING, .share_rc = SIM_PENDING,
                 .append_rc = SIM_PENDING, .after_rc = SIM_PENDING,
                 .job_rc = {SIM_PENDING, SIM_PENDING}};
    sim_world *w = disk_world(80, boot_opener, &r);
    settle_until(w, 10 * SIM_MS);
    cr_assert(eq(int, r.job_rc[0], SIM_OK));
    cr_assert(sim_handle_valid(w, &r.job_file), "the job's file went with the job");
    file_user u = {.rec = &r};
    test_spawn(w, "user", nid(1), file_user_poll, NULL, &u, sizeof u);
    settle_until(w, 20 * SIM_MS);
    cr_assert(eq(int, r.read_rc, SIM_OK));
    cr_assert(eq(sz, r.got, 5));
    cr_assert(eq(int, memcmp(r.buf, "hello", 5), 0));
    cr_assert(eq(int, r.task_rc, SIM_OK));
    cr_assert(eq(int, r.share_rc, SIM_OK));
    cr_assert(sim_handle_valid(w, &r.job_file), "the user took the node's file along");
    cr_assert(not(sim_handle_valid(w, &r.task_file)), "the user's own file outlived it");
    uint64_t size = 0;
    cr_assert(eq(int, sim_file_size(w, &r.task_file, &size), SIM_EBADF));
    cr_assert(sim_handle_valid(w, &r.shared_file));
    file_later l = {.rec = &r};
    test_spawn(w, "later", nid(1), file_later_poll, NULL, &l, sizeof l);
    settle_until(w, 30 * SIM_MS);
    cr_assert(eq(int, r.append_rc, SIM_OK));
    cr_assert(eq(int, sim_file_size(w, &r.shared_file, &size), SIM_OK));
    cr_assert(eq(u64, size, 1));
    cr_assert(eq(int, dump_handles(w), 2));
    cr_assert(eq(int, sim_node_crash(w, nid(1)), SIM_OK));
    cr_assert(not(sim_handle_valid(w, &r.job_file)));
    cr_assert(not(sim_handle_valid(w, &r.shared_file)));
    cr_assert(eq(int, sim_file_size(w, &r.job_file, &size), SIM_EBADF));
    cr_assert(eq(int, dump_handles(w), 0));
    cr_assert(eq(int, sim_node_restart(w, nid(1)), SIM_OK));
    file_later after = {.after_crash = true, .rec = &r};
    test_spawn(w, "after", nid(1), file_later_poll, NULL, &after, sizeof after);
    test_run_ok(w);
    cr_assert(eq(u32, r.boots, 2));
    cr_assert(eq(int, r.job_rc[1], SIM_OK));
    cr_assert(eq(int, r.after_rc, SIM_EBADF));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 3. closed handles ======================================================================= */

enum { FC_READ, FC_WRITE, FC_APPEND, FC_SYNC, FC_DATASYNC, FC_TRUNCATE, FC_EMPTIED, FC_KINDS };

typedef struct fclosed_rec {
    int rc[FC_KINDS];
    int size_rc;
    bool copy_emptied;
    uint64_t took;              /* virtual time the operations took, together */
} fclosed_rec;

/* Opens c/f, closes it through a copy, then operates through the original. */
typedef struct fcloser {
    sim_co co;
    sim_file f, copy;
    uint64_t size;
    uint64_t started;
    uint8_t buf[8];
    fclosed_rec *rec;
} fcloser;

static int fcloser_poll(void *state, sim_world *w)
{
    fcloser *c = state;
    fclosed_rec *r = c->rec;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    SIM_TRY(sim_disk_open_op("c/f", SIM_O_CREATE, &c->f));
    c->copy = c->f;
    sim_file_close(w, &c->copy);
    r->copy_emptied = c->copy.h.id_ == 0;
    c->started = sim_now(w);
    SIM_AWAIT(rc, sim_disk_read_op(&c->f, c->buf, sizeof c->buf, 0, NULL));
    r->rc[FC_READ] = rc;
    SIM_AWAIT(rc, sim_disk_write_op(&c->f, "abc", 3, 0));
    r->rc[FC_WRITE] = rc;
    SIM_AWAIT(rc, sim_disk_append_op(&c->f, "abc", 3, NULL));
    r->rc[FC_APPEND] = rc;
    SIM_AWAIT(rc, sim_disk_sync_op(&c->f));
    r->rc[FC_SYNC] = rc;
    SIM_AWAIT(rc, sim_disk_datasync_op(&c->f));
    r->rc[FC_DATASYNC] = rc;
    SIM_AWAIT(rc, sim_disk_truncate_op(&c->f, 1));
    r->rc[FC_TRUNCATE] = rc;
    SIM_AWAIT(rc, sim_disk_read_op(&c->copy, c->buf, sizeof c->buf, 0, NULL));
    r->rc[FC_EMPTIED] = rc;
    r->took = sim_now(w) - c->started;
    r->size_rc = sim_file_size(w, &c->f, &c->size);
    sim_file_close(w, &c->f); /* again: harmless */
    SIM_END(SIM_OK);
}

/* Goal: a file closed through any copy of its handle is closed for every copy: each operation
 * through another copy (read, write, append, fsync, fdatasync, truncate) completes at once,
 * taking no time, with SIM_EBADF, as does sim_file_size; the handle closed is emptied and
 * reads SIM_EBADF too; closing again is harmless; none of it is a violation.
 * Method: a task on n1 opens c/f, closes it through a copy and operates through the
 * original. */
Test(disk_handles, closed_file_is_ebadf)
{
    sim_world *w = disk_world(81, NULL, NULL);
    fclosed_rec r = {.size_rc = SIM_PENDING, .took = UINT64_MAX};
    for (int i = 0; i < FC_KINDS; i++) r.rc[i] = SIM_PENDING;
    fcloser c = {.rec = &r};
    test_spawn(w, "closer", nid(1), fcloser_poll, NULL, &c, sizeof c);
    test_run_ok(w);
    static const char *const what[FC_KINDS] = {"read", "write", "append", "fsync", "fdatasync",
                                               "truncate", "read (emptied handle)"};
    for (int i = 0; i < FC_KINDS; i++) {
        cr_assert(eq(int, r.rc[i], SIM_EBADF), "%s: %s", what[i], sim_result_name(r.rc[i]));
    }
    cr_assert(eq(int, r.size_rc, SIM_EBADF));
    cr_assert(r.copy_emptied);
    cr_assert(eq(u64, r.took, 0));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 4. a file of another world ============================================================== */

/* A job: opens x/f and keeps it open; its handle goes to *out. */
static int keep_job(void *state, sim_world *w)
{
    sim_file *out = *(sim_file **)state;
    return sim_file_open(w, "x/f", SIM_O_CREATE, out);
}

enum { FF_READ, FF_APPEND, FF_SYNC, FF_KINDS };

/* Operates through another world's file, then closes a copy of it. */
typedef struct file_intruder {
    sim_co co;
    sim_file foreign, copy;
    uint64_t size;
    uint8_t buf[8];
    int *rc;                    /* FF_KINDS results */
    int *size_rc;
} file_intruder;

static int file_intruder_poll(void *state, sim_world *w)
{
    file_intruder *x = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &x->co);
    SIM_AWAIT(rc, sim_disk_read_op(&x->foreign, x->buf, sizeof x->buf, 0, NULL));
    x->rc[FF_READ] = rc;
    SIM_AWAIT(rc, sim_disk_append_op(&x->foreign, "x", 1, NULL));
    x->rc[FF_APPEND] = rc;
    SIM_AWAIT(rc, sim_disk_sync_op(&x->foreign));
    x->rc[FF_SYNC] = rc;
    *x->size_rc = sim_file_size(w, &x->foreign, &x->size);
    x->copy = x->foreign;
    sim_file_close(w, &x->copy);
    SIM_END(SIM_OK);
}

/* Goal: a file handle of one world used in another is misuse: each operation through it
 * completes at once with SIM_EMISUSE and records a violation saying the handle is of another
 * world, as does closing it, which closes nothing in either world; sim_file_size, the one call
 * that records no violation, says SIM_EBADF (sim.h: "except here"); the world it belongs to
 * sees nothing, and the misused world's own file, opened the same way (in the same slots),
 * stays open.
 * Method: in world A and then in world B a job on n1 opens x/f and keeps it; a task of B reads,
 * appends, fsyncs, sizes and closes through A's handle. */
Test(disk_handles, foreign_world_file_is_misuse)
{
    sim_world *a = disk_world(82, NULL, NULL);
    sim_file fa = {0}, fb = {0};
    cr_assert(eq(int, run_job(a, keep_job, &fa), SIM_OK));
    sim_world *b = disk_world(83, NULL, NULL);
    cr_assert(eq(int, run_job(b, keep_job, &fb), SIM_OK));
    int rc[FF_KINDS] = {SIM_PENDING, SIM_PENDING, SIM_PENDING}, size_rc = SIM_PENDING;
    file_intruder x = {.foreign = fa, .rc = rc, .size_rc = &size_rc};
    test_spawn(b, "intruder", nid(1), file_intruder_poll, NULL, &x, sizeof x);
    test_run_ok(b);
    static const char *const what[FF_KINDS] = {"read", "append", "fsync"};
    for (int i = 0; i < FF_KINDS; i++) {
        cr_assert(eq(int, rc[i], SIM_EMISUSE), "%s: %s", what[i], sim_result_name(rc[i]));
    }
    cr_assert(eq(int, size_rc, SIM_EBADF));
    uint32_t nv = sim_world_violation_count(b);
    cr_assert(eq(u32, nv, FF_KINDS + 1), "%u violations", nv); /* and the close */
    for (uint32_t i = 0; i < nv; i++) {
        const sim_violation *v = sim_world_violation(b, i);
        cr_assert(eq(int, (int)v->kind, (int)SIM_VIOLATION_MISUSE));
        cr_assert(ne(ptr, strstr(v->message, "another world"), NULL), "%s", v->message);
    }
    cr_assert(sim_handle_valid(b, &fb));
    cr_assert(sim_handle_valid(a, &fa));
    cr_assert(eq(int, dump_handles(a), 1));
    cr_assert(eq(int, dump_handles(b), 1));
    cr_assert(eq(u32, sim_world_violation_count(a), 0));
    sim_world_free(b);
    sim_world_free(a);
}

/* ==== 5. what an operation says it waits for ================================================== */

/* Asserts f's description. */
static void assert_described(const sim_world *w, const sim_fut *f, const char *want)
{
    char got[256];
    sim_fut_describe(f, w, got, sizeof got);
    cr_assert(eq(str, got, (char *)want), "a %s future", f->vt->name);
}

/* Opens d/f and fsyncs it, the fsync in its state (SIM_AWAIT_FUT) so that the test can
 * describe it in flight. */
typedef struct syncer {
    sim_co co;
    sim_file f;
    sim_disk_op op;
    sim_file *f_out;
    const sim_fut **op_out;
    int *rc_out;
} syncer;

static int syncer_poll(void *state, sim_world *w)
{
    syncer *s = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &s->co);
    SIM_TRY(sim_disk_open_op("d/f", SIM_O_CREATE, &s->f));
    *s->f_out = s->f;
    s->op = sim_disk_sync_op(&s->f);
    *s->op_out = &s->op.fut;
    SIM_AWAIT_FUT(rc, &s->op.fut);
    *s->op_out = NULL;
    *s->rc_out = rc;
    SIM_END(rc);
}

/* Goal: every disk operation describes itself by what it acts on: the file's path and node
 * for a read (its length and offset), write, append, fsync, fdatasync and truncate; the path
 * for an open, an unlink and a directory sync (the root by name), both paths for a rename;
 * an operation in flight as it was started, with its node; and an operation on a closed
 * file as one on "a closed file". The fsync in flight when its handle is closed still
 * completes, with SIM_OK: it holds the file, not the handle.
 * Method: a task on n1 opens d/f and fsyncs it (2 ms), keeping the fsync in its state; at
 * 1.5 ms the test describes the fsync in flight, and operations it makes by value on the
 * task's handle (never polling them); then it closes a copy of the handle and describes a
 * read again. */
Test(disk_handles, operations_describe_their_file)
{
    sim_world *w = disk_world(84, NULL, NULL);
    sim_file f = {0};
    const sim_fut *in_flight = NULL;
    int sync_rc = SIM_PENDING;
    syncer s = {.f_out = &f, .op_out = &in_flight, .rc_out = &sync_rc};
    test_spawn(w, "syncer", nid(1), syncer_poll, NULL, &s, sizeof s);
    settle_until(w, 3 * SIM_MS / 2);
    cr_assert(ne(ptr, (void *)in_flight, NULL));
    assert_described(w, in_flight, "fsync of d/f on n1");
    uint8_t buf[16];
    sim_file spare = {0};
    sim_disk_op ops[] = {
        sim_disk_open_op("d/f", SIM_O_CREATE, &spare),
        sim_disk_read_op(&f, buf, 10, 0, NULL),
        sim_disk_write_op(&f, "abc", 3, 5),
        sim_disk_append_op(&f, "abc", 3, NULL),
        sim_disk_sync_op(&f),
        sim_disk_datasync_op(&f),
        sim_disk_truncate_op(&f, 7),
        sim_disk_rename_op("d/f", "d/g"),
        sim_disk_unlink_op("d/f"),
        sim_disk_sync_dir_op("d"),
        sim_disk_sync_dir_op(""),
    };
    static const char *const want[] = {
        "open of d/f",
        "read of 10 bytes at 0 of d/f on n1",
        "write of 3 bytes at 5 to d/f on n1",
        "append of 3 bytes to d/f on n1",
        "fsync of d/f on n1",
        "fdatasync of d/f on n1",
        "truncate of d/f to 7 bytes on n1",
        "rename of d/f to d/g",
        "unlink of d/f",
        "directory sync of d",
        "directory sync of the root",
    };
    _Static_assert(sizeof ops / sizeof ops[0] == sizeof want / sizeof want[0], "one each");
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_described(w, &ops[i].fut, want[i]);
    }
    sim_file copy = f;
    sim_file_close(w, &copy);
    assert_described(w, &ops[1].fut, "read of 10 bytes at 0 of a closed file");
    assert_described(w, &ops[4].fut, "fsync of a closed file");
    test_run_ok(w);
    cr_assert(eq(int, sync_rc, SIM_OK));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}

/* ==== 6. a file of another node =============================================================== */

/* A job: creates x/f and makes it durable, name included, and keeps it open; its handle
 * (the node's) goes to *out. */
static int durable_job(void *state, sim_world *w)
{
    sim_file *out = *(sim_file **)state;
    int rc = sim_file_open(w, "x/f", SIM_O_CREATE, out);
    if (rc == SIM_OK) rc = sim_file_sync(w, out);
    if (rc == SIM_OK) rc = sim_disk_sync_dir(w, "x");
    return rc;
}

/* Writes 100 bytes through a handle it was given; the result and when. */
typedef struct far_writer {
    sim_co co;
    sim_file f;
    uint8_t data[100];
    int *rc_out;
    uint64_t *at_out;
} far_writer;

static int far_writer_poll(void *state, sim_world *w)
{
    far_writer *x = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &x->co);
    SIM_AWAIT(rc, sim_disk_write_op(&x->f, x->data, sizeof x->data, 0));
    *x->rc_out = rc;
    *x->at_out = sim_now(w);
    SIM_END(SIM_OK);
}

/* Goal: an operation through a handle of another node's file (any task may use any handle)
 * acts on that node's disk, and that node's crash cuts it as it cuts the node's own: the
 * write never happens (the file is as durable as it was after the restart) and the task that
 * awaits it, on a node that lives on, gets SIM_EBADF at the crash, neither a write that came
 * back from the dead after the restart nor an assertion. Without the crash the write takes
 * effect as usual.
 * Method: n1 and n2; a job on n1 makes x/f durable and keeps it open (n1's); a task on n2
 * writes 100 bytes through that handle (1 ms); n1 crashes 0.5 ms into the write, then
 * restarts, and a job on n1 reads x/f back. */
Test(disk_handles, operation_on_another_nodes_file_dies_with_that_node)
{
    for (int crash = 0; crash <= 1; crash++) {
        sim_world *w = disk_world(85, NULL, NULL);
        sim_node_id n2 = test_node(w, "n2", NULL, NULL);
        sim_file f = {0};
        cr_assert(eq(int, run_job(w, durable_job, &f), SIM_OK));
        uint64_t t0 = sim_now(w), at = 0;
        int rc = SIM_PENDING;
        far_writer x = {.f = f, .rc_out = &rc, .at_out = &at};
        memset(x.data, 0x77, sizeof x.data);
        test_spawn(w, "far-writer", n2, far_writer_poll, NULL, &x, sizeof x);
        settle_until(w, t0 + SIM_MS / 2);
        if (crash) {
            cr_assert(eq(int, sim_node_crash(w, nid(1)), SIM_OK));
            cr_assert(eq(int, sim_node_restart(w, nid(1)), SIM_OK));
        }
        test_run_ok(w);
        file_io io = read_back(w, "x/f");
        uint32_t violations = sim_world_violation_count(w);
        sim_world_free(w);
        cr_assert(eq(u32, violations, 0), "crash %d", crash);
        cr_assert(eq(int, io.rc, SIM_OK), "crash %d", crash);
        if (crash) {
            cr_assert(eq(int, rc, SIM_EBADF), "the write: %s", sim_result_name(rc));
            cr_assert(eq(u64, at, t0 + SIM_MS / 2));
            cr_assert(eq(u64, io.size, 0), "the write cut by its node's crash took effect");
        } else {
            cr_assert(eq(int, rc, SIM_OK));
            cr_assert(eq(u64, at, t0 + SIM_MS));
            cr_assert(eq(u64, io.size, 100));
            cr_assert(all_eq(io.buf, 100, 0x77));
        }
    }
}
