/*
 * BlockDevice over messages (user/drivers/blkproc.c): requests built as the
 * client builds them, answered by blkproc_handle over a RAM disk (a test
 * fixture standing in for a driver), results decoded as the client decodes
 * them. BLP-nnn ids; docs/drivers.md "BlockDevice over endpoints".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "capnp/capnp.h"
#include "schema/block.capnp.h"
#include "schema/exception.capnp.h"
#include "../../user/drivers/blkproc.h"

#define BLOCKS 8192u

static uint8_t disk[BLOCKS * 512u];
static int flushes, fail_io;
static uint64_t arena[70000 / 8];
static uint8_t req[70000], res[65536];

static int
ram_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	struct blkserv *s = drv;
	if (fail_io)
		return E_IO;
	memcpy(buf, disk + lba * s->info.block_size, (size_t)count * s->info.block_size);
	return 0;
}

static int
ram_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	struct blkserv *s = drv;
	if (fail_io)
		return E_IO;
	memcpy(disk + lba * s->info.block_size, buf, (size_t)count * s->info.block_size);
	return 0;
}

static int
ram_flush(void *drv)
{
	flushes++;
	return fail_io ? E_IO : 0;
}

static const struct blkserv_ops ram_ops = { ram_read, ram_write, ram_flush };
static struct blkserv srv;

static void
setup(uint32_t bs, int ro)
{
	struct blkserv_info in = { .block_size = bs, .block_count = sizeof disk / bs,
		.max_transfer_blocks = 256, .read_only = ro, .model = "ramdisk" };
	assert_int_equal(blkserv_init(&srv, &ram_ops, &srv, &in), 0);
	blkproc_prepare(&srv);
	flushes = fail_io = 0;
	for (size_t i = 0; i < sizeof disk; i++)
		disk[i] = (uint8_t)(i * 7 + i / 4096);
}

static struct capnp_builder b;

static struct capnp_builder *
begin(void)
{
	capnp_builder_init(&b, arena, sizeof arena, 0);
	return &b;
}

/* Frame the built request and answer it; returns blkproc_handle's value. */
static int
handle(uint16_t method, struct capnp_struct *root)
{
	static struct capnp_msg m;
	int n = capnp_builder_write(&b, req, sizeof req);
	assert_true(n > 0);
	uint32_t rlen = sizeof res;
	int r = blkproc_handle(&srv, method, req, (uint32_t)n, res, &rlen);
	if (r == 0) {
		assert_true(capnp_msg_init(&m, res, rlen) >= 0);
		assert_true(capnp_msg_root(&m, root) >= 0);
	}
	return r;
}

/* readBlocks: -1 - BlockError, or the data length (data in *d). */
static int
rd(uint64_t lba, uint32_t count, struct capnp_data *d)
{
	BlockDevice_readBlocks_Params_B p;
	struct capnp_struct root;
	BlockReadResult_R r;
	BlockDevice_readBlocks_Params_init_root(begin(), &p);
	BlockDevice_readBlocks_Params_set_lba(p, lba);
	BlockDevice_readBlocks_Params_set_count(p, count);
	assert_int_equal(handle(BlockDevice_readBlocks_ORDINAL, &root), 0);
	assert_int_equal(BlockDevice_readBlocks_Results_get_result(
	    (BlockDevice_readBlocks_Results_R){ root }, &r), 0);
	if (BlockReadResult_which(r) != BlockReadResult_which_data)
		return -1 - BlockReadResult_get_error(r);
	assert_int_equal(BlockReadResult_get_data(r, d), 0);
	return (int)d->len;
}

static int
block_result(uint16_t method)
{
	struct capnp_struct root;
	BlockResult_R r;
	assert_int_equal(handle(method, &root), 0);
	assert_int_equal(BlockDevice_writeBlocks_Results_get_result(
	    (BlockDevice_writeBlocks_Results_R){ root }, &r), 0);
	return BlockResult_which(r) == BlockResult_which_ok ? 0 : -1 - BlockResult_get_error(r);
}

static int
wr(uint64_t lba, const void *data, size_t len)
{
	BlockDevice_writeBlocks_Params_B p;
	BlockDevice_writeBlocks_Params_init_root(begin(), &p);
	BlockDevice_writeBlocks_Params_set_lba(p, lba);
	if (data)
		assert_int_equal(BlockDevice_writeBlocks_Params_set_data(p, data, len), 0);
	return block_result(BlockDevice_writeBlocks_ORDINAL);
}

/* BLP-001: info reports the geometry, clamped to one message. */
static void
test_info(void **st)
{
	BlockDevice_info_Params_B p;
	struct capnp_struct root;
	BlockInfo_R i;
	struct capnp_text t;
	setup(512, 0);
	BlockDevice_info_Params_init_root(begin(), &p);
	assert_int_equal(handle(BlockDevice_info_ORDINAL, &root), 0);
	assert_int_equal(BlockDevice_info_Results_get_info((BlockDevice_info_Results_R){ root }, &i),
	    0);
	assert_int_equal(BlockInfo_get_blockSize(i), 512);
	assert_int_equal(BlockInfo_get_blockCount(i), BLOCKS);
	assert_int_equal(BlockInfo_get_maxTransferBlocks(i), BLKPROC_MAX_DATA / 512);
	assert_false(BlockInfo_get_readOnly(i));
	assert_int_equal(BlockInfo_get_model(i, &t), 0);
	assert_int_equal(t.len, 7);
	assert_memory_equal(t.str, "ramdisk", 7);
	/* an empty params buffer reads as defaults */
	uint32_t rlen = sizeof res;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_info_ORDINAL, NULL, 0, res, &rlen), 0);
	assert_true(rlen > 0);
}

/* BLP-002: write then read back, at the largest transfer one message carries. */
static void
test_write_read(void **st)
{
	static uint8_t pat[BLKPROC_MAX_DATA];
	struct capnp_data d;
	setup(512, 0);
	for (size_t i = 0; i < sizeof pat; i++)
		pat[i] = (uint8_t)(i * 13 + 5);
	assert_int_equal(wr(100, pat, sizeof pat), 0);
	assert_memory_equal(disk + 100 * 512, pat, sizeof pat);
	assert_int_equal(rd(100, BLKPROC_MAX_DATA / 512, &d), (int)sizeof pat);
	assert_memory_equal(d.ptr, pat, sizeof pat);
	/* last block of the disk */
	assert_int_equal(wr(BLOCKS - 1, pat, 512), 0);
	assert_int_equal(rd(BLOCKS - 1, 1, &d), 512);
	assert_memory_equal(d.ptr, pat, 512);
}

/* BLP-003: every bound refused with its BlockError; nothing moved. */
static void
test_bounds(void **st)
{
	static uint8_t buf[BLKPROC_MAX_DATA + 512], before[sizeof disk];
	struct capnp_data d;
	setup(512, 0);
	memcpy(before, disk, sizeof disk);
	uint32_t max = BLKPROC_MAX_DATA / 512;
	assert_int_equal(rd(BLOCKS, 1, &d), -1 - BlockError_outOfRange);
	assert_int_equal(rd(BLOCKS - 1, 2, &d), -1 - BlockError_outOfRange);
	assert_int_equal(rd(~0ull, 1, &d), -1 - BlockError_outOfRange);
	assert_int_equal(rd(~0ull - 1, 4, &d), -1 - BlockError_outOfRange);
	assert_int_equal(rd(0, 0, &d), -1 - BlockError_badLength);
	assert_int_equal(rd(0, max + 1, &d), -1 - BlockError_badLength);
	assert_int_equal(rd(0, ~0u, &d), -1 - BlockError_badLength);
	assert_int_equal(wr(0, buf, 100), -1 - BlockError_badLength);
	assert_int_equal(wr(0, buf, 513), -1 - BlockError_badLength);
	assert_int_equal(wr(0, NULL, 0), -1 - BlockError_badLength);
	assert_int_equal(wr(0, buf, sizeof buf), -1 - BlockError_badLength);  /* over max */
	assert_int_equal(wr(BLOCKS, buf, 512), -1 - BlockError_outOfRange);
	assert_int_equal(wr(BLOCKS - 1, buf, 1024), -1 - BlockError_outOfRange);
	assert_int_equal(wr(~0ull, buf, 512), -1 - BlockError_outOfRange);
	assert_memory_equal(before, disk, sizeof disk);
}

/* BLP-004: read-only disk, I/O errors, flush. */
static void
test_errors_flush(void **st)
{
	static uint8_t buf[512];
	struct capnp_data d;
	BlockDevice_flush_Params_B p;
	setup(512, 1);
	assert_int_equal(wr(0, buf, 512), -1 - BlockError_readOnly);
	assert_int_equal(rd(0, 1, &d), 512);
	BlockDevice_flush_Params_init_root(begin(), &p);
	assert_int_equal(block_result(BlockDevice_flush_ORDINAL), 0);
	assert_int_equal(flushes, 1);
	setup(512, 0);
	fail_io = 1;
	assert_int_equal(rd(0, 1, &d), -1 - BlockError_ioError);
	assert_int_equal(wr(0, buf, 512), -1 - BlockError_ioError);
	BlockDevice_flush_Params_init_root(begin(), &p);
	assert_int_equal(block_result(BlockDevice_flush_ORDINAL), -1 - BlockError_ioError);
}

/* BLP-005: not a BlockDevice call: exceptions, never a crash. */
static void
test_malformed(void **st)
{
	uint32_t rlen = sizeof res;
	static uint8_t junk[64];
	setup(512, 0);
	assert_int_equal(blkproc_handle(&srv, 4, NULL, 0, res, &rlen),
	    ExceptionType_unimplemented + 1);
	assert_int_equal(blkproc_handle(&srv, 0xffff, NULL, 0, res, &rlen),
	    ExceptionType_unimplemented + 1);
	memset(junk, 0xff, sizeof junk);
	rlen = sizeof res;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_readBlocks_ORDINAL, junk, sizeof junk, res,
	    &rlen), ExceptionType_invalidArgument + 1);
	rlen = sizeof res;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_writeBlocks_ORDINAL, junk, 3, res, &rlen),
	    ExceptionType_invalidArgument + 1);
	/* a result buffer too small for the answer: failed, not an overflow */
	BlockDevice_info_Params_B p;
	BlockDevice_info_Params_init_root(begin(), &p);
	int n = capnp_builder_write(&b, req, sizeof req);
	rlen = 16;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_info_ORDINAL, req, (uint32_t)n, res, &rlen),
	    ExceptionType_failed + 1);
}

/* BLP-006: 4 KiB blocks: clamp and transfer. */
static void
test_4k(void **st)
{
	static uint8_t pat[8192];
	struct capnp_data d;
	setup(4096, 0);
	assert_int_equal(srv.info.max_transfer_blocks, BLKPROC_MAX_DATA / 4096);
	memset(pat, 0x5a, sizeof pat);
	assert_int_equal(wr(3, pat, sizeof pat), 0);
	assert_int_equal(rd(3, 2, &d), 8192);
	assert_memory_equal(d.ptr, pat, 8192);
	assert_int_equal(wr(3, pat, 512), -1 - BlockError_badLength);
}

/* BLP-007: the boot-disk signature (ISO 9660 PVD volume id) is refused. */
static void
test_check_disk(void **st)
{
	setup(512, 0);
	memset(disk, 0, sizeof disk);
	assert_int_equal(blkproc_check_disk(&srv), 0);
	uint8_t *pvd = disk + 32768;
	pvd[0] = 1;
	memcpy(pvd + 1, "CD001", 5);
	pvd[6] = 1;
	memcpy(pvd + 40, "ISOIMAGE                        ", 32);
	assert_int_equal(blkproc_check_disk(&srv), 0);  /* another ISO: served */
	memcpy(pvd + 40, "CAPOS_BOOT                      ", 32);
	assert_int_equal(blkproc_check_disk(&srv), E_PERM);
	setup(4096, 0);
	memset(disk, 0, sizeof disk);
	memcpy(disk + 32768, "\001CD001\001", 7);
	memcpy(disk + 32768 + 40, "CAPOS_BOOT", 10);
	assert_int_equal(blkproc_check_disk(&srv), E_PERM);
	fail_io = 1;
	assert_int_equal(blkproc_check_disk(&srv), E_IO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_errors_flush),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_4k),
		cmocka_unit_test(test_check_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
