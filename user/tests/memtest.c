/*
 * memtest: the demand-zero heap (docs/processes.md, "Memory";
 * tests/system/test_mem.py on user/tests/test-mem.json). Roles by process
 * name:
 *
 *   mem-server   serves `svc`: answers each message with its bytes XOR 0x5a.
 *                Its receive buffer (rt_serve's, from the heap) is never
 *                touched by the server before the first message lands in
 *                it, so the kernel's copy must back those pages; its reply
 *                buffer is backed by its own page faults.
 *   mem-client   sends BIG-byte messages from and into heap buffers it never
 *                touched (an untouched page reads as zeros), then a pattern;
 *                spawns the children below and checks how each ended; then
 *                calls the server again: the faults ended only the faulting
 *                processes.
 *   mem-toucher  reads then writes every page of its heap (USER_HEAP_PAGES,
 *                far beyond the 144 pages once mapped eagerly), verifies
 *                them, and exits with the number of good pages.
 *   mem-faulter  writes the first byte past the heap: outside every VMA, it
 *                must end with "page fault (not present, write)".
 *   mem-fetcher  jumps into its heap: a demand-zero page is never
 *                executable, it must end with "page fault (not present,
 *                fetch)" and no page backed for it.
 *
 * Every check prints `memtest: ROLE NAME result=pass|fail ...`.
 */
#include "capos.h"
#include "schema/base.capnp.h"
#include "schema/exception.capnp.h"
#include "schema/ipc.capnp.h"
#include "schema/process.capnp.h"

#define BIG	(200u * 1024u)	/* bytes per message: 50 pages */
#define HEAP_END (USER_HEAP_VA + USER_HEAP_PAGES * 4096ull)

static int failures;

#define CHECK(what, cond, fmt, ...)                                                            \
	do {                                                                                   \
		bool ok_ = (cond);                                                             \
		failures += !ok_;                                                              \
		rt_print("memtest: %s %s result=%s " fmt, rt_boot->name, what,                 \
			 ok_ ? "pass" : "fail", ##__VA_ARGS__);                                \
	} while (0)

static uint8_t
pat(uint32_t i)
{
	return (uint8_t)(i * 131u + (i >> 12) + 7u);
}

/* ---- mem-server ---- */

static int
xor_handler(void *ctx, const struct rt_request *rq, void *res, uint32_t *rlen,
	    struct ring_xfer *out, uint32_t *nout)
{
	uint8_t *o = res;
	uint32_t zeros = 0, pats = 0;

	if (rq->plen > *rlen)
		return ExceptionType_failed + 1;
	for (uint32_t i = 0; i < rq->plen; i++) {
		zeros += rq->params[i] == 0;
		pats += rq->params[i] == pat(i);
		o[i] = rq->params[i] ^ 0x5a;
	}
	rt_print("memtest: mem-server recv len=%u zeros=%u pattern=%u", rq->plen, zeros, pats);
	*rlen = rq->plen;
	*nout = 0;
	return 0;
}

static int
server(void)
{
	capid_t ep = rt_cap("svc", Echo_TYPE_ID);
	if (!ep) {
		rt_print("memtest: mem-server no endpoint");
		return 1;
	}
	return rt_serve(ep, 0, xor_handler, NULL) < 0 ? 2 : 0;
}

/* ---- mem-client ---- */

static capid_t svc, spawner;

/* One call of len bytes from p into r; true when r holds p XOR 0x5a. */
static bool
xor_call(const uint8_t *p, uint8_t *r, uint32_t len, int *res)
{
	struct ring_cqe c;
	*res = rt_call(svc, 0, p, len, r, len, NULL, 0, &c);
	if (*res != (int)len || c.len != len)
		return false;
	for (uint32_t i = 0; i < len; i++)
		if (r[i] != (p[i] ^ 0x5a))
			return false;
	return true;
}

/* ProcessSpawner.spawn of memtest as `name`, no caps; its exit status. */
static bool
run_child(const char *name, ExitStatus_R *e)
{
	struct rt_call cl = { 0 };
	ProcessSpawner_spawn_Params_B p;
	ProcessSpawner_spawn_Results_R res;
	ProcessHandle_wait_Params_B wp;
	ProcessHandle_wait_Results_R wr;
	SpawnResult_R sr;
	WaitResult_R w;
	struct capnp_blist gl;

	if (ProcessSpawner_spawn_begin(&p) < 0)
		return false;
	ProcessSpawner_spawn_Params_set_name(p, name, (uint32_t)strlen(name));
	ProcessSpawner_spawn_Params_set_binary(p, "memtest", 7);
	ProcessSpawner_spawn_Params_init_grants(p, 0, &gl);
	if (ProcessSpawner_spawn_call(spawner, &cl, &res) < 0 ||
	    ProcessSpawner_spawn_Results_get_result(res, &sr) < 0)
		return false;
	capid_t h = SpawnResult_adopt_handle(sr, &cl.cqe);
	/* *e points into wc's message and buffer: they outlive this call (one child at a time) */
	static uint64_t wbuf[512];
	static struct rt_call wc;
	wc = (struct rt_call){ .buf = wbuf, .buflen = sizeof wbuf };
	bool ok = h && ProcessHandle_wait_begin(&wp) == 0 &&
		  ProcessHandle_wait_call(h, &wc, &wr) == 0 &&
		  ProcessHandle_wait_Results_get_result(wr, &w) == 0 && WaitResult_get_exited(w, e) == 0;
	if (h)
		rt_release(h);
	return ok;
}

/* The child `name` ended with a fault at addr whose reason is want. */
static void
check_fault(const char *what, const char *name, uint64_t addr, const char *want)
{
	ExitStatus_R e;
	ProcessFault_R f;
	struct capnp_text t = { 0 };
	bool ok = run_child(name, &e) && ExitStatus_which(e) == ExitStatus_which_fault &&
		  ExitStatus_get_fault(e, &f) == 0 && ProcessFault_get_reason(f, &t) == 0;
	uint64_t got = ok ? ProcessFault_get_address(f) : 0;
	CHECK(what, ok && got == addr && t.len == strlen(want) && memcmp(t.str, want, t.len) == 0,
	      "addr=%#lx reason=\"%.*s\"", (unsigned long)got, ok ? (int)t.len : 0, ok ? t.str : "");
}

static int
client(void)
{
	int res;

	svc = rt_cap("svc", Echo_TYPE_ID);
	spawner = rt_cap("spawner", ProcessSpawner_TYPE_ID);
	uint8_t *p = rt_alloc(BIG), *r1 = rt_alloc(BIG), *r2 = rt_alloc(BIG);
	if (!svc || !spawner || !p || !r1 || !r2) {
		rt_print("memtest: mem-client setup failed");
		return 1;
	}
	/* p and r1 never touched: the server must see zeros, r1 be backed by the kernel */
	CHECK("untouched-buffers", xor_call(p, r1, BIG, &res), "len=%u res=%d", BIG, res);
	for (uint32_t i = 0; i < BIG; i++)
		p[i] = pat(i);
	CHECK("big-message", xor_call(p, r2, BIG, &res), "len=%u res=%d", BIG, res);

	ExitStatus_R e;
	bool ok = run_child("mem-toucher", &e) && ExitStatus_which(e) == ExitStatus_which_code;
	int32_t code = ok ? ExitStatus_get_code(e) : -1;
	CHECK("heap-touch", ok && code == (int32_t)USER_HEAP_PAGES - 1, "pages=%d of=%u", code,
	      USER_HEAP_PAGES);
	check_fault("past-heap", "mem-faulter", HEAP_END, "page fault (not present, write)");
	check_fault("heap-fetch", "mem-fetcher", USER_HEAP_VA + 8 * 4096,
		    "page fault (not present, fetch)");

	for (uint32_t i = 0; i < BIG; i++)
		p[i] = pat(i + 1);
	CHECK("after-faults", xor_call(p, r1, BIG, &res), "len=%u res=%d", BIG, res);
	rt_print("memtest: mem-client done failures=%d", failures);
	return failures;
}

/* ---- children ---- */

/* Every page but the first (the allocator's) of the heap: zero, then written, then
 * read back. Returns the good pages. */
static int
toucher(void)
{
	/* a fresh heap is one free block from offset 16: take all of it (no split, so
	 * the allocator writes nothing past its first header) */
	volatile uint8_t *h = rt_alloc(USER_HEAP_PAGES * 4096u - 32);
	int good = 0;

	if (!h || (uint64_t)h != USER_HEAP_VA + 16)
		return -1;
	h += 4096 - 16;	/* page-aligned: pages 1 .. USER_HEAP_PAGES-1 */
	for (uint32_t pg = 0; pg < USER_HEAP_PAGES - 1; pg++) {
		volatile uint8_t *q = h + pg * 4096u;
		if (q[0] != 0 || q[4095] != 0)
			return -2 - (int)pg;	/* not zero on first touch */
		q[0] = (uint8_t)pg;
		q[4095] = (uint8_t)~pg;
	}
	for (uint32_t pg = 0; pg < USER_HEAP_PAGES - 1; pg++) {
		volatile uint8_t *q = h + pg * 4096u;
		good += q[0] == (uint8_t)pg && q[4095] == (uint8_t)~pg;
	}
	return good;
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

	if (prefix(me, "mem-server"))
		return server();
	if (prefix(me, "mem-client"))
		return client();
	if (prefix(me, "mem-toucher"))
		return toucher();
	if (prefix(me, "mem-faulter")) {
		*(volatile uint8_t *)HEAP_END = 1;
		return 100;	/* must not get here */
	}
	if (prefix(me, "mem-fetcher")) {
		void (*fn)(void) = (void (*)(void))(USER_HEAP_VA + 8 * 4096);
		fn();
		return 100;
	}
	rt_print("memtest: unknown role %s", me);
	return 99;
}
