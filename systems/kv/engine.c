/*
 * engine.c: the kv store's engine (see kv.h): generation files, recovery, the writer task,
 * compaction and the async calls, written against sim.h only.
 *
 * Every file access runs in a blocking-pool job, whose synchronous disk calls take effect when
 * the job starts and then hold a worker for their latency. Jobs hold a reference on the engine,
 * so the engine outlives whatever is still queued; a crash abandons the jobs with the tasks.
 *
 * Writes go through one writer task (an MPSC queue of requests, each carrying a oneshot for
 * its answer, which the queue moves to the writer: handle_at), so the file is appended in one
 * order and the index changes only there. A round is a group commit: take what is queued,
 * append it (one job), wait commit_delay, fsync (a second job) when sync = always, then point
 * the index at the new records and answer. A failed append or fsync answers an I/O error and
 * rolls the engine onto a fresh generation, because after a failed fsync the file holds bytes
 * that reads see but the disk may never get: appending after them could put acknowledged
 * records behind a hole that recovery cuts off. The index holds committed records only, so a
 * failed round leaves it as it was: the round's writes are of unknown outcome (they may
 * survive a crash or not), and so is any answer given in view of them (an rm that found its
 * key removed by an earlier rm of the same round), which therefore fails with them. The fsync
 * is never retried on that file: after an error it would succeed without writing what it lost.
 *
 * Compaction runs in the writer between rounds, so no write is in flight: it copies every live
 * record into a new generation (as the reference: compaction gen = max + 1, the new active
 * file max + 2), makes it durable, repoints the index, publishes the safe point and unlinks the
 * older files. Reads are not serialised with it: a read that looked up a position in a file
 * that is then deleted finds the file gone (SIM_ENOENT) and looks the key up again.
 *
 * Reads take one of `readers` readers (a permit of the semaphore "kv-readers", then a free
 * reader), each with its own cache of open files, which it prunes below the safe point before
 * every read as the reference does. Permits and free readers match, except after the planted
 * bug reader-leak loses a reader: the permit goes back (a task's permits go back when it ends
 * anyway), the reader does not, so a get may hold a permit and find no free reader; it then
 * waits on the notify "kv-reader-back" for one to be given back (never, once every reader is
 * lost, so gets starve as in the reference).
 *
 * The engine is shared by the tasks and jobs of its node, so its handles (the writer's queue,
 * the semaphore, the notify) belong to the node (sim_handle_share); files opened in jobs do
 * already. Its memory goes with its last reference (kv_engine_unref).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define READER_FILES 4
#define GEN_NAME_MAX 24

typedef struct kv_reader {
    uint32_t gen[READER_FILES];     /* cached files; 0 = empty slot */
    sim_file file[READER_FILES];
    uint8_t buf[KV_REC_MAX];        /* the record the last read job fetched */
} kv_reader;

/* A write request, from a call to the writer; owned by the writer once queued. */
typedef struct wreq {
    sim_tx reply;            /* oneshot of int32_t: the result; the writer's once received */
    int32_t rc;
    kv_pos pos;              /* where the record went */
    uint64_t seq;
    uint32_t size;           /* bytes of rec */
    bool by_round;           /* an rm answered "Key not found" because an earlier record of
                                its own round removed the key: the answer holds only if that
                                record commits (rc is then KV_ENOTFOUND) */
    uint8_t rec[];           /* the encoded record */
} wreq;

/* What the writer's queue carries: a request, and the sender of its answer as a handle the
 * queue moves from the call's task to the writer (sim_chan_desc.handle_at). */
typedef struct wmsg {
    wreq *q;                 /* malloc'd; the receiver's */
    sim_tx reply;
} wmsg;

struct kv_engine {
    kv_config cfg;
    uint32_t refs;
    bool opened;
    bool started;
    kv_index index;
    uint32_t *gens;          /* generation files on disk, ascending */
    uint32_t ngens;
    uint32_t gens_cap;
    uint32_t max_gen;        /* the highest generation number used */
    uint32_t active_gen;
    sim_file active;
    bool need_roll;          /* a failed write: move to a fresh file first */
    uint32_t safe_point;     /* files below it are deleted (or about to be) */
    uint64_t uncompacted;    /* bytes of stale records */
    uint64_t seq;            /* records appended */
    kv_engine_stats stats;
    kv_reader *readers;      /* cfg.readers of them */
    bool *reader_busy;       /* held by a call, or lost (bug reader-leak) */
    sim_sem sem;             /* "kv-readers": cfg.readers permits */
    sim_notify reader_back;  /* a reader was given back (waited on only after a leak) */
    uint32_t reader_waiters; /* gets holding a permit but no reader */
    sim_tx wq_tx;            /* the writer's queue (of wmsg) */
    wreq *batch[KV_BATCH_MAX];
    uint32_t nbatch;
    kv_pos *cpos;            /* compaction: each entry's new position */
    uint32_t cgen;           /* compaction: the generation it wrote */
};

kv_bug kv_bug_parse(const char *text)
{
    static const char *const names[] = {"none", "no-fsync", "stale-index", "reader-leak",
                                        "compaction-race", "no-torn-recovery"};
    for (uint32_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(text, names[i]) == 0) return (kv_bug)i;
    }
    return KV_BUG_NONE;
}

const char *kv_strerror(int rc, char *buf, size_t size)
{
    if (rc == KV_ENOTFOUND) {
        snprintf(buf, size, "Key not found");
    } else if (rc == KV_ECORRUPT) {
        snprintf(buf, size, "Corrupt record");
    } else {
        snprintf(buf, size, "IO error: %s", sim_result_str(rc));
    }
    return buf;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

int kv_engine_new(const kv_config *config, kv_engine **out)
{
    *out = NULL;
    kv_config c = *config;
    if (c.compact_threshold == 0) c.compact_threshold = 1u << 20;
    if (c.readers == 0) c.readers = 4;
    if (c.readers > KV_READERS_MAX || c.bug > KV_BUG_NO_TORN_RECOVERY) return SIM_EINVAL;
    kv_engine *e = calloc(1, sizeof *e);
    if (e == NULL) return SIM_ENOMEM;
    e->readers = calloc(c.readers, sizeof *e->readers);
    e->reader_busy = calloc(c.readers, sizeof *e->reader_busy);
    if (e->readers == NULL || e->reader_busy == NULL) {
        free(e->readers);
        free(e->reader_busy);
        free(e);
        return SIM_ENOMEM;
    }
    e->cfg = c;
    e->refs = 1;
    kv_index_init(&e->index);
    *out = e;
    return SIM_OK;
}

kv_engine *kv_engine_ref(kv_engine *e)
{
    SIM_ASSERT(e->refs > 0);
    e->refs++;
    return e;
}

static void close_readers(sim_world *w, kv_engine *e)
{
    for (uint32_t r = 0; r < e->cfg.readers; r++) {
        for (uint32_t i = 0; i < READER_FILES; i++) {
            sim_file_close(w, &e->readers[r].file[i]);
            e->readers[r].gen[i] = 0;
        }
    }
}

void kv_engine_unref(sim_world *w, kv_engine *e)
{
    if (e == NULL) return;
    SIM_ASSERT(e->refs > 0);
    if (--e->refs > 0) return;
    close_readers(w, e);
    sim_file_close(w, &e->active);
    sim_sem_drop(w, &e->sem);
    sim_notify_drop(w, &e->reader_back);
    sim_tx_drop(w, &e->wq_tx);
    /* A round cut short (the writer was dropped): its answers' senders went with the writer. */
    for (uint32_t i = 0; i < e->nbatch; i++) free(e->batch[i]);
    kv_index_release(&e->index);
    free(e->gens);
    free(e->cpos);
    free(e->readers);
    free(e->reader_busy);
    free(e);
}

void kv_engine_stats_get(const kv_engine *e, kv_engine_stats *out)
{
    *out = e->stats;
    out->stale_bytes = e->uncompacted;
    out->active_gen = e->active_gen;
    out->files = e->ngens;
}

/* ---- jobs ------------------------------------------------------------------------------------ */

typedef struct engine_job {
    kv_engine *e;            /* a reference, dropped with the job */
    uint32_t reader;         /* read jobs */
    kv_pos pos;              /* read jobs */
} engine_job;

/* Every end of a job (done, abandoned by a crash): its reference goes. */
static void engine_job_drop(void *state, sim_world *w)
{
    engine_job *j = state;
    kv_engine_unref(w, j->e);
    j->e = NULL;
}

static int job_op_poll(sim_fut *f, sim_world *w)
{
    kv_job_op *op = (kv_job_op *)f;
    if (op->join_.task.v == 0) { /* the first poll: spawn it */
        engine_job j = {.e = kv_engine_ref(op->e), .reader = op->reader, .pos = op->pos};
        sim_job_desc d = {.name = op->name, .run = op->run, .drop = engine_job_drop,
                          .state = &j, .state_size = sizeof j};
        int rc = sim_spawn_blocking(w, &d, &op->join_);
        if (rc != SIM_OK) {
            kv_engine_unref(w, op->e);
            return rc;
        }
        SIM_ASSERT(op->join_.task.v != 0);
        op->wait_ = sim_join_wait(&op->join_); /* the op stays where it is from now on */
    }
    return sim_fut_poll(w, &op->wait_.fut);
}

static void job_op_drop(sim_fut *f, sim_world *w)
{
    kv_job_op *op = (kv_job_op *)f;
    if (op->join_.task.v == 0) return; /* never spawned */
    sim_fut_drop(w, &op->wait_.fut);
    sim_join_detach(w, &op->join_);
}

static void job_op_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const kv_job_op *op = (const kv_job_op *)f;
    if (op->join_.task.v == 0) {
        snprintf(buf, size, "job %s, not spawned yet", op->name);
    } else {
        sim_fut_describe(&op->wait_.fut, w, buf, size);
    }
}

static const sim_fut_vt job_op_vt = {.name = "kv-job", .poll = job_op_poll,
                                     .drop = job_op_drop, .describe = job_op_describe};

static kv_job_op job_op(kv_engine *e, const char *name, sim_job_cb run)
{
    SIM_ASSERT(e != NULL && run != NULL);
    return (kv_job_op){.fut = SIM_FUT_INIT(&job_op_vt), .e = e, .name = name, .run = run};
}

static void gen_path(uint32_t gen, char *buf)
{
    snprintf(buf, GEN_NAME_MAX, "%u.log", gen);
}

static int add_gen(kv_engine *e, uint32_t gen)
{
    if (e->ngens == e->gens_cap) {
        uint32_t cap = e->gens_cap ? e->gens_cap * 2 : 8;
        uint32_t *g = realloc(e->gens, cap * sizeof *g);
        if (g == NULL) return SIM_ENOMEM;
        e->gens = g;
        e->gens_cap = cap;
    }
    SIM_ASSERT(e->ngens == 0 || e->gens[e->ngens - 1] < gen);
    e->gens[e->ngens++] = gen;
    if (gen > e->max_gen) e->max_gen = gen;
    return SIM_OK;
}

/* Creates generation gen and makes its name durable. In a job. */
static int create_gen(sim_world *w, kv_engine *e, uint32_t gen, sim_file *out)
{
    char path[GEN_NAME_MAX];
    gen_path(gen, path);
    int rc = sim_file_open(w, path, SIM_O_CREATE | SIM_O_EXCL, out);
    if (rc != SIM_OK) return rc;
    rc = add_gen(e, gen);
    if (rc == SIM_OK) rc = sim_disk_sync_dir(w, "");
    if (rc != SIM_OK) sim_file_close(w, out);
    return rc;
}

/* Moves writing onto a fresh generation. In a job. */
static int roll(sim_world *w, kv_engine *e)
{
    sim_file f = {0};
    uint32_t gen = ++e->max_gen;
    int rc = create_gen(w, e, gen, &f);
    if (rc != SIM_OK) return rc;
    sim_file_close(w, &e->active);
    e->active = f;
    e->active_gen = gen;
    e->need_roll = false;
    return SIM_OK;
}

/* ---- recovery -------------------------------------------------------------------------------- */

/* The generation of a file name "<digits>.log", or 0. */
static uint32_t parse_gen(const char *name)
{
    uint64_t g = 0;
    const char *p = name;
    for (; *p >= '0' && *p <= '9'; p++) {
        g = g * 10 + (uint64_t)(*p - '0');
        if (g > UINT32_MAX / 2) return 0;
    }
    if (p == name || strcmp(p, ".log") != 0) return 0;
    return (uint32_t)g;
}

/* The generations on disk, ascending. In a job. */
static int list_gens(sim_world *w, kv_engine *e)
{
    uint32_t count = 0;
    int rc = sim_disk_list(w, "", NULL, 0, &count);
    if (rc != SIM_OK || count == 0) return rc;
    sim_dir_entry *ents = calloc(count, sizeof *ents);
    if (ents == NULL) return SIM_ENOMEM;
    uint32_t got = 0;
    rc = sim_disk_list(w, "", ents, count, &got);
    uint32_t *gens = calloc(count, sizeof *gens);
    uint32_t n = 0;
    for (uint32_t i = 0; rc == SIM_OK && gens != NULL && i < got && i < count; i++) {
        uint32_t g = ents[i].is_dir ? 0 : parse_gen(ents[i].name);
        if (g == 0) continue;
        uint32_t at = n++;
        for (; at > 0 && gens[at - 1] > g; at--) gens[at] = gens[at - 1];
        gens[at] = g;
    }
    if (rc == SIM_OK && gens == NULL) rc = SIM_ENOMEM;
    for (uint32_t i = 0; rc == SIM_OK && i < n; i++) rc = add_gen(e, gens[i]);
    free(gens);
    free(ents);
    return rc;
}

/* Applies one replayed or committed record to the index, counting what it makes stale. */
static void index_apply(kv_engine *e, const kv_record *r, kv_pos pos)
{
    kv_pos old;
    if (r->type == KV_REC_SET) {
        int rc = kv_index_set(&e->index, r->key, r->klen, pos, &old);
        SIM_ASSERT(rc == SIM_OK); /* the harness ran out of memory */
    } else {
        kv_index_remove(&e->index, r->key, r->klen, &old);
        e->uncompacted += pos.len;
    }
    e->uncompacted += old.len;
}

static int read_all(sim_world *w, const sim_file *f, uint8_t **out, uint64_t *size)
{
    *out = NULL;
    int rc = sim_file_size(w, f, size);
    if (rc != SIM_OK) return rc;
    uint8_t *buf = malloc(*size ? *size : 1);
    if (buf == NULL) return SIM_ENOMEM;
    size_t got = 0;
    rc = *size ? sim_file_pread(w, f, buf, *size, 0, &got) : SIM_OK;
    if (rc == SIM_OK && got != *size) rc = SIM_EIO;
    if (rc != SIM_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    return SIM_OK;
}

/* Replays the records of one generation; cuts a torn tail off (unless the bug says fail). */
static int replay_gen(sim_world *w, kv_engine *e, uint32_t gen)
{
    char path[GEN_NAME_MAX];
    gen_path(gen, path);
    sim_file f = {0};
    uint8_t *buf = NULL;
    uint64_t size = 0, off = 0;
    int rc = sim_file_open(w, path, 0, &f);
    if (rc == SIM_OK) rc = read_all(w, &f, &buf, &size);
    while (rc == SIM_OK && off < size) {
        kv_record r;
        if (kv_record_decode(buf + off, size - off, &r) != SIM_OK) break;
        index_apply(e, &r, (kv_pos){.gen = gen, .len = r.size, .offset = off});
        if (e->cfg.hooks.replayed) e->cfg.hooks.replayed(e->cfg.hooks.ud, &r);
        off += r.size;
    }
    if (rc == SIM_OK && off < size) {
        if (e->cfg.bug == KV_BUG_NO_TORN_RECOVERY) {
            rc = KV_ECORRUPT; /* the bug: refuse to start instead of cutting the tail */
        } else {
            rc = sim_file_truncate(w, &f, off);
            if (rc == SIM_OK) rc = sim_file_sync(w, &f);
            e->stats.truncations++;
        }
    }
    free(buf);
    sim_file_close(w, &f);
    return rc;
}

static void reset(sim_world *w, kv_engine *e)
{
    kv_index_release(&e->index);
    kv_index_init(&e->index);
    close_readers(w, e);
    sim_file_close(w, &e->active);
    e->ngens = 0;
    e->max_gen = 0;
    e->active_gen = 0;
    e->safe_point = 0;
    e->uncompacted = 0;
    e->need_roll = false;
}

static int open_run(void *state, sim_world *w)
{
    kv_engine *e = ((engine_job *)state)->e;
    if (e->opened) return SIM_EMISUSE;
    reset(w, e);
    if (e->cfg.hooks.recovering) e->cfg.hooks.recovering(e->cfg.hooks.ud);
    int rc = list_gens(w, e);
    for (uint32_t i = 0; rc == SIM_OK && i < e->ngens; i++) rc = replay_gen(w, e, e->gens[i]);
    if (rc == SIM_OK) rc = roll(w, e);
    if (rc != SIM_OK) return rc;
    e->opened = true;
    if (e->cfg.hooks.recovered) e->cfg.hooks.recovered(e->cfg.hooks.ud);
    return SIM_OK;
}

kv_job_op kv_open(kv_engine *e)
{
    return job_op(e, "kv-open", open_run);
}

/* ---- the writer: one group commit per round -------------------------------------------------- */

/* The fields of a request's record, which the call encoded (no checksum to check). */
static kv_record view(const wreq *q)
{
    kv_record r;
    uint32_t klen = q->rec[10] | (uint32_t)q->rec[11] << 8;
    r.type = q->rec[8];
    r.key = (const char *)q->rec + KV_REC_HEADER;
    r.klen = klen;
    r.value = r.key + klen;
    r.vlen = q->size - KV_REC_HEADER - klen;
    r.size = q->size;
    SIM_ASSERT_SLOW(kv_record_decode(q->rec, q->size, &(kv_record){0}) == SIM_OK);
    return r;
}

/* Whether the key of batch entry i is present once the entries before it take effect;
 * *by_round says whether an earlier entry of the round decided it (rather than the index,
 * which holds only committed records). */
static bool present_before(const kv_engine *e, uint32_t i, bool *by_round)
{
    const wreq *q = e->batch[i];
    uint32_t klen = q->rec[10] | (uint32_t)q->rec[11] << 8;
    const uint8_t *key = q->rec + KV_REC_HEADER;
    for (uint32_t j = i; j-- > 0;) {
        const wreq *p = e->batch[j];
        uint32_t plen = p->rec[10] | (uint32_t)p->rec[11] << 8;
        if (p->rc != SIM_OK || plen != klen || memcmp(p->rec + KV_REC_HEADER, key, klen) != 0) {
            continue;
        }
        *by_round = true;
        return p->rec[8] == KV_REC_SET;
    }
    *by_round = false;
    const kv_entry *en = kv_index_find(&e->index, (const char *)key, klen);
    return en != NULL && en->present;
}

static int append_run(void *state, sim_world *w)
{
    kv_engine *e = ((engine_job *)state)->e;
    int rc = e->need_roll ? roll(w, e) : SIM_OK;
    for (uint32_t i = 0; i < e->nbatch; i++) {
        wreq *q = e->batch[i];
        q->rc = rc;
        if (rc != SIM_OK) continue;
        if (q->rec[8] == KV_REC_RM && !present_before(e, i, &q->by_round)) {
            q->rc = KV_ENOTFOUND;
            continue;
        }
        q->by_round = false;
        uint64_t off = 0;
        rc = sim_file_append(w, &e->active, q->rec, q->size, &off);
        q->rc = rc;
        if (rc != SIM_OK) {
            e->need_roll = true;
            continue;
        }
        q->pos = (kv_pos){.gen = e->active_gen, .len = q->size, .offset = off};
        q->seq = ++e->seq;
        e->stats.appended++;
        kv_record r = view(q);
        if (e->cfg.hooks.appended) e->cfg.hooks.appended(e->cfg.hooks.ud, q->seq, &r);
    }
    return SIM_OK;
}

/* The round's records may or may not reach the disk (after a failed fsync, Linux marks the
 * dirty pages clean: a retry would succeed without writing them). Each of them, and every
 * answer that assumed one of them, becomes an I/O error: the caller cannot know, and the
 * index, which never saw them, answers later reads as if they had not happened. An answer the
 * index alone decided stands. Applying it twice changes nothing. */
static void fail_unsynced(kv_engine *e, int rc)
{
    for (uint32_t i = 0; i < e->nbatch; i++) {
        wreq *q = e->batch[i];
        if (q->by_round) SIM_ASSERT(q->rc == KV_ENOTFOUND || q->rc == rc);
        if (q->rc == SIM_OK || q->by_round) q->rc = rc;
    }
}

static int sync_run(void *state, sim_world *w)
{
    kv_engine *e = ((engine_job *)state)->e;
    bool any = false;
    for (uint32_t i = 0; i < e->nbatch; i++) any = any || e->batch[i]->rc == SIM_OK;
    if (!any) return SIM_OK;
    /* The bug no-fsync: the round still waits and acknowledges as if it had synced. */
    int rc = e->cfg.bug == KV_BUG_NO_FSYNC ? SIM_OK : sim_file_sync(w, &e->active);
    e->stats.syncs++;
    if (rc == SIM_OK) return SIM_OK;
    fail_unsynced(e, rc);
    e->need_roll = true;
    return rc;
}

static void apply_batch(kv_engine *e)
{
    for (uint32_t i = 0; i < e->nbatch; i++) {
        const wreq *q = e->batch[i];
        if (q->rc != SIM_OK) continue;
        kv_record r = view(q);
        index_apply(e, &r, q->pos);
    }
}

static void answer_batch(sim_world *w, kv_engine *e)
{
    for (uint32_t i = 0; i < e->nbatch; i++) {
        wreq *q = e->batch[i];
        if (q->rc == SIM_OK && e->cfg.hooks.acked) {
            kv_record r = view(q);
            e->cfg.hooks.acked(e->cfg.hooks.ud, q->seq, &r);
        }
        int32_t v = q->rc;
        sim_try_send(w, &q->reply, &v); /* SIM_ECLOSED when the caller gave up: no matter */
        sim_tx_drop(w, &q->reply);
        free(q);
        e->batch[i] = NULL;
    }
    e->nbatch = 0;
}

static void fail_batch(kv_engine *e, int rc)
{
    for (uint32_t i = 0; i < e->nbatch; i++) e->batch[i]->rc = rc;
}

/* ---- compaction ------------------------------------------------------------------------------ */

/* Copies the live record of entry i into the compaction file cf. files caches opened gens. */
static int copy_entry(sim_world *w, kv_engine *e, uint32_t i, const sim_file *cf,
                      sim_file *files, uint8_t *buf)
{
    const kv_entry *en = &e->index.entries[i];
    e->cpos[i] = (kv_pos){0};
    if (!en->present) return SIM_OK;
    uint32_t slot = 0;
    while (slot < e->ngens && e->gens[slot] != en->pos.gen) slot++;
    if (slot == e->ngens) return KV_ECORRUPT; /* the index names a file the engine lost */
    int rc = SIM_OK;
    if (!sim_handle_valid(w, &files[slot])) {
        char path[GEN_NAME_MAX];
        gen_path(en->pos.gen, path);
        rc = sim_file_open(w, path, 0, &files[slot]);
    }
    size_t got = 0;
    if (rc == SIM_OK) rc = sim_file_pread(w, &files[slot], buf, en->pos.len, en->pos.offset, &got);
    kv_record r;
    if (rc == SIM_OK && (got != en->pos.len || kv_record_decode(buf, got, &r) != SIM_OK)) {
        rc = KV_ECORRUPT;
    }
    uint64_t off = 0;
    if (rc == SIM_OK) rc = sim_file_append(w, cf, buf, got, &off);
    if (rc == SIM_OK) e->cpos[i] = (kv_pos){.gen = e->cgen, .len = (uint32_t)got, .offset = off};
    return rc;
}

static int copy_live(sim_world *w, kv_engine *e, const sim_file *cf)
{
    sim_file *files = calloc(e->ngens, sizeof *files);
    uint8_t *buf = malloc(KV_REC_MAX);
    int rc = files == NULL || buf == NULL ? SIM_ENOMEM : SIM_OK;
    uint32_t ngens = e->ngens; /* the compaction file is not among the sources */
    for (uint32_t i = 0; rc == SIM_OK && i < e->index.count; i++) {
        rc = copy_entry(w, e, i, cf, files, buf);
    }
    for (uint32_t i = 0; files != NULL && i < ngens; i++) sim_file_close(w, &files[i]);
    free(files);
    free(buf);
    return rc;
}

static int compact_run(void *state, sim_world *w)
{
    kv_engine *e = ((engine_job *)state)->e;
    free(e->cpos);
    e->cpos = calloc(e->index.count + 1, sizeof *e->cpos);
    if (e->cpos == NULL) return SIM_ENOMEM;
    e->cgen = e->max_gen + 1;
    sim_file cf = {0}, nf = {0};
    int rc = sim_file_open(w, "compact.tmp", SIM_O_CREATE | SIM_O_TRUNC, &cf);
    if (rc == SIM_OK) rc = copy_live(w, e, &cf);
    if (rc == SIM_OK) rc = sim_file_sync(w, &cf);
    /* Named only once complete and durable: a crash never leaves half a compaction file. */
    char path[GEN_NAME_MAX];
    gen_path(e->cgen, path);
    if (rc == SIM_OK) rc = sim_disk_rename(w, "compact.tmp", path);
    if (rc == SIM_OK) rc = add_gen(e, e->cgen);
    if (rc == SIM_OK) rc = create_gen(w, e, e->cgen + 1, &nf);
    sim_file_close(w, &cf);
    if (rc != SIM_OK) {
        e->max_gen = e->cgen + 1;
        e->need_roll = true; /* never write below a compaction file that may survive */
        return rc;
    }
    sim_file_close(w, &e->active);
    e->active = nf;
    e->active_gen = e->cgen + 1;
    return SIM_OK;
}

/* Points the index at the compacted records; files below cgen become garbage. */
static void compact_install(kv_engine *e)
{
    for (uint32_t i = 0; i < e->index.count; i++) {
        kv_entry *en = &e->index.entries[i];
        if (!en->present) continue;
        SIM_ASSERT(e->cpos[i].len == en->pos.len);
        en->pos = e->cpos[i];
    }
    e->safe_point = e->cgen;
    e->uncompacted = 0;
    e->stats.compactions++;
}

static int delete_run(void *state, sim_world *w)
{
    kv_engine *e = ((engine_job *)state)->e;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < e->ngens; i++) {
        uint32_t g = e->gens[i];
        char path[GEN_NAME_MAX];
        gen_path(g, path);
        if (g < e->safe_point && sim_disk_unlink(w, path) == SIM_OK) continue;
        e->gens[kept++] = g;
    }
    e->ngens = kept;
    return sim_disk_sync_dir(w, "");
}

/* ---- the writer task ------------------------------------------------------------------------- */

typedef struct writer {
    sim_co co;
    kv_engine *e;            /* a reference */
    sim_rx rx;               /* the queue */
    wmsg msg;
} writer;

/* The request just received, and whatever else is queued (up to KV_BATCH_MAX), become the
 * round; each answer's sender is the writer's now. */
static void take_batch(sim_world *w, writer *wr)
{
    kv_engine *e = wr->e;
    e->nbatch = 0;
    do {
        wr->msg.q->reply = wr->msg.reply;
        e->batch[e->nbatch++] = wr->msg.q;
        wr->msg = (wmsg){0};
    } while (e->nbatch < KV_BATCH_MAX && sim_try_recv(w, &wr->rx, &wr->msg) == SIM_OK);
}

static bool compaction_due(const kv_engine *e)
{
    return e->uncompacted > e->cfg.compact_threshold;
}

static int writer_poll(void *state, sim_world *w)
{
    writer *wr = state;
    kv_engine *e = wr->e;
    int rc = SIM_OK;
    SIM_BEGIN(w, &wr->co);
    for (;;) {
        SIM_AWAIT(rc, sim_recv(&wr->rx, &wr->msg));
        if (rc != SIM_OK) break;
        take_batch(w, wr);
        SIM_AWAIT(rc, job_op(e, "kv-append", append_run));
        if (rc != SIM_OK) fail_batch(e, rc); /* not even spawned */
        if (e->cfg.bug == KV_BUG_STALE_INDEX) apply_batch(e); /* the bug: before it is durable */
        if (e->cfg.sync_always && e->cfg.commit_delay_ns > 0) {
            SIM_AWAIT(rc, sim_sleep(w, e->cfg.commit_delay_ns));
        }
        if (e->cfg.sync_always) {
            SIM_AWAIT(rc, job_op(e, "kv-sync", sync_run));
            if (rc != SIM_OK) fail_unsynced(e, rc); /* the job did, unless it never ran */
        }
        if (e->cfg.bug != KV_BUG_STALE_INDEX) apply_batch(e);
        answer_batch(w, e);
        if (!compaction_due(e)) continue;
        SIM_AWAIT(rc, job_op(e, "kv-compact", compact_run));
        if (rc != SIM_OK) continue; /* tried again after the next round */
        compact_install(e);
        SIM_AWAIT(rc, job_op(e, "kv-delete", delete_run));
    }
    SIM_END(rc == SIM_ECLOSED ? SIM_OK : rc);
}

/* The writer's own memory: its reference (a request it had received went into the round, whose
 * leftovers kv_engine_unref frees). */
static void writer_drop(void *state, sim_world *w)
{
    writer *wr = state;
    SIM_ASSERT(wr->msg.q == NULL); /* take_batch empties it in the poll that receives it */
    kv_engine_unref(w, wr->e);
}

/* A request still queued when the queue goes away: free it (its answer's sender is released
 * with it, so the caller's receive ends SIM_ECLOSED). */
static void queued_drop(void *ud, void *msg)
{
    (void)ud;
    free(((wmsg *)msg)->q);
}

int kv_engine_start(sim_world *w, kv_engine *e)
{
    if (!e->opened || e->started) return SIM_EMISUSE;
    int rc = sim_sem_new(w, "kv-readers", e->cfg.readers, &e->sem);
    if (rc == SIM_OK) rc = sim_handle_share(w, &e->sem);
    if (rc == SIM_OK) rc = sim_notify_new(w, "kv-reader-back", &e->reader_back);
    if (rc == SIM_OK) rc = sim_handle_share(w, &e->reader_back);
    if (rc != SIM_OK) return rc;
    writer wr = {.e = e};
    sim_chan_desc qd = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(wmsg), .max_messages = 4096,
                        .name = "kv-writes", .drop_msg = queued_drop,
                        .handle_at = {offsetof(wmsg, reply)}, .handle_count = 1};
    rc = sim_chan_new(w, &qd, &e->wq_tx, &wr.rx);
    if (rc == SIM_OK) rc = sim_handle_share(w, &e->wq_tx);
    if (rc != SIM_OK) return rc;
    wr.e = kv_engine_ref(e);
    sim_task_desc d = {.name = "kv-writer", .poll = writer_poll, .drop = writer_drop,
                       .state = &wr, .state_size = sizeof wr, .daemon = true,
                       .moves = SIM_MOVES(&wr.rx)};
    rc = sim_spawn(w, &d, NULL);
    if (rc != SIM_OK) {
        sim_rx_drop(w, &wr.rx);
        kv_engine_unref(w, e);
        return rc;
    }
    e->started = true;
    return SIM_OK;
}

/* ---- calls: reads ---------------------------------------------------------------------------- */

/* The reader's cached handle of gen, opening it when needed. In a job. */
static int reader_file(sim_world *w, kv_engine *e, kv_reader *r, uint32_t gen, sim_file **out)
{
    uint32_t empty = READER_FILES;
    for (uint32_t i = 0; i < READER_FILES; i++) {
        if (r->gen[i] != 0 && r->gen[i] < e->safe_point) { /* as the reference: drop stale */
            sim_file_close(w, &r->file[i]);
            r->gen[i] = 0;
        }
        if (r->gen[i] == gen) {
            *out = &r->file[i];
            return SIM_OK;
        }
        if (r->gen[i] == 0 && empty == READER_FILES) empty = i;
    }
    if (empty == READER_FILES) { /* full: evict the first */
        empty = 0;
        sim_file_close(w, &r->file[0]);
        r->gen[0] = 0;
    }
    char path[GEN_NAME_MAX];
    gen_path(gen, path);
    int rc = sim_file_open(w, path, 0, &r->file[empty]);
    if (rc != SIM_OK) return rc;
    r->gen[empty] = gen;
    *out = &r->file[empty];
    return SIM_OK;
}

static int read_run(void *state, sim_world *w)
{
    engine_job *j = state;
    kv_engine *e = j->e;
    kv_reader *r = &e->readers[j->reader];
    sim_file *f = NULL;
    int rc = reader_file(w, e, r, j->pos.gen, &f);
    if (rc != SIM_OK) return rc;
    size_t got = 0;
    rc = sim_file_pread(w, f, r->buf, j->pos.len, j->pos.offset, &got);
    if (rc != SIM_OK) return rc;
    kv_record rec;
    if (got != j->pos.len) return KV_ECORRUPT;
    return kv_record_decode(r->buf, got, &rec);
}

void kv_call_init(kv_call *c, kv_engine *e, uint8_t kind, const char *key, uint32_t klen,
                  const char *value, uint32_t vlen)
{
    SIM_ASSERT(klen <= KV_KEY_MAX);
    c->co = (sim_co){0};
    c->e = e;
    c->kind = kind;
    memcpy(c->key, key, klen);
    c->klen = klen;
    c->value = value;
    c->vlen = vlen;
    c->found = false;
    c->out_len = 0;
    c->pos_ = (kv_pos){0};
    c->reader_ = -1;
    c->reply_ = (sim_rx){0};
    c->result_ = 0;
}

/* After SIM_ENOENT: 1 if the key moved (look again), 0 if it did not, -1 if it is gone. */
static int relookup(const kv_engine *e, kv_call *c)
{
    const kv_entry *en = kv_index_find(&e->index, c->key, c->klen);
    if (en == NULL || !en->present) return -1;
    if (en->pos.gen == c->pos_.gen && en->pos.offset == c->pos_.offset) return 0;
    c->pos_ = en->pos;
    return 1;
}

/* Checks the fetched record and copies its value out. */
static int take_value(const kv_engine *e, kv_call *c)
{
    /* The read job checked the record (length and checksum): only its fields are needed here. */
    const uint8_t *buf = e->readers[c->reader_].buf;
    uint32_t klen = buf[10] | (uint32_t)buf[11] << 8;
    SIM_ASSERT(KV_REC_HEADER + klen <= c->pos_.len);
    kv_record r = {.type = buf[8], .key = (const char *)buf + KV_REC_HEADER, .klen = klen,
                   .value = (const char *)buf + KV_REC_HEADER + klen,
                   .vlen = c->pos_.len - KV_REC_HEADER - klen};
    if (r.type != KV_REC_SET || r.klen != c->klen || memcmp(r.key, c->key, c->klen) != 0) {
        return KV_ECORRUPT; /* the index points at another record: "Unexpected command" */
    }
    memcpy(c->out, r.value, r.vlen);
    c->out_len = r.vlen;
    c->found = true;
    return SIM_OK;
}

/* A free reader, now taken; -1 when there is none (only after bug reader-leak lost one). */
static int pick_reader(kv_engine *e)
{
    for (uint32_t r = 0; r < e->cfg.readers; r++) {
        if (!e->reader_busy[r]) {
            e->reader_busy[r] = true;
            return (int)r;
        }
    }
    SIM_ASSERT(e->cfg.bug == KV_BUG_READER_LEAK); /* a permit without a free reader */
    return -1;
}

static void release_reader(sim_world *w, kv_engine *e, kv_call *c, bool failed)
{
    if (c->reader_ < 0) return;
    /* The bug reader-leak: a failed read returns early, its reader never comes back (the
     * permit does: the semaphore is the executor's, the reader the engine's). */
    if (!(failed && e->cfg.bug == KV_BUG_READER_LEAK)) {
        e->reader_busy[c->reader_] = false;
        if (e->reader_waiters > 0) sim_notify_one(w, &e->reader_back);
    }
    int rc = sim_release(w, &e->sem, 1);
    SIM_ASSERT(rc == SIM_OK);
    c->reader_ = -1;
}

static kv_job_op read_op(kv_engine *e, const kv_call *c)
{
    kv_job_op op = job_op(e, "kv-read", read_run);
    op.reader = (uint32_t)c->reader_;
    op.pos = c->pos_;
    return op;
}

static int get_poll(kv_call *c, sim_world *w)
{
    kv_engine *e = c->e;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    if (!e->started) SIM_RETURN(SIM_EMISUSE);
    {
        const kv_entry *en = kv_index_find(&e->index, c->key, c->klen);
        if (en == NULL || !en->present) SIM_RETURN(SIM_OK);
        c->pos_ = en->pos;
    }
    SIM_TRY(sim_acquire(&e->sem, 1));
    while ((c->reader_ = pick_reader(e)) < 0) { /* a reader was lost: wait for another */
        e->reader_waiters++;
        SIM_AWAIT(rc, sim_notified(&e->reader_back));
        e->reader_waiters--;
    }
    for (;;) {
        SIM_AWAIT(rc, read_op(e, c));
        if (rc != SIM_ENOENT || e->cfg.bug == KV_BUG_COMPACTION_RACE) break;
        int moved = relookup(e, c); /* compaction moved the record: read it there */
        if (moved == 0) break;
        if (moved < 0) rc = KV_ENOTFOUND;
        if (moved < 0) break;
        e->stats.read_retries++;
    }
    if (rc == SIM_OK) rc = take_value(e, c);
    if (rc == KV_ENOTFOUND) rc = SIM_OK; /* removed while we looked: not found */
    release_reader(w, e, c, rc != SIM_OK);
    SIM_END(rc);
}

/* ---- calls: writes --------------------------------------------------------------------------- */

/* Encodes the record and queues it for the writer with a fresh oneshot for the answer, whose
 * sender the queue moves to the writer. */
static int submit(sim_world *w, kv_call *c)
{
    kv_engine *e = c->e;
    wmsg m = {.q = malloc(sizeof(wreq) + KV_REC_HEADER + c->klen + c->vlen)};
    if (m.q == NULL) return SIM_ENOMEM;
    memset(m.q, 0, sizeof *m.q);
    m.q->size = kv_record_encode(c->kind, c->key, c->klen, c->value, c->vlen, m.q->rec,
                                 KV_REC_HEADER + c->klen + c->vlen);
    c->value = NULL; /* copied */
    sim_chan_desc d = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(int32_t), .name = "kv-ack"};
    int rc = m.q->size == 0 ? SIM_EINVAL : sim_chan_new(w, &d, &m.reply, &c->reply_);
    if (rc == SIM_OK) rc = sim_try_send(w, &e->wq_tx, &m);
    if (rc != SIM_OK) { /* not queued: the request, and both ends, are still ours */
        free(m.q);
        sim_tx_drop(w, &m.reply);
        sim_rx_drop(w, &c->reply_);
    }
    return rc;
}

static int write_poll(kv_call *c, sim_world *w)
{
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    if (!c->e->started) SIM_RETURN(SIM_EMISUSE);
    rc = submit(w, c);
    if (rc != SIM_OK) SIM_RETURN(rc);
    SIM_AWAIT(rc, sim_recv(&c->reply_, &c->result_));
    sim_rx_drop(w, &c->reply_); /* a connection makes many calls: let each go at once */
    SIM_END(rc == SIM_OK ? c->result_ : rc);
}

int kv_call_poll(void *state, sim_world *w)
{
    kv_call *c = state;
    SIM_ASSERT(c->e != NULL);
    SIM_ASSERT(c->kind == KV_GET || c->kind == KV_REC_SET || c->kind == KV_REC_RM);
    return c->kind == KV_GET ? get_poll(c, w) : write_poll(c, w);
}
