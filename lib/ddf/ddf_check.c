/*
 * ddf_check_invariants: recount every per-claim aggregate from the object
 * tables and compare. Used by the host tests and the fuzzer after each step;
 * the kernel may run it in a debug self-test, so it uses no static or large
 * stack memory: it rescans the tables per claim and per buffer, O(claims x
 * objects + buffers x submissions). It also checks that each buffer is in
 * exactly the state its counters imply (no buffer is both idle and
 * device-visible) and that objects only hang off live claims.
 */
#include "ddf/ddf_int.h"

#include "base/err.h"
#include "base/mem.h"

struct agg {
	uint32_t windows, mapped, routes, buffers, buf_mapped, inflight, completed, ring_holds;
	uint32_t shares, share_mapped;
	uint64_t mapped_bytes, dma_used;
};

static int
claim_live(const struct ddf_ledger *l, uint32_t ci)
{
	return ci < l->t.nclaims && l->t.claims[ci].state == DDF_CLAIM_ACTIVE;
}

static int
buf_live(const struct ddf_buffer *b)
{
	return b->state != DDF_BUF_FREE && b->state != DDF_BUF_RETIRED;
}

/*
 * A live descriptor's chain fields: deferred only while submitted and never
 * a member; a link names a live member of the same claim, queue and state,
 * at the slot this descriptor's `next` says.
 */
static int
check_chain(const struct ddf_ledger *l, const struct ddf_sub *s)
{
	if (s->deferred && (s->state != DDF_SUB_SUBMITTED || s->member || s->link))
		return E_CORRUPT;
	if (!s->link)
		return 0;
	if (s->link > l->t.nsubs || !(s->flags & DDF_DESC_F_NEXT))
		return E_CORRUPT;
	const struct ddf_sub *m = &l->t.subs[s->link - 1];
	if (m == s || !m->member || m->state != s->state || m->claim != s->claim ||
	    m->queue != s->queue || m->slot != s->next)
		return E_CORRUPT;
	return 0;
}

/* Local invariants of each live object, independent of the aggregates. */
static int
check_objects(const struct ddf_ledger *l)
{
	int err;

	for (uint32_t i = 0; i < l->t.nwindows; i++) {
		const struct ddf_window *w = &l->t.windows[i];
		if (w->state != DDF_WIN_GRANTED && w->state != DDF_WIN_MAPPED)
			continue;
		if (!claim_live(l, w->claim) || w->length == 0 || w->bar >= DDF_MAX_BARS)
			return E_CORRUPT;
		const struct ddf_bar *bar = &l->t.claims[w->claim].fn.bar[w->bar];
		if (w->offset > bar->size || w->length > bar->size - w->offset)
			return E_CORRUPT;
		if (bar->kind == DDF_BAR_MEM && (w->length % DDF_PAGE_SIZE || w->offset % DDF_PAGE_SIZE))
			return E_CORRUPT;
		if (bar->kind != DDF_BAR_MEM && (bar->kind != DDF_BAR_IO || w->state == DDF_WIN_MAPPED))
			return E_CORRUPT;     /* port windows are never mapped */
	}
	for (uint32_t i = 0; i < l->t.nroutes; i++) {
		const struct ddf_route *r = &l->t.routes[i];
		if (r->state == DDF_ROUTE_LIVE && (!claim_live(l, r->claim) || (r->waiting && r->eoi_pending)))
			return E_CORRUPT;
	}
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		struct ddf_buffer b = l->t.buffers[i];
		if (!buf_live(&b))
			continue;
		/* SCRUBBING exists only inside free/teardown, never between calls */
		if (b.state == DDF_BUF_SCRUBBING || !claim_live(l, b.claim) || b.size == 0 ||
		    b.size % DDF_PAGE_SIZE)
			return E_CORRUPT;
		uint8_t st = b.state;
		ddf__buf_settle(&b);
		if (b.state != st)
			return E_CORRUPT;
		uint32_t sub = 0, done = 0;
		for (uint32_t j = 0; j < l->t.nsubs; j++) {
			const struct ddf_sub *s = &l->t.subs[j];
			if (s->buf != i)
				continue;
			sub += s->state == DDF_SUB_SUBMITTED;
			done += s->state == DDF_SUB_DONE;
		}
		if (sub != b.submitted || done != b.done)
			return E_CORRUPT;
	}
	for (uint32_t i = 0; i < l->t.nshares; i++) {
		const struct ddf_share *s = &l->t.shares[i];
		if (s->state == DDF_SHARE_FREE || s->state == DDF_SHARE_RETIRED)
			continue;
		if (s->state > DDF_SHARE_RETIRED || !claim_live(l, s->claim) || s->buf >= l->t.nbuffers)
			return E_CORRUPT;
		const struct ddf_buffer *b = &l->t.buffers[s->buf];
		/* a share never outlives its buffer, nor reaches past it */
		if (!buf_live(b) || b->claim != s->claim || s->length == 0 || s->offset > b->size ||
		    s->length > b->size - s->offset || s->offset % DDF_PAGE_SIZE ||
		    s->length % DDF_PAGE_SIZE)
			return E_CORRUPT;
		if ((s->state == DDF_SHARE_MAPPED) != (s->holder != 0))
			return E_CORRUPT;
	}
	if (l->sub_hwm > l->t.nsubs)
		return E_CORRUPT;
	for (uint32_t i = 0; i < l->t.nsubs; i++) {
		const struct ddf_sub *s = &l->t.subs[i];
		if (i >= l->sub_hwm && s->state != DDF_SUB_FREE)
			return E_CORRUPT;     /* the submit scans stop at the high-water mark */
		if (s->state != DDF_SUB_SUBMITTED && s->state != DDF_SUB_DONE)
			continue;
		if (!claim_live(l, s->claim) || s->buf >= l->t.nbuffers)
			return E_CORRUPT;
		const struct ddf_buffer *b = &l->t.buffers[s->buf];
		if (!buf_live(b) || b->claim != s->claim ||
		    ddf_desc_check(b->size, s->offset, s->length) < 0 || s->bytes > s->length)
			return E_CORRUPT;
		if ((err = check_chain(l, s)) < 0)
			return err;
	}
	return 0;
}

static void
recount(const struct ddf_ledger *l, uint32_t ci, struct agg *a)
{
	memset(a, 0, sizeof *a);
	for (uint32_t i = 0; i < l->t.nwindows; i++) {
		const struct ddf_window *w = &l->t.windows[i];
		if (w->claim != ci || (w->state != DDF_WIN_GRANTED && w->state != DDF_WIN_MAPPED))
			continue;
		a->windows++;
		if (w->state == DDF_WIN_MAPPED) {
			a->mapped++;
			a->mapped_bytes += w->length;
		}
	}
	for (uint32_t i = 0; i < l->t.nroutes; i++)
		a->routes += l->t.routes[i].claim == ci && l->t.routes[i].state == DDF_ROUTE_LIVE;
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		const struct ddf_buffer *b = &l->t.buffers[i];
		if (b->claim != ci || !buf_live(b))
			continue;
		a->buffers++;
		a->buf_mapped += b->user_mapped;
		a->dma_used += b->size;
		a->ring_holds += b->ring_holds;
	}
	for (uint32_t i = 0; i < l->t.nshares; i++) {
		const struct ddf_share *s = &l->t.shares[i];
		if (s->claim != ci || s->state == DDF_SHARE_FREE || s->state == DDF_SHARE_RETIRED)
			continue;
		a->shares++;
		a->share_mapped += s->state == DDF_SHARE_MAPPED;
	}
	for (uint32_t i = 0; i < l->t.nsubs; i++) {
		const struct ddf_sub *s = &l->t.subs[i];
		if (s->claim != ci)
			continue;
		a->inflight += s->state == DDF_SUB_SUBMITTED;
		a->completed += s->state == DDF_SUB_DONE;
	}
}

int
ddf_check_invariants(const struct ddf_ledger *l)
{
	struct agg a;
	int err;

	if ((err = check_objects(l)) < 0)
		return err;
	for (uint32_t i = 0; i < l->t.nclaims; i++) {
		const struct ddf_claim *c = &l->t.claims[i];
		if (c->state == DDF_CLAIM_TEARDOWN)
			return E_CORRUPT;     /* never visible between calls */
		if (c->state != DDF_CLAIM_ACTIVE) {
			if (c->windows || c->mapped || c->routes || c->buffers || c->buf_mapped ||
			    c->inflight || c->completed || c->ring_holds || c->mapped_bytes || c->dma_used ||
			    c->shares || c->share_mapped)
				return E_CORRUPT;
			continue;
		}
		recount(l, i, &a);
		if (c->windows != a.windows || c->mapped != a.mapped || c->routes != a.routes ||
		    c->buffers != a.buffers || c->buf_mapped != a.buf_mapped ||
		    c->inflight != a.inflight || c->completed != a.completed ||
		    c->ring_holds != a.ring_holds || c->mapped_bytes != a.mapped_bytes ||
		    c->dma_used != a.dma_used || c->shares != a.shares ||
		    c->share_mapped != a.share_mapped)
			return E_CORRUPT;
		if (c->dma_used > c->pol.dma_budget ||
		    (uint64_t)c->inflight + c->completed > c->pol.max_inflight)
			return E_CORRUPT;
		for (uint32_t j = i + 1; j < l->t.nclaims; j++)
			if (l->t.claims[j].state == DDF_CLAIM_ACTIVE &&
			    ddf_pci_addr_eq(&l->t.claims[j].fn.addr, &c->fn.addr))
				return E_CORRUPT;   /* one claim per function */
	}
	return 0;
}
