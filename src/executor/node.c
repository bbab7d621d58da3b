/*
 * node.c: simulated processes: add, crash, restart, pause, resume.
 *
 * Crash finds the node's live tasks by scanning the task table and drops them in spawn
 * order (memory only, no side effects), so what a crash destroys and the order it destroys
 * it in depend only on the run. Crashes are rare next to spawns, so the scan is cheaper
 * overall than keeping a per-node list up to date on every spawn and finish. The running
 * task, if it belongs to the crashed node, is marked and dropped as soon as its poll returns.
 * Pause parks the node's runnable tasks and every later wake-up of them; resume queues the
 * parked ones in spawn order. Node 0 is the pseudo-node of world-level tasks and cannot be
 * acted on.
 */
#include <stdlib.h>

#include "exec.h"

#define DEFAULT_POOL_WORKERS 4
#define DEFAULT_POOL_LATENCY_MIN (10 * SIM_US)
#define DEFAULT_POOL_LATENCY_MAX (100 * SIM_US)

static int ref_by_id(const void *a, const void *b)
{
    uint32_t x = ((const sim__ref *)a)->id, y = ((const sim__ref *)b)->id;
    return (x > y) - (x < y);
}

sim__ref *sim__tasks_of(const sim_world *w, uint32_t node, uint32_t *n)
{
    *n = 0;
    if (w->tasks_live == 0) return NULL;
    sim__ref *refs = malloc((size_t)w->tasks_live * sizeof(sim__ref));
    SIM_ASSERT(refs != NULL); /* out of memory in a crash or report */
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        const sim__task *t = &w->tasks[s];
        if (t->status != TASK_LIVE || (node != SIM__NIL && t->node != node)) continue;
        SIM_ASSERT(*n < w->tasks_live);
        refs[(*n)++] = (sim__ref){.slot = s, .id = t->id};
    }
    qsort(refs, *n, sizeof *refs, ref_by_id);
    if (*n == 0) {
        free(refs);
        return NULL;
    }
    return refs;
}

void sim__nodes_free(sim_world *w)
{
    for (uint32_t i = 0; i < w->nodes_len; i++) {
        free(w->nodes[i].jobq);
        free(w->nodes[i].host_addr);
        free(w->nodes[i].host_dir);
    }
    free(w->nodes);
    w->nodes = NULL;
    w->nodes_len = 0;
}

static bool node_valid(const sim_world *w, sim_node_id node)
{
    return node.v >= 1 && node.v < w->nodes_len;
}

/* Drops every task of a node (crash mode), in spawn order. The running task, if it is one of
 * them, is marked and dropped when its poll returns. */
static uint32_t node_drop_tasks(sim_world *w, uint32_t node)
{
    uint32_t n;
    SIM_ASSERT(node >= 1 && node < w->nodes_len); /* the world pseudo-node never crashes */
    SIM_ASSERT(w->nodes[node].state == SIM_NODE_DOWN);
    sim__ref *refs = sim__tasks_of(w, node, &n);
    for (uint32_t i = 0; i < n; i++) {
        sim__task *t = &w->tasks[refs[i].slot];
        if (t->id != refs[i].id || t->status != TASK_LIVE) continue;
        if (t->flags & TF_RUNNING) {
            t->flags |= TF_CRASH;
        } else {
            sim__rq_remove(w, refs[i].slot);
            sim__task_finish(w, refs[i].slot, SIM_ECRASHED, SIM__DROP_CRASH);
            SIM_ASSERT(w->tasks[refs[i].slot].status != TASK_LIVE);
        }
    }
    free(refs);
    /* What the node itself owned (made in boot, or shared) goes with it. */
    int saved = w->dropping;
    w->dropping = SIM__DROP_CRASH;
    sim__hands_release_node(w, node);
    w->dropping = saved;
    SIM_ASSERT(w->nodes[node].hands_head == SIM__NIL); /* what the node owned went with it */
    w->nodes[node].busy = 0;
    w->nodes[node].jobq_len = 0;
    return n;
}

static int node_boot(sim_world *w, uint32_t node)
{
    SIM_ASSERT(node >= 1 && node < w->nodes_len);
    SIM_ASSERT(w->booting != node); /* a boot function does not boot its own node again */
    sim__node *n = &w->nodes[node];
    n->boots++;
    n->state = SIM_NODE_UP;
    n->busy = 0;
    n->jobq_len = 0;
    if (n->boot == NULL) return SIM_OK;
    uint32_t saved_booting = w->booting;
    uint32_t saved_current = w->current;
    w->booting = node;
    w->current = SIM__NIL;
    int rc = n->boot(n->boot_ud, w, (sim_node_id){node});
    w->booting = saved_booting;
    w->current = saved_current;
    if (rc != SIM_OK) {
        w->nodes[node].state = SIM_NODE_DOWN;
        node_drop_tasks(w, node);
        SIM_ASSERT(w->nodes[node].state == SIM_NODE_DOWN); /* a failed boot leaves it down */
    }
    return rc;
}

static int node_desc_check(const sim_world *w, const sim_node_desc *d)
{
    if (d == NULL || d->name == NULL || d->name[0] == '\0') return SIM_EINVAL;
    if (d->pool_latency.min_ns > d->pool_latency.max_ns) return SIM_EINVAL;
    if (sim_node_find(w, d->name).v != 0) return SIM_EINVAL;
    if (w->nodes_len >= SIM__NODES_MAX) return SIM_ELIMIT;
    if (w->backend == SIM_BACKEND_HOST && d->host_addr != NULL &&
        !sim__host_addr_valid(d->host_addr)) {
        return SIM_EINVAL;
    }
    return SIM_OK;
}

int sim_node_add(sim_world *w, const sim_node_desc *d, sim_node_id *out)
{
    if (out != NULL) out->v = 0;
    int rc = node_desc_check(w, d);
    if (rc != SIM_OK) return rc;
    const char *name = sim_world_intern(w, d->name);
    SIM_ASSERT(name != NULL); /* interning fails only for want of memory: fatal */
    sim__grow((void **)&w->nodes, &w->nodes_cap, w->nodes_len + 1, sizeof(sim__node));
    sim__table_shake((void **)&w->nodes, w->nodes_cap, sizeof(sim__node));
    uint32_t idx = w->nodes_len++;
    SIM_ASSERT(idx >= 1 && idx < SIM__NODES_MAX);
    sim__node *n = &w->nodes[idx];
    memset(n, 0, sizeof *n);
    n->hands_head = SIM__NIL;
    n->hands_tail = SIM__NIL;
    n->name = name;
    n->boot = d->boot;
    n->boot_ud = d->boot_ud;
    n->workers = d->pool_workers ? d->pool_workers : DEFAULT_POOL_WORKERS;
    n->touch_declared = d->touch_declared;
    n->latency = d->pool_latency;
    if (n->latency.max_ns == 0) {
        n->latency.min_ns = DEFAULT_POOL_LATENCY_MIN;
        n->latency.max_ns = DEFAULT_POOL_LATENCY_MAX;
    }
    SIM_ASSERT(n->workers > 0);
    SIM_ASSERT(n->latency.min_ns <= n->latency.max_ns);
    sim_rng_init(&n->pool_rng, w->seed, "sim/pool", idx);
    if (w->backend == SIM_BACKEND_HOST) sim__host_node_init(w, n, d);
    sim__emit(w, SIM_EV_NODE_ADD, idx, 0, n->workers, 0, name);
    if (out != NULL) out->v = idx;
    return node_boot(w, idx);
}

/* A host world crashes and restarts only the nodes this process runs (they have a boot
 * function): another process's node is out of its reach. */
static bool host_foreign(const sim_world *w, sim_node_id node)
{
    SIM_ASSERT(w->backend == SIM_BACKEND_HOST);
    return node_valid(w, node) && w->nodes[node.v].boot == NULL;
}

int sim_node_crash(sim_world *w, sim_node_id node)
{
    bool host = w->backend == SIM_BACKEND_HOST;
    if (host && host_foreign(w, node)) {
        return sim__host_refuse(w, "sim_node_crash of a node this process does not run");
    }
    if (!node_valid(w, node) || w->nodes[node.v].state == SIM_NODE_DOWN) return SIM_ENODE;
    int rc = sim__no_side_effects(w, "sim_node_crash");
    if (rc != SIM_OK) return rc;
    /* A host node's jobs finish on their threads first (a thread cannot be stopped); their
     * completions are not delivered, and its files close. */
    if (host) sim__host_node_crash(w, node.v);
    w->nodes[node.v].state = SIM_NODE_DOWN;
    uint32_t count = 0;
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        count += w->tasks[s].status == TASK_LIVE && w->tasks[s].node == node.v;
    }
    sim__emit(w, SIM_EV_CRASH, node.v, 0, count, w->nodes[node.v].boots, w->nodes[node.v].name);
    /* Extensions first (sockets reset, unsynced writes lost), so that the drop functions of
     * the node's tasks find their handles already dead. */
    for (uint32_t e = 0; e < w->ext_count; e++) {
        if (w->ext_ops[e]->crash != NULL) w->ext_ops[e]->crash(w, node.v);
    }
    node_drop_tasks(w, node.v);
    sim__ledger_crash(w, node.v);
    SIM_ASSERT(w->nodes[node.v].state == SIM_NODE_DOWN); /* drops cannot restart it */
    SIM_ASSERT(w->nodes[node.v].busy == 0 && w->nodes[node.v].jobq_len == 0);
    return SIM_OK;
}

int sim_node_restart(sim_world *w, sim_node_id node)
{
    if (w->backend == SIM_BACKEND_HOST && host_foreign(w, node)) {
        return sim__host_refuse(w, "sim_node_restart of a node this process does not run");
    }
    if (!node_valid(w, node) || w->nodes[node.v].state != SIM_NODE_DOWN) return SIM_ENODE;
    int rc = sim__no_side_effects(w, "sim_node_restart");
    SIM_ASSERT(w->nodes[node.v].boots >= 1); /* down after a boot: added, then crashed */
    if (rc != SIM_OK) return rc;
    sim__emit(w, SIM_EV_RESTART, node.v, 0, w->nodes[node.v].boots + 1, 0,
              w->nodes[node.v].name);
    for (uint32_t e = 0; e < w->ext_count; e++) {
        if (w->ext_ops[e]->restart != NULL) {
            w->ext_ops[e]->restart(w, node.v);
        }
    }
    return node_boot(w, node.v);
}

int sim_node_pause(sim_world *w, sim_node_id node)
{
    if (w->backend == SIM_BACKEND_HOST) return sim__host_refuse(w, "sim_node_pause");
    if (!node_valid(w, node) || w->nodes[node.v].state != SIM_NODE_UP) return SIM_ENODE;
    int rc = sim__no_side_effects(w, "sim_node_pause");
    if (rc != SIM_OK) return rc;
    w->nodes[node.v].state = SIM_NODE_PAUSED;
    sim__emit(w, SIM_EV_PAUSE, node.v, 0, 0, 0, w->nodes[node.v].name);
    uint32_t n;
    sim__ref *refs = sim__tasks_of(w, node.v, &n);
    for (uint32_t i = 0; i < n; i++) {
        sim__task *t = &w->tasks[refs[i].slot];
        if (!(t->flags & TF_QUEUED)) continue;
        SIM_ASSERT(t->status == TASK_LIVE);
        SIM_ASSERT(!(t->flags & TF_PARKED)); /* parked tasks are never queued */
        sim__rq_remove(w, refs[i].slot);
        t->flags |= TF_PARKED;
    }
    free(refs);
    return SIM_OK;
}

int sim_node_resume(sim_world *w, sim_node_id node)
{
    if (w->backend == SIM_BACKEND_HOST) return sim__host_refuse(w, "sim_node_resume");
    if (!node_valid(w, node) || w->nodes[node.v].state != SIM_NODE_PAUSED) return SIM_ENODE;
    int rc = sim__no_side_effects(w, "sim_node_resume");
    if (rc != SIM_OK) return rc;
    w->nodes[node.v].state = SIM_NODE_UP;
    uint32_t released = 0;
    uint32_t n;
    sim__ref *refs = sim__tasks_of(w, node.v, &n);
    for (uint32_t i = 0; i < n; i++) {
        sim__task *t = &w->tasks[refs[i].slot];
        if (!(t->flags & TF_PARKED)) continue;
        t->flags &= ~(uint32_t)TF_PARKED;
        released++;
        if (!(t->flags & TF_RUNNING)) {
            rc = sim__rq_push(w, refs[i].slot);
            SIM_ASSERT(rc == SIM_OK);
        } else {
            t->flags |= TF_WOKEN;
        }
    }
    free(refs);
    SIM_ASSERT(released <= n);
    sim__emit(w, SIM_EV_RESUME, node.v, 0, released, 0, w->nodes[node.v].name);
    return SIM_OK;
}

sim_node_state sim_node_status(const sim_world *w, sim_node_id node)
{
    if (!node_valid(w, node)) return SIM_NODE_DOWN;
    return (sim_node_state)w->nodes[node.v].state;
}

const char *sim_node_name(const sim_world *w, sim_node_id node)
{
    return node_valid(w, node) ? w->nodes[node.v].name : "?";
}

sim_node_id sim_node_find(const sim_world *w, const char *name)
{
    for (uint32_t i = 1; i < w->nodes_len; i++) {
        if (strcmp(w->nodes[i].name, name) == 0) return (sim_node_id){i};
    }
    return (sim_node_id){0};
}

uint32_t sim_node_count(const sim_world *w)
{
    return w->nodes_len - 1;
}

uint32_t sim_node_boots(const sim_world *w, sim_node_id node)
{
    return node_valid(w, node) ? w->nodes[node.v].boots : 0;
}

int sim_node_set_clock(sim_world *w, sim_node_id node, int64_t offset_ns, int32_t drift_ppm)
{
    if (w->backend == SIM_BACKEND_HOST) return sim__host_refuse(w, "sim_node_set_clock");
    if (!node_valid(w, node)) return SIM_ENODE;
    if (drift_ppm <= -1000000 || drift_ppm >= 1000000) return SIM_EINVAL; /* stays monotonic */
    w->nodes[node.v].clock_offset_ns = offset_ns;
    w->nodes[node.v].clock_drift_ppm = drift_ppm;
    return SIM_OK;
}

uint64_t sim_node_clock(const sim_world *w, sim_node_id node)
{
    uint64_t now = sim_now(w);
    if (!node_valid(w, node)) return now;
    const sim__node *n = &w->nodes[node.v];
    SIM_ASSERT(n->clock_drift_ppm > -1000000 && n->clock_drift_ppm < 1000000); /* monotonic */
    __extension__ typedef __int128 i128;
    i128 t = (i128)now + n->clock_offset_ns + (i128)now * n->clock_drift_ppm / 1000000;
    if (t < 0) return 0;
    return t > (i128)UINT64_MAX ? UINT64_MAX : (uint64_t)t;
}

uint64_t sim_node_now(const sim_world *w)
{
    return sim_node_clock(w, sim_node_current(w));
}
