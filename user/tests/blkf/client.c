/*
 * TEST CODE. blkf's client role (process name blkf-watch...; blkf.h): the
 * block client of the block-driver fault tests
 * (tests/system/test_blk_faults.py, docs/testing.md "Block-driver faults").
 * It holds only `disk` (BlockDevice), `clock` (WallClock) and `console`, and
 * watches what a client sees while its driver fails: it repeats one I/O
 * round (write 8 KiB at byte 1 MiB with a pattern of the round, read it back,
 * compare) and reports every change between served and disconnected:
 *
 *   blkf-client: NAME gone n=K err=E ok_rounds=N call_ms=T disconnected_calls=D
 *       a round failed (E: -17 disconnected, 1000 + BlockError, or another
 *       base/err.h code); the first of a run of failures; D: how many of
 *       the round's calls ended disconnected
 *   blkf-client: NAME served-again n=K after_ms=T
 *       a round worked again after a run of failures (a restarted driver)
 *   blkf-client: NAME stays-gone calls=C err=-17 first_ms=T max_later_us=U
 *       C calls in a row failed with disconnected: the driver is gone for
 *       good (its restart budget is spent and init released the endpoint);
 *       max_later_us is the longest of calls 2..C: each ends at once, none
 *       waits for a driver that will never come
 *   blkf-client: NAME done gone=K served_again=J ok_rounds=N failures=F
 *
 * Process name blkf-watch-qd: a round is instead QD_CALLS (16, the
 * endpoint's queue bound) 4 KiB reads in flight at once, each compared with
 * zeros (the tests' disks start zeroed and this role never writes); the
 * round is disconnected when any call was (`stays-gone calls=` then counts
 * rounds of 16), and the end adds
 *   blkf-client: NAME qd calls=C disconnected=D most_at_once=M
 * (M: the most calls of one round that ended disconnected: calls the dead
 * driver had received; the others stay queued for the next instance).
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
static uint32_t round_disc;             /* calls of the last round that ended disconnected */

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
	round_disc = e == E_DISCONNECTED;
	return e;
}

/* ---- queue depth: QD_CALLS reads in flight ---- */

#define QD_CALLS 16u                    /* RING_MAX_QUEUED: the endpoint's bound */
#define QD_PIECE 4096u

static struct qd_slot {
	uint64_t p[64];
	uint64_t r[(QD_PIECE + 1024) / 8];
} qd[QD_CALLS];
static uint32_t qd_calls, qd_disc, qd_most;

static int
qd_submit(uint32_t k)
{
	BlockDevice_readBlocks_Params_B p;
	BlockDevice_readBlocks_Params_init_root(rt_msg_begin(), &p);
	BlockDevice_readBlocks_Params_set_lba(p, (AT_BYTE + (uint64_t)k * QD_PIECE) / 512);
	BlockDevice_readBlocks_Params_set_count(p, QD_PIECE / 512);
	int n = rt_msg_end(qd[k].p, sizeof qd[k].p);
	if (n < 0)
		return n;
	struct ring_sqe e = { .opcode = RING_OP_CALL, .cap = disk, .user_data = k,
		.method = BlockDevice_readBlocks_ORDINAL, .params = (uint64_t)qd[k].p,
		.params_len = (uint32_t)n, .result = (uint64_t)qd[k].r, .result_len = sizeof qd[k].r };
	return rt_submit(&e);
}

/* A finished read: 0 (all zeros), E_DISCONNECTED, or another failure. */
static int
qd_outcome(const struct ring_cqe *c)
{
	struct qd_slot *q = &qd[c->user_data];
	struct capnp_msg m;
	struct capnp_struct root;
	BlockReadResult_R rr;
	struct capnp_data d;

	if (c->result == RING_E_EXCEPTION)
		return rt_exception_type(q->r, c->len) == ExceptionType_disconnected ?
		    E_DISCONNECTED : E_IO;
	if (c->result < 0)
		return c->detail < 0 ? c->detail : E_IO;
	if (rt_msg_read(&m, q->r, c->len, &root) < 0 || BlockDevice_readBlocks_Results_get_result(
	    (BlockDevice_readBlocks_Results_R){ root }, &rr) < 0)
		return E_CORRUPT;
	if (BlockReadResult_which(rr) != BlockReadResult_which_data)
		return BLKC_ERR(BlockReadResult_get_error(rr));
	if (BlockReadResult_get_data(rr, &d) < 0 || d.len != QD_PIECE)
		return E_CORRUPT;
	for (uint32_t i = 0; i < QD_PIECE; i++)
		if (((const uint8_t *)d.ptr)[i])
			return E_CORRUPT;
	return 0;
}

/* One round of QD_CALLS reads; every call is collected before it returns. */
static int
qd_round(uint32_t round)
{
	uint32_t k, busy = 0, disc = 0;
	int worst = 0;
	struct ring_cqe c;

	(void)round;
	for (k = 0; k < QD_CALLS; k++) {
		int e = qd_submit(k);
		if (e < 0)
			worst = e;
		else
			busy++;
	}
	sys_cap_enter(0, 0);
	while (busy) {
		if (!rt_reap(&c, true) || c.user_data >= QD_CALLS)
			continue;
		busy--;
		qd_calls++;
		int e = qd_outcome(&c);
		if (e == E_DISCONNECTED)
			disc++;
		else if (e)
			worst = e;
	}
	qd_disc += disc;
	round_disc = disc;
	if (disc > qd_most)
		qd_most = disc;
	return worst ? worst : disc ? E_DISCONNECTED : 0;
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
	bool at_depth = !strcmp(me, "blkf-watch-qd");
	captime_init(&tm, clk);
	deadline = captime_now_ns(&tm) + WATCH_NS;
	while (captime_now_ns(&tm) < deadline) {
		uint64_t t0 = captime_now_ns(&tm);
		int e = at_depth ? qd_round(round++) : io_round(round++);
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
			rt_print("blkf-client: %s gone n=%u err=%d ok_rounds=%u call_ms=%lu "
			    "disconnected_calls=%u", me, ++gones, e, ok, (unsigned long)(dt / 1000000),
			    round_disc);
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
	if (at_depth)
		rt_print("blkf-client: %s qd calls=%u disconnected=%u most_at_once=%u", me, qd_calls,
		    qd_disc, qd_most);
	rt_print("blkf-client: %s done gone=%u served_again=%u ok_rounds=%u failures=%u", me, gones,
	    again, ok, failures);
	return failures ? 1 : 0;
}
