/*
 * testhooks.h: internal hooks that tests need and the public header must not offer. Tests
 * include this file by its path; nothing in sim.h refers to it.
 *
 * The allocation countdown (alloc.c), as SQLite's fault simulator: the allocation that fails
 * is counted per thread over every allocation through the sim__x* wrappers (core.h), which
 * then take the fatal out-of-memory path exactly as if the host had refused it.
 */
#ifndef SIM_CORE_TESTHOOKS_H
#define SIM_CORE_TESTHOOKS_H

#include <stdint.h>

/* Arms the countdown on this thread: n allocations succeed and the next one fails (n = 0:
 * the very next one). UINT64_MAX disarms it. */
void sim__alloc_fail_after(uint64_t n);
/* Allocations through the wrappers on this thread so far (a failed one included). */
uint64_t sim__alloc_count(void);

#endif /* SIM_CORE_TESTHOOKS_H */
