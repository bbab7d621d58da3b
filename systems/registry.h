/*
 * registry.h: the systems under test compiled into the sim command, by name. A scenario's
 * [scenario] system names one of them.
 */
#ifndef SIM_REGISTRY_H
#define SIM_REGISTRY_H

#include "sim.h"

extern const sim_system *const sim_systems[];
extern const uint32_t sim_system_count;

#endif /* SIM_REGISTRY_H */
