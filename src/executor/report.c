/*
 * report.c: the hang report and the one-line event format.
 *
 * When a run stops on a deadlock, a limit or a divergence, the report lists every unfinished
 * task in id order: its name, node, whether it is blocked, runnable or frozen on a paused node,
 * since when it has waited, and what it awaits, in words ("recv on oneshot #3 (sender held by
 * task 7 (kv-client))", "sleep until 5.200000s"). The primitives noted their waits when they
 * returned SIM_PENDING; this file only turns the notes into text.
 *
 * "Held by" comes from the handle table: the owners of the handles that name the object (a
 * channel's senders, a token's handles, a semaphore's permits), tasks or nodes. The scan of
 * the table runs only here, after the run has stopped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "exec.h"

const char *sim__chan_kind_name(uint8_t kind);

typedef struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
} strbuf;

static void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(strbuf *sb, const char *fmt, ...)
{
    SIM_ASSERT(fmt != NULL);
    SIM_ASSERT(sb->len <= sb->cap);
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = sb->cap - sb->len;
        int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room) {
            sb->len += (size_t)n;
            return;
        }
        size_t ncap = sb->cap ? sb->cap * 2 : 1024;
        while (ncap - sb->len <= (size_t)n) ncap *= 2;
        char *nbuf = realloc(sb->buf, ncap);
        if (nbuf == NULL) return;
        sb->buf = nbuf;
        sb->cap = ncap;
    }
}

/* Appends who holds handles of `kind` naming object `target` (up to three), from the handle
 * table: the tasks (or nodes) that own them, or a queued message. */
static void sb_owners(strbuf *sb, const sim_world *w, uint8_t kind, uint32_t target,
                      const char *prefix, const char *what)
{
    uint32_t found = 0, more = 0;
    for (uint32_t h = 0; h < w->hands_used; h++) {
        const sim__hand *r = &w->hands[h];
        if (r->kind != kind || r->target != target) continue;
        if (found == 3) {
            more++;
            continue;
        }
        sb_printf(sb, "%s", found ? ", " : prefix);
        found++;
        switch (r->owner_kind) {
        case OWN_TASK:
            sb_printf(sb, "task %u (%s)", r->owner_id, w->tasks[r->owner].name);
            break;
        case OWN_NODE:
            sb_printf(sb, r->owner ? "node %s" : "the world%s",
                      r->owner ? w->nodes[r->owner].name : "");
            break;
        case OWN_CHAN:
            sb_printf(sb, "a message queued on #%u", w->objs[r->owner].serial);
            break;
        default:
            sb_printf(sb, "nobody");
        }
    }
    if (more > 0) sb_printf(sb, " and %u more", more);
    if (found == 0) sb_printf(sb, "; no %s is left", what);
}

static void describe_obj_wait(strbuf *sb, const sim_world *w, const sim__wait *wt,
                              const char *verb)
{
    if (wt->x >= w->objs_used || w->objs[wt->x].serial != wt->y) {
        sb_printf(sb, "%s on an object that is gone", verb);
        return;
    }
    const sim__obj *o = &w->objs[wt->x];
    const sim__obj *c = o->type == OBJ_SUB ? &w->objs[o->parent] : o;
    if (o->type == OBJ_TOKEN) {
        sb_printf(sb, "cancellation of token #%u", o->serial);
        sb_owners(sb, w, HAND_TOKEN, wt->x, "; can be cancelled by ", "handle to cancel it");
        return;
    }
    sb_printf(sb, "%s on %s #%u", verb, sim__chan_kind_name(c->chan_kind), c->serial);
    if (c->name != NULL) sb_printf(sb, " '%s'", c->name);
    uint32_t chan = o->type == OBJ_SUB ? o->parent : wt->x;
    if (wt->kind == WAIT_SEND) {
        sb_printf(sb, " (full: %u/%u)", c->len, c->cap);
        if (c->chan_kind == SIM_CHAN_MPSC) {
            sb_owners(sb, w, HAND_RX, chan, "; receiver held by ", "receiver");
        }
    } else {
        sb_owners(sb, w, HAND_TX, chan, "; sender held by ", "sender");
    }
}

/* Mutexes, semaphores, notifies and task sets. */
static void describe_sync_wait(strbuf *sb, const sim_world *w, const sim__wait *wt)
{
    if (wt->x >= w->objs_used || w->objs[wt->x].serial != wt->y) {
        sb_printf(sb, "an object that is gone");
        return;
    }
    const sim__obj *o = &w->objs[wt->x];
    SIM_ASSERT(wt->kind == WAIT_MUTEX || wt->kind == WAIT_SEM || wt->kind == WAIT_NOTIFY ||
               wt->kind == WAIT_SET);
    const char *name = o->name ? o->name : "";
    const char *sp = o->name ? " " : "";
    char t[32];
    switch (wt->kind) {
    case WAIT_MUTEX:
        sb_printf(sb, "lock of mutex #%u%s%s", o->serial, sp, name);
        if (o->waker_slot != SIM__NIL) {
            SIM_ASSERT(o->waker_slot < w->tasks_used); /* a holder is a task */
            sim__fmt_time(o->seq, t, sizeof t);
            sb_printf(sb, "; held by task %u (%s) since %s", o->waker_id,
                      w->tasks[o->waker_slot].name, t);
        }
        break;
    case WAIT_SEM:
        sb_printf(sb, "permits of semaphore #%u%s%s (%u of %u free)", o->serial, sp, name,
                  o->len, o->cap);
        sb_owners(sb, w, HAND_PERMITS, wt->x, "; permits held by ", "permit holder");
        break;
    case WAIT_NOTIFY:
        sb_printf(sb, "notify #%u%s%s", o->serial, sp, name);
        sb_owners(sb, w, HAND_NOTIFY, wt->x, "; can be notified by ", "handle to notify it");
        break;
    default:
        sb_printf(sb, "the next of %u task(s) in set #%u", o->len, o->serial);
    }
}

static void describe_wait(strbuf *sb, const sim_world *w, const sim__wait *wt)
{
    char t[32];
    uint32_t e = wt->kind - WAIT_EXT;
    SIM_ASSERT(wt->kind != WAIT_NONE); /* only noted waits are described */
    if (wt->kind >= WAIT_EXT && e < w->ext_count) {
        SIM_ASSERT(w->ext_ops[e]->wait_text != NULL);
        char text[256];
        w->ext_ops[e]->wait_text(w, wt->x, wt->y, text, sizeof text);
        sb_printf(sb, "%s", text);
        return;
    }
    switch (wt->kind) {
    case WAIT_SLEEP:
        sim__fmt_time(wt->y, t, sizeof t);
        sb_printf(sb, "sleep until %s", t);
        break;
    case WAIT_JOIN:
        sb_printf(sb, "join of task %u (%s)", wt->x, sim_task_name(w, (sim_task_id){wt->x}));
        break;
    case WAIT_RECV:
        describe_obj_wait(sb, w, wt, "recv");
        break;
    case WAIT_SEND:
        describe_obj_wait(sb, w, wt, "send");
        break;
    case WAIT_TOKEN:
        describe_obj_wait(sb, w, wt, "wait");
        break;
    case WAIT_YIELD:
        sb_printf(sb, "yield");
        break;
    case WAIT_MUTEX:
    case WAIT_SEM:
    case WAIT_NOTIFY:
    case WAIT_SET:
        describe_sync_wait(sb, w, wt);
        break;
    case WAIT_POOL: {
        const sim__node *n = &w->nodes[wt->x];
        sb_printf(sb, "a worker of %s's blocking pool (%u/%u busy, %u queued)", n->name, n->busy,
                  n->workers, n->jobq_len);
        break;
    }
    case WAIT_JOB:
        sim__fmt_time(wt->y, t, sizeof t);
        sb_printf(sb, "blocking job, done at %s", t);
        break;
    default:
        sb_printf(sb, "?");
    }
}

static const char *task_state_word(const sim_world *w, const sim__task *t)
{
    if (t->flags & TF_QUEUED) return "runnable";
    if (t->flags & TF_PARKED) return "paused";
    if (t->node != 0 && w->nodes[t->node].state == SIM_NODE_PAUSED) return "paused";
    return "blocked";
}

typedef struct row {
    uint32_t id;   /* sort key: task id */
    uint32_t slot;
} row;

static int row_cmp(const void *a, const void *b)
{
    uint32_t ia = ((const row *)a)->id, ib = ((const row *)b)->id;
    return (ia > ib) - (ia < ib);
}

static void sb_header(strbuf *sb, const sim_world *w, int rc, uint32_t n)
{
    char t[32];
    sim__fmt_time(w->now_ns, t, sizeof t);
    unsigned long long step = (unsigned long long)w->step;
    SIM_ASSERT(rc < 0);
    /* A requested stop has a report on a host world only. */
    if (rc == SIM_ESTOPPED) SIM_ASSERT(w->backend == SIM_BACKEND_HOST);
    switch (rc) {
    case SIM_ESTOPPED:
        sb_printf(sb, "stopped at %s (step %llu; a signal or sim_world_stop) with %u task(s) "
                      "unfinished\n", t, step, n);
        break;
    case SIM_EDEADLOCK:
        sb_printf(sb, "deadlock at %s (step %llu): %u task(s) waiting, nothing runnable, "
                      "no timer pending\n", t, step, n);
        break;
    case SIM_ETIMELIMIT:
        sb_printf(sb, "time limit %s reached (step %llu) with %u task(s) unfinished\n", t, step,
                  n);
        break;
    case SIM_ESTEPLIMIT:
        sb_printf(sb, "step limit %llu reached at %s with %u task(s) unfinished (a task that "
                      "keeps waking itself never lets time advance)\n", step, t, n);
        break;
    default: {
        const sim_violation *v = w->violations_len ? &w->violations[w->violations_len - 1] : NULL;
        sb_printf(sb, "%s at %s (step %llu): %s\n", sim_result_name(rc), t, step,
                  v ? v->message : sim_result_str(rc));
    }
    }
}

static void sb_task_row(strbuf *sb, const sim_world *w, uint32_t slot, int name_w)
{
    const sim__task *t = &w->tasks[slot];
    SIM_ASSERT(t->status == TASK_LIVE); /* the table lists unfinished tasks */
    SIM_ASSERT(t->nwaits <= SIM__WAITS_MAX);
    char since[32];
    sim__fmt_time(t->wait_since_ns, since, sizeof since);
    const char *node = t->node ? w->nodes[t->node].name : "-";
    sb_printf(sb, "  %-6u %-*s %-8s %-9s %-14s ", t->id, name_w, t->name, node,
              task_state_word(w, t), since);
    if (t->flags & TF_PARKED) {
        sb_printf(sb, "ready to run, frozen while %s is paused\n", node);
        return;
    }
    if (t->nwaits == 0) sb_printf(sb, t->polls ? "nothing noted" : "not yet polled");
    for (uint32_t i = 0; i < t->nwaits; i++) {
        if (i > 0) sb_printf(sb, "  |  ");
        describe_wait(sb, w, &w->task_waits[slot].w[i]);
    }
    /* More waits than were kept (a wide select, nested combinators): the future the task's
     * coroutine awaits describes them all. Before this, the rest was silently left out. */
    if (t->flags & TF_WAITS_LOST) {
        const sim_co *co = (t->flags & TF_JOB) ? NULL : t->state;
        sb_printf(sb, "  |  and more");
        if (co != NULL && co->cur != NULL) { /* block_on's root awaits by hand: no co->cur */
            char whole[1024];
            sim_fut_describe(co->cur, w, whole, sizeof whole);
            sb_printf(sb, "; in full: %s", whole);
        }
    }
    sb_printf(sb, "\n");
}

/* Appends the table of unfinished tasks, in id order. */
static void sb_task_table(strbuf *sb, const sim_world *w)
{
    uint32_t n = 0;
    row *rows = malloc(((size_t)w->tasks_live + 1) * sizeof(row));
    int name_w = 4;
    for (uint32_t s = 0; s < w->tasks_used && rows != NULL; s++) {
        if (w->tasks[s].status != TASK_LIVE) continue;
        rows[n++] = (row){.id = w->tasks[s].id, .slot = s};
        int len = (int)strlen(w->tasks[s].name);
        if (len > name_w) name_w = len < 24 ? len : 24;
    }
    SIM_ASSERT(n <= w->tasks_live); /* the rows fit: no more live tasks than counted */
    if (rows != NULL) qsort(rows, n, sizeof *rows, row_cmp);
    if (n > 0) {
        sb_printf(sb, "\n  %-6s %-*s %-8s %-9s %-14s %s\n", "task", name_w, "name", "node",
                  "state", "since", "awaits");
    }
    for (uint32_t i = 0; i < n; i++) sb_task_row(sb, w, rows[i].slot, name_w);
    free(rows);
}

static int ent_cmp(const void *a, const void *b)
{
    const sim__heap_ent *x = a, *y = b;
    if (x->deadline_ns != y->deadline_ns) return x->deadline_ns < y->deadline_ns ? -1 : 1;
    return (x->key > y->key) - (x->key < y->key); /* seq order */
}

/* Appends the armed timers in firing order, at most `most`. */
static void sb_timers(strbuf *sb, const sim_world *w, uint32_t most)
{
    uint32_t armed = sim__timers_armed(w);
    sb_printf(sb, "\n  timers armed: %u\n", armed);
    if (armed == 0) return;
    sim__heap_ent *ents = malloc((size_t)armed * sizeof *ents);
    if (ents == NULL) return;
    uint32_t n = armed;
    sim__timers_list(w, ents);
    qsort(ents, n, sizeof *ents, ent_cmp);
    for (uint32_t i = 0; i < n && i < most; i++) {
        char t[32];
        const sim__timer *tm = &w->timers[sim__heap_ent_timer(&ents[i])];
        unsigned long long seq = (unsigned long long)sim__heap_ent_seq(&ents[i]);
        sim__fmt_time(ents[i].deadline_ns, t, sizeof t);
        if (tm->task_slot == SIM__NIL) {
            char text[200];
            w->ext_ops[tm->ext]->timer_text(w, tm->arg, text, sizeof text);
            sb_printf(sb, "  %14s  seq %-8llu %s\n", t, seq, text);
            continue;
        }
        sb_printf(sb, "  %14s  seq %-8llu task %u (%s)\n", t, seq, tm->task_id,
                  sim_task_name(w, (sim_task_id){tm->task_id}));
    }
    if (n > most) sb_printf(sb, "  ... %u more\n", n - most);
    free(ents);
}

static void sb_nodes(strbuf *sb, const sim_world *w)
{
    static const char *const states[] = {"up", "down", "paused"};
    for (uint32_t i = 1; i < w->nodes_len; i++) {
        const sim__node *n = &w->nodes[i];
        SIM_ASSERT(n->state <= SIM_NODE_PAUSED);
        SIM_ASSERT(n->busy <= n->workers);
        sb_printf(sb, "%s  %-8s %-7s boot %u, pool %u/%u busy, %u queued\n", i == 1 ? "\n" : "",
                  n->name, states[n->state], n->boots, n->busy, n->workers, n->jobq_len);
    }
}

const char *sim_world_dump(sim_world *w)
{
    strbuf sb = {0};
    char t[32];
    sim__fmt_time(w->now_ns, t, sizeof t);
    sb_printf(&sb, "world at %s, step %llu, %llu events: %u task(s) unfinished\n", t,
              (unsigned long long)w->step, (unsigned long long)w->stats.events, w->tasks_live);
    sb_nodes(&sb, w);
    sb_task_table(&sb, w);
    sb_timers(&sb, w, 50);
    for (uint32_t e = 0; e < w->ext_count; e++) {
        if (w->ext_ops[e]->dump == NULL) continue;
        char *text = w->ext_ops[e]->dump(w);
        if (text != NULL) sb_printf(&sb, "\n%s", text);
        free(text);
    }
    if (sb.buf == NULL) return "";
    SIM_ASSERT(sb.len < sb.cap && sb.buf[sb.len] == '\0');
    free(w->dump);
    w->dump = sb.buf;
    return w->dump;
}

void sim__report_build(sim_world *w, int rc)
{
    strbuf sb = {0};
    SIM_ASSERT(rc < 0);
    sb_header(&sb, w, rc, w->tasks_live);
    sb_task_table(&sb, w);
    if (w->backend == SIM_BACKEND_HOST) {
        sb_printf(&sb, "\na host run: it cannot be replayed\n");
    } else {
        sb_printf(&sb, "\nreplay: %s\n",
                  w->replay_hint ? w->replay_hint : "run the same binary with the same seed");
    }
    if (sb.buf == NULL) return;
    SIM_ASSERT(sb.len < sb.cap && sb.buf[sb.len] == '\0');
    free(w->report);
    w->report = sb.buf;
}

/* ---- event lines -------------------------------------------------------------------------- */

/* The words for the events of the modules above the executor (net_sim, disk_sim), which
 * they register when the program starts (a constructor in their object), so that the
 * executor never names them and a trace read back from a database is described too. */
#define EVENT_KINDS 64
static sim__event_text_fn module_text[EVENT_KINDS];

void sim__event_text_register(uint32_t first, uint32_t last, sim__event_text_fn fn)
{
    SIM_ASSERT(first <= last && last < EVENT_KINDS);
    SIM_ASSERT(fn != NULL);
    for (uint32_t k = first; k <= last; k++) {
        SIM_ASSERT(module_text[k] == NULL || module_text[k] == fn); /* one owner per kind */
        module_text[k] = fn;
    }
}

static int event_text(const sim_event *e, const char *const *names, uint32_t nnames, char *buf,
                      size_t size)
{
    char t[32];
    const char *d = e->detail ? e->detail : "";
    if ((uint32_t)e->kind < EVENT_KINDS && module_text[e->kind] != NULL) {
        return module_text[e->kind](e, names, nnames, buf, size);
    }
    switch (e->kind) {
    case SIM_EV_SPAWN:
        return snprintf(buf, size, "%s%s, parent %llu", d, e->b ? " (blocking job)" : "",
                        (unsigned long long)e->a);
    case SIM_EV_POLL:
        return snprintf(buf, size, "#%llu, %llu runnable%s%s", (unsigned long long)e->a,
                        (unsigned long long)SIM_EV_POLL_RUNNABLE(e->b),
                        SIM_EV_POLL_FORCED(e->b) ? ", forced" : "",
                        SIM_EV_POLL_SPURIOUS(e->b) ? ", spurious" : "");
    case SIM_EV_WAKE:
        if (e->a == 0) return snprintf(buf, size, "by timer or outside");
        return snprintf(buf, size, "by task %llu", (unsigned long long)e->a);
    case SIM_EV_COMPLETE:
        return snprintf(buf, size, "%s, output %lld", sim_result_name((int)(int64_t)e->a),
                        (long long)(int64_t)e->b);
    case SIM_EV_ABORT:
        return snprintf(buf, size, "by task %llu", (unsigned long long)e->a);
    case SIM_EV_DROP:
        return snprintf(buf, size, "%s", e->a == SIM__DROP_CRASH ? "crash" : "abort");
    case SIM_EV_TIMER_SET:
    case SIM_EV_TIMER_FIRE:
        sim__fmt_time(e->a, t, sizeof t);
        return snprintf(buf, size, "deadline %s, seq %llu", t, (unsigned long long)e->b);
    case SIM_EV_CRASH:
        return snprintf(buf, size, "%s, %llu task(s) dropped", d, (unsigned long long)e->a);
    case SIM_EV_RESTART:
        return snprintf(buf, size, "%s, boot %llu", d, (unsigned long long)e->a);
    case SIM_EV_RESUME:
        return snprintf(buf, size, "%s, %llu task(s) released", d, (unsigned long long)e->a);
    case SIM_EV_JOB_START:
        sim__fmt_time(e->b, t, sizeof t);
        return snprintf(buf, size, "%s, %llu busy, done at %s", d, (unsigned long long)e->a, t);
    case SIM_EV_NODE_ADD:
        return snprintf(buf, size, "%s, pool of %llu", d, (unsigned long long)e->a);
    case SIM_EV_NOTE:
        return snprintf(buf, size, "%s: %llu bytes, digest %016llx", d, (unsigned long long)e->b,
                        (unsigned long long)e->a);
    case SIM_EV_FAULT: {
        /* A point's name has a '/'; scripts, clocks and the quiet phase describe themselves. */
        const char *action = sim_fault_action_name((sim_fault_action)(e->b & 0xff));
        if (strchr(d, '/') == NULL || strncmp(d, "at ", 3) == 0) {
            return snprintf(buf, size, "%s %s", action, d);
        }
        return snprintf(buf, size, "%s %s, hit %llu", action, d, (unsigned long long)e->a);
    }
    default:
        return snprintf(buf, size, "%s", d);
    }
}

size_t sim_event_describe(const sim_event *e, char *buf, size_t size)
{
    return sim_event_describe_named(e, NULL, 0, buf, size);
}

size_t sim_event_describe_named(const sim_event *e, const char *const *names, uint32_t nnames,
                                char *buf, size_t size)
{
    if (size == 0) return 0;
    int n = event_text(e, names, nnames, buf, size);
    if (n < 0) return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

size_t sim_event_format(const sim_world *w, const sim_event *e, char *buf, size_t size)
{
    if (size == 0) return 0;
    SIM_ASSERT(buf != NULL && e != NULL);
    SIM_ASSERT(w->nodes_len >= 1); /* node 0, the world, is always there */
    char t[32], text[256];
    sim__fmt_time(e->vtime_ns, t, sizeof t);
    const char *names[SIM__NODES_MAX];
    uint32_t nnames = w->nodes_len < SIM__NODES_MAX ? w->nodes_len : SIM__NODES_MAX;
    for (uint32_t i = 0; i < nnames; i++) names[i] = w->nodes[i].name;
    event_text(e, names, nnames, text, sizeof text);
    const char *node = e->node.v == 0 ? "-" : sim_node_name(w, e->node);
    char task[16] = "-";
    if (e->task.v != 0) snprintf(task, sizeof task, "%u", e->task.v);
    int n = snprintf(buf, size, "%8llu %14s %-8s %6s %-11s %s", (unsigned long long)e->step, t,
                     node, task, sim_event_kind_name(e->kind), text);
    if (n < 0) return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}
