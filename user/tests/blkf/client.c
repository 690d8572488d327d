/*
 * TEST CODE. blkf's client role (process name blkf-watch...; blkf.h): the
 * block client of the block-driver fault tests
 * (tests/system/test_blk_faults.py, docs/testing.md "Block-driver faults").
 * It holds only `disk` (BlockDevice), `clock` (WallClock) and `console`, and
 * watches what a client sees while its driver fails: it repeats one I/O
 * round (write 8 KiB at byte 1 MiB with a pattern of the round, read it back,
 * compare) and reports every change between served and disconnected:
 *
 *   blkf-client: NAME gone n=K err=E ok_rounds=N call_ms=T
 *       a round failed (E: -17 disconnected, 1000 + BlockError, or another
 *       base/err.h code); the first of a run of failures
 *   blkf-client: NAME served-again n=K after_ms=T
 *       a round worked again after a run of failures (a restarted driver)
 *   blkf-client: NAME stays-gone calls=C err=-17 first_ms=T max_later_us=U
 *       C calls in a row failed with disconnected: the driver is gone for
 *       good (its restart budget is spent and init released the endpoint);
 *       max_later_us is the longest of calls 2..C: each ends at once, none
 *       waits for a driver that will never come
 *   blkf-client: NAME done gone=K served_again=J ok_rounds=N failures=F
 *
 * A run of failures that is not disconnected (or data that does not compare)
 * counts as a failure and ends the watch. The watch also ends after
 * WATCH_NS of wall time, with failures=1, so a test never waits on it.
 */
#include "capos.h"
#include "blkf.h"
#include "../../drivers/captime.h"
#include "schema/base.capnp.h"
#include "schema/block.capnp.h"
#include "schema/exception.capnp.h"

#define PIECE 8192u                     /* fits the runtime's 16 KiB params arena */
#define AT_BYTE (1ull << 20)
#define STAY_CALLS 20u                  /* disconnected this many times in a row: gone */
#define WATCH_NS (240ull * 1000000000ull)
#define BLKC_ERR(e) (1000 + (int)(e))   /* blk-client's convention for BlockErrors */

static uint8_t data[PIECE], back[PIECE];
static uint64_t rbuf[(PIECE + 4096) / 8];
static struct captime tm;
static capid_t disk;

/* A call's failure as a base/err.h code; disconnected -> E_DISCONNECTED. */
static int
call_err(int r)
{
	if (RT_IS_EXCEPTION(r))
		return RT_EXCEPTION_TYPE(r) == ExceptionType_disconnected ? E_DISCONNECTED : E_IO;
	return r;
}

static int
write_piece(uint64_t lba)
{
	BlockDevice_writeBlocks_Params_B p;
	BlockDevice_writeBlocks_Results_R res;
	BlockResult_R br;
	int r = BlockDevice_writeBlocks_begin(&p);
	if (r < 0)
		return r;
	BlockDevice_writeBlocks_Params_set_lba(p, lba);
	if ((r = BlockDevice_writeBlocks_Params_set_data(p, data, PIECE)) < 0)
		return r;
	if ((r = call_err(BlockDevice_writeBlocks_call(disk, NULL, &res))) < 0)
		return r;
	if (BlockDevice_writeBlocks_Results_get_result(res, &br) < 0)
		return E_CORRUPT;
	return BlockResult_which(br) == BlockResult_which_ok ? 0 :
	    BLKC_ERR(BlockResult_get_error(br));
}

static int
read_piece(uint64_t lba, uint32_t count)
{
	struct rt_call cl = { .buf = rbuf, .buflen = sizeof rbuf };
	BlockDevice_readBlocks_Params_B p;
	BlockDevice_readBlocks_Results_R res;
	BlockReadResult_R rr;
	struct capnp_data d;
	int r = BlockDevice_readBlocks_begin(&p);
	if (r < 0)
		return r;
	BlockDevice_readBlocks_Params_set_lba(p, lba);
	BlockDevice_readBlocks_Params_set_count(p, count);
	if ((r = call_err(BlockDevice_readBlocks_call(disk, &cl, &res))) < 0)
		return r;
	if (BlockDevice_readBlocks_Results_get_result(res, &rr) < 0)
		return E_CORRUPT;
	if (BlockReadResult_which(rr) != BlockReadResult_which_data)
		return BLKC_ERR(BlockReadResult_get_error(rr));
	if (BlockReadResult_get_data(rr, &d) < 0 || d.len != PIECE)
		return E_CORRUPT;
	memcpy(back, d.ptr, PIECE);
	return 0;
}

/* One round: write the piece with round's pattern, read it back, compare.
 * 512-byte blocks (both QEMU disks of the tests). */
static int
io_round(uint32_t round)
{
	for (uint32_t k = 0; k < PIECE; k++)
		data[k] = (uint8_t)(k * 131u + round * 7u + 1u);
	int e = write_piece(AT_BYTE / 512);
	if (e == 0)
		e = read_piece(AT_BYTE / 512, PIECE / 512);
	if (e == 0 && memcmp(data, back, PIECE))
		e = E_CORRUPT;
	return e;
}

int
blkf_client_main(void)
{
	const char *me = rt_boot->name;
	uint32_t ok = 0, gones = 0, again = 0, run = 0, failures = 0, round = 0;
	uint64_t run_start = 0, first_ns = 0, max_later = 0, deadline;
	bool stayed = false;

	disk = rt_cap("disk", BlockDevice_TYPE_ID);
	capid_t clk = rt_cap("clock", WallClock_TYPE_ID);
	if (!disk || !clk) {
		rt_print("blkf-client: %s error=missing-grant disk=%u clock=%u", me, disk, clk);
		return 1;
	}
	captime_init(&tm, clk);
	deadline = captime_now_ns(&tm) + WATCH_NS;
	while (captime_now_ns(&tm) < deadline) {
		uint64_t t0 = captime_now_ns(&tm);
		int e = io_round(round++);
		uint64_t dt = captime_now_ns(&tm) - t0;
		if (e == 0) {
			if (run)
				rt_print("blkf-client: %s served-again n=%u after_ms=%lu", me, ++again,
				    (unsigned long)((t0 + dt - run_start) / 1000000));
			run = 0;
			ok++;
			continue;
		}
		if (run == 0) {
			rt_print("blkf-client: %s gone n=%u err=%d ok_rounds=%u call_ms=%lu", me,
			    ++gones, e, ok, (unsigned long)(dt / 1000000));
			run_start = t0;
			first_ns = dt;
			max_later = 0;
		} else if (dt > max_later) {
			max_later = dt;
		}
		if (e != E_DISCONNECTED) {
			failures++;
			break;
		}
		if (++run == STAY_CALLS) {
			rt_print("blkf-client: %s stays-gone calls=%u err=%d first_ms=%lu max_later_us=%lu",
			    me, run, e, (unsigned long)(first_ns / 1000000),
			    (unsigned long)(max_later / 1000));
			stayed = true;
			break;
		}
	}
	if (!stayed && !failures)
		failures++;     /* the watch ran out of time */
	rt_print("blkf-client: %s done gone=%u served_again=%u ok_rounds=%u failures=%u", me, gones,
	    again, ok, failures);
	return failures ? 1 : 0;
}
