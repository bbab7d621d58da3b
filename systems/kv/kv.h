/*
 * kv.h: the kv system under test, an async log-structured key/value store with a server and
 * clients (talent-plan's kvs, project 5 "asynchrony"), written against sim.h only.
 *
 * The store (engine.c) keeps append-only generation files `<gen>.log` on its node's simulated
 * disk: records with a length and a checksum, an in-memory index key -> (gen, offset, length),
 * compaction once the bytes of stale records pass a threshold, and recovery that replays the
 * files in generation order and truncates a torn last record. Every file access runs in a
 * blocking-pool job (sim_spawn_blocking) behind an async API (kv_call): two layers of pools as
 * in the seed, the executor for networking and the blocking pool for files. One writer task
 * serialises writes (group commit: append, optionally wait, fsync, then update the index and
 * acknowledge); gets go straight to a pool of readers.
 *
 * The server (server.c) accepts stream connections on KV_PORT and answers length-prefixed
 * requests (proto.c: Get, Set, Remove) in order per connection; errors travel as messages
 * ("Key not found"). Clients (client.c) draw a workload, record every operation in the run's
 * history and end with a read of every key. kv.c ties them into a sim_system with the checks
 * linearizable, durable, recovers, errors and liveness. docs/systems/kv.md is the manual.
 *
 * This header is the system's own: the engine and protocol are exposed for the unit tests.
 */
#ifndef SIM_KV_H
#define SIM_KV_H

#include "sim.h"

#define KV_PORT 4000
#define KV_KEY_MAX 256                 /* bytes of a key, at least 1 */
#define KV_VALUE_MAX 4096              /* bytes of a value */
#define KV_REC_HEADER 12               /* crc, body length, type, pad, key length */
#define KV_REC_MAX (KV_REC_HEADER + KV_KEY_MAX + KV_VALUE_MAX)
#define KV_FRAME_MAX (KV_KEY_MAX + KV_VALUE_MAX + 16) /* largest request or response */
#define KV_READERS_MAX 64
#define KV_BATCH_MAX 64                /* writes the writer takes per group commit */
#define KV_MAX_CLIENTS 32
#define KV_MAX_KEYS 1000

/* Engine results beyond sim's codes. */
#define KV_ENOTFOUND (-1000)           /* "Key not found" */
#define KV_ECORRUPT (-1001)            /* a record failed its checks */

/* The planted bugs ([kv] bug); docs/systems/kv.md says why each is one. */
typedef enum kv_bug {
    KV_BUG_NONE = 0,
    KV_BUG_NO_FSYNC = 1,         /* sync = always, but the commit never calls fsync */
    KV_BUG_STALE_INDEX = 2,      /* the index points at a record before it is durable */
    KV_BUG_READER_LEAK = 3,      /* a failed read never gives its reader back */
    KV_BUG_COMPACTION_RACE = 4,  /* a read of a file compaction deleted is an error */
    KV_BUG_NO_TORN_RECOVERY = 5, /* a torn last record makes open fail */
} kv_bug;

#define KV_BUG_CHOICES "none|no-fsync|stale-index|reader-leak|compaction-race|no-torn-recovery"

/* Parses a [kv] bug value; KV_BUG_NONE for unknown text. */
kv_bug kv_bug_parse(const char *text);

/* ---- records and the index (log.c) ----------------------------------------------------------- */

enum { KV_REC_SET = 1, KV_REC_RM = 2 };

/* A decoded record; key and value point into the decoded buffer. */
typedef struct kv_record {
    uint8_t type;            /* KV_REC_SET or KV_REC_RM */
    const char *key;
    uint32_t klen;           /* 1..KV_KEY_MAX */
    const char *value;       /* SET only */
    uint32_t vlen;           /* 0 for RM */
    uint32_t size;           /* bytes of the whole record */
} kv_record;

/* A record's checksum: the low 32 bits of sim_hash (XXH3) of len bytes. */
uint32_t kv_checksum(const void *data, size_t len);
/* Encodes a record into buf; returns its size, or 0 when it does not fit or is malformed
 * (empty key, key or value too long, a value on an RM). */
uint32_t kv_record_encode(uint8_t type, const char *key, uint32_t klen, const char *value,
                          uint32_t vlen, uint8_t *buf, size_t cap);
/* Decodes the record at the start of buf (avail bytes): SIM_OK, or KV_ECORRUPT when it is
 * short, fails its checksum or is malformed (a torn or damaged record). */
int kv_record_decode(const uint8_t *buf, size_t avail, kv_record *out);

/* Where a record lives. */
typedef struct kv_pos {
    uint32_t gen;            /* the file <gen>.log */
    uint32_t len;            /* bytes of the record */
    uint64_t offset;
} kv_pos;

/* One key of the index; entries stay in insertion order (compaction copies in that order). */
typedef struct kv_entry {
    char *key;               /* owned, klen bytes, not NUL-terminated */
    uint32_t klen;
    bool present;            /* false after a remove */
    kv_pos pos;              /* the latest SET record when present */
} kv_entry;

typedef struct kv_index {
    kv_entry *entries;       /* insertion order */
    uint32_t count;
    uint32_t cap;
    uint32_t *slots;         /* open addressing: entry index + 1, 0 = empty */
    uint32_t nslots;         /* a power of two, more than twice count */
    uint32_t live;           /* entries present */
} kv_index;

void kv_index_init(kv_index *ix);
void kv_index_release(kv_index *ix);
/* The entry of a key (present or not), or NULL. */
kv_entry *kv_index_find(const kv_index *ix, const char *key, uint32_t klen);
/* Points the key at pos; *old gets the previous position when it was present (len 0 when
 * not). SIM_ENOMEM. */
int kv_index_set(kv_index *ix, const char *key, uint32_t klen, kv_pos pos, kv_pos *old);
/* Removes the key; *old as kv_index_set. */
void kv_index_remove(kv_index *ix, const char *key, uint32_t klen, kv_pos *old);

/* ---- the engine (engine.c) ------------------------------------------------------------------- */

/* What the engine tells the harness (never the system's own logic): kv.c uses it for the
 * durability oracle. Every callback is optional; ud comes first. */
typedef struct kv_hooks {
    void *ud;
    /* A record reached the file (page cache): seq numbers records in log order per engine. */
    void (*appended)(void *ud, uint64_t seq, const kv_record *rec);
    /* The write with that seq was acknowledged to its caller. */
    void (*acked)(void *ud, uint64_t seq, const kv_record *rec);
    /* Recovery begins (again, after a transient error): forget what an earlier try replayed. */
    void (*recovering)(void *ud);
    /* Recovery replayed a record, in log order. */
    void (*replayed)(void *ud, const kv_record *rec);
    /* Recovery finished: the index is what replay built. */
    void (*recovered)(void *ud);
} kv_hooks;

typedef struct kv_config {
    bool sync_always;            /* fsync before acknowledging; false: page cache only */
    uint64_t compact_threshold;  /* stale bytes that trigger a compaction; 0 = 1 MiB */
    uint32_t readers;            /* concurrent reads, 1..KV_READERS_MAX; 0 = 4 */
    uint64_t commit_delay_ns;    /* group commit: wait this long between append and fsync */
    kv_bug bug;
    kv_hooks hooks;
} kv_config;

typedef struct kv_engine kv_engine;

/* What an engine did, for tests and reports. */
typedef struct kv_engine_stats {
    uint64_t appended;       /* records written */
    uint64_t syncs;          /* fsyncs of the active file */
    uint64_t compactions;    /* finished */
    uint64_t truncations;    /* torn tails cut off during recovery */
    uint64_t read_retries;   /* reads redone after compaction moved their record */
    uint64_t stale_bytes;    /* stale record bytes now */
    uint32_t active_gen;
    uint32_t files;          /* generation files the engine knows */
} kv_engine_stats;

/* A new engine in plain memory, with one reference (the caller's). SIM_ENOMEM, SIM_EINVAL. */
int kv_engine_new(const kv_config *config, kv_engine **out);
/* Another reference, for a task or job that uses the engine. */
kv_engine *kv_engine_ref(kv_engine *e);
/* Drops a reference; the last one closes the engine's files, channel end, semaphore and
 * notify, and frees it. Memory only: safe in a drop function, a crash's included. NULL is
 * allowed. */
void kv_engine_unref(sim_world *w, kv_engine *e);
void kv_engine_stats_get(const kv_engine *e, kv_engine_stats *out);

/* One of the engine's blocking-pool jobs as an awaitable: its first poll spawns the job (with
 * a reference on the engine), later polls await it, and its result is the job's (or the
 * spawn's error). Dropped unfinished, it detaches the job, which runs on as started jobs do. */
typedef struct kv_job_op {
    sim_fut fut;
    kv_engine *e;            /* borrowed until the spawn takes a reference */
    const char *name;        /* the job's name: a literal */
    sim_job_cb run;
    uint32_t reader;         /* read jobs: the reader they use */
    kv_pos pos;              /* read jobs: the record */
    sim_join join_;          /* private: the job, once spawned */
    sim_join_op wait_;       /* private: awaiting it */
} kv_job_op;

/* Opening, as an awaitable: replays every <gen>.log of the node in a blocking-pool job,
 * truncating a torn tail, then creates a fresh active file. Results: SIM_OK; SIM_EIO,
 * SIM_ENOSPC (try again later); KV_ECORRUPT (bug no-torn-recovery: a torn record);
 * SIM_EMISUSE (already open); SIM_ENOMEM. Must be awaited in a task on the engine's node:
 *
 *     SIM_AWAIT(rc, kv_open(s->e));
 */
kv_job_op kv_open(kv_engine *e);

/* After a successful open: makes the writer's queue, the readers' semaphore and notify
 * (shared with the running task's node, as the engine is) and spawns the writer task (a
 * daemon on that node). SIM_EMISUSE when not open or already started. */
int kv_engine_start(sim_world *w, kv_engine *e);

/* One call, get, set or rm, as a sub-coroutine: the state is caller storage (a field of the
 * caller's state), prepared by kv_call_init and awaited with sim_call:
 *
 *     kv_call_init(&c->call, c->e, KV_REC_SET, key, klen, value, vlen);
 *     SIM_AWAIT(rc, sim_call(&c->call, kv_call_poll));
 *
 * Results: SIM_OK, KV_ENOTFOUND (an rm of a missing key; a get of one is SIM_OK with found
 * = false), or an I/O error. A get's value lands in out[0..out_len). Await a call to
 * completion: a get dropped while its read job runs (as a crash of the engine's node drops
 * it, taking the engine along) leaves its reader taken, because a sub-coroutine has no drop
 * hook to give it back; a dropped set or rm is still applied (its answer finds nobody). */
typedef struct kv_call {
    sim_co co;
    kv_engine *e;            /* borrowed; must outlive the call */
    uint8_t kind;            /* KV_REC_SET, KV_REC_RM, or 0 for a get */
    char key[KV_KEY_MAX];
    uint32_t klen;
    const char *value;       /* set: borrowed until the first poll copies it */
    uint32_t vlen;
    bool found;              /* get: the key was there */
    char out[KV_VALUE_MAX];  /* get: the value */
    uint32_t out_len;
    /* private */
    kv_pos pos_;
    int32_t reader_;         /* the reader held, -1 = none */
    sim_rx reply_;           /* writes: the oneshot the writer answers on */
    int32_t result_;
} kv_call;

#define KV_GET 0

/* Prepares a call; key is copied (klen <= KV_KEY_MAX), value borrowed (see above). */
void kv_call_init(kv_call *c, kv_engine *e, uint8_t kind, const char *key, uint32_t klen,
                  const char *value, uint32_t vlen);
/* The call's poll function, for sim_call. */
int kv_call_poll(void *state, sim_world *w);

/* "Key not found", "Corrupt record", "IO error: ..." for an engine result. */
const char *kv_strerror(int rc, char *buf, size_t size);

/* ---- the protocol (proto.c) ------------------------------------------------------------------ */

/* Each message is one frame (sim_frame_read / sim_frame_write: a 4-byte big-endian length).
 * Request: kind (1 Get, 2 Set, 3 Remove), key length (u16 BE), key, and for Set the value
 * length (u32 BE) and value. Response: kind (1 Get, 2 Set, 3 Remove, 4 Err); Get: found (0 or
 * 1), then for 1 the value length (u32 BE) and value; Err: length (u16 BE) and message. */
enum { KV_MSG_GET = 1, KV_MSG_SET = 2, KV_MSG_REMOVE = 3, KV_MSG_ERR = 4 };

typedef struct kv_message {
    uint8_t kind;            /* KV_MSG_* */
    const char *key;         /* requests */
    uint32_t klen;
    bool found;              /* Get response */
    const char *value;       /* Set request, Get response; Err: the message */
    uint32_t vlen;
} kv_message;

/* Encode into buf (cap bytes): SIM_OK with *len, SIM_ETOOBIG when it does not fit, SIM_EINVAL
 * for a malformed message (bad kind, empty or long key). */
int kv_request_encode(const kv_message *m, uint8_t *buf, size_t cap, uint32_t *len);
int kv_response_encode(const kv_message *m, uint8_t *buf, size_t cap, uint32_t *len);
/* Decode len bytes; pointers in *m point into buf. SIM_EINVAL when malformed. */
int kv_request_decode(const uint8_t *buf, uint32_t len, kv_message *m);
int kv_response_decode(const uint8_t *buf, uint32_t len, kv_message *m);

/* ---- the server (server.c) ------------------------------------------------------------------- */

/* What a server reports to the harness; ud first; each optional. */
typedef struct kv_server_hooks {
    void *ud;
    /* Opening the store failed for good (not a transient I/O error): the server stops. */
    void (*open_failed)(void *ud, sim_world *w, int rc);
    /* Listening on the port failed (on a host world: the address is taken): the server
     * stops. */
    void (*listen_failed)(void *ud, sim_world *w, int rc);
    /* The store is open and the server listens. */
    void (*serving)(void *ud, sim_world *w);
    /* A request was answered with an error. */
    void (*error)(void *ud, sim_world *w, const kv_message *req, int rc);
} kv_server_hooks;

/* Boots a server on the running node: a daemon task that opens a new engine with config,
 * retries transient open errors, starts it and serves KV_PORT. config and hooks are copied. */
int kv_server_spawn(sim_world *w, const kv_config *config, const kv_server_hooks *hooks);

/* A second engine under the same server: a synchronous store (kvs-server's sqlite, outside
 * systems/) whose functions run inside blocking-pool jobs on the server's node, so that they
 * may block; on a host world from several pool threads at once (they must be thread-safe).
 * call answers as kv_call does: SIM_OK (a get fills found, out and out_len), KV_ENOTFOUND for
 * an rm of a missing key, or an error; kv_strerror names it, or `error` when it is set. */
typedef struct kv_sync_call {
    uint8_t kind;            /* KV_GET, KV_REC_SET or KV_REC_RM */
    uint32_t klen;
    uint32_t vlen;
    uint32_t out_len;        /* get */
    bool found;              /* get */
    char error[96];          /* the store's own message for an error result, or "" */
    char key[KV_KEY_MAX];
    char value[KV_VALUE_MAX];
    char out[KV_VALUE_MAX];  /* get */
} kv_sync_call;

typedef struct kv_sync_store {
    void *ud;                                          /* borrowed for the world's life */
    int (*open)(void *ud, sim_world *w);               /* once, before any call */
    int (*call)(void *ud, sim_world *w, kv_sync_call *c);
} kv_sync_store;

/* A server, in full. */
typedef struct kv_server_desc {
    kv_config config;        /* the log engine's (unused with a store) */
    kv_server_hooks hooks;
    uint16_t port;           /* 0 = KV_PORT */
    const kv_sync_store *store; /* NULL = the log engine; else borrowed for the world's life */
} kv_server_desc;

/* As kv_server_spawn, with a port and optionally a synchronous store; desc is copied. */
int kv_server_start(sim_world *w, const kv_server_desc *desc);

extern const sim_system sim_kv_system;

#endif /* SIM_KV_H */
