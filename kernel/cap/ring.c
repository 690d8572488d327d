/*
 * The ring: cap_enter consumes submissions, validates each one completely
 * (decode), then acts (invoke); completions are posted as calls finish.
 *
 * Bounds (docs/kernel-abi.md): at most RING_SQ_ENTRIES submissions per
 * cap_enter; a submission is consumed only if its completion is guaranteed
 * room (ready + inflight < RING_CQ_ENTRIES), so completions are never
 * dropped; params and results at most RING_MAX_MSG bytes; at most
 * RING_MAX_XFER caps per message.
 */
#include "proc/proc.h"
#include "cap/ipc.h"
#include "cap/fastpath.h"
#include "capnp/capnp.h"
#include "kernel.h"
#include "mm/heap.h"
#include "sched/sched.h"
#include "schema/exception.capnp.h"
#include "smp/percpu.h"
#include "arch/x86_64/cpu.h"

struct call *all_calls;
uint32_t call_next_token = 1;

uint32_t
ring_cq_ready(struct proc *p)
{
	return cq_used(p);
}

void
ring_post(struct proc *p, const struct ring_cqe *c)
{
	if (!p->ring)
		return;
	kcopy(&p->ring->cq[p->cq_tail % RING_CQ_ENTRIES], c, sizeof *c);
	cq_push(p);
}

static void
post_simple(struct proc *p, uint64_t user_data, int32_t result, int32_t detail)
{
	ring_post_short(p, user_data, result, detail, 0, 0, 0, 0);
}

struct call *call_cache[CALL_CACHE];
uint32_t call_ncached;

struct call *
call_alloc(void)
{
	return call_alloc_inline();
}

void
call_free(struct call *c)
{
	call_free_inline(c);
}

/*
 * Finish a call: result caps x[nx] (reserved from the callee) are committed
 * to the caller or rolled back; res[len] goes to the caller's result buffer.
 */
static void
complete(struct call *c, int32_t result, int32_t detail, const void *res, struct proc *sp,
	 uint64_t sva, uint32_t len, struct xfer *x, uint32_t nx)
{
	struct proc *p = c->caller;
	struct ring_cqe cqe = { .user_data = c->user_data, .result = result, .detail = detail };

	if (!p) {
		xfer_rollback(x, nx);
		call_free(c);
		return;
	}
	if (len > c->result_len) {
		cqe.result = RING_E_INVALID_RESULT;
		cqe.detail = E_TOOBIG;
		len = 0;
		xfer_rollback(x, nx);
		nx = 0;
	}
	/* The results before the caps: a demand-zero page of the result buffer
	 * may need a frame (uaccess.c); out of memory (E_NOMEM) no cap moves. */
	int r;
	if (len && (r = sp ? copy_user_to_user(p, c->result_va, sp, sva, len)	/* checked at CALL/RETURN */
			   : copy_to_user(p, c->result_va, res, len)) < 0) {
		cqe.result = RING_E_INVALID_RESULT;
		cqe.detail = r;
		len = 0;
		xfer_rollback(x, nx);
		nx = 0;
	}
	if (nx) {
		r = xfer_commit(p, x, nx, RING_MAX_XFER, cqe.caps, cqe.iids);
		if (r < 0) {
			xfer_rollback(x, nx);
			cqe.result = RING_E_INVOKE_FAILED;
			cqe.detail = r;
			len = 0;
		} else {
			cqe.ncaps = (uint16_t)nx;
		}
	}
	cqe.len = len;
	p->inflight--;
	ring_post(p, &cqe);
	call_free(c);
}

void
call_complete(struct call *c, int32_t result, int32_t detail, const void *res, uint32_t len,
	      struct xfer *x, uint32_t nx)
{
	complete(c, result, detail, res, NULL, 0, len, x, nx);
}

void
call_complete_user(struct call *c, int32_t result, struct proc *sp, uint64_t sva, uint32_t len,
		   struct xfer *x, uint32_t nx)
{
	complete(c, result, 0, NULL, sp, sva, len, x, nx);
}

/* Serialize an Exception (schema/exception.capnp) as the call's result. */
void
call_complete_exception(struct call *c, unsigned type, const char *reason)
{
	static uint64_t arena[128], out[128];
	static struct capnp_builder b;
	Exception_B e;
	int n = E_NOMEM;

	if (capnp_builder_init(&b, arena, sizeof arena, 0) >= 0 && Exception_init_root(&b, &e) >= 0) {
		Exception_set_type(e, (uint16_t)type);
		Exception_set_reason(e, reason, strlen(reason));
		n = capnp_builder_write(&b, out, sizeof out);
	}
	if (n < 0 || (uint32_t)n > c->result_len)
		n = 0;	/* no room for the payload: the code alone still says it */
	call_complete(c, RING_E_EXCEPTION, -(int32_t)type - 100, out, (uint32_t)n, NULL, 0);
}

/* The caller died: its calls complete into nothing; queued ones are dropped. */
void
calls_forget_proc(struct proc *p)
{
	for (struct call *c = all_calls; c; c = c->all_next)
		if (c->caller == p)
			c->caller = NULL;
}

void
xfer_forget_proc(struct proc *p)
{
	for (struct call *c = all_calls; c; c = c->all_next)
		for (uint32_t i = 0; i < c->nxfer; i++)
			if (c->x[i].src == p)
				c->x[i].src = NULL;
}

static int
do_call(struct proc *p, const struct ring_sqe *s, int32_t *detail)
{
	int err;
	struct cap_slot *slot = cap_lookup(p, s->cap, &err);
	if (!slot)
		return *detail = err, RING_E_INVALID_REQUEST;
	if (!(slot->facet & FACET_CALL))
		return *detail = E_PERM, RING_E_INVALID_REQUEST;
	if (s->flags || s->token)
		return *detail = E_INVAL, RING_E_INVALID_REQUEST;
	if (s->params_len > RING_MAX_MSG || !user_range_ok(p, s->params, s->params_len, false))
		return *detail = E_RANGE, RING_E_INVALID_PARAMS;
	if (s->result_len > RING_MAX_MSG || !user_range_ok(p, s->result, s->result_len, true))
		return *detail = E_RANGE, RING_E_INVALID_RESULT;
	if (s->xfer_count > RING_MAX_XFER)
		return *detail = E_LIMIT, RING_E_INVALID_REQUEST;
	struct ring_xfer xs[RING_MAX_XFER];
	if (s->xfer_count && copy_from_user(p, xs, s->xfer, s->xfer_count * sizeof xs[0]) < 0)
		return *detail = E_RANGE, RING_E_INVALID_REQUEST;

	struct call *c = call_alloc();
	if (!c)
		return *detail = E_NOMEM, RING_E_INVOKE_FAILED;
	/* Endpoints copy the params straight into the receiver (or snapshot
	 * them when the call queues); kernel objects decode a kernel copy. */
	c->params_va = s->params;
	if (s->params_len && slot->obj->type != KO_ENDPOINT) {
		if (!(c->params = kmalloc(s->params_len))) {
			call_free(c);
			return *detail = E_NOMEM, RING_E_INVOKE_FAILED;
		}
		copy_from_user(p, c->params, s->params, s->params_len);
	}
	if (s->xfer_count && (err = xfer_reserve(p, xs, s->xfer_count, c->x)) < 0) {
		call_free(c);
		return *detail = err, RING_E_INVALID_REQUEST;
	}
	c->nxfer = s->xfer_count;
	c->caller = p;
	c->target = slot->obj;
	kobj_ref(c->target);
	c->user_data = s->user_data;
	c->result_va = s->result;
	c->result_len = s->result_len;
	c->method = s->method;
	c->badge = slot->badge;	/* endpoints tell it to the server; kernel objects ignore it */
	c->params_len = s->params_len;
	p->inflight++;
	if (c->target->type == KO_ENDPOINT)
		endpoint_call(c->target, c);
	else
		kobj_call(c->target, c);
	return 0;
}

static int
server_slot(struct proc *p, capid_t id, struct kobj **o, int32_t *detail)
{
	int err;
	struct cap_slot *slot = cap_lookup(p, id, &err);
	if (!slot)
		return *detail = err, RING_E_INVALID_REQUEST;
	if (!(slot->facet & FACET_SERVER) || slot->obj->type != KO_ENDPOINT)
		return *detail = E_PERM, RING_E_INVALID_REQUEST;
	*o = slot->obj;
	return 0;
}

/* Decode and run one submission; returns a completion now or 0 when one comes later. */
static void
process_sqe(struct proc *p, const struct ring_sqe *s)
{
	int32_t detail = 0;
	int r = 0;
	struct kobj *o;
	bool reply;

	if (s->reserved) {
		post_simple(p, s->user_data, RING_E_INVALID_REQUEST, E_INVAL);
		return;
	}
	switch (s->opcode) {
	case RING_OP_NOP:
		break;
	case RING_OP_RELEASE:
		if ((r = cap_release(p, s->cap)) < 0) {
			detail = r;
			r = RING_E_INVALID_REQUEST;
		}
		break;
	case RING_OP_CALL:
		if ((r = do_call(p, s, &detail)) == 0)
			return;
		break;
	case RING_OP_RECV:
		if ((r = server_slot(p, s->cap, &o, &detail)) < 0)
			break;
		reply = s->flags & RING_RECV_REPLY;	/* token, params: the reply (endpoint.c) */
		if ((s->flags & ~(RING_RECV_REPLY | RING_RECV_REPLY_EXCEPTION)) ||
		    (!reply && (s->flags || s->token || s->params || s->params_len)))
			r = RING_E_INVALID_REQUEST, detail = E_INVAL;
		else if (s->xfer_count > RING_MAX_XFER)
			r = RING_E_INVALID_REQUEST, detail = E_LIMIT;
		else if (s->params_len > RING_MAX_MSG || !user_range_ok(p, s->params, s->params_len, false))
			r = RING_E_INVALID_PARAMS, detail = E_RANGE;
		else if (s->result_len > RING_MAX_MSG || !user_range_ok(p, s->result, s->result_len, true))
			r = RING_E_INVALID_RESULT, detail = E_RANGE;
		else if (reply) {
			if ((r = endpoint_reply_recv(p, o, s, &detail)) == 0)
				return;	/* the receive completes when a call comes */
		} else if ((r = endpoint_recv(p, o, s)) == 0) {
			return;
		} else {
			detail = r, r = RING_E_INVOKE_FAILED;
		}
		break;
	case RING_OP_RETURN:
		if ((r = server_slot(p, s->cap, &o, &detail)) < 0)
			break;
		if (s->flags & ~RING_RET_EXCEPTION || s->result || s->result_len)
			r = RING_E_INVALID_REQUEST, detail = E_INVAL;
		else if (s->params_len > RING_MAX_MSG || !user_range_ok(p, s->params, s->params_len, false))
			r = RING_E_INVALID_PARAMS, detail = E_RANGE;
		else if (s->xfer_count > RING_MAX_XFER)
			r = RING_E_INVALID_REQUEST, detail = E_LIMIT;
		else
			r = endpoint_return(p, o, s, &detail);
		break;
	default:
		r = RING_E_UNSUPPORTED;
		detail = E_NOTSUP;
		break;
	}
	post_simple(p, s->user_data, r, detail);
}

static void
wait_timeout_check(uint64_t now)
{
	for (struct proc *p = proc_list; p; p = p->all_next)
		if (p->state == P_BLOCKED && p->wait_deadline && now >= p->wait_deadline)
			sched_wake(p);
}

/*
 * Parking (docs/scheduler.md, "Parking"): a process that blocks in
 * cap_enter needs nothing from its kernel stack to resume: its user state
 * is the syscall frame at the top of that stack (syscall.S stores every
 * register there) and what is left of cap_enter is the wait below, whose
 * inputs live in struct proc (wait_min, wait_deadline). So when it blocks
 * with a hand-off pending, it parks: its switch context becomes a stub
 * just below the frame (six registers for switch_to to pop, then the
 * address of park_resume), which runs cap_enter_resume on a fresh stack. And if the hand-off is
 * parked too and its wait is over, the CPU goes straight into that
 * process's ring 3 from its frame (park_exit), without switching kernel
 * stacks or unwinding its cap_enter: the direct switch.
 */
void park_resume(void);
__attribute__((noreturn)) void park_exit(struct trap_frame *tf);
void cap_enter_resume(struct trap_frame *tf);

/* Where switch_to saves the stack pointer of a parked process: nothing reads it. */
static uint64_t park_dead_rsp;

static inline struct trap_frame *
syscall_frame(struct proc *p)
{
	return (struct trap_frame *)(p->kstack_top - sizeof(struct trap_frame));
}

/* cap_enter returns when enough completions are there, or when no more can arrive. */
static inline bool
wait_over(struct proc *p, uint32_t min, uint32_t ready)
{
	return ready >= min || ready + p->inflight < min ||
	       (p->wait_deadline && sched_ticks >= p->wait_deadline);
}

/*
 * The current process p blocks in cap_enter. With a hand-off h pending, p
 * parks and the CPU goes to h; without, p blocks as any process does.
 * Returns only in that second case, once p is woken.
 */
static void
cap_enter_block(struct proc *p)
{
	struct proc *h = percpu_handoff_to();

	if (!h) {
		sched_block();
		return;
	}
	percpu_set_handoff_to(NULL);
	percpu_set_handoff_armed(false);
	p->state = P_BLOCKED;
	/* The stub that switch_to pops (six registers, then the return
	 * address) lies just below the frame, over this call chain's
	 * outermost frames: nothing below returns to them from here on. */
	uint64_t *ctx = (uint64_t *)syscall_frame(p) - 7;
	ctx[6] = (uint64_t)park_resume;
	p->ctx_rsp = (uint64_t)ctx;
	p->parked = true;
	sched_switch_procs(this_cpu(), p, h);
	if (h->parked) {
		struct trap_frame *tf = syscall_frame(h);
		uint32_t ready = cq_used(h);
		if (wait_over(h, h->wait_min, ready)) {
			h->parked = false;
			tf->rax = ready;
			park_exit(tf);	/* releases the bkl once off p's stack */
		}
	}
	switch_to(&park_dead_rsp, h->ctx_rsp);	/* p's context is the stub, not this stack */
	__builtin_unreachable();
}

/* The wait of cap_enter: the number of completions ready once it is over. */
static inline __attribute__((always_inline)) uint32_t
cap_enter_wait(struct proc *p, uint32_t min)
{
	for (;;) {
		uint32_t ready = cq_used(p);
		if (wait_over(p, min, ready)) {
			sched_handoff_flush();
			return ready;
		}
		p->wait_min = min;
		cap_enter_block(p);	/* direct switch to a process we woke, if any */
	}
}

/* A parked process resumed by switch_to (park_resume): finish its cap_enter. */
void
cap_enter_resume(struct trap_frame *tf)
{
	struct proc *p = this_cpu()->cur;

	p->parked = false;
	tf->rax = cap_enter_wait(p, p->wait_min);
	spin_unlock(&bkl);
}

/* cap_enter(min_complete, timeout_ns) for p, the current process. */
static inline __attribute__((always_inline)) int64_t
cap_enter(struct proc *p, uint64_t min_complete, uint64_t timeout_ns)
{
	struct ring_hdr *h = &p->ring->hdr;
	uint32_t tail = __atomic_load_n(&h->sq_tail, __ATOMIC_ACQUIRE);
	uint32_t pending = tail - p->sq_head;

	if (pending > RING_SQ_ENTRIES)
		return RING_E_INVALID_REQUEST;	/* the process corrupted sq_tail */
	sched_handoff_arm();	/* a process we wake may get the CPU if we block */
	while (p->sq_head != tail) {
		if (cq_used(p) + p->inflight >= RING_CQ_ENTRIES)
			break;	/* no guaranteed room for its completion: leave it queued */
		/* one copy, then only the copy is read */
		struct ring_sqe s = p->ring->sq[p->sq_head % RING_SQ_ENTRIES];
		p->sq_head++;
		__atomic_store_n(&h->sq_head, p->sq_head, __ATOMIC_RELEASE);
		if (!endpoint_fast(p, &s))
			process_sqe(p, &s);
	}
	if (min_complete > RING_CQ_ENTRIES)
		min_complete = RING_CQ_ENTRIES;
	p->wait_deadline = 0;
	if (timeout_ns)
		p->wait_deadline = sched_ticks + (timeout_ns + NS_PER_TICK - 1) / NS_PER_TICK + 1;
	return cap_enter_wait(p, (uint32_t)min_complete);
}

/* The cap_enter system call, straight from syscall.S (the other calls go through syscall_dispatch). */
_Static_assert(SYS_CAP_ENTER == 0, "syscall.S sends rax == 0 here");

void
cap_enter_syscall(struct trap_frame *tf)
{
	struct proc *p = sched_syscall_enter();
	tf->rax = (uint64_t)cap_enter(p, tf->rdi, tf->rsi);
	spin_unlock(&bkl);
}

void
kobjs_tick(uint64_t now)
{
	wait_timeout_check(now);
	extern void prochandle_tick(uint64_t now);
	prochandle_tick(now);
	extern void kddf_caps_tick(uint64_t now);	/* parked Interrupt.wait calls */
	kddf_caps_tick(now);
}
