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
};
typedef int (*rt_handler)(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
			  struct ring_xfer *out, uint32_t *nout);
/* Serve endpoint ep until the handler returns < 0 (then returns that). */
int rt_serve(capid_t ep, uint32_t accept_caps, rt_handler h, void *ctx);
int rt_return(capid_t ep, uint32_t token, const void *res, uint32_t len, const struct ring_xfer *x,
	      uint32_t nx, bool exception);
/* Serialized Exception into buf; returns its length. */
int rt_exception(void *buf, size_t cap, unsigned type, const char *reason);

#endif
