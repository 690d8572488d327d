/*
 * DMAPool and DMABuffer operations on the ledger.
 *
 * A claim's pool is a byte budget; a buffer is a page-rounded run of
 * kernel-owned bounce pages (the kernel's cookie, never an address), zeroed
 * at allocation by ops->dma_alloc. A submission names (buffer, offset,
 * length) and a queue slot; the ledger checks the descriptor lies inside the
 * buffer, then ops->publish writes the device-visible descriptor. The
 * device's completion (ddf_dma_device_done) and the driver's collection of
 * it (ddf_dma_complete) are separate steps, each generation checked: after a
 * reset a late completion finds its token stale and changes nothing.
 *
 * Buffer states (docs/device-manager.md):
 *   FREE -alloc-> ALLOCATED -submit/ring hold-> INFLIGHT -device done->
 *   COMPLETING -collect-> ALLOCATED -free-> SCRUBBING -scrubbed-> FREE
 * INFLIGHT and COMPLETING follow from the counters (ddf__buf_settle).
 */
#include "ddf/ddf_int.h"

#include "base/err.h"

int
ddf_dma_alloc(struct ddf_ledger *l, uint32_t owner, ddf_handle claim, uint64_t size,
    uint8_t direction, ddf_handle *out)
{
	struct ddf_claim *c;
	struct ddf_buffer *b;
	uint64_t rsize, ck = 0;
	uint32_t slot = UINT32_MAX;
	int err;

	if ((err = ddf__claim(l, claim, owner, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_DMA_ALLOC, err);
	if (c->pol.dma_budget == 0)
		err = E_PERM;                         /* no DMAPool granted */
	else if (direction > 2)
		err = E_INVAL;
	else if ((err = ddf_page_round(size, &rsize)) < 0)
		;
	else if (rsize > c->pol.dma_budget - c->dma_used)
		err = E_LIMIT;                        /* over budget: fail closed */
	if (err < 0)
		return ddf__reject(l, c, owner, DDF_OP_DMA_ALLOC, err);
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		if (l->t.buffers[i].state == DDF_BUF_FREE && l->t.buffers[i].map_gen < UINT32_MAX) {
			slot = i;
			break;
		}
	}
	if (slot == UINT32_MAX)
		return ddf__reject(l, c, owner, DDF_OP_DMA_ALLOC, E_NOSPC);
	if ((err = l->ops->dma_alloc(l->ctx, c, rsize, &ck)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_DMA_ALLOC, err);
	b = &l->t.buffers[slot];
	b->state = DDF_BUF_ALLOCATED;
	b->claim = (uint32_t)(c - l->t.claims);
	b->direction = direction;
	b->user_mapped = 0;
	b->size = rsize;
	b->submitted = b->done = b->ring_holds = 0;
	b->cookie = ck;
	b->map_cookie = 0;
	c->buffers++;
	c->dma_used += rsize;
	*out = ddf_handle_make(DDF_K_BUFFER, slot, b->gen);
	ddf__audit(l, c, owner, DDF_EV_DMA_ALLOC, b->gen, rsize);
	return 0;
}

int
ddf_dma_map(struct ddf_ledger *l, uint32_t owner, ddf_handle buf, uint64_t *map_cookie,
    uint32_t *map_gen)
{
	struct ddf_buffer *b;
	struct ddf_claim *c;
	uint64_t ck = 0;
	int err;

	if ((err = ddf__buffer(l, buf, owner, &b, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_DMA_MAP, err);
	if (b->user_mapped)
		return ddf__reject(l, c, owner, DDF_OP_DMA_MAP, E_BUSY);
	if ((err = l->ops->dma_map(l->ctx, c, b->cookie, b->size, &ck)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_DMA_MAP, err);
	b->user_mapped = 1;
	b->map_cookie = ck;
	c->buf_mapped++;
	*map_cookie = ck;
	*map_gen = b->map_gen;
	return 0;
}

/* Unmap, scrub, free, bump: the buffer is ALLOCATED (nothing device-visible). */
static void
buffer_free(struct ddf_ledger *l, struct ddf_claim *c, struct ddf_buffer *b)
{
	if (b->user_mapped) {
		l->ops->dma_unmap(l->ctx, c, b->map_cookie);
		b->user_mapped = 0;
		c->buf_mapped--;
	}
	ddf__shares_buffer_gone(l, c, (uint32_t)(b - l->t.buffers));
	b->state = DDF_BUF_SCRUBBING;
	l->ops->scrub_free(l->ctx, c, b->cookie, b->size);
	c->dma_used -= b->size;
	c->buffers--;
	ddf__audit(l, c, c->owner, DDF_EV_DMA_FREE, b->gen, b->size);
	b->map_gen++;                         /* alloc skips slots whose map_gen is exhausted */
	b->state = ddf__bump(&b->gen) ? DDF_BUF_FREE : DDF_BUF_RETIRED;
}

int
ddf_dma_free(struct ddf_ledger *l, uint32_t owner, ddf_handle buf)
{
	struct ddf_buffer *b;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__buffer(l, buf, owner, &b, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_DMA_FREE, err);
	if (b->state != DDF_BUF_ALLOCATED)
		return ddf__reject(l, c, owner, DDF_OP_DMA_FREE, E_BUSY);  /* quiesce first */
	buffer_free(l, c, b);
	return 0;
}

int
ddf_dma_release(struct ddf_ledger *l, uint32_t owner, ddf_handle buf)
{
	struct ddf_buffer *b;
	struct ddf_claim *c;
	int err;

	if ((err = ddf__buffer(l, buf, owner, &b, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_DMA_FREE, err);
	if (b->state == DDF_BUF_ALLOCATED) {
		buffer_free(l, c, b);
		return 0;
	}
	/*
	 * The device may still write into b. Only stopping bus mastering makes
	 * its pages safe to reuse, so releasing it resets the whole function.
	 */
	ddf__teardown(l, (uint32_t)(c - l->t.claims), DDF_TD_RESET);
	return 0;
}

static int
submit_check(struct ddf_ledger *l, const struct ddf_claim *c, const struct ddf_buffer *b,
    uint16_t queue, uint16_t slot, uint64_t off, uint32_t len, uint32_t *si)
{
	uint32_t ci = (uint32_t)(c - l->t.claims), free_slot = UINT32_MAX;
	int err;

	if (queue >= DDF_MAX_QUEUES || c->qdepth[queue] == 0 || slot >= c->qdepth[queue])
		return E_RANGE;
	if ((err = ddf_desc_check(b->size, off, len)) < 0)
		return err;
	if (c->inflight + c->completed >= c->pol.max_inflight)
		return E_LIMIT;                       /* ring depth budget */
	/* Only the subs below the high-water mark were ever used; the lowest
	 * free one is taken, so the scan stays as short as the most ever in
	 * flight at once, not the table. */
	for (uint32_t i = 0; i < l->sub_hwm; i++) {
		const struct ddf_sub *s = &l->t.subs[i];
		if ((s->state == DDF_SUB_SUBMITTED || s->state == DDF_SUB_DONE) && s->claim == ci &&
		    s->queue == queue && s->slot == slot)
			return E_BUSY;                /* the slot still holds a descriptor */
		if (s->state == DDF_SUB_FREE && free_slot == UINT32_MAX)
			free_slot = i;
	}
	if (free_slot == UINT32_MAX && l->sub_hwm < l->t.nsubs)
		free_slot = l->sub_hwm;
	if (free_slot == UINT32_MAX)
		return E_NOSPC;
	*si = free_slot;
	return 0;
}

/* The unpublished (deferred) member of claim ci at (queue, slot), or NULL. */
static struct ddf_sub *
deferred_at(struct ddf_ledger *l, uint32_t ci, uint16_t queue, uint16_t slot)
{
	for (uint32_t i = 0; i < l->sub_hwm; i++) {
		struct ddf_sub *s = &l->t.subs[i];
		if (s->state == DDF_SUB_SUBMITTED && s->deferred && s->claim == ci &&
		    s->queue == queue && s->slot == slot)
			return s;
	}
	return NULL;
}

/*
 * A head's chain: every link names a deferred member of the same claim and
 * queue; at most the queue depth of descriptors in all, which also ends a
 * cycle among deferred members (the head's own slot is free, so it cannot
 * be linked to).
 */
static int
chain_check(struct ddf_ledger *l, const struct ddf_claim *c, const struct ddf_desc *d)
{
	uint32_t ci = (uint32_t)(c - l->t.claims), n = 1;
	uint16_t flags = d->flags, next = d->next;

	while (flags & DDF_DESC_F_NEXT) {
		const struct ddf_sub *m = deferred_at(l, ci, d->queue, next);
		if (!m || ++n > c->qdepth[d->queue])
			return E_INVAL;
		flags = m->flags;
		next = m->next;
	}
	return 0;
}

/* Publish the chain behind head h (already checked): members become part of it. */
static void
chain_link(struct ddf_ledger *l, uint32_t ci, struct ddf_sub *h)
{
	struct ddf_sub *prev = h;

	while (prev->flags & DDF_DESC_F_NEXT) {
		struct ddf_sub *m = deferred_at(l, ci, h->queue, prev->next);
		m->deferred = 0;
		m->member = 1;
		prev->link = (uint32_t)(m - l->t.subs) + 1;
		prev = m;
	}
}

static int
desc_check(struct ddf_ledger *l, const struct ddf_claim *c, const struct ddf_desc *d)
{
	if (d->flags & ~(DDF_DESC_F_NEXT | DDF_DESC_F_WRITE))
		return E_INVAL;               /* INDIRECT: a table of driver-written addresses */
	if (d->flags & DDF_DESC_F_NEXT) {
		if (d->queue >= DDF_MAX_QUEUES || d->next >= c->qdepth[d->queue] || d->next == d->slot)
			return E_RANGE;
	} else if (d->next != 0) {
		return E_INVAL;
	}
	return d->deferred ? 0 : chain_check(l, c, d);
}

int
ddf_dma_submit_desc(struct ddf_ledger *l, uint32_t owner, ddf_handle buf,
    const struct ddf_desc *d, ddf_handle *token)
{
	struct ddf_buffer *b;
	struct ddf_claim *c;
	struct ddf_sub *s;
	uint32_t si;
	int err;

	if ((err = ddf__buffer(l, buf, owner, &b, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_DMA_SUBMIT, err);
	if ((err = submit_check(l, c, b, d->queue, d->slot, d->off, d->len, &si)) < 0 ||
	    (err = desc_check(l, c, d)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_DMA_SUBMIT, err);
	/* Members were written into the table first; the head makes the chain available. */
	l->ops->publish(l->ctx, c, d->queue, d->slot, b->cookie, d->off, d->len, d->flags,
	    d->next, d->deferred);
	s = &l->t.subs[si];
	if (si >= l->sub_hwm)
		l->sub_hwm = si + 1;
	s->state = DDF_SUB_SUBMITTED;
	s->claim = (uint32_t)(c - l->t.claims);
	s->buf = (uint32_t)(b - l->t.buffers);
	s->queue = d->queue;
	s->slot = d->slot;
	s->offset = d->off;
	s->length = d->len;
	s->bytes = 0;
	s->flags = d->flags;
	s->next = d->next;
	s->deferred = d->deferred != 0;
	s->member = 0;
	s->link = 0;
	if (!s->deferred)
		chain_link(l, s->claim, s);
	b->submitted++;
	c->inflight++;
	ddf__buf_settle(b);
	*token = ddf_handle_make(DDF_K_TOKEN, si, s->gen);
	ddf__audit(l, c, owner, DDF_EV_SUBMIT, s->gen, ((uint64_t)d->queue << 16) | d->slot);
	return 0;
}

int
ddf_dma_submit(struct ddf_ledger *l, uint32_t owner, ddf_handle buf, uint16_t queue,
    uint16_t slot, uint64_t off, uint32_t len, uint16_t flags, ddf_handle *token)
{
	const struct ddf_desc d = { queue, slot, off, len, flags, 0, 0 };

	return ddf_dma_submit_desc(l, owner, buf, &d, token);
}

/* Decode a token; E_STALE unless it names a live submission of a live claim. */
static int
token_of(struct ddf_ledger *l, ddf_handle token, struct ddf_sub **out, struct ddf_claim **c)
{
	uint32_t i = ddf_handle_index(token);
	struct ddf_sub *s;

	if (ddf_handle_kind(token) != DDF_K_TOKEN || i >= l->t.nsubs)
		return E_BADF;
	s = &l->t.subs[i];
	if (ddf_epoch_check(ddf_handle_gen(token), s->gen) < 0 ||
	    (s->state != DDF_SUB_SUBMITTED && s->state != DDF_SUB_DONE))
		return E_STALE;
	if (s->claim >= l->t.nclaims || l->t.claims[s->claim].state != DDF_CLAIM_ACTIVE)
		return E_STALE;
	*out = s;
	*c = &l->t.claims[s->claim];
	return 0;
}

/* One descriptor of a finished chain: SUBMITTED -> DONE with `bytes` credited. */
static void
sub_done(struct ddf_ledger *l, struct ddf_claim *c, struct ddf_sub *s, uint32_t bytes)
{
	struct ddf_buffer *b = &l->t.buffers[s->buf];

	s->state = DDF_SUB_DONE;
	s->bytes = bytes;
	b->submitted--;
	b->done++;
	c->inflight--;
	c->completed++;
	ddf__buf_settle(b);
}

int
ddf_dma_device_done(struct ddf_ledger *l, ddf_handle token, uint32_t bytes)
{
	struct ddf_sub *s;
	struct ddf_claim *c;
	uint32_t total;
	int err;

	if ((err = token_of(l, token, &s, &c)) < 0)
		return ddf__reject(l, NULL, 0, DDF_OP_DMA_DONE, err);
	if (s->state != DDF_SUB_SUBMITTED || s->deferred || s->member)
		return ddf__reject(l, c, 0, DDF_OP_DMA_DONE, E_STALE);   /* twice, or not a head */
	/* A device claiming more than the descriptors allowed is not believed. */
	if (!s->link) {
		sub_done(l, c, s, bytes > s->length ? s->length : bytes);
	} else {
		for (struct ddf_sub *m = s; m; m = m->link ? &l->t.subs[m->link - 1] : NULL) {
			uint32_t give = 0;
			if (m->flags & DDF_DESC_F_WRITE) {
				give = bytes > m->length ? m->length : bytes;
				bytes -= give;
			}
			sub_done(l, c, m, give);
		}
	}
	total = 0;
	for (struct ddf_sub *m = s; m; m = m->link ? &l->t.subs[m->link - 1] : NULL)
		total += m->bytes;
	ddf__audit(l, c, c->owner, DDF_EV_COMPLETE, s->gen, total);
	return 0;
}

/* Free a collected (or retracted) descriptor's token and settle its buffer. */
static uint32_t
sub_collect(struct ddf_ledger *l, struct ddf_claim *c, struct ddf_sub *s)
{
	struct ddf_buffer *b = &l->t.buffers[s->buf];
	uint32_t bytes = s->bytes;

	if (s->state == DDF_SUB_DONE) {
		b->done--;
		c->completed--;
	} else {
		b->submitted--;                       /* a retracted deferred member */
		c->inflight--;
	}
	s->buf = UINT32_MAX;
	s->deferred = s->member = 0;
	s->link = 0;
	s->state = ddf__bump(&s->gen) ? DDF_SUB_FREE : DDF_SUB_RETIRED;
	ddf__buf_settle(b);
	return bytes;
}

int
ddf_dma_complete(struct ddf_ledger *l, uint32_t owner, ddf_handle buf, ddf_handle token,
    uint32_t *bytes)
{
	struct ddf_buffer *b;
	struct ddf_claim *c, *tc;
	struct ddf_sub *s;
	uint32_t total = 0;
	int err;

	if ((err = ddf__buffer(l, buf, owner, &b, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_DMA_COMPLETE, err);
	if ((err = token_of(l, token, &s, &tc)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_DMA_COMPLETE, err);
	if (tc != c || s->buf != (uint32_t)(b - l->t.buffers))
		return ddf__reject(l, c, owner, DDF_OP_DMA_COMPLETE, E_PERM);
	if (s->member)
		return ddf__reject(l, c, owner, DDF_OP_DMA_COMPLETE, E_INVAL);  /* via its head */
	if (s->state == DDF_SUB_SUBMITTED && !s->deferred)
		return E_AGAIN;                       /* pending: not a refusal */
	/* A deferred member was never made available: retracting it is safe. */
	while (s) {
		struct ddf_sub *next = s->link ? &l->t.subs[s->link - 1] : NULL;
		total += sub_collect(l, c, s);
		s = next;
	}
	*bytes = total;
	return 0;
}
