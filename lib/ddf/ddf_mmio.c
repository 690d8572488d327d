/*
 * DeviceMmio and Interrupt operations on the ledger.
 *
 * A DeviceMmio cap is one granted window (a "user hold") of a BAR. For a
 * memory BAR it is page aligned, page rounded and wholly inside the BAR, and
 * map() gives the driver a read-only mapping of it. For an I/O BAR (the
 * legacy virtio header) it is exact and never mapped. Writes go through
 * ddf_mmio_write, which the claim's selected-write policy decides register by
 * register and width by width (doorbells, device status, queue select).
 * Registers that carry DMA addresses are written only by the kernel
 * (ddf_mmio_brokered_addr, ddf_mmio_brokered_pfn): the driver names a
 * DMABuffer and an offset, the kernel authors the device-visible address.
 *
 * An Interrupt cap is one route. The interrupt path calls ddf_irq_fire with
 * the route handle it was programmed with; once the route is dropped or reset
 * its generation has moved on, so a late interrupt wakes nobody.
 */
#include "ddf/ddf_int.h"

#include "base/err.h"

static uint32_t
claim_index(const struct ddf_ledger *l, const struct ddf_claim *c)
{
	return (uint32_t)(c - l->t.claims);
}

/* ---- DeviceMmio ---- */

static int
grant_check(struct ddf_ledger *l, const struct ddf_claim *c, uint8_t bar, uint64_t off,
    uint64_t len, uint64_t *rlen, uint32_t *slot)
{
	int err;

	if (bar >= DDF_MAX_BARS || c->fn.bar[bar].kind == DDF_BAR_NONE)
		return E_RANGE;               /* no such BAR: not owned */
	if (c->fn.bar[bar].kind == DDF_BAR_IO) {
		/* a port window: exact bounds, brokered access only */
		if ((err = ddf_desc_check(c->fn.bar[bar].size, off, len)) < 0)
			return err;
		*rlen = len;
	} else if ((err = ddf_window_check(c->fn.bar[bar].size, off, len, rlen)) < 0) {
		return err;
	}
	for (uint32_t i = 0; i < l->t.nwindows; i++) {
		if (l->t.windows[i].state == DDF_WIN_FREE) {
			*slot = i;
			return 0;
		}
	}
	return E_NOSPC;
}

int
ddf_mmio_grant(struct ddf_ledger *l, uint32_t owner, ddf_handle claim, uint8_t bar,
    uint64_t off, uint64_t len, ddf_handle *out)
{
	struct ddf_claim *c;
	struct ddf_window *w;
	uint64_t rlen;
	uint32_t slot;
	int err;

	if ((err = ddf__claim(l, claim, owner, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_MMIO_GRANT, err);
	if ((err = grant_check(l, c, bar, off, len, &rlen, &slot)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_MMIO_GRANT, err);
	w = &l->t.windows[slot];
	w->state = DDF_WIN_GRANTED;
	w->claim = claim_index(l, c);
	w->bar = bar;
	w->offset = off;
	w->length = rlen;
	w->cookie = 0;
	c->windows++;
	*out = ddf_handle_make(DDF_K_WINDOW, slot, w->gen);
	ddf__audit(l, c, owner, DDF_EV_GRANT, w->gen, ((uint64_t)bar << 56) | off);
	return 0;
}

int
ddf_mmio_map(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t *cookie,
    uint32_t *map_gen)
{
	struct ddf_window *w;
	struct ddf_claim *c;
	uint64_t ck = 0;
	int err;

	if ((err = ddf__window(l, win, owner, &w, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_MMIO_MAP, err);
	if (c->fn.bar[w->bar].kind != DDF_BAR_MEM)
		return ddf__reject(l, c, owner, DDF_OP_MMIO_MAP, E_NOTSUP);   /* port window */
	if (w->state == DDF_WIN_MAPPED)
		return ddf__reject(l, c, owner, DDF_OP_MMIO_MAP, E_BUSY);
	if (w->map_gen == UINT32_MAX)
		return ddf__reject(l, c, owner, DDF_OP_MMIO_MAP, E_LIMIT);
	if ((err = l->ops->map(l->ctx, c, w->bar, w->offset, w->length, &ck)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_MMIO_MAP, err);
	w->state = DDF_WIN_MAPPED;
	w->cookie = ck;
	c->mapped++;
	c->mapped_bytes += w->length;
	*cookie = ck;
	*map_gen = w->map_gen;
	ddf__audit(l, c, owner, DDF_EV_MMIO_MAP, w->map_gen, w->length);
	return 0;
}

static void
window_unmap(struct ddf_ledger *l, struct ddf_claim *c, struct ddf_window *w)
{
	l->ops->unmap(l->ctx, c, w->cookie);
	w->state = DDF_WIN_GRANTED;
	c->mapped--;
	c->mapped_bytes -= w->length;
	ddf__audit(l, c, c->owner, DDF_EV_MMIO_UNMAP, w->map_gen, w->offset);
	w->map_gen++;                         /* map refuses a window whose map_gen is exhausted */
}

int
ddf_mmio_unmap(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint32_t map_gen)
{
	struct ddf_window *w;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__window(l, win, owner, &w, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_MMIO_UNMAP, err);
	if (w->state != DDF_WIN_MAPPED)
		return ddf__reject(l, c, owner, DDF_OP_MMIO_UNMAP, E_BADF);
	if ((err = ddf_epoch_check(map_gen, w->map_gen)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_MMIO_UNMAP, err);
	window_unmap(l, c, w);
	return 0;
}

int
ddf_mmio_release(struct ddf_ledger *l, uint32_t owner, ddf_handle win)
{
	struct ddf_window *w;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__window(l, win, owner, &w, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_MMIO_RELEASE, err);
	if (w->state == DDF_WIN_MAPPED)
		window_unmap(l, c, w);
	ddf__bump(&w->map_gen);
	w->state = ddf__bump(&w->gen) ? DDF_WIN_FREE : DDF_WIN_RETIRED;
	c->windows--;
	return 0;
}

int
ddf_mmio_read(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off, uint8_t width,
    uint32_t *value)
{
	struct ddf_window *w;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__window(l, win, owner, &w, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_READ32, err);
	if (width == 8 || (err = ddf_reg_check(w->length, off, width)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_READ32, width == 8 ? E_INVAL : err);
	/* The window was checked against the BAR at grant; the sum cannot pass it. */
	*value = l->ops->reg_read(l->ctx, c, w->bar, w->offset + off, width);
	return 0;
}

int
ddf_mmio_read32(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    uint32_t *value)
{
	return ddf_mmio_read(l, owner, win, off, 4, value);
}

/* The policy rule of `kind` naming (bar, reg) of `width` bytes, or -1. */
static int
find_rule(const struct ddf_claim *c, uint8_t kind, uint8_t bar, uint64_t reg, uint8_t width)
{
	for (uint32_t i = 0; i < c->pol.nrules && i < DDF_MAX_RULES; i++) {
		const struct ddf_rule *r = &c->pol.rules[i];
		if (r->kind == kind && r->bar == bar && r->offset == reg && ddf__rule_width(r) == width)
			return (int)i;
	}
	return -1;
}

int
ddf_mmio_write(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off, uint8_t width,
    uint32_t value)
{
	struct ddf_window *w;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__window(l, win, owner, &w, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_WRITE32, err);
	if (width == 8 || (err = ddf_reg_check(w->length, off, width)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_WRITE32, width == 8 ? E_INVAL : err);
	/* Selected writes: exactly the listed register at exactly its width. */
	if (find_rule(c, DDF_RULE_WRITE32, w->bar, w->offset + off, width) < 0)
		return ddf__reject(l, c, owner, DDF_OP_WRITE32, E_PERM);
	l->ops->reg_write(l->ctx, c, w->bar, w->offset + off, width, value);
	return 0;
}

int
ddf_mmio_write32(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    uint32_t value)
{
	return ddf_mmio_write(l, owner, win, off, 4, value);
}

/* Rule ri of c now points at buffer b: move the ring hold. */
static void
hold_move(struct ddf_ledger *l, struct ddf_claim *c, int ri, struct ddf_buffer *b)
{
	if (c->rule_buf[ri] != 0) {
		struct ddf_buffer *old = &l->t.buffers[c->rule_buf[ri] - 1];
		old->ring_holds--;
		c->ring_holds--;
		ddf__buf_settle(old);
	}
	c->rule_buf[ri] = (uint32_t)(b - l->t.buffers) + 1;
	b->ring_holds++;
	c->ring_holds++;
	ddf__buf_settle(b);
}

/* Decode a brokered-address request: window, rule of `kind` at off, the caller's buffer. */
static int
brokered_check(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    ddf_handle buf, uint8_t kind, struct ddf_window **w, struct ddf_claim **c,
    struct ddf_buffer **b, int *ri)
{
	struct ddf_claim *bc;
	uint8_t width = kind == DDF_RULE_ADDR64 ? 8 : 4;
	int err;

	if ((err = ddf__window(l, win, owner, w, c)) < 0)
		return err;
	if ((err = ddf_reg_check((*w)->length, off, width)) < 0)
		return err;
	if ((*ri = find_rule(*c, kind, (*w)->bar, (*w)->offset + off, width)) < 0)
		return E_PERM;
	if ((err = ddf__buffer(l, buf, owner, b, &bc)) < 0)
		return err;
	if (bc != *c)
		return E_PERM;                        /* another claim's buffer */
	return 0;
}

int
ddf_mmio_brokered_addr(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    ddf_handle buf, uint64_t buf_off)
{
	struct ddf_window *w = NULL;
	struct ddf_claim *c = NULL;
	struct ddf_buffer *b;
	const struct ddf_rule *r;
	int ri, err;

	if ((err = brokered_check(l, owner, win, off, buf, DDF_RULE_ADDR64, &w, &c, &b, &ri)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_BROKERED, err);
	r = &c->pol.rules[ri];
	if ((err = ddf_brokered_check(b->size, buf_off, r->min_bytes, r->align_log2)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_BROKERED, err);
	l->ops->write_dma_addr(l->ctx, c, w->bar, w->offset + off, b->cookie, buf_off);
	/* The register now points at b: b stays device-visible until reset or teardown. */
	hold_move(l, c, ri, b);
	return 0;
}

int
ddf_mmio_brokered_pfn(struct ddf_ledger *l, uint32_t owner, ddf_handle win, uint64_t off,
    ddf_handle buf)
{
	struct ddf_window *w = NULL;
	struct ddf_claim *c = NULL;
	struct ddf_buffer *b;
	int ri, err;

	if ((err = brokered_check(l, owner, win, off, buf, DDF_RULE_PFN32, &w, &c, &b, &ri)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_BROKERED, err);
	/* A PFN names the buffer's first page: the whole ring starts at offset 0. */
	if ((err = ddf_brokered_check(b->size, 0, c->pol.rules[ri].min_bytes, 12)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_BROKERED, err);
	if ((err = l->ops->write_dma_pfn(l->ctx, c, w->bar, w->offset + off, b->cookie)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_BROKERED, err);
	hold_move(l, c, ri, b);
	return 0;
}

/* ---- Interrupt ---- */

static int
route_check(struct ddf_ledger *l, const struct ddf_claim *c, uint8_t kind, uint16_t index,
    uint32_t *slot)
{
	uint32_t ci = claim_index(l, c), free_slot = UINT32_MAX;

	if (kind > DDF_IRQ_INTX || (kind == DDF_IRQ_INTX && index > 3) ||
	    (kind == DDF_IRQ_MSI && index > 31) || index > 2047)
		return E_INVAL;
	for (uint32_t i = 0; i < l->t.nroutes; i++) {
		const struct ddf_route *r = &l->t.routes[i];
		if (r->state == DDF_ROUTE_LIVE && r->claim == ci && r->kind == kind && r->index == index)
			return E_EXIST;
		if (r->state == DDF_ROUTE_FREE && free_slot == UINT32_MAX)
			free_slot = i;
	}
	if (free_slot == UINT32_MAX)
		return E_NOSPC;
	*slot = free_slot;
	return 0;
}

int
ddf_irq_route(struct ddf_ledger *l, uint32_t owner, ddf_handle claim, uint8_t kind,
    uint16_t index, ddf_handle *out)
{
	struct ddf_claim *c;
	struct ddf_route *r;
	uint64_t ck = 0;
	uint32_t slot;
	int err;

	if ((err = ddf__claim(l, claim, owner, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_IRQ_ROUTE, err);
	if ((err = route_check(l, c, kind, index, &slot)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_IRQ_ROUTE, err);
	if ((err = l->ops->route(l->ctx, c, kind, index, &ck)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_IRQ_ROUTE, err);
	r = &l->t.routes[slot];
	r->state = DDF_ROUTE_LIVE;
	r->claim = claim_index(l, c);
	r->kind = kind;
	r->index = index;
	r->masked = 0;
	r->waiting = 0;
	r->eoi_pending = 0;
	r->pending = 0;
	r->cookie = ck;
	c->routes++;
	*out = ddf_handle_make(DDF_K_ROUTE, slot, r->gen);
	ddf__audit(l, c, owner, DDF_EV_IRQ_ROUTE, r->gen, ((uint64_t)kind << 16) | index);
	return 0;
}

int
ddf_irq_fire(struct ddf_ledger *l, ddf_handle route)
{
	struct ddf_route *r;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__route(l, route, DDF__KERNEL, &r, &c)) < 0)
		return ddf__reject(l, NULL, 0, DDF_OP_IRQ_FIRE, err == E_BUSY ? E_STALE : err);
	if (r->pending < UINT32_MAX)
		r->pending++;
	if (r->waiting && !r->masked) {
		r->waiting = 0;
		return 1;
	}
	return 0;
}

int
ddf_irq_wait(struct ddf_ledger *l, uint32_t owner, ddf_handle route)
{
	struct ddf_route *r;
	struct ddf_claim *c;
	uint32_t n;
	int err;

	if ((err = ddf__route(l, route, owner, &r, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_IRQ_WAIT, err);
	/* Deferred EOI: the previous delivery must be acknowledged first. */
	if (r->eoi_pending || r->waiting)
		return ddf__reject(l, c, owner, DDF_OP_IRQ_WAIT, E_BUSY);
	if (r->pending == 0 || r->masked) {
		r->waiting = 1;
		return 0;
	}
	n = r->pending > INT32_MAX ? INT32_MAX : r->pending;
	r->pending = 0;
	r->eoi_pending = 1;
	return (int)n;
}

int
ddf_irq_ack(struct ddf_ledger *l, uint32_t owner, ddf_handle route)
{
	struct ddf_route *r;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__route(l, route, owner, &r, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_IRQ_ACK, err);
	if (!r->eoi_pending)
		return ddf__reject(l, c, owner, DDF_OP_IRQ_ACK, E_INVAL);
	l->ops->eoi(l->ctx, r->cookie);
	r->eoi_pending = 0;
	return 0;
}

int
ddf_irq_mask(struct ddf_ledger *l, uint32_t owner, ddf_handle route, int masked)
{
	struct ddf_route *r;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__route(l, route, owner, &r, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_IRQ_MASK, err);
	l->ops->mask(l->ctx, r->cookie, masked != 0);
	r->masked = masked != 0;
	/* Interrupts counted while masked are delivered now to a blocked waiter. */
	if (!r->masked && r->waiting && r->pending > 0) {
		r->waiting = 0;
		return 1;
	}
	return 0;
}

int
ddf_irq_release(struct ddf_ledger *l, uint32_t owner, ddf_handle route)
{
	struct ddf_route *r;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__route(l, route, owner, &r, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_IRQ_RELEASE, err);
	l->ops->drop_route(l->ctx, c, r->cookie);
	r->pending = r->waiting = r->eoi_pending = 0;
	r->state = ddf__bump(&r->gen) ? DDF_ROUTE_FREE : DDF_ROUTE_RETIRED;
	c->routes--;
	ddf__audit(l, c, owner, DDF_EV_IRQ_DROP, ddf_handle_gen(route), r->index);
	return 0;
}
