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
		sched_wake_blocked(p);
}

/*
 * Post a completion that carries no caps, written in place in p's CQ
 * (inline: the IPC fast path posts two per round trip). caps[] and iids[]
 * are not written: with ncaps 0 none of them is meaningful, and what they
 * hold is what an earlier completion of p's own left in this entry
 * (docs/kernel-abi.md, "Completion"), never another process's data.
 */
static inline void
ring_post_short(struct proc *p, uint64_t user_data, int32_t result, int32_t detail, uint32_t len,
		uint16_t method, uint32_t token, uint32_t badge)
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
	c->badge = badge;
	cq_push(p);
}

/* kobj_ref/kobj_unref (cap.c) without a call where nothing can be destroyed. */
static inline void
kobj_ref_inline(struct kobj *o)
{
	o->refs++;
}

static inline void
kobj_unref_inline(struct kobj *o)
{
	if (o->refs > 1)
		o->refs--;
	else
		kobj_unref(o);
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

/* A record from the cache (or the heap); every field is the caller's to set. */
static inline struct call *
call_get_inline(void)
{
	return call_ncached ? call_cache[--call_ncached] : kmalloc(sizeof(struct call));
}

/* Give c its token and put it on the list of live calls. */
static inline void
call_link_inline(struct call *c)
{
	c->token = call_next_token++;
	if (!c->token)
		c->token = call_next_token++;
	c->all_next = all_calls;
	c->all_pprev = &all_calls;
	if (all_calls)
		all_calls->all_pprev = &c->all_next;
	all_calls = c;
}

static inline struct call *
call_alloc_inline(void)
{
	struct call *c = call_get_inline();
	if (!c)
		return NULL;
	c->next = NULL;
	c->caller = NULL;
	c->target = NULL;
	c->params = NULL;
	c->nxfer = 0;
	c->state = 0;
	c->deadline = 0;
	call_link_inline(c);
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
		kobj_unref_inline(c->target);
	if (c->params)
		kfree(c->params);
	if (call_ncached < CALL_CACHE)
		call_cache[call_ncached++] = c;
	else
		kfree(c);
}

/*
 * Endpoints (endpoint.c owns them; the fast path in cap/fastpath.h, which
 * ring.c inlines into cap_enter, reads and changes them too).
 */
struct recv {
	struct recv *next;
	struct proc *p;
	uint64_t user_data, buf;
	uint32_t len, accept;
};

struct endpoint {
	struct kobj k;		/* first: struct kobj * <-> struct endpoint * */
	struct endpoint *next;
	uint32_t server_refs;
	bool dead;
	struct call *q_head, *q_tail;
	uint32_t nqueued;
	struct recv *recvs;
	struct call *in_service;
};

/* Freed receive records are kept for reuse (the serve loop posts one per request). */
#define RECV_CACHE 32
extern struct recv *recv_cache[RECV_CACHE];
extern uint32_t nrecv_cached;

static inline struct recv *
recv_alloc(void)
{
	return nrecv_cached ? recv_cache[--nrecv_cached] : kmalloc(sizeof(struct recv));
}

static inline void
recv_free(struct recv *r)
{
	if (nrecv_cached < RECV_CACHE)
		recv_cache[nrecv_cached++] = r;
	else
		kfree(r);
}

/* Receives are served in the order they were posted. */
static inline void
recv_append(struct endpoint *e, struct recv *r)
{
	struct recv **pp = &e->recvs;
	while (*pp)
		pp = &(*pp)->next;
	*pp = r;
}

/* The link to the in-service call with this token, or NULL. */
static inline struct call **
in_service_find(struct endpoint *e, uint32_t token)
{
	struct call **pp = &e->in_service;
	while (*pp && (*pp)->token != token)
		pp = &(*pp)->next;
	return *pp ? pp : NULL;
}

/* RECV with RING_RECV_REPLY, validated but for the token: reply, then receive (endpoint.c). */
int endpoint_reply_recv(struct proc *p, struct kobj *o, const struct ring_sqe *s, int32_t *detail);

#endif
