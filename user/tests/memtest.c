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
 *   oom-client   (test-mem-oom.json, a machine with little memory) spawns
 *                eight mem-hogs, each backing its whole heap slowly, then
 *                exiting: together more than the machine has. The hogs
 *                whose page fault finds no frame end ("page fault (out of
 *                memory, write)"), the others finish; then a toucher backs
 *                a whole heap again.
 *
 * Every check prints `memtest: ROLE NAME result=pass|fail ...`.
 */
#include "capos.h"
#include "spawn.h"
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

/* ProcessSpawner.spawn of memtest as `name`, no caps: its ProcessHandle, or 0. */
static capid_t
spawn_child(const char *name)
{
	capid_t h;
	return rt_spawn_bare(spawner, name, "memtest", &h) == 0 ? h : 0;
}

/* ProcessHandle.wait (timeout_ns 0: none): 1 and *e when it exited, 0 when
 * the wait timed out, -1 on an error. *e points into a static message: it
 * is valid until the next call. */
static int
wait_child(capid_t h, uint64_t timeout_ns, ExitStatus_R *e)
{
	static uint64_t wbuf[512];
	static struct rt_call wc;
	ProcessHandle_wait_Params_B wp;
	ProcessHandle_wait_Results_R wr;
	WaitResult_R w;

	wc = (struct rt_call){ .buf = wbuf, .buflen = sizeof wbuf };
	if (ProcessHandle_wait_begin(&wp) < 0)
		return -1;
	ProcessHandle_wait_Params_set_timeoutNs(wp, timeout_ns);
	if (ProcessHandle_wait_call(h, &wc, &wr) < 0 || ProcessHandle_wait_Results_get_result(wr, &w) < 0)
		return -1;
	if (WaitResult_which(w) == WaitResult_which_timedOut)
		return 0;
	return WaitResult_get_exited(w, e) == 0 ? 1 : -1;
}

/* Spawn `name`, wait for its end: its exit status. */
static bool
run_child(const char *name, ExitStatus_R *e)
{
	capid_t h = spawn_child(name);
	bool ok = h && wait_child(h, 0, e) == 1;
	if (h)
		rt_release(h);
	return ok;
}

/* The exit status e is a fault whose reason is want; *addr its address. */
static bool
fault_is(ExitStatus_R e, const char *want, uint64_t *addr, struct capnp_text *t)
{
	ProcessFault_R f;

	*t = (struct capnp_text){ "", 0 };
	if (ExitStatus_which(e) != ExitStatus_which_fault || ExitStatus_get_fault(e, &f) < 0 ||
	    ProcessFault_get_reason(f, t) < 0)
		return false;
	*addr = ProcessFault_get_address(f);
	return t->len == strlen(want) && memcmp(t->str, want, t->len) == 0;
}

/* The child `name` ended with a fault at addr whose reason is want. */
static void
check_fault(const char *what, const char *name, uint64_t addr, const char *want)
{
	ExitStatus_R e;
	struct capnp_text t = { "", 0 };
	uint64_t got = 0;
	bool ok = run_child(name, &e) && fault_is(e, want, &got, &t);
	CHECK(what, ok && got == addr, "addr=%#lx reason=\"%.*s\"", (unsigned long)got, (int)t.len, t.str);
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

/* ---- oom-client (test-mem-oom.json, a small machine) ---- */

#define NHOGS 8
#define OOM_REASON "page fault (out of memory, write)"

/*
 * NHOGS hogs, each backing its whole heap slowly, then exiting 0: spawned
 * together (a spawn costs ~75 frames, a heap 1024 + its page tables), they
 * progress side by side and ask for more frames than the small machine
 * has long before any is done. Each hog whose page fault finds no frame
 * must end with OOM_REASON, and its frames let the others finish; this
 * client and the kernel go on. Then a toucher backs a whole heap again:
 * the frames came back.
 */
static int
oom_client(void)
{
	capid_t h[NHOGS];
	uint32_t n = 0, refused = 0, oom = 0, done = 0, other = 0;
	uint64_t addr = 0, a;
	struct capnp_text t;
	ExitStatus_R e;

	spawner = rt_cap("spawner", ProcessSpawner_TYPE_ID);
	if (!spawner) {
		rt_print("memtest: oom-client no spawner");
		return 1;
	}
	for (uint32_t i = 0; i < NHOGS; i++)
		if ((h[n] = spawn_child("mem-hog")))
			n++;
		else
			refused++;
	for (uint32_t i = 0; i < n; i++) {
		int r = wait_child(h[i], 0, &e);
		if (r == 1 && fault_is(e, OOM_REASON, &a, &t) && a >= USER_HEAP_VA && a < HEAP_END) {
			oom++;
			addr = a;
		} else if (r == 1 && ExitStatus_which(e) == ExitStatus_which_code &&
			   ExitStatus_get_code(e) == 0) {
			done++;
		} else {
			other++;
		}
		rt_release(h[i]);
	}
	CHECK("oom-fault", oom >= 1 && done >= 1 && other == 0 && refused == 0,
	      "hogs=%u refused=%u oom=%u done=%u other=%u addr=%#lx", n, refused, oom, done, other,
	      (unsigned long)addr);
	bool ok = run_child("mem-toucher", &e) && ExitStatus_which(e) == ExitStatus_which_code;
	int32_t code = ok ? ExitStatus_get_code(e) : -1;
	CHECK("after-oom", ok && code == (int32_t)USER_HEAP_PAGES - 1, "pages=%d", code);
	rt_print("memtest: oom-client done failures=%d", failures);
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
	if (prefix(me, "oom-client"))
		return oom_client();
	if (prefix(me, "mem-hog")) {
		/* slowly: every hog is spawned before the frames run out */
		for (volatile uint8_t *q = (uint8_t *)USER_HEAP_VA; q < (uint8_t *)HEAP_END; q += 4096) {
			*q = 1;
			for (int k = 0; k < 1500; k++)
				__asm__ volatile("pause");
		}
		return 0;
	}
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
