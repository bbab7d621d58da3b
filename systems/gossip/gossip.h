/*
 * gossip.h: a gossip toy over the simulated network, for network faults and for
 * determinism at scale.
 *
 * N nodes (n1..nN) each originate rumors at times drawn from their own stream and keep the
 * ones they originated on "disk" (state that survives a crash). Every period each node sends
 * the set of rumors it knows, as a bitmap in one datagram, to `fanout` peers drawn at random;
 * a node that receives a set merges it. A world-level watcher finishes the run when every
 * node is up and knows every rumor. Crashes lose what a node learned (not what it
 * originated), drops, duplicates, partitions and clogs delay convergence; the fault plan's
 * liveness phase then says whether it converges once faults stop.
 *
 * Its check: every rumor known by every node at the end, and no node ever knew a rumor that
 * was never originated (a corrupted or misrouted datagram).
 *
 * Planted bug ([gossip] bug = forget-on-restart): a restarted node does not reload its own
 * rumors, so a rumor whose only holder crashed before spreading it is lost and the run can
 * never converge.
 */
#ifndef SIM_GOSSIP_H
#define SIM_GOSSIP_H

#include "sim.h"

#define SIM_GOSSIP_MAX_NODES 64
#define SIM_GOSSIP_MAX_RUMORS 256

typedef struct sim_gossip_config {
    uint32_t nodes;          /* 2..64; 0 = 5 */
    uint32_t rumors;         /* per node, 1..; nodes * rumors <= 256; 0 = 4 */
    uint64_t period_ns;      /* gossip interval; 0 = 50 ms */
    uint32_t fanout;         /* peers per round; 0 = 2 */
    uint64_t spread_ns;      /* rumors originate within [0, spread); 0 = 1 s */
    bool forget_on_restart;  /* the planted bug */
} sim_gossip_config;

/* What a node's boot function reads (private). */
typedef struct sim_gossip_node_ {
    struct sim_gossip_stats *stats;
    uint32_t index;
    uint64_t origin_at[SIM_GOSSIP_MAX_RUMORS];
} sim_gossip_node_;

typedef struct sim_gossip_stats {
    sim_gossip_config config;
    uint64_t durable[SIM_GOSSIP_MAX_NODES][SIM_GOSSIP_MAX_RUMORS / 64]; /* originated, per node */
    uint64_t known[SIM_GOSSIP_MAX_NODES][SIM_GOSSIP_MAX_RUMORS / 64];   /* learned, this boot */
    uint64_t sent;
    uint64_t received;
    uint32_t bogus;          /* rumors received that nobody originated */
    bool converged;
    uint64_t converged_ns;
    sim_gossip_node_ nodes_[SIM_GOSSIP_MAX_NODES]; /* private */
} sim_gossip_stats;

/* Adds the nodes and the watcher. stats must outlive the world (it is large: allocate it).
 * SIM_EINVAL for a configuration out of range. */
int sim_gossip_setup(sim_world *w, const sim_gossip_config *config, sim_gossip_stats *stats);

extern const sim_system sim_gossip_system;

#endif /* SIM_GOSSIP_H */
