/*
 * Capability tables and transfers.
 *
 * A CapId is (generation << 16 | slot). A slot's generation is bumped every
 * time the slot is freed, so a released or moved-away CapId is stale
 * forever after (until the 16-bit generation wraps, after 65535 reuses of
 * that one slot). Slot 0 is never used: CapId 0 is always invalid.
 *
 * Badges (docs/kernel-abi.md, "Badges"): a slot carries the badge of the
 * endpoint CALL facet it holds, 0 for every other cap. Only a MINT sets a
 * nonzero one, and only from the server facet; COPY and MOVE carry the
 * slot's badge along, so a client cannot change or strip it.
 *
 * Transfers (copy, move or mint) are two-phase. xfer_reserve() takes everything
 * out of the sender's table that the message names, all or nothing: a
 * copied cap gains a reference, a moved cap's slot becomes RESERVED (still
 * owned, unusable, not releasable). xfer_commit() installs the caps in the
 * receiver, all or nothing, then frees the moved slots; xfer_rollback()
 * returns reserved slots to LIVE and drops copies. So authority is never
 * lost, duplicated or half-inserted.
 */
#include "proc/proc.h"
#include "kernel.h"
#include "mm/heap.h"

void endpoint_facet_get(struct kobj *o, uint8_t facet);
void endpoint_facet_put(struct kobj *o, uint8_t facet);

void
kobj_ref(struct kobj *o)
{
	o->refs++;
}

void
kobj_unref(struct kobj *o)
{
	if (--o->refs || o->permanent)
		return;
	o->gen++;
	switch (o->type) {
	case KO_ENDPOINT:
		endpoint_destroy(o);
		break;
	case KO_PROCHANDLE:
		prochandle_destroy(o);
		break;
	case KO_DDF: {
		extern void kddf_kobj_destroy(struct kobj *o);
		kddf_kobj_destroy(o);
		break;
	}
	default:
		break;
	}
}

/* Drop one reference that came with a facet (slot or transfer). */
static void
ref_put(struct kobj *o, uint8_t facet)
{
	if (o->type == KO_ENDPOINT)
		endpoint_facet_put(o, facet);
	kobj_unref(o);
}

/* Install o with badge (the caller's reference moves into the slot). */
static int
cap_install(struct proc *p, struct kobj *o, uint8_t facet, uint32_t badge, capid_t *out)
{
	for (uint32_t i = 1; i < CAP_SLOTS; i++) {
		struct cap_slot *s = &p->caps.slot[i];
		if (s->state != SLOT_FREE)
			continue;
		if (s->gen == 0)
			s->gen = 1;
		s->obj = o;
		s->state = SLOT_LIVE;
		s->facet = facet;
		s->badge = badge;
		*out = CAPID_MAKE(i, s->gen);
		return 0;
	}
	return E_NOSPC;
}

/* Install o unbadged (the caller's reference moves into the slot). */
int
cap_insert(struct proc *p, struct kobj *o, uint8_t facet, capid_t *out)
{
	return cap_install(p, o, facet, 0, out);
}

struct cap_slot *
cap_lookup(struct proc *p, capid_t id, int *err)
{
	uint32_t i = CAPID_SLOT(id);
	if (i == 0 || i >= CAP_SLOTS) {
		*err = E_BADF;
		return NULL;
	}
	struct cap_slot *s = &p->caps.slot[i];
	if (s->state == SLOT_FREE || s->gen != CAPID_GEN(id)) {
		*err = E_STALE;
		return NULL;
	}
	if (s->state == SLOT_RESERVED) {
		*err = E_BUSY;
		return NULL;
	}
	return s;
}

static void
slot_free(struct cap_slot *s)
{
	s->obj = NULL;
	s->state = SLOT_FREE;
	s->facet = 0;
	s->badge = 0;
	s->gen = (uint16_t)(s->gen + 1) ? (uint16_t)(s->gen + 1) : 1;
}

int
cap_release(struct proc *p, capid_t id)
{
	int err;
	struct cap_slot *s = cap_lookup(p, id, &err);
	if (!s)
		return err;
	struct kobj *o = s->obj;
	uint8_t facet = s->facet;
	slot_free(s);
	ref_put(o, facet);
	return 0;
}

void
cap_table_destroy(struct proc *p)
{
	for (uint32_t i = 1; i < CAP_SLOTS; i++) {
		struct cap_slot *s = &p->caps.slot[i];
		if (s->state == SLOT_LIVE) {
			struct kobj *o = s->obj;
			uint8_t facet = s->facet;
			slot_free(s);
			ref_put(o, facet);
		} else if (s->state == SLOT_RESERVED) {
			slot_free(s);	/* the in-flight transfer owns that reference */
		}
	}
}

/*
 * Check one transfer's mode word and cap: the slot, or NULL with *err.
 * MINT needs a nonzero badge (E_INVAL) and an endpoint held with the
 * server facet (E_PERM); COPY and MOVE take no badge bits (E_INVAL).
 */
static struct cap_slot *
xfer_check(struct proc *p, const struct ring_xfer *in, int *err)
{
	uint32_t mode = RING_XFER_MODE(in->mode), badge = RING_XFER_BADGE(in->mode);
	struct cap_slot *s;
	bool ok;

	if (mode == RING_XFER_MINT)
		ok = badge != 0;
	else
		ok = (mode == RING_XFER_COPY || mode == RING_XFER_MOVE) && badge == 0;
	if (!ok) {
		*err = E_INVAL;
		return NULL;
	}
	if (!(s = cap_lookup(p, in->cap, err)))
		return NULL;
	if (mode == RING_XFER_MINT && (!(s->facet & FACET_SERVER) || s->obj->type != KO_ENDPOINT)) {
		*err = E_PERM;	/* only the server marks its clients; a badged cap stays as it is */
		return NULL;
	}
	return s;
}

int
xfer_reserve(struct proc *p, const struct ring_xfer *in, uint32_t n, struct xfer *out)
{
	uint32_t i;
	int err = 0;

	for (i = 0; i < n; i++) {
		struct cap_slot *s = xfer_check(p, &in[i], &err);
		if (!s)
			break;
		out[i] = (struct xfer){ .obj = s->obj, .src = p, .slot = (uint16_t)CAPID_SLOT(in[i].cap),
					.mode = (uint8_t)RING_XFER_MODE(in[i].mode), .facet = s->facet,
					.badge = s->badge };
		if (out[i].mode == RING_XFER_MINT) {
			/* a copy of a new CALL facet: the sender keeps its server cap */
			out[i].mode = RING_XFER_COPY;
			out[i].facet = FACET_CALL;
			out[i].badge = RING_XFER_BADGE(in[i].mode);
		}
		if (out[i].mode == RING_XFER_MOVE) {
			s->state = SLOT_RESERVED;
		} else {
			kobj_ref(s->obj);
			if (s->obj->type == KO_ENDPOINT)
				endpoint_facet_get(s->obj, out[i].facet);
		}
	}
	if (i < n) {
		xfer_rollback(out, i);
		return err;
	}
	return 0;
}

void
xfer_rollback(struct xfer *x, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!x[i].obj)
			continue;	/* consumed */
		if (x[i].mode == RING_XFER_MOVE && x[i].src) {
			x[i].src->caps.slot[x[i].slot].state = SLOT_LIVE;
		} else {
			ref_put(x[i].obj, x[i].facet);
		}
		x[i].obj = NULL;
	}
}

int
xfer_commit(struct proc *dst, struct xfer *x, uint32_t n, uint32_t accept, capid_t *ids,
	    uint64_t *iids)
{
	uint32_t free = 0;

	if (n == 0)
		return 0;
	if (n > accept)
		return E_PERM;	/* the receiver refuses: it accepts fewer caps */
	for (uint32_t i = 1; i < CAP_SLOTS; i++)
		if (dst->caps.slot[i].state == SLOT_FREE)
			free++;
	if (free < n)
		return E_NOSPC;
	for (uint32_t i = 0; i < n; i++) {
		cap_install(dst, x[i].obj, x[i].facet, x[i].badge, &ids[i]);
		if (iids)
			iids[i] = x[i].obj->iid;
		if (x[i].mode == RING_XFER_MOVE && x[i].src)
			slot_free(&x[i].src->caps.slot[x[i].slot]);
		x[i].obj = NULL;
	}
	return 0;
}
