/*
 * Internal interface between the ring (ring.c) and endpoints (endpoint.c)
 * for the IPC fast path (docs/kernel-abi.md, "Fast path"). The rest of the
 * kernel uses the declarations in proc/proc.h.
 */
#ifndef CAPOS_CAP_IPC_H
#define CAPOS_CAP_IPC_H

#include <stdbool.h>
#include <stdint.h>
#include "abi/ring.h"
#include "mm/heap.h"
#include "proc/proc.h"
#include "sched/sched.h"

/* Completions p has not read yet (cq_head is the process's: clamp it). */
static inline uint32_t
cq_used(struct proc *p)
{
	uint32_t used = p->cq_tail - __atomic_load_n(&p->ring->hdr.cq_head, __ATOMIC_ACQUIRE);
	return used > RING_CQ_ENTRIES ? RING_CQ_ENTRIES : used;
}

/* Publish the entry written at cq_tail; wake p when it has what it waits for. */
static inline void
cq_push(struct proc *p)
{
	p->cq_tail++;
	__atomic_store_n(&p->ring->hdr.cq_tail, p->cq_tail, __ATOMIC_RELEASE);
	if (p->state == P_BLOCKED && cq_used(p) >= p->wait_min)
		sched_wake(p);
}

/*
 * Post a completion that carries no caps, written in place in p's CQ
 * (inline: the IPC fast path posts two per round trip).
 */
static inline void
ring_post_short(struct proc *p, uint64_t user_data, int32_t result, int32_t detail, uint32_t len,
		uint16_t method, uint32_t token)
{
	if (!p->ring)
		return;
	struct ring_cqe *c = &p->ring->cq[p->cq_tail % RING_CQ_ENTRIES];
	c->user_data = user_data;
	c->result = result;
	c->detail = detail;
	c->len = len;
	c->method = method;
	c->ncaps = 0;
	c->token = token;
	c->reserved = 0;
	_Static_assert(RING_MAX_XFER == 4, "no stale caps in the entry: clear them all");
	c->caps[0] = c->caps[1] = c->caps[2] = c->caps[3] = 0;
	c->iids[0] = c->iids[1] = c->iids[2] = c->iids[3] = 0;
	cq_push(p);
}

/*
 * Call records (ring.c owns the state): a small cache of freed records, so
 * the null-call path needs no allocator, and the doubly linked list of live
 * calls. Inline because the fast path allocates and frees one per round
 * trip; call_alloc/call_free (proc/proc.h) are the out-of-line forms.
 */
#define CALL_CACHE 32
extern struct call *call_cache[CALL_CACHE];
extern uint32_t call_ncached;
extern struct call *all_calls;
extern uint32_t call_next_token;

static inline struct call *
call_alloc_inline(void)
{
	struct call *c = call_ncached ? call_cache[--call_ncached] : kmalloc(sizeof *c);
	if (!c)
		return NULL;
	c->next = NULL;
	c->caller = NULL;
	c->target = NULL;
	c->params = NULL;
	c->nxfer = 0;
	c->state = 0;
	c->deadline = 0;
	c->token = call_next_token++;
	if (!c->token)
		c->token = call_next_token++;
	c->all_next = all_calls;
	c->all_pprev = &all_calls;
	if (all_calls)
		all_calls->all_pprev = &c->all_next;
	all_calls = c;
	return c;
}

/* Roll back reserved caps, drop the target, unlink and recycle c. */
static inline void
call_free_inline(struct call *c)
{
	if (c->nxfer)
		xfer_rollback(c->x, c->nxfer);
	c->nxfer = 0;
	*c->all_pprev = c->all_next;
	if (c->all_next)
		c->all_next->all_pprev = c->all_pprev;
	if (c->target)
		kobj_unref(c->target);
	if (c->params)
		kfree(c->params);
	if (call_ncached < CALL_CACHE)
		call_cache[call_ncached++] = c;
	else
		kfree(c);
}

/* RECV with RING_RECV_REPLY, validated but for the token: reply, then receive (endpoint.c). */
int endpoint_reply_recv(struct proc *p, struct kobj *o, const struct ring_sqe *s, int32_t *detail);

/*
 * Try submission s (already copied out of p's SQ) on the fast path: a CALL
 * without transfers that meets a posted RECV, or a RETURN without transfers
 * to a live caller. True when it was carried out (its completions are
 * posted); false when any precondition does not hold, with nothing changed,
 * so the slow path then decodes s from scratch and reports any error.
 */
bool endpoint_fast(struct proc *p, const struct ring_sqe *s);

#endif
