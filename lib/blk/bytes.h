/*
 * Byte-granular reads over a block device through a one-block cache, for the
 * read-only format readers (FAT32, CAPOSRO1). Whole aligned blocks go
 * straight to the caller; partial blocks go through the cache. A read past
 * the device's end is E_CORRUPT (the image is truncated); any device error
 * is E_IO.
 */
#ifndef CAPOS_BLK_BYTES_H
#define CAPOS_BLK_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "blk/blk.h"

struct blk_bcache {
	uint64_t lba;	/* block held in the cache buffer */
	bool ok;	/* cache buffer valid */
};

/* `cache` holds one block of dev->block_size bytes. */
int blk_read_bytes(struct blk_dev *dev, struct blk_bcache *c, uint8_t *cache,
		   uint64_t off, void *dst, size_t len);

#endif
