/*
 * demo.h: the demo world, a small system that exercises the executor end to end.
 *
 * Two nodes. On n1 a ticker sends a numbered request every 100 ms over a bounded mpsc to a
 * counter, each with a oneshot for the reply, and waits for the reply with a timeout; the
 * counter persists every fifth count on n1's blocking pool (appending the total to
 * counter.log and fsyncing it) before it replies. On n2 a
 * heartbeat publishes a watch value every 250 ms and a monitor follows it until a
 * cancellation token fires. A world-level chaos task crashes n1 (at 1 s by default), restarts
 * it, and pauses n2 for a while. The run ends when the restarted ticker has sent its
 * requests.
 *
 * Planted bugs, for testing sim itself ([demo] bug):
 *   deadlock          the heartbeat, after its 6th beat, awaits an ack nobody will send
 *   lost-reply        the counter drops request 7's reply sender unused: the ticker's
 *                     receive fails, and the request has neither a reply nor a timeout
 *   nondeterministic  the persist job's latency comes from a counter that lives in the
 *                     process, not the world: a second run of the same seed differs
 *   heap-dependent    the persist job's latency comes from the address malloc returns: a
 *                     second run in the same process usually agrees, one in another
 *                     process (a replay, a CI worker) does not
 *   assert            a SIM_ASSERT fails at the third heartbeat on seeds 2, 5, 8, ... (a
 *                     crashing seed among passing ones)
 *
 * It uses sim.h only, like every system under test.
 */
#ifndef SIM_DEMO_H
#define SIM_DEMO_H

#include "sim.h"

typedef enum sim_demo_bug {
    SIM_DEMO_BUG_NONE = 0,
    SIM_DEMO_BUG_DEADLOCK,
    SIM_DEMO_BUG_LOST_REPLY,
    SIM_DEMO_BUG_NONDETERMINISTIC,
    SIM_DEMO_BUG_CRASH,           /* the process aborts at the third heartbeat */
    SIM_DEMO_BUG_HEAP_DEPENDENT,
    SIM_DEMO_BUG_ASSERT,          /* SIM_ASSERT fails at the third heartbeat of seeds 3k+2 */
} sim_demo_bug;

typedef struct sim_demo_config {
    uint32_t ticks;            /* requests per ticker incarnation; 0 = 20 */
    uint64_t crash_at_ns;      /* when chaos crashes n1; 0 = 1 s; UINT64_MAX = never */
    uint64_t restart_after_ns; /* how long n1 stays down; 0 = 500 ms */
    uint64_t pause_at_ns;      /* when chaos pauses n2; 0 = 2 s; UINT64_MAX = never */
    uint64_t pause_for_ns;     /* how long n2 stays paused; 0 = 300 ms */
    sim_demo_bug bug;
} sim_demo_config;

/* What the demo's tasks observed; filled in as the run goes. */
typedef struct sim_demo_stats {
    uint32_t ticks;          /* requests sent by tickers, all incarnations */
    uint32_t tickers_done;   /* ticker incarnations that sent all their requests */
    uint32_t replies;        /* replies received */
    uint32_t timeouts;       /* requests whose reply did not come in time */
    uint32_t persisted;      /* totals appended to counter.log and fsynced */
    uint32_t persist_errors; /* persists that failed (disk faults) */
    uint32_t beats;          /* watch values published */
    uint32_t seen;           /* watch values the monitor saw (intermediate ones are skipped) */
    uint64_t counter_total;  /* sum of request numbers counted, current incarnation */
    sim_demo_config config;  /* what the run was given, defaults applied */
} sim_demo_stats;

/* Adds the demo's nodes and its chaos task to w. stats must outlive the world. config may be
 * NULL (all defaults). */
int sim_demo_setup(sim_world *w, const sim_demo_config *config, sim_demo_stats *stats);

/* The demo as a system for scenario files: section [demo] with keys ticks, crash_at,
 * restart_after, pause_at, pause_for, bug. Its check: every request got a reply or timed
 * out, except the one a crash may cut off, and every heartbeat was published. */
extern const sim_system sim_demo_system;

#endif /* SIM_DEMO_H */
