/*
 * Split virtqueue over the kernel's device caps: the virtq.h API for a
 * driver process (docs/drivers.md "virtio over caps"). The host build links
 * virtq.c instead, where the driver writes the available ring itself.
 *
 * Here the ring is a DMA buffer the driver never maps (capenv_dma_alloc_ring):
 * it holds device-visible addresses, so the kernel writes every descriptor
 * and the available ring, and parses the used ring itself
 * (kernel/ddf/kddf_virtio.c). A chain in one buffer is one
 * DMABuffer.submitChain call (the kernel writes the members, then the head,
 * which makes it available; all or nothing; virtq_add_notify also has it
 * ring the queue's doorbell). A chain over several buffers
 * is submitted members first, each with DMABuffer.submitDescriptor(deferred
 * = true), then the head (deferred = false). Completions are collected
 * through the heads' buffer and tokens, all outstanding heads of a buffer in
 * one DMABuffer.completeBatch call: the kernel credits the device's used
 * length to the chain's WRITE members and never more than their lengths, so
 * the driver never reads device memory.
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

#define VQ_BATCH_MAX 64u        /* tokens per DMABuffer.completeBatch */
#define VQ_CHAIN_MAX 16u        /* descriptors per DMABuffer.submitChain */

/* One DmaDescriptor as sent (schema/device.capnp). */
struct vq_wire_desc {
	uint16_t queue, slot, flags, next;
	uint64_t off;
	uint32_t len;
	int deferred;
};

static void
set_desc(DmaDescriptor_B desc, const struct vq_wire_desc *d)
{
	DmaDescriptor_set_queue(desc, d->queue);
	DmaDescriptor_set_slot(desc, d->slot);
	DmaDescriptor_set_offset(desc, d->off);
	DmaDescriptor_set_length(desc, d->len);
	DmaDescriptor_set_flags(desc, d->flags);
	DmaDescriptor_set_next(desc, d->next);
	DmaDescriptor_set_deferred(desc, d->deferred != 0);
}

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
	set_desc(desc, d);
	if ((e = capenv_call(cap, DMABuffer_submitDescriptor_ORDINAL, NULL, 0, &root)) < 0 ||
	    (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (DmaSubmitResult_which(r) != DmaSubmitResult_which_token)
		return capenv_device_error(DmaSubmitResult_get_error(r));
	*token = DmaSubmitResult_get_token(r);
	return 0;
}

/* DMABuffer.submitChain: the whole chain d[0..n) (head first) in one call, and with
 * `notify` the queue's doorbell; the head's token, or a negative code with nothing
 * left submitted. */
static int
submit_chain(struct devenv *env, devenv_dma_t h, const struct vq_wire_desc *d, unsigned n,
    bool notify, uint64_t *token)
{
	DMABuffer_submitChain_Params_B p;
	DmaDescriptor_B desc;
	DmaSubmitResult_R r;
	struct capnp_struct root;
	struct capnp_blist bl;
	capid_t cap = capenv_dma_cap(env, h);
	int e;

	if (!cap)
		return E_STALE;
	DMABuffer_submitChain_Params_init_root(rt_msg_begin(), &p);
	DMABuffer_submitChain_Params_set_notify(p, notify);
	if ((e = DMABuffer_submitChain_Params_init_descriptors(p, n, &bl)) < 0)
		return e;
	for (unsigned i = 0; i < n; i++) {
		DmaDescriptor_blist_get(&bl, i, &desc);
		set_desc(desc, &d[i]);
	}
	if ((e = capenv_call(cap, DMABuffer_submitChain_ORDINAL, NULL, 0, &root)) < 0 ||
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

/* Descriptor i of a chain over slot[0..n). */
static struct vq_wire_desc
wire_desc(const struct virtq *vq, const struct virtq_seg *segs, const uint16_t *slot, unsigned i,
    unsigned n)
{
	return (struct vq_wire_desc){
		.queue = vq->index, .slot = slot[i], .off = segs[i].off, .len = segs[i].len,
		.flags = (uint16_t)((segs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
		    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
		.next = i + 1 < n ? slot[i + 1] : 0, .deferred = i > 0,
	};
}

/* Whether the chain is one submitChain call: short, every segment in one buffer. */
static bool
one_buffer(const struct virtq_seg *segs, unsigned n)
{
	if (n > VQ_CHAIN_MAX)
		return false;
	for (unsigned i = 1; i < n; i++)
		if (segs[i].h != segs[0].h)
			return false;
	return true;
}

/* virtq_add; with `notify` the doorbell too when the chain is one call: 1 if so. */
static int
add(struct virtq *vq, const struct virtq_seg *segs, unsigned n, void *cookie, bool notify)
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
	if (one_buffer(segs, n)) {
		/* One call: the kernel submits members then head, all or nothing. */
		struct vq_wire_desc d[VQ_CHAIN_MAX];
		for (i = 0; i < n; i++)
			d[i] = wire_desc(vq, segs, slot, i, n);
		if ((err = submit_chain(vq->env, segs[0].h, d, n, notify, &tok[0])) < 0)
			return err;
	} else {
		notify = false; /* the head's submitDescriptor has no doorbell */
		/* Members last to first, deferred: written into the table, not available yet. */
		for (i = n; i-- > 0;) {
			struct vq_wire_desc d = wire_desc(vq, segs, slot, i, n);
			if ((err = submit(vq->env, segs[i].h, &d, &tok[i])) < 0) {
				retract(vq, segs, tok, i + 1, n);   /* nothing was made available */
				return err;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (segs[i].device_writes)
			wlen += segs[i].len;
	vq->free_head = vq->next_free[slot[n - 1]];
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[slot[0]] = (uint16_t)n;
	vq->wlen[slot[0]] = wlen;
	vq->cookie[slot[0]] = cookie;
	vq->token[slot[0]] = tok[0];
	vq->token_buf[slot[0]] = segs[0].h;
	vq->heads[vq->nheads++] = slot[0];     /* at most track heads: one descriptor each */
	vq->avail_idx++;
	return notify;
}

int
virtq_add(struct virtq *vq, const struct virtq_seg *segs, unsigned n, void *cookie)
{
	return add(vq, segs, n, cookie, false);
}

int
virtq_add_notify(struct virtq *vq, const struct virtq_seg *segs, unsigned n, void *cookie)
{
	return add(vq, segs, n, cookie, true);
}

/* DMABuffer.completeBatch for heads[0..n) (tokens of buffer h): each finished head is
 * marked done with its bytes; a refused token or more bytes than the chain's
 * device-writable length breaks the queue. */
static int
collect_batch(struct virtq *vq, devenv_dma_t h, const uint16_t *heads, unsigned n)
{
	DMABuffer_completeBatch_Params_B p;
	DmaBatchResult_R r;
	struct capnp_struct root;
	struct capnp_blist bl;
	struct capnp_list l;
	capid_t cap = capenv_dma_cap(vq->env, h);
	unsigned i;
	int e;

	if (!cap)
		return E_STALE;
	DMABuffer_completeBatch_Params_init_root(rt_msg_begin(), &p);
	if ((e = DMABuffer_completeBatch_Params_init_tokens(p, n, &bl)) < 0)
		return e;
	for (i = 0; i < n; i++)
		capnp_blist_set_u64(&bl, i, vq->token[heads[i]]);
	if ((e = capenv_call(cap, DMABuffer_completeBatch_ORDINAL, NULL, 0, &root)) < 0 ||
	    (e = capenv_result(&root, &r.s)) < 0)
		return e;
	if (DmaBatchResult_which(r) != DmaBatchResult_which_results)
		return capenv_device_error(DmaBatchResult_get_error(r));
	if (DmaBatchResult_get_results(r, &l) < 0 || l.count != n)
		return E_CORRUPT;       /* not the kernel's answer to this call */
	for (i = 0; i < n; i++) {
		DmaDone_R d;
		if (DmaDone_list_get(&l, i, &d) < 0)
			return E_CORRUPT;
		switch (DmaDone_get_state(d)) {
		case DmaDoneState_pending:
			continue;
		case DmaDoneState_completed:
			if (DmaDone_get_bytes(d) > vq->wlen[heads[i]])
				return E_CORRUPT;
			vq->done[heads[i]] = 1;
			vq->done_bytes[heads[i]] = DmaDone_get_bytes(d);
			continue;
		default:
			return capenv_device_error(DmaDone_get_error(d));
		}
	}
	return 0;
}

/* Ask the kernel about every outstanding head not yet known done: one call per
 * buffer that heads live in (one, for a driver that keeps its headers together).
 * Walks the outstanding heads only (vq->heads), not the table. */
static int
harvest(struct virtq *vq)
{
	uint8_t asked[VIRTQ_TRACK];
	uint16_t batch[VQ_BATCH_MAX];
	unsigned n = vq->nheads;
	int e;

	memset(asked, 0, n);
	for (unsigned f = 0; f < n; f++) {
		uint16_t first = vq->heads[f];
		if (vq->done[first] || asked[f])
			continue;
		devenv_dma_t h = vq->token_buf[first];
		unsigned b = 0;
		for (unsigned k = f; k < n && b < VQ_BATCH_MAX; k++) {
			uint16_t hd = vq->heads[k];
			if (!vq->done[hd] && !asked[k] && vq->token_buf[hd] == h) {
				asked[k] = 1;
				batch[b++] = hd;
			}
		}
		if ((e = collect_batch(vq, h, batch, b)) < 0)
			return e;
	}
	return 0;
}

/* Hand out up to max heads already known done (and forget them as outstanding). */
static unsigned
pop_done(struct virtq *vq, void **cookies, uint32_t *lens, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vq->nheads && n < max;) {
		uint16_t h = vq->heads[i];
		if (!vq->done[h]) {
			i++;
			continue;
		}
		cookies[n] = vq->cookie[h];
		lens[n++] = vq->done_bytes[h];
		vq->last_used++;
		virtq__free_chain(vq, h);
		vq->heads[i] = vq->heads[--vq->nheads];        /* no order to keep */
	}
	return n;
}

int
virtq_get_batch(struct virtq *vq, void **cookies, uint32_t *lens, unsigned max)
{
	unsigned n;
	int e;

	if (vq->broken)
		return E_IO;
	if (max == 0 || vq->avail_idx == vq->last_used)
		return 0;       /* nothing outstanding */
	if ((n = pop_done(vq, cookies, lens, max)) > 0)
		return (int)n;  /* known already: no call */
	if ((e = harvest(vq)) < 0) {
		vq->broken = 1;         /* revoked (reset) or a kernel we do not understand */
		return e;
	}
	return (int)pop_done(vq, cookies, lens, max);
}

int
virtq_get(struct virtq *vq, void **cookie, uint32_t *len)
{
	return virtq_get_batch(vq, cookie, len, 1);
}
