/*
 * Clock sources and the LAPIC timer. The reference is the HPET when the ACPI
 * HPET table gives one whose registers answer (IA-PC HPET spec 1.0a 2.3),
 * else the PIT channel 2 polled through port 0x61 (its output is visible
 * there without any interrupt). The LAPIC timer is counted down from its
 * maximum over a 10 ms reference interval to find its rate; under TCG this is
 * emulated time, so the figure is as good as QEMU's clocks.
 */
#include "acpi/kacpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/apic_irq.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/vmm.h"
#include "time/time.h"

#define HPET_CAP	0x000
#define HPET_CFG	0x010
#define HPET_COUNTER	0x0F0
#define PIT_HZ		1193182ull
#define CAL_MS		10

static volatile uint64_t *hpet;
static uint64_t hpet_fs;	/* femtoseconds per HPET tick */
static uint64_t hpet_mask;	/* counter width: a 32-bit HPET wraps in ~43 s at 100 MHz */
static bool hpet_clock;		/* time_ns from the HPET (64-bit counter only), else the TSC */
static uint64_t tsc_hz, tsc0, lapic_hz;
static uint64_t stamp0;	/* time_ns() when tsc0 was read */
static const char *source = "none";
static volatile uint64_t ticks;
static void (*tick_fn)(struct trap_frame *tf);
static bool started;

void
timer_set_tick_handler(void (*fn)(struct trap_frame *tf))
{
	__atomic_store_n(&tick_fn, fn, __ATOMIC_RELEASE);
}

static uint64_t
hpet_read(void)
{
	return hpet[HPET_COUNTER / 8];
}

static bool
hpet_setup(void)
{
	if (!acpi.has_hpet)
		return false;
	hpet = vmm_map_phys(acpi.hpet.base, 1024, VMM_RW | VMM_UC);
	if (!hpet)
		return false;
	uint64_t cap = hpet[HPET_CAP / 8];
	hpet_fs = cap >> 32;
	/* The period must be in (0, 100 ns] (spec 2.3.4). */
	if (hpet_fs == 0 || hpet_fs > 100000000ull) {
		kprintf("capos: time-warning HPET period %lu fs invalid; using the PIT\n", hpet_fs);
		hpet = NULL;
		return false;
	}
	/* COUNT_SIZE_CAP (bit 13): a 32-bit counter only calibrates; time_ns uses the TSC. */
	hpet_mask = cap & (1u << 13) ? ~0ull : 0xFFFFFFFFull;
	hpet_clock = cap & (1u << 13);
	hpet[HPET_CFG / 8] = hpet[HPET_CFG / 8] | 1;	/* ENABLE_CNF, legacy routing off */
	return true;
}

/* Busy-wait ms milliseconds on the reference. */
static void
ref_wait_ms(uint32_t ms)
{
	if (hpet) {
		uint64_t start = hpet_read(), len = ms * 1000000000000ull / hpet_fs;
		while (((hpet_read() - start) & hpet_mask) < len)
			pause();
		return;
	}
	for (uint32_t i = 0; i < ms; i++) {
		uint16_t count = (uint16_t)(PIT_HZ / 1000);
		outb(0x61, (inb(0x61) & ~0x02) | 0x01);	/* gate on, speaker off */
		outb(0x43, 0xB0);			/* channel 2, lo/hi, mode 0 */
		outb(0x42, count & 0xFF);
		outb(0x42, count >> 8);
		while (!(inb(0x61) & 0x20))
			pause();
	}
}

uint64_t
time_ns(void)
{
	if (hpet_clock) {
		uint64_t c = hpet_read();
		return c / 1000000 * hpet_fs + c % 1000000 * hpet_fs / 1000000;
	}
	return time_stamp_ns();	/* no HPET: the TSC clock, 0 at calibration */
}

/*
 * A timestamp for records (the DDF audit log): the TSC scaled by its boot
 * calibration, starting from time_ns() at that moment. No device access:
 * time_ns() on the HPET is an uncached read per call (two exits under QEMU,
 * and a submission and a completion each stamped a record). It drifts from
 * time_ns() by the calibration error (10 ms against the reference) and
 * assumes a constant-rate TSC; deadlines and delays use time_ns().
 */
uint64_t
time_stamp_ns(void)
{
	if (!tsc_hz)
		return 0;
	uint64_t d = rdtsc() - tsc0;
	return stamp0 + d / tsc_hz * 1000000000ull + d % tsc_hz * 1000000000ull / tsc_hz;
}

void
time_delay_us(uint64_t us)
{
	uint64_t end = time_ns() + us * 1000;
	while (time_ns() < end)
		pause();
}

static void
tick(struct trap_frame *tf, void *arg)
{
	ticks++;
	void (*fn)(struct trap_frame *) = __atomic_load_n(&tick_fn, __ATOMIC_ACQUIRE);
	lapic_eoi();	/* before the hook: a scheduler hook may switch away */
	if (fn)
		fn(tf);
}

int
time_init(void)
{
	source = hpet_setup() ? "hpet" : "pit";
	uint64_t t0 = rdtsc();
	lapic_write(LAPIC_TMR_DIV, 3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TMR_INIT, 0xFFFFFFFFu);
	ref_wait_ms(CAL_MS);
	uint32_t left = lapic_read(LAPIC_TMR_CUR);
	uint64_t t1 = rdtsc();
	lapic_write(LAPIC_TMR_INIT, 0);
	lapic_hz = (0xFFFFFFFFull - left) * (1000 / CAL_MS);
	tsc_hz = (t1 - t0) * (1000 / CAL_MS);
	stamp0 = hpet_clock ? time_ns() : 0;	/* the reference at t1; the TSC clock starts at 0 */
	tsc0 = t1;
	if (lapic_hz < TICK_HZ) {
		kprintf("capos: timer-fail reason=\"LAPIC timer did not count (%lu Hz)\"\n", lapic_hz);
		return E_IO;
	}
	trap_register(VEC_TIMER, tick, NULL);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
	lapic_write(LAPIC_TMR_INIT, (uint32_t)(lapic_hz / TICK_HZ));
	started = true;
	kprintf("capos: timer-ok lapic_hz=%lu source=%s tick_hz=%u tsc_hz=%lu hpet_hz=%lu\n",
		lapic_hz, source, TICK_HZ, tsc_hz, hpet ? (uint64_t)(1000000000000000ull / hpet_fs) : 0);
	return 0;
}

uint64_t
time_ticks(void)
{
	return ticks;
}

void
time_get_info(struct time_info *ti)
{
	ti->source = source;
	ti->lapic_hz = lapic_hz;
	ti->tsc_hz = tsc_hz;
	ti->hpet_hz = hpet ? 1000000000000000ull / hpet_fs : 0;
	ti->ticks = ticks;
	ti->tick_hz = started ? TICK_HZ : 0;
}
