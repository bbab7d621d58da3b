/*
 * obj.c: the table of channels, receivers and tokens.
 *
 * Objects are records in one growable array with a free list. Each has a serial number (its
 * "#N" in reports, in creation order) and two handle ids derived from it by a bijective mixer,
 * one for sender handles and one for receiver handles. A handle is (slot, id); it resolves
 * only while the slot holds the object it was made for, so a stale handle is detected instead
 * of reaching a reused record. The mixed ids also make handles distinctive enough for the
 * deadlock report to find which task state holds one.
 */
#include "exec.h"

int sim__obj_alloc(sim_world *w, uint8_t type, uint32_t *slot_out)
{
    SIM_ASSERT(type != OBJ_FREE && type <= OBJ_SET);
    if (w->objs_live >= w->max_objects) return SIM_ELIMIT;
    if (w->fp_in_step) sim__fp_add(w, SIM__FP_KEY(SIM__FPK_ALLOC, 0)); /* serials, free list */
    uint32_t slot = w->obj_free;
    uintptr_t before = (uintptr_t)w->objs; /* compared, never dereferenced */
    if (slot != SIM__NIL) {
        w->obj_free = w->objs[slot].next;
    } else {
        sim__grow((void **)&w->objs, &w->objs_cap, w->objs_used + 1, sizeof(sim__obj));
        slot = w->objs_used++;
    }
    sim__table_shake((void **)&w->objs, w->objs_cap, sizeof(sim__obj));
    if ((uintptr_t)w->objs != before) {
        /* The table moved: re-point rings that live inside their object. */
        for (uint32_t i = 0; i < w->objs_used; i++) {
            if (w->objs[i].ring_inline) w->objs[i].buf = w->objs[i].small;
        }
    }
    /* Field by field: a memset of the whole record costs more than the rest of a channel
     * round trip (rep stos start-up). */
    sim__obj *o = &w->objs[slot];
    o->serial = ++w->obj_serial;
    SIM_ASSERT(o->serial < (1u << 31));
    o->slot = slot;
    o->tx_id = sim__mix32(2 * o->serial);
    o->rx_id = sim__mix32(2 * o->serial + 1);
    o->type = type;
    o->chan_kind = 0;
    o->cancelled = 0;
    o->sent = 0;
    o->bounded = 0;
    o->nhoff = 0;
    o->txs = 0;
    o->rxs = 0;
    o->msg_size = 0;
    o->cap = 0;
    o->mask = 0;
    o->head = 0;
    o->len = 0;
    o->owed = 0;
    o->max_len = 0;
    o->buf = NULL;
    o->ring_inline = 0;
    o->seq = 0;
    o->cursor = 0;
    o->parent = SIM__NIL;
    o->first = SIM__NIL;
    o->next = SIM__NIL;
    o->prev = SIM__NIL;
    o->waker_slot = SIM__NIL;
    o->waker_id = 0;
    o->wq_head = SIM__NIL;
    o->wq_tail = SIM__NIL;
    o->name = NULL;
    o->drop_msg = NULL;
    o->drop_ud = NULL;
    w->objs_live++;
    *slot_out = slot;
    return SIM_OK;
}

void sim__obj_release(sim_world *w, uint32_t slot)
{
    if (w->objs[slot].wq_head != SIM__NIL) sim__waitq_clear(w, slot);
    if (w->fp_in_step) sim__fp_add(w, SIM__FP_KEY(SIM__FPK_ALLOC, 0));
    sim__obj *o = sim__obj_at(w, slot);
    SIM_ASSERT(o->type != OBJ_FREE);
    if (o->type == OBJ_CHAN) sim__chan_ring_free(w, o);
    o->type = OBJ_FREE;
    o->serial = 0;
    o->tx_id = 0;
    o->rx_id = 0;
    o->next = w->obj_free;
    w->obj_free = slot;
    SIM_ASSERT(w->objs_live > 0);
    w->objs_live--;
}
