/*
 * oracle.c: the shutdown signal, the end-of-run oracles and cancellation as a strategy.
 *
 * The shutdown signal is one per world: a token the world owns, cancelled when the signal is
 * raised (at desc.shutdown_at_ns by the run loop, or by sim_shutdown_signal), and a time from
 * which the overrun check is due. The run loop treats the two times as deadlines of its own
 * (sim__oracle_next): the clock stops there even with no timer armed, so a program that waits
 * for its signal with nothing else to do reaches it instead of deadlocking, and an overrun is
 * reported at its bound even when the shutdown then hangs for good.
 *
 * The oracles look, they never act: a finding is a violation of its own kind and an event,
 * never a change to what runs. Each scan is in spawn order (tasks) or slot order (handles,
 * objects), both deterministic. The end-of-run checks run once, when sim_world_run ends with
 * SIM_OK, and cost a scan of the task, handle and object tables.
 *
 * Cancellation: every pending poll of a task somebody could abort (it has a live join handle
 * or belongs to a task set; not a job, not block_on's root) is a cancellation point, counted
 * from 1. desc.cancel_at picks one, desc.cancel_list a few (a scripted run: [schedule] cancel);
 * desc.cancel_rate draws at each from its own stream, so adding cancellation shifts no other
 * decision.
 *
 * The other kind, a branch point, is a poll of a select of two or more branches or of a
 * timeout before its deadline (combine.c and timer.c ask sim__oracle_branch): desc.branch_at
 * and desc.branch_rate (stream "sim/branch") pick the ones where the other branch wins.
 * Either kind may also be chosen by a layer above (sim__exec_set_cancel_hook: the fault
 * plan's task/cancel and task/branch points), asked only where the key and the rate did not
 * choose; a cancellation that is not cancel_at's or branch_at's has b & 1 in its event.
 */
#include <stdio.h>
#include <stdlib.h>

#include "exec.h"

#define LIST_MAX 6 /* items a finding names before "and N more" */

void sim__oracle_init(sim_world *w, const sim_world_desc *d)
{
    w->oracles = d->oracles == 0 ? (uint32_t)SIM_ORACLES_DEFAULT : d->oracles;
    w->shutdown_at_ns = d->shutdown_at_ns ? d->shutdown_at_ns : UINT64_MAX;
    w->shutdown_within_ns = d->shutdown_within_ns;
    w->shutdown_ns = UINT64_MAX;
    w->shutdown_check_ns = UINT64_MAX;
    w->cancel_at = d->cancel_at;
    w->cancel_rate = d->cancel_rate;
    w->cancel_list = d->cancel_list;
    w->cancel_count = d->cancel_count;
    w->cancel_next = 0;
    sim_rng_init(&w->cancel_rng, w->seed, "sim/cancel", 0);
    w->branch_at = d->branch_at;
    w->branch_rate = d->branch_rate;
    sim_rng_init(&w->branch_rng, w->seed, "sim/branch", 0);
    SIM_ASSERT(w->shutdown_at_ns != 0);
    SIM_ASSERT(w->cancel_points == 0 && !w->end_checked);
    SIM_ASSERT(w->branch_points == 0);
}

static bool oracle_on(const sim_world *w, uint32_t bit)
{
    return (w->oracles & bit) != 0;
}

/* ---- the shutdown signal ------------------------------------------------------------------- */

/* Makes the world's token, owned by the world whoever asks first. */
static int shutdown_tok_make(sim_world *w)
{
    if (w->shutdown_tok.h.id_ != 0) return SIM_OK;
    uint32_t saved_current = w->current, saved_booting = w->booting;
    w->current = SIM__NIL;
    w->booting = 0;
    int rc = sim_token_new(w, NULL, &w->shutdown_tok);
    w->current = saved_current;
    w->booting = saved_booting;
    if (rc == SIM_OK && w->shutdown_ns != UINT64_MAX) sim_token_cancel(w, &w->shutdown_tok);
    return rc;
}

int sim_shutdown_signal(sim_world *w)
{
    int rc = sim__no_side_effects(w, "sim_shutdown_signal");
    if (rc != SIM_OK) return rc;
    if (w->shutdown_ns != UINT64_MAX) return SIM_OK;
    w->shutdown_ns = w->now_ns;
    w->shutdown_at_ns = UINT64_MAX;
    uint64_t deadline = 0;
    if (w->shutdown_within_ns != 0 && oracle_on(w, SIM_ORACLE_SHUTDOWN)) {
        deadline = sim__add_sat_ns(w->now_ns, w->shutdown_within_ns);
        w->shutdown_check_ns = deadline;
    }
    uint32_t task = w->current != SIM__NIL ? w->tasks[w->current].id : 0;
    uint32_t node = w->current != SIM__NIL ? w->tasks[w->current].node : 0;
    sim__emit(w, SIM_EV_SHUTDOWN, node, task, deadline, 0, NULL);
    if (w->shutdown_tok.h.id_ != 0) sim_token_cancel(w, &w->shutdown_tok);
    SIM_ASSERT(sim_shutdown_signalled(w));
    return SIM_OK;
}

bool sim_shutdown_signalled(const sim_world *w)
{
    return w->shutdown_ns != UINT64_MAX;
}

uint64_t sim_shutdown_time(const sim_world *w)
{
    return w->shutdown_ns;
}

int sim_shutdown_token(sim_world *w, sim_token *out)
{
    if (out == NULL) return SIM_EINVAL;
    int rc = shutdown_tok_make(w);
    if (rc != SIM_OK) {
        *out = (sim_token){0};
        return rc;
    }
    rc = sim_token_new(w, &w->shutdown_tok, out);
    if (rc == SIM_OK && sim_shutdown_signalled(w)) SIM_ASSERT(sim_token_is_cancelled(w, out));
    return rc;
}

/* ---- naming what is left ------------------------------------------------------------------- */

/* "task 7 (legacy, a blocking job) on n1, spawned by task 3 (supervisor), 1 timer armed". */
static size_t task_words(sim_world *w, const sim__task *t, char *buf, size_t size)
{
    char spawner[96] = "outside any task";
    if (t->parent != 0) {
        snprintf(spawner, sizeof spawner, "task %u (%s)", t->parent,
                 t->parent_name ? t->parent_name : "?");
    }
    bool job = (t->flags & TF_JOB) != 0;
    int n = snprintf(buf, size, "task %u (%s%s) on %s, spawned by %s%s", t->id, t->name,
                     job ? ", a blocking job" : "", w->nodes[t->node].name, spawner,
                     t->timers && !job ? ", with timers armed" : "");
    SIM_ASSERT(n >= 0);
    return (size_t)n < size ? (size_t)n : size - 1;
}

/* Appends "; item" (or "item" first) to a list of at most LIST_MAX items. */
static void list_add(char *buf, size_t size, uint32_t *count, const char *item)
{
    size_t at = strlen(buf);
    SIM_ASSERT(at < size);
    if (*count < LIST_MAX) snprintf(buf + at, size - at, "%s%s", *count ? "; " : "", item);
    (*count)++;
}

static void list_close(char *buf, size_t size, uint32_t count)
{
    size_t at = strlen(buf);
    if (count > LIST_MAX) snprintf(buf + at, size - at, "; and %u more", count - LIST_MAX);
}

/* Lists the live tasks of every node (world-level tasks aside) into buf; returns how many. */
static uint32_t node_tasks(sim_world *w, char *buf, size_t size)
{
    uint32_t n, count = 0;
    sim__ref *refs = sim__tasks_of(w, SIM__NIL, &n);
    buf[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
        const sim__task *t = &w->tasks[refs[i].slot];
        if (t->node == 0 || (t->flags & TF_ROOT)) continue;
        char item[256];
        task_words(w, t, item, sizeof item);
        list_add(buf, size, &count, item);
    }
    free(refs);
    list_close(buf, size, count);
    return count;
}

/* The overrun check, due at signal + shutdown_within. */
static void shutdown_check(sim_world *w)
{
    w->shutdown_check_ns = UINT64_MAX;
    char list[1400];
    uint32_t left = node_tasks(w, list, sizeof list);
    if (left == 0) return;
    char at[32], within[32];
    sim__fmt_time(w->shutdown_ns, at, sizeof at);
    sim__fmt_time(w->shutdown_within_ns, within, sizeof within);
    sim__violation(w, SIM_VIOLATION_SHUTDOWN,
                   "%u task(s) still alive %s after the shutdown signal at %s "
                   "(shutdown_within): %s", left, within, at, list);
}

void sim__oracle_due(sim_world *w)
{
    SIM_ASSERT(w->current == SIM__NIL);
    if (w->shutdown_at_ns <= w->now_ns) {
        int rc = sim_shutdown_signal(w);
        SIM_ASSERT(rc == SIM_OK);
    }
    if (w->shutdown_check_ns <= w->now_ns) shutdown_check(w);
    SIM_ASSERT(sim__oracle_next(w) > w->now_ns);
}

/* ---- the end of the run -------------------------------------------------------------------- */

/* Sockets and files still open and owned by a node: nobody closed them. */
static void leaked_handles(sim_world *w, char *buf, size_t size, uint32_t *count)
{
    for (uint32_t s = 0; s < w->hands_used; s++) {
        const sim__hand *h = &w->hands[s];
        if (h->id == 0 || h->kind != HAND_EXT || h->owner_kind != OWN_NODE || h->owner == 0) {
            continue;
        }
        char item[160];
        snprintf(item, sizeof item, "a %s handle left open on %s", w->ext_ops[h->ext]->name,
                 w->nodes[h->owner].name);
        list_add(buf, size, count, item);
    }
}

/* Messages queued in channels that nobody received. */
static void leaked_messages(sim_world *w, char *buf, size_t size, uint32_t *count)
{
    for (uint32_t s = 0; s < w->objs_used; s++) {
        const sim__obj *o = &w->objs[s];
        if (o->type != OBJ_CHAN || o->len == 0 || o->chan_kind > SIM_CHAN_MPSC) continue;
        char item[160];
        snprintf(item, sizeof item, "%u message(s) never received in channel #%u%s%s%s", o->len,
                 o->serial, o->name ? " (" : "", o->name ? o->name : "", o->name ? ")" : "");
        list_add(buf, size, count, item);
    }
}

static void leaks_check(sim_world *w)
{
    char list[1800];
    uint32_t count = node_tasks(w, list, sizeof list);
    if (count > LIST_MAX) count = LIST_MAX + 1; /* "and N more" said; keep adding after it */
    uint32_t tasks = count;
    leaked_handles(w, list, sizeof list, &count);
    leaked_messages(w, list, sizeof list, &count);
    if (count == 0) return;
    if (count > tasks) list_close(list, sizeof list, count);
    char at[32];
    sim__fmt_time(w->shutdown_ns, at, sizeof at);
    sim__violation(w, SIM_VIOLATION_LEAK,
                   "alive at the run's end after the shutdown signal at %s: %s", at, list);
}

/* Tasks that ended with an error whose handle is still alive and was never awaited. */
static void uncollected_at_end(sim_world *w)
{
    for (uint32_t s = 0; s < w->tasks_used; s++) {
        const sim__task *t = &w->tasks[s];
        if (t->id == 0 || t->status != TASK_DONE || (t->flags & (TF_ROOT | TF_INSET))) continue;
        sim__oracle_uncollected(w, s, "its join handle was never awaited by the run's end");
    }
}

void sim__oracle_end(sim_world *w)
{
    if (w->end_checked) return;
    w->end_checked = true;
    sim__ledger_end(w);
    if (oracle_on(w, SIM_ORACLE_UNCOLLECTED)) uncollected_at_end(w);
    if (sim_shutdown_signalled(w) && oracle_on(w, SIM_ORACLE_LEAKS)) leaks_check(w);
    SIM_ASSERT(w->obls_pending == 0);
}

/* ---- findings during the run --------------------------------------------------------------- */

void sim__oracle_uncollected(sim_world *w, uint32_t slot, const char *how)
{
    const sim__task *t = sim__task_at(w, slot);
    SIM_ASSERT(t->status == TASK_DONE);
    if (t->result >= 0 || t->result == SIM_ECANCELED || t->result == SIM_ECRASHED) return;
    if (!oracle_on(w, SIM_ORACLE_UNCOLLECTED) || w->freeing) return;
    char item[256];
    task_words(w, t, item, sizeof item);
    sim__violation(w, SIM_VIOLATION_UNCOLLECTED, "%s ended with %s and nobody collected it: %s",
                   item, sim_result_name(t->result), how);
}

void sim__oracle_unread(sim_world *w, uint32_t chan, uint32_t n)
{
    SIM_ASSERT(n > 0);
    if (!oracle_on(w, SIM_ORACLE_UNREAD) || w->freeing || w->dropping == SIM__DROP_CRASH) return;
    const sim__obj *c = sim__obj_at(w, chan);
    SIM_ASSERT(c->type == OBJ_CHAN);
    sim__violation(w, SIM_VIOLATION_UNREAD,
                   "the receiver of channel #%u%s%s%s was dropped with %u message(s) queued: "
                   "they are discarded unread",
                   c->serial, c->name ? " (" : "", c->name ? c->name : "", c->name ? ")" : "",
                   n);
}

/* ---- cancellation -------------------------------------------------------------------------- */

/* A point that cancel_at or branch_at did not pick: the rate's draw (its own stream, drawn
 * only when the rate is set), then the fault plan's point. */
static bool chosen(sim_world *w, sim_rng *rng, sim_ratio rate, bool branch, uint32_t node)
{
    if (rate.p != 0 && rate.q != 0 && sim_rng_ratio(rng, rate)) return true;
    return w->cancel_fn != NULL && w->cancel_fn(w, branch, node);
}

void sim__exec_set_cancel_hook(sim_world *w, sim__cancel_fn fn)
{
    SIM_ASSERT(w != NULL);
    w->cancel_fn = fn;
}

uint64_t sim_world_cancel_points(const sim_world *w)
{
    return w->cancel_points;
}

void sim__oracle_point(sim_world *w, uint32_t slot, uint64_t k)
{
    const sim__task *t = sim__task_at(w, slot);
    SIM_ASSERT(k == w->cancel_points && k > 0);
    if (w->point_fn != NULL) w->point_fn(w->decision_ud, k, false, w->step);
    /* A point numbered for a later or random cancellation: moving it moves the cancellation. */
    if ((w->cancel_rate.p != 0 && w->cancel_rate.q != 0) || w->cancel_next < w->cancel_count ||
        w->cancel_at > k) {
        sim__exec_fp_global(w);
    }
    bool by_rate = false;
    bool listed = false;
    while (w->cancel_next < w->cancel_count && w->cancel_list[w->cancel_next] <= k) {
        listed |= w->cancel_list[w->cancel_next] == k;
        w->cancel_next++;
    }
    SIM_ASSERT(w->cancel_next == w->cancel_count || w->cancel_list[w->cancel_next] > k);
    if (k != w->cancel_at && !listed) {
        by_rate = chosen(w, &w->cancel_rng, w->cancel_rate, false, t->node);
        if (!by_rate) return;
    }
    sim__emit(w, SIM_EV_CANCEL, t->node, t->id, k, by_rate, t->name);
    sim__task_abort_released(w, slot);
    SIM_ASSERT(w->tasks[slot].flags & TF_ABORT);
}

uint64_t sim_world_branch_points(const sim_world *w)
{
    return w->branch_points;
}

bool sim__oracle_branch(sim_world *w, const char *what)
{
    SIM_ASSERT(what != NULL);
    uint64_t k = ++w->branch_points;
    if (w->point_fn != NULL) w->point_fn(w->decision_ud, k, true, w->step);
    if ((w->branch_rate.p != 0 && w->branch_rate.q != 0) || w->branch_at > k) {
        sim__exec_fp_global(w);
    }
    uint32_t slot = w->current;
    SIM_ASSERT(slot != SIM__NIL);
    const sim__task *t = sim__task_at(w, slot);
    bool by_rate = false;
    if (k != w->branch_at) {
        by_rate = chosen(w, &w->branch_rng, w->branch_rate, true, t->node);
        if (!by_rate) return false;
    }
    sim__emit(w, SIM_EV_CANCEL, t->node, t->id, k, 2u | (uint32_t)by_rate, what);
    return true;
}
