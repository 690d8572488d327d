/*
 * The userspace stubs capnpc-c emits under CAPOS_USER (schema/ipc.capnp's
 * Echo and Counter) and their runtime half, user/lib/rpc.c, on the host.
 * rt_call is a loopback fake: it hands the call to the generated
 * Echo_dispatch as the kernel would hand it to rt_serve (method, params,
 * received caps), and turns the handler's answer into a completion (result
 * length or RING_E_EXCEPTION plus an Exception, returned caps with an
 * interface id the test chooses). rt_release records what was released.
 * The process-building calls (spawn.h) go to fake ProcessSpawner and
 * ProcessBuilder servers through their generated dispatch the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "capos.h"
#include "spawn.h"
/* every schema's stubs, in one translation unit: no C name collides */
#include "schema/base.capnp.h"
#include "schema/block.capnp.h"
#include "schema/device.capnp.h"
#include "schema/exception.capnp.h"
#include "schema/ipc.capnp.h"
#include "schema/manifest.capnp.h"
#include "schema/net.capnp.h"
#include "schema/process.capnp.h"
#include "schema/storage.capnp.h"
#include "schema/types.capnp.h"

/* ---- fakes: the transport ---- */

static const void *the_server;          /* struct Echo_Server passed to Echo_dispatch */
static rt_handler fake_dispatch;        /* the generated dispatch the "kernel" hands calls to */
static int fake_transport_error;        /* RING_E_* to fail the next call with, 0: none */
static int fake_transport_detail;
static uint64_t returned_iid;           /* interface id the "kernel" reports for returned caps */
static const uint8_t *fake_reply;       /* non-NULL: reply with these bytes instead */
static uint32_t fake_reply_len;
static capid_t released[16];
static unsigned nreleased;
static uint16_t last_method;
static uint32_t calls;
static uint32_t spawn_refusal;          /* fake process builder: SpawnError + 1 to answer; 0: ok */

int
rt_release(capid_t cap)
{
	if (nreleased < 16)
		released[nreleased++] = cap;
	return 0;
}

int
rt_call(capid_t cap, uint16_t method, const void *params, uint32_t plen, void *res, uint32_t rlen,
	const struct ring_xfer *x, uint32_t nx, struct ring_cqe *cqe)
{
	struct rt_request rq = { .method = method, .params = params, .plen = plen, .ncaps = nx };
	struct ring_xfer out[RING_MAX_XFER];
	uint32_t n = rlen, nout = 0;

	calls++;
	last_method = method;
	memset(cqe, 0, sizeof *cqe);
	if (fake_transport_error) {
		cqe->result = fake_transport_error;
		cqe->detail = fake_transport_detail;
		return cqe->result;
	}
	if (fake_reply) {
		memcpy(res, fake_reply, fake_reply_len);
		cqe->len = fake_reply_len;
		return cqe->result = (int32_t)fake_reply_len;
	}
	for (uint32_t i = 0; i < nx && i < RING_MAX_XFER; i++) {
		rq.caps[i] = 0x100 + i;	/* installed in the "server" */
		rq.iids[i] = Console_TYPE_ID;
	}
	int r = fake_dispatch((void *)the_server, &rq, res, &n, out, &nout);
	if (r > 0) {	/* as rt_serve: an Exception of type r - 1 */
		static uint64_t arena[64];
		struct capnp_builder b;
		Exception_B e;
		capnp_builder_init(&b, arena, sizeof arena, 0);
		assert_int_equal(Exception_init_root(&b, &e), 0);
		Exception_set_type(e, (uint16_t)(r - 1));
		int len = capnp_builder_write(&b, res, rlen);
		assert_true(len > 0);
		cqe->len = (uint32_t)len;
		return cqe->result = RING_E_EXCEPTION;
	}
	assert_int_equal(r, 0);
	for (uint32_t i = 0; i < nout; i++) {
		cqe->caps[i] = 0x200 + out[i].cap;	/* installed in the "client" */
		cqe->iids[i] = returned_iid;
	}
	cqe->ncaps = (uint16_t)nout;
	cqe->len = n;
	return cqe->result = (int32_t)n;
}

/* ---- the server ---- */

static int
srv_echo(void *ctx, const struct rt_request *rq, Echo_echo_Params_R p, Echo_echo_Results_B r,
	 struct rt_answer *a)
{
	struct capnp_data d;
	if (Echo_echo_Params_get_data(p, &d) < 0)
		return ExceptionType_invalidArgument + 1;
	return Echo_echo_Results_set_data(r, d.ptr, d.len) < 0 ? ExceptionType_failed + 1 : 0;
}

static uint32_t caps_to_return = 1;

static int
srv_new_counter(void *ctx, const struct rt_request *rq, Echo_newCounter_Params_R p,
		Echo_newCounter_Results_B r, struct rt_answer *a)
{
	Echo_newCounter_Results_set_counter(r, 0);
	for (uint32_t i = 0; i < caps_to_return; i++)
		a->caps[i < RING_MAX_XFER ? i : 0] = (struct ring_xfer){ 0x42, RING_XFER_COPY };
	a->ncaps = caps_to_return;
	/* the start value comes back as the count, to check params decoding */
	return Echo_newCounter_Params_get_start(p) == 99 ? ExceptionType_overloaded + 1 : 0;
}

static const struct Echo_Server server = { .echo = srv_echo, .newCounter = srv_new_counter };

static int
setup(void **state)
{
	the_server = &server;
	fake_dispatch = Echo_dispatch;
	spawn_refusal = 0;
	fake_transport_error = fake_transport_detail = 0;
	fake_reply = NULL;
	returned_iid = Counter_TYPE_ID;
	caps_to_return = 1;
	nreleased = 0;
	calls = 0;
	return 0;
}

static int
echo(const char *text, struct rt_call *cl, struct capnp_data *out)
{
	Echo_echo_Params_B p;
	Echo_echo_Results_R res;
	int r = Echo_echo_begin(&p);
	if (r < 0)
		return r;
	assert_int_equal(Echo_echo_Params_set_data(p, text, strlen(text)), 0);
	r = Echo_echo_call(7, cl, &res);
	if (r == 0)
		assert_int_equal(Echo_echo_Results_get_data(res, out), 0);
	return r;
}

/* ---- tests ---- */

static void
test_echo_round_trip(void **state)
{
	static struct rt_call cl;
	struct capnp_data d;

	assert_int_equal(echo("typed through the ring", &cl, &d), 0);
	assert_int_equal(last_method, Echo_echo_ORDINAL);
	assert_int_equal(d.len, 22);
	assert_memory_equal(d.ptr, "typed through the ring", 22);
	/* the runtime's own result buffer (cl == NULL) works the same */
	Echo_echo_Params_B p;
	Echo_echo_Results_R res;
	assert_int_equal(Echo_echo_begin(&p), 0);
	assert_int_equal(Echo_echo_Params_set_data(p, "x", 1), 0);
	assert_int_equal(Echo_echo_call(7, NULL, &res), 0);
	assert_int_equal(Echo_echo_Results_get_data(res, &d), 0);
	assert_int_equal(d.len, 1);
}

static void
test_call_without_begin_refused(void **state)
{
	Echo_echo_Results_R res;
	struct capnp_data d;

	assert_int_equal(echo("once", NULL, &d), 0);
	/* the params were consumed by the first call: a second one must begin again */
	assert_int_equal(Echo_echo_call(7, NULL, &res), E_INVAL);
	assert_int_equal(calls, 1);
}

static void
test_result_cap_adopted_after_check(void **state)
{
	static struct rt_call cl;
	Echo_newCounter_Params_B p;
	Echo_newCounter_Results_R res;

	assert_int_equal(Echo_newCounter_begin(&p), 0);
	Echo_newCounter_Params_set_start(p, 5);
	assert_int_equal(Echo_newCounter_call(7, &cl, &res), 0);
	assert_int_equal(cl.cqe.ncaps, 1);
	assert_int_equal(Echo_newCounter_Results_adopt_counter(res, &cl.cqe), 0x242);
	assert_int_equal(nreleased, 0);

	/* a cap of another interface is refused and released, never adopted */
	returned_iid = Console_TYPE_ID;
	assert_int_equal(Echo_newCounter_begin(&p), 0);
	assert_int_equal(Echo_newCounter_call(7, &cl, &res), 0);
	assert_int_equal(Echo_newCounter_Results_adopt_counter(res, &cl.cqe), 0);
	assert_int_equal(nreleased, 1);
	assert_int_equal(released[0], 0x242);

	/* a cap index past the caps received adopts nothing */
	returned_iid = Counter_TYPE_ID;
	caps_to_return = 0;
	assert_int_equal(Echo_newCounter_begin(&p), 0);
	assert_int_equal(Echo_newCounter_call(7, &cl, &res), 0);
	assert_int_equal(Echo_newCounter_Results_adopt_counter(res, &cl.cqe), 0);
}

static void
test_exceptions_mapped(void **state)
{
	Echo_newCounter_Params_B np;
	Echo_newCounter_Results_R nr;
	Echo_take_Params_B tp;
	Echo_take_Results_R tr;

	/* raised by the method (params decoded: start == 99) */
	assert_int_equal(Echo_newCounter_begin(&np), 0);
	Echo_newCounter_Params_set_start(np, 99);
	int r = Echo_newCounter_call(7, NULL, &nr);
	assert_true(RT_IS_EXCEPTION(r));
	assert_int_equal(RT_EXCEPTION_TYPE(r), ExceptionType_overloaded);
	/* no handler for take: unimplemented, and the cap sent along is released */
	struct rt_call cl = { 0 };
	struct ring_xfer x = { 5, RING_XFER_COPY };
	cl.xfer = &x;
	cl.nxfer = 1;
	assert_int_equal(Echo_take_begin(&tp), 0);
	r = Echo_take_call(7, &cl, &tr);
	assert_int_equal(r, RT_E_EXCEPTION(ExceptionType_unimplemented));
	assert_int_equal(nreleased, 1);
	assert_int_equal(released[0], 0x100);
	/* too many caps handed back by a method: failed, not a short answer */
	caps_to_return = RING_MAX_XFER + 1;
	assert_int_equal(Echo_newCounter_begin(&np), 0);
	assert_int_equal(Echo_newCounter_call(7, NULL, &nr), RT_E_EXCEPTION(ExceptionType_failed));
	assert_false(RT_IS_EXCEPTION(E_STALE));
}

static void
test_transport_errors_mapped(void **state)
{
	struct capnp_data d;

	fake_transport_error = RING_E_INVALID_REQUEST;
	fake_transport_detail = E_STALE;
	assert_int_equal(echo("a", NULL, &d), E_STALE);
	fake_transport_detail = 0;
	assert_int_equal(echo("a", NULL, &d), E_INVAL);
	fake_transport_error = RING_E_INVALID_RESULT;
	assert_int_equal(echo("a", NULL, &d), E_TOOBIG);
	/* an exception whose payload is not an Exception */
	static const uint8_t junk[16] = { 0xff, 0xff, 0xff, 0xff };
	fake_transport_error = 0;
	fake_reply = junk;
	fake_reply_len = sizeof junk;
	assert_int_equal(echo("a", NULL, &d), E_CORRUPT);
}

static void
test_reply_length_clamped(void **state)
{
	/* a completion claiming more bytes than the buffer holds is read only
	 * up to the buffer: the message is then truncated, not over-read */
	static struct rt_call cl;
	static uint8_t reply[64] = { 0 };	/* a framed message: one segment of 7 words */
	struct capnp_data d;

	reply[4] = 7;
	fake_reply = reply;
	fake_reply_len = sizeof reply;
	cl.buf = reply;
	cl.buflen = 16;		/* the completion says 64 bytes, the buffer holds 16 */
	assert_int_equal(echo("a", &cl, &d), E_CORRUPT);
	cl.buflen = sizeof reply;
	assert_int_equal(echo("a", &cl, &d), 0);
	assert_int_equal(d.len, 0);
}

static void
test_dispatch_direct(void **state)
{
	uint8_t res[256];
	uint32_t rlen = sizeof res, nout = 0;
	struct ring_xfer out[RING_MAX_XFER];
	static const uint8_t bad[24] = { 0, 0, 0, 0, 200, 0, 0, 0 };	/* segment past the buffer */
	struct rt_request rq = { .method = Echo_echo_ORDINAL, .params = bad, .plen = sizeof bad,
				 .ncaps = 1, .caps = { 9 } };

	assert_int_equal(Echo_dispatch((void *)&server, &rq, res, &rlen, out, &nout),
			 ExceptionType_invalidArgument + 1);
	assert_int_equal(nreleased, 1);
	assert_int_equal(released[0], 9);
	/* unknown ordinal */
	rq.method = 3;
	assert_int_equal(Echo_dispatch((void *)&server, &rq, res, &rlen, out, &nout),
			 ExceptionType_unimplemented + 1);
	/* empty params: every field its default (echo of empty data) */
	rq = (struct rt_request){ .method = Echo_echo_ORDINAL };
	rlen = sizeof res;
	assert_int_equal(Echo_dispatch((void *)&server, &rq, res, &rlen, out, &nout), 0);
	struct capnp_msg m;
	Echo_echo_Results_R er;
	struct capnp_data d;
	assert_int_equal(rt_msg_read(&m, res, rlen, &er.s), 0);
	assert_int_equal(Echo_echo_Results_get_data(er, &d), 0);
	assert_int_equal(d.len, 0);
	/* results larger than the result buffer: failed */
	rlen = 4;
	assert_int_equal(Echo_dispatch((void *)&server, &rq, res, &rlen, out, &nout),
			 ExceptionType_failed + 1);
}

/* ---- spawn.h: building a process in steps over the generated stubs ---- */

static char granted[8][16];	/* names the fake builder received, in order */
static uint32_t ngranted, granted_caps;

static int
fake_create(void *ctx, const struct rt_request *rq, ProcessSpawner_create_Params_R p,
	    ProcessSpawner_create_Results_B r, struct rt_answer *a)
{
	CreateResult_B cr;
	struct capnp_text name;
	ProcessSpawner_create_Results_init_result(r, &cr);
	assert_int_equal(ProcessSpawner_create_Params_get_name(p, &name), 0);
	assert_int_equal(name.len, 3);
	if (spawn_refusal) {
		CreateResult_set_error(cr, (uint16_t)(spawn_refusal - 1));
		return 0;
	}
	CreateResult_set_builder(cr, 0);
	a->caps[0] = (struct ring_xfer){ 0x31, RING_XFER_COPY };
	a->ncaps = 1;
	return 0;
}

static int
fake_grant(void *ctx, const struct rt_request *rq, ProcessBuilder_grant_Params_R p,
	   ProcessBuilder_grant_Results_B r, struct rt_answer *a)
{
	struct capnp_list l;
	BuildResult_B br;
	assert_int_equal(ProcessBuilder_grant_Params_get_grants(p, &l), 0);
	assert_int_equal(l.count, rq->ncaps);	/* one sideband cap per grant */
	for (uint32_t i = 0; i < l.count; i++) {
		SpawnGrant_R g;
		struct capnp_text t;
		uint32_t idx;
		assert_int_equal(SpawnGrant_list_get(&l, i, &g), 0);
		assert_int_equal(SpawnGrant_get_name(g, &t), 0);
		assert_int_equal(capnp_ptr_cap(SpawnGrant_get_cap(g), &idx), 0);
		assert_int_equal(idx, i);	/* grant i names sideband cap i */
		assert_true(t.len < 16 && ngranted < 8);
		memcpy(granted[ngranted], t.str, t.len);
		granted[ngranted++][t.len] = 0;
	}
	granted_caps += rq->ncaps;
	ProcessBuilder_grant_Results_init_result(r, &br);
	if (spawn_refusal)
		BuildResult_set_error(br, (uint16_t)(spawn_refusal - 1));
	else
		BuildResult_set_ok(br);
	return 0;
}

static int
fake_start(void *ctx, const struct rt_request *rq, ProcessBuilder_start_Params_R p,
	   ProcessBuilder_start_Results_B r, struct rt_answer *a)
{
	SpawnResult_B sr;
	ProcessBuilder_start_Results_init_result(r, &sr);
	if (spawn_refusal) {
		SpawnResult_set_error(sr, (uint16_t)(spawn_refusal - 1));
		return 0;
	}
	SpawnResult_set_handle(sr, 0);
	a->caps[0] = (struct ring_xfer){ 0x32, RING_XFER_COPY };
	a->ncaps = 1;
	return 0;
}

static const struct ProcessSpawner_Server spawner_server = { .create = fake_create };
static const struct ProcessBuilder_Server builder_server = { .grant = fake_grant, .start = fake_start };

static void
test_spawn_in_steps(void **state)
{
	capid_t b, h;
	struct rt_grant g[5];
	static const char *const names[5] = { "console", "clock", "svc", "e0", "e1" };

	for (int i = 0; i < 5; i++)
		g[i] = (struct rt_grant){ names[i], (uint32_t)strlen(names[i]), { 0x50 + i, RING_XFER_COPY } };
	fake_dispatch = ProcessSpawner_dispatch;
	the_server = &spawner_server;
	returned_iid = ProcessBuilder_TYPE_ID;
	assert_int_equal(rt_spawn_create(5, "svc", 3, "bin", 3, &b), 0);
	assert_int_equal(b, 0x200 + 0x31);
	assert_int_equal(last_method, ProcessSpawner_create_ORDINAL);

	fake_dispatch = ProcessBuilder_dispatch;
	the_server = &builder_server;
	ngranted = granted_caps = 0;
	assert_int_equal(rt_spawn_grant(b, g, 4), 0);
	assert_int_equal(rt_spawn_grant(b, g + 4, 1), 0);
	assert_int_equal(ngranted, 5);
	assert_int_equal(granted_caps, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(granted[i], names[i]);
	/* more than one message carries: refused before any call */
	uint32_t before = calls;
	assert_int_equal(rt_spawn_grant(b, g, RING_MAX_XFER + 1), E_LIMIT);
	assert_int_equal(calls, before);

	returned_iid = ProcessHandle_TYPE_ID;
	assert_int_equal(rt_spawn_start(b, &h), 0);
	assert_int_equal(h, 0x200 + 0x32);
	/* a handle of the wrong interface is released, not adopted */
	returned_iid = Console_TYPE_ID;
	assert_int_equal(rt_spawn_start(b, &h), E_BADF);
	assert_int_equal(h, 0);
	assert_int_equal(nreleased, 1);
	assert_int_equal(released[0], 0x200 + 0x32);
}

static void
test_spawn_refusals_mapped(void **state)
{
	capid_t b = 1, h = 1;
	struct rt_grant g = { "x", 1, { 0x50, RING_XFER_COPY } };

	fake_dispatch = ProcessSpawner_dispatch;
	the_server = &spawner_server;
	spawn_refusal = SpawnError_unknownBinary + 1;
	int r = rt_spawn_create(5, "svc", 3, "bin", 3, &b);
	assert_int_equal(r, RT_E_SPAWN(SpawnError_unknownBinary));
	assert_true(RT_IS_SPAWN_ERROR(r) && !RT_IS_EXCEPTION(r));
	assert_int_equal(b, 0);

	fake_dispatch = ProcessBuilder_dispatch;
	the_server = &builder_server;
	spawn_refusal = SpawnError_duplicateName + 1;
	r = rt_spawn_grant(7, &g, 1);
	assert_true(RT_IS_SPAWN_ERROR(r));
	assert_int_equal(RT_SPAWN_ERROR(r), SpawnError_duplicateName);
	spawn_refusal = SpawnError_alreadyStarted + 1;
	assert_int_equal(rt_spawn_start(7, &h), RT_E_SPAWN(SpawnError_alreadyStarted));
	assert_int_equal(h, 0);
	spawn_refusal = 0;

	/* transport errors and exceptions stay what rt_invoke made them */
	fake_transport_error = RING_E_INVALID_REQUEST;
	fake_transport_detail = E_STALE;
	r = rt_spawn_grant(7, &g, 1);
	assert_int_equal(r, E_STALE);
	assert_false(RT_IS_SPAWN_ERROR(r));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_echo_round_trip, setup),
		cmocka_unit_test_setup(test_call_without_begin_refused, setup),
		cmocka_unit_test_setup(test_result_cap_adopted_after_check, setup),
		cmocka_unit_test_setup(test_exceptions_mapped, setup),
		cmocka_unit_test_setup(test_transport_errors_mapped, setup),
		cmocka_unit_test_setup(test_reply_length_clamped, setup),
		cmocka_unit_test_setup(test_dispatch_direct, setup),
		cmocka_unit_test_setup(test_spawn_in_steps, setup),
		cmocka_unit_test_setup(test_spawn_refusals_mapped, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
