/*
 * mem.c: the size-class allocator behind task states, job states and channel rings.
 *
 * Blocks come in power-of-two classes from 16 bytes to SIM_STATE_MAX, carved from 64 KiB
 * chunks (a larger class gets a chunk of one block). A freed block goes on its class's LIFO
 * free list and is handed out again first, so a world that spawns and finishes a million
 * short tasks touches a handful of blocks, and one that holds a million at once costs one
 * malloc per 64 KiB instead of one per task. The costs, stated plainly: up to 2x internal
 * fragmentation, and memory returns to the system only when the world is freed. Which block
 * is reused never matters to the simulation: nothing is ordered by address.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define CHUNK_SIZE ((size_t)64 << 10)

static void chunk_track(sim__mem *mem, void *chunk)
{
    SIM_ASSERT(mem->chunks_len <= mem->chunks_cap);
    if (mem->chunks_len == mem->chunks_cap) {
        uint32_t ncap = mem->chunks_cap ? mem->chunks_cap * 2 : 64;
        SIM_ASSERT(ncap > mem->chunks_cap); /* 2^31 chunks of 64 KiB: far beyond any host */
        mem->chunks = sim__xrealloc_array(mem->chunks, ncap, sizeof(void *), "allocator chunks");
        mem->chunks_cap = ncap;
    }
    mem->chunks[mem->chunks_len++] = chunk;
}

/* Carves a new chunk into blocks of class k and puts them on the free list, lowest address
 * first out. */
static void refill(sim__mem *mem, unsigned k)
{
    SIM_ASSERT(k < SIM__MEM_CLASSES);
    SIM_ASSERT(mem->free[k] == NULL); /* only an empty class is refilled */
    size_t block = (size_t)16 << k;
    size_t size = block > CHUNK_SIZE ? block : CHUNK_SIZE;
    SIM_ASSERT(size % block == 0);
    uint8_t *chunk = sim__xmalloc(size, "task and channel states");
    chunk_track(mem, chunk);
    for (size_t off = size; off >= block; off -= block) {
        void *b = chunk + off - block;
        memcpy(b, &mem->free[k], sizeof(void *));
        SIM__POISON(b, block);
        mem->free[k] = b;
    }
}

void *sim__mem_alloc_slow(sim__mem *mem, size_t size)
{
    SIM_ASSERT(size > 0);
    if (size > SIM_STATE_MAX) return sim__xmalloc(size, "a large task or channel state");
    unsigned k = sim__mem_class(size);
    if (mem->free[k] == NULL) refill(mem, k);
    SIM_ASSERT(mem->free[k] != NULL);
    return sim__mem_alloc(mem, size);
}

void sim__mem_release(sim__mem *mem)
{
    for (uint32_t i = 0; i < mem->chunks_len; i++) free(mem->chunks[i]);
    free(mem->chunks);
    memset(mem, 0, sizeof *mem);
}

/* ---- growable tables ------------------------------------------------------------------------ */

void sim__grow_slow(void **array, uint32_t *cap, uint32_t need, size_t elem)
{
    SIM_ASSERT(array != NULL);
    SIM_ASSERT(need > 0);
    SIM_ASSERT(elem > 0);
    if (need <= *cap) return;
    uint64_t ncap = *cap ? *cap : 16;
    while (ncap < need) ncap *= 2;
    if (ncap > UINT32_MAX) ncap = UINT32_MAX;
    *array = sim__xrealloc_array(*array, (size_t)ncap, elem, "a simulation table");
    *cap = (uint32_t)ncap;
    SIM_ASSERT(*cap >= need);
}

#ifdef SIM_SLOW_CHECKS
/* Tables up to this size move on every allocation; beyond it the copying would make the
 * slow-check build quadratic on the tests that hold a million tasks or timers. A build may
 * set it lower: the fuzz targets do, so that one input stays fast. */
#ifndef SHAKE_MAX_BYTES
#define SHAKE_MAX_BYTES ((size_t)256 << 10)
#endif

void sim__table_shake(void **array, uint32_t cap, size_t elem)
{
    SIM_ASSERT(array != NULL);
    if (*array == NULL || cap == 0 || (size_t)cap * elem > SHAKE_MAX_BYTES) return;
    void *moved = sim__xmalloc((size_t)cap * elem, "a simulation table (moved)");
    memcpy(moved, *array, (size_t)cap * elem);
    free(*array);
    *array = moved;
}
#endif
