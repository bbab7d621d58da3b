/*
 * node.c: simulated processes: add, crash, restart, pause, resume.
 *
 * A node keeps the list of its live tasks in spawn order; crash walks that list and drops
 * every task in crash mode (memory only, no side effects), so what a crash destroys and the
 * order it destroys it in depend only on the run. The running task, if it belongs to the
 * crashed node, is marked and dropped as soon as its poll returns. Pause parks the node's
 * runnable tasks and every later wake-up of them; resume queues the parked ones in spawn
 * order. Node 0 is the pseudo-node of world-level tasks and cannot be acted on.
 */
#include <stdlib.h>

#include "exec.h"

#define DEFAULT_POOL_WORKERS 4
#define DEFAULT_POOL_LATENCY_MIN (10 * SIM_US)
#define DEFAULT_POOL_LATENCY_MAX (100 * SIM_US)

void sim__node_link(sim_world *w, uint32_t node, uint32_t slot)
{
    sim__node *n = &w->nodes[node];
    sim__task *t = &w->tasks[slot];
    t->node_next = SIM__NIL;
    t->node_prev = n->task_tail;
    if (n->task_tail != SIM__NIL) {
        w->tasks[n->task_tail].node_next = slot;
    } else {
        n->task_head = slot;
    }
    n->task_tail = slot;
}

void sim__node_unlink(sim_world *w, uint32_t node, uint32_t slot)
{
    sim__node *n = &w->nodes[node];
    sim__task *t = &w->tasks[slot];
    if (t->node_prev != SIM__NIL) {
        w->tasks[t->node_prev].node_next = t->node_next;
    } else {
        SIM_ASSERT(n->task_head == slot);
        n->task_head = t->node_next;
    }
    if (t->node_next != SIM__NIL) {
        w->tasks[t->node_next].node_prev = t->node_prev;
    } else {
        SIM_ASSERT(n->task_tail == slot);
        n->task_tail = t->node_prev;
    }
}

void sim__nodes_free(sim_world *w)
{
    for (uint32_t i = 0; i < w->nodes_len; i++) free(w->nodes[i].jobq);
    free(w->nodes);
    w->nodes = NULL;
    w->nodes_len = 0;
}

static bool node_valid(const sim_world *w, sim_node_id node)
{
    return node.v >= 1 && node.v < w->nodes_len;
}

/* Drops every task of a node (crash mode), in spawn order. */
static uint32_t node_drop_tasks(sim_world *w, uint32_t node)
{
    uint32_t dropped = 0;
    uint32_t slot = w->nodes[node].task_head;
    while (slot != SIM__NIL) {
        sim__task *t = &w->tasks[slot];
        uint32_t next = t->node_next;
        if (t->flags & TF_RUNNING) {
            t->flags |= TF_CRASH;
        } else {
            sim__rq_remove(w, slot);
            sim__task_finish(w, slot, SIM_ECRASHED, SIM_DROP_CRASH);
        }
        dropped++;
        slot = next;
    }
    w->nodes[node].busy = 0;
    w->nodes[node].jobq_len = 0;
    return dropped;
}

static int node_boot(sim_world *w, uint32_t node)
{
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
    }
    return rc;
}

static int node_desc_check(const sim_world *w, const sim_node_desc *d)
{
    if (d == NULL || d->name == NULL || d->name[0] == '\0') return SIM_EINVAL;
    if (d->pool_latency.min_ns > d->pool_latency.max_ns) return SIM_EINVAL;
    if (sim_node_find(w, d->name).v != 0) return SIM_EINVAL;
    if (w->nodes_len >= SIM__NODES_MAX) return SIM_ELIMIT;
    return SIM_OK;
}

int sim_node_add(sim_world *w, const sim_node_desc *d, sim_node_id *out)
{
    if (out != NULL) out->v = 0;
    int rc = node_desc_check(w, d);
    if (rc != SIM_OK) return rc;
    const char *name = sim_world_intern(w, d->name);
    if (name == NULL ||
        sim__grow((void **)&w->nodes, &w->nodes_cap, w->nodes_len + 1, sizeof(sim__node)) !=
            SIM_OK) {
        return SIM_ENOMEM;
    }
    uint32_t idx = w->nodes_len++;
    sim__node *n = &w->nodes[idx];
    memset(n, 0, sizeof *n);
    n->name = name;
    n->boot = d->boot;
    n->boot_ud = d->boot_ud;
    n->task_head = SIM__NIL;
    n->task_tail = SIM__NIL;
    n->workers = d->pool_workers ? d->pool_workers : DEFAULT_POOL_WORKERS;
    n->latency = d->pool_latency;
    if (n->latency.max_ns == 0) {
        n->latency.min_ns = DEFAULT_POOL_LATENCY_MIN;
        n->latency.max_ns = DEFAULT_POOL_LATENCY_MAX;
    }
    sim_rng_init(&n->pool_rng, w->seed, "sim/pool", idx);
    sim__emit(w, SIM_EV_NODE_ADD, idx, 0, n->workers, 0, name);
    if (out != NULL) out->v = idx;
    return node_boot(w, idx);
}

int sim_node_crash(sim_world *w, sim_node_id node)
{
    if (!node_valid(w, node) || w->nodes[node.v].state == SIM_NODE_DOWN) return SIM_ENODE;
    int rc = sim__no_side_effects(w, "sim_node_crash");
    if (rc != SIM_OK) return rc;
    w->nodes[node.v].state = SIM_NODE_DOWN;
    uint32_t count = 0;
    for (uint32_t s = w->nodes[node.v].task_head; s != SIM__NIL; s = w->tasks[s].node_next) {
        count++;
    }
    sim__emit(w, SIM_EV_CRASH, node.v, 0, count, w->nodes[node.v].boots, w->nodes[node.v].name);
    node_drop_tasks(w, node.v);
    return SIM_OK;
}

int sim_node_restart(sim_world *w, sim_node_id node)
{
    if (!node_valid(w, node) || w->nodes[node.v].state != SIM_NODE_DOWN) return SIM_ENODE;
    int rc = sim__no_side_effects(w, "sim_node_restart");
    if (rc != SIM_OK) return rc;
    sim__emit(w, SIM_EV_RESTART, node.v, 0, w->nodes[node.v].boots + 1, 0,
              w->nodes[node.v].name);
    return node_boot(w, node.v);
}

int sim_node_pause(sim_world *w, sim_node_id node)
{
    if (!node_valid(w, node) || w->nodes[node.v].state != SIM_NODE_UP) return SIM_ENODE;
    int rc = sim__no_side_effects(w, "sim_node_pause");
    if (rc != SIM_OK) return rc;
    w->nodes[node.v].state = SIM_NODE_PAUSED;
    sim__emit(w, SIM_EV_PAUSE, node.v, 0, 0, 0, w->nodes[node.v].name);
    for (uint32_t s = w->nodes[node.v].task_head; s != SIM__NIL; s = w->tasks[s].node_next) {
        if (w->tasks[s].flags & TF_QUEUED) {
            sim__rq_remove(w, s);
            w->tasks[s].flags |= TF_PARKED;
        }
    }
    return SIM_OK;
}

int sim_node_resume(sim_world *w, sim_node_id node)
{
    if (!node_valid(w, node) || w->nodes[node.v].state != SIM_NODE_PAUSED) return SIM_ENODE;
    int rc = sim__no_side_effects(w, "sim_node_resume");
    if (rc != SIM_OK) return rc;
    w->nodes[node.v].state = SIM_NODE_UP;
    uint32_t released = 0;
    for (uint32_t s = w->nodes[node.v].task_head; s != SIM__NIL; s = w->tasks[s].node_next) {
        sim__task *t = &w->tasks[s];
        if (!(t->flags & TF_PARKED)) continue;
        t->flags &= ~(uint32_t)TF_PARKED;
        released++;
        if (!(t->flags & TF_RUNNING)) {
            rc = sim__rq_push(w, s);
            SIM_ASSERT(rc == SIM_OK);
        } else {
            t->flags |= TF_WOKEN;
        }
    }
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
