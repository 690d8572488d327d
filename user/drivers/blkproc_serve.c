/*
 * The BlockDevice serving loop of a driver process (blkproc.h): one RECV
 * posted per export, requests answered one at a time in the order they
 * arrive, each RETURN submitted together with the export's next RECV.
 *
 * The driver itself calls its device caps (rt_call) while it handles a
 * request; the runtime keeps completions that arrive meanwhile (another
 * export's RECV) and rt_reap hands them back here afterwards.
 *
 * Queue depth: requests are served one at a time. A client may have up to
 * 16 calls queued on the endpoint (more are refused with `overloaded`); they
 * wait in the kernel and are served in order.
 */
#include "blkproc.h"

#include "capos.h"
#include "schema/block.capnp.h"

#define TAG_RECV 0xB10C000000000000ull

static uint8_t inbuf[BLKPROC_MAX_EXPORTS][RING_MAX_MSG] __attribute__((aligned(8)));
static uint8_t outbuf[RING_MAX_MSG] __attribute__((aligned(8)));

static capid_t
endpoint(const char *name)
{
	/* An export may leave its interface id unspecified (0). */
	capid_t c = rt_cap(name, BlockDevice_TYPE_ID);
	return c ? c : rt_cap(name, 0);
}

static int
post_recv(capid_t ep, unsigned i)
{
	struct ring_sqe s = { .opcode = RING_OP_RECV, .cap = ep, .user_data = TAG_RECV | i,
		.result = (uint64_t)inbuf[i], .result_len = RING_MAX_MSG, .xfer_count = 0 };
	return rt_submit(&s);
}

static int
answer(capid_t ep, const struct ring_cqe *c, struct blkserv *srv)
{
	uint32_t rlen = RING_MAX_MSG;
	bool exc = false;
	int r;

	/* BlockDevice takes no caps: drop any that came anyway. */
	for (uint32_t k = 0; k < c->ncaps && k < RING_MAX_XFER; k++)
		rt_release(c->caps[k]);
	r = blkproc_handle(srv, c->method, inbuf[c->user_data & 0xff], c->len, outbuf, &rlen);
	if (r > 0) {
		int n = rt_exception(outbuf, RING_MAX_MSG, (unsigned)(r - 1), "blk: refused");
		rlen = n < 0 ? 0 : (uint32_t)n;
		exc = true;
	}
	struct ring_sqe s = { .opcode = RING_OP_RETURN, .flags = exc ? RING_RET_EXCEPTION : 0,
		.cap = ep, .user_data = 0, .params = (uint64_t)outbuf, .params_len = rlen,
		.token = c->token };
	return rt_submit(&s);
}

int
blkproc_serve(struct blkproc_export *e, unsigned n)
{
	capid_t ep[BLKPROC_MAX_EXPORTS] = { 0 };
	unsigned live = 0;
	struct ring_cqe c;
	int r;

	if (n == 0 || n > BLKPROC_MAX_EXPORTS)
		return E_INVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!(ep[i] = endpoint(e[i].name))) {
			rt_print("blk: no endpoint %s", e[i].name);
			return E_NOENT;
		}
		blkproc_prepare(e[i].srv);
		rt_print("blk: serving %s blocks=%lu bs=%u max_transfer=%u", e[i].name,
		    (unsigned long)e[i].srv->info.block_count, e[i].srv->info.block_size,
		    e[i].srv->info.max_transfer_blocks);
		if ((r = post_recv(ep[i], i)) < 0)
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
		if ((r = answer(ep[i], &c, e[i].srv)) < 0 || (r = post_recv(ep[i], i)) < 0)
			return r;
		sys_cap_enter(2, 0);
	}
	return E_DISCONNECTED;
}
