/*
 * fuzz.h: what the libFuzzer targets in fuzz/ share: libFuzzer's entry points, the copy of
 * the sim command's main (cmd/sim.c compiled with main renamed, see the Makefile), ASan's
 * options, and the oracle's way of failing. Included once per target: it defines a function.
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

#include "sim_main.h" /* fuzz_sim_main: cmd/sim.c's main, compiled for the targets */

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

/* ASan's options for every target, read at start-up (ASAN_OPTIONS still overrides them). A
 * quarantine of 16 MiB instead of 256: a freed block still waits long enough to catch a late
 * use (the slow-check build moves small tables on every allocation, so freed tables are
 * many), and memory is reused instead of each allocation faulting in fresh pages, which made
 * a kv seed three times slower. */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}

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
