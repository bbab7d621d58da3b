/*
 * kvs_cli.h: what kvs-server and kvs-client share (talent-plan's kvs command-line contract,
 * ../shared/reference/sut-semantics.md A.1): the version, the default address, and the parse
 * of an `IP:PORT` address (IPv4 `127.0.0.1:4000` or IPv6 `[::1]:4000`, as Rust's SocketAddr
 * reads it: a numeric address, never a host name, and a port 1..65535).
 */
#ifndef KVS_CLI_H
#define KVS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sim.h"

#define KVS_VERSION SIM_VERSION_STRING
#define KVS_DEFAULT_ADDR "127.0.0.1:4000"

/* A parsed address: the socket address and its canonical text. */
typedef struct kvs_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;              /* AF_INET or AF_INET6 */
    char host[64];           /* the numeric address, without brackets */
    uint16_t port;
} kvs_addr;

/* Parses text into *out: true, or false for anything that is not a numeric IP:PORT. */
bool kvs_addr_parse(const char *text, kvs_addr *out);

#endif /* KVS_CLI_H */
