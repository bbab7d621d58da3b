/*
 * gossip.c: the gossip toy (see gossip.h), written against sim.h only. Its tasks need no drop
 * functions: each socket belongs to the task that bound it and closes when the task ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip.h"

#define PORT 7000
#define WORDS (SIM_GOSSIP_MAX_RUMORS / 64)
#define MAGIC 0x676f7373u /* "goss" */

/* What a node's boot function needs: the stats, which node it is (0-based), and when each of
 * its rumors originates. */
typedef sim_gossip_node_ node_ctx;

static uint32_t total_rumors(const sim_gossip_config *c)
{
    return c->nodes * c->rumors;
}

static void set_bit(uint64_t *set, uint32_t bit)
{
    set[bit / 64] |= 1ull << (bit % 64);
}

/* ---- the message ---------------------------------------------------------------------------- */

typedef struct message {
    uint32_t magic;
    uint32_t from;           /* 0-based node index */
    uint64_t set[WORDS];
} message;

/* ---- listener: merges what arrives ---------------------------------------------------------- */

typedef struct listener {
    sim_co co;
    node_ctx *ctx;
    sim_udp sock;
    sim_datagram got;
    message msg;
} listener;

static void merge(sim_gossip_stats *s, uint32_t node, const message *m, size_t len)
{
    uint32_t total = total_rumors(&s->config);
    if (len != sizeof *m || m->magic != MAGIC) {
        s->bogus++;
        return;
    }
    for (uint32_t wd = 0; wd < WORDS; wd++) {
        uint64_t extra = m->set[wd];
        for (uint32_t b = 0; b < 64; b++) {
            if ((extra >> b & 1) && wd * 64 + b >= total) s->bogus++;
        }
        s->known[node][wd] |= extra;
    }
    s->received++;
}

static int listener_poll(void *state, sim_world *w)
{
    listener *l = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &l->co);
    rc = sim_udp_bind(w, PORT, &l->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    for (;;) {
        SIM_AWAIT(rc, sim_udp_recv(&l->sock, &l->msg, sizeof l->msg, &l->got));
        if (rc != SIM_OK) break;
        merge(l->ctx->stats, l->ctx->index, &l->msg, l->got.len);
    }
    SIM_END(rc);
}

/* ---- gossiper: sends what it knows to a few peers every period ------------------------------ */

typedef struct gossiper {
    sim_co co;
    node_ctx *ctx;
    sim_udp sock;
    sim_interval every;
    sim_rng rng;
    message msg;
} gossiper;

/* One round: the node's set to fanout distinct peers (a partial Fisher-Yates shuffle of the
 * others). */
static int gossip_round(sim_world *w, gossiper *g)
{
    sim_gossip_stats *s = g->ctx->stats;
    const sim_gossip_config *c = &s->config;
    g->msg.magic = MAGIC;
    g->msg.from = g->ctx->index;
    memcpy(g->msg.set, s->known[g->ctx->index], sizeof g->msg.set);
    uint32_t others[SIM_GOSSIP_MAX_NODES];
    for (uint32_t i = 0, o = 0; i < c->nodes; i++) {
        if (i != g->ctx->index) others[o++] = i;
    }
    for (uint32_t k = 0; k < c->fanout; k++) {
        uint32_t pick = k + (uint32_t)sim_rng_below(&g->rng, c->nodes - 1 - k);
        uint32_t peer = others[pick];
        others[pick] = others[k];
        others[k] = peer;
        sim_addr to = {.node = {peer + 1}, .port = PORT};
        int rc = sim_udp_send_to(w, &g->sock, to, &g->msg, sizeof g->msg);
        if (rc != SIM_OK) return rc;
        s->sent++;
    }
    return SIM_OK;
}

static int gossiper_poll(void *state, sim_world *w)
{
    gossiper *g = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &g->co);
    rc = sim_udp_bind(w, 0, &g->sock);
    if (rc != SIM_OK) SIM_RETURN(rc);
    sim_interval_init(w, &g->every, g->ctx->stats->config.period_ns);
    for (;;) {
        SIM_TRY(sim_tick(&g->every));
        rc = gossip_round(w, g);
        if (rc != SIM_OK) SIM_RETURN(rc);
    }
    SIM_END(rc);
}

/* ---- originator: makes the node's rumors at their times -------------------------------------- */

typedef struct originator {
    sim_co co;
    node_ctx *ctx;
    uint32_t k;
} originator;

/* The id of the originator's k-th rumor. */
static uint32_t rumor_id(const originator *o)
{
    return o->ctx->index * o->ctx->stats->config.rumors + o->k;
}

/* Whether the k-th rumor was made in an earlier boot (it is on "disk"). */
static bool originated(const originator *o)
{
    const sim_gossip_stats *s = o->ctx->stats;
    uint32_t id = rumor_id(o);
    return s->durable[o->ctx->index][id / 64] >> (id % 64) & 1;
}

static void originate(originator *o)
{
    sim_gossip_stats *s = o->ctx->stats;
    set_bit(s->durable[o->ctx->index], rumor_id(o)); /* on disk first, as a careful node does */
    set_bit(s->known[o->ctx->index], rumor_id(o));
}

static int originator_poll(void *state, sim_world *w)
{
    originator *o = state;
    SIM_BEGIN(w, &o->co);
    for (o->k = 0; o->k < o->ctx->stats->config.rumors; o->k++) {
        if (originated(o)) continue; /* done before */
        SIM_TRY(sim_sleep_until(o->ctx->origin_at[o->k]));
        originate(o);
    }
    SIM_END(SIM_OK);
}

/* ---- a node's boot -------------------------------------------------------------------------- */

static int boot_node(void *ud, sim_world *w, sim_node_id node)
{
    node_ctx *ctx = ud;
    sim_gossip_stats *s = ctx->stats;
    memset(s->known[ctx->index], 0, sizeof s->known[ctx->index]);
    if (!s->config.forget_on_restart || sim_node_boots(w, node) == 1) {
        memcpy(s->known[ctx->index], s->durable[ctx->index], sizeof s->known[ctx->index]);
    }
    listener l = {.ctx = ctx};
    gossiper g = {.ctx = ctx};
    sim_world_rng(w, "sut/gossip/peers", (uint64_t)ctx->index << 32 | sim_node_boots(w, node),
                  &g.rng);
    originator o = {.ctx = ctx};
    sim_task_desc ld = {.name = "listener", .poll = listener_poll, .state = &l,
                        .state_size = sizeof l, .daemon = true};
    sim_task_desc gd = {.name = "gossiper", .poll = gossiper_poll, .state = &g,
                        .state_size = sizeof g, .daemon = true};
    sim_task_desc od = {.name = "originator", .poll = originator_poll, .state = &o,
                        .state_size = sizeof o, .daemon = true};
    int rc = sim_spawn(w, &ld, NULL);
    if (rc == SIM_OK) rc = sim_spawn(w, &gd, NULL);
    if (rc == SIM_OK) rc = sim_spawn(w, &od, NULL);
    return rc;
}

/* ---- the watcher: the run is over once everyone knows everything ----------------------------- */

typedef struct watcher {
    sim_co co;
    sim_gossip_stats *stats;
    sim_interval every;
} watcher;

static bool converged(const sim_world *w, const sim_gossip_stats *s)
{
    uint32_t total = total_rumors(&s->config);
    for (uint32_t i = 0; i < s->config.nodes; i++) {
        if (sim_node_status(w, (sim_node_id){i + 1}) != SIM_NODE_UP) return false;
        for (uint32_t r = 0; r < total; r++) {
            if (!(s->known[i][r / 64] >> (r % 64) & 1)) return false;
        }
    }
    return true;
}

static int watcher_poll(void *state, sim_world *w)
{
    watcher *wa = state;
    SIM_BEGIN(w, &wa->co);
    sim_interval_init(w, &wa->every, 10 * SIM_MS);
    while (!converged(w, wa->stats)) {
        SIM_TRY(sim_tick(&wa->every));
    }
    wa->stats->converged = true;
    wa->stats->converged_ns = sim_now(w);
    SIM_END(SIM_OK);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static sim_gossip_config with_defaults(const sim_gossip_config *in)
{
    sim_gossip_config c = in ? *in : (sim_gossip_config){0};
    if (c.nodes == 0) c.nodes = 5;
    if (c.rumors == 0) c.rumors = 4;
    if (c.period_ns == 0) c.period_ns = 50 * SIM_MS;
    if (c.fanout == 0) c.fanout = 2;
    if (c.spread_ns == 0) c.spread_ns = SIM_S;
    return c;
}

static const char *const node_names[SIM_GOSSIP_MAX_NODES] = {
    "n1",  "n2",  "n3",  "n4",  "n5",  "n6",  "n7",  "n8",  "n9",  "n10", "n11", "n12", "n13",
    "n14", "n15", "n16", "n17", "n18", "n19", "n20", "n21", "n22", "n23", "n24", "n25", "n26",
    "n27", "n28", "n29", "n30", "n31", "n32", "n33", "n34", "n35", "n36", "n37", "n38", "n39",
    "n40", "n41", "n42", "n43", "n44", "n45", "n46", "n47", "n48", "n49", "n50", "n51", "n52",
    "n53", "n54", "n55", "n56", "n57", "n58", "n59", "n60", "n61", "n62", "n63", "n64"};

static int setup_world(sim_world *w, sim_gossip_stats *s)
{
    const sim_gossip_config *c = &s->config;
    if (c->nodes < 2 || c->nodes > SIM_GOSSIP_MAX_NODES || c->fanout >= c->nodes ||
        total_rumors(c) > SIM_GOSSIP_MAX_RUMORS) {
        return SIM_EINVAL;
    }
    sim_rng rng;
    sim_world_rng(w, "sut/gossip/origin", 0, &rng);
    for (uint32_t i = 0; i < c->nodes; i++) {
        s->nodes_[i] = (node_ctx){.stats = s, .index = i};
        for (uint32_t k = 0; k < c->rumors; k++) {
            s->nodes_[i].origin_at[k] = sim_rng_below(&rng, c->spread_ns);
        }
        sim_node_desc nd = {.name = node_names[i], .boot = boot_node, .boot_ud = &s->nodes_[i]};
        int rc = sim_node_add(w, &nd, NULL);
        if (rc != SIM_OK) return rc;
    }
    watcher wa = {.stats = s};
    sim_task_desc d = {.name = "watcher", .poll = watcher_poll, .state = &wa,
                       .state_size = sizeof wa};
    return sim_spawn(w, &d, NULL);
}

int sim_gossip_setup(sim_world *w, const sim_gossip_config *config, sim_gossip_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->config = with_defaults(config);
    return setup_world(w, stats);
}

/* ---- the system ----------------------------------------------------------------------------- */

static const sim_key_spec gossip_keys[] = {
    {"gossip", "nodes", SIM_KEY_UINT, "5", NULL, 2, SIM_GOSSIP_MAX_NODES, "nodes n1..nN"},
    {"gossip", "rumors", SIM_KEY_UINT, "4", NULL, 1, SIM_GOSSIP_MAX_RUMORS,
     "rumors each node originates (nodes * rumors <= 256)"},
    {"gossip", "period", SIM_KEY_DURATION, "50ms", NULL, SIM_MS, 0, "gossip interval"},
    {"gossip", "fanout", SIM_KEY_UINT, "2", NULL, 1, SIM_GOSSIP_MAX_NODES - 1,
     "peers each round (fewer than nodes)"},
    {"gossip", "spread", SIM_KEY_DURATION, "1s", NULL, SIM_MS, 0,
     "rumors originate at times drawn within [0, spread)"},
    {"gossip", "bug", SIM_KEY_CHOICE, "none", "none|forget-on-restart", 0, 0,
     "a planted bug, for testing sim itself"},
};

typedef struct run_state {
    sim_gossip_stats stats;
} run_state;

static int gossip_sys_setup(void *ud, sim_world *w, const sim_scenario *sc, void **out,
                            char *err, size_t err_size)
{
    (void)ud;
    run_state *rs = calloc(1, sizeof *rs);
    if (rs == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    *out = rs;
    rs->stats.config = (sim_gossip_config){
        .nodes = (uint32_t)sim_scenario_uint(sc, "gossip", "nodes"),
        .rumors = (uint32_t)sim_scenario_uint(sc, "gossip", "rumors"),
        .period_ns = sim_scenario_uint(sc, "gossip", "period"),
        .fanout = (uint32_t)sim_scenario_uint(sc, "gossip", "fanout"),
        .spread_ns = sim_scenario_uint(sc, "gossip", "spread"),
        .forget_on_restart = strcmp(sim_scenario_get(sc, "gossip", "bug"), "none") != 0,
    };
    const sim_gossip_config *c = &rs->stats.config;
    if (total_rumors(c) > SIM_GOSSIP_MAX_RUMORS || c->fanout >= c->nodes) {
        snprintf(err, err_size, "[gossip] needs nodes * rumors <= %d and fanout < nodes",
                 SIM_GOSSIP_MAX_RUMORS);
        return SIM_EINVAL;
    }
    int rc = setup_world(w, &rs->stats);
    if (rc != SIM_OK) snprintf(err, err_size, "%s", sim_result_str(rc));
    return rc;
}

static int gossip_sys_check(void *ud, void *state, sim_world *w, char *msg, size_t msg_size)
{
    (void)ud;
    const run_state *rs = state;
    const sim_gossip_stats *s = &rs->stats;
    if (s->bogus > 0) {
        snprintf(msg, msg_size, "%u rumor(s) received that nobody originated", s->bogus);
        return SIM_EINVAL;
    }
    if (!s->converged || !converged(w, s)) {
        snprintf(msg, msg_size, "the nodes did not all learn every rumor");
        return SIM_EINVAL;
    }
    return SIM_OK;
}

static void gossip_sys_teardown(void *ud, void *state)
{
    (void)ud;
    free(state);
}

static uint32_t gossip_sys_nodes(void *ud, const sim_scenario *sc, const char **names,
                                 uint32_t max)
{
    (void)ud;
    uint32_t n = (uint32_t)sim_scenario_uint(sc, "gossip", "nodes");
    for (uint32_t i = 0; i < n && i < max; i++) names[i] = node_names[i];
    return n;
}

const sim_system sim_gossip_system = {
    .name = "gossip",
    .summary = "nodes spreading rumors over datagrams until every node knows every rumor",
    .keys = gossip_keys,
    .key_count = sizeof gossip_keys / sizeof gossip_keys[0],
    .setup = gossip_sys_setup,
    .check = gossip_sys_check,
    .teardown = gossip_sys_teardown,
    .nodes = gossip_sys_nodes,
    .shrink = "gossip.nodes gossip.rumors",
};
