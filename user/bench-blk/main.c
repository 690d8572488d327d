/*
 * bench-blk: the capOS side of `make bench-blk` (docs/bench-blk.md). A
 * process holding only a BlockDevice grant (`disk`), the Console and a
 * WallClock (`clock`, for the TSC calibration of captime.h) runs the six
 * rows of bench/blk/bench_blk.py against the whole disk and prints
 *     capos: bench-blk dev=DEV job=JOB qd=QD iops=N mbps=X lat_us=L ...
 * then `capos: bench-blk done`. DEV is the process name's suffix
 * (bench-blk-virtio, bench-blk-nvme).
 *
 * How a row runs: 1 s warm-up, then SECONDS measured; requests of the row's
 * size at random block-aligned offsets (4 KiB rows) or sequentially (128 KiB
 * rows), with up to `qd` calls outstanding. Honest limits, printed on every
 * row as extra fields:
 *  - outstanding=: the calls really in flight. The endpoint queues at most
 *    16 calls (more are refused `overloaded`) and the ring's submission
 *    queue has 16 entries, so a QD32 row keeps 16 outstanding;
 *  - calls_per_io=: one ring message carries at most 60 KiB of data, so a
 *    128 KiB I/O is three calls (60 + 60 + 8 KiB), issued together and
 *    counted as one I/O when the last completes;
 *  - the driver serves one request at a time (blkproc_serve), so
 *    outstanding calls wait in the endpoint queue, not in the device.
 * capos.bench.seconds on the kernel command line is not visible to a
 * process; SECONDS is fixed at 5, the harness's default.
 */
#include "capos.h"
#include "../drivers/captime.h"
#include "schema/base.capnp.h"
#include "schema/block.capnp.h"

#define SECONDS 5u
#define WARMUP_NS 1000000000ull
#define MAX_OUT 16u                     /* endpoint queue and SQ depth */
#define MSG_DATA (60u * 1024u)
#define SMALL_BUF (8u * 1024u)
#define BIG_CALLS 3u                    /* calls of one 128 KiB I/O */

struct row {
	const char *job;
	uint32_t qd;
	uint32_t size;
	bool write, random;
};

static const struct row rows[] = {
	{ "randread4k", 1, 4096, false, true },
	{ "randread4k", 32, 4096, false, true },
	{ "randwrite4k", 1, 4096, true, true },
	{ "randwrite4k", 32, 4096, true, true },
	{ "seqread128k", 1, 131072, false, false },
	{ "seqwrite128k", 1, 131072, true, false },
};

/* One outstanding call: its buffers and the I/O it belongs to. */
struct slot {
	uint64_t p[(SMALL_BUF + 512) / 8], r[(SMALL_BUF + 512) / 8];
	uint64_t start_ns;
};

static struct slot slots[MAX_OUT];
static uint64_t bigp[BIG_CALLS][(MSG_DATA + 4096) / 8], bigr[BIG_CALLS][(MSG_DATA + 4096) / 8];
static uint8_t wdata[MSG_DATA];
static capid_t disk;
static struct captime tm;
static uint32_t bs;
static uint64_t nblocks;
static const char *dev;
static uint64_t rng = 0x243F6A8885A308D3ull;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int
info(void)
{
	static uint64_t p[8], r[64];
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	BlockInfo_R i;
	BlockDevice_info_Params_B pb;
	BlockDevice_info_Params_init_root(rt_msg_begin(), &pb);
	int n = rt_msg_end(p, sizeof p);
	if (n < 0 || rt_call(disk, BlockDevice_info_ORDINAL, p, (uint32_t)n, r, sizeof r, NULL, 0,
	    &c) < 0 || rt_msg_read(&m, r, c.len, &root) < 0 ||
	    BlockDevice_info_Results_get_info((BlockDevice_info_Results_R){ root }, &i) < 0)
		return E_IO;
	bs = BlockInfo_get_blockSize(i);
	nblocks = BlockInfo_get_blockCount(i);
	return bs == 512 || bs == 4096 ? 0 : E_CORRUPT;
}

/* Submit one call (read or write of len bytes at byte offset off) tagged tag. */
static int
submit(uint64_t off, uint32_t len, bool write, void *pbuf, void *rbuf, uint32_t cap,
    uint64_t tag)
{
	int n;
	if (write) {
		BlockDevice_writeBlocks_Params_B p;
		BlockDevice_writeBlocks_Params_init_root(rt_msg_begin(), &p);
		BlockDevice_writeBlocks_Params_set_lba(p, off / bs);
		BlockDevice_writeBlocks_Params_set_data(p, wdata, len);
	} else {
		BlockDevice_readBlocks_Params_B p;
		BlockDevice_readBlocks_Params_init_root(rt_msg_begin(), &p);
		BlockDevice_readBlocks_Params_set_lba(p, off / bs);
		BlockDevice_readBlocks_Params_set_count(p, len / bs);
	}
	if ((n = rt_msg_end(pbuf, cap)) < 0)
		return n;
	struct ring_sqe s = { .opcode = RING_OP_CALL,
		.method = write ? BlockDevice_writeBlocks_ORDINAL : BlockDevice_readBlocks_ORDINAL,
		.cap = disk, .user_data = tag, .params = (uint64_t)pbuf, .params_len = (uint32_t)n,
		.result = (uint64_t)rbuf, .result_len = cap };
	return rt_submit(&s);
}

/* The answer of a completed call: 0 when the result union says data/ok. */
static int
answer(const struct ring_cqe *c, void *rbuf)
{
	struct capnp_msg m;
	struct capnp_struct root, u;
	if (c->result < 0)
		return c->result;
	if (rt_msg_read(&m, rbuf, c->len, &root) < 0 ||
	    capnp_ptr_struct(capnp_struct_ptr(&root, 0), &u) < 0)
		return E_CORRUPT;
	/* BlockReadResult and BlockResult: member 0 (data / ok) is success */
	return capnp_get_u16(&u, 0) == 0 ? 0 : E_IO;
}

static uint64_t
pick(const struct row *w, uint64_t *seq)
{
	uint64_t span = nblocks * bs / w->size;
	if (w->random)
		return next_rand() % span * w->size;
	uint64_t off = *seq % span * w->size;
	(*seq)++;
	return off;
}

struct tally {
	uint64_t ios, lat_ns;
	int err;
};

/* 4 KiB rows: up to `out` single-call I/Os in flight, refilled as they complete. */
static void
run_small(const struct row *w, uint32_t out, uint64_t until, uint64_t count_from,
    struct tally *t)
{
	uint32_t busy = 0;
	uint64_t seq = 0;
	struct ring_cqe c;
	for (uint32_t i = 0; i < out; i++) {
		slots[i].start_ns = captime_now_ns(&tm);
		if ((t->err = submit(pick(w, &seq), w->size, w->write, slots[i].p, slots[i].r,
		    sizeof slots[i].p, i)) < 0)
			return;
		busy++;
	}
	while (busy) {
		if (!rt_reap(&c, false)) {
			sys_cap_enter(1, 0);
			continue;
		}
		if (c.user_data >= out)
			continue;               /* not ours */
		uint32_t i = (uint32_t)c.user_data;
		uint64_t now = captime_now_ns(&tm);
		busy--;
		int e = answer(&c, slots[i].r);
		if (e && !t->err)
			t->err = e;
		if (!e && now >= count_from && now < until) {
			t->ios++;
			t->lat_ns += now - slots[i].start_ns;
		}
		if (e || now >= until)
			continue;               /* drain */
		slots[i].start_ns = now;
		if ((e = submit(pick(w, &seq), w->size, w->write, slots[i].p, slots[i].r,
		    sizeof slots[i].p, i)) < 0) {
			t->err = e;
			continue;
		}
		busy++;
	}
}

/* 128 KiB rows at QD1: each I/O is ceil(size / 60 KiB) calls, issued
 * together (as a block layer splits one request into several), and the I/O
 * completes when its last call does. */
static void
run_big(const struct row *w, uint64_t until, uint64_t count_from, struct tally *t)
{
	uint32_t per = MSG_DATA / bs * bs;
	uint64_t seq = 0;
	struct ring_cqe c;
	if ((w->size + per - 1) / per > BIG_CALLS) {
		t->err = E_TOOBIG;
		return;
	}
	for (;;) {
		uint64_t start = captime_now_ns(&tm);
		if (start >= until)
			return;
		uint64_t off = pick(w, &seq);
		uint32_t n = 0, busy = 0;
		for (uint32_t done = 0; done < w->size; done += per, n++) {
			uint32_t len = w->size - done < per ? w->size - done : per;
			int e = submit(off + done, len, w->write, bigp[n], bigr[n], sizeof bigp[n],
			    1000 + n);
			if (e < 0) {
				t->err = e;
				break;
			}
			busy++;
		}
		while (busy) {
			if (!rt_reap(&c, false)) {
				sys_cap_enter(1, 0);
				continue;
			}
			if (c.user_data < 1000 || c.user_data >= 1000 + n)
				continue;       /* not ours */
			busy--;
			int e = answer(&c, bigr[c.user_data - 1000]);
			if (e && !t->err)
				t->err = e;
		}
		if (t->err)
			return;
		uint64_t now = captime_now_ns(&tm);
		if (now >= count_from && now < until) {
			t->ios++;
			t->lat_ns += now - start;
		}
	}
}

static void
run_row(const struct row *w)
{
	struct tally t = { 0 };
	uint32_t out = w->qd < MAX_OUT ? w->qd : MAX_OUT;
	uint32_t calls = (w->size + MSG_DATA / bs * bs - 1) / (MSG_DATA / bs * bs);
	uint64_t t0 = captime_now_ns(&tm), from = t0 + WARMUP_NS;
	uint64_t until = from + SECONDS * 1000000000ull;
	if (w->size > MSG_DATA)
		run_big(w, until, from, &t);
	else
		run_small(w, out, until, from, &t);
	if (t.err) {
		rt_print("capos: bench-blk dev=%s job=%s qd=%u error=call-failed-%d", dev, w->job,
		    w->qd, t.err);
		return;
	}
	uint64_t iops_x100 = t.ios * 100 / SECONDS;
	uint64_t bps = t.ios * w->size / SECONDS;       /* bytes per second */
	uint64_t lat_ns = t.ios ? t.lat_ns / t.ios : 0;
	rt_print("capos: bench-blk dev=%s job=%s qd=%u iops=%lu.%02lu mbps=%lu.%02lu lat_us=%lu.%lu "
	    "outstanding=%u calls_per_io=%u ios=%lu seconds=%u", dev, w->job,
	    w->qd, (unsigned long)(iops_x100 / 100), (unsigned long)(iops_x100 % 100),
	    (unsigned long)(bps / 1000000), (unsigned long)(bps % 1000000 / 10000),
	    (unsigned long)(lat_ns / 1000), (unsigned long)(lat_ns % 1000 / 100),
	    w->size > MSG_DATA ? 1 : out, calls, (unsigned long)t.ios, SECONDS);
}

int
main(void)
{
	const char *me = rt_boot->name;
	dev = !memcmp(me, "bench-blk-", 10) ? me + 10 : me;
	disk = rt_cap("disk", BlockDevice_TYPE_ID);
	capid_t clk = rt_cap("clock", WallClock_TYPE_ID);
	if (!disk || !clk) {
		rt_print("capos: bench-blk unavailable reason=no-%s-grant", disk ? "clock" : "disk");
		return 1;
	}
	int e = info();
	if (e < 0) {
		rt_print("capos: bench-blk unavailable reason=info-failed-%d", e);
		return 1;
	}
	captime_init(&tm, clk);
	if (!tm.tsc_khz) {
		rt_print("capos: bench-blk unavailable reason=clock-calibration-failed");
		return 1;
	}
	for (uint32_t i = 0; i < sizeof wdata; i++)
		wdata[i] = (uint8_t)(i * 31 + 7);
	rt_print("capos: bench-blk start dev=%s bs=%u blocks=%lu tsc_khz=%lu", dev, bs,
	    (unsigned long)nblocks, (unsigned long)tm.tsc_khz);
	for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++)
		run_row(&rows[i]);
	rt_print("capos: bench-blk done");
	return 0;
}
