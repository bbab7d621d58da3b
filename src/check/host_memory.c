/*
 * host_memory.c: the memory behind the checker's memo. Its tables grow to hundreds of MiB and
 * are read at random, so they are mapped directly, asking the kernel for huge pages: with
 * 4 KiB pages each page costs a fault when first touched (100k of them on the benchmark's kv
 * history, and slower still with two keys searched at once) and most reads miss the TLB.
 * Growing a mapping moves pages rather than copying bytes. Only speed depends on any of this.
 * How much the memo may hold is the search's own deterministic limit (a verdict `unknown`
 * past it); the host refusing a mapping below that limit is out of memory, which is fatal.
 */
#define _GNU_SOURCE /* mremap, MADV_HUGEPAGE */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

static size_t whole_pages(size_t bytes)
{
    long got = sysconf(_SC_PAGESIZE);
    size_t page = got > 0 ? (size_t)got : 4096;
    return (bytes + page - 1) / page * page;
}

static void *hint(void *p, size_t bytes)
{
    if (p == MAP_FAILED) sim__oom(bytes, "the checker's memo");
    (void)madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

void *sim__host_map(size_t bytes)
{
    bytes = whole_pages(bytes);
    return hint(mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                bytes);
}

void *sim__host_remap(void *p, size_t old_bytes, size_t bytes)
{
    if (p == NULL) return sim__host_map(bytes);
    bytes = whole_pages(bytes);
    return hint(mremap(p, whole_pages(old_bytes), bytes, MREMAP_MAYMOVE), bytes);
}

void sim__host_unmap(void *p, size_t bytes)
{
    if (p != NULL) (void)munmap(p, whole_pages(bytes));
}
