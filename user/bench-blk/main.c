/*
 * bench-blk: the capOS side of `make bench-blk` (docs/bench-blk.md). A
 * process holding only a BlockDevice grant (`disk`), the Console and a
 * WallClock (`clock`, for the TSC calibration of captime.h) runs the six
 * rows of bench/blk/bench_blk.py against the whole disk and prints
 *     capos: bench-blk dev=DEV job=JOB qd=QD iops=N mbps=X lat_us=L ...
 * then `capos: bench-blk done`.
 *
 * Parameters come in the process name, which the harness writes into the
 * manifest it boots: bench-blk-DEV[.sSECONDS][.jROWS], e.g.
 * bench-blk-nvme.s10.j56: device nvme, 10 s per row, rows 5 and 6 only
 * (rows numbered 1..6 in the order below). Without .s: 5 s; without .j:
 * every row. A malformed parameter is refused (`unavailable`), not guessed.
 *
 * How a row runs: 1 s warm-up, then SECONDS measured; requests of the row's
 * size at random block-aligned offsets (4 KiB rows) or sequentially (128 KiB
 * rows), with up to `qd` calls outstanding. Honest limits, printed on every
 * row as extra fields:
 *  - outstanding=: the calls really in flight. The endpoint queues at most
 *    16 calls (more are refused `overloaded`) and the ring's submission
 *    queue has 16 entries, so a QD32 row keeps 16 outstanding;
 *  - calls_per_io=: a call carries at most the device's maxTransferBlocks
 *    (blkproc: up to 128 KiB), so a 128 KiB I/O is one call when the driver
 *    allows it, else several issued together and counted as one I/O when
 *    the last completes.
 * Messages are built in place (capnp_builder_init_framed): a write's
 * message is built once per slot and row with the data, and only its lba
 * is changed per I/O (the same buffer rewritten, as fio writes one buffer);
 * a read's data is checked in the result message, never copied out.
 *
 * Two paths, each row run on both (path= on the row line): `window`, the
 * zero-copy one (BlockDevice.openWindow: the driver's DMA memory mapped
 * here, readAt/writeAt name offsets in it; slot i uses window bytes
 * [i * size, (i + 1) * size), as fio uses one buffer per job slot), and
 * `message`, the data carried in the call or its answer (one kernel copy
 * each way); rows 1, 3, 5 run window first, rows 2, 4, 6 message first. A
 * driver without windows: message rows only, and
 * `capos: bench-blk window unavailable ...` says why.
 */
#include "capos.h"
#include "../drivers/captime.h"
#include "schema/base.capnp.h"
#include "schema/block.capnp.h"
#include "schema/device.capnp.h"

#define DEFAULT_SECONDS 5u
#define MAX_SECONDS 3600u
#define WARMUP_NS 1000000000ull
#define MAX_OUT 16u                     /* endpoint queue and SQ depth */
#define MSG_DATA (128u * 1024u)         /* the most one call carries (blkproc) */
#define SMALL_BUF (8u * 1024u)
#define BIG_CALLS 4u                    /* calls of one 128 KiB I/O, at most */

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

/* One call's message buffers, and the write message built in p (wlen bytes
 * of data at lba field wp) that later calls reuse. */
struct msg {
	uint64_t *p, *r;
	uint32_t cap;
	uint32_t wlen;                  /* 0: p holds no reusable write message */
	int plen;
	struct capnp_builder b;
	BlockDevice_writeBlocks_Params_B wp;
};

/* One outstanding call of the 4 KiB rows. */
struct slot {
	uint64_t p[(SMALL_BUF + 512) / 8], r[(SMALL_BUF + 512) / 8];
	struct msg m;
	uint64_t start_ns;
};

static struct slot slots[MAX_OUT];
static uint64_t bigp[BIG_CALLS][(MSG_DATA + 4096) / 8], bigr[BIG_CALLS][(MSG_DATA + 4096) / 8];
static struct msg bigm[BIG_CALLS];
static uint8_t wdata[MSG_DATA];
static capid_t disk;
#define WIN_BYTES (MAX_OUT * SMALL_BUF > MSG_DATA * 2 ? MAX_OUT * SMALL_BUF : MSG_DATA * 2)
static capid_t session, winmem;        /* the window's session and DmaWindow caps */
static uint8_t *win;                    /* the window, mapped here (WIN_BYTES) */
static bool via_window;                 /* the rows now running use it */
static struct captime tm;
static uint32_t bs, max_blocks, seconds = DEFAULT_SECONDS, row_mask = ~0u;
static uint64_t nblocks;
static char dev[24];
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
	max_blocks = BlockInfo_get_maxTransferBlocks(i);
	return (bs == 512 || bs == 4096) && max_blocks ? 0 : E_CORRUPT;
}

/* A readAt/writeAt message (same layout) for len bytes at disk byte off,
 * window byte woff. */
static int
build_at(struct msg *m, uint64_t off, uint32_t len, uint32_t woff)
{
	BlockDevice_readAt_Params_B p;
	m->wlen = 0;
	capnp_builder_init_framed(&m->b, m->p, m->cap);
	if (BlockDevice_readAt_Params_init_root(&m->b, &p) < 0)
		return E_TOOBIG;
	BlockDevice_readAt_Params_set_lba(p, off / bs);
	BlockDevice_readAt_Params_set_count(p, len / bs);
	BlockDevice_readAt_Params_set_offset(p, woff);
	return m->plen = capnp_builder_frame(&m->b, m->p, m->cap);
}

/* The message for one call (read or write of len bytes at byte offset off)
 * in m->p: a write message of this length is reused with the new lba. */
static int
build(struct msg *m, uint64_t off, uint32_t len, bool write)
{
	uint8_t *at;
	if (write && m->wlen == len) {
		BlockDevice_writeBlocks_Params_set_lba(m->wp, off / bs);
		return m->plen;
	}
	m->wlen = 0;
	capnp_builder_init_framed(&m->b, m->p, m->cap);
	if (write) {
		if (BlockDevice_writeBlocks_Params_init_root(&m->b, &m->wp) < 0 ||
		    capnp_bptr_alloc_bytes(BlockDevice_writeBlocks_Params_ptr_data(m->wp), len,
		    &at) < 0)
			return E_TOOBIG;
		BlockDevice_writeBlocks_Params_set_lba(m->wp, off / bs);
		memcpy(at, wdata, len);         /* once per slot and row */
	} else {
		BlockDevice_readBlocks_Params_B p;
		if (BlockDevice_readBlocks_Params_init_root(&m->b, &p) < 0)
			return E_TOOBIG;
		BlockDevice_readBlocks_Params_set_lba(p, off / bs);
		BlockDevice_readBlocks_Params_set_count(p, len / bs);
	}
	if ((m->plen = capnp_builder_frame(&m->b, m->p, m->cap)) > 0 && write)
		m->wlen = len;
	return m->plen;
}

/* Submit one call of m tagged tag (window path: its data at window byte woff). */
static int
submit(struct msg *m, uint64_t off, uint32_t len, bool write, uint64_t tag, uint32_t woff)
{
	int n = via_window ? build_at(m, off, len, woff) : build(m, off, len, write);
	if (n < 0)
		return n;
	uint16_t method = via_window ?
	    (write ? BlockDevice_writeAt_ORDINAL : BlockDevice_readAt_ORDINAL) :
	    (write ? BlockDevice_writeBlocks_ORDINAL : BlockDevice_readBlocks_ORDINAL);
	struct ring_sqe s = { .opcode = RING_OP_CALL, .method = method,
		.cap = via_window ? session : disk, .user_data = tag, .params = (uint64_t)m->p,
		.params_len = (uint32_t)n, .result = (uint64_t)m->r, .result_len = m->cap };
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

/* The bytes one call of a row carries: the device's maxTransferBlocks, at
 * most what a message carries. */
static uint32_t
per_call(void)
{
	uint64_t b = (uint64_t)max_blocks * bs;
	return (uint32_t)(b < MSG_DATA ? b : MSG_DATA / bs * bs);
}

/* Rows of one call per I/O: up to `out` I/Os in flight, refilled as they complete. */
static void
run_small(const struct row *w, uint32_t out, uint64_t until, uint64_t count_from,
    struct tally *t)
{
	uint32_t busy = 0;
	uint64_t seq = 0;
	struct ring_cqe c;
	for (uint32_t i = 0; i < out; i++) {
		slots[i].start_ns = captime_now_ns(&tm);
		if ((t->err = submit(&slots[i].m, pick(w, &seq), w->size, w->write, i,
		    i * w->size)) < 0)
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
		if ((e = submit(&slots[i].m, pick(w, &seq), w->size, w->write, i,
		    i * w->size)) < 0) {
			t->err = e;
			continue;
		}
		busy++;
	}
}

/* 128 KiB rows at QD1: one call per I/O when the device takes 128 KiB in
 * one; else ceil(size / per call) calls issued together (as a block layer
 * splits one request), the I/O complete when its last call is. */
static void
run_big(const struct row *w, uint64_t until, uint64_t count_from, struct tally *t)
{
	uint32_t per = per_call();
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
			int e = submit(&bigm[n], off + done, len, w->write, 1000 + n, done);
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
			int e = answer(&c, bigm[c.user_data - 1000].r);
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
	uint32_t calls = (w->size + per_call() - 1) / per_call();
	uint64_t t0 = captime_now_ns(&tm), from = t0 + WARMUP_NS;
	uint64_t until = from + seconds * 1000000000ull;
	for (uint32_t i = 0; i < MAX_OUT; i++)
		slots[i].m.wlen = 0;
	for (uint32_t i = 0; i < BIG_CALLS; i++)
		bigm[i].wlen = 0;
	if (w->size > SMALL_BUF || calls > 1)
		run_big(w, until, from, &t);
	else
		run_small(w, out, until, from, &t);
	if (t.err) {
		rt_print("capos: bench-blk dev=%s job=%s qd=%u path=%s error=call-failed-%d", dev,
		    w->job, w->qd, via_window ? "window" : "message", t.err);
		return;
	}
	uint64_t iops_x100 = t.ios * 100 / seconds;
	uint64_t bps = t.ios * w->size / seconds;       /* bytes per second */
	uint64_t lat_ns = t.ios ? t.lat_ns / t.ios : 0;
	rt_print("capos: bench-blk dev=%s job=%s qd=%u path=%s iops=%lu.%02lu mbps=%lu.%02lu "
	    "lat_us=%lu.%lu outstanding=%u calls_per_io=%u ios=%lu seconds=%u", dev, w->job,
	    w->qd, via_window ? "window" : "message",
	    (unsigned long)(iops_x100 / 100), (unsigned long)(iops_x100 % 100),
	    (unsigned long)(bps / 1000000), (unsigned long)(bps % 1000000 / 10000),
	    (unsigned long)(lat_ns / 1000), (unsigned long)(lat_ns % 1000 / 100),
	    w->size > SMALL_BUF ? 1 : out, calls, (unsigned long)t.ios, seconds);
}

/*
 * openWindow(WIN_BYTES) on the disk and map its memory: 0, or why not
 * (printed). The window's caps are checked by interface id before use.
 */
static int
open_window(void)
{
	static uint64_t p[8], r[64];
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	BlockWindowResult_R u;
	BlockDevice_openWindow_Params_B pb;
	capnp_builder_init_framed(&slots[0].m.b, p, sizeof p);
	if (BlockDevice_openWindow_Params_init_root(&slots[0].m.b, &pb) < 0)
		return E_TOOBIG;
	BlockDevice_openWindow_Params_set_bytes(pb, WIN_BYTES);
	int n = capnp_builder_frame(&slots[0].m.b, p, sizeof p), e;
	if (n < 0 || (e = rt_call(disk, BlockDevice_openWindow_ORDINAL, p, (uint32_t)n, r, sizeof r,
	    NULL, 0, &c)) < 0) {
		rt_print("capos: bench-blk window unavailable reason=call-failed-%d",
		    n < 0 ? n : c.detail);
		return E_IO;
	}
	if (rt_msg_read(&m, r, c.len, &root) < 0 ||
	    BlockDevice_openWindow_Results_get_result((BlockDevice_openWindow_Results_R){ root },
	    &u) < 0)
		return E_CORRUPT;
	if (BlockWindowResult_which(u) != BlockWindowResult_which_window) {
		rt_print("capos: bench-blk window unavailable reason=refused-%u",
		    BlockWindowResult_get_error(u));
		return E_NOENT;
	}
	if (c.ncaps != 2 || c.iids[0] != DmaWindow_TYPE_ID || c.iids[1] != BlockDevice_TYPE_ID) {
		rt_print("capos: bench-blk window unavailable reason=bad-caps n=%u", c.ncaps);
		return E_CORRUPT;
	}
	winmem = c.caps[0];
	session = c.caps[1];
	static uint64_t mr[32];
	MapResult_R mp;
	UserMapping_R um;
	if (rt_call(winmem, DmaWindow_map_ORDINAL, NULL, 0, mr, sizeof mr, NULL, 0, &c) < 0 ||
	    rt_msg_read(&m, mr, c.len, &root) < 0 ||
	    DmaWindow_map_Results_get_result((DmaWindow_map_Results_R){ root }, &mp) < 0 ||
	    MapResult_which(mp) != MapResult_which_mapping || MapResult_get_mapping(mp, &um) < 0 ||
	    UserMapping_get_length(um) < WIN_BYTES) {
		rt_print("capos: bench-blk window unavailable reason=map-failed");
		return E_IO;
	}
	win = (uint8_t *)UserMapping_get_address(um);
	return 0;
}

/* A decimal of 1..max digits at *p; advances *p. */
static int
number(const char **p, uint32_t max, uint32_t *out)
{
	uint32_t v = 0, n = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
		v = v * 10 + (uint32_t)(**p - '0');
		if (v > max)
			return E_RANGE;
	}
	*out = v;
	return n ? 0 : E_INVAL;
}

/* bench-blk-DEV[.sSECONDS][.jROWS] (the header); 0 or E_INVAL. */
static int
parse_name(const char *me)
{
	const char *p = me;
	size_t n = 0;
	uint32_t v;
	if (!memcmp(p, "bench-blk-", 10))
		p += 10;
	while (p[n] && p[n] != '.')
		n++;
	if (n == 0 || n >= sizeof dev)
		return E_INVAL;
	memcpy(dev, p, n);
	dev[n] = 0;
	p += n;
	while (*p == '.') {
		p++;
		if (*p == 's') {
			p++;
			if (number(&p, MAX_SECONDS, &v) < 0 || v == 0)
				return E_INVAL;
			seconds = v;
		} else if (*p == 'j') {
			row_mask = 0;
			for (p++; *p >= '1' && *p <= '0' + (int)(sizeof rows / sizeof rows[0]); p++)
				row_mask |= 1u << (*p - '1');
			if (!row_mask)
				return E_INVAL;
		} else {
			return E_INVAL;
		}
	}
	return *p ? E_INVAL : 0;
}

int
main(void)
{
	if (parse_name(rt_boot->name) < 0) {
		rt_print("capos: bench-blk unavailable reason=bad-parameters name=%s", rt_boot->name);
		return 1;
	}
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
	for (uint32_t i = 0; i < MAX_OUT; i++)
		slots[i].m = (struct msg){ .p = slots[i].p, .r = slots[i].r, .cap = sizeof slots[i].p };
	for (uint32_t i = 0; i < BIG_CALLS; i++)
		bigm[i] = (struct msg){ .p = bigp[i], .r = bigr[i], .cap = sizeof bigp[i] };
	rt_print("capos: bench-blk start dev=%s bs=%u blocks=%lu max_transfer=%u seconds=%u "
	    "tsc_khz=%lu", dev, bs, (unsigned long)nblocks, max_blocks, seconds,
	    (unsigned long)tm.tsc_khz);
	bool have_window = open_window() == 0;
	if (have_window) {
		for (uint32_t i = 0; i < WIN_BYTES; i++)        /* what the window rows write */
			win[i] = wdata[i % sizeof wdata];
		rt_print("capos: bench-blk window bytes=%u", WIN_BYTES);
	}
	for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (!(row_mask & 1u << i))
			continue;
		/* Both paths back to back; which goes first alternates by row, so neither
		 * always gets the colder host (page cache, QEMU's translations). */
		for (unsigned k = 0; k < 2; k++) {
			via_window = (k == i % 2) && have_window;
			if (via_window || k != i % 2)
				run_row(&rows[i]);
		}
	}
	rt_print("capos: bench-blk done");
	return 0;
}
