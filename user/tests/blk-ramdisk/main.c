/*
 * blk-ramdisk: a TEST FIXTURE, not a driver. It serves BlockDevice over the
 * export `disk` from 2 MiB of its own memory through the same blkserv core
 * and blkproc loop the virtio-blk and NVMe driver processes use, so the
 * service loop, the clients (blk-client, bench-blk), endpoint queueing and
 * restart can be tested in QEMU without a device (tests/system/test_blk.py).
 * Its contents do not survive the process.
 *
 * A process named `blk-ramdisk-crash` faults (ud2) while serving its 40th
 * request: a driver dying with a call in service.
 */
#include "capos.h"
#include "../../drivers/blkproc.h"

#define BYTES (2u << 20)

static uint8_t ram[BYTES] __attribute__((aligned(4096)));
static unsigned served;
static bool crash;

static int
ram_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	if (crash && ++served == 40)
		__asm__ volatile("ud2");
	memcpy(buf, ram + lba * 512, (size_t)count * 512);
	return 0;
}

static int
ram_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	if (crash && ++served == 40)
		__asm__ volatile("ud2");
	memcpy(ram + lba * 512, buf, (size_t)count * 512);
	return 0;
}

static int
ram_flush(void *drv)
{
	return 0;
}

static const struct blkserv_ops ops = { ram_read, ram_write, ram_flush };

int
main(void)
{
	static struct blkserv srv;
	struct blkserv_info in = { .block_size = 512, .block_count = BYTES / 512,
		.max_transfer_blocks = 256, .model = "capOS RAM disk (test fixture)" };
	crash = !strcmp(rt_boot->name, "blk-ramdisk-crash");
	int e = blkserv_init(&srv, &ops, NULL, &in);
	if (e == 0)
		e = blkproc_check_disk(&srv);
	if (e < 0) {
		rt_print("blk-ramdisk: refused err=%d", e);
		return 2;
	}
	struct blkproc_export ex = { "disk", &srv };
	e = blkproc_serve(&ex, 1);
	rt_print("blk-ramdisk: stopped err=%d", e);
	return 0;
}
