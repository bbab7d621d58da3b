/*
 * disk.c: the world's disks (see disk.h and docs/disk.md).
 *
 * Method. Every file (inode) keeps two images: `cur`, what reads see, and `dur`, what would
 * survive a crash now; between them, the list of pending writes and truncations in the order
 * they were made. A write changes cur at once and joins the list; fsync applies the list to
 * dur and empties it. Names work the same way: each path has the inode reads see (`cur`) and
 * the one that would survive (`dur`), and creations, unlinks and renames wait on a list of
 * pending directory operations until their directory is synced.
 *
 * On a crash, the node's pending writes are resolved one by one, in order, with a crash stream
 * of its own ("sim/disk/crash", keyed by the node and the crash's virtual time, not by what
 * the disk drew before: a crash at the same time with the same writes pending resolves the
 * same way whether or not the run had other crashes, which lets sim shrink take those out):
 * kept whole with probability crash_keep, torn with
 * crash_torn (each sector the write touches is written or not, one chance in two, and a
 * sector not written keeps what was there or, with torn_garbage, holds garbage), else lost. A
 * truncation is kept or lost. Then each pending directory operation (a rename's two halves
 * together) is kept with dir_keep or lost. What survives becomes what reads see, inodes no
 * durable name refers to are gone, and every handle and operation of the node is dead.
 *
 * Handles. A user's sim_file is a record of the executor's handle table naming an fd here
 * (disk.h): resolving one reads the record, then the fd table; closing frees the record, and
 * the record's owner ending closes the fd through this extension's hand_release. A crash
 * closes the fds of its node at once; their records are released later and find them closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "disk.h"


/* ---- state ---------------------------------------------------------------------------------- */

static void inode_release(sim_world *w, disk_inode *in)
{
    (void)w;
    SIM_ASSERT(in->id != 0);
    if (in->shared) SIM_ASSERT(in->cur == in->dur); /* one buffer, freed once */
    free(in->pend);
    free(in->plog);
    if (!in->shared) free(in->cur);
    free(in->spare);
    free(in->dur);
}

static void disk_free(sim_world *w)
{
    disk_state *d = sim__disk_peek(w);
    if (d == NULL) return;
    sim__disk_check(w, d);
    uint32_t live = 0;
    for (uint32_t i = 0; i < d->inodes_used; i++) {
        if (d->inodes[i].id == 0) continue;
        live++;
        inode_release(w, &d->inodes[i]);
    }
    SIM_ASSERT(live == d->inodes_live);
    for (uint32_t i = 0; i < d->names_used; i++) free(d->names[i].path);
    for (uint32_t i = 0; i < d->reqs_used; i++) {
        free(d->reqs[i].path);
        free(d->reqs[i].path2);
        free(d->reqs[i].data);
    }
    free(d->inodes);
    free(d->names);
    free(d->name_index);
    free(d->dirops);
    free(d->fds);
    free(d->reqs);
    free(d->used);
    free(d->rngs);
    free(d->crash_rngs);
    free(d->corrupt_rngs);
    sim__ext_detach(w, &sim__disk_ops);
    free(d);
}

/* Grows the per-node arrays to the world's node count. */
static void ensure_nodes(sim_world *w, disk_state *d)
{
    uint32_t need = sim_node_count(w) + 1;
    if (need <= d->nodes_cap) return;
    uint32_t cap = d->nodes_cap ? d->nodes_cap : 8;
    while (cap < need) cap *= 2;
    SIM_ASSERT(cap > d->nodes_cap);
    SIM_ASSERT(cap >= need);
    d->used = sim__xrealloc_array(d->used, cap, sizeof *d->used, "disk usage per node");
    d->rngs = sim__xrealloc_array(d->rngs, cap, sizeof *d->rngs, "disk streams");
    d->crash_rngs = sim__xrealloc_array(d->crash_rngs, cap, sizeof *d->crash_rngs,
                                        "disk crash streams");
    d->corrupt_rngs = sim__xrealloc_array(d->corrupt_rngs, cap, sizeof *d->corrupt_rngs,
                                          "disk corruption streams");
    for (uint32_t i = d->nodes_cap; i < cap; i++) {
        d->used[i] = 0;
        sim_rng_init(&d->rngs[i], sim_world_seed(w), "sim/disk", i);
        sim_rng_init(&d->crash_rngs[i], sim_world_seed(w), "sim/disk/crash", i);
        sim_rng_init(&d->corrupt_rngs[i], sim_world_seed(w), "sim/disk/corrupt", i);
    }
    d->nodes_cap = cap;
}

disk_state *sim__disk_of(sim_world *w)
{
    disk_state *d = sim__disk_peek(w);
    if (d == NULL) {
        sim__points_init();
        d = sim__xcalloc(1, sizeof *d, "the disks");
        d->inode_free = d->fd_free = d->req_free = SIM__NIL;
        d->read_eio = sim__point_find("disk/read/eio");
        d->write_eio = sim__point_find("disk/write/eio");
        d->fsync_eio = sim__point_find("disk/fsync/eio");
        d->enospc = sim__point_find("disk/write/enospc");
        d->corrupt = sim__point_find("disk/corrupt");
        SIM_ASSERT(d->read_eio != NULL);
        SIM_ASSERT(d->write_eio != NULL);
        SIM_ASSERT(d->fsync_eio != NULL);
        SIM_ASSERT(d->enospc != NULL);
        SIM_ASSERT(d->corrupt != NULL);
        d->ext = sim__ext_attach(w, &sim__disk_ops, d);
        sim_disk_desc none = {0};
        int rc = sim_disk_configure(w, &none);
        SIM_ASSERT(rc == SIM_OK);
        d->configured = false;
    }
    ensure_nodes(w, d);
    SIM_ASSERT(d->nodes_cap > sim_node_count(w));
    return d;
}

static sim_ratio or_default(sim_ratio r, uint32_t p, uint32_t q)
{
    return r.q == 0 ? (sim_ratio){p, q} : r;
}

static bool ratio_ok(sim_ratio r)
{
    return r.q != 0 && r.p <= r.q;
}

static sim_latency lat_default(sim_latency l, uint64_t lo, uint64_t hi)
{
    return l.min_ns == 0 && l.max_ns == 0 ? (sim_latency){lo, hi} : l;
}

int sim_disk_configure(sim_world *w, const sim_disk_desc *desc)
{
    if (sim__exec_is_host(w)) return sim__host_refuse(w, "sim_disk_configure");
    SIM_ASSERT(desc != NULL);
    disk_state *d = sim__disk_of(w);
    if (d->fds_live > 0) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "sim_disk_configure called with %u file(s) open: configure the disk "
                       "before any file is opened",
                       d->fds_live);
        return SIM_EMISUSE;
    }
    sim_disk_desc c = *desc;
    if (c.sector == 0) c.sector = 512;
    c.read_latency = lat_default(c.read_latency, 20 * SIM_US, 100 * SIM_US);
    c.write_latency = lat_default(c.write_latency, 20 * SIM_US, 100 * SIM_US);
    c.sync_latency = lat_default(c.sync_latency, SIM_MS, 5 * SIM_MS);
    c.meta_latency = lat_default(c.meta_latency, 10 * SIM_US, 50 * SIM_US);
    c.crash_keep = or_default(c.crash_keep, 1, 2);
    c.crash_torn = or_default(c.crash_torn, 1, 4);
    c.torn_garbage = or_default(c.torn_garbage, 0, 1);
    c.dir_keep = or_default(c.dir_keep, 1, 2);
    const sim_latency *lats[] = {&c.read_latency, &c.write_latency, &c.sync_latency,
                                 &c.meta_latency};
    /* keep + torn <= 1, compared as fractions */
    uint64_t keep = (uint64_t)c.crash_keep.p * c.crash_torn.q;
    uint64_t torn = (uint64_t)c.crash_torn.p * c.crash_keep.q;
    bool ok = c.sector >= 512 && c.sector <= 65536 && (c.sector & (c.sector - 1)) == 0 &&
              ratio_ok(c.crash_keep) && ratio_ok(c.crash_torn) && ratio_ok(c.torn_garbage) &&
              ratio_ok(c.dir_keep) && keep + torn <= (uint64_t)c.crash_keep.q * c.crash_torn.q;
    const uint64_t tails[] = {c.read_tail_ns, c.write_tail_ns, c.sync_tail_ns, c.meta_tail_ns};
    for (size_t i = 0; i < 4; i++) {
        ok = ok && lats[i]->min_ns <= lats[i]->max_ns && tails[i] <= SIM__DISK_TAIL_MAX;
    }
    if (!ok) return SIM_EINVAL;
    /* What the crash model relies on: sectors a power of two, and one draw deciding among
     * kept, torn and lost (keep + torn at most 1). */
    SIM_ASSERT((c.sector & (c.sector - 1)) == 0);
    SIM_ASSERT(keep + torn <= (uint64_t)c.crash_keep.q * c.crash_torn.q);
    d->desc = c;
    d->configured = true;
    return SIM_OK;
}

uint64_t sim__disk_latency(disk_state *d, uint32_t node, sim_disk_op_kind kind)
{
    SIM_ASSERT(node >= 1);
    SIM_ASSERT(node < d->nodes_cap); /* the node's own stream */
    SIM_ASSERT(kind >= SIM_DISK_OPEN);
    SIM_ASSERT(kind <= SIM_DISK_SYNC_DIR);
    const sim_disk_desc *c = &d->desc;
    const sim_latency *l = &c->meta_latency;
    uint64_t tail = c->meta_tail_ns;
    if (kind == SIM_DISK_READ) {
        l = &c->read_latency;
        tail = c->read_tail_ns;
    }
    if (kind == SIM_DISK_WRITE || kind == SIM_DISK_APPEND || kind == SIM_DISK_TRUNCATE) {
        l = &c->write_latency;
        tail = c->write_tail_ns;
    }
    if (kind == SIM_DISK_SYNC || kind == SIM_DISK_DATASYNC || kind == SIM_DISK_SYNC_DIR) {
        l = &c->sync_latency;
        tail = c->sync_tail_ns;
    }
    uint64_t ns = l->min_ns;
    if (l->min_ns != l->max_ns) ns = sim_rng_range(&d->rngs[node], l->min_ns, l->max_ns);
    if (tail != 0) {
        ns = sim__add_sat(ns, sim__rng_exponential(&d->rngs[node], tail, SIM__DISK_TAIL_CAP));
    }
    SIM_ASSERT(ns >= l->min_ns);
    if (tail == 0) SIM_ASSERT(ns <= l->max_ns);
    return ns;
}

uint32_t sim__disk_task_node(const sim_world *w)
{
    return sim__exec_node_here(w);
}

bool sim__path_ok(const char *path, bool dir)
{
    SIM_ASSERT(path != NULL);
    size_t n = strlen(path);
    if (n == 0) return dir;
    if (n > SIM_PATH_MAX || path[0] == '/' || path[n - 1] == '/') return false;
    for (const char *c = path; *c != '\0';) {
        size_t len = strcspn(c, "/");
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
            return false;
        }
        c += len;
        if (*c == '/') c++;
    }
    return true;
}

/* ---- inodes --------------------------------------------------------------------------------- */

/* A fresh inode's slot (the table may move). */
static uint32_t inode_alloc(disk_state *d, uint32_t node)
{
    SIM_ASSERT(node >= 1);
    SIM_ASSERT(node < d->nodes_cap);
    uint32_t slot = d->inode_free;
    if (slot != SIM__NIL) {
        SIM_ASSERT(slot < d->inodes_used);
        SIM_ASSERT(d->inodes[slot].id == 0); /* the free list holds free records only */
        d->inode_free = d->inodes[slot].next_free;
    } else {
        sim__grow((void **)&d->inodes, &d->inodes_cap, d->inodes_used + 1, sizeof(disk_inode));
        slot = d->inodes_used++;
        d->inodes[slot].id = 0;
    }
    sim__table_shake((void **)&d->inodes, d->inodes_cap, sizeof(disk_inode));
    disk_inode *in = &d->inodes[slot];
    uint32_t id = in->id + 1 ? in->id + 1 : 1;
    memset(in, 0, sizeof *in);
    in->id = id;
    in->serial = ++d->inode_serial;
    in->node = node;
    d->inodes_live++;
    SIM_ASSERT(d->inodes_live <= d->inodes_used);
    return slot;
}

/* Frees an inode nothing refers to any more. */
static void inode_maybe_free(sim_world *w, disk_state *d, uint32_t slot)
{
    SIM_ASSERT(slot < d->inodes_used);
    disk_inode *in = &d->inodes[slot];
    if (in->id == 0 || in->links > 0 || in->dlinks > 0 || in->fds > 0 || in->refs > 0 ||
        in->dirlinks > 0) {
        return;
    }
    SIM_ASSERT(d->used[in->node] >= in->cur_size); /* what the node's files hold, counted once */
    SIM_ASSERT(d->inodes_live > 0);
    d->used[in->node] -= in->cur_size;
    inode_release(w, in);
    memset(in, 0, sizeof *in); /* id 0: free; handles point at inodes through live fds only */
    in->next_free = d->inode_free;
    d->inode_free = slot;
    d->inodes_live--;
}

/* Grows an image's buffer to hold size bytes. The bytes past the image's size are not
 * touched here (image_resize zeroes what it exposes), so growth costs no page faults. */
static void image_reserve(uint8_t **buf, uint64_t *cap, uint64_t size)
{
    SIM_ASSERT(size <= SIM__DISK_FILE_MAX); /* refused before any image grows past it */
    if (size <= *cap) return;
    uint64_t ncap = *cap ? *cap : 4096;
    while (ncap < size) ncap *= 2;
    if (ncap > SIZE_MAX) sim__oom(SIZE_MAX, "a file's contents");
    *buf = sim__xrealloc(*buf, (size_t)ncap, "a file's contents");
    *cap = ncap;
    SIM_ASSERT(*cap >= size);
}

/* After a crash the two images are equal and share one buffer; the first change to what reads
 * see gives cur a copy of its own. */
static void unshare(disk_inode *in)
{
    if (!in->shared) {
        SIM_ASSERT(in->spare == NULL); /* a spare waits only while the images are shared */
        return;
    }
    SIM_ASSERT(in->cur == in->dur);
    SIM_ASSERT(in->cur_size == in->dur_size);
    uint64_t cap = in->cur_size > 4096 ? in->cur_size : 4096;
    uint8_t *b = in->spare;
    if (b != NULL && in->spare_cap >= cap) {
        cap = in->spare_cap;
    } else {
        free(in->spare);
        b = sim__xmalloc((size_t)cap, "a file's contents");
    }
    in->spare = NULL;
    in->spare_cap = 0;
    if (in->cur_size > 0) memcpy(b, in->cur, in->cur_size);
    in->cur = b;
    in->cur_cap = cap;
    in->shared = false;
    SIM_ASSERT(in->cur != in->dur);
    SIM_ASSERT(in->cur_cap >= in->cur_size);
}

/* Sets an image's size: bytes past the old end read as zeros. */
static void image_resize(uint8_t **buf, uint64_t *cap, uint64_t *size, uint64_t to)
{
    SIM_ASSERT(*size <= *cap);
    image_reserve(buf, cap, to);
    if (to > *size) {
        memset(*buf + *size, 0, to - *size);
    } else if (to < *size) {
        memset(*buf + to, 0, *size - to);
    }
    *size = to;
    SIM_ASSERT(*size <= *cap);
}

static void image_write(uint8_t **buf, uint64_t *cap, uint64_t *size, uint64_t off,
                        const uint8_t *data, uint64_t len)
{
    SIM_ASSERT(off <= SIM__DISK_FILE_MAX);
    SIM_ASSERT(len <= SIM__DISK_FILE_MAX - off); /* off + len cannot wrap */
    if (len > 0) SIM_ASSERT(data != NULL);
    if (off + len > *size) image_resize(buf, cap, size, off + len);
    if (len > 0) memcpy(*buf + off, data, len);
}

static void pend_push(sim_world *w, disk_inode *in, uint8_t kind, uint64_t offset,
                      const void *data, uint32_t len)
{
    SIM_ASSERT(kind == PEND_WRITE || kind == PEND_TRUNC);
    if (kind == PEND_TRUNC) SIM_ASSERT(len == 0);
    SIM_ASSERT(!in->shared); /* what reads see changed first: unshare came before */
    sim__grow((void **)&in->pend, &in->pend_cap, in->npend + 1, sizeof(disk_pending));
    sim__table_shake((void **)&in->pend, in->pend_cap, sizeof(disk_pending));
    (void)w;
    if (len > 0 && in->plog_len + len > in->plog_cap) {
        uint64_t cap = in->plog_cap ? in->plog_cap : 4096;
        while (cap < in->plog_len + len) cap *= 2;
        if (cap > SIZE_MAX) sim__oom(SIZE_MAX, "a file's pending writes");
        in->plog = sim__xrealloc(in->plog, (size_t)cap, "a file's pending writes");
        in->plog_cap = cap;
    }
    in->pend[in->npend++] = (disk_pending){.kind = kind, .offset = offset, .len = len,
                                           .at = in->plog_len};
    if (len > 0) memcpy(in->plog + in->plog_len, data, len);
    in->plog_len += len;
    SIM_ASSERT(in->plog_len <= in->plog_cap);
    SIM_ASSERT(in->npend <= in->pend_cap);
}

/* The bytes of a pending write. */
static const uint8_t *pend_data(const disk_inode *in, const disk_pending *p)
{
    SIM_ASSERT(p->kind == PEND_WRITE);
    SIM_ASSERT(p->at + p->len <= in->plog_len); /* within the log */
    return in->plog + p->at;
}

static void pend_clear(sim_world *w, disk_inode *in)
{
    (void)w;
    in->npend = 0;
    in->plog_len = 0;
}

/* ---- names ---------------------------------------------------------------------------------- */

static uint64_t name_hash(uint32_t node, const char *path)
{
    return XXH3_64bits_withSeed(path, strlen(path), node);
}

static uint32_t name_find(const disk_state *d, uint32_t node, const char *path)
{
    SIM_ASSERT(node >= 1);
    if (d->name_index == NULL) return SIM__NIL;
    SIM_ASSERT(d->names_used <= d->name_mask); /* never full: a probe meets an empty slot */
    uint64_t h = name_hash(node, path);
    for (uint32_t i = (uint32_t)h & d->name_mask;; i = (i + 1) & d->name_mask) {
        uint32_t e = d->name_index[i];
        if (e == 0) return SIM__NIL;
        const disk_name *n = &d->names[e - 1];
        if (n->hash == h && n->node == node && strcmp(n->path, path) == 0) return e - 1;
    }
}

static void index_grow(disk_state *d)
{
    uint32_t cap = d->name_index ? (d->name_mask + 1) * 2 : 64;
    SIM_ASSERT((cap & (cap - 1)) == 0);
    SIM_ASSERT((d->names_used + 1) * 4 <= cap * 3);
    uint32_t *idx = sim__xcalloc(cap, sizeof *idx, "the name index");
    for (uint32_t s = 0; s < d->names_used; s++) {
        uint32_t i = (uint32_t)d->names[s].hash & (cap - 1);
        while (idx[i] != 0) i = (i + 1) & (cap - 1);
        idx[i] = s + 1;
    }
    free(d->name_index);
    d->name_index = idx;
    d->name_mask = cap - 1;
}

/* The name's slot, made if needed (names are kept once made: a path a node used stays known,
 * with no inode, which keeps the index free of deletions). The names table may move. */
static uint32_t name_get(disk_state *d, uint32_t node, const char *path)
{
    uint32_t s = name_find(d, node, path);
    if (s != SIM__NIL) return s;
    if ((d->names_used + 1) * 4 > (d->name_index ? d->name_mask + 1 : 0) * 3) index_grow(d);
    sim__grow((void **)&d->names, &d->names_cap, d->names_used + 1, sizeof(disk_name));
    sim__table_shake((void **)&d->names, d->names_cap, sizeof(disk_name));
    char *copy = sim__xstrdup(path, "a path");
    s = d->names_used++;
    d->names[s] = (disk_name){.node = node, .path = copy, .hash = name_hash(node, path)};
    uint32_t i = (uint32_t)d->names[s].hash & d->name_mask;
    while (d->name_index[i] != 0) i = (i + 1) & d->name_mask;
    d->name_index[i] = s + 1;
    SIM_ASSERT(name_find(d, node, path) == s); /* paths are unique per node */
    return s;
}

/* The directory part of a path ("" for the root), into buf. */
static void dir_of(const char *path, char *buf, size_t size)
{
    SIM_ASSERT(size > 0);
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= size) n = size - 1;
    memcpy(buf, path, n);
    buf[n] = '\0';
}

static void dirop_push(disk_state *d, uint8_t kind, uint32_t node, uint32_t name,
                       uint32_t inode, uint32_t group, uint32_t dir_name)
{
    SIM_ASSERT(name < d->names_used);
    SIM_ASSERT(d->names[name].node == node);
    SIM_ASSERT(dir_name < d->names_used);
    /* A creation names a live file; an unlink names none. */
    if (kind == DIROP_LINK) SIM_ASSERT(inode != 0);
    if (kind == DIROP_LINK) SIM_ASSERT(d->inodes[inode - 1].id != 0);
    if (kind == DIROP_UNLINK) SIM_ASSERT(inode == 0);
    /* Groups are made in order: the list is in the order the operations were made. */
    if (d->ndirops > 0) SIM_ASSERT(d->dirops[d->ndirops - 1].group <= group);
    sim__grow((void **)&d->dirops, &d->dirops_cap, d->ndirops + 1, sizeof(disk_dirop));
    sim__table_shake((void **)&d->dirops, d->dirops_cap, sizeof(disk_dirop));
    d->dirops[d->ndirops++] = (disk_dirop){.kind = kind, .node = node, .name = name,
                                           .inode = inode, .group = group, .dir_name = dir_name};
    if (kind == DIROP_LINK) d->inodes[inode - 1].dirlinks++;
}

/* Points a name at an inode (slot + 1, or 0) as reads see it. */
static void name_set_cur(sim_world *w, disk_state *d, uint32_t name, uint32_t inode)
{
    SIM_ASSERT(name < d->names_used);
    disk_name *n = &d->names[name];
    uint32_t old = n->cur;
    n->cur = inode;
    if (inode != 0) SIM_ASSERT(d->inodes[inode - 1].id != 0); /* never a freed file */
    if (inode != 0) SIM_ASSERT(d->inodes[inode - 1].node == n->node);
    if (inode != 0) d->inodes[inode - 1].links++;
    if (old != 0) {
        SIM_ASSERT(d->inodes[old - 1].links > 0);
        d->inodes[old - 1].links--;
        inode_maybe_free(w, d, old - 1);
    }
}

/* The same for what would survive a crash. */
static void name_set_dur(sim_world *w, disk_state *d, uint32_t name, uint32_t inode)
{
    SIM_ASSERT(name < d->names_used);
    disk_name *n = &d->names[name];
    uint32_t old = n->dur;
    n->dur = inode;
    if (inode != 0) SIM_ASSERT(d->inodes[inode - 1].id != 0); /* never a freed file */
    if (inode != 0) SIM_ASSERT(d->inodes[inode - 1].node == n->node);
    if (inode != 0) d->inodes[inode - 1].dlinks++;
    if (old != 0) {
        SIM_ASSERT(d->inodes[old - 1].dlinks > 0);
        d->inodes[old - 1].dlinks--;
        inode_maybe_free(w, d, old - 1);
    }
}

static void dirop_apply(sim_world *w, disk_state *d, const disk_dirop *op)
{
    name_set_dur(w, d, op->name, op->kind == DIROP_LINK ? op->inode : 0);
}

/* A pending operation is resolved (applied or lost): a creation no longer holds its file. */
static void dirop_release(sim_world *w, disk_state *d, const disk_dirop *op)
{
    if (op->kind != DIROP_LINK) return;
    SIM_ASSERT(d->inodes[op->inode - 1].id != 0); /* held alive by this very operation */
    SIM_ASSERT(d->inodes[op->inode - 1].dirlinks > 0);
    d->inodes[op->inode - 1].dirlinks--;
    inode_maybe_free(w, d, op->inode - 1);
}

/* ---- events --------------------------------------------------------------------------------- */

static void op_event(sim_world *w, uint32_t node, sim_disk_op_kind kind, int rc, uint32_t serial,
                     uint64_t offset, uint64_t bytes, const char *detail)
{
    SIM_ASSERT(kind >= SIM_DISK_OPEN);
    SIM_ASSERT(kind <= SIM_DISK_SYNC_DIR);
    SIM_ASSERT(rc <= 0);
    sim__disk_check(w, sim__disk_peek(w)); /* every operation ends here, the disk at rest */
    uint32_t task = sim_task_current(w).v;
    uint64_t a = (uint64_t)serial << 40 | (offset & ((1ull << 40) - 1));
    uint64_t b = (uint64_t)kind << 56 | (uint64_t)(uint8_t)(-rc) << 48 |
                 (bytes & ((1ull << 48) - 1));
    sim__exec_emit(w, SIM_EV_DISK_OP, node, task, a, b, detail);
}

static void crash_event(sim_world *w, uint32_t node, uint32_t outcome, uint32_t what,
                        uint32_t serial, uint64_t offset, uint64_t bytes, const char *detail)
{
    SIM_ASSERT(outcome == SIM_DISK_KEPT || outcome == SIM_DISK_TORN || outcome == SIM_DISK_LOST);
    /* resolved while the node is down */
    SIM_ASSERT(sim__exec_node_state(w, node) == SIM_NODE_DOWN);
    uint64_t a = (uint64_t)serial << 40 | (offset & ((1ull << 40) - 1));
    uint64_t b = (uint64_t)outcome << 56 | (uint64_t)what << 48 | (bytes & ((1ull << 48) - 1));
    sim__exec_emit(w, SIM_EV_DISK_CRASH, node, 0, a, b, detail);
}

/* ---- file handles --------------------------------------------------------------------------- */

/* The record of f if it is a live disk record of this world: SIM__EXT_HAND_CLOSED when the
 * record is gone (the file was closed); a violation (when what is not NULL) when f is foreign
 * or names something else. f must not be zeroed. */
static sim__ext_hand_rc disk_record(sim_world *w, const sim_file *f, const char *what,
                                    sim__ext_hand *rec)
{
    SIM_ASSERT(f != NULL && f->h.id_ != 0);
    sim__ext_hand_rc rc = sim__ext_hand_find(w, &f->h, &sim__disk_ops, rec);
    if (what == NULL) return rc;
    if (rc == SIM__EXT_HAND_FOREIGN) {
        sim__ext_hand_foreign(w, &f->h, what);
    } else if (rc == SIM__EXT_HAND_OTHER) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "%s on a handle that is not a file", what);
    }
    return rc;
}

/* The open fd (slot, id), or SIM__NIL. */
static uint32_t fd_live(const disk_state *d, uint32_t fd, uint32_t id)
{
    if (d == NULL || fd >= d->fds_used || !d->fds[fd].live || d->fds[fd].id != id) {
        return SIM__NIL;
    }
    return fd;
}

uint32_t sim__disk_fd_of(sim_world *w, const disk_state *d, const sim_file *f, const char *what,
                         int *rc)
{
    SIM_ASSERT(rc != NULL);
    *rc = SIM_EBADF;
    if (f == NULL || f->h.id_ == 0) return SIM__NIL;
    sim__ext_hand rec;
    sim__ext_hand_rc hrc = disk_record(w, f, what, &rec);
    if (hrc != SIM__EXT_HAND_OK) {
        if (hrc != SIM__EXT_HAND_CLOSED) *rc = SIM_EMISUSE;
        return SIM__NIL;
    }
    uint32_t fd = fd_live(d, rec.target, rec.target_id);
    if (fd != SIM__NIL) *rc = SIM_OK;
    return fd;
}

uint32_t sim__disk_fd_peek(const sim_world *w, const disk_state *d, const sim_file *f)
{
    sim__ext_hand rec;
    if (f == NULL || sim__ext_hand_find(w, &f->h, &sim__disk_ops, &rec) != SIM__EXT_HAND_OK) {
        return SIM__NIL;
    }
    return fd_live(d, rec.target, rec.target_id);
}

int sim__disk_fd_hand_new(sim_world *w, disk_state *d, uint32_t fd, sim_file *out)
{
    SIM_ASSERT(out != NULL);
    SIM_ASSERT(fd < d->fds_used && d->fds[fd].live);
    SIM_ASSERT(sim__ext_find(w, &sim__disk_ops) == d->ext);
    int rc = sim__ext_hand_new(w, d->ext, fd, d->fds[fd].id, &out->h);
    if (rc != SIM_OK) *out = (sim_file){0};
    return rc;
}

static void fd_alloc(disk_state *d, uint32_t node, uint32_t inode, uint32_t name, uint32_t *out)
{
    SIM_ASSERT(inode < d->inodes_used && d->inodes[inode].id != 0);
    SIM_ASSERT(name < d->names_used);
    SIM_ASSERT(d->inodes[inode].node == node); /* a node opens its own files only */
    uint32_t slot = d->fd_free;
    if (slot != SIM__NIL) {
        SIM_ASSERT(!d->fds[slot].live); /* the free list holds closed handles only */
        d->fd_free = d->fds[slot].next_free;
    } else {
        sim__grow((void **)&d->fds, &d->fds_cap, d->fds_used + 1, sizeof(disk_fd));
        slot = d->fds_used++;
        d->fds[slot].id = 0;
    }
    sim__table_shake((void **)&d->fds, d->fds_cap, sizeof(disk_fd));
    disk_fd *fd = &d->fds[slot];
    fd->id = fd->id + 1 ? fd->id + 1 : 1;
    fd->live = true;
    fd->node = node;
    fd->inode = inode;
    fd->name = name;
    d->inodes[inode].fds++;
    d->fds_live++;
    *out = slot;
}

static void fd_close(sim_world *w, disk_state *d, uint32_t slot)
{
    SIM_ASSERT(slot < d->fds_used);
    disk_fd *fd = &d->fds[slot];
    SIM_ASSERT(fd->live); /* closed once */
    SIM_ASSERT(d->fds_live > 0);
    uint32_t inode = fd->inode;
    SIM_ASSERT(d->inodes[inode].fds > 0);
    fd->live = false;
    fd->id = fd->id + 1 ? fd->id + 1 : 1; /* stale from now on */
    fd->next_free = d->fd_free;
    d->fd_free = slot;
    SIM_ASSERT(d->fds_live > 0 && d->inodes[inode].fds > 0);
    d->fds_live--;
    d->inodes[inode].fds--;
    inode_maybe_free(w, d, inode);
}

void sim__disk_fd_close(sim_world *w, disk_state *d, uint32_t fd, uint32_t id)
{
    if (fd_live(d, fd, id) != SIM__NIL) fd_close(w, d, fd);
}

/* A record's owner ended (hand.c): the fd closes, unless a close or a crash already did. Pending
 * writes stay pending, as after sim_file_close; the same in every drop mode. */
static void disk_hand_release(sim_world *w, uint32_t fd, uint32_t id)
{
    disk_state *d = sim__disk_peek(w);
    SIM_ASSERT(d != NULL); /* records are made only once the disks exist */
    sim__disk_fd_close(w, d, fd, id);
}

void sim_file_close(sim_world *w, sim_file *f)
{
    if (f != NULL && sim__exec_is_host(w)) {
        sim__hdisk_close(w, f);
        return;
    }
    if (f == NULL || f->h.id_ == 0) return; /* closing is idempotent */
    sim__ext_hand rec;
    sim__ext_hand_rc hrc = disk_record(w, f, "sim_file_close", &rec);
    *f = (sim_file){0};
    if (hrc != SIM__EXT_HAND_OK) return;
    uint32_t fd = rec.target, id = rec.target_id;
    sim__hand_free(w, rec.slot);
    sim__disk_fd_close(w, sim__disk_peek(w), fd, id);
}

int sim_file_size(const sim_world *w, const sim_file *f, uint64_t *size)
{
    if (sim__exec_is_host(w)) return sim__hdisk_size(w, f, size);
    SIM_ASSERT(size != NULL);
    const disk_state *d = sim__disk_peek(w);
    uint32_t fd = sim__disk_fd_peek(w, d, f);
    if (fd == SIM__NIL) return SIM_EBADF;
    *size = sim__disk_fd_inode(d, fd)->cur_size;
    return SIM_OK;
}

void sim__disk_inode_words(const disk_state *d, uint32_t inode, uint32_t name, char *buf,
                           size_t size)
{
    SIM_ASSERT(buf != NULL && size > 0);
    SIM_ASSERT(inode < d->inodes_used);
    /* The rare path (reports): the name it was opened by if it still names it, else a scan. */
    if (name != SIM__NIL && name < d->names_used && d->names[name].cur == inode + 1) {
        snprintf(buf, size, "%s", d->names[name].path);
        return;
    }
    for (uint32_t s = 0; s < d->names_used; s++) {
        if (d->names[s].cur == inode + 1) {
            snprintf(buf, size, "%s", d->names[s].path);
            return;
        }
    }
    if (name != SIM__NIL && name < d->names_used) {
        snprintf(buf, size, "%s (unlinked)", d->names[name].path);
    } else {
        snprintf(buf, size, "file %u", d->inodes[inode].serial);
    }
}

/* ---- the operations ------------------------------------------------------------------------- */

int sim__disk_open(sim_world *w, disk_state *d, uint32_t node, const char *path, uint32_t flags,
                   uint32_t *fd)
{
    SIM_ASSERT(path != NULL && fd != NULL);
    SIM_ASSERT(node != 0 && node < d->nodes_cap);
    *fd = SIM__NIL;
    if (!sim__path_ok(path, false) || (flags & ~7u) != 0 ||
        ((flags & SIM_O_EXCL) && !(flags & SIM_O_CREATE))) {
        return SIM_EINVAL;
    }
    uint32_t name = name_find(d, node, path);
    uint32_t inode = name != SIM__NIL ? d->names[name].cur : 0;
    int rc = SIM_OK;
    if (inode != 0 && (flags & SIM_O_EXCL)) rc = SIM_EEXIST;
    if (inode == 0 && !(flags & SIM_O_CREATE)) rc = SIM_ENOENT;
    if (rc == SIM_OK && inode == 0) {
        name = name_get(d, node, path);
        inode = inode_alloc(d, node) + 1;
        name_set_cur(w, d, name, inode);
        dirop_push(d, DIROP_LINK, node, name, inode, ++d->dirop_group, name);
    }
    if (rc == SIM_OK) fd_alloc(d, node, inode - 1, name, fd);
    disk_inode *in = rc == SIM_OK ? &d->inodes[inode - 1] : NULL;
    if (in != NULL && (flags & SIM_O_TRUNC) && in->cur_size > 0) {
        d->used[node] -= in->cur_size;
        unshare(in);
        image_resize(&in->cur, &in->cur_cap, &in->cur_size, 0);
        pend_push(w, in, PEND_TRUNC, 0, NULL, 0);
    }
    if (rc == SIM_OK) SIM_ASSERT(d->fds[*fd].live); /* an open fd of it */
    if (rc == SIM_OK) SIM_ASSERT(d->fds[*fd].inode == inode - 1);
    if (rc == SIM_OK) SIM_ASSERT(d->names[name].cur == inode);  /* reads see it by its path */
    op_event(w, node, SIM_DISK_OPEN, rc, in ? in->serial : 0, flags, 0, path);
    return rc;
}

void sim__disk_inode_hold(disk_state *d, uint32_t inode)
{
    SIM_ASSERT(inode < d->inodes_used);
    SIM_ASSERT(d->inodes[inode].id != 0); /* held through a live handle */
    d->inodes[inode].refs++;
}

void sim__disk_inode_release(sim_world *w, disk_state *d, uint32_t inode)
{
    SIM_ASSERT(inode < d->inodes_used);
    SIM_ASSERT(d->inodes[inode].id != 0);
    SIM_ASSERT(d->inodes[inode].refs > 0);
    d->inodes[inode].refs--;
    inode_maybe_free(w, d, inode);
}

int sim__disk_read(sim_world *w, disk_state *d, uint32_t inode, void *buf, size_t len,
                   uint64_t offset, size_t *got)
{
    *got = 0;
    disk_inode *in = &d->inodes[inode];
    SIM_ASSERT(in->id != 0);
    if (len > 0) SIM_ASSERT(buf != NULL);
    int rc = SIM_OK;
    if (sim__point_hit_ppt(w, d->read_eio, in->node, UINT64_MAX)) {
        rc = SIM_EIO;
    } else if (offset < in->cur_size) {
        uint64_t left = in->cur_size - offset;
        *got = len < left ? len : (size_t)left;
        memcpy(buf, in->cur + offset, *got);
        SIM_ASSERT(offset + *got <= in->cur_size);
    }
    op_event(w, in->node, SIM_DISK_READ, rc, in->serial, offset, *got, NULL);
    return rc;
}

int sim__disk_write(sim_world *w, disk_state *d, uint32_t inode, const void *data, size_t len,
                    uint64_t offset, bool append, uint64_t *at)
{
    disk_inode *in = &d->inodes[inode];
    SIM_ASSERT(in->id != 0);
    if (len > 0) SIM_ASSERT(data != NULL);
    if (len > UINT32_MAX) return SIM_EINVAL;
    if (append) offset = in->cur_size;
    if (at != NULL) *at = offset;
    int rc = SIM_OK;
    uint32_t node = in->node;
    /* Past the largest file (checked so that offset + len cannot wrap either). */
    bool too_far = offset > SIM__DISK_FILE_MAX || len > SIM__DISK_FILE_MAX - offset;
    uint64_t grow = !too_far && offset + len > in->cur_size ? offset + len - in->cur_size : 0;
    if (too_far) {
        rc = SIM_EINVAL;
    } else if (sim__point_hit_ppt(w, d->write_eio, node, UINT64_MAX)) {
        rc = SIM_EIO;
    } else if (sim__point_hit_ppt(w, d->enospc, node, UINT64_MAX) ||
               (d->desc.capacity != 0 && grow > 0 && d->used[node] + grow > d->desc.capacity)) {
        rc = SIM_ENOSPC;
    } else {
        unshare(in);
        image_write(&in->cur, &in->cur_cap, &in->cur_size, offset, data, len);
        pend_push(w, in, PEND_WRITE, offset, data, (uint32_t)len);
        d->used[node] += grow;
        SIM_ASSERT(in->cur_size >= offset + len); /* reads see it at once */
        if (d->desc.capacity != 0) SIM_ASSERT(d->used[node] <= d->desc.capacity);
    }
    op_event(w, node, append ? SIM_DISK_APPEND : SIM_DISK_WRITE, rc, in->serial, offset, len,
             NULL);
    return rc;
}

/* Applies a write to the durable image; each sector it reaches may be damaged (disk/corrupt). */
static void durable_write(sim_world *w, disk_state *d, disk_inode *in, const disk_pending *p)
{
    SIM_ASSERT(p->kind == PEND_WRITE);
    SIM_ASSERT(!in->shared); /* a pending write unshared the images */
    image_write(&in->dur, &in->dur_cap, &in->dur_size, p->offset, pend_data(in, p), p->len);
    uint64_t sector = d->desc.sector;
    for (uint64_t s = p->offset / sector; p->len > 0 && s * sector < p->offset + p->len; s++) {
        if (!sim__point_hit_ppt(w, d->corrupt, in->node, UINT64_MAX)) continue;
        uint64_t lo = s * sector > p->offset ? s * sector : p->offset;
        uint64_t hi = (s + 1) * sector < p->offset + p->len ? (s + 1) * sector : p->offset + p->len;
        uint64_t at = lo + sim_rng_below(&d->corrupt_rngs[in->node], hi - lo);
        in->dur[at] ^= (uint8_t)(1 + sim_rng_below(&d->corrupt_rngs[in->node], 255));
    }
}

int sim__disk_sync(sim_world *w, disk_state *d, uint32_t inode, sim_disk_op_kind kind)
{
    disk_inode *in = &d->inodes[inode];
    SIM_ASSERT(in->id != 0);
    SIM_ASSERT(kind == SIM_DISK_SYNC || kind == SIM_DISK_DATASYNC);
    int rc = SIM_OK;
    uint32_t n = in->npend;
    if (sim__point_hit_ppt(w, d->fsync_eio, in->node, UINT64_MAX)) {
        /* As Linux does: the dirty data is marked clean without being written. Reads still see
         * it; a crash loses it; the next fsync has nothing to write. */
        rc = SIM_EIO;
    } else {
        for (uint32_t i = 0; i < in->npend; i++) {
            const disk_pending *p = &in->pend[i];
            if (p->kind == PEND_WRITE) {
                durable_write(w, d, in, p);
            } else {
                image_resize(&in->dur, &in->dur_cap, &in->dur_size, p->offset);
            }
        }
    }
    pend_clear(w, in);
    /* Synced or dropped, nothing of the file is pending any more. */
    SIM_ASSERT(in->npend == 0);
    SIM_ASSERT(in->plog_len == 0);
    op_event(w, in->node, kind, rc, in->serial, 0, n, NULL);
    return rc;
}

int sim__disk_truncate(sim_world *w, disk_state *d, uint32_t inode, uint64_t size)
{
    disk_inode *in = &d->inodes[inode];
    SIM_ASSERT(in->id != 0);
    uint64_t old = in->cur_size;
    int rc = SIM_OK;
    uint64_t cap = d->desc.capacity;
    if (size > SIM__DISK_FILE_MAX) {
        rc = SIM_EINVAL;
    } else if (size > old && cap != 0 && d->used[in->node] + (size - old) > cap) {
        rc = SIM_ENOSPC;
    } else {
        unshare(in);
        image_resize(&in->cur, &in->cur_cap, &in->cur_size, size);
        pend_push(w, in, PEND_TRUNC, size, NULL, 0);
        d->used[in->node] = d->used[in->node] - old + size;
        SIM_ASSERT(in->cur_size == size);
    }
    op_event(w, in->node, SIM_DISK_TRUNCATE, rc, in->serial, size, 0, NULL);
    return rc;
}

int sim__disk_rename(sim_world *w, disk_state *d, uint32_t node, const char *from,
                     const char *to)
{
    SIM_ASSERT(node >= 1);
    if (!sim__path_ok(from, false) || !sim__path_ok(to, false)) return SIM_EINVAL;
    uint32_t src = name_find(d, node, from);
    int rc = src == SIM__NIL || d->names[src].cur == 0 ? SIM_ENOENT : SIM_OK;
    uint32_t dst = SIM__NIL;
    if (rc == SIM_OK && strcmp(from, to) != 0) {
        dst = name_get(d, node, to);
        uint32_t inode = d->names[src].cur;
        uint32_t group = ++d->dirop_group;
        name_set_cur(w, d, dst, inode);
        name_set_cur(w, d, src, 0);
        dirop_push(d, DIROP_LINK, node, dst, inode, group, dst);
        dirop_push(d, DIROP_UNLINK, node, src, 0, group, dst);
        /* Reads see the file under its new name only. */
        SIM_ASSERT(d->names[dst].cur == inode);
        SIM_ASSERT(d->names[src].cur == 0);
    }
    op_event(w, node, SIM_DISK_RENAME, rc, 0, 0, 0, from);
    return rc;
}

int sim__disk_unlink(sim_world *w, disk_state *d, uint32_t node, const char *path)
{
    SIM_ASSERT(node >= 1);
    if (!sim__path_ok(path, false)) return SIM_EINVAL;
    uint32_t name = name_find(d, node, path);
    int rc = name == SIM__NIL || d->names[name].cur == 0 ? SIM_ENOENT : SIM_OK;
    if (rc == SIM_OK) {
        name_set_cur(w, d, name, 0);
        dirop_push(d, DIROP_UNLINK, node, name, 0, ++d->dirop_group, name);
        SIM_ASSERT(name_find(d, node, path) == name); /* the name stays known, with no file */
    }
    op_event(w, node, SIM_DISK_UNLINK, rc, 0, 0, 0, path);
    return rc;
}

static bool group_in_dir(const disk_state *d, uint32_t i, uint32_t node, const char *dir)
{
    SIM_ASSERT(i < d->ndirops);
    char in_dir[SIM_PATH_MAX + 1];
    dir_of(d->names[d->dirops[i].dir_name].path, in_dir, sizeof in_dir);
    return d->dirops[i].node == node && strcmp(in_dir, dir) == 0;
}

/*
 * The groups whose directory is dir become durable, in order, and with them every earlier
 * group of the node that touches a name they touch (as a journal commits what came before):
 * otherwise a file created in an unsynced directory and then renamed into dir could come back
 * under its old name after a crash. The rest wait. One pass from the end marks the names.
 */
int sim__disk_sync_dir(sim_world *w, disk_state *d, uint32_t node, const char *dir)
{
    if (!sim__path_ok(dir, true)) return SIM_EINVAL;
    uint32_t mark = ++d->sync_mark;
    for (uint32_t end = d->ndirops; end > 0;) {
        uint32_t start = end - 1;
        while (start > 0 && d->dirops[start - 1].group == d->dirops[end - 1].group) start--;
        bool in = group_in_dir(d, start, node, dir);
        for (uint32_t i = start; i < end && !in; i++) {
            in = d->dirops[i].node == node && d->names[d->dirops[i].name].mark == mark;
        }
        for (uint32_t i = start; i < end; i++) {
            d->dirops[i].take = in;
            if (in) d->names[d->dirops[i].name].mark = mark;
        }
        end = start;
    }
    uint32_t kept = 0, applied = 0, before = d->ndirops;
    for (uint32_t i = 0; i < d->ndirops; i++) {
        disk_dirop op = d->dirops[i];
        if (op.take) {
            dirop_apply(w, d, &op);
            dirop_release(w, d, &op);
            applied++;
        } else {
            d->dirops[kept++] = op;
        }
    }
    d->ndirops = kept;
    SIM_ASSERT(kept + applied == before);
    /* Nothing this directory's sync covers is left pending. */
    for (uint32_t i = 0; i < d->ndirops; i++) SIM_ASSERT_SLOW(!group_in_dir(d, i, node, dir));
    op_event(w, node, SIM_DISK_SYNC_DIR, SIM_OK, 0, 0, applied, dir);
    return SIM_OK;
}

/* ---- listing -------------------------------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const sim_dir_entry *)a)->name, ((const sim_dir_entry *)b)->name);
}

int sim_disk_list(sim_world *w, const char *dir, sim_dir_entry *out, uint32_t max,
                  uint32_t *count)
{
    if (sim__exec_is_host(w)) return sim__hdisk_list(w, dir, out, max, count);
    *count = 0;
    if (!sim__path_ok(dir, true)) return SIM_EINVAL;
    uint32_t node = sim__disk_task_node(w);
    const disk_state *d = sim__disk_peek(w);
    if (node == 0) return SIM_ENODE;
    if (d == NULL) return SIM_OK;
    size_t dl = strlen(dir);
    sim_dir_entry *all = NULL;
    uint32_t n = 0, cap = 0;
    for (uint32_t s = 0; s < d->names_used; s++) {
        const disk_name *nm = &d->names[s];
        if (nm->node != node || nm->cur == 0) continue;
        const char *p = nm->path;
        if (dl > 0 && (strncmp(p, dir, dl) != 0 || p[dl] != '/')) continue;
        const char *rest = dl > 0 ? p + dl + 1 : p;
        size_t len = strcspn(rest, "/");
        bool is_dir = rest[len] == '/';
        bool seen = false;
        for (uint32_t i = 0; i < n && !seen; i++) {
            seen = is_dir && all[i].is_dir && strncmp(all[i].name, rest, len) == 0 &&
                   all[i].name[len] == '\0';
        }
        if (seen) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            all = sim__xrealloc_array(all, cap, sizeof *all, "a directory listing");
        }
        sim_dir_entry *e = &all[n++];
        memcpy(e->name, rest, len);
        e->name[len] = '\0';
        e->is_dir = is_dir;
        e->size = is_dir ? 0 : d->inodes[nm->cur - 1].cur_size;
    }
    if (n > 0) qsort(all, n, sizeof *all, entry_cmp);
    /* Sorted and without repeats: an entry per name in the directory. */
    for (uint32_t i = 1; i < n; i++) SIM_ASSERT(strcmp(all[i - 1].name, all[i].name) < 0);
    if (max > 0) SIM_ASSERT(out != NULL);
    for (uint32_t i = 0; i < n && i < max; i++) out[i] = all[i];
    *count = n;
    free(all);
    return SIM_OK;
}

/* ---- the crash ------------------------------------------------------------------------------ */

static bool roll(sim_rng *rng, sim_ratio r)
{
    return sim_rng_ratio(rng, r);
}

/* A pending write, on a crash: kept, torn or lost. */
static void crash_write(sim_world *w, disk_state *d, disk_inode *in, const disk_pending *p)
{
    SIM_ASSERT(p->kind == PEND_WRITE);
    SIM_ASSERT(!in->shared); /* pending writes unshared the images */
    sim_rng *rng = &d->crash_rngs[in->node];
    const sim_disk_desc *c = &d->desc;
    /* One draw decides among three outcomes: keep with crash_keep, else torn with crash_torn
     * (of the whole), else lost. */
    uint64_t q = (uint64_t)c->crash_keep.q * c->crash_torn.q;
    uint64_t x = sim_rng_below(rng, q);
    uint64_t keep = (uint64_t)c->crash_keep.p * c->crash_torn.q;
    uint64_t torn = keep + (uint64_t)c->crash_torn.p * c->crash_keep.q;
    uint32_t outcome = x < keep ? SIM_DISK_KEPT : x < torn ? SIM_DISK_TORN : SIM_DISK_LOST;
    SIM_ASSERT(torn <= q); /* the three outcomes partition the draw */
    if (outcome == SIM_DISK_KEPT) {
        image_write(&in->dur, &in->dur_cap, &in->dur_size, p->offset, pend_data(in, p), p->len);
    } else if (outcome == SIM_DISK_TORN && p->len > 0) {
        /* The file's size was updated; each sector's bytes are written or not. */
        uint64_t end = p->offset + p->len;
        if (end > in->dur_size) image_resize(&in->dur, &in->dur_cap, &in->dur_size, end);
        uint64_t sector = c->sector;
        for (uint64_t s = p->offset / sector; s * sector < end; s++) {
            uint64_t lo = s * sector > p->offset ? s * sector : p->offset;
            uint64_t hi = (s + 1) * sector < end ? (s + 1) * sector : end;
            /* A torn piece stays within its sector and within the write. */
            SIM_ASSERT(lo < hi);
            SIM_ASSERT(hi - lo <= sector);
            SIM_ASSERT(hi <= in->dur_size);
            if (sim_rng_below(rng, 2) == 0) {
                memcpy(in->dur + lo, pend_data(in, p) + (lo - p->offset), hi - lo);
            } else if (roll(rng, c->torn_garbage)) {
                for (uint64_t i = lo; i < hi; i++) in->dur[i] = (uint8_t)sim_rng_next(rng);
            }
        }
    }
    crash_event(w, in->node, outcome, PEND_WRITE, in->serial, p->offset, p->len, NULL);
}

static void crash_inode(sim_world *w, disk_state *d, disk_inode *in)
{
    SIM_ASSERT(in->id != 0);
    SIM_ASSERT(in->fds == 0); /* its node's handles died first */
    if (in->npend == 0) SIM_ASSERT(in->plog_len == 0);
    for (uint32_t i = 0; i < in->npend; i++) {
        const disk_pending *p = &in->pend[i];
        if (p->kind == PEND_WRITE) {
            crash_write(w, d, in, p);
            continue;
        }
        bool kept = roll(&d->crash_rngs[in->node], d->desc.crash_keep);
        if (kept) image_resize(&in->dur, &in->dur_cap, &in->dur_size, p->offset);
        crash_event(w, in->node, kept ? SIM_DISK_KEPT : SIM_DISK_LOST, PEND_TRUNC, in->serial,
                    p->offset, 0, NULL);
    }
    pend_clear(w, in);
    /* Reads now see what survived: the durable image, shared until the next change. */
    d->used[in->node] -= in->cur_size;
    if (!in->shared) {
        /* Kept for the first write after the restart, which needs a buffer of this size:
         * freeing a large one here would cost more than the crash itself. */
        free(in->spare);
        in->spare = in->cur;
        in->spare_cap = in->cur_cap;
    }
    in->cur = in->dur;
    in->cur_size = in->dur_size;
    in->cur_cap = in->dur_cap;
    in->shared = true;
    d->used[in->node] += in->cur_size;
    /* Resolved: nothing pending, and reads see exactly what survived. */
    SIM_ASSERT(in->npend == 0);
    SIM_ASSERT(in->plog_len == 0);
    SIM_ASSERT(in->cur == in->dur);
}

static void crash_dirops(sim_world *w, disk_state *d, uint32_t node)
{
    SIM_ASSERT(sim__exec_node_state(w, node) == SIM_NODE_DOWN);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < d->ndirops;) {
        if (d->dirops[i].node != node) {
            d->dirops[kept++] = d->dirops[i++];
            continue;
        }
        uint32_t group = d->dirops[i].group;
        bool keep = roll(&d->crash_rngs[node], d->desc.dir_keep);
        for (; i < d->ndirops && d->dirops[i].group == group; i++) {
            const disk_dirop *op = &d->dirops[i];
            if (keep) dirop_apply(w, d, op);
            dirop_release(w, d, op);
            crash_event(w, node, keep ? SIM_DISK_KEPT : SIM_DISK_LOST,
                        op->kind == DIROP_LINK ? 3 : 4, 0, 0, 0, d->names[op->name].path);
        }
    }
    d->ndirops = kept;
    for (uint32_t i = 0; i < d->ndirops; i++) SIM_ASSERT(d->dirops[i].node != node);
}

static void disk_crash(sim_world *w, uint32_t node)
{
    disk_state *d = sim__disk_peek(w);
    if (d == NULL) return;
    SIM_ASSERT(node >= 1);
    SIM_ASSERT(sim__exec_node_state(w, node) == SIM_NODE_DOWN);
    sim__disk_reqs_crash(w, d, node);
    /* This crash's own stream: (node, virtual time) name it, and no earlier draw moves it. */
    uint64_t now = sim__exec_now(w);
    SIM_ASSERT(node < d->nodes_cap);
    sim_rng_init(&d->crash_rngs[node], sim_world_seed(w), "sim/disk/crash",
                 XXH3_64bits_withSeed(&now, sizeof now, node));
    for (uint32_t i = 0; i < d->fds_used; i++) { /* every handle of the node dies */
        if (d->fds[i].live && d->fds[i].node == node) fd_close(w, d, i);
    }
    for (uint32_t i = 0; i < d->inodes_used; i++) {
        if (d->inodes[i].id != 0 && d->inodes[i].node == node) crash_inode(w, d, &d->inodes[i]);
    }
    crash_dirops(w, d, node);
    /* Names read as they would after a restart; inodes no name holds are gone. */
    for (uint32_t s = 0; s < d->names_used; s++) {
        disk_name *n = &d->names[s];
        if (n->node == node && n->cur != n->dur) name_set_cur(w, d, s, n->dur);
    }
    for (uint32_t i = 0; i < d->inodes_used; i++) {
        if (d->inodes[i].id != 0 && d->inodes[i].node == node) inode_maybe_free(w, d, i);
    }
    /* What a restart finds: no handle, no pending write or truncation, no pending directory
     * operation; names read as they would survive; a file only where a durable name or an
     * operation of another node keeps it. */
    for (uint32_t i = 0; i < d->fds_used; i++) {
        if (d->fds[i].live) SIM_ASSERT(d->fds[i].node != node);
    }
    for (uint32_t i = 0; i < d->inodes_used; i++) {
        const disk_inode *in = &d->inodes[i];
        if (in->id == 0 || in->node != node) continue;
        SIM_ASSERT(in->npend == 0);
        SIM_ASSERT(in->dirlinks == 0);
        if (in->refs == 0) SIM_ASSERT(in->dlinks > 0);
    }
    for (uint32_t s = 0; s < d->names_used; s++) {
        if (d->names[s].node == node) SIM_ASSERT(d->names[s].cur == d->names[s].dur);
    }
    sim__disk_check(w, d);
}

/* ---- invariants ------------------------------------------------------------------------------ */

#ifdef SIM_SLOW_CHECKS
/* One live inode's own invariants: its images, its pending log. */
static void check_inode(const disk_state *d, const disk_inode *in)
{
    SIM_ASSERT_SLOW(in->node >= 1);
    SIM_ASSERT_SLOW(in->node < d->nodes_cap);
    SIM_ASSERT_SLOW(in->cur_size <= in->cur_cap);
    SIM_ASSERT_SLOW(in->dur_size <= in->dur_cap);
    SIM_ASSERT_SLOW(in->cur_size <= SIM__DISK_FILE_MAX);
    SIM_ASSERT_SLOW(in->dur_size <= SIM__DISK_FILE_MAX);
    /* Shared images are one buffer with nothing pending between them. */
    if (in->shared) SIM_ASSERT_SLOW(in->cur == in->dur);
    if (in->shared) SIM_ASSERT_SLOW(in->cur_size == in->dur_size);
    if (in->shared) SIM_ASSERT_SLOW(in->npend == 0);
    if (in->spare != NULL) SIM_ASSERT_SLOW(in->shared);
    /* The pending log: writes' bytes back to back in order, truncations without bytes. */
    SIM_ASSERT_SLOW(in->npend <= in->pend_cap);
    SIM_ASSERT_SLOW(in->plog_len <= in->plog_cap);
    uint64_t at = 0;
    for (uint32_t i = 0; i < in->npend; i++) {
        const disk_pending *p = &in->pend[i];
        SIM_ASSERT_SLOW(p->kind == PEND_WRITE || p->kind == PEND_TRUNC);
        if (p->kind == PEND_TRUNC) SIM_ASSERT_SLOW(p->len == 0);
        SIM_ASSERT_SLOW(p->at == at);
        SIM_ASSERT_SLOW(p->offset + p->len <= SIM__DISK_FILE_MAX);
        at += p->len;
    }
    SIM_ASSERT_SLOW(at == in->plog_len);
    /* No orphan: something a read, a crash or an operation could reach keeps it. */
    SIM_ASSERT_SLOW(in->links + in->dlinks + in->fds + in->refs + in->dirlinks > 0);
}

/* Every count an inode keeps is what the tables say: names that read it (links) and would
 * survive with it (dlinks), live handles (fds), operations in flight (refs), pending
 * creations (dirlinks). */
static void check_refs(const disk_state *d)
{
    uint32_t *c = sim__xcalloc((size_t)d->inodes_used * 5 + 1, sizeof *c,
                               "the disks' invariant check");
    for (uint32_t s = 0; s < d->names_used; s++) {
        const disk_name *n = &d->names[s];
        SIM_ASSERT_SLOW(n->node >= 1);
        SIM_ASSERT_SLOW(n->cur <= d->inodes_used);
        SIM_ASSERT_SLOW(n->dur <= d->inodes_used);
        if (n->cur != 0) c[(n->cur - 1) * 5]++;
        if (n->dur != 0) c[(n->dur - 1) * 5 + 1]++;
    }
    for (uint32_t i = 0; i < d->fds_used; i++) {
        if (d->fds[i].live) c[d->fds[i].inode * 5 + 2]++;
    }
    for (uint32_t i = 0; i < d->reqs_used; i++) {
        if (d->reqs[i].kind != 0 && d->reqs[i].inode != SIM__NIL) c[d->reqs[i].inode * 5 + 3]++;
    }
    for (uint32_t i = 0; i < d->ndirops; i++) {
        const disk_dirop *op = &d->dirops[i];
        SIM_ASSERT_SLOW(op->name < d->names_used);
        if (op->kind == DIROP_LINK) c[(op->inode - 1) * 5 + 4]++;
        if (i > 0) SIM_ASSERT_SLOW(d->dirops[i - 1].group <= op->group);
    }
    for (uint32_t i = 0; i < d->inodes_used; i++) {
        const disk_inode *in = &d->inodes[i];
        if (in->id == 0) {
            /* A freed file is named by nothing: no name, handle, operation or creation. */
            for (uint32_t k = 0; k < 5; k++) SIM_ASSERT_SLOW(c[i * 5 + k] == 0);
            continue;
        }
        SIM_ASSERT_SLOW(c[i * 5] == in->links);
        SIM_ASSERT_SLOW(c[i * 5 + 1] == in->dlinks);
        SIM_ASSERT_SLOW(c[i * 5 + 2] == in->fds);
        SIM_ASSERT_SLOW(c[i * 5 + 3] == in->refs);
        SIM_ASSERT_SLOW(c[i * 5 + 4] == in->dirlinks);
    }
    free(c);
}

/* The disks' invariants, walked in full (make check only), wherever the disks are at rest:
 * after every operation, a crash, and before they are freed. Counts match the tables, free
 * lists hold free records, every inode is consistent (check_inode) and counted right
 * (check_refs), each node's usage is the sum of its files' sizes, and the name index finds
 * every name. Only while the tables are small: large tests are checked by their results. */
void sim__disk_check(const sim_world *w, const disk_state *d)
{
    if (d == NULL) return;
    if ((uint64_t)d->inodes_used + d->names_used + d->fds_used + d->reqs_used > 4096) return;
    (void)w;
    uint32_t live = 0;
    for (uint32_t i = 0; i < d->inodes_used; i++) {
        if (d->inodes[i].id == 0) continue;
        live++;
        check_inode(d, &d->inodes[i]);
    }
    SIM_ASSERT_SLOW(live == d->inodes_live);
    uint32_t free_inodes = 0;
    for (uint32_t i = d->inode_free; i != SIM__NIL; i = d->inodes[i].next_free, free_inodes++) {
        SIM_ASSERT_SLOW(d->inodes[i].id == 0);
    }
    SIM_ASSERT_SLOW(live + free_inodes == d->inodes_used);
    uint32_t fds = 0;
    for (uint32_t i = 0; i < d->fds_used; i++) fds += d->fds[i].live;
    SIM_ASSERT_SLOW(fds == d->fds_live);
    for (uint32_t node = 0; node < d->nodes_cap; node++) {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < d->inodes_used; i++) {
            if (d->inodes[i].id != 0 && d->inodes[i].node == node) sum += d->inodes[i].cur_size;
        }
        SIM_ASSERT_SLOW(sum == d->used[node]);
    }
    for (uint32_t s = 0; s < d->names_used; s++) {
        SIM_ASSERT_SLOW(name_find(d, d->names[s].node, d->names[s].path) == s);
    }
    check_refs(d);
}
#endif

/* ---- extension operations ------------------------------------------------------------------- */

static void disk_fire(sim_world *w, uint64_t arg)
{
    disk_state *d = sim__disk_peek(w);
    SIM_ASSERT(d != NULL); /* only the disks arm their timers */
    sim__disk_req_fire(w, d, (uint32_t)arg, (uint32_t)(arg >> 32));
}

static void disk_wait_text(const sim_world *w, uint32_t x, uint64_t y, char *buf, size_t size)
{
    sim__disk_req_words(w, x, (uint32_t)y, (uint32_t)(y >> 32), buf, size);
}

static void disk_timer_text(const sim_world *w, uint64_t arg, char *buf, size_t size)
{
    char text[200];
    const disk_state *d = sim__disk_peek(w);
    uint32_t slot = (uint32_t)arg;
    uint32_t kind = d && slot < d->reqs_used ? (uint32_t)d->reqs[slot].kind : 0;
    sim__disk_req_words(w, slot, (uint32_t)(arg >> 32), kind, text, sizeof text);
    snprintf(buf, size, "disk: %s completes", text);
}

static char *disk_dump(const sim_world *w)
{
    const disk_state *d = sim__disk_peek(w);
    if (d == NULL) return NULL;
    size_t cap = 1024 + (size_t)d->names_used * 160, o = 0;
    char *buf = sim__xmalloc(cap, "the disks' dump");
    uint32_t listed = 0;
    o += (size_t)snprintf(buf + o, cap - o,
                          "  disk: %u file(s), %u open handle(s), %u directory operation(s) "
                          "pending\n",
                          d->inodes_live, d->fds_live, d->ndirops);
    for (uint32_t s = 0; s < d->names_used && o + 200 < cap; s++) {
        const disk_name *n = &d->names[s];
        if (n->node == 0 || (n->cur == 0 && n->dur == 0)) continue;
        const disk_inode *in = n->cur ? &d->inodes[n->cur - 1] : &d->inodes[n->dur - 1];
        const char *state = n->cur == 0 ? " (unlinked, not yet durably)"
                            : n->dur == 0 ? " (created, not yet durably)"
                            : n->cur != n->dur ? " (renamed, not yet durably)"
                                               : "";
        o += (size_t)snprintf(buf + o, cap - o,
                              "    %s:%s  file %u: %llu bytes, %llu durable, %u write(s) "
                              "pending%s\n",
                              sim_node_name(w, (sim_node_id){n->node}), n->path, in->serial,
                              (unsigned long long)in->cur_size, (unsigned long long)in->dur_size,
                              in->npend, state);
        listed++;
    }
    SIM_ASSERT(listed <= d->names_used);
    SIM_ASSERT(o < cap); /* room was made for every name */
    return buf;
}

const sim__ext_ops sim__disk_ops = {
    .name = "disk",
    .fire = disk_fire,
    .crash = disk_crash,
    .wait_text = disk_wait_text,
    .timer_text = disk_timer_text,
    .hand_release = disk_hand_release,
    .dump = disk_dump,
    .free = disk_free,
};

/* ---- event text ------------------------------------------------------------------------------ */

static int disk_text(const sim_event *e, const char *const *names, uint32_t nnames, char *buf,
                     size_t size)
{
    static const char *const ops[] = {"?",        "open",  "read",     "write",  "append",
                                      "fsync",    "fdatasync", "truncate", "rename", "unlink",
                                      "sync-dir"};
    static const char *const outcomes[] = {"?", "kept", "lost", "torn"};
    static const char *const kinds[] = {"?", "write", "truncation", "link", "unlink"};
    (void)names;
    (void)nnames;
    uint32_t file = (uint32_t)(e->a >> 40);
    uint64_t off = e->a & ((1ull << 40) - 1), len = e->b & ((1ull << 48) - 1);
    uint32_t top = (uint32_t)(e->b >> 56), mid = (uint32_t)(e->b >> 48) & 0xff;
    const char *d = e->detail ? e->detail : "";
    if (e->kind == SIM_EV_DISK_CRASH) {
        if (mid >= 3) return snprintf(buf, size, "%s %s: %s", kinds[mid < 5 ? mid : 0], d,
                                      outcomes[top < 4 ? top : 0]);
        return snprintf(buf, size, "file %u %s @%llu, %llu bytes: %s", file,
                        kinds[mid < 5 ? mid : 0], (unsigned long long)off,
                        (unsigned long long)len, outcomes[top < 4 ? top : 0]);
    }
    const char *op = ops[top < 11 ? top : 0];
    char err[48] = "";
    if (mid != 0) snprintf(err, sizeof err, ": %s", sim_result_name(-(int)mid));
    if (top == SIM_DISK_OPEN || top >= SIM_DISK_RENAME) {
        return snprintf(buf, size, "%s %s%s", op, d, err);
    }
    if (top == SIM_DISK_SYNC || top == SIM_DISK_DATASYNC) {
        return snprintf(buf, size, "%s file %u, %llu write(s)%s", op, file,
                        (unsigned long long)len, err);
    }
    return snprintf(buf, size, "%s file %u @%llu, %llu bytes%s", op, file,
                    (unsigned long long)off, (unsigned long long)len, err);
}

/* The words for disk events, registered with the executor when the program starts. */
__attribute__((constructor)) static void disk_register_text(void)
{
    sim__event_text_register(SIM_EV_DISK_OP, SIM_EV_DISK_CRASH, disk_text);
}
