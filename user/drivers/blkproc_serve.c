/*
 * The BlockDevice serving loop of a driver process (blkproc.h): one RECV
 * posted per export, requests answered one at a time in the order they
 * arrive, each RETURN submitted together with the export's next RECV.
 *
 * The driver itself calls its device caps (rt_call) while it handles a
 * request; the runtime keeps completions that arrive meanwhile (another
 * export's RECV) and rt_reap hands them back here afterwards.
 *
 * Queue depth: blkproc_serve answers requests one at a time; a client may
 * have up to 16 calls queued on the endpoint (more are refused with
 * `overloaded`); they wait in the kernel and are served in order.
 * blkproc_serve_async keeps up to BLKPROC_ASYNC_MAX RECVs posted and the
 * requests they bring in flight at the driver at once, answering each as
 * the driver finishes it.
 */
#include "blkproc.h"

#include "capos.h"
#include "schema/block.capnp.h"
#include "schema/device.capnp.h"

#define TAG_RECV 0xB10C000000000000ull

/* Each export's message buffer when the driver gives none: the request is
 * received into it and answered from it (blkproc.h "Message buffers"). */
static uint8_t inbuf[BLKPROC_MAX_EXPORTS][BLKPROC_MSG_MAX] __attribute__((aligned(8)));

static capid_t
endpoint(const char *name)
{
	/* An export may leave its interface id unspecified (0). */
	capid_t c = rt_cap(name, BlockDevice_TYPE_ID);
	return c ? c : rt_cap(name, 0);
}

static int
post_recv_into(capid_t ep, uint64_t tag, void *buf)
{
	struct ring_sqe s = { .opcode = RING_OP_RECV, .cap = ep, .user_data = tag,
		.result = (uint64_t)buf, .result_len = BLKPROC_MSG_MAX, .xfer_count = 0 };
	return rt_submit(&s);
}


/* BlockDevice takes no caps: drop any that came anyway. */
static void
drop_caps(const struct ring_cqe *c)
{
	for (uint32_t k = 0; k < c->ncaps && k < RING_MAX_XFER; k++)
		rt_release(c->caps[k]);
}

/* RETURN buf[0..rlen) for token, with nx caps x (read when the RETURN is
 * consumed); r > 0: the exception r - 1 instead (no caps). The RETURN is
 * consumed before any RECV submitted after it, so buf may be posted again
 * at once. */
static int
give_back_caps(capid_t ep, uint32_t token, int r, uint8_t *buf, uint32_t rlen,
    const struct ring_xfer *x, uint32_t nx)
{
	bool exc = false;

	if (r > 0) {
		int n = rt_exception(buf, BLKPROC_MSG_MAX, (unsigned)(r - 1), "blk: refused");
		rlen = n < 0 ? 0 : (uint32_t)n;
		exc = true;
	}
	struct ring_sqe s = { .opcode = RING_OP_RETURN, .flags = exc ? RING_RET_EXCEPTION : 0,
		.cap = ep, .user_data = 0, .params = (uint64_t)buf, .params_len = rlen,
		.token = token, .xfer = exc ? 0 : (uint64_t)x, .xfer_count = exc ? 0 : nx };
	return rt_submit(&s);
}

static int
give_back(capid_t ep, uint32_t token, int r, uint8_t *buf, uint32_t rlen)
{
	return give_back_caps(ep, token, r, buf, rlen, NULL, 0);
}

/* Answer the request received in buf, in buf. */
static int
answer(capid_t ep, const struct ring_cqe *c, struct blkserv *srv, uint8_t *buf)
{
	uint32_t rlen = BLKPROC_MSG_MAX;

	drop_caps(c);
	int r = blkproc_handle(srv, c->method, buf, c->len, buf, &rlen);
	return give_back(ep, c->token, r, buf, rlen);
}

/* Look up and announce every export, its transfers clamped to bytes[i];
 * 0 or an error. */
static int
open_exports(struct blkproc_export *e, unsigned n, capid_t *ep, const uint32_t *bytes)
{
	if (n == 0 || n > BLKPROC_MAX_EXPORTS)
		return E_INVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!(ep[i] = endpoint(e[i].name))) {
			rt_print("blk: no endpoint %s", e[i].name);
			return E_NOENT;
		}
		blkproc_clamp(e[i].srv, bytes[i]);
		rt_print("blk: serving %s blocks=%lu bs=%u max_transfer=%u", e[i].name,
		    (unsigned long)e[i].srv->info.block_count, e[i].srv->info.block_size,
		    e[i].srv->info.max_transfer_blocks);
	}
	return 0;
}

int
blkproc_serve(struct blkproc_export *e, unsigned n)
{
	uint8_t *own[BLKPROC_MAX_EXPORTS];

	for (unsigned i = 0; i < BLKPROC_MAX_EXPORTS; i++)
		own[i] = inbuf[i];
	return blkproc_serve_bufs(e, n, own);
}

int
blkproc_serve_bufs(struct blkproc_export *e, unsigned n, uint8_t *const *buf)
{
	capid_t ep[BLKPROC_MAX_EXPORTS] = { 0 };
	uint32_t bytes[BLKPROC_MAX_EXPORTS];
	unsigned live = 0;
	struct ring_cqe c;
	int r;

	for (unsigned i = 0; i < n && i < BLKPROC_MAX_EXPORTS; i++) {
		if (!buf[i] || (uintptr_t)buf[i] & 7)
			return E_INVAL;
		bytes[i] = BLKPROC_MAX_DATA;
	}
	if ((r = open_exports(e, n, ep, bytes)) < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		if ((r = post_recv_into(ep[i], TAG_RECV | i, buf[i])) < 0)
			return r;
		live++;
	}
	sys_cap_enter(0, 0);
	while (live) {
		if (!rt_reap(&c, true))
			continue;
		if ((c.user_data & ~0xffull) != TAG_RECV) {
			/* a RETURN's completion: the caller may have gone (disconnected); nothing to do */
			continue;
		}
		unsigned i = (unsigned)(c.user_data & 0xff);
		if (i >= n)
			continue;
		if (c.result < 0) {
			rt_print("blk: %s endpoint closed result=%d detail=%d", e[i].name, c.result,
			    c.detail);
			live--;
			continue;
		}
		/* The RETURN and the next RECV go to the kernel in one cap_enter,
		 * which comes back once the RETURN is done and the next request
		 * is in (or no second completion can come): one system call per
		 * request, as in rt_serve. */
		if ((r = answer(ep[i], &c, e[i].srv, buf[i])) < 0 ||
		    (r = post_recv_into(ep[i], TAG_RECV | i, buf[i])) < 0)
			return r;
		sys_cap_enter(2, 0);
	}
	return E_DISCONNECTED;
}

/* ---- asynchronous serving ---- */

enum { SLOT_RECV = 0, SLOT_DEFER, SLOT_DRIVER, SLOT_CLOSED };

/* Answer slot i (its answer is in its buffer, with nx caps x) and post its RECV again. */
static int
async_reply_caps(capid_t ep, struct blkproc_slot *s, unsigned i, int r, uint32_t rlen,
    const struct ring_xfer *x, uint32_t nx)
{
	int e;

	if ((e = give_back_caps(ep, s->token, r, s->buf, rlen, x, nx)) < 0 ||
	    (e = post_recv_into(ep, TAG_RECV | i, s->buf)) < 0)
		return e;
	s->state = SLOT_RECV;
	sys_cap_enter(0, 0);    /* the RETURN (and its transfers) consumed */
	return 0;
}

static int
async_reply(capid_t ep, struct blkproc_slot *s, unsigned i, int r, uint32_t rlen)
{
	return async_reply_caps(ep, s, i, r, rlen, NULL, 0);
}

/* ---- windows ---- */

/* DmaWindow.info of the driver's copy: may its slot be reused? (The holder
 * unmapped it, its buffer went, or nobody but the driver holds it.) */
static bool
window_idle(capid_t cap)
{
	static uint8_t rbuf[256] __attribute__((aligned(8)));
	struct ring_cqe c;
	struct capnp_msg m;
	struct capnp_struct root;
	DmaWindow_info_Results_R r;
	DmaWindowInfo_R in;

	int n = rt_call(cap, DmaWindow_info_ORDINAL, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	if (n < 0 || rt_msg_read(&m, rbuf, c.len, &root) < 0)
		return true;            /* the kernel no longer answers for it */
	r.s = root;
	if (DmaWindow_info_Results_get_info(r, &in) < 0)
		return true;
	uint16_t st = DmaWindowInfo_get_state(in);
	return st == DmaWindowState_closed || st == DmaWindowState_freed ||
	    DmaWindowInfo_get_references(in) <= 1;
}

/* Free every window slot whose window is idle and has no request in flight; the count.
 * (A client that unmapped its window with a readAt outstanding: the device still
 * writes there, so the range is not handed to anyone else until that is answered.) */
static unsigned
window_reclaim(struct blkproc_area *a, const struct blkproc_slot *slot, unsigned nslots)
{
	unsigned n = 0;

	for (unsigned i = 0; i < BLKPROC_WINDOWS; i++) {
		struct blkproc_window *w = &a->w[i];
		if (!w->live || blkproc_window_busy(a, i, slot, nslots) || !window_idle(w->cap))
			continue;
		rt_release(w->cap);
		w->cap = 0;
		w->live = 0;
		a->reclaimed++;
		n++;
	}
	return n;
}

/*
 * openWindow: place the window (reclaiming idle ones when full), share it,
 * and answer with two caps: the DmaWindow (the driver keeps its copy, to
 * see when the window is idle) and the export's endpoint minted with the
 * window's badge.
 */
static int
window_open(struct blkproc_area *a, capid_t ep, struct blkproc_slot *slot, unsigned nslots,
    unsigned i)
{
	struct blkproc_slot *s = &slot[i];
	static struct ring_xfer x[BLKPROC_ASYNC_MAX][2];
	uint32_t bytes = s->req.io.count, off = 0, rlen = BLKPROC_MSG_MAX;
	unsigned k = 0;
	capid_t cap = 0;
	int e;

	e = blkproc_window_place(a, bytes, &k, &off);
	if (e == E_NOSPC && window_reclaim(a, slot, nslots))
		e = blkproc_window_place(a, bytes, &k, &off);
	if (e == 0) {
		/* The range may have been another client's window: it gets none of that
		 * (the pages were zeroed at allocation, but not between windows). */
		memset(a->cpu + off, 0, bytes);
		e = a->share(a->drv, off, bytes, &cap);
	}
	if (e < 0) {
		rt_print("blk: window refused bytes=%u err=%d", bytes, e);
		int r = blkproc_window_answer(&s->req, e, 0, s->buf, &rlen);    /* sets rlen */
		return async_reply(ep, s, i, r, rlen);
	}
	struct blkproc_window *w = &a->w[k];
	if (++w->gen == 0)
		w->gen = 1;
	w->off = off;
	w->bytes = bytes;
	w->ex = s->ex;
	w->cap = cap;
	w->live = 1;
	a->opened++;
	x[i][0] = (struct ring_xfer){ cap, RING_XFER_COPY };
	x[i][1] = (struct ring_xfer){ ep, RING_XFER_MINT_BADGE(blkproc_window_badge(a, k)) };
	int r = blkproc_window_answer(&s->req, 0, bytes, s->buf, &rlen);
	return async_reply_caps(ep, s, i, r, rlen, x[i], r ? 0 : 2);
}

/* Hand slot i's checked request to the driver; an error other than E_AGAIN
 * is its answer. */
static int
async_start(struct blkproc_export *e, capid_t *ep, struct blkproc_slot *s, unsigned i,
    const struct blkproc_async_ops *ops, void *drv)
{
	uint32_t rlen = BLKPROC_MSG_MAX;
	int r = ops->submit(drv, e[s->ex].srv, i, &s->req.io);

	if (r == 0) {
		s->state = SLOT_DRIVER;
		return 0;
	}
	if (r == E_AGAIN) {
		s->state = SLOT_DEFER;
		return 0;
	}
	r = blkproc_finish(&s->req, r, s->buf, &rlen);
	return async_reply(ep[s->ex], s, i, r, rlen);
}

int
blkproc_serve_async(struct blkproc_export *e, unsigned n, struct blkproc_slot *slot,
    unsigned nslots, const struct blkproc_async_ops *ops, void *drv, struct blkproc_area *area)
{
	capid_t ep[BLKPROC_MAX_EXPORTS] = { 0 };
	unsigned live = 0, driver = 0, defer = 0, high = 0, i, k, tags[BLKPROC_ASYNC_MAX];
	int errs[BLKPROC_ASYNC_MAX], r;
	struct ring_cqe c;

	if (n == 0 || n > BLKPROC_MAX_EXPORTS || nslots == 0 || nslots > BLKPROC_ASYNC_MAX ||
	    nslots < n)
		return E_INVAL;
	uint32_t bytes[BLKPROC_MAX_EXPORTS] = { 0 };
	for (i = 0; i < nslots; i++) {
		uint32_t b = slot[i].max_bytes ? slot[i].max_bytes : BLKPROC_MAX_DATA;
		if (!slot[i].buf)
			slot[i].buf = slot[i].in;
		if ((uintptr_t)slot[i].buf & 7)
			return E_INVAL;
		if (!bytes[i % n] || b < bytes[i % n])
			bytes[i % n] = b;       /* an export: the least of its slots */
	}
	if ((r = open_exports(e, n, ep, bytes)) < 0)
		return r;
	for (i = 0; i < nslots; i++) {
		slot[i].ex = (uint8_t)(i % n);
		slot[i].state = SLOT_RECV;
		if ((r = post_recv_into(ep[slot[i].ex], TAG_RECV | i, slot[i].buf)) < 0)
			return r;
		sys_cap_enter(0, 0);    /* the SQ holds 16 entries */
		live++;
	}
	while (live) {
		if (rt_reap(&c, driver + defer == 0)) {
			if ((c.user_data & ~0xffull) != TAG_RECV)
				continue;       /* a RETURN's completion */
			i = (unsigned)(c.user_data & 0xff);
			if (i >= nslots || slot[i].state != SLOT_RECV)
				continue;
			struct blkproc_slot *s = &slot[i];
			if (c.result < 0) {
				rt_print("blk: %s endpoint closed result=%d detail=%d", e[s->ex].name,
				    c.result, c.detail);
				s->state = SLOT_CLOSED;
				live--;
				continue;
			}
			drop_caps(&c);
			s->token = c.token;
			s->req.area = area;
			s->req.badge = c.badge;
			s->req.ex = s->ex;
			uint32_t rlen = BLKPROC_MSG_MAX;
			r = blkproc_begin(&s->req, e[s->ex].srv, c.method, s->buf, c.len, s->buf, &rlen);
			if (r == BLKPROC_OPEN_WINDOW)
				r = window_open(area, ep[s->ex], slot, nslots, i);
			else if (r != BLKPROC_PENDING)
				r = async_reply(ep[s->ex], s, i, r, rlen);
			else if ((r = async_start(e, ep, s, i, ops, drv)) == 0 && s->state == SLOT_DRIVER)
				driver++;
			else if (r == 0 && s->state == SLOT_DEFER)
				defer++;
			if (r < 0)
				return r;
			if (driver > high) {
				high = driver;
				rt_print("blk: in-flight high=%u", high);
			}
			continue;       /* take every request that is in before waiting */
		}
		if (!driver && !defer)
			continue;
		int got = ops->poll(drv, 1, tags, errs, BLKPROC_ASYNC_MAX);
		for (k = 0; k < (unsigned)got && k < BLKPROC_ASYNC_MAX; k++) {
			uint32_t rlen = BLKPROC_MSG_MAX;
			if (tags[k] >= nslots || slot[tags[k]].state != SLOT_DRIVER)
				continue;       /* not ours to answer: a driver bug, ignored */
			struct blkproc_slot *s = &slot[tags[k]];
			driver--;
			r = blkproc_finish(&s->req, errs[k], s->buf, &rlen);
			if ((r = async_reply(ep[s->ex], s, tags[k], r, rlen)) < 0)
				return r;
		}
		/* Requests the driver had no room for, now that some finished. */
		for (i = 0; defer && (got > 0 || !driver) && i < nslots; i++) {
			if (slot[i].state != SLOT_DEFER)
				continue;
			defer--;
			if ((r = async_start(e, ep, &slot[i], i, ops, drv)) < 0)
				return r;
			if (slot[i].state == SLOT_DRIVER)
				driver++;
			else if (slot[i].state == SLOT_DEFER)
				defer++;
		}
	}
	return E_DISCONNECTED;
}
