/*
 * host_disk.c: the disk of a host world (sim.h, "Host worlds"): a node's files are real files
 * under its directory (host_dir/NAME/ unless its desc says), made with open, pread, pwrite,
 * fsync, fdatasync, ftruncate, rename, unlink and a directory's fsync. Directories in a path
 * are created as needed, as the simulated disk implies them. The synchronous calls run on the
 * pool thread of the job that makes them (they touch no table of the world's: handles live in
 * the host file table, src/host/host_files.c); the operations (sim_disk_*_op) make the same
 * calls at their first poll on the loop's thread, the files being local and fast. There is no
 * latency model, no fault and no crash model here: what the host's disk does is what happens.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"

/* Longest full path: the node's directory, '/', the path. */
#define HPATH_MAX 4096

static int map_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR: return SIM_ENOENT;
    case EEXIST: return SIM_EEXIST;
    case ENOSPC:
    case EDQUOT: return SIM_ENOSPC;
    case EBADF: return SIM_EBADF;
    case EINVAL:
    case ENAMETOOLONG: return SIM_EINVAL;
    default: return SIM_EIO;
    }
}

/* The full path of a node's path ("" is the node's directory). SIM_EINVAL for a bad one. */
static int full_path(const sim_world *w, const char *path, bool dir, char *out, size_t size)
{
    SIM_ASSERT(out != NULL && size > 0);
    if (path == NULL || !sim__path_ok(path, dir)) return SIM_EINVAL;
    const char *base = sim__exec_here_host_dir(w);
    if (base == NULL) return SIM_ENODE;
    int n = path[0] ? snprintf(out, size, "%s/%s", base, path) : snprintf(out, size, "%s", base);
    if (n < 0 || (size_t)n >= size) return SIM_EINVAL;
    return SIM_OK;
}

/* mkdir -p of the directory that holds full (its last component excluded). */
static int make_parents(char *full)
{
    SIM_ASSERT(full != NULL);
    char *slash = strrchr(full, '/');
    if (slash == NULL || slash == full) return SIM_OK;
    *slash = '\0';
    struct stat st;
    int rc = SIM_OK;
    if (stat(full, &st) != 0) {
        char *p = full;
        if (*p == '/') p++;
        for (;;) {
            char *next = strchr(p, '/');
            if (next != NULL) *next = '\0';
            if (mkdir(full, 0755) != 0 && errno != EEXIST) rc = map_errno(errno);
            if (next == NULL || rc != SIM_OK) break;
            *next = '/';
            p = next + 1;
        }
    }
    *slash = '/';
    return rc;
}

/* The calls outside a job: a violation, as on a simulated world. */
static bool in_job(sim_world *w, const char *what)
{
    if (sim__exec_in_job(w)) return true;
    sim__violation(w, SIM_VIOLATION_MISUSE,
                   "%s called outside a blocking-pool job: tasks use the disk operations "
                   "(sim_disk_op)", what);
    return false;
}

static int do_open(sim_world *w, const char *path, uint32_t flags, sim_file *out)
{
    SIM_ASSERT(out != NULL);
    *out = (sim_file){0};
    if (flags & ~(uint32_t)(SIM_O_CREATE | SIM_O_EXCL | SIM_O_TRUNC)) return SIM_EINVAL;
    char full[HPATH_MAX];
    int rc = full_path(w, path, false, full, sizeof full);
    if (rc != SIM_OK) return rc;
    int oflags = O_RDWR | O_CLOEXEC;
    if (flags & SIM_O_CREATE) oflags |= O_CREAT;
    if ((flags & SIM_O_CREATE) && (flags & SIM_O_EXCL)) oflags |= O_EXCL;
    if (flags & SIM_O_TRUNC) oflags |= O_TRUNC;
    if (flags & SIM_O_CREATE) {
        rc = make_parents(full);
        if (rc != SIM_OK) return rc;
    }
    int fd = open(full, oflags, 0644);
    if (fd < 0) return map_errno(errno);
    sim__host_file_handle(w, fd, &out->h);
    SIM_ASSERT(out->h.id_ != 0);
    return SIM_OK;
}

static int do_pread(sim_world *w, const sim_file *f, void *buf, size_t len, uint64_t offset,
                    size_t *got)
{
    *got = 0;
    int fd = sim__host_file_fd(w, f ? &f->h : NULL);
    if (fd < 0) return SIM_EBADF;
    while (*got < len) {
        ssize_t r = pread(fd, (uint8_t *)buf + *got, len - *got, (off_t)(offset + *got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return map_errno(errno);
        if (r == 0) break;
        *got += (size_t)r;
    }
    SIM_ASSERT(*got <= len);
    return SIM_OK;
}

static int write_all(int fd, const void *data, size_t len, uint64_t offset)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pwrite(fd, (const uint8_t *)data + done, len - done, (off_t)(offset + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return map_errno(errno);
        done += (size_t)r;
    }
    return SIM_OK;
}

static int do_pwrite(sim_world *w, const sim_file *f, const void *data, size_t len,
                     uint64_t offset)
{
    int fd = sim__host_file_fd(w, f ? &f->h : NULL);
    if (fd < 0) return SIM_EBADF;
    return write_all(fd, data, len, offset);
}

typedef struct append_args {
    const void *data;
    size_t len;
    uint64_t at;
} append_args;

static int append_locked(void *ud, int fd)
{
    append_args *a = ud;
    struct stat st;
    if (fstat(fd, &st) != 0) return map_errno(errno);
    a->at = (uint64_t)st.st_size;
    return write_all(fd, a->data, a->len, a->at);
}

static int do_append(sim_world *w, const sim_file *f, const void *data, size_t len,
                     uint64_t *offset)
{
    if (offset != NULL) *offset = 0;
    int fd = sim__host_file_fd(w, f ? &f->h : NULL);
    if (fd < 0) return SIM_EBADF;
    append_args a = {.data = data, .len = len};
    int rc = sim__host_file_locked(w, fd, append_locked, &a);
    if (rc == SIM_OK && offset != NULL) *offset = a.at;
    return rc;
}

static int do_sync(sim_world *w, const sim_file *f, bool data_only)
{
    int fd = sim__host_file_fd(w, f ? &f->h : NULL);
    if (fd < 0) return SIM_EBADF;
    int r = data_only ? fdatasync(fd) : fsync(fd);
    return r == 0 ? SIM_OK : map_errno(errno);
}

static int do_truncate(sim_world *w, const sim_file *f, uint64_t size)
{
    int fd = sim__host_file_fd(w, f ? &f->h : NULL);
    if (fd < 0) return SIM_EBADF;
    return ftruncate(fd, (off_t)size) == 0 ? SIM_OK : map_errno(errno);
}

static int do_rename(sim_world *w, const char *from, const char *to)
{
    char a[HPATH_MAX], b[HPATH_MAX];
    int rc = full_path(w, from, false, a, sizeof a);
    if (rc == SIM_OK) rc = full_path(w, to, false, b, sizeof b);
    if (rc == SIM_OK) rc = make_parents(b);
    if (rc != SIM_OK) return rc;
    return rename(a, b) == 0 ? SIM_OK : map_errno(errno);
}

static int do_unlink(sim_world *w, const char *path)
{
    char full[HPATH_MAX];
    int rc = full_path(w, path, false, full, sizeof full);
    if (rc != SIM_OK) return rc;
    return unlink(full) == 0 ? SIM_OK : map_errno(errno);
}

static int do_sync_dir(sim_world *w, const char *dir)
{
    char full[HPATH_MAX];
    int rc = full_path(w, dir ? dir : "", true, full, sizeof full);
    if (rc != SIM_OK) return rc;
    int fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? SIM_OK : map_errno(errno); /* nothing made there */
    rc = fsync(fd) == 0 ? SIM_OK : map_errno(errno);
    close(fd);
    return rc;
}

/* ---- the synchronous calls (in a job) -------------------------------------------------------- */

int sim__hdisk_sync_call(sim_world *w, sim_disk_op *op, const char *what)
{
    SIM_ASSERT(op != NULL && what != NULL);
    if (!in_job(w, what)) {
        if (op->kind == SIM_DISK_OPEN) *op->opened = (sim_file){0};
        return SIM_EMISUSE;
    }
    return sim__hdisk_do(w, op);
}

/* Makes one operation, described as sim_disk_op describes it, on the running context's node. */
int sim__hdisk_do(sim_world *w, sim_disk_op *op)
{
    SIM_ASSERT(op != NULL);
    switch (op->kind) {
    case SIM_DISK_OPEN: return do_open(w, op->path, op->flags, op->opened);
    case SIM_DISK_READ: {
        size_t got = 0;
        int rc = do_pread(w, op->file, op->buf, op->len, op->offset, &got);
        if (op->got != NULL) *op->got = got;
        return rc;
    }
    case SIM_DISK_WRITE: return do_pwrite(w, op->file, op->data, op->len, op->offset);
    case SIM_DISK_APPEND: return do_append(w, op->file, op->data, op->len, op->at);
    case SIM_DISK_SYNC: return do_sync(w, op->file, false);
    case SIM_DISK_DATASYNC: return do_sync(w, op->file, true);
    case SIM_DISK_TRUNCATE: return do_truncate(w, op->file, op->offset);
    case SIM_DISK_RENAME: return do_rename(w, op->path, op->path2);
    case SIM_DISK_UNLINK: return do_unlink(w, op->path);
    case SIM_DISK_SYNC_DIR: return do_sync_dir(w, op->path);
    }
    return SIM_EINVAL;
}

/* ---- anywhere on a node ---------------------------------------------------------------------- */

int sim__hdisk_size(const sim_world *w, const sim_file *f, uint64_t *size)
{
    SIM_ASSERT(size != NULL);
    int fd = sim__host_file_fd(w, f ? &f->h : NULL);
    if (fd < 0) return SIM_EBADF;
    struct stat st;
    if (fstat(fd, &st) != 0) return map_errno(errno);
    *size = (uint64_t)st.st_size;
    return SIM_OK;
}

void sim__hdisk_close(sim_world *w, sim_file *f)
{
    SIM_ASSERT(f != NULL);
    int fd = sim__host_file_take(w, &f->h);
    *f = (sim_file){0};
    if (fd >= 0) close(fd);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const sim_dir_entry *)a)->name, ((const sim_dir_entry *)b)->name);
}

int sim__hdisk_list(sim_world *w, const char *dir, sim_dir_entry *out, uint32_t max,
                    uint32_t *count)
{
    *count = 0;
    char full[HPATH_MAX];
    int rc = full_path(w, dir ? dir : "", true, full, sizeof full);
    if (rc != SIM_OK) return rc;
    DIR *d = opendir(full);
    if (d == NULL) return errno == ENOENT ? SIM_OK : map_errno(errno);
    sim_dir_entry *all = NULL;
    uint32_t n = 0, cap = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (strlen(e->d_name) > SIM_PATH_MAX) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            all = sim__xrealloc_array(all, cap, sizeof *all, "a directory listing");
        }
        sim_dir_entry *x = &all[n++];
        memset(x, 0, sizeof *x);
        snprintf(x->name, sizeof x->name, "%s", e->d_name);
        char sub[HPATH_MAX + SIM_PATH_MAX + 2];
        snprintf(sub, sizeof sub, "%s/%s", full, e->d_name);
        struct stat st;
        if (stat(sub, &st) == 0) {
            x->is_dir = S_ISDIR(st.st_mode);
            x->size = x->is_dir ? 0 : (uint64_t)st.st_size;
        }
    }
    closedir(d);
    if (n > 1) qsort(all, n, sizeof *all, entry_cmp);
    for (uint32_t i = 0; i < n && i < max; i++) out[i] = all[i];
    *count = n;
    free(all);
    return SIM_OK;
}

/* ---- operations (futures) -------------------------------------------------------------------- */

int sim__hdisk_op_poll(sim_disk_op *op, sim_world *w, const char *what)
{
    SIM_ASSERT(op != NULL && what != NULL);
    if (op->kind == SIM_DISK_OPEN && op->opened != NULL) *op->opened = (sim_file){0};
    if (sim__exec_require_task(w, what) == SIM__NIL) return SIM_EMISUSE;
    if (sim__exec_node_here(w) == 0) return SIM_ENODE;
    return sim__hdisk_do(w, op);
}
