/*
 * blk-client: a process holding only a BlockDevice grant (`disk`) and the
 * Console. It checks a disk served by a driver process (virtio-blk, NVMe)
 * through the BlockDevice interface alone. docs/drivers.md "blk-client".
 *
 * The pattern (also computed by tests/system/test_blk.py on the host image):
 * the little-endian 64-bit word at disk byte offset o (o % 8 == 0) is
 *     (o / 8) * 0x9E3779B97F4A7C15 ^ seed          (mod 2^64)
 * over the region [REGION_START, REGION_START + REGION_BYTES).
 *
 * Role by process name (prefix):
 *   blk-client   info, write the region, flush, read back and compare, then
 *                the bounds the server must refuse (outOfRange, badLength)
 *   blk-writer   write the region and flush, read back and compare
 *   blk-reader   read the region and compare (a later boot: persistence)
 *   blk-hammer   write/read/compare rounds until the driver goes away, then
 *                keep retrying: reports the disconnect and, when a restarted
 *                driver serves the disk again, that the data is still there
 * blk-client also runs `qd16-mixed` after the bounds: QD_CALLS calls in flight
 * at once, 4 KiB writes of the region mixed with reads of every piece whose
 * write is done (compared), first with other data, then with the pattern
 * again (so the pattern on the host image after exit came from this phase).
 * Markers: `blk-client: NAME CHECK result=pass|fail k=v ...` and
 * `blk-client: NAME done failures=N`.
 */
#include "capos.h"
#include "schema/block.capnp.h"
#include "schema/device.capnp.h"
#include "schema/exception.capnp.h"

#define REGION_START (1ull << 20)
#define REGION_BYTES (256u * 1024u)
#define SEED 0xC0FFEE0000000001ull
#define CHUNK (128u * 1024u)            /* the most one message carries (BLKPROC_MAX_DATA) */

static uint64_t pbuf[(CHUNK + 4096) / 8], rbuf[(CHUNK + 4096) / 8];
static uint8_t data[REGION_BYTES], back[REGION_BYTES];
static capid_t disk;
static uint32_t bs, max_blocks;
static uint64_t nblocks;
static int failures;

#define CHECK(tname, cond, fmt, ...) do {					\
	bool ok_ = (cond);							\
	if (!ok_)								\
		failures++;							\
	rt_print("blk-client: %s %s result=%s " fmt, rt_boot->name, tname,	\
		 ok_ ? "pass" : "fail", ##__VA_ARGS__);				\
} while (0)

/* Result codes of one BlockDevice call: >= 0 ok, BLKC_ERR(e) for BlockError
 * e, or a negative transport code (E_DISCONNECTED when the server died). */
#define BLKC_ERR(e) (1000 + (int)(e))

/* The result message of a finished call r (its completion c) in rb. */
static int
decode(int r, const struct ring_cqe *c, void *rb, struct capnp_msg *m, struct capnp_struct *root)
{
	if (r == RING_E_EXCEPTION)
		return rt_exception_type(rb, c->len) == ExceptionType_disconnected ?
		    E_DISCONNECTED : E_IO;
	if (r < 0)
		return c->detail < 0 ? c->detail : E_IO;
	return rt_msg_read(m, rb, c->len, root) < 0 ? E_CORRUPT : 0;
}

/* pbuf's message, built in place (no framing copy): begin, set, end. */
static struct capnp_builder mb;

static struct capnp_builder *
msg_begin(void)
{
	capnp_builder_init_framed(&mb, pbuf, sizeof pbuf);
	return &mb;
}

static int
msg_end(void)
{
	return capnp_builder_frame(&mb, pbuf, sizeof pbuf);
}

static int
call(uint16_t method, int plen, struct capnp_struct *root)
{
	static struct capnp_msg m;
	struct ring_cqe c;
	if (plen < 0)
		return plen;
	int r = rt_call(disk, method, pbuf, (uint32_t)plen, rbuf, sizeof rbuf, NULL, 0, &c);
	return decode(r, &c, rbuf, &m, root);
}

static int
bd_info(void)
{
	struct capnp_struct root;
	BlockInfo_R i;
	BlockDevice_info_Params_B p;
	BlockDevice_info_Params_init_root(msg_begin(), &p);
	int e = call(BlockDevice_info_ORDINAL, msg_end(), &root);
	if (e < 0)
		return e;
	if (BlockDevice_info_Results_get_info((BlockDevice_info_Results_R){ root }, &i) < 0)
		return E_CORRUPT;
	bs = BlockInfo_get_blockSize(i);
	nblocks = BlockInfo_get_blockCount(i);
	max_blocks = BlockInfo_get_maxTransferBlocks(i);
	return 0;
}

/* A readBlocks result: the data (count blocks) copied to out. */
static int
read_result(struct capnp_struct root, uint32_t count, void *out, size_t cap)
{
	BlockReadResult_R r;
	struct capnp_data d;
	if (BlockDevice_readBlocks_Results_get_result((BlockDevice_readBlocks_Results_R){ root },
	    &r) < 0)
		return E_CORRUPT;
	if (BlockReadResult_which(r) != BlockReadResult_which_data)
		return BLKC_ERR(BlockReadResult_get_error(r));
	if (BlockReadResult_get_data(r, &d) < 0 || d.len != (uint64_t)count * bs || d.len > cap)
		return E_CORRUPT;
	memcpy(out, d.ptr, d.len);
	return 0;
}

static int
bd_read(uint64_t lba, uint32_t count, void *out, size_t cap)
{
	struct capnp_struct root;
	BlockDevice_readBlocks_Params_B p;
	BlockDevice_readBlocks_Params_init_root(msg_begin(), &p);
	BlockDevice_readBlocks_Params_set_lba(p, lba);
	BlockDevice_readBlocks_Params_set_count(p, count);
	int e = call(BlockDevice_readBlocks_ORDINAL, msg_end(), &root);
	return e < 0 ? e : read_result(root, count, out, cap);
}

static int
block_result(struct capnp_struct *root)
{
	BlockResult_R r;
	/* writeBlocks and flush results share one layout */
	if (BlockDevice_writeBlocks_Results_get_result((BlockDevice_writeBlocks_Results_R){ *root },
	    &r) < 0)
		return E_CORRUPT;
	return BlockResult_which(r) == BlockResult_which_ok ? 0 : BLKC_ERR(BlockResult_get_error(r));
}

static int
bd_write(uint64_t lba, const void *buf, size_t len)
{
	struct capnp_struct root;
	BlockDevice_writeBlocks_Params_B p;
	BlockDevice_writeBlocks_Params_init_root(msg_begin(), &p);
	BlockDevice_writeBlocks_Params_set_lba(p, lba);
	if (BlockDevice_writeBlocks_Params_set_data(p, buf, len) < 0)
		return E_TOOBIG;
	int e = call(BlockDevice_writeBlocks_ORDINAL, msg_end(), &root);
	return e < 0 ? e : block_result(&root);
}

static int
bd_flush(void)
{
	struct capnp_struct root;
	BlockDevice_flush_Params_B p;
	BlockDevice_flush_Params_init_root(msg_begin(), &p);
	int e = call(BlockDevice_flush_ORDINAL, msg_end(), &root);
	return e < 0 ? e : block_result(&root);
}

static void
fill(uint64_t seed)
{
	for (uint32_t k = 0; k < REGION_BYTES; k += 8) {
		uint64_t v = ((REGION_START + k) / 8) * 0x9E3779B97F4A7C15ull ^ seed;
		memcpy(data + k, &v, 8);
	}
}

/* Whole region in message-sized pieces; returns the first failure. */
static int
region_io(bool write, uint32_t *calls)
{
	uint32_t per = max_blocks * bs < CHUNK ? max_blocks * bs : CHUNK / bs * bs;
	*calls = 0;
	for (uint32_t off = 0; off < REGION_BYTES; off += per) {
		uint32_t len = REGION_BYTES - off < per ? REGION_BYTES - off : per;
		uint64_t lba = (REGION_START + off) / bs;
		int e = write ? bd_write(lba, data + off, len) : bd_read(lba, len / bs, back + off, len);
		(*calls)++;
		if (e)
			return e;
	}
	return 0;
}

static int
compare(void)
{
	for (uint32_t k = 0; k < REGION_BYTES; k++)
		if (data[k] != back[k])
			return (int)k;
	return -1;
}

static int
write_region(void)
{
	uint32_t calls;
	int e = region_io(true, &calls);
	CHECK("write", e == 0, "err=%d calls=%u bytes=%u lba=%lu", e, calls, REGION_BYTES,
	    (unsigned long)(REGION_START / bs));
	int f = bd_flush();
	CHECK("flush", f == 0, "err=%d", f);
	return e ? e : f;
}

static int
verify_region(void)
{
	uint32_t calls;
	memset(back, 0, sizeof back);
	int e = region_io(false, &calls);
	int bad = e ? -2 : compare();
	CHECK("read-compare", e == 0 && bad < 0, "err=%d calls=%u first_mismatch=%d", e, calls, bad);
	return e ? e : bad >= 0 ? E_CORRUPT : 0;
}

/* What the server must refuse, each with its BlockError. */
static void
bounds(void)
{
	static uint8_t small[8192];
	int e = bd_read(nblocks, 1, small, sizeof small);
	CHECK("read-past-end", e == BLKC_ERR(BlockError_outOfRange), "err=%d", e);
	e = bd_read(nblocks - 1, 2, small, sizeof small);
	CHECK("read-straddling-end", e == BLKC_ERR(BlockError_outOfRange), "err=%d", e);
	e = bd_read(~0ull, 1, small, sizeof small);
	CHECK("read-lba-wrap", e == BLKC_ERR(BlockError_outOfRange), "err=%d", e);
	e = bd_read(0, 0, small, sizeof small);
	CHECK("read-zero-count", e == BLKC_ERR(BlockError_badLength), "err=%d", e);
	e = bd_read(0, max_blocks + 1, small, sizeof small);
	CHECK("read-over-max-transfer", e == BLKC_ERR(BlockError_badLength), "err=%d max=%u", e,
	    max_blocks);
	e = bd_write(0, small, 100);
	CHECK("write-partial-block", e == BLKC_ERR(BlockError_badLength), "err=%d", e);
	e = bd_write(nblocks, small, bs);
	CHECK("write-past-end", e == BLKC_ERR(BlockError_outOfRange), "err=%d", e);
	struct ring_cqe c;
	int r = rt_call(disk, 9, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	int t = r == RING_E_EXCEPTION ? rt_exception_type(rbuf, c.len) : -1;
	CHECK("unknown-method", t == ExceptionType_unimplemented, "result=%d exception=%d", r, t);
	/* A message within RING_MAX_MSG but larger than the server's receive
	 * buffer (one BlockDevice message): the kernel refuses to deliver it
	 * (E_TOOBIG), the server's receive stays posted and it serves on. */
	static uint64_t huge[(CHUNK + 64u * 1024u) / 8];
	r = rt_call(disk, BlockDevice_writeBlocks_ORDINAL, huge, sizeof huge, rbuf, sizeof rbuf,
	    NULL, 0, &c);
	e = bd_flush();
	CHECK("write-over-message", r == RING_E_INVOKE_FAILED && c.detail == E_TOOBIG && e == 0,
	    "call=%d detail=%d bytes=%u then-flush=%d", r, c.detail, (unsigned)sizeof huge, e);
}

/*
 * With an `audit` grant (HardwareAuditLog): after the driver died, its
 * teardown must be in the audit log: count teardown, release, dmaFree and
 * interruptDrop events over the whole log (cursorable snapshots).
 */
static void
audit_check(void)
{
	capid_t log = rt_cap("audit", HardwareAuditLog_TYPE_ID);
	uint64_t cursor = 0;
	uint32_t total = 0, teardown = 0, release = 0, dma_free = 0, irq_drop = 0;
	if (!log)
		return;
	for (int round = 0; round < 256; round++) {
		struct capnp_msg m;
		struct capnp_struct root;
		struct ring_cqe c;
		AuditSnapshot_R snap;
		struct capnp_list l;
		HardwareAuditLog_snapshot_Params_B p;
		HardwareAuditLog_snapshot_Params_init_root(msg_begin(), &p);
		HardwareAuditLog_snapshot_Params_set_cursor(p, cursor);
		HardwareAuditLog_snapshot_Params_set_maxEntries(p, 32);
		int n = msg_end();
		if (n < 0 || rt_call(log, HardwareAuditLog_snapshot_ORDINAL, pbuf, (uint32_t)n, rbuf,
		    sizeof rbuf, NULL, 0, &c) < 0 || rt_msg_read(&m, rbuf, c.len, &root) < 0 ||
		    capnp_ptr_struct(capnp_struct_ptr(&root, 0), &snap.s) < 0 ||
		    AuditSnapshot_get_entries(snap, &l) < 0)
			break;
		for (uint32_t i = 0; i < l.count; i++) {
			AuditEntry_R e;
			if (AuditEntry_list_get(&l, i, &e) < 0)
				continue;
			uint16_t ev = AuditEntry_get_event(e);
			teardown += ev == AuditEvent_teardown;
			release += ev == AuditEvent_release;
			dma_free += ev == AuditEvent_dmaFree;
			irq_drop += ev == AuditEvent_interruptDrop;
		}
		total += l.count;
		uint64_t next = AuditSnapshot_get_nextCursor(snap);
		if (l.count == 0 || next == cursor)
			break;
		cursor = next;
	}
	CHECK("audit-teardown", teardown > 0, "entries=%u teardown=%u release=%u dma_free=%u "
	    "irq_drop=%u", total, teardown, release, dma_free, irq_drop);
}

/* Rounds until the server goes away; then retry until it serves again. */
static void
hammer(void)
{
	uint32_t calls, round = 0;
	int e = 0;
	for (; round < 100000; round++) {
		fill(SEED + round);
		if ((e = region_io(true, &calls)) || (e = bd_flush()) || (e = region_io(false, &calls)))
			break;
		if (compare() >= 0) {
			e = E_CORRUPT;
			break;
		}
		if (round == 0)
			rt_print("blk-client: %s hammering", rt_boot->name);
	}
	CHECK("driver-gone", e == E_DISCONNECTED, "err=%d rounds=%u", e, round);
	if (e != E_DISCONNECTED)
		return;
	/* The restarted driver (restart: onFailure) serves the same endpoint again:
	 * calls in between fail with disconnected, none hangs. */
	for (int tries = 0; tries < 2000; tries++) {
		memset(back, 0, sizeof back);
		e = bd_info();
		if (e == 0) {
			/* the last round's data may be half written; write one and read it back */
			fill(SEED);
			if ((e = region_io(true, &calls)) == 0 && (e = bd_flush()) == 0 &&
			    (e = region_io(false, &calls)) == 0)
				e = compare() >= 0 ? E_CORRUPT : 0;
			CHECK("served-again", e == 0, "err=%d tries=%d", e, tries);
			audit_check();
			return;
		}
		if (e != E_DISCONNECTED && e != E_AGAIN)
			break;
		sys_cap_enter(0, 0);
	}
	CHECK("served-again", false, "err=%d", e);
}

/* ---- queue depth 16: calls in flight together ---- */

#define QD_CALLS 16u            /* RING_MAX_QUEUED: the endpoint's bound */
#define QD_PIECE 4096u
#define QD_PIECES (REGION_BYTES / QD_PIECE)

static struct qd_slot {
	uint64_t p[(QD_PIECE + 512) / 8], r[(QD_PIECE + 512) / 8];
	uint32_t piece;
	bool write, busy;
} qd[QD_CALLS];

static int
qd_submit(struct qd_slot *q, uint32_t tag, uint32_t piece, bool write)
{
	uint64_t lba = (REGION_START + (uint64_t)piece * QD_PIECE) / bs;
	if (write) {
		BlockDevice_writeBlocks_Params_B p;
		BlockDevice_writeBlocks_Params_init_root(rt_msg_begin(), &p);
		BlockDevice_writeBlocks_Params_set_lba(p, lba);
		BlockDevice_writeBlocks_Params_set_data(p, data + piece * QD_PIECE, QD_PIECE);
	} else {
		BlockDevice_readBlocks_Params_B p;
		BlockDevice_readBlocks_Params_init_root(rt_msg_begin(), &p);
		BlockDevice_readBlocks_Params_set_lba(p, lba);
		BlockDevice_readBlocks_Params_set_count(p, QD_PIECE / bs);
	}
	int n = rt_msg_end(q->p, sizeof q->p);
	if (n < 0)
		return n;
	struct ring_sqe s = { .opcode = RING_OP_CALL, .cap = disk, .user_data = tag,
		.method = write ? BlockDevice_writeBlocks_ORDINAL : BlockDevice_readBlocks_ORDINAL,
		.params = (uint64_t)q->p, .params_len = (uint32_t)n, .result = (uint64_t)q->r,
		.result_len = sizeof q->r };
	q->piece = piece;
	q->write = write;
	q->busy = true;
	return rt_submit(&s);
}

/* One pass: write every piece of data[] and read each back once its write is
 * done, QD_CALLS calls in flight; the first failure, max_busy the most calls
 * seen outstanding at once. */
static int
qd_pass(uint32_t *max_busy)
{
	uint32_t next_w = 0, reads_owed = 0, verified = 0, busy = 0, k;
	uint32_t owed[QD_PIECES];
	struct ring_cqe c;
	int err = 0;

	while (verified < QD_PIECES && !err) {
		/* Fill every free slot: a read owed first, else the next write. */
		for (k = 0; k < QD_CALLS && !err; k++) {
			if (qd[k].busy || (!reads_owed && next_w == QD_PIECES))
				continue;
			err = reads_owed ? qd_submit(&qd[k], k, owed[--reads_owed], false) :
			    qd_submit(&qd[k], k, next_w++, true);
			if (!err && ++busy > *max_busy)
				*max_busy = busy;
		}
		sys_cap_enter(0, 0);
		if (!busy)
			break;
		while (!rt_reap(&c, true))
			;
		if (c.user_data >= QD_CALLS || !qd[c.user_data].busy)
			continue;
		struct qd_slot *q = &qd[c.user_data];
		struct capnp_msg m;
		struct capnp_struct root;
		q->busy = false;
		busy--;
		if ((err = decode(c.result < 0 ? c.result : 0, &c, q->r, &m, &root)) < 0)
			break;
		if (q->write) {
			if (!(err = block_result(&root)))
				owed[reads_owed++] = q->piece;
		} else if (!(err = read_result(root, QD_PIECE / bs, back + q->piece * QD_PIECE,
		    QD_PIECE))) {
			if (memcmp(back + q->piece * QD_PIECE, data + q->piece * QD_PIECE, QD_PIECE))
				err = E_CORRUPT;
			verified++;
		}
	}
	/* Collect what is still outstanding after a failure. */
	while (busy) {
		if (rt_reap(&c, true) && c.user_data < QD_CALLS && qd[c.user_data].busy) {
			qd[c.user_data].busy = false;
			busy--;
		}
	}
	return err;
}

static void
qd_mixed(void)
{
	uint32_t max_busy = 0;
	int e;
	if (QD_PIECE % bs || QD_PIECE / bs > max_blocks) {
		CHECK("qd16-mixed", false, "bs=%u max_transfer=%u", bs, max_blocks);
		return;
	}
	fill(SEED ^ 0x5555AAAA5555AAAAull);
	if ((e = qd_pass(&max_busy)) == 0) {
		fill(SEED);
		e = qd_pass(&max_busy);
	}
	if (e == 0)
		e = bd_flush();
	CHECK("qd16-mixed", e == 0 && max_busy == QD_CALLS, "err=%d max_in_flight=%u pieces=%u",
	    e, max_busy, 2 * QD_PIECES);
}

int
main(void)
{
	const char *me = rt_boot->name;
	disk = rt_cap("disk", BlockDevice_TYPE_ID);
	CHECK("disk-granted", disk != 0, "cap=%u", disk);
	if (!disk)
		return 1;
	int e = bd_info();
	CHECK("info", e == 0 && (bs == 512 || bs == 4096) && max_blocks > 0 &&
	    nblocks * bs >= REGION_START + REGION_BYTES, "err=%d bs=%u blocks=%lu max_transfer=%u",
	    e, bs, (unsigned long)nblocks, max_blocks);
	if (e || !bs || !max_blocks || nblocks * bs < REGION_START + REGION_BYTES)
		goto out;
	fill(SEED);
	if (!memcmp(me, "blk-hammer", 10)) {
		hammer();
	} else if (!memcmp(me, "blk-reader", 10)) {
		verify_region();
	} else {
		if (write_region() == 0)
			verify_region();
		if (!memcmp(me, "blk-client", 10)) {
			bounds();
			qd_mixed();
		}
	}
out:
	rt_print("blk-client: %s done failures=%d", me, failures);
	return failures ? 1 : 0;
}
