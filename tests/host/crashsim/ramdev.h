/*
 * Host RAM block device shared by the storage tests, the crash simulator,
 * the fuzz targets and the benchmark. Counts traffic, can refuse writes after
 * a budget (power cut), and can report each block write and flush to a
 * logger (the crash simulator's write log). flush is a no-op on RAM.
 */
#ifndef CAPOS_TESTS_RAMDEV_H
#define CAPOS_TESTS_RAMDEV_H

#include <stdint.h>

#include "blk/blk.h"

struct ramdev {
	struct blk_dev dev;
	uint8_t *mem;
	uint64_t writes, blocks_written, flushes, reads;
	int64_t write_budget;    /* < 0: unlimited; else block writes left */
	void (*on_write)(void *ctx, uint64_t lba, const void *block);
	void (*on_flush)(void *ctx);
	void *log_ctx;
	int owns_mem;
};

int ramdev_init(struct ramdev *rd, uint32_t block_size, uint64_t blocks);
/* Wrap existing memory (not freed by ramdev_free). */
void ramdev_wrap(struct ramdev *rd, uint32_t block_size, uint64_t blocks, uint8_t *mem);
void ramdev_free(struct ramdev *rd);

#endif
