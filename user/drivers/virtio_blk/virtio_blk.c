/*
 * virtio-blk (virtio 1.x 5.2) over the transport in ../virtio. Tested on the
 * host against tests/host/drivers/vblk_model.c, modern and legacy; the QEMU
 * device is virtio-blk-pci (with disable-modern=on for legacy).
 *
 * Request = three descriptors: header (device reads), data (device writes
 * for IN, reads for OUT), status byte (device writes). Every descriptor is
 * written by the environment from (handle, offset, length). A request that
 * does not complete by its deadline, or a used ring the device corrupted,
 * fails the request and resets the device; nothing is left in flight.
 */
#include "virtio_blk.h"

#include "base/err.h"
#include "base/mem.h"
#include "vblk_reg.h"
#include "../virtio/virtio_reg.h"

#define VBLK_HDR_OFF 0u
#define VBLK_STATUS_OFF 16u
#define VBLK_DATA_OFF 4096u
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
	b->max_blocks = VBLK_MAX_BYTES / b->block_size;
	if (b->vio.features & 1ull << VIRTIO_BLK_F_SIZE_MAX) {
		if ((err = vio_cfg_read(&b->vio, VIRTIO_BLK_CFG_SIZE_MAX, 4, &v)))
			return err;
		if (v < b->block_size)
			return E_NOTSUP;        /* one data segment must hold a block */
		if (v / b->block_size < b->max_blocks)
			b->max_blocks = v / b->block_size;
	}
	b->read_only = !!(b->vio.features & 1ull << VIRTIO_BLK_F_RO);
	b->has_flush = !!(b->vio.features & 1ull << VIRTIO_BLK_F_FLUSH);
	return 0;
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
	err = t == VBLK_MODERN ? vio_probe_modern(&b->vio, env) : vio_probe_legacy(&b->vio, env);
	if (err)
		return err;
	if ((err = devenv_dma_alloc(env, VBLK_DATA_OFF + VBLK_MAX_BYTES, DEVENV_DMA_BIDIRECTIONAL, &b->req)))
		return err;
	if (b->req.size < VBLK_DATA_OFF + VBLK_MAX_BYTES) {
		err = E_NOMEM;
		goto free_req;
	}
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
free_req:
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

int
vblk_recover(struct vblk *b)
{
	int err;

	b->resets++;
	if (b->hard_reset) {
		/* Every buffer was revoked with the reset: the old handles are
		 * stale, so forget them (not free) and allocate again. */
		if ((err = b->hard_reset(b->env)) < 0)
			goto dead;
		b->vq.mem.h = 0;
		b->req.h = 0;
		if ((err = devenv_dma_alloc(b->env, VBLK_DATA_OFF + VBLK_MAX_BYTES,
		    DEVENV_DMA_BIDIRECTIONAL, &b->req)))
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

/* Wait for the one outstanding request; 0 when it completed. */
static int
wait_done(struct vblk *b, void *cookie)
{
	uint64_t deadline = devenv_now_ns(b->env) + b->timeout_ns, now;
	void *got;
	uint32_t len, us = VBLK_POLL_US;
	uint8_t isr;
	int r;

	for (;;) {
		r = virtq_get(&b->vq, &got, &len);
		if (r < 0) {
			b->corrupt++;
			(void)vblk_recover(b);
			return E_IO;
		}
		if (r == 1) {
			if (got != cookie) {    /* cannot happen with one in flight */
				b->corrupt++;
				(void)vblk_recover(b);
				return E_IO;
			}
			return 0;
		}
		now = devenv_now_ns(b->env);
		if (now >= deadline)
			break;
		if (b->completion == VBLK_IRQ) {
			r = devenv_irq_wait(b->env, deadline - now);
			if (r > 0) {
				/* INTx/legacy: reading ISR deasserts the line. */
				if (!devenv_irq_is_msix(b->env))
					(void)b->vio.ops->isr(&b->vio, &isr);
				(void)devenv_irq_ack(b->env);
			} else if (r < 0) {
				(void)vblk_recover(b);
				return r;
			}
		} else {
			devenv_delay_us(b->env, us);
			if (us < VBLK_POLL_MAX_US)
				us *= 2;        /* back off: a slow device costs few polls */
		}
	}
	b->timeouts++;
	/* The device still owns the buffers: reset it before anyone reuses them. */
	(void)vblk_recover(b);
	return E_TIMEOUT;
}

static int
do_request(struct vblk *b, uint32_t type, uint64_t sector, uint32_t bytes)
{
	struct virtio_blk_req_hdr *hdr = (void *)((uint8_t *)b->req.cpu + VBLK_HDR_OFF);
	volatile uint8_t *status = (uint8_t *)b->req.cpu + VBLK_STATUS_OFF;
	struct virtq_seg segs[3];
	unsigned n = 0;
	void *cookie;
	int err;

	if (b->dead)
		return E_IO;
	hdr->type = type;
	hdr->reserved = 0;
	hdr->sector = sector;
	*status = 0xff;
	segs[n++] = (struct virtq_seg){ b->req.h, VBLK_HDR_OFF, sizeof(*hdr), 0 };
	if (bytes)
		segs[n++] = (struct virtq_seg){ b->req.h, VBLK_DATA_OFF, bytes, type == VIRTIO_BLK_T_IN };
	segs[n++] = (struct virtq_seg){ b->req.h, VBLK_STATUS_OFF, 1, 1 };
	/* A fresh cookie per request: a completion left over from an earlier
	 * request can never be taken for this one. */
	cookie = (void *)(uintptr_t)++b->seq;
	if (cookie == NULL)
		cookie = (void *)(uintptr_t)++b->seq;
	if ((err = virtq_add(&b->vq, segs, n, cookie))) {
		if (err == E_IO)
			(void)vblk_recover(b);
		return err;
	}
	if ((err = vio_notify(&b->vio, 0))) {
		/* Published but maybe never seen: reset so that it cannot
		 * complete later under another request. */
		(void)vblk_recover(b);
		return err;
	}
	if ((err = wait_done(b, cookie)))
		return err;
	switch (*status) {
	case VIRTIO_BLK_S_OK: return 0;
	case VIRTIO_BLK_S_UNSUPP: return E_NOTSUP;
	default: return E_IO;
	}
}

static int
check(const struct vblk *b, uint64_t lba, uint32_t count)
{
	if (count == 0 || count > b->max_blocks)
		return E_INVAL;
	if (lba >= b->block_count || count > b->block_count - lba)
		return E_RANGE;
	return 0;
}

int
vblk_read(struct vblk *b, uint64_t lba, uint32_t count, void *buf)
{
	uint32_t bytes = count * b->block_size;
	int err = check(b, lba, count);

	if (err)
		return err;
	err = do_request(b, VIRTIO_BLK_T_IN, lba * (b->block_size / VIRTIO_BLK_SECTOR), bytes);
	if (err)
		return err;
	memcpy(buf, (uint8_t *)b->req.cpu + VBLK_DATA_OFF, bytes);
	return 0;
}

int
vblk_write(struct vblk *b, uint64_t lba, uint32_t count, const void *buf)
{
	uint32_t bytes = count * b->block_size;
	int err = check(b, lba, count);

	if (err)
		return err;
	if (b->read_only)
		return E_PERM;
	memcpy((uint8_t *)b->req.cpu + VBLK_DATA_OFF, buf, bytes);
	return do_request(b, VIRTIO_BLK_T_OUT, lba * (b->block_size / VIRTIO_BLK_SECTOR), bytes);
}

int
vblk_flush(struct vblk *b)
{
	/* 5.2.6.2: without VIRTIO_BLK_F_FLUSH the device is write-through. */
	if (!b->has_flush)
		return 0;
	return do_request(b, VIRTIO_BLK_T_FLUSH, 0, 0);
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
