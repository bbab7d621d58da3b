/*
 * sim.c: the stock sim command: the command line of libsim (sim_main) over the bundled
 * systems, with the demo command. A user's test binary is the same main over its own
 * (examples/own-system/).
 */
#include "../systems/registry.h"
#include "cli.h"
#include "version.h"

int main(int argc, char **argv)
{
    static const sim_main_command demo = {"demo", "run the demo world once", cmd_demo};
    sim_main_desc d = {.name = "sim", .version = SIM_VERSION_STRING,
                       .build_id = "git " SIM_GIT_COMMIT, .systems = sim_systems,
                       .system_count = sim_system_count, .commands = &demo, .command_count = 1};
    return sim_main(argc, argv, &d);
}
