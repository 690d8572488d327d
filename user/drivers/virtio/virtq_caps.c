/*
 * Split virtqueue over the kernel's device caps: the virtq.h API for a
 * driver process (docs/drivers.md "virtio over caps"). The host build links
 * virtq.c instead, where the driver writes the available ring itself.
 *
 * Here the ring is a DMA buffer the driver never maps (capenv_dma_alloc_ring):
 * it holds device-visible addresses, so the kernel writes every descriptor
 * and the available ring, and parses the used ring itself
 * (kernel/ddf/kddf_virtio.c). A chain is submitted members first, each with
 * DMABuffer.submitDescriptor(deferred = true), then the head
 * (deferred = false), which makes the chain available. The completion is
 * collected through the head's buffer and token (completeDescriptor): the
 * kernel credits the device's used length to the chain's WRITE members and
 * never more than their lengths, so the driver never reads device memory.
 *
 * Free-list bookkeeping is the same as virtq.c's: only the first VIRTQ_TRACK
 * descriptors are used whatever the queue size.
 */
#include "virtq.h"
#include "virtq_int.h"

#include "base/err.h"
#include "base/mem.h"
#include "../capenv.h"
#include "schema/device.capnp.h"

/* One DmaDescriptor as sent (schema/device.capnp). */
struct vq_wire_desc {
	uint16_t queue, slot, flags, next;
	uint64_t off;
	uint32_t len;
	int deferred;
};

/* DMABuffer.submitDescriptor: the descriptor's token, or a negative code. */
static int
submit(struct devenv *env, devenv_dma_t h, const struct vq_wire_desc *d, uint64_t *token)
{
	DMABuffer_submitDescriptor_Params_B p;
	DmaDescriptor_B desc;
	DmaSubmitResult_R r;
	struct capnp_struct root;
	capid_t cap = capenv_dma_cap(env, h);
	int e;

	if (!cap)
		return E_STALE;
	DMABuffer_submitDescriptor_Params_init_root(rt_msg_begin(), &p);
	DMABuffer_submitDescriptor_Params_init_descriptor(p, &desc);
	DmaDescriptor_set_queue(desc, d->queue);
	DmaDescriptor_set_slot(desc, d->slot);
	DmaDescriptor_set_offset(desc, d->off);
	DmaDescriptor_set_length(desc, d->len);
	DmaDescriptor_set_flags(desc, d->flags);
	DmaDescriptor_set_next(desc, d->next);
	DmaDescriptor_set_deferred(desc, d->deferred != 0);
	if ((e = capenv_call(cap, DMABuffer_submitDescriptor_ORDINAL, NULL, 0, &root)) < 0 ||
	    (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (DmaSubmitResult_which(r) != DmaSubmitResult_which_token)
		return capenv_device_error(DmaSubmitResult_get_error(r));
	*token = DmaSubmitResult_get_token(r);
	return 0;
}

/* DMABuffer.completeDescriptor: 1 and the bytes, 0 while pending, or a negative code. */
static int
collect(struct devenv *env, devenv_dma_t h, uint64_t token, uint32_t *bytes)
{
	DMABuffer_completeDescriptor_Params_B p;
	DmaCompleteResult_R r;
	struct capnp_struct root;
	capid_t cap = capenv_dma_cap(env, h);
	int e;

	if (!cap)
		return E_STALE;
	DMABuffer_completeDescriptor_Params_init_root(rt_msg_begin(), &p);
	DMABuffer_completeDescriptor_Params_set_token(p, token);
	if ((e = capenv_call(cap, DMABuffer_completeDescriptor_ORDINAL, NULL, 0, &root)) < 0 ||
	    (e = capenv_result(&root, &r.s)) < 0)
		return e;
	switch (DmaCompleteResult_which(r)) {
	case DmaCompleteResult_which_completed:
		*bytes = DmaCompleteResult_get_completed(r);
		return 1;
	case DmaCompleteResult_which_pending:
		return 0;
	default:
		return capenv_device_error(DmaCompleteResult_get_error(r));
	}
}

void
virtq_reset(struct virtq *vq)
{
	/* The ring's memory is the kernel's: it zeroes it when the queue is programmed. */
	virtq__list_reset(vq);
}

int
virtq_init(struct virtq *vq, struct devenv *env, uint16_t index, uint16_t size)
{
	int err = virtq_check_size(size);

	if (err)
		return err;
	virtq__setup(vq, env, index, size);
	err = capenv_dma_alloc_ring(env, virtq_bytes(size), DEVENV_DMA_BIDIRECTIONAL, &vq->mem.h);
	if (err)
		return err;
	vq->mem.cpu = NULL;     /* never mapped: the kernel refuses to map a ring */
	vq->mem.size = (virtq_bytes(size) + DEVENV_PAGE_SIZE - 1) & ~(uint64_t)(DEVENV_PAGE_SIZE - 1);
	virtq_reset(vq);
	return 0;
}

void
virtq_fini(struct virtq *vq)
{
	if (vq->mem.h)
		devenv_dma_free(vq->env, &vq->mem);
	vq->mem.h = 0;
}

/* Take back deferred members [0, n) that were never made available. */
static void
retract(struct virtq *vq, const struct virtq_seg *segs, const uint64_t *tok, unsigned from,
    unsigned n)
{
	uint32_t bytes;

	for (unsigned i = from; i < n; i++)
		(void)collect(vq->env, segs[i].h, tok[i], &bytes);
}

int
virtq_add(struct virtq *vq, const struct virtq_seg *segs, unsigned n, void *cookie)
{
	uint16_t slot[VIRTQ_TRACK];
	uint64_t tok[VIRTQ_TRACK];
	uint32_t wlen = 0;
	unsigned i;
	int err;

	if (vq->broken)
		return E_IO;
	if (n == 0 || n > vq->track)
		return E_INVAL;
	if (vq->num_free < n)
		return E_AGAIN;
	slot[0] = vq->free_head;
	for (i = 1; i < n; i++)
		slot[i] = vq->next_free[slot[i - 1]];
	/* Members last to first, deferred: written into the table, not available yet. */
	for (i = n; i-- > 0;) {
		struct vq_wire_desc d = {
			.queue = vq->index, .slot = slot[i], .off = segs[i].off, .len = segs[i].len,
			.flags = (uint16_t)((segs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
			    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			.next = i + 1 < n ? slot[i + 1] : 0, .deferred = i > 0,
		};
		if ((err = submit(vq->env, segs[i].h, &d, &tok[i])) < 0) {
			retract(vq, segs, tok, i + 1, n);   /* nothing was made available */
			return err;
		}
		if (segs[i].device_writes)
			wlen += segs[i].len;
	}
	vq->free_head = vq->next_free[slot[n - 1]];
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[slot[0]] = (uint16_t)n;
	vq->wlen[slot[0]] = wlen;
	vq->cookie[slot[0]] = cookie;
	vq->token[slot[0]] = tok[0];
	vq->token_buf[slot[0]] = segs[0].h;
	vq->avail_idx++;
	return 0;
}

int
virtq_get(struct virtq *vq, void **cookie, uint32_t *len)
{
	uint32_t bytes;
	int r;

	if (vq->broken)
		return E_IO;
	if (vq->avail_idx == vq->last_used)
		return 0;       /* nothing outstanding */
	/* Round robin over outstanding heads: one completion per call. */
	for (uint16_t k = 0; k < vq->track; k++) {
		uint16_t h = (uint16_t)((vq->next_poll + k) % vq->track);
		if (!vq->chain_len[h])
			continue;
		r = collect(vq->env, vq->token_buf[h], vq->token[h], &bytes);
		if (r == 0)
			continue;
		if (r < 0 || bytes > vq->wlen[h]) {
			vq->broken = 1;         /* revoked (reset) or a kernel we do not understand */
			return r < 0 ? r : E_CORRUPT;
		}
		vq->next_poll = (uint16_t)(h + 1);
		vq->last_used++;
		*cookie = vq->cookie[h];
		*len = bytes;
		virtq__free_chain(vq, h);
		return 1;
	}
	return 0;
}
