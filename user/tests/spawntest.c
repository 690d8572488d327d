/*
 * spawntest: the ProcessBuilder checks (docs/processes.md, "Spawning";
 * tests/system/test_spawn.py on user/tests/test-spawn.json). Roles by
 * process name:
 *
 *   name-server-N  serves Echo on its export `svc`: echo answers with the
 *                  server's own process name, so a client can tell which
 *                  service a cap reaches
 *   wide           started by init with more caps than one message carries
 *                  (console, clock, entropy, spawner and six services'
 *                  exports): uses every one, then checks the builder's
 *                  refusals through its spawner
 *   spawn-victim   started by wide with BOOTSTRAP_MAX_CAPS console copies:
 *                  checks its bootstrap page and exits with the count
 *   burster        (test-burst.json, tests/system/test_reclaim.py) rounds of
 *                  BURST children alive at once, spawned with
 *                  ProcessSpawner.spawn, then killed, waited for and
 *                  released: the kernel stacks of dead processes must go
 *                  back to the page allocator
 *   burst-child    spins until killed
 *
 * Every check prints `spawntest: ROLE NAME result=pass|fail ...`.
 */
#include "capos.h"
#include "spawn.h"
#include "schema/base.capnp.h"
#include "schema/exception.capnp.h"
#include "schema/ipc.capnp.h"
#include "schema/process.capnp.h"

static int failures;

#define CHECK(what, cond, fmt, ...)                                                            \
	do {                                                                                   \
		bool ok_ = (cond);                                                             \
		failures += !ok_;                                                              \
		rt_print("spawntest: %s %s result=%s " fmt, rt_boot->name, what,               \
			 ok_ ? "pass" : "fail", ##__VA_ARGS__);                                \
	} while (0)

/* ---- name-server-N ---- */

static int
name_echo(void *ctx, const struct rt_request *rq, Echo_echo_Params_R p, Echo_echo_Results_B r,
	  struct rt_answer *a)
{
	return Echo_echo_Results_set_data(r, rt_boot->name, strlen(rt_boot->name)) < 0 ?
		       ExceptionType_failed + 1 : 0;
}

static const struct Echo_Server name_server = { .echo = name_echo };

static int
name_handler(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
	     struct ring_xfer *out, uint32_t *nout)
{
	return Echo_dispatch((void *)&name_server, rq, res, rlen, out, nout);
}

static int
serve_name(void)
{
	capid_t ep = rt_cap("svc", Echo_TYPE_ID);
	if (!ep) {
		rt_print("spawntest: %s no endpoint", rt_boot->name);
		return 1;
	}
	return rt_serve(ep, 0, name_handler, NULL) < 0 ? 2 : 0;
}

/* ---- wide: every granted cap works ---- */

#define WIDE_SERVERS 6

static bool
echo_names(capid_t cap, const char *want)
{
	Echo_echo_Params_B p;
	Echo_echo_Results_R r;
	struct capnp_data d;

	if (!cap || Echo_echo_begin(&p) < 0)
		return false;
	Echo_echo_Params_set_data(p, "who", 3);
	return Echo_echo_call(cap, NULL, &r) == 0 && Echo_echo_Results_get_data(r, &d) == 0 &&
	       d.len == strlen(want) && memcmp(d.ptr, want, d.len) == 0;
}

static void
wide_grants(void)
{
	char grant[8] = "srv0", server[16] = "name-server-0";

	CHECK("caps", rt_boot->ncaps == 4 + WIDE_SERVERS, "ncaps=%u", rt_boot->ncaps);
	CHECK("console", rt_print("spawntest: wide console works") == 0, "");
	WallClock_monotonicNanos_Params_B cp;
	WallClock_monotonicNanos_Results_R cr;
	capid_t clock = rt_cap("clock", WallClock_TYPE_ID);
	CHECK("clock", clock && WallClock_monotonicNanos_begin(&cp) == 0 &&
			       WallClock_monotonicNanos_call(clock, NULL, &cr) == 0, "");
	EntropySource_getRandom_Params_B ep;
	EntropySource_getRandom_Results_R er;
	EntropyResult_R e;
	capid_t entropy = rt_cap("entropy", EntropySource_TYPE_ID);
	bool eok = entropy && EntropySource_getRandom_begin(&ep) == 0;
	if (eok) {
		EntropySource_getRandom_Params_set_length(ep, 8);
		eok = EntropySource_getRandom_call(entropy, NULL, &er) == 0 &&
		      EntropySource_getRandom_Results_get_result(er, &e) == 0;
	}
	/* bytes with RDRAND, unavailable without: either is the kernel's EntropySource answering */
	CHECK("entropy", eok, "which=%d", eok ? (int)EntropyResult_which(e) : -1);
	for (int i = 0; i < WIDE_SERVERS; i++) {
		grant[3] = server[12] = (char)('0' + i);
		CHECK("import", echo_names(rt_cap(grant, Echo_TYPE_ID), server), "grant=%s server=%s",
		      grant, server);
	}
}

/* ---- wide: the builder's refusals ---- */

static capid_t spawner, console;

/* A spawn.h result as the checks compare it: -1 ok, a SpawnError, or
 * another error (< -1). */
static int
outcome(int r)
{
	return r == 0 ? -1 : RT_IS_SPAWN_ERROR(r) ? RT_SPAWN_ERROR(r) : r < -1 ? r : -2;
}

/* ProcessSpawner.create: the builder, or 0; *err as outcome(). */
static capid_t
create(const char *name, const char *binary, int *err)
{
	capid_t b;
	int r = rt_spawn_create(spawner, name, (uint32_t)strlen(name), binary, (uint32_t)strlen(binary), &b);
	*err = outcome(r);
	return b;
}

/* ProcessBuilder.grant of console copies named names[0..n): outcome(). */
static int
grant(capid_t b, const char *const *names, uint32_t n)
{
	struct rt_grant g[RING_MAX_XFER];

	for (uint32_t i = 0; i < n && i < RING_MAX_XFER; i++)
		g[i] = (struct rt_grant){ names[i], (uint32_t)strlen(names[i]), { console, RING_XFER_COPY } };
	return outcome(rt_spawn_grant(b, g, n));
}

/* ProcessBuilder.start: the ProcessHandle, or 0; *err as outcome(). */
static capid_t
start(capid_t b, int *err)
{
	capid_t h;
	int r = rt_spawn_start(b, &h);
	*err = outcome(r);
	return h;
}

/* ProcessHandle.wait: the exit code, or -1000 when it did not exit with one. */
static int
wait_code(capid_t h)
{
	ProcessHandle_wait_Params_B p;
	ProcessHandle_wait_Results_R res;
	WaitResult_R w;
	ExitStatus_R e;

	if (ProcessHandle_wait_begin(&p) < 0 || ProcessHandle_wait_call(h, NULL, &res) < 0 ||
	    ProcessHandle_wait_Results_get_result(res, &w) < 0 || WaitResult_get_exited(w, &e) < 0 ||
	    ExitStatus_which(e) != ExitStatus_which_code)
		return -1000;
	return ExitStatus_get_code(e);
}

static const char *const slot_names[] = {
	"c00", "c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10",
	"c11", "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19", "c20", "c21",
	"c22", "c23", "c24", "c25", "c26", "c27", "c28", "c29", "c30", "c31", "c32",
};

static void
wide_refusals(void)
{
	int err, r;
	spawner = rt_cap("spawner", ProcessSpawner_TYPE_ID);
	console = rt_cap("console", Console_TYPE_ID);

	capid_t none = create("no-binary", "no-such-binary", &err);
	CHECK("unknown-binary", !none && err == SpawnError_unknownBinary, "err=%d", err);

	capid_t b = create("spawn-victim", "spawntest", &err);
	CHECK("create", b != 0, "err=%d", err);
	r = grant(b, (const char *const[]){ "console" }, 1);
	CHECK("grant-first", r == -1, "r=%d", r);
	r = grant(b, (const char *const[]){ "c00", "console" }, 2);
	CHECK("duplicate-earlier", r == SpawnError_duplicateName, "r=%d", r);
	r = grant(b, (const char *const[]){ "c00", "c00" }, 2);
	CHECK("duplicate-same-call", r == SpawnError_duplicateName, "r=%d", r);
	/* the refused calls installed nothing: c00.. are still free; fill the page */
	uint32_t have = 1, calls = 0;
	while (have < BOOTSTRAP_MAX_CAPS) {
		uint32_t n = BOOTSTRAP_MAX_CAPS - have < RING_MAX_XFER ? BOOTSTRAP_MAX_CAPS - have : RING_MAX_XFER;
		if (grant(b, slot_names + have - 1, n) != -1)
			break;
		have += n;
		calls++;
	}
	CHECK("fill", have == BOOTSTRAP_MAX_CAPS, "caps=%u grant_calls=%u", have, calls);
	r = grant(b, (const char *const[]){ "c32" }, 1);
	CHECK("too-many", r == SpawnError_tooManyGrants, "r=%d", r);
	capid_t h = start(b, &err);
	CHECK("start", h != 0, "err=%d", err);
	r = grant(b, (const char *const[]){ "late" }, 1);
	CHECK("grant-after-start", r == SpawnError_alreadyStarted, "r=%d", r);
	capid_t h2 = start(b, &err);
	CHECK("start-twice", !h2 && err == SpawnError_alreadyStarted, "err=%d", err);
	int code = h ? wait_code(h) : -1;
	CHECK("victim-ran", code == BOOTSTRAP_MAX_CAPS, "code=%d", code);
	rt_release(h);
	rt_release(b);
	r = grant(b, (const char *const[]){ "stale" }, 1);
	CHECK("stale-builder", r < -1, "r=%d", r);

	/* A builder released before start: the process never runs. */
	capid_t b2 = create("spawn-abandoned", "spawntest", &err);
	r = grant(b2, (const char *const[]){ "console" }, 1);
	CHECK("abandon-setup", b2 && r == -1, "r=%d", r);
	rt_release(b2);
	CHECK("abandon-released", true, "");
}

static int
wide(void)
{
	wide_grants();
	wide_refusals();
	rt_print("spawntest: wide done failures=%d", failures);
	return failures;
}

/* ---- burster: kernel stacks come back ---- */

/* ProcessSpawner.spawn with no grants: the ProcessHandle, or 0. */
static capid_t
spawn_bare(const char *name)
{
	capid_t h;
	return rt_spawn_bare(spawner, name, "spawntest", &h) == 0 ? h : 0;
}

static bool
kill_and_wait(capid_t h)
{
	ProcessHandle_kill_Params_B kp;
	ProcessHandle_kill_Results_R kr;
	ProcessHandle_wait_Params_B wp;
	ProcessHandle_wait_Results_R wr;
	WaitResult_R w;
	ExitStatus_R e;

	return ProcessHandle_kill_begin(&kp) == 0 && ProcessHandle_kill_call(h, NULL, &kr) == 0 &&
	       ProcessHandle_wait_begin(&wp) == 0 && ProcessHandle_wait_call(h, NULL, &wr) == 0 &&
	       ProcessHandle_wait_Results_get_result(wr, &w) == 0 && WaitResult_get_exited(w, &e) == 0 &&
	       ExitStatus_which(e) == ExitStatus_which_killed;
}

#define BURST_MAX 24

static int
burster(void)
{
	static const uint32_t rounds[] = { 4, BURST_MAX, BURST_MAX, 4 };
	capid_t h[BURST_MAX];

	spawner = rt_cap("spawner", ProcessSpawner_TYPE_ID);
	for (uint32_t r = 0; r < sizeof rounds / sizeof rounds[0]; r++) {
		uint32_t n = 0, killed = 0;
		while (n < rounds[r] && (h[n] = spawn_bare("burst-child")))
			n++;
		for (uint32_t i = 0; i < n; i++) {
			killed += kill_and_wait(h[i]);
			rt_release(h[i]);	/* the kernel frees the record now */
		}
		CHECK("round", n == rounds[r] && killed == n, "round=%u children=%u killed=%u", r, n,
		      killed);
	}
	rt_print("spawntest: burster done failures=%d", failures);
	return failures;
}

/* ---- spawn-victim ---- */

static int
victim(void)
{
	bool distinct = true;
	for (uint32_t i = 0; i < rt_boot->ncaps; i++)
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(rt_boot->caps[i].name, rt_boot->caps[j].name) == 0)
				distinct = false;
	capid_t last = rt_cap("c30", Console_TYPE_ID);
	CHECK("bootstrap", distinct && last, "ncaps=%u", rt_boot->ncaps);
	return distinct ? (int)rt_boot->ncaps : 0;
}

static bool
prefix(const char *s, const char *p)
{
	return memcmp(s, p, strlen(p)) == 0;	/* s: a bootstrap-page name, 32 bytes */
}

int
main(void)
{
	const char *me = rt_boot->name;

	if (prefix(me, "name-server-"))
		return serve_name();
	if (prefix(me, "wide"))
		return wide();
	if (prefix(me, "spawn-victim"))
		return victim();
	if (prefix(me, "burster"))
		return burster();
	if (prefix(me, "burst-child"))
		for (;;)	/* until killed: every child of a round is alive at once */
			__asm__ volatile("pause");
	if (prefix(me, "spawn-abandoned")) {
		rt_print("spawntest: spawn-abandoned ran (it must not)");
		return 1;
	}
	rt_print("spawntest: unknown role %s", me);
	return 99;
}
