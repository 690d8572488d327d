/*
 * BlockDevice server core (schema/block.capnp), shared by the virtio-blk and
 * NVMe drivers. A driver fills a small function table; the server checks
 * every request completely (lba + count overflow, past capacity, zero or
 * oversized count, buffer length not a whole number of blocks or not the
 * size the request needs, writes to a read-only disk) and only then calls
 * the driver, so the drivers see only well-formed requests.
 *
 * The capnp glue (decode params, encode the result union) belongs to the
 * userspace runtime and is not here yet; blkserv_block_error() gives the
 * BlockError each negative code maps to.
 */
#ifndef CAPOS_DRIVERS_BLKSERV_H
#define CAPOS_DRIVERS_BLKSERV_H

#include <stddef.h>
#include <stdint.h>

#include "blk/blk.h"

struct blkserv_ops {
	int (*read)(void *drv, uint64_t lba, uint32_t count, void *buf);
	int (*write)(void *drv, uint64_t lba, uint32_t count, const void *buf);
	int (*flush)(void *drv);
};

struct blkserv_info {
	uint32_t block_size;            /* 512 or 4096 */
	uint64_t block_count;
	uint32_t max_transfer_blocks;
	int read_only;
	const char *model;
};

struct blkserv {
	const struct blkserv_ops *ops;
	void *drv;
	struct blkserv_info info;
};

/* BlockError ordinals (schema/block.capnp). */
enum blkserv_block_error {
	BLK_ERR_OUT_OF_RANGE = 0,
	BLK_ERR_BAD_LENGTH = 1,
	BLK_ERR_READ_ONLY = 2,
	BLK_ERR_IO = 3,
	BLK_ERR_NOT_READY = 4,
	BLK_ERR_NO_WINDOW = 5,          /* blkproc: readAt/writeAt without a window */
};

/* E_INVAL for an inconsistent info (block size, zero transfer). */
int blkserv_init(struct blkserv *s, const struct blkserv_ops *ops, void *drv,
    const struct blkserv_info *info);
/* readBlocks: out must hold exactly count * block_size bytes (out_len). */
int blkserv_read_blocks(struct blkserv *s, uint64_t lba, uint32_t count, void *out, size_t out_len);
/* writeBlocks: len must be a nonzero whole number of blocks. */
int blkserv_write_blocks(struct blkserv *s, uint64_t lba, const void *data, size_t len);
int blkserv_flush(struct blkserv *s);
void blkserv_get_info(const struct blkserv *s, struct blkserv_info *out);
/* E_RANGE -> outOfRange, E_INVAL/E_TOOBIG -> badLength, E_PERM -> readOnly,
 * E_BUSY/E_AGAIN -> notReady, anything else -> ioError. */
enum blkserv_block_error blkserv_block_error(int err);

/* The lib/blk interface over a server, so the storage formats (CAPOSST1,
 * FAT32, ...) run on a driver in-process (host tests; a storage service
 * co-located with its driver). Requests larger than maxTransferBlocks are
 * split; every piece goes through the same checks. */
void blkserv_blk_dev(struct blkserv *s, struct blk_dev *out);

#endif
