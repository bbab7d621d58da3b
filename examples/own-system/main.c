/*
 * main.c: this project's test binary: the whole sim command line over its own system and
 * model (run, replay, show, list, check, merge, check-determinism).
 */
#include "counter.h"

int main(int argc, char **argv)
{
    static const sim_system *const systems[] = {&counter_system};
    static const sim_model *const models[] = {&counter_model};
    sim_main_desc d = {.version = "1.0", .systems = systems, .system_count = 1,
                       .models = models, .model_count = 1};
    return sim_main(argc, argv, &d);
}
