/*
 * The descriptor bookkeeping both implementations of virtq.h share: virtq.c
 * (the driver writes the available ring) and virtq_caps.c (the kernel owns
 * the ring). Only the driver's own copy of the free list is walked, never a
 * device-visible table.
 */
#ifndef CAPOS_DRIVERS_VIRTQ_INT_H
#define CAPOS_DRIVERS_VIRTQ_INT_H

#include "base/mem.h"
#include "virtq.h"

/* Fill the fields of a queue of `size` entries (size already checked). */
static inline void
virtq__setup(struct virtq *vq, struct devenv *env, uint16_t index, uint16_t size)
{
	memset(vq, 0, sizeof(*vq));
	vq->env = env;
	vq->index = index;
	vq->size = size;
	vq->avail_off = virtq_avail_offset(size);
	vq->used_off = virtq_used_offset(size);
}

/* Every tracked descriptor free, nothing outstanding. */
static inline void
virtq__list_reset(struct virtq *vq)
{
	uint16_t i;

	vq->track = vq->size < VIRTQ_TRACK ? vq->size : (uint16_t)VIRTQ_TRACK;
	for (i = 0; i < vq->track; i++) {
		vq->next_free[i] = (uint16_t)(i + 1);
		vq->chain_len[i] = 0;
		vq->wlen[i] = 0;
		vq->cookie[i] = 0;
		vq->token[i] = 0;
		vq->token_buf[i] = 0;
		vq->done[i] = 0;
	}
	vq->free_head = 0;
	vq->nheads = 0;
	vq->num_free = vq->track;
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->broken = 0;
}

/* Return the chain at `head` to the free list (taken from it in order). */
static inline void
virtq__free_chain(struct virtq *vq, uint16_t head)
{
	uint16_t n = vq->chain_len[head], i, d = head;

	for (i = 1; i < n; i++)
		d = vq->next_free[d];
	vq->next_free[d] = vq->free_head;
	vq->free_head = head;
	vq->num_free = (uint16_t)(vq->num_free + n);
	vq->chain_len[head] = 0;
	vq->cookie[head] = 0;
	vq->wlen[head] = 0;
	vq->token[head] = 0;
	vq->token_buf[head] = 0;
	vq->done[head] = 0;
}

#endif
