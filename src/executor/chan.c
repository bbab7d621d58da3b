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
 * Messages are copied with memcpy on the way in and out. Rings come from the world's size-class
 * allocator; an unbounded mpsc ring doubles when full, up to max_messages.
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

/* Rings are allocated with a power-of-two number of slots (mask + 1 >= cap) so that
 * positions wrap with a mask instead of a division. */
static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

/* memcpy with the common message sizes inlined (a libc call costs more than the copy). */
static inline void msg_copy(void *dst, const void *src, uint32_t size)
{
    switch (size) {
    case 4:
        memcpy(dst, src, 4);
        break;
    case 8:
        memcpy(dst, src, 8);
        break;
    case 16:
        memcpy(dst, src, 16);
        break;
    default:
        memcpy(dst, src, size);
    }
}

static uint8_t *ring_at(sim__obj *c, uint64_t index)
{
    return c->buf + (size_t)(index & c->mask) * c->msg_size;
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
            c->head = (c->head + 1) & c->mask;
            c->len--;
        }
        break;
    case SIM_CHAN_BROADCAST: {
        uint64_t kept = c->seq < c->cap ? c->seq : c->cap;
        for (uint64_t s = c->seq - kept; s < c->seq; s++) {
            drop_message(c, ring_at(c, s));
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
    if (c->len > 0 || c->chan_kind >= SIM_CHAN_BROADCAST) drop_all_messages(c);
    sim__obj_release(w, slot);
}

static size_t ring_bytes(const sim__obj *c)
{
    return (size_t)(c->mask + 1) * c->msg_size;
}

void sim__chan_ring_free(sim_world *w, sim__obj *c)
{
    if (!c->ring_inline) sim__mem_free(&w->mem, c->buf, ring_bytes(c));
    c->buf = NULL;
    c->ring_inline = 0;
}

void sim__objs_free(sim_world *w)
{
    for (uint32_t s = 0; s < w->objs_used; s++) {
        sim__obj *o = &w->objs[s];
        if (o->type == OBJ_CHAN) drop_all_messages(o);
        if (o->type == OBJ_CHAN) sim__chan_ring_free(w, o);
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
    case SIM_CHAN_MPSC: {
        if (d->capacity > RING_MAX || d->max_messages > RING_MAX) return SIM_EINVAL;
        uint32_t max = d->max_messages ? d->max_messages : DEFAULT_MAX_MESSAGES;
        *cap_out = d->capacity ? d->capacity : (max < 16 ? max : 16);
        return SIM_OK;
    }
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
    uint32_t slot;
    int rc = sim__obj_alloc(w, OBJ_CHAN, &slot);
    if (rc != SIM_OK) return rc;
    sim__obj *c = sim__obj_at(w, slot);
    uint32_t slots = pow2_at_least(cap);
    size_t bytes = (size_t)slots * d->msg_size;
    if (bytes <= sizeof c->small) {
        c->buf = c->small;
        c->ring_inline = 1;
    } else {
        c->buf = sim__mem_alloc(&w->mem, bytes);
        if (c->buf == NULL) {
            sim__obj_release(w, slot);
            return SIM_ENOMEM;
        }
    }
    c->chan_kind = (uint8_t)d->kind;
    c->msg_size = d->msg_size;
    c->cap = cap;
    c->mask = slots - 1;
    c->max_len = d->kind == SIM_CHAN_MPSC && d->capacity == 0
                     ? (d->max_messages ? d->max_messages : DEFAULT_MAX_MESSAGES)
                     : cap;
    c->name = d->name;
    c->drop_msg = d->drop_msg;
    c->drop_ud = d->drop_ud;
    c->bounded = d->kind == SIM_CHAN_MPSC && d->capacity > 0;
    c->txs = 1;
    if (d->kind == SIM_CHAN_WATCH) memcpy(c->buf, d->initial, d->msg_size);
    if (d->kind == SIM_CHAN_BROADCAST || d->kind == SIM_CHAN_WATCH) {
        rc = sub_new(w, slot, rx);
        if (rc != SIM_OK) {
            w->objs[slot].txs = 0;
            sim__obj_release(w, slot); /* frees the ring; the initial value stays the caller's */
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

static void bad_handle(sim_world *w, const char *what, const char *side)
    __attribute__((cold, noinline));

static void bad_handle(sim_world *w, const char *what, const char *side)
{
    sim__violation(w, SIM_VIOLATION_MISUSE, "%s on an empty or stale %s handle", what, side);
}

/* The channel of a sender handle, or NULL (after recording a violation when what != NULL). */
static inline sim__obj *tx_get(sim_world *w, const sim_tx *tx, const char *what)
{
    if (tx != NULL && tx->slot_ < w->objs_used) {
        sim__obj *c = &w->objs[tx->slot_];
        /* txs == 0: every sender was dropped, so this is a stale copy of one. */
        if (tx->id_ != 0 && c->tx_id == tx->id_ && c->type == OBJ_CHAN && c->txs > 0) return c;
    }
    if (what != NULL) bad_handle(w, what, "sender");
    return NULL;
}

/* The receiver object of a receiver handle: the channel itself (oneshot, mpsc) or the
 * subscriber (broadcast, watch); NULL as above. */
static inline sim__obj *rx_get(sim_world *w, const sim_rx *rx, const char *what)
{
    if (rx != NULL && rx->slot_ < w->objs_used) {
        sim__obj *o = &w->objs[rx->slot_];
        /* A channel whose receiver was dropped (rxs == 0) lives on for its senders; a copy of
         * the dropped receiver handle is stale. Subscribers are freed when dropped. */
        if (rx->id_ != 0 && o->rx_id == rx->id_ &&
            (o->type == OBJ_SUB || (o->type == OBJ_CHAN && o->rxs > 0))) {
            return o;
        }
    }
    if (what != NULL) bad_handle(w, what, "receiver");
    return NULL;
}

static inline uint32_t obj_slot(const sim_world *w, const sim__obj *o)
{
    SIM_ASSERT_SLOW(o == &w->objs[o->slot]);
    (void)w;
    return o->slot;
}

/* ---- sending ------------------------------------------------------------------------------ */

static void wake_subscribers(sim_world *w, const sim__obj *c)
{
    for (uint32_t s = c->first; s != SIM__NIL; s = w->objs[s].next) {
        const sim__obj *sub = &w->objs[s];
        if (sub->waker_slot != SIM__NIL) sim__wake(w, sub->waker_slot, sub->waker_id);
    }
}

static inline void wake_receivers(sim_world *w, const sim__obj *c)
{
    if (c->chan_kind == SIM_CHAN_ONESHOT || c->chan_kind == SIM_CHAN_MPSC) {
        if (c->waker_slot != SIM__NIL) sim__wake(w, c->waker_slot, c->waker_id);
    } else {
        wake_subscribers(w, c);
    }
}

static int ring_grow(sim_world *w, sim__obj *c)
{
    if (c->cap >= c->max_len) return SIM_ELIMIT;
    uint64_t ncap = (uint64_t)c->cap * 2;
    if (ncap > c->max_len) ncap = c->max_len;
    uint32_t slots = pow2_at_least((uint32_t)ncap);
    uint8_t *nbuf = sim__mem_alloc(&w->mem, (size_t)slots * c->msg_size);
    if (nbuf == NULL) return SIM_ENOMEM;
    for (uint32_t i = 0; i < c->len; i++) {
        memcpy(nbuf + (size_t)i * c->msg_size, ring_at(c, (uint64_t)c->head + i), c->msg_size);
    }
    sim__chan_ring_free(w, c);
    c->buf = nbuf;
    c->cap = (uint32_t)ncap;
    c->mask = slots - 1;
    c->head = 0;
    return SIM_OK;
}

static inline void ring_push(sim__obj *c, const void *msg)
{
    SIM_ASSERT(c->len < c->cap);
    msg_copy(ring_at(c, (uint64_t)c->head + c->len), msg, c->msg_size);
    c->len++;
}

/* Sends on an mpsc channel whose room (if bounded) the caller has checked. */
static inline int mpsc_push(sim_world *w, sim__obj *c, const void *msg)
{
    if (c->len == c->cap) {
        int rc = ring_grow(w, c);
        if (rc != SIM_OK) return rc;
    }
    ring_push(c, msg);
    wake_receivers(w, c);
    return SIM_OK;
}

static int send_broadcast(sim_world *w, sim__obj *c, const void *msg)
{
    /* The message that leaves the window of the last cap messages is dropped now. */
    if (c->seq >= c->cap) drop_message(c, ring_at(c, c->seq - c->cap));
    msg_copy(ring_at(c, c->seq), msg, c->msg_size);
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
    if (w->dropping == SIM_DROP_CRASH) return sim__no_side_effects(w, "sim_send");
    sim__obj *c = tx_get(w, tx, "sim_send");
    if (c == NULL) return SIM_EMISUSE;
    switch (c->chan_kind) {
    case SIM_CHAN_ONESHOT:
        if (c->sent) {
            sim__violation(w, SIM_VIOLATION_MISUSE, "second send on oneshot #%u", c->serial);
            return SIM_EMISUSE;
        }
        if (c->rxs == 0) return SIM_ECLOSED;
        c->sent = 1;
        ring_push(c, msg);
        wake_receivers(w, c);
        return SIM_OK;
    case SIM_CHAN_MPSC:
        if (c->rxs == 0) return SIM_ECLOSED;
        if (c->bounded && c->len + c->owed >= c->cap) return SIM_EFULL;
        return mpsc_push(w, c, msg);
    case SIM_CHAN_BROADCAST:
        return c->rxs == 0 ? SIM_ECLOSED : send_broadcast(w, c, msg);
    case SIM_CHAN_WATCH:
        return c->rxs == 0 ? SIM_ECLOSED : send_watch(w, c, msg);
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
        return mpsc_push(w, c, op->msg);
    }
    if (!queued && c->wq_head == SIM__NIL && c->len + c->owed < c->cap) {
        return mpsc_push(w, c, op->msg);
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
    sim__obj *c = tx_get(w, op->tx, "sim_send_poll");
    if (c == NULL) {
        sim_send_op_drop(w, op);
        return SIM_EMISUSE;
    }
    if (c->chan_kind != SIM_CHAN_MPSC || !c->bounded) return sim_send(w, op->tx, op->msg);
    if (c->rxs == 0) {
        sim_send_op_drop(w, op);
        return SIM_ECLOSED;
    }
    return send_bounded(w, op, obj_slot(w, c));
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

static inline int recv_queue(sim_world *w, sim__obj *c, void *out)
{
    if (c->len > 0) {
        msg_copy(out, ring_at(c, c->head), c->msg_size);
        c->head = (c->head + 1) & c->mask;
        c->len--;
        if (c->wq_head != SIM__NIL) sim__waitq_notify_one(w, obj_slot(w, c));
        return SIM_OK;
    }
    if (c->txs == 0 || c->sent) return SIM_ECLOSED; /* sent: the oneshot's one message is gone */
    return SIM_EEMPTY;
}

static int recv_sub(sim_world *w, sim__obj *s, void *out)
{
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
        msg_copy(out, ring_at(c, s->cursor), c->msg_size);
        s->cursor++;
        return SIM_OK;
    }
    return c->txs == 0 ? SIM_ECLOSED : SIM_EEMPTY;
}

int sim_recv(sim_world *w, sim_rx *rx, void *out)
{
    uint32_t self = sim__require_task(w, "sim_recv");
    if (self == SIM__NIL) return SIM_EMISUSE;
    sim__obj *o = rx_get(w, rx, "sim_recv");
    if (o == NULL) return SIM_EMISUSE;
    int rc = o->type == OBJ_CHAN ? recv_queue(w, o, out) : recv_sub(w, o, out);
    if (rc != SIM_EEMPTY) return rc;
    o->waker_slot = self;
    o->waker_id = w->tasks[self].id;
    sim__note_wait(w, WAIT_RECV, obj_slot(w, o), o->serial);
    return SIM_PENDING;
}

int sim_try_recv(sim_world *w, sim_rx *rx, void *out)
{
    sim__obj *o = rx_get(w, rx, "sim_try_recv");
    if (o == NULL) return SIM_EMISUSE;
    if (o->type == OBJ_SUB && o->chan_kind == SIM_CHAN_WATCH) {
        const sim__obj *c = sim__obj_at(w, o->parent);
        memcpy(out, c->buf, c->msg_size);
        o->cursor = c->seq;
        return SIM_OK;
    }
    return o->type == OBJ_CHAN ? recv_queue(w, o, out) : recv_sub(w, o, out);
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
    sim__obj *c = tx_get(w, tx, "sim_tx_clone");
    if (c == NULL) return SIM_EMISUSE;
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
    sim__obj *c = tx_get(w, tx, "sim_subscribe");
    if (c == NULL) return SIM_EMISUSE;
    if (c->chan_kind != SIM_CHAN_BROADCAST && c->chan_kind != SIM_CHAN_WATCH) {
        sim__violation(w, SIM_VIOLATION_MISUSE, "sim_subscribe on a %s channel",
                       sim__chan_kind_name(c->chan_kind));
        return SIM_EMISUSE;
    }
    return sub_new(w, obj_slot(w, c), out);
}

void sim_tx_drop(sim_world *w, sim_tx *tx)
{
    if (tx == NULL || tx->id_ == 0) return;
    sim__obj *c = tx_get(w, tx, "sim_tx_drop");
    memset(tx, 0, sizeof *tx);
    if (c == NULL) return;
    SIM_ASSERT(c->txs > 0);
    c->txs--;
    if (c->txs > 0) return;
    wake_receivers(w, c);
    chan_release_if_unused(w, obj_slot(w, c));
}

static void sub_drop(sim_world *w, uint32_t slot)
{
    sim__obj *o = sim__obj_at(w, slot);
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
}

void sim_rx_drop(sim_world *w, sim_rx *rx)
{
    if (rx == NULL || rx->id_ == 0) return;
    sim__obj *o = rx_get(w, rx, "sim_rx_drop");
    memset(rx, 0, sizeof *rx);
    if (o == NULL) return;
    uint32_t slot = obj_slot(w, o);
    if (o->type == OBJ_SUB) {
        sub_drop(w, slot);
        return;
    }
    /* The only receiver is gone: queued messages can never be received, and senders waiting
     * for room are woken to find the channel closed. */
    o->rxs = 0;
    o->waker_slot = SIM__NIL;
    if (o->len > 0) drop_all_messages(o);
    if (o->wq_head != SIM__NIL) sim__waitq_clear(w, slot);
    chan_release_if_unused(w, slot);
}

uint32_t sim_rx_len(const sim_world *w, const sim_rx *rx)
{
    const sim__obj *o = rx_get((sim_world *)w, rx, NULL);
    if (o == NULL) return 0;
    if (o->type != OBJ_SUB) return o->len;
    const sim__obj *c = &w->objs[o->parent];
    if (o->chan_kind == SIM_CHAN_WATCH) return o->cursor < c->seq ? 1 : 0;
    uint64_t oldest = c->seq > c->cap ? c->seq - c->cap : 0;
    uint64_t from = o->cursor > oldest ? o->cursor : oldest;
    return (uint32_t)(c->seq - from);
}

bool sim_rx_closed(const sim_world *w, const sim_rx *rx)
{
    const sim__obj *o = rx_get((sim_world *)w, rx, NULL);
    if (o == NULL) return true;
    const sim__obj *c = o->type == OBJ_SUB ? &w->objs[o->parent] : o;
    return c->txs == 0;
}

bool sim_tx_closed(const sim_world *w, const sim_tx *tx)
{
    const sim__obj *c = tx_get((sim_world *)w, tx, NULL);
    return c == NULL || c->rxs == 0;
}
