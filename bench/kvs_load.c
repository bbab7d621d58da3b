/*
 * kvs_load.c: a load on a kv server over loopback, for `make bench` (bench/kvs.sh): N client
 * threads, each with one connection, each doing OPS requests in turn (a set, then a get of
 * the key it just set, over KEYS keys of its own: "c<client>-k<n>", values of VALUE bytes),
 * one request in flight per connection, within a time bound. It speaks the kv protocol
 * (systems/kv/proto.c in 4-byte big-endian frames), so it drives kvs-server and the tokio
 * peer (bench/peers/tokio-kvs) alike, and checks every answer: a get must return the value
 * just set, else it exits 1.
 *
 *     kvs-load ADDR CLIENTS OPS [SECONDS]     (ADDR: IP:PORT)
 *
 * Prints one line: `ops N secs S throughput T ops/s p50 A us p99 B us` (latency: from
 * writing a request to reading its whole answer, every request of every client).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../kvs/kvs_cli.h"
#include "../systems/kv/kv.h"
#include "bench.h"

#define KEYS 100
#define VALUE 32

typedef struct client {
    pthread_t thread;
    uint32_t index;
    uint32_t ops;
    uint64_t deadline_ns;
    const kvs_addr *addr;
    uint64_t *lat_ns;        /* ops of them */
    uint32_t done;
    const char *error;       /* NULL: fine */
} client;

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static bool recv_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* One request and its answer, decoded into *m (pointing into in). */
static const char *roundtrip(int fd, const kv_message *req, uint8_t *in, kv_message *m)
{
    uint8_t out[4 + KV_FRAME_MAX];
    uint32_t len = 0;
    if (kv_request_encode(req, out + 4, KV_FRAME_MAX, &len) != SIM_OK) return "encode";
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(len >> (24 - 8 * i));
    if (!send_all(fd, out, 4 + (size_t)len)) return "send";
    uint8_t hdr[4];
    if (!recv_all(fd, hdr, 4)) return "no answer";
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (n > KV_FRAME_MAX || !recv_all(fd, in, n)) return "a broken answer";
    if (kv_response_decode(in, n, m) != SIM_OK) return "an undecodable answer";
    if (m->kind == KV_MSG_ERR) return "an error answer";
    if (m->kind != req->kind) return "an answer of the wrong kind";
    return NULL;
}

static void *client_run(void *arg)
{
    client *c = arg;
    int fd = socket(c->addr->family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&c->addr->ss, c->addr->len) != 0) {
        c->error = "connect";
        if (fd >= 0) close(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static _Thread_local uint8_t in[KV_FRAME_MAX];
    char key[32], value[VALUE + 1];
    for (uint32_t i = 0; i < c->ops && c->error == NULL; i++) {
        uint32_t k = (i / 2) % KEYS;
        int klen = snprintf(key, sizeof key, "c%u-k%u", c->index, k);
        snprintf(value, sizeof value, "%0*u", VALUE, i / 2);
        kv_message req = {.kind = i % 2 == 0 ? KV_MSG_SET : KV_MSG_GET, .key = key,
                          .klen = (uint32_t)klen};
        if (req.kind == KV_MSG_SET) {
            req.value = value;
            req.vlen = VALUE;
        }
        kv_message m;
        uint64_t t0 = host_now_ns();
        c->error = roundtrip(fd, &req, in, &m);
        uint64_t t1 = host_now_ns();
        if (c->error == NULL && req.kind == KV_MSG_GET &&
            (!m.found || m.vlen != VALUE || memcmp(m.value, value, VALUE) != 0)) {
            c->error = "a get that did not return the value just set";
        }
        c->lat_ns[i] = t1 - t0;
        c->done = i + 1;
        if (t1 > c->deadline_ns) break;
    }
    close(fd);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    kvs_addr addr;
    if (argc < 4 || argc > 5 || !kvs_addr_parse(argv[1], &addr)) {
        fprintf(stderr, "usage: kvs-load IP:PORT CLIENTS OPS [SECONDS]\n");
        return 2;
    }
    uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10), ops = (uint32_t)strtoul(argv[3], NULL, 10);
    double secs = argc == 5 ? strtod(argv[4], NULL) : 30;
    if (n == 0 || n > 1024 || ops == 0 || ops > 10000000 || !(secs > 0)) {
        fprintf(stderr, "kvs-load: 1..1024 clients, 1..1e7 ops each, a positive time bound\n");
        return 2;
    }
    client *cl = calloc(n, sizeof *cl);
    uint64_t *lat = calloc((size_t)n * ops, sizeof *lat);
    if (cl == NULL || lat == NULL) return 1;
    uint64_t start = host_now_ns();
    for (uint32_t i = 0; i < n; i++) {
        cl[i] = (client){.index = i, .ops = ops, .addr = &addr, .lat_ns = lat + (size_t)i * ops,
                         .deadline_ns = start + (uint64_t)(secs * 1e9)};
        if (pthread_create(&cl[i].thread, NULL, client_run, &cl[i]) != 0) return 1;
    }
    uint64_t total = 0;
    const char *error = NULL;
    for (uint32_t i = 0; i < n; i++) pthread_join(cl[i].thread, NULL);
    uint64_t wall = host_now_ns() - start;
    for (uint32_t i = 0; i < n; i++) {
        if (cl[i].error != NULL && error == NULL) error = cl[i].error;
        memmove(lat + total, cl[i].lat_ns, cl[i].done * sizeof *lat);
        total += cl[i].done;
    }
    if (error != NULL) {
        fprintf(stderr, "kvs-load: %s\n", error);
        return 1;
    }
    qsort(lat, total, sizeof *lat, cmp_u64);
    printf("ops %llu secs %.2f throughput %.0f ops/s p50 %.1f us p99 %.1f us\n",
           (unsigned long long)total, (double)wall / 1e9, (double)total * 1e9 / (double)wall,
           (double)lat[total / 2] / 1e3, (double)lat[total * 99 / 100] / 1e3);
    free(lat);
    free(cl);
    return 0;
}
