/*
 * ddf_check_invariants: recount every per-claim aggregate from the object
 * tables and compare. Used by the host tests and the fuzzer after each step;
 * the kernel may run it in a debug self-test. It also checks that each
 * buffer is in exactly the state its counters imply (no buffer is both idle
 * and device-visible) and that objects only hang off live claims.
 */
#include "ddf/ddf_int.h"

#include "base/err.h"
#include "base/mem.h"

static int
claim_live(const struct ddf_ledger *l, uint32_t ci)
{
	return ci < l->t.nclaims && l->t.claims[ci].state == DDF_CLAIM_ACTIVE;
}

static int
count_windows(const struct ddf_ledger *l, struct ddf_claim *acc)
{
	for (uint32_t i = 0; i < l->t.nwindows; i++) {
		const struct ddf_window *w = &l->t.windows[i];
		if (w->state != DDF_WIN_GRANTED && w->state != DDF_WIN_MAPPED)
			continue;
		if (!claim_live(l, w->claim) || w->length == 0 || w->bar >= DDF_MAX_BARS)
			return E_CORRUPT;
		const struct ddf_claim *c = &l->t.claims[w->claim];
		const struct ddf_bar *bar = &c->fn.bar[w->bar];
		if (w->offset > bar->size || w->length > bar->size - w->offset)
			return E_CORRUPT;
		if (bar->kind == DDF_BAR_MEM && (w->length % DDF_PAGE_SIZE || w->offset % DDF_PAGE_SIZE))
			return E_CORRUPT;
		if (bar->kind != DDF_BAR_MEM && (bar->kind != DDF_BAR_IO || w->state == DDF_WIN_MAPPED))
			return E_CORRUPT;     /* port windows are never mapped */
		acc[w->claim].windows++;
		if (w->state == DDF_WIN_MAPPED) {
			acc[w->claim].mapped++;
			acc[w->claim].mapped_bytes += w->length;
		}
	}
	return 0;
}

static int
count_routes(const struct ddf_ledger *l, struct ddf_claim *acc)
{
	for (uint32_t i = 0; i < l->t.nroutes; i++) {
		const struct ddf_route *r = &l->t.routes[i];
		if (r->state != DDF_ROUTE_LIVE)
			continue;
		if (!claim_live(l, r->claim) || (r->waiting && r->eoi_pending))
			return E_CORRUPT;
		acc[r->claim].routes++;
	}
	return 0;
}

static int
count_buffers(const struct ddf_ledger *l, struct ddf_claim *acc)
{
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		struct ddf_buffer b = l->t.buffers[i];
		if (b.state == DDF_BUF_FREE || b.state == DDF_BUF_RETIRED)
			continue;
		/* SCRUBBING exists only inside free/teardown, never between calls */
		if (b.state == DDF_BUF_SCRUBBING || !claim_live(l, b.claim) || b.size == 0 ||
		    b.size % DDF_PAGE_SIZE)
			return E_CORRUPT;
		uint8_t st = b.state;
		ddf__buf_settle(&b);
		if (b.state != st)
			return E_CORRUPT;
		acc[b.claim].buffers++;
		acc[b.claim].buf_mapped += b.user_mapped;
		acc[b.claim].dma_used += b.size;
		acc[b.claim].ring_holds += b.ring_holds;
	}
	return 0;
}

static int
count_subs(const struct ddf_ledger *l, struct ddf_claim *acc, uint32_t *per_buf_sub,
    uint32_t *per_buf_done)
{
	for (uint32_t i = 0; i < l->t.nsubs; i++) {
		const struct ddf_sub *s = &l->t.subs[i];
		if (s->state != DDF_SUB_SUBMITTED && s->state != DDF_SUB_DONE)
			continue;
		if (!claim_live(l, s->claim) || s->buf >= l->t.nbuffers)
			return E_CORRUPT;
		const struct ddf_buffer *b = &l->t.buffers[s->buf];
		if (b->claim != s->claim || ddf_desc_check(b->size, s->offset, s->length) < 0 ||
		    s->bytes > s->length)
			return E_CORRUPT;
		if (s->state == DDF_SUB_SUBMITTED) {
			acc[s->claim].inflight++;
			per_buf_sub[s->buf]++;
		} else {
			acc[s->claim].completed++;
			per_buf_done[s->buf]++;
		}
	}
	return 0;
}

#define CHECK_MAX 256   /* tables larger than this are checked only for claims */

int
ddf_check_invariants(const struct ddf_ledger *l)
{
	static struct ddf_claim acc[CHECK_MAX];
	static uint32_t psub[CHECK_MAX], pdone[CHECK_MAX];
	int err;

	if (l->t.nclaims > CHECK_MAX || l->t.nbuffers > CHECK_MAX)
		return E_LIMIT;
	memset(acc, 0, sizeof acc);
	memset(psub, 0, sizeof psub);
	memset(pdone, 0, sizeof pdone);
	if ((err = count_windows(l, acc)) < 0 || (err = count_routes(l, acc)) < 0 ||
	    (err = count_buffers(l, acc)) < 0 || (err = count_subs(l, acc, psub, pdone)) < 0)
		return err;
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		const struct ddf_buffer *b = &l->t.buffers[i];
		int live = b->state != DDF_BUF_FREE && b->state != DDF_BUF_RETIRED;
		if (live && (b->submitted != psub[i] || b->done != pdone[i]))
			return E_CORRUPT;
		if (!live && (psub[i] || pdone[i]))
			return E_CORRUPT;
	}
	for (uint32_t i = 0; i < l->t.nclaims; i++) {
		const struct ddf_claim *c = &l->t.claims[i], *a = &acc[i];
		if (c->state == DDF_CLAIM_TEARDOWN)
			return E_CORRUPT;     /* never visible between calls */
		if (c->state != DDF_CLAIM_ACTIVE) {
			if (c->windows || c->mapped || c->routes || c->buffers || c->buf_mapped ||
			    c->inflight || c->completed || c->ring_holds || c->mapped_bytes || c->dma_used)
				return E_CORRUPT;
			continue;
		}
		if (c->windows != a->windows || c->mapped != a->mapped || c->routes != a->routes ||
		    c->buffers != a->buffers || c->buf_mapped != a->buf_mapped ||
		    c->inflight != a->inflight || c->completed != a->completed ||
		    c->ring_holds != a->ring_holds || c->mapped_bytes != a->mapped_bytes ||
		    c->dma_used != a->dma_used)
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
