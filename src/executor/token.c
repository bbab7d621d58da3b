/*
 * token.c: hierarchical cancellation tokens.
 *
 * A token is an object with a handle count, a cancelled flag, a parent and a list of
 * children. Cancelling walks the subtree below the token (iteratively, in child order, via
 * the parent links: no recursion) and wakes every task waiting on a cancelled token. A child
 * made from a cancelled parent starts cancelled. A token whose last handle is dropped stays
 * in the tree, unreachable by handles, for as long as it has children, so that cancelling an
 * ancestor still reaches them (as tokio's CancellationToken does); it goes away with its last
 * child, and its parent may then go too.
 */
#include <stdio.h>

#include "exec.h"

static uint32_t tok_resolve(sim_world *w, const sim_token *tok, const char *what)
{
    uint32_t hs = sim__hand_slot(w, tok ? &tok->h : NULL, HAND_TOKEN, what);
    if (hs == SIM__NIL) return SIM__NIL;
    uint32_t slot = w->hands[hs].target;
    SIM_ASSERT(w->objs[slot].type == OBJ_TOKEN);
    SIM_ASSERT(w->objs[slot].txs > 0); /* a live handle counts */
    return slot;
}

static uint32_t tok_peek(const sim_world *w, const sim_token *tok)
{
    uint32_t hs = sim__hand_peek(w, tok ? &tok->h : NULL, HAND_TOKEN);
    return hs == SIM__NIL ? SIM__NIL : w->hands[hs].target;
}

int sim_token_new(sim_world *w, const sim_token *parent, sim_token *out)
{
    memset(out, 0, sizeof *out);
    uint32_t pslot = SIM__NIL;
    if (parent != NULL) {
        pslot = tok_resolve(w, parent, "sim_token_new (parent)");
        if (pslot == SIM__NIL) return SIM_EMISUSE;
    }
    uint32_t slot;
    int rc = sim__obj_alloc(w, OBJ_TOKEN, &slot);
    if (rc != SIM_OK) return rc;
    sim__obj *t = sim__obj_at(w, slot);
    SIM_ASSERT(t->first == SIM__NIL && !t->cancelled); /* a new token: no children yet */
    t->txs = 1;
    if (pslot != SIM__NIL) {
        sim__obj *p = sim__obj_at(w, pslot);
        SIM_ASSERT(p->type == OBJ_TOKEN && p->txs > 0);
        t->cancelled = p->cancelled;
        t->parent = pslot;
        t->next = p->first;
        if (p->first != SIM__NIL) w->objs[p->first].prev = slot;
        p->first = slot;
    }
    rc = sim__hand_new(w, HAND_TOKEN, 0, slot, 0, &out->h);
    SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
    return SIM_OK;
}

int sim_token_clone(sim_world *w, const sim_token *tok, sim_token *out)
{
    memset(out, 0, sizeof *out);
    uint32_t slot = tok_resolve(w, tok, "sim_token_clone");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    w->objs[slot].txs++;
    SIM_ASSERT(w->objs[slot].type == OBJ_TOKEN);
    SIM_ASSERT(w->objs[slot].txs >= 2); /* the one cloned and the clone */
    int rc = sim__hand_new(w, HAND_TOKEN, 0, slot, 0, &out->h);
    SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
    return SIM_OK;
}

/* Pre-order walk of the subtree rooted at `root`, without recursion. */
static uint32_t subtree_next(const sim_world *w, uint32_t root, uint32_t at)
{
    SIM_ASSERT(at < w->objs_used && root < w->objs_used);
    SIM_ASSERT(w->objs[at].type == OBJ_TOKEN);
    if (w->objs[at].first != SIM__NIL) return w->objs[at].first;
    while (at != root) {
        if (w->objs[at].next != SIM__NIL) return w->objs[at].next;
        at = w->objs[at].parent;
    }
    return SIM__NIL;
}

void sim_token_cancel(sim_world *w, const sim_token *tok)
{
    if (sim__no_side_effects(w, "sim_token_cancel") != SIM_OK) return;
    uint32_t root = tok_resolve(w, tok, "sim_token_cancel");
    if (root == SIM__NIL) return;
    for (uint32_t at = root; at != SIM__NIL; at = subtree_next(w, root, at)) {
        if (w->fp_in_step) sim__fp_obj(w, at); /* each token it marks */
        sim__obj *t = &w->objs[at];
        SIM_ASSERT(t->type == OBJ_TOKEN);
        if (t->cancelled) continue;
        t->cancelled = 1;
        sim__waitq_notify_all(w, at);
        SIM_ASSERT(w->objs[at].owed == 0 || w->objs[at].wq_head != SIM__NIL);
    }
}

bool sim_token_is_cancelled(const sim_world *w, const sim_token *tok)
{
    uint32_t slot = tok_peek(w, tok);
    return slot != SIM__NIL && w->objs[slot].cancelled;
}

/* Releases handle-less, childless tokens from slot upwards. */
static void token_release_unused(sim_world *w, uint32_t slot)
{
    while (slot != SIM__NIL) {
        sim__obj *t = sim__obj_at(w, slot);
        SIM_ASSERT(t->type == OBJ_TOKEN);
        if (t->txs > 0 || t->first != SIM__NIL) return;
        uint32_t parent = t->parent;
        if (parent != SIM__NIL) {
            SIM_ASSERT(w->objs[parent].type == OBJ_TOKEN && w->objs[parent].first != SIM__NIL);
            if (w->fp_in_step) sim__fp_obj(w, parent); /* its list of children changes */
            if (t->prev != SIM__NIL) {
                w->objs[t->prev].next = t->next;
            } else {
                w->objs[parent].first = t->next;
            }
            if (t->next != SIM__NIL) w->objs[t->next].prev = t->prev;
        }
        sim__obj_release(w, slot);
        slot = parent;
    }
}

static void token_release(sim_world *w, uint32_t hs)
{
    uint32_t slot = w->hands[hs].target;
    sim__hand_free(w, hs);
    sim__obj *t = sim__obj_at(w, slot);
    SIM_ASSERT(t->type == OBJ_TOKEN);
    SIM_ASSERT(t->txs > 0);
    t->txs--;
    token_release_unused(w, slot);
}

void sim_token_drop(sim_world *w, sim_token *tok)
{
    if (tok == NULL || tok->h.id_ == 0) return;
    uint32_t hs = sim__hand_slot_to_drop(w, &tok->h, HAND_TOKEN, "sim_token_drop");
    memset(tok, 0, sizeof *tok);
    if (hs != SIM__NIL) token_release(w, hs);
}

void sim__token_init_hand_ops(sim_world *w)
{
    w->hand_ops[HAND_TOKEN] = token_release;
}

static void cancelled_drop(sim_fut *f, sim_world *w)
{
    sim_cancelled_op *op = (sim_cancelled_op *)f;
    sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, false);
    op->waiter_id_ = 0;
}

static int cancelled_poll(sim_fut *f, sim_world *w)
{
    sim_cancelled_op *op = (sim_cancelled_op *)f;
    if (sim__require_task(w, "sim_cancelled") == SIM__NIL) return SIM_EMISUSE;
    uint32_t slot = tok_resolve(w, op->tok, "sim_cancelled");
    if (slot == SIM__NIL) {
        cancelled_drop(f, w);
        return SIM_EMISUSE;
    }
    if (w->objs[slot].cancelled) {
        cancelled_drop(f, w);
        return SIM_OK;
    }
    if (!sim__waiter_valid(w, op->waiter_slot_, op->waiter_id_)) {
        int rc = sim__waiter_add(w, slot, &op->waiter_slot_, &op->waiter_id_);
        if (rc != SIM_OK) return rc;
    } else {
        sim__waiter_unnotify(w, op->waiter_slot_);
    }
    sim__note_wait(w, WAIT_TOKEN, slot, w->objs[slot].serial);
    SIM_ASSERT(w->waiters[op->waiter_slot_].obj == slot); /* queued on this token */
    SIM_ASSERT(!w->objs[slot].cancelled);
    return SIM_PENDING;
}

static void cancelled_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL);
    SIM_ASSERT(size > 0);
    uint32_t slot = tok_peek(w, ((const sim_cancelled_op *)f)->tok);
    if (slot == SIM__NIL) {
        snprintf(buf, size, "cancellation of a dropped token");
    } else {
        snprintf(buf, size, "cancellation of token #%u", w->objs[slot].serial);
    }
}

static const sim_fut_vt cancelled_vt = {.name = "cancelled", .poll = cancelled_poll,
                                        .drop = cancelled_drop, .describe = cancelled_describe};

sim_cancelled_op sim_cancelled(const sim_token *tok)
{
    SIM_ASSERT(tok != NULL);
    return (sim_cancelled_op){.fut = SIM_FUT_INIT(&cancelled_vt), .tok = tok};
}
