/*
 * kvs_client.c: kvs-client, talent-plan's kvs client (sut-semantics.md A.1) over the kv
 * system's protocol (systems/kv/proto.c: one message per frame, a 4-byte big-endian length,
 * the framing of A.2).
 *
 *     kvs-client set KEY VALUE [--addr IP:PORT]
 *     kvs-client get KEY [--addr IP:PORT]
 *     kvs-client rm KEY [--addr IP:PORT]
 *     kvs-client -V
 *
 * One connection per invocation and one request on it. set and rm print nothing on success;
 * get prints the value and a newline, or `Key not found` on stdout (exit 0) for a missing key.
 * An error answer (rm of a missing key: `Key not found`) or a transport error goes to stderr
 * with exit 1; a usage error to stderr with exit 2. Plain blocking sockets: the client is one
 * request, no executor needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../systems/kv/kv.h"
#include "kvs_cli.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: kvs-client set <KEY> <VALUE> [--addr IP:PORT]\n"
    "       kvs-client get <KEY> [--addr IP:PORT]\n"
    "       kvs-client rm <KEY> [--addr IP:PORT]\n"
    "       kvs-client -V | --version\n"
    "--addr defaults to " KVS_DEFAULT_ADDR " (IPv6: [::1]:4000).\n";

static int usage(const char *why, const char *what)
{
    fprintf(stderr, "kvs-client: %s%s%s\n%s", why, what ? ": " : "", what ? what : "",
            usage_text);
    return EXIT_USAGE;
}

/* The request the command line asks for. */
typedef struct request {
    kv_message msg;
    kvs_addr addr;
} request;

static int parse_args(int argc, char **argv, request *rq)
{
    const char *cmd = argv[1];
    uint8_t kind = strcmp(cmd, "get") == 0   ? KV_MSG_GET
                   : strcmp(cmd, "set") == 0 ? KV_MSG_SET
                   : strcmp(cmd, "rm") == 0  ? KV_MSG_REMOVE
                                             : 0;
    if (kind == 0) return usage("unknown command", cmd);
    const char *addr = KVS_DEFAULT_ADDR, *pos[3];
    int npos = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--addr") == 0) {
            if (i + 1 >= argc) return usage("--addr needs a value", NULL);
            addr = argv[++i];
        } else if (strncmp(argv[i], "--addr=", 7) == 0) {
            addr = argv[i] + 7;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage("unknown option", argv[i]);
        } else {
            if (npos == 3) return usage("too many arguments", argv[i]);
            pos[npos++] = argv[i];
        }
    }
    int want = kind == KV_MSG_SET ? 2 : 1;
    if (npos != want) {
        return usage(npos < want ? "missing argument" : "unexpected argument",
                     npos < want ? (kind == KV_MSG_SET && npos == 1 ? "<VALUE>" : "<KEY>")
                                 : pos[want]);
    }
    if (!kvs_addr_parse(addr, &rq->addr)) return usage("invalid address (want IP:PORT)", addr);
    size_t klen = strlen(pos[0]), vlen = kind == KV_MSG_SET ? strlen(pos[1]) : 0;
    if (klen == 0 || klen > KV_KEY_MAX) return usage("a key is 1 to 256 bytes", pos[0]);
    if (vlen > KV_VALUE_MAX) return usage("a value is at most 4096 bytes", NULL);
    rq->msg = (kv_message){.kind = kind, .key = pos[0], .klen = (uint32_t)klen,
                           .value = kind == KV_MSG_SET ? pos[1] : NULL, .vlen = (uint32_t)vlen};
    return 0;
}

static bool write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads exactly len bytes: 1, 0 at a clean end of stream before any byte, -1 on error or a
 * stream that ends inside them. */
static int read_all(int fd, uint8_t *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, p + got, len - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return got == 0 ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

/* Sends the request's frame on a new connection and reads the response's into in. */
static int exchange(const request *rq, uint8_t *in, uint32_t *in_len)
{
    uint8_t out[4 + KV_FRAME_MAX];
    uint32_t len = 0;
    int rc = kv_request_encode(&rq->msg, out + 4, KV_FRAME_MAX, &len);
    SIM_ASSERT(rc == SIM_OK);
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(len >> (24 - 8 * i));
    int fd = socket(rq->addr.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("IO error", strerror(errno));
    if (connect(fd, (const struct sockaddr *)&rq->addr.ss, rq->addr.len) != 0) {
        int e = errno;
        close(fd);
        char detail[256];
        const char *open = rq->addr.family == AF_INET6 ? "[" : "";
        const char *shut = rq->addr.family == AF_INET6 ? "]" : "";
        snprintf(detail, sizeof detail,
                 "%s (connecting to %s%s%s:%u; is kvs-server running there?)", strerror(e), open,
                 rq->addr.host, shut, (unsigned)rq->addr.port);
        return fail("IO error", detail);
    }
    if (!write_all(fd, out, 4 + (size_t)len)) {
        int e = errno;
        close(fd);
        return fail("IO error", strerror(e));
    }
    uint8_t hdr[4];
    int got = read_all(fd, hdr, 4);
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (got == 1 && n > KV_FRAME_MAX) got = -2;
    if (got == 1) got = n == 0 ? 1 : read_all(fd, in, n);
    close(fd);
    if (got == 0) return fail("No response received", NULL);
    if (got < 0) return fail("Invalid response", got == -2 ? "frame too long" : "truncated");
    *in_len = n;
    return 0;
}

/* Prints the answer as the contract says; the exit code. */
static int answer(const request *rq, const uint8_t *in, uint32_t in_len)
{
    kv_message m;
    if (kv_response_decode(in, in_len, &m) != SIM_OK) return fail("Invalid response", NULL);
    if (m.kind == KV_MSG_ERR) {
        fprintf(stderr, "%.*s\n", (int)m.vlen, m.value);
        return 1;
    }
    if (m.kind != rq->msg.kind) return fail("Invalid response", NULL);
    if (m.kind == KV_MSG_GET) {
        if (m.found) {
            fwrite(m.value, 1, m.vlen, stdout);
            fputc('\n', stdout);
        } else {
            puts("Key not found");
        }
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage("a command is required", NULL);
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        if (argc > 2) return usage("unexpected argument", argv[2]);
        printf("kvs-client %s\n", KVS_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    request rq;
    int rc = parse_args(argc, argv, &rq);
    if (rc != 0) return rc;
    static uint8_t in[KV_FRAME_MAX];
    uint32_t in_len = 0;
    rc = exchange(&rq, in, &in_len);
    return rc != 0 ? rc : answer(&rq, in, in_len);
}
