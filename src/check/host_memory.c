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

/* Below this a mapping's pages fault in one by one as they are touched. */
#define POPULATE_FROM (256u << 10)

/* Faults in [from, to) of p at once, when p is large. A page faulted one at a time costs a
 * trap into the kernel each (about 10 us under this machine's hypervisor, against well under
 * 1 us to clear it), and every page of a large slot table is touched within its first
 * inserts, of a grown arena soon after. Small mappings (a small history's search, of which a
 * test makes thousands) touch a few pages of their first 160 KiB: those fault as before, as
 * everything does on kernels before 5.14, which refuse the advice. */
static void populate(void *p, size_t from, size_t to)
{
#ifdef MADV_POPULATE_WRITE
    if (to >= POPULATE_FROM && to > from) {
        (void)madvise((char *)p + from, to - from, MADV_POPULATE_WRITE);
    }
#else
    (void)p;
    (void)from;
    (void)to;
#endif
}

/* Whole units of SIM__TABLE_UNIT (check.h) are mapped at an address aligned to one, so that
 * the kernel can back each with a huge page at its first touch: one trap instead of 512, and
 * clearing 2 MiB at once (touching 16 MiB here took 74 to 100 ms of CPU in 4 KiB pages, 38 ms
 * faulted in with MADV_POPULATE_WRITE, 1.3 ms in huge pages). Without huge pages they fault
 * page by page as they are touched. */
static bool in_units(size_t bytes)
{
    return bytes >= SIM__TABLE_UNIT && bytes % SIM__TABLE_UNIT == 0;
}

static void *map_units(size_t bytes)
{
    size_t over = bytes + SIM__TABLE_UNIT;
    char *p = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) sim__oom(bytes, "the checker's tables");
    size_t head = (SIM__TABLE_UNIT - (uintptr_t)p % SIM__TABLE_UNIT) % SIM__TABLE_UNIT;
    if (head > 0) (void)munmap(p, head);
    if (over - head > bytes) (void)munmap(p + head + bytes, over - head - bytes);
    return hint(p + head, bytes);
}

void *sim__host_map(size_t bytes)
{
    if (in_units(bytes)) return map_units(bytes);
    bytes = whole_pages(bytes);
    void *p = hint(mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                   bytes);
    populate(p, 0, bytes);
    return p;
}

void *sim__host_remap(void *p, size_t old_bytes, size_t bytes)
{
    if (p == NULL) return sim__host_map(bytes);
    if (in_units(bytes)) {
        /* Moved pages would land where the kernel likes, off the units: copy them. */
        void *q = map_units(bytes);
        memcpy(q, p, old_bytes);
        sim__host_unmap(p, old_bytes);
        return q;
    }
    bytes = whole_pages(bytes);
    void *q = hint(mremap(p, whole_pages(old_bytes), bytes, MREMAP_MAYMOVE), bytes);
    populate(q, whole_pages(old_bytes), bytes);
    return q;
}

void sim__host_unmap(void *p, size_t bytes)
{
    if (p != NULL) (void)munmap(p, whole_pages(bytes));
}
