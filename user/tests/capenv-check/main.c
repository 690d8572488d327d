/*
 * capenv-check: the caps binding (user/drivers/capenv.c) on a real device,
 * QEMU's transitional virtio-rng (1af4:1005, legacy I/O BAR 0), holding the
 * grants a block driver holds (mmio, irq, dma with a 16 KiB budget, clock).
 * Each check prints `capenv-check: CHECK result=pass|fail k=v ...`, then
 * `capenv-check: done failures=N`. tests/system/test_blk.py.
 */
#include "capos.h"
#include "../../drivers/capenv.h"

#define LEG_STATUS 18
#define LEG_QUEUE_PFN 8
#define LEG_QUEUE_SEL 14
#define LEG_QUEUE_SIZE 12

static struct devenv env;
static int failures;

#define CHECK(tname, cond, fmt, ...) do {					\
	bool ok_ = (cond);							\
	if (!ok_)								\
		failures++;							\
	rt_print("capenv-check: %s result=%s " fmt, tname, ok_ ? "pass" : "fail",	\
		 ##__VA_ARGS__);						\
} while (0)

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void
config_checks(void)
{
	uint8_t cfg[256];
	int n = devenv_pci_config(&env, cfg, sizeof cfg);
	uint16_t vid = (uint16_t)(cfg[0] | cfg[1] << 8), did = (uint16_t)(cfg[2] | cfg[3] << 8);
	CHECK("config", n == 256 && vid == 0x1af4 && did == 0x1005 && env.vendor == vid &&
	    env.device == did, "bytes=%d id=%04x:%04x info=%04x:%04x", n, vid, did, env.vendor,
	    env.device);
	/* no host-physical address reaches userspace: BAR registers read as zero */
	CHECK("config-bars-zero", n == 256 && all_zero(cfg + 0x10, 24), "bar0=%02x%02x%02x%02x",
	    cfg[0x13], cfg[0x12], cfg[0x11], cfg[0x10]);
	CHECK("port-window", env.port_bar == 0 && !env.bar[0].va && env.bar[0].length >= 24,
	    "port_bar=%d length=%lu", env.port_bar, (unsigned long)env.bar[0].length);
}

static void
register_checks(void)
{
	uint32_t v = 0xdead;
	int e = devenv_port_write(&env, LEG_STATUS, 1, 0);
	int r = devenv_port_read(&env, LEG_STATUS, 1, &v);
	CHECK("status-reset", e == 0 && r == 0 && v == 0, "write=%d read=%d status=%u", e, r, v);
	e = devenv_port_write(&env, LEG_QUEUE_PFN, 4, 0x1234);
	CHECK("write-not-selected", e == E_PERM, "err=%d", e);
	e = devenv_port_read(&env, 3, 2, &v);
	CHECK("unaligned-read", e == E_INVAL, "err=%d", e);
	e = devenv_mmio_read(&env, 2, 0, 4, &v);
	CHECK("bar-not-granted", e == E_NOENT, "err=%d", e);
	e = devenv_port_read(&env, 4096, 4, &v);
	CHECK("read-outside-window", e == E_RANGE, "err=%d", e);
}

static void
dma_checks(void)
{
	struct devenv_dma a = { 0 }, b = { 0 }, big = { 0 };
	int e = devenv_dma_alloc(&env, 100, DEVENV_DMA_FROM_DEVICE, &a);
	CHECK("dma-alloc", e == 0 && a.cpu && a.size == 4096 && a.h && all_zero(a.cpu, 4096),
	    "err=%d size=%lu", e, (unsigned long)a.size);
	if (e)
		return;
	((volatile uint8_t *)a.cpu)[4095] = 0x5a;       /* the mapping is writable */
	devenv_dma_t old = a.h;
	int f1 = devenv_dma_free(&env, &a);
	struct devenv_dma stale = { .h = old };
	int f2 = devenv_dma_free(&env, &stale);
	CHECK("dma-double-free", f1 == 0 && f2 == E_STALE && capenv_dma_cap(&env, old) == 0,
	    "first=%d second=%d", f1, f2);
	e = devenv_dma_alloc(&env, 4096, DEVENV_DMA_TO_DEVICE, &b);
	CHECK("dma-reuse-new-handle", e == 0 && b.h != old && (b.h & 0xffffffffu) == (old & 0xffffffffu),
	    "old=%lx new=%lx", (unsigned long)old, (unsigned long)b.h);
	e = devenv_dma_alloc(&env, 64 * 1024, DEVENV_DMA_FROM_DEVICE, &big);
	CHECK("dma-over-budget", e == E_NOMEM, "err=%d", e);
	CHECK("dma-bad-handles", capenv_dma_cap(&env, 0) == 0 && capenv_dma_cap(&env, ~0ull) == 0 &&
	    capenv_dma_cap(&env, (uint64_t)7 << 32 | 65) == 0, "");
	devenv_dma_t ring = 0;
	uint32_t qsz = 0;
	e = devenv_port_write(&env, LEG_QUEUE_SEL, 2, 0);
	if (!e)
		e = devenv_port_read(&env, LEG_QUEUE_SIZE, 2, &qsz);
	int a2 = capenv_dma_alloc_ring(&env, 8192, DEVENV_DMA_BIDIRECTIONAL, &ring);
	int p = a2 ? a2 : devenv_port_set_pfn(&env, LEG_QUEUE_PFN, ring);
	CHECK("ring-pfn-brokered", e == 0 && a2 == 0 && p == 0, "sel=%d alloc=%d pfn=%d qsize=%u",
	    e, a2, p, qsz);
	e = capenv_reset(&env);
	CHECK("reset-stales-handles", e == 0 && capenv_dma_cap(&env, ring) == 0 &&
	    capenv_dma_cap(&env, b.h) == 0, "err=%d", e);
	e = devenv_dma_alloc(&env, 4096, DEVENV_DMA_FROM_DEVICE, &a);
	int f = e ? e : devenv_dma_free(&env, &a);
	CHECK("dma-after-reset", e == 0 && f == 0, "alloc=%d free=%d", e, f);
}

static void
time_checks(void)
{
	uint64_t t0 = devenv_now_ns(&env);
	devenv_delay_us(&env, 20000);
	uint64_t t1 = devenv_now_ns(&env);
	CHECK("clock", env.time.tsc_khz > 0 && t1 >= t0 + 20000000ull && t1 < t0 + 2000000000ull,
	    "tsc_khz=%lu delay_ns=%lu", (unsigned long)env.time.tsc_khz, (unsigned long)(t1 - t0));
	int w = devenv_irq_wait(&env, 30000000ull);
	CHECK("irq-wait-timeout", w == 0 && devenv_irq_is_msix(&env), "ret=%d msix=%d", w,
	    devenv_irq_is_msix(&env));
	int a = devenv_irq_ack(&env);
	CHECK("irq-ack-unowed", a == E_BUSY, "err=%d", a);
}

int
main(void)
{
	int e = capenv_open(&env, "mmio", "irq", "dma");
	CHECK("open", e == 0, "err=%d", e);
	if (e == 0) {
		config_checks();
		register_checks();
		dma_checks();
		time_checks();
		capenv_close(&env);
	}
	rt_print("capenv-check: done failures=%d", failures);
	return failures ? 1 : 0;
}
