/* Host RAM block device: see ramdev.h. */
#include "ramdev.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static int
rd_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct ramdev *rd = dev->ctx;

	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	rd->reads++;
	memcpy(buf, rd->mem + lba * dev->block_size, (size_t)count * dev->block_size);
	return 0;
}

static int
rd_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	struct ramdev *rd = dev->ctx;
	uint32_t i;

	if (lba > dev->block_count || count > dev->block_count - lba)
		return E_RANGE;
	for (i = 0; i < count; i++) {
		const uint8_t *b = (const uint8_t *)buf + (size_t)i * dev->block_size;

		if (rd->write_budget == 0)
			return E_IO;
		if (rd->write_budget > 0)
			rd->write_budget--;
		memcpy(rd->mem + (lba + i) * dev->block_size, b, dev->block_size);
		rd->blocks_written++;
		if (rd->on_write)
			rd->on_write(rd->log_ctx, lba + i, b);
	}
	rd->writes++;
	return 0;
}

static int
rd_flush(struct blk_dev *dev)
{
	struct ramdev *rd = dev->ctx;

	if (rd->write_budget == 0)
		return E_IO;
	rd->flushes++;
	if (rd->on_flush)
		rd->on_flush(rd->log_ctx);
	return 0;
}

void
ramdev_wrap(struct ramdev *rd, uint32_t block_size, uint64_t blocks, uint8_t *mem)
{
	memset(rd, 0, sizeof(*rd));
	rd->dev.block_size = block_size;
	rd->dev.block_count = blocks;
	rd->dev.read = rd_read;
	rd->dev.write = rd_write;
	rd->dev.flush = rd_flush;
	rd->dev.ctx = rd;
	rd->mem = mem;
	rd->write_budget = -1;
}

int
ramdev_init(struct ramdev *rd, uint32_t block_size, uint64_t blocks)
{
	uint8_t *m = calloc(blocks, block_size);

	if (m == NULL)
		return E_NOMEM;
	ramdev_wrap(rd, block_size, blocks, m);
	rd->owns_mem = 1;
	return 0;
}

void
ramdev_free(struct ramdev *rd)
{
	if (rd->owns_mem)
		free(rd->mem);
	rd->mem = NULL;
}
