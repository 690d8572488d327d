/*
 * The userspace runtime: syscalls, ring helpers, caps by name, messages,
 * console printing, heap, serve loop. Single-threaded programs only.
 */
#include "capos.h"
#include "fmt/fmt.h"
#include "schema/base.capnp.h"
#include "schema/exception.capnp.h"

const struct bootstrap_page *rt_boot;
struct ring_page *rt_ring;

/* Completions reaped while waiting for another one. */
static struct ring_cqe stash[RING_CQ_ENTRIES];
static uint32_t nstash;
static uint64_t next_tag = 1;

int64_t
sys_cap_enter(uint32_t min_complete, uint64_t timeout_ns)
{
	int64_t r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"((uint64_t)SYS_CAP_ENTER), "D"((uint64_t)min_complete), "S"(timeout_ns)
			 : "rcx", "r11", "memory");
	return r;
}

void
sys_exit(int code)
{
	__asm__ volatile("syscall" : : "a"((uint64_t)SYS_EXIT), "D"((uint64_t)(int64_t)code)
			 : "rcx", "r11", "memory");
	__builtin_unreachable();
}

/* The next free SQ entry, at *tail (written in place, then sq_publish(*tail)),
 * or NULL when the SQ stays full. */
static inline struct ring_sqe *
sq_next(uint32_t *tail)
{
	struct ring_page *ring = rt_ring;
	uint32_t t = ring->hdr.sq_tail;
	if (t - __atomic_load_n(&ring->hdr.sq_head, __ATOMIC_ACQUIRE) >= RING_SQ_ENTRIES) {
		sys_cap_enter(0, 0);	/* let the kernel consume */
		if (t - __atomic_load_n(&ring->hdr.sq_head, __ATOMIC_ACQUIRE) >= RING_SQ_ENTRIES)
			return NULL;
	}
	*tail = t;
	return &ring->sq[t % RING_SQ_ENTRIES];
}

static inline void
sq_publish(uint32_t tail)
{
	__atomic_store_n(&rt_ring->hdr.sq_tail, tail + 1, __ATOMIC_RELEASE);
}

int
rt_submit(const struct ring_sqe *e)
{
	uint32_t tail;
	struct ring_sqe *q = sq_next(&tail);
	if (!q)
		return E_AGAIN;
	*q = *e;
	sq_publish(tail);
	return 0;
}

/* Write every field of the SQ entry q in place. */
static inline void
sqe_fill(struct ring_sqe *q, uint8_t op, uint8_t flags, uint16_t method, capid_t cap, uint64_t tag,
	 uint64_t params, uint32_t plen, uint64_t res, uint32_t rlen, uint64_t x, uint32_t nx,
	 uint32_t token)
{
	q->opcode = op;
	q->flags = flags;
	q->method = method;
	q->cap = cap;
	q->user_data = tag;
	q->params = params;
	q->params_len = plen;
	q->result_len = rlen;
	q->result = res;
	q->xfer = x;
	q->xfer_count = nx;
	q->token = token;
	q->reserved = 0;
}

/* Fill a CALL/RECV/RETURN entry in place and publish it. */
static inline int
sq_put(uint8_t op, uint8_t flags, uint16_t method, capid_t cap, uint64_t tag, uint64_t params,
       uint32_t plen, uint64_t res, uint32_t rlen, uint64_t x, uint32_t nx, uint32_t token)
{
	uint32_t tail;
	struct ring_sqe *q = sq_next(&tail);
	if (!q)
		return E_AGAIN;
	sqe_fill(q, op, flags, method, cap, tag, params, plen, res, rlen, x, nx, token);
	sq_publish(tail);
	return 0;
}

static bool
ring_pop(struct ring_cqe *out)
{
	struct ring_hdr *h = &rt_ring->hdr;
	uint32_t head = h->cq_head;
	if (head == __atomic_load_n(&h->cq_tail, __ATOMIC_ACQUIRE))
		return false;
	*out = rt_ring->cq[head % RING_CQ_ENTRIES];
	__atomic_store_n(&h->cq_head, head + 1, __ATOMIC_RELEASE);
	return true;
}

bool
rt_reap(struct ring_cqe *out, bool block)
{
	if (nstash) {
		*out = stash[0];
		memmove(stash, stash + 1, --nstash * sizeof stash[0]);
		return true;
	}
	for (;;) {
		if (ring_pop(out))
			return true;
		if (!block)
			return false;
		sys_cap_enter(1, 0);
	}
}

/*
 * Wait for the completion tagged `tag`, stashing others; out == NULL drops
 * it. Each entry is read in place and copied at most once.
 */
static void __attribute__((noinline))
wait_tag_slow(uint64_t tag, struct ring_cqe *out)
{
	struct ring_hdr *h = &rt_ring->hdr;

	for (uint32_t i = 0; i < nstash; i++)
		if (stash[i].user_data == tag) {
			if (out)
				*out = stash[i];
			memmove(stash + i, stash + i + 1, (--nstash - i) * sizeof stash[0]);
			return;
		}
	for (;;) {
		uint32_t head = h->cq_head;
		if (head == __atomic_load_n(&h->cq_tail, __ATOMIC_ACQUIRE)) {
			sys_cap_enter(1, 0);
			continue;
		}
		const struct ring_cqe *c = &rt_ring->cq[head % RING_CQ_ENTRIES];
		bool match = c->user_data == tag;
		if (match && out)
			*out = *c;
		else if (!match && nstash < RING_CQ_ENTRIES)
			stash[nstash++] = *c;
		__atomic_store_n(&h->cq_head, head + 1, __ATOMIC_RELEASE);
		if (match)
			return;
	}
}

/* The common case: nothing stashed and the entry at the CQ head (*head) is
 * tagged `tag`: that entry, to be read in place and then cq_pop(*head)ed;
 * else NULL. */
static inline const struct ring_cqe *
cq_head_is(uint64_t tag, uint32_t *head)
{
	struct ring_page *ring = rt_ring;
	uint32_t hd = ring->hdr.cq_head;
	const struct ring_cqe *c = &ring->cq[hd % RING_CQ_ENTRIES];

	if (nstash || hd == __atomic_load_n(&ring->hdr.cq_tail, __ATOMIC_ACQUIRE) || c->user_data != tag)
		return NULL;
	*head = hd;
	return c;
}

static inline void
cq_pop(uint32_t head)
{
	__atomic_store_n(&rt_ring->hdr.cq_head, head + 1, __ATOMIC_RELEASE);
}

static inline void
wait_tag(uint64_t tag, struct ring_cqe *out)
{
	uint32_t head;
	const struct ring_cqe *c = cq_head_is(tag, &head);

	if (!c) {
		wait_tag_slow(tag, out);
		return;
	}
	if (out)
		*out = *c;
	cq_pop(head);
}

/* rt_call when the SQ is full: the general form. */
static int __attribute__((noinline))
rt_call_full(capid_t cap, uint16_t method, const void *params, uint32_t plen, void *res,
	     uint32_t rlen, const struct ring_xfer *x, uint32_t nx, struct ring_cqe *cqe)
{
	struct ring_cqe local;
	uint64_t tag = next_tag++;
	if (!cqe)
		cqe = &local;
	int r = sq_put(RING_OP_CALL, 0, method, cap, tag, (uint64_t)params, plen, (uint64_t)res, rlen,
		       (uint64_t)x, nx, 0);
	if (r < 0)
		return r;
	sys_cap_enter(1, 0);
	wait_tag(tag, cqe);
	return cqe->result;
}

/* rt_call, submitted, when its completion is not the first in the CQ. */
static int __attribute__((noinline))
rt_call_wait(uint64_t tag, struct ring_cqe *cqe)
{
	struct ring_cqe local;
	if (!cqe)
		cqe = &local;
	wait_tag_slow(tag, cqe);
	return cqe->result;
}

/*
 * The common case makes no call but the system call, so it keeps
 * everything in registers the system call preserves (no stack frame):
 * room in the SQ, and the completion first in the CQ when cap_enter
 * returns. Anything else goes to rt_call_full or rt_call_wait.
 */
int
rt_call(capid_t cap, uint16_t method, const void *params, uint32_t plen, void *res, uint32_t rlen,
	const struct ring_xfer *x, uint32_t nx, struct ring_cqe *cqe)
{
	struct ring_page *ring = rt_ring;
	uint32_t tail = ring->hdr.sq_tail, head;

	if (tail - __atomic_load_n(&ring->hdr.sq_head, __ATOMIC_ACQUIRE) >= RING_SQ_ENTRIES)
		return rt_call_full(cap, method, params, plen, res, rlen, x, nx, cqe);
	uint64_t tag = next_tag++;
	sqe_fill(&ring->sq[tail % RING_SQ_ENTRIES], RING_OP_CALL, 0, method, cap, tag, (uint64_t)params,
		 plen, (uint64_t)res, rlen, (uint64_t)x, nx, 0);
	__atomic_store_n(&ring->hdr.sq_tail, tail + 1, __ATOMIC_RELEASE);
	sys_cap_enter(1, 0);
	const struct ring_cqe *c = cq_head_is(tag, &head);
	if (!c)
		return rt_call_wait(tag, cqe);
	int result = c->result;
	if (cqe)
		*cqe = *c;
	cq_pop(head);
	return result;
}

int
rt_release(capid_t cap)
{
	struct ring_cqe c;
	struct ring_sqe e = { .opcode = RING_OP_RELEASE, .cap = cap, .user_data = next_tag++ };
	int r = rt_submit(&e);
	if (r < 0)
		return r;
	sys_cap_enter(1, 0);
	wait_tag(e.user_data, &c);
	return c.result < 0 ? c.detail : 0;
}

capid_t
rt_cap(const char *name, uint64_t iid)
{
	for (uint32_t i = 0; i < rt_boot->ncaps && i < BOOTSTRAP_MAX_CAPS; i++)
		if (strcmp(rt_boot->caps[i].name, name) == 0)
			return rt_boot->caps[i].interface_id == iid ? rt_boot->caps[i].cap : 0;
	return 0;
}

/* ---- messages ---- */

static uint64_t msg_arena[8192];
static struct capnp_builder msg_b;

struct capnp_builder *
rt_msg_begin(void)
{
	capnp_builder_init(&msg_b, msg_arena, sizeof msg_arena, 0);
	return &msg_b;
}

int
rt_msg_end(void *out, size_t cap)
{
	return capnp_builder_write(&msg_b, out, cap);
}

int
rt_exception(void *buf, size_t cap, unsigned type, const char *reason)
{
	Exception_B e;
	Exception_init_root(rt_msg_begin(), &e);
	Exception_set_type(e, (uint16_t)type);
	Exception_set_reason(e, reason, strlen(reason));
	return rt_msg_end(buf, cap);
}

/* ---- console ---- */

int
rt_print(const char *fmt, ...)
{
	static char line[1024];
	static uint64_t pbuf[160], rbuf[8];
	va_list ap;
	Console_writeLine_Params_B p;

	capid_t con = rt_cap("console", Console_TYPE_ID);
	if (!con)
		return E_PERM;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	Console_writeLine_Params_init_root(rt_msg_begin(), &p);
	Console_writeLine_Params_set_text(p, line, (size_t)n);
	int len = rt_msg_end(pbuf, sizeof pbuf);
	if (len < 0)
		return len;
	int r = rt_call(con, Console_writeLine_ORDINAL, pbuf, (uint32_t)len, rbuf, sizeof rbuf, NULL, 0,
			NULL);
	return r < 0 ? r : 0;
}

/* ---- heap: first-fit free list over the heap pages, 16-byte blocks ---- */

struct blk {
	size_t size;		/* bytes after the header */
	struct blk *next;	/* free list */
};
static struct blk *free_list;
static bool heap_ready;

void *
rt_alloc(size_t n)
{
	if (!heap_ready) {
		free_list = (struct blk *)USER_HEAP_VA;
		free_list->size = USER_HEAP_PAGES * 4096ull - sizeof(struct blk);
		free_list->next = NULL;
		heap_ready = true;
	}
	n = (n + 15) & ~(size_t)15;
	for (struct blk **pp = &free_list; *pp; pp = &(*pp)->next) {
		struct blk *b = *pp;
		if (b->size < n)
			continue;
		if (b->size >= n + sizeof(struct blk) + 16) {
			struct blk *rest = (struct blk *)((uint8_t *)(b + 1) + n);
			rest->size = b->size - n - sizeof(struct blk);
			rest->next = b->next;
			b->size = n;
			*pp = rest;
		} else {
			*pp = b->next;
		}
		return b + 1;
	}
	return NULL;
}

void
rt_free(void *p)
{
	if (!p)
		return;
	struct blk *b = (struct blk *)p - 1;
	b->next = free_list;	/* no coalescing: programs here allocate little */
	free_list = b;
}

/* ---- serving ---- */

int
rt_return(capid_t ep, uint32_t token, const void *res, uint32_t len, const struct ring_xfer *x,
	  uint32_t nx, bool exception)
{
	struct ring_cqe c;
	uint64_t tag = next_tag++;
	int r = sq_put(RING_OP_RETURN, exception ? RING_RET_EXCEPTION : 0, 0, ep, tag, (uint64_t)res,
		       len, 0, 0, (uint64_t)x, nx, token);
	if (r < 0)
		return r;
	sys_cap_enter(1, 0);
	wait_tag(tag, &c);
	return c.result;
}

/*
 * RECV -> handler -> reply. A reply without caps and the next receive are
 * one RECV|RING_RECV_REPLY submission (docs/kernel-abi.md): one cap_enter,
 * one completion (the next request). A reply with caps is a RETURN, then a
 * plain RECV, in one cap_enter(2). If the reply part is refused, the RECV
 * completes with that error and no receive is posted: like a failed RETURN
 * it is dropped and a plain RECV is posted; a plain RECV that fails ends
 * the loop.
 */
static int
sq_put_recv(capid_t ep, uint64_t tag, uint8_t *in, uint32_t accept)
{
	return sq_put(RING_OP_RECV, 0, 0, ep, tag, 0, 0, (uint64_t)in, RING_MAX_MSG, 0, accept, 0);
}

int
rt_serve(capid_t ep, uint32_t accept, rt_handler h, void *ctx)
{
	uint8_t *in = rt_alloc(RING_MAX_MSG), *out = rt_alloc(RING_MAX_MSG);
	uint64_t recv_tag = next_tag++, ret_tag;
	bool replied = false;	/* the pending RECV carries a reply */
	struct ring_cqe c;
	int r;

	if (!in || !out)
		return E_NOMEM;
	if ((r = sq_put_recv(ep, recv_tag, in, accept)) < 0)
		return r;
	sys_cap_enter(1, 0);
	for (;;) {
		uint32_t head = 0;
		const struct ring_cqe *rc = cq_head_is(recv_tag, &head);	/* read in place when it can be */
		if (!rc) {
			wait_tag_slow(recv_tag, &c);
			rc = &c;
		}
		struct rt_request rq;
		int32_t res = rc->result, detail = rc->detail;
		rq.method = rc->method;
		rq.params = in;
		rq.plen = rc->len;
		rq.ncaps = rc->ncaps < RING_MAX_XFER ? rc->ncaps : RING_MAX_XFER;
		rq.token = rc->token;
		rq.badge = rc->badge;
		for (uint32_t i = 0; i < rq.ncaps; i++) {	/* only the caps received */
			rq.caps[i] = rc->caps[i];
			rq.iids[i] = rc->iids[i];
		}
		if (rc != &c)
			cq_pop(head);	/* before the handler: it may reap completions itself */
		if (res < 0 && replied) {	/* the reply was refused: receive without one */
			replied = false;
			recv_tag = next_tag++;
			if ((r = sq_put_recv(ep, recv_tag, in, accept)) < 0)
				return r;
			sys_cap_enter(1, 0);
			continue;
		}
		if (res < 0)
			return detail ? detail : res;
		uint32_t rlen = RING_MAX_MSG, nout = 0;
		struct ring_xfer xo[RING_MAX_XFER];
		bool exc = false;
		r = h(ctx, &rq, out, &rlen, xo, &nout);
		if (r < 0)
			return r;
		if (r > 0) {
			int n = rt_exception(out, RING_MAX_MSG, (unsigned)(r - 1), "raised by the server");
			rlen = n < 0 ? 0 : (uint32_t)n;
			nout = 0;
			exc = true;
		}
		recv_tag = next_tag++;
		replied = nout == 0;
		if (replied) {
			uint8_t f = RING_RECV_REPLY | (exc ? RING_RECV_REPLY_EXCEPTION : 0);
			if ((r = sq_put(RING_OP_RECV, f, 0, ep, recv_tag, (uint64_t)out, rlen, (uint64_t)in,
					RING_MAX_MSG, 0, accept, rq.token)) < 0)
				return r;
			sys_cap_enter(1, 0);
			continue;
		}
		ret_tag = next_tag++;
		if ((r = sq_put(RING_OP_RETURN, exc ? RING_RET_EXCEPTION : 0, 0, ep, ret_tag, (uint64_t)out,
				rlen, 0, 0, (uint64_t)xo, nout, rq.token)) < 0 ||
		    (r = sq_put_recv(ep, recv_tag, in, accept)) < 0)
			return r;
		sys_cap_enter(2, 0);
		wait_tag(ret_tag, NULL);	/* already posted: RETURN completes at once */
	}
}

void rt_start(const struct bootstrap_page *boot, struct ring_page *ring);

void
rt_start(const struct bootstrap_page *boot, struct ring_page *ring)
{
	rt_boot = boot;
	rt_ring = ring;
	sys_exit(main());
}
