/*
 * Kernel virtual memory: the kernel's own page tables (higher half), the
 * physmap, guarded kernel stacks, and uncached windows for device registers.
 * Layout constants are in kernel.h; docs/kernel.md draws the map.
 */
#ifndef CAPOS_VMM_H
#define CAPOS_VMM_H

#include <stdbool.h>
#include <stdint.h>

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_U		(1ull << 2)
#define PTE_PWT		(1ull << 3)
#define PTE_PCD		(1ull << 4)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)
#define PTE_G		(1ull << 8)
#define PTE_NX		(1ull << 63)
#define PTE_ADDR	0x000FFFFFFFFFF000ull

/* Mapping kinds for vmm_map_phys / vmm_map_page. */
#define VMM_RO		0x0
#define VMM_RW		0x1
#define VMM_EXEC	0x2
#define VMM_UC		0x4	/* uncached: device registers */
#define VMM_USER	0x8

struct mm_map;

/* Build the kernel tables (physmap over `ram`, kernel sections with their
 * permissions) and switch to them. Before this, only the boot tables exist. */
void vmm_init(const struct mm_map *ram, uint64_t physmap_top);
bool vmm_ready(void);
uint64_t vmm_kernel_pml4(void);	/* physical address */

/* Map one 4 KiB page in the tables rooted at pml4 (physical). */
int vmm_map_page(uint64_t pml4, uint64_t va, uint64_t pa, unsigned kind);
/* Remove a mapping; returns the physical address it had, or 0. Every CPU
 * that may cache the old translation has dropped it on return (smp/tlb.h). */
uint64_t vmm_unmap_page(uint64_t pml4, uint64_t va);
/* Remove npages mappings from va with one shootdown; pa_out (npages entries,
 * may be NULL) receives each old physical address or 0. Returns how many
 * were mapped. */
uint64_t vmm_unmap_range(uint64_t pml4, uint64_t va, uint64_t npages, uint64_t *pa_out);
/* Physical address behind va in pml4, or ~0 when unmapped. */
uint64_t vmm_translate(uint64_t pml4, uint64_t va);
/* The last-level page table (physmap view) covering va's 2 MiB in pml4, or
 * NULL when there is none (or a large page maps it). For walking many pages:
 * index it with (va >> 12) & 511 and test PTE_P. */
const uint64_t *vmm_page_table(uint64_t pml4, uint64_t va);

/* Map [pa, pa+len) into the kernel's device window area; page-rounded.
 * Returns the virtual address of pa, or NULL when the window area is full. */
void *vmm_map_phys(uint64_t pa, uint64_t len, unsigned kind);
/* Bytes of the kernel's device-window region handed out so far (tests). */
uint64_t vmm_mmio_used(void);

/* A kernel stack of KSTACK_PAGES with an unmapped guard page below it.
 * Returns the top (initial RSP); panics when memory is exhausted. */
#define KSTACK_PAGES 4
uint64_t kstack_alloc(void);
/* The same, or 0 when memory or stack slots are exhausted. */
uint64_t kstack_try_alloc(void);
/* Give a stack back (no CPU may be on it): a few are kept for reuse, the
 * rest unmapped (with a TLB shootdown) and freed to the page allocator. */
void kstack_free(uint64_t top);
uint64_t kstack_mapped(void);	/* stacks in use or cached */
bool kstack_is_guard(uint64_t va);

/* Describe the permissions of a kernel address (for the paging self-test). */
uint64_t vmm_kernel_pte(uint64_t va);

#endif
