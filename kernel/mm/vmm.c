/*
 * The kernel's page tables.
 *
 * vmm_init replaces the boot tables (boot.S: 2 MiB identity + higher-half
 * alias) with the real ones: the physmap over RAM only (never device holes,
 * which would then be cacheable), and the kernel image with per-section
 * permissions: text R+X, rodata R+NX, data/bss RW+NX. CR0.WP makes the
 * read-only mappings binding on ring 0 too. Kernel-half PML4 entries
 * (256..511) are created here once and shared by every address space, so a
 * kernel mapping made later is visible everywhere.
 *
 * Removing or replacing a present entry goes through tlb_shootdown
 * (smp/tlb.c) after vmm_lock is dropped: every CPU that may cache the old
 * translation has invalidated it when vmm_unmap_page returns, so the caller
 * can scrub and free the frame.
 */
#include "arch/x86_64/x86.h"
#include "boot/memmap.h"
#include "kernel.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "smp/tlb.h"
#include "sync/spinlock.h"

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __kernel_vend[];

static uint64_t kernel_pml4;
static bool live;
static struct spinlock vmm_lock;
static uint64_t mmio_next = MMIO_REGION;
static uint64_t kstack_next;	/* slots ever used: [0, kstack_next) */
bool boot_nx;

#define KSTACK_SLOT	((KSTACK_PAGES + 1) * PAGE_SIZE)
#define MMIO_LIMIT	(MMIO_REGION + (64ull << 30))

bool
vmm_ready(void)
{
	return live;
}

uint64_t
vmm_kernel_pml4(void)
{
	return kernel_pml4;
}

static uint64_t *
table(uint64_t pa)
{
	return live ? phys_to_virt(pa) : (uint64_t *)(uintptr_t)pa;
}

/*
 * A zeroed page-table page, or 0 when memory is exhausted (only fatal while
 * building the kernel's tables at boot). vmm_map_page then fails E_NOMEM:
 * a demand-zero fault or a kernel stack can need a new table at any time,
 * and running out must fail that one request, not bring the kernel down.
 */
static uint64_t
new_table(void)
{
	uint64_t pa;

	if ((live ? pmm_alloc(&pa) : pmm_alloc_low(&pa)) == 0)
		return pa;
	if (!live)
		panic("out of memory for page tables");
	return 0;
}

static uint64_t
leaf_flags(unsigned kind)
{
	uint64_t f = PTE_P;

	if (kind & VMM_RW)
		f |= PTE_W;
	if (kind & VMM_USER)
		f |= PTE_U;
	if (kind & VMM_UC)
		f |= PTE_PCD | PTE_PWT;
	if (!(kind & VMM_EXEC) && boot_nx)
		f |= PTE_NX;
	return f;
}

/* Walk to the table at `level` (3 = PDPT, 2 = PD, 1 = PT) for va, creating tables. */
static uint64_t *
walk(uint64_t pml4, uint64_t va, int level, bool create, bool user)
{
	uint64_t *t = table(pml4);

	for (int l = 4; l > level; l--) {
		unsigned idx = (va >> (12 + 9 * (l - 1))) & 511;
		uint64_t e = t[idx];
		if (!(e & PTE_P)) {
			uint64_t pa = create ? new_table() : 0;
			if (!pa)
				return NULL;
			e = pa | PTE_P | PTE_W | (user ? PTE_U : 0);
			t[idx] = e;
		} else if (e & PTE_PS) {
			return NULL;	/* a large page is in the way */
		} else if (user && !(e & PTE_U)) {
			t[idx] = e | PTE_U;
		}
		t = table(e & PTE_ADDR);
	}
	return t;
}

int
vmm_map_page(uint64_t pml4, uint64_t va, uint64_t pa, unsigned kind)
{
	uint64_t flags = spin_lock_irqsave(&vmm_lock);
	uint64_t *pt = walk(pml4, va, 1, true, kind & VMM_USER);
	uint64_t old = 0;
	int r = E_NOMEM;	/* no page-table page (nothing maps over the physmap's large pages) */

	if (pt) {
		old = pt[(va >> 12) & 511];
		pt[(va >> 12) & 511] = (pa & PTE_ADDR) | leaf_flags(kind);
		r = 0;
	}
	spin_unlock_irqrestore(&vmm_lock, flags);
	/* Replacing a present entry: other CPUs may cache the old one. A
	 * non-present entry is never cached, so a new mapping needs no IPI. */
	if (live && (old & PTE_P))
		tlb_shootdown(pml4, va, 1);
	else if (live)
		invlpg(va);
	return r;
}

/* Clear the leaf for va; returns the old entry (0 when there was none). */
static uint64_t
clear_leaf(uint64_t pml4, uint64_t va)
{
	uint64_t *pt = walk(pml4, va, 1, false, false);
	uint64_t old = 0;

	if (pt && (pt[(va >> 12) & 511] & PTE_P)) {
		old = pt[(va >> 12) & 511];
		pt[(va >> 12) & 511] = 0;
	}
	return old;
}

uint64_t
vmm_unmap_page(uint64_t pml4, uint64_t va)
{
	uint64_t flags = spin_lock_irqsave(&vmm_lock);
	uint64_t old = clear_leaf(pml4, va);
	spin_unlock_irqrestore(&vmm_lock, flags);

	/* Before the caller may free the frame, no CPU may still reach it. */
	if (old)
		tlb_shootdown(pml4, va, 1);
	return old & PTE_ADDR;
}

uint64_t
vmm_unmap_range(uint64_t pml4, uint64_t va, uint64_t npages, uint64_t *pa_out)
{
	uint64_t mapped = 0, flags = spin_lock_irqsave(&vmm_lock);

	for (uint64_t i = 0; i < npages; i++) {
		uint64_t old = clear_leaf(pml4, va + i * PAGE_SIZE);
		mapped += old != 0;
		if (pa_out)
			pa_out[i] = old & PTE_ADDR;
	}
	spin_unlock_irqrestore(&vmm_lock, flags);
	if (mapped)
		tlb_shootdown(pml4, va, npages);	/* one request for the whole range */
	return mapped;
}

uint64_t
vmm_translate(uint64_t pml4, uint64_t va)
{
	uint64_t *t = table(pml4);

	for (int l = 4; l >= 1; l--) {
		uint64_t e = t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_P))
			return ~0ull;
		if (l == 1 || (e & PTE_PS)) {
			uint64_t mask = (1ull << (12 + 9 * (l - 1))) - 1;
			return (e & PTE_ADDR & ~mask) | (va & mask);
		}
		t = table(e & PTE_ADDR);
	}
	return ~0ull;
}

const uint64_t *
vmm_page_table(uint64_t pml4, uint64_t va)
{
	uint64_t *t = table(pml4);

	for (int l = 4; l > 1; l--) {
		uint64_t e = t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_P) || (e & PTE_PS))
			return NULL;
		t = table(e & PTE_ADDR);
	}
	return t;
}

uint64_t
vmm_kernel_pte(uint64_t va)
{
	uint64_t *t = table(kernel_pml4);

	for (int l = 4; l >= 1; l--) {
		uint64_t e = t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_P) || l == 1 || (e & PTE_PS))
			return e;
		t = table(e & PTE_ADDR);
	}
	return 0;
}

static void
map_2m(uint64_t va, uint64_t pa)
{
	uint64_t *pd = walk(kernel_pml4, va, 2, true, false);

	pd[(va >> 21) & 511] = pa | PTE_P | PTE_W | PTE_PS | PTE_G | (boot_nx ? PTE_NX : 0);
}

static void
map_physmap(const struct mm_map *ram)
{
	for (uint32_t i = 0; i < ram->n; i++) {
		uint64_t a = ram->r[i].base, end = ram->r[i].end;
		while (a < end) {
			if (a % (2ull << 20) == 0 && end - a >= (2ull << 20)) {
				map_2m(PHYSMAP_BASE + a, a);
				a += 2ull << 20;
			} else {
				vmm_map_page(kernel_pml4, PHYSMAP_BASE + a, a, VMM_RW);
				a += PAGE_SIZE;
			}
		}
	}
}

static void
map_kernel_range(char *start, char *end, unsigned kind)
{
	for (uint64_t va = (uint64_t)start; va < (uint64_t)end; va += PAGE_SIZE)
		vmm_map_page(kernel_pml4, va, va - KERNEL_VMA, kind);
}

void
vmm_init(const struct mm_map *ram, uint64_t physmap_top)
{
	extern uint32_t boot_nx_supported;	/* boot.S: CPUID said NX exists and EFER.NXE is on */

	(void)physmap_top;
	boot_nx = boot_nx_supported != 0;
	kernel_pml4 = new_table();
	/* Pre-create every kernel-half PML4 slot so all address spaces share them. */
	uint64_t *pml4 = table(kernel_pml4);
	for (int i = 256; i < 512; i++)
		pml4[i] = new_table() | PTE_P | PTE_W;

	map_physmap(ram);
	map_kernel_range(__text_start, __text_end, VMM_EXEC);
	map_kernel_range(__rodata_start, __rodata_end, VMM_RO);
	map_kernel_range(__data_start, (char *)ALIGN_UP((uint64_t)__kernel_vend, PAGE_SIZE), VMM_RW);

	write_cr0(read_cr0() | CR0_WP);
	write_cr3(kernel_pml4);
	live = true;
	pmm_paging_live();
}

uint64_t
vmm_mmio_used(void)
{
	return __atomic_load_n(&mmio_next, __ATOMIC_RELAXED) - MMIO_REGION;
}

void *
vmm_map_phys(uint64_t pa, uint64_t len, unsigned kind)
{
	uint64_t base = ALIGN_DOWN(pa, PAGE_SIZE);
	uint64_t size = ALIGN_UP(pa + len, PAGE_SIZE) - base;

	if (len == 0 || pa + len < pa)
		return NULL;
	uint64_t flags = spin_lock_irqsave(&vmm_lock);
	uint64_t va = mmio_next;
	if (size > MMIO_LIMIT - va) {
		spin_unlock_irqrestore(&vmm_lock, flags);
		return NULL;
	}
	mmio_next += size + PAGE_SIZE;	/* an unmapped page between windows */
	spin_unlock_irqrestore(&vmm_lock, flags);
	for (uint64_t off = 0; off < size; off += PAGE_SIZE)
		if (vmm_map_page(kernel_pml4, va + off, base + off, kind & ~VMM_EXEC) < 0) {
			vmm_unmap_range(kernel_pml4, va, off / PAGE_SIZE, NULL);
			return NULL;	/* the window's addresses stay used: device pages, no frames */
		}
	return (void *)(uintptr_t)(va + (pa - base));
}

/*
 * Kernel stacks. Each slot of the stack region is a guard page and
 * KSTACK_PAGES pages; slot indexes are reused (a bitmap), so the region and
 * its page tables stay bounded by the most stacks alive at once.
 *
 * A freed stack goes back to the page allocator: its pages are unmapped
 * with one TLB shootdown (every CPU may have run on it, and kernel-half
 * addresses are invalidated everywhere) and freed. The last KSTACK_CACHE
 * freed stacks are kept mapped instead and handed out again whole: a
 * process that exits while another starts (init's restarts, a spawn loop)
 * then costs no shootdown IPI round and no zeroing of four frames.
 */
#define KSTACK_CACHE	4u
#define KSTACK_MAX	4096u	/* slots: stacks alive at once */
static uint64_t kstack_cache[KSTACK_CACHE];
static uint32_t nkstack_cache;
static uint64_t kstack_used[KSTACK_MAX / 64];

static uint64_t
kstack_slot_base(uint64_t slot)
{
	return KSTACK_REGION + slot * KSTACK_SLOT;
}

/* A free slot index, marked used (vmm_lock held); KSTACK_MAX when none. */
static uint64_t
kstack_slot_get(void)
{
	for (uint64_t w = 0; w < KSTACK_MAX / 64; w++) {
		if (kstack_used[w] == ~0ull)
			continue;
		uint64_t slot = w * 64 + (uint64_t)__builtin_ctzll(~kstack_used[w]);
		kstack_used[w] |= 1ull << (slot % 64);
		if (slot >= kstack_next)
			kstack_next = slot + 1;
		return slot;
	}
	return KSTACK_MAX;
}

static void
kstack_slot_put(uint64_t slot)
{
	uint64_t flags = spin_lock_irqsave(&vmm_lock);
	kstack_used[slot / 64] &= ~(1ull << (slot % 64));
	spin_unlock_irqrestore(&vmm_lock, flags);
}

/* Unmap and free the pages of the stack whose top is top, and its slot. */
static void
kstack_release(uint64_t top)
{
	uint64_t pa[KSTACK_PAGES];
	uint64_t base = top - KSTACK_SLOT;

	vmm_unmap_range(kernel_pml4, base + PAGE_SIZE, KSTACK_PAGES, pa);	/* waits for the shootdown */
	for (uint32_t i = 0; i < KSTACK_PAGES; i++)
		if (pa[i])
			pmm_free(pa[i]);
	kstack_slot_put((base - KSTACK_REGION) / KSTACK_SLOT);
}

void
kstack_free(uint64_t top)
{
	uint64_t flags = spin_lock_irqsave(&vmm_lock);
	if (nkstack_cache < KSTACK_CACHE) {
		kstack_cache[nkstack_cache++] = top;
		spin_unlock_irqrestore(&vmm_lock, flags);
		return;
	}
	spin_unlock_irqrestore(&vmm_lock, flags);
	kstack_release(top);	/* vmm_unmap_range takes vmm_lock itself */
}

uint64_t
kstack_try_alloc(void)
{
	uint64_t flags = spin_lock_irqsave(&vmm_lock);
	if (nkstack_cache) {
		uint64_t top = kstack_cache[--nkstack_cache];
		spin_unlock_irqrestore(&vmm_lock, flags);
		return top;
	}
	uint64_t slot = kstack_slot_get();
	spin_unlock_irqrestore(&vmm_lock, flags);
	if (slot >= KSTACK_MAX)
		return 0;

	uint64_t base = kstack_slot_base(slot);
	/* base .. base+PAGE_SIZE stays unmapped: the guard page. */
	for (uint64_t p = 1; p <= KSTACK_PAGES; p++) {
		uint64_t pa;
		if (pmm_alloc(&pa) < 0)
			goto undo;
		if (vmm_map_page(kernel_pml4, base + p * PAGE_SIZE, pa, VMM_RW) < 0) {
			pmm_free(pa);
			goto undo;
		}
	}
	return base + KSTACK_SLOT;
undo:
	kstack_release(base + KSTACK_SLOT);	/* the pages mapped so far, and the slot */
	return 0;
}

/* Stacks mapped: in use or cached (each holds KSTACK_PAGES frames). */
uint64_t
kstack_mapped(void)
{
	uint64_t n = 0, flags = spin_lock_irqsave(&vmm_lock);
	for (uint64_t w = 0; w < KSTACK_MAX / 64; w++)
		n += (uint64_t)__builtin_popcountll(kstack_used[w]);
	spin_unlock_irqrestore(&vmm_lock, flags);
	return n;
}

uint64_t
kstack_alloc(void)
{
	uint64_t top = kstack_try_alloc();
	if (!top)
		panic("out of memory for a kernel stack");
	return top;
}

bool
kstack_is_guard(uint64_t va)
{
	if (va < KSTACK_REGION || va >= KSTACK_REGION + kstack_next * KSTACK_SLOT)
		return false;
	return (va - KSTACK_REGION) % KSTACK_SLOT < PAGE_SIZE;
}
