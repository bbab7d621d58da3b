/*
 * ledger.c: the exactly-once ledger (sim_oblige, sim_discharge).
 *
 * Every obligation a system registers is one record in an array, in registration order (its
 * id is its index + 1), and stays there for the whole run: a discharged record is what makes
 * a second discharge detectable and lets the violation name the first one's site. A record
 * is about 100 bytes; the 2^22 limit bounds a world's ledger at about 400 MB, far above what
 * a simulated run registers (a reply per request).
 *
 * Invariants: obls_pending counts the records in state OB_PENDING; a record leaves that
 * state once (discharged or voided) and never returns to it. The crash and end-of-run scans
 * are O(records), in id order (deterministic), and skipped when nothing is pending.
 */
#include <stdio.h>
#include <stdlib.h>

#include "exec.h"

#define LEDGER_MAX ((uint32_t)1 << 22)
#define WHAT_MAX 64

enum { OB_PENDING = 1, OB_DONE = 2, OB_VOID = 3 };

typedef struct sim__obligation {
    uint8_t state;          /* OB_* */
    uint8_t flags;          /* SIM_OBLIGE_* */
    uint16_t node;          /* the node it belongs to (0: the world) */
    uint32_t task;          /* the task that made it (0: outside a task) */
    uint32_t done_task;     /* the task that discharged it first */
    const char *task_name;  /* the name of the task that made it (NULL: none) */
    const char *done_name;  /* the name of the task that discharged it first */
    uint64_t made_ns;       /* virtual time of registration */
    uint64_t done_ns;       /* virtual time of the first discharge */
    const char *site;       /* where it was made (borrowed for the world's life) */
    const char *done_site;  /* where it was first discharged; NULL before */
    char what[WHAT_MAX];    /* what is owed, NUL-terminated */
} sim__obligation;

static uint32_t running_task_id(const sim_world *w)
{
    return w->current != SIM__NIL ? w->tasks[w->current].id : 0;
}

static const char *running_task_name(const sim_world *w)
{
    return w->current != SIM__NIL ? w->tasks[w->current].name : NULL;
}

int sim_oblige(sim_world *w, const char *what, const char *site, uint32_t flags,
               sim_obligation *out)
{
    if (out != NULL) out->id = 0;
    if (out == NULL || what == NULL || site == NULL) return SIM_EINVAL;
    if (flags & ~(uint32_t)SIM_OBLIGE_SURVIVES_CRASH) return SIM_EINVAL;
    int rc = sim__no_side_effects(w, "sim_oblige");
    if (rc != SIM_OK) return rc;
    if (w->obls_len >= LEDGER_MAX) return SIM_ELIMIT;
    sim__grow((void **)&w->obls, &w->obls_cap, w->obls_len + 1, sizeof(sim__obligation));
    sim__obligation *o = &w->obls[w->obls_len++];
    *o = (sim__obligation){.state = OB_PENDING, .flags = (uint8_t)flags,
                           .node = (uint16_t)sim__exec_node_here(w),
                           .task = running_task_id(w), .made_ns = w->now_ns, .site = site,
                           .task_name = running_task_name(w)};
    snprintf(o->what, sizeof o->what, "%s", what);
    w->obls_pending++;
    out->id = w->obls_len;
    sim__emit(w, SIM_EV_OBLIGE, o->node, o->task, out->id, flags, o->what);
    SIM_ASSERT(w->obls_pending <= w->obls_len);
    SIM_ASSERT(out->id != 0);
    return SIM_OK;
}

/* "task 4 (server) at 1.200000s" or "outside any task at 1.200000s". */
static void who_when(uint32_t task, const char *name, uint64_t ns, char *buf, size_t size)
{
    char t[32];
    sim__fmt_time(ns, t, sizeof t);
    if (task == 0) {
        snprintf(buf, size, "outside any task at %s", t);
    } else {
        snprintf(buf, size, "task %u (%s) at %s", task, name ? name : "?", t);
    }
}

int sim_discharge(sim_world *w, sim_obligation ob, const char *site)
{
    if (ob.id == 0 || ob.id > w->obls_len || site == NULL) return SIM_EINVAL;
    sim__obligation *o = &w->obls[ob.id - 1];
    SIM_ASSERT(o->state == OB_PENDING || o->state == OB_DONE || o->state == OB_VOID);
    uint32_t task = running_task_id(w);
    uint32_t node = sim__exec_node_here(w);
    if (o->state == OB_VOID) return SIM_OK; /* its node crashed: nothing is owed */
    if (o->state == OB_DONE) {
        sim__emit(w, SIM_EV_DISCHARGE, node, task, ob.id, 1, o->what);
        char first[160], again[160];
        who_when(task, running_task_name(w), w->now_ns, again, sizeof again);
        who_when(o->done_task, o->done_name, o->done_ns, first, sizeof first);
        sim__violation(w, SIM_VIOLATION_OBLIGATION,
                       "obligation %u \"%s\" (made at %s) discharged twice: first at %s by %s, "
                       "again at %s by %s",
                       ob.id, o->what, o->site, o->done_site, first, site, again);
        return SIM_EMISUSE;
    }
    o->state = OB_DONE;
    o->done_site = site;
    o->done_task = task;
    o->done_name = running_task_name(w);
    o->done_ns = w->now_ns;
    SIM_ASSERT(w->obls_pending > 0);
    w->obls_pending--;
    sim__emit(w, SIM_EV_DISCHARGE, node, task, ob.id, 0, o->what);
    return SIM_OK;
}

bool sim_obligation_pending(const sim_world *w, sim_obligation ob)
{
    if (w->fp_in_step) sim__fp_add((sim_world *)(uintptr_t)w, SIM__FP_KEY(SIM__FPK_OB, ob.id));
    return ob.id != 0 && ob.id <= w->obls_len && w->obls[ob.id - 1].state == OB_PENDING;
}

uint32_t sim_world_obligations_pending(const sim_world *w)
{
    SIM_ASSERT(w->obls_pending <= w->obls_len);
    if (w->fp_in_step) ((sim_world *)(uintptr_t)w)->fp_flags |= SIM__FP_GLOBAL;
    return w->obls_pending;
}

/* The violation of an obligation left pending at `when` ("the run's end", "the crash of
 * its node n1"). */
static void never_discharged(sim_world *w, uint32_t i, const char *when)
{
    sim__obligation *o = &w->obls[i];
    SIM_ASSERT(o->state == OB_PENDING);
    char made[160];
    who_when(o->task, o->task_name, o->made_ns, made, sizeof made);
    sim__violation(w, SIM_VIOLATION_OBLIGATION,
                   "obligation %u \"%s\" (made at %s by %s) was never discharged by %s", i + 1,
                   o->what, o->site, made, when);
}

void sim__ledger_crash(sim_world *w, uint32_t node)
{
    if (w->obls_pending == 0) return;
    SIM_ASSERT(node != 0); /* the world never crashes */
    char when[96];
    snprintf(when, sizeof when, "the crash of its node %s", w->nodes[node].name);
    for (uint32_t i = 0; i < w->obls_len; i++) {
        sim__obligation *o = &w->obls[i];
        if (o->state != OB_PENDING || o->node != node) continue;
        if (o->flags & SIM_OBLIGE_SURVIVES_CRASH) never_discharged(w, i, when);
        o = &w->obls[i];
        o->state = OB_VOID;
        w->obls_pending--;
        sim__emit(w, SIM_EV_DISCHARGE, node, 0, i + 1, 2, o->what);
    }
}

void sim__ledger_end(sim_world *w)
{
    if (w->obls_pending == 0) return;
    for (uint32_t i = 0; i < w->obls_len; i++) {
        if (w->obls[i].state != OB_PENDING) continue;
        never_discharged(w, i, "the run's end");
        w->obls[i].state = OB_VOID;
        w->obls_pending--;
    }
    SIM_ASSERT(w->obls_pending == 0);
}

void sim__ledger_free(sim_world *w)
{
    SIM_ASSERT(w->obls_len <= w->obls_cap);
    free(w->obls);
    w->obls = NULL;
    w->obls_len = w->obls_cap = 0;
}
