/*
 * ops.c: the disk API. Synchronous calls run in a blocking-pool job: the operation takes
 * effect at once and its latency is charged to the job. Operations (sim_disk_op, a future)
 * run in tasks: the first poll copies what the operation needs into a request and arms an
 * extension timer at its latency; when it fires the operation takes effect, and the next poll
 * hands out the result (an open's handle record is made then, owned by the task). A dropped
 * operation still takes effect (the device has it; an open made that way is closed again;
 * a read no longer writes into the caller's buffer), and a crash of its node first cancels
 * it. What an operation arms is its request, which its drop abandons or frees: the request
 * never points into the operation, which is copied into place before its first poll.
 */
#include <stdio.h>
#include <stdlib.h>

#include "disk.h"

enum { TM_REQ = 1 };

/* ---- synchronous calls ---------------------------------------------------------------------- */

/* The node of the running job, after charging the latency; 0 with a violation outside a job. */
static uint32_t job_node(sim_world *w, disk_state *d, sim_disk_op_kind kind, const char *what)
{
    if (!sim__exec_in_job(w) || sim__exec_current(w) == SIM__NIL) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "%s called outside a blocking-pool job: tasks use the disk operations "
                       "(sim_disk_op)",
                       what);
        return 0;
    }
    uint32_t node = sim_node_current(w).v;
    SIM_ASSERT(node >= 1); /* a job runs on a node's pool */
    int rc = sim_job_charge(w, sim__disk_latency(d, node, kind));
    SIM_ASSERT(rc == SIM_OK);
    return node;
}

int sim_file_open(sim_world *w, const char *path, uint32_t flags, sim_file *out)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_open_op(path, flags, out);
        return sim__hdisk_sync_call(w, &hop, "sim_file_open");
    }
    SIM_ASSERT(out != NULL);
    *out = (sim_file){0};
    disk_state *d = sim__disk_of(w);
    uint32_t node = job_node(w, d, SIM_DISK_OPEN, "sim_file_open");
    if (node == 0) return SIM_EMISUSE;
    if (path == NULL) return SIM_EINVAL;
    uint32_t fd;
    int rc = sim__disk_open(w, d, node, path, flags, &fd);
    if (rc != SIM_OK) return rc;
    /* A job is no owner: the handle belongs to the job's node (hand.c). */
    rc = sim__disk_fd_hand_new(w, d, fd, out);
    if (rc != SIM_OK) sim__disk_fd_close(w, d, fd, d->fds[fd].id);
    return rc;
}

/* The inode of a handle for a synchronous call, after the job checks; SIM__NIL with *rc set. */
static uint32_t job_file(sim_world *w, disk_state *d, const sim_file *f, sim_disk_op_kind kind,
                         const char *what, int *rc)
{
    *rc = SIM_OK;
    if (job_node(w, d, kind, what) == 0) {
        *rc = SIM_EMISUSE;
        return SIM__NIL;
    }
    uint32_t fd = sim__disk_fd_of(w, d, f, what, rc);
    if (fd == SIM__NIL) return SIM__NIL;
    SIM_ASSERT(*rc == SIM_OK);
    return d->fds[fd].inode;
}

int sim_file_pread(sim_world *w, const sim_file *f, void *buf, size_t len, uint64_t offset,
                   size_t *got)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_read_op(f, buf, len, offset, got);
        return sim__hdisk_sync_call(w, &hop, "sim_file_pread");
    }
    SIM_ASSERT(got != NULL);
    SIM_ASSERT(buf != NULL || len == 0);
    disk_state *d = sim__disk_of(w);
    int rc;
    *got = 0;
    uint32_t in = job_file(w, d, f, SIM_DISK_READ, "sim_file_pread", &rc);
    return in == SIM__NIL ? rc : sim__disk_read(w, d, in, buf, len, offset, got);
}

int sim_file_pwrite(sim_world *w, const sim_file *f, const void *data, size_t len,
                    uint64_t offset)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_write_op(f, data, len, offset);
        return sim__hdisk_sync_call(w, &hop, "sim_file_pwrite");
    }
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_WRITE, "sim_file_pwrite", &rc);
    return in == SIM__NIL ? rc : sim__disk_write(w, d, in, data, len, offset, false, NULL);
}

int sim_file_append(sim_world *w, const sim_file *f, const void *data, size_t len,
                    uint64_t *offset)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_append_op(f, data, len, offset);
        return sim__hdisk_sync_call(w, &hop, "sim_file_append");
    }
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_APPEND, "sim_file_append", &rc);
    return in == SIM__NIL ? rc : sim__disk_write(w, d, in, data, len, 0, true, offset);
}

int sim_file_sync(sim_world *w, const sim_file *f)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_sync_op(f);
        return sim__hdisk_sync_call(w, &hop, "sim_file_sync");
    }
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_SYNC, "sim_file_sync", &rc);
    return in == SIM__NIL ? rc : sim__disk_sync(w, d, in, SIM_DISK_SYNC);
}

int sim_file_datasync(sim_world *w, const sim_file *f)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_datasync_op(f);
        return sim__hdisk_sync_call(w, &hop, "sim_file_datasync");
    }
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_DATASYNC, "sim_file_datasync", &rc);
    return in == SIM__NIL ? rc : sim__disk_sync(w, d, in, SIM_DISK_DATASYNC);
}

int sim_file_truncate(sim_world *w, const sim_file *f, uint64_t size)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_truncate_op(f, size);
        return sim__hdisk_sync_call(w, &hop, "sim_file_truncate");
    }
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_TRUNCATE, "sim_file_truncate", &rc);
    return in == SIM__NIL ? rc : sim__disk_truncate(w, d, in, size);
}

int sim_disk_rename(sim_world *w, const char *from, const char *to)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_rename_op(from, to);
        return sim__hdisk_sync_call(w, &hop, "sim_disk_rename");
    }
    disk_state *d = sim__disk_of(w);
    uint32_t node = job_node(w, d, SIM_DISK_RENAME, "sim_disk_rename");
    if (node == 0) return SIM_EMISUSE;
    return sim__disk_rename(w, d, node, from, to);
}

int sim_disk_unlink(sim_world *w, const char *path)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_unlink_op(path);
        return sim__hdisk_sync_call(w, &hop, "sim_disk_unlink");
    }
    disk_state *d = sim__disk_of(w);
    uint32_t node = job_node(w, d, SIM_DISK_UNLINK, "sim_disk_unlink");
    if (node == 0) return SIM_EMISUSE;
    return sim__disk_unlink(w, d, node, path);
}

int sim_disk_sync_dir(sim_world *w, const char *dir)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op hop = sim_disk_sync_dir_op(dir);
        return sim__hdisk_sync_call(w, &hop, "sim_disk_sync_dir");
    }
    disk_state *d = sim__disk_of(w);
    uint32_t node = job_node(w, d, SIM_DISK_SYNC_DIR, "sim_disk_sync_dir");
    if (node == 0) return SIM_EMISUSE;
    return sim__disk_sync_dir(w, d, node, dir);
}

/* ---- operations ----------------------------------------------------------------------------- */

/* The constructor's name of each kind, for misuse messages. */
static const char *const op_names[] = {
    "?",                  "sim_disk_open_op",     "sim_disk_read_op",
    "sim_disk_write_op",  "sim_disk_append_op",   "sim_disk_sync_op",
    "sim_disk_datasync_op", "sim_disk_truncate_op", "sim_disk_rename_op",
    "sim_disk_unlink_op", "sim_disk_sync_dir_op"};

/* What each kind does, in words. */
static const char *const kind_words[] = {"?",        "open",   "read",      "write",
                                         "append",   "fsync",  "fdatasync", "truncate",
                                         "rename",   "unlink", "directory sync"};

static bool kind_ok(uint32_t kind)
{
    return kind >= SIM_DISK_OPEN && kind <= SIM_DISK_SYNC_DIR;
}

static bool uses_file(sim_disk_op_kind k)
{
    return k != SIM_DISK_OPEN && k != SIM_DISK_RENAME && k != SIM_DISK_UNLINK &&
           k != SIM_DISK_SYNC_DIR;
}

static void req_free(sim_world *w, disk_state *d, uint32_t slot)
{
    SIM_ASSERT(slot < d->reqs_used);
    disk_req *r = &d->reqs[slot];
    SIM_ASSERT(r->kind != 0);
    /* Nobody waits on a request that goes abandoned: its drop let go of its waker. */
    if (r->abandoned) SIM_ASSERT(r->waker_slot == SIM__NIL);
    if (r->inode != SIM__NIL) sim__disk_inode_release(w, d, r->inode);
    free(r->path);
    free(r->path2);
    free(r->data);
    uint32_t id = r->id;
    memset(r, 0, sizeof *r);
    r->id = id; /* kept: a late lookup by id fails on the free kind below */
    r->node = 0;
    r->kind = 0;
    r->next_free = d->req_free;
    d->req_free = slot;
}

static disk_req *req_get(const disk_state *d, uint32_t slot, uint32_t id)
{
    if (d == NULL || id == 0 || slot >= d->reqs_used) return NULL;
    disk_req *r = &d->reqs[slot];
    if (r->id != id || r->kind == 0) return NULL;
    SIM_ASSERT(r->node >= 1);
    if (r->inode != SIM__NIL) SIM_ASSERT(d->inodes[r->inode].id != 0); /* held alive */
    return r;
}

/* A fresh request slot (the table may move). */
static uint32_t req_alloc(disk_state *d)
{
    uint32_t slot = d->req_free;
    if (slot != SIM__NIL) {
        SIM_ASSERT(d->reqs[slot].kind == 0); /* the free list holds free requests only */
        d->req_free = d->reqs[slot].next_free;
    } else {
        sim__grow((void **)&d->reqs, &d->reqs_cap, d->reqs_used + 1, sizeof(disk_req));
        slot = d->reqs_used++;
        d->reqs[slot].id = 0;
    }
    sim__table_shake((void **)&d->reqs, d->reqs_cap, sizeof(disk_req));
    return slot;
}

/* Checks what can be checked now and copies the operation into a fresh request, whose timer is
 * armed at the operation's latency. */
static int req_start(sim_world *w, disk_state *d, sim_disk_op *op, uint32_t node)
{
    SIM_ASSERT(op->id_ == 0);
    SIM_ASSERT(node != 0);
    if (!kind_ok(op->kind)) return SIM_EINVAL;
    uint32_t fd = SIM__NIL;
    if (uses_file(op->kind)) {
        int rc;
        fd = sim__disk_fd_of(w, d, op->file, op_names[op->kind], &rc);
        if (fd == SIM__NIL) return rc;
        /* The fix for an operation through a handle of another node's file (any task may use
         * any handle; test_disk_handles.c, operation_on_another_nodes_file_dies_with_that_node):
         * it runs on the file's disk, so its latency is that node's and that node's crash cuts
         * it. Tied to the task's node, it survived the file's node's crash and then took
         * effect on the restarted node's durable file. */
        node = d->fds[fd].node;
    }
    if (!uses_file(op->kind) && op->path == NULL) return SIM_EINVAL;
    if (op->kind == SIM_DISK_RENAME && op->path2 == NULL) return SIM_EINVAL;
    if (op->kind == SIM_DISK_OPEN && op->opened == NULL) return SIM_EINVAL;
    if ((op->kind == SIM_DISK_WRITE || op->kind == SIM_DISK_APPEND) && op->len > UINT32_MAX) {
        return SIM_EINVAL;
    }
    uint32_t slot = req_alloc(d);
    disk_req *r = &d->reqs[slot];
    uint32_t id = (r->id + 1) & 0x0fffffffu ? (r->id + 1) & 0x0fffffffu : 1;
    *r = (disk_req){.id = id, .node = node, .kind = op->kind, .len = op->len,
                    .offset = op->offset, .flags = op->flags, .inode = SIM__NIL,
                    .name = SIM__NIL, .waker_slot = SIM__NIL};
    if (fd != SIM__NIL) {
        r->inode = d->fds[fd].inode;
        r->name = d->fds[fd].name;
        sim__disk_inode_hold(d, r->inode);
    }
    if (op->kind == SIM_DISK_READ) r->buf = op->buf;
    /* Requests get ids a timer's argument can carry (28 bits), never 0. */
    SIM_ASSERT(id != 0);
    SIM_ASSERT(id <= 0x0fffffffu);
    if (op->path != NULL) r->path = sim__xstrdup(op->path, "a disk operation's path");
    if (op->path2 != NULL) r->path2 = sim__xstrdup(op->path2, "a disk operation's path");
    if ((op->kind == SIM_DISK_WRITE || op->kind == SIM_DISK_APPEND) && op->len > 0) {
        r->data = sim__xmalloc(op->len, "a disk write's bytes");
        memcpy(r->data, op->data, op->len);
    }
    uint64_t at = sim__add_sat(sim__exec_now(w), sim__disk_latency(d, node, op->kind));
    int rc = sim__timer_arm_ext(w, at, d->ext, (uint64_t)id << 32 | slot);
    if (rc != SIM_OK) { /* the world's timer limit */
        req_free(w, d, slot);
        return rc;
    }
    op->slot_ = slot;
    op->id_ = id;
    return SIM_OK;
}

/* Runs a request's operation (its latency has passed). */
static void req_run(sim_world *w, disk_state *d, disk_req *r)
{
    SIM_ASSERT(!r->done); /* runs once */
    /* Its node is up: a crash cancelled the node's requests before their time. */
    SIM_ASSERT(sim__exec_node_state(w, r->node) != SIM_NODE_DOWN);
    if (uses_file(r->kind)) SIM_ASSERT(r->inode != SIM__NIL);
    uint32_t f = r->inode;
    uint64_t at = 0;
    switch (r->kind) {
    case SIM_DISK_OPEN:
        r->rc = sim__disk_open(w, d, r->node, r->path, r->flags, &r->fd_slot);
        r->fd_id = r->rc == SIM_OK ? d->fds[r->fd_slot].id : 0;
        break;
    case SIM_DISK_READ:
        /* Straight into the caller's buffer; nobody waits for an abandoned read. */
        if (!r->abandoned) r->rc = sim__disk_read(w, d, f, r->buf, r->len, r->offset, &r->got);
        break;
    case SIM_DISK_WRITE:
    case SIM_DISK_APPEND:
        r->rc = sim__disk_write(w, d, f, r->data, r->len, r->offset,
                                r->kind == SIM_DISK_APPEND, &at);
        r->offset = at;
        break;
    case SIM_DISK_SYNC:
    case SIM_DISK_DATASYNC: r->rc = sim__disk_sync(w, d, f, r->kind); break;
    case SIM_DISK_TRUNCATE: r->rc = sim__disk_truncate(w, d, f, r->offset); break;
    case SIM_DISK_RENAME: r->rc = sim__disk_rename(w, d, r->node, r->path, r->path2); break;
    case SIM_DISK_UNLINK: r->rc = sim__disk_unlink(w, d, r->node, r->path); break;
    default:
        SIM_ASSERT(r->kind == SIM_DISK_SYNC_DIR);
        r->rc = sim__disk_sync_dir(w, d, r->node, r->path);
        break;
    }
    SIM_ASSERT(r->rc <= 0);
    r->done = true;
}

void sim__disk_req_fire(sim_world *w, disk_state *d, uint32_t slot, uint32_t id)
{
    disk_req *r = req_get(d, slot, id);
    if (r == NULL || r->done) return; /* cancelled by a crash */
    req_run(w, d, r);
    r = &d->reqs[slot]; /* running it may have moved the table (an open makes a handle) */
    SIM_ASSERT(r->id == id);
    if (r->abandoned) {
        /* An open made that way has nobody to close it. */
        if (r->kind == SIM_DISK_OPEN && r->rc == SIM_OK) {
            sim__disk_fd_close(w, d, r->fd_slot, r->fd_id);
        }
        req_free(w, d, slot);
        return;
    }
    uint32_t ws = r->waker_slot, wi = r->waker_id;
    r->waker_slot = SIM__NIL;
    if (ws != SIM__NIL) sim__exec_wake(w, ws, wi);
    sim__disk_check(w, d);
}

void sim__disk_reqs_crash(sim_world *w, disk_state *d, uint32_t node)
{
    SIM_ASSERT(sim__exec_node_state(w, node) == SIM_NODE_DOWN);
    for (uint32_t i = 0; i < d->reqs_used; i++) {
        disk_req *r = &d->reqs[i];
        if (r->kind == 0 || r->node != node) continue;
        if (r->abandoned) {
            req_free(w, d, i);
            continue;
        }
        /* The operation never happened. A task of the node dies with it (its drop frees the
         * request); a task elsewhere, acting on this node's file, is woken: the handle died
         * with the node (SIM_EBADF). */
        r->done = true;
        r->rc = uses_file(r->kind) ? SIM_EBADF : SIM_ECRASHED;
        r->fd_slot = r->fd_id = 0;
        r->buf = NULL;
        if (r->inode != SIM__NIL) sim__disk_inode_release(w, d, r->inode);
        r->inode = SIM__NIL;
        uint32_t ws = r->waker_slot, wi = r->waker_id;
        r->waker_slot = SIM__NIL;
        if (ws != SIM__NIL) sim__exec_wake(w, ws, wi);
    }
    /* None of the node's requests will take effect: each is done (crashed) or gone. */
    for (uint32_t i = 0; i < d->reqs_used; i++) {
        if (d->reqs[i].kind != 0 && d->reqs[i].node == node) SIM_ASSERT(d->reqs[i].done);
    }
}

/* What the operation hands out on completion: the results of a request that succeeded, zeros
 * otherwise (r NULL: it never started). */
static int op_outputs(sim_world *w, disk_state *d, sim_disk_op *op, const disk_req *r, int rc)
{
    bool ok = r != NULL && rc == SIM_OK;
    if (op->kind == SIM_DISK_OPEN && op->opened != NULL) {
        *op->opened = (sim_file){0};
        if (ok) {
            rc = sim__disk_fd_hand_new(w, d, r->fd_slot, op->opened);
            if (rc != SIM_OK) sim__disk_fd_close(w, d, r->fd_slot, r->fd_id);
        }
    }
    if (op->kind == SIM_DISK_READ && op->got != NULL) *op->got = ok ? r->got : 0;
    if (op->kind == SIM_DISK_APPEND && op->at != NULL) *op->at = ok ? r->offset : 0;
    return rc;
}

static int disk_op_poll(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) {
        sim_disk_op *hop = (sim_disk_op *)f;
        return sim__hdisk_op_poll(hop, w, kind_ok(hop->kind) ? op_names[hop->kind] : "disk");
    }
    sim_disk_op *op = (sim_disk_op *)f;
    SIM_ASSERT(op != NULL);
    const char *what = kind_ok(op->kind) ? op_names[op->kind] : "a disk operation";
    disk_state *d = sim__disk_of(w);
    if (op->id_ == 0) {
        int rc = SIM_ENODE;
        uint32_t node = sim__disk_task_node(w);
        if (sim__exec_require_task(w, what) == SIM__NIL) {
            rc = SIM_EMISUSE;
        } else if (node != 0) {
            rc = req_start(w, d, op, node);
        }
        if (rc != SIM_OK) return op_outputs(w, d, op, NULL, rc);
    }
    disk_req *r = req_get(d, op->slot_, op->id_);
    SIM_ASSERT(r != NULL); /* an operation in flight always has its request */
    SIM_ASSERT(!r->abandoned);
    if (!r->done) {
        uint32_t self = sim__exec_require_task(w, what);
        if (self == SIM__NIL) return SIM_EMISUSE;
        r->waker_slot = self;
        r->waker_id = sim__exec_task_id(w, self);
        sim__exec_note_wait(w, sim__disk_peek(w)->ext, op->slot_,
                            (uint64_t)op->kind << 32 | op->id_);
        return SIM_PENDING;
    }
    if (r->rc == SIM_OK && op->kind == SIM_DISK_READ) SIM_ASSERT(r->got <= op->len);
    int rc = op_outputs(w, d, op, r, r->rc);
    req_free(w, d, op->slot_);
    op->slot_ = op->id_ = 0;
    return rc;
}

/* Dropped before it was collected: a request in flight is abandoned (it still takes effect);
 * a finished one is freed, and an open's fd closed, since nobody will receive its handle. */
static void disk_op_drop(sim_fut *f, sim_world *w)
{
    if (sim__exec_is_host(w)) return; /* completed at its first poll */
    sim_disk_op *op = (sim_disk_op *)f;
    disk_state *d = sim__disk_peek(w);
    disk_req *r = req_get(d, op->slot_, op->id_);
    uint32_t slot = op->slot_;
    op->slot_ = op->id_ = 0;
    if (r == NULL) return; /* never started */
    if (r->done) {
        if (r->kind == SIM_DISK_OPEN && r->rc == SIM_OK) {
            sim__disk_fd_close(w, d, r->fd_slot, r->fd_id);
        }
        req_free(w, d, slot);
        return;
    }
    SIM_ASSERT(!r->abandoned); /* dropped once */
    r->abandoned = true;
    r->buf = NULL;
    r->waker_slot = SIM__NIL;
}

/* An operation in words, from what it acts on: file (the file's words, for the kinds that act
 * on one), path and path2, len and offset, node ("" when not known yet), and a suffix. */
static void op_words(uint32_t kind, const char *file, const char *path, const char *path2,
                     size_t len, uint64_t offset, const char *node, const char *suffix,
                     char *buf, size_t size)
{
    SIM_ASSERT(kind_ok(kind));
    const char *what = kind_words[kind];
    const char *on = node[0] ? " on " : "";
    path = path ? path : "(no path)";
    switch (kind) {
    case SIM_DISK_READ:
    case SIM_DISK_WRITE:
        snprintf(buf, size, "%s of %zu bytes at %llu %s %s%s%s%s", what, len,
                 (unsigned long long)offset, kind == SIM_DISK_READ ? "of" : "to", file, on, node,
                 suffix);
        break;
    case SIM_DISK_APPEND:
        snprintf(buf, size, "append of %zu bytes to %s%s%s%s", len, file, on, node, suffix);
        break;
    case SIM_DISK_TRUNCATE:
        snprintf(buf, size, "truncate of %s to %llu bytes%s%s%s", file,
                 (unsigned long long)offset, on, node, suffix);
        break;
    case SIM_DISK_SYNC:
    case SIM_DISK_DATASYNC:
        snprintf(buf, size, "%s of %s%s%s%s", what, file, on, node, suffix);
        break;
    case SIM_DISK_RENAME:
        snprintf(buf, size, "rename of %s to %s%s%s%s", path, path2 ? path2 : "(no path)", on,
                 node, suffix);
        break;
    case SIM_DISK_SYNC_DIR:
        snprintf(buf, size, "directory sync of %s%s%s%s", path[0] ? path : "the root", on, node,
                 suffix);
        break;
    default: snprintf(buf, size, "%s of %s%s%s%s", what, path, on, node, suffix); break;
    }
}

void sim__disk_req_words(const sim_world *w, uint32_t slot, uint32_t id, uint32_t kind, char *buf,
                         size_t size)
{
    SIM_ASSERT(buf != NULL && size > 0);
    const disk_state *d = sim__disk_peek(w);
    const disk_req *r = req_get(d, slot, id);
    if (r == NULL) {
        snprintf(buf, size, "disk %s (finished)", kind_ok(kind) ? kind_words[kind] : "?");
        return;
    }
    char file[SIM_PATH_MAX + 32] = "a file its node's crash closed"; /* the inode let go */
    if (r->inode != SIM__NIL) sim__disk_inode_words(d, r->inode, r->name, file, sizeof file);
    op_words(r->kind, file, r->path, r->path2, r->len, r->offset,
             sim_node_name(w, (sim_node_id){r->node}),
             r->done ? " (done, not yet collected)" : "", buf, size);
}

static void disk_op_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_disk_op *op = (const sim_disk_op *)f;
    if (!kind_ok(op->kind)) {
        snprintf(buf, size, "a disk operation of unknown kind %d", (int)op->kind);
        return;
    }
    if (op->id_ != 0) {
        sim__disk_req_words(w, op->slot_, op->id_, op->kind, buf, size);
        return;
    }
    /* Not started yet (never polled): what the constructor was given. */
    char file[SIM_PATH_MAX + 32] = "a closed file";
    const char *node = "";
    const disk_state *d = sim__disk_peek(w);
    uint32_t fd = uses_file(op->kind) ? sim__disk_fd_peek(w, d, op->file) : SIM__NIL;
    if (fd != SIM__NIL) {
        sim__disk_inode_words(d, d->fds[fd].inode, d->fds[fd].name, file, sizeof file);
        node = sim_node_name(w, (sim_node_id){d->fds[fd].node});
    }
    size_t len = op->kind == SIM_DISK_READ || op->kind == SIM_DISK_WRITE ||
                         op->kind == SIM_DISK_APPEND
                     ? op->len
                     : 0;
    op_words(op->kind, file, op->path, op->path2, len, op->offset, node, "", buf, size);
}

static const sim_fut_vt disk_op_vt = {.name = "disk", .poll = disk_op_poll, .drop = disk_op_drop,
                                      .describe = disk_op_describe};

sim_disk_op sim_disk_open_op(const char *path, uint32_t flags, sim_file *out)
{
    SIM_ASSERT(out != NULL);
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_OPEN, .path = path,
                         .flags = flags, .opened = out};
}

sim_disk_op sim_disk_read_op(const sim_file *f, void *buf, size_t len, uint64_t offset,
                             size_t *got)
{
    SIM_ASSERT(f != NULL);
    SIM_ASSERT(buf != NULL || len == 0);
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_READ, .file = f,
                         .buf = buf, .len = len, .offset = offset, .got = got};
}

sim_disk_op sim_disk_write_op(const sim_file *f, const void *data, size_t len, uint64_t offset)
{
    SIM_ASSERT(f != NULL);
    SIM_ASSERT(data != NULL || len == 0);
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_WRITE, .file = f,
                         .data = data, .len = len, .offset = offset};
}

sim_disk_op sim_disk_append_op(const sim_file *f, const void *data, size_t len, uint64_t *at)
{
    SIM_ASSERT(f != NULL);
    SIM_ASSERT(data != NULL || len == 0);
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_APPEND, .file = f,
                         .data = data, .len = len, .at = at};
}

sim_disk_op sim_disk_sync_op(const sim_file *f)
{
    SIM_ASSERT(f != NULL);
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_SYNC, .file = f};
}

sim_disk_op sim_disk_datasync_op(const sim_file *f)
{
    SIM_ASSERT(f != NULL);
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_DATASYNC, .file = f};
}

sim_disk_op sim_disk_truncate_op(const sim_file *f, uint64_t size)
{
    SIM_ASSERT(f != NULL);
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_TRUNCATE, .file = f,
                         .offset = size};
}

sim_disk_op sim_disk_rename_op(const char *from, const char *to)
{
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_RENAME, .path = from,
                         .path2 = to};
}

sim_disk_op sim_disk_unlink_op(const char *path)
{
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_UNLINK, .path = path};
}

sim_disk_op sim_disk_sync_dir_op(const char *dir)
{
    return (sim_disk_op){.fut = SIM_FUT_INIT(&disk_op_vt), .kind = SIM_DISK_SYNC_DIR,
                         .path = dir};
}
