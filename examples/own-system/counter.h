/*
 * counter.h: a replicated counter, the system under test of this example project: clients
 * add to it and read it through a primary that keeps every add on a backup first. Written
 * against sim.h only, as any user's system is.
 */
#ifndef COUNTER_H
#define COUNTER_H

#include <sim.h>

#define COUNTER_MAX_CLIENTS 8

/* The system: [counter] clients, ops, bug (none|forget-on-restart). */
extern const sim_system counter_system;
/* The checker model: add (a value >= 0) and read of one counter, 0 at first. */
extern const sim_model counter_model;

#endif /* COUNTER_H */
