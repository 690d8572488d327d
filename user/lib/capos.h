/*
 * The capOS userspace runtime (docs/processes.md). A program defines
 * `int main(void)`; crt0 and rt_start set up the ring and the bootstrap
 * view, then call it and exit with its return value.
 *
 * Layers: raw syscalls and ring entries (rt_submit, rt_reap), a blocking
 * call (rt_call), capnp message helpers, caps by name from the bootstrap
 * page with an interface check (rt_cap), result-cap adoption with an
 * interface check (rt_adopt), a print over the Console cap, a small heap,
 * and a serve loop for endpoints (rt_serve).
 */
#ifndef CAPOS_USER_H
#define CAPOS_USER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "abi/ring.h"
#include "base/err.h"
#include "base/mem.h"
#include "capnp/capnp.h"

int main(void);

extern const struct bootstrap_page *rt_boot;
extern struct ring_page *rt_ring;

/* System calls. */
int64_t sys_cap_enter(uint32_t min_complete, uint64_t timeout_ns);
__attribute__((noreturn)) void sys_exit(int code);

/* Ring. rt_submit copies e into the SQ (cap_enter is not called);
 * rt_reap pops one completion, waiting for it when block is set. */
int rt_submit(const struct ring_sqe *e);
bool rt_reap(struct ring_cqe *out, bool block);
/* Submit one CALL and wait for its completion (other completions that
 * arrive meanwhile are kept and returned by later rt_reap calls). */
int rt_call(capid_t cap, uint16_t method, const void *params, uint32_t plen, void *res,
	    uint32_t rlen, const struct ring_xfer *x, uint32_t nx, struct ring_cqe *cqe);
int rt_release(capid_t cap);

/* Caps by name from the bootstrap page: 0 when absent or of another interface. */
capid_t rt_cap(const char *name, uint64_t iid);
/* Take received cap i of a completion if its interface is iid; else release it, return 0. */
capid_t rt_adopt(const struct ring_cqe *c, uint32_t i, uint64_t iid);

/* capnp messages: a builder over a static arena; rt_msg_end writes the
 * framed message to out and returns its length. */
struct capnp_builder *rt_msg_begin(void);
int rt_msg_end(void *out, size_t cap);
/* Read a completion's result buffer as a message; fills *root. */
int rt_msg_read(struct capnp_msg *m, const void *buf, uint32_t len, struct capnp_struct *root);
/* The exception type carried by a RING_E_EXCEPTION completion, or -1. */
int rt_exception_type(const void *buf, uint32_t len);

/* Console: formatted line over the cap named "console"; E_PERM without one. */
int rt_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Heap: USER_HEAP_PAGES at USER_HEAP_VA. */
void *rt_alloc(size_t n);
void rt_free(void *p);

/* Serving: handler gets the method, params and received caps, writes
 * results into res (capacity *rlen, set to the length), may fill out caps
 * (*nout) to transfer back. Return 0, or an ExceptionType value + 1 to
 * raise that exception. */
struct rt_request {
	uint16_t method;
	const uint8_t *params;
	uint32_t plen;
	uint32_t ncaps;
	capid_t caps[RING_MAX_XFER];
	uint64_t iids[RING_MAX_XFER];
	uint32_t token;
	uint32_t badge;		/* of the cap the client called through (RING_XFER_MINT); 0: unbadged */
};
typedef int (*rt_handler)(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
			  struct ring_xfer *out, uint32_t *nout);
/* Serve endpoint ep until the handler returns < 0 (then returns that). */
int rt_serve(capid_t ep, uint32_t accept_caps, rt_handler h, void *ctx);
int rt_return(capid_t ep, uint32_t token, const void *res, uint32_t len, const struct ring_xfer *x,
	      uint32_t nx, bool exception);
/* Serialized Exception into buf; returns its length. */
int rt_exception(void *buf, size_t cap, unsigned type, const char *reason);

/*
 * Typed calls and dispatch: the runtime side of the stubs capnpc-c emits
 * under CAPOS_USER (docs/capnp.md, "Client stubs and server dispatch").
 *
 * Client: I_m_begin(&params) opens the params message (its own arena, not
 * rt_msg_begin's), the generated setters fill it, I_m_call(cap, &cl, &res)
 * sends it with rt_call, checks the completion and decodes the results
 * root into res (pointing into cl.msg and cl's result buffer). Returns 0,
 * a base/err.h code for a transport or decoding failure (the kernel's
 * detail code when it gave one), or RT_E_EXCEPTION(type) when the server
 * raised an Exception. Result caps: S_adopt_x(res, &cl.cqe) (generated for
 * interface-typed fields) adopts the cap only when its interface id is
 * the field's interface (rt_adopt).
 */
#define RT_E_EXCEPTION_BASE	(-1000)
#define RT_E_EXCEPTION(type)	(RT_E_EXCEPTION_BASE - (int)(type))
#define RT_IS_EXCEPTION(r)	((r) <= RT_E_EXCEPTION_BASE && (r) > RT_E_EXCEPTION_BASE - 0x10000)
#define RT_EXCEPTION_TYPE(r)	(RT_E_EXCEPTION_BASE - (r))

struct rt_call {
	const struct ring_xfer *xfer;	/* caps sent with the params (may be NULL) */
	uint32_t nxfer;
	void *buf;			/* result buffer; NULL: the runtime's own (16 KiB) */
	uint32_t buflen;
	struct ring_cqe cqe;		/* the completion: length, received caps */
	struct capnp_msg msg;		/* the results message the root points into */
};
int rt_params_begin(uint16_t data_words, uint16_t ptr_words, struct capnp_bstruct *root);
int rt_invoke(capid_t cap, uint16_t method, struct rt_call *cl, struct capnp_struct *results);

/*
 * Server: a generated I_dispatch is an rt_handler whose ctx is a
 * struct I_Server (ctx + one function pointer per method, NULL =
 * unimplemented). It decodes the params (empty params: every field its
 * default), opens the results root, calls the method and writes the
 * results; malformed params raise invalidArgument, unknown ordinals
 * unimplemented (received caps released). A method returns 0, an
 * ExceptionType + 1, or < 0 to stop rt_serve; it may put up to
 * RING_MAX_XFER caps to send back in a->caps[0..a->ncaps).
 */
struct rt_answer {
	struct ring_xfer *caps;
	uint32_t ncaps;
};
int rt_dispatch_begin(const struct rt_request *rq, struct capnp_struct *params, uint16_t data_words,
		      uint16_t ptr_words, struct capnp_bstruct *results);
int rt_dispatch_end(int r, const struct rt_answer *a, void *res, uint32_t *rlen, uint32_t *nout);
int rt_dispatch_unimplemented(const struct rt_request *rq);

#endif
