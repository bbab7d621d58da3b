/*
 * paxos.h: OmniPaxos-style sequence paxos with ballot leader election, an async append API
 * whose futures resolve when their entry is decided or cancel, and the shadow log that
 * decides which (the seed 003 proposal; docs/systems/paxos.md is the manual).
 *
 * Nodes "n1".."nN" (N = 3 or 5) elect a leader with heartbeats (ballot leader election, an
 * election timeout the scenario gives as a duration) and replicate a log with Prepare,
 * Promise, AcceptSync, AcceptDecide, Accepted, Decide, NotAccepted, PrepareReq and
 * ProposalForward over datagrams. Promise, accepted round, log and decided index live on the
 * simulated disk, written and fsynced before a node answers; a restarted node recovers from
 * them. Each node runs a client that appends entries through the async API and awaits each
 * future: resolved (decided at an index), cancelled (never decided), or superseded (maybe
 * decided: the runtime design's heuristic).
 *
 * The cancellation policy is the knob `[paxos] cancellation`:
 * - proposal: the seed's two rules as written (cancel on an AcceptSync with a higher ballot;
 *   cancel a pending entry once a later entry of the same proposer is decided);
 * - safe: on the same triggers the proposer fences the entry with a decided tombstone and
 *   cancels only when the tombstone is decided before the entry (then it never can be);
 * - superseded: the runtime's documented heuristic (an entry accepted at an index, then a
 *   leader change before it was decided, reports "superseded: maybe decided").
 *
 * The check (C.9): agreement, validity, stability across crashes, integrity, promise
 * monotonicity, and per proposal: resolved(idx) => decided at idx; cancelled => never
 * decided (proposal and safe); each future completes at most once; every future completes
 * before the run ends (the liveness phase bounds it).
 *
 * Planted bugs (`[paxos] bug`): promise-before-persist, stale-self-accept, minority-decide,
 * forget-promise (see docs/systems/paxos.md).
 */
#ifndef SIM_PAXOS_H
#define SIM_PAXOS_H

#include "sim.h"

extern const sim_system sim_paxos_system;

#endif /* SIM_PAXOS_H */
