/*
 * proto.c: the kv wire protocol (see kv.h): one message per length-prefixed frame, encoded as
 * a kind byte and big-endian lengths. Decoding checks every length against the frame, so a
 * malformed or truncated frame is SIM_EINVAL, never a read past the buffer. The framing
 * itself (the 4-byte length, partial reads, oversized frames) is sim_frame_read/_write's.
 */
#include <string.h>

#include "kv.h"

static void put_be(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint32_t get_be(const uint8_t *p, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) v = v << 8 | p[i];
    return v;
}

int kv_request_encode(const kv_message *m, uint8_t *buf, size_t cap, uint32_t *len)
{
    *len = 0;
    if (m->kind < KV_MSG_GET || m->kind > KV_MSG_REMOVE) return SIM_EINVAL;
    if (m->klen == 0 || m->klen > KV_KEY_MAX) return SIM_EINVAL;
    if (m->kind == KV_MSG_SET && m->vlen > KV_VALUE_MAX) return SIM_EINVAL;
    size_t need = 3 + (size_t)m->klen + (m->kind == KV_MSG_SET ? 4 + (size_t)m->vlen : 0);
    if (need > cap) return SIM_ETOOBIG;
    buf[0] = m->kind;
    put_be(buf + 1, m->klen, 2);
    memcpy(buf + 3, m->key, m->klen);
    if (m->kind == KV_MSG_SET) {
        put_be(buf + 3 + m->klen, m->vlen, 4);
        if (m->vlen > 0) memcpy(buf + 7 + m->klen, m->value, m->vlen);
    }
    *len = (uint32_t)need;
    return SIM_OK;
}

int kv_request_decode(const uint8_t *buf, uint32_t len, kv_message *m)
{
    memset(m, 0, sizeof *m);
    if (len < 3 || buf[0] < KV_MSG_GET || buf[0] > KV_MSG_REMOVE) return SIM_EINVAL;
    uint32_t klen = get_be(buf + 1, 2);
    if (klen == 0 || klen > KV_KEY_MAX || 3 + klen > len) return SIM_EINVAL;
    m->kind = buf[0];
    m->key = (const char *)buf + 3;
    m->klen = klen;
    if (m->kind != KV_MSG_SET) return 3 + klen == len ? SIM_OK : SIM_EINVAL;
    if (len - 3 - klen < 4) return SIM_EINVAL;
    uint32_t vlen = get_be(buf + 3 + klen, 4);
    if (vlen > KV_VALUE_MAX || (uint64_t)7 + klen + vlen != len) return SIM_EINVAL;
    m->value = (const char *)buf + 7 + klen;
    m->vlen = vlen;
    return SIM_OK;
}

int kv_response_encode(const kv_message *m, uint8_t *buf, size_t cap, uint32_t *len)
{
    *len = 0;
    size_t need = 1;
    if (m->kind == KV_MSG_GET) {
        if (m->found && m->vlen > KV_VALUE_MAX) return SIM_EINVAL;
        need = 2 + (m->found ? 4 + (size_t)m->vlen : 0);
    } else if (m->kind == KV_MSG_ERR) {
        if (m->vlen > UINT16_MAX) return SIM_EINVAL;
        need = 3 + (size_t)m->vlen;
    } else if (m->kind != KV_MSG_SET && m->kind != KV_MSG_REMOVE) {
        return SIM_EINVAL;
    }
    if (need > cap) return SIM_ETOOBIG;
    buf[0] = m->kind;
    if (m->kind == KV_MSG_GET) {
        buf[1] = m->found ? 1 : 0;
        if (m->found) put_be(buf + 2, m->vlen, 4);
        if (m->found && m->vlen > 0) memcpy(buf + 6, m->value, m->vlen);
    } else if (m->kind == KV_MSG_ERR) {
        put_be(buf + 1, m->vlen, 2);
        if (m->vlen > 0) memcpy(buf + 3, m->value, m->vlen);
    }
    *len = (uint32_t)need;
    return SIM_OK;
}

int kv_response_decode(const uint8_t *buf, uint32_t len, kv_message *m)
{
    memset(m, 0, sizeof *m);
    if (len < 1) return SIM_EINVAL;
    m->kind = buf[0];
    if (m->kind == KV_MSG_SET || m->kind == KV_MSG_REMOVE) return len == 1 ? SIM_OK : SIM_EINVAL;
    if (m->kind == KV_MSG_ERR) {
        if (len < 3 || get_be(buf + 1, 2) != len - 3) return SIM_EINVAL;
        m->value = (const char *)buf + 3;
        m->vlen = len - 3;
        return SIM_OK;
    }
    if (m->kind != KV_MSG_GET || len < 2 || buf[1] > 1) return SIM_EINVAL;
    m->found = buf[1] == 1;
    if (!m->found) return len == 2 ? SIM_OK : SIM_EINVAL;
    if (len < 6) return SIM_EINVAL;
    uint32_t vlen = get_be(buf + 2, 4);
    if (vlen > KV_VALUE_MAX || (uint64_t)6 + vlen != len) return SIM_EINVAL;
    m->value = (const char *)buf + 6;
    m->vlen = vlen;
    return SIM_OK;
}
