/*
 * Vector pool and route table (see route.h). The table is small and flat:
 * a linear scan over 64 slots costs less than the interrupt it describes,
 * and it keeps the lifecycle obvious. Callers serialise with their own lock.
 */
#include "irq/route.h"
#include "base/err.h"
#include "base/mem.h"

int
irq_pool_init(struct irq_pool *p, uint8_t first, uint8_t last)
{
	if (first > last)
		return E_INVAL;
	memset(p, 0, sizeof *p);
	p->first = first;
	p->last = last;
	p->nfree = (uint32_t)(last - first) + 1;
	return 0;
}

bool
irq_pool_used(const struct irq_pool *p, uint8_t v)
{
	return p->used[v / 64] & (1ull << (v % 64));
}

int
irq_pool_reserve(struct irq_pool *p, uint8_t v)
{
	if (v < p->first || v > p->last)
		return E_RANGE;
	if (irq_pool_used(p, v))
		return E_BUSY;
	p->used[v / 64] |= 1ull << (v % 64);
	p->nfree--;
	return 0;
}

int
irq_pool_alloc(struct irq_pool *p)
{
	for (unsigned v = p->first; v <= p->last; v++)
		if (!irq_pool_used(p, (uint8_t)v)) {
			irq_pool_reserve(p, (uint8_t)v);
			return (int)v;
		}
	p->exhausted++;
	return E_NOSPC;
}

int
irq_pool_free(struct irq_pool *p, uint8_t v)
{
	if (v < p->first || v > p->last)
		return E_RANGE;
	if (!irq_pool_used(p, v))
		return E_INVAL;
	p->used[v / 64] &= ~(1ull << (v % 64));
	p->nfree++;
	return 0;
}

void
irq_routes_init(struct irq_routes *t)
{
	memset(t, 0, sizeof *t);
}

static irq_handle_t
mk_handle(uint32_t slot, uint32_t gen)
{
	return (uint64_t)gen << 32 | slot;
}

int
irq_routes_claim(struct irq_routes *t, struct irq_pool *p, uint8_t kind, uint32_t src,
		 uint32_t owner, irq_handle_t *h, uint8_t *vector)
{
	int slot = -1;

	if (kind == IRQ_KIND_NONE || kind > IRQ_KIND_KERNEL)
		return E_INVAL;
	for (int i = 0; i < IRQ_MAX_ROUTES; i++) {
		struct irq_route *r = &t->r[i];
		if (r->gen & 1) {
			if (r->kind == kind && r->src == src)
				return E_BUSY;
		} else if (slot < 0 && r->gen < UINT32_MAX - 1) {
			slot = i;	/* a slot whose generation would wrap is retired */
		}
	}
	if (slot < 0)
		return E_NOSPC;
	int v = irq_pool_alloc(p);
	if (v < 0)
		return v;
	struct irq_route *r = &t->r[slot];
	r->gen++;
	r->kind = kind;
	r->vector = (uint8_t)v;
	r->src = src;
	r->owner = owner;
	r->count = 0;
	*h = mk_handle((uint32_t)slot, r->gen);
	*vector = (uint8_t)v;
	return 0;
}

struct irq_route *
irq_routes_get(struct irq_routes *t, irq_handle_t h)
{
	uint32_t slot = (uint32_t)(h & 0xFFFF), gen = (uint32_t)(h >> 32);

	if ((h & 0xFFFF0000ull) || slot >= IRQ_MAX_ROUTES || !(gen & 1) || t->r[slot].gen != gen) {
		t->stale_refused++;
		return NULL;
	}
	return &t->r[slot];
}

int
irq_routes_release(struct irq_routes *t, struct irq_pool *p, irq_handle_t h)
{
	struct irq_route *r = irq_routes_get(t, h);

	if (!r)
		return E_STALE;
	irq_pool_free(p, r->vector);
	r->gen++;
	r->kind = IRQ_KIND_NONE;
	r->vector = 0;
	r->src = 0;
	r->owner = 0;
	return 0;
}

struct irq_route *
irq_routes_by_vector(struct irq_routes *t, uint8_t v, irq_handle_t *h)
{
	for (uint32_t i = 0; i < IRQ_MAX_ROUTES; i++) {
		struct irq_route *r = &t->r[i];
		if ((r->gen & 1) && r->vector == v) {
			if (h)
				*h = mk_handle(i, r->gen);
			return r;
		}
	}
	return NULL;
}

uint32_t
irq_routes_live(const struct irq_routes *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < IRQ_MAX_ROUTES; i++)
		n += t->r[i].gen & 1;
	return n;
}
