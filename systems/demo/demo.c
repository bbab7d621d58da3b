/*
 * demo.c: the demo world (see demo.h). Written against sim.h only, and meant to be read as an
 * example: every task is a state struct and a poll function in SIM_BEGIN/SIM_AWAIT/SIM_END
 * form. None needs a drop function: a task owns what it awaits and the handles it made or was
 * given (the spawn's `moves`, a channel's `handle_at`), and they go when it ends.
 */
#undef NDEBUG /* the crash bug is a plain assert(3), in every build */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define BEATS 12

/* ---- n1: ticker -> counter, request/response with a oneshot per request ------------------- */

typedef struct request {
    uint32_t n;       /* request number within this incarnation */
    sim_tx reply;     /* oneshot for the answer (a uint64_t total); the channel moves it */
} request;

typedef struct ticker {
    sim_co co;
    sim_demo_stats *stats;
    sim_tx requests;      /* bounded mpsc to the counter */
    sim_interval every;
    uint32_t i;
    request req;          /* the request being sent */
    sim_rx reply;         /* the oneshot receiver of the current request */
    uint64_t total;
} ticker;

static const sim_chan_desc reply_desc = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(uint64_t)};

static int ticker_poll(void *state, sim_world *w)
{
    ticker *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &t->co);
    sim_interval_init(w, &t->every, 100 * SIM_MS);
    for (t->i = 1; t->i <= t->stats->config.ticks; t->i++) {
        SIM_TRY(sim_tick(&t->every));
        rc = sim_chan_new(w, &reply_desc, &t->req.reply, &t->reply);
        if (rc != SIM_OK) SIM_RETURN(rc);
        t->req.n = t->i;
        SIM_TRY(sim_send(&t->requests, &t->req)); /* the reply's sender goes with it */
        t->stats->ticks++;
        SIM_AWAIT(rc, sim_timeout(w, 50 * SIM_MS, sim_recv(&t->reply, &t->total)));
        {
            /* The reply is data the hash should see: a lost or wrong reply must change it. */
            int64_t seen[2] = {rc, rc == SIM_OK ? (int64_t)t->total : -1};
            sim_trace_note(w, "reply", seen, sizeof seen);
        }
        if (rc == SIM_OK) t->stats->replies++;
        if (rc == SIM_ETIMEDOUT) t->stats->timeouts++;
        sim_rx_drop(w, &t->reply);
    }
    t->stats->tickers_done++;
    SIM_END(SIM_OK);
}

typedef struct persist_job {
    sim_demo_stats *stats;
    uint64_t total;
} persist_job;

/* Persists the running total: appended to counter.log on n1's disk and fsynced, through the
 * synchronous disk calls of a blocking-pool job. */
static int persist_run(void *state, sim_world *w)
{
    persist_job *p = state;
    uint64_t extra = 0;
    if (p->stats->config.bug == SIM_DEMO_BUG_NONDETERMINISTIC) {
        /* The planted bug: state that outlives the world, so a rerun of the seed differs. */
        static uint32_t jobs_in_this_process;
        extra = (jobs_in_this_process++ % 3) * SIM_MS;
    }
    if (p->stats->config.bug == SIM_DEMO_BUG_HEAP_DEPENDENT) {
        /* The planted bug: a decision from an address, as a map keyed by pointer would make. */
        void *probe = malloc(56);
        extra = ((uint64_t)(uintptr_t)probe * 0x9e3779b97f4a7c15ull >> 32) % 1000 * SIM_US;
        free(probe);
    }
    /* A fault point, BUGGIFY style: a slow disk. Still well inside the ticker's timeout. */
    if (SIM_FAULT(w, "sut/demo/slow-persist")) extra += 30 * SIM_MS;
    if (extra > 0) sim_job_charge(w, extra);
    sim_file log;
    int rc = sim_file_open(w, "counter.log", SIM_O_CREATE, &log);
    if (rc == SIM_OK) rc = sim_file_append(w, &log, &p->total, sizeof p->total, NULL);
    if (rc == SIM_OK) rc = sim_file_sync(w, &log);
    sim_file_close(w, &log);
    if (rc == SIM_OK) {
        p->stats->persisted++;
    } else {
        p->stats->persist_errors++;
    }
    return rc;
}

typedef struct counter {
    sim_co co;
    sim_demo_stats *stats;
    sim_rx requests;
    request req;          /* the request being served; its reply handle is ours */
    sim_join job;
} counter;

static int spawn_persist(sim_world *w, counter *c)
{
    persist_job p = {.stats = c->stats, .total = c->stats->counter_total};
    sim_job_desc jd = {.name = "persist", .run = persist_run, .state = &p,
                       .state_size = sizeof p};
    return sim_spawn_blocking(w, &jd, &c->job);
}

static int counter_poll(void *state, sim_world *w)
{
    counter *c = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &c->co);
    c->stats->counter_total = 0;
    for (;;) {
        SIM_AWAIT(rc, sim_recv(&c->requests, &c->req));
        if (rc != SIM_OK) break;
        c->stats->counter_total += c->req.n;
        if (c->req.n % 5 == 0) {
            rc = spawn_persist(w, c);
            if (rc != SIM_OK) break;
            SIM_AWAIT(rc, sim_join_wait(&c->job));
        }
        if (c->req.n != 7 || c->stats->config.bug != SIM_DEMO_BUG_LOST_REPLY) {
            sim_try_send(w, &c->req.reply, &c->stats->counter_total); /* ECLOSED: gave up */
        }
        sim_tx_drop(w, &c->req.reply);
    }
    SIM_END(rc == SIM_ECLOSED ? SIM_OK : rc);
}

static int boot_n1(void *ud, sim_world *w, sim_node_id node)
{
    (void)node;
    sim_demo_stats *stats = ud;
    /* Each request carries its reply's sender: the channel moves it to whoever receives. */
    sim_chan_desc d = {.kind = SIM_CHAN_MPSC, .msg_size = sizeof(request), .capacity = 4,
                       .name = "requests", .handle_at = {offsetof(request, reply)},
                       .handle_count = 1};
    ticker t = {.stats = stats};
    counter c = {.stats = stats};
    int rc = sim_chan_new(w, &d, &t.requests, &c.requests);
    if (rc != SIM_OK) return rc;
    sim_task_desc td = {.name = "ticker", .poll = ticker_poll, .state = &t,
                        .state_size = sizeof t, .moves = SIM_MOVES(&t.requests)};
    sim_task_desc cd = {.name = "counter", .poll = counter_poll, .state = &c,
                        .state_size = sizeof c, .daemon = true, .moves = SIM_MOVES(&c.requests)};
    rc = sim_spawn(w, &td, NULL);
    if (rc == SIM_OK) rc = sim_spawn(w, &cd, NULL);
    return rc;
}

/* ---- n2: heartbeat -> monitor over a watch, stopped by a token ------------------------------ */

typedef struct heartbeat {
    sim_co co;
    sim_demo_stats *stats;
    sim_tx beat_tx;
    sim_token stop;
    sim_interval every;
    uint32_t beat;
    sim_tx ack_tx;        /* bug = deadlock: an ack channel whose sender nobody uses */
    sim_rx ack_rx;
    uint32_t ack;
} heartbeat;

static const sim_chan_desc ack_desc = {.kind = SIM_CHAN_ONESHOT, .msg_size = sizeof(uint32_t),
                                       .name = "ack"};

static int heartbeat_poll(void *state, sim_world *w)
{
    heartbeat *h = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &h->co);
    sim_interval_init(w, &h->every, 250 * SIM_MS);
    for (h->beat = 1; h->beat <= BEATS; h->beat++) {
        SIM_TRY(sim_tick(&h->every));
        rc = sim_try_send(w, &h->beat_tx, &h->beat);
        if (rc != SIM_OK) break;
        h->stats->beats++;
        /* The planted bug that takes the process down: a plain assert(3) of the system's own,
         * what a failed assert or a segfault does to the sim that runs it (sim run reports
         * the seed as a crash, with the assert's message). */
        assert(!(h->beat == 3 && h->stats->config.bug == SIM_DEMO_BUG_CRASH) &&
               "the demo's planted crash");
        /* An assertion of the system's own that fails on a third of the seeds. */
        if (h->beat == 3 && h->stats->config.bug == SIM_DEMO_BUG_ASSERT) {
            SIM_ASSERT(sim_world_seed(w) % 3 != 2);
        }
        if (h->beat == 6 && h->stats->config.bug == SIM_DEMO_BUG_DEADLOCK) {
            rc = sim_chan_new(w, &ack_desc, &h->ack_tx, &h->ack_rx);
            if (rc != SIM_OK) break;
            SIM_AWAIT(rc, sim_recv(&h->ack_rx, &h->ack)); /* never comes */
        }
    }
    sim_token_cancel(w, &h->stop);
    SIM_END(rc);
}

typedef struct monitor {
    sim_co co;
    sim_demo_stats *stats;
    sim_rx beats;
    sim_token stop;
    uint32_t value;
    int which;
} monitor;

static int monitor_poll(void *state, sim_world *w)
{
    monitor *m = state;
    int rc = SIM_OK;
    SIM_BEGIN(w, &m->co);
    for (;;) {
        SIM_AWAIT(rc, sim_select(w, &m->which, sim_cancelled(&m->stop),
                                 sim_recv(&m->beats, &m->value)));
        if (m->which == 0 || rc != SIM_OK) break;
        m->stats->seen++;
    }
    SIM_END(rc == SIM_ECLOSED ? SIM_OK : rc);
}

static int boot_n2(void *ud, sim_world *w, sim_node_id node)
{
    (void)node;
    sim_demo_stats *stats = ud;
    heartbeat h = {.stats = stats};
    monitor m = {.stats = stats};
    uint32_t zero = 0;
    sim_chan_desc d = {.kind = SIM_CHAN_WATCH, .msg_size = sizeof(uint32_t), .initial = &zero,
                       .name = "beats"};
    int rc = sim_chan_new(w, &d, &h.beat_tx, &m.beats);
    if (rc == SIM_OK) rc = sim_token_new(w, NULL, &h.stop);
    if (rc == SIM_OK) rc = sim_token_clone(w, &h.stop, &m.stop);
    if (rc != SIM_OK) return rc;
    sim_task_desc hd = {.name = "heartbeat", .poll = heartbeat_poll, .state = &h,
                        .state_size = sizeof h, .moves = SIM_MOVES(&h.beat_tx, &h.stop)};
    sim_task_desc md = {.name = "monitor", .poll = monitor_poll, .state = &m,
                        .state_size = sizeof m, .daemon = true,
                        .moves = SIM_MOVES(&m.beats, &m.stop)};
    rc = sim_spawn(w, &hd, NULL);
    if (rc == SIM_OK) rc = sim_spawn(w, &md, NULL);
    return rc;
}

/* ---- world level: chaos --------------------------------------------------------------------- */

typedef struct chaos {
    sim_co co;
    sim_node_id n1;
    sim_node_id n2;
    sim_demo_config cfg;
} chaos;

static int chaos_poll(void *state, sim_world *w)
{
    chaos *c = state;
    SIM_BEGIN(w, &c->co);
    if (c->cfg.crash_at_ns != UINT64_MAX) {
        SIM_TRY(sim_sleep_until(c->cfg.crash_at_ns));
        sim_node_crash(w, c->n1);
        SIM_TRY(sim_sleep(w, c->cfg.restart_after_ns));
        sim_node_restart(w, c->n1);
    }
    if (c->cfg.pause_at_ns != UINT64_MAX) {
        SIM_TRY(sim_sleep_until(c->cfg.pause_at_ns));
        sim_node_pause(w, c->n2);
        SIM_TRY(sim_sleep(w, c->cfg.pause_for_ns));
        sim_node_resume(w, c->n2);
    }
    SIM_END(SIM_OK);
}

static sim_demo_config with_defaults(const sim_demo_config *in)
{
    sim_demo_config c = in ? *in : (sim_demo_config){0};
    if (c.ticks == 0) c.ticks = 20;
    if (c.crash_at_ns == 0) c.crash_at_ns = 1000 * SIM_MS;
    if (c.restart_after_ns == 0) c.restart_after_ns = 500 * SIM_MS;
    if (c.pause_at_ns == 0) c.pause_at_ns = 2000 * SIM_MS;
    if (c.pause_for_ns == 0) c.pause_for_ns = 300 * SIM_MS;
    return c;
}

static const sim_fault_point demo_faults[] = {
    {"sut/demo/slow-persist", "the counter's persist job takes 30 ms longer (a slow disk)"},
};

int sim_demo_setup(sim_world *w, const sim_demo_config *config, sim_demo_stats *stats)
{
    stats->config = with_defaults(config);
    int rc = sim_fault_declare(demo_faults, sizeof demo_faults / sizeof demo_faults[0]);
    if (rc != SIM_OK) return rc;
    sim_node_desc n1 = {.name = "n1", .pool_workers = 2, .boot = boot_n1, .boot_ud = stats};
    sim_node_desc n2 = {.name = "n2", .boot = boot_n2, .boot_ud = stats};
    chaos c = {.cfg = stats->config};
    rc = sim_node_add(w, &n1, &c.n1);
    if (rc == SIM_OK) rc = sim_node_add(w, &n2, &c.n2);
    if (rc != SIM_OK) return rc;
    sim_task_desc cd = {.name = "chaos", .poll = chaos_poll, .state = &c,
                        .state_size = sizeof c};
    return sim_spawn(w, &cd, NULL);
}

/* ---- the demo as a system for scenario files ----------------------------------------------- */

static const sim_key_spec demo_keys[] = {
    {"demo", "ticks", SIM_KEY_UINT, "20", NULL, 1, 10000, "requests per ticker incarnation"},
    {"demo", "crash_at", SIM_KEY_DURATION, "1s", NULL, 0, 0, "when n1 crashes; 0s: never"},
    {"demo", "restart_after", SIM_KEY_DURATION, "500ms", NULL, 1, 0, "how long n1 stays down"},
    {"demo", "pause_at", SIM_KEY_DURATION, "2s", NULL, 0, 0, "when n2 is paused; 0s: never"},
    {"demo", "pause_for", SIM_KEY_DURATION, "300ms", NULL, 1, 0, "how long n2 stays paused"},
    {"demo", "bug", SIM_KEY_CHOICE, "none",
     "none|deadlock|lost-reply|nondeterministic|crash|heap-dependent|assert", 0, 0,
     "a planted bug, for testing sim itself"},
};

static int demo_sys_setup(void *ud, sim_world *w, const sim_scenario *sc, void **run_state,
                          char *err, size_t err_size)
{
    (void)ud;
    static const char *const bugs[] = {"none",  "deadlock",      "lost-reply", "nondeterministic",
                                       "crash", "heap-dependent", "assert"};
    sim_demo_config cfg = {
        .ticks = (uint32_t)sim_scenario_uint(sc, "demo", "ticks"),
        .crash_at_ns = sim_scenario_uint(sc, "demo", "crash_at"),
        .restart_after_ns = sim_scenario_uint(sc, "demo", "restart_after"),
        .pause_at_ns = sim_scenario_uint(sc, "demo", "pause_at"),
        .pause_for_ns = sim_scenario_uint(sc, "demo", "pause_for"),
    };
    if (cfg.crash_at_ns == 0) cfg.crash_at_ns = UINT64_MAX;
    if (cfg.pause_at_ns == 0) cfg.pause_at_ns = UINT64_MAX;
    const char *bug = sim_scenario_get(sc, "demo", "bug");
    for (uint32_t i = 0; i < sizeof bugs / sizeof bugs[0]; i++) {
        if (strcmp(bug, bugs[i]) == 0) cfg.bug = (sim_demo_bug)i;
    }
    sim_demo_stats *stats = calloc(1, sizeof *stats);
    if (stats == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    *run_state = stats;
    int rc = sim_demo_setup(w, &cfg, stats);
    if (rc != SIM_OK) snprintf(err, err_size, "%s", sim_result_str(rc));
    return rc;
}

/* How many times a fault plan paused the node. */
static uint32_t pauses_of(const sim_world *w, sim_node_id node)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < sim_world_fault_count(w); i++) {
        const sim_fault_rec *f = sim_world_fault(w, i);
        n += f->node.v == node.v && f->action == SIM_FAULT_PAUSE;
    }
    return n;
}

static int demo_sys_check(void *ud, void *run_state, sim_world *w, char *msg, size_t msg_size)
{
    (void)ud;
    const sim_demo_stats *s = run_state;
    sim_node_id n1 = sim_node_find(w, "n1"), n2 = sim_node_find(w, "n2");
    /* Each crash of n1 may cut off the request in flight, and each pause of n1 may make the
     * one in flight time out (the ticker's timer expires while both tasks are frozen). */
    uint32_t crashes = sim_node_boots(w, n1) - 1 + (sim_node_status(w, n1) == SIM_NODE_DOWN);
    uint32_t pauses = pauses_of(w, n1);
    uint32_t answered = s->replies + s->timeouts;
    /* The work asked for: one ticker's requests, all of them (a run that ended with n1 down,
     * its ticker cut off, proves nothing about the requests it did not send). */
    if (s->tickers_done == 0) {
        snprintf(msg, msg_size,
                 "no ticker sent all of its %u requests: the run ended with work undone "
                 "(%u sent in all, n1 crashed %u times%s)", s->config.ticks, s->ticks, crashes,
                 sim_node_status(w, n1) == SIM_NODE_DOWN ? ", down at the end" : "");
        return SIM_EINVAL;
    }
    if (s->timeouts > pauses) {
        snprintf(msg, msg_size,
                 "%u of %u requests timed out waiting for the counter (n1 was paused %u times)",
                 s->timeouts, s->ticks, pauses);
        return SIM_EINVAL;
    }
    if (answered + crashes < s->ticks) {
        snprintf(msg, msg_size,
                 "%u of %u requests got neither a reply nor a timeout (n1 crashed %u times)",
                 s->ticks - answered, s->ticks, crashes);
        return SIM_EINVAL;
    }
    /* A crash of n2 starts the heartbeat over; without one, every beat is published. */
    if (sim_node_boots(w, n2) == 1 && sim_node_status(w, n2) != SIM_NODE_DOWN &&
        s->beats != BEATS) {
        snprintf(msg, msg_size, "the heartbeat published %u of %d beats", s->beats, BEATS);
        return SIM_EINVAL;
    }
    return SIM_OK;
}

static void demo_sys_teardown(void *ud, void *run_state)
{
    (void)ud;
    free(run_state);
}

static uint32_t demo_sys_nodes(void *ud, const sim_scenario *sc, const char **names,
                               uint32_t max)
{
    (void)ud;
    (void)sc;
    static const char *const mine[] = {"n1", "n2"};
    for (uint32_t i = 0; i < 2 && i < max; i++) names[i] = mine[i];
    return 2;
}

const sim_system sim_demo_system = {
    .name = "demo",
    .summary = "two nodes, timers, channels, a blocking pool, a crash, a restart and a pause",
    .keys = demo_keys,
    .key_count = sizeof demo_keys / sizeof demo_keys[0],
    .setup = demo_sys_setup,
    .check = demo_sys_check,
    .teardown = demo_sys_teardown,
    .faults = demo_faults,
    .fault_count = sizeof demo_faults / sizeof demo_faults[0],
    .nodes = demo_sys_nodes,
    .shrink = "demo.ticks",
};
