/* Physical memory: the boot-time map and the frame allocator (lib/mm/frame.c). */
#ifndef CAPOS_PMM_H
#define CAPOS_PMM_H

#include <stdbool.h>
#include <stdint.h>
#include "boot/memmap.h"

struct mb2_info;

struct pmm_stats {
	uint64_t usable_bytes;	/* RAM the loader called usable, after sanitising */
	uint64_t free_frames;
	uint64_t total_frames;	/* frames tracked by the bitmap */
	const char *source;	/* "mmap", "efi-mmap" or "meminfo" */
	uint32_t absurd, overlaps, dropped;
	uint32_t modules_rejected;
};

/* Returns 0, or panics with a clear message when no memory map is usable. */
void pmm_init(struct mb2_info *bi, uint64_t mbi_phys);
/* Called by vmm_init right after the switch: the bitmap moves to the physmap. */
void pmm_paging_live(void);
const struct mm_map *pmm_ram_map(void);	/* RAM for the physmap (usable + ACPI + NVS) */
const struct mm_map *pmm_usable_map(void);	/* usable before kernel/module carve-outs */
void pmm_stats(struct pmm_stats *st);

int pmm_alloc(uint64_t *pa);			/* zeroed frame */
int pmm_alloc_low(uint64_t *pa);		/* lowest free frame (boot page tables) */
int pmm_alloc_contig(uint64_t count, uint64_t *pa);	/* zeroed, contiguous */
int pmm_free(uint64_t pa);
/* Is pa inside memory the allocator must never hand out? (kernel, modules, boot info, firmware) */
bool pmm_is_protected(uint64_t pa);

#endif
