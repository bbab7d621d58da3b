/*
 * log.c: the on-disk record format of the kv store and its in-memory index (see kv.h).
 *
 * A record is a 12-byte header and a body:
 *
 *     0  u32  checksum of bytes 4 .. end (the length field, the rest of the header and the
 *             body): the low 32 bits of sim_hash (XXH3)
 *     4  u32  length of everything after this field (8 + key + value)
 *     8  u8   type: 1 SET, 2 RM
 *     9  u8   0
 *    10  u16  key length, 1..KV_KEY_MAX
 *    12       key, then the value (SET only)
 *
 * Integers are little-endian. A record torn by a crash (a short tail, sectors of zeros or
 * garbage) fails the length bounds or the checksum, so recovery can tell where the good prefix
 * of a file ends.
 *
 * The index maps a key to the position of its latest SET record. Entries live in an array in
 * insertion order (a removed key keeps its slot, marked absent) and a hash table of entry
 * numbers finds them; the hash is sim_hash of the key's bytes, so nothing depends on addresses,
 * and iteration (compaction) follows insertion order, never hash order.
 */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

uint32_t kv_checksum(const void *data, size_t len)
{
    return (uint32_t)sim_hash(data, len, 0);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t kv_record_encode(uint8_t type, const char *key, uint32_t klen, const char *value,
                          uint32_t vlen, uint8_t *buf, size_t cap)
{
    if (type != KV_REC_SET && type != KV_REC_RM) return 0;
    if (klen == 0 || klen > KV_KEY_MAX || vlen > KV_VALUE_MAX) return 0;
    if (type == KV_REC_RM && vlen > 0) return 0;
    uint32_t size = KV_REC_HEADER + klen + vlen;
    if (size > cap) return 0;
    put_u32(buf + 4, size - 8);
    buf[8] = type;
    buf[9] = 0;
    buf[10] = (uint8_t)klen;
    buf[11] = (uint8_t)(klen >> 8);
    memcpy(buf + KV_REC_HEADER, key, klen);
    if (vlen > 0) memcpy(buf + KV_REC_HEADER + klen, value, vlen);
    put_u32(buf, kv_checksum(buf + 4, size - 4));
    SIM_ASSERT(size <= KV_REC_MAX);
    return size;
}

int kv_record_decode(const uint8_t *buf, size_t avail, kv_record *out)
{
    memset(out, 0, sizeof *out);
    if (avail < KV_REC_HEADER) return KV_ECORRUPT;
    uint32_t body = get_u32(buf + 4);
    if (body < KV_REC_HEADER - 8 + 1 || body > KV_REC_MAX - 8) return KV_ECORRUPT;
    uint32_t size = body + 8;
    if (size > avail) return KV_ECORRUPT;
    if (get_u32(buf) != kv_checksum(buf + 4, size - 4)) return KV_ECORRUPT;
    uint32_t klen = (uint32_t)buf[10] | (uint32_t)buf[11] << 8;
    if (klen == 0 || klen > KV_KEY_MAX || KV_REC_HEADER + klen > size || buf[9] != 0) {
        return KV_ECORRUPT;
    }
    uint8_t type = buf[8];
    uint32_t vlen = size - KV_REC_HEADER - klen;
    if ((type != KV_REC_SET && type != KV_REC_RM) || (type == KV_REC_RM && vlen > 0)) {
        return KV_ECORRUPT;
    }
    *out = (kv_record){.type = type, .key = (const char *)buf + KV_REC_HEADER, .klen = klen,
                       .value = (const char *)buf + KV_REC_HEADER + klen, .vlen = vlen,
                       .size = size};
    return SIM_OK;
}

/* ---- the index ------------------------------------------------------------------------------- */

static uint64_t key_hash(const char *key, uint32_t klen)
{
    return sim_hash(key, klen, 0);
}

void kv_index_init(kv_index *ix)
{
    memset(ix, 0, sizeof *ix);
}

void kv_index_release(kv_index *ix)
{
    for (uint32_t i = 0; i < ix->count; i++) free(ix->entries[i].key);
    free(ix->entries);
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

/* The slot holding the key, or the empty slot where it would go. */
static uint32_t slot_of(const kv_index *ix, const char *key, uint32_t klen)
{
    SIM_ASSERT(ix->nslots > 0);
    uint32_t mask = ix->nslots - 1;
    uint32_t s = (uint32_t)key_hash(key, klen) & mask;
    for (;;) {
        uint32_t e = ix->slots[s];
        if (e == 0) return s;
        const kv_entry *en = &ix->entries[e - 1];
        if (en->klen == klen && memcmp(en->key, key, klen) == 0) return s;
        s = (s + 1) & mask;
    }
}

kv_entry *kv_index_find(const kv_index *ix, const char *key, uint32_t klen)
{
    if (ix->nslots == 0) return NULL;
    uint32_t e = ix->slots[slot_of(ix, key, klen)];
    return e == 0 ? NULL : &ix->entries[e - 1];
}

/* Doubles the hash table (and the entry array when full). */
static int grow(kv_index *ix)
{
    if (ix->count == ix->cap) {
        uint32_t cap = ix->cap ? ix->cap * 2 : 16;
        kv_entry *en = realloc(ix->entries, (size_t)cap * sizeof *en);
        if (en == NULL) return SIM_ENOMEM;
        ix->entries = en;
        ix->cap = cap;
    }
    if ((uint64_t)(ix->count + 1) * 2 < ix->nslots) return SIM_OK;
    uint32_t n = ix->nslots ? ix->nslots * 2 : 32;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (slots == NULL) return SIM_ENOMEM;
    free(ix->slots);
    ix->slots = slots;
    ix->nslots = n;
    for (uint32_t i = 0; i < ix->count; i++) {
        ix->slots[slot_of(ix, ix->entries[i].key, ix->entries[i].klen)] = i + 1;
    }
    return SIM_OK;
}

int kv_index_set(kv_index *ix, const char *key, uint32_t klen, kv_pos pos, kv_pos *old)
{
    SIM_ASSERT(klen > 0 && klen <= KV_KEY_MAX);
    SIM_ASSERT(pos.len > 0);
    *old = (kv_pos){0};
    kv_entry *en = kv_index_find(ix, key, klen);
    if (en == NULL) {
        if (grow(ix) != SIM_OK) return SIM_ENOMEM;
        char *copy = malloc(klen);
        if (copy == NULL) return SIM_ENOMEM;
        memcpy(copy, key, klen);
        ix->slots[slot_of(ix, key, klen)] = ix->count + 1;
        en = &ix->entries[ix->count++];
        *en = (kv_entry){.key = copy, .klen = klen};
    }
    if (en->present) *old = en->pos;
    if (!en->present) ix->live++;
    en->present = true;
    en->pos = pos;
    SIM_ASSERT(ix->live <= ix->count);
    return SIM_OK;
}

void kv_index_remove(kv_index *ix, const char *key, uint32_t klen, kv_pos *old)
{
    *old = (kv_pos){0};
    kv_entry *en = kv_index_find(ix, key, klen);
    if (en == NULL || !en->present) return;
    *old = en->pos;
    en->present = false;
    en->pos = (kv_pos){0};
    SIM_ASSERT(ix->live > 0);
    ix->live--;
}
