/*
 * Split virtqueue (virtio 1.x section 2.7) in one DMA buffer, shared by the
 * modern and legacy transports. Layout (the legacy one, 2.7.2, so one layout
 * serves both): descriptor table at 0, available ring after it, used ring at
 * the next 4096-byte boundary.
 *
 * The driver never writes a descriptor itself: devenv_virtq_desc() has the
 * environment write address, length, flags and next. The driver writes only
 * the available ring (head indexes) and reads the used ring, which is device
 * data and validated element by element: an index step larger than the queue,
 * an id that is not an outstanding chain head or a length beyond the chain's
 * device-writable bytes marks the queue broken (E_CORRUPT); the device must
 * then be reset.
 *
 * Bookkeeping is fixed-size: only the first VIRTQ_TRACK descriptors are ever
 * used, however large the device's queue is (a legacy device dictates its
 * size, up to 32768), so no allocator is needed.
 */
#ifndef CAPOS_DRIVERS_VIRTQ_H
#define CAPOS_DRIVERS_VIRTQ_H

#include <stdint.h>

#include "base/err.h"
#include "../devenv.h"
#include "virtio_reg.h"

#define VIRTQ_TRACK 256u        /* descriptors in use at most */

struct virtq_seg {
	devenv_dma_t h;
	uint64_t off;
	uint32_t len;
	int device_writes;      /* 1: VIRTQ_DESC_F_WRITE */
};

struct virtq {
	struct devenv *env;
	uint16_t index;         /* queue number */
	uint16_t size;          /* entries in the rings (power of two) */
	uint16_t track;         /* min(size, VIRTQ_TRACK) */
	uint16_t num_free;
	uint16_t free_head;
	uint16_t avail_idx;     /* shadow of avail->idx */
	uint16_t last_used;
	int broken;
	struct devenv_dma mem;
	uint64_t avail_off;
	uint64_t used_off;
	uint16_t next_free[VIRTQ_TRACK];
	uint16_t chain_len[VIRTQ_TRACK];    /* nonzero: outstanding head */
	uint32_t wlen[VIRTQ_TRACK];         /* device-writable bytes of the chain */
	void *cookie[VIRTQ_TRACK];
	/* caps binding (virtq_caps.c): the kernel's token of each outstanding head
	 * and the buffer it is collected through */
	uint64_t token[VIRTQ_TRACK];
	devenv_dma_t token_buf[VIRTQ_TRACK];
	/* caps binding: heads the kernel reported finished, not yet handed out */
	uint8_t done[VIRTQ_TRACK];
	uint32_t done_bytes[VIRTQ_TRACK];
	/* caps binding: the outstanding heads, in no order, so a look at the
	 * device walks the chains in flight, not the whole table */
	uint16_t heads[VIRTQ_TRACK];
	uint16_t nheads;
};

/*
 * The ring layout, shared by both implementations of this API: virtq.c (the
 * driver writes the available ring itself, host tests) and virtq_caps.c
 * (the kernel owns the ring; the driver process over the device caps).
 */

/* 0 when `size` is a usable split-queue size; E_NOTSUP for 0 (no queue),
 * E_INVAL when not a power of two, E_RANGE above VIRTQ_MAX_SIZE. */
static inline int
virtq_check_size(uint32_t size)
{
	if (size == 0)
		return E_NOTSUP;
	if (size > VIRTQ_MAX_SIZE)
		return E_RANGE;
	if (size & (size - 1))
		return E_INVAL;
	return 0;
}

static inline uint64_t
virtq_avail_offset(uint16_t size)
{
	return (uint64_t)size * 16u;    /* 16-byte descriptors (2.7.5) */
}

/* The used ring at the next VIRTIO_LEGACY_ALIGN boundary (legacy 2.7.2). */
static inline uint64_t
virtq_used_offset(uint16_t size)
{
	uint64_t end = virtq_avail_offset(size) + 6u + 2u * (uint64_t)size;

	return (end + VIRTIO_LEGACY_ALIGN - 1) & ~(uint64_t)(VIRTIO_LEGACY_ALIGN - 1);
}

/* Bytes of the ring buffer for `size` entries (legacy layout). */
static inline uint64_t
virtq_bytes(uint16_t size)
{
	return virtq_used_offset(size) + 6u + 8u * (uint64_t)size;
}

int virtq_init(struct virtq *vq, struct devenv *env, uint16_t index, uint16_t size);
void virtq_fini(struct virtq *vq);
/* After a device reset: zero the rings and bookkeeping, keep the buffer. */
void virtq_reset(struct virtq *vq);

/* Post one chain; E_AGAIN when fewer than n descriptors are free. */
int virtq_add(struct virtq *vq, const struct virtq_seg *segs, unsigned n, void *cookie);
/* The same, and tell the device in the same step where the binding can (caps:
 * DMABuffer.submitChain with notify, one call): 1 when the device was told,
 * 0 when the chain is posted and the caller must still notify (the host ring;
 * a chain over several buffers), or an error as virtq_add. */
int virtq_add_notify(struct virtq *vq, const struct virtq_seg *segs, unsigned n, void *cookie);
/* Pop one completion: 1 and the cookie and length, 0 when none, E_CORRUPT (queue
 * broken) for a hostile used entry, E_IO once broken. */
int virtq_get(struct virtq *vq, void **cookie, uint32_t *len);
/* Pop up to max completions found in one look at the device, in no set
 * order (caps binding: one DMABuffer.completeBatch call for the heads of
 * each buffer heads live in); the count, or an error as virtq_get. */
int virtq_get_batch(struct virtq *vq, void **cookies, uint32_t *lens, unsigned max);

#endif
