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
