/*
 * spec.c: the [network] section of a scenario file (docs/network.md): the default link model,
 * the network's settings, and `link` lines (the one key that may repeat) that give pairs of
 * nodes their own model. Every value has a canonical text that parses back to itself.
 *
 * Applying a spec to a world is two steps: the settings and the default link before the
 * system's setup (sockets may be opened as nodes boot), and the `link` lines after it, once
 * the nodes they name exist.
 */
#include <stdio.h>
#include <stdlib.h>

#include "spec.h"

enum {
    K_LATENCY,
    K_TAIL,
    K_BANDWIDTH,
    K_CONNECT_TIMEOUT,
    K_STREAM_TIMEOUT,
    K_RTO,
    K_RESET_DELAY,
    K_SEND_BUFFER,
    K_SEGMENT,
    K_RECV_QUEUE,
    K_COUNT
};

static const struct {
    const char *key;
    const char *def;
} keys[K_COUNT] = {
    [K_LATENCY] = {"latency", "1ms..5ms"},
    [K_TAIL] = {"latency_tail", "0s"},
    [K_BANDWIDTH] = {"bandwidth", "0"},
    [K_CONNECT_TIMEOUT] = {"connect_timeout", "1s"},
    [K_STREAM_TIMEOUT] = {"stream_timeout", "5s"},
    [K_RTO] = {"rto", "200ms"},
    [K_RESET_DELAY] = {"reset_delay", "10ms..200ms"},
    [K_SEND_BUFFER] = {"send_buffer", "65536"},
    [K_SEGMENT] = {"segment", "1..1460"},
    [K_RECV_QUEUE] = {"recv_queue", "1024"},
};

/* The longest canonical link line: a scenario file's line (199 characters) less "link = ". */
#define LINK_TEXT_MAX 192

typedef struct link_line {
    char from[64];   /* a node name, or "*" */
    char to[64];
    bool oneway;
    sim_link link;   /* the fields it sets; the others come from the section when applied */
    bool has_latency, has_tail, has_bandwidth;
    uint32_t line;
    /* The canonical line: the longest is two names of 63 (130 with " -> "), then latency
     * (51: two 20-character durations), latency_tail (34), bandwidth (31), loss (27) and dup
     * (26), which makes 299 and a NUL. */
    char text[320];
} link_line;

struct sim__net_spec {
    sim_net_desc desc;
    sim_link def;
    link_line *links;
    uint32_t nlinks;
    char **nodes;
    uint32_t nnodes;
    bool nodes_known;
    const char *path;
    uint32_t lines[K_COUNT];
};

/* ---- values --------------------------------------------------------------------------------- */

/* "0", "125000", "10k", "1M", "1G": bytes per second (k = 1000). */
static bool parse_bandwidth(const char *text, uint64_t *out)
{
    char digits[32];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof digits) return false;
    uint64_t mult = 1;
    char last = text[n - 1];
    if (last == 'k' || last == 'M' || last == 'G') {
        mult = last == 'k' ? 1000 : last == 'M' ? 1000000 : 1000000000;
        n--;
    }
    memcpy(digits, text, n);
    digits[n] = '\0';
    uint64_t v;
    if (!sim__parse_u64(digits, &v) || v > UINT64_MAX / mult) return false;
    *out = v * mult;
    return true;
}

static void bandwidth_text(uint64_t v, char *buf, size_t size)
{
    SIM_ASSERT(size >= 24); /* "18446744073709551615" and its NUL fit */
    if (v != 0 && v % 1000000000 == 0) {
        snprintf(buf, size, "%lluG", (unsigned long long)(v / 1000000000));
    } else if (v != 0 && v % 1000000 == 0) {
        snprintf(buf, size, "%lluM", (unsigned long long)(v / 1000000));
    } else if (v != 0 && v % 1000 == 0) {
        snprintf(buf, size, "%lluk", (unsigned long long)(v / 1000));
    } else {
        snprintf(buf, size, "%llu", (unsigned long long)v);
    }
#ifdef SIM_SLOW_CHECKS
    uint64_t back = 0;
    SIM_ASSERT_SLOW(parse_bandwidth(buf, &back)); /* the canonical text reads back */
    SIM_ASSERT_SLOW(back == v);
#endif
}

/* A probability as a ratio: "0.01" -> {1, 100}; "1/3" -> {1, 3}. Up to 9 decimals. */
static bool parse_ratio(const char *text, sim_ratio *out)
{
    const char *slash = strchr(text, '/');
    uint64_t p, q;
    if (slash != NULL) {
        char a[24];
        size_t n = (size_t)(slash - text);
        if (n == 0 || n >= sizeof a) return false;
        memcpy(a, text, n);
        a[n] = '\0';
        if (!sim__parse_u64(a, &p) || !sim__parse_u64(slash + 1, &q)) return false;
    } else {
        if (text[0] != '0' && text[0] != '1') return false;
        p = (uint64_t)(text[0] - '0');
        q = 1;
        const char *d = text + 1;
        if (*d == '.') {
            d++;
            if (*d == '\0') return false;
            for (; *d >= '0' && *d <= '9'; d++) {
                if (q == 1000000000) return false;
                p = p * 10 + (uint64_t)(*d - '0');
                q *= 10;
            }
        }
        if (*d != '\0') return false;
    }
    if (q == 0 || p > q || q > UINT32_MAX) return false;
    *out = (sim_ratio){(uint32_t)p, (uint32_t)q};
    SIM_ASSERT(out->q != 0); /* a parsed ratio is never the zero value ("unset") */
    SIM_ASSERT(out->p <= out->q);
    return true;
}

static void ratio_text(sim_ratio r, char *buf, size_t size)
{
    SIM_ASSERT(size >= 24); /* "4294967295/4294967295" and its NUL fit */
    if (r.q != 0) SIM_ASSERT(r.p <= r.q);
    if (r.p == 0) {
        snprintf(buf, size, "0");
    } else if (r.p == r.q) {
        snprintf(buf, size, "1");
    } else {
        snprintf(buf, size, "%u/%u", r.p, r.q);
    }
}

/* ---- link lines ----------------------------------------------------------------------------- */

static bool node_known(const sim__net_spec *s, const char *name)
{
    if (strcmp(name, "*") == 0 || !s->nodes_known) return true;
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (strcmp(s->nodes[i], name) == 0) return true;
    }
    return false;
}

static void node_list(const sim__net_spec *s, char *buf, size_t size)
{
    buf[0] = '\0';
    for (uint32_t i = 0; i < s->nnodes; i++) {
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, "%s%s", i ? ", " : "", s->nodes[i]);
    }
}

/* One "key=value" of a link line into l. */
static int link_field(link_line *l, char *field, char *err, size_t esize)
{
    SIM_ASSERT(field[0] != '\0'); /* words come from strtok_r: never empty */
    char *eq = strchr(field, '=');
    if (eq == NULL) {
        return sim__einval(
            err, esize,
            "[network] link: expected key=value (latency=5ms..20ms, latency_tail=10ms, "
            "bandwidth=1M, loss=0.01, dup=0.001); got '%s'",
            field);
    }
    *eq = '\0';
    const char *k = field, *v = eq + 1;
    bool ok;
    if (strcmp(k, "latency") == 0) {
        sim_latency *lat = &l->link.latency;
        ok = l->has_latency = sim__parse_duration_range(v, &lat->min_ns, &lat->max_ns);
    } else if (strcmp(k, "latency_tail") == 0) {
        ok = l->has_tail = sim__parse_duration(v, &l->link.tail_ns) == SIM_OK;
    } else if (strcmp(k, "bandwidth") == 0) {
        ok = l->has_bandwidth = parse_bandwidth(v, &l->link.bandwidth);
    } else if (strcmp(k, "loss") == 0 || strcmp(k, "dup") == 0) {
        ok = parse_ratio(v, k[0] == 'l' ? &l->link.loss : &l->link.dup);
    } else {
        return sim__einval(err, esize,
                           "[network] link: unknown key '%s'; valid keys: latency, latency_tail, "
                           "bandwidth, loss, dup",
                           k);
    }
    if (!ok) {
        return sim__einval(err, esize, "[network] link: %s: expected %s; got '%s'", k,
                           strcmp(k, "latency") == 0
                               ? "a duration or a range lo..hi, low to high, up to "
                                 SIM__DURATION_MAX_TEXT
                           : strcmp(k, "latency_tail") == 0
                               ? "a duration up to " SIM__DURATION_MAX_TEXT
                           : strcmp(k, "bandwidth") == 0 ? "bytes per second (125000, 10k, 1M, 1G)"
                                                         : "a probability in [0, 1] (0.01, 1/100)",
                           v);
    }
    return SIM_OK;
}

static void link_canonical(link_line *l)
{
    SIM_ASSERT(l->from[0] != '\0');
    SIM_ASSERT(l->to[0] != '\0');
    char lat[64], tail[32], bw[32], loss[32], dup[32];
    sim__format_duration_range(l->link.latency.min_ns, l->link.latency.max_ns, lat, sizeof lat);
    sim__format_duration(l->link.tail_ns, tail, sizeof tail);
    bandwidth_text(l->link.bandwidth, bw, sizeof bw);
    ratio_text(l->link.loss, loss, sizeof loss);
    ratio_text(l->link.dup, dup, sizeof dup);
    int n = snprintf(l->text, sizeof l->text, "%s %s%s", l->from, l->oneway ? "-> " : "", l->to);
    size_t o = (size_t)n, cap = sizeof l->text;
    if (l->has_latency) o += (size_t)snprintf(l->text + o, cap - o, " latency=%s", lat);
    if (l->has_tail) o += (size_t)snprintf(l->text + o, cap - o, " latency_tail=%s", tail);
    if (l->has_bandwidth) o += (size_t)snprintf(l->text + o, cap - o, " bandwidth=%s", bw);
    if (l->link.loss.q) o += (size_t)snprintf(l->text + o, cap - o, " loss=%s", loss);
    if (l->link.dup.q) o += (size_t)snprintf(l->text + o, cap - o, " dup=%s", dup);
    SIM_ASSERT(o < cap); /* every field of a link line fits its canonical text */
}

static int parse_link(sim__net_spec *s, const char *value, uint32_t line, char *err,
                      size_t esize)
{
    char text[256];
    if (strlen(value) >= sizeof text)
        return sim__einval(err, esize, "[network] link: line too long");
    snprintf(text, sizeof text, "%s", value);
    char *words[16];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(text, " \t", &save); t != NULL && n < 16;
         t = strtok_r(NULL, " \t", &save)) {
        words[n++] = t;
    }
    link_line l = {.line = line};
    int at = 0;
    for (int i = 0; i < n && i < 3; i++) {
        if (strlen(words[i]) >= sizeof l.from && strchr(words[i], '=') == NULL) {
            return sim__einval(err, esize,
                               "[network] link: node name '%.20s...' is longer than %zu "
                               "characters",
                               words[i], sizeof l.from - 1);
        }
    }
    if (n >= 1) snprintf(l.from, sizeof l.from, "%s", words[at++]);
    if (at < n && strcmp(words[at], "->") == 0) {
        l.oneway = true;
        at++;
    }
    if (at < n) snprintf(l.to, sizeof l.to, "%s", words[at++]);
    if (l.from[0] == '\0' || l.to[0] == '\0' || strchr(l.from, '=') || strchr(l.to, '=')) {
        return sim__einval(err, esize,
                           "[network] link: expected 'A B key=value...' (both ways) or 'A -> B "
                           "key=value...' (one way), A and B node names or *; got '%s'",
                           value);
    }
    const char *names[2] = {l.from, l.to};
    for (int i = 0; i < 2; i++) {
        if (node_known(s, names[i])) continue;
        char list[256];
        node_list(s, list, sizeof list);
        return sim__einval(err, esize,
                           "[network] link: unknown node '%s'; the nodes are: %s (or *)", names[i],
                           list);
    }
    if (strcmp(l.from, l.to) == 0 && strcmp(l.from, "*") != 0) {
        return sim__einval(err, esize, "[network] link: a node has no link to itself (%s)", l.from);
    }
    if (at == n) {
        return sim__einval(
            err, esize,
            "[network] link: set at least one of latency, latency_tail, bandwidth, loss, "
            "dup (link = %s %s%s latency=20ms..50ms)",
            l.from, l.oneway ? "-> " : "", l.to);
    }
    for (; at < n; at++) {
        int rc = link_field(&l, words[at], err, esize);
        if (rc != SIM_OK) return rc;
    }
    link_canonical(&l);
    /* What a run records must read back as a scenario file's line (at most 199 characters,
     * "link = " among them). A probability can grow on the way (0.333 is 333/1000), so the
     * canonical form is the one measured. */
    size_t canon = strlen(l.text);
    if (canon > LINK_TEXT_MAX) {
        return sim__einval(err, esize,
                           "[network] link: %zu characters once written out canonically (at "
                           "most %d): shorten the node names, or write probabilities as "
                           "fractions (1/3)",
                           canon, LINK_TEXT_MAX);
    }
    s->links = sim__xrealloc_array(s->links, s->nlinks + 1, sizeof *s->links, "link lines");
    s->links[s->nlinks++] = l;
    return SIM_OK;
}

/* ---- keys ----------------------------------------------------------------------------------- */

static int set_key(sim__net_spec *s, int k, const char *v, char *err, size_t esize)
{
    uint64_t a = 0, b = 0;
    bool ok = true;
    const char *want = "a duration up to " SIM__DURATION_MAX_TEXT " (250ms, 2s)";
    sim_net_desc *d = &s->desc;
    switch (k) {
    case K_LATENCY:
        ok = sim__parse_duration_range(v, &a, &b);
        want = "a duration or a range lo..hi, low to high, up to " SIM__DURATION_MAX_TEXT
               " (1ms..5ms)";
        if (ok) s->def.latency = (sim_latency){a, b};
        break;
    case K_TAIL:
        ok = sim__parse_duration(v, &s->def.tail_ns) == SIM_OK;
        break;
    case K_BANDWIDTH:
        ok = parse_bandwidth(v, &s->def.bandwidth);
        want = "bytes per second (0 for unlimited, 125000, 10k, 1M, 1G)";
        break;
    case K_CONNECT_TIMEOUT:
    case K_STREAM_TIMEOUT:
    case K_RTO:
        ok = sim__parse_duration(v, &a) == SIM_OK && a > 0;
        want = "a duration above 0, up to " SIM__DURATION_MAX_TEXT " (250ms, 2s)";
        if (ok) {
            uint64_t *dst = k == K_RTO              ? &d->rto_ns
                            : k == K_STREAM_TIMEOUT ? &d->stream_timeout_ns
                                                    : &d->connect_timeout_ns;
            *dst = a;
        }
        break;
    case K_RESET_DELAY:
        ok = sim__parse_duration_range(v, &a, &b) && b > 0;
        want = "a duration or a range lo..hi, low to high, above 0 and up to "
               SIM__DURATION_MAX_TEXT " (10ms..200ms)";
        if (ok) d->reset_delay = (sim_latency){a, b};
        break;
    case K_SEGMENT: {
        char lo[24];
        const char *dots = strstr(v, "..");
        size_t n = dots ? (size_t)(dots - v) : strlen(v);
        ok = n < sizeof lo;
        if (ok) {
            memcpy(lo, v, n);
            lo[n] = '\0';
            ok = sim__parse_u64(lo, &a) && sim__parse_u64(dots ? dots + 2 : lo, &b) && a >= 1 &&
                 a <= b && b <= 65535;
        }
        want = "segment sizes in bytes, a range lo..hi within 1..65535 (1..1460)";
        if (ok) {
            d->segment_min = (uint32_t)a;
            d->segment_max = (uint32_t)b;
        }
        break;
    }
    default: /* K_SEND_BUFFER, K_RECV_QUEUE */
        ok = sim__parse_u64(v, &a) && a >= 1 && a <= (1u << 30);
        want = k == K_SEND_BUFFER ? "bytes, 1..1073741824" : "datagrams, 1..1073741824";
        if (ok && k == K_SEND_BUFFER) d->send_buffer = (uint32_t)a;
        if (ok && k == K_RECV_QUEUE) d->recv_queue = (uint32_t)a;
        break;
    }
    if (!ok)
        return sim__einval(err, esize, "[network] %s: expected %s; got '%s'", keys[k].key, want, v);
    return SIM_OK;
}

int sim__net_spec_set(sim__net_spec *s, const char *key, const char *value, uint32_t line,
                      char *err, size_t err_size)
{
    if (strcmp(key, "link") == 0) return parse_link(s, value, line, err, err_size);
    for (int k = 0; k < K_COUNT; k++) {
        if (strcmp(keys[k].key, key) != 0) continue;
        if (line != 0 && s->lines[k] != 0) {
            return sim__einval(err, err_size, "[network] %s is set twice (first at line %u)", key,
                               s->lines[k]);
        }
        int rc = set_key(s, k, value, err, err_size);
        if (rc == SIM_OK && line != 0) s->lines[k] = line;
        return rc;
    }
    char list[512];
    sim__net_spec_keys(list, sizeof list);
    return sim__einval(err, err_size, "[network] unknown key '%s'; valid keys: %s", key, list);
}

void sim__net_spec_keys(char *buf, size_t size)
{
    static const char *const sorted[] = {"bandwidth", "connect_timeout", "latency",
                                         "latency_tail", "link", "recv_queue", "reset_delay",
                                         "rto", "segment", "send_buffer", "stream_timeout"};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof sorted / sizeof sorted[0]; i++) {
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, "%s%s", i ? ", " : "", sorted[i]);
    }
}

int sim__net_spec_new(const char *path, const char *const *nodes, uint32_t nnodes, bool known,
                      sim__net_spec **out)
{
    *out = NULL;
    sim__net_spec *s = sim__xcalloc(1, sizeof *s, "a [network] section");
    s->path = path;
    s->nodes_known = known;
    sim__strings_copy(nodes, nnodes, &s->nodes, &s->nnodes);
    for (int k = 0; k < K_COUNT; k++) {
        int rc = set_key(s, k, keys[k].def, NULL, 0);
        SIM_ASSERT(rc == SIM_OK); /* a default that does not parse */
    }
    *out = s;
    return SIM_OK;
}

void sim__net_spec_free(sim__net_spec *s)
{
    if (s == NULL) return;
    for (uint32_t i = 0; i < s->nnodes; i++) free(s->nodes[i]);
    free(s->nodes);
    free(s->links);
    free(s);
}

int sim__net_spec_finish(sim__net_spec *s, uint64_t time_limit_ns, char *err, size_t err_size,
                         uint32_t *line)
{
    (void)s;
    (void)time_limit_ns;
    (void)err;
    (void)err_size;
    *line = 0;
    return SIM_OK;
}

char *sim__net_spec_canonical(const sim__net_spec *s)
{
    char v[K_COUNT][64];
    const sim_latency *lat = &s->def.latency, *reset = &s->desc.reset_delay;
    sim__format_duration_range(lat->min_ns, lat->max_ns, v[K_LATENCY], sizeof v[0]);
    sim__format_duration(s->def.tail_ns, v[K_TAIL], sizeof v[0]);
    bandwidth_text(s->def.bandwidth, v[K_BANDWIDTH], sizeof v[0]);
    sim__format_duration(s->desc.connect_timeout_ns, v[K_CONNECT_TIMEOUT], sizeof v[0]);
    sim__format_duration(s->desc.stream_timeout_ns, v[K_STREAM_TIMEOUT], sizeof v[0]);
    sim__format_duration(s->desc.rto_ns, v[K_RTO], sizeof v[0]);
    sim__format_duration_range(reset->min_ns, reset->max_ns, v[K_RESET_DELAY], sizeof v[0]);
    snprintf(v[K_SEND_BUFFER], sizeof v[0], "%u", s->desc.send_buffer);
    snprintf(v[K_SEGMENT], sizeof v[0], "%u..%u", s->desc.segment_min, s->desc.segment_max);
    snprintf(v[K_RECV_QUEUE], sizeof v[0], "%u", s->desc.recv_queue);
    size_t size = 1024 + (size_t)s->nlinks * (sizeof s->links[0].text + 8);
    char *buf = sim__xmalloc(size, "a [network] section's text");
    /* Keys sorted, link lines in the place of "link", in the order written. */
    static const int order[] = {K_BANDWIDTH, K_CONNECT_TIMEOUT, K_LATENCY, K_TAIL, -1,
                                K_RECV_QUEUE, K_RESET_DELAY, K_RTO, K_SEGMENT, K_SEND_BUFFER,
                                K_STREAM_TIMEOUT};
    size_t o = (size_t)snprintf(buf, size, "[network]\n");
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (order[i] < 0) {
            for (uint32_t l = 0; l < s->nlinks; l++) {
                o += (size_t)snprintf(buf + o, size - o, "link = %s\n", s->links[l].text);
            }
            continue;
        }
        o += (size_t)snprintf(buf + o, size - o, "%s = %s\n", keys[order[i]].key, v[order[i]]);
    }
    SIM_ASSERT(o < size); /* the whole section, never cut */
    return buf;
}

/* ---- applying ------------------------------------------------------------------------------- */

/* By value, not by line: `sim run --set network.K=V` sets keys without a line. */
bool sim__net_spec_is_default(const sim__net_spec *s)
{
    if (s->nlinks != 0) return false;
    sim__net_spec *d = NULL;
    int rc = sim__net_spec_new(s->path, NULL, 0, false, &d);
    SIM_ASSERT(rc == SIM_OK);
    char *mine = sim__net_spec_canonical(s), *theirs = sim__net_spec_canonical(d);
    bool same = strcmp(mine, theirs) == 0;
    free(mine);
    free(theirs);
    sim__net_spec_free(d);
    return same;
}

int sim__net_spec_apply(sim_world *w, const sim__net_spec *s)
{
    int rc = sim_net_configure(w, &s->desc);
    if (rc == SIM_OK) rc = sim_net_link(w, (sim_node_id){0}, (sim_node_id){0}, &s->def);
    return rc;
}

static uint32_t node_id(const sim_world *w, const char *name)
{
    return strcmp(name, "*") == 0 ? 0 : sim_node_find(w, name).v;
}

int sim__net_spec_links(sim_world *w, const sim__net_spec *s, char *err, size_t err_size)
{
    for (uint32_t i = 0; i < s->nlinks; i++) {
        const link_line *l = &s->links[i];
        uint32_t a = node_id(w, l->from), b = node_id(w, l->to);
        const char *missing = (a == 0 && strcmp(l->from, "*") != 0)   ? l->from
                              : (b == 0 && strcmp(l->to, "*") != 0) ? l->to
                                                                      : NULL;
        if (missing != NULL) {
            snprintf(err, err_size, "%s:%u: [network] link: no node '%s' in this run", s->path,
                     l->line, missing);
            return SIM_EINVAL;
        }
        SIM_ASSERT(l->line != 0 || l->text[0] != '\0');
        if (strcmp(l->from, "*") != 0) SIM_ASSERT(a != 0);
        sim_link link = l->link; /* what the line does not set comes from the section */
        if (!l->has_latency) link.latency = s->def.latency;
        if (!l->has_tail) link.tail_ns = s->def.tail_ns;
        if (!l->has_bandwidth) link.bandwidth = s->def.bandwidth;
        int rc = sim_net_link(w, (sim_node_id){a}, (sim_node_id){b}, &link);
        if (rc == SIM_OK && !l->oneway) {
            rc = sim_net_link(w, (sim_node_id){b}, (sim_node_id){a}, &link);
        }
        if (rc != SIM_OK) {
            snprintf(err, err_size, "%s:%u: [network] link: %s", s->path, l->line,
                     sim_result_str(rc));
            return rc;
        }
    }
    return SIM_OK;
}
