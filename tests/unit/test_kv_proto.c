/*
 * test_kv_proto.c: the kv system's wire protocol (systems/kv/proto.c) and its server
 * (server.c): messages round-trip through encode and decode, malformed ones are refused, and a
 * real server on the simulated network answers Get, Set and Remove in order over one
 * connection whose segments are 1 to 3 bytes (every frame arrives in pieces), answers a
 * malformed request with an error message, and closes a connection that announces a frame
 * larger than its limit.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../systems/kv/kv.h"
#include "../helpers.h"

/* Goal: every request and response kind survives encode then decode. Method: encode into a
 * buffer, decode, compare the fields. */
Test(kv_proto, round_trips)
{
    uint8_t buf[KV_FRAME_MAX];
    uint32_t len = 0;
    kv_message in[] = {{.kind = KV_MSG_GET, .key = "k1", .klen = 2},
                       {.kind = KV_MSG_SET, .key = "k1", .klen = 2, .value = "v", .vlen = 1},
                       {.kind = KV_MSG_SET, .key = "k", .klen = 1, .value = "", .vlen = 0},
                       {.kind = KV_MSG_REMOVE, .key = "key", .klen = 3}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        kv_message out;
        cr_assert(eq(int, kv_request_encode(&in[i], buf, sizeof buf, &len), SIM_OK));
        cr_assert(eq(int, kv_request_decode(buf, len, &out), SIM_OK));
        cr_assert(eq(u8, out.kind, in[i].kind));
        cr_assert(eq(u32, out.klen, in[i].klen));
        cr_assert(eq(int, memcmp(out.key, in[i].key, in[i].klen), 0));
        cr_assert(eq(u32, out.vlen, in[i].vlen));
    }
    kv_message resp[] = {{.kind = KV_MSG_GET, .found = true, .value = "abc", .vlen = 3},
                         {.kind = KV_MSG_GET, .found = false},
                         {.kind = KV_MSG_SET},
                         {.kind = KV_MSG_REMOVE},
                         {.kind = KV_MSG_ERR, .value = "Key not found", .vlen = 13}};
    for (size_t i = 0; i < sizeof resp / sizeof resp[0]; i++) {
        kv_message out;
        cr_assert(eq(int, kv_response_encode(&resp[i], buf, sizeof buf, &len), SIM_OK));
        cr_assert(eq(int, kv_response_decode(buf, len, &out), SIM_OK));
        cr_assert(eq(u8, out.kind, resp[i].kind));
        cr_assert(eq(int, out.found, resp[i].found));
        cr_assert(eq(u32, out.vlen, resp[i].vlen));
        if (resp[i].vlen > 0) cr_assert(eq(int, memcmp(out.value, resp[i].value, out.vlen), 0));
    }
}

/* Goal: malformed and oversized messages are refused, never read past their buffer. Method:
 * truncate a valid request at every length, add a byte, use a bad kind, an empty or long
 * key, a buffer too small. */
Test(kv_proto, refuses_malformed)
{
    uint8_t buf[64];
    uint32_t len = 0;
    kv_message set = {.kind = KV_MSG_SET, .key = "k1", .klen = 2, .value = "abc", .vlen = 3};
    cr_assert(eq(int, kv_request_encode(&set, buf, sizeof buf, &len), SIM_OK));
    kv_message out;
    for (uint32_t n = 0; n < len; n++) {
        cr_assert(eq(int, kv_request_decode(buf, n, &out), SIM_EINVAL), "length %u", n);
    }
    cr_assert(eq(int, kv_request_decode(buf, len + 1, &out), SIM_EINVAL));
    buf[0] = 9;
    cr_assert(eq(int, kv_request_decode(buf, len, &out), SIM_EINVAL));
    cr_assert(eq(int, kv_request_encode(&set, buf, 5, &len), SIM_ETOOBIG));
    kv_message empty = {.kind = KV_MSG_GET, .key = "", .klen = 0};
    cr_assert(eq(int, kv_request_encode(&empty, buf, sizeof buf, &len), SIM_EINVAL));
    static char big[KV_KEY_MAX + 1];
    kv_message longkey = {.kind = KV_MSG_GET, .key = big, .klen = KV_KEY_MAX + 1};
    cr_assert(eq(int, kv_request_encode(&longkey, buf, sizeof buf, &len), SIM_EINVAL));
    uint8_t resp[] = {KV_MSG_GET, 1, 0, 0, 0, 5, 'a'};
    cr_assert(eq(int, kv_response_decode(resp, sizeof resp, &out), SIM_EINVAL));
    uint8_t err[] = {KV_MSG_ERR, 0, 9, 'x'};
    cr_assert(eq(int, kv_response_decode(err, sizeof err, &out), SIM_EINVAL));
}

/* ---- against a server ------------------------------------------------------------------------ */

typedef struct exchange_log {
    int rc[8];               /* each exchange's transport result */
    kv_message got[8];       /* each response (pointers into bodies) */
    uint8_t bodies[8][256];
    int oversized_rc;        /* reading after announcing an oversized frame */
    bool done;
} exchange_log;

typedef struct talker {
    sim_co co;
    exchange_log *log;
    uint32_t i;
    sim_conn conn;
    uint8_t req[64];
    uint32_t req_len;
    uint32_t resp_len;
    uint8_t hdr[4];
    uint8_t sink[16];
    size_t got;
} talker;

static const kv_message script[] = {
    {.kind = KV_MSG_SET, .key = "k1", .klen = 2, .value = "hello", .vlen = 5},
    {.kind = KV_MSG_GET, .key = "k1", .klen = 2},
    {.kind = KV_MSG_REMOVE, .key = "k1", .klen = 2},
    {.kind = KV_MSG_GET, .key = "k1", .klen = 2},
    {.kind = KV_MSG_REMOVE, .key = "k1", .klen = 2},
    {.kind = 0}, /* malformed: sent as a raw byte 9 */
};
#define SCRIPT_LEN 6

static void prepare(talker *t)
{
    if (t->i == SCRIPT_LEN - 1) {
        t->req[0] = 9;
        t->req_len = 1;
        return;
    }
    cr_assert(eq(int, kv_request_encode(&script[t->i], t->req, sizeof t->req, &t->req_len),
                 SIM_OK));
}

static int talker_poll(void *state, sim_world *w)
{
    talker *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    do { /* the server may still be opening its store */
        SIM_AWAIT(rc, sim_connect((sim_addr){.node = {1}, .port = KV_PORT}, &t->conn));
    } while (rc == SIM_ECONNREFUSED);
    cr_assert(eq(int, rc, SIM_OK));
    for (t->i = 0; t->i < SCRIPT_LEN; t->i++) {
        prepare(t);
        SIM_AWAIT(rc, sim_frame_write(&t->conn, t->req, t->req_len, KV_FRAME_MAX));
        cr_assert(eq(int, rc, SIM_OK));
        SIM_AWAIT(rc, sim_frame_read(&t->conn, t->log->bodies[t->i], 256, &t->resp_len));
        t->log->rc[t->i] = rc;
        if (rc == SIM_OK) {
            rc = kv_response_decode(t->log->bodies[t->i], t->resp_len, &t->log->got[t->i]);
            cr_assert(eq(int, rc, SIM_OK));
        }
    }
    /* A frame announcing more than the server's limit: the server closes the connection. */
    t->hdr[0] = 0x7f;
    SIM_AWAIT(rc, sim_write(&t->conn, t->hdr, 4));
    SIM_AWAIT(rc, sim_read(&t->conn, t->sink, sizeof t->sink, &t->got));
    t->log->oversized_rc = rc == SIM_OK && t->got == 0 ? SIM_EEOF : rc;
    sim_conn_close(w, &t->conn);
    t->log->done = true;
    SIM_END(SIM_OK);
}

static int boot_server(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)node;
    kv_config cfg = {.sync_always = true};
    return kv_server_spawn(w, &cfg, NULL);
}

static int boot_talker(void *ud, sim_world *w, sim_node_id node)
{
    (void)node;
    talker t = {.log = ud};
    sim_task_desc d = {.name = "talker", .poll = talker_poll, .state = &t,
                       .state_size = sizeof t};
    return sim_spawn(w, &d, NULL);
}

static void expect_err(const exchange_log *log, int i, const char *text)
{
    cr_assert(eq(int, log->rc[i], SIM_OK));
    cr_assert(eq(u8, log->got[i].kind, KV_MSG_ERR), "exchange %d", i);
    cr_assert(eq(u32, log->got[i].vlen, (uint32_t)strlen(text)));
    cr_assert(eq(int, memcmp(log->got[i].value, text, strlen(text)), 0));
}

/* Goal: one connection carries many requests, answered in order, whatever pieces the frames
 * arrive in; errors come back as messages; an oversized frame ends the connection. Method: a
 * server node and a client node over links that cut every segment to 1..3 bytes; the client
 * sends the script and records each response. */
Test(kv_proto, server_round_trips_in_pieces)
{
    sim_world *w = test_world(11, SIM_SCHED_RANDOM);
    sim_net_desc nd = {.segment_min = 1, .segment_max = 3};
    cr_assert(eq(int, sim_net_configure(w, &nd), SIM_OK));
    static exchange_log log;
    memset(&log, 0, sizeof log);
    test_node(w, "server", boot_server, NULL);
    test_node(w, "client", boot_talker, &log);
    cr_assert(eq(int, sim_world_run(w), SIM_OK), "%s", sim_world_report(w));
    cr_assert(log.done);
    cr_assert(eq(u8, log.got[0].kind, KV_MSG_SET));
    cr_assert(eq(u8, log.got[1].kind, KV_MSG_GET));
    cr_assert(log.got[1].found);
    cr_assert(eq(int, memcmp(log.got[1].value, "hello", 5), 0));
    cr_assert(eq(u8, log.got[2].kind, KV_MSG_REMOVE));
    cr_assert(eq(u8, log.got[3].kind, KV_MSG_GET));
    cr_assert(not(log.got[3].found));
    expect_err(&log, 4, "Key not found");
    expect_err(&log, 5, "Invalid request");
    cr_assert(log.oversized_rc == SIM_EEOF || log.oversized_rc == SIM_ECONNRESET,
              "%s", sim_result_name(log.oversized_rc));
    cr_assert(eq(u32, sim_world_violation_count(w), 0));
    sim_world_free(w);
}
