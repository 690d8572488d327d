/*
 * The small block interface every storage format in lib/ is written against.
 * The userspace storage services implement it over a BlockDevice cap; host
 * tests implement it over RAM or a file, and the crash simulator over a RAM
 * disk that can cut power or reorder unflushed writes.
 *
 * Contract: block_size is 512 or 4096. read/write move `count` whole blocks at
 * `lba`; a request that reaches past block_count returns E_RANGE and moves
 * nothing. A write is durable only after a flush returns 0. All return 0 or a
 * negative code from base/err.h.
 */
#ifndef CAPOS_BLK_BLK_H
#define CAPOS_BLK_BLK_H

#include <stdint.h>

struct blk_dev {
	uint32_t block_size;
	uint64_t block_count;
	int (*read)(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf);
	int (*write)(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf);
	int (*flush)(struct blk_dev *dev);
	void *ctx;
};

static inline int
blk_read(struct blk_dev *dev, uint64_t lba, uint32_t count, void *buf)
{
	return dev->read(dev, lba, count, buf);
}

static inline int
blk_write(struct blk_dev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	return dev->write(dev, lba, count, buf);
}

static inline int
blk_flush(struct blk_dev *dev)
{
	return dev->flush(dev);
}

#endif
