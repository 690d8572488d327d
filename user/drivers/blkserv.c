/*
 * BlockDevice request checks; see blkserv.h. Check everything, then act.
 */
#include "blkserv.h"

#include "base/err.h"

int
blkserv_init(struct blkserv *s, const struct blkserv_ops *ops, void *drv,
    const struct blkserv_info *info)
{
	if (!ops || !ops->read || !ops->write || !ops->flush)
		return E_INVAL;
	if (info->block_size < 512 || info->block_size > 4096 ||
	    (info->block_size & (info->block_size - 1)) || info->max_transfer_blocks == 0)
		return E_INVAL;
	s->ops = ops;
	s->drv = drv;
	s->info = *info;
	return 0;
}

static int
check_range(const struct blkserv *s, uint64_t lba, uint64_t count)
{
	if (count == 0 || count > s->info.max_transfer_blocks)
		return E_INVAL;
	/* lba + count must not wrap and must stay within the disk. */
	if (lba >= s->info.block_count || count > s->info.block_count - lba)
		return E_RANGE;
	return 0;
}

int
blkserv_read_blocks(struct blkserv *s, uint64_t lba, uint32_t count, void *out, size_t out_len)
{
	int err = check_range(s, lba, count);

	if (err)
		return err;
	if (!out || out_len != (uint64_t)count * s->info.block_size)
		return E_INVAL;
	return s->ops->read(s->drv, lba, count, out);
}

int
blkserv_write_blocks(struct blkserv *s, uint64_t lba, const void *data, size_t len)
{
	uint64_t count;
	int err;

	if (!data || len == 0 || len % s->info.block_size)
		return E_INVAL;
	count = len / s->info.block_size;
	if ((err = check_range(s, lba, count)))
		return err;
	if (s->info.read_only)
		return E_PERM;
	return s->ops->write(s->drv, lba, (uint32_t)count, data);
}

int
blkserv_flush(struct blkserv *s)
{
	return s->ops->flush(s->drv);
}

void
blkserv_get_info(const struct blkserv *s, struct blkserv_info *out)
{
	*out = s->info;
}

enum blkserv_block_error
blkserv_block_error(int err)
{
	switch (err) {
	case E_RANGE: return BLK_ERR_OUT_OF_RANGE;
	case E_INVAL:
	case E_TOOBIG: return BLK_ERR_BAD_LENGTH;
	case E_PERM: return BLK_ERR_READ_ONLY;
	case E_BUSY:
	case E_AGAIN: return BLK_ERR_NOT_READY;
	default: return BLK_ERR_IO;
	}
}

static int
bd_split(struct blk_dev *dev, uint64_t lba, uint32_t count, uint8_t *buf, int write)
{
	struct blkserv *s = dev->ctx;
	uint32_t bs = s->info.block_size, n;
	int err;

	if (count == 0)
		return 0;
	while (count) {
		n = count < s->info.max_transfer_blocks ? count : s->info.max_transfer_blocks;
		if (lba > UINT64_MAX - n)
			return E_RANGE;
		err = write ? blkserv_write_blocks(s, lba, buf, (size_t)n * bs) :
		    blkserv_read_blocks(s, lba, n, buf, (size_t)n * bs);
		if (err)
			return err;
		lba += n;
		count -= n;
		buf += (size_t)n * bs;
	}
	return 0;
}

static int
bd_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	return bd_split(dev, lba, count, buf, 0);
}

static int
bd_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	/* blkserv_write_blocks takes const data; the cast only shares bd_split. */
	return bd_split(dev, lba, count, (uint8_t *)(uintptr_t)buf, 1);
}

static int
bd_flush(struct blk_dev *dev)
{
	return blkserv_flush(dev->ctx);
}

void
blkserv_blk_dev(struct blkserv *s, struct blk_dev *out)
{
	out->block_size = s->info.block_size;
	out->block_count = s->info.block_count;
	out->read = bd_read;
	out->write = bd_write;
	out->flush = bd_flush;
	out->ctx = s;
}
