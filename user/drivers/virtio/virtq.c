/*
 * Split virtqueue: free list, available-ring publication and used-ring
 * validation. See virtq.h for the design; virtio 1.x section 2.7.
 */
#include "virtq.h"
#include "virtq_int.h"

#include "base/err.h"
#include "base/mem.h"
#include "virtio_reg.h"

static volatile struct virtq_avail_hdr *
avail_hdr(struct virtq *vq)
{
	return (volatile struct virtq_avail_hdr *)((uint8_t *)vq->mem.cpu + vq->avail_off);
}

static volatile uint16_t *
avail_ring(struct virtq *vq)
{
	return (volatile uint16_t *)((uint8_t *)vq->mem.cpu + vq->avail_off + 4);
}

static volatile struct virtq_used_hdr *
used_hdr(struct virtq *vq)
{
	return (volatile struct virtq_used_hdr *)((uint8_t *)vq->mem.cpu + vq->used_off);
}

static volatile struct virtq_used_elem *
used_ring(struct virtq *vq)
{
	return (volatile struct virtq_used_elem *)((uint8_t *)vq->mem.cpu + vq->used_off + 4);
}

void
virtq_reset(struct virtq *vq)
{
	memset(vq->mem.cpu, 0, (size_t)vq->mem.size);
	virtq__list_reset(vq);
}

int
virtq_init(struct virtq *vq, struct devenv *env, uint16_t index, uint16_t size)
{
	int err = virtq_check_size(size);

	if (err)
		return err;
	virtq__setup(vq, env, index, size);
	err = devenv_dma_alloc(env, virtq_bytes(size), DEVENV_DMA_BIDIRECTIONAL, &vq->mem);
	if (err)
		return err;
	if (vq->mem.size < virtq_bytes(size)) {
		devenv_dma_free(env, &vq->mem);
		return E_NOMEM;
	}
	virtq_reset(vq);
	return 0;
}

void
virtq_fini(struct virtq *vq)
{
	if (vq->mem.h)
		devenv_dma_free(vq->env, &vq->mem);
	vq->mem.h = 0;
	vq->mem.cpu = 0;
}

int
virtq_add(struct virtq *vq, const struct virtq_seg *segs, unsigned n, void *cookie)
{
	uint16_t head, d;
	unsigned i;
	uint32_t wlen = 0;
	int err;

	if (vq->broken)
		return E_IO;
	if (n == 0 || n > vq->track)
		return E_INVAL;
	if (vq->num_free < n)
		return E_AGAIN;
	head = vq->free_head;
	d = head;
	for (i = 0; i < n; i++) {
		uint16_t next = vq->next_free[d];
		uint16_t flags = segs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0;

		if (i + 1 < n)
			flags |= VIRTQ_DESC_F_NEXT;
		err = devenv_virtq_desc(vq->env, vq->mem.h, (uint64_t)d * sizeof(struct virtq_desc),
		    vq->size, segs[i].h, segs[i].off, segs[i].len, flags,
		    i + 1 < n ? next : 0);
		if (err)
			return err;     /* nothing published; free list untouched */
		if (segs[i].device_writes)
			wlen += segs[i].len;
		if (i + 1 < n)
			d = next;
	}
	vq->free_head = vq->next_free[d];
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[head] = (uint16_t)n;
	vq->wlen[head] = wlen;
	vq->cookie[head] = cookie;
	avail_ring(vq)[vq->avail_idx & (vq->size - 1)] = head;
	/* The ring entry must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->avail_idx++;
	avail_hdr(vq)->idx = vq->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return 0;
}

int
virtq_add_notify(struct virtq *vq, const struct virtq_seg *segs, unsigned n, void *cookie)
{
	return virtq_add(vq, segs, n, cookie);  /* the transport's doorbell is the caller's */
}

int
virtq_get(struct virtq *vq, void **cookie, uint32_t *len)
{
	uint16_t used_idx, pending;
	uint32_t id, l;
	volatile struct virtq_used_elem *e;

	if (vq->broken)
		return E_IO;
	used_idx = used_hdr(vq)->idx;
	/* Read the index before the element it covers. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	pending = (uint16_t)(used_idx - vq->last_used);
	if (pending == 0)
		return 0;
	if (pending > vq->size || pending > (uint16_t)(vq->avail_idx - vq->last_used)) {
		vq->broken = 1;     /* the device claims more than was posted */
		return E_CORRUPT;
	}
	e = &used_ring(vq)[vq->last_used & (vq->size - 1)];
	id = e->id;
	l = e->len;
	if (id >= vq->track || vq->chain_len[id] == 0 || l > vq->wlen[id]) {
		vq->broken = 1;
		return E_CORRUPT;
	}
	vq->last_used++;
	*cookie = vq->cookie[id];
	*len = l;
	virtq__free_chain(vq, (uint16_t)id);
	return 1;
}

int
virtq_get_batch(struct virtq *vq, void **cookies, uint32_t *lens, unsigned max)
{
	unsigned n = 0;
	int r = 0;

	while (n < max && (r = virtq_get(vq, &cookies[n], &lens[n])) == 1)
		n++;
	return n || n == max ? (int)n : r;
}
