/*
 * The physical frame allocator's core: a bitmap with one bit per 4 KiB frame
 * (1 = in use). It starts with every frame in use; the kernel then releases
 * exactly the usable ranges, so reserved, ACPI, module and kernel frames can
 * never be handed out. Pure and host-tested; the kernel adds locking.
 */
#ifndef CAPOS_MM_FRAME_H
#define CAPOS_MM_FRAME_H

#include <stdbool.h>
#include <stdint.h>

struct frame_alloc {
	uint64_t *bitmap;
	uint64_t nframes;	/* frames 0 .. nframes-1 are tracked */
	uint64_t nfree;
	uint64_t hint;		/* word index to start the next search */
};

/* Words of bitmap needed for nframes. */
static inline uint64_t
frame_bitmap_words(uint64_t nframes)
{
	return (nframes + 63) / 64;
}

void frame_init(struct frame_alloc *fa, uint64_t *bitmap, uint64_t nframes);
/* Mark [first, first+count) free; frames past nframes are ignored. */
void frame_release_range(struct frame_alloc *fa, uint64_t first, uint64_t count);
/* Mark [first, first+count) used (for carving out reserved memory). */
void frame_reserve_range(struct frame_alloc *fa, uint64_t first, uint64_t count);
/* 0 and *frame on success, E_NOMEM when nothing is free. */
int frame_alloc_one(struct frame_alloc *fa, uint64_t *frame);
/* `count` contiguous frames starting at a multiple of `align` (a power of two). */
int frame_alloc_contig(struct frame_alloc *fa, uint64_t count, uint64_t align, uint64_t *frame);
/* E_RANGE for an untracked frame, E_INVAL for a frame that is already free. */
int frame_free(struct frame_alloc *fa, uint64_t frame);
bool frame_is_free(const struct frame_alloc *fa, uint64_t frame);

#endif
