/*
 * Turning the loader's memory map into a list of usable page ranges.
 *
 * The map is not trusted. Entries that overflow, are empty, or lie above
 * MM_MAX_PHYS are counted as absurd and ignored. Where a usable entry and any
 * other entry overlap, the other entry wins: memory the firmware calls
 * reserved, ACPI or bad is never handed out. Usable ranges are shrunk to whole
 * pages. If more pieces arise than the output can hold, the smallest are
 * dropped (unused memory is safe; misused memory is not).
 */
#ifndef CAPOS_BOOT_MEMMAP_H
#define CAPOS_BOOT_MEMMAP_H

#include <stdint.h>
#include "boot/mb2.h"

#define MM_PAGE		4096ull
#define MM_MAX_PHYS	(1ull << 46)	/* 64 TiB: far beyond any machine capOS targets */
#define MM_MAX_RANGES	256

struct mm_range {
	uint64_t base;	/* page aligned */
	uint64_t end;	/* exclusive, page aligned */
};

struct mm_map {
	uint32_t n;
	struct mm_range r[MM_MAX_RANGES];
	uint32_t absurd;	/* entries ignored as impossible */
	uint32_t overlaps;	/* usable entries cut by a non-usable one */
	uint32_t dropped;	/* pieces lost for lack of room */
};

/* Build the usable map from loader entries. */
void mm_build(struct mm_map *m, const struct mb2_mmap_entry *e, uint32_t n);
/* Remove [base, end) from the usable map (rounded outward to pages). */
void mm_remove(struct mm_map *m, uint64_t base, uint64_t end);
uint64_t mm_total(const struct mm_map *m);
/* Highest usable address (exclusive), 0 if the map is empty. */
uint64_t mm_top(const struct mm_map *m);

#endif
