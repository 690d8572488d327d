/*
 * Claimed-route lifecycle on top of lib/irq (pool + generation table). Every
 * pool vector gets the same trap handler, which finds the live route for the
 * vector and runs its handler; the table lock is dropped before the driver
 * handler runs, which is why release masks the source before it frees the
 * vector. Locking: irq_lock is taken with interrupts off and nests inside
 * nothing; ioapic and pci take their own locks after it.
 */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/apic_irq.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/msi.h"
#include "kernel.h"
#include "pci/pci.h"
#include "sync/spinlock.h"

static struct irq_pool pool;
static struct irq_routes routes;
static struct {
	irq_fn_t fn;
	void *arg;
	struct pci_func *pci;
} slot_fn[IRQ_MAX_ROUTES];
static struct spinlock irq_lock;
static uint64_t delivered, stale;

static void
dispatch(struct trap_frame *tf, void *arg)
{
	uint8_t v = (uint8_t)tf->vector;
	irq_handle_t h;
	irq_fn_t fn = NULL;
	void *farg = NULL;

	spin_lock(&irq_lock);
	struct irq_route *r = irq_routes_by_vector(&routes, v, &h);
	if (r) {
		r->count++;
		delivered++;
		fn = slot_fn[h & 0xFFFF].fn;
		farg = slot_fn[h & 0xFFFF].arg;
	} else {
		stale++;
	}
	spin_unlock(&irq_lock);
	if (fn)
		fn(farg);
	lapic_eoi();
}

int
irq_init(void)
{
	irq_pool_init(&pool, VEC_POOL_FIRST, VEC_POOL_LAST);
	irq_routes_init(&routes);
	for (unsigned v = VEC_POOL_FIRST; v <= VEC_POOL_LAST; v++)
		trap_register((uint8_t)v, dispatch, NULL);
	return 0;
}

static int
claim(uint8_t kind, uint32_t src, uint32_t owner, irq_fn_t fn, void *arg, struct pci_func *f,
      irq_handle_t *h, uint8_t *vec)
{
	if (!fn)
		return E_INVAL;
	uint64_t fl = spin_lock_irqsave(&irq_lock);
	int r = irq_routes_claim(&routes, &pool, kind, src, owner, h, vec);
	if (r == 0) {
		uint32_t s = (uint32_t)(*h & 0xFFFF);
		slot_fn[s].fn = fn;
		slot_fn[s].arg = arg;
		slot_fn[s].pci = f;
	}
	spin_unlock_irqrestore(&irq_lock, fl);
	if (r == E_NOSPC)
		kprintf("capos: irq-refused kind=%u src=%#x reason=\"device vector pool exhausted "
			"(%u vectors, 0x%x-0x%x) or route table full (%u)\"\n", kind, src,
			VEC_POOL_LAST - VEC_POOL_FIRST + 1, VEC_POOL_FIRST, VEC_POOL_LAST,
			IRQ_MAX_ROUTES);
	return r;
}

/* Undo a claim whose programming step failed (nothing was delivered yet). */
static void
unclaim(irq_handle_t h)
{
	uint64_t fl = spin_lock_irqsave(&irq_lock);
	irq_routes_release(&routes, &pool, h);
	spin_unlock_irqrestore(&irq_lock, fl);
}

int
irq_route_claim_gsi(uint32_t gsi, bool active_low, bool level, uint32_t owner, irq_fn_t fn,
		    void *arg, irq_handle_t *h)
{
	uint8_t vec;
	int r = claim(IRQ_KIND_IOAPIC, gsi, owner, fn, arg, NULL, h, &vec);
	if (r)
		return r;
	r = ioapic_route(gsi, vec, lapic_id(), active_low, level);
	if (r)
		unclaim(*h);
	return r;
}

int
irq_route_claim_isa(uint8_t isa_irq, uint32_t owner, irq_fn_t fn, void *arg, irq_handle_t *h)
{
	bool low, level;
	uint32_t gsi = ioapic_isa_gsi(isa_irq, &low, &level);
	return irq_route_claim_gsi(gsi, low, level, owner, fn, arg, h);
}

static uint32_t
bdf(const struct pci_func *f)
{
	return (uint32_t)f->bus << 8 | f->dev << 3 | f->fn;
}

int
irq_route_claim_msi(struct pci_func *f, uint32_t owner, irq_fn_t fn, void *arg, irq_handle_t *h)
{
	uint8_t vec;
	if (!f->cap_msi)
		return E_NOTSUP;
	int r = claim(IRQ_KIND_MSI, bdf(f), owner, fn, arg, f, h, &vec);
	if (r)
		return r;
	r = msi_program(f, vec, lapic_id());
	if (r)
		unclaim(*h);
	return r;
}

int
irq_route_claim_msix(struct pci_func *f, uint16_t index, uint32_t owner, irq_fn_t fn, void *arg,
		     irq_handle_t *h)
{
	uint8_t vec;
	if (!f->cap_msix)
		return E_NOTSUP;
	if (index >= f->msix_size)
		return E_RANGE;
	int r = claim(IRQ_KIND_MSIX, bdf(f) << 16 | index, owner, fn, arg, f, h, &vec);
	if (r)
		return r;
	r = msix_program(f, index, vec, lapic_id());
	if (r)
		unclaim(*h);
	return r;
}

int
irq_route_claim_kernel(uint32_t src, uint32_t owner, irq_fn_t fn, void *arg, irq_handle_t *h,
		       uint8_t *vector)
{
	return claim(IRQ_KIND_KERNEL, src, owner, fn, arg, NULL, h, vector);
}

int
irq_route_release(irq_handle_t h)
{
	struct irq_route copy;
	struct pci_func *f;

	uint64_t fl = spin_lock_irqsave(&irq_lock);
	struct irq_route *r = irq_routes_get(&routes, h);
	if (!r) {
		spin_unlock_irqrestore(&irq_lock, fl);
		return E_STALE;
	}
	copy = *r;
	f = slot_fn[h & 0xFFFF].pci;
	spin_unlock_irqrestore(&irq_lock, fl);

	/* Silence the source before the vector can be reused. */
	if (copy.kind == IRQ_KIND_IOAPIC)
		ioapic_mask(copy.src, true);
	else if (copy.kind == IRQ_KIND_MSI && f)
		msi_disable(f);
	else if (copy.kind == IRQ_KIND_MSIX && f)
		msix_mask(f, (uint16_t)(copy.src & 0xFFFF));

	fl = spin_lock_irqsave(&irq_lock);
	int ret = irq_routes_release(&routes, &pool, h);
	if (ret == 0)
		slot_fn[h & 0xFFFF].fn = NULL;
	spin_unlock_irqrestore(&irq_lock, fl);
	return ret;
}

int
irq_route_info(irq_handle_t h, struct irq_route *out)
{
	uint64_t fl = spin_lock_irqsave(&irq_lock);
	struct irq_route *r = irq_routes_get(&routes, h);
	if (r)
		*out = *r;
	spin_unlock_irqrestore(&irq_lock, fl);
	return r ? 0 : E_STALE;
}

void
irq_get_stats(struct irq_stats *st)
{
	uint64_t fl = spin_lock_irqsave(&irq_lock);
	st->delivered = delivered;
	st->stale = stale;
	st->live = irq_routes_live(&routes);
	st->pool_free = pool.nfree;
	st->exhausted = pool.exhausted;
	st->stale_refused = routes.stale_refused;
	spin_unlock_irqrestore(&irq_lock, fl);
}

bool
irq_route_at(uint32_t i, struct irq_route *out)
{
	if (i >= IRQ_MAX_ROUTES)
		return false;
	uint64_t fl = spin_lock_irqsave(&irq_lock);
	bool live = routes.r[i].gen & 1;
	if (live)
		*out = routes.r[i];
	spin_unlock_irqrestore(&irq_lock, fl);
	return live;
}
