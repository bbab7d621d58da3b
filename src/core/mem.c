/*
 * mem.c: the size-class allocator behind task states, job states and channel buffers.
 *
 * Blocks come in power-of-two classes from 16 bytes to SIM_STATE_MAX. A freed block goes on
 * its class's LIFO free list and is handed out again before malloc is asked, so a world that
 * spawns and finishes a million short tasks touches a handful of blocks. The cost is up to 2x
 * internal fragmentation, and memory held on free lists is returned only when the world is
 * freed. Which block is reused never matters to the simulation: nothing is ordered by address.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static unsigned size_class(size_t size)
{
    SIM_ASSERT(size > 0);
    SIM_ASSERT(size <= SIM_STATE_MAX);
    unsigned k = 0;
    while (((size_t)16 << k) < size) k++;
    SIM_ASSERT(k < SIM__MEM_CLASSES);
    return k;
}

void *sim__mem_alloc(sim__mem *mem, size_t size)
{
    unsigned k = size_class(size);
    void *block = mem->free[k];
    if (block != NULL) {
        memcpy(&mem->free[k], block, sizeof(void *));
    } else {
        block = malloc((size_t)16 << k);
        if (block == NULL) return NULL;
    }
    mem->live_blocks++;
    return block;
}

void *sim__mem_zalloc(sim__mem *mem, size_t size)
{
    void *block = sim__mem_alloc(mem, size);
    if (block != NULL) memset(block, 0, size);
    return block;
}

void sim__mem_free(sim__mem *mem, void *block, size_t size)
{
    if (block == NULL) return;
    SIM_ASSERT(mem->live_blocks > 0);
    unsigned k = size_class(size);
    memcpy(block, &mem->free[k], sizeof(void *));
    mem->free[k] = block;
    mem->live_blocks--;
}

void sim__mem_release(sim__mem *mem)
{
    for (unsigned k = 0; k < SIM__MEM_CLASSES; k++) {
        void *block = mem->free[k];
        while (block != NULL) {
            void *next;
            memcpy(&next, block, sizeof(void *));
            free(block);
            block = next;
        }
        mem->free[k] = NULL;
    }
}
