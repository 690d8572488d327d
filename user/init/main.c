/*
 * init: the only process the kernel starts (docs/init.md).
 *
 * It reads the boot manifest from BootPackage in chunks, decodes and
 * validates it with lib/manifest (the same code mkmanifest ran at build
 * time; init does not trust the build), then starts the services in the
 * validator's dependency order. For each service it creates one endpoint
 * per export (EndpointFactory), and spawns the service from its named boot
 * module granting exactly the manifest's caps: kernel sources from init's
 * own caps, another service's export as a CALL-only client facet, and its
 * own exports as raw endpoints.
 *
 * Restart policies: a service with `restart` onFailure or always may be
 * started again up to maxRestarts times. So that its clients keep the same
 * caps across restarts, init keeps a server facet of each of its exports
 * (and a client facet of every export it imports) while restarts remain;
 * the kernel fails the calls a dead instance had received with
 * `disconnected` and keeps queued calls for the next instance. When init
 * gives up (budget spent, or the service is done), it releases its server
 * facets, so the endpoint dies and every caller gets `disconnected`. A
 * `never` service's endpoints are moved to it and init keeps nothing.
 */
#include "capos.h"
#include "spawn.h"
#include "manifest/manifest.h"
#include "schema/base.capnp.h"
#include "schema/ipc.capnp.h"
#include "schema/manifest.capnp.h"
#include "schema/process.capnp.h"

#define CHUNK 16384u

static struct mf_manifest man;
static uint8_t mbuf[MF_MAX_MANIFEST_BYTES] __attribute__((aligned(8)));
static uint64_t rbuf[4096];	/* BootPackage results: a 16 KiB chunk and its framing */

struct exp {
	struct mf_str service, name;
	capid_t server, client;	/* init's facets; 0 once released or moved */
};
static struct exp exps[MF_MAX_EXPORTS];
static uint32_t nexps;
static capid_t boot, spawner, epf;

/* Per service: its ProcessHandle and restart bookkeeping. */
struct svc {
	capid_t handle;		/* 0 when not running (or not tracked) */
	uint32_t first_exp;	/* its exports: exps[first_exp .. first_exp + nexports) */
	uint32_t restarts;	/* restarts done so far */
	uint64_t due;		/* a restart is pending: start it at this monotonic ns; 0 = none */
	uint64_t delay_ms;	/* the backoff before the pending restart */
	bool exps_made;
	bool done;		/* never started again */
};
static struct svc svcs[MF_MAX_SERVICES];

static int
read_manifest(uint32_t *len)
{
	struct rt_call cl = { .buf = rbuf, .buflen = sizeof rbuf };
	BootPackage_manifestSize_Params_B sp;
	BootPackage_manifestSize_Results_R sr;

	if (BootPackage_manifestSize_begin(&sp) < 0 || BootPackage_manifestSize_call(boot, &cl, &sr) < 0)
		return E_IO;
	uint64_t size = BootPackage_manifestSize_Results_get_size(sr);
	if (size == 0 || size > sizeof mbuf)
		return E_TOOBIG;
	for (uint64_t off = 0; off < size;) {
		BootPackage_readManifest_Params_B p;
		BootPackage_readManifest_Results_R res;
		BootReadResult_R r;
		struct capnp_data d;
		if (BootPackage_readManifest_begin(&p) < 0)
			return E_IO;
		BootPackage_readManifest_Params_set_offset(p, off);
		BootPackage_readManifest_Params_set_maxBytes(p, CHUNK);
		if (BootPackage_readManifest_call(boot, &cl, &res) < 0 ||
		    BootPackage_readManifest_Results_get_result(res, &r) < 0 ||
		    BootReadResult_which(r) != BootReadResult_which_data || BootReadResult_get_data(r, &d) < 0 ||
		    d.len == 0 || d.len > size - off)
			return E_IO;
		memcpy(mbuf + off, d.ptr, d.len);
		off += d.len;
	}
	*len = (uint32_t)size;
	return 0;
}

/* As many names as the kernel takes boot modules (MB2_MAX_MODULES, lib/boot/mb2.h). */
#define INIT_MAX_BINARIES 256
static struct mf_str bin_names[INIT_MAX_BINARIES];
static uint8_t bin_store[16384];

static int
read_binaries(struct mf_binset *set)
{
	struct rt_call cl = { .buf = rbuf, .buflen = sizeof rbuf };
	BootPackage_binaries_Params_B p;
	BootPackage_binaries_Results_R res;
	struct capnp_list l;
	uint32_t used = 0;

	if (BootPackage_binaries_begin(&p) < 0 || BootPackage_binaries_call(boot, &cl, &res) < 0 ||
	    BootPackage_binaries_Results_get_names(res, &l) < 0)
		return E_IO;
	set->count = 0;
	if (l.count > INIT_MAX_BINARIES) {
		rt_print("init: %u boot binaries, more than the %u init can list", l.count,
		       INIT_MAX_BINARIES);
		return E_IO;
	}
	for (uint32_t i = 0; i < l.count; i++) {
		struct capnp_text t;
		if (capnp_ptr_text(capnp_list_ptr(&l, i), &t) < 0 || used + t.len > sizeof bin_store)
			return E_IO;
		memcpy(bin_store + used, t.str, t.len);
		bin_names[set->count++] = (struct mf_str){ (const char *)bin_store + used, t.len };
		used += t.len;
	}
	set->names = bin_names;
	return 0;
}

static int
make_endpoint(uint64_t iid, capid_t *server, capid_t *client)
{
	struct rt_call cl = { 0 };
	EndpointFactory_create_Params_B p;
	EndpointFactory_create_Results_R res;

	if (EndpointFactory_create_begin(&p) < 0)
		return E_IO;
	EndpointFactory_create_Params_set_interfaceId(p, iid);
	if (EndpointFactory_create_call(epf, &cl, &res) < 0 || cl.cqe.ncaps != 2)
		return E_IO;	/* (the kernel sends both caps or fails) */
	*server = cl.cqe.caps[0];
	*client = cl.cqe.caps[1];
	return 0;
}

static capid_t
kernel_cap(unsigned source)
{
	switch (source) {
	case MF_SRC_CONSOLE: return rt_cap("console", Console_TYPE_ID);
	case MF_SRC_WALL_CLOCK: return rt_cap("clock", WallClock_TYPE_ID);
	case MF_SRC_ENTROPY: return rt_cap("entropy", EntropySource_TYPE_ID);
	case MF_SRC_PROCESS_SPAWNER: return spawner;
	default: return 0;	/* device sources: not served by this kernel yet */
	}
}

static bool
restartable(const struct mf_service *s)
{
	return s->restart != MF_RESTART_NEVER;	/* the validator requires maxRestarts >= 1 then */
}

/* The export's facets for this service: made once, kept across restarts. */
static int
service_exports(uint32_t si)
{
	const struct mf_service *s = &man.services[si];
	struct svc *v = &svcs[si];

	if (v->exps_made)
		return 0;
	v->first_exp = nexps;
	for (uint32_t i = 0; i < s->nexports; i++) {
		const struct mf_export *e = &man.exports[s->first_export + i];
		struct exp *r = &exps[nexps];
		if (make_endpoint(e->interface_id, &r->server, &r->client) < 0)
			return E_IO;
		r->service = s->name;
		r->name = e->name;
		nexps++;
	}
	v->exps_made = true;
	return 0;
}

/* Init stops serving si's exports: the endpoints die once no instance holds
 * them, and their callers get `disconnected`. */
static void
release_exports(uint32_t si)
{
	if (!svcs[si].exps_made)
		return;
	for (uint32_t i = 0; i < man.services[si].nexports; i++) {
		struct exp *r = &exps[svcs[si].first_exp + i];
		if (r->server)
			rt_release(r->server);
		r->server = 0;
	}
}

#define SERVICE_XFERS	(MF_MAX_SERVICE_GRANTS + MF_MAX_SERVICE_EXPORTS)
_Static_assert(MF_MAX_SERVICE_CAPS == BOOTSTRAP_MAX_CAPS,
	       "the validator bounds a service's caps by its bootstrap page");

/* The caps init transfers to service si: its non-device grants, then its
 * exports. 0, or E_NOENT when one is not available (logged). */
static int
service_grants(uint32_t si, struct rt_grant *out, uint32_t *nout)
{
	const struct mf_service *s = &man.services[si];
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->ngrants; i++) {
		const struct mf_grant *g = &man.grants[s->first_grant + i];
		capid_t cap = 0;
		if (mf_source_is_device(g->source))
			continue;	/* claimed and granted by the kernel device manager at start */
		if (g->source == MF_SRC_SERVICE) {
			for (uint32_t e = 0; e < nexps; e++)
				if (mf_str_eq(exps[e].service, g->service) && mf_str_eq(exps[e].name, g->export_name))
					cap = exps[e].client;
		} else {
			cap = kernel_cap(g->source);
		}
		if (!cap) {
			rt_print("init: service %.*s: grant %.*s (%s) is not available", (int)s->name.len,
				 s->name.p, (int)g->name.len, g->name.p, mf_source_name(g->source));
			return E_NOENT;
		}
		out[n++] = (struct rt_grant){ g->name.p, g->name.len, { cap, RING_XFER_COPY } };
	}
	if (service_exports(si) < 0)
		return E_IO;
	for (uint32_t i = 0; i < s->nexports; i++) {
		struct exp *r = &exps[svcs[si].first_exp + i];
		if (!r->server)
			return E_NOENT;
		/* restartable: init keeps a server facet for the next instance */
		out[n++] = (struct rt_grant){ r->name.p, r->name.len,
					      { r->server, restartable(s) ? RING_XFER_COPY : RING_XFER_MOVE } };
	}
	*nout = n;
	return 0;
}

static int
spawn_refused(const struct mf_service *s, const char *step, int r)
{
	if (RT_IS_SPAWN_ERROR(r))
		rt_print("init: spawn %.*s refused: error %d (at %s)", (int)s->name.len, s->name.p,
			 RT_SPAWN_ERROR(r), step);
	else
		rt_print("init: spawn %.*s failed: result %d (at %s)", (int)s->name.len, s->name.p, r, step);
	return E_INVAL;
}

/*
 * Start service si with its caps: ProcessSpawner.create, then as many
 * ProcessBuilder.grant calls as its caps need (RING_MAX_XFER per message),
 * then start. A failure releases the builder, which destroys the process
 * before it ever ran (the caps it had been given go with it).
 */
static int
spawn(uint32_t si)
{
	const struct mf_service *s = &man.services[si];
	static struct rt_grant g[SERVICE_XFERS];
	capid_t builder;
	uint32_t n = 0;
	int r;

	if ((r = service_grants(si, g, &n)) < 0)
		return r;
	if ((r = rt_spawn_create(spawner, s->name.p, s->name.len, s->binary.p, s->binary.len, &builder)) < 0)
		return spawn_refused(s, "create", r);
	for (uint32_t k = 0; k < n; k += RING_MAX_XFER) {
		if ((r = rt_spawn_grant(builder, g + k, n - k < RING_MAX_XFER ? n - k : RING_MAX_XFER)) < 0) {
			rt_release(builder);
			return spawn_refused(s, "grant", r);
		}
	}
	if (!restartable(s))	/* the server facets moved to the service */
		for (uint32_t i = 0; i < s->nexports; i++)
			exps[svcs[si].first_exp + i].server = 0;
	r = rt_spawn_start(builder, &svcs[si].handle);
	rt_release(builder);	/* spent, or (refused) the unstarted process goes with it */
	return r < 0 ? spawn_refused(s, "start", r) : 0;
}

/* Log how a service ended; true when that counts as a failure for onFailure. */
static bool
report_exit(const struct mf_service *s, ExitStatus_R e)
{
	switch (ExitStatus_which(e)) {
	case ExitStatus_which_code:
		rt_print("init: service %.*s exited code=%d", (int)s->name.len, s->name.p,
			 ExitStatus_get_code(e));
		return ExitStatus_get_code(e) != 0;
	case ExitStatus_which_fault: {
		ProcessFault_R f;
		struct capnp_text t = { "", 0 };
		ExitStatus_get_fault(e, &f);
		ProcessFault_get_reason(f, &t);
		rt_print("init: service %.*s faulted addr=%#lx reason=\"%.*s\"", (int)s->name.len,
			 s->name.p, ProcessFault_get_address(f), (int)t.len, t.str);
		return true;
	}
	default:
		rt_print("init: service %.*s killed", (int)s->name.len, s->name.p);
		return true;
	}
}

/* Is export e granted to a restartable service that may still be started? */
static bool
import_needed(const struct exp *x)
{
	for (uint32_t si = 0; si < man.nservices; si++) {
		const struct mf_service *s = &man.services[si];
		if (!restartable(s) || svcs[si].done)
			continue;
		for (uint32_t i = 0; i < s->ngrants; i++) {
			const struct mf_grant *g = &man.grants[s->first_grant + i];
			if (g->source == MF_SRC_SERVICE && mf_str_eq(x->service, g->service) &&
			    mf_str_eq(x->name, g->export_name))
				return true;
		}
	}
	return false;
}

/* Drop the client facets no later restart will grant: from then on, those
 * endpoints live only in the services the manifest connected. */
static void
release_unneeded_clients(void)
{
	for (uint32_t e = 0; e < nexps; e++)
		if (exps[e].client && !import_needed(&exps[e])) {
			rt_release(exps[e].client);
			exps[e].client = 0;
		}
}

/* si is never started again: its endpoints die with the last instance. */
static void
retire(uint32_t si)
{
	svcs[si].done = true;
	release_exports(si);
	release_unneeded_clients();
}

/*
 * Restart backoff (docs/init.md): the n-th restart of a service waits
 * RESTART_DELAY_MIN_MS << (n - 1), at most RESTART_DELAY_MAX_MS, after its
 * instance ended, so a crash loop sleeps instead of spinning. Time is
 * WallClock.monotonicNanos; the wait is a cap_enter timeout, kept from
 * returning at once (no operation in flight) by a RECV on a private
 * endpoint nobody calls.
 */
#define RESTART_DELAY_MIN_MS	20ull
#define RESTART_DELAY_MAX_MS	2000ull
#define SLEEP_TAG		(1ull << 61)	/* the timer RECV: never completes */

static capid_t clock;
static bool have_timer;	/* the timer RECV is posted: timed waits block */

static uint64_t
restart_delay_ms(uint32_t n)
{
	uint64_t ms = RESTART_DELAY_MIN_MS;
	for (uint32_t i = 1; i < n && ms < RESTART_DELAY_MAX_MS; i++)
		ms *= 2;
	return ms < RESTART_DELAY_MAX_MS ? ms : RESTART_DELAY_MAX_MS;
}

static uint64_t
now_ns(void)
{
	WallClock_monotonicNanos_Params_B p;
	WallClock_monotonicNanos_Results_R r;
	if (!clock || WallClock_monotonicNanos_begin(&p) < 0 ||
	    WallClock_monotonicNanos_call(clock, NULL, &r) < 0)
		return 0;
	return WallClock_monotonicNanos_Results_get_nanos(r);
}

/* Post the timer RECV. Without it (or a clock) restarts are immediate. */
static void
timer_init(void)
{
	static uint64_t sink[8];
	capid_t server, client;	/* client kept: the endpoint stays alive, its RECV parked */

	clock = rt_cap("clock", WallClock_TYPE_ID);
	if (!clock || make_endpoint(0, &server, &client) < 0) {
		rt_print("init: no timer: restarts are not delayed");
		return;
	}
	struct ring_sqe e = {
		.opcode = RING_OP_RECV, .cap = server, .user_data = SLEEP_TAG,
		.result = (uint64_t)sink, .result_len = sizeof sink,
	};
	have_timer = rt_submit(&e) == 0;
}

/* The next completion, waiting at most timeout_ns (0: no limit); false when none came. */
static bool
reap_timed(struct ring_cqe *c, uint64_t timeout_ns)
{
	if (rt_reap(c, false))
		return true;
	sys_cap_enter(1, timeout_ns);
	return rt_reap(c, false);
}

/*
 * si's instance ended (failed: per report_exit). When its policy and budget
 * allow another, schedule it after the backoff delay (svcs[si].due);
 * otherwise retire the service.
 */
static void
restart(uint32_t si, bool failed)
{
	const struct mf_service *s = &man.services[si];
	struct svc *v = &svcs[si];
	bool wanted = s->restart == MF_RESTART_ALWAYS || (s->restart == MF_RESTART_ON_FAILURE && failed);

	if (wanted && v->restarts < s->max_restarts) {
		v->restarts++;
		v->delay_ms = have_timer ? restart_delay_ms(v->restarts) : 0;
		v->due = have_timer ? now_ns() + v->delay_ms * 1000000ull + 1 : 1;	/* never 0: pending */
		return;
	}
	if (wanted)
		rt_print("init: %.*s gave up after %u restarts", (int)s->name.len, s->name.p, v->restarts);
	retire(si);
}

/* Start the instance of si that was due; true when it runs. */
static bool
restart_now(uint32_t si)
{
	const struct mf_service *s = &man.services[si];
	struct svc *v = &svcs[si];

	v->due = 0;
	rt_print("init: restart %.*s %u/%u delay_ms=%lu", (int)s->name.len, s->name.p, v->restarts,
		 s->max_restarts, v->delay_ms);
	if (spawn(si) == 0)
		return true;
	rt_print("init: %.*s gave up after %u restarts", (int)s->name.len, s->name.p, v->restarts);
	retire(si);
	return false;
}

/* The earliest pending restart's time, 0 when none. */
static uint64_t
next_due(void)
{
	uint64_t next = 0;
	for (uint32_t si = 0; si < man.nservices; si++)
		if (svcs[si].due && (!next || svcs[si].due < next))
			next = svcs[si].due;
	return next;
}

#define WAIT_TAG	(1ull << 62)	/* user_data of init's waits: never one of rt's own tags */
#define WAIT_SLOTS	(RING_CQ_ENTRIES - 8)	/* waits in flight at once: room left for rt_call */

static uint64_t wait_params[8], wait_res[MF_MAX_SERVICES][64];

static int
wait_submit(uint32_t si)
{
	ProcessHandle_wait_Params_B p;
	ProcessHandle_wait_Params_init_root(rt_msg_begin(), &p);	/* timeout 0: none */
	int n = rt_msg_end(wait_params, sizeof wait_params);
	if (n < 0)
		return n;
	/* The kernel copies the params when it consumes the entry; every wait
	 * sends the same bytes, so rebuilding wait_params meanwhile is harmless. */
	struct ring_sqe e = {
		.opcode = RING_OP_CALL, .method = ProcessHandle_wait_ORDINAL, .cap = svcs[si].handle,
		.user_data = WAIT_TAG | si, .params = (uint64_t)wait_params, .params_len = (uint32_t)n,
		.result = (uint64_t)wait_res[si], .result_len = sizeof wait_res[si],
	};
	return rt_submit(&e);
}

/* One ProcessHandle.wait completed: log it, schedule a restart or retire the service. */
static void
service_ended(uint32_t si, const struct ring_cqe *c)
{
	const struct mf_service *s = &man.services[si];
	struct capnp_msg m;
	ProcessHandle_wait_Results_R res;
	WaitResult_R w;
	ExitStatus_R e;
	bool ended = c->result >= 0 && rt_msg_read(&m, wait_res[si], c->len, &res.s) >= 0 &&
		     ProcessHandle_wait_Results_get_result(res, &w) >= 0 &&
		     WaitResult_get_exited(w, &e) >= 0;

	if (!ended)	/* it may still run: never start a second instance */
		rt_print("init: wait on %.*s failed: result %d; not supervised any more",
			 (int)s->name.len, s->name.p, c->result);
	bool failed = ended && report_exit(s, e);
	rt_release(svcs[si].handle);	/* the kernel may now free the dead process's record */
	svcs[si].handle = 0;
	if (!ended) {
		retire(si);
		return;
	}
	restart(si, failed);
}

/* Wait on every running service, at most WAIT_SLOTS at a time, and start
 * the restarts as they fall due, until nothing is left. */
static void
supervise(void)
{
	uint32_t queue[MF_MAX_SERVICES], nq = 0, outstanding = 0;
	struct ring_cqe c;

	for (uint32_t k = 0; k < man.nservices; k++)
		if (svcs[man.start_order[k]].handle)
			queue[nq++] = man.start_order[k];
	for (;;) {
		while (nq && outstanding < WAIT_SLOTS && wait_submit(queue[0]) == 0) {
			outstanding++;
			memmove(queue, queue + 1, --nq * sizeof queue[0]);
		}
		uint64_t next = next_due(), now = next ? now_ns() : 0;
		if (!outstanding && !next)
			return;
		if (next && (now >= next || !have_timer)) {
			for (uint32_t si = 0; si < man.nservices; si++)
				if (svcs[si].due && (svcs[si].due <= now || !have_timer) && restart_now(si))
					queue[nq++] = si;
			continue;
		}
		if (!reap_timed(&c, next ? next - now : 0))
			continue;	/* a restart fell due */
		if (c.user_data == SLEEP_TAG) {	/* the timer endpoint failed: no more delays */
			have_timer = false;
			for (uint32_t si = 0; si < man.nservices; si++)
				if (svcs[si].due)
					svcs[si].due = 1;
			continue;
		}
		if (!(c.user_data & WAIT_TAG) || (c.user_data & ~WAIT_TAG) >= man.nservices)
			continue;	/* not one of ours (cannot happen: rt_call reaps its own) */
		outstanding--;
		service_ended((uint32_t)(c.user_data & ~WAIT_TAG), &c);
	}
}

int
main(void)
{
	struct mf_error err = { 0 };
	struct mf_binset bins;
	uint32_t len;

	boot = rt_cap("boot", BootPackage_TYPE_ID);
	spawner = rt_cap("spawner", ProcessSpawner_TYPE_ID);
	epf = rt_cap("endpoints", EndpointFactory_TYPE_ID);
	if (!boot || !spawner || !epf) {
		rt_print("init: missing bootstrap caps");
		return 1;
	}
	if (read_manifest(&len) < 0 || read_binaries(&bins) < 0) {
		rt_print("init: cannot read the boot manifest");
		return 2;
	}
	if (mf_decode(mbuf, len, &man, &err) < 0 || mf_validate(&man, &bins, &err) < 0) {
		rt_print("init: manifest rejected: %s", err.msg);
		return 3;
	}
	rt_print("init: manifest-ok services=%u bytes=%u", man.nservices, len);
	uint32_t started = 0;
	for (uint32_t k = 0; k < man.nservices; k++) {
		uint32_t si = man.start_order[k];
		if (spawn(si) == 0) {
			started++;
		} else {	/* not running: its exports die, nothing restarts it */
			svcs[si].done = true;
			release_exports(si);
		}
	}
	release_unneeded_clients();	/* once, not per failed service: the start is over */
	rt_print("init: started %u of %u services", started, man.nservices);
	timer_init();
	supervise();
	rt_print("init: all services exited");
	return 0;
}
