/*
 * host.c: the one place where sim reads the host clock. Wall time is reported beside a run
 * (runs.wall_ms, progress lines) and never feeds a decision or an event.
 */
#include <time.h>

#include "core.h"

uint64_t sim__host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
