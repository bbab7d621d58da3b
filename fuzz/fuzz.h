/*
 * fuzz.h: what the libFuzzer targets in fuzz/ share: libFuzzer's entry points, the copy of
 * the sim command's main (cmd/sim.c compiled with main renamed, see the Makefile), and the
 * oracle's way of failing.
 *
 * A target reads the fuzzer's bytes, calls the library as a user or the sim command would,
 * and checks what came back against an oracle: a round trip, a second opinion, or "errors are
 * fine, crashes, leaks and undefined behaviour are not" (ASan and UBSan say those). An oracle
 * failure prints both sides and aborts, which libFuzzer reports as a crash and saves.
 */
#ifndef SIM_FUZZ_H
#define SIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* cmd/sim.c's main, compiled for the fuzz targets under this name. */
int fuzz_sim_main(int argc, char **argv);

/* An oracle: when cond is false, prints the message and aborts. */
#define FUZZ_CHECK(cond, ...)                                                                  \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz: %s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* The input as a NUL-terminated string (malloc'd), or NULL when it holds a NUL byte: text
 * inputs are C strings to the library, as sim_scenario_load and the EDN reader see them. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size) != NULL) return NULL;
    char *t = malloc(size + 1);
    if (t == NULL) return NULL;
    memcpy(t, data, size);
    t[size] = '\0';
    return t;
}

#endif /* SIM_FUZZ_H */
