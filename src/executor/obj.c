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
#include <stdlib.h>

#include "exec.h"

int sim__obj_alloc(sim_world *w, uint8_t type, uint32_t *slot_out)
{
    if (w->objs_live >= w->max_objects) return SIM_ELIMIT;
    uint32_t slot = w->obj_free;
    if (slot != SIM__NIL) {
        w->obj_free = w->objs[slot].next;
    } else {
        if (sim__grow((void **)&w->objs, &w->objs_cap, w->objs_used + 1, sizeof(sim__obj)) !=
            SIM_OK) {
            return SIM_ENOMEM;
        }
        slot = w->objs_used++;
    }
    sim__obj *o = &w->objs[slot];
    memset(o, 0, sizeof *o);
    o->serial = ++w->obj_serial;
    SIM_ASSERT(o->serial < (1u << 31));
    o->tx_id = sim__mix32(2 * o->serial);
    o->rx_id = sim__mix32(2 * o->serial + 1);
    o->type = type;
    o->parent = SIM__NIL;
    o->first = SIM__NIL;
    o->next = SIM__NIL;
    o->prev = SIM__NIL;
    o->waker_slot = SIM__NIL;
    o->wq_head = SIM__NIL;
    o->wq_tail = SIM__NIL;
    w->objs_live++;
    *slot_out = slot;
    return SIM_OK;
}

void sim__obj_release(sim_world *w, uint32_t slot)
{
    sim__waitq_clear(w, slot);
    sim__obj *o = sim__obj_at(w, slot);
    SIM_ASSERT(o->type != OBJ_FREE);
    free(o->buf);
    memset(o, 0, sizeof *o);
    o->next = w->obj_free;
    w->obj_free = slot;
    SIM_ASSERT(w->objs_live > 0);
    w->objs_live--;
}

uint32_t sim__obj_lookup(const sim_world *w, uint32_t slot, uint32_t id, uint8_t type, bool rx)
{
    if (id == 0 || slot >= w->objs_used) return SIM__NIL;
    const sim__obj *o = &w->objs[slot];
    if (o->type != type) return SIM__NIL;
    if ((rx ? o->rx_id : o->tx_id) != id) return SIM__NIL;
    return slot;
}
