/*
 * register.h: one integer register on a server, read, written and compare-and-set by clients
 * over datagrams; what they saw is recorded as a history and checked for linearizability.
 *
 * A server node ("server") holds the register, nil until the first write. Client nodes
 * "c1".."cN" each invoke `ops` operations, drawn from their own random stream: read, write V
 * or cas [OLD NEW], values 0..4. A request travels as a datagram; the server takes it, waits a
 * random delay, applies it, waits again and sends the reply, so operations overlap and
 * complete out of order. Each operation goes into the world's history (sim_history_invoke /
 * sim_history_complete) as Jepsen records it: ok, fail (a cas whose old value did not match)
 * or info (no reply within the client's timeout: it may or may not have taken effect).
 *
 * Its check: the history is linearizable under sim_model_register (sim_check). A failure
 * names the first operations that cannot take effect; `sim check --db FILE RUN --model
 * register` prints the whole report for a recorded run.
 *
 * Planted bug ([register] bug = stale-read): the server answers reads from a copy of the
 * register that it refreshes only every third write or successful cas, so a read can return
 * a value older than one a completed write already installed.
 *
 * It uses sim.h only, like every system under test. docs/systems/register.md is its manual.
 */
#ifndef SIM_REGISTER_H
#define SIM_REGISTER_H

#include "sim.h"

#define SIM_REGISTER_MAX_CLIENTS 32

extern const sim_system sim_register_system;

#endif /* SIM_REGISTER_H */
