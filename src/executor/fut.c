/*
 * fut.c: the one awaitable shape: futures, coroutines, sub-coroutines and yield.
 *
 * A future is a header (sim_fut) at the start of an awaitable struct: its operations and
 * its state, fresh -> pending -> done, or -> dropped. The state makes the rules cheap to keep:
 * a future's drop runs at most once and never after it completed (a completed future has
 * released what it armed), and polling one that finished is a recorded misuse instead of a
 * second completion. Combinators keep the awaitables they are given by value in "boxes",
 * blocks of the world's allocator (sim__fut_box), freed when they complete or are dropped.
 *
 * A coroutine (sim_co) keeps the future it awaits: SIM_AWAIT copies the awaitable, made by
 * value, into the coroutine's inline bytes when it fits (SIM_CO_INLINE) or into a block of
 * the world's size-class allocator, and frees the block when the future completes or is
 * dropped. Because the coroutine knows what it awaits, dropping a task (or a sub-coroutine,
 * or a combinator's branch) drops exactly what it armed, recursively: the basis of "tasks
 * own what they arm". Awaitables must not point into themselves before their first poll:
 * they are copied once on the way in.
 */
#include <stdio.h>
#include <string.h>

#include "exec.h"

enum {
    FUT_FRESH = SIM__FUT_FRESH,
    FUT_PENDING = SIM__FUT_PENDING,
    FUT_DONE = SIM__FUT_DONE,
    FUT_DROPPED = SIM__FUT_DROPPED,
};

/* sim_co.size_ values other than an allocated block's size. */
enum { CO_INLINE = 0, CO_BORROWED = 1 };

/* sim_fut_poll's body, inlined into the coroutine's poll (every SIM_AWAIT's). */
static inline int fut_poll(sim_world *w, sim_fut *f)
{
    SIM_ASSERT(f != NULL);
    SIM_ASSERT(f->vt != NULL && f->vt->poll != NULL);
    if (f->state_ == FUT_DONE || f->state_ == FUT_DROPPED) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "a %s future polled after it %s", f->vt->name,
                       f->state_ == FUT_DONE ? "completed" : "was dropped");
        return SIM_EMISUSE;
    }
    SIM_ASSERT(f->state_ == FUT_FRESH || f->state_ == FUT_PENDING);
    int rc = f->vt->poll(f, w);
    if (rc == SIM_PENDING) {
        f->state_ = FUT_PENDING;
        return rc;
    }
    SIM_ASSERT(rc <= 0); /* a poll returns SIM_PENDING or a result code */
    f->state_ = FUT_DONE;
    return rc;
}

int sim_fut_poll(sim_world *w, sim_fut *f)
{
    return fut_poll(w, f);
}

void sim_fut_drop(sim_world *w, sim_fut *f)
{
    if (f == NULL || f->vt == NULL) return;
    SIM_ASSERT(f->state_ <= FUT_DROPPED);
    bool live = f->state_ == FUT_FRESH || f->state_ == FUT_PENDING;
    if (live && f->vt->drop != NULL) f->vt->drop(f, w);
    f->state_ = FUT_DROPPED;
}

sim_fut *sim__fut_box(sim_world *w, const void *fut, size_t size)
{
    SIM_ASSERT(fut != NULL);
    SIM_ASSERT(size >= sizeof(sim_fut) && size <= UINT32_MAX);
    SIM_ASSERT(((const sim_fut *)fut)->vt != NULL);
    SIM_ASSERT(((const sim_fut *)fut)->state_ == FUT_FRESH); /* copied before its first poll */
    void *block = sim__mem_alloc(&w->mem, size);
    SIM_ASSERT(block != NULL); /* out of memory: fatal */
    memcpy(block, fut, size);
    return block;
}

void sim__fut_unbox(sim_world *w, sim_fut *f, size_t size)
{
    SIM_ASSERT(f != NULL && size >= sizeof(sim_fut));
    sim_fut_drop(w, f); /* a no-op if it completed */
    sim__mem_free(&w->mem, f, size);
}

void sim_fut_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL && size > 0);
    if (f == NULL || f->vt == NULL) {
        snprintf(buf, size, "nothing");
    } else if (f->vt->describe != NULL) {
        SIM_ASSERT(f->vt->name != NULL);
        f->vt->describe(f, w, buf, size);
    } else {
        snprintf(buf, size, "%s", f->vt->name);
    }
}

/* ---- coroutines ----------------------------------------------------------------------------- */

int sim_co_polled_after_done(const char *file, int line)
{
    SIM_ASSERT(file != NULL && line > 0);
    sim_world *w = sim__running_get();
    if (w != NULL) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "a coroutine (%s:%d) was polled after it finished", file, line);
        SIM_ASSERT(w->violations_total > 0);
    }
    return SIM_EMISUSE;
}

sim_fut *sim__co_place(sim_world *w, sim_co *co, const void *fut, size_t size)
{
    SIM_ASSERT(co != NULL && fut != NULL);
    SIM_ASSERT(co->cur == NULL); /* the previous await completed or was dropped */
    if (size == 0) { /* SIM_AWAIT_FUT: it lives elsewhere */
        co->cur = (sim_fut *)fut;
        co->size_ = CO_BORROWED;
    } else if (size <= SIM_CO_INLINE) {
        memcpy(co->inline_, fut, size);
        co->cur = (sim_fut *)(void *)co->inline_;
        co->size_ = CO_INLINE;
    } else {
        SIM_ASSERT(size > CO_BORROWED && size <= UINT32_MAX);
        void *block = sim__mem_alloc(&w->mem, size);
        SIM_ASSERT(block != NULL); /* out of memory: fatal (docs/internals.md, "Memory") */
        memcpy(block, fut, size);
        co->cur = block;
        co->size_ = (uint32_t)size;
    }
    SIM_ASSERT(co->cur->vt != NULL);
    return co->cur;
}

/* Forgets the awaited future, freeing its block if it has one. */
static void co_unplace(sim_world *w, sim_co *co)
{
    if (co->size_ > CO_BORROWED) sim__mem_free(&w->mem, co->cur, co->size_);
    co->cur = NULL;
    co->size_ = CO_INLINE;
}

int sim__co_poll(sim_world *w, sim_co *co)
{
    SIM_ASSERT(co->cur != NULL);
    int rc = fut_poll(w, co->cur);
    if (rc != SIM_PENDING) co_unplace(w, co);
    return rc;
}

void sim_co_reset(sim_world *w, sim_co *co)
{
    SIM_ASSERT(co != NULL);
    if (co->cur != NULL) {
        sim_fut_drop(w, co->cur);
        co_unplace(w, co);
    }
    SIM_ASSERT(co->cur == NULL); /* it awaits nothing now */
    co->line = 0;
}

void sim__co_drop_task(sim_world *w, sim_co *co)
{
    if (co->cur == NULL) return;
    sim_fut_drop(w, co->cur);
    co_unplace(w, co);
}

/* ---- sub-coroutines ------------------------------------------------------------------------- */

static int call_poll(sim_fut *f, sim_world *w)
{
    sim_call_op *op = (sim_call_op *)f;
    int rc = op->poll(op->state, w);
    SIM_ASSERT(rc == SIM_PENDING || rc <= 0);
    /* A finished sub-coroutine awaits nothing: what it armed is released. */
    if (rc != SIM_PENDING) SIM_ASSERT(((sim_co *)op->state)->cur == NULL);
    return rc;
}

static void call_drop(sim_fut *f, sim_world *w)
{
    sim_call_op *op = (sim_call_op *)f;
    sim_co_reset(w, op->state);
    if (op->drop != NULL) op->drop(op->state, w);
}

static void call_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    const sim_call_op *op = (const sim_call_op *)f;
    const sim_co *co = op->state;
    /* Straight into buf, as timeout's: no intermediate buffer to cut a long inner wait. */
    size_t n = (size_t)snprintf(buf, size, "a sub-coroutine, awaiting ");
    if (n + 1 < size) sim_fut_describe(co->cur, w, buf + n, size - n);
}

static const sim_fut_vt call_vt = {.name = "call", .poll = call_poll, .drop = call_drop,
                                   .describe = call_describe};

sim_call_op sim_call(void *state, sim_poll_cb poll)
{
    SIM_ASSERT(state != NULL);
    SIM_ASSERT(poll != NULL);
    sim_co *co = state;
    SIM_ASSERT(co->cur == NULL); /* not awaited by anyone else now */
    co->line = 0;
    co->size_ = CO_INLINE;
    return (sim_call_op){.fut = SIM_FUT_INIT(&call_vt), .state = state, .poll = poll};
}

sim_call_op sim_call_drop(void *state, sim_poll_cb poll, sim_drop_cb drop)
{
    sim_call_op op = sim_call(state, poll);
    op.drop = drop;
    return op;
}

/* ---- yield ----------------------------------------------------------------------------------- */

static int yield_poll(sim_fut *f, sim_world *w)
{
    sim_yield_op *op = (sim_yield_op *)f;
    if (sim__require_task(w, "sim_yield") == SIM__NIL) return SIM_EMISUSE;
    if (op->yielded_) return SIM_OK;
    op->yielded_ = 1;
    SIM_ASSERT(w->tasks[w->current].flags & TF_RUNNING);
    sim__wake_current(w);
    SIM_ASSERT(w->tasks[w->current].flags & (TF_WOKEN | TF_ABORT)); /* runs again, or ends */
    sim__note_wait(w, WAIT_YIELD, 0, 0);
    return SIM_PENDING;
}

static const sim_fut_vt yield_vt = {.name = "yield", .poll = yield_poll};

sim_yield_op sim_yield(void)
{
    return (sim_yield_op){.fut = SIM_FUT_INIT(&yield_vt), .yielded_ = 0};
}
