/*
 * replay.c: finding and showing the first difference between two runs.
 */
#include <stdlib.h>
#include <string.h>

#include "replay.h"

static bool same_event(const sim__evbuf *a, uint64_t i, const sim__evbuf *b, uint64_t j)
{
    const sim__ev *x = &a->ev[i], *y = &b->ev[j];
    if (x->step != y->step || x->vtime_ns != y->vtime_ns || x->kind != y->kind) return false;
    if (x->node != y->node || x->task != y->task || x->a != y->a || x->b != y->b) return false;
    const char *dx = sim__evbuf_detail(a, i), *dy = sim__evbuf_detail(b, j);
    if ((dx == NULL) != (dy == NULL)) return false;
    return dx == NULL || strcmp(dx, dy) == 0;
}

uint64_t sim__first_difference(const sim__evbuf *a, const sim__evbuf *b)
{
    uint64_t n = a->n < b->n ? a->n : b->n;
    for (uint64_t i = 0; i < n; i++) {
        if (!same_event(a, i, b, i)) return i;
    }
    return a->n == b->n ? SIM__NO_DIFFERENCE : n;
}

uint32_t sim__first_checkpoint_difference(const sim_checkpoint *a, uint32_t na,
                                          const sim_checkpoint *b, uint32_t nb)
{
    uint32_t n = na < nb ? na : nb;
    for (uint32_t i = 0; i < n; i++) {
        if (a[i].step != b[i].step || a[i].events != b[i].events || a[i].hash != b[i].hash) {
            return i;
        }
    }
    return na == nb ? UINT32_MAX : n;
}

void sim__parting_steps(const sim_checkpoint *a, uint32_t na, uint32_t k, uint64_t steps,
                        uint64_t *lo, uint64_t *hi)
{
    *lo = k > 0 && k < na ? a[k - 1].step : 0;
    *hi = k < na ? a[k].step : steps;
}

void sim__names_from(const sim__evbuf *b, sim__names *out)
{
    memset(out, 0, sizeof *out);
    for (uint64_t i = 0; i < b->n; i++) {
        const sim__ev *e = &b->ev[i];
        if (e->kind != SIM_EV_NODE_ADD || e->node >= 4096) continue;
        if (e->node >= out->n) {
            char **p = sim__xrealloc_array(out->name, e->node + 1, sizeof *p, "node names");
            for (uint32_t k = out->n; k <= e->node; k++) p[k] = NULL;
            out->name = p;
            out->n = e->node + 1;
        }
        const char *d = sim__evbuf_detail(b, i);
        free(out->name[e->node]);
        out->name[e->node] = sim__xstrdup(d ? d : "?", "a node name");
    }
}

void sim__names_free(sim__names *names)
{
    for (uint32_t i = 0; i < names->n; i++) free(names->name[i]);
    free(names->name);
    memset(names, 0, sizeof *names);
}

const char *sim__names_get(const sim__names *names, uint32_t node)
{
    if (node == 0) return "-";
    if (node < names->n && names->name[node] != NULL) return names->name[node];
    return "?";
}

const char *sim__event_header(void)
{
    return "    step           time node       task event       what";
}

void sim__event_line(const sim__evbuf *b, uint64_t i, const sim__names *names, char *line,
                     size_t size)
{
    sim_event e = sim__evbuf_event(b, i);
    char t[32], what[256], task[16] = "-";
    sim__fmt_time(e.vtime_ns, t, sizeof t);
    sim_event_describe_named(&e, (const char *const *)names->name, names->n, what,
                             sizeof what);
    if (e.task.v != 0) snprintf(task, sizeof task, "%u", e.task.v);
    snprintf(line, size, "%8llu %14s %-8s %6s %-11s %s", (unsigned long long)e.step, t,
             sim__names_get(names, e.node.v), task, sim_event_kind_name(e.kind), what);
}

static void print_side(FILE *out, const char *label, const sim__evbuf *b, uint64_t at,
                       uint32_t context, const sim__names *names)
{
    char line[512];
    uint64_t from = at > context ? at - context : 0;
    uint64_t to = at + context + 1 < b->n ? at + context + 1 : b->n;
    fprintf(out, "\n%s:\n%s\n", label, sim__event_header());
    for (uint64_t i = from; i < to; i++) {
        sim__event_line(b, i, names, line, sizeof line);
        fprintf(out, "%s %s\n", i == at ? ">" : " ", line);
    }
    if (at >= b->n) fprintf(out, "> (no event %llu: the run ended)\n", (unsigned long long)at);
}

void sim__print_divergence(FILE *out, const sim__evbuf *a, const char *label_a,
                           const sim__evbuf *b, const char *label_b, uint64_t at,
                           uint32_t context)
{
    const sim__evbuf *has = at < a->n ? a : b;
    unsigned long long step = at < has->n ? (unsigned long long)has->ev[at].step : 0;
    fprintf(out, "diverged at step %llu (event %llu)\n", step, (unsigned long long)at);
    sim__names na, nb;
    sim__names_from(a, &na);
    sim__names_from(b, &nb);
    print_side(out, label_a, a, at, context, &na);
    print_side(out, label_b, b, at, context, &nb);
    sim__names_free(&na);
    sim__names_free(&nb);
}
