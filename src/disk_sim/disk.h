/*
 * disk.h: disk_sim's internals (docs/disk.md). disk.c holds the world's disks: inodes with
 * their two states (what reads see, and what would survive a crash), the pending writes
 * between them, names and the pending directory operations, and the crash resolution.
 * ops.c is the API: the synchronous calls for blocking-pool jobs and the operations (futures)
 * for tasks, which run the same code when their latency has passed. spec.c reads [disk].
 *
 * The crash model follows SQLite's crash-test VFS (src/test6.c): writes queue on a list until
 * the file is synced; on a crash each queued write is independently written, dropped, or
 * written in part, sector by sector, the parts not written holding what was there or garbage.
 *
 * A user's sim_file names a record of the executor's handle table (kind HAND_EXT, ext the
 * disk's extension index, target = fd slot, target_id = the fd's id), owned by the task that
 * opened it (else the node: a boot function's, or a blocking-pool job's, whose files belong
 * to its node).
 * sim_file_close frees the record; the owner's end releases it through the extension's
 * hand_release, which closes the fd if a crash has not already.
 */
#ifndef SIM_DISK_H
#define SIM_DISK_H

#include "../fault/points.h"

/* A latency's exponential tail: its mean at most one hour, each draw cut at 20 times it. */
#define SIM__DISK_TAIL_MAX (3600 * SIM_S)
#define SIM__DISK_TAIL_CAP 20
/* The largest file: a write whose end, or a truncation, past it is SIM_EINVAL. Files are dense
 * images in memory, so this bounds what a system under test can make the harness allocate by
 * a deterministic limit rather than by the host's memory (out of which is fatal). */
#define SIM__DISK_FILE_MAX ((uint64_t)1 << 32)

enum { PEND_WRITE = 1, PEND_TRUNC = 2 };

/* A write or truncation that reads already see and a crash may lose. */
typedef struct disk_pending {
    uint8_t kind;            /* PEND_* */
    uint64_t offset;         /* write: where; truncation: the new size */
    uint32_t len;            /* write: bytes */
    uint64_t at;             /* write: where its bytes are in the inode's pending log */
} disk_pending;

/* A file's contents, apart from its names. */
typedef struct disk_inode {
    uint32_t id;             /* generation; 0 = free */
    uint32_t serial;         /* "file N" in events and dumps, in creation order */
    uint32_t node;
    uint32_t links;          /* names that reads see */
    uint32_t dlinks;         /* names that would survive a crash */
    uint32_t fds;            /* open handles */
    uint32_t refs;           /* operations in flight on it (they outlive a closed handle) */
    uint32_t dirlinks;       /* pending creations or renames naming it: until a directory sync
                                or a crash resolves them, they may yet link it durably */
    uint8_t *cur;            /* what reads see: cur_size bytes */
    uint64_t cur_size, cur_cap;
    uint8_t *dur;            /* what would survive a crash: dur_size bytes */
    uint64_t dur_size, dur_cap;
    bool shared;             /* cur and dur are one buffer (right after a crash) */
    uint8_t *spare;          /* cur's old buffer while shared, for the copy that unshares */
    uint64_t spare_cap;
    disk_pending *pend;      /* in the order they were made */
    uint32_t npend, pend_cap;
    uint8_t *plog;           /* the pending writes' bytes, back to back; emptied by a sync */
    uint64_t plog_len, plog_cap;
    uint32_t next_free;
} disk_inode;

/* A path on a node. */
typedef struct disk_name {
    uint32_t node;           /* 0 = a free entry */
    char *path;
    uint64_t hash;           /* XXH3 of node and path */
    uint32_t cur;            /* inode slot + 1 that reads see; 0 = none */
    uint32_t dur;            /* inode slot + 1 that would survive a crash; 0 = none */
    uint32_t mark;           /* == disk_state.sync_mark: touched by a directory sync's ops */
} disk_name;

enum { DIROP_LINK = 1, DIROP_UNLINK = 2 };

/* A pending creation, unlink or half of a rename; a rename's two halves share a group and
 * survive a crash together. */
typedef struct disk_dirop {
    uint8_t kind;            /* DIROP_* */
    bool take;               /* scratch for sim__disk_sync_dir */
    uint32_t node;
    uint32_t name;           /* name slot */
    uint32_t inode;          /* LINK: inode slot + 1 */
    uint32_t group;          /* ops made by one call */
    uint32_t dir_name;       /* the group's directory for syncing: the LINK's name */
} disk_dirop;

typedef struct disk_fd {
    uint32_t id;             /* generation, bumped when closed */
    bool live;
    uint32_t node;
    uint32_t inode;          /* slot */
    uint32_t name;           /* the name slot it was opened by (names are never freed) */
    uint32_t next_free;
} disk_fd;

/* An operation in flight (a task's sim_disk_op between its first poll and its completion).
 * It owns copies of what it needs; the caller's operation owns it, and only a read writes into
 * the caller's memory (buf), while it is not abandoned. */
typedef struct disk_req {
    uint32_t id;             /* generation; 0 = free */
    uint32_t node;
    sim_disk_op_kind kind;   /* 0 once free */
    bool abandoned;          /* its operation was dropped: it still runs, nobody collects it */
    uint32_t waker_slot, waker_id; /* the task to wake when it is done; SIM__NIL = none */
    bool done;
    int rc;
    char *path, *path2;      /* copies */
    uint8_t *data;           /* write: a copy (malloc) */
    void *buf;               /* read: the caller's buffer, written when the read runs */
    size_t len;
    uint64_t offset;         /* read, write: where; truncate: the size; append: where it went */
    uint32_t flags;
    uint32_t fd_slot, fd_id; /* open: the fd made */
    uint32_t inode;          /* the file it acts on (held); SIM__NIL for none */
    uint32_t name;           /* the file's name slot when opened (for words); SIM__NIL */
    size_t got;
    uint32_t next_free;
} disk_req;

typedef struct disk_state {
    uint32_t ext;            /* its extension index in the world (sim__ext_attach) */
    sim_disk_desc desc;
    bool configured;
    disk_inode *inodes;
    uint32_t inodes_cap, inodes_used, inode_free, inode_serial, inodes_live;
    disk_name *names;
    uint32_t names_cap, names_used;
    uint32_t *name_index;    /* open addressing: name slot + 1, 0 = empty */
    uint32_t name_mask;
    disk_dirop *dirops;
    uint32_t ndirops, dirops_cap, dirop_group;
    uint32_t sync_mark;      /* bumped by each directory sync (disk_name.mark) */
    disk_fd *fds;
    uint32_t fds_cap, fds_used, fd_free, fds_live;
    disk_req *reqs;
    uint32_t reqs_cap, reqs_used, req_free;
    uint64_t *used;          /* per node: bytes in files (what reads see) */
    sim_rng *rngs;           /* per node: "sim/disk" (latency) */
    sim_rng *crash_rngs;     /* per node: "sim/disk/crash", drawn afresh at each crash from
                                (node, the crash's virtual time): see disk.c */
    sim_rng *corrupt_rngs;   /* per node: "sim/disk/corrupt" (where disk/corrupt damages) */
    uint32_t nodes_cap;
    const sim__point *read_eio, *write_eio, *fsync_eio, *enospc, *corrupt;
} disk_state;

/* Checks the disks' invariants in full (make check builds; nothing otherwise). */
#ifdef SIM_SLOW_CHECKS
void sim__disk_check(const sim_world *w, const disk_state *d);
#else
static inline void sim__disk_check(const sim_world *w, const disk_state *d)
{
    (void)w;
    (void)d;
}
#endif

/* The world's disks, created on first use, grown to the world's nodes. */
disk_state *sim__disk_of(sim_world *w);
extern const sim__ext_ops sim__disk_ops;
static inline disk_state *sim__disk_peek(const sim_world *w)
{
    return (disk_state *)sim__ext_state(w, &sim__disk_ops);
}

/* The node of the running task or job, or of the node being booted; 0 for none. */
uint32_t sim__disk_task_node(const sim_world *w);

/* Checks a path: not empty, at most SIM_PATH_MAX, no leading or trailing '/', no empty, "."
 * or ".." component. Directories ("" for the root) may be empty. */
bool sim__path_ok(const char *path, bool dir);

/* ---- the operations, run at once (ops.c charges their latency or waits it out) ---- */
/* Opens: the new fd's slot in *fd (SIM__NIL on failure); the caller makes its handle record. */
int sim__disk_open(sim_world *w, disk_state *d, uint32_t node, const char *path, uint32_t flags,
                   uint32_t *fd);
/* These act on an inode (slot), resolved from a handle by the caller. */
int sim__disk_read(sim_world *w, disk_state *d, uint32_t inode, void *buf, size_t len,
                   uint64_t offset, size_t *got);
int sim__disk_write(sim_world *w, disk_state *d, uint32_t inode, const void *data, size_t len,
                    uint64_t offset, bool append, uint64_t *at);
int sim__disk_sync(sim_world *w, disk_state *d, uint32_t inode, sim_disk_op_kind kind);
int sim__disk_truncate(sim_world *w, disk_state *d, uint32_t inode, uint64_t size);
int sim__disk_rename(sim_world *w, disk_state *d, uint32_t node, const char *from,
                     const char *to);
int sim__disk_unlink(sim_world *w, disk_state *d, uint32_t node, const char *path);
int sim__disk_sync_dir(sim_world *w, disk_state *d, uint32_t node, const char *dir);
/* The fd of a user's handle, resolved through its record: its slot, or SIM__NIL with *rc =
 * SIM_EBADF when the file is closed (a zeroed handle, a record freed by a close or released
 * with its owner, an fd its node's crash closed), or SIM_EMISUSE and a violation naming `what`
 * (when what is not NULL) for a handle of another world or one that is not a file's. */
uint32_t sim__disk_fd_of(sim_world *w, const disk_state *d, const sim_file *f, const char *what,
                         int *rc);
/* The same for queries on a const world, without violations: SIM__NIL when not open. */
uint32_t sim__disk_fd_peek(const sim_world *w, const disk_state *d, const sim_file *f);
/* The fd's inode (an open fd's). */
static inline disk_inode *sim__disk_fd_inode(const disk_state *d, uint32_t fd)
{
    SIM_ASSERT(fd < d->fds_used && d->fds[fd].live);
    return &d->inodes[d->fds[fd].inode];
}
/* Makes the handle record of an open fd, owned by the running task (else the node), into *out.
 * SIM_ENOMEM (the fd stays open: the caller closes it). */
int sim__disk_fd_hand_new(sim_world *w, disk_state *d, uint32_t fd, sim_file *out);
/* Closes the fd (slot, id) if it is still open. */
void sim__disk_fd_close(sim_world *w, disk_state *d, uint32_t fd, uint32_t id);
/* "wal/000001.log": the name reads see an inode by, else the name it was opened by with
 * " (unlinked)"; `name` is that name slot (SIM__NIL: none known). */
void sim__disk_inode_words(const disk_state *d, uint32_t inode, uint32_t name, char *buf,
                           size_t size);
/* An operation in flight holds its inode, so that closing the handle does not free it. */
void sim__disk_inode_hold(disk_state *d, uint32_t inode);
void sim__disk_inode_release(sim_world *w, disk_state *d, uint32_t inode);
/* The latency of an operation of this kind on a node, drawn from its stream. */
uint64_t sim__disk_latency(disk_state *d, uint32_t node, sim_disk_op_kind kind);

/* ---- requests (ops.c), called by disk.c ---- */
void sim__disk_req_fire(sim_world *w, disk_state *d, uint32_t slot, uint32_t id);
void sim__disk_reqs_crash(sim_world *w, disk_state *d, uint32_t node);
/* A request in words ("fsync of wal/000001.log on n2"), for reports; "<kind> (finished)" when
 * (slot, id) is no longer in flight. */
void sim__disk_req_words(const sim_world *w, uint32_t slot, uint32_t id, uint32_t kind, char *buf,
                         size_t size);

/* ---- host worlds (host_disk.c): the same calls on a node's directory ---- */
int sim__hdisk_do(sim_world *w, sim_disk_op *op);
int sim__hdisk_sync_call(sim_world *w, sim_disk_op *op, const char *what);
int sim__hdisk_size(const sim_world *w, const sim_file *f, uint64_t *size);
void sim__hdisk_close(sim_world *w, sim_file *f);
int sim__hdisk_list(sim_world *w, const char *dir, sim_dir_entry *out, uint32_t max,
                    uint32_t *count);
int sim__hdisk_op_poll(sim_disk_op *op, sim_world *w, const char *what);

#endif /* SIM_DISK_H */
