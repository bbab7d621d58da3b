/*
 * kv_sys.h: what the kv system's glue (kv.c) and its workload clients (client.c) share: the
 * run state of one seed. Private to systems/kv/.
 *
 * The run state outlives every node and task of the world: it is the harness's, not the
 * system's, and holds the workload's settings, each client's progress across its crashes,
 * the durability oracle's ghost of every key, and what the checks report.
 */
#ifndef SIM_KV_SYS_H
#define SIM_KV_SYS_H

#include "kv.h"

#define KV_VALUE_TEXT 24     /* workload values: "v<client>-<n>" */

typedef struct kv_run kv_run;

/* One client, across its boots. */
typedef struct kv_client_ctx {
    kv_run *run;
    uint32_t index;          /* 0-based: c1 is 0 */
    uint32_t invoked;        /* workload operations invoked, every boot */
    uint32_t incarnation;    /* the history's process is index + clients * incarnation */
    bool done;               /* finished its workload (counted in clients_done) */
    uint32_t final_next;     /* c1's liveness phase: the next key to read */
} kv_client_ctx;

/* A value a key may hold after a crash: the last acknowledged write's, or a later one's. */
typedef struct kv_cand {
    uint64_t seq;            /* boot << 40 | the engine's record number; 0: the initial */
    bool present;
    char value[KV_VALUE_TEXT];
} kv_cand;

/* The oracle's view of one key. */
typedef struct kv_ghost {
    kv_cand *cand;           /* in log order */
    uint32_t n;
    uint32_t cap;
    bool rec_present;        /* what the running recovery has replayed so far */
    char rec_value[KV_VALUE_TEXT];
} kv_ghost;

struct kv_run {
    kv_config cfg;           /* the engine's; hooks point at the oracle */
    uint32_t clients;        /* 1..KV_MAX_CLIENTS */
    uint32_t ops;            /* per client */
    uint32_t keys;           /* k0 .. k<keys-1> */
    uint32_t mix[3];         /* weights of get, set, rm */
    uint64_t think_max_ns;   /* a client's pause between operations: uniform in [0, max] */
    uint64_t timeout_ns;     /* no answer by then: the outcome is unknown */
    bool check_linearizable, check_durable, check_recovers, check_errors, check_liveness;
    sim_node_id server;
    uint32_t server_boots;
    uint32_t recoveries;     /* boots that reached serving */
    uint32_t clients_done;
    bool final_done;         /* the liveness phase read every key */
    bool halted;             /* the server failed to recover for good: clients stop */
    bool watching;           /* the watcher runs, and `done` is its token */
    sim_token done;          /* cancelled when the run is finished (kv_run_progress) */
    uint32_t ok, failed, unknown;
    uint32_t unexpected;     /* error answers no fault explains */
    uint32_t corrupt;        /* "Corrupt record" answers */
    char durable_msg[200];   /* the first durability violation */
    char recover_msg[200];   /* the first failed recovery */
    char error_msg[200];     /* the first unexpected error answer */
    kv_ghost *ghost;         /* keys of them */
    kv_client_ctx cl[KV_MAX_CLIENTS];
};

/* Says that clients_done, final_done or halted changed: when the run is finished, wakes the
 * watcher so that the run ends now. */
void kv_run_progress(kv_run *run, sim_world *w);

/* The boot function of a client node (ud: its kv_client_ctx). */
int kv_client_boot(void *ud, sim_world *w, sim_node_id node);
/* The workload key number of a key ("k12" -> 12), or -1. */
int kv_key_number(const kv_run *run, const char *key, uint32_t klen);

#endif /* SIM_KV_SYS_H */
