/*
 * The IPC fast path (docs/kernel-abi.md, "Fast path"): included by ring.c
 * only, so that cap_enter runs it inline, with no call per submission.
 * Each function checks, then acts: when any condition does not hold it
 * returns false before changing anything and the general path decodes the
 * same submission from scratch, so every error completion is the slow
 * path's. The endpoint state it works on belongs to endpoint.c (cap/ipc.h).
 */
#ifndef CAPOS_CAP_FASTPATH_H
#define CAPOS_CAP_FASTPATH_H

#include "cap/ipc.h"

/* user_range_ok without a call for empty buffers or a hit on the VMA hint. */
static inline __attribute__((always_inline)) bool
range_ok(struct proc *p, uint64_t va, uint64_t len, bool write)
{
	return !len || user_range_hint_ok(p, va, len, write) || user_range_ok(p, va, len, write);
}

/* The endpoint named by cap when p holds it LIVE with facet f; else NULL. */
static inline __attribute__((always_inline)) struct endpoint *
fast_endpoint(struct proc *p, capid_t cap, uint8_t f)
{
	uint32_t i = CAPID_SLOT(cap);
	if (i == 0 || i >= CAP_SLOTS)
		return NULL;
	struct cap_slot *sl = &p->caps.slot[i];
	if (sl->state != SLOT_LIVE || sl->gen != CAPID_GEN(cap) || !(sl->facet & f) ||
	    sl->obj->type != KO_ENDPOINT)
		return NULL;
	return (struct endpoint *)sl->obj;
}

/* CALL, no transfers, meets the first posted RECV (which it fits): deliver now. */
static inline __attribute__((always_inline)) bool
fast_call(struct proc *p, const struct ring_sqe *s)
{
	struct endpoint *e = fast_endpoint(p, s->cap, FACET_CALL);
	struct recv *r;
	struct call *c;

	if (!e || s->flags || s->token || s->xfer_count || e->dead || !(r = e->recvs))
		return false;
	/* r->len <= RING_MAX_MSG was checked at RECV */
	if (s->params_len > r->len || s->result_len > RING_MAX_MSG ||
	    !range_ok(p, s->params, s->params_len, false) ||
	    !range_ok(p, s->result, s->result_len, true))
		return false;
	/* Before anything changes: a demand-zero page of the receive buffer may
	 * need a frame (uaccess.c); out of memory the slow path fails the call. */
	if (s->params_len && copy_user_to_user(r->p, r->buf, p, s->params, s->params_len) < 0)
		return false;
	if (!(c = call_get_inline()))
		return false;
	c->caller = p;
	c->target = &e->k;
	kobj_ref_inline(&e->k);
	c->user_data = s->user_data;
	c->result_va = s->result;
	c->result_len = s->result_len;
	c->method = s->method;
	/* c->badge is not set: only deliver() reads it, and this call is
	 * delivered here; the badge goes straight from the slot fast_endpoint
	 * checked into the completion (3 instructions fewer per round trip
	 * than through the record: docs/kernel-abi.md, "Benchmark") */
	c->params = NULL;
	c->params_va = s->params;
	c->params_len = s->params_len;
	c->nxfer = 0;
	c->deadline = 0;
	c->state = CALL_IN_SERVICE;
	c->server = r->p;	/* endpoint_proc_gone fails it if r->p dies */
	c->next = e->in_service;
	call_link_inline(c);
	e->in_service = c;
	p->inflight++;
	e->recvs = r->next;
	r->p->inflight--;
	ring_post_short(r->p, r->user_data, (int32_t)s->params_len, 0, s->params_len, s->method,
			c->token, p->caps.slot[CAPID_SLOT(s->cap)].badge);
	recv_free(r);
	return true;
}

/*
 * The reply half of a fast RETURN or RECV|REPLY: the link to the in-service
 * call `token` when its caller is alive and the results (no caps) fit its
 * buffer; else NULL (the slow path decides).
 */
static inline __attribute__((always_inline)) struct call **
fast_reply_find(struct proc *p, struct endpoint *e, const struct ring_sqe *s)
{
	struct call **pp;

	if (s->params_len > RING_MAX_MSG || !range_ok(p, s->params, s->params_len, false) ||
	    !(pp = in_service_find(e, s->token)) || !(*pp)->caller || s->params_len > (*pp)->result_len)
		return NULL;
	return pp;
}

/* Finish the call at *pp with the results in s (fast_reply_find said yes). */
static inline __attribute__((always_inline)) void
fast_reply(struct proc *p, struct call **pp, const struct ring_sqe *s, bool exception)
{
	struct call *c = *pp;
	struct proc *caller = c->caller;
	int32_t res = exception ? RING_E_EXCEPTION : (int32_t)s->params_len;
	int32_t detail = 0;
	uint32_t len = s->params_len;

	*pp = c->next;
	if (len && (detail = copy_user_to_user(caller, c->result_va, p, s->params, len)) < 0) {
		res = RING_E_INVALID_RESULT;	/* as complete() does; E_NOMEM: no frame for a demand-zero page */
		len = 0;
	}
	caller->inflight--;
	ring_post_short(caller, c->user_data, res, detail, len, 0, 0, 0);
	call_free_inline(c);
}

/* RETURN, no transfers, results that fit, to a caller that is still there. */
static inline __attribute__((always_inline)) bool
fast_return(struct proc *p, const struct ring_sqe *s)
{
	struct endpoint *e = fast_endpoint(p, s->cap, FACET_SERVER);
	struct call **pp;

	if (!e || (s->flags & ~RING_RET_EXCEPTION) || s->result || s->result_len || s->xfer_count ||
	    !(pp = fast_reply_find(p, e, s)))
		return false;
	fast_reply(p, pp, s, s->flags & RING_RET_EXCEPTION);
	ring_post_short(p, s->user_data, 0, 0, 0, 0, 0, 0);
	return true;
}

/* RECV on an endpoint with no queued call, after a fast reply when asked: post the receive. */
static inline __attribute__((always_inline)) bool
fast_recv(struct proc *p, const struct ring_sqe *s)
{
	struct endpoint *e = fast_endpoint(p, s->cap, FACET_SERVER);
	struct call **pp = NULL;
	struct recv *r;

	if (!e || s->xfer_count > RING_MAX_XFER || e->dead || e->q_head || s->result_len > RING_MAX_MSG ||
	    !range_ok(p, s->result, s->result_len, true))
		return false;
	if (s->flags & RING_RECV_REPLY) {
		if ((s->flags & ~(RING_RECV_REPLY | RING_RECV_REPLY_EXCEPTION)) || !(pp = fast_reply_find(p, e, s)))
			return false;
	} else if (s->flags || s->token || s->params || s->params_len) {
		return false;
	}
	if (!(r = recv_alloc()))
		return false;
	if (pp)
		fast_reply(p, pp, s, s->flags & RING_RECV_REPLY_EXCEPTION);
	r->next = NULL;
	r->p = p;
	r->user_data = s->user_data;
	r->buf = s->result;
	r->len = s->result_len;
	r->accept = s->xfer_count;
	p->inflight++;
	recv_append(e, r);
	return true;
}

/*
 * Try submission s (already copied out of p's SQ) on the fast path: a CALL
 * without transfers that meets a posted RECV, a RETURN without transfers
 * to a live caller, a RECV (with or without a reply) on an endpoint with
 * no queued call. True when it was carried out (its completions are
 * posted); false when any precondition does not hold, with nothing changed.
 */
static inline __attribute__((always_inline)) bool
endpoint_fast(struct proc *p, const struct ring_sqe *s)
{
	if (s->reserved)
		return false;
	if (s->opcode == RING_OP_CALL)
		return fast_call(p, s);
	if (s->opcode == RING_OP_RETURN)
		return fast_return(p, s);
	if (s->opcode == RING_OP_RECV)
		return fast_recv(p, s);
	return false;
}

#endif
