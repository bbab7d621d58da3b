/*
 * registry.c: the list behind registry.h. A new system adds its sim_system here.
 */
#include "registry.h"

#include "actor/actor.h"
#include "demo/demo.h"
#include "gossip/gossip.h"
#include "kv/kv.h"
#include "paxos/paxos.h"
#include "register/register.h"
#include "shutdown/shutdown.h"

const sim_system *const sim_systems[] = {
    &sim_actor_system,
    &sim_demo_system,
    &sim_gossip_system,
    &sim_kv_system,
    &sim_paxos_system,
    &sim_register_system,
    &sim_shutdown_system,
};

const uint32_t sim_system_count = sizeof sim_systems / sizeof sim_systems[0];
