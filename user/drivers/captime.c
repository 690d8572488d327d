/* The calibrated TSC clock of captime.h. */
#include "captime.h"

#include "schema/base.capnp.h"

static inline uint64_t
rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static int
clock_ns(capid_t clk, uint64_t *ns)
{
	static uint64_t p[8], r[16];
	struct capnp_msg m;
	struct capnp_struct root;
	struct ring_cqe c;
	WallClock_monotonicNanos_Params_B pb;
	WallClock_monotonicNanos_Params_init_root(rt_msg_begin(), &pb);
	int n = rt_msg_end(p, sizeof p);
	if (n < 0)
		return n;
	int e = rt_call(clk, WallClock_monotonicNanos_ORDINAL, p, (uint32_t)n, r, sizeof r, NULL, 0,
	    &c);
	if (e < 0 || rt_msg_read(&m, r, c.len, &root) < 0)
		return E_IO;
	*ns = WallClock_monotonicNanos_Results_get_nanos((WallClock_monotonicNanos_Results_R){ root });
	return 0;
}

/* Wait for the tick to move; the TSC at that edge. */
static int
tick_edge(capid_t clk, uint64_t *ns, uint64_t *tsc)
{
	uint64_t start, now;
	int e = clock_ns(clk, &start);
	for (int i = 0; !e && i < 1000000; i++) {
		if ((e = clock_ns(clk, &now)) == 0 && now != start) {
			*ns = now;
			*tsc = rdtsc();
			return 0;
		}
	}
	return e ? e : E_TIMEOUT;
}

void
captime_init(struct captime *t, capid_t clk)
{
	uint64_t ns_a, tsc_a, ns_b, tsc_b;
	*t = (struct captime){ 0 };
	if (!clk || tick_edge(clk, &ns_a, &tsc_a) < 0 || tick_edge(clk, &ns_b, &tsc_b) < 0 ||
	    tick_edge(clk, &ns_b, &tsc_b) < 0 || ns_b <= ns_a || tsc_b <= tsc_a)
		return;
	/* ticks per ms; the edges are whole ticks apart, so ns is a multiple of 10^6 */
	uint64_t ms = (ns_b - ns_a) / 1000000ull;
	if (!ms)
		return;
	t->tsc_khz = (tsc_b - tsc_a) / ms;
	t->tsc0 = tsc_a;
	t->ns0 = ns_a;
}

uint64_t
captime_now_ns(struct captime *t)
{
	if (!t->tsc_khz)
		return t->vtime_ns += 1000;
	uint64_t d = rdtsc() - t->tsc0;
	return t->ns0 + d / t->tsc_khz * 1000000ull + d % t->tsc_khz * 1000000ull / t->tsc_khz;
}

void
captime_delay_us(struct captime *t, uint32_t us)
{
	if (!t->tsc_khz) {
		t->vtime_ns += (uint64_t)us * 1000;
		return;
	}
	uint64_t end = captime_now_ns(t) + (uint64_t)us * 1000;
	while (captime_now_ns(t) < end)
		__asm__ volatile("pause");
}

void
captime_waited(struct captime *t, uint64_t ns)
{
	if (!t->tsc_khz)
		t->vtime_ns += ns;
}
