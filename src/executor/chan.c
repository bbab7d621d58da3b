/*
 * chan.c: oneshot, mpsc, broadcast and watch channels.
 *
 * A channel is one object with a ring of fixed-size messages. Oneshot and mpsc channels have
 * a single receiver, whose waker is kept in the channel; broadcast and watch channels have
 * subscriber objects (OBJ_SUB), each with its own cursor and waker, listed on the channel.
 * Handle counts decide lifetime: a channel goes away with its last sender and receiver, and
 * any message still inside has its handles released and goes to drop_msg. Handles are
 * records of the handle table (hand.c) naming the channel (senders) or the receiving object;
 * a channel whose messages carry handles (handle_at) moves them into itself on send and to
 * the receiving task on receive. Bounded mpsc senders that find no room wait in
 * the channel's FIFO wait queue (waitq.c); a receive that frees a slot notifies the first of
 * them, who is then owed that slot, so try-sends cannot overtake waiting senders.
 *
 * Messages are copied with memcpy on the way in and out. Rings come from the world's size-class
 * allocator; an unbounded mpsc ring doubles when full, up to max_messages.
 */
#include <stdio.h>
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

/* A copy of a message of 4, 8, 12 or 16 bytes (the sizes recv's fast path takes; 12 is a
 * handle: a request carrying its reply's sender): never a call. */
static inline void msg_copy_small(void *dst, const void *src, uint32_t size)
{
    SIM_ASSERT(size > 0 && size <= 16 && (size & 3) == 0);
    switch (size) {
    case 4:
        memcpy(dst, src, 4);
        break;
    case 8:
        memcpy(dst, src, 8);
        break;
    case 12:
        memcpy(dst, src, 12);
        break;
    default:
        memcpy(dst, src, 16);
    }
}

/* memcpy with the common message sizes inlined (a libc call costs more than the copy). */
static inline void msg_copy(void *dst, const void *src, uint32_t size)
{
    SIM_ASSERT(size > 0);
    SIM_ASSERT(size <= MSG_SIZE_MAX);
    if (size <= 16 && (size & 3) == 0) {
        msg_copy_small(dst, src, size);
    } else {
        memcpy(dst, src, size);
    }
}

static uint8_t *ring_at(sim__obj *c, uint64_t index)
{
    return c->buf + (size_t)(index & c->mask) * c->msg_size;
}

/* The handle at offset k of a message, if it is one the channel holds; else SIM__NIL. */
static uint32_t msg_handle(sim_world *w, uint32_t chan, const uint8_t *msg, uint32_t k)
{
    SIM_ASSERT(chan < w->objs_used);
    SIM_ASSERT(k < w->objs[chan].nhoff);
    sim_handle h;
    memcpy(&h, msg + w->objs[chan].hoff[k], sizeof h);
    if (h.id_ == 0 || h.world_ != w->tag || h.slot_ >= w->hands_used) return SIM__NIL;
    const sim__hand *r = &w->hands[h.slot_];
    if (r->id != h.id_ || r->kind == HAND_FREE) return SIM__NIL;
    if (r->owner_kind != OWN_CHAN || r->owner != chan) return SIM__NIL;
    return h.slot_;
}

/* A message leaves the channel unreceived: its handles are released, then drop_msg. */
static void drop_message(sim_world *w, sim__obj *c, uint8_t *msg)
{
    SIM_ASSERT(c->type == OBJ_CHAN);
    SIM_ASSERT(msg >= c->buf && msg + c->msg_size <= c->buf + (size_t)(c->mask + 1) * c->msg_size);
    uint32_t chan = c->slot;
    for (uint32_t k = 0; k < c->nhoff; k++) {
        uint32_t hs = msg_handle(w, chan, msg, k);
        if (hs != SIM__NIL) sim__hand_release(w, hs);
        c = &w->objs[chan];
    }
    if (c->drop_msg != NULL) c->drop_msg(c->drop_ud, msg);
}

/* Drops every message still held by the channel. */
static void drop_all_messages(sim_world *w, sim__obj *c)
{
    SIM_ASSERT(c->type == OBJ_CHAN);
    if (c->buf == NULL) return;
    SIM_ASSERT(sim__ring_ok(c));
    switch (c->chan_kind) {
    case SIM_CHAN_ONESHOT:
    case SIM_CHAN_MPSC:
        while (c->len > 0) {
            drop_message(w, c, ring_at(c, c->head));
            c->head = (c->head + 1) & c->mask;
            c->len--;
        }
        SIM_ASSERT(c->len == 0); /* every queued message was dropped */
        break;
    case SIM_CHAN_BROADCAST: {
        uint64_t kept = c->seq < c->cap ? c->seq : c->cap;
        for (uint64_t s = c->seq - kept; s < c->seq; s++) {
            drop_message(w, c, ring_at(c, s));
        }
        c->seq = 0;
        break;
    }
    case SIM_CHAN_WATCH:
        drop_message(w, c, c->buf);
        break;
    }
}

static void chan_release_if_unused(sim_world *w, uint32_t slot)
{
    sim__obj *c = sim__obj_at(w, slot);
    if (c->txs > 0 || c->rxs > 0) return;
    if (c->len > 0 || c->chan_kind >= SIM_CHAN_BROADCAST) drop_all_messages(w, c);
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
        if (o->type == OBJ_CHAN) drop_all_messages(w, o);
        if (o->type == OBJ_CHAN) sim__chan_ring_free(w, o);
    }
}

/* ---- creation ----------------------------------------------------------------------------- */

static int desc_check(const sim_chan_desc *d, uint32_t *cap_out)
{
    SIM_ASSERT(cap_out != NULL);
    if (d == NULL || d->msg_size == 0 || d->msg_size > MSG_SIZE_MAX) return SIM_EINVAL;
    if (d->handle_count > SIM_MSG_HANDLES_MAX) return SIM_EINVAL;
    if (d->handle_count > 0 && d->kind != SIM_CHAN_MPSC && d->kind != SIM_CHAN_ONESHOT) {
        return SIM_EINVAL; /* a broadcast would copy a handle to every receiver */
    }
    for (uint32_t k = 0; k < d->handle_count; k++) {
        if (d->handle_at[k] > d->msg_size || d->msg_size - d->handle_at[k] < sizeof(sim_handle)) {
            return SIM_EINVAL;
        }
    }
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
        SIM_ASSERT(*cap_out >= 1 && *cap_out <= RING_MAX);
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
    SIM_ASSERT(c->type == OBJ_CHAN);
    SIM_ASSERT(c->chan_kind == SIM_CHAN_BROADCAST || c->chan_kind == SIM_CHAN_WATCH);
    s->name = c->name;
    s->parent = chan;
    s->cursor = c->seq;
    s->next = c->first;
    if (c->first != SIM__NIL) w->objs[c->first].prev = slot;
    c->first = slot;
    c->rxs++;
    rc = sim__hand_new(w, HAND_RX, 0, slot, 0, &out->h);
    SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
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
        c->buf = sim__mem_alloc(&w->mem, bytes); /* never NULL: out of memory is fatal */
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
    c->nhoff = (uint8_t)d->handle_count;
    for (uint32_t k = 0; k < d->handle_count; k++) c->hoff[k] = (uint16_t)d->handle_at[k];
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
        rc = sim__hand_new(w, HAND_RX, 0, slot, 0, &rx->h);
        SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
    }
    rc = sim__hand_new(w, HAND_TX, 0, slot, 0, &tx->h);
    SIM_ASSERT(rc == SIM_OK);
    return SIM_OK;
}

/* ---- handle resolution -------------------------------------------------------------------- */

/* The channel of a sender handle, or NULL (after recording a violation when what != NULL). */
static inline sim__obj *tx_get(sim_world *w, const sim_tx *tx, const char *what)
{
    uint32_t hs = sim__hand_slot(w, tx ? &tx->h : NULL, HAND_TX, what);
    if (hs == SIM__NIL) return NULL;
    sim__obj *c = sim__obj_at(w, w->hands[hs].target);
    SIM_ASSERT(c->type == OBJ_CHAN); /* a sender's channel lives while the sender does */
    SIM_ASSERT(c->txs > 0);
    return c;
}

/* The receiver object of a receiver handle: the channel itself (oneshot, mpsc) or the
 * subscriber (broadcast, watch); NULL as above. */
static inline sim__obj *rx_get(sim_world *w, const sim_rx *rx, const char *what)
{
    uint32_t hs = sim__hand_slot(w, rx ? &rx->h : NULL, HAND_RX, what);
    if (hs == SIM__NIL) return NULL;
    sim__obj *o = sim__obj_at(w, w->hands[hs].target);
    SIM_ASSERT(o->type == OBJ_SUB || (o->type == OBJ_CHAN && o->rxs > 0));
    return o;
}

/* The same, for queries on a const world (no violation is recorded). */
static const sim__obj *tx_peek(const sim_world *w, const sim_tx *tx)
{
    uint32_t hs = sim__hand_peek(w, tx ? &tx->h : NULL, HAND_TX);
    return hs == SIM__NIL ? NULL : &w->objs[w->hands[hs].target];
}

static const sim__obj *rx_peek(const sim_world *w, const sim_rx *rx)
{
    uint32_t hs = sim__hand_peek(w, rx ? &rx->h : NULL, HAND_RX);
    return hs == SIM__NIL ? NULL : &w->objs[w->hands[hs].target];
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
    SIM_ASSERT(c->chan_kind == SIM_CHAN_MPSC);
    SIM_ASSERT(c->len == c->cap); /* grown only when full */
    uint64_t ncap = (uint64_t)c->cap * 2;
    if (ncap > c->max_len) ncap = c->max_len;
    uint32_t slots = pow2_at_least((uint32_t)ncap);
    uint8_t *nbuf = sim__mem_alloc(&w->mem, (size_t)slots * c->msg_size); /* never NULL */
    for (uint32_t i = 0; i < c->len; i++) {
        memcpy(nbuf + (size_t)i * c->msg_size, ring_at(c, (uint64_t)c->head + i), c->msg_size);
    }
    sim__chan_ring_free(w, c);
    c->buf = nbuf;
    c->cap = (uint32_t)ncap;
    c->mask = slots - 1;
    c->head = 0;
    SIM_ASSERT(sim__ring_ok(c));
    SIM_ASSERT(c->len < c->cap);
    return SIM_OK;
}

/* The handles a message carries move into the channel (before it is copied in). */
static void handles_in(sim_world *w, uint32_t chan, const void *msg)
{
    SIM_ASSERT(w->objs[chan].type == OBJ_CHAN);
    SIM_ASSERT(w->objs[chan].nhoff <= SIM_MSG_HANDLES_MAX);
    const sim__obj *c = &w->objs[chan];
    for (uint32_t k = 0; k < c->nhoff; k++) {
        sim_handle h;
        memcpy(&h, (const uint8_t *)msg + c->hoff[k], sizeof h);
        if (h.id_ == 0) continue; /* an empty handle: nothing to move */
        if (h.world_ != w->tag || h.slot_ >= w->hands_used || w->hands[h.slot_].id != h.id_ ||
            w->hands[h.slot_].kind == HAND_FREE) {
            sim__violation(w, SIM_VIOLATION_MISUSE,
                           "a message sent on channel #%u carries a stale or foreign handle at "
                           "offset %u", c->serial, c->hoff[k]);
            continue;
        }
        sim__hand_to_chan(w, h.slot_, chan);
        SIM_ASSERT(w->hands[h.slot_].owner_kind == OWN_CHAN);
    }
}

/* ...and out of it to the receiver (after it is copied out): the receiving task, or, for a
 * receive outside any task (a boot function, the test's own code), the node being booted or
 * the world, as for a handle made there. Such handles used to stay owned by the channel,
 * which released them never (the message had left it): a boot function's were not released
 * by the node's crash. */
static void handles_out(sim_world *w, uint32_t chan, const void *msg)
{
    for (uint32_t k = 0; k < w->objs[chan].nhoff; k++) {
        uint32_t hs = msg_handle(w, chan, msg, k);
        if (hs != SIM__NIL) sim__hand_to_default(w, hs);
    }
}

static inline void ring_push(sim_world *w, sim__obj *c, const void *msg)
{
    SIM_ASSERT(c->len < c->cap);
    if (c->nhoff) handles_in(w, c->slot, msg);
    msg_copy(ring_at(c, (uint64_t)c->head + c->len), msg, c->msg_size);
    c->len++;
}

/* Sends on an mpsc channel whose room (if bounded) the caller has checked. */
static inline int mpsc_push(sim_world *w, sim__obj *c, const void *msg)
{
    SIM_ASSERT(c->chan_kind == SIM_CHAN_MPSC);
    SIM_ASSERT(c->rxs > 0); /* nobody sends into a closed channel */
    if (c->len == c->cap) {
        int rc = ring_grow(w, c);
        if (rc != SIM_OK) return rc;
    }
    ring_push(w, c, msg);
    wake_receivers(w, c);
    return SIM_OK;
}

static int send_broadcast(sim_world *w, sim__obj *c, const void *msg)
{
    SIM_ASSERT(c->chan_kind == SIM_CHAN_BROADCAST);
    SIM_ASSERT(c->len == 0); /* a broadcast keeps its window by seq, never by len */
    /* The message that leaves the window of the last cap messages is dropped now. */
    if (c->seq >= c->cap) drop_message(w, c, ring_at(c, c->seq - c->cap));
    msg_copy(ring_at(c, c->seq), msg, c->msg_size);
    c->seq++;
    wake_receivers(w, c);
    return SIM_OK;
}

static int send_watch(sim_world *w, sim__obj *c, const void *msg)
{
    drop_message(w, c, c->buf);
    memcpy(c->buf, msg, c->msg_size);
    c->seq++;
    wake_receivers(w, c);
    return SIM_OK;
}

static int try_send_slow(sim_world *w, const sim_tx *tx, const void *msg)
{
    if (w->dropping == SIM__DROP_CRASH) return sim__no_side_effects(w, "sim_try_send");
    sim__obj *c = tx_get(w, tx, "sim_try_send");
    if (c == NULL) return SIM_EMISUSE;
    switch (c->chan_kind) {
    case SIM_CHAN_ONESHOT:
        if (c->sent) {
            sim__violation(w, SIM_VIOLATION_MISUSE, "second send on oneshot #%u", c->serial);
            return SIM_EMISUSE;
        }
        if (c->rxs == 0) return SIM_ECLOSED;
        c->sent = 1;
        SIM_ASSERT(c->len == 0);
        SIM_ASSERT(c->cap == 1);
        ring_push(w, c, msg);
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

/* A send that needs nothing but a copy into the ring (after moving the handles the message
 * carries) and the receiver's wake-up: an mpsc channel with room (no growth, no sender owed a
 * slot in the way) or a oneshot not sent yet, a receiver alive, messages of 4, 8, 12 or 16
 * bytes. */
static inline bool send_is_plain(const sim__obj *c)
{
    uint32_t size = c->msg_size;
    if (c->rxs == 0 || size > 16 || (size & 3) != 0) return false;
    if (c->chan_kind == SIM_CHAN_MPSC) return c->len + c->owed < c->cap;
    return c->chan_kind == SIM_CHAN_ONESHOT && !c->sent;
}

/* sim_try_send. The plain case (send_is_plain) is handled here with no call but the wake-up,
 * a tail call, and the handles' move when the message carries some, so that a plain message
 * needs no registers saved; anything else, and every misuse, is try_send_slow's, which does
 * the same as this for the plain case. */
int sim_try_send(sim_world *w, const sim_tx *tx, const void *msg)
{
    if (w->dropping == SIM__DROP_CRASH || tx == NULL) return try_send_slow(w, tx, msg);
    uint32_t hs = sim__hand_slot(w, &tx->h, HAND_TX, NULL);
    if (hs == SIM__NIL) return try_send_slow(w, tx, msg);
    sim__obj *c = sim__obj_at(w, w->hands[hs].target);
    if (!send_is_plain(c)) return try_send_slow(w, tx, msg);
    SIM_ASSERT(c->type == OBJ_CHAN && c->txs > 0);
    SIM_ASSERT(c->len < c->cap);
    if (c->chan_kind == SIM_CHAN_ONESHOT) c->sent = 1;
    if (c->nhoff) {
        handles_in(w, c->slot, msg);
        c = &w->objs[c->slot];
    }
    msg_copy_small(ring_at(c, (uint64_t)c->head + c->len), msg, c->msg_size);
    c->len++;
    if (c->waker_slot == SIM__NIL) return SIM_OK;
    return sim__wake_ok(w, c->waker_slot, c->waker_id);
}

/* A bounded mpsc send that may wait. */
static int send_bounded(sim_world *w, sim_send_op *op, uint32_t slot)
{
    SIM_ASSERT(w->objs[slot].chan_kind == SIM_CHAN_MPSC);
    SIM_ASSERT(w->objs[slot].bounded);
    sim__obj *c = sim__obj_at(w, slot);
    bool queued = sim__waiter_valid(w, op->waiter_slot_, op->waiter_id_);
    if (queued && w->waiters[op->waiter_slot_].notified) {
        SIM_ASSERT(w->waiters[op->waiter_slot_].obj == slot); /* its own channel's queue */
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

static void send_op_drop(sim_fut *f, sim_world *w)
{
    sim_send_op *op = (sim_send_op *)f;
    sim__waiter_remove(w, op->waiter_slot_, op->waiter_id_, true);
    op->waiter_id_ = 0;
}

static int send_op_poll(sim_fut *f, sim_world *w)
{
    sim_send_op *op = (sim_send_op *)f;
    if (sim__require_task(w, "sim_send") == SIM__NIL) return SIM_EMISUSE;
    sim__obj *c = tx_get(w, op->tx, "sim_send");
    if (c == NULL) {
        send_op_drop(f, w);
        return SIM_EMISUSE;
    }
    if (c->chan_kind != SIM_CHAN_MPSC || !c->bounded) return sim_try_send(w, op->tx, op->msg);
    if (c->rxs == 0) {
        send_op_drop(f, w);
        return SIM_ECLOSED;
    }
    SIM_ASSERT(c->rxs == 1); /* an mpsc channel has one receiver */
    return send_bounded(w, op, obj_slot(w, c));
}

static void chan_describe(const sim_world *w, const char *what, uint32_t slot, char *buf,
                          size_t size)
{
    const sim__obj *o = &w->objs[slot];
    if (o->type == OBJ_SUB) o = &w->objs[o->parent];
    snprintf(buf, size, "%s on %s #%u%s%s", what, sim__chan_kind_name(o->chan_kind), o->serial,
             o->name ? " " : "", o->name ? o->name : "");
}

static void send_op_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL);
    SIM_ASSERT(size > 0);
    const sim__obj *c = tx_peek(w, ((const sim_send_op *)f)->tx);
    if (c == NULL) {
        snprintf(buf, size, "send on a closed handle");
    } else {
        chan_describe(w, "send (waiting for room)", c->slot, buf, size);
    }
}

static const sim_fut_vt send_vt = {.name = "send", .poll = send_op_poll, .drop = send_op_drop,
                                   .describe = send_op_describe};

sim_send_op sim_send(const sim_tx *tx, const void *msg)
{
    SIM_ASSERT(tx != NULL);
    return (sim_send_op){.fut = SIM_FUT_INIT(&send_vt), .tx = tx, .msg = msg};
}

/* ---- receiving ---------------------------------------------------------------------------- */

static inline int recv_queue(sim_world *w, sim__obj *c, void *out)
{
    SIM_ASSERT(c->chan_kind == SIM_CHAN_ONESHOT || c->chan_kind == SIM_CHAN_MPSC);
    SIM_ASSERT(c->len <= c->cap);
    if (c->len > 0) {
        msg_copy(out, ring_at(c, c->head), c->msg_size);
        c->head = (c->head + 1) & c->mask;
        c->len--;
        if (c->nhoff) {
            handles_out(w, c->slot, out);
            c = &w->objs[c->slot];
        }
        if (c->wq_head != SIM__NIL) sim__waitq_notify_one(w, obj_slot(w, c));
        return SIM_OK;
    }
    if (c->txs == 0 || c->sent) return SIM_ECLOSED; /* sent: the oneshot's one message is gone */
    return SIM_EEMPTY;
}

static int recv_sub(sim_world *w, sim__obj *s, void *out)
{
    sim__obj *c = sim__obj_at(w, s->parent);
    SIM_ASSERT(s->type == OBJ_SUB);
    SIM_ASSERT(c->type == OBJ_CHAN && c->first != SIM__NIL); /* listed on its channel */
    SIM_ASSERT(s->cursor <= c->seq); /* a receiver never sees past what was sent */
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

static int recv_op_poll_slow(sim_fut *f, sim_world *w)
{
    sim_recv_op *op = (sim_recv_op *)f;
    uint32_t self = sim__require_task(w, "sim_recv");
    if (self == SIM__NIL) return SIM_EMISUSE;
    sim__obj *o = rx_get(w, op->rx, "sim_recv");
    if (o == NULL) return SIM_EMISUSE;
    int rc = o->type == OBJ_CHAN ? recv_queue(w, o, op->out) : recv_sub(w, o, op->out);
    if (rc != SIM_EEMPTY) return rc;
    SIM_ASSERT(o->type == OBJ_SUB || o->len == 0); /* empty means empty */
    SIM_ASSERT(w->tasks[self].flags & TF_RUNNING);
    o->waker_slot = self;
    o->waker_id = w->tasks[self].id;
    sim__note_wait(w, WAIT_RECV, obj_slot(w, o), o->serial);
    return SIM_PENDING;
}

/* recv's poll. The common cases (in a task, a live receiver of a oneshot or mpsc channel
 * whose messages are 4, 8, 12 or 16 bytes; a message that carries no handles and leaves no
 * sender waiting for room, or none yet) are handled here without a call, so that this
 * function needs no registers saved; anything else, and every misuse, is recv_op_poll_slow's,
 * which does the same as this for the common case. */
static int recv_op_poll(sim_fut *f, sim_world *w)
{
    sim_recv_op *op = (sim_recv_op *)f;
    uint32_t self = w->current;
    if (self == SIM__NIL || w->dropping >= 0) return recv_op_poll_slow(f, w);
    uint32_t hs = sim__hand_slot(w, &op->rx->h, HAND_RX, NULL);
    if (hs == SIM__NIL) return recv_op_poll_slow(f, w);
    sim__obj *c = sim__obj_at(w, w->hands[hs].target);
    uint32_t size = c->msg_size;
    if (c->type != OBJ_CHAN || size > 16 || (size & 3) != 0) {
        return recv_op_poll_slow(f, w);
    }
    SIM_ASSERT(c->rxs > 0);
    SIM_ASSERT(c->chan_kind == SIM_CHAN_ONESHOT || c->chan_kind == SIM_CHAN_MPSC);
    SIM_ASSERT(c->len <= c->cap);
    if (c->len > 0) {
        if (c->nhoff != 0 || c->wq_head != SIM__NIL) return recv_op_poll_slow(f, w);
        msg_copy_small(op->out, ring_at(c, c->head), size);
        c->head = (c->head + 1) & c->mask;
        c->len--;
        return SIM_OK;
    }
    if (c->txs == 0 || c->sent) return SIM_ECLOSED; /* sent: the oneshot's one message is gone */
    SIM_ASSERT(w->tasks[self].flags & TF_RUNNING);
    c->waker_slot = self;
    c->waker_id = w->tasks[self].id;
    sim__note_wait(w, WAIT_RECV, obj_slot(w, c), c->serial);
    return SIM_PENDING;
}

/* Dropped while waiting: the receiver forgets its waker (a later send wakes nobody). */
static void recv_op_drop(sim_fut *f, sim_world *w)
{
    sim_recv_op *op = (sim_recv_op *)f;
    sim__obj *o = rx_get(w, op->rx, NULL);
    if (o != NULL && o->waker_slot == w->current) o->waker_slot = SIM__NIL;
}

static void recv_op_describe(const sim_fut *f, const sim_world *w, char *buf, size_t size)
{
    SIM_ASSERT(buf != NULL);
    SIM_ASSERT(size > 0);
    const sim__obj *o = rx_peek(w, ((const sim_recv_op *)f)->rx);
    if (o == NULL) {
        snprintf(buf, size, "recv on a closed handle");
    } else {
        chan_describe(w, "recv", o->slot, buf, size);
    }
}

static const sim_fut_vt recv_vt = {.name = "recv", .poll = recv_op_poll, .drop = recv_op_drop,
                                   .describe = recv_op_describe};

sim_recv_op sim_recv(const sim_rx *rx, void *out)
{
    SIM_ASSERT(rx != NULL);
    return (sim_recv_op){.fut = SIM_FUT_INIT(&recv_vt), .rx = rx, .out = out};
}

int sim_try_recv(sim_world *w, const sim_rx *rx, void *out)
{
    sim__obj *o = rx_get(w, rx, "sim_try_recv");
    SIM_ASSERT(out != NULL);
    if (o == NULL) return SIM_EMISUSE;
    if (o->type == OBJ_SUB && o->chan_kind == SIM_CHAN_WATCH) {
        const sim__obj *c = sim__obj_at(w, o->parent);
        SIM_ASSERT(c->type == OBJ_CHAN && c->chan_kind == SIM_CHAN_WATCH);
        memcpy(out, c->buf, c->msg_size);
        o->cursor = c->seq;
        return SIM_OK;
    }
    return o->type == OBJ_CHAN ? recv_queue(w, o, out) : recv_sub(w, o, out);
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
    SIM_ASSERT(c->txs >= 2); /* the one cloned and the clone */
    int rc = sim__hand_new(w, HAND_TX, 0, c->slot, 0, &out->h);
    SIM_ASSERT(rc == SIM_OK); /* out of memory: fatal */
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
    int rc = sub_new(w, obj_slot(w, c), out);
    if (rc == SIM_OK) SIM_ASSERT(out->h.id_ != 0);
    return rc;
}

/* A sender record goes: the last one closes the channel for its receivers. */
static void tx_release(sim_world *w, uint32_t hs)
{
    uint32_t slot = w->hands[hs].target;
    sim__hand_free(w, hs);
    sim__obj *c = sim__obj_at(w, slot);
    SIM_ASSERT(c->type == OBJ_CHAN);
    SIM_ASSERT(c->txs > 0);
    c->txs--;
    if (c->txs > 0) return;
    wake_receivers(w, c);
    chan_release_if_unused(w, slot);
}

void sim_tx_drop(sim_world *w, sim_tx *tx)
{
    if (tx == NULL || tx->h.id_ == 0) return;
    uint32_t hs = sim__hand_slot_to_drop(w, &tx->h, HAND_TX, "sim_tx_drop");
    memset(tx, 0, sizeof *tx);
    if (hs != SIM__NIL) tx_release(w, hs);
}

/* A task awaiting a receive through a copy of a handle that just went (its owner ended, or
 * another copy was dropped) was never woken and hung without a word; woken, its next poll
 * finds the handle gone: SIM_EMISUSE and a violation that says why. */
static void wake_orphaned_receiver(sim_world *w, uint32_t waker, uint32_t waker_id)
{
    if (waker != SIM__NIL) sim__wake(w, waker, waker_id);
}

static void sub_drop(sim_world *w, uint32_t slot)
{
    sim__obj *o = sim__obj_at(w, slot);
    uint32_t chan = o->parent;
    SIM_ASSERT(o->type == OBJ_SUB);
    SIM_ASSERT(w->objs[chan].rxs > 0); /* this subscriber is one of them */
    wake_orphaned_receiver(w, o->waker_slot, o->waker_id);
    o = sim__obj_at(w, slot);
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

static void rx_release(sim_world *w, uint32_t hs)
{
    uint32_t slot = w->hands[hs].target;
    sim__hand_free(w, hs);
    sim__obj *o = sim__obj_at(w, slot);
    if (o->type == OBJ_SUB) {
        sub_drop(w, slot);
        return;
    }
    SIM_ASSERT(o->type == OBJ_CHAN && o->rxs == 1);
    /* The only receiver is gone: queued messages can never be received, and senders waiting
     * for room are woken to find the channel closed. */
    o->rxs = 0;
    uint32_t waker = o->waker_slot, waker_id = o->waker_id;
    o->waker_slot = SIM__NIL;
    wake_orphaned_receiver(w, waker, waker_id);
    o = sim__obj_at(w, slot);
    if (o->len > 0) {
        sim__oracle_unread(w, slot, o->len);
        drop_all_messages(w, &w->objs[slot]);
    }
    SIM_ASSERT(w->objs[slot].len == 0);
    if (w->objs[slot].wq_head != SIM__NIL) sim__waitq_clear(w, slot);
    SIM_ASSERT(w->objs[slot].wq_head == SIM__NIL); /* no sender waits on a closed channel */
    chan_release_if_unused(w, slot);
}

void sim_rx_drop(sim_world *w, sim_rx *rx)
{
    if (rx == NULL || rx->h.id_ == 0) return;
    uint32_t hs = sim__hand_slot_to_drop(w, &rx->h, HAND_RX, "sim_rx_drop");
    memset(rx, 0, sizeof *rx);
    if (hs != SIM__NIL) rx_release(w, hs);
}

void sim__chan_init_hand_ops(sim_world *w)
{
    w->hand_ops[HAND_TX] = tx_release;
    w->hand_ops[HAND_RX] = rx_release;
}

uint32_t sim_rx_len(const sim_world *w, const sim_rx *rx)
{
    const sim__obj *o = rx_peek(w, rx);
    if (o == NULL) return 0;
    if (o->type != OBJ_SUB) {
        SIM_ASSERT(o->len <= o->cap);
        return o->len;
    }
    const sim__obj *c = &w->objs[o->parent];
    SIM_ASSERT(o->cursor <= c->seq);
    if (o->chan_kind == SIM_CHAN_WATCH) return o->cursor < c->seq ? 1 : 0;
    uint64_t oldest = c->seq > c->cap ? c->seq - c->cap : 0;
    uint64_t from = o->cursor > oldest ? o->cursor : oldest;
    SIM_ASSERT(c->seq - from <= c->cap); /* no more than the window */
    return (uint32_t)(c->seq - from);
}

bool sim_rx_closed(const sim_world *w, const sim_rx *rx)
{
    const sim__obj *o = rx_peek(w, rx);
    if (o == NULL) return true;
    const sim__obj *c = o->type == OBJ_SUB ? &w->objs[o->parent] : o;
    return c->txs == 0;
}

bool sim_tx_closed(const sim_world *w, const sim_tx *tx)
{
    const sim__obj *c = tx_peek(w, tx);
    return c == NULL || c->rxs == 0;
}
