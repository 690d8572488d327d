/* CAPOSVOL volume header and region windows (docs/caposwf1.md). */
#include "wfs/vol.h"

#include <stddef.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "base/mem.h"

static int
part_read(struct blk_dev *d, uint64_t lba, uint32_t count, void *buf)
{
	struct wf_part *p = d->ctx;

	if (lba > d->block_count || count > d->block_count - lba)
		return E_RANGE;
	return blk_read(p->parent, p->start + lba, count, buf);
}

static int
part_write(struct blk_dev *d, uint64_t lba, uint32_t count, const void *buf)
{
	struct wf_part *p = d->ctx;

	if (lba > d->block_count || count > d->block_count - lba)
		return E_RANGE;
	return blk_write(p->parent, p->start + lba, count, buf);
}

static int
part_flush(struct blk_dev *d)
{
	struct wf_part *p = d->ctx;

	return blk_flush(p->parent);
}

static void
part_init(struct wf_part *p, struct blk_dev *parent, uint64_t start, uint64_t count)
{
	p->parent = parent;
	p->start = start;
	p->dev.block_size = parent->block_size;
	p->dev.block_count = count;
	p->dev.read = part_read;
	p->dev.write = part_write;
	p->dev.flush = part_flush;
	p->dev.ctx = p;
}

int
wf_vol_format(struct blk_dev *dev, uint64_t st_blocks)
{
	struct wf_vol_disk h;
	uint8_t blk[4096];
	int r;

	if (dev->block_size != 512 && dev->block_size != 4096)
		return E_INVAL;
	if (st_blocks == 0 || dev->block_count < 2 || st_blocks > dev->block_count - 2)
		return E_NOSPC;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, WF_VOL_MAGIC, 8);
	h.version = WF_VOL_VERSION;
	h.block_size = dev->block_size;
	h.device_blocks = dev->block_count;
	h.st_start = 1;
	h.st_blocks = st_blocks;
	h.wf_start = 1 + st_blocks;
	h.wf_blocks = dev->block_count - h.wf_start;
	h.crc = crc32c(&h, offsetof(struct wf_vol_disk, crc));
	memset(blk, 0, dev->block_size);
	memcpy(blk, &h, sizeof(h));
	r = blk_write(dev, 0, 1, blk);
	if (r < 0)
		return r;
	return blk_flush(dev);
}

static const char *
vol_invalid(const struct wf_vol_disk *h, const struct blk_dev *dev)
{
	if (memcmp(h->magic, WF_VOL_MAGIC, 8) != 0)
		return "volume header: bad magic";
	if (h->crc != crc32c(h, offsetof(struct wf_vol_disk, crc)))
		return "volume header: bad checksum";
	if (h->version != WF_VOL_VERSION)
		return "volume header: unknown version";
	if (h->block_size != dev->block_size)
		return "volume header: block size differs from device";
	if (h->device_blocks > dev->block_count)
		return "volume header: device smaller than recorded (truncated image)";
	if (h->st_start < 1 || h->st_blocks == 0 || h->wf_blocks == 0 ||
	    h->st_start > h->device_blocks || h->st_blocks > h->device_blocks - h->st_start ||
	    h->wf_start < h->st_start + h->st_blocks || h->wf_start > h->device_blocks ||
	    h->wf_blocks > h->device_blocks - h->wf_start)
		return "volume header: regions out of range or overlapping";
	return NULL;
}

int
wf_vol_open(struct wf_vol *v, struct blk_dev *dev)
{
	uint8_t blk[4096];
	int r;

	memset(v, 0, sizeof(*v));
	if (dev->block_size != 512 && dev->block_size != 4096) {
		v->why = "device block size is not 512 or 4096";
		return E_INVAL;
	}
	if (dev->block_count == 0) {
		v->why = "empty device";
		return E_CORRUPT;
	}
	r = blk_read(dev, 0, 1, blk);
	if (r < 0)
		return r;
	memcpy(&v->hdr, blk, sizeof(v->hdr));
	v->why = vol_invalid(&v->hdr, dev);
	if (v->why)
		return E_CORRUPT;
	part_init(&v->st, dev, v->hdr.st_start, v->hdr.st_blocks);
	part_init(&v->wf, dev, v->hdr.wf_start, v->hdr.wf_blocks);
	return 0;
}
