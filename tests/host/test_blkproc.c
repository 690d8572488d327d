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
static uint64_t arena[(BLKPROC_MSG_MAX + 4096) / 8];
static uint8_t req[BLKPROC_MSG_MAX + 4096] __attribute__((aligned(8)));
static uint8_t res[BLKPROC_MSG_MAX] __attribute__((aligned(8)));
static const void *last_buf;    /* the buffer the last driver call got */

static int
ram_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	struct blkserv *s = drv;
	last_buf = buf;
	if (fail_io)
		return E_IO;
	memcpy(buf, disk + lba * s->info.block_size, (size_t)count * s->info.block_size);
	return 0;
}

static int
ram_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	struct blkserv *s = drv;
	last_buf = buf;
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

static void
params_read(uint64_t lba, uint32_t count)
{
	BlockDevice_readBlocks_Params_B p;
	BlockDevice_readBlocks_Params_init_root(begin(), &p);
	BlockDevice_readBlocks_Params_set_lba(p, lba);
	BlockDevice_readBlocks_Params_set_count(p, count);
}

static void
params_write(uint64_t lba, const void *data, size_t len)
{
	BlockDevice_writeBlocks_Params_B p;
	BlockDevice_writeBlocks_Params_init_root(begin(), &p);
	BlockDevice_writeBlocks_Params_set_lba(p, lba);
	if (data)
		assert_int_equal(BlockDevice_writeBlocks_Params_set_data(p, data, len), 0);
}

/* The answer in buf: -1 - BlockError, 0 ok, or the read's data length (*d). */
static int
decode_in(const void *buf, uint16_t method, uint32_t rlen, struct capnp_data *d)
{
	static struct capnp_msg m;
	struct capnp_struct root;
	assert_true(capnp_msg_init(&m, buf, rlen) >= 0);
	assert_true(capnp_msg_root(&m, &root) >= 0);
	if (method == BlockDevice_readBlocks_ORDINAL) {
		BlockReadResult_R r;
		assert_int_equal(BlockDevice_readBlocks_Results_get_result(
		    (BlockDevice_readBlocks_Results_R){ root }, &r), 0);
		if (BlockReadResult_which(r) != BlockReadResult_which_data)
			return -1 - BlockReadResult_get_error(r);
		assert_int_equal(BlockReadResult_get_data(r, d), 0);
		return (int)d->len;
	}
	BlockResult_R r;
	assert_int_equal(BlockDevice_writeBlocks_Results_get_result(
	    (BlockDevice_writeBlocks_Results_R){ root }, &r), 0);
	return BlockResult_which(r) == BlockResult_which_ok ? 0 : -1 - BlockResult_get_error(r);
}

static int
decode_answer(uint16_t method, uint32_t rlen, struct capnp_data *d)
{
	return decode_in(res, method, rlen, d);
}

/* Frame the built request, answer it synchronously, decode the answer:
 * -1 - BlockError, 0 ok, or a read's data length (data in *d). */
static int
answer_sync(uint16_t method, struct capnp_data *d)
{
	int n = capnp_builder_write(&b, req, sizeof req);
	assert_true(n > 0);
	uint32_t rlen = sizeof res;
	assert_int_equal(blkproc_handle(&srv, method, req, (uint32_t)n, res, &rlen), 0);
	return decode_answer(method, rlen, d);
}

static int
rd(uint64_t lba, uint32_t count, struct capnp_data *d)
{
	params_read(lba, count);
	return answer_sync(BlockDevice_readBlocks_ORDINAL, d);
}

static int
block_result(uint16_t method)
{
	return answer_sync(method, NULL);
}

static int
wr(uint64_t lba, const void *data, size_t len)
{
	params_write(lba, data, len);
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
	assert_int_equal(blkproc_handle(&srv, BlockDevice_writeAt_ORDINAL + 1, NULL, 0, res, &rlen),
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

/* ---- asynchronous serving: blkproc_begin / blkproc_finish ---- */

static struct blkproc_req areq[4];
static uint8_t aparams[4][BLKPROC_MSG_MAX] __attribute__((aligned(8)));
static int ram_calls;

static int
count_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	ram_calls++;
	return ram_read(drv, lba, count, buf);
}

static int
count_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	ram_calls++;
	return ram_write(drv, lba, count, buf);
}

static int
count_flush(void *drv)
{
	ram_calls++;
	return ram_flush(drv);
}

static const struct blkserv_ops count_ops = { count_read, count_write, count_flush };

/* Frame the built request into aparams[k] and begin it on areq[k], its
 * answer built in place there (as blkproc_serve_async does). */
static int
abegin(unsigned k, uint16_t method, uint32_t *plen, uint32_t *rlen)
{
	int n = capnp_builder_write(&b, aparams[k], sizeof aparams[k]);
	assert_true(n > 0);
	*plen = (uint32_t)n;
	*rlen = sizeof aparams[k];
	return blkproc_begin(&areq[k], &srv, method, aparams[k], (uint32_t)n, aparams[k], rlen);
}

/* Finish areq[k] with the driver's result err and decode its answer. */
static int
afinish(unsigned k, int err, uint16_t method, struct capnp_data *d)
{
	uint32_t rlen = sizeof aparams[k];
	assert_int_equal(blkproc_finish(&areq[k], err, aparams[k], &rlen), 0);
	return decode_in(aparams[k], method, rlen, d);
}

/* BLP-008: requests begun together stay pending (the driver is not called),
 * each names its checked I/O, and they finish in any order with their own
 * data: the read's buffer is its own result message. */
static void
test_async_out_of_order(void **st)
{
	static uint8_t pat[8192];
	struct capnp_data d;
	uint32_t plen, rlen;
	setup(512, 0);
	srv.ops = &count_ops;
	ram_calls = 0;
	for (size_t i = 0; i < sizeof pat; i++)
		pat[i] = (uint8_t)(i * 11 + 3);
	params_read(10, 4);
	assert_int_equal(abegin(0, BlockDevice_readBlocks_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	params_write(200, pat, sizeof pat);
	assert_int_equal(abegin(1, BlockDevice_writeBlocks_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	params_read(BLOCKS - 2, 2);
	assert_int_equal(abegin(2, BlockDevice_readBlocks_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	BlockDevice_flush_Params_B fp;
	BlockDevice_flush_Params_init_root(begin(), &fp);
	assert_int_equal(abegin(3, BlockDevice_flush_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	assert_int_equal(ram_calls, 0);
	assert_int_equal(areq[0].io.op, BLKPROC_IO_READ);
	assert_int_equal(areq[0].io.lba, 10);
	assert_int_equal(areq[0].io.count, 4);
	assert_int_equal(areq[1].io.op, BLKPROC_IO_WRITE);
	assert_int_equal(areq[1].io.lba, 200);
	assert_int_equal(areq[1].io.count, sizeof pat / 512);
	assert_memory_equal(areq[1].io.buf, pat, sizeof pat);
	assert_int_equal(areq[3].io.op, BLKPROC_IO_FLUSH);
	/* the "driver": do them, finish in the order 3, 1, 2, 0 */
	/* a write's data is read where it arrived; a read's goes into its answer */
	assert_true(areq[1].io.buf > (void *)aparams[1] &&
	    (uint8_t *)areq[1].io.buf + sizeof pat <= aparams[1] + sizeof aparams[1]);
	assert_ptr_equal(areq[0].io.buf, aparams[0] + BLKPROC_READ_DATA_OFF);
	assert_ptr_equal(areq[2].io.buf, aparams[2] + BLKPROC_READ_DATA_OFF);
	assert_int_equal(ram_flush(&srv), 0);
	assert_int_equal(afinish(3, 0, BlockDevice_flush_ORDINAL, &d), 0);
	memcpy(disk + 200 * 512, areq[1].io.buf, sizeof pat);
	assert_int_equal(afinish(1, 0, BlockDevice_writeBlocks_ORDINAL, &d), 0);
	memcpy(areq[2].io.buf, disk + (BLOCKS - 2) * 512, 1024);
	assert_int_equal(afinish(2, 0, BlockDevice_readBlocks_ORDINAL, &d), 1024);
	assert_memory_equal(d.ptr, disk + (BLOCKS - 2) * 512, 1024);
	memcpy(areq[0].io.buf, disk + 10 * 512, 2048);
	assert_int_equal(afinish(0, 0, BlockDevice_readBlocks_ORDINAL, &d), 2048);
	assert_memory_equal(d.ptr, disk + 10 * 512, 2048);
	assert_memory_equal(disk + 200 * 512, pat, sizeof pat);
	assert_int_equal(ram_calls, 0);
	/* finished: not pending any more */
	rlen = sizeof res;
	assert_int_equal(blkproc_finish(&areq[0], 0, aparams[0], &rlen), E_INVAL);
	/* a read finished in another buffer than it began in: refused */
	params_read(10, 4);
	assert_int_equal(abegin(0, BlockDevice_readBlocks_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	rlen = sizeof res;
	assert_int_equal(blkproc_finish(&areq[0], 0, res, &rlen), E_INVAL);
	assert_int_equal(areq[0].io.op, BLKPROC_IO_NONE);
}

/* BLP-009: a driver failure maps as blkserv_block_error does. */
static void
test_async_errors(void **st)
{
	static const struct { int err, block; } map[] = {
		{ E_IO, BlockError_ioError }, { E_TIMEOUT, BlockError_ioError },
		{ E_RANGE, BlockError_outOfRange }, { E_AGAIN, BlockError_notReady },
		{ E_INVAL, BlockError_badLength },
	};
	static uint8_t buf[1024];
	struct capnp_data d;
	uint32_t plen, rlen;
	setup(512, 0);
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		params_read(5, 2);
		assert_int_equal(abegin(0, BlockDevice_readBlocks_ORDINAL, &plen, &rlen),
		    BLKPROC_PENDING);
		assert_int_equal(afinish(0, map[i].err, BlockDevice_readBlocks_ORDINAL, &d),
		    -1 - map[i].block);
		params_write(5, buf, sizeof buf);
		assert_int_equal(abegin(1, BlockDevice_writeBlocks_ORDINAL, &plen, &rlen),
		    BLKPROC_PENDING);
		assert_int_equal(afinish(1, map[i].err, BlockDevice_writeBlocks_ORDINAL, &d),
		    -1 - map[i].block);
	}
	/* a result buffer too small: failed, not an overflow */
	params_read(5, 2);
	assert_int_equal(abegin(0, BlockDevice_readBlocks_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	rlen = 16;
	assert_int_equal(blkproc_finish(&areq[0], 0, aparams[0], &rlen), ExceptionType_failed + 1);
}

/* Begin the built request on areq[k]: answered at once, nothing for the
 * driver, byte for byte the synchronous answer. */
static void
refused_as_sync(unsigned k, uint16_t method)
{
	uint32_t plen, rlen, slen = sizeof res;
	assert_int_equal(abegin(k, method, &plen, &rlen), 0);
	assert_int_equal(areq[k].io.op, BLKPROC_IO_NONE);
	/* the answer is over the request now: frame the request again */
	int n = capnp_builder_write(&b, req, sizeof req);
	assert_int_equal(n, (int)plen);
	assert_int_equal(blkproc_handle(&srv, method, req, plen, res, &slen), 0);
	assert_int_equal(slen, rlen);
	assert_memory_equal(aparams[k], res, rlen);
}

/* BLP-010: what the checks refuse is answered at once, byte for byte as the
 * synchronous path answers it, and nothing is left for the driver. */
static void
test_async_refusals_match_sync(void **st)
{
	static uint8_t buf[BLKPROC_MAX_DATA + 512];
	static const struct { uint64_t lba; uint32_t count; } bad_reads[] = {
		{ BLOCKS, 1 }, { BLOCKS - 1, 2 }, { ~0ull, 1 }, { 0, 0 }, { 0, ~0u },
		{ 0, BLKPROC_MAX_DATA / 512 + 1 },
	};
	static const struct { uint64_t lba; uint32_t len; } bad_writes[] = {
		{ 0, 100 }, { 0, 513 }, { 0, 0 }, { 0, sizeof buf }, { BLOCKS, 512 },
		{ BLOCKS - 1, 1024 }, { ~0ull, 512 },
	};
	uint32_t plen, rlen;
	setup(512, 0);
	for (size_t i = 0; i < sizeof bad_reads / sizeof bad_reads[0]; i++) {
		params_read(bad_reads[i].lba, bad_reads[i].count);
		refused_as_sync(0, BlockDevice_readBlocks_ORDINAL);
	}
	for (size_t i = 0; i < sizeof bad_writes / sizeof bad_writes[0]; i++) {
		params_write(bad_writes[i].lba, bad_writes[i].len ? buf : NULL, bad_writes[i].len);
		refused_as_sync(1, BlockDevice_writeBlocks_ORDINAL);
	}
	/* read-only: refused at once */
	setup(512, 1);
	params_write(0, buf, 512);
	assert_int_equal(abegin(1, BlockDevice_writeBlocks_ORDINAL, &plen, &rlen), 0);
	assert_int_equal(decode_in(aparams[1], BlockDevice_writeBlocks_ORDINAL, rlen, NULL),
	    -1 - BlockError_readOnly);
	/* info is answered at once; not a BlockDevice call: the same exceptions */
	BlockDevice_info_Params_B ip;
	BlockDevice_info_Params_init_root(begin(), &ip);
	assert_int_equal(abegin(2, BlockDevice_info_ORDINAL, &plen, &rlen), 0);
	assert_int_equal(areq[2].io.op, BLKPROC_IO_NONE);
	rlen = sizeof res;
	assert_int_equal(blkproc_begin(&areq[2], &srv, 9, NULL, 0, res, &rlen),
	    ExceptionType_unimplemented + 1);
	memset(aparams[3], 0xff, 64);
	rlen = sizeof res;
	assert_int_equal(blkproc_begin(&areq[3], &srv, BlockDevice_readBlocks_ORDINAL, aparams[3],
	    64, res, &rlen), ExceptionType_invalidArgument + 1);
	assert_int_equal(areq[3].io.op, BLKPROC_IO_NONE);
	rlen = sizeof res;
	assert_int_equal(blkproc_finish(&areq[3], 0, res, &rlen), E_INVAL);
}

/* BLP-011: answered in place (params and result one buffer, as the serving
 * loops do), at the full 128 KiB: the driver reads straight into the
 * answer's Data field at BLKPROC_READ_DATA_OFF and writes straight from the
 * received request; nothing is copied to frame the answer. */
static void
test_in_place(void **st)
{
	static uint8_t msg[BLKPROC_MSG_MAX] __attribute__((aligned(8)));
	static uint8_t pat[BLKPROC_MAX_DATA];
	struct capnp_data d;
	uint32_t rlen;
	int n;
	setup(512, 0);
	assert_int_equal(srv.info.max_transfer_blocks, 128u * 1024u / 512u);
	for (size_t i = 0; i < sizeof pat; i++)
		pat[i] = (uint8_t)(i * 13 + i / 512);
	params_write(300, pat, sizeof pat);
	n = capnp_builder_write(&b, msg, sizeof msg);
	assert_true(n > (int)sizeof pat && n <= (int)BLKPROC_MSG_MAX);
	rlen = sizeof msg;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_writeBlocks_ORDINAL, msg, (uint32_t)n, msg,
	    &rlen), 0);
	assert_true((const uint8_t *)last_buf > msg && (const uint8_t *)last_buf < msg + n);
	assert_int_equal(decode_in(msg, BlockDevice_writeBlocks_ORDINAL, rlen, NULL), 0);
	assert_memory_equal(disk + 300 * 512, pat, sizeof pat);
	params_read(300, sizeof pat / 512);
	n = capnp_builder_write(&b, msg, sizeof msg);
	memset(msg + n, 0xa5, sizeof msg - (size_t)n);  /* stale bytes must not leak into it */
	rlen = sizeof msg;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_readBlocks_ORDINAL, msg, (uint32_t)n, msg,
	    &rlen), 0);
	assert_ptr_equal(last_buf, msg + BLKPROC_READ_DATA_OFF);
	assert_int_equal(rlen, BLKPROC_READ_DATA_OFF + sizeof pat);
	assert_int_equal(decode_in(msg, BlockDevice_readBlocks_ORDINAL, rlen, &d), (int)sizeof pat);
	assert_ptr_equal(d.ptr, msg + BLKPROC_READ_DATA_OFF);
	assert_memory_equal(d.ptr, pat, sizeof pat);
	/* one block past what one message carries: badLength, the disk untouched */
	params_read(0, BLKPROC_MAX_DATA / 512 + 1);
	n = capnp_builder_write(&b, msg, sizeof msg);
	rlen = sizeof msg;
	last_buf = NULL;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_readBlocks_ORDINAL, msg, (uint32_t)n, msg,
	    &rlen), 0);
	assert_int_equal(decode_in(msg, BlockDevice_readBlocks_ORDINAL, rlen, &d),
	    -1 - BlockError_badLength);
	assert_null(last_buf);
}

/* BLP-012: a result buffer that is unaligned or too small: an exception, or
 * badLength when the error answer fits but the data does not; nothing is
 * written past it and nothing crashes. blkproc_clamp bounds a driver's
 * transfers. */
static void
test_bad_result_buffer(void **st)
{
	static uint8_t big[BLKPROC_MSG_MAX + 8] __attribute__((aligned(8)));
	uint32_t rlen;
	setup(512, 0);
	params_read(0, 8);
	int n = capnp_builder_write(&b, req, sizeof req);
	rlen = BLKPROC_MSG_MAX;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_readBlocks_ORDINAL, req, (uint32_t)n,
	    big + 4, &rlen), ExceptionType_failed + 1);
	for (uint32_t cap = 0; cap < 8 * 512 + BLKPROC_READ_DATA_OFF; cap += 8) {
		memset(big, 0x5a, sizeof big);
		rlen = cap;
		int r = blkproc_handle(&srv, BlockDevice_readBlocks_ORDINAL, req, (uint32_t)n, big,
		    &rlen);
		if (cap < BLKPROC_READ_DATA_OFF) {      /* not even the error answer fits */
			assert_int_equal(r, ExceptionType_failed + 1);
		} else {                                /* the data does not: badLength */
			assert_int_equal(r, 0);
			assert_true(rlen <= cap);
			assert_int_equal(decode_in(big, BlockDevice_readBlocks_ORDINAL, rlen, NULL),
			    -1 - BlockError_badLength);
		}
		for (uint32_t i = cap; i < cap + 64; i++)
			assert_int_equal(big[i], 0x5a);
	}
	rlen = 8 * 512 + BLKPROC_READ_DATA_OFF;
	assert_int_equal(blkproc_handle(&srv, BlockDevice_readBlocks_ORDINAL, req, (uint32_t)n, big,
	    &rlen), 0);
	blkproc_clamp(&srv, 4096);
	assert_int_equal(srv.info.max_transfer_blocks, 8);
	blkproc_clamp(&srv, 100);       /* less than a block: one block, never zero */
	assert_int_equal(srv.info.max_transfer_blocks, 1);
}

/* BLP-013: the in-place framing blkproc and the clients build with
 * (lib/capnp): one segment at buf + 8, only the table written; refused for
 * another buffer, an unaligned or tiny one, or a capacity the message
 * exceeds; an unwritten byte list is left as it was past the builder's
 * zeroing ahead, its last word (with the padding) zeroed. */
static void
test_framed_builder(void **st)
{
	static uint64_t buf[256], other[256];
	static uint8_t content[1001];
	struct capnp_builder fb;
	BlockDevice_writeBlocks_Params_B p;
	struct capnp_data d;
	struct capnp_msg m;
	struct capnp_struct root;
	uint8_t *at;
	memset(buf, 0xee, sizeof buf);
	assert_int_equal(capnp_builder_init_framed(&fb, (uint8_t *)buf + 4, sizeof buf - 8), E_INVAL);
	assert_true(BlockDevice_writeBlocks_Params_init_root(&fb, &p) < 0);
	assert_int_equal(capnp_builder_init_framed(&fb, buf, 8), E_INVAL);
	assert_int_equal(capnp_builder_init_framed(&fb, buf, sizeof buf), 0);
	assert_int_equal(BlockDevice_writeBlocks_Params_init_root(&fb, &p), 0);
	BlockDevice_writeBlocks_Params_set_lba(p, 77);
	assert_int_equal(capnp_bptr_alloc_bytes(BlockDevice_writeBlocks_Params_ptr_data(p),
	    sizeof content, &at), 0);
	/* past the builder's zeroing ahead (64 words) the bytes are left as they
	 * were, up to the last word, which is zeroed with the padding in it */
	for (size_t i = 600; i < 1000; i++)
		assert_int_equal(at[i], 0xee);
	for (size_t i = 1000; i < 1008; i++)
		assert_int_equal(at[i], 0);
	for (size_t i = 0; i < sizeof content; i++)
		content[i] = (uint8_t)(i * 5 + 1);
	memcpy(at, content, sizeof content);
	assert_int_equal(capnp_builder_frame(&fb, other, sizeof other), E_INVAL);
	int n = capnp_builder_frame(&fb, buf, sizeof buf);
	/* table, root pointer, struct (1 data + 1 pointer word), the list in words */
	assert_int_equal(n, 8 + 8 + 16 + 1008);
	assert_int_equal(capnp_builder_frame(&fb, buf, (size_t)n - 8), E_TOOBIG);
	assert_true(capnp_msg_init(&m, buf, (size_t)n) >= 0 && capnp_msg_root(&m, &root) >= 0);
	BlockDevice_writeBlocks_Params_R r = { root };
	assert_int_equal(BlockDevice_writeBlocks_Params_get_lba(r), 77);
	assert_int_equal(BlockDevice_writeBlocks_Params_get_data(r, &d), 0);
	assert_int_equal(d.len, sizeof content);
	assert_memory_equal(d.ptr, content, sizeof content);
}

/* ---- windows (readAt / writeAt / openWindow) ---- */

static uint8_t win_area[64 * 1024] __attribute__((aligned(4096)));

static void
params_at(uint64_t lba, uint32_t count, uint32_t off)
{
	BlockDevice_readAt_Params_B p;
	BlockDevice_readAt_Params_init_root(begin(), &p);
	BlockDevice_readAt_Params_set_lba(p, lba);
	BlockDevice_readAt_Params_set_count(p, count);
	BlockDevice_readAt_Params_set_offset(p, off);
}

/* BLP-010: placement in the area, first fit, slots and gaps. */
static void
test_window_place(void **st)
{
	struct blkproc_area a = { .cpu = win_area, .bytes = sizeof win_area };
	unsigned k;
	uint32_t off;

	assert_int_equal(blkproc_window_place(&a, 0, &k, &off), E_INVAL);
	assert_int_equal(blkproc_window_place(&a, 100, &k, &off), E_INVAL);
	assert_int_equal(blkproc_window_place(&a, sizeof win_area + 4096, &k, &off), E_INVAL);
	assert_int_equal(blkproc_window_place(&a, 16384, &k, &off), 0);
	assert_int_equal(k, 0);
	assert_int_equal(off, 0);
	a.w[0] = (struct blkproc_window){ .off = 0, .bytes = 16384, .gen = 1, .live = 1 };
	assert_int_equal(blkproc_window_place(&a, 32768, &k, &off), 0);
	assert_int_equal(k, 1);
	assert_int_equal(off, 16384);
	a.w[1] = (struct blkproc_window){ .off = 16384, .bytes = 32768, .gen = 1, .live = 1 };
	assert_int_equal(blkproc_window_place(&a, 32768, &k, &off), E_NOSPC);   /* 16 KiB left */
	a.w[0].live = 0;                /* a gap at the start */
	assert_int_equal(blkproc_window_place(&a, 16384, &k, &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(blkproc_window_place(&a, 20480, &k, &off), E_NOSPC);
	for (unsigned i = 0; i < BLKPROC_WINDOWS; i++)
		a.w[i] = (struct blkproc_window){ .off = i * 4096, .bytes = 4096, .gen = 1, .live = 1 };
	assert_int_equal(blkproc_window_place(&a, 4096, &k, &off), E_NOSPC);     /* no slot */
}

/* BLP-011: readAt/writeAt reach only the window their badge names, inside it,
 * and the driver gets a pointer into the window (no copy); everything else
 * is answered at once and nothing is pending. */
static void
test_window_io(void **st)
{
	static struct blkproc_area a;
	struct capnp_data d;
	uint32_t plen, rlen;
	const uint32_t badge = 3 | 7u << 8;     /* slot 2, generation 7 */

	setup(512, 0);
	a = (struct blkproc_area){ .cpu = win_area, .bytes = sizeof win_area };
	a.w[2] = (struct blkproc_window){ .off = 8192, .bytes = 16384, .gen = 7, .live = 1, .ex = 1 };
	assert_int_equal(blkproc_window_badge(&a, 2), badge);
	areq[0] = (struct blkproc_req){ .area = &a, .badge = badge, .ex = 1 };
	params_at(5, 8, 4096);
	assert_int_equal(abegin(0, BlockDevice_readAt_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	assert_int_equal(areq[0].io.op, BLKPROC_IO_READ);
	assert_ptr_equal(areq[0].io.buf, win_area + 8192 + 4096);
	memcpy(areq[0].io.buf, disk + 5 * 512, 4096);
	assert_int_equal(afinish(0, 0, BlockDevice_readAt_ORDINAL, &d), 0);
	params_at(9, 8, 16384 - 4096);          /* the window's last 4 KiB */
	assert_int_equal(abegin(0, BlockDevice_writeAt_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	assert_int_equal(areq[0].io.op, BLKPROC_IO_WRITE);
	assert_ptr_equal(areq[0].io.buf, win_area + 8192 + 12288);
	assert_int_equal(afinish(0, E_IO, BlockDevice_writeAt_ORDINAL, &d), -1 - BlockError_ioError);
	/* refused at once: past the window, no window, a stale or foreign badge,
	 * another export, bad counts, past the disk */
	static const struct { uint32_t badge; uint8_t ex; uint64_t lba; uint32_t count, off; int want; }
	    bad[] = {
		{ badge, 1, 0, 8, 16384 - 2048, -1 - BlockError_outOfRange },
		{ badge, 1, 0, 1, 0xffffffffu, -1 - BlockError_outOfRange },
		{ 0, 1, 0, 8, 0, -1 - BLK_ERR_NO_WINDOW },
		{ 3 | 6u << 8, 1, 0, 8, 0, -1 - BLK_ERR_NO_WINDOW },
		{ 2 | 7u << 8, 1, 0, 8, 0, -1 - BLK_ERR_NO_WINDOW },
		{ 200 | 7u << 8, 1, 0, 8, 0, -1 - BLK_ERR_NO_WINDOW },
		{ badge, 0, 0, 8, 0, -1 - BLK_ERR_NO_WINDOW },
		{ badge, 1, 0, 0, 0, -1 - BlockError_badLength },
		{ badge, 1, 0, 300, 0, -1 - BlockError_badLength },
		{ badge, 1, BLOCKS - 1, 2, 0, -1 - BlockError_outOfRange },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (uint16_t m = BlockDevice_readAt_ORDINAL; m <= BlockDevice_writeAt_ORDINAL; m++) {
			areq[0] = (struct blkproc_req){ .area = &a, .badge = bad[i].badge, .ex = bad[i].ex };
			params_at(bad[i].lba, bad[i].count, bad[i].off);
			assert_int_equal(abegin(0, m, &plen, &rlen), 0);
			assert_int_equal(areq[0].io.op, BLKPROC_IO_NONE);
			assert_int_equal(decode_in(aparams[0], m, rlen, &d), bad[i].want);
		}
	}
	/* one request at a time (blkproc_handle) has no windows */
	params_at(0, 8, 0);
	assert_int_equal(answer_sync(BlockDevice_readAt_ORDINAL, &d), -1 - BLK_ERR_NO_WINDOW);
}

/* BLP-012: openWindow: the size rounded to pages, refused sizes and no area answered at once. */
static void
test_window_open(void **st)
{
	static struct blkproc_area a;
	static struct capnp_msg m;
	struct capnp_struct root;
	BlockWindowResult_R u;
	BlockWindow_R w;
	uint32_t plen, rlen;

	setup(512, 0);
	a = (struct blkproc_area){ .cpu = win_area, .bytes = sizeof win_area };
	static const struct { struct blkproc_area *a; uint32_t bytes; int r; uint16_t err; } c[] = {
		{ &a, 5000, BLKPROC_OPEN_WINDOW, 0 },
		{ &a, 0, 0, BLK_ERR_BAD_LENGTH },
		{ &a, sizeof win_area + 1, 0, BLK_ERR_BAD_LENGTH },
		{ NULL, 4096, 0, BLK_ERR_NO_WINDOW },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		BlockDevice_openWindow_Params_B p;
		BlockDevice_openWindow_Params_init_root(begin(), &p);
		BlockDevice_openWindow_Params_set_bytes(p, c[i].bytes);
		areq[0] = (struct blkproc_req){ .area = c[i].a };
		assert_int_equal(abegin(0, BlockDevice_openWindow_ORDINAL, &plen, &rlen), c[i].r);
		if (c[i].r == BLKPROC_OPEN_WINDOW) {
			assert_int_equal(areq[0].io.count, 8192);
			rlen = sizeof aparams[0];
			assert_int_equal(blkproc_window_answer(&areq[0], 0, 8192, aparams[0], &rlen), 0);
		}
		assert_true(capnp_msg_init(&m, aparams[0], rlen) >= 0);
		assert_true(capnp_msg_root(&m, &root) >= 0);
		assert_int_equal(BlockDevice_openWindow_Results_get_result(
		    (BlockDevice_openWindow_Results_R){ root }, &u), 0);
		if (c[i].r == BLKPROC_OPEN_WINDOW) {
			assert_int_equal(BlockWindowResult_which(u), BlockWindowResult_which_window);
			assert_int_equal(BlockWindowResult_get_window(u, &w), 0);
			assert_int_equal(BlockWindow_get_bytes(w), 8192);
		} else {
			assert_int_equal(BlockWindowResult_get_error(u), c[i].err);
		}
	}
}

/* BLP-013: a window with a request begun and not finished is busy (never
 * reclaimed: the device may still write there); finished or elsewhere, not. */
static void
test_window_busy(void **st)
{
	static struct blkproc_area a;
	static struct blkproc_slot sl[3];
	struct capnp_data d;
	uint32_t plen, rlen;
	const uint32_t badge = 2 | 1u << 8;     /* slot 1, generation 1 */

	setup(512, 0);
	a = (struct blkproc_area){ .cpu = win_area, .bytes = sizeof win_area };
	a.w[0] = (struct blkproc_window){ .off = 0, .bytes = 8192, .gen = 1, .live = 1 };
	a.w[1] = (struct blkproc_window){ .off = 8192, .bytes = 8192, .gen = 1, .live = 1 };
	memset(sl, 0, sizeof sl);
	assert_false(blkproc_window_busy(&a, 0, sl, 3));
	assert_false(blkproc_window_busy(&a, 1, sl, 3));
	/* a readAt into window 1 begun in slot 2 (as the serving loop does it) */
	areq[0] = (struct blkproc_req){ .area = &a, .badge = badge };
	params_at(3, 8, 4096);
	assert_int_equal(abegin(0, BlockDevice_readAt_ORDINAL, &plen, &rlen), BLKPROC_PENDING);
	sl[2].req = areq[0];
	assert_false(blkproc_window_busy(&a, 0, sl, 3));
	assert_true(blkproc_window_busy(&a, 1, sl, 3));
	assert_false(blkproc_window_busy(&a, 1, sl, 2));        /* not among these slots */
	/* answered: no longer busy */
	assert_int_equal(afinish(0, 0, BlockDevice_readAt_ORDINAL, &d), 0);
	sl[2].req = areq[0];
	assert_false(blkproc_window_busy(&a, 1, sl, 3));
	/* a refused request never made it busy */
	params_at(3, 8, 8192);                  /* past the window */
	assert_int_equal(abegin(0, BlockDevice_readAt_ORDINAL, &plen, &rlen), 0);
	sl[2].req = areq[0];
	assert_false(blkproc_window_busy(&a, 1, sl, 3));
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
		cmocka_unit_test(test_async_out_of_order),
		cmocka_unit_test(test_async_errors),
		cmocka_unit_test(test_async_refusals_match_sync),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_bad_result_buffer),
		cmocka_unit_test(test_framed_builder),
		cmocka_unit_test(test_window_place),
		cmocka_unit_test(test_window_io),
		cmocka_unit_test(test_window_open),
		cmocka_unit_test(test_window_busy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
