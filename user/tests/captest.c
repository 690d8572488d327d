/*
 * captest: the test services of issue 4 in one binary; the role comes from
 * the process name the manifest gave it (rt_boot->name). Each check prints
 * `captest: <name> <check> result=pass|fail ...` through the Console cap.
 *
 *   hello            print and exit
 *   echo-server      serves Echo; newCounter returns a copy of its "counter"
 *                    grant as a result cap (a cap served by counter-server)
 *   counter-server   serves Counter
 *   echo-demo        the default image's client: one echo call, clock, entropy
 *   echo-client      the IPC checks: echo, result cap adoption and use,
 *                    copy/move/refused move, forged/stale/released/
 *                    wrong-interface CapIds, malformed ring entries
 *   faulter          writes to an unmapped address
 *   noconsole        tries to print without a Console cap; exits 42 if refused
 *   sink             receives one call, then faults with calls pending
 *   sink-client*     calls sink; expects `disconnected`
 *   stress*          thousands of echo calls, several in flight; checks
 *                    that every completion arrives exactly once
 *   spinner          spins without system calls for a few seconds (preemption)
 *   bench            instruction counts (rdtsc under -icount) of IPC paths
 *   fpu-*            x87/SSE registers survive preemption by another fpu-*
 *   rs-server        (restart onFailure) serves Echo, replies "pid=N"; the
 *                    data "crash" makes it fault with that call in service
 *   rs-client        crash call + queued call, then a call after the restart
 *   rs-crasher       (restart onFailure) faults at once, every time
 *   rs-crasher-client  one call to rs-crasher's export: `disconnected` at
 *                    the latest when init gives up, never a hang
 *   rs-always        (restart always) exits 0
 *   rs-never         (restart never) faults
 *   reclaimer        spawns reclaim-child (exits at once) RECLAIM_ROUNDS
 *                    times through ProcessSpawner: spawn, wait, release;
 *                    then spawns spin-child (spins, no system calls) and
 *                    kills it through its ProcessHandle (on SMP: while it
 *                    runs on the other CPU)
 */
#include "capos.h"
#include "spawn.h"
#include "schema/base.capnp.h"
#include "schema/exception.capnp.h"
#include "schema/ipc.capnp.h"
#include "schema/process.capnp.h"
#include "schema/types.capnp.h"
#include "fmt/fmt.h"

static uint64_t pbuf[1024], rbuf[1024];
static int failures;

#define CHECK(tname, cond, fmt, ...) do {					\
	bool ok_ = (cond);							\
	if (!ok_)								\
		failures++;							\
	rt_print("captest: %s %s result=%s " fmt, rt_boot->name, tname,		\
		 ok_ ? "pass" : "fail", ##__VA_ARGS__);				\
} while (0)

static bool
prefix(const char *s, const char *p)
{
	return memcmp(s, p, strlen(p)) == 0;
}

/* ---- servers ---- */

static uint64_t counter_value;

static int
counter_next(void *ctx, const struct rt_request *rq, Counter_next_Params_R p, Counter_next_Results_B r,
	     struct rt_answer *a)
{
	Counter_next_Results_set_value(r, ++counter_value);
	return 0;
}

static const struct Counter_Server counter_server = { .next = counter_next };

static int
counter_handler(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
		 struct ring_xfer *out, uint32_t *nout)
{
	return Counter_dispatch((void *)&counter_server, rq, res, rlen, out, nout);
}

static capid_t counter_grant;

/* Echo through the generated dispatch (Echo_Server, Echo_dispatch). */
static int
echo_echo(void *ctx, const struct rt_request *rq, Echo_echo_Params_R p, Echo_echo_Results_B r,
	  struct rt_answer *a)
{
	struct capnp_data d;
	if (Echo_echo_Params_get_data(p, &d) < 0)
		return ExceptionType_invalidArgument + 1;
	return Echo_echo_Results_set_data(r, d.ptr, d.len) < 0 ? ExceptionType_failed + 1 : 0;
}

static int
echo_new_counter(void *ctx, const struct rt_request *rq, Echo_newCounter_Params_R p,
		 Echo_newCounter_Results_B r, struct rt_answer *a)
{
	if (!counter_grant)
		return ExceptionType_unimplemented + 1;
	Echo_newCounter_Results_set_counter(r, 0);
	a->caps[0] = (struct ring_xfer){ counter_grant, RING_XFER_COPY };
	a->ncaps = 1;
	return 0;
}

static int
echo_take(void *ctx, const struct rt_request *rq, Echo_take_Params_R p, Echo_take_Results_B r,
	  struct rt_answer *a)
{
	Echo_take_Results_set_accepted(r, rq->ncaps == 1);
	/* Use the cap we were given (a Console in the tests), then drop it. */
	if (rq->ncaps == 1)
		rt_release(rq->caps[0]);
	return 0;
}

static const struct Echo_Server echo_server = {
	.echo = echo_echo, .newCounter = echo_new_counter, .take = echo_take,
};

static int
echo_handler(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
	     struct ring_xfer *out, uint32_t *nout)
{
	/* Null-call fast path (bench null_call_rt): empty params, empty results. */
	if (rq->method == Echo_echo_ORDINAL && rq->plen == 0) {
		*rlen = 0;
		return 0;
	}
	return Echo_dispatch((void *)&echo_server, rq, res, rlen, out, nout);
}

/* A manifest export may leave its interface id unspecified (0). */
static capid_t
cap_iid(const char *name, uint64_t iid)
{
	capid_t c = rt_cap(name, iid);
	return c ? c : rt_cap(name, 0);
}

static int
serve(const char *export, uint64_t iid, uint32_t accept, rt_handler h)
{
	capid_t ep = cap_iid(export, iid);
	if (!ep) {
		rt_print("captest: %s no endpoint %s", rt_boot->name, export);
		return 1;
	}
	counter_grant = rt_cap("counter", Counter_TYPE_ID);
	rt_print("captest: %s serving %s", rt_boot->name, export);
	return rt_serve(ep, accept, h, NULL) < 0 ? 2 : 0;
}

/* ---- echo-client: the IPC checks ---- */

static int
echo_call(capid_t echo, const char *text, struct ring_cqe *c)
{
	Echo_echo_Params_B p;
	Echo_echo_Params_init_root(rt_msg_begin(), &p);
	Echo_echo_Params_set_data(p, text, strlen(text));
	int n = rt_msg_end(pbuf, sizeof pbuf);
	return rt_call(echo, Echo_echo_ORDINAL, pbuf, (uint32_t)n, rbuf, sizeof rbuf, NULL, 0, c);
}

static int
take_call(capid_t echo, const struct ring_xfer *x, uint32_t nx, struct ring_cqe *c)
{
	Echo_take_Params_B p;
	Echo_take_Params_init_root(rt_msg_begin(), &p);
	Echo_take_Params_set_note(p, "t", 1);
	capnp_bptr_set_cap(Echo_take_Params_ptr_cap(p), 0);
	int n = rt_msg_end(pbuf, sizeof pbuf);
	return rt_call(echo, Echo_take_ORDINAL, pbuf, (uint32_t)n, rbuf, sizeof rbuf, x, nx, c);
}

/* Submit one raw SQE and return its completion. */
static struct ring_cqe
raw(struct ring_sqe e)
{
	struct ring_cqe c;
	e.user_data = 0xABCD0000u + e.opcode;
	rt_submit(&e);
	sys_cap_enter(1, 0);
	while (rt_reap(&c, true) && c.user_data != e.user_data)
		;
	return c;
}

static int
console_ping(capid_t con)
{
	Console_write_Params_B p;
	Console_write_Params_init_root(rt_msg_begin(), &p);
	Console_write_Params_set_text(p, "", 0);
	int n = rt_msg_end(pbuf, sizeof pbuf);
	return rt_call(con, Console_write_ORDINAL, pbuf, (uint32_t)n, rbuf, sizeof rbuf, NULL, 0, NULL);
}

/* The kernel-sourced caps (WallClock on the CMOS RTC, EntropySource on
 * RDRAND), when the manifest granted them. */
static void
check_kernel_sources(void)
{
	struct ring_cqe c;
	struct capnp_msg m;
	int r;

	capid_t clk = rt_cap("clock", WallClock_TYPE_ID);
	if (clk) {
		WallClock_now_Results_R wr;
		WallClockResult_R w;
		Timestamp_R ts;
		r = rt_call(clk, WallClock_now_ORDINAL, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
		int64_t secs = -1;
		if (r >= 0 && rt_msg_read(&m, rbuf, c.len, &wr.s) >= 0 &&
		    WallClock_now_Results_get_result(wr, &w) >= 0 &&
		    WallClockResult_which(w) == WallClockResult_which_time && WallClockResult_get_time(w, &ts) >= 0)
			secs = Timestamp_get_seconds(ts);
		/* after 2020-01-01 and before 2100: a plausible RTC reading */
		CHECK("wallclock", secs > 1577836800 && secs < 4102444800, "seconds=%ld", secs);
	}
	capid_t ent = rt_cap("entropy", EntropySource_TYPE_ID);
	if (ent) {
		EntropySource_getRandom_Params_B gp;
		EntropySource_getRandom_Results_R gr;
		EntropyResult_R er2;
		/* a kernel-served cap through the typed stub */
		r = EntropySource_getRandom_begin(&gp);
		if (r >= 0) {
			EntropySource_getRandom_Params_set_length(gp, 32);
			r = EntropySource_getRandom_call(ent, NULL, &gr);
		}
		const char *kind = "error";
		struct capnp_data bytes = { 0 };
		if (r >= 0 && EntropySource_getRandom_Results_get_result(gr, &er2) >= 0) {
			if (EntropyResult_which(er2) == EntropyResult_which_bytes &&
			    EntropyResult_get_bytes(er2, &bytes) >= 0 && bytes.len == 32)
				kind = "bytes";
			else if (EntropyResult_which(er2) == EntropyResult_which_unavailable)
				kind = "unavailable";
		}
		CHECK("entropy", strcmp(kind, "error") != 0, "outcome=%s", kind);
	}

}

/*
 * echo-demo: what the default image (manifests/system.json) runs: one echo
 * round trip through a served cap, then the kernel sources. The hostile
 * checks live in echo-client, which needs the test manifests' wiring.
 */
static int
echo_demo(void)
{
	capid_t echo = cap_iid("echo", Echo_TYPE_ID);

	CHECK("bootstrap", echo != 0, "echo=%#x", echo);
	if (!echo)
		return 1;
	static struct rt_call cl;	/* typed stub: Echo_echo_begin / _call */
	Echo_echo_Params_B p;
	Echo_echo_Results_R er;
	struct capnp_data d = { 0 };
	int r = Echo_echo_begin(&p);
	if (r >= 0)
		r = Echo_echo_Params_set_data(p, "hello through a capability", 26);
	if (r >= 0)
		r = Echo_echo_call(echo, &cl, &er);
	bool ok = r >= 0 && Echo_echo_Results_get_data(er, &d) >= 0 && d.len == 26 &&
		  memcmp(d.ptr, "hello through a capability", 26) == 0;
	CHECK("echo", ok, "r=%d reply=\"%.*s\"", r, (int)d.len, ok ? (const char *)d.ptr : "");
	check_kernel_sources();
	rt_print("captest: %s done failures=%d", rt_boot->name, failures);
	return failures ? 1 : 0;
}

static int
echo_client(void)
{
	struct ring_cqe c;
	struct capnp_msg m;
	capid_t echo = cap_iid("echo", Echo_TYPE_ID);
	capid_t con = rt_cap("console", Console_TYPE_ID);

	CHECK("bootstrap", echo && con, "echo=%#x console=%#x", echo, con);
	if (!echo)
		return 1;

	/* 1. a served cap: echo round trip */
	int r = echo_call(echo, "ping-42", &c);
	Echo_echo_Results_R er;
	struct capnp_data d = { 0 };
	bool ok = r >= 0 && rt_msg_read(&m, rbuf, c.len, &er.s) >= 0 &&
		  Echo_echo_Results_get_data(er, &d) >= 0 && d.len == 7 && memcmp(d.ptr, "ping-42", 7) == 0;
	CHECK("echo", ok, "r=%d len=%u", r, c.len);

	/* 2. result cap: newCounter returns a Counter served by another process */
	Echo_newCounter_Params_B np;
	Echo_newCounter_Params_init_root(rt_msg_begin(), &np);
	int n = rt_msg_end(pbuf, sizeof pbuf);
	/* through the typed stubs: the result cap is adopted only as a Counter */
	static struct rt_call cl;
	Echo_newCounter_Params_B tnp;
	Echo_newCounter_Results_R nr;
	r = Echo_newCounter_begin(&tnp);
	if (r >= 0)
		r = Echo_newCounter_call(echo, &cl, &nr);
	capid_t ctr = r >= 0 ? Echo_newCounter_Results_adopt_counter(nr, &cl.cqe) : 0;
	uint64_t vals[3] = { 0 };
	for (int i = 0; ctr && i < 3; i++) {
		Counter_next_Params_B cp;
		Counter_next_Results_R cr;
		if (Counter_next_begin(&cp) >= 0 && Counter_next_call(ctr, NULL, &cr) >= 0)
			vals[i] = Counter_next_Results_get_value(cr);
	}
	CHECK("result-cap", ctr && vals[1] == vals[0] + 1 && vals[2] == vals[1] + 1 && vals[0] >= 1,
	      "r=%d ncaps=%u values=%lu,%lu,%lu", r, cl.cqe.ncaps, vals[0], vals[1], vals[2]);

	/* 3. result-cap adoption refuses a wrong interface (and releases it) */
	r = rt_call(echo, Echo_newCounter_ORDINAL, pbuf, (uint32_t)n, rbuf, sizeof rbuf, NULL, 0, &c);
	capid_t wrong = r >= 0 ? rt_adopt(&c, 0, Console_TYPE_ID) : 1;
	struct ring_cqe cc;
	int after = c.ncaps ? rt_call(c.caps[0], Counter_next_ORDINAL, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &cc) : 0;
	CHECK("wrong-interface-adopt", wrong == 0 && after == RING_E_INVALID_REQUEST && cc.detail == E_STALE,
	      "adopted=%#x after=%d", wrong, after);
	CHECK("wrong-interface-bootstrap", rt_cap("console", Echo_TYPE_ID) == 0 && rt_cap("echo", Console_TYPE_ID) == 0, "");
	r = rt_call(con, 7, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	CHECK("wrong-method", r == RING_E_EXCEPTION && rt_exception_type(rbuf, c.len) == ExceptionType_unimplemented,
	      "r=%d", r);

	/* 4. copy transfer: our Console stays usable */
	struct ring_xfer x = { con, RING_XFER_COPY };
	r = take_call(echo, &x, 1, &c);
	CHECK("copy", r >= 0 && console_ping(con) >= 0, "r=%d", r);

	/* 5. a move the receiver refuses (it accepts one cap; we send two): both stay ours */
	struct ring_xfer x2[2] = { { con, RING_XFER_MOVE }, { ctr, RING_XFER_MOVE } };
	r = take_call(echo, x2, 2, &c);
	CHECK("move-refused", r == RING_E_INVOKE_FAILED && c.detail == E_PERM && console_ping(con) >= 0 &&
	      rt_call(ctr, Counter_next_ORDINAL, NULL, 0, rbuf, sizeof rbuf, NULL, 0, NULL) >= 0,
	      "r=%d detail=%d", r, c.detail);

	/* 6. move accepted: the moved CapId is stale afterwards */
	struct ring_xfer xm = { ctr, RING_XFER_MOVE };
	r = take_call(echo, &xm, 1, &c);
	int stale = rt_call(ctr, Counter_next_ORDINAL, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &cc);
	CHECK("move", r >= 0 && stale == RING_E_INVALID_REQUEST && cc.detail == E_STALE, "r=%d then=%d/%d",
	      r, stale, cc.detail);

	/* 7. forged, released and stale CapIds */
	r = rt_call(CAPID_MAKE(60, 7), 0, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	CHECK("forged", r == RING_E_INVALID_REQUEST && c.detail == E_STALE, "r=%d detail=%d", r, c.detail);
	r = rt_call(CAPID_MAKE(9999, 1), 0, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	CHECK("forged-slot", r == RING_E_INVALID_REQUEST && c.detail == E_BADF, "r=%d detail=%d", r, c.detail);
	r = rt_call(echo + 0x10000, 0, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	CHECK("wrong-generation", r == RING_E_INVALID_REQUEST && c.detail == E_STALE, "r=%d", r);
	/* get a second counter, release it, then use it */
	r = Echo_newCounter_begin(&tnp);
	if (r >= 0)
		r = Echo_newCounter_call(echo, &cl, &nr);
	capid_t c2 = r >= 0 ? Echo_newCounter_Results_adopt_counter(nr, &cl.cqe) : 0;
	int rel = rt_release(c2);
	int rel2 = rt_release(c2);
	r = rt_call(c2, Counter_next_ORDINAL, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	CHECK("released", c2 && rel == 0 && rel2 == E_STALE && r == RING_E_INVALID_REQUEST && c.detail == E_STALE,
	      "rel=%d rel2=%d r=%d", rel, rel2, r);

	/* 8. malformed ring entries: each is refused, nothing else changes */
	struct ring_cqe k;
	k = raw((struct ring_sqe){ .opcode = 99 });
	CHECK("bad-opcode", k.result == RING_E_UNSUPPORTED, "r=%d", k.result);
	k = raw((struct ring_sqe){ .opcode = RING_OP_NOP, .reserved = 1 });
	CHECK("reserved-nonzero", k.result == RING_E_INVALID_REQUEST, "r=%d", k.result);
	k = raw((struct ring_sqe){ .opcode = RING_OP_CALL, .cap = echo, .params = 0xFFFF800000001000ull, .params_len = 64,
				   .result = (uint64_t)rbuf, .result_len = 64 });
	CHECK("params-kernel-address", k.result == RING_E_INVALID_PARAMS, "r=%d", k.result);
	k = raw((struct ring_sqe){ .opcode = RING_OP_CALL, .cap = echo, .params = (uint64_t)pbuf, .params_len = 8,
				   .result = 0x400000, .result_len = 64 });
	CHECK("result-readonly-text", k.result == RING_E_INVALID_RESULT, "r=%d", k.result);
	k = raw((struct ring_sqe){ .opcode = RING_OP_CALL, .cap = echo, .params = (uint64_t)pbuf,
				   .params_len = RING_MAX_MSG + 1, .result = (uint64_t)rbuf, .result_len = 64 });
	CHECK("params-too-big", k.result == RING_E_INVALID_PARAMS, "r=%d", k.result);
	k = raw((struct ring_sqe){ .opcode = RING_OP_CALL, .cap = echo, .params = (uint64_t)(uintptr_t)rt_boot,
				   .params_len = 4096 + 8, .result = (uint64_t)rbuf, .result_len = 8 });
	CHECK("params-past-mapping", k.result == RING_E_INVALID_PARAMS, "r=%d", k.result);
	k = raw((struct ring_sqe){ .opcode = RING_OP_CALL, .cap = echo, .xfer_count = RING_MAX_XFER + 1 });
	CHECK("too-many-caps", k.result == RING_E_INVALID_REQUEST && k.detail == E_LIMIT, "r=%d", k.result);
	struct ring_xfer bx = { con, 7 };
	k = raw((struct ring_sqe){ .opcode = RING_OP_CALL, .cap = echo, .xfer = (uint64_t)&bx, .xfer_count = 1 });
	CHECK("bad-xfer-mode", k.result == RING_E_INVALID_REQUEST && console_ping(con) >= 0, "r=%d", k.result);
	k = raw((struct ring_sqe){ .opcode = RING_OP_RECV, .cap = echo, .result = (uint64_t)rbuf, .result_len = 64 });
	CHECK("recv-on-client-facet", k.result == RING_E_INVALID_REQUEST && k.detail == E_PERM, "r=%d", k.result);
	k = raw((struct ring_sqe){ .opcode = RING_OP_RETURN, .cap = echo, .token = 1 });
	CHECK("return-on-client-facet", k.result == RING_E_INVALID_REQUEST, "r=%d", k.result);
	/* malformed message: garbage params to a kernel object */
	memset(pbuf, 0xFF, 64);
	r = rt_call(con, Console_write_ORDINAL, pbuf, 64, rbuf, sizeof rbuf, NULL, 0, &c);
	CHECK("malformed-message", r == RING_E_EXCEPTION && rt_exception_type(rbuf, c.len) == ExceptionType_invalidArgument,
	      "r=%d", r);
	r = echo_call(echo, "still-alive", &c);
	CHECK("after-malformed", r >= 0, "r=%d", r);
	/* results larger than the caller's result buffer: the RETURN leaves the
	 * fast path and the caller gets the general path's error */
	Echo_echo_Params_B tp;
	Echo_echo_Params_init_root(rt_msg_begin(), &tp);
	Echo_echo_Params_set_data(tp, "longer than eight bytes", 23);
	n = rt_msg_end(pbuf, sizeof pbuf);
	r = rt_call(echo, Echo_echo_ORDINAL, pbuf, (uint32_t)n, rbuf, 8, NULL, 0, &c);
	CHECK("result-too-small", r == RING_E_INVALID_RESULT && c.detail == E_TOOBIG && c.len == 0,
	      "r=%d detail=%d len=%u", r, c.detail, c.len);
	r = echo_call(echo, "after-too-small", &c);
	CHECK("after-result-too-small", r >= 0, "r=%d", r);

	/* 9. kernel sources, when the manifest granted them */
	check_kernel_sources();

	rt_print("captest: %s done failures=%d", rt_boot->name, failures);
	return failures ? 1 : 0;
}

/* ---- sink: dies with calls pending ---- */

static int
sink(void)
{
	capid_t ep = cap_iid("sink", Echo_TYPE_ID);
	static uint8_t in[256];
	struct ring_sqe e = { .opcode = RING_OP_RECV, .cap = ep, .user_data = 1, .result = (uint64_t)in,
			      .result_len = sizeof in };
	struct ring_cqe c, k;
	/* RECV|REPLY refused (docs/kernel-abi.md): an error, no reply, no receive posted */
	struct ring_sqe rr = { .opcode = RING_OP_RECV, .flags = RING_RECV_REPLY, .cap = ep, .token = 0xFFFFFFF0u,
			       .result = (uint64_t)in, .result_len = sizeof in };
	k = raw(rr);
	CHECK("reply-unknown-token", k.result == RING_E_INVALID_REQUEST && k.detail == E_NOENT, "r=%d detail=%d",
	      k.result, k.detail);
	rr.flags = RING_RECV_REPLY_EXCEPTION;
	k = raw(rr);
	CHECK("reply-exception-without-reply", k.result == RING_E_INVALID_REQUEST && k.detail == E_INVAL, "r=%d",
	      k.result);
	rr.flags = RING_RECV_REPLY | 4;
	k = raw(rr);
	CHECK("reply-unknown-flag", k.result == RING_E_INVALID_REQUEST && k.detail == E_INVAL, "r=%d", k.result);
	rr.flags = RING_RECV_REPLY;
	rr.params = 0xFFFF800000001000ull;
	rr.params_len = 64;
	k = raw(rr);
	CHECK("reply-params-kernel-address", k.result == RING_E_INVALID_PARAMS && k.detail == E_RANGE, "r=%d",
	      k.result);
	rr.params = 0;
	rr.params_len = 0;
	rr.flags = 0;
	rr.token = 1;
	k = raw(rr);
	CHECK("recv-token-without-reply", k.result == RING_E_INVALID_REQUEST && k.detail == E_INVAL, "r=%d",
	      k.result);
	rt_print("captest: sink waiting");
	rt_submit(&e);
	sys_cap_enter(1, 0);
	rt_reap(&c, true);
	/* receives are served in order: a receive left behind above would have taken this call */
	CHECK("reply-refused-posts-nothing", c.user_data == 1 && c.result >= 0, "user_data=%lu r=%d",
	      (unsigned long)c.user_data, c.result);
	/* Keep a second receive posted and wait a while, so the other callers
	 * are delivered or queued; then die holding calls in service. */
	e.user_data = 2;
	rt_submit(&e);
	for (int i = 0; i < 3; i++)
		sys_cap_enter(2, 100000000);
	rt_print("captest: sink dying with calls pending");
	volatile uintptr_t bad = 8;
	*(volatile int *)bad = 1;
	return 0;
}

static int
sink_client(void)
{
	capid_t ep = cap_iid("sink", Echo_TYPE_ID);
	struct ring_cqe c;
	int r = rt_call(ep, Echo_echo_ORDINAL, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	CHECK("disconnected", r == RING_E_EXCEPTION && rt_exception_type(rbuf, c.len) == ExceptionType_disconnected,
	      "r=%d", r);
	r = rt_call(ep, Echo_echo_ORDINAL, NULL, 0, rbuf, sizeof rbuf, NULL, 0, &c);
	CHECK("disconnected-after", r == RING_E_EXCEPTION && rt_exception_type(rbuf, c.len) == ExceptionType_disconnected,
	      "r=%d", r);
	return failures;
}

/* ---- restart policies (user/tests/test-restart.json) ---- */

static void __attribute__((noreturn))
fault_now(void)
{
	volatile uintptr_t bad = 8;
	*(volatile int *)bad = 1;
	__builtin_unreachable();
}

static int
rs_handler(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
	   struct ring_xfer *out, uint32_t *nout)
{
	struct capnp_msg m;
	struct capnp_struct root;
	Echo_echo_Params_R p;
	Echo_echo_Results_B r;
	struct capnp_data d;
	char txt[24];

	if (rq->method != Echo_echo_ORDINAL || rt_msg_read(&m, rq->params, rq->plen, &root) < 0)
		return ExceptionType_invalidArgument + 1;
	p.s = root;
	if (Echo_echo_Params_get_data(p, &d) < 0)
		return ExceptionType_invalidArgument + 1;
	if (d.len == 5 && memcmp(d.ptr, "crash", 5) == 0) {
		rt_print("captest: %s crashing with a call in service", rt_boot->name);
		fault_now();
	}
	int k = fmt_snprintf(txt, sizeof txt, "pid=%u", rt_boot->pid);
	Echo_echo_Results_init_root(rt_msg_begin(), &r);
	Echo_echo_Results_set_data(r, txt, (uint32_t)k);
	int n = rt_msg_end(res, *rlen);
	*rlen = n < 0 ? 0 : (uint32_t)n;
	return 0;
}

/* Submit an echo call with its own buffers, without waiting. */
static int
echo_submit(capid_t echo, const char *text, uint64_t tag, uint64_t *params, uint64_t *res,
	    uint32_t rlen)
{
	Echo_echo_Params_B p;
	Echo_echo_Params_init_root(rt_msg_begin(), &p);
	Echo_echo_Params_set_data(p, text, strlen(text));
	int n = rt_msg_end(params, 256);
	struct ring_sqe e = { .opcode = RING_OP_CALL, .cap = echo, .method = Echo_echo_ORDINAL,
			      .user_data = tag, .params = (uint64_t)params, .params_len = (uint32_t)n,
			      .result = (uint64_t)res, .result_len = rlen };
	return rt_submit(&e);
}

/* "pid=N" from an echo reply, or 0. */
static uint32_t
reply_pid(const void *buf, const struct ring_cqe *c)
{
	struct capnp_msg m;
	Echo_echo_Results_R er;
	struct capnp_data d;
	uint32_t pid = 0;

	if (c->result < 0 || rt_msg_read(&m, buf, c->len, &er.s) < 0 ||
	    Echo_echo_Results_get_data(er, &d) < 0 || d.len < 5 || memcmp(d.ptr, "pid=", 4) != 0)
		return 0;
	for (uint32_t i = 4; i < d.len && d.ptr[i] >= '0' && d.ptr[i] <= '9'; i++)
		pid = pid * 10 + (uint32_t)(d.ptr[i] - '0');
	return pid;
}

static int
rs_client(void)
{
	capid_t echo = cap_iid("echo", Echo_TYPE_ID);
	static uint64_t p1[32], p2[32], r1[32], r2[32];
	struct ring_cqe c, ca = { 0 }, cb = { 0 };

	/* One cap_enter takes both: the first is delivered (or queued first), the
	 * second waits in the queue while the server dies with the first. */
	echo_submit(echo, "crash", 1001, p1, r1, sizeof r1);
	echo_submit(echo, "queued", 1002, p2, r2, sizeof r2);
	for (int got = 0; got < 2;) {
		sys_cap_enter(2, 0);
		while (got < 2 && rt_reap(&c, false)) {
			if (c.user_data == 1001)
				ca = c, got++;
			else if (c.user_data == 1002)
				cb = c, got++;
		}
	}
	CHECK("crash-disconnected",
	      ca.result == RING_E_EXCEPTION && rt_exception_type(r1, ca.len) == ExceptionType_disconnected,
	      "r=%d", ca.result);
	uint32_t qpid = reply_pid(r2, &cb);
	CHECK("queued-served", qpid != 0, "r=%d served-by=%u", cb.result, qpid);
	int r = echo_call(echo, "after", &c);
	uint32_t apid = reply_pid(rbuf, &c);
	CHECK("after-restart", apid != 0 && apid == qpid, "r=%d served-by=%u", r, apid);
	rt_print("captest: %s done failures=%d", rt_boot->name, failures);
	return failures;
}

static int
rs_crasher_client(void)
{
	capid_t echo = cap_iid("echo", Echo_TYPE_ID);
	struct ring_cqe c;
	int r = echo_call(echo, "hello", &c);
	CHECK("disconnected", r == RING_E_EXCEPTION && rt_exception_type(rbuf, c.len) == ExceptionType_disconnected,
	      "r=%d", r);
	return failures;
}

/* ---- reclamation (user/tests/test-reclaim.json) ---- */

#define RECLAIM_ROUNDS 205	/* 5 to warm the kernel's caches, then 200 measured */

/* Spawn `name` (binary captest, no caps); its ProcessHandle or 0. */
static capid_t
spawn_child(capid_t spawner, const char *name)
{
	capid_t h;
	return rt_spawn_bare(spawner, name, "captest", &h) == 0 ? h : 0;
}

enum { WAIT_ERROR = -1, WAIT_TIMED_OUT = -2, WAIT_KILLED = -3, WAIT_FAULT = -4 };

/* ProcessHandle.wait: the exit code (>= 0) or a WAIT_* outcome. */
static int
wait_child(capid_t h, uint64_t timeout_ns)
{
	ProcessHandle_wait_Params_B wp;
	ProcessHandle_wait_Results_R wr;
	WaitResult_R w;
	ExitStatus_R e;
	struct capnp_msg m;
	struct ring_cqe c;

	ProcessHandle_wait_Params_init_root(rt_msg_begin(), &wp);
	ProcessHandle_wait_Params_set_timeoutNs(wp, timeout_ns);
	int n = rt_msg_end(pbuf, sizeof pbuf);
	if (rt_call(h, ProcessHandle_wait_ORDINAL, pbuf, (uint32_t)n, rbuf, sizeof rbuf, NULL, 0, &c) < 0 ||
	    rt_msg_read(&m, rbuf, c.len, &wr.s) < 0 || ProcessHandle_wait_Results_get_result(wr, &w) < 0)
		return WAIT_ERROR;
	if (WaitResult_which(w) == WaitResult_which_timedOut)
		return WAIT_TIMED_OUT;
	if (WaitResult_get_exited(w, &e) < 0)
		return WAIT_ERROR;
	switch (ExitStatus_which(e)) {
	case ExitStatus_which_code: return ExitStatus_get_code(e) < 0 ? WAIT_ERROR : ExitStatus_get_code(e);
	case ExitStatus_which_killed: return WAIT_KILLED;
	default: return WAIT_FAULT;
	}
}

/* Spawn reclaim-child, wait for its exit code, release its handle. */
static int
reclaim_round(capid_t spawner)
{
	capid_t h = spawn_child(spawner, "reclaim-child");
	if (!h)
		return -1;
	int r = wait_child(h, 0);
	rt_release(h);	/* the last holder: the kernel frees the record now */
	return r == 7 ? 0 : -3;
}

/* Kill a spinning child: on SMP it runs on the other CPU meanwhile. */
static void
kill_round(capid_t spawner)
{
	struct ring_cqe c;
	capid_t h = spawn_child(spawner, "spin-child");
	int w = h ? wait_child(h, 300000000) : WAIT_ERROR;	/* 300 ms: it is running */
	CHECK("spinner-running", w == WAIT_TIMED_OUT, "wait=%d", w);
	/* Stay in ring 3 a while: on SMP the spinner, which our wake-up may have
	 * displaced, is back on the other CPU when the kill comes. */
	for (volatile uint32_t i = 0; i < 3000000; i++)
		__asm__ volatile("pause");
	ProcessHandle_kill_Params_B kp;
	ProcessHandle_kill_Results_R kr;
	KillResult_R k;
	struct capnp_msg m;
	ProcessHandle_kill_Params_init_root(rt_msg_begin(), &kp);
	int n = rt_msg_end(pbuf, sizeof pbuf);
	int r = rt_call(h, ProcessHandle_kill_ORDINAL, pbuf, (uint32_t)n, rbuf, sizeof rbuf, NULL, 0, &c);
	bool ok = r >= 0 && rt_msg_read(&m, rbuf, c.len, &kr.s) >= 0 &&
		  ProcessHandle_kill_Results_get_result(kr, &k) >= 0 && KillResult_which(k) == KillResult_which_ok;
	CHECK("kill-ok", ok, "r=%d", r);
	w = wait_child(h, 5000000000ull);	/* the waiter completes once it has ended */
	CHECK("killed-status", w == WAIT_KILLED, "wait=%d", w);
	rt_release(h);
}

static int
reclaimer(void)
{
	capid_t spawner = rt_cap("spawner", ProcessSpawner_TYPE_ID);
	uint32_t done = 0;
	int r = 0;

	rt_print("captest: reclaimer start rounds=%u", RECLAIM_ROUNDS);
	while (done < RECLAIM_ROUNDS && (r = reclaim_round(spawner)) == 0)
		done++;
	CHECK("rounds", done == RECLAIM_ROUNDS, "done=%u last=%d", done, r);
	kill_round(spawner);
	rt_print("captest: %s done failures=%d", rt_boot->name, failures);
	return failures;
}

/* ---- stress: several processes, thousands of calls, 8 in flight each ---- */

#define STRESS_CALLS 3000
#define STRESS_DEPTH 5

/*
 * Each call has its own id (user_data) and result buffer. An `overloaded`
 * exception (the endpoint's bounded queue was full) is retried; anything
 * else that is not a success counts as bad. Every id must complete
 * successfully exactly once.
 */
static int
stress(void)
{
	capid_t echo = cap_iid("echo", Echo_TYPE_ID);
	static uint8_t seen[STRESS_CALLS];
	static uint64_t res[STRESS_CALLS][8];
	static uint32_t retry[STRESS_CALLS];
	uint32_t nretry = 0, next = 0, done = 0, dup = 0, bad = 0, inflight = 0, retries = 0;

	while (done < STRESS_CALLS) {
		while (inflight < STRESS_DEPTH && (nretry || next < STRESS_CALLS)) {
			uint32_t id = nretry ? retry[--nretry] : next++;
			struct ring_sqe e = { .opcode = RING_OP_CALL, .cap = echo, .method = Echo_echo_ORDINAL,
					      .user_data = id, .result = (uint64_t)res[id],
					      .result_len = sizeof res[0] };
			if (rt_submit(&e) < 0) {
				retry[nretry++] = id;
				break;
			}
			inflight++;
		}
		sys_cap_enter(1, 0);
		struct ring_cqe c;
		while (rt_reap(&c, false)) {
			inflight--;
			if (c.user_data >= STRESS_CALLS) {
				bad++;
				continue;
			}
			if (c.result == RING_E_EXCEPTION &&
			    rt_exception_type(res[c.user_data], c.len) == ExceptionType_overloaded) {
				retry[nretry++] = (uint32_t)c.user_data;
				retries++;
				continue;
			}
			if (c.result < 0)
				bad++;
			else if (seen[c.user_data]++)
				dup++;
			done++;
		}
	}
	uint32_t missing = 0;
	for (uint32_t i = 0; i < STRESS_CALLS; i++)
		missing += seen[i] != 1;
	CHECK("stress", !dup && !bad && !missing, "calls=%u dup=%u bad=%u missing=%u overloaded_retries=%u",
	      done, dup, bad, missing, retries);
	return failures;
}

/* ---- bench: rdtsc deltas; under -icount shift=0 one tick is one instruction ---- */

static inline uint64_t
rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#define BENCH_N 2000

static int
bench(void)
{
	capid_t echo = cap_iid("echo", Echo_TYPE_ID);
	capid_t con = rt_cap("console", Console_TYPE_ID);
	struct ring_cqe c;
	static uint8_t big[4096 + 64];

	for (int i = 0; i < 50; i++)	/* warm up */
		rt_call(echo, Echo_echo_ORDINAL, NULL, 0, rbuf, 8, NULL, 0, &c);
	uint64_t t0 = rdtsc();
	for (int i = 0; i < BENCH_N; i++)
		rt_call(echo, Echo_echo_ORDINAL, NULL, 0, rbuf, 8, NULL, 0, &c);
	uint64_t null_rt = (rdtsc() - t0) / BENCH_N;

	/* one cap per call: copy our Console to the server, which releases it */
	struct ring_xfer x = { con, RING_XFER_COPY };
	Echo_take_Params_B p;
	Echo_take_Params_init_root(rt_msg_begin(), &p);
	capnp_bptr_set_cap(Echo_take_Params_ptr_cap(p), 0);
	int n = rt_msg_end(pbuf, sizeof pbuf);
	t0 = rdtsc();
	for (int i = 0; i < BENCH_N / 4; i++)
		rt_call(echo, Echo_take_ORDINAL, pbuf, (uint32_t)n, rbuf, sizeof rbuf, &x, 1, &c);
	uint64_t cap_rt = (rdtsc() - t0) / (BENCH_N / 4);

	/* 4 KiB params, echoed back */
	Echo_echo_Params_B ep;
	memset(big, 0x5A, sizeof big);
	Echo_echo_Params_init_root(rt_msg_begin(), &ep);
	Echo_echo_Params_set_data(ep, big, 4096);
	static uint64_t bigp[(4096 + 64) / 8], bigr[(4096 + 128) / 8];
	n = rt_msg_end(bigp, sizeof bigp);
	t0 = rdtsc();
	for (int i = 0; i < BENCH_N / 4; i++)
		rt_call(echo, Echo_echo_ORDINAL, bigp, (uint32_t)n, bigr, sizeof bigr, NULL, 0, &c);
	uint64_t big_rt = (rdtsc() - t0) / (BENCH_N / 4);
	rt_print("captest: bench null_call_rt=%lu cap_xfer_call_rt=%lu params_4k_rt=%lu calls=%d",
		 null_rt, cap_rt, big_rt, BENCH_N);
	return 0;
}

/*
 * ---- fpu-*: x87/SSE state survives preemption (docs/scheduler.md) ----
 * Each instance loads its own values (from its name) into xmm0-15, the
 * eight x87 registers, FCW and MXCSR, then spins across many timer ticks
 * while another instance does the same, dumping its registers with fxsave
 * every round and comparing them with the dump taken right after loading.
 * The runtime is built with -mgeneral-regs-only, so no compiled code
 * between the asm blocks touches these registers: only the kernel could.
 */
#define FPU_ROUNDS 200
#define FPU_SPIN 400000ull

static void
fpu_dump(uint8_t *area)
{
	__asm__ volatile("fxsave64 (%0)" : : "r"(area) : "memory");
}

/* FCW, FSW, FTW (0..5), MXCSR (24), st0-7 (10 of each 16 bytes from 32), xmm0-15 (160..415) */
static bool
fpu_same(const uint8_t *a, const uint8_t *b)
{
	if (memcmp(a, b, 6) || memcmp(a + 24, b + 24, 4) || memcmp(a + 160, b + 160, 256))
		return false;
	for (unsigned i = 0; i < 8; i++)
		if (memcmp(a + 32 + 16 * i, b + 32 + 16 * i, 10))
			return false;
	return true;
}

/*
 * The system-call register contract (docs/kernel-abi.md): cap_enter clobbers
 * rcx and r11 and returns in rax; every other general register keeps its
 * value. regs_probe(min_complete, timeout_ns) loads a pattern into rbx, rbp,
 * rdx, r8-r10, r12-r15 (rdi and rsi hold the arguments), makes the call and
 * returns a bit per register that came back changed (bit order: rbx rbp rdx
 * r8 r9 r10 r12 r13 r14 r15 rdi rsi).
 */
uint64_t regs_probe(uint64_t min_complete, uint64_t timeout_ns);
__asm__(
	".text\n.globl regs_probe\n.type regs_probe,@function\nregs_probe:\n"
	"push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
	"push %rdi\npush %rsi\n"
	"movabs $0x1111111111111101, %rbx\nmovabs $0x2222222222222202, %rbp\n"
	"movabs $0x3333333333333303, %rdx\nmovabs $0x4444444444444404, %r8\n"
	"movabs $0x5555555555555505, %r9\nmovabs $0x6666666666666606, %r10\n"
	"movabs $0x7777777777777707, %r12\nmovabs $0x8888888888888808, %r13\n"
	"movabs $0x9999999999999909, %r14\nmovabs $0xaaaaaaaaaaaaaa0a, %r15\n"
	"xor %eax, %eax\n"	/* SYS_CAP_ENTER */
	"syscall\n"
	"xor %ecx, %ecx\n"
	"movabs $0x1111111111111101, %r11\ncmp %r11, %rbx\nje 1f\nor $0x001, %ecx\n1:\n"
	"movabs $0x2222222222222202, %r11\ncmp %r11, %rbp\nje 1f\nor $0x002, %ecx\n1:\n"
	"movabs $0x3333333333333303, %r11\ncmp %r11, %rdx\nje 1f\nor $0x004, %ecx\n1:\n"
	"movabs $0x4444444444444404, %r11\ncmp %r11, %r8\nje 1f\nor $0x008, %ecx\n1:\n"
	"movabs $0x5555555555555505, %r11\ncmp %r11, %r9\nje 1f\nor $0x010, %ecx\n1:\n"
	"movabs $0x6666666666666606, %r11\ncmp %r11, %r10\nje 1f\nor $0x020, %ecx\n1:\n"
	"movabs $0x7777777777777707, %r11\ncmp %r11, %r12\nje 1f\nor $0x040, %ecx\n1:\n"
	"movabs $0x8888888888888808, %r11\ncmp %r11, %r13\nje 1f\nor $0x080, %ecx\n1:\n"
	"movabs $0x9999999999999909, %r11\ncmp %r11, %r14\nje 1f\nor $0x100, %ecx\n1:\n"
	"movabs $0xaaaaaaaaaaaaaa0a, %r11\ncmp %r11, %r15\nje 1f\nor $0x200, %ecx\n1:\n"
	"cmp 8(%rsp), %rdi\nje 1f\nor $0x400, %ecx\n1:\n"
	"cmp (%rsp), %rsi\nje 1f\nor $0x800, %ecx\n1:\n"
	"mov %ecx, %eax\n"
	"add $16, %rsp\n"
	"pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\nret\n"
	".size regs_probe, .-regs_probe\n");

static int
regs_role(void)
{
	/* Both calls return at once (nothing is in flight, so min_complete 1
	 * cannot be waited for): the sysret path. It runs beside the two fpu
	 * spinners, so the tick switches this process out between calls. */
	uint32_t bad = 0, bad_blocked = 0, blocked = 0;
	uint64_t mask = 0;
	for (uint32_t i = 0; i < 2000; i++) {
		uint64_t m = regs_probe(0, 0);
		m |= regs_probe(1, 1000000);
		if (m)
			bad++;
		mask |= m;
	}
	CHECK("regs", bad == 0, "rounds=2000 bad_rounds=%u changed_mask=%#lx", bad, mask);

	/* A null CALL to the echo server submitted, then the probe's cap_enter(1)
	 * runs it and blocks until the reply: the caller parks and comes back
	 * out of its frame (docs/scheduler.md, "Parking"), directly or through
	 * park_resume. */
	capid_t echo = rt_cap("echo", Echo_TYPE_ID);
	if (!echo)
		return failures;
	mask = 0;
	for (uint32_t i = 0; i < 2000; i++) {
		struct ring_sqe e = { .opcode = RING_OP_CALL, .method = Echo_echo_ORDINAL, .cap = echo,
				      .user_data = 0xb10c + i, .result = (uint64_t)rbuf, .result_len = 8 };
		struct ring_cqe c;
		if (rt_submit(&e) < 0)
			break;
		uint64_t m = regs_probe(1, 0);
		if (!rt_reap(&c, true) || c.user_data != e.user_data || c.result < 0)
			m |= 1ull << 63;	/* the call itself went wrong */
		else
			blocked++;
		if (m)
			bad_blocked++;
		mask |= m;
	}
	CHECK("regs-blocked", bad_blocked == 0 && blocked == 2000,
	      "rounds=2000 calls=%u bad_rounds=%u changed_mask=%#lx", blocked, bad_blocked, mask);
	return failures;
}

static int
fpu_role(void)
{
	static uint8_t xmm[256] __attribute__((aligned(16)));
	static uint8_t want[512] __attribute__((aligned(16))), got[512] __attribute__((aligned(16)));
	static int64_t x87[8];
	unsigned seed = (unsigned char)rt_boot->name[strlen(rt_boot->name) - 1];
	uint16_t fcw = seed & 1 ? 0x027F : 0x0E7F;	/* precision 53 bits / round toward zero */
	uint32_t mxcsr = seed & 1 ? 0x3F80 : 0x5F80;	/* round down / round up */
	uint32_t bad = 0, first_bad = 0;

	for (unsigned i = 0; i < sizeof xmm; i++)
		xmm[i] = (uint8_t)(seed * 31 + i * 7);
	for (unsigned i = 0; i < 8; i++)
		x87[i] = (int64_t)seed * 1000 + i;
	rt_print("captest: %s fpu start seed=%u", rt_boot->name, seed);
	__asm__ volatile("fninit\n\tfldcw %1\n\tldmxcsr %2\n\t"
			 "fildq 0(%0)\n\tfildq 8(%0)\n\tfildq 16(%0)\n\tfildq 24(%0)\n\t"
			 "fildq 32(%0)\n\tfildq 40(%0)\n\tfildq 48(%0)\n\tfildq 56(%0)"
			 : : "r"(x87), "m"(fcw), "m"(mxcsr) : "memory");
	__asm__ volatile("movdqa 0(%0), %%xmm0\n\tmovdqa 16(%0), %%xmm1\n\t"
			 "movdqa 32(%0), %%xmm2\n\tmovdqa 48(%0), %%xmm3\n\t"
			 "movdqa 64(%0), %%xmm4\n\tmovdqa 80(%0), %%xmm5\n\t"
			 "movdqa 96(%0), %%xmm6\n\tmovdqa 112(%0), %%xmm7\n\t"
			 "movdqa 128(%0), %%xmm8\n\tmovdqa 144(%0), %%xmm9\n\t"
			 "movdqa 160(%0), %%xmm10\n\tmovdqa 176(%0), %%xmm11\n\t"
			 "movdqa 192(%0), %%xmm12\n\tmovdqa 208(%0), %%xmm13\n\t"
			 "movdqa 224(%0), %%xmm14\n\tmovdqa 240(%0), %%xmm15"
			 : : "r"(xmm) : "memory");
	fpu_dump(want);
	/* the dump must hold what was loaded: FCW (offset 0), MXCSR (24), xmm (160..415) */
	bool loaded = memcmp(want, &fcw, 2) == 0 && memcmp(want + 24, &mxcsr, 4) == 0 &&
		      memcmp(want + 160, xmm, sizeof xmm) == 0;
	uint64_t t0 = 0, t1;
	__asm__ volatile("rdtsc; shlq $32, %%rdx; orq %%rdx, %0" : "+a"(t0) : : "rdx");
	for (unsigned r = 0; r < FPU_ROUNDS; r++) {
		for (volatile uint64_t i = 0; i < FPU_SPIN; i++)
			;
		fpu_dump(got);
		if (!fpu_same(got, want)) {
			if (!bad++)
				first_bad = r;
		}
	}
	t1 = 0;
	__asm__ volatile("rdtsc; shlq $32, %%rdx; orq %%rdx, %0" : "+a"(t1) : : "rdx");
	CHECK("fpu", loaded && !bad, "rounds=%u bad_rounds=%u first_bad=%u loaded=%d tsc_delta=%lu",
	      FPU_ROUNDS, bad, first_bad, loaded, t1 - t0);
	rt_print("captest: %s fpu done", rt_boot->name);
	return failures;
}

int
main(void)
{
	const char *me = rt_boot->name;

	if (prefix(me, "hello")) {
		rt_print("captest: hello from pid %u", rt_boot->pid);
		return 0;
	}
	if (prefix(me, "echo-server"))
		return serve("echo", Echo_TYPE_ID, 1, echo_handler);
	if (prefix(me, "counter-server"))
		return serve("counter", Counter_TYPE_ID, 0, counter_handler);
	if (prefix(me, "echo-client"))
		return echo_client();
	if (prefix(me, "echo-demo"))
		return echo_demo();
	if (prefix(me, "faulter")) {
		rt_print("captest: faulter about to write to 0xdead000");
		volatile uintptr_t bad = 0xdead000;
		*(volatile uint64_t *)bad = 1;
		return 0;
	}
	if (prefix(me, "spinner")) {
		/* Never enters the kernel while it spins: others run only if the
		 * tick preempts it. */
		rt_print("captest: spinner start");
		for (volatile uint64_t i = 0; i < 400000000ull; i++)
			;
		rt_print("captest: spinner done");
		return 0;
	}
	if (prefix(me, "noconsole"))
		return rt_print("should never appear") == E_PERM ? 42 : 1;
	if (prefix(me, "sink-client"))
		return sink_client();
	if (prefix(me, "sink"))
		return sink();
	if (prefix(me, "stress"))
		return stress();
	if (prefix(me, "rs-server"))
		return serve("echo", Echo_TYPE_ID, 0, rs_handler);
	if (prefix(me, "rs-client"))
		return rs_client();
	if (prefix(me, "rs-crasher-client"))
		return rs_crasher_client();
	if (prefix(me, "rs-crasher") || prefix(me, "rs-never")) {
		rt_print("captest: %s faulting", me);
		fault_now();
	}
	if (prefix(me, "reclaimer"))
		return reclaimer();
	if (prefix(me, "reclaim-child"))
		return 7;	/* no caps at all: exits at once */
	if (prefix(me, "spin-child"))
		for (;;)	/* no system calls: only an interrupt takes it into the kernel */
			__asm__ volatile("pause");
	if (prefix(me, "rs-always")) {
		rt_print("captest: %s exiting 0", me);
		return 0;
	}
	if (prefix(me, "bench"))
		return bench();
	if (prefix(me, "fpu-"))
		return fpu_role();
	if (prefix(me, "regs-"))
		return regs_role();
	rt_print("captest: unknown role %s", me);
	return 99;
}
