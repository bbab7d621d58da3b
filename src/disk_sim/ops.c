/*
 * ops.c: the disk API. Synchronous calls run in a blocking-pool job: the operation takes
 * effect at once and its latency is charged to the job. Operations (sim_disk_op) run in tasks:
 * the first poll copies what the operation needs into a request and arms an extension timer
 * at its latency; when it fires the operation takes effect, and the next poll hands out the
 * result. A dropped operation still takes effect (the device has it; an open made that way
 * is closed again), and a crash of its node first cancels it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "disk.h"

enum { TM_REQ = 1 };

/* ---- synchronous calls ---------------------------------------------------------------------- */

/* The node of the running job, after charging the latency; 0 with a violation outside a job. */
static uint32_t job_node(sim_world *w, disk_state *d, sim_disk_op_kind kind, const char *what)
{
    if (!w->in_job || w->current == SIM__NIL) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "%s called outside a blocking-pool job: tasks use the disk operations "
                       "(sim_disk_op)",
                       what);
        return 0;
    }
    uint32_t node = w->tasks[w->current].node;
    SIM_ASSERT(node >= 1); /* a job runs on a node's pool */
    int rc = sim_job_charge(w, sim__disk_latency(d, node, kind));
    SIM_ASSERT(rc == SIM_OK);
    return node;
}

int sim_file_open(sim_world *w, const char *path, uint32_t flags, sim_file *out)
{
    disk_state *d = sim__disk_of(w);
    uint32_t node = job_node(w, d, SIM_DISK_OPEN, "sim_file_open");
    if (node == 0) return SIM_EMISUSE;
    return sim__disk_open(w, d, node, path, flags, out);
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
    const disk_inode *in = sim__disk_file(d, f);
    if (in == NULL) {
        *rc = SIM_EBADF;
        return SIM__NIL;
    }
    SIM_ASSERT(in->id != 0);
    return (uint32_t)(in - d->inodes);
}

int sim_file_pread(sim_world *w, const sim_file *f, void *buf, size_t len, uint64_t offset,
                   size_t *got)
{
    disk_state *d = sim__disk_of(w);
    int rc;
    *got = 0;
    uint32_t in = job_file(w, d, f, SIM_DISK_READ, "sim_file_pread", &rc);
    return in == SIM__NIL ? rc : sim__disk_read(w, d, in, buf, len, offset, got);
}

int sim_file_pwrite(sim_world *w, const sim_file *f, const void *data, size_t len,
                    uint64_t offset)
{
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_WRITE, "sim_file_pwrite", &rc);
    return in == SIM__NIL ? rc : sim__disk_write(w, d, in, data, len, offset, false, NULL);
}

int sim_file_append(sim_world *w, const sim_file *f, const void *data, size_t len,
                    uint64_t *offset)
{
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_APPEND, "sim_file_append", &rc);
    return in == SIM__NIL ? rc : sim__disk_write(w, d, in, data, len, 0, true, offset);
}

int sim_file_sync(sim_world *w, const sim_file *f)
{
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_SYNC, "sim_file_sync", &rc);
    return in == SIM__NIL ? rc : sim__disk_sync(w, d, in, SIM_DISK_SYNC);
}

int sim_file_datasync(sim_world *w, const sim_file *f)
{
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_DATASYNC, "sim_file_datasync", &rc);
    return in == SIM__NIL ? rc : sim__disk_sync(w, d, in, SIM_DISK_DATASYNC);
}

int sim_file_truncate(sim_world *w, const sim_file *f, uint64_t size)
{
    disk_state *d = sim__disk_of(w);
    int rc;
    uint32_t in = job_file(w, d, f, SIM_DISK_TRUNCATE, "sim_file_truncate", &rc);
    return in == SIM__NIL ? rc : sim__disk_truncate(w, d, in, size);
}

int sim_disk_rename(sim_world *w, const char *from, const char *to)
{
    disk_state *d = sim__disk_of(w);
    uint32_t node = job_node(w, d, SIM_DISK_RENAME, "sim_disk_rename");
    if (node == 0) return SIM_EMISUSE;
    return sim__disk_rename(w, d, node, from, to);
}

int sim_disk_unlink(sim_world *w, const char *path)
{
    disk_state *d = sim__disk_of(w);
    uint32_t node = job_node(w, d, SIM_DISK_UNLINK, "sim_disk_unlink");
    if (node == 0) return SIM_EMISUSE;
    return sim__disk_unlink(w, d, node, path);
}

int sim_disk_sync_dir(sim_world *w, const char *dir)
{
    disk_state *d = sim__disk_of(w);
    uint32_t node = job_node(w, d, SIM_DISK_SYNC_DIR, "sim_disk_sync_dir");
    if (node == 0) return SIM_EMISUSE;
    return sim__disk_sync_dir(w, d, node, dir);
}

/* ---- operations ----------------------------------------------------------------------------- */

sim_disk_op sim_disk_open_op(const char *path, uint32_t flags, sim_file *out)
{
    return (sim_disk_op){.kind = SIM_DISK_OPEN, .path = path, .flags = flags, .opened = out};
}

sim_disk_op sim_disk_read_op(const sim_file *f, void *buf, size_t len, uint64_t offset)
{
    return (sim_disk_op){.kind = SIM_DISK_READ, .file = f, .buf = buf, .len = len,
                         .offset = offset};
}

sim_disk_op sim_disk_write_op(const sim_file *f, const void *data, size_t len, uint64_t offset)
{
    return (sim_disk_op){.kind = SIM_DISK_WRITE, .file = f, .data = data, .len = len,
                         .offset = offset};
}

sim_disk_op sim_disk_append_op(const sim_file *f, const void *data, size_t len)
{
    return (sim_disk_op){.kind = SIM_DISK_APPEND, .file = f, .data = data, .len = len};
}

sim_disk_op sim_disk_sync_op(const sim_file *f)
{
    return (sim_disk_op){.kind = SIM_DISK_SYNC, .file = f};
}

sim_disk_op sim_disk_datasync_op(const sim_file *f)
{
    return (sim_disk_op){.kind = SIM_DISK_DATASYNC, .file = f};
}

sim_disk_op sim_disk_truncate_op(const sim_file *f, uint64_t size)
{
    return (sim_disk_op){.kind = SIM_DISK_TRUNCATE, .file = f, .offset = size};
}

sim_disk_op sim_disk_rename_op(const char *from, const char *to)
{
    return (sim_disk_op){.kind = SIM_DISK_RENAME, .path = from, .path2 = to};
}

sim_disk_op sim_disk_unlink_op(const char *path)
{
    return (sim_disk_op){.kind = SIM_DISK_UNLINK, .path = path};
}

sim_disk_op sim_disk_sync_dir_op(const char *dir)
{
    return (sim_disk_op){.kind = SIM_DISK_SYNC_DIR, .path = dir};
}

static void req_free(sim_world *w, disk_state *d, uint32_t slot)
{
    SIM_ASSERT(slot < d->reqs_used);
    disk_req *r = &d->reqs[slot];
    SIM_ASSERT(r->kind != 0); /* freed once */
    /* Nobody waits on a request that goes: it completed (and was collected) or was dropped. */
    if (r->op == NULL) SIM_ASSERT(r->waker_slot == SIM__NIL);
    if (r->inode != SIM__NIL) sim__disk_inode_release(w, d, r->inode);
    free(r->path);
    free(r->path2);
    free(r->data);
    uint32_t id = r->id;
    memset(r, 0, sizeof *r);
    r->id = id; /* kept: a late lookup by id fails on the free flag below */
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

static bool uses_file(sim_disk_op_kind k)
{
    return k != SIM_DISK_OPEN && k != SIM_DISK_RENAME && k != SIM_DISK_UNLINK &&
           k != SIM_DISK_SYNC_DIR;
}

/* Checks what can be checked now and copies the operation into a fresh request. */
static int req_start(sim_world *w, disk_state *d, sim_disk_op *op, uint32_t node)
{
    if (op->kind < SIM_DISK_OPEN || op->kind > SIM_DISK_SYNC_DIR) return SIM_EINVAL;
    if (uses_file(op->kind) && sim__disk_file(d, op->file) == NULL) return SIM_EBADF;
    if (!uses_file(op->kind) && op->path == NULL) return SIM_EINVAL;
    if (op->kind == SIM_DISK_RENAME && op->path2 == NULL) return SIM_EINVAL;
    if (op->kind == SIM_DISK_OPEN && op->opened == NULL) return SIM_EINVAL;
    if ((op->kind == SIM_DISK_WRITE || op->kind == SIM_DISK_APPEND) && op->len > UINT32_MAX) {
        return SIM_EINVAL;
    }
    SIM_ASSERT(node >= 1);
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
    disk_req *r = &d->reqs[slot];
    uint32_t id = (r->id + 1) & 0x0fffffffu ? (r->id + 1) & 0x0fffffffu : 1;
    memset(r, 0, sizeof *r);
    *r = (disk_req){.id = id, .node = node, .kind = op->kind, .op = op, .len = op->len,
                    .offset = op->offset, .flags = op->flags, .inode = SIM__NIL};
    if (uses_file(op->kind)) {
        r->inode = (uint32_t)(sim__disk_file(d, op->file) - d->inodes);
        sim__disk_inode_hold(d, r->inode);
    }
    /* Requests get ids a timer's argument can carry (28 bits), never 0. */
    SIM_ASSERT(id != 0);
    SIM_ASSERT(id <= 0x0fffffffu);
    if (op->path != NULL) r->path = sim__xstrdup(op->path, "a disk operation's path");
    if (op->path2 != NULL) r->path2 = sim__xstrdup(op->path2, "a disk operation's path");
    if ((op->kind == SIM_DISK_WRITE || op->kind == SIM_DISK_APPEND) && op->len > 0) {
        r->data = sim__xmalloc(op->len, "a disk write's bytes");
        memcpy(r->data, op->data, op->len);
    }
    uint64_t at = sim__add_sat(w->now_ns, sim__disk_latency(d, node, op->kind));
    int rc = sim__timer_arm_ext(w, at, SIM__EXT_DISK, (uint64_t)id << 32 | slot);
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
    SIM_ASSERT(w->nodes[r->node].state != SIM_NODE_DOWN);
    if (uses_file(r->kind)) SIM_ASSERT(r->inode != SIM__NIL);
    uint32_t f = r->inode;
    sim_file opened = {0};
    uint64_t at = 0;
    switch (r->kind) {
    case SIM_DISK_OPEN:
        r->rc = sim__disk_open(w, d, r->node, r->path, r->flags, &opened);
        r->fd_slot = opened.slot_;
        r->fd_id = opened.id_;
        break;
    case SIM_DISK_READ:
        /* Straight into the caller's buffer; nobody waits for an abandoned read. */
        if (r->op != NULL) {
            r->rc = sim__disk_read(w, d, f, r->op->buf, r->len, r->offset, &r->got);
        }
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
    default: r->rc = sim__disk_sync_dir(w, d, r->node, r->path); break;
    }
    SIM_ASSERT(r->rc <= 0);
    r->done = true;
}

void sim__disk_req_fire(sim_world *w, disk_state *d, uint32_t slot, uint32_t id)
{
    disk_req *r = req_get(d, slot, id);
    if (r == NULL) return; /* cancelled by a crash, and dropped by its task */
    if (r->done) {
        /* Cancelled by a crash, its task dead without dropping it (a drop function need not
         * know of the disk): nobody will collect it, and it must not take effect. */
        SIM_ASSERT(r->rc == SIM_ECRASHED);
        SIM_ASSERT(r->inode == SIM__NIL);
        req_free(w, d, slot);
        return;
    }
    req_run(w, d, r);
    r = &d->reqs[slot]; /* running it may have moved the table (an open makes a handle) */
    SIM_ASSERT(r->id == id);
    if (r->op == NULL) {
        /* Abandoned: an open made that way has nobody to close it. */
        if (r->kind == SIM_DISK_OPEN && r->rc == SIM_OK) {
            sim_file f = {.slot_ = r->fd_slot, .id_ = r->fd_id};
            sim_file_close(w, &f);
        }
        req_free(w, d, slot);
        return;
    }
    uint32_t ws = r->waker_slot, wi = r->waker_id;
    r->waker_slot = SIM__NIL;
    if (ws != SIM__NIL) sim__wake(w, ws, wi);
    sim__disk_check(w, d);
}

void sim__disk_reqs_crash(sim_world *w, disk_state *d, uint32_t node)
{
    SIM_ASSERT(w->nodes[node].state == SIM_NODE_DOWN);
    for (uint32_t i = 0; i < d->reqs_used; i++) {
        disk_req *r = &d->reqs[i];
        if (r->kind == 0 || r->node != node) continue;
        if (r->op == NULL) {
            req_free(w, d, i);
            continue;
        }
        /* Its task dies with the node; the operation never happened. */
        r->done = true;
        r->rc = SIM_ECRASHED;
        r->fd_slot = r->fd_id = 0;
        if (r->inode != SIM__NIL) sim__disk_inode_release(w, d, r->inode);
        r->inode = SIM__NIL;
    }
    /* None of the node's requests will take effect: each is done (crashed) or gone. */
    for (uint32_t i = 0; i < d->reqs_used; i++) {
        if (d->reqs[i].kind != 0 && d->reqs[i].node == node) SIM_ASSERT(d->reqs[i].done);
    }
}

int sim_disk_poll(sim_world *w, sim_disk_op *op)
{
    SIM_ASSERT(op != NULL);
    disk_state *d = sim__disk_of(w);
    if (op->id_ == 0) {
        uint32_t node = sim__disk_task_node(w);
        if (node == 0) return SIM_ENODE;
        int rc = req_start(w, d, op, node);
        if (rc != SIM_OK) return rc;
    }
    disk_req *r = req_get(d, op->slot_, op->id_);
    SIM_ASSERT(r != NULL); /* an operation in flight always has its request */
    if (!r->done) {
        r->waker_slot = w->current;
        r->waker_id = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
        sim__note_wait(w, WAIT_EXT + SIM__EXT_DISK, op->slot_, (uint64_t)op->kind << 32 | op->id_);
        return SIM_PENDING;
    }
    int rc = r->rc;
    SIM_ASSERT(r->op != NULL); /* claimed: only a drop lets go of it, and then never polls */
    if (rc == SIM_OK && op->kind == SIM_DISK_READ) SIM_ASSERT(r->got <= op->len);
    if (op->kind == SIM_DISK_OPEN) {
        *op->opened = rc == SIM_OK ? (sim_file){.slot_ = r->fd_slot, .id_ = r->fd_id}
                                   : (sim_file){0};
    }
    op->got = r->got;
    if (op->kind == SIM_DISK_APPEND) op->offset = r->offset;
    req_free(w, d, op->slot_);
    op->slot_ = op->id_ = 0;
    return rc;
}

void sim_disk_drop(sim_world *w, sim_disk_op *op)
{
    SIM_ASSERT(op != NULL);
    disk_state *d = sim__disk_peek(w);
    disk_req *r = req_get(d, op->slot_, op->id_);
    uint32_t slot = op->slot_;
    op->slot_ = op->id_ = 0;
    if (r == NULL) return;
    if (r->done) {
        /* Finished but never collected: an open's handle would be lost. */
        if (r->kind == SIM_DISK_OPEN && r->rc == SIM_OK) {
            sim_file f = {.slot_ = r->fd_slot, .id_ = r->fd_id};
            sim_file_close(w, &f);
        }
        req_free(w, d, slot);
        return;
    }
    SIM_ASSERT(r->op != NULL); /* dropped once */
    r->op = NULL; /* it still takes effect when its time comes; nobody collects it */
    r->waker_slot = SIM__NIL;
}

static int disk_fpoll(void *state, sim_world *w)
{
    return sim_disk_poll(w, state);
}

static void disk_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_disk_drop(w, state);
}

sim_future sim_disk_future(sim_disk_op *op)
{
    return (sim_future){.poll = disk_fpoll, .drop = disk_fdrop, .state = op};
}
