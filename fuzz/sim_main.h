/*
 * sim_main.h: cmd/sim.c's main as the fuzz targets call it. The Makefile compiles cmd/sim.c
 * once more for them with -Dmain=fuzz_sim_main and this header forced in, so that the renamed
 * function has its prototype; fuzz.h includes it for the targets.
 */
#ifndef SIM_FUZZ_SIM_MAIN_H
#define SIM_FUZZ_SIM_MAIN_H

int fuzz_sim_main(int argc, char **argv);

#endif /* SIM_FUZZ_SIM_MAIN_H */
