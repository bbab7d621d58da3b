/*
 * shutdown.h: a supervisor in the style of a runtime rewrite's graceful shutdown (seed 000),
 * with a library that blocks on its own runtime (seed 004), for testing sim's shutdown and
 * cancellation strategies and oracles.
 *
 * One node, "app". Its supervisor starts five components as tasks of a task set, each with
 * a child of the world's shutdown token:
 * - requester: issues `requests` calls, each a task of its own that sends a request with a
 *   oneshot for the reply to the worker, waits for the reply up to 1s and runs the call's
 *   completion callback exactly once: with the reply, the timeout, or (when the call is
 *   aborted) SIM_ECANCELED, from its drop function. On the signal it drops its calls.
 * - worker: takes requests from an unbounded queue, processes each (50..300ms) and replies;
 *   on the signal it stops taking new ones and refuses what is queued.
 * - legacy: synchronous code on the blocking pool, in jobs of 200ms, checking the token
 *   between jobs.
 * - flusher: on the signal it flushes (50ms), which fails with SIM_EIO on one seed in three.
 * - fetcher: every 300ms calls a library whose fetch is async (10ms).
 * The supervisor waits for the signal (or for a component to end first: early exit), cancels
 * every component, then collects them with a grace of 3s, after which it aborts the rest.
 *
 * Oracles it relies on, all sim's own: the ledger (each callback, and each request's reply,
 * is an obligation), [check] shutdown_within, leaks, nested block_on, deadlock. Scenarios:
 * scenarios/shutdown/. Planted bugs ([shutdown] bug = ...), docs/systems/shutdown.md:
 *   select-loses-message  the worker receives inside the losing branch of a select with the
 *                         token, so a request taken when the signal comes is lost unanswered
 *   callback-never        an aborted call runs its callback only if it had not sent yet
 *   callback-twice        a call marks itself done one await after running its callback, so
 *                         an abort in between runs it again
 *   hang-on-failure       the supervisor waits for a "done" message from every component, on
 *                         a channel it holds a sender of, without a timeout
 *   blocking-overrun      legacy runs one 8s job that nothing can interrupt
 *   nested-block-on       the library's fetch calls sim_block_on from inside the task
 *   leak                  the worker's heartbeat task never looks at the token
 *
 * It uses sim.h only, like every system under test.
 */
#ifndef SIM_SHUTDOWN_H
#define SIM_SHUTDOWN_H

#include "sim.h"

extern const sim_system sim_shutdown_system;

#endif /* SIM_SHUTDOWN_H */
