/*
 * BlockDevice requests as capnp messages (blkproc.h): decode, check through
 * blkserv, call the driver, encode. No runtime here: the serving loop is in
 * blkproc_serve.c, so this file is host-tested (tests/host/test_blkproc.c)
 * and fuzzed (tests/fuzz/fuzz_blkproc.c).
 *
 * Answers are built in place: the capnp segment starts 8 bytes into the
 * caller's result buffer and only the 8-byte segment table is written at
 * the end, so nothing is copied to frame them. A read's Data field is
 * allocated first and left unwritten; the driver reads straight into it
 * (BLKPROC_READ_DATA_OFF into the result buffer). On a failure the message
 * is built again with the error member only. The result buffer may be the
 * params buffer itself: a request is decoded before its answer is written,
 * and a pending write's answer is only built once the driver is done.
 */
#include "blkproc.h"

#include "base/err.h"
#include "base/mem.h"
#include "capnp/capnp.h"
#include "schema/block.capnp.h"
#include "schema/exception.capnp.h"

/* The synchronous path's request: one result message at a time. */
static struct blkproc_req sync_req;

/* The answer's single segment is res + 8 up to the capacity *rlen
 * (capnp_builder_init_framed); an unaligned or tiny res fails every set. */
static struct capnp_builder *
msg_begin(struct blkproc_req *q, void *res, uint32_t rlen)
{
	capnp_builder_init_framed(&q->bld, res, rlen);
	return &q->bld;
}

static int
msg_end(struct blkproc_req *q, void *res, uint32_t *rlen)
{
	int n = capnp_builder_frame(&q->bld, res, *rlen);
	if (n < 0)
		return n;
	*rlen = (uint32_t)n;
	return 0;
}

void
blkproc_prepare(struct blkserv *srv)
{
	blkproc_clamp(srv, BLKPROC_MAX_DATA);
}

void
blkproc_clamp(struct blkserv *srv, uint32_t bytes)
{
	uint32_t fit = (bytes < BLKPROC_MAX_DATA ? bytes : BLKPROC_MAX_DATA) / srv->info.block_size;
	if (srv->info.max_transfer_blocks > fit)
		srv->info.max_transfer_blocks = fit ? fit : 1;
}

static int
read_error(struct blkproc_req *q, uint16_t err, void *res, uint32_t *rlen)
{
	BlockDevice_readBlocks_Results_B r;
	BlockReadResult_B u;
	if (BlockDevice_readBlocks_Results_init_root(msg_begin(q, res, *rlen), &r) < 0 ||
	    BlockDevice_readBlocks_Results_init_result(r, &u) < 0)
		return E_TOOBIG;
	BlockReadResult_set_error(u, err);
	return msg_end(q, res, rlen);
}

static int
do_read(struct blkproc_req *q, struct blkserv *srv, const struct capnp_struct *root, void *res,
    uint32_t *rlen)
{
	BlockDevice_readBlocks_Params_R p = { *root };
	BlockDevice_readBlocks_Results_B r;
	BlockReadResult_B u;
	uint8_t *data;
	/* decoded before the answer is written over the params */
	uint64_t lba = BlockDevice_readBlocks_Params_get_lba(p);
	uint32_t count = BlockDevice_readBlocks_Params_get_count(p);
	uint64_t bytes = (uint64_t)count * srv->info.block_size;

	/* blkserv checks again; this only keeps the allocation bounded. */
	if (count == 0 || count > srv->info.max_transfer_blocks)
		return read_error(q, BLK_ERR_BAD_LENGTH, res, rlen);
	if (BlockDevice_readBlocks_Results_init_root(msg_begin(q, res, *rlen), &r) < 0 ||
	    BlockDevice_readBlocks_Results_init_result(r, &u) < 0 ||
	    capnp_bptr_alloc_bytes(BlockReadResult_ptr_data(u), (size_t)bytes, &data) < 0)
		return read_error(q, BLK_ERR_BAD_LENGTH, res, rlen);
	int e = blkserv_read_blocks(srv, lba, count, data, bytes);
	if (e < 0)
		return read_error(q, (uint16_t)blkserv_block_error(e), res, rlen);
	if (q->io.op)
		return 0;       /* pending: the message is written when the data is in */
	return msg_end(q, res, rlen);
}

/* A BlockResult answer: ok (err < 0), or the BlockError ordinal err. writeBlocks,
 * flush, readAt and writeAt results share one layout (a BlockResult in pointer 0). */
static int
block_answer(struct blkproc_req *q, int err, void *res, uint32_t *rlen)
{
	BlockDevice_writeBlocks_Results_B r;
	BlockResult_B u;
	if (BlockDevice_writeBlocks_Results_init_root(msg_begin(q, res, *rlen), &r) < 0 ||
	    BlockDevice_writeBlocks_Results_init_result(r, &u) < 0)
		return E_TOOBIG;
	if (err >= 0)
		BlockResult_set_error(u, (uint16_t)err);
	else
		BlockResult_set_ok(u);
	return msg_end(q, res, rlen);
}

static int
block_result(struct blkproc_req *q, int e, void *res, uint32_t *rlen)
{
	if (e >= 0 && q->io.op)
		return 0;       /* pending: the result is built when the driver is done */
	return block_answer(q, e < 0 ? (int)blkserv_block_error(e) : -1, res, rlen);
}

static int
do_write(struct blkproc_req *q, struct blkserv *srv, const struct capnp_struct *root, void *res,
    uint32_t *rlen)
{
	BlockDevice_writeBlocks_Params_R p = { *root };
	struct capnp_data d = { 0 };
	if (BlockDevice_writeBlocks_Params_get_data(p, &d) < 0 || d.len == 0)
		return block_result(q, E_INVAL, res, rlen);
	return block_result(q, blkserv_write_blocks(srv, BlockDevice_writeBlocks_Params_get_lba(p),
	    d.ptr, d.len), res, rlen);
}

/* ---- windows ---- */

int
blkproc_window_buf(const struct blkproc_area *a, uint32_t badge, uint8_t ex, uint32_t offset,
    uint64_t bytes, void **buf)
{
	uint32_t i = (badge & 0xffu) - 1;

	if (!a || !a->bytes || (badge & 0xffu) == 0 || i >= BLKPROC_WINDOWS)
		return E_NOENT;
	const struct blkproc_window *w = &a->w[i];
	if (!w->live || w->gen != (badge >> 8) || w->ex != ex)
		return E_NOENT;
	if (offset > w->bytes || bytes > w->bytes - offset)
		return E_RANGE;
	*buf = a->cpu + w->off + offset;
	return 0;
}

bool
blkproc_window_busy(const struct blkproc_area *a, unsigned i, const struct blkproc_slot *slot,
    unsigned nslots)
{
	const struct blkproc_window *w = &a->w[i];
	uintptr_t lo = (uintptr_t)a->cpu + w->off, hi = lo + w->bytes;

	/* begin sets io.op for a request handed to the driver (or waiting for room
	 * there); finish clears it when the request is answered */
	for (unsigned k = 0; k < nslots; k++) {
		uintptr_t b = (uintptr_t)slot[k].req.io.buf;
		if (slot[k].req.io.op != BLKPROC_IO_NONE && b >= lo && b < hi)
			return true;
	}
	return false;
}

uint32_t
blkproc_window_badge(const struct blkproc_area *a, unsigned i)
{
	return (uint32_t)(i + 1) | (uint32_t)a->w[i].gen << 8;
}

/* Does [off, off + bytes) meet a live window? */
static bool
window_overlaps(const struct blkproc_area *a, uint32_t off, uint32_t bytes)
{
	for (unsigned i = 0; i < BLKPROC_WINDOWS; i++) {
		const struct blkproc_window *w = &a->w[i];
		if (w->live && off < w->off + w->bytes && w->off < off + bytes)
			return true;
	}
	return false;
}

int
blkproc_window_place(const struct blkproc_area *a, uint32_t bytes, unsigned *slot, uint32_t *off)
{
	unsigned s = BLKPROC_WINDOWS;

	if (!a || bytes == 0 || bytes % 4096u || bytes > a->bytes)
		return E_INVAL;
	for (unsigned i = 0; i < BLKPROC_WINDOWS && s == BLKPROC_WINDOWS; i++)
		if (!a->w[i].live)
			s = i;
	if (s == BLKPROC_WINDOWS)
		return E_NOSPC;
	/* First fit by address: the lowest of the area's start and the ends of the
	 * live windows where the window fits. */
	uint32_t best = UINT32_MAX;
	for (unsigned i = 0; i <= BLKPROC_WINDOWS; i++) {
		if (i < BLKPROC_WINDOWS && !a->w[i].live)
			continue;
		uint32_t at = i == BLKPROC_WINDOWS ? 0 : a->w[i].off + a->w[i].bytes;
		if (at > a->bytes || bytes > a->bytes - at || window_overlaps(a, at, bytes))
			continue;
		if (at < best)
			best = at;
	}
	if (best == UINT32_MAX)
		return E_NOSPC;
	*slot = s;
	*off = best;
	return 0;
}

int
blkproc_window_answer(struct blkproc_req *q, int err, uint32_t bytes, void *res, uint32_t *rlen)
{
	BlockDevice_openWindow_Results_B r;
	BlockWindowResult_B u;
	BlockWindow_B w;

	if (BlockDevice_openWindow_Results_init_root(msg_begin(q, res, *rlen), &r) < 0 ||
	    BlockDevice_openWindow_Results_init_result(r, &u) < 0)
		return ExceptionType_failed + 1;
	if (err < 0) {
		BlockWindowResult_set_error(u, err == E_INVAL ? BLK_ERR_BAD_LENGTH : BLK_ERR_NO_WINDOW);
	} else {
		if (BlockWindowResult_init_window(u, &w) < 0)
			return ExceptionType_failed + 1;
		BlockWindow_set_memory(w, 0);
		BlockWindow_set_session(w, 1);
		BlockWindow_set_bytes(w, bytes);
	}
	return msg_end(q, res, rlen) < 0 ? ExceptionType_failed + 1 : 0;
}

/* readAt / writeAt: the data is in the session's window. */
static int
do_at(struct blkproc_req *q, struct blkserv *srv, const struct capnp_struct *root, bool write,
    void *res, uint32_t *rlen)
{
	/* readAt and writeAt params share one layout (lba, count, offset) */
	BlockDevice_readAt_Params_R p = { *root };
	uint64_t lba = BlockDevice_readAt_Params_get_lba(p);
	uint32_t count = BlockDevice_readAt_Params_get_count(p);
	uint64_t bytes = (uint64_t)count * srv->info.block_size;
	void *buf = NULL;
	int e;

	if (count == 0 || count > srv->info.max_transfer_blocks)
		return block_result(q, E_INVAL, res, rlen);
	e = blkproc_window_buf(q->area, q->badge, q->ex, BlockDevice_readAt_Params_get_offset(p),
	    bytes, &buf);
	if (e == E_NOENT)
		return block_answer(q, BLK_ERR_NO_WINDOW, res, rlen);
	if (e < 0)
		return block_result(q, e, res, rlen);
	e = write ? blkserv_write_blocks(srv, lba, buf, (size_t)bytes) :
	    blkserv_read_blocks(srv, lba, count, buf, (size_t)bytes);
	return block_result(q, e, res, rlen);
}

static int
do_open_window(struct blkproc_req *q, const struct capnp_struct *root, void *res, uint32_t *rlen)
{
	BlockDevice_openWindow_Params_R p = { *root };
	uint64_t bytes = ((uint64_t)BlockDevice_openWindow_Params_get_bytes(p) + 4095u) & ~4095ull;

	if (!q->area || !q->area->bytes)
		return blkproc_window_answer(q, E_NOSPC, 0, res, rlen);
	if (bytes == 0 || bytes > q->area->bytes)
		return blkproc_window_answer(q, E_INVAL, 0, res, rlen);
	q->io.count = (uint32_t)bytes;
	return BLKPROC_OPEN_WINDOW;
}

static int
do_info(struct blkproc_req *q, struct blkserv *srv, void *res, uint32_t *rlen)
{
	BlockDevice_info_Results_B r;
	BlockInfo_B i;
	struct blkserv_info in;
	blkserv_get_info(srv, &in);
	if (BlockDevice_info_Results_init_root(msg_begin(q, res, *rlen), &r) < 0 ||
	    BlockDevice_info_Results_init_info(r, &i) < 0)
		return E_TOOBIG;
	BlockInfo_set_blockSize(i, in.block_size);
	BlockInfo_set_blockCount(i, in.block_count);
	BlockInfo_set_maxTransferBlocks(i, in.max_transfer_blocks);
	BlockInfo_set_readOnly(i, in.read_only != 0);
	if (in.model && BlockInfo_set_model(i, in.model, strlen(in.model)) < 0)
		return E_TOOBIG;
	return msg_end(q, res, rlen);
}

static int
handle(struct blkproc_req *q, struct blkserv *srv, uint16_t method, const void *params,
    uint32_t plen, void *res, uint32_t *rlen)
{
	struct capnp_msg m;
	struct capnp_struct root;
	int e;

	if (method > BlockDevice_writeAt_ORDINAL)
		return ExceptionType_unimplemented + 1;
	/* An empty params buffer is a struct of defaults (methods without params). */
	if (plen == 0) {
		memset(&root, 0, sizeof root);
	} else if (capnp_msg_init(&m, params, plen) < 0 || capnp_msg_root(&m, &root) < 0) {
		return ExceptionType_invalidArgument + 1;
	}
	switch (method) {
	case BlockDevice_readBlocks_ORDINAL: e = do_read(q, srv, &root, res, rlen); break;
	case BlockDevice_writeBlocks_ORDINAL: e = do_write(q, srv, &root, res, rlen); break;
	case BlockDevice_info_ORDINAL: e = do_info(q, srv, res, rlen); break;
	case BlockDevice_flush_ORDINAL: e = block_result(q, blkserv_flush(srv), res, rlen); break;
	case BlockDevice_readAt_ORDINAL: e = do_at(q, srv, &root, false, res, rlen); break;
	case BlockDevice_writeAt_ORDINAL: e = do_at(q, srv, &root, true, res, rlen); break;
	default: return do_open_window(q, &root, res, rlen);
	}
	return e < 0 ? ExceptionType_failed + 1 : 0;
}

int
blkproc_handle(struct blkserv *srv, uint16_t method, const void *params, uint32_t plen,
    void *res, uint32_t *rlen)
{
	sync_req.io.op = BLKPROC_IO_NONE;
	sync_req.area = NULL;           /* no windows one request at a time */
	sync_req.method = method;
	return handle(&sync_req, srv, method, params, plen, res, rlen);
}

/*
 * The asynchronous path runs the very same checks: blkserv is called with a
 * copy of the server whose "driver" only records the request that passed
 * them (op, lba, count, buffer) instead of doing it.
 */
static int
cap_read(void *drv, uint64_t lba, uint32_t count, void *buf)
{
	struct blkproc_io *io = drv;
	*io = (struct blkproc_io){ .op = BLKPROC_IO_READ, .lba = lba, .count = count, .buf = buf };
	return 0;
}

static int
cap_write(void *drv, uint64_t lba, uint32_t count, const void *buf)
{
	struct blkproc_io *io = drv;
	*io = (struct blkproc_io){ .op = BLKPROC_IO_WRITE, .lba = lba, .count = count,
		.buf = (void *)(uintptr_t)buf };
	return 0;
}

static int
cap_flush(void *drv)
{
	struct blkproc_io *io = drv;
	*io = (struct blkproc_io){ .op = BLKPROC_IO_FLUSH };
	return 0;
}

static const struct blkserv_ops capture_ops = { cap_read, cap_write, cap_flush };

int
blkproc_begin(struct blkproc_req *q, struct blkserv *srv, uint16_t method, const void *params,
    uint32_t plen, void *res, uint32_t *rlen)
{
	struct blkserv shadow = *srv;
	int r;

	shadow.ops = &capture_ops;
	shadow.drv = &q->io;
	q->io = (struct blkproc_io){ 0 };
	q->method = method;
	r = handle(q, &shadow, method, params, plen, res, rlen);
	if (r)
		q->io.op = BLKPROC_IO_NONE;     /* an exception (or openWindow): nothing for the driver */
	return r == 0 && q->io.op ? BLKPROC_PENDING : r;
}

int
blkproc_finish(struct blkproc_req *q, int err, void *res, uint32_t *rlen)
{
	int e;

	if (q->io.op == BLKPROC_IO_NONE)
		return E_INVAL;
	/* a read's data is in the answer begun in res: the same buffer (readAt: in a window) */
	bool data = q->io.op == BLKPROC_IO_READ && q->method == BlockDevice_readBlocks_ORDINAL;
	if (data && q->bld.seg[0].base != (uint8_t *)res + 8) {
		q->io.op = BLKPROC_IO_NONE;
		return E_INVAL;
	}
	if (data)
		e = err < 0 ? read_error(q, (uint16_t)blkserv_block_error(err), res, rlen) :
		    msg_end(q, res, rlen);
	else {
		q->io.op = BLKPROC_IO_NONE;     /* build the result now, not "pending" */
		e = block_result(q, err < 0 ? err : 0, res, rlen);
	}
	q->io.op = BLKPROC_IO_NONE;
	return e < 0 ? ExceptionType_failed + 1 : 0;
}

int
blkproc_check_disk(struct blkserv *srv)
{
	static uint8_t sect[4096];
	const uint64_t pvd = 32768;     /* ISO 9660: system area 16 x 2048, then the PVD */
	uint32_t bs = srv->info.block_size;
	uint32_t count = bs >= 2048 ? 1 : 2048 / bs;

	if (pvd / bs + count > srv->info.block_count)
		return 0;               /* too small to carry one */
	int e = blkserv_read_blocks(srv, pvd / bs, count, sect, (size_t)count * bs);
	if (e < 0)
		return e;
	size_t n = strlen(BLKPROC_BOOT_VOLID);
	if (sect[0] == 1 && !memcmp(sect + 1, "CD001", 5) && sect[6] == 1 &&
	    !memcmp(sect + 40, BLKPROC_BOOT_VOLID, n))
		return E_PERM;
	return 0;
}
