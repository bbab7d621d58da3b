/*
 * evbuf.c: a run's events kept in memory: fixed-size records plus an arena of detail strings,
 * so that a million events cost two allocations that grow by doubling, not a million.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static int text_add(sim__evbuf *b, const char *s, uint32_t *off)
{
    SIM_ASSERT(b->text_len <= b->text_cap);
    size_t len = strlen(s) + 1;
    if (b->text_len + len > UINT32_MAX - 1) return SIM_ELIMIT;
    if (b->text_len + len > b->text_cap) {
        size_t ncap = b->text_cap ? b->text_cap * 2 : 4096;
        while (ncap < b->text_len + len) ncap *= 2;
        b->text = sim__xrealloc(b->text, ncap, "event details");
        b->text_cap = ncap;
    }
    memcpy(b->text + b->text_len, s, len);
    *off = (uint32_t)b->text_len;
    b->text_len += len;
    SIM_ASSERT(b->text_len <= b->text_cap);
    SIM_ASSERT(*off != UINT32_MAX); /* which means "no detail" */
    return SIM_OK;
}

int sim__evbuf_add(sim__evbuf *b, const sim__ev *e, const char *detail)
{
    SIM_ASSERT(b->n <= b->cap);
    if (b->n == b->cap) {
        uint64_t ncap = b->cap ? b->cap * 2 : 1024;
        b->ev = sim__xrealloc_array(b->ev, (size_t)ncap, sizeof *b->ev, "captured events");
        b->cap = ncap;
    }
    sim__ev *dst = &b->ev[b->n];
    *dst = *e;
    dst->detail = UINT32_MAX;
    if (detail != NULL) {
        int rc = text_add(b, detail, &dst->detail);
        if (rc != SIM_OK) return rc;
    }
    b->n++;
    return SIM_OK;
}

int sim__evbuf_push(sim__evbuf *b, const sim_event *e)
{
    sim__ev ev = {.step = e->step, .vtime_ns = e->vtime_ns, .a = e->a, .b = e->b,
                  .node = e->node.v, .task = e->task.v, .kind = (uint32_t)e->kind};
    return sim__evbuf_add(b, &ev, e->detail);
}

const char *sim__evbuf_detail(const sim__evbuf *b, uint64_t i)
{
    SIM_ASSERT(i < b->n);
    return b->ev[i].detail == UINT32_MAX ? NULL : b->text + b->ev[i].detail;
}

sim_event sim__evbuf_event(const sim__evbuf *b, uint64_t i)
{
    SIM_ASSERT(i < b->n);
    const sim__ev *e = &b->ev[i];
    return (sim_event){.step = e->step, .vtime_ns = e->vtime_ns, .kind = (sim_event_kind)e->kind,
                       .node = {e->node}, .task = {e->task}, .a = e->a, .b = e->b,
                       .detail = sim__evbuf_detail(b, i)};
}

void sim__evbuf_clear(sim__evbuf *b)
{
    SIM_ASSERT(b->n <= b->cap);
    SIM_ASSERT(b->text_len <= b->text_cap);
    b->n = 0;
    b->text_len = 0;
}

void sim__evbuf_free(sim__evbuf *b)
{
    free(b->ev);
    free(b->text);
    memset(b, 0, sizeof *b);
}

