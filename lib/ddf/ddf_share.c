/*
 * DmaWindow: shares of a DMA buffer with one other process (ddf.h,
 * docs/device-manager.md "Shared windows").
 *
 * A driver shares a page-aligned range of a buffer it has mapped; the
 * process holding the share's cap maps that range into its own address
 * space (once). The device still sees only the buffer, through descriptors
 * the kernel writes; the holder only gains a CPU view of pages the driver
 * already had. A share lives no longer than its buffer: freeing the buffer
 * (free, release, reset, teardown) frees the share, and a share mapped at
 * that moment is orphaned, its pages left mapped in the holder as the
 * holder's own memory, so a driver's death never faults a client.
 *
 * States: OPEN -map-> MAPPED -unmap / holder gone-> CLOSED; any -buffer
 * freed or cap released-> FREE (generation bumped).
 */
#include "ddf/ddf_int.h"

#include "base/err.h"

/* Decode a share handle: E_BADF malformed, E_STALE freed or old generation. */
static int
share_of(const struct ddf_ledger *l, ddf_handle h, struct ddf_share **s)
{
	uint32_t i = ddf_handle_index(h);

	if (ddf_handle_kind(h) != DDF_K_SHARE || i >= l->t.nshares)
		return E_BADF;
	*s = &l->t.shares[i];
	if (ddf_epoch_check(ddf_handle_gen(h), (*s)->gen) < 0 || (*s)->state == DDF_SHARE_FREE ||
	    (*s)->state == DDF_SHARE_RETIRED)
		return E_STALE;
	return 0;
}

static void
share_drop(struct ddf_claim *c, struct ddf_share *s)
{
	c->shares--;
	s->holder = 0;
	s->cookie = 0;
	s->state = ddf__bump(&s->gen) ? DDF_SHARE_FREE : DDF_SHARE_RETIRED;
}

int
ddf_dma_share(struct ddf_ledger *l, uint32_t owner, ddf_handle buf, uint64_t off, uint64_t len,
    ddf_handle *out)
{
	struct ddf_buffer *b;
	struct ddf_claim *c;
	uint32_t slot = UINT32_MAX;
	int err;

	if ((err = ddf__buffer(l, buf, owner, &b, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_SHARE, err);
	if (!b->user_mapped)
		err = E_PERM;                 /* only what the owner itself sees */
	else if (len == 0 || off % DDF_PAGE_SIZE || len % DDF_PAGE_SIZE)
		err = E_INVAL;
	else if (off > b->size || len > b->size - off)
		err = E_RANGE;
	if (err < 0)
		return ddf__reject(l, c, owner, DDF_OP_SHARE, err);
	for (uint32_t i = 0; i < l->t.nshares && slot == UINT32_MAX; i++)
		if (l->t.shares[i].state == DDF_SHARE_FREE)
			slot = i;
	if (slot == UINT32_MAX)
		return ddf__reject(l, c, owner, DDF_OP_SHARE, E_NOSPC);
	struct ddf_share *s = &l->t.shares[slot];
	s->state = DDF_SHARE_OPEN;
	s->claim = (uint32_t)(c - l->t.claims);
	s->buf = (uint32_t)(b - l->t.buffers);
	s->offset = off;
	s->length = len;
	s->holder = 0;
	s->cookie = 0;
	c->shares++;
	*out = ddf_handle_make(DDF_K_SHARE, slot, s->gen);
	return 0;
}

int
ddf_share_map(struct ddf_ledger *l, uint32_t holder, ddf_handle share, uint64_t *cookie)
{
	struct ddf_share *s;
	struct ddf_claim *c;
	uint64_t ck = 0;
	int err;

	if ((err = share_of(l, share, &s)) < 0)
		return ddf__reject(l, NULL, holder, DDF_OP_SHARE_MAP, err);
	c = &l->t.claims[s->claim];
	if (holder == 0)
		err = E_PERM;
	else if (c->state != DDF_CLAIM_ACTIVE)
		err = E_BUSY;
	else if (s->state == DDF_SHARE_MAPPED)
		err = E_BUSY;                 /* one holder at a time */
	else if (s->state == DDF_SHARE_CLOSED)
		err = E_STALE;                /* mapped once already */
	else
		err = l->ops->share_map(l->ctx, c, l->t.buffers[s->buf].cookie, s->offset, s->length,
		    holder, &ck);
	if (err < 0)
		return ddf__reject(l, c, holder, DDF_OP_SHARE_MAP, err);
	s->state = DDF_SHARE_MAPPED;
	s->holder = holder;
	s->cookie = ck;
	c->share_mapped++;
	*cookie = ck;
	ddf__audit(l, c, holder, DDF_EV_SHARE_MAP, s->gen, holder);
	return 0;
}

static void
share_unmap(struct ddf_ledger *l, struct ddf_claim *c, struct ddf_share *s)
{
	l->ops->share_unmap(l->ctx, s->cookie);
	s->cookie = 0;
	s->holder = 0;
	s->state = DDF_SHARE_CLOSED;
	c->share_mapped--;
}

int
ddf_share_unmap(struct ddf_ledger *l, uint32_t holder, ddf_handle share)
{
	struct ddf_share *s;
	int err;

	if ((err = share_of(l, share, &s)) < 0)
		return ddf__reject(l, NULL, holder, DDF_OP_SHARE_UNMAP, err);
	struct ddf_claim *c = &l->t.claims[s->claim];
	if (s->state != DDF_SHARE_MAPPED)
		return ddf__reject(l, c, holder, DDF_OP_SHARE_UNMAP, E_INVAL);
	if (s->holder != holder)
		return ddf__reject(l, c, holder, DDF_OP_SHARE_UNMAP, E_PERM);
	share_unmap(l, c, s);
	return 0;
}

int
ddf_share_release(struct ddf_ledger *l, ddf_handle share)
{
	struct ddf_share *s;
	int err;

	if ((err = share_of(l, share, &s)) < 0)
		return err;
	struct ddf_claim *c = &l->t.claims[s->claim];
	if (s->state == DDF_SHARE_MAPPED)
		share_unmap(l, c, s);
	share_drop(c, s);
	return 0;
}

const struct ddf_share *
ddf_share_get(const struct ddf_ledger *l, ddf_handle share)
{
	struct ddf_share *s;

	return share_of(l, share, &s) < 0 ? NULL : s;
}

void
ddf__shares_buffer_gone(struct ddf_ledger *l, struct ddf_claim *c, uint32_t buf)
{
	for (uint32_t i = 0; i < l->t.nshares; i++) {
		struct ddf_share *s = &l->t.shares[i];
		if (s->buf != buf || s->state == DDF_SHARE_FREE || s->state == DDF_SHARE_RETIRED)
			continue;
		if (s->state == DDF_SHARE_MAPPED) {
			l->ops->share_orphan(l->ctx, s->cookie);
			c->share_mapped--;
			ddf__audit(l, c, s->holder, DDF_EV_SHARE_ORPHAN, s->gen, s->length);
		}
		share_drop(c, s);
	}
}

void
ddf__shares_holder_gone(struct ddf_ledger *l, uint32_t holder)
{
	for (uint32_t i = 0; i < l->t.nshares; i++) {
		struct ddf_share *s = &l->t.shares[i];
		if (s->state == DDF_SHARE_MAPPED && s->holder == holder)
			share_unmap(l, &l->t.claims[s->claim], s);
	}
}
