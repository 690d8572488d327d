/*
 * virtio-blk (virtio 1.x 5.2) over the transport in ../virtio. Tested on the
 * host against tests/host/drivers/vblk_model.c, modern and legacy; the QEMU
 * device is virtio-blk-pci (with disable-modern=on for legacy).
 *
 * Request = three descriptors in the request buffer: header and status byte
 * in its slot (page 0), data (device writes for IN, reads for OUT) in place
 * when the caller's buffer lies in one of its areas, else in the slot's
 * bounce data, copied. Every descriptor is written by the environment from
 * (handle, offset, length); all three are in one buffer, so the caps
 * binding makes the chain available in one call. Several slots can be at the device at once; the
 * used ring names each finished chain, whose cookie names its slot and
 * request (a cookie that names neither is a corrupted ring). A request past
 * its deadline, or a used ring the device corrupted, fails every request in
 * flight and resets the device; nothing is left in flight, nothing is
 * finished twice.
 */
#include "virtio_blk.h"

#include <stdbool.h>

#include "base/err.h"
#include "base/mem.h"
#include "vblk_reg.h"
#include "../virtio/virtio_reg.h"

#define VBLK_POLL_US 10u
#define VBLK_POLL_MAX_US 1000u

static int srv_read(void *drv, uint64_t lba, uint32_t count, void *buf);
static int srv_write(void *drv, uint64_t lba, uint32_t count, const void *buf);
static int srv_flush(void *drv);

static const struct blkserv_ops vblk_srv_ops = { srv_read, srv_write, srv_flush };

static int
bring_up(struct vblk *b)
{
	uint64_t opt = 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
	    1ull << VIRTIO_BLK_F_RO | 1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX;
	int err;

	if (b->transport == VBLK_MODERN)
		opt |= 1ull << VIRTIO_F_ACCESS_PLATFORM;
	if ((err = vio_negotiate(&b->vio, 0, opt)))
		return err;
	if ((err = vio_queue_setup(&b->vio, &b->vq, 0, VBLK_QUEUE_WANT)) || (err = vio_driver_ok(&b->vio))) {
		vio_fail(&b->vio);
		return err;
	}
	return 0;
}

static int
read_geometry(struct vblk *b)
{
	uint64_t sectors;
	uint32_t v, per;
	int err;

	if ((err = vio_cfg_read64(&b->vio, VIRTIO_BLK_CFG_CAPACITY, &sectors)))
		return err;
	b->block_size = VIRTIO_BLK_SECTOR;
	if (b->vio.features & 1ull << VIRTIO_BLK_F_BLK_SIZE) {
		if ((err = vio_cfg_read(&b->vio, VIRTIO_BLK_CFG_BLK_SIZE, 4, &v)))
			return err;
		if (v < 512 || v > 4096 || (v & (v - 1)))
			return E_CORRUPT;
		b->block_size = v;
	}
	per = b->block_size / VIRTIO_BLK_SECTOR;
	b->block_count = sectors / per;
	if (b->block_count == 0)
		return E_CORRUPT;
	b->dev_max_blocks = VBLK_MAX_BYTES / b->block_size;
	if (b->vio.features & 1ull << VIRTIO_BLK_F_SIZE_MAX) {
		if ((err = vio_cfg_read(&b->vio, VIRTIO_BLK_CFG_SIZE_MAX, 4, &v)))
			return err;
		if (v < b->block_size)
			return E_NOTSUP;        /* one data segment must hold a block */
		if (v / b->block_size < b->dev_max_blocks)
			b->dev_max_blocks = v / b->block_size;
	}
	b->max_blocks = b->dev_max_blocks;
	if (b->bounce_max / b->block_size < b->max_blocks)
		b->max_blocks = b->bounce_max / b->block_size;
	b->read_only = !!(b->vio.features & 1ull << VIRTIO_BLK_F_RO);
	b->has_flush = !!(b->vio.features & 1ull << VIRTIO_BLK_F_FLUSH);
	return 0;
}

/* Bytes from one area to the next: whole pages, so that every area has
 * the same offset in its page. */
static uint64_t
area_stride(const struct vblk_layout *l)
{
	return ((uint64_t)l->area_bytes + DEVENV_PAGE_SIZE - 1) & ~(uint64_t)(DEVENV_PAGE_SIZE - 1);
}

/* Take layout l (checked): the slots' bounce data after the areas. */
static void
layout(struct vblk *b, const struct vblk_layout *l)
{
	uint64_t off = VBLK_DATA_OFF + l->areas * area_stride(l);

	b->lay = *l;
	b->slots = l->slots;
	b->bounce_max = 0;
	for (uint16_t s = 0; s < l->slots; s++) {
		b->slot_len[s] = s < l->big ? l->big_bytes : l->small_bytes;
		b->slot_off[s] = off;
		off += b->slot_len[s];
		if (b->slot_len[s] > b->bounce_max)
			b->bounce_max = b->slot_len[s];
	}
	b->extra_off = (off + DEVENV_PAGE_SIZE - 1) & ~(uint64_t)(DEVENV_PAGE_SIZE - 1);
}

/* Bytes of the request buffer for the current layout. */
static uint64_t
req_bytes(const struct vblk *b)
{
	if (b->lay.extra_bytes)
		return b->extra_off + b->lay.extra_bytes;
	return b->slot_off[b->slots - 1] + b->slot_len[b->slots - 1];
}

/* Offset in req of area i (< lay.areas). */
static uint64_t
area_off(const struct vblk *b, uint16_t i)
{
	return VBLK_DATA_OFF + i * area_stride(&b->lay) - b->lay.area_lead;
}

void *
vblk_area(const struct vblk *b, uint16_t i)
{
	if (i >= b->lay.areas || !b->req.cpu || b->areas_lost)
		return NULL;
	return (uint8_t *)b->req.cpu + area_off(b, i);
}

void *
vblk_extra(const struct vblk *b, uint64_t *off)
{
	if (!b->lay.extra_bytes || !b->req.cpu || b->areas_lost)
		return NULL;
	*off = b->extra_off;
	return (uint8_t *)b->req.cpu + b->extra_off;
}

/* Whether buf[0..bytes) lies wholly inside the extra range; its offset in req.
 * Compared as integers: a pointer from elsewhere is never formed into one past it. */
static bool
in_extra(const struct vblk *b, const void *buf, uint32_t bytes, uint64_t *off)
{
	uintptr_t p = (uintptr_t)buf, first = (uintptr_t)b->req.cpu + b->extra_off;

	if (!b->lay.extra_bytes || !b->req.cpu || p < first || p - first > b->lay.extra_bytes ||
	    bytes > b->lay.extra_bytes - (p - first))
		return false;
	*off = b->extra_off + (p - first);
	return true;
}

/* Whether buf[0..bytes) lies wholly inside one area; its offset in req. */
static bool
in_area(const struct vblk *b, const void *buf, uint32_t bytes, uint64_t *off)
{
	uintptr_t p = (uintptr_t)buf, first = (uintptr_t)b->req.cpu + VBLK_DATA_OFF - b->lay.area_lead;
	uint64_t stride = area_stride(&b->lay);

	if (!b->lay.areas || !b->req.cpu || p < first)
		return false;
	uint64_t i = (p - first) / stride, in = (p - first) % stride;
	if (i >= b->lay.areas || bytes > b->lay.area_bytes || in > b->lay.area_bytes - bytes)
		return false;
	*off = p - (uintptr_t)b->req.cpu;
	return true;
}

static int
req_alloc(struct vblk *b, struct devenv_dma *out, uint64_t bytes)
{
	int err = devenv_dma_alloc(b->env, bytes, DEVENV_DMA_BIDIRECTIONAL, out);

	if (!err && out->size < bytes) {
		devenv_dma_free(b->env, out);
		return E_NOMEM;
	}
	return err;
}

int
vblk_init(struct vblk *b, struct devenv *env, enum vblk_transport t, enum vblk_completion c)
{
	struct blkserv_info info;
	int err;

	memset(b, 0, sizeof(*b));
	b->env = env;
	b->transport = t;
	b->completion = c;
	b->timeout_ns = VBLK_TIMEOUT_NS;
	layout(b, &(struct vblk_layout){ .slots = 1, .big = 1, .big_bytes = VBLK_MAX_BYTES });
	err = t == VBLK_MODERN ? vio_probe_modern(&b->vio, env) : vio_probe_legacy(&b->vio, env);
	if (err)
		return err;
	if ((err = req_alloc(b, &b->req, req_bytes(b))))
		return err;
	if ((err = bring_up(b)))
		goto free_vq;
	if ((err = read_geometry(b))) {
		vio_fail(&b->vio);
		goto free_vq;
	}
	info.block_size = b->block_size;
	info.block_count = b->block_count;
	info.max_transfer_blocks = b->max_blocks;
	info.read_only = b->read_only;
	info.model = b->transport == VBLK_MODERN ? "virtio-blk" : "virtio-blk (legacy)";
	if ((err = blkserv_init(&b->srv, &vblk_srv_ops, b, &info)))
		goto free_vq;
	return 0;
free_vq:
	if (b->vq.mem.h) {
		(void)vio_reset(&b->vio);       /* the device must stop using the rings first */
		virtq_fini(&b->vq);
	}
	devenv_dma_free(env, &b->req);
	return err;
}

void
vblk_fini(struct vblk *b)
{
	(void)vio_reset(&b->vio);
	virtq_fini(&b->vq);
	if (b->req.h)
		devenv_dma_free(b->env, &b->req);
}

/* A slot size vblk_async_init takes. */
static bool
slot_size_ok(const struct vblk *b, uint32_t bytes)
{
	return bytes >= b->block_size && bytes % b->block_size == 0 && bytes <= VBLK_MAX_BYTES;
}

/* Whether l is a layout vblk_async_layout takes. */
static bool
layout_ok(const struct vblk *b, const struct vblk_layout *l)
{
	if (l->slots == 0 || l->slots > VBLK_SLOTS_MAX || l->big > l->slots ||
	    l->areas > VBLK_SLOTS_MAX)
		return false;
	if (l->areas && (l->area_bytes < b->block_size || l->area_bytes > VBLK_AREA_MAX_BYTES ||
	    l->area_lead > VBLK_AREA_MAX_LEAD))
		return false;
	if (l->extra_bytes % DEVENV_PAGE_SIZE || l->extra_bytes > VBLK_EXTRA_MAX)
		return false;
	if (l->big == 0)        /* header-only slots: for areas, no bounce data at all */
		return l->areas && l->big_bytes == 0 && l->small_bytes == 0;
	return slot_size_ok(b, l->big_bytes) && (l->big == l->slots ||
	    (slot_size_ok(b, l->small_bytes) && l->small_bytes <= l->big_bytes));
}

/* The most a request may carry in layout l: its largest slot or area. */
static uint32_t
layout_max_blocks(const struct vblk *b, const struct vblk_layout *l)
{
	uint32_t bytes = l->big ? l->big_bytes : 0, area = l->area_bytes;

	if (l->areas && area > bytes)
		bytes = area < VBLK_MAX_BYTES ? area : VBLK_MAX_BYTES;
	bytes /= b->block_size;
	return b->dev_max_blocks < bytes ? b->dev_max_blocks : bytes;
}

int
vblk_async_layout(struct vblk *b, const struct vblk_layout *l)
{
	struct devenv_dma nreq;
	struct vblk_layout old = b->lay;
	int err;

	if (!layout_ok(b, l))
		return E_INVAL;
	if (vblk_pending(b))
		return E_BUSY;
	/* The old buffer goes first, so the pool's budget holds the new one. */
	devenv_dma_free(b->env, &b->req);
	layout(b, l);
	if ((err = req_alloc(b, &nreq, req_bytes(b)))) {
		layout(b, &old);
		if (req_alloc(b, &b->req, req_bytes(b)) < 0)
			b->dead = 1;    /* no buffer at all: every request fails at once */
		return err;
	}
	b->req = nreq;
	b->areas_lost = 0;
	b->max_blocks = layout_max_blocks(b, l);
	b->srv.info.max_transfer_blocks = b->max_blocks;
	return 0;
}

int
vblk_async_init(struct vblk *b, uint16_t slots, uint16_t big, uint32_t big_bytes,
    uint32_t small_bytes)
{
	if (big == 0)
		return E_INVAL;         /* without areas every slot needs bounce data */
	return vblk_async_layout(b, &(struct vblk_layout){ .slots = slots, .big = big,
	    .big_bytes = big_bytes, .small_bytes = small_bytes });
}

uint32_t
vblk_pending(const struct vblk *b)
{
	uint32_t n = 0;

	for (uint16_t s = 0; s < b->slots; s++)
		n += b->inflight[s] != NULL;
	return n;
}

/* ---- finishing requests ---- */

static void
finish(struct vblk *b, uint16_t s, int err)
{
	struct vblk_req *r = b->inflight[s];

	if (!err && r->op == VBLK_OP_READ && b->bounced[s])
		memcpy(r->buf, (uint8_t *)b->req.cpu + b->data_off[s],
		    (size_t)r->count * b->block_size);
	r->status = err;
	r->done = 1;
	b->inflight[s] = NULL;
	b->cookie[s] = 0;
	b->completed++;
}

/* Every request in flight finishes with err (the device is about to be reset). */
static void
fail_all(struct vblk *b, int err)
{
	for (uint16_t s = 0; s < b->slots; s++)
		if (b->inflight[s])
			finish(b, s, err);
}

/* The device's answer in slot s's status byte. */
static int
slot_status(const struct vblk *b, uint16_t s)
{
	switch (((volatile uint8_t *)b->req.cpu)[(size_t)s * VBLK_SLOT_HDR + 16]) {
	case VIRTIO_BLK_S_OK: return 0;
	case VIRTIO_BLK_S_UNSUPP: return E_NOTSUP;
	default: return E_IO;
	}
}

int
vblk_recover(struct vblk *b)
{
	int err;

	fail_all(b, E_IO);
	b->unnotified = 0;
	b->resets++;
	if (b->hard_reset) {
		/* Every buffer was revoked with the reset: the old handles are
		 * stale, so forget them (not free) and allocate again. */
		if ((err = b->hard_reset(b->env)) < 0)
			goto dead;
		b->vq.mem.h = 0;
		b->req.h = 0;
		if (b->lay.areas) {
			/* The caller's areas went with the buffer (unmapped, its
			 * messages in them lost): a new buffer would not be where
			 * the caller keeps them. */
			b->req.cpu = NULL;
			b->areas_lost = 1;
			err = E_STALE;
			goto dead;
		}
		if ((err = req_alloc(b, &b->req, req_bytes(b))))
			goto dead;
	}
	if ((err = bring_up(b)))
		goto dead;
	b->dead = 0;
	return 0;
dead:
	/* The device did not come back: fail every request at once rather
	 * than let each one wait out its deadline. */
	b->dead = 1;
	return err;
}

/* Fail everything in flight with err, then reset. */
static void
abort_all(struct vblk *b, int err)
{
	fail_all(b, err);
	(void)vblk_recover(b);
}

/* ---- submission ---- */

static int
check(const struct vblk *b, uint64_t lba, uint32_t count)
{
	if (count == 0 || count > b->max_blocks)
		return E_INVAL;
	if (lba >= b->block_count || count > b->block_count - lba)
		return E_RANGE;
	return 0;
}

static int
check_req(const struct vblk *b, const struct vblk_req *r)
{
	int err;

	switch (r->op) {
	case VBLK_OP_FLUSH:
		return 0;
	case VBLK_OP_WRITE:
		if ((err = check(b, r->lba, r->count)))
			return err;
		return b->read_only ? E_PERM : 0;
	case VBLK_OP_READ:
		return check(b, r->lba, r->count);
	default:
		return E_INVAL;
	}
}

/* The smallest free slot whose bounce data holds `bytes` (0: any slot; b->slots
 * when none does). */
static uint16_t
free_slot(const struct vblk *b, uint32_t bytes)
{
	uint16_t best = b->slots;

	for (uint16_t s = 0; s < b->slots; s++)
		if (!b->inflight[s] && b->slot_len[s] >= bytes &&
		    (best == b->slots || b->slot_len[s] < b->slot_len[best]))
			best = s;
	return best;
}

int
vblk_submit(struct vblk *b, struct vblk_req *r)
{
	uint32_t bytes = r->op == VBLK_OP_FLUSH ? 0 : r->count * b->block_size;
	struct virtq_seg segs[3];
	unsigned n = 0;
	uint64_t data = 0;
	bool bounce;
	uint16_t s;
	int err;

	if (b->dead)
		return E_IO;
	if ((err = check_req(b, r)))
		return err;
	r->done = 0;
	r->status = 0;
	if (r->op == VBLK_OP_FLUSH && !b->has_flush) {
		r->done = 1;    /* 5.2.6.2: without VIRTIO_BLK_F_FLUSH the device is write-through */
		return 0;
	}
	bounce = bytes && !in_area(b, r->buf, bytes, &data) && !in_extra(b, r->buf, bytes, &data);
	if (bounce && bytes > b->bounce_max)
		return E_INVAL;         /* no slot will ever hold it */
	if ((s = free_slot(b, bounce ? bytes : 0)) == b->slots)
		return E_AGAIN;
	if (bounce)
		data = b->slot_off[s];
	uint8_t *slot = (uint8_t *)b->req.cpu + (size_t)s * VBLK_SLOT_HDR;
	struct virtio_blk_req_hdr *hdr = (void *)slot;
	hdr->type = r->op == VBLK_OP_READ ? VIRTIO_BLK_T_IN : r->op == VBLK_OP_WRITE ?
	    VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_FLUSH;
	hdr->reserved = 0;
	hdr->sector = bytes ? r->lba * (b->block_size / VIRTIO_BLK_SECTOR) : 0;
	slot[16] = 0xff;
	if (bounce && r->op == VBLK_OP_WRITE)
		memcpy((uint8_t *)b->req.cpu + data, r->buf, bytes);
	segs[n++] = (struct virtq_seg){ b->req.h, (uint64_t)s * VBLK_SLOT_HDR, sizeof(*hdr), 0 };
	if (bytes)
		segs[n++] = (struct virtq_seg){ b->req.h, data, bytes, r->op == VBLK_OP_READ };
	segs[n++] = (struct virtq_seg){ b->req.h, (uint64_t)s * VBLK_SLOT_HDR + 16, 1, 1 };
	/* A fresh cookie per request, naming its slot: a completion left over
	 * from an earlier request can never be taken for this one. */
	uintptr_t cookie = (++b->seq << 8) | (uintptr_t)(s + 1);
	/* An idle device is told at once, with the chain where the binding can
	 * (one call, not two); a busy one is told once per batch, by the poll. */
	bool idle = !b->unnotified && !vblk_pending(b);
	err = idle ? virtq_add_notify(&b->vq, segs, n, (void *)cookie) :
	    virtq_add(&b->vq, segs, n, (void *)cookie);
	if (err < 0) {
		if (err == E_IO)
			abort_all(b, E_IO);     /* the queue is broken: reset */
		return err;
	}
	b->inflight[s] = r;
	b->data_off[s] = data;
	b->bounced[s] = bounce;
	b->copied += bounce;
	b->cookie[s] = cookie;
	b->deadline[s] = devenv_now_ns(b->env) + b->timeout_ns;
	if (err == 0)
		b->unnotified++;
	else
		b->notified_with_add++;
	return 0;
}

/* ---- completion ---- */

/* Take every completion the device has posted; E_IO for a cookie that names
 * no request in flight (the caller resets). */
static int
collect(struct vblk *b)
{
	void *got[VBLK_SLOTS_MAX];
	uint32_t len[VBLK_SLOTS_MAX];
	int n, k;

	do {
		/* One look at the device (caps: one call) finds them all: at most
		 * VBLK_SLOTS_MAX are in flight. */
		if ((n = virtq_get_batch(&b->vq, got, len, VBLK_SLOTS_MAX)) < 0)
			return E_IO;
		for (k = 0; k < n; k++) {
			uintptr_t c = (uintptr_t)got[k];
			uint16_t s = (uint16_t)((c & 0xff) - 1);
			if (s >= b->slots || !b->inflight[s] || b->cookie[s] != c)
				return E_IO;
			finish(b, s, slot_status(b, s));
		}
	} while (n == (int)VBLK_SLOTS_MAX);
	return 0;
}

/* The earliest deadline of a request in flight (~0 when none). */
static uint64_t
oldest_deadline(const struct vblk *b)
{
	uint64_t oldest = ~0ull;

	for (uint16_t s = 0; s < b->slots; s++)
		if (b->inflight[s] && b->deadline[s] < oldest)
			oldest = b->deadline[s];
	return oldest;
}

/* Wait for the device's interrupt until `until`: 0, or the route's error. */
static int
irq_wait(struct vblk *b, uint64_t until, uint64_t now)
{
	uint8_t isr;
	int r = devenv_irq_wait(b->env, until - now);

	if (r > 0) {
		/* INTx/legacy: reading ISR deasserts the line. */
		if (!devenv_irq_is_msix(b->env))
			(void)b->vio.ops->isr(&b->vio, &isr);
		(void)devenv_irq_ack(b->env);
	}
	return r < 0 ? r : 0;
}

int
vblk_poll(struct vblk *b, uint64_t timeout_ns)
{
	uint64_t until = devenv_now_ns(b->env) + timeout_ns, now, oldest;
	uint32_t before = b->completed, us = VBLK_POLL_US;
	int err;

	if (b->unnotified) {
		b->unnotified = 0;
		if ((err = vio_notify(&b->vio, 0))) {
			/* Published but maybe never seen: reset so that nothing
			 * completes later under another request. */
			abort_all(b, err);
			return (int)(b->completed - before);
		}
		b->spin_until = devenv_now_ns(b->env) + b->irq_spin_ns;
	}
	for (;;) {
		if (collect(b) < 0) {
			b->corrupt++;
			abort_all(b, E_IO);
			return (int)(b->completed - before);
		}
		if (b->completed != before || !vblk_pending(b))
			return (int)(b->completed - before);
		now = devenv_now_ns(b->env);
		oldest = oldest_deadline(b);
		if (now >= oldest) {
			b->timeouts++;
			/* The device still owns the buffers: reset before reuse. */
			abort_all(b, E_TIMEOUT);
			return (int)(b->completed - before);
		}
		if (now >= until)
			return 0;
		if (b->completion == VBLK_IRQ && now < b->spin_until)
			continue;       /* a fast device: collect again rather than park */
		if (b->completion == VBLK_IRQ) {
			if ((err = irq_wait(b, until < oldest ? until : oldest, now)) < 0) {
				abort_all(b, err);
				return (int)(b->completed - before);
			}
		} else {
			devenv_delay_us(b->env, us);
			if (us < VBLK_POLL_MAX_US)
				us *= 2;        /* back off: a slow device costs few polls */
		}
	}
}

/* ---- synchronous requests (blkserv) ---- */

static int
do_sync(struct vblk *b, struct vblk_req *r)
{
	int err = vblk_submit(b, r);

	if (err == E_AGAIN)
		return E_BUSY;          /* every slot taken by asynchronous requests */
	if (err)
		return err;
	while (!r->done)
		(void)vblk_poll(b, b->timeout_ns);
	return r->status;
}

int
vblk_read(struct vblk *b, uint64_t lba, uint32_t count, void *buf)
{
	struct vblk_req r = { .op = VBLK_OP_READ, .lba = lba, .count = count, .buf = buf };

	return do_sync(b, &r);
}

int
vblk_write(struct vblk *b, uint64_t lba, uint32_t count, const void *buf)
{
	struct vblk_req r = { .op = VBLK_OP_WRITE, .lba = lba, .count = count, .buf = (void *)buf };

	return do_sync(b, &r);
}

int
vblk_flush(struct vblk *b)
{
	struct vblk_req r = { .op = VBLK_OP_FLUSH };

	return do_sync(b, &r);
}

static int
srv_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	return vblk_read(drv, lba, count, buf);
}

static int
srv_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	return vblk_write(drv, lba, count, buf);
}

static int
srv_flush(void *drv)
{
	return vblk_flush(drv);
}
