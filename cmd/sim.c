/*
 * sim.c: the stock sim command: the command line of libsim (sim_main) over the bundled
 * systems. A user's test binary is the same main over its own (examples/own-system/).
 */
#include "../systems/registry.h"
#include "version.h"

int main(int argc, char **argv)
{
    sim_main_desc d = {.name = "sim", .version = SIM_VERSION_STRING,
                       .build_id = "git " SIM_GIT_COMMIT, .systems = sim_systems,
                       .system_count = sim_system_count};
    return sim_main(argc, argv, &d);
}
