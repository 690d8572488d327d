/*
 * Starting the application processors: INIT, then two STARTUP IPIs
 * (SDM Vol. 3A 8.4.4.1), one CPU at a time, with the trampoline of
 * trampoline.S copied to a free page below 1 MiB. The AP switches to long
 * mode on a temporary PML4 (the kernel half plus an identity mapping of the
 * trampoline page), jumps to ap_main on its own guarded stack, loads the
 * kernel's tables and joins the scheduler.
 *
 * The LAPIC functions come from the interrupt subsystem
 * (arch/x86_64/apic.h); they are referenced weakly so that this file links
 * without it, and then no AP is started. APIC ids are probed 1..MAX_CPUS-1
 * (QEMU numbers CPUs from 0); an id without a CPU simply never answers.
 *
 * Each AP runs its own periodic LAPIC tick (same rate and divider as the
 * boot CPU's, calibrated there) through the shared timer vector, so ring-3
 * code is preempted on every CPU; an idle AP also wakes on the reschedule
 * IPI sched_add() sends.
 */
#include "smp/percpu.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "kernel.h"
#include "mm/pmm.h"
#include "mm/vmm.h"
#include "sched/sched.h"
#include "arch/x86_64/apic.h"
#include "time/time.h"

void lapic_send_init(uint32_t dest) __attribute__((weak));
void lapic_send_startup(uint32_t dest, uint8_t page) __attribute__((weak));
void lapic_init_ap(void) __attribute__((weak));
uint32_t lapic_id(void) __attribute__((weak));
void time_delay_us(uint64_t us) __attribute__((weak));
void lapic_write(uint32_t reg, uint32_t v) __attribute__((weak));
void time_get_info(struct time_info *ti) __attribute__((weak));

extern const uint8_t tramp_start[], tramp_end[];
extern const uint32_t tramp_off_pm32, tramp_off_lm64, tramp_off_gdt, tramp_off_gdtr,
	tramp_off_far32, tramp_off_far64, tramp_off_cr3, tramp_off_efer, tramp_off_stack,
	tramp_off_entry;

void syscall_cpu_init(void);
void ap_main(void);

static volatile uint32_t ap_up;
static volatile uint32_t ap_next_id;
static struct {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed)) bsp_idtr;

void
ap_main(void)
{
	uint32_t id = ap_next_id;

	write_cr3(vmm_kernel_pml4());
	__asm__ volatile("lidt %0" : : "m"(bsp_idtr));
	percpu_init(&cpus[id], id);
	cpus[id].apic_id = lapic_id();
	lapic_init_ap();
	/* This CPU's own periodic tick, like the boot CPU's (time.c): the
	 * shared VEC_TIMER handler calls the scheduler tick, which preempts. */
	struct time_info ti = { 0 };
	if (time_get_info && lapic_write)
		time_get_info(&ti);
	if (ti.lapic_hz >= TICK_HZ) {
		lapic_write(LAPIC_TMR_DIV, 3);	/* divide by 16, as calibrated */
		lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
		lapic_write(LAPIC_TMR_INIT, (uint32_t)(ti.lapic_hz / TICK_HZ));
	}
	syscall_cpu_init();
	__atomic_store_n(&ap_up, 1, __ATOMIC_RELEASE);
	sched_ap_enter();
}

static void
put32(uint8_t *page, uint32_t off, uint32_t v)
{
	memcpy(page + off, &v, 4);
}

static void
put64(uint8_t *page, uint32_t off, uint64_t v)
{
	memcpy(page + off, &v, 8);
}

uint32_t
smp_start_aps(void)
{
	uint64_t tpa, tmp_pml4;

	if (!lapic_send_init || !lapic_send_startup || !lapic_init_ap || !lapic_id || !time_delay_us)
		return 0;
	/* The allocator never hands out the first MiB: use the conventional
	 * page at 0x8000 when the firmware's map calls it usable RAM. The
	 * temporary PML4 is loaded into CR3 from 32-bit code, so it must lie
	 * below 4 GiB: take the lowest free frame (with -m 8G any frame could
	 * be above). */
	tpa = 0x8000;
	bool usable = false;
	const struct mm_map *u = pmm_usable_map();
	for (uint32_t i = 0; i < u->n; i++)
		if (u->r[i].base <= tpa && tpa + PAGE_SIZE <= u->r[i].end)
			usable = true;
	if (!usable || pmm_alloc_low(&tmp_pml4) < 0 || tmp_pml4 >= 0x100000000ull) {
		kprintf("capos: smp: no low page for the trampoline\n");
		return 0;
	}
	uint64_t *l4 = phys_to_virt(tmp_pml4), *k4 = phys_to_virt(vmm_kernel_pml4());
	for (int i = 256; i < 512; i++)
		l4[i] = k4[i];
	if (vmm_map_page(tmp_pml4, tpa, tpa, VMM_RW | VMM_EXEC) < 0)
		return 0;
	__asm__ volatile("sidt %0" : "=m"(bsp_idtr));
	cpus[0].apic_id = lapic_id();

	uint8_t *page = phys_to_virt(tpa);
	memcpy(page, tramp_start, (size_t)(tramp_end - tramp_start));
	put32(page, tramp_off_gdtr + 2, (uint32_t)(tpa + tramp_off_gdt));
	put32(page, tramp_off_far32, (uint32_t)(tpa + tramp_off_pm32));
	put32(page, tramp_off_far64, (uint32_t)(tpa + tramp_off_lm64));
	put64(page, tramp_off_cr3, tmp_pml4);
	put64(page, tramp_off_efer, (1u << 8) | (boot_nx ? EFER_NXE : 0));
	put64(page, tramp_off_entry, (uint64_t)ap_main);

	uint32_t started = 0;
	for (uint32_t apic = 0; apic < 2 * MAX_CPUS && ncpus < MAX_CPUS; apic++) {
		if (apic == cpus[0].apic_id)
			continue;
		ap_next_id = ncpus;
		ap_up = 0;
		put64(page, tramp_off_stack, kstack_alloc());
		lapic_send_init(apic);
		time_delay_us(10000);
		for (int sipi = 0; sipi < 2 && !ap_up; sipi++) {
			lapic_send_startup(apic, (uint8_t)(tpa >> 12));
			for (int w = 0; w < 200 && !__atomic_load_n(&ap_up, __ATOMIC_ACQUIRE); w++)
				time_delay_us(1000);
		}
		if (!__atomic_load_n(&ap_up, __ATOMIC_ACQUIRE))
			break;	/* ids are dense in QEMU: the first silent one ends the probe */
		kprintf("capos: smp: cpu %u up (apic id %u)\n", ncpus, apic);
		ncpus++;
		started++;
	}
	return started;
}
