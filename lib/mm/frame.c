/* Bitmap frame allocator core; see frame.h. */
#include "base/err.h"
#include "mm/frame.h"

static void
set_used(struct frame_alloc *fa, uint64_t f)
{
	fa->bitmap[f / 64] |= 1ull << (f % 64);
}

static void
set_free(struct frame_alloc *fa, uint64_t f)
{
	fa->bitmap[f / 64] &= ~(1ull << (f % 64));
}

bool
frame_is_free(const struct frame_alloc *fa, uint64_t f)
{
	return f < fa->nframes && !(fa->bitmap[f / 64] & (1ull << (f % 64)));
}

void
frame_init(struct frame_alloc *fa, uint64_t *bitmap, uint64_t nframes)
{
	fa->bitmap = bitmap;
	fa->nframes = nframes;
	fa->nfree = 0;
	fa->hint = 0;
	for (uint64_t i = 0; i < frame_bitmap_words(nframes); i++)
		bitmap[i] = ~0ull;
}

void
frame_release_range(struct frame_alloc *fa, uint64_t first, uint64_t count)
{
	for (uint64_t f = first; f < first + count && f < fa->nframes; f++) {
		if (!frame_is_free(fa, f)) {
			set_free(fa, f);
			fa->nfree++;
		}
	}
}

void
frame_reserve_range(struct frame_alloc *fa, uint64_t first, uint64_t count)
{
	for (uint64_t f = first; f < first + count && f < fa->nframes; f++) {
		if (frame_is_free(fa, f)) {
			set_used(fa, f);
			fa->nfree--;
		}
	}
}

int
frame_alloc_one(struct frame_alloc *fa, uint64_t *frame)
{
	uint64_t words = frame_bitmap_words(fa->nframes);

	if (fa->nfree == 0)
		return E_NOMEM;
	for (uint64_t n = 0; n < words; n++) {
		uint64_t w = (fa->hint + n) % words;
		if (fa->bitmap[w] == ~0ull)
			continue;
		uint64_t f = w * 64 + (uint64_t)__builtin_ctzll(~fa->bitmap[w]);
		if (f >= fa->nframes)
			continue;
		set_used(fa, f);
		fa->nfree--;
		fa->hint = w;
		*frame = f;
		return 0;
	}
	return E_NOMEM;
}

int
frame_alloc_contig(struct frame_alloc *fa, uint64_t count, uint64_t align, uint64_t *frame)
{
	if (count == 0 || align == 0 || (align & (align - 1)))
		return E_INVAL;
	if (count > fa->nfree)
		return E_NOMEM;
	for (uint64_t start = 0; start + count <= fa->nframes;) {
		uint64_t run = 0;
		while (run < count && frame_is_free(fa, start + run))
			run++;
		if (run == count) {
			for (uint64_t f = start; f < start + count; f++)
				set_used(fa, f);
			fa->nfree -= count;
			*frame = start;
			return 0;
		}
		/* Skip past the used frame, to the next aligned start. */
		start = (start + run + 1 + align - 1) & ~(align - 1);
	}
	return E_NOMEM;
}

int
frame_free(struct frame_alloc *fa, uint64_t f)
{
	if (f >= fa->nframes)
		return E_RANGE;
	if (frame_is_free(fa, f))
		return E_INVAL;
	set_free(fa, f);
	fa->nfree++;
	return 0;
}
