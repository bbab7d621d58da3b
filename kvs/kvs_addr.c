/*
 * kvs_addr.c: the IP:PORT parse of kvs-server and kvs-client (see kvs_cli.h). An IPv6
 * address must be bracketed, so the last colon always separates the port.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_cli.h"

static bool parse_port(const char *text, uint16_t *out)
{
    if (*text == '\0' || strlen(text) > 5) return false;
    uint32_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    if (v == 0 || v > 65535) return false;
    *out = (uint16_t)v;
    return true;
}

bool kvs_addr_parse(const char *text, kvs_addr *out)
{
    memset(out, 0, sizeof *out);
    const char *colon = strrchr(text, ':');
    if (colon == NULL || !parse_port(colon + 1, &out->port)) return false;
    size_t hlen = (size_t)(colon - text);
    bool bracketed = hlen >= 2 && text[0] == '[' && text[hlen - 1] == ']';
    const char *h = bracketed ? text + 1 : text;
    if (bracketed) hlen -= 2;
    if (hlen == 0 || hlen >= sizeof out->host) return false;
    memcpy(out->host, h, hlen);
    out->host[hlen] = '\0';
    if (bracketed) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->ss;
        if (inet_pton(AF_INET6, out->host, &a->sin6_addr) != 1) return false;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(out->port);
        out->len = sizeof *a;
        out->family = AF_INET6;
        return true;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)&out->ss;
    if (inet_pton(AF_INET, out->host, &a->sin_addr) != 1) return false;
    a->sin_family = AF_INET;
    a->sin_port = htons(out->port);
    out->len = sizeof *a;
    out->family = AF_INET;
    return true;
}
