/*
 * libFuzzer target: BlockDevice requests as a hostile client sends them.
 * The first input byte picks the method (its low 6 bits modulo 6, so
 * unknown ordinals too), the block size (0x80) and whether the answer is
 * built in place over the request (0x40, as blkproc_serve does); the rest is
 * the params message as it arrives from the ring. blkproc_handle must never crash, must answer
 * with a result message that decodes or an exception, and must never let a
 * request touch the RAM disk (a test fixture) outside its blocks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "capnp/capnp.h"
#include "../../user/drivers/blkproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISK_BYTES (1u << 20)

static uint8_t *disk;
static uint8_t res[BLKPROC_MSG_MAX] __attribute__((aligned(8)));
static uint8_t msg[BLKPROC_MSG_MAX] __attribute__((aligned(8)));

static int
ram_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	struct blkserv *s = drv;
	uint64_t off = lba * s->info.block_size, len = (uint64_t)count * s->info.block_size;
	if (off > DISK_BYTES || len > DISK_BYTES - off)
		abort();        /* blkserv let an out-of-range request through */
	memcpy(buf, disk + off, len);
	return 0;
}

static int
ram_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	struct blkserv *s = drv;
	uint64_t off = lba * s->info.block_size, len = (uint64_t)count * s->info.block_size;
	if (off > DISK_BYTES || len > DISK_BYTES - off)
		abort();
	memcpy(disk + off, buf, len);
	return 0;
}

static int
ram_flush(void *drv)
{
	return 0;
}

static const struct blkserv_ops ram_ops = { ram_read, ram_write, ram_flush };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct blkserv srv;
	struct capnp_msg m;
	struct capnp_struct root;
	if (!disk && !(disk = calloc(1, DISK_BYTES)))
		abort();
	if (size < 1 || size > BLKPROC_MSG_MAX + 1)
		return 0;
	uint32_t bs = data[0] & 0x80 ? 4096 : 512;
	struct blkserv_info in = { .block_size = bs, .block_count = DISK_BYTES / bs,
		.max_transfer_blocks = 1024, .model = "fuzz" };
	if (blkserv_init(&srv, &ram_ops, &srv, &in) < 0)
		abort();
	blkproc_prepare(&srv);
	uint16_t method = (uint16_t)((data[0] & 0x3f) % 6);
	uint8_t *out = res;
	const uint8_t *params = data + 1;
	if (data[0] & 0x40) {   /* answered in place, over the request (blkproc_serve) */
		memcpy(msg, data + 1, size - 1);
		out = msg;
		params = msg;
	}
	uint32_t rlen = BLKPROC_MSG_MAX;
	int r = blkproc_handle(&srv, method, params, (uint32_t)(size - 1), out, &rlen);
	if (r < 0 || r > 5)
		abort();        /* 0 or an ExceptionType + 1 */
	if (r == 0 && (rlen > BLKPROC_MSG_MAX || capnp_msg_init(&m, out, rlen) < 0 ||
	    capnp_msg_root(&m, &root) < 0))
		abort();        /* an answer always decodes */
	return 0;
}
