/*
 * The kernel device manager: lib/ddf's ledger with real effects.
 *
 * The ledger (lib/ddf) decides; this file only implements struct ddf_ops
 * and the few kernel records the effects need, each keyed by the opaque
 * cookie the ledger stores:
 *   kbuf   a DMA buffer's bounce pages (contiguous, from pmm, zeroed);
 *   kmap   one user mapping (a BAR window read-only, or a buffer read-write);
 *   kroute one claimed route: MSI-X, MSI, or INTx on a shared kline;
 *   kdev   per claim slot: the PCI function, its format and virtqueues.
 * None of them is a count of anything the ledger counts (invariant 2).
 *
 * Locking: `lock` (irqsave) serialises every ledger call, including the
 * interrupt path (kddf_irq_deliver). Lock order: kddf -> irq layer -> vmm.
 * The interrupt layer calls our handler with its own lock released.
 *
 * Deferred EOI: the interrupt layer EOIs the LAPIC at once (an un-EOIed
 * vector would block every lower-priority one); what is deferred is the
 * driver's acknowledge. INTx: the handler masks the I/O APIC entry of the
 * line, shared by every route on it, and the acknowledges unmask it ("INTx
 * lines" below): a level source must be silenced. MSI-X and MSI are edge
 * messages: a delivery while the route is in service is only counted
 * (the ledger's pending count, reported by the next wait), and the source
 * is masked only when KDDF_IRQ_STORM of them arrive before the acknowledge
 * (a storm), until that acknowledge. Masking every delivery cost two
 * uncached writes per interrupt (on QEMU two exits that take its global
 * lock, on every virtio-blk request; docs/device-manager.md "Interrupt
 * masking"). MSI-X masks the entry (the device holds a further
 * message in its pending bit); MSI the per-vector mask bit, else MSI
 * Enable (a message meanwhile is lost; the driver checks its device after
 * acknowledging).
 */
#include "ddf/kddf.h"
#include "iommu/probe.h"
#include "ddf/kddf_int.h"
#include "ddf/kddf_virtio.h"
#include "acpi/kacpi.h"
#include "arch/x86_64/apic_irq.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/msi.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "pci/pci.h"
#include "proc/proc.h"
#include "sync/spinlock.h"
#include "time/time.h"

#define NCLAIMS		KDDF_NCLAIMS
#define NWINDOWS	64u
#define NROUTES		64u
#define NBUFFERS	KDDF_NBUFFERS
#define NSUBS		256u	/* each scan is O(NSUBS): submit+complete costs grow with it */
#define NMAPS		(NWINDOWS + NBUFFERS)
#define NOWNERS		16u
#define NSHARES		32u
#define NAUDIT		512u
#define VQ_MAX		KDDF_VQ_MAX
#define VQ_SLOTS	KDDF_VQ_SLOTS

static struct ddf_claim claims[NCLAIMS];
static struct ddf_window windows[NWINDOWS];
static struct ddf_route routes[NROUTES];
static struct ddf_buffer buffers[NBUFFERS];
static struct ddf_sub subs[NSUBS];
static struct ddf_share shares[NSHARES];
static struct ddf_audit_rec audit_recs[NAUDIT];
static struct ddf_audit audit;
static struct ddf_ledger L;
static struct spinlock lock;

struct kowner {
	uint32_t owner;
	uint64_t pml4;		/* for non-process owners */
	uint64_t used[KDDF_USER_PAGES / 64];
};

static struct kbuf kbufs[NBUFFERS];
static struct kmap kmaps[NMAPS];
static struct kroute kroutes[NROUTES];
static struct kdev kdevs[NCLAIMS];
static struct kowner kowners[NOWNERS];

static uint32_t
claim_index(const struct ddf_claim *c)
{
	return (uint32_t)(c - claims);
}

static struct pci_func *
claim_func(const struct ddf_claim *c)
{
	return pci_find_bdf(c->fn.addr.bus, c->fn.addr.device, c->fn.addr.function);
}

/* ---- owners and their DDF address range ---- */

static struct kowner *
owner_get(uint32_t owner, bool create)
{
	struct kowner *freeo = NULL;
	for (uint32_t i = 0; i < NOWNERS; i++) {
		if (kowners[i].owner == owner)
			return &kowners[i];
		if (!kowners[i].owner && !freeo)
			freeo = &kowners[i];
	}
	if (!create || !freeo)
		return NULL;
	memset(freeo, 0, sizeof *freeo);
	freeo->owner = owner;
	return freeo;
}

static uint64_t
owner_pml4(uint32_t owner)
{
	struct kowner *o = owner_get(owner, false);
	if (o && o->pml4)
		return o->pml4;
	for (struct proc *p = proc_list; p; p = p->all_next)
		if (p->pid == owner && p->state != P_ZOMBIE)
			return p->pml4;
	return 0;
}

int
kddf_owner_register(uint32_t owner, uint64_t pml4)
{
	int r = 0;
	uint64_t fl = spin_lock_irqsave(&lock);
	struct kowner *o = owner_get(owner, pml4 != 0);
	if (pml4 && !o)
		r = E_NOSPC;
	else if (pml4)
		o->pml4 = pml4;
	else if (o)
		o->owner = 0;
	spin_unlock_irqrestore(&lock, fl);
	return r;
}

/* The live process that is `owner`, NULL for a kernel owner or a zombie. */
static struct proc *
owner_proc(uint32_t owner)
{
	struct kowner *o = owner_get(owner, false);
	if (o && o->pml4)
		return NULL;
	for (struct proc *p = proc_list; p; p = p->all_next)
		if (p->pid == owner && p->state != P_ZOMBIE)
			return p;
	return NULL;
}

/*
 * A mapped DMA buffer is the owner's memory for IPC too: a VMA over it lets
 * the owner RECV a message into the buffer and RETURN or CALL from it (a
 * driver's message buffers in DMA memory: the device moves the data where
 * the message carries it, no copy; docs/drivers.md). BAR windows get no
 * VMA: the kernel never copies to or from device registers. Without a free
 * VMA (PROC_MAX_VMAS) the mapping still works and IPC on it is refused, as
 * before. The VMA goes with the mapping (revoke, free, reset, exit), before
 * its pages, so no copy reaches a page no longer the buffer's.
 */
static void
dma_vma_add(uint32_t owner, uint64_t va, uint64_t n)
{
	struct proc *p = owner_proc(owner);
	if (p)
		(void)vma_add(p, va, va + n * PAGE_SIZE, VMM_RW);
}

static void
dma_vma_drop(uint32_t owner, uint64_t va, uint64_t n)
{
	struct proc *p = owner_proc(owner);
	for (uint32_t i = 0; p && i < p->nvma; i++) {
		if (p->vma[i].start != va || p->vma[i].end != va + n * PAGE_SIZE)
			continue;
		/* VMAs do not overlap, so their order does not matter; every
		 * index below nvma still names a live VMA (the hint stays safe). */
		p->vma[i] = p->vma[--p->nvma];
		p->vma_hint = 0;
		return;
	}
}

/* First fit of n pages in the owner's DDF range; returns the page index or E_NOSPC. */
static int
va_alloc(struct kowner *o, uint64_t n)
{
	for (uint64_t s = 0; s + n <= KDDF_USER_PAGES; s++) {
		uint64_t k = 0;
		while (k < n && !(o->used[(s + k) / 64] & (1ull << ((s + k) % 64))))
			k++;
		if (k == n) {
			for (k = 0; k < n; k++)
				o->used[(s + k) / 64] |= 1ull << ((s + k) % 64);
			return (int)s;
		}
		s += k;
	}
	return E_NOSPC;
}

static void
va_free(struct kowner *o, uint64_t page, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++)
		o->used[(page + k) / 64] &= ~(1ull << ((page + k) % 64));
}

/* Map pa[0..n) (contiguous) into owner; returns the kmap cookie. Unwinds on failure. */
static int
user_map(uint32_t owner, uint64_t pa, uint64_t n, unsigned kind, uint32_t buf, uint64_t *cookie)
{
	uint64_t pml4 = owner_pml4(owner);
	struct kowner *o = owner_get(owner, true);
	if (!pml4 || !o)
		return E_PERM;
	uint32_t m = 0;
	while (m < NMAPS && kmaps[m].used)
		m++;
	if (m == NMAPS)
		return E_NOSPC;
	int s = va_alloc(o, n);
	if (s < 0)
		return s;
	uint64_t va = KDDF_USER_VA + (uint64_t)s * PAGE_SIZE;
	for (uint64_t i = 0; i < n; i++) {
		if (vmm_map_page(pml4, va + i * PAGE_SIZE, pa + i * PAGE_SIZE, kind | VMM_USER) < 0) {
			while (i--)
				vmm_unmap_page(pml4, va + i * PAGE_SIZE);
			va_free(o, (uint64_t)s, n);
			return E_NOMEM;
		}
	}
	kmaps[m] = (struct kmap){ .used = true, .owner = owner, .va = va, .npages = n, .buf = buf };
	*cookie = m + 1;
	if (buf)
		dma_vma_add(owner, va, n);
	return 0;
}

static void
user_unmap(uint64_t cookie)
{
	if (!cookie || cookie > NMAPS || !kmaps[cookie - 1].used)
		return;
	struct kmap *m = &kmaps[cookie - 1];
	uint64_t pml4 = owner_pml4(m->owner);
	struct kowner *o = owner_get(m->owner, false);
	if (m->buf)
		dma_vma_drop(m->owner, m->va, m->npages);
	/* A dead process's tables are gone with it (proc_exit runs us first). */
	for (uint64_t i = 0; pml4 && i < m->npages; i++)
		vmm_unmap_page(pml4, m->va + i * PAGE_SIZE);
	if (o)
		va_free(o, (m->va - KDDF_USER_VA) / PAGE_SIZE, m->npages);
	if (m->buf && !m->share)
		kbufs[m->buf - 1].mapped = false;
	m->used = false;
}

/* ---- ops: PCI ---- */

static int
op_pci_get(void *ctx, uint32_t i, struct ddf_func *out)
{
	if (i >= pci.nfuncs)
		return E_NOENT;
	const struct pci_func *f = &pci_funcs[i];
	memset(out, 0, sizeof *out);
	out->addr = (struct ddf_pci_addr){ 0, f->bus, f->dev, f->fn };
	out->vendor = f->vendor;
	out->device = f->device;
	for (int b = 0; b < DDF_MAX_BARS; b++) {
		uint8_t t = f->bar[b].type;
		out->bar[b].kind = t == PCI_BAR_IO ? DDF_BAR_IO :
		    (t == PCI_BAR_MEM32 || t == PCI_BAR_MEM64) ? DDF_BAR_MEM : DDF_BAR_NONE;
		out->bar[b].size = t ? f->bar[b].size : 0;
	}
	return 0;
}

static uint64_t
op_now_ns(void *ctx)
{
	return time_stamp_ns();	/* audit records: no HPET read per submission */
}

static void
op_stop_bus_master(void *ctx, const struct ddf_claim *c)
{
	struct pci_func *f = claim_func(c);
	if (f)
		pci_write16(f, 0x04, pci_read16(f, 0x04) & ~PCI_CMD_MASTER);
}

static void
op_enable_bus_master(void *ctx, const struct ddf_claim *c)
{
	struct pci_func *f = claim_func(c);
	if (f)
		pci_write16(f, 0x04, pci_read16(f, 0x04) | PCI_CMD_MASTER | PCI_CMD_IO | PCI_CMD_MEM);
}

/* ---- ops: register windows ---- */

static int
op_map(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint64_t len,
    uint64_t *cookie)
{
	struct pci_func *f = claim_func(c);
	if (!f || !f->bar[bar].base)
		return E_NOENT;
	/* Read-only and uncached: the driver reads registers directly, writes go through the broker. */
	return user_map(c->owner, f->bar[bar].base + off, len / PAGE_SIZE, VMM_RO | VMM_UC, 0, cookie);
}

static void
op_unmap(void *ctx, const struct ddf_claim *c, uint64_t cookie)
{
	user_unmap(cookie);
}

static volatile uint8_t *
bar_kva(struct pci_func *f, uint8_t bar, uint64_t off, uint8_t width)
{
	/* pci_map_bar page-rounds and maps uncached; the window check already bounded off. */
	return (volatile uint8_t *)pci_map_bar(f, bar, off, width);
}

static uint32_t
op_reg_read(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint8_t width)
{
	struct pci_func *f = claim_func(c);
	if (!f)
		return ~0u;
	if (f->bar[bar].type == PCI_BAR_IO) {
		uint16_t port = (uint16_t)(f->bar[bar].base + off);
		return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
	}
	volatile uint8_t *p = bar_kva(f, bar, off, width);
	if (!p)
		return ~0u;
	return width == 1 ? *p : width == 2 ? *(volatile uint16_t *)p : *(volatile uint32_t *)p;
}

static void
op_reg_write(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off, uint8_t width,
    uint32_t v)
{
	struct pci_func *f = claim_func(c);
	if (!f)
		return;
	if (f->bar[bar].type == PCI_BAR_IO) {
		uint16_t port = (uint16_t)(f->bar[bar].base + off);
		if (width == 1)
			outb(port, (uint8_t)v);
		else if (width == 2)
			outw(port, (uint16_t)v);
		else
			outl(port, v);
		return;
	}
	volatile uint8_t *p = bar_kva(f, bar, off, width);
	if (!p)
		return;
	if (width == 1)
		*p = (uint8_t)v;
	else if (width == 2)
		*(volatile uint16_t *)p = (uint16_t)v;
	else
		*(volatile uint32_t *)p = v;
}

static void
op_write_dma_addr(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off,
    uint64_t buf_cookie, uint64_t buf_off)
{
	uint64_t a = kbufs[buf_cookie - 1].pa + buf_off;
	op_reg_write(ctx, c, bar, off, 4, (uint32_t)a);
	op_reg_write(ctx, c, bar, off + 4, 4, (uint32_t)(a >> 32));
}

static int
op_write_dma_pfn(void *ctx, const struct ddf_claim *c, uint8_t bar, uint64_t off,
    uint64_t buf_cookie)
{
	struct kbuf *b = &kbufs[buf_cookie - 1];
	int e;
	if ((b->pa >> 12) > 0xFFFFFFFFull)
		return E_RANGE;
	/* A legacy virtio ring holds device-visible addresses: the driver must never write it. */
	if ((e = kvirtio_legacy_ring(claim_index(c), buf_cookie)) < 0)
		return e;
	op_reg_write(ctx, c, bar, off, 4, (uint32_t)(b->pa >> 12));
	return 0;
}

/* ---- ops: interrupts ---- */

static void route_enter_service(struct kroute *r);
static int kddf_irq_deliver_locked(struct kroute *r);

static void
irq_handler(void *arg)
{
	struct kroute *r = arg;
	bool wake = false;
	uint64_t fl = spin_lock_irqsave(&lock);
	if (r->used && r->ddf)
		wake = kddf_irq_deliver_locked(r) == 1;
	spin_unlock_irqrestore(&lock, fl);
	/* A blocked Interrupt.wait completes now rather than at the next tick
	 * (up to 10 ms later). Our lock is released first: the order is bkl -> kddf. */
	if (wake)
		kddf_caps_wake();
}

/*
 * INTx lines. A level-triggered I/O APIC line may be wired to several
 * claimed functions; it is claimed once in the interrupt layer (klines) and
 * every route on it fires when it does: each driver checks its own device
 * (virtio: the ISR read, which also deasserts). Deferred EOI: the handler
 * masks the redirection entry (the interrupt layer EOIs the LAPIC), and the
 * line is unmasked when no route on it is in service any more, i.e. when
 * every driver that was fired acknowledged. A driver's own mask/unmask is
 * the function's INTx Disable bit, so it never silences its neighbours.
 * A line the kernel uses itself is refused (the interrupt layer says
 * E_BUSY for a claimed GSI; the PIT, cascade, COM1, RTC and the ACPI SCI
 * are refused by number as well).
 */
#define NLINES 8u

struct kline {
	uint32_t users;		/* routes on the line; 0 = slot free */
	uint32_t gsi;
	irq_handle_t h;
};
static struct kline klines[NLINES];

static void line_handler(void *arg);

static bool
route_in_service_on(uint32_t li)
{
	for (uint32_t i = 0; i < NROUTES; i++)
		if (kroutes[i].used && kroutes[i].kind == DDF_IRQ_INTX && kroutes[i].line == li &&
		    kroutes[i].in_service)
			return true;
	return false;
}

static void
line_update(uint32_t li)
{
	ioapic_mask(klines[li].gsi, route_in_service_on(li));
}

static bool
gsi_kernel_owned(uint32_t gsi)
{
	static const uint8_t isa[] = { 0, 2, 4, 8 };	/* PIT, cascade, COM1, RTC */
	bool low, level;
	for (uint32_t i = 0; i < sizeof isa; i++)
		if (ioapic_isa_gsi(isa[i], &low, &level) == gsi)
			return true;
	return acpi.fadt.sci_irq && ioapic_isa_gsi((uint8_t)acpi.fadt.sci_irq, &low, &level) == gsi;
}

/* Find or claim the line the function's INTx pin is routed to. */
static int
line_get(struct pci_func *f, uint32_t *out)
{
	bool low, level;
	uint32_t li, freel = NLINES;
	if (f->irq_pin < 1 || f->irq_pin > 4 || f->irq_line == 0 || f->irq_line == 0xFF)
		return E_NOTSUP;	/* no pin, or the firmware routed none */
	uint32_t gsi = ioapic_pci_gsi(f->irq_line, &low, &level);
	if (!level)
		return E_NOTSUP;	/* an edge line cannot be shared or acknowledged late */
	if (gsi_kernel_owned(gsi))
		return E_BUSY;
	for (li = 0; li < NLINES; li++) {
		if (klines[li].users && klines[li].gsi == gsi)
			break;
		if (!klines[li].users && freel == NLINES)
			freel = li;
	}
	if (li == NLINES) {
		if ((li = freel) == NLINES)
			return E_NOSPC;
		int e = irq_route_claim_gsi(gsi, low, level, 0, line_handler,
		    (void *)(uintptr_t)li, &klines[li].h);
		if (e)
			return e;	/* E_BUSY: the kernel holds that GSI */
		klines[li].gsi = gsi;
		kprintf("capos: ddf-intx-line gsi=%u line=%u %s active_%s\n", gsi, f->irq_line,
		    level ? "level" : "edge", low ? "low" : "high");
	}
	klines[li].users++;
	*out = li;
	return 0;
}

static void
line_put(uint32_t li)
{
	if (--klines[li].users == 0) {
		irq_route_release(klines[li].h);	/* masks the entry, bumps its generation */
		klines[li] = (struct kline){ 0 };
	} else {
		line_update(li);
	}
}

static void
intx_disable(struct kroute *r, bool off)
{
	uint16_t cmd = pci_read16(r->f, 0x04);
	pci_write16(r->f, 0x04, off ? cmd | PCI_CMD_INTX_OFF : cmd & ~PCI_CMD_INTX_OFF);
}

static int
op_route(void *ctx, const struct ddf_claim *c, uint8_t kind, uint16_t index, uint64_t *cookie)
{
	struct pci_func *f = claim_func(c);
	if (!f)
		return E_NOENT;
	uint32_t i = 0;
	while (i < NROUTES && kroutes[i].used)
		i++;
	if (i == NROUTES)
		return E_NOSPC;
	/* One interrupt mode per function: MSI-X, MSI and INTx exclude each other (PCI 3.0 6.8). */
	for (uint32_t j = 0; j < NROUTES; j++)
		if (kroutes[j].used && kroutes[j].claim == claim_index(c) && kroutes[j].kind != kind)
			return E_BUSY;
	struct kroute *r = &kroutes[i];
	*r = (struct kroute){ .f = f, .kind = kind, .index = index, .claim = claim_index(c) };
	int e;
	uint32_t li = 0;
	switch (kind) {
	case DDF_IRQ_MSIX:
		e = irq_route_claim_msix(f, index, c->owner, irq_handler, r, &r->h);
		break;
	case DDF_IRQ_MSI:
		if (index)
			return E_RANGE;
		msix_disable(f);	/* a previous claim's MSI-X may be left enabled */
		e = irq_route_claim_msi(f, c->owner, irq_handler, r, &r->h);
		break;
	case DDF_IRQ_INTX:
		if (index)
			return E_RANGE;
		msix_disable(f);	/* a live MSI-X or MSI would silence the pin */
		msi_disable(f);
		if ((e = line_get(f, &li)) < 0)
			break;
		r->line = (uint8_t)li;
		intx_disable(r, false);
		kprintf("capos: ddf-intx-route device=%02x:%02x.%x pin=INT%c gsi=%u sharing=%u\n",
		    f->bus, f->dev, f->fn, 'A' + f->irq_pin - 1, klines[li].gsi, klines[li].users);
		break;
	default:
		return E_NOTSUP;
	}
	if (e)
		return e;
	r->used = true;
	if (kind == DDF_IRQ_INTX)
		line_update(li);
	*cookie = i + 1;
	return 0;
}

static void
op_drop_route(void *ctx, const struct ddf_claim *c, uint64_t cookie)
{
	struct kroute *r = &kroutes[cookie - 1];
	r->used = false;
	r->ddf = 0;
	if (r->kind == DDF_IRQ_INTX) {
		intx_disable(r, true);	/* the pin quiet before the line may unmask */
		line_put(r->line);
	} else {
		irq_route_release(r->h);	/* masks the source, frees the vector, bumps its generation */
	}
}

/*
 * The source's mask: the driver's mask, or (MSI-X, MSI) a storm while in
 * service. MSI-X and MSI are written only when that changes: the common
 * delivery and acknowledge write nothing.
 */
static void
route_mask_set(struct kroute *r)
{
	struct pci_func *f = r->f;
	bool masked = r->user_masked || r->storm >= KDDF_IRQ_STORM;
	if (r->kind != DDF_IRQ_INTX) {
		if (masked == r->hw_masked)
			return;
		r->hw_masked = masked;
	}
	switch (r->kind) {
	case DDF_IRQ_MSIX:
		if (f->msix_table && r->index < f->msix_size)
			f->msix_table[r->index * 4 + 3] = masked ? 1u : 0u;
		break;
	case DDF_IRQ_MSI:
		msi_mask(f, masked);
		break;
	case DDF_IRQ_INTX:
		intx_disable(r, r->user_masked);
		line_update(r->line);
		break;
	}
}

static void
route_enter_service(struct kroute *r)
{
	if (r->kind == DDF_IRQ_INTX) {
		r->in_service = true;
		ioapic_mask(klines[r->line].gsi, true);
		return;
	}
	if (!r->in_service) {
		r->in_service = true;
		r->storm = 1;
		return;
	}
	/* Another message before the acknowledge: counted; a storm masks. */
	if (r->storm < KDDF_IRQ_STORM && ++r->storm == KDDF_IRQ_STORM) {
		r->storms++;
		route_mask_set(r);
	}
}

static void
op_mask(void *ctx, uint64_t cookie, int masked)
{
	struct kroute *r = &kroutes[cookie - 1];
	r->user_masked = masked != 0;
	route_mask_set(r);
}

static void
op_eoi(void *ctx, uint64_t cookie)
{
	struct kroute *r = &kroutes[cookie - 1];
	r->in_service = false;
	r->storm = 0;
	route_mask_set(r);
}

/* An INTx line fired: every live route on it is delivered (its driver checks its device). */
static void
line_handler(void *arg)
{
	uint32_t li = (uint32_t)(uintptr_t)arg;
	bool wake = false;
	uint64_t fl = spin_lock_irqsave(&lock);
	if (!klines[li].users) {	/* released while this interrupt was in flight */
		spin_unlock_irqrestore(&lock, fl);
		return;
	}
	ioapic_mask(klines[li].gsi, true);	/* level: silent until acknowledged */
	for (uint32_t i = 0; i < NROUTES; i++) {
		struct kroute *r = &kroutes[i];
		if (r->used && r->ddf && r->kind == DDF_IRQ_INTX && r->line == li)
			wake |= kddf_irq_deliver_locked(r) == 1;
	}
	line_update(li);	/* no live route fired: nothing will acknowledge */
	spin_unlock_irqrestore(&lock, fl);
	if (wake)
		kddf_caps_wake();
}

/* ---- ops: DMA ---- */

static int
op_dma_alloc(void *ctx, const struct ddf_claim *c, uint64_t size, uint64_t *cookie)
{
	uint32_t i = 0;
	while (i < NBUFFERS && kbufs[i].used)
		i++;
	if (i == NBUFFERS)
		return E_NOSPC;
	uint64_t pa, n = size / PAGE_SIZE;
	if (pmm_alloc_contig(n, &pa) < 0)	/* zeroed (invariant 4) */
		return E_NOMEM;
	kbufs[i] = (struct kbuf){ .used = true, .pa = pa, .npages = n };
	*cookie = i + 1;
	return 0;
}

static int
op_dma_map(void *ctx, const struct ddf_claim *c, uint64_t buf_cookie, uint64_t size,
    uint64_t *map_cookie)
{
	struct kbuf *b = &kbufs[buf_cookie - 1];
	if (b->ring)
		return E_PERM;	/* a ring the kernel writes addresses into is never user-visible */
	int e = user_map(c->owner, b->pa, b->npages, VMM_RW, (uint32_t)buf_cookie, map_cookie);
	if (!e)
		b->mapped = true;
	return e;
}

static void
op_dma_unmap(void *ctx, const struct ddf_claim *c, uint64_t map_cookie)
{
	user_unmap(map_cookie);
}

static void
op_publish(void *ctx, const struct ddf_claim *c, uint16_t queue, uint16_t slot,
    uint64_t buf_cookie, uint64_t off, uint32_t len, uint16_t flags, uint16_t next,
    int deferred)
{
	/* NVMe: kddf_nvme.c writes the SQE after the ledger recorded the window. */
	kvirtio_publish(claim_index(c), queue, slot, kbufs[buf_cookie - 1].pa + off, len, flags,
	    next, deferred);
}

static void
op_drain(void *ctx, const struct ddf_claim *c)
{
	struct pci_func *f = claim_func(c);
	struct kdev *d = &kdevs[claim_index(c)];
	if (!f)
		return;
	if (d->fmt == KDDF_FMT_NVME)
		kddf_nvme_drain(claim_index(c));	/* CC.EN = 0 before the queue pages go */
	/* PCIe: wait (bounded) for Transactions Pending to clear (PCIe 5.0 §7.5.3.5). */
	if (f->cap_pcie)
		for (int i = 0; i < 1000 && (pci_read16(f, f->cap_pcie + 0x0A) & (1u << 5)); i++)
			pause();
	kvirtio_drain(claim_index(c));	/* virtio: device reset, rings forgotten */
}

/* The orphaned share of buffer buf_cookie that holds page i, or NULL. */
static struct kmap *
orphan_at(uint64_t buf_cookie, uint64_t i)
{
	for (uint32_t m = 0; m < NMAPS; m++) {
		struct kmap *k = &kmaps[m];
		if (k->used && k->orphan && k->buf == buf_cookie && i >= k->boff / PAGE_SIZE &&
		    i < k->boff / PAGE_SIZE + k->npages)
			return k;
	}
	return NULL;
}

static void
op_scrub_free(void *ctx, const struct ddf_claim *c, uint64_t buf_cookie, uint64_t size)
{
	struct kbuf *b = &kbufs[buf_cookie - 1];
	/* Scrub before release; a page an orphaned share left mapped in its holder is
	 * the holder's memory now (freed with its address space, never scrubbed here). */
	for (uint64_t i = 0; i < b->npages; i++) {
		if (orphan_at(buf_cookie, i))
			continue;
		memset(phys_to_virt(b->pa + i * PAGE_SIZE), 0, PAGE_SIZE);
		pmm_free(b->pa + i * PAGE_SIZE);
	}
	for (uint32_t m = 0; m < NMAPS; m++)
		if (kmaps[m].used && kmaps[m].orphan && kmaps[m].buf == buf_cookie)
			kmaps[m].used = false;	/* PTEs, VMA and address range stay the holder's */
	memset(b, 0, sizeof *b);
}

/*
 * A DmaWindow mapped into its holder: the buffer's pages [off, off + len), read-write,
 * with a VMA so the holder's RECV/CALL/RETURN may use them. Not a ring (rings are
 * never mapped, so never shared).
 */
static int
op_share_map(void *ctx, const struct ddf_claim *c, uint64_t buf_cookie, uint64_t off,
    uint64_t len, uint32_t holder, uint64_t *cookie)
{
	struct kbuf *b = &kbufs[buf_cookie - 1];
	if (b->ring)
		return E_PERM;
	if (!owner_proc(holder))
		return E_PERM;		/* a process, not a kernel owner */
	int e = user_map(holder, b->pa + off, len / PAGE_SIZE, VMM_RW, (uint32_t)buf_cookie,
	    cookie);
	if (!e) {
		kmaps[*cookie - 1].share = true;
		kmaps[*cookie - 1].boff = off;
	}
	return e;
}

static void
op_share_unmap(void *ctx, uint64_t cookie)
{
	user_unmap(cookie);
}

/* The holder keeps the mapping; op_scrub_free of the buffer skips its pages. */
static void
op_share_orphan(void *ctx, uint64_t cookie)
{
	if (cookie && cookie <= NMAPS && kmaps[cookie - 1].used && kmaps[cookie - 1].share)
		kmaps[cookie - 1].orphan = true;
}

static const struct ddf_ops kops = {
	.pci_get = op_pci_get, .now_ns = op_now_ns,
	.stop_bus_master = op_stop_bus_master, .enable_bus_master = op_enable_bus_master,
	.map = op_map, .unmap = op_unmap, .route = op_route, .drop_route = op_drop_route,
	.mask = op_mask, .eoi = op_eoi, .reg_read = op_reg_read, .reg_write = op_reg_write,
	.write_dma_addr = op_write_dma_addr, .write_dma_pfn = op_write_dma_pfn,
	.dma_alloc = op_dma_alloc, .dma_map = op_dma_map, .dma_unmap = op_dma_unmap,
	.publish = op_publish, .drain = op_drain, .scrub_free = op_scrub_free,
	.share_map = op_share_map, .share_unmap = op_share_unmap, .share_orphan = op_share_orphan,
};

/* ---- the completion path: used rings -> ddf_dma_device_done ---- */

static void
poll_claim(uint32_t ci)
{
	struct kdev *d = &kdevs[ci];
	if (d->fmt == KDDF_FMT_NVME)
		kddf_nvme_poll(ci);
	kvirtio_poll(ci);
}

static int
kddf_irq_deliver_locked(struct kroute *r)
{
	route_enter_service(r);
	poll_claim(r->claim);
	return ddf_irq_fire(&L, r->ddf);
}

/* ---- API: each call takes the lock, calls the ledger, releases ---- */

#define LOCKED(expr) ({ uint64_t fl_ = spin_lock_irqsave(&lock); int r_ = (expr); \
	spin_unlock_irqrestore(&lock, fl_); r_; })

void
kddf_init(void)
{
	static const struct ddf_tables t = {
		claims, NCLAIMS, windows, NWINDOWS, routes, NROUTES, buffers, NBUFFERS, subs, NSUBS,
		shares, NSHARES,
	};
	ddf_audit_init(&audit, audit_recs, NAUDIT);
	ddf_init(&L, &t, &kops, NULL, &audit);
	kprintf("capos: ddf-ok claims=%u windows=%u routes=%u buffers=%u subs=%u audit=%u\n",
		NCLAIMS, NWINDOWS, NROUTES, NBUFFERS, NSUBS, NAUDIT);
	iommu_print_backend();	/* kernel/iommu: what the probe found; DMA stays on bounce pages */
}

struct ddf_ledger *
kddf_ledger(void)
{
	return &L;
}

/*
 * DeviceMmio.config: the first 256 bytes of configuration space as read at
 * claim time, BARs and the expansion ROM base zeroed (they are host-physical
 * addresses; BAR kinds and sizes come from each window's info).
 */
static uint8_t cfgsnap[NCLAIMS][256];

static void
config_snapshot(uint32_t ci, struct pci_func *f)
{
	memset(cfgsnap[ci], 0, sizeof cfgsnap[ci]);
	for (uint32_t o = 0; f && o < sizeof cfgsnap[ci]; o += 4) {
		uint32_t v = (o >= 0x10 && o < 0x28) || o == 0x30 ? 0 : pci_read32(f, (uint16_t)o);
		memcpy(&cfgsnap[ci][o], &v, 4);
	}
}

/* The claim slot of a window `owner` presents, or the decode error. */
static int
win_claim_index(uint32_t owner, ddf_handle win, uint32_t *ci)
{
	ddf_handle ch;
	int e = ddf_object_claim(&L, owner, win, &ch);
	if (e == 0 && ddf_handle_kind(win) != DDF_K_WINDOW)
		e = E_BADF;
	*ci = ddf_handle_index(ch);
	return e;
}

static int
config_locked(uint32_t owner, ddf_handle win, uint8_t *out)
{
	uint32_t ci;
	int e = win_claim_index(owner, win, &ci);
	if (e == 0)
		memcpy(out, cfgsnap[ci], 256);
	return e;
}

int
kddf_mmio_config(uint32_t owner, ddf_handle win, uint8_t out[256])
{
	return LOCKED(config_locked(owner, win, out));
}

static int
claim_locked(const struct ddf_selector *sel, const struct ddf_policy *pol, uint8_t fmt,
    ddf_handle *out)
{
	int e = ddf_claim(&L, sel, pol, out);
	if (e)
		return e;
	const struct ddf_claim *c = ddf_claim_get(&L, *out);
	struct kdev *d = &kdevs[claim_index(c)];
	memset(d, 0, sizeof *d);
	d->f = claim_func(c);
	d->fmt = fmt;
	if (fmt == KDDF_FMT_NVME)
		d->nvme = kddf_nvme_attach(claim_index(c), c->owner);
	config_snapshot(claim_index(c), d->f);
	kvirtio_claimed(claim_index(c), NULL);
	return 0;
}

/* Whether an active claim holds the function a selector names (nothing is touched). */
static bool
func_claimed(const struct ddf_func *fn)
{
	for (uint32_t i = 0; i < NCLAIMS; i++)
		if (claims[i].state == DDF_CLAIM_ACTIVE && ddf_pci_addr_eq(&claims[i].fn.addr, &fn->addr))
			return true;
	return false;
}

static int
claim_virtio_locked(const struct ddf_selector *sel, uint8_t bar, uint32_t owner, uint64_t budget,
    uint32_t max_inflight, ddf_handle *out)
{
	struct ddf_func fn;
	struct ddf_policy pol;
	struct kvirtio_caps vc;
	struct pci_func *f;
	int e;

	if ((e = ddf_find_func(&L, sel, &fn)) < 0 || func_claimed(&fn))
		return E_NOTSUP;	/* the caller's plain claim reports absent / already claimed */
	f = pci_find_bdf(fn.addr.bus, fn.addr.device, fn.addr.function);
	uint8_t fmt = kvirtio_format(f, bar, &vc);
	if (fmt == KDDF_FMT_VIRTIO_LEGACY)
		kddf_policy_virtio_legacy(&pol, owner, budget, max_inflight);
	else if (fmt == KDDF_FMT_VIRTIO_MODERN)
		kvirtio_policy_modern(f, &vc, &pol, owner, budget, max_inflight);	/* reads queue notify offsets */
	else
		return E_NOTSUP;
	if ((e = claim_locked(sel, &pol, fmt, out)) < 0)
		return e;
	if (fmt == KDDF_FMT_VIRTIO_MODERN)
		kvirtio_claimed(ddf_handle_index(*out), &vc);
	return 0;
}

int
kddf_claim_virtio(const struct ddf_selector *sel, uint8_t bar, uint32_t owner, uint64_t budget,
    uint32_t max_inflight, ddf_handle *out)
{
	return LOCKED(claim_virtio_locked(sel, bar, owner, budget, max_inflight, out));
}

int
kddf_claim(const struct ddf_selector *sel, const struct ddf_policy *pol, uint8_t fmt,
    ddf_handle *out)
{
	return LOCKED(claim_locked(sel, pol, fmt, out));
}

int
kddf_teardown(ddf_handle claim, uint8_t reason)
{
	return LOCKED(ddf_teardown(&L, claim, reason));
}

static int
owner_gone_locked(uint32_t owner, uint8_t reason)
{
	int n = ddf_owner_gone(&L, owner, reason);
	struct kowner *o = owner_get(owner, false);
	if (o && !o->pml4)
		o->owner = 0;	/* a process's DDF range is gone with its address space */
	return n;
}

static int
owner_has_claim_locked(uint32_t owner)
{
	for (uint32_t i = 0; i < NCLAIMS; i++)
		if (claims[i].state == DDF_CLAIM_ACTIVE && claims[i].owner == owner)
			return 1;
	return 0;
}

int
kddf_owner_gone(uint32_t owner, uint8_t reason)
{
	if (LOCKED(owner_has_claim_locked(owner))) {
		struct ddf_totals t;
		uint64_t fr;
		kddf_print_ledger("owner-gone-before", &t, &fr);
	}
	int n = LOCKED(owner_gone_locked(owner, reason));
	if (n > 0) {
		struct ddf_totals t;
		uint64_t fr;
		kprintf("capos: ddf-owner-gone owner=%u reason=%s claims=%d\n", owner,
			reason == DDF_TD_CRASH ? "crash" : "exit", n);
		kddf_print_ledger("owner-gone", &t, &fr);
	}
	return n;
}

int
kddf_bus_master_enable(uint32_t owner, ddf_handle claim)
{
	return LOCKED(ddf_bus_master_enable(&L, owner, claim));
}

int
kddf_queue_configure(uint32_t owner, ddf_handle claim, uint16_t queue, uint32_t depth)
{
	return LOCKED(ddf_queue_configure(&L, owner, claim, queue, depth));
}

int
kddf_mmio_grant(uint32_t owner, ddf_handle claim, uint8_t bar, uint64_t off, uint64_t len,
    ddf_handle *out)
{
	return LOCKED(ddf_mmio_grant(&L, owner, claim, bar, off, len, out));
}

static int
mmio_map_locked(uint32_t owner, ddf_handle win, uint64_t *va, uint32_t *map_gen)
{
	uint64_t cookie;
	int e = ddf_mmio_map(&L, owner, win, &cookie, map_gen);
	if (!e) {
		const struct ddf_window *w = &windows[ddf_handle_index(win)];
		const struct ddf_claim *c = &claims[w->claim];
		struct pci_func *f = claim_func(c);
		*va = kmaps[cookie - 1].va + ((f->bar[w->bar].base + w->offset) & (PAGE_SIZE - 1));
	}
	return e;
}

int
kddf_mmio_map(uint32_t owner, ddf_handle win, uint64_t *va, uint32_t *map_gen)
{
	return LOCKED(mmio_map_locked(owner, win, va, map_gen));
}

int
kddf_mmio_unmap(uint32_t owner, ddf_handle win, uint32_t map_gen)
{
	return LOCKED(ddf_mmio_unmap(&L, owner, win, map_gen));
}

int
kddf_mmio_release(uint32_t owner, ddf_handle win)
{
	return LOCKED(ddf_mmio_release(&L, owner, win));
}

int
kddf_mmio_read(uint32_t owner, ddf_handle win, uint64_t off, uint8_t width, uint32_t *v)
{
	return LOCKED(ddf_mmio_read(&L, owner, win, off, width, v));
}

/* The format's own write rules first (modern virtio queue order), then the ledger's policy. */
static int
mmio_write_locked(uint32_t owner, ddf_handle win, uint64_t off, uint8_t width, uint32_t v)
{
	uint32_t ci = NCLAIMS;
	uint8_t bar = 0;
	int e;
	if (win_claim_index(owner, win, &ci) == 0) {
		bar = windows[ddf_handle_index(win)].bar;
		if ((e = kvirtio_write_check(ci, bar, off, width, v)) < 0)
			return e;
	}
	if ((e = ddf_mmio_write(&L, owner, win, off, width, v)) == 0)
		kvirtio_written(ci, bar, off, width, v);
	return e;
}

int
kddf_mmio_write(uint32_t owner, ddf_handle win, uint64_t off, uint8_t width, uint32_t v)
{
	return LOCKED(mmio_write_locked(owner, win, off, width, v));
}

/*
 * A legacy virtio queue is programmed: the ledger learns its depth (the
 * device's QUEUE_SIZE) and bus mastering is enabled through the ledger, since
 * the device may now DMA into the ring. (Neither has a cap method of its own.)
 */
/*
 * A virtio queue is programmed: the ledger learns its depth (the ring's
 * size) and bus mastering is enabled through the ledger, since the device
 * may now DMA into the ring. (Neither has a cap method of its own.)
 */
static int
queue_ready(uint32_t owner, uint32_t ci, uint16_t queue, uint16_t size)
{
	ddf_handle ch = ddf_handle_make(DDF_K_CLAIM, ci, claims[ci].gen);
	int e = 0;
	if (claims[ci].qdepth[queue] != size && (e = ddf_queue_configure(&L, owner, ch, queue, size)))
		return e;
	if (!claims[ci].bus_master)
		e = ddf_bus_master_enable(&L, owner, ch);
	return e;
}

static int
brokered_pfn_locked(uint32_t owner, ddf_handle win, uint64_t off, ddf_handle buf)
{
	int e = ddf_mmio_brokered_pfn(&L, owner, win, off, buf);
	if (e)
		return e;
	uint32_t ci = windows[ddf_handle_index(win)].claim;
	struct kdev *d = &kdevs[ci];
	if (d->fmt == KDDF_FMT_VIRTIO_LEGACY && d->qsel < VQ_MAX)
		e = queue_ready(owner, ci, d->qsel, d->q[d->qsel].size);
	return e;
}

int
kddf_mmio_brokered_pfn(uint32_t owner, ddf_handle win, uint64_t off, ddf_handle buf)
{
	return LOCKED(brokered_pfn_locked(owner, win, off, buf));
}

/* Modern virtio queue addresses (and any other ADDR64 rule): format checks, then the ledger. */
static int
brokered_addr_locked(uint32_t owner, ddf_handle win, uint64_t off, ddf_handle buf,
    uint64_t buf_off)
{
	const struct ddf_buffer *b = ddf_buffer_get(&L, buf);
	uint32_t ci;
	int e, ready = 0;
	uint16_t q = 0, qs = 0;
	if (win_claim_index(owner, win, &ci) == 0 && b && b->claim == ci &&
	    (e = kvirtio_base_check(ci, windows[ddf_handle_index(win)].bar, off, b->cookie,
	    buf_off)) < 0)
		return e;
	if ((e = ddf_mmio_brokered_addr(&L, owner, win, off, buf, buf_off)) < 0)
		return e;
	kvirtio_base_done(ci, windows[ddf_handle_index(win)].bar, off, b->cookie, &ready, &q, &qs);
	return ready ? queue_ready(owner, ci, q, qs) : 0;
}

int
kddf_mmio_brokered_addr(uint32_t owner, ddf_handle win, uint64_t off, ddf_handle buf,
    uint64_t buf_off)
{
	return LOCKED(brokered_addr_locked(owner, win, off, buf, buf_off));
}

static int
irq_route_locked(uint32_t owner, ddf_handle claim, uint8_t kind, uint16_t index, ddf_handle *out)
{
	int e = ddf_irq_route(&L, owner, claim, kind, index, out);
	if (!e)
		kroutes[routes[ddf_handle_index(*out)].cookie - 1].ddf = *out;
	return e;
}

int
kddf_irq_route(uint32_t owner, ddf_handle claim, uint8_t kind, uint16_t index, ddf_handle *out)
{
	return LOCKED(irq_route_locked(owner, claim, kind, index, out));
}

int
kddf_irq_wait(uint32_t owner, ddf_handle route)
{
	return LOCKED(ddf_irq_wait(&L, owner, route));
}

int
kddf_irq_ack(uint32_t owner, ddf_handle route)
{
	return LOCKED(ddf_irq_ack(&L, owner, route));
}

int
kddf_irq_mask(uint32_t owner, ddf_handle route, int masked)
{
	return LOCKED(ddf_irq_mask(&L, owner, route, masked));
}

int
kddf_irq_release(uint32_t owner, ddf_handle route)
{
	return LOCKED(ddf_irq_release(&L, owner, route));
}

static int
irq_deliver_locked(ddf_handle route)
{
	uint32_t i = ddf_handle_index(route);
	if (i < NROUTES && routes[i].gen == ddf_handle_gen(route) && routes[i].cookie &&
	    kroutes[routes[i].cookie - 1].used)
		return kddf_irq_deliver_locked(&kroutes[routes[i].cookie - 1]);
	return ddf_irq_fire(&L, route);	/* stale: the ledger refuses and records it */
}

int
kddf_irq_deliver(ddf_handle route)
{
	return LOCKED(irq_deliver_locked(route));
}

/* The live kernel route behind a ledger route handle's slot, or NULL. */
static const struct kroute *
kroute_of(ddf_handle route)
{
	uint32_t i = ddf_handle_index(route);
	if (i >= NROUTES || !routes[i].cookie || !kroutes[routes[i].cookie - 1].used)
		return NULL;
	return &kroutes[routes[i].cookie - 1];
}

uint8_t
kddf_irq_vector(ddf_handle route)
{
	struct irq_route info;
	const struct kroute *r = kroute_of(route);
	if (!r)
		return 0;
	if (irq_route_info(r->kind == DDF_IRQ_INTX ? klines[r->line].h : r->h, &info))
		return 0;
	return info.vector;
}

int
kddf_irq_source_masked(ddf_handle route)
{
	const struct kroute *r = kroute_of(route);
	if (!r)
		return E_STALE;
	if (r->kind != DDF_IRQ_MSIX || !r->f->msix_table || r->index >= r->f->msix_size)
		return E_NOTSUP;
	return (int)(r->f->msix_table[r->index * 4 + 3] & 1u);	/* the device's own bit */
}

uint32_t
kddf_irq_storms(ddf_handle route)
{
	const struct kroute *r = kroute_of(route);
	return r ? r->storms : 0;
}

int
kddf_dma_alloc(uint32_t owner, ddf_handle claim, uint64_t size, uint8_t dir, ddf_handle *out)
{
	return LOCKED(ddf_dma_alloc(&L, owner, claim, size, dir, out));
}

static int
dma_map_locked(uint32_t owner, ddf_handle buf, uint64_t *va, uint32_t *map_gen)
{
	uint64_t cookie;
	int e = ddf_dma_map(&L, owner, buf, &cookie, map_gen);
	if (!e)
		*va = kmaps[cookie - 1].va;
	return e;
}

int
kddf_dma_map(uint32_t owner, ddf_handle buf, uint64_t *va, uint32_t *map_gen)
{
	return LOCKED(dma_map_locked(owner, buf, va, map_gen));
}

int
kddf_dma_share(uint32_t owner, ddf_handle buf, uint64_t off, uint64_t len, ddf_handle *out)
{
	return LOCKED(ddf_dma_share(&L, owner, buf, off, len, out));
}

static int
share_map_locked(uint32_t holder, ddf_handle share, uint64_t *va, uint64_t *len)
{
	uint64_t cookie;
	int e = ddf_share_map(&L, holder, share, &cookie);
	if (!e) {
		*va = kmaps[cookie - 1].va;
		*len = kmaps[cookie - 1].npages * PAGE_SIZE;
	}
	return e;
}

int
kddf_share_map(uint32_t holder, ddf_handle share, uint64_t *va, uint64_t *len)
{
	return LOCKED(share_map_locked(holder, share, va, len));
}

int
kddf_share_unmap(uint32_t holder, ddf_handle share)
{
	return LOCKED(ddf_share_unmap(&L, holder, share));
}

int
kddf_share_release(ddf_handle share)
{
	return LOCKED(ddf_share_release(&L, share));
}

static int
share_info_locked(ddf_handle share, uint8_t *state, uint64_t *len, uint32_t *holder)
{
	const struct ddf_share *s = ddf_share_get(&L, share);
	*state = s ? s->state : 0;
	*len = s ? s->length : 0;
	*holder = s ? s->holder : 0;
	return 0;
}

void
kddf_share_info(ddf_handle share, uint8_t *state, uint64_t *len, uint32_t *holder)
{
	(void)LOCKED(share_info_locked(share, state, len, holder));
}

int
kddf_dma_free(uint32_t owner, ddf_handle buf)
{
	return LOCKED(ddf_dma_free(&L, owner, buf));
}

int
kddf_dma_release(uint32_t owner, ddf_handle buf)
{
	return LOCKED(ddf_dma_release(&L, owner, buf));
}

static int
dma_submit_locked(uint32_t owner, ddf_handle buf, const struct ddf_desc *d, ddf_handle *token)
{
	const struct ddf_buffer *b = ddf_buffer_get(&L, buf);
	/* The format checks the ledger cannot make (it does not know the device's ring). */
	if (b && (kdevs[b->claim].fmt == KDDF_FMT_NONE ||
	    kvirtio_submit_check(b->claim, d->queue, d->slot, d->flags, d->next) < 0))
		return E_INVAL;
	/* A ring is never a descriptor's data: the device would write the table. */
	if (b && kbufs[b->cookie - 1].ring)
		return E_PERM;
	if (!b)
		return ddf_dma_submit_desc(&L, owner, buf, d, token);	/* refused and audited */
	uint32_t ci = b->claim;
	int e = ddf_dma_submit_desc(&L, owner, buf, d, token);
	if (!e && !d->deferred)
		kvirtio_head_token(ci, d->queue, d->slot, *token);	/* the used ring names heads */
	return e;
}

int
kddf_dma_submit_desc(uint32_t owner, ddf_handle buf, const struct ddf_desc *d, ddf_handle *token)
{
	return LOCKED(dma_submit_locked(owner, buf, d, token));
}

static int
dma_notify_locked(uint32_t owner, ddf_handle buf, uint16_t queue, bool ring)
{
	const struct ddf_buffer *b = ddf_buffer_get(&L, buf);
	if (!b || claims[b->claim].state != DDF_CLAIM_ACTIVE || claims[b->claim].owner != owner)
		return E_PERM;
	return kvirtio_notify(b->claim, queue, ring);
}

int
kddf_dma_notify(uint32_t owner, ddf_handle buf, uint16_t queue, bool ring)
{
	return LOCKED(dma_notify_locked(owner, buf, queue, ring));
}

int
kddf_dma_submit(uint32_t owner, ddf_handle buf, uint16_t queue, uint16_t slot, uint64_t off,
    uint32_t len, uint16_t flags, ddf_handle *token)
{
	const struct ddf_desc d = { queue, slot, off, len, flags, 0, 0 };
	return kddf_dma_submit_desc(owner, buf, &d, token);
}

static int
dma_complete_locked(uint32_t owner, ddf_handle buf, ddf_handle token, uint32_t *bytes)
{
	const struct ddf_buffer *b = ddf_buffer_get(&L, buf);
	if (b)
		poll_claim(b->claim);
	return ddf_dma_complete(&L, owner, buf, token, bytes);
}

int
kddf_dma_complete(uint32_t owner, ddf_handle buf, ddf_handle token, uint32_t *bytes)
{
	return LOCKED(dma_complete_locked(owner, buf, token, bytes));
}

int
kddf_dma_device_done(ddf_handle token, uint32_t bytes)
{
	return LOCKED(ddf_dma_device_done(&L, token, bytes));
}

/* ---- observation ---- */

void
kddf_print_ledger(const char *tag, struct ddf_totals *t, uint64_t *free_frames)
{
	struct pmm_stats st;
	uint64_t fl = spin_lock_irqsave(&lock);
	ddf_totals(&L, t);
	int inv = ddf_check_invariants(&L);
	spin_unlock_irqrestore(&lock, fl);
	pmm_stats(&st);
	*free_frames = st.free_frames;
	kprintf("capos: ddf-ledger at=%s claims=%u mappings=%u routes=%u pool_bytes=%lu buffers=%u "
		"inflight=%u completed=%u ring_holds=%u free_frames=%lu invariants=%s\n", tag,
		t->claims, t->mapped + t->buf_mapped, t->routes, t->dma_used, t->buffers, t->inflight,
		t->completed, t->ring_holds, st.free_frames, inv ? err_name(inv) : "ok");
}

int
kddf_fmt_devices(char *buf, uint64_t size)
{
	return LOCKED(ddf_fmt_devices(&L, buf, size));
}

int
kddf_audit_read(uint64_t cursor, struct ddf_audit_rec *out, uint32_t max, uint64_t *next,
    uint64_t *dropped)
{
	return LOCKED(ddf_audit_read(&audit, cursor, out, max, next, dropped));
}

/* A parked Interrupt.wait: 0 still blocked, > 0 fired (EOI now owed), < 0 refused/revoked. */
static int
irq_poll_locked(uint32_t owner, ddf_handle route)
{
	uint32_t i = ddf_handle_index(route);
	if (i >= NROUTES || routes[i].gen != ddf_handle_gen(route) || routes[i].state != DDF_ROUTE_LIVE)
		return E_STALE;
	if (routes[i].waiting)
		return 0;
	return ddf_irq_wait(&L, owner, route);
}

int
kddf_irq_poll(uint32_t owner, ddf_handle route)
{
	return LOCKED(irq_poll_locked(owner, route));
}

/* The live claim handle of a claim slot (a reset bumps the generation). */
ddf_handle
kddf_claim_handle(uint32_t index)
{
	if (index >= NCLAIMS || claims[index].state != DDF_CLAIM_ACTIVE)
		return 0;
	return ddf_handle_make(DDF_K_CLAIM, index, claims[index].gen);
}

/* Console `logs`: the last `max` audit records, one line each, bounded by size. */
int
kddf_fmt_audit_tail(char *buf, uint64_t size, uint32_t max)
{
	static struct ddf_audit_rec recs[16];
	uint64_t next, dropped, fl = spin_lock_irqsave(&lock);
	uint64_t oldest = ddf_audit_oldest(&audit);
	uint64_t from = audit.next > max ? audit.next - max : 0;
	if (from < oldest)
		from = oldest;
	if (max > 16)
		max = 16;
	int n = ddf_audit_read(&audit, from, recs, max, &next, &dropped);
	spin_unlock_irqrestore(&lock, fl);
	uint64_t used = 0;
	for (int i = 0; i < n && used < size; i++) {
		int w = ddf_fmt_audit(&recs[i], buf + used, size - used);
		if (w < 0 || (uint64_t)w >= size - used)
			break;
		used += (uint64_t)w;
	}
	if (size)
		buf[used < size ? used : size - 1] = 0;
	return (int)used;
}

/* ---- kddf_int.h: the format files' view of the tables (caller holds the lock) ---- */

uint64_t
kddf_int_lock(void)
{
	return spin_lock_irqsave(&lock);
}

void
kddf_int_unlock(uint64_t flags)
{
	spin_unlock_irqrestore(&lock, flags);
}

struct kdev *
kddf_int_kdev(uint32_t claim_index)
{
	return claim_index < NCLAIMS ? &kdevs[claim_index] : NULL;
}

struct kbuf *
kddf_int_kbuf(uint64_t buf_cookie)
{
	if (!buf_cookie || buf_cookie > NBUFFERS || !kbufs[buf_cookie - 1].used)
		return NULL;
	return &kbufs[buf_cookie - 1];
}

int
kddf_int_buffer_claim(ddf_handle buf, uint32_t *claim_index)
{
	const struct ddf_buffer *b = ddf_buffer_get(&L, buf);
	if (!b)
		return E_STALE;
	*claim_index = b->claim;
	return 0;
}

uint64_t
kddf_int_buf_addr(uint64_t buf_cookie, uint64_t off)
{
	return kbufs[buf_cookie - 1].pa + off;
}

bool
kddf_int_buf_live(uint64_t buf_cookie)
{
	for (uint32_t i = 0; i < NSUBS; i++) {
		const struct ddf_sub *s = &subs[i];
		if ((s->state == DDF_SUB_SUBMITTED || s->state == DDF_SUB_DONE) &&
		    s->buf < NBUFFERS && buffers[s->buf].cookie == buf_cookie)
			return true;
	}
	return false;
}

bool
kddf_int_queue_live(uint32_t ci, uint16_t queue)
{
	for (uint32_t i = 0; i < NSUBS; i++)
		if ((subs[i].state == DDF_SUB_SUBMITTED || subs[i].state == DDF_SUB_DONE) &&
		    subs[i].claim == ci && subs[i].queue == queue)
			return true;
	return false;
}

uint32_t
kddf_int_reg_read(uint32_t claim_index, uint8_t bar, uint64_t off, uint8_t width)
{
	return op_reg_read(NULL, &claims[claim_index], bar, off, width);
}

void
kddf_int_reg_write(uint32_t claim_index, uint8_t bar, uint64_t off, uint8_t width, uint32_t v)
{
	op_reg_write(NULL, &claims[claim_index], bar, off, width, v);
}

/* ---- DeviceMmio.reset and the caps' info ---- */

/* The ordered teardown with reason reset; *claim is the claim's handle under its new generation. */
static int
reset_locked(uint32_t owner, ddf_handle win, ddf_handle *claim)
{
	uint32_t ci;
	ddf_handle ch;
	int e = win_claim_index(owner, win, &ci);
	if (e)
		return ddf_teardown(&L, win, DDF_TD_RESET);	/* refused with the decode error, audited */
	ch = ddf_handle_make(DDF_K_CLAIM, ci, claims[ci].gen);
	if ((e = ddf_teardown(&L, ch, DDF_TD_RESET)) < 0)
		return e;
	*claim = kddf_claim_handle(ci);
	return *claim ? 0 : E_STALE;
}

int
kddf_mmio_reset(uint32_t owner, ddf_handle win, ddf_handle *claim)
{
	return LOCKED(reset_locked(owner, win, claim));
}

static uint8_t
buf_info_state(const struct ddf_buffer *b)
{
	switch (b->state) {
	case DDF_BUF_ALLOCATED: return b->user_mapped ? KDDF_BUFINFO_MAPPED : KDDF_BUFINFO_IDLE;
	case DDF_BUF_INFLIGHT: return KDDF_BUFINFO_INFLIGHT;
	case DDF_BUF_COMPLETING: return KDDF_BUFINFO_COMPLETING;
	case DDF_BUF_SCRUBBING: return KDDF_BUFINFO_SCRUBBING;
	default: return KDDF_BUFINFO_FREED;
	}
}

static int
info_locked(uint32_t owner, ddf_handle h, struct kddf_info *out)
{
	ddf_handle ch;
	int e = ddf_object_claim(&L, owner, h, &ch);
	memset(out, 0, sizeof *out);
	if (e)
		return e;
	const struct ddf_claim *c = &claims[ddf_handle_index(ch)];
	uint32_t i = ddf_handle_index(h);
	out->addr = c->fn.addr;
	out->vendor = c->fn.vendor;
	out->device = c->fn.device;
	out->gen = ddf_handle_gen(h);
	switch (ddf_handle_kind(h)) {
	case DDF_K_WINDOW:
		out->bar = windows[i].bar;
		out->length = windows[i].length;
		memcpy(out->label, c->pol.label, sizeof out->label);
		break;
	case DDF_K_ROUTE:
		out->kind = routes[i].kind;
		out->index = routes[i].index;
		out->masked = routes[i].masked;
		break;
	case DDF_K_BUFFER:
		out->size = buffers[i].size;
		out->dir = buffers[i].direction;
		out->state = buf_info_state(&buffers[i]);
		out->inflight = buffers[i].submitted;
		break;
	default:	/* the claim: its DMA pool */
		out->budget = c->pol.dma_budget;
		out->used = c->dma_used;
		out->buffers = c->buffers;
		break;
	}
	return 0;
}

int
kddf_info(uint32_t owner, ddf_handle h, struct kddf_info *out)
{
	return LOCKED(info_locked(owner, h, out));
}
