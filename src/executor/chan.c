/*
 * chan.c: oneshot, mpsc, broadcast and watch channels.
 *
 * A channel is one object with a ring of fixed-size messages. Oneshot and mpsc channels have
 * a single receiver, whose waker is kept in the channel; broadcast and watch channels have
 * subscriber objects (OBJ_SUB), each with its own cursor and waker, listed on the channel.
 * Handle counts decide lifetime: a channel goes away with its last sender and receiver, and
 * any message still inside goes to drop_msg. Bounded mpsc senders that find no room wait in
 * the channel's FIFO wait queue (waitq.c); a receive that frees a slot notifies the first of
 * them, who is then owed that slot, so try-sends cannot overtake waiting senders.
 *
 * Messages are copied with memcpy on the way in and out. Rings are plain malloc'd arrays: an
 * unbounded mpsc ring doubles when full, up to max_messages.
 */
#include <stdlib.h>
#include <string.h>

#include "exec.h"

#define MSG_SIZE_MAX 65536u
#define RING_MAX (1u << 24)
#define DEFAULT_MAX_MESSAGES (1u << 20)

static const char *const kind_names[] = {"oneshot", "mpsc", "broadcast", "watch"};

const char *sim__chan_kind_name(uint8_t kind);
const char *sim__chan_kind_name(uint8_t kind)
{
    return kind < 4 ? kind_names[kind] : "?";
}

static uint8_t *ring_at(sim__obj *c, uint32_t index)
{
    return c->buf + (size_t)(index % c->cap) * c->msg_size;
}

static void drop_message(sim__obj *c, uint8_t *msg)
{
    if (c->drop_msg != NULL) c->drop_msg(c->drop_ud, msg);
}

/* Drops every message still held by the channel. */
static void drop_all_messages(sim__obj *c)
{
    if (c->buf == NULL) return;
    switch (c->chan_kind) {
    case SIM_CHAN_ONESHOT:
    case SIM_CHAN_MPSC:
        while (c->len > 0) {
            drop_message(c, ring_at(c, c->head));
            c->head = (c->head + 1) % c->cap;
            c->len--;
        }
        break;
    case SIM_CHAN_BROADCAST: {
        uint64_t kept = c->seq < c->cap ? c->seq : c->cap;
        for (uint64_t s = c->seq - kept; s < c->seq; s++) {
            drop_message(c, ring_at(c, (uint32_t)(s % c->cap)));
        }
        c->seq = 0;
        break;
    }
    case SIM_CHAN_WATCH:
        drop_message(c, c->buf);
        break;
    }
}

static void chan_release_if_unused(sim_world *w, uint32_t slot)
{
    sim__obj *c = sim__obj_at(w, slot);
    if (c->txs > 0 || c->rxs > 0) return;
    drop_all_messages(c);
    sim__obj_release(w, slot);
}

void sim__objs_free(sim_world *w)
{
    for (uint32_t s = 0; s < w->objs_used; s++) {
        sim__obj *o = &w->objs[s];
        if (o->type == OBJ_CHAN) drop_all_messages(o);
        if (o->type != OBJ_FREE) free(o->buf);
        o->buf = NULL;
    }
}

/* ---- creation ----------------------------------------------------------------------------- */

static int desc_check(const sim_chan_desc *d, uint32_t *cap_out)
{
    if (d == NULL || d->msg_size == 0 || d->msg_size > MSG_SIZE_MAX) return SIM_EINVAL;
    switch (d->kind) {
    case SIM_CHAN_ONESHOT:
    case SIM_CHAN_WATCH:
        if (d->kind == SIM_CHAN_WATCH && d->initial == NULL) return SIM_EINVAL;
        *cap_out = 1;
        return SIM_OK;
    case SIM_CHAN_MPSC:
        if (d->capacity > RING_MAX) return SIM_EINVAL;
        *cap_out = d->capacity ? d->capacity : 16;
        return SIM_OK;
    case SIM_CHAN_BROADCAST:
        if (d->capacity == 0 || d->capacity > RING_MAX) return SIM_EINVAL;
        *cap_out = d->capacity;
        return SIM_OK;
    }
    return SIM_EINVAL;
}

/* A new subscriber of a broadcast or watch channel, seeing what is sent from now on. */
static int sub_new(sim_world *w, uint32_t chan, sim_rx *out)
{
    uint32_t slot;
    int rc = sim__obj_alloc(w, OBJ_SUB, &slot);
    if (rc != SIM_OK) return rc;
    sim__obj *c = sim__obj_at(w, chan);
    sim__obj *s = sim__obj_at(w, slot);
    s->chan_kind = c->chan_kind;
    s->name = c->name;
    s->parent = chan;
    s->cursor = c->seq;
    s->next = c->first;
    if (c->first != SIM__NIL) w->objs[c->first].prev = slot;
    c->first = slot;
    c->rxs++;
    out->slot_ = slot;
    out->id_ = s->rx_id;
    return SIM_OK;
}

int sim_chan_new(sim_world *w, const sim_chan_desc *d, sim_tx *tx, sim_rx *rx)
{
    if (tx != NULL) memset(tx, 0, sizeof *tx);
    if (rx != NULL) memset(rx, 0, sizeof *rx);
    uint32_t cap;
    if (tx == NULL || rx == NULL || desc_check(d, &cap) != SIM_OK) return SIM_EINVAL;
    uint8_t *buf = malloc((size_t)cap * d->msg_size);
    if (buf == NULL) return SIM_ENOMEM;
    uint32_t slot;
    int rc = sim__obj_alloc(w, OBJ_CHAN, &slot);
    if (rc != SIM_OK) {
        free(buf);
        return rc;
    }
    sim__obj *c = sim__obj_at(w, slot);
    c->chan_kind = (uint8_t)d->kind;
    c->msg_size = d->msg_size;
    c->cap = cap;
    c->buf = buf;
    c->max_len = d->kind == SIM_CHAN_MPSC && d->capacity == 0
                     ? (d->max_messages ? d->max_messages : DEFAULT_MAX_MESSAGES)
                     : cap;
    c->name = d->name;
    c->drop_msg = d->drop_msg;
    c->drop_ud = d->drop_ud;
    c->bounded = d->kind == SIM_CHAN_MPSC && d->capacity > 0;
    c->txs = 1;
    if (d->kind == SIM_CHAN_WATCH) memcpy(buf, d->initial, d->msg_size);
    if (d->kind == SIM_CHAN_BROADCAST || d->kind == SIM_CHAN_WATCH) {
        rc = sub_new(w, slot, rx);
        if (rc != SIM_OK) {
            c->buf = NULL; /* the initial watch value stays the caller's */
            free(buf);
            sim__obj_release(w, slot);
            return rc;
        }
    } else {
        c->rxs = 1;
        rx->slot_ = slot;
        rx->id_ = c->rx_id;
    }
    tx->slot_ = slot;
    tx->id_ = w->objs[slot].tx_id;
    return SIM_OK;
}

/* ---- handle resolution -------------------------------------------------------------------- */

static uint32_t tx_resolve(sim_world *w, const sim_tx *tx, const char *what)
{
    uint32_t slot = tx ? sim__obj_lookup(w, tx->slot_, tx->id_, OBJ_CHAN, false) : SIM__NIL;
    if (slot == SIM__NIL && what != NULL) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "%s on an empty or stale sender handle", what);
    }
    return slot;
}

/* The receiver object of rx: the channel (oneshot, mpsc) or the subscriber. */
static uint32_t rx_resolve(sim_world *w, const sim_rx *rx, const char *what)
{
    uint32_t slot = SIM__NIL;
    if (rx != NULL && rx->slot_ < w->objs_used) {
        uint8_t type = w->objs[rx->slot_].type == OBJ_SUB ? OBJ_SUB : OBJ_CHAN;
        slot = sim__obj_lookup(w, rx->slot_, rx->id_, type, true);
    }
    if (slot == SIM__NIL && what != NULL) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "%s on an empty or stale receiver handle", what);
    }
    return slot;
}

/* ---- sending ------------------------------------------------------------------------------ */

static void wake_receivers(sim_world *w, sim__obj *c)
{
    if (c->chan_kind == SIM_CHAN_ONESHOT || c->chan_kind == SIM_CHAN_MPSC) {
        if (c->waker_slot != SIM__NIL) sim__wake(w, c->waker_slot, c->waker_id);
        return;
    }
    for (uint32_t s = c->first; s != SIM__NIL; s = w->objs[s].next) {
        const sim__obj *sub = &w->objs[s];
        if (sub->waker_slot != SIM__NIL) sim__wake(w, sub->waker_slot, sub->waker_id);
    }
}

static int ring_grow(sim__obj *c)
{
    if (c->cap >= c->max_len) return SIM_ELIMIT;
    uint64_t ncap = (uint64_t)c->cap * 2;
    if (ncap > c->max_len) ncap = c->max_len;
    uint8_t *nbuf = malloc((size_t)ncap * c->msg_size);
    if (nbuf == NULL) return SIM_ENOMEM;
    for (uint32_t i = 0; i < c->len; i++) {
        memcpy(nbuf + (size_t)i * c->msg_size, ring_at(c, c->head + i), c->msg_size);
    }
    free(c->buf);
    c->buf = nbuf;
    c->cap = (uint32_t)ncap;
    c->head = 0;
    return SIM_OK;
}

static void ring_push(sim__obj *c, const void *msg)
{
    SIM_ASSERT(c->len < c->cap);
    memcpy(ring_at(c, c->head + c->len), msg, c->msg_size);
    c->len++;
}

/* Sends on an mpsc channel whose room (if bounded) the caller has checked. */
static int mpsc_push(sim_world *w, uint32_t slot, const void *msg)
{
    sim__obj *c = sim__obj_at(w, slot);
    if (c->len == c->cap) {
        int rc = ring_grow(c);
        if (rc != SIM_OK) return rc;
    }
    ring_push(c, msg);
    wake_receivers(w, c);
    return SIM_OK;
}

static int send_broadcast(sim_world *w, sim__obj *c, const void *msg)
{
    uint8_t *dst = ring_at(c, (uint32_t)(c->seq % c->cap));
    if (c->seq >= c->cap) drop_message(c, dst);
    memcpy(dst, msg, c->msg_size);
    c->seq++;
    wake_receivers(w, c);
    return SIM_OK;
}

static int send_watch(sim_world *w, sim__obj *c, const void *msg)
{
    drop_message(c, c->buf);
    memcpy(c->buf, msg, c->msg_size);
    c->seq++;
    wake_receivers(w, c);
    return SIM_OK;
}

int sim_send(sim_world *w, sim_tx *tx, const void *msg)
{
    int rc = sim__no_side_effects(w, "sim_send");
    if (rc != SIM_OK) return rc;
    uint32_t slot = tx_resolve(w, tx, "sim_send");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    sim__obj *c = sim__obj_at(w, slot);
    if (c->chan_kind == SIM_CHAN_ONESHOT && c->sent) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "second send on oneshot #%u", c->serial);
        return SIM_EMISUSE;
    }
    if (c->rxs == 0) return SIM_ECLOSED;
    switch (c->chan_kind) {
    case SIM_CHAN_ONESHOT:
        c->sent = 1;
        ring_push(c, msg);
        wake_receivers(w, c);
        return SIM_OK;
    case SIM_CHAN_MPSC:
        if (c->bounded && c->len + c->owed >= c->cap) return SIM_EFULL;
        return mpsc_push(w, slot, msg);
    case SIM_CHAN_BROADCAST:
        return send_broadcast(w, c, msg);
    case SIM_CHAN_WATCH:
        return send_watch(w, c, msg);
    }
    return SIM_EINVAL;
}

void sim_send_op_init(sim_send_op *op, sim_tx *tx, const void *msg)
{
    op->tx = tx;
    op->msg = msg;
    op->waiter_slot_ = 0;
    op->waiter_id_ = 0;
}

/* A bounded mpsc send that may wait. */
static int send_bounded(sim_world *w, sim_send_op *op, uint32_t slot)
{
    sim__obj *c = sim__obj_at(w, slot);
    bool queued = sim__waiter_valid(w, op->waiter_slot_, op->waiter_id_);
    if (queued && w->waiters[op->waiter_slot_].notified) {
        /* Our turn: the slot we are owed is ours. */
        sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, false);
        op->waiter_id_ = 0;
        c = sim__obj_at(w, slot);
        SIM_ASSERT(c->len + c->owed < c->cap);
        return mpsc_push(w, slot, op->msg);
    }
    if (!queued && c->wq_head == SIM__NIL && c->len + c->owed < c->cap) {
        return mpsc_push(w, slot, op->msg);
    }
    if (!queued) {
        int rc = sim__waiter_add(w, slot, &op->waiter_slot_, &op->waiter_id_);
        if (rc != SIM_OK) return rc;
    }
    c = sim__obj_at(w, slot);
    sim__note_wait(w, WAIT_SEND, slot, c->serial);
    return SIM_PENDING;
}

int sim_send_poll(sim_world *w, sim_send_op *op)
{
    if (sim__require_task(w, "sim_send_poll") == SIM__NIL) return SIM_EMISUSE;
    uint32_t slot = tx_resolve(w, op->tx, "sim_send_poll");
    if (slot == SIM__NIL) {
        sim_send_op_drop(w, op);
        return SIM_EMISUSE;
    }
    sim__obj *c = sim__obj_at(w, slot);
    if (c->chan_kind != SIM_CHAN_MPSC || !c->bounded) return sim_send(w, op->tx, op->msg);
    if (c->rxs == 0) {
        sim_send_op_drop(w, op);
        return SIM_ECLOSED;
    }
    return send_bounded(w, op, slot);
}

void sim_send_op_drop(sim_world *w, sim_send_op *op)
{
    sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, true);
    op->waiter_id_ = 0;
}

static int send_fpoll(void *state, sim_world *w)
{
    return sim_send_poll(w, state);
}

static void send_fdrop(void *state, sim_world *w, sim_drop_mode mode)
{
    (void)mode;
    sim_send_op_drop(w, state);
}

sim_future sim_send_future(sim_send_op *op)
{
    return (sim_future){.poll = send_fpoll, .drop = send_fdrop, .state = op};
}

/* ---- receiving ---------------------------------------------------------------------------- */

static int recv_queue(sim_world *w, uint32_t slot, void *out)
{
    sim__obj *c = sim__obj_at(w, slot);
    if (c->len > 0) {
        memcpy(out, ring_at(c, c->head), c->msg_size);
        c->head = (c->head + 1) % c->cap;
        c->len--;
        if (c->chan_kind == SIM_CHAN_MPSC && c->wq_head != SIM__NIL) {
            sim__waitq_notify_one(w, slot);
        }
        return SIM_OK;
    }
    if (c->txs == 0 || (c->chan_kind == SIM_CHAN_ONESHOT && c->sent)) return SIM_ECLOSED;
    return SIM_EEMPTY;
}

static int recv_sub(sim_world *w, uint32_t slot, void *out)
{
    sim__obj *s = sim__obj_at(w, slot);
    sim__obj *c = sim__obj_at(w, s->parent);
    if (s->chan_kind == SIM_CHAN_WATCH) {
        if (s->cursor < c->seq) {
            memcpy(out, c->buf, c->msg_size);
            s->cursor = c->seq;
            return SIM_OK;
        }
        return c->txs == 0 ? SIM_ECLOSED : SIM_EEMPTY;
    }
    uint64_t oldest = c->seq > c->cap ? c->seq - c->cap : 0;
    if (s->cursor < oldest) {
        s->cursor = oldest;
        return SIM_ELAGGED;
    }
    if (s->cursor < c->seq) {
        memcpy(out, ring_at(c, (uint32_t)(s->cursor % c->cap)), c->msg_size);
        s->cursor++;
        return SIM_OK;
    }
    return c->txs == 0 ? SIM_ECLOSED : SIM_EEMPTY;
}

static int recv_now(sim_world *w, uint32_t slot, void *out)
{
    return w->objs[slot].type == OBJ_SUB ? recv_sub(w, slot, out) : recv_queue(w, slot, out);
}

int sim_recv(sim_world *w, sim_rx *rx, void *out)
{
    uint32_t self = sim__require_task(w, "sim_recv");
    if (self == SIM__NIL) return SIM_EMISUSE;
    uint32_t slot = rx_resolve(w, rx, "sim_recv");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    int rc = recv_now(w, slot, out);
    if (rc != SIM_EEMPTY) return rc;
    sim__obj *o = sim__obj_at(w, slot);
    o->waker_slot = self;
    o->waker_id = w->tasks[self].id;
    sim__note_wait(w, WAIT_RECV, slot, o->serial);
    return SIM_PENDING;
}

int sim_try_recv(sim_world *w, sim_rx *rx, void *out)
{
    uint32_t slot = rx_resolve(w, rx, "sim_try_recv");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    sim__obj *o = sim__obj_at(w, slot);
    if (o->type == OBJ_SUB && o->chan_kind == SIM_CHAN_WATCH) {
        const sim__obj *c = sim__obj_at(w, o->parent);
        memcpy(out, c->buf, c->msg_size);
        o->cursor = c->seq;
        return SIM_OK;
    }
    return recv_now(w, slot, out);
}

static int recv_fpoll(void *state, sim_world *w)
{
    sim_recv_op *op = state;
    return sim_recv(w, op->rx, op->out);
}

sim_future sim_recv_future(sim_recv_op *op)
{
    return (sim_future){.poll = recv_fpoll, .drop = NULL, .state = op};
}

/* ---- handles ------------------------------------------------------------------------------ */

int sim_tx_clone(sim_world *w, const sim_tx *tx, sim_tx *out)
{
    memset(out, 0, sizeof *out);
    uint32_t slot = tx_resolve(w, tx, "sim_tx_clone");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    sim__obj *c = sim__obj_at(w, slot);
    if (c->chan_kind == SIM_CHAN_ONESHOT) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "oneshot #%u has exactly one sender", c->serial);
        return SIM_EMISUSE;
    }
    if (c->rxs == 0) return SIM_ECLOSED;
    c->txs++;
    *out = *tx;
    return SIM_OK;
}

int sim_subscribe(sim_world *w, const sim_tx *tx, sim_rx *out)
{
    memset(out, 0, sizeof *out);
    uint32_t slot = tx_resolve(w, tx, "sim_subscribe");
    if (slot == SIM__NIL) return SIM_EMISUSE;
    uint8_t kind = w->objs[slot].chan_kind;
    if (kind != SIM_CHAN_BROADCAST && kind != SIM_CHAN_WATCH) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_subscribe on a %s channel",
                       sim__chan_kind_name(kind));
        return SIM_EMISUSE;
    }
    return sub_new(w, slot, out);
}

void sim_tx_drop(sim_world *w, sim_tx *tx)
{
    if (tx == NULL || tx->id_ == 0) return;
    uint32_t slot = tx_resolve(w, tx, "sim_tx_drop");
    memset(tx, 0, sizeof *tx);
    if (slot == SIM__NIL) return;
    sim__obj *c = sim__obj_at(w, slot);
    SIM_ASSERT(c->txs > 0);
    c->txs--;
    if (c->txs == 0) wake_receivers(w, c);
    chan_release_if_unused(w, slot);
}

void sim_rx_drop(sim_world *w, sim_rx *rx)
{
    if (rx == NULL || rx->id_ == 0) return;
    uint32_t slot = rx_resolve(w, rx, "sim_rx_drop");
    memset(rx, 0, sizeof *rx);
    if (slot == SIM__NIL) return;
    sim__obj *o = sim__obj_at(w, slot);
    if (o->type == OBJ_SUB) {
        uint32_t chan = o->parent;
        sim__obj *c = sim__obj_at(w, chan);
        if (o->prev != SIM__NIL) {
            w->objs[o->prev].next = o->next;
        } else {
            c->first = o->next;
        }
        if (o->next != SIM__NIL) w->objs[o->next].prev = o->prev;
        sim__obj_release(w, slot);
        c = sim__obj_at(w, chan);
        c->rxs--;
        chan_release_if_unused(w, chan);
        return;
    }
    /* The only receiver is gone: queued messages can never be received, and senders waiting
     * for room are woken to find the channel closed. */
    o->rxs = 0;
    o->waker_slot = SIM__NIL;
    drop_all_messages(o);
    if (o->wq_head != SIM__NIL) sim__waitq_clear(w, slot);
    chan_release_if_unused(w, slot);
}

uint32_t sim_rx_len(const sim_world *w, const sim_rx *rx)
{
    uint32_t slot = rx_resolve((sim_world *)w, rx, NULL);
    if (slot == SIM__NIL) return 0;
    const sim__obj *o = &w->objs[slot];
    if (o->type != OBJ_SUB) return o->len;
    const sim__obj *c = &w->objs[o->parent];
    if (o->chan_kind == SIM_CHAN_WATCH) return o->cursor < c->seq ? 1 : 0;
    uint64_t oldest = c->seq > c->cap ? c->seq - c->cap : 0;
    uint64_t from = o->cursor > oldest ? o->cursor : oldest;
    return (uint32_t)(c->seq - from);
}

bool sim_rx_closed(const sim_world *w, const sim_rx *rx)
{
    uint32_t slot = rx_resolve((sim_world *)w, rx, NULL);
    if (slot == SIM__NIL) return true;
    const sim__obj *o = &w->objs[slot];
    const sim__obj *c = o->type == OBJ_SUB ? &w->objs[o->parent] : o;
    return c->txs == 0;
}

bool sim_tx_closed(const sim_world *w, const sim_tx *tx)
{
    uint32_t slot = tx_resolve((sim_world *)w, tx, NULL);
    return slot == SIM__NIL || w->objs[slot].rxs == 0;
}
