/*
 * px.h: the paxos system's internals, shared by its files: the ballot and the log entry, a
 * node's durable and volatile state, the messages, and the ghost (what the checks remember,
 * outside every node, as an observer that no crash can touch).
 *
 * A log entry is its shadow entry: the proposer's pid, the proposal's counter (unique in the
 * run, so that an entry's identity is its counter) and the proposer's promised ballot when
 * it proposed. A tombstone entry (kind TOMB) fences a proposal for the safe policy.
 */
#ifndef SIM_PAXOS_PX_H
#define SIM_PAXOS_PX_H

#include "sim.h"

#define PX_MAX_NODES 5
#define PX_LOG_MAX 512            /* entries in a log; the workload is kept below it */
#define PX_MAX_APPENDS 48         /* appends per node's client */
#define PX_MAX_PROPOSALS (PX_MAX_NODES * PX_MAX_APPENDS + 1)
#define PX_INTENTS_MAX 48         /* messages one step may owe */
#define PX_PORT 7300

typedef struct px_ballot {
    uint32_t n;                   /* the round; 0 with pid 0 = no ballot */
    uint32_t pid;                 /* node index + 1 */
} px_ballot;

enum { PX_ENTRY = 1, PX_TOMB = 2 };

typedef struct px_entry {
    uint32_t kind;                /* PX_ENTRY or PX_TOMB */
    uint32_t pid;                 /* proposer */
    uint32_t counter;             /* the proposal (1..); for a tombstone: the one it fences */
    uint32_t prop_n;              /* proposer's promised round when it proposed */
} px_entry;

enum { PX_POLICY_PROPOSAL = 0, PX_POLICY_SAFE = 1, PX_POLICY_SUPERSEDED = 2 };
enum {
    PX_BUG_NONE = 0,
    PX_BUG_PROMISE_BEFORE_PERSIST = 1,
    PX_BUG_STALE_SELF_ACCEPT = 2,
    PX_BUG_MINORITY_DECIDE = 3,
    PX_BUG_FORGET_PROMISE = 4,
};
enum { PX_FOLLOWER = 0, PX_LEADER = 1 };
enum { PX_RECOVER = 0, PX_PREPARE = 1, PX_ACCEPT = 2 };

/* What a future completes with. */
enum { PX_RESOLVED = 1, PX_CANCELLED = 2, PX_SUPERSEDED = 3 };

/* Why a future cancelled or was superseded (for notes and messages). */
enum { PX_WHY_NONE = 0, PX_WHY_RULE1 = 1, PX_WHY_RULE2 = 2, PX_WHY_TOMB = 3 };

typedef struct px_outcome {
    uint32_t kind;                /* PX_RESOLVED, PX_CANCELLED, PX_SUPERSEDED */
    uint32_t idx;                 /* resolved: the log index (0-based) */
    uint32_t why;                 /* PX_WHY_* */
} px_outcome;

/* ---- messages ---- */

enum {
    M_HB_REQ = 1, M_HB_REP, M_PREPARE, M_PROMISE, M_ACCEPT_SYNC, M_ACCEPT_DECIDE,
    M_ACCEPTED, M_DECIDE, M_NOT_ACCEPTED, M_PREPARE_REQ, M_FORWARD,
};

typedef struct px_msg {
    uint32_t magic;
    uint32_t type;
    uint32_t from;                /* node index */
    uint32_t round;               /* heartbeats: the round; forward: hops; promise: the
                                     Prepare's decided index it answers */
    px_ballot n;                  /* the ballot the message is about */
    px_ballot n_acc;              /* promise, prepare: the sender's accepted round */
    uint32_t decided;             /* decided index (entries before it are decided) */
    uint32_t acc_len;             /* the sender's log length */
    uint32_t start;               /* entries go at start.. */
    uint32_t count;               /* entries carried */
    uint32_t happy;               /* heartbeat reply: majority-connected */
    uint32_t pad;
    px_entry ents[PX_LOG_MAX];
} px_msg;

#define PX_MSG_HEADER (sizeof(px_msg) - sizeof(px_entry) * PX_LOG_MAX)

/* ---- a waiting proposal at its proposer ---- */

typedef struct px_wait {
    uint32_t counter;             /* 0 = free slot */
    px_ballot prop;               /* my promised ballot when proposed */
    uint32_t idx;                 /* index + 1 once replicated back; 0 pending */
    bool had_idx;                 /* it was replicated back at some point */
    bool fenced;                  /* safe: a tombstone is proposed for it */
    sim_tx reply;                 /* the future's oneshot */
} px_wait;

/* A request from the API to the node's loop: a new proposal and its future's sender. */
typedef struct px_req {
    uint32_t counter;
    uint32_t pad;
    sim_tx reply;
} px_req;

typedef struct px_intent {
    uint32_t type;
    uint32_t to;                  /* node index; UINT32_MAX = every peer */
    uint32_t start;               /* accept-decide: from where */
} px_intent;

typedef struct px_world px_world;

/* Outgoing messages go through a callback (the seed's async API): to is a node index. */
typedef void (*px_send_cb)(void *ud, sim_world *w, uint32_t to, const void *msg, size_t len);

/* One node: its durable state as loaded or last written, and what it keeps in memory. */
typedef struct px_node {
    px_world *pw;
    uint32_t idx;                 /* 0-based */
    /* durable */
    px_ballot promise;
    px_ballot acc_rnd;            /* the round its log was accepted in */
    uint32_t decided;             /* entries [0, decided) are decided */
    uint32_t len;
    px_entry log[PX_LOG_MAX];
    uint64_t version;             /* of the last slot written */
    /* volatile (reset at boot) */
    bool dirty;
    uint32_t role, phase;
    uint32_t reported;            /* decided entries already reported (ghost, futures) */
    px_ballot ble_ballot;         /* my ballot for the election */
    px_ballot ble_leader;         /* who I think leads; pid 0 = nobody */
    uint32_t hb_round;
    bool hb_seen[PX_MAX_NODES];
    px_ballot hb_ballot[PX_MAX_NODES];
    bool hb_happy[PX_MAX_NODES];
    bool happy;
    /* leader */
    bool promised[PX_MAX_NODES];  /* promises of this ballot */
    px_ballot p_acc[PX_MAX_NODES];
    uint32_t p_len[PX_MAX_NODES], p_dec[PX_MAX_NODES], p_count[PX_MAX_NODES];
    uint32_t p_start[PX_MAX_NODES];
    px_entry p_ents[PX_MAX_NODES][PX_LOG_MAX]; /* each promise's suffix, from prep_decided */
    uint32_t prep_decided;        /* my decided index when I sent Prepare */
    bool synced[PX_MAX_NODES];    /* an Accepted of this ballot arrived */
    uint32_t acc_idx[PX_MAX_NODES];
    px_entry buffer[PX_LOG_MAX];  /* proposals held during the prepare phase */
    uint32_t buffered;
    /* proposer */
    px_wait waits[PX_MAX_APPENDS];
    uint32_t tombs[PX_MAX_APPENDS]; /* counters to fence (safe), until seen decided */
    uint32_t ntombs;
    px_ballot sync_note;          /* an AcceptSync (or my own sync) to tell the futures */
    uint32_t ad_start;            /* accept-decide owed to every follower from here; or none */
    /* the step's owed messages */
    px_intent intents[PX_INTENTS_MAX];
    uint32_t nintents;
    px_send_cb send;              /* the transport */
    void *send_ud;
    sim_udp sock;
    sim_tx inbox_tx;
    sim_rx inbox_rx;
    px_msg out;                   /* scratch for building a message */
} px_node;

/* The ghost: per proposal, what happened to it. */
typedef struct px_prop {
    uint32_t pid;                 /* 0 = no such proposal */
    uint32_t outcome;             /* 0 while waiting; PX_RESOLVED, ... ; 4 = lost in a crash */
    uint32_t completions;
    uint32_t resolved_idx;
    uint32_t decided_idx;         /* index + 1 where it was decided; 0 never */
    uint32_t why;                 /* PX_WHY_*: why it cancelled */
    sim_obligation ob;            /* sim's ledger: its future completes once (made by the
                                     client, void if the client's node crashes) */
} px_prop;

struct px_world {
    uint32_t nodes, majority, appends;
    uint32_t policy, bug;
    uint64_t election_ns, think_ns, linger_ns, warmup_ns;
    px_node node[PX_MAX_NODES];
    sim_node_id ids[PX_MAX_NODES];
    /* the client workload */
    uint32_t issued[PX_MAX_NODES];
    uint32_t next_counter;        /* the last counter handed out */
    /* ghost */
    px_entry chosen[PX_LOG_MAX];  /* the decided log as any node reported it */
    uint32_t chosen_len;
    uint32_t ghost_dec[PX_MAX_NODES];       /* decided entries each node reported */
    px_ballot ghost_promised[PX_MAX_NODES]; /* highest ballot each node made known */
    px_prop props[PX_MAX_PROPOSALS];
    uint32_t resolved, cancelled, superseded, lost, superseded_decided;
    uint32_t decisions;           /* entries decided (first time, anywhere) */
    uint64_t last_decide_ns;
    char failure[400];            /* the first violation; "" none */
};

/* node.c */
int px_boot(void *ud, sim_world *w, sim_node_id node);
int px_ballot_cmp(px_ballot a, px_ballot b);
void px_submit(sim_world *w, px_node *nd, uint32_t counter);
void px_fence(sim_world *w, px_node *nd, uint32_t counter);
/* api.c */
void px_notify_decided(sim_world *w, px_node *nd, uint32_t from, uint32_t to);
void px_notify_sync(sim_world *w, px_node *nd, px_ballot n);
void px_wait_add(sim_world *w, px_node *nd, const px_req *rq);
void px_resend(sim_world *w, px_node *nd);
void px_update_indexes(px_node *nd);
int px_boot_client(sim_world *w, px_node *nd, sim_node_id node);
/* sys.c: the ghost */
void px_violation(px_world *pw, sim_world *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void px_ghost_promise(px_world *pw, sim_world *w, uint32_t node, px_ballot n);
void px_ghost_accept(px_world *pw, sim_world *w, uint32_t node, px_ballot n);
void px_ghost_decide(px_world *pw, sim_world *w, uint32_t node, uint32_t i, px_entry e);
void px_ghost_recover(px_world *pw, sim_world *w, const px_node *nd);
void px_ghost_complete(px_world *pw, sim_world *w, uint32_t node, uint32_t counter,
                       px_outcome o);
void px_note(sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* SIM_PAXOS_PX_H */
