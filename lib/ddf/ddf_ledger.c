/*
 * The device-manager ledger: claims, handle decoding, the one teardown path,
 * totals and the invariant recount (docs/device-manager.md).
 *
 * Teardown runs the same steps in the same order for cap release, driver
 * exit, driver crash and device reset (SYSTEM.md invariant 6):
 *   1. stop bus mastering   - the device can no longer start DMA;
 *   2. revoke mappings      - MMIO windows and DMA buffer user mappings;
 *   3. drop interrupt routes - a waiter is failed by the kernel, not woken;
 *   4. drain                - wait out DMA already under way, then cancel
 *                             every in-flight submission and completion;
 *   5. scrub and free DMA pages - only now can no device write land in them;
 *   6. bump generations     - every handle of the claim becomes stale.
 * Bus mastering goes first because every later step releases something a
 * running device could still write to. While teardown runs the claim is in
 * DDF_CLAIM_TEARDOWN and every driver request is refused.
 */
#include "ddf/ddf_int.h"

#include "base/err.h"
#include "base/mem.h"
#include "fmt/fmt.h"

#define DDF_PCI_SCAN_MAX 65536u   /* bound on the enumeration in ddf_claim */

void
ddf__audit(struct ddf_ledger *l, const struct ddf_claim *c, uint32_t owner, uint8_t event,
    uint32_t gen, uint64_t detail)
{
	struct ddf_audit_rec r;

	if (l->audit == NULL)
		return;
	memset(&r, 0, sizeof r);
	r.time_ns = l->ops->now_ns ? l->ops->now_ns(l->ctx) : 0;
	r.detail = detail;
	r.generation = gen;
	r.owner = owner;
	if (c != NULL)
		r.addr = c->fn.addr;
	r.event = event;
	ddf_audit_append(l->audit, &r);
}

int
ddf__reject(struct ddf_ledger *l, const struct ddf_claim *c, uint32_t owner, uint8_t op, int err)
{
	struct ddf_audit_rec r;

	if (l->audit != NULL) {
		memset(&r, 0, sizeof r);
		r.time_ns = l->ops->now_ns ? l->ops->now_ns(l->ctx) : 0;
		r.detail = op;
		r.generation = c != NULL ? c->gen : 0;
		r.owner = owner;
		if (c != NULL)
			r.addr = c->fn.addr;
		r.event = DDF_EV_REJECTED;
		r.reason = (int8_t)err;
		ddf_audit_append(l->audit, &r);
	}
	return err;
}

int
ddf__bump(uint32_t *gen)
{
	if (*gen == UINT32_MAX)
		return 0;
	(*gen)++;
	return 1;
}

void
ddf_init(struct ddf_ledger *l, const struct ddf_tables *t, const struct ddf_ops *ops, void *ctx,
    struct ddf_audit *audit)
{
	uint32_t i;

	l->t = *t;
	l->ops = ops;
	l->ctx = ctx;
	l->audit = audit;
	l->sub_hwm = 0;
	memset(t->claims, 0, (size_t)t->nclaims * sizeof *t->claims);
	memset(t->windows, 0, (size_t)t->nwindows * sizeof *t->windows);
	memset(t->routes, 0, (size_t)t->nroutes * sizeof *t->routes);
	memset(t->buffers, 0, (size_t)t->nbuffers * sizeof *t->buffers);
	memset(t->subs, 0, (size_t)t->nsubs * sizeof *t->subs);
	if (t->nshares)
		memset(t->shares, 0, (size_t)t->nshares * sizeof *t->shares);
	/* Generation 0 is never valid, so a zeroed handle names nothing. */
	for (i = 0; i < t->nclaims; i++)
		t->claims[i].gen = 1;
	for (i = 0; i < t->nwindows; i++) {
		t->windows[i].gen = t->windows[i].map_gen = 1;
		t->windows[i].claim = UINT32_MAX;
	}
	for (i = 0; i < t->nroutes; i++) {
		t->routes[i].gen = 1;
		t->routes[i].claim = UINT32_MAX;
	}
	for (i = 0; i < t->nbuffers; i++) {
		t->buffers[i].gen = t->buffers[i].map_gen = 1;
		t->buffers[i].claim = UINT32_MAX;
	}
	for (i = 0; i < t->nsubs; i++) {
		t->subs[i].gen = 1;
		t->subs[i].claim = t->subs[i].buf = UINT32_MAX;
	}
	for (i = 0; i < t->nshares; i++) {
		t->shares[i].gen = 1;
		t->shares[i].claim = t->shares[i].buf = UINT32_MAX;
	}
}

/* ---- handle decoding ---- */

int
ddf__claim(struct ddf_ledger *l, ddf_handle h, uint64_t who, struct ddf_claim **out)
{
	uint32_t i = ddf_handle_index(h);
	struct ddf_claim *c;

	if (ddf_handle_kind(h) != DDF_K_CLAIM || i >= l->t.nclaims)
		return E_BADF;
	c = &l->t.claims[i];
	if (ddf_epoch_check(ddf_handle_gen(h), c->gen) < 0)
		return E_STALE;
	if (c->state == DDF_CLAIM_TEARDOWN)
		return E_BUSY;
	if (c->state != DDF_CLAIM_ACTIVE)
		return E_STALE;
	if (who != DDF__KERNEL && c->owner != who)
		return E_PERM;
	*out = c;
	return 0;
}

/* The claim an object points at must be live and the caller's. */
static int
owning_claim(struct ddf_ledger *l, uint32_t ci, uint64_t who, struct ddf_claim **out)
{
	struct ddf_claim *c;

	if (ci >= l->t.nclaims)
		return E_BADF;
	c = &l->t.claims[ci];
	if (c->state == DDF_CLAIM_TEARDOWN)
		return E_BUSY;
	if (c->state != DDF_CLAIM_ACTIVE)
		return E_STALE;
	if (who != DDF__KERNEL && c->owner != who)
		return E_PERM;
	*out = c;
	return 0;
}

int
ddf__window(struct ddf_ledger *l, ddf_handle h, uint64_t who, struct ddf_window **w,
    struct ddf_claim **c)
{
	uint32_t i = ddf_handle_index(h);

	if (ddf_handle_kind(h) != DDF_K_WINDOW || i >= l->t.nwindows)
		return E_BADF;
	*w = &l->t.windows[i];
	if (ddf_epoch_check(ddf_handle_gen(h), (*w)->gen) < 0 ||
	    ((*w)->state != DDF_WIN_GRANTED && (*w)->state != DDF_WIN_MAPPED))
		return E_STALE;
	return owning_claim(l, (*w)->claim, who, c);
}

int
ddf__route(struct ddf_ledger *l, ddf_handle h, uint64_t who, struct ddf_route **r,
    struct ddf_claim **c)
{
	uint32_t i = ddf_handle_index(h);

	if (ddf_handle_kind(h) != DDF_K_ROUTE || i >= l->t.nroutes)
		return E_BADF;
	*r = &l->t.routes[i];
	if (ddf_epoch_check(ddf_handle_gen(h), (*r)->gen) < 0 || (*r)->state != DDF_ROUTE_LIVE)
		return E_STALE;
	return owning_claim(l, (*r)->claim, who, c);
}

int
ddf__buffer(struct ddf_ledger *l, ddf_handle h, uint64_t who, struct ddf_buffer **b,
    struct ddf_claim **c)
{
	uint32_t i = ddf_handle_index(h);

	if (ddf_handle_kind(h) != DDF_K_BUFFER || i >= l->t.nbuffers)
		return E_BADF;
	*b = &l->t.buffers[i];
	if (ddf_epoch_check(ddf_handle_gen(h), (*b)->gen) < 0)
		return E_STALE;
	switch ((*b)->state) {
	case DDF_BUF_ALLOCATED:
	case DDF_BUF_INFLIGHT:
	case DDF_BUF_COMPLETING:
		break;
	case DDF_BUF_SCRUBBING:
		return E_BUSY;
	default:
		return E_STALE;
	}
	return owning_claim(l, (*b)->claim, who, c);
}

void
ddf__buf_settle(struct ddf_buffer *b)
{
	if (b->state == DDF_BUF_FREE || b->state == DDF_BUF_SCRUBBING || b->state == DDF_BUF_RETIRED)
		return;
	if (b->submitted > 0 || b->ring_holds > 0)
		b->state = DDF_BUF_INFLIGHT;
	else if (b->done > 0)
		b->state = DDF_BUF_COMPLETING;
	else
		b->state = DDF_BUF_ALLOCATED;
}

/* ---- claims ---- */

static int
func_matches(const struct ddf_selector *sel, const struct ddf_func *f)
{
	if (sel->kind == DDF_SEL_ADDR)
		return ddf_pci_addr_eq(&sel->addr, &f->addr);
	return sel->vendor == f->vendor && sel->device == f->device;
}

/* Find the selected function; E_NOENT when absent. */
int
ddf_find_func(struct ddf_ledger *l, const struct ddf_selector *sel, struct ddf_func *out)
{
	uint32_t seen = 0;
	struct ddf_func f;

	for (uint32_t i = 0; i < DDF_PCI_SCAN_MAX; i++) {
		memset(&f, 0, sizeof f);
		if (l->ops->pci_get(l->ctx, i, &f) < 0)
			break;
		if (!func_matches(sel, &f))
			continue;
		if (sel->kind == DDF_SEL_ADDR || seen++ == sel->instance) {
			*out = f;
			return 0;
		}
	}
	return E_NOENT;
}

uint8_t
ddf__rule_width(const struct ddf_rule *r)
{
	if (r->kind == DDF_RULE_ADDR64)
		return 8;
	if (r->kind == DDF_RULE_PFN32 || r->width == 0)
		return 4;
	return r->width;
}

static int
rule_check(const struct ddf_func *f, const struct ddf_rule *r)
{
	uint8_t width = ddf__rule_width(r);

	if (r->kind < DDF_RULE_WRITE32 || r->kind > DDF_RULE_PFN32)
		return E_INVAL;
	if (r->bar >= DDF_MAX_BARS || f->bar[r->bar].kind == DDF_BAR_NONE)
		return E_INVAL;
	if (r->kind == DDF_RULE_ADDR64 && (r->align_log2 > 16 || f->bar[r->bar].kind != DDF_BAR_MEM))
		return E_INVAL;
	if (width == 8 && r->kind != DDF_RULE_ADDR64)
		return E_INVAL;
	return ddf_reg_check(f->bar[r->bar].size, r->offset, width);
}

static int
claim_check(struct ddf_ledger *l, const struct ddf_selector *sel, const struct ddf_policy *pol,
    struct ddf_func *f, uint32_t *slot)
{
	uint32_t i, free_slot = UINT32_MAX;
	int err;

	if (sel->kind != DDF_SEL_ADDR && sel->kind != DDF_SEL_IDS)
		return E_INVAL;
	if (sel->kind == DDF_SEL_ADDR && !ddf_pci_addr_valid(&sel->addr))
		return E_INVAL;
	if (pol->owner == 0 || pol->nrules > DDF_MAX_RULES)
		return E_INVAL;
	if ((err = ddf_find_func(l, sel, f)) < 0)
		return err;
	for (i = 0; i < pol->nrules; i++)
		if ((err = rule_check(f, &pol->rules[i])) < 0)
			return err;
	if (pol->dma_budget % DDF_PAGE_SIZE != 0)
		return E_INVAL;
	for (i = 0; i < l->t.nclaims; i++) {
		const struct ddf_claim *c = &l->t.claims[i];
		if (c->state == DDF_CLAIM_ACTIVE || c->state == DDF_CLAIM_TEARDOWN) {
			if (ddf_pci_addr_eq(&c->fn.addr, &f->addr))
				return E_EXIST;
		} else if (c->state == DDF_CLAIM_FREE && free_slot == UINT32_MAX) {
			free_slot = i;
		}
	}
	if (free_slot == UINT32_MAX)
		return E_NOSPC;
	*slot = free_slot;
	return 0;
}

int
ddf_claim(struct ddf_ledger *l, const struct ddf_selector *sel, const struct ddf_policy *pol,
    ddf_handle *out)
{
	struct ddf_func f;
	struct ddf_claim *c;
	uint32_t slot, gen;
	int err;

	if ((err = claim_check(l, sel, pol, &f, &slot)) < 0)
		return ddf__reject(l, NULL, pol->owner, DDF_OP_CLAIM, err);
	c = &l->t.claims[slot];
	gen = c->gen;
	memset(c, 0, sizeof *c);
	c->gen = gen;
	c->state = DDF_CLAIM_ACTIVE;
	c->owner = pol->owner;
	c->fn = f;
	c->pol = *pol;
	c->pol.label[sizeof c->pol.label - 1] = '\0';
	*out = ddf_handle_make(DDF_K_CLAIM, slot, gen);
	ddf__audit(l, c, c->owner, DDF_EV_CLAIM, gen, ((uint64_t)f.vendor << 16) | f.device);
	return 0;
}

int
ddf_bus_master_enable(struct ddf_ledger *l, uint32_t owner, ddf_handle claim)
{
	struct ddf_claim *c;
	int err;

	if ((err = ddf__claim(l, claim, owner, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_BUSMASTER, err);
	l->ops->enable_bus_master(l->ctx, c);
	c->bus_master = 1;
	return 0;
}

int
ddf_queue_configure(struct ddf_ledger *l, uint32_t owner, ddf_handle claim, uint16_t queue,
    uint32_t depth)
{
	struct ddf_claim *c;
	int err;

	if ((err = ddf__claim(l, claim, owner, &c)) < 0)
		return ddf__reject(l, NULL, owner, DDF_OP_QUEUE, err);
	if (queue >= DDF_MAX_QUEUES)
		return ddf__reject(l, c, owner, DDF_OP_QUEUE, E_RANGE);
	if ((err = ddf_depth_check(depth, DDF_QUEUE_MAX_DEPTH)) < 0)
		return ddf__reject(l, c, owner, DDF_OP_QUEUE, err);
	for (uint32_t i = 0; i < l->t.nsubs; i++) {
		const struct ddf_sub *s = &l->t.subs[i];
		if ((s->state == DDF_SUB_SUBMITTED || s->state == DDF_SUB_DONE) &&
		    s->claim == (uint32_t)(c - l->t.claims) && s->queue == queue)
			return ddf__reject(l, c, owner, DDF_OP_QUEUE, E_BUSY);
	}
	c->qdepth[queue] = (uint16_t)(depth == DDF_QUEUE_MAX_DEPTH ? 0x8000 : depth);
	return 0;
}

/* ---- teardown ---- */

static void
td_revoke_mappings(struct ddf_ledger *l, struct ddf_claim *c, uint32_t ci)
{
	for (uint32_t i = 0; i < l->t.nwindows; i++) {
		struct ddf_window *w = &l->t.windows[i];
		if (w->claim != ci || w->state != DDF_WIN_MAPPED)
			continue;
		l->ops->unmap(l->ctx, c, w->cookie);
		w->state = DDF_WIN_GRANTED;
		c->mapped--;
		c->mapped_bytes -= w->length;
		ddf__audit(l, c, c->owner, DDF_EV_MMIO_UNMAP, w->map_gen, w->offset);
	}
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		struct ddf_buffer *b = &l->t.buffers[i];
		if (b->claim != ci || b->state == DDF_BUF_FREE || b->state == DDF_BUF_RETIRED ||
		    !b->user_mapped)
			continue;
		l->ops->dma_unmap(l->ctx, c, b->map_cookie);
		b->user_mapped = 0;
		c->buf_mapped--;
	}
}

static void
td_drop_routes(struct ddf_ledger *l, struct ddf_claim *c, uint32_t ci)
{
	for (uint32_t i = 0; i < l->t.nroutes; i++) {
		struct ddf_route *r = &l->t.routes[i];
		if (r->claim != ci || r->state != DDF_ROUTE_LIVE)
			continue;
		l->ops->drop_route(l->ctx, c, r->cookie);
		r->pending = 0;
		r->waiting = 0;
		r->eoi_pending = 0;
		ddf__audit(l, c, c->owner, DDF_EV_IRQ_DROP, r->gen, r->index);
	}
}

static void
td_drain(struct ddf_ledger *l, struct ddf_claim *c, uint32_t ci)
{
	l->ops->drain(l->ctx, c);
	/* Nothing can complete any more: cancel what was in flight. */
	for (uint32_t i = 0; i < l->t.nsubs; i++) {
		struct ddf_sub *s = &l->t.subs[i];
		if (s->claim != ci || (s->state != DDF_SUB_SUBMITTED && s->state != DDF_SUB_DONE))
			continue;
		struct ddf_buffer *b = &l->t.buffers[s->buf];
		if (s->state == DDF_SUB_SUBMITTED) {
			b->submitted--;
			c->inflight--;
		} else {
			b->done--;
			c->completed--;
		}
		s->deferred = s->member = 0;    /* chains, published or not, go whole */
		s->link = 0;
		s->state = DDF_SUB_FREE;
	}
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		struct ddf_buffer *b = &l->t.buffers[i];
		if (b->claim != ci || b->state == DDF_BUF_FREE || b->state == DDF_BUF_RETIRED)
			continue;
		c->ring_holds -= b->ring_holds;
		b->ring_holds = 0;
		ddf__buf_settle(b);
	}
	memset(c->rule_buf, 0, sizeof c->rule_buf);
	memset(c->qdepth, 0, sizeof c->qdepth);
}

static void
td_scrub_free(struct ddf_ledger *l, struct ddf_claim *c, uint32_t ci)
{
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		struct ddf_buffer *b = &l->t.buffers[i];
		if (b->claim != ci || b->state == DDF_BUF_FREE || b->state == DDF_BUF_RETIRED)
			continue;
		ddf__shares_buffer_gone(l, c, i);    /* mapped ones stay with their holders */
		b->state = DDF_BUF_SCRUBBING;
		l->ops->scrub_free(l->ctx, c, b->cookie, b->size);
		c->dma_used -= b->size;
		c->buffers--;
		ddf__audit(l, c, c->owner, DDF_EV_DMA_FREE, b->gen, b->size);
	}
}

static void
td_bump(struct ddf_ledger *l, struct ddf_claim *c, uint32_t ci)
{
	for (uint32_t i = 0; i < l->t.nwindows; i++) {
		struct ddf_window *w = &l->t.windows[i];
		if (w->claim != ci || (w->state != DDF_WIN_GRANTED && w->state != DDF_WIN_MAPPED))
			continue;
		ddf__bump(&w->map_gen);
		w->state = ddf__bump(&w->gen) ? DDF_WIN_FREE : DDF_WIN_RETIRED;
		c->windows--;
	}
	for (uint32_t i = 0; i < l->t.nroutes; i++) {
		struct ddf_route *r = &l->t.routes[i];
		if (r->claim != ci || r->state != DDF_ROUTE_LIVE)
			continue;
		r->state = ddf__bump(&r->gen) ? DDF_ROUTE_FREE : DDF_ROUTE_RETIRED;
		c->routes--;
	}
	for (uint32_t i = 0; i < l->t.nbuffers; i++) {
		struct ddf_buffer *b = &l->t.buffers[i];
		if (b->claim != ci || b->state != DDF_BUF_SCRUBBING)
			continue;
		ddf__bump(&b->map_gen);
		b->state = ddf__bump(&b->gen) ? DDF_BUF_FREE : DDF_BUF_RETIRED;
	}
	/* Tokens were cancelled in drain; bump them now so a late completion stays stale. */
	for (uint32_t i = 0; i < l->t.nsubs; i++) {
		struct ddf_sub *s = &l->t.subs[i];
		if (s->claim == ci && s->state == DDF_SUB_FREE && s->buf != UINT32_MAX) {
			s->buf = UINT32_MAX;
			if (!ddf__bump(&s->gen))
				s->state = DDF_SUB_RETIRED;
		}
	}
}

void
ddf__teardown(struct ddf_ledger *l, uint32_t ci, uint8_t reason)
{
	struct ddf_claim *c = &l->t.claims[ci];
	uint32_t old = c->gen;

	c->state = DDF_CLAIM_TEARDOWN;
	l->ops->stop_bus_master(l->ctx, c);            /* 1 */
	c->bus_master = 0;
	td_revoke_mappings(l, c, ci);                  /* 2 */
	td_drop_routes(l, c, ci);                      /* 3 */
	td_drain(l, c, ci);                            /* 4 */
	td_scrub_free(l, c, ci);                       /* 5 */
	td_bump(l, c, ci);                             /* 6 */
	c->teardowns++;
	if (!ddf__bump(&c->gen)) {
		c->state = DDF_CLAIM_RETIRED;
	} else if (reason == DDF_TD_RESET) {
		/* The function stays claimed by its owner; every old handle is stale. */
		c->state = DDF_CLAIM_ACTIVE;
	} else {
		c->state = DDF_CLAIM_FREE;
	}
	ddf__audit(l, c, c->owner, reason == DDF_TD_RESET ? DDF_EV_RESET : DDF_EV_TEARDOWN, old,
	    reason);
	if (c->state == DDF_CLAIM_FREE) {
		ddf__audit(l, c, c->owner, DDF_EV_RELEASE, old, reason);
		c->owner = 0;
	}
}

int
ddf_teardown(struct ddf_ledger *l, ddf_handle claim, uint8_t reason)
{
	struct ddf_claim *c;
	int err;

	if ((err = ddf__claim(l, claim, DDF__KERNEL, &c)) < 0)
		return ddf__reject(l, NULL, 0, DDF_OP_TEARDOWN, err);
	if (reason < DDF_TD_RELEASE || reason > DDF_TD_RESET)
		return ddf__reject(l, c, 0, DDF_OP_TEARDOWN, E_INVAL);
	ddf__teardown(l, (uint32_t)(c - l->t.claims), reason);
	return 0;
}

int
ddf_owner_gone(struct ddf_ledger *l, uint32_t owner, uint8_t reason)
{
	int n = 0;

	if (owner == 0 || (reason != DDF_TD_EXIT && reason != DDF_TD_CRASH && reason != DDF_TD_RELEASE))
		return E_INVAL;
	ddf__shares_holder_gone(l, owner);    /* its CPU views of other drivers' buffers */
	for (uint32_t i = 0; i < l->t.nclaims; i++) {
		if (l->t.claims[i].state == DDF_CLAIM_ACTIVE && l->t.claims[i].owner == owner) {
			ddf__teardown(l, i, reason);
			n++;
		}
	}
	return n;
}

/* ---- observation ---- */

static void
add_claim(struct ddf_totals *t, const struct ddf_claim *c)
{
	t->claims++;
	t->windows += c->windows;
	t->mapped += c->mapped;
	t->routes += c->routes;
	t->buffers += c->buffers;
	t->buf_mapped += c->buf_mapped;
	t->inflight += c->inflight;
	t->completed += c->completed;
	t->ring_holds += c->ring_holds;
	t->shares += c->shares;
	t->share_mapped += c->share_mapped;
	t->mapped_bytes += c->mapped_bytes;
	t->dma_used += c->dma_used;
	t->dma_budget += c->pol.dma_budget;
}

void
ddf_totals(const struct ddf_ledger *l, struct ddf_totals *out)
{
	memset(out, 0, sizeof *out);
	for (uint32_t i = 0; i < l->t.nclaims; i++) {
		const struct ddf_claim *c = &l->t.claims[i];
		if (c->state == DDF_CLAIM_ACTIVE || c->state == DDF_CLAIM_TEARDOWN)
			add_claim(out, c);
	}
}

int
ddf_claim_totals(const struct ddf_ledger *l, ddf_handle claim, struct ddf_totals *out)
{
	const struct ddf_claim *c = ddf_claim_get(l, claim);

	if (c == NULL)
		return E_STALE;
	memset(out, 0, sizeof *out);
	add_claim(out, c);
	return 0;
}

const struct ddf_claim *
ddf_claim_get(const struct ddf_ledger *l, ddf_handle claim)
{
	struct ddf_claim *c;

	if (ddf__claim((struct ddf_ledger *)l, claim, DDF__KERNEL, &c) < 0)
		return NULL;
	return c;
}

/* An object of `owner` and its claim handle, decoded as any request would be. */
int
ddf_object_claim(const struct ddf_ledger *l, uint32_t owner, ddf_handle h, ddf_handle *claim)
{
	struct ddf_ledger *ml = (struct ddf_ledger *)l;
	struct ddf_window *w;
	struct ddf_route *r;
	struct ddf_buffer *b;
	struct ddf_claim *c;
	int err;

	switch (ddf_handle_kind(h)) {
	case DDF_K_WINDOW: err = ddf__window(ml, h, owner, &w, &c); break;
	case DDF_K_ROUTE: err = ddf__route(ml, h, owner, &r, &c); break;
	case DDF_K_BUFFER: err = ddf__buffer(ml, h, owner, &b, &c); break;
	case DDF_K_CLAIM: err = ddf__claim(ml, h, owner, &c); break;
	default: return E_BADF;
	}
	if (err < 0)
		return err;
	*claim = ddf_handle_make(DDF_K_CLAIM, (uint32_t)(c - l->t.claims), c->gen);
	return 0;
}

const struct ddf_buffer *
ddf_buffer_get(const struct ddf_ledger *l, ddf_handle buf)
{
	struct ddf_buffer *b;
	struct ddf_claim *c;

	if (ddf__buffer((struct ddf_ledger *)l, buf, DDF__KERNEL, &b, &c) < 0)
		return NULL;
	return b;
}

const char *
ddf_buf_state_name(uint8_t state)
{
	static const char *const n[] = { "free", "allocated", "in-flight", "completing",
		"scrubbing", "retired" };
	return state < sizeof n / sizeof n[0] ? n[state] : "unknown";
}

int
ddf_fmt_devices(const struct ddf_ledger *l, char *buf, size_t size)
{
	size_t used = 0;
	int total = 0;

	for (uint32_t i = 0; i < l->t.nclaims; i++) {
		const struct ddf_claim *c = &l->t.claims[i];
		if (c->state != DDF_CLAIM_ACTIVE && c->state != DDF_CLAIM_TEARDOWN)
			continue;
		int n = fmt_snprintf(size > used ? buf + used : NULL, size > used ? size - used : 0,
		    "%04x:%02x:%02x.%x %04x:%04x owner=%u gen=%u %s bm=%u windows=%u mapped=%u "
		    "irqs=%u bufs=%u dma=%llu/%llu inflight=%u done=%u rings=%u policy=%s\n",
		    c->fn.addr.segment, c->fn.addr.bus, c->fn.addr.device, c->fn.addr.function,
		    c->fn.vendor, c->fn.device, c->owner, c->gen,
		    c->state == DDF_CLAIM_ACTIVE ? "active" : "teardown", c->bus_master, c->windows,
		    c->mapped, c->routes, c->buffers, (unsigned long long)c->dma_used,
		    (unsigned long long)c->pol.dma_budget, c->inflight, c->completed, c->ring_holds,
		    c->pol.label[0] ? c->pol.label : "-");
		total += n;
		used = (size_t)total;
	}
	if (total == 0)
		total = fmt_snprintf(buf, size, "no claimed devices\n");
	return total;
}
