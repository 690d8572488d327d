/*
 * Typed calls and dispatch for the stubs capnpc-c generates (capos.h,
 * docs/capnp.md "Client stubs and server dispatch"). The transport is
 * rt_call / rt_adopt / rt_release; this file only builds, checks and
 * decodes. Params and results have their own arenas, so a method may print
 * (rt_msg_begin) or make a typed call while its results are open.
 *
 * Also here, as they need no ring: result-cap adoption (rt_adopt) and the
 * message readers (rt_msg_read, rt_exception_type); and at the end, the
 * typed calls that build a process in steps (spawn.h). The file links on the
 * host too (tests/host/test_capnp_gen_rpc.c fakes rt_call / rt_release).
 */
#include "capos.h"
#include "spawn.h"
#include "schema/exception.capnp.h"
#include "schema/process.capnp.h"

capid_t
rt_adopt(const struct ring_cqe *c, uint32_t i, uint64_t iid)
{
	if (i >= c->ncaps || i >= RING_MAX_XFER)
		return 0;
	if (c->iids[i] != iid) {
		rt_release(c->caps[i]);
		return 0;
	}
	return c->caps[i];
}

int
rt_msg_read(struct capnp_msg *m, const void *buf, uint32_t len, struct capnp_struct *root)
{
	int r = capnp_msg_init(m, buf, len);
	if (r < 0)
		return r;
	return capnp_msg_root(m, root);
}

int
rt_exception_type(const void *buf, uint32_t len)
{
	struct capnp_msg m;
	Exception_R e;
	if (rt_msg_read(&m, buf, len, &e.s) < 0)
		return -1;
	return Exception_get_type(e);
}

/* Params and results messages each build in 16 KiB; the default result
 * buffer is as large (pass struct rt_call.buf for more). */
#define ARENA_BYTES 16384u

static uint64_t params_arena[ARENA_BYTES / 8], params_out[ARENA_BYTES / 8 + 64];
static struct capnp_builder params_b;
static bool params_open;

static uint64_t reply_buf[ARENA_BYTES / 8 + 64];
static struct rt_call scratch_call;

static uint64_t results_arena[ARENA_BYTES / 8];
static struct capnp_builder results_b;
static struct capnp_msg params_msg;

int
rt_params_begin(uint16_t data_words, uint16_t ptr_words, struct capnp_bstruct *root)
{
	capnp_builder_init(&params_b, params_arena, sizeof params_arena, 0);
	int r = capnp_builder_root(&params_b, data_words, ptr_words, root);
	params_open = r >= 0;
	return r < 0 ? r : 0;
}

/* A failed completion as a base/err.h code: the kernel's detail when set. */
static int
transport_error(const struct ring_cqe *c)
{
	if (c->detail < 0)
		return c->detail;
	switch (c->result) {
	case RING_E_INVALID_RESULT: return E_TOOBIG;
	case RING_E_INVOKE_FAILED: return E_PERM;
	case RING_E_UNSUPPORTED: return E_NOTSUP;
	}
	return E_INVAL;
}

int
rt_invoke(capid_t cap, uint16_t method, struct rt_call *cl, struct capnp_struct *results)
{
	if (!params_open)
		return E_INVAL;	/* no I_m_begin since the last call */
	params_open = false;
	if (!cl) {
		cl = &scratch_call;
		*cl = (struct rt_call){ 0 };
	}
	void *buf = cl->buf ? cl->buf : reply_buf;
	uint32_t cap_len = cl->buf ? cl->buflen : sizeof reply_buf;
	int n = capnp_builder_write(&params_b, params_out, sizeof params_out);
	if (n < 0)
		return n;
	int r = rt_call(cap, method, params_out, (uint32_t)n, buf, cap_len, cl->xfer, cl->nxfer,
			&cl->cqe);
	uint32_t len = cl->cqe.len < cap_len ? cl->cqe.len : cap_len;	/* never past our buffer */
	if (r == RING_E_EXCEPTION) {
		int type = rt_exception_type(buf, len);
		return type < 0 ? E_CORRUPT : RT_E_EXCEPTION(type);
	}
	if (r < 0)
		return transport_error(&cl->cqe);
	if (len == 0) {	/* empty results: every field its default */
		*results = (struct capnp_struct){ 0 };
		return 0;
	}
	return rt_msg_read(&cl->msg, buf, len, results) < 0 ? E_CORRUPT : 0;
}

static void
release_received(const struct rt_request *rq)
{
	for (uint32_t i = 0; i < rq->ncaps && i < RING_MAX_XFER; i++)
		rt_release(rq->caps[i]);
}

int
rt_dispatch_begin(const struct rt_request *rq, struct capnp_struct *params, uint16_t data_words,
		  uint16_t ptr_words, struct capnp_bstruct *results)
{
	*params = (struct capnp_struct){ 0 };
	if (rq->plen > 0 && rt_msg_read(&params_msg, rq->params, rq->plen, params) < 0) {
		release_received(rq);
		return ExceptionType_invalidArgument + 1;
	}
	capnp_builder_init(&results_b, results_arena, sizeof results_arena, 0);
	if (capnp_builder_root(&results_b, data_words, ptr_words, results) < 0)
		return ExceptionType_failed + 1;
	return 0;
}

int
rt_dispatch_end(int r, const struct rt_answer *a, void *res, uint32_t *rlen, uint32_t *nout)
{
	if (r != 0)
		return r;
	if (a->ncaps > RING_MAX_XFER)
		return ExceptionType_failed + 1;
	int n = capnp_builder_write(&results_b, res, *rlen);
	if (n < 0)
		return ExceptionType_failed + 1;
	*rlen = (uint32_t)n;
	*nout = a->ncaps;
	return 0;
}

int
rt_dispatch_unimplemented(const struct rt_request *rq)
{
	release_received(rq);
	return ExceptionType_unimplemented + 1;
}

/* ---- process building (spawn.h) ---- */

int
rt_spawn_create(capid_t spawner, const char *name, uint32_t nlen, const char *binary, uint32_t blen,
		capid_t *builder)
{
	struct rt_call cl = { 0 };
	ProcessSpawner_create_Params_B p;
	ProcessSpawner_create_Results_R res;
	CreateResult_R cr;
	int r;

	*builder = 0;
	if ((r = ProcessSpawner_create_begin(&p)) < 0)
		return r;
	ProcessSpawner_create_Params_set_name(p, name, nlen);
	ProcessSpawner_create_Params_set_binary(p, binary, blen);
	if ((r = ProcessSpawner_create_call(spawner, &cl, &res)) < 0)
		return r;
	if (ProcessSpawner_create_Results_get_result(res, &cr) < 0)
		return E_CORRUPT;
	if (CreateResult_which(cr) != CreateResult_which_builder)
		return RT_E_SPAWN(CreateResult_get_error(cr));
	*builder = CreateResult_adopt_builder(cr, &cl.cqe);
	return *builder ? 0 : E_BADF;
}

int
rt_spawn_grant(capid_t builder, const struct rt_grant *g, uint32_t n)
{
	struct ring_xfer x[RING_MAX_XFER];
	struct rt_call cl = { .xfer = x, .nxfer = n };
	ProcessBuilder_grant_Params_B p;
	ProcessBuilder_grant_Results_R res;
	BuildResult_R br;
	struct capnp_blist gl;
	int r;

	if (n > RING_MAX_XFER)
		return E_LIMIT;
	if ((r = ProcessBuilder_grant_begin(&p)) < 0 ||
	    (r = ProcessBuilder_grant_Params_init_grants(p, n, &gl)) < 0)
		return r;
	for (uint32_t i = 0; i < n; i++) {
		SpawnGrant_B e;
		if ((r = SpawnGrant_blist_get(&gl, i, &e)) < 0 ||
		    (r = SpawnGrant_set_name(e, g[i].name, g[i].len)) < 0)
			return r;
		capnp_bptr_set_cap(SpawnGrant_ptr_cap(e), i);
		x[i] = g[i].x;
	}
	if ((r = ProcessBuilder_grant_call(builder, &cl, &res)) < 0)
		return r;
	if (ProcessBuilder_grant_Results_get_result(res, &br) < 0)
		return E_CORRUPT;
	return BuildResult_which(br) == BuildResult_which_ok ? 0 : RT_E_SPAWN(BuildResult_get_error(br));
}

/* A SpawnResult's ProcessHandle into *handle, or the SpawnError. */
static int
spawn_handle(SpawnResult_R sr, struct rt_call *cl, capid_t *handle)
{
	if (SpawnResult_which(sr) != SpawnResult_which_handle)
		return RT_E_SPAWN(SpawnResult_get_error(sr));
	*handle = SpawnResult_adopt_handle(sr, &cl->cqe);
	return *handle ? 0 : E_BADF;
}

int
rt_spawn_start(capid_t builder, capid_t *handle)
{
	struct rt_call cl = { 0 };
	ProcessBuilder_start_Params_B p;
	ProcessBuilder_start_Results_R res;
	SpawnResult_R sr;
	int r;

	*handle = 0;
	if ((r = ProcessBuilder_start_begin(&p)) < 0 || (r = ProcessBuilder_start_call(builder, &cl, &res)) < 0)
		return r;
	if (ProcessBuilder_start_Results_get_result(res, &sr) < 0)
		return E_CORRUPT;
	return spawn_handle(sr, &cl, handle);
}

/* ProcessSpawner.spawn in one call, no grants. */
int
rt_spawn_bare(capid_t spawner, const char *name, const char *binary, capid_t *handle)
{
	struct rt_call cl = { 0 };
	ProcessSpawner_spawn_Params_B p;
	ProcessSpawner_spawn_Results_R res;
	SpawnResult_R sr;
	struct capnp_blist gl;
	int r;

	*handle = 0;
	if ((r = ProcessSpawner_spawn_begin(&p)) < 0)
		return r;
	ProcessSpawner_spawn_Params_set_name(p, name, (uint32_t)strlen(name));
	ProcessSpawner_spawn_Params_set_binary(p, binary, (uint32_t)strlen(binary));
	if ((r = ProcessSpawner_spawn_Params_init_grants(p, 0, &gl)) < 0 ||
	    (r = ProcessSpawner_spawn_call(spawner, &cl, &res)) < 0)
		return r;
	if (ProcessSpawner_spawn_Results_get_result(res, &sr) < 0)
		return E_CORRUPT;
	return spawn_handle(sr, &cl, handle);
}
