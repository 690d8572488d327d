/*
 * Endpoints: how a process serves an interface.
 *
 * The server holds the endpoint with FACET_SERVER (RECV, RETURN); clients
 * hold FACET_CALL slots to the same object. A CALL meets either a posted
 * RECV (delivered at once: params copied into the receiver's buffer, caps
 * committed into its table) or waits in a FIFO of at most RING_MAX_QUEUED
 * calls (beyond that: `overloaded`). A delivered call is "in service" under
 * a token until the server RETURNs it; the receive completion carries the
 * badge of the cap the client called through (0: unbadged), so a server
 * that hands each client its own minted cap (RING_XFER_MINT) knows whose
 * call it is. When the last server facet goes
 * (release, or the server's death), every queued and in-service call
 * completes with `disconnected`, and later calls fail the same way.
 *
 * A process that dies while another server facet survives (init keeps one
 * of each export of a restartable service, docs/init.md) takes with it only
 * what it had: its posted receives vanish and the calls it had received but
 * not returned complete with `disconnected` (endpoint_proc_gone). Queued
 * calls stay queued for the next receiver.
 */
#include "proc/proc.h"
#include "cap/ipc.h"
#include "kernel.h"
#include "mm/heap.h"
#include "schema/exception.capnp.h"

static struct endpoint *endpoints;

/* Freed receive records are kept for reuse (cap/ipc.h). */
struct recv *recv_cache[RECV_CACHE];
uint32_t nrecv_cached;

void endpoint_facet_get(struct kobj *o, uint8_t facet);
void endpoint_facet_put(struct kobj *o, uint8_t facet);

struct kobj *
endpoint_create(uint64_t iid)
{
	struct endpoint *e = kmalloc(sizeof *e);
	if (!e)
		return NULL;
	e->k.iid = iid;
	e->k.type = KO_ENDPOINT;
	e->k.gen = 1;
	e->next = endpoints;
	endpoints = e;
	return &e->k;
}

void
endpoint_facet_get(struct kobj *o, uint8_t facet)
{
	if (facet & FACET_SERVER)
		((struct endpoint *)o)->server_refs++;
}

void
endpoint_facet_put(struct kobj *o, uint8_t facet)
{
	struct endpoint *e = (struct endpoint *)o;
	if ((facet & FACET_SERVER) && --e->server_refs == 0)
		endpoint_server_gone(o);
}

/* Try to hand call c to receive r; false when refused (r stays posted). */
static bool
deliver(struct endpoint *e, struct recv *r, struct call *c)
{
	struct ring_cqe cqe = { .user_data = r->user_data };
	int err;

	if (c->params_len > r->len) {
		call_complete(c, RING_E_INVOKE_FAILED, E_TOOBIG, NULL, 0, NULL, 0);
		return false;
	}
	/* The params first, so that nothing is committed when they cannot land:
	 * a demand-zero page of the buffer may need a frame (uaccess.c); out of
	 * memory the call fails E_NOMEM and the receive stays posted (its
	 * buffer is the server's scratch until a completion says otherwise). */
	err = c->params ? copy_to_user(r->p, r->buf, c->params, c->params_len)	/* checked at RECV and CALL */
			: copy_user_to_user(r->p, r->buf, c->caller, c->params_va, c->params_len);
	if (err < 0 || (err = xfer_commit(r->p, c->x, c->nxfer, r->accept, cqe.caps, cqe.iids)) < 0) {
		/* refused: call_free rolls the reserved caps back to the caller */
		call_complete(c, RING_E_INVOKE_FAILED, err, NULL, 0, NULL, 0);
		return false;
	}
	cqe.ncaps = (uint16_t)c->nxfer;
	c->nxfer = 0;
	cqe.result = (int32_t)c->params_len;
	cqe.len = c->params_len;
	cqe.method = c->method;
	cqe.token = c->token;
	cqe.badge = c->badge;
	r->p->inflight--;
	ring_post(r->p, &cqe);
	c->state = CALL_IN_SERVICE;
	c->server = r->p;
	c->next = e->in_service;
	e->in_service = c;
	return true;
}

static struct call *
q_pop(struct endpoint *e)
{
	struct call *c = e->q_head;
	if (c) {
		e->q_head = c->next;
		if (!e->q_head)
			e->q_tail = NULL;
		e->nqueued--;
		c->next = NULL;
	}
	return c;
}

void
endpoint_call(struct kobj *o, struct call *c)
{
	struct endpoint *e = (struct endpoint *)o;

	if (e->dead) {
		call_complete_exception(c, ExceptionType_disconnected, "endpoint has no server");
		return;
	}
	while (e->recvs) {
		struct recv *r = e->recvs;
		e->recvs = r->next;
		if (deliver(e, r, c)) {
			recv_free(r);
			return;
		}
		r->next = e->recvs;	/* refused: the call is finished, the receive stays */
		e->recvs = r;
		return;
	}
	if (e->nqueued >= RING_MAX_QUEUED) {
		call_complete_exception(c, ExceptionType_overloaded, "endpoint queue full");
		return;
	}
	if (c->params_len && !c->params) {	/* snapshot: the caller may reuse its buffer */
		if (!(c->params = kmalloc(c->params_len))) {
			call_complete_exception(c, ExceptionType_overloaded, "out of memory");
			return;
		}
		copy_from_user(c->caller, c->params, c->params_va, c->params_len);
	}
	c->state = CALL_QUEUED;
	c->next = NULL;
	if (e->q_tail)
		e->q_tail->next = c;
	else
		e->q_head = c;
	e->q_tail = c;
	e->nqueued++;
}

/* Post receive r (allocated) for s on e: a queued call is delivered at once. */
static void
recv_post(struct endpoint *e, struct proc *p, struct recv *r, const struct ring_sqe *s)
{
	struct call *c;

	*r = (struct recv){ .p = p, .user_data = s->user_data, .buf = s->result,
			    .len = s->result_len, .accept = s->xfer_count };
	p->inflight++;
	while ((c = q_pop(e))) {
		if (c->caller == NULL) {	/* the caller died while queued */
			call_free(c);
			continue;
		}
		if (deliver(e, r, c)) {
			recv_free(r);
			return;
		}
	}
	recv_append(e, r);
}

int
endpoint_recv(struct proc *p, struct kobj *o, const struct ring_sqe *s)
{
	struct endpoint *e = (struct endpoint *)o;
	if (e->dead)
		return E_DISCONNECTED;
	struct recv *r = recv_alloc();
	if (!r)
		return E_NOMEM;
	recv_post(e, p, r, s);
	return 0;
}

int
endpoint_return(struct proc *p, struct kobj *o, const struct ring_sqe *s, int32_t *detail)
{
	struct endpoint *e = (struct endpoint *)o;
	struct call **pp = in_service_find(e, s->token), *c;
	struct ring_xfer xs[RING_MAX_XFER];
	struct xfer x[RING_MAX_XFER];
	int r;

	if (!pp)
		return *detail = E_NOENT, RING_E_INVALID_REQUEST;
	if (s->xfer_count) {	/* none: nothing to read or reserve */
		if (copy_from_user(p, xs, s->xfer, s->xfer_count * sizeof xs[0]) < 0)
			return *detail = E_RANGE, RING_E_INVALID_REQUEST;
		if ((r = xfer_reserve(p, xs, s->xfer_count, x)) < 0)
			return *detail = r, RING_E_INVALID_REQUEST;
	}
	c = *pp;
	*pp = c->next;
	*detail = s->params_len > c->result_len ? E_TOOBIG : 0;
	int32_t res = (s->flags & RING_RET_EXCEPTION) ? RING_E_EXCEPTION : (int32_t)s->params_len;
	call_complete_user(c, res, p, s->params, s->params_len, x, s->xfer_count);	/* range checked */
	return 0;
}

/*
 * RECV with RING_RECV_REPLY (the ring checked the facet, the flags and both
 * buffers): RETURN the call `token` without caps, then receive. Everything
 * that can refuse is checked first, so a refusal changes nothing. Results
 * that do not fit the caller's buffer fail the caller's call, as a RETURN
 * does; the server is not told (a RETURN's completion would say E_TOOBIG).
 */
int
endpoint_reply_recv(struct proc *p, struct kobj *o, const struct ring_sqe *s, int32_t *detail)
{
	struct endpoint *e = (struct endpoint *)o;
	struct call **pp, *c;
	struct recv *r;

	if (e->dead)
		return *detail = E_DISCONNECTED, RING_E_INVOKE_FAILED;
	if (!(pp = in_service_find(e, s->token)))
		return *detail = E_NOENT, RING_E_INVALID_REQUEST;
	if (!(r = recv_alloc()))
		return *detail = E_NOMEM, RING_E_INVOKE_FAILED;
	c = *pp;
	*pp = c->next;
	int32_t res = (s->flags & RING_RECV_REPLY_EXCEPTION) ? RING_E_EXCEPTION : (int32_t)s->params_len;
	call_complete_user(c, res, p, s->params, s->params_len, NULL, 0);	/* range checked */
	recv_post(e, p, r, s);
	return 0;
}

void
endpoint_server_gone(struct kobj *o)
{
	struct endpoint *e = (struct endpoint *)o;
	struct call *c;

	e->dead = true;
	kobj_ref(o);	/* completing calls drops their references to o */
	while ((c = q_pop(e)))
		call_complete_exception(c, ExceptionType_disconnected, "server gone");
	while ((c = e->in_service)) {
		e->in_service = c->next;
		call_complete_exception(c, ExceptionType_disconnected, "server gone");
	}
	struct recv *r;
	while ((r = e->recvs)) {
		e->recvs = r->next;
		struct ring_cqe cqe = { .user_data = r->user_data, .result = RING_E_INVOKE_FAILED,
					.detail = E_DISCONNECTED };
		r->p->inflight--;
		ring_post(r->p, &cqe);
		recv_free(r);
	}
	kobj_unref(o);
}

/* p is ending: its posted receives go away without completions. */
void
endpoint_forget_proc(struct proc *p)
{
	for (struct endpoint *e = endpoints; e; e = e->next) {
		struct recv **pp = &e->recvs;
		while (*pp) {
			if ((*pp)->p == p) {
				struct recv *r = *pp;
				*pp = r->next;
				recv_free(r);
			} else {
				pp = &(*pp)->next;
			}
		}
	}
}

/*
 * p is ending: every call it received and has not returned completes with
 * `disconnected` now, whoever else still holds a server facet (nobody else
 * knows the call's token). Runs before p's caps are released.
 */
void
endpoint_proc_gone(struct proc *p)
{
	struct endpoint *e = endpoints;

	while (e) {
		kobj_ref(&e->k);	/* completing a call drops its reference to e */
		struct call **pp = &e->in_service;
		while (*pp) {
			struct call *c = *pp;
			if (c->server != p) {
				pp = &c->next;
				continue;
			}
			*pp = c->next;
			call_complete_exception(c, ExceptionType_disconnected, "server gone");
		}
		struct endpoint *next = e->next;
		kobj_unref(&e->k);	/* may free e (and only e): read next first */
		e = next;
	}
}

void
endpoint_destroy(struct kobj *o)
{
	struct endpoint *e = (struct endpoint *)o;
	for (struct endpoint **pp = &endpoints; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	kfree(e);
}
