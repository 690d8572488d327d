/*
 * capos.test=tlb and capos.test=tlb-noipi (docs/testing.md), with -smp 2 or
 * more. CPU 1 runs a reader, started by a test IPI on its idle thread, that
 * loads a test address space and reads one page (TEST_VA) and a range of
 * RANGE_PAGES pages in a loop, counting reads that return what CPU 0 says
 * the mappings hold now (good) and reads that do not (bad). CPU 0 then:
 *
 *  1. remaps TEST_VA to a new frame (one-page shootdown: invlpg) and the
 *     range, through vmm_unmap_range (one shootdown for 64 pages: CR3
 *     reload), to new frames, publishes the new values, and requires good
 *     reads and no bad one;
 *  2. holds a lock that CPU 1, with interrupts off, is spinning on, and
 *     remaps TEST_VA again: the shootdown can only be answered from the
 *     spin loop (acks_spin must grow), or it would deadlock;
 *  3. sends CPU 1 back to its idle loop with the test space still in CR3
 *     (as after a process it ran blocked) and retires the space
 *     (tlb_retire_space): restarted, CPU 1 must find the kernel tables in
 *     CR3;
 *  4. unmaps TEST_VA and lets CPU 1 read it: it must take a page fault at
 *     TEST_VA (the expected-exception path ends the test).
 *
 * tlb-noipi is the control: step 1 with the page-table entries rewritten
 * by hand and no shootdown. CPU 1 must then read the old values, which
 * shows that the check in step 1 fails without the IPI.
 */
#include "smp/tlb.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "sched/sched.h"
#include "smp/percpu.h"
#include "sync/spinlock.h"
#include "time/time.h"

#define TEST_VA		0x40000000ull
#define RANGE_VA	0x40200000ull
#define RANGE_PAGES	64	/* > TLB_FULL_FLUSH_PAGES: the CR3-reload path */
#define TEST_VEC	0xF0	/* starts the reader on CPU 1 (free SMP range, apic.h) */
#define WAIT_MS		5000u

enum phase { PH_OFF, PH_READ, PH_HOLD, PH_LOCK, PH_PARK, PH_UNMAPPED };

static struct {
	uint32_t phase;		/* written by CPU 0 */
	uint64_t want_single, want_range;	/* what the mappings hold now */
	uint32_t running, holding, locking, parked;	/* CPU 1 acknowledgements */
	uint64_t cr3_at_start;	/* CPU 1's CR3 when the reader started */
	uint64_t good, bad, last_bad;
	uint64_t no_fault_value;
	uint32_t no_fault;
} rd;
static struct spinlock test_lock;
static uint64_t test_pml4;

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static uint64_t
read_at(uint64_t va)
{
	return *(volatile uint64_t *)(uintptr_t)va;
}

/* One pass over every test page; true when each holds what CPU 0 published. */
static bool
read_all(void)
{
	bool ok = read_at(TEST_VA) == LOAD(rd.want_single);
	uint64_t base = LOAD(rd.want_range);

	for (uint64_t i = 0; i < RANGE_PAGES; i++)
		ok &= read_at(RANGE_VA + i * PAGE_SIZE) == base + i;
	return ok;
}

/* CPU 1: the reader, in the handler of TEST_VEC, interrupts on so that the
 * shootdown IPI reaches it in the loop. */
static void
reader(struct trap_frame *tf, void *arg)
{
	lapic_eoi();
	STORE(rd.cr3_at_start, read_cr3());
	write_cr3(test_pml4);
	STORE(rd.running, 1);
	sti();
	for (;;) {
		uint32_t ph = LOAD(rd.phase);
		if (ph == PH_READ) {
			if (read_all())
				__atomic_add_fetch(&rd.good, 1, __ATOMIC_RELAXED);
			else
				__atomic_add_fetch(&rd.bad, 1, __ATOMIC_RELAXED);
		} else if (ph == PH_HOLD) {
			STORE(rd.holding, 1);	/* not reading: the TLB keeps what it has */
		} else if (ph == PH_LOCK) {
			cli();		/* from here only the spin loop can answer */
			STORE(rd.locking, 1);
			spin_lock(&test_lock);
			spin_unlock(&test_lock);
			STORE(rd.locking, 2);
			sti();
			while (LOAD(rd.phase) == PH_LOCK)
				pause();
		} else if (ph == PH_PARK) {
			STORE(rd.parked, 1);	/* back to idle, CR3 still the test space */
			break;
		} else if (ph == PH_UNMAPPED) {
			uint64_t v = read_at(TEST_VA);	/* must fault */
			STORE(rd.no_fault_value, v);
			STORE(rd.no_fault, 1);
			break;
		}
	}
	cli();
}

static bool
wait_until(volatile uint64_t *counter, uint64_t n, volatile uint64_t *stop)
{
	uint64_t t0 = time_ns();

	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < n) {
		if (stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE))
			return false;
		if (time_ns() - t0 > WAIT_MS * 1000000ull)
			return false;
		pause();
	}
	return true;
}

static bool
wait_flag(uint32_t *flag, uint32_t v)
{
	uint64_t t0 = time_ns();

	while (LOAD(*flag) != v)
		if (time_ns() - t0 > WAIT_MS * 1000000ull)
			return false;
	return true;
}

static uint64_t
frame_with(uint64_t value)
{
	uint64_t pa;

	if (pmm_alloc(&pa) < 0)
		panic("tlb test: out of frames");
	*(uint64_t *)phys_to_virt(pa) = value;
	return pa;
}

/* The leaf entry for va in pml4 (the control rewrites it by hand). */
static uint64_t *
leaf(uint64_t pml4, uint64_t va)
{
	uint64_t *t = phys_to_virt(pml4);

	for (int l = 4; l > 1; l--) {
		uint64_t e = t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_P) || (e & PTE_PS))
			return NULL;
		t = phys_to_virt(e & PTE_ADDR);
	}
	return &t[(va >> 12) & 511];
}

/* The test address space: the kernel half plus supervisor-only test pages
 * in the user half (no SMAP games: the reader runs in ring 0). */
static void
space_create(uint64_t single, uint64_t range)
{
	if (pmm_alloc(&test_pml4) < 0)
		panic("tlb test: out of frames");
	uint64_t *l4 = phys_to_virt(test_pml4), *k4 = phys_to_virt(vmm_kernel_pml4());
	for (int i = 256; i < 512; i++)
		l4[i] = k4[i];
	if (vmm_map_page(test_pml4, TEST_VA, frame_with(single), VMM_RW) < 0)
		panic("tlb test: map failed");
	for (uint64_t i = 0; i < RANGE_PAGES; i++)
		if (vmm_map_page(test_pml4, RANGE_VA + i * PAGE_SIZE, frame_with(range + i), VMM_RW) < 0)
			panic("tlb test: map failed");
}

/* Step 1: new frames for every test page, through vmm (or by hand). */
static void
remap_all(uint64_t single, uint64_t range, bool by_hand)
{
	if (by_hand) {
		*leaf(test_pml4, TEST_VA) = frame_with(single) | PTE_P | PTE_W | (boot_nx ? PTE_NX : 0);
		for (uint64_t i = 0; i < RANGE_PAGES; i++)
			*leaf(test_pml4, RANGE_VA + i * PAGE_SIZE) = frame_with(range + i) | PTE_P |
			    PTE_W | (boot_nx ? PTE_NX : 0);
		return;
	}
	vmm_map_page(test_pml4, TEST_VA, frame_with(single), VMM_RW);	/* replaces: shootdown */
	vmm_unmap_range(test_pml4, RANGE_VA, RANGE_PAGES, NULL);
	for (uint64_t i = 0; i < RANGE_PAGES; i++)
		vmm_map_page(test_pml4, RANGE_VA + i * PAGE_SIZE, frame_with(range + i), VMM_RW);
}

static __attribute__((noreturn)) void
finish(const char *name, bool ok, const char *why)
{
	struct tlb_stats s;

	tlb_get_stats(&s);
	kprintf("capos: test %s result=%s%s%s good_reads=%lu bad_reads=%lu shootdowns=%lu ipis=%lu "
		"acks_irq=%lu acks_spin=%lu full_flushes=%lu max_wait_ns=%lu\n", name,
		ok ? "pass" : "fail", why ? " reason=" : "", why ? why : "", LOAD(rd.good),
		LOAD(rd.bad), s.shootdowns, s.ipis, s.acks_irq, s.acks_spin, s.full_flushes,
		s.max_wait_ns);
	qemu_exit(!ok);
}

/* Step 1 for both variants: hold the reader, change the mappings, let it read. */
static void
step_remap(bool by_hand, uint64_t single, uint64_t range)
{
	STORE(rd.holding, 0);
	STORE(rd.phase, PH_HOLD);
	if (!wait_flag(&rd.holding, 1))
		finish(by_hand ? "tlb-noipi" : "tlb", false, "reader-did-not-hold");
	remap_all(single, range, by_hand);
	STORE(rd.good, 0);
	STORE(rd.bad, 0);
	STORE(rd.want_single, single);
	STORE(rd.want_range, range);
	STORE(rd.phase, PH_READ);
}

void
tlb_ktest_run(const char *name)
{
	bool control = strcmp(name, "tlb-noipi") == 0;

	if (!control && strcmp(name, "tlb") != 0)
		return;
	/* What proc_boot does before init: per-CPU data, scheduler, the APs. */
	cli();
	percpu_init(&cpus[0], 0);
	sched_init();
	uint32_t aps = smp_start_aps();
	kprintf("capos: test %s cpus=%u\n", name, aps + 1);
	if (aps < 1)
		finish(name, false, "needs-smp-2");

	space_create(0x01d0000000000000ull, 0x01d1000000000000ull);
	rd.want_single = 0x01d0000000000000ull;
	rd.want_range = 0x01d1000000000000ull;
	if (trap_register(TEST_VEC, reader, NULL) < 0)
		finish(name, false, "test-vector-taken");
	STORE(rd.phase, PH_READ);
	lapic_send_ipi(cpus[1].apic_id, TEST_VEC);
	if (!wait_until(&rd.good, 1000, &rd.bad))
		finish(name, false, "reader-not-warm");

	/* 1. Remap everything CPU 1 has cached. */
	step_remap(control, 0x0e50000000000000ull, 0x0e51000000000000ull);
	wait_until(&rd.good, 1000, &rd.bad);
	if (control) {
		/* Give a stale read every chance to show; one is enough. */
		wait_until(&rd.bad, 1000, NULL);
		bool stale = LOAD(rd.bad) > 0;
		finish(name, stale, stale ? NULL : "no-stale-read-without-shootdown");
	}
	if (LOAD(rd.bad) || LOAD(rd.good) < 1000)
		finish(name, false, "stale-read-after-shootdown");
	struct tlb_stats s1;
	tlb_get_stats(&s1);
	kprintf("capos: test tlb remap good_reads=%lu bad_reads=0 acks_irq=%lu full_flushes=%lu\n",
		LOAD(rd.good), s1.acks_irq, s1.full_flushes);

	/* 2. CPU 1 spins with interrupts off on a lock this CPU holds. */
	spin_lock(&test_lock);
	STORE(rd.locking, 0);
	STORE(rd.phase, PH_LOCK);
	if (!wait_flag(&rd.locking, 1))
		finish(name, false, "reader-did-not-lock");
	time_delay_us(1000);	/* let it reach the spin loop (it cannot take the IPI anyway) */
	vmm_map_page(test_pml4, TEST_VA, frame_with(0x5917000000000000ull), VMM_RW);
	struct tlb_stats s2;
	tlb_get_stats(&s2);
	spin_unlock(&test_lock);
	if (!wait_flag(&rd.locking, 2))
		finish(name, false, "reader-stuck-in-lock");
	if (s2.acks_spin <= s1.acks_spin)
		finish(name, false, "spinning-cpu-did-not-answer");
	STORE(rd.good, 0);
	STORE(rd.bad, 0);
	STORE(rd.want_single, 0x5917000000000000ull);
	STORE(rd.phase, PH_READ);
	if (!wait_until(&rd.good, 1000, &rd.bad) || LOAD(rd.bad))
		finish(name, false, "stale-read-after-spin-shootdown");
	kprintf("capos: test tlb spin good_reads=%lu bad_reads=0 acks_spin=%lu\n", LOAD(rd.good),
		s2.acks_spin);

	/* 3. CPU 1 idles with the test space in CR3; retiring it moves CPU 1 off. */
	STORE(rd.parked, 0);
	STORE(rd.phase, PH_PARK);
	if (!wait_flag(&rd.parked, 1))
		finish(name, false, "reader-did-not-park");
	time_delay_us(1000);	/* let it return to its idle loop */
	tlb_retire_space(test_pml4);
	struct tlb_stats s3;
	tlb_get_stats(&s3);
	STORE(rd.cr3_at_start, 0);
	STORE(rd.good, 0);
	STORE(rd.bad, 0);
	STORE(rd.phase, PH_READ);
	lapic_send_ipi(cpus[1].apic_id, TEST_VEC);
	if (!wait_until(&rd.good, 1000, &rd.bad) || LOAD(rd.bad))
		finish(name, false, "reader-restart-failed");
	uint64_t cr3 = LOAD(rd.cr3_at_start) & PTE_ADDR;
	kprintf("capos: test tlb retire retired=%lu cpu1_cr3_after=%s\n", s3.retired,
		cr3 == vmm_kernel_pml4() ? "kernel" : cr3 == test_pml4 ? "test-space" : "other");
	if (s3.retired < 1 || cr3 != vmm_kernel_pml4())
		finish(name, false, "retired-space-still-loaded");

	/* 4. Unmap: CPU 1's next read must fault at TEST_VA. */
	STORE(rd.holding, 0);
	STORE(rd.phase, PH_HOLD);
	if (!wait_flag(&rd.holding, 1))
		finish(name, false, "reader-did-not-hold");
	ktest_expect_vector = 14;
	uint64_t pa = vmm_unmap_page(test_pml4, TEST_VA);
	tlb_get_stats(&s3);
	kprintf("capos: test tlb unmap va=%#lx shootdowns=%lu ipis=%lu acks_irq=%lu acks_spin=%lu "
		"full_flushes=%lu max_wait_ns=%lu: cpu 1 reads it next and must fault\n", (uint64_t)TEST_VA,
		s3.shootdowns, s3.ipis, s3.acks_irq, s3.acks_spin, s3.full_flushes, s3.max_wait_ns);
	STORE(rd.phase, PH_UNMAPPED);
	if (pa == 0 || !wait_flag(&rd.no_fault, 1))
		finish(name, false, pa ? "no-fault-and-no-answer" : "unmap-found-nothing");
	kprintf("capos: test tlb cpu 1 read %#lx from the unmapped page\n", LOAD(rd.no_fault_value));
	finish(name, false, "read-after-unmap-did-not-fault");
}
