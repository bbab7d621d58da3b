/*
 * actortest.h: a harness for the actor runtime's tests (test_actor.c, test_actor_bridge.c).
 * One node, its runtime booted by the node's boot function, and a driver task that runs a
 * test's phases one after another, each once the runtime is quiet (nothing queued, no timer
 * pending). Actors of the "probe" type log what their calls see into a shared log.
 */
#ifndef SIM_ACTORTEST_H
#define SIM_ACTORTEST_H

#include "../../systems/actor/actor.h"
#include "../helpers.h"

#define LOG_MAX 512

typedef struct tlog {
    int64_t v[LOG_MAX];
    uint32_t n;
} tlog;

static tlog g_log;
static act_sys *g_sys;
static sim_node_id g_node;

static inline void log_put(int64_t v)
{
    cr_assert(lt(u32, g_log.n, LOG_MAX));
    g_log.v[g_log.n++] = v;
}

/* What a Ret of kind fn received. */
typedef struct probe_ret {
    uint32_t fired;
    bool some;
    act_val v;
} probe_ret;

static inline void probe_ret_cb(void *ud, act_sys *sys, bool some, act_val *v)
{
    probe_ret *p = ud;
    (void)sys;
    p->fired++;
    p->some = some;
    if (some) {
        p->v = *v;
        *v = (act_val){0}; /* keep whatever it carries: the test drops it */
    }
}

static inline act_ret probe_ret_new(probe_ret *p)
{
    *p = (probe_ret){0};
    return act_ret_fn(g_sys, probe_ret_cb, p, ACT_SITE);
}

/* The probe actor: logs each call's a (or -1000 - a for a none); b says what else to do. */
enum { DO_NOTHING = 0, DO_STOP, DO_FAIL, DO_KEEP, DO_REPLY, DO_FAIL_STOP, DO_KILL_SELF };

typedef struct probe { act_ret kept; int64_t calls; } probe;

static inline void probe_init(act_cx *cx, void *self, bool some, act_val *v)
{
    (void)self;
    (void)some;
    log_put(1000 + v->a);
    act_cx_ready(cx);
}

static inline void probe_call(act_cx *cx, void *self, bool some, act_val *v)
{
    probe *p = self;
    p->calls++;
    log_put(some ? v->a : -1000 - v->a);
    if (!some) return;
    switch (v->b) {
    case DO_STOP: act_cx_stop(cx); break;
    case DO_FAIL: act_cx_fail(cx, 7); break;
    case DO_FAIL_STOP:
        act_cx_fail(cx, 9);
        act_cx_stop(cx);
        break;
    case DO_KEEP: act_ret_keep(cx, act_ret_take(&v->ret)); break;
    case DO_REPLY: act_ret_fire(act_cx_sys(cx), &v->ret, (act_val){.a = v->a + 1}); break;
    case DO_KILL_SELF: act_kill(act_cx_sys(cx), act_cx_self(cx), 3); break;
    default: break;
    }
}

static const act_type probe_type = {.name = "probe", .size = sizeof(probe)};

static inline act_own probe_new(probe_ret *notify)
{
    act_ret n = notify != NULL ? probe_ret_new(notify) : (act_ret){0};
    return act_new(g_sys, g_node, &probe_type, "probe", n);
}

static inline act_own probe_ready(probe_ret *notify)
{
    act_own o = probe_new(notify);
    act_call_prep(g_sys, act_own_actor(o), probe_init, (act_val){0});
    return o;
}

typedef void (*phase_fn)(int phase);

typedef struct driver {
    sim_co co;
    phase_fn phase;
    int nphases;
    int i;
    uint32_t spins;
} driver;

static inline int driver_poll(void *state, sim_world *w)
{
    driver *d = state;
    SIM_BEGIN(w, &d->co);
    for (d->i = 0; d->i < d->nphases; d->i++) {
        d->phase(d->i);
        for (d->spins = 0; !act_quiet(g_sys, g_node) && d->spins < 100000; d->spins++) {
            SIM_TRY(sim_sleep(w, SIM_MS)); /* the loop runs; timers come due */
        }
        cr_assert(act_quiet(g_sys, g_node), "phase %d never became quiet", d->i);
        SIM_TRY(sim_sleep(w, SIM_MS)); /* a resume queued by the last item runs too */
    }
    SIM_END(SIM_OK);
}

static inline int boot_rt(void *ud, sim_world *w, sim_node_id node)
{
    (void)ud;
    (void)w;
    return act_boot(g_sys, node);
}

/* Runs phases 0..n-1 in a fresh world with the given bug and spurious resumes; the act_sys
 * stays in g_sys for the test to inspect (free it with run_end). */
static inline sim_world *run_phases(phase_fn phase, int n, act_bug bug, sim_ratio spurious)
{
    g_log = (tlog){0};
    sim_world *w = test_world(1, SIM_SCHED_FIFO);
    act_sys_desc desc = {.bug = bug, .spurious = spurious};
    g_sys = act_sys_new(w, &desc);
    g_node = test_node(w, "n1", boot_rt, NULL);
    driver d = {.phase = phase, .nphases = n};
    test_spawn(w, "driver", g_node, driver_poll, NULL, &d, sizeof d);
    test_run_ok(w);
    return w;
}

static inline void run_end(sim_world *w)
{
    sim_world_free(w); /* first: its end drops the loop tasks, which tell g_sys */
    act_sys_free(g_sys);
    g_sys = NULL;
}

static inline void assert_log(const int64_t *want, uint32_t n)
{
    cr_assert(eq(u32, g_log.n, n), "log has %u entries, want %u", g_log.n, n);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert(eq(i64, g_log.v[i], want[i]), "log[%u] = %lld, want %lld", i,
                  (long long)g_log.v[i], (long long)want[i]);
    }
}

static inline void assert_clean(void)
{
    char msg[512];
    int rc = act_sys_check(g_sys, msg, sizeof msg);
    cr_assert(eq(int, rc, SIM_OK), "check: %s", msg);
}

static inline void assert_check_says(const char *needle)
{
    char msg[512] = "";
    int rc = act_sys_check(g_sys, msg, sizeof msg);
    cr_assert(eq(int, rc, SIM_EINVAL), "the check passed; want \"%s\"", needle);
    cr_assert(strstr(msg, needle) != NULL, "check says \"%s\"; want \"%s\"", msg, needle);
}

#endif /* SIM_ACTORTEST_H */
