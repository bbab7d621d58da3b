/*
 * cli_host.c: the running executable's GNU build-id, the part of a binary's identity that
 * tells two builds apart (sim.h, sim_main_desc.build_id). The linker writes it as an ELF
 * note (NT_GNU_BUILD_ID, owner "GNU"): a hash of the executable's contents, the same on
 * every run of one build and different after any change. It is read from the program
 * headers of the main program (the first object dl_iterate_phdr visits), never from a file.
 * Host-facing and outside every simulated decision: it is recorded, never drawn from.
 */
#define _GNU_SOURCE 1
#include <elf.h>
#include <link.h>
#include <string.h>

#include "cli.h"

typedef struct build_id_search {
    char *hex;
    size_t size;
    bool found;
} build_id_search;

/* Whether the note at p (len bytes of notes, aligned to align) holds the build-id; writes
 * its hex into s. */
static bool scan_notes(const unsigned char *p, size_t len, size_t align, build_id_search *s)
{
    SIM_ASSERT(align == 4 || align == 8);
    size_t off = 0;
    while (off + sizeof(ElfW(Nhdr)) <= len) {
        ElfW(Nhdr) nh;
        memcpy(&nh, p + off, sizeof nh);
        size_t name_off = off + sizeof nh;
        size_t desc_off = name_off + ((nh.n_namesz + align - 1) & ~(align - 1));
        size_t next = desc_off + ((nh.n_descsz + align - 1) & ~(align - 1));
        if (next > len || next <= off) return false;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            memcmp(p + name_off, "GNU", 4) == 0 && nh.n_descsz > 0 &&
            (size_t)nh.n_descsz * 2 < s->size) {
            for (size_t i = 0; i < nh.n_descsz; i++) {
                static const char digits[] = "0123456789abcdef";
                s->hex[2 * i] = digits[p[desc_off + i] >> 4];
                s->hex[2 * i + 1] = digits[p[desc_off + i] & 15];
            }
            s->hex[2 * (size_t)nh.n_descsz] = '\0';
            return true;
        }
        off = next;
    }
    return false;
}

static int visit(struct dl_phdr_info *info, size_t info_size, void *ud)
{
    (void)info_size;
    build_id_search *s = ud;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum && !s->found; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        s->found = scan_notes(p, ph->p_memsz, ph->p_align == 8 ? 8 : 4, s);
    }
    return 1; /* the main program is the first object: stop after it */
}

bool cli_build_id(char *hex, size_t size)
{
    SIM_ASSERT(hex != NULL);
    SIM_ASSERT(size > 0);
    build_id_search s = {.hex = hex, .size = size, .found = false};
    hex[0] = '\0';
    dl_iterate_phdr(visit, &s);
    return s.found;
}
