/*
 * demo.h: the demo world, a small system that exercises the executor end to end.
 *
 * Two nodes. On n1 a ticker sends a numbered request every 100 ms over a bounded mpsc to a
 * counter, each with a oneshot for the reply, and waits for the reply with a timeout; the
 * counter persists every fifth count on n1's blocking pool before it replies. On n2 a
 * heartbeat publishes a watch value every 250 ms and a monitor follows it until a
 * cancellation token fires. A world-level chaos task crashes n1 at 1.0 s, restarts it at
 * 1.5 s, and pauses n2 from 2.0 s to 2.3 s. The run ends when the restarted ticker has sent
 * its 20 requests.
 *
 * It uses sim.h only, like every system under test.
 */
#ifndef SIM_DEMO_H
#define SIM_DEMO_H

#include "sim.h"

/* What the demo's tasks observed; filled in by sim_demo_boot's tasks as the run goes. */
typedef struct sim_demo_stats {
    uint32_t ticks;          /* requests sent by tickers, all incarnations */
    uint32_t replies;        /* replies received */
    uint32_t timeouts;       /* requests whose reply did not come in time */
    uint32_t persisted;      /* blocking-pool jobs completed */
    uint32_t beats;          /* watch values published */
    uint32_t seen;           /* watch values the monitor saw (intermediate ones are skipped) */
    uint64_t counter_total;  /* sum of request numbers counted, current incarnation */
} sim_demo_stats;

/* Adds the demo's nodes and its chaos task to w. stats must outlive the world. */
int sim_demo_setup(sim_world *w, sim_demo_stats *stats);

#endif /* SIM_DEMO_H */
